"""Logical ports, nodes and hosts: pods ``0..P-1``, then nodes ``P..P+N-1``.

`compile_ports` builds the port columns (vectorised over the pod table); `pack_ports` packs
them into one 32-byte record per port, the form the bundle keeps. The record's layout, its
packing and every decoder live in `fastpath.tables.ports`, the one module that knows its bits;
this module only maps the model onto columns.
"""

from __future__ import annotations

import numpy as np

from ..model.cluster import Cluster
from ..tables import ports as port_table
from ..tables.ports import PORT_NODE, PORT_POD


def compile_ports(c: Cluster) -> dict[str, np.ndarray]:
    p = c.pods
    n_pods, n_nodes = len(p), len(c.nodes)
    node_host = np.array([c.host_index[n.host] for n in c.nodes], dtype=np.int32)

    def both(pod_col, node_col, dtype) -> np.ndarray:
        out = np.empty(n_pods + n_nodes, dtype)
        out[:n_pods] = pod_col
        out[n_pods:] = node_col
        return out

    port_node = both(p.node, np.arange(n_nodes), np.int32)
    return {
        "port_kind": both(PORT_POD, PORT_NODE, np.uint8),
        "port_node": port_node,
        "port_host": node_host[port_node] if n_nodes else np.zeros(n_pods, np.int32),
        "port_segment": both(p.namespace + 1, 0, np.int32),  # segment 0 = node segment
        "port_ip": both(p.ip, np.array([n.ip for n in c.nodes], np.uint32), np.uint32),
        "port_mac": both(p.mac, np.array([n.mac for n in c.nodes], np.uint64), np.uint64),
        "port_vlan": both(p.vlan, 0, np.uint16),
        "node_host": node_host,
        "host_tep": np.array([h.tep for h in c.hosts], dtype=np.uint32),
        "host_mtu": np.array([h.mtu for h in c.hosts], dtype=np.int32),
        "host_is_edge": np.array([h.edge for h in c.hosts], dtype=bool),
        "geneve_overhead": int(c.settings.geneve_overhead),
    }


def pack_ports(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Port columns -> ``uint64[P+N, 4]`` records (`fastpath.tables.ports.pack`)."""
    return port_table.pack(cols)
