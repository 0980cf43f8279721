"""What a run put on each wire: the frames at an observation point, rebuilt from the run.

A run's results say where each packet went, not what it looked like on the way. This module
turns a batch, its `RunResult` (with the tunnel-leg log: ``forward(..., legs=True)``) and
the compiled tables into `Frames` at one observation point, with the sender's stack and the
routers applied as the data plane applies them (see `fastpath.dataplane.pipeline`):

``pod``       each pod's eth0, outbound: the frame as the pod sent it — its own MAC unless the
              packet names one; the destination MAC from ARP for an on-link address, else
              the gateway (router) MAC. A packet that never left the pod has no frame: the
              pod's own sanity drop, an ARP miss, a packet to its own IP.
``uplink``    the node VMs' trunks into the hypervisor. Up: the pod's frame tagged with the
              pod's VLAN (what OVS sends the VIF; a frame OVS drops — tagged by the pod, to a
              reserved MAC, to the pod itself or to its own source — never gets there), or a
              node's own frame as sent. Down: every packet delivered to a pod or node, as the
              VIF hands it over (not the few the destination's bridge drops): the
              destination pod's VLAN, the router MAC as source when the packet was routed
              (its TTL went down on the way), else the sender's; the TTL it arrived with.
``underlay``  every Geneve tunnel leg (`pipeline.LEG_COLS`): outer TEP to TEP, the leg's
              VNI, the inner frame with that leg's TTL and MACs (destination: the port's MAC,
              or the router MAC for a leg to an edge's service router), Geneve options of the
              cluster's ``geneve_option_bytes`` carrying the source logical port.
``edge``      the T0 uplinks: inbound packets as sent by the physical network (untagged,
              to the router MAC unless they name one) and every packet that exits, with the
              router MAC as source and the TTL it left with; a namespace's SNAT IP in place of
              its pod's address (`fastpath.dataplane.snat`), both ways.

Addresses the model does not own are made up, deterministically, and documented: a TEP
interface's MAC is ``02:54`` + its IPv4 address, a physical next hop's (behind an uplink)
``02:55`` + its address. The outer UDP source port is a hash of the inner 5-tuple in
49152-65535 (flow entropy, as RFC 8926 asks). Frames are ordered by packet, then by their
order along the packet's path; `Capture.packet` maps each to its packet.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..compile.bundle import Tables
from ..dataplane import pipeline
from ..dataplane.api import RunResult
from ..model.addressing import OVS_RESERVED_MACS
from ..model.cluster import Cluster
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, PacketBatch
from ..dataplane.snat import snat_rows
from ..tables.snat import ip_of as snat_ip_of
from ..dataplane.stages.service import REPLY_TRANSLATED
from ..verdicts import DeviceKind, Reason, Verdict
from .codec import Frames, make_frames

POINTS = ("pod", "uplink", "underlay", "edge")
TEP_MAC_BASE = 0x02_54_00_00_00_00
PEER_MAC_BASE = 0x02_55_00_00_00_00
NO_PORT = 0xFFFF_FFFF
"""Geneve option data of a packet that entered from an uplink (no logical port)."""


class Capture(NamedTuple):
    frames: Frames
    packet: np.ndarray  # int64: index in the batch of each frame's packet


def tep_mac(ip) -> np.ndarray:
    return TEP_MAC_BASE | np.asarray(ip, np.uint64)


def peer_mac(ip) -> np.ndarray:
    return PEER_MAC_BASE | np.asarray(ip, np.uint64)


class _Senders(NamedTuple):
    """Per packet of the batch: what its sender put in the frame's Ethernet header."""

    valid: np.ndarray  # bool: the ingress names a real pod / node / uplink
    left: np.ndarray  # bool: a frame left the sender (pods and nodes; uplink senders: valid)
    src_mac: np.ndarray  # uint64
    dst_mac: np.ndarray  # uint64: as resolved by the sender's stack (0 where unresolved)
    port: np.ndarray  # int64: the sender's logical port, -1 for an uplink


def _senders(c: Cluster, t: Tables, b: PacketBatch, run: RunResult) -> _Senders:
    r = run.results
    P, N, U = len(c.pods), len(c.nodes), len(c.uplinks)
    kind, iid = b.ingress_kind, b.ingress_id.astype(np.int64)
    is_pod, is_node, is_up = kind == INGRESS_POD, kind == INGRESS_NODE, kind == INGRESS_UPLINK
    valid = (is_pod & (iid >= 0) & (iid < P)) | (is_node & (iid >= 0) & (iid < N)) | (is_up & (iid >= 0) & (iid < U))
    port = np.where(is_pod & valid, iid, np.where(is_node & valid, P + iid, -1))
    safe = np.maximum(port, 0)
    router_mac = np.uint64(c.settings.router_mac)
    up_ip = np.array([u.next_hop for u in c.uplinks] or [0], np.uint32)
    own = np.where(port >= 0, t.port_mac[safe], peer_mac(up_ip[np.clip(iid, 0, max(U - 1, 0))]))
    src_mac = np.where(b.src_mac != 0, b.src_mac, own).astype(np.uint64)
    # the destination MAC: as sent, else ARP on-link, else the gateway (uplink senders: the router)
    seg = t.port_segment[safe].astype(np.int64)
    on_link = ((b.dst_ip & t.seg_mask[seg]) == t.seg_net[seg]) & (b.dst_ip != t.seg_gateway[seg]) & (port >= 0)
    resolved = np.full(b.size, router_mac, np.uint64)
    link = np.flatnonzero(on_link)
    nb = _port_by_ip(t, b.dst_ip[link])
    ok = (nb >= 0) & (t.port_segment[np.maximum(nb, 0)] == seg[link])
    resolved[link] = np.where(ok, t.port_mac[np.maximum(nb, 0)], 0)
    dst_mac = np.where(b.dst_mac != 0, b.dst_mac, resolved).astype(np.uint64)
    # a pod's or node's packet whose verdict fell at the sender, with no egress, never left it
    at_sender = (r.dev_kind == kind) & (r.dev_id == iid) & (r.egress_port < 0) & (is_pod | is_node)
    left = valid & ~at_sender
    return _Senders(valid, left, src_mac, dst_mac, port)


_IP_INDEX: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _port_by_ip(t: Tables, ips: np.ndarray) -> np.ndarray:
    """int64: the logical port owning each IP, -1 if none (port IPs are unique). The sorted
    index is kept per table bundle (checked by identity of its IP column)."""
    got = _IP_INDEX.get(id(t))
    if got is None or got[0] is not t.port_ip:
        order = np.argsort(t.port_ip, kind="stable")
        got = _IP_INDEX[id(t)] = (t.port_ip, order, t.port_ip[order])
        while len(_IP_INDEX) > 4:
            del _IP_INDEX[next(iter(_IP_INDEX))]
    _, order, sorted_ip = got
    if sorted_ip.size == 0:
        return np.full(ips.shape, -1, np.int64)
    k = np.minimum(np.searchsorted(sorted_ip, ips), sorted_ip.size - 1)
    return np.where(sorted_ip[k] == ips, order[k], -1).astype(np.int64)


_RESERVED = np.array(sorted(OVS_RESERVED_MACS), np.uint64)


def _ovs_drops(s: _Senders, own_mac: np.ndarray) -> np.ndarray:
    """The untagged pod frames the pod's bridge drops (`fastpath.reference.walk`, OVS): to a
    reserved MAC, to the pod's own MAC or to the frame's own unicast source."""
    unicast_src = (s.src_mac >> np.uint64(40)) & np.uint64(1) == 0
    return np.isin(s.dst_mac, _RESERVED) | (s.dst_mac == own_mac) | ((s.dst_mac == s.src_mac) & unicast_src)


def _encodable(b: PacketBatch) -> np.ndarray:
    """Packets a frame can carry at all: an IPv4 total length of at least its header, a 12-bit VID."""
    return (b.length >= 20) & (b.vlan <= 4095)


def _past_lb(b: PacketBatch, run: RunResult) -> PacketBatch:
    """``b`` with the load balancer's packets' addresses and ports as they left its SR."""
    lb = run.lb
    cols = {}
    for f in ("src_ip", "dst_ip", "sport", "dport"):
        a = getattr(b, f).copy()
        a[lb.rows] = getattr(lb.after, f)
        cols[f] = a
    return b._replace(**cols)


def _addresses(b: PacketBatch) -> dict:
    return {"src_ip": b.src_ip, "dst_ip": b.dst_ip, "sport": b.sport, "dport": b.dport}


def on_wire(c: Cluster, t: Tables, b: PacketBatch, run: RunResult, at: str, *, first: int = 0) -> Capture:
    """The frames the run put on the wire ``at`` (one of `POINTS`), in packet order. ``first``:
    the run's number of the batch's packet 0 (packet k's IPv4 identification is k mod 2**16)."""
    if at not in POINTS:
        raise ValueError(f"observation point {at!r} is not one of {', '.join(POINTS)}")
    given = b
    if run.translated is not None:  # the service stage rewrote some packets (kube-proxy, `stages.service`)
        if at == "pod":  # a pod's eth0 carries the cluster IP; a backend's reply leaves from its own address
            rep = run.service_state == REPLY_TRANSLATED if run.service_state is not None else np.zeros(b.size, bool)
            if run.lb is not None:  # (and a virtual server's, to the T1 uplink IP)
                rep[run.lb.replies] = True
            b = PacketBatch(*(np.where(rep, x, y) for x, y in zip(run.translated, b))) if rep.any() else b
        else:  # past kube-proxy: the backend's address, up to the client's un-DNAT behind its VIF
            b = run.translated
    # past the load balancer's SR (`fastpath.dataplane.lb`): its packets' headers from there on
    past = _past_lb(b, run) if run.lb is not None and run.lb.rows.size and at in ("uplink", "edge") else b
    s = _senders(c, t, b, run)
    r = run.results
    router_mac = np.uint64(c.settings.router_mac)
    idx = np.arange(b.size, dtype=np.int64)
    parts: list[tuple[np.ndarray, int, dict]] = []  # (packets, order along the path, frame columns)

    def plain(sel, order, **cols):
        j = idx[sel]
        base = {"src_ip": b.src_ip[j], "dst_ip": b.dst_ip[j], "proto": b.proto[j], "sport": b.sport[j],
                "dport": b.dport[j], "ttl": b.ttl[j], "length": b.length[j], "ip_id": (first + j) & 0xFFFF}
        base.update({k: (v[j] if isinstance(v, np.ndarray) and v.shape == (b.size,) else v) for k, v in cols.items()})
        parts.append((j, order, base))

    ok = _encodable(b)
    if at == "pod":
        plain(s.left & (b.ingress_kind == INGRESS_POD) & ok, 0, vlan=b.vlan, src_mac=s.src_mac, dst_mac=s.dst_mac)
    elif at == "uplink":
        pod_vlan = t.port_vlan[np.maximum(s.port, 0)]
        own_mac = t.port_mac[np.maximum(s.port, 0)]
        lb_drop = r.reason == Reason.NO_ENDPOINT  # kube-proxy dropped it before the trunk
        up_pod = s.left & (b.ingress_kind == INGRESS_POD) & (b.vlan == 0) & ~_ovs_drops(s, own_mac) & ok & ~lb_drop
        up_node = s.left & (b.ingress_kind == INGRESS_NODE) & ok & ~lb_drop
        plain(up_pod | up_node, 0, vlan=np.where(up_pod, pod_vlan, b.vlan), src_mac=s.src_mac, dst_mac=s.dst_mac)
        down = (r.verdict == Verdict.DELIVERED) & (r.egress_port >= 0) & ok
        e = np.maximum(r.egress_port.astype(np.int64), 0)
        routed = r.ttl_out < b.ttl
        plain(down, 1, vlan=np.where(e < len(c.pods), t.port_vlan[e], 0), src_mac=np.where(routed, router_mac, s.src_mac),
              dst_mac=t.port_mac[e], ttl=r.ttl_out, **_addresses(past))
    elif at == "edge":
        # SNAT on the T0 SR (`fastpath.dataplane.snat`): what the physical network sees
        nat = t.snat
        snat_out, snat_in = snat_rows(nat, b, r)
        plain(s.valid & (b.ingress_kind == INGRESS_UPLINK) & ok, 0, vlan=b.vlan, src_mac=s.src_mac,
              dst_mac=np.where(b.dst_mac != 0, b.dst_mac, router_mac),
              dst_ip=np.where(snat_in, snat_ip_of(nat, given.dst_ip), given.dst_ip))
        out = (r.verdict == Verdict.EXITED) & (r.dev_kind == DeviceKind.UPLINK) & ok
        hops = np.array([u.next_hop for u in c.uplinks] or [0], np.uint32)
        addr = _addresses(past)
        addr["src_ip"] = np.where(snat_out, snat_ip_of(nat, past.src_ip), past.src_ip)
        plain(out, 1, vlan=0, src_mac=router_mac, dst_mac=peer_mac(hops[np.clip(r.dev_id, 0, len(hops) - 1)]),
              ttl=r.ttl_out, **addr)
    else:
        return _underlay(c, t, b, run, s, first)
    return _assemble(parts)


def _underlay(c: Cluster, t: Tables, b: PacketBatch, run: RunResult, s: _Senders, first: int) -> Capture:
    if run.legs is None:
        raise ValueError("the underlay needs the run's tunnel legs: forward(..., legs=True)")
    L = run.legs
    j = L[:, pipeline.LEG_PACKET]
    H = t.host_tep.shape[0]
    src_h, dst_h = L[:, pipeline.LEG_TEP] // H, L[:, pipeline.LEG_TEP] % H
    to = L[:, pipeline.LEG_TO]
    ttl = L[:, pipeline.LEG_TTL].astype(np.uint8)
    router_mac = np.uint64(c.settings.router_mac)
    routed = ttl < b.ttl[j]
    inner_dst = np.where(to >= 0, t.port_mac[np.maximum(to, 0)], router_mac)
    src_ip, dst_ip, sport, dport = b.src_ip[j], b.dst_ip[j], b.sport[j], b.dport[j]
    if run.lb is not None and run.lb.rows.size:  # legs past the load balancer's SR: its headers
        lb = run.lb
        k = np.minimum(np.searchsorted(lb.rows, j), lb.rows.size - 1)
        nth = np.arange(j.size) - np.searchsorted(j, j)  # (legs are in packet order)
        late = (lb.rows[k] == j) & (nth >= lb.first_legs[k])
        kk = k[late]
        src_ip, dst_ip, sport, dport = (np.where(late, 0, x) for x in (src_ip, dst_ip, sport, dport))
        src_ip[late], dst_ip[late] = lb.after.src_ip[kk], lb.after.dst_ip[kk]
        sport[late], dport[late] = lb.after.sport[kk], lb.after.dport[kk]
        src_ip, dst_ip = src_ip.astype(np.uint32), dst_ip.astype(np.uint32)
        sport, dport = sport.astype(np.uint16), dport.astype(np.uint16)
    n = j.shape[0]  # scalars below are broadcast to the legs (none: an empty table, not one row)
    f = make_frames(
        vlan=np.zeros(n, np.uint16), src_mac=np.where(routed, router_mac, s.src_mac[j]), dst_mac=inner_dst,
        src_ip=src_ip, dst_ip=dst_ip, proto=b.proto[j], sport=sport, dport=dport, ttl=ttl,
        length=b.length[j], ip_id=(first + j) & 0xFFFF, encap=np.ones(n, np.uint8),
        outer_src_mac=tep_mac(t.host_tep[src_h]), outer_dst_mac=tep_mac(t.host_tep[dst_h]),
        outer_src_ip=t.host_tep[src_h], outer_dst_ip=t.host_tep[dst_h],
        outer_sport=flow_entropy(src_ip, dst_ip, b.proto[j], sport, dport),
        vni=L[:, pipeline.LEG_VNI], opt_bytes=np.full(n, c.settings.geneve_option_bytes, np.uint8),
        opt_data=np.where(s.port[j] >= 0, s.port[j], NO_PORT))
    return Capture(f, j.astype(np.int64))


def walk_frames(c: Cluster, t: Tables, b: PacketBatch, run: RunResult) -> tuple[list[str], Frames]:
    """Every frame of a one-packet batch on every wire, in the order it crossed them: from
    the physical network (edge), out of the pod, up the node trunk, each tunnel leg, down the
    destination's trunk, out to the physical network. Returns (wire of each frame, frames)."""
    if b.size != 1:
        raise ValueError(f"walk_frames takes one packet, got {b.size}")
    caps = {at: on_wire(c, t, b, run, at) for at in POINTS}
    inbound = int(b.ingress_kind[0]) == INGRESS_UPLINK
    edge, uplink = caps["edge"].frames, caps["uplink"].frames
    up_first = not inbound  # a pod's or node's packet goes up its own trunk first
    order = ([("edge", 0)] if inbound and edge.size else []) + ([("pod", 0)] if caps["pod"].frames.size else []) \
        + ([("uplink", 0)] if up_first and uplink.size else []) \
        + [("underlay", k) for k in range(caps["underlay"].frames.size)] \
        + ([("uplink", uplink.size - 1)] if uplink.size > int(up_first) else []) \
        + ([("edge", edge.size - 1)] if edge.size > int(inbound) else [])
    rows = {name: [] for name in Frames._fields}
    for at, k in order:
        for name, col in zip(Frames._fields, caps[at].frames):
            rows[name].append(col[k])
    return [at for at, _ in order], make_frames(**{k: np.array(v) for k, v in rows.items()}) if order else make_frames()


def flow_entropy(src_ip, dst_ip, proto, sport, dport) -> np.ndarray:
    """uint16: the outer UDP source port of a flow, 49152-65535 (a multiplicative hash of the
    inner 5-tuple: packets of one flow take one path through the underlay's ECMP)."""
    h = (src_ip.astype(np.uint64) * np.uint64(0x9E3779B1) ^ dst_ip.astype(np.uint64) * np.uint64(0x85EBCA77)
         ^ (proto.astype(np.uint64) << np.uint64(32)) ^ (sport.astype(np.uint64) << np.uint64(16)) ^ dport)
    h = (h ^ (h >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    return (np.uint64(49152) + ((h >> np.uint64(40)) & np.uint64(0x3FFF))).astype(np.uint16)


def _assemble(parts) -> Capture:
    if not parts:
        return Capture(make_frames(), np.zeros(0, np.int64))
    packet = np.concatenate([p[0] for p in parts])
    key = packet * 4 + np.concatenate([np.full(p[0].shape[0], p[1], np.int64) for p in parts])
    order = np.argsort(key, kind="stable")
    cols = {}
    for name in parts[0][2]:
        cols[name] = np.concatenate([np.broadcast_to(np.asarray(p[2][name]), p[0].shape) for p in parts])[order]
    return Capture(make_frames(**cols), packet[order])
