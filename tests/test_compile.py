"""compile_cluster: every table answers for every pod and node what the model says, misses
read -1, and the sizes report adds up to the arrays."""

from __future__ import annotations

import dataclasses
import ipaddress

import numpy as np
import pytest

from fastpath.compile import (L2_ROUTER, OVS_UPLINK, OVS_VLAN_BITS, PORT_NODE, PORT_POD,
                              ROUTE_KINDS, RTR_T0, RTR_T1, Tables, compile_cluster)
from fastpath.compile.bundle import _GROUPS
from fastpath.model import default_scenario, generate, routing
from fastpath.tables import exact, mtrie
from fastpath.tables import ports as port_table

CLUSTERS = {
    "default": default_scenario,
    "generated": lambda: generate(4, 2, 7, 30, service_t1_fraction=0.5, dfw_rules=6, seed=11),
}


@pytest.fixture(scope="module", params=list(CLUSTERS))
def compiled(request):
    cluster = CLUSTERS[request.param]()
    return cluster, compile_cluster(cluster)


def ovs_key(node, vlan):
    return (np.asarray(node).astype(np.uint64) << np.uint64(OVS_VLAN_BITS)) | np.asarray(vlan).astype(np.uint64)


def test_every_pod_is_found_in_ovs_mac_vif_segment_l2_and_neighbor(compiled):
    c, t = compiled
    p, n = c.pods, len(c.pods)
    rows = np.arange(n)
    seg = p.namespace.astype(np.uint64) + np.uint64(1)
    assert np.array_equal(exact.lookup_bulk(t.ovs_mac, ovs_key(p.node, p.vlan), p.mac), rows)
    assert np.array_equal(exact.lookup_bulk(t.vif, p.node, p.vlan), rows)
    assert np.array_equal(exact.lookup_bulk(t.segment_l2, seg, p.mac), rows)
    assert [t.neighbor_of(s, ip) for s, ip in zip(seg.tolist(), p.ip.tolist())] == rows.tolist()
    for i in range(0, n, max(1, n // 20)):  # the plain-Python lookup agrees
        pod = p[i]
        node = c.node_index[pod.node]
        assert exact.lookup(t.ovs_mac, node << OVS_VLAN_BITS | pod.vlan, pod.mac) == i
        assert exact.lookup(t.vif, node, pod.vlan) == i
        assert t.neighbor_of(c.namespace_index[pod.namespace] + 1, pod.ip) == i


def test_router_mac_entries_one_per_pod_vlan_and_one_per_segment(compiled):
    c, t = compiled
    p, rmac = c.pods, c.settings.router_mac
    uplink = exact.lookup_bulk(t.ovs_mac, ovs_key(p.node, p.vlan), np.full(len(p), rmac, np.uint64))
    assert (uplink == OVS_UPLINK).all()
    assert t.ovs_mac.size == 2 * len(p)
    seg = exact.lookup_bulk(t.segment_l2, np.arange(len(c.segments)), np.full(len(c.segments), rmac, np.uint64))
    assert (seg == L2_ROUTER).all()


def test_nodes_are_ports_after_the_pods_on_the_node_segment(compiled):
    c, t = compiled
    n_pods = len(c.pods)
    for k, node in enumerate(c.nodes):
        port = n_pods + k
        assert exact.lookup(t.segment_l2, 0, node.mac) == port
        assert t.neighbor_of(0, node.ip) == port
        assert t.port_kind[port] == PORT_NODE and t.port_node[port] == k and t.port_vlan[port] == 0
        assert t.port_ip[port] == node.ip and t.port_mac[port] == node.mac and t.port_segment[port] == 0
        assert t.port_host[port] == t.node_host[k] == c.host_index[node.host]


def test_misses_read_minus_one(compiled):
    c, t = compiled
    p = c.pods
    node0 = int(p.node[0])
    free_vlan = next(v for v in range(1, 4095) if v not in set(p.vlan[p.node == node0].tolist()))
    other = next((i for i in range(len(p)) if p.node[i] != node0), None)
    assert exact.lookup(t.vif, node0, free_vlan) == -1
    assert exact.lookup(t.vif, len(c.nodes), p.vlan[0]) == -1
    assert exact.lookup(t.ovs_mac, node0 << OVS_VLAN_BITS | free_vlan, int(p.mac[0])) == -1
    assert exact.lookup(t.ovs_mac, node0 << OVS_VLAN_BITS | int(p.vlan[0]), c.nodes[0].mac) == -1
    if other is not None:  # another node's pod MAC is not on this OVS VLAN
        assert exact.lookup(t.ovs_mac, node0 << OVS_VLAN_BITS | int(p.vlan[0]), int(p.mac[other])) == -1
    seg0 = int(p.namespace[0]) + 1
    wrong_seg = 0 if seg0 != 0 else 1
    assert exact.lookup(t.segment_l2, wrong_seg, int(p.mac[0])) == -1
    assert t.neighbor_of(wrong_seg, int(p.ip[0])) == -1
    subnet = c.segments[seg0].subnet
    used = set(p.ip.tolist())
    unused = next(int(a) for a in subnet.hosts() if int(a) not in used and int(a) != c.segments[seg0].gateway)
    assert t.neighbor_of(seg0, unused) == -1
    assert t.neighbor_of(len(c.segments), int(p.ip[0])) == -1
    assert exact.lookup(t.segment_l2, len(c.segments), c.settings.router_mac) == -1


def test_port_columns_follow_the_pod_table(compiled):
    c, t = compiled
    p, n = c.pods, len(c.pods)
    assert t.n_ports == n + len(c.nodes) and t.port_kind.shape == (t.n_ports,)
    assert (t.port_kind[:n] == PORT_POD).all()
    assert np.array_equal(t.port_node[:n], p.node) and np.array_equal(t.port_ip[:n], p.ip)
    assert np.array_equal(t.port_mac[:n], p.mac) and np.array_equal(t.port_vlan[:n], p.vlan)
    assert np.array_equal(t.port_segment[:n], p.namespace + 1)
    assert np.array_equal(t.port_host[:n], t.node_host[p.node])
    assert [int(x) for x in t.host_tep] == [h.tep for h in c.hosts]
    assert [int(x) for x in t.host_mtu] == [h.mtu for h in c.hosts]
    assert [bool(x) for x in t.host_is_edge] == [h.edge for h in c.hosts]


def test_segments_and_router_instances_follow_the_rib(compiled):
    c, t = compiled
    rib = routing.rib(c)
    names = list(rib)
    assert t.router_names == tuple(names) and t.n_routers == len(names)
    for s, seg in enumerate(c.segments):
        assert t.seg_vni[s] == seg.vni and t.seg_gateway[s] == seg.gateway
        assert names[t.seg_router[s]] == seg.t1 and not t.rtr_is_sr[t.seg_router[s]]
    for r, inst in enumerate(rib.values()):
        assert bool(t.rtr_is_sr[r]) == inst.sr
        assert t.rtr_host[r] == (c.host_index[inst.host] if inst.sr else -1)
        assert t.rtr_transit_vni[r] == (inst.transit_vni or 0)
        assert t.rtr_kind[r] == {"t1": RTR_T1, "t0": RTR_T0}[inst.kind]
    assert t.uplink_names == tuple(u.name for u in c.uplinks)


def test_route_rows_decode_to_the_rib_routes(compiled):
    c, t = compiled
    names = list(routing.rib(c))
    segs = [s.name for s in c.segments]
    row = 0
    for r, inst in enumerate(routing.rib(c).values()):
        for rt in inst.routes:
            assert t.route_router[row] == r
            assert t.route_network[row] == int(rt.prefix.network_address)
            assert t.route_prefix_len[row] == rt.prefix.prefixlen
            assert ROUTE_KINDS[t.route_kind[row]] == rt.kind
            arg = int(t.route_arg[row])
            if rt.kind == "connected":
                assert segs[arg] == rt.segment
            elif rt.kind == "router":
                assert names[arg] == rt.next_router and t.route_arrive_ip[row] == rt.arrive_ip
            elif rt.kind == "uplink":
                assert t.uplink_names[arg] == rt.uplink
            else:
                assert arg == -1
            row += 1
    assert row == t.n_routes


def test_route_trie_returns_the_route_routing_lookup_picks(compiled):
    c, t = compiled
    insts = list(routing.rib(c).values())
    addrs = {0, 0xFFFF_FFFF, int(ipaddress.IPv4Address("8.8.8.8"))}
    for inst in insts:
        for rt in inst.routes:
            net, bcast = int(rt.prefix.network_address), int(rt.prefix.broadcast_address)
            addrs.update(a for a in (net - 1, net, net + 1, bcast, bcast + 1) if 0 <= a <= 0xFFFF_FFFF)
    addrs = sorted(addrs)
    for r, inst in enumerate(insts):
        got = mtrie.lookup_bulk(t.route_trie, np.full(len(addrs), r), np.array(addrs, np.int64))
        for ip, idx in zip(addrs, got.tolist()):
            want = routing.lookup(inst, ip)
            if want is None:
                assert idx == -1
            else:
                assert t.route_router[idx] == r and ROUTE_KINDS[t.route_kind[idx]] == want.kind
                assert t.route_network[idx] == int(want.prefix.network_address)
                assert t.route_prefix_len[idx] == want.prefix.prefixlen


def test_dfw_decisions_and_port_tables(compiled):
    # (the rows themselves are held to the reference semantics by tests/test_compile_dfw.py)
    c, t = compiled
    assert t.n_dfw_rules == len(c.dfw_rules) == t.dfw_n_admin
    assert t.dfw_decision_names[:len(c.dfw_rules)] == tuple(f"rule {r.name}" for r in c.dfw_rules)
    assert list(t.dfw_decision_allow[:len(c.dfw_rules)]) == [r.action == "allow" for r in c.dfw_rules]
    n_tables = t.dfw_table_policy.shape[0]
    # a table whose decision is constant is one catch-all row: every packet gets that decision
    for tb in np.nonzero(t.dfw_table_const >= 0)[0]:
        rows = np.nonzero(t.cls_src_table == tb)[0]
        assert rows.size == 1 and t.cls_src_plen[rows[0]] == 0 and t.cls_src_proto[rows[0]] == 0
        assert (t.cls_src_port_lo[rows[0]], t.cls_src_port_hi[rows[0]]) == (0, 65535)
        assert t.dfw_row_decision[rows[0]] == t.dfw_table_const[tb]
    assert (t.dfw_table_const >= 0).any()
    for p in range(t.n_ports):
        rec = port_table.decode(t.port_rec, p)
        assert 0 <= rec.dfw_egress < n_tables and 0 <= rec.dfw_ingress < n_tables


def _arrays(value):
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays(v)]
    return []


def test_sizes_report_adds_up_to_the_arrays(compiled):
    c, t = compiled
    sizes = t.sizes()
    array_fields = [f.name for f in dataclasses.fields(t) if _arrays(getattr(t, f.name))]
    grouped = [name for names, _ in _GROUPS.values() for name in names if _arrays(getattr(t, name))]  # (lb: None)
    assert sorted(grouped) == sorted(array_fields)  # every array in exactly one table
    total = sum(a.nbytes for f in array_fields for a in _arrays(getattr(t, f)))
    assert sum(s.bytes for s in sizes.values()) == t.nbytes() == total
    n, nodes, segs = len(c.pods), len(c.nodes), len(c.segments)
    assert sizes["ports"] == (sum(getattr(t, f).nbytes for f in _GROUPS["ports"][0]), n + nodes)
    assert sizes["ovs_mac"] == (t.ovs_mac.buckets.nbytes, 2 * n)
    assert sizes["vif"].entries == n and sizes["neighbor"].entries == n + nodes
    assert sizes["segment_l2"].entries == n + nodes + segs
    assert sizes["route_trie"].bytes == t.route_trie.nodes.nbytes + t.route_lines.nbytes
    assert sizes["routes"].entries == t.n_routes and sizes["routers"].entries == t.n_routers
    assert "total" in t.report()


def test_bundle_is_frozen_and_its_arrays_read_only(compiled):
    _, t = compiled
    for f in dataclasses.fields(t):
        for a in _arrays(getattr(t, f.name)):
            assert not a.flags.writeable, f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.n_pods = 0
    with pytest.raises(ValueError):
        t.port_rec[0, 1] = 1
    with pytest.raises(ValueError):
        t.neighbor_dense[0] = 1


def test_port_records_decode_to_the_model_columns(compiled):
    c, t = compiled
    p = c.pods
    n = len(p)
    assert t.port_rec.shape == (t.n_ports, 4) and t.port_rec.dtype == np.uint64
    assert np.array_equal(t.port_mac[:n], p.mac) and np.array_equal(t.port_ip[:n], p.ip)
    assert np.array_equal(t.port_vlan[:n], p.vlan) and np.array_equal(t.port_node[:n], p.node)
    assert np.array_equal(t.port_segment[:n], p.namespace + 1)
    hosts = np.array([c.host_index[c.nodes[k].host] for k in p.node.tolist()], np.int32)
    assert np.array_equal(t.port_host[:n], hosts)
    assert (t.port_kind[:n] == PORT_POD).all() and (t.port_kind[n:] == PORT_NODE).all()
    assert (t.port_vlan[n:] == 0).all() and (t.port_segment[n:] == 0).all()


def test_dtypes_are_the_documented_ones(compiled):
    _, t = compiled
    want = {"port_kind": np.uint8, "port_node": np.int32, "port_host": np.int32, "port_segment": np.int32,
            "port_ip": np.uint32, "port_mac": np.uint64, "port_vlan": np.uint16, "node_host": np.int32,
            "host_tep": np.uint32, "host_mtu": np.int32, "host_is_edge": np.bool_, "seg_vni": np.uint32,
            "seg_router": np.int32, "seg_gateway": np.uint32, "rtr_is_sr": np.bool_, "rtr_host": np.int32,
            "rtr_transit_vni": np.uint32, "rtr_kind": np.uint8, "route_router": np.int32,
            "route_network": np.uint32, "route_prefix_len": np.uint8, "route_kind": np.uint8,
            "route_arg": np.int32, "route_arrive_ip": np.uint32, "dfw_row_decision": np.int32,
            "dfw_decision_allow": np.uint8, "dfw_table_policy": np.uint8}
    for name, dtype in want.items():
        assert getattr(t, name).dtype == dtype, name
    assert isinstance(t, Tables)


def test_sparse_segments_answer_arp_from_the_hash_and_dense_ones_from_the_array():
    import copy

    from fastpath.compile import compile_cluster
    from fastpath.model import from_spec
    from fastpath.model.scenarios import SEED_SPEC

    spec = copy.deepcopy(SEED_SPEC)
    spec["cluster"]["pod_cidr"] = "172.16.0.0/12"
    spec["namespaces"].append({"name": "sparse", "subnet": "172.20.0.0/16"})
    spec["pods"] += [{"name": f"s{i}", "namespace": "sparse", "node": "worker-2", "ip": f"172.20.{i * 40}.{i + 9}"}
                     for i in range(3)]
    c = from_spec(spec)
    t = compile_cluster(c)
    sparse = len(c.segments) - 1
    assert t.seg_nb_off[sparse] == -1 and (t.seg_nb_off[:sparse] >= 0).all()
    assert t.neighbor.size == 3
    for i in range(3):
        pod = c.pod(f"sparse/s{i}")
        assert t.neighbor_of(sparse, pod.ip) == pod.index
        assert t.neighbor_of(sparse, pod.ip + 1) == -1
    assert t.neighbor_dense.size == sum(s.subnet.num_addresses for s in c.segments[:sparse])
