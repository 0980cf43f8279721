"""The packet walk as a picture: ``fastpath trace SRC DST --svg F / --html F``.

The seed is told through pictures the author correlates by eye (the traceroute, the OVS MAC
table, NSX Manager's topology); this module draws the reference walk (`fastpath.reference.walk`)
the same way, from its `Result` alone: the hops, each with its device, table, key, result, TTL
and the headers as the walk recorded them.

**Boxes.** One box per device *visit*: consecutive hops at one device (kube-proxy's Service
hop and the MAC-table hop in one OVS, the load balancer and the route lookup at one service
router) are one box, and each hop is a line in it (``table: result``; the full ``table: key ->
result`` is the box's tooltip). A device the walk comes back to (a T0 crossed twice, a node's
OVS on the way up and down) gets a box per visit, so the boxes read in the walk's own order —
the seed's pod, OVS, VIF, logical port, segment, T1, T0, T1, segment, TEP -> TEP, VIF, node. A
Geneve tunnel is two boxes, the encapsulating TEP (which holds the tunnel hop: the MTU check is
its) and the decapsulating one, with the underlay between them; a tunnel the MTU stops is its
first box only. Boxes go left to right, `PER_ROW` to a row; a row that is full wraps, the arrow to the
next row running down, back left under the row and down into the next row's first box.

**Arrows.** One arrow per move from one box to the next: the frame on that wire. Its headers
are the last hop's of the box it leaves (the walk records a hop after the device's own work: the
decremented TTL, the router MAC, the tag pushed, the addresses after a DNAT), except the 802.1Q
tag, which the walk records before a VIF or OVS strips it: a tag is on the wire only when the
box the arrow enters still sees it. Across the underlay the headers are the tunnel hop's, outer
header included. The label says what is on or changes on that wire, above the arrow: ``VLAN v``
wherever the frame is tagged (the trunk between the node's OVS and its VIF: the seed's traffic
tag), ``Geneve VNI n`` and the outer frame's size on the underlay, ``TTL t`` where it changed
(and on the first arrow, the TTL sent); below it in brown, the rewrites of the box it leaves, as
that hop's result says them: a Service's DNAT (table ``service``), conntrack's un-DNAT of the
reply (``conntrack``), the T0 service router's SNAT / un-SNAT (``snat``), the LoadBalancer's
translation at an SR (``lb``). The arrow's tooltip holds the whole frame (MACs, tag, addresses,
protocol, length, outer header).

**Colours** say where a device runs, as the seed's diagram groups them: green the workloads (pod,
node VM), blue the node VM's OVS bridge, teal NSX on the hypervisor (VIF, logical port, segment),
orange the distributed routers (T1, T0), amber the service routers on edge nodes, purple the
underlay (TEPs and the Geneve arrow), grey the physical network (T0 uplink). Where the walk ends
the box's border says how: green delivered or exited, red dropped — the box filled pale red,
``dropped: REASON`` in it.

**The page** (`walk_html`): one self-contained HTML file (no network: style, script and the SVG
inline) with the command, the verdict, the traceroute, the diagram, every hop as a table, and —
when the trace wrote a pcap — a replay of that pcap beside the diagram: a table per frame as
read back from the file (wire, MACs, tag, addresses, ports, TTL, outer Geneve header), stepped
through with buttons or the arrow keys, highlighting the arrow of the wire it was captured on
(`frame_arrows`). The page is built with jinja2 (autoescaped); the SVG with drawsvg. Both are
also well-formed XML, so a test reads them with `xml.etree`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from itertools import groupby

import drawsvg as dw
import jinja2

from ..model.addressing import ip_to_str, mac_to_str
from ..reference.walk import Hop, Result
from ..verdicts import DeviceKind, Verdict

PER_ROW = 4  # boxes in a row before it wraps
BOX_W = 180
GAP = 140  # between boxes in a row: room for an arrow's label
MARGIN = 20
CH = 6.1  # width of a character of the 10px monospace text, px (wrapping widths)
LINE = 12  # line height of the 10px text
REWRITE_TABLES = ("service", "conntrack", "snat", "lb")

# fill, border: where the device runs (module docstring)
PALETTE = {
    "workload": ("#e3f1df", "#4c8c3f"),
    "ovs": ("#e0ebf7", "#3f6fa8"),
    "hypervisor": ("#ddf1ef", "#2f8a80"),
    "router": ("#fdebd7", "#d2781e"),
    "edge": ("#fbf1cc", "#b08a00"),
    "underlay": ("#ece4f6", "#7b4fb0"),
    "physical": ("#ebebeb", "#707070"),
}
GROUP_OF_KIND = {
    DeviceKind.POD: "workload", DeviceKind.NODE: "workload", DeviceKind.OVS: "ovs", DeviceKind.LB: "ovs",
    DeviceKind.NAT: "ovs", DeviceKind.VIF: "hypervisor", DeviceKind.PORT: "hypervisor",
    DeviceKind.SEGMENT: "hypervisor", DeviceKind.T1: "router", DeviceKind.T0: "router", DeviceKind.EDGE: "edge",
    DeviceKind.TUNNEL: "underlay", DeviceKind.UPLINK: "physical",
}
GROUP_LEGEND = {"workload": "pod / node VM", "ovs": "node OVS (kube-proxy)", "hypervisor": "VIF, port, segment",
                "router": "T1 / T0 (DR)", "edge": "service router (edge)", "underlay": "TEP, Geneve",
                "physical": "uplink"}
KIND_TEXT = {
    DeviceKind.POD: "pod", DeviceKind.NODE: "node VM", DeviceKind.OVS: "OVS bridge (node VM)",
    DeviceKind.LB: "kube-proxy", DeviceKind.NAT: "conntrack", DeviceKind.VIF: "VIF (hypervisor)",
    DeviceKind.PORT: "logical port", DeviceKind.SEGMENT: "segment", DeviceKind.T1: "T1 router (DR)",
    DeviceKind.T0: "T0 router (DR)", DeviceKind.EDGE: "service router (edge)", DeviceKind.TUNNEL: "TEP",
    DeviceKind.UPLINK: "T0 uplink",
}
DROP_FILL, DROP_STROKE = "#fde4e1", "#c62828"
END_STROKE = "#2e7d32"
ARROW, UNDERLAY_ARROW, REWRITE_TEXT = "#505050", "#7b4fb0", "#9a4a00"


@dataclass
class Box:
    """One device visit (or one end of a tunnel)."""

    index: int
    device: str
    kind: DeviceKind
    title: list[str]
    subtitle: str
    hops: list[int]  # indices into the walk's hops drawn in this box
    lines: list[str]  # the hops' lines, wrapped
    tooltip: str
    end: str = ""  # "delivered" | "exited" | "dropped" on the walk's last box
    reason: str = ""
    tep: str = ""  # "src" | "dst" for a tunnel's two boxes
    x: float = 0.0
    y: float = 0.0
    h: float = 0.0


@dataclass
class Arrow:
    """The frame on the wire from box ``src`` to box ``src + 1``."""

    index: int
    src: int
    dst: int
    headers: dict  # as `Hop.headers`: the frame on this wire
    underlay: bool
    state: list[str]  # label lines above the arrow (VLAN, VNI, TTL)
    rewrites: list[str]  # the rewrites of the box it leaves (hop results), below it
    rewrite_hops: list[int] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    label_at: tuple[float, float, str] = (0.0, 0.0, "middle")  # x, y of the first line, anchor

    @property
    def vlan(self) -> int | None:
        return self.headers["vlan"] or None

    @property
    def vni(self) -> int | None:
        return self.headers["outer"]["vni"] if "outer" in self.headers else None

    @property
    def ttl(self) -> int:
        return self.headers["ttl"]


@dataclass
class Diagram:
    boxes: list[Box]
    arrows: list[Arrow]
    width: float
    height: float
    caption: str


def _wrap(text: str, width: int, max_lines: int | None = None) -> list[str]:
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


def _hop_text(h: Hop) -> str:
    return f"{h.table}: {h.result}" if h.table else h.result


def _hop_tooltip(n: int, h: Hop) -> str:
    what = f"{h.table}: {h.key} -> {h.result}" if h.table else h.result
    return f"{n + 1}. {what} (ttl {h.ttl})"


def _box_kind(hops: list[Hop]) -> DeviceKind:
    """A visit's kind: its device's, not the kube-proxy / conntrack step that ran there."""
    kinds = [h.kind for h in hops if h.kind not in (DeviceKind.LB, DeviceKind.NAT)]
    return (kinds or [hops[-1].kind])[-1]


def _frame_text(hd: dict) -> str:
    line = f"eth {hd['eth_src'] or '-'} > {hd['eth_dst'] or '-'}" + (f" vlan {hd['vlan']}" if hd["vlan"] else "")
    line += f"\nip {hd['ip_src']} > {hd['ip_dst']} proto {hd['proto']} ttl {hd['ttl']} len {hd['ip_len']}"
    if "outer" in hd:
        o = hd["outer"]
        line += (f"\ngeneve {o['src_tep']} > {o['dst_tep']} udp/{o['udp_dport']} vni {o['vni']}, "
                 f"outer ip len {o['outer_ip_len']}, frame {o['outer_frame']}")
    return line


def build(res: Result, *, caption: str = "", per_row: int = PER_ROW) -> Diagram:
    """The walk's boxes and arrows, laid out (module docstring)."""
    hops = res.hops
    text_w = int((BOX_W - 14) / CH)
    boxes: list[Box] = []

    def add(device, kind, title, subtitle, idx, tep=""):
        lines = [ln for i in idx for ln in _wrap(_hop_text(hops[i]), text_w, 3)]
        tip = "\n".join([device] + [_hop_tooltip(i, hops[i]) for i in idx])
        boxes.append(Box(len(boxes), device, kind, _wrap(title, int((BOX_W - 14) / 7.2), 2), subtitle,
                         list(idx), lines, tip, tep=tep))

    for device, group in groupby(range(len(hops)), key=lambda k: hops[k].device):
        idx = list(group)
        kind = _box_kind([hops[k] for k in idx])
        if kind is DeviceKind.TUNNEL:
            o = hops[idx[0]].headers.get("outer") or {}
            src_host, _, dst_host = device.removeprefix("geneve:").partition("->")  # (`cluster.tunnel_name`)
            add(device, kind, f"TEP {src_host}", f"{o.get('src_tep', '')} encap", idx, tep="src")
            if not (idx[-1] == len(hops) - 1 and res.verdict is Verdict.DROPPED):  # (the MTU: never sent)
                add(device, kind, f"TEP {dst_host}", f"{o.get('dst_tep', '')} decap", [], tep="dst")
        else:
            add(device, kind, device, KIND_TEXT.get(kind, kind.label), idx)
    if not boxes:  # a walk that named no device (a bad ingress): its verdict alone
        boxes.append(Box(0, res.device or "(no device)", res.device_kind, [res.device or "(no device)"],
                         KIND_TEXT.get(res.device_kind, ""), [], [], res.device or ""))
    last = boxes[-1]
    last.end, last.reason = res.verdict.label, res.reason.label

    arrows: list[Arrow] = []
    prev_ttl = None
    for a, b in zip(boxes, boxes[1:]):
        if a.tep == "src" and b.tep == "dst":
            hd = hops[a.hops[-1]].headers
        elif a.tep == "dst":
            hd = {k: v for k, v in hops[boxes[a.index - 1].hops[-1]].headers.items() if k != "outer"}
        else:
            hd = {k: v for k, v in hops[a.hops[-1]].headers.items() if k != "outer"}
            nxt = hops[b.hops[0]].headers["vlan"] if b.hops else None
            if not nxt:  # the next device sees it untagged: stripped where it left (VIF, OVS)
                hd["vlan"] = None
        underlay = "outer" in hd
        state = []
        if hd["vlan"]:
            state.append(f"VLAN {hd['vlan']}")
        if underlay:
            state += [f"Geneve VNI {hd['outer']['vni']}", f"outer {hd['outer']['outer_frame']} B"]
        if hd["ttl"] != prev_ttl:
            state.append(f"TTL {hd['ttl']}")
        prev_ttl = hd["ttl"]
        rw = [k for k in a.hops if hops[k].table in REWRITE_TABLES]
        rewrites = [ln for k in rw for ln in _wrap(hops[k].result, int((GAP - 8) / CH))]
        arrows.append(Arrow(len(arrows), a.index, b.index, hd, underlay, state, rewrites, rw))
    _layout(boxes, arrows, per_row)
    width = 2 * MARGIN + min(per_row, len(boxes)) * BOX_W + (min(per_row, len(boxes)) - 1) * GAP
    width = max(width, 2 * MARGIN + 4 * 150)
    legend_rows = 1 + max(row for _, row, _ in _legend_layout(boxes, width))
    height = max(b.y + b.h for b in boxes) + MARGIN + 18 + 16 * legend_rows
    return Diagram(boxes, arrows, width, height, caption)


def _box_height(b: Box) -> float:
    return 8 + 15 * len(b.title) + 13 + LINE * len(b.lines) + (16 if b.end else 0) + 6


def _layout(boxes: list[Box], arrows: list[Arrow], per_row: int) -> None:
    top = MARGIN + 26  # below the caption
    rows = [boxes[k:k + per_row] for k in range(0, len(boxes), per_row)]
    by_src = {a.src: a for a in arrows}
    for r, row in enumerate(rows):
        label_h = max([max(len(by_src[b.index].state), len(by_src[b.index].rewrites))
                       for b in row[:-1] if b.index in by_src] or [0])
        h = max(max(_box_height(b) for b in row), 2 * (label_h * LINE + 10))
        for c, b in enumerate(row):
            b.x, b.y, b.h = MARGIN + c * (BOX_W + GAP), top, h
        mid = top + h / 2
        for b in row[:-1]:
            a = by_src.get(b.index)
            if a is not None:
                a.points = [(b.x + BOX_W, mid), (b.x + BOX_W + GAP, mid)]
                a.label_at = (b.x + BOX_W + GAP / 2, mid - 6 - LINE * (len(a.state) - 1), "middle")
        top += h
        wrap = by_src.get(row[-1].index)
        if wrap is not None and r + 1 < len(rows):  # down, back left under the row, down into the next
            lines = len(wrap.state) + len(wrap.rewrites)
            gutter = 16 + LINE * lines + 18
            x0, x1, yg = row[-1].x + BOX_W / 2, MARGIN + BOX_W / 2, top + 12
            wrap.points = [(x0, top), (x0, yg), (x1, yg), (x1, top + gutter)]
            wrap.label_at = ((x0 + x1) / 2, yg + 14, "middle")
            top += gutter
        elif r + 1 < len(rows):
            top += 30


def to_svg(d: Diagram) -> str:
    """The diagram as an SVG document (drawsvg)."""
    svg = dw.Drawing(d.width, d.height, id_prefix="fp", font_family="sans-serif")
    svg.append(dw.Title(d.caption or "packet walk"))
    svg.append(dw.Text(d.caption, 14, MARGIN, MARGIN + 8, font_weight="bold", class_="caption"))
    heads = {}
    for name, colour in (("plain", ARROW), ("underlay", UNDERLAY_ARROW)):
        m = dw.Marker(-0.1, -0.5, 0.9, 0.5, scale=10, orient="auto", id=f"head-{name}", markerUnits="userSpaceOnUse")
        m.append(dw.Lines(-0.1, -0.5, 0.9, 0, -0.1, 0.5, close=True, fill=colour))
        heads[name] = m
    for b in d.boxes:
        svg.append(_box_svg(b))
    for a in d.arrows:
        svg.append(_arrow_svg(a, heads["underlay" if a.underlay else "plain"]))
    _legend(svg, d)
    return svg.as_svg()


def _box_svg(b: Box) -> dw.Group:
    group = GROUP_OF_KIND.get(b.kind, "physical")
    fill, stroke = PALETTE[group]
    width = 1.5
    cls = ["device", f"kind-{b.kind.label}"]
    if b.end == Verdict.DROPPED.label:
        fill, stroke, width = DROP_FILL, DROP_STROKE, 3
        cls.append("drop")
    elif b.end:
        stroke, width = END_STROKE, 3
        cls.append("end")
    g = dw.Group(id=f"box-{b.index}", class_=" ".join(cls), data_device=b.device, data_kind=b.kind.label,
                 data_hops=" ".join(str(k) for k in b.hops), data_end=b.end, data_reason=b.reason, data_tep=b.tep)
    g.append(dw.Title(b.tooltip))
    g.append(dw.Rectangle(b.x, b.y, BOX_W, b.h, rx=6, fill=fill, stroke=stroke, stroke_width=width))
    y = b.y + 8 + 12
    for t in b.title:
        g.append(dw.Text(t, 12, b.x + 7, y, font_weight="bold", class_="name"))
        y += 15
    g.append(dw.Text(b.subtitle, 10, b.x + 7, y - 2, font_style="italic", fill="#555", class_="what"))
    y += 11
    for ln in b.lines:
        g.append(dw.Text(ln, 10, b.x + 7, y, font_family="monospace", class_="line"))
        y += LINE
    if b.end:
        said = {"delivered": "✓ delivered", "exited": "→ exited"}.get(b.end, b.end)
        if b.end == Verdict.DROPPED.label:
            said = f"✕ dropped: {b.reason or 'dropped'}"
        g.append(dw.Text(said, 11, b.x + 7, y + 4, font_weight="bold",
                         fill=DROP_STROKE if b.end == Verdict.DROPPED.label else END_STROKE, class_="verdict"))
    return g


def _arrow_svg(a: Arrow, head: dw.Marker) -> dw.Group:
    colour = UNDERLAY_ARROW if a.underlay else ARROW
    g = dw.Group(id=f"hop-{a.index}", class_="hop underlay" if a.underlay else "hop", data_from=a.src,
                 data_to=a.dst, data_ttl=a.ttl, data_vlan=a.vlan or "", data_vni=a.vni if a.vni is not None else "",
                 data_rewrites=" ".join(str(k) for k in a.rewrite_hops))
    g.append(dw.Title(_frame_text(a.headers)))
    (x0, y0), *rest = a.points
    path = dw.Path(stroke=colour, stroke_width=3 if a.underlay else 1.8, fill="none", marker_end=head,
                   stroke_dasharray="7 4" if a.underlay else None, class_="wire")
    path.M(x0, y0)
    for x, y in rest[:-1]:
        path.L(x, y)
    x, y = rest[-1]  # stop short of the box: the head ends on its border
    px, py = a.points[-2]
    dx, dy = (x > px) - (x < px), (y > py) - (y < py)
    path.L(x - 9 * dx, y - 9 * dy)
    g.append(path)
    lx, ly, anchor = a.label_at
    for ln in a.state:
        g.append(dw.Text(ln, 10, lx, ly, text_anchor=anchor, font_family="monospace",
                         fill=UNDERLAY_ARROW if a.underlay else "#222", class_="label state"))
        ly += LINE
    ly = ly + 10 if len(a.points) == 2 else ly
    for ln in a.rewrites:
        g.append(dw.Text(ln, 10, lx, ly, text_anchor=anchor, font_family="monospace", fill=REWRITE_TEXT,
                         class_="label rewrite"))
        ly += LINE
    return g


def _legend_layout(boxes: list[Box], width: float) -> list[tuple[float, int, str]]:
    """(x, row, group) of each legend entry: the colours the diagram uses, then the drop's."""
    groups = list(dict.fromkeys(GROUP_OF_KIND.get(b.kind, "physical") for b in boxes)) + ["drop"]
    out, x, row = [], MARGIN, 0
    for grp in groups:
        w = 30 + CH * len(GROUP_LEGEND.get(grp, grp))
        if x + w > width - MARGIN and x > MARGIN:
            x, row = MARGIN, row + 1
        out.append((x, row, grp))
        x += w
    return out


def _legend(svg: dw.Drawing, d: Diagram) -> None:
    items = _legend_layout(d.boxes, d.width)
    top = d.height - MARGIN - 16 * (1 + items[-1][1]) + 12
    leg = dw.Group(class_="legend")
    for x, row, grp in items:
        fill, stroke = PALETTE.get(grp, (DROP_FILL, DROP_STROKE))
        y = top + 16 * row
        leg.append(dw.Rectangle(x, y - 10, 14, 12, fill=fill, stroke=stroke, stroke_width=2 if grp == "drop" else 1))
        leg.append(dw.Text(GROUP_LEGEND.get(grp, grp), 10, x + 18, y, fill="#333"))
    svg.append(leg)


def walk_caption(src: str, dst: str, res: Result, ttl: int) -> str:
    why = f" ({res.reason.label})" if res.reason.label else ""
    at = res.device or "(no device)"
    return f"{src} → {dst}: {res.verdict.label}{why} at {at}, TTL {ttl} in, {res.ttl_out} out"


def walk_svg(res: Result, *, caption: str = "", per_row: int = PER_ROW) -> str:
    """The walk as an SVG document (module docstring)."""
    return to_svg(build(res, caption=caption, per_row=per_row))


# ---- the frames a trace's pcap holds --------------------------------------------------------------------
@dataclass
class WireFrame:
    """One frame of the trace's pcap, read back from the file."""

    number: int  # 1-based, as tshark counts
    wire: str  # where it was captured: pod, uplink, underlay, edge (`fastpath.wire.observe.POINTS`)
    length: int  # bytes on the wire
    rows: list[tuple[str, str]]  # (field, value) as the page's table shows them
    vlan: int
    ttl: int
    vni: int | None


def pcap_frames(path: str, wires: list[str]) -> list[WireFrame]:
    """The frames of ``path`` (the pcap `fastpath trace --pcap` wrote; ``wires``: the wire of
    each, as it returned them), decoded by fastpath's own reader and codec; the outer Ethernet
    and UDP of a Geneve frame are read from its bytes (the codec decodes the inner frame)."""
    from ..wire.codec import decode
    from ..wire.pcap import read_all

    chunk = read_all(path)
    dec = decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len)
    if dec.size != len(wires):
        raise ValueError(f"{path}: {dec.size} frames, but the walk crossed {len(wires)} wires")
    proto_name = {1: "icmp", 6: "tcp", 17: "udp", 132: "sctp"}
    out = []
    for i in range(dec.size):
        raw = bytes(chunk.frame(i))
        if dec.status[i]:
            out.append(WireFrame(i + 1, wires[i], int(chunk.orig_len[i]), [("wire", wires[i]), ("malformed", "yes")],
                                 0, 0, None))
            continue
        rows = [("wire", wires[i]), ("frame", f"{int(chunk.orig_len[i])} bytes")]
        encap = bool(dec.encap[i])
        if encap:
            ihl = (raw[14] & 0x0F) * 4
            udp = 14 + ihl
            rows += [("outer eth src", _mac(raw[6:12])), ("outer eth dst", _mac(raw[0:6])),
                     ("outer ip src", ip_to_str(int(dec.outer_src_ip[i]))),
                     ("outer ip dst", ip_to_str(int(dec.outer_dst_ip[i]))),
                     ("outer udp", f"{int.from_bytes(raw[udp:udp + 2], 'big')} > "
                                   f"{int.from_bytes(raw[udp + 2:udp + 4], 'big')}"),
                     ("geneve vni", str(int(dec.vni[i])))]
        pre = "inner " if encap else ""
        rows += [(pre + "eth src", mac_to_str(int(dec.src_mac[i]))), (pre + "eth dst", mac_to_str(int(dec.dst_mac[i]))),
                 (pre + "vlan", str(int(dec.vlan[i])) if dec.vlan[i] else "untagged"),
                 (pre + "ip src", ip_to_str(int(dec.src_ip[i]))), (pre + "ip dst", ip_to_str(int(dec.dst_ip[i]))),
                 (pre + "proto", proto_name.get(int(dec.proto[i]), str(int(dec.proto[i])))),
                 (pre + "sport", str(int(dec.sport[i]))), (pre + "dport", str(int(dec.dport[i]))),
                 (pre + "ttl", str(int(dec.ttl[i]))), (pre + "ip len", str(int(dec.length[i])))]
        out.append(WireFrame(i + 1, wires[i], int(chunk.orig_len[i]), rows, int(dec.vlan[i]), int(dec.ttl[i]),
                             int(dec.vni[i]) if encap else None))
    return out


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def frame_arrows(d: Diagram, wires: list[str]) -> list[int | None]:
    """The arrow each frame was captured on (None where the diagram has none): a pod's eth0 is
    the arrow out of the sending pod; a node trunk up, the first OVS -> VIF (or node -> VIF)
    arrow, down, the last VIF -> OVS (or VIF -> node); each underlay frame, the next TEP -> TEP
    arrow; the edge in, the arrow out of the uplink, out, the arrow into it."""
    kind = [b.kind for b in d.boxes]
    arrows = d.arrows
    K = DeviceKind

    def first(pred):
        return next((a.index for a in arrows if pred(kind[a.src], kind[a.dst])), None)

    def last(pred):
        return next((a.index for a in reversed(arrows) if pred(kind[a.src], kind[a.dst])), None)

    underlay = iter([a.index for a in arrows if a.underlay])
    inbound = bool(wires) and wires[0] == "edge"  # (`walk_frames`: an inbound packet's first frame)
    out: list[int | None] = []
    for n, w in enumerate(wires):
        if w == "pod":
            out.append(first(lambda s, t: s is K.POD))
        elif w == "uplink":  # up the sender's trunk first, unless it came in from outside
            up = not inbound and "uplink" not in wires[:n]
            out.append(first(lambda s, t: s in (K.OVS, K.NODE) and t is K.VIF) if up
                       else last(lambda s, t: s is K.VIF and t in (K.OVS, K.NODE)))
        elif w == "underlay":
            out.append(next(underlay, None))
        elif w == "edge":
            out.append(first(lambda s, t: s is K.UPLINK) if inbound and n == 0 else last(lambda s, t: t is K.UPLINK))
        else:
            out.append(None)
    return out


# ---- the page -------------------------------------------------------------------------------------------
_PAGE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="generator" content="fastpath {{ version }}" />
<title>fastpath trace {{ src }} → {{ dst }}</title>
<style>/*<![CDATA[*/
body { font-family: system-ui, sans-serif; margin: 1rem 1.5rem; color: #222; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
code { background: #f3f3f3; padding: .1rem .3rem; border-radius: 3px; }
.verdict { font-weight: bold; }
.verdict.dropped { color: #c62828; }
.verdict.delivered, .verdict.exited { color: #2e7d32; }
main { display: flex; gap: 1rem; align-items: flex-start; }
#diagram { flex: 3 1 0; min-width: 0; }
#diagram svg { width: 100%; max-width: {{ width }}px; height: auto; }
#replay { flex: 1 0 20rem; max-width: 26rem; border: 1px solid #ccc; border-radius: 6px; padding: .6rem;
          position: sticky; top: .5rem; }
#replay .controls { display: flex; gap: .4rem; align-items: center; margin-bottom: .5rem; }
#replay button { font-size: 1rem; padding: .15rem .6rem; }
#replay table, #hops { border-collapse: collapse; font-size: .82rem; }
#replay th, #replay td, #hops th, #hops td { border-bottom: 1px solid #e4e4e4; padding: .15rem .45rem; text-align: left; }
#replay td, #hops td { font-family: ui-monospace, monospace; }
#replay caption { text-align: left; font-weight: bold; padding-bottom: .3rem; }
.hop.current .wire { stroke: #e91e63; stroke-width: 5; }
.hop.current text { font-weight: bold; }
.keys { color: #666; font-size: .8rem; }
/*]]>*/</style>
</head>
<body>
<header>
<h1>fastpath trace {{ src }} → {{ dst }}</h1>
<p class="verdict {{ verdict }}" id="verdict">{{ summary }}</p>
{% if command %}<p>command: <code id="command">{{ command }}</code></p>{% endif %}
<p>traceroute: <span id="traceroute">{{ traceroute or "no address answered" }}</span></p>
</header>
<main>
<section id="diagram">
{{ svg | safe }}
</section>
{% if frames is not none %}
<aside id="replay">
<h2>replay: {{ pcap }}</h2>
{% if frames %}
<div class="controls">
<button type="button" id="prev" title="previous frame (←)">◀</button>
<button type="button" id="next" title="next frame (→)">▶</button>
<span id="position">1 / {{ frames | length }}</span>
</div>
<p class="keys">← → step through the frames, Home / End jump; the frame's wire is highlighted in the diagram.</p>
{% for f in frames %}
<table class="frame" id="frame-{{ loop.index0 }}" data-arrow="{{ arrows[loop.index0] if arrows[loop.index0] is not none else '' }}" data-wire="{{ f.wire }}"{% if not loop.first %} hidden="hidden"{% endif %}>
<caption>frame {{ f.number }} of {{ frames | length }}: {{ f.wire }}</caption>
<tbody>
{% for name, value in f.rows %}
<tr><th>{{ name }}</th><td>{{ value }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endfor %}
{% else %}
<p id="no-frames">The pcap holds no frames: the packet never left its sender.</p>
{% endif %}
</aside>
{% endif %}
</main>
<h2>hops</h2>
<table id="hops">
<thead><tr><th>#</th><th>device</th><th>kind</th><th>table</th><th>key</th><th>result</th><th>ttl</th></tr></thead>
<tbody>
{% for h in hops %}
<tr><td>{{ loop.index }}</td><td>{{ h.device }}</td><td>{{ h.kind.label }}</td><td>{{ h.table }}</td><td>{{ h.key }}</td><td>{{ h.result }}</td><td>{{ h.ttl }}</td></tr>
{% endfor %}
</tbody>
</table>
<footer><p class="keys">fastpath {{ version }}: the reference walk (fastpath.reference.walk); frames read back from the pcap.</p></footer>
{% if frames %}
<script>//<![CDATA[
(function () {
  "use strict";
  var frames = document.querySelectorAll("#replay table.frame");
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  var position = document.getElementById("position");
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    Array.prototype.forEach.call(frames, function (f, i) { f.hidden = i !== current; });
    Array.prototype.forEach.call(document.querySelectorAll("#diagram .hop.current"), function (a) {
      a.classList.remove("current");
    });
    var arrow = frames[current].getAttribute("data-arrow");
    var hop = arrow === "" ? null : document.getElementById("hop-" + arrow);
    if (hop) { hop.classList.add("current"); }
    position.textContent = (current + 1) + " / " + frames.length;
    prev.disabled = current === 0;
    next.disabled = current === frames.length - 1;
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (e) {
    var to = {ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: frames.length - 1}[e.key];
    if (to !== undefined) { e.preventDefault(); show(to); }
  });
  show(0);
})();
//]]></script>
{% endif %}
</body>
</html>
""")


def walk_html(res: Result, *, src: str, dst: str, ttl: int, command: str = "", frames: list[WireFrame] | None = None,
              pcap: str = "", per_row: int | None = None) -> str:
    """The walk's page (module docstring): ``frames`` (`pcap_frames`) adds the replay of ``pcap``
    beside the diagram, which then has `PER_ROW` - 1 boxes to a row (its text stays legible)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("fastpath")
    except PackageNotFoundError:  # (a source tree that was never installed)
        ver = "(not installed)"
    if per_row is None:
        per_row = PER_ROW - 1 if frames is not None else PER_ROW
    d = build(res, caption=walk_caption(src, dst, res, ttl), per_row=per_row)
    svg = to_svg(d)
    svg = svg[svg.index("<svg"):]  # inline: no XML declaration
    tunnels = ", ".join(f"{t.src_host}->{t.dst_host} vni {t.vni}" for t in res.tunnels) or "none"
    summary = f"{walk_caption(src, dst, res, ttl)}; tunnels: {tunnels}"
    traceroute = " → ".join(f"{ip} ({dev})" for ip, dev in zip(res.traceroute, res.traceroute_devices))
    wires = [f.wire for f in frames] if frames else []
    return _PAGE.render(src=src, dst=dst, verdict=res.verdict.label, summary=summary, command=command,
                        traceroute=traceroute, svg=svg, frames=frames, arrows=frame_arrows(d, wires), pcap=pcap,
                        hops=res.hops, version=ver, width=int(d.width * 1.15))
