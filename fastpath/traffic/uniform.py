"""Uniform pod-to-pod traffic: every packet picks its source and destination pod uniformly.

Seeded, streamed: `uniform_pod_to_pod` yields batches of at most ``chunk`` packets, so memory
stays flat at any count, and the same seed gives the same packets whatever the chunk size
(block j of `words.BLOCK` packets draws its words from ``numpy.random.default_rng([seed, j])``,
3 per packet: source, destination, ports). ``start`` begins the stream at any packet. MACs
are left 0: the sender's stack resolves them, as a pod would (ARP on-link, else the gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Iterator

import numpy as np

from ..model.cluster import Cluster
from ..packets import INGRESS_POD, PacketBatch, make_batch
from .chunks import Maker, check_run
from .words import BLOCK

DEFAULT_CHUNK = 1 << 20
UNIFORM_WORDS = 3
"""Words per packet: source, destination, ports."""


def uniform_maker(cluster: Cluster, *, seed: int = 0, length: int = 100, ttl: int = 64, proto: int = 17,
                  lengths: Callable[[int, int], np.ndarray] | None = None) -> Maker:
    """The blocks of `uniform_pod_to_pod`; ``lengths(j, m)``, when given, replaces the fixed
    ``length`` of block j's first m packets."""
    n_pods = len(cluster.pods)
    if n_pods == 0:
        raise ValueError("the cluster has no pods to send between")
    pod_ip = cluster.pods.ip

    def block(j: int, m: int) -> dict:
        words = np.random.default_rng([seed, j]).integers(0, 1 << 62, size=(BLOCK, UNIFORM_WORDS), dtype=np.int64)[:m]
        cols = {"src": words[:, 0] % n_pods, "dst": words[:, 1] % n_pods, "ports": words[:, 2]}
        if lengths is not None:
            cols["length"] = lengths(j, m)
        return cols

    def batch(cols: dict) -> PacketBatch:
        src, ports = cols["src"], cols["ports"]
        return make_batch(ingress_kind=np.full(src.shape[0], INGRESS_POD, np.uint8), ingress_id=src.astype(np.int32),
                          src_ip=pod_ip[src], dst_ip=pod_ip[cols["dst"]], proto=proto, sport=(ports & 0xFFFF) | 1024,
                          dport=(ports >> 16) & 0xFFFF, ttl=ttl, length=cols.get("length", length))

    return Maker(block, batch)


def uniform_pod_to_pod(cluster: Cluster, packets: int, *, seed: int = 0, length: int = 100, ttl: int = 64,
                       proto: int = 17, chunk: int = DEFAULT_CHUNK, start: int = 0, pool: Executor | None = None,
                       workers: int = 1) -> Iterator[PacketBatch]:
    """Yield batches totalling ``packets`` uniformly random pod -> pod packets, from packet
    ``start``; ``pool``, ``workers``: each made in parts at once (`Maker.batches`)."""
    check_run(packets, seed, chunk, start)
    yield from uniform_maker(cluster, seed=seed, length=length, ttl=ttl, proto=proto).batches(start, packets, chunk,
                                                                                              pool, workers)
