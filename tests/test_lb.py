"""LoadBalancer Services: NCP's L4 virtual server on the cluster T1's service router.

The spec (external IPs as the controller writes them, or allocated from the external pool), the
routes NCP advertises for them, the reference walk's translation at the SR, and the data plane's
second pass (`fastpath.dataplane.lb`) held to the reference field for field and hop for hop, on
both engines, behind the flow cache, at any thread count and batch size."""

import copy
import ipaddress

import numpy as np
import pytest

from fastpath import services as kube_services
from fastpath.dataplane.api import Dataplane
from fastpath.dataplane.stages.common import LEG_PACKET
from fastpath.model.cluster import SpecError, sr_name
from fastpath.model.routing import lookup, rib
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec, to_spec
from fastpath.packets import make_batch
from fastpath.reference.batch import DeviceIds, trace_records, walk_batch
from fastpath.reference.walk import Ingress, Packet, walk
from fastpath.verdicts import DeviceKind, Reason, Verdict

CLIENT = int(ipaddress.IPv4Address("198.18.7.9"))


def _svc(name, ns="default", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _spec(t1=None, **t0):
    s = copy.deepcopy(SEED_SPEC)
    s["node_network"]["t1"] = {"edge": "edge-1"}
    if t1:
        s["cluster"]["load_balancer_t1"] = t1
    s["t0"]["lb_pool"] = "198.51.100.0/28"
    s["t0"].update(t0)
    s["services"] = s["services"] + [
        _svc("frontend", "web", type="LoadBalancer", selector={"app": "frontend"},
             ports=[{"name": "http", "port": 80, "targetPort": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}]),
        _svc("nginx", type="LoadBalancer", loadBalancerIP="198.51.100.9", selector={"app": "nginx"},
             ports=[{"port": 443, "targetPort": 8443}]),
        _svc("nothing", "db", type="LoadBalancer", selector={"app": "none"}, ports=[{"port": 5432}]),
    ]
    return s


def _lb_cluster(t1=None):
    return from_spec(_spec(t1))


# ---- the spec ---------------------------------------------------------------------------------------------
def test_external_ips_given_or_allocated_and_written_back_as_status():
    s = _spec()
    s["services"][1]["status"] = {"loadBalancer": {"ingress": [{"hostname": "x.example"}, {"ip": "198.51.100.7"}]}}
    c = from_spec(s)
    by = {c.services[k].key: c.services[k].lb_ip for k in c.lb_services}
    ip = lambda t: int(ipaddress.IPv4Address(t))  # noqa: E731
    # the status the controller wrote, loadBalancerIP, then the pool's lowest free host address
    assert by == {"web/frontend": ip("198.51.100.7"), "default/nginx": ip("198.51.100.9"),
                  "db/nothing": ip("198.51.100.1")}
    back = from_spec(to_spec(c))
    assert {back.services[k].key: back.services[k].lb_ip for k in back.lb_services} == by
    assert c.services[c.service_index["kube-system/kube-dns"]].lb_ip is None  # a ClusterIP has none


def test_the_pool_falls_back_to_the_snat_pool_and_skips_snat_ips():
    s = _spec(snat_pool="198.51.100.0/28")
    del s["t0"]["lb_pool"]
    c = from_spec(s)
    snat = {x.snat_ip for x in c.namespaces if x.snat_ip is not None}
    lbs = {c.services[k].lb_ip for k in c.lb_services}
    assert snat and not (snat & lbs)
    assert all(ipaddress.IPv4Address(a) in ipaddress.IPv4Network("198.51.100.0/28") for a in lbs - {
        int(ipaddress.IPv4Address("198.51.100.9"))})


def test_a_load_balancer_class_is_another_controllers():
    s = _spec()
    s["services"][2]["spec"]["loadBalancerClass"] = "example.com/other"
    c = from_spec(s)
    assert "default/nginx" not in {c.services[k].key for k in c.lb_services}


@pytest.mark.parametrize("change, path, words", [
    (lambda s: s["node_network"].update(t1={}), "node_network.t1.edge", "has none: give it an edge"),
    (lambda s: s["cluster"].update(load_balancer_t1="t1-nope"), "cluster.load_balancer_t1", "no T1 named"),
    (lambda s: s["cluster"].update(load_balancer_t1="t1-web"), "cluster.load_balancer_t1", "t1-web has none"),
    (lambda s: s["t0"].pop("lb_pool"), "services[1].spec.type", "needs an external IP"),
    (lambda s: s["t0"].update(lb_pool="198.51.100.5/32"), "services[3].spec.type", "no free address"),
    (lambda s: s["services"][2]["spec"].update(loadBalancerIP="10.96.0.99"), "services", "lies in the service CIDR"),
    (lambda s: s["services"][2]["spec"].update(loadBalancerIP="203.0.113.2"), "services[2].spec.loadBalancerIP", "uplink"),
    (lambda s: s["services"][2]["spec"].update(loadBalancerIP="nope"), "services[2].spec.loadBalancerIP", "IPv4"),
    (lambda s: s["services"][1].update(status={"loadBalancer": {"ingress": [{"ip": "198.51.100.9"}]}}),
     "services[2].spec.loadBalancerIP", "already"),
])
def test_bad_load_balancers_name_the_field(change, path, words):
    s = _spec()
    change(s)
    with pytest.raises(SpecError) as e:
        from_spec(s)
    assert e.value.path == path and words in e.value.message, str(e.value)


def test_vips_are_routed_to_the_load_balancers_sr():
    c = _lb_cluster()
    r = rib(c)
    lb = sr_name(c.lb_router.name)
    for k in c.lb_services:
        vip = c.services[k].lb_ip
        assert lookup(r[lb], vip).kind == "local"
        hop = lookup(r[c.t0.name], vip)
        assert (hop.kind, hop.next_router, hop.arrive_ip) == ("router", lb, c.lb_router.link_t1_ip)
        assert lookup(r[sr_name(c.t0.name)], vip).next_router == c.t0.name


# ---- the reference walk ------------------------------------------------------------------------------------
def test_the_walk_through_the_virtual_server_and_back():
    c = _lb_cluster()
    k = c.service_index["web/frontend"]
    vip = c.services[k].lb_ip
    lb = c.lb_router
    res = walk(c, Ingress("uplink", 0), Packet(src_ip=CLIENT, dst_ip=vip, proto=6, sport=40000, dport=80, size=100))
    assert res.verdict is Verdict.DELIVERED and res.service == k
    be = kube_services.choose(c.services[k].backends[0], CLIENT, vip, 6, 40000, 80, c.settings.service_hash_seed)
    assert c.pods[res.backend].ip == be.ip and res.device == c.pods[res.backend].key
    hops = [(h.device, h.table) for h in res.hops]
    at = hops.index((sr_name(lb.name), "lb"))
    assert hops[at - 1][0] == c.t0.name and hops[at + 1] == (sr_name(lb.name), "route")
    dfw = next(h for h in res.hops if h.table == "dfw")  # the backend sees the T1's uplink IP
    assert dfw.key.startswith(f"{ipaddress.IPv4Address(lb.link_t1_ip)}->{ipaddress.IPv4Address(be.ip)}")
    assert f":{be.port}" in res.hops[at].result or f"{be.port}" in res.hops[at].result
    # the reply, as the client sees it, from the backend: back through the SR and out the uplink
    rep = walk(c, Ingress("pod", res.backend), Packet(src_ip=vip, dst_ip=CLIENT, proto=6, sport=80, dport=40000,
                                                       size=100, reply=True))
    assert rep.verdict is Verdict.EXITED and rep.service == k and rep.backend == res.backend
    assert (sr_name(lb.name), "lb") in [(h.device, h.table) for h in rep.hops]
    # from any other pod it is a spoofed source
    other = next(i for i in range(len(c.pods)) if i != res.backend)
    spoof = walk(c, Ingress("pod", other), Packet(src_ip=vip, dst_ip=CLIENT, proto=6, sport=80, dport=40000,
                                                  size=100, reply=True))
    assert spoof.reason is Reason.SPOOFGUARD and spoof.service == -1


def test_no_endpoint_drops_at_the_sr_and_other_ports_are_the_routers_own():
    c = _lb_cluster()
    vip = c.services[c.service_index["db/nothing"]].lb_ip
    res = walk(c, Ingress("uplink", 0), Packet(src_ip=CLIENT, dst_ip=vip, proto=6, sport=1, dport=5432, size=100))
    assert (res.verdict, res.reason, res.device_kind) == (Verdict.DROPPED, Reason.NO_ENDPOINT, DeviceKind.EDGE)
    assert res.device == sr_name(c.lb_router.name)
    res = walk(c, Ingress("uplink", 0), Packet(src_ip=CLIENT, dst_ip=vip, proto=6, sport=1, dport=5433, size=100))
    assert (res.verdict, res.device) == (Verdict.DELIVERED, sr_name(c.lb_router.name))


# ---- the data plane against the reference -------------------------------------------------------------------
def lb_traffic(c, n, seed):
    """Clients outside (through the uplink), pods and nodes to every virtual server, on its ports
    and others, and to the T1's uplink IP; replies from the chosen backend and from anyone; TCP
    and UDP; small TTLs (expiring on either side of the SR), tagged, malformed frames; and a few
    handed straight to routers (any instance; DRs and ids out of range are malformed)."""
    rng = np.random.default_rng(seed)
    P, N, U = len(c.pods), len(c.nodes), len(c.uplinks)
    node_ip = np.array([x.ip for x in c.nodes], np.uint32)
    lbs = [c.services[k] for k in c.lb_services]
    vips = np.array([s.lb_ip for s in lbs], np.uint32)
    ports = sorted({sp.port for s in lbs for sp in s.ports} | {81})
    outside = lambda: rng.integers(0x08000000, 0x0A000000, n)  # noqa: E731  (8.0.0.0-9.255.255.255)
    kind = rng.choice([0, 1, 9], n, p=[0.35, 0.1, 0.55])
    iid = np.where(kind == 0, rng.integers(0, P, n), np.where(kind == 1, rng.integers(0, N, n), rng.integers(0, U, n)))
    own = np.where(kind == 0, c.pods.ip[np.minimum(iid, P - 1)],
                   np.where(kind == 1, node_ip[np.minimum(iid, N - 1)], outside()))
    vip = vips[rng.integers(0, vips.size, n)]
    vip = np.where(rng.random(n) < 0.05, c.lb_router.link_t1_ip, vip)
    port = rng.choice(ports, n)
    eph = rng.integers(1024, 65536, n)
    proto = rng.choice([6, 17], n)
    client = np.where(rng.random(n) < 0.7, outside(), c.pods.ip[rng.integers(0, P, n)])
    reply = (rng.random(n) < 0.35).astype(np.uint8)
    for i in np.flatnonzero(reply & (rng.random(n) < 0.7)):  # most replies from their backend
        k = c.service_by_lb_ip.get(int(vip[i]))
        if k is None:
            continue
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
    ttl = np.where(rng.random(n) < 0.1, rng.integers(0, 7, n), 64)
    vlan = np.where(rng.random(n) < 0.02, rng.integers(1, 5000, n), 0)
    length = np.where(rng.random(n) < 0.03, rng.integers(0, 1600, n), rng.integers(28, 1500, n))
    handed = rng.random(n) < 0.03
    kind = np.where(handed, int(DeviceKind.EDGE), kind)
    iid = np.where(handed, rng.integers(-1, len(rib(c)) + 1, n), iid)
    dst_mac = np.where(handed, rng.choice([c.lb_router.link_t1_ip, 0xA9FE0002], n), 0).astype(np.uint64)
    src_mac = np.where(handed, rng.integers(0, 2, n), 0).astype(np.uint64)
    return make_batch(ingress_kind=kind, ingress_id=iid, src_ip=src, dst_ip=dst, proto=proto, sport=sport,
                      dport=dport, ttl=ttl, vlan=vlan, length=length, reply=reply, src_mac=src_mac, dst_mac=dst_mac)


def _same(run, ref, what=""):
    for f in ref._fields:
        got, want = getattr(run.results, f), getattr(ref, f)
        bad = np.flatnonzero(got != want)
        assert not bad.size, f"{what}{f}: {bad.size} differ, first #{bad[0]}: fast {got[bad[0]]} reference {want[bad[0]]}"


@pytest.mark.parametrize("t1", [None, "t1-payments"])
@pytest.mark.parametrize("engine", ["staged", "fused"])
def test_fast_path_equals_reference_on_load_balancer_traffic(engine, t1):
    c = _lb_cluster(t1)
    b = lb_traffic(c, 5000, seed=21)
    ref, full = walk_batch(c, b)
    dp = Dataplane(c, engine=engine)
    _same(dp.forward(b), ref, "untraced (flow cache): ")
    run = dp.forward(b, trace=3)
    _same(run, ref, "traced: ")
    ids = DeviceIds(c)
    for k, i in enumerate(run.trace_packets):
        np.testing.assert_array_equal(run.trace(k), trace_records(full[i], ids), err_msg=f"packet {i}")
    r, sr = run.results, list(rib(c)).index(sr_name(c.lb_router.name))
    lb_traffic_ = (r.service >= 0) & (b.ingress_kind == 9)
    # every branch was taken: through to a backend, back out, no endpoint, the router's own
    assert (lb_traffic_ & (r.verdict == Verdict.DELIVERED) & (r.dev_kind == DeviceKind.POD)).any()
    assert ((r.service >= 0) & (b.reply == 1) & (r.verdict == Verdict.EXITED)).any()
    assert ((r.reason == Reason.NO_ENDPOINT) & (r.dev_kind == DeviceKind.EDGE) & (r.dev_id == sr)).any()
    assert ((r.verdict == Verdict.DELIVERED) & (r.dev_kind == DeviceKind.EDGE) & (r.dev_id == sr)).any()
    assert ((r.reason == Reason.TTL_EXPIRED) & (r.dev_id == sr) & (r.service >= 0)).any()  # after the DNAT
    assert sum(run.verdict_counts().values()) == b.size
    counts = run.reason_counts()
    assert all(counts[x.label] == int((r.reason == x).sum()) for x in Reason if x is not Reason.NONE)
    assert run.verdict_counts() == {v.label: int((r.verdict == v).sum()) for v in Verdict}


def test_counters_count_the_sr_once_and_legs_stay_in_packet_order():
    c = _lb_cluster()
    b = lb_traffic(c, 3000, seed=5)
    run = Dataplane(c).forward(b, legs=True)
    pk = run.legs[:, LEG_PACKET]
    assert np.all(np.diff(pk) >= 0)
    assert np.array_equal(np.bincount(pk, minlength=b.size), run.results.n_tunnels)
    # the SR's load: every packet that reached it once, translated or not (the reference's hops)
    _, full = walk_batch(c, b)
    name = sr_name(c.lb_router.name)
    reached = [i for i, res in enumerate(full) if any(h.device == name and h.table in ("route", "lb") for h in res.hops)]
    sr = list(rib(c)).index(name)
    assert int(run.counters.router[0, sr, 0]) == len(reached)
    assert int(run.counters.router[0, sr, 1]) == int(b.length[reached].astype(np.int64).sum())


def test_answers_do_not_depend_on_threads_or_batching():
    c = _lb_cluster()
    b = lb_traffic(c, 4000, seed=3)
    dp = Dataplane(c)
    one = dp.forward(b)
    two = dp.forward(b, threads=2)
    parts = [dp.forward(b.slice(lo, lo + 700)).results for lo in range(0, b.size, 700)]
    for f in one.results._fields:
        assert np.array_equal(getattr(one.results, f), getattr(two.results, f)), f
        assert np.array_equal(getattr(one.results, f), np.concatenate([getattr(p, f) for p in parts])), f
    for a, b2 in zip(one.counters, two.counters):
        assert np.array_equal(a, b2)


def test_every_wire_shows_the_translation_where_it_happens(tmp_path, tshark):
    """A client's connection through the virtual server and the backend's reply, on every wire
    (tshark reads them, checksums good): the VIP on the edge, the T1 uplink IP and the backend
    past the SR, and the reply leaving the pod to the uplink IP, out of the edge from the VIP."""
    import subprocess

    from fastpath.wire.capture import START_NS
    from fastpath.wire.codec import encode
    from fastpath.wire.observe import POINTS, on_wire
    from fastpath.wire.pcap import PcapWriter

    c = _lb_cluster()
    k = c.service_index["web/frontend"]
    vip, snat = c.services[k].lb_ip, c.lb_router.link_t1_ip
    be = kube_services.choose(c.services[k].backends[0], CLIENT, vip, 6, 40000, 80, c.settings.service_hash_seed)
    b = make_batch(ingress_kind=[9, 0], ingress_id=[0, be.lport], src_ip=[CLIENT, vip], dst_ip=[vip, CLIENT],
                   proto=6, sport=[40000, 80], dport=[80, 40000], ttl=64, length=120, reply=[0, 1])
    dp = Dataplane(c)
    run = dp.forward(b, legs=True)
    assert list(run.results.verdict) == [Verdict.DELIVERED, Verdict.EXITED]
    A = lambda x: str(ipaddress.IPv4Address(int(x)))  # noqa: E731
    seen = {}
    for at in POINTS:
        cap = on_wire(c, dp.tables, b, run, at)
        buf, off = encode(cap.frames)
        path = tmp_path / f"{at}.pcap"
        with PcapWriter(str(path)) as w:
            w.write(buf, off, START_NS + np.arange(cap.frames.size, dtype=np.int64) * 1000)
        fields = ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "ip.checksum.status"]
        out = subprocess.run([tshark, "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-T", "fields",
                              *sum((["-e", f] for f in fields), [])], check=True, capture_output=True, text=True)
        rows = [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]
        if at == "underlay":  # the inner header is the last one tshark shows
            rows = [tuple(x.split(",")[-1] for x in r) for r in rows]
        assert all(r[-1] == "1" for r in rows), (at, rows)
        seen[at] = [(r[0], int(r[1]), r[2], int(r[3])) for r in rows]
    cl, v, s, bip = A(CLIENT), A(vip), A(snat), A(be.ip)
    assert seen["edge"] == [(cl, 40000, v, 80), (v, 80, cl, 40000)]
    assert seen["pod"] == [(bip, be.port, s, 40000)]
    assert seen["uplink"] == [(s, 40000, bip, be.port), (bip, be.port, s, 40000)]
    assert (s, 40000, bip, be.port) in seen["underlay"] and (bip, be.port, s, 40000) in seen["underlay"]
    assert all(r[0] != cl and r[2] != cl for r in seen["underlay"] if r[2] == bip)


def test_the_load_report_counts_the_virtual_servers_picks():
    from fastpath.analysis.report import ReportAccumulator

    c = _lb_cluster()
    dp = Dataplane(c)
    acc = ReportAccumulator(c, dp.tables)
    b = lb_traffic(c, 6000, seed=9)
    run = dp.forward(b)
    acc.add(run, b)
    _, full = walk_batch(c, b)
    want: dict = {}  # from the reference: every packet the load balancer or kube-proxy translated
    for res, ln in zip(full, b.length.tolist()):
        if res.service_key is not None:
            got = want.setdefault((res.service_key, res.backend_key or "(none: no endpoint)"), [0, 0])
            got[0] += 1
            got[1] += ln
    df = acc.report().services
    assert {(r.service, r.backend): [r.packets, r.bytes] for r in df.itertuples()} == want
    lb = df[df["external_ip"] != ""]
    assert set(lb["service"]) == {"web/frontend", "default/nginx", "db/nothing"}
    assert (lb["backend"] == "(none: no endpoint)").any()


def test_trace_walks_a_client_in_and_the_backends_reply_out(tmp_path):
    import json

    from click.testing import CliRunner

    from fastpath.cli import main

    spec = tmp_path / "lb.json"
    c = _lb_cluster()
    spec.write_text(json.dumps(to_spec(c)))
    vip = str(ipaddress.IPv4Address(c.services[c.service_index["web/frontend"]].lb_ip))
    args = ["trace", "uplink-1", vip, "--proto", "tcp", "--dport", "80", "--cluster", str(spec), "--json"]
    fwd = json.loads(CliRunner().invoke(main, args).output)
    back = json.loads(CliRunner().invoke(main, args + ["--reply"]).output)
    assert fwd["verdict"] == "delivered" and fwd["service"] == "web/frontend"
    assert back["verdict"] == "exited" and back["backend"] == fwd["backend"] == fwd["device"]
    for d in (fwd, back):
        assert [h["device"] for h in d["hops"] if h["table"] == "lb"] == [sr_name(c.lb_router.name)]
