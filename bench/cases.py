"""The lookup benchmarks: each bulk lookup kernel of the bundle beside its baselines.

A `LookupCase` is one table of one cluster: the fastpath bulk kernel on prepared queries,
and the baselines of `bench/baselines.py` on the same queries. `check()` asserts that they
all return the same answers before anything is timed. Cases are found from the compiled
bundle itself — every `ExactTable` and every route table (`LpmTable`, and `Mtrie` where the
bundle has one) among the `Tables` fields — so they follow the engine as its tables change.

Two exceptions, both so the benchmark keeps asking what issue 3 asks:
- neighbor: where the compiler keeps a segment's ARP table as a dense array (one load by
  address) its hash holds only the sparse segments — none in these clusters. The case then
  builds the exact table of every port's ``(segment, ip)`` key itself, at the compiler's load,
  and says so in its note.
- LPM: when the bundle has no `LpmTable` (a trie replaced it), one is built from the route
  columns, so the hash-per-length LPM is still measured beside the trie.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import baselines
import numpy as np
import workload

from fastpath.compile.switching import COMPILE_MAX_LOAD
from fastpath.tables import exact, lpm

try:  # the multibit trie, where the engine has one
    from fastpath.tables import mtrie
except ImportError:  # pragma: no cover - depends on the engine's version
    mtrie = None

PYTRICIA_SHARE = 1
"""pytricia runs on 1/PYTRICIA_SHARE of the queries (1: all, so pytest-benchmark's ratios read directly)."""


@dataclass
class LookupCase:
    cluster: str  # "default" | "big"
    name: str  # table name in the bundle ("ovs_mac", "route_lpm", ...)
    kind: str  # "exact" | "lpm" | "mtrie"
    table_bytes: int
    entries: int
    n: int  # lookups per kernel call
    kernel: Callable[[], np.ndarray]
    baselines: dict[str, tuple[Callable[[], object], int]] = field(default_factory=dict)  # name -> (fn, lookups)
    note: str = ""
    expected: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.kind != self.name else self.name

    def check(self) -> None:
        """The kernel and every baseline agree (pytricia on its share of the queries)."""
        got = np.asarray(self.kernel())
        if self.expected is not None and not np.array_equal(got, self.expected):
            raise AssertionError(f"{self.cluster} {self.name}: kernel differs from the stored values "
                                 f"on {int((got != self.expected).sum())} lookups")
        for bname, (fn, n) in self.baselines.items():
            if bname.startswith("gather"):
                continue
            ref = np.asarray(fn())
            if not np.array_equal(ref, got[:n]):
                raise AssertionError(f"{self.cluster} {self.name}: {bname} differs from the kernel on "
                                     f"{int((ref != got[:n]).sum())} of {n} lookups")


def _gather_baseline(nbytes: int, n: int, seed: int, lines: int = 1) -> tuple[Callable[[], np.ndarray], int]:
    arr = baselines.gather_array(nbytes, seed)
    idx = baselines.gather_indices(arr, n, seed)
    out = np.empty(n, np.uint64)
    if lines == 1:
        return (lambda: baselines.random_gather(arr, idx, out)), n
    idx2 = baselines.gather_indices(arr, n, seed + 1)
    return (lambda: baselines.random_gather2(arr, idx, idx2, out)), n


def exact_case(cluster_name: str, name: str, table: exact.ExactTable, n: int, seed: int = 0,
               note: str = "") -> LookupCase:
    keys = workload.stored_keys(table)
    q = workload.exact_queries(keys, n, seed)
    out = np.empty(n, np.int64)
    ref = baselines.SortedKeys(keys.k0, keys.k1, keys.value)
    case = LookupCase(
        cluster_name, name, "exact", table.nbytes, table.size, n,
        kernel=functools.partial(exact.lookup_bulk, table, q.k0s, q.k1s, out),
        baselines={"numpy": ((lambda: ref.lookup(q.k0s, q.k1s)), n),
                   "gather": _gather_baseline(table.nbytes, n, seed),
                   "gather2": _gather_baseline(table.nbytes, n, seed, lines=2)},
        note=note or f"load {table.load:.2f}", expected=q.expected)
    case.extra = {"load": table.load, "first_bucket": workload.first_bucket_share(table, keys),
                  "numpy_method": ref.method, "buckets": table.n_buckets}
    return case


def _all_neighbors(tables) -> exact.ExactTable:
    """The exact table of every port's (segment, ip) -> port, as the compiler builds a hash."""
    rows = np.arange(tables.port_ip.shape[0], dtype=np.int64)
    return exact.build(tables.port_segment.astype(np.uint64), tables.port_ip.astype(np.uint64), rows,
                       max_load=COMPILE_MAX_LOAD)


def route_case(cluster_name: str, name: str, kind: str, table, tables, cluster, n: int, seed: int = 0,
               note: str = "") -> LookupCase:
    q = workload.lpm_queries(tables, cluster, n, seed)
    out = np.empty(n, np.int64)
    bulk = lpm.lookup_bulk if kind == "lpm" else mtrie.lookup_bulk
    kernel = functools.partial(bulk, table, q.routers, q.ips, out)
    sorted_prefixes = baselines.SortedPrefixes(tables)
    trie = baselines.PytriciaRoutes(tables)
    n_py = max(1, n // PYTRICIA_SHARE)
    r_list = q.routers[:n_py].tolist()
    ip_list = q.ips[:n_py].tolist()
    case = LookupCase(
        cluster_name, name, kind, table.nbytes, int(getattr(table, "size", tables.n_routes)), n, kernel=kernel,
        baselines={"numpy": ((lambda: sorted_prefixes.lookup(q.routers, q.ips)), n),
                   "pytricia": ((lambda: trie.lookup(r_list, ip_list)), n_py),
                   "gather": _gather_baseline(table.nbytes, n, seed)},
        note=note)
    res = np.asarray(kernel()).copy()
    case.extra = {"miss_share": float((res < 0).mean()), "routers": tables.n_routers}
    if kind == "lpm":
        case.extra["probes"] = float(workload.lpm_probes(table, tables, q.routers, res).mean())
    return case


def lookup_cases(cluster_name: str, cluster, tables, n: int, seed: int = 0) -> list[LookupCase]:
    """Every lookup kernel of the bundle, in bundle order (see the module docstring)."""
    cases = []
    has_lpm = False
    for f in dataclasses.fields(tables):
        v = getattr(tables, f.name)
        if isinstance(v, exact.ExactTable):
            if f.name == "neighbor" and v.size < tables.n_ports // 2:
                full = _all_neighbors(tables)
                cases.append(exact_case(cluster_name, f.name, full, n, seed,
                                        note=f"load {full.load:.2f}; all {full.size:,} ports' keys, built by the "
                                             f"bench: the bundle's hash holds {v.size:,} (sparse segments; "
                                             f"dense ones are one load in neighbor_dense)"))
            elif v.size:
                cases.append(exact_case(cluster_name, f.name, v, n, seed))
        elif isinstance(v, lpm.LpmTable):
            has_lpm = True
            cases.append(route_case(cluster_name, f.name, "lpm", v, tables, cluster, n, seed))
        elif mtrie is not None and isinstance(v, mtrie.Mtrie):
            cases.append(route_case(cluster_name, f.name, "mtrie", v, tables, cluster, n, seed))
    if not has_lpm:
        built = lpm.build_arrays(tables.route_router, tables.route_network, tables.route_prefix_len,
                                 np.arange(tables.n_routes), tables.n_routers)
        cases.append(route_case(cluster_name, "route_lpm", "lpm", built, tables, cluster, n, seed,
                                note="built by the bench from the route columns (the bundle has no LpmTable)"))
    return cases
