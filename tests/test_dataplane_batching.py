"""Results and counters, checked against things the kernel did not compute itself.

- Every thread count (1, 2, and more threads than the machine has cores) gives, on a sample,
  the reference walk's results field for field, and the counters recounted from the
  reference's hops (`reference_counters`: stage in/hits/misses, per-router, per-segment,
  per-host, per-TEP-pair and per-uplink loads, verdicts, reasons).
- On a million adversarial packets, packets are conserved BETWEEN stages: what leaves a stage
  enters the next one or ends there, as the results' verdicts, reasons and devices say
  (`test_packets_are_conserved_between_stages`); per-device loads add up to their stages'
  totals; the verdict and reason counters are the results' histograms.
- Batch size (1, 7, 4096) changes nothing.

The fused kernel increments each stage's in and hit-or-miss in one helper, so `hits + misses ==
in` holds by construction and is not what these tests lean on.
"""

import os

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.dataplane.api import touch
from fastpath.dataplane.pipeline import STAGES
from fastpath.model import default_scenario, from_spec, generate, to_spec
from fastpath.model.addressing import OVS_RESERVED_MACS, is_multicast_mac
from fastpath.packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, Results
from fastpath.reference.batch import DeviceIds, walk_batch
from fastpath.traffic import uniform_pod_to_pod
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import DeviceKind, Reason, Verdict

SAMPLE = 20_000
THREADS = [1, 2, (os.cpu_count() or 1) + 1]  # the last: more threads than cores
ROUTERS = (DeviceKind.T0, DeviceKind.T1, DeviceKind.EDGE)


@pytest.fixture(scope="module")
def cluster():
    """Edges, mixed MTUs, DFW rules, and a T0 that routes only half the outside: packets exit
    through the uplink (0/1) and end no-route (128/1)."""
    c = generate(hosts=8, nodes_per_host=2, namespaces=12, pods_per_node=30, edges=2, service_t1_fraction=0.4,
                 mtu=(1600, 1500), dfw_rules=12, seed=5)
    spec = to_spec(c)
    (default,) = spec["t0"]["routes"]
    default["prefix"] = "0.0.0.0/1"
    return from_spec(spec)


@pytest.fixture(scope="module")
def dataplane(cluster):
    return Dataplane(cluster)


@pytest.fixture(scope="module")
def batch(cluster):
    return adversarial_mix(cluster, 1_000_000, seed=9)


@pytest.fixture(scope="module")
def whole(dataplane, batch):
    return dataplane.forward(batch)


@pytest.fixture(scope="module")
def sample(cluster, batch):
    """The first `SAMPLE` packets, the reference's results and hops for them, and the counters
    recounted from those hops."""
    b = batch.slice(0, SAMPLE)
    ids = DeviceIds(cluster)
    ref, full = walk_batch(cluster, b, ids)
    return b, ref, reference_counters(cluster, ids, b, full)


def reference_counters(c, ids, b, full) -> dict[str, np.ndarray]:
    """The fast path's counters, recounted from the reference walk's hops of each packet.

    The kernel counts a stage where it looks the packet up; the reference records a hop per
    table it consults. They line up as follows (pipeline.STAGES says what in/hit/miss mean):
    arp, segment_l2, route (at a router), mtu/tep (encap), dfw — one hop each; a connected
    route records only its neighbor hop (route hit, then neighbor);
    spoofguard — a hop only when it drops, and a pass is followed by the ingress DFW hop;
    vif — the demux of a node's tagged frame (a pod's frame and a node's untagged one go to
    their own port, no lookup); ovs_mac before the destination port's hop is the sending
    bridge, after it the receiving one. A stage that drops ends the walk, so a miss is the
    last hop of a packet dropped for that stage's reason.
    """
    stage = {name: np.zeros(3, np.int64) for name in STAGES}
    n_hosts = len(c.hosts)
    cn = {
        "router": np.zeros((len(ids.router), 2), np.int64),
        "segment": np.zeros((len(c.segments), 2), np.int64),
        "uplink": np.zeros((max(len(c.uplinks), 1), 2), np.int64),
        "host": np.zeros((n_hosts, 4), np.int64),
        "tep_pair": np.zeros((n_hosts * n_hosts, 2), np.int64),
        "verdicts": np.zeros(len(Verdict), np.int64),
        "reasons": np.zeros(len(Reason), np.int64),
    }
    router_mac = c.settings.router_mac

    def count(name, hit):
        stage[name] += (1, hit, not hit)

    for i, res in enumerate(full):
        size = int(b.length[i])
        cn["verdicts"][res.verdict] += 1
        cn["reasons"][res.reason] += 1
        from_endpoint = int(b.ingress_kind[i]) in (INGRESS_POD, INGRESS_NODE)
        at_port = False  # past the destination port's hop
        last = len(res.hops) - 1
        for k, h in enumerate(res.hops):
            ends = k == last and res.verdict is Verdict.DROPPED
            if h.table == "arp":
                count("arp", not (ends and res.reason is Reason.NO_NEIGHBOR))
            elif h.table == "ovs_mac" and not at_port:
                # the sending bridge knows the pod's MAC, the router MAC and the frame's own
                # (unicast) source; a reserved destination is dropped before any lookup
                own = int(c.pods.mac[int(b.ingress_id[i])])
                src, dst = h.raw[0], h.raw[1]
                count("ovs_mac", dst not in OVS_RESERVED_MACS and (
                    dst in (own, router_mac) or (dst == src and not is_multicast_mac(dst))))
            elif h.table == "ovs_mac":
                # the receiving bridge misses on a reserved destination and on a MAC it floods
                # to the pod (whose stack discards it)
                count("ovs_egress", not (ends and (res.reason is Reason.RESERVED_MAC or (
                    res.reason is Reason.UNKNOWN_MAC and res.device_kind is DeviceKind.POD))))
            elif h.table == "vif" and h.raw[2] is not None and res.hops[k - 1].table != "ovs_mac":
                count("vif", not (ends and res.reason is Reason.UNKNOWN_VLAN))
            elif h.table == "spoofguard":
                count("spoofguard", False)
            elif h.table == "dfw":
                if from_endpoint:
                    count("spoofguard", True)
                count("dfw", h.result.startswith("rule "))
            elif h.table == "segment_l2":
                count("segment_l2", not (ends and res.reason is Reason.UNKNOWN_MAC))
                cn["segment"][ids(h.kind, h.device)] += (1, size)
            elif h.table == "route" and h.kind in ROUTERS:
                count("route", not (ends and res.reason is Reason.NO_ROUTE))
                cn["router"][ids(h.kind, h.device)] += (1, size)
            elif h.table == "neighbor":  # a connected route's hop: the lookup hit, then ARP
                count("route", True)
                cn["router"][ids(h.kind, h.device)] += (1, size)
                count("neighbor", not (ends and res.reason is Reason.NO_NEIGHBOR))
            elif h.table in ("tep", "mtu"):
                count("encap", h.table == "tep")
            elif h.table == "port":
                at_port = True
        for t in res.tunnels:
            a, z = c.host_index[t.src_host], c.host_index[t.dst_host]
            cn["host"][a, :2] += (1, t.outer_bytes)
            cn["host"][z, 2:] += (1, t.outer_bytes)
            cn["tep_pair"][a * n_hosts + z] += (1, t.outer_bytes)
        if res.verdict is Verdict.EXITED:
            cn["uplink"][ids(DeviceKind.UPLINK, res.device)] += (1, size)
    cn["stages"] = np.array([stage[name] for name in STAGES])
    return cn


def _assert_results_equal(got: Results, want: Results, what: str):
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=f"{what}: {field}")


@pytest.mark.parametrize("threads", THREADS)
def test_every_thread_count_gives_the_reference_results_and_counts(dataplane, sample, threads):
    """The way the CLI forwards (`runner.run_chunks`, capture, replay): counters sized for the
    threads asked, then forward with that many threads."""
    b, ref, want = sample
    counters = dataplane.new_counters(threads)
    run = dataplane.forward(b, threads=threads, counters=counters)
    _assert_results_equal(run.results, ref, f"threads={threads}")
    cn = run.counters
    for name, expected in want.items():
        np.testing.assert_array_equal(getattr(cn, name)[0], expected, err_msg=f"threads={threads}: {name}")


def test_the_sample_exercises_every_stage_both_ways(sample):
    _, _, want = sample
    for name, (n_in, hits, misses) in zip(STAGES, want["stages"].tolist()):
        assert hits > 0, f"stage {name} never hit in the sample"
        if name != "ovs_egress":  # the receiving bridge misses only on frames built by hand
            assert misses > 0, f"stage {name} never missed in the sample"


@pytest.mark.parametrize("threads", THREADS[1:])
def test_a_million_packets_on_many_threads_equal_one_thread(dataplane, batch, whole, threads):
    run = dataplane.forward(batch, threads=threads)
    _assert_results_equal(run.results, whole.results, f"threads={threads}")
    for name, a, b in zip(whole.counters._fields, run.counters, whole.counters):
        np.testing.assert_array_equal(a, b, err_msg=name)


def _stages(run):
    return {name: dict(zip(("in", "hit", "miss"), row)) for name, row in zip(STAGES, run.counters.stages[0].tolist())}


def test_packets_are_conserved_between_stages(whole, batch):
    """Along the path of pipeline.py's docstring: the packets a stage passes on are the next
    stage's packets in, plus the ones that skip it; a stage's misses are the drops the results
    pin on it (reason and device kind)."""
    r, b = whole.results, batch
    s = _stages(whole)

    def n(mask) -> int:
        return int(np.count_nonzero(mask))

    def dropped(reason, *kinds):
        return (r.reason == reason) & (np.isin(r.dev_kind, kinds) if kinds else True)

    pod, node, uplink = (b.ingress_kind == k for k in (INGRESS_POD, INGRESS_NODE, INGRESS_UPLINK))
    delivered = r.verdict == Verdict.DELIVERED
    via_port = delivered & (r.egress_port >= 0)
    loopback = delivered & (r.hops == 0) & np.isin(r.dev_kind, (DeviceKind.POD, DeviceKind.NODE))
    # into the sender's stack: a pod or a node, not malformed, not a packet to itself
    live = (pod | node) & (r.reason != Reason.MALFORMED) & ~loopback
    arp_miss = dropped(Reason.NO_NEIGHBOR, DeviceKind.POD, DeviceKind.NODE)
    assert s["arp"]["miss"] == n(arp_miss)
    out_of_stack = live & ~arp_miss
    # out of the sender's stack: a pod's frame to its bridge (a tagged one is discarded at the
    # access port), a node's tagged frame to the VIF demux, a node's untagged one to its port
    pod_tagged = dropped(Reason.UNKNOWN_VLAN, DeviceKind.OVS)
    node_untagged = out_of_stack & node & (b.vlan == 0)
    assert s["ovs_mac"]["in"] == n(out_of_stack & pod) - n(pod_tagged)
    assert s["vif"]["in"] == n(out_of_stack & node & (b.vlan != 0))
    assert s["vif"]["miss"] == n(dropped(Reason.UNKNOWN_VLAN, DeviceKind.VIF))
    # both bridges drop reserved destinations and destinations learned on the input port; the
    # receiving one also floods a MAC it does not know to the pod, whose stack discards it.
    # What the receiving bridge took in and did not deliver or flood, it dropped; the rest of
    # the bridges' drops are the sending bridge's
    flooded = n(dropped(Reason.UNKNOWN_MAC, DeviceKind.POD))
    at_bridges = n(dropped(Reason.RESERVED_MAC, DeviceKind.OVS) | dropped(Reason.LEARNED_ON_INPUT, DeviceKind.OVS))
    receiving_drops = s["ovs_egress"]["in"] - n(via_port & (r.dev_kind == DeviceKind.POD)) - flooded
    sending_drops = at_bridges - receiving_drops
    assert sending_drops > 0 and receiving_drops >= 0
    assert s["spoofguard"]["in"] == s["ovs_mac"]["in"] - sending_drops + s["vif"]["hit"] + n(node_untagged)
    assert s["spoofguard"]["miss"] == n(dropped(Reason.SPOOFGUARD))
    # the DFW: at the source port for what SpoofGuard passed; at the destination port for a
    # packet from an uplink (it reached that port: delivered through it, or dropped there)
    # (a packet from an uplink meets only the receiving bridge)
    reached_port = via_port | dropped(Reason.DFW_DENY) | dropped(Reason.UNKNOWN_MAC, DeviceKind.POD) \
        | dropped(Reason.RESERVED_MAC, DeviceKind.OVS) | dropped(Reason.LEARNED_ON_INPUT, DeviceKind.OVS)
    assert s["dfw"]["in"] == s["spoofguard"]["hit"] + n(uplink & reached_port)
    # segment L2: what the source port's DFW let through, and every neighbor a router found
    assert s["segment_l2"]["in"] == s["spoofguard"]["hit"] - n((pod | node) & dropped(Reason.DFW_DENY)) \
        + s["neighbor"]["hit"]
    assert s["segment_l2"]["miss"] == n(dropped(Reason.UNKNOWN_MAC, DeviceKind.SEGMENT))
    # routers: a lookup that misses is no-route; every one that hits answers one IP hop (a
    # local address, a TTL expiry, a next router, an uplink, a neighbor), and the last IP hop
    # of a packet delivered through a port is its endpoint
    assert s["route"]["miss"] == n(dropped(Reason.NO_ROUTE))
    assert s["route"]["hit"] == int(r.hops.sum()) - n(via_port)
    to_next_router = s["route"]["hit"] - n(delivered & np.isin(r.dev_kind, ROUTERS)) - n(dropped(Reason.TTL_EXPIRED)) \
        - n(r.verdict == Verdict.EXITED) - s["neighbor"]["in"]
    assert to_next_router > 0
    assert s["neighbor"]["miss"] == n(dropped(Reason.NO_NEIGHBOR, *ROUTERS))
    # encap: one per tunnel crossed, a miss per MTU drop
    assert s["encap"]["hit"] == int(r.n_tunnels.sum())
    assert s["encap"]["miss"] == n(dropped(Reason.MTU_EXCEEDED))
    # the receiving bridge: every delivery to a pod through its port is a hit, every flood a miss
    assert s["ovs_egress"]["hit"] >= n(via_port & (r.dev_kind == DeviceKind.POD))
    assert s["ovs_egress"]["miss"] >= flooded


def test_device_loads_add_up_to_their_stages(whole, batch):
    r, cn = whole.results, whole.counters
    s = _stages(whole)
    size = batch.length.astype(np.int64)
    assert cn.router[0, :, 0].sum() == s["route"]["in"]  # every lookup is some router's
    assert cn.segment[0, :, 0].sum() == s["segment_l2"]["in"]
    tunnels = int(r.n_tunnels.sum())
    underlay = int(r.underlay_bytes.astype(np.int64).sum())
    assert cn.host[0, :, 0].sum() == cn.host[0, :, 2].sum() == cn.tep_pair[0, :, 0].sum() == tunnels
    assert cn.host[0, :, 1].sum() == cn.host[0, :, 3].sum() == cn.tep_pair[0, :, 1].sum() == underlay
    exited = r.verdict == Verdict.EXITED
    assert cn.uplink[0, :, 0].sum() == int(exited.sum())
    assert cn.uplink[0, :, 1].sum() == int(size[exited].sum())
    for u in range(cn.uplink.shape[1]):  # and per uplink
        assert cn.uplink[0, u, 0] == int((exited & (r.dev_id == u)).sum())


def test_verdict_and_reason_counters_are_the_results_histograms(whole):
    r, cn = whole.results, whole.counters
    assert cn.verdicts[0].tolist() == np.bincount(r.verdict, minlength=len(Verdict)).tolist()
    assert cn.reasons[0].tolist() == np.bincount(r.reason, minlength=len(Reason)).tolist()
    assert whole.reason_counts() == {x.label: int((r.reason == x).sum()) for x in Reason if x is not Reason.NONE}
    # a packet has a reason exactly when it is dropped
    assert ((r.reason != Reason.NONE) == (r.verdict == Verdict.DROPPED)).all()


def _concat(parts):
    return Results(*(np.concatenate(cols) for cols in zip(*parts)))


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_results_do_not_depend_on_batch_size(dataplane, batch, whole, size):
    n = 20_000 if size == 1 else 200_000
    counters = dataplane.new_counters(1)
    parts = [dataplane.forward(batch.slice(lo, min(lo + size, n)), counters=counters).results
             for lo in range(0, n, size)]
    got = _concat(parts)
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(got, field), getattr(whole.results, field)[:n], err_msg=field)
    assert counters.verdicts.sum() == n


def test_uniform_traffic_is_the_same_whatever_the_chunk(cluster):
    a = list(uniform_pod_to_pod(cluster, 100_000, seed=3, chunk=100_000))
    b = list(uniform_pod_to_pod(cluster, 100_000, seed=3, chunk=7_777))
    assert len(a) == 1 and len(b) == 13
    for field in a[0]._fields:
        np.testing.assert_array_equal(getattr(a[0], field), np.concatenate([getattr(x, field) for x in b]))
    c = next(uniform_pod_to_pod(cluster, 1000, seed=4))
    assert not np.array_equal(c.dst_ip, a[0].dst_ip[:1000])


def test_summary_frame_matches_the_counters(whole):
    df = whole.summary()
    assert df["packets"].sum() == whole.packets
    assert abs(df["share"].sum() - 1.0) < 1e-9
    dropped = df[df["verdict"] == "dropped"].set_index("reason")["packets"].to_dict()
    assert dropped == {k: v for k, v in whole.reason_counts().items() if v}


@pytest.mark.parametrize("prefetch", [True, False])
def test_prefetch_pipeline_changes_nothing_but_speed(cluster, sample, prefetch):
    b, ref, want = sample
    dp = Dataplane(cluster, prefetch=prefetch)
    assert dp.dp.deep_prefetch is prefetch
    run = dp.forward(b, threads=2)
    _assert_results_equal(run.results, ref, f"prefetch={prefetch}")
    np.testing.assert_array_equal(run.counters.stages[0], want["stages"])


def test_big_clusters_turn_the_prefetch_pipeline_on():
    big = generate(hosts=40, nodes_per_host=4, namespaces=20, pods_per_node=250, seed=1)  # 40,000 pods: 1.3 MB of ports
    assert Dataplane(big).dp.deep_prefetch and not Dataplane(generate(2, 1, 2, 2)).dp.deep_prefetch


def test_touch_keeps_every_value():
    rng = np.random.default_rng(2)
    arrays = [rng.integers(-2**40, 2**40, (3, 5000)), rng.random(9000) < 0.5, rng.integers(0, 255, 70_001, np.uint8),
              np.zeros(0, np.int32)]
    before = [a.copy() for a in arrays]
    touch(*arrays)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


def test_reserve_changes_no_answer_and_keeps_what_the_flow_cache_learned(cluster, batch):
    """`Dataplane.reserve` (a run's setup: the buffers' pages faulted in) before the first call
    and between calls: results as a fresh Dataplane's, and a cache that has learned the traffic
    hits as much after it as before."""
    flows = batch.slice(0, 512)
    repeated = type(flows)(*(np.tile(col, 8) for col in flows))
    want = Dataplane(cluster, engine="staged", flow_cache=False).forward(repeated)
    dp = Dataplane(cluster)
    dp.reserve(repeated.size, 2)
    first = dp.forward(repeated, threads=2)
    learned = dp.forward(repeated, threads=2)
    dp.reserve(repeated.size, 2)
    again = dp.forward(repeated, threads=2)
    assert learned.flow_cache_hits > 0
    assert again.flow_cache_hits == learned.flow_cache_hits
    for run in (first, learned, again):
        for field in Results._fields:
            np.testing.assert_array_equal(getattr(run.results, field), getattr(want.results, field), err_msg=field)


@pytest.mark.parametrize("report", [False, True])
def test_a_run_warms_the_kernels_its_timed_calls_take(cluster, report, monkeypatch):
    """`run_uniform`'s untimed first call asks what its timed calls ask (with a load report, the
    leg log, which may take another engine): otherwise the first timed chunk of a fresh install
    compiled that engine inside the clock (the demo's study once read 0.16 M packets/s)."""
    from fastpath.analysis.report import ReportAccumulator
    from fastpath.dataplane.runner import run_uniform

    dp = Dataplane(cluster)
    calls = []
    forward = Dataplane.forward

    def spy(self, batch, **kw):
        calls.append((batch.size, {k: v for k, v in kw.items() if k in ("legs", "trace")}))
        return forward(self, batch, **kw)

    monkeypatch.setattr(Dataplane, "forward", spy)
    acc = ReportAccumulator(cluster, dp.tables) if report else None
    run_uniform(cluster, 3000, dataplane=dp, accumulator=acc, chunk=1000)
    (warm_size, warm), *timed = calls
    assert warm_size == 1 and len(timed) == 3
    assert all(kw == warm for _, kw in timed) and warm == ({"legs": True} if report else {})


def _lines(a: np.ndarray) -> set[int]:
    """The cache lines an array's bytes lie on."""
    if not a.size:
        return set()
    lo = a.ctypes.data
    hi = lo + (np.asarray(a.shape) - 1) @ np.asarray(a.strides) + a.itemsize
    return set(range(lo // 64, (hi - 1) // 64 + 1))


def test_two_workers_never_write_one_cache_line(dataplane):
    """What each worker of a call writes as it goes — its counter rows, its leg count, its
    scratch, vectors and recipe, its flow cache's state and keys — lies on cache lines no other
    worker's does: a line two cores write ping-pongs between them (packed counter rows made
    a 2-thread walk of the seed 1.25-1.3x one thread, bench/RESULTS.md). Rows stay C-contiguous,
    as the kernels take them."""
    from fastpath.dataplane.api import _make_worker_buffers
    from fastpath.dataplane.stages.flow_cache import make_flow_cache

    cn = dataplane.new_counters(3)
    for name, a in zip(cn._fields, cn):
        rows = [a[w:w + 1] for w in range(3)]
        assert all(r.flags.c_contiguous for r in rows), name
        assert not (_lines(rows[0]) & _lines(rows[1])) and not (_lines(rows[1]) & _lines(rows[2])), name
    assert all(a.flags.c_contiguous for a in dataplane.new_counters(1))

    def written(wb, fc):
        arrays = [wb.n_legs, *wb.scratch, *wb.vectors, *wb.recipe, fc.state, fc.keys]
        return set().union(*(_lines(a) for a in arrays))

    held = [(_make_worker_buffers(64), make_flow_cache(False)) for _ in range(2)]  # (alive together)
    mine, theirs = (written(wb, fc) for wb, fc in held)
    assert mine and not (mine & theirs)
    # and whatever the heap puts beside them: each array's lines lie inside its own allocation
    wb, fc = held[0]
    for a in [wb.n_legs, *wb.scratch, *wb.vectors, *wb.recipe, fc.state, fc.keys, *cn]:
        root = a
        while root.base is not None:
            root = root.base
        first, last = min(_lines(a)), max(_lines(a))
        assert root.ctypes.data <= first * 64 and root.ctypes.data + root.nbytes >= (last + 1) * 64


def test_a_batch_too_small_for_two_workers_runs_on_one(cluster, batch, real_shares):
    """`Dataplane.forward(threads=2)` gives a second worker a share only when the batch pays for
    its hand-off (`api.workers_for`): below two walked shares one worker answers — the same
    results and counters as one thread, the second counter row untouched — and from two on,
    both work."""
    walked = real_shares["MIN_SHARE_WALKED"]
    d = Dataplane(cluster, flow_cache=False)
    for n, active in ((2 * walked - 1, 1), (2 * walked, 2)):
        b = batch.slice(0, n)
        one = d.forward(b, threads=1)
        run = d.forward(b, threads=2)
        _assert_results_equal(run.results, one.results, f"{n} packets")
        for name, a, want in zip(one.counters._fields, run.counters, one.counters):
            np.testing.assert_array_equal(a, want, err_msg=f"{n} packets: {name}")
        rows = [int(run.worker_counters.verdicts[w].sum()) for w in range(2)]
        assert [r > 0 for r in rows] == [True, active == 2], (n, rows)
        assert sum(rows) == n


def test_a_call_the_flow_cache_answered_needs_bigger_shares(cluster, real_shares):
    """Where the cache answers most packets (~8 ns each) a second worker pays only from
    `MIN_SHARE_CACHED` packets a worker: after a call that hit mostly, a batch of two walked
    shares runs on one worker; a cold cache walks, and splits at the walked share."""
    walked, cached = real_shares["MIN_SHARE_WALKED"], real_shares["MIN_SHARE_CACHED"]
    seed = default_scenario()  # (a few hundred flows: its one DFW rule reads no port)
    b = next(iter(uniform_pod_to_pod(seed, 2 * walked, seed=4, chunk=2 * walked)))
    d = Dataplane(seed)
    assert d.workers_for(2 * walked, 2, cached=True) == 2  # nothing learned yet: a walk
    first = d.forward(b, threads=2, counters=d.new_counters(2))
    assert first.flow_cache_hits < b.size  # (it walked what it had not seen)
    again = d.forward(b, threads=2, counters=d.new_counters(2))
    assert again.flow_cache_hits >= b.size // 2  # the same flows: cached now
    assert d.workers_for(2 * walked, 2, cached=True) == 1 and d.workers_for(2 * cached, 2, cached=True) == 2
    third = d.forward(b, threads=2, counters=d.new_counters(2))
    assert third.worker_counters.verdicts.sum(axis=1).tolist() == [b.size, 0]
    _assert_results_equal(third.results, first.results, "cached, one worker")
    assert d.workers_for(2 * walked, 2, cached=False) == 2  # a walked call (a trace, the leg log) still splits


def test_a_leg_log_is_reused_only_when_no_view_of_it_lives(cluster, batch):
    """`forward(legs=True)` hands out the leg log as a view of a log the `Dataplane` reuses
    (`Dataplane._take_leg_log`): a log is written again only once every view of it is gone —
    a run's legs, or any slice of them a caller kept, never change under it."""
    import gc

    d = Dataplane(cluster, engine="fused")  # (one worker, packets in order: the log handed out as it is)
    first = d.forward(batch.slice(0, 5000), legs=True)
    assert first.legs.shape[0] > 0
    kept, address = first.legs.copy(), first.legs.__array_interface__["data"][0]
    second = d.forward(batch.slice(5000, 10000), legs=True)
    np.testing.assert_array_equal(first.legs, kept)  # (the second call wrote another log)
    assert second.legs.__array_interface__["data"][0] != address
    column = first.legs[:, 1].copy(), first.legs[:, 1]  # a caller keeps a slice of the first run's legs
    del first
    gc.collect()
    d.forward(batch.slice(10000, 15000), legs=True)
    np.testing.assert_array_equal(column[1], column[0])  # its slice held the first log: not reused
    del column, second
    gc.collect()
    logs = [log.__array_interface__["data"][0] for log in d.__dict__["_leg_logs"]]
    assert len(logs) == 3  # one a call so far: each was viewed when the next call came
    again = d.forward(batch.slice(0, 5000), legs=True)
    np.testing.assert_array_equal(again.legs, kept)  # (the same packets: the same legs)
    assert again.legs.__array_interface__["data"][0] in logs  # no view left: a kept log is written again
    assert len(d.__dict__["_leg_logs"]) == 3
