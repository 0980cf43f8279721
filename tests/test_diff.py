"""fastpath diff: what changes between two clusters for the same traffic, held to the reference walk.

The oracle is independent of the diff: each packet of the run is moved to AFTER here, in plain
Python, by the rule the diff documents (sender by pod key; an address of a pod whose address
moved becomes its new one; other addresses stay), walked through both clusters by
`fastpath.reference.walk`, and classified from the two walks' named outcomes with the diff's
documented precedence (verdict, path, backend, decision).
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fastpath.analysis.diff import diff
from fastpath.analysis.patch import apply_patch, spec_changes
from fastpath.cli import main
from fastpath.model import SpecError, from_spec, generate, to_spec
from fastpath.model.addressing import ip_from_str
from fastpath.model.firewall import decision_names
from fastpath.model.scenarios import SEED_SPEC
from fastpath.packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK
from fastpath.reference import Ingress, Packet, walk
from fastpath.reference.batch import packet_of
from fastpath.services import backend_of
from fastpath.traffic import profile_from_params

DENY_DB = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "deny-all", "namespace": "db"},
           "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
PATCHES = {
    "deny-db": {"kind": "fastpath/patch", "add": {"networkpolicies": [DENY_DB]}},
    "sr-move": {"kind": "fastpath/patch", "set": {"namespaces[web].t1.edge": "edge-1"}},
    "remove-pod": {"kind": "fastpath/patch", "remove": {"pods": ["web/frontend-1"]}},
    "node-move": {"kind": "fastpath/patch", "add": {"hosts": [{"name": "esx-0"}]},
                  "set": {"nodes[worker-3].host": "esx-0"}},
    "remove-node": {"kind": "fastpath/patch",  # the workers' node IPs move down one
                    "remove": {"nodes": ["master"], "pods": ["kube-system/kube-proxy-master"]}},
    "scale-dns": {"kind": "fastpath/patch", "add": {"pods": [  # a third CoreDNS behind kube-dns's Service
        {"name": "coredns-3", "namespace": "kube-system", "node": "worker-3", "labels": {"k8s-app": "kube-dns"},
         "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]}},
}


@pytest.fixture(scope="module")
def seed():
    return from_spec(SEED_SPEC)


def patched(name):
    return from_spec(apply_patch(SEED_SPEC, PATCHES[name]))


# ---- the oracle ---------------------------------------------------------------------------------
def outcome(c, res) -> dict:
    names = decision_names(c)
    return {"verdict": res.verdict.label, "reason": res.reason.label, "device": res.device, "egress": res.egress,
            "hops": len(res.traceroute), "tunnels": len(res.tunnels),
            "last_tunnel": (res.tunnels[-1].src_host, res.tunnels[-1].dst_host) if res.tunnels else None,
            "via_edge": res.via_edge, "backend": res.backend_key,
            "dfw": (names[res.dfw_at_src] if res.dfw_at_src >= 0 else None,
                    names[res.dfw_at_dst] if res.dfw_at_dst >= 0 else None)}


def reference_class(ob: dict, oa: dict | None) -> str:
    if oa is None:
        return "sender removed"
    if ob["backend"] != oa["backend"] and (ob["verdict"], ob["reason"]) == (oa["verdict"], oa["reason"]):
        return "backend"  # kube-proxy picked another backend: device and path follow
    if any(ob[k] != oa[k] for k in ("verdict", "reason", "device", "egress")):
        return "verdict"
    if any(ob[k] != oa[k] for k in ("hops", "tunnels", "last_tunnel", "via_edge")):
        return "path"
    if ob["dfw"] != oa["dfw"]:
        return "decision"
    return "unchanged"


def moved(b, a, ingress: Ingress, pkt: Packet):
    """The packet as AFTER gets it, or None when its sender is gone."""
    if ingress.kind == "pod":
        key, where = b.pods[ingress.index].key, a.pod_index
    elif ingress.kind == "node":
        key, where = b.nodes[ingress.index].name, a.node_index
    else:
        key, where = b.uplinks[ingress.index].name, {u.name: i for i, u in enumerate(a.uplinks)}
    if key not in where:
        return None
    new_ip = {}
    for p in b.pods:
        if p.key in a.pod_index and a.pod(p.key).ip != p.ip:
            new_ip[p.ip] = a.pod(p.key).ip
    for n in b.nodes:
        if n.name in a.node_index and a.node(n.name).ip != n.ip:
            new_ip[n.ip] = a.node(n.name).ip
    q = copy.copy(pkt)
    q.src_ip, q.dst_ip = new_ip.get(pkt.src_ip, pkt.src_ip), new_ip.get(pkt.dst_ip, pkt.dst_ip)
    if q.reply and q.src_ip in a.service_by_ip:  # a Service's reply: from AFTER's backend of its connection
        be = backend_of(a, q.dst_ip, q.src_ip, q.proto, q.dport, q.sport)
        if be is not None and be.lport >= 0:
            n = len(a.pods)
            return (Ingress("pod", be.lport) if be.lport < n else Ingress("node", be.lport - n)), q
    return Ingress(ingress.kind, where[key]), q


# ---- the reference decides every packet ---------------------------------------------------------
REPLIES = profile_from_params("replies", "locality", {"reply_ratio": 0.4, "mix": {
    "same_namespace": 1, "cross_namespace": 2, "pod_to_node": 1, "north_south": 1}})
"""Replies come from the originals' destinations: pods, nodes and the uplink send too."""
DNS = profile_from_params("dns", "hot_service", {"services": [{"name": "dns", "share": 0.5}]})
DNS_REPLIES = profile_from_params("dns_replies", "hot_service", {"services": [{"name": "dns", "share": 0.5}],
                                                                 "reply_ratio": 0.4})
"""Half the packets to kube-dns's cluster IP (and its replies from the backends)."""


@pytest.mark.parametrize("change,profile", [("deny-db", "uniform"), ("sr-move", "locality"), ("remove-pod", "uniform"),
                                            ("deny-db", "locality"), ("node-move", "locality"), ("deny-db", REPLIES),
                                            ("sr-move", REPLIES), ("remove-pod", REPLIES), ("remove-node", REPLIES),
                                            ("scale-dns", DNS), ("scale-dns", DNS_REPLIES)])
def test_every_packet_changes_as_the_reference_walk_says(seed, change, profile):
    after = patched(change)
    d = diff(seed, after, profile=profile, packets=1200, seed=5, keep_packets=True)
    batch, gid = d.per_packet
    if profile is REPLIES:  # senders of every kind
        assert set(np.unique(batch.ingress_kind).tolist()) == {INGRESS_POD, INGRESS_NODE, INGRESS_UPLINK}
    if change == "scale-dns":
        assert {g.cls for g in d.groups if g.packets} == {"unchanged", "backend"}
    by_id = {g.id: g for g in d.groups}
    got = [by_id[int(x)].cls for x in gid]
    want = []
    for i in range(batch.size):
        ingress, pkt = packet_of(batch, i)
        ob = outcome(seed, walk(seed, ingress, pkt))
        m = moved(seed, after, ingress, pkt)
        want.append(reference_class(ob, outcome(after, walk(after, *m)) if m else None))
    assert got == want
    assert sum(g.packets for g in d.groups) == d.packets == 1200
    assert d.changed_packets == sum(c != "unchanged" for c in want)
    assert len({g.label for g in d.groups}) == len(d.groups)  # a group's label says what sets it apart


def test_a_policy_denying_db_ingress_drops_exactly_the_flows_into_db(seed):
    d = diff(seed, patched("deny-db"), packets=3000, seed=2)
    changed = d.changed_groups
    assert changed and {g.cls for g in changed} == {"verdict"}
    for g in changed:
        assert g.detail["after"] == {"verdict": "dropped", "reason": "dfw-deny", "decision": "isolated: ingress",
                                     "isolated_by": ["db/deny-all"]}
        assert g.label == "delivered -> dropped (dfw-deny, isolated: ingress by db/deny-all)"
        assert {dst for _, dst in g.pairs} == {"db"}
    assert d.changed_flows == sum(g.flows for g in changed)
    assert d.change_text == "adding networkpolicy db/deny-all"
    assert d.explanation()[0].startswith("Adding networkpolicy db/deny-all drops ")
    # ingress policy is enforced at the receiver's logical port, after the routers and the tunnel:
    # the dropped packets loaded every device as before, but the receivers' node VMs: their OVS
    # no longer passes the frames to the pods
    ld = d.load_delta
    nodes = {n.name for n in seed.nodes}
    vm = (ld["kind"] == "cpu") & ld["device"].isin(nodes)
    assert (ld.loc[~vm, ["delta_packets", "delta_bytes"]] == 0).all().all()
    assert (ld.loc[vm, "delta_packets"] <= 0).all()
    assert -ld.loc[vm, "delta_packets"].sum() == sum(g.packets for g in changed)


def test_an_sr_move_changes_paths_not_verdicts_and_loads_the_edge(seed):
    d = diff(seed, patched("sr-move"), profile="locality", packets=3000, seed=1)
    classes = {g.cls for g in d.changed_groups}
    assert classes == {"path"}
    assert any(g.detail["via_edge"] == "gained" for g in d.changed_groups)
    # every path that gained the hairpin involves web (the moved namespace) on one side
    for g in d.changed_groups:
        assert all("web" in pair for pair in g.pairs)
    ld = d.load_delta.set_index(["kind", "device"])
    assert ld.loc[("edge", "edge-1"), "delta_packets"] > 0
    assert ld.loc[("router", "t1-web-sr"), "packets_before"] == 0 and ld.loc[("router", "t1-web-sr"), "packets_after"] > 0
    assert ld.loc[("cpu", "edge-1"), "delta_util"] > 0  # the hairpins cost the edge's CPU
    assert ld.loc[("cpu", "edge-1"), "delta_packets"] > 0
    u = {k: d.bottleneck[k]["utilisation"] for k in ("before", "after")}
    assert u["before"] > 0 and u["after"] > 0


def test_identical_specs_change_nothing(seed):
    d = diff(seed, from_spec(SEED_SPEC), profile="locality", packets=5000, seed=4)
    assert d.changed_packets == d.changed_flows == 0
    assert [g.cls for g in d.groups] == ["unchanged"] and d.groups[0].packets == 5000
    assert (d.load_delta[["delta_packets", "delta_bytes"]] == 0).all().all()
    assert d.bottleneck["before"] == d.bottleneck["after"]
    assert d.changes == [] and d.explanation()[0].startswith("The specs describe the same cluster: no flow changes")


def test_removing_a_pod_marks_its_packets_sender_removed(seed):
    d = diff(seed, patched("remove-pod"), packets=4000, seed=3, keep_packets=True)
    batch, gid = d.per_packet
    row = seed.pod_index["web/frontend-1"]
    (removed,) = d.group("sender removed")
    mine = batch.ingress_id == row
    assert removed.packets == int(mine.sum()) > 0
    assert (gid[mine] == removed.id).all() and not (gid[~mine] == removed.id).any()
    assert {src for src, _ in removed.pairs} == {"web"}
    assert all(s["after"] is None and s["src"] == "web/frontend-1" for s in removed.samples)
    # the load report of AFTER does not count them: it carried the other packets only
    assert d.reports[1].packets == 4000 - removed.packets


# ---- samples: both outcomes, held to the reference ----------------------------------------------
@pytest.mark.parametrize("change", ["deny-db", "sr-move", "remove-pod"])
def test_samples_of_changed_and_unchanged_flows_match_the_reference(seed, change):
    after = patched(change)
    d = diff(seed, after, profile="locality", packets=2000, seed=7)
    checked = 0
    for g in d.groups:
        assert g.samples, g.label
        for s in g.samples:
            ingress = Ingress("pod", seed.pod_index[s["src"]])
            pkt = Packet(src_ip=ip_from_str(s["src_ip"]), dst_ip=ip_from_str(s["dst"]), proto=s["proto"],
                         sport=s["sport"], dport=s["dport"], ttl=s["ttl"], size=s["length"], reply=s["reply"])
            for side, c, ing_pkt in (("before", seed, (ingress, pkt)), ("after", after, moved(seed, after, ingress, pkt))):
                if ing_pkt is None:
                    assert s[side] is None and g.cls == "sender removed"
                    continue
                ref = outcome(c, walk(c, *ing_pkt))
                o = s[side]
                assert (o["verdict"], o["reason"], o["device"], o["hops"], o["tunnels"], o["via_edge"]) == \
                    (ref["verdict"], ref["reason"], ref["device"], ref["hops"], ref["tunnels"], ref["via_edge"])
                assert (o["dfw_at_src"], o["dfw_at_dst"]) == ref["dfw"]
                assert o["last_tunnel"] == ("->".join(ref["last_tunnel"]) if ref["last_tunnel"] else "")
            checked += 1
    assert checked >= 2 * (len(d.groups) > 1) + 1


def test_answers_do_not_depend_on_chunks_or_threads(seed):
    runs = [diff(seed, patched("sr-move"), profile=REPLIES, packets=6000, seed=8, chunk=ch, threads=t)
            for ch, t in ((1 << 20, 1), (777, 2))]
    a, b = ({g.label: (g.packets, g.flows, g.pairs, [s["src"] for s in g.samples]) for g in d.groups} for d in runs)
    assert a == b
    assert runs[0].load_delta.equals(runs[1].load_delta) and runs[0].flows == runs[1].flows


# ---- patches ------------------------------------------------------------------------------------
@pytest.mark.parametrize("patch,where", [
    ({"remove": {"pods": ["web/nope"]}}, "remove.pods[0]: no pod 'web/nope'"),
    ({"remove": {"podz": ["web/frontend-1"]}}, "remove.podz: 'podz' is not a section"),
    ({"add": {"pods": [{"name": "frontend-1", "namespace": "web", "node": "worker-1"}]}},
     "add.pods[0]: pod 'web/frontend-1' is in the spec already"),
    ({"add": {"dfw.rules": [{"action": "deny"}]}}, "add.dfw.rules[0]: a dfw rule needs a name"),
    ({"set": {"namespaces[webb].t1.edge": "edge-1"}}, "set.namespaces[webb].t1.edge: no namespace 'webb'"),
    ({"set": {"namespaces[web.t1.edge": "edge-1"}}, "set: 'namespaces[web.t1.edge' is not a field path"),
    ({"set": {"dfw.rules[nope].action": "deny"}}, "set.dfw.rules[nope].action: no dfw rule 'nope'"),
    ({"set": {"t0.name.x": 1}}, "set.t0.name.x: t0.name is not a mapping"),
    ({"rmove": {}}, "p.yaml: rmove: not a patch field"),
])
def test_a_bad_patch_is_one_line_naming_the_place(patch, where):
    with pytest.raises(SpecError) as exc:
        apply_patch(SEED_SPEC, {"kind": "fastpath/patch", **patch}, "p.yaml")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("p.yaml: ") and where in msg


def test_a_patch_changes_only_what_it_says_and_never_its_input():
    before = copy.deepcopy(SEED_SPEC)
    patch = {"kind": "fastpath/patch",
             "remove": {"dfw.rules": ["deny-default-to-db"], "pods": ["web/frontend-2"]},
             "add": {"networkpolicies": [{"apiVersion": "v1", "kind": "List", "items": [DENY_DB]}],
                     "pods": [{"name": "frontend-3", "namespace": "web", "node": "worker-3"}]},
             "set": {"namespaces[web].t1.edge": "edge-1", "pods[web/frontend-3].labels": {"app": "frontend"},
                     "dfw.default": "deny"}}
    after = apply_patch(SEED_SPEC, patch, "p.yaml")
    assert SEED_SPEC == before
    got = {(c["op"], c["section"], c["key"]) for c in spec_changes(SEED_SPEC, after)}
    assert got == {("remove", "dfw.rules", "deny-default-to-db"), ("remove", "pods", "web/frontend-2"),
                   ("add", "networkpolicies", "db/deny-all"), ("add", "pods", "web/frontend-3"),
                   ("change", "namespaces", "web"), ("change", "", "dfw.default")}
    c = from_spec(after)
    assert c.router_index["t1-web"].edge == "edge-1" and c.dfw_default == "deny" and not c.dfw_rules
    assert c.pod("web/frontend-3").labels == {"app": "frontend"}


def test_sections_come_from_the_schema_so_new_lists_need_no_code():
    from typing import Any

    from pydantic import BaseModel

    from fastpath.analysis.patch import list_sections

    class Meta(BaseModel):
        name: str

    class Spec(BaseModel):  # a schema that grew Services and EndpointSlices, as the lead's will
        pods: list[Meta] = []
        services: list[Any] = []
        endpointslices: list[Any] = []
        cluster: Meta | None = None

    assert list_sections(Spec) == ("pods", "services", "endpointslices")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"}}
    spec = {"services": [{"apiVersion": "v1", "kind": "List", "items": [svc]}]}
    out = apply_patch(spec, {"kind": "fastpath/patch", "remove": {"services": ["kube-system/kube-dns"]},
                             "add": {"endpointslices": [{"metadata": {"name": "kube-dns-x", "namespace": "kube-system"}}]}},
                      sections=list_sections(Spec))
    assert out == {"services": [], "endpointslices": [{"metadata": {"name": "kube-dns-x", "namespace": "kube-system"}}]}


def test_spec_changes_of_a_cluster_with_itself_are_none(seed):
    assert spec_changes(to_spec(seed), to_spec(from_spec(SEED_SPEC))) == []


# ---- the command line ---------------------------------------------------------------------------
def test_cli_json_has_the_keys(tmp_path):
    (tmp_path / "seed.json").write_text(json.dumps(SEED_SPEC))
    (tmp_path / "deny.yaml").write_text(json.dumps({**PATCHES["deny-db"], "description": "adding policy db/deny-all"}))
    res = CliRunner().invoke(main, ["diff", str(tmp_path / "seed.json"), str(tmp_path / "deny.yaml"), "--packets", "3000",
                                    "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert {"flows", "changed", "by_change", "samples", "load_delta", "bottleneck"} <= set(out)
    assert set(out["bottleneck"]) == {"before", "after"}
    assert out["packets"] == 3000 and out["changed"]["flows"] > 0
    assert {r["class"] for r in out["by_change"]} == {"unchanged", "verdict"}
    assert out["explanation"][0].startswith("Adding policy db/deny-all drops ")
    assert all({"src", "dst", "proto", "dport", "before", "after", "change"} <= set(s) for s in out["samples"])


def test_cli_text_explains_first_and_two_specs_work(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(SEED_SPEC))
    (tmp_path / "b.json").write_text(json.dumps(apply_patch(SEED_SPEC, PATCHES["sr-move"])))
    res = CliRunner().invoke(main, ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--packets", "2000",
                                    "--profile", "locality"])
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert first.startswith("Changing namespace web (t1.edge none -> edge-1) reroutes ")
    assert "bottleneck before:" in res.output and "load delta" in res.output


def test_cli_bad_patch_and_bad_profile_are_one_line(tmp_path):
    (tmp_path / "seed.json").write_text(json.dumps(SEED_SPEC))
    (tmp_path / "bad.yaml").write_text("kind: fastpath/patch\nset:\n  namespaces[web].t1.edge: edge-9\n")
    res = CliRunner().invoke(main, ["diff", str(tmp_path / "seed.json"), str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "unknown edge node 'edge-9'" in res.output
    res = CliRunner().invoke(main, ["diff", str(tmp_path / "seed.json"), str(tmp_path / "seed.json"), "--profile", "nope"])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0


# ---- volume -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_generated_cluster_with_a_policy_over_two_million_packets():
    b = generate(4, 2, 8, 50, seed=1)
    spec = to_spec(b)
    ns = spec["namespaces"][3]["name"]
    pol = {**DENY_DB, "metadata": {"name": "deny-all", "namespace": ns}}
    a = from_spec(apply_patch(spec, {"kind": "fastpath/patch", "add": {"networkpolicies": [pol]}}))
    d = diff(b, a, packets=2_000_000, seed=9, threads=2, chunk=1 << 19)
    assert sum(g.packets for g in d.groups) == d.packets == 2_000_000
    (g,) = d.changed_groups
    assert {dst for _, dst in g.pairs} == {ns}
    # uniform traffic: a packet lands in namespace ns with its share of the pods, and is dropped unless local
    share = np.mean(b.pods.namespace == b.namespace_index[ns])
    assert abs(g.packets / d.packets - share) < 0.01
    for s in g.samples:
        pkt = Packet(src_ip=ip_from_str(s["src_ip"]), dst_ip=ip_from_str(s["dst"]), proto=s["proto"], sport=s["sport"],
                     dport=s["dport"], ttl=s["ttl"], size=s["length"])
        assert walk(a, Ingress("pod", a.pod_index[s["src"]]), pkt).reason.label == "dfw-deny"
