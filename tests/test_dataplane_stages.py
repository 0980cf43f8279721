"""Each stage of the staged data path against the reference walk's method of the same name.

How a reference hop is given to a stage
---------------------------------------
The reference walk (`fastpath.reference.walk`) is run unchanged, through a subclass of its
`_Walk` that only watches: each of its methods is wrapped to keep the stack of methods active,
and every hop it writes, and the call that ends the packet, is labelled with the graph stage
(`fastpath.dataplane.graph.GRAPH`) that answers for the innermost one. The names are shared
(`STAGES` below is the table); where the reference nests what the graph runs as a stage of its
own, the caller decides: the tunnel inside ``route`` is the hairpin to a service router's edge
(the route stage does it), the ``segment`` after ``neighbor`` is the L2 pass the neighbor stage
does, ``dfw`` inside ``dfw_at_receiver`` is the receiver's side, and the OVS
drops inside ``ovs_to_pod`` are delivery's.

What each stage is held to
--------------------------
From the labels, everything a stage is responsible for is derived from the reference alone: the
packets it ends, its share of every counter (stage in/hits/misses, router, segment, host and
uplink loads), the trace records and the tunnel legs it writes. The staged engine's share is
measured by running prefixes of the graph (``upto=k``, as bench/stages.py does): what prefix
k+1 has that prefix k has not is stage k's. A prefix must also leave every packet the reference
ends within it final, and every other one undecided: no stage depends on a later one, and none
decides early. Each batch must exercise every stage both ways (packets it ends and packets it
passes on, hits and misses), so none of this can pass vacuously.

Last, the two engines (staged and fused) agree on everything they output, at the vector's edge
sizes, with and without prefetch, on one and two threads.
"""

from __future__ import annotations

import copy
import functools
import importlib
import pkgutil
from dataclasses import dataclass
from unittest import mock

import numba
import numpy as np
import pytest

from fastpath.dataplane import Dataplane, graph
from fastpath.dataplane import stages as stages_pkg
from fastpath.dataplane.stages.common import (LEG_BYTES, LEG_COLS, LEG_PACKET, LEG_TEP, LEG_TO, LEG_TTL, LEG_VNI,
                                              MAX_LEGS, STAGES as COUNTER_NAMES, Counters, make_scratch,
                                              make_vectors)
from fastpath.dataplane.trace import MAX_HOPS
from fastpath.model import default_scenario, from_spec, generate
from fastpath.model.scenarios import SEED_SPEC
from fastpath.packets import INPUT_FIELDS, Results, empty_results, make_batch
from fastpath.reference.batch import DeviceIds, trace_records, walk_batch
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import DeviceKind, Reason, Verdict

reference = importlib.import_module("fastpath.reference.walk")  # the module (the package exports its walk())

# ---- the names ------------------------------------------------------------------------------------
MODULES = {
    # stage module: (its vector kernels, its per-packet functions, the reference methods it answers for)
    "ingress": (("ingress",), ("ingress_one", "ingress_port", "sane"), ("malformed", "from_endpoint", "from_uplink")),
    "sender_stack": (("sender_stack",), ("sender_stack_one", "sender_stack_step", "on_link"), ("sender_stack",)),
    "ovs": (("ovs_from_pod",), ("ovs_from_pod_one", "ovs_from_pod_step", "ovs_to_pod", "ovs_reserved", "ovs_own_source"), ("ovs_from_pod", "ovs_to_pod", "ovs_drops")),
    "vif": (("vif_demux",), ("vif_demux_one", "vif_demux_step"), ("vif_demux",)),
    "spoofguard": (("spoofguard",), ("spoofguard_one", "spoofguard_step", "spoofguard_ok"), ("spoofguard",)),
    "dfw": (("dfw",), ("dfw_one", "dfw_step", "tally", "dfw_decide", "dfw_apply", "dfw_at_receiver", "admin_scan"), ("dfw", "dfw_at_receiver")),
    "segment": (("segment",), ("segment_one", "segment_l2"), ("segment",)),
    "route": (("route",), ("route_one", "route_lookup"), ("route",)),
    "neighbor": (("neighbor",), ("neighbor_one",), ("neighbor",)),
    "tunnel": (("tunnel",), ("tunnel_one", "tunnel_step", "encap", "log_leg"), ("tunnel",)),
    "deliver": (("deliver",), ("deliver_one", "deliver_step"), ("deliver",)),
    # first of all: in the staged engine's pass (the flow cache's key pass, `translate_uncached`),
    # or over the batch before either engine (`service_dnat`)
    "service": (("service_dnat", "candidates", "pick_vector"),
                ("service_key", "pick_one", "rewrite_one", "dnat_one", "no_endpoint_one",
                 "original_hash"),
                ("service_dnat", "service_reply_source", "service_undnat")),
}

STAGES = {
    # graph stage: (module, vector kernel, counters it keeps)
    "ingress": ("ingress", "ingress", ()),
    "sender_stack": ("sender_stack", "sender_stack", ("arp",)),
    "ovs_from_pod": ("ovs", "ovs_from_pod", ("ovs_mac",)),
    "vif_demux": ("vif", "vif_demux", ("vif",)),
    "spoofguard": ("spoofguard", "spoofguard", ("spoofguard",)),
    "dfw": ("dfw", "dfw", ("dfw",)),
    "segment": ("segment", "segment", ("segment_l2",)),
    "route": ("route", "route", ("route", "encap")),
    "neighbor": ("neighbor", "neighbor", ("neighbor", "segment_l2")),
    "tunnel": ("tunnel", "tunnel", ("encap",)),
    "dfw_at_receiver": ("dfw", "dfw", ("dfw",)),
    "deliver": ("deliver", "deliver", ("ovs_egress",)),
}
ORDER = {name: k for k, name in enumerate(graph.GRAPH)}  # "count" last: verdict and reason counters
WATCHED = sorted({m for name, (_, _, methods) in MODULES.items() if name != "service" for m in methods})
"""(The service stage runs before the graph: its hops count as the graph stage that calls it.)"""


def test_every_stage_module_has_its_kernels_and_a_reference_method_of_its_name():
    # common: what stages share; flow_cache: not a stage of the path but a memo in front of them,
    # held to the walk by tests/test_dataplane_flow_cache.py
    found = {m.name for m in pkgutil.iter_modules(stages_pkg.__path__)} - {"common", "flow_cache"}
    assert found == set(MODULES), "a stage module was added or removed: update MODULES (and STAGES)"
    for name, (kernels, inline, methods) in MODULES.items():
        module = importlib.import_module(f"fastpath.dataplane.stages.{name}")
        for fn in kernels + inline:
            obj = getattr(module, fn, None)
            assert isinstance(obj, numba.core.dispatcher.Dispatcher), f"stages.{name}.{fn} is not a kernel"
            assert obj.py_func.__module__ == module.__name__, f"stages.{name}.{fn} is defined elsewhere"
        for m in methods:
            assert callable(getattr(reference._Walk, m, None)), f"the reference walk has no method {m}"
    # the graph: its stages are these, in the path's order, and it calls these very kernels
    assert graph.GRAPH == (*STAGES, "count")
    for stage, (module, fn, counters) in STAGES.items():
        assert fn in MODULES[module][0]
        assert getattr(graph, fn) is getattr(importlib.import_module(f"fastpath.dataplane.stages.{module}"), fn)
        assert set(counters) <= set(COUNTER_NAMES)
    assert {c for _, _, cs in STAGES.values() for c in cs} == set(COUNTER_NAMES), "a counter no stage keeps"


# ---- the reference, labelled by stage -------------------------------------------------------------
def _stage_of(calls: list[str]) -> str:
    """The graph stage that answers for the innermost reference method of ``calls``."""
    inner, outer = calls[-1], (calls[-2] if len(calls) > 1 else "")
    if inner in ("malformed", "from_endpoint", "from_uplink"):
        return "ingress"
    if inner == "ovs_drops":  # steps 2-3 of OVS NORMAL, entering from the pod's port or the trunk
        return "ovs_from_pod" if outer == "ovs_from_pod" else "deliver"
    if inner == "ovs_to_pod":
        return "deliver"
    if inner in ("dfw", "dfw_at_receiver"):  # at the receiver's port: from an uplink, or an isolated receiver
        return "dfw_at_receiver" if "dfw_at_receiver" in (inner, outer) else "dfw"
    if inner == "segment" and outer == "neighbor":  # the L2 pass to the neighbor's port
        return "neighbor"
    if inner == "tunnel" and outer == "route":  # the hairpin to a service router's edge
        return "route"
    return inner


class _Labelled(reference._Walk):
    """The reference walk, unchanged, with each hop labelled by the stage that writes it."""

    def __init__(self, cluster, pkt):
        super().__init__(cluster, pkt)
        self._calls: list[str] = []
        self.res.stages = []  # per hop
        self.res.entered = []  # the stage of every watched call, in call order
        self.res.ended_in = None

    def hop(self, *args, **kw):
        super().hop(*args, **kw)
        self.res.stages.append(_stage_of(self._calls))

    def end(self, *args):
        self.res.ended_in = _stage_of(self._calls)
        super().end(*args)


def _watch(name):
    method = getattr(reference._Walk, name)

    @functools.wraps(method)
    def call(self, *args, **kw):
        self._calls.append(name)
        self.res.entered.append(_stage_of(self._calls))
        try:
            return method(self, *args, **kw)
        finally:
            self._calls.pop()

    return call


for _name in WATCHED:
    if hasattr(reference._Walk, _name):  # a missing one fails the names test, by name
        setattr(_Labelled, _name, _watch(_name))


# ---- clusters and batches -------------------------------------------------------------------------
def _seed_with_a_reserved_mac():
    """The seed, its db pod's MAC one Open vSwitch reserves (Extreme's, unicast): its bridge drops
    the frames delivered to it (the only way delivery's OVS table can miss)."""
    spec = copy.deepcopy(SEED_SPEC)
    pod = next(p for p in spec["pods"] if p["namespace"] == "db")
    pod["mac"] = "00:e0:2b:00:00:04"
    return from_spec(spec)


CLUSTERS = {
    "seed": lambda: default_scenario(),
    "seed-reserved-mac": _seed_with_a_reserved_mac,
    # service routers on two edges (hairpins), DFW rules, mixed underlay MTUs, no default route (no-route)
    "generated": lambda: generate(6, 2, 4, 5, service_t1_fraction=0.5, dfw_rules=20, mtu=(1600, 1500, 1400),
                                  edges=2, default_route=False, seed=5),
}
PACKETS = 4000


def _concat(*batches):
    return make_batch(**{name: np.concatenate([getattr(b, name) for b in batches]) for name, _, _ in INPUT_FIELDS})


def _own_garbage(c, n, seed):
    """After tests/test_dataplane_safety.py: any value in every field but the ingress (a real pod
    or node), half the packets with the sender's own source and untagged, so garbage reaches the
    deeper stages (adversarial_mix's garbage mostly stops at ingress or SpoofGuard)."""
    rng = np.random.default_rng(seed)
    cols = {}
    for name, dtype, _ in INPUT_FIELDS:
        info = np.iinfo(dtype)
        hi = (1 << 48) if dtype == np.uint64 else int(info.max) + 1
        cols[name] = rng.integers(int(info.min), hi, n, dtype=np.uint64 if dtype == np.uint64 else np.int64)
    pod = rng.random(n) < 0.7
    cols["ingress_kind"] = np.where(pod, int(DeviceKind.POD), int(DeviceKind.NODE))
    cols["ingress_id"] = np.where(pod, rng.integers(0, len(c.pods), n), rng.integers(0, len(c.nodes), n))
    own = rng.random(n) < 0.5
    ip = np.where(pod, c.pods.ip[np.minimum(cols["ingress_id"], len(c.pods) - 1)],
                  np.array([x.ip for x in c.nodes])[np.minimum(cols["ingress_id"], len(c.nodes) - 1)])
    cols["src_ip"] = np.where(own, ip, cols["src_ip"])
    cols["src_mac"] = np.where(own, np.uint64(0), cols["src_mac"])
    cols["dst_mac"] = np.where(own & (rng.random(n) < 0.7), np.uint64(0), cols["dst_mac"])
    cols["vlan"] = np.where(own, 0, cols["vlan"])
    cols["ttl"] = np.where(own & (rng.random(n) < 0.8), rng.integers(1, 65, n), cols["ttl"])
    cols["length"] = np.where(own & (rng.random(n) < 0.8), rng.integers(28, 2000, n), cols["length"])
    return make_batch(**{k: v.astype(dtype) for (k, v), (_, dtype, _) in zip(cols.items(), INPUT_FIELDS)})


def _dfw_directed(c, n, seed):
    """Packets each a DFW rule's match, or a near miss (the rule's addresses, another port or
    protocol), from the uplink (the destination port's DFW) or from a pod in the rule's source."""
    rng = np.random.default_rng(seed)
    ep_ip = np.concatenate([c.pods.ip.astype(np.int64), [x.ip for x in c.nodes]])
    cols = {name: np.zeros(n, np.int64) for name, _, _ in INPUT_FIELDS}
    cols.update(ttl=np.full(n, 64), length=np.full(n, 100), ingress_kind=np.full(n, int(DeviceKind.UPLINK)))
    for i in range(n):
        rule = c.dfw_rules[rng.integers(len(c.dfw_rules))]
        src_net, dst_net = rule.src, rule.dst
        dst = ep_ip[(ep_ip >= int(dst_net.network_address)) & (ep_ip <= int(dst_net.broadcast_address))]
        cols["dst_ip"][i] = rng.choice(dst) if dst.size else int(dst_net.network_address) + 1
        pods = np.flatnonzero((c.pods.ip >= int(src_net.network_address)) & (c.pods.ip <= int(src_net.broadcast_address)))
        if pods.size and rng.random() < 0.5:
            cols["ingress_kind"][i], cols["ingress_id"][i] = int(DeviceKind.POD), rng.choice(pods)
            cols["src_ip"][i] = c.pods.ip[cols["ingress_id"][i]]
        else:
            cols["src_ip"][i] = int(src_net.network_address) + rng.integers(src_net.num_addresses)
        cols["proto"][i] = rule.proto or rng.choice([1, 6, 17])
        cols["dport"][i] = rng.integers(rule.dport_lo, rule.dport_hi + 1)
        if rng.random() < 0.25:  # near miss
            cols["proto"][i], cols["dport"][i] = rng.choice([1, 6, 17, 47]), rng.integers(0, 1 << 16)
    return make_batch(**{name: cols[name].astype(dtype) for name, dtype, _ in INPUT_FIELDS})


def _batch(c, n, seed):
    """Seeded valid and garbage packets: the differential tests' mix, then deep garbage and DFW
    rules' matches (a tenth each)."""
    k = n - 2 * (n // 10)
    return _concat(adversarial_mix(c, k, seed=seed), _own_garbage(c, n // 10, seed + 1),
                   _dfw_directed(c, n // 10, seed + 2))


@dataclass
class Ref:
    c: object
    batch: object
    dp: Dataplane
    results: Results  # the reference's, encoded as the fast path's
    full: list  # reference `Result`s
    ended: np.ndarray  # int64[n]: the graph index of the stage each packet ends in
    hop_stage: list  # per packet: int64[hops], the graph index of each hop's stage
    records: list  # per packet: int32[hops, 4], the hops as trace records
    met: np.ndarray  # bool[n, len(STAGES)]: the packet met the stage (a call or a hop labelled with it)


@functools.cache
def _reference(name: str) -> Ref:
    c = CLUSTERS[name]()
    b = _batch(c, PACKETS, seed=11)
    with mock.patch.object(reference, "_Walk", _Labelled):
        results, full = walk_batch(c, b)
    ids = DeviceIds(c)
    ended = np.array([ORDER[getattr(r, "ended_in", None) or "ingress"] for r in full], np.int64)
    hop_stage = [np.array([ORDER[s] for s in getattr(r, "stages", [])], np.int64) for r in full]
    met = np.zeros((b.size, len(STAGES)), bool)
    met[np.arange(b.size), ended] = True
    for i, r in enumerate(full):
        assert len(hop_stage[i]) == len(r.hops)  # the labelled walk ran (patched in)
        met[i, hop_stage[i]] = True
        met[i, [ORDER[s] for s in getattr(r, "entered", [])]] = True
    return Ref(c, b, Dataplane(c, engine="staged"), results, full, ended, hop_stage,
               [trace_records(r, ids) for r in full], met)


# ---- what each stage owes, from the reference -----------------------------------------------------
def _counter_hit(stage: str, ingress_kind: int, h) -> tuple[str, bool] | None:
    """The stage counter a reference hop counts in, and whether it is a hit (the counters'
    meanings: `fastpath.dataplane.stages.common.STAGES`); None: it counts in none."""
    t = h.table
    if t == "arp":
        return "arp", h.result != "no answer"
    if t == "ovs_mac" and stage == "ovs_from_pod":  # the table knows the pod's MAC, the router's, the frame's source
        return "ovs_mac", h.result.startswith(("router MAC", "the pod's own MAC", "the frame's own source"))
    if t == "ovs_mac" and stage == "deliver":
        return "ovs_egress", h.result.startswith(("learned on the pod port", "the frame's own source"))
    if t == "vif" and ingress_kind == DeviceKind.NODE and not h.key.endswith("untagged"):  # demux by tag
        return "vif", h.result != "miss"
    if t == "spoofguard":  # written on a drop only: the passes are counted from the calls
        return "spoofguard", False
    if t == "dfw":
        return "dfw", not h.result.startswith("default")
    if t == "segment_l2":
        return "segment_l2", h.result != "miss"
    if t == "route" and stage == "route":  # (the sender stack's "route" hop is its choice of the gateway)
        return "route", h.result != "no route"
    if t == "neighbor":
        return "neighbor", not h.result.startswith("miss")
    if t in ("tep", "mtu"):
        return "encap", t == "tep"
    return None


@functools.cache
def _owed(name: str):
    """Per graph stage: the counters it adds (`Counters`, one row) and the tunnel legs it logs
    (int64[legs, LEG_COLS], packet order), all derived from the labelled reference."""
    ref = _reference(name)
    c, b, ids = ref.c, ref.batch, DeviceIds(ref.c)
    h_count = len(c.hosts)
    owed = {s: ref.dp.new_counters(1) for s in graph.GRAPH}
    legs = {s: [] for s in graph.GRAPH}
    stage_idx = {n: k for k, n in enumerate(COUNTER_NAMES)}
    for i, r in enumerate(ref.full):
        kind, length = int(b.ingress_kind[i]), int(b.length[i])
        cn = owed["count"]
        cn.verdicts[0, int(r.verdict)] += 1
        cn.reasons[0, int(r.reason)] += 1
        for s in getattr(r, "entered", []):
            if s == "spoofguard":
                owed[s].stages[0, stage_idx["spoofguard"], :2] += 1  # in, and a hit until a drop hop says not
        tunnels = iter(r.tunnels)
        dfws = iter(r.dfw)
        for j, (h, s) in enumerate(zip(r.hops, getattr(r, "stages", []))):
            cn = owed[s]
            counted = _counter_hit(s, kind, h)
            if counted is not None:
                k = stage_idx[counted[0]]
                if counted[0] == "spoofguard":
                    cn.stages[0, k, 1:] += (-1, 1)
                else:
                    cn.stages[0, k, 0] += 1
                    cn.stages[0, k, 1 if counted[1] else 2] += 1
            if (h.table == "route" and s == "route") or h.table == "neighbor":
                # a router's lookup: its own hop, or, for a connected route, the neighbor's
                owed["route"].router[0, ids(h.kind, h.device)] += (1, length)
                if h.table == "neighbor":
                    owed["route"].stages[0, stage_idx["route"], :2] += 1
            if h.table == "segment_l2":
                cn.segment[0, ids(DeviceKind.SEGMENT, h.device)] += (1, length)
            if h.table == "dfw":  # the evaluation's decision, at the sender's port or the receiver's
                d = next(dfws)
                cn.dfw[0, d["decision"], 0 if d["side"] == "src" else 1] += 1
            if h.kind is DeviceKind.UPLINK and s == "route":  # out to the physical network
                cn.uplink[0, ids(DeviceKind.UPLINK, h.device)] += (1, length)
            if h.table == "tep":
                t = next(tunnels)
                src, dst = c.host_index[t.src_host], c.host_index[t.dst_host]
                cn.host[0, src, :2] += (1, t.outer_bytes)
                cn.host[0, dst, 2:] += (1, t.outer_bytes)
                after = r.hops[j + 1:]
                if s == "route":  # to the service router it hairpins to
                    to = -1 - ids(*next((x.kind, x.device) for x in after if x.table == "route"))
                else:  # to the destination's logical port: its DFW (from an uplink), else the VIF's hop
                    to = ids(DeviceKind.PORT, next(x.device if x.table == "dfw" else x.key for x in after
                                                   if x.table in ("dfw", "port")))
                leg = np.zeros(LEG_COLS, np.int64)
                leg[[LEG_TEP, LEG_BYTES, LEG_PACKET, LEG_VNI, LEG_TTL, LEG_TO]] = (
                    src * h_count + dst, t.outer_bytes, i, t.vni, h.ttl, to)
                legs[s].append(leg)
    return owed, {s: np.array(v, np.int64).reshape(-1, LEG_COLS) for s, v in legs.items()}


# ---- the staged engine, run by prefixes ----------------------------------------------------------
@dataclass
class Prefix:
    results: Results
    counters: Counters
    records: list  # per packet: int32[hops, 4]
    legs: np.ndarray  # int64[legs, LEG_COLS], packet order


def _run_prefix(dp: Dataplane, b, upto: int, *, trace: bool, ahead: int) -> Prefix:
    """`graph.forward_staged` as `Dataplane.forward` calls it, one worker, stopping after ``upto`` stages."""
    n = b.size
    o, cn = empty_results(n), dp.new_counters(1)
    slot = np.arange(n, dtype=np.int32) if trace else None
    tr, tl = np.zeros((max(n, 1), MAX_HOPS, 4), np.int32), np.zeros(max(n, 1), np.int32)
    legs, n_legs = np.empty((MAX_LEGS * n + 4, LEG_COLS), np.int64), np.zeros(1, np.int64)
    graph.forward_staged(b, dp.dp, o, cn, make_scratch(graph.VECTOR), make_vectors(graph.VECTOR), graph.VECTOR,
                         slot, tr, tl, legs, n_legs, ahead, upto, None, None, None, None)
    log = legs[: int(n_legs[0])]
    log = log[np.argsort(log[:, LEG_PACKET], kind="stable")]
    return Prefix(o, cn, [tr[i, : tl[i]] for i in range(n)] if trace else [], log)


@functools.cache
def _prefix(name: str, upto: int) -> Prefix:
    ref = _reference(name)
    return _run_prefix(ref.dp, ref.batch, upto, trace=True, ahead=0)


def _first_diff(name, ref, idx, got: Results, what: str):
    """pytest.fail naming the first packet in ``idx`` whose results differ from the reference's."""
    for field in Results._fields:
        a, w = getattr(got, field)[idx], getattr(ref.results, field)[idx]
        bad = np.flatnonzero(a != w)
        if bad.size:
            i = int(idx[bad[0]])
            pkt = {k: int(getattr(ref.batch, k)[i]) for k, _, _ in INPUT_FIELDS}
            pytest.fail(f"{name}: {what}: {bad.size} packets differ in {field}; first #{i}: staged {a[bad[0]]}, "
                        f"reference {w[bad[0]]}; packet {pkt}")


@functools.cache
def _full_run(name: str):
    ref = _reference(name)
    run = ref.dp.forward(ref.batch, trace=1)
    assert (run.trace_packets == np.arange(ref.batch.size)).all()
    return run


def _assert_records_equal(got: list, want: list, what: str):
    """Per packet, int32[hops, 4] trace records equal (compared whole, then the first packet that differs)."""
    lg, lw = np.array([len(x) for x in got]), np.array([len(x) for x in want])
    if (lg == lw).all() and np.array_equal(np.concatenate(got + [np.zeros((0, 4), np.int32)]),
                                           np.concatenate(want + [np.zeros((0, 4), np.int32)])):
        return
    i = next(i for i in range(len(got)) if not np.array_equal(got[i], want[i]))
    pytest.fail(f"{what}: packet {i}: staged records\n{got[i]}\nreference\n{want[i]}")


STAGE_NAMES = list(STAGES)
# outcomes a cluster cannot produce, so its batch is not asked to show them: (stage, counter, way) -> clusters
IMPOSSIBLE = {
    # the neighbor's L2 pass goes to the port ARP just answered with
    ("neighbor", "segment_l2", "miss"): set(CLUSTERS),
    # the seed's T0 has a default route
    ("route", "route", "miss"): {"seed", "seed-reserved-mac"},
    # a segment hands a port only frames for its MAC: the bridge misses only a reserved one
    ("deliver", "ovs_egress", "miss"): {"seed", "generated"},
}


@pytest.mark.parametrize("cluster", list(CLUSTERS))
@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_stage_equals_its_reference_method(stage, cluster):
    ref = _reference(cluster)
    k = ORDER[stage]
    owed, owed_legs = _owed(cluster)
    n = ref.batch.size

    # the batch exercises the stage both ways
    ends = np.flatnonzero(ref.ended == k)
    passed = np.flatnonzero(ref.met[:, k] & (ref.ended != k))
    if stage == "deliver":  # every packet that reaches delivery ends there: delivered or dropped
        assert (ref.results.verdict[ends] == Verdict.DELIVERED).any() and (ref.results.verdict[ends] == Verdict.DROPPED).any()
    else:
        assert ends.size and passed.size, f"{stage}: {ends.size} packets end in it, {passed.size} pass it"
    for counter in STAGES[stage][2]:
        row = owed[stage].stages[0, COUNTER_NAMES.index(counter)]
        for way, got in (("hit", row[1]), ("miss", row[2])):
            if cluster not in IMPOSSIBLE.get((stage, counter, way), ()):
                assert got > 0, f"{stage}: no {counter} {way} in the batch"

    # (a) the packets it ends: the reference's results, on the whole engine
    run = _full_run(cluster)
    _first_diff(cluster, ref, ends, run.results, f"ended in {stage}")

    # (b) its counters: the run's totals of the counters it keeps, and exactly its own share
    total = {c: sum(owed[s].stages[0, COUNTER_NAMES.index(c)] for s in graph.GRAPH) for c in STAGES[stage][2]}
    for c, want in total.items():
        got = run.stage_counts()[c]
        assert (got["in"], got["hits"], got["misses"]) == tuple(int(x) for x in want), c
        assert got["hits"] + got["misses"] == got["in"]
    before, after = (_prefix(cluster, k) if k else None), _prefix(cluster, k + 1)
    for field in Counters._fields:
        got = getattr(after.counters, field) - (getattr(before.counters, field) if before else 0)
        np.testing.assert_array_equal(got, getattr(owed[stage], field), err_msg=f"{stage}: counters.{field}")

    # (c) its trace records (on the whole engine, and as what its prefix adds) and its tunnel legs
    mine = [ref.records[i][ref.hop_stage[i] == k] for i in range(n)]
    _assert_records_equal([run.trace(i)[ref.hop_stage[i] == k] for i in range(n)], mine,
                          f"{stage}: its records in the whole run's trace")
    _assert_records_equal([after.records[i][0 if before is None else len(before.records[i]):] for i in range(n)],
                          mine, f"{stage}: the records its prefix adds")
    got_legs = after.legs if before is None else _legs_minus(after.legs, before.legs)
    np.testing.assert_array_equal(got_legs, owed_legs[stage], err_msg=f"{stage}: tunnel legs")


def _legs_minus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The legs of ``a`` not in ``b`` (``b`` a prefix of each packet's legs in ``a``), packet order."""
    keep = np.ones(len(a), bool)
    seen = {}
    for row in b:
        seen[int(row[LEG_PACKET])] = seen.get(int(row[LEG_PACKET]), 0) + 1
    pos = 0
    while pos < len(a):
        p = int(a[pos, LEG_PACKET])
        m = seen.get(p, 0)
        keep[pos: pos + m] = False
        while pos < len(a) and int(a[pos, LEG_PACKET]) == p:
            pos += 1
    return a[keep]


@pytest.mark.parametrize("cluster", list(CLUSTERS))
def test_reference_hops_come_in_graph_order(cluster):
    """What the prefix runs rely on: a packet meets the stages in GRAPH's order."""
    ref = _reference(cluster)
    for i, s in enumerate(ref.hop_stage):
        assert (np.diff(s) >= 0).all(), f"packet {i}: hop stages {[graph.GRAPH[x] for x in s]}"
        assert not s.size or s[-1] <= ref.ended[i]


@pytest.mark.parametrize("ahead", [0, graph.AHEAD])
@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("cluster", list(CLUSTERS))
def test_prefixes_decide_only_what_the_reference_decided_before_them(cluster, trace, ahead):
    ref = _reference(cluster)
    owed, owed_legs = _owed(cluster)
    full = None
    for upto in (*range(1, graph.FULL + 1), graph.EACH):  # (EACH: all, each stage its own loop)
        pre = _run_prefix(ref.dp, ref.batch, upto, trace=trace, ahead=ahead)
        if upto == graph.FULL:
            full = pre
        elif upto == graph.EACH:  # the sender's and receiver's loops count what their stages' loops count
            for field in Counters._fields:
                np.testing.assert_array_equal(getattr(pre.counters, field), getattr(full.counters, field),
                                              err_msg=f"counters.{field}: FULL against EACH")
        done = np.flatnonzero(ref.ended < upto)
        _first_diff(cluster, ref, done, pre.results, f"prefix of {upto} stages")
        if upto < graph.FULL:
            open_ = np.flatnonzero(ref.ended >= upto)
            undecided = (pre.results.verdict[open_] == Verdict.DROPPED) & (pre.results.reason[open_] == Reason.NONE)
            assert undecided.all(), f"prefix of {upto}: packet {open_[~undecided][0]} decided before its stage"
        want = np.concatenate([owed_legs[s] for s in graph.GRAPH[:upto]])
        np.testing.assert_array_equal(pre.legs, want[np.argsort(want[:, LEG_PACKET], kind="stable")])
        if trace:
            _assert_records_equal(pre.records, [r[s < upto] for r, s in zip(ref.records, ref.hop_stage)],
                                  f"prefix of {upto}")


@pytest.mark.parametrize("cluster", list(CLUSTERS))
def test_whole_run_counters_are_the_stages_shares(cluster):
    """Every counter array of `Dataplane.forward` (TEP pairs from the legs) against the reference."""
    ref = _reference(cluster)
    owed, owed_legs = _owed(cluster)
    run = Dataplane(ref.c, engine="staged").forward(ref.batch, legs=True)
    for field in Counters._fields:
        want = sum(getattr(owed[s], field) for s in graph.GRAPH)
        if field == "tep_pair":
            want = np.zeros_like(run.counters.tep_pair)
            legs = np.concatenate(list(owed_legs.values()))
            np.add.at(want[0], legs[:, LEG_TEP], np.stack([np.ones(len(legs), np.int64), legs[:, LEG_BYTES]], 1))
        np.testing.assert_array_equal(getattr(run.counters, field), want, err_msg=f"counters.{field}")
    want = np.concatenate(list(owed_legs.values()))
    np.testing.assert_array_equal(run.legs, want[np.argsort(want[:, LEG_PACKET], kind="stable")])
    s = run.counters.stages[0]
    assert (s[:, 1] + s[:, 2] == s[:, 0]).all()


# ---- the two engines agree ------------------------------------------------------------------------
def _assert_runs_equal(a, b, what):
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(a.results, field), getattr(b.results, field), err_msg=f"{what}: {field}")
    for field in Counters._fields:
        np.testing.assert_array_equal(getattr(a.counters, field), getattr(b.counters, field),
                                      err_msg=f"{what}: counters.{field}")
    np.testing.assert_array_equal(a.trace_packets, b.trace_packets, err_msg=f"{what}: traced packets")
    np.testing.assert_array_equal(a.trace_lengths, b.trace_lengths, err_msg=f"{what}: trace lengths")
    for k in range(len(a.trace_packets)):
        np.testing.assert_array_equal(a.trace(k), b.trace(k), err_msg=f"{what}: trace of packet {a.trace_packets[k]}")
    if a.legs is not None or b.legs is not None:
        np.testing.assert_array_equal(a.legs, b.legs, err_msg=f"{what}: legs")


@functools.cache
def _engines(cluster: str, prefetch: bool):
    c = _reference(cluster).c
    return Dataplane(c, engine="staged", prefetch=prefetch), Dataplane(c, engine="fused", prefetch=prefetch)


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size", [1, 255, 256, 257, 1000])
@pytest.mark.parametrize("cluster", list(CLUSTERS))
def test_staged_and_fused_engines_agree(cluster, size, threads, prefetch):
    staged, fused = _engines(cluster, prefetch)
    b = _batch(staged.cluster, size, seed=size + 100)
    for kw in (dict(), dict(trace=1, legs=True), dict(trace=np.arange(0, size, 3), legs=True)):
        _assert_runs_equal(staged.forward(b, threads=threads, **kw), fused.forward(b, threads=threads, **kw),
                           f"{cluster}, {size} packets, {threads} threads, {kw}")


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("cluster", list(CLUSTERS))
def test_staged_and_fused_engines_agree_on_a_million_packets(cluster, threads):
    staged, fused = _engines(cluster, True)
    b = _batch(staged.cluster, 1_000_000, seed=7)
    _assert_runs_equal(staged.forward(b, threads=threads, trace=97, legs=True),
                       fused.forward(b, threads=threads, trace=97, legs=True), f"{cluster}, {threads} threads")
