"""The stateful DFW (`fastpath.model.firewall`): a reply is judged as the connection it answers.

On the seed, admin rule ``deny-default-to-db`` denies default (172.16.2.0/24) -> db
(172.16.4.0/24). A stateless firewall also drops the reply of db -> default connections (the
reply's addresses match the rule); the stateful one passes it, and drops the reply of a
default -> db connection (which never existed). Each answer is held to the reference walk, the
fast path (staged, fused, cached) and the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.model import default_scenario
from fastpath.model import firewall
from fastpath.packets import INGRESS_POD, INGRESS_UPLINK, make_batch
from fastpath.reference import trace
from fastpath.reference.batch import walk_batch
from fastpath.traffic.profiles import Uniform, profile_by_name
from fastpath.verdicts import Reason, Verdict


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def seed():
    return default_scenario()


def test_the_reply_of_an_allowed_connection_passes_where_its_addresses_match_a_deny_rule(seed):
    forward = trace(seed, "db/postgres-0", "default/nginx-1", proto=6, sport=40000, dport=80)
    assert forward.verdict is Verdict.DELIVERED
    reply = trace(seed, "db/postgres-0", "default/nginx-1", proto=6, sport=40000, dport=80, reply=True)
    # the reply is nginx -> postgres, which the rule would deny as a new connection ...
    assert trace(seed, "default/nginx-1", "db/postgres-0", proto=6, sport=80, dport=40000).reason is Reason.DFW_DENY
    # ... but as the reply of an allowed connection it passes, judged as db -> default
    assert reply.verdict is Verdict.DELIVERED and reply.egress == "db/postgres-0"
    assert reply.dfw[0]["by"] == "default" and reply.dfw[0]["direction"] == "ingress"
    assert reply.hops[0].device == "default/nginx-1"


def test_the_reply_of_a_denied_connection_is_dropped_by_the_same_rule(seed):
    reply = trace(seed, "default/nginx-1", "db/postgres-0", proto=6, sport=40000, dport=5432, reply=True)
    assert (reply.verdict, reply.reason, reply.device) == (Verdict.DROPPED, Reason.DFW_DENY, "lp:db/postgres-0")
    assert reply.dfw_at_src == 0 and reply.dfw[0]["by"] == "rule deny-default-to-db"


@pytest.mark.parametrize("engine", ["staged", "fused"])
@pytest.mark.parametrize("cache", [True, False])
def test_fast_path_judges_replies_as_the_reference(seed, engine, cache):
    pods = np.arange(len(seed.pods))
    rng = np.random.default_rng(5)
    n = 4000
    src, dst = rng.choice(pods, n), rng.choice(pods, n)
    reply = rng.random(n) < 0.5
    # a reply is sent by the original's destination, back to its source, ports swapped
    sender = np.where(reply, dst, src)
    peer = np.where(reply, src, dst)
    sport, dport = rng.choice([40000, 40001], n), rng.choice([53, 80, 5432], n)
    ip = np.asarray(seed.pods.ip)
    b = make_batch(ingress_kind=INGRESS_POD, ingress_id=sender, src_ip=ip[sender], dst_ip=ip[peer],
                   proto=rng.choice([6, 17, 1], n), sport=np.where(reply, dport, sport),
                   dport=np.where(reply, sport, dport), ttl=64, length=100, reply=reply)
    b = make_batch(**{k: np.tile(v, 2) for k, v in b._asdict().items()})  # flows repeat: cache hits
    want, _ = walk_batch(seed, b)
    run = Dataplane(seed, engine=engine, flow_cache=cache).forward(b)
    for f in ("verdict", "reason", "dev_kind", "dev_id", "dfw_at_src", "dfw_at_dst"):
        assert np.array_equal(getattr(run.results, f), getattr(want, f)), f
    # the per-decision counters are the per-packet decisions, counted
    d = firewall.decisions(seed)
    for side, col in enumerate(("dfw_at_src", "dfw_at_dst")):
        v = getattr(want, col)
        assert np.array_equal(run.counters.dfw[0, :, side], np.bincount(v[v >= 0], minlength=d.count))
    hits = run.dfw_hits()
    assert hits.evaluations.sum() == int((want.dfw_at_src >= 0).sum() + (want.dfw_at_dst >= 0).sum())
    assert set(hits.decision) <= set(firewall.decision_names(seed))


def test_profiles_send_replies_from_the_original_destination(seed):
    plain = Uniform(flows=50)
    with_replies = Uniform(flows=50, reply_ratio=0.4)
    a = next(plain.batches(seed, 5000, seed=3))
    b = next(with_replies.batches(seed, 5000, seed=3))
    r = b.reply.astype(bool)
    assert 0.3 < r.mean() < 0.5 and not a.reply.any()
    # originals are untouched; each reply is its original turned around
    for f in a._fields:
        if f != "reply":
            assert np.array_equal(getattr(a, f)[~r], getattr(b, f)[~r]), f
    assert np.array_equal(b.src_ip[r], a.dst_ip[r]) and np.array_equal(b.dst_ip[r], a.src_ip[r])
    assert np.array_equal(b.sport[r], a.dport[r]) and np.array_equal(b.dport[r], a.sport[r])
    owner = {int(ip): k for k, ip in enumerate(seed.pods.ip)}
    assert all(owner[int(ip)] == i for ip, i in zip(b.src_ip[r], b.ingress_id[r]))
    # and the same packets whatever the chunking
    chunks = list(with_replies.batches(seed, 5000, seed=3, chunk=777))
    assert np.array_equal(np.concatenate([c.reply for c in chunks]), b.reply)


def test_north_south_replies_come_in_through_the_uplink(seed):
    prof = profile_by_name(seed, "locality")
    prof = dataclasses.replace(prof, reply_ratio=1.0)
    b = next(prof.batches(seed, 3000, seed=1))
    assert b.reply.all()
    ours = set(int(x) for x in seed.pods.ip) | {n.ip for n in seed.nodes}
    outside = np.array([int(x) not in ours for x in b.src_ip])
    assert outside.any() and (b.ingress_kind[outside] == INGRESS_UPLINK).all()
    want, _ = walk_batch(seed, b)
    got = Dataplane(seed).forward(b).results
    assert np.array_equal(got.verdict, want.verdict) and np.array_equal(got.dfw_at_dst, want.dfw_at_dst)


def test_cli_trace_reply(tmp_path):
    res = run_cli("trace", "db/postgres-0", "default/nginx-1", "--proto", "tcp", "--dport", "80", "--reply", "--json")
    d = json.loads(res.stdout)
    assert d["reply"] is True and d["verdict"] == "delivered" and d["egress"] == "db/postgres-0"
    res = run_cli("trace", "default/nginx-1", "db/postgres-0", "--proto", "tcp", "--dport", "5432", "--reply", "--json")
    d = json.loads(res.stdout)
    assert d["reason"] == "dfw-deny" and d["dfw"][0]["by"] == "rule deny-default-to-db"
