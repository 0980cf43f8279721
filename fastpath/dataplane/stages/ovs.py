"""The node's OVS bridge: Open vSwitch's NORMAL action, a pod per access port, one trunk to the VIF.

Reference: `_Walk.ovs_from_pod`, `_Walk.ovs_to_pod`, `_Walk.ovs_drops` (its module docstring
gives the order: tagged frame on an access port, reserved destination, destination learned on
the input port, else out by the VLAN's other port).

Direct checks instead of probes: a pod VLAN's MAC table holds exactly the pod's MAC on the
pod's port and the router MAC on the trunk (and the frame's own source, learned as it enters),
so the stage compares instead of hashing; OVS's reserved MACs are a few compares
(`ovs_reserved`, equal to `addressing.OVS_RESERVED_MACS`, a test holds them together).

Drops: ``unknown-vlan`` (tagged frame from a pod), ``reserved-mac``, ``learned-on-input``, at
the bridge; ``unknown-mac`` at the pod (a frame flooded to it that is not for its MAC).
Counters: ``ovs_mac`` (from a pod: hit = the table knew the MAC), ``ovs_egress`` (to a pod).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...compile.switching import OVS_UPLINK
from ...tables.ports import port_mac, port_node
from ..trace import T_OVS_MAC, T_OVS_PORT
from .common import K_OVS, K_POD, R_LEARNED, R_MAC, R_NONE, R_RESERVED, R_VLAN, S_OVS, count_pass, drop, flush, rec

_S24 = np.uint64(24)
_LO24 = np.uint64(0xFF_FFFF)
_GROUP = np.uint64(1 << 40)


@kernel(inline="always")
def ovs_reserved(mac):
    """``mac in addressing.OVS_RESERVED_MACS``, as compares (the common answer, no, after one):
    Open vSwitch's NORMAL action drops frames to these where they enter."""
    oui = mac >> _S24
    low = mac & _LO24
    if oui == np.uint64(0x01_80_C2):
        return low <= np.uint64(0x0F)
    if oui == np.uint64(0x01_00_0C):
        return (low == np.uint64(0) or low == np.uint64(0xCC_CC_CC) or low == np.uint64(0xCC_CC_CD)
                or low == np.uint64(0xCD_CD_CD) or (np.uint64(0xCC_CC_C0) <= low and low <= np.uint64(0xCC_CC_C7)))
    if oui == np.uint64(0x00_E0_2B):
        return low == np.uint64(0) or low == np.uint64(4) or low == np.uint64(6)
    return False


@kernel(inline="always")
def ovs_own_source(dst, src):
    """OVS learns a frame's unicast source on its input port before it looks the destination up:
    a frame to its own source finds it learned on the input port."""
    return dst == src and (src & _GROUP) == np.uint64(0)


@kernel(inline="always")
def ovs_from_pod_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k (a pod's; a node's passes untouched). Returns (passes on, looked up,
    table hit)."""
    if b.ingress_kind[i] != K_POD:
        return True, False, False
    lp = np.int64(s.lp[k])
    node = port_node(dp.port_rec, lp)
    if b.vlan[i] != 0:  # an access port takes untagged (or priority-tagged, VID 0) frames only
        if slot >= 0:
            rec(tr, tl, slot, K_OVS, node, T_OVS_PORT, np.int64(b.ttl[i]))
        drop(o, i, R_VLAN, K_OVS, node)
        return False, False, False
    dst_mac = s.dst_mac[k]
    reserved = ovs_reserved(dst_mac)
    hit = np.int64(-1)
    if not reserved:
        if dst_mac == port_mac(dp.port_rec, lp) or ovs_own_source(dst_mac, s.src_mac[k]):
            hit = lp
        elif dst_mac == dp.router_mac:
            hit = OVS_UPLINK
    if slot >= 0:
        rec(tr, tl, slot, K_OVS, node, T_OVS_MAC, np.int64(b.ttl[i]))
    if reserved or hit == lp:
        drop(o, i, R_RESERVED if reserved else R_LEARNED, K_OVS, node)
        return False, True, hit != -1
    return True, True, hit != -1  # anything else leaves by the trunk (learned there, or flooded to it)


@kernel(inline="always")
def ovs_from_pod_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit):
    """`ovs_from_pod_one` and its accounting (the MAC table's counts; with a recipe ``rc``, its
    note), as `sender_stack_step`. Returns (passes on, the two counts)."""
    ok, looked, hit = ovs_from_pod_one(b, dp, o, s, i, k, slot, tr, tl)
    ovs_in, ovs_hit = count_pass(rc, k, S_OVS, looked, hit, ovs_in, ovs_hit)
    return ok, ovs_in, ovs_hit


@kernel
def ovs_from_pod(b, dp, o, cn, s, base, vin, n, vout, trace_slot, tr, tl, rc):
    """A pod's frame into its node's bridge on the pod's access port; out by the trunk or
    dropped. Node frames (no bridge on their path) pass untouched. Returns the survivors."""
    out = ovs_in = ovs_hit = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ok, ovs_in, ovs_hit = ovs_from_pod_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit)
        if ok:
            vout[out] = k
            out += 1
    flush(cn.stages, S_OVS, ovs_in, ovs_hit)
    return out


@kernel(inline="always")
def ovs_to_pod(dp, port, dst_mac, src_mac):
    """A frame from the trunk, in the pod's VLAN, for pod port ``port``: returns (reason, device
    kind, table hit). `R_NONE`: delivered untagged to the pod. Else the bridge drops a reserved
    destination or one learned on the trunk (the frame's own source); a frame not for the pod's
    MAC is flooded to the pod (the VLAN's only other port), whose stack discards it."""
    if ovs_reserved(dst_mac):
        return R_RESERVED, K_OVS, False
    if ovs_own_source(dst_mac, src_mac):
        return R_LEARNED, K_OVS, True
    if dst_mac != port_mac(dp.port_rec, port):
        return R_MAC, K_POD, False
    return R_NONE, K_POD, True
