"""The library face of the data plane: compile once, forward batches, read results back.

    dp = Dataplane(cluster)                  # compiles the tables once
    run = dp.forward(batch, threads=2)       # a `PacketBatch` -> `RunResult`
    run.results.verdict, run.verdict_counts(), run.summary()   # numpy arrays, dicts, pandas

A `RunResult` holds per-packet `Results` and the counters summed over workers. `forward`
validates what it is given (field dtypes and lengths) and never lets a packet field index a
table unchecked: the kernel range-checks every such index.

Threads: ``threads=N`` runs N workers, whatever the core count — N Python threads over the
nogil kernel, each a contiguous share of the batch and its own counter row. More threads than
cores only time-share the cores; the answer does not depend on the machine, and counters made
by ``new_counters(N)`` fit ``forward(threads=N)`` everywhere (run, replay, capture). N is
bounded by `fastpath.limits.MAX_THREADS` (each worker holds an H x H TEP-pair matrix). A
batch too small to pay for a second worker's hand-off runs on fewer (`workers_for`): the
answer is the same, the later rows of the counters stay as they were.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..compile import compile_cluster
from ..compile.bundle import Tables
from ..compile.kernel_view import kernel_view
from ..compile.routers import ROUTE_ECMP
from ..limits import MAX_THREADS
from ..packets import INPUT_FIELDS, PacketBatch, Results, empty_results
from ..tables.lb import LbTable
from ..tables.lines import zeros_own_lines
from ..tables.snat import SnatTable
from ..verdicts import Reason, Verdict
from . import graph, pipeline
from .pipeline import STAGES, Counters
from .stages.common import LEG_PACKET, make_recipe, make_scratch, make_vectors
from .stages.flow_cache import HITS, make_flow_cache
from .lb import reply_sources, second_pass
from .lb import make_scratch as make_lb_scratch
from .snat import snat_trace
from .stages.service import (NO_ENDPOINT, SCRATCH, ServicePass, candidates, passed_by_stage, service_pass,
                             service_trace, translate)
from .stages.service import make_scratch as make_service_scratch
from .stages.service import no_endpoint as _no_endpoint
from .trace import MAX_HOPS

if TYPE_CHECKING:  # (the data plane reads the compiled `Tables`, never the model)
    from ..model.cluster import Cluster


@dataclass
class RunResult:
    results: Results
    worker_counters: Counters  # the call's counters, a row per worker (the caller's own, when it gave them)
    trace_packets: np.ndarray  # int64[n] packet indices traced
    trace_records: np.ndarray  # int32[n, MAX_HOPS, 4]
    trace_lengths: np.ndarray  # int32[n]
    legs: np.ndarray | None = None  # int64[legs, pipeline.LEG_COLS], packet indices in the batch; when asked
    flow_cache_hits: int = 0  # packets that took a cached outcome instead of walking the stages
    engine: str = "staged"  # the implementation that ran the call (`ENGINES`)
    flow_cache: bool = False  # whether the call used the flow cache
    dfw_names: tuple = ()  # the DFW's decision names (`fastpath.model.firewall`), by id
    translated: PacketBatch | None = None  # the batch after the service stage, when it rewrote any packet
    service_state: np.ndarray | None = None  # then: `stages.service` state per packet
    lb: object = None  # `fastpath.dataplane.lb.LbPass`: what the load balancer translated, when it did
    _counters: Counters | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def counters(self) -> Counters:
        """The workers' rows summed: leading dimension 1 (one worker's row: the very arrays the
        call added into). Summed when first read, not by the call: the sum is serial, after the
        workers, and at 1,000 hosts (a 16 MB TEP-pair matrix a row) it was ~5 ms of a 2-thread
        1M-packet call's ~55; a run that gives its own counters and reads them at the end never
        pays it. Counters the caller gave are read as they are then, on any worker count, as
        one worker's row always was."""
        if self._counters is None:
            self._counters = _sum_counters(self.worker_counters)
        return self._counters

    def recount(self) -> None:
        """Forget the sum: the workers' counters have been added to since it was taken."""
        self._counters = None

    @property
    def packets(self) -> int:
        return self.results.size

    def verdict_counts(self) -> dict[str, int]:
        return {v.label: int(self.counters.verdicts[0, v]) for v in Verdict}

    def reason_counts(self) -> dict[str, int]:
        return {r.label: int(self.counters.reasons[0, r]) for r in Reason if r is not Reason.NONE}

    def stage_counts(self) -> dict[str, dict[str, int]]:
        s = self.counters.stages[0]
        return {name: {"in": int(s[k, 0]), "hits": int(s[k, 1]), "misses": int(s[k, 2])}
                for k, name in enumerate(STAGES)}

    def dfw_hits(self):
        """DFW evaluations per decision (admin rule, NetworkPolicy, isolation, local, default) as
        a pandas DataFrame: decision, kind, action (of that decision), at_sender, at_receiver,
        evaluations; decisions never met are left out."""
        return dfw_hits_frame(self.counters.dfw[0], self.dfw_names)

    def trace(self, k: int) -> np.ndarray:
        """Trace records of the k-th traced packet: int32[hops, 4] (kind, device, table, ttl)."""
        return self.trace_records[k, : self.trace_lengths[k]]

    def summary(self):
        """Verdicts and drop reasons as a pandas DataFrame (verdict, reason, packets, share)."""
        import pandas as pd

        r = self.results
        key = r.verdict.astype(np.int64) * 256 + r.reason
        vals, counts = np.unique(key, return_counts=True)
        rows = [{"verdict": Verdict(int(v) // 256).label, "reason": Reason(int(v) % 256).label, "packets": int(c)}
                for v, c in zip(vals, counts)]
        df = pd.DataFrame(rows, columns=["verdict", "reason", "packets"])
        df["share"] = df["packets"] / max(self.packets, 1)
        return df


def dfw_rows(dfw: np.ndarray, names: tuple) -> list[dict]:
    """The DFW's evaluations per decision met (int64[decisions, 2]: at the sender's port, at the
    receiver's): ``[{"decision", "at_sender", "at_receiver"}]`` (the run report's ``dfw``)."""
    return [{"decision": n, "at_sender": int(dfw[k, 0]), "at_receiver": int(dfw[k, 1])}
            for k, n in enumerate(names) if dfw[k].any()]


def dfw_hits_frame(dfw: np.ndarray, names: tuple):
    """`dfw_rows` as the `RunResult.dfw_hits` frame, with each decision's kind and evaluations."""
    import pandas as pd

    df = pd.DataFrame(dfw_rows(dfw, names), columns=["decision", "at_sender", "at_receiver"])
    df.insert(1, "kind", df["decision"].str.split(" ", n=1).str[0].str.rstrip(":"))
    df["evaluations"] = df["at_sender"] + df["at_receiver"]
    return df


def _sum_counters(cn: Counters) -> Counters:
    """The workers' rows summed. One row is its own sum: handed back as it is, not copied (at
    1,000 hosts the TEP-pair matrix alone is 16 MB, ~1.4 ms a call to sum into fresh pages)."""
    if cn.verdicts.shape[0] == 1:
        return cn
    return Counters(*(a.sum(axis=0, keepdims=True) for a in cn))


MIN_SHARE_WALKED = 2048
MIN_SHARE_CACHED = 16384
"""The fewest packets a worker is given (`workers_for`): a call on N threads runs
``min(N, n // share)`` workers, at least one. A second worker costs a call ~120-200 us
(the pool's hand-off, its share's views and typing at the kernel's door, the GIL passed back
and forth), whatever its share. Measured 2 workers against 1 on distinct chunks, medians
(`bench/small_batches.py`): where packets walk the stages (~50-100 ns each), 2 workers broke
even at ~4K packets a call (2K a worker) and ran 1.3-1.7x at 16K; where the flow cache answers
(~8 ns a packet) they broke even only at ~32-64K (16K a worker), and at 1K-4K a call ran
0.25-0.5x one worker. A call counts as cached when the last cached call of this
`Dataplane` found at least half its packets in the cache (a cold cache walks)."""

LEG_LOGS_KEPT = 4
"""Full leg logs (``forward(legs=True)``, `pipeline.LEG_COLS` columns, `pipeline.MAX_LEGS` rows
a packet: 192 MB a 1M-packet call) a `Dataplane` keeps for reuse (`_take_leg_log`). A fresh
one each call had its pages faulted in by the kernel: on the seed, a run with a load report just
after a cold compile forwarded 10.7-10.9 M packets/s with fresh logs, 12.6-13.7 with kept ones,
and the next runs 13.4-17.2 against 16.5-17.4; warm, within the noise (bench/RESULTS.md,
"Update (Dec 7, early afternoon)")."""


def _parts(packets: int, threads: int, share: int) -> int:
    return max(1, min(int(threads), int(packets) // share))


SERVICE_PEEK = 256
"""Packets of a worker's share looked at first for one that may concern a cluster IP: with one
there, the share goes through the service stage without a pass over it (`passed_by_stage`)."""


class _WorkerBuffers(NamedTuple):
    """What one worker of a call needs beside its slice of the batch, kept between calls (the
    `Dataplane` pools them as it does flow caches): fresh, the leg log's pages faulted in at
    ~1.5 ms a 1M-packet call on the 1M-pod cluster, and a dozen small arrays cost a 2-thread call
    tens of microseconds. A call that hands its leg log out (``legs=True``) gets a fresh log."""

    legs: np.ndarray  # int64[rows, 2]: TEP pair and bytes, what the counters need
    n_legs: np.ndarray  # int64[1]
    scratch: object  # `stages.common.Scratch` of `graph.VECTOR` slots
    vectors: object  # `stages.common.Vectors`
    recipe: object  # `stages.common.Recipe`


def _make_worker_buffers(rows: int) -> _WorkerBuffers:
    return _WorkerBuffers(np.empty((rows, 2), np.int64), zeros_own_lines(1, np.int64), make_scratch(graph.VECTOR),
                          make_vectors(graph.VECTOR), make_recipe(graph.VECTOR))


class Dataplane:
    """A compiled cluster ready to forward batches. Immutable; safe to share between threads."""

    def __init__(self, cluster: Cluster, tables: Tables | None = None, *, prefetch: bool | None = None,
                 engine: str | None = None, flow_cache: bool = True):
        """``prefetch``: prefetch ahead in the kernels; None = when the tables outgrow the caches
        (`fastpath.compile.kernel_view.DEEP_PREFETCH_BYTES`). ``engine``: "staged" (the stages
        over vectors, `fastpath.dataplane.graph`) or "fused" (one loop per packet,
        `fastpath.dataplane.pipeline`); None = the measured rule of `ENGINES`. ``flow_cache``:
        the staged engine's flow cache (`fastpath.dataplane.stages.flow_cache`), used unless a
        call traces packets or asks for the full leg log."""
        self.cluster = cluster
        self.tables = tables if tables is not None else compile_cluster(cluster)
        self.dp = kernel_view(self.tables, **({} if prefetch is None else {"deep_prefetch": prefetch}))
        self.n_uplinks = self.tables.n_uplinks
        self.engine = "staged" if engine is None else engine
        self._chosen = engine is not None
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r} must be one of {', '.join(ENGINES)}")
        self.flow_cache = bool(flow_cache)
        # protocol and ports in the flow cache's key when a DFW rule or an ECMP hash reads them
        self.cache_key_l4 = self.tables.dfw_reads_l4 or bool(np.any(self.tables.route_kind == ROUTE_ECMP))
        self._caches: dict = {}  # worker -> its idle flow caches, one taken per worker of a call (`_take_cache`)
        self._caches_lock = threading.Lock()
        self._hit_share = 0.0  # of the last call that ran the flow cache (`workers_for`)
        self._leg_logs: list[np.ndarray] = []  # full leg logs kept for reuse (`_take_leg_log`)

    def workers_for(self, packets: int, threads: int, cached: bool) -> int:
        """Workers a call of ``packets`` packets on ``threads`` threads runs (``cached``: with the
        flow cache): as many as each get `MIN_SHARE_CACHED` packets when the cache answered
        most of the last cached call, else `MIN_SHARE_WALKED`; at least one, at most
        ``threads``. Decided from the packet count and that hit share alone, so a sequence of
        calls splits the same way each time it is run (and each worker's flow cache sees the
        same packets)."""
        share = MIN_SHARE_CACHED if cached and self._hit_share >= 0.5 else MIN_SHARE_WALKED
        return _parts(packets, threads, share)

    def _take_cache(self, worker: int):
        """An idle flow cache of worker ``worker``, or a new one. A cache outlives the call (its
        pages stay mapped and its entries stay valid: the tables never change), so a run's
        chunks share what earlier ones learned; a call holds it alone, so concurrent calls and
        workers never share one. Each worker has its own: worker w's share of the next call is
        most like its share of the last (handed another worker's cache, a worker misses and
        backs off while it learns: with `flow_cache.MAX_BACKOFF` at 512, a 2-thread call ran
        1.5x one thread instead of 1.8x)."""
        with self._caches_lock:
            idle = self._caches.get(worker)
            if idle:
                return idle.pop()
        return make_flow_cache(self.cache_key_l4)

    def _give_cache(self, worker: int, fc) -> None:
        with self._caches_lock:
            self._caches.setdefault(worker, []).append(fc)

    def _pool(self, threads: int) -> ThreadPoolExecutor:
        if getattr(self, "_pool_size", 0) < threads:
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fastpath")
            self._pool_size = threads
        return self._executor

    def reserve(self, packets: int, threads: int = 1, legs: bool = False) -> None:
        """Fault in, now, the memory calls of ``packets`` packets on ``threads`` workers reuse:
        each worker's leg log (a leg a packet's worth; with ``legs``, the full log calls with
        ``legs=True`` hand out too), flow cache and buffers, the service stage's columns. The
        first call of a run otherwise pays it: fresh pages, first touched by the kernels, cost a
        1M-packet call on the 1M-pod cluster ~60 ms, more than half its time. A run's setup, as
        a DPDK application maps its memory before the first packet; the caller touches its own
        results and counters (`touch`)."""
        threads = check_threads(threads)
        share = max(int(packets), 1) // threads + 1
        rows = pipeline.MAX_LEGS * share + 4
        wbs = [self._take_scratch("_worker_buffers", rows, _make_worker_buffers) for _ in range(threads)]
        for wb in wbs:
            touch(wb.legs[:share])
            self._give_scratch("_worker_buffers", wb)
        if legs:
            logs = [self._take_leg_log(rows) for _ in range(threads)]  # (held together: one a worker)
            for log in logs:
                touch(log[:share])
        if self.engine == "staged" and self.flow_cache:
            for w in range(threads):
                with self._caches_lock:
                    fresh = not self._caches.get(w)
                if fresh:  # (an idle one has been used: its pages are in, its entries kept)
                    fc = self._take_cache(w)
                    touch(fc.entries, fc.dirty)
                    self._give_cache(w, fc)
        if self.tables.services.n_ports:
            scratch = self._take_scratch("_service_scratch", packets, make_service_scratch)
            touch(*scratch)
            self._give_scratch("_service_scratch", scratch)

    def new_counters(self, workers: int) -> Counters:
        """Counters for ``forward(threads=workers)``: one row per worker."""
        return pipeline.make_counters(check_threads(workers), self.tables, self.n_uplinks)

    def forward(self, batch: PacketBatch, *, threads: int = 1, trace: np.ndarray | int | None = None,
                out: Results | None = None, counters: Counters | None = None, legs: bool = False) -> RunResult:
        """Forward every packet of ``batch``. ``threads`` > 1 splits it over numba workers
        (each its own counters). ``trace``: packet indices to trace, or an int k = every k-th.
        ``counters`` (from `new_counters`) accumulates across calls when given; pass it for
        small batches on big clusters, since fresh counters hold a hosts x hosts TEP-pair
        matrix (16 MB a worker at 1,000 hosts) that each call would allocate and sum. ``legs``:
        also return every tunnel leg (`pipeline.LEG_COLS`), in packet order: what
        `fastpath.wire` needs to rebuild the underlay frames (it may be a view of a log this
        `Dataplane` writes again only once no view of it is left: `_take_leg_log`).

        Services first (`stages.service`): kube-proxy's translation runs inside the staged
        engine's pass on a plain call (no trace, no leg log, no virtual servers); otherwise over
        the batch before the engines, which forward the translated copy, and packets it drops
        (``no-endpoint``) are left out of their run and given their verdict here. LoadBalancer virtual servers last
        (`fastpath.dataplane.lb`): packets the engines stopped at the load balancer's SR are
        translated there and forwarded on in a second pass, joined back into one result."""
        n = _check_batch(batch)
        threads = check_threads(threads)
        o = out if out is not None else empty_results(n)
        if o.size != n:
            raise ValueError(f"out holds {o.size} results, the batch {n} packets")
        cn = counters if counters is not None else self.new_counters(threads)
        if cn.verdicts.shape[0] != threads:
            raise ValueError(f"counters have {cn.verdicts.shape[0]} worker rows, {threads} threads asked")
        if trace is None or (isinstance(trace, int) and trace <= 0):
            picks = np.zeros(0, np.int64)
        elif isinstance(trace, (int, np.integer)):
            picks = np.arange(0, n, int(trace), dtype=np.int64)
        else:
            picks = np.unique(np.asarray(trace, np.int64))
            if picks.size and (picks[0] < 0 or picks[-1] >= n):
                raise ValueError(f"trace indices must lie in 0..{n - 1}")
        t = self.tables
        # the stage's columns: kept between calls (no fresh pages to fault in), unless the run
        # hands them out (a trace, the leg log: `RunResult.translated`)
        keep_scratch = not legs and not picks.size
        if not t.services.n_ports and self.lb is None:  # nothing to translate: each worker marks its share
            run = self._forward(batch, threads, picks, o, cn, legs, passed_by=True)
            if picks.size:
                snat_trace(self.snat, batch, o, picks, run.trace_records, run.trace_lengths)
            return run
        scratch = self._take_scratch("_service_scratch", n, make_service_scratch) \
            if keep_scratch and t.services.n_ports else None
        if scratch is not None and self._engine(False, False)[0] and self.lb is None:
            # the staged engine runs the stage itself, in its own per-packet pass (`graph`): the
            # packets are read once, and only a walked one's columns are written (`service`).
            # A worker's share with no packet in the service range skips it (in the pass it cost
            # such traffic ~5 ns a packet, bench/RESULTS.md, issue 12): `_forward` counts them
            try:
                tb = batch._replace(**{name: a[:n] for (name, _), a in zip(SCRATCH, scratch) if name != "state"})
                return self._forward(batch, threads, picks, o, cn, legs, self._service_pass, tb)
            finally:
                self._give_scratch("_service_scratch", scratch)
        found = candidates(batch, t.services.net, t.services.mask) if t.services.n_ports else 0
        try:
            parts = _parts(n, threads, MIN_SHARE_CACHED)  # (a pass of a few ns a packet: shares as a cached call's)
            bounds = [w * n // parts for w in range(parts + 1)]
            tl = translate(batch, t.services, t.n_pods, t.n_nodes, t.router_mac, o.service, o.backend, scratch,
                           bounds, self._pool(parts - 1) if parts > 1 else None, found)
            b1, unlb, lbt = (tl.batch if tl.changed else batch), None, self.lb
            if lbt is not None:  # replies of virtual servers, before the first pass (`lb`)
                b1, unlb = reply_sources(lbt, b1, o.service, o.backend, copy=not tl.changed)
            if not tl.changed:
                run = self._forward(b1, threads, picks, o, cn, legs)
                if unlb is not None:
                    run.translated = b1
            else:
                run = self._forward_translated(batch, tl._replace(batch=b1), threads, picks, o, cn, legs)
            if lbt is not None:  # the packets stopped at the load balancer's SR (`lb`)
                lb_scratch = self._take_scratch("_lb_scratch", n, make_lb_scratch) if keep_scratch else None
                try:
                    run = second_pass(self, lbt, b1, unlb, run, o, cn, threads, picks, legs, lb_scratch)
                finally:
                    if lb_scratch is not None:
                        self._give_scratch("_lb_scratch", lb_scratch)
                        run.lb = None  # (the scratch is the next call's)
            if keep_scratch and tl.changed:
                run.translated = run.service_state = None  # (the scratch is the next call's)
        finally:
            if scratch is not None:
                self._give_scratch("_service_scratch", scratch)
        if picks.size:
            snat_trace(self.snat, batch, o, picks, run.trace_records, run.trace_lengths)
        return run

    @property
    def lb(self) -> LbTable | None:
        """The load balancer's virtual servers (`Tables.lb`); None: the cluster has none."""
        return self.tables.lb

    @property
    def snat(self) -> SnatTable:
        """The namespaces' SNAT IPs (`Tables.snat`)."""
        return self.tables.snat

    def _take_leg_log(self, rows: int) -> np.ndarray:
        """A full leg log of at least ``rows`` rows for a call, reused when it can be: a call
        holds it, and a run's `RunResult.legs` may be a view of it (one worker, packets in
        order), so a kept log is reused only when nothing but the list of kept ones refers to it
        (numpy views keep their base: its reference count tells). A new one joins the kept ones
        while there are fewer than `LEG_LOGS_KEPT`, or takes an idle, smaller one's place."""
        with self._caches_lock:
            kept = self._leg_logs
            idle = None
            for k in range(len(kept)):
                if sys.getrefcount(kept[k]) <= 2:  # (the list's, and getrefcount's argument)
                    if kept[k].shape[0] >= rows:
                        return kept[k]
                    idle = k
            log = np.empty((rows, pipeline.LEG_COLS), np.int64)
            if len(kept) < LEG_LOGS_KEPT:
                kept.append(log)
            elif idle is not None:
                kept[idle] = log
            return log

    def _take_scratch(self, key: str, n: int, make) -> tuple:
        """Working columns of at least n rows kept from an earlier call, or new ones (``make(n)``)."""
        with self._caches_lock:
            pool = self.__dict__.setdefault(key, [])
            for k, s in enumerate(pool):
                if s[0].shape[0] >= n:
                    return pool.pop(k)
        return make(n)

    def _give_scratch(self, key: str, scratch: tuple) -> None:
        with self._caches_lock:
            self.__dict__.setdefault(key, []).append(scratch)

    def _forward_translated(self, batch, tl, threads, picks, o, cn, legs) -> RunResult:
        """The engines over the service stage's output; its drops given their verdict here."""
        if not tl.dropped:
            run = self._forward(tl.batch, threads, picks, o, cn, legs)
        else:
            dropped = tl.state == NO_ENDPOINT
            keep = np.flatnonzero(~dropped)
            sub = PacketBatch(*(np.ascontiguousarray(a[keep]) for a in tl.batch))
            so = empty_results(keep.size)
            kept = np.searchsorted(keep, picks)
            traced_kept = (kept < keep.size) & (keep[np.minimum(kept, max(keep.size - 1, 0))] == picks) \
                if keep.size else np.zeros(picks.size, bool)
            run = self._forward(sub, threads, kept[traced_kept], so, cn, legs)
            for name in Results._fields:
                if name not in ("service", "backend"):  # (the stage's own: already in o)
                    getattr(o, name)[keep] = getattr(so, name)
            _no_endpoint(batch, o, np.flatnonzero(dropped), self._pod_node)
            k = int(dropped.sum())
            cn.verdicts[0, Verdict.DROPPED] += k
            cn.reasons[0, Reason.NO_ENDPOINT] += k
            run.recount()
            if run.legs is not None:
                run.legs[:, LEG_PACKET] = keep[run.legs[:, LEG_PACKET]]
            recs = np.zeros((picks.size, MAX_HOPS, 4), np.int32)
            lens = np.zeros(picks.size, np.int32)
            recs[traced_kept], lens[traced_kept] = run.trace_records, run.trace_lengths
            run.trace_packets, run.trace_records, run.trace_lengths = picks, recs, lens
            run.results = o
        run.translated, run.service_state = tl.batch, tl.state
        if picks.size:
            service_trace(batch, tl.state, picks, run.trace_records, run.trace_lengths, self._pod_node)
        return run

    @cached_property
    def _pod_node(self) -> np.ndarray:
        """Each pod's node (where the service stage's drops happen), decoded once, when first needed."""
        return self.tables.port_node[: self.tables.n_pods]

    @property
    def _service_pass(self) -> ServicePass:
        if "_sv" not in self.__dict__:
            self.__dict__["_sv"] = service_pass(self.tables, self._pod_node)
        return self.__dict__["_sv"]

    def _engine(self, tracing: bool, want_legs: bool) -> tuple[bool, bool]:
        """(staged, cached): which engine a call runs, and with the flow cache or not."""
        staged = self.engine == "staged"
        cached = staged and self.flow_cache and not tracing and not want_legs
        if not self._chosen and staged and not cached and not self.dp.deep_prefetch:
            staged = False  # the measured rule (`ENGINES`): walking every packet on cache-resident tables
        return staged, cached

    def _forward(self, batch: PacketBatch, threads: int, picks: np.ndarray, o: Results, cn: Counters,
                 legs: bool, sv: ServicePass | None = None, tb: PacketBatch | None = None,
                 passed_by: bool = False) -> RunResult:
        """The engines over ``batch`` (already through the service stage, unless ``sv``: then the
        staged engine runs it, reading ``batch`` and walking ``tb``, `graph.forward_staged`, on
        each worker's share that has a packet in the service range; a share without one, and
        every share when ``passed_by``, has its ``service``/``backend`` results marked as the
        stage passing them by). Each worker counts and marks its own share: done over the batch
        before the workers, that ran at ~0.6 ns a packet on one core (a 1M-packet call of the
        seed took 0.6 ms before its kernels started, 2 threads or 1)."""
        n = batch.size
        tracing = picks.size > 0
        slot = np.full(n if tracing else 1, -1, np.int32)
        slot[picks] = np.arange(picks.size, dtype=np.int32)
        tr = np.zeros((max(picks.size, 1), MAX_HOPS, 4), np.int32)
        tl = np.zeros(max(picks.size, 1), np.int32)
        want_legs = legs
        staged, cached = self._engine(tracing, want_legs)
        active = self.workers_for(n, threads, cached)  # (the other rows of ``cn`` are left as they are)
        bounds = [w * n // active for w in range(active + 1)]
        rows = pipeline.MAX_LEGS * (n // active + 1) + 4  # (a worker's share is at most n // active + 1)
        wbs = [self._take_scratch("_worker_buffers", rows, _make_worker_buffers) for _ in range(active)]
        for wb in wbs:
            wb.n_legs[0] = 0
        # the log a call hands out: every column (`pipeline.LEG_COLS`), in a log no one else holds
        legs = [self._take_leg_log(rows) for _ in range(active)] if want_legs else [wb.legs for wb in wbs]
        n_legs = [wb.n_legs for wb in wbs]
        assert staged or sv is None
        hits = [0] * active

        def work(w: int) -> None:
            lo, hi = bounds[w], bounds[w + 1]
            row = cn if cn.verdicts.shape[0] == 1 else Counters(*(a[w:w + 1] for a in cn))
            b, ow = (batch, o) if active == 1 else (batch.slice(lo, hi), o.slice(lo, hi))  # (31 views fewer)
            sl = slot[lo:hi] if tracing else None
            svw, st = sv, self.tables.services
            if passed_by:
                passed_by_stage(b, st.net, st.mask, ow.service, ow.backend)
            elif sv is not None and not candidates(b.slice(0, min(b.size, SERVICE_PEEK)), st.net, st.mask) \
                    and not passed_by_stage(b, st.net, st.mask, ow.service, ow.backend):
                svw = None  # (traffic to cluster IPs has one among its first packets: no pass over the share)
            if staged:
                ahead = graph.AHEAD if self.dp.deep_prefetch else 0
                fc = self._take_cache(w) if cached else None
                rc = wbs[w].recipe if cached else None
                before = int(fc.state[HITS]) if cached else 0
                try:
                    graph.forward_staged(b, self.dp, ow, row, wbs[w].scratch, wbs[w].vectors,
                                         graph.VECTOR, sl, tr, tl, legs[w], n_legs[w], ahead, graph.FULL, fc, rc,
                                         None if svw is None else svw.with_keys(),
                                         None if svw is None else tb if active == 1 else tb.slice(lo, hi))
                finally:
                    if fc is not None:
                        hits[w] = int(fc.state[HITS]) - before
                        self._give_cache(w, fc)
            else:
                ring = zeros_own_lines(pipeline.RING, np.int64)
                ring.fill(-1)
                pipeline.forward_serial(b, self.dp, ow, row, sl, tr, tl, legs[w], n_legs[w], ring)
            pipeline.add_legs(row, legs[w], int(n_legs[w][0]))

        try:
            if active == 1:
                work(0)
            else:
                # Python threads over the nogil kernel: each worker a contiguous share as slices
                # that start at 0, writing its own counter row (see the pipeline's Counters).
                # Worker 0 is the calling thread: one hand-off fewer a call
                jobs = [self._pool(active - 1).submit(work, w) for w in range(1, active)]
                try:
                    work(0)
                finally:
                    for job in jobs:
                        job.result()
        finally:
            for wb in wbs:
                self._give_scratch("_worker_buffers", wb)
        if cached:
            self._hit_share = sum(hits) / n if n else self._hit_share
        log = None
        if want_legs:
            parts = [legs[w][: int(n_legs[w][0])] for w in range(active)]
            # the staged engine logs a vector's legs stage by stage: put them in packet order
            # (stable: a packet's own legs keep the order it crossed them)
            parts = [p if p.shape[0] < 2 or (p[1:, LEG_PACKET] >= p[:-1, LEG_PACKET]).all()  # (fused: in order)
                     else p[np.argsort(p[:, LEG_PACKET], kind="stable")] for p in parts]
            for w, part in enumerate(parts):
                part[:, pipeline.LEG_PACKET] += bounds[w]  # each worker counted from its own slice's 0
            log = parts[0] if active == 1 else np.concatenate(parts)  # (one worker's: no 40 MB copy a 1M call)
        return RunResult(o, cn, picks, tr[: picks.size], tl[: picks.size], log, sum(hits),
                         "staged" if staged else "fused", cached, self.tables.dfw_decision_names)


ENGINES = ("staged", "fused")
"""The two implementations of the data path; answers are identical (tests/test_dataplane_stages.py).
Unless a `Dataplane` is given one, a call runs staged with the flow cache — except a call that
must walk every packet (a trace, the full leg log) on tables that fit the caches (no deep
prefetch), where the fused loop is faster: measured on the seed scenario, staged without the
cache ran 0.72-0.81x the fused loop (bench/RESULTS.md, "Issue 10 — data plane v2"); where the
tables outgrow the caches staged wins (1.4-1.5x at 1M pods) and is always used."""


def touch(*arrays: np.ndarray) -> None:
    """Write every page of ``arrays`` once, keeping their contents (`Dataplane.reserve`): an
    array fresh from the allocator is mapped on its first write, a fault a page. A view that
    is not contiguous (counter rows padded to whole lines) is touched through its buffer."""
    for a in arrays:
        while not a.flags.c_contiguous and isinstance(a.base, np.ndarray):
            a = a.base
        if a.size and a.flags.c_contiguous:
            a.reshape(-1).view(np.uint8)[::4096] |= 0  # (not ``x[:] = x``: numpy skips that copy)


def check_threads(threads) -> int:
    """``threads`` as a worker count: an int in 1..`MAX_THREADS` (the core count does not cap it)."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be an int, got {type(threads).__name__}")
    if not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads {threads} must be in 1..{MAX_THREADS}")
    return int(threads)


def _check_batch(batch: PacketBatch) -> int:
    if not isinstance(batch, PacketBatch):
        raise TypeError(f"expected a PacketBatch, got {type(batch).__name__}")
    n = batch.ingress_kind.shape[0]
    for (name, dtype, _), a in zip(INPUT_FIELDS, batch):
        if a.dtype != dtype or a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"packet field {name}: expected {np.dtype(dtype).name}[{n}], got {a.dtype}{list(a.shape)}")
        if not a.flags.c_contiguous:
            raise ValueError(f"packet field {name}: must be contiguous")
    return n
