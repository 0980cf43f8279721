"""Push N packets of a traffic profile through a cluster in chunks: the engine of `fastpath run`.

Memory stays flat: one chunk of packets and its results live at a time; counters accumulate
across chunks. ``pps`` counts forwarding time only (traffic generation is timed apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..packets import empty_results
from ..traffic import uniform_pod_to_pod
from ..traffic.chunks import traffic_pool
from ..verdicts import Reason, Verdict
from .api import Dataplane, dfw_rows, touch
from .pipeline import STAGES

if TYPE_CHECKING:  # (the data plane reads the compiled `Tables`, never the model)
    from ..model.cluster import Cluster

Progress = Callable[[int], None]
"""Called with the packets just done (a chunk's, or a Dask span's)."""


@dataclass
class RunReport:
    packets: int
    threads: int
    verdicts: dict[str, int]
    reasons: dict[str, int]
    stages: dict[str, dict[str, int]]
    forward_seconds: float
    generate_seconds: float
    underlay_bytes: int
    tunnels: int
    extra: dict = field(default_factory=dict)

    @property
    def pps(self) -> float:
        return self.packets / self.forward_seconds if self.forward_seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"packets": self.packets, "threads": self.threads, "verdicts": self.verdicts, "reasons": self.reasons,
                "pps": round(self.pps), "pps_per_thread": round(self.pps / self.threads),
                "forward_seconds": round(self.forward_seconds, 4), "generate_seconds": round(self.generate_seconds, 4),
                "underlay_bytes": self.underlay_bytes, "tunnels": self.tunnels, "stages": self.stages, **self.extra}


def run_uniform(cluster: Cluster, packets: int, *, threads: int = 1, seed: int = 0, length: int = 100,
                chunk: int = 1 << 20, dataplane: Dataplane | None = None, accumulator=None,
                progress: Progress | None = None) -> RunReport:
    """Forward ``packets`` uniformly random pod -> pod packets; return the counts and the rate.
    ``accumulator`` (a `fastpath.analysis.ReportAccumulator`) is fed every chunk, for a load
    report of the run; ``progress(n)`` is called after every chunk with its packet count."""
    def make(n, s, ch, pool=None, workers=1):
        return uniform_pod_to_pod(cluster, n, seed=s, length=length, chunk=ch, pool=pool, workers=workers)

    return run_batches(cluster, make, packets, threads=threads, seed=seed, chunk=chunk, dataplane=dataplane,
                       accumulator=accumulator, progress=progress)


def run_profile(cluster: Cluster, profile, packets: int, *, threads: int = 1, seed: int = 0, chunk: int = 1 << 20,
                dataplane: Dataplane | None = None, accumulator=None, progress: Progress | None = None) -> RunReport:
    """`run_uniform` for any traffic profile (`fastpath.traffic.profile_by_name`)."""
    def make(n, s, ch, pool=None, workers=1):
        return profile.batches(cluster, n, seed=s, chunk=ch, pool=pool, workers=workers)

    rep = run_batches(cluster, make, packets, threads=threads, seed=seed, chunk=chunk, dataplane=dataplane,
                      accumulator=accumulator, progress=progress)
    rep.extra["profile"] = profile.name
    return rep


class Forwarded(NamedTuple):
    generate_seconds: float
    forward_seconds: float
    tunnels: int  # tunnels crossed
    underlay_bytes: int
    flow_cache_hits: int
    engines: set  # (engine, flow cache used) of the calls
    setup_seconds: float  # the buffers' first touch (`Dataplane.reserve`)


def forward_timed(dp: Dataplane, batches, threads: int, counters, accumulator=None,
                  progress: Progress | None = None) -> Forwarded:
    """Forward every batch into ``counters``, timing generation and forwarding apart. Before the
    first batch is timed, the memory every call reuses is faulted in (the results, the
    counters, `Dataplane.reserve`): timed, it cost the first 1M-packet chunk at 1M pods ~60 ms
    of page faults, ~4 ns a packet of a 16M-packet run; it is the run's setup."""
    fwd = gen = setup = 0.0
    tunnels = ubytes = hits = 0
    engines: set[tuple[str, bool]] = set()
    out = None  # one results buffer for every chunk
    options = accumulator.forward_options if accumulator is not None else {}
    t0 = time.perf_counter()
    for batch in batches:
        t1 = time.perf_counter()
        gen += t1 - t0
        if out is None or out.size < batch.size:
            if out is None:
                touch(*counters)
            out = empty_results(batch.size)
            touch(*out)
            dp.reserve(batch.size, threads, legs=bool(options.get("legs")))
            t0, t1 = t1, time.perf_counter()
            setup += t1 - t0
        run = dp.forward(batch, threads=threads, counters=counters, out=out.slice(0, batch.size), **options)
        t0 = time.perf_counter()
        fwd += t0 - t1
        if accumulator is not None:
            accumulator.add(run, batch)
        tunnels += int(run.results.n_tunnels.sum())
        ubytes += int(run.results.underlay_bytes.sum(dtype=np.int64))
        hits += run.flow_cache_hits
        engines.add((run.engine, run.flow_cache))
        if progress is not None:
            progress(batch.size)
        t0 = time.perf_counter()  # the progress display is neither generation nor forwarding
    return Forwarded(gen, fwd, tunnels, ubytes, hits, engines, setup)


def run_batches(cluster: Cluster, make, packets: int, *, threads: int = 1, seed: int = 0, chunk: int = 1 << 20,
                dataplane: Dataplane | None = None, accumulator=None, progress: Progress | None = None) -> RunReport:
    """Forward the batches ``make(packets, seed, chunk, pool, workers)`` yields, timing forwarding
    apart. With ``threads`` > 1 the traffic is made by as many threads (`Maker.batches`): the
    same packets, in less of the run's time, and no worker idles while a chunk is made."""
    dp = dataplane or Dataplane(cluster)
    counters = dp.new_counters(threads)
    # warm the kernels the run's calls take (loaded from numba's cache, or compiled: ~1 s a
    # kernel on a fresh install) outside the timed region: with a report's options too, which
    # may take another engine (the leg log: `Dataplane.forward`)
    dp.forward(next(iter(make(1, seed, 1))), threads=1,
               **(accumulator.forward_options if accumulator is not None else {}))
    with traffic_pool(threads) as pool:
        gen, fwd, tunnels, ubytes, hits, engines, setup = forward_timed(
            dp, make(packets, seed, chunk, pool, threads), threads, counters, accumulator, progress)
    engine = "+".join(sorted({e for e, _ in engines})) or dp.engine
    cached = any(c for _, c in engines)
    total = counters.verdicts.sum(axis=0)
    reasons = counters.reasons.sum(axis=0)
    st = counters.stages.sum(axis=0)
    return RunReport(
        packets=packets, threads=threads,
        verdicts={v.label: int(total[v]) for v in Verdict},
        reasons={r.label: int(reasons[r]) for r in Reason if r is not Reason.NONE and reasons[r]},
        stages={name: {"in": int(st[k, 0]), "hits": int(st[k, 1]), "misses": int(st[k, 2])}
                for k, name in enumerate(STAGES)},
        forward_seconds=fwd, generate_seconds=gen, underlay_bytes=ubytes, tunnels=tunnels,
        extra={"dfw": dfw_rows(counters.dfw.sum(axis=0), dp.tables.dfw_decision_names),
               "setup_seconds": round(setup, 4), "engine": engine, "flow_cache": {"on": cached, "hits": hits,
                                                   "hit_share": round(hits / packets, 4) if packets else 0.0}})
