"""The L2 exact tables: OVS MAC table, VIF ports, segment MAC tables, neighbor (ARP) tables.

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

NODE_LIMIT = 1 << (32 - OVS_VLAN_BITS)
"""ovs_mac keys hold ``node << 12 | vlan`` in 32 bits: at most 2**20 nodes."""


def _build(name: str, k0, k1, values) -> exact.ExactTable:
    try:
        return exact.build(k0, k1, values, max_load=COMPILE_MAX_LOAD)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def compile_switching(c: Cluster, ports: dict[str, np.ndarray]) -> dict[str, exact.ExactTable]:
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
    neighbor = _build("neighbor", seg, ports["port_ip"], port_rows)
    return {"ovs_mac": ovs_mac, "vif": vif, "segment_l2": segment_l2, "neighbor": neighbor}
