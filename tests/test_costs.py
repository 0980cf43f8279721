"""The CPU cost model's figures (`fastpath.model.costs`): every default sourced or a named
placeholder, the spec's ``capacity.cpu`` over them (checked by field path, round-tripped), the
README's table and ``fastpath show costs`` equal to the table itself."""

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastpath.cli import main
from fastpath.model.cluster import SpecError
from fastpath.model.costs import CLASS_OPS, FIGURES, CpuModel, figures_table, resolve_cpu
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec, to_spec

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_class_has_cores_a_clock_and_its_operations_each_sourced_or_a_placeholder():
    for cls, figs in FIGURES.items():
        assert set(figs) == {"cores", "ghz", *CLASS_OPS[cls]}, cls
        for name, f in figs.items():
            assert f.value > 0 and f.unit
            assert f.placeholder == (f.source is None)
            assert f.source or f.note, f"{cls}.{name}: a placeholder says how to measure it"
    # the one per-packet figure with a public source: OVS's kernel datapath, 1.88 Mpps a core
    node = CpuModel()
    assert node.hz_of("node", "any") / node.value("node", "switch") == pytest.approx(1.88e6, rel=1e-3)


def test_placeholders_are_named_until_set():
    m = CpuModel()
    assert "host.switch" in m.placeholders() and "node.switch" not in m.placeholders()
    m2 = resolve_cpu({"host": {"switch": 700}, "cores": {"esx-1": 8}})
    assert "host.switch" not in m2.placeholders() and m2.value("host", "switch") == 700
    assert m2.cores_of("host", "esx-1") == 8 and m2.cores_of("host", "esx-2") == FIGURES["host"]["cores"].value
    assert resolve_cpu(m2, {"host": {"route": 99}}).given == {"host": {"switch": 700, "route": 99}}


@pytest.mark.parametrize("cpu, path", [
    ({"hosts": {}}, "capacity.cpu.hosts"), ({"node": {"route": 1}}, "capacity.cpu.node.route"),
    ({"edge": {"lb": 0}}, "capacity.cpu.edge.lb"), ({"edge": {"lb": True}}, "capacity.cpu.edge.lb"),
    ({"host": 3}, "capacity.cpu.host"), ({"cores": {"esx-9": 2}}, "capacity.cpu.cores.esx-9"),
    ({"cores": {"worker-1": "many"}}, "capacity.cpu.cores.worker-1"),
])
def test_bad_cpu_figures_name_the_field(cpu, path):
    s = copy.deepcopy(SEED_SPEC)
    s["capacity"] = {"cpu": cpu}
    with pytest.raises(SpecError) as e:
        from_spec(s)
    assert e.value.path == path, str(e.value)


def test_the_spec_round_trips_its_cpu_figures():
    s = copy.deepcopy(SEED_SPEC)
    s["capacity"] = {"cpu": {"host": {"cores": 8, "dfw_new": 3000}, "cores": {"edge-1": 16, "worker-1": 2}}}
    c = from_spec(s)
    assert to_spec(c)["capacity"]["cpu"] == {"host": {"cores": 8.0, "dfw_new": 3000.0},
                                             "cores": {"edge-1": 16.0, "worker-1": 2.0}}
    assert from_spec(to_spec(c)).capacity == c.capacity


def test_the_readme_table_is_the_figures_table():
    text = README.read_text()
    rows = re.findall(r"^\| `(\w+)\.(\w+)` \| ([\d,.]+) (\w+) \| (placeholder|sourced: .*) \|$", text, re.M)
    assert [(c, f, float(v.replace(",", "")), u, s == "placeholder") for c, f, v, u, s in rows] == \
        [(r["class"], r["figure"], r["value"], r["unit"], r["placeholder"]) for r in figures_table()]


def test_show_costs_lists_every_figure_and_what_the_spec_set(tmp_path):
    s = copy.deepcopy(SEED_SPEC)
    s["capacity"] = {"cpu": {"edge": {"lb": 900}, "cores": {"esx-2": 6}}}
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(s))
    r = CliRunner().invoke(main, ["show", "costs", "--cluster", str(spec), "--json"])
    assert r.exit_code == 0, r.output
    rows = {(x["class"], x["figure"]): x for x in json.loads(r.output)}
    assert rows[("edge", "lb")]["value"] == 900 and rows[("edge", "lb")]["status"] == "spec"
    assert rows[("device", "esx-2")]["value"] == 6
    assert rows[("node", "switch")]["status"] == "sourced" and rows[("host", "route")]["status"] == "placeholder"
    assert len(rows) == sum(len(f) for f in FIGURES.values()) + 1
    text = CliRunner().invoke(main, ["show", "costs"]).output
    assert len(text.splitlines()) == sum(len(f) for f in FIGURES.values()) and "placeholder" in text
