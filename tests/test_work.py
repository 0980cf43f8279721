"""Where the work lands (`fastpath.analysis.work`): the cost model's operations per device, held
to what the engines count another way — router hops to the router counters, tunnel legs to the
host counters, DFW evaluations to the DFW counters, translations to the service stage's and the
load balancer's own records — on the seed, a generated cluster with service routers on two
edges, and a cluster with LoadBalancer Services and SNAT; on profile traffic with replies and on
adversarial garbage. New connections are counted exactly, whatever the chunking."""

import copy
import dataclasses

import numpy as np
import pytest

from fastpath.analysis import ReportAccumulator
from fastpath.analysis.work import ConnTable, H_DECAP, H_DFW, H_ENCAP, H_LB, H_NAT, H_ROUTE, H_SWITCH, N_NAT, N_SWITCH, count_work
from fastpath.dataplane import Dataplane
from fastpath.dataplane.snat import snat_rows
from fastpath.dataplane.stages.service import REPLY_TRANSLATED, TRANSLATED
from fastpath.model import default_scenario, generate
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec
from fastpath.packets import INGRESS_POD
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.traffic.profiles import BUILTIN_PROFILES, Locality, Uniform
from fastpath.verdicts import Verdict


def _lb_snat_cluster():
    s = copy.deepcopy(SEED_SPEC)
    s["node_network"]["t1"] = {"edge": "edge-1"}
    s["t0"]["lb_pool"] = "198.51.100.0/28"
    s["t0"]["snat_pool"] = "198.51.100.64/26"
    s["services"] = s.get("services", []) + [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"type": "LoadBalancer", "selector": {"app": "nginx"}, "ports": [{"port": 80}]}}]
    return from_spec(s)


def _active_active_cluster():
    """The seed's T0 active/active on two edges (ECMP at the T0 DR), an uplink on each."""
    s = copy.deepcopy(SEED_SPEC)
    s["edges"] += [{"name": "edge-2"}]
    s["t0"].pop("edge", None)
    s["t0"].update(edges=["edge-1", "edge-2"], ha_mode="active_active")
    s["t0"]["uplinks"] += [{"name": "uplink-2", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1", "edge": "edge-2"}]
    s["t0"]["routes"] += [{"prefix": "0.0.0.0/0", "next_hop": "198.51.100.1"}]
    return from_spec(s)


CLUSTERS = {
    "seed": default_scenario,
    "t0-active-active": _active_active_cluster,
    "generated": lambda: generate(6, 2, 5, 10, edges=2, service_t1_count=2, dfw_rules=4, seed=2),
    "lb-snat": _lb_snat_cluster,
}


def _batches(c, name):
    out = [adversarial_mix(c, 40_000, seed=5),
           next(Locality(reply_ratio=0.3).batches(c, 40_000, seed=2, chunk=40_000)),
           next(Uniform(flows=500).batches(c, 40_000, seed=3, chunk=40_000))]
    if name != "generated":  # kube-dns's cluster IP, and replies from it
        hot = BUILTIN_PROFILES["hot_dns"]
        out.append(next(dataclasses.replace(hot, reply_ratio=0.4).batches(c, 40_000, seed=4, chunk=40_000)))
    if name == "lb-snat":
        vip = c.services[c.lb_services[0]].lb_ip
        b = out[1]
        to_vip = np.zeros(b.size, bool)
        to_vip[::3] = True
        out.append(b._replace(dst_ip=np.where(to_vip, np.uint32(vip), b.dst_ip),
                              dport=np.where(to_vip, 80, b.dport).astype(b.dport.dtype)))
    return out


@pytest.fixture(scope="module", params=sorted(CLUSTERS))
def runs(request):
    c = CLUSTERS[request.param]()
    dp = Dataplane(c)
    return c, dp, [(b, dp.forward(b, legs=True)) for b in _batches(c, request.param)]


def test_work_agrees_with_the_engines_counters(runs):
    c, dp, pairs = runs
    for b, run in pairs:
        host, node, (keys, sides, key_hosts) = count_work(c, dp.tables, b, run)
        cn = run.counters
        assert host[:, H_ROUTE].sum() == cn.router[0, :, 0].sum()
        assert (host[:, H_ENCAP] == cn.host[0, :, 0]).all() and (host[:, H_DECAP] == cn.host[0, :, 2]).all()
        assert host[:, H_DFW].sum() == cn.dfw[0].sum()
        # each tunnel leg arriving is a pass; the rest are the packets that entered a host
        assert host[:, H_SWITCH].sum() - host[:, H_DECAP].sum() <= b.size
        # transport nodes never translate; SR work sits on edges
        transport = np.array([not h.edge for h in c.hosts])
        assert not host[transport][:, [H_NAT, H_LB]].any()
        assert host[:, H_LB].sum() == (0 if run.lb is None else run.lb.rows.size + run.lb.replies.size)
        out, into = snat_rows(dp.tables.snat, b, run.results)
        assert host[:, H_NAT].sum() == np.count_nonzero(out) + np.count_nonzero(into)
        st = run.service_state
        done = 0 if st is None else np.count_nonzero(st[:b.size] == TRANSLATED)
        port = run.results.egress_port
        back = 0 if st is None else np.count_nonzero(  # un-DNAT-ed where the client is: a pod or node port
            (st[:b.size] == REPLY_TRANSLATED) & (run.results.verdict == int(Verdict.DELIVERED)) & (port >= 0)
            & (port < len(c.pods) + len(c.nodes)))
        assert node[:, N_NAT].sum() == done + back
        # a node's OVS: its pods' frames out (those their stack let go) and in (delivered to them)
        delivered = (run.results.verdict == int(Verdict.DELIVERED)) & (run.results.egress_port >= 0) \
            & (run.results.egress_port < len(c.pods))
        assert node[:, N_SWITCH].sum() <= np.count_nonzero(b.ingress_kind == INGRESS_POD) + np.count_nonzero(delivered)
        # keys: one per evaluation of an original, the sender's port's and the receiver's
        originals = (b.reply == 0)
        r = run.results
        assert np.count_nonzero(sides == 0) == np.count_nonzero(originals & (r.dfw_at_src >= 0))
        assert np.count_nonzero(sides == 1) == np.count_nonzero(originals & (r.dfw_at_dst >= 0))
        assert ((key_hosts >= 0) & (key_hosts < len(c.hosts))).all()
        t = ConnTable(len(c.hosts), slots=16)  # grows as it fills
        t.add(keys, sides, key_hosts)
        # new: the distinct (connection, side) pairs, each on its side's host
        met, first = np.unique(np.stack([keys, sides.astype(np.uint64)]), axis=1, return_index=True)
        assert t.used == np.unique(keys).size and t.new.sum() == met.shape[1]
        assert (t.new == np.bincount(key_hosts[first], minlength=len(c.hosts))).all()
        t.add(keys, sides, key_hosts)  # met: nothing new
        assert t.new.sum() == met.shape[1]
    assert any(r.service_state is not None for _, r in pairs) or not c.services
    if len(c.uplinks) > 1:  # ECMP: both edges' SRs route, each entered by its own uplink
        host, *_ = count_work(c, dp.tables, *pairs[1])
        edges = [k for k, h in enumerate(c.hosts) if h.edge]
        assert (host[edges, H_ROUTE] > 0).all()


def test_route_hops_land_on_the_source_host_when_no_service_router_is_crossed(runs):
    c, dp, pairs = runs
    b, run = pairs[1]
    r = run.results
    plain = (r.n_tunnels <= 1) & ~r.via_edge & (b.ingress_kind == INGRESS_POD)
    sub = b._make(a[plain] for a in b)
    run2 = dp.forward(sub, legs=True)
    host, _, _ = count_work(c, dp.tables, sub, run2)
    src_host = np.array([c.host_index[c.nodes[k].host] for k in c.pods.node[sub.ingress_id]])
    hops = sub.ttl.astype(np.int64) - run2.results.ttl_out
    want = np.bincount(src_host, weights=hops, minlength=len(c.hosts))
    got = host[:, H_ROUTE]
    # drops at a router (no route, TTL) add one lookup where the TTL did not move
    assert (got >= want).all() and got.sum() == run2.counters.router[0, :, 0].sum()


@pytest.mark.parametrize("chunk", [7_000, 40_000])
def test_new_connections_do_not_depend_on_the_chunking(chunk):
    c = default_scenario()
    dp = Dataplane(c)
    prof = Uniform(flows=300, reply_ratio=0.2)

    def report(ch):
        acc = ReportAccumulator(c, dp.tables)
        for b in prof.batches(c, 40_000, seed=9, chunk=ch):
            acc.add(dp.forward(b, **acc.forward_options), b)
        return acc.report(offered_pps=1e6).cpu.set_index("device")

    one, many = report(40_000), report(chunk)
    assert one.equals(many)
    # 300 connections, each new once at its sender's port and once at its receiver's at most
    assert 0 < one["dfw_new"].sum() <= 2 * 300
    assert one["dfw_established"].sum() > 0


def test_conn_tables_merge_as_one_table_would_count():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 1 << 62, 5000, dtype=np.int64).astype(np.uint64)
    keys[:3] = [0, 1, 2]  # 0 is stored as 1: the two are one key (a 2**-64 event for a SplitMix64 key)
    keys = np.concatenate([keys, keys[::7]])  # the receiver's side of some connections
    sides = np.r_[np.zeros(5000, np.uint8), np.ones(keys.size - 5000, np.uint8)]
    hosts = rng.integers(0, 4, keys.size)
    hosts[:2] = 0
    a, b, whole = ConnTable(4, 8), ConnTable(4, 8), ConnTable(4, 8)
    a.add(keys[:3000], sides[:3000], hosts[:3000])
    b.add(keys[2000:], sides[2000:], hosts[2000:])  # overlaps a on 1,000 sender sides
    whole.add(keys, sides, hosts)
    m = a + b
    assert m == whole and m.used == whole.used == 4999
    assert (m.new == whole.new).all() and whole.new.sum() == 4999 + (keys.size - 5000)  # each receiver side once
    assert a.used == 2999  # a unchanged by the merge


def test_a_run_without_legs_or_batches_leaves_the_work_unknown():
    c = default_scenario()
    dp = Dataplane(c)
    b = next(Uniform().batches(c, 1000, seed=1, chunk=1000))
    acc = ReportAccumulator(c, dp.tables)
    acc.add(dp.forward(b, legs=True), b)
    acc.add(dp.forward(b), b)  # no leg log: from here on the work is unknown
    assert acc.totals.work_host is None
    acc.add(dp.forward(b, legs=True), b)
    assert acc.report().cpu.empty
    with pytest.raises(ValueError, match="tunnel-leg log"):
        count_work(c, dp.tables, b, dp.forward(b))
