"""Frames <-> packet fields: the byte layouts fastpath writes and reads, and why.

The loops are cython (`_codec.pyx`); this module sizes, validates and names things.

Layouts (network byte order; offsets in bytes)
----------------------------------------------
Plain frame (pod eth0, node uplink, edge uplink)::

    0   destination MAC (6)   6  source MAC (6)
    12  [802.1Q: TPID 0x8100 (2), TCI = PCP 0 | DEI 0 | VID (2)]     only when vlan != 0
    12|16  EtherType 0x0800 (2)
    IPv4  (20, no options): version 4 / IHL 5, DSCP 0, total length = the packet's ``length``,
          identification = ``ip_id``, flags DF, fragment offset 0, ``ttl``, protocol, header
          checksum (RFC 1071), source, destination
    L4    UDP (8): ports, length = total length - 20, checksum over the pseudo-header
          TCP (20): ports, seq 1, ack 1, data offset 5, flags PSH|ACK, window 65535, checksum,
                    urgent 0 — cut where the packet ends when its length leaves less room
          ICMP (8): echo request (type 8, code 0), checksum, identifier = ``sport``,
                    sequence = ``dport`` (how the model carries ICMP's two numbers)
          other protocols: no L4 header
    payload: zeros up to the IPv4 total length (the model has no payload bytes). Frames are
    not padded to Ethernet's 60-byte minimum, as a capture on the sending host shows them.

Underlay frame (Geneve, RFC 8926)::

    outer Ethernet (14): destination / source TEP interface MACs, EtherType IPv4
    outer IPv4 (20): TTL 64, DF, identification 0, protocol UDP, source / destination TEP
    UDP (8): source port = ``outer_sport`` (the encapsulating host's flow entropy: a hash of
             the inner 5-tuple into 49152-65535, RFC 8926 section 3.3), destination 6081,
             checksum computed (the inner frame's zeros are skipped: they add nothing)
    Geneve (8): version 0, option length in 4-byte words, O and C flags 0, protocol type
             0x6558 (Ethernet), VNI (24 bits), reserved
    options (``opt_bytes``, the cluster's ``geneve_option_bytes``, 0 or 4..252): one TLV,
             class 0xFF00 (experimental use: the model's own, not a vendor's), type 1
             (not critical), length = data words; data = ``opt_data`` (the source logical
             port) then zeros
    inner frame: the plain layout above, untagged

So the outer frame is ``length + 64 + opt_bytes`` bytes: the model's Geneve overhead (50 +
options) plus the inner Ethernet header — the ``underlay_bytes`` a run counts.

Decode reads the same layouts back, and whatever else a capture holds, leniently: any IPv4
header length, padded frames, one 802.1Q tag, UDP to 6081 that is not Geneve as plain UDP.
A frame the model cannot carry gets a `MALFORMED` status instead of fields: cut short
before its L4 ports, not IPv4, bad IPv4 header / length / checksum, a fragment, a Geneve
header whose options overrun the packet, and (``verify_checksums``, the default) a wrong L4
checksum: ``l4-checksum`` for the (inner) TCP / UDP / ICMP one, ``outer-udp-checksum`` for a
Geneve frame's outer UDP one. Each covers the real L4 length (the IPv4 payload; for UDP its
own length field when that fits inside it), with the pseudo-header for TCP and UDP; a UDP
checksum of 0 means "none" and is not checked. Snaplen-cut frames decode when their headers
are all there (lengths are checked against the wire length, not the captured one); when the
cut falls inside a checksum's coverage that checksum cannot be checked, and the frame is
flagged ``unverified`` instead (decoded, not malformed: nothing says it is wrong).

The verification sums the L4 bytes 16 at a time in the host's byte order (`_codec.csum`); a
Geneve frame's inner L4 bytes are summed once for both checksums when they end where the outer
UDP coverage does (the encoder's frames). Measured on a million of the seed's frames (2 busy
cores): decode ~21 -> ~27 ns a 114-byte pod frame, ~34 -> ~47 ns a 164-byte Geneve frame;
replay (read + decode + senders + forward) ~172 -> ~178 ns a pod frame.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..packets import make_columns
from . import _codec

ETH = 14
VLAN_TAG = 4
IPV4 = 20
GENEVE_HEADERS = ETH + IPV4 + 8 + 8
"""Outer Ethernet + IPv4 + UDP + Geneve: the 50 bytes of overhead before options."""
GENEVE_PORT = 6081
OPTION_CLASS = 0xFF00

MALFORMED = ("", "truncated", "ethertype", "ip-header", "ip-length", "ip-checksum", "fragment", "geneve", "l4-checksum",
             "outer-udp-checksum")
"""Decode status names by code (0: decoded)."""

FRAME_FIELDS: tuple[tuple[str, type], ...] = (
    ("vlan", np.uint16), ("src_mac", np.uint64), ("dst_mac", np.uint64), ("src_ip", np.uint32),
    ("dst_ip", np.uint32), ("proto", np.uint8), ("sport", np.uint16), ("dport", np.uint16), ("ttl", np.uint8),
    ("length", np.uint16), ("ip_id", np.uint16), ("encap", np.uint8), ("outer_src_mac", np.uint64),
    ("outer_dst_mac", np.uint64), ("outer_src_ip", np.uint32), ("outer_dst_ip", np.uint32),
    ("outer_sport", np.uint16), ("vni", np.uint32), ("opt_bytes", np.uint8), ("opt_data", np.uint32),
)


class Frames(NamedTuple):
    """Frames to encode, one row each (struct of arrays; dtypes in `FRAME_FIELDS`). The
    packet fields describe the (inner) frame; the ``outer_*``, ``vni`` and ``opt_*`` fields
    matter only where ``encap`` is 1 (Geneve)."""

    vlan: np.ndarray
    src_mac: np.ndarray
    dst_mac: np.ndarray
    src_ip: np.ndarray
    dst_ip: np.ndarray
    proto: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    ttl: np.ndarray
    length: np.ndarray
    ip_id: np.ndarray
    encap: np.ndarray
    outer_src_mac: np.ndarray
    outer_dst_mac: np.ndarray
    outer_src_ip: np.ndarray
    outer_dst_ip: np.ndarray
    outer_sport: np.ndarray
    vni: np.ndarray
    opt_bytes: np.ndarray
    opt_data: np.ndarray

    @property
    def size(self) -> int:
        return self.vlan.shape[0]


assert Frames._fields == tuple(f[0] for f in FRAME_FIELDS)


def make_frames(**columns) -> Frames:
    """A `Frames` from columns and scalars (broadcast); missing fields are 0."""
    return Frames(*make_columns(FRAME_FIELDS, columns, "frame"))


def frame_lengths(f: Frames) -> np.ndarray:
    """int64[n]: each frame's bytes on the wire."""
    inner = ETH + VLAN_TAG * (f.vlan != 0) + f.length.astype(np.int64)
    return np.where(f.encap != 0, inner + GENEVE_HEADERS + f.opt_bytes, inner)


_SIZE_ERRORS = {1: "IPv4 total length {length} is below the 20-byte header",
                2: "VLAN {vlan} is not a 12-bit VID",
                3: "Geneve options {opt_bytes} bytes / VNI {vni} out of range (options 0 or 4..252 in 4s, VNI 24 bits)",
                4: "an inner packet of {length} bytes does not fit one outer IPv4 packet"}


def encode(f: Frames, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(buf uint8, offsets int64[n+1]): frame i is ``buf[offsets[i]:offsets[i+1]]``. ``out``: a
    uint8 buffer to reuse when it is big enough (its old bytes are overwritten, payload zeros
    included); else a fresh one is allocated, whose pages come zeroed."""
    for (name, dtype), a in zip(FRAME_FIELDS, f):
        if a.dtype != dtype or a.ndim != 1 or a.shape[0] != f.size or not a.flags.c_contiguous:
            raise ValueError(f"frame field {name}: expected contiguous {np.dtype(dtype).name}[{f.size}], "
                             f"got {a.dtype}{list(a.shape)}")
    offsets = np.zeros(f.size + 1, np.int64)
    bad, code = _codec.frame_sizes(f.vlan, f.length, f.encap, f.opt_bytes, f.vni, offsets)
    if bad >= 0:
        what = _SIZE_ERRORS[code].format(**{k: getattr(f, k)[bad] for k in ("length", "vlan", "opt_bytes", "vni")})
        raise ValueError(f"frame {bad}: {what}")
    total = int(offsets[-1])
    reuse = out is not None and out.dtype == np.uint8 and out.ndim == 1 and out.flags.c_contiguous \
        and out.shape[0] >= total
    buf = out[:total] if reuse else np.zeros(total, np.uint8)
    if f.size:
        _codec.encode_frames(buf if total else np.zeros(1, np.uint8), offsets, *f, reuse)
    return buf, offsets


class Decoded(NamedTuple):
    """Fields of decoded frames (of the inner frame, for Geneve), one row each; ``status``
    0 = decoded, else a code of `MALFORMED` (and the other fields unspecified)."""

    status: np.ndarray  # uint8
    vlan: np.ndarray  # uint16
    src_mac: np.ndarray  # uint64
    dst_mac: np.ndarray  # uint64
    src_ip: np.ndarray  # uint32
    dst_ip: np.ndarray  # uint32
    proto: np.ndarray  # uint8
    sport: np.ndarray  # uint16
    dport: np.ndarray  # uint16
    ttl: np.ndarray  # uint8
    length: np.ndarray  # uint16: IPv4 total length
    encap: np.ndarray  # uint8: 1 = came out of a Geneve frame
    vni: np.ndarray  # uint32
    outer_src_ip: np.ndarray  # uint32: the TEPs of a Geneve frame
    outer_dst_ip: np.ndarray  # uint32
    unverified: np.ndarray  # uint8: 1 = a checksum could not be checked, the capture cut the frame short

    @property
    def size(self) -> int:
        return self.status.shape[0]


_DECODED_DTYPES = (np.uint8, np.uint16, np.uint64, np.uint64, np.uint32, np.uint32, np.uint8, np.uint16, np.uint16,
                   np.uint8, np.uint16, np.uint8, np.uint32, np.uint32, np.uint32, np.uint8)


def decode(buf: np.ndarray, start: np.ndarray, caplen: np.ndarray, orig_len: np.ndarray | None = None, *,
           verify_checksums: bool = True) -> Decoded:
    """Decode frames ``buf[start[i] : start[i] + caplen[i]]`` (``orig_len``: their lengths on
    the wire, default the captured ones). ``verify_checksums``: a wrong TCP / UDP / ICMP
    checksum makes a frame malformed (see the module docstring). Raises ValueError when a
    frame lies outside buf."""
    buf = np.ascontiguousarray(buf, np.uint8)
    start = np.ascontiguousarray(start, np.int64)
    caplen = np.ascontiguousarray(caplen, np.uint32)
    orig_len = caplen if orig_len is None else np.ascontiguousarray(orig_len, np.uint32)
    n = start.shape[0]
    if caplen.shape != (n,) or orig_len.shape != (n,):
        raise ValueError(f"start, caplen and orig_len must have one value per frame ({n})")
    bad = np.flatnonzero((start < 0) | (start + caplen > buf.shape[0]) | (caplen > orig_len))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"frame {i}: bytes {start[i]}..{start[i] + caplen[i]} of {orig_len[i]} lie outside the "
                         f"{buf.shape[0]}-byte buffer or exceed the wire length")
    out = Decoded(*(np.empty(n, d) for d in _DECODED_DTYPES))
    if n:
        _codec.decode_frames(buf if buf.shape[0] else np.zeros(1, np.uint8), start, caplen, orig_len, *out,
                             verify_checksums)
    return out


def split(buf: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, caplen) of frames laid end to end at ``offsets`` (what `encode` returns)."""
    return offsets[:-1], np.diff(offsets).astype(np.uint32)
