"""fastpath: a forwarding-plane engine for scale studies of Kubernetes overlay networks."""

__version__ = "0.1.0"
