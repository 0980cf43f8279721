"""Hostile specs that parse but mean something fastpath must not accept: names that would
collide or mislead (Kubernetes rules, `fastpath.model.names`), MACs that are not six hex pairs,
booleans, floats and strings where integers go, T0 routes no router would install.

Each is a small file tests/hostile/specs/sem-*.yaml whose first line says a piece of the one
error line (`# expect: ...`); `fastpath check FILE` must refuse it as the catalogue's harness
asserts. The second half: specs that are unusual but legal still check and build.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path

import pytest
import yaml

from fastpath.model import from_spec
from fastpath.model.routing import lookup, rib
from fastpath.model.scenarios import SEED_SPEC

SPECS = sorted((Path(__file__).parent / "hostile" / "specs").glob("sem-*.yaml"))


def expectation(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: the first line must be '# expect: TEXT'"
    return first[len("# expect: "):]


def test_the_catalogue_is_there():
    assert len(SPECS) >= 25


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem[len("sem-"):] for p in SPECS])
def test_hostile_spec_is_refused_in_one_line(reject, spec):
    reject("check", spec, expect=(expectation(spec),))


# ---- legal but unusual -----------------------------------------------------------------------
def unusual() -> dict:
    """The seed with everything the rules still allow that looks odd."""
    s = copy.deepcopy(SEED_SPEC)
    s["hosts"][0]["name"] = "ESX-01.lab.example"  # hosts: mixed case and dots
    s["nodes"][1] = {"name": "worker-1.k8s.example.com", "host": "ESX-01.lab.example"}  # a dotted node name
    s["nodes"][0]["host"] = "ESX-01.lab.example"
    for p in s["pods"]:
        if p["node"] == "worker-1":
            p["node"] = "worker-1.k8s.example.com"
    s["pods"][1]["name"] = "heapster.v1-2"  # a dotted pod name
    s["pods"][2]["name"] = "0" * 253  # the longest pod name
    s["pods"][3]["labels"] = {"app.kubernetes.io/name": "grafana", "example.com/tier": "", "Version_2.x": "A-b_c.9"}
    s["namespaces"][2]["name"] = "w" * 63  # the longest namespace name
    s["pods"] = [dict(p, namespace="w" * 63) if p["namespace"] == "web" else p for p in s["pods"]]
    s["t0"]["uplinks"].append({"name": "uplink_2", "ip": "198.51.100.0/31", "next_hop": "198.51.100.1"})  # a /31
    s["t0"]["routes"] += [
        {"prefix": "10.0.0.0/8", "next_hop": "203.0.113.1"},  # overlapping but distinct prefixes
        {"prefix": "10.1.0.0/16", "next_hop": "198.51.100.1"},
        {"prefix": "10.1.2.0/24", "next_hop": "203.0.113.9"},
        {"prefix": "172.16.0.0/16", "next_hop": "203.0.113.1"},  # into the pod CIDR
        {"prefix": "203.0.112.0/23", "next_hop": "203.0.113.1"},  # holds its next hop, less specific than the /24
        {"prefix": "203.0.113.128/25", "next_hop": "203.0.113.5"},  # part of the uplink subnet, same uplink
        {"prefix": "8.8.8.8/32", "next_hop": "203.0.113.200"},  # resolves via the /25 above: same uplink
    ]
    s["dfw"]["rules"][0]["name"] = "Deny_default.to-DB"
    return s


def test_unusual_but_legal_spec_builds():
    c = from_spec(unusual())
    assert c.node("worker-1.k8s.example.com").host == "ESX-01.lab.example"
    assert c.pod("kube-system/heapster.v1-2").node == "worker-1.k8s.example.com"
    assert c.pod("kube-system/" + "0" * 253).namespace == "kube-system"
    assert c.pod("kube-system/monitoring-grafana").labels["app.kubernetes.io/name"] == "grafana"
    assert ipaddress.IPv4Address(c.pod(f"{'w' * 63}/frontend-1").ip) in c.segment_of_namespace("w" * 63).subnet
    t0 = rib(c)["t0-sr"]
    assert {u.name: u.prefixlen for u in c.uplinks} == {"uplink-1": 24, "uplink_2": 31}

    def out(ip: str) -> str:
        return lookup(t0, int(ipaddress.IPv4Address(ip))).uplink

    assert out("10.9.9.9") == "uplink-1" and out("10.1.9.9") == "uplink_2" and out("10.1.2.3") == "uplink-1"
    assert out("8.8.8.8") == "uplink-1"
    # the route into the pod CIDR is held; the namespace subnets are still more specific
    assert lookup(t0, int(c.pod("default/nginx-1").ip)).kind == "router"


def test_unusual_but_legal_spec_checks_from_a_file(fastpath_cli, tmp_path):
    path = tmp_path / "unusual.yaml"
    path.write_text(yaml.safe_dump(unusual()))
    res = fastpath_cli("check", path)
    assert res.returncode == 0, res
    assert res.stderr == "", res
