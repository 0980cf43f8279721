"""NetworkPolicy in the spec: objects taken verbatim (metadata Kubernetes adds, kubectl Lists, later
YAML documents), validated as the API server validates them — each rule with the field path of
the first problem — and written back by `to_spec` so that ``from_spec(to_spec(c))`` is ``c``.
Namespace labels (with ``kubernetes.io/metadata.name``) and pod container ports too."""

from __future__ import annotations

import copy
import ipaddress
import pickle

import pytest

from fastpath.model import SpecError, default_scenario, from_spec, generate, load, parse_text, to_spec
from fastpath.policy.netpol_model import netpol_spec, policy
from fastpath.policy.objects import (EGRESS, INGRESS, SCTP, TCP, UDP, ContainerPort, IPBlock, LabelSelector,
                                     NetworkPolicy, Peer, PolicyPort, Requirement, Rule)

GOOD = policy("good", "x", {"podSelector": {}, "ingress": [{}]})


def refused(*policies, spec=None) -> SpecError:
    spec = spec if spec is not None else netpol_spec(*policies)
    with pytest.raises(SpecError) as e:
        from_spec(spec)
    return e.value


def pol(spec, name="p", namespace="x"):
    return policy(name, namespace, spec)


def ingress_from(*peers):
    return pol({"podSelector": {}, "ingress": [{"from": list(peers)}]})


def ingress_ports(*ports):
    return pol({"podSelector": {}, "ingress": [{"ports": list(ports)}]})


def with_selector(selector):
    return pol({"podSelector": selector})


# (the bad policy, its path below networkpolicies[1], a piece of the message)
CASES = {
    "peer with nothing": (ingress_from({}), "spec.ingress[0].from[0]", "must specify a peer"),
    "peer of nulls": (ingress_from({"podSelector": None}), "spec.ingress[0].from[0]", "must specify a peer"),
    "ipBlock and podSelector": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}),
                                "spec.ingress[0].from[0]", "may not specify both ipBlock and another peer"),
    "ipBlock and namespaceSelector": (ingress_from({"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/8"},
                                                                         "namespaceSelector": {}}),
                                      "spec.ingress[0].from[1]", "may not specify both ipBlock and another peer"),
    "except outside cidr": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}),
                            "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of 10.0.0.0/16"),
    "except equal to cidr": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24", "10.0.0.0/16"]}}),
                             "spec.ingress[0].from[0].ipBlock.except[1]", "must be a strict subset of 10.0.0.0/16"),
    "except wider than cidr": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/8"]}}),
                               "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of 10.0.0.0/16"),
    "except of another family": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["fd00::/64"]}}),
                                 "spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of 10.0.0.0/16"),
    "except not a CIDR": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0"]}}),
                          "spec.ingress[0].from[0].ipBlock.except[0]", "must be a valid CIDR value"),
    "cidr prefix too long": (ingress_from({"ipBlock": {"cidr": "10.0.0.0/33"}}), "spec.ingress[0].from[0].ipBlock.cidr",
                             "must be a valid CIDR value"),
    "cidr three octets": (ingress_from({"ipBlock": {"cidr": "10.0.0/8"}}), "spec.ingress[0].from[0].ipBlock.cidr",
                          "must be a valid CIDR value"),
    "cidr octet over 255": (ingress_from({"ipBlock": {"cidr": "10.0.0.256/8"}}), "spec.ingress[0].from[0].ipBlock.cidr",
                            "must be a valid CIDR value"),
    "cidr a word": (ingress_from({"ipBlock": {"cidr": "banana"}}), "spec.ingress[0].from[0].ipBlock.cidr",
                    "must be a valid CIDR value"),
    "cidr missing": (ingress_from({"ipBlock": {"except": ["10.0.0.0/24"]}}), "spec.ingress[0].from[0].ipBlock.cidr",
                     "required"),
    "cidr IPv4-mapped IPv6": (ingress_from({"ipBlock": {"cidr": "::ffff:10.0.0.0/104"}}),
                              "spec.ingress[0].from[0].ipBlock.cidr", "IPv4-mapped"),
    "egress except": (pol({"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.169.0.0/24"]}}]}]}),
        "spec.egress[0].to[0].ipBlock.except[0]", "must be a strict subset of 192.168.0.0/16"),
    "port 0": (ingress_ports({"port": 0}), "spec.ingress[0].ports[0].port", "must be between 1 and 65535, inclusive"),
    "port 65536": (ingress_ports({"port": 80}, {"port": 65536}), "spec.ingress[0].ports[1].port",
                   "must be between 1 and 65535, inclusive"),
    "endPort below port": (ingress_ports({"port": 32000, "endPort": 31999}), "spec.ingress[0].ports[0].endPort",
                           "must be greater than or equal to `port`"),
    "endPort above 65535": (ingress_ports({"port": 80, "endPort": 65536}), "spec.ingress[0].ports[0].endPort",
                            "must be between 1 and 65535, inclusive"),
    "endPort with a named port": (ingress_ports({"port": "http", "endPort": 90}), "spec.ingress[0].ports[0].endPort",
                                  "may not be specified when `port` is non-numeric"),
    "endPort without port": (ingress_ports({"protocol": "UDP", "endPort": 90}), "spec.ingress[0].ports[0].endPort",
                             "may not be specified when `port` is not specified"),
    "named port uppercase": (ingress_ports({"port": "Serve-80"}), "spec.ingress[0].ports[0].port",
                             "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
    "named port too long": (ingress_ports({"port": "serve-8080-tcp-x"}), "spec.ingress[0].ports[0].port",
                            "must be no more than 15 characters"),
    "named port digits only": (ingress_ports({"port": "80"}), "spec.ingress[0].ports[0].port",
                               "must contain at least one letter (a-z)"),
    "named port double hyphen": (ingress_ports({"port": "a--b"}), "spec.ingress[0].ports[0].port",
                                 "must not contain consecutive hyphens"),
    "named port leading hyphen": (ingress_ports({"port": "-ab"}), "spec.ingress[0].ports[0].port",
                                  "must not begin or end with a hyphen"),
    "port a boolean": (ingress_ports({"port": True}), "spec.ingress[0].ports[0].port", "must be a port number or a port name"),
    "protocol lowercase": (ingress_ports({"protocol": "tcp", "port": 80}), "spec.ingress[0].ports[0].protocol",
                           'Unsupported value: \'tcp\': supported values: "TCP", "UDP", "SCTP"'),
    "protocol ICMP": (ingress_ports({"protocol": "ICMP"}), "spec.ingress[0].ports[0].protocol", "Unsupported value"),
    "three policyTypes": (pol({"podSelector": {}, "policyTypes": ["Ingress", "Egress", "Ingress"]}), "spec.policyTypes",
                          "may not specify more than two policyTypes"),
    "policyType unknown": (pol({"podSelector": {}, "policyTypes": ["Ingress", "ingress"]}), "spec.policyTypes[1]",
                           'Unsupported value: \'ingress\': supported values: "Ingress", "Egress"'),
    "matchLabels key": (with_selector({"matchLabels": {"-app": "web"}}), "spec.podSelector.matchLabels", "label key"),
    "matchLabels key prefix": (with_selector({"matchLabels": {"Example.com/app": "web"}}), "spec.podSelector.matchLabels",
                               "prefix"),
    "matchLabels value": (with_selector({"matchLabels": {"app": "web server"}}), "spec.podSelector.matchLabels",
                          "not a label value"),
    "matchLabels value a number": (with_selector({"matchLabels": {"port": 80}}), "spec.podSelector.matchLabels",
                                   "label 'port': value must be a string, got a number (80) (quote it)"),
    "operator unknown": (with_selector({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["a"]}]}),
                         "spec.podSelector.matchExpressions[0].operator", "not a valid selector operator"),
    "In without values": (with_selector({"matchExpressions": [{"key": "app", "operator": "In"}]}),
                           "spec.podSelector.matchExpressions[0].values",
                           "must be specified when `operator` is 'In' or 'NotIn'"),
    "NotIn with empty values": (with_selector({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": []}]}),
                                "spec.podSelector.matchExpressions[0].values", "must be specified"),
    "Exists with values": (with_selector({"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]}),
                           "spec.podSelector.matchExpressions[0].values",
                           "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
    "expression key": (with_selector({"matchExpressions": [{"key": "a b", "operator": "Exists"}]}),
                       "spec.podSelector.matchExpressions[0].key", "label key"),
    "expression value": (with_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "-no"]}]}),
                         "spec.podSelector.matchExpressions[0].values[1]", "not a label value"),
    "deep in a peer": (pol({"podSelector": {}, "ingress": [{}, {}, {"from": [{"podSelector": {}}, {"namespaceSelector": {
        "matchExpressions": [{"key": "team", "operator": "DoesNotExist", "values": ["x"]}]}}]}]}),
        "spec.ingress[2].from[1].namespaceSelector.matchExpressions[0].values", "may not be specified"),
    "name not a subdomain": (pol({}, name="Bad_Name"), "metadata.name", "not a DNS-1123 subdomain"),
    "name missing": ({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"namespace": "x"}},
                     "metadata.name", "required"),
    "namespace unknown": (pol({}, namespace="w"), "metadata.namespace", "unknown namespace 'w'"),
    "namespace default absent from the cluster": (
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"}},
        "metadata.namespace", "unknown namespace 'default' (the default when metadata.namespace is not given)"),
    "namespace not a label": (pol({}, namespace="X"), "metadata.namespace", "not a DNS-1123 label"),
    "metadata label": ({**pol({}), "metadata": {"name": "p", "namespace": "x", "labels": {"a": "b c"}}},
                       "metadata.labels", "not a label value"),
    "metadata unknown field": ({**pol({}), "metadata": {"name": "p", "namespace": "x", "nmae": "q"}},
                               "metadata.nmae", "unknown field"),
    "duplicate": (policy("good", "x", {"podSelector": {}}), "metadata.name",
                  "duplicate NetworkPolicy x/good (also networkpolicies[0])"),
    "kind": ({**pol({}), "kind": "NetworkPolicies"}, "kind", "expected NetworkPolicy"),
    "apiVersion": ({**pol({}), "apiVersion": "extensions/v1beta1"}, "apiVersion", "expected networking.k8s.io/v1"),
    "apiVersion missing": ({k: v for k, v in pol({}).items() if k != "apiVersion"}, "apiVersion", "missing"),
    "unknown spec field": (pol({"podSelector": {}, "ingres": [{}]}), "spec.ingres", "unknown field"),
    "unknown rule field": (pol({"podSelector": {}, "egress": [{"from": []}]}), "spec.egress[0].from", "unknown field"),
    "status": ({**pol({}), "status": {}}, "status", "unknown field"),
    "rule not a mapping": (pol({"podSelector": {}, "ingress": ["all"]}), "spec.ingress[0]", "must be a mapping"),
    "ingress not a list": (pol({"podSelector": {}, "ingress": {"from": []}}), "spec.ingress", "must be a list"),
    "List item": ({"apiVersion": "v1", "kind": "List", "items": [GOOD | {"metadata": {"name": "g2", "namespace": "x"}},
                                                                 with_selector({"matchLabels": {"a": "-"}})]},
                  "items[1].spec.podSelector.matchLabels", "not a label value"),
    "List apiVersion": ({"apiVersion": "networking.k8s.io/v1", "kind": "List", "items": []}, "apiVersion", "a List is v1"),
    "List item not a policy": ({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service",
                                                                               "metadata": {"name": "s"}}]},
                               "items[0].kind", "'Service': expected NetworkPolicy"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_policy(name):
    bad, path, piece = CASES[name]
    err = refused(GOOD, bad)
    assert err.path == f"networkpolicies[1].{path}", str(err)
    assert piece in err.message, str(err)
    assert "\n" not in str(err)


def test_not_a_mapping():
    err = refused(GOOD, "deny-all")
    assert err.path == "networkpolicies[1]" and "must be a mapping" in err.message


def test_the_issue_example_word_for_word():
    bad = ingress_from({"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/8"]}})
    err = refused(GOOD, GOOD | {"metadata": {"name": "g2", "namespace": "y"}}, GOOD | {"metadata": {"name": "g3", "namespace": "z"}}, bad)
    assert str(err) == "networkpolicies[3].spec.ingress[0].from[1].ipBlock.except[0]: must be a strict subset of 10.0.0.0/16"


# ---- what Kubernetes writes is accepted --------------------------------------------------------
KUBECTL_OUTPUT = """
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy"}
    creationTimestamp: "2024-05-01T10:00:00Z"
    generation: 1
    labels: {app.kubernetes.io/part-of: shop}
    managedFields:
    - apiVersion: networking.k8s.io/v1
      fieldsType: FieldsV1
      fieldsV1: {"f:spec": {}}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-01T10:00:00Z"
    name: allow-y
    namespace: x
    resourceVersion: "4711"
    uid: 0b0b3f7e-1f35-4d6c-a7a6-2f6b1d3f0c11
  spec:
    podSelector:
      matchLabels: {pod: a}
    ingress:
    - from:
      - namespaceSelector:
          matchLabels: {kubernetes.io/metadata.name: y}
      ports:
      - port: serve-80-tcp
        protocol: TCP
    policyTypes: [Ingress]
"""


def _with_policies_text(*extra_docs: str, policies=()) -> str:
    import yaml
    return yaml.safe_dump(netpol_spec(*policies)) + "".join(f"---\n{d}" for d in extra_docs)


def test_kubectl_list_as_a_later_document():
    c = parse_text_cluster(_with_policies_text(KUBECTL_OUTPUT, policies=[GOOD]))
    assert [p.key for p in c.networkpolicies] == ["x/good", "x/allow-y"]
    p = c.networkpolicies[1]
    assert p.pod_selector == LabelSelector((("pod", "a"),))
    assert p.policy_types == (INGRESS,)
    assert p.ingress == (Rule((Peer(namespace_selector=LabelSelector((("kubernetes.io/metadata.name", "y"),))),),
                              (PolicyPort(TCP, "serve-80-tcp"),)),)


def parse_text_cluster(text):
    return from_spec(parse_text(text))


def test_several_documents_and_empty_ones(tmp_path):
    one = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: one, namespace: y}\nspec: {}\n"
    two = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n"
           "- metadata: {name: two, namespace: z}\n  spec: {podSelector: {}, policyTypes: [Egress]}\n")
    f = tmp_path / "spec.yaml"
    f.write_text(_with_policies_text(one, "", two))
    c = load(f)
    assert [(p.key, p.policy_types) for p in c.networkpolicies] == [("y/one", (INGRESS,)), ("z/two", (EGRESS,))]


def test_an_error_in_a_later_document_names_the_file_document_and_line(tmp_path):
    bad = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: x}\n"
           "spec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/16]}\n")
    f = tmp_path / "spec.yaml"
    text = _with_policies_text(bad)
    f.write_text(text)
    line = text.splitlines().index("---") + 2  # the document's first line
    with pytest.raises(SpecError) as e:
        load(f)
    assert str(e.value) == (f"{f} (document 2, line {line}).spec.ingress[0].from[0].ipBlock.except[0]: "
                            "must be a strict subset of 10.0.0.0/16")


def test_a_later_document_that_is_not_a_mapping(tmp_path):
    f = tmp_path / "spec.yaml"
    f.write_text(_with_policies_text("- just\n- a list\n"))
    with pytest.raises(SpecError, match=r"\(document 2, line \d+\): a document after the spec must be a NetworkPolicy"):
        load(f)


def test_cidrs_as_the_api_server_reads_them():
    c = from_spec(netpol_spec(ingress_from({"ipBlock": {"cidr": "10.0.0.1/16", "except": ["010.000.005.000/24"]}},
                                           {"ipBlock": {"cidr": "fd00::/64"}})))
    b0, b1 = (peer.ip_block for peer in c.networkpolicies[0].ingress[0].peers)
    assert b0 == IPBlock(ipaddress.IPv4Network("10.0.0.0/16"), (ipaddress.IPv4Network("10.0.5.0/24"),))
    assert b1.cidr == ipaddress.IPv6Network("fd00::/64")
    assert not b1.contains(int(ipaddress.IPv4Address("10.0.0.1")))  # an IPv6 block matches no IPv4 packet
    assert b0.contains(int(ipaddress.IPv4Address("10.0.4.255"))) and not b0.contains(int(ipaddress.IPv4Address("10.0.5.1")))


def test_parsed_values_and_defaults():
    c = from_spec(netpol_spec(pol({
        "podSelector": {"matchExpressions": [{"key": "pod", "operator": "NotIn", "values": ["c"]}]},
        "ingress": [{"ports": [{"port": 80, "endPort": 90}, {"protocol": "UDP"}, {"protocol": "SCTP", "port": "serve-80-sctp"}],
                     "from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"pod": "b"}}}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]}],
    })))
    assert c.networkpolicies == (NetworkPolicy(
        "x", "p", LabelSelector((), (Requirement("pod", "NotIn", ("c",)),)), (INGRESS, EGRESS),
        (Rule((Peer(LabelSelector((("pod", "b"),)), LabelSelector()),),
              (PolicyPort(TCP, 80, 90), PolicyPort(UDP), PolicyPort(SCTP, "serve-80-sctp"))),),
        (Rule((Peer(ip_block=IPBlock(ipaddress.IPv4Network("0.0.0.0/0"), (ipaddress.IPv4Network("169.254.0.0/16"),))),)),)),)


# ---- namespaces and pods ------------------------------------------------------------------------
def test_namespace_labels():
    c = from_spec(netpol_spec())
    assert c.namespace_label_sets == [{"ns": n, "kubernetes.io/metadata.name": n} for n in "xyz"]
    spec = netpol_spec()
    spec["namespaces"][0]["labels"]["kubernetes.io/metadata.name"] = "x"  # the same value: fine
    assert from_spec(spec).namespace_label_sets[0]["kubernetes.io/metadata.name"] == "x"
    assert default_scenario().namespace_label_sets[0] == {"kubernetes.io/metadata.name": "kube-system"}


@pytest.mark.parametrize("labels, path, piece", [
    ({"kubernetes.io/metadata.name": "y"}, "namespaces[0].labels", "set by Kubernetes to the namespace's name 'x', not 'y'"),
    ({"-bad": "v"}, "namespaces[0].labels", "label key"),
    ({"ok": "not ok"}, "namespaces[0].labels", "not a label value"),
])
def test_bad_namespace_labels(labels, path, piece):
    spec = netpol_spec()
    spec["namespaces"][0]["labels"] = labels
    err = refused(spec=spec)
    assert err.path == path and piece in err.message, str(err)


def test_pod_ports():
    c = from_spec(netpol_spec())
    xa = c.pod("x/a")
    assert ContainerPort(80, TCP, "serve-80-tcp") in xa.ports and ContainerPort(81, SCTP, "serve-81-sctp") in xa.ports
    assert len(xa.ports) == 6
    seed = default_scenario()  # CoreDNS declares its ports; nginx-1 none
    assert seed.pod("default/nginx-1").ports == ()
    assert ContainerPort(53, UDP, "dns") in seed.pod("kube-system/kube-dns").ports


@pytest.mark.parametrize("ports, path, piece", [
    ([{"containerPort": 0}], "pods[0].ports[0].containerPort", "must be between 1 and 65535, inclusive"),
    ([{"containerPort": 70000}], "pods[0].ports[0].containerPort", "must be between 1 and 65535, inclusive"),
    ([{"containerPort": 80, "name": "HTTP"}], "pods[0].ports[0].name", "must contain only alpha-numeric"),
    ([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http", "protocol": "UDP"}],
     "pods[0].ports[1].name", "duplicate port name 'http' (also pods[0].ports[0])"),
    ([{"containerPort": 80, "protocol": "ICMP"}], "pods[0].ports[0].protocol", "input should be 'TCP', 'UDP' or 'SCTP'"),
    ([{"port": 80}], "pods[0].ports[0].containerPort", "field required"),
])
def test_bad_pod_ports(ports, path, piece):
    spec = netpol_spec()
    spec["pods"][0]["ports"] = ports
    err = refused(spec=spec)
    assert err.path == path and piece in err.message, str(err)


# ---- round trip ---------------------------------------------------------------------------------
def test_to_spec_round_trips():
    spec = netpol_spec(GOOD, pol({
        "podSelector": {"matchLabels": {"pod": "a"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]},
        "ingress": [{"from": [{"ipBlock": {"cidr": "172.16.0.0/16", "except": ["172.16.2.0/24"]}},
                              {"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {}}],
                     "ports": [{"port": "serve-80-tcp"}, {"protocol": "UDP", "port": 53, "endPort": 60}]}],
        "egress": [{}, {"to": [{"podSelector": {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}}]}],
    }), {"apiVersion": "v1", "kind": "List", "items": [pol({"podSelector": {}, "policyTypes": ["Egress"]}, name="q")]})
    c = from_spec(spec)
    out = to_spec(c)
    c2 = from_spec(copy.deepcopy(out))
    assert c2.networkpolicies == c.networkpolicies and len(c.networkpolicies) == 3
    assert c2.namespace_label_sets == c.namespace_label_sets
    assert [c2.pod(p.key).ports for p in c.pods] == [p.ports for p in c.pods]
    assert to_spec(c2) == out
    assert out["networkpolicies"][2] == {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                         "metadata": {"name": "q", "namespace": "x"},
                                         "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}


def test_a_cluster_with_policies_pickles():
    c = from_spec(netpol_spec(GOOD))
    assert pickle.loads(pickle.dumps(c.networkpolicies)) == c.networkpolicies
    assert pickle.loads(pickle.dumps(c.pods)).ports == c.pods.ports


def test_no_policies_by_default():
    assert default_scenario().networkpolicies == () and generate().networkpolicies == ()
    assert "networkpolicies" not in to_spec(default_scenario())
    assert generate().namespace_label_sets[0] == {"kubernetes.io/metadata.name": generate().namespaces[0].namespace}


# ---- hostile values: one line, never a traceback -------------------------------------------------
@pytest.mark.parametrize("bad, path, piece", [
    (ingress_ports({"port": 10 ** 5000}), "spec.ingress[0].ports[0].port", "an integer of 16610 bits: must be between"),
    (ingress_ports({"port": 80, "endPort": -10 ** 5000}), "spec.ingress[0].ports[0].endPort", "an integer of 16610 bits"),
    (with_selector({"matchLabels": {"a": 10 ** 5000}}), "spec.podSelector.matchLabels", "an integer of 16610 bits"),
    (ingress_from({"ipBlock": {"cidr": "10.0.0.0/" + "9" * 6000}}), "spec.ingress[0].from[0].ipBlock.cidr",
     "must be a valid CIDR value"),
    (ingress_from({"ipBlock": {"cidr": "1" + "0" * 6000 + ".0.0.0/8"}}), "spec.ingress[0].from[0].ipBlock.cidr",
     "must be a valid CIDR value"),
    (ingress_from({"ipBlock": {"cidr": ["10.0.0.0/8"]}}), "spec.ingress[0].from[0].ipBlock.cidr", "must be a string"),
    (pol({"podSelector": {}, "ingress": [{"from": [None]}]}), "spec.ingress[0].from[0]", "got null"),
    (pol({"podSelector": {1: "a"}}), "spec.podSelector", "key 1 is not a string"),
])
def test_hostile_values(bad, path, piece):
    err = refused(bad)
    assert err.path == f"networkpolicies[0].{path}" and piece in err.message, str(err)
    assert len(str(err)) < 600


def test_leading_zeros_any_number():
    c = from_spec(netpol_spec(ingress_from({"ipBlock": {"cidr": "0" * 5000 + "10.0.0.0/" + "0" * 5000 + "8"}})))
    assert c.networkpolicies[0].ingress[0].peers[0].ip_block.cidr == ipaddress.IPv4Network("10.0.0.0/8")
