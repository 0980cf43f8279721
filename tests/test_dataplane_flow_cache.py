"""The flow cache changes nothing but speed: cached outcomes equal walked ones, field for field,
and every counter is the same whether a packet walked or hit.

The walked engine (``flow_cache=False``) is itself held to the reference walk by
tests/test_dataplane_differential.py; here the cache is held to it, and to the fused kernel, on
traffic built to stress what a cache can get wrong: the same flows again and again with TTLs
around expiry and lengths around every MTU (the entry's conditions), more flows than entries
(evictions fold pending stats), several threads and batch splits, and DFW rules that read the
destination port (the key must then hold it).
"""

import numpy as np
import pytest

from fastpath._jit import jit
from fastpath.dataplane import Dataplane
from fastpath.dataplane.stages import flow_cache
from fastpath.model import default_scenario, generate
from fastpath.packets import PacketBatch
from fastpath.compile import Tables  # noqa: F401
from fastpath.traffic.adversarial import adversarial_mix

CLUSTERS = {
    "seed": lambda: default_scenario(),
    "edges": lambda: generate(6, 2, 10, 20, edges=2, service_t1_fraction=0.5, mtu=(1600, 1500, 9000, 1280),
                              default_route=False, dfw_rules=10, seed=3),
    "ports": lambda: generate(4, 2, 8, 10, dfw_rules=40, seed=5),
}


@pytest.fixture(scope="module", params=list(CLUSTERS))
def cluster(request):
    return CLUSTERS[request.param]()


def _take(b: PacketBatch, idx) -> PacketBatch:
    return PacketBatch(*(np.ascontiguousarray(a[idx]) for a in b))


def repeated_flows(c, flows: int, n: int, seed: int) -> PacketBatch:
    """n packets drawn from ``flows`` adversarial flows, each with its TTL and length redrawn
    near the edges (expiry at each router hop, every MTU +- 1, under 28, the dtype's ends)."""
    rng = np.random.default_rng(seed)
    b = _take(adversarial_mix(c, flows, seed=seed), rng.integers(0, flows, n))
    ov = c.settings.geneve_overhead
    edges = [0, 27, 28, 29, 100, 65535] + [m - ov + d for h in c.hosts for m in (h.mtu,) for d in (-1, 0, 1)]
    redraw = rng.random(n) < 0.5
    b.ttl[redraw] = rng.choice(np.array([0, 1, 2, 3, 4, 5, 6, 64, 255], np.uint8), int(redraw.sum()))
    redraw = rng.random(n) < 0.5
    b.length[redraw] = rng.choice(np.array(edges, np.uint16), int(redraw.sum()))
    return b


def _same(a, b, what):
    for name in a.results._fields:
        x, y = getattr(a.results, name), getattr(b.results, name)
        bad = np.flatnonzero(x != y)
        assert bad.size == 0, f"{what}: {name} differs at packets {bad[:5]}: {x[bad[:5]]} vs {y[bad[:5]]}"
    for name in a.counters._fields:
        assert np.array_equal(getattr(a.counters, name), getattr(b.counters, name)), f"{what}: counter {name}"


def test_cached_outcomes_equal_walked_ones_on_repeated_flows(cluster):
    b = repeated_flows(cluster, 300, 30_000, seed=11)
    cached = Dataplane(cluster).forward(b)
    walked = Dataplane(cluster, flow_cache=False).forward(b)
    fused = Dataplane(cluster, engine="fused").forward(b)
    assert cached.flow_cache_hits > b.size // 3, "the traffic must hit the cache to test it"
    assert walked.flow_cache_hits == 0
    _same(cached, walked, "cached vs walked")
    _same(cached, fused, "cached vs fused")


def test_evictions_fold_every_pending_count(cluster):
    n = 40_000
    flows = 3 * flow_cache.MAX_ENTRIES  # more flows than entries: entries are evicted with stats pending
    b = repeated_flows(cluster, flows, n, seed=12)
    cached = Dataplane(cluster).forward(b)
    assert cached.flow_cache_hits > 0
    _same(cached, Dataplane(cluster, flow_cache=False).forward(b), "evictions")


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_and_splits_count_the_same(cluster, threads):
    b = repeated_flows(cluster, 200, 20_000, seed=13)
    dp = Dataplane(cluster)
    one = dp.forward(b)
    many = dp.forward(b, threads=threads)
    _same(one, many, f"{threads} threads")
    cn = dp.new_counters(1)
    parts = [dp.forward(b.slice(lo, min(lo + 777, b.size)), counters=cn) for lo in range(0, b.size, 777)]
    for name in cn._fields:
        assert np.array_equal(getattr(cn, name), getattr(one.counters, name)), f"split: counter {name}"
    got = np.concatenate([p.results.verdict for p in parts])
    assert np.array_equal(got, one.results.verdict)


def test_the_key_holds_proto_and_port_exactly_when_a_rule_reads_them():
    seed = default_scenario()
    assert not Dataplane(seed).tables.dfw_reads_l4  # its one rule is port-less: flows are address pairs
    ports = CLUSTERS["ports"]()
    dp = Dataplane(ports)
    assert dp.cache_key_l4
    # one flow, every destination port: a cache keyed on addresses alone would repeat the first verdict
    b = repeated_flows(ports, 1, 1, seed=1)
    many = _take(b, np.zeros(4096, np.int64))
    many.ttl[:] = 64
    many.length[:] = 100
    many.proto[:] = np.where(np.arange(4096) % 2, 6, 17)
    many.dport[:] = np.arange(4096) * 16
    _same(dp.forward(many), Dataplane(ports, flow_cache=False).forward(many), "ports")


def test_traces_and_the_full_leg_log_walk_every_packet():
    c = default_scenario()
    b = repeated_flows(c, 20, 2_000, seed=4)
    dp = Dataplane(c)
    assert dp.forward(b).flow_cache_hits > 0
    assert dp.forward(b, trace=5).flow_cache_hits == 0
    assert dp.forward(b, legs=True).flow_cache_hits == 0


def test_a_warm_cache_from_other_traffic_changes_nothing(cluster):
    """A Dataplane keeps its caches between calls: what they hold from earlier batches (other
    flows, other TTLs and lengths) must not change a later batch's results or counts."""
    dp = Dataplane(cluster)
    dp.forward(repeated_flows(cluster, 500, 20_000, seed=21))
    b = repeated_flows(cluster, 500, 20_000, seed=22)
    warm = dp.forward(b)
    assert warm.flow_cache_hits > 0
    _same(warm, Dataplane(cluster, flow_cache=False).forward(b), "warm cache")


def test_concurrent_calls_on_one_dataplane_do_not_share_a_cache():
    from concurrent.futures import ThreadPoolExecutor

    c = CLUSTERS["edges"]()
    dp = Dataplane(c)
    batches = [repeated_flows(c, 300, 30_000, seed=s) for s in range(4)]
    want = [Dataplane(c, flow_cache=False).forward(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda b: dp.forward(b, threads=2), batches))
    for g, w in zip(got, want):
        _same(g, w, "concurrent calls")


@jit
def _schedule(fc, hit_shares, m):
    """`forward_staged`'s use of the backoff over vectors of m packets, vector v hitting
    ``hit_shares[v] * m`` when the cache is used: 1 where it was, 0 where it was skipped."""
    used = np.zeros(hit_shares.shape[0], np.int64)
    v = 0
    while v < hit_shares.shape[0]:
        if flow_cache.use_cache(fc):
            used[v] = 1
            flow_cache.backoff(fc, m, np.int64(hit_shares[v] * m))
            v += 1
        else:
            v += flow_cache.skip_run(fc)
    return used


def test_a_missing_cache_backs_off_doubling_up_to_the_cap_and_comes_back_when_it_hits():
    cap = flow_cache.MAX_BACKOFF
    fc = flow_cache.make_flow_cache(False)
    n = 4 * cap
    used = _schedule(fc, np.zeros(n), 256)
    tries = np.flatnonzero(used)
    gaps = np.diff(tries) - 1  # vectors skipped between two tries
    want = [min(2 ** k, cap) for k in range(gaps.size)]
    assert list(gaps) == want
    # traffic that hits from some vector on: the next try finds it, and from then on every vector uses it
    fc = flow_cache.make_flow_cache(False)
    shares = np.zeros(n)
    shares[cap:] = 1.0
    used = _schedule(fc, shares, 256)
    first = int(tries[tries >= cap][0])
    assert used[first:].all() and not used[cap:first].any()
    assert first - cap <= cap
    # a vector just under a quarter of hits backs off; a quarter keeps the cache on
    fc = flow_cache.make_flow_cache(False)
    assert _schedule(fc, np.full(8, 63 / 256), 256).tolist() == [1, 0, 1, 0, 0, 1, 0, 0]
    fc = flow_cache.make_flow_cache(False)
    assert _schedule(fc, np.full(8, 64 / 256), 256).all()
