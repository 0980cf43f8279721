"""Device views (`fastpath show`): every pod where the model puts it, text and JSON alike, and
``show fdb`` held against a real Open vSwitch.

The expectations are computed from the model's own tables another way — the `PodTable` columns,
the segments, the RIB (`fastpath.model.routing.rib`, `lookup`) — never from a view. The real
bridge: ovsdb-server and ``ovs-vswitchd --enable-dummy`` in a private directory, as
tests/test_ovs_real.py runs them; the node's ports with the OpenFlow numbers the views document
(trunk 1, pods from 2 in pod order, ``ofport_request``), the model's steady state learned by
tracing real frames (``ofproto/trace -generate``: a pod's frame to its gateway, the router's
answer down the trunk), then OVS's own ``fdb/show`` compared with ours line for line, all but
the Age column (the model has no clock). Skipped only when Open vSwitch is absent outside CI.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from fastpath.analysis import views
from fastpath.cli import main
from fastpath.model import default_scenario, from_spec, generate
from fastpath.model.addressing import ip_to_str, mac_to_str
from fastpath.model.routing import lookup, rib
from fastpath.model.scenarios import SEED_SPEC

MAC_RE = r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}"


def _wide_vlans():
    """The seed with worker-1's pods on VLANs of every width, not in pod order."""
    spec = copy.deepcopy(SEED_SPEC)
    tags = iter([4093, 7, 100, 1, 2048, 12, 999, 3, 4000])
    for p in spec["pods"]:
        if p["node"] == "worker-1":
            p["vlan"] = next(tags)
    return from_spec(spec)


CLUSTERS = {"seed": default_scenario, "generated": lambda: generate(3, 2, 5, 30, service_t1_fraction=0.5),
            "wide-vlans": _wide_vlans}


@pytest.fixture(scope="module", params=list(CLUSTERS))
def cluster(request):
    return CLUSTERS[request.param]()


def _pods(c):
    """Every pod from the columns: (key, node name, namespace index, ip str, mac str, vlan)."""
    ns = [s.namespace for s in c.namespaces]
    return [(f"{ns[k]}/{n}", c.nodes[d].name, k, ip_to_str(ip), mac_to_str(m), v)
            for n, k, d, ip, m, v in zip(c.pods.name, c.pods.namespace.tolist(), c.pods.node.tolist(),
                                         c.pods.ip.tolist(), c.pods.mac.tolist(), c.pods.vlan.tolist())]


# ---- every pod where the model puts it -----------------------------------------------------------------------

def test_fdb_holds_each_pod_on_its_own_node_only_with_the_router_mac_on_the_trunk_per_vlan(cluster):
    c = cluster
    rm = mac_to_str(c.settings.router_mac)
    pods = _pods(c)
    seen = {}
    for node in c.nodes:
        rows = views.fdb(c, node.name).rows
        mine = [p for p in pods if p[1] == node.name]
        assert len(rows) == 2 * len(mine)
        pod_rows = [r for r in rows if r["mac"] != rm]
        router_rows = [r for r in rows if r["mac"] == rm]
        assert {(r["vlan"], r["mac"]) for r in pod_rows} == {(p[5], p[4]) for p in mine}
        assert sorted(r["vlan"] for r in router_rows) == sorted(p[5] for p in mine)
        assert {r["port"] for r in router_rows} <= {views.TRUNK_OFPORT}
        # each pod on a port of its own, never the trunk; one VLAN per port
        ports = [r["port"] for r in pod_rows]
        assert len(set(ports)) == len(ports) and views.TRUNK_OFPORT not in ports
        for r in pod_rows:
            assert r["mac"] not in seen, f"{r['mac']} in the fdb of {seen.get(r['mac'])} and {node.name}"
            seen[r["mac"]] = node.name
    assert seen == {p[4]: p[1] for p in pods}


def test_fdb_of_the_seeds_worker_1_is_its_nine_pods_and_the_router_in_each_of_their_vlans():
    """The seed's screenshot of ``ovs-appctl fdb/show``: nine pods, the router MAC beside each."""
    c = default_scenario()
    out = CliRunner().invoke(main, ["show", "fdb", "worker-1"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == " port  VLAN  MAC                Age"
    rows = [re.fullmatch(rf"\s*(\d+)\s+(\d+)\s+({MAC_RE})\s+(\d+)", line).groups() for line in lines[1:]]
    on_w1 = np.flatnonzero(c.pods.node == c.node_index["worker-1"])
    assert len(on_w1) == 9 and len(rows) == 18
    want_pods = {(str(c.pods.vlan[i]), mac_to_str(c.pods.mac[i])) for i in on_w1}
    assert {(v, m) for _, v, m, _ in rows if m != "02:50:56:56:44:52"} == want_pods
    assert sorted(v for p, v, m, _ in rows if m == "02:50:56:56:44:52" and p == "1") == \
        sorted(str(c.pods.vlan[i]) for i in on_w1)


def test_vif_lists_each_pod_under_its_own_nodes_vif_with_its_tag(cluster):
    c = cluster
    pods = _pods(c)
    for node in c.nodes:
        v = views.vif(c, node.name)
        want = {p[0]: (p[5], p[3], p[4], c.namespaces[p[2]].name, c.namespaces[p[2]].vni)
                for p in pods if p[1] == node.name}
        got = {r["pod"]: (r["traffic_tag"], r["ip"], r["mac"], r["segment"], r["vni"]) for r in v.rows}
        assert got == want and len(v.rows) == len(want)
        tags = [r["traffic_tag"] for r in v.rows]
        assert tags == sorted(tags) and len(set(tags)) == len(tags)
        par = v.header["parent"]
        assert (par["ip"], par["mac"], par["segment"]) == (ip_to_str(node.ip), mac_to_str(node.mac), c.node_segment.name)


def _lpm(rows, ip: int):
    """Longest-prefix match over a routes view's own rows (first of equal prefixes)."""
    best = None
    for r in rows:
        net = ipaddress.IPv4Network(r["prefix"])
        if ipaddress.IPv4Address(ip) in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, r)
    return best and best[1]


def test_routes_are_the_ribs_and_every_pod_is_connected_on_its_namespaces_t1_only(cluster):
    c = cluster
    table = rib(c)
    owner = {s.name: s.t1 for s in c.segments}
    for name, inst in table.items():
        v = views.routes(c, name)
        assert [r["prefix"] for r in v.rows] == [str(r.prefix) for r in inst.routes]
        assert [r["kind"] for r in v.rows] == [r.kind for r in inst.routes]
        for row, route in zip(v.rows, inst.routes):
            if route.kind == "router":
                assert row["gateway_ip"] == ip_to_str(route.arrive_ip)
                assert row["gateway_mac"] == mac_to_str(c.settings.router_mac)
            if route.kind == "connected":  # a segment is connected on the DR of its own T1 only
                assert name == owner[route.segment] and row["port"] == f"downlink-{route.segment}"
        # each pod: the view's own LPM picks what the RIB's does, and only its T1 DR has it connected
        for key, _node, k, ip, _mac, _v in _pods(c)[:200]:
            got, want = _lpm(v.rows, int(ipaddress.IPv4Address(ip))), lookup(inst, int(ipaddress.IPv4Address(ip)))
            assert got["prefix"] == str(want.prefix) and got["kind"] == want.kind
            assert (got["kind"] == "connected") == (name == c.namespaces[k].t1 and not inst.sr), (name, key)


def test_arp_has_each_pod_on_its_segment_and_its_t1_only(cluster):
    c = cluster
    pods = _pods(c)
    hosts = {n.name: n.host for n in c.nodes}
    in_segment, in_router = {}, {}
    for s in c.namespaces:
        for r in views.arp(c, s.name).rows:
            assert r["vni"] == s.vni
            in_segment.setdefault(r["port"], []).append((s.name, r["ip"], r["mac"], r["transport_node"]))
    for name in rib(c):
        for r in views.arp(c, name).rows:
            if r["interface"].startswith("downlink-ls-") and r["interface"] != f"downlink-{c.node_segment.name}":
                in_router.setdefault(r["endpoint"], []).append((name, r["ip"], r["mac"]))
    assert in_segment == {p[0]: [(c.namespaces[p[2]].name, p[3], p[4], hosts[p[1]])] for p in pods}
    assert in_router == {p[0]: [(c.namespaces[p[2]].t1, p[3], p[4])] for p in pods}
    # the node segment by VNI: the nodes
    rows = views.arp(c, str(c.node_segment.vni)).rows
    assert [(r["ip"], r["mac"], r["transport_node"]) for r in rows] == \
        [(ip_to_str(n.ip), mac_to_str(n.mac), n.host) for n in c.nodes]


def test_a_routers_next_hops_are_its_neighbors_with_the_router_mac(cluster):
    c = cluster
    rm = mac_to_str(c.settings.router_mac)
    for name, inst in rib(c).items():
        rows = views.arp(c, name).rows
        hops = {(r.next_router, ip_to_str(r.arrive_ip)) for r in inst.routes if r.kind == "router"}
        assert {(r["endpoint"], r["ip"]) for r in rows if r["mac"] == rm} == hops
        assert all(r["state"] == "perm" for r in rows)


# ---- the text says what the JSON says -------------------------------------------------------------------------

def _cli(*args):
    res = CliRunner().invoke(main, ["show", *args])
    assert res.exit_code == 0, res.output
    return res.stdout


def _parse_routes(text):
    lines = text.splitlines()
    assert lines[0] == "Logical Router" and lines[1].split() == ["UUID", "VRF", "LR-ID", "Name", "Type"]
    uuid_, vrf, lr_id, name, typ = lines[2].split()
    assert lines[3] == "IPv4 Forwarding Table"
    head = lines[4]
    assert head.split()[:4] == ["IP", "Prefix", "Gateway", "IP"] and head.endswith("Gateway MAC")
    rows = []
    for line in lines[5:]:
        tok = line.split()
        t = tok.index("route")
        gw = tok[1] if t == 2 else None
        rows.append({"prefix": tok[0], "gateway_ip": gw, "type": "route", "port": tok[t + 1],
                     "gateway_mac": tok[t + 2] if len(tok) > t + 2 else None})
    return {"uuid": uuid_, "vrf": int(vrf), "lr_id": int(lr_id), "name": name, "type": typ}, rows


def _parse_blocks(text):
    lines = text.splitlines()
    assert lines[0] == "Logical Router" and "Neighbors" in lines
    at = lines.index("Neighbors")
    kv = lambda line: tuple(x.strip() for x in line.split(":", 1))  # noqa: E731
    head = dict(kv(line) for line in lines[1:at])
    rows, cur = [], {}
    for line in lines[at + 1:] + [""]:
        if not line:
            if cur:
                rows.append(cur)
            cur = {}
        else:
            k, x = kv(line)
            cur[k] = x
    return head, rows


@pytest.mark.parametrize("args", [["fdb", "worker-1"], ["fdb", "master"], ["vif", "worker-1"], ["vif", "worker-3"],
                                  ["routes", "t1-kube-system"], ["routes", "t0"], ["routes", "t0-sr"],
                                  ["routes", "t1-payments-sr"], ["arp", "t1-kube-system"], ["arp", "t0-sr"],
                                  ["arp", "ls-kube-system"], ["arp", "65536"]])
def test_text_and_json_agree(args):
    text, js = _cli(*args), json.loads(_cli(*args, "--json"))
    assert js["device"] == (args[1] if args[1] != "65536" else "ls-nodes")
    rows = js["rows"]
    if args[0] == "fdb":
        got = [re.fullmatch(rf"\s*(\d+)\s+(\d+)\s+({MAC_RE})\s+(\d+)", line).groups() for line in text.splitlines()[1:]]
        assert got == [(str(r["port"]), str(r["vlan"]), r["mac"], str(r["age"])) for r in rows]
    elif args[0] == "vif":
        lines = text.splitlines()
        par = js["parent"]
        assert par["ip"] in lines[1] and par["mac"] in lines[1] and f"VNI {par['vni']}" in lines[1]
        got = [line.split() for line in lines[4:]]
        assert got == [[str(r["traffic_tag"]), r["pod"], r["ip"], r["mac"], r["segment"], f"({r['vni']})"] for r in rows]
    elif args[0] == "routes":
        head, got = _parse_routes(text)
        assert head == {k: js[k] for k in ("uuid", "vrf", "lr_id", "name", "type")}
        assert got == [{k: r[k] for k in ("prefix", "gateway_ip", "type", "port", "gateway_mac")} for r in rows]
    elif js["view"] == "arp":
        head, got = _parse_blocks(text)
        assert head == {"UUID": js["uuid"], "VRF": str(js["vrf"]), "LR-ID": str(js["lr_id"]), "name": js["name"],
                        "type": js["type"]}
        assert got == [{"interface": r["interface"], "IP": r["ip"], "MAC": r["mac"], "state": r["state"]} for r in rows]
    else:
        lines = text.splitlines()
        assert lines[0].split() == ["VNI", "IP", "MAC", "TransportNode-Id", "Port"]
        assert [line.split() for line in lines[1:]] == \
            [[str(r["vni"]), r["ip"], r["mac"], r["transport_node"], r["port"]] for r in rows]


# ---- bad names: one line naming what exists ------------------------------------------------------------------

@pytest.mark.parametrize("args, names", [
    (["fdb", "worker-9"], ["no node 'worker-9'", "worker-1", "master"]),
    (["vif", "esx-1"], ["no node 'esx-1'", "worker-3"]),
    (["routes", "t1-nope"], ["no router 't1-nope'", "t1-kube-system", "t0-sr", "t1-payments-sr"]),
    (["routes", "t1-web-sr"], ["no router 't1-web-sr'", "t1-web"]),  # t1-web has no SR
    (["arp", "ls-nope"], ["no router or segment 'ls-nope'", "t0", "ls-kube-system (65537)"]),
    (["arp", "99"], ["no router or segment '99'", "ls-nodes (65536)"]),
    (["arp", "9" * 5000], ["no router or segment '999", "'...", "ls-nodes (65536)"]),  # no int() of 5000 digits
    (["arp", "a\nb"], ["no router or segment 'a\\nb'", "t1-web"]),
    (["fdb", ""], ["no node ''", "worker-2"]),
])
def test_a_bad_name_is_one_line_listing_what_exists(args, names):
    res = CliRunner().invoke(main, ["show", *args])
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith("fastpath: error: ") and res.stderr.count("\n") == 1, res.stderr
    for n in names:
        assert n in res.stderr


def test_a_bad_name_on_a_big_cluster_lists_a_few_and_the_count():
    c = generate(4, 8, 3, 1)
    with pytest.raises(LookupError) as err:
        views.fdb(c, "node-999")
    msg = str(err.value)
    assert "\n" not in msg and "node-1," in msg and f"({len(c.nodes):,} in all)" in msg


def test_both_router_instances_of_a_t1_with_an_sr_are_shown():
    c = default_scenario()
    dr, sr = views.routes(c, "t1-payments"), views.routes(c, "t1-payments-sr")
    assert dr.header["type"] == "DISTRIBUTED_ROUTER_TIER1" and sr.header["type"] == "SERVICE_ROUTER_TIER1"
    assert sr.header["edge"] == "edge-1" and dr.header["edge"] is None
    assert dr.header["uuid"] != sr.header["uuid"] == views.routes(default_scenario(), "t1-payments-sr").header["uuid"]


# ---- the README's examples are what the commands print --------------------------------------------------------

def test_the_readme_device_view_examples_are_what_show_prints():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    tokens = MarkdownIt().parse(readme.read_text())
    blocks = [t.content for t in tokens if t.type == "fence" and not t.info.strip()
              and t.content.startswith("$ fastpath show ")]
    assert {b.split()[3] for b in blocks} == {"fdb", "vif", "routes", "arp"}
    for block in blocks:
        cmd, _, shown = block.partition("\n")
        assert _cli(*cmd.split()[3:]) == shown, cmd


# ---- show fdb against a real Open vSwitch ----------------------------------------------------------------------

OVS_TOOLS = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TIMEOUT = 60
BRIDGE = "br-int"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RealOVS:
    """ovsdb-server and ovs-vswitchd (dummy datapath, no kernel module) in a private directory."""

    def __init__(self, tools: dict[str, str], rundir: str):
        self.t, self.dir = tools, rundir
        self.db = f"unix:{rundir}/db.sock"
        self.env = dict(os.environ, OVS_RUNDIR=rundir, OVS_LOGDIR=rundir, OVS_DBDIR=rundir, OVS_SYSCONFDIR=rundir)
        self.ctl = {d: f"{rundir}/{d}.ctl" for d in ("ovsdb-server", "ovs-vswitchd")}

    def run(self, *cmd) -> str:
        r = subprocess.run(cmd, env=self.env, cwd=self.dir, capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}"
        return r.stdout

    def start(self) -> None:
        d = self.dir
        self.run(self.t["ovsdb-tool"], "create", f"{d}/conf.db", SCHEMA)
        self.run(self.t["ovsdb-server"], "--detach", "--no-chdir", f"--pidfile={d}/ovsdb-server.pid",
                 f"--log-file={d}/ovsdb-server.log", f"--unixctl={self.ctl['ovsdb-server']}", f"{d}/conf.db",
                 f"--remote=punix:{d}/db.sock")
        self.vsctl("--no-wait", "init")
        self.run(self.t["ovs-vswitchd"], "--detach", "--no-chdir", f"--pidfile={d}/ovs-vswitchd.pid",
                 f"--log-file={d}/ovs-vswitchd.log", f"--unixctl={self.ctl['ovs-vswitchd']}", "--enable-dummy",
                 "--disable-system", "--disable-system-route", self.db)

    def stop(self) -> None:
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = f"{self.dir}/{daemon}.pid"
            if not os.path.exists(pidfile):
                continue
            pid = int(open(pidfile).read().strip() or 0)
            subprocess.run([self.t["ovs-appctl"], "-t", self.ctl[daemon], "exit"], env=self.env, capture_output=True,
                           timeout=TIMEOUT)
            deadline = time.monotonic() + 10
            while pid and time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def vsctl(self, *args) -> str:
        return self.run(self.t["ovs-vsctl"], f"--db={self.db}", "--timeout=30", *args)

    def appctl(self, *args) -> str:
        return self.run(self.t["ovs-appctl"], "-t", self.ctl["ovs-vswitchd"], *args)


@pytest.fixture(scope="module")
def real_ovs():
    where = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin:/bin"
    tools = {t: shutil.which(t, path=where) for t in OVS_TOOLS}
    if not all(tools.values()) or not os.path.exists(SCHEMA):
        missing = [t for t, p in tools.items() if not p] or [SCHEMA]
        why = f"Open vSwitch is not installed ({', '.join(missing)} missing)"
        if _ci():
            pytest.fail(why + ": CI installs openvswitch-switch", pytrace=False)
        pytest.skip(why)
    rundir = tempfile.mkdtemp(prefix="fastpath-fdb-")  # short: unix socket paths hold ~100 bytes
    o = RealOVS(tools, rundir)
    try:
        o.start()
        yield o
    finally:
        o.stop()
        shutil.rmtree(rundir, ignore_errors=True)


def _learn_on_a_real_bridge(o: RealOVS, c, node: str) -> str:
    """Build the node's bridge (trunk = OpenFlow port 1, pod ports from 2 in pod order, each an
    access port of its VLAN), send the steady state's frames, return OVS's ``fdb/show``."""
    rows = np.flatnonzero(c.pods.node == c.node_index[node])
    if BRIDGE in o.vsctl("list-br").split():
        o.vsctl("del-br", BRIDGE)
    cmd = ["--", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=dummy", "fail-mode=standalone",
           "--", "add-port", BRIDGE, "trunk", "--", "set", "interface", "trunk", "type=dummy", "ofport_request=1"]
    for n, i in enumerate(rows.tolist(), 2):
        cmd += ["--", "add-port", BRIDGE, f"pod{n}", f"tag={int(c.pods.vlan[i])}",
                "--", "set", "interface", f"pod{n}", "type=dummy", f"ofport_request={n}"]
    o.vsctl(*cmd)
    for n in range(1, len(rows) + 2):
        assert int(o.vsctl("get", "interface", "trunk" if n == 1 else f"pod{n}", "ofport")) == n
    rm = mac_to_str(c.settings.router_mac)
    for n, i in enumerate(rows.tolist(), 2):
        mac, vlan = mac_to_str(c.pods.mac[i]), int(c.pods.vlan[i])
        o.appctl("ofproto/trace", BRIDGE, f"in_port={n},dl_src={mac},dl_dst={rm}", "-generate")
        o.appctl("ofproto/trace", BRIDGE, f"in_port=1,dl_vlan={vlan},dl_src={rm},dl_dst={mac}", "-generate")
    return o.appctl("fdb/show", BRIDGE)


def _without_age(text: str) -> list[str]:
    lines = text.splitlines()
    return [lines[0]] + [re.sub(r"\s+\d+$", "", line) for line in lines[1:]]


@pytest.mark.parametrize("which, node", [("seed", "worker-1"), ("seed", "worker-2"), ("seed", "master"),
                                         ("wide-vlans", "worker-1"), ("generated", "node-1")])
def test_show_fdb_is_what_a_real_ovs_learns(real_ovs, which, node):
    c = CLUSTERS[which]()
    real = _learn_on_a_real_bridge(real_ovs, c, node)
    ours = views.fdb(c, node).text()
    assert _without_age(ours) == _without_age(real), f"ours:\n{ours}\nOVS:\n{real}"
    # and row for row: (port, VLAN, MAC), OVS's entry order too
    parse = lambda t: [tuple(line.split()[:3]) for line in t.splitlines()[1:]]  # noqa: E731
    assert parse(ours) == parse(real) and len(parse(real)) == 2 * int(np.sum(c.pods.node == c.node_index[node]))
    # the Age column stays where OVS puts it ("%3d" after two spaces)
    assert all(re.fullmatch(rf"\s*\d+\s+\d+\s+{MAC_RE}  [ \d]{{2}}\d", line) for line in real.splitlines()[1:])
    assert all(re.fullmatch(rf"\s*\d+\s+\d+\s+{MAC_RE}  [ \d]{{2}}\d", line) for line in ours.splitlines()[1:])
