"""The compiled bundle: every table the fast path reads, as immutable numpy arrays.

What?
-----
`compile_cluster` turns a `Cluster` into a `Tables`: plain arrays and lookup views, read-only,
with ids that are positions. Kernels take these arrays as arguments; nothing here is Python
objects except the name lists kept aside for reports.

Ids
---
- logical port: pods ``0..P-1`` (pod row), then nodes ``P..P+N-1`` (node ``n`` is port ``P+n``)
- segment: `Cluster.segments` order: 0 = the node segment, ``1 + k`` = namespace ``k``
- host: `Cluster.hosts` order (transport nodes and edges)
- router instance: order of `fastpath.model.routing.rib` (DRs in router order, then SRs)
- route: the rib's routes, instance by instance, each in its listed order
- uplink: `Cluster.uplinks` order

Arrays (``name: dtype[shape] — meaning``; P pods, N nodes, H hosts, S segments, R router
instances, T routes, D DFW rules)
--------------------------------------------------------------------------------------------
ports — one record per logical port, 4 uint64 words (32 bytes, two to a cache line)
    port_rec: uint64[P+N, 4] — mac, vlan, ip, segment, node, host, kind, packed as drawn in
        `fastpath.tables.ports` (the only module that decodes it)
    Decoded columns, as properties: port_kind uint8, port_node int32 (node the pod runs on /
    the node itself), port_host int32, port_segment int32 (node ports: 0), port_ip uint32,
    port_mac uint64, port_vlan uint16 (0 for node ports: untagged).
nodes, hosts
    node_host: int32[N] — host of node n
    host_tep: uint32[H] — tunnel endpoint IP
    host_mtu: int32[H] — underlay MTU
    host_is_edge: bool[H] — an edge node (hosts SRs)
    geneve_overhead: int — bytes Geneve adds to an inner frame (outer IPv4 + UDP + Geneve +
        inner Ethernet: the settings' `geneve_overhead`), checked against both hosts' MTU
ovs_mac (exact table, `OVS_MAC` below) — the OVS bridge MAC table of every node
    key (node << 12 | vlan, mac) -> the pod's port for its own MAC, `OVS_UPLINK` for the
    router MAC: exactly these two entries per pod VLAN
vif (exact table) — the node VIF's VLAN -> logical port map
    key (node, vlan) -> the pod's port
segment_l2 (exact table) — each segment's MAC table
    key (segment, mac) -> logical port (pods and nodes), plus (segment, router MAC) -> `L2_ROUTER`
neighbor, neighbor_dense, seg_nb_off — the ARP tables of every segment: a dense array per
    full subnet, the exact hash for sparse ones (layout in `fastpath.tables.neighbor`)
router_mac: int — the MAC of every router port (the settings' `router_mac`): OVS sends it to
    the uplink, every segment to its router, and routers source frames from it
segments
    seg_vni: uint32[S] — Geneve VNI
    seg_router: int32[S] — router instance of the segment's T1 DR
    seg_gateway: uint32[S] — gateway IP (the T1 downlink, ``.1``)
    seg_net, seg_mask: uint32[S] — the segment's subnet: ``ip & seg_mask == seg_net`` is on-link
routers
    rtr_is_sr: bool[R] — a service router (else a distributed router)
    rtr_host: int32[R] — edge host of an SR; -1 for a DR (runs wherever the packet is)
    rtr_transit_vni: uint32[R] — VNI of the DR <-> SR transit segment; 0 if none
    rtr_kind: uint8[R] — `RTR_T1` (= DeviceKind.T1) or `RTR_T0` (= DeviceKind.T0)
    rtr_ecmp_seed: uint64[R] — the seed of its ECMP hash (`fastpath.model.routing.ecmp_seed`)
uplinks
    uplink_ip: uint32[U] — the T0 uplink's address, the first hop a packet from it arrives on
    uplink_router: int32[U] — the instance a packet from it enters: the T0 SR instance holding it
        when the T0 has an edge, else the T0 DR
    uplink_host: int32[U] — the host it enters on: that SR's edge, else the first transport node
routes
    route_trie (multibit trie, `fastpath.tables.mtrie`) — (router instance, dst IP) -> route
    route_lines: int64[R, 8] — a router of at most 4 prefixes as one cache line
        (`fastpath.tables.route_lines`), looked up before the trie
    route_router: int32[T] — router instance holding the route
    route_network: uint32[T] — prefix network
    route_prefix_len: uint8[T] — prefix length
    route_kind: uint8[T] — `ROUTE_LOCAL` / `ROUTE_CONNECTED` / `ROUTE_ROUTER` / `ROUTE_UPLINK` /
        `ROUTE_LB` / `ROUTE_NULL` / `ROUTE_ECMP` (its members the rows after it)
    route_arg: int32[T] — connected: segment id; router: next router instance; uplink:
        uplink id; local: -1
    route_arrive_ip: uint32[T] — router: address on the next router the packet arrives on; 0
        otherwise
    A route that repeats an earlier prefix of its router keeps its row but is never returned.
dfw (`fastpath.compile.dfw`: one classifier table per class of ports and side) — the
    classifier's ``cls_*`` arrays (`fastpath.tables.classifier`); dfw_row_decision: int32[rows]
    — the decision a row names (`fastpath.model.firewall`); dfw_decision_allow: uint8[decisions];
    dfw_table_policy: uint8[tables] — the table holds NetworkPolicy; dfw_table_twin: int32[tables]
    — the table without its admin rows; dfw_admin_*: the admin rules as columns (a frame whose
    local address is not its port's is judged on them); dfw_n_admin, dfw_local
    — where the policy decisions start and end; dfw_reads_l4 — some row constrains protocol or
    port; each port's two tables sit in its record (``port_rec`` word 3)
services (`fastpath.tables.services`) — kube-proxy's table: (cluster IP, proto, port) ->
    backends, read by the service stage in front of the engines
lb (`fastpath.tables.lb`) — the LoadBalancer Services' virtual servers on the load balancer
    T1's SR, with that SR's instance id; None when no Service has a LoadBalancer IP
snat (`fastpath.tables.snat`) — each namespace's SNAT IP on the T0's SR, with that SR's id
names (Python tuples, for reports): router_names[R], uplink_names, dfw_decision_names

Codes and the kernel view
-------------------------
Each table's codes (`PORT_POD`, `PORT_NODE`, `OVS_UPLINK`, `L2_ROUTER`, `ROUTE_*`, `RTR_*`) are
defined beside the table's builder (`fastpath.tables.ports`, `compile.switching`,
`compile.routers`) and re-exported here. The data plane reads a `Tables` through
`fastpath.compile.kernel_view`, which fills each kernel field from the field of the same name
(checked when it is imported), and reads the tables beside the engines (services, lb, snat)
as fields: everything it needs from the model is a field here, so no data-plane module imports
the model (tests/test_compile_kernel_view.py walks their imports).

Memory
------
The exact tables dominate: 4 entries per pod (2 OVS MAC, 1 VIF, 1 segment L2) at 16 bytes a
slot and load `COMPILE_MAX_LOAD` (0.9) cost ~71 bytes per pod; the port record 32; dense ARP
arrays ~6.5 (4 bytes an address of a dense subnet). A generated cluster of 1M pods compiles
to ~111 bytes per pod (`Tables.sizes()` gives the breakdown); a route costs 18 bytes of
columns plus its share of the trie (a T1 DR ~7 KiB).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from ..tables import neighbor as neighbor_table
from ..tables import ports as port_table
from ..tables.exact import ExactTable
from ..tables.mtrie import Mtrie
from ..tables.ports import PORT_NODE, PORT_POD
from ..tables.lb import LbTable
from ..tables.services import ServiceTable
from ..tables.snat import SnatTable
from .routers import ROUTE_CONNECTED, ROUTE_KINDS, ROUTE_LOCAL, ROUTE_ROUTER, ROUTE_UPLINK, RTR_T0, RTR_T1
from ..tables.classifier import FIELDS as CLS_FIELDS
from .switching import COMPILE_MAX_LOAD, L2_ROUTER, OVS_UPLINK, OVS_VLAN_BITS

ADMIN_FIELDS = ("dfw_admin_src_net", "dfw_admin_src_mask", "dfw_admin_dst_net", "dfw_admin_dst_mask",
                "dfw_admin_proto", "dfw_admin_lo", "dfw_admin_hi")

# Every table's codes are defined beside the table (above); re-exported here for compatibility.
__all__ = ["COMPILE_MAX_LOAD", "L2_ROUTER", "OVS_UPLINK", "OVS_VLAN_BITS",
           "PORT_NODE", "PORT_POD", "ROUTE_CONNECTED", "ROUTE_KINDS", "ROUTE_LOCAL", "ROUTE_ROUTER", "ROUTE_UPLINK",
           "RTR_T0", "RTR_T1", "TableSize", "Tables"]


class TableSize(NamedTuple):
    bytes: int
    entries: int


# table -> its array fields and the count `sizes()` reports as entries
_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "ports": (("port_rec",), "n_ports"),
    "nodes": (("node_host",), "n_nodes"),
    "hosts": (("host_tep", "host_mtu", "host_is_edge"), "n_hosts"),
    "uplinks": (("uplink_ip", "uplink_router", "uplink_host"), "n_uplinks"),
    "ovs_mac": (("ovs_mac",), "ovs_mac.size"),
    "vif": (("vif",), "vif.size"),
    "segment_l2": (("segment_l2",), "segment_l2.size"),
    "neighbor": (("neighbor", "neighbor_dense", "seg_nb_off"), "n_ports"),
    "segments": (("seg_vni", "seg_router", "seg_gateway", "seg_net", "seg_mask"), "n_segments"),
    "routers": (("rtr_is_sr", "rtr_host", "rtr_transit_vni", "rtr_kind", "rtr_ecmp_seed"), "n_routers"),
    "route_trie": (("route_trie", "route_lines"), "n_routes"),
    "routes": (("route_router", "route_network", "route_prefix_len", "route_kind", "route_arg",
                "route_arrive_ip"), "n_routes"),
    "dfw": (CLS_FIELDS + ("dfw_row_decision", "dfw_decision_allow", "dfw_table_policy", "dfw_table_twin",
                       "dfw_table_const")
            + ADMIN_FIELDS, "n_dfw_rows"),
    "services": (("services",), "services.n_ports"),
    "lb": (("lb",), "n_virtual_servers"),
    "snat": (("snat",), "snat.start.size"),
}


def _arrays(value) -> list[np.ndarray]:
    """The arrays in a field: an array, or a table view (a NamedTuple of arrays and views)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays(v)]
    return []


def _nbytes(value) -> int:
    """Bytes of the arrays in a field."""
    return sum(a.nbytes for a in _arrays(value))


@dataclass(frozen=True, slots=True, eq=False)
class Tables:
    """The compiled cluster (see the module docstring for every field)."""

    n_pods: int
    n_nodes: int
    n_hosts: int
    n_segments: int
    n_routers: int
    n_routes: int
    n_dfw_rules: int  # admin rules
    n_dfw_rows: int  # classifier rows, every table's
    # ports
    port_rec: np.ndarray
    # nodes, hosts
    node_host: np.ndarray
    host_tep: np.ndarray
    host_mtu: np.ndarray
    host_is_edge: np.ndarray
    geneve_overhead: int
    # L2
    ovs_mac: ExactTable
    vif: ExactTable
    segment_l2: ExactTable
    neighbor: ExactTable
    neighbor_dense: np.ndarray
    seg_nb_off: np.ndarray
    router_mac: int
    # segments
    seg_vni: np.ndarray
    seg_router: np.ndarray
    seg_gateway: np.ndarray
    seg_net: np.ndarray
    seg_mask: np.ndarray
    # routers
    rtr_is_sr: np.ndarray
    rtr_host: np.ndarray
    rtr_transit_vni: np.ndarray
    rtr_kind: np.ndarray
    rtr_ecmp_seed: np.ndarray
    uplink_router: np.ndarray
    uplink_host: np.ndarray
    uplink_ip: np.ndarray
    # routes
    route_trie: Mtrie
    route_lines: np.ndarray
    route_router: np.ndarray
    route_network: np.ndarray
    route_prefix_len: np.ndarray
    route_kind: np.ndarray
    route_arg: np.ndarray
    route_arrive_ip: np.ndarray
    # dfw
    cls_tab_start: np.ndarray
    cls_bound: np.ndarray
    cls_rules: np.ndarray
    cls_rows: int
    cls_src_table: np.ndarray
    cls_src_net: np.ndarray
    cls_src_plen: np.ndarray
    cls_src_proto: np.ndarray
    cls_src_port_lo: np.ndarray
    cls_src_port_hi: np.ndarray
    dfw_row_decision: np.ndarray
    dfw_decision_allow: np.ndarray
    dfw_table_policy: np.ndarray
    dfw_table_twin: np.ndarray
    dfw_table_const: np.ndarray
    dfw_admin_src_net: np.ndarray
    dfw_admin_src_mask: np.ndarray
    dfw_admin_dst_net: np.ndarray
    dfw_admin_dst_mask: np.ndarray
    dfw_admin_proto: np.ndarray
    dfw_admin_lo: np.ndarray
    dfw_admin_hi: np.ndarray
    dfw_n_admin: int
    dfw_local: int
    dfw_reads_l4: bool
    # names, kept aside
    router_names: tuple[str, ...]
    uplink_names: tuple[str, ...]
    # Services (kube-proxy's table, `fastpath.tables.services`): read by the service stage in front
    # of the engines, not by their kernel view
    services: ServiceTable
    dfw_decision_names: tuple[str, ...]
    # NAT on service routers, applied beside the engines (`fastpath.dataplane.lb`, `.snat`)
    lb: LbTable | None
    snat: SnatTable

    @property
    def n_ports(self) -> int:
        return self.n_pods + self.n_nodes

    @property
    def n_uplinks(self) -> int:
        return self.uplink_ip.shape[0]

    # decoded port columns (new arrays on each access; the decoders are `fastpath.tables.ports`')
    @property
    def port_mac(self) -> np.ndarray:
        return port_table.column(self.port_rec, "mac")

    @property
    def port_vlan(self) -> np.ndarray:
        return port_table.column(self.port_rec, "vlan").astype(np.uint16)

    @property
    def port_ip(self) -> np.ndarray:
        return port_table.column(self.port_rec, "ip").astype(np.uint32)

    @property
    def port_segment(self) -> np.ndarray:
        return port_table.column(self.port_rec, "segment").astype(np.int32)

    @property
    def port_node(self) -> np.ndarray:
        return port_table.column(self.port_rec, "node").astype(np.int32)

    @property
    def port_host(self) -> np.ndarray:
        return port_table.column(self.port_rec, "host").astype(np.int32)

    @property
    def port_kind(self) -> np.ndarray:
        return port_table.column(self.port_rec, "kind").astype(np.uint8)

    @property
    def n_virtual_servers(self) -> int:
        return 0 if self.lb is None else self.lb.vs.n_ports

    def __post_init__(self):
        for f in fields(self):
            for a in _arrays(getattr(self, f.name)):
                a.setflags(write=False)

    def neighbor_of(self, segment: int, ip: int) -> int:
        """The port answering ARP for ``ip`` on ``segment``, or -1 (`fastpath.tables.neighbor.lookup`)."""
        nt = neighbor_table.NeighborTables(self.neighbor, self.neighbor_dense, self.seg_nb_off)
        return neighbor_table.lookup(nt, self.seg_net, self.seg_mask, segment, ip)

    def _count(self, path: str) -> int:
        obj = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return int(obj)

    def sizes(self) -> dict[str, TableSize]:
        """Bytes and entries of each table (the groups of the module docstring)."""
        return {name: TableSize(sum(_nbytes(getattr(self, f)) for f in names), self._count(count))
                for name, (names, count) in _GROUPS.items()}

    def nbytes(self) -> int:
        """Bytes of every array in the bundle."""
        return sum(s.bytes for s in self.sizes().values())

    def report(self) -> str:
        """`sizes()` as a table, with bytes per pod."""
        per = max(self.n_pods, 1)
        lines = [f"{'table':<12} {'entries':>10} {'bytes':>13} {'B/pod':>7}"]
        for name, s in self.sizes().items():
            lines.append(f"{name:<12} {s.entries:>10,} {s.bytes:>13,} {s.bytes / per:>7.1f}")
        total = self.nbytes()
        lines.append(f"{'total':<12} {'':>10} {total:>13,} {total / per:>7.1f}")
        return "\n".join(lines)
