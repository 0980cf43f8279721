"""SNAT on the T0's service router: a namespace's pods leave north-south from its SNAT IP.

Reference: `_Walk.snat`, `_Walk.unsnat`. The table (each namespace's SNAT IP, the T0 SR's id) is
`fastpath.tables.snat`, compiled into `Tables.snat`.

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

import numpy as np

from ..packets import INGRESS_POD, INGRESS_UPLINK, PacketBatch, Results
from ..tables.snat import SnatTable, ip_of
from ..verdicts import DeviceKind, Verdict
from .trace import T_NONE, T_SNAT, insert_record

K_EDGE, K_UPLINK = int(DeviceKind.EDGE), int(DeviceKind.UPLINK)


def snat_rows(t: SnatTable, b: PacketBatch, r: Results) -> tuple[np.ndarray, np.ndarray]:
    """(bool[n] translated on the way out, bool[n] un-translated on the way in): see the module
    docstring."""
    src, dst = ip_of(t, b.src_ip), ip_of(t, b.dst_ip)
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
