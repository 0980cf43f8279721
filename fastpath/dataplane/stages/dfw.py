"""The distributed firewall at a logical port: the first matching rule decides, else the default.

Reference: `_Walk.dfw`. It runs once per packet: at the source port for a packet a pod or node
sends (after SpoofGuard), at the destination port for one that came in from an uplink. The
rules' layout and their lookup are `fastpath.tables.dfw`'s.

Drops: ``dfw-deny``, at the port. Counter: ``dfw`` (hit = a rule matched, miss = the default).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.dfw import first_match
from ..trace import T_DFW
from .common import K_PORT, K_UPLINK, R_DFW, S_DFW, drop, flush, note, rec


@kernel(inline="always")
def dfw_verdict(dp, src_ip, dst_ip, proto, dport):
    """(deny, a rule matched) for one packet."""
    return first_match(dp.dfw_src_net, dp.dfw_src_mask, dp.dfw_dst_net, dp.dfw_dst_mask, dp.dfw_proto,
                       dp.dfw_dport_lo, dp.dfw_dport_hi, dp.dfw_action, dp.dfw_default, src_ip, dst_ip, proto, dport)


@kernel(inline="always")
def dfw_one(b, dp, o, i, lp, slot, tr, tl):
    """Packet i at logical port ``lp``. Returns (passes, a rule matched)."""
    deny, matched = dfw_verdict(dp, np.uint32(b.src_ip[i]), np.uint32(b.dst_ip[i]), np.int64(b.proto[i]),
                                np.int64(b.dport[i]))
    if slot >= 0:
        rec(tr, tl, slot, K_PORT, lp, T_DFW, np.int64(o.ttl_out[i]))
    if deny:
        drop(o, i, R_DFW, K_PORT, lp)
    return not deny, matched


@kernel
def dfw(b, dp, o, cn, base, vin, n, ports, vout, from_uplink_only, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` at logical port ``ports[slot]``; survivors to ``vout`` (may be ``vin``:
    compacted in place). ``from_uplink_only``: the destination side, where only packets from an
    uplink meet the DFW (the rest met it at their source); the others pass. Returns the survivors."""
    out = d_in = d_hit = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        if from_uplink_only and b.ingress_kind[i] != K_UPLINK:
            vout[out] = k
            out += 1
            continue
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, matched = dfw_one(b, dp, o, i, np.int64(ports[k]), slot, tr, tl)
        d_in += 1
        d_hit += matched
        if rc is not None:
            note(rc, k, S_DFW, matched)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_DFW, d_in, d_hit)
    return out
