"""The flow cache: a packet of a flow seen before skips the walk and takes its cached outcome.

Why
---
A packet's outcome is a pure function of a few header fields and the compiled tables: which
endpoint it enters by, its VLAN tag, addresses, MACs, and — only when some DFW rule looks at
them — protocol and destination port. Traffic repeats flows, so, as Open vSwitch's datapath
does with its exact-match cache (EMC) in front of the megaflow classifier, the first packet
of a flow walks every stage and leaves its outcome in a hash table; the flow's next packets
are one probe and a copy. Unlike an OVS cache this one can never be stale: the tables do not
change under a `Dataplane` (no learning, no revalidation needed), so cached and walked
packets are equal field for field, and the differential tests hold both to the reference.

Key and conditions
------------------
The key is five words: (source IP, destination IP), (ingress id, ingress kind, VLAN, proto),
source MAC, destination MAC, (reply flag, source and destination port) — proto and ports zeroed
when no DFW rule constrains them and no ECMP route hashes them (``key_l4`` off: a wildcard, as a
megaflow leaves out fields no table looked at; a reply is judged on its source port, hence both). TTL and length are not in the key; they are the entry's *conditions*: the outcome holds
for any TTL above the router hops that decrement it (``ttl_min``) and any length from 28 to
the smallest tunnel MTU on the path (``len_max``). Outcomes that depend on the exact TTL or
length (``ttl-expired``, ``mtu-exceeded``, ``malformed``) are never cached. A packet to a
cluster IP is keyed as kube-proxy translated it: the Service stage runs in the key pass
(`_translated_keys`), so its connections fold into the flows of their backends.

Counters: the recipe, folded per entry
--------------------------------------
A walked packet records what it added to the counters (`common.Recipe`: per-stage in/hits,
routers and segments visited, TEP pairs of its legs). A cache hit adds nothing to the
counters at once: it bumps the entry's packets and bytes. The entry's recipe times those
stats is added to the counters when the entry is evicted or the call ends (`flush`), so a
million hits on a flow cost one fold, as OVS folds per-flow stats into its counters. Every
per-device byte count is a sum of inner lengths (routers, segments, uplinks) or of outer
frames, each the inner length + Geneve overhead + Ethernet: linear in the entry's bytes.

Layout
------
int64[E, 32], two probes (the hash's low and high half), an entry's hot fields (key,
conditions, outcome, stats) on its first two cache lines; `MAX_ENTRIES` entries (4 MB). A
cache is held by one worker of one call at a time and kept by its `Dataplane` between calls
(`Dataplane._take_cache`): its pages stay mapped (fresh ones cost a fault each: at 65k-packet
calls and 2 threads that was most of the call) and its entries stay valid, since the tables never
change; pending stats are folded at the end of every call, so the counters are whole after it.
Results never depend on what a cache holds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._jit import kernel, prefetch_row
from ...tables.exact import mix64
from ...tables.lines import zeros_on_lines, zeros_own_lines
from ...tables.services import service_port
from . import service
from .common import (ETH_HEADER, K_POD, K_UPLINK, MAX_LEGS, MAX_ROUTER_VISITS, MAX_SEGMENT_VISITS, MIN_IP_PACKET, OVERFLOW,
                     R_MALFORMED, R_MTU, R_TTL, S_ENCAP, S_L2, S_ROUTE, STAGES, V_EXITED, key_at, make_keys, stage_count)

MAX_ENTRIES = 1 << 14
"""Entries of a worker's cache at most (2 MB of hot lines, 4 MB in all: L3-resident)."""
WORDS = 32
# entry words
E_K0, E_K1, E_K2, E_K3, E_K4 = range(5)
E_TTL_MIN = 5  # 0 = empty
E_LEN_MAX = 6
E_OUT = 7  # verdict | reason << 8 | dev_kind << 16 | via_edge << 24 | n_tunnels << 32 | hops << 40 | n_dec << 48
E_DEV, E_EGRESS, E_LAST_VNI, E_TUN_SRC, E_TUN_DST = 8, 9, 10, 11, 12
E_PACKETS, E_BYTES = 13, 14  # stats not yet folded into the counters
E_ST_IN, E_ST_HIT = 15, 16
E_ROUTERS = 17
E_SEGMENTS = E_ROUTERS + MAX_ROUTER_VISITS
E_TEPS = E_SEGMENTS + MAX_SEGMENT_VISITS
E_DFW = E_TEPS + MAX_LEGS  # dfw_at_src (low 32 bits) | dfw_at_dst << 32
assert E_DFW < WORDS
N_STAGES = len(STAGES)
_M8 = np.uint64(0xFF)
_C1, _C2, _C3, _C4 = (np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                             0xD6E8FEB86659FD93))
_M32 = np.uint64(0xFFFF_FFFF)


class FlowCache(NamedTuple):
    entries: np.ndarray  # int64[E, WORDS]
    dirty: np.ndarray  # int64[2E] — entries whose stats are pending (an entry may appear twice)
    state: np.ndarray  # int64[5] — indexed by DIRTY, KEY_L4, HITS, SKIP, NEXT_SKIP
    keys: np.ndarray  # uint64[KEY_ROWS * KEY_STRIDE] — per slot of the vector, a word of each row
    # (`common.key_at`): its key words, hash and (services) what the service stage found


DIRTY, KEY_L4, HITS, SKIP, NEXT_SKIP = range(5)
"""`FlowCache.state`: entries in the dirty list, whether the key holds proto and port, hits so
far, vectors still to skip (`backoff`), vectors the next miss-streak skips."""


def make_flow_cache(key_l4: bool) -> FlowCache:
    """A cache of `MAX_ENTRIES`, for vectors of at most `common.VECTOR` packets."""
    state = zeros_own_lines(5, np.int64)  # (written every vector: on lines no other worker's array shares)
    state[KEY_L4] = int(key_l4)
    state[NEXT_SKIP] = 1
    return FlowCache(zeros_on_lines((MAX_ENTRIES, WORDS), np.int64), np.zeros(2 * MAX_ENTRIES, np.int64), state,
                     make_keys())


@kernel(inline="always")
def _key_words(src_ip, dst_ip, ingress_id, ingress_kind, vlan, proto, sport, dport, reply, src_mac, dst_mac, key_l4,
               out, k):
    """The flow key of a packet with these header fields into rows 0-4 of slot k of the key
    scratch ``out`` (`common.key_at`), its hash into row 5."""
    k0 = np.uint64(src_ip) | (np.uint64(dst_ip) << np.uint64(32))
    k1 = (np.uint64(np.uint32(ingress_id)) | (np.uint64(ingress_kind) << np.uint64(32))
          | (np.uint64(vlan) << np.uint64(40)))
    k4 = np.uint64(reply != 0) << np.uint64(32)
    if key_l4:
        k1 |= np.uint64(proto) << np.uint64(56)
        k4 |= np.uint64(dport) | (np.uint64(sport) << np.uint64(16))
    k2 = np.uint64(src_mac)
    k3 = np.uint64(dst_mac)
    out[key_at(0, k)] = k0
    out[key_at(1, k)] = k1
    out[key_at(2, k)] = k2
    out[key_at(3, k)] = k3
    out[key_at(4, k)] = k4
    # one finalizer over a multiply-xor of the words: a short dependency chain (the full key is
    # compared on a probe, so a collision here only shares buckets)
    out[key_at(5, k)] = mix64(k0 ^ (k1 * _C1) ^ (k2 * _C2) ^ (k3 * _C3) ^ (k4 * _C4))


@kernel(inline="always")
def _key(b, i, key_l4, out, k):
    """The flow key of packet i (`_key_words`)."""
    _key_words(b.src_ip[i], b.dst_ip[i], b.ingress_id[i], b.ingress_kind[i], b.vlan[i], b.proto[i], b.sport[i],
               b.dport[i], b.reply[i], b.src_mac[i], b.dst_mac[i], key_l4, out, k)


@kernel(inline="always")
def _usual_vector(b, sv, base, m, vip, proto, port, sp, key_l4, keys):
    """The usual vector (`_translated_keys`) to a service port with at most
    `service.SELECT_MAX` backends, in one loop of SIMD lanes: each packet's rules and hash
    (`service.vector_one`), its backend's row by selects among the port's few rows, read
    before the loop (`service.select_row`: a gather would keep the loop scalar), and its key
    as translated. Writes rows 0-8 of the key scratch, row 7 the outputs (`_select_outputs`:
    the backend's logical port | service << 32, all ones untranslated). Returns what
    `service.pick_vector` returns: if > 0 the caller takes the general path, which writes
    every slot again."""
    st = sv.st
    r0, r1, r2, r3 = service.select_rows(st, sp)
    nb = np.uint64(st.sp_first[sp + 1]) - r0
    d0, d1, d2, d3 = (service.row_words(st, r0), service.row_words(st, r1), service.row_words(st, r2),
                      service.row_words(st, r3))
    l0, l1, l2, l3 = (np.uint64(np.uint32(st.be_lport[r0])), np.uint64(np.uint32(st.be_lport[r1])),
                      np.uint64(np.uint32(st.be_lport[r2])), np.uint64(np.uint32(st.be_lport[r3])))
    svw = np.uint64(np.uint32(st.sp_service[sp])) << np.uint64(32)
    mac = sv.router_mac
    bad = 0
    for k in range(m):
        i = np.uint64(base + k)
        no, yes, h = service.vector_one(b, i, sv, vip, proto, port)
        bad += no
        j = (h * nb) >> np.uint64(32)
        y = np.uint64(0) - np.uint64(yes)  # (masks, not ``if``: no branch)
        d = (service.select_row(j, d0, d1, d2, d3) & y) \
            | ((np.uint64(b.dst_ip[i]) | (np.uint64(b.dport[i]) << np.uint64(32))) & ~y)
        dport = np.uint16(d >> np.uint64(32))
        dst_mac = b.dst_mac[i]  # (a pod's stack sent the cluster IP to its gateway:)
        dst_mac = mac if yes & (b.ingress_kind[i] == K_POD) & (dst_mac == 0) else dst_mac
        _key_words(b.src_ip[i], np.uint32(d & _M32), b.ingress_id[i], b.ingress_kind[i], b.vlan[i], b.proto[i],
                   b.sport[i], dport, b.reply[i], b.src_mac[i], dst_mac, key_l4, keys, k)
        keys[key_at(6, k)] = service.TRANSLATED if yes else service.NOT_TRANSLATED
        keys[key_at(7, k)] = ((service.select_row(j, l0, l1, l2, l3) | svw) & y) | ~y  # (-1, -1 untranslated)
        keys[key_at(8, k)] = np.uint64(b.sport[i]) | (np.uint64(dport) << np.uint64(16))
    return bad


@kernel(inline="always")
def _select_outputs(o, base, m, keys):
    """``o.service`` and ``o.backend`` of `_usual_vector`'s packets, from row 7 of the key
    scratch (in a loop of its own: with three arrays to store to, `_usual_vector`'s loop
    needed too many runtime overlap checks, and the compiler left it scalar)."""
    for k in range(m):
        i = np.uint64(base + k)
        w = keys[key_at(7, k)]
        o.backend[i] = np.int32(np.uint32(w & _M32))
        o.service[i] = np.int32(np.uint32(w >> np.uint64(32)))


@kernel(inline="always")
def _translated_keys(b, o, cn, sv, base, m, key_l4, keys):
    """Kube-proxy's translation (`service`) in the key pass: each packet's key is that of its
    columns as the engines must see them, and ``o.service``/``o.backend`` of every packet. A
    miss's translated ports are kept in row 8 of the key scratch (`common.key_at`) for
    `translated_misses` to write for the walk. Returns the ``no-endpoint`` drops (row 6 says
    which). Four ways through a vector:

    - no packet in the service range (the first scan finds none): the plain keys;
    - the usual vector to a cluster IP — every packet in the range an original to the first
      one's cluster IP and port, which has backends:
      - at most `service.SELECT_MAX` of them (a Service's usual few replicas):
        `_usual_vector`, one loop of SIMD lanes, and `_select_outputs`;
      - more: `service.pick_vector` picks the backends in SIMD lanes, a short loop reads their
        rows (row 9: address | port << 32), and the keys are made from them in SIMD lanes too;
    - any other (replies, several cluster IPs, no endpoint): the per-packet forms, in two
      passes (the backends, then the keys).

    Indices are unsigned throughout: a signed one carries numba's negative-index wraparound,
    which keeps a loop out of SIMD (bench/RESULTS.md, issue 12)."""
    st = sv.st
    first = -1
    if service.in_range(b, np.uint64(base), st):  # (the usual vector's first packet is)
        first = 0
    else:
        n_in = 0
        for k in range(m):  # (a count, not a search: it runs in SIMD lanes)
            n_in += service.in_range(b, np.uint64(base + k), st)
        for k in range(m if n_in > 0 else 0):
            if service.in_range(b, np.uint64(base + k), st):
                first = k
                break
    if first < 0:
        for k in range(m):
            i = np.uint64(base + k)
            o.service[i] = -1
            o.backend[i] = -1
        for k in range(m):
            i = np.uint64(base + k)
            _key(b, i, key_l4, keys, k)
            keys[key_at(6, k)] = service.NOT_TRANSLATED
            keys[key_at(8, k)] = np.uint64(b.sport[i]) | (np.uint64(b.dport[i]) << np.uint64(16))
        return 0
    i0 = np.uint64(base + first)
    sp0 = np.int64(-1)
    if b.reply[i0] == 0:
        sp0 = service_port(st, b.dst_ip[i0], b.proto[i0], b.dport[i0])
    nb = np.int64(st.sp_first[sp0 + 1] - st.sp_first[sp0]) if sp0 >= 0 else np.int64(0)
    vip, proto, port = b.dst_ip[i0], b.proto[i0], b.dport[i0]
    if 0 < nb <= service.SELECT_MAX and _usual_vector(b, sv, base, m, vip, proto, port, sp0, key_l4, keys) == 0:
        _select_outputs(o, base, m, keys)
        return 0
    if nb > service.SELECT_MAX and service.pick_vector(b, sv, base, m, vip, proto, port, sp0, keys) == 0:
        svc0 = st.sp_service[sp0]
        for k in range(m):
            i = np.uint64(base + k)
            if keys[key_at(6, k)] == service.TRANSLATED:
                be = keys[key_at(7, k)] & _M32
                o.service[i] = svc0
                o.backend[i] = st.be_lport[be]
                keys[key_at(9, k)] = service.row_words(st, be)
            else:
                o.service[i] = -1
                o.backend[i] = -1
                keys[key_at(9, k)] = np.uint64(b.dst_ip[i]) | (np.uint64(b.dport[i]) << np.uint64(32))
        for k in range(m):
            i = np.uint64(base + k)
            dst_mac = b.dst_mac[i]
            if keys[key_at(6, k)] == service.TRANSLATED and b.ingress_kind[i] == K_POD and dst_mac == 0:
                dst_mac = sv.router_mac  # (a pod's stack sent the cluster IP to its gateway)
            d = keys[key_at(9, k)]
            dport = np.uint16(d >> np.uint64(32))
            _key_words(b.src_ip[i], np.uint32(d & _M32), b.ingress_id[i], b.ingress_kind[i], b.vlan[i], b.proto[i],
                       b.sport[i], dport, b.reply[i], b.src_mac[i], dst_mac, key_l4, keys, k)
            keys[key_at(8, k)] = np.uint64(b.sport[i]) | (np.uint64(dport) << np.uint64(16))
        return 0
    last_ip = np.uint32(0)  # the last (address, proto, port) and its service port: runs are common
    last_pp = np.int64(-1)
    last_sp = np.int64(-1)
    for k in range(m):
        i = np.uint64(base + k)
        s = service.NOT_TRANSLATED
        be = np.int64(-1)
        lport, ip, pp = service.service_key(b, i, st, sv.n_pods, sv.n_nodes)
        if lport >= 0:
            if ip != last_ip or pp != last_pp:
                last_ip, last_pp, last_sp = ip, pp, service_port(st, ip, pp >> 16, pp & 0xFFFF)
            if last_sp >= 0:
                s, be = service.pick_one(b, i, st, last_sp, lport, service.original_hash(b, i, st.seed))
        keys[key_at(6, k)] = s
        keys[key_at(7, k)] = np.uint64(np.uint32(be)) | (np.uint64(last_sp) << np.uint64(32))
    drops = 0
    for k in range(m):
        i = np.uint64(base + k)
        s = np.int64(keys[key_at(6, k)])
        if s == service.NOT_TRANSLATED:
            o.service[i] = -1
            o.backend[i] = -1
            _key(b, i, key_l4, keys, k)
            keys[key_at(8, k)] = np.uint64(b.sport[i]) | (np.uint64(b.dport[i]) << np.uint64(16))
            continue
        be = np.int64(np.int32(keys[key_at(7, k)] & _M32))
        sp = np.int64(keys[key_at(7, k)] >> np.uint64(32))
        o.service[i] = st.sp_service[sp]
        if s == service.NO_ENDPOINT:
            o.backend[i] = -1
            service.no_endpoint_one(b, o, cn, i, sv)
            keys[key_at(5, k)] = 0
            drops += 1
            continue
        o.backend[i] = st.be_lport[be]  # (a reply's: its sender, checked by pick_one)
        src_ip, dst_ip, sport, dport, dst_mac = service.rewrite_one(b, i, st, s, be, sv.router_mac)
        _key_words(src_ip, dst_ip, b.ingress_id[i], b.ingress_kind[i], b.vlan[i], b.proto[i], sport, dport,
                   b.reply[i], b.src_mac[i], dst_mac, key_l4, keys, k)
        keys[key_at(8, k)] = np.uint64(sport) | (np.uint64(dport) << np.uint64(16))
    return drops


@kernel(inline="always")
def _write_translated(tb, keys, k, i):
    """Packet i's columns as translated (slot k of `_translated_keys`) into ``tb``."""
    tb.src_ip[i] = np.uint32(keys[key_at(0, k)] & _M32)
    tb.dst_ip[i] = np.uint32(keys[key_at(0, k)] >> np.uint64(32))
    tb.sport[i] = np.uint16(keys[key_at(8, k)] & np.uint64(0xFFFF))
    tb.dport[i] = np.uint16(keys[key_at(8, k)] >> np.uint64(16))
    tb.dst_mac[i] = keys[key_at(3, k)]


@kernel
def translate_uncached(b, tb, o, cn, sv, base, m, to_walk):
    """The service stage over packets base..base+m-1 of a vector the cache does not see (off,
    or backing off): `_translated_keys` into the worker's ``sv.keys``, then every packet but
    the ``no-endpoint`` drops (answered there) has its columns as translated written into
    ``tb`` and its slot into ``to_walk``. Returns how many walk."""
    keys = sv.keys
    _translated_keys(b, o, cn, sv, base, m, False, keys)
    n_walk = 0
    for k in range(m):
        if keys[key_at(6, k)] == service.NO_ENDPOINT:
            continue
        i = np.uint64(base + k)
        _write_translated(tb, keys, k, i)
        to_walk[n_walk] = k
        n_walk += 1
    return n_walk


@kernel(inline="always")
def _same(e, x, keys, k):
    return (e[x, E_K0] == np.int64(keys[key_at(0, k)]) and e[x, E_K1] == np.int64(keys[key_at(1, k)])
            and e[x, E_K2] == np.int64(keys[key_at(2, k)]) and e[x, E_K3] == np.int64(keys[key_at(3, k)])
            and e[x, E_K4] == np.int64(keys[key_at(4, k)]) and e[x, E_TTL_MIN] > 0)


@kernel(inline="always")
def _probe(e, keys, k):
    """The entry holding slot k's key, or -1."""
    mask = np.uint64(e.shape[0] - 1)
    h = keys[key_at(5, k)]
    x = np.int64(h & mask)
    if _same(e, x, keys, k):
        return x
    x = np.int64((h >> np.uint64(32)) & mask)
    if _same(e, x, keys, k):
        return x
    return np.int64(-1)


@kernel
def lookup(b, dp, o, fc, base, m, to_walk, ahead, keyed, drops):
    """Packets base..base+m-1: a hit takes its entry's outcome (results written, stats bumped);
    a miss (or a hit whose conditions fail) goes to ``to_walk``. Returns the misses.
    ``keyed``: `translated_keys` has made the keys (the service stage ran, and ``drops``
    packets were its ``no-endpoint`` drops, neither hits nor misses); else they are made here.
    (The service stage is a call of its own: with its arguments passed in, this loop ran
    ~5 ns a packet slower on the seed, services or not: `/tmp` scripts, not kept.)"""
    e = fc.entries
    keys = fc.keys
    mask = np.uint64(e.shape[0] - 1)
    if not keyed:
        key_l4 = fc.state[KEY_L4] != 0
        for k in range(m):
            _key(b, np.uint64(base + k), key_l4, keys, k)  # (unsigned: no negative-index wraparound)
    if ahead > 0:
        for k in range(min(ahead, m)):
            prefetch_row(e, np.int64(keys[key_at(5, k)] & mask))
    ov = np.int64(dp.geneve_overhead) + ETH_HEADER
    if drops > 0:  # (two copies of the loop: the check would cost the common case)
        return _probes(b, o, fc, base, m, to_walk, ahead, ov, True)
    return _probes(b, o, fc, base, m, to_walk, ahead, ov, False)


@kernel
def translated_keys(b, o, cn, sv, fc, base, m):
    """The service stage in the key pass (`_translated_keys`) of `lookup`. Returns its drops."""
    return _translated_keys(b, o, cn, sv, base, m, fc.state[KEY_L4] != 0, fc.keys)


@kernel
def translated_misses(tb, fc, base, to_walk, n_walk):
    """The columns of the misses ``to_walk[:n_walk]`` as translated (`translated_keys`) into
    ``tb``, the batch the walk reads."""
    keys = fc.keys
    for j in range(n_walk):
        k = to_walk[j]
        i = np.uint64(base + k)
        _write_translated(tb, keys, k, i)


@kernel(inline="always")
def _probes(b, o, fc, base, m, to_walk, ahead, ov, skip_drops):
    """The probe loop of `lookup`: hits answered, misses into ``to_walk``; with ``skip_drops``
    the slots the service stage dropped (``no-endpoint``) are neither."""
    e = fc.entries
    keys = fc.keys
    mask = np.uint64(e.shape[0] - 1)
    n_walk = 0
    hits = 0
    for k in range(m):
        if ahead > 0 and k + ahead < m:
            prefetch_row(e, np.int64(keys[key_at(5, k + ahead)] & mask))
        i = np.uint64(base + k)
        if skip_drops and keys[key_at(6, k)] == service.NO_ENDPOINT:
            continue  # (answered by the service stage)
        x = _probe(e, keys, k)
        ttl = np.int64(b.ttl[i])
        length = np.int64(b.length[i])
        if x < 0 or ttl < e[x, E_TTL_MIN] or length > e[x, E_LEN_MAX] or length < MIN_IP_PACKET:
            to_walk[n_walk] = k
            n_walk += 1
            continue
        hits += 1
        out = np.uint64(e[x, E_OUT])
        n_tun = np.int64((out >> np.uint64(32)) & _M8)
        o.verdict[i] = out & _M8
        o.reason[i] = (out >> np.uint64(8)) & _M8
        o.dev_kind[i] = (out >> np.uint64(16)) & _M8
        o.via_edge[i] = ((out >> np.uint64(24)) & _M8) != 0
        o.n_tunnels[i] = n_tun
        o.hops[i] = (out >> np.uint64(40)) & _M8
        o.ttl_out[i] = ttl - np.int64((out >> np.uint64(48)) & _M8)
        o.dev_id[i] = e[x, E_DEV]
        o.egress_port[i] = e[x, E_EGRESS]
        lv = np.uint64(e[x, E_LAST_VNI])
        o.last_ip[i] = lv & _M32
        o.tun_vni[i] = lv >> np.uint64(32)
        o.tun_src_host[i] = e[x, E_TUN_SRC]
        o.tun_dst_host[i] = e[x, E_TUN_DST]
        o.underlay_bytes[i] = n_tun * (length + ov)
        dfw_w = e[x, E_DFW]
        o.dfw_at_src[i] = np.int32(dfw_w & 0xFFFF_FFFF)
        o.dfw_at_dst[i] = np.int32(dfw_w >> 32)
        if e[x, E_PACKETS] == 0:
            _mark_dirty(e, fc, x)
        e[x, E_PACKETS] += 1
        e[x, E_BYTES] += length
    fc.state[HITS] += hits
    return n_walk


@kernel(inline="always")
def _mark_dirty(e, fc, x):
    nd = fc.state[DIRTY]
    fc.dirty[nd] = x
    fc.state[DIRTY] = nd + 1


@kernel(inline="always")
def _fold(dp, cn, e, x):
    """Add entry x's pending stats times its recipe to the counters; clear the stats."""
    p = e[x, E_PACKETS]
    if p == 0:
        return
    nbytes = e[x, E_BYTES]
    st_in = np.uint64(e[x, E_ST_IN])
    st_hit = np.uint64(e[x, E_ST_HIT])
    for stage in range(N_STAGES):
        c_in = stage_count(st_in, stage)
        if c_in:
            c_hit = stage_count(st_hit, stage)
            cn.stages[0, stage, 0] += c_in * p
            cn.stages[0, stage, 1] += c_hit * p
            cn.stages[0, stage, 2] += (c_in - c_hit) * p
    n_rtr = stage_count(st_in, S_ROUTE)  # one lookup per router visited
    for j in range(n_rtr):
        r = e[x, E_ROUTERS + j]
        cn.router[0, r, 0] += p
        cn.router[0, r, 1] += nbytes
    n_seg = stage_count(st_in, S_L2)
    for j in range(n_seg):
        sg = e[x, E_SEGMENTS + j]
        cn.segment[0, sg, 0] += p
        cn.segment[0, sg, 1] += nbytes
    n_leg = stage_count(st_hit, S_ENCAP)  # the legs that fit
    fb = nbytes + p * (np.int64(dp.geneve_overhead) + ETH_HEADER)
    for j in range(n_leg):
        tid = e[x, E_TEPS + j]
        src = tid // dp.n_hosts
        dst = tid - src * dp.n_hosts
        cn.host[0, src, 0] += p
        cn.host[0, src, 1] += fb
        cn.host[0, dst, 2] += p
        cn.host[0, dst, 3] += fb
        cn.tep_pair[0, tid, 0] += p
        cn.tep_pair[0, tid, 1] += fb
    dfw_w = e[x, E_DFW]
    d_src = np.int64(np.int32(dfw_w & 0xFFFF_FFFF))
    d_dst = dfw_w >> 32
    if d_src >= 0:
        cn.dfw[0, d_src, 0] += p
    if d_dst >= 0:
        cn.dfw[0, d_dst, 1] += p
    out = np.uint64(e[x, E_OUT])
    cn.verdicts[0, np.int64(out & _M8)] += p
    cn.reasons[0, np.int64((out >> np.uint64(8)) & _M8)] += p
    if np.int64(out & _M8) == V_EXITED and np.int64((out >> np.uint64(16)) & _M8) == K_UPLINK:
        u = e[x, E_DEV]
        cn.uplink[0, u, 0] += p
        cn.uplink[0, u, 1] += nbytes
    e[x, E_PACKETS] = 0
    e[x, E_BYTES] = 0


@kernel
def insert(b, dp, o, fc, cn, rc, base, vin, n):
    """After the walk: cache the outcome of each walked slot ``vin[:n]`` that may be cached. A
    victim entry's pending stats are folded first."""
    e = fc.entries
    keys = fc.keys
    mask = np.uint64(e.shape[0] - 1)
    for j in range(n):
        k = vin[j]
        i = base + k
        reason = np.int64(o.reason[i])
        if reason == R_MALFORMED or reason == R_TTL or reason == R_MTU:
            continue
        st_in = rc.st_in[k]
        if st_in & OVERFLOW:
            continue
        h = keys[key_at(5, k)]
        x1 = np.int64(h & mask)
        x2 = np.int64((h >> np.uint64(32)) & mask)
        if e[x1, E_TTL_MIN] == 0:
            x = x1
        elif e[x2, E_TTL_MIN] == 0:
            x = x2
        else:
            x = x1 if (h >> np.uint64(31)) & np.uint64(1) else x2
            _fold(dp, cn, e, x)
        ttl = np.int64(b.ttl[i])
        n_dec = ttl - np.int64(o.ttl_out[i])
        for w in range(5):
            e[x, w] = np.int64(keys[key_at(w, k)])
        e[x, E_TTL_MIN] = n_dec + 1
        len_max = np.int64(1) << 40
        ov = np.int64(dp.geneve_overhead)
        n_leg = stage_count(rc.st_hit[k], S_ENCAP)
        for j2 in range(n_leg):
            tid = rc.teps[k, j2]
            src = tid // dp.n_hosts
            dst = tid - src * dp.n_hosts
            len_max = min(len_max, np.int64(min(dp.host_mtu[src], dp.host_mtu[dst])) - ov)
            e[x, E_TEPS + j2] = tid
        e[x, E_LEN_MAX] = len_max
        e[x, E_OUT] = np.int64(np.uint64(o.verdict[i]) | (np.uint64(o.reason[i]) << np.uint64(8))
                               | (np.uint64(o.dev_kind[i]) << np.uint64(16)) | (np.uint64(o.via_edge[i]) << np.uint64(24))
                               | (np.uint64(o.n_tunnels[i]) << np.uint64(32)) | (np.uint64(o.hops[i]) << np.uint64(40))
                               | (np.uint64(n_dec) << np.uint64(48)))
        e[x, E_DEV] = o.dev_id[i]
        e[x, E_EGRESS] = o.egress_port[i]
        e[x, E_LAST_VNI] = np.int64(np.uint64(o.last_ip[i]) | (np.uint64(o.tun_vni[i]) << np.uint64(32)))
        e[x, E_TUN_SRC] = o.tun_src_host[i]
        e[x, E_TUN_DST] = o.tun_dst_host[i]
        e[x, E_DFW] = (np.int64(o.dfw_at_src[i]) & 0xFFFF_FFFF) | (np.int64(o.dfw_at_dst[i]) << 32)
        e[x, E_PACKETS] = 0
        e[x, E_BYTES] = 0
        e[x, E_ST_IN] = np.int64(st_in)
        e[x, E_ST_HIT] = np.int64(rc.st_hit[k])
        for j2 in range(min(stage_count(st_in, S_ROUTE), MAX_ROUTER_VISITS)):
            e[x, E_ROUTERS + j2] = rc.routers[k, j2]
        for j2 in range(min(stage_count(st_in, S_L2), MAX_SEGMENT_VISITS)):
            e[x, E_SEGMENTS + j2] = rc.segments[k, j2]


MIN_HIT_SHARE = 4
"""A vector with fewer than 1 / this of its packets hitting backs the cache off."""
MAX_BACKOFF = 64
"""Vectors skipped at most between two tries of a missing cache. 512 made 1M pods' distinct flows
~2.5 ns a packet faster (fewer tries), but a cache that has yet to learn its traffic then learns
it too slowly: a 2-thread call whose workers got each other's caches walked one share almost
whole (1.50x one thread instead of 1.81x; bench/RESULTS.md, issue 10)."""


@kernel(inline="always")
def use_cache(fc):
    """Whether this vector uses the cache (False while it backs off)."""
    if fc.state[SKIP] > 0:
        fc.state[SKIP] -= 1
        return False
    return True


@kernel(inline="always")
def skip_run(fc):
    """After `use_cache` said no: the vectors to walk without the cache now, that one and the
    rest of the backoff (at least 1), taken off the skip count."""
    k = fc.state[SKIP] + 1
    fc.state[SKIP] = 0
    return k


@kernel(inline="always")
def backoff(fc, m, hits):
    """After a vector of m packets with ``hits`` hits: a cache that misses is skipped for the
    next 1, 2, 4 ... `MAX_BACKOFF` vectors (its lookup, insertion and recipe cost ~30 ns a
    packet that no hit repays: distinct flows, a cold cache on a big cluster), and tried
    again; one that hits is used on every vector. The answer never depends on it: a skipped
    vector walks, and walking equals hitting."""
    if hits * MIN_HIT_SHARE < m:
        fc.state[SKIP] = fc.state[NEXT_SKIP]
        fc.state[NEXT_SKIP] = min(2 * fc.state[NEXT_SKIP], MAX_BACKOFF)
    else:
        fc.state[NEXT_SKIP] = 1


@kernel
def flush(dp, cn, fc):
    """Fold every entry's pending stats into the counters (the end of a call)."""
    e = fc.entries
    for j in range(fc.state[DIRTY]):
        _fold(dp, cn, e, fc.dirty[j])
    fc.state[DIRTY] = 0


@kernel
def flush_if_full(dp, cn, fc, room):
    """Fold the pending stats when the dirty list has less than ``room`` free places."""
    if fc.state[DIRTY] + room > fc.dirty.shape[0]:
        flush(dp, cn, fc)
