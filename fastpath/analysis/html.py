"""One self-contained HTML page of fastpath's results: a run's load report, a study, a diff.

    fastpath report run.json study-dir diff.json --html out/      # -> out/report.html
    from fastpath.analysis.html import read_source, write_report
    write_report("out", [read_source("run.json")], provenance("fastpath report ..."))

What goes in
------------
Inputs are told apart by what they hold, not by their names (`read_source`):
- a run: the JSON of ``fastpath run --report --json`` (or ``replay --json``): the load report
  under ``report``, with the cluster's summary and the provenance beside it (run adds them);
  a bare `LoadReport.to_json()` is read too;
- a diff: the JSON of ``fastpath diff --json`` (``by_change`` and ``load_delta``);
- a study: the directory a ``fastpath study --out`` wrote (``SWEEP.csv``, its PNG plots, and
  ``provenance.json``: the command, the versions, the limits the study held the points to).
Anything else is one line saying what was expected.

Choices
-------
- Self-contained: the page opens from a mail attachment or on an air-gapped laptop, so it
  fetches nothing. The style sheet and the table-sorting script (``report.css``,
  ``report.js``, beside the jinja2 template in ``templates/``) are inlined; charts are
  matplotlib SVG inlined in the page with their text kept as text (``svg.fonttype: none``:
  searchable, and a test can read a bar's label); the study's own PNG plots are data: URIs.
- Each table cell carries its raw value (``data-value``) and its JSON key (``data-col``);
  the visible text is formatted ("1,234", "5.5%"). The script sorts by the raw value.
- The TEP-pair heat map is an HTML table coloured with a matplotlib colormap, one cell per
  (source host, destination host), its bytes and packets in ``data-bytes``/``data-packets``:
  readable at the seed's 4 hosts and at the 100 hosts the JSON's top 50 pairs can name.
- Element ids are scoped by section (``run``, ``study``, ``diff``; ``run-2`` for a second
  run), so several inputs make one page: ``#run-hosts``, ``#run-bars``, ``#diff-load``.
  The utilisation bars carry ids ``<section>-bar-<row>``; the bottleneck's bar is
  ``<section>-bar-bottleneck`` (in red, labelled), its table row has class ``bottleneck``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import platform
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 256 << 20
"""A run's or diff's JSON read at most (``run --json`` keeps 50 rows a table: kilobytes)."""
MAX_HEATMAP_HOSTS = 100
PROVENANCE_FILE = "provenance.json"
VERSIONED = ("numpy", "numba")


class ReportInputError(ValueError):
    """An input the page cannot be made of: one line naming the file and what was expected."""


# ---- provenance ---------------------------------------------------------------------------------
def versions() -> dict:
    """fastpath, Python, numpy and numba as installed (without importing numba)."""
    from importlib import metadata

    from .. import __version__

    out = {"fastpath": __version__, "python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(command: str, **extra) -> dict:
    """What made a result: the command line, the versions, when (UTC), and ``extra``."""
    return {"command": command, "versions": versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}


# ---- inputs -------------------------------------------------------------------------------------
@dataclass
class Source:
    """One input: ``kind`` "run", "study" or "diff"; ``data`` the JSON (run, diff) or a
    `Study`; ``provenance`` what made it, None when it was not recorded."""

    kind: str
    path: str
    data: Any
    provenance: dict | None = None


@dataclass
class Study:
    """A study's output directory: its points (a DataFrame per sweep) and its PNG plots."""

    directory: Path
    points: dict = field(default_factory=dict)  # sweep -> DataFrame
    plots: dict = field(default_factory=dict)  # sweep -> [Path]


STUDY_COLUMNS = ("sweep", "value", "status")


def read_source(path: str | os.PathLike) -> Source:
    """Read one input and tell what it is (see the module docstring); raises
    `ReportInputError` with one line for anything else."""
    p = Path(path)
    what = ("expected the JSON of `fastpath run --report --json` or `fastpath diff --json`, "
            "or a directory `fastpath study --out` wrote")
    if p.is_dir():
        return _read_study(p)
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise ReportInputError(f"{path}: {size:,} bytes: more than the {MAX_INPUT_BYTES >> 20} MiB a result "
                                   f"holds ({what})")
        with open(p, "rb") as f:
            text = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ReportInputError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ReportInputError(f"{path}: not JSON ({str(exc).splitlines()[0][:80]}): {what}") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: a JSON {type(data).__name__}, not an object: {what}")
    prov = data.get("provenance") if isinstance(data.get("provenance"), dict) else None
    if "by_change" in data and "load_delta" in data:
        _need(path, data, "diff --json", {"by_change": list, "load_delta": list, "packets": int})
        return Source("diff", str(path), data, prov)
    rep = data.get("report") if isinstance(data.get("report"), dict) else data
    if "utilisation" in rep and "hosts" in rep:
        _need(path, rep, "run --json's report", {"utilisation": list, "hosts": list, "tep_pairs": list,
                                                  "packets": int, "verdicts": dict})
        return Source("run", str(path), data, prov)
    if "verdicts" in data and "packets" in data:
        raise ReportInputError(f"{path}: a run's JSON without its load report: run it with --report --json")
    raise ReportInputError(f"{path}: neither a run's load report nor a diff: {what}")


def _need(path, d: dict, what: str, fields: dict) -> None:
    for key, typ in fields.items():
        if not isinstance(d.get(key), typ) or isinstance(d.get(key), bool):
            raise ReportInputError(f"{path}: {what}: {key!r} is missing or not a {typ.__name__}")


def _read_study(d: Path) -> Source:
    import pandas as pd

    st = Study(d)
    for csv in sorted(d.glob("*.csv")):
        try:
            with open(csv, encoding="utf-8", errors="replace") as f:
                head = f.readline().strip().split(",")
            if tuple(head[:3]) != STUDY_COLUMNS:
                continue
            df = pd.read_csv(csv)
        except (OSError, ValueError) as exc:
            raise ReportInputError(f"{csv}: {exc}") from None
        if df.empty:
            raise ReportInputError(f"{csv}: a study's CSV without a point")
        sweep = str(df["sweep"].iloc[0])
        st.points[sweep] = df
        st.plots[sweep] = sorted(d.glob(f"{glob_escape(sweep)}-*.png"))
    if not st.points:
        raise ReportInputError(f"{d}: a directory without a study's CSV (SWEEP.csv whose columns begin "
                               f"{','.join(STUDY_COLUMNS)}): give the --out directory of `fastpath study`")
    prov = None
    pf = d / PROVENANCE_FILE
    if pf.is_file():
        try:
            prov = json.loads(pf.read_text())
        except (OSError, ValueError) as exc:
            raise ReportInputError(f"{pf}: {exc}") from None
        if not isinstance(prov, dict):
            raise ReportInputError(f"{pf}: not a JSON object")
    return Source("study", str(d), st, prov)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# ---- formatting ---------------------------------------------------------------------------------
LABELS = {"tx_packets": "tx pkts", "rx_packets": "rx pkts", "share_of_bytes": "share of bytes", "vni": "VNI",
          "sr_packets": "SR pkts", "sr_bytes": "SR bytes", "pps": "pkt/s", "gbps": "Gb/s", "snat_ip": "SNAT IP",
          "cluster_ip": "cluster IP", "external_ip": "external IP", "saturates_at_pps": "saturates at (pkt/s offered)",
          "share_of_service": "of service", "rel_packets": "rel. change", "util_before": "util before",
          "util_after": "util after", "delta_util": "util delta", "pods_per_node": "pods/node",
          "bytes_per_pod": "B/pod", "compile_s": "compile s", "vlan_tags_per_node": "VLAN tags/node",
          "ovs_mac_entries_per_node": "OVS MAC entries/node", "tep_pairs": "TEP pairs", "mtu_headroom": "MTU headroom"}


PLAIN = {"vni", "proto", "sport", "dport", "port", "vlan", "value"}
"""Numbers that are names (VNIs, ports): shown without thousands separators."""


def _kind_of(key: str, values: list) -> str:
    """How a column is shown: "%", "n" (a count), "f" (a float), "i" (a number that names
    something), "s" (text)."""
    xs = [v for v in values if v is not None]
    if xs and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs):
        if key in PLAIN and all(float(v).is_integer() for v in xs):
            return "i"
        if any(w in key for w in ("share", "utilisation", "util", "rel_", "fraction")):
            return "%"
        return "n" if all(isinstance(v, int) or float(v).is_integer() for v in xs) and key not in (
            "load", "capacity", "gbps", "compile_s") else "f"
    return "s"


def fmt(v, kind: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else ""
    if kind == "%":
        return f"{100 * v:.1f}%"
    if kind == "n":
        return f"{int(v):,}" if math.isfinite(v) else "never"
    if kind == "i":
        return str(int(v))
    if kind == "f":
        return f"{v:,.3g}" if abs(v) < 1e6 else _rate(v)
    if isinstance(v, (list, tuple)):
        return "; ".join(fmt(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {fmt(x)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _rate(x: float, unit: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "never" if x == math.inf else "-"
    for div, pre in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g} {pre}{unit}".rstrip()
    return f"{x:.3g} {unit}".rstrip()


def _raw(v) -> str:
    """The cell's sort key and machine-readable value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "" if v is None or math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def table(tid: str, caption: str, records: list[dict], columns: list[str] | None = None, *,
          row_class=None, text=None, note: str = "", wide: bool = False) -> dict:
    """A sortable table: ``records`` (dicts), ``columns`` their keys (default: the first
    record's); ``row_class(record)`` a class or None; ``text(key, value)`` overrides a cell's text."""
    columns = columns or (list(records[0]) if records else [])
    kinds = {k: _kind_of(k, [r.get(k) for r in records]) for k in columns}
    rows = []
    for r in records:
        cells = []
        for k in columns:
            v = r.get(k)
            shown = text(k, v) if text is not None else None
            text_ = fmt(v, kinds[k]) if shown is None else shown
            cells.append({"key": k, "value": _raw(v), "text": text_, "num": kinds[k] in ("n", "f", "%", "i"),
                          "long": len(text_) > 32})
        rows.append({"cls": row_class(r) if row_class else None, "cells": cells})
    return {"id": tid, "caption": caption, "note": note, "rows": rows, "wide": wide,
            "columns": [{"key": k, "label": LABELS.get(k, k.replace("_", " ")),
                         "type": "num" if kinds[k] in ("n", "f", "%", "i") else "text"} for k in columns]}


# ---- charts (matplotlib, inline SVG) ------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def svg(fig, prefix: str) -> str:
    """The figure as an inline <svg> element: text kept as text, the XML prologue dropped, and
    matplotlib's own ids prefixed (several figures share one page); ids set with ``gid``
    (they start with ``prefix``) are kept as given."""
    import matplotlib

    plt = _pyplot()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]

    def fix(m):
        attr, ident = m.group(1), m.group(2)
        return m.group(0) if ident.startswith(prefix) else f'{attr}"{prefix}-mpl-{ident}'

    text = re.sub(r'(\bid=)"([^"]+)', fix, text)
    text = re.sub(r'(url\(#)([^)]+)', lambda m: m.group(0) if m.group(2).startswith(prefix)
                  else f"{m.group(1)}{prefix}-mpl-{m.group(2)}", text)
    text = re.sub(r'(xlink:href=")#([^"]+)', lambda m: m.group(0) if m.group(2).startswith(prefix)
                  else f'{m.group(1)}#{prefix}-mpl-{m.group(2)}', text)
    return text


BAR = "#4c78a8"
BOTTLENECK = "#d62728"


def bars_svg(sec: str, labels: list[str], values: list[float], marked: int | None, *, xlabel: str,
             before: list[float] | None = None, value_text=None) -> str:
    """Horizontal bars, one a device, top to bottom in the given order; bar ``i`` has id
    ``<sec>-bar-<i>``, the ``marked`` one ``<sec>-bar-bottleneck`` (red, labelled). ``before``:
    a thin grey bar beneath each (a diff's utilisation before)."""
    plt = _pyplot()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.3 * max(n, 1)), dpi=100)
    ys = list(range(n))
    top = max([v for v in values + (before or []) if v is not None and math.isfinite(v)] + [0])
    for i, (y, v) in enumerate(zip(ys, values)):
        if before is not None and before[i] is not None:
            ax.barh(y + 0.22, before[i], height=0.3, color="#bbbbbb", gid=f"{sec}-before-{i}")
        if v is None or not math.isfinite(v):
            continue
        mine = i == marked
        ax.barh(y - (0.08 if before is not None else 0), v, height=0.5 if before is not None else 0.7,
                color=BOTTLENECK if mine else BAR, gid=f"{sec}-bar-bottleneck" if mine else f"{sec}-bar-{i}")
        label = value_text(v) if value_text else f"{v:.3g}"
        ax.text(v + top * 0.01, y, label + ("  bottleneck" if mine else ""), va="center", fontsize=8,
                color=BOTTLENECK if mine else "#333333", fontweight="bold" if mine else "normal")
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.3 if top > 0 else 1)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if before is not None:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="#bbbbbb", label="before"), Patch(color=BAR, label="after")],
                  fontsize=8, loc="lower right")
    return svg(fig, sec)


def heatmap(sec: str, hosts: list[str], pairs: list[dict]) -> dict:
    """The TEP-pair matrix: rows source hosts, columns destination hosts, in ``hosts`` order
    (those that appear in a pair), each cell coloured by its bytes."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cells = {(p["src_host"], p["dst_host"]): p for p in pairs}
    seen = {h for p in pairs for h in (p["src_host"], p["dst_host"])}
    axis = [h for h in hosts if h in seen] + sorted(seen - set(hosts))
    axis = axis[:MAX_HEATMAP_HOSTS]
    top = max([p["bytes"] for p in pairs] + [1])
    cmap = colormaps["YlOrRd"]
    rows = []
    for s in axis:
        row = []
        for d in axis:
            p = cells.get((s, d))
            if p is None:
                row.append(None)
                continue
            x = p["bytes"] / top
            rgba = cmap(0.12 + 0.88 * x)
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.55
            row.append({"bytes": p["bytes"], "packets": p["packets"], "bg": to_hex(rgba), "dark": dark,
                        "text": _bytes(p["bytes"]), "share": p.get("share_of_bytes")})
        rows.append({"host": s, "cells": row})
    return {"id": f"{sec}-heatmap", "hosts": axis, "rows": rows, "pairs": len(pairs),
            "cut": len(seen) > len(axis), "top": len(pairs) == 50}


def _bytes(n: int) -> str:
    for div, pre in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= div:
            return f"{n / div:.3g} {pre}"
    return f"{n} B"


def _png_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# ---- sections -----------------------------------------------------------------------------------
RUN_TABLES = (("hosts", "Hosts: underlay traffic (outer frames)"), ("tep_pairs", "TEP pairs (tunnels) by bytes"),
              ("routers", "Router instances"), ("segments", "Segments"), ("uplinks", "T0 uplinks (inner bytes)"),
              ("edges", "Edge nodes"), ("services", "Services: kube-proxy's and the load balancer's picks"),
              ("snat", "SNAT on the T0 SR"), ("cpu", "CPU work per device (the cost model's operations and cycles)"))


def _device_label(r: dict) -> str:
    return f"{r['device']} SRs" if r["kind"] == "edge" else f"{r['device']} {r['direction']}"


def _is_bottleneck(r: dict, b: dict | None) -> bool:
    return b is not None and all(r.get(k) == b.get(k) for k in ("device", "kind", "direction"))


def _cut(rows: list, what: str) -> str:
    return f"The first {len(rows)} rows, as the JSON holds them ({what} keeps 50 a table)." if len(rows) == 50 else ""


def run_section(sec: str, src: Source) -> dict:
    d = src.data
    rep = d["report"] if isinstance(d.get("report"), dict) else d
    b = rep.get("bottleneck")
    cl = d.get("cluster") if isinstance(d.get("cluster"), dict) else {"name": rep.get("cluster")}
    P = rep["packets"]
    verdicts = [{"verdict": k, **v} for k, v in rep["verdicts"].items()]
    reasons = [{"reason": k, **v} for k, v in (rep.get("reasons") or {}).items() if v.get("packets")]
    tables = [table(f"{sec}-verdicts", "Verdicts", verdicts)]
    if reasons:
        tables.append(table(f"{sec}-reasons", "Drop reasons", reasons))
    for key, caption in RUN_TABLES:
        rows = rep.get(key) or []
        if rows:
            tables.append(table(f"{sec}-{key.replace('_', '-')}", caption, rows, note=_cut(rows, "run --json")))
    util = rep["utilisation"]
    marked = next((i for i, r in enumerate(util) if _is_bottleneck(r, b)), None)
    tables.append(table(f"{sec}-utilisation", "Utilisation, from the first device to saturate", util,
                        row_class=lambda r: "bottleneck" if _is_bottleneck(r, b) else None,
                        note=_cut(util, "run --json"), wide=True))
    have_util = any(r.get("utilisation") is not None for r in util)
    if have_util:
        values = [None if r.get("utilisation") is None else 100 * r["utilisation"] for r in util]
        xlabel = f"utilisation (%) at {_rate(rep.get('offered_pps') or 0, 'pkt/s')} offered"
        vt = "{:.3g}%".format
    else:  # no offered load: the load relative to the bottleneck's (1 = the first to saturate)
        sat = [r.get("saturates_at_pps") for r in util]
        first = min([s for s in sat if s] or [1])
        values = [first / s if s else 0.0 for s in sat]
        xlabel, vt = "load relative to the bottleneck (no offered load given)", "{:.2f}".format
    bars = bars_svg(sec, [_device_label(r) for r in util], values, marked, xlabel=xlabel, value_text=vt)
    hosts = [h["host"] for h in rep["hosts"]]
    enc, hp = rep.get("encap") or {}, rep.get("hairpin") or {}
    facts = [("packets", f"{P:,}"), ("offered load", _rate(rep.get("offered_pps"), "pps") if rep.get("offered_pps")
                                      is not None else "not given")]
    if enc.get("ratio") is not None:
        facts.append(("encap", f"{enc['ratio']:.2f}x underlay bytes per inner byte of tunnelled packets"))
    if enc.get("tunnel_legs") is not None:
        facts.append(("tunnel legs", f"{enc['tunnel_legs']:,}, {enc.get('header_bytes_per_leg')} B of headers each"))
    if hp.get("via_edge") is not None:
        facts.append(("via an edge SR", f"{hp['via_edge']:,} ({fmt(hp.get('fraction'), '%')})"))
    return {"kind": "run", "id": sec, "source": src.path, "title": f"Load report: {cl.get('name') or 'cluster'}",
            "cluster": cl, "facts": facts, "bottleneck": b, "bottleneck_text": _bottleneck_text(b),
            "tables": tables, "bars": bars, "heatmap": heatmap(sec, hosts, rep["tep_pairs"]),
            "provenance": src.provenance,
            "engine": {k: d[k] for k in ("pps", "threads", "engine") if k in d}}


def _bottleneck_text(b: dict | None) -> str:
    if not b:
        return "none: no device carried load"
    at = (f"{b['load']:.3g} of {b['capacity']:g} {b['unit']} = {100 * b['utilisation']:.1f}%, "
          if b.get("utilisation") is not None else "")
    return f"{_device_label(b)} ({b['kind']}): {at}saturates at {_rate(b['saturates_at_pps'], 'pps')} offered"


LIMIT_SERIES = (  # limit name in the CSV and the study's Limits, the CSV column it bounds, the label
    ("vlan_tags", "vlan_tags_per_node", "VLAN tags per node"),
    ("ovs_mac_table", "ovs_mac_entries_per_node", "OVS MAC entries per node"),
    ("max_pods", "pods_per_node", "pods per node (Kubernetes max pods)"),
    ("tunnel_mesh", "tep_pairs", "TEP pairs (tunnel mesh)"),
)
LIMIT_TEXT = {"vlan_tags": "VLAN tags per node", "ovs_mac_table": "the OVS MAC table",
              "max_pods": "Kubernetes max pods per node", "tunnel_mesh": "the tunnel mesh (TEP pairs)",
              "mtu": "the underlay MTU (pod MTU + Geneve overhead)"}


def study_section(sec: str, src: Source) -> dict:
    st: Study = src.data
    limits = (src.provenance or {}).get("limits") or {}
    parts = []
    for n, (sweep, df) in enumerate(st.points.items()):
        sid = sec if n == 0 else f"{sec}-{n + 1}"
        recs = df.to_dict("records")
        keep = [c for c in ("value", "status", "pods", "nodes", "hosts", "pods_per_node", "table_bytes", "bytes_per_pod",
                            "vlan_tags_per_node", "ovs_mac_entries_per_node", "tep_pairs", "mtu_headroom", "pps",
                            "delivered", "dropped", "exited", "compile_s") if c in df.columns]
        recs = [{k: _plain(r[k]) for k in keep} for r in recs]
        points = table(f"{sid}-points", f"Points of the {sweep} study", recs, keep,
                       row_class=lambda r: None if r.get("status") == "ok" else "refused", wide=True)
        crossings = []
        for name in [c[len("crossed_"):] for c in df.columns if c.startswith("crossed_")]:
            hit = df[df[f"crossed_{name}"].astype(bool)]
            crossings.append({"limit": LIMIT_TEXT.get(name, name.replace("_", " ")),
                              "value": _plain(limits.get(name)),
                              "first_crossed_at": _plain(hit["value"].iloc[0]) if len(hit) else None})
        lim = table(f"{sid}-limits", "Limits: where each is first crossed", crossings,
                    ["limit", "value", "first_crossed_at"],
                    text=lambda k, v: ("not crossed" if v is None else None) if k == "first_crossed_at"
                    else ("not recorded" if v is None and k == "value" else None))
        parts.append({"id": sid, "sweep": sweep, "points": points, "limits": lim,
                      "chart": limits_svg(sid, sweep, df, limits),
                      "plots": [{"name": p.name, "uri": _png_uri(p)} for p in st.plots.get(sweep, [])],
                      "limits_known": bool(limits)})
    return {"kind": "study", "id": sec, "source": src.path, "title": f"Study: {', '.join(st.points)}",
            "parts": parts, "provenance": src.provenance,
            "base": (src.provenance or {}).get("base")}


def _plain(v):
    import numpy as np

    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def limits_svg(sid: str, sweep: str, df, limits: dict) -> str:
    """What each point needs against each limit: the needs as lines, the limits as dashed
    horizontal lines (``<sid>-limit-<name>``) when the study recorded them, and a dotted
    vertical line where each is first crossed (``<sid>-crossing-<name>``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.4), dpi=100)
    x = df["value"].to_numpy()
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, col, label) in enumerate(LIMIT_SERIES):
        if col not in df.columns:
            continue
        c = colours[k % len(colours)]
        y = df[col].to_numpy(dtype=float)
        there = y > 0  # a refused point has no tunnels: nothing to draw on a log axis
        ax.plot(x[there], y[there], marker="o", color=c, label=label)
        if limits.get(name) is not None:
            ax.axhline(float(limits[name]), color=c, linestyle="--", linewidth=1, gid=f"{sid}-limit-{name}")
            ax.text(x.min(), float(limits[name]), f" {name.replace('_', ' ')} {limits[name]:,}", color=c, fontsize=7,
                    va="bottom")
        hit = df[df[f"crossed_{name}"].astype(bool)] if f"crossed_{name}" in df.columns else df.iloc[:0]
        if len(hit):
            ax.axvline(float(hit["value"].iloc[0]), color=c, linestyle=":", linewidth=1.5,
                       gid=f"{sid}-crossing-{name}")
    ax.set_yscale("log")
    if len(x) > 1 and x.min() > 0 and x.max() / x.min() >= 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{sweep} (value swept)")
    ax.set_ylabel("needed per point (log)")
    ax.set_title("Needs against limits (dashed: the limit; dotted: first crossed)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return svg(fig, sid)


def diff_section(sec: str, src: Source) -> dict:
    d = src.data
    bn = d.get("bottleneck") or {}
    after = bn.get("after")
    kind_of = {"host-link": "host", "host-cpu": "cpu", "node-cpu": "cpu", "edge-cpu": "cpu"}

    def is_b(r):
        return after is not None and r.get("device") == after.get("device") and \
            r.get("kind") == kind_of.get(after.get("kind"), after.get("kind"))

    groups = [{k: (_pairs_text(v) if k == "pairs" else v) for k, v in g.items()} for g in d["by_change"]]
    cols = list(dict.fromkeys(k for g in groups for k in g))
    samples = [{"change": s.get("change"), "src": s.get("src"),
                "dst": s.get("dst") + (f" ({s['dst_name']})" if s.get("dst_name") else ""),
                "proto": s.get("proto"), "dport": s.get("dport"), "before": _outcome(s.get("before")),
                "after": _outcome(s.get("after"))} for s in d.get("samples") or []]
    ld = d["load_delta"]
    tables = [table(f"{sec}-changes", "Flows grouped by what changed", groups, cols, wide=True)]
    if samples:
        tables.append(table(f"{sec}-samples", "Sample flows, both outcomes", samples, wide=True))
    tables.append(table(f"{sec}-load", "Load delta per device", ld, row_class=lambda r: "bottleneck" if is_b(r) else None,
                        note=_cut(ld, "diff --json"), wide=True))
    changes = [{"op": c.get("op"), "what": c.get("what"), "key": c.get("key"),
                "fields": "; ".join(f"{f[0]}: {_none(f[1])} -> {_none(f[2])}" for f in c.get("fields") or [])}
               for c in d.get("spec_changes") or []]
    if changes:
        tables.append(table(f"{sec}-spec", "What the spec changes", changes))
    util = [r for r in ld if r.get("util_after") is not None or r.get("util_before") is not None]
    bars = None
    if util:
        marked = next((i for i, r in enumerate(util) if is_b(r)), None)
        bars = bars_svg(sec, [f"{r['kind']} {r['device']}" for r in util],
                        [None if r.get("util_after") is None else 100 * r["util_after"] for r in util], marked,
                        before=[None if r.get("util_before") is None else 100 * r["util_before"] for r in util],
                        xlabel="utilisation (%), before and after", value_text="{:.3g}%".format)
    ch = d.get("changed") or {}
    facts = [("packets", f"{d['packets']:,}"), ("flows", f"{d.get('flows', 0):,}"), ("profile", d.get("profile") or "uniform"),
             ("changed", f"{ch.get('flows', 0):,} flows ({fmt(ch.get('flow_share'), '%')}), "
                         f"{ch.get('packets', 0):,} packets ({fmt(ch.get('packet_share'), '%')})")]
    return {"kind": "diff", "id": sec, "source": src.path, "title": "What-if: diff", "facts": facts,
            "explanation": d.get("explanation") or [], "tables": tables, "bars": bars,
            "bottleneck_before": _bottleneck_text(bn.get("before")), "bottleneck_after": _bottleneck_text(after),
            "clusters": d.get("clusters"), "provenance": src.provenance}


def _none(v):
    return "none" if v is None else v


def _pairs_text(pairs) -> str:
    if not isinstance(pairs, list):
        return fmt(pairs)
    return ", ".join(f"{p.get('src_ns')}\u2192{p.get('dst_ns')} {fmt(p.get('share'), '%')}" for p in pairs[:6]) + \
        (f" and {len(pairs) - 6} more" if len(pairs) > 6 else "")


def _outcome(o) -> str:
    if not isinstance(o, dict):
        return "not sent"
    why = f" ({o['reason']})" if o.get("reason") else ""
    return (f"{o.get('verdict')}{why} at {o.get('device')}, {o.get('hops')} hops, {o.get('tunnels')} tunnels"
            + (", via an edge" if o.get("via_edge") else ""))


# ---- the page -----------------------------------------------------------------------------------
def render(sources: list[Source], made_by: dict | None = None) -> str:
    """The page (a str) of ``sources``; ``made_by`` the provenance of the page itself."""
    import jinja2
    from markupsafe import Markup

    sections, count = [], {}
    for src in sources:
        count[src.kind] = count.get(src.kind, 0) + 1
        sec = src.kind if count[src.kind] == 1 else f"{src.kind}-{count[src.kind]}"
        sections.append({"run": run_section, "study": study_section, "diff": diff_section}[src.kind](sec, src))
    env = jinja2.Environment(loader=jinja2.PackageLoader("fastpath.analysis", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    title = "fastpath report: " + ", ".join(s["title"] for s in sections)
    raw = {name: Markup(env.loader.get_source(env, name)[0]) for name in ("report.css", "report.js")}
    return env.get_template("report.html.j2").render(title=title, sections=sections, made_by=made_by,
                                                     css=raw["report.css"], js=raw["report.js"])


def write_report(out: str | os.PathLike, sources: list[Source], made_by: dict | None = None) -> Path:
    """Write ``out``/report.html; returns its path."""
    text = render(sources, made_by)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    page.write_text(text, encoding="utf-8")
    return page


__all__ = ["MAX_INPUT_BYTES", "ReportInputError", "Source", "Study", "provenance", "read_source", "render",
           "versions", "write_report"]
