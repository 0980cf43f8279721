"""Configuration maxima (issue 13): one table of sourced figures, measured on a cluster (``fastpath
check`` warns) and on a study's shape (the exact crossing), overridable from the spec."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fastpath.model import default_scenario, from_spec, generate, to_spec
from fastpath.model.cluster import SpecError
from fastpath.model.maxima import BY_KEY, MAXIMA, check, crossing


def test_every_figure_has_a_source_or_says_it_is_a_placeholder():
    assert len(BY_KEY) == len(MAXIMA)
    for m in MAXIMA:
        assert m.value > 0 and m.unit and m.product and m.versions
        assert m.placeholder or "http" in m.source or "spec" in m.source, m.key
    assert [m.key for m in MAXIMA if m.placeholder] == ["fastpath.tunnel_mesh"]


def test_the_seed_crosses_nothing():
    assert check(default_scenario()) == []


def test_a_cluster_past_the_figures_is_measured_where_it_crosses_them():
    c = generate(4, 2, 2, 300, dfw_rules=500, seed=1)
    got = {x.key: x for x in check(c)}
    per_node = np.bincount(c.pods.node, minlength=len(c.nodes))
    assert got["k8s.pods_per_node"].amount == per_node.max() == 300
    per_ns = np.bincount(c.pods.namespace, minlength=len(c.namespaces))
    assert got["ncp.namespace_subnet"].amount == per_ns.max()
    assert "NCP adds a subnet" in got["ncp.namespace_subnet"].line
    host = {n.name: n.host for n in c.nodes}
    per_host = {}
    for k, n in enumerate(c.nodes):
        per_host[host[n.name]] = per_host.get(host[n.name], 0) + per_node[k]
    assert got["nsx.dfw_rules_per_host"].amount == max(per_host.values()) * 500
    assert "nsx.dfw_rules_per_vnic" not in got and "k8s.pods" not in got  # 500 <= 4,000; 2,400 <= 150,000


def test_the_spec_overrides_a_figure_and_rejects_unknown_ones():
    c = generate(2, 1, 2, 200, seed=1)
    s = to_spec(c)
    assert "k8s.pods_per_node" in {x.key for x in check(from_spec(s))}
    s["maxima"] = {"k8s.pods_per_node": 250}
    c2 = from_spec(s)
    assert c2.maxima == {"k8s.pods_per_node": 250} and "k8s.pods_per_node" not in {x.key for x in check(c2)}
    assert to_spec(c2)["maxima"] == {"k8s.pods_per_node": 250}
    for bad, path in (({"nope": 1}, "maxima.nope"), ({"k8s.pods": -1}, "maxima.k8s.pods"),
                      ({"k8s.pods": True}, "maxima.k8s.pods")):
        s["maxima"] = bad
        with pytest.raises(SpecError) as e:
            from_spec(s)
        assert e.value.path == path


def test_check_warns_on_stderr_and_keeps_its_json(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(to_spec(generate(2, 1, 2, 200, seed=1))))
    proc = subprocess.run([sys.executable, "-m", "fastpath", "check", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["pods"] == 400
    warnings = proc.stderr.splitlines()
    assert warnings and all(w.startswith("warning: ") for w in warnings)
    assert any(w.startswith("warning: k8s.pods_per_node: pods on a node: 200 at node-") for w in warnings)


def test_crossing_is_the_first_value_over_the_figure():
    shape = {"hosts": 10, "nodes_per_host": 4, "namespaces": 20, "pods_per_node": 0, "dfw_rules": 0, "edges": 1}
    assert crossing("k8s.pods_per_node", shape, "pods_per_node") == 111
    assert crossing("ovs.mac_table", shape, "pods_per_node") == 4096  # 2 * 4096 + 1 > 8,192 >= 2 * 4095 + 1
    assert crossing("k8s.pods_per_node", shape, "pods_per_node", {"k8s.pods_per_node": 250}) == 251
    assert crossing("fastpath.tunnel_mesh", shape, "pods_per_node") is None  # does not grow with it
    assert crossing("fastpath.tunnel_mesh", {**shape, "hosts": 0}, "hosts") == 1000  # 1001 * 1000 > 10**6
    assert crossing("nsx.dfw_rules_per_vnic", shape, "dfw_rules") == 4001
    assert crossing("k8s.pods", {**shape, "pods_per_node": 5000}, "hosts") == 8  # 8 * 4 * 5000 > 150,000
