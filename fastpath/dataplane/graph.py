"""The staged data path: the stages of `fastpath.dataplane.stages` run over vectors of packets.

Why staged
----------
A packet's path is a chain of dependent table reads (its port record, then its ARP slot, then
the destination's port record). Run per packet, each miss in DRAM waits for the one before.
Run a stage over a vector of packets, each packet's address for the stage is known before the
loop reaches it — the stage before computed it — so the loop prefetches ``ahead`` elements in
front — or the stage that computes an address prefetches it for the next stage, a whole vector
ahead — and the misses of many packets overlap. On a million pods that is 1.4-1.5x the fused
loop with its own speculative prefetch (bench/stages.py, "Issue 10" in bench/RESULTS.md).
Where every table sits in L1, the fused loop keeps each packet's state in registers and wins;
`fastpath.dataplane.api` picks by the measured rule there.

The graph
---------
`walk` reads as the path. Each stage compacts its survivors into its output vector; packets
that end (a verdict) are simply not passed on. The route stage runs one hop per pass until no
packet is left routing (the longest path is a handful of routers). Stage counters are locals of
each stage's call, added to the worker's row once per vector; device loads are added per packet.
Verdicts and reasons of walked packets are counted at the end of each vector, from the results.
The whole walk runs the sender's side (its stack to its DFW) and the receiver's (the tunnel to
delivery) each as one loop over its stages' steps (`sender_side`, `receiver_side`: 7-11 ns a
packet less than a loop a stage); the prefixes (``upto``) and `EACH` run every stage's own loop.
A pass per router hop stays: all of a packet's hops in one loop chain its lookups (+11 ns at 1M
pods). `forward_staged` puts the flow cache in front (`stages.flow_cache`): a vector's hits take
their cached outcome and only its misses walk; hits are counted when their entries are folded.
The vectors it skips while backing off, or all without one, walk a run at a time in one call
(`walk_vectors`): called per vector from inside the cached loop, a walk cost ~1.3 us more.

Kube-proxy's Service translation (`stages.service`) comes before every stage: given a
`ServicePass`, `forward_staged` runs it in the cache's key pass or, on an uncached vector, as
`flow_cache.translate_uncached`, and the stages read the translated batch ``tb``.

Vectors are ``size`` packets (`VECTOR`); the per-slot scratch and the vectors are the caller's
(`Dataplane` keeps them per worker between calls; no allocation inside: the kernels run without
numba's runtime).
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel, prefetch_row
from .stages.common import (R_NONE, S_ARP, S_DFW, S_ENCAP, S_OVS, S_OVS_EGRESS, S_SPOOF, S_VIF, V_DROPPED, VECTOR,
                            flush as flush_stage)
from .stages.deliver import deliver, deliver_step
from .stages.dfw import dfw, dfw_at_receiver, dfw_step, tally_end
from .stages.flow_cache import (backoff, flush, flush_if_full, insert, lookup, skip_run, translate_uncached,
                                translated_keys, translated_misses, use_cache)
from .stages.ingress import ingress
from .stages.neighbor import neighbor
from .stages.ovs import ovs_from_pod, ovs_from_pod_step
from .stages.route import route
from .stages.segment import segment
from .stages.sender_stack import hint_arp, sender_stack, sender_stack_step
from .stages.spoofguard import spoofguard, spoofguard_step
from .stages.tunnel import DEST_AHEAD, tunnel, tunnel_step
from .stages.vif import vif_demux, vif_demux_step

AHEAD = 8
"""Prefetch distance in vector elements (of 4 / 8 / 16 / 32, 8 was best or near it at 1M pods);
the port records' own are multiples of it (`ingress.SOURCE_AHEAD`, `tunnel.DEST_AHEAD`)."""


@kernel
def count(o, cn, base, vin, n):
    """Verdict and reason counters of the walked slots ``vin[:n]``: every packet one verdict."""
    for j in range(n):
        i = base + vin[j]
        if o.reason[i] != R_NONE:
            o.verdict[i] = V_DROPPED
        cn.verdicts[0, o.verdict[i]] += 1
        cn.reasons[0, o.reason[i]] += 1


GRAPH = ("ingress", "sender_stack", "ovs_from_pod", "vif_demux", "spoofguard", "dfw", "segment", "route",
         "neighbor", "tunnel", "dfw_at_receiver", "deliver", "count")
"""The stage calls of `forward_staged`, in order: ``upto=k`` runs the first k (a prefix: what
bench/stages.py times to tell where the time goes). ``len(GRAPH)`` runs them all."""
FULL = len(GRAPH)
EACH = FULL + 1
"""``upto=EACH``: every stage, each in its own loop, as the prefixes run them. ``FULL``, what the
engine runs, takes the sender's side in one loop (`sender_side`) and the receiver's in another
(`receiver_side`); bench/stages.py times the two."""


@kernel
def sender_side(b, dp, o, cn, s, base, vin, n, vout, trace_slot, tr, tl, rc, ahead):
    """`sender_stack`, `ovs_from_pod`, `vif_demux`, `spoofguard` and `dfw` (at the sender's
    port) in one loop over slots ``vin[:n]``: each packet goes through their steps (a stage's
    per-packet function and its accounting, the body of its own loop) in turn, its state in
    registers, instead of through five loops and five compactions of the vector (6.6 ns a
    packet less on the seed, with `receiver_side` 10-11 at 1M pods; bench/RESULTS.md). The
    prefixes and ``upto=EACH`` run the stages' own loops, and the tests hold the two forms'
    counters equal. Survivors to ``vout``; returns their count."""
    out = arp_in = arp_hit = ovs_in = ovs_hit = vif_in = vif_hit = sg_in = sg_ok = d_in = d_hit = 0
    last, run = np.int64(-1), 0  # (`dfw.tally`)
    if ahead > 0:
        for j in range(min(ahead, n)):
            hint_arp(b, dp, s, base, vin[j])
    for j in range(n):
        k = vin[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            hint_arp(b, dp, s, base, vin[j + ahead])
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, arp_in, arp_hit = sender_stack_step(b, dp, o, s, i, k, slot, tr, tl, rc, arp_in, arp_hit)
        if ok:
            ok, ovs_in, ovs_hit = ovs_from_pod_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit)
        if ok:
            ok, vif_in, vif_hit = vif_demux_step(b, dp, o, s, i, k, slot, tr, tl, rc, vif_in, vif_hit)
        if ok:
            ok = spoofguard_step(b, dp, o, s, i, k, slot, tr, tl, rc)
            sg_in += 1
            sg_ok += ok
        if ok:
            ok, last, run, d_in, d_hit = dfw_step(b, dp, o, cn, i, k, np.int64(s.lp[k]), False, slot, tr, tl, rc,
                                                  last, run, d_in, d_hit)
        if ok:
            vout[out] = k
            out += 1
    tally_end(cn, 0, last, run)
    flush_stage(cn.stages, S_ARP, arp_in, arp_hit)
    flush_stage(cn.stages, S_OVS, ovs_in, ovs_hit)
    flush_stage(cn.stages, S_VIF, vif_in, vif_hit)
    flush_stage(cn.stages, S_SPOOF, sg_in, sg_ok)
    flush_stage(cn.stages, S_DFW, d_in, d_hit)
    return out


@kernel
def receiver_side(b, dp, o, cn, s, base, vin, n, legs, n_legs, trace_slot, tr, tl, rc, ahead):
    """`tunnel`, `dfw` at the receiver's port and `deliver` in one loop over slots ``vin[:n]``
    (as `sender_side`): to the host of the packet's logical port ``s.port``, through the DFW
    there when it meets it, into its node's bridge and to the pod. Its port record is
    prefetched `tunnel.DEST_AHEAD` times ``ahead`` in front."""
    enc_in = enc_hit = d_in = d_hit = ovs_in = ovs_hit = 0
    last, run = np.int64(-1), 0  # (`dfw.tally`)
    ahead = DEST_AHEAD * ahead
    if ahead > 0:
        for j in range(min(ahead, n)):
            prefetch_row(dp.port_rec, np.int64(s.port[vin[j]]))
    for j in range(n):
        k = vin[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            prefetch_row(dp.port_rec, np.int64(s.port[vin[j + ahead]]))
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, enc_in, enc_hit = tunnel_step(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl, rc, enc_in, enc_hit)
        lp = np.int64(s.port[k])
        if ok and dfw_at_receiver(b, dp, i, lp):
            ok, last, run, d_in, d_hit = dfw_step(b, dp, o, cn, i, k, lp, True, slot, tr, tl, rc, last, run, d_in,
                                                  d_hit)
        if ok:
            ovs_in, ovs_hit = deliver_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit)
    tally_end(cn, 1, last, run)
    flush_stage(cn.stages, S_ENCAP, enc_in, enc_hit)
    flush_stage(cn.stages, S_DFW, d_in, d_hit)
    flush_stage(cn.stages, S_OVS_EGRESS, ovs_in, ovs_hit)


@kernel
def walk(b, dp, o, cn, s, v, base, n_walk, trace_slot, tr, tl, legs, n_legs, ahead, upto, rc):
    """The stages, in path order, for the slots ``v.walk[:n_walk]`` of the vector at ``base``.
    ``rc``: a `Recipe` to record what each packet counts (for the flow cache), or None."""
    n_ep, n_rt = ingress(b, dp, o, s, base, v.walk, n_walk, v.a, v.route, trace_slot, tr, tl, rc, ahead)
    if upto == FULL:
        n_ep = sender_side(b, dp, o, cn, s, base, v.a, n_ep, v.b, trace_slot, tr, tl, rc, ahead)
    else:
        if upto > 1:
            n_ep = sender_stack(b, dp, o, cn, s, base, v.a, n_ep, v.b, trace_slot, tr, tl, rc, ahead)
        if upto > 2:
            n_ep = ovs_from_pod(b, dp, o, cn, s, base, v.b, n_ep, v.a, trace_slot, tr, tl, rc)
        if upto > 3:
            n_ep = vif_demux(b, dp, o, cn, s, base, v.a, n_ep, v.b, trace_slot, tr, tl, rc)
        if upto > 4:
            n_ep = spoofguard(b, dp, o, cn, s, base, v.b, n_ep, v.a, trace_slot, tr, tl, rc)
        if upto > 5:
            n_ep = dfw(b, dp, o, cn, base, v.a, n_ep, s.lp, v.b, False, trace_slot, tr, tl, rc)
    n_port = 0
    if upto > 6:
        n_rt, n_port = segment(b, dp, o, cn, s, base, v.b, n_ep, v.route, n_rt, v.port, 0, trace_slot, tr, tl, rc)
    n_nb = 0
    while upto > 7 and n_rt > 0:
        n_rt, n_nb = route(b, dp, o, cn, s, base, v.route, n_rt, v.neighbor, n_nb, legs, n_legs, trace_slot, tr, tl,
                           rc, ahead)
    if upto > 8:
        n_port = neighbor(b, dp, o, cn, s, base, v.neighbor, n_nb, v.port, n_port, trace_slot, tr, tl, rc)
    if upto == FULL:
        receiver_side(b, dp, o, cn, s, base, v.port, n_port, legs, n_legs, trace_slot, tr, tl, rc, ahead)
    else:
        if upto > 9:
            n_port = tunnel(b, dp, o, cn, s, base, v.port, n_port, v.port, legs, n_legs, trace_slot, tr, tl, rc,
                            ahead)
        if upto > 10:
            n_port = dfw(b, dp, o, cn, base, v.port, n_port, s.port, v.port, True, trace_slot, tr, tl, rc)
        if upto > 11:
            deliver(b, dp, o, cn, s, base, v.port, n_port, trace_slot, tr, tl, rc)


@kernel
def walk_vectors(b, tb, dp, o, cn, s, v, lo, hi, size, trace_slot, tr, tl, legs, n_legs, ahead, upto, sv):
    """Every packet of ``lo:hi`` walks, ``size`` a vector, and is counted; with ``sv`` each
    vector is translated first (`flow_cache.translate_uncached`) and the walk reads ``tb``.
    One call for a run of vectors: from inside `forward_staged`'s loop, where the flow cache's
    code is inlined, a call per vector cost ~1.3 us more (5 ns a packet; measured, not explained)."""
    for base in range(lo, hi, size):
        m = min(size, hi - base)
        if sv is None:
            for k in range(m):
                v.walk[k] = k
            walk(b, dp, o, cn, s, v, base, m, trace_slot, tr, tl, legs, n_legs, ahead, upto, None)
            n_walk = m
        else:
            n_walk = translate_uncached(b, tb, o, cn, sv, base, m, v.walk)
            walk(tb, dp, o, cn, s, v, base, n_walk, trace_slot, tr, tl, legs, n_legs, ahead, upto, None)
        if upto >= FULL:
            count(o, cn, base, v.walk, n_walk)


@kernel
def walk_misses(b, dp, o, cn, s, v, base, n_walk, trace_slot, tr, tl, legs, n_legs, ahead, upto, fc, rc):
    """The flow cache's misses ``v.walk[:n_walk]`` of the vector at ``base`` walk, are counted
    and inserted (hits are counted by their entries' folds)."""
    walk(b, dp, o, cn, s, v, base, n_walk, trace_slot, tr, tl, legs, n_legs, ahead, upto, rc)
    if upto >= FULL:
        count(o, cn, base, v.walk, n_walk)
        insert(b, dp, o, fc, cn, rc, base, v.walk, n_walk)


@kernel
def forward_staged(b, dp, o, cn, s, v, size, trace_slot, tr, tl, legs, n_legs, ahead, upto, fc, rc, sv, tb):
    """Forward every packet of ``b`` on worker row 0, ``size`` packets a vector (``s`` and ``v``
    hold at least ``size`` slots; with ``fc`` or ``sv`` at most `VECTOR` are taken). ``trace_slot``:
    None (tracing compiled out) or int32[n], the trace slot of each packet or -1; ``tr``/``tl``
    the records. ``legs``/``n_legs``: the tunnel-leg log and its length. ``ahead``: prefetch
    distance (0 = none). ``upto``: run only the first ``upto`` stages of `GRAPH` (`FULL`: all;
    `EACH`: all, each in its own loop; fewer leave packets without a verdict). ``fc``/``rc``: a `FlowCache` and a `Recipe` (or
    both None: no cache, compiled out). The cache backs off while it misses
    (`flow_cache.backoff`): traffic of distinct flows then walks at the uncached speed.
    ``sv``/``tb``: None, or a `service.ServicePass` and the batch the walk reads — ``b`` with
    its ``src_ip .. dst_mac`` columns scratch: kube-proxy's translation then runs inside this
    pass, in the cache's key pass or over an uncached vector, before anything else
    (`stages.service`); with None the caller has translated ``b`` already, or needs no
    translation."""
    n = b.ingress_kind.shape[0]
    if sv is None:  # the batch the stages read: as translated
        wb = b
    else:
        wb = tb
    if fc is not None or sv is not None:
        size = min(size, VECTOR)  # (the key scratch holds `VECTOR` slots a row)
    base = 0
    while base < n:
        if fc is not None and use_cache(fc):
            m = min(size, n - base)
            flush_if_full(dp, cn, fc, fc.entries.shape[0])
            if sv is None:
                n_walk = lookup(b, dp, o, fc, base, m, v.walk, AHEAD, False, 0)
            else:
                drops = translated_keys(b, o, cn, sv, fc, base, m)
                n_walk = lookup(b, dp, o, fc, base, m, v.walk, AHEAD, True, drops)
                if n_walk > 0:
                    translated_misses(tb, fc, base, v.walk, n_walk)
            if n_walk > 0:  # (a call passes every table's view: skipped when all hit)
                walk_misses(wb, dp, o, cn, s, v, base, n_walk, trace_slot, tr, tl, legs, n_legs, ahead, upto, fc, rc)
            backoff(fc, m, m - n_walk)
            base += m
        else:  # no cache, or the vectors it skips while backing off: walked in one run
            hi = n if fc is None else min(n, base + size * skip_run(fc))
            walk_vectors(b, tb, dp, o, cn, s, v, base, hi, size, trace_slot, tr, tl, legs, n_legs, ahead, upto, sv)
            base = hi
    if fc is not None:
        flush(dp, cn, fc)
