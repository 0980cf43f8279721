#!/usr/bin/env python
"""Issue 4's targets, measured as a user meets them: the `fastpath` commands in child processes.

    python bench/scale.py              # the targets' sizes: 10M packets a study point, 100M-packet runs
    python bench/scale.py --quick      # 1M a point, 10M-packet runs on a 100k-pod cluster (~2 min)

Rows:

1. study — `fastpath study pods-per-node` (the default 7 points) at ``--study-packets`` a
   point: wall seconds in-process and with ``--workers 2``; rate = all points' packets / wall
   seconds; ratios against the in-process run and against the 60 s target.
2. run memory — `fastpath run --generate CLUSTER --packets --run-packets`: peak RSS of the
   process (``wait4``'s ``ru_maxrss``), against the 2 GiB target.
3. run on Dask — the same run with ``--threads 2`` in-process and ``--workers 2``: the run's
   time (in-process: generation + forwarding; Dask: the distributed phase, from submitting
   the first span to adding up the last, generation included) and the whole command's (Dask
   adds starting a LocalCluster and compiling on the workers, ~4-8 s); ratio Dask /
   in-process (target: within 25%, i.e. <= 1.25x, judged on the run's time).

Every child gets ``--quiet``; numba's on-disk cache is warmed by one small run first, so no
row pays a cold JIT. Noisy shared machines: the footer carries the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import run as bench_run  # noqa: E402  (machine_line, engine_line)

STUDY_TARGET_S = 60.0
MEMORY_TARGET_B = 2 << 30
DASK_TARGET = 1.25


def child(args: list[str]) -> tuple[float, int, str]:
    """Run ``fastpath ARGS --quiet``; (wall seconds, peak RSS bytes of that process, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fastpath", *args, "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    got: dict[str, str] = {}
    readers = [threading.Thread(target=lambda k, f: got.__setitem__(k, f.read()), args=(k, f))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: its peak RSS
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"fastpath {' '.join(args)} failed ({proc.returncode}): {got['err'].strip().splitlines()[-1:]}")
    return wall, usage.ru_maxrss * 1024, got["out"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run")
    ap.add_argument("--study-packets", type=int, help="packets per study point (default 10M; --quick 1M)")
    ap.add_argument("--run-packets", type=int, help="packets of the big runs (default 100M; --quick 10M)")
    ap.add_argument("--cluster", help="generated cluster HxNxP[xNS] of the big runs (default 1000x4x250x200, "
                                      "the 1M-pod cluster; --quick 100x4x250x50)")
    ap.add_argument("--skip", default="", help="comma-separated rows to skip: study, memory, dask")
    args = ap.parse_args(argv)
    study_packets = args.study_packets or (1_000_000 if args.quick else 10_000_000)
    run_packets = args.run_packets or (10_000_000 if args.quick else 100_000_000)
    cluster = args.cluster or ("100x4x250x50" if args.quick else "1000x4x250x200")
    skip = set(filter(None, args.skip.split(",")))

    child(["run", "--packets", "1000"])  # numba's cache, filled before anything is timed
    rows = []
    if "study" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            local, _, _ = child(["study", "pods-per-node", "--packets", str(study_packets), "--out", f"{tmp}/a"])
            dask, _, _ = child(["study", "pods-per-node", "--packets", str(study_packets), "--out", f"{tmp}/b",
                                "--workers", "2"])
        total = 7 * study_packets
        for name, wall, base in [("in-process", local, local), ("--workers 2", dask, local)]:
            rows.append((f"study pods-per-node, 7 x {study_packets:,} packets, {name}", f"{wall:.1f} s",
                         f"{total / wall / 1e6:.2f} M pkt/s", f"{base / wall:.2f}x in-process",
                         f"<= {STUDY_TARGET_S:.0f} s: {'met' if wall <= STUDY_TARGET_S else 'MISSED'} "
                         f"({wall / STUDY_TARGET_S:.2f}x)"))
    base_run = ["run", "--generate", cluster, "--packets", str(run_packets), "--json"]
    if "memory" not in skip:
        wall, rss, out = child(base_run)
        pps = json.loads(out)["pps"]
        rows.append((f"run {run_packets:,} packets on {cluster}, 1 thread: peak RSS", f"{rss / 2**20:.0f} MiB",
                     f"{pps / 1e6:.2f} M pkt/s (wall {wall:.1f} s)", f"{rss / MEMORY_TARGET_B:.2f}x of 2 GiB",
                     f"<= 2 GiB: {'met' if rss <= MEMORY_TARGET_B else 'MISSED'}"))
    if "dask" not in skip:
        local, _, out_l = child([*base_run, "--threads", "2"])
        dask, _, out_d = child([*base_run, "--workers", "2"])
        phase_l = (lambda d: d["forward_seconds"] + d["generate_seconds"])(json.loads(out_l))
        phase_d = json.loads(out_d)["scaleout"]["wall_seconds"]
        for name, wall, phase, out in [("in-process --threads 2", local, phase_l, out_l),
                                       ("--workers 2", dask, phase_d, out_d)]:
            ok = phase <= DASK_TARGET * phase_l
            rows.append((f"run {run_packets:,} packets on {cluster}, {name}",
                         f"run {phase:.1f} s (command {wall:.1f} s)",
                         f"{json.loads(out)['pps'] / 1e6:.2f} M pkt/s reported",
                         f"{phase / phase_l:.2f}x in-process run time ({wall / local:.2f}x command)",
                         "" if out is out_l else f"<= {DASK_TARGET}x: {'met' if ok else 'MISSED'}"))

    head = ("figure", "measured", "rate", "ratio", "target")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    print("\n".join(lines))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M %Z')}; {bench_run.machine_line()}\n{bench_run.engine_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
