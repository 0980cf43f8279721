"""Segments, router instances and their routes, from the control plane's RIB.

Router instance ids are the order of `routing.rib` (dict order: DRs, then SRs); routes are
numbered instance by instance in each instance's listed order, so route ``t`` of the bundle
is ``rib[...][router].routes[t - first route of that router]``. The multibit trie over all
instances (`fastpath.tables.mtrie`) keeps the first of two equal prefixes of one router, as
`routing.lookup` does.

The codes of `route_kind` and `rtr_kind` are defined here, beside their one builder. So is the
entry of north-south traffic, per uplink: `uplink_router` (the instance a packet from it enters:
the T0 SR instance holding it when the T0 has an edge, else the T0 DR) and `uplink_host` (the
host it enters on: that SR's edge, else the first transport node), computed once from the RIB
so that the data plane never reads the model.
"""

from __future__ import annotations

import numpy as np

from ..model import routing
from ..model.cluster import Cluster, sr_name
from ..tables import mtrie, route_lines
from ..verdicts import DeviceKind

ROUTE_LOCAL, ROUTE_CONNECTED, ROUTE_ROUTER, ROUTE_UPLINK, ROUTE_LB, ROUTE_NULL, ROUTE_ECMP = 0, 1, 2, 3, 4, 5, 6
ROUTE_KINDS = ("local", "connected", "router", "uplink", "local", "null", "ecmp")
"""Route kind code -> `fastpath.model.routing.Route.kind`. `ROUTE_LB` is a ``local`` route the
engines stop at for the load balancer's pass (`fastpath.dataplane.lb`): on the load balancer
T1's SR, its virtual servers' IPs and the T1's uplink IP (where the backends' replies come).
`ROUTE_NULL`: a null route (a failed cluster's, `fastpath.model.routing`): the lookup that finds
it answers no route (`fastpath.dataplane.stages.route.route_lookup`). `ROUTE_ECMP`: equal-cost
paths (an active/active T0): ``route_arg`` is the member count, the members the rows right after
it (same router and prefix, so the lookup never returns them itself); the engines pick one by the
seeded 5-tuple hash (`rtr_ecmp_seed`: the router's seed, `fastpath.model.routing.ecmp_member`)."""
assert ROUTE_KINDS.index("uplink") == ROUTE_UPLINK and ROUTE_KINDS.index("router") == ROUTE_ROUTER

RTR_T1 = int(DeviceKind.T1)
RTR_T0 = int(DeviceKind.T0)

_ROUTE_KIND = {"local": ROUTE_LOCAL, "connected": ROUTE_CONNECTED, "router": ROUTE_ROUTER, "uplink": ROUTE_UPLINK,
               "null": ROUTE_NULL, "ecmp": ROUTE_ECMP}


def compile_routers(c: Cluster) -> dict:
    rib = routing.rib(c)
    names = list(rib)
    rid = {name: i for i, name in enumerate(names)}
    seg_id = {s.name: i for i, s in enumerate(c.segments)}
    uplink_id = {u.name: i for i, u in enumerate(c.uplinks)}
    insts = list(rib.values())

    out: dict = {
        "seg_vni": np.array([s.vni for s in c.segments], np.uint32),
        "seg_router": np.array([rid[s.t1] for s in c.segments], np.int32),
        "seg_gateway": np.array([s.gateway for s in c.segments], np.uint32),
        "seg_net": np.array([int(s.subnet.network_address) for s in c.segments], np.uint32),
        "seg_mask": np.array([int(s.subnet.netmask) for s in c.segments], np.uint32),
        "rtr_is_sr": np.array([i.sr for i in insts], bool),
        "rtr_host": np.array([c.host_index[i.host] if i.sr else -1 for i in insts], np.int32),
        "rtr_transit_vni": np.array([i.transit_vni or 0 for i in insts], np.uint32),
        "rtr_kind": np.array([RTR_T1 if i.kind == "t1" else RTR_T0 for i in insts], np.uint8),
        "router_names": tuple(names),
        "uplink_router": np.array([rid[_entry(c, u)] for u in c.uplinks], np.int32),
        "uplink_host": np.array([c.host_index[u.edge or c.t0.edge] if c.t0.edge
                                 else next(i for i, h in enumerate(c.hosts) if not h.edge) for u in c.uplinks], np.int32),
        "uplink_ip": np.array([u.ip for u in c.uplinks], np.uint32),
        "rtr_ecmp_seed": np.array([routing.ecmp_seed(c.settings.ecmp_hash_seed, n) for n in names], np.uint64),
    }

    rows = []  # router, network, prefix_len, kind, arg, arrive_ip
    lb_sr = sr_name(c.lb_router.name) if c.lb_services else None
    lb_stops = {c.services[k].lb_ip for k in c.lb_services} | {c.lb_router.link_t1_ip}
    for r, inst in enumerate(insts):
        for rt in _expanded(inst.routes):
            if rt.kind == "connected":
                arg = seg_id[rt.segment]
            elif rt.kind == "router":
                arg = rid[rt.next_router]
            elif rt.kind == "uplink":
                arg = uplink_id[rt.uplink]
            elif rt.kind == "ecmp":
                arg = len(rt.ecmp)
            else:
                arg = -1
            code = _ROUTE_KIND[rt.kind]
            if code == ROUTE_LOCAL and inst.name == lb_sr and int(rt.prefix.network_address) in lb_stops:
                code = ROUTE_LB
            rows.append((r, int(rt.prefix.network_address), rt.prefix.prefixlen, code, arg,
                         rt.arrive_ip or 0))
    cols = np.array(rows, dtype=np.int64).reshape(len(rows), 6)
    out |= {
        "route_router": cols[:, 0].astype(np.int32),
        "route_network": cols[:, 1].astype(np.uint32),
        "route_prefix_len": cols[:, 2].astype(np.uint8),
        "route_kind": cols[:, 3].astype(np.uint8),
        "route_arg": cols[:, 4].astype(np.int32),
        "route_arrive_ip": cols[:, 5].astype(np.uint32),
    }
    out["route_trie"] = mtrie.build(cols[:, 0], cols[:, 1], cols[:, 2], np.arange(len(rows)), len(insts))
    out["route_lines"] = route_lines.build(cols[:, 0], cols[:, 1], cols[:, 2], len(insts))
    return out


def _expanded(routes):
    """The routes as rows: an ECMP route, then its members (`ROUTE_ECMP`)."""
    for rt in routes:
        yield rt
        yield from rt.ecmp


def _entry(c: Cluster, u) -> str:
    """The router instance a packet from uplink ``u`` enters: the T0 SR instance holding it, else
    the T0 DR (a T0 without an edge, or whose SR is gone)."""
    if c.t0.edge is None:
        return c.t0.name
    return c.t0.sr_on(u.edge or c.t0.edge)
