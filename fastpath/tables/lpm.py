"""Longest-prefix match for many router instances in one structure: the compact one.

The fast path routes with `fastpath.tables.mtrie` (a multibit trie: 2-4 loads a lookup, ~7 KiB
a T1 router). This hash of prefixes is the alternative when memory matters more than speed:
~18-32 bytes a route and 8 a router, one probe per prefix length present. Both are held to
pytricia and to `routing.lookup` by the same tests, and benchmarked side by side.

What?
-----
Every DR and SR instance has its own IPv4 route table; a cluster has hundreds to tens of
thousands of them, with a handful of routes each. A per-router DIR-24-8 (``rte_lpm``) would
cost 64 MiB per router; this table costs 32 bytes per route at the default load 0.5 (18 at
0.9) plus 8 per router, and answers ``(router, ip) -> route index`` with the semantics of
`fastpath.model.routing.lookup`.

Layout
------
::

    buckets, seed:   an `exact` table (see `fastpath.tables.exact`) of every route:
                     key k0 = router << 6 | prefix_len, k1 = network & mask(prefix_len)
                     value = route index (int32 >= 0)
    router_lengths:  uint64[R] — bit L set = router has at least one /L route (L in 0..32)
    size:            int — prefixes stored (after dropping duplicates)

    k0:  31              6 5      0
        +-----------------+--------+
        |   router id     | length |      router id < 2**26, length 0..32
        +-----------------+--------+

Lookup
------
For each length L set in ``router_lengths[router]``, longest first: probe the exact table
with ``(router << 6 | L, ip & mask(L))``; the first hit is the answer. No bit set, or no hit:
-1 (no route). A router id outside ``0..R-1`` misses. A lookup costs one exact probe (one or
two cache lines) per length tried: a T1 DR holds /32, /24-ish and /0, so a packet to a pod
tries two lengths, a packet to the outside three.

Measured (one thread): the routes of a generated cluster (~3 lengths per router, table
cache-resident) answer ~13 M lookups/s through `lookup_bulk` for pod addresses; 10k routers
with ~15 lengths each (random prefixes, 5 MB) ~1.3 M/s on random addresses, the cost of a
probe per length. If routers with many lengths matter, the known fix is a per-router bitmap
of lengths per /16 (or markers, as in binary search on lengths); not needed for the RIBs
this model derives.

Duplicates
----------
Two routes of one router with the same prefix (after masking): the FIRST given is kept, the
later one is shadowed (never returned), as `routing.lookup` keeps the first of equal prefixes.
Host bits of a given network are masked off, as a router would.

Threading
---------
Immutable view, read-only arrays; lookups from any number of threads; kernels release the GIL.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import jit
from . import exact
from .bulk import route_queries

MAX_PREFIX_LEN = 32
LEN_BITS = 6
ROUTER_LIMIT = 1 << (32 - LEN_BITS)
"""Router ids must fit k0's 26 high bits."""
MISS = -1

_U1 = np.uint64(1)
_U32 = np.uint64(32)
_LO32 = np.uint64(0xFFFF_FFFF)
_LEN_BITS = np.uint64(LEN_BITS)


class LpmTable(NamedTuple):
    """Frozen lookup view (see the module docstring for the layout)."""

    buckets: np.ndarray  # uint64[B, 4, 2], read-only: the exact table of prefixes
    seed: np.uint64
    router_lengths: np.ndarray  # uint64[R], read-only
    size: int

    @property
    def n_routers(self) -> int:
        return self.router_lengths.shape[0]

    @property
    def exact(self) -> exact.ExactTable:
        return exact.ExactTable(self.buckets, self.seed, self.size)

    @property
    def nbytes(self) -> int:
        return self.buckets.nbytes + self.router_lengths.nbytes


def mask_of(prefix_len: int) -> int:
    return (0xFFFF_FFFF << (32 - prefix_len)) & 0xFFFF_FFFF


# ---- scalar lookup -----------------------------------------------------------------------------
def lookup(table: LpmTable, router: int, ip: int) -> int:
    """Route index of the longest prefix of ``router`` holding ``ip``, or -1. Plain Python."""
    router, ip = int(router), int(ip)
    if not (0 <= router < table.n_routers and 0 <= ip <= 0xFFFF_FFFF):
        return MISS
    bits = int(table.router_lengths[router])
    xt = table.exact
    for length in range(MAX_PREFIX_LEN, -1, -1):
        if bits >> length & 1:
            v = exact.lookup(xt, router << LEN_BITS | length, ip & mask_of(length))
            if v != MISS:
                return v
    return MISS


@jit(inline="always")
def get(buckets, seed, router_lengths, router, ip):
    """`lookup` for numba kernels: the arrays come in as arguments (inlined into the caller).
    Returns int64, -1 on miss."""
    r = np.int64(router)
    a = np.uint64(ip)
    if r < 0 or r >= router_lengths.shape[0] or a > _LO32:
        return np.int64(MISS)
    bits = router_lengths[r]
    rk = np.uint64(r) << _LEN_BITS
    length = MAX_PREFIX_LEN
    while bits != 0 and length >= 0:
        bit = _U1 << np.uint64(length)
        if bits & bit:
            bits ^= bit
            mask = (_LO32 << (_U32 - np.uint64(length))) & _LO32
            v = exact.get(buckets, seed, rk | np.uint64(length), a & mask)
            if v >= 0:
                return v
        length -= 1
    return np.int64(MISS)


# ---- bulk lookup -------------------------------------------------------------------------------
@jit
def _lookup_bulk_kernel(buckets, seed, router_lengths, routers, ips, out):
    for i in range(out.shape[0]):
        out[i] = get(buckets, seed, router_lengths, routers[i], ips[i])


def lookup_bulk(table: LpmTable, routers, ips, out: np.ndarray | None = None) -> np.ndarray:
    """``out[i] = lookup(table, routers[i], ips[i])``; returns ``out`` (int64[n])."""
    routers, ips, out = route_queries(routers, ips, np.uint64, out)
    _lookup_bulk_kernel(table.buckets, table.seed, table.router_lengths, routers, ips, out)
    return out


# ---- builder -----------------------------------------------------------------------------------
def build(routes, n_routers: int | None = None, *, max_load: float = exact.DEFAULT_MAX_LOAD) -> LpmTable:
    """Build from an iterable of ``(router_id, network_int, prefix_len, route_index)``.
    ``n_routers`` defaults to the largest router id + 1."""
    rows = list(routes)
    cols = np.array(rows, dtype=np.int64).reshape(len(rows), 4) if rows else np.zeros((0, 4), np.int64)
    return build_arrays(cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], n_routers, max_load=max_load)


def build_arrays(router_ids, networks, prefix_lens, route_indices, n_routers: int | None = None, *,
                 max_load: float = exact.DEFAULT_MAX_LOAD) -> LpmTable:
    """`build` from four columns of one length. Raises ValueError naming the first bad row."""
    rid = np.asarray(router_ids, dtype=np.int64)
    net = np.asarray(networks, dtype=np.int64)
    plen = np.asarray(prefix_lens, dtype=np.int64)
    idx = np.asarray(route_indices, dtype=np.int64)
    n = rid.shape[0]
    if not (rid.ndim == 1 and rid.shape == net.shape == plen.shape == idx.shape):
        raise ValueError("router_ids, networks, prefix_lens, route_indices must be 1-d of one length")
    if n_routers is None:
        n_routers = int(rid.max()) + 1 if n else 0
    if not 0 <= n_routers <= ROUTER_LIMIT:
        raise ValueError(f"n_routers {n_routers} must be in 0..{ROUTER_LIMIT}")
    for name, col, lo, hi in (("router_id", rid, 0, n_routers - 1), ("network", net, 0, 0xFFFF_FFFF),
                              ("prefix_len", plen, 0, MAX_PREFIX_LEN), ("route_index", idx, 0, (1 << 31) - 1)):
        bad = (col < lo) | (col > hi)
        if n and bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"route row {i}: {name} {int(col[i])} outside {lo}..{hi}")

    u_len = plen.astype(np.uint64)
    masks = (np.uint64(0xFFFF_FFFF) << (np.uint64(32) - u_len)) & np.uint64(0xFFFF_FFFF)
    k0 = (rid.astype(np.uint64) << np.uint64(LEN_BITS)) | u_len
    k1 = net.astype(np.uint64) & masks
    # keep the first route of each (router, prefix): np.unique returns first occurrences
    _, first = np.unique((k0 << np.uint64(32)) | k1, return_index=True)
    keep = np.sort(first)
    xt = exact.build(k0[keep], k1[keep], idx[keep], max_load=max_load)

    router_lengths = np.zeros(n_routers, np.uint64)
    np.bitwise_or.at(router_lengths, rid, np.uint64(1) << u_len)
    router_lengths.setflags(write=False)
    return LpmTable(xt.buckets, xt.seed, router_lengths, xt.size)
