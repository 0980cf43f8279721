#!/usr/bin/env python
"""The distributed firewall end to end: packets per second per core against rule and policy
counts, compile time, memory per rule, and what state costs — each against a baseline of the
same run.

    python bench/dfw.py                      # what bench/RESULTS.md shows (~5 min)
    python bench/dfw.py --quick              # 2,000 pods, fewer sizes, 3 rounds (~1 min)
    python bench/dfw.py --markdown out.md    # also write the tables as markdown

Three studies:

1. **Admin rules** (`generate(..., dfw_rules=R)`: rules between random namespace subnets, any /
   TCP / UDP, random port ranges) on a 10,000-pod cluster, R = 0, 100, 1,000, 10,000, 100,000.
2. **NetworkPolicies** on the same cluster, P = 0, 100, 1,000, 10,000: pods labelled ``app`` (10
   apps a namespace); policy k of a namespace selects one app, isolates it for ingress (and, one
   in three, egress), allows from one app of a named namespace (``namespaceSelector`` by
   ``kubernetes.io/metadata.name`` AND ``podSelector``) and, one in four, from an ipBlock with an
   except, on one TCP port or a range. Compile time is `compile_cluster` minus the same cluster's
   without policies (parsing the objects is `from_spec`'s, reported apart).
3. **State on the seed**: the same packets with a third marked replies, against them all
   originals (what a stateless firewall sees: each packet judged alone). A reply costs the same
   lookup in the other table, so the ratio is the price of state.

Traffic is uniform pod-to-pod with every packet its own flow (TCP, ports from the policies' or
a fixed set), so the flow cache misses and every packet meets the classifier: the DFW's worst
case. Each configuration is timed as `Dataplane.forward` of one batch, best of ``--rounds`` in a
shuffled round robin (bench/stages.py's `timed_rounds`); rates are per core (1 thread) and every
row is also a ratio to its study's baseline (0 rules, 0 policies, stateless), measured in the
same rounds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import numpy as np
from stages import git_commit, timed_rounds

from fastpath.compile import compile_cluster
from fastpath.dataplane import Dataplane
from fastpath.model import default_scenario, from_spec, generate, to_spec
from fastpath.packets import INGRESS_POD, make_batch
from fastpath.tables import classifier

PACKETS = 1 << 20
QUICK_PACKETS = 1 << 17
SHAPE = dict(hosts=10, nodes_per_host=4, pods_per_node=250, namespaces=40)  # 10,000 pods
QUICK_SHAPE = dict(hosts=4, nodes_per_host=2, pods_per_node=250, namespaces=8)  # 2,000 pods
APPS = 10


FLOWS = 1 << 12
"""Flows of the flowful traffic: the default engine's flow cache holds them all."""


def uniform_tcp(c, n: int, ports, seed: int = 0, flows: int | None = None):
    """n packets: uniform pod pairs, TCP, destination ports drawn from ``ports``; each packet its
    own flow, or (``flows``) each of ``flows`` fixed 5-tuples drawn uniformly."""
    rng = np.random.default_rng(seed)
    P = len(c.pods)
    m = flows or n
    src, dst = rng.integers(0, P, m), rng.integers(0, P, m)
    sport, dport = rng.integers(32768, 61000, m), rng.choice(np.asarray(ports), m)
    pick = rng.integers(0, m, n) if flows else np.arange(n)
    ip = np.asarray(c.pods.ip)
    return make_batch(ingress_kind=INGRESS_POD, ingress_id=src[pick], src_ip=ip[src[pick]], dst_ip=ip[dst[pick]],
                      proto=6, sport=sport[pick], dport=dport[pick], ttl=64, length=100)


def policies(spec: dict, n: int, seed: int = 0) -> list[dict]:
    """n NetworkPolicies over the spec's namespaces (module docstring, study 2)."""
    rng = np.random.default_rng(seed)
    nss = [ns["name"] for ns in spec["namespaces"]]
    out = []
    for k in range(n):
        ns = nss[k % len(nss)]
        port = {"protocol": "TCP", "port": 8000 + int(rng.integers(0, 100))}
        if rng.random() < 0.2:
            port["endPort"] = port["port"] + int(rng.integers(1, 20))
        peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": str(rng.choice(nss))}},
                  "podSelector": {"matchLabels": {"app": f"app-{int(rng.integers(0, APPS))}"}}}]
        if rng.random() < 0.25:
            third = int(rng.integers(0, 256))
            peers.append({"ipBlock": {"cidr": f"10.{third}.0.0/16", "except": [f"10.{third}.{int(rng.integers(0, 256))}.0/24"]}})
        body = {"podSelector": {"matchLabels": {"app": f"app-{k // len(nss) % APPS}"}},
                "ingress": [{"from": peers, "ports": [port]}]}
        if rng.random() < 1 / 3:
            body["policyTypes"] = ["Ingress", "Egress"]
            body["egress"] = [{"to": [{"namespaceSelector": {}}], "ports": [port]}]
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"np-{k}", "namespace": ns}, "spec": body})
    return out


def labelled_spec(shape: dict) -> dict:
    spec = to_spec(generate(**shape))
    rng = np.random.default_rng(7)
    for p in spec["pods"]:
        p["labels"] = {"app": f"app-{int(rng.integers(0, APPS))}"}
    return spec


def describe(t) -> str:
    return (f"{t.dfw_table_policy.shape[0]:,} tables, {t.n_dfw_rows:,} rows, "
            f"{classifier.nbytes({k: getattr(t, k) for k in classifier.COLUMNS}):,} B")


def study_rules(shape, sizes, n, rounds):
    rows, configs, meta = [], {}, {}
    for r in sizes:
        c = generate(**shape, dfw_rules=r)
        t1 = time.perf_counter()
        dp = Dataplane(c, flow_cache=False)
        t2 = time.perf_counter()
        ports = [53, 80, 443, 5432, 8080] + list(range(1000, 1100))
        b = uniform_tcp(c, n, ports)
        configs[(r, "walk")] = (lambda dp=dp, b=b: dp.forward(b))
        cached, bf = Dataplane(c, dp.tables), uniform_tcp(c, n, ports, flows=FLOWS)
        configs[(r, "cache")] = (lambda dp=cached, b=bf: dp.forward(b))
        meta[r] = (t2 - t1, describe(dp.tables), dp.tables.cls_rules.nbytes + dp.tables.cls_bound.nbytes)
    times = timed_rounds(configs, rounds)
    for r in sizes:
        rates = [n / min(times[(r, e)]) / 1e6 for e in ("walk", "cache")]
        ratios = [min(times[(sizes[0], e)]) / min(times[(r, e)]) for e in ("walk", "cache")]
        rows.append((f"{r:,} admin rules", rates, ratios, meta[r][0], meta[r][1],
                     meta[r][2] / max(r, 1) if r else None))
    return rows


def study_policies(shape, sizes, n, rounds):
    spec = labelled_spec(shape)
    rows, configs, meta = [], {}, {}
    base_compile = None
    for p in sizes:
        s = dict(spec, networkpolicies=policies(spec, p))
        t0 = time.perf_counter()
        c = from_spec(s)
        t1 = time.perf_counter()
        tables = compile_cluster(c)
        t2 = time.perf_counter()
        if base_compile is None:
            base_compile = t2 - t1
        dp = Dataplane(c, tables, flow_cache=False)
        ports = sorted({8000 + k for k in range(100)})
        b = uniform_tcp(c, n, ports)
        configs[(p, "walk")] = (lambda dp=dp, b=b: dp.forward(b))
        cached, bf = Dataplane(c, tables), uniform_tcp(c, n, ports, flows=FLOWS)
        configs[(p, "cache")] = (lambda dp=cached, b=bf: dp.forward(b))
        meta[p] = (t1 - t0, t2 - t1 - base_compile, describe(tables),
                   (tables.cls_rules.nbytes + tables.cls_bound.nbytes) / max(p, 1) if p else None)
    times = timed_rounds(configs, rounds)
    for p in sizes:
        rates = [n / min(times[(p, e)]) / 1e6 for e in ("walk", "cache")]
        ratios = [min(times[(sizes[0], e)]) / min(times[(p, e)]) for e in ("walk", "cache")]
        rows.append((f"{p:,} policies", rates, ratios, meta[p][0], meta[p][1], meta[p][2], meta[p][3]))
    return rows


def study_state(n, rounds):
    c = default_scenario()
    rng = np.random.default_rng(3)
    P = len(c.pods)
    ip = np.asarray(c.pods.ip)
    src, dst = rng.integers(0, P, n), rng.integers(0, P, n)
    reply = rng.random(n) < 1 / 3
    sender, peer = np.where(reply, dst, src), np.where(reply, src, dst)
    sport, dport = rng.integers(32768, 61000, n), rng.choice([53, 80, 5432], n)
    cols = dict(ingress_kind=INGRESS_POD, ingress_id=sender, src_ip=ip[sender], dst_ip=ip[peer], proto=6,
                sport=np.where(reply, dport, sport), dport=np.where(reply, sport, dport), ttl=64, length=100)
    stateful, stateless = make_batch(**cols, reply=reply), make_batch(**cols)
    configs = {}
    for cache in (False, True):
        dp = Dataplane(c, flow_cache=cache)
        configs[("stateless", cache)] = (lambda dp=dp: dp.forward(stateless))
        configs[("stateful", cache)] = (lambda dp=dp: dp.forward(stateful))
    times = timed_rounds(configs, rounds)
    rows = []
    for cache in (False, True):
        base = min(times[("stateless", cache)])
        for kind in ("stateless", "stateful"):
            best = min(times[(kind, cache)])
            rows.append((kind, "flow cache" if cache else "every packet walks", n / best / 1e6, best / base))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", type=Path)
    a = ap.parse_args(argv)
    rounds = 3 if a.quick else a.rounds
    n = QUICK_PACKETS if a.quick else PACKETS
    shape = QUICK_SHAPE if a.quick else SHAPE
    pods = shape["hosts"] * shape["nodes_per_host"] * shape["pods_per_node"]
    rule_sizes = [0, 100, 1000, 10000] + ([] if a.quick else [100000])
    policy_sizes = [0, 100, 1000] + ([] if a.quick else [10000])
    t = time.perf_counter()
    out = [f"**Command**: `python bench/dfw.py {' '.join(argv if argv is not None else sys.argv[1:])}`  ",
           f"**Date**: {datetime.datetime.now(datetime.timezone.utc):%a %b %d %H:%M:%S UTC %Y}  ",
           f"**Machine**: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
           f"numpy {np.__version__}; load average {os.getloadavg()[0]:.2f}  ",
           f"**Commit**: {git_commit()}  ",
           f"**Run**: {n:,} packets a call (each its own flow), best of {rounds} rounds, 1 thread; "
           f"cluster {pods:,} pods in {shape['namespaces']} namespaces", ""]
    engines = (f"every packet its own flow, walked: M packets/s per core (vs none) | {FLOWS:,} flows, "
               "default engine (flow cache): M packets/s per core (vs none)")
    out += [f"| admin rules | {engines} | compile s | tables | classifier bytes per rule |", "|---|---|---|---|---|---|"]
    for name, mpps, ratio, comp, desc, bpr in study_rules(shape, rule_sizes, n, rounds):
        out.append(f"| {name} | {mpps[0]:.2f} ({ratio[0]:.2f}x) | {mpps[1]:.2f} ({ratio[1]:.2f}x) | {comp:.2f} | {desc} "
                   f"| {'' if bpr is None else f'{bpr:.1f}'} |")
    out += ["", f"| NetworkPolicies | {engines} | parse s (from_spec) | compile s (policies) "
            "| tables | classifier bytes per policy |", "|---|---|---|---|---|---|---|---|"]
    for name, mpps, ratio, parse, comp, desc, bpp in study_policies(shape, policy_sizes, n, rounds):
        out.append(f"| {name} | {mpps[0]:.2f} ({ratio[0]:.2f}x) | {mpps[1]:.2f} ({ratio[1]:.2f}x) | {parse:.2f} "
                   f"| {comp:.2f} | {desc} | {'' if bpp is None else f'{bpp:.0f}'} |")
    out += ["", "| seed, a third replies | engine | M packets/s per core | time vs stateless |", "|---|---|---|---|"]
    for kind, engine, mpps, ratio in study_state(n, rounds):
        out.append(f"| {kind} | {engine} | {mpps:.2f} | {ratio:.3f} |")
    out.append("")
    out.append(f"took {time.perf_counter() - t:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    text = "\n".join(out)
    print(text)
    if a.markdown:
        a.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
