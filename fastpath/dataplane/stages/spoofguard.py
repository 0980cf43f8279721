"""SpoofGuard on the logical port: a frame's source MAC and IP must be the port's own.

Reference: `_Walk.spoofguard`. Drops: ``spoofguard``, at the port. Counter: ``spoofguard``
(hit = passed).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.ports import port_ip, port_mac
from ..trace import T_SPOOFGUARD
from .common import K_PORT, R_SPOOF, S_SPOOF, drop, flush, note, rec


@kernel(inline="always")
def spoofguard_ok(dp, lp, src_mac, src_ip):
    return src_mac == port_mac(dp.port_rec, lp) and src_ip == port_ip(dp.port_rec, lp)


@kernel(inline="always")
def spoofguard_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k at its port ``s.lp``. Returns whether it passes."""
    lp = np.int64(s.lp[k])
    ok = spoofguard_ok(dp, lp, s.src_mac[k], np.uint32(b.src_ip[i]))
    if not ok:
        if slot >= 0:
            rec(tr, tl, slot, K_PORT, lp, T_SPOOFGUARD, np.int64(b.ttl[i]))
        drop(o, i, R_SPOOF, K_PORT, lp)
    return ok


@kernel(inline="always")
def spoofguard_step(b, dp, o, s, i, k, slot, tr, tl, rc):
    """`spoofguard_one` and, with a recipe ``rc``, its note (the stage counts every packet in
    and the ones passed: its caller's). Returns whether it passes."""
    ok = spoofguard_one(b, dp, o, s, i, k, slot, tr, tl)
    if rc is not None:
        note(rc, k, S_SPOOF, ok)
    return ok


@kernel
def spoofguard(b, dp, o, cn, s, base, vin, n, vout, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` at their port ``s.lp``; survivors to ``vout``. Returns their count."""
    out = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok = spoofguard_step(b, dp, o, s, i, k, slot, tr, tl, rc)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_SPOOF, n, out)
    return out
