"""Spec files (YAML/JSON) <-> `Cluster`.

A spec says as little or as much as the user wants; whatever it leaves out is allocated here:
namespace subnets (next free /namespace_prefix of the pod CIDR), VNIs (from ``vni_base``),
router links (/31s of the link CIDR, T0 even, T1 odd), node and pod IPs (from ``.2``), MACs,
VLAN tags (lowest free on the node), TEPs. Explicit values are reserved first, so an override
never collides with an allocated one. `to_spec` writes every allocated value back, so
``from_spec(to_spec(c))`` rebuilds the same cluster.

Kubernetes NetworkPolicy rides along as Kubernetes writes it: ``namespaces[i].labels`` (every
namespace also carries ``kubernetes.io/metadata.name: <name>``), ``pods[i].ports`` (container
ports ``{name, containerPort, protocol}``, what named policy ports resolve to) and a top-level
``networkpolicies:`` list of NetworkPolicy objects or kubectl Lists of them, taken verbatim and
checked by `fastpath.policy.parse` as the API server checks them; a YAML spec file may also
carry them as later documents (`specfile`). The cluster keeps them as `Cluster.networkpolicies`.

The schema is pydantic (types, unknown fields); the meaning (overlaps, duplicates, tags) is
`validate`. Either way the user gets one `SpecError` line: ``pods[3].vlan: ...``.

Two optional sections describe load rather than topology. ``capacity`` says what devices
carry (host NIC Gb/s, edge Mpps, uplink Gb/s; per device ``hosts[i].link_gbps``,
``edges[i].mpps``, ``t0.uplinks[i].gbps``) and is always written back, defaults included.
``traffic.profiles`` names traffic profiles (kinds and parameters: `fastpath.traffic.profiles`);
each is checked here and kept as given (`TrafficProfileDef`), the traffic layer supplying the
defaults of what it leaves out::

    capacity: {host_link_gbps: 25, edge_mpps: 4.0, uplink_gbps: 40}
    traffic:
      profiles:
        - {name: web, kind: locality, mix: {same_node: 0.1, same_namespace: 0.3, cross_namespace: 0.4,
           pod_to_node: 0.1, north_south: 0.1}, sizes: imix, flows: 10000, offered_mpps: 2.5}
        - {name: dns, kind: hot_service, s: 1.1, services: [{name: dns, share: 0.2}]}
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, FailFast, Field, StrictFloat, StrictInt, ValidationError
from pydantic_core import PydanticCustomError

from . import names
from .costs import resolve_cpu
from .addressing import NODE_MAC_BASE, POD_MAC_BASE, ip_from_str, ip_to_str, ips_to_strs, mac_from_str, mac_to_str, macs_to_strs, net_from_str
from .cluster import (DNS_SERVICE_DEFAULTS, MIN_IP_LENGTH, PROTO_NUMBERS, TRAFFIC_KINDS, TRAFFIC_PARAMS, Capacity,
                      Cluster, DfwRule, Host, Node, PodTable, Router, Segment, Settings, SpecError, StaticRoute,
                      TrafficProfileDef, Uplink)
from .specfile import MAX_YAML_NODES, parse_text, read_spec  # noqa: F401  (parse_text: importable from here)
from .validate import validate, validate_settings


# ---- schema -----------------------------------------------------------------------------------
# Numbers are strict: an int field takes an int, not true/false (YAML's yes/no/on/off too),
# 5.0 or "5"; a float field takes an int or a float, not a bool or a string. JSON and YAML
# integers and floats still parse as they are.
Int = StrictInt
Float = StrictFloat


def _mac_text(v):
    """YAML 1.1 reads an unquoted MAC of digit pairs (``10:20:30:40:50:60``) as a base-60 int."""
    if isinstance(v, int) and not isinstance(v, bool):
        raise PydanticCustomError("mac_number", "is a number, not a MAC address: YAML reads an unquoted MAC "
                                  "made of digits (like 10:20:30:40:50:59) as base 60; quote it")
    return v


Mac = Annotated[str, BeforeValidator(_mac_text)]


class Items:
    """``Items[X]``: a list of X that stops at its first invalid item (pydantic's FailFast). The
    user is shown one error anyway, and collecting all of them cost ~1.7 GB and 10 s on a
    spec of a million broken pods."""

    def __class_getitem__(cls, item):
        return Annotated[list[item], FailFast()]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsSpec(_M):
    name: str = "cluster"
    pod_cidr: str = "172.16.0.0/16"
    namespace_prefix: Int = Field(24, ge=8, le=30)
    tep_cidr: str = "192.168.0.0/16"
    link_cidr: str = "100.64.0.0/16"
    router_mac: Mac = "02:50:56:56:44:52"
    vni_base: Int = Field(65536, ge=1)
    geneve_option_bytes: Int = 0
    vlan_range: tuple[Int, Int] = (1, 4093)
    default_max_pods: Int = Field(110, ge=0)
    mac_table_size: Int = Field(8192, ge=1)
    service_cidr: str = "10.96.0.0/12"  # kube-apiserver's --service-cluster-ip-range
    service_hash_seed: Int = Field(0, ge=0, lt=2**63)
    ecmp_hash_seed: Int = Field(0, ge=0, lt=2**63)  # seeds the ECMP choices of an active/active T0
    load_balancer_t1: Optional[str] = None  # the T1 whose SR runs the cluster's load balancer (default: the node T1)


class RouterSpec(_M):
    name: Optional[str] = None
    edge: Optional[str] = None  # service router on this edge node
    edges: Optional[list[str]] = None  # [active, standby]: the SR's HA pair (edge: the one-edge shorthand)


class NodeNetworkSpec(_M):
    subnet: str = "172.15.0.0/24"
    vni: Optional[Int] = None
    t1: RouterSpec = RouterSpec()


_Rate = Optional[Float]
_rate = {"gt": 0, "allow_inf_nan": False}


class HostSpec(_M):
    name: str
    tep: Optional[str] = None
    mtu: Int = 1600
    link_gbps: _Rate = Field(None, **_rate)  # capacity of its NIC (default capacity.host_link_gbps)
    mpps: _Rate = Field(None, **_rate)  # edges only: packet rate (default capacity.edge_mpps)


class NodeSpec(_M):
    name: str
    role: Literal["master", "worker"] = "worker"
    host: str
    ip: Optional[str] = None
    mac: Optional[Mac] = None
    max_pods: Optional[Int] = None


class NamespaceSpec(_M):
    name: str
    subnet: Optional[str] = None
    vni: Optional[Int] = None
    t1: RouterSpec = RouterSpec()
    labels: dict[str, str] = {}  # kubernetes.io/metadata.name: <name> is added, as Kubernetes does
    snat_ip: Optional[str] = None  # its SNAT IP (default: the next free one of t0.snat_pool, if any)
    no_snat: bool = False  # routed: its pods leave north-south with their own addresses (NCP's no-SNAT)


class ContainerPortSpec(_M):
    """A container port as a Pod spec writes it (what named NetworkPolicy ports resolve to)."""

    name: Optional[str] = None
    containerPort: Int
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class PodSpec(_M):
    name: str
    namespace: str
    node: str
    ip: Optional[str] = None
    mac: Optional[Mac] = None
    vlan: Optional[Int] = None
    labels: dict[str, str] = {}
    ports: Items[ContainerPortSpec] = []


class UplinkSpec(_M):
    name: str
    ip: str  # interface, e.g. 203.0.113.2/24
    next_hop: str
    edge: Optional[str] = None  # active/active T0: the edge whose SR holds it (default: the first)
    gbps: _Rate = Field(None, **_rate)  # capacity (default capacity.uplink_gbps)


class RouteSpec(_M):
    prefix: str
    next_hop: str


class T0Spec(_M):
    name: str = "t0"
    edge: Optional[str] = None
    edges: Optional[list[str]] = None  # active/active (ECMP, NSX's default), or [active, standby]
    ha_mode: Optional[Literal["active_active", "active_standby"]] = None  # with edges (default active_active)
    snat_pool: Optional[str] = None  # external IP pool NCP takes one SNAT IP per namespace from
    lb_pool: Optional[str] = None  # external IP pool for LoadBalancer IPs (NCP's external_ip_pools_lb; default snat_pool)
    uplinks: Items[UplinkSpec] = []
    routes: Items[RouteSpec] = []


class DfwRuleSpec(_M):
    name: str
    action: Literal["allow", "deny"]
    src: str = "any"
    dst: str = "any"
    proto: Union[Literal["any", "tcp", "udp", "icmp"], Int] = "any"
    dport: Union[Int, str, None] = None  # 53 or "8000-8080"


class DfwSpec(_M):
    default: Literal["allow", "deny"] = "allow"
    rules: Items[DfwRuleSpec] = []


class CapacitySpec(_M):
    host_link_gbps: Float = Field(25.0, **_rate)
    edge_mpps: Optional[Float] = Field(None, **_rate)  # none: an edge is judged by its CPU (cpu)
    uplink_gbps: Float = Field(40.0, **_rate)
    tep_vlan: bool = False  # the TEPs' transport VLAN tags every underlay frame (+4 bytes on the host links)
    cpu: Optional[dict[str, Any]] = None  # the cost model's figures (`fastpath.model.costs`), checked by `_capacity`


_Proto = Union[Literal["tcp", "udp", "icmp"], Int, None]
_share = {"ge": 0, "allow_inf_nan": False}


class MixSpec(_M):
    """Given = the whole mix: a class left out has share 0 (the default mix applies only when
    ``mix`` itself is left out)."""

    same_node: Float = Field(0.0, **_share)
    same_namespace: Float = Field(0.0, **_share)
    cross_namespace: Float = Field(0.0, **_share)
    pod_to_node: Float = Field(0.0, **_share)
    north_south: Float = Field(0.0, **_share)


class ServiceSpec(_M):
    name: str
    share: Float = Field(ge=0, le=1, allow_inf_nan=False)
    pods: Optional[list[str]] = None  # pod keys namespace/name
    selector: Optional[dict[str, str]] = None  # labels every pod of the service has
    service: Optional[str] = None  # a Kubernetes Service (namespace/name): packets go to its cluster IP
    proto: _Proto = None
    port: Optional[Int] = Field(None, ge=0, le=65535)


class ProfileSpec(_M):
    """One traffic profile. Parameters left out take the profile kind's defaults, which
    `fastpath.traffic.profiles` documents; `TRAFFIC_PARAMS` says which kind takes which."""

    name: str
    kind: Literal["uniform", "locality", "hot_service"]
    sizes: Any = None  # an IP length, "imix", or [[length, weight], ...]
    flows: Optional[Int] = Field(None, ge=1)
    flow_zipf: Optional[Float] = Field(None, **_share)
    offered_mpps: _Rate = Field(None, **_rate)
    ttl: Optional[Int] = Field(None, ge=1, le=255)
    proto: _Proto = None
    reply_ratio: Optional[Float] = Field(None, **_share)
    dports: Optional[list[Int]] = Field(None, min_length=1)
    mix: Optional[MixSpec] = None
    outside: Optional[str] = None
    s: Optional[Float] = Field(None, **_share)
    services: Optional[list[ServiceSpec]] = None


class TrafficSpec(_M):
    profiles: Items[ProfileSpec] = []


assert get_args(ProfileSpec.model_fields["kind"].annotation) == TRAFFIC_KINDS


class ClusterSpec(_M):
    cluster: SettingsSpec = SettingsSpec()
    node_network: NodeNetworkSpec = NodeNetworkSpec()
    hosts: Items[HostSpec]
    edges: Items[HostSpec] = []
    nodes: Items[NodeSpec] = []
    namespaces: Items[NamespaceSpec] = []
    pods: Items[PodSpec] = []
    t0: T0Spec = T0Spec()
    dfw: DfwSpec = DfwSpec()
    traffic: TrafficSpec = TrafficSpec()
    capacity: CapacitySpec = CapacitySpec()
    networkpolicies: list[Any] = []  # NetworkPolicy objects verbatim (or Lists): fastpath.policy.parse
    services: list[Any] = []  # v1 Service objects verbatim (or Lists): fastpath.services.parse
    endpointslices: list[Any] = []  # discovery.k8s.io/v1 EndpointSlices verbatim (or Lists)
    maxima: dict[str, Any] = {}  # configuration maxima overridden by key (fastpath.model.maxima)


def _loc(loc) -> str:
    """Pydantic error location -> field path. Walks the schema alongside, so the member tags
    pydantic appends inside a union (``proto.literal[...]``, ``dport.int``) are dropped."""
    out, typ = "", ClusterSpec
    for part in loc:
        while get_origin(typ) is Union:  # Optional[X] -> X; a real union ends the path
            args = [a for a in get_args(typ) if a is not type(None)]
            if len(args) != 1:
                return out
            typ = args[0]
        if isinstance(typ, type) and issubclass(typ, BaseModel):
            if part not in typ.model_fields:  # an unknown (extra) field: the path ends with it
                return out + (f".{part}" if out else str(part))
            typ = typ.model_fields[part].annotation
        elif get_origin(typ) in (list, tuple, dict) and get_args(typ):
            typ = get_args(typ)[-1]
        else:
            return out
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---- load / dump ------------------------------------------------------------------------------
def load(path: str | Path) -> Cluster:
    """Read a YAML or JSON spec file (checked at the door: `specfile`) and build the cluster."""
    return from_spec(read_spec(path))


def dump(cluster: Cluster, path: str | Path) -> None:
    """Write the fully allocated spec: JSON for ``.json``, YAML otherwise."""
    path = Path(path)
    spec = to_spec(cluster)
    if path.suffix == ".json":
        path.write_text(json.dumps(spec, indent=1) + "\n")
    else:
        if _yaml_nodes(spec) > MAX_YAML_NODES:  # never write a spec `load` would refuse
            raise SpecError(str(path), f"{len(cluster.pods):,} pods make more than {MAX_YAML_NODES:,} YAML nodes, "
                            "more than a YAML spec may hold: write it as JSON (a .json path)")
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        path.write_text(yaml.dump(spec, Dumper=dumper, sort_keys=False, default_flow_style=None, width=120))


def _yaml_nodes(obj) -> int:
    """Nodes of ``obj`` as YAML (every mapping, sequence and scalar; a key is a scalar)."""
    n, stack = 0, [obj]
    while stack:
        o = stack.pop()
        n += 1
        if isinstance(o, dict):
            n += len(o)
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
    return n


# ---- build ------------------------------------------------------------------------------------
def _addr(text, path) -> int:
    try:
        return ip_from_str(text)
    except ValueError as exc:
        raise SpecError(path, str(exc)) from None


def _net(text, path) -> ipaddress.IPv4Network:
    try:
        return net_from_str(text)
    except ValueError as exc:
        raise SpecError(path, str(exc)) from None


def _mac(text, path) -> int:
    try:
        return mac_from_str(text)
    except ValueError as exc:
        raise SpecError(path, str(exc)) from None


class _VniPool:
    def __init__(self, base: int, used: set[int]):
        self.next, self.used = base, used

    def take(self) -> int:
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next


def from_spec(data: dict | ClusterSpec) -> Cluster:
    """Validate and allocate: spec dict -> `Cluster`. Raises `SpecError` (one line)."""
    if isinstance(data, ClusterSpec):
        spec = data
    else:
        try:
            spec = ClusterSpec.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            e, path = errors[0], _loc(errors[0]["loc"])
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) or e["type"] == "missing" else f", got {got!r}"
            msg = e["msg"][:1].lower() + e["msg"][1:]
            # a union's members each fail at the same path: say all it takes ("'tcp' ... or a valid integer")
            lead = "Input should be "
            for other in errors[1:]:
                if other["msg"].startswith(lead) and msg.startswith(lead.lower()) and \
                        other.get("input") is got and _loc(other["loc"]) == path:
                    msg += f", or {other['msg'][len(lead):]}"
            raise SpecError(path, f"{msg}{shown}") from None
    s = spec.cluster
    settings = Settings(
        name=s.name,
        pod_cidr=_net(s.pod_cidr, "cluster.pod_cidr"),
        namespace_prefix=s.namespace_prefix,
        tep_cidr=_net(s.tep_cidr, "cluster.tep_cidr"),
        link_cidr=_net(s.link_cidr, "cluster.link_cidr"),
        router_mac=_mac(s.router_mac, "cluster.router_mac"),
        vni_base=s.vni_base,
        geneve_option_bytes=s.geneve_option_bytes,
        vlan_min=s.vlan_range[0],
        vlan_max=s.vlan_range[1],
        default_max_pods=s.default_max_pods,
        mac_table_size=s.mac_table_size,
        service_cidr=_net(s.service_cidr, "cluster.service_cidr"),
        service_hash_seed=s.service_hash_seed,
        ecmp_hash_seed=s.ecmp_hash_seed,
        load_balancer_t1=s.load_balancer_t1,
    )
    validate_settings(settings)  # before allocating with them (a VLAN range 3..1 is the range's fault)

    # hosts: transport nodes, then edges; TEPs from the TEP CIDR (.11 up) unless given
    host_specs = [(h, False, f"hosts[{i}]") for i, h in enumerate(spec.hosts)] + \
                 [(h, True, f"edges[{i}]") for i, h in enumerate(spec.edges)]
    used_teps = {_addr(h.tep, p + ".tep") for h, _, p in host_specs if h.tep is not None}
    next_tep = int(settings.tep_cidr.network_address) + 11
    hosts = []
    for h, edge, p in host_specs:
        if h.tep is None:
            while next_tep in used_teps:
                next_tep += 1
            tep = next_tep
            used_teps.add(tep)
        else:
            tep = _addr(h.tep, p + ".tep")
        hosts.append(Host(h.name, tep, h.mtu, edge))

    # segments and T1s: node segment first, namespaces after; subnets and VNIs allocated
    used_vnis = {x.vni for x in spec.namespaces if x.vni is not None}
    if spec.node_network.vni is not None:
        used_vnis.add(spec.node_network.vni)
    vnis = _VniPool(settings.vni_base, used_vnis)
    node_net = _net(spec.node_network.subnet, "node_network.subnet")
    explicit = [(_net(ns.subnet, f"namespaces[{i}].subnet") if ns.subnet else None) for i, ns in enumerate(spec.namespaces)]
    taken = [n for n in explicit if n is not None] + [node_net, settings.link_cidr]
    free = (n for n in settings.pod_cidr.subnets(new_prefix=settings.namespace_prefix)
            if not any(n.overlaps(t) for t in taken)) if settings.namespace_prefix >= settings.pod_cidr.prefixlen else iter(())
    subnets = []
    for i, n in enumerate(explicit):
        if n is None:
            n = next(free, None)
            if n is None:
                raise SpecError(f"namespaces[{i}].subnet", f"pod CIDR {settings.pod_cidr} has no free /{settings.namespace_prefix} left")
        subnets.append(n)

    t1_specs = [spec.node_network.t1] + [ns.t1 for ns in spec.namespaces]
    t1_names = ["t1-nodes"] + [f"t1-{ns.name}" for ns in spec.namespaces]
    link_base = int(settings.link_cidr.network_address)
    if len(t1_specs) * 2 > settings.link_cidr.num_addresses:
        raise SpecError("cluster.link_cidr", f"{settings.link_cidr} has room for {settings.link_cidr.num_addresses // 2} "
                        f"router links, {len(t1_specs)} needed")
    t1s = []
    t1_paths = ["node_network.t1"] + [f"namespaces[{i}].t1" for i in range(len(spec.namespaces))]
    for k, (r, default, path) in enumerate(zip(t1_specs, t1_names, t1_paths)):
        edge, standby, _ = _sr_edges(r, path, spec)
        t1s.append(Router(name=r.name if r.name is not None else default, kind="t1", edge=edge,
                          link_t0_ip=link_base + 2 * k, link_t1_ip=link_base + 2 * k + 1, standby=standby))
    node_vni = spec.node_network.vni if spec.node_network.vni is not None else vnis.take()
    node_segment = Segment("ls-nodes", node_net, node_vni, t1s[0].name, None)
    snat = _snat_ips(spec)
    namespaces = [Segment(f"ls-{ns.name}", subnets[i], ns.vni if ns.vni is not None else vnis.take(), t1s[i + 1].name,
                          ns.name, snat[i]) for i, ns in enumerate(spec.namespaces)]
    t1s = [Router(r.name, r.kind, r.edge, r.link_t0_ip, r.link_t1_ip, vnis.take() if r.edge else None, r.standby)
           for r in t1s]
    t0_edge, t0_standby, t0_active = _sr_edges(spec.t0, "t0", spec)
    t0 = Router(spec.t0.name, "t0", t0_edge, transit_vni=vnis.take() if t0_edge else None, standby=t0_standby,
                active=t0_active)

    # nodes
    used_ips = {_addr(n.ip, f"nodes[{i}].ip") for i, n in enumerate(spec.nodes) if n.ip}
    used_macs = {_mac(n.mac, f"nodes[{i}].mac") for i, n in enumerate(spec.nodes) if n.mac}
    used_macs |= {_mac(p.mac, f"pods[{i}].mac") for i, p in enumerate(spec.pods) if p.mac}
    used_macs.add(settings.router_mac)  # never allocated to an endpoint
    nxt_ip, nxt_mac = int(node_net.network_address) + 2, NODE_MAC_BASE + 1
    nodes = []
    for i, n in enumerate(spec.nodes):
        ip = _addr(n.ip, f"nodes[{i}].ip") if n.ip else None
        if ip is None:
            while nxt_ip in used_ips:
                nxt_ip += 1
            if nxt_ip >= int(node_net.broadcast_address):
                raise SpecError(f"nodes[{i}].ip", f"node segment {node_net} is full")
            ip = nxt_ip
            used_ips.add(ip)
        mac = _mac(n.mac, f"nodes[{i}].mac") if n.mac else None
        if mac is None:
            while nxt_mac in used_macs:
                nxt_mac += 1
            mac = nxt_mac
            used_macs.add(mac)
        nodes.append(Node(n.name, n.role, n.host, ip, mac, settings.default_max_pods if n.max_pods is None else n.max_pods))

    # pods
    ns_idx = {ns.name: i for i, ns in enumerate(spec.namespaces)}
    node_idx = {n.name: i for i, n in enumerate(spec.nodes)}
    P = len(spec.pods)
    col_ns, col_node = np.empty(P, np.int32), np.empty(P, np.int32)
    col_ip, col_mac, col_vlan = np.empty(P, np.uint32), np.empty(P, np.uint64), np.empty(P, np.uint16)
    used_pod_ips: dict[int, set[int]] = {}
    used_tags: dict[int, set[int]] = {}
    for i, p in enumerate(spec.pods):
        if p.namespace not in ns_idx:
            raise SpecError(f"pods[{i}].namespace", f"unknown namespace {p.namespace!r}")
        if p.node not in node_idx:
            raise SpecError(f"pods[{i}].node", f"unknown node {p.node!r}")
        col_ns[i], col_node[i] = ns_idx[p.namespace], node_idx[p.node]
        if p.ip:
            used_pod_ips.setdefault(col_ns[i], set()).add(_addr(p.ip, f"pods[{i}].ip"))
        if p.vlan is not None:
            if not 0 <= p.vlan <= 0xFFFF:
                raise SpecError(f"pods[{i}].vlan", f"VLAN tag {p.vlan} is outside {settings.vlan_min}..{settings.vlan_max}")
            used_tags.setdefault(col_node[i], set()).add(p.vlan)
    next_host = {k: int(n.network_address) + 2 for k, n in enumerate(subnets)}
    next_tag = {}
    nxt_mac = POD_MAC_BASE + 1
    all_used_ips = used_ips | {ip for s in used_pod_ips.values() for ip in s}
    for i, p in enumerate(spec.pods):
        k, nd = int(col_ns[i]), int(col_node[i])
        if p.ip:
            col_ip[i] = _addr(p.ip, f"pods[{i}].ip")
        else:
            ip = next_host[k]
            last = int(subnets[k].broadcast_address)
            while ip in all_used_ips:
                ip += 1
            if ip >= last:
                raise SpecError(f"pods[{i}].ip", f"namespace {p.namespace} subnet {subnets[k]} is full")
            col_ip[i] = ip
            all_used_ips.add(ip)
            next_host[k] = ip + 1
        if p.mac:
            col_mac[i] = _mac(p.mac, f"pods[{i}].mac")
        else:
            while nxt_mac in used_macs:
                nxt_mac += 1
            col_mac[i] = nxt_mac
            used_macs.add(nxt_mac)
        if p.vlan is not None:
            col_vlan[i] = p.vlan
        else:
            tags = used_tags.setdefault(nd, set())
            t = next_tag.get(nd, settings.vlan_min)
            while t in tags:
                t += 1
            if t > settings.vlan_max:
                raise SpecError(f"pods[{i}].vlan", f"node {p.node} has no free VLAN tag left in "
                                f"{settings.vlan_min}..{settings.vlan_max}")
            col_vlan[i] = t
            tags.add(t)
            next_tag[nd] = t + 1
    labels = [dict(p.labels) for p in spec.pods] if any(p.labels for p in spec.pods) else None
    ports = [_container_ports(p, f"pods[{i}].ports") for i, p in enumerate(spec.pods)] \
        if any(p.ports for p in spec.pods) else None
    pods = PodTable([p.name for p in spec.pods], col_ns, col_node, col_ip, col_mac, col_vlan, labels,
                    ns_names=[ns.name for ns in spec.namespaces], node_names=[n.name for n in spec.nodes], ports=ports)
    ns_labels = [_namespace_labels(ns, f"namespaces[{i}].labels") for i, ns in enumerate(spec.namespaces)] \
        if any(ns.labels for ns in spec.namespaces) else None

    # T0 uplinks, routes; DFW
    uplinks = []
    for i, u in enumerate(spec.t0.uplinks):
        try:
            iface = ipaddress.IPv4Interface(u.ip)
        except ValueError:
            raise SpecError(f"t0.uplinks[{i}].ip", f"not an interface address (a.b.c.d/len): {u.ip!r}") from None
        if u.edge is not None and u.edge not in t0.active:
            raise SpecError(f"t0.uplinks[{i}].edge", f"{u.edge!r} is not one of the T0's edges ({', '.join(t0.active)})"
                            if t0.active else "an uplink belongs to one edge only on an active/active T0 "
                            "(t0.edges with ha_mode active_active)")
        uplinks.append(Uplink(u.name, int(iface.ip), iface.network.prefixlen, _addr(u.next_hop, f"t0.uplinks[{i}].next_hop"),
                              u.edge if u.edge != t0.edge else None))
    routes = [StaticRoute(_net(r.prefix, f"t0.routes[{i}].prefix"), _addr(r.next_hop, f"t0.routes[{i}].next_hop"))
              for i, r in enumerate(spec.t0.routes)]
    rules = [_dfw_rule(r, f"dfw.rules[{i}]") for i, r in enumerate(spec.dfw.rules)]

    capacity = _capacity(spec, host_specs)
    cluster = Cluster(settings, hosts, nodes, node_segment, namespaces, pods, t1s, t0, uplinks, routes, rules,
                      spec.dfw.default, capacity=capacity, namespace_labels=ns_labels,
                      snat_pool=_net(spec.t0.snat_pool, "t0.snat_pool") if spec.t0.snat_pool is not None else None,
                      lb_pool=_net(spec.t0.lb_pool, "t0.lb_pool") if spec.t0.lb_pool is not None else None)
    validate(cluster)
    if spec.networkpolicies:  # after validate: the namespaces they name are checked ones
        from ..policy.parse import parse_policies
        cluster.networkpolicies = parse_policies(spec.networkpolicies, {s.namespace for s in namespaces})
    if spec.services or spec.endpointslices:
        from ..services.parse import parse_services, parse_slices, resolve
        from .validate import validate_service_cidr
        validate_service_cidr(cluster)
        known = {s.namespace for s in namespaces}
        services = parse_services(spec.services, settings.service_cidr, known)
        services = _lb_ips(spec, cluster, services)
        slices = parse_slices(spec.endpointslices, known)
        cluster.services = resolve(services, slices, cluster)
        cluster.endpointslices = tuple(s["raw"] for s in slices)
        cluster.__dict__.pop("_rib", None)  # (the load balancer's VIPs are routes)
    from .maxima import check_overrides
    from .validate import validate_load_balancer, validate_snat
    cluster.maxima = check_overrides(spec.maxima)
    validate_load_balancer(cluster)
    validate_snat(cluster)
    # traffic last: its checks look pods up by key and label in the validated cluster
    cluster.traffic_profiles = _traffic_profiles(spec.traffic, cluster)
    return cluster


def _sr_edges(r, path: str, spec: ClusterSpec) -> tuple[str | None, str | None, tuple]:
    """(active, standby, active/active edges) of a router's service router from ``edge`` or
    ``edges``. NSX runs a T1 SR as an active/standby pair; a T0 either way (``ha_mode``, default
    active_active as NSX's: an SR instance on each edge, ECMP over them, up to 8 edges)."""
    ha = getattr(r, "ha_mode", None)
    if r.edges is None:
        if ha is not None:
            raise SpecError(f"{path}.ha_mode", "an HA mode needs edges: give edges: [...]")
        return r.edge, None, ()
    if r.edge is not None:
        raise SpecError(f"{path}.edges", "give edge (one edge node) or edges ([active, standby]), not both")
    edges = {h.name for h in spec.edges}
    for j, e in enumerate(r.edges):
        if e not in edges:
            what = "a transport node, not an edge node" if any(h.name == e for h in spec.hosts) else "no edge node"
            raise SpecError(f"{path}.edges[{j}]", f"{e!r} is {what} (edges: {', '.join(sorted(edges)) or 'none'})")
        if e in r.edges[:j]:
            aa = path == "t0" and ha != "active_standby"
            raise SpecError(f"{path}.edges[{j}]", f"{e!r} is given twice: " + (
                "each SR instance runs on its own edge node" if aa else "the standby is another edge node"))
    if path == "t0" and ha != "active_standby":
        from .maxima import value_of
        most = value_of("nsx.t0_ecmp_edges", spec.maxima if isinstance(spec.maxima, dict) else None)
        if not 1 <= len(r.edges) <= most:
            raise SpecError("t0.edges", f"{len(r.edges)} edge nodes: an active/active T0 runs on 1 to {most} "
                            "(NSX's ECMP limit, maxima nsx.t0_ecmp_edges)")
        return r.edges[0], None, tuple(r.edges) if len(r.edges) > 1 else ()
    if not 1 <= len(r.edges) <= 2:
        raise SpecError(f"{path}.edges", f"{len(r.edges)} edge nodes: a service router is an active/standby pair, "
                        "[active] or [active, standby]")
    return r.edges[0], (r.edges[1] if len(r.edges) == 2 else None), ()


def _lb_ips(spec: ClusterSpec, c: Cluster, services: list) -> list:
    """LoadBalancer external IPs (`fastpath.services.parse.assign_lb_ips`): from ``t0.lb_pool``,
    else ``t0.snat_pool`` (NCP's fallback), never an SNAT IP or an uplink's address."""
    from ..services.parse import assign_lb_ips
    field, pool = ("t0.lb_pool", spec.t0.lb_pool) if spec.t0.lb_pool is not None else ("t0.snat_pool", spec.t0.snat_pool)
    taken = {s.snat_ip: f"namespace {s.namespace}'s SNAT IP" for s in c.namespaces if s.snat_ip is not None}
    taken.update({u.ip: f"uplink {u.name}'s address" for u in c.uplinks})
    return assign_lb_ips(services, _net(pool, field) if pool is not None else None, field, taken)


def _snat_ips(spec: ClusterSpec) -> list[int | None]:
    """Each namespace's SNAT IP: given, else (unless ``no_snat``) the lowest free host address
    of ``t0.snat_pool`` in namespace order; None where neither. Given ones are reserved first."""
    out: list[int | None] = []
    given: dict[int, int] = {}
    for i, ns in enumerate(spec.namespaces):
        if ns.snat_ip is not None and ns.no_snat:
            raise SpecError(f"namespaces[{i}].snat_ip", "given with no_snat: true (a routed namespace has none)")
        ip = _addr(ns.snat_ip, f"namespaces[{i}].snat_ip") if ns.snat_ip is not None else None
        if ip is not None:
            if ip in given:
                raise SpecError(f"namespaces[{i}].snat_ip", f"{ns.snat_ip} is already namespaces[{given[ip]}]'s")
            given[ip] = i
        out.append(ip)
    if spec.t0.snat_pool is None:
        return out
    pool = _net(spec.t0.snat_pool, "t0.snat_pool")
    hosts = pool.hosts() if pool.prefixlen < 31 else iter(pool)
    for i, ns in enumerate(spec.namespaces):
        if out[i] is not None or ns.no_snat:
            continue
        ip = next((int(a) for a in hosts if int(a) not in given), None)
        if ip is None:
            raise SpecError("t0.snat_pool", f"{pool} has no free address left for namespace {ns.name!r} "
                            f"(namespaces[{i}]): give it a bigger pool, or snat_ip / no_snat")
        out[i] = ip
    return out


def _container_ports(p: PodSpec, path: str) -> tuple:
    """A pod's container ports, checked as Kubernetes checks a Pod's (port 1..65535, names
    IANA_SVC_NAMEs unique in the pod)."""
    from ..policy.objects import PROTOCOLS, ContainerPort
    from ..policy.parse import port_name_problem, port_number_problem

    out, seen = [], {}
    for j, cp in enumerate(p.ports):
        why = port_number_problem(cp.containerPort)
        if why:
            raise SpecError(f"{path}[{j}].containerPort", f"{cp.containerPort}: {why}")
        if cp.name is not None:
            why = port_name_problem(cp.name)
            if why:
                raise SpecError(f"{path}[{j}].name", f"{names.show(cp.name)}: {why}")
            if cp.name in seen:
                raise SpecError(f"{path}[{j}].name", f"duplicate port name {cp.name!r} (also {path}[{seen[cp.name]}])")
            seen[cp.name] = j
        out.append(ContainerPort(cp.containerPort, PROTOCOLS[cp.protocol], cp.name))
    return tuple(out)


def _namespace_labels(ns: NamespaceSpec, path: str) -> dict[str, str]:
    """The labels a namespace spec gives (checked); the automatic one may be given, with its value."""
    if ns.labels:
        names.check_labels(ns.labels, path)
    auto = ns.labels.get("kubernetes.io/metadata.name")
    if auto is not None and auto != ns.name:
        raise SpecError(path, f"kubernetes.io/metadata.name is set by Kubernetes to the namespace's name "
                        f"{ns.name!r}, not {auto!r}")
    return dict(ns.labels)


def _capacity(spec: ClusterSpec, host_specs) -> Capacity:
    for h, edge, p in host_specs:
        if h.mpps is not None and not edge:
            raise SpecError(p + ".mpps", f"{h.name} is a transport node; only edge nodes have a packet rate "
                            "(edges[i].mpps)")
    c = spec.capacity
    try:
        cpu = resolve_cpu(c.cpu).given_dict()
    except ValueError as e:
        path, _, message = str(e).partition(": ")
        raise SpecError(path, message) from None
    devices = {h.name for h, _, _ in host_specs} | {n.name for n in spec.nodes}
    for dev in cpu.get("cores", {}):
        if dev not in devices:
            raise SpecError(f"capacity.cpu.cores.{dev}", "no host, edge or node of that name")
    return Capacity(c.host_link_gbps, c.edge_mpps, c.uplink_gbps,
                    host_link={h.name: h.link_gbps for h, _, _ in host_specs if h.link_gbps is not None},
                    edge={h.name: h.mpps for h, _, _ in host_specs if h.mpps is not None},
                    uplink={u.name: u.gbps for u in spec.t0.uplinks if u.gbps is not None}, tep_vlan=c.tep_vlan,
                    cpu=cpu, given=frozenset(c.model_fields_set & {"host_link_gbps", "uplink_gbps"}))


# ---- traffic profiles -------------------------------------------------------------------------
def _traffic_profiles(spec: TrafficSpec, c: Cluster) -> dict[str, TrafficProfileDef]:
    """Check each profile's parameters (shape, ranges, that they belong to its kind, pods and
    labels it names) and keep what was given, JSON-ready."""
    out: dict[str, TrafficProfileDef] = {}
    for i, p in enumerate(spec.profiles):
        path = f"traffic.profiles[{i}]"
        names.DEVICE.check(p.name, f"{path}.name")
        if p.name in out:
            j = [q.name for q in spec.profiles].index(p.name)
            raise SpecError(f"{path}.name", f"duplicate name {p.name!r} (also traffic.profiles[{j}])")
        given = p.model_dump(exclude_unset=True, exclude_none=True)
        given.pop("name"), given.pop("kind")
        for key in given:
            if key not in TRAFFIC_PARAMS[p.kind]:
                raise SpecError(f"{path}.{key}", f"not a parameter of a {p.kind} profile "
                                f"(it takes {', '.join(TRAFFIC_PARAMS[p.kind])})")
        if "flow_zipf" in given and p.flows is None:
            raise SpecError(f"{path}.flow_zipf", "is the popularity of flows: give flows too")
        if "sizes" in given:
            given["sizes"] = _sizes(p.sizes, f"{path}.sizes")
        if "proto" in given:
            _proto(p.proto, f"{path}.proto")
        for k, port in enumerate(p.dports or []):
            if not 0 <= port <= 65535:
                raise SpecError(f"{path}.dports[{k}]", f"port {port} is outside 0..65535")
        if p.mix is not None and sum(p.mix.model_dump().values()) <= 0:
            raise SpecError(f"{path}.mix", "the shares sum to 0: give at least one class a positive share")
        if p.outside is not None:
            _outside(p.outside, f"{path}.outside", c)
        if p.services is not None:
            _services(p.services, f"{path}.services", c)
        out[p.name] = TrafficProfileDef(p.name, p.kind, given)
    return out


def _sizes(v, path: str):
    """An IP length, "imix" or a histogram [[length, weight], ...] -> its JSON-ready form."""
    def length(x, where):
        if isinstance(x, bool) or not isinstance(x, int) or not MIN_IP_LENGTH <= x <= 65535:
            raise SpecError(where, f"IP length {x!r} must be an integer in {MIN_IP_LENGTH}..65535")
        return x

    if v == "imix":
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return length(v, path)
    if isinstance(v, (list, tuple)) and v:
        pairs = []
        for k, pair in enumerate(v):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise SpecError(f"{path}[{k}]", f"{pair!r} is not a pair [ip_length, weight]")
            w = pair[1]
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < float("inf"):
                raise SpecError(f"{path}[{k}]", f"weight {w!r} must be a finite number >= 0")
            pairs.append([length(pair[0], f"{path}[{k}]"), w])
        if sum(w for _, w in pairs) <= 0:
            raise SpecError(path, "the weights sum to 0")
        return pairs
    raise SpecError(path, f"{v!r} is not a size: give an IP length ({MIN_IP_LENGTH}..65535), \"imix\" "
                    "or a histogram [[ip_length, weight], ...]")


def _proto(v, path: str) -> int:
    proto = PROTO_NUMBERS[v] if isinstance(v, str) else v
    if not 1 <= proto <= 255:
        raise SpecError(path, f"protocol {v!r} is not one a packet carries (1..255 or tcp, udp, icmp)")
    return proto


def _outside(text: str, path: str, c: Cluster) -> None:
    net = _net(text, path)
    inside = [c.settings.pod_cidr, c.settings.link_cidr, c.settings.tep_cidr, c.node_segment.subnet]
    inside += [s.subnet for s in c.namespaces]
    inside += [ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False) for u in c.uplinks]
    for n in inside:
        if net.overlaps(n):
            raise SpecError(path, f"{net} overlaps the cluster's {n}: north-south destinations must lie outside")


def _services(services: list[ServiceSpec], path: str, c: Cluster) -> None:
    total = sum(s.share for s in services)
    if total > 1 + 1e-9:
        raise SpecError(path, f"the shares sum to {total:g}, more than 1")
    seen: dict[str, int] = {}
    for j, s in enumerate(services):
        p = f"{path}[{j}]"
        names.DEVICE.check(s.name, f"{p}.name")
        if s.name in seen:
            raise SpecError(f"{p}.name", f"duplicate service {s.name!r} (also {path}[{seen[s.name]}])")
        seen[s.name] = j
        if (s.pods is not None) + (s.selector is not None) + (s.service is not None) > 1:
            raise SpecError(p, "give one of pods, selector or service")
        if s.service is not None:
            k = c.service_index.get(s.service)
            dns = s.name == "dns"
            if s.port is None and not dns:
                raise SpecError(f"{p}.port", "a service needs a port (only dns has a default: 53)")
            port = s.port if s.port is not None else DNS_SERVICE_DEFAULTS["port"]
            proto = _proto(s.proto, f"{p}.proto") if s.proto is not None else \
                PROTO_NUMBERS[DNS_SERVICE_DEFAULTS["proto"]] if dns else PROTO_NUMBERS["tcp"]
            if k is None or c.services[k].cluster_ip is None:
                raise SpecError(f"{p}.service", f"no Service {s.service!r} with a cluster IP in the cluster's services")
            if not any(sp.port == port and sp.proto == proto for sp in c.services[k].ports):
                raise SpecError(f"{p}.port", f"Service {s.service} has no port {port} for protocol {proto}")
            continue
        if s.selector is not None and not s.selector:
            raise SpecError(f"{p}.selector", "names no label")
        if s.selector:
            names.check_labels(s.selector, f"{p}.selector")
        dns = s.name == "dns"
        if s.pods is None and s.selector is None and not dns:
            raise SpecError(p, "give pods (namespace/name keys) or a label selector (only dns has a default: "
                            "label k8s-app=kube-dns)")
        if s.port is None and not dns:
            raise SpecError(f"{p}.port", "a service needs a port (only dns has a default: 53)")
        if s.proto is not None:
            _proto(s.proto, f"{p}.proto")
        if s.pods is not None:
            if not s.pods:
                raise SpecError(f"{p}.pods", "names no pod")
            for k, key in enumerate(s.pods):
                if key not in c.pod_index:
                    raise SpecError(f"{p}.pods[{k}]", f"unknown pod {key!r}")
        else:
            sel = s.selector if s.selector is not None else DNS_SERVICE_DEFAULTS["selector"]
            labels = c.pods.labels or []
            if not any(lb and all(lb.get(k) == v for k, v in sel.items()) for lb in labels):
                shown = ", ".join(f"{k}={v}" for k, v in sel.items()) or "(empty)"
                raise SpecError(f"{p}.selector" if s.selector is not None else p,
                                f"no pod has the label(s) {shown}" + ("" if s.selector is not None else
                                                                     " (the dns default); give pods or a selector"))


def _dfw_rule(r: DfwRuleSpec, path: str) -> DfwRule:
    any_net = ipaddress.IPv4Network("0.0.0.0/0")
    src = any_net if r.src == "any" else _net(r.src, path + ".src")
    dst = any_net if r.dst == "any" else _net(r.dst, path + ".dst")
    proto = PROTO_NUMBERS[r.proto] if isinstance(r.proto, str) else r.proto
    if not 0 <= proto <= 255:
        raise SpecError(path + ".proto", f"protocol {proto} is outside 0..255")
    lo, hi = 0, 65535
    if r.dport is not None:
        # ASCII digits only (int() would take "8_0", " 80" and other scripts' digits)
        m = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", str(r.dport))
        if m:
            lo = int(m[1])
            hi = int(m[2]) if m[2] is not None else lo
        if not m or not 0 <= lo <= hi <= 65535:
            shown = r.dport if len(str(r.dport)) <= 64 else f"{str(r.dport)[:64]}..."
            raise SpecError(path + ".dport", f"{shown!r} is not a port or a range lo-hi within 0..65535")
    return DfwRule(r.name, r.action, src, dst, proto, lo, hi)


def to_spec(c: Cluster) -> dict:
    """The fully allocated spec of a cluster (plain dict, ready for YAML or JSON)."""
    st = c.settings
    proto_names = {v: k for k, v in PROTO_NUMBERS.items()}

    cap = c.capacity

    def router(r: Router) -> dict:
        return {"name": r.name, "edge": r.edge} if len(r.edges) < 2 else {"name": r.name, "edges": list(r.edges)}

    def host(h: Host) -> dict:
        d = {"name": h.name, "tep": ip_to_str(h.tep), "mtu": h.mtu}
        if h.name in cap.host_link:
            d["link_gbps"] = cap.host_link[h.name]
        if h.name in cap.edge:
            d["mpps"] = cap.edge[h.name]
        return d

    pods = c.pods
    ns_names = [s.namespace for s in c.namespaces]
    node_names = [n.name for n in c.nodes]
    pod_list = []
    for name, k, nd, ip, mac, vlan, i in zip(pods.name, pods.namespace.tolist(), pods.node.tolist(),
                                            ips_to_strs(pods.ip), macs_to_strs(pods.mac), pods.vlan.tolist(), range(len(pods))):
        d = {"name": str(name), "namespace": ns_names[k], "node": node_names[nd], "ip": ip, "mac": mac, "vlan": vlan}
        if pods.labels is not None and pods.labels[i]:
            d["labels"] = dict(pods.labels[i])
        if pods.ports is not None and pods.ports[i]:
            d["ports"] = [{**({"name": cp.name} if cp.name is not None else {}), "containerPort": cp.port,
                           "protocol": {6: "TCP", 17: "UDP", 132: "SCTP"}[cp.protocol]} for cp in pods.ports[i]]
        pod_list.append(d)
    spec = {
        "cluster": {
            "name": st.name, "pod_cidr": str(st.pod_cidr), "namespace_prefix": st.namespace_prefix,
            "tep_cidr": str(st.tep_cidr), "link_cidr": str(st.link_cidr), "router_mac": mac_to_str(st.router_mac),
            "vni_base": st.vni_base, "geneve_option_bytes": st.geneve_option_bytes,
            "vlan_range": [st.vlan_min, st.vlan_max], "default_max_pods": st.default_max_pods,
            "mac_table_size": st.mac_table_size, "service_cidr": str(st.service_cidr),
            "service_hash_seed": st.service_hash_seed,
            **({"ecmp_hash_seed": st.ecmp_hash_seed} if st.ecmp_hash_seed else {}),
            **({"load_balancer_t1": st.load_balancer_t1} if st.load_balancer_t1 is not None else {}),
        },
        "node_network": {"subnet": str(c.node_segment.subnet), "vni": c.node_segment.vni, "t1": router(c.t1s[0])},
        "hosts": [host(h) for h in c.hosts if not h.edge],
        "edges": [host(h) for h in c.hosts if h.edge],
        "nodes": [{"name": n.name, "role": n.role, "host": n.host, "ip": ip_to_str(n.ip), "mac": mac_to_str(n.mac),
                   "max_pods": n.max_pods} for n in c.nodes],
        "namespaces": [{"name": s.namespace, "subnet": str(s.subnet), "vni": s.vni, "t1": router(r),
                        **({"labels": dict(c.namespace_labels[k])} if c.namespace_labels and c.namespace_labels[k] else {}),
                        **({"snat_ip": ip_to_str(s.snat_ip)} if s.snat_ip is not None else
                           {"no_snat": True} if c.snat_pool is not None else {})}
                       for k, (s, r) in enumerate(zip(c.namespaces, c.t1s[1:]))],
        "pods": pod_list,
        "t0": {
            **router(c.t0), **({"ha_mode": "active_standby"} if c.t0.standby is not None else
                               {"ha_mode": "active_active"} if c.t0.active else {}),
            **({"snat_pool": str(c.snat_pool)} if c.snat_pool is not None else {}),
            **({"lb_pool": str(c.lb_pool)} if c.lb_pool is not None else {}),
            "uplinks": [{"name": u.name, "ip": f"{ip_to_str(u.ip)}/{u.prefixlen}", "next_hop": ip_to_str(u.next_hop),
                         **({"edge": u.edge} if u.edge is not None else {}),
                         **({"gbps": cap.uplink[u.name]} if u.name in cap.uplink else {})} for u in c.uplinks],
            "routes": [{"prefix": str(r.prefix), "next_hop": ip_to_str(r.next_hop)} for r in c.routes],
        },
        "dfw": {
            "default": c.dfw_default,
            "rules": [{"name": r.name, "action": r.action,
                       "src": "any" if r.src.prefixlen == 0 else str(r.src),
                       "dst": "any" if r.dst.prefixlen == 0 else str(r.dst),
                       "proto": proto_names.get(r.proto, r.proto),
                       "dport": None if (r.dport_lo, r.dport_hi) == (0, 65535) else
                       (r.dport_lo if r.dport_lo == r.dport_hi else f"{r.dport_lo}-{r.dport_hi}")}
                      for r in c.dfw_rules],
        },
        "capacity": {**{k: getattr(cap, k) for k in ("host_link_gbps", "uplink_gbps") if k in cap.given},
                     **({"edge_mpps": cap.edge_mpps} if cap.edge_mpps is not None else {}),
                     **({"tep_vlan": True} if cap.tep_vlan else {}), **({"cpu": copy.deepcopy(cap.cpu)} if cap.cpu else {})},
    }
    if c.networkpolicies:
        from ..policy.parse import policy_to_dict
        spec["networkpolicies"] = [policy_to_dict(p) for p in c.networkpolicies]
    if c.services:
        spec["services"] = [_service_to_dict(s) for s in c.services]
    if c.endpointslices:
        spec["endpointslices"] = copy.deepcopy(list(c.endpointslices))
    if c.maxima:
        spec["maxima"] = dict(c.maxima)
    if c.traffic_profiles:
        spec["traffic"] = {"profiles": [{"name": t.name, "kind": t.kind, **copy.deepcopy(t.params)}
                                        for t in c.traffic_profiles.values()]}
    return spec


def _service_to_dict(s) -> dict:
    """A Service as the spec gave it, with its allocated clusterIP written in."""
    d = copy.deepcopy(s.raw)
    if s.cluster_ip is not None:
        spec = d.setdefault("spec", {})
        spec["clusterIP"] = ip_to_str(s.cluster_ip)
        if spec.get("clusterIPs"):
            spec["clusterIPs"] = [ip_to_str(s.cluster_ip)]
    if s.lb_ip is not None:  # as the controller writes it back
        d["status"] = {"loadBalancer": {"ingress": [{"ip": ip_to_str(s.lb_ip)}]}}
    return d
