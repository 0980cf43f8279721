#!/usr/bin/env python
"""Issue 3's benchmarks, as one table: the workload, then every figure beside its baseline.

    python bench/run.py                      # the full run: default scenario and the 1M-pod cluster
    python bench/run.py --quick              # smoke run: 100k pods, smaller batches (< 1 minute)
    python bench/run.py --markdown out.md    # also write the table as markdown

Rows, in order:

1. workload — the clusters, `Tables.sizes()` (bytes per pod), the routes' prefix-length
   histogram, router instances, the path traffic's verdicts and stage passes per packet (the
   stage counters' 'in');
2. lookups — each bulk lookup kernel, one thread, on uniformly drawn hits (see
   `bench/workload.py`), against: plain numpy (`np.searchsorted`), a numba random-gather loop
   over an array of the table's byte size (the memory system's limit; ``gather2``: two reads a
   lookup), and for routing a pytricia loop; ratio = kernel rate / baseline rate, all measured
   in this process; exact tables also show their load factor and first-bucket share;
3. end to end — `Dataplane.forward` on the seed's path traffic, 1 and 2 threads alternating
   (with the cores the runs actually got), and what the router lookups alone cost per packet;
4. compile — `compile_cluster` of the big cluster, bytes per pod;
5. JIT — a child process with a fresh, empty ``NUMBA_CACHE_DIR`` imports fastpath and forwards
   a small batch on the default scenario (cold); the same again on the filled cache (warm).

Timing: `time.perf_counter`, every jitted call warmed up first, the best of ``--repeat`` runs
(medians shown for the end-to-end rows). The target column holds issue 3's targets;
``met``/``MISSED`` is computed, not judged. The footer names the machine and the engine (git
commit, a hash of fastpath's sources) and says if the sources changed during the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import cases
import numpy as np
import workload

from fastpath.compile import compile_cluster
from fastpath.dataplane.api import Dataplane

TARGETS = {
    "forward_default": 30e6,  # packets/s per core, default scenario
    "forward_big": 10e6,  # packets/s per core, 1M pods
    "speedup_2": 1.8,
    "vs_gather": 0.8,
    "vs_pytricia": 100.0,
    "compile_s": 5.0,
    "bytes_per_pod": 128.0,
    "cold_jit_s": 15.0,
    "warm_jit_s": 1.0,
}


@dataclass(frozen=True)
class Sizes:
    lookups: int  # lookups per kernel call
    packets: int  # packets per forward call
    repeat: int  # timed runs, best taken
    forward_repeat: int  # timed forward calls per thread count (alternating 1 and 2 threads)
    compile_repeat: int
    cold_runs: int
    warm_runs: int
    quick: bool


FULL = Sizes(lookups=1 << 20, packets=1 << 20, repeat=5, forward_repeat=9, compile_repeat=3, cold_runs=2,
             warm_runs=3, quick=False)
QUICK = Sizes(lookups=1 << 16, packets=1 << 16, repeat=3, forward_repeat=5, compile_repeat=1, cold_runs=1,
              warm_runs=1, quick=True)


# ---- timing ------------------------------------------------------------------------------------------
def best_of(fn, repeat: int, warmup: int = 1) -> float:
    """Best wall time of ``repeat`` calls after ``warmup`` untimed ones (JIT, caches, page faults)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# ---- the table ---------------------------------------------------------------------------------------
class Table:
    COLUMNS = ("section", "item", "figure", "against / notes", "target")

    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, section: str, item: str, figure: str, against: str = "", target: str = "") -> None:
        self.rows.append((section, item, figure, against, target))
        print(f"  [{section}] {item}: {figure} {against} {target}".rstrip(), file=sys.stderr, flush=True)

    def text(self) -> str:
        w = [max(len(c), *(len(r[k]) for r in self.rows)) for k, c in enumerate(self.COLUMNS)]
        line = "  ".join("-" * x for x in w)
        out = ["  ".join(c.ljust(x) for c, x in zip(self.COLUMNS, w)).rstrip(), line]
        prev = None
        for r in self.rows:
            sec = r[0] if r[0] != prev else ""
            if prev is not None and r[0] != prev:
                out.append("")
            prev = r[0]
            out.append("  ".join(c.ljust(x) for c, x in zip((sec, *r[1:]), w)).rstrip())
        return "\n".join(out)

    def markdown(self) -> str:
        out = ["| " + " | ".join(self.COLUMNS) + " |", "|" + "---|" * len(self.COLUMNS)]
        prev = None
        for r in self.rows:
            sec = f"**{r[0]}**" if r[0] != prev else ""
            prev = r[0]
            cells = [c.replace("|", "\\|") for c in (sec, *r[1:])]
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out)


def rate(x: float) -> str:
    return f"{x / 1e6:.1f} M/s" if x >= 1e6 else f"{x / 1e6:.2f} M/s"


def verdict(met: bool, how: str) -> str:
    return f"{'met' if met else 'MISSED'} ({how})"


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


# ---- sections ----------------------------------------------------------------------------------------
def workload_rows(t: Table, name: str, cluster, tables, run) -> None:
    s = cluster.summary()
    t.add("workload", f"cluster {name}",
          f"{s['pods']:,} pods", f"{s['nodes']:,} nodes, {s['hosts']:,} hosts + {s['edges']} edge, "
          f"{s['namespaces']} namespaces; {tables.n_routers} router instances (DR+SR), {tables.n_routes:,} routes")
    per = max(tables.n_pods, 1)
    parts = [f"{k} {v.bytes / per:.1f}" for k, v in tables.sizes().items() if v.bytes / per >= 0.05]
    t.add("workload", f"tables {name}", f"{mb(tables.nbytes())}, {tables.nbytes() / per:.1f} B/pod",
          "B/pod: " + ", ".join(parts))
    hist = workload.prefix_histogram(tables)
    t.add("workload", f"routes {name}", f"{tables.n_routes:,} routes",
          "prefix lengths: " + ", ".join(f"/{k} x{v:,}" for k, v in hist.items()))
    n = run.results.verdict.shape[0]
    vc = {k: v for k, v in run.verdict_counts().items() if v}
    rc = {k: v for k, v in run.reason_counts().items() if v}
    mix = ", ".join(f"{k} {100 * v / n:.1f}%" for k, v in {**vc, **rc}.items())
    stages = run.stage_counts()
    per_pkt = ", ".join(f"{k} {v['in'] / n:.2f}" for k, v in stages.items() if v["in"])
    t.add("workload", f"traffic {name}", f"{n:,} packets",
          f"pod -> pod, other host, other namespace; UDP, TTL 64, 100 B; {mix}")
    t.add("workload", f"stages per packet {name}", "stage counters 'in'",
          per_pkt + " (a pass is a table read or, where the model pins the answer, a direct check)")


def lookup_rows(t: Table, lc: list, repeat: int) -> list[dict]:
    results = []
    for c in lc:
        c.check()
        k_time = best_of(c.kernel, repeat)
        k_rate = c.n / k_time
        base = {}
        for bname, (fn, n) in c.baselines.items():
            base[bname] = n / best_of(fn, repeat if bname != "pytricia" else max(2, repeat // 2))
        bits = [f"{k_rate / base[b]:.2f}x {b} ({rate(base[b])})" for b in ("gather", "gather2", "numpy", "pytricia")
                if b in base]
        extra = []
        if c.kind == "exact":
            extra.append(f"load {c.extra['load']:.2f}, {100 * c.extra['first_bucket']:.0f}% in 1st bucket")
        if "probes" in c.extra:
            extra.append(f"{c.extra['probes']:.2f} probes/lookup")
        if c.kind != "exact":
            extra.append(f"{100 * c.extra['miss_share']:.0f}% misses")
        if c.note and c.kind == "exact" and not c.note.startswith("load"):
            extra.append(c.note.split(";", 1)[1].strip())
        elif c.note and c.kind != "exact":
            extra.append(c.note)
        g = k_rate / base["gather"]
        tgt = verdict(g >= TARGETS["vs_gather"], f">= {TARGETS['vs_gather']}x gather; {g:.2f}x")
        if "pytricia" in base:
            p = k_rate / base["pytricia"]
            tgt += "; " + verdict(p >= TARGETS["vs_pytricia"], f">= {TARGETS['vs_pytricia']:.0f}x pytricia; {p:.0f}x")
        t.add("lookups", f"{c.label} @ {c.cluster} ({mb(c.table_bytes)}, {c.entries:,})", rate(k_rate),
              "; ".join(bits + extra), tgt)
        results.append({"cluster": c.cluster, "name": c.name, "kind": c.kind, "bytes": c.table_bytes,
                        "rate": k_rate, **{f"{b}_rate": v for b, v in base.items()}, **c.extra})
    return results


def forward_rows(t: Table, name: str, dp: Dataplane, batch, repeat: int, target: float) -> dict:
    n = workload.batch_size(batch)
    times: dict[int, list[float]] = {1: [], 2: []}
    cpu = {1: 0.0, 2: 0.0}
    wall = {1: 0.0, 2: 0.0}
    for threads in (1, 2, 1, 2):  # warm up: JIT, thread pool, page cache of the batch
        dp.forward(batch, threads=threads)
    # 1 and 2 threads alternate, so a slow spell of the (shared) machine hits both alike; CPU
    # time over wall time says how many cores the runs actually got (a busy machine starves
    # the second thread, and the speedup then says nothing about the engine)
    for _ in range(repeat):
        for threads in (1, 2):
            c0, w0 = time.process_time(), time.perf_counter()
            dp.forward(batch, threads=threads)
            w1 = time.perf_counter()
            times[threads].append(w1 - w0)
            cpu[threads] += time.process_time() - c0
            wall[threads] += w1 - w0
    rates = {k: n / min(v) for k, v in times.items()}
    medians = {k: n / float(np.median(v)) for k, v in times.items()}
    cores = {k: cpu[k] / wall[k] for k in cpu}
    for threads in (1, 2):
        per_core = rates[threads] / threads
        tgt = verdict(per_core >= target, f">= {target / 1e6:.0f} M/s/core; {per_core / target:.2f}x")
        t.add("end to end", f"forward {name}, {threads} thread{'s' if threads > 1 else ''}", rate(rates[threads]),
              f"{rate(per_core)} per core (median of {repeat}: {rate(medians[threads])}); {n:,} packets a call, "
              f"{1e9 / rates[threads]:.0f} ns/packet; got {cores[threads]:.2f} cores", tgt)
    sp = rates[2] / rates[1]
    busy = "; MACHINE BUSY (< 1.6 cores): this speedup says nothing about the engine" if cores[2] < 1.6 else ""
    t.add("end to end", f"2-thread speedup {name}", f"{sp:.2f}x",
          f"best over best; medians {medians[2] / medians[1]:.2f}x; the 2-thread runs got {cores[2]:.2f} cores "
          f"(CPU time / wall time){busy}",
          verdict(sp >= TARGETS["speedup_2"], f">= {TARGETS['speedup_2']}x"))
    return {"rate_1": rates[1], "rate_2": rates[2], "speedup": sp, "cores_1": cores[1], "cores_2": cores[2],
            "median_1": medians[1], "median_2": medians[2], "times_1": times[1], "times_2": times[2]}


def route_share_row(t: Table, name: str, tables, run, lookups: list[dict], rate_1: float) -> dict:
    """What the packet's router lookups cost when run alone in the bulk kernel of the route table
    the pipeline uses (route stage lookups per packet x ns per bulk lookup), against the
    pipeline's time per packet. (The other stages may answer from direct checks rather than
    their tables, so only the router lookups are priced this way.)"""
    n = run.results.verdict.shape[0]
    mine = [r for r in lookups if r["cluster"] == name]
    kind = "mtrie" if hasattr(tables, "route_trie") else "lpm"
    route = next((r for r in mine if r["kind"] == kind), None)
    per_packet = run.stage_counts().get("route", {"in": 0})["in"] / n
    if route is None or not per_packet:
        return {}
    ns = 1e9 / route["rate"]
    fwd_ns = 1e9 / rate_1
    t.add("end to end", f"router lookups alone {name}", f"{per_packet * ns:.0f} ns/packet",
          f"{per_packet:.2f} lookups/packet x {ns:.1f} ns ({kind} bulk kernel); the 1-thread forward takes "
          f"{fwd_ns:.0f} ns/packet: {100 * per_packet * ns / fwd_ns:.0f}% of it")
    return {"route_ns_per_packet": per_packet * ns, "forward_ns": fwd_ns}


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import fastpath
from fastpath.dataplane.api import Dataplane
import workload
t1 = time.perf_counter()
cluster = workload.default_cluster()
dp = Dataplane(cluster)
t2 = time.perf_counter()
batch = workload.path_batch(cluster, 64)
t3 = time.perf_counter()
dp.forward(batch)
t4 = time.perf_counter()
dp.forward(batch)
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "dataplane": t2 - t1, "first_forward": t4 - t3, "second_forward": t5 - t4,
                  "in_process": t5 - t0}))
"""


def jit_child(cache_dir: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _CHILD, str(BENCH)], env=env, capture_output=True, text=True,
                       timeout=600, check=False)
    total = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"JIT child failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return {**json.loads(p.stdout.strip().splitlines()[-1]), "process": total}


def jit_rows(t: Table, sizes: Sizes) -> dict:
    colds, warms = [], []
    for _ in range(sizes.cold_runs):
        with tempfile.TemporaryDirectory(prefix="fastpath-numba-") as d:
            colds.append(jit_child(d))
            if not warms:
                for _ in range(sizes.warm_runs):
                    warms.append(jit_child(d))
    cold = min(colds, key=lambda r: r["first_forward"])
    warm = min(warms, key=lambda r: r["first_forward"])
    for label, r, limit in (("cold", cold, TARGETS["cold_jit_s"]), ("warm", warm, TARGETS["warm_jit_s"])):
        t.add("JIT", f"{label}: first forward (default)", f"{r['first_forward']:.2f} s",
              f"process {r['process']:.2f} s (import {r['import']:.2f}, Dataplane() {r['dataplane']:.2f}, "
              f"2nd forward {1e3 * r['second_forward']:.1f} ms); "
              f"{'fresh empty' if label == 'cold' else 'filled'} NUMBA_CACHE_DIR",
              verdict(r["first_forward"] <= limit, f"<= {limit:.0f} s; process "
                      f"{'within' if r['process'] <= limit else 'over'}"))
    return {"cold": cold, "warm": warm}


def engine_line() -> str:
    """The engine measured: git commit, uncommitted files under fastpath/, a hash of its sources."""
    import hashlib

    root = BENCH.parent
    h = hashlib.sha1()
    for f in sorted((root / "fastpath").rglob("*.py")):
        h.update(f.read_bytes())
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "fastpath"], capture_output=True,
                               text=True, check=False).stdout.splitlines()
    except OSError:
        head, dirty = "?", []
    return (f"engine: commit {head or '?'}" + (f" + {len(dirty)} uncommitted file(s) in fastpath/" if dirty else "")
            + f"; fastpath/*.py sha1 {h.hexdigest()[:12]}")


def machine_line() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        ram = float("nan")
    import numba

    return (f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__}; load average {os.getloadavg()[0]:.2f}")


# ---- main --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller cluster and batches: a smoke run (< 1 min)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as markdown to FILE")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per figure, best taken")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    ap.add_argument("--no-jit", action="store_true", help="skip the cold/warm JIT child processes")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat, "forward_repeat": args.repeat})
    t_start = time.perf_counter()
    t = Table()
    raw: dict = {"machine": machine_line(), "engine": engine_line(), "quick": sizes.quick}
    print(f"machine: {raw['machine']}\n{raw['engine']}", file=sys.stderr)

    # clusters, tables, dataplanes, traffic
    clusters = {"default": workload.default_cluster()}
    tg = time.perf_counter()
    clusters["big"] = workload.big_cluster(sizes.quick)
    gen_s = time.perf_counter() - tg
    big_name = f"{len(clusters['big'].pods) // 1000}k pods" if sizes.quick else "1M pods"
    names = {"default": "default", "big": big_name}
    tables, dps, batches, runs = {}, {}, {}, {}
    compile_first = None
    for key, c in clusters.items():
        tc = time.perf_counter()
        tables[key] = compile_cluster(c)
        if key == "big":
            compile_first = time.perf_counter() - tc
        dps[key] = Dataplane(c, tables[key])
        batches[key] = workload.path_batch(c, sizes.packets)
        runs[key] = dps[key].forward(batches[key])
    for key, c in clusters.items():
        workload_rows(t, names[key], c, tables[key], runs[key])

    # lookups
    lk = []
    for key, c in clusters.items():
        lc = cases.lookup_cases(names[key], c, tables[key], sizes.lookups)
        lk += lookup_rows(t, lc, sizes.repeat)
    raw["lookups"] = lk

    # end to end
    raw["forward"] = {}
    for key, target in (("default", TARGETS["forward_default"]), ("big", TARGETS["forward_big"])):
        fw = forward_rows(t, names[key], dps[key], batches[key], sizes.forward_repeat, target)
        fw["routing"] = route_share_row(t, names[key], tables[key], runs[key], lk, fw["rate_1"])
        raw["forward"][names[key]] = fw

    # compile
    big = clusters["big"]
    comp = best_of(lambda: compile_cluster(big), sizes.compile_repeat, warmup=0)
    bpp = tables["big"].nbytes() / len(big.pods)
    t.add("compile", f"compile_cluster {big_name}", f"{comp:.2f} s",
          f"best of {sizes.compile_repeat}; first in this process {compile_first:.2f} s; "
          f"generate() {gen_s:.2f} s (not counted)",
          verdict(comp <= TARGETS["compile_s"], f"<= {TARGETS['compile_s']:.0f} s"))
    t.add("compile", f"bytes per pod {big_name}", f"{bpp:.1f} B",
          f"{mb(tables['big'].nbytes())} for {len(big.pods):,} pods",
          verdict(bpp <= TARGETS["bytes_per_pod"], f"<= {TARGETS['bytes_per_pod']:.0f} B"))
    raw["compile"] = {"seconds": comp, "first": compile_first, "bytes_per_pod": bpp, "generate": gen_s}

    # JIT
    if not args.no_jit:
        raw["jit"] = jit_rows(t, sizes)

    raw["seconds"] = time.perf_counter() - t_start
    text = t.text()
    print(text)
    raw["engine_after"] = engine_line()
    changed = " (CHANGED during the run!)" if raw["engine_after"] != raw["engine"] else ""
    footer = [raw["machine"], raw["engine"] + changed,
              (f"load average at the end {os.getloadavg()[0]:.2f}; run took {raw['seconds']:.0f} s"
               f"{' (--quick)' if sizes.quick else ''}")]
    print("\n" + "\n".join(footer))
    if args.markdown:
        Path(args.markdown).write_text(t.markdown() + "\n\n" + "  \n".join(footer) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
