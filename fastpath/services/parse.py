"""Service and EndpointSlice objects as Kubernetes writes them -> `Service` values with backends.

The spec's ``services:`` takes v1 Service objects verbatim (``kubectl get svc -o yaml`` output,
server-set metadata and ``status`` included) or kubectl Lists of them; ``endpointslices:`` takes
discovery.k8s.io/v1 EndpointSlices the same way. Checked as the API server checks them, for
what fastpath reads (``pkg/apis/core/validation.ValidateService``), first problem one
`SpecError` with a Kubernetes-style path (``services[2].spec.ports[1].targetPort``):

- metadata.name a DNS-1035 label (a Service's name becomes a DNS name: it starts with a
  letter); namespace a cluster namespace (default ``default``); ``namespace/name`` unique;
- spec.type ClusterIP (default), NodePort, LoadBalancer or ExternalName;
- ports: at least one unless headless or ExternalName; each ``protocol`` TCP/UDP/SCTP (default
  TCP), ``port`` 1..65535, ``targetPort`` a number 1..65535 or an IANA_SVC_NAME (default: the
  port); names DNS-1123 labels, required when there are several, unique; (port, protocol) unique;
- clusterIP: ``None`` (headless), empty/absent (allocated), or an IPv4 address inside the
  service CIDR (``cluster.service_cidr``, kube-apiserver's ``--service-cluster-ip-range``,
  default 10.96.0.0/12) that no other service holds. ``clusterIPs``, when given, starts with it.
- selector: labels (keys qualified names, values label values).

Allocation: a Service without a clusterIP gets the lowest free address of the range from its
second (the first, .1, is what the API server gives the ``kubernetes`` Service), in spec order
— deterministic, where the API server picks at random.

Endpoints, per service port (`Backend`): from the Service's EndpointSlices (label
``kubernetes.io/service-name``) when it has any — addressType IPv4 ones; an endpoint whose
``conditions.ready`` is absent or true is ready (the API's rule); the slice port with the
service port's name gives the number — else from its selector: every pod of its namespace with
all the selector's labels, the target port resolved on the pod (a named one by the pod's
container port of that name and protocol; a pod without one is no endpoint of that port, as
the EndpointSlice controller leaves it out). A Service with neither has no endpoints. Backends
are sorted by address, so the seeded hash's choice does not depend on how slices were cut.
LoadBalancer: NCP makes each one an L4 virtual server (one per service port) with its own
external IP (`Service.lb_ip`), on the load balancer it attaches to the cluster T1's service
router. That IP is the first IPv4 ``status.loadBalancer.ingress[].ip`` (what NCP wrote back),
else ``spec.loadBalancerIP`` (NCP honours it), else the lowest free address of the external
pool (`assign_lb_ips`: ``t0.lb_pool``, NCP's ``external_ip_pools_lb``, else ``t0.snat_pool``,
its ``external_ip_pools``). ``spec.loadBalancerClass`` names another controller: such a
Service gets no virtual server here (NCP leaves it alone), only its ClusterIP.

Not modeled: NodePort/externalIPs (a NodePort or LoadBalancer Service also has its ClusterIP,
which is), session affinity, traffic policies, topology hints, dual-stack's IPv6 half.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from ..model import names
from ..policy.objects import PROTOCOLS
from ..policy.parse import (_fail, _int, _known, _list, _mapping, _shown, _string, _type, port_name_problem,
                            port_number_problem)
from .objects import HEADLESS, SERVICE_TYPES, Backend, Service, ServicePort

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_DNS1035 = names.Rule("a DNS-1035 label", r"[a-z](?:[-a-z0-9]*[a-z0-9])?", 63,
                      "lowercase letters, digits and '-', starting with a letter and ending with a letter or "
                      "digit, at most 63 characters")
_META = {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
         "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "ownerReferences", "finalizers",
         "selfLink", "generateName"}
_SPEC = {"type", "clusterIP", "clusterIPs", "selector", "ports", "sessionAffinity", "sessionAffinityConfig",
         "externalTrafficPolicy", "internalTrafficPolicy", "ipFamilies", "ipFamilyPolicy", "loadBalancerIP",
         "loadBalancerClass", "loadBalancerSourceRanges", "externalIPs", "externalName", "publishNotReadyAddresses",
         "allocateLoadBalancerNodePorts", "healthCheckNodePort", "trafficDistribution"}
_PORT = {"name", "protocol", "port", "targetPort", "nodePort", "appProtocol"}
_NOISE = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


def _meta(d: dict, path: str, namespaces, what: str, name_rule) -> tuple[str, str, dict]:
    mp = f"{path}.metadata"
    meta = _mapping(d.get("metadata") if d.get("metadata") is not None else {}, mp)
    _known(meta, _META, mp, what)
    if not meta.get("name"):
        _fail(f"{mp}.name", "required")
    name = _string(meta["name"], f"{mp}.name")
    name_rule.check(name, f"{mp}.name")
    ns = meta.get("namespace") or "default"
    ns = _string(ns, f"{mp}.namespace")
    names.DNS_LABEL.check(ns, f"{mp}.namespace")
    if namespaces is not None and ns not in namespaces:
        _fail(f"{mp}.namespace", f"unknown namespace {_shown(ns)}" +
              (" (the default when metadata.namespace is not given)" if "namespace" not in meta else ""))
    labels = meta.get("labels")
    if labels is not None:
        names.check_labels(_mapping(labels, f"{mp}.labels"), f"{mp}.labels")
    return ns, name, dict(labels or {})


def _objects(items, section: str, kinds: tuple[str, ...], api: str) -> list[tuple[dict, str]]:
    """A spec section of objects or Lists of them -> (object, path) in order."""
    if items is None:
        return []
    if not isinstance(items, list):
        _fail(section, f"must be a list, got {_type(items)}")
    out = []
    for i, item in enumerate(items):
        path = getattr(item, "where", None) or f"{section}[{i}]"
        d = _mapping(item, path, f"a mapping (a {kinds[0]}, or a List of them)")
        if d.get("kind") in ("List", kinds[1]):
            _known(d, ("apiVersion", "kind", "metadata", "items"), path, "List")
            for j, x in enumerate(_list(d.get("items"), f"{path}.items")):
                out.append((_typed(x, f"{path}.items[{j}]", kinds[0], api, d["kind"] == kinds[1]), f"{path}.items[{j}]"))
        else:
            out.append((_typed(d, path, kinds[0], api, False), path))
    return out


def _typed(v, path: str, kind: str, api: str, lenient: bool) -> dict:
    d = _mapping(v, path, f"a mapping (a {kind})")
    if not lenient or "kind" in d:
        if d.get("kind") != kind:
            _fail(f"{path}.kind", f"{_shown(d['kind']) if 'kind' in d else 'missing'}: expected {kind}")
    if not lenient or "apiVersion" in d:
        if d.get("apiVersion") != api:
            _fail(f"{path}.apiVersion", f"{_shown(d['apiVersion']) if 'apiVersion' in d else 'missing'}: expected {api}")
    return d


def _target(v, path: str, default: int) -> int | str:
    if v is None:
        return default
    if _int(v):
        why = port_number_problem(v)
        if why:
            _fail(path, f"{v}: {why}")
        return v
    if isinstance(v, str):
        if v.isdigit():  # an IntOrString given as a string of digits is the number (as the API decodes it)
            return _target(int(v), path, default)
        why = port_name_problem(v)
        if why:
            _fail(path, f"{_shown(v)}: {why}")
        return v
    _fail(path, f"must be a port number or a port name, got {_type(v)}")


def _ports(spec: dict, sp: str, needed: bool) -> tuple[ServicePort, ...]:
    given = _list(spec.get("ports"), f"{sp}.ports")
    if not given and needed:
        _fail(f"{sp}.ports", "required: a Service that is not headless has at least one port")
    out, by_name, by_port = [], {}, {}
    for j, p in enumerate(given):
        pp = f"{sp}.ports[{j}]"
        d = _mapping(p, pp)
        _known(d, _PORT, pp, "ServicePort")
        name = d.get("name") or ""
        if name:
            _string(name, f"{pp}.name")
            names.DNS_LABEL.check(name, f"{pp}.name")
        elif len(given) > 1:
            _fail(f"{pp}.name", "required when a Service has more than one port")
        if name in by_name:
            _fail(f"{pp}.name", f"duplicate port name {_shown(name)} (also {sp}.ports[{by_name[name]}])")
        by_name[name] = j
        proto = d.get("protocol") or "TCP"
        if proto not in PROTOCOLS:
            _fail(f"{pp}.protocol", f"Unsupported value: {_shown(proto)}: supported values: \"TCP\", \"UDP\", \"SCTP\"")
        port = d.get("port")
        if not _int(port):
            _fail(f"{pp}.port", "required" if port is None else f"must be an integer, got {_type(port)}")
        why = port_number_problem(port)
        if why:
            _fail(f"{pp}.port", f"{port}: {why}")
        if (port, proto) in by_port:
            _fail(pp, f"duplicate port {port}/{proto} (also {sp}.ports[{by_port[port, proto]}])")
        by_port[port, proto] = j
        out.append(ServicePort(name, PROTOCOLS[proto], port, _target(d.get("targetPort"), f"{pp}.targetPort", port)))
    return tuple(out)


def _stripped(d: dict) -> dict:
    """The object without what the server adds (kept in `Service.raw` for `to_spec`)."""
    out = {k: v for k, v in d.items() if k != "status"}
    meta = {k: v for k, v in (d.get("metadata") or {}).items() if k not in _NOISE}
    ann = {k: v for k, v in (meta.get("annotations") or {}).items()
           if k != "kubectl.kubernetes.io/last-applied-configuration"}
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def parse_services(items, service_cidr: ipaddress.IPv4Network, namespaces=None) -> list[tuple[Service, str]]:
    """The spec's ``services`` -> (Service without backends, its path), cluster IPs allocated."""
    objs = _objects(items, "services", ("Service", "ServiceList"), "v1")
    parsed, seen, held = [], {}, {}
    for d, path in objs:
        _known(d, ("apiVersion", "kind", "metadata", "spec", "status"), path, "Service")
        ns, name, _ = _meta(d, path, namespaces, "Service", _DNS1035)
        key = f"{ns}/{name}"
        if key in seen:
            _fail(f"{path}.metadata.name", f"duplicate Service {key} (also {seen[key]})")
        seen[key] = path
        sp = f"{path}.spec"
        spec = _mapping(d.get("spec") if d.get("spec") is not None else {}, sp)
        _known(spec, _SPEC, sp, "ServiceSpec")
        typ = spec.get("type") or "ClusterIP"
        if typ not in SERVICE_TYPES:
            _fail(f"{sp}.type", f"Unsupported value: {_shown(typ)}: supported values: "
                  + ", ".join(f'"{t}"' for t in SERVICE_TYPES))
        cip = spec.get("clusterIP")
        ips = _list(spec.get("clusterIPs"), f"{sp}.clusterIPs")
        if ips and cip not in (None, "") and ips[0] != cip:
            _fail(f"{sp}.clusterIPs[0]", f"{_shown(str(ips[0]))}: must match clusterIP {_shown(str(cip))}")
        if cip in (None, "") and ips:
            cip = ips[0]
        if cip is not None and not isinstance(cip, str):
            _fail(f"{sp}.clusterIP", f"must be a string, got {_type(cip)}")
        headless = cip == HEADLESS
        ip = None
        if typ == "ExternalName":
            if cip not in (None, ""):
                _fail(f"{sp}.clusterIP", "must be empty for an ExternalName Service")
        elif cip not in (None, "") and not headless:
            try:
                addr = ipaddress.IPv4Address(cip)
            except ValueError:
                _fail(f"{sp}.clusterIP", f"{_shown(cip)}: must be a valid IPv4 address or \"None\"")
            if addr not in service_cidr:
                _fail(f"{sp}.clusterIP", f"{cip}: not inside the service CIDR {service_cidr} (cluster.service_cidr)")
            ip = int(addr)
            if ip in held:
                _fail(f"{sp}.clusterIP", f"{cip}: already allocated to {held[ip]}")
            held[ip] = key
        ports = _ports(spec, sp, needed=not headless and typ != "ExternalName")
        sel = spec.get("selector")
        selector = None
        if sel is not None:
            selector = dict(_mapping(sel, f"{sp}.selector"))
            names.check_labels(selector, f"{sp}.selector")
            selector = selector or None  # an empty selector selects nothing (the controller skips it)
        lb_ip = _lb_ip(d, spec, path) if typ == "LoadBalancer" and not spec.get("loadBalancerClass") else None
        parsed.append([Service(ns, name, typ, ip, ports, selector, raw=_stripped(d), lb_ip=lb_ip), path,
                       typ != "ExternalName" and not headless and ip is None])
    # allocate what was left out: the lowest free address from the range's second, in spec order
    nxt = int(service_cidr.network_address) + 2
    last = int(service_cidr.broadcast_address) - 1
    out = []
    for svc, path, needs in parsed:
        if needs:
            while nxt in held:
                nxt += 1
            if nxt > last:
                _fail(f"{path}.spec.clusterIP", f"the service CIDR {service_cidr} is full")
            held[nxt] = svc.key
            svc = dataclasses.replace(svc, cluster_ip=nxt)
        out.append((svc, path))
    return out


def _lb_ip(d: dict, spec: dict, path: str) -> int | None:
    """A LoadBalancer's external IP as the object gives it (module docstring), or None."""
    status = d.get("status")
    lb = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = lb.get("ingress") if isinstance(lb, dict) else None
    for k, e in enumerate(_list(ingress, f"{path}.status.loadBalancer.ingress")):
        ip = _mapping(e, f"{path}.status.loadBalancer.ingress[{k}]").get("ip")
        if ip is None:
            continue  # (a hostname-only ingress: another cloud's load balancer)
        try:
            a = ipaddress.ip_address(_string(ip, f"{path}.status.loadBalancer.ingress[{k}].ip"))
        except ValueError:
            _fail(f"{path}.status.loadBalancer.ingress[{k}].ip", f"{_shown(str(ip))}: must be a valid IP address")
        if a.version == 4:
            return int(a)
    ip = spec.get("loadBalancerIP")
    if ip in (None, ""):
        return None
    try:
        return int(ipaddress.IPv4Address(_string(ip, f"{path}.spec.loadBalancerIP")))
    except ValueError:
        _fail(f"{path}.spec.loadBalancerIP", f"{_shown(str(ip))}: must be a valid IPv4 address (an IP pool's name "
              "is NCP's own extension, not modeled)")


def assign_lb_ips(services: list[tuple[Service, str]], pool: ipaddress.IPv4Network | None, pool_field: str,
                  taken: dict[int, str]) -> list[tuple[Service, str]]:
    """Each LoadBalancer Service's external IP: as given (unique: each service has its own, as
    NCP allocates), else the lowest free host address of ``pool`` in spec order. ``taken``:
    addresses held already (SNAT IPs, uplinks) -> who holds them."""
    held = dict(taken)
    for svc, path in services:
        if svc.lb_ip is not None:
            if svc.lb_ip in held:
                given = (svc.raw or {}).get("spec", {}).get("loadBalancerIP")
                where = "spec.loadBalancerIP" if given and ipaddress.IPv4Address(given) == ipaddress.IPv4Address(
                    svc.lb_ip) else "status.loadBalancer.ingress"
                _fail(f"{path}.{where}", f"{ipaddress.IPv4Address(svc.lb_ip)} is already {held[svc.lb_ip]}")
            held[svc.lb_ip] = f"LoadBalancer {svc.key}'s"
    out = []
    free = (int(a) for a in pool.hosts()) if pool is not None else iter(())
    for svc, path in services:
        if svc.type == "LoadBalancer" and svc.lb_ip is None and not (svc.raw or {}).get("spec", {}).get(
                "loadBalancerClass"):
            ip = next((a for a in free if a not in held), None)
            if ip is None:
                _fail(f"{path}.spec.type", "a LoadBalancer needs an external IP: "
                      + (f"{pool_field} {pool} has no free address left" if pool is not None else
                         "give status.loadBalancer.ingress, spec.loadBalancerIP, or an external pool (t0.lb_pool)"))
            held[ip] = f"LoadBalancer {svc.key}'s"
            svc = dataclasses.replace(svc, lb_ip=ip)
        out.append((svc, path))
    return out


def parse_slices(items, namespaces=None) -> list[dict]:
    """The spec's ``endpointslices`` -> one dict per slice: namespace, service, ports
    {name: (number, proto)}, endpoints [(ip, ready)], raw; IPv4 slices only."""
    out, seen = [], {}
    for d, path in _objects(items, "endpointslices", ("EndpointSlice", "EndpointSliceList"), "discovery.k8s.io/v1"):
        _known(d, ("apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"), path, "EndpointSlice")
        ns, name, labels = _meta(d, path, namespaces, "EndpointSlice", names.DNS_SUBDOMAIN)
        if f"{ns}/{name}" in seen:
            _fail(f"{path}.metadata.name", f"duplicate EndpointSlice {ns}/{name} (also {seen[f'{ns}/{name}']})")
        seen[f"{ns}/{name}"] = path
        at = d.get("addressType")
        if at not in ("IPv4", "IPv6", "FQDN"):
            _fail(f"{path}.addressType", f"Unsupported value: {_shown(str(at))}: supported values: "
                  "\"IPv4\", \"IPv6\", \"FQDN\"")
        ports = {}
        for j, p in enumerate(_list(d.get("ports"), f"{path}.ports")):
            pp = f"{path}.ports[{j}]"
            pd = _mapping(p, pp)
            _known(pd, ("name", "port", "protocol", "appProtocol"), pp, "EndpointPort")
            pname = pd.get("name") or ""
            proto = pd.get("protocol") or "TCP"
            if proto not in PROTOCOLS:
                _fail(f"{pp}.protocol", f"Unsupported value: {_shown(proto)}")
            num = pd.get("port")
            if num is not None and (not _int(num) or port_number_problem(num)):
                _fail(f"{pp}.port", f"{_shown(num) if isinstance(num, str) else num}: must be between 1 and 65535, inclusive")
            ports[pname] = (num, PROTOCOLS[proto])
        eps = []
        for j, e in enumerate(_list(d.get("endpoints"), f"{path}.endpoints")):
            ep = f"{path}.endpoints[{j}]"
            ed = _mapping(e, ep)
            _known(ed, ("addresses", "conditions", "hostname", "targetRef", "nodeName", "zone", "hints",
                        "deprecatedTopology"), ep, "Endpoint")
            cond = _mapping(ed.get("conditions") or {}, f"{ep}.conditions")
            ready = cond.get("ready")
            ready = True if ready is None else ready is True
            addrs = _list(ed.get("addresses"), f"{ep}.addresses")
            if not addrs:
                _fail(f"{ep}.addresses", "required: at least one address")
            for k, a in enumerate(addrs):
                if at == "IPv4":
                    try:
                        eps.append((int(ipaddress.IPv4Address(_string(a, f"{ep}.addresses[{k}]"))), ready))
                    except ValueError:
                        _fail(f"{ep}.addresses[{k}]", f"{_shown(str(a))}: must be a valid IPv4 address")
                    break  # the API: consumers use the first address only
        svc = labels.get(SERVICE_NAME_LABEL)
        out.append({"namespace": ns, "service": svc, "ipv4": at == "IPv4", "ports": ports, "endpoints": eps,
                    "raw": _stripped(d), "path": path})
    return out


def resolve(services: list[tuple[Service, str]], slices: list[dict], cluster) -> tuple[Service, ...]:
    """Every service with its backends per port (see the module docstring)."""
    by_key: dict[str, list[dict]] = {}
    for s in slices:
        if s["service"]:
            by_key.setdefault(f"{s['namespace']}/{s['service']}", []).append(s)
    lport = {ip: (i if kind == "pod" else len(cluster.pods) + i) for ip, (kind, i) in cluster.ip_owner.items()}
    ns_index = cluster.namespace_index
    labels = cluster.pods.labels
    pod_ports = cluster.pods.ports
    pod_ns = cluster.pods.namespace
    pod_ip = cluster.pods.ip.tolist()
    out = []
    for svc, path in services:
        if svc.cluster_ip is None:
            out.append(svc)
            continue
        mine = by_key.get(svc.key)
        per_port = []
        if mine:
            for sp in svc.ports:
                got = set()
                for s in mine:
                    if not s["ipv4"] or sp.name not in s["ports"]:
                        continue
                    num, proto = s["ports"][sp.name]
                    if proto != sp.proto or num is None:
                        continue
                    got.update((ip, num) for ip, ready in s["endpoints"] if ready)
                per_port.append(tuple(Backend(ip, num, lport.get(ip, -1)) for ip, num in sorted(got)))
        elif svc.selector and labels is not None and svc.namespace in ns_index:
            k = ns_index[svc.namespace]
            sel = svc.selector.items()
            rows = [i for i in range(len(cluster.pods)) if pod_ns[i] == k and labels[i]
                    and all(labels[i].get(a) == b for a, b in sel)]
            for sp in svc.ports:
                got = []
                for i in rows:
                    if isinstance(sp.target, int):
                        got.append((pod_ip[i], sp.target, i))
                        continue
                    for cp in (pod_ports[i] if pod_ports is not None else ()) or ():
                        if cp.name == sp.target and cp.protocol == sp.proto:
                            got.append((pod_ip[i], cp.port, i))
                            break
                per_port.append(tuple(Backend(ip, num, i) for ip, num, i in sorted(got)))
        else:
            per_port = [() for _ in svc.ports]
        out.append(dataclasses.replace(svc, backends=tuple(per_port)))
    return tuple(out)

