"""Scaling studies: sweep one parameter of a generated cluster (or the pods per node of a cluster
file's: `scaled_spec`) and measure every point.

A study answers "what happens at 250 / 1,000 / 4,000 pods per node?" (or nodes, namespaces,
DFW rules): for each value it builds the cluster, compiles it, and records

- the tables: entries and bytes per table, bytes per pod, compile time;
- the limits, each a parameter with its real default (`Limits`), and whether the point
  crosses it: VLAN tags per node (1-4093), the OVS MAC table (2 entries per pod VLAN plus the
  node's own, 8,192 by default since OVS 2.10, 2,048 before), Kubernetes' max pods per node
  (110), the tunnel mesh (TEP pairs), the underlay MTU against the pod MTU plus Geneve;
- the load of the modeled network: each point's load report (links and the cost model's CPUs):
  the bottleneck, the per-pod rate at which it saturates, each device class's busiest
  utilisation at an offered per-pod rate;
- the engine: packets/s forwarding a traffic profile on one core, and the run's verdicts (the
  simulator's own speed, reported apart).

A point the model refuses to build (more pods on a node than VLAN tags) is recorded with the
limit that stopped it, not raised. `write_outputs` turns the rows into CSV, Parquet, PNG plots
and a markdown summary that says where each limit is crossed.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..limits import MAX_STUDY_POINTS, cluster_size_problem
from ..model import SpecError, generate
from ..model import maxima
from ..model.cluster import Cluster

SWEEPS = {
    "pods-per-node": "pods_per_node",
    "nodes": "hosts",
    "namespaces": "namespaces",
    "rules": "dfw_rules",
}
"""Study name -> the `generate` argument it sweeps ("nodes" sweeps hosts, nodes_per_host fixed)."""

DEFAULT_VALUES = {
    "pods-per-node": (10, 30, 110, 250, 500, 1000, 4000),
    "nodes": (1, 4, 16, 64, 256),
    "namespaces": (1, 10, 50, 200, 1000),
    "rules": (0, 10, 100, 1000),
}

BASE = {"hosts": 10, "nodes_per_host": 4, "namespaces": 20, "pods_per_node": 110, "dfw_rules": 0, "edges": 1,
        "service_t1_count": 0, "mtu": 1600, "placement": "spread"}
"""The cluster every point starts from; the sweep overrides one argument."""


@dataclass(frozen=True)
class Limits:
    """Each limit the study checks, with the real default it models."""

    vlan_tags: int = 4093  # tags a node's pods may use: 1..4093 (the node agent keeps 4094)
    ovs_mac_table: int = 8192  # OVS other_config:mac-table-size; 8,192 since OVS 2.10, 2,048 before
    max_pods: int = 110  # Kubernetes kubelet default --max-pods
    pod_mtu: int = 1500  # the MTU a pod's eth0 sends at
    tunnel_mesh: int = 1_000_000  # TEP pairs a planner accepts in the full mesh (a judgement, not a product limit)


@dataclass
class Point:
    """One row of a study."""

    sweep: str
    value: int
    status: str  # "ok" or the refusal (a SpecError line)
    pods: int = 0
    nodes: int = 0
    hosts: int = 0  # hypervisors (transport nodes)
    edges: int = 0  # edge nodes
    pods_per_node: int = 0
    compile_s: float = 0.0
    table_bytes: int = 0
    bytes_per_pod: float = 0.0
    vlan_tags_per_node: int = 0
    ovs_mac_entries_per_node: int = 0
    tep_pairs: int = 0  # directed pairs of all TEPs, hypervisors' and edges' (the tunnel mesh limit's count)
    tep_pairs_hosts: int = 0  # of them, between two hypervisors
    tep_pairs_edges: int = 0  # of them, between a hypervisor and an edge (either way) or two edges
    mtu_headroom: int = 0  # underlay MTU - (pod MTU + Geneve overhead); < 0 = drops
    packets: int = 0
    pps: float = 0.0
    delivered: int = 0
    dropped: int = 0
    exited: int = 0
    per_pod_pps: float = 0.0  # the offered load asked: packets a second from each pod (0: none)
    offered_pps: float = 0.0  # per_pod_pps x pods
    util_host_link: float = float("nan")  # the busiest device of each class at that load (NaN: no load asked,
    util_uplink: float = float("nan")  # or no device of the class judged)
    util_host_cpu: float = float("nan")  # the cost model's CPUs (`fastpath.model.costs`)
    util_node_cpu: float = float("nan")
    util_edge_cpu: float = float("nan")
    util_edge: float = float("nan")  # an edge's packet rate, when capacity.edge_mpps gives one
    dfw_new_share: float = float("nan")  # of the run's DFW evaluations, those that opened a connection
    bottleneck: str = ""  # the device that saturates first (load report: `LoadReport.bottleneck`)
    max_per_pod_pps: float = float("nan")  # the per-pod rate at which it saturates (inf: nothing loaded)
    tables: dict = field(default_factory=dict)  # table -> bytes
    crossed: dict = field(default_factory=dict)  # limit -> bool
    failure: dict = field(default_factory=dict)  # with devices failed: the `fail_*` columns (`_failed_run`)

    def flat(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k not in ("tables", "crossed", "failure")}
        row.update({f"table_{k}_bytes": v for k, v in self.tables.items()})
        row.update({f"crossed_{k}": v for k, v in self.crossed.items()})
        row.update({f"fail_{k}": v for k, v in self.failure.items()})
        return row


def _limits_of(c: Cluster, pods_per_node: int, lim: Limits) -> tuple[dict, dict]:
    teps = len(c.hosts)  # hypervisors and edges: every TEP
    hv = sum(not h.edge for h in c.hosts)
    min_mtu = min(h.mtu for h in c.hosts)
    facts = {
        "vlan_tags_per_node": pods_per_node,
        "ovs_mac_entries_per_node": 2 * pods_per_node + 1,
        "tep_pairs": teps * (teps - 1),
        "tep_pairs_hosts": hv * (hv - 1),
        "tep_pairs_edges": teps * (teps - 1) - hv * (hv - 1),
        "mtu_headroom": min_mtu - (lim.pod_mtu + c.settings.geneve_overhead),
    }
    crossed = {
        "vlan_tags": pods_per_node > lim.vlan_tags,
        "ovs_mac_table": facts["ovs_mac_entries_per_node"] > lim.ovs_mac_table,
        "max_pods": pods_per_node > lim.max_pods,
        "tunnel_mesh": facts["tep_pairs"] > lim.tunnel_mesh,
        "mtu": facts["mtu_headroom"] < 0,
    }
    return facts, crossed


def check_study(sweep: str, values, base: dict | None = None, spec: dict | None = None) -> list[int]:
    """The values of a study, checked before any point is built: raises `SpecError` with path
    ``values``, ``base`` or ``cluster`` (the argument to blame) for an unknown sweep or base argument, a
    value below what `generate` accepts, a duplicate, too many points, or a point whose cluster
    is beyond `fastpath.limits` (a point the *model* refuses, e.g. more pods on a node than VLAN
    tags, is a finding of the study and stays a recorded row). With ``spec`` (a cluster file's:
    `scaled_spec`) the study must be pods-per-node and takes no base."""
    if sweep not in SWEEPS:
        raise SpecError("sweep", f"unknown study {sweep!r}: one of {', '.join(SWEEPS)}")
    if spec is not None:
        if base:
            raise SpecError("base", "a study of a cluster file takes its shape from the file: no --base")
        if sweep != "pods-per-node":
            raise SpecError("cluster", f"a study of a cluster file sweeps pods-per-node, not {sweep} (its hosts, "
                            "nodes and namespaces are the file's)")
        shape = spec_shape(spec)
        vals = list(DEFAULT_VALUES[sweep] if values is None else values)
        check_study(sweep, vals, {k: v for k, v in shape.items() if k not in ("pods_per_node", "mtu", "placement")})
        return [int(v) for v in vals]
    base = dict(base or {})
    for k, v in base.items():
        if k not in BASE:
            raise SpecError("base", f"{k!r} is not one of {', '.join(BASE)}")
        if k == "placement":
            if v not in ("spread", "packed"):
                raise SpecError("base", f"placement={v!r} is not spread or packed")
        elif isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SpecError("base", f"{k}={v!r} is not an integer")
    if "mtu" in base:  # the generator's own rule, on a cluster of one pod-less node
        try:
            generate(1, 1, 1, 0, mtu=int(base["mtu"]))
        except SpecError as exc:
            raise SpecError("base", f"mtu={base['mtu']}: {exc.message}") from None
    param = SWEEPS[sweep]
    if param in base:
        raise SpecError("base", f"{param} is what the {sweep} study sweeps: give it in the values")
    vals = list(DEFAULT_VALUES[sweep] if values is None else values)
    if not vals:
        raise SpecError("values", "give at least one value")
    if len(vals) > MAX_STUDY_POINTS:
        raise SpecError("values", f"{len(vals)} points: more than the {MAX_STUDY_POINTS} a study runs (fastpath.limits)")
    seen = set()
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SpecError("values", f"{v!r} is not an integer")
        if v in seen:
            raise SpecError("values", f"{v} is given twice")
        seen.add(v)
    # the base alone (with the sweep's smallest legal value), then every point
    floor = {"pods_per_node": 0, "dfw_rules": 0}.get(param, 1)
    for blame, v in [("base", floor)] + [("values", v) for v in vals]:
        args = {**BASE, **base, param: int(v)}
        problem = cluster_size_problem(args["hosts"], args["nodes_per_host"], args["namespaces"],
                                       args["pods_per_node"], args["edges"], args["dfw_rules"])
        if problem is None and not 0 <= args["service_t1_count"] <= args["namespaces"]:
            problem = ("service_t1_count", f"must be in 0..{args['namespaces']} (namespaces)")
        if problem is not None:
            arg, msg = problem
            what = f"{arg}={args[arg]}" if blame == "base" and arg in args else f"{v}"
            raise SpecError(blame, f"{what}: {arg}: {msg}" if blame == "values" else f"{what}: {msg}")
    return [int(v) for v in vals]


def spec_shape(spec: dict | Cluster) -> dict:
    """The generator's arguments that describe a cluster file's cluster (`BASE`'s keys; the spec,
    or the cluster built from it): what a study of it reports as its base and holds the
    configuration maxima to (``nodes_per_host`` the most nodes on one host; the maxima's
    per-namespace figures assume the pods spread evenly)."""
    from ..model.spec import from_spec

    c = spec if isinstance(spec, Cluster) else from_spec(spec)
    per_host: dict[str, int] = {}
    for n in c.nodes:
        per_host[n.host] = per_host.get(n.host, 0) + 1
    return {"hosts": sum(not h.edge for h in c.hosts), "nodes_per_host": max(per_host.values(), default=1),
            "namespaces": len(c.namespaces), "pods_per_node": round(len(c.pods) / max(len(c.nodes), 1)),
            "dfw_rules": len(c.dfw_rules), "edges": sum(h.edge for h in c.hosts),
            "service_t1_count": sum(r.edge is not None for r in c.t1s[1:]), "mtu": min(h.mtu for h in c.hosts),
            "placement": "the file's"}


def point_cluster(sweep: str, value: int, *, base: dict | None = None, limits: Limits = Limits(),
                  seed: int = 0, spec: dict | None = None) -> Cluster:
    """The cluster of one point: generated, or with ``spec`` (a cluster file's spec: the
    pods-per-node study only) that spec at ``value`` pods a node (`scaled_spec`). `SpecError`
    when the model refuses it."""
    if spec is not None:
        from ..model.spec import from_spec

        return from_spec(scaled_spec(spec, value, limits))
    args = {**BASE, **(base or {}), SWEEPS[sweep]: int(value)}
    ppn = args["pods_per_node"]
    return generate(args["hosts"], args["nodes_per_host"], args["namespaces"], ppn, dfw_rules=args["dfw_rules"],
                    edges=args["edges"], service_t1_count=args["service_t1_count"], mtu=args["mtu"],
                    placement=args["placement"], seed=seed, max_pods=max(ppn, limits.max_pods))


def scaled_spec(spec: dict, pods_per_node: int, limits: Limits = Limits()) -> dict:
    """A cluster file's spec with ``pods_per_node`` pods on every node: the study of *your*
    cluster at N pods a node. Kept as the file gives them: hosts, edges, nodes, namespaces and
    their T1s, the T0, DFW rules, NetworkPolicies, Services, capacity and maxima. Re-made: the pods
    — node k's i-th pod copies the file's pod number (k * N + i) mod P (its namespace, labels and
    ports: the namespaces' shares and what policies and Services select stay as they were), named
    ``<pod>-<node>-<i>`` —, their addresses, MACs and VLAN tags (allocated), and the namespaces'
    subnets: cut again from the pod CIDR at the prefix the largest namespace needs (NCP adds a /24
    as a namespace outgrows one; the model gives it one larger subnet, and the maxima say when NCP
    would add one). EndpointSlices are left out: endpoints are the pods the selectors pick. A
    node's ``max_pods`` is raised to N when below it (Kubernetes' 110 is a maximum the study
    reports crossing, not a reason to refuse the point)."""
    import copy

    from ..model.generate import _prefix_for

    s = copy.deepcopy(spec)
    pods = s.get("pods") or []
    if not pods:
        raise SpecError("cluster", "has no pods: a study of a cluster file re-makes its pods N a node, copying its own")
    nodes = s.get("nodes") or []
    n = int(pods_per_node)
    made, per_ns = [], {}
    for k, node in enumerate(nodes):
        if node.get("max_pods", limits.max_pods) < n:
            node["max_pods"] = n
        for i in range(n):
            t = pods[(k * n + i) % len(pods)]
            ns = t.get("namespace", "default")
            per_ns[ns] = per_ns.get(ns, 0) + 1
            made.append({"name": f"{t['name']}-{node['name']}-{i}", "namespace": ns, "node": node["name"],
                         **{f: copy.deepcopy(t[f]) for f in ("labels", "ports") if f in t}})
    s["pods"] = made
    s.pop("endpointslices", None)
    for ns in s.get("namespaces") or []:
        ns.pop("subnet", None)
    settings = s.setdefault("cluster", {})
    settings["namespace_prefix"] = max(8, min(settings.get("namespace_prefix", 24), _prefix_for(max(per_ns.values()), 30)))
    return s


def smallest_point(sweep: str, values, base: dict | None = None) -> int:
    """The value whose cluster has the fewest pods but at least one (else the first value):
    where a study checks cheaply that its traffic profile can be sent at all."""
    def pods(v):
        a = {**BASE, **(base or {}), SWEEPS[sweep]: int(v)}
        return a["hosts"] * a["nodes_per_host"] * a["pods_per_node"]

    sendable = [v for v in values if pods(v) > 0]
    return min(sendable, key=pods) if sendable else values[0]


def run_point(sweep: str, value: int, *, base: dict | None = None, packets: int = 1_000_000,
              limits: Limits = Limits(), seed: int = 0, forward: Callable | None = None,
              per_pod_pps: float | None = None, spec: dict | None = None, fail: tuple = (),
              profile: str | None = None) -> Point:
    """Build, compile and measure one point. ``forward(cluster, dataplane, packets, seed,
    accumulator)`` returns a run report and feeds the accumulator (default: uniform pod-to-pod);
    packets=0 skips the engine run. The run's load report gives the point's bottleneck and the
    per-pod rate at which it saturates; with ``per_pod_pps`` (packets a second a pod offers) also
    each device class's utilisation at that load. ``fail``: devices (`fastpath.model.failure`) to
    fail in the point's cluster: its load figures are then the failed cluster's, from the what-if
    diff of the same traffic (``profile``: its name, default uniform pod-to-pod), with the
    ``fail_*`` columns of `_failed_run`; tables and limits stay the configured cluster's."""
    from .report import ReportAccumulator
    from ..dataplane import Dataplane
    from ..dataplane.runner import run_uniform

    if sweep not in SWEEPS:
        raise ValueError(f"unknown study {sweep!r}: one of {', '.join(SWEEPS)}")
    ppn = {**BASE, **(base or {}), SWEEPS[sweep]: int(value)}["pods_per_node"]
    try:
        c = point_cluster(sweep, value, base=base, limits=limits, seed=seed, spec=spec)
    except SpecError as exc:
        point = Point(sweep, int(value), f"refused: {exc}", pods_per_node=ppn)
        point.vlan_tags_per_node = ppn
        point.ovs_mac_entries_per_node = 2 * ppn + 1
        point.crossed = {"vlan_tags": ppn > limits.vlan_tags, "ovs_mac_table": 2 * ppn + 1 > limits.ovs_mac_table,
                         "max_pods": ppn > limits.max_pods, "tunnel_mesh": False, "mtu": False}
        return point
    t0 = time.perf_counter()
    dp = Dataplane(c)
    compile_s = time.perf_counter() - t0
    sizes = dp.tables.sizes()
    facts, crossed = _limits_of(c, ppn, limits)
    total = sum(s.bytes for s in sizes.values())
    point = Point(sweep, int(value), "ok", pods=len(c.pods), nodes=len(c.nodes), hosts=sum(not h.edge for h in c.hosts),
                  edges=sum(h.edge for h in c.hosts),
                  pods_per_node=ppn, compile_s=compile_s, table_bytes=total,
                  bytes_per_pod=total / max(len(c.pods), 1), tables={k: s.bytes for k, s in sizes.items()},
                  crossed=crossed, **facts)
    if packets and len(c.pods) and fail:
        try:
            _failed_run(point, c, dp, fail, profile, packets, seed, per_pod_pps)
        except SpecError as exc:  # a device this point lacks
            point.status = f"refused: {exc}"
    elif packets and len(c.pods):
        acc = ReportAccumulator(c, dp.tables)
        rep = (forward or (lambda cl, d, n, s, a: run_uniform(cl, n, seed=s, dataplane=d, accumulator=a)))(
            c, dp, packets, seed, acc)
        _load(point, acc, per_pod_pps, len(c.pods))
        point.packets, point.pps = rep.packets, rep.pps
        point.delivered = rep.verdicts.get("delivered", 0)
        point.dropped = rep.verdicts.get("dropped", 0)
        point.exited = rep.verdicts.get("exited", 0)
    return point


UTIL_CLASSES = (("host-link", "util_host_link", "host links"), ("uplink", "util_uplink", "uplinks"),
                ("host-cpu", "util_host_cpu", "host CPUs"), ("node-cpu", "util_node_cpu", "node OVS CPUs"),
                ("edge-cpu", "util_edge_cpu", "edge CPUs"), ("edge", "util_edge", "edges (Mpps)"))
"""The load report's device kinds a study reports, each as the busiest device of the kind:
(kind, Point field, heading)."""


class _Reported:
    """A load report already made, where `_load` asks an accumulator for one."""

    def __init__(self, rep):
        self.rep = rep

    def report(self, offered_pps=None):
        return self.rep


def _failed_run(point: Point, c: Cluster, dp, devices, profile, packets: int, seed: int, per_pod_pps) -> None:
    """The point's run with ``devices`` failed (`run_point`): the failed cluster's load figures, and
    ``fail_`` columns: what failed, the SRs moved and lost, the share of packets whose outcome
    changed and of those now lost (delivered or exited before; dropped or not sent after), the
    bottleneck before."""
    from ..dataplane import Dataplane
    from ..model.failure import fail
    from .diff import diff

    f = fail(c, devices)
    pods = len(f.after.pods)  # the per-pod rate is the surviving pods' (a failed host's send nothing)
    d = diff(c, f.after, profile=profile, packets=packets, seed=seed,
             offered_pps=per_pod_pps * pods if per_pod_pps else None, changes=f.changes, change_text=f.text,
             dataplanes=(dp, Dataplane(f.after)))
    rep_b, rep_a = d.reports
    _load(point, _Reported(rep_a), per_pod_pps, max(pods, 1))
    lost = sum(g.packets for g in d.groups if g.cls == "sender removed" or (
        g.cls == "verdict" and g.detail["before"]["verdict"] != "dropped" and g.detail["after"]["verdict"] == "dropped"))
    v = rep_a.verdicts.set_index("verdict")["packets"] if len(rep_a.verdicts) else {}
    point.packets = d.packets
    point.pps = float("nan")  # (two runs and a comparison: the engine's speed is the plain run's)
    point.delivered, point.dropped, point.exited = (int(v.get(k, 0)) for k in ("delivered", "dropped", "exited"))
    bb = rep_b.bottleneck
    point.failure = {"devices": " ".join(f.devices), "moved": " ".join(f"{k}->{b}" for k, (_, b) in f.moved.items()),
                     "lost": " ".join(f.lost), "changed_share": d.changed_packets / max(d.packets, 1),
                     "lost_share": lost / max(d.packets, 1),
                     "bottleneck_before": f"{bb['device']} {bb['direction']} ({bb['kind']})" if bb else ""}


def _load(point: Point, acc, per_pod_pps: float | None, pods: int) -> None:
    """The point's load figures from its run's load report (`Point`)."""
    offered = per_pod_pps * pods if per_pod_pps else None
    rep = acc.report(offered_pps=offered)
    u = rep.utilisation
    if offered:
        point.per_pod_pps, point.offered_pps = float(per_pod_pps), float(offered)
        for kind, name, _ in UTIL_CLASSES:
            sel = u[u["kind"] == kind]["utilisation"]
            setattr(point, name, float(sel.max()) if len(sel) else math.nan)
    cpu = rep.cpu
    if cpu is not None and len(cpu):
        evaluations = int(cpu["dfw_new"].sum() + cpu["dfw_established"].sum())
        point.dfw_new_share = float(cpu["dfw_new"].sum()) / evaluations if evaluations else math.nan
    b = rep.bottleneck
    if b is not None:
        point.bottleneck = f"{b['device']} {b['direction']} ({b['kind']})"
        point.max_per_pod_pps = b["saturates_at_pps"] / pods
    else:
        point.max_per_pod_pps = math.inf


def run_study(sweep: str, values: Iterable[int] | None = None, *, base: dict | None = None, packets: int = 1_000_000,
              limits: Limits = Limits(), seed: int = 0, progress: Callable[[Point], None] | None = None,
              forward: Callable | None = None, per_pod_pps: float | None = None, spec: dict | None = None,
              spec_name: str | None = None, fail: tuple = (), profile: str | None = None):
    """Every point of a sweep, in order, as a pandas DataFrame (one row a point). ``spec``: a
    cluster file's spec to study at each number of pods a node instead of a generated cluster
    (`scaled_spec`), ``spec_name`` what the summary calls it; ``fail``, ``profile``: see
    `run_point`."""
    import pandas as pd

    rows = []
    for v in check_study(sweep, values, base, spec):
        p = run_point(sweep, v, base=base, packets=packets, limits=limits, seed=seed, forward=forward,
                      per_pod_pps=per_pod_pps, spec=spec, fail=fail, profile=profile)
        rows.append(p.flat())
        if progress:
            progress(p)
    df = pd.DataFrame(rows)
    set_attrs(df, base, forward, packets, seed, per_pod_pps, spec, spec_name)
    return df


def set_attrs(df, base, forward, packets: int, seed: int, per_pod_pps: float | None, spec: dict | None = None,
              spec_name: str | None = None) -> None:
    """What a study's summary records of its base and how its points were run: ``base`` (the
    generator's arguments, or a cluster file's shape), ``cluster`` (the file, when one), ``run``:
    the traffic, packets, seed, offered load, and the cost model's placeholders in effect."""
    from ..model.costs import resolve_cpu
    from .report import LINK_DEFAULTS, link_placeholders, resolve_capacity

    if spec is not None:
        from ..model.spec import from_spec

        c = from_spec(spec)
        links = link_placeholders(resolve_capacity(c.capacity), c)
        df.attrs["cluster"] = spec_name or "a cluster file"
    else:  # a generated cluster: the default capacities
        links = [f"capacity.{k}" for k in LINK_DEFAULTS]
    cpu = resolve_cpu(spec.get("capacity", {}).get("cpu") if spec else None)
    df.attrs["base"] = spec_shape(c) if spec is not None else {**BASE, **(base or {})}
    df.attrs["run"] = {"traffic": "uniform pod-to-pod" if forward is None else "as the caller forwards it",
                       "packets": int(packets), "seed": int(seed), "per_pod_pps": per_pod_pps,
                       "placeholders": links + cpu.placeholders() if packets else []}


def first_crossing(df, limit: str):
    """The first value whose point crosses ``limit``, or None."""
    hit = df[df[f"crossed_{limit}"]]
    return None if hit.empty else hit["value"].iloc[0]


def limit_overrides(limits: Limits) -> dict:
    """The study's `Limits` as `fastpath.model.maxima` overrides (their keys)."""
    return {"k8s.pods_per_node": limits.max_pods, "ovs.mac_table": limits.ovs_mac_table,
            "ncp.vlan_tags_per_node": limits.vlan_tags, "fastpath.tunnel_mesh": limits.tunnel_mesh}


def summary_markdown(df, sweep: str, limits: Limits = Limits()) -> str:
    """A short markdown summary: the points, where each limit is crossed, then — apart, and
    named as such — the simulator's own speed; and what produced it (traffic, seed, version)."""
    from .. import __version__

    param = SWEEPS[sweep]
    base = df.attrs.get("base", BASE)
    run = df.attrs.get("run", {})
    of = df.attrs.get("cluster")
    lines = [f"# Study: {sweep}" + (f" of {of}" if of else ""), "",
             f"Sweeping `{param}` over {', '.join(str(v) for v in df['value'])}; " + (
                 f"the cluster of {of}, its pods re-made N a node in its namespaces' shares (its shape: "
                 f"{', '.join(f'{k}={v}' for k, v in base.items() if k != param)}; the computed crossings below "
                 "assume its pods spread evenly over its namespaces)." if of else
                 f"other parameters {', '.join(f'{k}={v}' for k, v in base.items() if k != param)}."), "",
             f"Traffic: {run.get('traffic', 'uniform pod-to-pod')}, {run.get('packets', 0):,} packets a point, "
             f"seed {run.get('seed', 0)}; offered load: " + (
                 f"{run['per_pod_pps']:,g} packets/s a pod" if run.get("per_pod_pps") else
                 "none asked (--per-pod-pps): the load section gives each point's saturation rate only")
             + f"; fastpath {__version__}.", "",
             "| value | status | hypervisors | edges | pods | table MB | B/pod | OVS MAC entries/node | TEP pairs |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for _, r in df.iterrows():
        lines.append(f"| {r['value']} | {r['status'] if r['status'] == 'ok' else 'refused'} | {r['hosts']:,} | "
                     f"{r.get('edges', 0):,} | {r['pods']:,} | {r['table_bytes'] / 2**20:.1f} | {r['bytes_per_pod']:.0f} | "
                     f"{r['ovs_mac_entries_per_node']:,} | {r['tep_pairs']:,} |")
    lines += ["", "## Limits", "",
              f"Where each is crossed: the value of `{param}` computed from the limit (the other parameters as "
              "above), and the first point of this study past it.", ""]
    text = {
        "max_pods": f"Kubernetes' default max pods per node ({limits.max_pods})",
        "ovs_mac_table": f"the OVS MAC table ({limits.ovs_mac_table:,} entries; 2 per pod VLAN + the node's own)",
        "vlan_tags": f"VLAN tags per node (1-{limits.vlan_tags})",
        "tunnel_mesh": f"the tunnel mesh ({limits.tunnel_mesh:,} TEP pairs)",
        "mtu": f"the underlay MTU (pod MTU {limits.pod_mtu} + Geneve overhead)",
    }
    keys = {"max_pods": "k8s.pods_per_node", "ovs_mac_table": "ovs.mac_table", "vlan_tags": "ncp.vlan_tags_per_node",
            "tunnel_mesh": "fastpath.tunnel_mesh"}
    over = limit_overrides(limits)
    shape = {**BASE, **base}
    for lim, what in text.items():
        v = first_crossing(df, lim)
        at = maxima.crossing(keys[lim], shape, param, over) if lim in keys else None
        sampled = f"first point past it: {v}" if v is not None else "no point of this study past it"
        if lim == "mtu":  # the underlay MTU does not move with any swept parameter
            lines.append(f"- {what}: " + (f"crossed at **{v}**." if v is not None else "not crossed in this range."))
        elif at is None:
            lines.append(f"- {what}: not crossed at any {param.replace('_', ' ')}" + (f" ({sampled})." if v else "."))
        else:
            lines.append(f"- {what}: crossed at **{at}** ({sampled}).")
    lines += ["", "### Configuration maxima", ""]
    for m in maxima.MAXIMA:
        if m.of_shape is None or m.key in keys.values():
            continue
        at = maxima.crossing(m.key, shape, param, over)
        fig = f"{maxima.value_of(m.key, over):,} {m.unit}, {m.product} {m.versions}" + (
            ", a placeholder" if m.placeholder else "")
        said = (f"crossed at **{at}**" if at else "crossed at every value" if at == 0 else
                f"not crossed at any {param.replace('_', ' ')}") + (f": {m.note}" if at is not None and m.note else "")
        lines.append(f"- `{m.key}` — {m.what} ({fig}): {said}.")
    refused = df[df["status"] != "ok"]
    for _, r in refused.iterrows():
        lines.append(f"- value {r['value']} was refused by the model: {r['status'][len('refused: '):]}")
    if "max_per_pod_pps" in df and df["max_per_pod_pps"].notna().any():
        asked = bool(run.get("per_pod_pps"))
        lines += ["", "## Load (the modeled network: devices against their capacities)", "",
                  "Per point, the device that saturates first under this traffic and the per-pod rate at which it "
                  "does" + (f"; at {run['per_pod_pps']:,g} packets/s a pod, each device class's busiest "
                            "utilisation." if asked else "."), ""]
        shown = [(name, head) for _, name, head in UTIL_CLASSES if name in df and df[name].notna().any()]
        head = "| value | pods | bottleneck | max packets/s a pod | DFW new |"
        if asked:
            head += " offered Mpps |" + "".join(f" {h} |" for _, h in shown)
        lines += [head, "|---:|---:|---|---:|---:|" + ("---:|" * (1 + len(shown)) if asked else "")]
        for _, r in df.iterrows():
            if r["status"] != "ok" or r["max_per_pod_pps"] != r["max_per_pod_pps"]:
                continue
            new = r.get("dfw_new_share", math.nan)
            row = (f"| {r['value']} | {r['pods']:,} | {r['bottleneck'] or 'none'} | {r['max_per_pod_pps']:,.0f} | "
                   + (f"{new:.0%} |" if new == new else "- |"))
            if asked:
                row += f" {r['offered_pps'] / 1e6:.3g} |" + "".join(
                    f" {r[n]:.1%} |" if r[n] == r[n] else " - |" for n, _ in shown)
            lines.append(row)
        lines += ["", "DFW new: the share of DFW evaluations that opened a connection (its first packet at that port: "
                  "the rules are walked; later packets and replies match conntrack's state): it is the traffic's, "
                  "and it weighs in the hosts' CPU."]
        placeholders = run.get("placeholders")
        if placeholders:
            lines += ["", f"Utilisation rests on figures of which {len(placeholders)} in effect are fastpath's "
                      "placeholders, not measurements (set them in the spec's capacity and capacity.cpu): "
                      + ", ".join(f"`{p}`" for p in placeholders) + "."]
    if "fail_devices" in df and (df["status"] == "ok").any():  # `run_point(fail=...)`: what the failure did
        ok = df[df["status"] == "ok"]
        lines += ["", f"## Failure: {ok['fail_devices'].iloc[0]}", "",
                  "The load above is the failed cluster's. Per point, the same traffic through the cluster and the "
                  "failed one (the what-if diff): the share of packets whose outcome changed, the share lost "
                  "(delivered or exited before; dropped, or not sent because their sender failed, after), the "
                  "service routers that moved to their standby or were lost, and the bottleneck before.", "",
                  "| value | changed | lost | SRs moved | SRs lost | bottleneck before |", "|---:|---:|---:|---|---|---|"]
        for _, r in ok.iterrows():
            def txt(v):
                return v if isinstance(v, str) and v else "none"
            lines.append(f"| {r['value']} | {r['fail_changed_share']:.1%} | {r['fail_lost_share']:.1%} | "
                         f"{txt(r['fail_moved'])} | {txt(r['fail_lost'])} | {txt(r['fail_bottleneck_before'])} |")
    if df["pps"].gt(0).any():
        lines += ["", "## Engine (the simulator's own speed, not the modeled network's capacity)", "",
                  "How fast fastpath itself forwarded each point's packets on one core of the machine that "
                  "ran the study; it says nothing about what the cluster can carry.", "",
                  "| value | simulated M packets/s (1 core) |", "|---:|---:|"]
        lines += [f"| {r['value']} | {r['pps'] / 1e6:.2f} |" if r["pps"] else f"| {r['value']} | - |"
                  for _, r in df.iterrows()]
    return "\n".join(lines) + "\n"


def write_outputs(df, sweep: str, out: str | Path, limits: Limits = Limits()) -> list[Path]:
    """CSV, Parquet, PNG plots and summary.md into ``out``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{sweep}.csv", out / f"{sweep}.parquet"]
    df.to_csv(files[0], index=False)
    df.to_parquet(files[1], index=False)
    ok = df[df["status"] == "ok"]
    param = SWEEPS[sweep].replace("_", " ")
    base = {**BASE, **df.attrs.get("base", {})}
    shape = ", ".join(f"{base[k]} {k.replace('_', ' ')}" for k in BASE if k != SWEEPS[sweep])
    log_x = len(df) > 1 and df["value"].min() > 0 and df["value"].max() / max(df["value"].min(), 1) >= 20

    def axes(title, ylabel):
        fig, ax = plt.subplots(figsize=(7, 4.4), dpi=110)
        ax.set_title(f"{title}\n{shape}", fontsize=10)
        ax.set_xlabel(f"{param} (value swept)")
        ax.set_ylabel(ylabel)
        if log_x:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        return fig, ax

    fig, ax = axes(f"Compiled table memory per pod vs {param}", "bytes per pod (B)")
    table_cols = [c for c in ok.columns if c.startswith("table_") and c.endswith("_bytes") and c != "table_bytes"
                  and ok[c].sum() > 0]
    bottom = np.zeros(len(ok))
    for col in sorted(table_cols, key=lambda c: -ok[c].sum()):
        share = (ok[col] / ok["pods"].clip(lower=1)).to_numpy()
        ax.bar(range(len(ok)), share, bottom=bottom, label=col[len("table_"):-len("_bytes")])
        bottom += share
    ax.set_xscale("linear")
    ax.set_xticks(range(len(ok)), [str(v) for v in ok["value"]])
    ax.legend(fontsize=7, ncol=2)
    files.append(out / f"{sweep}-memory.png")
    fig.tight_layout()
    fig.savefig(files[-1])
    plt.close(fig)

    if "pods_per_node" == SWEEPS[sweep]:
        fig, ax = axes("OVS MAC table entries per node vs pods per node, with the limits", "entries (2 per pod VLAN + 1)")
        ax.plot(df["value"], df["ovs_mac_entries_per_node"], marker="o", label="needed")
        ax.axhline(limits.ovs_mac_table, color="red", linestyle="--", label=f"mac-table-size {limits.ovs_mac_table:,}")
        ax.axhline(2048, color="orange", linestyle=":", label="2,048 (OVS < 2.10)")
        ax.axvline(limits.max_pods, color="gray", linestyle="-.", label=f"Kubernetes max pods {limits.max_pods} (pods/node)")
        ax.axvline(limits.vlan_tags, color="purple", linestyle="--", label=f"VLAN tags {limits.vlan_tags} (pods/node)")
        ax.legend(fontsize=7)
        files.append(out / f"{sweep}-limits.png")
        fig.tight_layout()
        fig.savefig(files[-1])
        plt.close(fig)

    if "max_per_pod_pps" in ok and ok["max_per_pod_pps"].replace(np.inf, np.nan).notna().any():
        fig, ax = axes(f"Headroom: the per-pod rate at which the first device saturates, vs {param}",
                       "packets/s a pod (log)")
        ax.plot(ok["value"], ok["max_per_pod_pps"], marker="o", label="saturation (the bottleneck's)")
        asked = df.attrs.get("run", {}).get("per_pod_pps")
        if asked:
            ax.axhline(asked, color="red", linestyle="--", label=f"offered: {asked:,g} packets/s a pod")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        files.append(out / f"{sweep}-headroom.png")
        fig.tight_layout()
        fig.savefig(files[-1])
        plt.close(fig)

    shown = [(name, head) for _, name, head in UTIL_CLASSES if name in ok and ok[name].notna().any()]
    asked = df.attrs.get("run", {}).get("per_pod_pps")
    if asked and shown:
        fig, ax = axes(f"Utilisation of the busiest device of each class at {asked:,g} packets/s a pod, vs {param}",
                       "utilisation (%)")
        for name, head in shown:
            ax.plot(ok["value"], 100 * ok[name], marker="o", label=head)
        ax.axhline(100, color="red", linestyle="--", label="saturation (100%)")
        ax.legend(fontsize=7)
        files.append(out / f"{sweep}-utilisation.png")
        fig.tight_layout()
        fig.savefig(files[-1])
        plt.close(fig)

    if ok["pps"].gt(0).any():
        fig, ax = axes(f"fastpath engine speed (the simulator, not the network) vs {param}",
                       "simulated M packets/s (one core)")
        ax.plot(ok["value"], ok["pps"] / 1e6, marker="o")
        ax.set_ylim(bottom=0)
        files.append(out / f"{sweep}-engine-speed.png")
        fig.tight_layout()
        fig.savefig(files[-1])
        plt.close(fig)

    files.append(out / "summary.md")
    files[-1].write_text(summary_markdown(df, sweep, limits))
    return files


__all__ = ["check_study", "point_cluster", "smallest_point", "SWEEPS", "DEFAULT_VALUES", "BASE", "Limits", "Point", "run_point", "run_study", "first_crossing",
           "summary_markdown", "write_outputs"]
