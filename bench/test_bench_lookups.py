"""Each bulk lookup kernel beside its baselines, one thread (see `bench/cases.py`).

One benchmark group per table and cluster, so pytest-benchmark's table shows the kernel and
its baselines side by side: ``fastpath`` (the kernel), ``numpy`` (`np.searchsorted`),
``gather`` (a numba random-gather loop over an array of the table's byte size: the memory
system's limit), for the exact tables ``gather2`` (two random reads a lookup: the lines a
cuckoo lookup that fetches both buckets reads) and, for routing, ``pytricia`` (a Python loop
over one PyTricia per router). Every implementation answers the same queries; ``extra_info``
holds the rate in M lookups/s.
"""

from __future__ import annotations

import pytest
import workload
from workload import CLUSTERS

EXACT_IMPLS = ("fastpath", "numpy", "gather", "gather2")
ROUTE_IMPLS = ("fastpath", "numpy", "pytricia", "gather")


def _run(benchmark, case, impl: str) -> None:
    if impl == "fastpath":
        fn, n = case.kernel, case.n
    else:
        fn, n = case.baselines[impl]
    benchmark.group = f"{case.label} @ {case.cluster}"
    benchmark.extra_info.update(lookups=n, table_bytes=case.table_bytes, entries=case.entries, **case.extra)
    benchmark.pedantic(fn, rounds=3 if impl == "pytricia" else 5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["M_lookups_per_s"] = round(n / benchmark.stats.stats.min / 1e6, 2)


@pytest.mark.parametrize("impl", EXACT_IMPLS)
@pytest.mark.parametrize("table", workload.EXACT_TABLES)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_exact_lookup_bulk(benchmark, lookup_cases, cluster, table, impl):
    case = lookup_cases[cluster].get(table)
    if case is None:
        pytest.skip(f"the {cluster} bundle has no exact table {table}")
    _run(benchmark, case, impl)


@pytest.mark.parametrize("impl", ROUTE_IMPLS)
@pytest.mark.parametrize("kind", ("lpm", "mtrie"))
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_route_lookup_bulk(benchmark, lookup_cases, cluster, kind, impl):
    case = lookup_cases[cluster].get(kind)
    if case is None:
        pytest.skip(f"no {kind} route table in this engine")
    _run(benchmark, case, impl)
