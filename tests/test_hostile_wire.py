"""Hostile-input catalogue, the wire: pcaps that are not pcaps, and pcap paths that cannot be
written. Each is refused in one line naming the file (or the option), exit 2, before any work."""

from __future__ import annotations

import struct

import pytest

from fastpath.wire.capture import capture
from fastpath.model import default_scenario

SEED_WALK = ("kube-system/kube-dns", "worker-2")


def _header(magic=0xA1B2C3D4, major=2, minor=4, snaplen=65535, linktype=1, order="<") -> bytes:
    return struct.pack(order + "IHHiIII", magic, major, minor, 0, 0, snaplen, linktype)


# (id, how to make the file in tmp_path -> its path, pieces of the one error line)
REPLAYS = [
    ("directory", lambda d: d, ("is a directory, not a pcap file",)),
    ("missing-file", lambda d: d / "none.pcap", ("none.pcap", "No such file or directory")),
    ("dev-zero", lambda d: "/dev/zero", ("/dev/zero: file header: not a pcap file", "magic bytes 00 00 00 00")),
    ("empty-file", lambda d: _write(d / "empty.pcap", b""), ("only 0 bytes, shorter than the 24-byte pcap file header",)),
    ("header-cut-at-10-bytes", lambda d: _write(d / "cut.pcap", _header()[:10]), ("cut.pcap: file header", "only 10 bytes")),
    ("pcapng", lambda d: _write(d / "f.pcapng", b"\x0a\x0d\x0d\x0a" + bytes(60)),
     ("pcapng is not supported", "editcap -F pcap")),
    ("spec-file-as-pcap", lambda d: _write(d / "spec.yaml", b"cluster: {name: x}\nhosts: []\n" * 4),
     ("spec.yaml: file header: not a pcap file",)),
    ("modified-kuznetzov-pcap", lambda d: _write(d / "k.pcap", _header(magic=0xA1B2CD34)), ("modified (Kuznetzov) pcap",)),
    ("pcap-version-2.3", lambda d: _write(d / "v.pcap", _header(minor=3)), ("unsupported pcap version 2.3",)),
    ("raw-ip-linktype", lambda d: _write(d / "raw.pcap", _header(linktype=101)), ("linktype 101 is not Ethernet",)),
    ("record-of-a-gigabyte", lambda d: _write(d / "big.pcap", _header() + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30)),
     ("big.pcap: frame 1 at byte offset 24",)),
    ("record-caplen-above-orig-len", lambda d: _write(d / "o.pcap", _header() + struct.pack("<IIII", 0, 0, 60, 40)
                                                      + bytes(60)), ("o.pcap: frame 1 at byte offset 24",)),
    ("big-endian-record-cut", lambda d: _write(d / "be.pcap", _header(order=">") + struct.pack(">IIII", 0, 0, 100, 100)
                                               + bytes(50)), ("be.pcap: frame 1 at byte offset 24",)),
]


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,expect", [r[1:] for r in REPLAYS], ids=[r[0] for r in REPLAYS])
def test_replay_refuses(reject, tmp_path, make, expect):
    res = reject("replay", make(tmp_path), expect=expect)
    assert res.seconds < 30  # the harness's own hang guard is longer; 5 s is the budget (see README)


@pytest.mark.parametrize("ignore", [False, True], ids=["verified", "ignore-checksums"])
def test_replay_of_a_damaged_pcap_tail_keeps_one_error_line(reject, tmp_path, ignore):
    """A good capture cut inside its last record: the frames before it replay, then one line."""
    f = tmp_path / "p.pcap"
    capture(default_scenario(), "pod", f, packets=50, seed=1)
    (tmp_path / "cut.pcap").write_bytes(f.read_bytes()[:-5])
    res = reject("replay", tmp_path / "cut.pcap", *(["--ignore-checksums"] if ignore else []),
                 expect=("cut.pcap: frame", "were replayed"))
    assert "frames replayed from" in res.stdout


TRACE_PCAPS = [
    ("proc-file", lambda d: "/proc/x", ("--pcap: /proc/x is under /proc",)),
    ("missing-directory", lambda d: d / "no" / "such" / "dir" / "w.pcap", ("--pcap", "does not exist")),
    ("a-directory", lambda d: d, ("--pcap", "is a directory")),
    ("dev-full", lambda d: "/dev/full", ("--pcap /dev/full", "No space left on device")),
    ("proc-self-status", lambda d: "/proc/self/status", ("--pcap: /proc/self/status is under /proc",)),
]


@pytest.mark.parametrize("make,expect", [r[1:] for r in TRACE_PCAPS], ids=[r[0] for r in TRACE_PCAPS])
def test_trace_pcap_refuses(reject, tmp_path, make, expect):
    reject("trace", *SEED_WALK, "--pcap", make(tmp_path), expect=expect)


def test_capture_out_into_a_missing_directory(reject, tmp_path):
    reject("capture", "--at", "pod", "--packets", "10", "--out", tmp_path / "nope" / "c.pcap", expect=("--out",))
