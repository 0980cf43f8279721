"""The hostile-input catalogue, CLI misuses: sizes beyond `fastpath.limits`, options out of
range, outputs that cannot be written, bad study values — each refused in one line naming
its option, before any work. Then the legal-but-unusual requests that must just work: more
threads than cores (run, replay, capture), a cluster at the limit's edge, seed 0 and the
largest seed."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from fastpath import limits
from fastpath.analysis.study import check_study
from fastpath.model import SpecError, generate

OUT = "{tmp}/out.yaml"
MORE_THAN_CORES = (os.cpu_count() or 1) + 2

# (id: what is wrong, args ({tmp}: a fresh directory, {file}: an existing file in it), expected piece)
CASES = [
    # generate: counts
    ("generate-hosts-negative", ["generate", "--hosts", "-1", "--out", OUT], "--hosts"),
    # generate: a YAML spec bigger than `load` reads back (specfile.MAX_YAML_NODES), by the pod
    # count alone and by the exact count of the spec's nodes
    ("generate-yaml-too-big-for-load", ["generate", "--hosts", "40", "--nodes-per-host", "4", "--pods-per-node", "500",
                                        "--out", OUT], "write it as JSON"),
    ("generate-yaml-nodes-just-past-the-cap", ["generate", "--hosts", "40", "--nodes-per-host", "4", "--pods-per-node",
                                              "480", "--out", OUT], "76,800 pods make more than 1,000,000 YAML nodes"),
    ("generate-hosts-zero", ["generate", "--hosts", "0", "--out", OUT], "--hosts"),
    ("generate-namespaces-zero", ["generate", "--namespaces", "0", "--out", OUT], "--namespaces"),
    ("generate-nodes-per-host-zero", ["generate", "--nodes-per-host", "0", "--out", OUT], "--nodes-per-host"),
    ("generate-pods-per-node-negative", ["generate", "--pods-per-node", "-3", "--out", OUT], "--pods-per-node"),
    ("generate-edges-negative", ["generate", "--edges", "-1", "--out", OUT], "--edges"),
    ("generate-hosts-not-an-integer", ["generate", "--hosts", "3.5", "--out", OUT], "--hosts"),
    ("generate-hosts-thousand-digits", ["generate", "--hosts", "9" * 1000, "--out", OUT], "--hosts"),
    # generate: sizes beyond fastpath.limits (refused before any allocation)
    ("generate-billion-dfw-rules", ["generate", "--dfw-rules", "1000000000", "--out", OUT], "--dfw-rules"),
    ("generate-100k-hosts-x100-nodes-x1000-pods",
     ["generate", "--hosts", "100000", "--nodes-per-host", "100", "--pods-per-node", "1000", "--out", OUT], "--hosts"),
    ("generate-edges-beyond-tep-mesh", ["generate", "--hosts", "10", "--edges", "5000", "--out", OUT], "--edges"),
    ("generate-nodes-beyond-limit", ["generate", "--hosts", "2000", "--nodes-per-host", "100", "--out", OUT],
     "--nodes-per-host"),
    ("generate-pods-beyond-limit",
     ["generate", "--hosts", "2000", "--nodes-per-host", "32", "--pods-per-node", "100", "--out", OUT],
     "--pods-per-node"),
    ("generate-pods-per-node-beyond-vlan-tags", ["generate", "--hosts", "1", "--nodes-per-host", "1",
                                                 "--pods-per-node", "5000", "--out", OUT], "--pods-per-node"),
    ("generate-namespaces-beyond-link-cidr", ["generate", "--namespaces", "1000000", "--out", OUT], "--namespaces"),
    # generate: other options
    ("generate-mtu-below-ipv4-plus-geneve", ["generate", "--mtu", "100", "--out", OUT], "--mtu"),
    ("generate-mtu-above-65535", ["generate", "--mtu", "70000", "--out", OUT], "--mtu"),
    ("generate-service-t1-fraction-nan", ["generate", "--service-t1-fraction", "nan", "--out", OUT],
     "--service-t1-fraction"),
    ("generate-service-t1-fraction-above-one", ["generate", "--service-t1-fraction", "1.5", "--out", OUT],
     "--service-t1-fraction"),
    ("generate-service-t1-fraction-negative", ["generate", "--service-t1-fraction", "-0.1", "--out", OUT],
     "--service-t1-fraction"),
    ("generate-seed-negative", ["generate", "--seed", "-1", "--out", OUT], "--seed"),
    ("generate-seed-beyond-64-bits", ["generate", "--seed", str(2**64), "--out", OUT], "--seed"),
    ("generate-out-is-a-directory", ["generate", "--out", "{tmp}"], "--out"),
    ("generate-out-parent-missing", ["generate", "--out", "{tmp}/no/such/dir/x.yaml"], "--out"),
    ("generate-out-parent-is-a-file", ["generate", "--out", "{file}/x.yaml"], "--out"),
    ("generate-out-under-proc", ["generate", "--out", "/proc/self/fastpath.yaml"], "--out"),
    ("generate-out-through-a-symlink-into-proc", ["generate", "--out", "{tmp}/proc-link/x.yaml"], "--out"),
    ("generate-out-under-sys", ["generate", "--out", "/sys/fastpath.yaml"], "--out"),
    # run
    ("reach-unknown-namespace", ["reach", "--from", "nope"], "--from"),
    ("reach-unknown-pod", ["reach", "--to", "web/nope"], "--to"),
    ("reach-port-beyond-65535", ["reach", "--port", "70000"], "--port"),
    ("reach-proto-icmp", ["reach", "--proto", "icmp"], "--proto"),
    ("trace-reply-to-an-address-nobody-answers", ["trace", "web/frontend-1", "8.8.8.8", "--reply", "--cluster",
                                                  "{spec_without_uplinks}"], "--reply"),
    ("run-generate-100k-hosts", ["run", "--generate", "100000x100x1000"], "--generate"),
    ("run-generate-zero-hosts", ["run", "--generate", "0x4x10"], "--generate"),
    ("run-generate-two-numbers", ["run", "--generate", "10x4"], "--generate"),
    ("run-generate-pods-beyond-limit", ["run", "--generate", "2000x32x100x10"], "--generate"),
    ("run-generate-zero-namespaces", ["run", "--generate", "10x4x10x0"], "--generate"),
    ("run-packets-10e15", ["run", "--packets", str(10**15)], "--packets"),
    ("run-seed-negative", ["run", "--seed", "-1", "--packets", "10"], "--seed"),
    ("run-offered-mpps-nan", ["run", "--report", "--offered-mpps", "nan", "--packets", "10"], "--offered-mpps"),
    ("run-offered-mpps-inf", ["run", "--report", "--offered-mpps", "inf", "--packets", "10"], "--offered-mpps"),
    ("run-offered-mpps-overflows-to-inf", ["run", "--report", "--offered-mpps", "1e305", "--packets", "10"],
     "--offered-mpps"),
    ("run-threads-zero", ["run", "--threads", "0"], "--threads"),
    ("run-engine-unknown", ["run", "--engine", "vpp", "--packets", "10"], "--engine"),
    ("run-engine-with-workers", ["run", "--workers", "2", "--engine", "fused", "--packets", "10"], "--engine"),
    ("run-no-flow-cache-on-a-scheduler", ["run", "--scheduler", "tcp://127.0.0.1:1", "--no-flow-cache",
                                          "--packets", "10"], "--no-flow-cache"),
    ("run-threads-beyond-limit", ["run", "--threads", str(limits.MAX_THREADS + 1)], "--threads"),
    ("run-length-below-ipv4-header", ["run", "--length", "27"], "--length"),
    ("run-workers-100000-processes", ["run", "--workers", "100000"], "--workers"),
    # study
    ("study-pods-per-node-hundred-million", ["study", "pods-per-node", "--values", "100000000", "--out", "{tmp}/s"],
     "--values"),
    ("study-nodes-zero", ["study", "nodes", "--values", "0,4", "--out", "{tmp}/s"], "--values"),
    ("study-namespaces-negative", ["study", "namespaces", "--values", "-5", "--out", "{tmp}/s"], "--values"),
    ("study-values-duplicated", ["study", "rules", "--values", "10,100,10", "--out", "{tmp}/s"], "--values"),
    ("study-values-not-integers", ["study", "rules", "--values", "1e3", "--out", "{tmp}/s"], "--values"),
    ("study-values-empty", ["study", "rules", "--values", "", "--out", "{tmp}/s"], "--values"),
    ("study-values-too-many-points", ["study", "rules", "--values", ",".join(map(str, range(500))),
                                      "--out", "{tmp}/s"], "--values"),
    ("study-values-rules-beyond-limit", ["study", "rules", "--values", "10,1000000000", "--out", "{tmp}/s"],
     "--values"),
    ("study-base-ten-million-hosts", ["study", "rules", "--base", "hosts=10000000", "--out", "{tmp}/s"], "--base"),
    ("study-base-zero-hosts", ["study", "rules", "--base", "hosts=0", "--out", "{tmp}/s"], "--base"),
    ("study-base-key-twice", ["study", "rules", "--base", "hosts=2,hosts=3", "--out", "{tmp}/s"], "--base"),
    ("study-base-sets-the-swept-parameter", ["study", "nodes", "--base", "hosts=5", "--out", "{tmp}/s"], "--base"),
    ("study-base-unknown-name", ["study", "rules", "--base", "pods=3", "--out", "{tmp}/s"], "--base"),
    ("study-base-thousand-digits", ["study", "rules", "--base", "hosts=" + "9" * 1000, "--out", "{tmp}/s"], "--base"),
    ("study-profile-a-generated-cluster-cannot-send", ["study", "rules", "--values", "0", "--profile", "hot_dns",
                                                       "--packets", "100", "--quiet", "--out", "{tmp}/s"],
     "--profile hot_dns"),
    ("study-out-under-proc", ["study", "rules", "--out", "/proc/fastpath-study"], "--out"),
    ("study-out-is-a-file", ["study", "rules", "--out", "{file}"], "--out"),
    ("study-packets-10e15", ["study", "rules", "--packets", str(10**15), "--out", "{tmp}/s"], "--packets"),
    ("study-seed-negative", ["study", "rules", "--seed", "-1", "--out", "{tmp}/s"], "--seed"),
    # capture, replay, trace, demo
    ("capture-pps-nan", ["capture", "--at", "pod", "--pps", "nan", "--out", "{tmp}/c.pcap"], "--pps"),
    ("capture-pps-inf", ["capture", "--at", "pod", "--pps", "inf", "--out", "{tmp}/c.pcap"], "--pps"),
    ("capture-pps-stamps-past-2106", ["capture", "--at", "pod", "--pps", "1e-9", "--out", "{tmp}/c.pcap"], "--pps"),
    ("capture-out-is-a-directory", ["capture", "--at", "pod", "--out", "{tmp}"], "--out"),
    ("capture-out-parent-missing", ["capture", "--at", "pod", "--out", "{tmp}/none/c.pcap"], "--out"),
    ("capture-threads-zero", ["capture", "--at", "pod", "--threads", "0", "--out", "{tmp}/c.pcap"], "--threads"),
    ("capture-seed-negative", ["capture", "--at", "pod", "--seed", "-7", "--out", "{tmp}/c.pcap"], "--seed"),
    ("replay-offered-mpps-nan", ["replay", "{file}", "--offered-mpps", "nan"], "--offered-mpps"),
    ("replay-threads-zero", ["replay", "{file}", "--threads", "0"], "--threads"),
    ("trace-pcap-under-proc", ["trace", "kube-system/kube-dns", "worker-2", "--pcap", "/proc/self/x.pcap"], "--pcap"),
    ("trace-pcap-is-a-directory", ["trace", "kube-system/kube-dns", "worker-2", "--pcap", "{tmp}"], "--pcap"),
    # trace: the packet's own fields
    ("trace-src-mac-five-pairs", ["trace", "kube-system/kube-dns", "worker-2", "--src-mac", "01:02:03:04:05"],
     "--src-mac"),
    ("trace-src-ip-three-octets", ["trace", "kube-system/kube-dns", "worker-2", "--src-ip", "10.0.0"], "--src-ip"),
    ("trace-proto-unknown", ["trace", "kube-system/kube-dns", "worker-2", "--proto", "gre"], "--proto"),
    ("trace-ttl-above-255", ["trace", "kube-system/kube-dns", "worker-2", "--ttl", "256"], "--ttl"),
    ("trace-unknown-source-pod", ["trace", "kube-system/nope", "worker-2"], "source"),
    ("trace-destination-not-an-address", ["trace", "kube-system/kube-dns", "999.1.1.1"], "destination"),
    ("demo-out-is-a-file", ["demo", "--out", "{file}"], "--out"),
    ("demo-out-under-sys", ["demo", "--out", "/sys/fastpath-demo"], "--out"),
]


@pytest.mark.parametrize("args, expect", [pytest.param(a, e, id=i) for i, a, e in CASES])
def test_cli_misuse_is_refused_in_one_line(reject, tmp_path, args, expect):
    (tmp_path / "a-file").write_text("not a directory\n")
    (tmp_path / "proc-link").symlink_to("/proc/self")
    (tmp_path / "no-uplinks.json").write_text(
        '{"hosts": [{"name": "esx-1"}], "nodes": [{"name": "worker-1", "host": "esx-1"}], "namespaces": [{"name": "web"}], '
        '"pods": [{"name": "frontend-1", "namespace": "web", "node": "worker-1"}]}')
    fill = {"tmp": str(tmp_path), "file": str(tmp_path / "a-file"), "spec_without_uplinks": str(tmp_path / "no-uplinks.json")}
    reject(*[a.format(**fill) for a in args], expect=expect)
    assert not (tmp_path / "out.yaml").exists() and not (tmp_path / "s").exists()  # refused before any work
    assert not (tmp_path / "c.pcap").exists()


def test_catalogue_ids_are_distinct():
    assert len({i for i, _, _ in CASES}) == len(CASES) >= 30


def test_spec_profile_with_too_many_flows_names_the_profile(reject, tmp_path):
    import yaml

    from fastpath.model import default_scenario
    from fastpath.model.spec import to_spec

    spec = to_spec(default_scenario())
    spec["traffic"] = {"profiles": [{"name": "huge", "kind": "uniform", "flows": 10**12, "flow_zipf": 1.0}]}
    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump(spec))
    reject("run", "--cluster", path, "--profile", "huge", "--packets", "10", expect=("--profile huge", "flows"))


# ---- the library says the same, with the argument's name -------------------------------------
@pytest.mark.parametrize("kw, path", [
    (dict(hosts=100_000, nodes_per_host=100, pods_per_node=1000), "hosts"),
    (dict(hosts=0), "hosts"),
    (dict(namespaces=0), "namespaces"),
    (dict(hosts=2000, nodes_per_host=32, pods_per_node=100), "pods_per_node"),
    (dict(dfw_rules=10**9), "dfw_rules"),
    (dict(service_t1_fraction=float("nan")), "service_t1_fraction"),
    (dict(seed=-1), "seed"),
    (dict(mtu=()), "mtu"),
])
def test_generate_refuses_sizes_with_the_argument_name(kw, path):
    with pytest.raises(SpecError) as err:
        generate(**kw)
    assert err.value.path == path


def test_the_limits_edges():
    # the reference 1M-pod cluster is legal; one pod a node more than MAX_PODS is not
    assert limits.cluster_size_problem(1000, 4, 200, 250) is None
    assert limits.cluster_size_problem(1024, 4, 200, limits.MAX_PODS // 4096) is None
    assert limits.cluster_size_problem(1024, 4, 200, limits.MAX_PODS // 4096 + 1)[0] == "pods_per_node"
    assert limits.cluster_size_problem(limits.MAX_HOSTS - 1, 1, 1, 0, edges=1) is None
    assert limits.cluster_size_problem(limits.MAX_HOSTS, 1, 1, 0, edges=1)[0] == "hosts"
    assert limits.cluster_size_problem(1, 1, 1, 0, dfw_rules=limits.MAX_DFW_RULES) is None
    assert limits.cluster_size_problem(1, 1, 1, 0, dfw_rules=limits.MAX_DFW_RULES + 1)[0] == "dfw_rules"


def test_generate_at_the_host_and_node_edges_builds():
    c = generate(limits.MAX_HOSTS - 1, limits.MAX_NODES // (limits.MAX_HOSTS - 1), 1, 0, edges=1)
    assert len(c.hosts) == limits.MAX_HOSTS and len(c.nodes) == (limits.MAX_NODES // (limits.MAX_HOSTS - 1)) * 2047


@pytest.mark.parametrize("sweep, values, base, path", [
    ("pods-per-node", [100_000_000], None, "values"),
    ("nodes", [0], None, "values"),
    ("rules", [10, 10], None, "values"),
    ("rules", [], None, "values"),
    ("rules", None, {"hosts": 10_000_000}, "base"),
    ("nodes", None, {"hosts": 4}, "base"),
    ("rules", None, {"pods": 4}, "base"),
])
def test_check_study_blames_values_or_base(sweep, values, base, path):
    with pytest.raises(SpecError) as err:
        check_study(sweep, values, base)
    assert err.value.path == path


def test_a_point_the_model_refuses_stays_a_row():
    """More pods on a node than VLAN tags is the study's finding, not a size refusal."""
    assert check_study("pods-per-node", [10, 5000], {"hosts": 1, "nodes_per_host": 1}) == [10, 5000]


# ---- legal but unusual: these must just work -------------------------------------------------
def _json(res):
    assert res.returncode == 0, res
    return json.loads(res.stdout)


def _same_run(a: dict, b: dict) -> None:
    for k in ("packets", "verdicts", "reasons", "stages", "tunnels", "underlay_bytes"):
        assert a[k] == b[k], k


def test_run_with_more_threads_than_cores_equals_one_thread(fastpath_cli):
    args = ["run", "--generate", "4x2x10x3", "--packets", "30000", "--json", "--quiet"]
    one = _json(fastpath_cli(*args, "--threads", "1"))
    for n in (MORE_THAN_CORES, 8):
        many = _json(fastpath_cli(*args, "--threads", str(n)))
        assert many["threads"] == n
        _same_run(one, many)
    assert one["verdicts"]["delivered"] > 0


def test_capture_and_replay_with_more_threads_than_cores(fastpath_cli, tmp_path):
    pcaps = {}
    for n in (1, MORE_THAN_CORES):
        pcaps[n] = tmp_path / f"t{n}.pcap"
        cap = _json(fastpath_cli("capture", "--at", "underlay", "--packets", "5000", "--threads", n, "--json",
                                 "--quiet", "--out", pcaps[n]))
        assert cap["frames"] > 0
    assert pcaps[1].read_bytes() == pcaps[MORE_THAN_CORES].read_bytes()
    one = _json(fastpath_cli("replay", pcaps[1], "--threads", "1", "--json", "--quiet"))
    for n in (MORE_THAN_CORES, 4):
        many = _json(fastpath_cli("replay", pcaps[1], "--threads", n, "--json", "--quiet"))
        for k in ("frames", "geneve", "malformed", "verdicts", "reasons"):
            assert many[k] == one[k], k
    assert one["frames"] > 0


def test_library_forward_with_more_threads_than_cores():
    from fastpath.dataplane import Dataplane
    from fastpath.traffic import uniform_pod_to_pod

    c = generate(4, 2, 3, 10)
    dp = Dataplane(c)
    batch = next(uniform_pod_to_pod(c, 20_000, seed=3))
    one = dp.forward(batch, threads=1)
    many = dp.forward(batch, threads=MORE_THAN_CORES, counters=dp.new_counters(MORE_THAN_CORES))
    for a, b in zip(one.results, many.results):
        assert np.array_equal(a, b)
    for a, b in zip(one.counters, many.counters):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="threads"):
        dp.forward(batch, threads=0)


@pytest.mark.parametrize("seed", ["0", str(limits.MAX_SEED)])
def test_seed_zero_and_the_largest_seed(fastpath_cli, tmp_path, seed):
    out = tmp_path / "g.json"
    res = fastpath_cli("generate", "--seed", seed, "--out", out)
    assert res.returncode == 0, res and out.exists()
    rep = _json(fastpath_cli("run", "--cluster", out, "--seed", seed, "--packets", "2000", "--json", "--quiet"))
    assert sum(rep["verdicts"].values()) == 2000


def test_generate_at_the_host_limit_from_the_cli(fastpath_cli, tmp_path):
    out = tmp_path / "edge.json"
    res = fastpath_cli("generate", "--hosts", limits.MAX_HOSTS - 1, "--edges", 1, "--nodes-per-host", 1,
                       "--pods-per-node", 1, "--namespaces", 1, "--out", out)
    summary = _json(res)
    assert summary["hosts"] + summary["edges"] == limits.MAX_HOSTS


def test_study_with_values_at_the_edges(fastpath_cli, tmp_path):
    res = fastpath_cli("study", "pods-per-node", "--values", "0,4093,4094", "--packets", "0", "--quiet",
                       "--base", "hosts=1,nodes_per_host=1,namespaces=1", "--out", tmp_path / "s")
    assert res.returncode == 0, res
    assert "4094 was refused by the model" in res.stdout
