"""The DFW classifier (`fastpath.tables.classifier`): the kernel against the plain linear scan
`lookup` on seeded random rule sets and packets, hand-worked adversarial cases (whose expected
rows are reasoned here, not read from either implementation), the bulk form, input validation,
and `prefixes_minus` against `ipaddress.address_exclude`."""

from __future__ import annotations

import ipaddress
import random

import numpy as np
import pytest

from fastpath.tables import classifier as C

ALL = (0, 65535)
INDEXING = {"default": None, "all": 0, "none": 1 << 40}
"""`build`'s index_at: lists indexed by (proto, port) beyond the default length, always, never."""
TCP, UDP, SCTP, ICMP = 6, 17, 132, 1


def ip(s: str) -> int:
    return int(ipaddress.IPv4Address(s))


def build_rows(rows, n_tables, index_at=None):
    """rows: (table, "a.b.c.d/len", proto, lo, hi)."""
    cols = [[], [], [], [], [], []]
    for t, cidr, proto, lo, hi in rows:
        n = ipaddress.IPv4Network(cidr)
        for c, v in zip(cols, (t, int(n.network_address), n.prefixlen, proto, lo, hi)):
            c.append(v)
    return C.build(*(np.array(c, np.int64) for c in cols), n_tables, index_at=index_at)


def kernel_one(cls, table, addr, proto, port) -> int:
    return int(C.classify(*(cls[c] for c in C.COLUMNS), table, addr, proto, port))


def both(cls, table, addr, proto, port) -> int:
    """The row both implementations answer (asserting they agree)."""
    a = C.lookup(cls, table, addr, proto, port)
    b = kernel_one(cls, table, addr, proto, port)
    bulk = C.lookup_bulk(cls, [table], [addr], [proto], [port])[0]
    assert a == b == bulk, (table, addr, proto, port, a, b, bulk)
    return a


# ---- random differential -----------------------------------------------------------------------
LEN_CHOICES = [32] * 6 + [24] * 4 + [16] * 3 + [0] * 2 + list(range(33))


def random_rules(rng: np.random.Generator, n: int, n_tables: int):
    table = rng.integers(0, n_tables, n)
    plen = rng.choice(LEN_CHOICES, n)
    # addresses crowded into a few /20s so prefixes nest and packets hit them
    base = rng.choice([ip("10.0.0.0"), ip("10.0.16.0"), ip("192.168.0.0"), 0, ip("255.255.240.0")], n)
    net = np.where(rng.random(n) < 0.9, base + rng.integers(0, 1 << 12, n), rng.integers(0, 1 << 32, n))
    proto = rng.choice([0, 0, ICMP, TCP, TCP, UDP, SCTP], n)
    lo = rng.integers(0, 65536, n)
    hi = np.minimum(65535, lo + rng.integers(0, 300, n))
    single = rng.random(n) < 0.25
    hi[single] = lo[single]
    full = rng.random(n) < 0.3
    lo[full], hi[full] = 0, 65535
    edge = rng.random(n) < 0.05
    lo[edge], hi[edge] = 0, 0
    edge = rng.random(n) < 0.05
    lo[edge], hi[edge] = 65535, 65535
    return table, net, plen, proto, lo, hi


def random_packets(rng: np.random.Generator, m: int, rules, n_tables: int):
    table, net, plen, proto, lo, hi = rules
    tables = rng.integers(-2, n_tables + 2, m)
    if len(net):
        # half the packets inside some rule's prefix, near its edges or anywhere in it
        k = rng.integers(0, len(net), m)
        size = np.left_shift(1, 32 - plen[k].astype(np.int64))
        start = net[k] & ~(size - 1) & 0xFFFF_FFFF
        off = np.where(rng.random(m) < 0.3, rng.choice([0, -1, 1], m) + np.where(rng.random(m) < 0.5, 0, size),
                       rng.integers(0, 1 << 62, m) % size)
        inside = (start + off) & 0xFFFF_FFFF
        ips = np.where(rng.random(m) < 0.5, inside, rng.integers(0, 1 << 32, m))
        tables = np.where(rng.random(m) < 0.7, table[k], tables)
        ports = np.where(rng.random(m) < 0.5, lo[k] + rng.integers(-1, 2, m), rng.integers(0, 65536, m)) & 0xFFFF
        protos = np.where(rng.random(m) < 0.5, proto[k], rng.choice([ICMP, TCP, UDP, SCTP, 0, 50], m))
    else:
        ips = rng.integers(0, 1 << 32, m)
        ports = rng.integers(0, 65536, m)
        protos = rng.choice([ICMP, TCP, UDP, SCTP], m)
    ports = np.where(rng.random(m) < 0.05, rng.choice([0, 65535], m), ports)
    return tables, ips, protos, ports


@pytest.mark.parametrize("index", INDEXING)
@pytest.mark.parametrize("seed,n,n_tables", [(0, 0, 1), (1, 1, 1), (2, 30, 1), (3, 200, 4), (4, 500, 40),
                                             (5, 1500, 3), (6, 2000, 200)])
def test_kernel_equals_linear_scan(seed, n, n_tables, index):
    rng = np.random.default_rng(seed)
    rules = random_rules(rng, n, n_tables)
    cls = C.build(*rules, n_tables, index_at=INDEXING[index])
    pk = random_packets(rng, 3000, rules, n_tables)
    got = C.lookup_bulk(cls, *pk)
    want = np.array([C.lookup(cls, *p) for p in zip(*pk)])
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{bad.size} mismatches, first packet {[int(c[bad[0]]) for c in pk]}: " \
                          f"kernel {got[bad[0]]}, linear {want[bad[0]]}"
    if n >= 200:
        assert 0.1 < (want >= 0).mean() < 0.95  # the packets exercise hits and misses


@pytest.mark.slow
@pytest.mark.parametrize("index", ["default", "all"])
@pytest.mark.parametrize("seed,n,n_tables", [(10, 20_000, 50), (11, 100_000, 2_000), (12, 100_000, 1)])
def test_kernel_equals_linear_scan_big(seed, n, n_tables, index):
    rng = np.random.default_rng(seed)
    rules = random_rules(rng, n, n_tables)
    cls = C.build(*rules, n_tables, index_at=INDEXING[index])
    pk = random_packets(rng, 1500 if n_tables == 1 else 4000, rules, n_tables)
    got = C.lookup_bulk(cls, *pk)
    want = np.array([C.lookup(cls, *p) for p in zip(*pk)])
    assert np.array_equal(got, want)


# ---- adversarial, worked by hand ---------------------------------------------------------------
@pytest.mark.parametrize("index", INDEXING)
def test_shorter_prefix_with_higher_priority_wins(index):
    cls = build_rows([
        (0, "10.0.0.0/8", TCP, 80, 80),      # 0
        (0, "10.1.2.3/32", 0, *ALL),         # 1: nested, but after row 0
        (0, "10.1.2.0/24", UDP, 53, 53),     # 2
        (0, "0.0.0.0/0", TCP, 0, 65535),     # 3
        (0, "10.1.0.0/16", 0, *ALL),         # 4
    ], 1, INDEXING[index])
    assert both(cls, 0, ip("10.1.2.3"), TCP, 80) == 0
    assert both(cls, 0, ip("10.1.2.3"), TCP, 81) == 1
    assert both(cls, 0, ip("10.1.2.3"), ICMP, 0) == 1
    assert both(cls, 0, ip("10.1.2.4"), UDP, 53) == 2
    assert both(cls, 0, ip("10.1.2.4"), TCP, 81) == 3
    assert both(cls, 0, ip("10.1.2.4"), UDP, 54) == 4
    assert both(cls, 0, ip("10.1.3.0"), ICMP, 0) == 4
    assert both(cls, 0, ip("10.2.0.0"), ICMP, 0) == -1
    assert both(cls, 0, ip("10.2.0.0"), TCP, 9) == 3
    assert both(cls, 0, ip("11.0.0.0"), UDP, 53) == -1


def test_catch_all_ancestor_shadows_later_nested_rows():
    cls = build_rows([
        (0, "10.0.0.0/24", TCP, 22, 22),   # 0
        (0, "10.0.0.0/16", 0, *ALL),       # 1: matches every packet to 10.0/16
        (0, "10.0.0.7/32", TCP, 22, 22),   # 2: never wins
        (0, "10.0.0.7/32", 0, *ALL),       # 3: never wins
    ], 1)
    assert both(cls, 0, ip("10.0.0.7"), TCP, 22) == 0
    assert both(cls, 0, ip("10.0.0.7"), TCP, 23) == 1
    assert both(cls, 0, ip("10.0.0.7"), ICMP, 0) == 1
    assert C.stats(cls)["longest_scan"] == 2  # the /32's list stops at row 1


@pytest.mark.parametrize("index", INDEXING)
def test_same_prefix_different_ports(index):
    cls = build_rows([
        (0, "10.0.0.0/24", TCP, 80, 80),
        (0, "10.0.0.0/24", TCP, 443, 443),
        (0, "10.0.0.0/24", UDP, 80, 80),
        (0, "10.0.0.0/24", TCP, 8000, 8999),
        (0, "10.0.0.0/24", SCTP, 0, 65535),
        (0, "10.0.0.0/24", 0, 1, 65535),
    ], 1)
    a = ip("10.0.0.200")
    assert [both(cls, 0, a, TCP, p) for p in (80, 443, 8000, 8999, 9000, 0, 65535)] == [0, 1, 3, 3, 5, -1, 5]
    assert [both(cls, 0, a, UDP, p) for p in (80, 81, 0)] == [2, 5, -1]
    assert [both(cls, 0, a, SCTP, p) for p in (0, 80, 65535)] == [4, 4, 4]
    assert both(cls, 0, a, ICMP, 0) == -1  # proto any, but a range short of 0..65535


@pytest.mark.parametrize("index", INDEXING)
def test_non_port_protocols_match_only_full_ranges(index):
    cls = build_rows([
        (0, "0.0.0.0/0", 0, 80, 80),        # 0
        (0, "0.0.0.0/0", ICMP, 0, 0),       # 1: an ICMP rule with a range never matches
        (0, "0.0.0.0/0", 0, 0, 65534),      # 2
        (0, "0.0.0.0/0", ICMP, *ALL),       # 3
        (0, "0.0.0.0/0", 0, *ALL),          # 4
    ], 1)
    for port in (0, 80, 65535):  # the port of a non-port protocol is ignored
        assert both(cls, 0, ip("1.2.3.4"), ICMP, port) == 3
        assert both(cls, 0, ip("1.2.3.4"), 47, port) == 4
    assert both(cls, 0, ip("1.2.3.4"), TCP, 80) == 0
    assert both(cls, 0, ip("1.2.3.4"), UDP, 65535) == 4
    assert both(cls, 0, ip("1.2.3.4"), SCTP, 0) == 2


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "255.255.255.255/32", "0.0.0.0/32", "128.0.0.0/1", "0.0.0.0/1"])
def test_single_prefix_at_the_edges_of_the_address_space(cidr):
    n = ipaddress.IPv4Network(cidr)
    cls = build_rows([(0, cidr, 0, *ALL)], 1)
    for a in (0, 1, ip("127.255.255.255"), ip("128.0.0.0"), ip("255.255.255.254"), 0xFFFF_FFFF):
        assert both(cls, 0, a, TCP, 1) == (0 if ipaddress.IPv4Address(a) in n else -1)


def test_only_slash_32s():
    addrs = [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.4"), ip("10.0.1.1"), 0, 0xFFFF_FFFF]
    cls = build_rows([(0, f"{ipaddress.IPv4Address(a)}/32", TCP, 5432, 5432) for a in addrs], 1)
    for k, a in enumerate(addrs):
        assert both(cls, 0, a, TCP, 5432) == k
        assert both(cls, 0, a, TCP, 5433) == -1
    for a in (ip("10.0.0.3"), ip("10.0.0.0"), ip("10.0.0.5"), 1, 0xFFFF_FFFE):
        assert both(cls, 0, a, TCP, 5432) == -1


def test_tables_are_separate_and_ids_out_of_range_miss():
    cls = build_rows([(0, "10.0.0.0/8", 0, *ALL), (2, "0.0.0.0/0", 0, *ALL), (3, "10.0.0.5/32", TCP, 1, 1)], 5)
    a = ip("10.0.0.5")
    assert both(cls, 0, a, TCP, 1) == 0
    assert both(cls, 1, a, TCP, 1) == -1  # a table without rows
    assert both(cls, 2, a, TCP, 1) == 1
    assert both(cls, 3, a, TCP, 1) == 2
    assert both(cls, 4, a, TCP, 1) == -1
    for t in (-1, 5, 6, 1 << 40, -(1 << 40)):
        assert both(cls, t, a, TCP, 1) == -1


def test_no_rules_no_tables():
    cls = C.build([], [], [], [], [], [], 0)
    for t in (-1, 0, 1):
        assert both(cls, t, 0, TCP, 0) == -1
    cls = C.build([], [], [], [], [], [], 3)
    assert both(cls, 1, 0, TCP, 0) == -1


def test_host_bits_of_net_are_ignored():
    cls = C.build([0], [ip("10.0.0.77")], [24], [0], [0], [65535], 1)
    assert both(cls, 0, ip("10.0.0.1"), TCP, 1) == 0
    assert both(cls, 0, ip("10.0.1.1"), TCP, 1) == -1


@pytest.mark.parametrize("index", INDEXING)
def test_many_lengths_from_except_expansion(index):
    # 0.0.0.0/0 except 10.0.0.0/8 -> /1../8; the cluster's own /16, /24 and /32 nested inside 10/8
    rows = [(0, str(p), TCP, 443, 443) for p in C.prefixes_minus(ipaddress.IPv4Network("0.0.0.0/0"),
                                                                    ["10.0.0.0/8"])]
    rows += [(0, "10.1.0.0/16", TCP, 80, 80), (0, "10.1.2.0/24", 0, *ALL), (0, "10.1.2.3/32", UDP, 53, 53),
             (0, "0.0.0.0/0", 0, *ALL)]
    cls = build_rows(rows, 1, INDEXING[index])
    deny = len(rows) - 1
    assert both(cls, 0, ip("8.8.8.8"), TCP, 443) < 8
    assert both(cls, 0, ip("10.9.9.9"), TCP, 443) == deny
    assert both(cls, 0, ip("10.1.9.9"), TCP, 80) == 8
    assert both(cls, 0, ip("10.1.2.3"), UDP, 53) == 9
    assert both(cls, 0, ip("10.1.2.3"), UDP, 54) == 9
    assert both(cls, 0, ip("11.0.0.0"), ICMP, 0) == deny


def test_packet_fields_are_taken_at_their_widths():
    cls = build_rows([(0, "0.0.0.1/32", TCP, 5, 5)], 1)
    assert both(cls, 0, (1 << 32) + 1, TCP + 256, 5 + 65536) == 0


def test_classify_inlines_into_a_caller():
    from fastpath._jit import kernel

    @kernel(cache=False)  # a cached caller would keep a stale inlined copy after classify changes
    def deny_count(tab_start, bound, rules, tables, ips, protos, ports):
        n = 0
        for i in range(tables.shape[0]):
            if C.classify(tab_start, bound, rules, tables[i], ips[i], protos[i], ports[i]) >= 0:
                n += 1
        return n

    rng = np.random.default_rng(7)
    rules = random_rules(rng, 300, 3)
    cls = C.build(*rules, 3)
    pk = random_packets(rng, 500, rules, 3)
    want = sum(C.lookup(cls, *p) >= 0 for p in zip(*pk))
    assert deny_count(*(cls[c] for c in C.COLUMNS), *(np.asarray(c, np.int64) for c in pk)) == want


def test_bulk_form_and_its_arguments():
    rng = np.random.default_rng(8)
    rules = random_rules(rng, 400, 5)
    cls = C.build(*rules, 5)
    pk = [np.asarray(c) for c in random_packets(rng, 700, rules, 5)]
    out = np.full(700, -7, np.int64)
    assert C.lookup_bulk(cls, *pk, out=out) is out
    assert out.tolist() == [kernel_one(cls, *(int(c[i]) for c in pk)) for i in range(700)]
    # other integer dtypes give the same answers
    small = [pk[0].astype(np.int32), pk[1].astype(np.uint32), pk[2].astype(np.uint8), pk[3].astype(np.uint16)]
    assert np.array_equal(C.lookup_bulk(cls, *small), out)
    with pytest.raises(ValueError, match="one length"):
        C.lookup_bulk(cls, pk[0][:3], *pk[1:])
    with pytest.raises(ValueError, match="out must be int64"):
        C.lookup_bulk(cls, *pk, out=np.empty(700, np.int32))


def test_lookup_reads_a_dict_or_attributes():
    from types import SimpleNamespace
    cls = build_rows([(0, "10.0.0.0/8", 0, *ALL)], 1)
    ns = SimpleNamespace(**cls)
    assert C.lookup(ns, 0, ip("10.2.3.4"), TCP, 1) == 0
    assert C.nbytes(ns) == C.nbytes(cls) > 0


@pytest.mark.parametrize("field,rows,message", [
    ("table", dict(table=[0, 3]), r"rules\[1\]\.table: 3 is outside 0\.\.2"),
    ("table", dict(table=[-1, 0]), r"rules\[0\]\.table: -1"),
    ("net", dict(net=[0, 1 << 32]), r"rules\[1\]\.net: 4294967296"),
    ("plen", dict(plen=[33, 0]), r"rules\[0\]\.plen: 33 is outside 0\.\.32"),
    ("proto", dict(proto=[0, 256]), r"rules\[1\]\.proto: 256"),
    ("port_lo", dict(port_lo=[0, -1]), r"rules\[1\]\.port_lo: -1"),
    ("port_hi", dict(port_hi=[65536, 0]), r"rules\[0\]\.port_hi: 65536"),
    ("order", dict(port_lo=[0, 9], port_hi=[65535, 8]), r"rules\[1\]\.port_lo: 9 is above port_hi 8"),
    ("length", dict(proto=[0]), r"proto: must be 1-d of length 2"),
    ("dtype", dict(net=[0.5, 1.0]), r"net: must hold integers"),
])
def test_bad_rules_name_the_row_and_field(field, rows, message):
    cols = dict(table=[0, 1], net=[0, 0], plen=[0, 0], proto=[0, 0], port_lo=[0, 0], port_hi=[65535, 65535])
    cols.update(rows)
    with pytest.raises(ValueError, match=message):
        C.build(**{k: np.array(v) for k, v in cols.items()}, n_tables=3)


def test_bad_table_count():
    with pytest.raises(ValueError, match="n_tables"):
        C.build([], [], [], [], [], [], -1)
    with pytest.raises(ValueError, match=r"rules\[0\]\.table"):
        C.build([0], [0], [0], [0], [0], [0], 0)


# ---- prefixes_minus ----------------------------------------------------------------------------
def exclude_all(net, excepts):
    """The independent answer: address_exclude one except at a time, then collapse."""
    parts = [net]
    for e in excepts:
        nxt = []
        for p in parts:
            if e.subnet_of(p):
                nxt.extend(p.address_exclude(e))
            elif not p.subnet_of(e):
                nxt.append(p)
        parts = nxt
    return sorted(ipaddress.collapse_addresses(parts))


def test_prefixes_minus_examples():
    n = ipaddress.IPv4Network
    assert C.prefixes_minus(n("172.17.0.0/16"), [n("172.17.1.0/24")]) == sorted(
        n("172.17.0.0/16").address_exclude(n("172.17.1.0/24")))
    assert C.prefixes_minus(n("10.0.0.0/8"), []) == [n("10.0.0.0/8")]
    assert C.prefixes_minus(n("10.0.0.0/8"), [n("10.0.0.0/8")]) == []
    assert C.prefixes_minus(n("10.1.0.0/16"), [n("10.0.0.0/8")]) == []  # an except wider than the cidr
    assert C.prefixes_minus(n("10.0.0.0/8"), [n("11.0.0.0/8")]) == [n("10.0.0.0/8")]
    assert C.prefixes_minus(n("0.0.0.0/0"), [n("10.0.0.0/8")]) == sorted(
        n("0.0.0.0/0").address_exclude(n("10.0.0.0/8")))
    assert len(C.prefixes_minus(n("0.0.0.0/0"), [n("10.0.0.0/8")])) == 8


def test_prefixes_minus_random():
    r = random.Random(3)
    for _ in range(300):
        plen = r.choice([0, 8, 12, 16, 20, 24, 30, 32])
        net = ipaddress.IPv4Network((r.getrandbits(32) >> (32 - plen) << (32 - plen) if plen else 0, plen))
        excepts = []
        for _ in range(r.randrange(0, 6)):
            el = r.randrange(max(plen - 2, 0), 33)
            base = int(net.network_address) if r.random() < 0.8 else r.getrandbits(32)
            addr = (base | (r.getrandbits(32) & ((1 << (32 - plen)) - 1))) & 0xFFFF_FFFF
            excepts.append(ipaddress.IPv4Network((addr >> (32 - el) << (32 - el) if el else 0, el)))
        got = C.prefixes_minus(net, excepts)
        assert got == exclude_all(net, excepts), (net, excepts)
        # fewest prefixes: no two can be merged
        assert list(ipaddress.collapse_addresses(got)) == got


@pytest.mark.parametrize("index", INDEXING)
def test_long_port_lists_every_port(index):
    """Hundreds of port rules on one prefix chain (the shape the (proto, port) index is for),
    every port of every protocol class, against a brute force over the rows in numpy."""
    rng = np.random.default_rng(21)
    rows = []
    for _ in range(300):
        proto = int(rng.choice([TCP, TCP, UDP, SCTP, 0, ICMP]))
        lo = int(rng.integers(0, 65536))
        hi = lo if rng.random() < 0.5 else min(65535, lo + int(rng.integers(0, 2000)))
        if rng.random() < 0.05:
            lo, hi = ALL
        rows.append((0, str(rng.choice(["10.0.0.0/24", "10.0.0.9/32", "10.0.0.0/16"])), proto, lo, hi))
    cls = build_rows(rows, 1, INDEXING[index])
    if index == "default":
        assert C.stats(cls)["indexed_intervals"] > 0
    proto = np.array([r[2] for r in rows])
    lo = np.array([r[3] for r in rows])
    hi = np.array([r[4] for r in rows])
    ports = np.arange(65536)
    for addr, inside in ((ip("10.0.0.9"), [True] * 300), (ip("10.0.0.10"), [r[1] != "10.0.0.9/32" for r in rows]),
                         (ip("10.0.1.1"), [r[1] == "10.0.0.0/16" for r in rows])):
        inside = np.array(inside)
        for p in (TCP, UDP, SCTP, ICMP, 47, 0):
            fits = inside & ((proto == 0) | (proto == p))
            if p in C.PORT_PROTOS:
                m = fits[:, None] & (lo[:, None] <= ports) & (ports <= hi[:, None])
            else:
                m = np.repeat((fits & (lo == 0) & (hi == 65535))[:, None], ports.shape[0], axis=1)
            want = np.where(m.any(axis=0), m.argmax(axis=0), -1)
            got = C.lookup_bulk(cls, np.zeros(65536, np.int64), np.full(65536, addr), np.full(65536, p), ports)
            assert np.array_equal(got, want), (addr, p, int(np.flatnonzero(got != want)[0]))


@pytest.mark.parametrize("index", INDEXING)
def test_nested_prefixes_under_a_long_list(index):
    """Pod /32s inside a namespace /24 that holds 50 port rules, rows of both orders: the /32s'
    lists jump to the /24's instead of copying it (when it is long), and answer the same."""
    rows = [(0, "10.0.0.0/24", TCP, 1000 + i, 1000 + i) for i in range(25)]
    rows += [(0, f"10.0.0.{k}/32", TCP, 1010, 1010 + k) for k in range(1, 200, 2)]
    rows += [(0, "10.0.0.0/24", TCP, 2000 + i, 2000 + 2 * i) for i in range(25)]
    rows += [(0, f"10.0.0.{k}/32", 0, *ALL) for k in range(2, 200, 7)]
    rows += [(0, "10.0.0.0/16", UDP, 53, 53), (0, "0.0.0.0/0", 0, *ALL)]
    cls = build_rows(rows, 1, INDEXING[index])
    if index != "none":
        assert C.nbytes(cls) < 40 * len(rows)  # no copy of the /24's 50 rows per /32
    rng = np.random.default_rng(5)
    m = 4000
    ips = ip("10.0.0.0") + rng.integers(0, 256, m)
    protos = rng.choice([TCP, UDP, ICMP], m)
    ports = np.where(rng.random(m) < 0.7, rng.integers(995, 2060, m), rng.integers(0, 65536, m))
    got = C.lookup_bulk(cls, np.zeros(m, np.int64), ips, protos, ports)
    want = [C.lookup(cls, 0, *p) for p in zip(ips, protos, ports)]
    assert got.tolist() == want
