"""The cython IPv4 checksum against a slow, obvious RFC 1071 sum on seeded random headers."""

import numpy as np
import pytest

from fastpath.wire._checksum import ipv4_checksum, ipv4_checksum_ok


def slow_checksum(header: bytes) -> int:
    words = [int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2) if i != 10]
    s = sum(words)
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def test_known_header_from_rfc_examples():
    h = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert ipv4_checksum(h) == 0xB861
    assert ipv4_checksum_ok(h[:10] + (0xB861).to_bytes(2, "big") + h[12:])


def test_random_headers_match_the_slow_sum_and_verify():
    rng = np.random.default_rng(5)
    for _ in range(2000):
        n = 20 + 4 * int(rng.integers(0, 11))
        h = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        c = ipv4_checksum(h)
        assert c == slow_checksum(bytes(h))
        h[10:12] = c.to_bytes(2, "big")
        assert ipv4_checksum_ok(h)
        h[int(rng.integers(0, n))] ^= 1 << int(rng.integers(0, 8))
        assert not ipv4_checksum_ok(h)


def test_all_ones_and_all_zero_headers():
    assert ipv4_checksum(b"\xff" * 20) == slow_checksum(b"\xff" * 20)
    assert ipv4_checksum(bytes(20)) == 0xFFFF


@pytest.mark.parametrize("bad", [b"", bytes(19), bytes(21)])
def test_short_or_odd_headers_are_rejected(bad):
    with pytest.raises(ValueError):
        ipv4_checksum(bad)
    assert not ipv4_checksum_ok(bad)
