"""The router: one hop of a distributed or service router (T1 or T0).

Reference: `_Walk.route`. At a service router (SR) the packet first hairpins to the SR's edge
node (a Geneve leg on the router's transit VNI, unless it is there already). Then, in Linux's
order: the route lookup (the router's own address: delivered; no match: ``no-route``), the TTL
check (``<= 1``: ``ttl-expired``, answered from the address it arrived on), the decrement, and
the route's kind: the next router (another pass of this stage), an uplink (out to the physical
network: exited), or a connected segment (the `neighbor` stage next); an ECMP route (an
active/active T0) first picks its member by the seeded 5-tuple hash (`ecmp_pick`).

The lookup is one cache line for a router of a few routes (`fastpath.tables.route_lines`: every
T1 DR), else `fastpath.tables.mtrie` (a per-router multibit trie: the T0, whose nodes every
packet shares, stay cached); the stage does not prefetch (measured, no gain; nor did walking the
trie a level at a time across the vector with prefetch: 1.6x slower at 1M pods).

Drops: ``no-route``, ``ttl-expired``, at the router; ``mtu-exceeded`` on the hairpin tunnel.
Counters: ``route`` (hit = a route matched), ``encap`` for hairpins; load per router instance
and per uplink.
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...compile.routers import ROUTE_CONNECTED, ROUTE_ECMP, ROUTE_LB, ROUTE_LOCAL, ROUTE_NULL, ROUTE_ROUTER, ROUTE_UPLINK
from ...tables import mtrie, route_lines
from ...tables.services import flow_hash
from ...tables.neighbor import prefetch_neighbor
from ..trace import T_NONE, T_ROUTE
from .common import (K_TUNNEL, K_UPLINK, R_MTU, R_NO_ROUTE, R_TTL, S_ENCAP, S_ROUTE, V_DELIVERED, V_EXITED, drop,
                     flush, note, note_router, rec, router_kind)
from .tunnel import count_encap, encap


@kernel(inline="always")
def route_lookup(dp, r, ip):
    """The route router instance ``r`` uses for ``ip``: an index into ``route_*``, or -1 (none,
    or a null route: `ROUTE_NULL`). A router of a few routes (every T1 DR) is one line
    (`fastpath.tables.route_lines`), the others the trie."""
    if r < 0 or r >= dp.n_routers:
        return np.int64(-1)
    rt = route_lines.get(dp.route_lines, r, ip)
    if rt == route_lines.TRIE:
        rt = mtrie.get(dp.route_trie_nodes, dp.n_routers, r, ip)
    if rt >= 0 and dp.route_kind[rt] == ROUTE_NULL:
        return np.int64(-1)
    return rt


@kernel(inline="always")
def ecmp_pick(dp, b, i, rt):
    """The member row of ECMP route ``rt`` packet i takes: the hash of its 5-tuple seeded for the
    router holding the route, the high half scaled to the member count
    (`fastpath.model.routing.ecmp_member`)."""
    n = np.uint64(dp.route_arg[rt])
    seed = dp.rtr_ecmp_seed[dp.route_router[rt]]
    h = flow_hash(b.src_ip[i], b.dst_ip[i], b.proto[i], b.sport[i], b.dport[i], seed) >> np.uint64(32)
    return rt + 1 + np.int64((h * n) >> np.uint64(32))


@kernel(inline="always")
def lb_arrival(arrive):
    """The address a packet arrived on at the load balancer's SR, kept in its ``egress_port``
    (int32: the same 32 bits) until the load balancer's pass reads it."""
    a = np.int64(arrive)
    return np.int32(a - ((a >> 31) << 32))


@kernel(inline="always")
def load_tally(cn, r, length, last, run, run_bytes):
    """A router instance's load (packets, bytes), run-length: packets in a row at the same
    router are added once, when another router ends the run (and the last run by
    `load_tally_end`). A pass's packets share a router (every one of them at the T0 in the
    second): bumped per packet, the two counters chained every packet through the same words
    (3-4 ns a packet at 1M pods). Returns the new (last, run, run_bytes)."""
    if r != last:
        if run:
            cn.router[0, last, 0] += run
            cn.router[0, last, 1] += run_bytes
        return r, 1, length
    return last, run + 1, run_bytes + length


@kernel(inline="always")
def load_tally_end(cn, last, run, run_bytes):
    """The last run of `load_tally`, added at the end of the pass."""
    if run:
        cn.router[0, last, 0] += run
        cn.router[0, last, 1] += run_bytes


ENDED, NEXT_ROUTER, CONNECTED = 0, 1, 2
"""Where `route_one` leaves a packet: ended (a verdict), at the next router, or on a connected
segment (the neighbor stage next)."""


@kernel(inline="always")
def route_one(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl, ahead):
    """One router hop of packet i in slot k (router ``s.r``, arrived on ``s.arrive``). Returns
    (where it goes, hairpin tunnel tried, it fit, its TEP pair, a route matched). The router's
    load is the caller's to count (`load_tally`), for a packet that reached the lookup."""
    r = np.int64(s.r[k])
    dst_ip = np.uint32(b.dst_ip[i])
    length = np.int64(b.length[i])
    rk = router_kind(dp, r)
    tried = fit = False
    tid = np.int64(-1)
    if dp.rtr_is_sr[r]:
        # a service router runs on its edge: a tunnel there unless the packet is on it already
        o.via_edge[i] = True
        eh = np.int64(dp.rtr_host[r])
        host = np.int64(s.host[k])
        if host != eh:
            tried = True
            fit, tid = encap(dp, o, cn, legs, n_legs, tr, tl, slot, i, length, host, eh,
                             np.int64(dp.rtr_transit_vni[r]), -1 - r)
            if not fit:
                drop(o, i, R_MTU, K_TUNNEL, tid)
                return ENDED, tried, fit, tid, False
            s.host[k] = eh
    rt = route_lookup(dp, r, dst_ip)
    ttl = np.int64(o.ttl_out[i])
    if rt < 0:
        if slot >= 0:
            rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
        drop(o, i, R_NO_ROUTE, rk, r)
        return ENDED, tried, fit, tid, False
    rkind = dp.route_kind[rt]
    if rkind == ROUTE_ECMP:
        rt = ecmp_pick(dp, b, i, rt)
        rkind = dp.route_kind[rt]
    if rkind == ROUTE_LB:  # stops for the load balancer's pass (`fastpath.dataplane.lb`), no record
        o.verdict[i] = V_DELIVERED
        o.dev_kind[i] = rk
        o.dev_id[i] = r
        o.egress_port[i] = lb_arrival(s.arrive[k])
        return ENDED, tried, fit, tid, True
    if rkind == ROUTE_LOCAL:
        if slot >= 0:
            rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
        o.hops[i] += 1
        o.last_ip[i] = dst_ip
        o.verdict[i] = V_DELIVERED
        o.dev_kind[i] = rk
        o.dev_id[i] = r
        return ENDED, tried, fit, tid, True
    o.hops[i] += 1
    o.last_ip[i] = s.arrive[k]
    if ttl <= 1:
        if slot >= 0:
            rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
        drop(o, i, R_TTL, rk, r)  # the time-exceeded comes from the address it arrived on
        return ENDED, tried, fit, tid, True
    ttl -= 1
    o.ttl_out[i] = ttl
    if slot >= 0 and rkind != ROUTE_CONNECTED:  # a connected route's hop is the neighbor's
        rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
    if rkind == ROUTE_ROUTER:
        s.arrive[k] = dp.route_arrive_ip[rt]
        s.r[k] = dp.route_arg[rt]
        return NEXT_ROUTER, tried, fit, tid, True
    if rkind == ROUTE_UPLINK:
        u = np.int64(dp.route_arg[rt])
        if slot >= 0:
            rec(tr, tl, slot, K_UPLINK, u, T_NONE, ttl)
        cn.uplink[0, u, 0] += 1
        cn.uplink[0, u, 1] += length
        o.verdict[i] = V_EXITED
        o.dev_kind[i] = K_UPLINK
        o.dev_id[i] = u
        return ENDED, tried, fit, tid, True
    # connected: the neighbor on that segment next
    seg = np.int64(dp.route_arg[rt])
    s.seg[k] = seg
    if ahead > 0:  # its ARP slot, fetched a stage ahead of the neighbor stage
        prefetch_neighbor(dp, seg, dst_ip)
    return CONNECTED, tried, fit, tid, True


@kernel
def route(b, dp, o, cn, s, base, vec, n, to_neighbor, n_nb, legs, n_legs, trace_slot, tr, tl, rc, ahead):
    """One router hop for each slot of ``vec[:n]`` (router ``s.r``, arrived on ``s.arrive``).
    Packets sent on to a next router stay in ``vec`` (compacted in place, order kept); those
    whose route is connected are appended to ``to_neighbor`` after its first ``n_nb`` (``s.seg``
    set); the rest end here. Returns (packets still routing, length of ``to_neighbor``)."""
    keep = 0
    enc_in = enc_hit = rt_in = rt_hit = 0
    last, run, run_bytes = np.int64(-1), 0, 0  # (`load_tally`)
    for j in range(n):
        k = vec[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        r = np.int64(s.r[k])
        to, tried, fit, tid, found = route_one(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl, ahead)
        enc_in, enc_hit = count_encap(rc, k, tried, fit, tid, enc_in, enc_hit)
        if not tried or fit:  # a packet that reached the lookup
            last, run, run_bytes = load_tally(cn, r, np.int64(b.length[i]), last, run, run_bytes)
            rt_in += 1
            rt_hit += found
            if rc is not None:
                note_router(rc, k, r, note(rc, k, S_ROUTE, found))
        if to == NEXT_ROUTER:
            vec[keep] = k
            keep += 1
        elif to == CONNECTED:
            to_neighbor[n_nb] = k
            n_nb += 1
    load_tally_end(cn, last, run, run_bytes)
    flush(cn.stages, S_ENCAP, enc_in, enc_hit)
    flush(cn.stages, S_ROUTE, rt_in, rt_hit)
    return keep, n_nb
