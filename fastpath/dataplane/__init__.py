"""Stage kernels fused into one pipeline over a packet batch, its counters and traces."""

from .api import Dataplane, RunResult

__all__ = ["Dataplane", "RunResult"]
