"""The Service table: kube-proxy's view of every Service port, compiled for the data plane.

Layout (SP service ports with a cluster IP, B backends)
-------------------------------------------------------
::

    vip:        ExactTable — (cluster IP, proto << 16 | port) -> service port id (sp)
    sp_service: int32[SP]   — the Service (index into `Cluster.services`)
    sp_first:   int32[SP+1] — CSR: sp's backends are rows sp_first[sp] .. sp_first[sp+1]-1,
                              in the order of `Service.backends` (by address)
    be_ip:      uint32[B]   — the backend's address
    be_port:    uint16[B]   — the target port resolved on it
    be_lport:   int32[B]    — its logical port (pods, then nodes); -1 outside the cluster
    net, mask:  uint32      — the service CIDR: a destination outside it is no cluster IP
    seed:       uint64      — the backend hash's seed (``cluster.service_hash_seed``)

The choice is `fastpath.services.flow_hash`'s, computed here with the exact table's splitmix64
(`fastpath.tables.exact.mix64`); tests hold the two to each other.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import jit
from . import exact
from .exact import ExactTable, mix64


class ServiceTable(NamedTuple):
    vip_buckets: np.ndarray
    vip_seed: np.uint64
    sp_service: np.ndarray
    sp_first: np.ndarray
    be_ip: np.ndarray
    be_port: np.ndarray
    be_lport: np.ndarray
    net: np.uint32
    mask: np.uint32
    seed: np.uint64

    @property
    def n_ports(self) -> int:
        return self.sp_service.shape[0]


def build(cluster, lb: bool = False) -> ServiceTable:
    """The table of ``cluster.services`` (empty when there are none); ``lb``: of their virtual
    servers instead (keyed by the LoadBalancer IP; no CIDR: ``net`` = ``mask`` = 0)."""
    k0, k1, svc, first, ip, port, lport = [], [], [], [0], [], [], []
    for i, s in enumerate(cluster.services):
        vip = s.lb_ip if lb else s.cluster_ip
        if vip is None:
            continue
        for sp, backends in zip(s.ports, s.backends):
            k0.append(vip)
            k1.append(sp.proto << 16 | sp.port)
            svc.append(i)
            for be in backends:
                ip.append(be.ip)
                port.append(be.port)
                lport.append(be.lport)
            first.append(len(ip))
    vip: ExactTable = exact.build(np.array(k0, np.uint64), np.array(k1, np.uint64), np.arange(len(k0), dtype=np.int64))
    net = cluster.settings.service_cidr
    return ServiceTable(vip.buckets, np.uint64(vip.seed), np.array(svc, np.int32), np.array(first, np.int32),
                        np.array(ip, np.uint32), np.array(port, np.uint16), np.array(lport, np.int32),
                        np.uint32(0 if lb else int(net.network_address)), np.uint32(0 if lb else int(net.netmask)),
                        np.uint64(cluster.settings.service_hash_seed))


def lookup(t: ServiceTable, ip: int, proto: int, port: int) -> int:
    """The service port id of (cluster IP, protocol, port), -1 if none (plain Python)."""
    if (ip & int(t.mask)) != int(t.net):
        return -1
    return exact.lookup(ExactTable(t.vip_buckets, t.vip_seed, t.n_ports), ip, proto << 16 | port)


@jit(inline="always")
def flow_hash(client_ip, vip, proto, client_port, port, seed):
    """`fastpath.services.flow_hash` for kernels (uint64 arithmetic wraps as the reference masks)."""
    k0 = np.uint64(client_ip) << np.uint64(32) | np.uint64(vip)
    k1 = np.uint64(proto) << np.uint64(32) | np.uint64(client_port) << np.uint64(16) | np.uint64(port)
    return mix64(k1 ^ mix64(k0 ^ np.uint64(seed)))


@jit(inline="always")
def service_port(st, ip, proto, port):
    """The service port id of (ip, proto, port) for kernels; -1 if it is no cluster IP's."""
    if (np.uint32(ip) & st.mask) != st.net:
        return np.int64(-1)
    return exact.get(st.vip_buckets, st.vip_seed, np.uint64(ip), np.uint64(proto) << np.uint64(16) | np.uint64(port))


@jit(inline="always")
def choose(st, sp, client_ip, vip, proto, client_port, port):
    """The backend row of service port ``sp`` for this connection; -1 when it has none."""
    return pick(st, sp, flow_hash(client_ip, vip, proto, client_port, port, st.seed) >> np.uint64(32))


@jit(inline="always")
def pick(st, sp, h):
    """`choose` given the high half ``h`` of the connection's `flow_hash`."""
    lo = np.int64(st.sp_first[sp])
    n = np.int64(st.sp_first[sp + 1]) - lo
    if n <= 0:
        return np.int64(-1)
    return lo + np.int64((h * np.uint64(n)) >> np.uint64(32))


@jit
def _choices(st, client, vip, proto, client_port, port, sp_out, be_out):
    last_ip = np.uint32(0)  # the last (address, proto, port) and its answer: traffic comes in runs
    last_pp = np.int64(-1)
    last_sp = np.int64(-1)
    for i in range(client.shape[0]):
        pp = np.int64(proto[i]) << 16 | np.int64(port[i])
        if vip[i] == last_ip and pp == last_pp:
            sp = last_sp
        else:
            sp = service_port(st, vip[i], proto[i], port[i])
            last_ip, last_pp, last_sp = vip[i], pp, sp
        sp_out[i] = sp
        be_out[i] = np.int64(-1) if sp < 0 else choose(st, sp, client[i], vip[i], proto[i], client_port[i], port[i])


def choices(st: ServiceTable, client, vip, proto, client_port, port) -> tuple[np.ndarray, np.ndarray]:
    """(int64[n] service port id or -1, int64[n] backend row or -1) of each connection."""
    n = len(client)
    sp, be = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    if st.n_ports and n:
        _choices(st, *(np.ascontiguousarray(a) for a in (client, vip, proto, client_port, port)), sp, be)
    return sp, be


@jit
def _backend_ports(st, client, vip, proto, client_port, port, out):
    for i in range(client.shape[0]):
        sp = service_port(st, vip[i], proto[i], port[i])
        be = np.int64(-1) if sp < 0 else choose(st, sp, client[i], vip[i], proto[i], client_port[i], port[i])
        out[i] = -1 if be < 0 else st.be_lport[be]


def backend_ports(st: ServiceTable, client, vip, proto, client_port, port) -> np.ndarray:
    """int64[n]: the logical port of the backend each connection to a cluster IP goes to; -1
    for no cluster IP's port, no ready endpoint, or an endpoint outside the cluster."""
    out = np.empty(len(client), np.int64)
    if st.n_ports:
        _backend_ports(st, *(np.ascontiguousarray(a) for a in (client, vip, proto, client_port, port)), out)
    else:
        out.fill(-1)
    return out


def of_cluster(cluster) -> ServiceTable:
    """The table of a cluster's services, built once and kept on it (a cluster is immutable)."""
    if "_service_table" not in cluster.__dict__:
        cluster.__dict__["_service_table"] = build(cluster)
    return cluster.__dict__["_service_table"]
