"""`compile_cluster`: the model -> the immutable `Tables` bundle, one builder per table kind."""

from __future__ import annotations

from ..model.cluster import Cluster
from .bundle import Tables
from .dfw import compile_dfw
from .ports import compile_ports, pack_ports
from .routers import compile_routers
from .switching import compile_switching
from ..tables import lb as lb_table
from ..tables import snat as snat_table
from ..tables.services import build as build_services


def compile_cluster(cluster: Cluster) -> Tables:
    """Compile every table of `cluster` (see `fastpath.compile.bundle` for the layout)."""
    ports = compile_ports(cluster)
    routers = compile_routers(cluster)
    dfw = compile_dfw(cluster, ports["port_ip"])
    ports["port_dfw_egress"], ports["port_dfw_ingress"] = dfw.pop("port_dfw_egress"), dfw.pop("port_dfw_ingress")
    return Tables(
        n_pods=len(cluster.pods),
        n_nodes=len(cluster.nodes),
        n_hosts=len(cluster.hosts),
        n_segments=len(cluster.segments),
        n_routers=len(routers["router_names"]),
        n_routes=routers["route_kind"].shape[0],
        n_dfw_rules=len(cluster.dfw_rules),
        port_rec=pack_ports(ports),
        **{k: v for k, v in ports.items() if not k.startswith("port_")},
        **compile_switching(cluster, ports),
        **routers,
        n_dfw_rows=dfw["dfw_row_decision"].shape[0],
        **dfw,
        uplink_names=tuple(u.name for u in cluster.uplinks),
        services=build_services(cluster),
        lb=lb_table.build(cluster, routers["router_names"]),
        snat=snat_table.build(cluster, routers["router_names"]),
    )
