"""Classic pcap files: stream frames in and out as arrays, at any file size, with one-line errors.

The format (libpcap 2.4, draft-ietf-opsawg-pcap). A 24-byte file header, then records::

    file header   magic u32 | version major u16 = 2 | minor u16 = 4 | thiszone i32 | sigfigs u32
                  | snaplen u32 | linktype u32
    record        ts_sec u32 | ts_frac u32 | caplen u32 | orig_len u32 | caplen bytes of the frame

Every field is in the writer's byte order, which the reader learns from the magic: a1b2c3d4 means
microsecond fractions, a1b23c4d nanoseconds; read the other way round (d4c3b2a1, 4d3cb2a1) they
say the file is in the opposite byte order. ``swapped`` is libpcap's flag (the file's order is
not this machine's); ``byteorder`` names the file's order. We write little-endian on every host.
Records have no alignment and no index, so the only way to frame n is to hop n - 1 headers.

Reading. ``PcapReader`` reads the file in chunks of ``chunk_bytes`` into a fresh numpy buffer and
hands each one out whole as a `FrameChunk`: frame i's bytes are ``buf[start[i]:start[i] +
caplen[i]]`` — views into the bytes as read, never a per-frame copy. The record-header walk over a
chunk is one cython loop (`_pcap.scan`) that fills start / caplen / orig_len / ts_ns / file_offset
into reused scratch arrays, copied out at their exact length; it is resumable, so a chunk is read
and scanned 1 MiB at a time while the bytes are still in cache. A record cut by the chunk end is
carried (copied once) to the front of the next chunk, and the next read is sized so the record
fits: a chunk buffer is max(chunk_bytes, one record) bytes, and the scratch twice that (32 bytes of
fields per 16-byte empty record, the worst case), so memory stays bounded whatever the file size.
A record is judged as soon as its header is in (caplen against orig_len and against max(snaplen,
262144), capped at 64 MiB), so a corrupt length fails at once instead of asking for gigabytes.
Timestamps become int64 ns since the epoch (µs scaled by 1000; u32 seconds reach 2106, well inside
int64); a sub-second field of a second or more is rejected as corruption (libpcap and wiretap pass
it through; here it is far likelier a misframed record). thiszone and sigfigs are ignored.

Writing. ``PcapWriter.write`` takes a batch the same shape: frames as slices of one uint8 buffer
given by int64 offsets, int64 ns timestamps, optional orig_len. Checks are vectorised numpy; then
`_pcap.build` lays every record header and (snaplen-cut) frame into one buffer in cython, and
that buffer goes to the file in one write. µs files truncate the ns timestamp toward the past.

Errors. A bad file raises `PcapError` (a ValueError) with one line:
``<path>: frame <k> at byte offset <off>: <what>`` (k numbered from 1, as Wireshark shows frames;
the ``frame`` attribute is the 0-based index, as `FrameChunk.first`), or
``<path>: file header: <what>`` at open. Frames before the problem are always yielded first; the
reader then stops. pcapng is recognised and refused with the editcap command that converts it.
Bad arguments to the writer raise ValueError naming the frame index.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from typing import BinaryIO, Iterator, NamedTuple

import numpy as np

from . import _pcap

TS_END_NS = (1 << 32) * 10**9
"""The first timestamp (ns since the epoch) a pcap cannot hold: its seconds are u32 (2106-02-07)."""
START_NS = 1_767_225_600 * 10**9
"""2026-01-01T00:00:00Z: the first packet's timestamp of a capture unless told otherwise."""


def last_stamp_ns(packets: int, pps: float, start_ns: int = START_NS) -> float:
    """A bound on the last frame's timestamp of a capture of ``packets`` sent at ``pps`` from
    ``start_ns``: the last packet's send time plus the 1 ns steps of its frames (a second's
    margin). At or past `TS_END_NS` the capture cannot be written."""
    return start_ns + max(packets - 1, 0) * (1e9 / pps) + 1e9

__all__ = ["LINKTYPE_ETHERNET", "FrameChunk", "PcapError", "PcapReader", "PcapWriter", "read_all"]

LINKTYPE_ETHERNET = 1

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
MAGIC_PCAPNG = b"\x0a\x0d\x0d\x0a"      # section header block type: the same in both byte orders
MAGIC_MODIFIED = 0xA1B2CD34             # Kuznetzov's patched libpcap (extended records)
FILE_HEADER = 24
RECORD_HEADER = 16
STANDARD_MAX_CAPLEN = 262144            # libpcap / wiretap maximum for Ethernet
ABSURD_CAPLEN = 1 << 26                 # 64 MiB: no snaplen makes a record this long believable
READ_SLICE = 1 << 20                    # a chunk is read and scanned in slices of this size, while in cache


class PcapError(ValueError):
    """A malformed or unsupported pcap file: one line saying where and what."""

    def __init__(self, path: str, frame: int | None, offset: int | None, what: str):
        self.path, self.frame, self.offset, self.what = path, frame, offset, what
        self.partial: FrameChunk | None = None      # read_all: the frames read before the error
        if frame is None:
            where = "file header"
        else:
            where = f"frame {frame + 1} at byte offset {offset}"  # numbered from 1, as Wireshark does
        super().__init__(f"{path}: {where}: {what}")

    def __reduce__(self):       # picklable (errors travel back from Dask workers)
        return PcapError, (self.path, self.frame, self.offset, self.what)


class FrameChunk(NamedTuple):
    """Frames of one chunk of a pcap file, as arrays over the chunk's raw bytes."""

    buf: np.ndarray          # uint8: the raw bytes of this chunk of the file (no per-frame copy)
    start: np.ndarray        # int64[n]: frame i's captured bytes are buf[start[i] : start[i] + caplen[i]]
    caplen: np.ndarray       # uint32[n]
    orig_len: np.ndarray     # uint32[n]
    ts_ns: np.ndarray        # int64[n]  (µs files scaled to ns)
    first: int               # frame number of frame 0 of this chunk (0-based over the file)
    file_offset: np.ndarray  # int64[n]: byte offset of each record header in the file

    def frame(self, i: int) -> np.ndarray:
        """Frame i's captured bytes (a view)."""
        s = int(self.start[i])
        return self.buf[s:s + int(self.caplen[i])]


def _open(target, mode: str) -> tuple[BinaryIO, bool, str]:
    """(file, whether we opened it, name for messages) for a path or a binary file object."""
    if isinstance(target, (str, os.PathLike)):
        return open(target, mode, buffering=0 if mode == "rb" else -1), True, os.fspath(target)
    if not (hasattr(target, "write") if mode == "wb" else hasattr(target, "readinto") or hasattr(target, "read")):
        raise TypeError(f"expected a path or a binary file object, got {type(target).__name__}")
    if isinstance(target, io.TextIOBase):
        raise TypeError("pcap needs a binary file object (open the file with 'rb' / 'wb')")
    return target, False, str(getattr(target, "name", "<stream>"))


def _read_into(f, out: np.ndarray) -> int:
    """Fill ``out`` from f until full or end of file; returns the bytes read."""
    mv = memoryview(out).cast("B")
    got = 0
    readinto = getattr(f, "readinto", None)
    while got < len(mv):
        if readinto is not None:
            k = readinto(mv[got:])
        else:
            data = f.read(len(mv) - got)
            k = len(data)
            mv[got:got + k] = data
        if not k:      # 0 at end of file; None (non-blocking, nothing yet) is treated the same
            break
        got += k
    return got


def _empty_chunk(first: int) -> FrameChunk:
    return FrameChunk(np.empty(0, np.uint8), np.empty(0, np.int64), np.empty(0, np.uint32),
                      np.empty(0, np.uint32), np.empty(0, np.int64), first, np.empty(0, np.int64))


class PcapReader:
    """Stream a classic pcap file as `FrameChunk`s of about ``chunk_bytes`` bytes each.
    ``reuse``: every chunk lives in the same buffers (no fresh pages per chunk, no copies of
    the arrays), so a chunk is valid only until the next one is read — for a consumer that is
    done with each chunk before asking for the next (`fastpath.wire.replay`)."""

    def __init__(self, src, *, chunk_bytes: int = 1 << 24, reuse: bool = False):
        if int(chunk_bytes) < 1:
            raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
        self._chunk_bytes = int(chunk_bytes)
        self._reuse = bool(reuse)
        self._buf = np.empty(0, np.uint8)
        self._file, self._owned, self.path = _open(src, "rb")
        self.frames = 0
        self._done = False
        try:
            self._read_file_header()
        except BaseException:
            self.close()
            raise
        self._limit = min(max(self.snaplen, STANDARD_MAX_CAPLEN), ABSURD_CAPLEN)
        self._scratch_cap = 0
        self._gen: Iterator[FrameChunk] | None = None

    def _read_file_header(self) -> None:
        head = np.empty(FILE_HEADER, np.uint8)
        head = head[:_read_into(self._file, head)].tobytes()
        if head[:4] == MAGIC_PCAPNG:
            raise PcapError(self.path, None, 0, "pcapng is not supported: convert with `editcap -F pcap IN OUT` "
                            "(`-F nsecpcap` keeps nanoseconds)")
        if len(head) < FILE_HEADER:
            raise PcapError(self.path, None, 0, f"only {len(head)} bytes, shorter than the 24-byte pcap file header")
        for order in "<>":
            magic = struct.unpack(order + "I", head[:4])[0]
            if magic in (MAGIC_US, MAGIC_NS, MAGIC_MODIFIED):
                break
        else:
            raise PcapError(self.path, None, 0, f"not a pcap file: magic bytes {head[:4].hex(' ')}, expected "
                            "a1 b2 c3 d4 (µs) or a1 b2 3c 4d (ns) in either byte order")
        if magic == MAGIC_MODIFIED:
            raise PcapError(self.path, None, 0, "modified (Kuznetzov) pcap is not supported: "
                            "convert with `editcap -F pcap IN OUT`")
        self.byteorder = "little" if order == "<" else "big"
        self.swapped = self.byteorder != sys.byteorder
        self.nanosecond = magic == MAGIC_NS
        major, minor, _zone, _sigfigs, self.snaplen, field = struct.unpack(order + "HHiIII", head[4:])
        if (major, minor) != (2, 4):
            raise PcapError(self.path, None, 4, f"unsupported pcap version {major}.{minor} (only 2.4 is supported)")
        self.linktype = field & 0xFFFF
        if self.linktype != LINKTYPE_ETHERNET:
            raise PcapError(self.path, None, 20, f"linktype {self.linktype} is not Ethernet (1); only Ethernet "
                            "is supported")
        if field != LINKTYPE_ETHERNET:
            raise PcapError(self.path, None, 20, f"linktype field 0x{field:08x} sets FCS or reserved bits; "
                            "only plain Ethernet (1) is supported")

    # -- context manager and iteration
    def __enter__(self) -> PcapReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._done = True
        if self._owned and not self._file.closed:
            self._file.close()

    def __iter__(self) -> Iterator[FrameChunk]:
        # one generator per reader: iterating again resumes where the last loop stopped (the carried
        # partial record and the file offsets live in it)
        if self._gen is None:
            self._gen = self._chunks()
        return self._gen

    def _scratch(self, cap: int) -> tuple[np.ndarray, ...]:
        if cap > self._scratch_cap:     # every record is >= 16 bytes: a buffer of b bytes holds <= b // 16
            self._scratch_cap = cap
            self._arrays = (np.empty(cap, np.int64), np.empty(cap, np.uint32), np.empty(cap, np.uint32),
                            np.empty(cap, np.int64), np.empty(cap, np.int64))
        return self._arrays

    def _chunks(self) -> Iterator[FrameChunk]:
        big = self.byteorder == "big"
        carry = np.empty(0, np.uint8)       # the incomplete record at the end of the last chunk
        base = FILE_HEADER                  # file offset of carry[0] (and of the next buffer)
        need = RECORD_HEADER                # bytes that would complete the record starting at base
        while not self._done:
            keep = len(carry)
            want = max(self._chunk_bytes, need)
            if not self._reuse or len(self._buf) < want:
                buf = np.empty(want, np.uint8)
                if self._reuse:
                    self._buf = buf
            else:
                buf = self._buf[:want]
            buf[:keep] = carry  # (numpy copies overlapping ranges as memmove does)
            arrays = self._scratch(len(buf) // RECORD_HEADER + 1)
            size, pos, n = keep, 0, 0
            while True:     # read in slices and scan each while it is still in cache
                stop = min(size + READ_SLICE, len(buf))
                got = _read_into(self._file, buf[size:stop])
                eof = size + got < stop
                size += got
                n, pos, status, need = _pcap.scan(buf, size, pos, n, big, self.nanosecond, self._limit, base,
                                                  *arrays)
                if status != _pcap.SCAN_MORE or eof or size == len(buf):
                    break
            if n:
                first = self.frames
                self.frames += n
                own = (lambda a: a[:n]) if self._reuse else (lambda a: a[:n].copy())
                yield FrameChunk(buf[:pos], *(own(a) for a in arrays[:4]), first, own(arrays[4]))
            if status == _pcap.SCAN_FULL or (not n and size == len(buf) and 0 < need <= size):
                raise AssertionError(f"pcap scan made no progress (status {status}, need {need}, size {size})")
            if status != _pcap.SCAN_MORE:
                self._done = True
                raise PcapError(self.path, self.frames, base + pos, self._describe(buf[pos:pos + RECORD_HEADER]))
            if eof:
                self._done = True
                left = size - pos
                if left:
                    raise PcapError(self.path, self.frames, base + pos, self._truncated(left, need))
                return
            carry = buf[pos:size]
            base += pos

    def _describe(self, header: np.ndarray) -> str:
        order = "<" if self.byteorder == "little" else ">"
        _sec, frac, caplen, orig_len = struct.unpack(order + "IIII", header.tobytes())
        if caplen > self._limit:
            if self._limit == ABSURD_CAPLEN:
                return f"caplen {caplen} is absurdly large (over 64 MiB); the file is corrupt"
            return f"caplen {caplen} exceeds the maximum {self._limit} (snaplen {self.snaplen}, standard 262144)"
        if caplen > orig_len:
            return f"caplen {caplen} > orig_len {orig_len}"
        unit, limit = ("ns", 10**9) if self.nanosecond else ("µs", 10**6)
        return f"timestamp fraction {frac} {unit} is not below {limit}; the file is corrupt"

    @staticmethod
    def _truncated(left: int, need: int) -> str:
        if left < RECORD_HEADER:
            return f"truncated record header: {left} of 16 bytes present ({RECORD_HEADER - left} missing)"
        have, caplen = left - RECORD_HEADER, need - RECORD_HEADER
        return f"truncated record data: caplen {caplen} but only {have} bytes present ({caplen - have} missing)"


def read_all(src) -> FrameChunk:
    """Every frame of a (small) file as one FrameChunk. On a bad file the PcapError carries the frames
    read before the problem as ``partial``."""
    if isinstance(src, (str, os.PathLike)):
        chunk_bytes = os.path.getsize(src) + 1      # one buffer, and the end of file is seen on the first pass
    else:
        chunk_bytes = 1 << 24
    chunks: list[FrameChunk] = []
    with PcapReader(src, chunk_bytes=chunk_bytes) as reader:
        try:
            chunks.extend(reader)
        except PcapError as e:
            e.partial = _concat(chunks)
            raise
    return _concat(chunks)


def _concat(chunks: list[FrameChunk]) -> FrameChunk:
    if not chunks:
        return _empty_chunk(0)
    if len(chunks) == 1:
        return chunks[0]
    shift = np.cumsum([0] + [len(c.buf) for c in chunks[:-1]])
    return FrameChunk(np.concatenate([c.buf for c in chunks]),
                      np.concatenate([c.start + s for c, s in zip(chunks, shift)]),
                      *(np.concatenate([getattr(c, k) for c in chunks]) for k in ("caplen", "orig_len", "ts_ns")),
                      chunks[0].first, np.concatenate([c.file_offset for c in chunks]))


class PcapWriter:
    """Write frames as a classic little-endian pcap file, one batch per `write` call."""

    def __init__(self, dest, *, nanosecond: bool = False, snaplen: int = STANDARD_MAX_CAPLEN,
                 linktype: int = LINKTYPE_ETHERNET):
        if not 1 <= int(snaplen) <= 0xFFFFFFFF:
            raise ValueError(f"snaplen must be 1..4294967295, got {snaplen}")
        if not 0 <= int(linktype) <= 0xFFFFFFFF:
            raise ValueError(f"linktype must fit 32 bits, got {linktype}")
        self.nanosecond, self.snaplen, self.linktype = bool(nanosecond), int(snaplen), int(linktype)
        self._file, self._owned, self.path = _open(dest, "wb")
        self.frames = 0
        self.bytes = 0          # bytes written to the file, its 24-byte header included
        magic = MAGIC_NS if self.nanosecond else MAGIC_US
        self._put(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, self.snaplen, self.linktype))

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._file is None:
            return
        if self._owned:
            self._file.close()
        elif hasattr(self._file, "flush"):
            self._file.flush()
        self._file = None

    def _put(self, data) -> None:
        mv = memoryview(data).cast("B")
        while mv:
            k = self._file.write(mv)
            if not k:
                raise OSError(f"{self.path}: write made no progress")
            mv = mv[k:]
        self.bytes += len(data)

    def write(self, buf: np.ndarray, offsets: np.ndarray, ts_ns: np.ndarray,
              orig_len: np.ndarray | None = None) -> None:
        """Frames i = buf[offsets[i]:offsets[i+1]] (buf uint8, offsets int64[n+1]), timestamps int64 ns since the
        epoch. orig_len (uint32[n]) defaults to the frame lengths; frames longer than snaplen are cut to snaplen
        (orig_len kept). The batch is checked whole before anything is written."""
        if self._file is None:
            raise ValueError(f"{self.path}: write to a closed PcapWriter")
        buf = np.ascontiguousarray(buf)
        if buf.dtype != np.uint8 or buf.ndim != 1:
            raise ValueError(f"buf must be a 1-d uint8 array, got {buf.dtype}[{buf.shape}]")
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        ts_ns = np.ascontiguousarray(ts_ns, dtype=np.int64)
        n = len(offsets) - 1
        if offsets.ndim != 1 or n < 0 or ts_ns.shape != (n,):
            raise ValueError(f"offsets must be int64[n + 1] and ts_ns int64[n]; got {offsets.shape} and {ts_ns.shape}")
        if n == 0:
            return
        length = np.diff(offsets)
        _first_bad(length < 0, "offsets go backwards: offsets[{i} + 1] < offsets[{i}]")
        if offsets[0] < 0 or offsets[-1] > len(buf):
            raise ValueError(f"offsets run {offsets[0]}..{offsets[-1]}, outside buf of {len(buf)} bytes")
        _first_bad(ts_ns < 0, "frame {i}: timestamp {v} ns is before 1970 (pcap seconds are unsigned)", ts_ns)
        _first_bad(ts_ns >= TS_END_NS, "frame {i}: timestamp {v} ns is past 2106 (pcap seconds are u32)", ts_ns)
        if orig_len is None:
            _first_bad(length > 0xFFFFFFFF, "frame {i}: length {v} does not fit pcap's u32", length)
            orig = length.astype(np.uint32)
        else:
            orig = np.asarray(orig_len)
            if orig.shape != (n,):
                raise ValueError(f"orig_len must have n = {n} entries, got shape {orig.shape}")
            o64 = orig.astype(np.int64)
            _first_bad((o64 < 0) | (o64 > 0xFFFFFFFF), "frame {i}: orig_len {v} does not fit pcap's u32", o64)
            _first_bad(o64 < length, "frame {i}: orig_len {v} is shorter than the frame's bytes", o64)
            orig = np.ascontiguousarray(orig, dtype=np.uint32)
        total = RECORD_HEADER * n + int(np.minimum(length, self.snaplen).sum())
        out = np.empty(total, np.uint8)
        done = _pcap.build(buf, offsets, ts_ns, orig, self.snaplen, self.nanosecond, out)
        if done != total:
            raise AssertionError(f"pcap record builder wrote {done} of {total} bytes")
        self._put(out)
        self.frames += n


def _first_bad(bad: np.ndarray, message: str, values: np.ndarray | None = None) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(message.format(i=i, v=None if values is None else values[i]))
