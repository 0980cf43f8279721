"""The readable one-packet walk over the model: the executable specification."""

from .walk import Hop, Ingress, Packet, Result, Tunnel, walk
from .endpoints import resolve_destination, resolve_source, trace

__all__ = ["Hop", "Ingress", "Packet", "Result", "Tunnel", "walk", "resolve_source", "resolve_destination", "trace"]
