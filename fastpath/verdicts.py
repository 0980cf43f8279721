"""Verdicts, drop reasons and device kinds: one list, shared by the reference and the fast path.

Every packet ends in exactly one verdict. The numeric codes are what the fast path writes
into its uint8 result columns; the names are what users see (CLI, JSON, data frames).
"""

from __future__ import annotations

from enum import IntEnum


class Verdict(IntEnum):
    DELIVERED = 0  # reached a pod, a node, or a router's own address
    EXITED = 1  # left north-south through a T0 uplink
    DROPPED = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Reason(IntEnum):
    NONE = 0
    NO_ROUTE = 1  # no route matched at a router
    TTL_EXPIRED = 2  # reached a router with TTL <= 1
    NO_NEIGHBOR = 3  # ARP miss: unused IP inside a subnet
    DFW_DENY = 4  # distributed firewall rule denied it
    MTU_EXCEEDED = 5  # inner packet + Geneve overhead above the underlay MTU
    UNKNOWN_VLAN = 6  # no logical port for (VIF, VLAN tag) / OVS port
    UNKNOWN_MAC = 7  # destination MAC not on the segment; or flooded to a pod whose stack discards it
    SPOOFGUARD = 8  # source IP or MAC not the logical port's own
    MALFORMED = 9  # a field no real packet can carry (TTL 0, bad length, bad ingress)
    RESERVED_MAC = 10  # OVS drops a frame to a reserved (link-local control) MAC where it enters
    LEARNED_ON_INPUT = 11  # OVS: the destination MAC was learned on the port the frame came in on
    NO_ENDPOINT = 12  # a Service port without ready endpoints (kube-proxy in the node's OVS)

    @property
    def label(self) -> str:
        return "" if self is Reason.NONE else self.name.lower().replace("_", "-")


class DeviceKind(IntEnum):
    POD = 0
    NODE = 1
    OVS = 2
    VIF = 3
    SEGMENT = 4
    T1 = 5
    T0 = 6
    TUNNEL = 7
    EDGE = 8  # a service router on an edge node
    UPLINK = 9
    PORT = 10  # a logical port (SpoofGuard, DFW)
    LB = 11  # kube-proxy's Service load balancing (DNAT) for a node: in its OVS for its pods, in the node itself
    NAT = 12  # the reverse translation of a reply (conntrack's un-DNAT) on the client's node

    @property
    def label(self) -> str:
        return self.name.lower()


REASON_BY_LABEL = {r.label: r for r in Reason if r is not Reason.NONE}


def count_line(verdicts: dict[str, int], reasons: dict[str, int]) -> str:
    """``delivered 97,653, exited 0, dropped 2,347 (dfw-deny 2,347)``: verdict counts by label,
    the drops by reason (those that happened)."""
    drops = ", ".join(f"{k} {v:,}" for k, v in reasons.items() if v)
    return ", ".join(f"{k} {v:,}" for k, v in verdicts.items()) + (f" ({drops})" if drops else "")


TRACE_TABLES = ("", "sanity", "local", "arp", "route", "ovs_port", "ovs_mac", "vif", "spoofguard", "dfw",
                "segment_l2", "neighbor", "mtu", "tep", "port", "uplink", "service", "conntrack", "snat", "lb")
"""The tables a hop may consult, as the reference names them; a fast-path trace record
carries the position in this list."""
