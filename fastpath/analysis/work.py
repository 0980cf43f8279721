"""Where a run's work lands: the operations of the cost model (`fastpath.model.costs`) per device.

How it is counted
-----------------
The engines' counters say how many packets each router instance handled, summed over the
hosts a distributed router runs on; the CPU model needs to know *which* host did the work. A
run's tunnel-leg log (``forward(..., legs=True)``: TEP pair, inner TTL at encapsulation, packet)
splits each packet's path into segments, one per host it was on: the host it entered on, then
each leg's decapsulating host. Each router hop decrements the TTL once (DESIGN.md), so the
router hops of a segment are the TTL it started it with minus the TTL it left it with (the leg's
TTL at encapsulation, or the verdict's TTL on the last one); a packet that ends *at* a router
without passing it — dropped for no route, an expired TTL or a virtual server without endpoints, or answered as the router's own
address — made one more lookup there, on its last segment (a neighbor miss comes after the
hop's decrement). The sum over hosts equals the router counters' (a test holds them equal). So, per
host (a transport node's datapath, or an edge's):

- ``switch``: a pass through the datapath: the segment a packet entered on (unless its own
  node VM dropped it: its sender's stack, its node's OVS, kube-proxy's no-endpoint) and one per
  tunnel leg that arrived there;
- ``route``: router hops, as above;
- ``dfw``: DFW evaluations: the sender side (``dfw_at_src``) where the packet entered, the
  receiver side (``dfw_at_dst``) on its last segment; which of them open a connection is
  counted apart (below);
- ``encap`` / ``decap``: tunnel legs leaving / arriving (the host counters' tx / rx packets);
- ``nat``: SNAT of a pod's packet leaving by an uplink and un-SNAT of a reply, on the T0 SR's
  edge; ``lb``: the load balancer's translations (a client's packet, a backend's reply) on the
  load-balancer T1's edge.

Per node VM (its OVS): ``switch``: a pod's frame out (unless its own stack dropped it) and a
frame delivered to one of its pods; ``nat``: kube-proxy's DNAT of an original on the client's
node, its un-DNAT of a reply on the node the reply is delivered to.

New connections
---------------
A DFW evaluation of a connection's first packet (at that port) walks the rules and creates
state; later packets of it and every reply match the state. The first packets are told apart
exactly, across chunks and workers: each evaluation of an original (``reply == 0``) leaves a
64-bit key of (side, host, 5-tuple) — SplitMix64 over the packed fields; two different
connections share a key with a probability below 1e-5 at 10 million connections — and the
report counts the distinct keys per host (`new_connections`). Replies are established by
definition. Memory: 12 bytes per distinct (port side, connection), deduplicated as chunks come.
"""

from __future__ import annotations

import numpy as np

from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_ROUTER, INGRESS_UPLINK, PacketBatch
from ..verdicts import DeviceKind, Reason, Verdict

HOST_OPS = ("switch", "route", "dfw", "encap", "decap", "nat", "lb")
"""Columns of the per-host work (hosts and edges alike; `fastpath.model.costs.CLASS_OPS` says
which a class has cycles for: a transport node never counts nat or lb)."""
NODE_OPS = ("switch", "nat")
H_SWITCH, H_ROUTE, H_DFW, H_ENCAP, H_DECAP, H_NAT, H_LB = range(len(HOST_OPS))
N_SWITCH, N_NAT = range(len(NODE_OPS))

_IN_VM = np.array([int(DeviceKind.POD), int(DeviceKind.NODE), int(DeviceKind.OVS), int(DeviceKind.LB)])
_ROUTERS = np.array([int(DeviceKind.T1), int(DeviceKind.T0), int(DeviceKind.EDGE)])
_AT_ROUTER = np.array([int(Reason.NO_ROUTE), int(Reason.TTL_EXPIRED), int(Reason.NO_ENDPOINT)])


def uplink_hosts(cluster, tables) -> np.ndarray:
    """int64[U]: the host each uplink delivers into (the T0 SR's edge)."""
    return np.full(len(cluster.uplinks), int(tables.north_host), np.int64)


def count_work(cluster, tables, batch: PacketBatch, run) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(int64[H, HOST_OPS], int64[nodes, NODE_OPS], and the DFW evaluations of originals as
    uint64[k] keys with int64[k] their hosts, distinct within the batch: see the module docstring). ``run`` must carry its leg log with every column
    (``forward(..., legs=True)``); raises ValueError otherwise."""
    from ..dataplane.stages.common import LEG_COLS, LEG_PACKET, LEG_TEP, LEG_TTL

    legs = run.legs
    if legs is None or legs.ndim != 2 or legs.shape[1] != LEG_COLS:
        raise ValueError("the device work needs the run's tunnel-leg log: forward(..., legs=True)")
    c = cluster
    r = run.results
    n = batch.size
    H, N, P = len(c.hosts), len(c.nodes), len(c.pods)
    node_host = np.array([c.host_index[x.host] for x in c.nodes], np.int64)
    pod_node = c.pods.node.astype(np.int64)

    kind = batch.ingress_kind
    ids = batch.ingress_id.astype(np.int64)
    start = np.full(n, -1, np.int64)  # the host a packet entered on
    src_node = np.full(n, -1, np.int64)  # its sender's node (pods and nodes)
    is_pod = (kind == INGRESS_POD) & (ids >= 0) & (ids < P)
    is_node = (kind == INGRESS_NODE) & (ids >= 0) & (ids < N)
    src_node[is_pod] = pod_node[ids[is_pod]]
    src_node[is_node] = ids[is_node]
    start[src_node >= 0] = node_host[src_node[src_node >= 0]]
    up = uplink_hosts(c, tables)
    is_up = (kind == INGRESS_UPLINK) & (ids >= 0) & (ids < up.size)
    start[is_up] = up[ids[is_up]]
    rtr_host = np.asarray(tables.rtr_host, np.int64)  # handed to a service router: on its edge
    is_sr = (kind == INGRESS_ROUTER) & (ids >= 0) & (ids < rtr_host.size)
    start[is_sr] = rtr_host[ids[is_sr]]  # (a DR's is -1: malformed, no pass)

    dropped = r.verdict == int(Verdict.DROPPED)
    moved = (r.n_tunnels > 0) | (r.hops > 0)
    # its own node VM dropped it: in the VM, nothing routed or tunnelled, no port's DFW met (a
    # frame the *receiving* OVS drops has met its sender's)
    in_vm = dropped & np.isin(r.dev_kind, _IN_VM) & ~moved & (r.dfw_at_src < 0)
    entered = (start >= 0) & ~in_vm

    host = np.zeros((H, len(HOST_OPS)), np.int64)
    node = np.zeros((N, len(NODE_OPS)), np.int64)

    def add(table, col, where, weights=None):
        where = np.asarray(where, np.int64)
        table[:, col] += np.bincount(where, weights=weights, minlength=table.shape[0]).astype(np.int64) \
            if where.size else 0

    ttl = batch.ttl.astype(np.int64)
    last_ttl = ttl.copy()  # the TTL each packet started its last segment with
    last_host = start.copy()
    if legs.shape[0]:
        lg = legs[np.argsort(legs[:, LEG_PACKET], kind="stable")]
        p = lg[:, LEG_PACKET]
        tep = lg[:, LEG_TEP]
        enc, dec = tep // H, tep % H
        lttl = lg[:, LEG_TTL]
        first = np.ones(p.size, bool)
        first[1:] = p[1:] != p[:-1]
        before = np.where(first, ttl[p], np.roll(lttl, 1))  # the TTL the leg's segment started with
        add(host, H_ROUTE, enc, before - lttl)
        add(host, H_ENCAP, enc)
        add(host, H_DECAP, dec)
        add(host, H_SWITCH, dec)
        last = np.ones(p.size, bool)
        last[:-1] = p[1:] != p[:-1]
        last_ttl[p[last]] = lttl[last]
        last_host[p[last]] = dec[last]

    ok = entered & (last_host >= 0)
    hops = last_ttl - r.ttl_out.astype(np.int64)
    at_router = np.isin(r.dev_kind, _ROUTERS)
    hops += at_router & ((dropped & np.isin(r.reason, _AT_ROUTER)) | (r.verdict == int(Verdict.DELIVERED)))
    add(host, H_SWITCH, start[entered])
    add(host, H_ROUTE, last_host[ok], hops[ok])

    at_src = entered & (r.dfw_at_src >= 0)
    at_dst = ok & (r.dfw_at_dst >= 0)
    add(host, H_DFW, start[at_src])
    add(host, H_DFW, last_host[at_dst])
    original = batch.reply == 0
    keys, key_hosts = (np.concatenate(x) for x in zip(*(
        _conn_keys(batch, sel, hosts, side)
        for side, (sel, hosts) in enumerate(((at_src & original, start), (at_dst & original, last_host))))))

    if any(s.snat_ip is not None for s in c.namespaces) and tables.north_host >= 0:
        from ..dataplane.snat import snat_rows, snat_table

        out, into = snat_rows(snat_table(c), batch, r)
        host[int(tables.north_host), H_NAT] += int(np.count_nonzero(out)) + int(np.count_nonzero(into))
    if run.lb is not None and c.lb_router.edge is not None:
        host[c.host_index[c.lb_router.edge], H_LB] += run.lb.rows.size + run.lb.replies.size

    # the node VMs' OVS
    sender_stack = dropped & (r.dev_kind == int(DeviceKind.POD)) & ~moved
    add(node, N_SWITCH, src_node[is_pod & ~sender_stack])
    port = r.egress_port.astype(np.int64)
    to_pod = (r.verdict == int(Verdict.DELIVERED)) & (port >= 0) & (port < P)
    add(node, N_SWITCH, pod_node[port[to_pod]])
    if run.service_state is not None:
        from ..dataplane.stages.service import REPLY_TRANSLATED, TRANSLATED

        st = run.service_state[:n]
        add(node, N_NAT, src_node[(st == TRANSLATED) & (src_node >= 0)])
        back = (st == REPLY_TRANSLATED) & (r.verdict == int(Verdict.DELIVERED)) & (port >= 0) & (port < P + N)
        bp = port[back]
        add(node, N_NAT, np.where(bp < P, pod_node[np.minimum(bp, max(P - 1, 0))], bp - P))
    return host, node, keys, key_hosts


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (uint64 in, uint64 out; wraps mod 2**64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _conn_keys(b: PacketBatch, sel: np.ndarray, hosts: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 keys of (side, host, 5-tuple), int64 their hosts) of the selected packets,
    distinct within the chunk."""
    idx = np.flatnonzero(sel)
    if not idx.size:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    u = np.uint64
    with np.errstate(over="ignore"):
        a = b.src_ip[idx].astype(u) << u(32) | b.dst_ip[idx].astype(u)
        w = (b.sport[idx].astype(u) << u(48) | b.dport[idx].astype(u) << u(32) | b.proto[idx].astype(u) << u(24)
             | hosts[idx].astype(u) << u(1) | u(side))
        k = _mix(_mix(a) ^ w)
    return distinct(k, hosts[idx])


def distinct(keys: np.ndarray, hosts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys and the host of each (a key's host is part of it: equal keys, one host)."""
    k, first = np.unique(keys, return_index=True)
    return k, hosts[first].astype(np.int64)


def new_connections(keys: np.ndarray, hosts: np.ndarray, n_hosts: int) -> np.ndarray:
    """int64[H]: distinct keys per host: each a connection's first DFW evaluation at a port there."""
    _, h = distinct(keys, hosts)
    return np.bincount(h, minlength=n_hosts).astype(np.int64)
