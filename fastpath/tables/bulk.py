"""The argument checks every route table's bulk lookup shares (`mtrie`, `lpm`)."""

from __future__ import annotations

import numpy as np


def route_queries(routers, ips, ip_dtype, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(routers int64, ips as ``ip_dtype``, out int64[n]) for a bulk lookup; ValueError naming
    what does not fit (shapes, a given ``out`` of the wrong length or dtype)."""
    routers = np.ascontiguousarray(routers, dtype=np.int64)
    ips = np.ascontiguousarray(ips, dtype=ip_dtype)
    if routers.shape != ips.shape or routers.ndim != 1:
        raise ValueError(f"routers {routers.shape} and ips {ips.shape} must be 1-d of one length")
    if out is None:
        out = np.empty(routers.shape[0], np.int64)
    elif out.shape != routers.shape or out.dtype != np.int64:
        raise ValueError(f"out must be int64[{routers.shape[0]}], got {out.dtype}{list(out.shape)}")
    return routers, ips, out
