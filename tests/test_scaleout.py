"""Scale-out on Dask: the same packets and the same sums as in-process, one compile per worker.

The Dask tests start their own `distributed.LocalCluster` of two single-threaded worker
processes (numba's on-disk cache, filled by the in-process runs first, saves the workers a
cold JIT)."""

import dataclasses
import itertools
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fastpath.analysis.report import ReportAccumulator
from fastpath.analysis.study import run_study
from fastpath.dataplane import Dataplane
from fastpath.dataplane.runner import run_profile, run_uniform
from fastpath.model import generate
from fastpath.scaleout import WORKER_MALLOC, DaskExecutor, LocalExecutor, _spans, executor
from fastpath.traffic import BUILTIN_PROFILES

CHUNK = 100_000
PACKETS = 4 * CHUNK  # the huge run in 4 chunks
STUDY = {"base": {"hosts": 2, "nodes_per_host": 2, "namespaces": 4}, "packets": 20_000}


def _concat(batches):
    batches = list(batches)
    return [np.concatenate([b[k] for b in batches]) for k in range(len(batches[0]))]


def test_spans_are_runs_of_whole_chunks_covering_the_run():
    for packets, chunk, tasks in [(400_000, 100_000, 8), (2_000_001, 1 << 20, 4), (10, 3, 2), (5, 100, 4)]:
        spans = _spans(packets, chunk, tasks)
        assert spans[0][0] == 0 and spans[-1][1] == packets
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        assert all(lo % chunk == 0 for lo, _ in spans) and len(spans) <= tasks


def test_executor_is_in_process_unless_asked():
    with executor() as ex:
        assert isinstance(ex, LocalExecutor)
    with pytest.raises(ValueError, match="not both"), executor("tcp://127.0.0.1:1", 2):
        pass


# ---- on a real LocalCluster ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    import dask
    from distributed import Client, LocalCluster

    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_MALLOC}  # as executor() does
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as cl:
        yield cl


@pytest.fixture(scope="module")
def cluster():
    return generate(4, 2, 4, 20)


@pytest.fixture(scope="module")
def runs(client, cluster):
    """(in-process, distributed) report and accumulator of a uniform and a locality run."""
    dp = Dataplane(cluster)
    ex = DaskExecutor(client)
    out = {"progress": ([], [])}
    for name in ("uniform", "locality"):
        acc_local, acc_dask = ReportAccumulator(cluster, dp.tables), ReportAccumulator(cluster, dp.tables)
        if name == "uniform":
            local = run_uniform(cluster, PACKETS, seed=7, length=200, chunk=CHUNK, dataplane=dp, accumulator=acc_local,
                                progress=out["progress"][0].append)
            dask = ex.run_uniform(cluster, PACKETS, seed=7, length=200, chunk=CHUNK, accumulator=acc_dask,
                                  progress=out["progress"][1].append)
        else:
            prof = BUILTIN_PROFILES["locality"]
            local = run_profile(cluster, prof, PACKETS, seed=7, chunk=CHUNK, dataplane=dp, accumulator=acc_local)
            dask = ex.run_profile(cluster, prof, PACKETS, seed=7, chunk=CHUNK, accumulator=acc_dask)
        out[name] = (local, acc_local, dask, acc_dask)
    return out


@pytest.mark.parametrize("name", ["uniform", "locality"])
def test_distributed_run_sums_equal_the_in_process_run(runs, name):
    local, acc_local, dask, acc_dask = runs[name]
    assert dask.extra["scaleout"]["tasks"] == 4  # which worker runs which is for Dask to say
    a, b = local.as_dict(), dask.as_dict()
    for key in ("packets", "verdicts", "reasons", "stages", "tunnels", "underlay_bytes"):
        assert a[key] == b[key], key
    assert a.get("profile") == b.get("profile")
    assert sum(b["verdicts"].values()) == PACKETS and b["tunnels"] > 0
    for field, x, y in zip(acc_local.counters._fields, acc_local.counters, acc_dask.counters):
        assert x.shape == y.shape and np.array_equal(x, y), field  # per-device loads: hosts, TEP pairs, ...
    assert acc_dask.totals.packets == PACKETS
    for f in dataclasses.fields(acc_local.totals):
        x, y = getattr(acc_local.totals, f.name), getattr(acc_dask.totals, f.name)
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y, f.name  # conns: the same connections
    assert acc_local.totals.conns.used > 0
    assert acc_local.report().cpu.equals(acc_dask.report().cpu)
    assert dask.pps == pytest.approx(PACKETS / dask.extra["scaleout"]["wall_seconds"], rel=1e-3)


def test_progress_is_called_per_chunk_in_process_and_per_span_on_dask(runs):
    local, dask = runs["progress"]
    assert local == [CHUNK] * 4  # the chunks, in order
    assert sum(dask) == PACKETS and len(dask) == 4  # the spans, in completion order


def test_the_dataplane_is_compiled_once_per_worker(runs, client, cluster):
    stats = DaskExecutor(client).worker_stats()
    assert len(stats) == 2
    assert [s["compiles"] for s in stats.values()] == [1, 1]  # two runs, eight spans, one cluster
    assert sum(s["spans"] for s in stats.values()) == 8
    assert sum(s["packets"] for s in stats.values()) == 2 * PACKETS


def test_distributed_study_rows_equal_the_in_process_study(client):
    local = run_study("pods-per-node", [10, 30, 110], **STUDY)
    seen = []
    dask = DaskExecutor(client).run_study("pods-per-node", [10, 30, 110], progress=seen.append, **STUDY)
    timing = ["compile_s", "pps"]
    pd.testing.assert_frame_equal(local.drop(columns=timing), dask.drop(columns=timing))
    assert (dask["pps"] > 0).all() and sorted(p.value for p in seen) == [10, 30, 110]
    assert dask.attrs["base"] == local.attrs["base"]


def test_cli_run_with_workers_gives_the_in_process_counts():
    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "fastpath", "run", "--packets", "200000", "--json", *args],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    local, dask = run(), run("--workers", "2")
    for key in ("verdicts", "reasons", "stages", "tunnels", "underlay_bytes"):
        assert local[key] == dask[key], key
    assert "scaleout" not in local and dask["scaleout"]["workers"] == 2


def test_a_span_on_two_threads_makes_its_chunks_in_parts_and_counts_what_one_thread_counts(monkeypatch):
    """A Dask span (`scaleout._forward_span`, run here in-process) with 2 threads makes its
    chunks with both (`Maker.batches` with a pool) and counts exactly what 1 thread counts."""
    from fastpath.scaleout import _forward_span, _uniform_profile, cluster_payload
    from fastpath.traffic import chunks
    from fastpath.traffic.words import BLOCK

    c = generate(4, 2, 4, 20)
    token, payload = cluster_payload(c)
    made = []
    real = chunks.Maker._chunk_in_parts
    monkeypatch.setattr(chunks.Maker, "_chunk_in_parts",
                        lambda self, lo, hi, pool, workers: made.append((lo, hi)) or real(self, lo, hi, pool, workers))
    lo, hi = BLOCK // 2, BLOCK // 2 + 3 * BLOCK
    one = _forward_span(token, payload, _uniform_profile(100), lo, hi, 7, 2 * BLOCK, 1, False)
    assert not made
    two = _forward_span(token, payload, _uniform_profile(100), lo, hi, 7, 2 * BLOCK, 2, False)
    assert made == [(lo, lo + 2 * BLOCK), (lo + 2 * BLOCK, hi)]
    assert (one.tunnels, one.underlay_bytes) == (two.tunnels, two.underlay_bytes)
    assert all(np.array_equal(a, b) for a, b in zip(one.counters, two.counters))
