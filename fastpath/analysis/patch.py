"""What-if patches: a spec and a few changes to it, in a file of their own.

A patch is a YAML or JSON mapping that says ``kind: fastpath/patch`` and changes the lists of
named objects of a spec (and any field by its path), applied to a spec dict::

    kind: fastpath/patch
    description: deny all ingress to db      # optional: how reports call the change
    remove:
      pods: [web/frontend-2]                  # by key: namespace/name for pods and Kubernetes objects
      dfw.rules: [deny-default-to-db]         # by name for the rest
    add:
      networkpolicies:
        - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy,
           metadata: {name: deny-all, namespace: db}, spec: {podSelector: {}}}
    set:
      namespaces[web].t1.edge: edge-1         # a path: fields by name, list items by [key]
      dfw.default: deny

Sections are the spec's lists of objects, found from its schema (`fastpath.model.spec`):
``pods``, ``namespaces``, ``nodes``, ``hosts``, ``edges``, ``networkpolicies``, ``dfw.rules``,
``t0.uplinks``, ``t0.routes``, ``traffic.profiles`` — and whatever list the schema gains
(``services``, ``endpointslices``) without a line here. An object's key is
``metadata.namespace/metadata.name`` for a Kubernetes object (namespace ``default`` when not
given, as the API server does), ``namespace/name`` for a pod, else its ``name`` (``prefix`` for a
static route). A kubectl ``List`` in a section stands for its items.

Order: every ``remove``, then every ``add``, then every ``set`` (so remove + add of one key
replaces the object, and ``set`` may change an object the patch adds). Later YAML documents
of a patch file are NetworkPolicies (or Lists of them) to add, as in a spec file. A bad key,
path or section is one `SpecError` line naming the patch file and the place in it
(``deny.yaml: remove.pods[0]: no pod 'web/nope' in the spec``); what the patched spec then
gets wrong is `from_spec`'s line, about the patched spec.

`spec_changes` lists what differs between two specs, object by object, in the same terms
(what `fastpath.analysis.diff` prints as the change it explains).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from ..model.cluster import SpecError

PATCH_KIND = "fastpath/patch"
PATCH_KEYS = ("kind", "apiVersion", "description", "remove", "add", "set")

SINGULAR = {"pods": "pod", "namespaces": "namespace", "nodes": "node", "hosts": "host", "edges": "edge",
            "networkpolicies": "networkpolicy", "dfw.rules": "dfw rule", "t0.uplinks": "uplink", "t0.routes": "route",
            "traffic.profiles": "traffic profile", "services": "service", "endpointslices": "endpointslice"}
"""How messages call one object of a section (else the section's name less its plural s)."""


def _unwrap(t):
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return t


def list_sections(model=None, prefix: str = "") -> tuple[str, ...]:
    """The dotted paths of the spec schema's lists of objects (``pods``, ``dfw.rules``, ...)."""
    if model is None:
        from ..model.spec import ClusterSpec
        model = ClusterSpec
    out = []
    for name, f in model.model_fields.items():
        t = _unwrap(f.annotation)
        if get_origin(t) is list:
            item = _unwrap(get_args(t)[0]) if get_args(t) else Any
            if item is Any or (isinstance(item, type) and issubclass(item, BaseModel)):
                out.append(prefix + name)
        elif isinstance(t, type) and issubclass(t, BaseModel):
            out.extend(list_sections(t, f"{prefix}{name}."))
    return tuple(out)


def singular(section: str) -> str:
    return SINGULAR.get(section, section.rsplit(".", 1)[-1].rstrip("s"))


def is_patch(data) -> bool:
    return isinstance(data, Mapping) and data.get("kind") == PATCH_KIND


def object_key(item) -> str | None:
    """An object's key in its section (see the module docstring); None when it has none."""
    if not isinstance(item, Mapping):
        return None
    meta = item.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("name"), str):
        ns = meta.get("namespace", "default")
        return f"{ns}/{meta['name']}" if ns else meta["name"]
    name = item.get("name")
    if isinstance(name, str):
        ns = item.get("namespace")
        return f"{ns}/{name}" if isinstance(ns, str) else name
    if isinstance(item.get("prefix"), str):
        return item["prefix"]
    return None


def _is_list_object(item) -> bool:
    return isinstance(item, Mapping) and str(item.get("kind", "")).endswith("List") and isinstance(item.get("items"), list)


def _flat(items: list) -> list:
    """A section's objects with kubectl Lists replaced by their items."""
    if not any(_is_list_object(x) for x in items):
        return items
    out = []
    for x in items:
        out.extend(x["items"] if _is_list_object(x) else [x])
    return out


def _shown(keys, limit: int = 8) -> str:
    keys = list(keys)
    if not keys:
        return "none"
    return ", ".join(keys[:limit]) + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


class _Patcher:
    def __init__(self, spec: dict, source: str, sections: tuple[str, ...]):
        self.spec, self.source, self.sections = spec, source, sections

    def fail(self, where: str, message: str):
        raise SpecError(f"{self.source}: {where}", message)

    def section(self, name, where: str, create: bool) -> list:
        """The section's list in the spec (created empty when ``create``), Lists flattened."""
        if not isinstance(name, str) or name not in self.sections:
            self.fail(where, f"{name!r} is not a section of a spec (sections: {', '.join(self.sections)})")
        parent = self.spec
        parts = name.split(".")
        for p in parts[:-1]:
            child = parent.get(p)
            if child is None:
                if not create:
                    return []
                child = parent[p] = {}
            if not isinstance(child, dict):
                self.fail(where, f"the spec's {p} is not a mapping")
            parent = child
        items = parent.get(parts[-1])
        if items is None:
            if not create:
                return []
            items = parent[parts[-1]] = []
        if not isinstance(items, list):
            self.fail(where, f"the spec's {name} is not a list")
        flat = _flat(items)
        if flat is not items:
            parent[parts[-1]] = flat
        return flat

    def names(self, where: str, value) -> list:
        if not isinstance(value, list):
            self.fail(where, f"must be a list, got {type(value).__name__}")
        return value

    def sections_of(self, op: str, value) -> list[tuple[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, Mapping):
            self.fail(op, f"must be a mapping of section -> list, got {type(value).__name__}")
        return list(value.items())

    def remove(self, value) -> None:
        for name, keys in self.sections_of("remove", value):
            where = f"remove.{name}"
            items = self.section(name, where, create=False)
            index = {object_key(x): k for k, x in enumerate(items)}
            drop = set()
            for j, key in enumerate(self.names(where, keys)):
                if not isinstance(key, str):
                    self.fail(f"{where}[{j}]", f"a key is a string (namespace/name or name), got {key!r}")
                if key not in index:
                    self.fail(f"{where}[{j}]", f"no {singular(name)} {key!r} in the spec ({singular(name)}s: "
                              f"{_shown(k for k in index if k is not None)})")
                drop.add(index[key])
            items[:] = [x for k, x in enumerate(items) if k not in drop]

    def add(self, value) -> None:
        for name, objs in self.sections_of("add", value):
            where = f"add.{name}"
            items = self.section(name, where, create=True)
            have = {object_key(x) for x in items}
            for j, obj in enumerate(_flat(self.names(where, objs))):
                key = object_key(obj)
                if key is None:
                    self.fail(f"{where}[{j}]", f"a {singular(name)} needs a name (metadata.name for a Kubernetes "
                              "object)")
                if key in have:
                    self.fail(f"{where}[{j}]", f"{singular(name)} {key!r} is in the spec already (remove it first, "
                              "or change it with set)")
                have.add(key)
                items.append(copy.deepcopy(obj))

    def set(self, value) -> None:
        for path, v in self.sections_of("set", value):
            where = f"set.{path}"
            steps = _steps(path) if isinstance(path, str) else None
            if not steps:
                self.fail("set", f"{path!r} is not a field path (like namespaces[web].t1.edge or dfw.default)")
            node: Any = self.spec
            walked = ""
            for k, (kind, name) in enumerate(steps):
                last = k == len(steps) - 1
                if kind == "field":
                    if not isinstance(node, dict):
                        self.fail(where, f"{walked or 'the spec'} is not a mapping: it has no field {name!r}")
                    if last:
                        node[name] = copy.deepcopy(v)
                        break
                    dotted = f"{walked}.{name}" if walked else name
                    nxt = node.get(name)
                    if nxt is None:
                        if steps[k + 1][0] == "key":
                            self.fail(where, f"the spec has no {dotted}")
                        nxt = node[name] = {}
                    node, walked = nxt, dotted
                else:  # [key]: an object of a list by its key, else an item by its index
                    if not isinstance(node, list):
                        self.fail(where, f"{walked} is not a list: [{name}] selects nothing")
                    flat = _flat(node)
                    if flat is not node:
                        node[:] = flat
                    keys = [object_key(x) for x in node]
                    if name in keys:
                        at = keys.index(name)
                    elif name.isdigit() and all(x is None for x in keys) and int(name) < len(node):
                        at = int(name)
                    else:
                        what = singular(walked) if walked in self.sections else "item"
                        self.fail(where, f"no {what} {name!r} in {walked} ({what}s: "
                                  f"{_shown(x for x in keys if x is not None)})")
                    if last:
                        node[at] = copy.deepcopy(v)
                        break
                    node, walked = node[at], f"{walked}[{name}]"


_FIELD = re.compile(r"[^.\[\]]+")


def _steps(path: str) -> list[tuple[str, str]] | None:
    """``namespaces[web].t1.edge`` -> [("field", "namespaces"), ("key", "web"), ("field", "t1"),
    ("field", "edge")]; None when it is not a path (a key may hold dots: ``pods[web/a.b]``)."""
    steps, i, n = [], 0, len(path)
    while i < n:
        if path[i] == "[":
            j = path.find("]", i)
            if j < 0 or not steps:
                return None
            steps.append(("key", path[i + 1:j]))
            i = j + 1
            continue
        if steps:
            if path[i] != ".":
                return None
            i += 1
        m = _FIELD.match(path, i)
        if not m:
            return None
        steps.append(("field", m.group()))
        i = m.end()
    return steps or None


def apply_patch(spec: dict, patch: Mapping, source: str = "patch", *, in_place: bool = False,
                sections: tuple[str, ...] | None = None) -> dict:
    """The spec dict ``spec`` changed by ``patch`` (a mapping with ``kind: fastpath/patch``):
    a copy unless ``in_place``. ``sections``: the lists ``add``/``remove`` take (default: the
    spec schema's, `list_sections`). Raises `SpecError` naming ``source`` and the place in the
    patch."""
    if not isinstance(patch, Mapping):
        raise SpecError(source, f"a patch is a mapping, got {type(patch).__name__}")
    if patch.get("kind") != PATCH_KIND:
        raise SpecError(source, f"not a patch: kind must be {PATCH_KIND!r}")
    extra = [k for k in patch if k not in PATCH_KEYS and k != "networkpolicies"]
    if extra:
        raise SpecError(f"{source}: {extra[0]}", f"not a patch field (a patch has {', '.join(PATCH_KEYS)})")
    if not isinstance(spec, dict):
        raise SpecError(source, "the spec to patch is not a mapping")
    p = _Patcher(spec if in_place else copy.deepcopy(spec), source, sections or list_sections())
    p.remove(patch.get("remove"))
    add = patch.get("add")
    if patch.get("networkpolicies"):  # later YAML documents of the patch file: policies to add
        if add is not None and not isinstance(add, Mapping):
            p.fail("add", f"must be a mapping of section -> list, got {type(add).__name__}")
        add = dict(add or {})
        add["networkpolicies"] = list(add.get("networkpolicies") or []) + list(patch["networkpolicies"])
    p.add(add)
    p.set(patch.get("set"))
    return p.spec


def read_patch(path: str) -> dict:
    """A patch file as a mapping (refused at the door as a spec file would be)."""
    from ..model.specfile import read_spec

    data = read_spec(path)
    if not is_patch(data):
        raise SpecError(str(path), f"not a patch: a patch file says kind: {PATCH_KIND}")
    return data


# ---- what differs between two specs ---------------------------------------------------------------
def spec_changes(before: dict, after: dict, sections: tuple[str, ...] | None = None) -> list[dict]:
    """Object by object, what ``after`` changes in ``before`` (two spec dicts): ``{"op": "add" |
    "remove" | "change", "section", "what" (the singular), "key", "fields": [(path, old, new)]}``
    for the objects of every list section, and ``{"op": "change", "section": "", "key": path,
    "fields": [(path, old, new)]}`` for a field elsewhere. Lists are compared by key, fields
    recursively (a field present on one side only counts as changed)."""
    sections = sections or list_sections()
    out: list[dict] = []

    def get(spec, dotted):
        node = spec
        for p in dotted.split("."):
            if not isinstance(node, Mapping):
                return None
            node = node.get(p)
        return node

    for name in sections:
        a = _flat(get(before, name) or [])
        b = _flat(get(after, name) or [])
        ka = {object_key(x): x for x in a}
        kb = {object_key(x): x for x in b}
        for key in ka:
            if key not in kb:
                out.append({"op": "remove", "section": name, "what": singular(name), "key": key, "fields": []})
        for key, x in kb.items():
            if key not in ka:
                out.append({"op": "add", "section": name, "what": singular(name), "key": key, "fields": []})
            else:
                fields = _field_changes(ka[key], x, "")
                if fields:
                    out.append({"op": "change", "section": name, "what": singular(name), "key": key,
                                "fields": fields})
    skip = {s.split(".")[0] if "." not in s else s for s in sections}
    leaves = _field_changes(_without(before, sections), _without(after, sections), "")
    for path, old, new in leaves:
        if path not in skip:
            out.append({"op": "change", "section": "", "what": "field", "key": path, "fields": [(path, old, new)]})
    return out


def _without(spec: dict, sections) -> dict:
    out = {k: v for k, v in spec.items() if k not in sections}
    for s in sections:
        if "." in s:
            head, tail = s.split(".", 1)
            if isinstance(out.get(head), Mapping):
                out[head] = _without(dict(out[head]), [tail])
    return out


def _field_changes(a, b, path: str) -> list[tuple[str, Any, Any]]:
    if a is None and isinstance(b, Mapping) and b:  # a mapping the change added: its fields
        a = {}
    if b is None and isinstance(a, Mapping) and a:
        b = {}
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            out.extend(_field_changes(a.get(k), b.get(k), f"{path}.{k}" if path else str(k)))
        return out
    return [] if a == b else [(path, a, b)]


def describe_changes(changes: list[dict], limit: int = 3) -> str:
    """``adding networkpolicy db/deny-all``, ``changing namespace web (t1.edge None -> edge-1)``;
    more than ``limit`` changes are counted per kind."""
    verbs = {"add": "adding", "remove": "removing", "change": "changing"}
    if not changes:
        return "no change"
    if len(changes) <= limit:
        parts = []
        for ch in changes:
            if ch["section"] == "":
                (_, old, new), = ch["fields"]
                parts.append(f"setting {ch['key']} {_value(old)} -> {_value(new)}")
                continue
            s = f"{verbs[ch['op']]} {ch['what']} {ch['key']}"
            if ch["op"] == "change":
                s += " (" + ", ".join(f"{p} {_value(o)} -> {_value(n)}" for p, o, n in ch["fields"][:3]) + \
                     (", ..." if len(ch["fields"]) > 3 else "") + ")"
            parts.append(s)
        return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]
    counts: dict[tuple[str, str], int] = {}
    for ch in changes:
        k = (verbs[ch["op"]], ch["what"])
        counts[k] = counts.get(k, 0) + 1
    return ", ".join(f"{v} {n} {w}{'s' if n > 1 else ''}" for (v, w), n in counts.items())


def _value(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, (dict, list)):
        s = repr(v)
        return s if len(s) <= 40 else s[:37] + "..."
    return str(v)


__all__ = ["PATCH_KIND", "apply_patch", "describe_changes", "is_patch", "list_sections", "object_key", "read_patch",
           "spec_changes"]
