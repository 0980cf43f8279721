"""The load report: exact per-device numbers on hand-made flows through the seed, derived by
hand from the seed's topology; utilisation arithmetic and the bottleneck; invariants on a
random run; the outputs (JSON, text).

The hand-made run on the seed (Geneve overhead 50 + inner Ethernet 14 = 64 bytes a leg):

    flow  packets  length  path                                                    tunnels
    A     100      100     kube-dns -> worker-2: t1-kube-system, t0, t1-nodes      esx-1->esx-2
    B      40      200     kube-dns -> 8.8.8.8: t1-kube-system, t0, t0-sr, uplink  esx-1->edge-1
    C      30      300     kube-dns -> payments/checkout-2: t1-kube-system, t0,    esx-1->edge-1,
                           t1-payments-sr, t1-payments                             edge-1->esx-3
    D      10      400     uplink-1 -> checkout-2: t0-sr, t0, t1-payments-sr,      edge-1->esx-3
                           t1-payments
    E       5       60     default/nginx-1 -> db/postgres-0: DFW deny at the source port
"""

import ipaddress
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from fastpath.analysis import (
    Capacity,
    LoadReport,
    ReportAccumulator,
    load_report,
    resolve_capacity,
)
from fastpath.dataplane import Dataplane
from fastpath.model import default_scenario, generate
from fastpath.packets import INGRESS_POD, INGRESS_UPLINK, make_batch
from fastpath.traffic import uniform_pod_to_pod
from fastpath.verdicts import Verdict

OUT = int(ipaddress.IPv4Address("8.8.8.8"))
LEG = 64  # Geneve 50 + inner Ethernet 14
WIRE = LEG + 24  # on the wire: + FCS 4, preamble/SFD 8, inter-frame gap 12
FLOWS = {"A": (100, 100), "B": (40, 200), "C": (30, 300), "D": (10, 400), "E": (5, 60)}
P = sum(n for n, _ in FLOWS.values())  # 185


def _bytes(flow, extra=0):
    n, length = FLOWS[flow]
    return n * (length + extra)


@pytest.fixture(scope="module")
def seed():
    return default_scenario()


@pytest.fixture(scope="module")
def dp(seed):
    return Dataplane(seed)


def _flow_batches(c):
    dns = c.pod_index["kube-system/kube-dns"]
    nginx = c.pod_index["default/nginx-1"]
    checkout2 = int(c.pod("payments/checkout-2").ip)

    def pod_flow(flow, src, dst):
        n, length = FLOWS[flow]
        return make_batch(ingress_kind=INGRESS_POD, ingress_id=np.full(n, src), src_ip=c.pods.ip[src], dst_ip=dst,
                          proto=17, sport=5353, dport=53, ttl=64, length=length)

    n, length = FLOWS["D"]
    from_uplink = make_batch(ingress_kind=INGRESS_UPLINK, ingress_id=np.zeros(n), src_ip=OUT, dst_ip=checkout2,
                             proto=6, sport=443, dport=8443, ttl=64, length=length)
    return [pod_flow("A", dns, c.node("worker-2").ip), pod_flow("B", dns, OUT), pod_flow("C", dns, checkout2),
            from_uplink, pod_flow("E", nginx, int(c.pod("db/postgres-0").ip))]


@pytest.fixture(scope="module")
def flows_acc(seed, dp):
    acc = ReportAccumulator(seed, dp.tables)
    for b in _flow_batches(seed):
        acc.add(dp.forward(b, **acc.forward_options), b)
    return acc


@pytest.fixture(scope="module")
def flows(flows_acc):
    return flows_acc.report(offered_pps=P * 10_000)  # each packet of the run stands for 10,000 pps


def _row(df, **match):
    sel = np.ones(len(df), bool)
    for k, v in match.items():
        sel &= (df[k] == v).to_numpy()
    assert sel.sum() == 1, match
    return df[sel].iloc[0]


def test_verdicts_and_drop_reasons_count_the_hand_made_flows(flows):
    v = flows.verdicts.set_index("verdict")
    assert flows.packets == P
    assert v.loc["delivered", "packets"] == 100 + 30 + 10
    assert v.loc["exited", "packets"] == 40
    assert v.loc["dropped", "packets"] == 5
    assert v["share"].sum() == pytest.approx(1.0)
    r = flows.reasons.set_index("reason")
    assert r.loc["dfw-deny", "packets"] == 5
    assert r.loc["dfw-deny", "share_of_dropped"] == 1.0
    assert r["packets"].sum() == 5


def test_router_instances_carry_the_packets_of_their_flows(flows):
    rt = flows.routers.set_index("router")
    expect = {  # packets, inner bytes
        "t1-kube-system": (170, _bytes("A") + _bytes("B") + _bytes("C")),
        "t0": (180, _bytes("A") + _bytes("B") + _bytes("C") + _bytes("D")),
        "t1-nodes": (100, _bytes("A")),
        "t0-sr": (50, _bytes("B") + _bytes("D")),
        "t1-payments-sr": (40, _bytes("C") + _bytes("D")),
        "t1-payments": (40, _bytes("C") + _bytes("D")),
        "t1-default": (0, 0), "t1-web": (0, 0), "t1-db": (0, 0),
    }
    assert set(rt.index) == set(expect)
    for name, (pkts, nbytes) in expect.items():
        assert (rt.loc[name, "packets"], rt.loc[name, "bytes"]) == (pkts, nbytes), name
    assert rt.loc["t0-sr", "instance"] == "sr" and rt.loc["t0-sr", "edge"] == "edge-1"
    assert rt.loc["t1-payments-sr", "kind"] == "t1" and rt.loc["t0-sr", "kind"] == "t0"
    assert rt.loc["t0", "instance"] == "dr" and rt.loc["t0", "edge"] == ""


def test_tep_pairs_hold_only_the_used_tunnels_sorted_by_bytes(flows):
    tp = flows.tep_pairs
    got = [(r.src_host, r.dst_host, r.packets, r.bytes) for r in tp.itertuples()]
    assert got == [
        ("esx-1", "edge-1", 70, _bytes("B", LEG) + _bytes("C", LEG)),  # 21,480
        ("esx-1", "esx-2", 100, _bytes("A", LEG)),  # 16,400 = N * (len + 50 + 14)
        ("edge-1", "esx-3", 40, _bytes("C", LEG) + _bytes("D", LEG)),  # 15,560
    ]
    assert tp["share_of_bytes"].sum() == pytest.approx(1.0)


def test_hosts_count_tunnel_legs_in_and_out(flows):
    h = flows.hosts.set_index("host")
    assert list(h.index) == ["esx-1", "esx-2", "esx-3", "edge-1"]
    assert h.loc["edge-1", "edge"] and not h.loc["esx-1", "edge"]
    esx1_tx = _bytes("A", LEG) + _bytes("B", LEG) + _bytes("C", LEG)
    assert tuple(h.loc["esx-1", ["tx_packets", "tx_bytes", "rx_packets", "rx_bytes"]]) == (170, esx1_tx, 0, 0)
    assert tuple(h.loc["esx-2", ["tx_packets", "rx_packets", "rx_bytes"]]) == (0, 100, _bytes("A", LEG))
    assert tuple(h.loc["esx-3", ["tx_packets", "rx_packets", "rx_bytes"]]) == (0, 40, _bytes("C", LEG) + _bytes("D", LEG))
    assert tuple(h.loc["edge-1", ["tx_packets", "tx_bytes", "rx_packets", "rx_bytes"]]) == (
        40, _bytes("C", LEG) + _bytes("D", LEG), 70, _bytes("B", LEG) + _bytes("C", LEG))


def test_segments_uplinks_and_edges(flows):
    s = flows.segments.set_index("segment")
    assert s.loc["ls-kube-system", "packets"] == 170
    assert s.loc["ls-nodes", "packets"] == 100
    assert s.loc["ls-payments", "packets"] == 40 and s.loc["ls-payments", "bytes"] == _bytes("C") + _bytes("D")
    assert s.loc["ls-default", "packets"] == 0  # E was denied at the port, before the segment
    up = _row(flows.uplinks, uplink="uplink-1")
    assert (up.tx_packets, up.tx_bytes, up.rx_packets, up.rx_bytes) == (40, _bytes("B"), 10, _bytes("D"))
    e = _row(flows.edges, edge="edge-1")
    assert set(e.service_routers.split(",")) == {"t0-sr", "t1-payments-sr"}
    assert e.sr_packets == 50 + 40  # D crosses both SRs: two routing passes on the edge
    assert (e.tunnel_in_packets, e.tunnel_in_bytes) == (70, _bytes("B", LEG) + _bytes("C", LEG))
    assert (e.tunnel_out_packets, e.tunnel_out_bytes) == (40, _bytes("C", LEG) + _bytes("D", LEG))


def test_encap_overhead_and_hairpin_fraction(flows):
    e = flows.encap
    underlay = sum(_bytes(f, LEG) for f in "AB") + 2 * _bytes("C", LEG) + _bytes("D", LEG)
    inner_once = sum(_bytes(f) for f in "ABCD")
    assert e["tunnel_legs"] == 100 + 40 + 2 * 30 + 10
    assert e["tunnelled_packets"] == 180
    assert e["underlay_bytes"] == underlay == 53_440
    assert e["tunnelled_inner_bytes"] == inner_once == 31_000
    assert e["overhead_bytes"] == underlay - inner_once
    assert e["ratio"] == pytest.approx(underlay / inner_once)
    assert e["header_bytes"] == e["tunnel_legs"] * LEG
    assert e["leg_inner_bytes"] == _bytes("A") + _bytes("B") + 2 * _bytes("C") + _bytes("D")
    assert e["inner_bytes"] == sum(_bytes(f) for f in FLOWS)
    h = flows.hairpin
    assert h["via_edge"] == 40 + 30 + 10  # B, C, D
    assert h["fraction"] == pytest.approx(80 / P)
    assert h["east_west_via_edge"] == 30  # C only: B exits, D enters by the uplink
    assert h["east_west_fraction"] == pytest.approx(30 / P)


def test_utilisation_arithmetic_and_bottleneck_with_default_capacities(flows):
    u = flows.utilisation
    per = 10_000  # pps a packet of the run stands for
    assert not (u["kind"] == "edge").any()  # no packet rate given for an edge: its CPU judges it
    tx = _row(u, device="esx-1", direction="tx")
    esx1_tx = _bytes("A", WIRE) + _bytes("B", WIRE) + _bytes("C", WIRE)
    assert tx.gbps == pytest.approx(esx1_tx * per * 8 / 1e9)
    assert tx.utilisation == pytest.approx(esx1_tx * per * 8 / 25e9)
    up = _row(u, device="uplink-1", direction="tx")
    assert up.gbps == pytest.approx((_bytes("B") + (14 + 24) * 40) * per * 8 / 1e9)  # IP + Ethernet 14 + wire 24
    assert up.utilisation == pytest.approx(up.gbps / 40)
    up_rx = _row(u, device="uplink-1", direction="rx")
    assert up_rx.pps == pytest.approx(10 * per)
    idle = _row(u, device="esx-2", direction="tx")
    assert idle.utilisation == 0 and math.isinf(idle.saturates_at_pps)
    # the bottleneck: the highest utilisation, links and CPUs alike; it saturates at offered / utilisation
    assert u["utilisation"].iloc[0] == u["utilisation"].max()
    b = flows.bottleneck
    top = u.iloc[0]
    assert (b["device"], b["kind"]) == (top.device, top.kind) and top.kind.endswith("-cpu")
    assert b["saturates_at_pps"] == pytest.approx(flows.offered_pps / b["utilisation"])
    assert flows.capacity == Capacity()


def test_an_edge_packet_rate_when_given(flows_acc):
    rep = flows_acc.report(offered_pps=P * 10_000, capacity={"edge_mpps": 4.0})
    edge = _row(rep.utilisation, device="edge-1", kind="edge")
    assert edge.pps == pytest.approx(90 * 10_000)  # D crosses both SRs: 50 + 40 SR packets
    assert edge.load == pytest.approx(0.9)  # Mpps
    assert edge.utilisation == pytest.approx(0.9 / 4.0)
    assert edge.saturates_at_pps == pytest.approx(4e6 * P / 90)


# ---- the CPU cost model: where the work lands, by hand from the seed's topology -------------------
def _host_of(c, pod):
    return c.nodes[c.pods.node[c.pod_index[pod]]].host


def test_cpu_work_per_device_by_hand(seed, flows):
    """kube-dns and nginx-1 run on worker-1 (esx-1), checkout-2 on worker-3 (esx-3). Every
    router hop of A, B and C is on esx-1 (distributed routing on the source host): A 3, B 2 (then
    the T0 SR), C 2 (then the payments SR); on edge-1: B's T0 SR, C's payments SR and DR, D's four
    (T0 SR, T0, payments SR and DR). E is denied at its source port after its pass."""
    assert {_host_of(seed, p) for p in ("kube-system/kube-dns", "default/nginx-1")} == {"esx-1"}
    assert _host_of(seed, "payments/checkout-2") == "esx-3"
    w = flows.cpu.set_index("device")
    n = {f: FLOWS[f][0] for f in FLOWS}
    assert w.loc["esx-1", "device_class"] == "host" and w.loc["edge-1", "device_class"] == "edge"
    assert (w.loc["esx-1", ["switch", "route", "encap", "decap"]].tolist()
            == [n["A"] + n["B"] + n["C"] + n["E"], 3 * n["A"] + 2 * n["B"] + 2 * n["C"], n["A"] + n["B"] + n["C"], 0])
    assert (w.loc["edge-1", ["switch", "route", "encap", "decap"]].tolist()
            == [n["B"] + n["C"] + n["D"], n["B"] + 2 * n["C"] + 4 * n["D"], n["C"] + n["D"], n["B"] + n["C"]])
    assert w.loc["esx-2", ["switch", "route", "decap"]].tolist() == [n["A"], 0, n["A"]]
    assert w.loc["esx-3", ["switch", "route", "decap"]].tolist() == [n["C"] + n["D"], 0, n["C"] + n["D"]]
    # the node VMs' OVS: worker-1's pods send A, B, C, E; C and D reach checkout-2 on worker-3;
    # A ends at worker-2's own address, past no OVS
    assert w.loc["worker-1", "switch"] == n["A"] + n["B"] + n["C"] + n["E"]
    assert w.loc["worker-3", "switch"] == n["C"] + n["D"]
    assert w.loc["worker-2", "switch"] == w.loc["master", "switch"] == 0
    # the DFW: one connection a flow (fixed ports): its first packet is new at each port it meets
    assert w.loc["esx-1", "dfw_new"] == 4 and w.loc["esx-1", "dfw_established"] == 175 - 4  # A, B, C, E sent
    # router hops over the hosts equal the router counters, DFW evaluations the DFW counters
    assert w["route"].sum() == flows.routers["packets"].sum()
    # cycles: the defaults' sum of the operations
    from fastpath.model.costs import FIGURES
    f = {k: v.value for k, v in FIGURES["host"].items()}
    e1 = w.loc["esx-1"]
    assert e1.cycles == pytest.approx(e1.switch * f["switch"] + e1.route * f["route"] + e1.dfw_new * f["dfw_new"]
                                      + e1.dfw_established * f["dfw_established"] + e1.encap * f["encap"])
    u = _row(flows.utilisation, device="esx-1", kind="host-cpu")
    assert u.load == pytest.approx(e1.cycles / P * flows.offered_pps / (f["ghz"] * 1e9))  # cores busy
    assert u.utilisation == pytest.approx(u.load / f["cores"]) and u.unit == "cores"
    assert u.saturates_at_pps == pytest.approx(f["cores"] * f["ghz"] * 1e9 * P / e1.cycles)


def test_cpu_figures_from_capacity_and_placeholders_named(flows_acc, flows):
    assert "host.switch" in flows.placeholders and "node.switch" not in flows.placeholders  # OVS's is sourced
    assert "placeholders:" in flows.to_text()
    # the link capacities' defaults are assumptions too, until given (here, or in the spec)
    assert {"capacity.host_link_gbps", "capacity.uplink_gbps"} <= set(flows.placeholders)
    given = flows_acc.report(capacity={"uplink_gbps": 100, "host_link": {h.name: 10 for h in flows_acc.cluster.hosts}})
    assert not {"capacity.host_link_gbps", "capacity.uplink_gbps"} & set(given.placeholders)
    rep = flows_acc.report(offered_pps=P * 10_000, capacity={"cpu": {"host": {"switch": 1800, "cores": 4},
                                                                     "cores": {"esx-1": 8}}})
    assert "host.switch" not in rep.placeholders and "host.cores" not in rep.placeholders
    w0, w1 = flows.cpu.set_index("device"), rep.cpu.set_index("device")
    assert w1.loc["esx-1", "cores"] == 8 and w1.loc["esx-2", "cores"] == 4
    assert w1.loc["esx-2", "cycles"] - w0.loc["esx-2", "cycles"] == pytest.approx(900 * w0.loc["esx-2", "switch"])
    with pytest.raises(ValueError, match="capacity.cpu.cores.esx-9"):
        flows_acc.report(capacity={"cpu": {"cores": {"esx-9": 2}}})
    with pytest.raises(ValueError, match="capacity.cpu.node.route"):
        flows_acc.report(capacity={"cpu": {"node": {"route": 2}}})


def test_without_the_leg_log_the_cpu_is_unknown_and_said_so(seed, dp):
    acc = ReportAccumulator(seed, dp.tables)
    for b in _flow_batches(seed):
        acc.add(dp.forward(b), b)
    rep = acc.report(offered_pps=1e6)
    assert rep.cpu.empty and not rep.utilisation["kind"].str.endswith("-cpu").any()
    assert "CPU work: unknown" in rep.to_text()


def test_explicit_capacity_overrides_per_device_and_moves_the_bottleneck(flows_acc):
    rep = flows_acc.report(offered_pps=P * 10_000, capacity={"host_link": {"esx-1": 1}, "uplink_gbps": 0.5})
    esx1_gbps = (_bytes("A", WIRE) + _bytes("B", WIRE) + _bytes("C", WIRE)) * 10_000 * 8 / 1e9  # 3.3568
    b = rep.bottleneck
    assert (b["device"], b["direction"], b["kind"]) == ("esx-1", "tx", "host-link")
    assert b["utilisation"] == pytest.approx(esx1_gbps / 1.0)
    assert b["saturates_at_pps"] == pytest.approx(P * 10_000 / esx1_gbps)
    assert _row(rep.utilisation, device="esx-2", direction="rx").capacity == 25.0  # the default stays
    assert _row(rep.utilisation, device="uplink-1", direction="tx").capacity == 0.5
    assert "bottleneck: esx-1 tx" in rep.to_text()


def test_cluster_capacity_is_taken_and_an_explicit_argument_wins(dp):
    c = default_scenario()
    # the spec's cluster.capacity: the same fields as `Capacity`, per-device values by name
    c.capacity = SimpleNamespace(host_link_gbps=10, edge_mpps=0.5, uplink_gbps=40, host_link={"edge-1": 100}, edge={},
                                 uplink={})
    b = _flow_batches(c)[2]  # flow C
    rep = load_report(Dataplane(c, dp.tables), [b], offered_pps=1e6)
    assert rep.capacity == Capacity(host_link_gbps=10, edge_mpps=0.5, host_link={"edge-1": 100})
    assert rep.capacity.link_gbps_of("esx-1") == 10 and rep.capacity.link_gbps_of("edge-1") == 100
    assert _row(rep.utilisation, kind="edge").utilisation == pytest.approx(1e6 / 0.5e6)  # every packet crosses the SR
    assert _row(rep.utilisation, device="edge-1", direction="rx").capacity == 100
    # a mapping overrides what it names; an object is complete and replaces the cluster's
    rep2 = load_report(Dataplane(c, dp.tables), [b], offered_pps=1e6, capacity={"edge_mpps": 8})
    assert rep2.capacity == Capacity(host_link_gbps=10, edge_mpps=8, host_link={"edge-1": 100})
    rep3 = load_report(Dataplane(c, dp.tables), [b], offered_pps=1e6, capacity=Capacity(edge_mpps=8))
    assert rep3.capacity == Capacity(edge_mpps=8)
    assert resolve_capacity(None) == Capacity()


def test_bad_capacities_and_offered_load_are_refused_by_name(flows_acc):
    with pytest.raises(ValueError, match="capacity.edge_mpps"):
        flows_acc.report(capacity={"edge_mpps": 0})
    with pytest.raises(ValueError, match="capacity.host_link.esx-9"):
        flows_acc.report(capacity={"host_link": {"esx-9": 10}})
    with pytest.raises(ValueError, match="capacity.edge.esx-1"):  # a host, not an edge
        flows_acc.report(capacity={"edge": {"esx-1": 10}})
    with pytest.raises(ValueError, match="offered_pps"):
        flows_acc.report(offered_pps=-1)


def test_without_offered_load_the_bottleneck_and_saturation_are_still_known(flows_acc, flows):
    rep = flows_acc.report()
    assert rep.utilisation["utilisation"].isna().all()
    assert rep.bottleneck["device"] == flows.bottleneck["device"]
    assert rep.bottleneck["utilisation"] is None
    assert rep.bottleneck["saturates_at_pps"] == pytest.approx(flows.bottleneck["saturates_at_pps"])


def test_without_batches_the_counter_numbers_stay_and_the_batch_ones_are_unknown(seed, dp, flows):
    acc = ReportAccumulator(seed)  # no tables: router ids from the RIB
    for b in _flow_batches(seed):
        acc.add(dp.forward(b))
    rep = acc.report(offered_pps=P * 10_000)
    assert rep.encap["ratio"] is None and rep.encap["tunnelled_inner_bytes"] is None
    assert rep.encap["per_leg_ratio"] == pytest.approx(flows.encap["per_leg_ratio"])
    assert rep.hairpin["via_edge"] == 80 and rep.hairpin["east_west_via_edge"] is None
    assert rep.uplinks["rx_packets"].isna().all()
    assert not ((rep.utilisation["kind"] == "uplink") & (rep.utilisation["direction"] == "rx")).any()
    for k in ("hosts", "tep_pairs", "routers", "segments", "edges"):
        assert getattr(rep, k).equals(getattr(flows, k)), k
    json.dumps(rep.to_json(), allow_nan=False)


@pytest.fixture(scope="module")
def random_run():
    c = generate(hosts=6, nodes_per_host=2, namespaces=8, pods_per_node=20, edges=2, service_t1_fraction=0.5,
                 dfw_rules=6, seed=4)
    d = Dataplane(c)
    acc = ReportAccumulator(c, d.tables)
    shared = d.new_counters(2)
    acc_shared = ReportAccumulator(c, d.tables)
    for b in uniform_pod_to_pod(c, 200_000, seed=3, chunk=50_000):
        acc.add(d.forward(b, threads=2), b)
        acc_shared.add(d.forward(b, threads=2, counters=shared), b)  # running totals in each RunResult
    return c, acc, acc_shared, shared


def test_invariants_on_a_random_run(random_run):
    _, acc, _, _ = random_run
    rep = acc.report(offered_pps=5e6)
    h, tp = rep.hosts, rep.tep_pairs
    assert h["tx_packets"].sum() == h["rx_packets"].sum() == tp["packets"].sum() == rep.encap["tunnel_legs"]
    assert h["tx_bytes"].sum() == h["rx_bytes"].sum() == tp["bytes"].sum() == rep.encap["underlay_bytes"]
    assert rep.encap["underlay_bytes"] == acc.totals.underlay_bytes  # counters agree with per-packet results
    assert rep.encap["tunnel_legs"] == acc.totals.tunnel_legs
    assert (tp["packets"] > 0).all() and tp["bytes"].is_monotonic_decreasing
    assert rep.verdicts["packets"].sum() == rep.packets == 200_000
    assert rep.verdicts["share"].sum() == pytest.approx(1.0)
    assert rep.reasons["packets"].sum() == rep.verdicts.set_index("verdict").loc["dropped", "packets"]
    e = rep.edges.set_index("edge")
    sr = rep.routers[rep.routers["instance"] == "sr"].groupby("edge")["packets"].sum()
    assert e["sr_packets"].sum() == sr.sum() > 0
    for name in e.index:
        hh = h.set_index("host").loc[name]
        assert (e.loc[name, "tunnel_in_bytes"], e.loc[name, "tunnel_out_bytes"]) == (hh.rx_bytes, hh.tx_bytes)
    u = rep.utilisation
    assert u["utilisation"].is_monotonic_decreasing
    assert (u["saturates_at_pps"] * u["utilisation"]).iloc[0] == pytest.approx(5e6)
    assert 0 < rep.hairpin["fraction"] < 1


def test_shared_counters_give_the_same_report_as_per_chunk_counters(random_run):
    c, acc, acc_shared, shared = random_run
    a, b = acc.report(offered_pps=1e6), acc_shared.report(offered_pps=1e6)
    for name, df in a.frames().items():
        assert df.equals(b.frames()[name]), name
    assert a.to_json() == b.to_json()
    # the report straight from worker-row counters (two rows here) equals the accumulated one
    direct = LoadReport.build(c, shared, acc.totals, offered_pps=1e6)
    assert direct.to_json() == a.to_json()


def test_counters_of_another_run_are_refused(seed, dp):
    acc = ReportAccumulator(seed, dp.tables)
    b1, b2 = _flow_batches(seed)[:2]
    shared = dp.new_counters(1)
    dp.forward(b1, counters=shared)  # a chunk the accumulator never saw
    with pytest.raises(ValueError, match="counters hold"):
        acc.add(dp.forward(b2, counters=shared), b2)
    with pytest.raises(ValueError, match="no run"):
        acc.report()


def test_json_round_trips_and_text_names_the_bottleneck(flows):
    j = flows.to_json()
    assert json.loads(json.dumps(j, allow_nan=False)) == j
    assert j["verdicts"]["exited"] == {"packets": 40, "share": pytest.approx(40 / P)}
    assert j["tep_pairs"][0] == {"src_host": "esx-1", "dst_host": "edge-1", "packets": 70, "bytes": 21_480,
                                 "share_of_bytes": pytest.approx(21_480 / 53_440)}
    assert j["bottleneck"]["device"] == flows.utilisation["device"].iloc[0] == "worker-1"  # its OVS: 175 passes
    assert j["cpu"][0]["device"] == "esx-1" and j["placeholders"] == flows.placeholders
    assert set(j) >= {"hosts", "tep_pairs", "routers", "segments", "uplinks", "edges", "utilisation", "encap", "hairpin",
                      "cpu"}
    text = flows.to_text()
    assert "bottleneck: worker-1 cpu (node-cpu)" in text
    assert "esx-1 -> edge-1" in text and "t1-payments-sr" in text
    assert len(text.splitlines()) <= 60  # one screen for the seed


def test_text_shows_the_top_rows_of_a_big_cluster(random_run):
    _, acc, _, _ = random_run
    text = acc.report(offered_pps=1e6).to_text(top=3)
    assert "TEP pairs by bytes, top 3 of" in text
    assert len(text.splitlines()) < 50


def test_an_empty_run_reports_zeros_and_no_bottleneck(seed, dp):
    rep = load_report(dp, [make_batch(length=[])], offered_pps=1e6)
    assert rep.packets == 0 and rep.bottleneck is None and rep.tep_pairs.empty
    assert (rep.utilisation["utilisation"] == 0).all()
    assert json.loads(json.dumps(rep.to_json(), allow_nan=False))["bottleneck"] is None
    assert "bottleneck: none" in rep.to_text()


def test_uplink_frames_add_the_pipelines_ethernet_header():
    from fastpath.analysis.report import UPLINK_FRAME_OVERHEAD
    from fastpath.dataplane.pipeline import ETH_HEADER

    assert UPLINK_FRAME_OVERHEAD == ETH_HEADER


def test_wire_bytes_pad_short_uplink_frames_and_count_the_tep_vlan_tag(seed, dp):
    """On the wire a frame takes 24 bytes more than the frame (FCS, preamble/SFD, gap); an uplink
    frame under the 60-byte minimum is padded; a TEP transport VLAN adds 4 to every underlay frame."""
    up = seed.uplinks[0]
    src = seed.pods[seed.pod_index["default/nginx-1"]]
    b = make_batch(ingress_kind=INGRESS_POD, ingress_id=seed.pod_index["default/nginx-1"], src_ip=src.ip,
                   dst_ip=up.next_hop, proto=17, length=[28, 45, 46, 1000], ttl=64)
    rep = load_report(dp, [b], offered_pps=4e6)
    r = dp.forward(b).results
    assert (r.verdict == Verdict.EXITED).all()
    frames = [max(L + 14, 60) + 24 for L in (28, 45, 46, 1000)]  # padded to 60, then the wire's 24
    assert _row(rep.utilisation, device=up.name, direction="tx").gbps == pytest.approx(sum(frames) * 1e6 * 8 / 1e9)
    tagged = load_report(dp, [b], offered_pps=4e6, capacity={"tep_vlan": True})
    plain = load_report(dp, [b], offered_pps=4e6)
    legs = int(r.n_tunnels.sum())
    assert legs > 0
    gb = lambda rep_, d: rep_.utilisation[(rep_.utilisation.kind == "host-link") & (rep_.utilisation.direction == d)].gbps.sum()  # noqa: E731
    assert gb(tagged, "tx") - gb(plain, "tx") == pytest.approx(legs * 4 * 1e6 * 8 / 1e9)
    with pytest.raises(ValueError, match="tep_vlan"):
        resolve_capacity({"tep_vlan": "yes"})


def test_the_bottleneck_says_the_per_pod_rate_it_saturates_at(flows, seed):
    """The planner's question, "at what rate a pod": the bottleneck's saturation over the pods."""
    b = flows.bottleneck
    assert b["saturates_at_per_pod_pps"] == pytest.approx(b["saturates_at_pps"] / len(seed.pods))
    assert f"({b['saturates_at_per_pod_pps']:,.0f} packets/s a pod)" in flows.to_text()
