"""The walk as a diagram (`fastpath.analysis.diagram`, ``fastpath trace --svg/--html``).

The SVG is read back with xml.etree and held to the walk and the model: a box per device visit
in the walk's order (the seed's order built from the model's names), an arrow per move from one
box to the next starting on the one and ending on the other, TTLs one lower past every router
(DESIGN.md), the VLAN tag on the trunk arrows that of the pod the model gives that VLAN, the VNI
on the underlay that of the segment (or the service router's transit), the rewrites the walk
did on the arrow leaving the device that did them, the drop red with its reason. The page is
read the same way: well-formed, nothing fetched from anywhere, and its replay equal, frame for
frame, to what scapy reads from the pcap the same command wrote, each frame on an arrow whose
tag, TTL and VNI are the frame's (the fast path's wire frames against the reference walk)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import groupby

import pytest

from fastpath.analysis.diagram import walk_caption, walk_html, walk_svg
from fastpath.model import default_scenario
from fastpath.model.addressing import ip_to_str
from fastpath.model.cluster import ovs_name, tunnel_name, vif_name
from fastpath.model.routing import rib
from fastpath.model.scenarios import SEED_SPEC
from fastpath.model.spec import from_spec
from fastpath.reference import trace
from fastpath.verdicts import Verdict

SVG = "{http://www.w3.org/2000/svg}"
ROUTERS = ("t1", "t0", "edge")
REWRITES = ("service", "conntrack", "snat", "lb")
SEED = default_scenario()
LB_IP = "198.51.100.9"


def _lb_spec() -> dict:
    """The seed with the cluster T1's SR on edge-1, an external pool and a LoadBalancer Service
    for default's nginx pods (as tests/test_lb.py builds it)."""
    s = copy.deepcopy(SEED_SPEC)
    s["node_network"]["t1"] = {"edge": "edge-1"}
    s["t0"]["lb_pool"] = "198.51.100.0/28"
    s["services"] = s["services"] + [{
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "loadBalancerIP": LB_IP, "selector": {"app": "nginx"},
                 "ports": [{"port": 443, "targetPort": 8443}]}}]
    return s


def _snat_spec() -> dict:
    """The seed with an SNAT pool on the T0: each namespace leaves through its own SNAT IP."""
    s = copy.deepcopy(SEED_SPEC)
    s["t0"]["snat_pool"] = "198.51.100.0/28"
    return s


LB = from_spec(_lb_spec())
SNAT = from_spec(_snat_spec())

WALKS = {  # name: (cluster, SRC, DST, trace options)
    "seed": (SEED, "kube-system/kube-dns", "worker-2", {}),
    "pod-pod-same-node": (SEED, "kube-system/kube-dns", "kube-system/heapster", {}),
    "other-host-other-namespace": (SEED, "web/frontend-1", "default/nginx-2", {}),
    "to-uplink": (SEED, "kube-system/kube-dns", "8.8.8.8", {}),
    "dfw-drop": (SEED, "default/nginx-1", "db/postgres-0", {}),
    "dns-via-service": (SEED, "default/nginx-1", "10.96.0.10", {"dport": 53}),
    "dns-reply": (SEED, "default/nginx-1", "10.96.0.10", {"dport": 53, "reply": True}),
    "ttl-expired": (SEED, "kube-system/kube-dns", "worker-2", {"ttl": 3}),
    "mtu-exceeded": (SEED, "kube-system/kube-dns", "worker-2", {"size": 1560}),
    "load-balancer": (LB, "uplink-1", LB_IP, {"proto": 6, "dport": 443}),
    "snat": (SNAT, "kube-system/kube-dns", "8.8.8.8", {}),
    "unsnat-reply": (SNAT, "kube-system/kube-dns", "8.8.8.8", {"reply": True}),
}


def _walk(name):
    c, src, dst, kw = WALKS[name]
    return c, trace(c, src, dst, **kw)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def _boxes(root):
    return [g for g in root.iter(f"{SVG}g") if "device" in g.get("class", "").split()]


def _arrows(root):
    return [g for g in root.iter(f"{SVG}g") if "hop" in g.get("class", "").split()]


def _texts(g, cls=None):
    return [t.text or "" for t in g.iter(f"{SVG}text") if cls is None or cls in t.get("class", "").split()]


def _rect(box):
    r = box.find(f"{SVG}rect")
    return tuple(float(r.get(k)) for k in ("x", "y", "width", "height")), r


def _points(arrow):
    d = arrow.find(f"{SVG}path").get("d")
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)", d)]


def _on_border(p, rect, slack):
    x, y, w, h = rect
    inside = x - slack <= p[0] <= x + w + slack and y - slack <= p[1] <= y + h + slack
    near = min(abs(p[0] - x), abs(p[0] - x - w), abs(p[1] - y), abs(p[1] - y - h)) <= slack
    return inside and near


def _expected_boxes(res) -> list[str]:
    """A box per run of hops at one device; a tunnel's two ends two boxes, unless it is where
    the walk was dropped (the MTU: nothing reached the far end)."""
    out = []
    for device, hops in groupby(res.hops, key=lambda h: h.device):
        hops = list(hops)
        out.append(device)
        if device.startswith("geneve:") and not (hops[-1] is res.hops[-1] and res.verdict is Verdict.DROPPED):
            out.append(device)
    return out


# ---- the SVG against the walk and the model ----------------------------------------------------------
def test_the_seed_walk_reads_in_the_seeds_order():
    """pod, OVS, VIF, logical port, segment, T1, T0, T1, segment, TEP -> TEP, VIF, node: the
    names built from the model (the pod's node and host, its namespace's segment and T1)."""
    c, res = _walk("seed")
    pod = c.pods[c.pod_index["kube-system/kube-dns"]]
    seg, dst = c.segment_of_namespace(pod.namespace), c.node("worker-2")
    tunnel = tunnel_name(c.node(pod.node).host, dst.host)
    expected = [pod.key, ovs_name(pod.node), vif_name(pod.node), f"lp:{pod.key}", seg.name, seg.t1, c.t0.name,
                c.node_segment.t1, c.node_segment.name, tunnel, tunnel, vif_name(dst.name), dst.name]
    kinds = ["pod", "ovs", "vif", "port", "segment", "t1", "t0", "t1", "segment", "tunnel", "tunnel", "vif", "node"]
    root = _parse(walk_svg(res))
    boxes = _boxes(root)
    assert [b.get("data-device") for b in boxes] == expected
    assert [b.get("data-kind") for b in boxes] == kinds
    assert [b.get("data-tep") for b in boxes][9:11] == ["src", "dst"]
    hosts = [t for b in boxes[9:11] for t in _texts(b, "name")]
    assert hosts == [f"TEP {c.node(pod.node).host}", f"TEP {dst.host}"]
    assert "delivered" in " ".join(_texts(boxes[-1])) and "end" in boxes[-1].get("class").split()


@pytest.mark.parametrize("name", list(WALKS))
def test_a_box_per_device_and_an_arrow_per_hop_between_them(name):
    c, res = _walk(name)
    root = _parse(walk_svg(res, caption=walk_caption(*WALKS[name][1:3], res, WALKS[name][3].get("ttl", 64))))
    boxes, arrows = _boxes(root), _arrows(root)
    assert [b.get("data-device") for b in boxes] == _expected_boxes(res)
    drawn = [int(k) for b in boxes for k in b.get("data-hops").split()]
    assert drawn == list(range(len(res.hops)))  # every hop in one box, in order
    assert len(arrows) == len(boxes) - 1
    for k, a in enumerate(arrows):
        assert (int(a.get("data-from")), int(a.get("data-to"))) == (k, k + 1)
        pts = _points(a)
        assert _on_border(pts[0], _rect(boxes[k])[0], 0.5), (name, k, pts)  # leaves the box ...
        assert _on_border(pts[-1], _rect(boxes[k + 1])[0], 10), (name, k, pts)  # ... and ends at the next


@pytest.mark.parametrize("name", list(WALKS))
def test_the_drop_is_red_with_its_reason_and_only_the_drop(name):
    c, res = _walk(name)
    boxes = _boxes(_parse(walk_svg(res)))
    drops = [b for b in boxes if "drop" in b.get("class").split()]
    if res.verdict is not Verdict.DROPPED:
        assert not drops and res.verdict.label in " ".join(_texts(boxes[-1]))
        return
    assert drops == [boxes[-1]] and drops[0].get("data-device") == res.device
    (_, rect) = _rect(drops[0])
    r, g, b = (int(rect.get("stroke")[i:i + 2], 16) for i in (1, 3, 5))
    assert r >= 0xa0 and g <= 0x60 and b <= 0x60, rect.get("stroke")
    assert f"dropped: {res.reason.label}" in " ".join(_texts(drops[0], "verdict"))
    assert drops[0].get("data-reason") == res.reason.label


@pytest.mark.parametrize("name", list(WALKS))
def test_ttl_on_the_arrows_falls_by_one_past_each_router(name):
    """Each router hop takes one off (DESIGN.md); the label says the TTL where it changes."""
    c, res = _walk(name)
    ttl_in = WALKS[name][3].get("ttl", 64)
    boxes, arrows = (lambda r: (_boxes(r), _arrows(r)))(_parse(walk_svg(res)))
    routers = 0
    shown = None
    for k, a in enumerate(arrows):
        routers += boxes[k].get("data-kind") in ROUTERS
        assert int(a.get("data-ttl")) == ttl_in - routers, (name, k)
        labels = [t for t in _texts(a, "state") if t.startswith("TTL")]
        assert labels == ([f"TTL {ttl_in - routers}"] if ttl_in - routers != shown else []), (name, k, labels)
        shown = ttl_in - routers
    if name == "mtu-exceeded":  # the encapsulating TEP drops it: no far end, no underlay arrow
        c0 = c.node(c.pods[c.pod_index[WALKS[name][1]]].node).host
        assert boxes[-1].get("data-device") == tunnel_name(c0, c.node(WALKS[name][2]).host)
        assert boxes[-1].get("data-tep") == "src" and [b.get("data-tep") for b in boxes].count("dst") == 0
        assert 1560 + c.settings.geneve_overhead > min(h.mtu for h in c.hosts)
    if name == "ttl-expired":  # sent with TTL 3: the third router sees TTL 1
        assert [b.get("data-kind") in ROUTERS for b in boxes].count(True) == ttl_in
        assert res.reason.label == "ttl-expired" and boxes[-1].get("data-kind") in ROUTERS


@pytest.mark.parametrize("name", list(WALKS))
def test_the_vlan_tag_is_on_the_trunk_arrows_only_and_is_the_pods(name):
    """OVS -> VIF carries the sending pod's VLAN, VIF -> OVS the receiving pod's (the model's
    per-node tags); no other wire is tagged."""
    c, res = _walk(name)
    root = _parse(walk_svg(res))
    boxes, arrows = _boxes(root), _arrows(root)
    src = WALKS[name][1]
    for a in arrows:
        s, d = (boxes[int(a.get(x))] for x in ("data-from", "data-to"))
        pair = (s.get("data-kind"), d.get("data-kind"))
        tags = [t for t in _texts(a, "state") if t.startswith("VLAN")]
        if pair == ("ovs", "vif"):
            sender = res.backend_key if WALKS[name][3].get("reply") else src
            want = int(c.pods.vlan[c.pod_index[sender]])
        elif pair == ("vif", "ovs"):
            want = int(c.pods.vlan[c.pod_index[res.device]])
        else:
            assert not tags and a.get("data-vlan") == "", (name, pair, tags)
            continue
        assert s.get("data-device").split("@")[1] == d.get("data-device").split("@")[1]  # one node's trunk
        assert tags == [f"VLAN {want}"] and int(a.get("data-vlan")) == want, (name, pair)


@pytest.mark.parametrize("name", list(WALKS))
def test_the_underlay_arrows_carry_the_vni(name):
    c, res = _walk(name)
    root = _parse(walk_svg(res))
    boxes, arrows = _boxes(root), _arrows(root)
    under = [a for a in arrows if "underlay" in a.get("class").split()]
    assert len(under) == len(res.tunnels)
    for a, t in zip(under, res.tunnels):
        s, d = (boxes[int(a.get(x))] for x in ("data-from", "data-to"))
        assert (s.get("data-tep"), d.get("data-tep")) == ("src", "dst")
        assert s.get("data-device") == d.get("data-device") == tunnel_name(t.src_host, t.dst_host)
        assert int(a.get("data-vni")) == t.vni and f"Geneve VNI {t.vni}" in _texts(a, "state")
    # the VNI from the model: the destination segment's east-west, a service router's transit VNI to an edge
    r = rib(c)
    want = {"seed": [c.node_segment.vni],
            "other-host-other-namespace": [c.segment_of_namespace("default").vni],
            "to-uplink": [r[f"{c.t0.name}-sr"].transit_vni], "snat": [r[f"{c.t0.name}-sr"].transit_vni],
            "load-balancer": [c.segment_of_namespace("default").vni],
            "pod-pod-same-node": [], "dfw-drop": [], "ttl-expired": [], "mtu-exceeded": []}.get(name)
    if want is not None:
        assert [int(a.get("data-vni")) for a in under] == want


@pytest.mark.parametrize("name", list(WALKS))
def test_rewrites_label_the_arrow_out_of_the_device_that_did_them(name):
    c, res = _walk(name)
    root = _parse(walk_svg(res))
    boxes, arrows = _boxes(root), _arrows(root)
    by_src = {int(a.get("data-from")): a for a in arrows}
    for b in boxes:
        rw = [int(k) for k in b.get("data-hops").split() if res.hops[int(k)].table in REWRITES]
        a = by_src.get(int(b.get("id").split("-")[1]))
        if a is None:
            continue
        said = " ".join(_texts(a, "rewrite"))
        assert said == " ".join(res.hops[k].result for k in rw), (name, b.get("data-device"))
    said = " ".join(t for a in arrows for t in _texts(a, "rewrite"))
    if name == "dns-via-service":  # kube-proxy's DNAT in the client's OVS, to a kube-dns endpoint
        svc = c.services[c.service_index["kube-system/kube-dns"]]
        assert ip_to_str(svc.cluster_ip) == "10.96.0.10"
        backend = c.pods[c.pod_index[res.backend_key]]
        assert all(backend.labels.get(k) == v for k, v in svc.selector.items())  # an endpoint of the Service
        assert f"DNAT to {ip_to_str(backend.ip)}:53" in said
        ovs_out = next(a for a in arrows if boxes[int(a.get("data-from"))].get("data-device") == ovs_name("worker-1"))
        assert f"> {ip_to_str(backend.ip)} " in ovs_out.find(f"{SVG}title").text  # the frame past the DNAT
    elif name == "dns-reply":  # conntrack puts the cluster IP back in the client's OVS
        assert "un-DNAT source to 10.96.0.10:53" in said
    elif name == "load-balancer":  # the virtual server on the cluster T1's SR
        nginx = [c.pods[i] for i in range(len(c.pods)) if c.pods[i].namespace == "default"]
        backend = c.pods[c.pod_index[res.device]]
        assert backend in nginx
        assert f"DNAT to {ip_to_str(backend.ip)}:8443" in said
        assert f"SNAT source to {ip_to_str(c.lb_router.link_t1_ip)}" in said
        lb_box = next(b for b in boxes if "lb" in [res.hops[int(k)].table for k in b.get("data-hops").split()])
        assert lb_box.get("data-device") == f"{c.lb_router.name}-sr"
    elif name == "snat":  # the namespace's SNAT IP, on the T0's service router, out of the uplink
        snat_ip = ip_to_str(c.segment_of_namespace("kube-system").snat_ip)
        out = arrows[-1]
        assert boxes[-1].get("data-kind") == "uplink" and boxes[-2].get("data-device") == f"{c.t0.name}-sr"
        assert _texts(out, "rewrite") and f"SNAT source to {snat_ip}" in " ".join(_texts(out, "rewrite"))
    elif name == "unsnat-reply":  # the reply comes back to it: the pod's address put back at the SR
        pod_ip = ip_to_str(c.pods.ip[c.pod_index["kube-system/kube-dns"]])
        assert f"un-SNAT destination to {pod_ip}" in said
        assert boxes[0].get("data-kind") == "uplink" and boxes[1].get("data-device") == f"{c.t0.name}-sr"
    else:
        assert said == ""


def test_a_walk_that_names_no_device_is_one_red_box():
    from fastpath.reference.walk import Ingress, Packet, walk

    res = walk(SEED, Ingress("pod", 10_000), Packet(1, 2))
    root = _parse(walk_svg(res))
    (box,) = _boxes(root)
    assert not _arrows(root) and "drop" in box.get("class").split() and box.get("data-reason") == "malformed"


# ---- the command, the page, the replay against scapy --------------------------------------------------
def _run(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "fastpath", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc


def _self_contained(root: ET.Element):
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
        assert not (tag == "script" and el.get("src")), "a script fetched from elsewhere"
        for attr in ("src", "href", "{http://www.w3.org/1999/xlink}href", "action"):
            v = el.get(attr)
            assert v is None or not re.match(r"\s*(https?:)?//", v), (tag, attr, v)
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", el.text or ""), tag


def _frame_rows(table) -> dict:
    return {tr.find("th").text: tr.find("td").text for tr in table.iter("tr")}


def _scapy_rows(p) -> dict:
    from scapy.contrib.geneve import GENEVE
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Dot1Q, Ether

    rows = {"frame": f"{len(bytes(p))} bytes"}
    pre = ""
    if GENEVE in p:
        rows.update({"outer eth src": p[Ether].src, "outer eth dst": p[Ether].dst, "outer ip src": p[IP].src,
                     "outer ip dst": p[IP].dst, "outer udp": f"{p[UDP].sport} > {p[UDP].dport}",
                     "geneve vni": str(p[GENEVE].vni)})
        p, pre = p[GENEVE].payload, "inner "
    l4 = p[TCP] if TCP in p else p[UDP]
    rows.update({pre + "eth src": p[Ether].src, pre + "eth dst": p[Ether].dst,
                 pre + "vlan": str(p[Dot1Q].vlan) if Dot1Q in p else "untagged",
                 pre + "ip src": p[IP].src, pre + "ip dst": p[IP].dst,
                 pre + "proto": {6: "tcp", 17: "udp"}[p[IP].proto], pre + "sport": str(l4.sport),
                 pre + "dport": str(l4.dport), pre + "ttl": str(p[IP].ttl), pre + "ip len": str(p[IP].len)})
    return rows


@pytest.mark.parametrize("name,args", [
    ("dns-via-service", ["default/nginx-1", "10.96.0.10", "--dport", "53"]),
    ("load-balancer", ["uplink-1", LB_IP, "--proto", "tcp", "--dport", "443", "--cluster", "lb.json"]),
    ("to-uplink", ["kube-system/kube-dns", "8.8.8.8"]),
    ("seed", ["kube-system/kube-dns", "worker-2"]),
    ("snat", ["kube-system/kube-dns", "8.8.8.8", "--cluster", "snat.json"]),
])
def test_the_page_replays_the_pcap_the_same_command_wrote(tmp_path, name, args):
    from scapy.all import rdpcap  # (scapy.all: the link types and layers registered)
    from scapy.contrib.geneve import GENEVE  # noqa: F401  (binds UDP 6081 before the pcap is read)

    (tmp_path / "lb.json").write_text(json.dumps(_lb_spec()))
    (tmp_path / "snat.json").write_text(json.dumps(_snat_spec()))
    proc = _run("trace", *args, "--pcap", "w.pcap", "--html", "w.html", "--svg", "w.svg", cwd=tmp_path)
    wires = re.search(r"wrote \d+ frames? to w.pcap: (.*?) \(", proc.stdout).group(1).split(" -> ")
    assert "wrote the walk's diagram to w.svg" in proc.stdout and "wrote the walk's page to w.html" in proc.stdout
    page = ET.parse(tmp_path / "w.html").getroot()  # well-formed
    _self_contained(page)
    c, res = _walk(name)
    svg = page.find(f".//{SVG}svg")
    boxes, arrows = _boxes(svg), _arrows(svg)
    assert [b.get("data-device") for b in boxes] == _expected_boxes(res)
    assert [b.get("data-device") for b in _boxes(_parse((tmp_path / "w.svg").read_text()))] == _expected_boxes(res)
    frames = [t for t in page.iter("table") if "frame" in t.get("class", "").split()]
    pkts = rdpcap(str(tmp_path / "w.pcap"))
    assert len(frames) == len(pkts) == len(wires) > 0
    for k, (table, p) in enumerate(zip(frames, pkts)):
        rows = _frame_rows(table)
        assert rows.pop("wire") == table.get("data-wire") == wires[k]
        assert rows == _scapy_rows(p), (name, k)
        # the frame's wire in the diagram: the fast path's frame against the reference walk's arrow
        a = arrows[int(table.get("data-arrow"))]
        inner = {key.removeprefix("inner "): v for key, v in rows.items()}
        assert a.get("data-ttl") == inner["ttl"], (name, k)
        assert a.get("data-vlan") == ("" if inner["vlan"] == "untagged" else inner["vlan"]), (name, k)
        assert ("underlay" in a.get("class").split()) == (wires[k] == "underlay")
        if wires[k] == "underlay":
            assert a.get("data-vni") == rows["geneve vni"]
        src = inner["ip src"]
        if any(res.hops[int(h)].table == "snat" for h in a.get("data-rewrites").split()):
            # the walk says the SNAT in the label; the wire past it carries the namespace's SNAT IP
            assert src == ip_to_str(c.segment_of_namespace("kube-system").snat_ip)
            assert f"SNAT source to {src}" in " ".join(_texts(a, "rewrite"))
        assert f"ip {src} > {inner['ip dst']} " in a.find(f"{SVG}title").text, (name, k)
    assert [f.get("hidden") for f in frames] == [None] + ["hidden"] * (len(frames) - 1)


def test_a_page_without_pcap_has_no_replay_and_one_that_left_nothing_says_so(tmp_path):
    _run("trace", "kube-system/kube-dns", "worker-2", "--html", "a.html", cwd=tmp_path)
    page = ET.parse(tmp_path / "a.html").getroot()
    assert page.find(".//*[@id='replay']") is None and page.find(".//script") is None
    hops = page.find(".//*[@id='hops']/tbody")
    assert len(hops) == len(_walk("seed")[1].hops)
    # an ARP miss in the pod's own subnet: dropped in the pod, no frame ever left it
    proc = _run("trace", "kube-system/kube-dns", "172.16.1.200", "--pcap", "n.pcap", "--html", "n.html", cwd=tmp_path)
    assert "wrote no frames to n.pcap" in proc.stdout
    page = ET.parse(tmp_path / "n.html").getroot()
    assert page.find(".//*[@id='no-frames']") is not None
    (box,) = _boxes(page.find(f".//{SVG}svg"))
    assert box.get("data-device") == "kube-system/kube-dns" and box.get("data-reason") == "no-neighbor"


def test_json_keeps_stdout_one_object_and_bad_paths_are_one_line(tmp_path):
    proc = _run("trace", "kube-system/kube-dns", "worker-2", "--json", "--svg", str(tmp_path / "j.svg"))
    assert json.loads(proc.stdout)["verdict"] == "delivered" and "j.svg" in proc.stderr
    for opt in ("--svg", "--html"):
        bad = subprocess.run([sys.executable, "-m", "fastpath", "trace", "kube-system/kube-dns", "worker-2", opt,
                              "/nonexistent/dir/x"], capture_output=True, text=True, timeout=120)
        (line,) = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and line.startswith(f"fastpath: error: {opt}: "), bad.stderr


def test_the_demo_leaves_the_seed_walk_page(tmp_path):
    out = tmp_path / "demo"
    proc = _run("demo", "--packets", "2000", "--out", str(out))
    page = out / "seed-walk.html"
    assert "wrote the walk's page to" in proc.stdout and "open it in a browser" in " ".join(proc.stdout.split())
    root = ET.parse(page).getroot()
    _self_contained(root)
    assert [b.get("data-device") for b in _boxes(root.find(f".//{SVG}svg"))] == _expected_boxes(_walk("seed")[1])
    assert len([t for t in root.iter("table") if "frame" in t.get("class", "").split()]) == 4


def test_the_page_in_a_real_browser(tmp_path, browser):
    """Chromium opens the seed's DNS walk with its replay: no console error, the diagram drawn,
    the replay's script ran (the first frame's arrow highlighted), a screenshot of some size."""
    c, res = _walk("dns-via-service")
    proc = _run("trace", "default/nginx-1", "10.96.0.10", "--dport", "53", "--pcap", "w.pcap", "--html", "w.html",
                cwd=tmp_path)
    frames = int(re.search(r"wrote (\d+) frames to w.pcap", proc.stdout).group(1))
    page = browser(str(tmp_path / "w.html"))
    assert page.console_errors == []
    assert page.count("#diagram svg g.device") == len(_expected_boxes(res))
    assert page.count("#diagram svg g.hop") == len(_expected_boxes(res)) - 1
    assert page.count("#replay table.frame") == frames > 1
    assert page.count("#diagram .hop.current") == 1
    assert page.text("#position").strip() == f"1 / {frames}"
    assert "delivered" in page.text("#verdict")
    assert page.screenshot(str(tmp_path / "w.png")) > 20_000


def test_walk_html_is_the_library_call_behind_the_page():
    c, res = _walk("seed")
    text = walk_html(res, src="kube-system/kube-dns", dst="worker-2", ttl=64)
    root = ET.fromstring(text.split("\n", 1)[1])  # (after the doctype)
    assert root.find(".//*[@id='command']") is None and root.find(f".//{SVG}svg") is not None
