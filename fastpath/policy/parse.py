"""NetworkPolicy objects as Kubernetes writes them -> `NetworkPolicy` values, validated as the
API server validates them (``pkg/apis/networking/validation`` and apimachinery's label-selector
and object-meta checks), plus what fastpath adds: the namespace must be one of the cluster's
and ``namespace/name`` is unique.

The input is the object verbatim (``kubectl get networkpolicy -o yaml`` output works, status-less
metadata such as ``uid``, ``resourceVersion``, ``creationTimestamp`` and ``managedFields``
included), or a ``List``/``NetworkPolicyList`` of them. Unknown fields are refused, as
``kubectl apply`` refuses them (its default, strict field validation). The first problem is one
`SpecError` whose path runs from the spec's root like Kubernetes' field paths:
``networkpolicies[3].spec.ingress[0].from[1].ipBlock.except[0]``; a List's items are
``networkpolicies[2].items[0]...``; an object that came as a later document of a multi-document
YAML spec file is ``(document 2).spec...`` (the spec itself is document 1).

Validation follows the API server (default feature gates), in its order (metadata, podSelector,
ingress rules — ports, then peers —, egress rules, policyTypes):

- metadata.name a DNS-1123 subdomain; metadata.namespace a DNS-1123 label (default
  ``default``); metadata.labels valid labels;
- selectors: matchLabels keys qualified names, values label values; each matchExpressions
  entry's key a qualified name, operator In/NotIn (values required) or Exists/DoesNotExist
  (values forbidden), values label values;
- a peer sets at least one of podSelector, namespaceSelector, ipBlock; ipBlock excludes both
  others; ipBlock.cidr required and a CIDR; each except a CIDR and a strict subset of cidr;
- ports: protocol TCP, UDP or SCTP (default TCP); a numeric port in 1..65535; a named port an
  IANA_SVC_NAME; endPort only with a numeric port, in 1..65535 and >= port;
- policyTypes: at most two, each Ingress or Egress. (Kubernetes accepts ["Ingress",
  "Ingress"]; so does fastpath: it means Ingress.)

CIDRs are read as the API server reads them with its default gates (``StrictIPCIDRValidation``
off): an address with bits past the prefix means its network (``10.0.0.1/16`` is 10.0.0.0/16)
and IPv4 octets may carry leading zeros, read as decimal. IPv4-mapped IPv6 blocks are refused
(their meaning differs between implementations; Kubernetes' strict mode refuses them too).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable

from ..model import names
from ..model.cluster import SpecError
from .objects import (EGRESS, INGRESS, PROTOCOLS, IPBlock, LabelSelector, NetworkPolicy, Peer, PolicyPort,
                      Requirement, Rule)

API_VERSION = "networking.k8s.io/v1"
DEFAULT_NAMESPACE = "default"

_META_FIELDS = {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
                "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                "ownerReferences", "finalizers", "selfLink", "generateName"}
_LIST_META_FIELDS = {"resourceVersion", "selfLink", "continue", "remainingItemCount"}
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_IANA_SVC_NAME = re.compile(r"[-a-z0-9]{1,15}")


# ---- helpers ---------------------------------------------------------------------------------
def _fail(path: str, message: str):
    raise SpecError(path, message)


def _shown(v: Any) -> str:
    if isinstance(v, str):
        return names.show(v)
    if isinstance(v, int) and v.bit_length() > 64:  # (a huge int would not even convert to text)
        return f"an integer of {v.bit_length()} bits"
    return repr(v)[:64]


def _mapping(v, path: str, what: str = "a mapping") -> dict:
    if not isinstance(v, dict):
        _fail(path, f"must be {what}, got {_type(v)}")
    for k in v:
        if not isinstance(k, str):
            _fail(path, f"key {k!r} is not a string")
    return v


def _list(v, path: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        _fail(path, f"must be a list, got {_type(v)}")
    return v


def _type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, (int, float)):
        return f"a number ({_shown(v)})"
    if isinstance(v, str):
        return f"a string ({_shown(v)})"
    return {dict: "a mapping", list: "a list"}.get(type(v), type(v).__name__)


def _known(d: dict, allowed: Iterable[str], path: str, what: str = "NetworkPolicy") -> None:
    for k in d:
        if k not in allowed:
            _fail(_join(path, k), f"unknown field (a {what} has no such field here)")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _string(v, path: str) -> str:
    if not isinstance(v, str):
        _fail(path, f"must be a string, got {_type(v)}" + (" (quote it)" if isinstance(v, (bool, int, float)) else ""))
    return v


# ---- label selectors -------------------------------------------------------------------------
def _label_value(v, path: str, key: str | None = None) -> str:
    label = f"label {_shown(key)}: value " if key is not None else ""
    if not isinstance(v, str):
        _fail(path, f"{label}must be a string, got {_type(v)}" + (" (quote it)" if isinstance(v, (bool, int, float)) else ""))
    if v and not names.LABEL_VALUE.ok(v):
        _fail(path, label + names.LABEL_VALUE.why(v))
    return v


def _label_key(k, path: str) -> str:
    names.label_key(k, path)
    return k


def parse_selector(v, path: str) -> LabelSelector:
    """A ``metav1.LabelSelector`` (null = empty: selects all)."""
    if v is None:
        return LabelSelector()
    d = _mapping(v, path)
    _known(d, ("matchLabels", "matchExpressions"), path)
    ml = d.get("matchLabels")
    pairs = []
    if ml is not None:
        p = f"{path}.matchLabels"
        for k, val in _mapping(ml, p).items():
            _label_key(k, p)
            pairs.append((k, _label_value(val, p, k)))
    exprs = []
    for j, e in enumerate(_list(d.get("matchExpressions"), f"{path}.matchExpressions")):
        p = f"{path}.matchExpressions[{j}]"
        e = _mapping(e, p)
        _known(e, ("key", "operator", "values"), p)
        op = e.get("operator")
        values = _list(e.get("values"), f"{p}.values")
        if op in ("In", "NotIn"):
            if not values:
                _fail(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                _fail(f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            _fail(f"{p}.operator", f"{_shown(op) if op is not None else 'missing'}: not a valid selector operator "
                  f"({', '.join(_OPERATORS)})")
        if "key" not in e:
            _fail(f"{p}.key", "required")
        key = _label_key(_string(e["key"], f"{p}.key"), f"{p}.key")
        vals = tuple(_label_value(x, f"{p}.values[{m}]") for m, x in enumerate(values))
        exprs.append(Requirement(key, op, vals))
    return LabelSelector(tuple(sorted(pairs)), tuple(exprs))


# ---- CIDRs -----------------------------------------------------------------------------------
_V4 = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")


def parse_cidr(text, path: str):
    """A CIDR as the API server reads it (module essay): -> IPv4Network / IPv6Network."""
    text = _string(text, path)
    bad = f"{_shown(text)} must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    addr, slash, plen = text.partition("/")
    if not slash or not plen.isascii() or not plen.isdigit() or len(plen.lstrip("0")) > 3:
        _fail(path, bad)
    plen = plen.lstrip("0") or "0"
    m = _V4.fullmatch(addr) if addr.isascii() else None
    if m:
        if any(len(x.lstrip("0")) > 3 for x in m.groups()):  # (leading zeros are allowed, any number)
            _fail(path, bad)
        octets = [int(x.lstrip("0") or "0") for x in m.groups()]
        if any(o > 255 for o in octets) or int(plen) > 32:
            _fail(path, bad)
        ip = sum(o << (24 - 8 * k) for k, o in enumerate(octets))
        return ipaddress.IPv4Network((ip, int(plen)), strict=False)
    if ":" not in addr or "%" in addr:
        _fail(path, bad)
    try:
        a = ipaddress.IPv6Address(addr)
    except ValueError:
        _fail(path, bad)
    if int(plen) > 128:
        _fail(path, bad)
    if a.ipv4_mapped is not None:
        _fail(path, f"{_shown(text)}: must not have an IPv4-mapped IPv6 address (write the IPv4 CIDR)")
    return ipaddress.IPv6Network((int(a), int(plen)), strict=False)


def _ip_block(v, path: str) -> IPBlock:
    d = _mapping(v, path)
    _known(d, ("cidr", "except"), path)
    if not d.get("cidr"):
        _fail(f"{path}.cidr", "required")
    cidr = parse_cidr(d["cidr"], f"{path}.cidr")
    excepts = []
    for j, e in enumerate(_list(d.get("except"), f"{path}.except")):
        p = f"{path}.except[{j}]"
        net = parse_cidr(e, p)
        shift = cidr.max_prefixlen - cidr.prefixlen  # (ints: subnet_of builds broadcast addresses, 10x slower)
        if net.version != cidr.version or net.prefixlen <= cidr.prefixlen or \
                int(net.network_address) >> shift != int(cidr.network_address) >> shift:
            _fail(p, f"must be a strict subset of {cidr}")
        excepts.append(net)
    return IPBlock(cidr, tuple(excepts))


# ---- peers, ports, rules ---------------------------------------------------------------------
def _peer(v, path: str) -> Peer:
    d = _mapping(v, path, "a peer (podSelector, namespaceSelector or ipBlock)")
    _known(d, ("podSelector", "namespaceSelector", "ipBlock"), path)
    pod = ns = block = None
    if d.get("podSelector") is not None:
        pod = parse_selector(d["podSelector"], f"{path}.podSelector")
    if d.get("namespaceSelector") is not None:
        ns = parse_selector(d["namespaceSelector"], f"{path}.namespaceSelector")
    if d.get("ipBlock") is not None:
        block = _ip_block(d["ipBlock"], f"{path}.ipBlock")
    if pod is None and ns is None and block is None:
        _fail(path, "must specify a peer (podSelector, namespaceSelector or ipBlock)")
    if block is not None and (pod is not None or ns is not None):
        _fail(path, "may not specify both ipBlock and another peer")
    return Peer(pod, ns, block)


def port_name_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA_SVC_NAME (Kubernetes' IsValidPortName), or None."""
    if not 1 <= len(name) <= 15:
        return "must be no more than 15 characters" if name else "must not be empty"
    if not _IANA_SVC_NAME.fullmatch(name):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if "--" in name:
        return "must not contain consecutive hyphens"
    if not re.search("[a-z]", name):
        return "must contain at least one letter (a-z)"
    if name[0] == "-" or name[-1] == "-":
        return "must not begin or end with a hyphen"
    return None


def port_number_problem(v) -> str | None:
    if not 1 <= v <= 65535:
        return "must be between 1 and 65535, inclusive"
    return None


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _port(v, path: str) -> PolicyPort:
    d = _mapping(v, path)
    _known(d, ("protocol", "port", "endPort"), path)
    proto = d.get("protocol")
    if proto is None:
        proto = "TCP"
    if proto not in PROTOCOLS:
        _fail(f"{path}.protocol", f"Unsupported value: {_shown(proto)}: supported values: \"TCP\", \"UDP\", \"SCTP\"")
    port, end = d.get("port"), d.get("endPort")
    if end is not None and not _int(end):
        _fail(f"{path}.endPort", f"must be an integer, got {_type(end)}")
    if port is not None:
        if _int(port):
            why = port_number_problem(port)
            if why:
                _fail(f"{path}.port", f"{_shown(port)}: {why}")
            if end is not None:
                if end < port:
                    _fail(f"{path}.endPort", f"{_shown(end)}: must be greater than or equal to `port` ({port})")
                why = port_number_problem(end)
                if why:
                    _fail(f"{path}.endPort", f"{_shown(end)}: {why}")
        elif isinstance(port, str):
            if end is not None:
                _fail(f"{path}.endPort", f"{_shown(end)}: may not be specified when `port` is non-numeric")
            why = port_name_problem(port)
            if why:
                _fail(f"{path}.port", f"{_shown(port)}: {why}")
        else:
            _fail(f"{path}.port", f"must be a port number or a port name, got {_type(port)}")
    elif end is not None:
        _fail(f"{path}.endPort", f"{_shown(end)}: may not be specified when `port` is not specified")
    return PolicyPort(PROTOCOLS[proto], port, end)


def _rule(v, path: str, peers_key: str) -> Rule:
    d = _mapping({} if v is None else v, path)
    _known(d, ("ports", peers_key), path)
    ports = tuple(_port(p, f"{path}.ports[{j}]") for j, p in enumerate(_list(d.get("ports"), f"{path}.ports")))
    peers = tuple(_peer(p, f"{path}.{peers_key}[{j}]")
                  for j, p in enumerate(_list(d.get(peers_key), f"{path}.{peers_key}")))
    return Rule(peers, ports)


# ---- objects ---------------------------------------------------------------------------------
def _object(v, path: str, namespaces, *, typed: bool = True) -> NetworkPolicy:
    """One NetworkPolicy. ``typed``: apiVersion and kind are required (a NetworkPolicyList's
    items may leave them out, as the API server writes them)."""
    d = _mapping(v, path, "a mapping (a NetworkPolicy)")
    if typed or "kind" in d:
        if d.get("kind") != "NetworkPolicy":
            _fail(_join(path, "kind"), f"{_shown(d['kind']) if 'kind' in d else 'missing'}: expected NetworkPolicy"
                  + (" (or a List of them)" if not path.endswith("]") or "items[" not in path else ""))
    if typed or "apiVersion" in d:
        if d.get("apiVersion") != API_VERSION:
            _fail(_join(path, "apiVersion"), f"{_shown(d['apiVersion']) if 'apiVersion' in d else 'missing'}: "
                  f"expected {API_VERSION}")
    _known(d, ("apiVersion", "kind", "metadata", "spec"), path)
    mp = _join(path, "metadata")
    meta = _mapping(d.get("metadata") if d.get("metadata") is not None else {}, mp)
    _known(meta, _META_FIELDS, mp)
    if not meta.get("name"):
        _fail(f"{mp}.name", "required (fastpath names every policy: generateName is not enough)"
              if meta.get("generateName") else "required")
    name = _string(meta["name"], f"{mp}.name")
    names.DNS_SUBDOMAIN.check(name, f"{mp}.name")
    ns = meta.get("namespace")
    if ns is None or ns == "":
        ns = DEFAULT_NAMESPACE
    ns = _string(ns, f"{mp}.namespace")
    names.DNS_LABEL.check(ns, f"{mp}.namespace")
    if meta.get("labels") is not None:
        labels = _mapping(meta["labels"], f"{mp}.labels")
        names.check_labels(labels, f"{mp}.labels")
    if meta.get("annotations") is not None:
        for k, a in _mapping(meta["annotations"], f"{mp}.annotations").items():
            names.label_key(k, f"{mp}.annotations")
            _string(a, f"{mp}.annotations.{k}")
    if namespaces is not None and ns not in namespaces:
        _fail(f"{mp}.namespace", f"unknown namespace {_shown(ns)}" +
              (" (the default when metadata.namespace is not given)" if "namespace" not in meta else ""))

    sp = _join(path, "spec")
    spec = _mapping(d.get("spec") if d.get("spec") is not None else {}, sp)
    _known(spec, ("podSelector", "policyTypes", "ingress", "egress"), sp)
    pod_selector = parse_selector(spec.get("podSelector"), f"{sp}.podSelector")
    ingress = tuple(_rule(r, f"{sp}.ingress[{j}]", "from") for j, r in enumerate(_list(spec.get("ingress"), f"{sp}.ingress")))
    egress = tuple(_rule(r, f"{sp}.egress[{j}]", "to") for j, r in enumerate(_list(spec.get("egress"), f"{sp}.egress")))
    given = _list(spec.get("policyTypes"), f"{sp}.policyTypes")
    if len(given) > 2:
        _fail(f"{sp}.policyTypes", "may not specify more than two policyTypes")
    for j, t in enumerate(given):
        if t not in (INGRESS, EGRESS):
            _fail(f"{sp}.policyTypes[{j}]", f"Unsupported value: {_shown(t)}: supported values: \"Ingress\", \"Egress\"")
    if given:
        types = tuple(t for t in (INGRESS, EGRESS) if t in given)
    else:  # the API server's default: Ingress always, Egress when there is an egress rule
        types = (INGRESS, EGRESS) if egress else (INGRESS,)
    return NetworkPolicy(ns, name, pod_selector, types, ingress, egress)


def _items(item, path: str, namespaces) -> list[tuple[NetworkPolicy, str]]:
    """A spec's ``networkpolicies`` entry: a NetworkPolicy, or a List / NetworkPolicyList."""
    d = _mapping(item, path, "a mapping (a NetworkPolicy, or a List of them)")
    kind = d.get("kind")
    if kind not in ("List", "NetworkPolicyList"):
        return [(_object(d, path, namespaces), path)]
    _known(d, ("apiVersion", "kind", "metadata", "items"), path)
    want = "v1" if kind == "List" else API_VERSION
    if d.get("apiVersion") != want:
        _fail(_join(path, "apiVersion"), f"{_shown(d['apiVersion']) if 'apiVersion' in d else 'missing'}: "
              f"a {kind} is {want}")
    if d.get("metadata") is not None:
        _known(_mapping(d["metadata"], _join(path, "metadata")), _LIST_META_FIELDS, _join(path, "metadata"))
    out = []
    for j, x in enumerate(_list(d.get("items"), _join(path, "items"))):
        p = f"{_join(path, 'items')}[{j}]"
        out.append((_object(x, p, namespaces, typed=kind == "List"), p))
    return out


def parse_policies(items, namespaces=None) -> tuple[NetworkPolicy, ...]:
    """The spec's ``networkpolicies`` list -> NetworkPolicy values in order (a List's items
    where the List stands). ``namespaces``: the cluster's namespace names (None: not checked)."""
    if items is None:
        return ()
    if not isinstance(items, list):
        _fail("networkpolicies", f"must be a list, got {_type(items)}")
    out: list[NetworkPolicy] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        path = getattr(item, "where", None) or f"networkpolicies[{i}]"
        for pol, p in _items(item, path, namespaces):
            if pol.key in seen:
                _fail(_join(p, "metadata.name"), f"duplicate NetworkPolicy {pol.key} (also {seen[pol.key]})")
            seen[pol.key] = p
            out.append(pol)
    return tuple(out)


# ---- back to Kubernetes objects (to_spec) ----------------------------------------------------
def selector_to_dict(s: LabelSelector) -> dict:
    d: dict = {}
    if s.match_labels:
        d["matchLabels"] = dict(s.match_labels)
    if s.match_expressions:
        d["matchExpressions"] = [{"key": r.key, "operator": r.operator, **({"values": list(r.values)} if r.values else {})}
                                 for r in s.match_expressions]
    return d


def _peer_to_dict(p: Peer) -> dict:
    d: dict = {}
    if p.pod_selector is not None:
        d["podSelector"] = selector_to_dict(p.pod_selector)
    if p.namespace_selector is not None:
        d["namespaceSelector"] = selector_to_dict(p.namespace_selector)
    if p.ip_block is not None:
        d["ipBlock"] = {"cidr": str(p.ip_block.cidr)}
        if p.ip_block.excepts:
            d["ipBlock"]["except"] = [str(e) for e in p.ip_block.excepts]
    return d


def _port_to_dict(p: PolicyPort) -> dict:
    names_ = {v: k for k, v in PROTOCOLS.items()}
    d: dict = {"protocol": names_[p.protocol]}
    if p.port is not None:
        d["port"] = p.port
    if p.end_port is not None:
        d["endPort"] = p.end_port
    return d


def _rule_to_dict(r: Rule, peers_key: str) -> dict:
    d: dict = {}
    if r.ports:
        d["ports"] = [_port_to_dict(p) for p in r.ports]
    if r.peers:
        d[peers_key] = [_peer_to_dict(p) for p in r.peers]
    return d


def policy_to_dict(p: NetworkPolicy) -> dict:
    """A NetworkPolicy as Kubernetes writes it (defaults made explicit: protocols and
    policyTypes), so that parsing it gives ``p`` back."""
    spec: dict = {"podSelector": selector_to_dict(p.pod_selector), "policyTypes": list(p.policy_types)}
    if p.ingress:
        spec["ingress"] = [_rule_to_dict(r, "from") for r in p.ingress]
    if p.egress:
        spec["egress"] = [_rule_to_dict(r, "to") for r in p.egress]
    return {"apiVersion": API_VERSION, "kind": "NetworkPolicy", "metadata": {"name": p.name, "namespace": p.namespace},
            "spec": spec}
