"""``kubectl get nodes,namespaces,pods,services,endpointslices,networkpolicies -A -o json`` -> a spec.

The input is what kubectl writes: a ``List`` (or a typed ``PodList``, ``NodeList``, ...; or one
object), JSON or YAML, in one file or several (their objects are merged; the same object in two
files must be the same, else it is an error naming both). Files come in through the spec files'
door (`fastpath.model.specfile`: size, text, nesting, alias and duplicate-key checks). What
Kubernetes does not know comes from the overlay (`fastpath.importer.overlay`). The result is the
dict `fastpath.model.spec.from_spec` takes:

- ``nodes``: name; role ``master`` when labelled ``node-role.kubernetes.io/control-plane`` (or
  the older ``.../master``), else ``worker``; ``ip`` the first IPv4 ``InternalIP`` of
  ``status.addresses``; ``max_pods`` from ``status.capacity.pods``; ``host`` the overlay host
  that lists it.
- ``namespaces``: name and labels; ``subnet`` the overlay's, else the smallest network covering
  its pods' IPs, at most ``/namespace_prefix`` long (a namespace whose pods sit in 172.16.3.0/24
  gets that /24 at the default prefix); NCP cuts a subnet per namespace, so pod IPs imply it.
  Derived subnets may not overlap each other or a given one. A namespace without pods is left
  to the spec's allocator. ``t1`` and ``vni`` from the overlay.
- ``pods``: ``metadata.name``/``namespace``, ``spec.nodeName``, the first IPv4 of
  ``status.podIPs`` (else ``status.podIP``), labels, the containers' ports ``{name,
  containerPort, protocol}``, ``vlan`` from the overlay when given (else allocated).
- ``services``, ``endpointslices``, ``networkpolicies``: the objects verbatim, less the noise
  of a live object (``metadata.managedFields``, ``resourceVersion``, ``uid``,
  ``creationTimestamp``, ``generation``, ``selfLink``, the last-applied annotation, ``status`` —
  but a Service's ``status.loadBalancer``: the external IP NCP gave a LoadBalancer, whose virtual
  server runs on the cluster T1's SR, so the overlay gives that T1 an edge: ``node_network.t1.edge``).
  Headless, ExternalName and selector-less Services are kept: the spec's loader decides.

What fastpath does not model is skipped and listed, once, by reason — never dropped silently:
pods with ``hostNetwork`` (they are their node), not scheduled, without an IP yet, finished
(``Succeeded``/``Failed``), IPv6-only; EndpointSlices of address type IPv6 or FQDN; objects of
other kinds (a ``kubectl get all`` brings Deployments, ReplicaSets, ...). What cannot be mapped
is a problem, one line naming the object as kubectl does, e.g. ``pods/web/frontend-7d4: node
worker-9 has no host in the overlay``; all problems are collected and raised together as one
`KubectlImportError` (its ``problems``, one line each) before anything is written. Finally the
spec is built once with ``from_spec`` (its own errors renamed the same way), so what is written
loads.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from ..model import specfile
from ..model.addressing import ip_to_str
from ..model.cluster import SpecError
from ..model.spec import from_spec
from .overlay import Overlay, load_overlay

KINDS = {"Node": "nodes", "Namespace": "namespaces", "Pod": "pods", "Service": "services",
         "EndpointSlice": "endpointslices", "NetworkPolicy": "networkpolicies"}
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
NOISE_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
NOISE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class KubectlImportError(SpecError):
    """Everything that could not be mapped: ``problems`` holds one line per object."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__("", problems[0] + more)


class _Problem(Exception):
    pass


@dataclass
class Inputs:
    """The kubectl objects of every input file, by kind, keyed by their kubectl names."""

    objects: dict[str, dict[str, dict]] = field(default_factory=lambda: {k: {} for k in KINDS.values()})
    others: dict[str, list[str]] = field(default_factory=dict)  # kind -> names (not modeled)
    where: dict[str, str] = field(default_factory=dict)  # kubectl name -> file (and item)


@dataclass
class Imported:
    spec: dict
    skipped: dict[str, list[str]]  # reason -> kubectl names

    def skipped_lines(self, shown: int = 3) -> list[str]:
        """One line per reason: ``skipped 4 pods: hostNetwork (...): pods/kube-system/a, ... (1 more)``."""
        out = []
        for reason, names in self.skipped.items():
            kind = names[0].split("/", 1)[0]
            kind = kind[:-1] if len(names) == 1 else kind
            more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
            out.append(f"skipped {len(names)} {kind}: {reason}: {', '.join(names[:shown])}{more}")
        return out

    def summary(self) -> str:
        s = self.spec
        n = {k: len(s.get(k, ())) for k in ("nodes", "namespaces", "pods", *list(KINDS.values())[3:])}
        return (f"{n['pods']} pods on {n['nodes']} nodes in {n['namespaces']} namespaces; {n['services']} services, "
                f"{n['endpointslices']} endpointslices, {n['networkpolicies']} networkpolicies")


# ---- reading ----------------------------------------------------------------------------------
def read_inputs(paths: Iterable[str | Path]) -> Inputs:
    """Read kubectl files into `Inputs`. A malformed file is one `SpecError` naming it."""
    inputs, problems = Inputs(), []
    for path in paths:
        for doc, source in _read(path):
            for obj, where in _objects(doc, source):
                try:
                    _add(inputs, obj, where)
                except _Problem as exc:
                    problems.append(str(exc))
    if problems:
        raise KubectlImportError(problems)
    return inputs


def _read(path) -> list[tuple[object, str]]:
    """The file's parsed documents (and where each is), through the spec files' checks (not
    `read_spec`: that one insists on a cluster spec's mapping, and puts later YAML documents
    into the spec's sections)."""
    source = str(path)
    data = specfile._read_bytes(source)
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    data = data[bom:]
    specfile._check_text(data, source, bom)
    if specfile._JSON_BYTES.match(data):
        return [(specfile._parse_json(data.decode("utf-8"), source, data), source)]
    return specfile.parse_yaml_documents(data, source)


def _objects(doc, source: str):
    """(object, where) of a document: a List's items (a typed list's items take its kind), or
    the object itself."""
    if doc is None:
        raise SpecError(source, "empty: no kubectl objects (kubectl get ... -o json writes a List)")
    if not isinstance(doc, dict):
        raise SpecError(source, f"not kubectl output: a {type(doc).__name__}, not a List or an object")
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind:
        raise SpecError(source, "not kubectl output: no kind (kubectl get ... -o json writes a List)")
    if kind == "List" or kind.endswith("List"):
        items = doc.get("items")
        if not isinstance(items, list) and items is not None:
            raise SpecError(f"{source}: items", f"must be a list, got {type(items).__name__}")
        typed = kind[:-4] if kind != "List" else None
        for i, item in enumerate(items or []):
            if typed and isinstance(item, dict) and "kind" not in item:  # a PodList's items have no kind
                item = {"kind": typed, "apiVersion": doc.get("apiVersion"), **item}
            yield item, f"{source}: items[{i}]"
    else:
        yield doc, source


def _add(inputs: Inputs, obj, where: str) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
        raise _Problem(f"{where}: not a Kubernetes object (no kind)")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise _Problem(f"{where}: a {obj['kind']} without metadata.name")
    kind = obj["kind"]
    plural = KINDS.get(kind)
    namespaced = kind not in ("Node", "Namespace")
    ns = meta.get("namespace", "default") if namespaced else None
    if namespaced and (not isinstance(ns, str) or not ns):
        raise _Problem(f"{where}: {kind} {name!r}: metadata.namespace must be a name")
    resource = plural or _plural(kind)
    key = f"{resource}/{ns}/{name}" if namespaced else f"{resource}/{name}"
    if plural is None:
        inputs.others.setdefault(kind, []).append(key)
        return
    seen = inputs.objects[plural]
    if key in seen:
        if seen[key] != obj:
            raise _Problem(f"{key}: given twice, differently ({inputs.where[key]} and {where})")
        return  # the same object in two files: one object
    seen[key] = obj
    inputs.where[key] = where


def _plural(kind: str) -> str:
    """kubectl's resource name of a kind (Deployment -> deployments, Ingress -> ingresses)."""
    k = kind.lower()
    if k == "endpoints":
        return k
    return k[:-1] + "ies" if k.endswith("y") and k[-2:-1] not in "aeiou" else k + ("es" if k.endswith("ss") else "s")


# ---- mapping ----------------------------------------------------------------------------------
def build_spec(inputs: Inputs, overlay: Overlay, overlay_source: str = "overlay") -> Imported:
    """Map the objects to a spec dict; raise `KubectlImportError` with every problem."""
    problems: list[str] = []
    skipped: dict[str, list[str]] = {}
    st = overlay.cluster
    pod_cidr = _network(st.pod_cidr, f"{overlay_source}: cluster.pod_cidr")
    prefix_max = st.namespace_prefix
    objs = inputs.objects

    # hosts: which node runs where
    host_of: dict[str, str] = {}
    for i, h in enumerate(overlay.hosts):
        for j, n in enumerate(h.nodes):
            if n in host_of:
                problems.append(f"{overlay_source}: hosts[{i}].nodes[{j}]: node {n} is also on {host_of[n]}")
            elif f"nodes/{n}" not in objs["nodes"]:
                problems.append(f"{overlay_source}: hosts[{i}].nodes[{j}]: no node {n} in the kubectl input")
            host_of.setdefault(n, h.name)

    # nodes
    nodes = []
    for key, o in objs["nodes"].items():
        try:
            nodes.append(_node(key, o, host_of))
        except _Problem as exc:
            problems.append(str(exc))
        except _MALFORMED as exc:
            problems.append(_malformed(key, exc))
    node_names = {k.split("/", 1)[1] for k in objs["nodes"]}

    # pods
    pods, pod_ips, ip_owner = [], [], {}
    ns_names = {k.split("/", 1)[1] for k in objs["namespaces"]}
    for key, o in objs["pods"].items():
        try:
            why = _skip_reason(o)
            if why:
                skipped.setdefault(why, []).append(key)
                continue
            pod, ip = _pod(key, o, host_of, node_names, ns_names, pod_cidr)
            if ip in ip_owner:
                raise _Problem(f"{key}: IP {ip_to_str(ip)} is also {ip_owner[ip]}'s")
            ip_owner[ip] = key
            v = overlay.pods.get(f"{pod['namespace']}/{pod['name']}")
            if v is not None:
                pod["vlan"] = v.vlan
            pods.append(pod)
            pod_ips.append(ip)
        except _Problem as exc:
            problems.append(str(exc))
        except _MALFORMED as exc:
            problems.append(_malformed(key, exc))
    imported = {f"{p['namespace']}/{p['name']}" for p in pods}
    for k in overlay.pods:
        if k not in imported and f"pods/{k}" not in objs["pods"]:
            problems.append(f"{overlay_source}: pods.{k}: no pod {k} in the kubectl input")

    # namespaces: labels, subnets (the overlay's, or implied by their pods' IPs)
    namespaces = _namespaces(objs["namespaces"], pods, pod_ips, overlay, prefix_max, problems, overlay_source)

    # the other kinds: verbatim, less the noise
    carried = {}
    for plural in ("services", "endpointslices", "networkpolicies"):
        carried[plural] = []
        for key, o in objs[plural].items():
            if plural == "endpointslices" and o.get("addressType", "IPv4") != "IPv4":
                skipped.setdefault(f"addressType {o.get('addressType')} (fastpath models IPv4)", []).append(key)
                continue
            carried[plural].append(_clean(o))
    for kind, names in inputs.others.items():
        skipped.setdefault(f"kind {kind} (not modeled)", []).extend(names)

    if problems:
        raise KubectlImportError(problems)

    spec: dict = {}
    given = st.model_dump(exclude_unset=True)
    if given:
        spec["cluster"] = given
    if overlay.node_network is not None:
        spec["node_network"] = overlay.node_network.model_dump(exclude_unset=True)
    elif nodes:
        ips = [int(ipaddress.IPv4Address(n["ip"])) for n in nodes]
        spec["node_network"] = {"subnet": str(_covering(min(ips), max(ips), 24))}
    spec["hosts"] = [h.model_dump(exclude_unset=True, exclude={"nodes"}) for h in overlay.hosts]
    if overlay.edges:
        spec["edges"] = [h.model_dump(exclude_unset=True) for h in overlay.edges]
    spec["nodes"] = nodes
    spec["namespaces"] = namespaces
    spec["pods"] = pods
    for part in ("t0", "dfw", "capacity", "traffic"):
        value = getattr(overlay, part)
        if value is not None:
            spec[part] = value.model_dump(exclude_unset=True)
    for plural, items in carried.items():
        if items:
            spec[plural] = items
    return Imported(spec, skipped)


# a field of the wrong shape deep in an object (a list where kubectl writes a mapping, ...)
_MALFORMED = (TypeError, AttributeError, KeyError, ValueError)


def _malformed(key: str, exc: Exception) -> str:
    return f"{key}: malformed object ({type(exc).__name__}: {str(exc)[:120]})"


def _node(key: str, o: dict, host_of: dict) -> dict:
    name = o["metadata"]["name"]
    labels = _mapping(o["metadata"].get("labels"), key, "metadata.labels")
    status = _mapping(o.get("status"), key, "status")
    ip = None
    for a in status.get("addresses") or []:
        if isinstance(a, dict) and a.get("type") == "InternalIP" and _ipv4(a.get("address")) is not None:
            ip = a["address"]
            break
    if ip is None:
        raise _Problem(f"{key}: no InternalIP (an IPv4 one) in status.addresses")
    if name not in host_of:
        raise _Problem(f"{key}: no host in the overlay (list it in a host's nodes)")
    node = {"name": name, "role": "master" if any(k in labels for k in CONTROL_PLANE_LABELS) else "worker",
            "host": host_of[name], "ip": ip}
    pods = _mapping(status.get("capacity"), key, "status.capacity").get("pods")
    if pods is not None:
        if not isinstance(pods, (str, int)) or isinstance(pods, bool) or not str(pods).isdigit():
            raise _Problem(f"{key}: status.capacity.pods {pods!r} is not a count of pods")
        node["max_pods"] = int(pods)
    return node


def _skip_reason(o: dict) -> str | None:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    phase = status.get("phase") if isinstance(status, dict) else None
    if phase in ("Succeeded", "Failed"):
        return f"finished (phase {phase})"
    if isinstance(spec, dict) and spec.get("hostNetwork") is True:
        return "hostNetwork (the pod is its node's IP)"
    if not isinstance(spec, dict) or not spec.get("nodeName"):
        return "not scheduled (no spec.nodeName)"
    if not _pod_ip_texts(status):
        return "no IP yet (status.podIP)"
    if not any(_ipv4(t) is not None for t in _pod_ip_texts(status)) and \
            all(":" in t for t in _pod_ip_texts(status) if isinstance(t, str)):
        return "IPv6-only (fastpath models IPv4)"
    return None


def _pod_ip_texts(status) -> list:
    if not isinstance(status, dict):
        return []
    ips = [p.get("ip") for p in status.get("podIPs") or [] if isinstance(p, dict)]
    return ips or ([status["podIP"]] if status.get("podIP") else [])


def _pod(key: str, o: dict, host_of: dict, node_names: set, ns_names: set, pod_cidr) -> tuple[dict, int]:
    meta, spec = o["metadata"], o["spec"]
    ns = meta.get("namespace", "default")
    node = spec["nodeName"]
    if ns not in ns_names:
        raise _Problem(f"{key}: namespace {ns} is not in the kubectl input (kubectl get namespaces too)")
    if node not in node_names:
        raise _Problem(f"{key}: node {node} is not in the kubectl input (kubectl get nodes too)")
    if node not in host_of:
        raise _Problem(f"{key}: node {node} has no host in the overlay")
    texts = _pod_ip_texts(o["status"])
    ip = next((v for v in map(_ipv4, texts) if v is not None), None)
    if ip is None:
        raise _Problem(f"{key}: status.podIP {texts[0]!r} is not an IP address")
    if not int(pod_cidr.network_address) <= ip <= int(pod_cidr.broadcast_address):
        raise _Problem(f"{key}: IP {ip_to_str(ip)} is outside the pod CIDR {pod_cidr} (cluster.pod_cidr in the overlay)")
    pod = {"name": meta["name"], "namespace": ns, "node": node, "ip": ip_to_str(ip)}
    labels = _mapping(meta.get("labels"), key, "metadata.labels")
    if labels:
        pod["labels"] = dict(labels)
    ports = []
    for c, container in enumerate(spec.get("containers") or []):
        for j, p in enumerate((container or {}).get("ports") or []):
            if not isinstance(p, dict) or "containerPort" not in p:
                raise _Problem(f"{key}: spec.containers[{c}].ports[{j}]: no containerPort")
            port = {"containerPort": p["containerPort"], "protocol": p.get("protocol", "TCP")}
            if p.get("name") is not None:
                port = {"name": p["name"], **port}
            ports.append(port)
    if ports:
        pod["ports"] = ports
    return pod, ip


def _namespaces(objs: dict, pods: list, pod_ips: list, overlay: Overlay, prefix_max: int, problems: list,
                overlay_source: str) -> list[dict]:
    span: dict[str, list[int]] = {}  # namespace -> [lowest, highest] pod IP
    for p, ip in zip(pods, pod_ips):
        s = span.setdefault(p["namespace"], [ip, ip])
        s[0], s[1] = min(s[0], ip), max(s[1], ip)
    out, nets = [], []  # nets: (network, namespace key, derived?)
    for key, o in objs.items():
        name = o["metadata"]["name"]
        ns = {"name": name}
        try:
            labels = _mapping(o["metadata"].get("labels"), key, "metadata.labels")
        except _Problem as exc:
            problems.append(str(exc))
            continue
        if labels:
            ns["labels"] = dict(labels)
        given = overlay.namespaces.get(name)
        if given is not None:
            ns.update(given.model_dump(exclude_unset=True))
        if given is not None and given.subnet is not None:
            try:
                nets.append((ipaddress.IPv4Network(given.subnet), key, False))
            except ValueError as exc:
                problems.append(f"{overlay_source}: namespaces.{name}.subnet: {exc}")
        elif name in span:
            net = _covering(*span[name], prefix_max)
            ns["subnet"] = str(net)
            nets.append((net, key, True))
        out.append(ns)
    known = {o["metadata"]["name"] for o in objs.values()}
    for name in overlay.namespaces:
        if name not in known:
            problems.append(f"{overlay_source}: namespaces.{name}: no namespace {name} in the kubectl input")
    # overlaps: sorted by start, each against the furthest-reaching before it
    nets.sort(key=lambda t: (int(t[0].network_address), t[0].prefixlen))
    # (the wider of two is named first: a stray pod IP widens its namespace's span)
    reach = None
    for cur in nets:
        if reach is not None and int(cur[0].network_address) <= int(reach[0].broadcast_address):
            (net, key, derived), other = (reach, cur) if reach[0].prefixlen < cur[0].prefixlen else (cur, reach)
            how = "its pods' IPs span" if derived else "its subnet is"
            problems.append(f"{key}: {how} {net}, which overlaps {other[1]}'s {other[0]}; give their subnets in the overlay")
        if reach is None or int(cur[0].broadcast_address) > int(reach[0].broadcast_address):
            reach = cur
    # every pod inside its subnet, none on the network, gateway (.1) or broadcast address
    subnet = {n["name"]: ipaddress.IPv4Network(n["subnet"]) for n in out if "subnet" in n and _is_net(n["subnet"])}
    for p, ip in zip(pods, pod_ips):
        net = subnet.get(p["namespace"])
        if net is None:
            continue
        lo, hi = int(net.network_address), int(net.broadcast_address)
        key = f"pods/{p['namespace']}/{p['name']}"
        if not lo <= ip <= hi:
            problems.append(f"{key}: IP {ip_to_str(ip)} is outside namespace {p['namespace']}'s subnet {net}")
        elif ip in (lo, lo + 1, hi):
            role = {lo: "network address", lo + 1: "gateway (.1)", hi: "broadcast address"}[ip]
            problems.append(f"{key}: IP {ip_to_str(ip)} is the {role} of namespace {p['namespace']}'s subnet {net}; "
                            "give the namespace's subnet in the overlay")
    return out


def _covering(lo: int, hi: int, prefix_max: int) -> ipaddress.IPv4Network:
    """The smallest network holding lo..hi, no longer than /prefix_max."""
    prefix = min(32 - (lo ^ hi).bit_length(), prefix_max)
    return ipaddress.IPv4Network((lo, prefix), strict=False)


def _clean(o: dict) -> dict:
    out = {k: v for k, v in o.items() if k != "status"}
    lb = (o.get("status") or {}).get("loadBalancer") if isinstance(o.get("status"), dict) else None
    if o.get("kind") == "Service" and isinstance(lb, dict) and lb.get("ingress"):
        out["status"] = {"loadBalancer": {"ingress": lb["ingress"]}}  # the external IP NCP gave it
    meta = {k: v for k, v in o["metadata"].items() if k not in NOISE_METADATA}
    ann = meta.get("annotations")
    if isinstance(ann, dict):
        ann = {k: v for k, v in ann.items() if k not in NOISE_ANNOTATIONS}
        if ann:
            meta["annotations"] = ann
        else:
            del meta["annotations"]
    out["metadata"] = meta
    return out


def _mapping(v, key: str, what: str) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _Problem(f"{key}: {what} must be a mapping, got {type(v).__name__}")
    return v


def _ipv4(text) -> int | None:
    try:
        return int(ipaddress.IPv4Address(text)) if isinstance(text, str) else None
    except ValueError:
        return None


def _is_net(text: str) -> bool:
    try:
        ipaddress.IPv4Network(text)
        return True
    except ValueError:
        return False


def _network(text: str, where: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text)
    except ValueError as exc:
        raise KubectlImportError([f"{where}: {exc}"]) from None


# ---- checking and writing ---------------------------------------------------------------------
_INDEXED = re.compile(r"(pods|nodes|namespaces|networkpolicies|services|endpointslices)\[(\d+)\]\.?(.*)")


def check_spec(spec: dict, overlay_source: str = "overlay"):
    """Build the spec with `from_spec`; its error is renamed after the object it is about."""
    try:
        return from_spec(spec)
    except SpecError as exc:
        m = _INDEXED.fullmatch(exc.path or "")
        if m:
            o = spec[m[1]][int(m[2])]
            if m[1] in ("pods", "nodes", "namespaces"):
                name = f"{m[1]}/{o['namespace']}/{o['name']}" if m[1] == "pods" else f"{m[1]}/{o['name']}"
            else:
                md = o.get("metadata", {}) if isinstance(o, dict) else {}
                name = f"{m[1]}/{md.get('namespace', 'default')}/{md.get('name')}"
            raise KubectlImportError([f"{name}: {m[3] + ': ' if m[3] else ''}{exc.message}"]) from None
        raise KubectlImportError([f"{overlay_source}: {exc}"]) from None


def write_spec(spec: dict, out: str | Path) -> None:
    """JSON for ``.json``, YAML otherwise (refused beyond what a YAML spec may hold)."""
    out = Path(out)
    if out.suffix == ".json":
        text = json.dumps(spec, indent=1) + "\n"
    else:
        from ..model.spec import _yaml_nodes

        if _yaml_nodes(spec) > specfile.MAX_YAML_NODES:
            raise SpecError(str(out), f"more than {specfile.MAX_YAML_NODES:,} YAML nodes, more than a YAML spec may "
                            "hold: write it as JSON (a .json path)")
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = yaml.dump(spec, Dumper=dumper, sort_keys=False, default_flow_style=None, width=120)
    out.write_text(text)


def import_kubectl(paths: Iterable[str | Path], overlay: str | Path | Overlay | None = None,
                   out: str | Path | None = None) -> Imported:
    """Read kubectl output and an overlay, map, check (``from_spec``), then write ``out`` if
    given. Raises `SpecError` (a `KubectlImportError` lists every problem); writes nothing then."""
    source = str(overlay) if isinstance(overlay, (str, Path)) else "overlay"
    ov = overlay if isinstance(overlay, Overlay) else load_overlay(overlay)
    imported = build_spec(read_inputs(paths), ov, source)
    check_spec(imported.spec, source)
    if out is not None:
        write_spec(imported.spec, out)
    return imported
