"""SNAT per namespace on the T0's service router: the spec's pool and addresses, the reference's
hops, the fast path's traces held to them, and the edge capture as tshark reads it."""

import copy
import ipaddress
import subprocess

import numpy as np
import pytest

from fastpath.dataplane.api import Dataplane
from fastpath.model.addressing import ip_from_str
from fastpath.model.cluster import SpecError
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec, to_spec
from fastpath.packets import INGRESS_POD, INGRESS_UPLINK
from fastpath.reference.batch import DeviceIds, trace_records, walk_batch
from fastpath.reference.walk import Ingress, Packet, walk
from fastpath.traffic.profiles import profile_from_params
from fastpath.verdicts import Verdict
from fastpath.wire.capture import capture

POOL = "198.51.100.0/28"
NORTH = profile_from_params("north", "locality", {"reply_ratio": 0.4, "sizes": 200, "mix": {
    "north_south": 3, "same_namespace": 1, "pod_to_node": 1}})


def _spec(**t0):
    s = copy.deepcopy(SEED_SPEC)
    s["t0"].update(t0)
    return s


@pytest.fixture(scope="module")
def snat():
    s = _spec(snat_pool=POOL)
    s["namespaces"][1]["no_snat"] = True  # default: routed
    s["namespaces"][3]["snat_ip"] = "198.51.100.9"
    return from_spec(s)


def _addr(ip):
    return str(ipaddress.IPv4Address(ip)) if ip is not None else None


def test_pool_allocation_given_addresses_and_routed_namespaces(snat):
    got = {s.namespace: _addr(s.snat_ip) for s in snat.namespaces}
    # given first, then the pool's hosts in namespace order, skipping the given one
    assert got == {"kube-system": "198.51.100.1", "default": None, "web": "198.51.100.2", "db": "198.51.100.9",
                   "payments": "198.51.100.3"}
    again = from_spec(to_spec(snat))
    assert [s.snat_ip for s in again.namespaces] == [s.snat_ip for s in snat.namespaces]
    assert to_spec(again) == to_spec(snat)


@pytest.mark.parametrize("change, path, words", [
    (lambda s: s["t0"].update(edge=None), "t0.snat_pool", "give the T0 an edge"),
    (lambda s: s["namespaces"][0].update(snat_ip="172.16.9.9"), "namespaces[0].snat_ip", "pod CIDR"),
    (lambda s: s["namespaces"][0].update(snat_ip="203.0.113.2"), "namespaces[0].snat_ip", "uplink uplink-1"),
    (lambda s: s["namespaces"][0].update(snat_ip="198.51.100.5", no_snat=True), "namespaces[0].snat_ip", "no_snat"),
    (lambda s: [ns.update(snat_ip="198.51.100.5") for ns in s["namespaces"][:2]], "namespaces[1].snat_ip",
     "already namespaces[0]'s"),
    (lambda s: s["t0"].update(snat_pool="198.51.100.0/30"), "t0.snat_pool", "no free address"),
])
def test_bad_snat_specs_name_the_field(change, path, words):
    s = _spec(snat_pool=POOL)
    change(s)
    with pytest.raises(SpecError) as e:
        from_spec(s)
    assert e.value.path == path and words in e.value.message


def test_the_walk_translates_out_and_back_and_owns_the_addresses(snat):
    pod = snat.pod("web/frontend-1")
    out = walk(snat, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("8.8.8.8"), proto=6, sport=4000, dport=443))
    assert out.verdict is Verdict.EXITED
    hop = [h for h in out.hops if h.table == "snat"]
    assert len(hop) == 1 and hop[0].device == "t0-sr" and hop[0].result == "SNAT source to 198.51.100.2"
    back = walk(snat, Ingress("uplink", 0), Packet(ip_from_str("8.8.8.8"), pod.ip, proto=6, sport=443, dport=4000,
                                                   reply=True))
    assert back.verdict is Verdict.DELIVERED and back.device == "web/frontend-1"
    assert [h.result for h in back.hops if h.table == "snat"] == ["un-SNAT destination to " + _addr(pod.ip)]
    # a routed namespace's pod leaves with its own address; a reply leaving is not translated
    routed = snat.pod("default/nginx-1")
    res = walk(snat, Ingress("pod", routed.index), Packet(routed.ip, ip_from_str("8.8.8.8")))
    assert res.verdict is Verdict.EXITED and not [h for h in res.hops if h.table == "snat"]
    res = walk(snat, Ingress("pod", pod.index), Packet(pod.ip, ip_from_str("8.8.8.8"), reply=True))
    assert not [h for h in res.hops if h.table == "snat"]
    # an SNAT IP is the SR's own: a packet to it without a session ends there
    res = walk(snat, Ingress("uplink", 0), Packet(ip_from_str("8.8.8.8"), ip_from_str("198.51.100.2")))
    assert (res.verdict, res.device) == (Verdict.DELIVERED, "t0-sr")


@pytest.mark.parametrize("engine", ["staged", "fused"])
def test_fast_traces_equal_the_reference_on_north_south_traffic(snat, engine):
    b = next(NORTH.batches(snat, 3000, seed=4))
    run = Dataplane(snat, engine=engine).forward(b, trace=1)
    ref, full = walk_batch(snat, b)
    for f in ref._fields:
        assert np.array_equal(getattr(run.results, f), getattr(ref, f)), f
    ids = DeviceIds(snat)
    for k, i in enumerate(run.trace_packets):
        np.testing.assert_array_equal(run.trace(k), trace_records(full[i], ids), err_msg=f"packet {i}")
    assert sum(any(h.table == "snat" for h in r.hops) for r in full) > 500


def test_the_edge_capture_shows_the_translated_addresses(snat, tmp_path, tshark):
    path = tmp_path / "edge.pcap"
    n = 4000
    capture(snat, "edge", str(path), packets=n, profile=NORTH, seed=6)
    b = next(NORTH.batches(snat, n, seed=6))
    r = Dataplane(snat).forward(b).results

    def snat_of(ip):
        for s in snat.namespaces:
            if s.snat_ip is not None and ipaddress.IPv4Address(int(ip)) in s.subnet:
                return s.snat_ip
        return None

    want = []  # (src, dst) of each edge frame, in packet order: inbound first, then the exit
    for i in range(n):
        src, dst = int(b.src_ip[i]), int(b.dst_ip[i])
        if b.ingress_kind[i] == INGRESS_UPLINK:
            nat = snat_of(dst) if b.reply[i] else None
            want.append((src, nat or dst))
        if r.verdict[i] == Verdict.EXITED:
            nat = snat_of(src) if (b.ingress_kind[i] == INGRESS_POD and not b.reply[i]) else None
            want.append((nat or src, dst))
    out = subprocess.run([tshark, "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-T", "fields",
                          "-e", "ip.src", "-e", "ip.dst", "-e", "ip.checksum.status"],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    got = [tuple(line.split("\t")) for line in out if line]
    assert [(ip_from_str(s), ip_from_str(d)) for s, d, _ in got] == want
    assert {c for _, _, c in got} == {"1"}  # every header checksum good after the rewrite
    pool = ipaddress.IPv4Network(POOL)
    assert sum(ipaddress.IPv4Address(s) in pool for s, _, _ in got) > 300
    assert sum(ipaddress.IPv4Address(d) in pool for _, d, _ in got) > 100


def test_the_load_report_counts_snat_per_namespace(snat):
    from fastpath.analysis.report import ReportAccumulator

    dp = Dataplane(snat)
    acc = ReportAccumulator(snat, dp.tables)
    want = {s.namespace: [0, 0, 0, 0] for s in snat.namespaces if s.snat_ip is not None}
    for b in NORTH.batches(snat, 12_000, seed=9, chunk=5_000):
        run = dp.forward(b)
        acc.add(run, b)
        r = run.results
        for i in range(b.size):
            out = b.ingress_kind[i] == INGRESS_POD and not b.reply[i] and r.verdict[i] == Verdict.EXITED
            into = b.ingress_kind[i] == INGRESS_UPLINK and b.reply[i]
            ip = int(b.src_ip[i]) if out else int(b.dst_ip[i]) if into else None
            s = next((s for s in snat.namespaces if ip is not None and s.snat_ip is not None
                      and ipaddress.IPv4Address(ip) in s.subnet), None)
            if s is not None:
                w = want[s.namespace]
                w[0 if out else 2] += 1
                w[1 if out else 3] += int(b.length[i])
    df = acc.report().snat
    got = {r.namespace: [r.out_packets, r.out_bytes, r.in_packets, r.in_bytes] for r in df.itertuples()}
    assert got == want and sum(w[0] for w in want.values()) > 1000
