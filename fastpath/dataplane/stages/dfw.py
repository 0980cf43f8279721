"""The distributed firewall at a logical port: one classifier lookup names the decision.

Reference: `_Walk.dfw` / `_Walk.dfw_at_receiver`; semantics: `fastpath.model.firewall`. A packet
meets the DFW at its first port (the sender's after SpoofGuard; the receiver's for one from an
uplink), and again at the receiver's when the receiver's table holds NetworkPolicy
(``dfw_table_policy``: its pod is isolated in the direction it sees the connection).

One evaluation: the port's table for the side it is on (`fastpath.tables.ports.port_dfw_table`:
egress when the port is the connection's source, ingress when its destination; a reply swaps
them, since its connection's source is its destination), keyed on the remote address, the
protocol and the connection's destination port (a reply's source port), is one classifier
lookup (`fastpath.tables.classifier`). Its row names the decision; a NetworkPolicy decision
with the remote = the port's own node or itself reads ``local`` (Kubernetes: a pod and its
node always talk, and a pod can always reach itself). The decision goes to ``dfw_at_src`` / ``dfw_at_dst``.

Drops: ``dfw-deny``, at the port. Counter: ``dfw`` (in = evaluations; hit = decided by a rule,
a policy or an isolation; miss = the default).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.classifier import classify_view
from ...tables.ports import port_dfw_table, port_ip, port_node
from ..trace import T_DFW
from .common import K_EDGE, K_PORT, K_UPLINK, R_DFW, S_DFW, drop, flush, note, rec


@kernel(inline="always")
def admin_scan(dp, o_src, o_dst, proto, dport):
    """The first admin rule matching a connection (its decision id), or -1: the linear scan a
    frame whose local address is not its port's takes (`fastpath.compile.dfw`)."""
    ports = proto == 6 or proto == 17 or proto == 132
    for k in range(dp.dfw_admin_proto.shape[0]):
        if (o_src & dp.dfw_admin_src_mask[k]) != dp.dfw_admin_src_net[k]:
            continue
        if (o_dst & dp.dfw_admin_dst_mask[k]) != dp.dfw_admin_dst_net[k]:
            continue
        rp = dp.dfw_admin_proto[k]
        if rp != 0 and rp != proto:
            continue
        lo = dp.dfw_admin_lo[k]
        hi = dp.dfw_admin_hi[k]
        if ports:
            if dport < lo or dport > hi:
                continue
        elif lo != 0 or hi != 65535:
            continue
        return np.int64(k)
    return np.int64(-1)


@kernel(inline="always")
def dfw_decide(b, dp, i, lp, at_source):
    """(decision, table) of packet i at logical port ``lp``, the sender's (``at_source``) or
    the receiver's."""
    reply = b.reply[i] != 0
    t = port_dfw_table(dp.port_rec, lp, at_source == reply)
    src = np.uint32(b.src_ip[i])
    dst = np.uint32(b.dst_ip[i])
    remote = dst if at_source else src
    local = src if at_source else dst
    proto = np.int64(b.proto[i])
    l4 = np.int64(b.sport[i]) if reply else np.int64(b.dport[i])
    dec = np.int64(-1)
    if local == port_ip(dp.port_rec, lp):
        dec = np.int64(dp.dfw_table_const[t])  # a table of one catch-all row: its decision, no lookup
    else:  # a frame switched by MAC to a port not its address's
        dec = admin_scan(dp, dst, src, proto, l4) if reply else admin_scan(dp, src, dst, proto, l4)
        t = np.int64(dp.dfw_table_twin[t])
    if dec < 0:
        row = classify_view(dp, t, remote, proto, l4)
        dec = np.int64(dp.dfw_local) + 1  # the default (every table ends with it)
        if row >= 0:
            dec = np.int64(dp.dfw_row_decision[row])
    if dec >= dp.dfw_n_admin and dec < dp.dfw_local and lp < dp.n_pods:
        if remote == port_ip(dp.port_rec, lp) or remote == port_ip(dp.port_rec, dp.n_pods + port_node(dp.port_rec, lp)):
            dec = np.int64(dp.dfw_local)
    return dec, t


@kernel(inline="always")
def dfw_apply(dp, o, i, lp, at_source, dec, slot, tr, tl):
    """Record decision ``dec`` of packet i at port ``lp``; returns whether it passes."""
    if at_source:
        o.dfw_at_src[i] = dec
    else:
        o.dfw_at_dst[i] = dec
    if slot >= 0:
        rec(tr, tl, slot, K_PORT, lp, T_DFW, np.int64(o.ttl_out[i]))
    ok = dp.dfw_decision_allow[dec] != 0
    if not ok:
        drop(o, i, R_DFW, K_PORT, lp)
    return ok


@kernel(inline="always")
def dfw_one(b, dp, o, i, lp, at_source, slot, tr, tl):
    """Packet i at logical port ``lp``. Returns (passes, the decision)."""
    dec, t = dfw_decide(b, dp, i, lp, at_source)
    return dfw_apply(dp, o, i, lp, at_source, dec, slot, tr, tl), dec


@kernel(inline="always")
def dfw_at_receiver(b, dp, i, lp):
    """Whether packet i meets the DFW at the receiver's port ``lp``: it came in through an
    uplink (its first DFW), or the receiver's table holds NetworkPolicy."""
    if b.ingress_kind[i] == K_UPLINK or (b.ingress_kind[i] == K_EDGE and b.src_mac[i] == 0):
        return True  # (handed to a router: ``src_mac`` says whether the sender's DFW judged it)
    t = port_dfw_table(dp.port_rec, lp, b.reply[i] == 0)
    return dp.dfw_table_policy[t] != 0


@kernel(inline="always")
def tally(cn, side, dec, last, run):
    """The decision counts, run-length: a run of ``run`` packets decided ``last`` is added when
    decision ``dec`` ends it (and the last run by `tally_end`).
    Traffic repeats decisions, and one counter bumped per packet would chain every packet
    through the same memory word. Returns the new (last, run)."""
    if dec != last:
        if run:
            cn.dfw[0, last, side] += run
        return dec, 1
    return last, run + 1


@kernel(inline="always")
def tally_end(cn, side, last, run):
    """The last run of `tally`, added at the end of a loop."""
    if run:
        cn.dfw[0, last, side] += run


@kernel(inline="always")
def dfw_step(b, dp, o, cn, i, k, lp, at_receiver, slot, tr, tl, rc, last, run, d_in, d_hit):
    """`dfw_one` at port ``lp`` and its accounting: the decision counts (`tally`'s run), the
    stage's counts (hit = a rule matched) and, with a recipe ``rc``, its note. Returns
    (passes, last, run, d_in, d_hit)."""
    ok, dec = dfw_one(b, dp, o, i, lp, not at_receiver, slot, tr, tl)
    last, run = tally(cn, 1 if at_receiver else 0, dec, last, run)
    matched = dec != dp.dfw_local + 1
    if rc is not None:
        note(rc, k, S_DFW, matched)
    return ok, last, run, d_in + 1, d_hit + matched


@kernel
def dfw(b, dp, o, cn, base, vin, n, ports, vout, at_receiver, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` at logical port ``ports[slot]``; survivors to ``vout`` (may be ``vin``:
    compacted in place). ``at_receiver``: the receiver's port, where only packets
    `dfw_at_receiver` selects meet the DFW; the others pass. Returns the survivors."""
    out = d_in = d_hit = 0
    side = 1 if at_receiver else 0
    last, run = np.int64(-1), 0  # (`tally`)
    for j in range(n):
        k = vin[j]
        i = base + k
        lp = np.int64(ports[k])
        if at_receiver and not dfw_at_receiver(b, dp, i, lp):
            vout[out] = k
            out += 1
            continue
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, last, run, d_in, d_hit = dfw_step(b, dp, o, cn, i, k, lp, at_receiver, slot, tr, tl, rc, last, run,
                                              d_in, d_hit)
        if ok:
            vout[out] = k
            out += 1
    tally_end(cn, side, last, run)
    flush(cn.stages, S_DFW, d_in, d_hit)
    return out
