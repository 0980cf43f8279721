"""The sender stack: the L3 decision in the sending pod's or node's own IP stack.

Reference: `_Walk.sender_stack`. A packet to the sender's own address is answered by its own
stack (delivered, no hop further). A frame built without a destination MAC gets one: ARP for an
on-link destination (suppressed, answered from the segment's neighbor table), else the
gateway's, which is the distributed router's MAC. A missing source MAC is the port's own.

Drops: ``no-neighbor`` (ARP unanswered), at the sender. Counter: ``arp`` (hit = answered).
Out: to the node's OVS (pod) or straight to the VIF (node).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.neighbor import neighbor, prefetch_neighbor
from ...tables.ports import port_ip, port_mac
from ..trace import T_ARP, T_LOCAL, T_NONE, T_ROUTE
from .common import R_NO_NEIGHBOR, S_ARP, V_DELIVERED, count_pass, flush, rec


@kernel(inline="always")
def on_link(dp, seg, ip):
    """``ip`` is on segment ``seg``'s subnet and is not its gateway: the sender ARPs for it."""
    return (ip & dp.seg_mask[seg]) == dp.seg_net[seg] and ip != dp.seg_gateway[seg]


@kernel(inline="always")
def hint_arp(b, dp, s, base, k):
    seg = np.int64(s.seg[k])
    ip = np.uint32(b.dst_ip[base + k])
    if b.dst_mac[base + k] == 0 and on_link(dp, seg, ip):
        prefetch_neighbor(dp, seg, ip)


@kernel(inline="always")
def sender_stack_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k. Returns (passes on, ARP asked, ARP answered)."""
    kind = np.int64(b.ingress_kind[i])
    iid = np.int64(b.ingress_id[i])
    ttl = np.int64(b.ttl[i])
    lp = np.int64(s.lp[k])
    seg = np.int64(s.seg[k])
    src_ip = np.uint32(b.src_ip[i])
    dst_ip = np.uint32(b.dst_ip[i])
    src_mac = np.uint64(b.src_mac[i])
    dst_mac = np.uint64(b.dst_mac[i])
    own_ip = port_ip(dp.port_rec, lp)
    if src_mac == 0:
        src_mac = port_mac(dp.port_rec, lp)
    if dst_ip == src_ip and src_ip == own_ip and dst_mac == 0:  # (a frame given whole goes on the wire)
        if slot >= 0:
            rec(tr, tl, slot, kind, iid, T_LOCAL, ttl)
        o.verdict[i] = V_DELIVERED  # to itself: its own stack answers
        return False, False, False
    asked = answered = False
    if dst_mac == 0:
        if on_link(dp, seg, dst_ip):
            nb = neighbor(dp, seg, dst_ip)
            asked = True
            answered = nb >= 0
            if slot >= 0:
                rec(tr, tl, slot, kind, iid, T_ARP, ttl)
            if nb < 0:
                o.reason[i] = R_NO_NEIGHBOR
                return False, asked, answered
            dst_mac = port_mac(dp.port_rec, nb)
        else:
            if slot >= 0:
                rec(tr, tl, slot, kind, iid, T_ROUTE, ttl)
            dst_mac = dp.router_mac
    elif slot >= 0:
        rec(tr, tl, slot, kind, iid, T_NONE, ttl)
    s.src_mac[k] = src_mac
    s.dst_mac[k] = dst_mac
    return True, asked, answered


@kernel(inline="always")
def sender_stack_step(b, dp, o, s, i, k, slot, tr, tl, rc, arp_in, arp_hit):
    """`sender_stack_one` and its accounting (the ARP counts, returned; with a recipe ``rc``,
    its note): what the stage's loop and `graph.sender_side` do for each packet. Returns
    (passes on, ARP asked, ARP answered so far)."""
    ok, asked, answered = sender_stack_one(b, dp, o, s, i, k, slot, tr, tl)
    arp_in, arp_hit = count_pass(rc, k, S_ARP, asked, answered, arp_in, arp_hit)
    return ok, arp_in, arp_hit


@kernel
def sender_stack(b, dp, o, cn, s, base, vin, n, vout, trace_slot, tr, tl, rc, ahead):
    """Slots ``vin[:n]``; survivors (source and destination MAC set) to ``vout``. Returns their count."""
    out = arp_in = arp_hit = 0
    if ahead > 0:
        for j in range(min(ahead, n)):
            hint_arp(b, dp, s, base, vin[j])
    for j in range(n):
        k = vin[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            hint_arp(b, dp, s, base, vin[j + ahead])
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, arp_in, arp_hit = sender_stack_step(b, dp, o, s, i, k, slot, tr, tl, rc, arp_in, arp_hit)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_ARP, arp_in, arp_hit)
    return out
