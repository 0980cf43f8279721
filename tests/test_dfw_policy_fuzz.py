"""Random NetworkPolicies through the compiled DFW, against the reference walk.

Each seed builds the x/y/z cluster with random extra labels, 1..12 random policies (selectors
empty, by labels or by expressions; policyTypes absent or given; peers absent, empty, by pod,
by namespace, both, ipBlocks with excepts over pod subnets; ports absent, by protocol, number,
range, name), random admin rules and default, and holds the fast path (both engines, cache on
and off) to the reference walk on every field, for aimed and adversarial packets, replies
included. The default tier runs a few seeds; CI runs many (``slow``).
"""

from __future__ import annotations

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.model import from_spec
from fastpath.policy.netpol_model import PROBE_FIELDS as FIELDS
from fastpath.policy.netpol_model import NAMESPACES, concat, netpol_spec, policy, probe_batch
from fastpath.reference.batch import walk_batch
from fastpath.traffic.adversarial import adversarial_mix

KEYS = {"tier": ["web", "db", "cache"], "env": ["prod", "dev"], "pod": ["a", "b", "c"]}


def _selector(rng, keys=KEYS):
    pick = rng.integers(0, 4)
    if pick == 0:
        return {}
    key = str(rng.choice(list(keys)))
    if pick == 1:
        return {"matchLabels": {key: str(rng.choice(keys[key]))}}
    op = str(rng.choice(["In", "NotIn", "Exists", "DoesNotExist"]))
    expr = {"key": key, "operator": op}
    if op in ("In", "NotIn"):
        expr["values"] = sorted({str(v) for v in rng.choice(keys[key], rng.integers(1, 3))})
    return {"matchExpressions": [expr]}


def _peer(rng):
    pick = rng.integers(0, 4)
    if pick == 0:
        return {"podSelector": _selector(rng)}
    if pick == 1:
        return {"namespaceSelector": _selector(rng, {"kubernetes.io/metadata.name": list(NAMESPACES),
                                                     "ns": list(NAMESPACES)})}
    if pick == 2:
        return {"podSelector": _selector(rng), "namespaceSelector": _selector(rng, {"ns": list(NAMESPACES)})}
    third = int(rng.integers(1, 4))
    cidr = str(rng.choice([f"172.16.{third}.0/24", "172.16.0.0/16", "0.0.0.0/0", "203.0.113.0/24"]))
    block = {"cidr": cidr}
    if cidr != "203.0.113.0/24" and rng.random() < 0.6:
        block["except"] = [f"172.16.{third}.{int(rng.integers(0, 8)) * 2}/{int(rng.choice([31, 32]))}"]
    return {"ipBlock": block}


def _port(rng):
    proto = str(rng.choice(["TCP", "UDP", "SCTP"]))
    pick = rng.integers(0, 4)
    if pick == 0:
        return {"protocol": proto}
    if pick == 1:
        return {"protocol": proto, "port": int(rng.choice([79, 80, 81, 53]))}
    if pick == 2:
        return {"protocol": proto, "port": 80, "endPort": int(rng.choice([80, 81, 1081]))}
    return {"protocol": proto, "port": f"serve-{int(rng.choice([80, 81]))}-{proto.lower()}"}


def _rules(rng, side):
    out = []
    for _ in range(rng.integers(0, 3)):
        rule = {}
        if rng.random() < 0.7:
            rule[side] = [_peer(rng) for _ in range(rng.integers(0, 3))]
        if rng.random() < 0.6:
            rule["ports"] = [_port(rng) for _ in range(rng.integers(0, 3))]
        out.append(rule)
    return out


def random_cluster(seed: int):
    rng = np.random.default_rng(seed)
    pols = []
    for k in range(rng.integers(1, 13)):
        spec = {"podSelector": _selector(rng)}
        types = rng.integers(0, 4)
        if types:
            spec["policyTypes"] = [["Ingress"], ["Egress"], ["Ingress", "Egress"]][types - 1]
        if rng.random() < 0.8:
            spec["ingress"] = _rules(rng, "from")
        if rng.random() < 0.6:
            spec["egress"] = _rules(rng, "to")
        pols.append(policy(f"p{k}", str(rng.choice(NAMESPACES)), spec))
    spec = netpol_spec(*pols)
    for p in spec["pods"]:
        for key in ("tier", "env"):
            if rng.random() < 0.6:
                p["labels"][key] = str(rng.choice(KEYS[key]))
        if p["name"] == "c":  # named ports that resolve to other numbers on some pods
            for cp in p["ports"]:
                cp["containerPort"] += 1000
    rules = []
    for r in range(rng.integers(0, 4)):
        rules.append({"name": f"admin-{r}", "action": str(rng.choice(["allow", "deny"])),
                      "src": str(rng.choice(["any", "172.16.1.0/24", "172.16.2.0/25", "172.15.0.0/24"])),
                      "dst": str(rng.choice(["any", "172.16.3.0/24", "172.16.1.2/32"])),
                      "proto": str(rng.choice(["any", "tcp", "udp"])),
                      **({"dport": int(rng.choice([80, 81]))} if rng.random() < 0.5 else {})})
    spec["dfw"] = {"default": str(rng.choice(["allow", "allow", "deny"])), "rules": rules}
    spec["t0"] = {"uplinks": [{"name": "uplink-1", "ip": "203.0.113.2/24", "next_hop": "203.0.113.1"}],
                  "routes": [{"prefix": "0.0.0.0/0", "next_hop": "203.0.113.1"}]}
    return from_spec(spec)


def check(seed: int, n: int) -> None:
    c = random_cluster(seed)
    b = concat(probe_batch(c, n, seed), adversarial_mix(c, n // 4, seed=seed))
    b = concat(b, b)  # flows repeat: the cache answers the second half
    want, _ = walk_batch(c, b)
    for engine in ("staged", "fused"):
        for cache in (True, False):
            got = Dataplane(c, engine=engine, flow_cache=cache).forward(b).results
            for f in FIELDS:
                bad = np.nonzero(getattr(got, f) != getattr(want, f))[0]
                assert bad.size == 0, f"seed {seed} {engine} cache={cache} {f}: packets {bad[:5]} of {b.size}"


@pytest.mark.parametrize("seed", range(4))
def test_random_policies(seed):
    check(seed, 1500)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 64))
def test_random_policies_many(seed):
    check(seed, 3000)
