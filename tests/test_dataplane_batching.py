"""Same results whatever the batch size (1, 7, 4096, 1M) and thread count (1, 2); counters
add up to the same totals; every invariant of the counters holds."""

import numpy as np
import pytest

from fastpath.dataplane import Dataplane
from fastpath.dataplane.pipeline import STAGES
from fastpath.model import generate
from fastpath.packets import Results
from fastpath.traffic import uniform_pod_to_pod
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import Reason, Verdict


@pytest.fixture(scope="module")
def cluster():
    return generate(hosts=8, nodes_per_host=2, namespaces=12, pods_per_node=30, edges=2, service_t1_fraction=0.4,
                    mtu=(1600, 1500), dfw_rules=12, seed=5)


@pytest.fixture(scope="module")
def dataplane(cluster):
    return Dataplane(cluster)


@pytest.fixture(scope="module")
def batch(cluster):
    return adversarial_mix(cluster, 1_000_000, seed=9)


@pytest.fixture(scope="module")
def whole(dataplane, batch):
    return dataplane.forward(batch)


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


@pytest.mark.parametrize("threads", [1, 2])
def test_results_and_counters_do_not_depend_on_threads(dataplane, batch, whole, threads):
    run = dataplane.forward(batch, threads=threads)
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(run.results, field), getattr(whole.results, field), err_msg=field)
    for a, b in zip(run.counters, whole.counters):
        np.testing.assert_array_equal(a, b)


def test_counter_invariants(whole, batch, cluster):
    r, cn = whole.results, whole.counters
    n = batch.size
    assert cn.verdicts.sum() == n
    assert cn.verdicts[0].tolist() == [int((r.verdict == v).sum()) for v in Verdict]
    assert cn.reasons[0, Reason.NONE] == cn.verdicts[0, Verdict.DELIVERED] + cn.verdicts[0, Verdict.EXITED]
    assert cn.reasons[0, 1:].sum() == cn.verdicts[0, Verdict.DROPPED]
    st = cn.stages[0]
    for k, name in enumerate(STAGES):
        assert st[k, 1] + st[k, 2] == st[k, 0], name
        assert st[k, 0] > 0, f"stage {name} never ran"
    # loads: tunnels and underlay bytes seen per packet equal the per-device sums
    assert cn.tep_pair[0, :, 0].sum() == r.n_tunnels.sum()
    assert cn.tep_pair[0, :, 1].sum() == r.underlay_bytes.astype(np.int64).sum()
    assert cn.host[0, :, 0].sum() == cn.host[0, :, 2].sum() == r.n_tunnels.sum()
    assert cn.host[0, :, 1].sum() == cn.host[0, :, 3].sum() == cn.tep_pair[0, :, 1].sum()
    assert cn.uplink[0, :, 0].sum() == (r.verdict == Verdict.EXITED).sum()
    # the encap stage ran once per tunnel crossed or MTU drop
    assert st[STAGES.index("encap"), 1] == r.n_tunnels.sum()
    assert st[STAGES.index("encap"), 2] == (r.reason == Reason.MTU_EXCEEDED).sum()


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
def test_prefetch_pipeline_changes_nothing_but_speed(cluster, batch, whole, prefetch):
    dp = Dataplane(cluster, prefetch=prefetch)
    assert dp.dp.deep_prefetch is prefetch
    run = dp.forward(batch, threads=2)
    for field in Results._fields:
        np.testing.assert_array_equal(getattr(run.results, field), getattr(whole.results, field), err_msg=field)
    for a, b in zip(run.counters, whole.counters):
        np.testing.assert_array_equal(a, b)


def test_big_clusters_turn_the_prefetch_pipeline_on():
    big = generate(hosts=40, nodes_per_host=4, namespaces=20, pods_per_node=250, seed=1)  # 40,000 pods: 1.3 MB of ports
    assert Dataplane(big).dp.deep_prefetch and not Dataplane(generate(2, 1, 2, 2)).dp.deep_prefetch
