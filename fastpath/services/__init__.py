"""Kubernetes Services: the objects (`objects`), reading them from a spec (`parse`), and
kube-proxy's choice of a backend (`choose`), in plain Python: the reference the compiled
service table (`fastpath.tables.services`) is tested against."""

from __future__ import annotations

from .objects import Backend, Service, ServicePort  # noqa: F401

_M64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """splitmix64's finalizer on a 64-bit int."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def flow_hash(client_ip: int, vip: int, proto: int, client_port: int, port: int, seed: int) -> int:
    """The seeded hash of a connection's 5-tuple as its client sent it (to the cluster IP):
    ``mix64(k1 ^ mix64(k0 ^ seed))`` with ``k0 = client_ip << 32 | vip`` and
    ``k1 = proto << 32 | client_port << 16 | port``."""
    k0 = (client_ip << 32 | vip) & _M64
    k1 = (proto << 32 | client_port << 16 | port) & _M64
    return _mix64(k1 ^ _mix64(k0 ^ (seed & _M64)))


def choose(backends, client_ip: int, vip: int, proto: int, client_port: int, port: int, seed: int):
    """The backend kube-proxy sends this connection to (a flow sticks to one), or None when
    there is none: ``backends[(flow_hash(...) >> 32) * len(backends) >> 32]`` (the hash's high
    half scaled to the count: uniform as a modulo, without a division)."""
    if not backends:
        return None
    return backends[(flow_hash(client_ip, vip, proto, client_port, port, seed) >> 32) * len(backends) >> 32]


def service_port(cluster, vip: int, proto: int, port: int):
    """(service index, port index) of a cluster IP's port, or None (no such cluster IP or port)."""
    return _port_of(cluster, cluster.service_by_ip.get(vip), proto, port)


def lb_port(cluster, vip: int, proto: int, port: int):
    """(service index, port index) of a LoadBalancer's virtual server (its external IP and a
    service port), or None."""
    return _port_of(cluster, cluster.service_by_lb_ip.get(vip), proto, port)


def _port_of(cluster, k: int | None, proto: int, port: int):
    """(k, port index) of Service k's port (proto, port), or None (no Service, or no such port)."""
    if k is None:
        return None
    for j, sp in enumerate(cluster.services[k].ports):
        if sp.proto == proto and sp.port == port:
            return k, j
    return None


def backend_of(cluster, client_ip: int, vip: int, proto: int, client_port: int, port: int):
    """The `Backend` a connection to a cluster IP's port goes to; None when the address is no
    cluster IP's port or the port has no ready endpoint."""
    hit = service_port(cluster, vip, proto, port)
    if hit is None:
        return None
    k, j = hit
    return choose(cluster.services[k].backends[j], client_ip, vip, proto, client_port, port,
                  cluster.settings.service_hash_seed)
