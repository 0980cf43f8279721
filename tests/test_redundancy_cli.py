"""`fastpath run --fail` and `fastpath study --fail`, run as a user runs them (a subprocess)."""

import copy
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from fastpath.model.failure import fail
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def pair_file(tmp_path_factory):
    """The seed with a second edge: the node T1 and the T0 as active/standby pairs, payments' SR on edge-1 alone."""
    s = copy.deepcopy(SEED_SPEC)
    s["edges"].append({"name": "edge-2"})
    s["node_network"]["t1"] = {"edges": ["edge-1", "edge-2"]}
    s["t0"].pop("edge", None)
    s["t0"].update(edges=["edge-1", "edge-2"], ha_mode="active_standby")
    path = tmp_path_factory.mktemp("redundancy") / "pair.yaml"
    path.write_text(yaml.safe_dump(s))
    return path


def test_run_fail_answers_with_the_diff_of_the_failed_cluster(pair_file):
    out = json.loads(run("run", "--cluster", str(pair_file), "--fail", "edge-1", "--packets", "30000", "--profile",
                         "locality", "--json").stdout)
    f = fail(from_spec(yaml.safe_load(pair_file.read_text())), ["edge-1"])
    assert out["failed"] == ["edge-1"]
    assert out["moved"] == {k: list(v) for k, v in f.moved.items()} == {"t1-nodes-sr": ["edge-1", "edge-2"],
                                                                        "t0-sr": ["edge-1", "edge-2"]}
    assert out["lost"] == f.lost == ["t1-payments-sr"]
    assert sum(g["packets"] for g in out["by_change"]) == out["packets"] == 30_000
    ld = {(r["kind"], r["device"]): r for r in out["load_delta"]}
    assert ld[("edge", "edge-1")]["packets_after"] == 0 < ld[("edge", "edge-1")]["packets_before"]
    assert ld[("edge", "edge-2")]["packets_after"] > 0 == ld[("edge", "edge-2")]["packets_before"]
    # the failed edge's CPU work moved to the standby's
    assert ld[("cpu", "edge-1")]["packets_after"] == 0 < ld[("cpu", "edge-1")]["packets_before"]
    assert ld[("cpu", "edge-2")]["packets_after"] > 0 == ld[("cpu", "edge-2")]["packets_before"]
    assert ld[("cpu", "edge-2")]["util_after"] > 0
    assert out["bottleneck"]["before"]["device"] != "edge-1" != out["bottleneck"]["after"]["device"]


def test_run_fail_text_says_what_failed_and_the_bottlenecks(pair_file):
    text = run("run", "--cluster", str(pair_file), "--fail", "uplink-1", "--fail", "esx-3", "--packets", "20000",
               "--profile", "locality").stdout
    assert text.startswith("Failing uplink-1, esx-3 (")
    assert "sender removed" in text and "no-route" in text
    assert "bottleneck before:" in text and "bottleneck after:" in text


@pytest.mark.parametrize("args, line", [
    (["run", "--fail", "edge-9", "--packets", "10"],
     "fastpath: error: --fail: no device 'edge-9' (edges: edge-1; hosts: esx-1, esx-2, esx-3; uplinks: uplink-1)"),
    (["run", "--fail", "edge-1", "--workers", "2", "--packets", "10"],
     "fastpath: error: --fail runs locally (the same traffic through the cluster and the failed one), not with "
     "--scheduler or --workers"),
    (["study", "pods-per-node", "--values", "10", "--out", "OUT", "--fail", "edge-3"],
     "fastpath: error: --fail: no device 'edge-3' (edges: edge-1; hosts: esx-1, esx-2, esx-3, esx-4, esx-5, esx-6, "
     "esx-7, esx-8 and 2 more; uplinks: uplink-1)"),
])
def test_bad_fail_is_one_line(args, line, tmp_path):
    p = run(*[str(tmp_path / "o") if a == "OUT" else a for a in args], check=False)
    assert p.returncode != 0 and p.stderr.strip() == line


def test_a_bad_edges_spec_is_one_line(tmp_path):
    s = copy.deepcopy(SEED_SPEC)
    s["node_network"]["t1"] = {"edge": "edge-1", "edges": ["edge-1"]}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(s))
    p = run("check", str(tmp_path / "bad.yaml"), check=False)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
    assert "node_network.t1.edges: give edge (one edge node) or edges ([active, standby]), not both" in p.stderr


def test_study_fail_runs_each_point_failed(tmp_path):
    base = "edges=2,service_t1_count=2,namespaces=4,hosts=4"
    out = tmp_path / "st"
    text = run("study", "pods-per-node", "--values", "10,20", "--packets", "20000", "--base", base, "--fail", "edge-1",
               "--per-pod-pps", "1000", "--out", str(out), "--quiet").stdout
    assert "## Failure: edge-1" in text and "with edge-1 failed" in text
    df = pd.read_csv(out / "pods-per-node.csv")
    # with two edges every SR has a standby on the other: nothing is lost, all moves to edge-2
    assert (df["fail_lost_share"] == 0).all() and (df["fail_changed_share"] > 0).all()
    assert df["fail_moved"].str.contains("t0-sr->edge-2").all() and df["fail_lost"].isna().all()
    assert not df["bottleneck"].str.startswith("edge-1").any()  # the failed edge carries nothing
    plain = run("study", "pods-per-node", "--values", "10,20", "--packets", "20000", "--base", base,
                "--per-pod-pps", "1000", "--out", str(tmp_path / "plain"), "--quiet")
    assert "## Failure" not in plain.stdout
    dp = pd.read_csv(tmp_path / "plain" / "pods-per-node.csv")
    assert not any(c.startswith("fail_") for c in dp.columns)
    # the survivor carries both edges' SRs: its CPU is busier than the busier edge's was; the
    # hosts' work is the same, so nothing saturates sooner than the hosts did
    assert (df["util_edge_cpu"] > dp["util_edge_cpu"]).all()
    assert (df["max_per_pod_pps"] <= dp["max_per_pod_pps"] * (1 + 1e-9)).all()


def test_show_routes_lists_an_ecmp_route_as_a_row_per_path(tmp_path):
    s = copy.deepcopy(SEED_SPEC)
    s["edges"].append({"name": "edge-2"})
    s["t0"].pop("edge", None)
    s["t0"]["edges"] = ["edge-1", "edge-2"]
    s["t0"]["uplinks"].append({"name": "uplink-2", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1", "edge": "edge-2"})
    s["t0"]["routes"].append({"prefix": "0.0.0.0/0", "next_hop": "198.51.100.1"})
    (tmp_path / "aa.yaml").write_text(yaml.safe_dump(s))
    out = json.loads(run("show", "routes", "t0", "--cluster", str(tmp_path / "aa.yaml"), "--json").stdout)
    default = [r for r in out["rows"] if r["prefix"] == "0.0.0.0/0"]
    assert [(r["gateway_ip"], r["next_router"]) for r in default] == [("169.254.0.2", "t0-sr@edge-1"),
                                                                      ("169.254.0.3", "t0-sr@edge-2")]
    sr2 = json.loads(run("show", "routes", "t0-sr@edge-2", "--cluster", str(tmp_path / "aa.yaml"), "--json").stdout)
    assert sr2["edge"] == "edge-2"
    assert [r["port"] for r in sr2["rows"] if r["prefix"] == "0.0.0.0/0"] == ["uplink-2"]
