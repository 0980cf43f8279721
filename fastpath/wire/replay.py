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
checksum, a fragment, bad Geneve) and ``no-sender`` — a frame no endpoint of the model sent,
such as one a router already forwarded (source MAC = the router MAC). The first frame
numbers of each cause are kept for the report (numbered from 1, as Wireshark shows them). A pcap that is itself broken (truncated,
wrong magic) stops the replay with `PcapError`; the frames before the break are replayed and
reported first (`ReplayReport.error`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..compile.bundle import Tables
from ..dataplane.api import Dataplane
from ..model.cluster import Cluster
from ..packets import INGRESS_NODE, INGRESS_POD, INGRESS_UPLINK, PacketBatch, make_batch
from ..tables import exact
from ..verdicts import Reason, Verdict
from .codec import MALFORMED, Decoded, decode
from .observe import peer_mac
from .pcap import PcapError, PcapReader

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

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"frames": self.frames, "geneve": self.geneve, "malformed": self.malformed,
                "examples": self.examples, "verdicts": self.verdicts, "reasons": self.reasons,
                "seconds": round(self.seconds, 4), "frames_per_second": round(self.fps), "error": self.error}


class Senders:
    """Who sent a frame, from its addresses (see the module docstring)."""

    def __init__(self, cluster: Cluster, tables: Tables):
        self.n_pods = len(cluster.pods)
        self.port_vlan = tables.port_vlan
        self.router_mac = np.uint64(cluster.settings.router_mac)
        # one exact table: (0, MAC) and (1, IP) -> logical port (both unique in a valid cluster)
        n = tables.n_ports
        self._owner = exact.build(np.repeat(np.arange(2, dtype=np.uint64), n),
                                  np.concatenate([tables.port_mac, tables.port_ip]).astype(np.uint64),
                                  np.tile(np.arange(n), 2))
        self._peers = peer_mac(np.array([u.next_hop for u in cluster.uplinks], np.uint32))

    def batch(self, d: Decoded) -> tuple[PacketBatch, np.ndarray]:
        """The packets of decoded frames, and each frame's malformed cause (0 = none)."""
        cause = d.status.astype(np.uint8)
        port = exact.lookup_bulk(self._owner, np.zeros(d.size, np.uint64), d.src_mac)
        ok = cause == 0
        is_pod = ok & (port >= 0) & (port < self.n_pods)
        is_node = ok & (port >= self.n_pods)
        outside = ok & (port < 0) & (d.src_mac != self.router_mac) & (self._peers.size > 0)
        maybe = np.flatnonzero(outside)  # an unknown MAC: from outside unless a port owns the IP
        outside[maybe[exact.lookup_bulk(self._owner, np.ones(maybe.size, np.uint64), d.src_ip[maybe]) >= 0]] = False
        cause[ok & ~(is_pod | is_node | outside)] = NO_SENDER
        uplink = np.zeros(d.size, np.int64)
        for u in range(self._peers.size - 1, -1, -1):
            uplink[d.src_mac == self._peers[u]] = u
        kind = np.where(is_node, INGRESS_NODE, np.where(outside, INGRESS_UPLINK, INGRESS_POD))
        iid = np.where(is_pod, port, np.where(is_node, port - self.n_pods, np.where(outside, uplink, -1)))
        own_tag = is_pod & (d.vlan == self.port_vlan[np.clip(port, 0, None)])
        vlan = np.where(own_tag, 0, d.vlan)
        bad = cause != 0  # ingress -1: the data plane's own malformed verdict
        return make_batch(ingress_kind=kind.astype(np.uint8), ingress_id=np.where(bad, -1, iid),
                          src_mac=d.src_mac, dst_mac=d.dst_mac, vlan=np.where(bad, 0, vlan), src_ip=d.src_ip,
                          dst_ip=d.dst_ip, proto=d.proto, sport=d.sport, dport=d.dport,
                          ttl=np.where(bad, 64, d.ttl), length=np.where(bad, 64, d.length)), cause


def replay(cluster: Cluster, src, *, dataplane: Dataplane | None = None, threads: int = 1, accumulator=None,
           chunk_bytes: int = 1 << 24, progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Replay every frame of the pcap ``src`` (path or binary file); see the module docstring."""
    dp = dataplane or Dataplane(cluster)
    senders = Senders(cluster, dp.tables)
    counters = dp.new_counters(threads)
    rep = ReplayReport()
    causes = np.zeros(len(CAUSES), np.int64)
    t0 = time.perf_counter()
    try:
        with PcapReader(src, chunk_bytes=chunk_bytes) as reader:
            for chunk in reader:
                d = decode(chunk.buf, chunk.start, chunk.caplen, chunk.orig_len)
                batch, cause = senders.batch(d)
                run = dp.forward(batch, threads=threads, counters=counters)
                if accumulator is not None:
                    accumulator.add(run, batch)
                rep.frames += batch.size
                rep.geneve += int(np.count_nonzero(d.encap & (cause == 0)))
                causes += np.bincount(cause, minlength=len(CAUSES))
                for c in np.flatnonzero(causes[1:]) + 1:
                    ex = rep.examples.setdefault(CAUSES[c], [])
                    if len(ex) < EXAMPLES:
                        ex += (chunk.first + 1 + np.flatnonzero(cause == c)[: EXAMPLES - len(ex)]).tolist()
                if progress is not None:
                    progress(batch.size)
    except PcapError as exc:
        rep.error = str(exc)
    rep.seconds = time.perf_counter() - t0
    rep.malformed = {CAUSES[c]: int(causes[c]) for c in range(1, len(CAUSES)) if causes[c]}
    total = counters.verdicts.sum(axis=0)
    reasons = counters.reasons.sum(axis=0)
    rep.verdicts = {v.label: int(total[v]) for v in Verdict}
    rep.reasons = {r.label: int(reasons[r]) for r in Reason if r is not Reason.NONE and reasons[r]}
    return rep
