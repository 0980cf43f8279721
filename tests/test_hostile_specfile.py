"""Hostile spec *files*: what the loader (`fastpath.model.specfile`) refuses before any parser or
schema sees the data — not text, not a regular file, too big, too deep, alias bombs, duplicate
keys, integers Python cannot convert.

Small ones are files tests/hostile/specs/load-*; the first line of a text one says a piece of the
one error line (``# expect: ...``), binary and JSON ones say it in specs/expect.txt. Big or
generated ones (a million levels, a sparse file past the size cap, a FIFO) are made here in
tmp_path. Each is refused by ``fastpath check`` (or ``--cluster``) as the catalogue's harness
asserts: one line naming the file, exit 2, no traceback, within the memory budget.

The second half: files that are unusual but legal (a BOM, CRLF line endings, anchors used a few
times, a big generated JSON) still load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from fastpath.model import default_scenario, dump, generate, load, to_spec
from fastpath.model.specfile import MAX_ALIAS_NODES, MAX_DEPTH, MAX_SPEC_BYTES

SPECS_DIR = Path(__file__).parent / "hostile" / "specs"
SPECS = sorted(SPECS_DIR.glob("load-*"))


def expectation(path: Path) -> str:
    listed = dict(line.split(": ", 1) for line in (SPECS_DIR / "expect.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    if path.name in listed:
        return listed[path.name]
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name}: say what it expects on its first line or in expect.txt"
    return first[len("# expect: "):]


def test_the_catalogue_is_there():
    assert len(SPECS) >= 20


@pytest.mark.parametrize("spec", SPECS, ids=[p.name[len("load-"):] for p in SPECS])
def test_hostile_spec_file_is_refused_in_one_line(reject, spec):
    reject("check", spec, expect=(f"{spec}", expectation(spec)))


# ---- made here: big, generated, or not files at all ----------------------------------------------
def _deep_json(path: Path, levels: int) -> Path:
    path.write_text('{"pods": ' + "[" * levels + "]" * levels + "}")
    return path


def _deep_yaml_flow(path: Path, levels: int) -> Path:
    path.write_text("pods: " + "[" * levels + "]" * levels + "\n")
    return path


def _broken_pods(path: Path, n: int) -> Path:
    """A JSON spec of ``n`` pods, every one with a VLAN that is not a number."""
    pods = [{"name": f"p{i}", "namespace": "a", "node": "n", "vlan": "x"} for i in range(n)]
    path.write_text(json.dumps({"hosts": [{"name": "h"}], "pods": pods}))
    return path


def _deep_yaml_block(path: Path, levels: int) -> Path:
    path.write_text("pods:\n" + "- " * levels + "x\n")  # compact nested sequences, 2 bytes a level
    return path


def _laughs(path: Path, levels: int, where: str) -> Path:
    """The billion laughs: ``levels`` anchors of nine aliases each, the last one used at ``where``."""
    text = "l0: &l0 [[64, 1]]\n" + "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
                                            for i in range(1, levels + 1))
    path.write_text(text + where.replace("BOMB", f"*l{levels}") + "\n")
    return path


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _sparse(path: Path, size: int, head: bytes = b"hosts: []\n") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


GENERATED = {
    "json-nested-a-million-deep": (lambda d: _deep_json(d / "deep.json", 1_000_000), ":1:73: nesting deeper than 64"),
    # (line 1; the column is level 65's, or with libyaml >= 0.2.6 where its own 1,000-level
    # limit stopped its look-ahead)
    "yaml-flow-nested-a-million-deep": (lambda d: _deep_yaml_flow(d / "deep.yaml", 1_000_000),
                                        ("deep.yaml:1:", ": nesting deeper than 64")),
    "yaml-block-nested-200k-deep": (lambda d: _deep_yaml_block(d / "deep.yaml", 200_000),
                                    ":2:127: nesting deeper than 64"),
    "alias-bomb-billion-laughs-in-sizes": (
        lambda d: _laughs(d / "bomb.yaml", 9, "traffic: {profiles: [{name: web, kind: uniform, sizes: BOMB}]}"),
        "alias *l4 expands the spec"),
    "alias-bomb-under-pods-labels": (
        lambda d: _laughs(d / "bomb.yaml", 12, "pods: [{name: p, namespace: n, node: x, labels: {a: BOMB}}]"),
        "alias *l4 expands the spec"),
    "yaml-list-of-a-million-items": (lambda d: _written(d / "list.yaml", b"hosts: [" + b"1, " * 1_000_000 + b"]\n"),
                                     ":1:3000000: more than 1,000,000 YAML nodes"),
    "file-past-the-size-cap": (lambda d: _sparse(d / "huge.yaml", MAX_SPEC_BYTES + 1),
                               f"{MAX_SPEC_BYTES + 1:,} bytes; a spec file may have at most {MAX_SPEC_BYTES:,}"),
    "sparse-json-past-the-size-cap": (lambda d: _sparse(d / "huge.json", 8 * MAX_SPEC_BYTES, b'{"hosts": []'),
                                      "bytes; a spec file may have at most"),
    "ten-megabytes-of-random-bytes": (lambda d: _written(d / "random.yaml", os.urandom(10 << 20)),
                                      "not a text spec file (byte 0x"),
    "zeros-file": (lambda d: _sparse(d / "zeros.yaml", 1 << 20, b""), "not a text spec file (byte 0x00 at offset 0)"),
    "a-directory": (lambda d: d, "is a directory, not a spec file"),
    "a-fifo": (lambda d: (os.mkfifo(d / "spec.yaml"), d / "spec.yaml")[1], "not a regular file (a FIFO)"),
    "a-missing-file": (lambda d: d / "missing.yaml", "cannot read spec: No such file or directory"),
}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_hostile_file_is_refused_in_one_line(reject, tmp_path, name):
    make, expect = GENERATED[name]
    path = make(tmp_path)
    reject("check", path, expect=(str(path), *((expect,) if isinstance(expect, str) else expect)))


@pytest.mark.parametrize("device, kind", [("/dev/zero", "a character device"), ("/dev/urandom", "a character device"),
                                          ("/dev/null", "a character device")])
def test_a_device_is_not_read(reject, device, kind):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    reject("check", device, expect=(f"{device}: not a regular file ({kind})",))


@pytest.mark.parametrize("command", [["trace", "default/nginx-1", "web/frontend-1"], ["run", "--packets", "100"],
                                     ["demo", "--out", "DIR/demo"], ["capture", "--at", "pod", "--out", "DIR/x.pcap", "--packets", "10"]],
                         ids=["trace", "run", "demo", "capture"])
def test_every_command_loads_through_the_same_door(reject, tmp_path, command):
    """--cluster of trace, run, demo and capture: the same one line as `check` (here an alias bomb)."""
    bomb = _laughs(tmp_path / "bomb.yaml", 9, "hosts: BOMB")
    args = [a.replace("DIR", str(tmp_path)) for a in command]
    reject(*args, "--cluster", bomb, expect=(f"{bomb}:", "alias *l4 expands the spec"))


# ---- legal but unusual -------------------------------------------------------------------------
def _seed_yaml() -> str:
    return yaml.safe_dump(to_spec(default_scenario()), sort_keys=False, default_flow_style=None, width=120)


def _summary(res) -> dict:
    assert res.returncode == 0, res
    return json.loads(res.stdout)


SEED_PODS = len(default_scenario().pods)

UNUSUAL = {
    "yaml-with-a-utf8-bom": lambda: b"\xef\xbb\xbf" + _seed_yaml().encode(),
    "json-with-a-utf8-bom": lambda: b"\xef\xbb\xbf" + json.dumps(to_spec(default_scenario()), indent=1).encode(),
    "yaml-with-crlf-line-endings": lambda: _seed_yaml().replace("\n", "\r\n").encode(),
    "json-with-crlf-line-endings": lambda: json.dumps(to_spec(default_scenario()), indent=1).replace("\n", "\r\n").encode(),
    "json-minified-on-one-line": lambda: json.dumps(to_spec(default_scenario()), separators=(",", ":")).encode(),
    "yaml-with-tabs-and-comments": lambda: ("# a comment\n" + _seed_yaml().replace("\n", "  # trailing\n", 3)
                                            + "# the end\n").encode(),
}


@pytest.mark.parametrize("name", UNUSUAL)
def test_unusual_but_legal_file_loads(fastpath_cli, tmp_path, name):
    path = tmp_path / ("spec.json" if name.startswith("json") else "spec.yaml")
    path.write_bytes(UNUSUAL[name]())
    assert _summary(fastpath_cli("check", path))["pods"] == SEED_PODS


def test_anchors_used_a_few_times_load(fastpath_cli, tmp_path):
    """A pod used as a template (merged, then overridden), a label map and a size histogram each
    shared a few times: legal YAML, and every use carries the anchor's values."""
    path = tmp_path / "anchors.yaml"
    path.write_text("""\
hosts: [{name: esx-1}, {name: esx-2}]
nodes: [{name: n1, host: esx-1}, {name: n2, host: esx-2}]
namespaces: [{name: web}, {name: db}]
pods:
- &web {name: web-1, namespace: web, node: n1, labels: &labels {app: web, tier: front}}
- {<<: *web, name: web-2}
- {<<: *web, name: web-3, node: n2}
- {name: db-1, namespace: db, node: n2, labels: *labels}
traffic:
  profiles:
  - {name: small, kind: uniform, sizes: &hist [[64, 6], [576, 3], [1500, 1]]}
  - {name: same, kind: uniform, sizes: *hist}
  - {name: mixed, kind: locality, sizes: *hist}
""")
    assert _summary(fastpath_cli("check", path))["pods"] == 4
    spec = to_spec(load(path))
    pods = {p["name"]: p for p in spec["pods"]}
    assert [(pods[n]["namespace"], pods[n]["node"]) for n in ("web-1", "web-2", "web-3", "db-1")] == \
        [("web", "n1"), ("web", "n1"), ("web", "n2"), ("db", "n2")]
    assert pods["web-3"]["labels"] == pods["db-1"]["labels"] == {"app": "web", "tier": "front"}
    assert [p["sizes"] for p in spec["traffic"]["profiles"]] == [[[64, 6], [576, 3], [1500, 1]]] * 3


def test_a_big_generated_json_loads(fastpath_cli, tmp_path):
    """20,000 pods written by `dump` (3 MB of JSON): loads, and exactly what was written."""
    c = generate(20, 4, 20, 250, seed=3)
    path = tmp_path / "big.json"
    dump(c, path)
    assert path.stat().st_size > 2 << 20
    summary = _summary(fastpath_cli("check", path))
    assert (summary["pods"], summary["nodes"], summary["hosts"]) == (len(c.pods), 80, 20)


def test_limits_are_far_above_a_real_spec():
    """The documented limits leave room: the 1M-pod generated JSON is ~150 MB, a spec nests 5 deep."""
    assert MAX_SPEC_BYTES >= 200 << 20 and MAX_DEPTH >= 32 and MAX_ALIAS_NODES >= 10_000


def test_a_spec_of_300k_broken_pods_is_refused_at_the_first(reject, tmp_path):
    """The schema stops at the first bad pod: collecting 300,000 errors cost ~0.5 GB and seconds."""
    reject("check", _broken_pods(tmp_path / "broken.json", 300_000), expect="pods[0].vlan: input should be a valid integer")

