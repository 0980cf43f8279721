"""`fastpath report --html`: the page opened in a real browser (headless chromium, `browser` in
conftest.py). Every number on the page is held to the JSON or CSV it came from, the cluster
summary to the model, the limits to their definitions, the versions to the imported packages;
the page must fetch nothing and the sort must sort."""

from __future__ import annotations

import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fastpath
from fastpath.analysis.study import Limits
from fastpath.model import default_scenario
from fastpath.model.scenarios import SEED_SPEC

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STUDY_VALUES = (10, 110, 250, 5000)  # 5000 pods on a node: refused (VLAN tags), a recorded point


def fastpath_cmd(*args, cwd) -> str:
    """Run ``python -m fastpath ARGS`` in ``cwd``; its stdout. The command as it will be recorded."""
    proc = subprocess.run([sys.executable, "-m", "fastpath", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A run's JSON, a study's directory and a diff's JSON, each made by the CLI, and their page."""
    d = tmp_path_factory.mktemp("report")
    (d / "seed.json").write_text(json.dumps(SEED_SPEC))
    (d / "web-edge.yaml").write_text("kind: fastpath/patch\nset:\n  namespaces[web].t1.edge: edge-1\n")
    cmds = {
        "run": ["run", "--packets", "20000", "--report", "--json", "--quiet"],
        "diff": ["diff", "seed.json", "web-edge.yaml", "--profile", "locality", "--packets", "20000", "--json",
                 "--quiet"],
        "study": ["study", "pods-per-node", "--values", ",".join(map(str, STUDY_VALUES)), "--packets", "2000",
                  "--quiet", "--out", "study"],
    }
    out = {"dir": d, "cmd": {k: shlex.join(["fastpath", *v]) for k, v in cmds.items()}}
    (d / "run.json").write_text(fastpath_cmd(*cmds["run"], cwd=d))
    (d / "diff.json").write_text(fastpath_cmd(*cmds["diff"], cwd=d))
    fastpath_cmd(*cmds["study"], cwd=d)
    # one page of all three (and the run again: two of a kind), as the tests read them
    report = ["report", "run.json", "study", "diff.json", "run.json", "--html", "html"]
    line = fastpath_cmd(*report, cwd=d)
    assert line.startswith("wrote html/report.html (") and "run run.json, study study, diff diff.json" in line
    out["page"] = d / "html" / "report.html"
    out["report-cmd"] = shlex.join(["fastpath", *report])
    out["run"] = json.loads((d / "run.json").read_text())
    out["diff"] = json.loads((d / "diff.json").read_text())
    out["study"] = pd.read_csv(d / "study" / "pods-per-node.csv")
    return out


def column(page, table: str, col: str) -> list[str]:
    return page.attrs(f"#{table} tbody tr td[data-col='{col}']", "data-value")


def as_numbers(values) -> list[float]:
    return [float("nan") if v in ("", None) else float(v) for v in values]


def same_numbers(page_values, json_values) -> bool:
    a = np.array(as_numbers(page_values))
    b = np.array([float("nan") if v is None else float(v) for v in json_values])
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-12, equal_nan=True))


def assert_self_contained(page, html: str) -> None:
    """Nothing fetched but the file itself and its data: URIs; no http(s) in src/href."""
    fetched = [u for u in page.requests if not u.startswith(("file:", "data:", "about:"))]
    assert fetched == [], fetched
    assert page.count("[src^='http'], [href^='http'], [src^='//'], [href^='//'], link[rel=stylesheet], "
                      "script[src]") == 0
    assert "<script src" not in html and "@import" not in html


def assert_made_by(page, section: str, command: str) -> None:
    import numba

    assert page.text(f"#{section}-command") == command
    want = {"fastpath": fastpath.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__}
    for name, version in want.items():
        assert page.text(f"#{section}-versions td[data-key='{name}']") == version


def assert_screenshot(page, path: Path) -> None:
    from PIL import Image

    n = page.screenshot(path)
    data = path.read_bytes()
    assert n == len(data) and data[:8] == PNG_MAGIC
    with Image.open(path) as im:
        w, h = im.size
        colours = len(im.convert("RGB").getcolors(1 << 20) or ())
    assert w >= 1000 and h >= 1500, (w, h)  # the whole page, not a window's worth
    assert n > 50_000 and colours > 50, (n, colours)  # drawn, not blank


# ---- a run's load report ---------------------------------------------------------------------------
def test_run_page_shows_the_load_report_as_the_json_has_it(browser, results, tmp_path):
    page = browser(results["page"])
    rep = results["run"]["report"]
    assert page.console_errors == []
    assert_self_contained(page, results["page"].read_text())

    # the cluster summary, held to the model itself
    for key, value in default_scenario().summary().items():
        assert page.text(f"#run-cluster dd[data-key='{key}']") == (f"{value:,}" if isinstance(value, int) else value)

    # the load tables: one row per JSON row, the raw numbers equal
    for key, cols in (("hosts", ("tx_packets", "tx_bytes", "rx_packets", "rx_bytes")),
                      ("tep_pairs", ("packets", "bytes", "share_of_bytes")),
                      ("routers", ("packets", "bytes", "share")), ("segments", ("vni", "packets", "bytes")),
                      ("edges", ("sr_packets", "tunnel_in_bytes")),
                      ("utilisation", ("pps", "load", "capacity", "utilisation", "saturates_at_pps"))):
        table = f"run-{key.replace('_', '-')}"
        assert page.count(f"#{table} tbody tr") == len(rep[key]) > 0, key
        for col in cols:
            assert same_numbers(column(page, table, col), [r[col] for r in rep[key]]), (key, col)
    assert page.attrs("#run-hosts td[data-col='host']", "data-value") == [h["host"] for h in rep["hosts"]]
    verdicts = {v: int(x) for v, x in zip(column(page, "run-verdicts", "verdict"), column(page, "run-verdicts", "packets"))}
    assert verdicts == {k: v["packets"] for k, v in rep["verdicts"].items()}
    assert sum(verdicts.values()) == rep["packets"] == results["run"]["packets"] == 20000

    # the heat map: one coloured cell per TEP pair, at its (source, destination), with its bytes
    cells = zip(page.attrs("#run-heatmap td.pair", "data-src"), page.attrs("#run-heatmap td.pair", "data-dst"),
                page.attrs("#run-heatmap td.pair", "data-bytes"))
    assert {(s, d): int(b) for s, d, b in cells} == {(p["src_host"], p["dst_host"]): p["bytes"] for p in rep["tep_pairs"]}
    hosts = [h["host"] for h in rep["hosts"]]
    assert page.count("#run-heatmap tbody tr") == len(hosts)
    assert page.count("#run-heatmap td.none") == len(hosts) ** 2 - len(rep["tep_pairs"])  # the diagonal at least
    assert len(set(page.attrs("#run-heatmap td.pair", "style"))) > 1  # coloured by load

    # the bars: one per device, the bottleneck's red and labelled, its table row marked
    b = rep["bottleneck"]
    util = rep["utilisation"]
    assert page.count("#run-bars [id^='run-bar-']") == len(util)
    assert page.count("#run-bar-bottleneck") == 1
    which = ("device", "kind", "direction")
    k = next(i for i, r in enumerate(util) if [r[x] for x in which] == [b[x] for x in which])
    assert max(range(len(util)), key=lambda i: util[i]["utilisation"]) == k
    labels = page.texts("#run-bars svg text")
    for r in util:
        assert any(t.startswith(f"{100 * r['utilisation']:.3g}%") for t in labels), r
    assert [" ".join(t.split()) for t in labels if "bottleneck" in t] == [f"{100 * b['utilisation']:.3g}% bottleneck"]
    assert page.count("#run-utilisation tr.bottleneck") == 1
    assert page.text("#run-utilisation tr.bottleneck td[data-col='device']") == b["device"]
    assert page.text("#run-bottleneck").startswith(f"Bottleneck: {b['device']}")

    assert_made_by(page, "run", results["cmd"]["run"])
    assert_made_by(page, "page", results["report-cmd"])
    assert_screenshot(page, tmp_path / "run.png")


def test_a_click_on_a_heading_sorts_the_table(browser, results):
    page = browser(results["page"])
    before = as_numbers(column(page, "run-routers", "packets"))
    assert before != sorted(before)  # router order: the click has something to do
    names = column(page, "run-routers", "router")
    page.click("#run-routers th[data-col='packets']")
    assert as_numbers(column(page, "run-routers", "packets")) == sorted(before)
    assert page.attrs("#run-routers th[data-col='packets']", "aria-sort") == ["ascending"]
    page.click("#run-routers th[data-col='packets']")
    after = as_numbers(column(page, "run-routers", "packets"))
    assert after == sorted(before, reverse=True)
    # rows move whole: each router keeps its own count
    pairs = dict(zip(names, before))
    assert {n: pairs[n] for n in column(page, "run-routers", "router")} == dict(
        zip(column(page, "run-routers", "router"), after))
    page.click("#run-routers th[data-col='router']")  # text: ascending, by the raw value
    assert column(page, "run-routers", "router") == sorted(names)
    assert page.console_errors == []


# ---- a study --------------------------------------------------------------------------------------
def test_study_page_shows_points_limits_and_plots(browser, results):
    page = browser(results["page"])
    df = results["study"]
    assert page.console_errors == []
    assert_self_contained(page, results["page"].read_text())

    assert page.count("#study-points tbody tr") == len(df) == len(STUDY_VALUES)
    for col in ("value", "pods", "table_bytes", "ovs_mac_entries_per_node", "tep_pairs", "pps"):
        assert same_numbers(column(page, "study-points", col), df[col].tolist()), col
    refused = [v for v, s in zip(df["value"], df["status"]) if s != "ok"]
    assert refused == [5000] and page.count("#study-points tr.refused") == 1

    # where each limit is first crossed: from the limits' own definitions, not from the CSV's flags
    lim = Limits()
    need = {"VLAN tags per node": lambda v: v > lim.vlan_tags,
            "the OVS MAC table": lambda v: 2 * v + 1 > lim.ovs_mac_table,
            "Kubernetes max pods per node": lambda v: v > lim.max_pods}
    rows = dict(zip(column(page, "study-limits", "limit"), column(page, "study-limits", "first_crossed_at")))
    for name, crossed in need.items():
        assert rows[name] == str(next(v for v in STUDY_VALUES if crossed(v))), name
    recorded = dict(zip(column(page, "study-limits", "limit"), column(page, "study-limits", "value")))
    assert recorded["Kubernetes max pods per node"] == str(lim.max_pods)
    assert dict(zip(column(page, "study-limits", "limit"), page.texts("#study-limits td[data-col='first_crossed_at']")))[
        "the tunnel mesh (TEP pairs)"] == "not crossed"

    # the chart: a dashed line at each recorded limit, a dotted one where it is first crossed
    for name in ("vlan_tags", "ovs_mac_table", "max_pods", "tunnel_mesh"):
        assert page.count(f"#study-limit-{name}") == 1, name
    for name in ("vlan_tags", "ovs_mac_table", "max_pods"):
        assert page.count(f"#study-crossing-{name}") == 1, name
    assert page.count("#study-crossing-tunnel_mesh") == 0

    # the study's own PNG plots, inlined and decoded by the browser
    pngs = sorted((results["dir"] / "study").glob("pods-per-node-*.png"))
    assert {p.name.removeprefix("pods-per-node-") for p in pngs} == {"memory.png", "limits.png", "headroom.png",
                                                                     "engine-speed.png"}
    assert page.count("img[src^='data:image/png;base64,']") == len(pngs)
    sizes = page.driver.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]);")
    from PIL import Image

    want = []
    for p in pngs:
        with Image.open(p) as im:
            want.append([True, *im.size])
    assert sorted(sizes) == sorted(want)

    assert_made_by(page, "study", results["cmd"]["study"])


# ---- a diff ---------------------------------------------------------------------------------------
def test_diff_page_shows_the_changes_and_the_load_delta(browser, results):
    page = browser(results["page"])
    d = results["diff"]
    assert page.console_errors == []
    assert_self_contained(page, results["page"].read_text())

    assert page.count("#diff-changes tbody tr") == len(d["by_change"])
    assert column(page, "diff-changes", "change") == [g["change"] for g in d["by_change"]]
    assert same_numbers(column(page, "diff-changes", "packets"), [g["packets"] for g in d["by_change"]])
    assert sum(as_numbers(column(page, "diff-changes", "packets"))) == d["packets"]
    assert page.count("#diff-load tbody tr") == len(d["load_delta"])
    for col in ("packets_before", "packets_after", "delta_packets", "util_after"):
        assert same_numbers(column(page, "diff-load", col), [r[col] for r in d["load_delta"]]), col
    assert page.count("#diff-explanation li") == len(d["explanation"])
    assert page.text("#diff-explanation li") == d["explanation"][0]
    assert page.count("#diff-samples tbody tr") == len(d["samples"]) > 0

    for side in ("before", "after"):  # the clusters, held to the model of the spec
        assert page.text(f"#diff-cluster-{side} dd[data-key='pods']") == str(d["clusters"][side]["pods"])
    assert page.text("#diff-cluster-before dd[data-key='pods']") == str(default_scenario().summary()["pods"])

    after = d["bottleneck"]["after"]
    with_util = [r for r in d["load_delta"] if r["util_after"] is not None or r["util_before"] is not None]
    assert page.count("#diff-bars [id^='diff-bar-']") == len(with_util)
    assert page.count("#diff-bar-bottleneck") == 1
    marked = page.attrs("#diff-load tr.bottleneck td[data-col='device']", "data-value")
    assert marked == [after["device"]]
    assert after["device"] in page.text("#diff-bottleneck")

    assert_made_by(page, "diff", results["cmd"]["diff"])


# ---- several results, one page; what is not a result ------------------------------------------------
def test_several_results_make_one_page(browser, results):
    page = browser(results["page"])
    assert page.console_errors == []
    for sec in ("run", "study", "diff", "run-2"):
        assert page.count(f"section#{sec}") == 1, sec
    assert page.count("#run-2-hosts tbody tr") == len(results["run"]["report"]["hosts"])
    assert page.count("#run-2-bar-bottleneck") == 1
    ids = page.driver.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id);")
    assert len(ids) == len(set(ids)), "duplicate element ids"


@pytest.mark.parametrize("make,expect", [
    (lambda d: d / "seed.json", "neither a run's load report nor a diff"),
    (lambda d: d / "web-edge.yaml", "not JSON"),
    (lambda d: d, "a directory without a study's CSV"),
    (lambda d: d / "nope.json", "No such file"),
    (lambda d: _write(d / "bare-run.json", {"packets": 3, "verdicts": {"delivered": 3}}), "run it with --report"),
    (lambda d: _write(d / "bad-report.json", {"report": {"utilisation": [], "hosts": "x", "tep_pairs": [],
                                                         "packets": 1, "verdicts": {}}}), "'hosts'"),
    (lambda d: _write(d / "damaged.json", {"report": {"utilisation": [{"device": 1}], "hosts": [{}], "tep_pairs": [],
                                                      "packets": 1, "verdicts": {}}}), "cannot be drawn"),
], ids=["spec", "yaml", "empty-dir", "missing", "run-without-report", "wrong-type", "damaged"])
def test_anything_else_is_one_line(results, reject, make, expect):
    src = make(results["dir"])
    reject("report", src, "--html", results["dir"] / "never", expect=(str(src), expect))
    assert not (results["dir"] / "never" / "report.html").exists()


def test_an_html_directory_that_cannot_be_written_is_one_line(results, reject, tmp_path):
    (tmp_path / "file").write_text("")
    reject("report", results["dir"] / "run.json", "--html", "/sys/fastpath-report", expect=("--html", "/sys"))
    reject("report", results["dir"] / "run.json", "--html", tmp_path / "file", expect=("--html", "not a directory"))


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_command_line_is_rebuilt_when_run_in_process(tmp_path):
    """click's test runner does not set sys.argv: the command is rebuilt from its parameters."""
    from click.testing import CliRunner

    from fastpath.cli import main

    study = tmp_path / "s"
    r = CliRunner().invoke(main, ["study", "pods-per-node", "--values", "10", "--packets", "0", "--quiet",
                                  "--out", str(study)])
    assert r.exit_code == 0, r.output
    prov = json.loads((study / "provenance.json").read_text())
    assert prov["command"] == shlex.join(["fastpath", "study", "pods-per-node", "--values", "10", "--out", str(study),
                                          "--packets", "0", "--quiet"])
    assert prov["limits"] == vars(Limits()) and prov["base"]["hosts"] == 10


# ---- the demo ---------------------------------------------------------------------------------------
@pytest.mark.slow  # the demo's study sweeps to 4,000 pods a node (~25 s)
def test_demo_writes_report_html_that_opens(browser, tmp_path):
    out = tmp_path / "fastpath-demo"
    text = fastpath_cmd("demo", "--packets", "20000", "--out", out, cwd=tmp_path)
    assert f"wrote {out / 'report.html'}" in text.replace("\n", "")
    page = browser(out / "report.html")
    assert page.console_errors == []
    assert page.count("section#run") == 1 and page.count("section#study") == 1
    assert page.text("#run-cluster dd[data-key='pods']") == str(default_scenario().summary()["pods"])
    assert page.count("#run-bar-bottleneck") == 1 and page.count("#run-heatmap td.pair") > 0
    plots = sorted(p.name for p in out.glob("pods-per-node-*.png"))  # memory, limits, headroom, engine speed
    assert len(plots) == 4 and page.count("img[src^='data:image/png;base64,']") == len(plots)
    assert page.text("#page-command") == shlex.join(["fastpath", "demo", "--packets", "20000", "--out", str(out)])
    assert_screenshot(page, tmp_path / "demo.png")
