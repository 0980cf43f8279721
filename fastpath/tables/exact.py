"""Exact-match table: a two-word key ``(k0, k1)`` -> an int, as a bucketized cuckoo hash.

What?
-----
Every exact lookup of the forwarding plane (OVS MAC table, VIF ports, segment L2 table,
neighbor table, the LPM's per-length probes) maps a key of two words to a small int: ``k0`` is
an id with a few flag bits (node, segment, router, < 2**32), ``k1`` an address (MAC, IP,
prefix; any uint64). A miss reads -1.

Layout
------
::

    buckets: uint64[B, 4, 2] — B buckets of SLOTS=4 slots; a slot is 2 words (16 bytes),
                               a bucket 64 bytes: one cache line (the array starts 64-aligned)
    seed:    uint64          — hash seed (the builder picks a new one when a build fails)
    size:    int             — entries stored

    slot word 0:  63            32 31             0      slot word 1:  63              0
                 +----------------+----------------+                   +----------------+
                 | value (int32)  |       k0       |                   |       k1       |
                 +----------------+----------------+                   +----------------+
    empty slot:  both words all ones (EMPTY_WORD). Its value field reads -1, the miss code.

Fill invariant (the builder keeps it; nothing is ever deleted): in every bucket the occupied
slots come first, and a key sits in its second bucket only while its first is full. So a
probe meets a present key before any empty slot, and needs no "is this slot empty" test: the
one key an empty slot looks like, ``(2**32-1, 2**64-1)``, reads the empty slot's value -1.

Basic design
------------
``h = mix64(k1 ^ mix64(k0 ^ seed))`` (splitmix64 finalizer, a bijection of uint64). A key may
live in two buckets: ``b1 = (h & 0xffffffff) * B >> 32`` and ``b2`` the same on ``h >> 32``
(multiply-shift range reduction, so B need not be a power of two; if ``b2 == b1`` it moves to
``b1 + 1``). A lookup reads at most those two cache lines: no probe sequence, no tombstones,
a miss costs the same as a hit in the second bucket. The builder puts a key in the first free
slot of b1, else of b2, else evicts a random slot's key to its other bucket and repeats
(random walk, `MAX_KICKS`); if a walk fails it rebuilds with the next seed (`attempt_seed`),
and every second failure with 5 % more buckets. A key equal to one already placed is found in its two buckets before
insertion, so duplicates are rejected exactly (ValueError naming both rows).

Why not linear probing in a power-of-two array at load 0.5 (the obvious design)? Memory. A
compiled cluster holds five exact entries per pod (2 OVS MAC, 1 VIF, 1 segment L2, 1
neighbor) in a budget of 128 bytes per pod, 27 of which are the port columns. Rounding a
million entries up to a power of two at load <= 0.5 gives 2**21 slots (2.1 per entry), so
even 12-byte slots would cost 5 * 2.1 * 12 = 126 bytes per pod on top of the 27; keys of 72
bits (node+VLAN, MAC) do not fit 8-byte slots. Linear probing at load 0.9 needs ~50 probes per miss. A
(2, 4) cuckoo table fills to ~97 % before its builds fail, reads two lines at worst, and
B = ceil(n / (4 * max_load)) follows n without the power-of-two cliff: at the compiler's load
0.9 a slot costs 16 / 0.9 = 17.8 bytes per entry.

Load factor
-----------
``load = size / (4 * B) <= max_load``. `DEFAULT_MAX_LOAD` = 0.5: 96 % of keys sit in their
first bucket (65 % at 0.9) and builds never walk far. Accepted up to `LOAD_LIMIT` = 0.95 (builds above it walk long
and may fail). The compiler asks 0.9 for its big tables (`fastpath.compile`).

Limits
------
``k0 < 2**32``; ``value`` in int32 range and not -1 (the miss code). The builder checks both;
a lookup with ``k0 >= 2**32`` simply misses.

Cost
----
Measured on this 2-core EPYC VM, one thread: building 2M entries takes 0.31 s at load 0.9
(0.24 s at 0.5), allocation included. `lookup_bulk` on random keys of a 1M-2M entry table
(18-64 MB) runs ~23 M lookups/s, hits and misses alike, at either load; staged (hash and
prefetch 16 keys, then probe) it is ~3x the plain probe loop, whose mispredicted exits
serialise the cache misses (8-10 M/s). Cache-resident tables run ~35-40 M/s: there the
probe's compute bounds it. `get` is inlined into each calling kernel.

Threading
---------
The view is immutable (read-only arrays); any number of threads may look up at once. The
kernels release the GIL (`fastpath._jit`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from .._jit import jit, kernel, prefetch_row
from .lines import empty_on_lines

SLOTS = 4
"""Slots per bucket: 4 x 16 bytes = one 64-byte cache line."""
DEFAULT_MAX_LOAD = 0.5
LOAD_LIMIT = 0.95
MAX_KICKS = 500
"""Evictions one insertion may make before the build starts over with a new seed."""
MAX_ATTEMPTS = 24
GROUP = 16
"""Keys hashed and prefetched ahead of their probes in the bulk kernels (16 measured best)."""
MISS = -1
K0_LIMIT = 1 << 32
EMPTY_WORD = np.uint64(0xFFFF_FFFF_FFFF_FFFF)

_OK, _DUPLICATE, _WALK_FAILED = 0, 1, 2

# typed constants: numba promotes uint64 mixed with int literals to float64
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_LO32 = np.uint64(0xFFFF_FFFF)
_EMPTY_VALUE = np.uint64(0xFFFF_FFFF)
_S7, _S13, _S17 = np.uint64(7), np.uint64(13), np.uint64(17)
_SLOT_MASK = np.uint64(SLOTS - 1)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)
_M1 = np.uint64(0xBF58_476D_1CE4_E5B9)
_M2 = np.uint64(0x94D0_49BB_1331_11EB)
_MASK64 = (1 << 64) - 1


class ExactTable(NamedTuple):
    """Frozen lookup view (see the module docstring for the layout)."""

    buckets: np.ndarray  # uint64[B, 4, 2], read-only
    seed: np.uint64
    size: int

    @property
    def n_buckets(self) -> int:
        return self.buckets.shape[0]

    @property
    def load(self) -> float:
        return self.size / (SLOTS * self.n_buckets)

    @property
    def nbytes(self) -> int:
        return self.buckets.nbytes


# ---- hash ------------------------------------------------------------------------------------------
@jit(inline="always")
def mix64(x):
    """splitmix64 finalizer: a bijection of uint64 with full avalanche."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@jit(inline="always")
def _hash(k0, k1, seed):
    return mix64(k1 ^ mix64(k0 ^ seed))


@jit(inline="always")
def _buckets_of(h, nb):
    """The key's two buckets (distinct when nb > 1)."""
    b1 = ((h & _LO32) * nb) >> _S32
    b2 = ((h >> _S32) * nb) >> _S32
    if b2 == b1:
        b2 = b1 + _U1
        if b2 == nb:
            b2 = _U0
    return np.intp(b1), np.intp(b2)


def _py_mix64(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK64
    return x ^ (x >> 31)


def hash_key(k0: int, k1: int, seed: int) -> int:
    """The key's 64-bit hash, in plain Python (same as the kernels')."""
    return _py_mix64((int(k1) & _MASK64) ^ _py_mix64((int(k0) ^ int(seed)) & _MASK64))


def buckets_of(k0: int, k1: int, seed: int, n_buckets: int) -> tuple[int, int]:
    """The two buckets a key may live in, in plain Python."""
    h = hash_key(k0, k1, seed)
    b1 = ((h & 0xFFFF_FFFF) * n_buckets) >> 32
    b2 = ((h >> 32) * n_buckets) >> 32
    if b2 == b1:
        b2 = (b1 + 1) % n_buckets
    return b1, b2


# ---- scalar lookup -----------------------------------------------------------------------------
def lookup(table: ExactTable, k0: int, k1: int) -> int:
    """The value stored for ``(k0, k1)``, or -1. Plain Python: the reference semantics."""
    k0, k1 = int(k0), int(k1)
    if not (0 <= k0 < K0_LIMIT and 0 <= k1 <= _MASK64):
        return MISS
    bk = table.buckets
    for b in buckets_of(k0, k1, int(table.seed), bk.shape[0]):
        for s in range(SLOTS):
            w0, w1 = int(bk[b, s, 0]), int(bk[b, s, 1])
            if w1 == k1 and (w0 & 0xFFFF_FFFF) == k0 and (w0 >> 32) != 0xFFFF_FFFF:
                v = w0 >> 32
                return v - (1 << 32) if v >= 1 << 31 else v
    return MISS


@jit(inline="always")
def _slot_value(w0):
    return np.int64(np.int32(np.uint32(w0 >> _S32)))


@jit(inline="always")
def _scan(buckets, b1, b2, k0, k1):
    """Value of (k0, k1) in bucket b1 or b2, or -1. A k0 above 32 bits never equals a slot's.
    No test for empty slots: by the fill invariant a present key is met before any empty slot,
    and the only key an empty slot matches, (2**32-1, 2**64-1), then reads -1: a miss."""
    for s in range(SLOTS):
        w0 = buckets[b1, s, 0]
        if buckets[b1, s, 1] == k1 and (w0 & _LO32) == k0:
            return _slot_value(w0)
    for s in range(SLOTS):
        w0 = buckets[b2, s, 0]
        if buckets[b2, s, 1] == k1 and (w0 & _LO32) == k0:
            return _slot_value(w0)
    return np.int64(MISS)


@jit(inline="always")
def get(buckets, seed, k0, k1):
    """`lookup` for numba kernels: the arrays come in as arguments (inlined into the caller).
    Returns int64, -1 on miss."""
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    b1, b2 = _buckets_of(_hash(k0, k1, np.uint64(seed)), np.uint64(buckets.shape[0]))
    return _scan(buckets, b1, b2, k0, k1)


@kernel(numba.types.int64(numba.types.Array(numba.types.uint64, 3, "C", readonly=True), numba.types.uint64,
                          numba.types.uint64, numba.types.uint64))
def probe(buckets, seed, k0, k1):
    """`get` as a call, not inlined: for kernels' colder paths. Its explicit signature keeps it to
    one compiled version instead of one per combination of argument types at the call sites."""
    return get(buckets, seed, k0, k1)


# ---- bulk lookup -------------------------------------------------------------------------------
@jit
def _lookup_bulk_kernel(buckets, seed, k0s, k1s, out):
    """Staged: hash GROUP keys and prefetch both their buckets, then probe them. The probe's
    early exits mispredict; with the lines already on their way that no longer serialises
    the cache misses."""
    nb = np.uint64(buckets.shape[0])
    seed = np.uint64(seed)
    n = out.shape[0]
    b1s = np.empty(GROUP, np.intp)
    b2s = np.empty(GROUP, np.intp)
    for g in range(0, n, GROUP):
        m = min(GROUP, n - g)
        for j in range(m):
            b1, b2 = _buckets_of(_hash(np.uint64(k0s[g + j]), np.uint64(k1s[g + j]), seed), nb)
            prefetch_row(buckets, b1)
            prefetch_row(buckets, b2)
            b1s[j] = b1
            b2s[j] = b2
        for j in range(m):
            out[g + j] = _scan(buckets, b1s[j], b2s[j], np.uint64(k0s[g + j]), np.uint64(k1s[g + j]))


def lookup_bulk(table: ExactTable, k0s, k1s, out: np.ndarray | None = None) -> np.ndarray:
    """``out[i] = lookup(table, k0s[i], k1s[i])`` for every i; returns ``out`` (int64[n])."""
    k0s = _as_u64(k0s, "k0s", wrap=True)
    k1s = _as_u64(k1s, "k1s", wrap=True)
    if k0s.shape != k1s.shape or k0s.ndim != 1:
        raise ValueError(f"k0s {k0s.shape} and k1s {k1s.shape} must be 1-d of one length")
    if out is None:
        out = np.empty(k0s.shape[0], np.int64)
    elif out.shape != k0s.shape or out.dtype != np.int64:
        raise ValueError(f"out must be int64[{k0s.shape[0]}], got {out.dtype}{list(out.shape)}")
    _lookup_bulk_kernel(table.buckets, table.seed, k0s, k1s, out)
    return out


# ---- builder -----------------------------------------------------------------------------------
@jit(inline="always")
def _free_slot(buckets, b):
    for s in range(SLOTS):
        if (buckets[b, s, 0] >> _S32) == _EMPTY_VALUE:
            return s
    return -1


@jit
def _build_kernel(k0s, k1s, values, buckets, seed, max_kicks):
    """Insert every key, in row order, into empty ``buckets``. Returns (status, row): _OK, or
    the row whose key repeats an earlier one (_DUPLICATE) or found no slot (_WALK_FAILED).
    Staged like the bulk lookup: a group's buckets are prefetched before its inserts."""
    nb = np.uint64(buckets.shape[0])
    rng = seed | _U1  # xorshift64 state of the random walk
    n = k0s.shape[0]
    b1s = np.empty(GROUP, np.intp)
    b2s = np.empty(GROUP, np.intp)
    for g in range(0, n, GROUP):
        m = min(GROUP, n - g)
        for j in range(m):
            b1, b2 = _buckets_of(_hash(k0s[g + j], k1s[g + j], seed), nb)
            prefetch_row(buckets, b1)
            prefetch_row(buckets, b2)
            b1s[j] = b1
            b2s[j] = b2
        for j in range(m):
            i = g + j
            k0 = k0s[i]
            k1 = k1s[i]
            b1 = b1s[j]
            b2 = b2s[j]
            # every placed key sits in one of its two buckets (and no value is -1): this finds
            # any earlier equal key
            if _scan(buckets, b1, b2, k0, k1) != MISS:
                return _DUPLICATE, i
            w0 = ((np.uint64(values[i]) & _LO32) << _S32) | k0
            w1 = k1
            b = b1
            s = _free_slot(buckets, b1)
            if s < 0:
                b = b2
                s = _free_slot(buckets, b2)
            kicks = 0
            while s < 0:
                if kicks == max_kicks:
                    return _WALK_FAILED, i
                kicks += 1
                rng ^= rng << _S13
                rng ^= rng >> _S7
                rng ^= rng << _S17
                s = np.intp(rng & _SLOT_MASK)
                # the homeless entry takes slot s of bucket b; the one evicted moves on
                e0 = buckets[b, s, 0]
                e1 = buckets[b, s, 1]
                buckets[b, s, 0] = w0
                buckets[b, s, 1] = w1
                w0 = e0
                w1 = e1
                c1, c2 = _buckets_of(_hash(w0 & _LO32, w1, seed), nb)
                b = c2 if b == c1 else c1
                s = _free_slot(buckets, b)
            buckets[b, s, 0] = w0
            buckets[b, s, 1] = w1
    return _OK, -1


def _aligned_buckets(n_buckets: int) -> np.ndarray:
    """uint64[n_buckets, 4, 2] filled with EMPTY_WORD, starting on a cache-line boundary."""
    arr = empty_on_lines((n_buckets, SLOTS, 2), np.uint64)
    arr.fill(EMPTY_WORD)
    return arr


def _as_u64(a, name: str, *, wrap: bool = False) -> np.ndarray:
    """A 1-d uint64 array of integers; negative ints are an error unless ``wrap`` (lookups)."""
    a = np.asarray(a)
    if a.size == 0:
        return np.zeros(a.shape, np.uint64)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must hold integers, got {a.dtype}")
    if a.dtype.kind == "i" and not wrap and int(a.min()) < 0:
        raise ValueError(f"{name}[{int(np.argmin(a))}] = {int(a.min())} is negative")
    return np.ascontiguousarray(a, dtype=np.uint64) if a.dtype.kind == "u" else a.astype(np.uint64)


def n_buckets_for(n: int, max_load: float) -> int:
    """Buckets for n entries at load <= max_load (at least one)."""
    return max(1, math.ceil(n / (SLOTS * max_load)))


def attempt_seed(attempt: int) -> np.uint64:
    """Hash seed of the builder's ``attempt``-th try (0 first): fixed, so builds replay."""
    return np.uint64(_py_mix64((attempt + 1) * 0x9E37_79B9_7F4A_7C15 & _MASK64))


def build(k0s, k1s, values, *, max_load: float = DEFAULT_MAX_LOAD) -> ExactTable:
    """Build a table of ``(k0s[i], k1s[i]) -> values[i]``. Raises ValueError on a duplicate
    key (naming both rows), ``k0 >= 2**32``, a value outside int32 or equal to -1."""
    if not 0.0 < max_load <= LOAD_LIMIT:
        raise ValueError(f"max_load {max_load} must be in (0, {LOAD_LIMIT}]")
    k0s = _as_u64(k0s, "k0s")
    k1s = _as_u64(k1s, "k1s")
    vals = np.asarray(values)
    if vals.size and vals.dtype.kind not in "ui":
        raise TypeError(f"values must hold integers, got {vals.dtype}")
    vals = vals.astype(np.int64)
    n = k0s.shape[0]
    if k0s.ndim != 1 or k0s.shape != k1s.shape or k0s.shape != vals.shape:
        raise ValueError(f"k0s {k0s.shape}, k1s {k1s.shape}, values {vals.shape} must be 1-d of one length")
    if n:
        if int(k0s.max()) >= K0_LIMIT:
            i = int(np.argmax(k0s >= K0_LIMIT))
            raise ValueError(f"k0s[{i}] = {int(k0s[i]):#x} does not fit 32 bits")
        bad = (vals < -(1 << 31)) | (vals >= 1 << 31) | (vals == MISS)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"values[{i}] = {int(vals[i])} must be an int32 other than -1 (the miss code)")
    nb = n_buckets_for(n, max_load)
    for attempt in range(MAX_ATTEMPTS):
        seed = attempt_seed(attempt)
        buckets = _aligned_buckets(nb)
        status, row = _build_kernel(k0s, k1s, vals, buckets, seed, MAX_KICKS)
        if status == _OK:
            buckets.setflags(write=False)
            return ExactTable(buckets, seed, n)
        if status == _DUPLICATE:
            first = int(np.flatnonzero((k0s[:row] == k0s[row]) & (k1s[:row] == k1s[row]))[0])
            raise ValueError(f"duplicate key (k0={int(k0s[row]):#x}, k1={int(k1s[row]):#x}) "
                             f"at rows {first} and {row}")
        if attempt % 2:
            nb = int(nb * 1.05) + 1
    raise RuntimeError(f"exact table: {n} keys could not be placed in {MAX_ATTEMPTS} attempts")
