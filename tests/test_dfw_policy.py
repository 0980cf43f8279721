"""NetworkPolicy through the compiled DFW: the fast path against the reference walk, and
`fastpath reach` against the truth tables.

The reference walk decides with `fastpath.policy.evaluate.PolicyModel` (plain Python over the
policy objects); the fast path with classifier rows compiled from them
(`fastpath.compile.dfw`, `fastpath.compile.policy`). Every packet's verdict, drop point and
DFW decisions (at the sender's port, at the receiver's) must agree, on packets aimed at what
policies look at (the e2e x/y/z pods, ports 79..82 and named ports, TCP/UDP/SCTP/ICMP, replies)
and on the adversarial mix, for both engines, with and without the flow cache.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastpath.analysis.reach import reach
from fastpath.dataplane import Dataplane
from fastpath.model import from_spec
from fastpath.packets import INGRESS_UPLINK, make_batch
from fastpath.policy.evaluate import PolicyModel
from fastpath.policy.netpol_model import PROBE_FIELDS as FIELDS
from fastpath.policy.netpol_model import PROTO_NUMBERS, concat, netpol_spec, parse_table, policy, probe_batch
from fastpath.reference import trace
from fastpath.reference.batch import walk_batch
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import Reason, Verdict


def _e2e_cases() -> dict:
    """The truth tables of tests/test_policy_e2e.py (one source for both tests)."""
    path = Path(__file__).with_name("test_policy_e2e.py")
    spec = importlib.util.spec_from_file_location("policy_e2e_cases", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CASES


CASES = _e2e_cases()
POD_A = {"matchLabels": {"pod": "a"}}
POD_B = {"matchLabels": {"pod": "b"}}

POLICY_SETS = {
    "deny-all x, allow b->a on a named port": [
        policy("deny-all", "x", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy("b-to-a", "x", {"podSelector": POD_A, "ingress": [{"from": [{"podSelector": POD_B}],
                                                                   "ports": [{"port": "serve-80-tcp"}]}]}),
        policy("b-egress", "x", {"podSelector": POD_B, "policyTypes": ["Egress"],
                                 "egress": [{"to": [{"podSelector": POD_A}], "ports": [{"port": "serve-80-tcp"}]}]}),
    ],
    "ipBlock with except on pod addresses, endPort, namespaceSelector expressions": [
        policy("cidr", "y", {"podSelector": {}, "ingress": [
            {"from": [{"ipBlock": {"cidr": "172.16.0.0/16", "except": ["172.16.1.3/32", "172.16.3.0/28"]}}],
             "ports": [{"protocol": "UDP", "port": 80, "endPort": 81}]},
            {"from": [{"namespaceSelector": {"matchExpressions": [
                {"key": "ns", "operator": "NotIn", "values": ["x"]}]}, "podSelector": POD_B}]}]}),
        policy("egress-dns", "z", {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [
            {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "SCTP", "port": 81}]},
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}}]}]}),
    ],
    "egress named ports resolve on the remote pod; an empty egress list isolates": [
        policy("named-egress", "x", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
            {"to": [{"namespaceSelector": {}}], "ports": [{"port": "serve-81-udp", "protocol": "UDP"}]}]}),
        policy("no-egress", "y", {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": []}),
        policy("all-in", "z", {"podSelector": {}, "ingress": [{}]}),
    ],
}


def _cluster(policies, admin=None, default="allow", renumber=False):
    spec = netpol_spec(*policies)
    if renumber:  # a second, different container port numbering for the named ports
        for p in spec["pods"]:
            for cp in p["ports"]:
                if p["name"] == "c":
                    cp["containerPort"] += 1000
    spec["dfw"] = {"default": default, "rules": admin or []}
    spec["t0"] = {"uplinks": [{"name": "uplink-1", "ip": "203.0.113.2/24", "next_hop": "203.0.113.1"}],
                  "routes": [{"prefix": "0.0.0.0/0", "next_hop": "203.0.113.1"}]}
    return from_spec(spec)


@pytest.mark.parametrize("name", list(POLICY_SETS))
@pytest.mark.parametrize("admin", [False, True])
def test_fast_path_equals_the_reference_walk(name, admin):
    rules = [{"name": "deny-z-to-x-81", "action": "deny", "src": "172.16.3.0/24", "dst": "172.16.1.0/24",
              "proto": "tcp", "dport": 81},
             {"name": "allow-y-udp", "action": "allow", "src": "172.16.2.0/24", "proto": "udp"}] if admin else None
    c = _cluster(POLICY_SETS[name], rules, default="deny" if admin else "allow", renumber=True)
    b = concat(probe_batch(c, 3000, 1), adversarial_mix(c, 1000, seed=2))
    b = concat(b, b)  # flows repeat: the cache answers the second half
    want, _ = walk_batch(c, b)
    assert (want.reason == Reason.DFW_DENY).any() and (want.verdict == Verdict.DELIVERED).any()
    assert ((want.dfw_at_dst >= 0) & (b.ingress_kind != INGRESS_UPLINK)).any()  # isolated receivers evaluate too
    for engine in ("staged", "fused"):
        for cache in (True, False):
            got = Dataplane(c, engine=engine, flow_cache=cache).forward(b).results
            for f in FIELDS:
                bad = np.nonzero(getattr(got, f) != getattr(want, f))[0]
                assert bad.size == 0, f"{engine} cache={cache} {f}: packet {bad[:5]} of {b.size}"


@pytest.mark.parametrize("case", list(CASES))
def test_reach_answers_every_truth_table(case):
    policies, checks = CASES[case]
    c = from_spec(netpol_spec(*policies))
    dp = Dataplane(c)
    model = PolicyModel(c)
    for proto, port, table in checks:
        want = parse_table(table)
        m = reach(c, proto.lower(), port, dataplane=dp)
        got = {(p["src"], p["dst"]): p["allowed"] for p in m.pairs()}
        assert got == {k: v for k, v in want.items() if k[0] != k[1]}, (case, proto, port)
        ips = {pod.key: pod.ip for pod in c.pods}
        for p in m.pairs():  # and "by" names what the reference names
            ok, by = model.connection(ips[p["src"]], ips[p["dst"]], PROTO_NUMBERS[proto], port)
            assert ok == p["allowed"]
            assert (by is None and p["by"] is None) or p["by"] in (by, f"policy {by}"), (p, by)


def test_a_trace_names_the_policy_and_the_isolation():
    c = _cluster(POLICY_SETS["deny-all x, allow b->a on a named port"])
    ok = trace(c, "x/b", "x/a", proto=6, dport=80)
    assert ok.verdict is Verdict.DELIVERED
    assert [d["by"] for d in ok.dfw] == ["policy x/b-egress", "policy x/b-to-a"]
    denied = trace(c, "x/c", "x/a", proto=6, dport=80)
    assert (denied.reason, denied.device) == (Reason.DFW_DENY, "lp:x/c")
    assert denied.dfw[-1]["by"] == "isolated: egress of x/c"
    reply = trace(c, "x/b", "x/a", proto=6, sport=41000, dport=80, reply=True)
    assert reply.verdict is Verdict.DELIVERED and reply.egress == "x/b"
    # the node a pod runs on always reaches it
    node = c.nodes[c.node_index[c.pods[c.pod_index["x/a"]].node]].name
    assert trace(c, node, "x/a", proto=6, dport=9).verdict is Verdict.DELIVERED


def _cli(*args, code=0):
    proc = subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    return proc


def test_cli_reach(tmp_path):
    spec = tmp_path / "netpol.json"
    spec.write_text(json.dumps(netpol_spec(*POLICY_SETS["deny-all x, allow b->a on a named port"])))
    d = json.loads(_cli("reach", "--cluster", str(spec), "--port", "80", "--from", "x", "--to", "x/a", "--json").stdout)
    assert d["proto"] == "tcp" and d["port"] == 80
    assert {(p["src"], p["dst"]): (p["allowed"], p["by"]) for p in d["pairs"]} == {
        ("x/b", "x/a"): (True, "policy x/b-to-a"), ("x/c", "x/a"): (False, "isolated: egress of x/c")}
    text = _cli("reach", "--cluster", str(spec), "--from", "x", "--to", "x").stdout.splitlines()
    assert text[1].split("\t") == ["-", "x/a", "x/b", "x/c"]
    assert text[2].split("\t") == ["x/a", "-", "X", "X"] and text[3].split("\t") == ["x/b", ".", "-", "X"]
    err = _cli("reach", "--cluster", str(spec), "--from", "nope", code=2).stderr
    assert err.strip() == "fastpath: error: --from: no namespace 'nope'"


def test_address_ranges_to_prefixes_match_ipaddress():
    import ipaddress
    import random

    from fastpath.compile.policy import block_prefixes, ranges_to_prefixes
    from fastpath.policy.objects import IPBlock
    from fastpath.tables.classifier import prefixes_minus

    rng = random.Random(4)
    for _ in range(500):
        a = rng.randrange(0, 1 << 32)
        b = min(1 << 32, a + rng.choice([1, 2, 3, 255, 256, 1000, 1 << 20, rng.randrange(1, 1 << 32)]))
        nets, lens = ranges_to_prefixes(np.array([a]), np.array([b]))
        got = sorted(ipaddress.IPv4Network((int(n), int(n_))) for n, n_ in zip(nets, lens))
        assert got == sorted(ipaddress.summarize_address_range(ipaddress.IPv4Address(a), ipaddress.IPv4Address(b - 1)))
    for _ in range(50):  # many ranges at once: the vectorised path
        cuts = sorted(rng.sample(range(0, 1 << 32), 40))
        a, b = np.array(cuts[0::2]), np.array(cuts[1::2])
        nets, lens = ranges_to_prefixes(a, b)
        got = sorted(ipaddress.IPv4Network((int(n), int(n_))) for n, n_ in zip(nets, lens))
        want = sorted(p for x, y in zip(a, b) for p in ipaddress.summarize_address_range(
            ipaddress.IPv4Address(int(x)), ipaddress.IPv4Address(int(y) - 1)))
        assert got == want
    for _ in range(200):
        plen = rng.randrange(0, 31)
        cidr = ipaddress.IPv4Network((rng.randrange(0, 1 << 32) >> (32 - plen) << (32 - plen) if plen else 0, plen))
        excepts = tuple(ipaddress.IPv4Network((int(cidr.network_address) + (rng.randrange(0, cidr.num_addresses) >> (32 - e) << (32 - e)), e))
                        for e in rng.sample(range(plen + 1, 33), rng.randrange(0, 3)))
        nets, lens = block_prefixes(IPBlock(cidr, excepts))
        got = {ipaddress.IPv4Network((int(n), int(n_))) for n, n_ in zip(nets, lens)}
        # the minimal aligned cover of a set is unique: the classifier's own (tested against
        # ipaddress.address_exclude in tests/test_classifier.py) must be the same
        assert got == set(prefixes_minus(cidr, excepts)), (cidr, excepts)


def test_answers_do_not_depend_on_threads_or_batching():
    """State is computed from policy, not arrival order: one call, two threads, and the batch in
    uneven pieces give the same results and DFW counters."""
    c = _cluster(POLICY_SETS["ipBlock with except on pod addresses, endPort, namespaceSelector expressions"])
    b = concat(probe_batch(c, 6000, 9), probe_batch(c, 6000, 9))
    dp = Dataplane(c)
    one = dp.forward(b)
    two = Dataplane(c).forward(b, threads=2)
    cuts = [0, 1, 257, 3000, 7777, b.size]
    parts = [Dataplane(c).forward(make_batch(**{f: getattr(b, f)[lo:hi] for f in b._fields}))
             for lo, hi in zip(cuts, cuts[1:])]
    for f in FIELDS:
        assert np.array_equal(getattr(one.results, f), getattr(two.results, f)), f
        assert np.array_equal(getattr(one.results, f), np.concatenate([getattr(p.results, f) for p in parts])), f
    assert np.array_equal(one.counters.dfw, two.counters.dfw)
    assert np.array_equal(one.counters.dfw[0], sum(p.counters.dfw[0] for p in parts))
    assert one.counters.dfw[0, :, 1].sum() > 0 and one.counters.dfw[0, :, 0].sum() > 0
