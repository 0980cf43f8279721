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
without passing it — dropped for no route, an expired TTL or a virtual server without
endpoints, or answered as the router's own address — made one more lookup there, on its last
segment (a neighbor miss comes after the hop's decrement). The sum over hosts equals the router
counters' (a test holds them equal). So, per host (a transport node's datapath, or an edge's):

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
exactly, across chunks and workers, the way conntrack does it: a hash table of the connections
seen (`ConnTable`, open addressing over 64-bit keys of the 5-tuple — SplitMix64 over the packed
fields; two different connections share a key with a probability below 1e-5 at 10 million
connections), each slot saying which of the connection's two ports have met it. An evaluation
of an original (``reply == 0``) at a port that had not met its connection counts one new
connection on that port's host; replies are established by definition. Tables of two runs merge
(Dask spans). Memory: 16 bytes a slot, at most 3/4 of the slots used.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel, prefetch_row
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_ROUTER, INGRESS_UPLINK, PacketBatch
from ..verdicts import DeviceKind, Reason, Verdict

HOST_OPS = ("switch", "route", "dfw", "encap", "decap", "nat", "lb")
"""Columns of the per-host work (hosts and edges alike; `fastpath.model.costs.CLASS_OPS` says
which a class has cycles for: a transport node never counts nat or lb)."""
NODE_OPS = ("switch", "nat")
H_SWITCH, H_ROUTE, H_DFW, H_ENCAP, H_DECAP, H_NAT, H_LB = range(len(HOST_OPS))
N_SWITCH, N_NAT = range(len(NODE_OPS))


def uplink_hosts(cluster, tables) -> np.ndarray:
    """int64[U]: the host each uplink delivers into (its T0 SR's edge)."""
    return np.asarray(tables.uplink_host, np.int64)[: len(cluster.uplinks)]


def count_work(cluster, tables, batch: PacketBatch, run) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(int64[H, HOST_OPS], int64[nodes, NODE_OPS], and the DFW evaluations of originals as
    (uint64[k] 5-tuple keys, uint8[k] sides: 0 the sender's port, 1 the receiver's, int64[k]
    hosts) for `ConnTable.add`: see the module docstring).
    ``run`` must carry its leg log with every column (``forward(..., legs=True)``); raises
    ValueError otherwise."""
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

    host = np.zeros((H, len(HOST_OPS)), np.int64)
    node = np.zeros((N, len(NODE_OPS)), np.int64)
    lg = legs
    if lg.shape[0] > 1 and (np.diff(lg[:, LEG_PACKET]) < 0).any():  # (the load balancer's join keeps order)
        lg = lg[np.argsort(lg[:, LEG_PACKET], kind="stable")]
    keys = np.empty(2 * n, np.uint64)
    key_sides = np.empty(2 * n, np.uint8)
    key_hosts = np.empty(2 * n, np.int64)
    k = _count(start, src_node, (kind == INGRESS_POD).view(np.uint8), batch.ttl, batch.reply, batch.src_ip,
               batch.dst_ip, batch.sport, batch.dport, batch.proto, r.verdict, r.reason, r.dev_kind, r.ttl_out, r.hops,
               r.n_tunnels, r.dfw_at_src, r.dfw_at_dst, r.egress_port, np.ascontiguousarray(lg[:, LEG_PACKET]),
               np.ascontiguousarray(lg[:, LEG_TEP]), np.ascontiguousarray(lg[:, LEG_TTL]), pod_node, H, host, node,
               keys, key_sides, key_hosts)
    keys, key_sides, key_hosts = keys[:k], key_sides[:k], key_hosts[:k]

    def add(table, col, where):
        where = np.asarray(where, np.int64)
        if where.size:
            table[:, col] += np.bincount(where, minlength=table.shape[0]).astype(np.int64)

    nat = tables.snat
    if nat.start.size and nat.sr >= 0 and rtr_host[nat.sr] >= 0:  # on the T0's (active) SR
        from ..dataplane.snat import snat_rows

        out, into = snat_rows(nat, batch, r)
        host[rtr_host[nat.sr], H_NAT] += int(np.count_nonzero(out)) + int(np.count_nonzero(into))
    if run.lb is not None and c.lb_router.edge is not None:
        host[c.host_index[c.lb_router.edge], H_LB] += run.lb.rows.size + run.lb.replies.size

    port = r.egress_port.astype(np.int64)
    if run.service_state is not None:  # kube-proxy's DNAT and un-DNAT in the client's node
        from ..dataplane.stages.service import REPLY_TRANSLATED, TRANSLATED

        st = run.service_state[:n]
        add(node, N_NAT, src_node[(st == TRANSLATED) & (src_node >= 0)])
        back = (st == REPLY_TRANSLATED) & (r.verdict == int(Verdict.DELIVERED)) & (port >= 0) & (port < P + N)
        bp = port[back]
        add(node, N_NAT, np.where(bp < P, pod_node[np.minimum(bp, max(P - 1, 0))], bp - P))
    return host, node, (keys, key_sides, key_hosts)


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_POD, _NODE, _OVS, _LB = int(DeviceKind.POD), int(DeviceKind.NODE), int(DeviceKind.OVS), int(DeviceKind.LB)
_T1, _T0, _EDGE = int(DeviceKind.T1), int(DeviceKind.T0), int(DeviceKind.EDGE)
_NO_ROUTE, _TTL, _NO_ENDPOINT = int(Reason.NO_ROUTE), int(Reason.TTL_EXPIRED), int(Reason.NO_ENDPOINT)
_DELIVERED, _DROPPED = int(Verdict.DELIVERED), int(Verdict.DROPPED)


@kernel
def _mix(x):
    """SplitMix64's finaliser (wraps mod 2**64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


@kernel
def _key(src_ip, dst_ip, sport, dport, proto):
    """The 64-bit key of a 5-tuple."""
    a = np.uint64(src_ip) << np.uint64(32) | np.uint64(dst_ip)
    w = np.uint64(sport) << np.uint64(48) | np.uint64(dport) << np.uint64(32) | np.uint64(proto)
    return _mix(_mix(a) ^ w)


@kernel(inline="always")
def _note(keys, sides, hosts, nk, key, side, host):
    """Write one DFW evaluation of an original at row nk; the next row."""
    keys[nk] = key
    sides[nk] = side
    hosts[nk] = host
    return nk + 1


@kernel
def _count(start, src_node, from_pod, ttl, reply, src_ip, dst_ip, sport, dport, proto, verdict, reason, dev_kind,
           ttl_out, hops, n_tunnels, dfw_src, dfw_dst, egress, leg_packet, leg_tep, leg_ttl, pod_node, H, host, node,
           keys, key_sides, key_hosts):
    """One pass over the packets and their legs (in packet order): the per-host and per-node
    work of the module docstring, and the DFW evaluations of originals as keys. Returns the
    number of keys written."""
    n = start.shape[0]
    P = pod_node.shape[0]
    j = 0
    nk = 0
    L = leg_packet.shape[0]
    for i in range(n):
        h0 = start[i]
        dropped = verdict[i] == _DROPPED
        moved = n_tunnels[i] > 0 or hops[i] > 0
        dk = dev_kind[i]
        in_vm = dropped and (dk == _POD or dk == _NODE or dk == _OVS or dk == _LB) and not moved and dfw_src[i] < 0
        entered = h0 >= 0 and not in_vm
        cur_ttl = np.int64(ttl[i])
        cur = h0
        while j < L and leg_packet[j] < i:  # (legs of no packet of this batch: none, but never loop on them)
            j += 1
        while j < L and leg_packet[j] == i:
            t = leg_tep[j]
            enc = t // H
            dec = t - enc * H
            lt = leg_ttl[j]
            host[enc, H_ROUTE] += cur_ttl - lt
            host[enc, H_ENCAP] += 1
            host[dec, H_DECAP] += 1
            host[dec, H_SWITCH] += 1
            cur_ttl = lt
            cur = dec
            j += 1
        if entered:
            host[h0, H_SWITCH] += 1
            if cur >= 0:
                more = 0
                if dk == _T1 or dk == _T0 or dk == _EDGE:
                    rs = reason[i]
                    if (dropped and (rs == _NO_ROUTE or rs == _TTL or rs == _NO_ENDPOINT)) or verdict[i] == _DELIVERED:
                        more = 1
                host[cur, H_ROUTE] += cur_ttl - np.int64(ttl_out[i]) + more
            at_src = dfw_src[i] >= 0
            at_dst = cur >= 0 and dfw_dst[i] >= 0
            original = reply[i] == 0 and (at_src or at_dst)
            key = _key(src_ip[i], dst_ip[i], sport[i], dport[i], proto[i]) if original else np.uint64(0)
            if at_src:
                host[h0, H_DFW] += 1
                if original:
                    nk = _note(keys, key_sides, key_hosts, nk, key, 0, h0)
            if at_dst:
                host[cur, H_DFW] += 1
                if original:
                    nk = _note(keys, key_sides, key_hosts, nk, key, 1, cur)
        sn = src_node[i]
        if from_pod[i] and sn >= 0 and not (dropped and dk == _POD and not moved):
            node[sn, N_SWITCH] += 1
        e = egress[i]
        if verdict[i] == _DELIVERED and e >= 0 and e < P:
            node[pod_node[e], N_SWITCH] += 1
    return nk


class ConnTable:
    """The connections seen, as conntrack keeps them: an open-addressing hash table of 64-bit
    5-tuple keys (0 marks a free slot; a key 0 is stored as 1), each slot's info word holding
    which of the connection's two ports (the sender's side, the receiver's) have met it and
    their hosts; a side meeting it the first time counts one new connection on its host. ``+``
    merges two (a copy): a side both had met is counted once."""

    def __init__(self, n_hosts: int, slots: int = 1 << 16):
        self.keys = np.zeros(slots, np.uint64)
        self.info = np.zeros(slots, np.uint64)
        self.used = 0
        self.new = np.zeros(n_hosts, np.int64)  # new connections per host

    def add(self, keys: np.ndarray, sides: np.ndarray, hosts: np.ndarray) -> None:
        self._room(keys.size)
        self.used += _insert(self.keys, self.info, keys, sides, hosts, self.new)

    def _room(self, more: int) -> None:
        need = (self.used + more) * 4 // 3  # at most 3/4 of the slots used
        if need > self.keys.size:
            size = self.keys.size
            while size < need:
                size *= 4  # (the rehash of a growing table then costs a third of the inserts, not as much again)
            old = self.keys != 0
            k, info = self.keys[old], self.info[old]
            self.keys, self.info = np.zeros(size, np.uint64), np.zeros(size, np.uint64)
            _merge(self.keys, self.info, k, info, np.zeros(self.new.size, np.int64))

    def __add__(self, other: ConnTable) -> ConnTable:
        out = ConnTable(self.new.size, self.keys.size)
        out.keys, out.info, out.used, out.new = self.keys.copy(), self.info.copy(), self.used, self.new + other.new
        taken = other.keys != 0
        out._room(int(np.count_nonzero(taken)))
        out.used += _merge(out.keys, out.info, other.keys[taken], other.info[taken], out.new)
        return out

    def __eq__(self, other) -> bool:  # the same connections counted: slots and new per host
        return isinstance(other, ConnTable) and self.used == other.used and np.array_equal(self.new, other.new)


INSERT_AHEAD = 16
"""Keys ahead whose slot `_insert` prefetches."""
_SEEN = (np.uint64(1 << 62), np.uint64(1 << 63))  # the sender's side met it; the receiver's
_HOST_BITS = np.uint64(31)
_HOST_MASK = np.uint64((1 << 31) - 1)


@kernel
def _slot(table, k, mask):
    """The slot of key k: where it is, or the free slot where it goes."""
    j = np.int64(k & np.uint64(mask))
    while True:
        t = table[j]
        if t == 0 or t == k:
            return j
        j = (j + 1) & mask


@kernel
def _insert(table, info, keys, sides, hosts, new):
    """Record each (key, side, host); count a side's first meeting new on its host. Returns the
    keys that took a free slot (the table has room: `ConnTable._room`)."""
    mask = table.size - 1
    n = 0
    m = keys.size
    for i in range(min(INSERT_AHEAD, m)):
        prefetch_row(table, np.int64(keys[i] & np.uint64(mask)))
    for i in range(m):
        if i + INSERT_AHEAD < m:  # a big table's slots are DRAM misses: keep several in flight
            prefetch_row(table, np.int64(keys[i + INSERT_AHEAD] & np.uint64(mask)))
        k = keys[i]
        if k == 0:
            k = np.uint64(1)
        j = _slot(table, k, mask)
        if table[j] == 0:
            table[j] = k
            n += 1
        seen = _SEEN[0] if sides[i] == 0 else _SEEN[1]
        if info[j] & seen == 0:
            h = np.uint64(hosts[i])
            info[j] |= seen | (h if sides[i] == 0 else h << _HOST_BITS)
            new[hosts[i]] += 1
    return n


@kernel
def _merge(table, info, keys, infos, new):
    """Merge another table's slots; a side both had met was counted new by each: once less."""
    mask = table.size - 1
    n = 0
    for i in range(keys.size):
        k = keys[i]
        j = _slot(table, k, mask)
        if table[j] == 0:
            table[j] = k
            n += 1
        both = info[j] & infos[i]
        if both & _SEEN[0]:
            new[np.int64(info[j] & _HOST_MASK)] -= 1
        if both & _SEEN[1]:
            new[np.int64((info[j] >> _HOST_BITS) & _HOST_MASK)] -= 1
        info[j] |= infos[i]
    return n
