"""The overlay: what a cluster's kubectl output cannot say, in a small YAML (or JSON) file.

Kubernetes knows nodes, namespaces and pods; it does not know which ESXi host runs each node
VM, the hosts' TEPs and MTU, the edges, the T0, or (when pod IPs do not imply it) a namespace's
subnet or its T1's service router. The overlay gives those, and nothing else::

    cluster:                      # the spec's cluster settings (fastpath.model.spec.SettingsSpec)
      name: prod
      pod_cidr: 172.16.0.0/16     # every imported pod IP must lie in it (default 172.16.0.0/16)
      service_cidr: 10.96.0.0/12  # the Services' ClusterIP range (written only when given)
      namespace_prefix: 24        # subnets derived from pod IPs are at most this long
    node_network: {subnet: 172.15.0.0/24}   # node InternalIPs' segment (default: derived from them)
    hosts:                        # transport nodes, each with the node VMs it runs (kubectl names)
      - {name: esx-1, tep: 192.168.0.11, mtu: 1600, nodes: [master, worker-1]}
      - {name: esx-2, nodes: [worker-2]}
    edges: [{name: edge-1}]
    t0:                           # as in a spec
      edge: edge-1
      uplinks: [{name: uplink-1, ip: 203.0.113.2/24, next_hop: 203.0.113.1}]
      routes: [{prefix: 0.0.0.0/0, next_hop: 203.0.113.1}]
    namespaces:                   # by name; only those that need it
      db: {subnet: 172.16.5.0/24, t1: {edge: edge-1}}
    pods:                         # by namespace/name; VLAN tags when known
      db/postgres-0: {vlan: 100}

``dfw``, ``capacity`` and ``traffic`` are taken as a spec takes them and copied through. Every
field is checked as strictly as a spec's (the same pydantic models: unknown fields, strings for
numbers and booleans for integers are errors), and a bad overlay is one line naming the file and
the field: ``overlay.yaml: hosts[1].nodes[0]: ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import Field, ValidationError

from ..model.cluster import SpecError
from ..model.spec import (CapacitySpec, DfwSpec, HostSpec, Int, Items, NodeNetworkSpec, RouterSpec, SettingsSpec,
                          T0Spec, TrafficSpec, _M)
from ..model.specfile import read_spec


class OverlaySettings(SettingsSpec):
    service_cidr: Optional[str] = None  # the spec's cluster.service_cidr (Services' ClusterIPs)


class OverlayHost(HostSpec):
    nodes: list[str] = []  # the Kubernetes nodes (VMs) this host runs


class OverlayNamespace(_M):
    subnet: Optional[str] = None  # else derived from its pods' IPs
    vni: Optional[Int] = None
    t1: RouterSpec = RouterSpec()


class OverlayPod(_M):
    vlan: Int = Field(ge=0, le=0xFFFF)  # its tag on the node's OVS (the spec checks the VLAN range)


class Overlay(_M):
    cluster: OverlaySettings = OverlaySettings()
    node_network: Optional[NodeNetworkSpec] = None
    hosts: Items[OverlayHost] = []
    edges: Items[HostSpec] = []
    t0: Optional[T0Spec] = None
    dfw: Optional[DfwSpec] = None
    capacity: Optional[CapacitySpec] = None
    traffic: Optional[TrafficSpec] = None
    namespaces: dict[str, OverlayNamespace] = {}
    pods: dict[str, OverlayPod] = {}  # "namespace/name"


def load_overlay(path: str | Path | None) -> Overlay:
    """Read and check an overlay file (None: the empty overlay). Raises one-line `SpecError`s
    whose path starts with the file: ``overlay.yaml: hosts[0].mtu``."""
    if path is None:
        return Overlay()
    return parse_overlay(read_spec(path), str(path))


def parse_overlay(data: dict, source: str = "<overlay>") -> Overlay:
    try:
        return Overlay.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = _loc(e["loc"])
        got = e.get("input")
        shown = "" if isinstance(got, (dict, list)) or e["type"] == "missing" else f", got {got!r}"[:80]
        raise SpecError(f"{source}: {where}" if where else source, e["msg"][:1].lower() + e["msg"][1:] + shown) from None


def _loc(loc) -> str:
    """A pydantic error location as a field path (``hosts[1].nodes[0]``); the member tags
    pydantic appends inside a union (``literal['tcp']``, ``int``) end it."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part in ("int", "str", "float", "function-after", "function-before"):
            break
        else:
            out += f".{part}" if out else part
    return out
