"""Semantic validation of a resolved cluster: one `SpecError` naming the field path.

Checks run over numpy columns (a million pods validate in well under a second) and stop at
the first problem, reported as ``pods[12].vlan: ...``. The path indexes the spec lists in the
order they were given (pods are rows in spec order), so a user can find the line.

Names are checked first, by the rules `fastpath.model.names` gives per kind.

**The T0's uplinks and static routes** are held to what a real router would accept, so a
route fastpath forwards by is one a router would install (`fastpath.model.routing` builds the
table; an uplink route names only the port, the packet goes to that uplink's next hop):

- an uplink's address is not the network or broadcast address of its subnet (a /31 has
  neither, RFC 3021); its next hop is another address on that subnet, and not the network or
  broadcast address either;
- uplink subnets do not overlap one another (as IOS and Junos refuse overlapping interface
  subnets: which port would own the overlap?) nor the cluster's own networks (pod CIDR, node
  segment, router link CIDR, DR-SR transit link) — those the T0 routes inward;
- a static route's next hop lies on an uplink subnet, is not the T0's own address there, nor
  that subnet's network or broadcast address; one route per prefix (no ECMP is modelled; a
  second route for a prefix would be silently shadowed), and not the prefix of an uplink's
  connected subnet or of the T0's own address, which win over any static route;
- a router resolves a static route's next hop by longest-prefix match over its table. When the
  route's own prefix contains its next hop and is more specific than the connected uplink
  subnet, that match is the route itself: the recursion never reaches an interface and the
  route is not installed ("points back into itself"). When another static route captures the
  next hop that way and leaves by a different uplink, the packet would leave by that uplink, not
  the one the next hop is on: refused too, naming that route. (Captured on the same uplink it
  leaves by the same port: legal.)

Still legal: overlapping but distinct prefixes (0/0, 10/8 and 10.1/16 side by side), a default
route whose prefix holds its next hop (it is less specific than the connected subnet), static
routes for prefixes inside the cluster (the pod CIDR, a namespace subnet).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from . import names
from .addressing import OVS_RESERVED_MACS, ip_to_str, mac_to_str
from .cluster import IPV4_MIN_MTU, TRANSIT_DR_IP, Cluster, Settings, SpecError, sr_name

VNI_MAX = (1 << 24) - 1


def _first_dup(keys: np.ndarray) -> tuple[int, int] | None:
    """Indices (earlier, later) of the first repeated key in original order, or None."""
    if len(keys) < 2:
        return None
    order = np.argsort(keys, kind="stable")
    s = keys[order]
    hit = np.flatnonzero(s[1:] == s[:-1])
    if not len(hit):
        return None
    later = order[hit + 1]
    j = int(np.argmin(later))
    return int(order[hit[j]]), int(later[j])


def _unique_names(names, path: str | list[str]) -> None:
    """`path` is the list's spec path, or one spec path per item."""
    paths = [f"{path}[{i}]" for i in range(len(names))] if isinstance(path, str) else path
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise SpecError(f"{paths[i]}.name", f"duplicate name {n!r} (also {paths[seen[n]]})")
        seen[n] = i


def validate_settings(st: Settings) -> None:
    """The cluster-wide settings alone (`from_spec` checks them before allocating with them)."""
    if not 0 <= st.geneve_option_bytes <= 252 or st.geneve_option_bytes % 4:
        raise SpecError("cluster.geneve_option_bytes",
                        f"{st.geneve_option_bytes} must be a multiple of 4 in 0..252 (Geneve option length)")
    if not 1 <= st.vlan_min <= st.vlan_max <= 4094:
        raise SpecError("cluster.vlan_range", f"[{st.vlan_min}, {st.vlan_max}] must lie within 1..4094")
    if st.router_mac >> 40 & 1:
        raise SpecError("cluster.router_mac", f"{mac_to_str(st.router_mac)} is a multicast MAC")
    if st.router_mac in OVS_RESERVED_MACS:  # Extreme's EDP/EAPS addresses are unicast, yet reserved
        raise SpecError("cluster.router_mac", f"{mac_to_str(st.router_mac)} is reserved in Open vSwitch (its NORMAL "
                        "action drops frames to it): no pod could reach its gateway")


def validate(c: Cluster) -> Cluster:
    """Raise `SpecError` for the first problem found; return the cluster unchanged if none."""
    st = c.settings
    validate_settings(st)

    # hosts and edges ---------------------------------------------------------------------------
    # spec paths: transport nodes are hosts[i], edge nodes edges[j], each counted in its own list
    host_paths, count = [], {True: 0, False: 0}
    for h in c.hosts:
        host_paths.append(f"{'edges' if h.edge else 'hosts'}[{count[h.edge]}]")
        count[h.edge] += 1
    seg_paths = ["node_network"] + [f"namespaces[{i}]" for i in range(len(c.namespaces))]
    _validate_names(c, host_paths, seg_paths)
    _unique_names([h.name for h in c.hosts], host_paths)
    need = IPV4_MIN_MTU + st.geneve_overhead
    teps: dict[int, str] = {}
    for h, hp in zip(c.hosts, host_paths):
        if not need <= h.mtu <= 65535:
            raise SpecError(f"{hp}.mtu", f"{h.mtu} on {h.name} is too small for Geneve: needs at least "
                            f"{need} ({IPV4_MIN_MTU}-byte IPv4 minimum + {st.geneve_overhead} overhead)"
                            if h.mtu < need else f"{h.mtu} on {h.name} is above 65535")
        if h.tep in teps:
            raise SpecError(f"{hp}.tep", f"TEP {ip_to_str(h.tep)} of {h.name} is already used by {teps[h.tep]}")
        teps[h.tep] = h.name
    host_kind = {h.name: h.edge for h in c.hosts}

    def edge_ref(name, path):
        if name is None:
            return
        if name not in host_kind:
            raise SpecError(path, f"unknown edge node {name!r}")
        if not host_kind[name]:
            raise SpecError(path, f"{name!r} is a transport node, not an edge node")

    # nodes --------------------------------------------------------------------------------------
    _unique_names([n.name for n in c.nodes], "nodes")
    ns_net = c.node_segment.subnet
    for i, n in enumerate(c.nodes):
        if n.host not in host_kind:
            raise SpecError(f"nodes[{i}].host", f"unknown host {n.host!r}")
        if host_kind[n.host]:
            raise SpecError(f"nodes[{i}].host", f"{n.host!r} is an edge node; nodes run on transport nodes")
        _check_endpoint_ip(n.ip, ns_net, f"nodes[{i}].ip", f"node segment {ns_net}")
        if n.max_pods < 0:
            raise SpecError(f"nodes[{i}].max_pods", f"{n.max_pods} is negative")

    # segments, VNIs, routers ---------------------------------------------------------------------
    _unique_names([s.namespace for s in c.namespaces], "namespaces")
    for seg, p in zip(c.segments, seg_paths):
        if seg.subnet.prefixlen > 30:
            raise SpecError(f"{p}.subnet", f"{seg.subnet} leaves no room for pods (prefix must be /30 or shorter)")
        if seg.namespace is not None and not seg.subnet.subnet_of(st.pod_cidr):
            raise SpecError(f"{p}.subnet", f"{seg.subnet} of namespace {seg.namespace} is outside the pod CIDR {st.pod_cidr}")
    nets = [(s.subnet, p + ".subnet") for s, p in zip(c.segments, seg_paths)] + [(st.link_cidr, "cluster.link_cidr")]
    nets.sort(key=lambda t: (int(t[0].network_address), t[0].prefixlen))
    for (a, pa), (b, pb) in zip(nets, nets[1:]):
        if int(b.network_address) <= int(a.broadcast_address):
            raise SpecError(pb, f"{b} overlaps {a} ({pa})")

    vnis: dict[int, str] = {}
    vni_uses = [(s.vni, p + ".vni") for s, p in zip(c.segments, seg_paths)]
    vni_uses += [(r.transit_vni, f"routers.{r.name}.transit_vni") for r in (*c.t1s, c.t0) if r.transit_vni is not None]
    for v, p in vni_uses:
        if not 1 <= v <= VNI_MAX:
            raise SpecError(p, f"VNI {v} is outside 24 bits (1..{VNI_MAX})")
        if v in vnis:
            raise SpecError(p, f"VNI {v} is already used by {vnis[v]}")
        vnis[v] = p
    router_paths = [f"{p}.t1" for p in seg_paths] + ["t0"]
    _unique_names([r.name for r in (*c.t1s, c.t0)], router_paths)
    srs = {sr_name(r.name): p for r, p in zip((*c.t1s, c.t0), router_paths) if r.edge is not None}
    for r, p in zip((*c.t1s, c.t0), router_paths):
        if r.name in srs:  # the RIB names instances by name: the two would be one
            raise SpecError(f"{p}.name", f"{r.name!r} is the name of the service router of {srs[r.name]}")
    for r, p in zip(c.t1s, seg_paths):
        edge_ref(r.edge, f"{p}.t1.edge")
    edge_ref(c.t0.edge, "t0.edge")

    # T0 uplinks and routes ----------------------------------------------------------------------
    _unique_names([u.name for u in c.uplinks], "t0.uplinks")
    _validate_t0(c)

    # pods (vectorized) --------------------------------------------------------------------------
    _validate_pods(c)
    return c


def _validate_names(c: Cluster, host_paths: list[str], seg_paths: list[str]) -> None:
    """Every name by its kind's rule (`fastpath.model.names`), before anything is keyed by it."""
    names.check_all(names.DEVICE, ((h.name, f"{p}.name") for h, p in zip(c.hosts, host_paths)))
    names.check_all(names.NODE, ((n.name, f"nodes[{i}].name") for i, n in enumerate(c.nodes)))
    names.check_all(names.NAMESPACE, ((s.namespace, f"namespaces[{i}].name") for i, s in enumerate(c.namespaces)))
    names.check_all(names.DEVICE, ((r.name, f"{p}.t1.name") for r, p in zip(c.t1s, seg_paths)))
    names.DEVICE.check(c.t0.name, "t0.name")
    names.check_all(names.DEVICE, ((u.name, f"t0.uplinks[{i}].name") for i, u in enumerate(c.uplinks)))
    names.check_all(names.DEVICE, ((r.name, f"dfw.rules[{i}].name") for i, r in enumerate(c.dfw_rules)))
    names.check_many(names.POD, c.pods.name, lambda i: f"pods[{i}].name")
    for i, lb in enumerate(c.pods.labels or ()):
        if lb:
            names.check_labels(lb, f"pods[{i}].labels")


TRANSIT_NET = ipaddress.IPv4Network((TRANSIT_DR_IP, 28), strict=False)


class _Prefixes:
    """Prefixes (base, length) by length, for longest-prefix matches in at most 33 dict lookups
    (a spec may list a hundred thousand routes: no scan over all of them per route)."""

    def __init__(self, nets):
        self.by_len: dict[int, dict[int, int]] = {}
        for i, (base, plen) in enumerate(nets):
            self.by_len.setdefault(plen, {}).setdefault(base, i)
        self.lens = sorted(self.by_len, reverse=True)

    def longest(self, ip: int, longer_than: int = -1) -> int | None:
        """Index of the longest prefix holding `ip` that is longer than `longer_than`, or None."""
        for plen in self.lens:
            if plen <= longer_than:
                break
            i = self.by_len[plen].get(ip & _mask(plen))
            if i is not None:
                return i
        return None


def _mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF


def _net_str(base: int, plen: int) -> str:
    return f"{ip_to_str(base)}/{plen}"


def _special(ip: int, base: int, plen: int) -> str | None:
    """"network address" / "broadcast address" when `ip` is one of base/plen (none on a /31 or /32)."""
    if plen >= 31:
        return None
    return "network address" if ip == base else "broadcast address" if ip == base | ~_mask(plen) & 0xFFFFFFFF else None


def _validate_t0(c: Cluster) -> None:
    """Uplinks and static routes a router would accept (the module's docstring says which).
    Prefixes are (base, length) ints here: a hundred thousand routes check in a second."""
    st = c.settings
    inside = [(int(n.network_address), int(n.broadcast_address), n, what) for n, what in (
        (st.pod_cidr, "the pod CIDR"), (c.node_segment.subnet, "the node segment"),
        (st.link_cidr, "the router link CIDR"), (TRANSIT_NET, "the DR-SR transit link"))]
    ups = [(u.ip & _mask(u.prefixlen), u.prefixlen) for u in c.uplinks]
    last = [base | ~_mask(plen) & 0xFFFFFFFF for base, plen in ups]
    # CIDR blocks nest or are disjoint: sorted by start, an overlap shows between neighbours
    order = sorted(range(len(ups)), key=lambda i: ups[i])
    overlap = {max(a, b): min(a, b) for a, b in zip(order, order[1:]) if ups[b][0] <= last[a]}
    for i, (u, (base, plen)) in enumerate(zip(c.uplinks, ups)):
        p, net = f"t0.uplinks[{i}]", _net_str(base, plen)
        role = _special(u.ip, base, plen)
        if role:
            raise SpecError(f"{p}.ip", f"{ip_to_str(u.ip)} is the {role} of {net}, not an interface address")
        if i in overlap:
            j = overlap[i]
            raise SpecError(f"{p}.ip", f"subnet {net} overlaps {_net_str(*ups[j])} of t0.uplinks[{j}] "
                            f"({c.uplinks[j].name}): each uplink needs a subnet of its own")
        for lo, hi, n, what in inside:
            if base <= hi and lo <= last[i]:
                raise SpecError(f"{p}.ip", f"subnet {net} overlaps {what} {n}: uplinks lie outside the cluster's networks")
        if u.next_hop == u.ip:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(u.next_hop)} is the T0's own address on {u.name}, not a neighbor")
        if u.next_hop & _mask(plen) != base:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(u.next_hop)} is not a neighbor on {net}")
        role = _special(u.next_hop, base, plen)
        if role:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(u.next_hop)} is the {role} of {net}, not a neighbor")
    on_uplink = _Prefixes(ups)

    own = {(u.ip, 32): u.name for u in c.uplinks}
    connected = {net: u.name for net, u in zip(ups, c.uplinks)}
    prefixes = [(int(r.prefix.network_address), r.prefix.prefixlen) for r in c.routes]
    seen: dict[tuple[int, int], int] = {}
    exit_of: list[int] = []  # uplink index each route leaves by
    for i, (r, pre) in enumerate(zip(c.routes, prefixes)):
        p = f"t0.routes[{i}]"
        key = (pre, r.next_hop) if c.t0.active else pre  # an active/active T0: ECMP over equal static routes
        if key in seen:
            raise SpecError(f"{p}.prefix", f"{r.prefix} is already routed by t0.routes[{seen[key]}]: " + (
                "through the same next hop" if c.t0.active else "one next hop per prefix (ECMP over static routes "
                "is an active/active T0's: t0.edges with ha_mode active_active)"))
        seen[key] = i
        if pre in connected:
            raise SpecError(f"{p}.prefix", f"{r.prefix} is the subnet of uplink {connected[pre]}: its connected "
                            "route always wins, this one would never be used")
        if pre in own:
            raise SpecError(f"{p}.prefix", f"{r.prefix} is the T0's own address on {own[pre]}: delivered to the "
                            "T0 itself, this route would never be used")
        k = on_uplink.longest(r.next_hop)
        if k is None:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(r.next_hop)} is on no uplink subnet")
        u = c.uplinks[k]
        if r.next_hop == u.ip:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(r.next_hop)} is the T0's own address on {u.name}, not a neighbor")
        role = _special(r.next_hop, *ups[k])
        if role:
            raise SpecError(f"{p}.next_hop", f"{ip_to_str(r.next_hop)} is the {role} of {u.name}'s subnet "
                            f"{_net_str(*ups[k])}, not a neighbor")
        exit_of.append(k)

    # next-hop resolution: the longest static prefix holding the next hop, if more specific than
    # the connected subnet, is what a router resolves it through
    statics = _Prefixes(prefixes)
    for i, r in enumerate(c.routes):
        k = exit_of[i]
        j = statics.longest(r.next_hop, longer_than=ups[k][1])
        if j is not None:
            nh, sub = ip_to_str(r.next_hop), f"{c.uplinks[k].name}'s subnet {_net_str(*ups[k])}"
            if j == i:
                raise SpecError(f"t0.routes[{i}].next_hop", f"the route points back into itself: its prefix {r.prefix} "
                                f"holds its next hop {nh} and is more specific than {sub}, so the next hop resolves "
                                "only through this route (a router does not install it)")
            if exit_of[j] != k:
                raise SpecError(f"t0.routes[{i}].next_hop", f"{nh} resolves through t0.routes[{j}] ({c.routes[j].prefix}, "
                                f"out of {c.uplinks[exit_of[j]].name}), which is more specific than {sub}: the route "
                                f"would not leave by {c.uplinks[k].name}")


def _check_endpoint_ip(ip: int, net: ipaddress.IPv4Network, path: str, what: str) -> None:
    base, bcast = int(net.network_address), int(net.broadcast_address)
    if not base <= ip <= bcast:
        raise SpecError(path, f"{ip_to_str(ip)} is outside {what}")
    if ip in (base, base + 1, bcast):
        role = {base: "network address", base + 1: "gateway", bcast: "broadcast address"}[ip]
        raise SpecError(path, f"{ip_to_str(ip)} is the {role} of {what}")


def _validate_pods(c: Cluster) -> None:
    st, p = c.settings, c.pods
    n = len(p)  # no early return when 0: the node IP / MAC checks below must run without pods too
    names = p.name

    def key(i: int) -> str:
        return f"{c.namespaces[p.namespace[i]].namespace}/{names[i]}"

    def where(i: int) -> str:  # in messages; the error path itself is the bare pods[i]
        return f"pods[{i}] ({key(i)})"

    if n and (p.namespace.min() < 0 or p.namespace.max() >= len(c.namespaces)):
        raise SpecError("pods", "namespace index out of range")
    if n and (p.node.min() < 0 or p.node.max() >= len(c.nodes)):
        raise SpecError("pods", "node index out of range")

    # names unique within a namespace
    seen: dict[tuple[int, str], int] = {}
    for i, (k, nm) in enumerate(zip(p.namespace.tolist(), names)):
        if (k, nm) in seen:
            raise SpecError(f"pods[{i}].name", f"duplicate pod {c.namespaces[k].namespace}/{nm} (also pods[{seen[(k, nm)]}])")
        seen[(k, nm)] = i

    # IP inside own namespace subnet, not network / gateway / broadcast
    net = np.array([int(s.subnet.network_address) for s in c.namespaces], dtype=np.uint32)[p.namespace]
    mask = np.array([int(s.subnet.netmask) for s in c.namespaces], dtype=np.uint32)[p.namespace]
    bad = np.flatnonzero((p.ip & mask) != net)
    if len(bad):
        i = int(bad[0])
        raise SpecError(f"pods[{i}].ip", f"{ip_to_str(p.ip[i])} of {key(i)} is outside namespace subnet "
                        f"{c.namespaces[p.namespace[i]].subnet}")
    host = p.ip & ~mask
    bad = np.flatnonzero((host == 0) | (host == 1) | (host == ~mask))
    if len(bad):
        i = int(bad[0])
        _check_endpoint_ip(int(p.ip[i]), c.namespaces[p.namespace[i]].subnet, f"pods[{i}].ip",
                           f"namespace subnet {c.namespaces[p.namespace[i]].subnet}")

    # duplicate IPs and MACs across pods and nodes
    def owner(j: int) -> str:
        return where(j) if j < n else f"nodes[{j - n}] ({c.nodes[j - n].name})"

    def owner_path(j: int) -> str:
        return f"pods[{j}]" if j < n else f"nodes[{j - n}]"

    def owner_key(j: int) -> str:
        return key(j) if j < n else c.nodes[j - n].name

    node_ips = np.array([x.ip for x in c.nodes], dtype=np.uint32)
    d = _first_dup(np.concatenate([p.ip, node_ips]))
    if d:
        a, b = d
        raise SpecError(f"{owner_path(b)}.ip", f"duplicate IP {ip_to_str(np.concatenate([p.ip, node_ips])[b])} of "
                        f"{owner_key(b)} (also {owner(a)})")
    macs = np.concatenate([p.mac, np.array([x.mac for x in c.nodes], dtype=np.uint64)])
    d = _first_dup(macs)
    if d:
        a, b = d
        raise SpecError(f"{owner_path(b)}.mac", f"duplicate MAC {mac_to_str(int(macs[b]))} of {owner_key(b)} (also {owner(a)})")
    bad = np.flatnonzero((macs == np.uint64(st.router_mac)) | (((macs >> np.uint64(40)) & np.uint64(1)) == 1)
                         | (macs > np.uint64((1 << 48) - 1)))
    if len(bad):
        i = int(bad[0])
        why = "is the router MAC" if int(macs[i]) == st.router_mac else "is not a unicast 48-bit MAC"
        raise SpecError(f"{owner_path(i)}.mac", f"{mac_to_str(int(macs[i]) & ((1 << 48) - 1))} of {owner_key(i)} {why}")

    # VLAN tags: in range, unique per node, and not more pods than tags or max_pods
    bad = np.flatnonzero((p.vlan < st.vlan_min) | (p.vlan > st.vlan_max))
    if len(bad):
        i = int(bad[0])
        raise SpecError(f"pods[{i}].vlan", f"VLAN tag {int(p.vlan[i])} of {key(i)} is outside {st.vlan_min}..{st.vlan_max}")
    d = _first_dup(p.node.astype(np.int64) << 16 | p.vlan.astype(np.int64))
    if d:
        a, b = d
        raise SpecError(f"pods[{b}].vlan", f"VLAN tag {int(p.vlan[b])} of {key(b)} is already used on node "
                        f"{c.nodes[p.node[b]].name} by {where(a)}")
    per_node = np.bincount(p.node, minlength=len(c.nodes))
    tags = st.vlan_max - st.vlan_min + 1
    for i, (cnt, nd) in enumerate(zip(per_node.tolist(), c.nodes)):
        if cnt > tags:
            raise SpecError(f"nodes[{i}]", f"{nd.name} has {cnt} pods but only {tags} VLAN tags ({st.vlan_min}..{st.vlan_max})")
        if cnt > nd.max_pods:
            raise SpecError(f"nodes[{i}].max_pods", f"{nd.name} has {cnt} pods, more than max_pods {nd.max_pods}")


def validate_service_cidr(c: Cluster) -> None:
    """A cluster with Services: their range is virtual, no endpoint's or link's address (checked
    only then, so a cluster without Services may use the default range for pods)."""
    st = c.settings
    for net, what in ((st.pod_cidr, "the pod CIDR (cluster.pod_cidr)"),
                      (c.node_segment.subnet, "the node segment (node_network.subnet)"),
                      (st.link_cidr, "the router link CIDR (cluster.link_cidr)"),
                      (st.tep_cidr, "the TEP CIDR (cluster.tep_cidr)")):
        if st.service_cidr.overlaps(net):
            raise SpecError("cluster.service_cidr", f"{st.service_cidr} overlaps {what} {net}: cluster IPs are "
                            "virtual and must not be anyone's address")


def validate_snat(c: Cluster) -> None:
    """SNAT IPs (`Segment.snat_ip`): NAT runs on the T0's service router, so the T0 needs an
    edge; each address is outside every network of the cluster and no uplink's own."""
    st = c.settings
    given = [(k, s) for k, s in enumerate(c.namespaces) if s.snat_ip is not None]
    if not given:
        return
    if c.t0.edge is None:
        k = given[0][0]
        raise SpecError(f"namespaces[{k}].snat_ip" if c.snat_pool is None else "t0.snat_pool",
                        "SNAT runs on the T0's service router: give the T0 an edge (t0.edge)")
    # NSX: stateful services need one SR to see both directions of a flow. (NSX 4.0.1's "stateful
    # active/active", which steers a flow's two directions to one SR over interface groups, is a
    # later option not modeled: the classic rule, active/standby for NAT, is the reading here.)
    if c.t0.active:
        raise SpecError("t0.ha_mode", "SNAT is a stateful service: NSX runs it on an active/standby T0, not on "
                        f"{len(c.t0.active)} active SRs with ECMP: say ha_mode: active_standby (edges: [active, standby])")
    inside = [(st.pod_cidr, "the pod CIDR"), (c.node_segment.subnet, "the node segment"), (st.link_cidr, "the router link CIDR"),
              (st.tep_cidr, "the TEP CIDR"), (TRANSIT_NET, "the DR-SR transit link")]
    if c.services:
        inside.append((st.service_cidr, "the service CIDR"))
    uplink_ips = {u.ip: u.name for u in c.uplinks}
    for k, s in given:
        a = ipaddress.IPv4Address(s.snat_ip)
        for net, what in inside:
            if a in net:
                raise SpecError(f"namespaces[{k}].snat_ip", f"{a} of namespace {s.namespace} lies in {what} {net}: "
                                "an SNAT IP is an outside address")
        if s.snat_ip in uplink_ips:
            raise SpecError(f"namespaces[{k}].snat_ip", f"{a} is uplink {uplink_ips[s.snat_ip]}'s own address")


def validate_load_balancer(c: Cluster) -> None:
    """The cluster's load balancer (`Cluster.lb_router`): ``cluster.load_balancer_t1`` names a
    T1; with LoadBalancer Services that T1 has a service router (the virtual servers run on
    it), and each external IP is an outside address."""
    st = c.settings
    names_ = [r.name for r in c.t1s]
    if st.load_balancer_t1 is not None and st.load_balancer_t1 not in names_:
        raise SpecError("cluster.load_balancer_t1", f"no T1 named {st.load_balancer_t1!r} (T1s: {', '.join(names_)})")
    if not c.lb_services:
        return
    r = c.lb_router
    first = c.services[c.lb_services[0]]
    if r.edge is None:
        where = "cluster.load_balancer_t1" if st.load_balancer_t1 is not None else "node_network.t1.edge"
        raise SpecError(where, f"LoadBalancer {first.key}: the cluster's load balancer runs on T1 {r.name}'s service "
                        f"router, and {r.name} has none: give it an edge")
    inside = [(st.pod_cidr, "the pod CIDR"), (c.node_segment.subnet, "the node segment"),
              (st.link_cidr, "the router link CIDR"), (st.tep_cidr, "the TEP CIDR"),
              (TRANSIT_NET, "the DR-SR transit link"), (st.service_cidr, "the service CIDR")]
    for k in c.lb_services:
        s = c.services[k]
        a = ipaddress.IPv4Address(s.lb_ip)
        for net, what in inside:
            if a in net:
                raise SpecError("services", f"LoadBalancer {s.key}: its external IP {a} lies in {what} {net}: "
                                "a LoadBalancer IP is an outside address")
