"""Seeded traffic that fills packet batches, chunk by chunk."""

from .uniform import uniform_pod_to_pod

__all__ = ["uniform_pod_to_pod"]
