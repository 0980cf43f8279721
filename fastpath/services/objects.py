"""Kubernetes Services and their endpoints, as fastpath holds them once the spec is read.

A `Service` is what the API server stores (type, cluster IP, ports, selector, and for a
LoadBalancer the external IP its controller — NCP — wrote into ``status.loadBalancer``); a `Backend` is
one ready endpoint of one service port as kube-proxy programs it: an address and the port
number the target port resolved to there. Endpoints come from the spec's EndpointSlices when a
service has any, else from the pods its selector picks (what the EndpointSlice controller
would write: every pod in the service's namespace with all the selector's labels, a named
target port resolved on each pod's own container ports).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
HEADLESS = "None"


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str  # "" when the service has one unnamed port
    proto: int  # IP protocol number (TCP 6, UDP 17, SCTP 132)
    port: int
    target: int | str  # a number, or a container port name resolved per endpoint


@dataclass(frozen=True, slots=True)
class Backend:
    """A ready endpoint of a service port: its address, the port number the target resolved to
    on it, and its logical port (pods first, then nodes, as the compiled port table; -1 for
    an address outside the cluster's endpoints)."""

    ip: int
    port: int
    lport: int


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: str  # one of SERVICE_TYPES
    cluster_ip: int | None  # None: headless or ExternalName (no virtual IP: nothing to translate)
    ports: tuple[ServicePort, ...]
    selector: dict | None  # None: endpoints only from EndpointSlices
    backends: tuple[tuple[Backend, ...], ...] = ()  # per port, ordered by address then port
    raw: dict | None = field(default=None, compare=False)  # as the spec gave it, noise removed (for to_spec)
    lb_ip: int | None = None  # type LoadBalancer: its external IP, the virtual server's VIP on the cluster T1's SR

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
