"""``fastpath``: thin commands over the library.

Errors in what the user gave (a spec, a name, an option) print one line on stderr and exit 2;
no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from .cli_params import MAX_OFFERED_MPPS, SEED, THREADS, Finite, Group, Output
from .limits import MAX_PACKETS, MAX_STUDY_POINTS, MAX_WORKERS
from .model import Cluster, SpecError, default_scenario, dump, from_spec, generate, load
from .model.addressing import ip_from_str, ip_to_str, mac_from_str
from .model.cluster import PROTO_NUMBERS
from .reference import Result, trace as trace_packet

SEED_SOURCE = "kube-system/kube-dns"
SEED_DESTINATION = "worker-2"


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"fastpath: error: {self.message}", err=True)


def _cluster(path: str | None, gen: str | None = None) -> Cluster:
    if path is not None and gen is not None:
        raise UserError("--cluster and --generate exclude each other")
    if gen is not None:
        try:
            return _generated(gen)
        except SpecError as exc:
            raise UserError(f"--generate {gen}: {exc}") from None
    try:
        if path is None:
            return default_scenario()
        return load(path)
    except SpecError as exc:
        raise UserError(str(exc)) from None


def _generated(text: str) -> Cluster:
    """``HOSTSxNODESxPODS[xNAMESPACES]`` -> `generate` (e.g. 1000x4x250x200: 1M pods)."""
    try:
        parts = [int(x) for x in text.lower().split("x")]
        if len(parts) not in (3, 4):
            raise ValueError
    except ValueError:
        raise UserError(f"--generate: {text!r} is not HOSTSxNODESxPODS[xNAMESPACES] (e.g. 1000x4x250x200)") from None
    hosts, nodes, pods = parts[:3]
    namespaces = parts[3] if len(parts) == 4 else max(1, min(200, hosts * nodes))
    return generate(hosts, nodes, namespaces, pods)


def _profile(c: Cluster, name: str | None):
    """The traffic profile called ``name`` (the spec's or a built-in), None for none."""
    if not name:
        return None
    from .traffic import profile_by_name

    try:
        return profile_by_name(c, name)
    except KeyError as exc:
        raise UserError(exc.args[0] if exc.args else str(exc)) from None
    except ValueError as exc:  # a spec's profile the traffic model cannot make
        raise UserError(f"--profile {name}: {exc}") from None


def _proto(value: str) -> int:
    v = value.lower()
    if v in PROTO_NUMBERS:
        return PROTO_NUMBERS[v]
    if v.isdigit() and 0 <= int(v) <= 255:
        return int(v)
    raise UserError(f"--proto: {value!r} is not tcp, udp, icmp, any or a number 0..255")


# ---- rendering ----------------------------------------------------------------------------------
def _console() -> Console:
    """stdout for people: on a terminal rich fits it to the width; into a pipe or a file no line
    is wrapped (a field cut over two lines breaks every grep and awk downstream)."""
    probe = Console()
    return probe if probe.is_terminal else Console(soft_wrap=True, width=10_000)


def render_traceroute(console: Console, src: str, dst: str, res: Result, ttl: int) -> None:
    console.print(f"[bold]traceroute {src} -> {dst}[/bold]  (TTL {ttl})")
    for n, (ip, dev) in enumerate(zip(res.traceroute, res.traceroute_devices), 1):
        console.print(f"  {n:>2}  {ip_to_str(ip):<16} {dev}")
    why = f" ({res.reason.label})" if res.reason.label else ""
    tunnels = ", ".join(f"{x.src_host}->{x.dst_host} vni {x.vni}" for x in res.tunnels) or "none"
    console.print(f"  [bold]{res.verdict.label}{why}[/bold] at {res.device} ({res.device_kind.label}); "
                  f"TTL {ttl} in, {res.ttl_out} out; tunnels: {tunnels}")


def render_walk(console: Console, res: Result) -> None:
    """One line per hop (device, table, key -> result, TTL), the headers beneath it."""
    console.print("[bold]walk[/bold]")
    for i, h in enumerate(res.hops, 1):
        what = f"{h.table}: {h.key} -> {h.result}" if h.table else h.result
        console.print(f"  {i:>2}  [cyan]{h.device}[/cyan] ({h.kind.label})  {what}  [dim]ttl {h.ttl}[/dim]",
                      highlight=False)
        hd = h.headers
        line = f"eth {hd['eth_src'] or '-'} > {hd['eth_dst'] or '-'}" + (f" vlan {hd['vlan']}" if hd["vlan"] else "")
        line += f"  ip {hd['ip_src']} > {hd['ip_dst']} proto {hd['proto']} len {hd['ip_len']}"
        if "outer" in hd:
            o = hd["outer"]
            line += (f"\n        geneve {o['src_tep']} > {o['dst_tep']} udp/{o['udp_dport']} vni {o['vni']}"
                     f" outer ip len {o['outer_ip_len']}, frame {o['outer_frame']}")
        console.print(f"        [dim]{line}[/dim]", highlight=False)


def render_cluster(console: Console, c: Cluster, max_pods: int = 12) -> None:
    s = c.summary()
    root = Tree(f"[bold]{s['name']}[/bold]: {s['hosts']} hosts, {s['edges']} edges, {s['nodes']} nodes, "
                f"{s['namespaces']} namespaces, {s['pods']} pods, {s['routers']} routers")
    by_host = {h.name: root.add(f"{'edge' if h.edge else 'host'} {h.name}  TEP {ip_to_str(h.tep)}  MTU {h.mtu}")
               for h in c.hosts[:8]}
    for n in c.nodes[:16]:
        if n.host not in by_host:
            continue
        rows = c.pods_on_node(n.name)
        br = by_host[n.host].add(f"node {n.name} ({n.role})  {ip_to_str(n.ip)}  {len(rows)} pods")
        for i in rows[:max_pods]:
            p = c.pods[int(i)]
            br.add(f"{p.key}  {ip_to_str(p.ip)}  vlan {p.vlan}")
        if len(rows) > max_pods:
            br.add(f"... {len(rows) - max_pods} more")
    for h in c.hosts:
        if h.edge and h.name in by_host:
            srs = [r.name for r in (*c.t1s, c.t0) if r.edge == h.name]
            by_host[h.name].add("service routers: " + (", ".join(srs) or "none"))
    console.print(root)
    t = Table(title="segments and routers", title_justify="left", box=None)
    for col in ("segment", "subnet", "VNI", "T1", "router link (T0 / T1)"):
        t.add_column(col)
    for seg, r in list(zip(c.segments, c.t1s))[:12]:
        t.add_row(seg.name, str(seg.subnet), str(seg.vni), r.name + (f" (SR on {r.edge})" if r.edge else ""),
                  f"{ip_to_str(r.link_t0_ip)} / {ip_to_str(r.link_t1_ip)}")
    console.print(t)
    ups = ", ".join(f"{u.name} {ip_to_str(u.ip)}/{u.prefixlen} via {ip_to_str(u.next_hop)}" for u in c.uplinks)
    console.print(f"{c.t0.name}: " + (f"SR on {c.t0.edge}, " if c.t0.edge else "") + f"uplinks {ups or 'none'}; "
                  f"router MAC {':'.join(f'{(c.settings.router_mac >> s) & 255:02x}' for s in range(40, -8, -8))}")
    pols = getattr(c, "networkpolicies", ())
    console.print(f"dfw: {len(c.dfw_rules)} admin rule(s), default {c.dfw_default}; {len(pols)} NetworkPolic"
                  f"{'y' if len(pols) == 1 else 'ies'}" + (f" in {len({p.namespace for p in pols})} namespace(s)"
                                                            if pols else ""))


# ---- commands ----------------------------------------------------------------------------------
@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastpath")
def main() -> None:
    """fastpath: forwarding-plane engine for Kubernetes overlay scale studies."""


@main.command()
@click.argument("src")
@click.argument("dst")
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file (YAML/JSON); default: the built-in seed scenario.")
@click.option("--ttl", type=click.IntRange(0, 255), default=64, show_default=True)
@click.option("--proto", default="udp", show_default=True, help="tcp, udp, icmp or a number.")
@click.option("--sport", type=click.IntRange(0, 65535), default=33434, show_default=True)
@click.option("--dport", type=click.IntRange(0, 65535), default=33434, show_default=True)
@click.option("--size", type=click.IntRange(0, 65535), default=100, show_default=True, help="IPv4 total length, bytes.")
@click.option("--src-ip", help="Send from this IP instead of the source's own (SpoofGuard).")
@click.option("--src-mac", help="Send from this MAC instead of the source's own (SpoofGuard).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--reply", is_flag=True, help="Walk the connection's reply (DST answers SRC, ports swapped): "
              "the stateful DFW passes it iff the connection was allowed.")
@click.option("--pcap", type=Output(), help="Also write the packet's frame on every wire it crossed, "
              "in order, to this pcap (none, when it never left the sender).")
@click.option("--svg", type=Output(), help="Also draw the walk to this SVG file: a box per device, an arrow per hop "
              "labelled with its VLAN tag, VNI, TTL and rewrites, the drop in red.")
@click.option("--html", type=Output(), help="Also write the walk as one self-contained HTML page: the diagram, the hops, "
              "and with --pcap a replay of the pcap's frames beside it.")
def trace(src, dst, cluster_file, ttl, proto, sport, dport, size, src_ip, src_mac, as_json, reply, pcap, svg, html):
    """Walk one packet from SRC (pod ns/name, node, uplink) to DST (IP, pod, node, or svc/NS/NAME: a Service's cluster IP)."""
    for opt, value, parse in (("--src-mac", src_mac, mac_from_str), ("--src-ip", src_ip, ip_from_str)):
        try:
            if value:
                parse(value)
        except ValueError as exc:
            raise UserError(f"{opt}: {exc}") from None
    c = _cluster(cluster_file)
    try:
        mac = mac_from_str(src_mac) if src_mac else None
        res = trace_packet(c, src, dst, ttl=ttl, proto=_proto(proto), sport=sport, dport=dport, size=size,
                           src_ip=src_ip, src_mac=mac, reply=reply)
        wires = _write_walk(c, src, dst, pcap, ttl=ttl, proto=_proto(proto), sport=sport, dport=dport, size=size,
                            src_ip=src_ip, src_mac=mac, reply=reply) if pcap else None
    except (LookupError, ValueError) as exc:
        raise UserError(exc.args[0] if exc.args else str(exc)) from None
    except OSError as exc:
        raise UserError(f"--pcap {pcap}: {exc.strerror or exc}") from None
    if wires is not None:
        click.echo(walk_pcap_line(pcap, wires, res), err=as_json)
    for line in _write_walk_pictures(res, *((dst, src) if reply else (src, dst)), ttl, svg, html, pcap, wires):
        click.echo(line, err=as_json)
    if as_json:
        out = {"src": src, "dst": dst, "ttl_in": ttl, "reply": reply, **res.as_dict()}
        click.echo(json.dumps(out, indent=1))
        return
    console = _console()
    render_traceroute(console, *((dst, src) if reply else (src, dst)), res, ttl)
    render_walk(console, res)


@main.command()
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file (YAML/JSON); default: the built-in seed scenario.")
@click.option("--proto", type=click.Choice(["tcp", "udp", "sctp"]), default="tcp", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=80, show_default=True, help="Destination port.")
@click.option("--from", "src", metavar="NS[/POD]", help="Sources: a namespace's pods or one pod (default: every pod).")
@click.option("--to", "dst", metavar="NS[/POD]", help="Destinations: a namespace's pods or one pod (default: every pod).")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"proto", "port", "pairs": [...]}.')
def reach(cluster_file, proto, port, src, dst, as_json):
    """Which pods may open a connection to which (NetworkPolicy and the DFW, computed by the fast path).

    Sources are rows, destinations columns: '.' allowed, 'X' blocked, '-' the pod itself."""
    from .analysis.reach import reach as reach_matrix

    c = _cluster(cluster_file)
    try:
        m = reach_matrix(c, proto, port, src, dst)
    except (LookupError, ValueError) as exc:
        raise UserError(exc.args[0] if exc.args else str(exc)) from None
    if as_json:
        click.echo(json.dumps(m.as_dict(), indent=1))
        return
    click.echo(f"{proto}/{port}: {m.n_allowed} of {m.n_pairs} pod pairs may connect")
    click.echo(m.table())


def walk_pcap_line(path: str, wires: list[str], res: Result) -> str:
    """What `_write_walk` wrote, and where the packet's walk ended: a walk that crossed no
    tunnel, or never left its sender, is an answer too (a pcap of fewer frames, or of none)."""
    why = f", {res.reason.label}," if res.reason.label else ""
    end = f"{res.verdict.label}{why} at {res.device}"
    if not wires:
        return f"wrote no frames to {path} (an empty pcap): the packet never left the sender ({end})"
    return (f"wrote {len(wires)} frame{'s' * (len(wires) > 1)} to {path}: {' -> '.join(wires)} "
            f"({'no tunnel crossed; ' if 'underlay' not in wires else ''}{end})")


def _write_walk(c: Cluster, src: str, dst: str, path: str, **packet) -> list[str]:
    """Write one packet's frames on every wire of its walk to a pcap (those it produced: none
    when it never left the sender); the wires, in order."""
    import numpy as np

    from .dataplane import Dataplane
    from .reference.batch import batch_of
    from .reference.endpoints import connection_packet
    from .wire.capture import START_NS
    from .wire.codec import encode
    from .wire.observe import walk_frames
    from .wire.pcap import PcapWriter

    ingress, pkt = connection_packet(c, src, dst, **packet)
    dp = Dataplane(c)
    b = batch_of(ingress, pkt)
    wires, frames = walk_frames(c, dp.tables, b, dp.forward(b, legs=True))
    buf, off = encode(frames)
    with PcapWriter(path) as w:
        w.write(buf, off, START_NS + np.arange(frames.size, dtype=np.int64) * 1000)
    return wires


def _write_walk_pictures(res: Result, src: str, dst: str, ttl: int, svg: str | None, html: str | None,
                         pcap: str | None = None, wires: list[str] | None = None) -> list[str]:
    """Draw the walk to ``svg`` and/or a page ``html`` (with a replay of ``pcap``'s frames when
    it was written: ``wires`` its frames' wires); the lines saying what was written where."""
    import shlex

    from .analysis.diagram import build, pcap_frames, to_svg, walk_caption, walk_html

    said = []
    try:
        if svg:
            d = build(res, caption=walk_caption(src, dst, res, ttl))
            Path(svg).write_text(to_svg(d), encoding="utf-8")
            said.append(f"wrote the walk's diagram to {svg} ({len(d.boxes)} boxes, {len(d.arrows)} arrows)")
        if html:
            frames = pcap_frames(pcap, wires) if pcap and wires is not None else None
            command = "fastpath " + shlex.join(sys.argv[1:])
            Path(html).write_text(walk_html(res, src=src, dst=dst, ttl=ttl, command=command, frames=frames,
                                            pcap=pcap or ""), encoding="utf-8")
            replay = f", {len(frames)} frames of {pcap} to replay beside it" if frames is not None else ""
            said.append(f"wrote the walk's page to {html} (the diagram and its hops{replay}): open it in a browser")
    except OSError as exc:
        raise UserError(f"{exc.filename or svg or html}: {exc.strerror or exc}") from None
    return said


def render_run(console: Console, rep) -> None:
    d = rep.as_dict()
    console.print(f"[bold]{d['packets']:,} packets[/bold] in, {rep.threads} thread(s): "
                  f"{d['pps'] / 1e6:.2f} M packets/s ({d['pps_per_thread'] / 1e6:.2f} M/s per thread), "
                  f"forwarding {d['forward_seconds']:.3f} s, traffic generation {d['generate_seconds']:.3f} s")
    for name, n in d["verdicts"].items():
        console.print(f"  {name:<10} {n:>14,}  {n / max(d['packets'], 1):7.2%}")
    for name, n in d["reasons"].items():
        console.print(f"    {name:<18} {n:>12,}")
    console.print(f"  tunnels crossed {d['tunnels']:,}; underlay bytes {d['underlay_bytes']:,}")
    dfw = [x for x in d.get("dfw", []) if x["decision"] != "default"]
    if dfw:  # what decided, beyond the default: rules, policies, isolations (evaluations, most first)
        console.print("  DFW decisions (at the sender's port / at the receiver's):")
        for x in sorted(dfw, key=lambda x: -(x["at_sender"] + x["at_receiver"]))[:12]:
            console.print(f"    {x['decision']:<40} {x['at_sender']:>12,} {x['at_receiver']:>12,}")
        if len(dfw) > 12:
            console.print(f"    ... {len(dfw) - 12} more (--json lists them all)")
    if "engine" in d:
        fc = d["flow_cache"]
        cache = f"flow cache {fc['hit_share']:.1%} hits" if fc["on"] else "no flow cache"
        console.print(f"  engine {d['engine']}, {cache} (the simulator's own speed, not the modeled network's)")


# ---- --fail: the same traffic through the cluster with devices failed (fastpath.model.failure) ------
FAIL_HELP = ("Fail an edge, a host or a T0 uplink by name (repeatable): the same seeded traffic runs through the "
             "cluster and the failed one, and the answer is the what-if diff (flows by change, the load moved, "
             "the bottleneck before and after).")


def _failure(c: Cluster, devices):
    from .model.failure import fail

    try:
        return fail(c, devices)
    except SpecError as exc:
        raise UserError(f"--{exc}") from None


def study_fail_preflight(sweep, vals, base, limits, devices, seed, spec=None) -> None:
    """Refuse a device the study's clusters lack (checked on the cheapest point), before any work."""
    from .analysis.study import point_cluster, smallest_point
    from .model.failure import check_devices

    try:
        first = min(vals) if spec is not None else smallest_point(sweep, vals, base)
        c = point_cluster(sweep, first, base=base, limits=limits, seed=seed, spec=spec)
    except SpecError:
        return  # the model refuses that point: the study records it
    try:
        check_devices(c, devices)
    except SpecError as exc:
        raise UserError(f"--{exc}") from None


def run_failed(c: Cluster, devices, prof, profile_name, *, packets, threads, seed, length, offered_mpps, as_json,
               quiet, engine, flow_cache) -> None:
    """`fastpath run --fail`: `fastpath.analysis.diff` of the cluster and the failed cluster."""
    f = _failure(c, devices)
    if prof is None:  # run's default traffic: uniform pod-to-pod of --length bytes
        from .traffic.profiles import Uniform
        from .traffic.sizes import fixed

        prof = Uniform(name="uniform", sizes=fixed(length))
    else:
        try:  # a profile the cluster cannot send (hot_dns without kube-dns), refused before any work
            prof.maker(c, seed)
        except ValueError as exc:
            raise UserError(f"--profile {profile_name}: {exc}") from None
    from . import progress as bars
    from .analysis.diff import diff
    from .dataplane import Dataplane

    dps = (Dataplane(c, engine=engine, flow_cache=flow_cache), Dataplane(f.after, engine=engine, flow_cache=flow_cache))
    try:
        with bars.packets(packets, "run --fail", quiet=quiet) as advance:
            d = diff(c, f.after, profile=prof, packets=packets, seed=seed, threads=threads,
                     offered_pps=offered_mpps * 1e6 if offered_mpps is not None else None, changes=f.changes,
                     change_text=f.text, dataplanes=dps, progress=advance)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        out = d.to_json()
        out.update(failed=list(f.devices), moved={k: list(v) for k, v in f.moved.items()}, lost=f.lost,
                   removed=f.removed, clusters={"before": c.summary(), "after": f.after.summary()},
                   provenance=_provenance())
        click.echo(json.dumps(out))
        return
    click.echo(d.to_text())


@main.command()
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file; default: the seed scenario.")
@click.option("--generate", "gen", metavar="HxNxP[xNS]", help="A generated cluster instead: hosts x nodes/host x pods/node [x namespaces].")
@click.option("--packets", type=click.IntRange(1, MAX_PACKETS), default=1_000_000, show_default=True)
@click.option("--threads", type=THREADS, default=1, show_default=True,
              help="Forwarding threads (workers); more than the cores is allowed and only shares them.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--length", type=click.IntRange(28, 65535), default=100, show_default=True, help="IPv4 total length, bytes.")
@click.option("--profile", help="A traffic profile by name (the spec's or a built-in: uniform, locality, east_west, "
              "north_south, hot_service, hot_dns); default: uniform pod-to-pod of --length bytes.")
@click.option("--report", is_flag=True, help="Add the load report (per-device loads, utilisation, bottleneck).")
@click.option("--offered-mpps", type=Finite(min=0, min_open=True, max=MAX_OFFERED_MPPS),
              help="Offered load the report scales the run to (M packets/s, cluster-wide); default: the profile's, else 1.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--scheduler", metavar="ADDRESS", help="Run the chunks on this Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), help="Run the chunks on a local Dask cluster of N 1-thread processes.")
@click.option("--quiet", is_flag=True, help="No progress display (also off when stderr is not a terminal).")
@click.option("--engine", type=click.Choice(["staged", "fused"]), default=None,
              help="The data path's implementation: the stages over vectors (with the flow cache) or the fused "
              "per-packet loop; default: staged. Answers are identical; only the simulator's speed differs.")
@click.option("--no-flow-cache", is_flag=True, help="Walk every packet through the stages (measure distinct-flow speed).")
@click.option("--fail", "fail_devices", multiple=True, metavar="DEVICE", help=FAIL_HELP)
def run(cluster_file, gen, packets, threads, seed, length, profile, report, offered_mpps, as_json, scheduler, workers,
        quiet, engine, no_flow_cache, fail_devices):
    """Push N packets of a traffic profile (default uniform pod-to-pod) through the cluster, in chunks."""
    if scheduler is not None and workers is not None:
        raise UserError("--scheduler and --workers exclude each other")
    if (scheduler is not None or workers is not None) and (engine is not None or no_flow_cache):
        raise UserError("--engine and --no-flow-cache apply to local runs, not with --scheduler or --workers")
    if fail_devices and (scheduler is not None or workers is not None):
        raise UserError("--fail runs locally (the same traffic through the cluster and the failed one), "
                        "not with --scheduler or --workers")

    c = _cluster(cluster_file, gen)
    if len(c.pods) == 0:
        raise UserError("the cluster has no pods to send between")
    prof = _profile(c, profile)
    if fail_devices:
        return run_failed(c, fail_devices, prof, profile, packets=packets, threads=threads, seed=seed, length=length,
                          offered_mpps=offered_mpps, as_json=as_json, quiet=quiet, engine=engine,
                          flow_cache=not no_flow_cache)
    from .dataplane import Dataplane  # the engine's imports after the checks: a refusal costs no second
    from .scaleout import executor

    distributed = scheduler is not None or workers is not None
    # the workers compile their own; the client compiles only for the load report's tables
    dp = Dataplane(c, engine=engine, flow_cache=not no_flow_cache) if report or not distributed else None
    acc = None
    if report:
        from .analysis.report import ReportAccumulator

        acc = ReportAccumulator(c, dp.tables)
    from . import progress as bars

    try:
        with executor(scheduler, workers) as ex, bars.packets(packets, "run", quiet=quiet) as advance:
            if prof is None:
                rep = ex.run_uniform(c, packets, threads=threads, seed=seed, length=length, dataplane=dp,
                                     accumulator=acc, progress=advance)
            else:
                rep = ex.run_profile(c, prof, packets, threads=threads, seed=seed, dataplane=dp, accumulator=acc,
                                     progress=advance)
    except ValueError as exc:  # a profile this cluster cannot send (e.g. hot_dns without kube-dns)
        raise UserError(f"--profile {profile}: {exc}" if profile else str(exc)) from None
    except OSError as exc:  # the scheduler is not there
        raise UserError(f"--scheduler {scheduler}: {exc}") from None
    if offered_mpps is None:
        offered_mpps = prof.offered_mpps if prof is not None else 1.0
    load = acc.report(offered_pps=offered_mpps * 1e6) if acc is not None else None
    if as_json:
        out = rep.as_dict()
        if load is not None:
            out["report"] = load.to_json(top=50)
        out.update(cluster=c.summary(), provenance=_provenance())  # for `fastpath report --html`
        click.echo(json.dumps(out))
        return
    console = _console()
    render_run(console, rep)
    if load is not None:
        console.print()
        console.print(load.to_text(), highlight=False)


@main.command()
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file; default: the seed scenario.")
@click.option("--packets", type=click.IntRange(1, MAX_PACKETS), default=4_000_000, show_default=True,
              help="Packets in the run.")
@click.option("--out", type=Output(directory=True), default="fastpath-demo", show_default=True,
              help="Where the demo writes the seed walk's pcap and the small study's CSV, plots and summary.")
def demo(cluster_file, packets, out):
    """The main job: the cluster at a glance, the seed's traceroute and its frames on every wire
    (a pcap), a run of a few million packets with its load report, and a small pods-per-node
    study with its plots."""
    c = _cluster(cluster_file)
    console = _console()
    render_cluster(console, c)
    console.print()
    Path(out).mkdir(parents=True, exist_ok=True)
    if len(c.pods) == 0:
        console.print("no pods: no packet to walk, no seed-walk pcap")
    else:  # the seed's walk: kube-dns (else the first pod) to worker-2 (else another node, else its own)
        src = SEED_SOURCE if SEED_SOURCE in c.pod_index else f"{c.pods[0].namespace}/{c.pods[0].name}"
        src_node = c.pods[c.pod_index[src]].node
        dst = SEED_DESTINATION if SEED_DESTINATION in c.node_index and SEED_DESTINATION != src_node else \
            next((n.name for n in c.nodes if n.name != src_node), src_node)
        res = trace_packet(c, src, dst)
        render_traceroute(console, src, dst, res, 64)
        render_walk(console, res)
        walk_pcap = Path(out) / "seed-walk.pcap"
        wires = _write_walk(c, src, dst, str(walk_pcap), ttl=64, proto=17, sport=33434, dport=33434, size=100,
                            src_ip=None, src_mac=None)
        tip = f" (try: tshark -r {walk_pcap} -V)" if wires else ""
        console.print(walk_pcap_line(str(walk_pcap), wires, res) + tip, highlight=False)
        for line in _write_walk_pictures(res, src, dst, 64, None, str(Path(out) / "seed-walk.html"), str(walk_pcap),
                                         wires):
            console.print(line, highlight=False)
    if len(c.pods):
        from .analysis.report import ReportAccumulator
        from .dataplane import Dataplane
        from .dataplane.runner import run_uniform

        console.print()
        console.print("[bold]run[/bold]: uniformly random pod -> pod packets through the fast path")
        dp = Dataplane(c)
        acc = ReportAccumulator(c, dp.tables)
        ran = run_uniform(c, packets, dataplane=dp, accumulator=acc)
        render_run(console, ran)
        console.print()
        load = acc.report(offered_pps=1e6)
        console.print(load.to_text(), highlight=False)
        run_json = {**ran.as_dict(), "report": load.to_json(top=50), "cluster": c.summary()}

    from .analysis.study import run_study, write_outputs

    console.print()
    console.print("[bold]study[/bold]: pods per node 10 -> 4,000 on 10 hosts x 4 nodes, 200,000 packets a point")
    df = run_study("pods-per-node", [10, 110, 250, 1000, 4000], packets=200_000)
    files = write_outputs(df, "pods-per-node", out)
    from rich.markdown import Markdown

    summary = (Path(out) / "summary.md").read_text()
    console.print(Markdown(summary) if console.is_terminal else summary, highlight=False, markup=False)
    console.print("wrote " + ", ".join(str(f) for f in files), highlight=False)
    page = _demo_report(out, run_json if len(c.pods) else None)
    console.print(f"wrote {page} (open it in a browser)", highlight=False)


@main.command()
@click.argument("sweep", type=click.Choice(["pods-per-node", "nodes", "namespaces", "rules"]))
@click.option("--values", help="Comma-separated values to sweep (default: the study's own).")
@click.option("--out", type=Output(directory=True), required=True, help="Directory for CSV, Parquet, PNG, summary.md.")
@click.option("--packets", type=click.IntRange(0, MAX_PACKETS), default=1_000_000, show_default=True, help="Packets per point (0: tables and limits only).")
@click.option("--base", "base_args", help="Other generator arguments, e.g. hosts=20,nodes_per_host=4,namespaces=50,"
              "edges=2,service_t1_count=10,dfw_rules=100,mtu=9000,placement=packed.")
@click.option("--cluster", "cluster_file", type=click.Path(), help="Study this spec file's cluster instead of a generated "
              "one (pods-per-node only): its hosts, nodes, namespaces, policies, Services and capacity, its pods re-made N a node.")
@click.option("--ovs-mac-table-size", type=click.IntRange(1), default=8192, show_default=True, help="OVS other_config:mac-table-size (2048 before OVS 2.10).")
@click.option("--max-pods", type=click.IntRange(1), default=110, show_default=True, help="Kubernetes max pods per node.")
@click.option("--profile", help="Traffic profile of each point's run (default: uniform pod-to-pod).")
@click.option("--per-pod-pps", type=Finite(0.0, min_open=True), default=None,
              help="Offered load, packets a second from each pod: each device class's utilisation at it (the "
                   "bottleneck and the per-pod rate at which it saturates are reported either way).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress display (also off when stderr is not a terminal).")
@click.option("--scheduler", metavar="ADDRESS", help="Run the points on this Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), help="Run the points on a local Dask cluster of N 1-thread processes.")
@click.option("--fail", "fail_devices", multiple=True, metavar="DEVICE",
              help="Fail an edge, a host or a T0 uplink of every point (repeatable, e.g. edge-1, esx-2, uplink-1): "
                   "each point's load figures are the failed cluster's, with fail_* columns (SRs moved and lost, "
                   "the share of packets changed and lost, the bottleneck before).")
def study(sweep, values, out, packets, base_args, cluster_file, ovs_mac_table_size, max_pods, profile, per_pod_pps, seed,
          quiet, scheduler, workers, fail_devices):
    """Sweep one parameter of a generated cluster (or the pods per node of a spec file's): tables,
    limits, the load each point's devices carry (the bottleneck, the per-pod rate it saturates at),
    and the simulator's own speed apart."""
    from .analysis.study import BASE, DEFAULT_VALUES, Limits, check_study, write_outputs

    if scheduler is not None and workers is not None:
        raise UserError("--scheduler and --workers exclude each other")

    vals = _int_list("--values", values) if values is not None else list(DEFAULT_VALUES[sweep])
    base = {}
    for item in (base_args.split(",") if base_args is not None else []):
        key, _, val = (x.strip() for x in item.partition("="))
        if key in base:
            raise UserError(f"--base: {key} is given twice")
        if key == "placement" and val in ("spread", "packed"):
            base[key] = val
            continue
        if key not in BASE or key == "placement" or not _is_int(val) or len(val) > 13:
            raise UserError(f"--base: {item!r} is not NAME=INT with NAME one of "
                            f"{', '.join(k for k in BASE if k != 'placement')}, or placement=spread|packed")
        base[key] = int(val)
    spec = None
    if cluster_file is not None:
        from .model.specfile import read_spec

        try:
            spec = read_spec(cluster_file)
        except SpecError as exc:
            raise UserError(str(exc)) from None
    try:
        vals = check_study(sweep, vals, base, spec)
    except SpecError as exc:
        if exc.path in ("values", "base", "cluster"):
            raise UserError(f"--{exc.path}: {exc.message}") from None
        raise UserError(f"--cluster {cluster_file}: {exc}") from None
    limits = Limits(ovs_mac_table=ovs_mac_table_size, max_pods=max_pods)
    if profile:
        from .traffic import profile_names

        names = profile_names(from_spec(spec)) if spec is not None else profile_names()  # (the spec: checked above)
        if profile not in names:
            raise UserError(f"--profile: {profile!r} is not a built-in profile" + (" or the file's" if spec else "")
                            + f" ({', '.join(names)})")
        _study_profile_preflight(sweep, vals, base, limits, profile, seed, spec)
    if fail_devices:
        study_fail_preflight(sweep, vals, base, limits, fail_devices, seed, spec)
    forward = None
    if profile:
        from .dataplane.runner import run_profile
        from .traffic import profile_by_name

        def forward(cluster, dataplane, n, s, acc=None):
            return run_profile(cluster, profile_by_name(cluster, profile), n, seed=s, dataplane=dataplane,
                               accumulator=acc)

    from . import progress as bars
    from .scaleout import executor

    try:
        with executor(scheduler, workers) as ex, bars.points(len(vals), f"study {sweep}", quiet=quiet) as done:
            df = ex.run_study(sweep, vals, base=base, packets=packets, limits=limits, seed=seed, forward=forward,
                              progress=done, per_pod_pps=per_pod_pps, spec=spec,
                              spec_name=Path(cluster_file).name if cluster_file else None,
                              **({"fail": tuple(fail_devices), "profile": profile} if fail_devices else {}))
    except ValueError as exc:  # a profile a generated cluster cannot send (hot_dns: no kube-dns)
        raise UserError(f"--profile {profile}: {exc}" if profile else str(exc)) from None
    except OSError as exc:  # the scheduler is not there
        raise UserError(f"--scheduler {scheduler}: {exc}") from None
    df.attrs.setdefault("run", {})["traffic"] = (f"profile {profile}" if profile else "uniform pod-to-pod") + \
        (f", with {', '.join(fail_devices)} failed" if fail_devices else "")
    files = write_outputs(df, sweep, out, limits)
    files.append(_write_provenance(out, limits=vars(limits), base=df.attrs.get("base")))  # for `fastpath report --html`
    click.echo((Path(out) / "summary.md").read_text())
    click.echo("wrote " + ", ".join(str(f) for f in files))


@main.command()
@click.option("--at", "point", type=click.Choice(["pod", "uplink", "underlay", "edge"]), required=True,
              help="The wire: pods' eth0, node trunks (802.1Q), the underlay (Geneve), the T0 uplinks.")
@click.option("--out", type=Output(), required=True, help="pcap file to write.")
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file; default: the seed scenario.")
@click.option("--generate", "gen", metavar="HxNxP[xNS]", help="A generated cluster instead: hosts x nodes/host x pods/node [x namespaces].")
@click.option("--packets", type=click.IntRange(1, MAX_PACKETS), default=10_000, show_default=True,
              help="Packets of the run.")
@click.option("--profile", help="A traffic profile by name; default: uniform pod-to-pod, 100 bytes.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--threads", type=THREADS, default=1, show_default=True,
              help="Forwarding threads (workers); more than the cores is allowed and only shares them.")
@click.option("--nanosecond", is_flag=True, help="Write the nanosecond pcap variant.")
@click.option("--snaplen", type=click.IntRange(64, 262144), default=262144, show_default=True, help="Cut frames to this many bytes.")
@click.option("--pps", type=Finite(min=0, min_open=True), default=1e6, show_default=True,
              help="Packets per second the timestamps are spaced at.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress display (also off when stderr is not a terminal).")
def capture(point, out, cluster_file, gen, packets, profile, seed, threads, nanosecond, snaplen, pps, as_json, quiet):
    """Run N packets and write what one wire carried to a pcap (exact frames: tshark reads them)."""
    from .wire.pcap import START_NS, TS_END_NS, last_stamp_ns

    if last_stamp_ns(packets, pps) >= TS_END_NS:
        raise UserError(f"--pps: {pps:g} packets/s stamps the {packets:,} packets past 2106, beyond pcap's "
                        f"32-bit seconds (give at least {(packets - 1) * 1e9 / (TS_END_NS - START_NS - 1e9):.3g})")
    c = _cluster(cluster_file, gen)
    if len(c.pods) == 0:
        raise UserError("the cluster has no pods to send between")
    prof = _profile(c, profile)
    from . import progress as bars
    from .wire.capture import capture as run_capture

    try:
        with bars.packets(packets, f"capture {point}", quiet=quiet) as advance:
            rep = run_capture(c, point, out, packets=packets, profile=prof, seed=seed, nanosecond=nanosecond,
                              snaplen=snaplen, pps=pps, threads=threads, progress=advance)
    except ValueError as exc:  # a profile this cluster cannot send
        raise UserError(f"--profile {profile}: {exc}" if profile else str(exc)) from None
    except OSError as exc:
        raise UserError(f"--out {out}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(rep.as_dict()))
        return
    click.echo(f"wrote {rep.frames:,} frames ({rep.bytes:,} bytes) seen at {point} from {rep.packets:,} packets "
               f"to {out}")
    click.echo("verdicts: " + ", ".join(f"{k} {v:,}" for k, v in rep.verdicts.items()))
    if rep.frames == 0:
        stays = "a packet to its sender's own address never leaves the pod (all a one-pod cluster sends)"
        hint = {"edge": "--profile north_south sends out of the T0 uplinks",
                "underlay": "traffic between pods on different hosts crosses it (a cluster of one host has none)",
                "pod": stays, "uplink": stays}
        click.echo(f"no packet of this run crossed the {point} wire" + (f": {hint[point]}" if point in hint else ""))


@main.command()
@click.argument("pcap", type=click.Path())
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file; default: the seed scenario.")
@click.option("--generate", "gen", metavar="HxNxP[xNS]", help="A generated cluster instead: hosts x nodes/host x pods/node [x namespaces].")
@click.option("--threads", type=THREADS, default=1, show_default=True,
              help="Forwarding threads (workers); more than the cores is allowed and only shares them.")
@click.option("--offered-mpps", type=Finite(min=0, min_open=True, max=MAX_OFFERED_MPPS), default=1.0, show_default=True,
              help="Offered load the load report scales the capture to (M packets/s).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress display (also off when stderr is not a terminal).")
@click.option("--ignore-checksums", is_flag=True, help="Forward frames whose TCP/UDP/ICMP (or Geneve outer UDP) "
              "checksum is wrong instead of counting them malformed: for captures taken with checksum offload.")
def replay(pcap, cluster_file, gen, threads, offered_mpps, as_json, quiet, ignore_checksums):
    """Push every frame of a pcap through the model; print verdicts and the load report."""
    import os
    import stat

    from .wire.pcap import PcapError, PcapReader

    try:  # the file first: a directory, a device, a pcapng or a cut header, refused before any work
        mode = os.stat(pcap).st_mode
        if stat.S_ISDIR(mode):
            raise UserError(f"{pcap}: is a directory, not a pcap file")
        if not stat.S_ISFIFO(mode):  # a pipe (`<(zcat f.pcap.gz)`) is read once, by the replay
            with PcapReader(pcap, chunk_bytes=1):
                pass
        size = os.path.getsize(pcap)
    except PcapError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{pcap}: {exc.strerror or exc}") from None
    from . import progress as bars
    from .analysis.report import ReportAccumulator
    from .dataplane import Dataplane
    from .wire.replay import replay as run_replay

    c = _cluster(cluster_file, gen)
    dp = Dataplane(c)
    acc = ReportAccumulator(c, dp.tables)
    with bars.packets(size, "replay", quiet=quiet, unit=("bytes", "MB")) as advance:
        rep = run_replay(c, pcap, dataplane=dp, threads=threads, accumulator=acc, progress=advance,
                         verify_checksums=not ignore_checksums)
    load = acc.report(offered_pps=offered_mpps * 1e6) if rep.frames else None
    if as_json:
        out = rep.as_dict()
        if load is not None:
            out["report"] = load.to_json(top=50)
        click.echo(json.dumps(out))
    else:
        console = _console()
        console.print(f"[bold]{rep.frames:,} frames[/bold] replayed from {pcap} ({rep.geneve:,} Geneve, replayed as "
                      f"their inner frames): {rep.fps / 1e6:.2f} M frames/s read, decoded and forwarded")
        for name, n in rep.verdicts.items():
            console.print(f"  {name:<10} {n:>14,}  {n / max(rep.frames, 1):7.2%}")
        for name, n in rep.reasons.items():
            console.print(f"    {name:<18} {n:>12,}")
        for cause, n in rep.malformed.items():
            console.print(f"  malformed frames, {cause}: {n:,} (first: frame {', '.join(map(str, rep.examples[cause]))})")
        if not rep.verify_checksums:
            console.print("  L4 checksums not verified (--ignore-checksums)")
        elif rep.unverified:
            console.print(f"  {rep.unverified:,} frames cut short by the capture's snaplen: their L4 checksums could "
                          "not be verified (forwarded as their headers read)")
        if load is not None:
            console.print()
            console.print(load.to_text(), highlight=False)
    if rep.error:
        raise UserError(rep.error + f" (the {rep.frames:,} frames before it were replayed)")


@main.command()
@click.argument("spec", type=click.Path())
def check(spec):
    """Validate a spec file and print what it builds; warn (on stderr) for each configuration
    maximum it crosses (fastpath.model.maxima: Kubernetes, NSX, NCP, OVS figures, with sources)."""
    from .model.maxima import check as check_maxima

    c = _cluster(spec)
    click.echo(json.dumps(c.summary()))
    for x in check_maxima(c):
        click.echo(f"warning: {x.line}", err=True)


@main.command("generate")
@click.option("--hosts", type=int, default=3, show_default=True)
@click.option("--nodes-per-host", type=int, default=2, show_default=True)
@click.option("--namespaces", type=int, default=4, show_default=True)
@click.option("--pods-per-node", type=int, default=10, show_default=True)
@click.option("--placement", type=click.Choice(["spread", "packed"]), default="spread", show_default=True)
@click.option("--edges", type=int, default=1, show_default=True)
@click.option("--service-t1-fraction", type=Finite(0.0, 1.0), default=0.0, show_default=True,
              help="Share of namespace T1s with a service router on an edge, 0..1 (rounded to a count).")
@click.option("--service-t1-count", type=int, default=None,
              help="Namespace T1s with a service router (instead of --service-t1-fraction).")
@click.option("--dfw-rules", type=int, default=0, show_default=True)
@click.option("--mtu", type=int, default=1600, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=Output(), required=True, help="Spec file to write (.json, else YAML).")
def generate_cmd(hosts, nodes_per_host, namespaces, pods_per_node, placement, edges, service_t1_fraction,
                 service_t1_count, dfw_rules, mtu, seed, out):
    """Generate a synthetic cluster and write its full spec (sizes within fastpath.limits)."""
    from .model.specfile import MAX_YAML_NODES, YAML_NODES_PER_POD

    from .limits import cluster_size_problem

    pods = hosts * nodes_per_host * pods_per_node
    if cluster_size_problem(hosts, nodes_per_host, namespaces, pods_per_node, edges, dfw_rules) is None \
            and not out.endswith(".json") and pods * YAML_NODES_PER_POD > MAX_YAML_NODES:  # (sizes: generate says)
        raise UserError(f"--out {out}: {pods:,} pods make more than {MAX_YAML_NODES:,} YAML nodes, more than a YAML "
                        "spec may hold: write it as JSON (a .json path)")
    try:
        c = generate(hosts, nodes_per_host, namespaces, pods_per_node, placement=placement, edges=edges,
                     service_t1_fraction=service_t1_fraction, service_t1_count=service_t1_count, dfw_rules=dfw_rules,
                     mtu=mtu, seed=seed)
    except SpecError as exc:  # the field path is the argument: name its option
        raise UserError(f"--{exc.path.replace('_', '-')}: {exc.message}" if exc.path else exc.message) from None
    try:
        dump(c, Path(out))
    except SpecError as exc:
        raise UserError(f"--out {out}: {exc.message}") from None
    except OSError as exc:
        raise UserError(f"--out {out}: {exc.strerror or exc}") from None
    click.echo(json.dumps(c.summary()))


# ---- fastpath import (issue 12) -----------------------------------------------------------------
MAX_IMPORT_PROBLEMS_SHOWN = 20


@main.command("import")
@click.argument("kubectl_files", metavar="KUBECTL.json|yaml...", nargs=-1, required=True, type=click.Path())
@click.option("--overlay", type=click.Path(), help="What Kubernetes does not know: hosts and their nodes, "
              "edges, T0, namespace subnets, VLAN tags (YAML/JSON; fastpath/importer/overlay.py).")
@click.option("--out", type=Output(), required=True, help="Spec file to write (.json, else YAML).")
def import_cmd(kubectl_files, overlay, out):
    """Build a spec from `kubectl get nodes,namespaces,pods,services,endpointslices,networkpolicies -A -o json`
    and an overlay (hosts, edges, T0, subnets, VLAN tags); prints what it skipped."""
    from .importer.kubectl import KubectlImportError, import_kubectl

    try:
        imported = import_kubectl(kubectl_files, overlay, out)
    except KubectlImportError as exc:
        shown = exc.problems[:MAX_IMPORT_PROBLEMS_SHOWN]
        for line in shown[:-1]:
            click.echo(f"fastpath: error: {line}", err=True)
        more = len(exc.problems) - len(shown)
        raise UserError(shown[-1] + (f"\n... and {more} more problem(s)" if more else "")) from None
    except SpecError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"--out {out}: {exc.strerror or exc}") from None
    for line in imported.skipped_lines():
        click.echo(line)
    click.echo(f"imported {imported.summary()} -> {out}")


# ---- fastpath diff: what-if (fastpath.analysis.diff, fastpath.analysis.patch) ------------------------
@main.command("diff")
@click.argument("before", type=click.Path())
@click.argument("after", type=click.Path())
@click.option("--profile", help="A traffic profile by name (BEFORE's spec or a built-in); default: uniform pod-to-pod.")
@click.option("--packets", type=click.IntRange(1, 100_000_000), default=1_000_000, show_default=True,
              help="Packets sent through both clusters (counting flows holds 8 bytes a packet: at most 100M).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--threads", type=THREADS, default=1, show_default=True,
              help="Forwarding threads (workers); more than the cores is allowed and only shares them.")
@click.option("--offered-mpps", type=Finite(min=0, min_open=True, max=MAX_OFFERED_MPPS),
              help="Offered load the load reports scale the run to (M packets/s); default: the profile's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (flows, changed, by_change, samples, "
              "load_delta, bottleneck, ...).")
@click.option("--quiet", is_flag=True, help="No progress display (also off when stderr is not a terminal).")
def diff_cmd(before, after, profile, packets, seed, threads, offered_mpps, as_json, quiet):
    """What changes from BEFORE to AFTER for the same traffic: flows grouped by change, the load delta.

    BEFORE is a spec file; AFTER a spec file or a patch of BEFORE (kind: fastpath/patch, with
    add:, remove: and set:)."""
    from .analysis.diff import diff
    from .analysis.patch import apply_patch, is_patch, spec_changes
    from .model.specfile import read_spec

    try:
        raw_before = read_spec(before)
        c_before = from_spec(raw_before)
    except SpecError as exc:
        raise UserError(str(exc) if str(exc).startswith(before) else f"{before}: {exc}") from None
    try:
        raw_after = read_spec(after)
    except SpecError as exc:
        raise UserError(str(exc)) from None
    changes = description = None
    try:
        if is_patch(raw_after):
            description = raw_after.get("description")
            raw_after = apply_patch(raw_before, raw_after, after)
            changes = spec_changes(raw_before, raw_after)
            try:
                c_after = from_spec(raw_after)
            except SpecError as exc:
                raise UserError(f"{before} patched by {after}: {exc}") from None
        else:
            c_after = from_spec(raw_after)
    except SpecError as exc:
        raise UserError(str(exc) if str(exc).startswith(after) else f"{after}: {exc}") from None
    if len(c_before.pods) == 0:
        raise UserError(f"{before}: the cluster has no pods to send from")
    prof = _profile(c_before, profile)
    if prof is not None:
        try:  # a profile BEFORE cannot send (hot_dns without kube-dns), refused before any work
            prof.maker(c_before, seed)
        except ValueError as exc:
            raise UserError(f"--profile {profile}: {exc}") from None
    from . import progress as bars

    try:
        with bars.packets(packets, "diff", quiet=quiet) as advance:
            d = diff(c_before, c_after, profile=prof, packets=packets, seed=seed, threads=threads,
                     offered_pps=offered_mpps * 1e6 if offered_mpps is not None else None, changes=changes,
                     change_text=str(description) if description else None, progress=advance)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        out = d.to_json()
        out.update(clusters={"before": c_before.summary(), "after": c_after.summary()},
                   provenance=_provenance())  # for `fastpath report --html`
        click.echo(json.dumps(out))
        return
    click.echo(d.to_text())


def _study_profile_preflight(sweep, vals, base, limits, profile, seed, spec=None) -> None:
    """Refuse a profile the study's clusters cannot send (hot_dns: generated clusters have no
    kube-dns) on its cheapest point, before the first point is built and compiled."""
    from .analysis.study import point_cluster, smallest_point
    from .traffic import profile_by_name

    try:
        first = min(vals) if spec is not None else smallest_point(sweep, vals, base)
        c = point_cluster(sweep, first, base=base, limits=limits, seed=seed, spec=spec)
    except SpecError:
        return  # the model refuses that point: the study records it
    if len(c.pods):
        try:
            profile_by_name(c, profile).maker(c, seed)
        except ValueError as exc:
            raise UserError(f"--profile {profile}: {exc}") from None


def _is_int(text: str) -> bool:
    t = text.strip()
    return t[1:].isdigit() if t[:1] in "+-" else t.isdigit()


def _int_list(option: str, text: str) -> list[int]:
    """A comma-separated list of integers (digits only: no 1e3, no 1_000), at most
    `MAX_STUDY_POINTS` of them, each at most 12 digits: the sizes are checked after."""
    items = text.split(",")
    if len(items) > MAX_STUDY_POINTS:
        raise UserError(f"{option}: {len(items)} values: more than the {MAX_STUDY_POINTS} a study runs")
    out = []
    for item in items:
        if not _is_int(item) or len(item.strip()) > 13:
            raise UserError(f"{option}: {item.strip()!r} in {text[:60]!r} is not an integer (of at most 12 digits)")
        out.append(int(item))
    return out


# ---- fastpath show: each device's table as its own CLI prints it (fastpath.analysis.views) ---------
@main.group("show")
def show_group():
    """Device views from the model: the node bridge's MAC table (fdb), the node VM's VIF (vif), a
    router's forwarding table (routes), a router's or segment's neighbors (arp); and the CPU cost
    model's figures in effect (costs)."""


def _show_command(view: str, metavar: str, short: str, doc: str):
    @show_group.command(view, help=doc, short_help=short)
    @click.argument("name", metavar=metavar)
    @click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file (YAML/JSON); default: the built-in seed scenario.")
    @click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"view", "device", ..., "rows": [...]}.')
    def command(name, cluster_file, as_json):
        from .analysis import views

        c = _cluster(cluster_file)
        try:
            v = getattr(views, view)(c, name)
        except LookupError as exc:
            raise UserError(exc.args[0]) from None
        click.echo(json.dumps(v.as_dict(), indent=1) if as_json else v.text(), nl=as_json)

    return command


_show_command("fdb", "NODE", "the node bridge's MAC table (ovs-appctl fdb/show)", "The node's OVS bridge MAC table, as `ovs-appctl fdb/show BRIDGE` prints it.")
_show_command("vif", "NODE", "the node VM's VIF and its child ports (traffic tags)", "The node VM's VIF: its own port and a child logical port per pod (traffic tag = VLAN).")
_show_command("routes", "ROUTER", "a router's forwarding table (NSX get logical-router forwarding)", "A router's forwarding table, as an NSX edge's `get logical-router <uuid> forwarding` "
              "prints it. ROUTER: a T1/T0 by name (its distributed router) or NAME-sr (its service router).")
_show_command("arp", "ROUTER|SEGMENT", "a router's neighbors or a segment's ARP table", "A router's neighbor table (`get logical-router <uuid> neighbor`) or a "
              "segment's ARP table (`get logical-switch <vni> arp-table`); SEGMENT by name or VNI.")


@show_group.command("costs", short_help="the CPU cost model's figures in effect, with their sources")
@click.option("--cluster", "cluster_file", type=click.Path(), help="Spec file (YAML/JSON); default: the built-in seed scenario.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as a JSON list.")
def show_costs(cluster_file, as_json):
    """The cost model's figures in effect for the cluster (fastpath.model.costs): per device class
    (host, node, edge) its cores, clock and the cycles of each operation; which the spec's
    capacity.cpu set, which are sourced defaults, and which are placeholders to measure."""
    from .model.costs import FIGURES, resolve_cpu

    c = _cluster(cluster_file)
    cpu = resolve_cpu(c.capacity.cpu)
    rows = [{"class": cls, "figure": name, "value": cpu.value(cls, name), "unit": f.unit,
             "status": "spec" if name in cpu.given.get(cls, {}) else "placeholder" if f.placeholder else "sourced",
             "source": f.source or "", "note": f.note}
            for cls, figs in FIGURES.items() for name, f in figs.items()]
    rows += [{"class": "device", "figure": dev, "value": n, "unit": "cores", "status": "spec", "source": "", "note": ""}
             for dev, n in cpu.cores.items()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max(len(f"{r['class']}.{r['figure']}") for r in rows)
    for r in rows:
        why = r["source"] if r["status"] == "sourced" else r["note"] if r["status"] == "placeholder" else "set by the spec"
        click.echo(f"{r['class'] + '.' + r['figure']:<{width}}  {r['value']:>8,g} {r['unit']:<6}  {r['status']:<11}  {why}")


# ---- fastpath report: one self-contained HTML page of results (fastpath.analysis.html) -------------
def _command_line() -> str:
    """The command line that is running, as the user typed it; when invoked in-process (click's
    test runner: sys.argv is not ours), rebuilt from the command and its non-default parameters."""
    import shlex

    ctx = click.get_current_context()
    argv = sys.argv[1:]
    if argv[:1] == [ctx.info_name]:
        return shlex.join(["fastpath", *argv])
    parts = ["fastpath", ctx.info_name or ""]
    for p in ctx.command.params:
        v = ctx.params.get(p.name)
        if v is None or v is False or v == p.default or v == ():
            continue
        if isinstance(p, click.Argument):
            parts.extend(map(str, v) if isinstance(v, tuple) else [str(v)])
        elif getattr(p, "is_flag", False):
            parts.append(p.opts[0])
        else:
            parts.extend([p.opts[0], str(v)])
    return shlex.join(parts)


def _provenance(**extra) -> dict:
    from .analysis.html import provenance

    return provenance(_command_line(), **extra)


def _write_provenance(out: str, **extra) -> Path:
    """provenance.json in a study's directory: the command, the versions, ``extra``."""
    from .analysis.html import PROVENANCE_FILE

    path = Path(out) / PROVENANCE_FILE
    path.write_text(json.dumps(_provenance(**extra), indent=1) + "\n")
    return path


def _demo_report(out: str, run_json: dict | None) -> Path:
    """The demo's report.html: its run (when the cluster has pods) and its study."""
    from .analysis.html import Source, read_source, write_report

    made = _provenance()
    sources = [Source("run", "the demo's run", {**run_json, "provenance": made}, made)] if run_json else []
    from .analysis.study import Limits

    study = read_source(out)
    study.provenance = {**made, "limits": vars(Limits())}  # the limits the demo's study held its points to
    return write_report(out, sources + [study], made)


@main.command("report")
@click.argument("results", metavar="RESULT...", nargs=-1, required=True, type=click.Path())
@click.option("--html", "html_dir", type=Output(directory=True), required=True,
              help="Directory to write report.html into (one self-contained page: no network needed to view it).")
def report_cmd(results, html_dir):
    """One HTML page of results: RESULT is the JSON of `fastpath run --report --json` or `fastpath diff --json`,
    or a directory `fastpath study --out` wrote (told apart by content); several make one page."""
    from .analysis.html import ReportInputError, read_source, write_report

    try:
        sources = [read_source(r) for r in results]
    except ReportInputError as exc:
        raise UserError(str(exc)) from None
    try:
        page = write_report(html_dir, sources, _provenance())
    except OSError as exc:
        raise UserError(f"--html {html_dir}: {exc.strerror or exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a result of the right kind, but damaged
        names = ", ".join(f"{s.path} ({s.kind})" for s in sources)
        raise UserError(f"{names}: cannot be drawn: {type(exc).__name__}: {exc}") from None
    what = ", ".join(f"{s.kind} {s.path}" for s in sources)
    click.echo(f"wrote {page} ({page.stat().st_size:,} bytes, self-contained) from {what}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
