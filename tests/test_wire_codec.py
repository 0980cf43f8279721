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
