"""The fused data path: every stage of the modeled path in one numba loop per packet.

What?
-----
`forward_serial` pushes a `PacketBatch` through the compiled `Tables` and writes one verdict
per packet into `Results`, with the semantics of the reference walk
(`fastpath.reference.walk`), stage for stage:

    ingress sanity -> sender stack (ARP / gateway) -> OVS access port + MAC table -> VIF demux
    -> SpoofGuard -> DFW -> segment L2 -> [router: LPM, local, TTL, next hop]* -> neighbor
    -> segment L2 -> Geneve encap (MTU) -> DFW (uplink ingress) -> VIF mux -> OVS -> endpoint

Where it still runs
-------------------
The engine is staged (`fastpath.dataplane.graph`: the stages of
`fastpath.dataplane.stages` over vectors, behind a flow cache). This loop keeps a packet's
state in registers and touches each table once, which wins only where every table sits in the
caches and every packet must walk: measured on the seed scenario, the staged engine without
its cache ran 0.74-0.9x this loop (bench/RESULTS.md). So `Dataplane` runs it for calls that
trace or ask for the full leg log on cache-resident tables (`api.ENGINES`), and the tests hold
the two implementations to each other field for field. The shared codes, counters and OVS
helpers are the stages' (`stages.common`, `stages.ovs`). `_prefetch` routes a few packets
ahead to fetch their lines (speculatively: the fused loop does not know the next address yet).

Direct checks instead of probes
-------------------------------
Where the model pins a table's answer, the kernel computes it instead of probing: a pod
VLAN's OVS MAC table holds exactly the pod's MAC and the router MAC (and the frame's own
source, learned as it enters); OVS's reserved MACs are a few compares; every segment maps the
router MAC to its router port; the neighbor found by ARP is the port its MAC names. The
hash tables still answer everything else (unknown MACs, tagged frames from nodes, sparse
segments), and the differential tests hold both paths to the reference.

Tables
------
The kernel reads `fastpath.compile.kernel_view.KernelView` (``dp``), filled by name from the
compiled `Tables`; each table's layout is decoded by its own module's inlined accessors
(`fastpath.tables.ports`, `.neighbor`, `.dfw`, `.exact`, `.mtrie`), so nothing here knows a
packed bit, and nothing here reads the model.

Invariants (tests assert them)
------------------------------
- every packet gets exactly one verdict: sum(verdicts) == packets, and
  sum(reasons) == dropped;
- per stage: hits + misses == in (`STAGES`);
- every index derived from packet data (ingress id, VLAN, table results) is range-checked
  before it is used: garbage in any field gets a verdict, never an out-of-bounds read.

Counters
--------
Each worker owns row ``t`` of every counter array (no atomics, no races); `forward` sums the
rows afterwards. Loads are per device: host (tx/rx packets and underlay bytes), TEP pair (from
a log of tunnel legs the kernel appends to, folded afterwards),
router instance, uplink, segment.

Trace
-----
Compiled out when off: ``trace_slot`` is None then, a type of its own, so numba compiles a
version of `forward_serial` without tracing (its dead-branch pruning drops the ``is not None``
arm; ``slot`` is the constant -1 and every ``if slot >= 0`` at a hop folds away). Both
versions sit in the on-disk cache and are picked by the argument's type, at no cost per call
(literal dispatch on a flag was tried: ~5 ms a call to re-type the flag). On, packets with
``trace_slot[i] >= 0`` get `fastpath.dataplane.trace` records, hop for hop the reference's.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel, prefetch_row
from ..compile.kernel_view import DEEP_PREFETCH_BYTES, KernelView, kernel_view  # noqa: F401  (re-exported)
from ..compile.routers import ROUTE_CONNECTED, ROUTE_ECMP, ROUTE_LB, ROUTE_LOCAL, ROUTE_ROUTER, ROUTE_UPLINK
from ..compile.switching import L2_ROUTER, OVS_UPLINK
from ..tables.neighbor import dense_slot, neighbor
from ..tables.ports import port_host, port_ip, port_mac, port_node, port_segment
from .trace import (T_ARP, T_DFW, T_LOCAL, T_MTU, T_NEIGHBOR, T_NONE, T_OVS_MAC, T_OVS_PORT,
                    T_PORT, T_ROUTE, T_SANITY, T_SEGMENT_L2, T_SPOOFGUARD, T_TEP, T_VIF)
from .stages.common import (  # noqa: F401  (re-exported: the codes and counters every kernel shares)
    C_HIT, C_IN, C_MISS, ETH_HEADER, K_EDGE, K_NODE, K_OVS, K_POD, K_PORT, K_SEGMENT, K_T0, K_T1, K_TUNNEL,
    K_UPLINK, K_VIF, LEG_BYTES, LEG_COLS, LEG_PACKET, LEG_TEP, LEG_TO, LEG_TTL, LEG_VNI, MAX_LEGS, MAX_VID,
    MIN_IP_PACKET, N_REASONS, N_VERDICTS, R_DFW, R_LEARNED, R_MAC, R_MALFORMED, R_MTU, R_NO_NEIGHBOR, R_NO_ROUTE,
    R_NONE, R_RESERVED, R_SPOOF, R_TTL, R_VLAN, S_ARP, S_DFW, S_ENCAP, S_L2, S_NEIGH, S_OVS, S_OVS_EGRESS, S_ROUTE,
    S_SPOOF, S_VIF, STAGES, V_DELIVERED, V_DROPPED, V_EXITED, Counters, add_legs, make_counters)
from .stages.common import exact_probe, rec
from .stages.dfw import dfw_at_receiver
from .stages.dfw import dfw_decide as _dfw_decide_inline
from .stages.ingress import ingress_port, router_entry
from .stages.route import ecmp_pick, lb_arrival, route_lookup
from .stages.ovs import ovs_own_source as _ovs_own_source, ovs_reserved as _ovs_reserved
from .stages.tunnel import log_leg

RING = 16
"""Prefetch hints in flight (a power of two above the farthest look-ahead, 8)."""


# ---- helpers -------------------------------------------------------------------------------------------
# The hot helpers (ports, trie, neighbor, DFW, counters) are inlined into the kernel (numba IR
# inlining: seconds more cold compile, ~1.5x the speed). The hash probe and the trace writer
# (`stages.common.exact_probe`, `stages.common.rec`) stay calls with one explicit signature each.


dfw_decide = kernel(_dfw_decide_inline.py_func)
"""The DFW stage's `dfw_decide` as a call, not inlined: its classifier loops inlined into this
loop cost every packet ~45 ns on the seed (measured: 78 -> 123 ns a walked packet)."""


@kernel(inline="always")
def _route(dp, r, ip):
    return route_lookup(dp, r, ip)

@kernel(inline="always")
def _stage(st, w, stage, hit):
    st[w, stage, C_IN] += 1
    if hit:
        st[w, stage, C_HIT] += 1
    else:
        st[w, stage, C_MISS] += 1


# ---- one packet ---------------------------------------------------------------------------------------
@kernel(inline="always")
def _encap(dp, cn, w, legs, n_legs, tr, tl, slot, i, src, dst, length, ov, ttl, vni, to):
    """Geneve from host ``src`` to host ``dst`` (to logical port ``to``, or -1 - r to an edge's
    service router r): the MTU check with its stage counter and trace record, and when the
    packet fits, the leg's loads. Returns (TEP pair id, outer frame bytes); bytes 0 = too big."""
    tid = src * dp.n_hosts + dst
    fits = length + ov <= min(dp.host_mtu[src], dp.host_mtu[dst])
    _stage(cn.stages, w, S_ENCAP, fits)
    if slot >= 0:
        rec(tr, tl, slot, K_TUNNEL, tid, T_TEP if fits else T_MTU, ttl)
    if not fits:
        return tid, np.int64(0)
    fb = length + ov + ETH_HEADER
    log_leg(cn, legs, n_legs, src, dst, tid, fb, i, vni, ttl, to)
    return tid, fb


@kernel(inline="always")
def _prefetch(b, dp, i, n, ring):
    """Software pipeline of prefetches for the big tables (a cluster whose ports and ARP arrays
    overflow the caches): packet i+16's source port; packet i+8's ARP slot, found by routing
    its destination from the source's segment through the (cache-resident) trie; packet i+4's
    destination port, read from that slot. Hints only: the walk itself never depends on them.
    """
    a = i + 16
    if a < n:
        p = ingress_port(b, dp, a)
        if p >= 0:
            prefetch_row(dp.port_rec, p)
    h = i + 8
    if h < n:
        slot = np.int64(-1)
        p = ingress_port(b, dp, h)
        if p >= 0:
            seg = port_segment(dp.port_rec, p)
            dst = np.uint32(b.dst_ip[h])
            if (dst & dp.seg_mask[seg]) != dp.seg_net[seg]:
                r = np.int64(dp.seg_router[seg])
                seg = -1
                for _ in range(8):
                    rt = _route(dp, r, dst)
                    if rt < 0:
                        break
                    kind = dp.route_kind[rt]
                    if kind == ROUTE_ROUTER:
                        r = np.int64(dp.route_arg[rt])
                        continue
                    if kind == ROUTE_CONNECTED:
                        seg = np.int64(dp.route_arg[rt])
                    break
            if seg >= 0:
                slot = dense_slot(dp, seg, dst)
                if slot >= 0:
                    prefetch_row(dp.neighbor_dense, slot)
        ring[h & (RING - 1)] = slot
    d = i + 4
    if d < n:
        slot = ring[d & (RING - 1)]
        if 0 <= slot < dp.neighbor_dense.shape[0]:
            nb = dp.neighbor_dense[slot]
            if nb >= 0:
                prefetch_row(dp.port_rec, nb)


@kernel
def forward_serial(b, dp, o, cn, trace_slot, tr, tl, legs, n_legs, ring):
    """Forward every packet of ``b`` on worker row 0. One loop, the stages of one packet in its
    body: no call per packet, and the tables' NamedTuple is never copied into a callee.
    ``legs``/``n_legs``: the tunnel-leg log (`LEG_COLS`) and its length (it keeps counting
    past the capacity, so an overflow is seen); ``ring``: int64[RING] prefetch hints, all -1
    on entry (a slot is read 4 packets after it is written; the first reads find -1)."""
    w = 0
    n = b.ingress_kind.shape[0]
    for i in range(n):
        if dp.deep_prefetch:
            _prefetch(b, dp, i, n, ring)
        slot = np.int64(-1)
        if trace_slot is not None:  # None: pruned at compile time, slot stays -1, no trace code
            slot = np.int64(trace_slot[i])
        kind = np.int64(b.ingress_kind[i])
        iid = np.int64(b.ingress_id[i])
        ttl = np.int64(b.ttl[i])
        length = np.int64(b.length[i])
        vlan = np.int64(b.vlan[i])
        src_ip = np.uint32(b.src_ip[i])
        dst_ip = np.uint32(b.dst_ip[i])
        src_mac = np.uint64(b.src_mac[i])
        dst_mac = np.uint64(b.dst_mac[i])
        ov = dp.geneve_overhead

        verdict = V_DROPPED
        reason = R_NONE
        dkind = K_POD
        dev = np.int64(-1)
        egress = np.int64(-1)
        hops = 0
        n_tun = 0
        t_src = np.int64(-1)
        t_dst = np.int64(-1)
        t_vni = np.int64(0)
        ubytes = np.int64(0)
        via_edge = False
        dfw_done = False
        o.dfw_at_src[i] = -1
        o.dfw_at_dst[i] = -1
        host = np.int64(-1)
        port = np.int64(-1)  # logical port to deliver to
        seg = np.int64(-1)
        r = np.int64(-1)  # router instance to route at
        arrive = np.uint32(0)
        last_ip = np.uint32(0)
        done = False
        sane = 0 < ttl and MIN_IP_PACKET <= length and vlan <= MAX_VID

        # ---- ingress ------------------------------------------------------------------------------------
        if kind == K_UPLINK:
            dkind = K_UPLINK
            if iid < 0 or iid >= dp.uplink_ip.shape[0]:
                reason = R_MALFORMED
                done = True
            else:
                dev = iid
                reason = router_entry(b, i, K_UPLINK, iid, ttl, slot, tr, tl)
                done = reason != R_NONE
                if not done:
                    if slot >= 0:
                        rec(tr, tl, slot, K_UPLINK, iid, T_NONE, ttl)
                    dst_mac = dp.router_mac
                    r = np.int64(dp.uplink_router[iid])
                    host = np.int64(dp.uplink_host[iid])
                    arrive = dp.uplink_ip[iid]
        elif kind == K_POD or kind == K_NODE:
            dkind = kind
            n_ep = dp.n_pods if kind == K_POD else dp.n_nodes
            if iid < 0 or iid >= n_ep:
                reason = R_MALFORMED
                done = True
            else:
                dev = iid
                lp = iid if kind == K_POD else dp.n_pods + iid
                host = port_host(dp.port_rec, lp)
                seg = port_segment(dp.port_rec, lp)
                own_mac = port_mac(dp.port_rec, lp)
                own_ip = port_ip(dp.port_rec, lp)
                if not sane:
                    if slot >= 0:
                        rec(tr, tl, slot, kind, iid, T_SANITY, ttl)
                    reason = R_MALFORMED
                    done = True
                if not done:
                    if src_mac == 0:
                        src_mac = own_mac
                    if dst_ip == src_ip and src_ip == own_ip and dst_mac == 0:
                        if slot >= 0:
                            rec(tr, tl, slot, kind, iid, T_LOCAL, ttl)
                        verdict = V_DELIVERED
                        done = True
                if not done:
                    # sender stack: ARP for on-link destinations, else the gateway
                    if dst_mac == 0:
                        if (dst_ip & dp.seg_mask[seg]) == dp.seg_net[seg] and dst_ip != dp.seg_gateway[seg]:
                            nb = neighbor(dp, seg, dst_ip)
                            _stage(cn.stages, w, S_ARP, nb >= 0)
                            if slot >= 0:
                                rec(tr, tl, slot, kind, iid, T_ARP, ttl)
                            if nb < 0:
                                reason = R_NO_NEIGHBOR
                                done = True
                            else:
                                dst_mac = port_mac(dp.port_rec, nb)
                        else:
                            if slot >= 0:
                                rec(tr, tl, slot, kind, iid, T_ROUTE, ttl)
                            dst_mac = dp.router_mac
                    else:
                        if slot >= 0:
                            rec(tr, tl, slot, kind, iid, T_NONE, ttl)
                if not done:
                    node = port_node(dp.port_rec, lp)
                    if kind == K_POD:
                        # OVS: access port in VLAN = the pod's tag; tagged frames are discarded
                        if vlan != 0:
                            if slot >= 0:
                                rec(tr, tl, slot, K_OVS, node, T_OVS_PORT, ttl)
                            dkind = K_OVS
                            dev = node
                            reason = R_VLAN
                            done = True
                        else:
                            # NORMAL (the reference's module docstring): a reserved destination drops;
                            # one learned on the pod's port (its own MAC, or the frame's own source,
                            # learned first) drops; anything else leaves by the trunk. The MAC table
                            # of a pod's VLAN holds the pod's MAC and the router MAC: checked
                            # directly, no probe
                            reserved = _ovs_reserved(dst_mac)
                            hit = np.int64(-1)
                            if not reserved:
                                if dst_mac == own_mac or _ovs_own_source(dst_mac, src_mac):
                                    hit = lp
                                elif dst_mac == dp.router_mac:
                                    hit = OVS_UPLINK
                            _stage(cn.stages, w, S_OVS, hit != -1)
                            if slot >= 0:
                                rec(tr, tl, slot, K_OVS, node, T_OVS_MAC, ttl)
                            if reserved or hit == lp:
                                dkind = K_OVS
                                dev = node
                                reason = R_RESERVED if reserved else R_LEARNED
                                done = True
                            else:
                                if slot >= 0:
                                    rec(tr, tl, slot, K_VIF, node, T_VIF, ttl)
                    elif vlan != 0:
                        # a node's tagged frame: the VIF demuxes it to the pod port with that tag
                        pp = exact_probe(dp.vif_buckets, dp.vif_seed, np.uint64(node), np.uint64(vlan))
                        _stage(cn.stages, w, S_VIF, pp >= 0)
                        if slot >= 0:
                            rec(tr, tl, slot, K_VIF, node, T_VIF, ttl)
                        if pp < 0 or pp >= dp.n_pods:
                            dkind = K_VIF
                            dev = node
                            reason = R_VLAN
                            done = True
                        else:
                            lp = pp
                            seg = port_segment(dp.port_rec, lp)
                    else:
                        if slot >= 0:
                            rec(tr, tl, slot, K_VIF, node, T_VIF, ttl)
                if not done:
                    # logical port: SpoofGuard, then the DFW
                    ok = src_mac == port_mac(dp.port_rec, lp) and src_ip == port_ip(dp.port_rec, lp)
                    _stage(cn.stages, w, S_SPOOF, ok)
                    if not ok:
                        if slot >= 0:
                            rec(tr, tl, slot, K_PORT, lp, T_SPOOFGUARD, ttl)
                        dkind = K_PORT
                        dev = lp
                        reason = R_SPOOF
                        done = True
                    else:
                        dec, _t = dfw_decide(b, dp, i, lp, True)
                        _stage(cn.stages, w, S_DFW, dec != dp.dfw_local + 1)
                        o.dfw_at_src[i] = dec
                        cn.dfw[w, dec, 0] += 1
                        if slot >= 0:
                            rec(tr, tl, slot, K_PORT, lp, T_DFW, ttl)
                        dfw_done = True
                        if dp.dfw_decision_allow[dec] == 0:
                            dkind = K_PORT
                            dev = lp
                            reason = R_DFW
                            done = True
                if not done:
                    # segment L2 on the port's segment
                    # every segment's MAC table maps the router MAC to the router port
                    l2 = L2_ROUTER if dst_mac == dp.router_mac else exact_probe(dp.segment_l2_buckets, dp.segment_l2_seed, np.uint64(seg), dst_mac)
                    _stage(cn.stages, w, S_L2, l2 != -1)
                    cn.segment[w, seg, 0] += 1
                    cn.segment[w, seg, 1] += length
                    if slot >= 0:
                        rec(tr, tl, slot, K_SEGMENT, seg, T_SEGMENT_L2, ttl)
                    if l2 == L2_ROUTER:
                        r = dp.seg_router[seg]
                        arrive = dp.seg_gateway[seg]
                    elif l2 < 0:
                        dkind = K_SEGMENT
                        dev = seg
                        reason = R_MAC
                        done = True
                    else:
                        port = l2
        elif kind == K_EDGE:  # handed to a service router: the load balancer's pass (`dataplane.lb`)
            dkind = K_EDGE
            if iid < 0 or iid >= dp.n_routers or not dp.rtr_is_sr[iid]:
                reason = R_MALFORMED
                done = True
            else:
                dev = iid
                reason = router_entry(b, i, K_EDGE, iid, ttl, slot, tr, tl)
                done = reason != R_NONE
                if not done:
                    arrive = np.uint32(dst_mac)  # (its dst_mac: the address it arrived on)
                    dfw_done = src_mac != 0  # (its src_mac: whether the sender's DFW judged it)
                    src_mac = dp.router_mac
                    dst_mac = dp.router_mac
                    r = iid
                    host = np.int64(dp.rtr_host[iid])
        else:
            reason = R_MALFORMED
            done = True

        # ---- routers ----------------------------------------------------------------------------------
        while not done and r >= 0:
            rk = K_EDGE if dp.rtr_is_sr[r] else np.int64(dp.rtr_kind[r])
            if dp.rtr_is_sr[r]:
                via_edge = True
                eh = np.int64(dp.rtr_host[r])
                if host != eh:
                    vni = np.int64(dp.rtr_transit_vni[r])
                    tid, fb = _encap(dp, cn, w, legs, n_legs, tr, tl, slot, i, host, eh, length, ov, ttl, vni, -1 - r)
                    if fb == 0:
                        dkind = K_TUNNEL
                        dev = tid
                        reason = R_MTU
                        done = True
                        break
                    n_tun += 1
                    ubytes += fb
                    t_src, t_dst, t_vni = host, eh, vni
                    host = eh
            cn.router[w, r, 0] += 1
            cn.router[w, r, 1] += length
            rt = _route(dp, r, dst_ip)
            _stage(cn.stages, w, S_ROUTE, rt >= 0)
            if rt < 0:
                if slot >= 0:
                    rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
                dkind = rk
                dev = r
                reason = R_NO_ROUTE
                done = True
                break
            rkind = dp.route_kind[rt]
            if rkind == ROUTE_ECMP:
                rt = ecmp_pick(dp, b, i, rt)
                rkind = dp.route_kind[rt]
            if rkind == ROUTE_LB:  # stops for the load balancer's pass (`fastpath.dataplane.lb`)
                dkind = rk
                dev = r
                egress = np.int64(lb_arrival(arrive))
                verdict = V_DELIVERED
                done = True
                break
            if rkind == ROUTE_LOCAL:
                if slot >= 0:
                    rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
                hops += 1
                last_ip = dst_ip
                dkind = rk
                dev = r
                verdict = V_DELIVERED
                done = True
                break
            if ttl <= 1:
                if slot >= 0:
                    rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
                hops += 1
                last_ip = arrive  # the time-exceeded comes from the address it arrived on
                dkind = rk
                dev = r
                reason = R_TTL
                done = True
                break
            ttl -= 1
            hops += 1
            last_ip = arrive
            if rkind == ROUTE_ROUTER:
                if slot >= 0:
                    rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
                arrive = dp.route_arrive_ip[rt]
                r = np.int64(dp.route_arg[rt])
                continue
            if rkind == ROUTE_UPLINK:
                if slot >= 0:
                    rec(tr, tl, slot, rk, r, T_ROUTE, ttl)
                u = np.int64(dp.route_arg[rt])
                if slot >= 0:
                    rec(tr, tl, slot, K_UPLINK, u, T_NONE, ttl)
                cn.uplink[w, u, 0] += 1
                cn.uplink[w, u, 1] += length
                dkind = K_UPLINK
                dev = u
                verdict = V_EXITED
                done = True
                break
            # connected: the neighbor on the segment, then that segment's L2
            s2 = np.int64(dp.route_arg[rt])
            nb = neighbor(dp, s2, dst_ip)
            _stage(cn.stages, w, S_NEIGH, nb >= 0)
            if slot >= 0:
                rec(tr, tl, slot, rk, r, T_NEIGHBOR, ttl)
            if nb < 0:
                dkind = rk
                dev = r
                reason = R_NO_NEIGHBOR
                done = True
                break
            src_mac = dp.router_mac
            dst_mac = port_mac(dp.port_rec, nb)
            seg = s2
            # the segment's MAC table maps the neighbor's MAC to the neighbor's port: no probe
            l2 = nb
            _stage(cn.stages, w, S_L2, True)
            cn.segment[w, seg, 0] += 1
            cn.segment[w, seg, 1] += length
            if slot >= 0:
                rec(tr, tl, slot, K_SEGMENT, seg, T_SEGMENT_L2, ttl)
            if l2 < 0 or l2 == L2_ROUTER:
                dkind = K_SEGMENT
                dev = seg
                reason = R_MAC
                done = True
                break
            port = l2
            r = -1

        # ---- delivery to a logical port -------------------------------------------------------------------
        if not done and port >= 0:
            dh = port_host(dp.port_rec, port)
            if dh != host:
                vni = np.int64(dp.seg_vni[seg])
                tid, fb = _encap(dp, cn, w, legs, n_legs, tr, tl, slot, i, host, dh, length, ov, ttl, vni, port)
                if fb == 0:
                    dkind = K_TUNNEL
                    dev = tid
                    reason = R_MTU
                    done = True
                else:
                    n_tun += 1
                    ubytes += fb
                    t_src, t_dst, t_vni = host, dh, vni
                    host = dh
            if not done and (not dfw_done or dfw_at_receiver(b, dp, i, port)):
                dec, _t = dfw_decide(b, dp, i, port, False)
                _stage(cn.stages, w, S_DFW, dec != dp.dfw_local + 1)
                o.dfw_at_dst[i] = dec
                cn.dfw[w, dec, 1] += 1
                if slot >= 0:
                    rec(tr, tl, slot, K_PORT, port, T_DFW, ttl)
                if dp.dfw_decision_allow[dec] == 0:
                    dkind = K_PORT
                    dev = port
                    reason = R_DFW
                    done = True
            if not done:
                node = port_node(dp.port_rec, port)
                if slot >= 0:
                    rec(tr, tl, slot, K_VIF, node, T_PORT, ttl)
                if port >= dp.n_pods:
                    if slot >= 0:
                        rec(tr, tl, slot, K_NODE, node, T_NONE, ttl)
                    hops += 1
                    last_ip = dst_ip
                    dkind = K_NODE
                    dev = node
                    egress = port
                    verdict = V_DELIVERED
                else:
                    # the bridge, in on the trunk: reserved and own-source drops, then the pod VLAN's
                    # MAC table (the pod's MAC is its port) or a flood to that port, the only other
                    pod_mac = port_mac(dp.port_rec, port)
                    reserved = _ovs_reserved(dst_mac)
                    looped = not reserved and _ovs_own_source(dst_mac, src_mac)
                    _stage(cn.stages, w, S_OVS_EGRESS, not reserved and (looped or dst_mac == pod_mac))
                    if slot >= 0:
                        rec(tr, tl, slot, K_OVS, node, T_OVS_MAC, ttl)
                    if reserved or looped:
                        dkind = K_OVS
                        dev = node
                        reason = R_RESERVED if reserved else R_LEARNED
                    elif dst_mac != pod_mac:  # flooded to the pod, whose stack discards it
                        if slot >= 0:
                            rec(tr, tl, slot, K_POD, port, T_NONE, ttl)
                        dkind = K_POD
                        dev = port
                        reason = R_MAC
                    else:
                        if slot >= 0:
                            rec(tr, tl, slot, K_POD, port, T_NONE, ttl)
                        hops += 1
                        last_ip = dst_ip
                        dkind = K_POD
                        dev = port
                        egress = port
                        verdict = V_DELIVERED

        if reason != R_NONE:
            verdict = V_DROPPED
        o.verdict[i] = verdict
        o.reason[i] = reason
        o.dev_kind[i] = dkind
        o.dev_id[i] = dev
        o.egress_port[i] = egress
        o.ttl_out[i] = ttl
        o.hops[i] = hops
        o.last_ip[i] = last_ip
        o.n_tunnels[i] = n_tun
        o.tun_src_host[i] = t_src
        o.tun_dst_host[i] = t_dst
        o.tun_vni[i] = t_vni
        o.underlay_bytes[i] = ubytes
        o.via_edge[i] = via_edge
        cn.verdicts[w, verdict] += 1
        cn.reasons[w, reason] += 1
