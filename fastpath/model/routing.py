"""The control plane's routing information base: which routes every router holds.

NSX's management plane derives router tables from the topology; so does this module, once,
for both the reference walk and the compiler (each then does its own lookup: the reference by
scanning `ipaddress` networks, the fast path with compiled tables).

Routers: every T1 and the T0 run as distributed routers (DR, named after the router, on every
host). A router with an ``edge`` also has a service router (SR, named ``<router>-sr``) on that
edge node; traffic between its DR and SR crosses the transit link 169.254.0.1 (DR) /
169.254.0.2 (SR) on the router's transit VNI.

Routes (``kind``):
- ``local``      the router's own address: packets to it are delivered to the router;
- ``connected``  the router's segment: resolve the neighbor, hand to its logical port;
- ``router``     hand to the next router, arriving on ``arrive_ip`` (the traceroute reply);
- ``uplink``     leave north-south through that T0 uplink;
- ``ecmp``       equal-cost paths (an active/active T0): one of its member routes per flow, by
                 `ecmp_member`'s seeded 5-tuple hash;
- ``null``       a route whose next hop is gone (a failed cluster's): the lookup answers no
                 route (`lookup` returns None), so the packet ends there ``no-route``.

T1 DR: local gateway ``.1`` (and link IP without SR); connected subnet; 0/0 -> T0 DR (arriving
on the T0 link IP), or -> own SR when the T1 has one. T1 SR: subnet -> own DR; 0/0 -> T0 DR.
T0 DR: each namespace/node subnet and each /31 router link -> that T1 (its SR when it has one),
arriving on the T1 link IP; 0/0 -> T0 SR when the T0 has an edge. T0 SR (or the T0 DR when the
T0 has no edge): uplink subnets and static routes -> uplink; segment subnets and router links
-> T0 DR. LoadBalancer IPs (NCP advertises its virtual servers' VIPs from the load balancer's
T1 to the T0): each a /32, local on that T1's SR, to which the T0 DR routes it (and the T0 SR
to the T0 DR). No route points back the way it came, so the RIB has no loops (the TTL still ends
any a user's static routes could make).

A service router with no surviving edge (``Router.sr_down``, a failed cluster: see
`fastpath.model.failure`) is gone, and so is every route through it, as NSX withdraws the
routes a router can no longer reach: a T1 keeps its gateway and its segment (east-west inside
the namespace is distributed and lives on) but loses its 0/0, and the T0 DR's routes to that
T1's subnet and link (and the load balancer's VIPs, when the SR was the load balancer's) become
null routes: the T0 still holds them (the management plane configured them) but their next hop,
the T1's router-link port on the SR, is on no live edge, so what the T0 sends there is lost
(``no-route`` at the T0 DR; a packet from outside reaches it through the T0 SR). A T0 whose SR
is gone keeps only its routes to the T1s.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import zlib
from dataclasses import dataclass

from .cluster import TRANSIT_DR_IP, TRANSIT_SR_IP, Cluster, sr_name

_ANY = ipaddress.IPv4Network("0.0.0.0/0")


def _host(ip: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((ip, 32))


def _link(r) -> ipaddress.IPv4Network:
    """The /31 router link between the T0 and T1 ``r``."""
    return ipaddress.IPv4Network((r.link_t0_ip, 31))


@dataclass(frozen=True, slots=True)
class Route:
    prefix: ipaddress.IPv4Network
    kind: str  # "local" | "connected" | "router" | "uplink" | "null" | "ecmp"
    segment: str | None = None  # connected: segment name
    next_router: str | None = None  # router: DR or SR name
    arrive_ip: int | None = None  # router: address on the next router the packet arrives on
    uplink: str | None = None  # uplink: uplink name
    ecmp: tuple = ()  # ecmp: the member routes (router or uplink), one chosen per flow (`ecmp_member`)


@dataclass(frozen=True, slots=True)
class RouterInstance:
    """One forwarding instance: a DR (``host`` None: runs wherever the packet is) or an SR."""

    name: str
    router: str  # the logical router it belongs to
    kind: str  # "t1" | "t0"
    sr: bool
    host: str | None  # edge node of an SR
    transit_vni: int | None  # VNI of tunnels into this router's SR
    routes: tuple[Route, ...]


def rib(cluster: Cluster) -> dict[str, RouterInstance]:
    """All router instances by name: DRs in router order (node T1, namespace T1s, T0), then SRs.
    Computed once per cluster and kept on it (a cluster is immutable)."""
    cached = cluster.__dict__.get("_rib")
    if cached is None:
        cached = cluster.__dict__["_rib"] = _rib(cluster)
    return cached


def _rib(c: Cluster) -> dict[str, RouterInstance]:
    t0 = c.t0
    seg_of = {s.t1: s for s in c.segments}
    dr: dict[str, RouterInstance] = {}
    sr: dict[str, RouterInstance] = {}
    t0_dr_routes: list[Route] = []
    for r in c.t1s:
        s = seg_of[r.name]
        routes = [Route(_host(s.gateway), "local"), Route(s.subnet, "connected", segment=s.name)]
        if r.sr_down:
            dr[r.name] = RouterInstance(r.name, r.name, "t1", False, None, r.transit_vni, tuple(routes))
            t0_dr_routes += [Route(s.subnet, "null"), Route(_link(r), "null")]
            continue
        if r.edge is None:
            routes += [Route(_host(r.link_t1_ip), "local"),
                       Route(_ANY, "router", next_router=t0.name, arrive_ip=r.link_t0_ip)]
            dr[r.name] = RouterInstance(r.name, r.name, "t1", False, None, None, tuple(routes))
            nxt = r.name
        else:
            routes += [Route(_host(TRANSIT_DR_IP), "local"),
                       Route(_ANY, "router", next_router=sr_name(r.name), arrive_ip=TRANSIT_SR_IP)]
            dr[r.name] = RouterInstance(r.name, r.name, "t1", False, None, r.transit_vni, tuple(routes))
            sr_routes = (Route(_host(r.link_t1_ip), "local"), Route(_host(TRANSIT_SR_IP), "local"),
                         Route(s.subnet, "router", next_router=r.name, arrive_ip=TRANSIT_DR_IP),
                         Route(_ANY, "router", next_router=t0.name, arrive_ip=r.link_t0_ip))
            sr[sr_name(r.name)] = RouterInstance(sr_name(r.name), r.name, "t1", True, r.edge, r.transit_vni, sr_routes)
            nxt = sr_name(r.name)
        t0_dr_routes.append(Route(s.subnet, "router", next_router=nxt, arrive_ip=r.link_t1_ip))
        t0_dr_routes.append(Route(_link(r), "router", next_router=nxt, arrive_ip=r.link_t1_ip))
    t0_dr_routes += [Route(_host(r.link_t0_ip), "local") for r in c.t1s]
    vips = [_host(c.services[k].lb_ip) for k in c.lb_services]
    if c.lb_router.sr_down:  # its virtual servers are gone: null routes at the T0 DR (the SR still sends them there)
        vips = [_host(sv.lb_ip) for sv in c.services if sv.lb_ip is not None]
        t0_dr_routes += [Route(v, "null") for v in vips]
    if vips and not c.lb_router.sr_down:
        lb = c.lb_router
        t0_dr_routes += [Route(v, "router", next_router=sr_name(lb.name), arrive_ip=lb.link_t1_ip) for v in vips]
        sr[sr_name(lb.name)] = dataclasses.replace(
            sr[sr_name(lb.name)], routes=sr[sr_name(lb.name)].routes + tuple(Route(v, "local") for v in vips))

    north = _north(c, c.uplinks)
    if t0.active and not t0.sr_down:
        _active_active(c, t0, dr, sr, t0_dr_routes, vips)
    elif t0.sr_down:
        dr[t0.name] = RouterInstance(t0.name, t0.name, "t0", False, None, t0.transit_vni, tuple(t0_dr_routes))
    elif t0.edge is None:
        t0_dr_routes += north
        dr[t0.name] = RouterInstance(t0.name, t0.name, "t0", False, None, None, tuple(t0_dr_routes))
    else:
        t0_dr_routes += [Route(_host(TRANSIT_DR_IP), "local"),
                         Route(_ANY, "router", next_router=sr_name(t0.name), arrive_ip=TRANSIT_SR_IP)]
        dr[t0.name] = RouterInstance(t0.name, t0.name, "t0", False, None, t0.transit_vni, tuple(t0_dr_routes))
        south = [Route(s.subnet, "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for s in c.segments]
        south += [Route(_link(r), "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for r in c.t1s]
        south += [Route(v, "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for v in vips]
        south.append(Route(_host(TRANSIT_SR_IP), "local"))
        # the namespaces' SNAT IPs are the SR's: a packet to one without a session ends there
        south += [Route(_host(s.snat_ip), "local") for s in c.namespaces if s.snat_ip is not None]
        sr[sr_name(t0.name)] = RouterInstance(sr_name(t0.name), t0.name, "t0", True, t0.edge, t0.transit_vni,
                                              tuple(north + south))
    return {**dr, **sr}


def _north(c: Cluster, uplinks, ecmp: bool = False) -> list[Route]:
    """The T0 SR's routes out: each uplink's subnet and own address, and the static routes whose
    next hop lies on one of ``uplinks`` (an active/active T0's instance: its own uplinks). With
    ``ecmp``, static routes of one prefix through several uplinks are one ECMP route over them
    (NSX: equal static routes); else the first listed wins."""
    north = [Route(ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False), "uplink", uplink=u.name) for u in uplinks]
    north += [Route(_host(u.ip), "local") for u in uplinks]
    by_prefix: dict = {}
    for st in c.routes:
        up = next((u for u in uplinks
                   if ipaddress.IPv4Address(st.next_hop) in ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False)), None)
        if up is not None:
            by_prefix.setdefault(st.prefix, []).append(up.name)
    for prefix, names in by_prefix.items():
        names = list(dict.fromkeys(names))
        if ecmp and len(names) > 1:
            north.append(Route(prefix, "ecmp", ecmp=tuple(Route(prefix, "uplink", uplink=n) for n in names)))
        else:
            north.append(Route(prefix, "uplink", uplink=names[0]))
    return north


def _active_active(c: Cluster, t0, dr: dict, sr: dict, t0_dr_routes: list, vips: list) -> None:
    """An active/active T0: an SR instance on each of its edges (``t0-sr@<edge>``), holding its own
    uplinks (`Uplink.edge`, default the first edge) and the routes out through them, its transit
    address 169.254.0.(2 + its place); the DR's 0/0 is ECMP over the instances that have an
    uplink (one: a plain route; none: no 0/0)."""
    first = t0.active[0]
    members = []
    for k, e in enumerate(t0.active):
        ups = [u for u in c.uplinks if (u.edge or first) == e]
        transit = TRANSIT_SR_IP + k
        if ups:
            members.append(Route(_ANY, "router", next_router=t0.sr_on(e), arrive_ip=transit))
        south = [Route(s.subnet, "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for s in c.segments]
        south += [Route(_link(r), "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for r in c.t1s]
        south += [Route(v, "router", next_router=t0.name, arrive_ip=TRANSIT_DR_IP) for v in vips]
        south.append(Route(_host(transit), "local"))
        sr[t0.sr_on(e)] = RouterInstance(t0.sr_on(e), t0.name, "t0", True, e, t0.transit_vni,
                                         tuple(_north(c, ups, ecmp=True) + south))
    t0_dr_routes.append(Route(_host(TRANSIT_DR_IP), "local"))
    if len(members) > 1:
        t0_dr_routes.append(Route(_ANY, "ecmp", ecmp=tuple(members)))
    elif members:
        t0_dr_routes.append(members[0])
    dr[t0.name] = RouterInstance(t0.name, t0.name, "t0", False, None, t0.transit_vni, tuple(t0_dr_routes))


def ecmp_seed(seed: int, router: str) -> int:
    """The ECMP hash's seed at router instance ``router``: ``cluster.ecmp_hash_seed`` plus the
    CRC-32 of its name (a router's own, whatever else fails around it)."""
    return (seed + zlib.crc32(router.encode())) & ((1 << 64) - 1)


def ecmp_member(route: Route, src_ip: int, dst_ip: int, proto: int, sport: int, dport: int, seed: int,
                router: str) -> Route:
    """The member of an ECMP route a packet takes: the hash of its 5-tuple as it stands
    (`fastpath.services.flow_hash`, kube-proxy's), seeded for the router instance holding it
    (`ecmp_seed`), its high half scaled to the member count.
    A flow sticks to one path; each router seeds its own hash, as routers do against
    polarization (with one seed the T0 DR's choice would fix the SR's next one: a flow sent to
    the second SR by the hash's high bit would always take that SR's second uplink); a reply,
    the 5-tuple reversed, hashes on its own (ECMP is not symmetric, which is why NSX keeps
    stateful services off it)."""
    from ..services import flow_hash

    h = flow_hash(src_ip, dst_ip, proto, sport, dport, ecmp_seed(seed, router)) >> 32
    return route.ecmp[(h * len(route.ecmp)) >> 32]


def lookup(instance: RouterInstance, dst_ip: int) -> Route | None:
    """Longest-prefix match by scanning: the readable semantics the compiled LPM must equal.
    Among equal prefixes the first listed wins (a later duplicate is shadowed)."""
    best: Route | None = None
    for route in instance.routes:
        net = route.prefix
        if (dst_ip & int(net.netmask)) == int(net.network_address) and (
                best is None or net.prefixlen > best.prefix.prefixlen):
            best = route
    return None if best is not None and best.kind == "null" else best
