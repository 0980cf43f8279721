"""The fast path equals the reference walk, field for field, on >= 1M seeded packets (the
``slow`` tier, run when CI=true; the default tier compares a tenth of each batch, the first
``PACKETS // QUICK`` of the same seeded packets).

Five clusters: the seed scenario; the seed with a sparse /16 namespace (ARP from the hash, not
the dense array); a medium generated one with DFW rules; one with edge service routers, mixed
underlay MTUs (MTU drops) and no default route on the T0 (no-route); the seed with an
active/active T0 on three edges (ECMP over SR instances, and over two uplinks of one).
The reference runs in a process pool (it is plain Python, ~100 us a packet).
"""

import copy
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.model import default_scenario, from_spec, generate
from fastpath.model.scenarios import SEED_SPEC
from fastpath.packets import INGRESS_NODE, PacketBatch
from fastpath.reference.batch import DeviceIds, trace_records, walk_batch
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import Reason, Verdict

def _sparse_seed():
    """The seed plus a /16 namespace of three pods: its ARP table is the hash, not an array. One
    of them has a MAC Open vSwitch reserves (Extreme's EDP, unicast): its bridge drops its frames."""
    spec = copy.deepcopy(SEED_SPEC)
    spec["cluster"]["pod_cidr"] = "172.16.0.0/12"
    spec["namespaces"].append({"name": "sparse", "subnet": "172.20.0.0/16"})
    spec["pods"] += [{"name": f"s{i}", "namespace": "sparse", "node": f"worker-{i + 1}"} for i in range(3)]
    spec["pods"][-1]["mac"] = "00:e0:2b:00:00:00"
    return from_spec(spec)


def _active_active_seed():
    """The seed with its T0 active/active on three edges (ECMP at the T0 DR): edge-1 holds uplink-1,
    edge-2 two uplinks with a default route through each (ECMP over them), edge-3 none (out of the
    DR's group); the seeded ECMP hash not zero."""
    spec = copy.deepcopy(SEED_SPEC)
    spec["cluster"]["ecmp_hash_seed"] = 7
    spec["edges"] += [{"name": "edge-2"}, {"name": "edge-3"}]
    spec["t0"].pop("edge", None)
    spec["t0"].update(edges=["edge-1", "edge-2", "edge-3"], ha_mode="active_active")
    spec["t0"]["uplinks"] += [{"name": "uplink-2", "ip": "198.51.100.2/24", "next_hop": "198.51.100.1", "edge": "edge-2"},
                              {"name": "uplink-3", "ip": "198.51.101.2/24", "next_hop": "198.51.101.1", "edge": "edge-2"}]
    spec["t0"]["routes"] += [{"prefix": "0.0.0.0/0", "next_hop": "198.51.100.1"},
                             {"prefix": "0.0.0.0/0", "next_hop": "198.51.101.1"}]
    return from_spec(spec)


CLUSTERS = {
    "seed": (default_scenario, {}),
    "sparse": (_sparse_seed, {}),
    "medium": (generate, dict(hosts=12, nodes_per_host=3, namespaces=30, pods_per_node=40, dfw_rules=40, seed=2)),
    "edges": (generate, dict(hosts=6, nodes_per_host=2, namespaces=10, pods_per_node=20, edges=2,
                             service_t1_fraction=0.5, mtu=(1600, 1500, 9000, 1280), default_route=False,
                             dfw_rules=10, seed=3)),
    "t0_active_active": (_active_active_seed, {}),
}
PACKETS = {"seed": 300_000, "sparse": 100_000, "medium": 350_000, "edges": 300_000, "t0_active_active": 200_000}
QUICK = 10  # the default tier's share: 1 / QUICK of each batch
CHUNK = 25_000


def _reference_chunk(args):
    name, lo, hi = args
    make, kw = CLUSTERS[name]
    c = make(**kw)
    b = adversarial_mix(c, PACKETS[name], seed=17)
    res, _ = walk_batch(c, b.slice(lo, hi))
    return lo, res


@pytest.mark.parametrize("volume", [pytest.param("all", marks=pytest.mark.slow), "tenth"])
@pytest.mark.parametrize("name", list(CLUSTERS))
def test_fast_path_equals_reference_on_seeded_valid_and_garbage_packets(name, volume):
    make, kw = CLUSTERS[name]
    c = make(**kw)
    n = PACKETS[name] if volume == "all" else PACKETS[name] // QUICK
    b = adversarial_mix(c, PACKETS[name], seed=17).slice(0, n)
    fast = Dataplane(c).forward(b).results
    with ProcessPoolExecutor(max_workers=2) as pool:
        chunks = list(pool.map(_reference_chunk, [(name, lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]))
    for lo, ref in chunks:
        hi = lo + ref.size
        for field in ref._fields:
            got, want = getattr(fast, field)[lo:hi], getattr(ref, field)
            bad = np.flatnonzero(got != want)
            if bad.size:
                i = int(bad[0]) + lo
                pkt = {k: int(getattr(b, k)[i]) for k in PacketBatch._fields}
                pytest.fail(f"{name}: {bad.size} packets differ in {field}; first #{i}: fast {got[bad[0]]} "
                            f"reference {want[bad[0]]}; packet {pkt}")
    # every class of outcome was exercised
    reasons = set(np.unique(fast.reason).tolist())
    assert {2, 3, 5, 6, 7, 8, 9} <= reasons  # ttl, neighbor, mtu, vlan, mac, spoofguard, malformed
    assert {Reason.RESERVED_MAC, Reason.LEARNED_ON_INPUT} <= reasons  # the OVS bridge's own drops
    # a node's frame tagged as its pod and to that pod's MAC comes back down the trunk it went up
    node_looped = (b.ingress_kind == INGRESS_NODE) & (fast.reason == Reason.LEARNED_ON_INPUT)
    assert node_looped.any()
    if name == "sparse":  # routed or switched to the pod with a reserved MAC: its bridge drops it
        assert ((fast.reason == Reason.RESERVED_MAC) & (b.dst_mac == 0)).any()
    if name == "edges":
        assert 1 in reasons and fast.via_edge.any()  # no-route; hairpins through edges
    if name not in ("edges", "sparse"):
        assert 4 in reasons  # dfw-deny
    if name == "t0_active_active":  # ECMP over the SRs and over edge-2's two uplinks: every uplink carries some
        out = fast.verdict == Verdict.EXITED
        assert set(np.unique(fast.dev_id[out]).tolist()) == {0, 1, 2}


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_fast_path_traces_equal_reference_hops(name):
    make, kw = CLUSTERS[name]
    c = make(**kw)
    b = adversarial_mix(c, 6000, seed=23)
    run = Dataplane(c).forward(b, trace=3)
    _, full = walk_batch(c, b)
    ids = DeviceIds(c)
    assert len(run.trace_packets) == 2000
    for k, i in enumerate(run.trace_packets):
        want = trace_records(full[i], ids)
        np.testing.assert_array_equal(run.trace(k), want, err_msg=f"packet {i}")
