"""Kubernetes NetworkPolicy: the parsed objects (`objects`), label selectors (`selectors`), the
spec reader and validator (`parse`) and the plain-Python reference semantics (`evaluate`:
`PolicyModel`). Nothing here imports the data plane; `parse` and `evaluate` are imported on
use (``from fastpath.policy.evaluate import PolicyModel``), so the model package can import
this one without a cycle."""

from .objects import (EGRESS, INGRESS, NAMESPACE_NAME_LABEL, PROTOCOLS, SCTP, TCP, UDP, ContainerPort, IPBlock,
                      LabelSelector, NetworkPolicy, Peer, PolicyPort, Requirement, Rule)
from .selectors import matches

__all__ = ["EGRESS", "INGRESS", "NAMESPACE_NAME_LABEL", "PROTOCOLS", "SCTP", "TCP", "UDP", "ContainerPort", "IPBlock",
           "LabelSelector", "NetworkPolicy", "Peer", "PolicyPort", "Requirement", "Rule", "matches"]
