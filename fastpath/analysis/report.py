"""The load report of a run: what load landed where, and which device gives out first.

What?
-----
A run pushes packets through `fastpath.dataplane.Dataplane.forward` chunk by chunk. The
kernel's `Counters` already hold the per-device loads; a few numbers need the per-packet
results or the batch itself. `ReportAccumulator` is fed each chunk's `RunResult` (and its
`PacketBatch`, when the caller has it) and `report()` turns the sums into a `LoadReport`:

    acc = ReportAccumulator(dp.cluster, dp.tables)
    for batch in uniform_pod_to_pod(cluster, 10_000_000, seed=1):
        acc.add(dp.forward(batch, **acc.forward_options), batch)   # the leg log: CPU work per device
    rep = acc.report(offered_pps=2e6)              # capacity: cluster.capacity or the defaults
    rep.hosts, rep.tep_pairs, rep.utilisation      # pandas DataFrames
    print(rep.to_text()); json.dumps(rep.to_json())

Where each number comes from
----------------------------
From the counters (summed over workers and chunks):
- verdicts and drop reasons;
- hosts: tx/rx packets and underlay bytes (outer frames: inner IP length + Geneve overhead +
  inner Ethernet 14, no preamble or FCS); only tunnelled traffic reaches a host's link;
- TEP pairs (``src_host * H + dst_host``): one packet per tunnel leg, its underlay bytes;
- router instances: packets and inner (IP) bytes routed or answered. A DR runs on every host:
  its counter is the sum over hosts (the counters do not say which host did the work);
- segments: packets and inner bytes switched (segment L2 lookups);
- uplinks: packets and inner bytes that exited north-south;
- edges (derived): the packets of every SR on the edge (a packet crossing two SRs on one edge,
  a payments T1 SR then the T0 SR, counts twice: two routing passes) and the edge host's
  tunnel traffic in and out.
From the per-packet results (`RunTotals`): packets that crossed an edge SR (``via_edge``),
tunnelled packets, tunnel legs, underlay bytes (a cross-check of the host counters).
From the batch, when given: inner bytes (all packets, tunnelled packets once each), east-west
hairpins (via an edge, neither entering from nor leaving by an uplink), and uplink ingress
(the counters count uplink exits only).

Encap overhead
--------------
``ratio`` = underlay bytes / inner bytes of the tunnelled packets, each counted once: the
bytes the underlay carries per byte delivered over it (a hairpinned packet crosses two
tunnels, so it counts its inner bytes once and its outer frames twice). ``overhead_bytes`` =
underlay - that inner. ``per_leg_ratio`` = underlay / inner bytes per leg: the header cost
alone, (L + 64) / L for the seed's 50-byte Geneve overhead and 14-byte inner Ethernet header;
it needs only the counters, so it is there without the batch.

Utilisation
-----------
A run has no clock: its counters say what share of the load each device carries, not how
fast. The planner gives the time base, the offered load ``offered_pps``: each of the run's
``P`` packets (dropped ones too) stands for ``offered_pps / P`` packets a second, so a device
that carried ``x`` (packets or bytes) in the run carries ``x / P * offered_pps`` a second;
over its capacity that is its utilisation. Devices and their capacities (`Capacity`: the
argument, else ``cluster.capacity``, else the defaults; see `resolve_capacity`):
- host link, per direction (full duplex), underlay Gb/s on the wire against ``host_link_gbps``:
  each outer frame + `WIRE_OVERHEAD` (FCS, preamble/SFD, inter-frame gap: 24 bytes), + 4 for
  the TEPs' transport VLAN tag with ``capacity.tep_vlan``;
- edge node, SR packets/s against ``edge_mpps``, only when the planner gives one (a measured
  or datasheet rate; there is no default: the edge's CPU judges it);
- uplink, per direction, Gb/s on the wire (inner IP + Ethernet 14, padded to the 60-byte
  minimum when the batches were given, + 24) against ``uplink_gbps``; rx only when the batches
  were given;
- CPU of every transport host (``host-cpu``), node VM's OVS (``node-cpu``) and edge
  (``edge-cpu``): the cycles of the work the run put on it (`fastpath.analysis.work`, priced by
  the cost model `fastpath.model.costs`: ``capacity.cpu``) in cores busy, against its cores.
  Needs each chunk's batch and tunnel-leg log (`ReportAccumulator.forward_options`); without
  them the report leaves CPUs out and says so. `LoadReport.cpu` has the work per device and
  `LoadReport.placeholders` names the figures in effect that are placeholders: the cost model's,
  and the link capacities' defaults when not given (`LINK_DEFAULTS`).
`LoadReport.utilisation` has one row a device and direction: device, kind (host-link, edge,
uplink, host-cpu, node-cpu, edge-cpu), direction (tx, rx, sr, cpu), pps, gbps (underlay for
host links, inner through an edge's SRs, frames on uplinks; none for a CPU), load and capacity
in ``unit`` (Gb/s, Mpps or cores), utilisation, saturates_at_pps; sorted from the first to
saturate.
The bottleneck is the device with the highest utilisation; it saturates when the offered load
reaches ``offered_pps / utilisation`` = capacity / (load per offered packet), which does not
depend on ``offered_pps``: without it the report still names the bottleneck and its
saturation point, and leaves the per-second columns empty (NaN).

Invariants (tests assert them)
------------------------------
- sum of host tx packets == sum of host rx packets == sum of TEP pair packets == tunnel legs;
- sum of host tx bytes == sum of TEP pair bytes == the per-packet underlay bytes;
- verdict shares sum to 1.

Cost (measured here): feeding a 1M-packet chunk with its batch ~17 ms (a handful of numpy
passes; forwarding that chunk on the seed, one thread, ~140 ms). Building the report of a
204-host cluster (41k TEP pairs in use) ~45 ms, its text ~70 ms, its JSON ~190 ms (5 MB;
``to_json(top=...)`` keeps it small). The H*H TEP-pair counters are scanned once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model.addressing import ip_to_str
from ..model.cluster import Cluster
from ..model.costs import CLASS_OPS, CpuModel, positive, resolve_cpu
from ..packets import INGRESS_UPLINK, PacketBatch
from ..verdicts import DeviceKind, Reason, Verdict

if TYPE_CHECKING:  # the data plane (numba kernels) loads on first use, not on import
    from ..dataplane.api import RunResult
    from ..dataplane.pipeline import Counters

UPLINK_FRAME_OVERHEAD = 14
"""Bytes an uplink frame adds to the inner IP packet the uplink counters count: the Ethernet
header (`fastpath.dataplane.pipeline.ETH_HEADER`, which the host counters add per leg)."""
WIRE_OVERHEAD = 24
"""Bytes a frame takes on an Ethernet link beyond the frame the counters count: its FCS (4),
the preamble and start-of-frame delimiter before it (8) and the minimum inter-packet gap after
it (12 byte times) — IEEE 802.3 clauses 3.1.1 and 4.4.2. A link's Gb/s are these bytes."""
MIN_FRAME = 60
"""An Ethernet frame's minimum length without its FCS (64 with it): a shorter one is padded
(IEEE 802.3 clause 3.2.8). Underlay frames never are (Geneve's 50 bytes and the inner frame's
14 exceed it); an uplink frame of an IP packet under 46 bytes is."""
TEP_VLAN_TAG = 4
"""The 802.1Q tag on every underlay frame when the TEPs sit on a transport VLAN (NSX's uplink
profile's ``transport_vlan``): ``capacity.tep_vlan``."""
BITS = 8
GIGA = 1e9
MEGA = 1e6


# ---- capacities ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Capacity:
    """What each device carries at most: the field names and defaults of the spec's
    ``cluster.capacity`` (`fastpath.model.cluster.Capacity`). Per-device maps (name -> value,
    in the kind's unit) override the defaults: ``host_link`` (Gb/s; edges' host links too),
    ``edge`` (Mpps), ``uplink`` (Gb/s)."""

    host_link_gbps: float = 25.0
    edge_mpps: float | None = None  # None: an edge is judged by its CPU alone
    uplink_gbps: float = 40.0
    tep_vlan: bool = False  # the TEPs' transport VLAN tags every underlay frame (+4 bytes)
    host_link: Mapping[str, float] = field(default_factory=dict)
    edge: Mapping[str, float] = field(default_factory=dict)
    uplink: Mapping[str, float] = field(default_factory=dict)
    cpu: CpuModel = field(default_factory=CpuModel)  # the cost model's figures (`fastpath.model.costs`)
    given: frozenset = field(default=frozenset(), compare=False)  # link capacities given, not defaults

    def link_gbps_of(self, host: str) -> float:
        return float(self.host_link.get(host, self.host_link_gbps))

    def mpps_of_edge(self, edge: str) -> float | None:
        x = self.edge.get(edge, self.edge_mpps)
        return None if x is None else float(x)

    def gbps_of_uplink(self, uplink: str) -> float:
        return float(self.uplink.get(uplink, self.uplink_gbps))

    def as_dict(self) -> dict:
        return {f.name: (dict(getattr(self, f.name)) if f.name in _PER_DEVICE.values() else
                         self.cpu.as_dict() if f.name == "cpu" else getattr(self, f.name))
                for f in fields(self) if f.name != "given"}  # (what was given: `LoadReport.placeholders`)


_PER_DEVICE = {"host_link_gbps": "host_link", "edge_mpps": "edge", "uplink_gbps": "uplink"}
"""Default field -> its per-device map."""


def resolve_capacity(*sources: Any) -> Capacity:
    """Merge capacity sources over the defaults, later ones winning. A source is None
    (skipped); a mapping (partial: it overrides the names it gives, field by field and device
    by device: ``{"edge_mpps": 8, "host_link": {"esx-1": 10}}``); or any other object with the
    fields of `Capacity` as attributes (a `Capacity`, the model's ``cluster.capacity``):
    complete, it replaces what came before. Raises ValueError naming a value that is not a
    positive finite number."""
    scalars: dict[str, float] = {}
    maps: dict[str, dict[str, float]] = {m: {} for m in _PER_DEVICE.values()}
    cpu = CpuModel()
    given: set[str] = set()
    for src in sources:
        if src is None:
            continue
        partial = isinstance(src, Mapping)
        if not partial:
            scalars, maps, cpu = {}, {m: {} for m in _PER_DEVICE.values()}, CpuModel()
            given = set(getattr(src, "given", LINK_DEFAULTS))  # (an object without: all given)
        else:
            given |= set(src) & set(LINK_DEFAULTS)
        get = src.get if partial else lambda name, _s=src: getattr(_s, name, None)
        if get("cpu") is not None:
            cpu = resolve_cpu(cpu, get("cpu"))
        if get("tep_vlan") is not None:
            if not isinstance(get("tep_vlan"), (bool, np.bool_)):
                raise ValueError(f"capacity.tep_vlan: {get('tep_vlan')!r} must be true or false")
            scalars["tep_vlan"] = bool(get("tep_vlan"))
        for name, per in _PER_DEVICE.items():
            if get(name) is not None:
                scalars[name] = positive(f"capacity.{name}", get(name))
            devices = get(per)
            if devices is not None:
                if not isinstance(devices, Mapping):
                    raise ValueError(f"capacity.{per}: expected device name -> value, got {type(devices).__name__}")
                for dev, x in devices.items():
                    maps[per][str(dev)] = positive(f"capacity.{per}.{dev}", x)
    return Capacity(**scalars, **maps, cpu=cpu, given=frozenset(given))


LINK_DEFAULTS = ("host_link_gbps", "uplink_gbps")
"""The link capacities whose defaults (25 Gb/s: one 25GbE port, the usual ESXi uplink; 40 Gb/s an
uplink) are fastpath's assumptions, not the planner's hardware: named as placeholders unless given."""


def link_placeholders(cap: Capacity, cluster: Cluster) -> list[str]:
    """``capacity.host_link_gbps`` / ``capacity.uplink_gbps`` when their default is in effect for
    some device (not given, and some host or uplink without its own value)."""
    out = []
    if "host_link_gbps" not in cap.given and any(h.name not in cap.host_link for h in cluster.hosts):
        out.append("capacity.host_link_gbps")
    if "uplink_gbps" not in cap.given and any(u.name not in cap.uplink for u in cluster.uplinks):
        out.append("capacity.uplink_gbps")
    return out


def check_capacity(cap: Capacity, cluster: Cluster) -> None:
    """Raise ValueError naming a per-device value for a device the cluster lacks."""
    known = {"host_link": {h.name for h in cluster.hosts}, "edge": {h.name for h in cluster.hosts if h.edge},
             "uplink": {u.name for u in cluster.uplinks}}
    for per, names in known.items():
        for dev in getattr(cap, per):
            if dev not in names:
                raise ValueError(f"capacity.{per}.{dev}: no such {per.replace('_', ' ')} in cluster {cluster.settings.name!r}")
    devices = {h.name for h in cluster.hosts} | {n.name for n in cluster.nodes}
    for dev in cap.cpu.cores:
        if dev not in devices:
            raise ValueError(f"capacity.cpu.cores.{dev}: no host, edge or node of that name in cluster "
                             f"{cluster.settings.name!r}")


# ---- what the per-packet results add to the counters --------------------------------------------
@dataclass
class RunTotals:
    """Sums over a run's per-packet results (and batches: None where none was given)."""

    packets: int = 0
    via_edge: int = 0  # crossed a service router on an edge node
    tunnelled: int = 0  # crossed at least one tunnel
    tunnel_legs: int = 0
    underlay_bytes: int = 0
    batches_seen: bool = True  # every chunk came with its batch (the fields below are known)
    inner_bytes: int | None = 0  # IP bytes of every packet
    tunnelled_inner_bytes: int | None = 0  # IP bytes of the tunnelled packets, once each
    east_west_via_edge: int | None = 0  # via an edge, not from an uplink, not exited
    uplink_rx: np.ndarray | None = None  # int64[U, 2] packets, IP bytes entering by each uplink
    uplink_pad: np.ndarray | None = None  # int64[U, 2] padding bytes of short frames leaving, entering by each uplink
    services: dict = field(default_factory=dict)  # (service, backend port) -> [packets, IP bytes] (bytes: batches)
    snat: np.ndarray | None = None  # int64[namespaces, 4]: SNAT-ed out packets, bytes; un-SNAT-ed in packets, bytes
    # the cost model's operations per device (`fastpath.analysis.work`); None: some chunk came
    # without its batch or its tunnel-leg log
    work_host: np.ndarray | None = None  # int64[H, len(work.HOST_OPS)]
    work_node: np.ndarray | None = None  # int64[nodes, len(work.NODE_OPS)]
    conns: Any = None  # `work.ConnTable`: the connections the DFW met, new ones per host


class ReportAccumulator:
    """Sums a run's counters and per-packet aggregates, chunk by chunk (see the module
    docstring). Feed it each chunk's `RunResult` with `add`; `report` builds the report.

    Counters: a run forwarded with fresh counters per call gives per-chunk counters, one
    forwarded with ``counters=`` shared across calls gives running totals in each
    `RunResult`; `add` tells them apart by the packet count (running totals hold the earlier
    chunks too) and raises ValueError on counters that fit neither."""

    def __init__(self, cluster: Cluster, tables=None):
        self.cluster = cluster
        self.tables = tables
        self.counters: Counters | None = None
        from .work import HOST_OPS, NODE_OPS, ConnTable

        self.totals = RunTotals(uplink_rx=np.zeros((len(cluster.uplinks), 2), np.int64),
                                uplink_pad=np.zeros((len(cluster.uplinks), 2), np.int64),
                                snat=np.zeros((len(cluster.namespaces), 4), np.int64),
                                work_host=np.zeros((len(cluster.hosts), len(HOST_OPS)), np.int64),
                                work_node=np.zeros((len(cluster.nodes), len(NODE_OPS)), np.int64),
                                conns=ConnTable(len(cluster.hosts)))

    forward_options = {"legs": True}
    """What `Dataplane.forward` must be asked for the report to count the work per device (the
    tunnel-leg log; without it the report leaves out CPU utilisation and says so)."""
    def add(self, run: RunResult, batch: PacketBatch | None = None) -> None:
        from ..dataplane.pipeline import Counters

        r = run.results
        n = r.size
        if batch is not None and batch.size != n:
            raise ValueError(f"batch of {batch.size} packets for a run of {n}")
        cn = Counters(*(np.asarray(a).sum(axis=0, keepdims=True) for a in run.worker_counters))
        seen = int(cn.verdicts.sum())
        before = self.totals.packets
        if seen == before + n:  # running totals (counters shared across calls), or the first chunk
            self.counters = cn
        elif seen == n:  # this chunk's own counters
            self.counters = Counters(*(a + b for a, b in zip(self.counters, cn)))
        else:
            raise ValueError(f"counters hold {seen} packets: neither this chunk's {n} nor the run's {before + n}")

        t = self.totals
        t.packets += n
        sel = np.flatnonzero(r.service >= 0)
        if sel.size:  # per Service and backend: packed keys, one np.unique a chunk
            key = r.service[sel].astype(np.int64) << 32 | (r.backend[sel].astype(np.int64) + 1)
            keys, inv = np.unique(key, return_inverse=True)
            pk = np.bincount(inv, minlength=keys.size)
            by = np.bincount(inv, weights=batch.length[sel], minlength=keys.size) if batch is not None else pk * 0
            for k, p, b in zip(keys.tolist(), pk.tolist(), by.tolist()):
                acc = t.services.setdefault((k >> 32, (k & 0xFFFF_FFFF) - 1), [0, 0])
                acc[0] += p
                acc[1] += int(b)
        t.via_edge += int(np.count_nonzero(r.via_edge))
        t.tunnelled += int(np.count_nonzero(r.n_tunnels))
        t.tunnel_legs += int(r.n_tunnels.sum(dtype=np.int64))
        t.underlay_bytes += int(r.underlay_bytes.sum(dtype=np.int64))
        if batch is None:
            t.batches_seen = False
            t.inner_bytes = t.tunnelled_inner_bytes = t.east_west_via_edge = None
            t.uplink_rx = t.snat = t.uplink_pad = None
            t.work_host = t.work_node = t.conns = None
            return
        if not t.batches_seen:
            return
        self._add_work(run, batch)
        length = batch.length.astype(np.int64)
        t.inner_bytes += int(length.sum())
        t.tunnelled_inner_bytes += int(length[r.n_tunnels > 0].sum())
        from_uplink = batch.ingress_kind == INGRESS_UPLINK
        t.east_west_via_edge += int(np.count_nonzero(r.via_edge & ~from_uplink & (r.verdict != int(Verdict.EXITED))))
        if any(s.snat_ip is not None for s in self.cluster.namespaces):  # SNAT on the T0 SR, per namespace
            from ..dataplane.snat import snat_rows
            from ..model.routing import rib
            from ..tables import snat as snat_table

            if "_snat" not in self.__dict__:  # (no tables: built once, ids as `_router_meta`'s)
                self._snat = self.tables.snat if self.tables is not None else \
                    snat_table.build(self.cluster, rib(self.cluster))
            nat = self._snat
            out, into = snat_rows(nat, batch, r)
            ns = nat.namespace[snat_table.slot(nat, batch.src_ip[out])], \
                nat.namespace[snat_table.slot(nat, batch.dst_ip[into])]
            K = t.snat.shape[0]
            for col, (k, sel) in enumerate(zip(ns, (out, into))):
                t.snat[:, 2 * col] += np.bincount(k, minlength=K)
                t.snat[:, 2 * col + 1] += np.bincount(k, weights=length[sel], minlength=K).astype(np.int64)
        u = t.uplink_rx.shape[0]
        ids = batch.ingress_id.astype(np.int64)
        ok = from_uplink & (ids >= 0) & (ids < u)
        pad = np.maximum(MIN_FRAME - UPLINK_FRAME_OVERHEAD - length, 0)  # a short frame's padding
        if u and ok.any():
            t.uplink_rx[:, 0] += np.bincount(ids[ok], minlength=u)
            t.uplink_rx[:, 1] += np.bincount(ids[ok], weights=length[ok], minlength=u).astype(np.int64)
            t.uplink_pad[:, 1] += np.bincount(ids[ok], weights=pad[ok], minlength=u).astype(np.int64)
        out = (r.verdict == int(Verdict.EXITED)) & (r.dev_kind == int(DeviceKind.UPLINK)) & (r.dev_id >= 0) \
            & (r.dev_id < u)
        if u and out.any():
            t.uplink_pad[:, 0] += np.bincount(r.dev_id[out], weights=pad[out], minlength=u).astype(np.int64)

    def _add_work(self, run, batch) -> None:
        from ..dataplane.stages.common import LEG_COLS
        from .work import count_work

        t = self.totals
        if t.work_host is None:
            return
        if run.legs is None or run.legs.shape[1] != LEG_COLS:
            t.work_host = t.work_node = t.conns = None
            return
        host, node, evaluations = count_work(self.cluster, self.tables, batch, run)
        t.work_host += host
        t.work_node += node
        t.conns.add(*evaluations)

    def report(self, *, capacity: Any = None, offered_pps: float | None = None) -> LoadReport:
        if self.counters is None:
            raise ValueError("no run was added")
        return LoadReport.build(self.cluster, self.counters, self.totals, tables=self.tables, capacity=capacity,
                                offered_pps=offered_pps)


def load_report(dataplane, batches: Iterable[PacketBatch], *, threads: int = 1, capacity: Any = None,
                offered_pps: float | None = None) -> LoadReport:
    """Forward every batch through ``dataplane`` (a `Dataplane`) and report the run's load."""
    acc = ReportAccumulator(dataplane.cluster, dataplane.tables)
    for batch in batches:
        acc.add(dataplane.forward(batch, threads=threads, **acc.forward_options), batch)
    return acc.report(capacity=capacity, offered_pps=offered_pps)


# ---- the report ---------------------------------------------------------------------------------
def _router_meta(cluster: Cluster, tables) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Router instance names, is-SR, edge host index (-1 for a DR), kind ("t1"/"t0"), in
    router-instance id order (the compiled tables', else the RIB's: the same order)."""
    if tables is not None:
        kinds = ["t0" if k == int(DeviceKind.T0) else "t1" for k in np.asarray(tables.rtr_kind).tolist()]
        return list(tables.router_names), np.asarray(tables.rtr_is_sr, bool), np.asarray(tables.rtr_host, np.int64), kinds
    from ..model.routing import rib

    insts = list(rib(cluster).values())
    return ([i.name for i in insts], np.array([i.sr for i in insts], bool),
            np.array([cluster.host_index[i.host] if i.sr else -1 for i in insts], np.int64), [i.kind for i in insts])


def _share(x, total) -> float:
    return float(x) / total if total else 0.0


def _div(a, b) -> float | None:
    return float(a) / float(b) if b else None


class Bottleneck(dict):
    """The device that saturates first: a dict (device, kind, direction, load, capacity, unit,
    utilisation, saturates_at_pps, saturates_at_per_pod_pps: the same over the cluster's pods, the
    planner's "at what rate a pod") that prints as the report's line says it."""

    def __str__(self) -> str:
        at = (f"{self['load']:.3g} of {self['capacity']:g} {self['unit']} = {_pct(self['utilisation'])}, "
              if self["utilisation"] is not None else "")
        return (f"{_device_label(self['device'], self['kind'], self['direction'])} ({self['kind']}): {at}"
                f"saturates at {_rate(self['saturates_at_pps'], 'pps')} offered"
                + (f" ({self['saturates_at_per_pod_pps']:,.0f} packets/s a pod)"
                   if self.get("saturates_at_per_pod_pps") is not None else ""))


@dataclass
class LoadReport:
    """The load of one run (see the module docstring). DataFrames: `verdicts`, `reasons`,
    `hosts`, `tep_pairs`, `routers`, `segments`, `uplinks`, `edges`, `utilisation`; dicts:
    `encap`, `hairpin`, `bottleneck` (None when nothing carried load)."""

    cluster_name: str
    packets: int
    offered_pps: float | None
    capacity: Capacity
    verdicts: Any
    reasons: Any
    hosts: Any
    tep_pairs: Any
    routers: Any
    segments: Any
    uplinks: Any
    edges: Any
    utilisation: Any
    encap: dict
    hairpin: dict
    bottleneck: Bottleneck | None
    services: Any = None  # per Service and backend: packets, bytes, share of the service's packets
    snat: Any = None  # per namespace with an SNAT IP: packets and bytes SNAT-ed out, un-SNAT-ed in
    cpu: Any = None  # per device (host, node VM, edge): the cost model's operations, cycles, cores (`cpu_frame`)
    placeholders: list = field(default_factory=list)  # figures in effect that are placeholders (links, cost model)

    @classmethod
    def build(cls, cluster: Cluster, counters: Counters, totals: RunTotals | None = None, *, tables=None,
              capacity: Any = None, offered_pps: float | None = None) -> LoadReport:
        """The report of a run from its counters (any number of worker rows: they are summed)
        and, optionally, its `RunTotals`. ``capacity``: see `resolve_capacity`; it wins over
        ``cluster.capacity``, which wins over the defaults."""
        import pandas as pd

        from ..dataplane.pipeline import ETH_HEADER, Counters

        c = cluster
        cap = resolve_capacity(getattr(c, "capacity", None), capacity)
        check_capacity(cap, c)
        if offered_pps is not None:
            offered_pps = float(offered_pps)
            if not offered_pps >= 0 or math.isinf(offered_pps):
                raise ValueError(f"offered_pps: {offered_pps!r} must be a finite number >= 0")
        cn = Counters(*(np.asarray(a).sum(axis=0) for a in counters))
        H = len(c.hosts)
        U = len(c.uplinks)
        names, is_sr, rtr_host, rkind = _router_meta(c, tables)
        if cn.host.shape[0] != H or cn.tep_pair.shape[0] != H * H or cn.router.shape[0] != len(names) \
                or cn.segment.shape[0] != len(c.segments):
            raise ValueError("counters do not match the cluster (hosts, routers or segments differ)")
        P = int(cn.verdicts.sum())
        if totals is not None and totals.packets != P:
            raise ValueError(f"totals hold {totals.packets} packets, the counters {P}")
        host_names = [h.name for h in c.hosts]

        verdicts = pd.DataFrame({"verdict": [v.label for v in Verdict],
                                 "packets": [int(cn.verdicts[v]) for v in Verdict]})
        verdicts["share"] = verdicts["packets"] / P if P else 0.0
        dropped = int(cn.verdicts[Verdict.DROPPED])
        rs = [r for r in Reason if r is not Reason.NONE]
        reasons = pd.DataFrame({"reason": [r.label for r in rs], "packets": [int(cn.reasons[r]) for r in rs]})
        reasons["share"] = reasons["packets"] / P if P else 0.0
        reasons["share_of_dropped"] = reasons["packets"] / dropped if dropped else 0.0

        hosts = pd.DataFrame({
            "host": host_names, "edge": [h.edge for h in c.hosts],
            "tx_packets": cn.host[:, 0], "tx_bytes": cn.host[:, 1], "rx_packets": cn.host[:, 2], "rx_bytes": cn.host[:, 3],
        })

        ids = np.flatnonzero(cn.tep_pair[:, 0])
        ids = ids[np.argsort(-cn.tep_pair[ids, 1], kind="stable")]
        underlay = int(cn.host[:, 1].sum())
        tep_pairs = pd.DataFrame({
            "src_host": pd.Series([host_names[i // H] for i in ids.tolist()], dtype=object),
            "dst_host": pd.Series([host_names[i % H] for i in ids.tolist()], dtype=object),
            "packets": cn.tep_pair[ids, 0], "bytes": cn.tep_pair[ids, 1],
        })
        tep_pairs["share_of_bytes"] = tep_pairs["bytes"] / underlay if underlay else 0.0

        routers = pd.DataFrame({
            "router": names, "instance": np.where(is_sr, "sr", "dr"), "kind": rkind,
            "edge": [host_names[h] if s else "" for s, h in zip(is_sr.tolist(), rtr_host.tolist())],
            "packets": cn.router[:, 0], "bytes": cn.router[:, 1],
        })
        routers["share"] = routers["packets"] / P if P else 0.0

        segments = pd.DataFrame({
            "segment": [s.name for s in c.segments], "namespace": [s.namespace or "" for s in c.segments],
            "vni": [s.vni for s in c.segments], "packets": cn.segment[:, 0], "bytes": cn.segment[:, 1],
        })
        segments["share"] = segments["packets"] / P if P else 0.0

        known_rx = totals is not None and totals.batches_seen and totals.uplink_rx is not None
        rx = totals.uplink_rx if known_rx else np.full((U, 2), np.nan)
        uplinks = pd.DataFrame({
            "uplink": [u.name for u in c.uplinks], "tx_packets": cn.uplink[:U, 0], "tx_bytes": cn.uplink[:U, 1],
            "rx_packets": rx[:U, 0], "rx_bytes": rx[:U, 1],
        })

        edge_rows = []
        for h, host in enumerate(c.hosts):
            if not host.edge:
                continue
            mine = is_sr & (rtr_host == h)
            edge_rows.append({
                "edge": host.name, "service_routers": ",".join(n for n, m in zip(names, mine.tolist()) if m),
                "sr_packets": int(cn.router[mine, 0].sum()), "sr_bytes": int(cn.router[mine, 1].sum()),
                "tunnel_in_packets": int(cn.host[h, 2]), "tunnel_in_bytes": int(cn.host[h, 3]),
                "tunnel_out_packets": int(cn.host[h, 0]), "tunnel_out_bytes": int(cn.host[h, 1]),
            })
        edges = pd.DataFrame(edge_rows, columns=["edge", "service_routers", "sr_packets", "sr_bytes", "tunnel_in_packets",
                                                 "tunnel_in_bytes", "tunnel_out_packets", "tunnel_out_bytes"])
        edges["share"] = edges["sr_packets"] / P if P else 0.0

        # encap: header bytes per leg are a constant of the cluster
        legs = int(cn.tep_pair[:, 0].sum())
        per_leg = c.settings.geneve_overhead + ETH_HEADER
        leg_inner = underlay - legs * per_leg
        tun_inner = totals.tunnelled_inner_bytes if totals is not None and totals.batches_seen else None
        encap = {
            "tunnel_legs": legs, "tunnelled_packets": totals.tunnelled if totals is not None else None,
            "underlay_bytes": underlay, "header_bytes_per_leg": per_leg, "header_bytes": legs * per_leg,
            "leg_inner_bytes": leg_inner, "per_leg_ratio": _div(underlay, leg_inner),
            "tunnelled_inner_bytes": tun_inner,
            "overhead_bytes": underlay - tun_inner if tun_inner is not None else None,
            "ratio": _div(underlay, tun_inner) if tun_inner is not None else None,
            "inner_bytes": totals.inner_bytes if totals is not None and totals.batches_seen else None,
        }
        ew = totals.east_west_via_edge if totals is not None and totals.batches_seen else None
        hairpin = {
            "via_edge": totals.via_edge if totals is not None else None,
            "fraction": _share(totals.via_edge, P) if totals is not None else None,
            "east_west_via_edge": ew, "east_west_fraction": _share(ew, P) if ew is not None else None,
        }

        util_rows = []

        def device(name, kind, direction, pkts, nbytes, unit, cap_value, *, cycles=None, hz=None):
            """One row: ``pkts``/``nbytes`` the device's load over the run's P packets; a CPU
            (unit "cores") gives the run's ``cycles`` and a core's cycles a second ``hz``."""
            if cap_value is None:
                return
            pk = _share(pkts, P)  # packets per offered packet
            bits = _share(int(nbytes) * BITS, P)  # bits per offered packet
            per, scale = (bits, GIGA) if unit == "Gb/s" else (_share(cycles, P), hz) if unit == "cores" else (pk, MEGA)
            off = offered_pps if offered_pps is not None else math.nan
            util_rows.append({
                "device": name, "kind": kind, "direction": direction, "pps": pk * off,
                "gbps": bits * off / GIGA if unit != "cores" else math.nan,
                "load": per * off / scale, "capacity": cap_value, "unit": unit, "utilisation": per * off / (cap_value * scale),
                "saturates_at_pps": cap_value * scale / per if per > 0 else math.inf,
            })

        per_frame = WIRE_OVERHEAD + (TEP_VLAN_TAG if cap.tep_vlan else 0)  # on the wire beyond the outer frame
        for h, name in enumerate(host_names):
            for d, k in (("tx", 0), ("rx", 2)):
                device(name, "host-link", d, cn.host[h, k], cn.host[h, k + 1] + per_frame * cn.host[h, k], "Gb/s",
                       cap.link_gbps_of(name))
        for e in edge_rows:
            device(e["edge"], "edge", "sr", e["sr_packets"], e["sr_bytes"], "Mpps", cap.mpps_of_edge(e["edge"]))
        for k, u in enumerate(c.uplinks):
            dirs = [("tx", int(cn.uplink[k, 0]), int(cn.uplink[k, 1]))]
            if known_rx:
                dirs.append(("rx", int(rx[k, 0]), int(rx[k, 1])))
            pad = totals.uplink_pad if totals is not None and totals.uplink_pad is not None else None
            for j, (d, pk, by) in enumerate(dirs):
                padding = int(pad[k, j]) if pad is not None else 0  # (unknown without the batches: 0)
                device(u.name, "uplink", d, pk, by + padding + (UPLINK_FRAME_OVERHEAD + WIRE_OVERHEAD) * pk, "Gb/s",
                       cap.gbps_of_uplink(u.name))
        cpu = cpu_frame(c, totals, cap.cpu)
        for r in cpu.itertuples():
            device(r.device, f"{r.device_class}-cpu", "cpu", r.packets, 0, "cores", r.cores, cycles=r.cycles,
                   hz=r.ghz * GIGA)
        utilisation = pd.DataFrame(util_rows, columns=["device", "kind", "direction", "pps", "gbps", "load", "capacity",
                                                       "unit", "utilisation", "saturates_at_pps"])
        utilisation = utilisation.sort_values("saturates_at_pps", kind="stable").reset_index(drop=True)

        bottleneck = None
        if len(utilisation) and math.isfinite(utilisation["saturates_at_pps"].iloc[0]):
            b = utilisation.iloc[0]
            bottleneck = Bottleneck(device=b["device"], kind=b["kind"], direction=b["direction"], load=_num(b["load"]),
                                    capacity=float(b["capacity"]), unit=b["unit"], utilisation=_num(b["utilisation"]),
                                    saturates_at_pps=float(b["saturates_at_pps"]),
                                    saturates_at_per_pod_pps=float(b["saturates_at_pps"]) / len(c.pods)
                                    if len(c.pods) else None)

        svc_rows = []
        n_pods = len(c.pods)
        for (k, be), (pk, by) in sorted((totals.services if totals is not None else {}).items()):
            s = c.services[k]
            backend = ("(none: no endpoint)" if be < 0 else c.pods[be].key if be < n_pods
                       else c.nodes[be - n_pods].name)
            svc_rows.append({"service": s.key, "cluster_ip": ip_to_str(s.cluster_ip) if s.cluster_ip else "",
                             "external_ip": ip_to_str(s.lb_ip) if s.lb_ip is not None else "",
                             "backend": backend, "packets": pk, "bytes": by if totals.batches_seen else None})
        services = pd.DataFrame(svc_rows, columns=["service", "cluster_ip", "external_ip", "backend", "packets", "bytes"])
        services["share_of_service"] = services["packets"] / services.groupby("service")["packets"].transform("sum") \
            if len(services) else 0.0

        known = totals is not None and totals.batches_seen and totals.snat is not None
        snat = pd.DataFrame([{"namespace": s.namespace, "snat_ip": ip_to_str(s.snat_ip),
                              **dict(zip(("out_packets", "out_bytes", "in_packets", "in_bytes"),
                                         (totals.snat[k].tolist() if known else [None] * 4)))}
                             for k, s in enumerate(c.namespaces) if s.snat_ip is not None],
                            columns=["namespace", "snat_ip", "out_packets", "out_bytes", "in_packets", "in_bytes"])

        placeholders = link_placeholders(cap, c) + (
            cap.cpu.placeholders([k for k in ("host", "node", "edge") if (cpu["device_class"] == k).any()])
            if len(cpu) else [])
        return cls(c.settings.name, P, offered_pps, cap, verdicts, reasons, hosts, tep_pairs, routers, segments,
                   uplinks, edges, utilisation, encap, hairpin, bottleneck, services, snat, cpu, placeholders)

    # ---- outputs --------------------------------------------------------------------------------
    def frames(self) -> dict:
        """Every DataFrame of the report by name."""
        return {k: getattr(self, k) for k in _FRAMES}

    def to_json(self, top: int | None = None) -> dict:
        """The report as plain Python values (JSON-serialisable; NaN and infinity as None).
        ``top``: keep the first ``top`` rows of each device table (TEP pairs come sorted by
        bytes, utilisation from the first to saturate); None = all."""
        out = {"cluster": self.cluster_name, "packets": self.packets, "offered_pps": self.offered_pps,
               "capacity": self.capacity.as_dict()}
        out["verdicts"] = {r["verdict"]: {"packets": r["packets"], "share": r["share"]} for r in _records(self.verdicts)}
        out["reasons"] = {r["reason"]: {"packets": r["packets"], "share": r["share"],
                                        "share_of_dropped": r["share_of_dropped"]} for r in _records(self.reasons)}
        out["encap"] = dict(self.encap)
        out["hairpin"] = dict(self.hairpin)
        out["bottleneck"] = dict(self.bottleneck) if self.bottleneck else None
        out["placeholders"] = list(self.placeholders)
        out = _plain(out)
        for k in _FRAMES[2:]:
            out[k] = _records(getattr(self, k), top)  # plain already
        return out

    def to_text(self, top: int = 6) -> str:
        """A fixed-width summary: totals, then the ``top`` busiest rows of each table (all
        rows when they fit), the utilisation table and the bottleneck."""
        P = self.packets
        lines = [f"load report: {self.cluster_name}, {P:,} packets, "
                 + (f"offered {_rate(self.offered_pps, 'pps')}" if self.offered_pps is not None
                    else "no offered load given (utilisation unknown; saturation points exact)")]
        lines.append("verdicts   " + "   ".join(f"{r.verdict} {r.packets:,} ({_pct(r.share)})"
                                              for r in self.verdicts.itertuples()))
        drops = self.reasons[self.reasons["packets"] > 0].sort_values("packets", ascending=False, kind="stable")
        lines.append("drops      " + ("   ".join(f"{r.reason} {r.packets:,} ({_pct(r.share)})" for r in drops.itertuples())
                                      or "none"))
        e = self.encap
        if e["ratio"] is not None:
            lines.append(f"encap      {e['ratio']:.2f}x: {e['underlay_bytes']:,} B underlay for {e['tunnelled_inner_bytes']:,} B "
                         f"inner of tunnelled packets (+{e['overhead_bytes']:,} B)")
        leg = f"{e['tunnel_legs']:,} tunnel legs, {e['header_bytes_per_leg']} B of headers each"
        if e["per_leg_ratio"] is not None:
            leg += f": {e['per_leg_ratio']:.2f}x a leg ({e['underlay_bytes']:,} B for {e['leg_inner_bytes']:,} B)"
        lines.append(("           " if e["ratio"] is not None else "encap      ") + leg)
        hp = self.hairpin
        if hp["via_edge"] is not None:
            s = f"edge       via an edge SR {hp['via_edge']:,} ({_pct(hp['fraction'])})"
            if hp["east_west_via_edge"] is not None:
                s += f", of them east-west hairpins {hp['east_west_via_edge']:,} ({_pct(hp['east_west_fraction'])})"
            lines.append(s)

        def section(title, df, columns, sort=None, nonzero=None):
            """``columns``: (column, heading, format) with format "s" text, "n" count, "%" share."""
            n = len(df)
            if nonzero is not None:
                df = df[df[nonzero] > 0]
            if sort is not None:
                df = df.sort_values(sort, ascending=False, kind="stable")
            shown = df.head(top)
            if shown.empty:
                lines.extend(["", f"{title}: none"])
                return
            title += f", top {len(shown)} of {n}" if len(shown) < n else ""
            rows = [[_fmt(r[c], f) for c, _, f in columns] for r in shown.to_dict("records")]
            lines.append("")
            lines.extend(_table(rows, [title] + [h for _, h, _ in columns[1:]]))

        hosts = self.hosts.assign(name=[h + (" (edge)" if e else "") for h, e in zip(self.hosts["host"], self.hosts["edge"])],
                                  total=self.hosts["tx_bytes"] + self.hosts["rx_bytes"])
        section("hosts (underlay)", hosts, [("name", "host", "s"), ("tx_packets", "tx pkts", "n"), ("tx_bytes", "tx bytes", "n"),
                                            ("rx_packets", "rx pkts", "n"), ("rx_bytes", "rx bytes", "n")],
                sort="total" if len(hosts) > top else None)
        tep = self.tep_pairs.assign(pair=[f"{a} -> {b}" for a, b in zip(self.tep_pairs["src_host"], self.tep_pairs["dst_host"])])
        section("TEP pairs by bytes", tep, [("pair", "tunnel", "s"), ("packets", "packets", "n"), ("bytes", "bytes", "n"),
                                            ("share_of_bytes", "share", "%")])
        rt = self.routers.assign(where=[f"SR @{e}" if e else "DR" for e in self.routers["edge"]])
        section("routers by packets", rt, [("router", "router", "s"), ("where", "instance", "s"), ("packets", "packets", "n"),
                                           ("bytes", "inner bytes", "n"), ("share", "share", "%")],
                sort="packets", nonzero="packets")
        section("segments by packets", self.segments, [("segment", "segment", "s"), ("vni", "vni", "s"),
                                                       ("packets", "packets", "n"), ("bytes", "inner bytes", "n"),
                                                       ("share", "share", "%")], sort="packets", nonzero="packets")
        if len(self.uplinks):
            section("uplinks (inner bytes)", self.uplinks, [("uplink", "uplink", "s"), ("tx_packets", "tx pkts", "n"),
                                                            ("tx_bytes", "tx bytes", "n"), ("rx_packets", "rx pkts", "n"),
                                                            ("rx_bytes", "rx bytes", "n")], sort="tx_packets")
        if len(self.edges):
            section("edges", self.edges, [("edge", "edge", "s"), ("sr_packets", "SR packets", "n"),
                                          ("tunnel_in_bytes", "tunnel in B", "n"), ("tunnel_out_bytes", "tunnel out B", "n"),
                                          ("share", "share", "%")], sort="sr_packets")
        if self.services is not None and len(self.services):
            sv = self.services.assign(what=[f"{s} -> {b}" for s, b in zip(self.services["service"], self.services["backend"])])
            section("services (kube-proxy's and the load balancer's picks)", sv, [("what", "service -> backend", "s"), ("packets", "packets", "n"),
                                                          ("share_of_service", "of service", "%")], sort="packets")
        if self.snat is not None and len(self.snat) and self.snat["out_packets"].notna().all():
            section("SNAT on the T0 SR", self.snat.assign(total=self.snat["out_packets"] + self.snat["in_packets"]),
                    [("namespace", "namespace", "s"), ("snat_ip", "SNAT IP", "s"), ("out_packets", "out pkts", "n"),
                     ("in_packets", "in pkts", "n")], sort="total", nonzero="total")
        if self.cpu is not None and len(self.cpu):
            cp = self.cpu.assign(what=[f"{d} ({k})" for d, k in zip(self.cpu["device"], self.cpu["device_class"])],
                                 per=[f"{x:,.0f}" if x == x else "-" for x in self.cpu["cycles_per_packet"]],
                                 dfw=[f"{a:,} / {b:,}" for a, b in zip(self.cpu["dfw_new"], self.cpu["dfw_established"])])
            section("CPU work (cost model: cycles by capacity.cpu)", cp,
                    [("what", "device", "s"), ("packets", "passes", "n"), ("route", "router hops", "n"),
                     ("dfw", "DFW new / est.", "s"), ("encap", "encap", "n"), ("decap", "decap", "n"),
                     ("per", "cycles/pass", "s")], sort="cycles", nonzero="packets")
        elif self.cpu is not None:
            lines.extend(["", "CPU work: unknown (the run was forwarded without its tunnel-leg log or batches)"])
        u = self.utilisation
        ut = u.assign(dev=[_device_label(d, k, x) for d, k, x in zip(u["device"], u["kind"], u["direction"])],
                      cap=[f"{x:g} {un}" for x, un in zip(u["capacity"], u["unit"])],
                      ld=["-" if math.isnan(x) else f"{x:.3g} {un}" for x, un in zip(u["load"], u["unit"])],
                      sat=[_rate(x, "pps") for x in u["saturates_at_pps"]])
        section("utilisation", ut, [("dev", "device", "s"), ("kind", "kind", "s"), ("ld", "load", "s"), ("cap", "capacity", "s"),
                     ("utilisation", "util", "%"), ("sat", "saturates at", "s")])
        lines.append("")
        lines.append(f"bottleneck: {self.bottleneck or 'none (no device carried load)'}")
        if self.placeholders:
            by: dict[str, list[str]] = {}
            for p in self.placeholders:
                cls, _, name = p.partition(".")
                by.setdefault(cls, []).append(name)
            lines.append(f"placeholders: {len(self.placeholders)} figures in effect are fastpath's assumptions, "
                         "not measurements (set them in the spec's capacity and capacity.cpu): "
                         + "; ".join(f"{cls} {', '.join(names)}" for cls, names in by.items()))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


_FRAMES = ("verdicts", "reasons", "hosts", "tep_pairs", "routers", "segments", "uplinks", "edges", "utilisation",
           "services", "snat", "cpu")

CPU_COLUMNS = ("device", "device_class", "packets", "switch", "route", "dfw_new", "dfw_established", "encap", "decap",
               "nat", "lb", "cycles", "cycles_per_packet", "cores", "ghz")


def cpu_frame(cluster: Cluster, totals: RunTotals | None, cpu: CpuModel):
    """Per device — every transport host (class ``host``), edge (``edge``) and node VM
    (``node``) —: the run's operations (`fastpath.analysis.work`; ``packets`` = passes through
    the device), the cycles they cost by the cost model, per pass, and the device's cores and
    clock; the busiest first. Empty when the run's work is unknown (a chunk without its batch or
    leg log)."""
    import pandas as pd

    from .work import H_DFW, HOST_OPS, NODE_OPS

    if totals is None or totals.work_host is None:
        return pd.DataFrame(columns=list(CPU_COLUMNS))
    c = cluster
    wh = totals.work_host
    new = totals.conns.new
    cols = {op: wh[:, k] for k, op in enumerate(HOST_OPS)}
    cols["dfw_new"] = new
    cols["dfw_established"] = wh[:, H_DFW] - new
    rows = []

    def row(name, cls, counts):
        cyc = cpu.cycles(cls)
        total = sum(float(counts.get(op, 0)) * cyc[op] for op in CLASS_OPS[cls])
        passes = int(counts.get("switch", 0))
        rows.append({"device": name, "device_class": cls, "packets": passes,
                     **{op: int(counts.get(op, 0)) for op in CPU_COLUMNS[3:11]}, "cycles": total,
                     "cycles_per_packet": total / passes if passes else math.nan,
                     "cores": cpu.cores_of(cls, name), "ghz": cpu.value(cls, "ghz")})

    for h, host in enumerate(c.hosts):
        row(host.name, "edge" if host.edge else "host", {op: v[h] for op, v in cols.items()})
    wn = totals.work_node
    for i, node in enumerate(c.nodes):
        row(node.name, "node", {op: wn[i, k] for k, op in enumerate(NODE_OPS)})
    df = pd.DataFrame(rows, columns=list(CPU_COLUMNS))  # the busiest first: `to_json(top=...)` keeps them
    return df.sort_values("cycles", ascending=False, kind="stable").reset_index(drop=True)



# ---- formatting ---------------------------------------------------------------------------------
def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _plain(v):
    """numpy scalars -> Python, NaN/inf -> None, recursively."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def _records(df, top: int | None = None) -> list[dict]:
    """Rows as dicts of Python values, built column by column (``tolist`` converts numpy
    scalars in C: 40k TEP pairs in milliseconds); NaN and infinity as None."""
    if top is not None:
        df = df.head(top)
    cols = {}
    for name in df.columns:
        vals = df[name].to_numpy()
        cols[str(name)] = ([x if math.isfinite(x) else None for x in vals.tolist()] if vals.dtype.kind == "f"
                           else vals.tolist())
    return [dict(zip(cols, row)) for row in zip(*cols.values())]


def _pct(x) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _rate(x, unit: str) -> str:
    if x is None or not math.isfinite(x):
        return "never" if x == math.inf else "-"
    for div, pre in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g} {pre}{unit}"
    return f"{x:.3g} {unit}"


def _device_label(device: str, kind: str, direction: str) -> str:
    return f"{device} SRs" if kind == "edge" else f"{device} {direction}"


def _fmt(x, f: str) -> str:
    if f == "%":
        return _pct(x)
    if f == "n":
        return "-" if math.isnan(x) else f"{int(x):,}"
    return str(x)


def _table(rows: list[list[str]], heads: list[str]) -> list[str]:
    """Fixed-width rows under a heading line whose first cell is the table's title: the first
    column left-aligned (rows indented two), the rest right-aligned."""
    first = max([len(heads[0]) - 2] + [len(r[0]) for r in rows])
    widths = [first] + [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(heads) if k]

    def fmt(cells, indent):
        return (indent + cells[0]).ljust(first + 2) + "".join("  " + c.rjust(w) for c, w in zip(cells[1:], widths[1:]))

    return [fmt(heads, "")] + [fmt(r, "  ") for r in rows]


__all__ = ["UPLINK_FRAME_OVERHEAD", "Capacity", "LoadReport", "ReportAccumulator", "RunTotals", "check_capacity",
           "load_report", "resolve_capacity"]
