"""Redundancy (issue 13, item 5): service routers as active/standby pairs, and failures.

The spec (``t1.edges``/``t0.edges``: round trip, one line per mistake); the standby carries
nothing (the same packets as the one-edge cluster, field for field); a failed cluster
(`fastpath.model.failure`) forwarded by both engines equals the reference walk field for field;
what a failure moves and loses, counted from the packets and the model's own tables (not from
the diff that reports it).
"""

import copy
import ipaddress

import numpy as np
import pytest

from fastpath.analysis.diff import diff
from fastpath.analysis.report import ReportAccumulator
from fastpath.dataplane import Dataplane
from fastpath.model.cluster import SpecError, sr_name
from fastpath.model.failure import fail
from fastpath.model.routing import lookup, rib
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec, to_spec
from fastpath.packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, PacketBatch
from fastpath.reference.batch import walk_batch
from fastpath.traffic import profile_by_name
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import Reason, Verdict


def _svc(name, ns="default", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _spec(t0_edges=("edge-1", "edge-3"), payments=("edge-2", "edge-1"), nodes=("edge-1", "edge-2")):
    """The seed on three edges: the node T1 (the load balancer's) and payments' T1 as
    active/standby pairs, the T0 active/standby with SNAT, LoadBalancer Services."""
    s = copy.deepcopy(SEED_SPEC)
    s["edges"] = [{"name": "edge-1"}, {"name": "edge-2"}, {"name": "edge-3"}]
    s["node_network"]["t1"] = {"edges": list(nodes)}
    for ns in s["namespaces"]:
        if ns["name"] == "payments":
            ns["t1"] = {"edges": list(payments)}
    s["t0"].pop("edge", None)
    s["t0"]["edges"] = list(t0_edges)
    if len(t0_edges) == 2:
        s["t0"]["ha_mode"] = "active_standby"
    s["t0"]["snat_pool"] = "198.51.100.0/28"
    s["t0"]["lb_pool"] = "198.51.100.32/28"
    s["services"] = s.get("services", []) + [
        _svc("frontend", "web", type="LoadBalancer", selector={"app": "frontend"},
             ports=[{"name": "http", "port": 80, "targetPort": 8080}]),
    ]
    return s


@pytest.fixture(scope="module")
def pair():
    return from_spec(_spec())


# ---- the spec -----------------------------------------------------------------------------------------------
def test_edges_are_active_then_standby_and_round_trip(pair):
    r = {x.name: x for x in (*pair.t1s, pair.t0)}
    assert (r["t1-nodes"].edge, r["t1-nodes"].standby) == ("edge-1", "edge-2")
    assert (r["t1-payments"].edge, r["t1-payments"].standby) == ("edge-2", "edge-1")
    assert (r["t0"].edge, r["t0"].standby) == ("edge-1", "edge-3")
    assert r["t1-web"].edges == ()
    back = from_spec(to_spec(pair))
    assert back.t1s == pair.t1s and back.t0 == pair.t0
    spec = to_spec(pair)
    assert spec["node_network"]["t1"] == {"name": "t1-nodes", "edges": ["edge-1", "edge-2"]}
    assert spec["t0"]["ha_mode"] == "active_standby"
    # the shorthand stays the shorthand
    one = from_spec(SEED_SPEC)
    assert "edges" not in to_spec(one)["t0"] and to_spec(one)["t0"]["edge"] == one.t0.edge


@pytest.mark.parametrize("change, path, words", [
    (lambda s: s["node_network"]["t1"].update(edge="edge-1"), "node_network.t1.edges", "not both"),
    (lambda s: s["node_network"]["t1"].update(edges=["edge-1", "edge-9"]), "node_network.t1.edges[1]",
     "'edge-9' is no edge node (edges: edge-1, edge-2, edge-3)"),
    (lambda s: s["node_network"]["t1"].update(edges=["esx-1", "edge-1"]), "node_network.t1.edges[0]",
     "a transport node"),
    (lambda s: s["namespaces"][-1]["t1"].update(edges=["edge-2", "edge-2"]), "namespaces[4].t1.edges[1]",
     "the standby is another edge node"),
    (lambda s: s["namespaces"][-1]["t1"].update(edges=["edge-1", "edge-2", "edge-3"]), "namespaces[4].t1.edges",
     "3 edge nodes"),
    (lambda s: s["namespaces"][-1]["t1"].update(edges=[]), "namespaces[4].t1.edges", "0 edge nodes"),
    (lambda s: s["t0"].pop("ha_mode"), "t0.ha_mode", "active_standby"),
])
def test_bad_edges_are_one_line_naming_the_field(change, path, words):
    s = _spec()
    assert s["namespaces"][-1]["name"] == "payments"
    change(s)
    with pytest.raises(SpecError) as e:
        from_spec(s)
    assert e.value.path == path and words in e.value.message and "\n" not in str(e.value)


def test_the_standby_carries_nothing(pair):
    """The pair forwards exactly what the cluster with only the actives forwards."""
    s = to_spec(pair)
    for r in [s["node_network"]["t1"], *(ns["t1"] for ns in s["namespaces"]), s["t0"]]:
        if "edges" in r:
            r["edge"] = r.pop("edges")[0]
    s["t0"].pop("ha_mode")
    single = from_spec(s)
    assert all(r.standby is None for r in single.t1s)
    b = adversarial_mix(pair, 20_000, seed=5)
    dp = Dataplane(pair)
    run = dp.forward(b)
    got, want = run.results, Dataplane(single).forward(b).results
    for f in got._fields:
        assert np.array_equal(getattr(got, f), getattr(want, f)), f
    assert (got.verdict == Verdict.EXITED).any() and got.via_edge.any()
    acc = ReportAccumulator(pair, dp.tables)
    acc.add(run, b)
    hosts = acc.report(offered_pps=1e6).hosts.set_index("host")
    assert hosts.loc["edge-3", ["tx_packets", "rx_packets"]].sum() == 0  # the T0's standby, nobody's active
    assert hosts.loc["edge-2", "rx_packets"] > 0  # payments' active
