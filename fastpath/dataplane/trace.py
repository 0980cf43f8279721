"""Trace records: what the fast path writes for a sampled packet, hop by hop.

A record is four int32: ``(device kind, device id, table, ttl)``, the same four facts as a
reference `Hop` (``device`` as an id, ``kind``, ``table``, ``ttl``). Tables are coded by
`TABLES`, whose names are the reference's table strings, so the two traces compare field by
field. Tracing is a flag on the pipeline: off, every packet's slot is -1 and the only cost is
one predictable branch per hop.
"""

from __future__ import annotations

import numpy as np

from ..verdicts import TRACE_TABLES as TABLES
TABLE_CODE = {name: i for i, name in enumerate(TABLES)}

(T_NONE, T_SANITY, T_LOCAL, T_ARP, T_ROUTE, T_OVS_PORT, T_OVS_MAC, T_VIF, T_SPOOFGUARD, T_DFW,
 T_SEGMENT_L2, T_NEIGHBOR, T_MTU, T_TEP, T_PORT, T_UPLINK, T_SERVICE, T_CONNTRACK, T_SNAT, T_LB) = range(len(TABLES))

MAX_HOPS = 64
"""Records kept per traced packet (the longest walk of a valid cluster has ~30)."""


def insert_record(recs: np.ndarray, lens: np.ndarray, k: int, at: int, record) -> None:
    """Insert ``record`` at position ``at`` of traced packet k's records (for the steps taken
    outside the engines: the service stage, SNAT); dropped when the trace is full."""
    m = int(lens[k])
    if m >= recs.shape[1] or at > m:
        return
    recs[k, at + 1: m + 1] = recs[k, at:m].copy()
    recs[k, at] = record
    lens[k] = m + 1
