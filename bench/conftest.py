"""Fixtures of issue 3's pytest-benchmark suites: clusters, compiled tables, packet batches.

    pytest bench/ --benchmark-only                   # the default scenario and the 1M-pod cluster
    pytest bench/ --benchmark-only --bench-quick     # 100k pods and smaller batches (smoke)

bench/ lies outside ``testpaths`` (pyproject.toml): the plain ``pytest`` run never collects
it, and timings never become asserts in ``tests/``. Everything here is session-scoped and
built once; the workload itself (clusters, traffic, keys, baselines) is in
`bench/workload.py`, `bench/baselines.py` and `bench/cases.py`, shared with `bench/run.py`.
Cluster ids in test names: ``default`` = the seed scenario, ``big`` = 1M pods (100k with
``--bench-quick``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# the suites import the shared bench modules; --import-mode=importlib leaves sys.path alone
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases
import pytest
import workload

from fastpath.compile import compile_cluster
from fastpath.dataplane.api import Dataplane

LOOKUPS = 1 << 20
PACKETS = 1 << 20
QUICK_LOOKUPS = 1 << 16
QUICK_PACKETS = 1 << 16


def pytest_addoption(parser):
    parser.addoption("--bench-quick", action="store_true", default=False,
                     help="fastpath benchmarks: 100k pods instead of 1M, batches of 64k (a smoke run)")


@pytest.fixture(scope="session")
def quick(request) -> bool:
    return bool(request.config.getoption("--bench-quick"))


@pytest.fixture(scope="session")
def clusters(quick):
    return {"default": workload.default_cluster(), "big": workload.big_cluster(quick)}


@pytest.fixture(scope="session")
def compiled(clusters):
    return {k: compile_cluster(c) for k, c in clusters.items()}


@pytest.fixture(scope="session")
def dataplanes(clusters, compiled):
    return {k: Dataplane(c, compiled[k]) for k, c in clusters.items()}


@pytest.fixture(scope="session")
def path_batches(clusters, quick):
    """The seed's path traffic: pod -> pod on another host in another namespace."""
    n = QUICK_PACKETS if quick else PACKETS
    return {k: workload.path_batch(c, n) for k, c in clusters.items()}


@pytest.fixture(scope="session")
def lookup_cases(clusters, compiled, quick):
    """cluster -> {case key -> `cases.LookupCase`}, every case checked against its baselines.
    Keys: exact tables by name (``ovs_mac`` ...), route tables by kind (``lpm``, ``mtrie``)."""
    n = QUICK_LOOKUPS if quick else LOOKUPS
    out = {}
    for k, c in clusters.items():
        found = {}
        for case in cases.lookup_cases(k, c, compiled[k], n):
            case.check()
            found[case.name if case.kind == "exact" else case.kind] = case
        out[k] = found
    return out
