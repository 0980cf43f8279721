# cython: language_level=3
"""Kernels of classic pcap I/O (see fastpath/wire/pcap.py for the format and the design).

``scan`` walks the 16-byte record headers of one read chunk and fills the per-frame arrays;
``build`` lays out record headers and (snaplen-cut) frame bytes of a write batch in one buffer.
Both trust the checks their Python callers make (array lengths, offsets inside the buffer) and
still never index outside the buffers they were given.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcpy

# scan status: why the walk stopped
cdef enum:
    MORE = 0            # the buffer ended (exactly at a record boundary, or inside a record)
    CAPLEN_ORIG = 1     # caplen > orig_len
    CAPLEN_LIMIT = 2    # caplen > the file's caplen limit
    FRACTION = 3        # sub-second field >= 1e6 (µs file) or 1e9 (ns file)
    FULL = 4            # the output arrays are full (size them buffer bytes // 16 + 1 and this never happens)

SCAN_MORE, SCAN_CAPLEN_ORIG, SCAN_CAPLEN_LIMIT, SCAN_FRACTION, SCAN_FULL = (MORE, CAPLEN_ORIG, CAPLEN_LIMIT,
                                                                         FRACTION, FULL)

cdef enum:
    RECORD_HEADER = 16


cdef inline uint32_t _get32(const uint8_t* p, bint big) noexcept nogil:
    # the compiler folds these shifts into one load (plus a bswap for the other byte order)
    if big:
        return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]
    return (<uint32_t>p[3] << 24) | (<uint32_t>p[2] << 16) | (<uint32_t>p[1] << 8) | p[0]


cdef inline void _put32le(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = v >> 24


cdef inline int _scan(const uint8_t* b, Py_ssize_t size, Py_ssize_t* ppos, Py_ssize_t* pn, Py_ssize_t cap,
                      bint big, int64_t frac_ns, uint32_t frac_max, uint32_t limit, int64_t base,
                      int64_t* start, uint32_t* caplen, uint32_t* orig_len, int64_t* ts_ns,
                      int64_t* file_offset) noexcept nogil:
    cdef Py_ssize_t pos = ppos[0]
    cdef Py_ssize_t n = pn[0]
    cdef uint32_t sec, frac, cl, ol
    cdef int status = MORE
    while n < cap and size - pos >= RECORD_HEADER:
        sec = _get32(b + pos, big)
        frac = _get32(b + pos + 4, big)
        cl = _get32(b + pos + 8, big)
        ol = _get32(b + pos + 12, big)
        # a record is judged as soon as its header is in: a bad caplen never makes us wait for (or allocate) data
        if cl > limit:
            status = CAPLEN_LIMIT
            break
        if cl > ol:
            status = CAPLEN_ORIG
            break
        if frac >= frac_max:
            status = FRACTION
            break
        if size - pos - RECORD_HEADER < cl:
            break
        start[n] = pos + RECORD_HEADER
        caplen[n] = cl
        orig_len[n] = ol
        ts_ns[n] = <int64_t>sec * 1000000000 + <int64_t>frac * frac_ns
        file_offset[n] = base + pos
        n += 1
        pos += RECORD_HEADER + cl
    if status == MORE and n == cap and size - pos >= RECORD_HEADER:
        status = FULL
    ppos[0] = pos
    pn[0] = n
    return status


def scan(const uint8_t[::1] buf, Py_ssize_t size, Py_ssize_t pos, Py_ssize_t n, bint big, bint nanosecond,
         uint32_t limit, int64_t base, int64_t[::1] start, uint32_t[::1] caplen, uint32_t[::1] orig_len,
         int64_t[::1] ts_ns, int64_t[::1] file_offset):
    """Walk the records of ``buf[:size]`` from byte ``pos`` (a record header), appending to the output
    arrays from entry ``n``; ``base`` is the file offset of buf[0]. Resumable: call again with the
    returned pos and n after more bytes have arrived in buf.

    Returns ``(n, pos, status, need)``: n entries filled in all, pos where the walk stopped (the
    header of the first record not returned), status one of SCAN_*, and need, for SCAN_MORE, how
    many bytes from pos make the next record whole (16 while its header is incomplete, 0 when the
    walk ended exactly at size).
    """
    cdef Py_ssize_t cap = start.shape[0]
    if not 0 <= size <= buf.shape[0] or not 0 <= pos <= size or not 0 <= n <= cap:
        raise ValueError(f"size {size}, pos {pos} or n {n} outside the buffer or the arrays")
    for a in (caplen.shape[0], orig_len.shape[0], ts_ns.shape[0], file_offset.shape[0]):
        if a < cap:
            raise ValueError("output arrays differ in length")
    if cap == 0:
        raise ValueError("output arrays are empty")
    if size == 0:
        return n, pos, MORE, 0
    cdef const uint8_t* b = &buf[0]
    cdef int64_t frac_ns = 1 if nanosecond else 1000
    cdef uint32_t frac_max = 1000000000 if nanosecond else 1000000
    cdef int status
    with nogil:
        # two calls with a constant byte order: the inlined loops are specialised per order
        if big:
            status = _scan(b, size, &pos, &n, cap, True, frac_ns, frac_max, limit, base,
                           &start[0], &caplen[0], &orig_len[0], &ts_ns[0], &file_offset[0])
        else:
            status = _scan(b, size, &pos, &n, cap, False, frac_ns, frac_max, limit, base,
                           &start[0], &caplen[0], &orig_len[0], &ts_ns[0], &file_offset[0])
    cdef Py_ssize_t need = 0
    if status == MORE and pos < size:
        need = RECORD_HEADER
        if size - pos >= RECORD_HEADER:
            need += _get32(b + pos + 8, big)
    return n, pos, status, need


def build(const uint8_t[::1] buf, const int64_t[::1] offsets, const int64_t[::1] ts_ns,
          const uint32_t[::1] orig_len, uint32_t snaplen, bint nanosecond, uint8_t[::1] out):
    """Write the little-endian records of frames ``buf[offsets[i]:offsets[i+1]]`` into ``out``.

    The caller has checked offsets (non-decreasing, inside buf), timestamps (0 <= ts < 2**32 s) and
    sized ``out`` to 16 * n + sum(min(length, snaplen)). Returns the bytes written, or -1 if the
    inputs broke those promises (nothing past ``out`` is ever touched).
    """
    cdef Py_ssize_t n = ts_ns.shape[0]
    cdef Py_ssize_t i, pos = 0, size = out.shape[0]
    cdef int64_t a, length, sec, rem
    cdef uint32_t cl
    if offsets.shape[0] != n + 1 or orig_len.shape[0] != n:
        raise ValueError("offsets must have n + 1 entries and orig_len n")
    if n == 0:
        return 0
    cdef const uint8_t* b = &buf[0] if buf.shape[0] else NULL
    cdef uint8_t* o = &out[0] if size else NULL
    cdef Py_ssize_t blen = buf.shape[0]
    with nogil:
        for i in range(n):
            a = offsets[i]
            length = offsets[i + 1] - a
            if a < 0 or length < 0 or a + length > blen or ts_ns[i] < 0:
                pos = -1
                break
            cl = <uint32_t>(length if length < snaplen else snaplen)
            if size - pos < RECORD_HEADER + <Py_ssize_t>cl:
                pos = -1
                break
            sec = ts_ns[i] // 1000000000
            rem = ts_ns[i] - sec * 1000000000
            _put32le(o + pos, <uint32_t>sec)
            _put32le(o + pos + 4, <uint32_t>(rem if nanosecond else rem // 1000))
            _put32le(o + pos + 8, cl)
            _put32le(o + pos + 12, orig_len[i])
            if cl:
                memcpy(o + pos + RECORD_HEADER, b + a, cl)
            pos += RECORD_HEADER + cl
    return pos
