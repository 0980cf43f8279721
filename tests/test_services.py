"""Kubernetes Services: the spec (as the API server checks it), kube-proxy's table and hash, and
the service stage of the data plane held to the reference walk, field for field and hop for hop."""

import copy
import ipaddress

import numpy as np
import pytest
import yaml

from fastpath import services as kube_services
from fastpath.dataplane.api import Dataplane
from fastpath.dataplane.stages.common import KEY_ROWS, KEY_STRIDE, VECTOR, make_keys
from fastpath.dataplane.stages.common import LEG_PACKET
from fastpath.model.cluster import SpecError
from fastpath.model.scenarios import SEED_SPEC, default_scenario
from fastpath.model.spec import from_spec, to_spec
from fastpath.model.specfile import parse_text
from fastpath.packets import make_batch
from fastpath.reference.batch import DeviceIds, trace_records, walk_batch
from fastpath.reference.walk import Ingress, Packet, walk
from fastpath.tables import services as svc_table
from fastpath.traffic import uniform_pod_to_pod
from fastpath.verdicts import DeviceKind, Reason, Verdict
from fastpath._jit import jit

VIP = int(ipaddress.IPv4Address("10.96.0.10"))


def _svc(name, ns="default", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _slice(name, ns, service, endpoints, ports):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def _cluster(*services, slices=()):
    s = copy.deepcopy(SEED_SPEC)
    s["services"] = s["services"] + list(services)
    s["endpointslices"] = list(slices)
    return from_spec(s)


WIDE = ["172.16.1.2", "172.16.1.3", "172.16.2.2", "172.16.3.2", "172.16.4.2", "172.16.5.2"]
"""Endpoints of `_rich`'s ``web/wide`` (more than `service.SELECT_MAX` backends); its
``web/four`` has the first four (as many as the selects take)."""


def _rich():
    """The seed plus services of every kind of endpoint set: a selector with a numeric target
    port, one with no pod, a named target port only some pods have, EndpointSlices with a
    not-ready endpoint and a node's address (the apiserver behind ``kubernetes``), and ones with
    six and four endpoints across the nodes."""
    master = "172.15.0.2"
    return _cluster(
        _svc("nginx", selector={"app": "nginx"}, ports=[{"port": 80, "targetPort": 8080}]),
        _svc("empty", "web", clusterIP="10.96.0.20", selector={"app": "nothing"}, ports=[{"port": 80}]),
        _svc("named", "kube-system", selector={"k8s-app": "kube-dns"},
             ports=[{"name": "m", "port": 9000, "targetPort": "metrics", "protocol": "TCP"}]),
        _svc("kubernetes", clusterIP="10.96.0.1", ports=[{"name": "https", "port": 443, "targetPort": 6443}]),
        _svc("pg", "db", ports=[{"name": "pg", "port": 5432}]),
        _svc("wide", "web", clusterIP="10.96.0.30", ports=[{"name": "http", "port": 80, "targetPort": 8080}]),
        _svc("four", "web", clusterIP="10.96.0.31", ports=[{"name": "http", "port": 80, "targetPort": 8080}]),
        slices=[_slice("kubernetes", "default", "kubernetes", [{"addresses": [master]}],
                       [{"name": "https", "port": 6443, "protocol": "TCP"}]),
                _slice("pg-abc", "db", "pg", [{"addresses": ["172.16.4.2"], "conditions": {"ready": True}},
                                              {"addresses": ["172.16.4.3"], "conditions": {"ready": False}}],
                       [{"name": "pg", "port": 5432, "protocol": "TCP"}]),
                _slice("wide-abc", "web", "wide", [{"addresses": [a]} for a in WIDE],
                       [{"name": "http", "port": 8080, "protocol": "TCP"}]),
                _slice("four-abc", "web", "four", [{"addresses": [a]} for a in WIDE[:4]],
                       [{"name": "http", "port": 8080, "protocol": "TCP"}])])


# ---- the spec ---------------------------------------------------------------------------------------------
def test_seed_has_kube_dns_as_kubeadm_installs_it():
    c = default_scenario()
    svc = c.services[c.service_index["kube-system/kube-dns"]]
    assert svc.cluster_ip == VIP
    want = sorted(int(c.pods.ip[c.pod_index[k]]) for k in ("kube-system/kube-dns", "kube-system/coredns-2"))
    for sp, backends in zip(svc.ports, svc.backends):
        assert [b.ip for b in backends] == want
        assert all(b.port == {"dns": 53, "dns-tcp": 53, "metrics": 9153}[sp.name] for b in backends)


def test_endpoints_from_selector_and_slices():
    c = _rich()
    by = {s.key: s for s in c.services}
    nginx = {int(c.pods.ip[i]) for i in range(len(c.pods)) if (c.pods.labels[i] or {}).get("app") == "nginx"}
    assert {b.ip for b in by["default/nginx"].backends[0]} == nginx
    assert all(b.port == 8080 for b in by["default/nginx"].backends[0])
    assert by["web/empty"].backends == ((),)
    kube = by["default/kubernetes"].backends[0]
    assert [(b.port, b.lport) for b in kube] == [(6443, len(c.pods) + c.node_index["master"])]
    pg = by["db/pg"].backends[0]
    assert [ipaddress.IPv4Address(b.ip).compressed for b in pg] == ["172.16.4.2"]  # the not-ready one is out
    # allocated: the lowest free address from .2, in spec order, skipping the given ones
    assert ipaddress.IPv4Address(by["default/nginx"].cluster_ip).compressed == "10.96.0.2"
    assert ipaddress.IPv4Address(by["kube-system/named"].cluster_ip).compressed == "10.96.0.3"


def test_round_trip_keeps_services_and_their_addresses():
    c = _rich()
    c2 = from_spec(to_spec(c))
    assert c2.services == c.services
    assert to_spec(c2) == to_spec(c)


@pytest.mark.parametrize("svc, path, words", [
    (_svc("x", clusterIP="10.97.0.300", ports=[{"port": 80}]), "services[1].spec.clusterIP", "valid IPv4"),
    (_svc("x", clusterIP="192.168.9.9", ports=[{"port": 80}]), "services[1].spec.clusterIP", "service CIDR"),
    (_svc("x", clusterIP="10.96.0.10", ports=[{"port": 80}]), "services[1].spec.clusterIP", "already allocated"),
    (_svc("x", ports=[{"port": 80}, {"port": 81}]), "services[1].spec.ports[0].name", "more than one port"),
    (_svc("x", ports=[{"port": 70000}]), "services[1].spec.ports[0].port", "between 1 and 65535"),
    (_svc("x", ports=[{"port": 80, "targetPort": "No_Such"}]), "services[1].spec.ports[0].targetPort", "alpha-numeric"),
    (_svc("x", ports=[{"port": 80, "protocol": "ICMP"}]), "services[1].spec.ports[0].protocol", "Unsupported"),
    (_svc("x", ports=[]), "services[1].spec.ports", "at least one port"),
    (_svc("1x", ports=[{"port": 80}]), "services[1].metadata.name", "DNS-1035"),
    (_svc("x", "nowhere", ports=[{"port": 80}]), "services[1].metadata.namespace", "unknown namespace"),
    (_svc("kube-dns", "kube-system", ports=[{"port": 80}]), "services[1].metadata.name", "duplicate Service"),
    (_svc("x", type="Magic", ports=[{"port": 80}]), "services[1].spec.type", "Unsupported"),
    (_svc("x", ports=[{"port": 80}], bogus=1), "services[1].spec.bogus", "unknown field"),
])
def test_bad_services_name_the_field(svc, path, words):
    with pytest.raises(SpecError) as e:
        _cluster(svc)
    assert e.value.path == path and words in e.value.message


def test_service_cidr_must_be_virtual():
    s = copy.deepcopy(SEED_SPEC)
    s["cluster"]["service_cidr"] = "172.16.0.0/20"
    with pytest.raises(SpecError, match=r"cluster.service_cidr: .*overlaps the pod CIDR"):
        from_spec(s)


def test_headless_and_external_name_are_kept_without_a_virtual_ip():
    c = _cluster(_svc("h", clusterIP="None", selector={"app": "nginx"}, ports=[{"port": 80}]),
                 _svc("ext", type="ExternalName", externalName="db.example.com"))
    by = {s.key: s for s in c.services}
    assert by["default/h"].cluster_ip is None and by["default/ext"].cluster_ip is None
    assert svc_table.build(c).n_ports == 3  # kube-dns's three ports only


def test_later_yaml_documents_join_their_sections():
    text = yaml.safe_dump({k: v for k, v in SEED_SPEC.items() if k != "services"}) + "---\n" + yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [
            SEED_SPEC["services"][0],
            _slice("s1", "db", "pg", [{"addresses": ["172.16.4.2"]}], [{"name": "", "port": 5432}]),
            _svc("pg", "db", ports=[{"port": 5432}])]})
    c = from_spec(parse_text(text, "spec.yaml"))
    assert [s.key for s in c.services] == ["kube-system/kube-dns", "db/pg"]
    assert [b.port for b in c.services[1].backends[0]] == [5432]


def test_the_table_answers_as_the_services_say():
    c = _rich()
    t = svc_table.build(c)
    for k, s in enumerate(c.services):
        for sp, backends in zip(s.ports, s.backends):
            if s.cluster_ip is None:
                continue
            j = svc_table.lookup(t, s.cluster_ip, sp.proto, sp.port)
            assert t.sp_service[j] == k
            rows = range(t.sp_first[j], t.sp_first[j + 1])
            assert [(int(t.be_ip[r]), int(t.be_port[r]), int(t.be_lport[r])) for r in rows] == \
                [(b.ip, b.port, b.lport) for b in backends]
    assert svc_table.lookup(t, VIP, 17, 54) == -1
    assert svc_table.lookup(t, VIP + 1, 17, 53) == -1


@jit
def _hashes(a, b, p, sp, dp, seed, out):
    for i in range(a.shape[0]):
        out[i] = svc_table.flow_hash(a[i], b[i], p[i], sp[i], dp[i], seed)


def test_kernel_hash_equals_the_reference_hash():
    rng = np.random.default_rng(5)
    n = 5000
    cols = [rng.integers(0, 2**32, n, dtype=np.uint64), rng.integers(0, 2**32, n, dtype=np.uint64),
            rng.integers(0, 256, n, dtype=np.uint64), rng.integers(0, 65536, n, dtype=np.uint64),
            rng.integers(0, 65536, n, dtype=np.uint64)]
    cols[0][:3] = [0, 2**32 - 1, 1]  # edges of the word
    for seed in (0, 1, 2**63 - 1):
        out = np.empty(n, np.uint64)
        _hashes(*cols, np.uint64(seed), out)
        want = [kube_services.flow_hash(*(int(c[i]) for c in cols), seed) for i in range(n)]
        assert out.tolist() == want


def test_the_hash_spreads_flows_over_backends():
    c = default_scenario()
    be = c.services[0].backends[0]
    picks = [kube_services.choose(be, 0xAC100205, VIP, 17, sport, 53, 0).ip for sport in range(20000, 24000)]
    counts = np.unique(picks, return_counts=True)[1]
    assert len(counts) == 2 and counts.min() > 1800  # ~2,000 each of 4,000 (binomial sd ~32)


# ---- the data plane against the reference ----------------------------------------------------------------
def _service_traffic(c, n, seed):
    """Pods and nodes to every cluster IP on its ports and on others, originals and replies (from
    backends and from anyone), TCP and UDP, and a few malformed and tagged frames."""
    rng = np.random.default_rng(seed)
    P, N = len(c.pods), len(c.nodes)
    node_ip = np.array([x.ip for x in c.nodes], np.uint32)
    vips = np.array([s.cluster_ip for s in c.services if s.cluster_ip is not None], np.uint32)
    ports = sorted({sp.port for s in c.services for sp in s.ports} | {81})
    kind = rng.choice([0, 1], n, p=[0.8, 0.2])
    iid = np.where(kind == 0, rng.integers(0, P, n), rng.integers(0, N, n))
    own = np.where(kind == 0, c.pods.ip[np.minimum(iid, P - 1)], node_ip[np.minimum(iid, N - 1)])
    vip = vips[rng.integers(0, vips.size, n)]
    port = rng.choice(ports, n)
    eph = rng.integers(1024, 65536, n)
    proto = rng.choice([6, 17], n)
    client = np.where(rng.random(n) < 0.5, c.pods.ip[rng.integers(0, P, n)], node_ip[rng.integers(0, N, n)])
    reply = (rng.random(n) < 0.35).astype(np.uint8)
    # a reply from a backend of its service, as a profile would send it, for a share of them
    for i in np.flatnonzero(reply & (rng.random(n) < 0.6)):
        k = c.service_by_ip[int(vip[i])]
        s = c.services[k]
        j = next((j for j, sp in enumerate(s.ports) if sp.proto == proto[i] and sp.port == port[i]), None)
        be = None if j is None else kube_services.choose(s.backends[j], int(client[i]), int(vip[i]), int(proto[i]),
                                                         int(eph[i]), int(port[i]), c.settings.service_hash_seed)
        if be is not None and be.lport >= 0:
            kind[i], iid[i] = (0, be.lport) if be.lport < P else (1, be.lport - P)
    src = np.where(reply == 1, vip, own)
    dst = np.where(reply == 1, client, vip)
    sport = np.where(reply == 1, port, eph)
    dport = np.where(reply == 1, eph, port)
    ttl = np.where(rng.random(n) < 0.02, rng.integers(0, 3, n), 64)
    vlan = np.where(rng.random(n) < 0.02, rng.integers(1, 5000, n), 0)
    length = np.where(rng.random(n) < 0.02, rng.integers(0, 1600, n), rng.integers(28, 1500, n))
    return make_batch(ingress_kind=kind, ingress_id=iid, src_ip=src, dst_ip=dst, proto=proto, sport=sport,
                      dport=dport, ttl=ttl, vlan=vlan, length=length, reply=reply)


@pytest.mark.parametrize("engine", ["staged", "fused"])
def test_fast_path_equals_reference_on_service_traffic(engine):
    c = _rich()
    b = _service_traffic(c, 6000, seed=11)
    run = Dataplane(c, engine=engine).forward(b, trace=5)
    ref, full = walk_batch(c, b)
    for f in ref._fields:
        got, want = getattr(run.results, f), getattr(ref, f)
        bad = np.flatnonzero(got != want)
        assert not bad.size, f"{f}: {bad.size} differ, first #{bad[0]}: fast {got[bad[0]]} reference {want[bad[0]]}"
    ids = DeviceIds(c)
    for k, i in enumerate(run.trace_packets):
        np.testing.assert_array_equal(run.trace(k), trace_records(full[i], ids), err_msg=f"packet {i}")
    r = run.results
    # every branch of the stage was taken
    assert (r.reason == Reason.NO_ENDPOINT).any()
    assert ((r.service >= 0) & (r.verdict == Verdict.DELIVERED)).any()
    assert ((r.service >= 0) & (b.reply == 1) & (r.verdict == Verdict.DELIVERED)).any()  # replies un-DNAT-ed
    assert ((b.reply == 1) & (r.service < 0) & (r.reason == Reason.SPOOFGUARD)).any()  # not its backend's
    assert (r.backend >= len(c.pods)).any()  # a node's address behind `kubernetes`
    counts = run.reason_counts()
    assert counts["no-endpoint"] == int((r.reason == Reason.NO_ENDPOINT).sum())
    assert sum(run.verdict_counts().values()) == b.size


def test_answers_do_not_depend_on_threads_or_batching():
    c = _rich()
    b = _service_traffic(c, 4000, seed=3)
    dp = Dataplane(c)
    one = dp.forward(b).results
    two = dp.forward(b, threads=2).results
    parts = [dp.forward(b.slice(lo, lo + 700)).results for lo in range(0, b.size, 700)]
    for f in one._fields:
        assert np.array_equal(getattr(one, f), getattr(two, f)), f
        assert np.array_equal(getattr(one, f), np.concatenate([getattr(p, f) for p in parts])), f


def test_a_worker_share_with_no_cluster_ip_is_passed_by_and_marked():
    """Each worker counts its own share's packets in the service range: a share with none skips
    the stage, and must still mark every packet of it "no service, no backend" (a reused
    ``out`` holds stale values). Halves of plain and of service traffic, 1 and 2 threads."""
    c = _rich()
    dp = Dataplane(c)
    st = dp.tables.services
    plain = next(iter(uniform_pod_to_pod(c, 2000, seed=5, chunk=2000)))
    assert not (((plain.dst_ip & st.mask) == st.net) | ((plain.src_ip & st.mask) == st.net)).any()
    mixed = _service_traffic(c, 2000, seed=5)
    b = make_batch(**{f: np.concatenate([getattr(plain, f), getattr(mixed, f)]) for f in mixed._fields})
    ref, _ = walk_batch(c, b)
    for threads in (1, 2):
        out = dp.forward(b).results
        for f in out._fields:
            getattr(out, f)[:] = 7  # stale
        run = dp.forward(b, threads=threads, out=out)
        for f in ref._fields:
            bad = np.flatnonzero(getattr(run.results, f) != getattr(ref, f))
            assert not bad.size, f"{threads} threads, {f}: {bad.size} differ, first #{bad[0]}"
        assert (run.results.service[:2000] == -1).all() and (run.results.service[2000:] >= 0).any()


def test_legs_keep_packet_order_when_some_are_dropped_before_the_engines():
    c = _rich()
    b = _service_traffic(c, 3000, seed=8)
    run = Dataplane(c).forward(b, legs=True)
    assert (run.results.reason == Reason.NO_ENDPOINT).any()
    pk = run.legs[:, LEG_PACKET]
    assert np.all(np.diff(pk) >= 0)
    per_packet = np.bincount(pk, minlength=b.size)
    assert np.array_equal(per_packet, run.results.n_tunnels)


def test_dns_through_its_service_in_the_walk():
    c = default_scenario()
    src = c.pod_index["default/nginx-1"]
    seen = set()
    for sport in range(40000, 40040):
        res = walk(c, Ingress("pod", src), Packet(src_ip=int(c.pods.ip[src]), dst_ip=VIP, proto=17, sport=sport, dport=53))
        assert res.verdict is Verdict.DELIVERED and res.service_key == "kube-system/kube-dns"
        lb = [h for h in res.hops if h.kind is DeviceKind.LB]
        assert len(lb) == 1 and lb[0].device == "ovs@worker-1" and "DNAT to" in lb[0].result
        seen.add(res.device)
        # the reply, from that backend, is un-DNAT-ed on nginx-1's node and passes the stateful DFW
        be = c.pod_index[res.device]
        rep = walk(c, Ingress("pod", be), Packet(src_ip=VIP, dst_ip=int(c.pods.ip[src]), proto=17, sport=53,
                                                dport=sport, reply=True))
        assert rep.verdict is Verdict.DELIVERED and rep.device == "default/nginx-1"
        nat = [h for h in rep.hops if h.kind is DeviceKind.NAT]
        assert len(nat) == 1 and nat[0].device == "ovs@worker-1" and "10.96.0.10:53" in nat[0].result
    assert seen == {"kube-system/kube-dns", "kube-system/coredns-2"}


def test_hot_dns_replies_come_from_the_backend_and_are_un_dnat_ed():
    from dataclasses import replace

    from fastpath.traffic.profiles import profile_by_name

    c = default_scenario()
    p = replace(profile_by_name(c, "hot_dns"), reply_ratio=0.5)
    b = next(p.batches(c, 40_000, seed=3))
    r = Dataplane(c).forward(b).results
    to_vip = (b.dst_ip == VIP) & (b.reply == 0)
    from_vip = (b.src_ip == VIP) & (b.reply == 1)
    assert to_vip.sum() > 3000 and from_vip.sum() > 3000
    assert (r.service[to_vip | from_vip] == 0).all()
    assert (r.verdict[to_vip | from_vip] == Verdict.DELIVERED).all()
    # a reply is sent by the backend its original went to: the hash of the connection it answers
    be = c.services[0].backends[0]
    for i in np.flatnonzero(from_vip)[:200]:
        want = kube_services.choose(be, int(b.dst_ip[i]), VIP, 17, int(b.dport[i]), 53, 0)
        assert (int(b.ingress_kind[i]), int(b.ingress_id[i])) == (0, want.lport) == (0, int(r.backend[i]))
    assert set(r.backend[to_vip].tolist()) == {x.lport for x in be}


def test_a_profile_service_names_a_kubernetes_service():
    s = copy.deepcopy(SEED_SPEC)
    s["services"].append(_svc("pg", "db", selector={"app": "postgres"}, ports=[{"port": 5432}]))
    s["traffic"] = {"profiles": [{"name": "p", "kind": "hot_service",
                                  "services": [{"name": "pg", "share": 0.5, "service": "db/pg", "port": 5432}]}]}
    c = from_spec(s)
    from fastpath.traffic.profiles import profile_by_name
    b = next(profile_by_name(c, "p").batches(c, 10_000, seed=1))
    vip = c.services[c.service_index["db/pg"]].cluster_ip
    assert 4000 < int((b.dst_ip == vip).sum()) < 6000
    bad = copy.deepcopy(s)
    bad["traffic"]["profiles"][0]["services"][0]["port"] = 5433
    with pytest.raises(SpecError, match=r"services\[0\]\.port: Service db/pg has no port 5433"):
        from_spec(bad)
    bad["traffic"]["profiles"][0]["services"][0]["service"] = "db/nope"
    with pytest.raises(SpecError, match=r"services\[0\]\.service: no Service 'db/nope'"):
        from_spec(bad)


def test_the_load_report_counts_per_service_and_backend():
    from fastpath.analysis.report import ReportAccumulator
    from fastpath.traffic.profiles import profile_by_name

    c = default_scenario()
    dp = Dataplane(c)
    acc = ReportAccumulator(c, dp.tables)
    want: dict = {}
    for b in profile_by_name(c, "hot_dns").batches(c, 30_000, seed=2, chunk=7_000):
        run = dp.forward(b)
        acc.add(run, b)
        r = run.results
        for be, ln in zip(r.backend[r.service == 0].tolist(), b.length[r.service == 0].tolist()):
            got = want.setdefault(c.pods[be].key, [0, 0])
            got[0] += 1
            got[1] += ln
    df = acc.report().services
    assert set(df["service"]) == {"kube-system/kube-dns"} and set(df["cluster_ip"]) == {"10.96.0.10"}
    assert {r.backend: [r.packets, r.bytes] for r in df.itertuples()} == want
    assert abs(df["share_of_service"].sum() - 1) < 1e-9


def test_behind_the_flow_cache_too():
    """The flow cache sits behind the stage (keyed on the translated packet, whose ports no
    longer matter to it): equal to the reference on a cold and a warm cache, with flows
    repeated and packets of every kind among them."""
    c = _rich()
    b0 = _service_traffic(c, 3000, seed=21)
    pick = np.random.default_rng(2).integers(0, b0.size, 9000)
    b = type(b0)(*(np.ascontiguousarray(a[pick]) for a in b0))  # each flow ~3 times
    ref, _ = walk_batch(c, b)
    dp = Dataplane(c)
    for run in (dp.forward(b), dp.forward(b), dp.forward(b, threads=2)):
        assert run.flow_cache and run.flow_cache_hits > 0
        for f in ref._fields:
            got, want = getattr(run.results, f), getattr(ref, f)
            bad = np.flatnonzero(got != want)
            assert not bad.size, f"{f}: {bad.size} differ, first #{bad[0]}: fast {got[bad[0]]} reference {want[bad[0]]}"
        assert run.reason_counts()["no-endpoint"] == int((ref.reason == Reason.NO_ENDPOINT).sum())
        assert sum(run.verdict_counts().values()) == b.size


def test_two_workers_count_the_no_endpoint_drops_once_on_either_engine():
    """The stage's drops join the call's counters after the engines ran (the fused loop's
    path: the stage before it), into the workers' rows, whose sum `RunResult.counters` takes
    when first read: on two workers too they count once, and the sum is the rows'."""
    c = _rich()
    b = _service_traffic(c, 3000, seed=5)
    ref, _ = walk_batch(c, b)
    want = int((ref.reason == Reason.NO_ENDPOINT).sum())
    assert want
    for engine in ("fused", "staged"):
        run = Dataplane(c, engine=engine, flow_cache=False).forward(b, threads=2)
        assert run.reason_counts()["no-endpoint"] == want, engine
        assert sum(run.verdict_counts().values()) == b.size, engine
        for name in run.counters._fields:
            assert np.array_equal(getattr(run.counters, name)[0], getattr(run.worker_counters, name).sum(0)), name


def _vip_vectors(c, seed, vector=256):
    """Vectors as a hot Service's clients send them (the SIMD path, `service.pick_vector`): each
    to one cluster IP and port — every service port in turn, those without endpoints too —
    from pods and nodes, with direct pod traffic, insane and tagged frames and out-of-range
    senders in among them; every third vector has one packet that breaks the pattern (a reply
    from the cluster IP — its backend's answer — or another port of it), which sends it down
    the general path."""
    rng = np.random.default_rng(seed)
    P, N = len(c.pods), len(c.nodes)
    st = Dataplane(c).tables.services
    node_ip = np.array([x.ip for x in c.nodes], np.uint32)
    ports = [(s.cluster_ip, sp.proto, sp.port) for s in c.services if s.cluster_ip is not None for sp in s.ports]
    blocks = []
    for v in range(2 * len(ports)):
        vip, proto, port = ports[v % len(ports)]
        n = vector
        kind = rng.choice([0, 1], n, p=[0.8, 0.2])
        iid = np.where(kind == 0, rng.integers(0, P, n), rng.integers(0, N, n))
        own = np.where(kind == 0, c.pods.ip[np.minimum(iid, P - 1)], node_ip[np.minimum(iid, N - 1)])
        iid = np.where(rng.random(n) < 0.02, iid + np.where(kind == 0, P, N), iid)  # no such sender
        to_vip = rng.random(n) < 0.7
        dst = np.where(to_vip, vip, c.pods.ip[rng.integers(0, P, n)])
        pr = np.where(to_vip, proto, rng.choice([6, 17], n))
        dport = np.where(to_vip, port, rng.integers(1, 65536, n))
        reply = np.zeros(n, np.uint8)
        sport = rng.integers(1024, 65536, n)
        src = own.copy()
        if v % 3 == 2:
            j = int(rng.integers(0, n))
            if v % 2:  # the answer of the backend the client's connection went to
                reply[j], src[j], dst[j], sport[j], dport[j] = 1, vip, own[j], port, sport[j]
                row = svc_table.choose(st, svc_table.lookup(st, vip, proto, port), int(dst[j]), vip, proto,
                                       int(dport[j]), port)
                if row >= 0:
                    lport = int(st.be_lport[row])
                    kind[j], iid[j] = (0, lport) if lport < P else (1, lport - P)
            else:
                dst[j], pr[j], dport[j] = vip, proto, port + 1
        blocks.append(dict(ingress_kind=kind, ingress_id=iid, src_ip=src, dst_ip=dst, proto=pr, sport=sport,
                           dport=dport, reply=reply, ttl=np.where(rng.random(n) < 0.02, 0, 64),
                           vlan=np.where(rng.random(n) < 0.02, rng.integers(1, 5000, n), 0),
                           length=np.where(rng.random(n) < 0.02, rng.integers(0, 28, n), rng.integers(28, 1500, n))))
    return make_batch(**{k: np.concatenate([blk[k] for blk in blocks]) for k in blocks[0]})


def test_the_simd_pick_equals_the_per_packet_forms():
    """`service.pick_vector` (the usual vector, in SIMD lanes) against `service_key` and
    `pick_one` packet by packet: equal state and backend wherever it answers (it returns 0),
    and it declines (> 0) exactly the vectors with a packet it cannot answer."""
    from fastpath.dataplane.stages import service as stage
    c = _rich()
    dp = Dataplane(c)
    sv, st = dp._service_pass, dp.tables.services
    b = _vip_vectors(c, seed=5)
    keys = make_keys()
    row = keys.reshape(KEY_ROWS, KEY_STRIDE)[:, :VECTOR]  # (a view: `key_at`'s rows)
    answered = declined = 0
    for base in range(0, b.size, 256):
        i0, sp = _vector_port(b, st, base)
        if sp < 0 or st.sp_first[sp + 1] == st.sp_first[sp]:
            continue  # (no endpoints: the general path, which answers no-endpoint)
        bad = stage.pick_vector(b, sv, base, 256, b.dst_ip[i0], b.proto[i0], b.dport[i0], sp, keys)
        breaks = (base // 256) % 3 == 2
        assert (bad > 0) == breaks
        if bad:
            declined += 1
            continue
        answered += 1
        want_state, want_be = _per_packet_picks(b, st, sv, base)
        np.testing.assert_array_equal(row[6], want_state)
        translated = want_state == stage.TRANSLATED
        np.testing.assert_array_equal((row[7] & 0xFFFF_FFFF)[translated], want_be[translated])
    assert answered and declined


def test_the_one_loop_form_equals_the_stage_over_the_batch():
    """`flow_cache._usual_vector` (a service port with at most `SELECT_MAX` backends: rules,
    hash, backend by selects and the key, in one loop of SIMD lanes) and `_select_outputs`
    against the stage over the batch (`service_dnat`: the per-packet forms) followed by the
    plain key of its output: equal keys, hash, state, ports, service and backend for every
    vector it answers, and it declines exactly the vectors with a packet it cannot answer.
    Every service port in turn: 1 to 4 backends, so every lane of the selects, used or padding."""
    from fastpath.dataplane.api import empty_results
    from fastpath.dataplane.stages import flow_cache as fcache
    from fastpath.dataplane.stages import service as stage
    c = _rich()
    dp = Dataplane(c)
    sv, st, t = dp._service_pass, dp.tables.services, dp.tables
    b = _vip_vectors(c, seed=9)
    n = b.size
    svc, be = np.full(n, -9, np.int32), np.full(n, -9, np.int32)
    want = stage.translate(b, st, t.n_pods, t.n_nodes, t.router_mac, svc, be).batch
    want_keys = make_keys()
    keys = make_keys()
    o = empty_results(n)
    answered, sizes = 0, set()
    for base in range(0, n, VECTOR):
        i0, sp = _vector_port(b, st, base)
        nb = int(st.sp_first[sp + 1] - st.sp_first[sp]) if sp >= 0 else 0
        if not 0 < nb <= stage.SELECT_MAX:
            continue
        bad = fcache._usual_vector(b, sv, base, VECTOR, b.dst_ip[i0], b.proto[i0], b.dport[i0], sp, False, keys)
        assert (bad > 0) == ((base // VECTOR) % 3 == 2)
        if bad:
            continue
        answered += 1
        sizes.add(nb)
        fcache._select_outputs(o, base, VECTOR, keys)
        for k in range(VECTOR):
            fcache._key(want, base + k, False, want_keys, k)
        got, exp = (a.reshape(KEY_ROWS, KEY_STRIDE)[:, :VECTOR] for a in (keys, want_keys))
        np.testing.assert_array_equal(got[:6], exp[:6])
        state, _ = _per_packet_picks(b, st, sv, base)
        np.testing.assert_array_equal(got[6], state)
        sl = slice(base, base + VECTOR)
        np.testing.assert_array_equal(got[8], want.sport[sl].astype(np.uint64) | (want.dport[sl].astype(np.uint64) << 16))
        np.testing.assert_array_equal(o.service[sl], svc[sl])
        np.testing.assert_array_equal(o.backend[sl], be[sl])
    assert answered and sizes == {1, 2, 3, 4}


def _vector_port(b, st, base):
    """(i0, sp): a vip vector's first original to a cluster IP, and its service port (-1: none)."""
    i0 = next(base + k for k in range(VECTOR)
              if b.reply[base + k] == 0 and (int(b.dst_ip[base + k]) & int(st.mask)) == int(st.net))
    return i0, svc_table.lookup(st, int(b.dst_ip[i0]), int(b.proto[i0]), int(b.dport[i0]))


def _per_packet_picks(b, st, sv, base):
    from fastpath.dataplane.stages import service as stage
    state, be = np.zeros(256, np.uint64), np.full(256, -1, np.int64)
    for k in range(256):
        i = base + k
        lport, ip, pp = (int(x) for x in stage.service_key(b, i, st, sv.n_pods, sv.n_nodes))
        if lport < 0:
            continue
        sp = svc_table.lookup(st, ip, pp >> 16, pp & 0xFFFF)
        if sp < 0:
            continue
        s, row = stage.pick_one(b, i, st, sp, lport, stage.original_hash(b, i, st.seed))
        state[k], be[k] = s, row
    return state, be


@pytest.mark.parametrize("traffic", ["mixed", "vip vectors"])
@pytest.mark.parametrize("flow_cache", [True, False])
def test_the_stage_inside_the_engines_pass_equals_the_stage_before_them(monkeypatch, flow_cache, traffic):
    """Without a trace or the leg log the staged engine runs the stage in its own pass (in the
    flow cache's key pass, or over an uncached vector: `graph.forward_staged`); with them (and
    in the fused engine) it runs before the engines over the batch. Results and every counter
    are equal, with flows repeated and distinct (the cache backs off and vectors walk uncached),
    at 1 and 2 threads, and equal to the reference."""
    c = _rich()
    b0 = _service_traffic(c, 5000, seed=31) if traffic == "mixed" else _vip_vectors(c, seed=31)
    pick = np.concatenate([np.arange(b0.size), np.random.default_rng(4).integers(0, b0.size, 5000)])
    b = type(b0)(*(np.ascontiguousarray(a[pick]) for a in b0))  # distinct first, then repeats
    ref, _ = walk_batch(c, b)
    before = Dataplane(c, engine="fused").forward(b)
    import fastpath.dataplane.api as api

    def refused(*a, **k):
        raise AssertionError("the stage ran before the engines")

    monkeypatch.setattr(api, "translate", refused)
    dp = Dataplane(c, engine="staged", flow_cache=flow_cache)
    for run in (dp.forward(b), dp.forward(b, threads=2)):
        assert run.flow_cache == flow_cache and (run.flow_cache_hits > 0) == flow_cache
        for f in ref._fields:
            got, want = getattr(run.results, f), getattr(ref, f)
            bad = np.flatnonzero(got != want)
            assert not bad.size, f"{f}: {bad.size} differ, first #{bad[0]}: fast {got[bad[0]]} reference {want[bad[0]]}"
        for name in before.counters._fields:
            assert np.array_equal(getattr(run.counters, name).sum(0), getattr(before.counters, name).sum(0)), name
    assert (ref.reason == Reason.NO_ENDPOINT).any() and ((ref.service >= 0) & (b.reply == 1)).any()


def test_trace_names_a_service_by_svc_namespace_name():
    from click.testing import CliRunner

    from fastpath.cli import main

    r = CliRunner().invoke(main, ["trace", "default/nginx-1", "svc/kube-system/kube-dns", "--dport", "53", "--json"])
    assert r.exit_code == 0, r.output
    import json
    out = json.loads(r.output)
    assert out["service"] == "kube-system/kube-dns" and out["backend"] in ("kube-system/kube-dns", "kube-system/coredns-2")
    assert [h["kind"] for h in out["hops"]].count("lb") == 1
    bad = CliRunner().invoke(main, ["trace", "default/nginx-1", "svc/kube-system/nope"])
    assert bad.exit_code == 2 and "no Service 'kube-system/nope'" in bad.output
