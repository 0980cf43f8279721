"""The reference walk over a whole `PacketBatch`, encoded like the fast path's `Results`.

This is how the fast path is proven: both run the same batch; this side walks packet by
packet through the model (`walk`) and writes the same fields with the same device ids
(`DeviceIds`, derived from the model, not from the compiled tables). Slow on purpose.
"""

from __future__ import annotations

import numpy as np

from ..model.cluster import Cluster
from ..model.routing import rib
from ..packets import PacketBatch, Results, empty_results, make_batch
from ..verdicts import TRACE_TABLES, DeviceKind, Verdict
from .walk import Ingress, Packet, Result, walk

_INGRESS = {int(DeviceKind.POD): "pod", int(DeviceKind.NODE): "node", int(DeviceKind.UPLINK): "uplink",
            int(DeviceKind.EDGE): "router"}
_TABLE_CODE = {name: k for k, name in enumerate(TRACE_TABLES)}


class DeviceIds:
    """Device name (as the reference writes it) -> the id the fast path writes for its kind."""

    def __init__(self, c: Cluster):
        self.c = c
        self.router = {name: i for i, name in enumerate(rib(c))}
        self.segment = {s.name: i for i, s in enumerate(c.segments)}
        self.uplink = {u.name: i for i, u in enumerate(c.uplinks)}
        self.n_hosts = len(c.hosts)

    def __call__(self, kind: DeviceKind, name: str) -> int:
        c = self.c
        if name == "":
            return -1
        if kind is DeviceKind.POD:
            return c.pod_index[name]
        if kind is DeviceKind.NODE:
            return c.node_index[name]
        if kind in (DeviceKind.OVS, DeviceKind.VIF):
            return c.node_index[name.split("@", 1)[1]]
        if kind in (DeviceKind.LB, DeviceKind.NAT):  # kube-proxy in a node's OVS (ovs@node) or in the node
            return c.node_index[name.rsplit("@", 1)[-1]]
        if kind is DeviceKind.SEGMENT:
            return self.segment[name]
        if kind in (DeviceKind.T1, DeviceKind.T0, DeviceKind.EDGE):
            return self.router[name]
        if kind is DeviceKind.TUNNEL:
            a, b = name.split(":", 1)[1].split("->")
            return c.host_index[a] * self.n_hosts + c.host_index[b]
        if kind is DeviceKind.UPLINK:
            return self.uplink[name]
        if kind is DeviceKind.PORT:
            x = name[3:]
            return c.pod_index[x] if "/" in x else len(c.pods) + c.node_index[x]
        raise ValueError(f"no id for device {name!r} of kind {kind.label}")


def packet_of(b: PacketBatch, i: int) -> tuple[Ingress, Packet]:
    kind = _INGRESS.get(int(b.ingress_kind[i]), "invalid")
    pkt = Packet(src_ip=int(b.src_ip[i]), dst_ip=int(b.dst_ip[i]), proto=int(b.proto[i]), sport=int(b.sport[i]),
                 dport=int(b.dport[i]), ttl=int(b.ttl[i]), size=int(b.length[i]),
                 src_mac=int(b.src_mac[i]) or None, dst_mac=int(b.dst_mac[i]) or None, vlan=int(b.vlan[i]),
                 reply=bool(b.reply[i]))
    return Ingress(kind, int(b.ingress_id[i])), pkt


def batch_of(ingress: Ingress, pkt: Packet) -> PacketBatch:
    """The one-packet batch the fast path takes for a reference (ingress, packet): `packet_of`'s inverse."""
    kind = {v: k for k, v in _INGRESS.items()}.get(ingress.kind, 255)
    return make_batch(ingress_kind=kind, ingress_id=ingress.index, src_mac=pkt.src_mac or 0, dst_mac=pkt.dst_mac or 0,
                      vlan=pkt.vlan, src_ip=pkt.src_ip, dst_ip=pkt.dst_ip, proto=pkt.proto, sport=pkt.sport,
                      dport=pkt.dport, ttl=pkt.ttl, length=pkt.size, reply=int(pkt.reply))


def encode(res: Result, ids: DeviceIds, o: Results, i: int) -> None:
    """Write one reference result into row i of fast-path-shaped results."""
    o.verdict[i] = res.verdict
    o.reason[i] = res.reason
    o.dev_kind[i] = res.device_kind
    o.dev_id[i] = ids(res.device_kind, res.device)
    # delivered through a logical port (not the loopback of a packet to the sender itself)
    if res.verdict is Verdict.DELIVERED and res.device_kind in (DeviceKind.POD, DeviceKind.NODE) and res.traceroute:
        o.egress_port[i] = ids(DeviceKind.PORT, "lp:" + res.device)
    else:
        o.egress_port[i] = -1
    o.ttl_out[i] = res.ttl_out
    o.hops[i] = len(res.traceroute)
    o.last_ip[i] = int(res.traceroute[-1]) if res.traceroute else 0
    o.n_tunnels[i] = len(res.tunnels)
    last = res.tunnels[-1] if res.tunnels else None
    o.tun_src_host[i] = ids.c.host_index[last.src_host] if last else -1
    o.tun_dst_host[i] = ids.c.host_index[last.dst_host] if last else -1
    o.tun_vni[i] = last.vni if last else 0
    o.underlay_bytes[i] = res.underlay_bytes
    o.via_edge[i] = res.via_edge
    o.dfw_at_src[i] = res.dfw_at_src
    o.dfw_at_dst[i] = res.dfw_at_dst
    o.service[i] = res.service
    o.backend[i] = res.backend


def trace_records(res: Result, ids: DeviceIds) -> np.ndarray:
    """The reference hops as fast-path trace records: int32[hops, 4] (kind, device, table, ttl)."""
    return np.array([(int(h.kind), ids(h.kind, h.device), _TABLE_CODE[h.table], h.ttl) for h in res.hops],
                    np.int32).reshape(-1, 4)


def walk_batch(c: Cluster, b: PacketBatch, ids: DeviceIds | None = None) -> tuple[Results, list[Result]]:
    """Walk every packet of ``b``; returns the encoded results and the reference results."""
    ids = ids or DeviceIds(c)
    n = b.size
    o = empty_results(n)
    full = []
    for i in range(n):
        ingress, pkt = packet_of(b, i)
        res = walk(c, ingress, pkt)
        encode(res, ids, o, i)
        full.append(res)
    return o, full
