"""Fused vs staged (VPP-style) under pytest-benchmark: one group per cluster, the engine's fused
kernel beside the staged variant of `bench/staged.py` (vectors of 256 and the whole batch,
without and with prefetching). Each staged configuration's results are checked equal to the
fused ones before it is timed. ``bench/staged.py`` prints the same comparison as a table.

    pytest bench/test_bench_staged.py --benchmark-only [--bench-quick]
"""

from __future__ import annotations

import numpy as np
import pytest
import staged
import workload
from workload import CLUSTERS

from fastpath.packets import Results

DESIGNS = {
    "fused": None,
    "staged-256": (256, 0),
    "staged-256-prefetch": (256, staged.PREFETCH_AHEAD),
    "staged-whole": (staged.WHOLE, 0),
    "staged-whole-prefetch": (staged.WHOLE, staged.PREFETCH_AHEAD),
}


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_fused_vs_staged(benchmark, dataplanes, path_batches, cluster, design):
    dp = dataplanes[cluster]
    batch = path_batches[cluster]
    n = workload.batch_size(batch)
    rn = staged.Runner(dp, batch)
    if DESIGNS[design] is None:
        fn = lambda: rn.fused(bool(dp.dp.deep_prefetch))  # the engine's own choice
    else:
        size, ahead = DESIGNS[design]
        fn = lambda: rn.staged(size, ahead)
        fn()
        ref = dp.forward(batch).results
        for field in Results._fields:
            assert np.array_equal(getattr(rn.out, field), getattr(ref, field)), field
    benchmark.group = f"fused vs staged @ {cluster}"
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(packets=n, M_packets_per_s=round(n / best / 1e6, 2),
                                ns_per_packet=round(1e9 * best / n, 1))
