"""The neighbor (ARP) tables of every segment: dense arrays where subnets are full, a hash elsewhere.

What?
-----
``(segment, ip) -> logical port`` or -1: the port answering ARP for ``ip`` on ``segment``
(ARP suppression: the control plane knows every port's address). The sender stack asks it for
on-link destinations, a router for a connected route's next hop.

Layout
------
A segment whose subnet is dense with ports (at most `DENSE_FACTOR` addresses per port, or at
most `DENSE_MIN` addresses in all) gets a direct array — one load instead of a hash probe, and
4 bytes an address (a /19 of 5,000 pods: 6.5 bytes a pod, against 17.8 in the hash). A sparse
segment (a /16 of three pods) keeps its entries in an exact hash table
(`fastpath.tables.exact`).

    neighbor_dense: int32[A] — the dense segments' arrays end to end, one slot per address:
        ``neighbor_dense[seg_nb_off[s] + (ip - seg_net[s])]`` = port or -1
    seg_nb_off: int64[S] — segment s's offset in neighbor_dense; -1 = sparse (use the hash)
    neighbor: ExactTable — key (segment, ip) -> port, the sparse segments' ports only
    seg_net, seg_mask: uint32[S] — the segment's subnet (kept with the segments); an address
        outside it has no neighbor, whichever form the segment uses

The builder moved here from `fastpath.compile.switching`, which still calls it: it takes the
segments' networks and sizes and the port columns, not the model, so the dense-or-hash rule,
the slot arithmetic and the lookups that undo it share one file.

API: `build` (from the port columns), `lookup` (scalar, plain Python: the reference semantics),
`neighbor` (the numba accessor over the kernel view, inlined), `dense_slot` (where an address
sits in ``neighbor_dense``: for prefetch hints).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import kernel, prefetch_row
from . import exact
from .lines import empty_on_lines

DENSE_FACTOR = 8
DENSE_MIN = 1024


class NeighborTables(NamedTuple):
    neighbor: exact.ExactTable
    neighbor_dense: np.ndarray
    seg_nb_off: np.ndarray


def build(seg_net: np.ndarray, seg_size: np.ndarray, port_segment: np.ndarray, port_ip: np.ndarray, *,
          max_load: float) -> NeighborTables:
    """The neighbor tables of segments with networks ``seg_net`` of ``seg_size`` addresses each,
    for ports ``0..len(port_ip)-1`` on ``port_segment``. Every (segment, ip) must be unique
    (raises ValueError, from the hash, for a duplicate on a sparse segment)."""
    n_seg = seg_net.shape[0]
    sizes = np.asarray(seg_size, np.int64)
    port_rows = np.arange(port_ip.shape[0], dtype=np.int64)
    per_seg = np.bincount(port_segment, minlength=n_seg)
    dense = (sizes <= DENSE_MIN) | (sizes <= DENSE_FACTOR * per_seg)
    off = np.where(dense, np.cumsum(np.where(dense, sizes, 0)) - sizes, -1).astype(np.int64)
    neighbor_dense = empty_on_lines(int(sizes[dense].sum()), np.int32)
    neighbor_dense.fill(-1)
    on_dense = dense[port_segment]
    base = seg_net.astype(np.int64)
    slots = off[port_segment[on_dense]] + (port_ip[on_dense].astype(np.int64) - base[port_segment[on_dense]])
    neighbor_dense[slots] = port_rows[on_dense]
    sparse = ~on_dense
    table = exact.build(port_segment[sparse].astype(np.uint64), port_ip[sparse], port_rows[sparse],
                        max_load=max_load)
    return NeighborTables(table, neighbor_dense, off)


def lookup(nt: NeighborTables, seg_net: np.ndarray, seg_mask: np.ndarray, segment: int, ip: int) -> int:
    """The port answering ARP for ``ip`` on ``segment``, or -1 (any ints: out of range is -1)."""
    seg, ip = int(segment), int(ip)
    if not 0 <= seg < seg_net.shape[0] or not 0 <= ip <= 0xFFFF_FFFF:
        return -1
    mask = int(seg_mask[seg])
    if ip & mask != int(seg_net[seg]):
        return -1
    off = int(nt.seg_nb_off[seg])
    if off >= 0:
        return int(nt.neighbor_dense[off + (ip & ~mask & 0xFFFF_FFFF)])
    return exact.lookup(nt.neighbor, seg, ip)


@kernel(inline="always")
def dense_slot(kv, seg, ip):
    """The index of ``ip``'s slot in ``neighbor_dense`` when ``seg`` is dense, else -1. It does
    not check that ``ip`` is on the subnet: a caller that reads the slot checks the subnet or
    the index (a prefetch hint needs neither)."""
    off = kv.seg_nb_off[seg]
    if off < 0:
        return np.int64(-1)
    return off + np.int64(ip & ~kv.seg_mask[seg])


@kernel(inline="always")
def prefetch_neighbor(kv, seg, ip):
    """Hint the CPU to fetch the dense slot `neighbor` will read for ``ip`` on ``seg`` (nothing
    for an address off the segment's subnet, or a hashed segment)."""
    if (ip & kv.seg_mask[seg]) == kv.seg_net[seg]:
        slot = dense_slot(kv, seg, ip)
        if slot >= 0:
            prefetch_row(kv.neighbor_dense, slot)


@kernel(inline="always")
def neighbor(kv, seg, ip):
    """`lookup` in a kernel: ``kv`` is the kernel view (`fastpath.compile.kernel_view.KernelView`),
    ``seg`` a valid segment id, ``ip`` a uint32."""
    off = kv.seg_nb_off[seg]
    mask = kv.seg_mask[seg]
    if (ip & mask) != kv.seg_net[seg]:
        return np.int64(-1)
    if off >= 0:
        return np.int64(kv.neighbor_dense[off + np.int64(ip & ~mask)])
    return exact.probe(kv.neighbor_buckets, kv.neighbor_seed, np.uint64(seg), np.uint64(ip))
