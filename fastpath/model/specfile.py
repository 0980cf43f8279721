"""Spec file -> dict: the one door every spec comes in by, and what it refuses at the door.

A spec arrives as a file a person typed or another system exported, so anything may be in it.
Before any parser runs, the file itself is checked: it must be a regular file (a directory, FIFO
or device such as /dev/zero is refused after one ``fstat``, nothing read), at most
`MAX_SPEC_BYTES` (read as at most that many bytes plus one, never an unbounded stream), and
UTF-8 text (a BOM is allowed; a NUL or other C0 control byte means binary: a pcap, an archive).

Then the text is parsed, JSON by ``json.loads`` (text that starts with ``{``: ten times quicker
than YAML on big clusters) and everything else by PyYAML's C loader; both are kept, and what
they cannot bound by themselves is bounded around them:

* **Nesting.** Both parsers recurse once per level (PyYAML's C composer has no limit at all and
  dies of a stack overflow near 100,000 levels). So depth is measured *before* they run, beyond
  `MAX_DEPTH` levels the file is refused at the collection that goes one too deep. JSON: the
  bytes are cut down to quotes and brackets (``bytes.translate``) and numpy counts the depth of
  the brackets outside strings — a fraction of ``json.loads``'s own time. YAML: one pass over
  libyaml's events (no composing, no recursion), which also sees every alias — and an alias
  nests its anchor's levels where it stands (a chain of anchors is as deep as it expands).
* **Aliases.** An alias costs nothing to parse but stands for its anchor's whole subtree, and
  everything downstream (validation, error messages) walks the tree as if written out: nine
  nested anchors of ten aliases each make 10^9 nodes from a kilobyte. The event pass counts the
  nodes each alias stands for and refuses the spec at the alias that makes them more than
  `MAX_ALIAS_NODES` plus `ALIAS_FACTOR` times the nodes actually written — a template
  (``<<: *defaults``) merged into every pod stays legal, exponential growth does not. An alias
  to a collection that contains it, to no anchor, or an anchor defined twice is refused too.
* **Size.** PyYAML holds some 0.8 KB for every node it composes, so a YAML spec may have at
  most `MAX_YAML_NODES` (about 77,000 pods, counted by the same event pass, which stops there);
  bigger clusters are written as JSON, which ``generate`` does and which loads ten times quicker.
* **Duplicate keys.** YAML and ``json`` both let the last of two equal keys win, silently; here
  either is an error naming both lines. YAML: the mapping constructor compares the number of
  keys it built with the number written. JSON: ``object_pairs_hook`` does the same (some 40%
  of ``json.loads``'s own time, 2% of loading a spec); only when it finds one does
  a second parse say which object, and the bytes where its two keys are.
* **YAML-only types.** ``!!binary``, ``!!set``, ``!!omap`` and ``!!pairs`` have no meaning in a
  spec (it is JSON-shaped) and are refused where they stand; a timestamp (``2021-01-01``, also a
  valid Kubernetes name) stays text.
* **Huge integers.** Python refuses to convert decimal strings over 4,300 digits; that
  ``ValueError`` becomes one line naming the place, for JSON and YAML alike. YAML's hex, octal
  and base-60 integers convert without a limit but could never be printed in an error message:
  refused past the same number of digits.

**Several YAML documents.** The first is the spec; each later one is a NetworkPolicy or a List
of them (``kubectl get networkpolicy -o yaml`` output pasted after a ``---``), appended to the
spec's ``networkpolicies`` as a `Document` that remembers where it came from, so its errors say
``FILE (document 2, line 12).spec...``. Empty documents are skipped; the limits above count the
whole stream.

Every refusal is a `SpecError` whose path is ``FILE`` or ``FILE:LINE:COL`` (columns count
characters, from 1, as the parsers' own errors do).
"""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
import sys
from pathlib import Path

import numpy as np
import yaml
from yaml import events as ev
from yaml.nodes import MappingNode

from .cluster import SpecError

MAX_SPEC_BYTES = 256 << 20  # a 1M-pod generated JSON spec is ~150 MB
MAX_DEPTH = 64  # a real spec nests 6 deep ({traffic: {profiles: [{sizes: [[64, 1]]}]}})
MAX_ALIAS_NODES = 100_000  # nodes aliases may add to a spec, beyond ALIAS_FACTOR x the nodes written
ALIAS_FACTOR = 10  # a template merged into every pod adds ~4x; a bomb, 10^9x
MAX_YAML_NODES = 1_000_000  # ~77,000 pods; PyYAML holds ~0.8 KB a node (JSON takes the big ones)
YAML_NODES_PER_POD = 13  # a pod's mapping, its six keys and six values, at the least (labels add more)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 controls but tab, LF, CR
_NOT_CONTROL = bytes(c for c in range(256) if not _CONTROL.match(bytes([c])))


# ---- the file ---------------------------------------------------------------------------------
def read_spec(path: str | Path) -> dict:
    """Read a spec file (YAML or JSON) into a dict, or raise one `SpecError` saying why not."""
    source = str(path)
    data = _read_bytes(source)
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    data = data[bom:]  # columns count from after it, as an editor does
    _check_text(data, source, bom)
    if _JSON_BYTES.match(data):
        return _mapping(_parse_json(data.decode("utf-8"), source, data), source)
    return _mapping(_parse_yaml(data, source), source)  # libyaml reads the bytes: no copy of a big file


def _read_bytes(source: str) -> bytes:
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SpecError(source, f"cannot read spec: {exc.strerror}") from None
    try:
        mode = os.fstat(fd)
        if stat.S_ISDIR(mode.st_mode):
            raise SpecError(source, "is a directory, not a spec file")
        if not stat.S_ISREG(mode.st_mode):
            raise SpecError(source, f"not a regular file ({_kind(mode.st_mode)}): a spec is read from a file")
        if mode.st_size > MAX_SPEC_BYTES:
            raise SpecError(source, _too_big(mode.st_size))
        chunks, size = [], 0
        while size <= MAX_SPEC_BYTES:  # the whole file in the first read, as a rule: no join, no copy
            chunk = os.read(fd, min(MAX_SPEC_BYTES + 1 - size, max(mode.st_size + 1 - size, 1 << 20)))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SpecError(source, f"cannot read spec: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > MAX_SPEC_BYTES:  # grew while read (or /proc-like, st_size 0)
        raise SpecError(source, _too_big(size, at_least=True))
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _too_big(size: int, at_least: bool = False) -> str:
    return (f"{f'more than {MAX_SPEC_BYTES:,}' if at_least else f'{size:,}'} bytes; a spec file may have at most "
            f"{MAX_SPEC_BYTES:,} ({MAX_SPEC_BYTES >> 20} MiB)")


def _check_text(data: bytes, source: str, bom: int = 0) -> None:
    """UTF-8 without control bytes, or `FILE: not a text spec file (...)` (offsets in the file:
    ``bom`` bytes before ``data``)."""
    bad = _CONTROL.search(data) if data.translate(None, _NOT_CONTROL) else None  # translate: 8x quicker
    try:
        if not data.isascii():  # (ASCII is UTF-8: no copy to check it)
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if bad is None or bad.start() > exc.start:
            why = ": a UTF-16 byte-order mark, save the file as UTF-8" if data[:2] in (b"\xff\xfe", b"\xfe\xff") \
                else " is not UTF-8"
            raise SpecError(source, f"not a text spec file (byte 0x{data[exc.start]:02x} at offset {bom + exc.start}{why})")
    else:
        if bad is None:
            return
    raise SpecError(source, f"not a text spec file (byte 0x{data[bad.start()]:02x} at offset {bom + bad.start()})")


# ---- text -------------------------------------------------------------------------------------
def parse_text(text: str, source: str = "<spec>") -> dict:
    """YAML or JSON text -> dict; malformed input is one `SpecError` with line and column.
    JSON (text starting with ``{``) takes the fast json parser: 10x quicker on big clusters."""
    spec = _parse_json(text, source, None) if _JSON.match(text) else _parse_yaml(text, source)
    return _mapping(spec, source)


_JSON = re.compile(r"\s*\{")
_JSON_BYTES = re.compile(rb"\s*\{")


def _mapping(spec, source: str) -> dict:
    if spec is None:  # nothing, comments, or null
        raise SpecError(source, "the spec is empty (a cluster spec is a mapping: cluster, hosts, nodes, pods, ...)")
    if not isinstance(spec, dict):
        raise SpecError(source, f"a cluster spec must be a mapping, got {type(spec).__name__}")
    return spec


def _where(source: str, text: str | bytes, offset: int) -> str:
    """``FILE:LINE:COL`` of a character offset in ``text`` (or a byte offset in UTF-8 ``bytes``)."""
    nl = "\n" if isinstance(text, str) else b"\n"
    line_start = text.rfind(nl, 0, offset) + 1
    head = text[line_start:offset]
    col = len(head) if isinstance(head, str) else len(head.decode("utf-8", "replace"))
    return f"{source}:{text.count(nl, 0, offset) + 1}:{col + 1}"


def _max_digits() -> int:
    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300


# ---- JSON -------------------------------------------------------------------------------------
class _DuplicateKey(Exception):
    def __init__(self, key=None, objects=0):
        self.key, self.objects = key, objects  # ``objects``: how many objects json had closed


def _no_duplicates(pairs, dict=dict, len=len):
    """json's object_pairs_hook, as lean as it goes: it runs once per object of a 150 MB spec."""
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _DuplicateKey
    return d


def _which_duplicate(text: str) -> _DuplicateKey:
    """Parse again, counting objects: which key, in the how-manieth object json closed."""
    closed = 0

    def counting(pairs):
        nonlocal closed
        closed += 1
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise _DuplicateKey(k, closed)
            seen.add(k)
        return closed

    try:
        json.loads(text, object_pairs_hook=counting)
    except _DuplicateKey as dup:
        return dup
    raise AssertionError("json found a duplicate key once but not twice")


def _parse_json(text: str, source: str, data: bytes | None) -> dict:
    data = text.encode("utf-8", "surrogatepass") if data is None else data
    index = _JsonIndex(data)
    if index.max_depth() > MAX_DEPTH:
        raise SpecError(_where(source, data, index.too_deep()), f"nesting deeper than {MAX_DEPTH}")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{source}:{exc.lineno}:{exc.colno}", f"malformed JSON: {exc.msg}") from None
    except _DuplicateKey:
        dup = _which_duplicate(text)
        first, second = index.duplicate(dup.key, dup.objects)
        line = data.count(b"\n", 0, first) + 1
        raise SpecError(_where(source, data, second), f"duplicate key {dup.key!r} (first at line {line})") from None
    except ValueError as exc:  # int() over sys.get_int_max_str_digits() digits
        digits = _max_digits()
        m = re.search(rb"-?[0-9]{%d,}" % (digits + 1), data)
        if m is None:
            raise SpecError(source, f"malformed JSON: {exc}") from None
        raise SpecError(_where(source, data, m.start()), f"an integer of {m.end() - m.start():,} digits "
                        f"(at most {digits:,})") from None


_STRUCTURE = np.zeros(256, bool)
_STRUCTURE[list(b'"[]{}')] = True
_NOT_STRUCTURE = bytes(c for c in range(256) if not _STRUCTURE[c])
_OPENS = np.zeros(256, np.int8)
_OPENS[list(b"[{")] = 1
_OPENS[list(b"]}")] = -1
_ESCAPE = re.compile(rb"\\.", re.S)


class _JsonIndex:
    """Where JSON's brackets are and how deep, from the bytes alone: quotes and brackets are kept,
    an escape (``\\"``) first blanked to two harmless bytes so offsets stay the bytes' own."""

    def __init__(self, data: bytes):
        self.data = _ESCAPE.sub(b"..", data) if b"\\" in data else data

    @staticmethod
    def _depths(chars: np.ndarray):
        """Per quote/bracket character: is it a bracket outside strings, and the depth after it."""
        quote = chars == ord('"')
        inside = np.cumsum(quote, dtype=np.uint8) & 1  # parity survives the uint8 wrap-around
        bracket = ~quote & (inside == 0)
        return bracket, np.cumsum(_OPENS[chars[bracket]], dtype=np.int32)

    def max_depth(self) -> int:
        chars = np.frombuffer(self.data.translate(None, _NOT_STRUCTURE), np.uint8)
        _, depth = self._depths(chars)
        return int(depth.max()) if len(depth) else 0

    def _structure(self):
        """Offsets of the brackets outside strings, the depth after each, and the quotes' offsets."""
        data = np.frombuffer(self.data, np.uint8)
        at = np.flatnonzero(_STRUCTURE[data])
        chars = data[at]
        bracket, depth = self._depths(chars)
        return at[bracket], depth, at[chars == ord('"')]

    def too_deep(self) -> int:
        """Offset of the first bracket that opens level MAX_DEPTH + 1."""
        at, depth, _ = self._structure()
        return int(at[np.argmax(depth > MAX_DEPTH)])

    def duplicate(self, key: str, objects: int) -> tuple[int, int]:
        """Offsets of the two ``key``s in the ``objects``-th object to close (json's hook order)."""
        at, depth, quotes = self._structure()
        k = int(np.flatnonzero(np.frombuffer(self.data, np.uint8)[at] == ord("}"))[objects - 1])
        outer = int(depth[k])  # the depth the object's "}" returns to
        before = np.flatnonzero(depth[:k] == outer)  # the object's "{" follows the last of these
        begin, end = int(at[before[-1] + 1] if len(before) else at[0]), int(at[k])
        pattern = re.escape(json.dumps(key, ensure_ascii=False).encode()) + rb"\s*:"
        offs = np.array([begin + m.start() for m in re.finditer(pattern, self.data[begin:end])], np.int64)
        if len(offs):
            n = np.searchsorted(at, offs)  # brackets before each candidate
            level = np.where(n > 0, depth[np.maximum(n - 1, 0)], 0)
            outside = np.searchsorted(quotes, offs) % 2 == 0
            offs = offs[(level == outer + 1) & outside]
        if len(offs) >= 2:
            return int(offs[0]), int(offs[1])
        return begin, begin  # keys written with escapes: name the object


# ---- YAML -------------------------------------------------------------------------------------
def parse_yaml_documents(text: str | bytes, source: str) -> list[tuple[object, str]]:
    """Every document of a YAML stream, checked as a spec file is, as (data, where): the first
    named ``source``, a later one ``source (document N, line L)``; empty documents skipped.
    For readers of other YAML than a spec (kubectl output: `fastpath.importer`)."""
    return _parse_yaml(text, source, raw=True)


def _parse_yaml(text: str | bytes, source: str, *, raw: bool = False):
    try:
        _measure_yaml(text, source)
        loader = _SpecLoader(text, source)
        try:
            docs = []  # (data, line of its first node)
            while loader.check_node():
                node = loader.get_node()
                docs.append((loader.construct_document(node), node.start_mark.line + 1))
        finally:
            loader.dispose()
        if raw:
            return [(d, source if n == 1 else f"{source} (document {n}, line {line})")
                    for n, (d, line) in enumerate(docs, start=1) if d is not None or n == 1] or [(None, source)]
        return _documents(docs, source)
    except UnicodeError:  # a str from elsewhere with lone surrogates
        raise SpecError(source, "not a text spec (characters that are not Unicode text)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if problem == LIBYAML_TOO_DEEP:
            # libyaml >= 0.2.6 stops at 1,000 levels itself, in its scanner, which looks up to
            # 1,024 characters ahead on a line of flow collections (a simple key may follow):
            # then its error comes before our event pass reaches level MAX_DEPTH + 1, and the
            # place named is where libyaml stopped, further along that line
            raise SpecError(where, f"nesting deeper than {MAX_DEPTH}") from None
        if problem.startswith("but ") and getattr(exc, "context", None):  # "expected X" / "but found Y"
            problem = f"{exc.context} {problem}"
        raise SpecError(where, f"malformed YAML: {problem}") from None


LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


class Document(dict):
    """A mapping that came as a later document of a multi-document YAML file; ``where`` names
    it (``FILE (document 2, line 12)``) and `fastpath.policy.parse` starts its error paths there
    instead of at its index in ``networkpolicies``."""

    def __init__(self, data: dict, where: str):
        super().__init__(data)
        self.where = where

    def __reduce__(self):  # copy and pickle keep where it came from
        return (Document, (dict(self), self.where))


def _documents(docs: list, source: str):
    """A YAML stream -> the spec: the first document is the spec; each later one is a
    NetworkPolicy, Service or EndpointSlice (or a List of them, as ``kubectl get -o yaml``
    writes) appended to its section (``networkpolicies``, ``services``, ``endpointslices``),
    marked with where it came from. Empty documents are skipped."""
    if len(docs) <= 1:
        return docs[0][0] if docs else None
    spec = docs[0][0]
    if not isinstance(spec, dict):
        return spec  # _mapping says why
    extra = []
    for n, (d, line) in enumerate(docs[1:], start=2):
        if d is None:
            continue
        where = f"{source} (document {n}, line {line})"
        if not isinstance(d, dict):
            raise SpecError(where, f"a document after the spec must be a NetworkPolicy, Service or EndpointSlice (or a List of them), "
                            f"got {type(d).__name__}")
        if d.get("kind") == "List" and isinstance(d.get("items"), list):  # kubectl get a,b,c -o yaml
            extra.extend((_section(x), Document(x, f"{where}.items[{j}]") if isinstance(x, dict) else x)
                         for j, x in enumerate(d["items"]))
        else:
            extra.append((_section(d), Document(d, where)))
    for section, doc in extra:
        given = spec.get(section)
        if given is None:
            given = spec[section] = []
        if not isinstance(given, list):
            raise SpecError(section, "must be a list (later documents of the file are appended to it)")
        given.append(doc)
    return spec


_SECTIONS = {"Service": "services", "ServiceList": "services", "EndpointSlice": "endpointslices",
             "EndpointSliceList": "endpointslices"}


def _section(obj) -> str:
    """The spec section a later document's object joins: by its kind; NetworkPolicy otherwise
    (whose parser says what is wrong with anything else)."""
    return _SECTIONS.get(obj.get("kind"), "networkpolicies") if isinstance(obj, dict) else "networkpolicies"


def _mark(source: str, mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _measure_yaml(text: str | bytes, source: str) -> None:
    """One pass over libyaml's events, before anything is composed: depth and alias expansion
    (an alias nests its anchor's levels where it stands, and adds its anchor's nodes)."""
    parser = _LOADER(text)
    get = parser.get_event
    Scalar, Alias, End = ev.ScalarEvent, ev.AliasEvent, ev.StreamEndEvent
    SeqStart, MapStart, SeqEnd, MapEnd = ev.SequenceStartEvent, ev.MappingStartEvent, ev.SequenceEndEvent, ev.MappingEndEvent
    written = aliased = 0  # nodes written out; nodes that aliases stand for
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, levels) its subtree expands to
    defined: dict[str, int] = {}  # anchor -> line
    open_: list[list] = []  # collections being read: [anchor, expanded count at start, levels below]
    try:
        while True:
            e = get()
            kind = e.__class__
            if kind is Scalar:
                written += 1
                if written > MAX_YAML_NODES:
                    raise SpecError(_mark(source, e.start_mark), _too_many_nodes())
                if e.anchor is not None:
                    _define(e, defined, source)
                    anchors[e.anchor] = (1, 0)
            elif kind is MapEnd or kind is SeqEnd:
                anchor, start, below = open_.pop()
                if open_ and open_[-1][2] <= below:
                    open_[-1][2] = below + 1
                if anchor is not None:
                    anchors[anchor] = (written + aliased - start, below + 1)
            elif kind is MapStart or kind is SeqStart:
                if len(open_) == MAX_DEPTH:
                    raise SpecError(_mark(source, e.start_mark), f"nesting deeper than {MAX_DEPTH}")
                written += 1
                if written > MAX_YAML_NODES:
                    raise SpecError(_mark(source, e.start_mark), _too_many_nodes())
                open_.append([e.anchor, written + aliased - 1, 0])
                if e.anchor is not None:
                    _define(e, defined, source)
            elif kind is Alias:
                size, levels = anchors.get(e.anchor, (0, 0))
                if not size:
                    raise SpecError(_mark(source, e.start_mark), f"alias *{e.anchor} is inside the collection it names "
                                    "(a cycle)" if e.anchor in defined else f"alias *{e.anchor} names no anchor before it")
                if len(open_) + levels > MAX_DEPTH:
                    raise SpecError(_mark(source, e.start_mark), f"nesting deeper than {MAX_DEPTH} "
                                    f"(alias *{e.anchor} nests {levels} levels here)")
                if open_ and open_[-1][2] < levels:
                    open_[-1][2] = levels
                aliased += size
                if aliased > MAX_ALIAS_NODES + ALIAS_FACTOR * written:
                    raise SpecError(_mark(source, e.start_mark),
                                    f"alias *{e.anchor} expands the spec to {written + aliased:,} nodes, more than "
                                    f"aliases may add ({MAX_ALIAS_NODES:,} + {ALIAS_FACTOR} x the {written:,} written out)")
            elif kind is ev.DocumentStartEvent:
                anchors.clear()
                defined.clear()
            elif kind is End:
                return
    finally:
        parser.dispose()


def _too_many_nodes() -> str:
    return (f"more than {MAX_YAML_NODES:,} YAML nodes (about {round(MAX_YAML_NODES / YAML_NODES_PER_POD, -3):,.0f} pods); write a spec this big "
            "as JSON (fastpath generate --out spec.json), which loads in a fraction of the time and memory")


def _define(e, defined: dict[str, int], source: str) -> None:
    if e.anchor in defined:  # PyYAML refuses it too, less clearly
        raise SpecError(_mark(source, e.start_mark), f"anchor &{e.anchor} defined twice (first at line {defined[e.anchor]})")
    defined[e.anchor] = e.start_mark.line + 1


class _SpecLoader(_LOADER):
    """PyYAML's safe loader (C parser and composer when there is libyaml) that refuses duplicate
    keys and integers too long to convert, naming the place."""

    def __init__(self, text: str | bytes, source: str):
        super().__init__(text)
        self.source = source
        merge = ("<<", "merge") if isinstance(text, str) else (b"<<", b"merge")
        self.merges = merge[0] in text or merge[1] in text  # else no mapping can have a merge key

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            return super().construct_mapping(node, deep=deep)
        merges = self.merges and any(k.tag == _MERGE_TAG for k, _ in node.value)
        if merges:  # flatten_mapping rewrites node.value: look first
            self._no_duplicates(node.value)
        written = len(node.value)
        mapping = super().construct_mapping(node, deep=deep)
        if not merges and len(mapping) != written:
            self._no_duplicates(node.value)
        return mapping

    def _no_duplicates(self, pairs) -> None:
        seen = {}
        for key_node, _ in pairs:
            try:
                key = _MERGE_TAG if key_node.tag == _MERGE_TAG else self.construct_object(key_node, deep=True)
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # unhashable: the constructor says so
                continue
            if first is not key_node.start_mark:
                name = "<<" if key is _MERGE_TAG else key
                raise SpecError(_mark(self.source, key_node.start_mark),
                                f"duplicate key {name!r} (first at line {first.line + 1})")

    def construct_yaml_int(self, node):
        try:
            value = super().construct_yaml_int(node)
        except ValueError:  # over sys.get_int_max_str_digits() decimal digits
            value = None
        if value is None or value.bit_length() > 3 * _max_digits() and abs(value) >= 10 ** _max_digits():
            # too long for decimal, or (hex, octal, base 60) too big to print in an error message
            digits = sum(c.isdigit() for c in node.value) if value is None else int(value.bit_length() * 0.30103) + 1
            raise SpecError(_mark(self.source, node.start_mark),
                            f"an integer of {digits:,} digits (at most {_max_digits():,})") from None
        return value


    def construct_timestamp_as_text(self, node):
        """A plain ``2021-01-01`` is a date to YAML 1.1 but a name to Kubernetes (a valid label):
        no spec field holds a date, so it stays the text it is."""
        return self.construct_scalar(node)

    def construct_not_a_spec_value(self, node):
        tag = node.tag.rsplit(":", 1)[-1]
        raise SpecError(_mark(self.source, node.start_mark), f"!!{tag} is not a spec value (a spec holds strings, "
                        "numbers, booleans, null, lists and mappings)")


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_yaml_int)
_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _SpecLoader.construct_timestamp_as_text)
for _tag in ("binary", "set", "omap", "pairs"):
    _SpecLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _SpecLoader.construct_not_a_spec_value)
