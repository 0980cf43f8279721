#!/usr/bin/env python
"""Issue 13's capacity targets: the planner's question in one command, and a 20-point load study.

    python bench/capacity.py                 # both, best of 3 rounds
    python bench/capacity.py --quick         # one round

1. **The planner's question** — "20 hosts x 4 nodes x 110 pods, locality mix, IMIX: which device
   saturates first and at what per-pod rate" — is ``fastpath run --generate 20x4x110 --profile
   locality --report`` (1M packets). Timed here as the command runs it, in a fresh process (import,
   build, compile, forward with the load report and the cost model's work count, the text), against
   a **baseline** timed the same way in the same round: the same command without ``--report``
   (no leg log, no work count, no report). The figure: its wall time, packets/s, and the ratio.
2. **A 20-point study**: ``fastpath study pods-per-node`` over 20 values (10..400) at 2,000 packets/s a
   pod, 1M packets a point (the bottleneck and ``max_per_pod_pps`` at each, every device class's
   utilisation), against the same study with ``--packets 0`` (tables and limits only: what the
   load costs on top).

Rounds interleave the runs; the best round of each is reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

PLANNER = ["run", "--generate", "20x4x110", "--profile", "locality", "--packets", "1000000"]
STUDY_VALUES = ",".join(str(v) for v in range(20, 401, 20))


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fastpath", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
    return time.perf_counter() - t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    rounds = 1 if a.quick else a.rounds
    print(f"# {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())} on {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    timed(PLANNER[:3] + ["--packets", "1000"])  # numba's on-disk cache warm, as a user's second run
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            runs = {
                "planner": PLANNER + ["--report"],
                "planner baseline (no report)": PLANNER,
                "study 20 points": ["study", "pods-per-node", "--values", STUDY_VALUES, "--per-pod-pps", "2000",
                                    "--out", f"{tmp}/s{r}", "--quiet"],
                "study baseline (--packets 0)": ["study", "pods-per-node", "--values", STUDY_VALUES, "--packets", "0",
                                                 "--out", f"{tmp}/b{r}", "--quiet"],
            }
            for name, args in runs.items():
                best[name] = min(best.get(name, float("inf")), timed(args))
    print("| run | wall s (best) | M packets/s | vs baseline |")
    print("|---|---:|---:|---:|")
    for name, base, packets in (("planner", "planner baseline (no report)", 1_000_000),
                                ("study 20 points", "study baseline (--packets 0)", 20_000_000)):
        for n in (name, base):
            p = packets if n == name or n.startswith("planner") else 0
            rate = f"{p / best[n] / 1e6:.2f}" if p else "-"
            print(f"| {n} | {best[n]:.2f} | {rate} | {best[n] / best[base]:.2f}x |")


if __name__ == "__main__":
    main()
