"""The command line, run as a user runs it: a real subprocess, stdout, stderr and exit code."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fastpath.model import load


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_trace_json_answers_the_seed_question():
    out = json.loads(run("trace", "kube-system/kube-dns", "worker-2", "--json").stdout)
    assert out["verdict"] == "delivered" and out["reason"] == "" and out["device"] == "worker-2"
    assert out["traceroute"] == ["172.16.1.1", "100.64.0.2", "100.64.0.1", "172.15.0.4"]
    assert out["ttl_out"] == 61 and out["ttl_in"] == 64
    assert all({"device", "kind", "ttl"} <= set(h) for h in out["hops"])
    assert [h["kind"] for h in out["hops"]][:3] == ["pod", "ovs", "vif"]


def test_trace_with_ttl_1_ends_at_the_first_gateway():
    out = json.loads(run("trace", "kube-system/kube-dns", "worker-2", "--ttl", "1", "--json").stdout)
    assert (out["verdict"], out["reason"], out["device"]) == ("dropped", "ttl-expired", "t1-kube-system")
    assert out["traceroute"] == ["172.16.1.1"]


def test_trace_text_prints_traceroute_then_walk():
    text = run("trace", "kube-system/kube-dns", "worker-2").stdout
    lines = text.splitlines()
    assert lines[0].startswith("traceroute kube-system/kube-dns -> worker-2")
    for n, ip in enumerate(["172.16.1.1", "100.64.0.2", "100.64.0.1", "172.15.0.4"], 1):
        assert any(line.split()[:2] == [str(n), ip] for line in lines)
    assert "walk" in text and "geneve" in text


def test_trace_options_reach_the_packet():
    out = json.loads(run("trace", "default/nginx-1", "db/postgres-0", "--proto", "tcp", "--dport", "5432",
                         "--size", "200", "--json").stdout)
    assert out["reason"] == "dfw-deny"
    out = json.loads(run("trace", "kube-system/kube-dns", "worker-2", "--size", "1551", "--json").stdout)
    assert out["reason"] == "mtu-exceeded"
    out = json.loads(run("trace", "kube-system/kube-dns", "worker-2", "--src-ip", "172.16.1.9", "--json").stdout)
    assert out["reason"] == "spoofguard"


def test_demo_prints_the_cluster_and_the_seed_traceroute(tmp_path):
    text = run("demo", "--out", str(tmp_path)).stdout
    assert "kube-system/kube-dns" in text and "worker-1" in text and "9 pods" in text
    assert "traceroute kube-system/kube-dns -> worker-2" in text
    assert "delivered" in text and "100.64.0.1" in text
    # the load report, the study's summary (summary.md as written, into a pipe: not re-wrapped)
    assert "bottleneck:" in text and "crossed at **111** (first point past it: 250)" in text
    assert (tmp_path / "pods-per-node-limits.png").exists()


@pytest.mark.parametrize("args,phrase", [
    (("trace", "nope/nope", "worker-2"), "no pod 'nope/nope'"),
    (("trace", "kube-system/kube-dns", "not-a-thing"), "neither an IPv4 address"),
    (("trace", "kube-system/kube-dns", "worker-2", "--proto", "xyz"), "--proto"),
    (("trace", "kube-system/kube-dns", "worker-2", "--src-mac", "zz"), "not a MAC address"),
    (("trace", "a/b", "c", "--cluster", "/nonexistent/spec.yaml"), "cannot read spec"),
])
def test_user_errors_are_one_line_and_exit_2(args, phrase):
    proc = run(*args, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert phrase in proc.stderr


def test_bad_spec_file_prints_the_field_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  - name: esx-1\nnodes:\n  - {name: n1, host: esx-1}\nnamespaces: [{name: a}]\n"
                   "pods:\n  - {name: p, namespace: a, node: n1, vlan: 5000}\n")
    proc = run("check", str(bad), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "fastpath: error: pods[0].vlan: VLAN tag 5000 of a/p is outside 1..4093"
    bad.write_text("hosts: [\n")
    proc = run("check", str(bad), check=False)
    assert proc.returncode == 2 and "malformed YAML" in proc.stderr and f"{bad}:" in proc.stderr


def test_trace_answers_any_pair_of_a_generated_10000_pod_cluster(tmp_path):
    spec = tmp_path / "big.json"
    summary = json.loads(run("generate", "--hosts", "10", "--nodes-per-host", "4", "--pods-per-node", "250",
                             "--namespaces", "20", "--service-t1-fraction", "0.3", "--out", str(spec)).stdout)
    assert summary["pods"] == 10_000
    c = load(spec)
    rng = np.random.default_rng(11)
    names = list(c.pod_index) + [n.name for n in c.nodes]
    for _ in range(4):
        a, b = (names[i] for i in rng.integers(0, len(names), 2))
        out = json.loads(run("trace", a, b, "--cluster", str(spec), "--json").stdout)
        assert out["verdict"] == "delivered", (a, b, out["reason"])
        want = c.pod(b).ip if "/" in b else c.node(b).ip
        assert out["traceroute"][-1] == ".".join(str(want >> s & 255) for s in (24, 16, 8, 0))


def test_run_json_counts_every_packet():
    out = json.loads(run("run", "--packets", "300000", "--json", "--seed", "4").stdout)
    assert out["packets"] == 300_000 and sum(out["verdicts"].values()) == 300_000
    assert out["pps"] > 0 and out["verdicts"]["delivered"] > 0
    assert sum(out["reasons"].values()) == out["verdicts"]["dropped"]
    assert set(out["reasons"]) <= {"dfw-deny"}  # uniform pod->pod on the seed: only the DFW drops


def _run_on_a_terminal(*args) -> tuple[str, str]:
    """stdout (a pipe) and stderr (a pseudo-terminal, as in an interactive shell) of a run."""
    import os
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "fastpath", *args], stdout=subprocess.PIPE, stderr=follower,
                            env=env, text=True)
    os.close(follower)
    err = b""
    while True:
        try:
            data = os.read(leader, 1 << 16)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        err += data
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 0, err
    os.close(leader)
    return out, err.decode(errors="replace")


def test_run_shows_progress_on_a_terminal_only():
    out, err = _run_on_a_terminal("run", "--packets", "2500000", "--json")
    assert "2,500,000/2,500,000 packets" in err and "Mpkt/s" in err  # the bar, finished, on stderr
    assert json.loads(out)["packets"] == 2_500_000  # stdout stays one JSON object
    out, err = _run_on_a_terminal("run", "--packets", "2500000", "--json", "--quiet")
    assert "packets" not in err and json.loads(out)["packets"] == 2_500_000
    piped = run("run", "--packets", "2500000")
    assert "Mpkt/s" not in piped.stderr and "2,500,000 packets" in piped.stdout


def test_run_on_a_generated_cluster_and_bad_generate_spec():
    out = json.loads(run("run", "--generate", "4x2x10x3", "--packets", "50000", "--json", "--threads", "2").stdout)
    assert out["verdicts"]["delivered"] == 50_000 and out["threads"] == 2
    proc = run("run", "--generate", "4x2", check=False)
    assert proc.returncode == 2 and "HOSTSxNODESxPODS" in proc.stderr and "Traceback" not in proc.stderr


def test_study_writes_its_files_and_summary(tmp_path):
    proc = run("study", "pods-per-node", "--values", "10,111", "--packets", "10000", "--out", str(tmp_path),
               "--base", "hosts=2,nodes_per_host=1,namespaces=2")
    assert "crossed at **111**" in proc.stdout and proc.stderr == ""  # no progress display when not a terminal
    assert (tmp_path / "pods-per-node.parquet").exists() and (tmp_path / "pods-per-node-limits.png").exists()
    bad = run("study", "rules", "--out", str(tmp_path), "--base", "hosts=x", check=False)
    assert bad.returncode == 2 and "--base" in bad.stderr and "Traceback" not in bad.stderr


def test_run_with_report_names_the_bottleneck():
    out = json.loads(run("run", "--packets", "200000", "--report", "--offered-mpps", "2", "--json").stdout)
    rep = out["report"]
    assert rep["packets"] == 200_000 and rep["bottleneck"]["device"]
    text = run("run", "--packets", "100000", "--report").stdout
    assert "bottleneck:" in text and "TEP pairs" in text


def test_run_with_a_profile_and_unknown_profiles():
    out = json.loads(run("run", "--profile", "north_south", "--packets", "20000", "--json").stdout)
    assert out["profile"] == "north_south" and out["verdicts"]["exited"] == 20_000
    bad = run("run", "--profile", "nope", check=False)
    assert bad.returncode == 2 and "no traffic profile 'nope'" in bad.stderr
    bad = run("run", "--generate", "2x1x4", "--profile", "hot_dns", check=False)
    assert bad.returncode == 2 and "k8s-app=kube-dns" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("gen", [None, "3x2x5x3"])
def test_run_engines_and_the_flow_cache_give_the_same_counts(gen):
    """`--engine` and `--no-flow-cache` change the simulator's speed only: every count is equal,
    and the report names what ran (the flow cache's hits are counted, the walk has none)."""
    base = ["run", "--packets", "200000", "--seed", "4", "--json"] + (["--generate", gen] if gen else [])
    outs = {name: json.loads(run(*base, *extra).stdout)
            for name, extra in (("default", []), ("walk", ["--no-flow-cache", "--engine", "staged"]),
                                ("fused", ["--engine", "fused"]))}
    assert outs["default"]["engine"] == "staged" and outs["default"]["flow_cache"]["on"]
    assert outs["default"]["flow_cache"]["hits"] > 0
    assert outs["walk"]["engine"] == "staged" and outs["walk"]["flow_cache"] == {"on": False, "hits": 0, "hit_share": 0.0}
    assert outs["fused"]["engine"] == "fused" and not outs["fused"]["flow_cache"]["on"]
    for key in ("verdicts", "reasons", "stages", "tunnels", "underlay_bytes"):
        assert outs["default"][key] == outs["walk"][key] == outs["fused"][key], key
