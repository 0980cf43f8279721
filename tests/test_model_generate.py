"""The synthetic cluster generator: determinism, layout, placement, argument errors, and one
cluster of a million pods."""

from __future__ import annotations

import numpy as np
import pytest

from fastpath.model import SpecError, generate, to_spec
from fastpath.model.validate import VNI_MAX


def ns_bounds(c) -> tuple[np.ndarray, np.ndarray]:
    """Per-pod (network address, netmask) of its namespace subnet."""
    net = np.array([int(s.subnet.network_address) for s in c.namespaces], dtype=np.uint32)[c.pods.namespace]
    mask = np.array([int(s.subnet.netmask) for s in c.namespaces], dtype=np.uint32)[c.pods.namespace]
    return net, mask


def test_generate_is_deterministic_for_a_seed():
    kw = dict(placement="spread", service_t1_fraction=0.5, dfw_rules=8, seed=42)
    assert to_spec(generate(4, 2, 6, 20, **kw)) == to_spec(generate(4, 2, 6, 20, **kw))


def test_different_seeds_spread_pods_differently():
    a, b = generate(4, 2, 6, 20, seed=1), generate(4, 2, 6, 20, seed=2)
    assert not np.array_equal(a.pods.namespace, b.pods.namespace)
    spec_a, spec_b = to_spec(a), to_spec(b)
    del spec_a["cluster"]["name"], spec_b["cluster"]["name"]
    assert spec_a != spec_b


def test_packed_placement_does_not_depend_on_the_seed():
    a, b = generate(4, 2, 6, 20, placement="packed", seed=1), generate(4, 2, 6, 20, placement="packed", seed=2)
    assert np.array_equal(a.pods.namespace, b.pods.namespace)
    assert np.array_equal(a.pods.ip, b.pods.ip)


@pytest.mark.parametrize("placement", ["spread", "packed"])
def test_every_node_gets_pods_per_node_pods(placement):
    c = generate(5, 3, 7, 13, placement=placement, seed=3)
    assert len(c.nodes) == 15 and len(c.pods) == 15 * 13
    assert np.bincount(c.pods.node, minlength=15).tolist() == [13] * 15
    assert [n.host for n in c.nodes] == [f"esx-{h}" for h in range(1, 6) for _ in range(3)]


def test_hosts_and_edges_of_a_generated_cluster():
    c = generate(3, 2, 4, 5, edges=2)
    assert [(h.name, h.edge) for h in c.hosts] == [("esx-1", False), ("esx-2", False), ("esx-3", False),
                                                   ("edge-1", True), ("edge-2", True)]
    assert len({h.tep for h in c.hosts}) == 5
    assert c.t0.edge == "edge-1"


@pytest.mark.parametrize("placement", ["spread", "packed"])
def test_vlan_tags_are_unique_per_node_and_count_from_1(placement):
    c = generate(3, 2, 4, 30, placement=placement, seed=5)
    key = c.pods.node.astype(np.int64) << 16 | c.pods.vlan
    assert len(np.unique(key)) == len(c.pods)
    for nd in range(len(c.nodes)):
        assert sorted(c.pods.vlan[c.pods.node == nd].tolist()) == list(range(1, 31))


@pytest.mark.parametrize("placement", ["spread", "packed"])
def test_pod_ips_lie_inside_their_namespace_subnet(placement):
    c = generate(3, 2, 5, 40, placement=placement, seed=9)
    net, mask = ns_bounds(c)
    assert np.all((c.pods.ip & mask) == net)
    host = c.pods.ip & ~mask
    assert np.all((host >= 2) & (host < ~mask))  # not network, gateway or broadcast
    assert len(np.unique(c.pods.ip)) == len(c.pods)


def test_namespace_subnets_are_disjoint_and_sized_to_the_largest_namespace():
    c = generate(2, 2, 3, 100, placement="spread", seed=4)
    largest = int(np.bincount(c.pods.namespace).max())
    prefixes = {s.subnet.prefixlen for s in c.namespaces}
    assert len(prefixes) == 1
    assert c.namespaces[0].subnet.num_addresses - 3 >= largest
    nets = [s.subnet for s in c.segments]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_spread_placement_puts_each_namespace_on_many_nodes():
    c = generate(5, 2, 4, 40, placement="spread", seed=0)  # 10 nodes, 400 pods
    for k in range(4):
        assert len(np.unique(c.pods.node[c.pods.namespace == k])) == 10


def test_packed_placement_gives_each_namespace_a_contiguous_block():
    c = generate(5, 2, 4, 40, placement="packed", seed=0)  # 10 nodes, 400 pods, 100 per namespace
    ns = c.pods.namespace
    assert np.all(np.diff(ns) >= 0)  # pod rows are grouped by namespace, in order
    assert np.bincount(ns).tolist() == [100] * 4
    for k in range(4):
        assert len(np.unique(c.pods.node[ns == k])) <= 3  # 100 pods over 40-pod nodes


def test_service_t1_fraction_puts_service_routers_on_the_edges():
    c = generate(2, 1, 6, 2, edges=2, service_t1_fraction=1.0)
    assert [r.edge for r in c.t1s] == [None, "edge-1", "edge-2", "edge-1", "edge-2", "edge-1", "edge-2"]
    vnis = [s.vni for s in c.segments] + [r.transit_vni for r in (*c.t1s, c.t0) if r.transit_vni is not None]
    assert len(vnis) == 7 + 6 + 1
    assert len(set(vnis)) == len(vnis) and all(1 <= v <= VNI_MAX for v in vnis)


def test_no_service_routers_without_edges():
    c = generate(2, 1, 3, 2, edges=0, service_t1_fraction=1.0)
    assert all(r.edge is None and r.transit_vni is None for r in (*c.t1s, c.t0))


def test_router_links_are_31s_t0_even_t1_odd():
    c = generate(2, 1, 10, 1)
    links = [(r.link_t0_ip, r.link_t1_ip) for r in c.t1s]
    assert all(t0 % 2 == 0 and t1 == t0 + 1 for t0, t1 in links)
    assert len(set(links)) == len(links)
    link = c.settings.link_cidr
    assert all(int(link.network_address) <= t0 < t1 <= int(link.broadcast_address) for t0, t1 in links)


def test_dfw_rules_are_generated_between_namespace_subnets():
    c = generate(2, 1, 4, 2, dfw_rules=20, seed=6)
    subnets = {s.subnet for s in c.namespaces}
    assert len(c.dfw_rules) == 20
    for r in c.dfw_rules:
        assert r.src in subnets and r.dst in subnets
        assert r.proto in (0, 6, 17) and 0 <= r.dport_lo <= r.dport_hi <= 65535


def test_zero_pods_per_node_builds_an_empty_cluster():
    c = generate(2, 2, 3, 0)
    assert len(c.pods) == 0 and len(c.nodes) == 4


@pytest.mark.parametrize("kwargs, path, phrase", [
    (dict(pods_per_node=5000), "pods_per_node", "more than the 4093 VLAN tags"),
    (dict(pods_per_node=20, max_pods=10), "max_pods", "10 is less than pods_per_node 20"),
    (dict(namespaces=40000, pods_per_node=1), "namespaces", "need 40001 router links"),
    (dict(mtu=600), "mtu", "600 must be in 626..65535"),
    (dict(placement="random"), "placement", "'random' must be 'spread' or 'packed'"),
    (dict(hosts=0), "hosts", "0 must be at least 1"),
    (dict(nodes_per_host=0), "nodes_per_host", "0 must be at least 1"),
    (dict(namespaces=0), "namespaces", "0 must be at least 1"),
    (dict(pods_per_node=-1), "pods_per_node", "-1 must be at least 0"),
    (dict(edges=-1), "edges", "-1 must be at least 0"),
    (dict(dfw_rules=-2), "dfw_rules", "-2 must be at least 0"),
])
def test_impossible_arguments_raise_spec_error_naming_the_argument(kwargs, path, phrase):
    with pytest.raises(SpecError) as info:
        generate(**kwargs)
    assert info.value.path == path, str(info.value)
    assert phrase in info.value.message, str(info.value)


def test_pods_per_node_at_the_vlan_limit_builds():
    c = generate(1, 1, 1, 4093)
    assert int(c.pods.vlan.max()) == 4093


def test_a_million_pods():
    c = generate(1000, 4, 200, 250)
    P = 1000 * 4 * 250
    assert len(c.pods) == P
    assert (len(c.hosts), len(c.nodes), len(c.namespaces)) == (1000 + 1, 4000, 200)
    assert np.bincount(c.pods.node, minlength=4000).min() == 250 == np.bincount(c.pods.node).max()
    assert len(np.unique(c.pods.ip)) == P
    assert len(np.unique(c.pods.mac)) == P
    node_ips = np.array([n.ip for n in c.nodes], dtype=np.uint32)
    assert len(np.unique(node_ips)) == 4000
    assert not np.isin(node_ips, c.pods.ip).any()
    assert len(np.unique(c.pods.node.astype(np.int64) << 16 | c.pods.vlan)) == P
    net, mask = ns_bounds(c)
    assert np.all((c.pods.ip & mask) == net)
    assert np.bincount(c.pods.namespace, minlength=200).sum() == P
    assert len({s.vni for s in c.segments}) == 201


def test_service_t1s_are_a_stable_set_whatever_the_pods():
    """Issue 13: a study over pods per node keeps the same service T1s; the count is the
    fraction of the namespaces, rounded, or given; a smaller set is part of a larger one."""
    def srs(**kw):
        c = generate(3, 2, 20, kw.pop("ppn", 10), edges=2, seed=5, **kw)
        return {r.name for r in c.t1s if r.edge is not None}

    base = srs(service_t1_fraction=0.2)
    assert len(base) == 4
    for ppn in (1, 110, 250):
        assert srs(service_t1_fraction=0.2, ppn=ppn) == base
    assert srs(service_t1_count=4) == base
    assert base < srs(service_t1_fraction=0.5) and len(srs(service_t1_fraction=0.5)) == 10
    assert srs(service_t1_count=0) == set() and len(srs(service_t1_count=20)) == 20
    with pytest.raises(SpecError, match="service_t1_count"):
        generate(3, 2, 20, 10, service_t1_count=21)
