"""The node's OVS bridge, held against a real Open vSwitch.

A real ``ovs-vswitchd`` runs in userspace, as Open vSwitch's own testsuite runs it: a private
run directory, ``ovsdb-server`` on a unix socket, ``ovs-vswitchd --enable-dummy`` (no kernel
module), a bridge of ``datapath_type=dummy`` with the default NORMAL flow, and ports of
``type=dummy``. The bridge is a node of the seed (worker-1): one access port per pod, tagged
with the pod's VLAN, and a trunk to the node's VIF. Before each frame the MAC table is flushed
and brought to the model's steady state (each pod has sent a frame from its port, the router
has sent one down the trunk in each pod VLAN); then ``ofproto/trace -generate`` (side effects
on: the frame's own source is learned, as for a real packet) says where OVS sends the frame.

For each case the reference walk and the fast path (its trace records) must send the frame out
of the same ports — the trunk with the pod's tag, a pod's port untagged, or none — as OVS.
Frames from the trunk that no walk of the model can produce (the segment hands a port only
frames for that port's MAC: never broadcast, multicast or another MAC) are held against the
reference bridge itself (`_Walk.ovs_to_pod`). OVS floods to the bridge's own internal port
too; that port is down on a node and not modeled, so it is left out of OVS's answer.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from fastpath.dataplane import Dataplane
from fastpath.dataplane.trace import T_OVS_MAC, T_OVS_PORT
from fastpath.model import default_scenario, from_spec
from fastpath.model.addressing import BROADCAST_MAC, OVS_RESERVED_MACS, mac_to_str
from fastpath.model.scenarios import SEED_SPEC
from fastpath.reference.batch import batch_of
from fastpath.reference.walk import Ingress, Packet, _Verdict, _Walk, walk
from fastpath.verdicts import DeviceKind, Reason, Verdict

NODE = "worker-1"
BRIDGE = "br-node"
TRUNK = "trunk"
OVS_TOOLS = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TIMEOUT = 60


# ---- a real Open vSwitch, in userspace ----------------------------------------------------------------------

def _tools() -> dict[str, str]:
    where = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin:/bin"
    return {t: shutil.which(t, path=where) for t in OVS_TOOLS}


class OVS:
    """ovsdb-server and ovs-vswitchd (dummy datapath) in a private directory."""

    def __init__(self, tools: dict[str, str], rundir: str):
        self.t, self.dir = tools, rundir
        self.db = f"unix:{rundir}/db.sock"
        self.env = dict(os.environ, OVS_RUNDIR=rundir, OVS_LOGDIR=rundir, OVS_DBDIR=rundir, OVS_SYSCONFDIR=rundir)
        self.ctl = {"ovsdb-server": f"{rundir}/ovsdb-server.ctl", "ovs-vswitchd": f"{rundir}/ovs-vswitchd.ctl"}

    def _run(self, *cmd) -> str:
        r = subprocess.run(cmd, env=self.env, cwd=self.dir, check=False, capture_output=True, text=True,
                           timeout=TIMEOUT)
        assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}"
        return r.stdout

    def start(self) -> None:
        d = self.dir
        self._run(self.t["ovsdb-tool"], "create", f"{d}/conf.db", SCHEMA)
        for daemon, args in (("ovsdb-server", [f"{d}/conf.db", f"--remote=punix:{d}/db.sock"]),
                             ("ovs-vswitchd", ["--enable-dummy", "--disable-system", "--disable-system-route",
                                               self.db])):
            self._run(self.t[daemon], "--detach", "--no-chdir", f"--pidfile={d}/{daemon}.pid",
                      f"--log-file={d}/{daemon}.log", f"--unixctl={self.ctl[daemon]}", *args)
            if daemon == "ovsdb-server":
                self.vsctl("--no-wait", "init")

    def stop(self) -> None:
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = f"{self.dir}/{daemon}.pid"
            if not os.path.exists(pidfile):
                continue
            pid = int(open(pidfile).read().strip() or 0)
            subprocess.run([self.t["ovs-appctl"], "-t", self.ctl[daemon], "exit"], env=self.env, check=False,
                           capture_output=True, timeout=TIMEOUT)
            deadline = time.monotonic() + 10
            while pid and time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def vsctl(self, *args) -> str:
        return self._run(self.t["ovs-vsctl"], f"--db={self.db}", "--timeout=30", *args)

    def appctl(self, *args) -> str:
        return self._run(self.t["ovs-appctl"], "-t", self.ctl["ovs-vswitchd"], *args)

    def dp_ports(self, bridge: str) -> dict[int, str]:
        """Datapath port number -> port name (``dpif/show``: ``name ofport/dpport: (type)``)."""
        out = {}
        for m in re.finditer(r"^\s+(\S+) \d+/(\d+):", self.appctl("dpif/show"), re.M):
            out[int(m.group(2))] = m.group(1)
        return out


def _alive(pid: int) -> bool:
    """Running (a zombie, exited but not yet reaped by whoever inherited the daemon, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="session")
def ovs(debian_package):
    """A running userspace Open vSwitch; installed from the distribution when missing. Never skips."""
    tools = _tools()
    if not all(tools.values()) or not os.path.exists(SCHEMA):
        why = debian_package("openvswitch-switch")
        tools = _tools()
        if not all(tools.values()) or not os.path.exists(SCHEMA):
            missing = [t for t, p in tools.items() if not p] or [SCHEMA]
            pytest.fail(f"Open vSwitch is not installed ({', '.join(missing)} missing) and installing it failed: "
                        f"{why or 'not on PATH afterwards'}", pytrace=False)
    rundir = tempfile.mkdtemp(prefix="fastpath-ovs-")  # short: unix socket paths hold ~100 bytes
    o = OVS(tools, rundir)
    try:
        o.start()
        yield o
    finally:
        o.stop()
        shutil.rmtree(rundir, ignore_errors=True)


# ---- the node's bridge ----------------------------------------------------------------------------------------

class Bridge:
    """The OVS bridge of one node of a cluster: access port ``p<vlan>`` per pod, one trunk."""

    def __init__(self, ovs: OVS, cluster, node: str):
        self.ovs, self.c, self.node = ovs, cluster, node
        self.pods = [cluster.pods[int(i)] for i in cluster.pods_on_node(node)]
        self.port_of = {p.key: f"p{p.vlan}" for p in self.pods}
        self.pod_of = {v: k for k, v in self.port_of.items()}
        if ovs.vsctl("list-br").split().count(BRIDGE):
            ovs.vsctl("del-br", BRIDGE)
        cmd = ["--", "add-br", BRIDGE, "--", "set", "bridge", BRIDGE, "datapath_type=dummy", "fail-mode=standalone",
               "--", "add-port", BRIDGE, TRUNK, "--", "set", "interface", TRUNK, "type=dummy"]
        for p in self.pods:
            name = self.port_of[p.key]
            cmd += ["--", "add-port", BRIDGE, name, f"tag={p.vlan}", "--", "set", "interface", name, "type=dummy"]
        ovs.vsctl(*cmd)
        self.ofport = {name: int(ovs.vsctl("get", "interface", name, "ofport"))
                       for name in [TRUNK, *self.port_of.values()]}
        self.dp = ovs.dp_ports(BRIDGE)

    def trace(self, in_port: str, dl_src: int, dl_dst: int, vlan: int | None = None, arp: bool = False):
        """Where OVS sends the frame: a set of (port, VID or None), and the trace's text."""
        flow = ("arp," if arp else "") + f"in_port={self.ofport[in_port]},dl_src={mac_to_str(dl_src)}," \
               f"dl_dst={mac_to_str(dl_dst)}" + (f",dl_vlan={vlan}" if vlan is not None else "")
        text = self.ovs.appctl("ofproto/trace", BRIDGE, flow, "-generate")
        actions = re.search(r"^Datapath actions: (.*)$", text, re.M).group(1)
        out, vid = set(), vlan or None  # the frame's tag as it stands; a priority tag (0) counts as none
        for act in re.findall(r"[a-z_]+\([^()]*\)|[a-z_]+|\d+", actions):
            if act.startswith("push_vlan"):
                vid = int(re.search(r"vid=(\d+)", act).group(1))
            elif act == "pop_vlan":
                vid = None
            elif act.isdigit():
                name = self.dp[int(act)]
                if name != BRIDGE:  # the bridge's own internal port: not modeled (module docstring)
                    out.add((name, vid))
            elif act != "drop":
                raise AssertionError(f"unexpected datapath action {act!r} in {actions!r}")
        return out, text

    def steady_state(self):
        """Flush the MAC table, then learn the model's steady state (walk.py's OVS essay)."""
        self.ovs.appctl("fdb/flush", BRIDGE)
        rm = self.c.settings.router_mac
        for p in self.pods:
            self.trace(self.port_of[p.key], p.mac, rm)
            self.trace(TRUNK, rm, p.mac, vlan=p.vlan)


@pytest.fixture(scope="module")
def seed():
    return default_scenario()


@pytest.fixture(scope="module")
def reserved_pod_cluster():
    """The seed with kube-dns on a MAC OVS reserves though it is unicast (Extreme's EDP)."""
    spec = copy.deepcopy(SEED_SPEC)
    next(p for p in spec["pods"] if p["name"] == "kube-dns")["mac"] = "00:e0:2b:00:00:00"
    return from_spec(spec)


@pytest.fixture
def bridge(ovs, seed):
    b = Bridge(ovs, seed, NODE)
    b.steady_state()
    return b


# ---- the model's answer -------------------------------------------------------------------------------------

def _outputs_after(kinds, devs, at, ovs_node, c, port_of, vlan):
    """The ports the model's bridge sent a frame to, from the hop after the OVS hop ``at``."""
    assert kinds[at] is DeviceKind.OVS and devs[at] == ovs_node
    if at + 1 == len(kinds):
        return set()
    nxt, dev = kinds[at + 1], devs[at + 1]
    if nxt is DeviceKind.VIF:
        return {(TRUNK, vlan)}
    assert nxt is DeviceKind.POD, (nxt, dev)
    return {(port_of[dev], None)}


def model_outputs(c, bridge, ingress: Ingress, pkt: Packet, which: str):
    """(reference, fast path) answers for the ``which`` ("first"/"last") OVS hop on the bridge's
    node: the set of (port, VID) out of the bridge, as `Bridge.trace` gives OVS's."""
    node_id = c.node_index[bridge.node]
    res = walk(c, ingress, pkt)
    ovs_hops = [k for k, h in enumerate(res.hops) if h.kind is DeviceKind.OVS and h.device == f"ovs@{bridge.node}"]
    assert ovs_hops, f"the walk never met the bridge of {bridge.node}: {[h.device for h in res.hops]}"
    at = ovs_hops[0 if which == "first" else -1]
    kinds = [h.kind for h in res.hops]
    devs = [c.node_index[h.device.split("@")[1]] if h.kind is DeviceKind.OVS else h.device for h in res.hops]
    ref = _outputs_after(kinds, devs, at, node_id, c, bridge.port_of, res.hops[at].raw[2])

    run = Dataplane(c).forward(batch_of(ingress, pkt), trace=1)
    rec = run.trace(0)
    kinds = [DeviceKind(int(k)) for k in rec[:, 0]]
    devs = [int(d) if DeviceKind(int(k)) is DeviceKind.OVS else
            (c.pods[int(d)].key if DeviceKind(int(k)) is DeviceKind.POD else int(d)) for k, d in rec[:, :2]]
    ovs_recs = [k for k, (kind, d) in enumerate(zip(kinds, devs)) if kind is DeviceKind.OVS and d == node_id]
    at = ovs_recs[0 if which == "first" else -1]
    assert rec[at, 2] in (T_OVS_MAC, T_OVS_PORT)
    # the fast path does not record tags: the trunk tag it would put on is the source pod's
    pod_vlan = ref and next(iter(ref))[1]
    fast = _outputs_after(kinds, devs, at, node_id, c, bridge.port_of, pod_vlan)
    r = run.results
    return ref, fast, res, (Verdict(int(r.verdict[0])), Reason(int(r.reason[0])))


def assert_agree(bridge, c, ingress, pkt, which, ovs_out, ovs_text):
    ref, fast, res, fast_verdict = model_outputs(c, bridge, ingress, pkt, which)
    assert ref == ovs_out, f"reference {ref} != OVS {ovs_out}\n{ovs_text}\n{[h.result for h in res.hops]}"
    assert fast == ovs_out, f"fast path {fast} != OVS {ovs_out}\n{ovs_text}"
    assert fast_verdict == (res.verdict, res.reason)
    return res


# ---- frames from a pod --------------------------------------------------------------------------------------

def _pod(c, key):
    p = c.pod(key)
    return p, Ingress("pod", p.index)


def test_pod_to_the_router_goes_up_the_trunk_with_the_pods_tag(bridge, seed):
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, seed.settings.router_mac)
    assert out == {(TRUNK, dns.vlan)} and "forwarding to learned port" in text
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip), "first", out, text)
    assert res.verdict is Verdict.DELIVERED


def test_pod_to_a_pod_of_another_vlan_on_the_same_bridge_goes_up_the_trunk(bridge, seed):
    """kube-dns ARPs heapster (same segment, VLAN 2 on the same node): OVS looks heapster's MAC
    up in VLAN 1, where it is not, and floods VLAN 1: the trunk. It comes back down in VLAN 2."""
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    heap = seed.pod("kube-system/heapster")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, heap.mac)
    assert out == {(TRUNK, dns.vlan)}
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, heap.ip), "first", out, text)
    assert res.hops[0].table == "arp" and res.verdict is Verdict.DELIVERED
    # ... and down: in on the trunk tagged with heapster's VLAN, out of heapster's port
    out, text = bridge.trace(TRUNK, dns.mac, heap.mac, vlan=heap.vlan)
    assert out == {(bridge.port_of[heap.key], None)}
    assert_agree(bridge, seed, ingress, Packet(dns.ip, heap.ip), "last", out, text)


@pytest.mark.parametrize("vid", [0, 1, 7, 4094])
def test_tagged_frames_from_a_pod(bridge, seed, vid):
    """An access port drops tagged frames; a priority tag (VID 0) is as untagged."""
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, seed.settings.router_mac, vlan=vid)
    assert out == (set() if vid else {(TRUNK, dns.vlan)})
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, vlan=vid), "first", out, text)
    if vid:
        assert (res.reason, res.hops[-1].table) == (Reason.UNKNOWN_VLAN, "ovs_port")


def test_broadcast_arp_from_a_pod_floods_its_vlan_the_trunk(bridge, seed):
    """The model carries IPv4 only; a broadcast frame meets the same bridge whatever it holds."""
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, BROADCAST_MAC, arp=True)
    assert out == {(TRUNK, dns.vlan)}
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, dst_mac=BROADCAST_MAC),
                       "first", out, text)
    assert "broadcast: flooded in the VLAN" in res.hops[1].result


NOT_RESERVED = (0x01_80_C2_00_00_10, 0x01_00_0C_CC_CC_C8, 0x01_00_0C_CC_CC_CE, 0x00_E0_2B_00_00_01,
                0x01_00_5E_00_00_FB, 0x33_33_00_00_00_01)
"""Neighbours of reserved MACs, and ordinary multicast (mDNS, IPv6 all-nodes): flooded."""


@pytest.mark.parametrize("mac", sorted(OVS_RESERVED_MACS) + list(NOT_RESERVED), ids=mac_to_str)
def test_reserved_and_other_multicast_destinations_from_a_pod(bridge, seed, mac):
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, mac)
    assert out == (set() if mac in OVS_RESERVED_MACS else {(TRUNK, dns.vlan)})
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, dst_mac=mac), "first", out, text)
    if mac in OVS_RESERVED_MACS:
        assert "reserved destination MAC" in text or "reserved destination MAC" in res.hops[-1].result
        assert (res.reason, res.device) == (Reason.RESERVED_MAC, "ovs@worker-1")


def test_a_pod_to_its_own_mac_is_dropped_as_learned_on_its_input_port(bridge, seed):
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, dns.mac)
    assert out == set() and "learned port is input port" in text
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, dst_mac=dns.mac), "first",
                       out, text)
    assert res.reason is Reason.LEARNED_ON_INPUT


@pytest.mark.parametrize("spoofed", ["router", "other"])
def test_a_frame_to_its_own_spoofed_source_is_dropped_where_it_entered(bridge, seed, spoofed):
    """OVS learns the source on the input port before looking the destination up."""
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    mac = seed.settings.router_mac if spoofed == "router" else 0x02_AA_00_00_00_01
    out, text = bridge.trace(bridge.port_of[dns.key], mac, mac)
    assert out == set() and "learned port is input port" in text
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, src_mac=mac, dst_mac=mac),
                       "first", out, text)
    assert res.reason is Reason.LEARNED_ON_INPUT


def test_an_unknown_unicast_from_a_pod_floods_to_the_trunk(bridge, seed):
    dns, ingress = _pod(seed, "kube-system/kube-dns")
    out, text = bridge.trace(bridge.port_of[dns.key], dns.mac, 0x02_00_DE_AD_BE_EF)
    assert out == {(TRUNK, dns.vlan)} and "no learned MAC for destination, flooding" in text
    res = assert_agree(bridge, seed, ingress, Packet(dns.ip, seed.node("worker-2").ip, dst_mac=0x02_00_DE_AD_BE_EF),
                       "first", out, text)
    assert (res.reason, res.device) == (Reason.UNKNOWN_MAC, "ls-kube-system")  # the segment knows better


# ---- frames from the trunk ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["web/frontend-2", "kube-system/coredns-2", "worker-1"])
def test_trunk_to_a_pod_goes_out_of_its_port_untagged(bridge, seed, sender):
    """Routed (source: the router MAC), switched from another host (the sender's MAC), and from
    the pod's own node (its VIF on the node segment, routed)."""
    dns = seed.pod("kube-system/kube-dns")
    if "/" in sender:
        src = seed.pod(sender)
        ingress, src_ip = Ingress("pod", src.index), src.ip
    else:
        ingress, src_ip = Ingress("node", seed.node_index[sender]), seed.node(sender).ip
    res = walk(seed, ingress, Packet(src_ip, dns.ip))
    last_ovs = [h for h in res.hops if h.kind is DeviceKind.OVS][-1]
    src_mac, dst_mac = last_ovs.raw[0], last_ovs.raw[1]
    out, text = bridge.trace(TRUNK, src_mac, dst_mac, vlan=dns.vlan)
    assert out == {(bridge.port_of[dns.key], None)} and "forwarding to learned port" in text
    res = assert_agree(bridge, seed, ingress, Packet(src_ip, dns.ip), "last", out, text)
    assert res.verdict is Verdict.DELIVERED


def test_a_nodes_frame_tagged_as_its_pod_and_to_that_pods_mac_is_dropped_on_the_way_back(bridge, seed):
    """The VIF hands the frame to the pod's logical port, the segment back to the same port:
    down the trunk with the pod's MAC as source and destination. OVS learns the source on the
    trunk first, so the destination is learned on the input port."""
    dns = seed.pod("kube-system/kube-dns")
    out, text = bridge.trace(TRUNK, dns.mac, dns.mac, vlan=dns.vlan)
    assert out == set() and "learned port is input port" in text
    pkt = Packet(dns.ip, seed.node("worker-2").ip, vlan=dns.vlan, src_mac=dns.mac, dst_mac=dns.mac)
    res = assert_agree(bridge, seed, Ingress("node", seed.node_index[NODE]), pkt, "last", out, text)
    assert (res.reason, res.device) == (Reason.LEARNED_ON_INPUT, "ovs@worker-1")


def test_a_pod_whose_mac_ovs_reserves_gets_nothing_from_the_trunk(ovs, reserved_pod_cluster):
    c = reserved_pod_cluster
    b = Bridge(ovs, c, NODE)
    b.steady_state()
    dns = c.pod("kube-system/kube-dns")
    src = c.pod("web/frontend-2")
    out, text = b.trace(TRUNK, c.settings.router_mac, dns.mac, vlan=dns.vlan)
    assert out == set() and "reserved destination MAC" in text
    res = assert_agree(b, c, Ingress("pod", src.index), Packet(src.ip, dns.ip), "last", out, text)
    assert (res.reason, res.device) == (Reason.RESERVED_MAC, "ovs@worker-1")
    # its own frames still leave: a reserved *source* is nobody's business
    out, text = b.trace(b.port_of[dns.key], dns.mac, c.settings.router_mac)
    assert out == {(TRUNK, dns.vlan)}
    assert_agree(b, c, Ingress("pod", dns.index), Packet(dns.ip, src.ip), "first", out, text)


def _reference_bridge_from_trunk(c, pod, src_mac, dst_mac, port_of):
    """The reference bridge alone (`_Walk.ovs_to_pod`) for a frame no walk produces."""
    w = _Walk(c, Packet(1, pod.ip))
    w.src_mac, w.dst_mac, w.vlan = src_mac, dst_mac, pod.vlan
    try:
        w.ovs_to_pod(pod, c.node(pod.node))
        return {(port_of[pod.key], None)}, w.res.hops, None
    except _Verdict as v:
        hops = w.res.hops
        gone = hops[-1].kind is DeviceKind.POD  # flooded to the pod, whose stack discarded it
        return ({(port_of[pod.key], None)} if gone else set()), hops, v


@pytest.mark.parametrize("dst", [BROADCAST_MAC, 0x02_00_DE_AD_BE_EF, 0x01_00_5E_00_00_FB, 0x01_80_C2_00_00_00,
                                 0x01_00_0C_CC_CC_CC, 0x00_E0_2B_00_00_06], ids=mac_to_str)
def test_frames_from_the_trunk_that_no_walk_produces(bridge, seed, dst):
    """Unknown unicast floods to the pod's port, the only other one in its VLAN (and the pod's
    stack discards it); broadcast and multicast too; reserved MACs are dropped."""
    dns = seed.pod("kube-system/kube-dns")
    rm = seed.settings.router_mac
    out, text = bridge.trace(TRUNK, rm, dst, vlan=dns.vlan)
    want = set() if dst in OVS_RESERVED_MACS else {(bridge.port_of[dns.key], None)}
    assert out == want, text
    ref, hops, v = _reference_bridge_from_trunk(seed, dns, rm, dst, bridge.port_of)
    assert ref == out, [h.result for h in hops]
    if dst in OVS_RESERVED_MACS:
        assert (v.reason, v.device) == (Reason.RESERVED_MAC, "ovs@worker-1")
    else:
        assert (v.reason, v.device, v.kind) == (Reason.UNKNOWN_MAC, dns.key, DeviceKind.POD)
        assert "flooded in the VLAN -> the pod port of kube-system/kube-dns" in hops[-2].result
        assert hops[-1].result.endswith("is not its MAC (02:00:00:00:00:01): discarded")
