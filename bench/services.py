#!/usr/bin/env python
"""What Service DNAT costs the data plane: the seed with every packet to kube-dns's cluster IP,
against the very same packets sent straight to the backends kube-proxy would pick.

    python bench/services.py              # what bench/RESULTS.md shows (~1 min)
    python bench/services.py --quick      # fewer packets and rounds

Both batches forward the same connections to the same pods: the baseline is the service stage's
own output (`stages.service.translate`), so the two runs differ by the stage alone — on a plain
call the staged engine runs it inside its own pass (the flow cache's key pass: the range check,
the Service hash in SIMD lanes, the (cluster IP, proto, port) probe, the backend, the key of the
translated packet, the outputs). Two traffic shapes, each its own baseline:

- **flows** — 4,096 connections, repeated (the flow cache hits: `fastpath run`'s usual case);
- **distinct** — every packet its own connection (a fresh source port each: a fresh hash and
  backend pick every packet; keyed as translated, the cache still folds them into the flows of
  their backends, as the DFW reads no port).

Also the stage by itself over the batch (`translate`, the form a trace or the leg log runs), as
ns per packet, and "stage before the engines": `translate` then `Dataplane.forward` of its
output, as every call ran it before the stage moved into the engine's pass (that forward still
scans its batch for cluster IPs and finds none: ~0.3 ns a packet). Timed as `Dataplane.forward`
of one batch, 1 thread, best of ``--rounds`` in a shuffled round robin (bench/stages.py's
`timed_rounds`); every rate is also a ratio to its baseline, measured in the same rounds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import numpy as np
from stages import git_commit, timed_rounds

from fastpath.dataplane import Dataplane
from fastpath.dataplane.stages.service import make_scratch, translate
from fastpath.model import default_scenario
from fastpath.packets import INGRESS_POD, make_batch

VIP = (10 << 24) | (96 << 16) | 10


def batches(c, t, n: int, flows: int | None, seed: int):
    """Pods (not the DNS pods themselves) to 10.96.0.10 UDP 53, and the same packets translated."""
    rng = np.random.default_rng(seed)
    P = len(c.pods)
    src = rng.integers(0, P, n if flows is None else flows)
    sport = rng.integers(1024, 65536, src.size)
    if flows is not None:
        pick = rng.integers(0, flows, n)
        src, sport = src[pick], sport[pick]
    b = make_batch(ingress_kind=INGRESS_POD, ingress_id=src, src_ip=c.pods.ip[src], dst_ip=VIP, proto=17,
                   sport=sport, dport=53, ttl=64, length=100)
    out = np.empty(n, np.int32), np.empty(n, np.int32)
    direct = translate(b, t.services, t.n_pods, t.n_nodes, t.router_mac, *out).batch
    return b, direct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--packets", type=int)
    ap.add_argument("--shape", choices=SHAPES, help="one traffic shape, in this process (its rows, tab-separated)")
    a = ap.parse_args()
    n = a.packets or (1 << 18 if a.quick else 1 << 21)
    rounds = a.rounds or (3 if a.quick else 9)
    if a.shape is None:
        # each shape in a process of its own, so neither inherits what the other left in
        # memory (in one process the shape timed second came out 0.05-0.07 slower in three
        # runs, whichever it was; apart, a run still moves by about that much: where the batch
        # lands matters at ~1 ns of ~9)
        args = [sys.executable, __file__, "--rounds", str(rounds), "--packets", str(n)]
        rows = [line.split("\t") for shape in SHAPES
                for line in subprocess.run(args + ["--shape", shape], check=True, capture_output=True,
                                           text=True).stdout.splitlines()]
        rows = [(shape, k, *map(float, rest)) for shape, k, *rest in rows]
        report(rows, n, rounds)
        return
    for shape, k, mpps, ns, ratio in measure(a.shape, n, rounds):
        print(f"{shape}\t{k}\t{mpps}\t{ns}\t{ratio}")


SHAPES = {"flows": 4096, "distinct": None}


def measure(shape: str, n: int, rounds: int) -> list[tuple]:
    """(shape, run, M packets/s, ns a packet, time vs direct) of every run of one shape."""
    c = default_scenario()
    dp = Dataplane(c)
    t = dp.tables
    rows = []
    flows = SHAPES[shape]
    vip, direct = batches(c, t, n, flows, seed=7)
    assert (dp.forward(vip).results.service == 0).all()
    out = np.empty(n, np.int32), np.empty(n, np.int32)
    kept = make_scratch(n)  # (kept between calls, as `Dataplane.forward` keeps its own)
    configs = {"stage alone": lambda: translate(vip, t.services, t.n_pods, t.n_nodes, t.router_mac, *out, kept),
               "stage before the engines, 1 thread(s)":
                   lambda: dp.forward(translate(vip, t.services, t.n_pods, t.n_nodes, t.router_mac, *out,
                                                kept).batch)}
    for th in (1, 2):
        configs[f"direct, {th} thread(s)"] = lambda th=th: dp.forward(direct, threads=th)
        configs[f"via cluster IP, {th} thread(s)"] = lambda th=th: dp.forward(vip, threads=th)
    times = timed_rounds(configs, rounds, chain=("direct, 1 thread(s)", "via cluster IP, 1 thread(s)"))
    best = {k: min(v) for k, v in times.items()}
    for k in configs:
        base = best["direct, 2 thread(s)" if k.endswith("2 thread(s)") else "direct, 1 thread(s)"]
        rows.append((shape, k, n / best[k] / 1e6, best[k] / n * 1e9, best[k] / base))
    return rows


def report(rows: list[tuple], n: int, rounds: int) -> None:
    print(f"# Service DNAT on the seed ({n:,} packets to kube-dns 10.96.0.10 UDP 53; best of {rounds}; "
          "ratio: time against the direct run with as many threads)")
    print(f"# {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.date.today()}, commit {git_commit()}")
    print("| traffic | run | M packets/s (all threads) | ns/packet | time vs direct |")
    print("|---|---|---:|---:|---:|")
    for shape, k, mpps, ns, ratio in rows:
        print(f"| {shape} | {k} | {mpps:.1f} | {ns:.1f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
