"""The VIF: the node VM's NSX virtual interface, which carries a child logical port per pod.

Reference: the VIF hops of `_Walk.from_endpoint` (`_Walk.vif_demux`) and of `_Walk.deliver`.
Into NSX, a frame from a pod arrives tagged with the pod's VLAN (the OVS trunk) and goes to the
pod's child port; a node's untagged frame goes to the node's own port; a node's *tagged* frame
is demuxed by (node, tag) to the port of the pod with that tag (`vif` exact table), where
SpoofGuard meets it. Out of NSX (`deliver`), the VIF pushes the pod's tag onto the trunk.

Drops: ``unknown-vlan`` (no pod on the node has that tag), at the VIF. Counter: ``vif`` (tagged
node frames only; hit = a port).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.ports import port_node, port_segment
from ..trace import T_VIF
from .common import K_POD, K_VIF, R_VLAN, S_VIF, count_pass, drop, exact_probe, flush, rec


@kernel(inline="always")
def vif_demux_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k onto its logical port. Returns (passes on, demuxed by tag, found)."""
    lp = np.int64(s.lp[k])
    node = port_node(dp.port_rec, lp)
    vlan = np.int64(b.vlan[i])
    if b.ingress_kind[i] != K_POD and vlan != 0:
        pp = exact_probe(dp.vif_buckets, dp.vif_seed, np.uint64(node), np.uint64(vlan))
        if slot >= 0:
            rec(tr, tl, slot, K_VIF, node, T_VIF, np.int64(b.ttl[i]))
        if pp < 0 or pp >= dp.n_pods:
            drop(o, i, R_VLAN, K_VIF, node)
            return False, True, False
        s.lp[k] = pp
        s.seg[k] = port_segment(dp.port_rec, pp)
        return True, True, True
    if slot >= 0:
        rec(tr, tl, slot, K_VIF, node, T_VIF, np.int64(b.ttl[i]))
    return True, False, False


@kernel(inline="always")
def vif_demux_step(b, dp, o, s, i, k, slot, tr, tl, rc, vif_in, vif_hit):
    """`vif_demux_one` and its accounting, as `sender_stack.sender_stack_step`. Returns
    (passes on, the two counts)."""
    ok, demuxed, found = vif_demux_one(b, dp, o, s, i, k, slot, tr, tl)
    vif_in, vif_hit = count_pass(rc, k, S_VIF, demuxed, found, vif_in, vif_hit)
    return ok, vif_in, vif_hit


@kernel
def vif_demux(b, dp, o, cn, s, base, vin, n, vout, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` onto their logical port (``s.lp``, ``s.seg`` updated for a demuxed
    frame); survivors to ``vout``. Returns their count."""
    out = vif_in = vif_hit = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, vif_in, vif_hit = vif_demux_step(b, dp, o, s, i, k, slot, tr, tl, rc, vif_in, vif_hit)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_VIF, vif_in, vif_hit)
    return out
