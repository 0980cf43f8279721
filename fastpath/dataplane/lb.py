"""The LoadBalancer's virtual servers on the load balancer T1's service router: a second pass.

Reference: `_Walk.load_balance`, `_Walk.lb_reply_source`.

NCP makes a LoadBalancer Service an L4 virtual server on the load balancer it attaches to the
cluster's T1 (`Cluster.lb_router`): a packet to the Service's external IP and port reaches that
T1's SR (the T0 routes the VIP there), is DNAT-ed to a backend and SNAT-ed to the T1's uplink IP,
and routes on from the SR; the backend's reply comes back to that address and leaves the SR with
the virtual server's IP as source, to the client.

Why a second pass
-----------------
The rewrite happens in the middle of the path, and what follows depends on it (the backend's
segment, host and DFW). Rather than carry a rewrite inside every engine's router loop (and the
flow cache's key), the engines stop there: the compiler marks the load balancer's addresses on
its SR as `ROUTE_LB`, a local route at which a packet ends ``delivered`` with the address it
arrived on kept in its ``egress_port`` (`stages.route.lb_arrival`), its hop not counted yet.
Here the stopped packets are translated and handed back to the same SR as a batch of their own
(ingress kind ``edge``, `fastpath.packets.INGRESS_ROUTER`: the arrival address in ``dst_mac``,
whether the sender's DFW judged it in ``src_mac``), and the two passes are joined field by field
into the one walk the reference takes: hops, tunnels and underlay bytes added, the verdict and
everything after the SR from the second pass, the DFW at the sender from the first; counters
(the SR's load is counted once: the first pass's is taken back; the stopped packets' verdicts
give way to the second pass's); the tunnel-leg log; trace records (the first pass's, an ``lb``
hop, the second pass's). A stopped packet that is no virtual server's (a VIP on another port,
the uplink IP with no connection) was delivered to the router after all: its local hop is put
back. No ready endpoint: dropped at the SR (``no-endpoint``), as NSX's virtual server with an
empty pool. Translated packets are few in most traffic; the others never see this module.

Replies are written as their client sees the connection (source: the virtual server's IP and
port; sent by the backend the hash picks), as for a cluster IP: before the first pass the
backend's own address and target port become the source and the T1's uplink IP the destination
(`reply_sources`); at the SR the second pass restores the virtual server and the client.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model.cluster import Cluster, sr_name
from ..model.routing import rib
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_ROUTER, PacketBatch, Results, empty_results
from ..tables import services as service_table
from ..tables.services import ServiceTable
from ..verdicts import DeviceKind, Reason, Verdict
from .stages.common import LEG_PACKET, MIN_IP_PACKET
from .trace import MAX_HOPS, T_LB, T_ROUTE, insert_record

K_EDGE = int(DeviceKind.EDGE)


class LbTable(NamedTuple):
    vs: ServiceTable  # the virtual servers: (LoadBalancer IP, proto, port) -> backends
    sr: int  # router instance id of the load balancer's SR
    snat_ip: int  # the T1's uplink IP: the backends see connections come from it
    n_pods: int


def lb_table(c: Cluster) -> LbTable | None:
    """The cluster's virtual servers, built once and kept on it; None when it has none."""
    if "_lb_table" not in c.__dict__:
        t = None
        if c.lb_services:
            t = LbTable(service_table.build(c, lb=True), list(rib(c)).index(sr_name(c.lb_router.name)),
                        c.lb_router.link_t1_ip, len(c.pods))
        c.__dict__["_lb_table"] = t
    return c.__dict__["_lb_table"]


class LbPass(NamedTuple):
    """What the load balancer did in a call (`RunResult.lb`), for the wire (`fastpath.wire.observe`):
    the packets it translated at the SR, their headers from there on, and how many tunnel legs
    each had crossed before; and the replies rewritten before the first pass."""

    rows: np.ndarray  # int64[m], ascending
    after: PacketBatch  # [m]: src/dst addresses and ports past the SR
    first_legs: np.ndarray  # int64[m]
    replies: np.ndarray  # int64[k]


class Unlb(NamedTuple):
    """Replies rewritten before the first pass: their rows and what the SR puts back."""

    rows: np.ndarray  # int64[k], ascending
    vip: np.ndarray  # uint32[k]
    port: np.ndarray  # uint16[k]
    client: np.ndarray  # uint32[k]


def reply_sources(t: LbTable, b: PacketBatch, service: np.ndarray, backend: np.ndarray,
                  copy: bool) -> tuple[PacketBatch, Unlb | None]:
    """Replies from a virtual server, sent by the backend the hash picked for the original they
    answer: source to the backend's address and target port, destination to the T1 uplink IP
    (their ``service`` and ``backend`` written). Returns the batch (a copy of the three columns
    when ``copy``, else rewritten in place) and the rows, or (b, None) when there are none."""
    kind = b.ingress_kind
    cand = np.flatnonzero((b.reply != 0) & ((kind == INGRESS_POD) | (kind == INGRESS_NODE)) & (b.vlan == 0)
                          & (b.ttl != 0) & (b.length >= MIN_IP_PACKET))
    if cand.size == 0:
        return b, None
    sp, be = service_table.choices(t.vs, b.dst_ip[cand], b.src_ip[cand], b.proto[cand], b.dport[cand], b.sport[cand])
    lport = np.where(kind[cand] == INGRESS_POD, b.ingress_id[cand].astype(np.int64),
                     t.n_pods + b.ingress_id[cand].astype(np.int64))
    ok = be >= 0
    ok[ok] = t.vs.be_lport[be[ok]] == lport[ok]
    if not ok.any():
        return b, None
    rows, be, sp = cand[ok], be[ok], sp[ok]
    unlb = Unlb(rows, b.src_ip[rows].copy(), b.sport[rows].copy(), b.dst_ip[rows].copy())
    if copy:
        b = b._replace(src_ip=b.src_ip.copy(), sport=b.sport.copy(), dst_ip=b.dst_ip.copy())
    b.src_ip[rows] = t.vs.be_ip[be]
    b.sport[rows] = t.vs.be_port[be]
    b.dst_ip[rows] = t.snat_ip
    service[rows] = t.vs.sp_service[sp]
    backend[rows] = t.vs.be_lport[be]
    return b, unlb


_JOINED = ("verdict", "reason", "dev_kind", "dev_id", "egress_port", "ttl_out", "dfw_at_dst")


def second_pass(api, t: LbTable, b1: PacketBatch, unlb: Unlb | None, run, o: Results, cn, threads: int,
                picks: np.ndarray, legs: bool):
    """The packets the first pass stopped at the load balancer's SR: translated, forwarded from
    there, joined back (module docstring). Returns the call's `RunResult`."""
    stop = np.flatnonzero((o.verdict == Verdict.DELIVERED) & (o.dev_kind == K_EDGE) & (o.dev_id == t.sr)
                          & (o.egress_port != -1))
    if stop.size == 0:
        if unlb is not None:
            run.lb = LbPass(np.zeros(0, np.int64), PacketBatch(*(a[:0] for a in b1)), np.zeros(0, np.int64), unlb.rows)
        return run
    arrive = o.egress_port[stop].view(np.uint32).copy()
    o.egress_port[stop] = -1
    reply = b1.reply[stop] != 0
    # originals: the virtual server of their destination
    sp, be = service_table.choices(t.vs, b1.src_ip[stop], b1.dst_ip[stop], b1.proto[stop], b1.sport[stop],
                                   b1.dport[stop])
    vs = ~reply & (sp >= 0)
    # replies: rewritten before the first pass, to the uplink IP
    un = np.full(stop.size, -1, np.int64)
    if unlb is not None:
        k = np.minimum(np.searchsorted(unlb.rows, stop), unlb.rows.size - 1)
        hit = reply & (unlb.rows[k] == stop) & (b1.dst_ip[stop] == t.snat_ip)
        un[hit] = k[hit]
    back = un >= 0
    empty = vs & (be < 0)
    go = (vs & (be >= 0)) | back
    local = ~(vs | back)
    ttl = o.ttl_out[stop]

    # a stop that was an ordinary delivery to the router: its hop as the local route counts it
    lr = stop[local]
    o.hops[lr] += 1
    o.last_ip[lr] = b1.dst_ip[lr]
    # no ready endpoint: dropped at the SR
    er = stop[empty]
    o.verdict[er] = Verdict.DROPPED
    o.reason[er] = Reason.NO_ENDPOINT
    o.service[er] = t.vs.sp_service[sp[empty]]
    o.backend[er] = -1
    for a in (cn.verdicts, cn.reasons):
        a[0, 0] -= er.size  # (DELIVERED and NONE are both 0)
    cn.verdicts[0, Verdict.DROPPED] += er.size
    cn.reasons[0, Reason.NO_ENDPOINT] += er.size

    rows = stop[go]
    m = rows.size
    fwd = go & vs
    src = b1.src_ip[rows].copy()
    dst = b1.dst_ip[rows].copy()
    sport = b1.sport[rows].copy()
    dport = b1.dport[rows].copy()
    bv = be[go][fwd[go]]
    f = fwd[go]
    src[f] = t.snat_ip
    dst[f] = t.vs.be_ip[bv]
    dport[f] = t.vs.be_port[bv]
    o.service[rows[f]] = t.vs.sp_service[sp[go][f]]
    o.backend[rows[f]] = t.vs.be_lport[bv]
    r = ~f
    if r.any():  # (replies: only with `unlb`)
        ku = un[go][r]
        src[r], sport[r], dst[r] = unlb.vip[ku], unlb.port[ku], unlb.client[ku]
    # whether the sender's DFW judged it (a packet handed to a router says so itself)
    judged = (o.dfw_at_src[rows] >= 0) | ((b1.ingress_kind[rows] == INGRESS_ROUTER) & (b1.src_mac[rows] != 0))
    b2 = PacketBatch(np.full(m, INGRESS_ROUTER, np.uint8), np.full(m, t.sr, np.int32),
                     judged.astype(np.uint64), arrive[go].astype(np.uint64),
                     np.zeros(m, np.uint16), src, dst, b1.proto[rows].copy(), sport, dport,
                     ttl[go].copy(), b1.length[rows].copy(), b1.reply[rows].copy())
    # the SR's load counted once: the second pass counts it again
    cn.router[0, t.sr, 0] -= m
    cn.router[0, t.sr, 1] -= int(b1.length[rows].astype(np.int64).sum())
    for a in (cn.verdicts, cn.reasons):
        a[0, 0] -= m  # the stop's delivered verdict gives way to the second pass's
    traced = np.searchsorted(rows, picks)
    in2 = (traced < m) & (rows[np.minimum(traced, max(m - 1, 0))] == picks) if m else np.zeros(picks.size, bool)
    o2 = empty_results(m)
    run2 = api._forward(b2, threads, traced[in2], o2, cn, legs) if m else None
    run.lb = LbPass(rows, b2, o.n_tunnels[rows].astype(np.int64),
                    unlb.rows if unlb is not None else np.zeros(0, np.int64))
    if m:
        for name in _JOINED:
            getattr(o, name)[rows] = getattr(o2, name)
        walked = o2.hops > 0
        o.last_ip[rows[walked]] = o2.last_ip[walked]
        o.hops[rows] += o2.hops
        o.n_tunnels[rows] += o2.n_tunnels
        o.underlay_bytes[rows] += o2.underlay_bytes
        tun = o2.n_tunnels > 0
        for name in ("tun_src_host", "tun_dst_host", "tun_vni"):
            getattr(o, name)[rows[tun]] = getattr(o2, name)[tun]
        run.flow_cache_hits += run2.flow_cache_hits
        if legs and run.legs is not None:
            l2 = run2.legs.copy()
            l2[:, LEG_PACKET] = rows[l2[:, LEG_PACKET]]
            log = np.concatenate([run.legs, l2])
            run.legs = log[np.argsort(log[:, LEG_PACKET], kind="stable")]
    run.counters = type(run.counters)(*(a.sum(axis=0, keepdims=True) for a in cn))

    if picks.size:  # trace records where the reference puts its hops
        recs, lens = run.trace_records, run.trace_lengths
        pos = {int(p): j for j, p in enumerate(picks)}
        for j, i in enumerate(stop):
            k = pos.get(int(i))
            if k is None:
                continue
            rec = (K_EDGE, t.sr, T_ROUTE if local[j] else T_LB, int(ttl[j]))
            insert_record(recs, lens, k, int(lens[k]), rec)
        if m:
            for j2, k2 in enumerate(np.flatnonzero(in2)):
                k = pos[int(picks[k2])]
                n2 = int(run2.trace_lengths[j2])
                at = int(lens[k])
                take = min(n2, MAX_HOPS - at)
                recs[k, at: at + take] = run2.trace_records[j2, :take]
                lens[k] = at + take
    return run
