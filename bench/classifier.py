#!/usr/bin/env python
"""The DFW classifier (`fastpath.tables.classifier`) at 0 / 100 / 1,000 / 10,000 / 100,000 rows.

    python bench/classifier.py            # 1M lookups a point, best of 7
    python bench/classifier.py --quick    # 200k lookups a point, best of 3

Two rule shapes, the table chosen per packet:

- ``netpol``: NetworkPolicy compiled per port class: ~15 rows a table (6,600 tables at 100k
  rows): /32 pod peers and namespace /24 peers on TCP/UDP ports and ranges, ipBlock peers with
  ``except`` expanded by `prefixes_minus` (``0.0.0.0/0 except 10.0.0.0/8``: 8 prefixes;
  ``172.16.0.0/12 except`` a /24: 12 prefixes), and the terminal catch-all (the isolation deny)
  last. Packets: 60% to a random pod, 20% to a pod the table lists, 20% to a random address;
  TCP 70% / UDP 20% / ICMP 10%; ports mostly the rules' own.
- ``admin``: `fastpath.model.generate`'s dfw_rules shape: rules between random pairs of 100
  namespace /24s (table = the local namespace, key = the remote one), proto any / TCP / UDP,
  a random port range up to 100 wide. Packets: a random namespace's table, an address in a
  random namespace, TCP/UDP/ICMP, a random port.
- ``ports``: adversarial for the row stage: 60 port rules on each of 5 namespace /24s a table
  (lists of up to ~190 words: the case the (proto, port) index is for).

Columns: the classifier (`classify_bulk`, one thread); the same without the (proto, port)
index of long lists (``index_at`` huge: plain scans); the design first suggested, one exact-hash
probe per prefix length of the table, longest first, on the same merged lists (``hash/len``);
the linear scan (`fastpath.tables.dfw.first_match` style: every row, its table compared first)
on fewer packets at the big sizes; a random 64-bit gather over an array of the classifier's
byte size (one cache miss, nothing else: the memory system's rate). Answers of all four
lookups are checked equal before timing. Rates: the best of interleaved rounds (each round
runs every variant once). Build: best of 3, compile excluded (numba cache warm).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
if str(BENCH.parent) not in sys.path:
    sys.path.insert(0, str(BENCH.parent))

import baselines  # noqa: E402
import numpy as np  # noqa: E402

from fastpath._jit import kernel  # noqa: E402
from fastpath.tables import classifier as C  # noqa: E402
from fastpath.tables import exact  # noqa: E402

SIZES = (0, 100, 1_000, 10_000, 100_000)
TCP, UDP, ICMP = 6, 17, 1
POD_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
ALL = (0, 65535)


# ---- rule shapes ----------------------------------------------------------------------------------
def pod_ip(ns: np.ndarray, k: np.ndarray) -> np.ndarray:
    return POD_BASE + ns * 256 + 2 + k


def netpol_rules(n: int, rng: np.random.Generator):
    """(columns, n_tables, per-table listed pod IPs) with exactly n rows."""
    n_ns = max(4, n // 250)
    blocks = [C.prefixes_minus(ipaddress.IPv4Network("0.0.0.0/0"), [ipaddress.IPv4Network("10.0.0.0/8")]),
              C.prefixes_minus(ipaddress.IPv4Network("172.16.0.0/12"), [ipaddress.IPv4Network("172.16.5.0/24")])]
    port_rules = [(TCP, 80, 80), (TCP, 443, 443), (TCP, 5432, 5432), (TCP, 8000, 8100), (UDP, 53, 53), (0, *ALL)]
    rows: list[tuple] = []
    listed: list[list[int]] = []
    t = 0
    while len(rows) < n:
        mine: list[int] = []
        ports = [port_rules[i] for i in rng.choice(len(port_rules), rng.integers(1, 3), replace=False)]
        for _ in range(rng.integers(2, 12)):  # pod peers
            a = int(pod_ip(rng.integers(0, n_ns), rng.integers(0, 250)))
            mine.append(a)
            rows += [(t, a, 32, *p) for p in ports]
        for _ in range(rng.integers(0, 3)):  # namespace peers
            rows += [(t, POD_BASE + int(rng.integers(0, n_ns)) * 256, 24, *p) for p in ports]
        if rng.random() < 0.3:  # an ipBlock peer
            rows += [(t, int(p.network_address), p.prefixlen, TCP, 443, 443) for p in blocks[rng.integers(0, 2)]]
        rows.append((t, 0, 0, 0, *ALL))  # the isolation deny
        listed.append(mine)
        t += 1
    rows = rows[:n]
    n_tables = max(1, rows[-1][0] + 1) if rows else 1
    cols = np.array(rows, np.int64).reshape(-1, 6).T if rows else np.zeros((6, 0), np.int64)
    return cols, n_tables, listed[:n_tables], n_ns


def netpol_packets(m: int, rng: np.random.Generator, n_tables: int, listed, n_ns: int):
    tables = rng.integers(0, n_tables, m)
    u = rng.random(m)
    ips = pod_ip(rng.integers(0, n_ns, m), rng.integers(0, 250, m))
    pick = [lst[int(rng.integers(0, len(lst)))] if lst else 0 for lst in listed]
    ips = np.where((u >= 0.6) & (u < 0.8), np.array(pick, np.int64)[np.minimum(tables, len(pick) - 1)]
                   if pick else ips, ips)
    ips = np.where(u >= 0.8, rng.integers(0, 1 << 32, m), ips)
    protos = rng.choice([TCP] * 7 + [UDP] * 2 + [ICMP], m)
    ports = np.where(rng.random(m) < 0.8, rng.choice([80, 443, 5432, 8050, 53, 22], m), rng.integers(0, 65536, m))
    return tables, ips, protos, ports


def admin_rules(n: int, rng: np.random.Generator):
    n_ns = 100
    a = rng.integers(0, n_ns, n)
    b = rng.integers(0, n_ns, n)
    proto = rng.choice([0, TCP, UDP], n)
    port = rng.integers(1, 65536, n)
    hi = np.minimum(65535, port + rng.integers(0, 100, n))
    lo = np.where(proto == 0, 0, port)
    hi = np.where(proto == 0, 65535, hi)
    cols = np.stack([a, POD_BASE + b * 256, np.full(n, 24), proto, lo, hi]) if n else np.zeros((6, 0), np.int64)
    return cols, n_ns, None, n_ns


def admin_packets(m: int, rng: np.random.Generator, n_tables: int, _listed, n_ns: int):
    tables = rng.integers(0, n_tables, m)
    ips = POD_BASE + rng.integers(0, n_ns, m) * 256 + rng.integers(0, 256, m)
    protos = rng.choice([TCP, UDP, ICMP], m)
    ports = rng.integers(1, 65536, m)
    return tables, ips, protos, ports


def ports_rules(n: int, rng: np.random.Generator):
    """Adversarial for the row stage: ~500 rows a table, most of them port rules on a few
    namespace /24s (60 each: single TCP ports, small TCP/UDP ranges), /32 pods inside with 5
    each, the catch-all last."""
    n_ns = max(4, n // 250)
    rows: list[tuple] = []
    t = 0
    while len(rows) < n:
        for _ in range(5):
            net = POD_BASE + int(rng.integers(0, n_ns)) * 256
            for _ in range(60):
                p = int(rng.choice([TCP, TCP, UDP]))
                lo = int(rng.integers(1, 65536))
                rows.append((t, net, 24, p, lo, lo if rng.random() < 0.7 else min(65535, lo + int(rng.integers(1, 50)))))
            for _ in range(20 // 5):
                a = net + 2 + int(rng.integers(0, 250))
                rows += [(t, a, 32, TCP, q, q) for q in rng.integers(1, 65536, 5)]
        rows.append((t, 0, 0, 0, *ALL))
        t += 1
    rows = rows[:n]
    n_tables = max(1, rows[-1][0] + 1) if rows else 1
    cols = np.array(rows, np.int64).reshape(-1, 6).T if rows else np.zeros((6, 0), np.int64)
    return cols, n_tables, None, n_ns


def ports_packets(m: int, rng: np.random.Generator, n_tables: int, _listed, n_ns: int):
    tables = rng.integers(0, n_tables, m)
    ips = pod_ip(rng.integers(0, n_ns, m), rng.integers(0, 250, m))
    protos = rng.choice([TCP, TCP, UDP, ICMP], m)
    ports = rng.integers(0, 65536, m)
    return tables, ips, protos, ports


SHAPES = {"netpol": (netpol_rules, netpol_packets), "admin": (admin_rules, admin_packets),
          "ports": (ports_rules, ports_packets)}


# ---- the alternatives -----------------------------------------------------------------------------
@kernel
def linear_bulk(tab, net, mask, rproto, lo, hi, tables, ips, protos, ports, out):
    """`fastpath.tables.dfw.first_match`'s scan over the same rows, the table compared first."""
    for i in range(out.shape[0]):
        t = tables[i]
        ip = ips[i]
        proto = protos[i]
        port = ports[i]
        res = -1
        for k in range(tab.shape[0]):
            if tab[k] != t or (ip & mask[k]) != net[k]:
                continue
            rp = rproto[k]
            if rp != 0 and rp != proto:
                continue
            if proto == 6 or proto == 17 or proto == 132:
                if port < lo[k] or port > hi[k]:
                    continue
            elif lo[k] != 0 or hi[k] != 65535:
                continue
            res = k
            break
        out[i] = res


@kernel
def hash_per_length_bulk(buckets, seed, lengths, node_first, rules, tables, ips, protos, ports, out):
    """One exact probe per prefix length of the packet's table, longest first; the first hit's
    merged list is scanned (the design first suggested for the classifier)."""
    for i in range(out.shape[0]):
        t = tables[i]
        res = -1
        if 0 <= t < lengths.shape[0]:
            bits = lengths[t]
            ip = np.uint64(ips[i]) & np.uint64(0xFFFF_FFFF)
            for L in range(32, -1, -1):
                if (bits >> np.uint64(L)) & np.uint64(1):
                    key = ip & ((np.uint64(0xFFFF_FFFF) << np.uint64(32 - L)) & np.uint64(0xFFFF_FFFF))
                    v = exact.get(buckets, seed, (np.uint64(t) << np.uint64(6)) | np.uint64(L), key)
                    if v >= 0:
                        res = C.scan(rules, node_first[v], protos[i], ports[i])
                        break
        out[i] = res


def hash_per_length(cols, n_tables):
    cls, (p_table, p_start, p_len, node_first) = C._compile(*cols, n_tables)
    ex = exact.build((p_table << 6) | p_len, p_start, np.arange(p_table.shape[0]), max_load=0.9)
    lengths = np.zeros(n_tables, np.uint64)
    np.bitwise_or.at(lengths, p_table, np.left_shift(np.uint64(1), p_len.astype(np.uint64)))
    return cls, (ex.buckets, ex.seed, lengths, node_first, cls["cls_rules"]), ex.nbytes + lengths.nbytes


# ---- timing ---------------------------------------------------------------------------------------
def best(fn, reps: int) -> float:
    t = []
    for _ in range(reps):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return min(t)


def run_point(shape: str, n: int, m: int, reps: int, seed: int = 0) -> dict:
    rng = np.random.default_rng([seed, n, len(shape)])
    make_rules, make_packets = SHAPES[shape]
    cols, n_tables, listed, n_ns = make_rules(n, rng)
    pk = [np.ascontiguousarray(c, np.int64) for c in make_packets(m, rng, n_tables, listed, n_ns)]
    build_s = best(lambda: C.build(*cols, n_tables), 3)
    cls = C.build(*cols, n_tables)
    st = C.stats(cls)
    arrays = [cls[c] for c in C.COLUMNS]
    out = np.empty(m, np.int64)
    C.classify_bulk(*arrays, *pk, out)
    # no (proto, port) index: plain scans of every list
    plain = C.build(*cols, n_tables, index_at=1 << 40)
    parrays = [plain[c] for c in C.COLUMNS]
    pout = np.empty(m, np.int64)
    C.classify_bulk(*parrays, *pk, pout)
    assert np.array_equal(pout, out), "the unindexed build disagrees with the classifier"
    # hash per length, same lists
    _, hargs, h_extra = hash_per_length(cols, n_tables)
    hout = np.empty(m, np.int64)
    hash_per_length_bulk(*hargs, *pk, hout)
    assert np.array_equal(hout, out), "hash-per-length disagrees with the classifier"
    # linear scan on fewer packets at the big sizes (~1e8 row visits a pass)
    ml = max(500, min(m, int(1e8 // max(n, 1))))
    plen = cols[2]
    lin = (cols[0], cols[1] & ((0xFFFF_FFFF << (32 - plen)) & 0xFFFF_FFFF), (0xFFFF_FFFF << (32 - plen)) & 0xFFFF_FFFF,
           cols[3], cols[4], cols[5])
    lout = np.empty(ml, np.int64)
    lpk = [c[:ml] for c in pk]
    linear_bulk(*lin, *lpk, lout)
    assert np.array_equal(lout, out[:ml]), "linear scan disagrees with the classifier"
    # gather over the classifier's bytes
    arr = baselines.gather_array(st["bytes"])
    idx = baselines.gather_indices(arr, m)
    gout = np.empty(m, np.uint64)
    baselines.random_gather(arr, idx, gout)
    # interleaved rounds, best of each: a shared machine's load drifts between variants otherwise
    runs = {"cls": lambda: C.classify_bulk(*arrays, *pk, out),
            "plain": lambda: C.classify_bulk(*parrays, *pk, pout),
            "hash": lambda: hash_per_length_bulk(*hargs, *pk, hout),
            "linear": lambda: linear_bulk(*lin, *lpk, lout),
            "gather": lambda: baselines.random_gather(arr, idx, gout)}
    t = {k: float("inf") for k in runs}
    for r in range(reps):
        for k, fn in runs.items():
            if k == "linear" and n >= 10_000 and r >= max(1, reps // 2):
                continue
            t[k] = min(t[k], best(fn, 1))
    t_cls, t_plain, t_hash, t_lin, t_gather = t["cls"], t["plain"], t["hash"], t["linear"], t["gather"]
    return {"shape": shape, "rows": n, "tables": n_tables, "hit": float((out >= 0).mean()),
            "cls": m / t_cls, "plain": m / t_plain, "plain_longest": C.stats(plain)["longest_scan"], "hash": m / t_hash, "linear": ml / t_lin, "gather": m / t_gather,
            "build_ms": build_s * 1e3, **st, "hash_bytes": h_extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = ap.parse_args(argv)
    m, reps = (200_000, 3) if args.quick else (1_000_000, 7)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for shape in SHAPES:
        for n in sizes:
            r = run_point(shape, n, m, reps)
            rows.append(r)
            print(f"  {shape} {n}: {r['cls'] / 1e6:.1f} M/s", file=sys.stderr, flush=True)
    print(f"\nDFW classifier, one thread, {m:,} lookups a point, best of {reps}; "
          f"load average {os.getloadavg()[0]:.2f} (2 cores, shared)\n")
    print("| shape | rows | tables | hits | classifier M/s | no port index M/s | hash/len M/s | linear M/s "
          "| gather M/s | cls / linear | cls / gather | build ms | bytes/row | indexed intervals "
          "| longest scan (no index) | mean scan | search steps |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        bpr = f"{r['bytes_per_row']:.1f}" if r["rows"] else f"({r['bytes']} B)"
        print(f"| {r['shape']} | {r['rows']:,} | {r['tables']:,} | {r['hit']:.0%} | {r['cls'] / 1e6:.2f} "
              f"| {r['plain'] / 1e6:.2f} | {r['hash'] / 1e6:.2f} | {r['linear'] / 1e6:.3g} | {r['gather'] / 1e6:.1f} "
              f"| {r['cls'] / r['linear']:.3g}x | {r['cls'] / r['gather']:.2f} | {r['build_ms']:.1f} | {bpr} "
              f"| {r['indexed_intervals']:,} | {r['longest_scan']} ({r['plain_longest']}) | {r['mean_scan']:.1f} "
              f"| {r['search_steps']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
