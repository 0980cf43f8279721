"""Spec files: round trips through YAML/JSON, explicit overrides vs allocation, the seed's
allocation facts, and a property test that no spec crashes the loader."""

from __future__ import annotations

import copy
import ipaddress
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastpath.model import Cluster, SpecError, default_scenario, dump, from_spec, generate, load, parse_text, to_spec
from fastpath.model.addressing import ip_from_str, ip_to_str, mac_from_str
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.validate import VNI_MAX


def seed() -> dict:
    return copy.deepcopy(SEED_SPEC)


def pod_row(spec: dict, key: str) -> dict:
    ns, name = key.split("/")
    return next(p for p in spec["pods"] if p["namespace"] == ns and p["name"] == name)


# ---- round trip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_default_scenario_round_trips_through_a_spec_file(tmp_path, suffix):
    c = default_scenario()
    path = tmp_path / f"seed{suffix}"
    dump(c, path)
    assert to_spec(load(path)) == to_spec(c)


def test_dumped_json_is_plain_json(tmp_path):
    path = tmp_path / "seed.json"
    dump(default_scenario(), path)
    assert json.loads(path.read_text()) == to_spec(default_scenario())


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_generated_cluster_round_trips_through_a_spec_file(tmp_path, suffix):
    c = generate(3, 2, 5, 12, edges=2, service_t1_fraction=0.5, dfw_rules=6, seed=11)
    path = tmp_path / f"gen{suffix}"
    dump(c, path)
    back = load(path)
    assert to_spec(back) == to_spec(c)
    for col in ("namespace", "node", "ip", "mac", "vlan"):
        assert np.array_equal(getattr(back.pods, col), getattr(c.pods, col)), col


def test_to_spec_of_a_rebuilt_cluster_is_a_fixed_point():
    spec = to_spec(default_scenario())
    assert to_spec(from_spec(spec)) == spec
    assert to_spec(from_spec(to_spec(from_spec(spec)))) == spec


def test_to_spec_writes_every_allocated_value():
    spec = to_spec(default_scenario())
    assert all(p.keys() >= {"ip", "mac", "vlan"} for p in spec["pods"])
    assert all(n.keys() >= {"ip", "mac", "max_pods"} for n in spec["nodes"])
    assert all(ns["subnet"] and ns["vni"] for ns in spec["namespaces"])
    assert all(h["tep"] for h in spec["hosts"] + spec["edges"])
    assert spec["node_network"]["vni"] == 65536


def test_labels_survive_the_round_trip(tmp_path):
    path = tmp_path / "seed.yaml"
    dump(default_scenario(), path)
    c = load(path)
    assert c.pod("kube-system/kube-dns").labels == {"k8s-app": "kube-dns"}
    assert c.pod("kube-system/heapster").labels == {}


def test_dfw_rules_survive_the_round_trip():
    s = seed()
    s["dfw"]["rules"] += [
        {"name": "dns", "action": "allow", "proto": "udp", "dport": 53},
        {"name": "web", "action": "allow", "proto": "tcp", "dst": "172.16.3.0/24", "dport": "8000-8080"},
        {"name": "gre", "action": "deny", "proto": 47},
    ]
    c = from_spec(s)
    spec = to_spec(c)
    assert spec["dfw"]["rules"][1:] == [
        {"name": "dns", "action": "allow", "src": "any", "dst": "any", "proto": "udp", "dport": 53},
        {"name": "web", "action": "allow", "src": "any", "dst": "172.16.3.0/24", "proto": "tcp", "dport": "8000-8080"},
        {"name": "gre", "action": "deny", "src": "any", "dst": "any", "proto": 47, "dport": None},
    ]
    assert to_spec(from_spec(spec)) == spec


# ---- explicit overrides and allocation around them --------------------------------------------
def test_explicit_pod_values_are_kept():
    s = seed()
    row = pod_row(s, "web/frontend-2")
    row.update(ip="172.16.3.77", mac="02:aa:00:00:00:01", vlan=100)
    c = from_spec(s)
    p = c.pod("web/frontend-2")
    assert (ip_to_str(p.ip), p.mac, p.vlan) == ("172.16.3.77", 0x02AA00000001, 100)
    written = pod_row(to_spec(c), "web/frontend-2")
    assert {k: written[k] for k in ("ip", "mac", "vlan")} == {"ip": "172.16.3.77", "mac": "02:aa:00:00:00:01", "vlan": 100}


def test_explicit_namespace_subnet_and_vni_are_kept():
    s = seed()
    s["namespaces"][2].update(subnet="172.16.200.0/23", vni=777)
    c = from_spec(s)
    seg = c.segment_of_namespace("web")
    assert (str(seg.subnet), seg.vni) == ("172.16.200.0/23", 777)
    assert ip_to_str(c.pod("web/frontend-1").ip) == "172.16.200.2"


def test_auto_vlan_skips_an_explicit_tag_on_the_same_node():
    s = seed()
    pod_row(s, "payments/checkout-1")["vlan"] = 1  # last pod on worker-1 takes tag 1
    c = from_spec(s)
    assert c.pod("payments/checkout-1").vlan == 1
    assert c.pod("kube-system/kube-dns").vlan == 2  # first auto pod on worker-1
    assert c.pod("kube-system/coredns-2").vlan == 1  # other nodes are unaffected
    on_w1 = c.pods.vlan[c.pods_on_node("worker-1")]
    assert sorted(on_w1.tolist()) == list(range(1, 10))


def test_auto_pod_ip_skips_an_explicit_ip_of_a_later_pod():
    s = seed()
    pod_row(s, "kube-system/heapster")["ip"] = "172.16.1.2"
    c = from_spec(s)
    assert ip_to_str(c.pod("kube-system/heapster").ip) == "172.16.1.2"
    assert ip_to_str(c.pod("kube-system/kube-dns").ip) == "172.16.1.3"
    assert len(np.unique(c.pods.ip)) == len(c.pods)


def test_auto_pod_mac_skips_an_explicit_mac_of_a_later_pod():
    s = seed()
    s["pods"][-1]["mac"] = "02:00:00:00:00:01"
    c = from_spec(s)
    assert c.pods.mac[0] == 0x020000000002
    assert len(np.unique(c.pods.mac)) == len(c.pods)


def test_auto_node_ip_and_mac_skip_explicit_ones():
    s = seed()
    s["nodes"][3].update(ip="172.15.0.2", mac="00:50:56:00:00:01")
    c = from_spec(s)
    assert [ip_to_str(n.ip) for n in c.nodes] == ["172.15.0.3", "172.15.0.4", "172.15.0.5", "172.15.0.2"]
    assert len({n.mac for n in c.nodes}) == 4
    assert c.nodes[3].mac == mac_from_str("00:50:56:00:00:01")


def test_auto_mac_never_hands_out_the_router_mac():
    s = seed()
    s["cluster"]["router_mac"] = "02:00:00:00:00:03"  # inside the pod MAC range
    c = from_spec(s)
    assert c.settings.router_mac not in c.pods.mac.tolist()
    s["cluster"]["router_mac"] = "00:50:56:00:00:01"  # inside the node MAC range
    c = from_spec(s)
    assert c.settings.router_mac not in [n.mac for n in c.nodes]


def test_auto_vnis_skip_explicit_ones():
    s = seed()
    s["namespaces"][0]["vni"] = 65536  # the base, which the node segment would have taken
    c = from_spec(s)
    vnis = [seg.vni for seg in c.segments]
    assert vnis[1] == 65536
    assert vnis[0] == 65537
    assert len(set(vnis)) == len(vnis)


def test_explicit_node_network_vni_is_kept():
    s = seed()
    s["node_network"]["vni"] = 4242
    assert from_spec(s).node_segment.vni == 4242


def test_auto_namespace_subnet_skips_explicit_node_and_link_subnets():
    s = seed()
    s["cluster"]["pod_cidr"] = "172.15.0.0/16"
    s["cluster"]["link_cidr"] = "172.15.1.0/24"
    s["node_network"]["subnet"] = "172.15.0.0/24"
    for ns in s["namespaces"]:
        del ns["subnet"]
    s["namespaces"][1]["subnet"] = "172.15.2.0/24"  # explicit, reserved before allocation
    c = from_spec(s)
    assert [str(x.subnet) for x in c.namespaces] == \
        ["172.15.3.0/24", "172.15.2.0/24", "172.15.4.0/24", "172.15.5.0/24", "172.15.6.0/24"]


def test_auto_teps_skip_explicit_ones():
    s = seed()
    s["edges"][0]["tep"] = "192.168.0.11"
    c = from_spec(s)
    assert [ip_to_str(h.tep) for h in c.hosts] == ["192.168.0.12", "192.168.0.13", "192.168.0.14", "192.168.0.11"]


def test_minimal_spec_gets_defaults():
    c = from_spec({"hosts": [{"name": "esx-1"}]})
    assert c.summary() == {"name": "cluster", "hosts": 1, "edges": 0, "nodes": 0, "namespaces": 0, "pods": 0,
                           "routers": 2, "uplinks": 0, "dfw_rules": 0, "networkpolicies": 0, "services": 0, "load_balancers": 0,
                           "snat_ips": 0}
    assert to_spec(from_spec(to_spec(c))) == to_spec(c)


# ---- allocation facts of the seed ---------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_cluster() -> Cluster:
    return default_scenario()


def test_seed_kube_dns_is_172_16_1_2_on_worker_1(seed_cluster):
    p = seed_cluster.pod("kube-system/kube-dns")
    assert ip_to_str(p.ip) == "172.16.1.2"
    assert p.node == "worker-1"
    assert p.vlan == 1


def test_seed_worker_1_has_nine_pods(seed_cluster):
    assert len(seed_cluster.pods_on_node("worker-1")) == 9


def test_seed_router_links_are_31s_of_the_link_cidr_t0_even_t1_odd(seed_cluster):
    link = ipaddress.IPv4Network("100.64.0.0/16")
    assert seed_cluster.settings.link_cidr == link
    assert len(seed_cluster.t1s) == 6
    pairs = set()
    for r in seed_cluster.t1s:
        assert r.link_t0_ip % 2 == 0 and r.link_t1_ip == r.link_t0_ip + 1, r.name
        net = ipaddress.IPv4Network((r.link_t0_ip, 31))
        assert net.subnet_of(link)
        assert ipaddress.IPv4Address(r.link_t1_ip) in net
        pairs.add(net)
    assert len(pairs) == len(seed_cluster.t1s)
    assert seed_cluster.t0.link_t0_ip is None and seed_cluster.t0.link_t1_ip is None


def test_seed_vnis_are_unique_and_within_24_bits(seed_cluster):
    vnis = [s.vni for s in seed_cluster.segments]
    vnis += [r.transit_vni for r in (*seed_cluster.t1s, seed_cluster.t0) if r.transit_vni is not None]
    assert len(vnis) == 6 + 2  # six segments; payments' T1 and the T0 have service routers
    assert len(set(vnis)) == len(vnis)
    assert all(1 <= v <= VNI_MAX for v in vnis)


def test_seed_endpoint_addresses_are_unique(seed_cluster):
    ips = seed_cluster.pods.ip.tolist() + [n.ip for n in seed_cluster.nodes]
    macs = seed_cluster.pods.mac.tolist() + [n.mac for n in seed_cluster.nodes]
    assert len(set(ips)) == len(ips)
    assert len(set(macs)) == len(macs)
    assert seed_cluster.settings.router_mac not in macs


def test_seed_node_and_tep_allocation(seed_cluster):
    assert [ip_to_str(n.ip) for n in seed_cluster.nodes] == ["172.15.0.2", "172.15.0.3", "172.15.0.4", "172.15.0.5"]
    assert [ip_to_str(h.tep) for h in seed_cluster.hosts] == \
        ["192.168.0.11", "192.168.0.12", "192.168.0.13", "192.168.0.14"]
    assert [h.edge for h in seed_cluster.hosts] == [False, False, False, True]


def test_seed_vlan_tags_count_up_per_node(seed_cluster):
    for node in ("master", "worker-1", "worker-2", "worker-3"):
        tags = seed_cluster.pods.vlan[seed_cluster.pods_on_node(node)].tolist()
        assert tags == list(range(1, len(tags) + 1)), node


def test_seed_pod_ips_lie_in_their_namespace_subnets(seed_cluster):
    for p in seed_cluster.pods:
        seg = seed_cluster.segment_of_namespace(p.namespace)
        assert ipaddress.IPv4Address(p.ip) in seg.subnet and p.ip > seg.gateway, p.key


# ---- property: any small spec builds or raises SpecError ----------------------------------------
MACS = ["02:00:00:00:00:01", "02:00:00:00:00:02", "00:50:56:00:00:01", "02-00-00-00-00-07"]
BAD_MACS = ["02:50:56:56:44:52", "01:00:5e:00:00:01", "zz:00:00:00:00:00", "02:00:00:00:00"]
SUBNETS = ["172.16.1.0/24", "172.16.2.0/24", "172.16.0.0/23", "172.16.3.0/25", "172.16.3.128/25", "172.16.4.0/30"]
BAD_SUBNETS = ["172.16.4.0/31", "10.0.0.0/24", "172.15.0.0/24", "172.16.0.0/16", "172.16.1.5/24", "bogus", ""]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 40), 1 << 40), st.floats(allow_nan=True),
                 st.text(max_size=6), st.lists(st.integers(0, 5), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def rare(bad, good, one_in: int = 24):
    """Mostly `good`, now and then `bad` (either may be a list to sample from)."""
    bad = st.sampled_from(bad) if isinstance(bad, list) else bad
    good = st.sampled_from(good) if isinstance(good, list) else good
    return st.integers(0, one_in - 1).flatmap(lambda k: bad if k == one_in // 2 else good)


def auto_or(strategy, explicit_one_in: int = 3):
    """None (= allocate) or, one time in `explicit_one_in`, an explicit value."""
    strategy = st.sampled_from(strategy) if isinstance(strategy, list) else strategy
    return st.integers(0, explicit_one_in - 1).flatmap(lambda k: strategy if k == 0 else st.none())


def drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def specs(draw) -> dict:
    cluster = {}
    if draw(st.integers(0, 3)) == 0:  # one setting off its default
        key, values = draw(st.sampled_from([
            ("vlan_range", [[1, 3], [2, 5], [3, 1], [0, 5], [1, 4094]]),
            ("namespace_prefix", [26, 30, 16]),
            ("pod_cidr", ["172.16.0.0/22", "172.16.1.0/24"]),
            ("router_mac", MACS + BAD_MACS),
            ("vni_base", [1, 5000, VNI_MAX - 2]),
            ("geneve_option_bytes", [4, 6, 252]),
            ("default_max_pods", [0, 1, 2]),
            ("link_cidr", ["100.64.0.0/30", "172.16.2.0/24"]),
        ]))
        cluster[key] = draw(st.sampled_from(values))
    host_names = draw(st.lists(st.sampled_from(["esx-1", "esx-2", "esx-3"]), min_size=1, max_size=3,
                               unique=draw(rare(st.just(False), st.just(True)))))
    hosts = [drop_none({"name": h, "tep": draw(auto_or(["192.168.0.11", "192.168.0.12", "10.1.1.1"], 6)),
                        "mtu": draw(auto_or([1600, 9000, 626, 625], 6))}) for h in host_names]
    edges = [{"name": "edge-1"}] if draw(st.booleans()) else []
    node_names = draw(st.lists(st.sampled_from(["n1", "n2", "n3"]), max_size=3,
                               unique=draw(rare(st.just(False), st.just(True)))))
    nodes = [drop_none({"name": n, "host": draw(rare(["ghost", "edge-1"], host_names)),
                        "ip": draw(auto_or(rare(["172.15.0.1", "172.16.1.9", "x"], ["172.15.0.2", "172.15.0.3"]))),
                        "mac": draw(auto_or(rare(BAD_MACS, MACS), 4)),
                        "max_pods": draw(auto_or(st.integers(-1, 4), 4))}) for n in node_names]
    ns_names = draw(st.lists(rare(["nodes"], ["a", "b", "c"], 16), max_size=3,
                             unique=draw(rare(st.just(False), st.just(True)))))
    namespaces = [drop_none({"name": n, "subnet": draw(auto_or(rare(BAD_SUBNETS, SUBNETS))),
                             "vni": draw(auto_or(rare([0, VNI_MAX + 1, -1], [1, 5000, 65536, 65537, VNI_MAX]), 4)),
                             "t1": draw(auto_or(rare([{"edge": "esx-1"}, {"edge": "ghost"}, {"name": "t1-nodes"},
                                                      {"name": "t0"}], [{"edge": e["name"]} for e in edges]
                                                     + [{"name": f"t1-custom-{n}"}]), 4))})
                  for n in ns_names]
    pods = []
    if ns_names and node_names:
        for _ in range(draw(st.integers(0, 8))):
            ip = draw(auto_or(rare(["172.16.1.1", "172.16.1.255", "172.15.0.2", "1.2.3.999", ""],
                                   st.builds("172.16.{}.{}".format, st.integers(0, 3), st.integers(2, 6)))))
            pods.append(drop_none({
                "name": draw(st.sampled_from(["p0", "p1", "p2", "p3", "p4", "p5"])),
                "namespace": draw(rare(["ghost"], ns_names, 16)),
                "node": draw(rare(["ghost"], node_names, 16)),
                "ip": ip,
                "mac": draw(auto_or(rare(BAD_MACS, MACS), 4)),
                "vlan": draw(auto_or(rare([0, 4094, 5000, -1, 70000], [1, 2, 3, 4]))),
                "labels": draw(auto_or([{"app": "x"}, {}])),
            }))
    t0 = drop_none({"edge": draw(auto_or(rare(["esx-1", "ghost"], [e["name"] for e in edges] or [None]), 2))})
    if draw(st.booleans()):
        t0["uplinks"] = [{"name": "u", "ip": draw(rare(["203.0.113.2", "nope"], ["203.0.113.2/24"])),
                          "next_hop": draw(rare(["203.0.113.2", "198.51.100.1"], ["203.0.113.1"]))}]
        t0["routes"] = [{"prefix": draw(rare(["0.0.0.1/0"], ["0.0.0.0/0", "8.8.8.0/24"])),
                         "next_hop": draw(rare(["9.9.9.9"], ["203.0.113.1"]))}]
    rules = [drop_none({"name": f"r{i}", "action": draw(st.sampled_from(["allow", "deny"])),
                        "src": draw(auto_or(rare(BAD_SUBNETS, SUBNETS))),
                        "proto": draw(auto_or(rare([300, -1, "sctp"], ["tcp", "udp", "icmp", "any", 6, 47]))),
                        "dport": draw(auto_or(rare(st.one_of(st.integers(-5, 70000), st.sampled_from(
                            ["90-80", "-", "1-2-3", "x", ""])), st.sampled_from([53, "80", "8000-8080"]))))})
             for i in range(draw(st.integers(0, 2)))]
    node_network = drop_none({"subnet": draw(auto_or(rare(["172.15.0.0/30", "172.16.1.0/24"], ["172.15.0.0/28"]))),
                              "vni": draw(auto_or(rare([0], [5000, 65536]), 4))})
    spec = {"cluster": cluster, "node_network": node_network, "hosts": hosts, "edges": edges, "nodes": nodes,
            "namespaces": namespaces, "pods": pods, "t0": t0, "dfw": {"rules": rules}}
    # now and then, one field of one item gets a value of any JSON type
    if draw(st.integers(0, 9)) == 0:
        section = draw(st.sampled_from(["cluster", "hosts", "nodes", "namespaces", "pods", "t0", "node_network"]))
        target = spec[section]
        if isinstance(target, list):
            target = draw(st.sampled_from(target)) if target else None
        if target is not None:
            target[draw(st.sampled_from(["name", "ip", "mac", "vlan", "vni", "subnet", "host", "edge", "mtu",
                                         "node", "namespace", "vlan_range", "pod_cidr", "max_pods"]))] = draw(JUNK)
    return spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_any_small_spec_builds_or_raises_spec_error(spec):
    original = copy.deepcopy(spec)
    try:
        c = from_spec(spec)
    except SpecError as exc:
        assert exc.path or exc.message
        assert "\n" not in str(exc)
        return
    assert spec == original  # the input is not modified
    # a spec that builds round-trips, and what it said explicitly is kept
    out = to_spec(c)
    assert to_spec(from_spec(out)) == out
    for given_pod, got in zip(spec["pods"], out["pods"]):  # ("" counts as not given, like None)
        if given_pod.get("ip"):
            assert ip_from_str(got["ip"]) == ip_from_str(given_pod["ip"])
        if given_pod.get("mac"):
            assert mac_from_str(got["mac"]) == mac_from_str(given_pod["mac"])
        if given_pod.get("vlan") is not None:
            assert got["vlan"] == given_pod["vlan"]


# ---- MACs: six hex pairs ------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("02:00:00:00:00:01", 0x020000000001), ("AA-bb-CC-dd-EE-0f", 0xAABBCCDDEE0F),
                                         ("00:50:56:ab:CD:ef", 0x005056ABCDEF)])
def test_mac_forms_accepted(text, value):
    assert mac_from_str(text) == value


@pytest.mark.parametrize("text", ["2:0:0:0:0:1", "02:00-00:00:00:01", "0200.0000.0001", "020000000001",
                                  "+2:00:00:00:00:01", " 02:00:00:00:00:01", "02:00:00:00:00:01\n", "02:00:00:00:00",
                                  "02:00:00:00:00:01:02", "0x:00:00:00:00:01", "\u0660\u0662:00:00:00:00:01",
                                  "02:00:00:00:00:0g", "", None, 0x020000000001])
def test_mac_forms_refused(text):
    with pytest.raises(ValueError, match="not a MAC address"):
        mac_from_str(text)


@pytest.mark.parametrize("where, path", [(("pods", 0), "pods[0].mac"), (("nodes", 1), "nodes[1].mac")])
def test_a_bad_mac_names_its_field(where, path):
    s = copy.deepcopy(SEED_SPEC)
    s[where[0]][where[1]]["mac"] = "2:0:0:0:0:1"
    with pytest.raises(SpecError, match=rf"^{re.escape(path)}: not a MAC address"):
        from_spec(s)


def test_an_unquoted_yaml_mac_of_digits_is_told_to_be_quoted():
    s = parse_text("hosts: [{name: h}]\nnodes: [{name: n, host: h, mac: 10:20:30:40:50:59}]\n")
    assert isinstance(s["nodes"][0]["mac"], int)  # YAML 1.1 base 60
    with pytest.raises(SpecError, match=r"^nodes\[0\]\.mac: is a number, not a MAC address.*quote it"):
        from_spec(s)
    s = parse_text("hosts: [{name: h}]\nnodes: [{name: n, host: h, mac: '10:20:30:40:50:59'}]\n")
    assert from_spec(s).nodes[0].mac == 0x102030405059


# ---- numbers are strict -------------------------------------------------------------------------
def _loose_numbers(typ, seen=()) -> list[str]:
    """Bare int/float annotations anywhere in `typ` (a strict one is Annotated[..., Strict()])."""
    from typing import Annotated, get_args, get_origin

    from pydantic import BaseModel

    if typ in (int, float):
        return [typ.__name__]
    if get_origin(typ) is Annotated:
        args = get_args(typ)
        if args[0] in (int, float):
            return [] if any(getattr(m, "strict", False) for m in args[1:]) else [args[0].__name__]
        return _loose_numbers(args[0], seen)
    if isinstance(typ, type) and issubclass(typ, BaseModel) and typ not in seen:
        return [f"{typ.__name__}.{k}: {x}" for k, f in typ.model_fields.items()
                for x in _loose_numbers(f.rebuild_annotation(), (*seen, typ))]
    return [x for a in get_args(typ) for x in _loose_numbers(a, seen)]


def test_every_number_in_the_schema_is_strict():
    from fastpath.model.spec import ClusterSpec

    assert _loose_numbers(ClusterSpec) == []


NUMBER_FIELDS = [  # (where in the seed, field path); each an int unless said
    (("cluster",), "namespace_prefix"), (("cluster",), "vni_base"), (("cluster",), "geneve_option_bytes"),
    (("cluster",), "default_max_pods"), (("cluster",), "mac_table_size"), (("node_network",), "vni"),
    (("hosts", 0), "mtu"), (("edges", 0), "mtu"), (("nodes", 1), "max_pods"), (("namespaces", 2), "vni"),
    (("pods", 4), "vlan"), (("dfw", "rules", 0), "proto"),
]


def _at(spec, where):
    for k in where:
        spec = spec[k]
    return spec


def _path(where, field):
    out = ""
    for k in where:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else k)
    return f"{out}.{field}"


@pytest.mark.parametrize("bad", [True, False, 5.0, "5"], ids=["true", "false", "float", "string"])
@pytest.mark.parametrize("where, field", NUMBER_FIELDS, ids=[f for _, f in NUMBER_FIELDS])
def test_an_integer_field_takes_only_an_integer(where, field, bad):
    s = copy.deepcopy(SEED_SPEC)
    _at(s, where)[field] = bad
    with pytest.raises(SpecError) as info:
        from_spec(s)
    assert info.value.path == _path(where, field), str(info.value)
    assert f"got {bad!r}" in info.value.message


@pytest.mark.parametrize("text", [
    "cluster: {vlan_range: [1, true]}", "hosts: [{name: h, mtu: yes}]", "capacity: {edge_mpps: on}",
    "hosts: [{name: h, link_gbps: '25'}]", "capacity: {uplink_gbps: true}",
    "traffic: {profiles: [{name: u, kind: uniform, flows: 1.0e3}]}",
    "traffic: {profiles: [{name: u, kind: uniform, ttl: true}]}",
    "traffic: {profiles: [{name: u, kind: locality, dports: [80, false]}]}",
    "traffic: {profiles: [{name: u, kind: locality, mix: {same_node: true}}]}",
    "traffic: {profiles: [{name: u, kind: uniform, offered_mpps: '2'}]}",
])
def test_yaml_booleans_and_strings_are_not_numbers(text):
    spec = parse_text(text + ("\nhosts: [{name: h}]" if not text.startswith("hosts") else ""))
    with pytest.raises(SpecError, match=r"input should be a valid (integer|number)"):
        from_spec(spec)


def test_json_and_yaml_numbers_still_parse():
    text = json.dumps({"cluster": {"vlan_range": [2, 4000], "namespace_prefix": 25}, "hosts": [{"name": "h", "mtu": 9000,
                       "link_gbps": 10}], "capacity": {"edge_mpps": 2, "uplink_gbps": 12.5}})
    c = from_spec(parse_text(text))
    assert (c.settings.vlan_min, c.settings.vlan_max, c.settings.namespace_prefix) == (2, 4000, 25)
    assert c.hosts[0].mtu == 9000 and c.capacity.link_gbps_of("h") == 10 and c.capacity.edge_mpps == 2
    c = from_spec(parse_text("hosts: [{name: h, mtu: 0x2328}]\ncapacity: {uplink_gbps: 1_0}\n"))
    assert c.hosts[0].mtu == 9000 and c.capacity.uplink_gbps == 10


@pytest.mark.parametrize("bad", [True, False, 80.0])
def test_a_dport_is_not_a_bool_or_float(bad):  # "80" and "80-90" are its string forms
    s = copy.deepcopy(SEED_SPEC)
    s["dfw"]["rules"][0]["dport"] = bad
    with pytest.raises(SpecError, match=r"^dfw\.rules\[0\]\.dport: input should be a valid"):
        from_spec(s)


@pytest.mark.parametrize("dport", ["\u0668\u0660", "8_0", " 80", "80 ", "+80", "80-+90", "0x50"])
def test_a_dport_is_ascii_digits(dport):
    s = copy.deepcopy(SEED_SPEC)
    s["dfw"]["rules"][0]["dport"] = dport
    with pytest.raises(SpecError, match=r"^dfw\.rules\[0\]\.dport: .* is not a port"):
        from_spec(s)


@pytest.mark.parametrize("field, value, phrase", [
    ("proto", True, "dfw.rules[0].proto: input should be 'any', 'tcp', 'udp' or 'icmp', or a valid integer, got True"),
    ("proto", "sctp", "or a valid integer, got 'sctp'"),
    ("dport", 8.5, "dfw.rules[0].dport: input should be a valid integer, or a valid string, got 8.5"),
])
def test_a_union_field_says_everything_it_takes(field, value, phrase):
    s = copy.deepcopy(SEED_SPEC)
    s["dfw"]["rules"][0][field] = value
    with pytest.raises(SpecError) as info:
        from_spec(s)
    assert phrase in str(info.value)


def test_dump_refuses_a_yaml_spec_that_load_would_refuse(tmp_path):
    """`dump` never writes a YAML spec bigger than `load` reads (`specfile.MAX_YAML_NODES`):
    the same cluster goes to JSON, and JSON loads it back."""
    from fastpath.model import SpecError, dump, generate, load
    from fastpath.model.specfile import MAX_YAML_NODES

    big = generate(hosts=40, nodes_per_host=4, namespaces=20, pods_per_node=480, seed=0)
    with pytest.raises(SpecError, match=f"more than {MAX_YAML_NODES:,} YAML nodes"):
        dump(big, tmp_path / "big.yaml")
    assert not (tmp_path / "big.yaml").exists()
    dump(big, tmp_path / "big.json")
    assert len(load(tmp_path / "big.json").pods) == len(big.pods)
