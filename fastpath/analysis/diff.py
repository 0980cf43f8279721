"""What-if: the same traffic through two clusters, flow by flow, and what changed.

    from fastpath.analysis.diff import diff
    d = diff(before, after, profile="locality", packets=1_000_000, seed=1)
    print(d.to_text()); d.to_json()        # groups of changed flows, samples, load delta, bottlenecks

How the traffic is the same
---------------------------
The batch is made from the profile on BEFORE (seeded, chunk by chunk), then each packet is
moved to AFTER by endpoint identity: the sender by pod key, node name or uplink name; a source
or destination address (and a MAC) that belonged to a pod or node whose address moved (an
unpinned pod reallocated) becomes the new one; other destination addresses stay. A packet
whose sender is gone from AFTER is not forwarded there: it is counted as its own change,
``sender removed``. When nothing moved, AFTER forwards BEFORE's very batch (no copy).

What is compared
----------------
Both clusters forward with their own `Dataplane` (flow cache, threads). Ids differ between
the clusters (a router added shifts the others), so every id in a result is moved into one
name space per kind first — devices by kind and name, ports, hosts, DFW decisions (``policy
db/allow``), pods — as integer arrays built once per pair of clusters, never per packet. Per
packet, in this order of precedence, a change is:

1. ``verdict``: verdict, drop reason, the device of the verdict or the egress port differ;
   the group says both verdicts and, for a DFW drop, the decision that dropped it;
2. ``path``: same verdict, but IP hops, tunnels crossed, the last tunnel's hosts or the edge
   hairpin (``via_edge``) differ; the group says the hop and tunnel deltas and hairpin gained/lost;
3. ``backend``: the Service backend differs (when `Results` has a ``backend`` field);
4. ``decision``: same verdict and path, another DFW decision (``default -> policy web/a``);
5. ``sender removed``; else ``unchanged``.

Groups are the distinct (change, details) signatures, found with a 64-bit hash of the fields
per changed packet, sorted; each gets its label from its first packet. A flow is ingress +
5-tuple (the BEFORE packet's). Distinct flows are counted exactly up to a 48-bit hash of the
flow (~0.2 collisions expected at 10M flows), with the group in the low 16 bits of the same
word, so one sort of all packets counts the flows of every group; a flow whose packets fall in
two groups (sizes differ per packet: one fits the MTU, one does not) counts in both. Each
group keeps its (source namespace -> destination namespace) pairs, as BEFORE sees them
(``nodes``, ``outside``), and a few sample flows, each with both outcomes by name.

Load: a `ReportAccumulator` per cluster (fed each chunk) gives both load reports; their
per-device loads are joined by kind and device name (hosts, edges, uplinks, routers,
segments), with the deltas and the bottleneck of each.

Cost
----
Per chunk: two forwards, the mapping (nothing when the clusters agree on every endpoint),
~25 numpy passes over the packets for the comparison, a sort over the changed packets only,
and one hash per packet; at the end one sort of a uint64 per packet and a numba scan of it (the
flows). bench/diff.py measures it against one plain forward of the same packets: ~2.9x (the
floor is 2x), 10M packets on two 10,000-pod clusters in ~3 s on 2 cores.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._jit import jit
from ..model.addressing import ip_to_str
from ..model.cluster import Cluster, ovs_name, tunnel_name, vif_name
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, PacketBatch, Results, empty_results
from ..verdicts import DeviceKind, Reason, Verdict

UNCHANGED, VERDICT, PATH, BACKEND, DECISION, REMOVED = range(6)
CLASSES = ("unchanged", "verdict", "path", "backend", "decision", "sender removed")
SAMPLES = 5
DEFAULT_CHUNK = 1 << 20
MAX_PACKETS = 100_000_000
"""Packets a diff sends at most: counting distinct flows holds 8 bytes a packet until the end
(800 MB at this bound); the CLI's --packets has the same bound."""
_GROUP_BITS = 16
MAX_GROUPS = (1 << _GROUP_BITS) - 1
_HAS_BACKEND = "backend" in Results._fields
_U64 = np.uint64


# ---- name spaces ---------------------------------------------------------------------------------
class _Space:
    """The names of one kind of thing in BEFORE then AFTER's others: BEFORE's ids are ids of the
    union, AFTER's are moved by `a`. ``b_to_a``: BEFORE id -> AFTER id, -1 where AFTER lacks it."""

    def __init__(self, names_b: list[str], names_a: list[str]):
        self.identity = list(names_b) == list(names_a)
        self.n_b = len(names_b)
        if self.identity:
            self.names = list(names_b)
            self.remap = np.arange(len(names_a), dtype=np.int64)
            self.b_to_a = np.arange(len(names_b), dtype=np.int64)
            return
        idx = {n: i for i, n in enumerate(names_b)}
        extra: list[str] = []
        remap = np.empty(len(names_a), np.int64)
        for j, n in enumerate(names_a):
            i = idx.get(n)
            if i is None:
                i = idx[n] = len(names_b) + len(extra)
                extra.append(n)
            remap[j] = i
        self.names = list(names_b) + extra
        self.remap = remap
        self._lut = np.concatenate(([-1], remap))  # AFTER id + 1 -> union id (-1 + 1 -> none)
        self.b_to_a = np.full(len(names_b), -1, np.int64)
        inb = remap < len(names_b)
        self.b_to_a[remap[inb]] = np.flatnonzero(inb)

    @property
    def size(self) -> int:
        return len(self.names)

    def a(self, ids: np.ndarray) -> np.ndarray:
        """AFTER ids (-1 none) -> union ids: the array itself where the spaces agree, else a gather."""
        return ids if self.identity else self._lut[ids + 1]


_KIND_SPACE = {DeviceKind.POD: "pods", DeviceKind.NODE: "nodes", DeviceKind.OVS: "nodes", DeviceKind.VIF: "nodes",
               DeviceKind.SEGMENT: "segments", DeviceKind.T1: "routers", DeviceKind.T0: "routers",
               DeviceKind.EDGE: "routers", DeviceKind.UPLINK: "uplinks", DeviceKind.PORT: "ports",
               DeviceKind.LB: "nodes", DeviceKind.NAT: "nodes"}


def _pod_keys(c: Cluster) -> list[str]:
    return list(c.pod_index)


class _Spaces:
    """Every name space of a pair of clusters (see the module docstring)."""

    def __init__(self, b: Cluster, a: Cluster, tb, ta):
        self.pods = _Space(_pod_keys(b), _pod_keys(a))
        self.nodes = _Space([n.name for n in b.nodes], [n.name for n in a.nodes])
        self.segments = _Space([s.name for s in b.segments], [s.name for s in a.segments])
        self.routers = _Space(list(tb.router_names), list(ta.router_names))
        self.uplinks = _Space([u.name for u in b.uplinks], [u.name for u in a.uplinks])
        self.hosts = _Space([h.name for h in b.hosts], [h.name for h in a.hosts])
        self.ports = _Space(_pod_keys(b) + [n.name for n in b.nodes], _pod_keys(a) + [n.name for n in a.nodes])
        self.decisions = _Space(list(tb.dfw_decision_names), list(ta.dfw_decision_names))
        from ..model.firewall import decision_allows
        allows = np.zeros(self.decisions.size, bool)
        allows[: self.decisions.n_b] = decision_allows(b)
        allows[self.decisions.remap] = decision_allows(a)  # a name allows the same on both sides
        self.allows = allows
        self.hb, self.ha, self.hu = len(b.hosts), len(a.hosts), self.hosts.size

    def device_ids_b(self, kind: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """BEFORE's device ids in the union spaces (only tunnels move: the union may have more hosts)."""
        if self.hu == self.hb:
            return ids
        t = kind == int(DeviceKind.TUNNEL)
        if not t.any():
            return ids
        out = ids.astype(np.int64)
        x = out[t]
        out[t] = np.where(x >= 0, (x // self.hb) * self.hu + x % self.hb, -1)
        return out

    def device_ids_a(self, kind: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """AFTER's device ids in the union spaces (kind by kind, only where the spaces differ)."""
        out = None
        present = np.flatnonzero(np.bincount(kind, minlength=1)).tolist() if kind.size else []
        for k in present:
            dk = DeviceKind(k) if k in DeviceKind._value2member_map_ else None
            if dk is DeviceKind.TUNNEL:
                if self.hosts.identity and self.hu == self.ha:
                    continue
                m = kind == k
                x = ids[m].astype(np.int64)
                xs = np.maximum(x, 0)
                new = np.where(x >= 0, self.hosts.remap[xs // self.ha] * self.hu + self.hosts.remap[xs % self.ha], -1)
            else:
                space = getattr(self, _KIND_SPACE[dk]) if dk in _KIND_SPACE else None
                if space is None or space.identity:
                    continue
                m = kind == k
                new = space.a(ids[m])
            if out is None:
                out = ids.astype(np.int64)
            out[m] = new
        return ids if out is None else out

    def device_b(self, kind: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """BEFORE (kind, id) -> one int64 code (kind in the high bits, union id + 1 below)."""
        return (kind.astype(np.int64) << 40) | (self.device_ids_b(kind, ids).astype(np.int64) + 1)

    def device_a(self, kind: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """AFTER (kind, id) -> the code of its name in BEFORE's terms."""
        return (kind.astype(np.int64) << 40) | (self.device_ids_a(kind, ids).astype(np.int64) + 1)

    # ---- names (for labels and samples) ----
    def device_name(self, code: int) -> str:
        kind, uid = DeviceKind(code >> 40), (code & ((1 << 40) - 1)) - 1
        if uid < 0:
            return ""
        if kind is DeviceKind.TUNNEL:
            return tunnel_name(self.hosts.names[uid // self.hu], self.hosts.names[uid % self.hu])
        name = getattr(self, _KIND_SPACE[kind]).names[uid]
        if kind is DeviceKind.OVS:
            return ovs_name(name)
        if kind is DeviceKind.VIF:
            return vif_name(name)
        if kind is DeviceKind.PORT:
            return "lp:" + name
        return name


# ---- traffic: BEFORE's packets in AFTER -----------------------------------------------------------
class _Mapper:
    """Moves a BEFORE batch to AFTER by endpoint identity (see the module docstring)."""

    def __init__(self, b: Cluster, a: Cluster, sp: _Spaces):
        self.pod = sp.pods.b_to_a
        self.node = sp.nodes.b_to_a
        self.uplink = sp.uplinks.b_to_a
        self.identity = sp.pods.identity and sp.nodes.identity and sp.uplinks.identity
        old_ip, new_ip, old_mac, new_mac = [], [], [], []
        pm = self.pod >= 0
        if pm.any():
            ib, ia = b.pods.ip[pm], a.pods.ip[self.pod[pm]]
            old_ip.append(ib[ib != ia]), new_ip.append(ia[ib != ia])
            mb, ma = b.pods.mac[pm], a.pods.mac[self.pod[pm]]
            old_mac.append(mb[mb != ma]), new_mac.append(ma[mb != ma])
        for i, j in enumerate(self.node.tolist()):
            if j >= 0 and b.nodes[i].ip != a.nodes[j].ip:
                old_ip.append(np.array([b.nodes[i].ip], np.uint32)), new_ip.append(np.array([a.nodes[j].ip], np.uint32))
            if j >= 0 and b.nodes[i].mac != a.nodes[j].mac:
                old_mac.append(np.array([b.nodes[i].mac], np.uint64))
                new_mac.append(np.array([a.nodes[j].mac], np.uint64))
        self.ips = _moves(old_ip, new_ip, np.uint32)
        self.macs = _moves(old_mac, new_mac, np.uint64)
        self.identity = self.identity and self.ips is None and self.macs is None
        self.after = a  # a reply to a cluster IP comes from the backend AFTER's kube-proxy picks
        self.n_pods_a = len(a.pods)

    def __call__(self, batch: PacketBatch) -> tuple[PacketBatch, np.ndarray | None]:
        """-> (AFTER's batch, the BEFORE packets it holds: None = all, in order)."""
        out, kept = self._move(batch)
        return self._service_replies(out), kept

    def _service_replies(self, batch: PacketBatch) -> PacketBatch:
        """Replies from a cluster IP (`fastpath.dataplane.stages.service`) sent by AFTER's backend
        of their connection: a changed Service may send the connection elsewhere."""
        if not self.after.services:
            return batch
        from ..tables.services import backend_ports, of_cluster

        st = of_cluster(self.after)
        rep = np.flatnonzero((batch.reply != 0) & ((batch.src_ip & st.mask) == st.net))
        if not rep.size:
            return batch
        be = backend_ports(st, batch.dst_ip[rep], batch.src_ip[rep], batch.proto[rep], batch.dport[rep],
                           batch.sport[rep])
        ok = be >= 0
        rep, be = rep[ok], be[ok]
        kind, iid = batch.ingress_kind.copy(), batch.ingress_id.copy()
        kind[rep] = np.where(be < self.n_pods_a, INGRESS_POD, INGRESS_NODE)
        iid[rep] = np.where(be < self.n_pods_a, be, be - self.n_pods_a)
        return batch._replace(ingress_kind=kind, ingress_id=iid)

    def _move(self, batch: PacketBatch) -> tuple[PacketBatch, np.ndarray | None]:
        if self.identity:
            return batch, None
        kind = batch.ingress_kind
        iid = batch.ingress_id.astype(np.int64)
        new = iid.copy()
        for k, table in ((INGRESS_POD, self.pod), (INGRESS_NODE, self.node), (INGRESS_UPLINK, self.uplink)):
            m = kind == k
            if m.any():
                x = iid[m]
                ok = (x >= 0) & (x < table.size)
                new[m] = np.where(ok, table[np.where(ok, x, 0)], -1) if table.size else -1
        known = (kind == INGRESS_POD) | (kind == INGRESS_NODE) | (kind == INGRESS_UPLINK)
        keep = ~known | (new >= 0)
        cols = batch._asdict()
        cols["ingress_id"] = new.astype(np.int32)
        for name, moves in (("src_ip", self.ips), ("dst_ip", self.ips), ("src_mac", self.macs), ("dst_mac", self.macs)):
            if moves is not None:
                cols[name] = _apply_moves(cols[name], *moves)
        kept = None
        if not keep.all():
            kept = np.flatnonzero(keep)
            cols = {k: v[kept] for k, v in cols.items()}
        return PacketBatch(**{k: np.ascontiguousarray(v) for k, v in cols.items()}), kept


def _moves(old: list, new: list, dtype):
    if not old or sum(x.size for x in old) == 0:
        return None
    o, n = np.concatenate(old).astype(dtype), np.concatenate(new).astype(dtype)
    order = np.argsort(o, kind="stable")
    return o[order], n[order]


def _apply_moves(col: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(old, col), old.size - 1)
    hit = (old[at] == col) & (col != 0)
    return np.where(hit, new[at], col).astype(col.dtype) if hit.any() else col


# ---- hashing -------------------------------------------------------------------------------------
def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (in place)."""
    h ^= h >> _U64(30)
    h *= _U64(0xBF58476D1CE4E5B9)
    h ^= h >> _U64(27)
    h *= _U64(0x94D049BB133111EB)
    h ^= h >> _U64(31)
    return h


def _combine(cols: list[np.ndarray]) -> np.ndarray:
    h = np.zeros(cols[0].shape[0], _U64)
    for c in cols:
        h ^= c.astype(np.int64).view(_U64) if c.dtype.kind == "i" else c.astype(_U64)
        _mix(h)
        h += _U64(0x9E3779B97F4A7C15)
    return h


def flow_hash(b: PacketBatch) -> np.ndarray:
    """uint64 per packet: a hash of its flow (ingress + 5-tuple)."""
    a = (b.ingress_kind.astype(_U64) << _U64(32)) | b.ingress_id.astype(np.int64).view(_U64) & _U64(0xFFFFFFFF)
    ips = (b.src_ip.astype(_U64) << _U64(32)) | b.dst_ip.astype(_U64)
    l4 = (b.proto.astype(_U64) << _U64(32)) | (b.sport.astype(_U64) << _U64(16)) | b.dport.astype(_U64)
    return _combine([a, ips, l4])


def _sorted_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts, by a sort (numpy's unique is slower on big arrays)."""
    if keys.size == 0:
        return keys, np.zeros(0, np.int64)
    s = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return s[starts], np.diff(np.append(starts, s.size))


# ---- the groups ----------------------------------------------------------------------------------
@dataclass
class Group:
    """One kind of change: its class (`CLASSES`), a label, what it holds and where."""

    id: int
    cls: str
    label: str
    detail: dict
    packets: int = 0
    flows: int = 0
    pairs: dict = field(default_factory=dict)  # (src namespace, dst namespace) -> packets
    samples: list = field(default_factory=list)

    def pair_rows(self) -> list[dict]:
        tot = sum(self.pairs.values()) or 1
        return [{"src_ns": s, "dst_ns": d, "packets": n, "share": n / tot}
                for (s, d), n in sorted(self.pairs.items(), key=lambda kv: (-kv[1], kv[0]))]


def _verdict_text(v: int, r: int, decider: str) -> str:
    s = Verdict(v).label
    if r:
        s += f" ({Reason(r).label}" + (f", {decider}" if decider else "") + ")"
    return s


def _tunnel_text(d: int) -> str:
    return f"{d:+d} tunnel{'s' if abs(d) != 1 else ''}"


def _label(cls: int, f: dict, sp: _Spaces) -> str:
    dn = sp.decisions.names
    if cls == UNCHANGED:
        return "unchanged"
    if cls == REMOVED:
        return "sender removed"
    if cls == VERDICT:
        b = _verdict_text(f["vb"], f["rb"], dn[f["db"]] if f["db"] >= 0 else "")
        a = _verdict_text(f["va"], f["ra"], dn[f["da"]] if f["da"] >= 0 else "")
        return f"{b} -> {a}" + (" (another device)" if a == b else "")
    if cls == PATH:
        parts = []
        if f["dvia"]:
            parts.append("edge hairpin " + ("gained" if f["dvia"] > 0 else "lost"))
        if f["dhops"]:
            parts.append(f"{f['dhops']:+d} hop{'s' if abs(f['dhops']) != 1 else ''}")
        if f["dtun"]:
            parts.append(_tunnel_text(f["dtun"]))
        if f["tun_hosts"] and not f["dtun"]:
            parts.append("other tunnel hosts")
        return "path changed: " + (", ".join(parts) or "other tunnel hosts")
    if cls == BACKEND:
        return "backend changed"
    side = []
    if f["sb"] != f["sa"]:
        side.append(f"{_dec(dn, f['sb'])} -> {_dec(dn, f['sa'])} at the sender")
    if f["tb"] != f["ta"]:
        side.append(f"{_dec(dn, f['tb'])} -> {_dec(dn, f['ta'])} at the receiver")
    return "dfw decision changed: " + "; ".join(side)


def _dec(names, i: int) -> str:
    return names[i] if i >= 0 else "not evaluated"


# ---- the result ----------------------------------------------------------------------------------
@dataclass
class DiffResult:
    """What changed between BEFORE and AFTER for the same traffic (see the module docstring)."""

    packets: int
    flows: int
    changed_packets: int
    changed_flows: int
    groups: list[Group]  # unchanged first, then by flows
    load_delta: Any  # pandas DataFrame
    bottleneck: dict  # {"before": dict | None, "after": dict | None}
    changes: list[dict]  # what the specs differ in (`fastpath.analysis.patch.spec_changes`)
    change_text: str
    profile: str
    seed: int
    timings: dict
    reports: tuple = ()  # (LoadReport before, LoadReport after)
    per_packet: tuple | None = None  # (BEFORE's PacketBatch, int32 group id per packet) when kept

    def group(self, cls: str) -> list[Group]:
        return [g for g in self.groups if g.cls == cls]

    @property
    def changed_groups(self) -> list[Group]:
        return [g for g in self.groups if g.cls != "unchanged"]

    def share(self, n: int, of: str = "flows") -> float:
        tot = self.flows if of == "flows" else self.packets
        return n / tot if tot else 0.0

    # ---- explanation ----
    def explanation(self, top: int = 4) -> list[str]:
        """Sentences a planner reads first: the change, what it does to which flows, the load."""
        head = self.change_text[:1].upper() + self.change_text[1:]
        if not self.changed_packets:
            lines = [(f"{head} changes no flow" if self.changes else "The specs describe the same cluster: no flow "
                      "changes") + f" of the {self.flows:,} ({self.packets:,} packets, profile {self.profile})."]
        else:
            effects = [f"{_effect(g, self.share(g.flows))}, {_pairs_text(g)}" for g in self.changed_groups[:top]]
            more = len(self.changed_groups) - top
            tail = f"; and {more} more kind(s) of change" if more > 0 else ""
            lines = [f"{head} " + "; ".join(effects) + tail + "."]
            cf, cp = self.changed_flows, self.changed_packets
            lines.append(f"In all {cf:,} of {self.flows:,} flows change ({_pct(self.share(cf))}), "
                         f"{cp:,} of {self.packets:,} packets ({_pct(self.share(cp, 'packets'))}).")
        load = _load_line(self.load_delta)
        if load:
            lines.append(load)
        bb, ba = self.bottleneck["before"], self.bottleneck["after"]
        if bb or ba:
            same = bb and ba and (bb["device"], bb["direction"]) == (ba["device"], ba["direction"])
            lines.append(f"Bottleneck {'stays' if same else 'before'}: {_bn(bb)}" + ("" if same else f"; after: {_bn(ba)}")
                         + (f" (now {_pct(ba['utilisation'])})" if same and ba.get("utilisation") is not None else "") + ".")
        return lines

    def to_json(self, samples: int = SAMPLES, load_rows: int | None = 50) -> dict:
        from .report import _plain, _records

        by_change = [{"change": g.label, "class": g.cls, "packets": g.packets,
                      "packet_share": self.share(g.packets, "packets"), "flows": g.flows, "flow_share": self.share(g.flows), "pairs": g.pair_rows()[:20], **g.detail}
                     for g in self.groups]
        ld = self.load_delta
        return _plain({
            "packets": self.packets, "flows": self.flows, "profile": self.profile, "seed": self.seed,
            "changed": {"packets": self.changed_packets, "flows": self.changed_flows,
                        "packet_share": self.share(self.changed_packets, "packets"),
                        "flow_share": self.share(self.changed_flows)},
            "by_change": by_change,
            "samples": [dict(s, change=g.label) for g in self.groups for s in g.samples[:samples]],
            "load_delta": _records(ld, load_rows),
            "bottleneck": self.bottleneck,
            "spec_changes": [dict(c, fields=[list(f) for f in c["fields"]]) for c in self.changes],
            "explanation": self.explanation(),
            "timings": self.timings,
        })

    def to_text(self, samples: int = 3, load_rows: int = 10) -> str:
        from .report import _table

        lines = list(self.explanation())
        lines.append("")
        rows = [[g.label, f"{g.packets:,}", _pct(self.share(g.packets, 'packets')), f"{g.flows:,}",
                 _pct(self.share(g.flows)), _pairs_text(g, 2) if g.cls != "unchanged" else ""] for g in self.groups]
        lines.extend(_table(rows, ["change", "packets", "share", "flows", "share", "src ns -> dst ns"]))
        shown = [g for g in self.groups if g.samples]
        if shown and samples:
            lines += ["", "sample flows"]
            for g in shown:
                lines.append(f"  {g.label}")
                for s in g.samples[:samples]:
                    lines.append(f"    {s['src']} -> {s['dst']}{' (' + s['dst_name'] + ')' if s['dst_name'] else ''} "
                                 f"{s['proto']}/{s['dport']}{' reply' if s['reply'] else ''}: "
                                 f"{_outcome_text(s['before'])} => {_outcome_text(s['after'])}")
        ld = self.load_delta
        if len(ld):
            moved = ld[(ld["delta_packets"] != 0) | (ld["delta_bytes"] != 0)]
            lines.append("")
            if len(moved) == 0:
                lines.append("load delta: no device's load changed")
            else:
                rows = [[f"{r['kind']} {r['device']}", f"{r['packets_before']:,}", f"{r['packets_after']:,}",
                         f"{r['delta_packets']:+,}", _rel(r["rel_packets"]), f"{r['delta_bytes']:+,}",
                         _pct(r["util_before"]), _pct(r["util_after"])]
                        for r in moved.head(load_rows).to_dict("records")]
                title = f"load delta, top {len(rows)} of {len(moved)} devices" if len(moved) > len(rows) else "load delta"
                lines.extend(_table(rows, [title, "pkts before", "pkts after", "delta", "rel", "delta bytes",
                                           "util before", "util after"]))
        lines.append("")
        lines.append(f"bottleneck before: {_bn(self.bottleneck['before'])}")
        lines.append(f"bottleneck after:  {_bn(self.bottleneck['after'])}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _rel(x) -> str:
    return "new" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.1f}%"


def _bn(b) -> str:
    if not b:
        return "none (no device carried load)"
    util = f", {_pct(b['utilisation'])}" if b.get("utilisation") is not None else ""
    dev = f"{b['device']} SRs" if b["kind"] == "edge" else f"{b['device']} {b['direction']}"
    return f"{dev} ({b['kind']}{util}, saturates at {b['saturates_at_pps'] / 1e6:.3g} Mpps offered)"


def _pairs_text(g: Group, top: int = 3) -> str:
    rows = g.pair_rows()
    if not rows:
        return ""
    if len(rows) == 1:
        return f"all {rows[0]['src_ns']}→{rows[0]['dst_ns']}"
    s = ", ".join(f"{r['src_ns']}→{r['dst_ns']} {_pct(r['share'])}" for r in rows[:top])
    return s + (f" and {len(rows) - top} more pairs" if len(rows) > top else "")


def _effect(g: Group, share: float) -> str:
    pct = _pct(share)
    d = g.detail
    if g.cls == "verdict":
        if d["after"]["verdict"] == "dropped" and d["before"]["verdict"] != "dropped":
            why = d["after"]["reason"] + (f", {d['after']['decision']}" if d["after"].get("decision") else "")
            if d["after"].get("isolated_by"):
                why += " by " + ", ".join(d["after"]["isolated_by"][:3])
            return f"drops {pct} of flows ({why})"
        if d["before"]["verdict"] == "dropped" and d["after"]["verdict"] != "dropped":
            return f"lets {pct} of flows through ({g.label})"
        return f"changes the verdict of {pct} of flows ({g.label})"
    if g.cls == "path":
        return f"reroutes {pct} of flows ({g.label.split(': ', 1)[1]})"
    if g.cls == "decision":
        return f"changes the deciding DFW rule of {pct} of flows ({g.label.split(': ', 1)[1]})"
    if g.cls == "backend":
        return f"moves {pct} of flows to another backend"
    return f"removes the sender of {pct} of flows"


def _load_line(ld) -> str:
    """The biggest load change of an edge's SRs, else of an uplink or host link."""
    if ld is None or not len(ld):
        return ""
    x = ld[ld["kind"].isin(["edge", "host", "uplink"]) & (ld["delta_packets"] != 0)]
    if not len(x):
        return "No host, edge or uplink carries a different load."
    if (x["kind"] == "edge").any():
        x = x[x["kind"] == "edge"]
    r = x.iloc[np.argmax(np.abs(x["delta_packets"].to_numpy()))]
    rel = _rel(r["rel_packets"]) if r["packets_before"] else "new load"
    unit = "SR packets" if r["kind"] == "edge" else "packets"
    return f"Load: {r['kind']} {r['device']} {unit} {rel} ({int(r['packets_before']):,} -> {int(r['packets_after']):,})."


def _outcome_text(o) -> str:
    if o is None:
        return "(not sent: sender removed)"
    s = o["verdict"] + (f" ({o['reason']})" if o["reason"] else "") + (f" at {o['device']}" if o["device"] else "")
    s += f", {o['hops']} hops, {o['tunnels']} tunnels" + (", via edge" if o["via_edge"] else "")
    if o.get("backend"):
        s += f", backend {o['backend']}"
    return s


# ---- load ----------------------------------------------------------------------------------------
def load_delta(rb, ra):
    """Two `LoadReport`s joined by (kind, device): packets, bytes and utilisation of each, the deltas
    (``rel_packets``: delta / before, NaN where before is 0); sorted by the largest packet change."""
    import pandas as pd

    def rows(rep) -> pd.DataFrame:
        u = rep.utilisation
        util = u.groupby(["kind", "device"])["utilisation"].max() if len(u) else pd.Series(dtype=float)
        parts = []
        h = rep.hosts
        parts.append(pd.DataFrame({"kind": "host", "device": h["host"], "packets": h["tx_packets"] + h["rx_packets"],
                                   "bytes": h["tx_bytes"] + h["rx_bytes"],
                                   "util": [util.get(("host-link", d), np.nan) for d in h["host"]]}))
        e = rep.edges
        parts.append(pd.DataFrame({"kind": "edge", "device": e["edge"], "packets": e["sr_packets"], "bytes": e["sr_bytes"],
                                   "util": [util.get(("edge", d), np.nan) for d in e["edge"]]}))
        up = rep.uplinks
        parts.append(pd.DataFrame({"kind": "uplink", "device": up["uplink"],
                                   "packets": up["tx_packets"] + up["rx_packets"].fillna(0),
                                   "bytes": up["tx_bytes"] + up["rx_bytes"].fillna(0),
                                   "util": [util.get(("uplink", d), np.nan) for d in up["uplink"]]}))
        cpu = rep.cpu
        if cpu is not None and len(cpu):  # the cost model's CPUs: passes through the device, its cycles' share
            parts.append(pd.DataFrame({"kind": "cpu", "device": cpu["device"], "packets": cpu["packets"], "bytes": 0,
                                       "util": [util.get((f"{k}-cpu", d), np.nan)
                                                for k, d in zip(cpu["device_class"], cpu["device"])]}))
        r = rep.routers
        parts.append(pd.DataFrame({"kind": "router", "device": r["router"], "packets": r["packets"], "bytes": r["bytes"],
                                   "util": np.nan}))
        s = rep.segments
        parts.append(pd.DataFrame({"kind": "segment", "device": s["segment"], "packets": s["packets"], "bytes": s["bytes"],
                                   "util": np.nan}))
        df = pd.concat([p for p in parts if len(p)], ignore_index=True)
        df["packets"] = df["packets"].astype(np.int64)
        df["bytes"] = df["bytes"].astype(np.int64)
        return df

    b, a = rows(rb), rows(ra)
    m = b.merge(a, on=["kind", "device"], how="outer", suffixes=("_before", "_after"), sort=False)
    for c in ("packets", "bytes"):
        for s in ("_before", "_after"):
            m[c + s] = m[c + s].fillna(0).astype(np.int64)
    m["delta_packets"] = m["packets_after"] - m["packets_before"]
    m["delta_bytes"] = m["bytes_after"] - m["bytes_before"]
    pb = m["packets_before"]
    m["rel_packets"] = (m["delta_packets"] / pb.where(pb > 0)).astype(float)  # NaN where nothing was before
    m["delta_util"] = m["util_after"] - m["util_before"]
    order = np.lexsort((m["device"].to_numpy(dtype=str), -np.abs(m["delta_bytes"].to_numpy()),
                        -np.abs(m["delta_packets"].to_numpy())))
    cols = ["kind", "device", "packets_before", "packets_after", "delta_packets", "rel_packets", "bytes_before",
            "bytes_after", "delta_bytes", "util_before", "util_after", "delta_util"]
    return m.iloc[order][cols].reset_index(drop=True)


# ---- the run -------------------------------------------------------------------------------------
class _Compare:
    """Per chunk: classify, group, count (see the module docstring)."""

    def __init__(self, b: Cluster, a: Cluster, sp: _Spaces, keep_packets: bool, samples: int):
        self.b, self.a, self.sp = b, a, sp
        self.groups: list[Group] = [Group(0, "unchanged", "unchanged", {})]
        self.by_sig: dict[int, int] = {}
        self.flow_keys: list[np.ndarray] = []
        self.pairs: dict[int, int] = {}
        self.keep = keep_packets
        self.kept: list[tuple[PacketBatch, np.ndarray]] = []
        self.n_samples = samples
        ns = [s.namespace for s in b.namespaces]
        self.ns_names = ns + ["nodes", "services", "outside"]
        self.M = len(self.ns_names)
        starts, ends, codes = [], [], []
        for k, s in enumerate(b.segments):
            starts.append(int(s.subnet.network_address)), ends.append(int(s.subnet.broadcast_address))
            codes.append(len(ns) if s.namespace is None else b.namespace_index[s.namespace])
        svc = getattr(b.settings, "service_cidr", None)  # Services' virtual IPs, once the model has them
        if svc is not None:
            svc = ipaddress.ip_network(str(svc))
            starts.append(int(svc.network_address)), ends.append(int(svc.broadcast_address)), codes.append(len(ns) + 1)
        o = np.argsort(starts)
        self.sub_start = np.array(starts, np.int64)[o]
        self.sub_end = np.array(ends, np.int64)[o]
        self.sub_code = np.array(codes, np.int64)[o]
        self.pod_ns = b.pods.namespace.astype(np.int64)

    # -- namespaces of packets (BEFORE's view) --
    def src_ns(self, batch: PacketBatch, idx: np.ndarray) -> np.ndarray:
        k, i = batch.ingress_kind[idx], batch.ingress_id[idx].astype(np.int64)
        out = np.full(idx.size, self.M - 1, np.int64)
        pod = (k == INGRESS_POD) & (i >= 0) & (i < self.pod_ns.size)
        out[pod] = self.pod_ns[i[pod]]
        out[k == INGRESS_NODE] = self.M - 3
        return out

    def dst_ns(self, ips: np.ndarray) -> np.ndarray:
        ip = ips.astype(np.int64)
        if not self.sub_start.size:
            return np.full(ip.size, self.M - 1, np.int64)
        at = np.maximum(np.searchsorted(self.sub_start, ip, "right") - 1, 0)
        inside = (ip >= self.sub_start[at]) & (ip <= self.sub_end[at])
        return np.where(inside, self.sub_code[at], self.M - 1)

    def chunk(self, batch: PacketBatch, rb: Results, ra: Results | None, kept: np.ndarray | None) -> None:
        n = batch.size
        if kept is None:
            cls, ctx = self._classify(rb, ra) if ra is not None else (np.full(n, REMOVED, np.uint8), None)
        else:  # the senders AFTER lacks: REMOVED; the others compared at their place in AFTER's batch
            cls = np.full(n, REMOVED, np.uint8)
            ctx = None
            if ra is not None and ra.size:
                c, ctx = self._classify(Results(*(x[kept] for x in rb)), ra)
                cls[kept] = c
        changed = np.flatnonzero(cls)
        g = np.zeros(n, np.int32)
        if changed.size:
            cc = cls[changed]
            fields: dict[str, np.ndarray] = {}
            if ctx is not None:
                compared = cc != REMOVED
                pos = changed[compared]
                if kept is not None:
                    inv = np.full(n, -1, np.int64)
                    inv[kept] = np.arange(kept.size)
                    pos = inv[pos]
                fields = {k: _scatter(v, np.flatnonzero(compared), changed.size)
                          for k, v in self._fields(ctx, pos).items()}
            sig_cols = [cc]
            if fields:
                of_class = {c: cc == c for c in _RELEVANT}
                sig_cols += [np.where(of_class[_FIELD_CLASS[name]], fields[name], 0) for name in _SIG_FIELDS]
            sig = _combine(sig_cols)
            uniq, _ = _sorted_counts(sig)
            gid_of = np.empty(uniq.size, np.int32)
            for j, u in enumerate(uniq.tolist()):
                gid = self.by_sig.get(u)
                if gid is None:
                    first = int(np.argmax(sig == _U64(u)))
                    gid = self._new_group(int(cc[first]), {k: int(v[first]) for k, v in fields.items()})
                    self.by_sig[u] = gid
                gid_of[j] = gid
            gc = gid_of[np.searchsorted(uniq, sig)]
            g[changed] = gc
            # (source ns, destination ns) pairs of the changed packets, per group
            key = (gc.astype(np.int64) * self.M + self.src_ns(batch, changed)) * self.M + \
                self.dst_ns(batch.dst_ip[changed])
            vals, counts = _sorted_counts(key)
            for v, k in zip(vals.tolist(), counts.tolist()):
                self.pairs[v] = self.pairs.get(v, 0) + k
            counts = np.bincount(gc, minlength=len(self.groups))
            for gid, k in enumerate(counts.tolist()):
                self.groups[gid].packets += k
        self.groups[0].packets += n - changed.size
        fh = flow_hash(batch)
        fh &= ~_U64(MAX_GROUPS)
        if changed.size:
            fh[changed] |= g[changed].astype(_U64)
        self.flow_keys.append(fh)
        self._sample(batch, rb, ra, kept, g, fh)
        if self.keep:
            self.kept.append((batch, g))

    def _classify(self, rb: Results, ra: Results) -> tuple[np.ndarray, tuple]:
        """The class of every packet (uint8) and what `_fields` needs, AFTER's ids moved into the
        union spaces (no copy where a space is the same on both sides)."""
        sp = self.sp
        kb, ib = rb.dev_kind, sp.device_ids_b(rb.dev_kind, rb.dev_id)
        ia = sp.device_ids_a(ra.dev_kind, ra.dev_id)
        verdict = (rb.verdict != ra.verdict) | (rb.reason != ra.reason) | (kb != ra.dev_kind) | (ib != ia)
        verdict |= rb.egress_port != sp.ports.a(ra.egress_port)
        ts_a, td_a = sp.hosts.a(ra.tun_src_host), sp.hosts.a(ra.tun_dst_host)
        path = (rb.hops != ra.hops) | (rb.n_tunnels != ra.n_tunnels) | (rb.via_edge != ra.via_edge)
        path |= (rb.tun_src_host != ts_a) | (rb.tun_dst_host != td_a)
        sa, ta = sp.decisions.a(ra.dfw_at_src), sp.decisions.a(ra.dfw_at_dst)
        decision = (rb.dfw_at_src != sa) | (rb.dfw_at_dst != ta)
        cls = np.where(decision, DECISION, UNCHANGED).astype(np.uint8)
        cls[path] = PATH
        cls[verdict] = VERDICT
        if _HAS_BACKEND:  # kube-proxy picked another backend: the device and path follow from it
            moved = (rb.backend != sp.ports.a(ra.backend)) & (rb.verdict == ra.verdict) & (rb.reason == ra.reason)
            cls[moved] = BACKEND
        return cls, (rb, ra, ts_a, td_a, sa, ta)

    def _fields(self, ctx: tuple, pos: np.ndarray) -> dict:
        """The signature fields of the packets at ``pos`` (int64 each)."""
        rb, ra, ts_a, td_a, sa, ta = ctx
        i64 = lambda x: x[pos].astype(np.int64)  # noqa: E731
        sb, tb, sa, ta = i64(rb.dfw_at_src), i64(rb.dfw_at_dst), i64(sa), i64(ta)
        allows, dfw = self.sp.allows, int(Reason.DFW_DENY)

        def decider(r, s, t):  # the decision that dropped a dfw-deny: the receiver's if it denies, else the sender's
            deny_t = (t >= 0) & ~allows[np.maximum(t, 0)]
            return np.where(r == dfw, np.where(deny_t, t, s), -1)

        vb, rbr, va, rar = i64(rb.verdict), i64(rb.reason), i64(ra.verdict), i64(ra.reason)
        tun = (i64(rb.tun_src_host) != i64(ts_a)) | (i64(rb.tun_dst_host) != i64(td_a))
        return {"vb": vb, "rb": rbr, "va": va, "ra": rar, "db": decider(rbr, sb, tb), "da": decider(rar, sa, ta),
                "dvia": i64(ra.via_edge) - i64(rb.via_edge), "dhops": i64(ra.hops) - i64(rb.hops),
                "dtun": i64(ra.n_tunnels) - i64(rb.n_tunnels), "tun_hosts": tun.astype(np.int64),
                "sb": sb, "sa": sa, "tb": tb, "ta": ta}

    def _new_group(self, cls: int, f: dict) -> int:
        gid = len(self.groups)
        if gid > MAX_GROUPS - 1:
            raise ValueError(f"more than {MAX_GROUPS - 1} kinds of change: the diff cannot group them")
        dn = self.sp.decisions.names
        detail: dict = {}
        if cls == VERDICT:
            detail = {"before": {"verdict": Verdict(f["vb"]).label, "reason": Reason(f["rb"]).label,
                                 "decision": dn[f["db"]] if f["db"] >= 0 else None},
                      "after": {"verdict": Verdict(f["va"]).label, "reason": Reason(f["ra"]).label,
                                "decision": dn[f["da"]] if f["da"] >= 0 else None}}
        elif cls == PATH:
            detail = {"via_edge": {0: "same", 1: "gained", -1: "lost"}[f["dvia"]],
                      "delta_hops": f["dhops"], "delta_tunnels": f["dtun"], "tunnel_hosts_changed": bool(f["tun_hosts"])}
        elif cls == DECISION:
            detail = {"at_sender": [_dec(dn, f["sb"]), _dec(dn, f["sa"])],
                      "at_receiver": [_dec(dn, f["tb"]), _dec(dn, f["ta"])]}
        self.groups.append(Group(gid, CLASSES[cls], _label(cls, f, self.sp), detail))
        return gid

    # -- samples: a few distinct flows per group, both outcomes by name --
    def _sample(self, batch, rb, ra, kept, g, fh) -> None:
        want = [x.id for x in self.groups if len(x.samples) < self.n_samples]
        if not want:
            return
        present = np.bincount(g, minlength=len(self.groups))
        pos_in_a = None
        if kept is not None:
            pos_in_a = np.full(batch.size, -1, np.int64)
            pos_in_a[kept] = np.arange(kept.size)
        for gid in want:
            grp = self.groups[gid]
            if not present[gid]:
                continue
            seen = {s["_flow"] for s in grp.samples}
            cand = np.flatnonzero(g == gid)[: 64 * self.n_samples]
            for i in cand.tolist():
                if len(grp.samples) >= self.n_samples:
                    break
                f = int(fh[i])
                if f in seen:
                    continue
                seen.add(f)
                j = i if pos_in_a is None else int(pos_in_a[i])
                grp.samples.append(self._sample_row(batch, rb, ra if j >= 0 else None, i, j, f))

    def _sample_row(self, batch, rb, ra, i: int, j: int, flow: int) -> dict:
        kind, iid = int(batch.ingress_kind[i]), int(batch.ingress_id[i])
        src = self._endpoint_name(kind, iid)
        dst = int(batch.dst_ip[i])
        own = self.b.ip_owner.get(dst)
        dst_name = ("" if own is None else _pod_key(self.b, own[1]) if own[0] == "pod" else self.b.nodes[own[1]].name)
        known = kind in DeviceKind._value2member_map_
        return {"_flow": flow, "src": src, "src_kind": DeviceKind(kind).label if known else str(kind),
                "src_ip": ip_to_str(int(batch.src_ip[i])), "dst": ip_to_str(dst), "dst_name": dst_name,
                "proto": int(batch.proto[i]), "sport": int(batch.sport[i]), "dport": int(batch.dport[i]),
                "ttl": int(batch.ttl[i]), "length": int(batch.length[i]), "reply": bool(batch.reply[i]),
                "before": self._outcome(rb, i, side="b"),
                "after": self._outcome(ra, j, side="a") if ra is not None else None}

    def _endpoint_name(self, kind: int, iid: int) -> str:
        c = self.b
        if kind == INGRESS_POD and 0 <= iid < len(c.pods):
            return _pod_key(c, iid)
        if kind == INGRESS_NODE and 0 <= iid < len(c.nodes):
            return c.nodes[iid].name
        if kind == INGRESS_UPLINK and 0 <= iid < len(c.uplinks):
            return c.uplinks[iid].name
        return f"ingress {kind}:{iid}"

    def _outcome(self, r: Results, i: int, side: str) -> dict:
        sp = self.sp
        one = lambda a: a[i:i + 1]  # noqa: E731
        dev = (sp.device_b if side == "b" else sp.device_a)(one(r.dev_kind), one(r.dev_id))[0]
        hosts = (lambda x: x.astype(np.int64)) if side == "b" else sp.hosts.a
        ports = (lambda x: x.astype(np.int64)) if side == "b" else sp.ports.a
        decs = (lambda x: x.astype(np.int64)) if side == "b" else sp.decisions.a
        eg = int(ports(one(r.egress_port))[0])
        ts, td = int(hosts(one(r.tun_src_host))[0]), int(hosts(one(r.tun_dst_host))[0])
        ds, dd = int(decs(one(r.dfw_at_src))[0]), int(decs(one(r.dfw_at_dst))[0])
        out = {"verdict": Verdict(int(r.verdict[i])).label, "reason": Reason(int(r.reason[i])).label,
               "device": sp.device_name(int(dev)), "egress": ("lp:" + sp.ports.names[eg]) if eg >= 0 else "",
               "hops": int(r.hops[i]), "tunnels": int(r.n_tunnels[i]),
               "last_tunnel": f"{sp.hosts.names[ts]}->{sp.hosts.names[td]}" if ts >= 0 and td >= 0 else "",
               "via_edge": bool(r.via_edge[i]),
               "dfw_at_src": sp.decisions.names[ds] if ds >= 0 else None,
               "dfw_at_dst": sp.decisions.names[dd] if dd >= 0 else None}
        if _HAS_BACKEND:
            ports = (lambda x: x.astype(np.int64)) if side == "b" else sp.ports.a
            bk = int(ports(one(r.backend))[0])
            out["backend"] = sp.ports.names[bk] if bk >= 0 else None
        return out

    # -- the end --
    def finish(self) -> tuple[int, int]:
        """Distinct flows per group; -> (flows, changed flows)."""
        s = np.concatenate(self.flow_keys) if self.flow_keys else np.zeros(0, _U64)
        self.flow_keys = []
        s.sort()  # in place (numpy's sort on threads, split by the top bits, measured slower here)
        per_group = np.zeros(len(self.groups), np.int64)
        flows, changed = _scan_flows(s, per_group)
        for gid, k in enumerate(per_group.tolist()):
            self.groups[gid].flows = k
        M = self.M
        for key, k in self.pairs.items():
            gid, rest = divmod(key, M * M)
            src, dst = divmod(rest, M)
            pair = (self.ns_names[src], self.ns_names[dst])
            grp = self.groups[gid]
            grp.pairs[pair] = grp.pairs.get(pair, 0) + k
        for grp in self.groups:
            for smp in grp.samples:
                smp.pop("_flow", None)
            if grp.cls == "verdict":
                self._attribute(grp)
        return flows, changed

    def _attribute(self, grp: Group) -> None:
        """Name the policies behind an isolation drop: those of the receiving (sending) namespaces
        of the group that select a pod there for ingress (egress), in the cluster of that side."""
        for side, c in (("before", self.b), ("after", self.a)):
            dec = grp.detail[side].get("decision") or ""
            if not dec.startswith("isolated: "):
                continue
            direction = dec.split(": ", 1)[1]
            spaces = {d if direction == "ingress" else s for s, d in grp.pairs}
            by = _isolating(c, spaces, direction)
            if by:
                grp.detail[side]["isolated_by"] = by
                shown = ", ".join(by[:3]) + (f" and {len(by) - 3} more" if len(by) > 3 else "")
                old = f"{grp.detail[side]['reason']}, {dec})"
                head, sep, tail = grp.label.partition(" -> ")
                part = head if side == "before" else tail
                part = part.replace(old, f"{grp.detail[side]['reason']}, {dec} by {shown})")
                grp.label = part + sep + tail if side == "before" else head + sep + part


_SIG_FIELDS = ("vb", "rb", "va", "ra", "db", "da", "dvia", "dhops", "dtun", "tun_hosts", "sb", "sa", "tb", "ta")
_RELEVANT = {VERDICT: ("vb", "rb", "va", "ra", "db", "da"), PATH: ("dvia", "dhops", "dtun", "tun_hosts"),
             DECISION: ("sb", "sa", "tb", "ta")}
"""The fields of each class's signature (the others are zeroed: they do not split its groups)."""


_FIELD_CLASS = {name: c for c, names in _RELEVANT.items() for name in names}


@jit
def _scan_flows(keys, per_group):
    """Over sorted flow keys (flow hash above `_GROUP_BITS`, group below): distinct flows, flows
    with a packet in a changed group, and each group's distinct flows (added to ``per_group``)."""
    n = keys.shape[0]
    low = np.uint64(MAX_GROUPS)
    shift = np.uint64(_GROUP_BITS)
    flows = 0
    changed = 0
    i = 0
    while i < n:
        flow = keys[i] >> shift
        hit = False
        j = i
        while j < n and (keys[j] >> shift) == flow:
            if j == i or keys[j] != keys[j - 1]:
                g = np.int64(keys[j] & low)
                per_group[g] += 1
                if g != 0:
                    hit = True
            j += 1
        flows += 1
        if hit:
            changed += 1
        i = j
    return flows, changed


def _isolating(c: Cluster, namespaces: set, direction: str) -> list[str]:
    """Policies of ``namespaces`` in ``c`` that isolate some pod there in ``direction``."""
    from ..policy.selectors import matches

    out = []
    labels = c.pods.labels
    for p in getattr(c, "networkpolicies", ()):
        if p.namespace not in namespaces or direction.capitalize() not in p.policy_types:
            continue
        k = c.namespace_index.get(p.namespace)
        rows = np.flatnonzero(c.pods.namespace == k) if k is not None else []
        if any(matches(p.pod_selector, labels[i] if labels is not None else None) for i in rows):
            out.append(p.key)
    return out


def _scatter(v: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, v.dtype)
    out[at] = v
    return out


def _pod_key(c: Cluster, i: int) -> str:
    return f"{c.namespaces[int(c.pods.namespace[i])].namespace}/{c.pods.name[i]}"


def _profile_of(c: Cluster, profile):
    from ..traffic import profile_by_name

    if profile is None:
        return profile_by_name(c, "uniform")
    if isinstance(profile, str):
        return profile_by_name(c, profile)
    return profile


def diff(before: Cluster, after: Cluster, *, profile=None, packets: int = 1_000_000, seed: int = 0, threads: int = 1,
         chunk: int = DEFAULT_CHUNK, offered_pps: float | None = None, samples: int = SAMPLES,
         keep_packets: bool = False, changes: list[dict] | None = None, change_text: str | None = None,
         dataplanes: tuple | None = None, progress=None) -> DiffResult:
    """Forward the same seeded traffic through ``before`` and ``after`` and group what changed
    (see the module docstring). ``profile``: a name (the BEFORE spec's or a built-in) or a
    `fastpath.traffic.Profile`; default uniform pod-to-pod. ``offered_pps``: the load reports'
    time base (default the profile's). ``keep_packets``: keep BEFORE's batch and each packet's
    group id (`DiffResult.per_packet`; small runs). ``changes``/``change_text``: what the specs
    differ in, when the caller knows (else compared from both clusters' full specs).
    ``dataplanes``: (before, after) `Dataplane`s already compiled. ``progress(n)``: called after
    every chunk with its packet count."""
    from ..dataplane import Dataplane
    from ..dataplane.api import check_threads
    from .report import ReportAccumulator

    threads = check_threads(threads)
    if isinstance(packets, bool) or not isinstance(packets, (int, np.integer)) or not 1 <= packets <= MAX_PACKETS:
        raise ValueError(f"packets {packets!r} must be an int in 1..{MAX_PACKETS:,}")
    timings = {"compile": 0.0, "traffic": 0.0, "map": 0.0, "forward_before": 0.0, "forward_after": 0.0,
               "compare": 0.0, "load": 0.0, "flows": 0.0}
    t = time.perf_counter()
    prof = _profile_of(before, profile)
    if len(before.pods) == 0:
        raise ValueError("BEFORE has no pods to send from")
    dpb, dpa = dataplanes if dataplanes is not None else (Dataplane(before), Dataplane(after))
    timings["compile"] = time.perf_counter() - t
    t = time.perf_counter()
    sp = _Spaces(before, after, dpb.tables, dpa.tables)
    mapper = _Mapper(before, after, sp)
    cmp = _Compare(before, after, sp, keep_packets, samples)
    acc_b, acc_a = ReportAccumulator(before, dpb.tables), ReportAccumulator(after, dpa.tables)
    cn_b, cn_a = dpb.new_counters(threads), dpa.new_counters(threads)
    out_b = out_a = None
    timings["map"] += time.perf_counter() - t
    gen = iter(prof.batches(before, packets, seed=seed, chunk=chunk))
    n_total = 0
    while True:
        t0 = time.perf_counter()
        batch = next(gen, None)
        t1 = time.perf_counter()
        timings["traffic"] += t1 - t0
        if batch is None:
            break
        n = batch.size
        n_total += n
        if out_b is None or out_b.size < n:
            out_b, out_a = empty_results(n), empty_results(n)
        run_b = dpb.forward(batch, threads=threads, counters=cn_b, out=out_b.slice(0, n), **acc_b.forward_options)
        t2 = time.perf_counter()
        timings["forward_before"] += t2 - t1
        batch_a, kept = mapper(batch)
        t3 = time.perf_counter()
        timings["map"] += t3 - t2
        run_a = dpa.forward(batch_a, threads=threads, counters=cn_a, out=out_a.slice(0, batch_a.size),
                            **acc_a.forward_options) \
            if batch_a.size else None
        t4 = time.perf_counter()
        timings["forward_after"] += t4 - t3
        cmp.chunk(batch, run_b.results, run_a.results if run_a is not None else None, kept)
        t5 = time.perf_counter()
        timings["compare"] += t5 - t4
        acc_b.add(run_b, batch)
        if run_a is not None:
            acc_a.add(run_a, batch_a)
        timings["load"] += time.perf_counter() - t5
        if progress is not None:
            progress(n)
    t = time.perf_counter()
    flows, changed_flows = cmp.finish()
    timings["flows"] = time.perf_counter() - t
    t = time.perf_counter()
    opps = offered_pps if offered_pps is not None else prof.offered_pps
    rep_b = acc_b.report(offered_pps=opps)
    rep_a = acc_a.report(offered_pps=opps) if acc_a.counters is not None else None
    if rep_a is None:  # every sender removed: AFTER carried nothing
        from .report import LoadReport
        rep_a = LoadReport.build(after, dpa.new_counters(1), tables=dpa.tables, offered_pps=opps)
    ld = load_delta(rep_b, rep_a)
    timings["load"] += time.perf_counter() - t
    if changes is None:
        t = time.perf_counter()
        from ..model.spec import to_spec
        from .patch import spec_changes
        changes = spec_changes(to_spec(before), to_spec(after))
        timings["spec_changes"] = time.perf_counter() - t
    if change_text is None:
        from .patch import describe_changes
        change_text = describe_changes(changes)
    groups = [cmp.groups[0]] + sorted(cmp.groups[1:], key=lambda g: (-g.flows, -g.packets, g.label))
    per_packet = None
    if keep_packets:
        bs = [b for b, _ in cmp.kept]
        per_packet = (PacketBatch(*(np.concatenate(cols) for cols in zip(*bs))),
                      np.concatenate([g for _, g in cmp.kept]))
    changed_packets = n_total - cmp.groups[0].packets
    timings["total"] = sum(v for k, v in timings.items() if k != "total")
    return DiffResult(
        packets=n_total, flows=flows, changed_packets=changed_packets, changed_flows=changed_flows, groups=groups,
        load_delta=ld, bottleneck={"before": dict(rep_b.bottleneck) if rep_b.bottleneck else None,
                                   "after": dict(rep_a.bottleneck) if rep_a.bottleneck else None},
        changes=changes, change_text=change_text, profile=prof.name, seed=seed,
        timings={k: round(v, 4) for k, v in timings.items()}, reports=(rep_b, rep_a), per_packet=per_packet)


__all__ = ["CLASSES", "DiffResult", "Group", "diff", "flow_hash", "load_delta"]
