"""The L2 exact tables: OVS MAC table, VIF ports, segment MAC tables, neighbor (ARP) tables.

Neighbor tables come in two forms. A segment whose subnet is dense with ports (at most
`DENSE_FACTOR` addresses per port, or at most `DENSE_MIN` addresses) gets a direct array:
``neighbor_dense[seg_nb_off[s] + (ip - seg_net[s])]`` is the port or -1 — one load instead of
a hash probe, and 4 bytes an address (a /19 of 5,000 pods: 6.5 bytes a pod, against 17.8 in
the hash). A sparse segment (a /16 of three pods) keeps its entries in the `neighbor` hash
table; ``seg_nb_off[s] == -1`` says which form a segment uses.

Keys come straight from the port columns (`compile_ports`), so a table is a few numpy
concatenations and one `exact.build`. Every key is unique by construction of a valid cluster
(VLANs unique per node, MACs and IPs unique per segment); the builder still rejects a
duplicate, and the error names the table.
"""

from __future__ import annotations

import numpy as np

from ..model.cluster import Cluster
from ..tables import exact
from .bundle import COMPILE_MAX_LOAD, L2_ROUTER, OVS_UPLINK, OVS_VLAN_BITS

DENSE_FACTOR = 8
DENSE_MIN = 1024
NODE_LIMIT = 1 << (32 - OVS_VLAN_BITS)
"""ovs_mac keys hold ``node << 12 | vlan`` in 32 bits: at most 2**20 nodes."""


def _build(name: str, k0, k1, values) -> exact.ExactTable:
    try:
        return exact.build(k0, k1, values, max_load=COMPILE_MAX_LOAD)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def compile_switching(c: Cluster, ports: dict[str, np.ndarray]) -> dict:
    n_pods = len(c.pods)
    n_ports = ports["port_kind"].shape[0]
    n_seg = len(c.segments)
    if len(c.nodes) > NODE_LIMIT:
        raise ValueError(f"{len(c.nodes)} nodes: the OVS MAC table holds at most {NODE_LIMIT}")
    router_mac = np.uint64(c.settings.router_mac)
    pod_rows = np.arange(n_pods, dtype=np.int64)
    port_rows = np.arange(n_ports, dtype=np.int64)

    node = ports["port_node"][:n_pods].astype(np.uint64)
    vlan = ports["port_vlan"][:n_pods].astype(np.uint64)
    ovs_port = (node << np.uint64(OVS_VLAN_BITS)) | vlan
    ovs_mac = _build("ovs_mac",
                     np.concatenate([ovs_port, ovs_port]),
                     np.concatenate([ports["port_mac"][:n_pods], np.full(n_pods, router_mac)]),
                     np.concatenate([pod_rows, np.full(n_pods, OVS_UPLINK, np.int64)]))
    vif = _build("vif", node, vlan, pod_rows)

    seg = ports["port_segment"].astype(np.uint64)
    segment_l2 = _build("segment_l2",
                        np.concatenate([seg, np.arange(n_seg, dtype=np.uint64)]),
                        np.concatenate([ports["port_mac"], np.full(n_seg, router_mac)]),
                        np.concatenate([port_rows, np.full(n_seg, L2_ROUTER, np.int64)]))
    # neighbor: dense arrays where subnets are dense, the hash for the rest
    per_seg = np.bincount(ports["port_segment"], minlength=n_seg)
    sizes = np.array([s.subnet.num_addresses for s in c.segments], np.int64)
    dense = (sizes <= DENSE_MIN) | (sizes <= DENSE_FACTOR * per_seg)
    off = np.where(dense, np.cumsum(np.where(dense, sizes, 0)) - sizes, -1).astype(np.int64)
    neighbor_dense = np.full(int(sizes[dense].sum()), -1, np.int32)
    pseg = ports["port_segment"]
    on_dense = dense[pseg]
    base = np.array([int(s.subnet.network_address) for s in c.segments], np.int64)
    slots = off[pseg[on_dense]] + (ports["port_ip"][on_dense].astype(np.int64) - base[pseg[on_dense]])
    neighbor_dense[slots] = port_rows[on_dense]
    sparse = ~on_dense
    neighbor = _build("neighbor", seg[sparse], ports["port_ip"][sparse], port_rows[sparse])
    return {"ovs_mac": ovs_mac, "vif": vif, "segment_l2": segment_l2, "neighbor": neighbor,
            "neighbor_dense": neighbor_dense, "seg_nb_off": off}
