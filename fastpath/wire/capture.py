"""`fastpath capture`: run traffic through the model and write what one wire carried to a pcap.

Chunk by chunk: generate packets (a profile, or uniform pod -> pod), forward them with the
tunnel-leg log, rebuild the frames at the observation point (`observe.on_wire`), encode them
(`codec.encode`) and append them to the pcap (`pcap.PcapWriter`). Memory stays flat.

Timestamps are synthetic and reproducible (`pcap.START_NS` and on; a run whose stamps would pass
pcap's u32 seconds is refused before it starts): packet k of the run is sent at ``start_ns + k *
1e9 / pps`` (default: 2026-01-01T00:00:00Z, 1 Mpps) and the frames of one packet follow
each other by 1 ns along its path — the same seed gives the same file, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..dataplane.api import Dataplane
from ..model.cluster import Cluster
from ..traffic import uniform_pod_to_pod
from ..verdicts import Reason, Verdict, count_line
from .codec import encode
from .observe import POINTS, on_wire
from .pcap import START_NS, TS_END_NS, PcapWriter, last_stamp_ns



@dataclass
class CaptureReport:
    at: str
    packets: int
    frames: int = 0
    bytes: int = 0  # frame bytes (orig lengths), without pcap headers
    verdicts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    path: str = ""

    def __str__(self) -> str:
        to = f" to {self.path}" if self.path else ""
        return (f"{self.frames:,} frames ({self.bytes:,} bytes) seen at {self.at} from {self.packets:,} packets{to}; "
                f"verdicts: {count_line(self.verdicts, self.reasons)}")

    def as_dict(self) -> dict:
        return {"at": self.at, "packets": self.packets, "frames": self.frames, "bytes": self.bytes,
                "verdicts": self.verdicts, "reasons": self.reasons, "path": self.path}


def capture(cluster: Cluster, at: str, dest, *, packets: int, profile=None, seed: int = 0, chunk: int = 1 << 18,
            nanosecond: bool = False, snaplen: int = 262144, start_ns: int = START_NS, pps: float = 1e6,
            threads: int = 1, dataplane: Dataplane | None = None, accumulator=None,
            progress: Callable[[int], None] | None = None, on_frames=None) -> CaptureReport:
    """Forward ``packets`` packets and write the frames of wire ``at`` to ``dest`` (a path or a
    binary file). ``on_frames(capture, batch, run)``, when given, sees every chunk's frames."""
    if at not in POINTS:
        raise ValueError(f"observation point {at!r} is not one of {', '.join(POINTS)}")
    if not pps > 0 or pps == float("inf"):
        raise ValueError(f"pps {pps} must be a finite number > 0")
    last = last_stamp_ns(packets, pps, start_ns)
    if last >= TS_END_NS:
        raise ValueError(f"pps {pps:g}: {packets:,} packets from {start_ns} ns are stamped past 2106, "
                         "beyond pcap's u32 seconds")
    dp = dataplane or Dataplane(cluster)
    counters = dp.new_counters(threads)
    batches = (profile.batches(cluster, packets, seed=seed, chunk=chunk) if profile is not None
               else uniform_pod_to_pod(cluster, packets, seed=seed, chunk=chunk))
    rep = CaptureReport(at=at, packets=packets, path=str(getattr(dest, "name", dest)))
    gap = 1e9 / pps
    done = 0
    scratch = None  # the frame buffer, reused from chunk to chunk (no fresh pages to fault in)
    with PcapWriter(dest, nanosecond=nanosecond, snaplen=snaplen) as out:
        for batch in batches:
            run = dp.forward(batch, threads=threads, counters=counters, legs=True)
            if accumulator is not None:
                accumulator.add(run, batch)
            cap = on_wire(cluster, dp.tables, batch, run, at, first=done)
            buf, offsets = encode(cap.frames, out=scratch)
            if scratch is None or buf.base is not scratch:
                scratch = buf if buf.base is None else buf.base
            out.write(buf, offsets, _timestamps(cap.packet, done, start_ns, gap))
            if on_frames is not None:
                on_frames(cap, batch, run)
            rep.frames += cap.frames.size
            rep.bytes += int(offsets[-1])
            done += batch.size
            if progress is not None:
                progress(batch.size)
    total = counters.verdicts.sum(axis=0)
    reasons = counters.reasons.sum(axis=0)
    rep.verdicts = {v.label: int(total[v]) for v in Verdict}
    rep.reasons = {r.label: int(reasons[r]) for r in Reason if r is not Reason.NONE and reasons[r]}
    return rep


def _timestamps(packet: np.ndarray, first: int, start_ns: int, gap: float) -> np.ndarray:
    """int64 ns: packet (first + p) at start + (first + p) * gap, its k-th frame k ns later."""
    if packet.size == 0:
        return np.zeros(0, np.int64)
    new = np.ones(packet.size, bool)
    new[1:] = packet[1:] != packet[:-1]
    group_start = np.maximum.accumulate(np.where(new, np.arange(packet.size), 0))
    k = np.arange(packet.size) - group_start
    return start_ns + np.round((first + packet) * gap).astype(np.int64) + k
