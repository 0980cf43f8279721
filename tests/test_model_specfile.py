"""The spec file loader (`fastpath.model.specfile`): what it refuses and where it says the problem
is, the edges of its limits, and the legal files it must not refuse on the way."""

from __future__ import annotations

import json
import os
import stat

import pytest

from fastpath.model import SpecError, load, parse_text
from fastpath.model import spec as spec_module
from fastpath.model import specfile
from fastpath.model.specfile import ALIAS_FACTOR, MAX_ALIAS_NODES, MAX_DEPTH, read_spec


def refused(text: str, source: str = "s.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_text(text, source)
    assert "\n" not in str(info.value)
    return info.value


def refused_file(path) -> SpecError:
    with pytest.raises(SpecError) as info:
        read_spec(path)
    assert "\n" not in str(info.value)
    return info.value


def test_parse_text_and_load_stay_where_they_were():
    assert spec_module.parse_text is parse_text is specfile.parse_text
    assert spec_module.load is load


# ---- the file ---------------------------------------------------------------------------------
def test_a_bom_is_skipped_and_offsets_count_from_after_it(tmp_path):
    f = tmp_path / "s.json"
    f.write_bytes(b'\xef\xbb\xbf{"hosts": [],\n "hosts": []}')
    assert refused_file(f).path == f"{f}:2:2"
    f.write_bytes(b"\xef\xbb\xbfhosts: []\n")
    assert read_spec(f) == {"hosts": []}
    f.write_bytes(b"\xef\xbb\xbfhosts: []\n\x00")
    assert refused_file(f).message == "not a text spec file (byte 0x00 at offset 13)"


@pytest.mark.parametrize("data, byte, offset, why", [
    (b"hosts: []\n\x00\x00", 0x00, 10, ""),
    (b"hosts: [caf\xe9]\n", 0xE9, 11, " is not UTF-8"),
    (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 0xD4, 0, " is not UTF-8"),  # a pcap's header
    (b"a: 1\n\x1b[31mred\n", 0x1B, 5, ""),
    (b"a: \xe2\x82\n\x00", 0xE2, 3, " is not UTF-8"),  # the first bad byte wins: a cut UTF-8 sequence
    (b"a: 1\x00 \xff", 0x00, 4, ""),
    (b"\xff\xfea\x00:\x00", 0xFF, 0, ": a UTF-16 byte-order mark, save the file as UTF-8"),
])
def test_not_text_names_the_first_bad_byte(tmp_path, data, byte, offset, why):
    f = tmp_path / "s.yaml"
    f.write_bytes(data)
    err = refused_file(f)
    assert (err.path, err.message) == (str(f), f"not a text spec file (byte 0x{byte:02x} at offset {offset}{why})")


def test_tabs_crlf_and_non_ascii_text_are_text(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_bytes("cluster: {name: \"caf\u00e9 \u2192 \U0001f680\"}\r\nhosts:\t[]\r\n".encode())
    assert read_spec(f) == {"cluster": {"name": "caf\u00e9 \u2192 \U0001f680"}, "hosts": []}


def test_the_size_cap_is_exact(tmp_path, monkeypatch):
    monkeypatch.setattr(specfile, "MAX_SPEC_BYTES", 64)
    f = tmp_path / "s.yaml"
    f.write_text("hosts: []" + " " * 54 + "\n")  # 64 bytes
    assert read_spec(f) == {"hosts": []}
    f.write_text("hosts: []" + " " * 55 + "\n")
    assert refused_file(f).message == "65 bytes; a spec file may have at most 64 (0 MiB)"


def test_a_file_that_says_it_is_empty_is_read_no_further_than_the_cap(tmp_path, monkeypatch):
    """/proc files say st_size 0 and may go on: the read stops at the cap plus one byte."""
    monkeypatch.setattr(specfile, "MAX_SPEC_BYTES", 1000)
    reads = []
    real_read = os.read
    monkeypatch.setattr(specfile.os, "fstat", lambda fd: os.stat_result((stat.S_IFREG | 0o644,) + (0,) * 9))
    monkeypatch.setattr(specfile.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    f = tmp_path / "s.yaml"
    f.write_text("# x\n" * 10_000)
    assert refused_file(f).message == "more than 1,000 bytes; a spec file may have at most 1,000 (0 MiB)"
    assert sum(reads) == 1001


@pytest.mark.parametrize("make, says", [
    (lambda d: d, "is a directory, not a spec file"),
    (lambda d: (os.mkfifo(d / "fifo"), d / "fifo")[1], "not a regular file (a FIFO): a spec is read from a file"),
    (lambda d: d / "missing.yaml", "cannot read spec: No such file or directory"),
])
def test_what_is_not_a_file_is_not_read(tmp_path, make, says):
    path = make(tmp_path)
    err = refused_file(path)
    assert (err.path, err.message) == (str(path), says)


def test_a_character_device_is_not_read():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert refused_file("/dev/zero").message == "not a regular file (a character device): a spec is read from a file"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n...\n", "null\n", "~\n"])
def test_an_empty_spec_says_so(text):
    assert refused(text).message.startswith("the spec is empty")


# ---- nesting ----------------------------------------------------------------------------------
def nested_json(levels: int) -> str:
    return '{"x": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"  # the top object is level 1


def nested_yaml_flow(levels: int) -> str:
    return "x: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def nested_yaml_block(levels: int) -> str:
    """x: {k0: {k1: ... [1]}} in block style, one level a line, the list on line ``levels``."""
    return "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(levels - 2)) + "  " * (levels - 1) + "- 1\n"


@pytest.mark.parametrize("nested", [nested_json, nested_yaml_flow, nested_yaml_block])
def test_nesting_up_to_the_limit_loads_one_more_is_refused(nested):
    assert "x" in parse_text(nested(MAX_DEPTH))
    err = refused(nested(MAX_DEPTH + 1))
    assert err.message == f"nesting deeper than {MAX_DEPTH}"


@pytest.mark.parametrize("text, where", [
    (nested_json(MAX_DEPTH + 1), f"s.yaml:1:{6 + MAX_DEPTH}"),  # the bracket that opens level 65
    (nested_yaml_flow(MAX_DEPTH + 1), f"s.yaml:1:{3 + MAX_DEPTH}"),
    (nested_yaml_block(MAX_DEPTH + 1), f"s.yaml:{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}"),
    ('{"caf\u00e9": 1,\n "\u2192": ' + "[" * 100 + "]" * 100 + "}", f"s.yaml:2:{7 + MAX_DEPTH - 1}"),  # columns in characters
])
def test_nesting_is_refused_where_it_goes_too_deep(text, where):
    assert refused(text).path == where


@pytest.mark.parametrize("levels", [10_000, 1_000_000])
@pytest.mark.parametrize("nested", [nested_json, nested_yaml_flow,
                                    lambda n: "x:\n" + "- " * n + "1\n"])  # compact block sequences
def test_no_depth_reaches_a_parser_recursion(nested, levels):
    """A million levels: refused before json's RecursionError or PyYAML's C stack overflow."""
    assert refused(nested(levels)).message == f"nesting deeper than {MAX_DEPTH}"


def test_brackets_in_json_strings_are_not_nesting():
    deep_text = "[" * 1000 + "}" * 1000 + "]" * 1000
    assert parse_text(json.dumps({"a": deep_text, "b": '\\"[[[[', "c": "\\"}))["a"] == deep_text
    hidden = json.dumps({"a": "]" * 100, "b": 'x"]]]]]]]]]]\\'})[:-1] + ', "c": ' + "[" * 70 + "]" * 70 + "}"
    assert refused(hidden).message == f"nesting deeper than {MAX_DEPTH}"  # closers in strings hide nothing


def test_aliases_nest_their_anchors_levels_where_they_stand():
    """A chain of anchors each wrapping the one before nests a level per link, though each line
    is two levels deep: the nesting counts through the aliases (else pydantic, repr and PyYAML's
    merge flattening recurse once per link)."""
    def chain(links):
        return "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, links))

    spec = parse_text(chain(MAX_DEPTH - 1))  # a62 is 63 levels, at level 2 of the top mapping: 64
    assert spec["a2"] == [[[1]]]
    err = refused(chain(MAX_DEPTH))
    assert (err.path, err.message) == (f"s.yaml:{MAX_DEPTH}:12",
                                       f"nesting deeper than {MAX_DEPTH} (alias *a62 nests 63 levels here)")
    merges = "a0: &a0 {x: 1}\n" + "".join(f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: 1}}\n" for i in range(1, 500))
    assert refused(merges).message.startswith(f"nesting deeper than {MAX_DEPTH} (alias *a62")


# ---- size -------------------------------------------------------------------------------------
def test_a_yaml_spec_may_have_so_many_nodes(monkeypatch):
    monkeypatch.setattr(specfile, "MAX_YAML_NODES", 10)
    assert parse_text("a: [1, 2, 3]\nb: {c: 4}\n") == {"a": [1, 2, 3], "b": {"c": 4}}  # 10 nodes
    err = refused("a: [1, 2, 3]\nb: {c: 4}\nd: 5\n")
    assert err.path == "s.yaml:3:1" and err.message.startswith("more than 10 YAML nodes")
    assert "write a spec this big as JSON" in err.message
    assert refused("a: [[], [], [], [], [], [], [], [], []]\n").path == "s.yaml:1:33"  # empty lists count
    assert len(parse_text('{"a": [' + ", ".join(["1"] * 1000) + "]}")["a"]) == 1000  # JSON has no such limit


# ---- duplicate keys ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, where, key, first", [
    ("pods: []\nhosts: []\npods: [1]\n", "s.yaml:3:1", "pods", 1),
    ("pods:\n- name: a\n  ip: 10.0.0.1\n- name: b\n  ip: 10.0.0.2\n  ip: 10.0.0.3\n", "s.yaml:6:3", "ip", 5),
    ("a: {x: 1, y: 2, x: 3}\n", "s.yaml:1:17", "x", 1),
    ("1: a\n0x1: b\n", "s.yaml:2:1", 1, 1),  # equal once constructed
    ("d: &d {x: 1}\ne: {<<: *d, y: 1, y: 2}\n", "s.yaml:2:19", "y", 2),
    ("d: &d {x: 1}\ne: {<<: *d, <<: *d}\n", "s.yaml:2:13", "<<", 2),
    ('{"pods": [],\n "hosts": [],\n "pods": [1]}', "s.yaml:3:2", "pods", 1),
    ('{"pods": [{"name": "a", "ip": 1},\n  {"note": "\\"ip\\": 0", "ip": 2,\n   "ip": 3}]}', "s.yaml:3:4", "ip", 2),
    ('{"a": {"k": 1}, "b": {"k": 1, "j": {"k": 2}, "k": 2}}', "s.yaml:1:46", "k", 1),
    ('{"a": {"x": 1}, "b": {"y": 1}, "a": {"x": 2}}', "s.yaml:1:32", "a", 1),
])
def test_a_duplicate_key_names_both_lines(text, where, key, first):
    err = refused(text)
    assert (err.path, err.message) == (where, f"duplicate key {key!r} (first at line {first})")


def test_a_json_duplicate_key_after_non_ascii_text():
    err = refused('{"caf\u00e9": {"\u2192": 1,\n  "\u2192": 2}}')
    assert (err.path, err.message) == ("s.yaml:2:3", "duplicate key '\u2192' (first at line 1)")


def test_a_json_duplicate_written_with_escapes_names_the_object():
    err = refused('{"hosts": [],\n "pods": {"ip": 1, "\\u0069p": 2}}')
    assert (err.path, err.message) == ("s.yaml:2:10", "duplicate key 'ip' (first at line 2)")


def test_merge_keys_still_override_and_equal_strings_in_values_are_no_keys():
    spec = parse_text("d: &d {x: 1, y: 1}\ne: {<<: *d, y: 2}\nf: [x, x]\ng: {a: x, b: x}\n")
    assert spec["e"] == {"x": 1, "y": 2}
    assert parse_text('{"a": "k", "b": "k", "c": {"a": 1}}') == {"a": "k", "b": "k", "c": {"a": 1}}


# ---- aliases ----------------------------------------------------------------------------------
def laughs(levels: int, fan: int = 9) -> str:
    return "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]\n"
                                    for i in range(1, levels + 1))


def test_an_alias_bomb_is_refused_at_the_alias():
    err = refused(laughs(9))
    assert err.path == "s.yaml:6:40"  # the seventh *l4 of l5 passes 100,000 nodes
    assert err.message.startswith("alias *l4 expands the spec to ")
    assert f"({MAX_ALIAS_NODES:,} + {ALIAS_FACTOR} x the" in err.message


def test_aliases_up_to_the_limit_load():
    """l1..l5 of fan 9 alias 36 + 333 + ... nodes: the largest fan-9 tree under the limit loads, shared."""
    spec = parse_text(laughs(4))
    assert spec["l4"][0] is spec["l4"][8] and len(spec["l4"]) == 9


def test_templates_in_every_pod_are_no_bomb():
    """40,000 pods each merging a 6-key template: aliases add more than MAX_ALIAS_NODES, but a
    few times what is written (16 nodes a pod for 4), so it loads."""
    pods = "".join(f"- {{<<: *t, name: p{i}}}\n" for i in range(40_000))
    text = "t: &t {namespace: web, node: n1, vlan: 3, mtu: 1500, labels: {app: web}, max_pods: 9}\npods:\n" + pods
    spec = parse_text(text)
    assert len(spec["pods"]) == 40_000 and spec["pods"][-1]["labels"] == {"app": "web"}


@pytest.mark.parametrize("text, where, says", [
    ("a: &a [1, *a]\n", "s.yaml:1:11", "alias *a is inside the collection it names (a cycle)"),
    ("a: &a {b: {c: *a}}\n", "s.yaml:1:15", "alias *a is inside the collection it names (a cycle)"),
    ("a: *nowhere\n", "s.yaml:1:4", "alias *nowhere names no anchor before it"),
    ("a: [*b, &b 1]\n", "s.yaml:1:5", "alias *b names no anchor before it"),
    ("a: &b 1\nc: [&b 2]\n", "s.yaml:2:5", "anchor &b defined twice (first at line 1)"),
])
def test_cycles_and_undefined_aliases(text, where, says):
    err = refused(text)
    assert (err.path, err.message) == (where, says)


# ---- integers ---------------------------------------------------------------------------------
LIMIT = specfile._max_digits()


@pytest.mark.parametrize("json_text", [False, True])
def test_integers_up_to_the_conversion_limit_load_longer_ones_are_named(json_text):
    def doc(digits):
        return ('{"a": 1,\n "b": %s}' if json_text else "a: 1\nb: %s\n") % ("7" * digits)

    assert parse_text(doc(LIMIT))["b"] == int("7" * LIMIT)
    err = refused(doc(LIMIT + 1))
    assert (err.path, err.message) == ("s.yaml:2:7" if json_text else "s.yaml:2:4",
                                       f"an integer of {LIMIT + 1:,} digits (at most {LIMIT:,})")


@pytest.mark.parametrize("scalar", ["0x" + "f" * 4000, "0" + "7" * 5000, "0b" + "1" * 15000, ":".join(["59"] * 3000)])
def test_yaml_integers_in_other_bases_that_could_not_be_printed_are_refused(scalar):
    """Hex, octal, binary and base 60 convert without a limit, but the number could never be
    printed in an error message: refused the same way."""
    err = refused(f"a: {scalar}\n")
    assert err.path == "s.yaml:1:4" and err.message.startswith("an integer of ")


def test_long_floats_and_strings_of_digits_are_no_integers():
    spec = parse_text(f"a: 1.{'5' * 6000}\nb: '{'9' * 6000}'\n")
    assert spec["a"] == pytest.approx(1.5555555) and spec["b"] == "9" * 6000


# ---- YAML-only types --------------------------------------------------------------------------
@pytest.mark.parametrize("text, where, tag", [
    ("a: !!binary aGVsbG8=\n", "s.yaml:1:4", "binary"),
    ("a: !!set {x, y}\n", "s.yaml:1:4", "set"),
    ("a: !!omap [{x: 1}]\n", "s.yaml:1:4", "omap"),
    ("a:\n  b: !!pairs [{x: 1}, {x: 2}]\n", "s.yaml:2:6", "pairs"),
])
def test_yaml_only_types_are_no_spec_values(text, where, tag):
    err = refused(text)
    assert (err.path, err.message) == (where, f"!!{tag} is not a spec value (a spec holds strings, numbers, "
                                               "booleans, null, lists and mappings)")


def test_a_date_like_name_stays_text():
    """``2021-01-01`` is a valid Kubernetes name; YAML 1.1 would make it a date."""
    spec = parse_text("pods: [{name: 2021-01-01, namespace: web}]\nat: 2001-12-14t21:59:43.10-05:00\n")
    assert spec == {"pods": [{"name": "2021-01-01", "namespace": "web"}], "at": "2001-12-14t21:59:43.10-05:00"}
