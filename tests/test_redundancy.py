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


# ---- failures: the failed cluster is forwarded as the reference walks it ----------------------------------
FAILURES = [("edge-1",), ("edge-2",), ("edge-1", "edge-2"), ("edge-1", "edge-3"), ("esx-2",), ("uplink-1",),
            ("edge-2", "esx-1")]


def _same(c, b, engine, flow_cache=True):
    ref, _ = walk_batch(c, b)
    got = Dataplane(c, engine=engine, flow_cache=flow_cache).forward(b).results
    for f in ref._fields:
        bad = np.flatnonzero(getattr(got, f) != getattr(ref, f))
        if bad.size:
            i = int(bad[0])
            pytest.fail(f"{engine}: {bad.size} packets differ in {f}; first #{i}: fast {getattr(got, f)[i]} "
                        f"reference {getattr(ref, f)[i]}; packet { {k: int(getattr(b, k)[i]) for k in PacketBatch._fields} }")
    return ref


@pytest.mark.parametrize("devices", FAILURES, ids="+".join)
def test_a_failed_cluster_is_forwarded_as_the_reference_walks_it(pair, devices):
    after = fail(pair, devices).after
    b = adversarial_mix(after, 6_000, seed=11)
    prof = profile_by_name(after, "locality")
    good = next(iter(prof.batches(after, 4_000, seed=3, chunk=4_000)))
    for batch in (b, good):
        _same(after, batch, "staged")
        _same(after, batch, "fused")
        _same(after, batch, "staged", flow_cache=False)


def test_an_edge_with_a_standby_for_every_sr_loses_nothing(pair):
    """edge-1 holds the node T1's (the load balancer's) and the T0's active SRs, payments' standby:
    all move, no verdict changes, and the SR load moves to the standbys, packet for packet."""
    f = fail(pair, ["edge-1"])
    assert f.moved == {"t1-nodes-sr": ("edge-1", "edge-2"), "t0-sr": ("edge-1", "edge-3")} and not f.lost
    d = diff(pair, f.after, profile="locality", packets=30_000, seed=2, changes=f.changes, change_text=f.text)
    assert {g.cls for g in d.groups} <= {"unchanged", "path"} and d.group("path")
    e_b, e_a = (r.edges.set_index("edge")["sr_packets"] for r in d.reports)
    assert e_b.sum() == e_a.sum() > 0
    assert e_a["edge-1"] == 0 and e_a["edge-3"] == 0 + e_b.get("edge-3", 0) + _sr_packets(d, "t0-sr")
    assert "t1-nodes-sr moves to edge-2" in f.text and "t0-sr moves to edge-3" in f.text


def _sr_packets(d, sr):
    r = d.reports[0].routers.set_index("router")
    return int(r.loc[sr, "packets"]) if sr in r.index else 0


def test_an_sr_without_a_survivor_is_gone_and_its_routes_with_it(pair):
    f = fail(pair, ["edge-1", "edge-2"])  # payments (edge-2, edge-1) and the node T1 (edge-1, edge-2): both lost
    assert set(f.lost) == {"t1-nodes-sr", "t1-payments-sr"} and f.moved == {"t0-sr": ("edge-1", "edge-3")}
    r = rib(f.after)
    assert sr_name("t1-payments") not in r and sr_name("t1-nodes") not in r
    pay = next(s for s in f.after.namespaces if s.namespace == "payments")
    inside = int(pay.subnet.network_address) + 2
    assert lookup(r["t1-payments"], int(ipaddress.IPv4Address("8.8.8.8"))) is None  # nothing leaves payments
    assert lookup(r["t1-payments"], inside).kind == "connected"  # east-west inside it lives on
    assert lookup(r["t0"], inside) is None  # the T0 DR's route there is a null route: its next hop is gone
    assert [x.kind for x in r["t0"].routes if x.prefix == pay.subnet] == ["null"]
    assert lookup(r["t0-sr"], inside).next_router == "t0"  # (the T0 SR hands it to the DR, which drops it)
    assert f.after.lb_services == ()  # the virtual servers went with the node T1's SR
    # the packets: every payments pod's packet to outside is dropped at its T1 DR, no-route
    prof = profile_by_name(pair, "locality")
    b = next(iter(prof.batches(pair, 20_000, seed=4, chunk=20_000)))
    ref = _same(f.after, b, "staged")
    k = f.after.namespace_index["payments"]
    from_pay = (b.ingress_kind == INGRESS_POD) & (f.after.pods.namespace[np.minimum(b.ingress_id, len(f.after.pods) - 1)] == k)
    outside = ~np.isin(b.dst_ip & 0xFFFF0000, [0xAC100000]) & ~np.isin(b.dst_ip & 0xFFFFFF00, [0xAC0F0000])
    sel = from_pay & outside & (b.reply == 0)
    assert sel.any()
    assert (ref.reason[sel] == Reason.NO_ROUTE).all() and (ref.dev_id[sel] == list(r).index("t1-payments")).all()
    # ... and every packet from another namespace to a payments pod at the T0 DR
    to_pay = (b.ingress_kind == INGRESS_POD) & ~from_pay & np.isin(b.dst_ip, f.after.pods.ip[f.after.pods.namespace == k])
    assert to_pay.any() and (ref.reason[to_pay] == Reason.NO_ROUTE).all()
    assert (ref.dev_id[to_pay] == list(r).index("t0")).all()


def test_a_failed_host_takes_its_nodes_and_pods_and_every_packet_has_one_outcome(pair):
    f = fail(pair, ["esx-2"])
    gone_nodes = {n.name for n in pair.nodes if n.host == "esx-2"}
    assert set(f.removed["nodes"]) == gone_nodes and gone_nodes
    gone_rows = np.flatnonzero(np.isin(pair.pods.node, [pair.node_index[n] for n in gone_nodes]))
    assert len(f.after.pods) == len(pair.pods) - gone_rows.size
    d = diff(pair, f.after, profile="locality", packets=30_000, seed=6, keep_packets=True, changes=f.changes,
             change_text=f.text)
    assert sum(g.packets for g in d.groups) == d.packets == 30_000
    b, g = d.per_packet
    sender_gone = ((b.ingress_kind == INGRESS_POD) & np.isin(b.ingress_id, gone_rows)) | \
        ((b.ingress_kind == INGRESS_NODE) & np.isin(b.ingress_id, [pair.node_index[n] for n in gone_nodes]))
    removed = {x.id for x in d.group("sender removed")}
    assert sender_gone.any() and np.array_equal(np.isin(g, list(removed)), sender_gone)
    # a packet to a gone pod, from a sender that lives, ends as an ARP miss (no-neighbor)
    to_gone = np.isin(b.dst_ip, pair.pods.ip[gone_rows]) & ~sender_gone & (b.reply == 0)
    assert to_gone.any()
    verdict_groups = {x.id for x in d.groups if x.cls == "verdict" and x.detail["after"]["reason"] == "no-neighbor"}
    assert np.isin(g[to_gone], list(verdict_groups)).all()


def test_a_failed_uplink_drops_what_left_by_it(pair):
    f = fail(pair, ["uplink-1"])
    assert f.removed["uplinks"] == ["uplink-1"] and f.removed["routes"] == ["0.0.0.0/0 via 203.0.113.1"]
    d = diff(pair, f.after, profile="locality", packets=20_000, seed=7, keep_packets=True, changes=f.changes,
             change_text=f.text)
    b, g = d.per_packet
    before = Dataplane(pair).forward(b).results
    exited = before.verdict == Verdict.EXITED
    came_in = b.ingress_kind == INGRESS_UPLINK
    changed = np.isin(g, [x.id for x in d.groups if x.cls == "verdict"])
    removed = np.isin(g, [x.id for x in d.group("sender removed")])
    assert exited.any() and np.array_equal(removed, came_in)
    assert np.array_equal(changed, exited & ~came_in)
    assert all(x.detail["after"]["reason"] == "no-route" for x in d.groups if x.cls == "verdict")


def test_unknown_devices_are_one_line_listing_what_exists(pair):
    with pytest.raises(SpecError) as e:
        fail(pair, ["edge-9"])
    assert str(e.value) == ("fail: no device 'edge-9' (edges: edge-1, edge-2, edge-3; hosts: esx-1, esx-2, esx-3; "
                            "uplinks: uplink-1)")


# ---- an active/active T0: ECMP over SR instances ------------------------------------------------------------
def _aa_spec(seed=0):
    """The seed's T0 active/active on edge-1 (uplink-1) and edge-2 (uplink-2 and uplink-3, a default
    route through each: ECMP over them too)."""
    s = copy.deepcopy(SEED_SPEC)
    s["cluster"]["ecmp_hash_seed"] = seed
    s["edges"] = [{"name": "edge-1"}, {"name": "edge-2"}]
    s["t0"].pop("edge", None)
    s["t0"]["edges"] = ["edge-1", "edge-2"]  # NSX's default HA mode: active_active
    for ns in s["namespaces"]:
        if ns.get("t1", {}).get("edge"):
            ns["t1"] = {"edges": [ns["t1"]["edge"], "edge-2"]}  # payments' SR: active/standby
    s["t0"]["uplinks"] += [{"name": "uplink-2", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1", "edge": "edge-2"},
                           {"name": "uplink-3", "ip": "198.51.101.2/24", "next_hop": "198.51.101.1", "edge": "edge-2"}]
    s["t0"]["routes"] += [{"prefix": "0.0.0.0/0", "next_hop": "198.51.100.1"},
                          {"prefix": "0.0.0.0/0", "next_hop": "198.51.101.1"}]
    return s


@pytest.fixture(scope="module")
def aa():
    return from_spec(_aa_spec())


def test_active_active_spec_round_trips_and_names_an_sr_per_edge(aa):
    assert aa.t0.active == ("edge-1", "edge-2") and aa.t0.standby is None
    r = rib(aa)
    assert {"t0-sr@edge-1", "t0-sr@edge-2"} <= set(r) and "t0-sr" not in r
    assert (r["t0-sr@edge-1"].host, r["t0-sr@edge-2"].host) == ("edge-1", "edge-2")
    default = lookup(r["t0"], int(ipaddress.IPv4Address("8.8.8.8")))
    assert default.kind == "ecmp" and [m.next_router for m in default.ecmp] == ["t0-sr@edge-1", "t0-sr@edge-2"]
    out2 = lookup(r["t0-sr@edge-2"], int(ipaddress.IPv4Address("8.8.8.8")))
    assert out2.kind == "ecmp" and [m.uplink for m in out2.ecmp] == ["uplink-2", "uplink-3"]
    assert lookup(r["t0-sr@edge-1"], int(ipaddress.IPv4Address("8.8.8.8"))).uplink == "uplink-1"
    spec = to_spec(aa)
    assert spec["t0"]["ha_mode"] == "active_active" and spec["t0"]["edges"] == ["edge-1", "edge-2"]
    assert [u.get("edge") for u in spec["t0"]["uplinks"]] == [None, "edge-2", "edge-2"]
    back = from_spec(spec)
    assert back.t0 == aa.t0 and back.uplinks == aa.uplinks


@pytest.mark.parametrize("change, path, words", [
    (lambda s: (s["edges"].extend({"name": f"edge-{k}"} for k in range(3, 10)),
                s["t0"].update(edges=[f"edge-{k}" for k in range(1, 10)])), "t0.edges", "1 to 8"),
    (lambda s: s["t0"]["uplinks"][1].update(edge="edge-9"), "t0.uplinks[1].edge", "not one of the T0's edges"),
    (lambda s: s["t0"].update(edges=["edge-1", "edge-2"], ha_mode="active_standby"), "t0.uplinks[1].edge",
     "only on an active/active T0"),
    (lambda s: s["t0"].update(snat_pool="198.18.0.0/28"), "t0.ha_mode", "SNAT is a stateful service"),
    (lambda s: s["t0"]["routes"].append({"prefix": "0.0.0.0/0", "next_hop": "198.51.100.1"}), "t0.routes[3].prefix",
     "through the same next hop"),
    (lambda s: s["t0"].update(edges=["edge-1", "edge-1"]), "t0.edges[1]", "each SR instance runs on its own edge"),
])
def test_bad_active_active_is_one_line_naming_the_field(change, path, words):
    s = _aa_spec()
    change(s)
    with pytest.raises(SpecError) as e:
        from_spec(s)
    assert e.value.path == path and words in e.value.message, str(e.value)


def _expected_uplinks(c, b):
    """Each packet's uplink by the model's own ECMP choice (`routing.ecmp_member` at the T0 DR, then at
    the chosen SR), for pod packets to outside: -1 elsewhere."""
    from fastpath.model.routing import ecmp_member

    r = rib(c)
    seed = c.settings.ecmp_hash_seed
    names = [u.name for u in c.uplinks]
    out = np.full(b.size, -1)
    for i in range(b.size):
        dst = int(b.dst_ip[i])
        t = (int(b.src_ip[i]), dst, int(b.proto[i]), int(b.sport[i]), int(b.dport[i]), seed)
        route = lookup(r["t0"], dst)
        if route is None or route.kind != "ecmp":
            continue
        sr = r[ecmp_member(route, *t, "t0").next_router]
        route = lookup(sr, dst)
        if route.kind == "ecmp":
            route = ecmp_member(route, *t, sr.name)
        if route.kind == "uplink":
            out[i] = names.index(route.uplink)
    return out


@pytest.mark.parametrize("seed", [0, 12345])
@pytest.mark.parametrize("engine", ["staged", "fused"])
def test_ecmp_spreads_flows_by_the_seeded_hash(seed, engine):
    c = from_spec(_aa_spec(seed))
    prof = profile_by_name(c, "north_south")
    b = next(iter(prof.batches(c, 20_000, seed=2, chunk=20_000)))
    got = Dataplane(c, engine=engine).forward(b).results
    want = _expected_uplinks(c, b)
    out = (got.verdict == Verdict.EXITED) & (b.ingress_kind == INGRESS_POD)
    assert out.sum() > 5_000
    assert np.array_equal(got.dev_id[out], want[out])
    share = np.bincount(got.dev_id[out], minlength=3) / out.sum()
    assert abs(share[0] - 0.5) < 0.05 and abs(share[1] - 0.25) < 0.05 and abs(share[2] - 0.25) < 0.05
    # the hash's seed moves flows between paths
    other = _expected_uplinks(from_spec(_aa_spec(seed + 1)), b)
    assert 0.3 < np.mean(other[out] != want[out]) < 0.9


AA_FAILURES = [("edge-1",), ("edge-2",), ("uplink-1",), ("uplink-2",), ("uplink-2", "uplink-3"), ("edge-1", "edge-2")]


@pytest.mark.parametrize("devices", AA_FAILURES, ids="+".join)
def test_a_failed_active_active_t0_is_forwarded_as_the_reference_walks_it(aa, devices):
    after = fail(aa, devices).after
    b = adversarial_mix(after, 5_000, seed=13)
    good = next(iter(profile_by_name(after, "locality").batches(after, 4_000, seed=3, chunk=4_000)))
    for batch in (b, good):
        _same(after, batch, "staged")
        _same(after, batch, "fused")


def test_a_failed_active_active_edge_moves_its_flows_to_the_others(aa):
    f = fail(aa, ["edge-1"])
    assert f.lost == ["t0-sr@edge-1"] and f.removed["uplinks"] == ["uplink-1"]
    assert f.after.t0.active == ("edge-2",)
    d = diff(aa, f.after, profile="north_south", packets=20_000, seed=5, keep_packets=True, changes=f.changes,
             change_text=f.text)
    b, g = d.per_packet
    before = Dataplane(aa).forward(b).results
    via1 = (before.verdict == Verdict.EXITED) & (before.dev_id == 0) & (b.ingress_kind == INGRESS_POD)
    assert via1.any()
    ups = d.reports[1].uplinks.set_index("uplink")["tx_packets"]
    ups_b = d.reports[0].uplinks.set_index("uplink")["tx_packets"]
    # nothing out is lost: what left by uplink-1 now leaves by uplink-2 or -3
    assert ups.sum() == ups_b.sum() > 0 and ups.get("uplink-1", 0) == 0 < ups_b["uplink-1"]
    changed = np.isin(g, [x.id for x in d.groups if x.cls == "verdict"])
    assert np.array_equal(changed & (b.ingress_kind == INGRESS_POD), via1)
