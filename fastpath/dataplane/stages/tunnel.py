"""Geneve between hypervisor TEPs, with the MTU check of the encapsulating host.

Reference: `_Walk.tunnel`. A packet crosses a tunnel when the logical port it goes to (the
`tunnel` stage, before delivery) or the service router it reaches (inside `route`, the
hairpin to the SR's edge) is on another host. The outer packet is the inner plus the Geneve
overhead (outer IPv4 + UDP + Geneve + inner Ethernet, and options); it must fit the smaller
MTU of the two hosts. A leg that fits is counted at both hosts (tx, rx) and logged (the
leg log feeds the TEP-pair counters, and `fastpath.wire` rebuilds underlay frames from it).

Drops: ``mtu-exceeded``, at the tunnel (its id: src_host * H + dst_host). Counter: ``encap``
(hit = encapsulated).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel, prefetch_row
from ...tables.ports import port_host
from ..trace import T_MTU, T_TEP
from .common import (ETH_HEADER, K_TUNNEL, LEG_BYTES, LEG_COLS, LEG_PACKET, LEG_TEP, LEG_TO, LEG_TTL, LEG_VNI,
                     R_MTU, S_ENCAP, count_pass, drop, flush, note_tep, rec)


DEST_AHEAD = 3
"""The destination port records are prefetched this many times ``ahead`` in front, by this
stage's loop and by `graph.receiver_side`: the walk's last misses, with the loop's own work to
hide them. At 1M pods, with the records on cache lines (`tables.lines`), 24 ahead walked 6.5 ns
a packet faster than 8, 16 ahead 5, 32 no faster than 24 (one compiled kernel, the distance as
data). While half the records straddled two lines, every distance past 8 had lost."""


@kernel(inline="always")
def log_leg(cn, legs, n_legs, src, dst, tid, fb, i, vni, ttl, to):
    """A tunnel leg's loads: tx at the encapsulating host, rx at the other, and one entry in
    the leg log (`LEG_COLS`; TEP pairs are folded from it after the kernel)."""
    cn.host[0, src, 0] += 1
    cn.host[0, src, 1] += fb
    cn.host[0, dst, 2] += 1
    cn.host[0, dst, 3] += fb
    k = n_legs[0]
    if k < legs.shape[0]:
        legs[k, LEG_TEP] = tid
        legs[k, LEG_BYTES] = fb
        if legs.shape[1] == LEG_COLS:  # the full log, when asked for (its pages cost ~10% on the seed)
            legs[k, LEG_PACKET] = i
            legs[k, LEG_VNI] = vni
            legs[k, LEG_TTL] = ttl
            legs[k, LEG_TO] = to
    n_legs[0] = k + 1


@kernel(inline="always")
def encap(dp, o, cn, legs, n_legs, tr, tl, slot, i, length, src, dst, vni, to):
    """Packet i (inner IPv4 ``length``) from host ``src`` to host ``dst`` (to logical port
    ``to``, or -1 - r to an edge's service router r). Returns (fits, tunnel id). Fits: the leg
    is counted and logged and the packet's tunnel columns updated, and it is on ``dst`` now;
    else the caller drops it for its MTU."""
    tid = src * dp.n_hosts + dst
    ov = dp.geneve_overhead
    fits = length + ov <= min(dp.host_mtu[src], dp.host_mtu[dst])
    ttl = np.int64(o.ttl_out[i])
    if slot >= 0:
        rec(tr, tl, slot, K_TUNNEL, tid, T_TEP if fits else T_MTU, ttl)
    if fits:
        fb = length + ov + ETH_HEADER
        o.n_tunnels[i] += 1
        o.underlay_bytes[i] += fb
        o.tun_src_host[i] = src
        o.tun_dst_host[i] = dst
        o.tun_vni[i] = vni
        log_leg(cn, legs, n_legs, src, dst, tid, fb, i, vni, ttl, to)
    return fits, tid


@kernel(inline="always")
def tunnel_one(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl):
    """Packet i in slot k to the host of its logical port ``s.port``. Returns (passes on,
    encapsulation tried, it fit, the TEP pair)."""
    port = np.int64(s.port[k])
    host = np.int64(s.host[k])
    dh = port_host(dp.port_rec, port)
    if dh == host:
        return True, False, False, np.int64(-1)
    fits, tid = encap(dp, o, cn, legs, n_legs, tr, tl, slot, i, np.int64(b.length[i]), host, dh,
                      np.int64(dp.seg_vni[s.seg[k]]), port)
    if not fits:
        drop(o, i, R_MTU, K_TUNNEL, tid)
        return False, True, False, tid
    s.host[k] = dh
    return True, True, True, tid


@kernel(inline="always")
def count_encap(rc, k, tried, fits, tid, enc_in, enc_hit):
    """An encapsulation's accounting (tried: in; fitted: a hit; with a recipe ``rc``, its note
    and the leg's TEP pair), for the tunnel stage and the route stage's hairpin alike. Returns
    the two counts."""
    enc_in, enc_hit = count_pass(rc, k, S_ENCAP, tried, fits, enc_in, enc_hit)
    if rc is not None and tried and fits:
        note_tep(rc, k, tid)
    return enc_in, enc_hit


@kernel(inline="always")
def tunnel_step(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl, rc, enc_in, enc_hit):
    """`tunnel_one` and its accounting (the encapsulation counts; with a recipe ``rc``, its note
    and the leg's TEP pair), as `sender_stack.sender_stack_step`. Returns (passes on, the two
    counts)."""
    ok, tried, fits, tid = tunnel_one(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl)
    enc_in, enc_hit = count_encap(rc, k, tried, fits, tid, enc_in, enc_hit)
    return ok, enc_in, enc_hit


@kernel
def tunnel(b, dp, o, cn, s, base, vin, n, vout, legs, n_legs, trace_slot, tr, tl, rc, ahead):
    """Slots ``vin[:n]`` to the host of their logical port ``s.port``: encapsulated when it is
    another host. Survivors to ``vout`` (may be ``vin``). Returns their count."""
    out = enc_in = enc_hit = 0
    ahead = DEST_AHEAD * ahead
    if ahead > 0:
        for j in range(min(ahead, n)):
            prefetch_row(dp.port_rec, np.int64(s.port[vin[j]]))
    for j in range(n):
        k = vin[j]
        i = base + k
        if ahead > 0 and j + ahead < n:
            prefetch_row(dp.port_rec, np.int64(s.port[vin[j + ahead]]))
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, enc_in, enc_hit = tunnel_step(b, dp, o, cn, s, legs, n_legs, i, k, slot, tr, tl, rc, enc_in, enc_hit)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_ENCAP, enc_in, enc_hit)
    return out
