"""The distributed firewall: rule columns in rule order, first match wins.

What?
-----
``(src ip, dst ip, proto, dport) -> (action, matched)``: the action of the first rule that
matches, else the default (``matched`` False). A linear scan: the seed's policies hold a
handful of rules, and a scan over a few contiguous columns is a few dozen compares with no
miss. A classifier (OVS's tuple space search) is the change to make when policies grow.

Layout (D rules; one column per field, row k = rule k)
------------------------------------------------------
    dfw_src_net, dfw_src_mask, dfw_dst_net, dfw_dst_mask: uint32[D] — a rule matches an address
        iff ``ip & mask == net``
    dfw_proto: uint8[D] — IP protocol, 0 = any
    dfw_dport_lo, dfw_dport_hi: uint16[D] — destination port range, inclusive; ports mean
        something only for TCP (6) and UDP (17): another protocol matches only a rule whose
        range is all of 0..65535
    dfw_action: uint8[D] — `DFW_ALLOW` / `DFW_DENY`
    dfw_default: int — action when no rule matches
    dfw_rule_names: tuple[str, ...] — for reports

The builder moved here from `fastpath.compile.dfw` (now a one-line call): it reads rule
objects by attribute, not the cluster, so the columns' encoding (masks, the action codes) sits
beside the two lookups that read it.

API: `build` (from the rules), `lookup` (scalar, plain Python: the reference semantics),
`first_match` (the numba kernel the data plane inlines).
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel

DFW_ALLOW, DFW_DENY = 0, 1
DFW_ACTIONS = ("allow", "deny")
"""Action code -> the model's action name."""
PROTO_ANY = 0
PORTS_TCP, PORTS_UDP = 6, 17
"""The protocols whose packets carry the destination port a rule's range matches."""
ALL_PORTS = (0, 65535)

COLUMNS = ("dfw_src_net", "dfw_src_mask", "dfw_dst_net", "dfw_dst_mask", "dfw_proto", "dfw_dport_lo",
           "dfw_dport_hi", "dfw_action")
"""The rule columns, in `first_match`'s argument order."""


def build(rules, default: str) -> dict:
    """Columns of ``rules`` (objects with ``src``/``dst`` `ipaddress.IPv4Network`, ``proto``,
    ``dport_lo``, ``dport_hi``, ``action`` in `DFW_ACTIONS` and ``name``, as
    `fastpath.model.cluster`'s rules) and the default action's code, by `Tables` field name."""

    def col(fn, dtype) -> np.ndarray:
        return np.array([fn(r) for r in rules], dtype=dtype)

    return {
        "dfw_src_net": col(lambda r: int(r.src.network_address), np.uint32),
        "dfw_src_mask": col(lambda r: int(r.src.netmask), np.uint32),
        "dfw_dst_net": col(lambda r: int(r.dst.network_address), np.uint32),
        "dfw_dst_mask": col(lambda r: int(r.dst.netmask), np.uint32),
        "dfw_proto": col(lambda r: r.proto, np.uint8),
        "dfw_dport_lo": col(lambda r: r.dport_lo, np.uint16),
        "dfw_dport_hi": col(lambda r: r.dport_hi, np.uint16),
        "dfw_action": col(lambda r: DFW_ACTIONS.index(r.action), np.uint8),
        "dfw_default": DFW_ACTIONS.index(default),
        "dfw_rule_names": tuple(r.name for r in rules),
    }


def lookup(t, src: int, dst: int, proto: int, dport: int) -> tuple[int, int]:
    """(action code, index of the matching rule or -1) for one packet; ``t`` has the `COLUMNS`
    and ``dfw_default`` as attributes (a `Tables`, a kernel view)."""
    src, dst, proto, dport = int(src), int(dst), int(proto), int(dport)
    for k in range(t.dfw_action.shape[0]):
        if src & int(t.dfw_src_mask[k]) != int(t.dfw_src_net[k]) or dst & int(t.dfw_dst_mask[k]) != int(t.dfw_dst_net[k]):
            continue
        if int(t.dfw_proto[k]) not in (PROTO_ANY, proto):
            continue
        lo, hi = int(t.dfw_dport_lo[k]), int(t.dfw_dport_hi[k])
        if proto in (PORTS_TCP, PORTS_UDP):
            if not lo <= dport <= hi:
                continue
        elif (lo, hi) != ALL_PORTS:
            continue
        return int(t.dfw_action[k]), k
    return int(t.dfw_default), -1


def reads_l4(t) -> bool:
    """Whether any rule looks at a packet's protocol or destination port (else the DFW's answer
    depends on its addresses alone: what a flow cache may leave out of its key)."""
    return bool(np.any(t.dfw_proto != PROTO_ANY) or np.any(t.dfw_dport_lo != ALL_PORTS[0])
                or np.any(t.dfw_dport_hi != ALL_PORTS[1]))


@kernel(inline="always")
def first_match(src_net, src_mask, dst_net, dst_mask, rproto, dport_lo, dport_hi, action, default, src, dst, proto,
                dport):
    """`lookup` in a kernel: the first matching rule's action (True = deny), and whether a
    rule matched. Arguments: the `COLUMNS`, ``dfw_default``, then the packet's fields."""
    for k in range(action.shape[0]):
        if (src & src_mask[k]) != src_net[k] or (dst & dst_mask[k]) != dst_net[k]:
            continue
        rp = rproto[k]
        if rp != 0 and rp != proto:
            continue
        lo = dport_lo[k]
        hi = dport_hi[k]
        if proto == 6 or proto == 17:
            if dport < lo or dport > hi:
                continue
        elif lo != 0 or hi != 65535:
            continue
        return action[k] == DFW_DENY, True
    return default == DFW_DENY, False
