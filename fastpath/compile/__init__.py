"""Model -> immutable bundle of tables (`Tables`), one module per group of tables."""

from .bundle import (COMPILE_MAX_LOAD, L2_ROUTER, OVS_UPLINK, OVS_VLAN_BITS, PORT_NODE,
                     PORT_POD, ROUTE_CONNECTED, ROUTE_KINDS, ROUTE_LOCAL, ROUTE_ROUTER, ROUTE_UPLINK, RTR_T0,
                     RTR_T1, TableSize, Tables)
from .compiler import compile_cluster

__all__ = [
    "COMPILE_MAX_LOAD", "L2_ROUTER", "OVS_UPLINK", "OVS_VLAN_BITS", "PORT_NODE", "PORT_POD",
    "ROUTE_CONNECTED", "ROUTE_KINDS", "ROUTE_LOCAL", "ROUTE_ROUTER", "ROUTE_UPLINK", "RTR_T0", "RTR_T1", "TableSize",
    "Tables", "compile_cluster",
]
