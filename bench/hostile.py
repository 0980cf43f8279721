#!/usr/bin/env python
"""Issue 9's budget, measured: every entry of the hostile-input catalogue within 5 s and 1 GiB.

    python bench/hostile.py                 # the whole catalogue (tests/test_hostile_*.py), ~2 min
    python bench/hostile.py --markdown t.md # also write the table for bench/RESULTS.md

The catalogue's tests run each hostile input as a child process (`python -m fastpath ...`) and
assert the one-line refusal and the memory; they do not assert time (no timing asserts in
tests). This script runs those tests with ``FASTPATH_HOSTILE_LOG`` set, so the harness
(`tests/conftest.py: run_fastpath`) appends one JSON line per child: its arguments, exit code,
wall seconds and peak RSS (the child's own VmHWM at exit; see tests/conftest.py).

The baseline, measured in the same run: ``python -m fastpath --version`` (interpreter, imports
and click; no work), best of 5. Each entry's time is reported as seconds and as a ratio to that
start-up, so a noisy machine shows as a slow baseline rather than as slow refusals. The rate
is refusals per second per core (1 / seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import run as bench_run  # noqa: E402  (machine_line, engine_line)

TIME_BUDGET_S = 5.0
MEMORY_BUDGET_B = 1 << 30


def startup_seconds(repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fastpath", "--version"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", type=Path, help="write the table here too")
    ap.add_argument("-k", help="pytest -k expression (a part of the catalogue)")
    args = ap.parse_args()

    base = startup_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "children.jsonl"
        env = dict(os.environ, FASTPATH_HOSTILE_LOG=str(log), PYTHONSAFEPATH="1")
        files = sorted(str(p) for p in (ROOT / "tests").glob("test_hostile_*.py"))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files] + (["-k", args.k] if args.k else [])
        t0 = time.perf_counter()
        tests = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if not rows:
        print(tests.stdout[-3000:], tests.stderr[-3000:])
        print("no child was logged: is the catalogue there?")
        return 1
    refused = [r for r in rows if r["exit"] == 2]
    secs = sorted(r["seconds"] for r in refused) or [0.0]
    over_t = [r for r in refused if r["seconds"] > TIME_BUDGET_S]
    over_m = [r for r in rows if r["max_rss"] > MEMORY_BUDGET_B]
    slowest = sorted(refused, key=lambda r: -r["seconds"])[:8]
    biggest = sorted(rows, key=lambda r: -r["max_rss"])[:5]
    last = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else "?"

    out = [
        f"**Date**: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}",
        f"**Machine**: {bench_run.machine_line()}",
        f"**Engine**: {bench_run.engine_line()}",
        f"**Command**: `python bench/hostile.py` — pytest over {len(files)} catalogue files: {last} ({wall:.0f} s)",
        "",
        f"Baseline: `python -m fastpath --version` best of 5 = {base:.2f} s "
        f"({1 / base:.1f} start-ups/s per core).",
        "",
        "| figure | value | against the baseline | budget |",
        "|---|---|---|---|",
        f"| children run | {len(rows)} ({len(refused)} refused with exit 2, {len(rows) - len(refused)} legal runs) | | |",
        f"| refusal time, median | {statistics.median(secs):.2f} s ({1 / max(statistics.median(secs), 1e-9):.1f} refusals/s per core) "
        f"| {statistics.median(secs) / base:.2f}x start-up | 5 s |",
        f"| refusal time, max | {secs[-1]:.2f} s | {secs[-1] / base:.2f}x start-up | 5 s: {'met' if not over_t else f'MISSED by {len(over_t)}'} |",
        f"| peak RSS, max over all children | {max(r['max_rss'] for r in rows) / 2**20:.0f} MiB | | 1 GiB: "
        f"{'met' if not over_m else f'MISSED by {len(over_m)}'} |",
        "",
        "Slowest refusals:",
        "",
    ]
    out += [f"- {r['seconds']:.2f} s ({r['seconds'] / base:.1f}x), {r['max_rss'] / 2**20:.0f} MiB: "
            f"`fastpath {' '.join(a if len(a) < 60 else a[:57] + '...' for a in r['args'])}`" for r in slowest]
    out += ["", "Largest peak RSS:", ""]
    out += [f"- {r['max_rss'] / 2**20:.0f} MiB, {r['seconds']:.2f} s, exit {r['exit']}: "
            f"`fastpath {' '.join(a if len(a) < 60 else a[:57] + '...' for a in r['args'])}`" for r in biggest]
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0 if tests.returncode == 0 and not over_t and not over_m else 1


if __name__ == "__main__":
    sys.exit(main())
