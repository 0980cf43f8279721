"""The reference walk on the seed scenario: every traffic class, each asserted hop by hop."""

import copy
import ipaddress

import pytest

from fastpath.model import default_scenario, from_spec
from fastpath.model.addressing import ip_from_str, mac_from_str
from fastpath.model.scenarios import SEED_SPEC
from fastpath.reference import Ingress, Packet, trace, walk
from fastpath.verdicts import DeviceKind, Reason, Verdict


@pytest.fixture(scope="module")
def seed():
    return default_scenario()


def ips(res):
    return [str(ipaddress.IPv4Address(x)) for x in res.traceroute]


def test_seed_traceroute_kube_dns_to_other_worker_is_exact(seed):
    res = trace(seed, "kube-system/kube-dns", "worker-2")
    assert res.verdict is Verdict.DELIVERED and res.device == "worker-2"
    assert ips(res) == ["172.16.1.1", "100.64.0.2", "100.64.0.1", "172.15.0.4"]
    assert res.traceroute_devices == ["t1-kube-system", "t0", "t1-nodes", "worker-2"]
    assert res.hops[0].ttl == 64 and res.ttl_out == 61
    # the VLAN tag on the node uplink is the pod's tag, and the tunnel carries the node segment's VNI
    ovs = next(h for h in res.hops if h.kind is DeviceKind.OVS)
    assert ovs.headers["vlan"] == seed.pod("kube-system/kube-dns").vlan == 1
    [tun] = res.tunnels
    assert (tun.src_host, tun.dst_host, tun.vni) == ("esx-1", "esx-2", seed.node_segment.vni)
    geneve = next(h for h in res.hops if h.kind is DeviceKind.TUNNEL)
    assert geneve.headers["outer"]["udp_dport"] == 6081
    assert geneve.headers["outer"]["src_tep"] == str(ipaddress.IPv4Address(seed.host("esx-1").tep))
    assert geneve.headers["outer"]["outer_ip_len"] == 100 + 50
    assert tun.outer_bytes == 100 + 50 + 14 == res.underlay_bytes


def test_router_hops_each_decrement_ttl_and_rewrite_macs(seed):
    res = trace(seed, "kube-system/kube-dns", "worker-2")
    ttls = [h.ttl for h in res.hops if h.kind in (DeviceKind.T1, DeviceKind.T0)]
    assert ttls == [63, 62, 61]
    last = res.hops[-1].headers
    assert last["eth_src"] == "02:50:56:56:44:52"
    assert mac_from_str(last["eth_dst"]) == seed.node("worker-2").mac


def test_same_node_same_namespace_is_switched_not_routed(seed):
    res = trace(seed, "kube-system/kube-dns", "kube-system/heapster")
    assert res.verdict is Verdict.DELIVERED and res.device == "kube-system/heapster"
    assert res.ttl_out == 64 and res.tunnels == [] and ips(res) == ["172.16.1.3"]
    kinds = [h.kind for h in res.hops]
    assert DeviceKind.T1 not in kinds and kinds.count(DeviceKind.OVS) == 2  # up the trunk and back down
    assert res.hops[0].table == "arp"


def test_same_node_other_namespace_routes_through_t0_without_tunnel(seed):
    res = trace(seed, "kube-system/kube-dns", "default/nginx-1")
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 61 and res.tunnels == []
    assert ips(res) == ["172.16.1.1", "100.64.0.2", "100.64.0.5", "172.16.2.2"]


def test_other_node_same_namespace_tunnels_with_the_namespace_vni(seed):
    res = trace(seed, "kube-system/kube-dns", "kube-system/coredns-2")
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 64
    [tun] = res.tunnels
    assert (tun.src_host, tun.dst_host, tun.vni) == ("esx-1", "esx-2", seed.segment_of_namespace("kube-system").vni)


def test_other_node_other_namespace_tunnels_once_with_destination_vni(seed):
    res = trace(seed, "kube-system/kube-dns", "web/frontend-2")
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 61
    [tun] = res.tunnels
    assert tun.vni == seed.segment_of_namespace("web").vni and tun.dst_host == "esx-2"
    # delivered down the destination node's trunk with the destination pod's tag
    tag = seed.pod("web/frontend-2").vlan
    vif = [h for h in res.hops if h.kind is DeviceKind.VIF][-1]
    assert vif.headers["vlan"] == tag and res.hops[-2].headers["vlan"] == tag  # VIF pushes, OVS carries
    assert res.hops[-1].headers["vlan"] is None  # the pod port is an access port: untagged


def test_node_to_pod(seed):
    res = trace(seed, "worker-2", "kube-system/kube-dns")
    assert res.verdict is Verdict.DELIVERED and res.device == "kube-system/kube-dns" and res.ttl_out == 61
    assert ips(res) == ["172.15.0.1", "100.64.0.0", "100.64.0.3", "172.16.1.2"]
    assert [(t.src_host, t.dst_host) for t in res.tunnels] == [("esx-2", "esx-1")]
    assert res.hops[1].table == "vif" and res.hops[1].headers["vlan"] is None  # node traffic is untagged


def test_pod_to_external_exits_through_t0_uplink_via_edge(seed):
    res = trace(seed, "kube-system/kube-dns", "8.8.8.8")
    assert res.verdict is Verdict.EXITED and res.device == "uplink-1" and res.device_kind is DeviceKind.UPLINK
    assert ips(res) == ["172.16.1.1", "100.64.0.2", "169.254.0.2"] and res.ttl_out == 61
    assert res.via_edge
    [tun] = res.tunnels
    assert (tun.dst_host, tun.vni) == ("edge-1", seed.t0.transit_vni)


def test_uplink_ingress_reaches_pod_from_the_edge(seed):
    res = trace(seed, "uplink-1", "kube-system/kube-dns")
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 61
    assert ips(res) == ["203.0.113.2", "169.254.0.1", "100.64.0.3", "172.16.1.2"]
    assert [(t.src_host, t.dst_host) for t in res.tunnels] == [("edge-1", "esx-1")]


def test_service_router_t1_hairpins_through_the_edge(seed):
    res = trace(seed, "kube-system/kube-dns", "payments/checkout-2")
    assert res.verdict is Verdict.DELIVERED and res.via_edge
    assert ips(res) == ["172.16.1.1", "100.64.0.2", "100.64.0.11", "169.254.0.1", "172.16.5.3"]
    assert res.ttl_out == 60
    t1 = next(r for r in seed.t1s if r.name == "t1-payments")
    assert [(t.src_host, t.dst_host, t.vni) for t in res.tunnels] == [
        ("esx-1", "edge-1", t1.transit_vni), ("edge-1", "esx-3", seed.segment_of_namespace("payments").vni)]


def test_no_route_drops_at_the_router_without_icmp():
    spec = copy.deepcopy(SEED_SPEC)
    spec["t0"]["routes"] = []
    c = from_spec(spec)
    res = trace(c, "kube-system/kube-dns", "8.8.8.8")
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.NO_ROUTE, "t0-sr")
    assert ips(res) == ["172.16.1.1", "100.64.0.2"]  # no reply from the router that had no route


@pytest.mark.parametrize("ttl,device,responder", [
    (1, "t1-kube-system", "172.16.1.1"), (2, "t0", "100.64.0.2"), (3, "t1-nodes", "100.64.0.1")])
def test_ttl_expires_at_each_router_hop_of_the_seed_path(seed, ttl, device, responder):
    res = trace(seed, "kube-system/kube-dns", "worker-2", ttl=ttl)
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.TTL_EXPIRED, device)
    assert ips(res)[-1] == responder and len(res.traceroute) == ttl
    assert res.tunnels == []  # dropped before any encapsulation


def test_ttl_4_is_the_least_that_reaches_the_other_worker(seed):
    res = trace(seed, "kube-system/kube-dns", "worker-2", ttl=4)
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 1


@pytest.mark.parametrize("ttl,device", [(3, "t1-payments-sr"), (4, "t1-payments")])
def test_ttl_expires_at_service_router_hops(seed, ttl, device):
    res = trace(seed, "kube-system/kube-dns", "payments/checkout-2", ttl=ttl)
    assert (res.reason, res.device) == (Reason.TTL_EXPIRED, device)
    assert res.device_kind is (DeviceKind.EDGE if device.endswith("-sr") else DeviceKind.T1)


def test_neighbor_miss_behind_a_router(seed):
    res = trace(seed, "kube-system/kube-dns", "172.15.0.200")
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.NO_NEIGHBOR, "t1-nodes")


def test_neighbor_miss_on_link_drops_at_the_sender(seed):
    res = trace(seed, "kube-system/kube-dns", "172.16.1.200")
    assert (res.reason, res.device, res.device_kind) == (Reason.NO_NEIGHBOR, "kube-system/kube-dns", DeviceKind.POD)


def test_mtu_exceeded_at_the_encapsulating_host(seed):
    ok = trace(seed, "kube-system/kube-dns", "worker-2", size=1600 - 50)
    assert ok.verdict is Verdict.DELIVERED
    res = trace(seed, "kube-system/kube-dns", "worker-2", size=1600 - 49)
    assert (res.verdict, res.reason, res.device_kind) == (Verdict.DROPPED, Reason.MTU_EXCEEDED, DeviceKind.TUNNEL)
    assert res.device == "geneve:esx-1->esx-2"


def test_mtu_not_checked_without_encapsulation(seed):
    res = trace(seed, "kube-system/kube-dns", "default/nginx-1", size=9000)
    assert res.verdict is Verdict.DELIVERED and res.tunnels == []


def test_mtu_uses_geneve_options_and_smaller_end():
    spec = copy.deepcopy(SEED_SPEC)
    spec["cluster"]["geneve_option_bytes"] = 8
    spec["hosts"][1]["mtu"] = 1500
    c = from_spec(spec)
    assert trace(c, "kube-system/kube-dns", "worker-2", size=1500 - 58).verdict is Verdict.DELIVERED
    assert trace(c, "kube-system/kube-dns", "worker-2", size=1500 - 57).reason is Reason.MTU_EXCEEDED


def test_spoofed_source_ip_is_dropped_by_spoofguard(seed):
    res = trace(seed, "kube-system/kube-dns", "worker-2", src_ip="172.16.1.3")
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.SPOOFGUARD, "lp:kube-system/kube-dns")


def test_spoofed_source_mac_is_dropped_by_spoofguard(seed):
    res = trace(seed, "worker-1", "worker-2", src_mac=mac_from_str("00:50:56:00:00:99"))
    assert (res.reason, res.device) == (Reason.SPOOFGUARD, "lp:worker-1")


def test_dfw_deny_rule_drops_at_the_source_port(seed):
    res = trace(seed, "default/nginx-1", "db/postgres-0")
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.DFW_DENY, "lp:default/nginx-1")
    assert trace(seed, "web/frontend-1", "db/postgres-0").verdict is Verdict.DELIVERED


def test_dfw_port_range_and_protocol_match():
    spec = copy.deepcopy(SEED_SPEC)
    spec["dfw"] = {"default": "allow", "rules": [
        {"name": "allow-dns", "action": "allow", "dst": "172.16.1.0/24", "proto": "udp", "dport": 53},
        {"name": "deny-kube-system", "action": "deny", "dst": "172.16.1.0/24"}]}
    c = from_spec(spec)
    assert trace(c, "web/frontend-2", "kube-system/kube-dns", dport=53).verdict is Verdict.DELIVERED
    assert trace(c, "web/frontend-2", "kube-system/kube-dns", dport=54).reason is Reason.DFW_DENY
    assert trace(c, "web/frontend-2", "kube-system/kube-dns", proto=6, dport=53).reason is Reason.DFW_DENY


def test_dfw_default_deny_applies_at_destination_for_uplink_ingress():
    spec = copy.deepcopy(SEED_SPEC)
    spec["dfw"] = {"default": "deny", "rules": []}
    c = from_spec(spec)
    res = trace(c, "uplink-1", "kube-system/kube-dns")
    assert (res.reason, res.device) == (Reason.DFW_DENY, "lp:kube-system/kube-dns")


def test_packet_to_a_router_address_is_delivered_to_the_router(seed):
    res = trace(seed, "kube-system/kube-dns", "172.16.1.1", ttl=1)
    assert (res.verdict, res.device) == (Verdict.DELIVERED, "t1-kube-system") and res.ttl_out == 1
    res = trace(seed, "kube-system/kube-dns", "100.64.0.1")
    assert (res.verdict, res.device, res.ttl_out) == (Verdict.DELIVERED, "t1-nodes", 62)


@pytest.mark.parametrize("field,value", [("ttl", 0), ("size", 0), ("size", 27), ("ttl", 256), ("proto", 300)])
def test_malformed_packets_get_one_verdict_at_ingress(seed, field, value):
    pod = seed.pod("kube-system/kube-dns")
    pkt = Packet(pod.ip, seed.node("worker-2").ip)
    setattr(pkt, field, value)
    res = walk(seed, Ingress("pod", pod.index), pkt)
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.MALFORMED, pod.key)


def test_frame_to_the_senders_own_mac_is_dropped_by_ovs_as_learned_on_its_input_port(seed):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("172.16.1.3"), dst_mac=pod.mac))
    assert (res.verdict, res.reason, res.device) == (Verdict.DROPPED, Reason.LEARNED_ON_INPUT, "ovs@worker-1")
    assert res.hops[-1].result == "the frame's own source, just learned on the input port (pod port of " \
                                  "kube-system/kube-dns): dropped"
    assert res.reason.label == "learned-on-input"


def test_frame_to_an_unknown_mac_is_dropped_by_the_segment(seed):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("172.16.1.3"), dst_mac=0x0200_DEAD_BEEF))
    assert (res.reason, res.device) == (Reason.UNKNOWN_MAC, "ls-kube-system")


def test_every_pair_of_the_seed_gets_exactly_one_verdict(seed):
    names = list(seed.pod_index) + [n.name for n in seed.nodes]
    for a in names:
        for b in names:
            res = trace(seed, a, b)
            assert res.verdict in Verdict
            dfw = a.startswith("default/") and b.startswith("db/")
            assert res.verdict is (Verdict.DROPPED if dfw else Verdict.DELIVERED), (a, b, res.reason)


def test_tagged_frame_from_a_pod_is_discarded_by_the_access_port(seed):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, seed.node("worker-2").ip, vlan=pod.vlan))
    assert (res.reason, res.device) == (Reason.UNKNOWN_VLAN, "ovs@worker-1")


def test_tagged_frame_from_a_node_reaches_the_pod_port_and_meets_spoofguard(seed):
    node = seed.node("worker-1")
    dns = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("node", seed.node_index["worker-1"]), Packet(node.ip, seed.node("worker-2").ip, vlan=dns.vlan))
    assert (res.reason, res.device) == (Reason.SPOOFGUARD, "lp:kube-system/kube-dns")
    # the same frame with the pod's own addresses passes: the VIF cannot tell who tagged it
    res = walk(seed, Ingress("node", seed.node_index["worker-1"]),
               Packet(dns.ip, seed.node("worker-2").ip, vlan=dns.vlan, src_mac=dns.mac, dst_mac=seed.settings.router_mac))
    assert res.verdict is Verdict.DELIVERED and res.ttl_out == 61
    # left to its own stack the node addresses worker-2 on-link: unknown on the pod's segment
    res = walk(seed, Ingress("node", seed.node_index["worker-1"]),
               Packet(dns.ip, seed.node("worker-2").ip, vlan=dns.vlan, src_mac=dns.mac))
    assert (res.reason, res.device) == (Reason.UNKNOWN_MAC, "ls-kube-system")


@pytest.mark.parametrize("vlan", [4000, 4095])
def test_node_frame_with_an_unused_tag_is_dropped_at_the_vif(seed, vlan):
    node = seed.node("worker-1")
    res = walk(seed, Ingress("node", seed.node_index["worker-1"]), Packet(node.ip, 1, vlan=vlan))
    assert (res.reason, res.device) == (Reason.UNKNOWN_VLAN, "vif@worker-1")


@pytest.mark.parametrize("vlan", [4096, 65535])
def test_impossible_vlan_ids_are_malformed(seed, vlan):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, 1, vlan=vlan))
    assert res.reason is Reason.MALFORMED


# ---- the node's OVS bridge (NORMAL; tests/test_ovs_real.py holds it against a real Open vSwitch) ----
def _ovs_results(res, node="worker-1"):
    return [h.result for h in res.hops if h.device == f"ovs@{node}"]


def test_ovs_hop_texts_of_a_routed_and_a_switched_packet(seed):
    res = trace(seed, "kube-system/kube-dns", "worker-2")
    assert _ovs_results(res) == ["router MAC, learned on the trunk -> trunk, tag 1"]
    res = trace(seed, "kube-system/kube-dns", "kube-system/heapster")
    assert _ovs_results(res) == ["learned on the trunk, or unknown and flooded in the VLAN -> trunk, tag 1",
                                 "learned on the pod port of kube-system/heapster -> untagged to it"]
    [up, down] = [h for h in res.hops if h.kind is DeviceKind.OVS]
    assert (up.headers["vlan"], down.headers["vlan"]) == (1, 2)
    assert res.hops[-1].headers["vlan"] is None  # untagged into the pod


@pytest.mark.parametrize("mac,text", [(0xFF_FF_FF_FF_FF_FF, "broadcast: flooded in the VLAN -> trunk, tag 1"),
                                      (0x01_00_5E_00_00_FB, "multicast: flooded in the VLAN -> trunk, tag 1"),
                                      (0x01_80_C2_00_00_10, "multicast: flooded in the VLAN -> trunk, tag 1")])
def test_group_destinations_from_a_pod_flood_to_the_trunk_and_die_on_the_segment(seed, mac, text):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("172.16.1.3"), dst_mac=mac))
    assert _ovs_results(res) == [text]
    assert (res.reason, res.device) == (Reason.UNKNOWN_MAC, "ls-kube-system")  # flooding is not modeled there


@pytest.mark.parametrize("mac", [0x01_80_C2_00_00_00, 0x01_80_C2_00_00_0E, 0x01_00_0C_CC_CC_CC, 0x00_E0_2B_00_00_04])
def test_reserved_destination_is_dropped_by_the_bridge_it_enters(seed, mac):
    pod = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("172.16.1.3"), dst_mac=mac))
    assert (res.verdict, res.reason, res.device, res.device_kind) == (
        Verdict.DROPPED, Reason.RESERVED_MAC, "ovs@worker-1", DeviceKind.OVS)
    assert res.hops[-1].result == "reserved destination MAC (no forward-bpdu): dropped"
    assert res.reason.label == "reserved-mac"


def test_a_pod_with_a_reserved_mac_gets_nothing_through_its_bridge():
    spec = copy.deepcopy(SEED_SPEC)
    next(p for p in spec["pods"] if p["name"] == "heapster")["mac"] = "00:e0:2b:00:00:06"
    c = from_spec(spec)
    res = trace(c, "kube-system/kube-dns", "kube-system/heapster")  # ARP answers: the bridge it enters drops it
    assert (res.reason, res.device, len(_ovs_results(res))) == (Reason.RESERVED_MAC, "ovs@worker-1", 1)
    res = trace(c, "web/frontend-2", "kube-system/heapster")  # routed: the destination's bridge drops it
    assert (res.reason, res.device) == (Reason.RESERVED_MAC, "ovs@worker-1")
    assert [h.kind for h in res.hops[-2:]] == [DeviceKind.VIF, DeviceKind.OVS]
    assert trace(c, "kube-system/heapster", "web/frontend-2").verdict is Verdict.DELIVERED


def test_priority_tag_is_untagged_and_any_other_tag_dropped_at_the_access_port(seed):
    pod = seed.pod("kube-system/kube-dns")
    dst = seed.node("worker-2").ip
    untagged = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, dst))
    assert walk(seed, Ingress("pod", pod.index), Packet(pod.ip, dst, vlan=0)).as_dict() == untagged.as_dict()
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, dst, vlan=7))
    assert (res.reason, res.device) == (Reason.UNKNOWN_VLAN, "ovs@worker-1")
    assert (res.hops[-1].table, res.hops[-1].key, res.hops[-1].result) == (
        "ovs_port", "access port vlan 1", "tagged frame (vid 7) on an access port: dropped")


def test_a_frame_to_its_own_spoofed_source_is_dropped_by_the_bridge(seed):
    pod = seed.pod("kube-system/kube-dns")
    rm = seed.settings.router_mac
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, 1, src_mac=rm, dst_mac=rm))
    assert (res.reason, res.device) == (Reason.LEARNED_ON_INPUT, "ovs@worker-1")
    # a group source is never learned: flooded up, then SpoofGuard meets the spoofer
    res = walk(seed, Ingress("pod", pod.index), Packet(pod.ip, 1, src_mac=0x01_00_5E_00_00_01, dst_mac=0x01_00_5E_00_00_01))
    assert (res.reason, res.device) == (Reason.SPOOFGUARD, "lp:kube-system/kube-dns")


def test_a_nodes_frame_as_its_pod_to_that_pods_mac_dies_back_at_the_bridge(seed):
    dns = seed.pod("kube-system/kube-dns")
    res = walk(seed, Ingress("node", seed.node_index["worker-1"]),
               Packet(dns.ip, 1, vlan=dns.vlan, src_mac=dns.mac, dst_mac=dns.mac))
    assert (res.reason, res.device) == (Reason.LEARNED_ON_INPUT, "ovs@worker-1")
    assert res.hops[-1].result == "the frame's own source, just learned on the input port (trunk): dropped"
    assert res.hops[-1].headers["vlan"] == dns.vlan


def test_unknown_unicast_from_the_trunk_floods_to_the_pod_whose_stack_discards_it(seed):
    """No walk gets here (the segment hands a port only frames for its MAC): the bridge alone."""
    from fastpath.reference.walk import _Verdict, _Walk

    dns = seed.pod("kube-system/kube-dns")
    w = _Walk(seed, Packet(1, dns.ip))
    w.src_mac, w.dst_mac, w.vlan = seed.settings.router_mac, 0x02_00_DE_AD_BE_EF, dns.vlan
    with pytest.raises(_Verdict) as v:
        w.ovs_to_pod(dns, seed.node("worker-1"))
    assert (v.value.verdict, v.value.reason, v.value.device, v.value.kind) == (
        Verdict.DROPPED, Reason.UNKNOWN_MAC, "kube-system/kube-dns", DeviceKind.POD)
    assert [h.result for h in w.res.hops] == [
        "not learned: flooded in the VLAN -> the pod port of kube-system/kube-dns (its only other port), untagged",
        "02:00:de:ad:be:ef is not its MAC (02:00:00:00:00:01): discarded"]


def test_new_reasons_come_last_with_their_labels():
    from fastpath.verdicts import REASON_BY_LABEL

    assert list(Reason)[-3:] == [Reason.RESERVED_MAC, Reason.LEARNED_ON_INPUT, Reason.NO_ENDPOINT]
    assert (Reason.MALFORMED, Reason.RESERVED_MAC, Reason.LEARNED_ON_INPUT, Reason.NO_ENDPOINT) == (9, 10, 11, 12)
    assert REASON_BY_LABEL["reserved-mac"] is Reason.RESERVED_MAC
    assert REASON_BY_LABEL["learned-on-input"] is Reason.LEARNED_ON_INPUT
    assert REASON_BY_LABEL["no-endpoint"] is Reason.NO_ENDPOINT
