#!/usr/bin/env python
"""Small batches on two threads: when a second worker pays for itself (`Dataplane.workers_for`).

    python bench/small_batches.py            # seed (cached, walked) + 1M pods: ~3 min
    python bench/small_batches.py --quick    # 100k pods instead of 1M, 3 rounds: ~1 min

A second worker costs a call a fixed ~120-200 us (the pool's hand-off, its share's array views
and numba's typing of ~110 arguments at the kernel's door, the GIL passed back and forth),
whatever its share. `Dataplane.forward(threads=2)` therefore gives it a share only from
`api.MIN_SHARE_WALKED` packets a worker (`api.MIN_SHARE_CACHED` when the flow cache answered
most of the last call). For each batch size this prints, per call (each call a distinct chunk of
one uniform pod-to-pod batch, counters passed in, one results buffer), the rate on 1 thread, on
2 threads as `forward` now splits, and on 2 threads split whatever the size (the shares set to
1: the rule's own baseline, in the same run), and both 2-thread rates as a ratio of 1 thread.
Rounds shuffled; medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402

from fastpath.dataplane import api  # noqa: E402
from fastpath.dataplane.api import Dataplane  # noqa: E402
from fastpath.packets import empty_results  # noqa: E402
from fastpath.traffic import uniform_pod_to_pod  # noqa: E402

SIZES = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
CHUNKS = 64
"""Distinct chunks a timed pass forwards (fewer for the largest sizes: the batch holds 1M)."""


def per_call(d: Dataplane, chunks, threads: int, counters, out) -> float:
    t = time.perf_counter()
    for ch in chunks:
        d.forward(ch, threads=threads, counters=counters, out=out)
    return (time.perf_counter() - t) / len(chunks)


def measure(name: str, d: Dataplane, batch, rounds: int) -> list[str]:
    rows = []
    cn = {1: d.new_counters(1), 2: d.new_counters(2)}
    real = (api.MIN_SHARE_WALKED, api.MIN_SHARE_CACHED)
    for size in SIZES:
        chunks = [batch.slice(i * size, (i + 1) * size) for i in range(min(CHUNKS, batch.size // size))]
        out = empty_results(size)
        modes = {"1": (1, real), "2": (2, real), "2 split": (2, (1, 1))}
        times: dict[str, list[float]] = {m: [] for m in modes}
        for r in range(rounds + 1):  # the first round warms the caches and the pool
            for m in random.sample(list(modes), len(modes)):
                threads, (api.MIN_SHARE_WALKED, api.MIN_SHARE_CACHED) = modes[m]
                t = per_call(d, chunks, threads, cn[threads], out)
                if r:
                    times[m].append(t)
        api.MIN_SHARE_WALKED, api.MIN_SHARE_CACHED = real
        med = {m: float(np.median(v)) for m, v in times.items()}
        workers = d.workers_for(size, 2, d.flow_cache)
        rows.append(f"| {name} | {size:,} | {workers} | {med['1'] * 1e6:,.0f} us ({size / med['1'] / 1e6:.1f} M/s) "
                    f"| {med['2'] * 1e6:,.0f} us ({size / med['2'] / 1e6:.1f} M/s) | **{med['1'] / med['2']:.2f}x** "
                    f"| {med['2 split'] * 1e6:,.0f} us | {med['1'] / med['2 split']:.2f}x |")
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pods instead of 1M, 3 rounds")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5; 3 with --quick)")
    a = ap.parse_args(argv)
    rounds = a.rounds or (3 if a.quick else 5)
    t0 = time.time()
    when = time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())
    print(f"# {when}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")
    print("| cluster, engine | packets a call | workers now | 1 thread | 2 threads | 2 / 1 "
          "| 2 threads, always split | 2 / 1 |")
    print("|---|---|---|---|---|---|---|---|")
    seed = workload.default_cluster()
    big = workload.big_cluster(a.quick)
    big_name = "100k pods" if a.quick else "1M pods"
    for cname, c in (("seed", seed), (big_name, big)):
        batch = next(iter(uniform_pod_to_pod(c, 1 << 20, seed=3, chunk=1 << 20)))
        for ename, d in (("flow cache", Dataplane(c)), ("every packet walked", Dataplane(c, flow_cache=False))):
            measure(f"{cname}, {ename}", d, batch, rounds)
    print(f"# took {time.time() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
