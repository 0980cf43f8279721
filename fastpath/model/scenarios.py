"""The built-in default scenario: the seed's cluster (see README, "The seed").

Three ESXi hosts carry a master and three workers on the node segment 172.15.0.0/24;
namespace kube-system is 172.16.1.0/24 and its kube-dns pod runs on worker-1 beside eight
other pods (nine in all, as in the seed's ``kubectl describe node``). A few more namespaces
give every traffic class something to cross: ``payments`` has a T1 with a service router on
the edge (its traffic hairpins through edge-1), and a DFW rule denies ``default`` -> ``db``.
One T0 with a service router on edge-1 and an uplink to 203.0.113.1 carries north-south.
kube-dns is a Service, as kubeadm installs it: ClusterIP 10.96.0.10, UDP and TCP 53 (and the
metrics port), its endpoints the two CoreDNS pods (kube-dns on worker-1, coredns-2 on worker-2).
"""

from __future__ import annotations

from .cluster import Cluster
from .spec import from_spec

DNS_PORTS = [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
             {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
             {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]
"""CoreDNS's container ports, as its Deployment declares them."""

KUBE_DNS_SERVICE: dict = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "kube-dns", "namespace": "kube-system",
                 "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                            "kubernetes.io/name": "CoreDNS"}},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
             "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"},
                       {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": "dns-tcp"},
                       {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": "metrics"}]},
}
"""kube-dns as kubeadm installs it: the tenth address of the default service range."""

SEED_SPEC: dict = {
    "cluster": {"name": "seed", "pod_cidr": "172.16.0.0/16"},
    "node_network": {"subnet": "172.15.0.0/24"},
    "hosts": [{"name": "esx-1"}, {"name": "esx-2"}, {"name": "esx-3"}],
    "edges": [{"name": "edge-1"}],
    "nodes": [
        {"name": "master", "role": "master", "host": "esx-1"},
        {"name": "worker-1", "host": "esx-1"},
        {"name": "worker-2", "host": "esx-2"},
        {"name": "worker-3", "host": "esx-3"},
    ],
    "namespaces": [
        {"name": "kube-system", "subnet": "172.16.1.0/24"},
        {"name": "default", "subnet": "172.16.2.0/24"},
        {"name": "web", "subnet": "172.16.3.0/24"},
        {"name": "db", "subnet": "172.16.4.0/24"},
        {"name": "payments", "subnet": "172.16.5.0/24", "t1": {"edge": "edge-1"}},
    ],
    "pods": [
        # worker-1: nine pods, kube-dns among them (the seed's node)
        {"name": "kube-dns", "namespace": "kube-system", "node": "worker-1", "labels": {"k8s-app": "kube-dns"},
         "ports": DNS_PORTS},
        {"name": "heapster", "namespace": "kube-system", "node": "worker-1"},
        {"name": "kubernetes-dashboard", "namespace": "kube-system", "node": "worker-1"},
        {"name": "monitoring-grafana", "namespace": "kube-system", "node": "worker-1"},
        {"name": "monitoring-influxdb", "namespace": "kube-system", "node": "worker-1"},
        {"name": "nginx-1", "namespace": "default", "node": "worker-1", "labels": {"app": "nginx"}},
        {"name": "frontend-1", "namespace": "web", "node": "worker-1", "labels": {"app": "frontend"}},
        {"name": "postgres-0", "namespace": "db", "node": "worker-1", "labels": {"app": "postgres"}},
        {"name": "checkout-1", "namespace": "payments", "node": "worker-1", "labels": {"app": "checkout"}},
        # the other nodes
        {"name": "coredns-2", "namespace": "kube-system", "node": "worker-2", "labels": {"k8s-app": "kube-dns"},
         "ports": DNS_PORTS},
        {"name": "nginx-2", "namespace": "default", "node": "worker-2", "labels": {"app": "nginx"}},
        {"name": "frontend-2", "namespace": "web", "node": "worker-2", "labels": {"app": "frontend"}},
        {"name": "postgres-1", "namespace": "db", "node": "worker-3", "labels": {"app": "postgres"}},
        {"name": "nginx-3", "namespace": "default", "node": "worker-3", "labels": {"app": "nginx"}},
        {"name": "checkout-2", "namespace": "payments", "node": "worker-3", "labels": {"app": "checkout"}},
        {"name": "kube-proxy-master", "namespace": "kube-system", "node": "master"},
    ],
    "t0": {
        "name": "t0",
        "edge": "edge-1",
        "uplinks": [{"name": "uplink-1", "ip": "203.0.113.2/24", "next_hop": "203.0.113.1"}],
        "routes": [{"prefix": "0.0.0.0/0", "next_hop": "203.0.113.1"}],
    },
    "services": [KUBE_DNS_SERVICE],
    "dfw": {
        "default": "allow",
        "rules": [{"name": "deny-default-to-db", "action": "deny", "src": "172.16.2.0/24", "dst": "172.16.4.0/24"}],
    },
}


def default_scenario() -> Cluster:
    """The seed's cluster, fully allocated."""
    return from_spec(SEED_SPEC)
