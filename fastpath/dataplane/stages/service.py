"""Service load balancing: kube-proxy's DNAT in the sender's node, before the logical port.

Reference: `_Walk.service_dnat`, `_Walk.service_reply_source`, `_Walk.service_undnat`.

Where it runs, and why first
----------------------------
NCP's node agent programs kube-proxy's ClusterIP translation into the node's OVS bridge (for a
node's own traffic, the node's kube-proxy does it before the frame leaves): the packet that
reaches the logical port already carries the backend's address, so SpoofGuard, the DFW, the
routers and the tunnels all see the backend (DESIGN.md, "Services"). That makes the stage a
translation in front of the rest of the path — as OVS runs ``ct(nat)`` and recirculates the
rewritten packet through its tables — so it runs before every other stage, in one of two places:

- **inside the staged engine's own pass** (`graph.forward_staged`), on calls that walk no trace
  and log no legs (a plain run: the common case) and clusters without LoadBalancer virtual
  servers: in the flow cache's key pass (`flow_cache._translated_keys`: a packet is looked up
  as translated, and only a miss has its translated columns written, for the walk) or, for a
  vector the cache does not see, `flow_cache.translate_uncached`. The packet's columns are
  read once; a hit writes nothing but its answer. ``no-endpoint`` drops are answered there;
- **before the engines**, over the batch (`translate`, `service_dnat`): for a trace (its hops,
  `service_trace`, need the state of each packet), the full leg log and the virtual servers'
  second pass (both read the translated batch whole), and the fused engine. With several
  threads each worker's slice is translated side by side (the kernel is nogil).

Both run the same per-packet forms (`service_key`, `pick_one`, `rewrite_one`). Inside the pass
the usual vector — every packet in the service range an original to one cluster IP and port
with endpoints, as a hot Service's clients send — takes the same rules without a branch
(`vector_one`), which the compiler runs in SIMD lanes: for a port with at most `SELECT_MAX`
backends one loop does the rules, the hash, the backend (by selects among its few rows) and
the flow key (`flow_cache._usual_vector`); with more, `pick_vector` picks and the rows are
read after. Tests hold the SIMD forms to the per-packet forms, the two places to each other,
and all to the reference. A batch with no packet in the service range (`candidates`: one
SIMD scan) skips the stage altogether. What the stage costs on the seed, every packet to a
cluster IP, against the same packets sent to the backends (bench/services.py,
bench/RESULTS.md issue 12): ~8 ns a packet before the engines, ~1 inside.
It was also tried behind the flow cache and dropped: a cluster IP's backend depends on the
source port, so such a cache misses on every new connection.
Nothing that could drop a packet before the translation point (a malformed packet, a tagged
frame from a pod's access port) is translated, so the order is the reference's.

Per packet (a pod's or node's, sane, untagged):

- an original to a cluster IP and one of its service ports: the backend is chosen by the
  seeded hash of the 5-tuple over the port's ready backends (`fastpath.tables.services`); the
  destination address and port become the backend's. A pod's stack has already sent it to its
  gateway (a cluster IP is never on-link): a zero destination MAC becomes the router MAC. A
  node's stack decides after kube-proxy (Linux re-routes after OUTPUT's DNAT): its MAC stays
  as given. A port without backends: dropped at the node's OVS (``no-endpoint``). A cluster IP
  on a port its Service does not have is left alone and routed like any address (kube-proxy's
  iptables mode has no rule for it; its nftables mode rejects it — fastpath follows the
  iptables mode, Kubernetes' default).
- a reply whose source is a cluster IP and service port: the answer of the backend the
  connection went to. Sent by that backend (the hash of the original it answers picks the
  same one), it leaves from the backend's own address and target port; the client's node
  reverses it (conntrack's un-DNAT) before the client sees it — which changes nothing the
  data plane decides on the way, only the trace's last hops. Sent by any other endpoint it is
  left alone, and SpoofGuard drops its foreign source address.

Outputs: ``service`` (index into `Cluster.services`) and ``backend`` (its logical port; -1
for an address outside the cluster) per translated packet, -1 elsewhere.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._jit import kernel
from ...packets import PacketBatch
from ...tables.services import ServiceTable, choose, flow_hash, pick, service_port
from ...verdicts import DeviceKind, Reason, Verdict
from ..trace import T_CONNTRACK, T_NONE, T_PORT, T_ROUTE, T_SERVICE, insert_record
from .common import K_NODE, K_POD, K_VIF, MIN_IP_PACKET, V_DROPPED, init_result, key_at, make_keys

K_LB, K_NAT = int(DeviceKind.LB), int(DeviceKind.NAT)
R_NO_ENDPOINT = int(Reason.NO_ENDPOINT)

NOT_TRANSLATED, TRANSLATED, NO_ENDPOINT, REPLY_TRANSLATED = 0, 1, 2, 3
"""`Translation.state` per packet."""


@kernel(inline="always")
def may_concern(b, i, net, mask):
    """Packet i may concern a cluster IP: a destination, or a reply's source, in the range (a
    superset of `in_range`'s, without a branch)."""
    return ((b.dst_ip[i] & mask) == net) | ((b.reply[i] != 0) & ((b.src_ip[i] & mask) == net))


@kernel
def candidates(b, net, mask):
    """Packets that may concern a cluster IP (`may_concern`)."""
    n = 0
    for i in range(b.dst_ip.shape[0]):  # (branch-free: it runs in SIMD lanes, ~0.3 ns a packet)
        n += may_concern(b, i, net, mask)
    return n


@kernel
def passed_by_stage(b, net, mask, service, backend):
    """Every packet's results as the stage leaves a packet it passes by (no service, no
    backend), and the count of `candidates`: one pass over a worker's share, which then runs
    the stage only if the count is not 0 (the stage writes the results of every packet it
    sees). One loop in SIMD lanes: a version that stopped at the first candidate ran 1.3 ns
    a packet slower over a share with none."""
    n = 0
    for i in range(b.dst_ip.shape[0]):
        service[i] = -1
        backend[i] = -1
        n += may_concern(b, i, net, mask)
    return n


@kernel(inline="always")
def service_key(b, i, st, n_pods, n_nodes):
    """(lport, ip, pp): the sender's logical port and the (address, proto << 16 | port) packet i
    is looked up by — a destination, or a reply's source; lport -1 when the stage passes it by
    (no address in the range, not a pod's or node's, insane or tagged: dropped later, untouched)."""
    reply = b.reply[i] != 0
    ip = b.src_ip[i] if reply else b.dst_ip[i]
    if (ip & st.mask) != st.net:
        return np.int64(-1), ip, np.int64(0)
    kind = np.int64(b.ingress_kind[i])
    iid = np.int64(b.ingress_id[i])
    if kind == K_POD:
        if iid < 0 or iid >= n_pods:
            return np.int64(-1), ip, np.int64(0)
        lport = iid
    elif kind == K_NODE:
        if iid < 0 or iid >= n_nodes:
            return np.int64(-1), ip, np.int64(0)
        lport = n_pods + iid
    else:
        return np.int64(-1), ip, np.int64(0)
    if b.ttl[i] == 0 or b.length[i] < MIN_IP_PACKET or b.vlan[i] != 0:
        return np.int64(-1), ip, np.int64(0)
    port = np.int64(b.sport[i]) if reply else np.int64(b.dport[i])
    return lport, ip, np.int64(b.proto[i]) << 16 | port


@kernel(inline="always")
def original_hash(b, i, seed):
    """The high half of packet i's `flow_hash` read as an original (client to cluster IP)."""
    return flow_hash(b.src_ip[i], b.dst_ip[i], b.proto[i], b.sport[i], b.dport[i], seed) >> np.uint64(32)


SELECT_MAX = 4
"""Backends a service port may have for the usual vector's one-loop form
(`flow_cache._usual_vector`): its backend's row is one of a few words read before the loop,
chosen by `select_row` in SIMD lanes, where a gather of the row keeps the loop scalar."""


@kernel(inline="always")
def in_range(b, i, st):
    """Whether packet i may concern a cluster IP (`service_key`'s first test: a destination,
    or a reply's source, in the service range), without a branch."""
    return ((b.dst_ip[i] & st.mask) == st.net) & (b.reply[i] == 0) \
        | ((b.src_ip[i] & st.mask) == st.net) & (b.reply[i] != 0)


@kernel(inline="always")
def vector_one(b, i, sv, vip, proto, port):
    """The rules of `service_key` and `pick_one` for packet i of the usual vector (see
    `pick_vector`) without a branch: (1 if it is in the service range but no original to
    (``vip``, ``proto``, ``port``), whether it is translated, the high half of its hash)."""
    st = sv.st
    src = b.src_ip[i]
    dst = b.dst_ip[i]
    pr = b.proto[i]
    dp = b.dport[i]
    original = b.reply[i] == 0
    kind = b.ingress_kind[i]
    iid = np.uint32(b.ingress_id[i])  # (unsigned: a negative id is out of range too)
    ours = original & (dst == vip) & (pr == proto) & (dp == port)
    sender = ((kind == K_POD) & (iid < np.uint32(sv.n_pods))) | ((kind == K_NODE) & (iid < np.uint32(sv.n_nodes)))
    sane = (b.ttl[i] != 0) & (b.length[i] >= MIN_IP_PACKET) & (b.vlan[i] == 0)
    h = flow_hash(src, dst, pr, b.sport[i], dp, st.seed) >> np.uint64(32)
    return np.int64(in_range(b, i, st) & (not ours)), ours & sender & sane, h


@kernel(inline="always")
def select_row(j, r0, r1, r2, r3):
    """``(r0, r1, r2, r3)[j]`` (uint64 words; j < `SELECT_MAX`) by masks, a bit of j a level:
    a chain of ``if`` expressions compiles to a switch, whose branches keep the loop out of
    SIMD lanes."""
    m1 = np.uint64(0) - (j & np.uint64(1))
    m2 = np.uint64(0) - (j >> np.uint64(1))
    a = r0 ^ ((r0 ^ r1) & m1)
    c = r2 ^ ((r2 ^ r3) & m1)
    return a ^ ((a ^ c) & m2)


@kernel(inline="always")
def select_rows(st, sp):
    """The backend rows of service port ``sp`` (1 to `SELECT_MAX` of them) as four, the last
    repeated: the words `select_row` chooses among."""
    lo = np.uint64(st.sp_first[sp])
    last = np.uint64(st.sp_first[sp + 1]) - np.uint64(1)
    return lo, min(lo + np.uint64(1), last), min(lo + np.uint64(2), last), min(lo + np.uint64(3), last)


@kernel(inline="always")
def row_words(st, r):
    """Backend row r's address | target port << 32."""
    return np.uint64(st.be_ip[r]) | (np.uint64(st.be_port[r]) << np.uint64(32))


@kernel
def pick_vector(b, sv, base, m, vip, proto, port, sp, keys):
    """The usual vector to a cluster IP, in SIMD lanes: every packet of base..base+m-1 in the
    service range is an original to (``vip``, ``proto``, ``port``), whose service port ``sp``
    has backends (more than `SELECT_MAX`: with fewer, `flow_cache._usual_vector` does this
    and the rest in one loop). Writes each packet's state (`TRANSLATED` or `NOT_TRANSLATED`: not from a
    pod or node, insane or tagged) and its backend row | sp << 32 into rows 6 and 7 of the
    key scratch ``keys`` (`common.key_at`) — the work of `service_key` and `pick_one` without
    a branch (`vector_one`), which the compiler runs in SIMD lanes. Returns how many packets
    in the range it cannot answer (a reply, another cluster IP or port): if any, the caller
    takes the general path. Indices are unsigned: a signed one carries numba's negative-index
    wraparound, which keeps a loop out of SIMD."""
    st = sv.st
    lo = np.uint64(st.sp_first[sp])
    nb = np.uint64(st.sp_first[sp + 1]) - lo
    spw = np.uint64(sp) << np.uint64(32)
    bad = 0
    for k in range(m):
        no, yes, h = vector_one(b, np.uint64(base + k), sv, vip, proto, port)
        bad += no
        keys[key_at(6, k)] = TRANSLATED if yes else NOT_TRANSLATED
        keys[key_at(7, k)] = (lo + ((h * nb) >> np.uint64(32))) | spw
    return bad


@kernel(inline="always")
def pick_one(b, i, st, sp, lport, h):
    """Packet i, whose `service_key` found service port ``sp`` (>= 0) for sender ``lport``:
    (state, backend row) — the backend kube-proxy sends an original to, or the one a reply
    answers for (`TRANSLATED`, `REPLY_TRANSLATED`; -1 with `NO_ENDPOINT`, `NOT_TRANSLATED`).
    ``h``: its `original_hash`."""
    if b.reply[i] == 0:
        be = pick(st, sp, h)
        return (NO_ENDPOINT if be < 0 else TRANSLATED), be
    proto = np.int64(b.proto[i])
    # a reply: the original it answers is the client (its destination) to the cluster IP
    be = choose(st, sp, b.dst_ip[i], b.src_ip[i], proto, b.dport[i], b.sport[i])
    if be < 0 or st.be_lport[be] != lport:
        return NOT_TRANSLATED, np.int64(-1)
    return REPLY_TRANSLATED, be


@kernel(inline="always")
def rewrite_one(b, i, st, s, be, router_mac):
    """Packet i's (src_ip, dst_ip, sport, dport, dst_mac) as the engines must see them, after
    `pick_one` said (s, be)."""
    src_ip, dst_ip, sport, dport, dst_mac = b.src_ip[i], b.dst_ip[i], b.sport[i], b.dport[i], b.dst_mac[i]
    if s == TRANSLATED:
        if b.ingress_kind[i] == K_POD and dst_mac == 0:
            dst_mac = router_mac
        return src_ip, st.be_ip[be], sport, st.be_port[be], dst_mac
    if s == REPLY_TRANSLATED:
        return st.be_ip[be], dst_ip, st.be_port[be], dport, dst_mac
    return src_ip, dst_ip, sport, dport, dst_mac


@kernel(inline="always")
def dnat_one(b, i, st, sp, lport, router_mac):
    """`pick_one` and `rewrite_one`: (state, service, backend, src_ip, dst_ip, sport, dport,
    dst_mac) — the columns as the engines must see them, and what the stage writes for it."""
    s, be = pick_one(b, i, st, sp, lport, original_hash(b, i, st.seed))
    src_ip, dst_ip, sport, dport, dst_mac = rewrite_one(b, i, st, s, be, router_mac)
    svc = np.int64(-1) if s == NOT_TRANSLATED else np.int64(st.sp_service[sp])
    backend = np.int64(-1) if be < 0 else (lport if s == REPLY_TRANSLATED else np.int64(st.be_lport[be]))
    return s, svc, backend, src_ip, dst_ip, sport, dport, dst_mac


@kernel
def service_dnat(b, st, n_pods, n_nodes, router_mac, src_ip, dst_ip, sport, dport, dst_mac, service, backend, state):
    """Write the batch's columns ``src_ip .. dst_mac`` into the arrays of those names, translated
    where the stage translates (one pass: the copy and the rewrite together), and ``service``,
    ``backend`` and ``state`` per packet. Returns (packets translated, packets dropped for
    want of an endpoint)."""
    done = 0
    dropped = 0
    last_ip = np.uint32(0)  # the last (address, proto, port) looked up and its answer: traffic to a
    last_pp = np.int64(-1)  # cluster IP comes in runs, and a compare is cheaper than the probe
    last_sp = np.int64(-1)
    for i in range(b.dst_ip.shape[0]):
        service[i] = -1
        backend[i] = -1
        state[i] = NOT_TRANSLATED
        src_ip[i] = b.src_ip[i]
        dst_ip[i] = b.dst_ip[i]
        sport[i] = b.sport[i]
        dport[i] = b.dport[i]
        dst_mac[i] = b.dst_mac[i]
        lport, ip, pp = service_key(b, i, st, n_pods, n_nodes)
        if lport < 0:
            continue
        if ip != last_ip or pp != last_pp:
            last_ip, last_pp, last_sp = ip, pp, service_port(st, ip, pp >> 16, pp & 0xFFFF)
        if last_sp < 0:
            continue
        s, svc, be, src_ip[i], dst_ip[i], sport[i], dport[i], dst_mac[i] = dnat_one(b, i, st, last_sp, lport,
                                                                                    router_mac)
        if s == NOT_TRANSLATED:
            continue
        state[i] = s
        service[i] = svc
        backend[i] = be
        if s == NO_ENDPOINT:
            dropped += 1
        else:
            done += 1
    return done, dropped


class ServicePass(NamedTuple):
    """The stage as the engines' own pass runs it (`flow_cache.lookup`, `flow_cache.translate_uncached`)."""
    st: ServiceTable
    n_pods: np.int64
    n_nodes: np.int64
    router_mac: np.uint64
    pod_node: np.ndarray  # int32[P]: each pod's node (where a ``no-endpoint`` drop happens)
    keys: np.ndarray  # `common.make_keys`: a worker's scratch for a vector the flow cache does not see
    # (`flow_cache.translate_uncached`); each worker its own (`with_keys`)

    def with_keys(self) -> "ServicePass":
        return self._replace(keys=make_keys())


@kernel(inline="always")
def no_endpoint_one(b, o, cn, i, sv):
    """Packet i's result: dropped by its node's kube-proxy (``no-endpoint``), counted."""
    kind = np.int64(b.ingress_kind[i])
    iid = np.int64(b.ingress_id[i])
    init_result(o, i, np.int64(b.ttl[i]))
    o.reason[i] = R_NO_ENDPOINT
    o.dev_kind[i] = K_LB
    o.dev_id[i] = sv.pod_node[iid] if kind == K_POD else iid
    cn.verdicts[0, V_DROPPED] += 1
    cn.reasons[0, R_NO_ENDPOINT] += 1


def service_pass(t, pod_node: np.ndarray) -> ServicePass:
    """The `ServicePass` of compiled tables ``t`` (`fastpath.compile.Tables`) for vectors of at
    most `common.VECTOR` packets (a worker takes its own copy: `ServicePass.with_keys`)."""
    return ServicePass(t.services, np.int64(t.n_pods), np.int64(t.n_nodes), np.uint64(t.router_mac),
                       np.ascontiguousarray(pod_node, np.int32), make_keys())


class Translation(NamedTuple):
    batch: PacketBatch  # what the engines forward (the given batch itself when nothing changed)
    state: np.ndarray | None  # uint8[n]: NOT_TRANSLATED, TRANSLATED, NO_ENDPOINT, REPLY_TRANSLATED; None: all not
    dropped: int  # packets dropped here (no endpoint)

    @property
    def changed(self) -> bool:
        return self.state is not None


SCRATCH = (("src_ip", np.uint32), ("dst_ip", np.uint32), ("sport", np.uint16), ("dport", np.uint16),
           ("dst_mac", np.uint64), ("state", np.uint8))
"""The stage's output columns (`make_scratch`): what it may rewrite, and its state."""


def make_scratch(n: int) -> tuple:
    return tuple(np.empty(n, dtype) for _, dtype in SCRATCH)


def translate(b: PacketBatch, st: ServiceTable, n_pods: int, n_nodes: int, router_mac: int,
              service: np.ndarray, backend: np.ndarray, scratch: tuple | None = None,
              bounds: list[int] | None = None, pool=None, found: int | None = None) -> Translation:
    """The stage over a batch (see the module docstring): writes ``service`` and ``backend``
    (int32[n]) and returns what the engines forward. Rewrites into ``scratch`` (`make_scratch`
    of at least n; its pages stay mapped between calls) or new arrays, and only when some
    packet is in the service range. ``bounds``/``pool``: the slices the engines' workers take
    and an executor for all but the first: the stage runs on them side by side (nogil).
    ``found``: `candidates` of the batch when the caller has counted them already."""
    if st.n_ports == 0 or (candidates(b, st.net, st.mask) if found is None else found) == 0:
        service.fill(-1)
        backend.fill(-1)
        return Translation(b, None, 0)
    n = b.size
    out = tuple(a[:n] for a in scratch) if scratch is not None and scratch[0].shape[0] >= n else make_scratch(n)
    cols, state = out[:5], out[5]
    mac = np.uint64(router_mac)
    if bounds is None or len(bounds) <= 2 or pool is None:
        done, dropped = service_dnat(b, st, n_pods, n_nodes, mac, *cols, service, backend, state)
    else:
        def part(lo: int, hi: int):
            return service_dnat(b.slice(lo, hi), st, n_pods, n_nodes, mac, *(a[lo:hi] for a in cols),
                                service[lo:hi], backend[lo:hi], state[lo:hi])
        jobs = [pool.submit(part, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
        counts = [part(bounds[0], bounds[1])] + [j.result() for j in jobs]
        done, dropped = (sum(c[k] for c in counts) for k in (0, 1))
    if done == 0 and dropped == 0:
        return Translation(b, None, 0)
    t = b._replace(src_ip=cols[0], dst_ip=cols[1], sport=cols[2], dport=cols[3], dst_mac=cols[4])
    return Translation(t, state, int(dropped))


def _node_of(kind: int, iid: int, pod_node: np.ndarray) -> int:
    return int(pod_node[iid]) if kind == K_POD else iid


def no_endpoint(b: PacketBatch, o, rows: np.ndarray, pod_node: np.ndarray) -> None:
    """The results of packets this stage dropped (``no-endpoint``, at the sender's node's
    kube-proxy: device kind LB, id the node)."""
    kind = b.ingress_kind[rows].astype(np.int64)
    iid = b.ingress_id[rows].astype(np.int64)
    node = np.where(kind == K_POD, pod_node[np.where(kind == K_POD, iid, 0)], iid)
    o.verdict[rows] = Verdict.DROPPED
    o.reason[rows] = Reason.NO_ENDPOINT
    o.dev_kind[rows] = DeviceKind.LB
    o.dev_id[rows] = node
    o.ttl_out[rows] = b.ttl[rows]
    for name, v in (("egress_port", -1), ("hops", 0), ("last_ip", 0), ("n_tunnels", 0), ("tun_src_host", -1),
                    ("tun_dst_host", -1), ("tun_vni", 0), ("underlay_bytes", 0), ("via_edge", False),
                    ("dfw_at_src", -1), ("dfw_at_dst", -1)):
        getattr(o, name)[rows] = v


def service_trace(b: PacketBatch, state: np.ndarray, picks: np.ndarray, recs: np.ndarray, lens: np.ndarray,
                  pod_node: np.ndarray) -> None:
    """This stage's hops in the traces of ``picks`` (the engines never saw it), where the
    reference puts them: a pod's kube-proxy after its stack's record (which decided on the
    cluster IP: the gateway, for a zero MAC), a node's before it; a reply's un-DNAT after the
    client's VIF hands it over; a ``no-endpoint`` drop after the records before it."""
    for k, i in enumerate(picks.tolist()):
        s = int(state[i])
        if s == NOT_TRANSLATED:
            continue
        kind, iid, ttl = int(b.ingress_kind[i]), int(b.ingress_id[i]), int(b.ttl[i])
        lb = (K_LB, _node_of(kind, iid, pod_node), T_SERVICE, ttl)
        if s == NO_ENDPOINT:
            lens[k] = 0
            if kind == K_POD:
                insert_record(recs, lens, k, 0, (K_POD, iid, T_ROUTE if b.dst_mac[i] == 0 else T_NONE, ttl))
            insert_record(recs, lens, k, int(lens[k]), lb)
        elif s == TRANSLATED:
            if kind == K_POD:
                if b.dst_mac[i] == 0 and lens[k] > 0:
                    recs[k, 0, 2] = T_ROUTE  # the stack sent the cluster IP to its gateway
                insert_record(recs, lens, k, 1, lb)
            else:
                insert_record(recs, lens, k, 0, lb)
        else:  # a reply: conntrack's un-DNAT right after the client's VIF hop
            for j in range(int(lens[k])):
                if recs[k, j, 0] == K_VIF and recs[k, j, 2] == T_PORT:
                    insert_record(recs, lens, k, j + 1, (K_NAT, recs[k, j, 1], T_CONNTRACK, recs[k, j, 3]))
                    break
