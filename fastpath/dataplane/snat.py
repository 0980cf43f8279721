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
from ..packets import INGRESS_POD, INGRESS_UPLINK, PacketBatch, Results
from ..verdicts import DeviceKind, Verdict
from .trace import T_NONE, T_SNAT

K_EDGE, K_UPLINK = int(DeviceKind.EDGE), int(DeviceKind.UPLINK)


class SnatTable(NamedTuple):
    start: np.ndarray  # uint32[K]: subnet network addresses, sorted (namespace subnets never overlap)
    mask: np.ndarray  # uint32[K]
    ip: np.ndarray  # uint32[K]: the namespace's SNAT IP
    sr: int  # router instance id of the T0's SR (-1: none)


def snat_table(c: Cluster, router_names) -> SnatTable:
    segs = sorted((int(s.subnet.network_address), int(s.subnet.netmask), s.snat_ip)
                  for s in c.namespaces if s.snat_ip is not None)
    cols = [np.array([x[k] for x in segs], np.uint32) for k in range(3)]
    name = sr_name(c.t0.name)
    return SnatTable(*cols, list(router_names).index(name) if name in router_names else -1)


def snat_ip_of(t: SnatTable, ips: np.ndarray) -> np.ndarray:
    """uint32[n]: the SNAT IP of the namespace holding each address; 0 where none."""
    if t.start.size == 0:
        return np.zeros(ips.shape, np.uint32)
    k = np.maximum(np.searchsorted(t.start, ips, side="right") - 1, 0)
    return np.where((ips & t.mask[k]) == t.start[k], t.ip[k], 0).astype(np.uint32)


def snat_rows(t: SnatTable, b: PacketBatch, r: Results) -> tuple[np.ndarray, np.ndarray]:
    """(bool[n] translated on the way out, bool[n] un-translated on the way in) and, by
    `snat_ip_of`, the addresses: see the module docstring."""
    src, dst = snat_ip_of(t, b.src_ip), snat_ip_of(t, b.dst_ip)
    out = (b.ingress_kind == INGRESS_POD) & (b.reply == 0) & (r.verdict == Verdict.EXITED) & (src != 0)
    into = (b.ingress_kind == INGRESS_UPLINK) & (b.reply != 0) & (dst != 0)
    return out, into


def _insert(recs: np.ndarray, lens: np.ndarray, k: int, at: int, record) -> None:
    m = int(lens[k])
    if m >= recs.shape[1] or at > m:
        return
    recs[k, at + 1: m + 1] = recs[k, at:m].copy()
    recs[k, at] = record
    lens[k] = m + 1


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
            _insert(recs, lens, k, m - 1, (K_EDGE, t.sr, T_SNAT, recs[k, m - 1, 3]))
        elif into[k] and m and recs[k, 0, 0] == K_UPLINK and recs[k, 0, 2] == T_NONE:
            _insert(recs, lens, k, 1, (K_EDGE, t.sr, T_SNAT, recs[k, 0, 3]))
