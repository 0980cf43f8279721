"""fastpath.tables.exact against a Python dict (the obvious oracle), on seeded random and
adversarial keys; the three lookups (plain Python, numba scalar, bulk) must agree."""

from __future__ import annotations

import numpy as np
import pytest

from fastpath.tables import exact, lines

ALL_ONES = (1 << 64) - 1
K0_MAX = (1 << 32) - 1
EDGE_KEYS = [(0, 0), (0, ALL_ONES), (K0_MAX, 0), (K0_MAX, ALL_ONES), (1, 1), (K0_MAX, 1 << 63)]


def random_entries(rng, n: int) -> dict[tuple[int, int], int]:
    """n distinct keys: random, sequential (one k0, many k1), one k1 many k0, the edge keys;
    values random int32 other than -1, int32 min and max among them."""
    keys: list[tuple[int, int]] = list(EDGE_KEYS)
    q = n // 4
    keys += zip(rng.integers(0, 1 << 32, q, dtype=np.uint64).tolist(),
                rng.integers(0, 1 << 64, q, dtype=np.uint64, endpoint=False).tolist())
    keys += [(7, i) for i in range(q)]  # e.g. one node's VLANs / one segment's IPs
    keys += [(i, 0x0250_5656_4452) for i in range(q)]  # one MAC on many nodes
    keys += [(i >> 8, i & 0xFF) for i in range(q)]  # a dense grid
    keys = list(dict.fromkeys(keys))[:n]
    vals = rng.integers(-(1 << 31), 1 << 31, len(keys)).tolist()
    vals[:3] = [-(1 << 31), (1 << 31) - 1, 0]
    vals = [v if v != -1 else -2 for v in vals]
    return dict(zip(keys, vals))


def near_misses(entries: dict, rng, n: int) -> list[tuple[int, int]]:
    """Keys one bit or one word away from present keys, and random keys; none present."""
    keys = list(entries)
    out = []
    for i in rng.integers(0, len(keys), n).tolist():
        k0, k1 = keys[i]
        out += [(k0 ^ 1, k1), (k0, k1 ^ (1 << int(rng.integers(64)))), (k1 & K0_MAX, k0)]
    out += zip(rng.integers(0, 1 << 32, n, dtype=np.uint64).tolist(),
               rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False).tolist())
    return [k for k in out if k not in entries]


def build_from(entries: dict, max_load: float = exact.DEFAULT_MAX_LOAD) -> exact.ExactTable:
    keys = list(entries)
    return exact.build(np.array([k[0] for k in keys], np.uint64), np.array([k[1] for k in keys], np.uint64),
                       np.array(list(entries.values()), np.int64), max_load=max_load)


def check_against_dict(table, entries: dict, queries: list[tuple[int, int]], sample: int = 2000) -> None:
    k0s = np.array([q[0] for q in queries], np.uint64)
    k1s = np.array([q[1] for q in queries], np.uint64)
    expected = np.array([entries.get(q, -1) for q in queries], np.int64)
    got = exact.lookup_bulk(table, k0s, k1s)
    bad = np.flatnonzero(got != expected)
    assert not len(bad), f"{len(bad)} wrong, first {queries[bad[0]]}: {got[bad[0]]} != {expected[bad[0]]}"
    step = max(1, len(queries) // sample)
    for i in range(0, len(queries), step):
        k0, k1 = queries[i]
        assert exact.lookup(table, k0, k1) == expected[i], queries[i]
        assert exact.get(table.buckets, table.seed, np.uint64(k0), np.uint64(k1)) == expected[i], queries[i]


@pytest.mark.parametrize("max_load", [0.5, 0.9, 0.95])
def test_lookups_match_a_dict_on_random_keys_and_near_misses(max_load):
    rng = np.random.default_rng(1234)
    entries = random_entries(rng, 60_000)
    table = build_from(entries, max_load)
    assert table.size == len(entries) and table.load <= max_load
    check_against_dict(table, entries, list(entries) + near_misses(entries, rng, 20_000))


def test_small_tables_from_one_to_a_few_buckets():
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 5, 8, 9, 17):
        entries = random_entries(rng, n)
        table = build_from(entries, 0.95)
        check_against_dict(table, entries, list(entries) + near_misses(entries, rng, 50))


def test_the_all_ones_key_matches_its_slot_not_an_empty_one():
    # empty slots hold all-ones words; that key must still miss when absent and hit when present
    key = (K0_MAX, ALL_ONES)
    sparse = {(1, 2): 5, (3, 4): 6}
    table = build_from(sparse)
    assert exact.lookup(table, *key) == -1
    check_against_dict(table, sparse, [key, (1, 2), (3, 4)])
    table = build_from({**sparse, key: 7})
    check_against_dict(table, {**sparse, key: 7}, [key, (1, 2), (3, 4), (0, ALL_ONES), (K0_MAX, 0)])


def test_keys_with_one_full_hash_force_a_new_seed():
    # 64 keys with one 64-bit hash under the first seed share both buckets (8 slots): the
    # first attempt must fail and a later seed place them all
    seed0 = int(exact.attempt_seed(0))
    k0s = list(range(1000, 1064))
    k1s = [0x1234_5678 ^ exact._py_mix64(k0 ^ seed0) for k0 in k0s]
    assert len({exact.hash_key(a, b, seed0) for a, b in zip(k0s, k1s)}) == 1
    entries = {(a, b): i for i, (a, b) in enumerate(zip(k0s, k1s))}
    table = build_from(entries, 0.5)
    assert int(table.seed) != seed0
    assert_fill_invariant(table)
    check_against_dict(table, entries, list(entries) + [(a, b ^ 1) for a, b in entries])


def test_keys_sharing_first_buckets_overflow_into_second_buckets():
    # keys chosen so that many share the first bucket of a 64-bucket table: cuckoo moves them
    seed0, nb = int(exact.attempt_seed(0)), 64
    chosen = [(5, k1) for k1 in range(200_000) if exact.buckets_of(5, k1, seed0, nb)[0] == 0][:40]
    entries = {k: i for i, k in enumerate(chosen)}
    entries |= {(6, k1): 1000 + k1 for k1 in range(150)}  # fill: 190 keys in 256 slots
    table = build_from(entries, 0.95)
    assert_fill_invariant(table)
    check_against_dict(table, entries, list(entries) + near_misses(entries, np.random.default_rng(3), 100))


def assert_fill_invariant(table) -> None:
    """Occupied slots first in every bucket; a key in one of its two buckets, in the second
    only if the first is full (what lets a probe skip the empty-slot test)."""
    bk = table.buckets
    occupied = (bk[:, :, 0] >> np.uint64(32)) != np.uint64(0xFFFF_FFFF)
    assert not (~occupied[:, :-1] & occupied[:, 1:]).any(), "an empty slot before an occupied one"
    assert int(occupied.sum()) == table.size
    full = occupied.all(axis=1)
    for b, s in zip(*np.nonzero(occupied)):
        w0, k1 = int(bk[b, s, 0]), int(bk[b, s, 1])
        b1, b2 = exact.buckets_of(w0 & 0xFFFF_FFFF, k1, int(table.seed), bk.shape[0])
        assert b in (b1, b2) and (b == b1 or full[b1]), (b, s)


@pytest.mark.parametrize("max_load", [0.5, 0.95])
def test_builder_keeps_the_fill_invariant(max_load):
    entries = random_entries(np.random.default_rng(99), 20_000)
    assert_fill_invariant(build_from(entries, max_load))


def test_duplicate_key_is_rejected_naming_both_rows():
    k0 = np.array([1, 2, 3, 2], np.uint64)
    k1 = np.array([9, 8, 7, 8], np.uint64)
    with pytest.raises(ValueError, match=r"duplicate key .* rows 1 and 3"):
        exact.build(k0, k1, np.arange(4))


@pytest.mark.parametrize(("k0", "value", "message"), [
    (1 << 32, 0, "does not fit 32 bits"),
    (0, -1, "other than -1"),
    (0, 1 << 31, "int32"),
    (0, -(1 << 31) - 1, "int32"),
])
def test_out_of_range_keys_and_values_are_rejected(k0, value, message):
    with pytest.raises(ValueError, match=message):
        exact.build(np.array([k0], np.uint64), np.array([0], np.uint64), np.array([value], np.int64))


def test_negative_keys_are_rejected_and_wide_k0_misses():
    with pytest.raises(ValueError, match="negative"):
        exact.build(np.array([-1]), np.array([0]), np.array([0]))
    table = build_from({(5, 6): 1})
    assert exact.lookup(table, 5 | 1 << 32, 6) == -1
    assert exact.lookup_bulk(table, np.array([5 | 1 << 32, 5], np.uint64), np.array([6, 6], np.uint64)).tolist() == [-1, 1]


def test_empty_table_misses_everything():
    table = exact.build(np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.int64))
    assert table.size == 0
    assert exact.lookup(table, 0, 0) == -1
    assert exact.lookup(table, K0_MAX, ALL_ONES) == -1
    assert exact.lookup_bulk(table, np.array([0, K0_MAX], np.uint64), np.array([0, ALL_ONES], np.uint64)).tolist() == [-1, -1]


def test_view_is_read_only_cache_line_aligned_and_deterministic():
    entries = random_entries(np.random.default_rng(5), 5000)
    a, b = build_from(entries, 0.9), build_from(entries, 0.9)
    assert not a.buckets.flags.writeable
    assert a.buckets.ctypes.data % lines.CACHE_LINE == 0
    assert a.buckets.dtype == np.uint64 and a.buckets.shape[1:] == (exact.SLOTS, 2)
    assert a.nbytes == a.n_buckets * 64
    assert np.array_equal(a.buckets, b.buckets) and a.seed == b.seed


def test_bulk_lookup_checks_its_arguments():
    table = build_from({(1, 2): 3})
    with pytest.raises(ValueError, match="one length"):
        exact.lookup_bulk(table, np.zeros(2, np.uint64), np.zeros(3, np.uint64))
    with pytest.raises(ValueError, match="out must be int64"):
        exact.lookup_bulk(table, np.zeros(2, np.uint64), np.zeros(2, np.uint64), np.zeros(2, np.int32))
    out = np.full(1, 99, np.int64)
    assert exact.lookup_bulk(table, [1], [2], out) is out and out[0] == 3


@pytest.mark.parametrize("dtype, shape", [(np.uint64, (1001, 4)), (np.int32, (7,)), (np.uint8, (3, 5, 2))])
def test_on_lines_copies_only_what_is_off_a_line_and_keeps_values_and_read_only(dtype, shape):
    rng = np.random.default_rng(1)
    raw = np.empty(int(np.prod(shape)) * np.dtype(dtype).itemsize + 64, np.uint8)
    off = (-raw.ctypes.data % lines.CACHE_LINE + 16) % lines.CACHE_LINE  # 16 bytes into a line
    a = raw[off:off + raw.size - 64].view(dtype).reshape(shape)
    a[...] = rng.integers(0, 100, shape).astype(dtype)
    a.setflags(write=False)
    b = lines.on_lines(a)
    assert not lines.is_on_lines(a) and lines.is_on_lines(b) and b is not a
    np.testing.assert_array_equal(a, b)
    assert b.dtype == a.dtype and not b.flags.writeable
    assert lines.on_lines(b) is b
    z = lines.zeros_on_lines(shape, dtype)
    assert lines.is_on_lines(z) and z.shape == shape and not z.any()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("shape", [(4,), (20,), (13, 3), (0, 2), (7, 2, 2), (3,)])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_rows_on_lines_gives_each_worker_whole_lines_of_zeros(dtype, shape, workers):
    a = lines.rows_on_lines(workers, shape, dtype)
    assert a.shape == (workers, *shape) and a.dtype == dtype and not a.any()
    spans = []
    for w in range(workers):
        r = a[w:w + 1]
        assert r.flags.c_contiguous and r.flags.writeable
        if r.size:
            assert r.ctypes.data % lines.CACHE_LINE == 0
            spans.append((r.ctypes.data // 64, (r.ctypes.data + r.nbytes - 1) // 64))
    assert all(hi < lo for (_, hi), (lo, _) in zip(spans, spans[1:]))  # no line shared by two rows
    a[-1] = 7  # a view of one buffer: writing a row changes only that row
    assert (a[-1] == 7).all() and not a[:-1].any()
    z = lines.zeros_own_lines(shape, dtype)
    assert z.shape == shape and not z.any() and z.ctypes.data % lines.CACHE_LINE == 0
