"""End to end: `Dataplane.forward` on the seed's path traffic, 1 and 2 threads; and the compile.

Traffic: pod -> pod on another host in another namespace (`workload.path_batch`): the source
T1, the T0 and the destination T1 route it, one Geneve tunnel carries it. One benchmark group
per cluster, so the 2-thread row reads as a speedup against the 1-thread one. ``extra_info``
holds packets a call and M packets/s (total and per core).
"""

from __future__ import annotations

import pytest
import workload
from workload import CLUSTERS

from fastpath.compile import compile_cluster


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("cluster", CLUSTERS)
def test_forward_path_traffic(benchmark, dataplanes, path_batches, cluster, threads):
    dp = dataplanes[cluster]
    batch = path_batches[cluster]
    n = workload.batch_size(batch)
    benchmark.group = f"forward path traffic @ {cluster}"
    run = benchmark.pedantic(dp.forward, args=(batch,), kwargs={"threads": threads}, rounds=5, iterations=1,
                             warmup_rounds=2)
    assert sum(run.verdict_counts().values()) == n
    mpps = n / benchmark.stats.stats.min / 1e6
    benchmark.extra_info.update(packets=n, threads=threads, M_packets_per_s=round(mpps, 2),
                                M_packets_per_s_per_core=round(mpps / threads, 2),
                                verdicts={k: v for k, v in run.verdict_counts().items() if v})


def test_compile_big_cluster(benchmark, clusters):
    cluster = clusters["big"]
    benchmark.group = "compile"
    tables = benchmark.pedantic(compile_cluster, args=(cluster,), rounds=3, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(pods=len(cluster.pods), bytes=tables.nbytes(),
                                bytes_per_pod=round(tables.nbytes() / len(cluster.pods), 1))
