"""Longest-prefix match for many routers: one shared multibit trie, stride 8 (8-8-8-8).

What?
-----
The fast path's routing table: ``(router instance, IPv4) -> route index`` with the semantics
of `fastpath.model.routing.lookup` (longest prefix; of equal prefixes the first given). It
is the lookup the pipeline runs three to five times per routed packet, so it must cost a few
cache-resident loads, not a hash probe per prefix length (`fastpath.tables.lpm`, ~75 ns a
lookup here against ~10 ns for this trie).

Layout
------
::

    nodes: int32[M, 256] — M trie nodes of 256 entries (1 KiB each); node r (< R) is the root
                           of router r. An entry is
                               >= 0   a route index (a leaf: longest match so far ends here)
                               == -1  no route
                               <= -2  a child node: index = -entry - 2
    n_routers: int        — R

A route of length L sits in level ``k = (L - 1) // 8`` (L = 0: level 0), where it fills the
``2**(8(k+1) - L)`` entries its prefix covers (controlled prefix expansion). Routes are
inserted shortest first, so longer ones overwrite; a child node created under an entry
inherits that entry's route in all 256 slots (leaf pushing), so a lookup returns the leaf it
stops on: no backtracking, at most four dependent loads. VPP's ip4 mtrie uses 16-8-8; a
16-bit root ply is 256 KiB a router, too much for 10k routers, so every ply here is 8 bits.

Cost
----
A T1 DR of the model (gateway /32, subnet, link /32, default) takes ~7 nodes (7 KiB); 200
namespaces ~1.4 MiB, cache-resident. Lookup: one load per level until a leaf (2-4).
Build: Python over the routes (~1 s for 100k routes).

Threading
---------
Immutable, read-only array; any number of concurrent lookups; kernels release the GIL.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import jit
from .bulk import route_queries

STRIDE = 8
FANOUT = 1 << STRIDE
LEVELS = 32 // STRIDE
NO_ROUTE = -1


class Mtrie(NamedTuple):
    nodes: np.ndarray  # int32[M, 256], read-only
    n_routers: int

    @property
    def nbytes(self) -> int:
        return self.nodes.nbytes


def build(router_ids, networks, prefix_lens, route_indices, n_routers: int) -> Mtrie:
    """Build from four columns; the first of equal (router, prefix) wins. ValueError names
    the first bad row."""
    rid = np.asarray(router_ids, np.int64)
    net = np.asarray(networks, np.int64)
    plen = np.asarray(prefix_lens, np.int64)
    idx = np.asarray(route_indices, np.int64)
    n = rid.shape[0]
    if not (rid.shape == net.shape == plen.shape == idx.shape and rid.ndim == 1):
        raise ValueError("router_ids, networks, prefix_lens, route_indices must be 1-d of one length")
    for name, col, lo, hi in (("router_id", rid, 0, n_routers - 1), ("network", net, 0, 0xFFFF_FFFF),
                              ("prefix_len", plen, 0, 32), ("route_index", idx, 0, (1 << 31) - 1)):
        if n and ((col < lo) | (col > hi)).any():
            i = int(np.argmax((col < lo) | (col > hi)))
            raise ValueError(f"route row {i}: {name} {int(col[i])} outside {lo}..{hi}")
    nodes = [np.full(FANOUT, NO_ROUTE, np.int32) for _ in range(n_routers)]
    seen: set[tuple[int, int, int]] = set()
    for i in np.argsort(plen, kind="stable"):  # shortest first; among equals, given order
        r, length = int(rid[i]), int(plen[i])
        prefix = int(net[i]) & ((0xFFFF_FFFF << (32 - length)) & 0xFFFF_FFFF)
        if (r, prefix, length) in seen:
            continue  # a later duplicate is shadowed
        seen.add((r, prefix, length))
        node = r
        level = 0 if length == 0 else (length - 1) // STRIDE
        for k in range(level):  # walk (or create) the path down to the route's level
            slot = (prefix >> (32 - STRIDE * (k + 1))) & (FANOUT - 1)
            e = int(nodes[node][slot])
            if e <= -2:
                node = -e - 2
            else:
                child = np.full(FANOUT, e, np.int32)  # leaf pushing: inherit the covering route
                nodes.append(child)
                nodes[node][slot] = -(len(nodes) - 1) - 2
                node = len(nodes) - 1
        shift = 32 - STRIDE * (level + 1)
        first = (prefix >> shift) & (FANOUT - 1)
        span = 1 << (STRIDE * (level + 1) - length)
        # shortest first: a child under this block would come from a longer, earlier route
        nodes[node][first:first + span] = int(idx[i])
    arr = np.stack(nodes) if nodes else np.zeros((0, FANOUT), np.int32)
    arr.setflags(write=False)
    return Mtrie(arr, n_routers)


def lookup(t: Mtrie, router: int, ip: int) -> int:
    """Route index of the longest prefix of ``router`` holding ``ip``, or -1. Plain Python."""
    router, ip = int(router), int(ip)
    if not (0 <= router < t.n_routers and 0 <= ip <= 0xFFFF_FFFF):
        return NO_ROUTE
    node = router
    for k in range(LEVELS):
        e = int(t.nodes[node, (ip >> (32 - STRIDE * (k + 1))) & (FANOUT - 1)])
        if e > -2:
            return e
        node = -e - 2
    return NO_ROUTE


@jit(inline="always")
def get(nodes, n_routers, router, ip):
    """`lookup` for kernels (arrays as arguments). Returns int64, -1 on miss."""
    r = np.int64(router)
    a = np.int64(ip)
    if r < 0 or r >= n_routers or a < 0 or a > 0xFFFF_FFFF:
        return np.int64(NO_ROUTE)
    node = r
    for k in range(LEVELS):
        e = np.int64(nodes[node, (a >> (32 - STRIDE * (k + 1))) & (FANOUT - 1)])
        if e > -2:
            return e
        node = -e - 2
    return np.int64(NO_ROUTE)


@jit
def _lookup_bulk_kernel(nodes, n_routers, routers, ips, out):
    for i in range(out.shape[0]):
        out[i] = get(nodes, n_routers, routers[i], ips[i])


def lookup_bulk(t: Mtrie, routers, ips, out: np.ndarray | None = None) -> np.ndarray:
    """``out[i] = lookup(t, routers[i], ips[i])``; returns ``out`` (int64[n])."""
    routers, ips, out = route_queries(routers, ips, np.int64, out)
    _lookup_bulk_kernel(t.nodes, np.int64(t.n_routers), routers, ips, out)
    return out
