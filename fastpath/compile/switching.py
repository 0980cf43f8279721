"""The L2 exact tables: OVS MAC table, VIF ports, segment MAC tables, neighbor (ARP) tables.

The OVS MAC, VIF and segment L2 tables are plain exact tables (`fastpath.tables.exact`) whose
keys and special values are defined here, next to their one builder: `OVS_VLAN_BITS`,
`OVS_UPLINK`, `L2_ROUTER`. The neighbor tables have a layout of their own (dense arrays and a
hash), so they have a module of their own, `fastpath.tables.neighbor`, called from here.

Keys come straight from the port columns (`compile_ports`), so a table is a few numpy
concatenations and one `exact.build`. Every key is unique by construction of a valid cluster
(VLANs unique per node, MACs and IPs unique per segment); the builder still rejects a
duplicate, and the error names the table.
"""

from __future__ import annotations

import numpy as np

from ..model.cluster import Cluster
from ..tables import exact, neighbor

COMPILE_MAX_LOAD = 0.9
"""Load of the per-pod exact tables: 16 / 0.9 = 17.8 bytes a slot per entry."""
OVS_VLAN_BITS = 12
"""ovs_mac key word 0 is ``node << OVS_VLAN_BITS | vlan``."""
OVS_UPLINK = -2
"""ovs_mac value: send out of the bridge's uplink to the node VIF (the router MAC)."""
L2_ROUTER = -2
"""segment_l2 value: the destination is the segment's router port (the router MAC)."""
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
    try:
        nt = neighbor.build(np.array([int(s.subnet.network_address) for s in c.segments], np.uint32),
                            np.array([s.subnet.num_addresses for s in c.segments], np.int64),
                            ports["port_segment"], ports["port_ip"], max_load=COMPILE_MAX_LOAD)
    except ValueError as exc:
        raise ValueError(f"neighbor: {exc}") from None
    return {"ovs_mac": ovs_mac, "vif": vif, "segment_l2": segment_l2, **nt._asdict(),
            "router_mac": int(c.settings.router_mac)}
