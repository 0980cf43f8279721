"""Synthetic clusters of any size, deterministic from a seed.

Everything is allocated as numpy columns and then validated like a spec, so a generated
cluster obeys the same rules as a hand-written one. Layout:

- host h carries nodes ``h*nodes_per_host ..``; edges are extra hosts ``edge-1..``;
- node n carries pods ``n*pods_per_node ..`` with VLAN tags 1, 2, ... in order;
- namespaces: ``spread`` draws each pod's namespace uniformly (seeded), so a namespace is on
  many nodes; ``packed`` gives each namespace a contiguous block of pods (few nodes each);
- namespace k gets the k-th subnet of the pod CIDR, sized to its largest namespace;
- pod IPs count up from ``.2`` of its subnet in pod order, names ``ns-k/pod-0, pod-1, ..`` in
  the same order; pod MACs are 02:00:00:.. + row.

1,000 hosts x 4 nodes x 250 pods (1M pods, 200 namespaces) builds in a few seconds.
"""

from __future__ import annotations

import ipaddress
import math

import numpy as np

from ..limits import MAX_SEED, cluster_size_problem
from .addressing import NODE_MAC_BASE, POD_MAC_BASE
from .cluster import (IPV4_MIN_MTU, Cluster, DfwRule, Host, Node, PodTable, Router, Segment, Settings, SpecError,
                      StaticRoute, Uplink)
from .validate import validate


def _prefix_for(n_addresses: int, longest: int) -> int:
    """Shortest-needed prefix holding n usable addresses (+ network, gateway, broadcast)."""
    bits = max(2, math.ceil(math.log2(n_addresses + 3)))
    return min(longest, 32 - bits)


def generate(
    hosts: int = 3,
    nodes_per_host: int = 2,
    namespaces: int = 4,
    pods_per_node: int = 10,
    *,
    placement: str = "spread",
    edges: int = 1,
    service_t1_fraction: float = 0.0,
    service_t1_count: int | None = None,
    dfw_rules: int = 0,
    mtu: int | tuple[int, ...] = 1600,
    default_route: bool = True,
    max_pods: int | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Cluster:
    """Build a synthetic cluster; raises `SpecError` (field path = the argument) when it can't.

    ``mtu`` may be a tuple: host i (edges after the transport nodes) gets ``mtu[i % len]``.
    ``default_route=False`` leaves the T0 without its 0/0 static route: traffic to the
    outside then ends ``no-route`` at the T0. Service T1s: ``service_t1_count`` namespaces' T1s
    get a service router (round robin over the edges), else ``round(service_t1_fraction *
    namespaces)``; which ones is a seeded order of the namespaces of its own, so the set does
    not change with the pods (a study over pods per node keeps its SRs) and a smaller set is
    part of a larger one. With two edges or more every SR is an active/standby pair (NSX's
    placement on an edge cluster): a T1's standby is the edge after its active, the T0 runs on
    edge-1 with edge-2 standing by."""
    problem = cluster_size_problem(hosts, nodes_per_host, namespaces, pods_per_node, edges, dfw_rules)
    if problem is not None:  # before anything is allocated (fastpath.limits says why these bounds)
        raise SpecError(*problem)
    if isinstance(service_t1_fraction, bool) or not 0.0 <= float(service_t1_fraction) <= 1.0:  # nan fails too
        raise SpecError("service_t1_fraction", f"{service_t1_fraction!r} must be a fraction in [0, 1]")
    if service_t1_count is not None and (isinstance(service_t1_count, bool) or not isinstance(
            service_t1_count, (int, np.integer)) or not 0 <= service_t1_count <= namespaces):
        raise SpecError("service_t1_count", f"{service_t1_count!r} must be an integer in 0..{namespaces} (namespaces)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise SpecError("seed", f"{seed!r} must be an integer in 0..{MAX_SEED}")
    if max_pods is not None and max_pods < 1:
        raise SpecError("max_pods", f"{max_pods} must be at least 1")
    if placement not in ("spread", "packed"):
        raise SpecError("placement", f"{placement!r} must be 'spread' or 'packed'")
    st = Settings()
    tags = st.vlan_max - st.vlan_min + 1
    if pods_per_node > tags:
        raise SpecError("pods_per_node", f"{pods_per_node} pods on a node need more than the {tags} VLAN tags "
                        f"({st.vlan_min}..{st.vlan_max})")
    if max_pods is not None and max_pods < pods_per_node:
        raise SpecError("max_pods", f"{max_pods} is less than pods_per_node {pods_per_node}")
    if namespaces + 1 > st.link_cidr.num_addresses // 2:
        raise SpecError("namespaces", f"{namespaces} namespaces need {namespaces + 1} router links, the link CIDR "
                        f"{st.link_cidr} has {st.link_cidr.num_addresses // 2}")
    mtus = tuple(mtu) if isinstance(mtu, (tuple, list)) else (mtu,)
    if not mtus:
        raise SpecError("mtu", "give at least one MTU")
    for m in mtus:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise SpecError("mtu", f"{m!r} must be an integer")
        if not IPV4_MIN_MTU + st.geneve_overhead <= m <= 65535:
            raise SpecError("mtu", f"{m} must be in {IPV4_MIN_MTU + st.geneve_overhead}..65535 "
                            f"({IPV4_MIN_MTU}-byte IPv4 minimum + {st.geneve_overhead} Geneve overhead)")
    rng = np.random.default_rng(seed)
    n_nodes = hosts * nodes_per_host
    P = n_nodes * pods_per_node

    # pods: node by fill order, namespace by placement
    pod_node = np.repeat(np.arange(n_nodes, dtype=np.int32), pods_per_node)
    if placement == "spread":
        pod_ns = rng.integers(0, namespaces, P, dtype=np.int32)
    else:
        pod_ns = (np.arange(P, dtype=np.int64) * namespaces // max(P, 1)).astype(np.int32)
    vlan = (np.arange(P, dtype=np.int64) % max(pods_per_node, 1) + 1).astype(np.uint16)

    # namespace subnets: equal size, cut in order from the pod CIDR
    per_ns = np.bincount(pod_ns, minlength=namespaces)
    ns_prefix = _prefix_for(int(per_ns.max()) if P else 1, 24)
    pod_cidr = ipaddress.IPv4Network("10.0.0.0/8")
    size = 1 << (32 - ns_prefix)
    if namespaces * size > pod_cidr.num_addresses:
        raise SpecError("namespaces", f"{namespaces} namespaces of /{ns_prefix} do not fit the pod CIDR {pod_cidr}")
    base = int(pod_cidr.network_address)
    order = np.argsort(pod_ns, kind="stable")
    starts = np.concatenate([[0], np.cumsum(per_ns)[:-1]])
    rank = np.empty(P, np.int64)
    rank[order] = np.arange(P) - np.repeat(starts, per_ns)
    pod_ip = (base + pod_ns.astype(np.int64) * size + 2 + rank).astype(np.uint32)
    pod_mac = POD_MAC_BASE + 1 + np.arange(P, dtype=np.uint64)
    names = [f"pod-{r}" for r in rank.tolist()]  # ns-k/pod-0 .. ns-k/pod-(count-1)

    # hosts, edges, nodes
    settings = Settings(name=name or f"gen-{hosts}x{nodes_per_host}x{pods_per_node}-s{seed}", pod_cidr=pod_cidr,
                        namespace_prefix=ns_prefix, default_max_pods=110,
                        tep_cidr=ipaddress.IPv4Network("192.168.0.0/16"))
    tep0 = int(settings.tep_cidr.network_address) + 11
    host_list = [Host(f"esx-{h + 1}", tep0 + h, mtus[h % len(mtus)]) for h in range(hosts)]
    host_list += [Host(f"edge-{e + 1}", tep0 + hosts + e, mtus[(hosts + e) % len(mtus)], edge=True)
                  for e in range(edges)]
    node_prefix = _prefix_for(n_nodes, 24)
    node_net = ipaddress.IPv4Network((int(ipaddress.IPv4Address("172.15.0.0")) & ~((1 << (32 - node_prefix)) - 1), node_prefix))
    nb = int(node_net.network_address) + 2
    mp = max_pods if max_pods is not None else max(settings.default_max_pods, pods_per_node)
    node_list = [Node(f"node-{n + 1}", "worker", f"esx-{n // nodes_per_host + 1}", nb + n, NODE_MAC_BASE + 1 + n, mp)
                 for n in range(n_nodes)]

    # routers: node T1 first, then one T1 per namespace; some with a service router
    vni = settings.vni_base
    link = int(settings.link_cidr.network_address)
    edge_names = [f"edge-{e + 1}" for e in range(edges)]
    k_sr = service_t1_count if service_t1_count is not None else round(float(service_t1_fraction) * namespaces)
    with_sr = np.zeros(namespaces, bool)
    if edges:  # (its own generator: the pods' draws do not move it)
        with_sr[np.random.default_rng([seed, 1]).permutation(namespaces)[:k_sr]] = True
    t1s = [Router("t1-nodes", "t1", None, link, link + 1)]
    segs = []
    for k in range(namespaces):
        edge = edge_names[k % edges] if with_sr[k] else None
        standby = edge_names[(k + 1) % edges] if with_sr[k] and edges > 1 else None
        t1s.append(Router(f"t1-ns-{k}", "t1", edge, link + 2 * (k + 1), link + 2 * (k + 1) + 1, None, standby))
        segs.append(Segment(f"ls-ns-{k}", ipaddress.IPv4Network((base + k * size, ns_prefix)), vni + 1 + k,
                            f"t1-ns-{k}", f"ns-{k}"))
    node_seg = Segment("ls-nodes", node_net, vni, "t1-nodes", None)
    nxt = vni + 1 + namespaces
    t1s = [Router(r.name, r.kind, r.edge, r.link_t0_ip, r.link_t1_ip, (nxt := nxt + 1) - 1 if r.edge else None,
                  r.standby) for r in t1s]
    t0 = Router("t0", "t0", edge_names[0] if edges else None, transit_vni=nxt if edges else None,
                standby=edge_names[1] if edges > 1 else None)
    up_ip = int(ipaddress.IPv4Address("203.0.113.2"))
    uplinks = [Uplink("uplink-1", up_ip, 24, up_ip - 1)]
    routes = [StaticRoute(ipaddress.IPv4Network("0.0.0.0/0"), up_ip - 1)] if default_route else []

    rules = []
    for r in range(dfw_rules):
        a, b = rng.integers(0, namespaces, 2)
        proto = int(rng.choice([0, 6, 17]))
        port = int(rng.integers(1, 65536))
        rules.append(DfwRule(f"rule-{r}", "deny" if rng.random() < 0.5 else "allow", segs[a].subnet, segs[b].subnet,
                             proto, *(sorted((port, min(65535, port + int(rng.integers(0, 100))))) if proto else (0, 65535))))

    pods = PodTable(names, pod_ns, pod_node, pod_ip, pod_mac, vlan, None,
                    ns_names=[s.namespace for s in segs], node_names=[n.name for n in node_list])
    cluster = Cluster(settings, host_list, node_list, node_seg, segs, pods, t1s, t0, uplinks, routes, rules, "allow")
    return validate(cluster)
