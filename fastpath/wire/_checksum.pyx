# cython: language_level=3
"""Internet checksum (RFC 1071) over IPv4 headers, ahead-of-time compiled.

``ipv4_checksum(header)`` returns the value to store in the checksum field (computed with that
field taken as zero); ``ipv4_checksum_ok(header)`` is True when a header with its checksum in
place sums to 0xFFFF. Both take any bytes-like object; lengths must be even (IPv4 headers are
20..60 bytes, always a multiple of 4).
"""

from libc.stdint cimport uint8_t, uint32_t


cdef uint32_t _sum16(const uint8_t[:] b, Py_ssize_t skip) noexcept nogil:
    cdef uint32_t s = 0
    cdef Py_ssize_t i
    for i in range(0, b.shape[0] - 1, 2):
        if i != skip:
            s += (<uint32_t>b[i] << 8) | b[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ipv4_checksum(header) -> int:
    """Checksum for an IPv4 header (bytes 10-11 are ignored)."""
    cdef const uint8_t[:] b = memoryview(header).cast("B")
    if b.shape[0] < 20 or b.shape[0] % 2:
        raise ValueError(f"IPv4 header must be an even number of bytes >= 20, got {b.shape[0]}")
    return (~_sum16(b, 10)) & 0xFFFF


def ipv4_checksum_ok(header) -> bool:
    cdef const uint8_t[:] b = memoryview(header).cast("B")
    if b.shape[0] < 20 or b.shape[0] % 2:
        return False
    return _sum16(b, -1) == 0xFFFF
