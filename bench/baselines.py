"""What the lookup kernels are measured against, run in the same process.

- `SortedKeys`: exact match in plain vectorised numpy — `np.searchsorted` over the sorted keys.
  Keys are packed into one uint64 (``k0 << k1_bits | k1``) when they fit (vif, segment_l2,
  neighbor); ovs_mac's 24 + 48 bits do not, so there the sorted array is of 64-bit key hashes
  (checked collision-free) and a hit is confirmed on both key words.
- `SortedPrefixes`: LPM in plain numpy — one sorted array of ``router << 32 | network`` per
  prefix length, searched longest length first, each query resolved at its first hit.
- `PytriciaRoutes`: one `pytricia.PyTricia` per router instance and a Python loop over the
  queries: the usual way to do LPM from Python.
- `random_gather`: a numba loop reading one random uint64 per lookup from an array of the
  table's byte size: one cache line per lookup with nothing else to do, the memory system's
  limit for a table of that size. (A cuckoo lookup reads one or two lines, and hashes.)
  `random_gather2` reads two random words per lookup: the traffic of an exact lookup that
  fetches both of its buckets (a reference for the exact tables, not a target).

Each baseline returns what the kernel returns (value or route index, -1 on a miss), so
`bench/` checks their answers against each other before timing.
"""

from __future__ import annotations

import numpy as np
from workload import splitmix_hash

from fastpath._jit import jit

_MISS = -1


class SortedKeys:
    """Exact match by binary search over sorted keys (see the module docstring)."""

    def __init__(self, k0: np.ndarray, k1: np.ndarray, values: np.ndarray):
        k0 = k0.astype(np.uint64)
        k1 = k1.astype(np.uint64)
        self.k0_bits = int(k0.max()).bit_length() if k0.size else 0
        self.k1_bits = int(k1.max()).bit_length() if k1.size else 0
        self.packed = self.k0_bits + self.k1_bits <= 64
        keys = self._key(k0, k1)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.values = values.astype(np.int64)[order]
        if self.keys.size and np.any(self.keys[1:] == self.keys[:-1]):
            raise ValueError("SortedKeys: two keys pack or hash to one uint64")
        if not self.packed:
            self.k0 = k0[order]
            self.k1 = k1[order]

    @property
    def method(self) -> str:
        return "packed key" if self.packed else "64-bit key hash"

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes + (0 if self.packed else self.k0.nbytes + self.k1.nbytes)

    def _key(self, k0, k1):
        if self.packed:
            return (k0 << np.uint64(self.k1_bits)) | k1 if self.k1_bits < 64 else k1
        return splitmix_hash(k0, k1, 0)

    def lookup(self, k0s: np.ndarray, k1s: np.ndarray) -> np.ndarray:
        q = self._key(k0s, k1s)
        pos = np.minimum(np.searchsorted(self.keys, q), self.keys.shape[0] - 1)
        hit = self.keys[pos] == q
        if self.packed:
            # a query wider than the stored keys would alias after packing: it misses
            if self.k1_bits < 64:
                hit &= (k1s >> np.uint64(self.k1_bits)) == 0
            if self.k0_bits < 64:
                hit &= (k0s >> np.uint64(self.k0_bits)) == 0
        else:
            hit &= (self.k0[pos] == k0s) & (self.k1[pos] == k1s)
        return np.where(hit, self.values[pos], _MISS)


def _routes(tables):
    """The routes the LPM holds: (router, network masked, length, route index), the first of
    equal prefixes of a router kept (as `fastpath.tables.lpm` does)."""
    rid = tables.route_router.astype(np.uint64)
    plen = tables.route_prefix_len.astype(np.uint64)
    mask = (np.uint64(0xFFFF_FFFF) << (np.uint64(32) - plen)) & np.uint64(0xFFFF_FFFF)
    net = tables.route_network.astype(np.uint64) & mask
    key = (rid << np.uint64(38)) | (plen << np.uint64(32)) | net
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    return rid[keep], net[keep], plen[keep].astype(np.int64), keep.astype(np.int64)


class SortedPrefixes:
    """LPM by one binary search per prefix length, longest first (see the module docstring)."""

    def __init__(self, tables):
        rid, net, plen, idx = _routes(tables)
        self.levels = []  # (length, mask, sorted keys, route indices), longest first
        for length in sorted(set(plen.tolist()), reverse=True):
            sel = plen == length
            keys = (rid[sel] << np.uint64(32)) | net[sel]
            order = np.argsort(keys)
            mask = np.uint64((0xFFFF_FFFF << (32 - length)) & 0xFFFF_FFFF)
            self.levels.append((length, mask, keys[order], idx[sel][order]))

    def lookup(self, routers: np.ndarray, ips: np.ndarray) -> np.ndarray:
        out = np.full(routers.shape[0], _MISS, np.int64)
        r = routers.astype(np.uint64) << np.uint64(32)
        for _, mask, keys, idx in self.levels:
            q = r | (ips & mask)
            pos = np.minimum(np.searchsorted(keys, q), keys.shape[0] - 1)
            take = (keys[pos] == q) & (out == _MISS)
            out[take] = idx[pos[take]]
        return out


class PytriciaRoutes:
    """One PyTricia per router instance; `lookup` is a Python loop over the queries."""

    def __init__(self, tables):
        import pytricia

        self.tries = [pytricia.PyTricia(32) for _ in range(tables.n_routers)]
        rid, net, plen, idx = _routes(tables)
        for r, n, length, i in zip(rid.tolist(), net.tolist(), plen.tolist(), idx.tolist()):
            self.tries[r].insert(n, length, i)

    def lookup(self, routers: list[int], ips: list[int]) -> list[int]:
        tries = self.tries
        return [tries[r].get(ip, _MISS) for r, ip in zip(routers, ips)]


# ---- the memory system's limit --------------------------------------------------------------------
def gather_array(nbytes: int, seed: int = 0) -> np.ndarray:
    """uint64 array of ``nbytes`` (rounded up to 8), filled (every page touched)."""
    n = max(1, -(-nbytes // 8))
    return np.random.default_rng([seed, 3]).integers(0, 1 << 63, n, dtype=np.int64).view(np.uint64)


def gather_indices(array: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng([seed, 4]).integers(0, array.shape[0], n, dtype=np.int64)


@jit
def random_gather(array, idx, out):
    """``out[i] = array[idx[i]]``: one random read per element."""
    for i in range(idx.shape[0]):
        out[i] = array[idx[i]]


@jit
def random_gather2(array, idx, idx2, out):
    """Two independent random reads per element: the lines a (2, 4) cuckoo lookup that fetches
    both of its buckets reads (`fastpath.tables.exact` prefetches both, always)."""
    for i in range(idx.shape[0]):
        out[i] = array[idx[i]] ^ array[idx2[i]]


@jit
def stream_columns(b, o):
    """Every column of a `PacketBatch` read and every column of its `Results` written, per
    packet, with next to no work between: the bytes a flow-cache hit moves (~40 read, ~51
    written a packet, and the written lines read first), and nothing else. Its speed-up on two
    threads is the memory system's for the engine's cached traffic (`bench/stages.py`)."""
    for i in range(b.ttl.shape[0]):
        t = b.ttl[i]
        o.verdict[i] = b.ingress_kind[i] & 3
        o.reason[i] = b.proto[i] & 15
        o.dev_kind[i] = t & 7
        o.dev_id[i] = b.ingress_id[i]
        o.egress_port[i] = b.sport[i]
        o.ttl_out[i] = t - 1
        o.hops[i] = b.reply[i]
        o.last_ip[i] = b.dst_ip[i]
        o.n_tunnels[i] = b.vlan[i] & 3
        o.tun_src_host[i] = b.src_ip[i] & 1023
        o.tun_dst_host[i] = b.dst_ip[i] & 1023
        o.tun_vni[i] = b.dport[i]
        o.underlay_bytes[i] = b.length[i] + 50
        o.via_edge[i] = False
        o.dfw_at_src[i] = b.src_mac[i] & 255
        o.dfw_at_dst[i] = b.dst_mac[i] & 255
        o.service[i] = -1
        o.backend[i] = -1
