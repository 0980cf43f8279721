"""The packet batch: struct of arrays, every field declared once (name, dtype, meaning).

A batch is what goes into the data plane (`INPUT_FIELDS`) and what comes out
(`OUTPUT_FIELDS`). Both are NamedTuples of equal-length numpy arrays, so numba kernels take
them whole and index them by field. A zero MAC on input means "the sender's stack fills it
in" (its own MAC; ARP for on-link destinations, else the gateway's), as the reference's None.

Device of a verdict: ``dev_kind`` (a `DeviceKind`) and ``dev_id``, an index whose space the
kind decides: pod row, node index (node, OVS bridge, VIF), logical port id (port: pods then
nodes), segment id, router instance id (t1, t0, edge), uplink index, and for a tunnel
``src_host * H + dst_host``. -1 = none (an ingress that names nothing).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .verdicts import DeviceKind

INGRESS_POD = int(DeviceKind.POD)
INGRESS_NODE = int(DeviceKind.NODE)
INGRESS_UPLINK = int(DeviceKind.UPLINK)
INGRESS_ROUTER = int(DeviceKind.EDGE)
"""A packet handed to a service router (id: its router instance), as if it had just arrived
there: the load balancer's second pass (`fastpath.dataplane.lb`). Its ``dst_mac`` carries the
IPv4 address it arrived on (its low 32 bits), its ``src_mac`` non-zero says the sender's DFW already judged it."""

INPUT_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("ingress_kind", np.uint8, "where the packet enters: DeviceKind POD, NODE or UPLINK (or EDGE: INGRESS_ROUTER)"),
    ("ingress_id", np.int32, "pod row, node index or uplink index (or service router instance)"),
    ("src_mac", np.uint64, "source MAC as sent (48 bits); 0 = the sender's own"),
    ("dst_mac", np.uint64, "destination MAC as sent; 0 = resolved by the sender's stack"),
    ("vlan", np.uint16, "802.1Q VID on the sender's frame; 0 = untagged or priority-tagged"),
    ("src_ip", np.uint32, "IPv4 source"),
    ("dst_ip", np.uint32, "IPv4 destination"),
    ("proto", np.uint8, "IP protocol (6 TCP, 17 UDP, 1 ICMP, ...)"),
    ("sport", np.uint16, "L4 source port"),
    ("dport", np.uint16, "L4 destination port"),
    ("ttl", np.uint8, "IPv4 TTL as sent"),
    ("length", np.uint16, "IPv4 total length of the inner packet, bytes"),
    ("reply", np.uint8, "1 = a reply of its connection (sent by the original's destination): the stateful DFW "
                        "judges it by the original it answers; 0 = an original"),
)

OUTPUT_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("verdict", np.uint8, "Verdict: delivered, exited, dropped"),
    ("reason", np.uint8, "Reason of a drop (NONE otherwise)"),
    ("dev_kind", np.uint8, "DeviceKind of the device where the verdict happened"),
    ("dev_id", np.int32, "that device's index (see module docstring)"),
    ("egress_port", np.int32, "logical port delivered to; -1 if none"),
    ("ttl_out", np.uint8, "TTL when the verdict happened"),
    ("hops", np.uint8, "IP hops answered: the traceroute length (routers, then the destination)"),
    ("last_ip", np.uint32, "the last of them: the router address that sent time-exceeded, or the destination; 0 if none"),
    ("n_tunnels", np.uint8, "Geneve tunnels crossed"),
    ("tun_src_host", np.int32, "last tunnel: encapsulating host; -1 if none"),
    ("tun_dst_host", np.int32, "last tunnel: decapsulating host; -1 if none"),
    ("tun_vni", np.uint32, "last tunnel: VNI; 0 if none"),
    ("underlay_bytes", np.uint32, "bytes on the underlay, outer frames of every tunnel"),
    ("via_edge", np.bool_, "crossed a service router on an edge node"),
    ("dfw_at_src", np.int32, "DFW decision at the sending side's logical port (`fastpath.model.firewall`: a rule, "
                             "a policy, an isolation, the default); -1 = not evaluated there"),
    ("dfw_at_dst", np.int32, "DFW decision at the receiving side's logical port; -1 = not evaluated there"),
    ("service", np.int32, "the Service whose cluster IP kube-proxy translated, or whose virtual server the load "
                          "balancer did (index into Cluster.services); -1 none"),
    ("backend", np.int32, "the logical port of the Service backend it chose (pods, then nodes); -1 none "
                          "(or an endpoint outside the cluster)"),
)


class PacketBatch(NamedTuple):
    ingress_kind: np.ndarray
    ingress_id: np.ndarray
    src_mac: np.ndarray
    dst_mac: np.ndarray
    vlan: np.ndarray
    src_ip: np.ndarray
    dst_ip: np.ndarray
    proto: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    ttl: np.ndarray
    length: np.ndarray
    reply: np.ndarray

    @property
    def size(self) -> int:
        """Packets in the batch (``len()`` stays the tuple's: the number of fields)."""
        return self.ingress_kind.shape[0]

    def slice(self, lo: int, hi: int) -> "PacketBatch":
        return PacketBatch(*(a[lo:hi] for a in self))


class Results(NamedTuple):
    verdict: np.ndarray
    reason: np.ndarray
    dev_kind: np.ndarray
    dev_id: np.ndarray
    egress_port: np.ndarray
    ttl_out: np.ndarray
    hops: np.ndarray
    last_ip: np.ndarray
    n_tunnels: np.ndarray
    tun_src_host: np.ndarray
    tun_dst_host: np.ndarray
    tun_vni: np.ndarray
    underlay_bytes: np.ndarray
    via_edge: np.ndarray
    dfw_at_src: np.ndarray
    dfw_at_dst: np.ndarray
    service: np.ndarray
    backend: np.ndarray

    @property
    def size(self) -> int:
        return self.verdict.shape[0]

    def slice(self, lo: int, hi: int) -> "Results":
        return Results(*(a[lo:hi] for a in self))


assert PacketBatch._fields == tuple(f[0] for f in INPUT_FIELDS)
assert Results._fields == tuple(f[0] for f in OUTPUT_FIELDS)


def empty_batch(n: int) -> PacketBatch:
    """A zeroed batch of n packets (fill the fields you need)."""
    return PacketBatch(*(np.zeros(n, dtype) for _, dtype, _ in INPUT_FIELDS))


def make_batch(**columns) -> PacketBatch:
    """A batch from columns (any array-likes, cast to the declared dtypes; missing fields 0).
    Raises ValueError naming a field of the wrong length or an unknown field."""
    return PacketBatch(*make_columns([(name, dtype) for name, dtype, _ in INPUT_FIELDS], columns, "packet"))


def make_columns(fields, columns: dict, what: str) -> list[np.ndarray]:
    """Contiguous arrays of the declared ``(name, dtype)`` ``fields`` from ``columns`` (array-likes
    cast, scalars broadcast, missing fields 0); ValueError naming an unknown field or one of the
    wrong length. Shared by the packet batch and the wire's frame table."""
    unknown = set(columns) - {name for name, _ in fields}
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(sorted(unknown))}")
    n = max((np.size(v) for v in columns.values()), default=0)
    cols = []
    for name, dtype in fields:
        if name in columns:
            a = np.asarray(columns[name])
            if a.ndim == 0:
                a = np.full(n, a)
            if a.shape != (n,):
                raise ValueError(f"{what} field {name}: {a.shape[0] if a.ndim else 1} values, expected {n}")
            cols.append(np.ascontiguousarray(a.astype(dtype, copy=False)))
        else:
            cols.append(np.zeros(n, dtype))
    return cols


def empty_results(n: int) -> Results:
    """Results to be filled by a forward; the Service fields start at -1 (none), as the engines
    behind the service stage never write them."""
    return Results(*(np.full(n, -1, dtype) if name in ("service", "backend") else np.empty(n, dtype)
                     for name, dtype, _ in OUTPUT_FIELDS))
