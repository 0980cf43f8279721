"""The distributed firewall as rule columns, in rule order (first match wins)."""

from __future__ import annotations

import numpy as np

from ..model.cluster import Cluster
from .bundle import DFW_ACTIONS


def compile_dfw(c: Cluster) -> dict:
    rules = c.dfw_rules

    def col(fn, dtype) -> np.ndarray:
        return np.array([fn(r) for r in rules], dtype=dtype)

    return {
        "dfw_src_net": col(lambda r: int(r.src.network_address), np.uint32),
        "dfw_src_mask": col(lambda r: int(r.src.netmask), np.uint32),
        "dfw_dst_net": col(lambda r: int(r.dst.network_address), np.uint32),
        "dfw_dst_mask": col(lambda r: int(r.dst.netmask), np.uint32),
        "dfw_proto": col(lambda r: r.proto, np.uint8),
        "dfw_dport_lo": col(lambda r: r.dport_lo, np.uint16),
        "dfw_dport_hi": col(lambda r: r.dport_hi, np.uint16),
        "dfw_action": col(lambda r: DFW_ACTIONS.index(r.action), np.uint8),
        "dfw_default": DFW_ACTIONS.index(c.dfw_default),
        "dfw_rule_names": tuple(r.name for r in rules),
    }
