"""The SNAT table: each namespace's SNAT IP on the T0's service router.

Layout (K namespaces with an SNAT IP)
-------------------------------------
::

    start:     uint32[K] — the namespace's subnet network address, ascending (namespace
                           subnets never overlap, so a sorted search finds the one holding an address)
    mask:      uint32[K] — its netmask
    ip:        uint32[K] — its SNAT IP (`fastpath.model.spec` allocates them from ``t0.snat_pool``,
                           NCP's external IP pool: one a namespace)
    namespace: int64[K]  — its index in `Cluster.namespaces`
    sr:        int       — the router instance id of the T0's SR, in the compiled tables' numbering
                           (`fastpath.compile.routers`: the RIB's order); -1 when the T0 has none

Built by `fastpath.compile` into `Tables.snat`; which packets are translated, and where a trace
shows it, is the data plane's (`fastpath.dataplane.snat`).

API: `build` (from the cluster and the compiled router names), `slot` and `ip_of` (vectorised
lookups by address).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model.cluster import sr_name


class SnatTable(NamedTuple):
    start: np.ndarray
    mask: np.ndarray
    ip: np.ndarray
    namespace: np.ndarray
    sr: int


def build(cluster, router_names) -> SnatTable:
    """The SNAT table of ``cluster``; ``router_names``: the compiled router instances' names in
    id order (`Tables.router_names`), where the T0's SR is looked up."""
    rows = sorted((int(s.subnet.network_address), int(s.subnet.netmask), s.snat_ip, k)
                  for k, s in enumerate(cluster.namespaces) if s.snat_ip is not None)
    cols = [np.array([x[j] for x in rows], np.uint32) for j in range(3)]
    names = list(router_names)
    sr = sr_name(cluster.t0.name)
    return SnatTable(*cols, np.array([x[3] for x in rows], np.int64), names.index(sr) if sr in names else -1)


def slot(t: SnatTable, ips: np.ndarray) -> np.ndarray:
    """int64[n]: the row of the SNAT namespace holding each address; -1 where none."""
    if t.start.size == 0:
        return np.full(ips.shape, -1, np.int64)
    k = np.maximum(np.searchsorted(t.start, ips, side="right") - 1, 0)
    return np.where((ips & t.mask[k]) == t.start[k], k, -1)


def ip_of(t: SnatTable, ips: np.ndarray) -> np.ndarray:
    """uint32[n]: the SNAT IP of the namespace holding each address; 0 where none."""
    k = slot(t, ips)
    return np.where(k >= 0, t.ip[np.maximum(k, 0)] if t.ip.size else 0, 0).astype(np.uint32)
