"""Both LPM structures — the hash of prefixes per length (`fastpath.tables.lpm`) and the
multibit trie the fast path runs (`fastpath.tables.mtrie`) — against pytricia (one trie per
router) on random overlapping prefixes, and against `fastpath.model.routing.lookup` on every
router of real clusters."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
import pytricia

from fastpath.model import default_scenario, generate, routing
from fastpath.tables import lpm, mtrie

ALL = 0xFFFF_FFFF


class HashLpm:
    name = "hash"

    def build(self, rows, n_routers=None):
        return lpm.build(rows, n_routers)

    def lookup(self, t, r, ip):
        return lpm.lookup(t, r, ip)

    def get(self, t, r, ip):
        return lpm.get(t.buckets, t.seed, t.router_lengths, r, ip)

    def bulk(self, t, routers, ips):
        return lpm.lookup_bulk(t, routers, np.asarray(ips, np.uint64))


class Mtrie:
    name = "mtrie"

    def build(self, rows, n_routers=None):
        cols = np.array(rows, np.int64).reshape(len(rows), 4)
        if n_routers is None:
            n_routers = int(cols[:, 0].max()) + 1 if len(rows) else 0
        return mtrie.build(cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], n_routers)

    def lookup(self, t, r, ip):
        return mtrie.lookup(t, r, ip)

    def get(self, t, r, ip):
        return mtrie.get(t.nodes, t.n_routers, r, ip)

    def bulk(self, t, routers, ips):
        return mtrie.lookup_bulk(t, routers, np.asarray(ips, np.int64))


@pytest.fixture(params=[HashLpm(), Mtrie()], ids=lambda i: i.name)
def impl(request):
    return request.param


def mask(length: int) -> int:
    return lpm.mask_of(length)


def dotted(a: int) -> str:
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def random_routes(rng, n_routers: int, n_routes: int) -> list[tuple[int, int, int, int]]:
    """(router, network, length, index) rows: clustered in 10.0.0.0/12 so prefixes overlap,
    half nested inside an earlier prefix of the router, /0 /31 /32 frequent, 2 % repeats of an
    earlier prefix with host bits set (must be masked, and shadowed by the first)."""
    lengths = np.array([0, 8, 12, 16, 20, 22, 24, 26, 28, 30, 31, 32])
    weights = np.array([1, 1, 2, 4, 4, 4, 8, 4, 4, 4, 6, 12], float)
    routers = rng.integers(0, n_routers, n_routes).tolist()
    kind = rng.random(n_routes).tolist()
    pick = rng.random(n_routes).tolist()  # which earlier prefix, or where in the clustered space
    fresh_len = rng.choice(lengths, n_routes, p=weights / weights.sum()).tolist()
    bits = rng.integers(0, 1 << 32, n_routes).tolist()
    rows: list[tuple[int, int, int, int]] = []
    per_router: dict[int, list[tuple[int, int]]] = {}
    for i, r in enumerate(routers):
        mine = per_router.setdefault(r, [])
        if mine and kind[i] < 0.02:  # repeat with host bits set
            net, length = mine[int(pick[i] * len(mine))]
            net |= bits[i] & ~mask(length) & ALL
        elif mine and kind[i] < 0.5:  # nested in an earlier prefix
            pnet, plen = mine[int(pick[i] * len(mine))]
            length = plen + bits[i] % (33 - plen)
            net = (pnet | bits[i] & ~mask(plen)) & mask(length)
        else:
            length = fresh_len[i]
            space = 0x0A00_0000 | bits[i] >> 12 if pick[i] < 0.8 else bits[i]
            net = space & mask(length)
        mine.append((net & mask(length), length))
        rows.append((r, net, length, i))
    return rows


def interesting(net: int, length: int) -> list[int]:
    """A prefix's network and broadcast addresses and their outside neighbours."""
    bcast = net | (~mask(length) & ALL)
    return [a for a in (net - 1, net, net + 1, bcast - 1, bcast, bcast + 1) if 0 <= a <= ALL]


def test_matches_pytricia_on_overlapping_prefixes_over_many_routers(impl):
    rng = np.random.default_rng(2024)
    n_routers = 1500
    rows = random_routes(rng, n_routers, 120_000)
    table = impl.build(rows, n_routers)

    tries = [pytricia.PyTricia(32) for _ in range(n_routers)]
    for r, net, length, idx in rows:
        key = f"{dotted(net & mask(length))}/{length}"
        if not tries[r].has_key(key):  # keep the first of equal prefixes
            tries[r].insert(key, idx)
    if impl.name == "hash":
        assert table.size == sum(len(t) for t in tries)

    q_router, q_ip = [], []
    for i in rng.integers(0, len(rows), 25_000).tolist():
        r, net, length, _ = rows[i]
        for a in interesting(net & mask(length), length):
            q_router.append(r)
            q_ip.append(a)
    n_rand = 100_000
    q_router += rng.integers(0, n_routers, n_rand).tolist()
    q_ip += [0x0A00_0000 | int(x) for x in rng.integers(0, 1 << 20, n_rand // 2)]
    q_ip += rng.integers(0, 1 << 32, n_rand - n_rand // 2).tolist()
    q_router += [0, 0, n_routers - 1, n_routers - 1]
    q_ip += [0, ALL, 0, ALL]

    expected = np.array([-1 if (v := tries[r].get(a)) is None else v for r, a in zip(q_router, q_ip)], np.int64)
    got = impl.bulk(table, np.array(q_router), np.array(q_ip, np.uint64))
    bad = np.flatnonzero(got != expected)
    assert not len(bad), f"{len(bad)} wrong; first router {q_router[bad[0]]} ip {dotted(q_ip[bad[0]])}"
    assert (expected >= 0).mean() > 0.5 and (expected == -1).any()  # the workload hits and misses

    for i in range(0, len(q_ip), 97):  # plain-Python and numba scalars agree with the bulk kernel
        assert impl.lookup(table, q_router[i], q_ip[i]) == expected[i]
        assert impl.get(table, q_router[i], q_ip[i]) == expected[i]


def test_default_route_and_host_routes_at_the_address_space_edges(impl):
    rows = [(0, 0, 0, 0), (0, 0, 32, 1), (0, ALL, 32, 2), (0, 0xFFFF_FFFE, 31, 3), (1, 0x0A00_0000, 31, 4)]
    table = impl.build(rows)
    cases = {(0, 0): 1, (0, 1): 0, (0, ALL): 2, (0, ALL - 1): 3, (0, ALL - 2): 0,
             (1, 0x0A00_0000): 4, (1, 0x0A00_0001): 4, (1, 0x0A00_0002): -1, (1, 0x09FF_FFFF): -1}
    for (r, ip), want in cases.items():
        assert impl.lookup(table, r, ip) == want, (r, dotted(ip))
    got = impl.bulk(table, np.array([k[0] for k in cases]), np.array([k[1] for k in cases], np.uint64))
    assert got.tolist() == list(cases.values())


def test_first_of_equal_prefixes_wins_and_host_bits_are_masked(impl):
    rows = [(0, 0x0A01_0203, 16, 7), (0, 0x0A01_0000, 16, 8), (0, 0x0A01_FFFF, 16, 9)]
    table = impl.build(rows)
    if impl.name == "hash":
        assert table.size == 1
    assert impl.lookup(table, 0, 0x0A01_7777) == 7


def test_unknown_routers_and_routers_without_routes_miss(impl):
    table = impl.build([(2, 0, 0, 0)], n_routers=4)
    for r in (-1, 0, 1, 3, 4, 1 << 40):
        assert impl.lookup(table, r, 0x0102_0304) == -1
    assert impl.lookup(table, 2, 0x0102_0304) == 0
    got = impl.bulk(table, np.array([-1, 0, 2, 4]), np.array([1, 1, 1, 1], np.uint64))
    assert got.tolist() == [-1, -1, 0, -1]
    assert impl.lookup(impl.build([]), 0, 0) == -1


@pytest.mark.parametrize(("row", "message"), [
    ((0, 0, 33, 0), "prefix_len"),
    ((0, 1 << 32, 8, 0), "network"),
    ((-1, 0, 8, 0), "router_id"),
    ((0, 0, 8, -1), "route_index"),
])
def test_bad_route_rows_are_rejected(impl, row, message):
    with pytest.raises(ValueError, match=message):
        impl.build([row], n_routers=1)


# ---- against the readable semantics: routing.lookup ------------------------------------------------
def rib_table(impl, cluster):
    """The LPM of every router instance of a cluster, built straight from its RIB."""
    insts = list(routing.rib(cluster).values())
    rows, first = [], []
    for r, inst in enumerate(insts):
        first.append(len(rows))
        rows += [(r, int(rt.prefix.network_address), rt.prefix.prefixlen, len(rows) + j)
                 for j, rt in enumerate(inst.routes)]
    return insts, first, impl.build(rows, len(insts))


@pytest.mark.parametrize("make", [
    default_scenario,
    lambda: generate(3, 2, 12, 5, service_t1_fraction=0.5, seed=3),
], ids=["default", "generated-with-service-t1s"])
def test_matches_routing_lookup_on_every_router(impl, make):
    cluster = make()
    insts, first, table = rib_table(impl, cluster)
    assert any(i.sr and i.kind == "t1" for i in insts), "the cluster should have T1 service routers"
    addrs = set()
    for inst in insts:
        for rt in inst.routes:
            addrs.update(interesting(int(rt.prefix.network_address), rt.prefix.prefixlen))
    addrs.update(int(ipaddress.IPv4Address(a)) for a in ("169.254.0.1", "169.254.0.2", "8.8.8.8"))
    addrs.update(np.random.default_rng(9).integers(0, 1 << 32, 300).tolist())
    addrs = sorted(addrs)
    for r, inst in enumerate(insts):
        got = impl.bulk(table, np.full(len(addrs), r), np.array(addrs, np.uint64))
        for ip, idx in zip(addrs, got.tolist()):
            want = routing.lookup(inst, ip)
            if want is None:
                assert idx == -1, (inst.name, dotted(ip))
            else:
                assert idx >= 0 and inst.routes[idx - first[r]] is want, (inst.name, dotted(ip), want)


def test_addresses_beyond_32_bits_miss_and_out_must_fit(impl):
    table = impl.build([(0, 0, 0, 5)], n_routers=1)
    assert impl.lookup(table, 0, 1 << 40) == -1 and impl.get(table, 0, 1 << 40) == -1
    if impl.name == "mtrie":
        with pytest.raises(ValueError, match="out must be int64"):
            mtrie.lookup_bulk(table, np.zeros(4, np.int64), np.zeros(4, np.int64), out=np.empty(100_000, np.int64))
