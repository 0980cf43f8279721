"""Delivery: from the logical port through the VIF to the node VM, or on through OVS to the pod.

Reference: `_Walk.deliver` (after its tunnel and DFW, which are stages of their own) and
`_Walk.ovs_to_pod`. A node's port hands the frame untagged to the node VM. A pod's port: the
VIF pushes the pod's tag onto the trunk, and the node's bridge (`ovs.ovs_to_pod`) hands it
untagged to the pod's port, or drops it.

Drops: ``reserved-mac``, ``learned-on-input`` at the bridge; ``unknown-mac`` at the pod.
Counter: ``ovs_egress`` (hit = the bridge's table knew the MAC).
"""

from __future__ import annotations

import numpy as np

from ..._jit import kernel
from ...tables.ports import port_mac, port_node
from ..trace import T_NONE, T_OVS_MAC, T_PORT
from .common import K_NODE, K_OVS, K_POD, K_VIF, NEIGHBOR_MAC, R_NONE, S_OVS_EGRESS, V_DELIVERED, count_pass, drop, flush, rec
from .ovs import ovs_to_pod


@kernel(inline="always")
def deliver_one(b, dp, o, s, i, k, slot, tr, tl):
    """Packet i in slot k to its logical port ``s.port``. Returns (the bridge looked the MAC
    up, it knew it)."""
    ttl = np.int64(o.ttl_out[i])
    port = np.int64(s.port[k])
    node = port_node(dp.port_rec, port)
    looked = hit = False
    if slot >= 0:
        rec(tr, tl, slot, K_VIF, node, T_PORT, ttl)
    if port >= dp.n_pods:
        if slot >= 0:
            rec(tr, tl, slot, K_NODE, node, T_NONE, ttl)
        dkind = K_NODE
        dev = node
    else:
        dst_mac = s.dst_mac[k]
        if dst_mac == NEIGHBOR_MAC:
            dst_mac = port_mac(dp.port_rec, port)
        reason, dkind, hit = ovs_to_pod(dp, port, dst_mac, s.src_mac[k])
        looked = True
        if slot >= 0:
            rec(tr, tl, slot, K_OVS, node, T_OVS_MAC, ttl)
            if dkind == K_POD:
                rec(tr, tl, slot, K_POD, port, T_NONE, ttl)
        if reason != R_NONE:
            drop(o, i, reason, dkind, node if dkind == K_OVS else port)
            return looked, hit
        dev = port
    o.hops[i] += 1
    o.last_ip[i] = b.dst_ip[i]
    o.verdict[i] = V_DELIVERED
    o.dev_kind[i] = dkind
    o.dev_id[i] = dev
    o.egress_port[i] = port
    return looked, hit


@kernel(inline="always")
def deliver_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit):
    """`deliver_one` and its accounting (the destination bridge's counts; with a recipe ``rc``,
    its note), as `sender_stack.sender_stack_step`. Returns the two counts."""
    looked, hit = deliver_one(b, dp, o, s, i, k, slot, tr, tl)
    return count_pass(rc, k, S_OVS_EGRESS, looked, hit, ovs_in, ovs_hit)


@kernel
def deliver(b, dp, o, cn, s, base, vin, n, trace_slot, tr, tl, rc):
    """Slots ``vin[:n]`` to their logical port ``s.port`` on the host they are on."""
    ovs_in = ovs_hit = 0
    for j in range(n):
        k = vin[j]
        i = base + k
        slot = np.int64(-1)
        if trace_slot is not None:
            slot = np.int64(trace_slot[i])
        ovs_in, ovs_hit = deliver_step(b, dp, o, s, i, k, slot, tr, tl, rc, ovs_in, ovs_hit)
    flush(cn.stages, S_OVS_EGRESS, ovs_in, ovs_hit)
