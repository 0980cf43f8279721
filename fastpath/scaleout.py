"""The same runs on Dask: a study's points and a huge run's chunks, in-process or on a cluster.

What?
-----
`executor` picks where work runs and hands back an object with the runner's and the study's
signatures:

    with executor() as ex:                        # in-process (the default): the runner itself
    with executor(workers=4) as ex:               # a LocalCluster of 4 single-threaded processes
    with executor(scheduler="tcp://h:8786") as ex:    # a running dask.distributed scheduler
        rep = ex.run_uniform(cluster, 100_000_000, seed=1)       # a RunReport
        rep = ex.run_profile(cluster, profile, n, seed=1, accumulator=acc)
        df = ex.run_study("pods-per-node", [10, 110, 250], packets=200_000)

`LocalExecutor` calls `fastpath.dataplane.runner` and `fastpath.analysis.study` unchanged.
`DaskExecutor` wraps a `distributed.Client` (one it is given is left open; `executor` closes
what it made, the LocalCluster too).

A huge run
----------
The in-process run forwards chunks 0..C-1 of ``chunk`` packets in order. The distributed one
cuts the same chunks into *spans* of consecutive chunks (``tasks``, default 4 per worker
thread, at most one per chunk), one task each. A task

1. finds the cluster's compiled `Dataplane` in its worker's cache, or builds it (below);
2. generates *its own* packets, ``[lo, hi)`` of the same seeded stream (``start=lo``, below),
   cut at the same chunk boundaries as the in-process run;
3. forwards them chunk by chunk into one set of counters, summed over its threads;
4. returns the counters (numpy arrays) and the small per-chunk sums (tunnels crossed,
   underlay bytes, the `RunTotals` of a load report when one is asked for).

The client adds the spans' results up as they arrive. Every figure is an integer sum over
packets, so the totals **equal** the in-process run's: verdicts, drop reasons, stage
counters, per-device loads (hosts, TEP pairs, routers, uplinks, segments) and a load report's
totals (tests/test_scaleout.py asserts it).

Packets [lo, hi) without the ones before
----------------------------------------
Generating the stream and skipping to ``lo`` would cost O(lo). Every profile's randomness
belongs to blocks of `fastpath.traffic.words.BLOCK` packet indices, so
``profile.batches(cluster, hi - lo, start=lo)`` regenerates only the blocks ``[lo, hi)``
touches (`fastpath.traffic.chunks`), cut at the in-process run's chunk boundaries when
``lo`` is a multiple of ``chunk``. A worker keeps each profile's `Maker` (its per-run tables:
0.5-1 s on 1M pods for locality) beside the compiled cluster.

Compiled once per worker
------------------------
The client pickles the cluster's own fields (not its lazily built indexes) once per
executor and cluster, names the bytes by their blake2b hash (the *token*), and scatters them
to every worker (``broadcast=True``). Before timing, one task pinned to each worker builds
the `Dataplane` from them and forwards one packet (numba loads its kernels from the on-disk
cache). The worker keeps it in a process-wide dict keyed by the token (`CACHE_ENTRIES`
clusters, least recently used first out), under a lock, so every later task of any run on
that cluster finds it: one compile per worker and cluster, not per chunk nor per run.
`worker_stats` (run on every worker by `DaskExecutor.worker_stats`) reports the compile
count. A profile's per-run tables (`_prepare`: 0.5-1 s on 1M pods for locality) are cached
beside the Dataplane, by profile and seed. A worker that joins mid-run compiles on its first
task.

A study
-------
Each point is one task: `fastpath.analysis.study.run_point` on a worker (it builds and
compiles its own cluster, so nothing is cached). The DataFrame is the in-process study's,
rows in the order of the values, equal but for the timing columns ``compile_s`` and ``pps``
(each point's one-core forwarding rate, measured on the worker that ran it; points running
side by side share the memory system). ``progress`` is called as points complete, in
completion order; a huge run's ``progress(n)`` as each span's n packets come back.

Time and rates
--------------
In-process, ``pps`` is packets / forwarding seconds (generation timed apart). Distributed,
``pps`` is **packets / wall seconds of the distributed phase**: from submitting the first
span to adding up the last, so it includes generation on the workers, the transfer of the
counters and the client's reduction, and excludes shipping the cluster and compiling on the
workers (``setup_seconds``; the in-process run compiles before its timer too).
``forward_seconds`` and ``generate_seconds`` are then sums over all tasks (worker-seconds),
``threads`` is the number of forwarding threads at once (worker threads x ``threads`` per
task). Everything is under ``extra["scaleout"]``.

Cost (2-core VM, shared and noisy; 1M-pod generated cluster 1000x4x250x200)
-----------------------------------------------------------------------------
Setup, once per cluster and executor: the pickle is 33 MB (0.5 s); scattering it and
compiling on both workers took 2.3-4.5 s in all; a worker grew from 170 to 580 MB RSS
(cluster, tables, a span's chunk in flight). A span's counters are ~16 MB there (the H x H
TEP-pair matrix of 1,001 hosts), hence spans of several chunks, not a task per chunk.
Uniform traffic, `fastpath run`, generation + forwarding seconds in-process against the
distributed phase of ``--workers 2`` (so generation on both sides):

    packets   in-process 1 thread   in-process 2 threads   workers=2 (2 x 1 thread)
    20M       9.3-11.1 s            6.5-6.7 s (one 10.0)   5.4-6.1 s        (3 runs each)
    100M      47.1 s                32.6 s                 25.4 s           (1 run each)

Dask is the faster at equal cores because generation runs on both workers too (in-process it
is serial); the whole command costs ~4 s more for starting the LocalCluster and 3-4.5 s for
setup (100M: 35.6 s against 37.6 s with 2 threads, 51.4 s with 1). Workers that `executor`
starts run with `WORKER_MALLOC`: with Dask's default allocator setting the same spans ran
~1.3x slower.

Threading
---------
`DaskExecutor` submits from the calling thread and reduces as results come back
(`distributed.as_completed`). On a worker the cache lock serialises compiles (a worker with
several threads still compiles once); forwarding runs outside it, `Dataplane` being
immutable and safe to share.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from .dataplane.api import dfw_rows
from .dataplane.runner import RunReport, forward_timed
from .model.firewall import decision_names
from .model.cluster import Cluster
from .traffic.chunks import Maker, check_run, traffic_pool
from .traffic.profiles import Profile, Uniform, _need_pods
from .traffic.sizes import fixed
from .traffic.uniform import DEFAULT_CHUNK
from .verdicts import Reason, Verdict

CONNECT_TIMEOUT = 10.0
"""Seconds `executor` waits for a named scheduler to answer (Dask's own default is 30)."""

CACHE_ENTRIES = 2
"""Compiled clusters a worker keeps (least recently used first out): the 1M-pod one grew a
worker by ~0.4 GB (cluster, tables, a chunk in flight)."""

TASKS_PER_THREAD = 4
"""Default spans of a huge run per worker thread: enough to even out a slow worker, few
enough that the per-span counters (16 MB at 1,000 hosts) stay cheap to move and add."""

WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 1 << 30, "MALLOC_MMAP_THRESHOLD_": 1 << 25}
"""glibc's allocator settings of the workers `executor` starts (they must be in a process's
environment when it starts). Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, to
hand freed memory back to the OS at once; a span allocates and frees tens of MB a chunk
(packets, results, the tunnel-leg log), and with that setting two processes forwarding 5M
packets each on the 1M-pod cluster took 7.5-8.8 s, against 5.4-6.8 s with these (arrays
under 32 MB reused from the heap, the heap trimmed above 1 GB), interleaved runs on a noisy
2-core VM. Workers of a scheduler you start yourself: put these in Dask's
``distributed.nanny.pre-spawn-environ``; `DaskExecutor` warns when a worker has the low one."""


def _uniform_profile(length: int) -> Uniform:
    """The profile whose packets are `run_uniform`'s (`uniform_pod_to_pod`: UDP, TTL 64)."""
    return Uniform(sizes=fixed(length))


# ---- the worker side ------------------------------------------------------------------------------
class _Compiled:
    """What a worker keeps per cluster: the cluster, its Dataplane, the profiles' block makers."""

    def __init__(self, cluster: Cluster, dataplane):
        self.cluster = cluster
        self.dataplane = dataplane
        self.makers: OrderedDict[tuple[bytes, int], Maker] = OrderedDict()
        self.lock = threading.Lock()

    def maker(self, profile: Profile, seed: int) -> Maker:
        key = (pickle.dumps(profile), seed)
        with self.lock:
            if key not in self.makers:
                self.makers[key] = profile.maker(self.cluster, seed)
                while len(self.makers) > CACHE_ENTRIES:
                    self.makers.popitem(last=False)
            self.makers.move_to_end(key)
            return self.makers[key]


_CACHE: OrderedDict[str, _Compiled] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_STATS = {"compiles": 0, "spans": 0, "packets": 0}


def _compiled(token: str, payload: bytes) -> _Compiled:
    """This worker's compiled cluster named ``token``, built from ``payload`` on first use."""
    from .dataplane import Dataplane
    from .traffic import uniform_pod_to_pod

    with _CACHE_LOCK:
        hit = _CACHE.get(token)
        if hit is not None:
            _CACHE.move_to_end(token)
            return hit
        cluster = Cluster(**pickle.loads(payload))
        dp = Dataplane(cluster)
        if len(cluster.pods):  # load the kernels now (numba's on-disk cache), not in the first span
            one = next(uniform_pod_to_pod(cluster, 1))
            dp.forward(one, threads=1)
            dp.forward(one, threads=1, legs=True)  # (a report's calls: `ReportAccumulator.forward_options`)
        _STATS["compiles"] += 1
        _CACHE[token] = hit = _Compiled(cluster, dp)
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
        return hit


def _warm(token: str, payload: bytes) -> int | None:
    """Compile on this worker; its MALLOC_TRIM_THRESHOLD_ (None: glibc's default)."""
    _compiled(token, payload)
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    return int(trim) if trim and trim.isdigit() else None


@dataclass
class SpanResult:
    """What a task hands back for packets [lo, hi): sums, no per-packet arrays."""

    lo: int
    hi: int
    counters: tuple  # Counters, one row (summed over the task's threads)
    tunnels: int
    underlay_bytes: int
    generate_seconds: float
    forward_seconds: float
    totals: object | None  # the span's RunTotals when a load report was asked for
    worker: int  # the worker's process id


def _forward_span(token: str, payload: bytes, profile: Profile, lo: int, hi: int, seed: int, chunk: int,
                  threads: int, report: bool) -> SpanResult:
    from .analysis.report import ReportAccumulator
    from .dataplane.pipeline import Counters

    entry = _compiled(token, payload)
    dp = entry.dataplane
    maker = entry.maker(profile, seed)
    counters = dp.new_counters(threads)
    acc = ReportAccumulator(entry.cluster, dp.tables) if report else None
    # the span's chunks made by its threads too, as `fastpath.dataplane.runner.run_batches` does
    with traffic_pool(threads) as pool:
        gen, fwd, tunnels, ubytes, _, _, _ = forward_timed(dp, maker.batches(lo, hi - lo, chunk, pool, threads),
                                                           threads, counters, acc)
    with _CACHE_LOCK:
        _STATS["spans"] += 1
        _STATS["packets"] += hi - lo
    summed = Counters(*(a.sum(axis=0, keepdims=True) for a in counters))
    return SpanResult(lo, hi, summed, tunnels, ubytes, gen, fwd, acc.totals if acc is not None else None, os.getpid())


def worker_stats() -> dict:
    """This process's scale-out counts: ``compiles`` (Dataplanes built), ``spans`` and
    ``packets`` forwarded, the tokens it holds, its pid. Run it on the workers with
    `DaskExecutor.worker_stats`."""
    with _CACHE_LOCK:
        return {**_STATS, "tokens": list(_CACHE), "pid": os.getpid(),
                "malloc_trim_threshold": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


# ---- the client side ----------------------------------------------------------------------------
def cluster_payload(cluster: Cluster) -> tuple[str, bytes]:
    """(token, bytes): the cluster's own fields pickled (its lazily built indexes left out),
    and their blake2b hash."""
    payload = pickle.dumps({f.name: getattr(cluster, f.name) for f in fields(cluster)}, protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.blake2b(payload, digest_size=16).hexdigest(), payload


@dataclass
class ScaleoutRunReport(RunReport):
    """A `RunReport` of a distributed run: ``pps`` is packets / ``wall_seconds`` of the
    distributed phase (see the module docstring); forward and generate seconds are sums over
    the tasks."""

    wall_seconds: float = 0.0

    @property
    def pps(self) -> float:
        return self.packets / self.wall_seconds if self.wall_seconds > 0 else 0.0


def _spans(packets: int, chunk: int, tasks: int) -> list[tuple[int, int]]:
    """[lo, hi) of ``tasks`` runs of whole chunks (fewer if there are fewer chunks)."""
    n_chunks = -(-packets // chunk)
    k = max(1, min(n_chunks, tasks))
    cuts = [i * n_chunks // k for i in range(k + 1)]
    return [(cuts[i] * chunk, min(cuts[i + 1] * chunk, packets)) for i in range(k) if cuts[i] < cuts[i + 1]]


def _add_totals(a, b):
    """RunTotals a + b (None where either chunk came without its batch)."""
    out = {}
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "batches_seen":
            out[f.name] = x and y
        elif x is None or y is None:
            out[f.name] = None
        elif isinstance(x, dict):  # per (service, backend): [packets, bytes]
            out[f.name] = {k: [p + q for p, q in zip(x.get(k, (0, 0)), y.get(k, (0, 0)))] for k in x.keys() | y.keys()}
        else:
            out[f.name] = x + y
    return type(a)(**out)


def _merge_into_accumulator(acc, counters, totals) -> None:
    """Add a run's summed counters and RunTotals to ``acc`` (a `ReportAccumulator`), as if
    it had been fed every chunk."""
    from .dataplane.pipeline import Counters

    acc.counters = counters if acc.counters is None else Counters(*(x + y for x, y in zip(acc.counters, counters)))
    if acc.totals.packets == 0 and acc.totals.batches_seen:  # fresh: take the run's as they are
        acc.totals = totals
    else:
        acc.totals = _add_totals(acc.totals, totals)


class LocalExecutor:
    """In-process: the runner and the study as they are."""

    name = "local"

    def describe(self) -> str:
        return "in-process"

    def run_uniform(self, cluster: Cluster, packets: int, *, threads: int = 1, seed: int = 0, length: int = 100,
                    chunk: int = DEFAULT_CHUNK, dataplane=None, accumulator=None, progress=None) -> RunReport:
        from .dataplane.runner import run_uniform

        return run_uniform(cluster, packets, threads=threads, seed=seed, length=length, chunk=chunk,
                           dataplane=dataplane, accumulator=accumulator, progress=progress)

    def run_profile(self, cluster: Cluster, profile: Profile, packets: int, *, threads: int = 1, seed: int = 0,
                    chunk: int = DEFAULT_CHUNK, dataplane=None, accumulator=None, progress=None) -> RunReport:
        from .dataplane.runner import run_profile

        return run_profile(cluster, profile, packets, threads=threads, seed=seed, chunk=chunk, dataplane=dataplane,
                           accumulator=accumulator, progress=progress)

    def run_study(self, sweep: str, values: Iterable[int] | None = None, **kw):
        from .analysis.study import run_study

        return run_study(sweep, values, **kw)


class DaskExecutor:
    """On a `distributed.Client`'s workers. ``tasks``: spans of a huge run (default
    `TASKS_PER_THREAD` per worker thread). Runs take the runner's arguments; ``dataplane``
    is accepted and not used (each worker compiles its own from the cluster)."""

    name = "dask"

    def __init__(self, client, *, tasks: int | None = None):
        self.client = client
        self.tasks = tasks
        self._shipped: weakref.WeakKeyDictionary[Cluster, tuple[str, object]] = weakref.WeakKeyDictionary()
        self._warned = False

    def describe(self) -> str:
        nthreads = self.client.nthreads()
        return f"dask {self.client.scheduler.address}: {len(nthreads)} workers, {sum(nthreads.values())} threads"

    def worker_stats(self) -> dict[str, dict]:
        """`worker_stats` of every worker, by worker address."""
        return self.client.run(worker_stats)

    def _ship(self, cluster: Cluster) -> tuple[str, object]:
        """(token, future of the payload on every worker), once per cluster."""
        got = self._shipped.get(cluster)
        if got is None:
            token, payload = cluster_payload(cluster)
            got = (token, self.client.scatter(payload, broadcast=True, hash=False))
            self._shipped[cluster] = got
        return got

    def _workers(self) -> dict[str, int]:
        nthreads = self.client.nthreads()
        if not nthreads:
            raise RuntimeError(f"no dask workers at {self.client.scheduler.address}")
        return nthreads

    def run_uniform(self, cluster: Cluster, packets: int, *, threads: int = 1, seed: int = 0, length: int = 100,
                    chunk: int = DEFAULT_CHUNK, dataplane=None, accumulator=None, progress=None) -> ScaleoutRunReport:
        """`fastpath.dataplane.runner.run_uniform` on the workers: the same packets."""
        return self._run(cluster, _uniform_profile(length), packets, threads=threads, seed=seed, chunk=chunk,
                         accumulator=accumulator, progress=progress)

    def run_profile(self, cluster: Cluster, profile: Profile, packets: int, *, threads: int = 1, seed: int = 0,
                    chunk: int = DEFAULT_CHUNK, dataplane=None, accumulator=None, progress=None) -> ScaleoutRunReport:
        """`fastpath.dataplane.runner.run_profile` on the workers: the same packets."""
        rep = self._run(cluster, profile, packets, threads=threads, seed=seed, chunk=chunk, accumulator=accumulator,
                        progress=progress)
        rep.extra["profile"] = profile.name
        return rep

    def _run(self, cluster: Cluster, profile: Profile, packets: int, *, threads: int, seed: int, chunk: int,
             accumulator, progress=None) -> ScaleoutRunReport:
        from distributed import as_completed

        from .dataplane.pipeline import STAGES

        check_run(packets, seed, chunk)
        _need_pods(cluster, profile.name)
        threads = max(1, int(threads))
        t_setup = time.perf_counter()
        nthreads = self._workers()
        token, payload = self._ship(cluster)
        # compile on every worker before the clock starts, as the in-process run does
        trims = self.client.gather([self.client.submit(_warm, token, payload, workers=[w], allow_other_workers=False,
                                                       pure=False) for w in nthreads])
        low = [t for t in trims if t is not None and t < WORKER_MALLOC["MALLOC_TRIM_THRESHOLD_"]]
        if low and not self._warned:
            self._warned = True
            warnings.warn(f"{len(low)} Dask worker(s) run with MALLOC_TRIM_THRESHOLD_={low[0]} (Dask's default): "
                          f"forwarding measured ~1.3x slower; start them with {WORKER_MALLOC} "
                          "(see fastpath.scaleout.WORKER_MALLOC)", RuntimeWarning, stacklevel=3)
        setup = time.perf_counter() - t_setup
        spans = _spans(packets, chunk, self.tasks or TASKS_PER_THREAD * sum(nthreads.values()))
        report = accumulator is not None

        t0 = time.perf_counter()
        futures = [self.client.submit(_forward_span, token, payload, profile, lo, hi, seed, chunk, threads, report,
                                      pure=False) for lo, hi in spans]
        counters = totals = None
        gen = fwd = 0.0
        tunnels = ubytes = 0
        pids = set()
        try:
            for fut in as_completed(futures):
                s: SpanResult = fut.result()
                fut.release()  # the worker drops its copy now
                counters = s.counters if counters is None else type(s.counters)(
                    *(x + y for x, y in zip(counters, s.counters)))
                if report:
                    totals = s.totals if totals is None else _add_totals(totals, s.totals)
                gen += s.generate_seconds
                fwd += s.forward_seconds
                tunnels += s.tunnels
                ubytes += s.underlay_bytes
                pids.add(s.worker)
                if progress is not None:
                    progress(s.hi - s.lo)
        except BaseException:
            self.client.cancel(futures)
            raise
        wall = time.perf_counter() - t0

        if accumulator is not None:
            _merge_into_accumulator(accumulator, counters, totals)
        total = counters.verdicts.sum(axis=0)
        reasons = counters.reasons.sum(axis=0)
        st = counters.stages.sum(axis=0)
        return ScaleoutRunReport(
            packets=packets, threads=sum(nthreads.values()) * threads,
            verdicts={v.label: int(total[v]) for v in Verdict},
            reasons={r.label: int(reasons[r]) for r in Reason if r is not Reason.NONE and reasons[r]},
            stages={name: {"in": int(st[k, 0]), "hits": int(st[k, 1]), "misses": int(st[k, 2])}
                    for k, name in enumerate(STAGES)},
            forward_seconds=fwd, generate_seconds=gen, underlay_bytes=ubytes, tunnels=tunnels,
            extra={"dfw": dfw_rows(counters.dfw.sum(axis=0), decision_names(cluster)), "scaleout": {
                "scheduler": self.client.scheduler.address, "workers": len(nthreads),
                "worker_threads": sum(nthreads.values()), "threads_per_task": threads, "tasks": len(spans),
                "workers_used": len(pids), "wall_seconds": round(wall, 4), "setup_seconds": round(setup, 4),
                "pps_basis": "packets / wall seconds of the distributed phase (generation, forwarding, reduction); "
                             "forward_seconds and generate_seconds are sums over tasks"}},
            wall_seconds=wall)

    def run_study(self, sweep: str, values: Iterable[int] | None = None, *, base: dict | None = None,
                  packets: int = 1_000_000, limits=None, seed: int = 0, progress: Callable | None = None,
                  forward: Callable | None = None, per_pod_pps: float | None = None, spec: dict | None = None,
                  spec_name: str | None = None, fail: tuple = (), profile: str | None = None):
        """`fastpath.analysis.study.run_study`, a point a task; rows in the order of the values."""
        import pandas as pd
        from distributed import as_completed

        from .analysis.study import DEFAULT_VALUES, SWEEPS, Limits, run_point, set_attrs

        if sweep not in SWEEPS:
            raise ValueError(f"unknown study {sweep!r}: one of {', '.join(SWEEPS)}")
        vals = list(values if values is not None else DEFAULT_VALUES[sweep])
        limits = limits if limits is not None else Limits()
        self._workers()
        t0 = time.perf_counter()
        futures = [self.client.submit(run_point, sweep, v, base=base, packets=packets, limits=limits, seed=seed,
                                      forward=forward, per_pod_pps=per_pod_pps, spec=spec, fail=fail,
                                      profile=profile, pure=False) for v in vals]
        where = {f.key: i for i, f in enumerate(futures)}
        points = [None] * len(vals)
        try:
            for fut in as_completed(futures):
                p = fut.result()
                points[where[fut.key]] = p
                if progress:
                    progress(p)
        except BaseException:
            self.client.cancel(futures)
            raise
        df = pd.DataFrame([p.flat() for p in points])
        set_attrs(df, base, forward, packets, seed, per_pod_pps, spec, spec_name)
        df.attrs["scaleout"] = {"scheduler": self.client.scheduler.address, "points": len(vals),
                                "wall_seconds": round(time.perf_counter() - t0, 4)}
        return df


@contextmanager
def executor(scheduler: str | None = None, workers: int | None = None, *, tasks: int | None = None,
             connect_timeout: float = CONNECT_TIMEOUT) -> Iterator[LocalExecutor | DaskExecutor]:
    """Where runs go: in-process when neither is given; the dask scheduler at ``scheduler``
    (an address, e.g. tcp://10.0.0.5:8786; OSError after ``connect_timeout`` seconds when
    nothing answers there); or a `distributed.LocalCluster` of ``workers`` single-threaded
    processes, shut down on exit."""
    if scheduler is not None and workers is not None:
        raise ValueError("give a scheduler address or a worker count, not both")
    if scheduler is None and workers is None:
        yield LocalExecutor()
        return
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler, timeout=connect_timeout) as client:
            yield DaskExecutor(client, tasks=tasks)
        return
    if int(workers) < 1:
        raise ValueError(f"workers: {workers} must be at least 1")
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_MALLOC}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
            LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        yield DaskExecutor(client, tasks=tasks)


__all__ = ["CACHE_ENTRIES", "TASKS_PER_THREAD", "WORKER_MALLOC", "DaskExecutor", "LocalExecutor", "ScaleoutRunReport", "SpanResult",
           "cluster_payload", "executor", "worker_stats"]
