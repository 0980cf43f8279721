"""Traffic profiles: each kind sends what its docstring says (class shares within statistical
tolerance, every class's destinations checked against the cluster), Zipf and IMIX
proportions, flows, chunk-size independence, verdicts on the seed scenario, and the spec's
``traffic`` and ``capacity`` sections (round trip, one-line errors with field paths).

Tolerances are 5 standard deviations of a binomial count: a correct generator fails one
in ~3 million runs, and every seed is fixed anyway.
"""

from __future__ import annotations

import copy
import ipaddress
import math

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.model import SpecError, default_scenario, dump, from_spec, generate, load, to_spec
from fastpath.model.cluster import MIN_IP_LENGTH, Capacity
from fastpath.model.scenarios import SEED_SPEC
from fastpath.packets import INGRESS_POD, PacketBatch
from fastpath.reference.walk import MIN_IP_PACKET
from fastpath.traffic import (BUILTIN_PROFILES, MIX_CLASSES, HotService, Locality, Mix, ServiceShare, Uniform, fixed,
                              histogram, imix, profile_by_name, profile_from_params, profile_names, uniform_pod_to_pod)
from fastpath.traffic.profiles import DEFAULT_DPORTS, EPHEMERAL_PORTS, cluster_networks
from fastpath.verdicts import Reason, Verdict

N = 200_000


def within(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


def collect(profile, cluster, packets, *, seed=0, chunk=1 << 20):
    """All batches of a run joined into one, with the class of every packet."""
    parts = list(profile.labelled_batches(cluster, packets, seed=seed, chunk=chunk))
    batch = PacketBatch(*(np.concatenate(cols) for cols in zip(*(b for b, _ in parts))))
    return batch, np.concatenate([c for _, c in parts])


@pytest.fixture(scope="module")
def gen():
    """240 pods spread over 12 nodes and 8 namespaces: every locality class has senders."""
    return generate(hosts=6, nodes_per_host=2, namespaces=8, pods_per_node=20, seed=3)


@pytest.fixture(scope="module")
def seed_cluster():
    return default_scenario()


def owners(cluster):
    """IP -> pod row (or -1) and IP -> node index (or -1), as dicts over the cluster."""
    pod = {int(ip): i for i, ip in enumerate(cluster.pods.ip)}
    node = {n.ip: i for i, n in enumerate(cluster.nodes)}
    return pod, node


def pod_rows_of(cluster, ips: np.ndarray) -> np.ndarray:
    pod, _ = owners(cluster)
    return np.array([pod.get(int(x), -1) for x in ips], np.int64)


# ---- locality -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def locality_run(gen):
    return collect(Locality(), gen, N, seed=11)


def test_locality_class_shares_match_the_default_mix(locality_run):
    _, cls = locality_run
    counts = np.bincount(cls, minlength=5)
    assert counts.sum() == N
    for k, share in enumerate(Mix().shares):
        assert within(int(counts[k]), N, float(share)), (MIX_CLASSES[k], counts[k], N * share)


def test_locality_shares_are_normalised():
    mix = Mix(same_node=2, same_namespace=0, cross_namespace=2, pod_to_node=0, north_south=4)
    assert mix.shares.tolist() == [0.25, 0, 0.25, 0, 0.5]


def test_locality_packets_leave_their_source_pod(gen, locality_run):
    b, _ = locality_run
    assert (b.ingress_kind == INGRESS_POD).all()
    np.testing.assert_array_equal(b.src_ip, gen.pods.ip[b.ingress_id])
    assert (b.src_mac == 0).all() and (b.dst_mac == 0).all() and (b.vlan == 0).all() and (b.ttl == 64).all()


def test_locality_destinations_have_their_class(gen, locality_run):
    b, cls = locality_run
    src = b.ingress_id.astype(np.int64)
    dst = pod_rows_of(gen, b.dst_ip)
    node, ns = gen.pods.node, gen.pods.namespace
    node_ips = {n.ip for n in gen.nodes}
    pod_classes = np.isin(cls, (0, 1, 2))
    assert (dst[pod_classes] >= 0).all() and (dst[~pod_classes] == -1).all()
    assert (dst != src).all()
    same_node, same_ns, cross = (cls == 0), (cls == 1), (cls == 2)
    assert (node[dst[same_node]] == node[src[same_node]]).all()
    assert (ns[dst[same_ns]] == ns[src[same_ns]]).all()
    assert (ns[dst[cross]] != ns[src[cross]]).all()
    assert all(int(ip) in node_ips for ip in b.dst_ip[cls == 3])
    # every namespace here spans several nodes, so same-namespace traffic always leaves the node
    assert (node[dst[same_ns]] != node[src[same_ns]]).all()


def test_north_south_destinations_lie_outside_every_cluster_network(gen, locality_run):
    b, cls = locality_run
    ns_ips = b.dst_ip[cls == 4].astype(np.int64)
    outside = ipaddress.IPv4Network("198.18.0.0/15")
    assert ((ns_ips >= int(outside.network_address)) & (ns_ips <= int(outside.broadcast_address))).all()
    for net in cluster_networks(gen):
        assert not ((ns_ips >= int(net.network_address)) & (ns_ips <= int(net.broadcast_address))).any(), net
    assert len(np.unique(ns_ips)) > 0.9 * ns_ips.size  # spread over the /15, not one address


def test_locality_destinations_cover_their_groups(gen, locality_run):
    """Within a class, every allowed destination turns up (no pod is skipped by the CSR)."""
    b, cls = locality_run
    dst = pod_rows_of(gen, b.dst_ip)
    assert set(dst[cls == 2].tolist()) == set(range(len(gen.pods)))
    assert len(set(b.dst_ip[cls == 3].tolist())) == len(gen.nodes)


def test_locality_ports_and_protocol(locality_run):
    b, _ = locality_run
    assert (b.proto == 6).all()
    assert b.sport.min() >= EPHEMERAL_PORTS[0] and b.sport.max() <= EPHEMERAL_PORTS[1]
    assert set(np.unique(b.dport).tolist()) == set(DEFAULT_DPORTS)


SMALL = {
    "hosts": [{"name": "h1"}, {"name": "h2"}],
    "nodes": [{"name": "n1", "host": "h1"}, {"name": "n2", "host": "h2"}, {"name": "n3", "host": "h2"}],
    "namespaces": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
    "pods": [
        {"name": "p1", "namespace": "a", "node": "n1"}, {"name": "p2", "namespace": "a", "node": "n1"},
        {"name": "q1", "namespace": "b", "node": "n2"}, {"name": "q2", "namespace": "b", "node": "n1"},
        {"name": "r1", "namespace": "c", "node": "n3"},
    ],
}


def test_locality_falls_back_where_a_pod_has_no_peer():
    """a lives on n1 only; b spans n1 and n2; c/r1 is alone on n3 and in its namespace. Pods
    that cannot send a class do not; a's same-namespace traffic stays on n1 (no other node)."""
    c = from_spec(copy.deepcopy(SMALL))
    b, cls = collect(Locality(), c, 50_000, seed=2)
    key = {i: c.pods[i].key for i in range(len(c.pods))}
    src = [key[i] for i in b.ingress_id.tolist()]
    dst = [key.get(int(r), None) for r in pod_rows_of(c, b.dst_ip)]
    pairs = {(s, d, int(k)) for s, d, k in zip(src, dst, cls)}
    same_node = {(s, d) for s, d, k in pairs if k == 0}
    same_ns = {(s, d) for s, d, k in pairs if k == 1}
    assert same_node == {(x, y) for x in ("a/p1", "a/p2", "b/q2") for y in ("a/p1", "a/p2", "b/q2") if x != y}
    assert same_ns == {("a/p1", "a/p2"), ("a/p2", "a/p1"), ("b/q1", "b/q2"), ("b/q2", "b/q1")}
    assert {s for s, _, k in pairs if k == 2} == set(key.values())  # everyone has another namespace
    assert within(int((cls == 0).sum()), 50_000, 0.1) and within(int((cls == 1).sum()), 50_000, 0.3)


def test_locality_refuses_a_class_no_pod_can_send():
    c = from_spec({"hosts": [{"name": "h"}], "nodes": [{"name": "n1", "host": "h"}, {"name": "n2", "host": "h"}],
                   "namespaces": [{"name": "a"}],
                   "pods": [{"name": "p", "namespace": "a", "node": "n1"},
                            {"name": "q", "namespace": "a", "node": "n2"}]})
    for mix, phrase in ((Mix(1, 0, 0, 0, 0), "no node has two pods"), (Mix(0, 0, 1, 0, 0), "one namespace")):
        with pytest.raises(ValueError, match=phrase):
            next(Locality(mix=mix).batches(c, 10))
    _, cls = collect(Locality(mix=Mix(0, 1, 0, 1, 0)), c, 1000)  # the classes it can send are fine
    assert set(cls.tolist()) == {1, 3}


def test_locality_outside_must_not_overlap_the_cluster(gen):
    with pytest.raises(ValueError, match="overlaps"):
        next(Locality(outside="10.128.0.0/9").batches(gen, 10))


def test_icmp_packets_carry_no_ports(gen):
    b, _ = collect(Locality(proto="icmp"), gen, 1000)
    assert (b.proto == 1).all() and (b.sport == 0).all() and (b.dport == 0).all()


# ---- hot service --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big():
    return generate(hosts=10, nodes_per_host=4, namespaces=10, pods_per_node=100, seed=1)  # 4,000 pods


@pytest.mark.parametrize("s", [0.8, 1.1, 1.5])
def test_zipf_rank_frequency_slope_is_minus_s(big, s):
    b, cls = collect(HotService(s=s), big, N, seed=4)
    assert (cls == 0).all()
    counts = np.sort(np.bincount(pod_rows_of(big, b.dst_ip), minlength=len(big.pods)))[::-1]
    ranks = np.arange(1, 51)
    slope = np.polyfit(np.log(ranks), np.log(counts[:50]), 1)[0]
    assert abs(slope + s) < 0.1, slope
    # the top pod's share is 1 / H(P, s)
    h = (np.arange(1, len(big.pods) + 1, dtype=float) ** -s).sum()
    assert within(int(counts[0]), N, 1 / h)


def test_zipf_hot_pods_depend_on_the_seed(big):
    tops = []
    for seed in (1, 2):
        b, _ = collect(HotService(), big, 20_000, seed=seed)
        tops.append(int(np.argmax(np.bincount(pod_rows_of(big, b.dst_ip)))))
    assert tops[0] != tops[1]


def test_hot_service_never_sends_a_pod_to_itself(big):
    b, _ = collect(HotService(s=2.0), big, 50_000)
    assert (pod_rows_of(big, b.dst_ip) != b.ingress_id).all()


def test_dns_share_goes_to_kube_dns_on_udp_53(seed_cluster):
    p = HotService(services=(ServiceShare.dns(0.25),))
    b, cls = collect(p, seed_cluster, N, seed=5)
    assert p.classes == ("zipf", "dns")
    dns = cls == 1
    assert within(int(dns.sum()), N, 0.25)
    # the seed has kube-dns's Service: DNS goes to its cluster IP (kube-proxy picks the pod)
    vip = seed_cluster.services[seed_cluster.service_index["kube-system/kube-dns"]].cluster_ip
    assert (b.dst_ip[dns] == vip).all()
    assert (b.proto[dns] == 17).all() and (b.dport[dns] == 53).all()
    assert ((b.proto == 17) & (b.dport == 53) == dns).all()  # and nothing else is DNS
    assert (b.proto[~dns] == 6).all() and np.isin(b.dport[~dns], DEFAULT_DPORTS).all()
    # without the Service: straight to the pods labelled k8s-app=kube-dns, never from themselves
    spec = copy.deepcopy(SEED_SPEC)
    del spec["services"]
    plain = from_spec(spec)
    b, cls = collect(p, plain, N, seed=5)
    dns = cls == 1
    pods = [plain.pod(k) for k in ("kube-system/kube-dns", "kube-system/coredns-2")]
    assert set(b.dst_ip[dns].tolist()) == {x.ip for x in pods}
    for x in pods:
        assert (b.ingress_id[dns & (b.dst_ip == x.ip)] != x.index).all()


def test_a_service_by_pod_keys(seed_cluster):
    svc = ServiceShare("pg", 0.5, pods=("db/postgres-0", "db/postgres-1"), proto=6, port=5432)
    b, cls = collect(HotService(services=(svc,)), seed_cluster, 20_000)
    pg = {seed_cluster.pod("db/postgres-0").ip, seed_cluster.pod("db/postgres-1").ip}
    assert set(b.dst_ip[cls == 1].tolist()) == pg and (b.dport[cls == 1] == 5432).all()
    assert within(int((cls == 1).sum()), 20_000, 0.5)


def test_a_service_that_selects_no_pod_is_an_error(gen):
    with pytest.raises(ValueError, match="k8s-app=kube-dns"):
        next(BUILTIN_PROFILES["hot_dns"].batches(gen, 10))


# ---- sizes --------------------------------------------------------------------------------------
def test_imix_proportions_and_lengths(gen):
    b, _ = collect(Locality(sizes=imix()), gen, N, seed=6)
    lengths, counts = np.unique(b.length, return_counts=True)
    assert lengths.tolist() == [46, 576, 1500]
    for c, w in zip(counts, (7, 4, 1)):
        assert within(int(c), N, w / 12)
    assert imix().mean_length == pytest.approx((7 * 46 + 4 * 576 + 1500) / 12)


def test_histogram_and_fixed_sizes(gen):
    b, _ = collect(HotService(sizes=histogram([(64, 1), (1000, 3)])), gen, 50_000)
    assert set(np.unique(b.length).tolist()) == {64, 1000}
    assert within(int((b.length == 1000).sum()), 50_000, 0.75)
    b, _ = collect(Locality(sizes=fixed(1400)), gen, 1000)
    assert (b.length == 1400).all()


def test_sizes_are_checked():
    assert MIN_IP_LENGTH == MIN_IP_PACKET
    for bad in (lambda: fixed(27), lambda: fixed(65536), lambda: histogram([(64, -1)]), lambda: histogram([(64, 0)]),
                lambda: histogram([]), lambda: Uniform(sizes="jumbo")):
        with pytest.raises(ValueError):
            bad()


def test_offered_load():
    p = Locality(offered_mpps=2.5, sizes=imix())
    assert p.offered_pps == 2.5e6
    assert p.offered_gbps == pytest.approx(2.5e6 * imix().mean_length * 8 / 1e9)
    assert BUILTIN_PROFILES["uniform"].offered_gbps == pytest.approx(0.8)  # 1 Mpps of 100-byte packets


# ---- flows --------------------------------------------------------------------------------------
def five_tuples(b: PacketBatch) -> int:
    t = np.stack([b.src_ip.astype(np.uint64), b.dst_ip.astype(np.uint64), b.proto.astype(np.uint64),
                  b.sport.astype(np.uint64), b.dport.astype(np.uint64)], axis=1)
    return len(np.unique(t, axis=0))


@pytest.mark.parametrize("profile", [Locality(flows=500), HotService(flows=500, s=0.5), Uniform(flows=500)],
                         ids=["locality", "hot_service", "uniform"])
def test_flows_give_at_most_n_five_tuples(big, profile):
    b, _ = collect(profile, big, 100_000, seed=8)
    assert five_tuples(b) == 500  # 200 packets a flow: every flow turns up, none splits


def test_flow_popularity_zipf(big):
    b, _ = collect(Locality(flows=1000, flow_zipf=1.0, mix=Mix(0, 0, 1, 0, 0)), big, N, seed=9)
    assert five_tuples(b) <= 1000
    _, counts = np.unique(np.stack([b.src_ip, b.dst_ip, b.sport], axis=1), axis=0, return_counts=True)
    h = (1 / np.arange(1, 1001)).sum()
    assert within(int(counts.max()), N, 1 / h)


def test_flow_classes_keep_their_shares(big):
    """With many flows the mix holds for packets too (flows are drawn by the same mix)."""
    _, cls = collect(Locality(flows=50_000), big, N, seed=10)
    for k, share in enumerate(Mix().shares):
        assert within(int((cls == k).sum()), N, float(share), sigmas=6), MIX_CLASSES[k]


# ---- chunking -----------------------------------------------------------------------------------
PROFILES = {
    "uniform": Uniform(),
    "uniform-imix": Uniform(sizes=imix()),
    "locality": Locality(),
    "hot_service": HotService(),
    "locality-flows-zipf": Locality(flows=3000, flow_zipf=1.2),
    "uniform-flows": Uniform(flows=100),
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_same_packets_whatever_the_chunk_size(gen, name):
    p = PROFILES[name]
    n = 150_000  # three blocks of words, the last one partial
    whole, whole_cls = collect(p, gen, n, seed=21)
    for chunk in (7, 65_536, 100_003):
        got, cls = collect(p, gen, n, seed=21, chunk=chunk)
        for field in PacketBatch._fields:
            np.testing.assert_array_equal(getattr(got, field), getattr(whole, field), err_msg=f"{field} chunk {chunk}")
        np.testing.assert_array_equal(cls, whole_cls)
    tiny, _ = collect(p, gen, 300, seed=21, chunk=1)
    prefix, _ = collect(p, gen, 300, seed=21)
    for field in PacketBatch._fields:  # chunks of one, and the first 300 of the longer run
        np.testing.assert_array_equal(getattr(tiny, field), getattr(whole, field)[:300], err_msg=field)
        np.testing.assert_array_equal(getattr(prefix, field), getattr(whole, field)[:300], err_msg=field)
    other, _ = collect(p, gen, 300, seed=22)
    assert not np.array_equal(other.dst_ip, whole.dst_ip[:300])


def test_batches_are_at_most_one_chunk(gen):
    sizes = [b.size for b in Locality().batches(gen, 250_000, chunk=100_000)]
    assert sizes == [100_000, 100_000, 50_000]
    assert list(Locality().batches(gen, 0)) == []


def test_uniform_profile_is_uniform_pod_to_pod(gen):
    got = list(Uniform().batches(gen, 70_000, seed=4, chunk=30_000))
    want = list(uniform_pod_to_pod(gen, 70_000, seed=4, chunk=30_000))
    assert len(got) == len(want) == 3
    for a, b in zip(got, want):
        for field in PacketBatch._fields:
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    with_imix = next(Uniform(sizes=imix()).batches(gen, 30_000, seed=4, chunk=30_000))
    np.testing.assert_array_equal(with_imix.dst_ip, want[0].dst_ip)  # same pairs, other lengths
    assert set(np.unique(with_imix.length).tolist()) == {46, 576, 1500}


# ---- through the data plane, on the seed scenario -------------------------------------------------
@pytest.fixture(scope="module")
def seed_dataplane(seed_cluster):
    return Dataplane(seed_cluster)


def expected_verdicts(cluster, b: PacketBatch, cls: np.ndarray) -> np.ndarray:
    """The seed's rules, per packet: north-south exits; default -> db is denied by the DFW
    (any protocol, either node); everything else inside the cluster is delivered."""
    ns_of = {int(ip): cluster.namespaces[k].namespace for ip, k in zip(cluster.pods.ip, cluster.pods.namespace)}
    src_ns = np.array([ns_of[int(x)] for x in b.src_ip])
    dst_ns = np.array([ns_of.get(int(x), "") for x in b.dst_ip])
    out = np.full(b.size, Verdict.DELIVERED, np.uint8)
    out[(src_ns == "default") & (dst_ns == "db")] = Verdict.DROPPED
    out[(cls == 4) if cls is not None else np.zeros(b.size, bool)] = Verdict.EXITED
    return out


def test_seed_locality_verdicts_follow_the_mix(seed_cluster, seed_dataplane):
    b, cls = collect(Locality(), seed_cluster, N, seed=12)
    run = seed_dataplane.forward(b)
    r = run.results
    assert sum(run.verdict_counts().values()) == N
    np.testing.assert_array_equal(r.verdict, expected_verdicts(seed_cluster, b, cls))
    dropped = r.verdict == Verdict.DROPPED
    assert (r.reason[dropped] == Reason.DFW_DENY).all()
    assert within(int((r.verdict == Verdict.EXITED).sum()), N, 0.1)
    assert (r.verdict[cls == 4] == Verdict.EXITED).all() and (r.verdict[cls == 3] == Verdict.DELIVERED).all()
    # same node: never leaves the host, unless routed through a service router on the edge
    # (payments' T1 has one: its traffic to other namespaces hairpins there and back)
    assert (r.n_tunnels[(cls == 0) & ~r.via_edge] == 0).all() and (r.n_tunnels[(cls == 0) & r.via_edge] == 2).all()
    assert r.via_edge[cls == 0].any()
    # same namespace: another node, and a tunnel exactly when that node is on another host
    host_of_pod = np.array([seed_cluster.node(seed_cluster.pods[i].node).host for i in range(len(seed_cluster.pods))])
    dst = pod_rows_of(seed_cluster, b.dst_ip)
    m = cls == 1
    other_host = host_of_pod[b.ingress_id[m]] != host_of_pod[dst[m]]
    assert ((r.n_tunnels[m] > 0) == other_host).all() and other_host.any() and not other_host.all()


@pytest.mark.parametrize("name", ["uniform", "hot_service", "hot_dns", "east_west", "north_south"])
def test_every_builtin_profile_gets_a_verdict_on_the_seed(seed_cluster, seed_dataplane, name):
    p = BUILTIN_PROFILES[name]
    b, cls = collect(p, seed_cluster, 50_000, seed=13)
    r = seed_dataplane.forward(b).results
    assert np.isin(r.verdict, [v.value for v in Verdict]).all()
    assert ((r.verdict == Verdict.DROPPED) == (r.reason != Reason.NONE)).all()
    want = expected_verdicts(seed_cluster, b, cls if p.kind == "locality" else None)
    np.testing.assert_array_equal(r.verdict, want)


# ---- spec: traffic and capacity sections ----------------------------------------------------------
def seed_with(**sections) -> dict:
    s = copy.deepcopy(SEED_SPEC)
    s.update(copy.deepcopy(sections))
    return s


TRAFFIC = {"profiles": [
    {"name": "web", "kind": "locality", "mix": {"same_node": 0.2, "cross_namespace": 0.5, "north_south": 0.3},
     "sizes": "imix", "flows": 10000, "offered_mpps": 2.5},
    {"name": "dns-storm", "kind": "hot_service", "s": 1.3, "sizes": [[64, 9], [512, 1]],
     "services": [{"name": "dns", "share": 0.4},
                  {"name": "pg", "share": 0.1, "pods": ["db/postgres-0"], "port": 5432}]},
    {"name": "uniform", "kind": "uniform", "sizes": 256, "proto": "tcp", "ttl": 32},
]}
CAPACITY = {"host_link_gbps": 10, "edge_mpps": 2.5, "uplink_gbps": 100}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_traffic_and_capacity_round_trip_through_a_spec_file(tmp_path, suffix):
    s = seed_with(traffic=TRAFFIC, capacity=CAPACITY)
    s["hosts"][1]["link_gbps"] = 40
    s["edges"][0].update(link_gbps=100, mpps=8)
    s["t0"]["uplinks"][0]["gbps"] = 25
    c = from_spec(s)
    path = tmp_path / f"seed{suffix}"
    dump(c, path)
    back = load(path)
    assert to_spec(back) == to_spec(c)
    assert to_spec(from_spec(to_spec(c))) == to_spec(c)
    assert list(back.traffic_profiles) == ["web", "dns-storm", "uniform"]
    assert back.capacity == Capacity(10.0, 2.5, 100.0, host_link={"esx-2": 40.0, "edge-1": 100.0},
                                     edge={"edge-1": 8.0}, uplink={"uplink-1": 25.0})
    assert back.capacity.link_gbps_of("esx-1") == 10.0 and back.capacity.link_gbps_of("esx-2") == 40.0
    assert back.capacity.mpps_of_edge("edge-1") == 8.0 and back.capacity.gbps_of_uplink("uplink-1") == 25.0


def test_capacity_defaults_and_spec_without_traffic(seed_cluster):
    spec = to_spec(seed_cluster)
    assert spec["capacity"] == {}  # defaults are not written back (a report names them placeholders); no edge rate
    assert seed_cluster.capacity.given == frozenset()
    spec["capacity"] = {"host_link_gbps": 25}  # given, even at the default's value: written back
    c = from_spec(spec)
    assert c.capacity.given == {"host_link_gbps"} and to_spec(c)["capacity"] == {"host_link_gbps": 25}
    assert "traffic" not in spec and seed_cluster.traffic_profiles == {}
    assert seed_cluster.capacity.link_gbps_of("esx-1") == 25.0


def test_spec_profiles_build_what_they_say():
    c = from_spec(seed_with(traffic=TRAFFIC))
    web = profile_by_name(c, "web")
    assert web == Locality(name="web", mix=Mix(0.2, 0, 0.5, 0, 0.3), sizes=imix(), flows=10000, offered_mpps=2.5)
    storm = profile_by_name(c, "dns-storm")
    assert storm.classes == ("zipf", "dns", "pg") and storm.s == 1.3 and storm.sizes == histogram([(64, 9), (512, 1)])
    assert storm.services[0] == ServiceShare.dns(0.4)
    assert storm.services[1] == ServiceShare("pg", 0.1, pods=("db/postgres-0",), proto=6, port=5432)
    own = profile_by_name(c, "uniform")  # the spec's shadows the built-in
    assert (own.sizes, own.proto, own.ttl) == (fixed(256), 6, 32)
    assert profile_by_name(c, "locality") is BUILTIN_PROFILES["locality"]
    assert profile_names(c)[:3] == ["web", "dns-storm", "uniform"] and "hot_dns" in profile_names(c)
    with pytest.raises(KeyError, match="no traffic profile 'nope'.*web"):
        profile_by_name(c, "nope")
    _, cls = collect(storm, c, 20_000)
    assert within(int((cls == 1).sum()), 20_000, 0.4) and within(int((cls == 2).sum()), 20_000, 0.1)


def test_spec_profile_packets_equal_the_library_profile():
    c = from_spec(seed_with(traffic=TRAFFIC))
    a, _ = collect(profile_by_name(c, "web"), c, 5000, seed=3)
    b, _ = collect(Locality(name="web", mix=Mix(0.2, 0, 0.5, 0, 0.3), flows=10000, offered_mpps=2.5), c, 5000, seed=3)
    for field in PacketBatch._fields:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def profile(**kw) -> dict:
    return {"profiles": [{"name": "p", "kind": "locality", **kw}]}


BAD_TRAFFIC = [
    (profile(mix={"same_node": -0.1}), "traffic.profiles[0].mix.same_node", "greater than or equal to 0"),
    (profile(mix={"same_node": 0}), "traffic.profiles[0].mix", "sum to 0"),
    (profile(mix={"far_away": 1}), "traffic.profiles[0].mix.far_away", "extra inputs"),
    (profile(s=1.1), "traffic.profiles[0].s", "not a parameter of a locality profile"),
    ({"profiles": [{"name": "p", "kind": "zipfian"}]}, "traffic.profiles[0].kind",
     "'uniform', 'locality' or 'hot_service'"),
    ({"profiles": [{"kind": "uniform"}]}, "traffic.profiles[0].name", "field required"),
    ({"profiles": [{"name": "p", "kind": "uniform"}] * 2}, "traffic.profiles[1].name", "duplicate name 'p'"),
    (profile(sizes=20), "traffic.profiles[0].sizes", "28..65535"),
    (profile(sizes="jumbo"), "traffic.profiles[0].sizes", "not a size"),
    (profile(sizes=[[64, 1], [9000]]), "traffic.profiles[0].sizes[1]", "not a pair"),
    (profile(sizes=[[64, -1]]), "traffic.profiles[0].sizes[0]", "weight -1"),
    (profile(sizes=[[64, 0]]), "traffic.profiles[0].sizes", "weights sum to 0"),
    (profile(flows=0), "traffic.profiles[0].flows", "greater than or equal to 1"),
    (profile(flow_zipf=-1), "traffic.profiles[0].flow_zipf", "greater than or equal to 0"),
    (profile(flow_zipf=1.0), "traffic.profiles[0].flow_zipf", "give flows too"),
    (profile(offered_mpps=0), "traffic.profiles[0].offered_mpps", "greater than 0"),
    (profile(ttl=256), "traffic.profiles[0].ttl", "less than or equal to 255"),
    (profile(proto=0), "traffic.profiles[0].proto", "not one a packet carries"),
    (profile(dports=[]), "traffic.profiles[0].dports", "at least 1"),
    (profile(dports=[80, 70000]), "traffic.profiles[0].dports[1]", "outside 0..65535"),
    (profile(outside="172.16.0.0/12"), "traffic.profiles[0].outside", "overlaps the cluster's 172.16.0.0/16"),
    (profile(outside="198.18.0.1/15"), "traffic.profiles[0].outside", "not an IPv4 network"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [{"name": "dns", "share": 1.5}]}]},
     "traffic.profiles[0].services[0].share", "less than or equal to 1"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [
        {"name": "dns", "share": 0.6}, {"name": "pg", "share": 0.6, "pods": ["db/postgres-0"], "port": 5432}]}]},
     "traffic.profiles[0].services", "sum to 1.2"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [{"name": "api", "share": 0.1, "port": 443}]}]},
     "traffic.profiles[0].services[0]", "give pods"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [{"name": "api", "share": 0.1, "pods": ["web/x"],
                                                                     "port": 443}]}]},
     "traffic.profiles[0].services[0].pods[0]", "unknown pod 'web/x'"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [{"name": "api", "share": 0.1,
                                                                     "selector": {"app": "api"}, "port": 443}]}]},
     "traffic.profiles[0].services[0].selector", "no pod has the label(s) app=api"),
    ({"profiles": [{"name": "p", "kind": "hot_service", "services": [{"name": "api", "share": 0.1,
                                                                     "selector": {"app": "nginx"}}]}]},
     "traffic.profiles[0].services[0].port", "needs a port"),
]


@pytest.mark.parametrize("traffic,path,phrase", BAD_TRAFFIC, ids=[p for _, p, _ in BAD_TRAFFIC])
def test_bad_traffic_section_is_one_line_with_its_field_path(traffic, path, phrase):
    rejects(seed_with(traffic=traffic), path, phrase)


def test_dns_service_needs_kube_dns_pods():
    s = seed_with(traffic={"profiles": [{"name": "p", "kind": "hot_service",
                                         "services": [{"name": "dns", "share": 0.1}]}]})
    del s["services"]  # (with kube-dns's Service the dns default goes to its cluster IP)
    for pod in s["pods"]:
        if pod.get("labels") == {"k8s-app": "kube-dns"}:
            del pod["labels"]
    rejects(s, "traffic.profiles[0].services[0]", "k8s-app=kube-dns (the dns default)")


@pytest.mark.parametrize("edit,path,phrase", [
    (lambda s: s.update(capacity={"host_link_gbps": 0}), "capacity.host_link_gbps", "greater than 0"),
    (lambda s: s.update(capacity={"edge_mpps": "fast"}), "capacity.edge_mpps", "valid number"),
    (lambda s: s.update(capacity={"uplink_gbps": float("inf")}), "capacity.uplink_gbps", "finite"),
    (lambda s: s.update(capacity={"link_gbps": 10}), "capacity.link_gbps", "extra inputs"),
    (lambda s: s["hosts"][0].update(mpps=3), "hosts[0].mpps", "only edge nodes"),
    (lambda s: s["edges"][0].update(link_gbps=-1), "edges[0].link_gbps", "greater than 0"),
    (lambda s: s["t0"]["uplinks"][0].update(gbps=0), "t0.uplinks[0].gbps", "greater than 0"),
])
def test_bad_capacity_is_one_line_with_its_field_path(edit, path, phrase):
    s = seed_with()
    edit(s)
    rejects(s, path, phrase)


def rejects(spec: dict, path: str, phrase: str) -> None:
    with pytest.raises(SpecError) as info:
        from_spec(spec)
    err = info.value
    assert err.path == path, str(err)
    assert phrase in err.message, str(err)
    assert "\n" not in str(err)


def test_library_profiles_check_their_parameters():
    for bad in (lambda: Mix(same_node=-1), lambda: Mix(0, 0, 0, 0, 0), lambda: Locality(flows=0),
                lambda: Locality(flow_zipf=1.0),
                lambda: Locality(offered_mpps=0), lambda: Locality(dports=()), lambda: HotService(s=float("nan")),
                lambda: HotService(services=(ServiceShare.dns(0.7), ServiceShare.dns(0.1))),
                lambda: ServiceShare("x", 0.1, port=80), lambda: Locality(outside="bogus"),
                lambda: profile_from_params("p", "uniform", {"mix": {"same_node": 1}}),
                lambda: profile_from_params("p", "bogus", {})):
        with pytest.raises(ValueError):
            bad()
