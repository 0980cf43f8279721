"""`fastpath import`: kubectl output + an overlay -> a spec (fastpath/importer).

The fixture (tests/fixtures/kubectl/, made by make_fixtures.py) is the oracle: every assertion
reads what kubectl says from the fixture's own JSON, never a copy of the importer's output.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fastpath.cli import main
from fastpath.importer import import_kubectl
from fastpath.importer.overlay import parse_overlay
from fastpath.model import from_spec
from fastpath.model.addressing import ip_to_str
from fastpath.model.cluster import SpecError
from fastpath.reference.walk import Ingress, Packet, walk

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kubectl"
CLUSTER_JSON, CLUSTER_YAML, OVERLAY = FIXTURES / "cluster.json", FIXTURES / "cluster.yaml", FIXTURES / "overlay.yaml"
NOISE = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def kubectl() -> dict:
    return json.loads(CLUSTER_JSON.read_text())


def items(doc: dict, kind: str) -> list[dict]:
    return [o for o in doc["items"] if o["kind"] == kind]


def overlay() -> dict:
    return yaml.safe_load(OVERLAY.read_text())


def write(tmp_path: Path, name: str, data) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data))
    return p


def problems_of(*files, ov=None) -> list[str]:
    with pytest.raises(SpecError) as info:
        import_kubectl(files, ov if ov is not None else OVERLAY)
    return getattr(info.value, "problems", [str(info.value)])


def pod_skip(o: dict) -> str | None:
    """What kubectl's own fields say about a pod fastpath cannot model (None: it can)."""
    if o["status"].get("phase") in ("Succeeded", "Failed"):
        return "finished"
    if o["spec"].get("hostNetwork"):
        return "hostNetwork"
    if not o["spec"].get("nodeName"):
        return "not scheduled"
    return None


@pytest.fixture(scope="module")
def imported():
    return import_kubectl([CLUSTER_JSON], OVERLAY)


@pytest.fixture(scope="module")
def cluster(imported):
    return from_spec(imported.spec)


# ---- the fixture lands where kubectl says ------------------------------------------------------
def test_every_pod_lands_where_kubectl_says(cluster):
    doc, seen = kubectl(), 0
    for o in items(doc, "Pod"):
        if pod_skip(o):
            continue
        key = f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        p = cluster.pods[cluster.pod_index[key]]
        assert cluster.nodes[int(cluster.pods.node[cluster.pod_index[key]])].name == o["spec"]["nodeName"]
        assert ip_to_str(p.ip) == o["status"]["podIP"]
        assert dict(cluster.pods.labels[cluster.pod_index[key]]) == o["metadata"]["labels"]
        want = [(cp.get("name"), cp["containerPort"], cp["protocol"]) for c in o["spec"]["containers"]
                for cp in c.get("ports", [])]
        got = [(cp.name, cp.port, {6: "TCP", 17: "UDP", 132: "SCTP"}[cp.protocol])
               for cp in (cluster.pods.ports[cluster.pod_index[key]] if cluster.pods.ports else ())]
        assert got == want, key
        seen += 1
    assert seen == len(cluster.pods) > 0


def test_nodes_hosts_and_roles(cluster):
    doc, ov = kubectl(), overlay()
    host_of = {n: h["name"] for h in ov["hosts"] for n in h["nodes"]}
    got = {n.name: n for n in cluster.nodes}
    assert set(got) == {o["metadata"]["name"] for o in items(doc, "Node")}
    for o in items(doc, "Node"):
        n = got[o["metadata"]["name"]]
        internal = [a["address"] for a in o["status"]["addresses"] if a["type"] == "InternalIP"]
        assert ip_to_str(n.ip) == internal[0]
        assert n.host == host_of[n.name]
        assert n.max_pods == int(o["status"]["capacity"]["pods"])
        cp = "node-role.kubernetes.io/control-plane" in o["metadata"]["labels"]
        assert n.role == ("master" if cp else "worker")


def test_namespaces_labels_and_subnets(cluster):
    doc, ov = kubectl(), overlay()
    segs = {s.namespace: s for s in cluster.namespaces}
    labels = dict(zip((s.namespace for s in cluster.namespaces), cluster.namespace_labels))
    assert set(segs) == {o["metadata"]["name"] for o in items(doc, "Namespace")}
    for o in items(doc, "Namespace"):
        assert labels[o["metadata"]["name"]] == o["metadata"]["labels"]
    for name, given in ov["namespaces"].items():
        assert str(segs[name].subnet) == given["subnet"]
    by_ns: dict[str, list] = {}
    for o in items(doc, "Pod"):
        if not pod_skip(o):
            by_ns.setdefault(o["metadata"]["namespace"], []).append(ipaddress.IPv4Address(o["status"]["podIP"]))
    for ns, ips in by_ns.items():  # pod IPs imply the subnet: the smallest network within /24 covering them
        net = segs[ns].subnet
        assert all(ip in net for ip in ips) and net.prefixlen <= 24
        if ns not in ov["namespaces"]:
            assert net.prefixlen == 24
    t1 = {r.name: r for r in cluster.t1s}
    assert t1["t1-db"].edge == ov["namespaces"]["db"]["t1"]["edge"]


def test_overlay_vlan_and_hosts(cluster):
    ov = overlay()
    for key, v in ov["pods"].items():
        assert int(cluster.pods.vlan[cluster.pod_index[key]]) == v["vlan"]
    hosts = {h.name: h for h in cluster.hosts}
    for h in ov["hosts"]:
        assert ip_to_str(hosts[h["name"]].tep) == h["tep"]
        assert hosts[h["name"]].mtu == h.get("mtu", 1600)
    assert [u.name for u in cluster.uplinks] == [u["name"] for u in ov["t0"]["uplinks"]]


def test_skipped_pods_are_listed_once_by_reason(imported):
    doc = kubectl()
    want: dict[str, list[str]] = {}
    for o in items(doc, "Pod"):
        why = pod_skip(o)
        if why:
            want.setdefault(why, []).append(f"pods/{o['metadata']['namespace']}/{o['metadata']['name']}")
    assert want["hostNetwork"]  # kube-proxy on every node and the static control-plane pods
    got = {next(w for w in want if w in reason): names for reason, names in imported.skipped.items()}
    assert got == want
    listed = [n for names in imported.skipped.values() for n in names]
    assert len(listed) == len(set(listed))
    lines = imported.skipped_lines()
    assert len(lines) == len(want)
    host_line = next(line for line in lines if "hostNetwork" in line)
    assert host_line.startswith(f"skipped {len(want['hostNetwork'])} pods: ")


def test_services_slices_and_policies_ride_along_without_noise(imported, cluster):
    doc, spec = kubectl(), imported.spec
    for kind, key in (("Service", "services"), ("EndpointSlice", "endpointslices"), ("NetworkPolicy", "networkpolicies")):
        given = items(doc, kind)
        assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in spec[key]] == \
               [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in given]
        for o, src in zip(spec[key], given):
            lb = ((src.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            if kind == "Service" and lb:  # the external IP NCP gave a LoadBalancer, and nothing else
                assert o["status"] == {"loadBalancer": {"ingress": lb}}
            else:
                assert "status" not in o
            assert not set(NOISE) & set(o["metadata"])
            assert LAST_APPLIED not in o["metadata"].get("annotations", {})
            assert o["metadata"].get("labels") == src["metadata"].get("labels")
            assert o["metadata"].get("ownerReferences") == src["metadata"].get("ownerReferences")
            for field in ("spec", "endpoints", "ports", "addressType"):
                assert o.get(field) == src.get(field)
    headless = [s for s in spec["services"] if s["spec"]["clusterIP"] == "None"]
    assert headless  # kept: the loader decides
    lbs = {s.key: s.lb_ip for s in cluster.services if s.lb_ip is not None}
    assert lbs and all(ipaddress.IPv4Address(ip) == ipaddress.IPv4Address(
        next(o for o in items(doc, "Service") if f"{o['metadata']['namespace']}/{o['metadata']['name']}" == k)
        ["status"]["loadBalancer"]["ingress"][0]["ip"]) for k, ip in lbs.items())
    assert {p.namespace + "/" + p.name for p in cluster.networkpolicies} == \
           {f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in items(doc, "NetworkPolicy")}


def test_imported_services_have_the_endpoints_kubectl_shows(cluster):
    """Each Service's backends are the ready IPv4 endpoints of its EndpointSlices, on the port
    the slice names for the service port (and the walk reaches one through the cluster IP)."""
    doc = kubectl()
    slices = items(doc, "EndpointSlice")
    checked = 0
    for o in items(doc, "Service"):
        key = f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        svc = cluster.services[cluster.service_index[key]]
        if o["spec"].get("clusterIP") == "None" or o["spec"].get("type") == "ExternalName":
            assert svc.cluster_ip is None
            continue
        assert str(ipaddress.IPv4Address(svc.cluster_ip)) == o["spec"]["clusterIP"]
        mine = [x for x in slices if x["metadata"]["namespace"] == o["metadata"]["namespace"]
                and x["metadata"].get("labels", {}).get("kubernetes.io/service-name") == o["metadata"]["name"]
                and x.get("addressType") == "IPv4"]
        for sp, backends in zip(o["spec"]["ports"], svc.backends):
            want = sorted((int(ipaddress.IPv4Address(e["addresses"][0])), p["port"]) for x in mine
                          for e in x.get("endpoints") or [] if (e.get("conditions") or {}).get("ready", True)
                          for p in x.get("ports") or [] if p.get("name", "") == sp.get("name", ""))
            assert [(b.ip, b.port) for b in backends] == want, key
            checked += len(want)
    assert checked
    dns = cluster.services[cluster.service_index["kube-system/kube-dns"]]
    src = next(i for i in range(len(cluster.pods)) if cluster.pods[i].namespace != "kube-system")
    res = walk(cluster, Ingress("pod", src), Packet(src_ip=int(cluster.pods.ip[src]), dst_ip=dns.cluster_ip,
                                                    proto=17, sport=40000, dport=53))
    assert res.verdict.label == "delivered" and res.service_key == "kube-system/kube-dns"
    assert res.device in {cluster.pods[b.lport].key for b in dns.backends[0]}


def test_yaml_and_json_inputs_agree(imported):
    assert import_kubectl([CLUSTER_YAML], OVERLAY).spec == imported.spec


def test_several_files_merge(imported, tmp_path):
    doc = kubectl()
    kinds = sorted({o["kind"] for o in doc["items"]})
    files = []
    for i, kind in enumerate(kinds):  # one file per kind, JSON and YAML alternating, the typed List's way
        objs = [{k: v for k, v in o.items() if k != "kind"} for o in items(doc, kind)]
        files.append(write(tmp_path, f"{kind}.{'json' if i % 2 else 'yaml'}",
                           {"apiVersion": objs[0]["apiVersion"], "kind": f"{kind}List", "items": objs}))
    files.append(CLUSTER_JSON)  # the same objects again: one object each
    assert import_kubectl(files, OVERLAY).spec == imported.spec
    changed = copy.deepcopy(doc)
    items(changed, "Node")[1]["status"]["capacity"]["pods"] = "250"
    lines = problems_of(CLUSTER_JSON, write(tmp_path, "other.json", changed))
    assert lines == [f"nodes/{items(doc, 'Node')[1]['metadata']['name']}: given twice, differently "
                     f"({CLUSTER_JSON}: items[1] and {tmp_path / 'other.json'}: items[1])"]


def test_ipv6_only_and_dual_stack_pods(tmp_path):
    doc = kubectl()
    running = [o for o in items(doc, "Pod") if not pod_skip(o)]
    v6, dual = running[0], running[1]
    v6["status"]["podIP"], v6["status"]["podIPs"] = "fd00:10:244::5", [{"ip": "fd00:10:244::5"}]
    v4 = dual["status"]["podIP"]
    dual["status"]["podIP"], dual["status"]["podIPs"] = "fd00:10:244::6", [{"ip": "fd00:10:244::6"}, {"ip": v4}]
    im = import_kubectl([write(tmp_path, "k.json", doc)], OVERLAY)
    name = f"pods/{v6['metadata']['namespace']}/{v6['metadata']['name']}"
    assert [r for r, names in im.skipped.items() if name in names] == ["IPv6-only (fastpath models IPv4)"]
    (p,) = [p for p in im.spec["pods"] if p["name"] == dual["metadata"]["name"]]
    assert p["ip"] == v4


def test_kinds_not_modeled_are_skipped_by_kind(tmp_path):
    doc = kubectl()
    doc["items"].append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "api"},
                         "spec": {}})
    im = import_kubectl([write(tmp_path, "k.json", doc)], OVERLAY)
    assert im.skipped["kind Deployment (not modeled)"] == ["deployments/api/api"]


# ---- what cannot be mapped: one line naming the object -----------------------------------------
def test_a_node_without_host_and_its_pods(tmp_path):
    ov = overlay()
    ov["hosts"][2]["nodes"].remove("worker-3")
    lines = problems_of(CLUSTER_JSON, ov=write(tmp_path, "ov.yaml", ov))
    on_w3 = [f"pods/{o['metadata']['namespace']}/{o['metadata']['name']}: node worker-3 has no host in the overlay"
             for o in items(kubectl(), "Pod") if o["spec"].get("nodeName") == "worker-3" and not pod_skip(o)]
    assert lines == ["nodes/worker-3: no host in the overlay (list it in a host's nodes)"] + on_w3


def test_a_pod_on_an_unknown_node(tmp_path):
    doc = kubectl()
    o = next(o for o in items(doc, "Pod") if not pod_skip(o))
    o["spec"]["nodeName"] = "worker-9"
    assert problems_of(write(tmp_path, "k.json", doc)) == [
        f"pods/{o['metadata']['namespace']}/{o['metadata']['name']}: node worker-9 is not in the kubectl input "
        "(kubectl get nodes too)"]


def test_a_node_without_internal_ip(tmp_path):
    doc = kubectl()
    n = items(doc, "Node")[2]
    n["status"]["addresses"] = [a for a in n["status"]["addresses"] if a["type"] != "InternalIP"]
    assert problems_of(write(tmp_path, "k.json", doc)) == [
        f"nodes/{n['metadata']['name']}: no InternalIP (an IPv4 one) in status.addresses"]


def test_pod_ips_outside_every_subnet(tmp_path):
    doc = kubectl()
    running = [o for o in items(doc, "Pod") if not pod_skip(o)]
    out_of_cidr = running[0]
    out_of_cidr["status"]["podIP"], out_of_cidr["status"]["podIPs"] = "10.9.9.9", [{"ip": "10.9.9.9"}]
    db = next(o for o in running if o["metadata"]["namespace"] == "db")
    db["status"]["podIP"], db["status"]["podIPs"] = "172.16.77.5", [{"ip": "172.16.77.5"}]
    lines = problems_of(write(tmp_path, "k.json", doc))
    name = lambda o: f"pods/{o['metadata']['namespace']}/{o['metadata']['name']}"  # noqa: E731
    assert lines == [f"{name(out_of_cidr)}: IP 10.9.9.9 is outside the pod CIDR 172.16.0.0/16 (cluster.pod_cidr in "
                     "the overlay)",
                     f"{name(db)}: IP 172.16.77.5 is outside namespace db's subnet {overlay()['namespaces']['db']['subnet']}"]


def test_pods_that_imply_overlapping_subnets(tmp_path):
    doc = kubectl()
    web = next(o for o in items(doc, "Pod") if o["metadata"]["namespace"] == "web" and not pod_skip(o))
    web["status"]["podIP"], web["status"]["podIPs"] = "172.16.1.50", [{"ip": "172.16.1.50"}]  # kube-system's /24
    (line,) = problems_of(write(tmp_path, "k.json", doc))
    assert line.startswith("namespaces/web: its pods' IPs span 172.16.0.0/22, which overlaps namespaces/kube-system's "
                           "172.16.1.0/24")


def test_a_duplicate_pod_ip(tmp_path):
    doc = kubectl()
    a, b = [o for o in items(doc, "Pod") if o["metadata"]["namespace"] == "web" and not pod_skip(o)][:2]
    b["status"]["podIP"], b["status"]["podIPs"] = a["status"]["podIP"], [{"ip": a["status"]["podIP"]}]
    assert problems_of(write(tmp_path, "k.json", doc)) == [
        f"pods/web/{b['metadata']['name']}: IP {a['status']['podIP']} is also pods/web/{a['metadata']['name']}'s"]


def test_from_spec_errors_name_the_object(tmp_path):
    ov = overlay()
    ov["pods"]["db/postgres-1"] = {"vlan": 5000}
    (line,) = problems_of(CLUSTER_JSON, ov=write(tmp_path, "ov.yaml", ov))
    assert line.startswith("pods/db/postgres-1: vlan: VLAN tag 5000")


@pytest.mark.parametrize("change, where", [
    (lambda ov: ov["hosts"][0].update(mtu="big"), "hosts[0].mtu"),
    (lambda ov: ov["hosts"][0].update(rack=3), "hosts[0].rack"),
    (lambda ov: ov["pods"].update({"db/postgres-0": {"vlan": True}}), "pods.db/postgres-0.vlan"),
])
def test_a_bad_overlay_field_is_one_line(tmp_path, change, where):
    ov = overlay()
    change(ov)
    path = write(tmp_path, "ov.yaml", ov)
    assert problems_of(CLUSTER_JSON, ov=path)[0].startswith(f"{path}: {where}: ")


def test_overlay_names_what_kubectl_does_not_have(tmp_path):
    ov = overlay()
    ov["hosts"][1]["nodes"].append("worker-9")
    ov["namespaces"]["payments"] = {"subnet": "172.16.9.0/24"}
    path = write(tmp_path, "ov.yaml", ov)
    lines = problems_of(CLUSTER_JSON, ov=path)
    assert lines == [f"{path}: hosts[1].nodes[1]: no node worker-9 in the kubectl input",
                     f"{path}: namespaces.payments: no namespace payments in the kubectl input"]


@pytest.mark.parametrize("name, text, message", [
    ("spec.yaml", "hosts: [{name: esx-1}]\n", "not kubectl output: no kind (kubectl get ... -o json writes a List)"),
    ("array.json", "[1, 2]\n", "not kubectl output: a list, not a List or an object"),
    ("empty.yaml", "# nothing\n", "empty: no kubectl objects (kubectl get ... -o json writes a List)"),
    ("items.json", '{"kind": "List", "items": {"a": 1}}', None),
    ("bad.json", '{"kind": "List", "items": [}', None),
    ("bad.yaml", "kind: List\nitems: [\n", None),
])
def test_a_malformed_file_is_one_line_naming_it(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    (line,) = problems_of(path)
    assert line.startswith(str(path))
    if message:
        assert line == f"{path}: {message}"
    else:
        assert "items" in line or "malformed" in line


def test_an_item_without_kind_or_name(tmp_path):
    doc = {"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "x"}}, {"kind": "Pod", "metadata": {}}]}
    path = write(tmp_path, "k.json", doc)
    assert problems_of(path) == [f"{path}: items[0]: not a Kubernetes object (no kind)",
                                 f"{path}: items[1]: a Pod without metadata.name"]


def test_parse_overlay_defaults():
    ov = parse_overlay({})
    assert ov.hosts == [] and ov.pods == {} and ov.cluster.pod_cidr == "172.16.0.0/16"


# ---- the command line ---------------------------------------------------------------------------
def test_cli_import_then_trace_and_run(tmp_path):
    runner = CliRunner()
    out = tmp_path / "spec.json"
    res = runner.invoke(main, ["import", str(CLUSTER_JSON), "--overlay", str(OVERLAY), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.stdout and f"-> {out}" in res.stdout
    spec = json.loads(out.read_text())
    assert spec["services"] and spec["endpointslices"]  # written; checked above
    loadable = tmp_path / "loadable.json"
    loadable.write_text(json.dumps(spec))
    doc = kubectl()
    api = next(o for o in items(doc, "Pod") if o["metadata"]["labels"].get("app") == "api" and not pod_skip(o))
    pg = next(o for o in items(doc, "Pod") if o["metadata"]["name"] == "postgres-0")
    src, dst = (f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in (api, pg))
    res = runner.invoke(main, ["trace", src, dst, "--cluster", str(loadable), "--proto", "tcp", "--dport", "5432",
                               "--json"])
    assert res.exit_code == 0, res.output
    t = json.loads(res.stdout)
    assert t["verdict"] == "delivered" and t["traceroute"][-1] == pg["status"]["podIP"]  # allow-api lets it in
    res = runner.invoke(main, ["run", "--cluster", str(loadable), "--packets", "20000", "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["packets"] == 20000 and sum(r["verdicts"].values()) == 20000


def test_cli_errors_are_lines_and_nothing_is_written(tmp_path):
    ov = overlay()
    ov["hosts"][2]["nodes"] = []
    bad_ov = write(tmp_path, "ov.yaml", ov)
    out = tmp_path / "spec.json"
    res = CliRunner().invoke(main, ["import", str(CLUSTER_JSON), "--overlay", str(bad_ov), "--out", str(out)])
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert lines[0] == "fastpath: error: nodes/worker-3: no host in the overlay (list it in a host's nodes)"
    assert all(line.startswith("fastpath: error: pods/") for line in lines[1:]) and len(lines) > 1
    assert "Traceback" not in res.output and not out.exists()
    res = CliRunner().invoke(main, ["import", str(OVERLAY), "--out", str(out)])
    assert res.exit_code == 2 and res.stderr.strip() == \
        f"fastpath: error: {OVERLAY}: not kubectl output: no kind (kubectl get ... -o json writes a List)"


def test_cli_caps_a_long_list_of_problems(tmp_path):
    res = CliRunner().invoke(main, ["import", str(CLUSTER_JSON), "--out", str(tmp_path / "s.json")])  # no overlay
    assert res.exit_code == 2
    problems = len(items(kubectl(), "Node")) + sum(1 for o in items(kubectl(), "Pod") if not pod_skip(o))
    lines = res.stderr.splitlines()
    if problems > 20:
        assert lines[-1] == f"... and {problems - 20} more problem(s)"
    else:
        assert len(lines) == problems


def test_import_of_a_kubectl_yaml_out_file(tmp_path):
    out = tmp_path / "spec.yaml"
    im = import_kubectl([CLUSTER_YAML], OVERLAY, out)
    assert yaml.safe_load(out.read_text()) == im.spec


def test_several_yaml_documents_in_one_file(imported, tmp_path):
    doc = kubectl()
    kinds = sorted({o["kind"] for o in doc["items"]})
    docs = [{"apiVersion": "v1", "kind": "List", "items": items(doc, kind)} for kind in kinds]
    path = tmp_path / "k.yaml"
    path.write_text(yaml.safe_dump_all(docs))  # kubectl get ... -o yaml outputs joined with ---
    assert import_kubectl([path], OVERLAY).spec == imported.spec


def test_a_pod_in_a_namespace_kubectl_did_not_list(tmp_path):
    doc = kubectl()
    doc["items"] = [o for o in doc["items"] if not (o["kind"] == "Namespace" and o["metadata"]["name"] == "api")]
    lines = problems_of(write(tmp_path, "k.json", doc))
    want = [f"pods/api/{o['metadata']['name']}: namespace api is not in the kubectl input (kubectl get namespaces too)"
            for o in items(doc, "Pod") if o["metadata"]["namespace"] == "api" and not pod_skip(o)]
    assert want and lines == want


def test_one_object_file_beside_a_list(imported, tmp_path):
    doc = kubectl()
    one = next(o for o in items(doc, "Pod") if o["metadata"]["name"] == "postgres-1")  # kubectl get pod -o json
    doc["items"].remove(one)
    im = import_kubectl([write(tmp_path, "rest.json", doc), write(tmp_path, "one.json", one)], OVERLAY)
    key = lambda p: (p["namespace"], p["name"])  # noqa: E731
    assert sorted(im.spec["pods"], key=key) == sorted(imported.spec["pods"], key=key)


def test_the_readme_shows_what_import_prints(tmp_path, monkeypatch):
    """The README's "Import a cluster from kubectl" output lines are the fixture's."""
    from markdown_it import MarkdownIt

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Import a cluster from kubectl"):]
    section = section[:section.index("\n## ")]
    shown = [line for t in MarkdownIt().parse(section) if t.type == "fence" and t.info == "console"
             for line in t.content.splitlines() if not line.startswith("$ ")]
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # (the README's paths are relative)
    ok = runner.invoke(main, ["import", str(CLUSTER_JSON), "--overlay", str(OVERLAY), "--out", "spec.json"])
    ov = overlay()
    ov["hosts"][2]["nodes"].remove("worker-3")
    Path("ov.yaml").write_text(yaml.safe_dump(ov))
    bad = runner.invoke(main, ["import", str(CLUSTER_JSON), "--overlay", "ov.yaml", "--out", "spec.json"])
    printed = ok.stdout.splitlines() + bad.stderr.splitlines()
    assert shown and [line for line in shown if line not in printed] == []


def test_the_benchmark_list_imports_whole(tmp_path):
    """bench/import_kubectl.py's List (make_fixtures.build_list), small: every pod imports."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    doc, ov_text = mod.build_list(300, nodes=8, namespaces=3)
    src, ov = write(tmp_path, "k.json", doc), tmp_path / "ov.yaml"
    ov.write_text(ov_text)
    im = import_kubectl([src], ov)
    assert len(im.spec["pods"]) == 300 and not im.skipped
    assert len(im.spec["endpointslices"]) == len(im.spec["services"]) == 30
    from_spec(im.spec)


def test_diff_explains_a_policy_and_an_sr_move_on_the_imported_cluster(imported, cluster):
    """Issue 12's "done when" on the fixture: `fastpath diff` on an imported cluster."""
    from fastpath.analysis.diff import diff
    from fastpath.analysis.patch import apply_patch
    from fastpath.traffic import profile_from_params

    deny = {"kind": "fastpath/patch", "add": {"networkpolicies": [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": "web"},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]}}
    d = diff(cluster, from_spec(apply_patch(imported.spec, deny)), packets=20_000, seed=3)
    changed = [g for g in d.groups if g.cls != "unchanged" and g.packets]
    assert changed and all(g.cls == "verdict" for g in changed)
    assert "web/deny-all" in d.explanation()[0]
    web = {ip for i, ip in enumerate(cluster.pods.ip.tolist()) if cluster.pods[i].namespace == "web"}
    for g in changed:
        assert all(s["dst"].split(" ")[0] in {ip_to_str(x) for x in web} for s in g.samples)
    move = {"kind": "fastpath/patch", "set": {"namespaces[api].t1.edge": "edge-1"}}
    locality = profile_from_params("loc", "locality", {})
    d = diff(cluster, from_spec(apply_patch(imported.spec, move)), profile=locality, packets=20_000, seed=3)
    changed = [g for g in d.groups if g.cls != "unchanged" and g.packets]
    assert changed and {g.cls for g in changed} == {"path"}
    assert any("edge hairpin gained" in g.label for g in changed)
