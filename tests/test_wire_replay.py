"""Capture and replay: the frames a run puts on each wire, and captures pushed back through
the model. Oracles: the reference walk's tunnels, the run's own per-packet results, scapy."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scapy.all import ARP, IP, UDP, Dot1Q, Ether, Raw, wrpcap

from fastpath.dataplane import Dataplane
from fastpath.dataplane import pipeline as pl
from fastpath.model import default_scenario, from_spec, generate, to_spec
from fastpath.model.addressing import ip_to_str, mac_to_str
from fastpath.packets import make_batch
from fastpath.reference.batch import walk_batch
from fastpath.traffic import profile_by_name, uniform_pod_to_pod
from fastpath.traffic.adversarial import adversarial_mix
from fastpath.verdicts import Verdict
from fastpath.wire.capture import capture
from fastpath.wire.codec import MALFORMED, decode, encode
from fastpath.wire.observe import on_wire, walk_frames
from fastpath.wire.pcap import read_all
from fastpath.wire.replay import NO_SENDER, Senders, replay


@pytest.fixture(scope="module")
def edges():
    """Edges with service routers (hairpins: up to three tunnel legs a packet), Geneve options on."""
    c = generate(6, 2, 10, 8, edges=2, service_t1_fraction=0.5, mtu=(1600, 1500, 9000), dfw_rules=6, seed=3)
    spec = to_spec(c)
    spec["cluster"]["geneve_option_bytes"] = 8
    return from_spec(spec)


def test_tunnel_legs_are_the_references_tunnels(edges):
    c = edges
    b = adversarial_mix(c, 4000, seed=5)
    run = Dataplane(c).forward(b, legs=True)
    _, ref = walk_batch(c, b)
    want = [(i, c.host_index[t.src_host], c.host_index[t.dst_host], t.vni, t.outer_bytes)
            for i, r in enumerate(ref) for t in r.tunnels]
    L = run.legs
    H = len(c.hosts)
    got = list(zip(L[:, pl.LEG_PACKET].tolist(), (L[:, pl.LEG_TEP] // H).tolist(), (L[:, pl.LEG_TEP] % H).tolist(),
                   L[:, pl.LEG_VNI].tolist(), L[:, pl.LEG_BYTES].tolist()))
    assert got == want
    assert max(len(r.tunnels) for r in ref) >= 2  # hairpins through edges were exercised
    # each leg's TTL is the packet's as the reference saw it at that tunnel's hop
    for (i, *_), ttl in zip(got, L[:, pl.LEG_TTL]):
        tep_hops = [h.ttl for h in ref[i].hops if h.table == "tep"]
        assert ttl in tep_hops


def test_two_threads_log_the_same_legs(edges):
    b = next(profile_by_name(edges, "locality").batches(edges, 20_000, seed=2))
    dp = Dataplane(edges)
    one, two = dp.forward(b, legs=True).legs, dp.forward(b, threads=2, legs=True).legs
    assert one.shape[0] > 1000 and np.array_equal(one, two)


def _resent(c, dp, frames_buf, offsets):
    """The packets a capture's frames replay as (decoded, then given their senders)."""
    d = decode(frames_buf, offsets[:-1], np.diff(offsets).astype(np.uint32))
    return Senders(c, dp.tables).batch(d)


def _inbound(c, n: int, seed: int):
    """Packets from the physical network: outside sources to pods, nodes and elsewhere."""
    rng = np.random.default_rng(seed)
    dst = np.concatenate([c.pods.ip, [nd.ip for nd in c.nodes], rng.integers(1, 1 << 32, 50)]).astype(np.uint32)
    return make_batch(ingress_kind=9, ingress_id=rng.integers(0, len(c.uplinks), n),
                      src_ip=(198 << 24 | 18 << 16) + rng.integers(0, 1 << 17, n), dst_ip=rng.choice(dst, n),
                      proto=rng.choice([1, 6, 17], n), sport=rng.integers(0, 65536, n), dport=rng.integers(0, 65536, n),
                      ttl=rng.integers(1, 65, n), length=rng.integers(40, 1501, n))


@pytest.mark.parametrize("at,profile", [("pod", "locality"), ("edge", "north_south")])
def test_replayed_frames_get_the_runs_own_results(edges, at, profile):
    """A frame seen where its packet was sent replays to the same packet: same results."""
    c = edges
    dp = Dataplane(c)
    b = next(profile_by_name(c, profile).batches(c, 20_000, seed=4))
    if at == "edge":  # north_south sends outwards; add packets coming in from the uplinks
        b = type(b)(*(np.concatenate([x, y]) for x, y in zip(b, _inbound(c, 20_000, seed=4))))
    run = dp.forward(b)
    cap = on_wire(c, dp.tables, b, run, at)
    buf, off = encode(cap.frames)
    batch, cause = _resent(c, dp, buf, off)
    sent = np.ones(cap.packet.size, bool)  # where the packet was sent: its first frame on this wire
    sent[1:] = cap.packet[1:] != cap.packet[:-1]
    if at == "edge":
        sent &= b.ingress_kind[cap.packet] == 9
        assert (cause[~sent] == NO_SENDER).all()  # the exits are the model's own output (router MAC): no sender
        assert np.count_nonzero(~sent) > 1000
    assert (cause[sent] == 0).all() and np.count_nonzero(sent) > 1000
    again = dp.forward(type(batch)(*(x[sent] for x in batch))).results
    for name in ("verdict", "reason", "dev_kind", "dev_id", "egress_port", "ttl_out", "hops", "n_tunnels",
                 "underlay_bytes", "via_edge"):
        assert np.array_equal(getattr(again, name), getattr(run.results, name)[cap.packet[sent]]), name


def test_underlay_frames_are_the_legs_and_each_inner_frame_is_consistent(edges):
    c = edges
    dp = Dataplane(c)
    b = next(profile_by_name(c, "locality").batches(c, 10_000, seed=6))
    run = dp.forward(b, legs=True)
    cap = on_wire(c, dp.tables, b, run, "underlay")
    buf, off = encode(cap.frames)
    assert np.array_equal(np.diff(off), run.legs[:, pl.LEG_BYTES])
    d = decode(buf, off[:-1], np.diff(off).astype(np.uint32))
    assert (d.status == 0).all() and (d.encap == 1).all()
    assert np.array_equal(d.vni, run.legs[:, pl.LEG_VNI]) and np.array_equal(d.ttl, run.legs[:, pl.LEG_TTL])
    assert np.array_equal(d.src_ip, b.src_ip[cap.packet]) and np.array_equal(d.length, b.length[cap.packet])
    hosts = {h.tep for h in c.hosts}
    assert set(d.outer_src_ip.tolist()) <= hosts and set(d.outer_dst_ip.tolist()) <= hosts
    routed = d.ttl < b.ttl[cap.packet]
    assert (d.src_mac[routed] == c.settings.router_mac).all()
    assert np.array_equal(d.src_mac[~routed], c.pods.mac[b.ingress_id[cap.packet[~routed]]])


def test_uplink_frames_carry_the_pods_vlans():
    c = default_scenario()
    dp = Dataplane(c)
    b = next(uniform_pod_to_pod(c, 5000, seed=1))
    run = dp.forward(b)
    cap = on_wire(c, dp.tables, b, run, "uplink")
    buf, off = encode(cap.frames)
    d = decode(buf, off[:-1], np.diff(off).astype(np.uint32))
    up = np.ones(cap.packet.size, bool)
    up[1:] = cap.packet[1:] != cap.packet[:-1]  # each packet's first frame: up its own trunk
    assert np.array_equal(d.vlan[up], c.pods.vlan[b.ingress_id[cap.packet[up]]])
    delivered = run.results.verdict == Verdict.DELIVERED
    down = ~up
    assert down.sum() == np.count_nonzero(delivered & (run.results.egress_port >= 0))
    egress = run.results.egress_port[cap.packet[down]]
    pods = egress < len(c.pods)
    assert np.array_equal(d.vlan[down][pods], c.pods.vlan[egress[pods]])
    assert np.array_equal(d.ttl[down], run.results.ttl_out[cap.packet[down]])


def test_capture_is_reproducible_and_replays_to_the_same_counts(tmp_path):
    c = default_scenario()
    a, b2 = tmp_path / "a.pcap", tmp_path / "b.pcap"
    rep = capture(c, "pod", a, packets=30_000, seed=9, chunk=7_000)
    capture(c, "pod", b2, packets=30_000, seed=9, chunk=30_000)
    assert a.read_bytes() == b2.read_bytes()  # whatever the chunking
    ts = read_all(a).ts_ns
    assert (np.diff(ts) > 0).all()
    back = replay(c, a)
    assert back.frames == rep.frames and not back.malformed and back.error is None
    left = rep.packets - rep.frames  # packets that never left their pod (to their own IP)
    assert back.verdicts["delivered"] == rep.verdicts["delivered"] - left
    assert back.verdicts["dropped"] == rep.verdicts["dropped"]


def test_scapy_written_pcaps_replay_with_malformed_frames_counted(tmp_path):
    c = default_scenario()
    pods = [0, 1, 2, 3]
    good = [Ether(src=mac_to_str(c.pods.mac[p]), dst=mac_to_str(c.settings.router_mac))
            / IP(src=ip_to_str(c.pods.ip[p]), dst=ip_to_str(c.nodes[1].ip), ttl=64) / UDP(sport=1234, dport=53)
            / Raw(bytes(30)) for p in pods]
    tagged = Ether(src=mac_to_str(c.pods.mac[0]), dst=mac_to_str(c.settings.router_mac)) / Dot1Q(
        vlan=int(c.pods.vlan[0])) / IP(src=ip_to_str(c.pods.ip[0]), dst=ip_to_str(c.nodes[1].ip)) / UDP()
    arp = Ether(src=mac_to_str(c.pods.mac[0])) / ARP()
    stranger = Ether(src="02:50:56:56:44:52") / IP(src=ip_to_str(c.pods.ip[0]), dst="8.8.8.8") / UDP()
    f = tmp_path / "scapy.pcap"
    wrpcap(str(f), [*good, tagged, arp, stranger])
    rep = replay(c, f)
    assert rep.frames == 7 and rep.error is None
    assert rep.malformed == {"ethertype": 1, "no-sender": 1} and rep.examples == {"ethertype": [6], "no-sender": [7]}  # as Wireshark numbers them
    assert rep.verdicts == {"delivered": 5, "exited": 0, "dropped": 2}
    wrpcap(str(tmp_path / "ns.pcap"), good, nano=True)
    assert replay(c, tmp_path / "ns.pcap").verdicts["delivered"] == 4


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=180)


def test_cli_capture_and_replay(tmp_path):
    f = tmp_path / "u.pcap"
    out = _cli("capture", "--at", "underlay", "--generate", "4x2x10x3", "--packets", "3000", "--out", str(f), "--json")
    assert out.returncode == 0, out.stderr
    cap = json.loads(out.stdout)
    assert cap["frames"] > 1000 and cap["bytes"] == sum(read_all(f).orig_len)
    back = _cli("replay", str(f), "--generate", "4x2x10x3", "--json")
    assert back.returncode == 0, back.stderr
    rep = json.loads(back.stdout)
    assert rep["frames"] == cap["frames"]
    # every frame is Geneve: its inner frame replays from its pod, or (routed already) from no sender
    assert rep["geneve"] + rep["malformed"].get("no-sender", 0) == cap["frames"] and rep["geneve"] > 0
    assert sum(rep["verdicts"].values()) == cap["frames"] and rep["report"]["verdicts"]


def test_cli_replay_of_a_broken_pcap_keeps_the_frames_before(tmp_path):
    f = tmp_path / "p.pcap"
    capture(default_scenario(), "pod", f, packets=500, seed=1)
    data = f.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-7])
    out = _cli("replay", str(cut), "--json")
    assert out.returncode == 2  # the error exit of every fastpath command
    rep = json.loads(out.stdout)
    frames = len(read_all(f).start)
    assert rep["frames"] == frames - 1 and sum(rep["verdicts"].values()) == frames - 1
    assert f"frame {frames} at byte offset" in out.stderr  # the last, numbered from 1 and out.stderr.count("\n") == 1
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + data[4:])
    out = _cli("replay", str(bad))
    assert out.returncode == 2 and "pcapng" in out.stderr and "Traceback" not in out.stderr
    missing = _cli("replay", str(tmp_path / "none.pcap"))
    assert missing.returncode != 0 and "none.pcap" in missing.stderr and "Traceback" not in missing.stderr


def test_the_seed_walks_frames_on_every_wire(tmp_path):
    """The seed's packet, kube-dns -> worker-2: VLAN 1 on the node trunk, Geneve esx-1 -> esx-2
    with VNI 65536, TTL 64 out of the pod and 61 into the node."""
    f = tmp_path / "walk.pcap"
    out = _cli("trace", "kube-system/kube-dns", "worker-2", "--pcap", str(f))
    assert out.returncode == 0, out.stderr
    assert "wrote 4 frames" in out.stdout and "pod -> uplink -> underlay -> uplink" in out.stdout
    chunk = read_all(f)
    d = decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len)
    c = default_scenario()
    dns, node = c.pod_index["kube-system/kube-dns"], c.node_index["worker-2"]
    assert (d.status == 0).all() and d.encap.tolist() == [0, 0, 1, 0]
    assert d.vlan.tolist() == [0, int(c.pods.vlan[dns]), 0, 0] == [0, 1, 0, 0]
    assert d.ttl.tolist() == [64, 64, 61, 61] and d.vni[2] == 65536
    assert (d.outer_src_ip[2], d.outer_dst_ip[2]) == (c.host("esx-1").tep, c.host("esx-2").tep)
    assert d.src_mac.tolist() == [c.pods.mac[dns]] * 2 + [c.settings.router_mac] * 2
    assert d.dst_mac.tolist() == [c.settings.router_mac] * 2 + [c.nodes[node].mac] * 2
    assert (d.dst_ip == c.nodes[node].ip).all() and (d.length == 100).all()


def test_walk_frames_follow_hairpins_and_exits(edges):
    c = edges
    dp = Dataplane(c)
    b = next(profile_by_name(c, "north_south").batches(c, 3000, seed=1))
    run = dp.forward(b, legs=True)
    r = run.results
    for want in (r.via_edge & (r.n_tunnels >= 2), r.verdict == Verdict.EXITED):
        i = int(np.flatnonzero(want)[0])
        one = type(b)(*(x[i:i + 1] for x in b))
        wires, frames = walk_frames(c, dp.tables, one, dp.forward(one, legs=True))
        assert wires[:2] == ["pod", "uplink"] and wires.count("underlay") == r.n_tunnels[i]
        assert wires[-1] == ("edge" if r.verdict[i] == Verdict.EXITED else "uplink")
        ttl = frames.ttl.tolist()
        assert ttl == sorted(ttl, reverse=True) and ttl[-1] == r.ttl_out[i]  # TTL only goes down along the way


def test_pcaps_written_by_wireshark_tools_replay(tmp_path, tshark):
    """tshark rewrites our capture with libpcap's own writer (as tcpdump writes): the replay
    is the same; a pcapng from it is refused with the conversion, and converted it replays."""
    import os

    c = default_scenario()
    ours, theirs, ng, back = (tmp_path / n for n in ("ours.pcap", "theirs.pcap", "f.pcapng", "back.pcap"))
    capture(c, "uplink", ours, packets=3000, seed=2, nanosecond=True)
    for cmd in ([tshark, "-r", str(ours), "-F", "pcap", "-w", str(theirs)],
                [tshark, "-r", str(ours), "-F", "pcapng", "-w", str(ng)],
                [os.path.join(os.path.dirname(tshark), "editcap"), "-F", "nsecpcap", str(ng), str(back)]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    want = replay(c, ours)
    assert want.frames > 3000 and want.error is None
    for f in (theirs, back):
        got = replay(c, f)
        assert (got.frames, got.verdicts, got.reasons, got.malformed) == (want.frames, want.verdicts, want.reasons,
                                                                           want.malformed)
    refused = replay(c, ng)
    assert refused.frames == 0 and "pcapng" in refused.error and "editcap" in refused.error


def test_cli_capture_says_when_no_packet_crossed_the_wire(tmp_path):
    out = _cli("capture", "--at", "edge", "--packets", "500", "--out", str(tmp_path / "e.pcap"))
    assert out.returncode == 0, out.stderr
    assert "wrote 0 frames" in out.stdout and "--profile north_south" in out.stdout
    assert len(read_all(tmp_path / "e.pcap").start) == 0  # a valid, empty pcap
    out = _cli("capture", "--at", "edge", "--packets", "500", "--profile", "north_south", "--out", str(tmp_path / "n.pcap"))
    assert out.returncode == 0 and "wrote 500 frames" in out.stdout and "crossed" not in out.stdout


def test_a_pods_frame_is_on_its_trunk_exactly_when_its_bridge_passed_it_up():
    """The uplink point's up frames of pod packets are those whose walk crossed the source OVS
    to the VIF: none the bridge dropped (tagged, reserved MAC, own MAC, own source)."""
    c = default_scenario()
    dp = Dataplane(c)
    b = adversarial_mix(c, 6000, seed=11)
    run = dp.forward(b)
    _, full = walk_batch(c, b)
    cap = on_wire(c, dp.tables, b, run, "uplink")
    up = np.ones(cap.packet.size, bool)
    up[1:] = cap.packet[1:] != cap.packet[:-1]
    got = set(cap.packet[up & (b.ingress_kind[cap.packet] == 0)].tolist())
    want = {i for i, r in enumerate(full) if b.ingress_kind[i] == 0 and b.length[i] >= 20 and b.vlan[i] <= 4095
            and any(h.table == "vif" for h in r.hops)}
    assert got == want
    dropped_by_ovs = {i for i, r in enumerate(full) if b.ingress_kind[i] == 0 and r.device.startswith("ovs@")}
    assert len(dropped_by_ovs) > 100 and not dropped_by_ovs & got


# ---- damaged frames: counted malformed by their checksum, unless told to ignore checksums -------------------

def _damage(src, dst, frames, at):
    """Copy pcap ``src`` to ``dst`` with byte ``at`` (from each frame's end when negative) of
    the given 0-based frames flipped: the pcap stays well-formed, the frames do not."""
    from fastpath.wire.pcap import PcapWriter

    chunk = read_all(src)
    buf = chunk.buf.copy()
    for i in frames:
        pos = int(chunk.start[i]) + (at if at >= 0 else int(chunk.caplen[i]) + at)
        buf[pos] ^= 0x20
    off = np.append(chunk.start, chunk.start[-1] + chunk.caplen[-1])
    assert np.array_equal(off[1:-1], chunk.start[1:])  # frames end to end, as read
    with PcapWriter(dst) as w:
        w.write(buf[chunk.start[0]:], off - chunk.start[0], chunk.ts_ns)


@pytest.mark.parametrize("at,cause", [("pod", "l4-checksum"), ("underlay", "outer-udp-checksum")])
def test_a_damaged_frame_is_malformed_by_its_checksum_not_forwarded(tmp_path, at, cause):
    c = default_scenario()
    clean, bad = tmp_path / "clean.pcap", tmp_path / "bad.pcap"
    capture(c, at, clean, packets=4000, seed=3)
    want = replay(c, clean)
    assert not set(want.malformed) & {"l4-checksum", "outer-udp-checksum"} and want.unverified == 0
    hit = [4, 10, 11, 500, 2000]
    _damage(clean, bad, hit, -1)  # the last payload byte: under every checksum, in no header
    got = replay(c, bad)
    assert got.frames == want.frames and got.malformed.get(cause) == len(hit)
    assert got.examples[cause] == [5, 11, 12]  # numbered from 1, as Wireshark shows them
    # each damaged frame now dropped as malformed: those the clean replay forwarded add to the drops
    chunk = read_all(clean)
    _, was = Senders(c, Dataplane(c).tables).batch(decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len))
    assert got.verdicts["dropped"] == want.verdicts["dropped"] + int((was[hit] == 0).sum())
    assert got.malformed.get("no-sender", 0) == want.malformed.get("no-sender", 0) - int((was[hit] == NO_SENDER).sum())
    assert sum(got.verdicts.values()) == sum(want.verdicts.values())
    # told to ignore checksums the damaged frames are forwarded, as their (intact) headers read
    loose = replay(c, bad, verify_checksums=False)
    assert (loose.verdicts, loose.malformed) == (want.verdicts, want.malformed) and not loose.verify_checksums


def test_damage_in_a_port_would_change_the_packet_silently_without_the_check(tmp_path):
    """The destination port of pod frames damaged: with checksums ignored the replay forwards
    packets to ports that were never sent (decoded as the damage reads); verified, they are
    malformed instead."""
    c = default_scenario()
    clean, bad = tmp_path / "clean.pcap", tmp_path / "bad.pcap"
    capture(c, "pod", clean, packets=300, seed=4)
    n = len(read_all(clean).start)
    _damage(clean, bad, range(n), 14 + 20 + 3)  # the low byte of the UDP destination port
    chunk, dchunk = read_all(clean), read_all(bad)
    sent = decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len)
    loose = decode(dchunk.buf, dchunk.start, dchunk.caplen, dchunk.orig_len, verify_checksums=False)
    assert (loose.status == 0).all() and (loose.dport != sent.dport).all()
    strict = decode(dchunk.buf, dchunk.start, dchunk.caplen, dchunk.orig_len)
    assert (strict.status == MALFORMED.index("l4-checksum")).all()
    assert replay(c, bad).malformed == {"l4-checksum": n}


def test_a_snaplen_cut_capture_replays_unverified(tmp_path):
    c = default_scenario()
    full, cut = tmp_path / "full.pcap", tmp_path / "cut.pcap"
    capture(c, "pod", full, packets=2000, seed=5)
    capture(c, "pod", cut, packets=2000, seed=5, snaplen=64)
    want, got = replay(c, full), replay(c, cut)
    assert (got.frames, got.verdicts, got.malformed) == (want.frames, want.verdicts, want.malformed)
    assert got.unverified == got.frames == int((read_all(cut).orig_len > 64).sum()) and want.unverified == 0
    assert replay(c, cut, verify_checksums=False).unverified == 0  # nothing was to be checked


def test_cli_replay_ignore_checksums(tmp_path):
    clean, bad = tmp_path / "clean.pcap", tmp_path / "bad.pcap"
    capture(default_scenario(), "pod", clean, packets=500, seed=6)
    _damage(clean, bad, [0, 7], -1)
    out = _cli("replay", str(bad))
    assert out.returncode == 0, out.stderr
    assert "malformed frames, l4-checksum: 2 (first: frame 1, 8)" in out.stdout
    out = _cli("replay", str(bad), "--ignore-checksums", "--json")
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["malformed"] == {} and rep["verify_checksums"] is False
    assert "L4 checksums not verified" in _cli("replay", str(bad), "--ignore-checksums").stdout
