"""Prefixes of the staged data path under pytest-benchmark, seed scenario only: a few ``upto=k``
of `fastpath.dataplane.graph.forward_staged` (the stage-by-stage increments are
``bench/stages.py``'s table), the whole staged kernel and the fused one, on the seed's worst
path traffic. Before anything is timed, the stage calls `bench/stages.reach` makes are checked
against `Dataplane.forward` (it raises otherwise), so the counts it reports are the engine's.

    pytest bench/test_bench_stages.py --benchmark-only [--bench-quick]
    PYTHONPATH=$PWD pytest -q bench/test_bench_stages.py --benchmark-disable   # each once, as a check
"""

from __future__ import annotations

import numpy as np
import pytest
import stages
import workload

from fastpath.dataplane import graph
from fastpath.dataplane.api import Dataplane
from fastpath.packets import Results

PREFIXES = (1, graph.GRAPH.index("dfw") + 1, graph.GRAPH.index("route") + 1, graph.GRAPH.index("tunnel") + 1)
"""ingress alone; the source side through the DFW; through routing; through the tunnel."""


@pytest.fixture(scope="module")
def seed_path(quick) -> stages.Workload:
    c = workload.default_cluster()
    st = Dataplane(c, engine="staged")
    n = stages.QUICK_PACKETS >> 2 if quick else stages.QUICK_PACKETS
    return stages.Workload("seed", "path", st, Dataplane(c, st.tables, engine="fused"), workload.path_batch(c, n))


@pytest.fixture(scope="module")
def runner(seed_path) -> stages.Runner:
    return stages.Runner(seed_path)


def test_reach_counts_the_engines_path(seed_path):
    """`reach` matched Dataplane.forward (or raised); its counts only ever fall along the path,
    except where the uplink's packets join the routed ones and at the final count."""
    r = stages.reach(seed_path)
    n = seed_path.batch.size
    assert tuple(r.packets) == graph.GRAPH
    assert r.packets["ingress"] == r.packets["count"] == n
    seq = [r.packets[k] for k in graph.GRAPH[:graph.GRAPH.index("segment") + 1]]
    assert all(a >= b for a, b in zip(seq, seq[1:]))
    assert r.route_hops >= r.packets["route"] and r.route_passes >= 1
    # every leg logged is a tunnel crossed by some packet
    ref = seed_path.staged.forward(seed_path.batch)
    assert r.legs == int(ref.results.n_tunnels.sum())


def test_full_prefix_is_the_engine(runner, seed_path):
    """``upto=FULL`` at kernel level gives Dataplane.forward's results (the timed thing is the engine)."""
    runner.prefix(graph.FULL)
    ref = seed_path.staged.forward(seed_path.batch).results
    for field in Results._fields:
        assert np.array_equal(getattr(runner.out, field), getattr(ref, field)), field


@pytest.mark.parametrize("k", PREFIXES, ids=lambda k: f"upto{k}-{graph.GRAPH[k - 1]}")
def test_prefix(benchmark, runner, k):
    benchmark.group = "staged prefixes @ seed, path traffic"
    benchmark.pedantic(lambda: runner.prefix(k), rounds=5, iterations=1, warmup_rounds=1)
    _per_packet(benchmark, runner.n)


@pytest.mark.parametrize("design", ("staged", "fused"))
def test_whole_kernel(benchmark, runner, design):
    benchmark.group = "staged prefixes @ seed, path traffic"
    benchmark.pedantic(runner.staged if design == "staged" else runner.fused, rounds=5, iterations=1,
                       warmup_rounds=1)
    _per_packet(benchmark, runner.n)


def _per_packet(benchmark, n: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: no statistics
        return
    best = stats.stats.min
    benchmark.extra_info.update(packets=n, ns_per_packet=round(1e9 * best / n, 1))
