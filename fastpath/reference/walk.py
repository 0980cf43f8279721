"""The reference walk: one packet through the modeled data path, in plain Python.

This is the executable specification (DESIGN.md, "Semantics decided") that the fast path is
tested against. It reads the cluster model itself — pods, segments, the RIB of
`fastpath.model.routing`, `ipaddress` networks — and never the compiled tables, so a compiler
bug shows up as a difference instead of being copied into both.

The path, for a packet a pod sends::

    pod eth0 -> OVS (access VLAN = pod tag; MAC table) -> trunk -> VIF (node, tag) -> logical port
    (SpoofGuard, DFW) -> segment L2 -> [T1 DR -> T0 DR -> T1 DR ...] -> neighbor -> logical port
    -> Geneve tunnel when the port is on another host -> VIF (push tag) -> OVS -> pod eth0

Services (`service_dnat`): a pod's packet to a cluster IP is DNAT-ed to a backend by kube-proxy
in its node's OVS, after the access port's tag check and before the MAC table (a node's, by the
node's own kube-proxy before its stack routes); a reply from the backend is un-DNAT-ed in the
client's bridge (`service_undnat`). SNAT (`snat`, `unsnat`): on the T0's service router, for a
namespace with an SNAT IP, as a pod's connection leaves through an uplink and its reply comes in.
A LoadBalancer (`load_balance`): at the load balancer T1's service router, before it routes, an
original to a virtual server is DNAT-ed to a backend and SNAT-ed to the T1's uplink IP; the
backend's reply to that address is translated back there (`lb_reply_source` writes the reply as
its client sees it, as for a cluster IP).

The sender's stack answers a packet to its own address (loopback) only when it routes it: a
frame given whole (its destination MAC set) goes on the wire like any other. That matters for a
Service that balances a pod onto itself: the stack sends to the cluster IP's gateway, and the
DNAT-ed frame hairpins through the T1 back to the pod.

A node sends untagged straight onto its VIF (its own logical port on the node segment); a frame
it tags is demuxed like one from the OVS trunk, to the logical port of the pod with that tag
(where SpoofGuard meets it). A VID above 4095 cannot exist on the wire (12 bits):
``malformed``. A packet from a T0 uplink enters the T0's service router on its edge node; the
DFW then runs at the destination port. A router with a service router (SR) is crossed DR -> SR
-> ... and the SR runs on its edge node, so reaching it from another host costs a tunnel (the
router's transit VNI). Order inside a router, as in Linux: route lookup (own address ->
delivered; no match -> ``no-route``), then the TTL check (``<= 1`` -> ``ttl-expired``,
answered from the address the packet arrived on), then the decrement.

The node's OVS bridge is Open vSwitch's NORMAL action (held against a real one in
tests/test_ovs_real.py): each pod on an access port whose tag is the pod's VLAN, and one trunk
to the node's VIF. A pod's VLAN therefore has exactly two ports, and its MAC table in steady
state holds the pod's MAC on the pod's port and the router MAC on the trunk. A frame entering
the bridge, from either side, in OVS's order:

1. from a pod's port, a tagged frame is dropped (``unknown-vlan``) unless its VID is 0 — a
   priority tag is untagged to an access port, and the model's ``vlan`` 0 is both;
2. a reserved destination MAC (`addressing.OVS_RESERVED_MACS`: 01:80:c2:00:00:00-0f, Cisco's
   01:00:0c:cc:cc:cc, ... and three unicast Extreme ones) is dropped (``reserved-mac``): the
   model's bridge does not set ``forward-bpdu``;
3. the source MAC is learned on the input port first, so a destination learned there — the
   pod's own MAC from its port, or the frame's own unicast source from either side — is
   dropped (``learned-on-input``: OVS's "learned port is input port");
4. any other destination leaves by the VLAN's other port: learned there, or flooded (unknown
   unicast, broadcast, multicast) to the only other port. From a pod that is always the
   trunk; from the trunk the pod's port, and a frame not for the pod's MAC is then discarded
   by the pod's stack (``unknown-mac`` at the pod).

Not modeled: learning as state across packets (a spoofed source that moves a MAC to the
wrong port in OVS's table until it is relearned: each packet meets the steady-state table,
and SpoofGuard drops the spoofer's frame on the far side of the trunk anyway); the bridge's
own internal port (down on a node, though OVS floods to it); PCP; IGMP/MLD snooping (off by
default); MAC table ageing and overflow.

Every call returns exactly one verdict.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field

from ..model.addressing import BROADCAST_MAC, OVS_RESERVED_MACS, ip_to_str, is_multicast_mac, mac_to_str
from ..model import firewall
from .. import services as kube_services
from ..model.cluster import Cluster, ovs_name, tunnel_name, vif_name
from ..model.routing import Route, RouterInstance, ecmp_member, lookup, rib
from ..verdicts import DeviceKind, Reason, Verdict

GENEVE_UDP_PORT = 6081
ETH_HEADER = 14
MIN_IP_PACKET = 28  # IPv4 header + 8 bytes of L4: the smallest packet the model carries
MAX_IP_PACKET = 65535


@dataclass
class Packet:
    """What the sender puts on the wire. ``src_mac``/``dst_mac`` None = the sender's stack
    fills them (own MAC; ARP for on-link destinations, else the gateway's MAC)."""

    src_ip: int
    dst_ip: int
    proto: int = 17
    sport: int = 33434
    dport: int = 33434
    ttl: int = 64
    size: int = 100  # IPv4 total length of the inner packet, bytes
    src_mac: int | None = None
    dst_mac: int | None = None
    vlan: int = 0  # 802.1Q VID the sender put on the frame; 0 = untagged or priority-tagged (VID 0)
    reply: bool = False  # a reply of its connection: the stateful DFW judges the original (`model.firewall`)


@dataclass(frozen=True)
class Ingress:
    """Where a packet enters: a pod (row), a node (index), a T0 uplink (index), or a service
    router (its index in the RIB's order: `from_router`)."""

    kind: str  # "pod" | "node" | "uplink" | "router"
    index: int


@dataclass
class Hop:
    device: str
    kind: DeviceKind
    table: str  # the table consulted ("" when none)
    key: str
    result: str
    ttl: int
    raw: tuple  # headers as numbers; `headers` formats them (only traces that are shown pay)

    @property
    def headers(self) -> dict:
        src_mac, dst_mac, vlan, src_ip, dst_ip, proto, ttl, size, outer = self.raw
        h = {"eth_src": mac_to_str(src_mac) if src_mac is not None else None,
             "eth_dst": mac_to_str(dst_mac) if dst_mac is not None else None,
             "vlan": vlan, "ip_src": ip_to_str(src_ip), "ip_dst": ip_to_str(dst_ip),
             "proto": proto, "ttl": ttl, "ip_len": size}
        if outer is not None:
            h["outer"] = dict(outer)
        return h

    def as_dict(self) -> dict:
        return {"device": self.device, "kind": self.kind.label, "table": self.table, "key": self.key,
                "result": self.result, "ttl": self.ttl, "headers": self.headers}


@dataclass
class Tunnel:
    src_host: str
    dst_host: str
    vni: int
    outer_bytes: int  # outer frame on the underlay wire, outer Ethernet included


class Traceroute(list):
    """The addresses that answered, destination last: `ipaddress.IPv4Address` items (``int()``
    gives the number), printed as a person reads them: ``[172.16.1.1, 100.64.0.2]``."""

    def __str__(self) -> str:
        return "[" + ", ".join(map(str, self)) + "]"


@dataclass
class Result:
    verdict: Verdict
    reason: Reason
    device: str
    device_kind: DeviceKind
    ttl_out: int
    hops: list[Hop] = field(default_factory=list)
    traceroute: Traceroute = field(default_factory=Traceroute)  # responding IPs; destination last
    traceroute_devices: list[str] = field(default_factory=list)  # the device behind each of them
    tunnels: list[Tunnel] = field(default_factory=list)
    egress: str = ""  # device the packet left the model through (delivered/exited)
    via_edge: bool = False  # crossed a service router on an edge node
    dfw: list[dict] = field(default_factory=list)  # each DFW evaluation: port, side, direction, decision, by, action
    dfw_at_src: int = -1  # decision ids (`fastpath.model.firewall`) at the sending / receiving side's port
    dfw_at_dst: int = -1
    service: int = -1  # the Service kube-proxy translated for (index into Cluster.services); -1 none
    backend: int = -1  # the logical port of the backend it chose (pods, then nodes); -1 none
    service_key: str | None = None  # their names (``namespace/name``; a node's name), for as_dict
    backend_key: str | None = None

    @property
    def underlay_bytes(self) -> int:
        return sum(t.outer_bytes for t in self.tunnels)

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict.label, "reason": self.reason.label, "device": self.device,
            "device_kind": self.device_kind.label, "ttl_out": self.ttl_out, "egress": self.egress,
            "via_edge": self.via_edge, "underlay_bytes": self.underlay_bytes,
            "traceroute": [str(ip) for ip in self.traceroute],
            "traceroute_devices": list(self.traceroute_devices),
            "tunnels": [{"src_host": t.src_host, "dst_host": t.dst_host, "vni": t.vni, "outer_bytes": t.outer_bytes}
                        for t in self.tunnels],
            "hops": [h.as_dict() for h in self.hops],
            "dfw": list(self.dfw),
            "service": self.service_key, "backend": self.backend_key,
        }


class _Verdict(Exception):
    """Ends a walk: carries the verdict up from wherever it was decided."""

    def __init__(self, verdict: Verdict, reason: Reason, device: str, kind: DeviceKind):
        self.verdict, self.reason, self.device, self.kind = verdict, reason, device, kind


class _Walk:
    def __init__(self, cluster: Cluster, pkt: Packet):
        self.c = cluster
        self.rib = rib(cluster)
        self.p = dataclasses.replace(pkt)  # the walk rewrites addresses (Service DNAT): the caller's stays
        self.undnat: tuple | None = None  # a reply's (cluster IP, port, service key): un-DNAT-ed at the client
        self.unlb: tuple | None = None  # a virtual server's reply: (its IP, port, the client, service key)
        self.ttl = pkt.ttl
        self.src_mac = pkt.src_mac
        self.dst_mac = pkt.dst_mac
        self.vlan: int | None = None
        self.outer: dict | None = None
        self.host: str | None = None  # host the packet is on now
        self.res = Result(Verdict.DROPPED, Reason.NONE, "", DeviceKind.POD, pkt.ttl)
        self.ports_by_mac = None
        self.dfw_done = False
        self.policy = _policy_model(cluster)

    # ---- records ---------------------------------------------------------------------------------
    def hop(self, device, kind, table="", key="", result=""):
        p = self.p
        raw = (self.src_mac, self.dst_mac, self.vlan, p.src_ip, p.dst_ip, p.proto, self.ttl, p.size, self.outer)
        self.res.hops.append(Hop(device, kind, table, key, result, self.ttl, raw))

    def responds(self, ip: int, device: str):
        self.res.traceroute.append(ipaddress.IPv4Address(ip))
        self.res.traceroute_devices.append(device)

    def end(self, verdict, reason, device, kind):
        raise _Verdict(verdict, reason, device, kind)

    # ---- endpoints -------------------------------------------------------------------------------
    def endpoint(self, ip: int):
        """("pod", Pod) / ("node", Node) / None for an endpoint IP."""
        owner = self.c.ip_owner.get(ip)
        if owner is None:
            return None
        kind, i = owner
        return (kind, self.c.pods[i]) if kind == "pod" else (kind, self.c.nodes[i])

    def segment_of(self, kind, ep):
        return self.c.node_segment if kind == "node" else self.c.segment_of_namespace(ep.namespace)

    def port_name(self, kind, ep) -> str:
        return f"lp:{ep.key}" if kind == "pod" else f"lp:{ep.name}"

    def host_of(self, kind, ep) -> str:
        node = self.c.node(ep.node) if kind == "pod" else ep
        return node.host

    def segment_neighbor(self, seg, ip: int):
        """ARP (suppressed: answered by the control plane) for ``ip`` on ``seg``."""
        ep = self.endpoint(ip)
        if ep is None or self.segment_of(*ep).name != seg.name:
            return None
        return ep

    def segment_port_by_mac(self, seg, mac: int):
        """The logical port with ``mac`` on ``seg``, or None."""
        owner = self.c.mac_owner.get(mac)
        if owner is None:
            return None
        kind, i = owner
        ep = (kind, self.c.pods[i]) if kind == "pod" else (kind, self.c.nodes[i])
        return ep if self.segment_of(*ep).name == seg.name else None

    # ---- the walk ----------------------------------------------------------------------------------
    def run(self, ingress: Ingress) -> Result:
        self.ingress_kind = ingress.kind
        try:
            if ingress.kind == "uplink":
                self.from_uplink(ingress.index)
            elif ingress.kind == "router":
                self.from_router(ingress.index)
            else:
                self.from_endpoint(ingress)
            raise AssertionError("walk ended without a verdict")
        except _Verdict as v:
            r = self.res
            r.verdict, r.reason, r.device, r.device_kind, r.ttl_out = v.verdict, v.reason, v.device, v.kind, self.ttl
            if v.verdict is not Verdict.DROPPED:
                r.egress = v.device
            return r

    def malformed(self, device, kind):
        p = self.p
        if (p.ttl <= 0 or p.ttl > 255 or not MIN_IP_PACKET <= p.size <= MAX_IP_PACKET or not 0 <= p.proto <= 255
                or not 0 <= p.vlan <= 4095):
            self.hop(device, kind, "sanity", f"ttl={p.ttl} len={p.size} vlan={p.vlan}", "malformed")
            self.end(Verdict.DROPPED, Reason.MALFORMED, device, kind)

    def from_endpoint(self, ingress: Ingress):
        """A pod or node sends: its stack, its bridge (a pod's), the VIF, the logical port."""
        c = self.c
        if ingress.kind == "pod":
            ep, kind, dkind = c.pods[ingress.index], "pod", DeviceKind.POD
            dev = ep.key
        else:
            ep, kind, dkind = c.nodes[ingress.index], "node", DeviceKind.NODE
            dev = ep.name
        self.host = self.host_of(kind, ep)
        self.malformed(dev, dkind)
        if self.p.reply and not self.p.vlan:  # (a tagged frame is nobody's socket's: left as it is)
            self.service_reply_source(kind, ep)
            self.lb_reply_source(kind, ep)
        elif kind == "node" and not self.p.vlan:
            self.service_dnat(ep.name)  # the node's own kube-proxy, before its stack routes
        self.sender_stack(kind, ep, dev, dkind)
        if kind == "pod":
            self.ovs_from_pod(ep, c.node(ep.node))
        kind, ep = self.vif_demux(kind, ep)
        lp = self.port_name(kind, ep)
        self.spoofguard(lp, ep)
        self.dfw(lp, kind, ep, at_source=True)
        self.segment(self.segment_of(kind, ep))

    def sender_stack(self, kind, ep, dev, dkind):
        """The L3 decision in the sender's own stack: its own address, ARP, or the gateway."""
        c, p = self.c, self.p
        seg = self.segment_of(kind, ep)
        if self.src_mac is None:
            self.src_mac = ep.mac
        if p.dst_ip == p.src_ip == ep.ip and self.dst_mac is None:  # (a frame given whole goes on the wire)
            self.hop(dev, dkind, "local", ip_to_str(p.dst_ip), "own address (loopback)")
            self.end(Verdict.DELIVERED, Reason.NONE, dev, dkind)
        if self.dst_mac is None:
            if ipaddress.IPv4Address(p.dst_ip) in seg.subnet and p.dst_ip != seg.gateway:
                nb = self.segment_neighbor(seg, p.dst_ip)
                if nb is None:
                    self.hop(dev, dkind, "arp", ip_to_str(p.dst_ip), "no answer")
                    self.end(Verdict.DROPPED, Reason.NO_NEIGHBOR, dev, dkind)
                self.dst_mac = nb[1].mac
                self.hop(dev, dkind, "arp", ip_to_str(p.dst_ip), f"on-link, {mac_to_str(self.dst_mac)}")
            else:
                self.dst_mac = c.settings.router_mac
                self.hop(dev, dkind, "route", ip_to_str(p.dst_ip), f"via gateway {ip_to_str(seg.gateway)}")
        else:
            self.hop(dev, dkind, "", "", "frame as given")

    def vif_demux(self, kind, ep):
        """Onto the logical port: a pod's frame (tagged on the trunk) to the pod's child port, a
        node's untagged frame to the node's port, a node's tagged frame to the port of the pod
        with that tag on the node. Returns the port's (kind, endpoint)."""
        c, p = self.c, self.p
        if kind == "pod":
            node = c.node(ep.node)
            self.hop(vif_name(node.name), DeviceKind.VIF, "vif", f"{node.name}, vlan {ep.vlan}",
                     f"logical port {self.port_name(kind, ep)}")
            self.vlan = None  # the VIF strips the tag onto the logical port
            return kind, ep
        vif = vif_name(ep.name)
        if not p.vlan:
            self.hop(vif, DeviceKind.VIF, "vif", f"{ep.name}, untagged", f"logical port {self.port_name(kind, ep)}")
            return kind, ep
        self.vlan = p.vlan
        rows = c.pods_on_node(ep.name)
        hit = [int(i) for i in rows if int(c.pods.vlan[i]) == p.vlan]
        if not hit:
            self.hop(vif, DeviceKind.VIF, "vif", f"{ep.name}, vlan {p.vlan}", "miss")
            self.end(Verdict.DROPPED, Reason.UNKNOWN_VLAN, vif, DeviceKind.VIF)
        kind, ep = "pod", c.pods[hit[0]]
        self.hop(vif, DeviceKind.VIF, "vif", f"{ep.node}, vlan {p.vlan}", f"logical port {self.port_name(kind, ep)}")
        self.vlan = None
        return kind, ep

    def spoofguard(self, lp: str, ep):
        """The logical port admits only its own source MAC and IP."""
        p = self.p
        if self.src_mac != ep.mac or p.src_ip != ep.ip:
            self.hop(lp, DeviceKind.PORT, "spoofguard", f"{mac_to_str(self.src_mac)} {ip_to_str(p.src_ip)}",
                     f"not the port's ({mac_to_str(ep.mac)} {ip_to_str(ep.ip)})")
            self.end(Verdict.DROPPED, Reason.SPOOFGUARD, lp, DeviceKind.PORT)

    def from_uplink(self, index: int):
        c = self.c
        up = c.uplinks[index]
        self.malformed(up.name, DeviceKind.UPLINK)
        if self.p.vlan:
            self.vlan = self.p.vlan
            self.hop(up.name, DeviceKind.UPLINK, "uplink", f"vid {self.p.vlan}", "tagged frame on an untagged uplink")
            self.end(Verdict.DROPPED, Reason.UNKNOWN_VLAN, up.name, DeviceKind.UPLINK)
        self.src_mac = self.src_mac if self.src_mac is not None else 0
        self.dst_mac = c.settings.router_mac
        t0 = self.rib[c.t0.sr_on(up.edge or c.t0.edge)] if c.t0.edge else self.rib[c.t0.name]
        self.host = t0.host or next(h.name for h in c.hosts if not h.edge)
        nat = self.snat_segment(self.p.dst_ip) if t0.sr and self.p.reply else None
        pod_ip = self.p.dst_ip
        if nat is not None:  # on the wire it is addressed to the namespace's SNAT IP
            self.p.dst_ip = nat.snat_ip
        self.hop(up.name, DeviceKind.UPLINK, "", "", f"to {t0.name}")
        self.unsnat(t0, nat, pod_ip)
        self.route(t0, up.ip)

    def from_router(self, index: int):
        """A packet handed to a service router, as if it had just arrived there (the fast path's
        second pass through the load balancer, `fastpath.dataplane.lb`): ``dst_mac`` carries the
        address it arrived on, ``src_mac`` non-zero says the sender's DFW has judged it."""
        r = list(self.rib.values())[index]
        self.malformed(r.name, DeviceKind.EDGE)
        if self.p.vlan:
            self.vlan = self.p.vlan
            self.hop(r.name, DeviceKind.EDGE, "uplink", f"vid {self.p.vlan}", "tagged frame inside a router")
            self.end(Verdict.DROPPED, Reason.UNKNOWN_VLAN, r.name, DeviceKind.EDGE)
        arrive = (self.dst_mac or 0) & 0xFFFF_FFFF  # (the low 32 bits, as the fast path reads them)
        self.dfw_done = bool(self.src_mac)
        self.src_mac = self.dst_mac = self.c.settings.router_mac
        self.host = r.host
        self.route(r, arrive)

    def dfw(self, lp: str, kind: str, ep, at_source: bool):
        """One evaluation of the distributed firewall at logical port ``lp`` (of endpoint ``ep``)
        for the connection the packet belongs to (`fastpath.model.firewall`)."""
        c, p = self.c, self.p
        self.dfw_done = True
        o_src, o_dst, o_dport = firewall.original(p.src_ip, p.dst_ip, p.sport, p.dport, p.reply)
        local = c.pod_index[ep.key] if kind == "pod" else c.node_index[ep.name]
        e = firewall.evaluate(c, self.policy, kind, local, at_source != p.reply, o_src, o_dst, p.proto, o_dport)
        key = f"{ip_to_str(o_src)}->{ip_to_str(o_dst)} proto {p.proto} dport {o_dport}"
        self.hop(lp, DeviceKind.PORT, "dfw", ("reply of " if p.reply else "") + key, e.text)
        side = "src" if at_source else "dst"
        setattr(self.res, f"dfw_at_{side}", e.decision)
        self.res.dfw.append({"port": lp, "side": side, "direction": e.direction, "decision": e.decision,
                             "by": e.text.rsplit(": ", 1)[0], "action": "allow" if e.allow else "deny"})
        if not e.allow:
            self.end(Verdict.DROPPED, Reason.DFW_DENY, lp, DeviceKind.PORT)

    def dfw_at_receiver(self, lp: str, kind: str, ep):
        """The receiver's port: the packet's first DFW if it came in through an uplink; else again
        only where NetworkPolicy isolates the receiver in the direction it sees the connection
        (elsewhere the answer equals the sender's: same admin rules, same default)."""
        if not self.dfw_done:
            self.dfw(lp, kind, ep, at_source=False)
        elif kind == "pod" and self.policy is not None:
            direction = "Egress" if self.p.reply else "Ingress"
            if self.policy.isolated(self.c.pod_index[ep.key], direction):
                self.dfw(lp, kind, ep, at_source=False)

    def segment(self, seg):
        """Segment L2 on the current host: router MAC -> the T1 DR, a port's MAC -> the port."""
        key = f"vni {seg.vni}, {mac_to_str(self.dst_mac)}"
        if self.dst_mac == self.c.settings.router_mac:
            self.hop(seg.name, DeviceKind.SEGMENT, "segment_l2", key, f"router port {seg.t1}")
            self.route(self.rib[seg.t1], seg.gateway)
        hit = self.segment_port_by_mac(seg, self.dst_mac)
        if hit is None:
            self.hop(seg.name, DeviceKind.SEGMENT, "segment_l2", key, "miss")
            self.end(Verdict.DROPPED, Reason.UNKNOWN_MAC, seg.name, DeviceKind.SEGMENT)
        self.hop(seg.name, DeviceKind.SEGMENT, "segment_l2", key, f"logical port {self.port_name(*hit)}")
        self.deliver(seg, *hit)

    # ---- Services: kube-proxy's DNAT on the client's node (`fastpath.dataplane.stages.service`) ---------
    def service_port(self, ip: int, port: int):
        """(service index, port index) of a cluster IP's port for this packet's protocol, or None."""
        return kube_services.service_port(self.c, ip, self.p.proto, port)

    def service_dnat(self, device: str):
        """An original to a cluster IP's port: to the backend the seeded 5-tuple hash picks among
        the port's ready endpoints (``no-endpoint`` when there is none). ``device``: where
        kube-proxy runs for the sender (its node's OVS, or the node)."""
        p, c = self.p, self.c
        hit = self.service_port(p.dst_ip, p.dport)
        if hit is None:
            return
        k, j = hit
        svc = c.services[k]
        self.res.service, self.res.service_key = k, svc.key
        key = f"{ip_to_str(p.dst_ip)}:{p.dport}/{_proto_name(p.proto)}"
        be = kube_services.choose(svc.backends[j], p.src_ip, p.dst_ip, p.proto, p.sport, p.dport,
                                  c.settings.service_hash_seed)
        if be is None:
            self.hop(device, DeviceKind.LB, "service", key, f"{svc.key}: no ready endpoint")
            self.end(Verdict.DROPPED, Reason.NO_ENDPOINT, device, DeviceKind.LB)
        self.hop(device, DeviceKind.LB, "service", key,
                 f"{svc.key}: DNAT to {ip_to_str(be.ip)}:{be.port} (1 of {len(svc.backends[j])} endpoints)")
        p.dst_ip, p.dport = be.ip, be.port
        self.res.backend, self.res.backend_key = be.lport, self.port_key(be.lport)

    def service_reply_source(self, kind, ep):
        """A reply from a cluster IP's port (the connection as its client sees it): sent by the
        backend the original went to, from its own address and target port; anyone else's is
        left alone (SpoofGuard meets its foreign source)."""
        p = self.p
        be = self.reply_backend(self.service_port(p.src_ip, p.sport), kind, ep)
        if be is not None:
            self.undnat = (p.src_ip, p.sport, self.res.service_key)
            p.src_ip, p.sport = be.ip, be.port

    def reply_backend(self, hit, kind, ep):
        """A reply from a virtual address's port (``hit``: its (service, port index), or None):
        the backend the original it answers went to — when that is its sender ``ep``, which
        then becomes the result's service and backend; else None."""
        if hit is None:
            return None
        p, c = self.p, self.c
        k, j = hit
        svc = c.services[k]
        be = kube_services.choose(svc.backends[j], p.dst_ip, p.src_ip, p.proto, p.dport, p.sport,
                                  c.settings.service_hash_seed)
        me = c.pod_index[ep.key] if kind == "pod" else len(c.pods) + c.node_index[ep.name]
        if be is None or be.lport != me:
            return None
        self.res.service, self.res.service_key = k, svc.key
        self.res.backend, self.res.backend_key = me, self.port_key(me)
        return be

    def service_undnat(self, device: str):
        """conntrack on the client's node puts the cluster IP back as the reply's source."""
        if self.undnat is None:
            return
        vip, port, key = self.undnat
        p = self.p
        self.hop(device, DeviceKind.NAT, "conntrack", f"{ip_to_str(p.src_ip)}:{p.sport}/{_proto_name(p.proto)}",
                 f"{key}: un-DNAT source to {ip_to_str(vip)}:{port}")
        p.src_ip, p.sport = vip, port
        self.undnat = None

    # ---- LoadBalancer: NCP's L4 virtual server on the load balancer T1's service router ---------------
    def load_balance(self, r: RouterInstance):
        """At the load balancer's SR, before it routes: an original to a virtual server (a
        LoadBalancer IP and port) is DNAT-ed to the backend the seeded 5-tuple hash picks and
        SNAT-ed to the T1's uplink IP (NCP's default, so the reply comes back here); the reply
        to that address is translated back (the virtual server's IP as source, the client as
        destination). No ready endpoint: dropped at the SR (``no-endpoint``)."""
        p, c = self.p, self.c
        lb = c.lb_router
        if not p.reply:
            hit = kube_services.lb_port(c, p.dst_ip, p.proto, p.dport)
            if hit is None:
                return
            k, j = hit
            svc = c.services[k]
            self.res.service, self.res.service_key = k, svc.key
            key = f"{ip_to_str(p.dst_ip)}:{p.dport}/{_proto_name(p.proto)} from {ip_to_str(p.src_ip)}"
            be = kube_services.choose(svc.backends[j], p.src_ip, p.dst_ip, p.proto, p.sport, p.dport,
                                      c.settings.service_hash_seed)
            if be is None:
                self.hop(r.name, DeviceKind.EDGE, "lb", key, f"{svc.key}: no ready endpoint")
                self.end(Verdict.DROPPED, Reason.NO_ENDPOINT, r.name, DeviceKind.EDGE)
            self.hop(r.name, DeviceKind.EDGE, "lb", key,
                     f"{svc.key}: DNAT to {ip_to_str(be.ip)}:{be.port} (1 of {len(svc.backends[j])} endpoints), "
                     f"SNAT source to {ip_to_str(lb.link_t1_ip)}")
            p.src_ip, p.dst_ip, p.dport = lb.link_t1_ip, be.ip, be.port
            self.res.backend, self.res.backend_key = be.lport, self.port_key(be.lport)
        elif self.unlb is not None and p.dst_ip == lb.link_t1_ip:
            vip, port, client, key = self.unlb
            self.hop(r.name, DeviceKind.EDGE, "lb", f"{ip_to_str(p.src_ip)}:{p.sport} -> {ip_to_str(p.dst_ip)}",
                     f"{key}: reply: source to {ip_to_str(vip)}:{port}, destination to {ip_to_str(client)}")
            p.src_ip, p.sport, p.dst_ip = vip, port, client
            self.unlb = None

    def lb_reply_source(self, kind, ep):
        """A reply from a virtual server (the connection as its client sees it): sent by the
        backend the load balancer chose, from its address and target port, to the T1 uplink IP
        the original came from; anyone else's is left alone (SpoofGuard meets it)."""
        p, c = self.p, self.c
        be = self.reply_backend(kube_services.lb_port(c, p.src_ip, p.proto, p.sport), kind, ep)
        if be is not None:
            self.unlb = (p.src_ip, p.sport, p.dst_ip, self.res.service_key)
            p.src_ip, p.sport, p.dst_ip = be.ip, be.port, c.lb_router.link_t1_ip

    # ---- SNAT on the T0's service router (north-south, per namespace: NCP) ------------------------------
    def snat_segment(self, ip: int):
        """The namespace segment with an SNAT IP whose subnet holds ``ip``, or None."""
        for s in self.c.namespaces:
            if s.snat_ip is not None and ipaddress.IPv4Address(ip) in s.subnet:
                return s
        return None

    def snat(self, r: RouterInstance):
        """A pod's original leaving through the T0 SR takes its namespace's SNAT IP as source."""
        p = self.p
        if not (r.sr and r.kind == "t0") or p.reply or self.ingress_kind != "pod":
            return
        s = self.snat_segment(p.src_ip)
        if s is not None:  # (the last thing the SR does: its hop records the frame as it leaves)
            pod_ip, p.src_ip = p.src_ip, s.snat_ip
            self.hop(r.name, DeviceKind.EDGE, "snat", f"{ip_to_str(pod_ip)} (namespace {s.namespace})",
                     f"SNAT source to {ip_to_str(s.snat_ip)}")

    def unsnat(self, r: RouterInstance, s, pod_ip: int):
        """A reply from outside to a pod of an SNAT namespace came to the namespace's SNAT IP
        (``s``'s; `from_uplink` found it): the T0 SR puts the pod's address back before it routes."""
        if s is not None:
            self.hop(r.name, DeviceKind.EDGE, "snat", f"{ip_to_str(s.snat_ip)} (namespace {s.namespace})",
                     f"un-SNAT destination to {ip_to_str(pod_ip)}")
            self.p.dst_ip = pod_ip

    def port_key(self, lport: int) -> str | None:
        if lport < 0:
            return None
        n = len(self.c.pods)
        return self.c.pods[lport].key if lport < n else self.c.nodes[lport - n].name

    # ---- the node's OVS bridge: NORMAL, pod access ports, a trunk to the VIF (module docstring) --------------
    def ovs_drops(self, ovs: str, key: str, learned_on: str):
        """Steps 2 and 3 of the module docstring, for a frame entering on ``learned_on``."""
        dst = self.dst_mac
        if dst in OVS_RESERVED_MACS:
            self.hop(ovs, DeviceKind.OVS, "ovs_mac", key, "reserved destination MAC (no forward-bpdu): dropped")
            self.end(Verdict.DROPPED, Reason.RESERVED_MAC, ovs, DeviceKind.OVS)
        if dst == self.src_mac and not is_multicast_mac(dst):
            self.hop(ovs, DeviceKind.OVS, "ovs_mac", key,
                     f"the frame's own source, just learned on the input port ({learned_on}): dropped")
            self.end(Verdict.DROPPED, Reason.LEARNED_ON_INPUT, ovs, DeviceKind.OVS)

    def ovs_from_pod(self, ep, node):
        """A pod's frame into its node's bridge, on the pod's access port: out by the trunk, or dropped."""
        p = self.p
        ovs = ovs_name(node.name)
        if p.vlan:
            self.vlan = p.vlan
            self.hop(ovs, DeviceKind.OVS, "ovs_port", f"access port vlan {ep.vlan}",
                     f"tagged frame (vid {p.vlan}) on an access port: dropped")
            self.end(Verdict.DROPPED, Reason.UNKNOWN_VLAN, ovs, DeviceKind.OVS)
        self.vlan = ep.vlan
        if not p.reply:
            self.service_dnat(ovs)  # kube-proxy's flows, before the bridge's MAC table
        dst = self.dst_mac
        key = f"vlan {ep.vlan}, {mac_to_str(dst)}"
        self.ovs_drops(ovs, key, f"pod port of {ep.key}")
        if dst == ep.mac:
            self.hop(ovs, DeviceKind.OVS, "ovs_mac", key, "the pod's own MAC, learned on the input port: dropped")
            self.end(Verdict.DROPPED, Reason.LEARNED_ON_INPUT, ovs, DeviceKind.OVS)
        if dst == self.c.settings.router_mac:
            how = "router MAC, learned on the trunk"
        elif dst == BROADCAST_MAC:
            how = "broadcast: flooded in the VLAN"
        elif is_multicast_mac(dst):
            how = "multicast: flooded in the VLAN"
        else:
            how = "learned on the trunk, or unknown and flooded in the VLAN"
        self.hop(ovs, DeviceKind.OVS, "ovs_mac", key, f"{how} -> trunk, tag {ep.vlan}")

    def ovs_to_pod(self, ep, node):
        """A frame from the VIF, tagged with the pod's VLAN, into the bridge on the trunk: to the
        pod's port untagged (returns), or dropped by the bridge or by the pod's stack."""
        ovs = ovs_name(node.name)
        self.service_undnat(ovs)
        dst = self.dst_mac
        key = f"vlan {ep.vlan}, {mac_to_str(dst)}"
        self.ovs_drops(ovs, key, "trunk")
        if dst == ep.mac:
            self.hop(ovs, DeviceKind.OVS, "ovs_mac", key, f"learned on the pod port of {ep.key} -> untagged to it")
            self.vlan = None
            return
        # the segment hands a port only frames for its MAC: reached only by a frame built by hand
        self.hop(ovs, DeviceKind.OVS, "ovs_mac", key,
                 f"not learned: flooded in the VLAN -> the pod port of {ep.key} (its only other port), untagged")
        self.vlan = None
        self.hop(ep.key, DeviceKind.POD, "", "", f"{mac_to_str(dst)} is not its MAC ({mac_to_str(ep.mac)}): discarded")
        self.end(Verdict.DROPPED, Reason.UNKNOWN_MAC, ep.key, DeviceKind.POD)

    def tunnel(self, dst_host: str, vni: int):
        """Geneve from the current host to ``dst_host``; the MTU check is the encapsulating host's."""
        c = self.c
        a, b = c.host(self.host), c.host(dst_host)
        ov = c.settings.geneve_overhead
        name = tunnel_name(a.name, b.name)
        mtu = min(a.mtu, b.mtu)
        outer_ip_len = self.p.size + ov
        self.outer = {"src_tep": ip_to_str(a.tep), "dst_tep": ip_to_str(b.tep), "udp_dport": GENEVE_UDP_PORT,
                      "vni": vni, "outer_ip_len": outer_ip_len, "outer_frame": outer_ip_len + ETH_HEADER}
        key = f"{ip_to_str(a.tep)}->{ip_to_str(b.tep)} vni {vni}"
        if outer_ip_len > mtu:
            self.hop(name, DeviceKind.TUNNEL, "mtu", key, f"{self.p.size} + {ov} > MTU {mtu}")
            self.end(Verdict.DROPPED, Reason.MTU_EXCEEDED, name, DeviceKind.TUNNEL)
        self.hop(name, DeviceKind.TUNNEL, "tep", key, f"encap to {b.name}, {outer_ip_len} <= MTU {mtu}")
        self.res.tunnels.append(Tunnel(a.name, b.name, vni, outer_ip_len + ETH_HEADER))
        self.host = b.name
        self.outer = None  # decapsulated on arrival

    def route(self, r: RouterInstance, arrive_ip: int):
        p = self.p
        kind = DeviceKind.EDGE if r.sr else (DeviceKind.T0 if r.kind == "t0" else DeviceKind.T1)
        if r.sr:
            self.res.via_edge = True
            if self.host != r.host:
                self.tunnel(r.host, r.transit_vni)
            if r.router == self.c.lb_router.name and self.c.lb_services:
                self.load_balance(r)
        route: Route | None = lookup(r, p.dst_ip)
        key = f"{ip_to_str(p.dst_ip)} (in on {ip_to_str(arrive_ip)})"
        if route is None:
            self.hop(r.name, kind, "route", key, "no route")
            self.end(Verdict.DROPPED, Reason.NO_ROUTE, r.name, kind)
        if route.kind == "ecmp":  # an active/active T0: one path per flow, by the seeded 5-tuple hash
            route = ecmp_member(route, p.src_ip, p.dst_ip, p.proto, p.sport, p.dport, self.c.settings.ecmp_hash_seed,
                                r.name)
        if route.kind == "local":
            self.hop(r.name, kind, "route", key, f"{route.prefix} local")
            self.responds(p.dst_ip, r.name)
            self.end(Verdict.DELIVERED, Reason.NONE, r.name, kind)
        if self.ttl <= 1:
            self.hop(r.name, kind, "route", key, f"TTL {self.ttl}: time exceeded from {ip_to_str(arrive_ip)}")
            self.responds(arrive_ip, r.name)
            self.end(Verdict.DROPPED, Reason.TTL_EXPIRED, r.name, kind)
        self.ttl -= 1
        self.responds(arrive_ip, r.name)
        self.src_mac = self.c.settings.router_mac
        if route.kind == "router":
            self.hop(r.name, kind, "route", key, f"{route.prefix} -> {route.next_router} at {ip_to_str(route.arrive_ip)}")
            self.route(self.rib[route.next_router], route.arrive_ip)
        if route.kind == "uplink":
            self.hop(r.name, kind, "route", key, f"{route.prefix} -> uplink {route.uplink}")
            self.snat(r)
            self.dst_mac = None
            self.hop(route.uplink, DeviceKind.UPLINK, "", "", "out to the physical network")
            self.end(Verdict.EXITED, Reason.NONE, route.uplink, DeviceKind.UPLINK)
        # connected: the neighbor on the segment
        self.neighbor(r, kind, next(s for s in self.c.segments if s.name == route.segment))

    def neighbor(self, r: RouterInstance, kind, seg):
        """ARP on a router's connected segment, then that segment's L2 to the neighbor's port."""
        p = self.p
        nb = self.segment_neighbor(seg, p.dst_ip)
        if nb is None:
            self.hop(r.name, kind, "neighbor", f"{seg.name} {ip_to_str(p.dst_ip)}", "miss (ARP unanswered)")
            self.end(Verdict.DROPPED, Reason.NO_NEIGHBOR, r.name, kind)
        self.dst_mac = nb[1].mac
        self.hop(r.name, kind, "neighbor", f"{seg.name} {ip_to_str(p.dst_ip)}", mac_to_str(nb[1].mac))
        self.segment(seg)

    def deliver(self, seg, kind, ep):
        """Hand to a logical port: tunnel to its host if needed, then VIF/OVS to the endpoint."""
        c = self.c
        dst_host = self.host_of(kind, ep)
        if dst_host != self.host:
            self.tunnel(dst_host, seg.vni)
        lp = self.port_name(kind, ep)
        self.dfw_at_receiver(lp, kind, ep)
        if kind == "node":
            self.hop(vif_name(ep.name), DeviceKind.VIF, "port", lp, "untagged to the node VM")
            self.service_undnat(ep.name)
            self.hop(ep.name, DeviceKind.NODE, "", "", "delivered to eth0")
            self.responds(self.p.dst_ip, ep.name)
            self.end(Verdict.DELIVERED, Reason.NONE, ep.name, DeviceKind.NODE)
        node = c.node(ep.node)
        self.vlan = ep.vlan
        self.hop(vif_name(node.name), DeviceKind.VIF, "port", lp, f"tag {ep.vlan} onto the trunk")
        self.ovs_to_pod(ep, node)
        self.hop(ep.key, DeviceKind.POD, "", "", "delivered to eth0")
        self.responds(self.p.dst_ip, ep.key)
        self.end(Verdict.DELIVERED, Reason.NONE, ep.key, DeviceKind.POD)


def _proto_name(proto: int) -> str:
    return {6: "tcp", 17: "udp", 132: "sctp"}.get(proto, str(proto))


def _policy_model(c: Cluster):
    """The cluster's policy model, built once and kept on it (a cluster is immutable)."""
    if "_policy_model" not in c.__dict__:
        c.__dict__["_policy_model"] = firewall.policy_model(c)
    return c.__dict__["_policy_model"]


INGRESS_KINDS = {"pod": DeviceKind.POD, "node": DeviceKind.NODE, "uplink": DeviceKind.UPLINK, "router": DeviceKind.EDGE}


def walk(cluster: Cluster, ingress: Ingress, packet: Packet) -> Result:
    """Walk one packet from ``ingress``; returns its verdict and every hop. An ingress that
    names nothing (unknown kind, index out of range) is ``malformed`` with no device."""
    count = {"pod": len(cluster.pods), "node": len(cluster.nodes), "uplink": len(cluster.uplinks),
             "router": len(rib(cluster))}
    if (ingress.kind not in count or not 0 <= ingress.index < count[ingress.kind]
            or ingress.kind == "router" and not list(rib(cluster).values())[ingress.index].sr):
        kind = INGRESS_KINDS.get(ingress.kind, DeviceKind.POD)
        return Result(Verdict.DROPPED, Reason.MALFORMED, "", kind, packet.ttl)
    return _Walk(cluster, packet).run(ingress)
