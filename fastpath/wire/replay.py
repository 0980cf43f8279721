"""`fastpath replay`: push the frames of a pcap through the model, chunk by chunk.

Each frame becomes one packet, entering the model where its sender lives:

- its source MAC is a pod's: that pod's eth0. A VLAN tag equal to the pod's own is the one
  OVS put on the trunk (a capture at ``uplink``) and is taken off; any other tag stays, and
  the model drops the frame as a pod would never send it (``unknown-vlan``);
- a node's MAC: that node, tag as captured;
- neither, not the router MAC, and a source IP no logical port owns: the physical network
  behind a T0 uplink (the uplink whose next hop's MAC it is — `observe.peer_mac` — else the
  first);
- a Geneve frame (UDP 6081) is replayed as its inner frame, by the same rules.

Everything else gets one verdict too, ``dropped``/``malformed``, and is counted by cause:
frames the decoder rejects (`codec.MALFORMED`: truncated, not IPv4, bad IPv4 header / length /
checksum, a fragment, bad Geneve, a wrong TCP / UDP / ICMP checksum) and ``no-sender`` — a
frame no endpoint of the model sent, such as one a router already forwarded (source MAC = the
router MAC). The first frame numbers of each cause are kept for the report (numbered from 1,
as Wireshark shows them). A pcap that is itself broken (truncated, wrong magic) stops the
replay with `PcapError`; the frames before the break are replayed and reported first
(`ReplayReport.error`).

Checksums. A frame whose bytes were damaged on the way to the file would otherwise be
forwarded as whatever its damaged fields say — another port, another pod — and change a
verdict without a word. So by default the L4 checksums are verified as the IPv4 header's
always is: TCP, ICMP, UDP unless its checksum is 0 ("none"), and for Geneve the outer UDP
one (unless 0) as well as the inner frame's; a wrong one is the frame's cause of malformation
(``l4-checksum``, ``outer-udp-checksum``). ``verify_checksums=False`` (``fastpath replay
--ignore-checksums``) accepts them: captures taken on the sending host with checksum offload
hold frames whose L4 checksum the NIC had not yet filled in (a partial checksum — of the
pseudo-header only — or garbage), and every such frame would otherwise be malformed. A frame
the capture cut short (snaplen) cannot be checked: it is forwarded as before, as far as its
headers go, and counted in ``unverified``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._jit import kernel
from ..compile.bundle import Tables
from ..dataplane.api import Dataplane
from ..model.cluster import Cluster
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, PacketBatch
from ..tables import exact
from ..verdicts import Reason, Verdict, count_line
from .codec import MALFORMED, Decoded, decode
from .observe import peer_mac
from .pcap import FILE_HEADER, PcapError, PcapReader

NO_SENDER = len(MALFORMED)
CAUSES = (*MALFORMED, "no-sender")
EXAMPLES = 3
"""First frame numbers kept per malformed cause."""


@dataclass
class ReplayReport:
    frames: int = 0
    geneve: int = 0  # frames that were Geneve, replayed as their inner frame
    malformed: dict[str, int] = field(default_factory=dict)  # cause -> frames
    examples: dict[str, list[int]] = field(default_factory=dict)  # cause -> first frame numbers (from 1)
    verdicts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # read + decode + forward
    error: str | None = None
    verify_checksums: bool = True
    unverified: int = 0  # frames forwarded whose L4 checksum the capture's snaplen cut off

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        bad = "; ".join(f"{cause} {n:,} (first: frame {', '.join(map(str, self.examples.get(cause, [])))})"
                        for cause, n in self.malformed.items()) or "none"
        text = (f"{self.frames:,} frames replayed ({self.geneve:,} Geneve, as their inner frames); "
                f"verdicts: {count_line(self.verdicts, self.reasons)}; malformed: {bad}")
        return text + (f"; stopped: {self.error}" if self.error else "")

    def as_dict(self) -> dict:
        return {"frames": self.frames, "geneve": self.geneve, "malformed": self.malformed,
                "examples": self.examples, "verdicts": self.verdicts, "reasons": self.reasons,
                "seconds": round(self.seconds, 4), "frames_per_second": round(self.fps), "error": self.error,
                "verify_checksums": self.verify_checksums, "unverified": self.unverified}


class Senders:
    """Who sent a frame, from its addresses (see the module docstring)."""

    def __init__(self, cluster: Cluster, tables: Tables):
        self.n_pods = len(cluster.pods)
        self.port_vlan = np.ascontiguousarray(tables.port_vlan, np.int64)
        self.router_mac = np.uint64(cluster.settings.router_mac)
        # one exact table: (0, MAC) and (1, IP) -> logical port (both unique in a valid cluster)
        n = tables.n_ports
        self._owner = exact.build(np.repeat(np.arange(2, dtype=np.uint64), n),
                                  np.concatenate([tables.port_mac, tables.port_ip]).astype(np.uint64),
                                  np.tile(np.arange(n), 2))
        self._peers = peer_mac(np.array([u.next_hop for u in cluster.uplinks], np.uint32)).astype(np.uint64)

    def batch(self, d: Decoded) -> tuple[PacketBatch, np.ndarray]:
        """The packets of decoded frames, and each frame's malformed cause (0 = none)."""
        n = d.size
        cols = {"ingress_kind": np.empty(n, np.uint8), "ingress_id": np.empty(n, np.int32),
                "vlan": np.empty(n, np.uint16), "ttl": np.empty(n, np.uint8), "length": np.empty(n, np.uint16)}
        cause = np.empty(n, np.uint8)
        _find_senders(d.status, d.src_mac, d.src_ip, d.vlan, d.ttl, d.length, self._owner.buckets,
                      self._owner.seed, self.n_pods, self.port_vlan, self.router_mac, self._peers,
                      NO_SENDER, cols["ingress_kind"], cols["ingress_id"], cols["vlan"], cols["ttl"], cols["length"],
                      cause)
        # a capture says nothing of connection state: every frame is judged as an original (reply 0)
        return PacketBatch(src_mac=d.src_mac, dst_mac=d.dst_mac, src_ip=d.src_ip, dst_ip=d.dst_ip, proto=d.proto,
                           sport=d.sport, dport=d.dport, reply=np.zeros(n, np.uint8), **cols), cause


@kernel
def _find_senders(status, src_mac, src_ip, vlan, ttl, length, buckets, seed, n_pods, port_vlan, router_mac, peers,
                  no_sender, o_kind, o_id, o_vlan, o_ttl, o_length, o_cause):
    """One pass over decoded frames: each frame's sender (the module docstring's rules), or
    its cause of malformation with the data plane's malformed ingress (-1). ``no_sender``: that
    cause's code, an argument (a global would be frozen into the disk-cached kernel)."""
    for i in range(status.shape[0]):
        cause = np.int64(status[i])
        kind = INGRESS_POD
        iid = np.int64(-1)
        tag = np.int64(vlan[i])
        if cause == 0:
            port = exact.get(buckets, seed, 0, src_mac[i])
            if port >= 0 and port < n_pods:
                iid = port
                if tag == port_vlan[port]:  # the tag OVS put on the trunk
                    tag = 0
            elif port >= 0:
                kind = INGRESS_NODE
                iid = port - n_pods
            elif src_mac[i] != router_mac and peers.shape[0] > 0 and exact.get(buckets, seed, 1, src_ip[i]) < 0:
                kind = INGRESS_UPLINK
                iid = 0
                for u in range(peers.shape[0] - 1, -1, -1):
                    if src_mac[i] == peers[u]:
                        iid = u
            else:
                cause = no_sender
        o_cause[i] = cause
        o_kind[i] = kind
        if cause == 0:
            o_id[i] = iid
            o_vlan[i] = tag
            o_ttl[i] = ttl[i]
            o_length[i] = length[i]
        else:  # the data plane's own malformed verdict, whatever the fields
            o_id[i] = -1
            o_vlan[i] = 0
            o_ttl[i] = 64
            o_length[i] = 64


def replay(cluster: Cluster, src, *, dataplane: Dataplane | None = None, threads: int = 1, accumulator=None,
           chunk_bytes: int = 1 << 22, progress: Callable[[int], None] | None = None,
           verify_checksums: bool = True) -> ReplayReport:
    """Replay every frame of the pcap ``src`` (path or binary file); see the module docstring.
    ``progress(n)`` is called with the bytes of the file each chunk held. ``verify_checksums``:
    a frame with a wrong L4 checksum is malformed (True) or forwarded as it reads (False)."""
    dp = dataplane or Dataplane(cluster)
    senders = Senders(cluster, dp.tables)
    counters = dp.new_counters(threads)
    rep = ReplayReport(verify_checksums=verify_checksums)
    causes = np.zeros(len(CAUSES), np.int64)
    t0 = time.perf_counter()
    try:
        with PcapReader(src, chunk_bytes=chunk_bytes, reuse=True) as reader:
            if progress is not None:
                progress(FILE_HEADER)
            for chunk in reader:
                d = decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len, verify_checksums=verify_checksums)
                batch, cause = senders.batch(d)
                run = dp.forward(batch, threads=threads, counters=counters,
                                 **(accumulator.forward_options if accumulator is not None else {}))
                if accumulator is not None:
                    accumulator.add(run, batch)
                rep.frames += batch.size
                rep.geneve += int(np.count_nonzero(d.encap & (cause == 0)))
                rep.unverified += int(np.count_nonzero(d.unverified & (cause == 0)))
                causes += np.bincount(cause, minlength=len(CAUSES))
                for c in np.flatnonzero(causes[1:]) + 1:
                    ex = rep.examples.setdefault(CAUSES[c], [])
                    if len(ex) < EXAMPLES:
                        ex += (chunk.first + 1 + np.flatnonzero(cause == c)[: EXAMPLES - len(ex)]).tolist()
                if progress is not None:
                    progress(chunk.buf.size)
    except PcapError as exc:
        rep.error = str(exc)
    rep.seconds = time.perf_counter() - t0
    rep.malformed = {CAUSES[c]: int(causes[c]) for c in range(1, len(CAUSES)) if causes[c]}
    total = counters.verdicts.sum(axis=0)
    reasons = counters.reasons.sum(axis=0)
    rep.verdicts = {v.label: int(total[v]) for v in Verdict}
    rep.reasons = {r.label: int(reasons[r]) for r in Reason if r is not Reason.NONE and reasons[r]}
    return rep
