"""The upstream NetworkPolicy e2e suite's cases (kubernetes/kubernetes test/e2e/network/netpol) on
its x/y/z x a/b/c model, as truth tables of our own: rows are sources, columns destinations,
``.`` a new connection is allowed, ``X`` denied. Each table is derived from the API reference's
semantics by hand (the e2e states the same expectations with ExpectPeer/ExpectAllIngress calls);
the diagonal is always ``.``: a pod may always reach itself (the e2e ignores loopback).

The evaluated side is the reference semantics, `fastpath.policy.evaluate.PolicyModel`.
"""

from __future__ import annotations

import ipaddress

import pytest

from fastpath.model import from_spec
from fastpath.policy.evaluate import PolicyModel
from fastpath.policy.netpol_model import format_table, netpol_spec, parse_table, policy, reachability

ALL_OPEN = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
"""

X_INGRESS_CLOSED = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   .   .   .   .   .   .
x/b    X   .   X   .   .   .   .   .   .
x/c    X   X   .   .   .   .   .   .   .
y/a    X   X   X   .   .   .   .   .   .
y/b    X   X   X   .   .   .   .   .   .
y/c    X   X   X   .   .   .   .   .   .
z/a    X   X   X   .   .   .   .   .   .
z/b    X   X   X   .   .   .   .   .   .
z/c    X   X   X   .   .   .   .   .   .
"""

X_CLOSED_BOTH_WAYS = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   X   X   X   X   X   X
x/b    X   .   X   X   X   X   X   X   X
x/c    X   X   .   X   X   X   X   X   X
y/a    X   X   X   .   .   .   .   .   .
y/b    X   X   X   .   .   .   .   .   .
y/c    X   X   X   .   .   .   .   .   .
z/a    X   X   X   .   .   .   .   .   .
z/b    X   X   X   .   .   .   .   .   .
z/c    X   X   X   .   .   .   .   .   .
"""

X_EGRESS_CLOSED = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   X   X   X   X   X   X
x/b    X   .   X   X   X   X   X   X   X
x/c    X   X   .   X   X   X   X   X   X
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
"""

XA_INGRESS_CLOSED = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
"""

XA_FROM_Y_ONLY = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
"""

XA_FROM_XB_ONLY = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
"""

XA_EGRESS_CLOSED = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   X   X   X   X   X   X
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
"""

EMPTY = {}
POD_A = {"matchLabels": {"pod": "a"}}
POD_B = {"matchLabels": {"pod": "b"}}
NS_Y = {"matchLabels": {"kubernetes.io/metadata.name": "y"}}
NOT_X = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["x"]}]}
DENY_INGRESS = policy("deny-ingress", "x", {"podSelector": {}})  # policyTypes defaults to [Ingress]
DENY_ALL = policy("deny-all", "x", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def to_a(name, peers=None, ports=None, ns="x"):
    """An ingress policy on pod=a of namespace ns: one rule with these from-peers and ports."""
    rule = {}
    if peers is not None:
        rule["from"] = peers
    if ports is not None:
        rule["ports"] = ports
    return policy(name, ns, {"podSelector": POD_A, "ingress": [rule]})


def check(policies, proto, port, table, spec=None):
    cluster = from_spec(spec if spec is not None else netpol_spec(*policies))
    got = reachability(cluster, proto, port)
    want = parse_table(table)
    assert set(got) == set(want)
    wrong = sorted(k for k in want if got[k] != want[k])
    assert not wrong, f"{proto}/{port}: wrong for {wrong}\ngot:\n{format_table(got)}"


CASES = {
    # name: (policies, [(proto, port, table), ...])
    "no policies": ([], [("TCP", 80, ALL_OPEN), ("UDP", 81, ALL_OPEN), ("SCTP", 80, ALL_OPEN)]),
    "default-deny-ingress": ([DENY_INGRESS], [("TCP", 80, X_INGRESS_CLOSED), ("UDP", 80, X_INGRESS_CLOSED),
                                              ("SCTP", 81, X_INGRESS_CLOSED)]),
    "default-deny-all": ([DENY_ALL], [("TCP", 80, X_CLOSED_BOTH_WAYS)]),
    "default-deny-egress": ([policy("deny-egress", "x", {"podSelector": {}, "policyTypes": ["Egress"]})],
                            [("TCP", 80, X_EGRESS_CLOSED)]),
    "deny egress of pod a": ([policy("deny-egress-a", "x", {"podSelector": POD_A, "policyTypes": ["Egress"]})],
                             [("TCP", 80, XA_EGRESS_CLOSED)]),
    "allow from same namespace by pod label": ([to_a("x-a-allows-x-b", [{"podSelector": POD_B}])],
                                               [("TCP", 80, XA_FROM_XB_ONLY)]),
    "allow by pod label with matchExpressions": (
        [to_a("x-a-allows-x-b", [{"podSelector": {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}}])],
        [("TCP", 80, XA_FROM_XB_ONLY)]),
    "allow from namespace y by kubernetes.io/metadata.name": ([to_a("allow-y", [{"namespaceSelector": NS_Y}])],
                                                              [("TCP", 80, XA_FROM_Y_ONLY)]),
    "allow from namespace y by the e2e's own namespace label": (
        [to_a("allow-y", [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}])], [("TCP", 80, XA_FROM_Y_ONLY)]),
    "allow from namespace y by matchExpressions In": (
        [to_a("allow-y", [{"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["y"]}]}}])],
        [("TCP", 80, XA_FROM_Y_ONLY)]),
    "allow to a target from everywhere, rest of x denied": (
        [DENY_INGRESS, to_a("allow-all-to-a", [{"podSelector": {}, "namespaceSelector": {}}])], [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   .   .   .   .   .   .
x/b    .   .   X   .   .   .   .   .   .
x/c    .   X   .   .   .   .   .   .   .
y/a    .   X   X   .   .   .   .   .   .
y/b    .   X   X   .   .   .   .   .   .
y/c    .   X   X   .   .   .   .   .   .
z/a    .   X   X   .   .   .   .   .   .
z/b    .   X   X   .   .   .   .   .   .
z/c    .   X   X   .   .   .   .   .   .
""")]),
    "allow from pods in all namespaces (empty namespaceSelector)": (
        [to_a("allow-all-ns", [{"namespaceSelector": {"matchLabels": {}}}])], [("TCP", 80, ALL_OPEN)]),
    "podSelector OR namespaceSelector (two peers)": (
        [to_a("or", [{"namespaceSelector": NOT_X}, {"podSelector": POD_B}])], [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
""")]),
    "podSelector AND namespaceSelector (one peer)": (
        [to_a("and", [{"namespaceSelector": NOT_X, "podSelector": POD_B}])], [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
""")]),
    "pods b or c in namespaces other than x": (
        [to_a("b-c-not-x", [{"namespaceSelector": NOT_X, "podSelector": {
            "matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}}])], [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
""")]),
    "only y/a, by namespace AND pod selector": (
        [to_a("only-y-a", [{"namespaceSelector": NS_Y, "podSelector": POD_A}])],
        [(proto, 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
""") for proto in ("TCP", "UDP", "SCTP")]),
    "port 81 from namespace y": (
        [to_a("allow-81", [{"namespaceSelector": NS_Y}], [{"protocol": "TCP", "port": 81}])],
        [("TCP", 81, XA_FROM_Y_ONLY), ("TCP", 80, XA_INGRESS_CLOSED), ("UDP", 81, XA_INGRESS_CLOSED),
         ("SCTP", 81, XA_INGRESS_CLOSED)]),
    "UDP port 81 from namespace y": (
        [to_a("allow-81", [{"namespaceSelector": NS_Y}], [{"protocol": "UDP", "port": 81}])],
        [("UDP", 81, XA_FROM_Y_ONLY), ("TCP", 81, XA_INGRESS_CLOSED)]),
    "SCTP port 81 from namespace y": (
        [to_a("allow-81", [{"namespaceSelector": NS_Y}], [{"protocol": "SCTP", "port": 81}])],
        [("SCTP", 81, XA_FROM_Y_ONLY), ("TCP", 81, XA_INGRESS_CLOSED)]),
    "stacked policies: 81 and 80 from y": (
        [to_a("allow-81", [{"namespaceSelector": NS_Y}], [{"protocol": "TCP", "port": 81}]),
         to_a("allow-80", [{"namespaceSelector": NS_Y}], [{"protocol": "TCP", "port": 80}])],
        [("TCP", 81, XA_FROM_Y_ONLY), ("TCP", 80, XA_FROM_Y_ONLY), ("TCP", 82, XA_INGRESS_CLOSED)]),
    "allow-all ingress": ([policy("allow-all", "x", {"podSelector": {"matchLabels": {}}, "ingress": [{}]})],
                          [("TCP", 80, ALL_OPEN), ("TCP", 81, ALL_OPEN), ("UDP", 81, ALL_OPEN)]),
    "ingress on one named port, whole namespace": (
        [policy("allow-81-named", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": "serve-81-tcp"}]}]})],
        [("TCP", 81, ALL_OPEN), ("TCP", 80, X_INGRESS_CLOSED), ("UDP", 81, X_INGRESS_CLOSED)]),
    "named port with another protocol than the container port's matches nothing": (
        [policy("udp-named-tcp", "x", {"podSelector": {}, "ingress": [
            {"ports": [{"protocol": "UDP", "port": "serve-81-tcp"}]}]})],
        [("TCP", 81, X_INGRESS_CLOSED), ("UDP", 81, X_INGRESS_CLOSED)]),
    "named UDP port": (
        [policy("udp-named", "x", {"podSelector": {}, "ingress": [
            {"ports": [{"protocol": "UDP", "port": "serve-80-udp"}]}]})],
        [("UDP", 80, ALL_OPEN), ("UDP", 81, X_INGRESS_CLOSED), ("TCP", 80, X_INGRESS_CLOSED)]),
    "ingress from namespace y on named port serve-80-tcp": (
        [to_a("allow-y-80", [{"namespaceSelector": NS_Y}], [{"protocol": "TCP", "port": "serve-80-tcp"}])],
        [("TCP", 80, XA_FROM_Y_ONLY), ("TCP", 81, XA_INGRESS_CLOSED)]),
    "egress on one named port": (
        [policy("allow-egress", "x", {"podSelector": {}, "egress": [{"ports": [{"port": "serve-80-tcp"}]}],
                                       "policyTypes": ["Egress"]})],
        [("TCP", 80, ALL_OPEN), ("TCP", 81, X_EGRESS_CLOSED)]),
    "ingress and egress together on pod a": (
        [policy("both", "x", {"podSelector": POD_A, "policyTypes": ["Egress", "Ingress"],
                              "ingress": [{"from": [{"podSelector": POD_B}]}],
                              "egress": [{"ports": [{"port": 80}]}]})],
        [("TCP", 80, XA_FROM_XB_ONLY), ("TCP", 81, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   X   X   X   X   X   X
x/b    .   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
""")]),
    "egress denied on the client although the server allows": (
        [policy("to-y-a", "x", {"podSelector": POD_A, "policyTypes": ["Egress"],
                                "egress": [{"to": [{"namespaceSelector": NS_Y, "podSelector": POD_A}]}]}),
         to_a("from-x-a", [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}, "podSelector": POD_A}],
              ns="y"),
         policy("from-x-a-on-b", "y", {"podSelector": POD_B, "ingress": [{"from": [
             {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}, "podSelector": POD_A}]}]})],
        [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   .   X   X   X   X   X
x/b    .   .   .   X   X   .   .   .   .
x/c    .   .   .   X   X   .   .   .   .
y/a    .   .   .   .   X   .   .   .   .
y/b    .   .   .   X   .   .   .   .   .
y/c    .   .   .   X   X   .   .   .   .
z/a    .   .   .   X   X   .   .   .   .
z/b    .   .   .   X   X   .   .   .   .
z/c    .   .   .   X   X   .   .   .   .
""")]),
    "ingress any port on one protocol": (
        [to_a("tcp-only", ports=[{"protocol": "TCP"}])],
        [("TCP", 80, ALL_OPEN), ("TCP", 81, ALL_OPEN), ("UDP", 80, XA_INGRESS_CLOSED), ("SCTP", 80, XA_INGRESS_CLOSED)]),
    "port 80 only on x, then allow-all ingress wins": (
        [policy("allow-80", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}),
         policy("allow-all", "x", {"podSelector": {}, "ingress": [{}]})],
        [("TCP", 81, ALL_OPEN), ("TCP", 80, ALL_OPEN)]),
    "port 80 only on x": (
        [policy("allow-80", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]})],
        [("TCP", 81, X_INGRESS_CLOSED), ("TCP", 80, ALL_OPEN)]),
    "egress port 80 only on x, then allow-all egress wins": (
        [policy("egress-80", "x", {"podSelector": {}, "egress": [{"ports": [{"port": 80}]}], "policyTypes": ["Egress"]}),
         policy("egress-all", "x", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]})],
        [("TCP", 81, ALL_OPEN)]),
    "egress port 80 only on x": (
        [policy("egress-80", "x", {"podSelector": {}, "egress": [{"ports": [{"port": 80}]}], "policyTypes": ["Egress"]})],
        [("TCP", 81, X_EGRESS_CLOSED), ("TCP", 80, ALL_OPEN)]),
    "SCTP allowed is not TCP allowed": (
        [DENY_INGRESS, to_a("sctp-81", ports=[{"protocol": "SCTP", "port": 81}])],
        [("TCP", 81, X_INGRESS_CLOSED), ("SCTP", 81, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   .   .   .   .   .   .
x/b    .   .   X   .   .   .   .   .   .
x/c    .   X   .   .   .   .   .   .   .
y/a    .   X   X   .   .   .   .   .   .
y/b    .   X   X   .   .   .   .   .   .
y/c    .   X   X   .   .   .   .   .   .
z/a    .   X   X   .   .   .   .   .   .
z/b    .   X   X   .   .   .   .   .   .
z/c    .   X   X   .   .   .   .   .   .
""")]),
    "a policy allowing only SCTP still isolates for TCP": ([to_a("sctp-80", ports=[{"protocol": "SCTP", "port": 80}])],
                                                           [("TCP", 81, XA_INGRESS_CLOSED), ("TCP", 80, XA_INGRESS_CLOSED)]),
    "deny ingress from other namespaces (empty podSelector peer)": (
        [policy("same-ns", "x", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {}}}]}]})],
        [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    X   X   X   .   .   .   .   .   .
y/b    X   X   X   .   .   .   .   .   .
y/c    X   X   X   .   .   .   .   .   .
z/a    X   X   X   .   .   .   .   .   .
z/b    X   X   X   .   .   .   .   .   .
z/c    X   X   X   .   .   .   .   .   .
""")]),
    "egress to namespaces NotIn y (default namespace label)": (
        [policy("not-y", "x", {"podSelector": POD_A, "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["y"]}]}}]}]})],
        [("TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   X   X   X   .   .   .
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
""")]),
    "deny-all with egress DNS allowed": (
        [policy("deny-all-tcp-allow-dns", "x", {"podSelector": {}, "policyTypes": ["Egress", "Ingress"], "ingress": [],
                                                "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]})],
        [("TCP", 80, X_CLOSED_BOTH_WAYS), ("TCP", 53, X_CLOSED_BOTH_WAYS), ("UDP", 53, X_INGRESS_CLOSED)]),
    "endPort range 80-81": (
        [to_a("range", ports=[{"protocol": "TCP", "port": 80, "endPort": 81}])],
        [("TCP", 80, ALL_OPEN), ("TCP", 81, ALL_OPEN), ("TCP", 79, XA_INGRESS_CLOSED), ("TCP", 82, XA_INGRESS_CLOSED),
         ("UDP", 80, XA_INGRESS_CLOSED)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_e2e_truth_table(name):
    policies, checks = CASES[name]
    spec = netpol_spec(*policies)
    cluster = from_spec(spec)
    model = PolicyModel(cluster)
    for proto, port, table in checks:
        got = reachability(cluster, proto, port, model)
        want = parse_table(table)
        assert set(got) == set(want)
        wrong = sorted(k for k in want if got[k] != want[k])
        assert not wrong, f"{name}, {proto}/{port}: wrong for {wrong}\ngot:\n{format_table(got)}"


# ---- ipBlock on pod addresses -----------------------------------------------------------------
def _ip(cluster, key):
    return str(ipaddress.IPv4Address(cluster.pod(key).ip))


def _spec_with(make):
    """A spec whose policies need pod addresses: built once without, addresses read, then built."""
    probe = from_spec(netpol_spec())
    return netpol_spec(*make(lambda key: _ip(probe, key)))


def test_egress_to_a_pod_by_ip_block():
    spec = _spec_with(lambda ip: [policy("to-y-b", "x", {"podSelector": POD_A, "policyTypes": ["Egress"],
                                                         "egress": [{"to": [{"ipBlock": {"cidr": f"{ip('y/b')}/32"}}]}]})])
    check(None, "TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   X   X   .   X   X   X   X
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
""", spec)


XA_TO_ALL_BUT_XB = """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   X   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    .   .   .   .   .   .   .   .   .
y/b    .   .   .   .   .   .   .   .   .
y/c    .   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
"""


def _large_cidr(ip):
    """The /4 holding ``ip``, as the e2e's makeLargeCIDRForIP."""
    return str(ipaddress.IPv4Network(f"{ip}/4", strict=False))


def test_egress_ip_block_except_a_pod():
    spec = _spec_with(lambda ip: [policy("cidr-except", "x", {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": _large_cidr(ip("x/b")), "except": [f"{ip('x/b')}/32"]}}]}]})])
    check(None, "TCP", 80, XA_TO_ALL_BUT_XB, spec)


def test_an_address_in_cidr_and_except_is_allowed_by_another_policy():
    spec = _spec_with(lambda ip: [
        policy("cidr-except", "x", {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [
            {"to": [{"ipBlock": {"cidr": _large_cidr(ip("x/b")), "except": [f"{ip('x/b')}/32"]}}]}]}),
        policy("to-x-b", "x", {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [
            {"to": [{"ipBlock": {"cidr": f"{ip('x/b')}/32"}}]}]})])
    check(None, "TCP", 80, ALL_OPEN, spec)


def test_ingress_ip_block_with_except_on_pod_addresses():
    # namespace y's subnet is 172.16.2.0/24 (netpol_spec fixes the subnets)
    spec = netpol_spec(to_a("cidr", [{"ipBlock": {"cidr": "172.16.0.0/16", "except": ["172.16.2.0/24"]}}]))
    check(None, "TCP", 80, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    .   .   .   .   .   .   .   .   .
z/b    .   .   .   .   .   .   .   .   .
z/c    .   .   .   .   .   .   .   .   .
""", spec)


# ---- labels as the spec gives them ------------------------------------------------------------
def test_namespace_labels_select_namespaces():
    """The e2e's "ingress access from updated namespace": nothing matches ns2=updated until
    namespace y carries that label."""
    pol = to_a("ns2", [{"namespaceSelector": {"matchLabels": {"ns2": "updated"}}}])
    check(None, "TCP", 80, XA_INGRESS_CLOSED, netpol_spec(pol))
    spec = netpol_spec(pol)
    spec["namespaces"][1]["labels"]["ns2"] = "updated"
    check(None, "TCP", 80, XA_FROM_Y_ONLY, spec)


def test_pod_labels_select_pods():
    """The e2e's "ingress access from updated pod": x/b is let in once it has pod2=updated."""
    pol = to_a("pod2", [{"podSelector": {"matchLabels": {"pod": "b", "pod2": "updated"}}}])
    check(None, "TCP", 80, XA_INGRESS_CLOSED, netpol_spec(pol))
    spec = netpol_spec(pol)
    next(p for p in spec["pods"] if (p["namespace"], p["name"]) == ("x", "b"))["labels"]["pod2"] = "updated"
    check(None, "TCP", 80, XA_FROM_XB_ONLY, spec)


def test_isolation_follows_the_target_label():
    """The e2e's "deny ingress access to updated pod": a policy for target=isolated isolates
    x/a only once x/a has that label."""
    pol = policy("deny-isolated", "x", {"podSelector": {"matchLabels": {"target": "isolated"}}, "policyTypes": ["Ingress"]})
    check(None, "TCP", 80, ALL_OPEN, netpol_spec(pol))
    spec = netpol_spec(pol)
    spec["pods"][0]["labels"]["target"] = "isolated"
    check(None, "TCP", 80, XA_INGRESS_CLOSED, spec)


# ---- empty vs absent, policyTypes defaulting ----------------------------------------------------
@pytest.mark.parametrize("rule, table", [
    ({}, ALL_OPEN),  # from absent: every source
    ({"from": []}, ALL_OPEN),  # from empty: every source, the same
    ({"from": None}, ALL_OPEN),
    ({"from": [{"podSelector": {}}]}, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   .   .   .   .   .   .
x/b    .   .   .   .   .   .   .   .   .
x/c    .   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
"""),  # empty podSelector alone: every pod of the policy's namespace
    ({"from": [{"namespaceSelector": {}}]}, ALL_OPEN),  # empty namespaceSelector: every pod of every namespace
    ({"from": [{"podSelector": {}, "namespaceSelector": {}}]}, ALL_OPEN),
    ({"ports": []}, ALL_OPEN),  # ports empty: every port
])
def test_empty_and_absent(rule, table):
    check([policy("p", "x", {"podSelector": POD_A, "ingress": [rule]})], "TCP", 80, table)


def test_empty_ingress_list_denies_all():
    check([policy("p", "x", {"podSelector": POD_A, "ingress": []})], "TCP", 80, XA_INGRESS_CLOSED)


@pytest.mark.parametrize("spec, table", [
    # egress rules and no policyTypes: Ingress and Egress (pod a: no ingress rule, egress to x only)
    ({"podSelector": POD_A, "egress": [{"to": [{"podSelector": {}}]}]}, """
      x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a    .   .   .   X   X   X   X   X   X
x/b    X   .   .   .   .   .   .   .   .
x/c    X   .   .   .   .   .   .   .   .
y/a    X   .   .   .   .   .   .   .   .
y/b    X   .   .   .   .   .   .   .   .
y/c    X   .   .   .   .   .   .   .   .
z/a    X   .   .   .   .   .   .   .   .
z/b    X   .   .   .   .   .   .   .   .
z/c    X   .   .   .   .   .   .   .   .
"""),
    # egress: [] and no policyTypes: Ingress only
    ({"podSelector": POD_A, "egress": []}, XA_INGRESS_CLOSED),
    # policyTypes [Egress]: the ingress rules given are not enforced, ingress not isolated
    ({"podSelector": POD_A, "policyTypes": ["Egress"], "ingress": [{"from": [{"podSelector": POD_B}]}]}, XA_EGRESS_CLOSED),
    # policyTypes [Ingress] with an egress section: egress not isolated
    ({"podSelector": POD_A, "policyTypes": ["Ingress"], "egress": [{"ports": [{"port": 9}]}]}, XA_INGRESS_CLOSED),
    # a duplicated type is the type (the API server accepts it)
    ({"podSelector": POD_A, "policyTypes": ["Egress", "Egress"]}, XA_EGRESS_CLOSED),
])
def test_policy_types_defaulting(spec, table):
    check([policy("p", "x", spec)], "TCP", 80, table)


# ---- who decided --------------------------------------------------------------------------------
def _model(*policies):
    c = from_spec(netpol_spec(*policies))
    return c, PolicyModel(c)


def test_verdicts_name_the_first_allowing_policy_and_the_isolated_side():
    c, m = _model(policy("allow-80", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}),
                  policy("allow-all", "x", {"podSelector": {}, "ingress": [{}]}),
                  policy("deny-egress-y-a", "y", {"podSelector": POD_A, "policyTypes": ["Egress"]}))
    ip = {p.key: p.ip for p in c.pods}
    xa = c.pod_index["x/a"]
    assert m.selected_by(xa, "Ingress") == (0, 1)
    assert m.selected_by(xa, "Egress") == ()
    assert m.selected_by(c.pod_index["y/a"], "Egress") == (2,)
    assert m.connection(ip["y/b"], ip["x/a"], 6, 80) == (True, "x/allow-80")  # first in spec order
    assert m.connection(ip["y/b"], ip["x/a"], 6, 81) == (True, "x/allow-all")
    assert m.connection(ip["y/a"], ip["x/a"], 6, 80) == (False, "isolated: egress of y/a")  # egress decides first
    assert m.connection(ip["y/b"], ip["y/c"], 6, 80) == (True, None)  # no policy applies
    assert m.egress(c.pod_index["y/a"], ip["x/a"], 6, 80) == (False, "isolated: egress of y/a")
    assert m.ingress(xa, ip["y/a"], 6, 80) == (True, "x/allow-80")
    assert m.isolated(xa, "Ingress") and not m.isolated(xa, "Egress")


def test_ingress_isolation_names_the_destination():
    c, m = _model(DENY_INGRESS, policy("egress-all", "y", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}))
    ip = {p.key: p.ip for p in c.pods}
    assert m.connection(ip["y/a"], ip["x/b"], 17, 80) == (False, "isolated: ingress of x/b")
    assert m.connection(ip["y/a"], ip["z/b"], 17, 80) == (True, "y/egress-all")


# ---- the exceptions and what is not a pod ---------------------------------------------------------
def test_node_of_the_pod_is_always_allowed_both_ways():
    c, m = _model(DENY_ALL)
    xa, xb = c.pod_index["x/a"], c.pod_index["x/b"]
    n1, n2 = c.node("node-1").ip, c.node("node-2").ip  # x/a runs on node-1, x/b on node-2
    assert c.pods[xa].node == "node-1" and c.pods[xb].node == "node-2"
    xa_ip = c.pods[xa].ip
    assert m.connection(n1, xa_ip, 6, 80) == (True, None)
    assert m.connection(xa_ip, n1, 6, 10250) == (True, None)
    assert m.connection(n2, xa_ip, 6, 80) == (False, "isolated: ingress of x/a")
    assert m.connection(xa_ip, n2, 6, 10250) == (False, "isolated: egress of x/a")


def test_a_pod_reaches_itself():
    c, m = _model(DENY_ALL)
    xa = c.pods[c.pod_index["x/a"]].ip
    assert m.connection(xa, xa, 6, 80) == (True, None)
    assert m.connection(xa, xa, 1, 0) == (True, None)


OUTSIDE = int(ipaddress.IPv4Address("8.8.8.8"))


def test_addresses_outside_the_cluster():
    c, m = _model(policy("egress-443", "x", {"podSelector": POD_A, "egress": [{"ports": [{"port": 443}]}]}),
                  policy("egress-any-ns", "x", {"podSelector": POD_B, "egress": [{"to": [{"namespaceSelector": {}}]}]}),
                  policy("egress-named", "x", {"podSelector": {"matchLabels": {"pod": "c"}},
                                               "egress": [{"ports": [{"port": "serve-80-tcp"}]}]}))
    xa, xb, xc = (c.pods[c.pod_index[k]].ip for k in ("x/a", "x/b", "x/c"))
    assert m.connection(xa, OUTSIDE, 6, 443) == (True, "x/egress-443")  # to absent: every address
    assert m.connection(xa, OUTSIDE, 6, 80)[0] is False
    assert m.connection(xb, OUTSIDE, 6, 443)[0] is False  # a selector matches pods only
    assert m.connection(xb, c.pods[c.pod_index["z/c"]].ip, 6, 443) == (True, "x/egress-any-ns")
    assert m.connection(xc, OUTSIDE, 6, 80)[0] is False  # no named port outside the cluster
    assert m.connection(xc, c.pods[c.pod_index["y/c"]].ip, 6, 80) == (True, "x/egress-named")
    # the outside is not a pod: no egress side. x/a's ingress is isolated: egress-443 has egress rules
    # and no policyTypes, which makes it Ingress and Egress
    assert m.connection(OUTSIDE, xa, 6, 80) == (False, "isolated: ingress of x/a")
    assert m.connection(OUTSIDE, c.pods[c.pod_index["y/a"]].ip, 6, 80) == (True, None)


def test_icmp_passes_a_rule_without_ports_only():
    c, m = _model(policy("any", "x", {"podSelector": POD_A, "ingress": [{"from": [{"namespaceSelector": {}}]}]}),
                  policy("tcp-80", "x", {"podSelector": POD_B, "ingress": [{"ports": [{"port": 80}]}]}))
    ya = c.pods[c.pod_index["y/a"]].ip
    assert m.connection(ya, c.pods[c.pod_index["x/a"]].ip, 1, 0) == (True, "x/any")
    assert m.connection(ya, c.pods[c.pod_index["x/b"]].ip, 1, 0) == (False, "isolated: ingress of x/b")


def test_sets_for_compilers():
    c, m = _model(to_a("b-c-not-x", [{"namespaceSelector": NOT_X, "podSelector": {
        "matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}},
        {"ipBlock": {"cidr": "172.16.1.0/24", "except": ["172.16.1.3/32"]}}], ns="y"))
    keys = [p.key for p in c.pods]
    assert [keys[i] for i in m.selected_pods(0)] == ["y/a"]
    and_peer, block = c.networkpolicies[0].ingress[0].peers
    assert [keys[i] for i in m.peer_pods(0, and_peer)] == ["y/b", "y/c", "z/b", "z/c"]
    assert [keys[i] for i in m.peer_pods(0, block)] == ["x/a", "x/c"]  # x/b is 172.16.1.3
    assert m.named_port(c.pod_index["x/a"], "serve-81-udp", 17) == 81
    assert m.named_port(c.pod_index["x/a"], "serve-81-udp", 6) is None
    assert m.named_port(c.pod_index["x/a"], "http", 6) is None
