"""tshark reads every pcap fastpath writes, and agrees with the run frame by frame.

For each observation point (pod, uplink, underlay, edge) and a handful of clusters and traffic
mixes, `fastpath.wire.capture.capture` writes a few thousand frames and hands us, chunk by
chunk, the `Frames` it encoded (the run's own records). tshark dissects the file once, with
IPv4 / UDP / TCP checksum validation on (ICMP's is always checked), and every field it prints
must equal the records: frame and captured lengths, timestamps, MACs, 802.1Q VID, addresses,
TTLs (outer 64), lengths, IP identification, protocols, ports, ICMP identifier / sequence, VNI,
the Geneve option (class 0xFF00, length, data) — and every checksum status must be "Good".

tshark dissects only the layers fastpath writes (every other protocol is disabled): the zero
payload behind random ports otherwise wakes application dissectors that guess at it.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastpath.dataplane import pipeline
from fastpath.model import default_scenario, from_spec, generate, to_spec
from fastpath.packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, make_batch
from fastpath.traffic import Uniform, imix, profile_by_name
from fastpath.wire.capture import START_NS, capture
from fastpath.wire.codec import GENEVE_PORT, OPTION_CLASS, encode, frame_lengths, make_frames
from fastpath.wire.observe import POINTS
from fastpath.wire.pcap import PcapWriter

GAP_NS = 1000
"""capture's default 1 Mpps: packet k of a run is sent at START_NS + k * 1000 ns."""
OUTER_TTL = 64
GOOD, BAD = 1, 0
"""tshark's checksum status values (PROTO_CHECKSUM_E_GOOD / _BAD; 2 would be "unverified")."""
KEEP = ("frame", "eth", "ethertype", "vlan", "ip", "udp", "tcp", "icmp", "geneve", "data")
"""The only protocols tshark may dissect: the layers fastpath writes."""


# ---- tshark ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tshark_cmd(tshark) -> list[str]:
    """tshark with checksum validation on and every protocol outside `KEEP` disabled."""
    r = subprocess.run([tshark, "-G", "protocols"], check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"tshark -G protocols failed: {r.stderr.strip()}"
    names = [line.split("\t")[2] for line in r.stdout.splitlines() if line.count("\t") >= 2]
    assert set(KEEP) <= set(names), f"tshark lacks dissectors {sorted(set(KEEP) - set(names))}"
    off = [n for n in names if n not in KEEP and not n.startswith("_ws.")]
    cmd = [tshark, "-n", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
           "-o", "tcp.check_checksum:TRUE", "-o", "tcp.analyze_sequence_numbers:FALSE"]
    for n in off:
        cmd += ["--disable-protocol", n]
    return cmd


def _mac(x: str) -> int:
    return int(x.replace(":", ""), 16)


def _ip(x: str) -> int:
    return int(ipaddress.IPv4Address(x))


def _num(x: str) -> int:
    return int(x, 16) if x.startswith("0x") else int(x)


def _text(x: str) -> str:
    return x.lower()


def _ns(x: str) -> int:
    sec, _, frac = x.partition(".")
    return int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])


FIELDS: dict[str, object] = {
    "frame.len": _num, "frame.cap_len": _num, "frame.time_epoch": _ns,
    "eth.src": _mac, "eth.dst": _mac, "vlan.id": _num,
    "ip.src": _ip, "ip.dst": _ip, "ip.ttl": _num, "ip.len": _num, "ip.id": _num, "ip.proto": _num,
    "ip.flags.df": _num, "ip.checksum.status": _num,
    "udp.srcport": _num, "udp.dstport": _num, "udp.length": _num, "udp.checksum.status": _num,
    "tcp.srcport": _num, "tcp.dstport": _num, "tcp.checksum.status": _num,
    "icmp.type": _num, "icmp.ident": _num, "icmp.seq": _num, "icmp.checksum.status": _num,
    "geneve.vni": _num, "geneve.option.class": _num, "geneve.option.length": _num,
    "geneve.option.unknown.data": _text,
}
"""tshark fields read, and how to parse one occurrence; a frame's value is the tuple of all occurrences
(outer first)."""


def run_tshark(cmd: list[str], path) -> list[dict[str, tuple]]:
    """One tshark pass over the file: per frame, {field: tuple of parsed occurrences}."""
    args = cmd + ["-r", str(path), "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    r = subprocess.run(args, check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"tshark exited {r.returncode}: {r.stderr.strip()}"
    rows = []
    parsers = [(f, parse, {"": ()}) for f, parse in FIELDS.items()]  # a cache per field: values repeat a lot
    for k, line in enumerate(r.stdout.splitlines()):
        cols = line.split("\t")
        assert len(cols) == len(FIELDS), f"tshark frame {k}: {len(cols)} columns, not {len(FIELDS)}: {line!r}"
        row = {}
        for (f, parse, seen), col in zip(parsers, cols):
            v = seen.get(col)
            if v is None:
                v = seen[col] = tuple(parse(x) for x in col.split(","))
            row[f] = v
        rows.append(row)
    return rows


# ---- what the run's records say tshark must print ------------------------------------------------------------

def expected_rows(f, ts_ns: np.ndarray, *, nanosecond: bool, snaplen: int) -> list[dict[str, tuple]]:
    """Per frame of `Frames` f (sent at ts_ns), the fields of `FIELDS` as tshark must print them."""
    lengths = frame_lengths(f)
    rows = []
    for i in range(f.size):
        n = int(lengths[i])
        enc, proto, length = bool(f.encap[i]), int(f.proto[i]), int(f.length[i])
        sport, dport, vlan, opt = int(f.sport[i]), int(f.dport[i]), int(f.vlan[i]), int(f.opt_bytes[i])
        ts = int(ts_ns[i]) if nanosecond else int(ts_ns[i]) // 1000 * 1000
        e = {"frame.len": (n,), "frame.cap_len": (min(n, snaplen),), "frame.time_epoch": (ts,)}
        outer = {k: () for k in FIELDS if k.startswith(("eth.", "ip.", "udp.", "geneve."))}
        if enc:
            outer.update({
                "eth.src": (int(f.outer_src_mac[i]),), "eth.dst": (int(f.outer_dst_mac[i]),),
                "ip.src": (int(f.outer_src_ip[i]),), "ip.dst": (int(f.outer_dst_ip[i]),), "ip.ttl": (OUTER_TTL,),
                "ip.len": (n - 14,), "ip.id": (0,), "ip.proto": (17,), "ip.flags.df": (1,),
                "ip.checksum.status": (GOOD,), "udp.srcport": (int(f.outer_sport[i]),), "udp.dstport": (GENEVE_PORT,),
                "udp.length": (n - 34,), "udp.checksum.status": (GOOD,), "geneve.vni": (int(f.vni[i]),),
                "geneve.option.class": (OPTION_CLASS,) if opt else (),
                "geneve.option.length": (opt, opt) if opt else (0,),  # the header's options length, the TLV's
                "geneve.option.unknown.data": (f"{int(f.opt_data[i]):08x}" + "00" * (opt - 8),) if opt >= 8 else (),
            })
        inner = {
            "eth.src": (int(f.src_mac[i]),), "eth.dst": (int(f.dst_mac[i]),), "vlan.id": (vlan,) if vlan else (),
            "ip.src": (int(f.src_ip[i]),), "ip.dst": (int(f.dst_ip[i]),), "ip.ttl": (int(f.ttl[i]),),
            "ip.len": (length,), "ip.id": (int(f.ip_id[i]),), "ip.proto": (proto,), "ip.flags.df": (1,),
            "ip.checksum.status": (GOOD,),
        }
        if proto == 17:
            inner.update({"udp.srcport": (sport,), "udp.dstport": (dport,), "udp.length": (length - 20,),
                          "udp.checksum.status": (GOOD,)})
        elif proto == 6:
            inner.update({"tcp.srcport": (sport,), "tcp.dstport": (dport,), "tcp.checksum.status": (GOOD,)})
        elif proto == 1:
            inner.update({"icmp.type": (8,), "icmp.ident": (sport,), "icmp.seq": (dport,),
                          "icmp.checksum.status": (GOOD,)})
        for k in FIELDS:
            if k not in e:
                e[k] = outer.get(k, ()) + inner.get(k, ())
        rows.append(e)
    return rows


def _inner_geneve_port(row: dict) -> bool:
    """An inner UDP packet to or from 6081: tshark rightly dissects its zero payload as Geneve too."""
    ports = row["udp.srcport"][-1:] + row["udp.dstport"][-1:]
    return GENEVE_PORT in ports and len(row["udp.dstport"]) == len(row["ip.proto"])


def compare(got: list[dict], want: list[dict], what: str) -> None:
    """Frame count, then every field of every frame; the first mismatches are named."""
    assert len(got) == len(want), f"{what}: tshark read {len(got)} frames, the run wrote {len(want)}"
    bad = []
    for i, (g, w) in enumerate(zip(got, want)):
        loose = _inner_geneve_port(w)
        for k in FIELDS:
            gv, wv = g[k], w[k]
            if loose and k.startswith("geneve."):
                gv = gv[:len(wv)]
            if gv != wv:
                bad.append(f"frame {i} {k}: tshark {gv}, run {wv}")
    assert not bad, f"{what}: {len(bad)} field mismatches, first: " + "; ".join(bad[:6])


# ---- clusters and traffic ------------------------------------------------------------------------------------

def with_options(c, nbytes: int):
    spec = to_spec(c)
    spec["cluster"]["geneve_option_bytes"] = nbytes
    return from_spec(spec)


@functools.cache
def cluster(name: str):
    if name == "seed":
        return default_scenario()
    if name == "seed-opt8":
        return with_options(default_scenario(), 8)
    if name == "gen":
        return generate(4, 2, 4, 10, edges=2, service_t1_fraction=0.5, seed=7)
    if name == "gen-opt12":
        return with_options(cluster("gen"), 12)
    raise KeyError(name)


class MixedSenders:
    """Pods, nodes and the T0 uplinks (the physical network) as senders, to pods, nodes and the
    outside; UDP, TCP and ICMP; TTLs that run out on the way; 40..1400-byte packets. Duck-types
    a traffic profile for `capture` (batches of at most ``chunk`` packets, seeded)."""

    def batches(self, c, packets: int, *, seed: int = 0, chunk: int = 1 << 18):
        rng = np.random.default_rng(seed)
        pod_ip = np.asarray(c.pods.ip, np.uint32)
        node_ip = np.array([n.ip for n in c.nodes], np.uint32)
        P, N, U = len(pod_ip), len(node_ip), len(c.uplinks)
        for lo in range(0, packets, chunk):
            n = min(chunk, packets - lo)
            kind = rng.choice(np.array([INGRESS_POD, INGRESS_NODE, INGRESS_UPLINK]), n, p=[0.6, 0.2, 0.2])
            iid = np.where(kind == INGRESS_POD, rng.integers(0, P, n),
                           np.where(kind == INGRESS_NODE, rng.integers(0, N, n), rng.integers(0, U, n)))
            outside = (0xC6336400 + rng.integers(1, 255, n)).astype(np.uint32)  # 198.51.100.0/24
            src_ip = np.where(kind == INGRESS_POD, pod_ip[np.minimum(iid, P - 1)],
                              np.where(kind == INGRESS_NODE, node_ip[np.minimum(iid, N - 1)], outside))
            to = rng.integers(0, 10, n)
            dst_ip = np.where(to < 6, pod_ip[rng.integers(0, P, n)],
                              np.where(to < 8, node_ip[rng.integers(0, N, n)], outside[::-1]))
            dst_ip = np.where((kind == INGRESS_UPLINK) & (to >= 8), pod_ip[rng.integers(0, P, n)], dst_ip)
            yield make_batch(
                ingress_kind=kind, ingress_id=iid, src_ip=src_ip, dst_ip=dst_ip,
                proto=rng.choice(np.array([17, 6, 1]), n), sport=rng.integers(1024, 65536, n),
                dport=rng.integers(1, 65536, n),
                ttl=rng.choice(np.array([1, 2, 3, 64, 255]), n, p=[.1, .1, .1, .5, .2]),
                length=rng.choice(np.array([40, 46, 64, 100, 576, 1400]), n))


def traffic(name: str, c):
    if name in ("locality", "north_south"):
        return profile_by_name(c, name)
    return {"udp": Uniform(), "tcp-imix": Uniform(proto=6, sizes=imix()), "icmp": Uniform(proto=1),
            "mixed": MixedSenders()}[name]


# (id, cluster, traffic, packets, nanosecond pcap, chunk, the points whose wire carries frames: the files written)
CASES = [
    ("seed-udp", "seed", "udp", 2500, False, 1 << 18, ("pod", "uplink", "underlay")),
    ("seed-opt8-udp", "seed-opt8", "udp", 2500, True, 1 << 18, ("pod", "uplink", "underlay")),
    ("seed-tcp-imix-chunked", "seed", "tcp-imix", 2500, True, 700, ("pod", "uplink", "underlay")),
    ("seed-opt8-icmp", "seed-opt8", "icmp", 2000, False, 1 << 18, ("pod", "uplink", "underlay")),
    ("gen-locality", "gen", "locality", 2500, False, 1 << 18, POINTS),
    ("gen-opt12-north-south", "gen-opt12", "north_south", 2000, True, 1 << 18, POINTS),
    ("gen-opt12-mixed-senders", "gen-opt12", "mixed", 2500, False, 1000, POINTS),
]
"""Uniform pod -> pod traffic never reaches the T0 uplinks: those cases write no (empty) edge file."""
WIRES = [(case, at) for case in CASES for at in case[6]]


def run_capture(tmp_path, case, at, *, snaplen=262144):
    """Write the capture; return (path, report, the run's frames, their timestamps, tunnel-leg bytes)."""
    name, cname, tname, packets, ns, chunk, _ = case
    c = cluster(cname)
    caps, stamps, legs = [], [], []
    done = [0]

    def on_frames(cap, batch, run):
        caps.append(cap.frames)
        # documented timing: packet k of the run at START_NS + k * 1 us, its path's frames 1 ns apart
        p = cap.packet
        k = np.zeros(p.size, np.int64)
        for i in range(1, p.size):
            k[i] = k[i - 1] + 1 if p[i] == p[i - 1] else 0
        stamps.append(START_NS + (done[0] + p) * GAP_NS + k)
        legs.append(run.legs[:, pipeline.LEG_BYTES])
        done[0] += batch.size

    path = tmp_path / f"{name}-{at}.pcap"
    rep = capture(c, at, path, packets=packets, profile=traffic(tname, c), seed=11, chunk=chunk, nanosecond=ns,
                  snaplen=snaplen, on_frames=on_frames)
    assert done[0] == packets
    frames = make_frames(**{k: np.concatenate([getattr(f, k) for f in caps]) for k in caps[0]._fields})
    return path, rep, frames, np.concatenate(stamps), np.concatenate(legs)


# ---- tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, at", WIRES, ids=[f"{c[0]}-{at}" for c, at in WIRES])
def test_tshark_reads_what_the_run_wrote(tshark_cmd, tmp_path, case, at):
    path, rep, frames, ts, leg_bytes = run_capture(tmp_path, case, at)
    assert frames.size > 0, f"{case[0]}: no frames at {at}: the case covers nothing there"
    assert rep.frames == frames.size
    assert rep.bytes == int(frame_lengths(frames).sum())
    got = run_tshark(tshark_cmd, path)
    compare(got, expected_rows(frames, ts, nanosecond=case[4], snaplen=262144), f"{case[0]} at {at}")
    if at == "underlay":
        # every tunnel leg the run counted is one Geneve frame of exactly the bytes it counted
        assert [r["frame.len"][0] for r in got] == leg_bytes.tolist()


@pytest.mark.parametrize("at", ["pod", "underlay"])
def test_snaplen_cut_frames(tshark_cmd, tmp_path, at):
    """snaplen 64: tshark sees each frame's wire length and 64 captured bytes; the (outer) Ethernet
    and IPv4 headers, all inside them, still read back with a good checksum."""
    path, _, frames, ts, _ = run_capture(tmp_path, CASES[1], at, snaplen=64)
    got = run_tshark(tshark_cmd, path)
    lengths = frame_lengths(frames)
    assert len(got) == frames.size > 0 and (lengths > 64).all()
    assert [r["frame.len"] for r in got] == [(n,) for n in lengths.tolist()]
    assert {r["frame.cap_len"] for r in got} == {(64,)}
    src, dst = (frames.outer_src_ip, frames.outer_dst_ip) if at == "underlay" else (frames.src_ip, frames.dst_ip)
    assert [r["ip.src"][0] for r in got] == src.tolist()
    assert [r["ip.dst"][0] for r in got] == dst.tolist()
    assert [r["ip.checksum.status"][0] for r in got] == [GOOD] * frames.size
    assert [r["frame.time_epoch"] for r in got] == [(t,) for t in ts.tolist()]
    if at == "underlay":
        assert [r["geneve.vni"] for r in got] == [(v,) for v in frames.vni.tolist()]


def test_cli_capture(tshark_cmd, tmp_path):
    out = tmp_path / "cli.pcap"
    r = subprocess.run([sys.executable, "-m", "fastpath", "capture", "--at", "underlay", "--generate", "4x2x10x3",
                        "--packets", "2000", "--out", str(out), "--json"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert (rep["at"], rep["packets"]) == ("underlay", 2000)
    got = run_tshark(tshark_cmd, out)
    assert rep["frames"] > 0 and len(got) == rep["frames"]
    assert sum(g["frame.len"][0] for g in got) == rep["bytes"]
    assert all(g["ip.checksum.status"] == (GOOD, GOOD) and g["udp.checksum.status"][0] == GOOD for g in got)
    assert all(g["geneve.vni"] and g["ip.ttl"][0] == OUTER_TTL for g in got)


def test_tshark_flags_bad_checksums(tshark_cmd, tmp_path):
    """The harness can fail: one corrupted checksum per frame, and tshark calls exactly it bad."""
    f = make_frames(proto=np.array([17, 6, 1, 17, 17, 6]), length=np.array([100, 100, 100, 100, 100, 100]),
                    encap=np.array([0, 0, 0, 0, 1, 1]), src_ip=0x0A000001, dst_ip=0x0A000002, sport=4000, dport=5000,
                    ttl=64, src_mac=0x020000000001, dst_mac=0x020000000002, outer_src_ip=0xC0A80001,
                    outer_dst_ip=0xC0A80002, outer_sport=50000, vni=0x10000, outer_src_mac=0x025400000001,
                    outer_dst_mac=0x025400000002)
    buf, off = encode(f)
    # byte offsets within each frame of the checksum to break: UDP, TCP, ICMP, IPv4, outer UDP, inner TCP (which
    # breaks the outer UDP checksum too: it covers the inner frame)
    flip = [14 + 20 + 6, 14 + 20 + 16, 14 + 20 + 2, 14 + 10, 14 + 20 + 6, 50 + 14 + 20 + 16]
    for i, at in enumerate(flip):
        buf[off[i] + at] ^= 0x5A
    path = tmp_path / "bad.pcap"
    with PcapWriter(path) as w:
        w.write(buf, off, START_NS + np.arange(f.size, dtype=np.int64) * GAP_NS)
    got = run_tshark(tshark_cmd, path)
    assert [g["udp.checksum.status"] for g in got] == [(BAD,), (), (), (GOOD,), (BAD, GOOD), (BAD,)]
    assert [g["tcp.checksum.status"] for g in got] == [(), (BAD,), (), (), (), (BAD,)]
    assert [g["icmp.checksum.status"] for g in got] == [(), (), (BAD,), (), (), ()]
    assert [g["ip.checksum.status"] for g in got] == [(GOOD,)] * 3 + [(BAD,), (GOOD, GOOD), (GOOD, GOOD)]


def test_short_packets_cut_their_l4_header(tshark_cmd, tmp_path):
    """IPv4 total lengths 20..41, plain and in Geneve: the L4 header is cut where the packet ends, and
    every checksum tshark can check — IPv4, the outer UDP over the cut inner frame, a complete L4
    header's — is good."""
    grid = [(p, n, e) for p in (17, 6, 1) for n in range(20, 42) for e in (0, 1)]
    proto, length, encap = (np.array(col) for col in zip(*grid))
    f = make_frames(proto=proto, length=length, encap=encap, opt_bytes=8 * encap, src_ip=0x0A000001,
                    dst_ip=0x0A000002, sport=4000, dport=5000, ttl=64, outer_src_ip=0xC0A80001,
                    outer_dst_ip=0xC0A80002, outer_sport=50000, vni=0x10000, opt_data=3)
    buf, off = encode(f)
    path = tmp_path / "short.pcap"
    with PcapWriter(path) as w:
        w.write(buf, off, START_NS + np.arange(f.size, dtype=np.int64) * GAP_NS)
    got = run_tshark(tshark_cmd, path)
    assert [g["frame.len"] for g in got] == [(n,) for n in frame_lengths(f).tolist()]
    assert [g["ip.len"][-1] for g in got] == length.tolist()
    assert [g["ip.checksum.status"] for g in got] == [(GOOD,) * (1 + e) for _, _, e in grid]
    statuses = ("udp.checksum.status", "tcp.checksum.status", "icmp.checksum.status")
    bad = [(i, k, g[k]) for i, g in enumerate(got) for k in statuses if set(g[k]) - {GOOD}]
    assert not bad, f"checksums tshark does not call good (frame, field, statuses): {bad[:6]}"
    full = {17: 28, 6: 40, 1: 28}  # total lengths that hold the whole UDP / TCP / ICMP header
    for (p, n, e), g in zip(grid, got):
        k = {17: "udp.checksum.status", 6: "tcp.checksum.status", 1: "icmp.checksum.status"}[p]
        if e:
            assert g["udp.checksum.status"][0] == GOOD, f"outer UDP checksum, inner proto {p} length {n}"
        if n >= full[p]:
            assert g[k][-1:] == (GOOD,), f"proto {p} length {n} encap {e}: {k} {g[k]}"


def test_replay_and_tshark_agree_on_which_frames_are_damaged(tshark_cmd, tmp_path):
    """Frames of every protocol, plain and in Geneve, UDP checksums of 0 (none) among them; one
    bit flipped in the L4 bytes of half of them. The frames the decoder calls malformed for a
    checksum (``l4-checksum`` / ``outer-udp-checksum``) are exactly those tshark, checking
    UDP / TCP / ICMP checksums, calls bad; with verification off, none is malformed."""
    from fastpath.wire.codec import MALFORMED, decode, split

    rng = np.random.default_rng(17)
    n = 600
    proto = rng.choice(np.array([17, 6, 1], np.uint8), n)
    encap = (rng.random(n) < 0.5).astype(np.uint8)
    f = make_frames(proto=proto, length=rng.integers(np.where(proto == 6, 40, 28), 400), encap=encap, opt_bytes=8 * encap,
                    src_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32), dst_ip=rng.integers(1, 1 << 32, n, dtype=np.uint32),
                    sport=rng.integers(0, 65536, n), dport=rng.integers(0, 65536, n), ttl=64, src_mac=0x020000000001,
                    dst_mac=0x020000000002, outer_src_ip=0xC0A80001, outer_dst_ip=0xC0A80002,
                    outer_sport=rng.integers(49152, 65536, n), vni=0x10000, opt_data=rng.integers(0, 1 << 32, n))
    buf, off = encode(f)
    udp = off[:-1] + 34  # the outermost UDP / TCP / ICMP header of every frame (no VLAN tags here)
    inner_l4 = np.where(encap != 0, udp + 8 + 8 + 8 + 14 + 20, udp)
    nosum = rng.random(n) < 0.1  # checksum 0: none (the outer UDP one of a Geneve frame, a plain UDP frame's own)
    nosum &= (encap != 0) | (proto == 17)
    for i in np.flatnonzero(nosum):
        buf[udp[i] + 6: udp[i] + 8] = 0
    damaged = rng.random(n) < 0.5
    for i in np.flatnonzero(damaged):
        buf[rng.integers(inner_l4[i], off[i + 1])] ^= np.uint8(1 << int(rng.integers(0, 8)))
    path = tmp_path / "damaged.pcap"
    with PcapWriter(path) as w:
        w.write(buf, off, START_NS + np.arange(n, dtype=np.int64) * GAP_NS)
    # tshark's bad checksums, and a UDP length field beyond the IP payload (a damaged length: tshark
    # calls that malformed and checks no checksum; we check over the IP payload, and it fails)
    bad_filter = ("udp.checksum.status == 0 || tcp.checksum.status == 0 || icmp.checksum.status == 0 "
                  "|| udp.length.bad")
    r = subprocess.run(tshark_cmd + ["-r", str(path), "-Y", bad_filter, "-T", "fields", "-e", "frame.number"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    bad_numbers = {int(x) for x in r.stdout.split()}
    tshark_bad = [k + 1 in bad_numbers for k in range(n)]
    d = decode(buf, *split(buf, off))
    ours = [MALFORMED[s] for s in d.status]
    assert set(ours) <= {"", "l4-checksum", "outer-udp-checksum"}
    assert [s != "" for s in ours] == tshark_bad
    assert sum(tshark_bad) > n // 3  # most damage is caught (a flip into a checksum 0 field can hide)
    assert ours.count("outer-udp-checksum") > 50 and ours.count("l4-checksum") > 50
    assert (decode(buf, *split(buf, off), verify_checksums=False).status == 0).all()


# ---- walks and captures that cross no tunnel, or never leave the sender ------------------------------------

ONE_HOST = """\
cluster: {name: one-host, pod_cidr: 172.16.0.0/16}
node_network: {subnet: 172.15.0.0/24}
hosts: [{name: esx-1}]
nodes: [{name: n1, host: esx-1}, {name: n2, host: esx-1}]
namespaces: [{name: a, subnet: 172.16.1.0/24}]
pods: [{name: p1, namespace: a, node: n1}, {name: p2, namespace: a, node: n2}]
"""
ONE_NODE = ONE_HOST.replace("nodes: [{name: n1, host: esx-1}, {name: n2, host: esx-1}]", "nodes: [{name: n1, host: esx-1}]") \
    .replace(", {name: p2, namespace: a, node: n2}", "")
NO_PODS = ONE_NODE.replace("pods: [{name: p1, namespace: a, node: n1}]", "pods: []")

WALKS = {  # id: (trace arguments, the wires its frames crossed, where the walk ended)
    "ttl-1": (["kube-system/kube-dns", "worker-2", "--ttl", "1"], ["pod", "uplink"], "dropped, ttl-expired"),
    "dfw-deny": (["default/nginx-1", "db/postgres-1"], ["pod", "uplink"], "dropped, dfw-deny"),
    "spoofguard": (["default/nginx-1", "web/frontend-2", "--src-ip", "10.9.9.9"], ["pod", "uplink"],
                   "dropped, spoofguard"),
    "same-host": (["kube-system/kube-dns", "worker-1"], ["pod", "uplink", "uplink"], "delivered"),
    "pod-to-itself": (["default/nginx-1", "default/nginx-1"], [], "delivered"),
    "node-to-itself": (["worker-1", "worker-1"], [], "delivered"),
    "one-host-cluster": (["a/p1", "a/p2", "--cluster", "{one_host}"], ["pod", "uplink", "uplink"], "delivered"),
}


def _tshark_frames(tshark, path) -> list[list[str]]:
    """tshark's reading of a pcap: per frame (IPv4 source, destination, VLAN ID); it must read it cleanly."""
    r = subprocess.run([tshark, "-n", "-r", str(path), "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "vlan.id"],
                       check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not [x for x in r.stderr.splitlines() if "Running as user" not in x], r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


@pytest.mark.parametrize("case", WALKS)
def test_trace_pcap_of_a_walk_that_crosses_no_tunnel(tshark, tmp_path, case):
    args, wires, end = WALKS[case]
    (tmp_path / "one.yaml").write_text(ONE_HOST)
    args = [a.format(one_host=tmp_path / "one.yaml") for a in args]
    path = tmp_path / "walk.pcap"
    r = subprocess.run([sys.executable, "-m", "fastpath", "trace", *args, "--pcap", str(path), "--json"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    said = r.stderr.strip().splitlines()
    assert len(said) == 1 and end in said[0], r.stderr
    if wires:
        assert said[0].startswith(f"wrote {len(wires)} frames to {path}: {' -> '.join(wires)} (no tunnel crossed; ")
    else:
        assert said[0].startswith(f"wrote no frames to {path} (an empty pcap): the packet never left the sender")
    res = json.loads(r.stdout)
    got = _tshark_frames(tshark, path)
    assert len(got) == len(wires)
    sent = res["hops"][0]["headers"]  # what the sender put on the wire (the spoofed source included)
    assert [(s, d) for s, d, _ in got] == [(sent["ip_src"], sent["ip_dst"])] * len(wires)


def test_a_tagged_frame_from_a_pod_is_written_where_it_was_dropped(tshark, tmp_path):
    """A pod sending on a VLAN of its own (unknown to OVS's access port): its eth0 frame, with
    the tag, and nothing further."""
    from fastpath.dataplane import Dataplane
    from fastpath.reference.batch import batch_of
    from fastpath.reference.endpoints import resolve_destination, resolve_source
    from fastpath.reference.walk import Packet
    from fastpath.wire.observe import walk_frames

    c = default_scenario()
    ingress, sip = resolve_source(c, "default/nginx-1")
    b = batch_of(ingress, Packet(src_ip=sip, dst_ip=resolve_destination(c, "web/frontend-2"), vlan=5))
    dp = Dataplane(c)
    run = dp.forward(b, legs=True)
    assert run.results.reason[0] == pipeline.R_VLAN
    wires, frames = walk_frames(c, dp.tables, b, run)
    assert wires == ["pod"]
    buf, off = encode(frames)
    with PcapWriter(tmp_path / "tagged.pcap") as w:
        w.write(buf, off, np.array([START_NS]))
    assert _tshark_frames(tshark, tmp_path / "tagged.pcap") == [["172.16.2.2", "172.16.3.3", "5"]]


def test_capture_and_demo_on_a_one_host_cluster(tshark, tmp_path):
    spec = tmp_path / "one.yaml"
    spec.write_text(ONE_HOST)
    out = tmp_path / "u.pcap"
    r = subprocess.run([sys.executable, "-m", "fastpath", "capture", "--at", "underlay", "--cluster", str(spec),
                        "--packets", "500", "--out", str(out)], check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "wrote 0 frames" in r.stdout and "a cluster of one host has none" in r.stdout, r
    assert _tshark_frames(tshark, out) == []
    (tmp_path / "one-pod.yaml").write_text(ONE_NODE)  # its one pod can only send to itself
    r = subprocess.run([sys.executable, "-m", "fastpath", "capture", "--at", "pod", "--cluster", str(tmp_path / "one-pod.yaml"),
                        "--packets", "50", "--out", str(out)], check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "wrote 0 frames" in r.stdout and "never leaves the pod" in r.stdout, r
    assert _tshark_frames(tshark, out) == []
    for name, text, frames in (("one-host", ONE_HOST, 3), ("one-node", ONE_NODE, 3), ("no-pods", NO_PODS, None)):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(text)
        demo = tmp_path / name
        r = subprocess.run([sys.executable, "-m", "fastpath", "demo", "--cluster", str(spec), "--packets", "2000",
                            "--out", str(demo)], check=False, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "COLUMNS": "400"})  # rich would wrap the paths
        assert r.returncode == 0 and "Traceback" not in r.stderr, (name, r.stderr[-2000:])
        if frames is None:
            assert "no pods: no packet to walk" in r.stdout and not (demo / "seed-walk.pcap").exists()
        else:
            assert f"wrote {frames} frames to {demo / 'seed-walk.pcap'}" in r.stdout
            assert len(_tshark_frames(tshark, demo / "seed-walk.pcap")) == frames
        assert (demo / "summary.md").exists()
