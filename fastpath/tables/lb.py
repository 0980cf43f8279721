"""The load balancer's table: the LoadBalancer Services' virtual servers on the load balancer T1's SR.

Layout
------
::

    vs:      ServiceTable — (LoadBalancer IP, proto, port) -> backends (`fastpath.tables.services`,
                            built with ``lb=True``: keyed by the external IP, no service CIDR)
    sr:      int          — the router instance id of the load balancer T1's SR
                            (`Cluster.lb_router`), in the compiled tables' numbering
    snat_ip: int          — the T1's uplink IP: the backends see connections come from it
    n_pods:  int          — logical ports below it are pods (a backend's ``be_lport``)

Built by `fastpath.compile` into `Tables.lb` (None: no Service has a LoadBalancer IP); the second
pass that reads it is the data plane's (`fastpath.dataplane.lb`).
"""

from __future__ import annotations

from typing import NamedTuple

from ..model.cluster import sr_name
from . import services
from .services import ServiceTable


class LbTable(NamedTuple):
    vs: ServiceTable
    sr: int
    snat_ip: int
    n_pods: int


def build(cluster, router_names) -> LbTable | None:
    """The virtual servers of ``cluster``, or None when it has none; ``router_names``: the
    compiled router instances' names in id order (`Tables.router_names`)."""
    if not cluster.lb_services:
        return None
    lb = cluster.lb_router
    return LbTable(services.build(cluster, lb=True), list(router_names).index(sr_name(lb.name)), lb.link_t1_ip,
                   len(cluster.pods))
