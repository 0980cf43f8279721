"""The stages of the modeled data path, one module each, in the order a packet meets them.

    ingress -> sender_stack -> ovs (from pod) -> vif -> spoofguard -> dfw -> segment
            -> [route]* -> neighbor -> tunnel -> dfw (from an uplink) -> deliver (vif, ovs to pod)

(an uplink's packet enters at ``route``, on the T0). Each module holds, as VPP's nodes do:
its drop reasons, its counters and their meaning, its per-packet inline functions (also what
the fused kernel, `fastpath.dataplane.pipeline`, is made of where they are shared), and its
vector form — a `@kernel` function over a vector of packet slots that writes the survivors'
slots to its output vector and returns how many. The reference walk (`fastpath.reference.walk`)
has a method of the same name for each stage, so the two can be read side by side.

`fastpath.dataplane.graph` composes the vector forms; `common` holds what they share (codes,
counters, the per-slot scratch, the trace writer).
"""
