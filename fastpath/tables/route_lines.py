"""Routers of a few routes: the whole table in one cache line, in front of the trie.

Why
---
Every T1 DR of the model holds four routes (its gateway /32, its subnet, its router link /32,
the default to the T0). In the multibit trie (`fastpath.tables.mtrie`) such a router is ~7
nodes of 1 KiB, and a lookup 3-4 dependent loads; 200 namespaces make 1.4 MB of T1 tries,
beyond L2, and a packet crosses two T1s. Here a router of at most `SLOTS` distinct prefixes is
one 64-byte line, its prefixes longest first: a lookup is one line (200 T1s: 12.5 KiB, resident)
and at most four compares. Routers with more prefixes (the T0) keep the trie.

Layout (``route_lines: int64[R, 2 * SLOTS]``, row r = router r)
--------------------------------------------------------------------
::

    word 2j:     mask << 32 | network   of the j-th longest prefix
    word 2j + 1: its route index (>= 0); `END` after the last; `TRIE` in word 1: not a small router

Of two equal prefixes the first given wins, as in `fastpath.model.routing.lookup` and the trie.

API: `build` (from the route columns), `lookup` (plain Python), `get` (the kernels' accessor:
a route index, -1 for none, `TRIE` when the caller must ask the trie).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

SLOTS = 4
END = -1
TRIE = -2
_LO32 = np.uint64(0xFFFF_FFFF)
_HIGH = np.uint64(32)


def build(router_ids, networks, prefix_lens, n_routers: int) -> np.ndarray:
    """``int64[R, 2 * SLOTS]`` from the route columns (route t of router ``router_ids[t]`` is
    ``networks[t]/prefix_lens[t]``; route index = t)."""
    lines = np.full((n_routers, 2 * SLOTS), END, np.int64)
    lines[:, 1] = TRIE
    by_router: dict[int, list[int]] = {}
    for t, r in enumerate(np.asarray(router_ids).tolist()):
        by_router.setdefault(r, []).append(t)
    nets, lens = np.asarray(networks).tolist(), np.asarray(prefix_lens).tolist()
    for r, routes in by_router.items():
        seen, keep = set(), []
        for t in routes:  # the first of equal prefixes
            key = (nets[t], lens[t])
            if key not in seen:
                seen.add(key)
                keep.append(t)
        if len(keep) > SLOTS:
            continue
        keep.sort(key=lambda t: -lens[t])  # stable: longest first
        lines[r, 1] = END
        for j, t in enumerate(keep):
            mask = (0xFFFF_FFFF << (32 - lens[t])) & 0xFFFF_FFFF if lens[t] else 0
            w = (mask << 32) | (nets[t] & mask)
            lines[r, 2 * j] = w - (1 << 64) if w >> 63 else w  # the uint64 word, stored as int64
            lines[r, 2 * j + 1] = t
    return lines


def lookup(lines: np.ndarray, router: int, ip: int) -> int:
    """Route index for ``ip`` at a small router, -1 for none, `TRIE` for a router not here."""
    if int(lines[router, 1]) == TRIE:
        return TRIE
    for j in range(SLOTS):
        t = int(lines[router, 2 * j + 1])
        if t < 0:
            return END
        w = int(lines[router, 2 * j]) & 0xFFFF_FFFF_FFFF_FFFF
        if ip & (w >> 32) == w & 0xFFFF_FFFF:
            return t
    return END


@jit(inline="always")
def get(lines, router, ip):
    """`lookup` for kernels (``router`` already in range)."""
    if lines[router, 1] == TRIE:
        return np.int64(TRIE)
    a = np.uint64(ip)
    for j in range(SLOTS):
        t = lines[router, 2 * j + 1]
        if t < 0:
            return np.int64(END)
        w = np.uint64(lines[router, 2 * j])
        if (a & (w >> _HIGH)) == (w & _LO32):
            return np.int64(t)
    return np.int64(END)
