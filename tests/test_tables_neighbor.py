"""`fastpath.tables.neighbor`: dense arrays + hash — the scalar lookup and the numba accessor
against an oracle from the model, on dense and sparse segments and addresses that miss."""

from __future__ import annotations

import numpy as np
import pytest

from fastpath.compile import compile_cluster
from fastpath.compile.kernel_view import kernel_view
from fastpath.model import default_scenario, generate
from fastpath.tables import neighbor

CLUSTERS = {
    "seed": default_scenario,
    "generated-11": lambda: generate(4, 2, 7, 30, service_t1_fraction=0.5, dfw_rules=6, seed=11),
    "generated-5": lambda: generate(3, 3, 2, 9, dfw_rules=4, seed=5),
}


def model_neighbors(c) -> dict[tuple[int, int], int]:
    """The slow, obvious oracle: (segment, ip) -> port for every pod and node."""
    out = {(c.namespace_index[c.pods[i].namespace] + 1, c.pods[i].ip): i for i in range(len(c.pods))}
    out |= {(0, node.ip): len(c.pods) + n for n, node in enumerate(c.nodes)}
    return out


def queries(c, rng) -> list[tuple[int, int]]:
    """Every port's own (segment, ip), its neighbours' addresses, each subnet's edges and
    beyond, random addresses, wrong segments, and ids outside the tables."""
    q = list(model_neighbors(c))
    for s, seg in enumerate(c.segments):
        net, last = int(seg.subnet.network_address), int(seg.subnet.broadcast_address)
        q += [(s, a) for a in (net - 1, net, net + 1, seg.gateway, last - 1, last, last + 1, 0, 0xFFFF_FFFF)
              if 0 <= a <= 0xFFFF_FFFF]
        q += [(s, int(a)) for a in rng.integers(net, last + 1, 20)]
    q += [(int(s), int(ip)) for s, ip in zip(rng.integers(0, len(c.segments), 50), rng.integers(0, 1 << 32, 50))]
    q += [(s + 1, ip) for s, ip in list(model_neighbors(c))[:20] if s + 1 < len(c.segments)]  # a wrong segment
    return q


@pytest.fixture(scope="module", params=list(CLUSTERS))
def compiled(request):
    c = CLUSTERS[request.param]()
    t = compile_cluster(c)
    return c, t, kernel_view(t)


def _nt(t):
    return neighbor.NeighborTables(t.neighbor, t.neighbor_dense, t.seg_nb_off)


def test_scalar_lookup_and_numba_accessor_match_the_model(compiled):
    c, t, kv = compiled
    want = model_neighbors(c)
    for seg, ip in queries(c, np.random.default_rng(7)):
        expect = want.get((seg, ip), -1)
        assert neighbor.lookup(_nt(t), t.seg_net, t.seg_mask, seg, ip) == expect, (seg, ip)
        assert t.neighbor_of(seg, ip) == expect
        assert int(neighbor.neighbor(kv, np.int64(seg), np.uint32(ip))) == expect, (seg, ip)


@pytest.mark.parametrize("seg, ip", [(-1, 0), (10**6, 0), (0, -1), (0, 1 << 32)])
def test_scalar_lookup_misses_outside_the_tables(seg, ip):
    c = default_scenario()
    t = compile_cluster(c)
    assert neighbor.lookup(_nt(t), t.seg_net, t.seg_mask, seg, ip) == -1


def test_sparse_segments_use_the_hash_and_dense_ones_the_array():
    """The seed's ports laid out both ways: every segment sparse (sizes past `DENSE_MIN` and
    `DENSE_FACTOR` per port), then every segment dense; each answers for every port."""
    t = compile_cluster(default_scenario())
    assert (t.seg_nb_off >= 0).any()
    # forge a sparse layout: the same ports, segment sizes past DENSE_MIN and DENSE_FACTOR per port
    sizes = np.full(t.n_segments, 1 << 16, np.int64)
    nt = neighbor.build(t.seg_net, sizes, t.port_segment, t.port_ip, max_load=0.9)
    assert (nt.seg_nb_off == -1).all() and nt.neighbor_dense.size == 0 and nt.neighbor.size == t.n_ports
    dense = neighbor.build(t.seg_net, np.full(t.n_segments, 256, np.int64), t.port_segment, t.port_ip, max_load=0.9)
    assert (dense.seg_nb_off >= 0).all() and dense.neighbor.size == 0
    for p in range(t.n_ports):
        seg, ip = int(t.port_segment[p]), int(t.port_ip[p])
        for form in (nt, dense):
            assert neighbor.lookup(form, t.seg_net, t.seg_mask, seg, ip) == p


def test_a_duplicate_address_on_a_sparse_segment_is_refused():
    seg = np.array([0, 0], np.int32)
    ip = np.array([10, 10], np.uint32)
    with pytest.raises(ValueError):
        neighbor.build(np.array([0], np.uint32), np.array([1 << 20], np.int64), seg, ip, max_load=0.9)


def test_dense_slot_is_where_the_lookup_reads(compiled):
    c, t, kv = compiled
    for seg, ip in queries(c, np.random.default_rng(3)):
        if not 0 <= seg < t.n_segments:
            continue
        slot = int(neighbor.dense_slot(kv, np.int64(seg), np.uint32(ip)))
        if t.seg_nb_off[seg] < 0:
            assert slot == -1
        elif ip & int(t.seg_mask[seg]) == int(t.seg_net[seg]):
            assert int(t.neighbor_dense[slot]) == t.neighbor_of(seg, ip)
