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

Readings chosen where NSX and the model part: NSX's pool algorithm defaults to round robin, a
per-connection state a stateless model has no place for, so the seeded 5-tuple hash kube-proxy's
stage uses stands in (an even spread; a flow sticks to one backend). NSX's SNAT overloads the
source port over its IPs; here the port is kept (only the address is rewritten). A packet to the
VIP on a port with no virtual server finds no listener in NSX; here the VIP is the SR's own
address, as its SNAT IPs are, and the packet is delivered to the router.

Replies are written as their client sees the connection (source: the virtual server's IP and
port; sent by the backend the hash picks), as for a cluster IP: before the first pass the
backend's own address and target port become the source and the T1's uplink IP the destination
(`reply_sources`); at the SR the second pass restores the virtual server and the client.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_ROUTER, PacketBatch, Results, empty_results
from .._jit import jit
from ..tables import services as service_table
from ..tables.lb import LbTable
from ..verdicts import DeviceKind, Reason, Verdict
from .stages.common import LEG_PACKET, MIN_IP_PACKET, V_DELIVERED, V_DROPPED
from .trace import MAX_HOPS, T_LB, T_ROUTE, insert_record

K_EDGE = int(DeviceKind.EDGE)
R_NO_ENDPOINT = int(Reason.NO_ENDPOINT)


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


LOCAL, EMPTY, FORWARD, BACK = 0, 1, 2, 3
"""What a stop at the load balancer's SR turns out to be: the router's own address, a virtual
server without endpoints, an original through it, a reply back through it."""


@jit
def _plan(b1, o, st, sr, snat_ip, un_rows, un_vip, un_port, un_client, stops, kinds, rows,
          src_mac, dst_mac, src_ip, dst_ip, sport, dport, ttl):
    """One pass over the first pass's results: each stop classified (``stops``/``kinds``), the
    local ones and the empty ones finished in ``o``, the others written as rows of the second
    pass's batch (the rest of its columns are constants or copies). Returns (stops, second-pass
    rows, no-endpoint drops, the second pass's IP bytes)."""
    n_stop = m = n_empty = 0
    nbytes = np.int64(0)
    uk = 0
    last_ip = np.uint32(0)
    last_pp = np.int64(-1)
    last_sp = np.int64(-1)
    for i in range(o.verdict.shape[0]):
        if o.egress_port[i] == -1 or o.dev_id[i] != sr or o.dev_kind[i] != K_EDGE or o.verdict[i] != V_DELIVERED:
            continue
        arrive = np.uint64(np.uint32(o.egress_port[i]))  # (`stages.route.lb_arrival`: the same 32 bits)
        o.egress_port[i] = -1
        kind = LOCAL
        sp = be = k = np.int64(-1)
        if b1.reply[i] == 0:
            ip = b1.dst_ip[i]
            pp = np.int64(b1.proto[i]) << 16 | np.int64(b1.dport[i])
            if ip == last_ip and pp == last_pp:
                sp = last_sp
            else:
                sp = service_table.service_port(st, ip, b1.proto[i], b1.dport[i])
                last_ip, last_pp, last_sp = ip, pp, sp
            if sp >= 0:
                be = service_table.choose(st, sp, b1.src_ip[i], ip, b1.proto[i], b1.sport[i], b1.dport[i])
                kind = FORWARD if be >= 0 else EMPTY
        else:
            while uk < un_rows.shape[0] and un_rows[uk] < i:
                uk += 1
            if uk < un_rows.shape[0] and un_rows[uk] == i and b1.dst_ip[i] == snat_ip:
                kind = BACK
                k = uk
        stops[n_stop] = i
        kinds[n_stop] = kind
        n_stop += 1
        if kind == LOCAL:  # an ordinary delivery to the router after all: its hop as the local route counts it
            o.hops[i] += 1
            o.last_ip[i] = b1.dst_ip[i]
        elif kind == EMPTY:  # no ready endpoint: dropped at the SR
            o.verdict[i] = V_DROPPED
            o.reason[i] = R_NO_ENDPOINT
            o.service[i] = st.sp_service[sp]
            o.backend[i] = -1
            n_empty += 1
        else:
            rows[m] = i
            judged = o.dfw_at_src[i] >= 0 or (b1.ingress_kind[i] == K_EDGE and b1.src_mac[i] != 0)
            src_mac[m] = np.uint64(1) if judged else np.uint64(0)
            dst_mac[m] = arrive
            ttl[m] = o.ttl_out[i]
            nbytes += np.int64(b1.length[i])
            if kind == FORWARD:
                src_ip[m] = snat_ip
                dst_ip[m] = st.be_ip[be]
                sport[m] = b1.sport[i]
                dport[m] = st.be_port[be]
                o.service[i] = st.sp_service[sp]
                o.backend[i] = st.be_lport[be]
            else:
                src_ip[m] = un_vip[k]
                dst_ip[m] = un_client[k]
                sport[m] = un_port[k]
                dport[m] = b1.dport[i]
            m += 1
    return n_stop, m, n_empty, nbytes


@jit
def _join(o, rows, o2):
    """Each second-pass result into the first's row: the verdict and all after the SR from the
    second, hops, tunnels and underlay bytes added, the DFW at the sender from the first."""
    for j in range(rows.shape[0]):
        i = rows[j]
        o.verdict[i] = o2.verdict[j]
        o.reason[i] = o2.reason[j]
        o.dev_kind[i] = o2.dev_kind[j]
        o.dev_id[i] = o2.dev_id[j]
        o.egress_port[i] = o2.egress_port[j]
        o.ttl_out[i] = o2.ttl_out[j]
        o.dfw_at_dst[i] = o2.dfw_at_dst[j]
        if o2.hops[j] > 0:
            o.last_ip[i] = o2.last_ip[j]
        o.hops[i] += o2.hops[j]
        o.underlay_bytes[i] += o2.underlay_bytes[j]
        if o2.n_tunnels[j] > 0:
            o.n_tunnels[i] += o2.n_tunnels[j]
            o.tun_src_host[i] = o2.tun_src_host[j]
            o.tun_dst_host[i] = o2.tun_dst_host[j]
            o.tun_vni[i] = o2.tun_vni[j]


SCRATCH = (np.int64, np.uint8, np.int64, np.uint64, np.uint64, np.uint32, np.uint32, np.uint16, np.uint16, np.uint8)
"""The pass's working columns (`make_scratch`): the stops, their kinds, the second pass's rows and
the columns of its batch it computes."""


def make_scratch(n: int) -> tuple:
    """Working columns for a call of up to n packets, with results for its second pass (kept by
    the `Dataplane` between calls, as the service stage's are: fresh pages cost a fault each)."""
    return tuple(np.empty(n, d) for d in SCRATCH) + (empty_results(n),)


def second_pass(api, t: LbTable, b1: PacketBatch, unlb: Unlb | None, run, o: Results, cn, threads: int,
                picks: np.ndarray, legs: bool, scratch: tuple | None = None):
    """The packets the first pass stopped at the load balancer's SR: translated, forwarded from
    there, joined back (module docstring). Returns the call's `RunResult`. ``scratch``: from
    `make_scratch` (then `RunResult.lb` refers to it: the caller drops it before reuse)."""
    n = o.size
    u = unlb if unlb is not None else Unlb(np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.uint16),
                                           np.zeros(0, np.uint32))
    sc = scratch if scratch is not None and scratch[0].shape[0] >= n else make_scratch(n)
    stops, kinds, rows, *cols = (a[:n] for a in sc[:len(SCRATCH)])
    n_stop, m, n_empty, nbytes = _plan(b1, o, t.vs, t.sr, np.uint32(t.snat_ip), u.rows, u.vip, u.port, u.client,
                                       stops, kinds, rows, *cols)
    stops, kinds, rows = stops[:n_stop], kinds[:n_stop], rows[:m]
    if n_stop == 0:
        run.lb = LbPass(rows, PacketBatch(*(a[:0] for a in b1)), np.zeros(0, np.int64), u.rows) \
            if unlb is not None else None
        return run
    for a in (cn.verdicts, cn.reasons):
        a[0, 0] -= n_empty + m  # (DELIVERED and NONE are both 0): the stops' verdicts give way
    cn.verdicts[0, Verdict.DROPPED] += n_empty
    cn.reasons[0, Reason.NO_ENDPOINT] += n_empty
    # the SR's load counted once: the second pass counts it again
    cn.router[0, t.sr, 0] -= m
    cn.router[0, t.sr, 1] -= nbytes
    src_mac, dst_mac, src_ip, dst_ip, sport, dport, ttl = (a[:m] for a in cols)
    b2 = PacketBatch(np.full(m, INGRESS_ROUTER, np.uint8), np.full(m, t.sr, np.int32), src_mac, dst_mac,
                     np.zeros(m, np.uint16), src_ip, dst_ip, b1.proto[rows], sport, dport, ttl, b1.length[rows],
                     b1.reply[rows])
    traced = np.searchsorted(rows, picks)
    in2 = (traced < m) & (rows[np.minimum(traced, max(m - 1, 0))] == picks) if m else np.zeros(picks.size, bool)
    o2 = sc[-1].slice(0, m)
    run2 = api._forward(b2, threads, traced[in2], o2, cn, legs) if m else None
    run.lb = LbPass(rows, b2, o.n_tunnels[rows].astype(np.int64), u.rows)
    if m:
        _join(o, rows, o2)
        run.flow_cache_hits += run2.flow_cache_hits
        if legs and run.legs is not None:
            l2 = run2.legs.copy()
            l2[:, LEG_PACKET] = rows[l2[:, LEG_PACKET]]
            log = np.concatenate([run.legs, l2])
            run.legs = log[np.argsort(log[:, LEG_PACKET], kind="stable")]
    run.recount()  # (both passes added into ``cn``: the call's counters)

    if picks.size:  # trace records where the reference puts its hops
        recs, lens = run.trace_records, run.trace_lengths
        at = np.searchsorted(stops, picks)
        for k in np.flatnonzero((at < n_stop) & (stops[np.minimum(at, n_stop - 1)] == picks)):
            j, i = int(at[k]), int(picks[k])
            ttl_at = int(o.ttl_out[i]) if kinds[j] in (LOCAL, EMPTY) else int(b2.ttl[np.searchsorted(rows, i)])
            insert_record(recs, lens, k, int(lens[k]), (K_EDGE, t.sr, T_ROUTE if kinds[j] == LOCAL else T_LB, ttl_at))
        for j2, k in enumerate(np.flatnonzero(in2)):
            n2, at2 = int(run2.trace_lengths[j2]), int(lens[k])
            take = min(n2, MAX_HOPS - at2)
            recs[k, at2: at2 + take] = run2.trace_records[j2, :take]
            lens[k] = at2 + take
    return run
