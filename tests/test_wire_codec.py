"""The cython frame codec: byte for byte what scapy builds, decoded back to the same fields,
and never thrown off by hostile bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, Raw
from scapy.contrib.geneve import GENEVE

from fastpath.model.addressing import ip_to_str, mac_to_str
from fastpath.wire.codec import MALFORMED, OPTION_CLASS, decode, encode, frame_lengths, make_frames, split

PROTOS = np.array([17, 6, 1, 47], np.uint8)  # UDP, TCP, ICMP, and one without an L4 header (GRE)


def random_frames(n: int, seed: int, encap: bool):
    rng = np.random.default_rng(seed)
    proto = PROTOS[rng.integers(0, PROTOS.size, n)]
    lo = np.where(proto == 6, 40, 28)
    length = rng.integers(lo, 1501, n)
    length[: n // 10] = lo[: n // 10]  # the smallest of each
    return make_frames(
        vlan=np.where(rng.random(n) < 0.5, rng.integers(1, 4095, n), 0) * (not encap),
        src_mac=rng.integers(1, 1 << 48, n, dtype=np.uint64), dst_mac=rng.integers(1, 1 << 48, n, dtype=np.uint64),
        src_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32), dst_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32),
        proto=proto, sport=rng.integers(0, 65536, n), dport=rng.integers(0, 65536, n), ttl=rng.integers(1, 256, n),
        length=length, ip_id=rng.integers(0, 65536, n), encap=int(encap),
        outer_src_mac=rng.integers(1, 1 << 48, n, dtype=np.uint64),
        outer_dst_mac=rng.integers(1, 1 << 48, n, dtype=np.uint64),
        outer_src_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32),
        outer_dst_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32), outer_sport=rng.integers(49152, 65536, n),
        vni=rng.integers(0, 1 << 24, n), opt_bytes=rng.choice([0, 4, 8, 12, 252], n) * encap,
        opt_data=rng.integers(0, 1 << 32, n, dtype=np.uint64))


def scapy_frame(f, i: int) -> bytes:
    """Frame i built by scapy from the same fields (scapy computes lengths and checksums)."""
    length, proto = int(f.length[i]), int(f.proto[i])
    ip = IP(src=ip_to_str(f.src_ip[i]), dst=ip_to_str(f.dst_ip[i]), ttl=int(f.ttl[i]), id=int(f.ip_id[i]),
            flags="DF", proto=proto)
    if proto == 17:
        l4 = UDP(sport=int(f.sport[i]), dport=int(f.dport[i])) / Raw(bytes(length - 28))
    elif proto == 6:
        l4 = TCP(sport=int(f.sport[i]), dport=int(f.dport[i]), seq=1, ack=1, flags="PA", window=65535) / Raw(
            bytes(length - 40))
    elif proto == 1:
        l4 = ICMP(type=8, code=0, id=int(f.sport[i]), seq=int(f.dport[i])) / Raw(bytes(length - 28))
    else:
        l4 = Raw(bytes(length - 20))
    eth = Ether(src=mac_to_str(f.src_mac[i]), dst=mac_to_str(f.dst_mac[i]))
    inner = eth / Dot1Q(vlan=int(f.vlan[i])) / ip / l4 if f.vlan[i] else eth / ip / l4
    if not f.encap[i]:
        return bytes(inner)
    opt = int(f.opt_bytes[i])
    options = b""
    if opt:
        data = int(f.opt_data[i]).to_bytes(4, "big") + bytes(opt - 8) if opt >= 8 else b""
        options = OPTION_CLASS.to_bytes(2, "big") + bytes([1, (opt - 4) // 4]) + data
    gen = GENEVE(vni=int(f.vni[i]), proto=0x6558, optionlen=opt // 4, options=options)
    outer = (Ether(src=mac_to_str(f.outer_src_mac[i]), dst=mac_to_str(f.outer_dst_mac[i]))
             / IP(src=ip_to_str(f.outer_src_ip[i]), dst=ip_to_str(f.outer_dst_ip[i]), ttl=64, id=0, flags="DF")
             / UDP(sport=int(f.outer_sport[i]), dport=6081) / gen / inner)
    return bytes(outer)


@pytest.mark.parametrize("encap", [False, True])
def test_frames_are_byte_for_byte_scapys(encap):
    f = random_frames(400, seed=1 + encap, encap=encap)
    buf, off = encode(f)
    assert np.array_equal(np.diff(off), frame_lengths(f))
    for i in range(f.size):
        assert bytes(buf[off[i]:off[i + 1]]) == scapy_frame(f, i), i


def test_a_tcp_packet_too_short_for_its_header_is_cut_where_it_ends():
    f = make_frames(src_mac=1, dst_mac=2, src_ip=3, dst_ip=4, proto=6, sport=80, dport=81, ttl=9, length=[28, 33, 38])
    buf, off = encode(f)
    for i, length in enumerate((28, 33, 38)):
        frame = bytes(buf[off[i]:off[i + 1]])
        assert len(frame) == 14 + length
        full = bytes(Ether(src=mac_to_str(1), dst=mac_to_str(2)) / IP(src=ip_to_str(3), dst=ip_to_str(4), ttl=9,
                                                                        flags="DF", id=0, len=length)
                     / TCP(sport=80, dport=81, seq=1, ack=1, flags="PA", window=65535, chksum=0))
        assert frame[:34] == full[:34]  # the IPv4 header says the packet's own length
        assert frame[34:34 + 14] == full[34:48][:len(frame) - 34][:14]  # ports, seq, ack, offset, flags as far as fit


@pytest.mark.parametrize("encap", [False, True])
def test_decode_gives_back_the_fields(encap):
    f = random_frames(3000, seed=7, encap=encap)
    buf, off = encode(f)
    d = decode(buf, *split(buf, off))
    assert (d.status == 0).all()
    for name in ("vlan", "src_mac", "dst_mac", "src_ip", "dst_ip", "proto", "ttl", "length"):
        assert np.array_equal(getattr(d, name), getattr(f, name)), name
    l4 = np.isin(f.proto, [17, 6, 1])
    assert np.array_equal(d.sport[l4], f.sport[l4]) and np.array_equal(d.dport[l4], f.dport[l4])
    assert (d.sport[~l4] == 0).all()
    assert np.array_equal(d.encap, f.encap) and np.array_equal(d.vni, np.where(f.encap != 0, f.vni, 0))
    assert np.array_equal(d.outer_src_ip, np.where(f.encap != 0, f.outer_src_ip, 0))


def test_decode_reads_what_scapy_builds_with_ip_options_and_padding():
    pkts = [Ether() / IP(src="10.0.0.1", dst="10.0.0.2", ttl=5, options=b"\x01\x01\x01\x00") / UDP(sport=1, dport=2),
            Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=3, dport=4) / Raw(bytes(6)),  # padded below
            Ether() / Dot1Q(vlan=300) / IP(src="1.2.3.4", dst="5.6.7.8", proto=1) / ICMP(id=9, seq=10)]
    frames = [bytes(p) for p in pkts]
    frames[1] += bytes(60 - len(frames[1])) if len(frames[1]) < 60 else b""
    buf = np.frombuffer(b"".join(frames), np.uint8)
    off = np.cumsum([0] + [len(x) for x in frames])
    d = decode(buf, *split(buf, off))
    assert d.status.tolist() == [0, 0, 0]
    assert d.ttl[0] == 5 and d.length[0] == 32 and (d.sport[0], d.dport[0]) == (1, 2)
    assert (d.sport[1], d.dport[1]) == (3, 4) and d.length[1] == 46  # the padding is not the packet's
    assert d.vlan[2] == 300 and (d.sport[2], d.dport[2]) == (9, 10) and d.proto[2] == 1


def one(frame: bytes, orig: int | None = None):
    buf = np.frombuffer(frame, np.uint8) if frame else np.zeros(0, np.uint8)
    return decode(buf, np.zeros(1, np.int64), np.array([len(frame)], np.uint32),
                  np.array([orig if orig is not None else len(frame)], np.uint32))


def status(frame: bytes, orig: int | None = None) -> str:
    return MALFORMED[one(frame, orig).status[0]]


def test_every_kind_of_bad_frame_gets_its_status():
    good = bytes(Ether() / IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=5, dport=6) / Raw(bytes(20)))
    assert status(good) == ""
    for cut in range(0, 14 + 20):  # the IPv4 header not all there
        assert status(good[:cut]) == "truncated", cut
    for cut in range(14 + 20, 14 + 20 + 4):  # a snaplen cut before the ports
        assert status(good[:cut], orig=len(good)) == "truncated", cut
    for cut in range(14 + 20, len(good)):  # shorter on the wire than its IPv4 total length
        assert status(good[:cut]) == "ip-length", cut
    assert status(good[:14 + 20 + 4], orig=len(good)) == ""  # a snaplen cut after the ports is fine
    assert status(bytes(Ether(type=0x86DD) / Raw(bytes(60)))) == "ethertype"
    assert status(bytes(Ether() / Dot1Q(type=0x0806) / Raw(bytes(40)))) == "ethertype"
    assert status(good[:14] + b"\x65" + good[15:]) == "ip-header"  # version 6 in an IPv4 ethertype
    assert status(good[:14] + b"\x44" + good[15:]) == "ip-header"  # IHL 4
    bad_len = bytes(Ether() / IP(src="1.1.1.1", dst="2.2.2.2", len=200) / UDP() / Raw(bytes(20)))
    assert status(bad_len) == "ip-length"  # more than the frame holds
    assert status(bytes(Ether() / IP(len=10) / Raw(bytes(30)))) == "ip-length"
    bad_sum = bytearray(good)
    bad_sum[24] ^= 0xFF
    assert status(bytes(bad_sum)) == "ip-checksum"
    assert status(bytes(Ether() / IP(flags="MF") / UDP() / Raw(bytes(8)))) == "fragment"
    assert status(bytes(Ether() / IP(frag=3) / UDP() / Raw(bytes(8)))) == "fragment"
    geneve = bytes(Ether() / IP() / UDP(dport=6081) / GENEVE(proto=0x6558, optionlen=20) / Raw(bytes(8)))
    assert status(geneve) == "geneve"  # 80 bytes of options in a 16-byte payload
    not_geneve = bytes(Ether() / IP() / UDP(sport=9, dport=6081) / Raw(bytes(40)))
    assert status(not_geneve) == "" and one(not_geneve).encap[0] == 0  # UDP to 6081, not Geneve


def test_decode_refuses_frames_outside_the_buffer():
    buf = np.zeros(100, np.uint8)
    with pytest.raises(ValueError, match="frame 1: bytes 90..110"):
        decode(buf, np.array([0, 90]), np.array([60, 20], np.uint32))


def test_encode_refuses_what_no_frame_can_carry():
    with pytest.raises(ValueError, match="frame 0: IPv4 total length 19"):
        encode(make_frames(length=[19]))
    with pytest.raises(ValueError, match="frame 1: VLAN 4096"):
        encode(make_frames(length=[40, 40], vlan=[0, 4096]))
    with pytest.raises(ValueError, match="Geneve options 6 bytes"):
        encode(make_frames(length=[40], encap=1, opt_bytes=6))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 80))
def test_any_bytes_decode_to_a_status_never_a_crash(data, extra):
    d = one(data, len(data) + extra)
    assert d.status[0] < len(MALFORMED)
    if d.status[0] == 0:  # a decoded frame's lengths are inside what the wire carried
        assert 20 <= d.length[0] <= len(data) + extra


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=12))
def test_mutated_geneve_frames_decode_to_a_status(seed, edits):
    f = random_frames(1, seed=seed, encap=True)
    buf, off = encode(f)
    raw = bytearray(buf.tobytes())
    for pos, val in edits:
        if pos < len(raw):
            raw[pos] = val
    d = one(bytes(raw))
    assert d.status[0] < len(MALFORMED)


@pytest.mark.parametrize("encap", [False, True])
def test_a_reused_dirty_buffer_encodes_the_same_bytes(encap):
    f = random_frames(2000, seed=11, encap=encap)
    want, off = encode(f)
    dirty = np.full(want.size + 100, 0xAB, np.uint8)
    got, off2 = encode(f, out=dirty)
    assert got.base is dirty and np.array_equal(off, off2)
    assert np.array_equal(got, want)  # every byte rewritten: headers, option padding, payload zeros
    small = np.full(10, 0xAB, np.uint8)
    fresh, _ = encode(f, out=small)  # too small: a fresh buffer, the same bytes
    assert fresh.base is not small and np.array_equal(fresh, want)


# ---- L4 checksums: a damaged frame is malformed, never forwarded as its damage reads ----------------

def l4_checksum_ok(ip) -> bool:
    """scapy's word on an IPv4 layer's L4 checksum (True: right, or none to check): over the
    real L4 length (UDP: its own length field when inside the payload), pseudo-header for TCP
    and UDP, UDP checksum 0 = none; a TCP header cut before its checksum field has none."""
    from scapy.layers.inet import in4_chksum
    from scapy.utils import checksum

    raw = bytes(ip)[ip.ihl * 4: ip.len]
    if ip.proto == 17:
        if len(raw) < 8 or raw[6:8] == b"\0\0":
            return True
        ulen = int.from_bytes(raw[4:6], "big")
        return in4_chksum(17, ip, raw[:ulen] if 8 <= ulen <= len(raw) else raw) == 0
    if ip.proto == 6:
        return len(raw) < 18 or in4_chksum(6, ip, raw) == 0
    if ip.proto == 1:
        return len(raw) < 4 or checksum(raw) == 0
    return True


def decode_all(frames: list[bytes], verify: bool = True):
    buf = np.frombuffer(b"".join(frames), np.uint8)
    off = np.cumsum([0] + [len(x) for x in frames])
    return decode(buf, *split(buf, off), verify_checksums=verify)


def flipped(frame: bytes, start: int, end: int) -> list[tuple[int, bytes]]:
    """The frame with each bit of bytes [start, end) flipped in turn: (byte, frame)."""
    out = []
    for pos in range(start, end):
        for bit in range(8):
            b = bytearray(frame)
            b[pos] ^= 1 << bit
            out.append((pos, bytes(b)))
    return out


PLAIN = {  # (frame, where its L4 segment starts)
    "udp": (Ether() / IP(src="10.1.0.2", dst="10.2.0.3") / UDP(sport=53, dport=33434) / Raw(bytes(range(21))), 34),
    "tcp": (Ether() / Dot1Q(vlan=7) / IP(src="10.1.0.2", dst="10.2.0.3") / TCP(sport=80, dport=443, flags="PA")
            / Raw(b"GET / HTTP/1.1\r\n\r\n"), 38),
    "icmp": (Ether() / IP(src="10.1.0.2", dst="10.2.0.3", options=b"\x01\x01\x01\x00") / ICMP(id=9, seq=10)
             / Raw(bytes(range(7))), 38),
}


@pytest.mark.parametrize("kind", PLAIN)
def test_one_flipped_bit_anywhere_in_l4_is_a_bad_checksum(kind):
    pkt, l4 = PLAIN[kind]
    frame = bytes(pkt)
    assert decode_all([frame]).status[0] == 0 and l4_checksum_ok(Ether(frame)[IP])
    bad = flipped(frame, l4, len(frame))
    d = decode_all([f for _, f in bad])
    want = ["" if l4_checksum_ok(Ether(f)[IP]) else "l4-checksum" for _, f in bad]
    assert want.count("l4-checksum") >= len(bad) - 1  # all but (UDP) the flip that leaves checksum 0: "none"
    assert [MALFORMED[s] for s in d.status] == want
    # told to ignore checksums, the damaged frame decodes to the damage: the ports read otherwise
    loose = decode_all([f for _, f in bad], verify=False)
    assert (loose.status == 0).all()
    ports = (l4 + 4, l4 + 8) if kind == "icmp" else (l4, l4 + 4)  # ICMP: identifier and sequence
    port_flips = [i for i, (pos, _) in enumerate(bad) if ports[0] <= pos < ports[1]]
    ok = decode_all([frame])
    assert all((loose.sport[i], loose.dport[i]) != (ok.sport[0], ok.dport[0]) for i in port_flips)


def test_a_udp_checksum_of_zero_is_none_and_not_checked():
    frame = bytearray(bytes(Ether() / IP(src="10.1.0.2", dst="10.2.0.3") / UDP(sport=1, dport=2) / Raw(bytes(30))))
    frame[40:42] = b"\0\0"
    frame[50] ^= 0x10  # damage the payload: nothing says so
    d = decode_all([bytes(frame)])
    assert d.status[0] == 0 and d.unverified[0] == 0
    tcp = bytearray(bytes(Ether() / IP(src="10.1.0.2", dst="10.2.0.3") / TCP(sport=1, dport=2) / Raw(bytes(30))))
    tcp[50:52] = b"\0\0"  # a TCP checksum of 0 is a checksum like any other
    assert MALFORMED[decode_all([bytes(tcp)]).status[0]] == "l4-checksum"


def geneve_frame(outer_checksum: bool = True) -> tuple[bytes, int, int]:
    """A Geneve frame from the encoder (8 bytes of options), where its outer UDP and its
    inner L4 segment start; the outer UDP checksum zeroed unless ``outer_checksum``."""
    f = make_frames(src_mac=0x0200000000AA, dst_mac=0x0200000000BB, src_ip=0x0A010002, dst_ip=0x0A020003, proto=17,
                    sport=33434, dport=53, ttl=63, length=61, encap=1, outer_src_mac=1, outer_dst_mac=2,
                    outer_src_ip=0xC0A8000B, outer_dst_ip=0xC0A8000C, outer_sport=50000, vni=5001, opt_bytes=8,
                    opt_data=7)
    buf, _ = encode(f)
    frame = bytearray(buf.tobytes())
    if not outer_checksum:
        frame[40:42] = b"\0\0"
    return bytes(frame), 34, 34 + 8 + 8 + 8 + 14 + 20


def test_geneve_outer_and_inner_checksums():
    frame, udp, inner_l4 = geneve_frame()
    d = decode_all([frame])
    assert d.status[0] == 0 and d.encap[0] == 1 and d.unverified[0] == 0
    assert l4_checksum_ok(Ether(frame)[IP]) and l4_checksum_ok(Ether(frame)[IP][UDP].payload.payload[IP])
    # anything after the outer UDP header is under its checksum, checked first: the Geneve
    # header and options (but its version / protocol / option-length, which stop it being
    # Geneve or overrun it), the inner frame's headers and its L4 bytes
    options = flipped(frame, udp + 8 + 4, inner_l4)  # VNI, reserved, the option, inner Ethernet and IPv4
    inner = flipped(frame, inner_l4, len(frame))
    d = decode_all([f for _, f in options + inner])
    assert {MALFORMED[s] for s in d.status} == {"outer-udp-checksum"}
    loose = decode_all([f for _, f in options + inner], verify=False)
    assert (loose.status[[p >= inner_l4 for p, _ in options + inner]] == 0).all()  # unchecked, the inner frame decodes
    # with no outer checksum (0: none) only the inner frame's own checks are left
    frame0, udp, inner_l4 = geneve_frame(outer_checksum=False)
    assert decode_all([frame0]).status[0] == 0
    opt = flipped(frame0, udp + 16, udp + 16 + 8)  # the option: no one checks it
    assert (decode_all([f for _, f in opt]).status == 0).all()
    d = decode_all([f for _, f in flipped(frame0, inner_l4, len(frame0))])
    want = ["" if l4_checksum_ok(Ether(f)[UDP].payload.payload[IP]) else "l4-checksum"
            for _, f in flipped(frame0, inner_l4, len(frame0))]
    assert [MALFORMED[s] for s in d.status] == want and want.count("l4-checksum") >= len(want) - 1


def test_a_snaplen_cut_frame_cannot_be_checked_and_is_flagged_unverified():
    frames = [bytes(PLAIN[k][0]) for k in PLAIN] + [geneve_frame()[0]]
    for f in frames:
        for cut in (len(f) - 1, len(f) - 7):
            d = one(f[:cut], orig=len(f))
            assert d.status[0] == 0 and d.unverified[0] == 1, (f, cut)
            damaged = bytearray(f[:cut])
            damaged[-1] ^= 1  # damage in what is there: still not checkable as a whole
            assert one(bytes(damaged), orig=len(f)).unverified[0] == 1
        assert one(f).unverified[0] == 0
    nosum = bytearray(frames[0])
    nosum[40:42] = b"\0\0"
    assert one(bytes(nosum[:-3]), orig=len(nosum)).unverified[0] == 0  # nothing to check


@pytest.mark.parametrize("encap", [False, True])
def test_every_encoded_frame_checks_and_each_damaged_one_is_caught(encap):
    """The encoder's checksums are right at every length and protocol; one flipped byte in
    the L4 segment of each frame is caught exactly when scapy says the checksum is wrong."""
    f = random_frames(600, seed=21 + encap, encap=encap)
    buf, off = encode(f)
    frames = [bytes(buf[off[i]:off[i + 1]]) for i in range(f.size)]
    assert (decode_all(frames).status == 0).all()
    rng = np.random.default_rng(5)
    damaged, want, summed = [], [], []
    for fr, proto in zip(frames, f.proto):
        pkt = Ether(fr)
        outer = pkt[IP]
        l4 = len(fr) - len(bytes(outer)) + outer.ihl * 4
        if l4 >= len(fr):
            continue
        b = bytearray(fr)
        b[int(rng.integers(l4, len(fr)))] ^= int(rng.integers(1, 256))
        damaged.append(bytes(b))
        summed.append(encap or proto in (1, 6, 17))  # under a checksum: the outer UDP one, or its own
        o = Ether(bytes(b))[IP]
        if encap:
            want.append("" if l4_checksum_ok(o) else "outer-udp-checksum")
        else:
            want.append("" if l4_checksum_ok(o) else "l4-checksum")
    got = [MALFORMED[s] for s in decode_all(damaged).status]
    if not encap:
        assert got == want
    else:  # a damaged Geneve header may stop it being Geneve (or overrun): then it is not forwarded either
        assert all(g == w or (w and g) for g, w in zip(got, want)), [(g, w) for g, w in zip(got, want) if g != w][:5]
    assert [w != "" for w in want] == summed  # all damage under a checksum is caught
