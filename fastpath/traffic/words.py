"""Random words by packet index and by flow id: why a profile's packets ignore the chunk size.

Every random choice a profile makes for packet i is a function of a few 64-bit *words* that
belong to packet i alone, and nothing else (no generator state carried from packet to
packet). So chunking, the total count and the order batches are asked for cannot change a
packet: packet i of a 10M-packet run equals packet i of a 1M run with the same seed.

- Packet words: packets are cut into blocks of `BLOCK` indices; block j's words come from a
  PCG64 seeded with ``(seed, stream, j)`` (`block_words`), so a chunk that starts mid-block
  regenerates at most one block. ``stream`` keeps profiles of different kinds apart.
- Flow words: a flow's 5-tuple must not depend on which packet first picked it, so its words
  are a hash of ``(seed, stream, flow id, k)`` (splitmix64, `flow_words`): any flow's words in
  O(1), no table of flows, memory flat whatever the flow count.

Helpers turn words into the draws profiles need, elementwise: `unit_floats` (uniform [0, 1)),
`below` (uniform integers 0..n-1, n per element allowed), `zipf_cdf` + `pick_cdf` (a discrete
distribution by inverse CDF).
"""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 16
"""Packet indices per block of words (the unit of regeneration when a chunk starts mid-block)."""

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_MIX1 = _U(0xBF58476D1CE4E5B9)
_MIX2 = _U(0x94D049BB133111EB)


def block_words(seed: int, stream: int, block: int, count: int, width: int) -> np.ndarray:
    """uint64[count, width]: the words of packets ``block*BLOCK .. + count`` (count <= BLOCK).
    Row r is the same whatever ``count`` is (the generator's raw output is sequential)."""
    bits = np.random.PCG64(np.random.SeedSequence([seed, stream, block]))
    return bits.random_raw(count * width).reshape(count, width)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser over a uint64 array (wrapping arithmetic, all in uint64)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _U(30))) * _MIX1
    z = (z ^ (z >> _U(27))) * _MIX2
    return z ^ (z >> _U(31))


def flow_words(seed: int, stream: int, flow: np.ndarray, width: int) -> np.ndarray:
    """uint64[n, width]: the words of flows ``flow`` (uint64/int64[n]), a pure function of
    (seed, stream, flow id, column)."""
    key = splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF, stream], _U))
    base = splitmix64(flow.astype(_U) ^ key[0:1])
    cols = splitmix64(np.arange(width, dtype=_U) ^ key[1:2])
    return splitmix64(base[:, None] ^ cols[None, :])


def unit_floats(words: np.ndarray) -> np.ndarray:
    """Words -> floats uniform in [0, 1) (their top 53 bits)."""
    return (words >> _U(11)).astype(np.float64) * (1.0 / (1 << 53))


def below(words: np.ndarray, n) -> np.ndarray:
    """Words -> int64 uniform in 0..n-1 (n an int or an array, elementwise; n >= 1). Uses the
    top 53 bits as a fraction, so the bias is below 2**-53 * n."""
    return np.minimum((unit_floats(words) * n).astype(np.int64), np.asarray(n, np.int64) - 1)


def zipf_cdf(n: int, s: float) -> np.ndarray:
    """float64[n]: the CDF of Zipf(s) over ranks 1..n (rank r weighs r**-s; s = 0 is uniform)."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -float(s)
    cdf = np.cumsum(w)
    return cdf / cdf[-1]


def pick_cdf(cdf: np.ndarray, words: np.ndarray) -> np.ndarray:
    """int64 index (0-based rank) drawn from ``cdf`` by inverse CDF, one per word."""
    return np.minimum(np.searchsorted(cdf, unit_floats(words), side="right"), len(cdf) - 1).astype(np.int64)
