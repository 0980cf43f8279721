"""Segment L2: the logical switch's MAC table on the host the packet is on.

Reference: `_Walk.segment`. The router MAC goes to the segment's router port (its T1's DR, in
on the segment's gateway address); a port's MAC to that logical port; anything else misses.
Every segment maps the router MAC to its router port, so that answer is a compare, not a probe.

Drops: ``unknown-mac``, at the segment. Counter: ``segment_l2`` (hit = a port or the router);
load: packets and bytes switched per segment.
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...compile.switching import L2_ROUTER
from ..trace import T_SEGMENT_L2
from .common import K_SEGMENT, R_MAC, S_L2, drop, exact_probe, flush, note, note_segment, rec


@kernel(inline="always")
def segment_l2(dp, seg, dst_mac):
    """The segment's answer for ``dst_mac``: a logical port, `L2_ROUTER`, or < 0 for a miss."""
    if dst_mac == dp.router_mac:
        return np.int64(L2_ROUTER)
    return exact_probe(dp.segment_l2_buckets, dp.segment_l2_seed, np.uint64(seg), dst_mac)


@kernel(inline="always")
def count_switched(cn, seg, length):
    cn.segment[0, seg, 0] += 1
    cn.segment[0, seg, 1] += length


TO_ROUTER, TO_PORT, MISSED = 1, 2, 0


@kernel(inline="always")
def segment_one(b, dp, o, cn, s, i, k, slot, tr, tl):
    """Packet i in slot k on segment ``s.seg``: counted, then `TO_ROUTER` (``s.r``, ``s.arrive``
    set), `TO_PORT` (``s.port`` set) or `MISSED` (dropped)."""
    seg = np.int64(s.seg[k])
    l2 = segment_l2(dp, seg, s.dst_mac[k])
    count_switched(cn, seg, np.int64(b.length[i]))
    if slot >= 0:
        rec(tr, tl, slot, K_SEGMENT, seg, T_SEGMENT_L2, np.int64(o.ttl_out[i]))
    if l2 == L2_ROUTER:
        s.r[k] = dp.seg_router[seg]
        s.arrive[k] = dp.seg_gateway[seg]
        return TO_ROUTER
    if l2 < 0:
        drop(o, i, R_MAC, K_SEGMENT, seg)
        return MISSED
    s.port[k] = l2
    return TO_PORT


@kernel
def segment(b, dp, o, cn, s, base, vin, n, to_route, n_route, to_port, n_port, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` on segment ``s.seg``: to the router (appended to ``to_route`` after its
    first ``n_route``; ``s.r`` and ``s.arrive`` set) or to a port (appended to ``to_port``;
    ``s.port`` set). Returns the two new lengths."""
    hits = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        to = segment_one(b, dp, o, cn, s, i, k, slot, tr, tl)
        hits += to != MISSED
        if rc is not None:
            note_segment(rc, k, np.int64(s.seg[k]), note(rc, k, S_L2, to != MISSED))
        if to == TO_ROUTER:
            to_route[n_route] = k
            n_route += 1
        elif to == TO_PORT:
            to_port[n_port] = k
            n_port += 1
    flush(cn.stages, S_L2, n, hits)
    return n_route, n_port
