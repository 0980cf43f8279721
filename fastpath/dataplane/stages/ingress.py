"""Ingress: where a packet enters the model — a pod's or a node's eth0, or a T0 uplink.

Reference: `_Walk.malformed`, `_Walk.from_endpoint` (its first lines: the port record) and
`_Walk.from_uplink`. Every packet of a vector passes here first: its result columns are
initialised (the verdict `V_DROPPED` with no reason until a stage decides), its fields are
sanity-checked, and its ingress id is range-checked before it indexes anything.

Drops: ``malformed`` (no such endpoint or uplink; TTL 0, IPv4 length under 28, VID over 4095),
``unknown-vlan`` (a tagged frame on an untagged uplink). No stage counter.
Out: endpoint packets (port record read: logical port, host, segment) to the sender stack;
uplink packets to the route stage at the T0 (its SR on its edge when it has one); packets handed
to a service router (kind ``edge``: the load balancer's pass, `fastpath.dataplane.lb`) to the
route stage there, arriving on the address their ``dst_mac`` carries.
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel, prefetch_row
from ...tables.ports import port_host, port_segment
from ..trace import T_NONE, T_SANITY, T_UPLINK
from .common import (K_EDGE, K_NODE, K_POD, K_UPLINK, MAX_VID, MIN_IP_PACKET, R_MALFORMED, R_NONE, R_VLAN, init_result,
                     rec)


@kernel(inline="always")
def ingress_port(b, dp, i):
    """The logical port packet i enters by, or -1 (an uplink, or garbage)."""
    k = b.ingress_kind[i]
    iid = np.int64(b.ingress_id[i])
    if k == K_POD and 0 <= iid < dp.n_pods:
        return iid
    if k == K_NODE and 0 <= iid < dp.n_nodes:
        return dp.n_pods + iid
    return np.int64(-1)


@kernel(inline="always")
def sane(b, i):
    """The fields a wire could not carry, or an IP stack would discard, are out of range."""
    return 0 < b.ttl[i] and MIN_IP_PACKET <= b.length[i] and b.vlan[i] <= MAX_VID


@kernel(inline="always")
def router_entry(b, i, kind, iid, ttl, slot, tr, tl):
    """A packet entering at a router (an uplink's T0, a service router it is handed to): the
    reason it ends there — a field no wire carries (``malformed``), an 802.1Q tag where none
    can be (``unknown-vlan``) — with its trace record, or `R_NONE`."""
    if not sane(b, i):
        if slot >= 0:
            rec(tr, tl, slot, kind, iid, T_SANITY, ttl)
        return R_MALFORMED
    if b.vlan[i] != 0:
        if slot >= 0:
            rec(tr, tl, slot, kind, iid, T_UPLINK, ttl)
        return R_VLAN
    return R_NONE


ENDED, TO_ENDPOINT, TO_ROUTE = 0, 1, 2
"""What `ingress_one` did with a packet: ended it (a verdict), or where it goes next."""


@kernel(inline="always")
def ingress_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k: results initialised, sanity, the port record or the uplink's T0.
    Returns `ENDED`, `TO_ENDPOINT` or `TO_ROUTE`."""
    kind = np.int64(b.ingress_kind[i])
    iid = np.int64(b.ingress_id[i])
    ttl = np.int64(b.ttl[i])
    init_result(o, i, ttl)
    if kind == K_UPLINK:
        o.dev_kind[i] = K_UPLINK
        if iid < 0 or iid >= dp.uplink_ip.shape[0]:
            o.reason[i] = R_MALFORMED
            return ENDED
        o.dev_id[i] = iid
        why = router_entry(b, i, K_UPLINK, iid, ttl, slot, tr, tl)
        if why != R_NONE:
            o.reason[i] = why
            return ENDED
        if slot >= 0:
            rec(tr, tl, slot, K_UPLINK, iid, T_NONE, ttl)
        s.src_mac[k] = b.src_mac[i]
        s.dst_mac[k] = dp.router_mac
        s.r[k] = dp.uplink_router[iid]
        s.host[k] = dp.uplink_host[iid]
        s.arrive[k] = dp.uplink_ip[iid]
        return TO_ROUTE
    if kind == K_POD or kind == K_NODE:
        o.dev_kind[i] = kind
        lp = ingress_port(b, dp, i)
        if lp < 0:
            o.reason[i] = R_MALFORMED
            return ENDED
        o.dev_id[i] = iid
        if not sane(b, i):
            if slot >= 0:
                rec(tr, tl, slot, kind, iid, T_SANITY, ttl)
            o.reason[i] = R_MALFORMED
            return ENDED
        s.lp[k] = lp
        s.host[k] = port_host(dp.port_rec, lp)
        s.seg[k] = port_segment(dp.port_rec, lp)
        return TO_ENDPOINT
    if kind == K_EDGE:  # handed to a service router: the load balancer's pass (`fastpath.dataplane.lb`)
        o.dev_kind[i] = K_EDGE
        if iid < 0 or iid >= dp.n_routers or not dp.rtr_is_sr[iid]:
            o.reason[i] = R_MALFORMED
            return ENDED
        o.dev_id[i] = iid
        why = router_entry(b, i, K_EDGE, iid, ttl, slot, tr, tl)
        if why != R_NONE:
            o.reason[i] = why
            return ENDED
        s.src_mac[k] = dp.router_mac
        s.dst_mac[k] = dp.router_mac
        s.r[k] = iid
        s.host[k] = dp.rtr_host[iid]
        s.arrive[k] = np.uint32(b.dst_mac[i])  # (its dst_mac: the address it arrived on)
        return TO_ROUTE
    o.reason[i] = R_MALFORMED
    return ENDED


@kernel(inline="always")
def hint_source(b, dp, i):
    """Prefetch the port record packet i enters by."""
    p = ingress_port(b, dp, i)
    if p >= 0:
        prefetch_row(dp.port_rec, p)


SOURCE_AHEAD = 3
"""The source port records are prefetched this many times ``ahead`` in front: the first reads of
a vector, with nothing else in flight to hide them behind. At 1M pods, with the records on
cache lines (`tables.lines`), 24 ahead walked 1.5-2 ns a packet faster than 16, 32 no faster,
8 ahead 5.6 ns slower (measured by one compiled kernel with the distance as data). While half
the records straddled two lines, 20 ahead had walked 6 ns slower than 16."""


@kernel
def ingress(b, dp, o, s, base, vin, n, to_endpoint, to_route, trace_slot, tr, tl, rc, ahead):
    """Slots ``vin[:n]`` (packet base + slot). Returns (endpoint packets, uplink packets)."""
    n_ep = n_rt = 0
    ahead = SOURCE_AHEAD * ahead
    if ahead > 0:  # prologue: the first elements' misses overlap instead of queueing
        for j in range(min(ahead, n)):
            hint_source(b, dp, base + vin[j])
    for j in range(n):
        k = vin[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            hint_source(b, dp, base + vin[j + ahead])
        if rc is not None:
            rc.st_in[k] = 0
            rc.st_hit[k] = 0
        slot = np.int64(-1)
        if trace_slot is not None:  # None: pruned at compile time
            slot = np.int64(trace_slot[i])
        to = ingress_one(b, dp, o, s, i, k, slot, tr, tl)
        if to == TO_ENDPOINT:
            to_endpoint[n_ep] = k
            n_ep += 1
        elif to == TO_ROUTE:
            to_route[n_rt] = k
            n_rt += 1
    return n_ep, n_rt
