#!/usr/bin/env python
"""Issue 5's figures: the frame codec, pcap writing, decode + replay — each beside a baseline
measured in the same run.

    python bench/wire.py              # 1M frames a figure
    python bench/wire.py --quick      # 100k frames (seconds)

Rows (one core; best of ``--repeat`` runs after a warm-up):

1. encode — `codec.encode` of pod frames (Ethernet/IPv4/UDP, 100-byte packets) and of
   underlay frames (Geneve + 8 bytes of options around them): frames/s and bytes/s, into a
   reused buffer (every byte written, payload zeros included: a streaming encoder's steady
   state, judged against the target) and into a fresh one (the OS zeroes and maps its pages
   on first touch); against copying the same bytes once (`numpy.copyto`: the memory system's
   rate, the floor of any encoder that writes every byte) and scapy building the frames;
2. pcap write — encode + `PcapWriter.write` to a file on the temp directory's disk, against
   writing the same frame bytes with one plain ``file.write`` (what the disk and page cache
   take); the codec's share of the time says whether the codec or the disk limits;
3. decode + replay — read a pcap of pod frames, decode, find each frame's sender and forward
   it through the seed scenario (`wire.replay`), frames/s, against scapy's ``Ether(bytes)``
   parse of the same frames (decode only) and against `codec.decode` alone.

The target column holds the issue's targets (encode >= 20 M frames/s, decode + replay >= 5 M
frames/s, >= 10,000x scapy); ``met``/``MISSED`` is computed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import numpy as np  # noqa: E402
import run as bench_run  # noqa: E402

from fastpath.dataplane import Dataplane  # noqa: E402
from fastpath.model import default_scenario, from_spec, to_spec  # noqa: E402
from fastpath.traffic import uniform_pod_to_pod  # noqa: E402
from fastpath.wire.codec import decode, encode  # noqa: E402
from fastpath.wire.observe import on_wire  # noqa: E402
from fastpath.wire.pcap import PcapWriter  # noqa: E402
from fastpath.wire.replay import replay  # noqa: E402

ENCODE_TARGET = 20e6
REPLAY_TARGET = 5e6
SCAPY_TARGET = 10_000


def best(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def frames_at(at: str, n: int):
    spec = to_spec(default_scenario())
    spec["cluster"]["geneve_option_bytes"] = 8
    c = from_spec(spec)
    dp = Dataplane(c)
    b = next(uniform_pod_to_pod(c, n, seed=1, chunk=n))
    run = dp.forward(b, legs=True)
    return c, on_wire(c, dp.tables, b, run, at).frames


def scapy_build_rate(frames, k: int = 2000) -> float:
    from scapy.all import IP, UDP, Ether, Raw

    from fastpath.model.addressing import ip_to_str, mac_to_str

    t0 = time.perf_counter()
    for i in range(k):
        bytes(Ether(src=mac_to_str(frames.src_mac[i]), dst=mac_to_str(frames.dst_mac[i]))
              / IP(src=ip_to_str(frames.src_ip[i]), dst=ip_to_str(frames.dst_ip[i]), ttl=int(frames.ttl[i]))
              / UDP(sport=int(frames.sport[i]), dport=int(frames.dport[i])) / Raw(bytes(int(frames.length[i]) - 28)))
    return k / (time.perf_counter() - t0)


def scapy_parse_rate(buf, off, k: int = 2000) -> float:
    from scapy.all import Ether

    t0 = time.perf_counter()
    for i in range(k):
        Ether(bytes(buf[off[i]:off[i + 1]]))
    return k / (time.perf_counter() - t0)


def verdict(x: float, target: float) -> str:
    return "met" if x >= target else "MISSED"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    rows = []

    # 1. encode
    for at in ("pod", "underlay"):
        _, f = frames_at(at, n * (2 if at == "underlay" else 1))
        f = type(f)(*(a[:n] for a in f))
        buf, _ = encode(f)
        reuse = np.empty_like(buf)
        t_fresh = best(lambda f=f: encode(f), args.repeat)
        t_reuse = best(lambda f=f: encode(f, out=reuse), args.repeat)
        dst = np.empty_like(buf)
        t_copy = best(lambda: np.copyto(dst, buf), args.repeat)
        scapy = scapy_build_rate(f) if at == "pod" else None
        for how, t_enc in (("reused buffer", t_reuse), ("fresh buffer", t_fresh)):
            rate = f.size / t_enc
            rows.append((f"encode {at} frames ({buf.size / f.size:.0f} B avg), {how}", f"{rate / 1e6:.1f} M frames/s",
                         f"{buf.size / t_enc / 1e9:.2f} GB/s", f"{t_copy / t_enc:.2f}x a copy of the bytes"
                         + (f"; {rate / scapy:,.0f}x scapy ({scapy:,.0f}/s)" if scapy else ""),
                         f">= 20 M/s: {verdict(rate, ENCODE_TARGET)}" if how == "reused buffer" else
                         "(+ the OS's first touch of fresh pages)"))

    # 2. pcap write
    _, f = frames_at("pod", n)
    buf, off = encode(f)
    ts = np.arange(f.size, dtype=np.int64) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.pcap")

        def write_pcap():
            with PcapWriter(path) as w:
                w.write(*encode(f), ts)

        def write_raw():
            with open(path, "wb") as fh:
                fh.write(buf)

        t_pcap = best(write_pcap, args.repeat)
        t_raw = best(write_raw, args.repeat)
        t_enc = best(lambda: encode(f), args.repeat)
        rows.append(("encode + pcap write, pod frames", f"{f.size / t_pcap / 1e6:.1f} M frames/s",
                     f"{(buf.size + 16 * f.size) / t_pcap / 1e9:.2f} GB/s",
                     f"plain write of the bytes {t_raw / t_pcap:.2f}x the time; codec {t_enc / t_pcap:.0%} of it",
                     "disk-bound" if t_enc < 0.5 * t_pcap else "codec-bound"))

        # 3. decode + replay
        c = default_scenario()
        dp = Dataplane(c)
        with PcapWriter(path) as w:
            w.write(buf, off, ts)
        replay(c, path, dataplane=dp)  # warm
        t_rep = best(lambda: replay(c, path, dataplane=dp), args.repeat)
        t_dec = best(lambda: decode(buf, off[:-1], np.diff(off).astype(np.uint32)), args.repeat)
        scapy = scapy_parse_rate(buf, off)
        rate = f.size / t_rep
        rows.append(("read + decode + replay (seed), pod frames", f"{rate / 1e6:.2f} M frames/s",
                     f"decode alone {f.size / t_dec / 1e6:.1f} M/s",
                     f"{rate / scapy:,.0f}x scapy's parse ({scapy:,.0f}/s)",
                     f">= 5 M/s: {verdict(rate, REPLAY_TARGET)}; >= 10,000x scapy: {verdict(rate / scapy, SCAPY_TARGET)}"))

    head = ("figure", "rate", "bytes / other", "against the baseline", "target")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\n{n:,} frames a figure, best of {args.repeat}; {time.strftime('%Y-%m-%d %H:%M %Z')}; "
          f"{bench_run.machine_line()}\n{bench_run.engine_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
