"""The examples of the Kubernetes NetworkPolicy documentation page (concepts/services-networking/
network-policies), on a small cluster made for them, as truth tables of (source, destination,
protocol, port) -> expected verdict, derived from the page's own explanation of each example.

The cluster: namespace ``default`` (172.20.0.0/24) with pods db (role=db), frontend
(role=frontend) and other (role=other); ``myproject`` (172.17.1.0/24, label project=myproject)
with a pod client; ``elsewhere`` (172.17.2.0/24) with a pod client. So myproject's client sits
inside the test-network-policy's ``except`` 172.17.1.0/24 and elsewhere's inside its cidr.
"""

from __future__ import annotations

import ipaddress

import pytest

from fastpath.model import from_spec
from fastpath.policy.evaluate import PolicyModel
from fastpath.policy.netpol_model import policy

TCP, UDP, SCTP, ICMP = 6, 17, 132, 1

TEST_NETWORK_POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "test-network-policy", "namespace": "default"},
    "spec": {
        "podSelector": {"matchLabels": {"role": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{
            "from": [{"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                     {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                     {"podSelector": {"matchLabels": {"role": "frontend"}}}],
            "ports": [{"protocol": "TCP", "port": 6379}],
        }],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 5978}]}],
    },
}

MULTI_PORT_EGRESS = policy("multi-port-egress", "default", {
    "podSelector": {"matchLabels": {"role": "db"}}, "policyTypes": ["Egress"],
    "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768}]}],
})
DENY_INGRESS = policy("default-deny-ingress", "default", {"podSelector": {}, "policyTypes": ["Ingress"]})
ALLOW_ALL_INGRESS = policy("allow-all-ingress", "default", {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]})
DENY_EGRESS = policy("default-deny-egress", "default", {"podSelector": {}, "policyTypes": ["Egress"]})
ALLOW_ALL_EGRESS = policy("allow-all-egress", "default", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]})
DENY_ALL = policy("default-deny-all", "default", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
BY_NAMESPACE_NAME = policy("from-myproject", "default", {
    "podSelector": {"matchLabels": {"role": "db"}},
    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "myproject"}}}]}],
})


def docs_spec(*policies):
    return {
        "cluster": {"name": "docs", "pod_cidr": "172.16.0.0/12"},
        "node_network": {"subnet": "172.15.0.0/24"},
        "hosts": [{"name": "esx-1"}],
        "nodes": [{"name": "node-1", "host": "esx-1"}, {"name": "node-2", "host": "esx-1"}],
        "namespaces": [{"name": "default", "subnet": "172.20.0.0/24"},
                       {"name": "myproject", "subnet": "172.17.1.0/24", "labels": {"project": "myproject"}},
                       {"name": "elsewhere", "subnet": "172.17.2.0/24"}],
        "pods": [{"name": "db", "namespace": "default", "node": "node-1", "labels": {"role": "db"}},
                 {"name": "frontend", "namespace": "default", "node": "node-2", "labels": {"role": "frontend"}},
                 {"name": "other", "namespace": "default", "node": "node-2", "labels": {"role": "other"}},
                 {"name": "client", "namespace": "myproject", "node": "node-2"},
                 {"name": "client", "namespace": "elsewhere", "node": "node-2"}],
        "networkpolicies": list(policies),
    }


def run(policies, table):
    c = from_spec(docs_spec(*policies))
    m = PolicyModel(c)

    def addr(name):
        return c.pod(name).ip if "/" in name else int(ipaddress.IPv4Address(name))

    for src, dst, proto, port, want in table:
        got = m.connection(addr(src), addr(dst), proto, port)
        assert got == want, f"{src} -> {dst} {proto}/{port}: got {got}, want {want}"


ISO_IN = "isolated: ingress of default/db"
ISO_OUT = "isolated: egress of default/db"
TNP = "default/test-network-policy"


def test_test_network_policy():
    run([TEST_NETWORK_POLICY], [
        # ingress to db on TCP 6379: frontend (podSelector), myproject's pods (namespaceSelector — even though
        # the client's address is in the ipBlock's except: peers are ORed), 172.17.0.0/16 but 172.17.1.0/24
        ("default/frontend", "default/db", TCP, 6379, (True, TNP)),
        ("myproject/client", "default/db", TCP, 6379, (True, TNP)),
        ("elsewhere/client", "default/db", TCP, 6379, (True, TNP)),
        ("172.17.3.9", "default/db", TCP, 6379, (True, TNP)),
        ("172.17.1.9", "default/db", TCP, 6379, (False, ISO_IN)),
        ("172.18.0.9", "default/db", TCP, 6379, (False, ISO_IN)),
        ("default/other", "default/db", TCP, 6379, (False, ISO_IN)),
        ("default/frontend", "default/db", TCP, 6380, (False, ISO_IN)),
        ("default/frontend", "default/db", UDP, 6379, (False, ISO_IN)),
        ("default/frontend", "default/db", ICMP, 0, (False, ISO_IN)),
        # egress of db: TCP 5978 to 10.0.0.0/24 only
        ("default/db", "10.0.0.5", TCP, 5978, (True, TNP)),
        ("default/db", "10.0.1.5", TCP, 5978, (False, ISO_OUT)),
        ("default/db", "10.0.0.5", TCP, 5979, (False, ISO_OUT)),
        ("default/db", "10.0.0.5", UDP, 5978, (False, ISO_OUT)),
        ("default/db", "default/frontend", TCP, 80, (False, ISO_OUT)),
        # pods the policy does not select are not restricted
        ("default/other", "default/frontend", TCP, 80, (True, None)),
        ("default/frontend", "10.0.1.5", TCP, 80, (True, None)),
    ])


def test_default_deny_ingress_and_allow_all_ingress():
    run([DENY_INGRESS], [
        ("default/frontend", "default/db", TCP, 80, (False, ISO_IN)),
        ("myproject/client", "default/other", UDP, 53, (False, "isolated: ingress of default/other")),
        ("default/db", "myproject/client", TCP, 80, (True, None)),  # egress untouched
        ("default/db", "10.0.0.1", ICMP, 0, (True, None)),
    ])
    run([DENY_INGRESS, ALLOW_ALL_INGRESS], [
        ("default/frontend", "default/db", TCP, 80, (True, "default/allow-all-ingress")),
        ("172.31.0.1", "default/db", ICMP, 0, (True, "default/allow-all-ingress")),
    ])


def test_default_deny_egress_and_allow_all_egress():
    run([DENY_EGRESS], [
        ("default/db", "default/frontend", TCP, 80, (False, ISO_OUT)),
        ("default/db", "10.0.0.1", UDP, 53, (False, ISO_OUT)),
        ("myproject/client", "default/db", TCP, 80, (True, None)),  # ingress untouched
    ])
    run([DENY_EGRESS, ALLOW_ALL_EGRESS], [
        ("default/db", "10.0.0.1", UDP, 53, (True, "default/allow-all-egress")),
        ("default/db", "elsewhere/client", SCTP, 9, (True, "default/allow-all-egress")),
    ])


def test_default_deny_all():
    run([DENY_ALL], [
        ("default/db", "default/frontend", TCP, 80, (False, ISO_OUT)),
        ("myproject/client", "default/db", TCP, 80, (False, ISO_IN)),
        ("myproject/client", "elsewhere/client", TCP, 80, (True, None)),
    ])


@pytest.mark.parametrize("port, proto, want", [
    (32000, TCP, True), (32768, TCP, True), (32500, TCP, True),
    (31999, TCP, False), (32769, TCP, False), (32000, UDP, False), (32000, SCTP, False),
])
def test_multi_port_egress(port, proto, want):
    run([MULTI_PORT_EGRESS], [
        ("default/db", "10.0.0.7", proto, port, (True, "default/multi-port-egress") if want else (False, ISO_OUT)),
    ])
    run([MULTI_PORT_EGRESS], [("default/db", "10.0.1.7", TCP, 32000, (False, ISO_OUT))])


def test_namespace_by_its_name():
    run([BY_NAMESPACE_NAME], [
        ("myproject/client", "default/db", TCP, 80, (True, "default/from-myproject")),
        ("elsewhere/client", "default/db", TCP, 80, (False, ISO_IN)),
        ("default/frontend", "default/db", TCP, 80, (False, ISO_IN)),
    ])


def test_node_traffic_is_always_allowed():
    """"traffic to and from the node where a Pod is running is always allowed": db runs on node-1."""
    c = from_spec(docs_spec(DENY_ALL))
    m = PolicyModel(c)
    db, n1, n2 = c.pod("default/db").ip, c.node("node-1").ip, c.node("node-2").ip
    assert m.connection(n1, db, TCP, 8080) == (True, None)
    assert m.connection(db, n1, TCP, 10250) == (True, None)
    assert m.connection(n2, db, TCP, 8080) == (False, ISO_IN)
    assert m.connection(db, n2, TCP, 10250) == (False, ISO_OUT)
