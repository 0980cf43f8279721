"""Any value in any input field gets a verdict: property tests against the reference, and a
seeded run of 10 million garbage packets through the fast path."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastpath.dataplane import Dataplane
from fastpath.model import default_scenario
from fastpath.packets import INPUT_FIELDS, PacketBatch, Results, make_batch
from fastpath.reference.batch import walk_batch
from fastpath.verdicts import DeviceKind, Reason, Verdict

SEED = default_scenario()
DP = Dataplane(SEED)


def _field(name, dtype):
    info = np.iinfo(dtype)
    hi = (1 << 48) - 1 if dtype == np.uint64 else int(info.max)
    # edge values of every field first, then anything in range
    edges = {0, 1, hi, int(info.min)}
    if name == "vlan":
        edges |= {4094, 4095, 4096, 65535}
    if name == "length":
        edges |= {27, 28, 1550, 1551, 65535}
    if name == "ingress_id":
        edges |= {-1, 15, 16, 2**31 - 1}
    if name == "ingress_kind":
        edges |= {0, 1, 9, 2, 255}
    return st.one_of(st.sampled_from(sorted(e for e in edges if info.min <= e <= hi)),
                     st.integers(int(info.min), hi))


def _endpointish(name, dtype):
    """Fields drawn partly from the seed cluster's real values, so valid paths come up too."""
    ips = [int(x) for x in SEED.pods.ip] + [n.ip for n in SEED.nodes] + [0x08080808, 0xAC100101]
    macs = [int(x) for x in SEED.pods.mac] + [SEED.settings.router_mac, 0]
    if name in ("src_ip", "dst_ip"):
        return st.one_of(st.sampled_from(ips), _field(name, dtype))
    if name in ("src_mac", "dst_mac"):
        return st.one_of(st.sampled_from(macs), _field(name, dtype))
    if name == "ttl":
        return st.one_of(st.sampled_from([1, 2, 3, 64]), _field(name, dtype))
    if name == "length":
        return st.one_of(st.sampled_from([100, 1500]), _field(name, dtype))
    return _field(name, dtype)


packets = st.fixed_dictionaries({name: _endpointish(name, dtype) for name, dtype, _ in INPUT_FIELDS})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(packets, min_size=1, max_size=9))
def test_any_field_values_get_the_reference_verdict(rows):
    b = make_batch(**{name: np.array([r[name] for r in rows], dtype) for name, dtype, _ in INPUT_FIELDS})
    fast = DP.forward(b).results
    ref, _ = walk_batch(SEED, b)
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), err_msg=field)


def test_ten_million_garbage_packets_each_get_exactly_one_verdict():
    rng = np.random.default_rng(2026)
    n, chunk = 10_000_000, 1_000_000
    counters = DP.new_counters(1)
    totals = np.zeros(len(Verdict), np.int64)
    for lo in range(0, n, chunk):
        cols = {}
        for name, dtype, _ in INPUT_FIELDS:
            info = np.iinfo(dtype)
            hi = (1 << 48) if dtype == np.uint64 else int(info.max) + 1
            cols[name] = rng.integers(int(info.min), hi, chunk, dtype=np.int64 if dtype != np.uint64 else np.uint64)
        # half the packets enter somewhere real, and half of those from a pod with its own
        # addresses, untagged, to a real endpoint, so garbage reaches the deeper stages too
        real = rng.random(chunk) < 0.5
        cols["ingress_kind"] = np.where(real, rng.choice([0, 1, 9], chunk), cols["ingress_kind"])
        cols["ingress_id"] = np.where(real, rng.integers(0, 4, chunk), cols["ingress_id"])
        own = real & (rng.random(chunk) < 0.5)
        pod = rng.integers(0, len(SEED.pods), chunk)
        cols["ingress_kind"] = np.where(own, 0, cols["ingress_kind"])
        cols["ingress_id"] = np.where(own, pod, cols["ingress_id"])
        cols["src_ip"] = np.where(own, SEED.pods.ip[pod], cols["src_ip"])
        cols["src_mac"] = np.where(own, np.uint64(0), cols["src_mac"])
        cols["dst_mac"] = np.where(own, np.uint64(0), cols["dst_mac"])
        cols["vlan"] = np.where(own, 0, cols["vlan"])
        cols["dst_ip"] = np.where(own, SEED.pods.ip[rng.integers(0, len(SEED.pods), chunk)], cols["dst_ip"])
        b = make_batch(**cols)
        r = DP.forward(b, counters=counters).results
        assert np.isin(r.verdict, [int(v) for v in Verdict]).all()
        assert np.isin(r.reason, [int(x) for x in Reason]).all()
        assert np.isin(r.dev_kind, [int(k) for k in DeviceKind]).all()
        # dropped <=> a reason; delivered/exited <=> none
        assert ((r.verdict == Verdict.DROPPED) == (r.reason != Reason.NONE)).all()
        totals += np.bincount(r.verdict, minlength=len(Verdict))
    assert totals.sum() == n == counters.verdicts.sum()
    assert counters.reasons[0, 1:].sum() == counters.verdicts[0, Verdict.DROPPED]
    assert counters.verdicts[0, Verdict.DELIVERED] > 0  # garbage reached real endpoints too
    assert (counters.stages[0, :, 0] > 0).all()  # and every stage


def test_forward_rejects_batches_of_the_wrong_shape():
    b = make_batch(ingress_kind=[0, 0], ingress_id=[0, 1])
    bad = b._replace(vlan=b.vlan.astype(np.int64))
    with pytest.raises(ValueError, match="packet field vlan: expected uint16"):
        DP.forward(bad)
    with pytest.raises(ValueError, match="packet field ttl"):
        DP.forward(b._replace(ttl=b.ttl[:1]))
    with pytest.raises(TypeError):
        DP.forward(tuple(b))
    with pytest.raises(ValueError, match="unknown packet field"):
        make_batch(vlan_tag=[1])
    assert isinstance(b, PacketBatch)
