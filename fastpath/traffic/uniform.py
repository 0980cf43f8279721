"""Uniform pod-to-pod traffic: every packet picks its source and destination pod uniformly.

Seeded (`numpy.random.Generator`), streamed: `uniform_pod_to_pod` yields batches of at most
``chunk`` packets, so memory stays flat at any count, and the same seed gives the same
packets whatever the chunk size. MACs are left 0: the sender's stack resolves them, as a pod
would (ARP on-link, else the gateway).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..model.cluster import Cluster
from ..packets import INGRESS_POD, PacketBatch, make_batch

DEFAULT_CHUNK = 1 << 20


def uniform_pod_to_pod(cluster: Cluster, packets: int, *, seed: int = 0, length: int = 100, ttl: int = 64,
                       proto: int = 17, chunk: int = DEFAULT_CHUNK) -> Iterator[PacketBatch]:
    """Yield batches totalling ``packets`` uniformly random pod -> pod packets."""
    n_pods = len(cluster.pods)
    if n_pods == 0:
        raise ValueError("the cluster has no pods to send between")
    if packets < 0 or chunk <= 0:
        raise ValueError("packets must be >= 0 and chunk > 0")
    pod_ip = cluster.pods.ip
    # one stream of random words per packet index: chunking does not change the packets
    block = 1 << 16
    done = 0
    while done < packets:
        n = min(chunk, packets - done)
        src = np.empty(n, np.int64)
        dst = np.empty(n, np.int64)
        ports = np.empty(n, np.int64)
        k = 0
        while k < n:
            j = (done + k) // block
            off = (done + k) % block
            take = min(block - off, n - k)
            rng = np.random.default_rng([seed, j])
            words = rng.integers(0, 1 << 62, size=(block, 3), dtype=np.int64)[off:off + take]
            src[k:k + take] = words[:, 0] % n_pods
            dst[k:k + take] = words[:, 1] % n_pods
            ports[k:k + take] = words[:, 2]
            k += take
        yield make_batch(ingress_kind=np.full(n, INGRESS_POD, np.uint8), ingress_id=src.astype(np.int32),
                         src_ip=pod_ip[src], dst_ip=pod_ip[dst], proto=proto, sport=(ports & 0xFFFF) | 1024,
                         dport=(ports >> 16) & 0xFFFF, ttl=ttl, length=length)
        done += n
