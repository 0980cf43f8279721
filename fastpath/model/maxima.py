"""Configuration maxima: the published figures that stop real clusters, in one versioned table.

Each `Maximum` is a product's figure for one product version range, with its public source (or,
where no public figure exists, marked a placeholder the planner must set), and two ways to
measure a cluster against it:

- ``of_cluster(c)``: the cluster's own amount, and where it is largest (`check`: ``fastpath
  check`` warns for each one crossed);
- ``of_shape(args)``: the amount for a generated cluster's shape (hosts, nodes_per_host,
  namespaces, pods_per_node, dfw_rules, edges) — per namespace, its even share: the generator
  draws each pod's namespace at random, so the fullest namespace of a built cluster runs a
  few standard deviations above it, which `check` then sees —, non-decreasing in each, so a study
  computes the exact value of its swept parameter at which a maximum is first crossed
  (`crossing`) instead of naming the first sampled point past it.

A spec overrides any figure by its key (``maxima: {k8s.pods_per_node: 250}``: a cluster whose
kubelets run ``--max-pods 250``); the table itself is `MAXIMA`. Figures are "tested maxima" in
VMware's sense: a supported ceiling, not the point where the product refuses (NSX raises an
alarm past its DFW figures), so crossing one is a warning, never an error.

Readings the figures need (each stated where it is used): a pod is a logical port of its own
(NCP's child VIF), so DFW rules count per pod port; every admin DFW rule applies to every port
(Applied-To: DFW); a namespace's pods fill NCP's subnets of ``subnet_prefix`` /24 (253 pods once
the gateway takes .1) and NCP then *adds* a subnet — a second segment — where fastpath models
one larger subnet, so crossing that figure says "NCP would add a subnet", not "full"; the node
network of a spec is the user's, sized by the spec (a /24 holds 253 nodes from .2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .cluster import SpecError

K8S_LARGE = ("Kubernetes, \"Considerations for large clusters\" — "
             "https://kubernetes.io/docs/setup/best-practices/cluster-large/")
DFW_KB = ("Broadcom KB 371437, \"DFW Rules Limit Per Host Exceeded and DFW rules limit per vnic approaching\" — "
          "https://knowledge.broadcom.com/external/article/371437/dfw-rules-limit-per-host-exceeded-and-df.html")
SEGMENTS_32 = ("NSX-T 3.2 Administration Guide, \"Segments\" (remote_overlay_mac_limit); NSX-T REST API "
               "MacLearningSpec — https://docs.vmware.com/en/VMware-NSX-T-Data-Center/3.2/administration/"
               "GUID-316E5027-E588-455C-88AD-A7DA930A4F0B.html")
PRA_LB = ("Pivotal Reference Architecture 2.2, \"Routing — NSX-T Edge type and LB capacity planning\" — "
          "https://docs.pivotal.io/pra/2-2/routing.html")
OVS_MAC = ("Open vSwitch vswitchd/vswitch.xml, other_config:mac-table-size (default 8,192 since 2.10.0, "
           "commit 2468f6751 \"Increase default mac table size to 8K from 2K\"; lib/mac-learning.h MAC_DEFAULT_MAX) — "
           "https://github.com/openvswitch/ovs/blob/main/vswitchd/vswitch.xml")
NCP_VLAN = ("NCP 3.2 for OpenShift, \"Administering NCP\" (Hyperbus reserves VLAN 4094) — "
            "https://docs.vmware.com/en/VMware-NSX-Container-Plugin/3.2/ncp-openshift/"
            "GUID-7D35C9FD-813B-43C0-ADA8-C5C82596E1C9.html; 802.1Q VIDs 1-4094")
NSX_T0_AA = ("VMware Validated Design 6.2, \"North-South Routing\" (\"active-active can scale up to 8 active nodes\") — "
             "https://docs.vmware.com/en/VMware-Validated-Design/6.2/sddc-architecture-and-design-for-a-vsphere-with-"
             "tanzu-workload-domain/GUID-8E524188-65F6-4FF2-B8A3-2D9B0C86FE2A.html; vCloud NFV 3.2.1 Reference "
             "Architecture (\"a maximum of eight Edge Nodes can be configured in ECMP mode\")")
NCP_SUBNET = ("NCP for Kubernetes 2.4, \"Install NSX-T Container Plug-in\" (subnet_prefix, default /24) — "
              "https://docs.vmware.com/en/VMware-NSX-T-Data-Center/2.4/com.vmware.nsxt.ncp_kubernetes.doc/"
              "GUID-385B5154-66A0-4BD7-81C5-7A54F67405B6.html")


@dataclass(frozen=True)
class Maximum:
    key: str
    what: str  # what is counted, and where
    value: int
    unit: str
    product: str
    versions: str
    source: str
    of_cluster: Callable  # Cluster -> (amount, where)
    of_shape: Callable | None = None  # dict of generator arguments -> amount (None: not a study's)
    placeholder: bool = False  # no public figure: fastpath's own judgement, for the planner to set
    note: str = ""  # what crossing it means, when more than "over"


# ---- measures on a cluster ---------------------------------------------------------------------------
def _per_node(c) -> np.ndarray:
    return np.bincount(c.pods.node.astype(np.int64), minlength=len(c.nodes)) if len(c.pods) else np.zeros(
        len(c.nodes), np.int64)


def _worst(counts, names) -> tuple[int, str]:
    if len(counts) == 0:
        return 0, ""
    k = int(np.argmax(counts))
    return int(counts[k]), names[k]


def _pods_per_node(c):
    return _worst(_per_node(c), [n.name for n in c.nodes])


def _mac_entries(c):
    n, where = _pods_per_node(c)
    return (2 * n + 1 if c.nodes else 0), where


def _pods_per_namespace(c):
    counts = np.bincount(c.pods.namespace.astype(np.int64), minlength=len(c.namespaces)) if len(c.pods) else []
    return _worst(counts, [s.namespace for s in c.namespaces])


def _pods_per_host(c) -> np.ndarray:
    host_of_node = np.array([c.host_index[n.host] for n in c.nodes], np.int64)
    per_node = _per_node(c)
    return np.bincount(host_of_node, weights=per_node, minlength=len(c.hosts)).astype(np.int64) if len(c.nodes) \
        else np.zeros(len(c.hosts), np.int64)


def _dfw_per_host(c):
    return _worst(_pods_per_host(c) * len(c.dfw_rules), [h.name for h in c.hosts])


def _remote_macs(c):
    """Per segment, the pods behind other hosts' TEPs as one host sees them: the segment's pods
    less those on the hypervisor holding the fewest of them (a hypervisor with none sees them all)."""
    if not len(c.pods):
        return 0, ""
    H, K = len(c.hosts), len(c.namespaces)
    host_of_node = np.array([c.host_index[n.host] for n in c.nodes], np.int64)
    h = host_of_node[c.pods.node.astype(np.int64)]
    on = np.bincount(c.pods.namespace.astype(np.int64) * H + h, minlength=K * H).reshape(K, H)
    hv = [i for i, x in enumerate(c.hosts) if not x.edge]
    remote = on.sum(axis=1) - (on[:, hv].min(axis=1) if hv else 0)
    return _worst(remote, [s.name for s in c.namespaces])


def _lb_ports(c):
    return sum(len(c.services[k].ports) for k in c.lb_services), c.lb_router.name if c.lb_services else ""


def _lb_members(c):
    return sum(len(b) for k in c.lb_services for b in c.services[k].backends), \
        c.lb_router.name if c.lb_services else ""


def _teps(c):
    n = len(c.hosts)
    return n * (n - 1), f"{n} TEPs"


# ---- measures on a generated cluster's shape -------------------------------------------------------
def _pods(a) -> int:
    return a["hosts"] * a["nodes_per_host"] * a["pods_per_node"]


MAXIMA: tuple[Maximum, ...] = (
    Maximum("k8s.pods_per_node", "pods on a node", 110, "pods/node", "Kubernetes", "1.22+ (kubelet --max-pods "
            "default)", K8S_LARGE, _pods_per_node, lambda a: a["pods_per_node"]),
    Maximum("k8s.nodes", "nodes in the cluster", 5000, "nodes", "Kubernetes", "1.22+", K8S_LARGE,
            lambda c: (len(c.nodes), c.settings.name), lambda a: a["hosts"] * a["nodes_per_host"]),
    Maximum("k8s.pods", "pods in the cluster", 150_000, "pods", "Kubernetes", "1.22+", K8S_LARGE,
            lambda c: (len(c.pods), c.settings.name), _pods),
    Maximum("ncp.vlan_tags_per_node", "pods (VLAN traffic tags) on a node VM's VIF", 4093, "tags/node", "NCP",
            "3.x, 4.x", NCP_VLAN, _pods_per_node, lambda a: a["pods_per_node"]),
    Maximum("ovs.mac_table", "MAC entries of a node's OVS bridge (2 per pod VLAN + the node's own)", 8192,
            "entries/bridge", "Open vSwitch", "2.10+ (2,048 before)", OVS_MAC, _mac_entries,
            lambda a: 2 * a["pods_per_node"] + 1),
    Maximum("ncp.namespace_subnet", "pods in a namespace against one NCP subnet (subnet_prefix /24: 253 pods "
            "after the gateway)", 253, "pods/subnet", "NCP", "2.x-4.x (subnet_prefix default)", NCP_SUBNET,
            _pods_per_namespace, lambda a: math.ceil(_pods(a) / max(a["namespaces"], 1)),
            note="NCP adds a subnet (a second segment) for the namespace; fastpath models one larger subnet"),
    Maximum("spec.node_subnet", "nodes on the node network (a /24 holds 253, from .2)", 253, "nodes",
            "the spec's node_network.subnet", "default /24", "the spec's own node_network.subnet (default "
            "172.15.0.0/24)", lambda c: (len(c.nodes), str(c.node_segment.subnet)),
            lambda a: a["hosts"] * a["nodes_per_host"], note="give node_network.subnet a shorter prefix"),
    Maximum("nsx.dfw_rules_per_vnic", "DFW rules on a pod's port (admin rules apply to every port)", 4000,
            "rules/port", "NSX", "3.2.x, 4.x", DFW_KB, lambda c: (len(c.dfw_rules), "every port"),
            lambda a: a["dfw_rules"]),
    Maximum("nsx.dfw_rules_per_host", "DFW rules summed over a host's pod ports", 120_000, "rules/host", "NSX",
            "3.2.x, 4.x", DFW_KB, _dfw_per_host,
            lambda a: a["dfw_rules"] * a["nodes_per_host"] * a["pods_per_node"]),
    Maximum("nsx.remote_overlay_macs", "a segment's MACs behind other hosts' TEPs (remote_overlay_mac_limit)",
            2048, "MACs/segment", "NSX", "3.2+ (default; raise up to 8,192)", SEGMENTS_32, _remote_macs,
            # (a generated cluster spreads a namespace over every hypervisor: a host sees the rest remote)
            lambda a: math.ceil(_pods(a) * (a["hosts"] - 1) / (max(a["namespaces"], 1) * a["hosts"]))
            if a["hosts"] else 0),
    Maximum("nsx.lb_virtual_servers", "virtual servers (LoadBalancer service ports) on the cluster's load "
            "balancer", 1000, "virtual servers/LB", "NSX-T", "2.4, 2.5 (Large LB)", PRA_LB, _lb_ports),
    Maximum("nsx.lb_pool_members", "pool members (LoadBalancer backends, per port) on the cluster's load "
            "balancer", 7500, "members/LB", "NSX-T", "2.4, 2.5 (Large LB)", PRA_LB, _lb_members),
    Maximum("nsx.t0_ecmp_edges", "edge nodes of an active/active T0 (its ECMP paths; more is refused)", 8,
            "edges/T0", "NSX-T", "2.x-4.x", NSX_T0_AA, lambda c: (len(c.t0.active), c.t0.name)),
    Maximum("fastpath.tunnel_mesh", "directed TEP pairs of the full Geneve mesh (hypervisors and edges)",
            1_000_000, "TEP pairs", "fastpath", "-", "none public: a planner's judgement of mesh size "
            "(set maxima.fastpath.tunnel_mesh)", _teps,
            lambda a: (a["hosts"] + a.get("edges", 1)) * (a["hosts"] + a.get("edges", 1) - 1), placeholder=True),
)
BY_KEY = {m.key: m for m in MAXIMA}


@dataclass(frozen=True)
class Crossed:
    key: str
    amount: int
    limit: int
    where: str
    line: str  # one line for a person


def value_of(key: str, overrides: dict | None = None) -> int:
    """A maximum's figure in effect: the spec's override, else the table's."""
    return int((overrides or {}).get(key, BY_KEY[key].value))


def check(c, overrides: dict | None = None) -> list[Crossed]:
    """Every maximum the cluster crosses (``overrides``: key -> figure; default the cluster's own
    ``maxima``), as one line each."""
    over = c.maxima if overrides is None else overrides
    out = []
    for m in MAXIMA:
        amount, where = m.of_cluster(c)
        limit = value_of(m.key, over)
        if amount > limit:
            fig = "set by the spec" if m.key in over else \
                (f"{m.product} {m.versions}" + (", a placeholder" if m.placeholder else ""))
            line = (f"{m.key}: {m.what}: {amount:,} at {where} > {limit:,} {m.unit} ({fig})"
                    + (f"; {m.note}" if m.note else ""))
            out.append(Crossed(m.key, amount, limit, where, line))
    return out


def crossing(key: str, args: dict, param: str, overrides: dict | None = None, top: int = 10**9):
    """The smallest value of ``param`` (the other generator arguments as in ``args``) at which
    the maximum is crossed: an int; None when it is not crossed up to ``top`` (or its amount
    does not grow with ``param``); 0 when it is crossed whatever the value."""
    m = BY_KEY[key]
    if m.of_shape is None:
        return None
    limit = value_of(key, overrides)

    def over(v):
        return m.of_shape({**args, param: v}) > limit

    if over(0):
        return 0
    if not over(top):
        return None
    lo, hi = 0, 1
    while not over(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # over(hi), not over(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if over(mid) else (mid, hi)
    return hi


def check_overrides(overrides: dict, path: str = "maxima") -> dict:
    """A spec's ``maxima`` checked: known keys, non-negative integers. Raises SpecError."""
    out = {}
    for k, v in (overrides or {}).items():
        if k not in BY_KEY:
            raise SpecError(f"{path}.{k}", f"unknown maximum: one of {', '.join(BY_KEY)}")
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise SpecError(f"{path}.{k}", f"{v!r} must be a non-negative integer")
        out[k] = v
    return out


__all__ = ["MAXIMA", "BY_KEY", "Maximum", "Crossed", "check", "crossing", "value_of", "check_overrides"]
