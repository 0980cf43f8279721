#!/usr/bin/env python
"""Fused vs staged: the pipeline rebuilt VPP-style (stage by stage over packet vectors), checked
against the fused kernel field for field, then both timed on the same batches.

    python bench/staged.py              # default scenario, 1M pods, 4k/25k/100k pods; checks first: ~3 min
    python bench/staged.py --quick      # smoke run: 100k pods instead of 1M, 64k-packet batches (< 1 min)
    python bench/staged.py --markdown out.md

(History: this experiment decided issue 10. The engine is now staged — the stages of
`fastpath/dataplane/stages/` over vectors, behind a flow cache — and `bench/stages.py` measures
it; this file still runs, as the record of the first comparison.)

What?
-----
The issue left "fused per packet or staged over vectors (VPP style)" to measurement. The engine
was fused (`fastpath.dataplane.pipeline.forward_serial`: one loop, every stage of one packet in
its body). This file is the other design, as a benchmark experiment: the same semantics, the
same helpers (`tables.neighbor.neighbor`, `route_lookup`, `tables.dfw.first_match`, `exact_probe`, the
accessors of `tables.ports`), the same counters, cut into nodes that each run over a vector
of packets and hand the survivors on:

    ingress ──> segment_l2 ──┬──> route pass ─┐ (one router hop per pass, until the vector is empty)
                             │        ^───────┘
                             │        └──> neighbor ──┐
                             └────────────────────────┴──> delivery ──> count

- ``ingress``: port record of the source -> host, segment, own MAC/IP; the sender stack (ARP on
  the dense/hash neighbor table for on-link destinations, else the router MAC); the source OVS
  MAC check; SpoofGuard; DFW. Survivors' slots go to the segment-L2 vector.
- ``segment_l2``: the router MAC -> the route vector (router instance, arrival address);
  any other MAC -> the segment's MAC table -> the delivery vector (compaction into two).
- ``route pass``: ONE hop for every packet still routing: a service router's hairpin tunnel to
  its edge, trie lookup, local / TTL / next router / uplink / connected. Next-router packets
  stay (the vector is compacted in place); connected ones go to the neighbor vector.
- ``neighbor``: ARP on the connected segment; the port found goes to the delivery vector.
- ``delivery``: the destination's port record, Geneve encap (MTU), tunnel log and host
  counters, the egress OVS check.
- ``count``: verdict and reason counters over the vector.

A node writes its packets' state and never moves them: the result columns (`Results`, indexed
by batch position) double as the packets' metadata (VPP's buffer opaque), plus a scratch of
the fields that are not results (`Scratch`: host, segment, router, arrival address, MAC,
port), indexed by slot in the vector. Vectors are int32 slot lists. Stage counters live in
locals and are flushed once per node call; device counters are per packet, as in the fused
kernel. `forward_staged` is the graph runner: a jitted loop over vectors calling the nodes (not
inlined: separate functions, like VPP nodes), so no Python per vector.

Scope
-----
Valid traffic of the benchmark: pod -> pod, any host and namespace, untagged, MACs 0 (or
correct), TTL > 0, IPv4 length >= 28 (`check_scope` raises otherwise). Everything that can
happen to such packets is modelled: DFW denies, ARP misses, SR hairpins through the edge, MTU
drops, TTL expiry, no-route, uplink exits. Not modelled: node and uplink ingress, VLAN-tagged
frames, garbage fields, the trace — the fused kernel's branches for those are never taken by
this traffic.

Prefetch variant
----------------
``ahead`` = D > 0: a node hints the row its element D places ahead will read: ingress the
source's port record, neighbor the ARP slot, delivery the destination's port record. Unlike
the fused kernel's pipeline (`pipeline._prefetch`, which re-routes packet i+8 through the trie
speculatively to find its ARP slot), every address is known exactly: the node before computed
it. That is the staged design's claimed advantage on big tables. The route pass has none: a
root-entry and a two-level (root, then child) trie prefetch were tried on the 1M-pod cluster
and changed nothing measurable (route passes 56 - 68 ns a packet with or without; the 1.5 MB
trie is L3-resident). D = 8 was the best or near it of 4 / 8 / 16 / 32 on the 1M-pod cluster
(16 and 32 were slower at every vector size). Each node also hints its first D elements before
its loop (a prologue), so a vector's first misses overlap instead of queueing.

Check, then time
----------------
Before timing, every result column and every counter (verdicts, reasons, stages, host, TEP
pair after the leg fold, router, uplink, segment) of every staged configuration (and vectors
of 1 and 7 packets) must equal `Dataplane(c).forward(batch)`'s on: the benchmark's path
traffic (pod -> pod on another host in another namespace); an any-pair batch (same/other
host and namespace, a pod to itself, lengths 28..1500, TCP/UDP); an edge-case batch (TTL 1..6,
unused and outside destinations: TTL expiry, ARP misses, router-local and exited verdicts) —
on the default scenario, a medium generated cluster with service routers, 20 DFW rules and
mixed MTUs (MTU drops), the big one and the crossover clusters. Timing calls the kernels
directly with buffers allocated once (`forward_serial` + `add_legs` for the fused;
`forward_staged` + `add_legs`), one thread, configurations in round robin (a slow spell of the
shared machine hits all alike), best of ``--rounds`` after a warm-up call; the median is
shown beside it. ``Dataplane.forward`` (fresh results and leg log each call, counters given)
is timed too.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import numpy as np
import workload

from fastpath._jit import kernel, prefetch_row
from fastpath.compile.routers import ROUTE_LOCAL, ROUTE_ROUTER, ROUTE_UPLINK
from fastpath.compile.switching import L2_ROUTER, OVS_UPLINK
from fastpath.dataplane import pipeline
from fastpath.dataplane.api import Dataplane
from fastpath.dataplane.pipeline import (
    ETH_HEADER,
    K_EDGE,
    K_NODE,
    K_OVS,
    K_POD,
    K_PORT,
    K_SEGMENT,
    K_TUNNEL,
    K_UPLINK,
    MIN_IP_PACKET,
    R_DFW,
    R_LEARNED,
    R_MAC,
    R_MTU,
    R_NO_NEIGHBOR,
    R_NO_ROUTE,
    R_NONE,
    R_RESERVED,
    R_SPOOF,
    R_TTL,
    S_ARP,
    S_DFW,
    S_ENCAP,
    S_L2,
    S_NEIGH,
    S_OVS,
    S_OVS_EGRESS,
    S_ROUTE,
    S_SPOOF,
    V_DELIVERED,
    V_DROPPED,
    V_EXITED,
    Counters,
)
from fastpath.dataplane.stages.common import drop, exact_probe, flush
from fastpath.dataplane.stages.ovs import ovs_own_source, ovs_reserved
from fastpath.dataplane.stages.route import route_lookup
from fastpath.dataplane.stages.tunnel import log_leg
from fastpath.dataplane.trace import MAX_HOPS
from fastpath.model import generate
from fastpath.tables.dfw import first_match as dfw_first_match
from fastpath.tables.neighbor import neighbor, prefetch_neighbor
from fastpath.tables.ports import port_host, port_ip, port_mac, port_node, port_segment
from fastpath.packets import (
    INGRESS_POD,
    PacketBatch,
    Results,
    empty_results,
    make_batch,
)

WHOLE = 0
"""Vector size meaning "the whole batch is one vector"."""
VECTOR_SIZES = (64, 256, 1024, WHOLE)
PREFETCH_AHEAD = 8
"""Prefetch distance of the staged nodes, in vector elements (module docstring)."""
FUSED_RING = pipeline.RING
NEIGHBOR_MAC = np.uint64(1 << 63)
"""`Scratch.dst_mac` of a packet the neighbor node resolved: "the MAC of the port it names" (no
48-bit MAC equals it). The neighbor node leaves the port record alone, so a packet's
destination record is read once, by the delivery node, which can prefetch it."""


class Scratch(NamedTuple):
    """Per-slot state between nodes that is not a result column (slot = position in the vector)."""

    host: np.ndarray  # int32[V] — host the packet is on now
    seg: np.ndarray  # int32[V] — segment it is switched on
    r: np.ndarray  # int32[V] — router instance to route at
    arrive: np.ndarray  # uint32[V] — address it arrived on at that router
    dst_mac: np.ndarray  # uint64[V] — destination MAC of the frame
    port: np.ndarray  # int32[V] — logical port to deliver to


class Vectors(NamedTuple):
    """The frames between nodes: slot lists (int32[V] each)."""

    to_l2: np.ndarray
    to_route: np.ndarray
    to_neighbor: np.ndarray
    to_port: np.ndarray


def make_scratch(v: int) -> Scratch:
    return Scratch(np.zeros(v, np.int32), np.zeros(v, np.int32), np.zeros(v, np.int32), np.zeros(v, np.uint32),
                   np.zeros(v, np.uint64), np.zeros(v, np.int32))


def make_vectors(v: int) -> Vectors:
    return Vectors(*(np.zeros(v, np.int32) for _ in range(4)))


# ---- nodes ---------------------------------------------------------------------------------------------
@kernel(inline="always")
def _hint_source(b, dp, i):
    prefetch_row(dp.port_rec, np.int64(b.ingress_id[i]))


@kernel(inline="always")
def _hint_arp(b, dp, s, base, k):
    prefetch_neighbor(dp, np.int64(s.seg[k]), np.uint32(b.dst_ip[base + k]))


@kernel(inline="always")
def _hint_port(dp, s, k):
    prefetch_row(dp.port_rec, np.int64(s.port[k]))


@kernel
def ingress_node(b, dp, o, cn, s, base, m, to_l2, ahead):
    """Packets base..base+m-1 (slots 0..m-1): initialise their result columns, run the source
    side (sender stack, source OVS, SpoofGuard, DFW). Writes the survivors' slots to ``to_l2``
    and returns how many. Measured (whole batch, path traffic): ~25 ns a packet on the seed
    scenario; ~220 at 1M pods without prefetch (a DRAM miss on the source record, exposed),
    ~50 with."""
    n_total = b.ingress_kind.shape[0]
    arp_in = arp_hit = ovs_in = ovs_hit = spoof_in = spoof_hit = dfw_in = dfw_hit = 0
    out = 0
    if ahead > 0:  # prologue: the first elements' misses overlap instead of queueing
        for k in range(min(ahead, m)):
            _hint_source(b, dp, base + k)
    for k in range(m):
        i = base + k
        if ahead > 0 and i + ahead < n_total:
            _hint_source(b, dp, i + ahead)
        lp = np.int64(b.ingress_id[i])
        host = port_host(dp.port_rec, lp)
        seg = port_segment(dp.port_rec, lp)
        own_mac = port_mac(dp.port_rec, lp)
        own_ip = port_ip(dp.port_rec, lp)
        src_ip = np.uint32(b.src_ip[i])
        dst_ip = np.uint32(b.dst_ip[i])
        src_mac = np.uint64(b.src_mac[i])
        dst_mac = np.uint64(b.dst_mac[i])
        o.verdict[i] = V_DROPPED
        o.reason[i] = R_NONE
        o.dev_kind[i] = K_POD
        o.dev_id[i] = lp
        o.egress_port[i] = -1
        o.ttl_out[i] = b.ttl[i]
        o.hops[i] = 0
        o.last_ip[i] = 0
        o.n_tunnels[i] = 0
        o.tun_src_host[i] = -1
        o.tun_dst_host[i] = -1
        o.tun_vni[i] = 0
        o.underlay_bytes[i] = 0
        o.via_edge[i] = False
        if src_mac == 0:
            src_mac = own_mac
        if dst_ip == src_ip and src_ip == own_ip:
            o.verdict[i] = V_DELIVERED  # to itself: its own stack answers
            continue
        if dst_mac == 0:  # the sender stack: ARP for on-link destinations, else the gateway
            if (dst_ip & dp.seg_mask[seg]) == dp.seg_net[seg] and dst_ip != dp.seg_gateway[seg]:
                nb = neighbor(dp, seg, dst_ip)
                arp_in += 1
                if nb < 0:
                    o.reason[i] = R_NO_NEIGHBOR
                    continue
                arp_hit += 1
                dst_mac = port_mac(dp.port_rec, nb)
            else:
                dst_mac = dp.router_mac
        # the source OVS (untagged pod frame, NORMAL): reserved MACs drop; the pod's MAC, or the frame's
        # own source, is learned on its port (drop); the router MAC is on the trunk (the uplink)
        reserved = ovs_reserved(dst_mac)
        hit = -1
        if not reserved:
            if dst_mac == own_mac or ovs_own_source(dst_mac, src_mac):
                hit = lp
            elif dst_mac == dp.router_mac:
                hit = OVS_UPLINK
        ovs_in += 1
        if hit != -1:
            ovs_hit += 1
        if reserved or hit == lp:
            drop(o, i, R_RESERVED if reserved else R_LEARNED, K_OVS, port_node(dp.port_rec, lp))
            continue
        spoof_in += 1
        if not (src_mac == own_mac and src_ip == own_ip):
            drop(o, i, R_SPOOF, K_PORT, lp)
            continue
        spoof_hit += 1
        deny, matched = dfw_first_match(dp.dfw_src_net, dp.dfw_src_mask, dp.dfw_dst_net, dp.dfw_dst_mask, dp.dfw_proto,
                             dp.dfw_dport_lo, dp.dfw_dport_hi, dp.dfw_action, dp.dfw_default, src_ip, dst_ip,
                             np.int64(b.proto[i]), np.int64(b.dport[i]))
        dfw_in += 1
        if matched:
            dfw_hit += 1
        if deny:
            drop(o, i, R_DFW, K_PORT, lp)
            continue
        s.host[k] = host
        s.seg[k] = seg
        s.dst_mac[k] = dst_mac
        to_l2[out] = k
        out += 1
    flush(cn.stages, S_ARP, arp_in, arp_hit)
    flush(cn.stages, S_OVS, ovs_in, ovs_hit)
    flush(cn.stages, S_SPOOF, spoof_in, spoof_hit)
    flush(cn.stages, S_DFW, dfw_in, dfw_hit)
    return out


@kernel
def segment_l2_node(b, dp, o, cn, s, base, vin, n_in, to_route, to_port):
    """The source segment's MAC table for the slots ``vin[:n_in]``: the router MAC -> ``to_route``
    (router instance and arrival address set), a port -> ``to_port``, else dropped. Returns
    (packets to route, packets to deliver). Measured: 8 - 10 ns a packet."""
    n_route = n_port = hits = 0
    for j in range(n_in):
        k = vin[j]
        i = base + k
        seg = np.int64(s.seg[k])
        dst_mac = s.dst_mac[k]
        # every segment's MAC table maps the router MAC to the router port
        l2 = L2_ROUTER if dst_mac == dp.router_mac else exact_probe(dp.segment_l2_buckets, dp.segment_l2_seed, np.uint64(seg), dst_mac)
        if l2 != -1:
            hits += 1
        cn.segment[0, seg, 0] += 1
        cn.segment[0, seg, 1] += np.int64(b.length[i])
        if l2 == L2_ROUTER:
            s.r[k] = dp.seg_router[seg]
            s.arrive[k] = dp.seg_gateway[seg]
            to_route[n_route] = k
            n_route += 1
        elif l2 < 0:
            drop(o, i, R_MAC, K_SEGMENT, seg)
        else:
            s.port[k] = l2
            to_port[n_port] = k
            n_port += 1
    flush(cn.stages, S_L2, n_in, hits)
    return n_route, n_port


@kernel
def route_node(b, dp, o, cn, s, base, vec, n, to_neighbor, n_nb, legs, n_legs):
    """One router hop for each slot of ``vec[:n]``. Packets sent on to a next router stay in
    ``vec`` (compacted in place, order kept); packets whose route is connected are appended to
    ``to_neighbor`` after its first ``n_nb``; the rest end here. Returns (packets still
    routing, length of ``to_neighbor``). Measured: 56 - 64 ns a packet for all its passes
    (3.2 hops on the seed scenario, 3 at 1M pods), prefetch or not."""
    ov = dp.geneve_overhead
    keep = 0
    enc_in = enc_hit = rt_in = rt_hit = 0
    for j in range(n):
        k = vec[j]
        i = base + k
        r = np.int64(s.r[k])
        dst_ip = np.uint32(b.dst_ip[i])
        length = np.int64(b.length[i])
        is_sr = dp.rtr_is_sr[r]
        rk = K_EDGE if is_sr else np.int64(dp.rtr_kind[r])
        if is_sr:
            # a service router runs on its edge: a tunnel there unless the packet is on it already
            o.via_edge[i] = True
            eh = np.int64(dp.rtr_host[r])
            host = np.int64(s.host[k])
            if host != eh:
                mtu = min(dp.host_mtu[host], dp.host_mtu[eh])
                enc_in += 1
                tid = host * dp.n_hosts + eh
                if length + ov > mtu:
                    drop(o, i, R_MTU, K_TUNNEL, tid)
                    continue
                enc_hit += 1
                fb = length + ov + ETH_HEADER
                o.n_tunnels[i] += 1
                o.underlay_bytes[i] += fb
                o.tun_src_host[i] = host
                o.tun_dst_host[i] = eh
                o.tun_vni[i] = dp.rtr_transit_vni[r]
                log_leg(cn, legs, n_legs, host, eh, tid, fb, i, o.tun_vni[i], 0, -1 - r)
                s.host[k] = eh
        cn.router[0, r, 0] += 1
        cn.router[0, r, 1] += length
        rt = route_lookup(dp, r, dst_ip)
        rt_in += 1
        if rt < 0:
            drop(o, i, R_NO_ROUTE, rk, r)
            continue
        rt_hit += 1
        rkind = dp.route_kind[rt]
        if rkind == ROUTE_LOCAL:
            o.hops[i] += 1
            o.last_ip[i] = dst_ip
            o.verdict[i] = V_DELIVERED
            o.dev_kind[i] = rk
            o.dev_id[i] = r
            continue
        o.hops[i] += 1
        o.last_ip[i] = s.arrive[k]
        if o.ttl_out[i] <= 1:
            drop(o, i, R_TTL, rk, r)  # the time-exceeded comes from the address it arrived on
            continue
        o.ttl_out[i] -= 1
        if rkind == ROUTE_ROUTER:
            s.arrive[k] = dp.route_arrive_ip[rt]
            s.r[k] = dp.route_arg[rt]
            vec[keep] = k
            keep += 1
        elif rkind == ROUTE_UPLINK:
            u = np.int64(dp.route_arg[rt])
            cn.uplink[0, u, 0] += 1
            cn.uplink[0, u, 1] += length
            o.verdict[i] = V_EXITED
            o.dev_kind[i] = K_UPLINK
            o.dev_id[i] = u
        else:  # connected: ARP on that segment next
            s.seg[k] = dp.route_arg[rt]
            to_neighbor[n_nb] = k
            n_nb += 1
    flush(cn.stages, S_ENCAP, enc_in, enc_hit)
    flush(cn.stages, S_ROUTE, rt_in, rt_hit)
    return keep, n_nb


@kernel
def neighbor_node(b, dp, o, cn, s, base, vec, n, to_port, n_port, ahead):
    """ARP on the connected segment for each slot of ``vec[:n]`` (its router in ``s.r``): the
    port found is appended to ``to_port`` after its first ``n_port``, with the segment's L2
    pass counted (its MAC table maps the neighbor's MAC to the neighbor's port: no probe;
    the MAC itself is `NEIGHBOR_MAC`, read later with the port record).
    Returns the length of ``to_port``. Measured: ~8 ns a packet on the seed scenario; at 1M
    pods ~76 without prefetch, ~21 with."""
    hits = 0
    if ahead > 0:
        for j in range(min(ahead, n)):
            _hint_arp(b, dp, s, base, vec[j])
    for j in range(n):
        k = vec[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            _hint_arp(b, dp, s, base, vec[j + ahead])
        seg = np.int64(s.seg[k])
        nb = neighbor(dp, seg, np.uint32(b.dst_ip[i]))
        if nb < 0:
            r = np.int64(s.r[k])
            drop(o, i, R_NO_NEIGHBOR, K_EDGE if dp.rtr_is_sr[r] else np.int64(dp.rtr_kind[r]), r)
            continue
        hits += 1
        s.dst_mac[k] = NEIGHBOR_MAC  # read with the port record, in the delivery node
        s.port[k] = nb
        cn.segment[0, seg, 0] += 1
        cn.segment[0, seg, 1] += np.int64(b.length[i])
        to_port[n_port] = k
        n_port += 1
    flush(cn.stages, S_NEIGH, n, hits)
    flush(cn.stages, S_L2, hits, hits)
    return n_port


@kernel
def delivery_node(b, dp, o, cn, s, base, vec, n, legs, n_legs, ahead):
    """Delivery to the logical port ``s.port`` of each slot of ``vec[:n]``: Geneve encap to its
    host (MTU), then the node or the pod's OVS MAC check. (A pod's packet passed the DFW at its
    source port, so the destination-side DFW of the fused kernel never runs for this traffic.)
    Measured: ~22 ns a packet on the seed scenario; at 1M pods ~210 without prefetch, ~52 with."""
    ov = dp.geneve_overhead
    enc_in = enc_hit = ovs_in = ovs_hit = 0
    if ahead > 0:
        for j in range(min(ahead, n)):
            _hint_port(dp, s, vec[j])
    for j in range(n):
        k = vec[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            _hint_port(dp, s, vec[j + ahead])
        port = np.int64(s.port[k])
        host = np.int64(s.host[k])
        dh = port_host(dp.port_rec, port)
        length = np.int64(b.length[i])
        if dh != host:
            mtu = min(dp.host_mtu[host], dp.host_mtu[dh])
            enc_in += 1
            tid = host * dp.n_hosts + dh
            if length + ov > mtu:
                drop(o, i, R_MTU, K_TUNNEL, tid)
                continue
            enc_hit += 1
            fb = length + ov + ETH_HEADER
            o.n_tunnels[i] += 1
            o.underlay_bytes[i] += fb
            o.tun_src_host[i] = host
            o.tun_dst_host[i] = dh
            o.tun_vni[i] = dp.seg_vni[s.seg[k]]
            log_leg(cn, legs, n_legs, host, dh, tid, fb, i, o.tun_vni[i], 0, port)
        node = port_node(dp.port_rec, port)
        if port >= dp.n_pods:
            o.hops[i] += 1
            o.last_ip[i] = b.dst_ip[i]
            o.verdict[i] = V_DELIVERED
            o.dev_kind[i] = K_NODE
            o.dev_id[i] = node
            o.egress_port[i] = port
            continue
        ovs_in += 1
        mac = port_mac(dp.port_rec, port)
        dst_mac = s.dst_mac[k]
        if dst_mac == NEIGHBOR_MAC:
            dst_mac = mac
        # the bridge, in on the trunk (NORMAL): a reserved MAC drops; the pod VLAN's MAC table holds the
        # pod's MAC on its port. (A frame to its own source cannot arrive here: in this scope the source
        # is the sending pod's MAC or the router's; and the segment hands a port only its own MAC.)
        if ovs_reserved(dst_mac):
            drop(o, i, R_RESERVED, K_OVS, node)
            continue
        if dst_mac != mac:
            drop(o, i, R_MAC, K_POD, port)
            continue
        ovs_hit += 1
        o.hops[i] += 1
        o.last_ip[i] = b.dst_ip[i]
        o.verdict[i] = V_DELIVERED
        o.dev_kind[i] = K_POD
        o.dev_id[i] = port
        o.egress_port[i] = port
    flush(cn.stages, S_ENCAP, enc_in, enc_hit)
    flush(cn.stages, S_OVS_EGRESS, ovs_in, ovs_hit)


@kernel
def count_node(o, cn, base, m):
    """Verdict and reason counters of packets base..base+m-1."""
    for i in range(base, base + m):
        cn.verdicts[0, o.verdict[i]] += 1
        cn.reasons[0, o.reason[i]] += 1


@kernel
def forward_staged(b, dp, o, cn, s, v, size, legs, n_legs, ahead):
    """The graph runner: the batch in vectors of ``size`` packets (``s`` and ``v`` hold at least
    ``size`` slots), each through ingress -> segment L2 -> route passes -> neighbor ->
    delivery -> count. ``legs``/``n_legs``: the tunnel-leg log, as the fused kernel's.
    ``ahead``: prefetch distance (0 = none)."""
    n = b.ingress_kind.shape[0]
    for base in range(0, n, size):
        m = min(size, n - base)
        n_l2 = ingress_node(b, dp, o, cn, s, base, m, v.to_l2, ahead)
        n_route, n_port = segment_l2_node(b, dp, o, cn, s, base, v.to_l2, n_l2, v.to_route, v.to_port)
        n_nb = 0
        while n_route > 0:
            n_route, n_nb = route_node(b, dp, o, cn, s, base, v.to_route, n_route, v.to_neighbor, n_nb, legs, n_legs)
        n_port = neighbor_node(b, dp, o, cn, s, base, v.to_neighbor, n_nb, v.to_port, n_port, ahead)
        delivery_node(b, dp, o, cn, s, base, v.to_port, n_port, legs, n_legs, ahead)
        count_node(o, cn, base, m)


# ---- driver ----------------------------------------------------------------------------------------------
def check_scope(batch: PacketBatch, n_pods: int) -> None:
    """Raise ValueError unless every packet is in the staged variant's scope (module docstring)."""
    checks = (("ingress_kind", (batch.ingress_kind == INGRESS_POD).all()),
              ("ingress_id", ((batch.ingress_id >= 0) & (batch.ingress_id < n_pods)).all()),
              ("vlan", (batch.vlan == 0).all()), ("ttl", (batch.ttl > 0).all()),
              ("length", (batch.length >= MIN_IP_PACKET).all()))
    bad = [name for name, ok in checks if not ok]
    if bad:
        raise ValueError(f"packets outside the staged variant's scope: {', '.join(bad)}")


def any_pair_batch(cluster, n: int, seed: int = 0) -> PacketBatch:
    """n pod -> pod packets between uniformly drawn pods (same or other host and namespace, and
    now and then a pod to itself), TCP or UDP, lengths 28..1500, TTL 64, MACs 0."""
    rng = np.random.default_rng([seed, 7])
    p = len(cluster.pods)
    src = rng.integers(0, p, n)
    dst = np.where(rng.random(n) < 0.01, src, rng.integers(0, p, n))
    ip = cluster.pods.ip
    return make_batch(ingress_kind=INGRESS_POD, ingress_id=src.astype(np.int32), src_ip=ip[src], dst_ip=ip[dst],
                      proto=rng.choice(np.array([6, 17], np.uint8), n), sport=rng.integers(1024, 65536, n),
                      dport=rng.integers(0, 65536, n), ttl=workload.PATH_TTL, length=rng.integers(28, 1501, n))


def edge_case_batch(cluster, n: int, seed: int = 0) -> PacketBatch:
    """`any_pair_batch` with TTL 1..6 and destinations of which a third are pods, a third any
    address of the pod CIDR (unused ones: ARP misses), a third any IPv4 address (router
    addresses, the uplink's default route): TTL expiry, no-neighbor, local and exited verdicts."""
    b = any_pair_batch(cluster, n, seed)
    rng = np.random.default_rng([seed, 8])
    pick = rng.integers(0, 3, n)
    net = int(cluster.settings.pod_cidr.network_address)
    size = int(cluster.settings.pod_cidr.num_addresses)
    dst = np.where(pick == 0, b.dst_ip, np.where(pick == 1, net + rng.integers(0, size, n),
                                                 rng.integers(0, 1 << 32, n))).astype(np.uint32)
    return b._replace(dst_ip=dst, ttl=rng.integers(1, 7, n).astype(np.uint8))


class Runner:
    """One cluster's buffers, allocated once, for both designs."""

    def __init__(self, dataplane: Dataplane, batch: PacketBatch):
        self.dpl = dataplane
        self.batch = batch
        n = batch.size
        self.n = n
        self.out = empty_results(n)
        self.counters = dataplane.new_counters(1)
        self.legs = np.empty((pipeline.MAX_LEGS * n + 4, 2), np.int64)
        self.n_legs = np.zeros(1, np.int64)
        self.ring = np.full(FUSED_RING, -1, np.int64)
        self.slot = np.full(1, -1, np.int32)
        self.tr = np.zeros((1, MAX_HOPS, 4), np.int32)
        self.tl = np.zeros(1, np.int32)
        self.scratch = {}
        self.vectors = {}

    def _fold(self) -> None:
        pipeline.add_legs(self.counters, self.legs, int(self.n_legs[0]))
        self.n_legs[0] = 0

    def fused(self, prefetch: bool) -> None:
        self.ring[:] = -1
        pipeline.forward_serial(self.batch, self.dpl.dp._replace(deep_prefetch=prefetch), self.out, self.counters,
                                None, self.tr, self.tl, self.legs, self.n_legs, self.ring)
        self._fold()

    def staged(self, size: int, ahead: int) -> None:
        v = size if size != WHOLE else self.n
        if v not in self.scratch:
            self.scratch[v] = make_scratch(v)
            self.vectors[v] = make_vectors(v)
        forward_staged(self.batch, self.dpl.dp, self.out, self.counters, self.scratch[v], self.vectors[v], v,
                       self.legs, self.n_legs, ahead)
        self._fold()

    def api(self) -> None:
        self.dpl.forward(self.batch, counters=self.counters)

    def fresh(self) -> None:
        """Zero the counters (for a comparison)."""
        for a in self.counters:
            a[...] = 0


def verify(name: str, dataplane: Dataplane, batch: PacketBatch, configs) -> None:
    """Every result column and counter of each staged configuration == the fused forward's."""
    check_scope(batch, dataplane.tables.n_pods)
    ref = dataplane.forward(batch)
    rn = Runner(dataplane, batch)
    for size, ahead in configs:
        rn.fresh()
        rn.out = Results(*(np.full_like(a, 0xA5 if a.dtype != np.bool_ else True) for a in rn.out))  # poison
        rn.staged(size, ahead)
        label = f"{name}: staged V={size or 'whole'} ahead={ahead}"
        for field in Results._fields:
            a, e = getattr(rn.out, field), getattr(ref.results, field)
            if not np.array_equal(a, e):
                bad = np.flatnonzero(a != e)
                raise AssertionError(f"{label}: {field} differs at {bad.size} packets, first {bad[0]}: "
                                     f"staged {a[bad[0]]}, fused {e[bad[0]]}")
        for field in Counters._fields:
            if not np.array_equal(getattr(rn.counters, field), getattr(ref.counters, field)):
                raise AssertionError(f"{label}: counters.{field} differ")
    vc = {k: v for k, v in ref.verdict_counts().items() if v}
    rc = {k: v for k, v in ref.reason_counts().items() if v}
    via = int(ref.results.via_edge.sum())
    print(f"  checked {name}: {batch.size:,} packets, {len(configs)} staged configurations == fused "
          f"(14 result columns, 8 counter arrays); {vc} {rc}; via edge {via:,}", file=sys.stderr, flush=True)


def timed_rounds(runner: Runner, configs: dict, rounds: int) -> dict[str, list[float]]:
    """Each configuration once per round, round robin (a slow spell hits all alike)."""
    for fn in configs.values():  # warm: JIT, page faults, caches
        fn()
    times = {k: [] for k in configs}
    for _ in range(rounds):
        for k, fn in configs.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return times


def node_profile(runner: Runner, ahead: int, rounds: int) -> dict[str, float]:
    """The whole batch as one vector, each node called and timed from Python (VPP's `show
    runtime`): ns per packet of the batch, best of ``rounds``."""
    rn, b, dp, n = runner, runner.batch, runner.dpl.dp, runner.n
    s, v = make_scratch(n), make_vectors(n)
    best: dict[str, float] = {}

    def tick(key, t0):
        t1 = time.perf_counter()
        best[key] = min(best.get(key, float("inf")), t1 - t0)
        return t1

    passes = 0
    for _ in range(rounds + 1):
        t = time.perf_counter()
        n_l2 = ingress_node(b, dp, rn.out, rn.counters, s, 0, n, v.to_l2, ahead)
        t = tick("ingress", t)
        n_route, n_port = segment_l2_node(b, dp, rn.out, rn.counters, s, 0, v.to_l2, n_l2, v.to_route, v.to_port)
        t = tick("segment_l2", t)
        n_nb = passes = 0
        while n_route > 0:
            n_route, n_nb = route_node(b, dp, rn.out, rn.counters, s, 0, v.to_route, n_route, v.to_neighbor, n_nb,
                                       rn.legs, rn.n_legs)
            passes += 1
        t = tick("route passes", t)
        n_port = neighbor_node(b, dp, rn.out, rn.counters, s, 0, v.to_neighbor, n_nb, v.to_port, n_port, ahead)
        t = tick("neighbor", t)
        delivery_node(b, dp, rn.out, rn.counters, s, 0, v.to_port, n_port, rn.legs, rn.n_legs, ahead)
        t = tick("delivery", t)
        count_node(rn.out, rn.counters, 0, n)
        t = tick("count", t)
        rn._fold()
        tick("leg fold", t)
    out = {k: 1e9 * x / n for k, x in best.items()}
    out["passes"] = passes
    return out


def machine_line() -> str:
    import run

    return run.machine_line()


def engine_line() -> str:
    import run

    return run.engine_line()


def measure(name: str, dataplane: Dataplane, batch: PacketBatch, rounds: int, lines: list[str],
            rows: list[tuple]) -> None:
    rn = Runner(dataplane, batch)
    n = batch.size
    engine_pf = bool(dataplane.dp.deep_prefetch)
    configs = {"fused, prefetch off": lambda: rn.fused(False), "fused, prefetch on": lambda: rn.fused(True)}
    for size in VECTOR_SIZES:
        for ahead in (0, PREFETCH_AHEAD):
            label = f"staged V={size if size else 'whole'}, " + (f"prefetch {ahead} ahead" if ahead else "no prefetch")
            configs[label] = (lambda size=size, ahead=ahead: rn.staged(size, ahead))
    configs["Dataplane.forward (API)"] = rn.api
    times = timed_rounds(rn, configs, rounds)
    base_key = f"fused, prefetch {'on' if engine_pf else 'off'}"
    base = min(times[base_key])
    print(f"\n{name}: {n:,} packets a call, best of {rounds} rounds (median in brackets); the engine runs "
          f"'{base_key}'", file=sys.stderr)
    for k, ts in times.items():
        best, med = min(ts), float(np.median(ts))
        mark = " *" if k == base_key else ""
        rows.append((name, k + mark, n / best / 1e6, 1e9 * best / n, 1e9 * med / n, base / best))
        print(f"  {k + mark:<34} {n / best / 1e6:6.2f} M/s {1e9 * best / n:6.0f} ns/packet "
              f"({1e9 * med / n:4.0f})  x{base / best:4.2f} of the engine", file=sys.stderr, flush=True)
    prof = node_profile(rn, 0, max(2, rounds // 2))
    prof_pf = node_profile(rn, PREFETCH_AHEAD, max(2, rounds // 2))
    keys = [k for k in prof if k != "passes"]
    lines.append(f"{name}, whole batch as one vector, ns per packet of the batch by node (no prefetch / "
                 f"prefetch {PREFETCH_AHEAD} ahead; {prof['passes']} route passes): "
                 + ", ".join(f"{k} {prof[k]:.0f}/{prof_pf[k]:.0f}" for k in keys)
                 + f"; sum {sum(prof[k] for k in keys):.0f}/{sum(prof_pf[k] for k in keys):.0f}")
    print("  " + lines[-1], file=sys.stderr, flush=True)


CROSSOVER = ((4, 10), (25, 25), (100, 50))
"""(hosts, namespaces) of the generated clusters between the two measured ones (4 nodes a host,
250 pods a node: 4k, 25k and 100k pods)."""


def crossover(packets: int, rounds: int) -> list[tuple]:
    """Fused (both prefetch settings) against staged with prefetch on clusters between the
    default scenario and 1M pods: where the winner changes. Each checked before it is timed."""
    rows = []
    for hosts, ns in CROSSOVER:
        c = generate(hosts, 4, ns, 250, seed=0)
        d = Dataplane(c)
        batch = workload.path_batch(c, packets)
        verify(f"crossover {len(c.pods):,} pods path traffic", d, batch.slice(0, min(packets, 1 << 16)),
               [(1024, PREFETCH_AHEAD), (WHOLE, PREFETCH_AHEAD)])
        rn = Runner(d, batch)
        configs = {"fused, prefetch off": lambda rn=rn: rn.fused(False),
                   "fused, prefetch on": lambda rn=rn: rn.fused(True),
                   "staged V=1024, prefetch": lambda rn=rn: rn.staged(1024, PREFETCH_AHEAD),
                   "staged V=whole, prefetch": lambda rn=rn: rn.staged(WHOLE, PREFETCH_AHEAD)}
        times = timed_rounds(rn, configs, rounds)
        ns_ = {k: 1e9 * min(v) / batch.size for k, v in times.items()}
        t = d.tables
        engine = "fused, prefetch on" if d.dp.deep_prefetch else "fused, prefetch off"
        best_staged = min(ns_["staged V=1024, prefetch"], ns_["staged V=whole, prefetch"])
        rows.append((f"{len(c.pods):,} pods", t.nbytes() / 1e6, (t.port_rec.nbytes + t.neighbor_dense.nbytes) / 1e6,
                     "on" if d.dp.deep_prefetch else "off", ns_["fused, prefetch off"], ns_["fused, prefetch on"],
                     ns_["staged V=1024, prefetch"], ns_["staged V=whole, prefetch"], ns_[engine] / best_staged))
        print(f"  crossover {rows[-1][0]}: " + ", ".join(f"{k} {v:.0f} ns" for k, v in ns_.items())
              + f"; engine prefetch {rows[-1][3]}", file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[tuple], lines: list[str], head: list[str], cross: list[tuple] = ()) -> str:
    out = ["| cluster | design | M packets/s | ns/packet (best) | ns/packet (median) | x the engine |",
           "|---|---|---|---|---|---|"]
    prev = None
    for name, k, mpps, ns, med, ratio in rows:
        out.append(f"| {name if name != prev else ''} | {k} | {mpps:.2f} | {ns:.0f} | {med:.0f} | {ratio:.2f} |")
        prev = name
    if cross:
        out += ["", ("| cluster | tables MB | ports + ARP MB | engine prefetch | fused off ns | fused on ns | "
                     "staged V=1024 pf ns | staged whole pf ns | best staged vs the engine |"),
                "|---|---|---|---|---|---|---|---|---|"]
        for name, mb, hot, pf, f0, f1, s1, s2, ratio in cross:
            out.append(f"| {name} | {mb:.1f} | {hot:.2f} | {pf} | {f0:.0f} | {f1:.0f} | {s1:.0f} | {s2:.0f} | {ratio:.2f}x |")
    return "\n".join(head + [""] + out + [""] + [f"- {x}" for x in lines]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pods instead of 1M, 64k-packet batches")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (best taken); default 7, quick 3")
    ap.add_argument("--markdown", metavar="FILE", help="also write the figures as markdown")
    ap.add_argument("--no-check", action="store_true", help="skip the field-for-field check (not advised)")
    args = ap.parse_args(argv)
    packets = 1 << 16 if args.quick else 1 << 20
    rounds = args.rounds or (3 if args.quick else 7)
    t0 = time.perf_counter()
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    head = [f"date: {date}", f"machine: {machine_line()}", engine_line()]
    print("\n".join(head), file=sys.stderr, flush=True)

    default = workload.default_cluster()
    big = workload.big_cluster(args.quick)
    big_name = f"{len(big.pods) // 1000}k pods" if args.quick else "1M pods"
    dps = {"default": Dataplane(default), big_name: Dataplane(big)}
    batches = {k: workload.path_batch(d.cluster, packets) for k, d in dps.items()}
    for k, d in dps.items():
        print(f"cluster {k}: {workload.describe(d.cluster)}; tables {d.tables.nbytes() / 1e6:.1f} MB",
              file=sys.stderr)

    if not args.no_check:
        configs = [(size, ahead) for size in VECTOR_SIZES for ahead in (0, PREFETCH_AHEAD)]
        odd = configs + [(1, 0), (7, 3)]  # vectors of one packet, and a size that divides nothing
        medium = generate(40, 4, 30, 100, service_t1_fraction=0.3, dfw_rules=20, mtu=(1600, 1500, 1400), seed=3)
        dm = Dataplane(medium)
        for k, d in dps.items():
            verify(f"{k} path traffic", d, batches[k], configs)
            verify(f"{k} any pair", d, any_pair_batch(d.cluster, 1 << 16), odd)
        verify(f"medium ({workload.describe(medium)}) path traffic", dm, workload.path_batch(medium, 1 << 16), odd)
        verify("medium any pair", dm, any_pair_batch(medium, 1 << 16), odd)
        verify("medium edge cases", dm, edge_case_batch(medium, 1 << 16), odd)
        verify("default edge cases", dps["default"], edge_case_batch(default, 1 << 16), odd)

    rows: list[tuple] = []
    lines: list[str] = []
    for k, d in dps.items():
        measure(k, d, batches[k], rounds, lines, rows)
    cross = [] if args.quick else crossover(packets, max(3, rounds // 2))
    foot = f"run took {time.perf_counter() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}"
    print("\n" + foot, file=sys.stderr)
    md = markdown(rows, lines, head + [foot], cross)
    print(md)
    if args.markdown:
        Path(args.markdown).write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
