"""Scaling studies: limits crossed where the arithmetic says, refused points recorded, files written."""

import numpy as np
import pandas as pd
import pytest

from fastpath.analysis.study import Limits, first_crossing, run_point, run_study, summary_markdown, write_outputs


@pytest.fixture(scope="module")
def pods_per_node():
    base = {"hosts": 2, "nodes_per_host": 2, "namespaces": 4}
    return run_study("pods-per-node", [10, 110, 111, 1000, 4000, 4094], base=base, packets=20_000)


def test_each_limit_is_crossed_at_its_first_value(pods_per_node):
    df = pods_per_node
    assert first_crossing(df, "max_pods") == 111  # 110 is the kubelet default: 110 fits, 111 does not
    # 2 * 4093 + 1 = 8187 entries fit OVS's 8,192: the VLAN tags bind first
    assert first_crossing(df, "ovs_mac_table") is None
    assert first_crossing(df, "vlan_tags") == 4094
    assert first_crossing(df, "mtu") is None and first_crossing(df, "tunnel_mesh") is None
    assert df.loc[df["value"] == 1000, "ovs_mac_entries_per_node"].item() == 2001


def test_a_point_the_model_refuses_is_recorded_not_raised(pods_per_node):
    row = pods_per_node[pods_per_node["value"] == 4094].iloc[0]
    assert row["status"].startswith("refused: pods_per_node") and row["pods"] == 0
    ok = pods_per_node[pods_per_node["status"] == "ok"]
    assert (ok["pods"] == ok["value"] * 4).all()
    assert (ok["delivered"] + ok["dropped"] + ok["exited"] == ok["packets"]).all() and (ok["pps"] > 0).all()


def test_older_ovs_mac_table_size_is_a_parameter():
    base = {"hosts": 1, "nodes_per_host": 1, "namespaces": 2}
    fits = run_point("pods-per-node", 1023, base=base, packets=0, limits=Limits(ovs_mac_table=2048))
    over = run_point("pods-per-node", 1024, base=base, packets=0, limits=Limits(ovs_mac_table=2048))
    assert not fits.crossed["ovs_mac_table"] and fits.ovs_mac_entries_per_node == 2047
    assert over.crossed["ovs_mac_table"] and over.ovs_mac_entries_per_node == 2049


def test_other_sweeps_vary_their_parameter():
    df = run_study("namespaces", [1, 8], base={"hosts": 2, "nodes_per_host": 1, "pods_per_node": 8}, packets=0)
    assert df["status"].eq("ok").all() and df["table_routers_bytes"].iloc[1] > df["table_routers_bytes"].iloc[0]
    df = run_study("nodes", [1, 3], base={"nodes_per_host": 2, "pods_per_node": 5, "namespaces": 2}, packets=0)
    assert df["nodes"].tolist() == [2, 6] and df["tep_pairs"].tolist() == [2 * 1, 4 * 3]  # hosts incl. the edge
    with pytest.raises(ValueError, match="unknown study"):
        run_point("bogus", 1)


def test_outputs_csv_parquet_plots_and_summary(pods_per_node, tmp_path):
    files = write_outputs(pods_per_node, "pods-per-node", tmp_path)
    names = {f.name for f in files}
    assert {"pods-per-node.csv", "pods-per-node.parquet", "pods-per-node-memory.png", "pods-per-node-limits.png",
            "pods-per-node-engine-speed.png", "summary.md"} <= names
    for f in files:
        assert f.stat().st_size > 0
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_parquet(tmp_path / "pods-per-node.parquet")
    assert back["value"].tolist() == pods_per_node["value"].tolist()
    assert pd.read_csv(tmp_path / "pods-per-node.csv")["pods"].tolist() == pods_per_node["pods"].tolist()
    text = summary_markdown(pods_per_node, "pods-per-node")
    assert "crossed at **111**" in text and "crossed at **4094**" in text and "refused by the model" in text
    assert "OVS MAC table (8,192 entries; 2 per pod VLAN + the node's own): crossed at **4096** (no point" in text


def test_summary_names_the_base_actually_used(pods_per_node):
    assert "hosts=2, nodes_per_host=2, namespaces=4" in summary_markdown(pods_per_node, "pods-per-node")


def test_hypervisors_and_edges_are_counted_apart(pods_per_node):
    """Issue 13: ``hosts`` are the hypervisors, ``edges`` the edge nodes; TEP pairs are all the
    directed pairs of their TEPs, split into hypervisor pairs and pairs with an edge."""
    from fastpath.analysis.study import point_cluster

    ok = pods_per_node[pods_per_node["status"] == "ok"]
    c = point_cluster("pods-per-node", 10, base={"hosts": 2, "nodes_per_host": 2, "namespaces": 4})
    hv, ed = sum(not h.edge for h in c.hosts), sum(h.edge for h in c.hosts)
    assert (ok["hosts"] == hv).all() and (ok["edges"] == ed).all() and ed >= 1
    assert (ok["tep_pairs"] == (hv + ed) * (hv + ed - 1)).all()
    assert (ok["tep_pairs_hosts"] == hv * (hv - 1)).all()
    assert (ok["tep_pairs_hosts"] + ok["tep_pairs_edges"] == ok["tep_pairs"]).all()


def test_the_summary_says_what_produced_it_and_keeps_the_engine_apart(pods_per_node):
    from fastpath import __version__

    text = summary_markdown(pods_per_node, "pods-per-node")
    assert "uniform pod-to-pod, 20,000 packets a point, seed 0" in text and f"fastpath {__version__}" in text
    main, engine = text.split("## Engine (the simulator's own speed, not the modeled network's capacity)")
    assert "M packets/s" not in main and "Mpps" not in main  # no speed beside the network's figures
    ok = pods_per_node[pods_per_node["pps"] > 0]
    for _, r in ok.iterrows():
        assert f"| {r['value']} | {r['pps'] / 1e6:.2f} |" in engine


def test_every_maximum_is_crossed_exactly_where_its_arithmetic_says():
    """Issue 13: the study computes the swept value at which each configuration maximum is first
    crossed — checked here by building the clusters on either side of it and measuring them."""
    from fastpath.analysis.study import point_cluster
    from fastpath.model import maxima

    base = {"hosts": 3, "nodes_per_host": 2, "namespaces": 2, "dfw_rules": 0}
    shape = {**base, "pods_per_node": 0, "edges": 1}
    for key in ("k8s.pods_per_node", "ncp.namespace_subnet", "nsx.remote_overlay_macs"):
        at = maxima.crossing(key, shape, "pods_per_node")
        assert at and at > 1, key
        m = maxima.BY_KEY[key]
        below = point_cluster("pods-per-node", at - 1, base=base)
        above = point_cluster("pods-per-node", at, base=base)
        if key == "k8s.pods_per_node":  # exact on the built cluster
            assert m.of_cluster(below)[0] <= m.value < m.of_cluster(above)[0]
        else:  # the shape's amount is a namespace's even share (the built cluster draws namespaces at random)
            assert m.of_shape({**shape, "pods_per_node": at - 1}) <= m.value < m.of_shape({**shape, "pods_per_node": at})
            share = -(-len(above.pods) // len(above.namespaces))
            hv = sum(not h.edge for h in above.hosts)
            want = share if key == "ncp.namespace_subnet" else -(-len(above.pods) * (hv - 1) // (len(above.namespaces) * hv))
            assert m.of_shape({**shape, "pods_per_node": at}) == want, key
    df = run_study("pods-per-node", [10, 20], base=base, packets=0)
    text = summary_markdown(df, "pods-per-node")
    assert f"crossed at **{maxima.crossing('ncp.namespace_subnet', shape, 'pods_per_node')}**: NCP adds a subnet" in text


def test_the_load_section_is_each_points_load_report():
    """Issue 13, item 4: per point, the bottleneck of the run's load report, the per-pod rate at
    which it saturates, and at the offered per-pod rate each device class's busiest utilisation —
    held to a load report built independently from the same cluster and traffic."""
    from fastpath.analysis import load_report
    from fastpath.analysis.study import point_cluster
    from fastpath.dataplane import Dataplane
    from fastpath.traffic import uniform_pod_to_pod

    base = {"hosts": 3, "nodes_per_host": 2, "namespaces": 4}
    df = run_study("pods-per-node", [5, 40], base=base, packets=50_000, per_pod_pps=3000)
    for _, r in df.iterrows():
        c = point_cluster("pods-per-node", r["value"], base=base)
        rep = load_report(Dataplane(c), uniform_pod_to_pod(c, 50_000, seed=0, chunk=1 << 20),
                          offered_pps=3000 * len(c.pods))
        b = rep.bottleneck
        assert r["bottleneck"] == f"{b['device']} {b['direction']} ({b['kind']})"
        assert r["max_per_pod_pps"] == pytest.approx(b["saturates_at_pps"] / len(c.pods))
        assert r["offered_pps"] == 3000 * len(c.pods)
        u = rep.utilisation
        assert r["util_host_link"] == pytest.approx(u[u.kind == "host-link"].utilisation.max())
        # the bottleneck's utilisation at the offered rate is offered / saturation
        for kind, name in (("host-cpu", "util_host_cpu"), ("node-cpu", "util_node_cpu"), ("edge-cpu", "util_edge_cpu")):
            assert r[name] == pytest.approx(u[u.kind == kind].utilisation.max())
        assert r["util_edge"] != r["util_edge"]  # no edge packet rate given: not judged by one
        new, est = rep.cpu["dfw_new"].sum(), rep.cpu["dfw_established"].sum()
        assert r["dfw_new_share"] == pytest.approx(new / (new + est)) and new > 0
        busiest = [r[n] for n in ("util_host_link", "util_uplink", "util_host_cpu", "util_node_cpu", "util_edge_cpu")]
        assert max(busiest) == pytest.approx(3000 / r["max_per_pod_pps"])
    text = summary_markdown(df, "pods-per-node")
    assert "offered load: 3,000 packets/s a pod" in text and "## Load (the modeled network" in text


def test_the_study_command_takes_a_per_pod_rate_and_draws_the_headroom(tmp_path):
    from click.testing import CliRunner

    from fastpath.cli import main

    res = CliRunner().invoke(main, ["study", "pods-per-node", "--values", "5,20", "--packets", "20000", "--base",
                                    "hosts=2,nodes_per_host=1,namespaces=2", "--per-pod-pps", "2000", "--out",
                                    str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    for plot in ("headroom", "utilisation"):  # the utilisation plot: each class's busiest at the rate asked
        assert (tmp_path / f"pods-per-node-{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = pd.read_csv(tmp_path / "pods-per-node.csv")
    assert (df["per_pod_pps"] == 2000).all() and (df["max_per_pod_pps"] > 0).all()
    bad = CliRunner().invoke(main, ["study", "pods-per-node", "--per-pod-pps", "-1", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--per-pod-pps" in bad.output


def test_the_base_takes_edges_and_service_t1s():
    """Issue 13: --base accepts the generator's edges and service T1s (a study of a cluster whose
    namespaces hairpin through edges), checked before any point is built."""
    from fastpath.analysis.study import check_study, point_cluster
    from fastpath.model import SpecError

    base = {"hosts": 2, "nodes_per_host": 1, "namespaces": 4, "edges": 2, "service_t1_count": 3}
    c = point_cluster("pods-per-node", 5, base=base)
    assert sum(h.edge for h in c.hosts) == 2 and sum(r.edge is not None for r in c.t1s) == 3
    df = run_study("pods-per-node", [5, 10], base=base, packets=20_000, per_pod_pps=1000)
    assert (df["edges"] == 2).all() and (df["util_edge_cpu"] > 0).all()  # the hairpins load the edges' CPUs
    with pytest.raises(SpecError, match="service_t1_count"):
        check_study("pods-per-node", [5], {**base, "service_t1_count": 5})


# ---- a study of the user's own cluster file (--cluster) ---------------------------------------------
def test_a_cluster_file_at_n_pods_a_node_keeps_its_namespaces_shares_and_labels():
    from fastpath.analysis.study import scaled_spec
    from fastpath.model.scenarios import SEED_SPEC
    from fastpath.model.spec import from_spec

    pods = SEED_SPEC["pods"]
    n = 37
    c = from_spec(scaled_spec(SEED_SPEC, n))
    nodes = [x["name"] for x in SEED_SPEC["nodes"]]
    assert len(c.pods) == n * len(nodes)
    assert np.bincount(c.pods.node, minlength=len(c.nodes)).tolist() == [n] * len(nodes)
    # node k's i-th pod copies the file's pod (k * n + i) mod P: its namespace and labels
    want = {}
    for j in range(n * len(nodes)):
        want[pods[j % len(pods)].get("namespace", "default")] = want.get(pods[j % len(pods)].get("namespace", "default"), 0) + 1
    got = {ns.namespace: int((c.pods.namespace == k).sum()) for k, ns in enumerate(c.namespaces)}
    assert {k: v for k, v in got.items() if v} == want
    for i in (0, n + 3, 2 * n - 1):
        t = pods[i % len(pods)]
        assert c.pods.labels[i] == t.get("labels", {}) and c.namespaces[c.pods.namespace[i]].namespace == t["namespace"]
    # the rest is the file's: hosts, nodes, namespaces, policies, Services
    base = from_spec(SEED_SPEC)
    assert [h.name for h in c.hosts] == [h.name for h in base.hosts] and len(c.services) == len(base.services)
    assert len(c.networkpolicies) == len(base.networkpolicies) and c.dfw_rules == base.dfw_rules


def test_a_study_of_a_cluster_file(tmp_path):
    import json

    from click.testing import CliRunner

    from fastpath.cli import main
    from fastpath.model.scenarios import SEED_SPEC

    spec = json.loads(json.dumps(SEED_SPEC))
    spec["capacity"] = {"cpu": {"host": {"switch": 1500, "cores": 8}}}
    f = tmp_path / "ours.json"
    f.write_text(json.dumps(spec))
    out = tmp_path / "st"
    r = CliRunner().invoke(main, ["study", "pods-per-node", "--cluster", str(f), "--values", "5,60", "--packets",
                                  "20000", "--per-pod-pps", "500", "--profile", "hot_dns", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "pods-per-node.csv")
    nodes = len(SEED_SPEC["nodes"])
    assert df["status"].tolist() == ["ok", "ok"] and df["pods"].tolist() == [5 * nodes, 60 * nodes]
    assert df["util_host_cpu"].notna().all() and df["bottleneck"].str.len().gt(0).all()
    text = (out / "summary.md").read_text()
    assert text.startswith("# Study: pods-per-node of ours.json") and "profile hot_dns" in text
    # the file's CPU figures are in effect: no longer named placeholders
    assert "`host.cores`" not in text and "`host.switch`" not in text and "`host.route`" in text


@pytest.mark.parametrize("args, words", [
    (["pods-per-node", "--base", "hosts=3"], "--base: a study of a cluster file takes its shape from the file"),
    (["nodes"], "--cluster: a study of a cluster file sweeps pods-per-node, not nodes"),
])
def test_a_cluster_file_study_refuses_what_it_cannot_do(tmp_path, args, words):
    import json

    from click.testing import CliRunner

    from fastpath.cli import main
    from fastpath.model.scenarios import SEED_SPEC

    f = tmp_path / "ours.json"
    f.write_text(json.dumps(SEED_SPEC))
    r = CliRunner().invoke(main, ["study", *args, "--cluster", str(f), "--out", str(tmp_path / "o"), "--packets", "0"])
    assert r.exit_code == 2 and words in r.output, r.output


def test_the_base_takes_the_mtu_and_the_placement_too():
    """Issue 13, item 4: every generator argument — the underlay MTU and the pods' placement too."""
    from fastpath.analysis.study import check_study, point_cluster
    from fastpath.model import SpecError, generate

    base = {"hosts": 2, "nodes_per_host": 2, "namespaces": 3, "mtu": 9000, "placement": "packed"}
    c = point_cluster("pods-per-node", 6, base=base)
    want = generate(2, 2, 3, 6, mtu=9000, placement="packed", max_pods=110)
    assert {h.mtu for h in c.hosts} == {9000}
    assert (c.pods.namespace == want.pods.namespace).all() and (c.pods.node == want.pods.node).all()
    with pytest.raises(SpecError, match="mtu=100: 100 must be in"):
        check_study("pods-per-node", [5], {"mtu": 100})
    with pytest.raises(SpecError, match="placement='x'"):
        check_study("pods-per-node", [5], {"placement": "x"})
    df = run_study("pods-per-node", [5], base={**base, "mtu": 1500}, packets=0)
    assert df["mtu_headroom"].iloc[0] == 1500 - (1500 + 50) and bool(df["crossed_mtu"].iloc[0])  # pod MTU 1500 + Geneve
