"""What every stage shares: the int codes, the counters, the per-slot scratch, the trace writer.

Codes
-----
Verdicts, drop reasons and device kinds are `fastpath.verdicts` enums; the kernels take them
as plain ints (``V_*``, ``R_*``, ``K_*``), frozen into the compiled code.

Counters and their invariants
-----------------------------
`Counters` holds one row per worker (no atomics): verdicts, reasons, the per-stage
``in / hits / misses`` of `STAGES`, and the per-device loads. Invariants (tests assert them):
sum(verdicts) == packets, sum(reasons) == dropped, and per stage hits + misses == in. A stage
node counts its own stage in locals and adds them to the row once per vector (`flush`).

Scratch
-------
Between stages a packet is a slot k of its vector (batch index ``base + k``). What a stage
hands the next that is not a result column lives in `Scratch`, indexed by slot; the result
columns (`fastpath.packets.Results`: verdict, hops, TTL, tunnels, ...) double as the rest of
the packet's metadata, as VPP's buffer opaque does.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ..._jit import kernel, prefetch_row
from ...compile.bundle import Tables
from ...tables import exact
from ...tables.lines import rows_on_lines, zeros_own_lines
from ...verdicts import DeviceKind, Reason, Verdict
from ..trace import MAX_HOPS

ETH_HEADER = 14
MIN_IP_PACKET = 28
MAX_VID = 4095

V_DELIVERED, V_EXITED, V_DROPPED = int(Verdict.DELIVERED), int(Verdict.EXITED), int(Verdict.DROPPED)
R_NONE, R_NO_ROUTE, R_TTL, R_NO_NEIGHBOR, R_DFW, R_MTU, R_VLAN, R_MAC, R_SPOOF, R_MALFORMED, R_RESERVED, R_LEARNED = (
    int(r) for r in (Reason.NONE, Reason.NO_ROUTE, Reason.TTL_EXPIRED, Reason.NO_NEIGHBOR, Reason.DFW_DENY,
                     Reason.MTU_EXCEEDED, Reason.UNKNOWN_VLAN, Reason.UNKNOWN_MAC, Reason.SPOOFGUARD,
                     Reason.MALFORMED, Reason.RESERVED_MAC, Reason.LEARNED_ON_INPUT))
K_POD, K_NODE, K_OVS, K_VIF, K_SEGMENT, K_T1, K_T0, K_TUNNEL, K_EDGE, K_UPLINK, K_PORT = (
    int(k) for k in (DeviceKind.POD, DeviceKind.NODE, DeviceKind.OVS, DeviceKind.VIF, DeviceKind.SEGMENT,
                     DeviceKind.T1, DeviceKind.T0, DeviceKind.TUNNEL, DeviceKind.EDGE, DeviceKind.UPLINK,
                     DeviceKind.PORT))
N_VERDICTS = len(Verdict)
N_REASONS = len(Reason)

STAGES = ("arp", "ovs_mac", "vif", "spoofguard", "dfw", "segment_l2", "route", "neighbor", "encap", "ovs_egress")
"""Stage counters: in, hits, misses. arp: sender-stack ARP (hit = answered); ovs_mac: the
source bridge (hit = the MAC table knew the MAC); vif: demux of a tagged frame (hit = a port);
spoofguard (hit = passed); dfw (hit = a rule matched, miss = the default); segment_l2 (hit =
port or router); route (hit = a route matched); neighbor (hit = answered); encap (hit =
encapsulated, miss = MTU drop); ovs_egress (hit = the destination bridge knew the MAC)."""
(S_ARP, S_OVS, S_VIF, S_SPOOF, S_DFW, S_L2, S_ROUTE, S_NEIGH, S_ENCAP, S_OVS_EGRESS) = range(len(STAGES))
C_IN, C_HIT, C_MISS = 0, 1, 2

MAX_LEGS = 4
"""Tunnel legs logged per packet at most (the RIB's longest path has 3: source -> T1 SR edge
-> other T1 SR edge -> destination); `add_legs` raises if a run ever logs more."""
LEG_TEP, LEG_BYTES, LEG_PACKET, LEG_VNI, LEG_TTL, LEG_TO = range(6)
LEG_COLS = 6
"""The tunnel-leg log's columns: TEP pair id (src_host * H + dst_host), outer frame bytes,
packet index (in the kernel's batch), VNI, inner TTL at encapsulation, and where the leg goes:
the destination logical port (>= 0) or an edge's service router r as -1 - r. The first two
feed the TEP-pair counters and are all a log of 2 columns holds (the default); a log of
`LEG_COLS` gets them all, to let `fastpath.wire` rebuild each leg's frame."""


class Counters(NamedTuple):
    """Per-worker counters, row t = worker t (see the module docstring)."""

    verdicts: np.ndarray  # int64[W, 3]
    reasons: np.ndarray  # int64[W, N_REASONS]
    stages: np.ndarray  # int64[W, len(STAGES), 3] — in, hits, misses
    host: np.ndarray  # int64[W, H, 4] — tx packets, tx underlay bytes, rx packets, rx underlay bytes
    tep_pair: np.ndarray  # int64[W, H*H, 2] — packets, underlay bytes (src_host * H + dst_host);
    # filled after the kernel from its tunnel-leg log (`add_legs`): a random update of a
    # H*H matrix per tunnel was ~95 ns a packet on 1,000 hosts
    router: np.ndarray  # int64[W, R, 2] — packets, inner bytes routed (or answered) by the instance
    uplink: np.ndarray  # int64[W, U, 2] — packets, bytes exited
    segment: np.ndarray  # int64[W, S, 2] — packets, bytes switched (segment L2 lookups)
    dfw: np.ndarray  # int64[W, decisions, 2] — DFW evaluations per decision, at the sender's port and
    # at the receiver's (`fastpath.model.firewall`: admin rules, policies, isolations, local, default)


def make_counters(workers: int, tables: Tables, n_uplinks: int) -> Counters:
    """Zeroed counters, a row per worker; each row on cache lines of its own
    (`fastpath.tables.lines.rows_on_lines`: two workers never write one line)."""
    h = tables.n_hosts
    shapes = ((N_VERDICTS,), (N_REASONS,), (len(STAGES), 3), (h, 4), (h * h, 2), (tables.n_routers, 2),
              (max(n_uplinks, 1), 2), (tables.n_segments, 2), (tables.dfw_decision_allow.shape[0], 2))
    return Counters(*(rows_on_lines(workers, shape, np.int64) for shape in shapes))


def add_legs(row: Counters, legs: np.ndarray, n_legs: int) -> None:
    """Fold a worker's tunnel-leg log into its TEP-pair counters: O(legs), whatever H is."""
    if n_legs > legs.shape[0]:
        raise RuntimeError(f"tunnel-leg log overflow: {n_legs} legs for room {legs.shape[0]} "
                           f"(more than {MAX_LEGS} tunnels a packet)")
    _fold_legs(row.tep_pair[0], legs, n_legs)


FOLD_AHEAD = 16
"""Legs ahead whose TEP-pair row `_fold_legs` prefetches: at 1,000 hosts the matrix is 16 MB and
each leg's row a DRAM miss; in flight together they cost a fraction of one each."""


@kernel
def _fold_legs(tep, legs, n):
    for k in range(min(FOLD_AHEAD, n)):
        prefetch_row(tep, legs[k, LEG_TEP])
    for k in range(n):
        if k + FOLD_AHEAD < n:
            prefetch_row(tep, legs[k + FOLD_AHEAD, LEG_TEP])
        tid = legs[k, LEG_TEP]
        tep[tid, 0] += 1
        tep[tid, 1] += legs[k, LEG_BYTES]


class Scratch(NamedTuple):
    """What a stage hands the next, per slot of the vector, beside the result columns."""

    lp: np.ndarray  # int32[V] — the logical port the packet entered by (SpoofGuard, source DFW)
    host: np.ndarray  # int32[V] — the host the packet is on now
    seg: np.ndarray  # int32[V] — the segment it is switched on
    r: np.ndarray  # int32[V] — the router instance to route at
    arrive: np.ndarray  # uint32[V] — the address it arrived on at that router
    src_mac: np.ndarray  # uint64[V]
    dst_mac: np.ndarray  # uint64[V] (`NEIGHBOR_MAC`: the MAC of the port ``port`` names)
    port: np.ndarray  # int32[V] — the logical port to deliver to


class Vectors(NamedTuple):
    """The frames between stages: slot lists, int32[V] each."""

    a: np.ndarray  # endpoint packets, ping-ponged with b through the source-side stages
    b: np.ndarray
    route: np.ndarray  # packets to route (one hop a pass)
    neighbor: np.ndarray  # packets whose route is connected
    port: np.ndarray  # packets to deliver to a logical port
    walk: np.ndarray  # packets that walk the stages (all, or the flow cache's misses)


NEIGHBOR_MAC = np.uint64(1 << 63)
"""`Scratch.dst_mac` of a packet the neighbor stage resolved: "the MAC of the port it names"
(no 48-bit MAC equals it). The port record is then read once, by the tunnel stage, which can
prefetch it."""


def make_scratch(v: int) -> Scratch:
    """A worker's scratch, each column on lines of its own (`zeros_own_lines`), as every buffer
    a worker writes per packet: beside another worker's, a shared line ping-pongs between cores."""
    return Scratch(*(zeros_own_lines(v, t) for t in (np.int32, np.int32, np.int32, np.int32, np.uint32, np.uint64,
                                                      np.uint64, np.int32)))


def make_vectors(v: int) -> Vectors:
    return Vectors(*(zeros_own_lines(v, np.int32) for _ in range(6)))


VECTOR = 256
"""Packets per vector of the staged engine (`fastpath.dataplane.graph`; measured on the 1M-pod
cluster: 256 and 1,024 within noise, 64 slower), and the slots of a row of the key scratch."""

KEY_ROWS = 10
"""Rows of the flow cache's key scratch (`key_at`): per slot of a vector its key words (0-4),
hash (5), and for the service stage its state (6), the backend it picked (7: its row | service
port << 32, or from `flow_cache._usual_vector` the outputs, logical port | service << 32), ports
as translated (8), destination as translated, address | port << 32 (9)."""


KEY_STRIDE = VECTOR + 8
"""Words from one row of the key scratch to the next: a vector and a cache line, so the rows do
not all sit at the same offset in a 4 KiB page (2 KiB rows did: a load from a batch column at
that offset then waits on the stores to every other row — "4K aliasing" — and the cost of a
vector depended on where the batch happened to be allocated)."""


def make_keys() -> np.ndarray:
    """The key scratch of one worker: uint64[`KEY_ROWS` * `KEY_STRIDE`]."""
    return zeros_own_lines(KEY_ROWS * KEY_STRIDE, np.uint64)


@kernel(inline="always")
def key_at(row, k):
    """Index of slot k's word ``row`` in the key scratch. One flat array with rows a constant
    apart, not a 2-D one: the compiler sees every row's store as one object at fixed offsets,
    so a loop writing nine rows needs one runtime overlap check against each column it reads
    (with a 2-D array's runtime row stride it needed nine, and gave up SIMD for them)."""
    return np.uint64(row * KEY_STRIDE) + np.uint64(k)


# ---- helpers every stage uses ---------------------------------------------------------------------------
@kernel(inline="always")
def init_result(o, i, ttl):
    """Packet i's results before any stage decides: dropped, no reason, at no device, nothing
    crossed (the stages fill in what they find)."""
    o.verdict[i] = V_DROPPED
    o.reason[i] = R_NONE
    o.dev_kind[i] = K_POD
    o.dev_id[i] = -1
    o.egress_port[i] = -1
    o.ttl_out[i] = ttl
    o.hops[i] = 0
    o.last_ip[i] = 0
    o.n_tunnels[i] = 0
    o.tun_src_host[i] = -1
    o.tun_dst_host[i] = -1
    o.tun_vni[i] = 0
    o.underlay_bytes[i] = 0
    o.via_edge[i] = False
    o.dfw_at_src[i] = -1
    o.dfw_at_dst[i] = -1


_I64 = numba.types.int64
_TRACE = numba.types.Array(numba.types.int32, 3, "C")
_TRACE_LEN = numba.types.Array(numba.types.int32, 1, "C")

exact_probe = exact.probe
"""The hash probe (unknown MACs, tagged frames): a call with one signature, not inlined."""


@kernel(numba.types.void(_TRACE, _TRACE_LEN, _I64, _I64, _I64, _I64, _I64))
def rec(tr, tl, slot, kind, dev, table, ttl):
    """Append a trace record (kind, device, table, ttl) to trace slot ``slot``. Call it behind
    ``if slot >= 0``: with tracing compiled out, slot is the constant -1 and the call folds away."""
    if slot >= 0:
        n = tl[slot]
        if n < MAX_HOPS:
            tr[slot, n, 0] = kind
            tr[slot, n, 1] = dev
            tr[slot, n, 2] = table
            tr[slot, n, 3] = ttl
            tl[slot] = n + 1


@kernel(inline="always")
def flush(st, stage, n_in, n_hit):
    """A stage's counts of one vector, added to the worker's row."""
    st[0, stage, C_IN] += n_in
    st[0, stage, C_HIT] += n_hit
    st[0, stage, C_MISS] += n_in - n_hit


@kernel(inline="always")
def drop(o, i, reason, dkind, dev):
    """Packet i ends here, dropped at device (dkind, dev)."""
    o.verdict[i] = V_DROPPED
    o.reason[i] = reason
    o.dev_kind[i] = dkind
    o.dev_id[i] = dev


@kernel(inline="always")
def router_kind(dp, r):
    """The device kind router instance r is reported as: an SR is its edge, a DR its tier."""
    return K_EDGE if dp.rtr_is_sr[r] else np.int64(dp.rtr_kind[r])


# ---- the recipe: what a packet's walk added to the counters, for the flow cache ----------------------
ST_BITS = 6
"""Bits per stage in a recipe's packed stage counts (10 stages x 6 = 60 bits of a uint64)."""
ST_MAX = (1 << ST_BITS) - 1
MAX_ROUTER_VISITS = 8
MAX_SEGMENT_VISITS = 2
OVERFLOW = np.uint64(1 << 63)
"""Set in `Recipe.st_in` when a walk did more than a recipe holds: not cached."""


class Recipe(NamedTuple):
    """Per slot, what the packet's walk counted, so that the flow cache can count it again for
    every later packet of the flow (`fastpath.dataplane.stages.flow_cache`). Recorded only when
    the graph is given one (None: the recording is compiled out, like the trace)."""

    st_in: np.ndarray  # uint64[V] — per stage, packets in (`ST_BITS` each, stage s at bit s * ST_BITS)
    st_hit: np.ndarray  # uint64[V] — per stage, hits
    routers: np.ndarray  # int32[V, MAX_ROUTER_VISITS] — router instances visited, in order
    segments: np.ndarray  # int32[V, MAX_SEGMENT_VISITS] — segments switched on
    teps: np.ndarray  # int64[V, MAX_LEGS] — TEP pair of each tunnel leg


def make_recipe(v: int) -> Recipe:
    return Recipe(zeros_own_lines(v, np.uint64), zeros_own_lines(v, np.uint64),
                  zeros_own_lines((v, MAX_ROUTER_VISITS), np.int32), zeros_own_lines((v, MAX_SEGMENT_VISITS), np.int32),
                  zeros_own_lines((v, MAX_LEGS), np.int64))


@kernel(inline="always")
def stage_count(st, stage):
    """A recipe's count for ``stage`` in packed stage counts ``st``."""
    return np.int64((st >> np.uint64(ST_BITS * stage)) & np.uint64(ST_MAX))


@kernel(inline="always")
def count_pass(rc, k, stage, passed, hit, c_in, c_hit):
    """A stage's accounting of one packet in a stage's step: when it ``passed`` through the
    stage, one in (and a hit when ``hit``) on the loop's counts ``c_in``/``c_hit`` (added to the
    worker's row by `flush`) and, with a recipe ``rc``, its note. Returns the two counts."""
    if passed:
        c_in += 1
        c_hit += hit
        if rc is not None:
            note(rc, k, stage, hit)
    return c_in, c_hit


@kernel(inline="always")
def note(rc, k, stage, hit):
    """Record one pass of slot k through ``stage``; returns how many it made before."""
    before = stage_count(rc.st_in[k], stage)
    if before >= ST_MAX - 1:
        rc.st_in[k] |= OVERFLOW
        return before
    rc.st_in[k] += np.uint64(1) << np.uint64(ST_BITS * stage)
    if hit:
        rc.st_hit[k] += np.uint64(1) << np.uint64(ST_BITS * stage)
    return before


@kernel(inline="always")
def note_router(rc, k, r, before):
    if before < MAX_ROUTER_VISITS:
        rc.routers[k, before] = r
    else:
        rc.st_in[k] |= OVERFLOW


@kernel(inline="always")
def note_segment(rc, k, seg, before):
    if before < MAX_SEGMENT_VISITS:
        rc.segments[k, before] = seg
    else:
        rc.st_in[k] |= OVERFLOW


@kernel(inline="always")
def note_tep(rc, k, tid):
    """A leg that fit: its TEP pair, at the place of its encap hit."""
    n = stage_count(rc.st_hit[k], S_ENCAP) - 1
    if 0 <= n < MAX_LEGS:
        rc.teps[k, n] = tid
    else:
        rc.st_in[k] |= OVERFLOW
