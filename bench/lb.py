#!/usr/bin/env python
"""What a LoadBalancer's virtual server costs the data plane: clients outside to a Service's
external IP (through the uplink, the T0, the load balancer T1's SR: DNAT + SNAT, a second pass
from there, `fastpath.dataplane.lb`), against the same clients sending to the same backends'
pod IPs, routed (uplink -> T0 -> the namespace's T1: no SR, no second pass).

    python bench/lb.py              # what bench/RESULTS.md shows (~1 min)
    python bench/lb.py --quick

The cluster is the seed with the node T1's SR on edge-1 and web/frontend a LoadBalancer (port
80 -> 8080). Two traffic shapes, each with its own baseline: **flows** (4,096 client
connections, repeated: the flow cache hits) and **distinct** (a fresh client port a packet).
Replies too: the backend's answer to the client as it sees it (from the external IP), against
the backend answering the client from its own address. Best of ``--rounds``, shuffled rounds
(bench/stages.py's `timed_rounds`); each rate is also a ratio to its baseline, same rounds.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import platform
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import numpy as np
from stages import git_commit, timed_rounds

from fastpath import services as kube_services
from fastpath.dataplane import Dataplane
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec
from fastpath.packets import INGRESS_POD, INGRESS_UPLINK, make_batch


def lb_cluster():
    s = copy.deepcopy(SEED_SPEC)
    s["node_network"]["t1"] = {"edge": "edge-1"}
    s["t0"]["lb_pool"] = "198.51.100.0/28"
    s["services"] = s["services"] + [{
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "frontend", "namespace": "web"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "frontend"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}]
    return from_spec(s)


def batches(c, n: int, flows: int | None, seed: int):
    """(to the VIP, to the backends directly, replies from the VIP, replies from the backends)."""
    rng = np.random.default_rng(seed)
    k = c.service_index["web/frontend"]
    svc = c.services[k]
    m = n if flows is None else flows
    client = rng.integers(0x08000000, 0x0A000000, m).astype(np.uint32)
    cport = rng.integers(1024, 65536, m)
    be = [kube_services.choose(svc.backends[0], int(a), svc.lb_ip, 6, int(p), 80, c.settings.service_hash_seed)
          for a, p in zip(client, cport)]
    be_ip = np.array([b.ip for b in be], np.uint32)
    be_lp = np.array([b.lport for b in be], np.int32)
    if flows is not None:
        pick = rng.integers(0, flows, n)
        client, cport, be_ip, be_lp = client[pick], cport[pick], be_ip[pick], be_lp[pick]
    common = dict(proto=6, ttl=64, length=100)
    to_vip = make_batch(ingress_kind=INGRESS_UPLINK, ingress_id=0, src_ip=client, dst_ip=svc.lb_ip, sport=cport,
                        dport=80, **common)
    direct = make_batch(ingress_kind=INGRESS_UPLINK, ingress_id=0, src_ip=client, dst_ip=be_ip, sport=cport,
                        dport=8080, **common)
    reply_vip = make_batch(ingress_kind=INGRESS_POD, ingress_id=be_lp, src_ip=svc.lb_ip, dst_ip=client, sport=80,
                           dport=cport, reply=1, **common)
    reply_direct = make_batch(ingress_kind=INGRESS_POD, ingress_id=be_lp, src_ip=be_ip, dst_ip=client, sport=8080,
                              dport=cport, reply=1, **common)
    return to_vip, direct, reply_vip, reply_direct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--packets", type=int)
    a = ap.parse_args()
    n = a.packets or (1 << 18 if a.quick else 1 << 20)
    rounds = a.rounds or (3 if a.quick else 7)
    c = lb_cluster()
    dp = Dataplane(c)
    cn = dp.new_counters(1)
    rows = []
    for shape, flows in (("flows", 4096), ("distinct", None)):
        to_vip, direct, reply_vip, reply_direct = batches(c, n, flows, seed=7)
        r = dp.forward(to_vip).results
        assert (r.service >= 0).all() and (r.verdict == 0).all()
        assert (dp.forward(reply_vip).results.verdict == 1).all()
        configs = {"to the external IP": lambda: dp.forward(to_vip, counters=cn),
                   "to the pods, routed": lambda: dp.forward(direct, counters=cn),
                   "reply from the external IP": lambda: dp.forward(reply_vip, counters=cn),
                   "reply from the pods, routed": lambda: dp.forward(reply_direct, counters=cn)}
        times = timed_rounds(configs, rounds)
        best = {k: min(v) for k, v in times.items()}
        for k in configs:
            base = best["reply from the pods, routed" if k.startswith("reply") else "to the pods, routed"]
            rows.append((shape, k, n / best[k] / 1e6, best[k] / n * 1e9, best[k] / base))
    print(f"# LoadBalancer virtual server on the seed ({n:,} packets, TCP 80 -> 8080; 1 thread; best of {rounds}; "
          "ratio: time against the same clients routed to the pods)")
    print(f"# {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.date.today()}, commit {git_commit()}")
    print("| traffic | run | M packets/s | ns/packet | time vs routed |")
    print("|---|---|---:|---:|---:|")
    for shape, k, mpps, ns, ratio in rows:
        print(f"| {shape} | {k} | {mpps:.1f} | {ns:.1f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
