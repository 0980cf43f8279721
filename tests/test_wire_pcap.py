"""Classic pcap I/O: round trips at every chunk size, both byte orders, independent readers and writers
(scapy, tshark, capinfos), every truncation point, corrupt records, and fuzzing against a slow reader."""

import io
import pickle
import os
import shutil
import struct
import subprocess
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastpath.wire.pcap import FrameChunk, PcapError, PcapReader, PcapWriter, read_all



@pytest.fixture(scope="module")
def wireshark(tshark):
    """Paths of the Debian tshark package's tools (tshark, capinfos, editcap): the real ones."""
    d = os.path.dirname(tshark)
    tools = {name: shutil.which(name) or os.path.join(d, name) for name in ("tshark", "capinfos", "editcap")}
    for name, path in tools.items():
        assert os.access(path, os.X_OK), f"{name} is missing beside {tshark}"
    return tools


CHUNK_SIZES = (1, 7, 64, 100, 1000, 1 << 16, 1 << 24)
MAX_TS = (1 << 32) * 10**9 - 1


# -- helpers ----------------------------------------------------------------------------------------------------

def random_batch(rng, n, max_len=9000, ts_lo=0, ts_hi=MAX_TS):
    lens = rng.integers(0, max_len + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum(lens)
    buf = rng.integers(0, 256, int(offsets[-1]), dtype=np.uint8)
    ts = rng.integers(ts_lo, ts_hi, n, dtype=np.int64, endpoint=True)
    return buf, offsets, ts


def frames(buf, offsets):
    return [buf[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]


def read_chunks(src, chunk_bytes):
    """All chunks and the PcapError that ended the read (or None)."""
    chunks = []
    try:
        with PcapReader(src, chunk_bytes=chunk_bytes) as r:
            for c in r:
                chunks.append(c)
    except PcapError as e:
        return chunks, e
    return chunks, None


def flatten(chunks):
    """[(frame no, bytes, caplen, orig_len, ts_ns, file_offset)] over chunks, checking each chunk's invariants."""
    out = []
    for c in chunks:
        assert isinstance(c, FrameChunk)
        n = len(c.start)
        assert n > 0 and c.buf.dtype == np.uint8
        assert c.start.dtype == np.int64 and c.caplen.dtype == np.uint32 and c.orig_len.dtype == np.uint32
        assert c.ts_ns.dtype == np.int64 and c.file_offset.dtype == np.int64
        assert len(c.caplen) == len(c.orig_len) == len(c.ts_ns) == len(c.file_offset) == n
        assert (c.start >= 16).all() and (c.start + c.caplen <= len(c.buf)).all()
        assert (c.caplen <= c.orig_len).all()
        assert c.first == (out[-1][0] + 1 if out else 0)
        for i in range(n):
            s, k = int(c.start[i]), int(c.caplen[i])
            out.append((c.first + i, c.buf[s:s + k].tobytes(), k, int(c.orig_len[i]), int(c.ts_ns[i]),
                        int(c.file_offset[i])))
    return out


def write_file(path, buf, offsets, ts, **kw):
    with PcapWriter(path, **kw) as w:
        w.write(buf, offsets, ts)
    return w


def hand_file(order, nano, records, snaplen=262144, linktype=1, version=(2, 4)):
    """A pcap file built with struct: records are (sec, frac, caplen, orig_len, data)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, *version, 0, 0, snaplen, linktype)]
    for sec, frac, caplen, orig_len, data in records:
        out.append(struct.pack(order + "IIII", sec, frac, caplen, orig_len) + data)
    return b"".join(out)


def slow_read(data: bytes):
    """Obvious reference reader: (records, error) with records [(bytes, caplen, orig, ts_ns, offset)] and error
    None or (frame, offset, kind). Mirrors the rules in fastpath.wire.pcap's docstring."""
    magic_le = struct.unpack("<I", data[:4])[0]
    order = "<" if magic_le in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    magic, _, _, _, _, snaplen, _ = struct.unpack(order + "IHHiIII", data[:24])
    nano = magic == 0xA1B23C4D
    limit = min(max(snaplen, 262144), 1 << 26)
    records, pos = [], 24
    while pos < len(data):
        k = len(records)
        if len(data) - pos < 16:
            return records, (k, pos, "truncated record header")
        sec, frac, caplen, orig = struct.unpack(order + "IIII", data[pos:pos + 16])
        if caplen > limit or caplen > orig or frac >= (10**9 if nano else 10**6):
            return records, (k, pos, "bad")
        if len(data) - pos - 16 < caplen:
            return records, (k, pos, "truncated record data")
        ts = sec * 10**9 + frac * (1 if nano else 1000)
        records.append((data[pos + 16:pos + 16 + caplen], caplen, orig, ts, pos))
        pos += 16 + caplen
    return records, None


class Trickle(io.RawIOBase):
    """A non-seekable binary stream that hands out at most `step` bytes per read (like a pipe)."""

    def __init__(self, data, step):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.step, len(self.data) - self.pos)
        b[:k] = self.data[self.pos:self.pos + k]
        self.pos += k
        return k


# -- round trips ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nano", [False, True])
def test_round_trip_random_frames_every_chunk_size(tmp_path, nano):
    rng = np.random.default_rng(11 + nano)
    buf, offsets, ts = random_batch(rng, 300)
    path = tmp_path / "f.pcap"
    with PcapWriter(path, nanosecond=nano) as w:
        cuts = np.sort(rng.choice(np.arange(1, 300), 5, replace=False))
        for a, b in zip([0, *cuts], [*cuts, 300]):      # several batches, one of them maybe small
            w.write(buf, offsets[a:b + 1], ts[a:b])
    assert w.frames == 300 and w.bytes == path.stat().st_size == 24 + 16 * 300 + len(buf)
    want_ts = ts if nano else ts // 1000 * 1000
    lens = np.diff(offsets)
    want_off = 24 + 16 * np.arange(300) + offsets[:-1]
    results = []
    for cb in CHUNK_SIZES:
        chunks, err = read_chunks(path, cb)
        assert err is None
        got = flatten(chunks)
        assert [g[1] for g in got] == frames(buf, offsets)
        assert [g[2] for g in got] == [g[3] for g in got] == lens.tolist()
        assert [g[4] for g in got] == want_ts.tolist()
        assert [g[5] for g in got] == want_off.tolist()
        # memory bound: no chunk buffer bigger than max(chunk_bytes, one record)
        assert max(len(c.buf) for c in chunks) <= max(cb, 16 + int(lens.max()))
        results.append(got)
    assert all(r == results[0] for r in results)
    assert len(read_chunks(path, 64)[0]) > 100        # tiny chunks really did split the file


@pytest.mark.parametrize("nano", [False, True])
def test_a_reader_reusing_its_buffers_yields_the_same_frames(tmp_path, nano):
    """reuse=True: each chunk consumed before the next gives what the copying reader gives,
    for chunk sizes that split records; one buffer serves a file whose records fit a chunk."""
    rng = np.random.default_rng(21 + nano)
    buf, offsets, ts = random_batch(rng, 400)
    path = tmp_path / "f.pcap"
    with PcapWriter(path, nanosecond=nano) as w:
        w.write(buf, offsets, ts)
    want = flatten(read_chunks(path, 1 << 20)[0])
    for cb in (64, 100, 1000, 5000, 1 << 16):
        got, bufs = [], set()
        with PcapReader(path, chunk_bytes=cb, reuse=True) as r:
            for c in r:
                got += [(c.first + i, c.frame(i).tobytes(), int(c.caplen[i]), int(c.orig_len[i]), int(c.ts_ns[i]),
                         int(c.file_offset[i])) for i in range(len(c.start))]  # consumed before the next chunk
                bufs.add(c.buf.base.ctypes.data if c.buf.base is not None else c.buf.ctypes.data)
        assert [g[1:] for g in got] == [g[1:] for g in want], cb
        if cb >= 16 + int(np.diff(offsets).max()):
            assert len(bufs) == 1  # one buffer for the whole file (smaller chunks grow it for big records)


def test_reader_attributes_and_frames_count(tmp_path):
    rng = np.random.default_rng(3)
    buf, offsets, ts = random_batch(rng, 50, max_len=100)
    write_file(tmp_path / "f.pcap", buf, offsets, ts, nanosecond=True, snaplen=5000)
    with PcapReader(tmp_path / "f.pcap", chunk_bytes=500) as r:
        assert (r.nanosecond, r.snaplen, r.linktype, r.byteorder) == (True, 5000, 1, "little")
        seen = 0
        for c in r:
            seen += len(c.start)
            assert r.frames == seen
    assert seen == 50


def test_file_objects_and_short_reads_match_paths(tmp_path):
    rng = np.random.default_rng(4)
    buf, offsets, ts = random_batch(rng, 80, max_len=3000)
    sink = io.BytesIO()
    write_file(sink, buf, offsets, ts, nanosecond=True)
    assert not sink.closed          # the caller's file object stays open
    (tmp_path / "f.pcap").write_bytes(sink.getvalue())
    want = flatten(read_chunks(tmp_path / "f.pcap", 1 << 16)[0])
    assert [g[1] for g in want] == frames(buf, offsets)
    for step in (1, 5, 333):
        for cb in (64, 4096):
            chunks, err = read_chunks(Trickle(sink.getvalue(), step), cb)
            assert err is None and flatten(chunks) == want
    assert flatten([read_all(io.BytesIO(sink.getvalue()))]) == want
    assert flatten([read_all(tmp_path / "f.pcap")]) == want


def test_read_all_merges_chunks_and_empty_file(tmp_path):
    rng = np.random.default_rng(5)
    buf, offsets, ts = random_batch(rng, 40, max_len=2000)
    data = io.BytesIO()
    write_file(data, buf, offsets, ts)
    one = read_all(io.BytesIO(data.getvalue()))
    assert [one.frame(i).tobytes() for i in range(40)] == frames(buf, offsets)
    write_file(tmp_path / "empty.pcap", buf, offsets[:1], ts[:0])
    empty = read_all(tmp_path / "empty.pcap")
    assert len(empty.start) == 0 and len(empty.buf) == 0
    assert read_chunks(tmp_path / "empty.pcap", 64) == ([], None)


@pytest.mark.parametrize("nano", [False, True])
def test_big_endian_files_read_like_little_endian(nano):
    rng = np.random.default_rng(6 + nano)
    records = []
    for _ in range(60):
        data = rng.integers(0, 256, int(rng.integers(0, 1500)), dtype=np.uint8).tobytes()
        orig = len(data) + int(rng.integers(0, 3)) * 100            # some snaplen-cut records
        records.append((int(rng.integers(0, 1 << 32)), int(rng.integers(0, 10**9 if nano else 10**6)),
                        len(data), orig, data))
    little, big = hand_file("<", nano, records), hand_file(">", nano, records)
    assert little != big
    for cb in (16, 100, 1 << 20):
        (lc, le), (bc, be) = read_chunks(io.BytesIO(little), cb), read_chunks(io.BytesIO(big), cb)
        assert le is None and be is None
        got = flatten(bc)
        assert got == flatten(lc)
        assert [(g[1], g[2], g[3]) for g in got] == [(r[4], r[2], r[3]) for r in records]
        assert [g[4] for g in got] == [r[0] * 10**9 + r[1] * (1 if nano else 1000) for r in records]
    with PcapReader(io.BytesIO(big)) as r:
        assert r.byteorder == "big" and r.swapped == (r.byteorder != __import__("sys").byteorder)
        assert r.nanosecond == nano


# -- independent tools ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nano", [False, True])
def test_scapy_reads_our_files(tmp_path, nano):
    import scapy.utils as scapy_utils
    rng = np.random.default_rng(21 + nano)
    buf, offsets, ts = random_batch(rng, 120)
    write_file(tmp_path / "f.pcap", buf, offsets, ts, nanosecond=nano)
    pkts = scapy_utils.rdpcap(str(tmp_path / "f.pcap"))
    assert len(pkts) == 120
    assert [bytes(p.original) for p in pkts] == frames(buf, offsets)
    assert [p.wirelen for p in pkts] == np.diff(offsets).tolist()
    scale = 1 if nano else 1000
    assert [int(Decimal(p.time) * 10**9) for p in pkts] == (ts // scale * scale).tolist()


@pytest.mark.parametrize("nano", [False, True])
def test_we_read_scapy_files_byte_for_byte(tmp_path, nano):
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    rng = np.random.default_rng(31 + nano)
    pkts, want_ts = [], []
    for i in range(80):
        payload = rng.integers(0, 256, int(rng.integers(0, 9000)), dtype=np.uint8).tobytes()
        p = Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02", type=0x88B5) / Raw(payload)
        unit = 1 if nano else 1000
        sec, ns = int(rng.integers(0, 1 << 32)), int(rng.integers(0, 10**9)) // unit * unit
        p.time = Decimal(sec) + Decimal(ns) / Decimal(10**9)      # exact in the file's unit: scapy need not round
        pkts.append(p)
        want_ts.append(sec * 10**9 + ns)
    wrpcap(str(tmp_path / "s.pcap"), pkts, nano=nano)
    for cb in (64, 1 << 20):
        chunks, err = read_chunks(tmp_path / "s.pcap", cb)
        assert err is None
        got = flatten(chunks)
        assert [g[1] for g in got] == [bytes(p) for p in pkts]
        assert [g[3] for g in got] == [len(p) for p in pkts]
        assert [g[4] for g in got] == want_ts


def tshark_fields(path, wireshark):
    out = subprocess.run([wireshark["tshark"], "-r", str(path), "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len",
                          "-e", "frame.time_epoch"], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines() if line]
    return [(int(a), int(b), int(Decimal(t) * 10**9)) for a, b, t in rows]


@pytest.mark.parametrize("nano", [False, True])
def test_tshark_reads_our_files(tmp_path, nano, wireshark):
    rng = np.random.default_rng(41 + nano)
    buf, offsets, ts = random_batch(rng, 150)
    write_file(tmp_path / "f.pcap", buf, offsets, ts, nanosecond=nano)
    lens = np.diff(offsets).tolist()
    scale = 1 if nano else 1000
    assert tshark_fields(tmp_path / "f.pcap", wireshark) == list(zip(lens, lens, (ts // scale * scale).tolist()))


@pytest.mark.parametrize("nano", [False, True])
def test_capinfos_summary_of_our_files(tmp_path, nano, wireshark):
    rng = np.random.default_rng(51 + nano)
    buf, offsets, ts = random_batch(rng, 70, ts_lo=1_600_000_000 * 10**9, ts_hi=1_700_000_000 * 10**9)
    ts.sort()
    write_file(tmp_path / "f.pcap", buf, offsets, ts, nanosecond=nano)
    out = subprocess.run([wireshark["capinfos"], "-M", "-T", "-t", "-c", "-d", "-a", "-e", "-S", str(tmp_path / "f.pcap")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    info = dict(zip(out[0].split("\t"), out[1].split("\t")))
    assert info["File type"] == ("nsecpcap" if nano else "pcap")
    assert int(info["Number of packets"]) == 70
    assert int(info["Data size (bytes)"]) == len(buf)
    scale = 1 if nano else 1000
    assert int(Decimal(info["Start time"]) * 10**9) == ts[0] // scale * scale
    assert int(Decimal(info["End time"]) * 10**9) == ts[-1] // scale * scale


def test_snaplen_cuts_frames_and_keeps_orig_len(tmp_path, wireshark):
    rng = np.random.default_rng(61)
    buf, offsets, ts = random_batch(rng, 100, max_len=200)
    w = write_file(tmp_path / "f.pcap", buf, offsets, ts, snaplen=64, nanosecond=True)
    lens = np.diff(offsets)
    cap = np.minimum(lens, 64)
    assert w.bytes == 24 + 16 * 100 + int(cap.sum())
    assert (lens > 64).sum() > 30
    got = flatten(read_chunks(tmp_path / "f.pcap", 100)[0])
    assert [g[1] for g in got] == [f[:64] for f in frames(buf, offsets)]
    assert [(g[2], g[3]) for g in got] == list(zip(cap.tolist(), lens.tolist()))
    with PcapReader(tmp_path / "f.pcap") as r:
        assert r.snaplen == 64
    assert tshark_fields(tmp_path / "f.pcap", wireshark) == list(zip(lens.tolist(), cap.tolist(), ts.tolist()))


def test_explicit_orig_len_is_written(tmp_path):
    buf = np.arange(30, dtype=np.uint8)
    offsets = np.array([0, 10, 30], np.int64)
    one = read_all(_written(buf, offsets, np.array([5, 6]), orig_len=np.array([1500, 20], np.uint32)))
    assert one.orig_len.tolist() == [1500, 20] and one.caplen.tolist() == [10, 20]
    assert one.ts_ns.tolist() == [0, 0]     # 5 and 6 ns truncate to 0 µs


def _written(buf, offsets, ts, orig_len=None, **kw):
    f = io.BytesIO()
    with PcapWriter(f, **kw) as w:
        w.write(buf, offsets, ts, orig_len)
    return io.BytesIO(f.getvalue())


# -- bad input --------------------------------------------------------------------------------------------------

SMALL_LENS = [0, 1, 60, 17, 100, 5]


def small_file():
    rng = np.random.default_rng(71)
    offsets = np.zeros(len(SMALL_LENS) + 1, np.int64)
    offsets[1:] = np.cumsum(SMALL_LENS)
    buf = rng.integers(0, 256, int(offsets[-1]), dtype=np.uint8)
    ts = np.arange(len(SMALL_LENS), dtype=np.int64) * 1_000_000_007
    f = io.BytesIO()
    write_file(f, buf, offsets, ts, nanosecond=True)
    return f.getvalue(), frames(buf, offsets)


def test_every_truncation_point_of_a_small_file():
    data, want = small_file()
    bounds = [24]
    for n in SMALL_LENS:
        bounds.append(bounds[-1] + 16 + n)
    assert bounds[-1] == len(data)
    for cut in range(len(data) + 1):
        src = data[:cut]
        if cut < 24:
            with pytest.raises(PcapError) as e:
                PcapReader(io.BytesIO(src))
            assert str(e.value) == f"<stream>: file header: only {cut} bytes, shorter than the 24-byte pcap file header"
            continue
        k = max(i for i, b in enumerate(bounds) if b <= cut)       # complete frames before the cut
        for cb in (1, 7, 64, 4096):
            chunks, err = read_chunks(io.BytesIO(src), cb)
            assert [g[1] for g in flatten(chunks)] == want[:k]
            if cut == bounds[k]:
                assert err is None
                continue
            assert (err.frame, err.offset) == (k, bounds[k])
            present = cut - bounds[k]
            prefix = f"<stream>: frame {k + 1} at byte offset {bounds[k]}: "
            if present < 16:
                assert str(err) == prefix + f"truncated record header: {present} of 16 bytes present " \
                                            f"({16 - present} missing)"
            else:
                have = present - 16
                assert str(err) == prefix + f"truncated record data: caplen {SMALL_LENS[k]} but only {have} " \
                                            f"bytes present ({SMALL_LENS[k] - have} missing)"


def test_truncated_file_on_disk_names_the_path(tmp_path):
    data, want = small_file()
    (tmp_path / "cut.pcap").write_bytes(data[:-3])
    with pytest.raises(PcapError) as e:
        read_all(tmp_path / "cut.pcap")
    assert str(e.value).startswith(f"{tmp_path / 'cut.pcap'}: frame 6 at byte offset ")
    assert str(e.value).endswith("(3 missing)")
    assert [e.value.partial.frame(i).tobytes() for i in range(5)] == want[:5]
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("head, message", [
    (b"", "only 0 bytes, shorter than the 24-byte pcap file header"),
    (bytes(range(24)), "not a pcap file: magic bytes 00 01 02 03, expected a1 b2 c3 d4 (µs) or a1 b2 3c 4d (ns) in "
                       "either byte order"),
    (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng is not supported: convert with `editcap -F pcap IN OUT` "
                                      "(`-F nsecpcap` keeps nanoseconds)"),
    (b"\x0a\x0d\x0d\x0a", "pcapng is not supported: convert with `editcap -F pcap IN OUT` "
                          "(`-F nsecpcap` keeps nanoseconds)"),
    (struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1), "modified (Kuznetzov) pcap is not supported: "
                                                               "convert with `editcap -F pcap IN OUT`"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 3, 0, 0, 65535, 1), "unsupported pcap version 2.3 (only 2.4 is supported)"),
    (struct.pack(">IHHiIII", 0xA1B23C4D, 1, 0, 0, 0, 65535, 1), "unsupported pcap version 1.0 (only 2.4 is supported)"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105), "linktype 105 is not Ethernet (1); only Ethernet "
                                                                 "is supported"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 0x14000001), "linktype field 0x14000001 sets FCS or "
                                                                        "reserved bits; only plain Ethernet (1) is "
                                                                        "supported"),
])
def test_bad_file_headers(head, message):
    with pytest.raises(PcapError) as e:
        PcapReader(io.BytesIO(head))
    assert str(e.value) == f"<stream>: file header: {message}"
    assert e.value.frame is None


def test_real_pcapng_is_refused_with_the_conversion(tmp_path, wireshark):
    data, _ = small_file()
    (tmp_path / "f.pcap").write_bytes(data)
    subprocess.run([wireshark["editcap"], "-F", "pcapng", str(tmp_path / "f.pcap"), str(tmp_path / "f.pcapng")], check=True,
                   capture_output=True)
    with pytest.raises(PcapError, match=r"f\.pcapng: file header: pcapng is not supported: convert with `editcap"):
        PcapReader(tmp_path / "f.pcapng")


def good_records(n):
    return [(1000 + i, 5, 8, 8, bytes([i]) * 8) for i in range(n)]


@pytest.mark.parametrize("bad, snaplen, nano, what", [
    ((7, 0, 100, 60, bytes(100)), 65535, False, "caplen 100 > orig_len 60"),
    ((7, 0, 61, 60, bytes(61)), 65535, True, "caplen 61 > orig_len 60"),
    ((7, 0, 300000, 300000, b""), 65535, False, "caplen 300000 exceeds the maximum 262144 (snaplen 65535, "
                                                "standard 262144)"),
    ((7, 0, 500001, 600000, b""), 500000, True, "caplen 500001 exceeds the maximum 500000 (snaplen 500000, "
                                                "standard 262144)"),
    ((7, 0, 0xFFFFFFF0, 0xFFFFFFF0, b""), 0xFFFFFFFF, False, "caplen 4294967280 is absurdly large (over 64 MiB); "
                                                             "the file is corrupt"),
    ((7, 10**6, 4, 4, bytes(4)), 65535, False, "timestamp fraction 1000000 µs is not below 1000000; the file is "
                                               "corrupt"),
    ((7, 10**9, 4, 4, bytes(4)), 65535, True, "timestamp fraction 1000000000 ns is not below 1000000000; the file "
                                              "is corrupt"),
])
@pytest.mark.parametrize("order", ["<", ">"])
def test_corrupt_record_after_good_ones(bad, snaplen, nano, what, order):
    records = good_records(3) + [bad] + good_records(2)
    data = hand_file(order, nano, records, snaplen=snaplen)
    for cb in (1, 30, 1 << 20):
        chunks, err = read_chunks(io.BytesIO(data), cb)
        assert [g[1] for g in flatten(chunks)] == [r[4] for r in records[:3]]
        assert str(err) == f"<stream>: frame 4 at byte offset {24 + 3 * 24}: {what}"
        assert max((len(c.buf) for c in chunks), default=0) <= max(cb, 24)   # the huge caplen was never read


def test_caplen_up_to_a_large_snaplen_and_snaplen_cut_records_are_fine():
    big = bytes(range(256)) * 1200            # 307200 bytes: over 262144, under snaplen 400000
    records = [(1, 2, len(big), len(big), big), (3, 4, 10, 1500, bytes(10)), (5, 6, 0, 0, b"")]
    data = hand_file("<", False, records, snaplen=400000)
    for cb in (64, 1 << 20):
        chunks, err = read_chunks(io.BytesIO(data), cb)
        assert err is None
        got = flatten(chunks)
        assert [(g[1], g[2], g[3], g[4]) for g in got] == [(r[4], r[2], r[3], r[0] * 10**9 + r[1] * 1000)
                                                           for r in records]


def test_reader_stops_after_an_error():
    data, _ = small_file()
    with PcapReader(io.BytesIO(data[:-1]), chunk_bytes=64) as r:
        it = iter(r)
        n = 0
        with pytest.raises(PcapError):
            for c in it:
                n += len(c.start)
        assert n == 5 and r.frames == 5
        assert list(it) == [] and list(r) == []


def test_iterating_again_resumes_where_the_last_loop_stopped():
    data, want = small_file()
    with PcapReader(io.BytesIO(data), chunk_bytes=40) as r:    # records straddle the 40-byte chunks
        got = []
        for c in r:
            got.append(c)
            break
        got.extend(r)
    assert [g[1] for g in flatten(got)] == want
    assert [g[5] for g in flatten(got)] == [g[5] for g in flatten(read_chunks(io.BytesIO(data), 1 << 20)[0])]


def test_pcap_error_pickles():
    e = PcapError("x.pcap", 3, 120, "caplen 100 > orig_len 60")
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) == "x.pcap: frame 4 at byte offset 120: caplen 100 > orig_len 60"
    assert (back.frame, back.offset) == (3, 120) and isinstance(back, ValueError)


# -- writer arguments -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, kw, match", [
    ((np.zeros(10, np.uint8), [0, 5, 3], [0, 0]), {}, r"offsets go backwards: offsets\[1 \+ 1\] < offsets\[1\]"),
    ((np.zeros(10, np.uint8), [0, 5, 11], [0, 0]), {}, r"offsets run 0\.\.11, outside buf of 10 bytes"),
    ((np.zeros(10, np.uint8), [-1, 5], [0]), {}, r"offsets run -1\.\.5"),
    ((np.zeros(10, np.uint8), [0, 5, 10], [0, -1]), {}, r"frame 1: timestamp -1 ns is before 1970"),
    ((np.zeros(10, np.uint8), [0, 5, 10], [1 << 62, 0]), {}, r"frame 0: timestamp \d+ ns is past 2106"),
    ((np.zeros(10, np.uint8), [0, 5, 10], [0]), {}, r"offsets must be int64\[n \+ 1\] and ts_ns int64\[n\]"),
    ((np.zeros(10, np.uint8), [0, 5, 10], [0, 0], [5, 4]), {}, r"frame 1: orig_len 4 is shorter than the frame"),
    ((np.zeros(10, np.uint8), [0, 5, 10], [0, 0], [5]), {}, r"orig_len must have n = 2 entries"),
    ((np.zeros(10, np.uint16), [0, 5, 10], [0, 0]), {}, r"buf must be a 1-d uint8 array"),
])
def test_writer_rejects_bad_batches(args, kw, match):
    f = io.BytesIO()
    with PcapWriter(f, **kw) as w:
        with pytest.raises(ValueError, match=match):
            w.write(*args)
    assert len(f.getvalue()) == 24 and w.frames == 0      # nothing of a rejected batch is written


def test_writer_argument_errors():
    with pytest.raises(ValueError, match="snaplen must be"):
        PcapWriter(io.BytesIO(), snaplen=0)
    w = PcapWriter(io.BytesIO())
    w.close()
    with pytest.raises(ValueError, match="closed PcapWriter"):
        w.write(np.zeros(1, np.uint8), [0, 1], [0])
    with pytest.raises(ValueError, match="chunk_bytes must be >= 1"):
        PcapReader(io.BytesIO(small_file()[0]), chunk_bytes=0)


# -- fuzz -------------------------------------------------------------------------------------------------------

header_st = st.builds(lambda order, nano, snaplen: struct.pack(order + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4,
                                                                   2, 4, 0, 0, snaplen, 1),
                      st.sampled_from("<>"), st.booleans(), st.sampled_from([0, 64, 65535, 262144, 0xFFFFFFFF]))


def record_st(order):
    """Records that are mostly valid (orig_len sometimes 1 or 2 short), with small lengths so that several fit."""
    return st.builds(lambda sec, frac, caplen, extra, data: struct.pack(order + "IIII", sec, frac, caplen,
                                                                        max(caplen + extra, 0)) + data[:caplen],
                     st.integers(0, 2**32 - 1), st.integers(0, 10**6 - 1), st.integers(0, 40), st.integers(-2, 9),
                     st.binary(min_size=40, max_size=40))


@st.composite
def near_valid_files(draw):
    head = draw(header_st)
    order = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    body = b"".join(draw(st.lists(record_st(order), max_size=8)))
    if draw(st.booleans()):         # damage: overwrite some bytes and/or cut the tail
        pos = draw(st.integers(0, len(body)))
        body = body[:pos] + draw(st.binary(max_size=20)) + body[pos + draw(st.integers(0, 20)):]
    return head + body


def check_against_slow_reader(data, chunk_bytes):
    chunks, err = read_chunks(io.BytesIO(data), chunk_bytes)
    got = flatten(chunks)
    want, want_err = slow_read(data)
    assert [g[1:] for g in got] == want
    if want_err is None:
        assert err is None
    else:
        assert (err.frame, err.offset) == want_err[:2]
        assert str(err).startswith(f"<stream>: frame {want_err[0] + 1} at byte offset {want_err[1]}: ")
        if want_err[2] != "bad":
            assert want_err[2] in str(err)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=header_st, tail=st.binary(max_size=400), chunk_bytes=st.sampled_from([1, 5, 16, 17, 64, 1 << 20]))
def test_fuzz_arbitrary_bytes_after_a_valid_header(head, tail, chunk_bytes):
    check_against_slow_reader(head + tail, chunk_bytes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=near_valid_files(), chunk_bytes=st.sampled_from([1, 13, 64, 1 << 20]))
def test_fuzz_near_valid_files_match_the_slow_reader(data, chunk_bytes):
    check_against_slow_reader(data, chunk_bytes)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=200),
                      st.tuples(st.sampled_from([b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"]),
                                st.binary(max_size=200)).map(b"".join)),
       chunk_bytes=st.sampled_from([1, 16, 100]))
def test_fuzz_arbitrary_whole_files_give_chunks_or_pcap_error(data, chunk_bytes):
    try:
        with PcapReader(io.BytesIO(data), chunk_bytes=chunk_bytes) as r:
            chunks, err = [], None
            try:
                chunks.extend(r)
            except PcapError as e:
                err = e
    except PcapError as e:
        assert str(e).startswith("<stream>: file header: ") and "\n" not in str(e)
        return
    flatten(chunks)                 # every chunk in bounds and consistent
    if err is not None:
        assert "\n" not in str(err) and err.frame == sum(len(c.start) for c in chunks)
