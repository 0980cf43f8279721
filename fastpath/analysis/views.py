"""Device views: each device's table as its own CLI prints it, computed from the model.

``fastpath show fdb|vif|routes|arp`` answer the questions the seed answers by correlating
screenshots: which MAC the node's OVS bridge learned on which port and VLAN, which child
logical ports the node VM's VIF carries under which traffic tag, what a router forwards where,
and which neighbors a router or a segment knows. Each view is a pure function of a `Cluster`
(`fdb`, `vif`, `routes`, `arp`) returning a `View`: rows as JSON-ready dicts (``as_dict``, what
``--json`` prints) and the tool's own text (``text``). They live in `fastpath.analysis` beside
the reachability matrix and the load report because, like those, they are read-only tables
derived from the model for people to read; they have no state and the data plane never calls them.

**fdb** — ``ovs-appctl fdb/show BRIDGE`` as Open vSwitch prints it (ofproto/ofproto-dpif.c,
``ofproto_unixctl_fdb_show``: a header `` port  VLAN  MAC                Age``, then per entry
``"%5s  %4d  " ETH_ADDR_FMT "  %3d"``, the port as its OpenFlow number, entries in the MAC
table's LRU order, least recently seen first; released OVS up to 3.7 — the unreleased
post-3.7 tree capitalizes ``Port``). ``--json`` rows are the entries as ``ovs-appctl --format
json fdb/show`` (OVS 3.6-3.7) gives them, ``{"port", "vlan", "mac", "age"}``, plus the entry's
owner (a pod, or ``router``). The table is the model's steady state (walk.py's OVS essay): every
pod has sent a frame to its gateway (its MAC learned on its port in its VLAN) and had the
answer down the trunk (the distributed-router MAC learned on the trunk in that VLAN) — two rows
per pod, in pod order, pod first. *Port numbers*: the trunk toward the VIF is OpenFlow port 1,
the pods' ports follow from 2 in the pod table's order on that node (the order they were
created), as on a node where the uplink is added first and each pod's port when the pod
starts; tests/test_views.py builds its real-OVS bridge with exactly these numbers
(``ofport_request``). *Age*: the model has no clock; a steady state is one where every entry
was just refreshed, so Age reads `FDB_AGE` (0 seconds) throughout. Not modeled, so not listed:
the node agent's own VLAN 4094 (hyperbus) entries.

**vif** — the node VM's VIF on its host: its own (untagged) logical port on the node segment,
then one child logical port per pod, keyed by traffic tag (the pod's VLAN), as NSX's logical
port attachment holds them (``VifAttachmentContext``: ``vif_type`` PARENT/CHILD,
``traffic_tag``); sorted by tag, as the VIF demultiplexes.

**routes** — an edge's ``get logical-router <uuid> forwarding`` (NSX CLI Guide,
"get logical-router <uuid> forwarding [<prefix>]",
https://developer.broadcom.com/xapis/nsx-cli-guide/latest/ShowLogicalRouterUuidFibPrefix.html):
a ``Logical Router`` block (``UUID VRF LR-ID Name Type``), then ``IPv4 Forwarding Table`` with
``IP Prefix  Gateway IP  Type  UUID  Gateway MAC``, one row per route of `fastpath.model.routing.rib`
in its order. NSX prints datapath UUIDs; the model has names, so: the router's UUID is a name-
based UUID (`router_uuid`, uuid5 of the cluster's and the instance's names: stable across runs);
the route's interface column holds the logical router port's *name* (headed ``Logical Router
Port``) — ``cpu`` for the router's own addresses (as NSX points them at its cpu interface),
``downlink-<segment>``, ``routerlink-<peer router>``, ``transit-<peer instance>`` (DR <-> SR),
or the uplink's name. Type is NSX's ``route`` on every row (NSX tells routes apart by interface);
the model's kind (local, connected, router, uplink) is in ``--json``. Gateway MAC: the distributed
router MAC toward another router instance; blank for an uplink's next hop (the model does not
know the physical router's MAC). VRF and LR-ID: the instance's place in the RIB, from 1 (0 is
the edge's TUNNEL router in NSX). Router types: ``DISTRIBUTED_ROUTER_TIER1/TIER0``,
``SERVICE_ROUTER_TIER1/TIER0``.

**arp** — for a router instance, ``get logical-router <uuid> neighbor`` (NSX CLI Guide,
"get gateway neighbors", .../nsx-cli-guide/latest/ShowGatewayContextUuidNeighbor.html, and
"get logical-router interface <uuid> neighbor", .../ShowLogicalRouterPortUuidNeighbor.html:
a router block, then blocks of ``interface : / IP : / MAC : / state :``): the endpoints of its connected segments and the next
router instances it forwards to (the address it arrives on, with the router MAC), all ``perm``
— the control plane knows them (ARP suppression), none is learned; an uplink's next hop is
not listed (the model does not know the physical router's MAC). For a segment (by name or
VNI), ``get logical-switch <vni> arp-table`` (NSX CLI Guide, "get logical-switch <vni-or-uuid>
arp-table", .../GetLogicalSwitchVniArpTableRemote.html; columns ``VNI IP MAC`` and, as
"get transport-node <uuid> arp-table" (.../GetTransportNodeArpRecords.html) and the verbose
form have it, ``TransportNode-Id``): every endpoint on it with the transport node (host) its port is on, and
one column more, ``Port``, the logical port it was learned on. The router's own gateway port is
not a VIF: the control plane learns no ARP entry for it, so it is not listed.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..model.addressing import ip_to_str, ips_to_strs, mac_to_str, macs_to_strs
from ..model.cluster import Cluster, vif_name
from ..model.routing import RouterInstance, rib

FDB_AGE = 0
"""What the Age column of ``fdb`` reads: the model's steady state has every entry just refreshed."""

TRUNK_OFPORT = 1
"""OpenFlow port number of the node bridge's trunk toward the VIF; pods' ports follow from 2."""

OVS_BRIDGE = "br-int"
"""The node's OVS bridge as NCP's node agent names it (``ovs_bridge`` in ncp.ini)."""

FDB_HEADER = " port  VLAN  MAC                Age"

NAMES_SHOWN = 12
"""At most this many names in an unknown-name error (a generated cluster has thousands)."""


@dataclass(frozen=True)
class View:
    """One device's table: ``rows`` (JSON-ready dicts, in the tool's order), ``header``
    (JSON-ready facts about the device) and the tool's text (``text()``)."""

    kind: str  # "fdb" | "vif" | "routes" | "arp" | "arp-table"
    device: str
    header: dict
    rows: list[dict]
    _render: Callable[["View"], str] = field(repr=False, compare=False)

    def text(self) -> str:
        return self._render(self)

    def as_dict(self) -> dict:
        return {"view": self.kind, "device": self.device, **self.header, "rows": self.rows}


class UnknownName(LookupError):
    """A name the cluster does not have; the message is one line listing what it has."""


def _unknown(what: str, name: str, kinds: list[tuple[str, list[str]]]) -> UnknownName:
    parts = []
    for label, names in kinds:
        shown = ", ".join(names[:NAMES_SHOWN])
        more = f", ... ({len(names):,} in all)" if len(names) > NAMES_SHOWN else ""
        parts.append(f"{label}: {shown or 'none'}{more}")
    shown_name = repr(name[:64]) + "..." if len(name) > 64 else repr(name)
    return UnknownName(f"no {what} {shown_name} ({'; '.join(parts)})")


def _node_pods(c: Cluster, node: str) -> np.ndarray:
    if node not in c.node_index:
        raise _unknown("node", node, [("nodes", [n.name for n in c.nodes])])
    return c.pods_on_node(node)


def pod_ofports(c: Cluster, node: str) -> dict[str, int]:
    """OpenFlow port number of each pod's port on its node's bridge: ``namespace/name`` -> port."""
    keys = [c.pods[int(i)].key for i in _node_pods(c, node)]
    return {k: TRUNK_OFPORT + 1 + n for n, k in enumerate(keys)}


# ---- fdb: ovs-appctl fdb/show -----------------------------------------------------------------
def fdb(c: Cluster, node: str) -> View:
    """The node bridge's MAC table in the model's steady state (module essay)."""
    rows = []
    rm = mac_to_str(c.settings.router_mac)
    for port, i in enumerate(_node_pods(c, node), TRUNK_OFPORT + 1):
        p = c.pods[int(i)]
        rows.append({"port": port, "vlan": p.vlan, "mac": mac_to_str(p.mac), "age": FDB_AGE, "owner": p.key})
        rows.append({"port": TRUNK_OFPORT, "vlan": p.vlan, "mac": rm, "age": FDB_AGE, "owner": "router"})
    return View("fdb", node, {"bridge": OVS_BRIDGE, "trunk_port": TRUNK_OFPORT}, rows, _fdb_text)


def _fdb_text(v: View) -> str:
    lines = [FDB_HEADER]
    lines += [f"{r['port']:>5}  {r['vlan']:>4}  {r['mac']}  {r['age']:>3}" for r in v.rows]
    return "\n".join(lines) + "\n"


# ---- vif: the node VM's VIF and its child logical ports -----------------------------------------
def vif(c: Cluster, node: str) -> View:
    rows_idx = _node_pods(c, node)
    n = c.node(node)
    ns = c.node_segment
    tags = c.pods.vlan[rows_idx]
    order = rows_idx[np.argsort(tags, kind="stable")]
    ips, macs = ips_to_strs(c.pods.ip[order]), macs_to_strs(c.pods.mac[order])
    rows = []
    for k, i in enumerate(order.tolist()):
        p = c.pods[i]
        seg = c.namespaces[int(c.pods.namespace[i])]
        rows.append({"traffic_tag": p.vlan, "pod": p.key, "ip": ips[k], "mac": macs[k], "segment": seg.name,
                     "vni": seg.vni, "vif_type": "CHILD"})
    header = {"vif": vif_name(node), "node": node, "host": n.host,
              "parent": {"vif_type": "PARENT", "port": node, "ip": ip_to_str(n.ip), "mac": mac_to_str(n.mac),
                         "segment": ns.name, "vni": ns.vni, "traffic_tag": None}}
    return View("vif", node, header, rows, _vif_text)


def _vif_text(v: View) -> str:
    h = v.header
    par = h["parent"]
    lines = [f"VIF {h['vif']}  node {h['node']} (VM on {h['host']})",
             f"  parent port {par['port']}  {par['ip']}  {par['mac']}  {par['segment']} (VNI {par['vni']})  untagged",
             f"  {len(v.rows)} child port{'s' * (len(v.rows) != 1)}:"]
    wpod = max([len("Logical Port (pod)")] + [len(r["pod"]) for r in v.rows])
    lines.append(f"  {'Traffic Tag':>11}  {'Logical Port (pod)':<{wpod}}  {'IP':<15}  {'MAC':<17}  Segment (VNI)")
    for r in v.rows:
        lines.append(f"  {r['traffic_tag']:>11}  {r['pod']:<{wpod}}  {r['ip']:<15}  {r['mac']:<17}  "
                     f"{r['segment']} ({r['vni']})")
    return "\n".join(lines) + "\n"


# ---- router instances, their ports ---------------------------------------------------------------
def _instance(c: Cluster, name: str) -> tuple[int, RouterInstance]:
    table = rib(c)
    if name not in table:
        raise _unknown("router", name, [("routers", list(table))])
    return list(table).index(name) + 1, table[name]


def router_uuid(c: Cluster, name: str) -> str:
    """A stable name-based UUID for a router instance (NSX prints datapath UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fastpath:{c.settings.name}/router/{name}"))


def router_type(inst: RouterInstance) -> str:
    return f"{'SERVICE' if inst.sr else 'DISTRIBUTED'}_ROUTER_TIER{inst.kind[1]}"


def port_toward(c: Cluster, inst: RouterInstance, next_router: str) -> str:
    """The logical router port of ``inst`` that faces the router instance ``next_router``."""
    nxt = rib(c)[next_router]
    if nxt.router == inst.router:
        return f"transit-{next_router}"  # DR <-> SR of one router
    return f"routerlink-{nxt.router if inst.kind == 't0' else c.t0.name}"


def _static_next_hop(c: Cluster, route) -> int | None:
    """The next hop of an uplink route: a static route's own; none for the uplink's own subnet."""
    for u in c.uplinks:
        if u.name == route.uplink and route.prefix == ipaddress.IPv4Network((u.ip, u.prefixlen), strict=False):
            return None
    return next((st.next_hop for st in c.routes if st.prefix == route.prefix), None)


def routes(c: Cluster, router: str) -> View:
    """A router instance's forwarding table (`rib` order) as an NSX edge lists it."""
    lr_id, inst = _instance(c, router)
    rm = mac_to_str(c.settings.router_mac)
    rows = []
    for r in (m for x in inst.routes for m in (x.ecmp or (x,))):  # an ECMP route: a row per path, as NSX lists them
        row = {"prefix": str(r.prefix), "gateway_ip": None, "type": "route", "port": None, "gateway_mac": None,
               "kind": r.kind}
        if r.kind == "null":  # a failed cluster's route whose next hop is gone
            row.update(type="blackhole", port="")
        elif r.kind == "local":
            row["port"] = "cpu"
        elif r.kind == "connected":
            row["port"] = f"downlink-{r.segment}"
            row["segment"] = r.segment
        elif r.kind == "router":
            row.update(gateway_ip=ip_to_str(r.arrive_ip), port=port_toward(c, inst, r.next_router), gateway_mac=rm,
                       next_router=r.next_router)
        else:  # uplink
            hop = _static_next_hop(c, r)
            row.update(port=r.uplink, gateway_ip=ip_to_str(hop) if hop is not None else None)
        rows.append(row)
    header = {"uuid": router_uuid(c, router), "vrf": lr_id, "lr_id": lr_id, "name": inst.name,
              "type": router_type(inst), "logical_router": inst.router, "edge": inst.host}
    return View("routes", router, header, rows, _routes_text)


def _lr_block(h: dict) -> list[str]:
    return ["Logical Router",
            f"{'UUID':<39}{'VRF':<7}{'LR-ID':<7}{'Name':<34}Type",
            f"{h['uuid']:<39}{h['vrf']:<7}{h['lr_id']:<7}{h['name']:<34}{h['type']}"]


def _routes_text(v: View) -> str:
    wport = max([36] + [len(r["port"]) for r in v.rows]) + 3
    lines = _lr_block(v.header) + ["IPv4 Forwarding Table",
                                   f"{'IP Prefix':<19}{'Gateway IP':<16}{'Type':<12}{'Logical Router Port':<{wport}}"
                                   "Gateway MAC"]
    for r in v.rows:
        lines.append(f"{r['prefix']:<19}{r['gateway_ip'] or '':<16}{r['type']:<12}{r['port']:<{wport}}"
                     f"{r['gateway_mac'] or ''}".rstrip())
    return "\n".join(lines) + "\n"


# ---- arp: a router's neighbors, a segment's ARP table ------------------------------------------
def _segment_endpoints(c: Cluster, seg) -> list[dict]:
    """Every endpoint on a segment: its IP, MAC, logical port and the transport node it is on."""
    host_of_node = [n.host for n in c.nodes]
    if seg.namespace is None:  # the node segment: the nodes themselves
        return [{"ip": ip_to_str(n.ip), "mac": mac_to_str(n.mac), "port": n.name, "transport_node": n.host}
                for n in c.nodes]
    rows_idx = np.flatnonzero(c.pods.namespace == c.namespace_index[seg.namespace])
    ips, macs = ips_to_strs(c.pods.ip[rows_idx]), macs_to_strs(c.pods.mac[rows_idx])
    ns = seg.namespace
    return [{"ip": ips[k], "mac": macs[k], "port": f"{ns}/{c.pods.name[i]}",
             "transport_node": host_of_node[int(c.pods.node[i])]} for k, i in enumerate(rows_idx.tolist())]


def _segment(c: Cluster, name: str):
    """A segment by name, or by VNI (decimal digits: a VNI has 24 bits)."""
    vni = int(name) if name.isascii() and name.isdigit() and len(name) <= 9 else None
    return next((s for s in c.segments if s.name == name or s.vni == vni), None)


def arp(c: Cluster, name: str) -> View:
    """``name`` a router instance: its neighbor table; a segment (name or VNI): its ARP table."""
    if name in rib(c):
        return _neighbors(c, name)
    seg = _segment(c, name)
    if seg is None:
        raise _unknown("router or segment", name, [("routers", list(rib(c))),
                                                   ("segments", [f"{s.name} ({s.vni})" for s in c.segments])])
    rows = [{"vni": seg.vni, **e} for e in _segment_endpoints(c, seg)]
    header = {"segment": seg.name, "vni": seg.vni, "subnet": str(seg.subnet)}
    return View("arp-table", seg.name, header, rows, _arp_table_text)


def _neighbors(c: Cluster, router: str) -> View:
    lr_id, inst = _instance(c, router)
    rm = mac_to_str(c.settings.router_mac)
    by_name = {s.name: s for s in c.segments}
    rows, seen = [], set()
    for r in inst.routes:
        if r.kind == "connected":
            port = f"downlink-{r.segment}"
            rows += [{"interface": port, "ip": e["ip"], "mac": e["mac"], "state": "perm", "endpoint": e["port"]}
                     for e in _segment_endpoints(c, by_name[r.segment])]
        elif r.kind == "router" and (r.next_router, r.arrive_ip) not in seen:
            seen.add((r.next_router, r.arrive_ip))
            rows.append({"interface": port_toward(c, inst, r.next_router), "ip": ip_to_str(r.arrive_ip), "mac": rm,
                         "state": "perm", "endpoint": r.next_router})
    header = {"uuid": router_uuid(c, router), "vrf": lr_id, "lr_id": lr_id, "name": inst.name,
              "type": router_type(inst), "logical_router": inst.router, "edge": inst.host}
    return View("arp", router, header, rows, _neighbors_text)


def _neighbors_text(v: View) -> str:
    h = v.header
    kv = lambda k, x: f"{k:<10}: {x}"  # noqa: E731
    lines = ["Logical Router", kv("UUID", h["uuid"]), kv("VRF", h["vrf"]), kv("LR-ID", h["lr_id"]),
             kv("name", h["name"]), kv("type", h["type"]), "Neighbors"]
    for r in v.rows:
        lines += [kv("interface", r["interface"]), kv("IP", r["ip"]), kv("MAC", r["mac"]), kv("state", r["state"]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _arp_table_text(v: View) -> str:
    wtn = max([len("TransportNode-Id")] + [len(r["transport_node"]) for r in v.rows]) + 2
    lines = [f"{'VNI':<10}{'IP':<17}{'MAC':<19}{'TransportNode-Id':<{wtn}}Port"]
    lines += [f"{r['vni']:<10}{r['ip']:<17}{r['mac']:<19}{r['transport_node']:<{wtn}}{r['port']}" for r in v.rows]
    return "\n".join(lines) + "\n"


ROUTER_NAMES_HELP = "a T1/T0 by name (its distributed router) or <name>-sr (its service router)"

__all__ = ["FDB_AGE", "FDB_HEADER", "OVS_BRIDGE", "TRUNK_OFPORT", "UnknownName", "View", "arp", "fdb", "pod_ofports",
           "port_toward", "router_type", "router_uuid", "routes", "vif"]
