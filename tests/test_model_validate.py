"""Validation catalogue: one test per kind of bad spec, each pinning the field path and the
gist of the one-line `SpecError` message.

Specs are the seed (`SEED_SPEC`) with one small edit. Seed pods by index, for reference:
0-4 kube-system on worker-1 (kube-dns, heapster, kubernetes-dashboard, monitoring-grafana,
monitoring-influxdb), 5 default/nginx-1, 6 web/frontend-1, 7 db/postgres-0, 8 payments/checkout-1
(all worker-1), 9 kube-system/coredns-2, 10 default/nginx-2, 11 web/frontend-2 (worker-2),
12 db/postgres-1, 13 default/nginx-3, 14 payments/checkout-2 (worker-3), 15 kube-system/kube-proxy-master.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import textwrap

import pytest

from fastpath.model import SpecError, from_spec, generate, load, names, parse_text
from fastpath.model.addressing import ip_to_str
from fastpath.model.scenarios import SEED_SPEC


def seed() -> dict:
    return copy.deepcopy(SEED_SPEC)


def rejects(spec: dict, path: str, phrase: str) -> SpecError:
    """Assert `from_spec` fails at exactly `path` with `phrase` in a one-line message."""
    with pytest.raises(SpecError) as info:
        from_spec(spec)
    err = info.value
    assert err.path == path, str(err)
    assert phrase in err.message, str(err)
    assert str(err) == f"{path}: {err.message}"
    assert "\n" not in str(err)
    return err


def yaml_rejects(text: str, path: str, phrase: str) -> SpecError:
    return rejects(parse_text(textwrap.dedent(text)), path, phrase)


def test_seed_spec_is_valid():
    from_spec(seed())


# ---- subnets ------------------------------------------------------------------------------------
def test_namespace_subnet_overlapping_another_namespace():
    s = seed()
    s["namespaces"][1]["subnet"] = "172.16.1.0/25"  # inside kube-system's 172.16.1.0/24
    rejects(s, "namespaces[1].subnet", "172.16.1.0/25 overlaps 172.16.1.0/24 (namespaces[0].subnet)")


def test_namespace_subnet_overlapping_the_node_segment():
    s = seed()
    s["node_network"]["subnet"] = "172.16.3.0/24"  # = web's subnet
    rejects(s, "namespaces[2].subnet", "overlaps 172.16.3.0/24 (node_network.subnet)")


def test_namespace_subnet_overlapping_the_router_link_cidr():
    s = seed()
    s["cluster"]["link_cidr"] = "172.16.4.0/23"
    rejects(s, "namespaces[3].subnet", "overlaps 172.16.4.0/23 (cluster.link_cidr)")


def test_namespace_subnet_outside_the_pod_cidr():
    s = seed()
    s["namespaces"][3]["subnet"] = "10.9.0.0/24"
    rejects(s, "namespaces[3].subnet", "10.9.0.0/24 of namespace db is outside the pod CIDR 172.16.0.0/16")


def test_namespace_subnet_too_small_for_pods():
    s = seed()
    s["namespaces"][3]["subnet"] = "172.16.4.0/31"
    s["pods"] = [p for p in s["pods"] if p["namespace"] != "db"]
    rejects(s, "namespaces[3].subnet", "leaves no room for pods")


def test_subnet_with_host_bits_is_not_a_network():
    s = seed()
    s["namespaces"][0]["subnet"] = "172.16.1.7/24"
    rejects(s, "namespaces[0].subnet", "not an IPv4 network")


def test_pod_cidr_without_a_free_namespace_subnet():
    s = seed()
    s["namespaces"].append({"name": "extra"})  # auto subnet, but the /22 is used up
    s["cluster"]["pod_cidr"] = "172.16.0.0/22"
    for ns, net in zip(s["namespaces"], ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24"]):
        ns["subnet"] = net
    del s["namespaces"][4]["subnet"]
    rejects(s, "namespaces[4].subnet", "pod CIDR 172.16.0.0/22 has no free /24 left")


def test_namespace_subnet_full():
    s = seed()
    s["namespaces"][2]["subnet"] = "172.16.3.0/30"  # room for exactly one pod (.2); web has two
    rejects(s, "pods[11].ip", "namespace web subnet 172.16.3.0/30 is full")


def test_node_segment_full():
    s = seed()
    s["node_network"]["subnet"] = "172.15.0.0/30"  # one node address (.2), four nodes
    rejects(s, "nodes[1].ip", "node segment 172.15.0.0/30 is full")


# ---- IPs ----------------------------------------------------------------------------------------
def test_duplicate_ip_pod_vs_pod():
    s = seed()
    s["pods"][0]["ip"] = s["pods"][9]["ip"] = "172.16.1.50"
    rejects(s, "pods[9].ip", "duplicate IP 172.16.1.50 of kube-system/coredns-2 (also pods[0] (kube-system/kube-dns))")


def test_duplicate_ip_node_vs_node():
    s = seed()
    s["nodes"][0]["ip"] = s["nodes"][2]["ip"] = "172.15.0.9"
    rejects(s, "nodes[2].ip", "duplicate IP 172.15.0.9 of worker-2 (also nodes[0] (master))")


def test_duplicate_node_ip_is_caught_in_a_cluster_without_pods():
    s = seed()
    s["pods"] = []
    s["nodes"][0]["ip"] = s["nodes"][1]["ip"] = "172.15.0.9"
    rejects(s, "nodes[1].ip", "duplicate IP 172.15.0.9")


def test_pod_ip_equal_to_a_node_ip_is_rejected_at_the_pod():
    # A pod-vs-node clash can only come from a pod IP off its namespace subnet (subnets are
    # disjoint), so it is reported as that, on the pod.
    s = seed()
    s["pods"][5]["ip"] = "172.15.0.3"  # worker-1's IP
    rejects(s, "pods[5].ip", "172.15.0.3 of default/nginx-1 is outside namespace subnet 172.16.2.0/24")


def test_pod_ip_outside_its_namespace_subnet():
    s = seed()
    s["pods"][3]["ip"] = "172.16.2.9"  # a kube-system pod in default's subnet
    rejects(s, "pods[3].ip", "172.16.2.9 of kube-system/monitoring-grafana is outside namespace subnet 172.16.1.0/24")


@pytest.mark.parametrize("ip, role", [("172.16.1.0", "network address"), ("172.16.1.1", "gateway"),
                                      ("172.16.1.255", "broadcast address")])
def test_pod_ip_on_a_reserved_address_of_its_subnet(ip, role):
    s = seed()
    s["pods"][3]["ip"] = ip
    rejects(s, "pods[3].ip", f"{ip} is the {role} of namespace subnet 172.16.1.0/24")


@pytest.mark.parametrize("ip, role", [("172.15.0.1", "gateway"), ("172.15.0.255", "broadcast address")])
def test_node_ip_on_a_reserved_address_of_the_node_segment(ip, role):
    s = seed()
    s["nodes"][2]["ip"] = ip
    rejects(s, "nodes[2].ip", f"{ip} is the {role} of node segment 172.15.0.0/24")


def test_node_ip_outside_the_node_segment():
    s = seed()
    s["nodes"][2]["ip"] = "10.0.0.5"
    rejects(s, "nodes[2].ip", "10.0.0.5 is outside node segment 172.15.0.0/24")


def test_unparsable_pod_ip():
    s = seed()
    s["pods"][4]["ip"] = "172.16.1.300"
    rejects(s, "pods[4].ip", "not an IPv4 address: '172.16.1.300'")


def test_duplicate_explicit_tep():
    s = seed()
    s["hosts"][0]["tep"] = s["edges"][0]["tep"] = "192.168.7.7"
    rejects(s, "edges[0].tep", "TEP 192.168.7.7 of edge-1 is already used by esx-1")


# ---- MACs ---------------------------------------------------------------------------------------
def test_duplicate_mac_pod_vs_pod():
    s = seed()
    s["pods"][0]["mac"] = s["pods"][9]["mac"] = "02:00:00:00:aa:01"
    rejects(s, "pods[9].mac", "duplicate MAC 02:00:00:00:aa:01 of kube-system/coredns-2 (also pods[0]")


def test_duplicate_mac_pod_vs_node():
    s = seed()
    s["pods"][3]["mac"] = s["nodes"][0]["mac"] = "00:50:56:00:00:99"
    rejects(s, "nodes[0].mac", "duplicate MAC 00:50:56:00:00:99 of master (also pods[3] (kube-system/monitoring-grafana))")


def test_pod_mac_equal_to_the_router_mac():
    s = seed()
    s["pods"][4]["mac"] = "02:50:56:56:44:52"
    rejects(s, "pods[4].mac", "02:50:56:56:44:52 of kube-system/monitoring-influxdb is the router MAC")


def test_node_mac_equal_to_the_router_mac():
    s = seed()
    s["nodes"][1]["mac"] = "02:50:56:56:44:52"
    rejects(s, "nodes[1].mac", "is the router MAC")


def test_multicast_pod_mac():
    s = seed()
    s["pods"][4]["mac"] = "01:00:5e:00:00:01"
    rejects(s, "pods[4].mac", "is not a unicast 48-bit MAC")


def test_multicast_router_mac():
    s = seed()
    s["cluster"]["router_mac"] = "03:00:00:00:00:01"
    rejects(s, "cluster.router_mac", "03:00:00:00:00:01 is a multicast MAC")


def test_unparsable_mac():
    s = seed()
    s["pods"][4]["mac"] = "02:00:00:00:00"
    rejects(s, "pods[4].mac", "not a MAC address")


# ---- VLAN tags ----------------------------------------------------------------------------------
def test_vlan_tag_reused_on_one_node():
    s = seed()
    s["pods"][1]["vlan"] = s["pods"][2]["vlan"] = 7  # both on worker-1
    rejects(s, "pods[2].vlan", "VLAN tag 7 of kube-system/kubernetes-dashboard is already used on node worker-1 "
                               "by pods[1] (kube-system/heapster)")


def test_same_vlan_tag_on_different_nodes_is_fine():
    s = seed()
    for i in (0, 9, 12, 15):  # worker-1, worker-2, worker-3, master
        s["pods"][i]["vlan"] = 7
    c = from_spec(s)
    assert [int(c.pods.vlan[i]) for i in (0, 9, 12, 15)] == [7, 7, 7, 7]
    assert len({int(c.pods.node[i]) for i in (0, 9, 12, 15)}) == 4


@pytest.mark.parametrize("tag", [0, 4094, 5000])
def test_vlan_tag_outside_the_usable_range(tag):
    s = seed()
    s["pods"][6]["vlan"] = tag
    rejects(s, "pods[6].vlan", f"VLAN tag {tag} of web/frontend-1 is outside 1..4093")


@pytest.mark.parametrize("tag", [-1, 70000])
def test_vlan_tag_that_is_no_16_bit_value(tag):
    s = seed()
    s["pods"][6]["vlan"] = tag
    rejects(s, "pods[6].vlan", f"VLAN tag {tag} is outside 1..4093")


def test_more_pods_on_a_node_than_vlan_tags():
    s = seed()
    s["cluster"]["vlan_range"] = [1, 3]  # worker-1 has nine pods
    rejects(s, "pods[3].vlan", "node worker-1 has no free VLAN tag left in 1..3")


@pytest.mark.parametrize("vlan_range", [[3, 1], [0, 10], [1, 4095]])
def test_bad_vlan_range_setting(vlan_range):
    s = seed()
    s["cluster"]["vlan_range"] = vlan_range
    rejects(s, "cluster.vlan_range", f"[{vlan_range[0]}, {vlan_range[1]}] must lie within 1..4094")


def test_more_pods_on_a_node_than_max_pods():
    s = seed()
    s["nodes"][2]["max_pods"] = 2  # worker-2 has three pods
    rejects(s, "nodes[2].max_pods", "worker-2 has 3 pods, more than max_pods 2")


def test_default_max_pods_applies_to_nodes_without_their_own():
    s = seed()
    s["cluster"]["default_max_pods"] = 8  # worker-1 has nine
    rejects(s, "nodes[1].max_pods", "worker-1 has 9 pods, more than max_pods 8")


def test_negative_max_pods():
    s = seed()
    s["nodes"][0]["max_pods"] = -1
    rejects(s, "nodes[0].max_pods", "-1 is negative")


# ---- references ---------------------------------------------------------------------------------
def test_pod_in_unknown_namespace():
    s = seed()
    s["pods"][5]["namespace"] = "nope"
    rejects(s, "pods[5].namespace", "unknown namespace 'nope'")


def test_pod_on_unknown_node():
    s = seed()
    s["pods"][5]["node"] = "worker-9"
    rejects(s, "pods[5].node", "unknown node 'worker-9'")


def test_node_on_unknown_host():
    s = seed()
    s["nodes"][2]["host"] = "esx-9"
    rejects(s, "nodes[2].host", "unknown host 'esx-9'")


def test_node_on_an_edge_node():
    s = seed()
    s["nodes"][2]["host"] = "edge-1"
    rejects(s, "nodes[2].host", "'edge-1' is an edge node; nodes run on transport nodes")


def test_t1_edge_unknown():
    s = seed()
    s["namespaces"][4]["t1"]["edge"] = "edge-9"
    rejects(s, "namespaces[4].t1.edge", "unknown edge node 'edge-9'")


def test_t1_edge_naming_a_transport_node():
    s = seed()
    s["namespaces"][4]["t1"]["edge"] = "esx-2"
    rejects(s, "namespaces[4].t1.edge", "'esx-2' is a transport node, not an edge node")


def test_node_network_t1_edge_unknown():
    s = seed()
    s["node_network"]["t1"] = {"edge": "edge-9"}
    rejects(s, "node_network.t1.edge", "unknown edge node 'edge-9'")


def test_t0_edge_unknown():
    s = seed()
    s["t0"]["edge"] = "edge-9"
    rejects(s, "t0.edge", "unknown edge node 'edge-9'")


def test_t0_edge_naming_a_transport_node():
    s = seed()
    s["t0"]["edge"] = "esx-1"
    rejects(s, "t0.edge", "'esx-1' is a transport node, not an edge node")


# ---- VNIs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("vni", [0, 1 << 24, -5])
def test_namespace_vni_outside_24_bits(vni):
    s = seed()
    s["namespaces"][0]["vni"] = vni
    rejects(s, "namespaces[0].vni", f"VNI {vni} is outside 24 bits (1..16777215)")


@pytest.mark.parametrize("vni", [0, 1 << 24])
def test_node_network_vni_outside_24_bits(vni):
    s = seed()
    s["node_network"]["vni"] = vni
    rejects(s, "node_network.vni", f"VNI {vni} is outside 24 bits")


def test_duplicate_vni_between_namespaces():
    s = seed()
    s["namespaces"][0]["vni"] = s["namespaces"][1]["vni"] = 5000
    rejects(s, "namespaces[1].vni", "VNI 5000 is already used by namespaces[0].vni")


def test_duplicate_vni_between_node_network_and_namespace():
    s = seed()
    s["node_network"]["vni"] = s["namespaces"][2]["vni"] = 5000
    rejects(s, "namespaces[2].vni", "VNI 5000 is already used by node_network.vni")


def test_vni_base_running_past_24_bits():
    s = seed()
    s["cluster"]["vni_base"] = (1 << 24) - 3  # node segment + 2 namespaces fit, the third does not
    rejects(s, "namespaces[2].vni", "VNI 16777216 is outside 24 bits")


# ---- MTU / Geneve -------------------------------------------------------------------------------
def test_underlay_mtu_too_small_for_geneve():
    s = seed()
    s["hosts"][1]["mtu"] = 600
    rejects(s, "hosts[1].mtu", "600 on esx-2 is too small for Geneve: needs at least 626")


def test_geneve_options_raise_the_mtu_needed():
    s = seed()
    s["cluster"]["geneve_option_bytes"] = 8
    s["hosts"][0]["mtu"] = 630  # enough for 50 bytes of overhead, not for 58
    rejects(s, "hosts[0].mtu", "needs at least 634 (576-byte IPv4 minimum + 58 overhead)")


def test_edge_mtu_error_names_the_edges_list():
    s = seed()
    s["edges"][0]["mtu"] = 600
    rejects(s, "edges[0].mtu", "600 on edge-1 is too small for Geneve")


def test_underlay_mtu_above_65535():
    s = seed()
    s["hosts"][2]["mtu"] = 70000
    rejects(s, "hosts[2].mtu", "70000 on esx-3 is above 65535")


@pytest.mark.parametrize("n", [6, 256])
def test_geneve_option_bytes_not_a_multiple_of_4_within_252(n):
    s = seed()
    s["cluster"]["geneve_option_bytes"] = n
    rejects(s, "cluster.geneve_option_bytes", "must be a multiple of 4 in 0..252")


# ---- malformed YAML -----------------------------------------------------------------------------
def test_malformed_yaml_names_line_and_column():
    text = "cluster:\n  name: [a\nhosts: []\n"
    with pytest.raises(SpecError) as info:
        parse_text(text, "bad.yaml")
    err = info.value
    assert err.path == "bad.yaml:3:6"
    assert err.message.startswith("malformed YAML:")
    assert "\n" not in str(err)


def test_malformed_yaml_file_reports_its_path(tmp_path):
    f = tmp_path / "cluster.yaml"
    f.write_text("hosts:\n  - name: a\n   bad: 1\n")
    with pytest.raises(SpecError) as info:
        load(f)
    assert info.value.path == f"{f}:3:4"
    assert "malformed YAML" in info.value.message


def test_malformed_json_names_line_and_column():
    with pytest.raises(SpecError) as info:
        parse_text('{"hosts": [\n  {"name": "esx-1"},\n]}\n', "bad.json")
    assert re.fullmatch(r"bad\.json:3:\d+", info.value.path), str(info.value)
    assert "malformed" in info.value.message
    assert "\n" not in str(info.value)


def test_yaml_that_is_not_a_mapping():
    with pytest.raises(SpecError) as info:
        parse_text("- a\n- b\n", "list.yaml")
    assert (info.value.path, info.value.message) == ("list.yaml", "a cluster spec must be a mapping, got list")


def test_unreadable_spec_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load(tmp_path / "missing.yaml")
    assert info.value.path == str(tmp_path / "missing.yaml")
    assert "cannot read spec" in info.value.message


# ---- schema (pydantic): types, unknown fields, missing fields ------------------------------------
def test_wrong_type_of_a_pod_field_from_yaml():
    yaml_rejects("""\
        hosts: [{name: esx-1}]
        nodes: [{name: n1, host: esx-1}]
        namespaces: [{name: a}]
        pods:
          - {name: p0, namespace: a, node: n1}
          - {name: p1, namespace: a, node: n1}
          - {name: p2, namespace: a, node: n1, vlan: high}
        """, "pods[2].vlan", "valid integer")


def test_unknown_field_of_a_pod_from_yaml():
    yaml_rejects("""\
        hosts: [{name: esx-1}]
        nodes: [{name: n1, host: esx-1}]
        namespaces: [{name: a}]
        pods: [{name: p0, namespace: a, node: n1, colour: red}]
        """, "pods[0].colour", "extra inputs are not permitted, got 'red'")


def test_unknown_top_level_field():
    s = seed()
    s["routers"] = []
    rejects(s, "routers", "extra inputs are not permitted")


def test_unknown_nested_field():
    s = seed()
    s["namespaces"][4]["t1"]["egde"] = "edge-1"
    rejects(s, "namespaces[4].t1.egde", "extra inputs are not permitted, got 'edge-1'")


def test_missing_required_field():
    s = seed()
    del s["hosts"]
    rejects(s, "hosts", "field required")


def test_missing_pod_name():
    s = seed()
    del s["pods"][3]["name"]
    rejects(s, "pods[3].name", "field required")


def test_list_item_of_the_wrong_type():
    s = seed()
    s["pods"][1] = "kube-dns"
    rejects(s, "pods[1]", "valid dictionary")


def test_label_value_of_the_wrong_type():
    s = seed()
    s["pods"][0]["labels"] = {"tier": 1}
    rejects(s, "pods[0].labels.tier", "valid string")


def test_vlan_range_element_of_the_wrong_type():
    s = seed()
    s["cluster"]["vlan_range"] = [1, "top"]
    rejects(s, "cluster.vlan_range[1]", "valid integer")


def test_namespace_prefix_out_of_schema_bounds():
    s = seed()
    s["cluster"]["namespace_prefix"] = 31
    rejects(s, "cluster.namespace_prefix", "less than or equal to 30")


@pytest.mark.parametrize("proto", ["sctp", 1.5])
def test_union_typed_field_error_path_is_the_field(proto):
    # pydantic tags union members in the error location (`proto.literal[...]`, `dport.int`):
    # the path must stop at the field.
    s = seed()
    s["dfw"]["rules"][0]["proto"] = proto
    rejects(s, "dfw.rules[0].proto", "input should be")


def test_dport_of_the_wrong_type_error_path_is_the_field():
    s = seed()
    s["dfw"]["rules"][0]["dport"] = [80]
    rejects(s, "dfw.rules[0].dport", "input should be")


# ---- duplicate names ----------------------------------------------------------------------------
def test_duplicate_host_name():
    s = seed()
    s["hosts"][2]["name"] = "esx-1"
    rejects(s, "hosts[2].name", "duplicate name 'esx-1' (also hosts[0])")


def test_edge_named_like_a_host():
    s = seed()
    s["edges"][0]["name"] = "esx-2"
    rejects(s, "edges[0].name", "duplicate name 'esx-2' (also hosts[1])")


def test_duplicate_node_name():
    s = seed()
    s["nodes"].append({"name": "worker-2", "host": "esx-3"})
    rejects(s, "nodes[4].name", "duplicate name 'worker-2' (also nodes[2])")


def test_duplicate_namespace_name():
    s = seed()
    s["namespaces"].append({"name": "web"})
    rejects(s, "namespaces[5].name", "duplicate name 'web' (also namespaces[2])")


def test_duplicate_pod_name_within_a_namespace():
    s = seed()
    s["pods"][13]["name"] = "nginx-1"  # default/nginx-3 -> default/nginx-1
    rejects(s, "pods[13].name", "duplicate pod default/nginx-1 (also pods[5])")


def test_same_pod_name_in_different_namespaces_is_fine():
    s = seed()
    s["pods"][6]["name"] = "nginx-1"  # web/nginx-1 beside default/nginx-1
    c = from_spec(s)
    assert c.pod("web/nginx-1").ip != c.pod("default/nginx-1").ip


def test_duplicate_router_name():
    s = seed()
    s["namespaces"][4]["t1"]["name"] = "t1-web"
    rejects(s, "namespaces[4].t1.name", "duplicate name 't1-web' (also namespaces[2].t1)")


def test_namespace_whose_default_t1_name_clashes_with_the_node_t1():
    s = seed()
    s["namespaces"].append({"name": "nodes"})  # its T1 would be t1-nodes
    rejects(s, "namespaces[5].t1.name", "duplicate name 't1-nodes' (also node_network.t1)")


def test_duplicate_uplink_name():
    s = seed()
    s["t0"]["uplinks"].append({"name": "uplink-1", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1"})
    rejects(s, "t0.uplinks[1].name", "duplicate name 'uplink-1' (also t0.uplinks[0])")


# ---- T0 uplinks and routes ----------------------------------------------------------------------
def test_uplink_next_hop_not_on_the_uplink_subnet():
    s = seed()
    s["t0"]["uplinks"][0]["next_hop"] = "198.51.100.1"
    rejects(s, "t0.uplinks[0].next_hop", "198.51.100.1 is not a neighbor on 203.0.113.0/24")


def test_uplink_next_hop_equal_to_the_uplink_itself():
    s = seed()
    s["t0"]["uplinks"][0]["next_hop"] = "203.0.113.2"
    rejects(s, "t0.uplinks[0].next_hop", "203.0.113.2 is the T0's own address on uplink-1, not a neighbor")


def test_uplink_ip_without_prefix_length_or_garbage():
    s = seed()
    s["t0"]["uplinks"][0]["ip"] = "203.0.113.2/40"
    rejects(s, "t0.uplinks[0].ip", "not an interface address")


def test_static_route_next_hop_on_no_uplink():
    s = seed()
    s["t0"]["routes"][0]["next_hop"] = "198.51.100.1"
    rejects(s, "t0.routes[0].next_hop", "198.51.100.1 is on no uplink subnet")


def test_static_route_prefix_not_a_network():
    s = seed()
    s["t0"]["routes"][0]["prefix"] = "10.0.0.1/8"
    rejects(s, "t0.routes[0].prefix", "not an IPv4 network")


# ---- DFW ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dport", ["8080-8000", "http", 70000, "1-2-3", -1, "80-"])
def test_bad_dport_range(dport):
    s = seed()
    s["dfw"]["rules"][0]["dport"] = dport
    rejects(s, "dfw.rules[0].dport", "is not a port or a range lo-hi within 0..65535")


@pytest.mark.parametrize("dport, lo, hi", [(53, 53, 53), ("8000-8080", 8000, 8080), ("0-65535", 0, 65535)])
def test_good_dport_values(dport, lo, hi):
    s = seed()
    s["dfw"]["rules"][0]["dport"] = dport
    r = from_spec(s).dfw_rules[0]
    assert (r.dport_lo, r.dport_hi) == (lo, hi)


def test_protocol_number_outside_a_byte():
    s = seed()
    s["dfw"]["rules"][0]["proto"] = 300
    rejects(s, "dfw.rules[0].proto", "protocol 300 is outside 0..255")


def test_dfw_src_not_a_network():
    s = seed()
    s["dfw"]["rules"][0]["src"] = "default"
    rejects(s, "dfw.rules[0].src", "not an IPv4 network")


# ---- link CIDR ----------------------------------------------------------------------------------
def test_link_cidr_too_small_for_all_router_links():
    s = seed()
    s["cluster"]["link_cidr"] = "100.64.0.0/29"  # four /31s, six T1s
    rejects(s, "cluster.link_cidr", "100.64.0.0/29 has room for 4 router links, 6 needed")


# ---- names (fastpath.model.names) ---------------------------------------------------------------
@pytest.mark.parametrize("rule, good, bad", [
    ("DNS_LABEL", ["a", "kube-system", "0", "a" * 63, "9-z"], ["", "A", "a.b", "-a", "a-", "a_b", "a" * 64, "a/b", "é", "a\n"]),
    ("DNS_SUBDOMAIN", ["a", "a.b", "web-1.x-2", "0" * 253, "a.0"],
     ["", "Web", "a..b", ".a", "a.", "a.-b", "a-.b", "a_b", "0" * 254, "a b", "a\u202eb", "a\u200b", "١"]),
    ("DEVICE", ["esx-1", "ESX-01.lab", "Deny_db", "t0", "a" * 253],
     ["", "a b", "a/b", "a->b", "ovs@n", "geneve:x", "-a", "a.", "\t", "a\u2066", "a" * 254]),
])
def test_naming_rules(rule, good, bad):
    r = getattr(names, rule)
    assert [n for n in good if not r.ok(n)] == []
    assert [n for n in bad if r.ok(n)] == []


def test_a_name_that_is_too_long_is_shown_cut():
    with pytest.raises(SpecError) as info:
        names.POD.check("p" * 1_000_000, "pods[0].name")
    assert len(str(info.value)) < 200 and "1000000 characters long, more than 253" in str(info.value)


@pytest.mark.parametrize("section, index, value, path, phrase", [
    ("pods", 3, "Web/1", "pods[3].name", "'Web/1' is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'"),
    ("pods", 0, "", "pods[0].name", "is empty"),
    ("pods", 5, "nginx 1", "pods[5].name", "'nginx 1' is not a DNS-1123 subdomain"),
    ("pods", 6, "front\u202eend", "pods[6].name", "'front\\u202eend' is not"),
    ("namespaces", 1, "Default", "namespaces[1].name", "'Default' is not a DNS-1123 label"),
    ("namespaces", 1, "de.fault", "namespaces[1].name", "is not a DNS-1123 label"),
    ("nodes", 2, "worker/2", "nodes[2].name", "is not a DNS-1123 subdomain"),
    ("hosts", 1, "esx 2", "hosts[1].name", "'esx 2' is not a device name"),
    ("edges", 0, "edge\t1", "edges[0].name", "is not a device name"),
])
def test_bad_names_are_refused(section, index, value, path, phrase):
    s = seed()
    old = s[section][index]["name"]
    s[section][index]["name"] = value
    for item in s.get("pods", []) + s.get("nodes", []):  # keep references pointing at the renamed object
        for ref, kind in (("namespace", "namespaces"), ("node", "nodes"), ("host", "hosts")):
            if kind == section and item.get(ref) == old:
                item[ref] = value
    if section == "edges":
        s["namespaces"][4]["t1"]["edge"] = s["t0"]["edge"] = value
    rejects(s, path, phrase)


def test_names_the_pod_key_needs_cannot_collide():
    """web/a-b and web-a/b would both be the key 'web-a/b'... were '/' allowed in a name."""
    s = seed()
    s["namespaces"].append({"name": "web-a"})
    s["pods"] += [{"name": "a/b", "namespace": "web", "node": "worker-2"},
                  {"name": "b", "namespace": "web-a", "node": "worker-2"}]
    rejects(s, "pods[16].name", "'a/b' is not a DNS-1123 subdomain")


@pytest.mark.parametrize("where, path", [
    (lambda s, v: s["t0"].__setitem__("name", v), "t0.name"),
    (lambda s, v: s["namespaces"][0].__setitem__("t1", {"name": v}), "namespaces[0].t1.name"),
    (lambda s, v: s["node_network"].__setitem__("t1", {"name": v}), "node_network.t1.name"),
    (lambda s, v: s["t0"]["uplinks"][0].__setitem__("name", v), "t0.uplinks[0].name"),
    (lambda s, v: s["dfw"]["rules"][0].__setitem__("name", v), "dfw.rules[0].name"),
    (lambda s, v: s.__setitem__("traffic", {"profiles": [{"name": v, "kind": "uniform"}]}), "traffic.profiles[0].name"),
])
@pytest.mark.parametrize("value", ["", "a/b", "a b", "bidi\u202b", "nl\n"])
def test_device_names_are_refused(where, path, value):
    s = seed()
    where(s, value)
    rejects(s, path, "is empty" if value == "" else "is not a device name")


def test_a_router_named_like_a_service_router_is_refused():
    s = seed()
    s["namespaces"][0]["t1"] = {"name": "t1-payments-sr"}  # payments' T1 has an SR on edge-1
    rejects(s, "namespaces[0].t1.name", "'t1-payments-sr' is the name of the service router of namespaces[4].t1")


@pytest.mark.parametrize("labels, phrase", [
    ({"my app": "x"}, "label key 'my app': name 'my app' is not a label name"),
    ({"": "x"}, "label key '': name is empty"),
    ({"a/b/c": "x"}, "prefix 'a/b' is not a DNS-1123 subdomain"),
    ({"Example.com/app": "x"}, "prefix 'Example.com' is not a DNS-1123 subdomain"),
    ({"/app": "x"}, "label key '/app': prefix is empty"),
    ({"example.com/": "x"}, "label key 'example.com/': name is empty"),
    ({"k" * 64: "x"}, "64 characters long, more than 63 (a label name)"),
    ({"app": "v" * 64}, "64 characters long, more than 63 (a label value)"),
    ({"app": "-x"}, "label 'app': value '-x' is not a label value"),
    ({"app": "a\u202eb"}, "is not a label value"),
])
def test_bad_labels_are_refused(labels, phrase):
    s = seed()
    s["pods"][2]["labels"] = labels
    rejects(s, "pods[2].labels", phrase)


def test_kubernetes_label_forms_are_kept():
    s = seed()
    lb = {"app.kubernetes.io/name": "web", "example.com/empty": "", "Tier_2.x": "A-b_c.9", "k" * 63: "v" * 63}
    s["pods"][2]["labels"] = lb
    assert from_spec(s).pods[2].labels == lb


def test_selector_labels_are_checked_too():
    s = seed()
    s["traffic"] = {"profiles": [{"name": "hot", "kind": "hot_service",
                                  "services": [{"name": "web", "share": 0.5, "port": 80, "selector": {"app ": "x"}}]}]}
    rejects(s, "traffic.profiles[0].services[0].selector", "label key 'app '")
    s["traffic"]["profiles"][0]["services"][0]["selector"] = {"app": "nginx"}
    s["traffic"]["profiles"][0]["services"][0]["name"] = "web/1"
    rejects(s, "traffic.profiles[0].services[0].name", "'web/1' is not a device name")


def test_generated_and_seed_names_pass():
    from fastpath.model import default_scenario

    c = generate(hosts=2, nodes_per_host=2, pods_per_node=5, namespaces=3, edges=1, seed=1)
    assert {n.name for n in c.nodes} == {"node-1", "node-2", "node-3", "node-4"}
    assert {s.namespace for s in c.namespaces} == {"ns-0", "ns-1", "ns-2"}
    assert len(default_scenario().pods) == len(SEED_SPEC["pods"])


def test_a_generated_cluster_with_a_bad_pod_name_is_refused():
    """validate() holds any cluster to the rules, not only spec files."""
    from fastpath.model import PodTable, validate

    c = generate(hosts=1, nodes_per_host=1, pods_per_node=3, namespaces=1, seed=1)
    p = c.pods
    bad = [str(x) for x in p.name]
    bad[2] = "Pod_2"
    c.pods = PodTable(bad, p.namespace, p.node, p.ip, p.mac, p.vlan, None,
                      ns_names=[s.namespace for s in c.namespaces], node_names=[n.name for n in c.nodes])
    with pytest.raises(SpecError, match=r"^pods\[2\]\.name: 'Pod_2' is not a DNS-1123 subdomain"):
        validate(c)


# ---- T0 uplinks and static routes -----------------------------------------------------------------
def with_routes(*routes, uplinks=()) -> dict:
    s = seed()
    s["t0"]["uplinks"] += list(uplinks)
    s["t0"]["routes"] = [{"prefix": p, "next_hop": nh} for p, nh in routes]
    return s


UP2 = {"name": "uplink-2", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1"}


@pytest.mark.parametrize("uplink, path, phrase", [
    ({"ip": "203.0.113.0/24"}, "t0.uplinks[0].ip", "203.0.113.0 is the network address of 203.0.113.0/24"),
    ({"ip": "203.0.113.255/24"}, "t0.uplinks[0].ip", "203.0.113.255 is the broadcast address of 203.0.113.0/24"),
    ({"next_hop": "203.0.113.0"}, "t0.uplinks[0].next_hop", "203.0.113.0 is the network address of 203.0.113.0/24"),
    ({"next_hop": "203.0.113.255"}, "t0.uplinks[0].next_hop", "203.0.113.255 is the broadcast address"),
    ({"ip": "203.0.113.2/32"}, "t0.uplinks[0].next_hop", "203.0.113.1 is not a neighbor on 203.0.113.2/32"),
    ({"ip": "172.16.9.2/24", "next_hop": "172.16.9.1"}, "t0.uplinks[0].ip",
     "subnet 172.16.9.0/24 overlaps the pod CIDR 172.16.0.0/16"),
    ({"ip": "172.15.0.200/25", "next_hop": "172.15.0.129"}, "t0.uplinks[0].ip", "overlaps the node segment 172.15.0.0/24"),
    ({"ip": "100.64.9.2/24", "next_hop": "100.64.9.1"}, "t0.uplinks[0].ip", "overlaps the router link CIDR 100.64.0.0/16"),
    ({"ip": "169.254.0.2/24", "next_hop": "169.254.0.1"}, "t0.uplinks[0].ip", "overlaps the DR-SR transit link 169.254.0.0/28"),
])
def test_uplinks_that_cannot_work(uplink, path, phrase):
    s = seed()
    s["t0"]["uplinks"][0].update(uplink)
    s["t0"]["routes"] = []
    rejects(s, path, phrase)


def test_uplink_subnets_overlapping_each_other():
    s = with_routes(uplinks=[dict(UP2, ip="203.0.113.130/25", next_hop="203.0.113.129")])
    rejects(s, "t0.uplinks[1].ip", "subnet 203.0.113.128/25 overlaps 203.0.113.0/24 of t0.uplinks[0] (uplink-1)")


def test_uplink_on_a_31_has_no_network_or_broadcast_address():
    s = with_routes(("0.0.0.0/0", "198.51.100.0"), uplinks=[dict(UP2, ip="198.51.100.1/31", next_hop="198.51.100.0")])
    assert from_spec(s).uplinks[1].prefixlen == 31


@pytest.mark.parametrize("routes, path, phrase", [
    ([("0.0.0.0/0", "203.0.113.2")], "t0.routes[0].next_hop", "203.0.113.2 is the T0's own address on uplink-1"),
    ([("0.0.0.0/0", "198.51.100.2")], "t0.routes[0].next_hop", "198.51.100.2 is the T0's own address on uplink-2"),
    ([("0.0.0.0/0", "203.0.113.0")], "t0.routes[0].next_hop", "203.0.113.0 is the network address of uplink-1's subnet"),
    ([("0.0.0.0/0", "203.0.113.255")], "t0.routes[0].next_hop", "203.0.113.255 is the broadcast address"),
    ([("0.0.0.0/0", "203.0.113.1"), ("10.0.0.0/8", "203.0.113.1"), ("0.0.0.0/0", "198.51.100.1")],
     "t0.routes[2].prefix", "0.0.0.0/0 is already routed by t0.routes[0]"),
    ([("198.51.100.0/24", "203.0.113.1")], "t0.routes[0].prefix", "198.51.100.0/24 is the subnet of uplink uplink-2"),
    ([("203.0.113.2/32", "198.51.100.1")], "t0.routes[0].prefix", "203.0.113.2/32 is the T0's own address on uplink-1"),
    ([("203.0.113.0/25", "203.0.113.1")], "t0.routes[0].next_hop",
     "the route points back into itself: its prefix 203.0.113.0/25 holds its next hop 203.0.113.1 and is more "
     "specific than uplink-1's subnet 203.0.113.0/24"),
    ([("0.0.0.0/0", "203.0.113.1"), ("203.0.113.1/32", "203.0.113.1")], "t0.routes[1].next_hop",
     "points back into itself"),
    ([("203.0.113.128/25", "198.51.100.1"), ("0.0.0.0/0", "203.0.113.200")], "t0.routes[1].next_hop",
     "203.0.113.200 resolves through t0.routes[0] (203.0.113.128/25, out of uplink-2), which is more specific than "
     "uplink-1's subnet 203.0.113.0/24: the route would not leave by uplink-1"),
])
def test_static_routes_that_cannot_work(routes, path, phrase):
    rejects(with_routes(*routes, uplinks=[UP2]), path, phrase)


def test_static_routes_a_user_may_want_are_kept():
    from fastpath.model.routing import lookup, rib

    routes = [("0.0.0.0/0", "203.0.113.1"), ("10.0.0.0/8", "198.51.100.1"), ("10.1.0.0/16", "203.0.113.1"),
              ("10.1.0.0/24", "198.51.100.1"),  # overlapping but distinct
              ("172.16.0.0/16", "198.51.100.1"), ("172.16.3.0/25", "198.51.100.1"),  # into the pod CIDR
              ("203.0.0.0/16", "198.51.100.9"),  # holds uplink-1's subnet, less specific
              ("203.0.113.0/26", "203.0.113.100"),  # inside uplink-1's subnet, next hop outside it
              ("192.0.2.0/24", "203.0.113.10")]  # next hop resolved via the /26 above: the same uplink
    c = from_spec(with_routes(*routes, uplinks=[UP2]))
    assert [(str(r.prefix), ip_to_str(r.next_hop)) for r in c.routes] == routes
    t0 = rib(c)["t0-sr"]

    def out(ip):
        return lookup(t0, int(ipaddress.IPv4Address(ip)))

    assert [out(ip).uplink for ip in ("8.8.8.8", "10.2.0.1", "10.1.9.9", "10.1.0.9", "192.0.2.1")] == \
        ["uplink-1", "uplink-2", "uplink-1", "uplink-2", "uplink-1"]
    # into the pod CIDR: the more specific prefix wins either way
    assert out("172.16.3.5").uplink == "uplink-2" and out("172.16.9.9").uplink == "uplink-2"
    assert out("172.16.3.200").kind == "router" and out("172.16.1.5").kind == "router"
