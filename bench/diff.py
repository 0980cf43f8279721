#!/usr/bin/env python
"""fastpath diff at scale: two generated 10,000-pod clusters over 10M packets, with its breakdown
and a baseline of the same run.

    python bench/diff.py                         # 10 hosts x 4 nodes x 250 pods, 10M packets, 2 threads
    python bench/diff.py --change sr-move        # AFTER moves a namespace behind the edge instead
    python bench/diff.py --quick                 # 1M packets, 1 round

BEFORE is `generate(hosts, nodes_per_host, namespaces, pods_per_node)`; AFTER is BEFORE's full
spec with a patch: ``policy`` adds a NetworkPolicy isolating one namespace for ingress (the
issue's example), ``sr-move`` sets that namespace's T1 on the edge (an SR move). Both clusters
are compiled once, outside the timings (the report gives the compile time apart), and the
kernels are warmed. Each round times:

- **diff**: `fastpath.analysis.diff.diff` over the packets (traffic made once, forwarded by both
  clusters, compared, load reports of both, flows counted), wall clock, with its own breakdown;
- **baseline**: one plain forward of the same packets through BEFORE, as ``fastpath run`` does
  (`fastpath.dataplane.runner.run_profile`: generation + forwarding, same threads, same chunks).

The figure is the best round of each (rounds interleaved), the diff's rate in packets/s and its
ratio to the baseline: a diff is two forwards plus the comparison, so ~2x is its floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from fastpath.analysis.diff import diff
from fastpath.analysis.patch import apply_patch, spec_changes
from fastpath.dataplane import Dataplane
from fastpath.dataplane.runner import run_profile
from fastpath.model import from_spec, generate, to_spec
from fastpath.traffic import profile_by_name


def clusters(args):
    b = generate(args.hosts, args.nodes_per_host, args.namespaces, args.pods_per_node, seed=1)
    spec = to_spec(b)
    ns = spec["namespaces"][1]["name"]
    if args.change == "policy":
        patch = {"kind": "fastpath/patch", "add": {"networkpolicies": [
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "deny-all", "namespace": ns}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]}}
    else:
        patch = {"kind": "fastpath/patch", "set": {f"namespaces[{ns}].t1.edge": "edge-1"}}
    after_spec = apply_patch(spec, patch, "bench")
    return b, from_spec(after_spec), spec_changes(spec, after_spec)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--nodes-per-host", type=int, default=4)
    ap.add_argument("--pods-per-node", type=int, default=250)
    ap.add_argument("--namespaces", type=int, default=40)
    ap.add_argument("--packets", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", default="uniform")
    ap.add_argument("--change", choices=["policy", "sr-move"], default="policy")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="1M packets, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.packets, args.rounds = 1_000_000, 1

    t = time.perf_counter()
    b, a, changes = clusters(args)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    dps = (Dataplane(b), Dataplane(a))
    t_compile = time.perf_counter() - t
    prof = profile_by_name(b, args.profile)
    diff(b, a, profile=prof, packets=10_000, seed=args.seed, threads=args.threads, dataplanes=dps, changes=changes)  # warm

    best_diff = best_base = None
    for r in range(args.rounds):
        t = time.perf_counter()
        d = diff(b, a, profile=prof, packets=args.packets, seed=args.seed, threads=args.threads, dataplanes=dps,
                 changes=changes)
        wall = time.perf_counter() - t
        if best_diff is None or wall < best_diff[0]:
            best_diff = (wall, d)
        t = time.perf_counter()
        rep = run_profile(b, prof, args.packets, threads=args.threads, seed=args.seed, dataplane=dps[0])
        base = time.perf_counter() - t
        if best_base is None or base < best_base[0]:
            best_base = (base, rep)
        print(f"round {r + 1}: diff {wall:.2f} s, baseline {base:.2f} s", file=sys.stderr)

    wall, d = best_diff
    base, rep = best_base
    P = args.packets
    print(f"# fastpath diff: {len(b.pods):,} pods ({args.hosts}x{args.nodes_per_host}x{args.pods_per_node}, "
          f"{args.namespaces} namespaces), change {args.change!r}, profile {prof.name}, {P:,} packets, "
          f"{args.threads} thread(s), best of {args.rounds}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"build both clusters {t_build:.2f} s, compile both {t_compile:.2f} s (outside the timings)")
    print()
    print(f"{'step':<16}{'seconds':>9}  share")
    tm = d.timings
    for k in ("traffic", "forward_before", "map", "forward_after", "compare", "load", "flows"):
        print(f"{k:<16}{tm[k]:>9.3f}  {tm[k] / wall:6.1%}")
    print(f"{'diff (wall)':<16}{wall:>9.3f}  {P / wall / 1e6:.2f} M packets/s")
    print(f"{'baseline run':<16}{base:>9.3f}  {P / base / 1e6:.2f} M packets/s (generation {rep.generate_seconds:.3f}, "
          f"forwarding {rep.forward_seconds:.3f})")
    print(f"ratio diff / baseline: {wall / base:.2f}x; target 10M packets in <= 10 s: "
          f"{'met' if P < 10_000_000 or wall <= 10 else 'missed'} ({wall:.2f} s for {P:,})")
    print()
    print(d.explanation()[0])
    print(f"groups {len(d.groups)}, changed flows {d.changed_flows:,} of {d.flows:,}")


if __name__ == "__main__":
    main()
