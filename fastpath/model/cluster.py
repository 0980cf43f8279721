"""The resolved cluster model: what the user described, with every address allocated.

A `Cluster` is immutable once built. Small collections (hosts, nodes, segments, routers) are
lists of slotted dataclasses; pods are a `PodTable` of numpy columns, because a generated
cluster holds a million of them and a million Python objects cost seconds to make. A `Pod`
object is made on demand from a row (`cluster.pods[i]`), so code that walks one packet reads
like it works on objects while the bulk stays columnar.

Addresses are ints (IPv4 32-bit, MAC 48-bit); subnets are `ipaddress.IPv4Network`.
Naming of derived devices (segments `ls-<ns>`, routers `t1-<ns>`, the OVS bridge `ovs@<node>`,
the VIF `vif@<node>`) is decided here, once, in `device names` below.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

import numpy as np

from .addressing import ROUTER_MAC_DEFAULT

GENEVE_BASE_OVERHEAD = 50
"""Outer Ethernet 14 + IPv4 20 + UDP 8 + Geneve 8, without options (DESIGN.md)."""

IPV4_MIN_MTU = 576
"""Every IPv4 link must carry a 576-byte datagram (RFC 791): the least an underlay may offer
to inner packets after the Geneve overhead."""

TRANSIT_DR_IP = int(ipaddress.IPv4Address("169.254.0.1"))
TRANSIT_SR_IP = int(ipaddress.IPv4Address("169.254.0.2"))
"""DR <-> SR transit link of a router with a service router (NSX's 169.254.0.0/28)."""


class SpecError(ValueError):
    """A bad cluster description: `path` names the field (``pods[3].vlan``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


@dataclass(frozen=True, slots=True)
class Settings:
    name: str = "cluster"
    pod_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("172.16.0.0/16")
    namespace_prefix: int = 24
    tep_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("192.168.0.0/16")
    link_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("100.64.0.0/16")
    router_mac: int = ROUTER_MAC_DEFAULT
    vni_base: int = 65536
    geneve_option_bytes: int = 0
    vlan_min: int = 1
    vlan_max: int = 4093
    default_max_pods: int = 110
    mac_table_size: int = 8192
    service_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("10.96.0.0/12")
    service_hash_seed: int = 0  # seeds kube-proxy's choice of backend (`fastpath.services.hashing`)
    ecmp_hash_seed: int = 0  # seeds the T0 DR's ECMP choice of SR (and an SR's of uplink): `fastpath.model.routing`
    load_balancer_t1: str | None = None  # the T1 whose SR runs the cluster's load balancer; None: the node T1

    @property
    def geneve_overhead(self) -> int:
        return GENEVE_BASE_OVERHEAD + self.geneve_option_bytes


@dataclass(frozen=True, slots=True)
class Host:
    """A transport node (hypervisor) or, with ``edge=True``, an edge node hosting SRs."""

    name: str
    tep: int
    mtu: int = 1600
    edge: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """A Kubernetes node: a VM on `host`, its eth0 on the node segment."""

    name: str
    role: str
    host: str
    ip: int
    mac: int
    max_pods: int


@dataclass(frozen=True, slots=True)
class Router:
    """A tier-1 or tier-0 router. ``edge`` set = it has a service router on that edge node.

    ``standby``: the edge of its SR's standby (NSX's active/standby HA pair: spec
    ``edges: [active, standby]``); it carries nothing while the active lives, and takes the SR
    when the active fails (`fastpath.model.failure`). ``sr_down``: the SR had no surviving edge
    (a failed cluster only): ``edge`` is then None and the routes through the SR are withdrawn
    (`fastpath.model.routing`).

    A T1 has a router link to the T0: a /31 from the link CIDR, T0 on the even address
    (``link_t0_ip``), T1 on the odd one (``link_t1_ip``). ``transit_vni`` is the segment between
    its DR and SR when it has one.
    """

    name: str
    kind: str  # "t1" | "t0"
    edge: str | None = None
    link_t0_ip: int | None = None
    link_t1_ip: int | None = None
    transit_vni: int | None = None
    standby: str | None = None
    sr_down: bool = False
    active: tuple = ()  # an active/active T0's edges, one SR instance each, ECMP over them (edge = active[0])

    @property
    def edges(self) -> tuple[str, ...]:
        """The edge nodes of its SR, active first (empty: no SR)."""
        return self.active or tuple(e for e in (self.edge, self.standby) if e is not None)

    def sr_on(self, edge: str) -> str:
        """The name of its SR instance on ``edge``: ``<router>-sr``, or ``<router>-sr@<edge>`` for
        each instance of an active/active T0."""
        return f"{self.name}-sr@{edge}" if self.active else f"{self.name}-sr"


@dataclass(frozen=True, slots=True)
class Segment:
    """A logical switch: one per namespace, one for the nodes. Gateway = T1 downlink `.1`."""

    name: str
    subnet: ipaddress.IPv4Network
    vni: int
    t1: str
    namespace: str | None  # None for the node segment
    snat_ip: int | None = None  # the namespace's SNAT IP on the T0 SR for north-south egress (NCP); None: routed

    @property
    def gateway(self) -> int:
        return int(self.subnet.network_address) + 1


@dataclass(frozen=True, slots=True)
class Uplink:
    """A T0 uplink to the physical network: interface IP/prefix and the next hop beyond it.
    ``edge``: the edge whose SR instance holds it on an active/active T0 (None: the T0's first)."""

    name: str
    ip: int
    prefixlen: int
    next_hop: int
    edge: str | None = None


@dataclass(frozen=True, slots=True)
class StaticRoute:
    """A T0 static route; its next hop must lie on an uplink's subnet."""

    prefix: ipaddress.IPv4Network
    next_hop: int


PROTO_NUMBERS = {"any": 0, "icmp": 1, "tcp": 6, "udp": 17}


@dataclass(frozen=True, slots=True)
class DfwRule:
    """A distributed-firewall rule: first match wins; ``proto`` 0 = any; ports inclusive."""

    name: str
    action: str  # "allow" | "deny"
    src: ipaddress.IPv4Network
    dst: ipaddress.IPv4Network
    proto: int = 0
    dport_lo: int = 0
    dport_hi: int = 65535


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the planner says each device carries: the load report divides offered load by it.

    host_link_gbps — the NIC of every host, transport or edge node (default 25 Gb/s: one 25GbE
      port, the usual ESXi uplink); per host ``hosts[i].link_gbps`` / ``edges[i].link_gbps``
    edge_mpps — packets per second an edge node forwards, when the planner knows it (a
      measured or datasheet figure; default none: an edge is judged by its CPU); per edge
      ``edges[i].mpps``
    uplink_gbps — each T0 uplink (default 40 Gb/s); per uplink ``t0.uplinks[i].gbps``
    tep_vlan — the TEPs sit on a transport VLAN (NSX's uplink profile): every underlay frame
      carries an 802.1Q tag, 4 bytes more on the host links (default false)
    cpu — the cost model's figures the spec sets (`fastpath.model.costs`: ``{host: {cores: 8,
      switch: 700}, node: {...}, edge: {...}, cores: {device: n}}``); the rest are its defaults

    The per-device overrides are kept by name in ``host_link``, ``edge`` and ``uplink``; ask
    `link_gbps_of`, `mpps_of_edge`, `gbps_of_uplink` for the value in effect.
    """

    host_link_gbps: float = 25.0
    edge_mpps: float | None = None
    uplink_gbps: float = 40.0
    host_link: dict[str, float] = field(default_factory=dict)
    edge: dict[str, float] = field(default_factory=dict)
    uplink: dict[str, float] = field(default_factory=dict)
    tep_vlan: bool = False
    cpu: dict = field(default_factory=dict)
    given: frozenset = field(default=frozenset(), compare=False)  # the link capacities the spec gave
    # (host_link_gbps, uplink_gbps): the others are defaults, which a load report names as placeholders

    def link_gbps_of(self, host: str) -> float:
        return self.host_link.get(host, self.host_link_gbps)

    def mpps_of_edge(self, edge: str) -> float | None:
        return self.edge.get(edge, self.edge_mpps)

    def gbps_of_uplink(self, uplink: str) -> float:
        return self.uplink.get(uplink, self.uplink_gbps)


TRAFFIC_KINDS = ("uniform", "locality", "hot_service")
_COMMON_TRAFFIC_PARAMS = ("sizes", "flows", "flow_zipf", "offered_mpps", "ttl", "proto", "reply_ratio")
TRAFFIC_PARAMS: dict[str, tuple[str, ...]] = {
    "uniform": _COMMON_TRAFFIC_PARAMS,
    "locality": _COMMON_TRAFFIC_PARAMS + ("dports", "mix", "outside"),
    "hot_service": _COMMON_TRAFFIC_PARAMS + ("dports", "s", "services"),
}
"""The parameters a spec may give each kind of traffic profile (`fastpath.traffic.profiles`
documents them and their defaults)."""

DNS_SERVICE_DEFAULTS = {"selector": {"k8s-app": "kube-dns"}, "proto": "udp", "port": 53}
"""A hot_service's service named ``dns`` defaults to the kube-dns pods on UDP 53."""

MIN_IP_LENGTH = 28
"""IPv4 header + 8 bytes of L4: the smallest packet the model carries (the walk's MIN_IP_PACKET)."""


@dataclass(frozen=True, slots=True)
class TrafficProfileDef:
    """A traffic profile as the spec's ``traffic.profiles`` describes it: a name, a kind (one
    of `TRAFFIC_KINDS`) and the parameters the spec gave, checked and JSON-ready. The model
    only carries it; `fastpath.traffic.profile_by_name` makes the generator (and owns the
    defaults of what the spec left out)."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Pod:
    """One row of the pod table, as an object."""

    index: int
    name: str
    namespace: str
    node: str
    ip: int
    mac: int
    vlan: int
    labels: dict
    ports: tuple = ()  # ContainerPort values (fastpath.policy.objects)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class PodTable:
    """Pods as columns. Row i is pod i everywhere in fastpath (its logical port id too).

    name: object[P] — pod name, unique within its namespace
    namespace: int32[P] — index into ``Cluster.namespaces``
    node: int32[P] — index into ``Cluster.nodes``
    ip: uint32[P] — pod IPv4
    mac: uint64[P] — pod MAC (48 bits)
    vlan: uint16[P] — access VLAN tag of the pod's OVS port, unique on its node
    labels: list[dict] | None — per-pod labels (None = no pod has labels)
    ports: list[tuple[ContainerPort, ...]] | None — per-pod container ports, what a named
      NetworkPolicy port resolves to (None = no pod has ports)
    """

    __slots__ = ("name", "namespace", "node", "ip", "mac", "vlan", "labels", "ports", "_ns_names", "_node_names")

    def __init__(self, name, namespace, node, ip, mac, vlan, labels=None, *, ns_names=(), node_names=(), ports=None):
        self.name = np.asarray(name, dtype=object)
        self.namespace = np.asarray(namespace, dtype=np.int32)
        self.node = np.asarray(node, dtype=np.int32)
        self.ip = np.asarray(ip, dtype=np.uint32)
        self.mac = np.asarray(mac, dtype=np.uint64)
        self.vlan = np.asarray(vlan, dtype=np.uint16)
        self.labels = labels
        self.ports = ports
        self._ns_names = list(ns_names)
        self._node_names = list(node_names)
        n = len(self.name)
        for col in ("namespace", "node", "ip", "mac", "vlan"):
            if len(getattr(self, col)) != n:
                raise ValueError(f"pod column {col} has {len(getattr(self, col))} rows, expected {n}")
        for col in ("ip", "mac", "vlan", "namespace", "node"):
            getattr(self, col).setflags(write=False)

    def __len__(self) -> int:
        return len(self.name)

    def __getitem__(self, i: int) -> Pod:
        i = int(i)
        if i < 0:
            i += len(self)
        return Pod(
            index=i,
            name=str(self.name[i]),
            namespace=self._ns_names[self.namespace[i]],
            node=self._node_names[self.node[i]],
            ip=int(self.ip[i]),
            mac=int(self.mac[i]),
            vlan=int(self.vlan[i]),
            labels=dict(self.labels[i] or {}) if self.labels is not None else {},
            ports=tuple(self.ports[i]) if self.ports is not None else (),
        )

    def __iter__(self) -> Iterator[Pod]:
        for i in range(len(self)):
            yield self[i]


@dataclass(eq=False)
class Cluster:
    """A fully allocated, validated cluster. Build one with `fastpath.model.load`,
    `from_spec`, `generate` or `default_scenario`; treat it as read-only."""

    settings: Settings
    hosts: list[Host]
    nodes: list[Node]
    node_segment: Segment
    namespaces: list[Segment]  # one segment per namespace, in namespace order
    pods: PodTable
    t1s: list[Router]  # node T1 first, then one per namespace, in namespace order
    t0: Router
    uplinks: list[Uplink] = field(default_factory=list)
    routes: list[StaticRoute] = field(default_factory=list)
    dfw_rules: list[DfwRule] = field(default_factory=list)
    dfw_default: str = "allow"
    traffic_profiles: dict[str, TrafficProfileDef] = field(default_factory=dict)  # by name, in spec order
    capacity: Capacity = field(default_factory=Capacity)
    networkpolicies: tuple = ()  # NetworkPolicy values (fastpath.policy.objects), in spec order
    namespace_labels: list[dict[str, str]] | None = None  # per namespace, as the spec gave them (None: none)
    snat_pool: ipaddress.IPv4Network | None = None  # t0.snat_pool as given (namespaces hold their SNAT IPs)
    lb_pool: ipaddress.IPv4Network | None = None  # t0.lb_pool as given (Services hold their LoadBalancer IPs)
    services: tuple = ()  # Service values with their backends (fastpath.services.objects), in spec order
    endpointslices: tuple = ()  # the EndpointSlice objects as given (noise removed), for to_spec
    maxima: dict = field(default_factory=dict)  # configuration maxima the spec overrides (fastpath.model.maxima)

    @cached_property
    def service_index(self) -> dict[str, int]:
        """``namespace/name`` -> index into `services`."""
        return {s.key: i for i, s in enumerate(self.services)}

    @cached_property
    def lb_router(self) -> Router:
        """The T1 whose service router runs the cluster's load balancer (NCP attaches one per
        cluster, to the cluster's T1): ``cluster.load_balancer_t1``, else the node T1."""
        name = self.settings.load_balancer_t1
        return self.t1s[0] if name is None else next(r for r in self.t1s if r.name == name)

    @cached_property
    def lb_services(self) -> tuple[int, ...]:
        """Indices into `services` of those with a virtual server (a LoadBalancer IP); none while
        the load balancer's SR is down (a failed cluster: the virtual servers went with it)."""
        if self.lb_router.sr_down:
            return ()
        return tuple(i for i, s in enumerate(self.services) if s.lb_ip is not None)

    @cached_property
    def service_by_lb_ip(self) -> dict[int, int]:
        """LoadBalancer IP -> index into `services`."""
        return {self.services[i].lb_ip: i for i in self.lb_services}

    @cached_property
    def service_by_ip(self) -> dict[int, int]:
        """Cluster IP -> index into `services` (headless and ExternalName services have none)."""
        return {s.cluster_ip: i for i, s in enumerate(self.services) if s.cluster_ip is not None}

    # ---- indexes (built on first use) -------------------------------------------------------
    @cached_property
    def host_index(self) -> dict[str, int]:
        return {h.name: i for i, h in enumerate(self.hosts)}

    @cached_property
    def node_index(self) -> dict[str, int]:
        return {n.name: i for i, n in enumerate(self.nodes)}

    @cached_property
    def namespace_index(self) -> dict[str, int]:
        return {s.namespace: i for i, s in enumerate(self.namespaces)}

    @cached_property
    def namespace_label_sets(self) -> list[dict[str, str]]:
        """Each namespace's labels as Kubernetes has them: the spec's, plus
        ``kubernetes.io/metadata.name: <name>``, which Kubernetes sets on every namespace."""
        given = self.namespace_labels or [{}] * len(self.namespaces)
        return [{**lb, "kubernetes.io/metadata.name": s.namespace} for lb, s in zip(given, self.namespaces)]

    @cached_property
    def router_index(self) -> dict[str, Router]:
        return {r.name: r for r in (*self.t1s, self.t0)}

    @cached_property
    def segments(self) -> list[Segment]:
        """Node segment first, then the namespace segments (segment id = position)."""
        return [self.node_segment, *self.namespaces]

    @cached_property
    def pod_index(self) -> dict[str, int]:
        """``namespace/name`` -> pod row."""
        ns = [s.namespace for s in self.namespaces]
        return {f"{ns[k]}/{n}": i for i, (k, n) in enumerate(zip(self.pods.namespace.tolist(), self.pods.name))}

    @cached_property
    def ip_owner(self) -> dict[int, tuple[str, int]]:
        """Every endpoint IP -> ("pod", row) or ("node", index)."""
        owner: dict[int, tuple[str, int]] = {ip: ("pod", i) for i, ip in enumerate(self.pods.ip.tolist())}
        owner.update({n.ip: ("node", i) for i, n in enumerate(self.nodes)})
        return owner

    @cached_property
    def mac_owner(self) -> dict[int, tuple[str, int]]:
        """Every endpoint MAC -> ("pod", row) or ("node", index)."""
        owner: dict[int, tuple[str, int]] = {m: ("pod", i) for i, m in enumerate(self.pods.mac.tolist())}
        owner.update({n.mac: ("node", i) for i, n in enumerate(self.nodes)})
        return owner

    def pod(self, key: str) -> Pod:
        """Look a pod up by ``namespace/name``; KeyError names the key."""
        try:
            return self.pods[self.pod_index[key]]
        except KeyError:
            raise KeyError(f"no pod {key!r}") from None

    def node(self, name: str) -> Node:
        try:
            return self.nodes[self.node_index[name]]
        except KeyError:
            raise KeyError(f"no node {name!r}") from None

    def host(self, name: str) -> Host:
        return self.hosts[self.host_index[name]]

    def segment_of_namespace(self, namespace: str) -> Segment:
        return self.namespaces[self.namespace_index[namespace]]

    def pods_on_node(self, node: str) -> np.ndarray:
        return np.flatnonzero(self.pods.node == self.node_index[node])

    def summary(self) -> dict:
        return {
            "name": self.settings.name,
            "hosts": sum(not h.edge for h in self.hosts),
            "edges": sum(h.edge for h in self.hosts),
            "nodes": len(self.nodes),
            "namespaces": len(self.namespaces),
            "pods": len(self.pods),
            "routers": len(self.t1s) + 1,
            "uplinks": len(self.uplinks),
            "dfw_rules": len(self.dfw_rules),
            "networkpolicies": len(self.networkpolicies),
            "services": len(self.services),
            "load_balancers": len(self.lb_services),  # LoadBalancer Services with a virtual server
            "snat_ips": sum(s.snat_ip is not None for s in self.namespaces),
        }


# ---- device names: decided once -----------------------------------------------------------------
def ovs_name(node: str) -> str:
    return f"ovs@{node}"


def vif_name(node: str) -> str:
    return f"vif@{node}"


def sr_name(router: str) -> str:
    return f"{router}-sr"


def tunnel_name(src_host: str, dst_host: str) -> str:
    return f"geneve:{src_host}->{dst_host}"
