#!/usr/bin/env python
"""Where the time goes: ns per packet of each stage of the staged data path, the engines side by
side, and the memory system's limit, all measured in one run.

    python bench/stages.py                    # seed (path, uniform) + 1M pods uniform, 1M packets a call: ~1 min
    python bench/stages.py --rounds 15        # what bench/RESULTS.md shows: ~1.5 min
    python bench/stages.py --quick            # 100k pods, 256k packets a call, 3 rounds (< 1 min)
    python bench/stages.py --markdown out.md  # also write the tables as markdown

Method: prefixes, not timers
----------------------------
`fastpath.dataplane.graph.forward_staged` takes ``upto=k``: run only the first k stage calls of
`graph.GRAPH` on every vector. The time of stage k is the time of prefix k minus that of prefix
k-1, per packet of the batch (not per packet reaching the stage: those counts are shown beside
it). No timer sits inside the kernel, so nothing is measured that the engine does not do, and
the stages sum to the whole kernel by construction. The price: an increment is a difference of
two noisy figures, so a stage cheaper than the noise (a few ns; more at 1M pods) can come out
at or below zero. Two estimates are shown: best of prefix k minus best of prefix k-1, and the
median over rounds of the difference within a round (the prefixes run back to back, see below). A stage's
increment also carries what its presence changes in the next stage's caches and branch
predictors, as it would in the full run.

Each prefix runs at kernel level with the engine's buffers allocated once (results, counters,
scratch and vectors of `graph.VECTOR` slots, the leg log), tracing compiled out (``trace_slot``
None), prefetch as the engine chooses (`graph.AHEAD` ahead when the kernel view's
``deep_prefetch`` is on, else none). The leg log is reset after each prefix; the fold of it into
the TEP-pair counters (`add_legs`, done by `Dataplane.forward` after the kernel) is the last
row, timed as the whole kernel plus the fold.

A prefix runs each stage in its own loop; the whole kernel (``upto=graph.FULL``) runs the
sender's side, `sender_stack` to `dfw`, as one loop (`graph.sender_side`), and the receiver's,
`tunnel` to `deliver`, as another (`graph.receiver_side`). So the last stage's row is prefix
`graph.EACH` (every stage, each its own loop) minus the prefix before it, and a row of its own
shows what the two loops save: ``FULL`` minus ``EACH`` (below zero).

"Packets reaching it" comes from running the same stage calls once from Python over the whole
batch as one vector (`reach`), checked field for field against `Dataplane.forward` (results and
every counter) before it is trusted; the route stage shows the packets entering it, and its
hops and passes below the table.

Same rounds, same machine
-------------------------
Every prefix, the fused kernel (`pipeline.forward_serial` + fold), `Dataplane.forward` for both
engines (counters given, as a caller forwarding many batches would), and three random-gather
loops (`baselines.random_gather`: one uint64 read at a random index per access, over an array of
the tables' byte size, over 64 MiB, and over 64 MiB at unsigned indices) run once per round, in a
shuffled order each round, so a
slow spell of the shared machine hits them all alike. The prefixes and the whole kernel run as
one block, back to back (in order on even rounds, reversed on odd ones), so the difference of
two neighbours in a round is paired: a spell longer than a call (~0.1-0.2 s) cancels in it. Best of ``--rounds`` after a warm-up call,
the median beside it. A 64 MiB gather access is the issue's unit of cost at 1M pods ("~12
random DRAM accesses per packet" = 10 M packets/s), so every ns/packet is also shown in those.

Two gathers of 64 MiB
---------------------
The issue's unit is the gather as it was measured when the issue was written: int64 indices,
so numba puts its negative-index fix-up (a shift, an and, an add) before each read. Fastpath's
kernels no longer carry that fix-up (`fastpath._jit.install_no_wraparound`), and neither does the
same loop over unsigned indices, which on this machine runs ~2x faster: fewer instructions a read
let the core keep more reads in flight. That faster gather, the memory system's best, is shown
beside the issue's unit ("= unsigned gathers"), so neither flatters the engine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import baselines
import numpy as np
import workload

from fastpath.dataplane import graph, pipeline
from fastpath.dataplane.api import Dataplane
from fastpath.dataplane.stages.common import Counters, add_legs, make_recipe, make_scratch, make_vectors
from fastpath.dataplane.stages.deliver import deliver
from fastpath.dataplane.stages.dfw import dfw
from fastpath.dataplane.stages.flow_cache import HITS, make_flow_cache
from fastpath.dataplane.stages.ingress import ingress
from fastpath.dataplane.stages.neighbor import neighbor
from fastpath.dataplane.stages.ovs import ovs_from_pod
from fastpath.dataplane.stages.route import route
from fastpath.dataplane.stages.segment import segment
from fastpath.dataplane.stages.sender_stack import sender_stack
from fastpath.dataplane.stages.spoofguard import spoofguard
from fastpath.dataplane.stages.tunnel import tunnel
from fastpath.dataplane.stages.vif import vif_demux
from fastpath.dataplane.trace import MAX_HOPS
from fastpath.model import generate
from fastpath.packets import PacketBatch, Results, empty_results
from fastpath.traffic import uniform_pod_to_pod

PACKETS = 1 << 20
QUICK_PACKETS = 1 << 18
GATHER_BIG = 64 << 20
"""Bytes of the DRAM-bound gather (the issue's unit of cost)."""
FOLD = "leg fold (add_legs)"
ONE_LOOP = ("sender_stack .. dfw and tunnel .. deliver as two loops (`graph.sender_side`, `graph.receiver_side`), "
            "against their own loops above")


class Workload(NamedTuple):
    cluster: str  # "seed", "1M pods", ...
    traffic: str  # "path (other host, other ns)" / "uniform pod-to-pod"
    staged: Dataplane  # engine="staged"
    fused: Dataplane  # engine="fused", the same tables
    batch: PacketBatch


def uniform_batch(cluster, n: int, seed: int = 0) -> PacketBatch:
    return next(iter(uniform_pod_to_pod(cluster, n, seed=seed, chunk=n)))


def workloads(quick: bool, packets: int) -> list[Workload]:
    """Seed path + seed uniform + the big cluster uniform (1M pods; 100k with ``quick``)."""
    out = []
    seed = workload.default_cluster()
    t = time.perf_counter()
    big = generate(**(workload.BIG_QUICK if quick else workload.BIG), seed=0)
    print(f"generated the big cluster in {time.perf_counter() - t:.1f} s: {workload.describe(big)}", file=sys.stderr,
          flush=True)
    big_name = f"{len(big.pods) // 1000}k pods" if quick else "1M pods"
    for name, c, traffic in (("seed", seed, ("path", "uniform")), (big_name, big, ("uniform",))):
        st = Dataplane(c, engine="staged")
        fu = Dataplane(c, st.tables, engine="fused")
        for tr in traffic:
            batch = (workload.path_batch(c, packets) if tr == "path" else uniform_batch(c, packets))
            label = "path (other host, other ns)" if tr == "path" else "uniform pod-to-pod"
            out.append(Workload(name, label, st, fu, batch))
            print(f"  {name}, {label}: {packets:,} packets; tables {st.tables.nbytes() / 1e6:.2f} MB; "
                  f"deep_prefetch {bool(st.dp.deep_prefetch)}", file=sys.stderr, flush=True)
    return out


# ---- the kernels, buffers allocated once ----------------------------------------------------------------
class Runner:
    """One workload's buffers, allocated once; each method is one timed call."""

    def __init__(self, w: Workload):
        self.w = w
        self.batch = w.batch
        self.n = n = w.batch.size
        self.dp = w.staged.dp
        self.out = empty_results(n)
        self.counters = w.staged.new_counters(1)
        self.scratch = make_scratch(graph.VECTOR)
        self.vectors = make_vectors(graph.VECTOR)
        self.legs = np.empty((pipeline.MAX_LEGS * n + 4, 2), np.int64)  # 2 columns: what the counters need
        self.n_legs = np.zeros(1, np.int64)
        self.tr = np.zeros((1, MAX_HOPS, 4), np.int32)
        self.tl = np.zeros(1, np.int32)
        self.ring = np.full(pipeline.RING, -1, np.int64)
        self.ahead = graph.AHEAD if self.dp.deep_prefetch else 0  # as the engine chooses (api.Dataplane.forward)
        self.recipe = make_recipe(graph.VECTOR)
        self.hits = 0
        self.walkers = Dataplane(w.staged.cluster, w.staged.tables, engine="staged", flow_cache=False)

    def prefix(self, k: int) -> None:
        """`forward_staged` with ``upto=k``, tracing compiled out; the leg log reset (not folded)."""
        graph.forward_staged(self.batch, self.dp, self.out, self.counters, self.scratch, self.vectors, graph.VECTOR,
                             None, self.tr, self.tl, self.legs, self.n_legs, self.ahead, k, None, None, None, None)
        self.n_legs[0] = 0

    def _fold(self) -> None:
        add_legs(self.counters, self.legs, int(self.n_legs[0]))
        self.n_legs[0] = 0

    def staged(self) -> None:
        """The whole staged kernel and the fold: what `Dataplane.forward` (staged) runs."""
        graph.forward_staged(self.batch, self.dp, self.out, self.counters, self.scratch, self.vectors, graph.VECTOR,
                             None, self.tr, self.tl, self.legs, self.n_legs, self.ahead, graph.FULL, None, None, None, None)
        self._fold()

    def cached(self) -> None:
        """The staged kernel behind a fresh (cold) flow cache, and the fold: `Dataplane.forward`'s default."""
        fc = make_flow_cache(self.w.staged.cache_key_l4)
        graph.forward_staged(self.batch, self.dp, self.out, self.counters, self.scratch, self.vectors, graph.VECTOR,
                             None, self.tr, self.tl, self.legs, self.n_legs, self.ahead, graph.FULL, fc,
                             self.recipe, None, None)
        self.hits = int(fc.state[HITS])
        self._fold()

    def fused(self) -> None:
        """The fused kernel (its own prefetch setting: the kernel view's) and the fold."""
        self.ring[:] = -1
        pipeline.forward_serial(self.batch, self.w.fused.dp, self.out, self.counters, None, self.tr, self.tl,
                                self.legs, self.n_legs, self.ring)
        self._fold()

    def api(self, engine: str) -> None:
        """`Dataplane.forward` as `fastpath run` calls it (one results buffer reused): "staged"
        (with its flow cache), "walk" (staged, no cache) or "fused"."""
        d = {"staged": self.w.staged, "walk": self.walkers, "fused": self.w.fused}[engine]
        d.forward(self.batch, counters=self.counters, out=self.out)


class Gather:
    """`baselines.random_gather` over an array of ``nbytes``: ``n`` random uint64 reads a call."""

    def __init__(self, nbytes: int, n: int, unsigned: bool = False):
        self.array = baselines.gather_array(nbytes)
        self.idx = baselines.gather_indices(self.array, n)
        if unsigned:  # (no negative-index fix-up before each read: the module docstring)
            self.idx = self.idx.astype(np.uint64)
        self.sink = np.empty(n, np.uint64)
        self.n = n

    def __call__(self) -> None:
        baselines.random_gather(self.array, self.idx, self.sink)


# ---- packets reaching each stage --------------------------------------------------------------------------
class Reach(NamedTuple):
    packets: dict  # GRAPH name -> packets entering it
    route_hops: int  # route lookups made (every pass's packets)
    route_passes: int
    legs: int  # tunnel legs logged (rows the fold reads)


def reach(w: Workload) -> Reach:
    """The stage calls of `graph.forward_staged`, made from Python over the whole batch as one
    vector, counting the packets handed to each. Raises unless the results and every counter
    equal `Dataplane.forward`'s: the counts are then those of the engine's own path."""
    b, dp, n = w.batch, w.staged.dp, w.batch.size
    o, cn = empty_results(n), w.staged.new_counters(1)
    s, v = make_scratch(n), make_vectors(n)
    legs, n_legs = np.empty((pipeline.MAX_LEGS * n + 4, 2), np.int64), np.zeros(1, np.int64)
    tr, tl = np.zeros((1, MAX_HOPS, 4), np.int32), np.zeros(1, np.int32)
    at: dict[str, int] = {"ingress": n}
    every = np.arange(n, dtype=np.int32)
    n_ep, n_rt = ingress(b, dp, o, s, 0, every, n, v.a, v.route, None, tr, tl, None, 0)
    at["sender_stack"] = n_ep
    n_ep = sender_stack(b, dp, o, cn, s, 0, v.a, n_ep, v.b, None, tr, tl, None, 0)
    at["ovs_from_pod"] = n_ep
    n_ep = ovs_from_pod(b, dp, o, cn, s, 0, v.b, n_ep, v.a, None, tr, tl, None)
    at["vif_demux"] = n_ep
    n_ep = vif_demux(b, dp, o, cn, s, 0, v.a, n_ep, v.b, None, tr, tl, None)
    at["spoofguard"] = n_ep
    n_ep = spoofguard(b, dp, o, cn, s, 0, v.b, n_ep, v.a, None, tr, tl, None)
    at["dfw"] = n_ep
    n_ep = dfw(b, dp, o, cn, 0, v.a, n_ep, s.lp, v.b, False, None, tr, tl, None)
    at["segment"] = n_ep
    n_rt, n_port = segment(b, dp, o, cn, s, 0, v.b, n_ep, v.route, n_rt, v.port, 0, None, tr, tl, None)
    at["route"] = n_rt
    hops = passes = n_nb = 0
    while n_rt > 0:
        hops += n_rt
        passes += 1
        n_rt, n_nb = route(b, dp, o, cn, s, 0, v.route, n_rt, v.neighbor, n_nb, legs, n_legs, None, tr, tl, None, 0)
    at["neighbor"] = n_nb
    n_port = neighbor(b, dp, o, cn, s, 0, v.neighbor, n_nb, v.port, n_port, None, tr, tl, None)
    at["tunnel"] = n_port
    n_port = tunnel(b, dp, o, cn, s, 0, v.port, n_port, v.port, legs, n_legs, None, tr, tl, None, 0)
    at["dfw_at_receiver"] = n_port
    n_port = dfw(b, dp, o, cn, 0, v.port, n_port, s.port, v.port, True, None, tr, tl, None)
    at["deliver"] = n_port
    deliver(b, dp, o, cn, s, 0, v.port, n_port, None, tr, tl, None)
    at["count"] = n
    graph.count(o, cn, 0, every, n)
    n_legged = int(n_legs[0])
    add_legs(cn, legs, n_legged)
    if tuple(at) != graph.GRAPH:
        raise AssertionError(f"bench/stages.py's stage calls {tuple(at)} are not graph.GRAPH {graph.GRAPH}")
    ref = Dataplane(w.staged.cluster, w.staged.tables, engine="staged", flow_cache=False).forward(w.batch)
    for field in Results._fields:
        if not np.array_equal(getattr(o, field), getattr(ref.results, field)):
            raise AssertionError(f"reach(): results.{field} differ from Dataplane.forward's: the stage calls here "
                                 f"no longer match graph.forward_staged")
    for field in Counters._fields:
        if not np.array_equal(getattr(cn, field), getattr(ref.counters, field)):
            raise AssertionError(f"reach(): counters.{field} differ from Dataplane.forward's")
    return Reach(at, hops, passes, n_legged)


# ---- timing ----------------------------------------------------------------------------------------------
def timed_rounds(configs: dict, rounds: int, chain: tuple = (), seed: int = 0) -> dict[str, list[float]]:
    """Each configuration once per round, in a shuffled order (a slow spell hits all alike). The
    ``chain`` keys run back to back as one block (in order on even rounds, reversed on odd ones,
    so a drift inside the block cancels), the block at a shuffled place among the others: the
    differences of neighbours in the chain are then paired, round by round."""
    for fn in configs.values():  # warm: JIT, page faults, caches
        fn()
    rng = np.random.default_rng(seed)
    rest = [k for k in configs if k not in chain]
    times = {k: [] for k in configs}
    for r in range(rounds):
        block = list(chain) if r % 2 == 0 else list(reversed(chain))
        units = [[k] for k in rest] + ([block] if block else [])
        for j in rng.permutation(len(units)):
            for k in units[j]:
                t = time.perf_counter()
                configs[k]()
                times[k].append(time.perf_counter() - t)
    return times


class Measured(NamedTuple):
    w: Workload
    reach: Reach
    best: dict  # config -> ns per packet (or per access), best
    median: dict
    rounds: dict  # config -> float[rounds], ns per packet of each round (round order)
    hit_share: float  # the flow cache's hits / packets in a call (a fresh cache each call)


def measure(w: Workload, rounds: int) -> Measured:
    rn = Runner(w)
    n = rn.n
    configs = {f"prefix {k}": (lambda k=k: rn.prefix(k)) for k in (*range(1, graph.FULL), graph.EACH, graph.FULL)}
    configs["staged kernel"] = rn.staged
    configs["staged kernel + flow cache"] = rn.cached
    configs["fused kernel"] = rn.fused
    configs["Dataplane.forward staged"] = lambda: rn.api("staged")
    configs["Dataplane.forward walk"] = lambda: rn.api("walk")
    configs["Dataplane.forward fused"] = lambda: rn.api("fused")
    configs["gather tables"] = Gather(w.staged.tables.nbytes(), n)
    configs["gather 64 MiB"] = Gather(GATHER_BIG, n)
    configs["gather 64 MiB unsigned"] = Gather(GATHER_BIG, n, unsigned=True)
    r = reach(w)
    chain = tuple(f"prefix {k}" for k in (*range(1, graph.FULL), graph.EACH, graph.FULL)) + ("staged kernel",)
    times = timed_rounds(configs, rounds, chain)
    best = {k: 1e9 * min(v) / n for k, v in times.items()}
    med = {k: 1e9 * float(np.median(v)) / n for k, v in times.items()}
    m = Measured(w, r, best, med, {k: 1e9 * np.asarray(v) / n for k, v in times.items()}, rn.hits / n)
    print(f"\n{w.cluster}, {w.traffic}: best of {rounds} (median)", file=sys.stderr)
    for name, pk, b, md, share in stage_rows(m):
        print(f"  {name:<22} {pk:>10,} {b:7.1f} ns ({md:7.1f}) {100 * share:5.1f}%", file=sys.stderr)
    for k in ("staged kernel", "staged kernel + flow cache", "fused kernel", "Dataplane.forward staged",
              "Dataplane.forward walk", "Dataplane.forward fused", "gather tables", "gather 64 MiB",
              "gather 64 MiB unsigned"):
        print(f"  {k:<26} {best[k]:7.1f} ns ({med[k]:7.1f})", file=sys.stderr, flush=True)
    return m


def stage_rows(m: Measured) -> list[tuple[str, int, float, float, float]]:
    """(stage, packets reaching it, increment best, increment median, share of the whole) per
    stage of `graph.GRAPH`, then the leg fold. Best: best of prefix k minus best of prefix k-1.
    Median: the median over rounds of (prefix k - prefix k-1) of the same round (run back to
    back: `timed_rounds`' chain)."""
    rows = []
    total = m.best["staged kernel"]
    keys = [f"prefix {k}" for k in (*range(1, graph.FULL), graph.EACH, graph.FULL)] + ["staged kernel"]
    names = list(graph.GRAPH) + [ONE_LOOP, FOLD]
    prev_b, prev_r = 0.0, np.zeros_like(m.rounds[keys[0]])
    for key, name in zip(keys, names):
        b, r = m.best[key], m.rounds[key]
        pk = m.reach.legs if name == FOLD else m.reach.packets["sender_stack" if name == ONE_LOOP else name]
        rows.append((name, pk, b - prev_b, float(np.median(r - prev_r)), (b - prev_b) / total))
        prev_b, prev_r = b, r
    return rows


# ---- the report ------------------------------------------------------------------------------------------
def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(BENCH.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(BENCH.parent), "status", "--porcelain", "fastpath", "bench"],
                               capture_output=True, text=True, check=False).stdout.splitlines()
    except OSError:
        return "?"
    return (head or "?") + (f" + {len(dirty)} uncommitted file(s) in fastpath/ or bench/" if dirty else "")


def markdown(ms: list[Measured], head: list[str], rounds: int) -> str:
    out = head + ["",
                  f"Per stage: `forward_staged(upto=k)` minus `upto=k-1`, ns per packet of the batch, best of {rounds} "
                  f"(median: the median over rounds of the same round's difference, the prefixes run back to back); share of the whole staged kernel + fold (best). "
                  f"\"= 64 MiB gathers\": the increment in random 64 MiB gather accesses of the same run.", "",
                  "| cluster | traffic | stage | packets reaching it | ns/packet (best) | ns/packet (median) | share "
                  "| = 64 MiB gathers |",
                  "|---|---|---|---|---|---|---|---|"]
    notes = []
    for m in ms:
        g = m.best["gather 64 MiB"]
        first = True
        for name, pk, b, md, share in stage_rows(m):
            c, t = (m.w.cluster, m.w.traffic) if first else ("", "")
            first = False
            label = f"{name} — count: tunnel legs" if name == FOLD else name
            out.append(f"| {c} | {t} | {label} | {pk:,} | {b:.1f} | {md:.1f} | {100 * share:.0f}% | {b / g:.2f} |")
        tot = m.best["staged kernel"]
        out.append(f"| | | **all** (staged kernel + fold) | {m.w.batch.size:,} | **{tot:.1f}** | "
                   f"{m.median['staged kernel']:.1f} | 100% | {tot / g:.2f} |")
        r = m.reach
        inc = {name: b for name, _, b, _, _ in stage_rows(m)}
        per_hop = inc["route"] * m.w.batch.size / max(r.route_hops, 1)
        notes.append(f"{m.w.cluster}, {m.w.traffic}: route {r.route_hops:,} lookups in {r.route_passes} passes "
                     f"({r.route_hops / max(r.packets['route'], 1):.2f} hops a routed packet, {per_hop:.1f} ns a hop); "
                     f"{r.legs:,} tunnel legs; "
                     f"tables {m.w.staged.tables.nbytes() / 1e6:.2f} MB, prefetch "
                     f"{'%d ahead' % graph.AHEAD if m.w.staged.dp.deep_prefetch else 'off'} (the engine's choice)")
    out += ["", "| cluster | traffic | engine | M packets/s per core | ns/packet (best) | ns/packet (median) "
                "| speed vs the fused kernel | = 64 MiB gathers | = unsigned gathers | = table-size gathers |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for m in ms:
        f, g, gt = m.best["fused kernel"], m.best["gather 64 MiB"], m.best["gather tables"]
        gu = m.best["gather 64 MiB unsigned"]
        first = True
        hs = f"{100 * m.hit_share:.1f}% hits"
        for k, label in (("fused kernel", "fused kernel (`forward_serial` + fold)"),
                         ("staged kernel", "staged kernel, every packet walks (`forward_staged` + fold)"),
                         ("staged kernel + flow cache", f"staged kernel + flow cache ({hs})"),
                         ("Dataplane.forward fused", "`Dataplane(engine=\"fused\").forward`"),
                         ("Dataplane.forward walk", "`Dataplane(engine=\"staged\", flow_cache=False).forward`"),
                         ("Dataplane.forward staged", f"`Dataplane(c).forward` — the default ({hs})")):
            c, t = (m.w.cluster, m.w.traffic) if first else ("", "")
            first = False
            b = m.best[k]
            out.append(f"| {c} | {t} | {label} | {1e3 / b:.2f} | {b:.1f} | {m.median[k]:.1f} | {f / b:.2f}x | "
                       f"{b / g:.1f} | {b / gu:.1f} | {b / gt:.1f} |")
    out += ["", "| cluster | traffic | random 64-bit gather over | MB | ns/access (best) | ns/access (median) "
                "| M accesses/s |", "|---|---|---|---|---|---|---|"]
    for m in ms:
        nb = m.w.staged.tables.nbytes()
        for k, label, size in (("gather tables", "the tables' byte size", nb), ("gather 64 MiB", "64 MiB", GATHER_BIG),
                               ("gather 64 MiB unsigned", "64 MiB, unsigned indices", GATHER_BIG)):
            c, t = (m.w.cluster, m.w.traffic) if k == "gather tables" else ("", "")
            out.append(f"| {c} | {t} | {label} | {size / 1e6:.2f} | {m.best[k]:.2f} | {m.median[k]:.2f} | "
                       f"{1e3 / m.best[k]:.0f} |")
    return "\n".join(out + [""] + [f"- {x}" for x in notes]) + "\n"


def _streamed(batch: PacketBatch, o: Results, threads: int, pool: ThreadPoolExecutor) -> None:
    """`baselines.stream_columns` over ``batch`` split as `Dataplane.forward` splits it."""
    n = batch.size
    bounds = [w * n // threads for w in range(threads + 1)]
    jobs = [pool.submit(baselines.stream_columns, batch.slice(bounds[w], bounds[w + 1]),
                        o.slice(bounds[w], bounds[w + 1])) for w in range(1, threads)]
    baselines.stream_columns(batch.slice(0, bounds[1]), o.slice(0, bounds[1]))
    for job in jobs:
        job.result()


def threads_table(ws: list[Workload], rounds: int) -> list[str]:
    """`Dataplane.forward` (the default: staged, flow cache) with 1 and 2 threads, alternating,
    on each cluster's uniform traffic: the issue's ">= 1.8x on an idle machine". Beside it, in
    the same rounds, the memory system's own speed-up for the bytes a cached packet moves
    (`baselines.stream_columns` over the same batch, split the same way), and the same call with
    every packet walked (``flow_cache=False``): what a cached call hardly writes, a walk writes
    every vector — the workers' counters, leg counts and scratch, which must not share cache
    lines (`fastpath.tables.lines.rows_on_lines`: packed, the seed's walk ran 1.25-1.3x)."""
    out = ["", "| cluster | traffic | 1 thread M packets/s | 2 threads M packets/s | 2 threads / 1 "
               "| every packet walked (`flow_cache=False`): 1 -> 2 threads "
               "| the batch's columns into the results' (`stream_columns`): 2 threads / 1 |",
           "|---|---|---|---|---|---|---|"]
    pool = ThreadPoolExecutor(max_workers=1)
    for w in ws:
        if not w.traffic.startswith("uniform"):
            continue
        n = w.batch.size
        o = empty_results(n)
        cns = {k: w.staged.new_counters(k) for k in (1, 2)}
        walker = Dataplane(w.staged.cluster, w.staged.tables, flow_cache=False)
        wcns = {k: walker.new_counters(k) for k in (1, 2)}
        configs = {k: (lambda k=k: w.staged.forward(w.batch, threads=k, counters=cns[k], out=o)) for k in (1, 2)}
        configs.update({("walk", k): (lambda k=k: walker.forward(w.batch, threads=k, counters=wcns[k], out=o))
                        for k in (1, 2)})
        configs.update({("stream", k): (lambda k=k: _streamed(w.batch, o, k, pool)) for k in (1, 2)})
        times = timed_rounds(configs, rounds)
        one, two = n / min(times[1]), n / min(times[2])
        w1, w2 = n / min(times[("walk", 1)]), n / min(times[("walk", 2)])
        s1, s2 = n / min(times[("stream", 1)]), n / min(times[("stream", 2)])
        out.append(f"| {w.cluster} | {w.traffic} | {one / 1e6:.1f} | {two / 1e6:.1f} | {two / one:.2f}x "
                   f"| {w1 / 1e6:.1f} -> {w2 / 1e6:.1f} M/s: {w2 / w1:.2f}x "
                   f"| {s1 / 1e6:.0f} -> {s2 / 1e6:.0f} M/s: {s2 / s1:.2f}x |")
        print(f"  threads, {w.cluster}: {one / 1e6:.1f} -> {two / 1e6:.1f} M/s, {two / one:.2f}x; walked "
              f"{w2 / w1:.2f}x; stream_columns {s2 / s1:.2f}x", file=sys.stderr)
    pool.shutdown()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pods, 256k packets a call, 3 rounds (< 1 min)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (best taken); default 7, quick 3")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    args = ap.parse_args(argv)
    packets = QUICK_PACKETS if args.quick else PACKETS
    rounds = args.rounds or (3 if args.quick else 7)
    t0 = time.perf_counter()
    import run

    cmd = "python bench/stages.py" + "".join(" " + shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    head = [f"**Command**: `{cmd}`", f"**Date**: {date}", f"**Machine**: {run.machine_line()}",
            f"**Commit**: {git_commit()}; {run.engine_line()}"]
    print("\n".join(head), file=sys.stderr, flush=True)
    ws = workloads(args.quick, packets)
    ms = [measure(w, rounds) for w in ws]
    thr = threads_table(ws, rounds)
    head.append(f"**Run**: {packets:,} packets a call, vectors of {graph.VECTOR}, {rounds} rounds; took "
                f"{time.perf_counter() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    md = markdown(ms, [h + "  " for h in head[:-1]] + [head[-1]], rounds) + "\n".join(thr) + "\n"
    print(md)
    if args.markdown:
        Path(args.markdown).write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
