"""The neighbor: ARP on a router's connected segment, then that segment's L2 to the port.

Reference: `_Walk.neighbor` (then `_Walk.segment` on the connected segment). ARP is suppressed
in NSX (answered from the control plane's table, `fastpath.tables.neighbor`: dense per
segment, hashed where sparse). The segment's MAC table maps the neighbor's MAC to the
neighbor's port, so the L2 pass that follows is counted and traced but not probed.

No prefetch of its own: the route stage prefetches each packet's ARP slot when it finds the
connected route, a stage ahead. Prefetching here too, 8 ahead, and the found port's record for
the tunnel stage, made the 1M-pod walk 8-12 ns a packet slower each (measured A/B in one
process): the core has a couple of dozen misses in flight at most, and a prefetch of a line
already on its way takes a slot the ones that count need. (Measured while half the port records
straddled two cache lines, `tables.lines`; the receiver's loop now prefetches them 24 ahead.)

Drops: ``no-neighbor``, at the router. Counters: ``neighbor`` (hit = answered), and
``segment_l2`` (every answered packet: a hit) with the segment's load.
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.neighbor import neighbor as neighbor_port
from ..trace import T_NEIGHBOR, T_SEGMENT_L2
from .common import (K_SEGMENT, NEIGHBOR_MAC, R_NO_NEIGHBOR, S_L2, S_NEIGH, drop, flush, note, note_segment, rec,
                     router_kind)
from .segment import count_switched


@kernel(inline="always")
def neighbor_one(b, dp, o, cn, s, i, k, slot, tr, tl):
    """ARP for packet i in slot k on segment ``s.seg`` (router ``s.r``), then that segment's L2
    pass. Returns whether it was answered (``s.port`` set)."""
    seg = np.int64(s.seg[k])
    r = np.int64(s.r[k])
    ttl = np.int64(o.ttl_out[i])
    nb = neighbor_port(dp, seg, np.uint32(b.dst_ip[i]))
    if slot >= 0:
        rec(tr, tl, slot, router_kind(dp, r), r, T_NEIGHBOR, ttl)
    if nb < 0:
        drop(o, i, R_NO_NEIGHBOR, router_kind(dp, r), r)
        return False
    s.src_mac[k] = dp.router_mac
    s.dst_mac[k] = NEIGHBOR_MAC  # the port's MAC, read with its record in the tunnel stage
    s.port[k] = nb
    count_switched(cn, seg, np.int64(b.length[i]))
    if slot >= 0:
        rec(tr, tl, slot, K_SEGMENT, seg, T_SEGMENT_L2, ttl)
    return True


@kernel
def neighbor(b, dp, o, cn, s, base, vec, n, to_port, n_port, trace_slot, tr, tl, rc):
    """ARP on segment ``s.seg`` for each slot of ``vec[:n]`` (router ``s.r``): the port found is
    appended to ``to_port`` after its first ``n_port`` (``s.port`` set, ``s.dst_mac`` =
    `NEIGHBOR_MAC`). Returns the length of ``to_port``."""
    hits = 0
    for j in range(n):
        k = vec[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        found = neighbor_one(b, dp, o, cn, s, i, k, slot, tr, tl)
        if rc is not None:
            note(rc, k, S_NEIGH, found)
            if found:
                note_segment(rc, k, np.int64(s.seg[k]), note(rc, k, S_L2, True))
        if found:
            hits += 1
            to_port[n_port] = k
            n_port += 1
    flush(cn.stages, S_NEIGH, n, hits)
    flush(cn.stages, S_L2, hits, hits)
    return n_port
