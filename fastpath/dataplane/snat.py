"""SNAT on the T0's service router: a namespace's pods leave north-south from its SNAT IP.

Reference: `_Walk.snat`, `_Walk.unsnat` (`fastpath.model.spec` allocates the addresses from
``t0.snat_pool``, NCP's external IP pool: one a namespace).

The rewrite changes no forwarding decision — it happens at the last router before the uplink,
and a reply's reverse rewrite happens at the first one, before it routes — so the engines never
carry it. It shows where a user looks: the trace (a ``snat`` hop at the T0 SR, here added to
the engines' records where the reference puts it) and the edge capture (`fastpath.wire.observe`:
an exiting pod's frame leaves from the SNAT IP, a reply arrives for it).

Which packets: a pod's original (not a reply) that exits through an uplink, from a namespace with
an SNAT IP; and a reply entering from an uplink to such a pod. A reply leaving (the answer of a
connection opened from outside) keeps its address, as NSX applies SNAT to new outbound sessions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model.cluster import Cluster, sr_name
from ..model.routing import rib
from ..packets import INGRESS_POD, INGRESS_UPLINK, PacketBatch, Results
from ..verdicts import DeviceKind, Verdict
from .trace import T_NONE, T_SNAT, insert_record

K_EDGE, K_UPLINK = int(DeviceKind.EDGE), int(DeviceKind.UPLINK)


class SnatTable(NamedTuple):
    start: np.ndarray  # uint32[K]: subnet network addresses, sorted (namespace subnets never overlap)
    mask: np.ndarray  # uint32[K]
    ip: np.ndarray  # uint32[K]: the namespace's SNAT IP
    namespace: np.ndarray  # int64[K]: the namespace's index in `Cluster.namespaces`
    sr: int  # router instance id of the T0's SR (-1: none)


def snat_table(c: Cluster) -> SnatTable:
    """The cluster's SNAT table, built once and kept on it (a cluster is immutable). Router
    instance ids are the RIB's order, as the compiled tables number them."""
    if "_snat_table" not in c.__dict__:
        segs = sorted((int(s.subnet.network_address), int(s.subnet.netmask), s.snat_ip, k)
                      for k, s in enumerate(c.namespaces) if s.snat_ip is not None)
        cols = [np.array([x[j] for x in segs], np.uint32) for j in range(3)]
        names = list(rib(c))
        sr = sr_name(c.t0.name)
        c.__dict__["_snat_table"] = SnatTable(*cols, np.array([x[3] for x in segs], np.int64),
                                              names.index(sr) if sr in names else -1)
    return c.__dict__["_snat_table"]


def snat_slot(t: SnatTable, ips: np.ndarray) -> np.ndarray:
    """int64[n]: the row of the SNAT namespace holding each address; -1 where none."""
    if t.start.size == 0:
        return np.full(ips.shape, -1, np.int64)
    k = np.maximum(np.searchsorted(t.start, ips, side="right") - 1, 0)
    return np.where((ips & t.mask[k]) == t.start[k], k, -1)


def snat_ip_of(t: SnatTable, ips: np.ndarray) -> np.ndarray:
    """uint32[n]: the SNAT IP of the namespace holding each address; 0 where none."""
    k = snat_slot(t, ips)
    return np.where(k >= 0, t.ip[np.maximum(k, 0)] if t.ip.size else 0, 0).astype(np.uint32)


def snat_rows(t: SnatTable, b: PacketBatch, r: Results) -> tuple[np.ndarray, np.ndarray]:
    """(bool[n] translated on the way out, bool[n] un-translated on the way in) and, by
    `snat_ip_of`, the addresses: see the module docstring."""
    src, dst = snat_ip_of(t, b.src_ip), snat_ip_of(t, b.dst_ip)
    out = (b.ingress_kind == INGRESS_POD) & (b.reply == 0) & (r.verdict == Verdict.EXITED) & (src != 0)
    into = (b.ingress_kind == INGRESS_UPLINK) & (b.reply != 0) & (dst != 0)
    return out, into


def snat_trace(t: SnatTable, b: PacketBatch, r: Results, picks: np.ndarray, recs: np.ndarray,
               lens: np.ndarray) -> None:
    """The ``snat`` hops of traced packets where the reference puts them: before the uplink's
    last record on the way out; after the uplink's first (when the packet got past the uplink's
    checks) on the way in."""
    if t.start.size == 0 or not picks.size:
        return
    sub = PacketBatch(*(a[picks] for a in b))
    out, into = snat_rows(t, sub, Results(*(a[picks] for a in r)))
    for k in np.flatnonzero(out | into).tolist():
        m = int(lens[k])
        if out[k] and m and recs[k, m - 1, 0] == K_UPLINK:
            insert_record(recs, lens, k, m - 1, (K_EDGE, t.sr, T_SNAT, recs[k, m - 1, 3]))
        elif into[k] and m and recs[k, 0, 0] == K_UPLINK and recs[k, 0, 2] == T_NONE:
            insert_record(recs, lens, k, 1, (K_EDGE, t.sr, T_SNAT, recs[k, 0, 3]))
