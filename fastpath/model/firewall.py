"""The distributed firewall's decisions, and how one is reached (the reference semantics).

Where the DFW runs
------------------
At a logical port, as NSX applies its rules to a vNIC. Every packet meets it at its *first*
port: the sender's (after SpoofGuard) for a packet a pod or node sends, the receiver's for one
that came in through an uplink. It meets it again at the receiver's port when the receiver is a
pod that NetworkPolicy isolates in that direction (elsewhere the second answer would equal the
first: the admin rules read the same packet, and the default is the default).

What decides (one evaluation, first match)
------------------------------------------
1. the admin rules (`Cluster.dfw_rules`, spec order: NSX's infrastructure/environment
   categories, ahead of the application category where NCP puts Kubernetes policy);
2. NetworkPolicy, when the port's pod is isolated in the direction the port sees the
   connection: egress at the original's source, ingress at its destination. Traffic between a
   pod and the node it runs on, and a pod's traffic to itself, are always allowed (``local``:
   Kubernetes' two documented exceptions); a rule of a policy selecting the pod allows (the first such policy in spec order is named);
   nothing allows: ``isolated`` (deny);
3. else the default action (`Cluster.dfw_default`).

State
-----
The DFW is stateful, decided per connection: a packet with ``reply`` set answers the
connection whose source was its destination, with ports swapped, and is judged as that
original at each port (the connection exists iff the original was allowed there). Computed
from the policy, not from arrival order, so results never depend on batching or threads.

Decision ids (`Decisions`): ``0..D-1`` the admin rules, ``D..D+P-1`` the NetworkPolicies (that
allowed), then isolated-ingress, isolated-egress, local, default. The compiler's rows and
the reference walk name decisions in this one id space: the fast path writes them per packet
(``dfw_at_src``, ``dfw_at_dst``), the reference walk the same, and the tests compare them.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

PORT_PROTOCOLS = (6, 17, 132)
"""IP protocols whose packets carry the ports a rule's range matches (TCP, UDP, SCTP)."""


class Decisions(NamedTuple):
    n_admin: int
    n_policy: int

    @property
    def isolated_ingress(self) -> int:
        return self.n_admin + self.n_policy

    @property
    def isolated_egress(self) -> int:
        return self.n_admin + self.n_policy + 1

    @property
    def local(self) -> int:
        return self.n_admin + self.n_policy + 2

    @property
    def default(self) -> int:
        return self.n_admin + self.n_policy + 3

    @property
    def count(self) -> int:
        return self.n_admin + self.n_policy + 4

    def policy(self, k: int) -> int:
        return self.n_admin + k


def decisions(c) -> Decisions:
    return Decisions(len(c.dfw_rules), len(policies_of(c)))


def policies_of(c) -> tuple:
    return tuple(getattr(c, "networkpolicies", ()) or ())


def decision_names(c) -> tuple[str, ...]:
    """Name of every decision id: ``rule NAME``, ``policy NS/NAME``, ``isolated: ingress``,
    ``isolated: egress``, ``local`` (a pod with its own node, or itself), ``default``."""
    return (tuple(f"rule {r.name}" for r in c.dfw_rules)
            + tuple(f"policy {p.namespace}/{p.name}" for p in policies_of(c))
            + ("isolated: ingress", "isolated: egress", "local", "default"))


def decision_kinds(c) -> tuple[str, ...]:
    """Kind of every decision id: rule, policy, isolated, local, default."""
    d = decisions(c)
    return ("rule",) * d.n_admin + ("policy",) * d.n_policy + ("isolated", "isolated", "local", "default")


def decision_allows(c) -> tuple[bool, ...]:
    """Whether each decision passes the packet."""
    return (tuple(r.action == "allow" for r in c.dfw_rules) + (True,) * len(policies_of(c))
            + (False, False, True, c.dfw_default == "allow"))


def rule_matches(rule, src: int, dst: int, proto: int, dport: int) -> bool:
    """An admin rule against a connection's original tuple. Ports mean something only for
    TCP, UDP and SCTP: another protocol matches only a rule whose range is all of 0..65535."""
    if proto in PORT_PROTOCOLS:
        ports_ok = rule.dport_lo <= dport <= rule.dport_hi
    else:
        ports_ok = (rule.dport_lo, rule.dport_hi) == (0, 65535)
    return (ipaddress.IPv4Address(src) in rule.src and ipaddress.IPv4Address(dst) in rule.dst
            and rule.proto in (0, proto) and ports_ok)


class Evaluation(NamedTuple):
    decision: int
    allow: bool
    text: str  # what the trace prints: "rule NAME: allow", "isolated: ingress of ns/pod: deny", ...
    direction: str  # "egress" (the port is the original's source) or "ingress"


def original(src_ip: int, dst_ip: int, sport: int, dport: int, reply: bool) -> tuple[int, int, int]:
    """(source, destination, destination port) of the connection a packet belongs to."""
    return (dst_ip, src_ip, sport) if reply else (src_ip, dst_ip, dport)


def evaluate(c, policy_model, local_kind: str, local: int, local_is_src: bool, o_src: int, o_dst: int, proto: int,
             o_dport: int) -> Evaluation:
    """One DFW evaluation at the logical port of ``local`` (a pod row or node index, by
    ``local_kind``) for the connection ``o_src -> o_dst`` (proto, destination port)."""
    d = decisions(c)
    direction = "egress" if local_is_src else "ingress"
    for k, rule in enumerate(c.dfw_rules):
        if rule_matches(rule, o_src, o_dst, proto, o_dport):
            return Evaluation(k, rule.action == "allow", f"rule {rule.name}: {rule.action}", direction)
    if local_kind == "pod" and policy_model is not None:
        kind = "Egress" if local_is_src else "Ingress"
        if policy_model.isolated(local, kind):
            pod = c.pods[local]
            remote = o_dst if local_is_src else o_src
            if remote == c.node(pod.node).ip or remote == pod.ip:
                return Evaluation(d.local, True, "local: allow", direction)
            ok, by = (policy_model.egress(local, o_dst, proto, o_dport) if local_is_src
                      else policy_model.ingress(local, o_src, proto, o_dport))
            if ok:
                k = policy_model.index[by]
                return Evaluation(d.policy(k), True, f"policy {by}: allow", direction)
            iso = d.isolated_egress if local_is_src else d.isolated_ingress
            return Evaluation(iso, False, f"isolated: {direction} of {pod.key}: deny", direction)
    return Evaluation(d.default, c.dfw_default == "allow", f"default: {c.dfw_default}", direction)


def policy_model(c):
    """The cluster's `PolicyModel` (with ``index``: "ns/name" -> policy position), or None when
    it has no NetworkPolicy."""
    pols = policies_of(c)
    if not pols:
        return None
    from ..policy.evaluate import PolicyModel
    pm = PolicyModel(c)
    pm.index = {f"{p.namespace}/{p.name}": k for k, p in enumerate(pols)}
    return pm
