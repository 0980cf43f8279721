"""The benchmarks' workload: clusters, the seed's path traffic, and the keys each table is asked.

Shared by `bench/run.py` and the pytest-benchmark suites (`bench/conftest.py`), so both time
the same thing. Everything is seeded: two runs build the same packets and the same keys.

Clusters
--------
- ``default``: the seed scenario (`fastpath.model.default_scenario`): 16 pods, tables of a few
  hundred bytes, all in L1.
- ``big``: ``generate(1000, 4, 200, 250)`` = 1M pods on 4,000 nodes, 200 namespaces, ~116 MB of
  tables; with ``quick`` a 100k-pod cut of it (100 hosts, 50 namespaces) for smoke runs.

Traffic (`path_batch`)
----------------------
The seed's path, pod -> pod on ANOTHER host in ANOTHER namespace, drawn uniformly among such
pairs from the ``cluster.pods`` columns: source and destination ingress by pod row, MACs 0 (the
sender's stack resolves them: the gateway's router MAC here), TTL 64, UDP, IPv4 length 100,
random ports. A packet crosses the source T1, the T0, the destination T1 (and the edge when a
T1 or the T0 has a service router there), then one Geneve tunnel to the destination host.

Lookup keys
-----------
`stored_keys` reads the keys straight out of a built exact table (occupied slots, per the layout
in `fastpath.tables.exact`), so the benchmark needs no copy of the compiler's key rules.
`exact_queries` draws lookups uniformly among the stored keys (all hits: the path traffic's
lookups hit). `lpm_queries` draws a router instance uniformly among all of them and a
destination uniformly among the pod IPs (the path traffic's destinations).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastpath.model import default_scenario, generate
from fastpath.model.cluster import Cluster
from fastpath.packets import INGRESS_POD, PacketBatch, make_batch
from fastpath.tables import exact

BIG = {"hosts": 1000, "nodes_per_host": 4, "namespaces": 200, "pods_per_node": 250}
"""The 1M-pod cluster of issue 3."""
BIG_QUICK = {"hosts": 100, "nodes_per_host": 4, "namespaces": 50, "pods_per_node": 250}
"""100k pods: the ``--quick`` stand-in for `BIG`."""

CLUSTERS = ("default", "big")
"""Cluster ids of the suites: the seed scenario and the 1M-pod cluster (100k when quick)."""

EXACT_TABLES = ("ovs_mac", "vif", "segment_l2", "neighbor")
"""The exact-match tables of a `Tables` bundle, by attribute name."""

PATH_TTL = 64
PATH_PROTO = 17
PATH_LENGTH = 100


def default_cluster() -> Cluster:
    return default_scenario()


def big_cluster(quick: bool = False) -> Cluster:
    return generate(**(BIG_QUICK if quick else BIG), seed=0)


def describe(cluster: Cluster) -> str:
    s = cluster.summary()
    return (f"{s['pods']:,} pods, {s['nodes']:,} nodes, {s['hosts']:,} hosts + {s['edges']} edge, "
            f"{s['namespaces']} namespaces")


# ---- traffic -----------------------------------------------------------------------------------
def pod_hosts(cluster: Cluster) -> np.ndarray:
    """int32[P]: the host (hypervisor) index of every pod."""
    node_host = np.array([cluster.host_index[n.host] for n in cluster.nodes], np.int32)
    return node_host[cluster.pods.node]


def path_pairs(cluster: Cluster, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n (source pod, destination pod) rows, uniform among pairs on different hosts and in
    different namespaces (rejection sampling, vectorised)."""
    host = pod_hosts(cluster)
    ns = cluster.pods.namespace
    n_pods = len(cluster.pods)
    rng = np.random.default_rng(seed)
    src_parts, dst_parts, have = [], [], 0
    for _ in range(1000):
        if have >= n:
            break
        s = rng.integers(0, n_pods, 2 * n + 64)
        d = rng.integers(0, n_pods, 2 * n + 64)
        ok = (host[s] != host[d]) & (ns[s] != ns[d])
        src_parts.append(s[ok])
        dst_parts.append(d[ok])
        have += int(ok.sum())
    else:
        raise ValueError("the cluster has (almost) no pod pairs on different hosts in different namespaces")
    return np.concatenate(src_parts)[:n], np.concatenate(dst_parts)[:n]


def path_batch(cluster: Cluster, n: int, seed: int = 0) -> PacketBatch:
    """The seed's path traffic (see the module docstring): n packets."""
    src, dst = path_pairs(cluster, n, seed)
    ports = np.random.default_rng([seed, 1]).integers(0, 1 << 32, n, dtype=np.int64)
    ip = cluster.pods.ip
    return make_batch(ingress_kind=np.full(n, INGRESS_POD, np.uint8), ingress_id=src.astype(np.int32),
                      src_ip=ip[src], dst_ip=ip[dst], proto=PATH_PROTO,
                      sport=(ports & 0xFFFF) | 1024, dport=(ports >> 16) & 0xFFFF,
                      ttl=PATH_TTL, length=PATH_LENGTH)


def batch_size(batch: PacketBatch) -> int:
    return batch.ingress_kind.shape[0]


# ---- exact tables --------------------------------------------------------------------------------
class StoredKeys(NamedTuple):
    k0: np.ndarray  # uint64[n]
    k1: np.ndarray  # uint64[n]
    value: np.ndarray  # int64[n]
    bucket: np.ndarray  # int64[n] — bucket the key sits in


_EMPTY_VALUE = np.uint64(0xFFFF_FFFF)
_LO32 = np.uint64(0xFFFF_FFFF)
_S32 = np.uint64(32)


def stored_keys(table: exact.ExactTable) -> StoredKeys:
    """Every key of an exact table, read from its occupied slots."""
    b = table.buckets
    w0 = b[:, :, 0].ravel()
    w1 = b[:, :, 1].ravel()
    occ = np.flatnonzero((w0 >> _S32) != _EMPTY_VALUE)
    vals = (w0[occ] >> _S32).astype(np.uint32).view(np.int32).astype(np.int64)
    keys = StoredKeys(w0[occ] & _LO32, w1[occ].copy(), vals, (occ // exact.SLOTS).astype(np.int64))
    if keys.k0.shape[0] != table.size:
        raise AssertionError(f"read {keys.k0.shape[0]} keys from a table of {table.size}")
    return keys


def splitmix_hash(k0: np.ndarray, k1: np.ndarray, seed) -> np.ndarray:
    """`fastpath.tables.exact`'s key hash, vectorised in numpy (uint64 arithmetic wraps)."""

    def mix(x):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58_476D_1CE4_E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D0_49BB_1331_11EB)
        return x ^ (x >> np.uint64(31))

    with np.errstate(over="ignore"):
        return mix(k1.astype(np.uint64) ^ mix(k0.astype(np.uint64) ^ np.uint64(seed)))


def first_bucket_share(table: exact.ExactTable, keys: StoredKeys | None = None) -> float:
    """Share of keys sitting in their first bucket (a lookup of those reads one line)."""
    keys = keys if keys is not None else stored_keys(table)
    if keys.k0.shape[0] == 0:
        return 1.0
    h = splitmix_hash(keys.k0, keys.k1, table.seed)
    b1 = ((h & _LO32) * np.uint64(table.n_buckets)) >> _S32
    return float(np.mean(b1.astype(np.int64) == keys.bucket))


class ExactQueries(NamedTuple):
    k0s: np.ndarray  # uint64[n]
    k1s: np.ndarray  # uint64[n]
    expected: np.ndarray  # int64[n]


def exact_queries(keys: StoredKeys, n: int, seed: int = 0) -> ExactQueries:
    """n lookups drawn uniformly among the stored keys (hits), in random order."""
    pick = np.random.default_rng(seed).integers(0, keys.k0.shape[0], n)
    return ExactQueries(np.ascontiguousarray(keys.k0[pick]), np.ascontiguousarray(keys.k1[pick]),
                        keys.value[pick])


# ---- routes --------------------------------------------------------------------------------------
class LpmQueries(NamedTuple):
    routers: np.ndarray  # int64[n]
    ips: np.ndarray  # uint64[n]


def lpm_queries(tables, cluster: Cluster, n: int, seed: int = 0) -> LpmQueries:
    """n (router instance, destination) pairs: any router, any pod IP, uniformly."""
    rng = np.random.default_rng([seed, 2])
    routers = rng.integers(0, tables.n_routers, n).astype(np.int64)
    ips = cluster.pods.ip[rng.integers(0, len(cluster.pods), n)].astype(np.uint64)
    return LpmQueries(routers, ips)


def prefix_histogram(tables) -> dict[int, int]:
    """Routes per prefix length (every router instance's routes, duplicates included)."""
    counts = np.bincount(tables.route_prefix_len.astype(np.int64), minlength=33)
    return {int(length): int(c) for length, c in enumerate(counts) if c}


def popcount64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1).astype(np.int64)


def lpm_probes(lpm_table, tables, routers: np.ndarray, results: np.ndarray) -> np.ndarray:
    """Exact-table probes each lookup of ``lpm_table`` (a `fastpath.tables.lpm.LpmTable`) made:
    the router's lengths from /32 down to the matched one (all of them on a miss)."""
    bits = lpm_table.router_lengths[routers].astype(np.uint64)
    hit = results >= 0
    plen = np.where(hit, tables.route_prefix_len[np.where(hit, results, 0)].astype(np.int64), 0)
    return popcount64(bits >> plen.astype(np.uint64))
