"""The distributed firewall: the model's rules -> rule columns (`fastpath.tables.dfw` holds the
layout, the builder, the scalar lookup and the kernel)."""

from __future__ import annotations

from ..model.cluster import Cluster
from ..tables import dfw


def compile_dfw(c: Cluster) -> dict:
    return dfw.build(c.dfw_rules, c.dfw_default)
