"""What the user describes: cluster objects, addressing, spec files, generator, scenarios."""

from .cluster import Capacity, Cluster, DfwRule, Host, Node, Pod, PodTable, Router, Segment, Settings, SpecError, StaticRoute, TrafficProfileDef, Uplink
from .generate import generate
from .scenarios import default_scenario
from .spec import dump, from_spec, load, parse_text, to_spec
from .validate import validate

__all__ = [
    "Capacity", "Cluster", "DfwRule", "Host", "Node", "Pod", "PodTable", "Router", "Segment", "Settings", "SpecError",
    "StaticRoute", "TrafficProfileDef", "Uplink", "default_scenario", "dump", "from_spec", "generate", "load", "parse_text", "to_spec",
    "validate",
]
