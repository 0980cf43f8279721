"""Kubernetes NetworkPolicy (networking.k8s.io/v1) as frozen values, parsed and defaulted.

These are what `fastpath.policy.parse` makes of the spec's ``networkpolicies:`` and what the
evaluator (`fastpath.policy.evaluate`) and the DFW compiler read. Defaults are resolved here,
once, as the API server resolves them, so no reader has to know them:

- a port's ``protocol`` is an IP protocol number (TCP 6 when not given, UDP 17, SCTP 132);
- ``policy_types`` is never empty: when the object leaves ``policyTypes`` out it is Ingress,
  plus Egress when ``spec.egress`` has at least one rule (an empty ``egress: []`` does not
  count), as the API reference says; the order is always Ingress before Egress;
- ``from``/``to`` absent, null or empty are one thing (every peer: an empty tuple), and so are
  ``ports`` absent or empty (every port of every protocol); a selector left out is ``None``
  and an empty one (``{}``) is a `LabelSelector` with nothing in it (selects everything).

An ``ipBlock`` is kept as the address family it was written in: an IPv6 block is valid
Kubernetes (and common beside its IPv4 twin in dual-stack clusters) but matches no packet of
fastpath's IPv4 model; `IPBlock.contains` says so.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Union

TCP, UDP, SCTP = 6, 17, 132
PROTOCOLS = {"TCP": TCP, "UDP": UDP, "SCTP": SCTP}
"""Kubernetes protocol names -> IP protocol numbers (the only three a policy port can name)."""
PROTOCOL_NAMES = {v: k for k, v in PROTOCOLS.items()}

INGRESS, EGRESS = "Ingress", "Egress"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label Kubernetes puts on every namespace, its value the namespace's name."""

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``matchExpressions`` entry: ``operator`` is In, NotIn, Exists or DoesNotExist;
    ``values`` is empty for the last two."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """``matchLabels`` (as sorted (key, value) pairs, hashable) AND every ``matchExpressions``
    requirement. Empty = selects everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.match_labels)

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: Network
    excepts: tuple[Network, ...] = ()

    def contains(self, ip: int) -> bool:
        """Is IPv4 address ``ip`` (an int) in the block and in none of its excepts?"""
        if self.cidr.version != 4:
            return False
        a = ipaddress.IPv4Address(ip)
        return a in self.cidr and not any(a in e for e in self.excepts)


@dataclass(frozen=True, slots=True)
class Peer:
    """One ``from``/``to`` entry. Either ``ip_block`` alone, or one or both selectors:
    ``pod_selector`` alone = pods of the policy's namespace; ``namespace_selector`` alone = every
    pod of the namespaces it selects; both = pods matching ``pod_selector`` in those namespaces."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """One ``ports`` entry. ``port`` None = every port of ``protocol``; an int, with
    ``end_port`` the inclusive range port..end_port; a str, a named container port of the
    destination pod (``end_port`` is then None)."""

    protocol: int = TCP
    port: int | str | None = None
    end_port: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """An ingress rule (``peers`` = its ``from``) or egress rule (``peers`` = its ``to``).
    Empty ``peers``: every source/destination, pod or not; empty ``ports``: every port and
    protocol (ICMP too)."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector = LabelSelector()
    policy_types: tuple[str, ...] = (INGRESS,)
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def key(self) -> str:
        """``namespace/name``: how a verdict names the policy."""
        return f"{self.namespace}/{self.name}"

    @property
    def affects_ingress(self) -> bool:
        return INGRESS in self.policy_types

    @property
    def affects_egress(self) -> bool:
        return EGRESS in self.policy_types


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A pod's container port (``pods[i].ports[j]``): what a named policy port resolves to."""

    port: int
    protocol: int = TCP
    name: str | None = None
