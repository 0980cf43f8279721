"""The DFW's packet classifier: ``(table, remote ip, proto, port) -> first matching rule``.

What?
-----
The DFW is evaluated at a logical port, where one address of the packet is the port's own
(SpoofGuard fixes it at the source port, routing at the destination). So every decision is a
lookup in ONE rule table chosen by (port class, direction), keyed on the REMOTE address, the
protocol and the L4 port. Rules are rows ``(table, net, plen, proto, port_lo, port_hi)`` in
priority order (row index = priority, lower wins); ``proto`` 0 is any protocol. A packet whose
protocol carries ports (TCP 6, UDP 17, SCTP 132) matches a row when its port is in
``port_lo..port_hi``; any other protocol matches only rows whose range is all of 0..65535.
`lookup` (plain Python, a linear scan) is the reference; `classify` the numba kernel.

How others do it, and the choice
--------------------------------
- Open vSwitch (``lib/classifier.c``): tuple space search. One hash table ("subtable") per
  distinct mask; a lookup probes subtables in order of their highest priority and stops when
  no remaining subtable can beat the best hit. Staged lookup hashes the metadata, L2, L3, L4
  fields stage by stage so a miss exits early; prefix tracking keeps a trie of the nw_src /
  nw_dst prefixes to skip subtables whose prefix lengths cannot match. Cost: a probe per
  subtable; with many masks (here: every prefix length x port ranges split into masks) the
  probe count is what grows.
- DPDK ``rte_acl``: the rule fields become a multibit trie of 8-bit strides compiled to
  DFA-like transition arrays: a lookup is about one transition per byte of the key, whatever
  the rules. The build is the expensive part: range fields (ports) and overlapping rules
  multiply the nodes, and a rule set that outgrows the memory limit is split into several
  tries, each one more walk per lookup.
- Decision trees (HiCuts, HyperSplit): cut the rule space along field values until leaves hold
  a few rules. HyperSplit splits on elementary-interval boundaries (binary, balanced), which
  bounds the depth by log2 of the intervals; the cost is rule replication across leaves.

Here one field (the remote address, a prefix) does nearly all the separating, and the other
two (protocol, port range) select among the handful of rows left. So: **a one-dimensional
HyperSplit on the address, then a scan of the surviving rows** — OVS's prefix-tracking idea
carried to its end: each address interval's list holds (or, by a jump, reaches) every row of
all prefixes that cover it, so one search answers the address part completely.

1. Per table, the distinct rule prefixes (a laminar family: two prefixes nest or are disjoint)
   cut 0..2**32-1 into elementary intervals, at most 2 per prefix + 1. Every address of an
   interval is covered by the same chain of prefixes; the interval points at the deepest one's
   row list. A lookup searches the table's sorted interval starts: branch-free halving while
   more than 8 remain, then the last 8 (one cache line) are counted at once. Its depth is
   ``ceil(log2(I_t / 8)) + 1`` reads of one small array, 16 at most for 100,000 rows in ONE
   table, and does not grow with how many prefix LENGTHS the table holds.
2. The deepest prefix's list is every row of that prefix and of all its ancestors, merged in
   priority order (the ancestors merged at build time, as OVS's prefix tracking would have
   it: the first hit ends the search). Each row is one packed uint64 word, scanned until the
   first whose (proto, port range) fits. A list stops after its first row that matches every
   packet (proto any, all ports: the terminal deny of an isolated port, an admin "any" rule),
   since nothing after it can win; a list without one ends in a `SENTINEL` word that matches
   every packet and reads -1. So the scan needs no length, and cannot run off its list
   whatever the packet holds.
3. A list longer than `INDEX_AT` (24) words is replaced by an index: per protocol class (each
   protocol with rows of its own in the list, plus one class for all others), the first row
   fitting a packet without ports, and the class's rows cut into elementary PORT intervals
   holding their first fitting row, searched like the addresses. So the row stage is bounded
   too: a scan of at most 24 words, or a class pick (one word per protocol in the list) and a
   search of at most ``ceil(log2(2 * rows / 8)) + 1`` reads.
4. Merging ancestors copies their rows into every nested prefix's list (the replication cost
   of decision trees). Where that copy would be long, it is not made: a prefix with at most
   `JUMP_OWN` (8) rows of its own, nested in one whose list is long (so indexed), gets its own
   rows (marked "more follows") and a jump word to that list. The scan then keeps the smallest
   fitting row of the own rows and of the list jumped to. Chains of jumps stop at `MAX_JUMPS`
   (3): a prefix deeper than that gets a merged list again.

Why not the design first suggested: one exact-hash probe per prefix length of the table
(tuple space on the length, longest first), on the same merged lists? It is one probe when the
remote is a listed /32, but a miss walks every length, each probe a hash and one or two cache
lines, and NetworkPolicy tables hold many lengths: ``0.0.0.0/0 except 10.0.0.0/8`` alone
expands to 8 (/1../8), namespace /24s, pod /32s and the /0 catch-all add theirs.
`bench/classifier.py` runs it beside the search: 2.4-2.9x slower on NetworkPolicy-shaped
tables, within ~10% either way on the admin shape where every rule is a namespace /24 (one
length: one probe against 3-5 search reads).

Bounds
------
- Address stage: ``ceil(log2(I_t / 8)) + 1`` dependent reads, ``I_t <= 2 * prefixes + 1``.
- Row stage: at most `MAX_JUMPS` x (`JUMP_OWN` + 1) = 27 words of own rows and jumps, then a
  plain list of at most `INDEX_AT` (24) words up to its terminator, or an index (a class pick,
  a search on the port). 1-3 words on average on the shapes measured. Lists get long only when
  many rows of one prefix chain differ by port or protocol (the bench's ``ports`` shape: 60
  port rules on each namespace /24: plain scans of up to 191 words ran 8-25 M/s, the index
  26-35 M/s). `stats` reports the longest and mean scan and the intervals that meet an index.

Layout
------
::

    cls_tab_start: int32[T + 1]  — table t's intervals are cls_bound[start[t]:start[t+1]]
                                   (at least one each: an empty table has one empty interval)
    cls_bound:     uint64[I]     — an interval: its first address << 32 | where its list starts
                                   in cls_rules. Ascending within a table, the first at 0.
    cls_rules:     uint64[L]     — the lists, one word per row (or an index, see `_index_list`);
                                   cls_rules[0] is the shared empty list (a sentinel):

        63               41 40  39    32 31          16 15           0
       +-------------------+--+--------+--------------+--------------+
       |M| row + 1 (22)    |F | proto  |   port_lo    |   port_hi    |   F = range is 0..65535
       +-------------------+--+--------+--------------+--------------+   M = more follows: a
        SENTINEL: row + 1 = 0, F = 1, proto 0 (any), 0..65535              fit is a candidate,
        index header: port_lo 0xFFFF > port_hi 0 (no rule has that),       go on to the jump
                      row field = its classes
        jump: port_lo 0xFFFF > port_hi 1, bits 32-63 = the list to go on with

    cls_rows:      int  — rows given (for `nbytes` per rule and reports)
    cls_src_table, cls_src_net, cls_src_plen, cls_src_proto, cls_src_port_lo, cls_src_port_hi:
                   the validated input (int32, uint32, uint8, uint8, uint16, uint16; 14 bytes a
                   row) that `lookup` scans; the kernels never read them

Memory per rule: 4 bytes per table, 8 per interval (<= 2 per distinct prefix + 1 per table),
8 per list word. A row sits in its own prefix's list and is copied into the merged lists of
prefixes nested below it, at most `INDEX_AT` words of ancestors a copy unless the nested
prefix has more than `JUMP_OWN` rows of its own or sits under `MAX_JUMPS` jumps; it is dropped
from every list where an earlier catch-all shadows it; an indexed list costs up to (classes) x
(2 x rows + 1) words. Measured (`bench/classifier.py`, `nbytes`): ~23 bytes a row on
NetworkPolicy-shaped tables at 100 to 100,000 rows; 3 to 40 on the admin shape (3 at 100,000,
where most rules are shadowed by an earlier "any" rule of their namespace pair); 15-19 on the
port-heavy shape (indexed). A namespace /24 with 50 port rules and 250 pod /32s inside
it, one rule each (330 such tables, 99,330 rows): 22 bytes a row, built in 0.07 s; merged
copies instead of jumps took 407 bytes a row and 0.63 s. Plus the 14 bytes a row of the
reference copy (`cls_src_*`).

Build: numpy for validation and the sort of the distinct prefixes; one numba pass (a stack
sweep per table) for the intervals and the lists, one more for the indexes: 100,000 rows in
12-20 ms, 10,000 in 1-2 ms (numba's cache warm; a shared 2-core machine).

Limits: ``table < 2**25``, rows < 2**22 (the packed row field). A lookup with a table id out of
range returns -1; the address is taken modulo 2**32, proto modulo 2**8, port modulo 2**16
(the fields' widths), in `lookup` and `classify` alike.

`cls` arguments: `lookup`, `nbytes` and `stats` take the dict `build` returns or any object
with the ``cls_*`` attributes (a compiled `Tables`).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from .._jit import jit, kernel

MISS = -1
PROTO_ANY = 0
PORT_PROTOS = (6, 17, 132)
"""TCP, UDP, SCTP: the protocols whose packets carry the port a rule's range matches."""
TABLE_LIMIT = 1 << 25
ROW_LIMIT = 1 << 22
ALL32 = 0xFFFF_FFFF

COLUMNS = ("cls_tab_start", "cls_bound", "cls_rules")
"""The arrays `classify` takes, in its argument order."""

_FULL_BIT = 40
_ROW_SHIFT = 41

# typed constants: numba promotes uint64 mixed with int literals to float64
_U0 = np.uint64(0)
_U16 = np.uint64(16)
_U32 = np.uint64(32)
_U40 = np.uint64(_FULL_BIT)
_U41 = np.uint64(_ROW_SHIFT)
_U1 = np.uint64(1)
_U63 = np.uint64(63)
_ROW22 = np.uint64((1 << 22) - 1)
_CONT = np.uint64(1 << 63)
_JUMP = np.uint64(0xFFFF_0001)
"""A jump word: port_lo 0xFFFF > port_hi 1 (no rule has that), the target list in bits 32-63."""
_NONE = np.int64(1 << 62)
JUMP_OWN = 8
"""A prefix with at most this many rows of its own, nested in one whose list is long (indexed),
keeps its own rows and a jump to that list instead of a merged copy."""
MAX_JUMPS = 3
"""Jumps a scan may follow: a prefix whose parent's list is the end of a chain this long gets a
merged list instead (so a scan reads at most MAX_JUMPS * (JUMP_OWN + 1) words before a plain
list or an index)."""
LINEAR_TAIL = 8
"""The search halves while more than this many intervals remain, then counts the rest: 8
bounds are one cache line, read in parallel instead of 3 dependent steps."""
INDEX_AT = 24
"""Lists longer than this many words are replaced by an index on (protocol, port)."""
SENTINEL = np.uint64((1 << _FULL_BIT) | 0xFFFF)
"""Ends a list that has no catch-all row: matches every packet, row field 0 (reads -1)."""
_LO16 = np.uint64(0xFFFF)
_LO8 = np.uint64(0xFF)
_LO32 = np.uint64(ALL32)
_TCP, _UDP, _SCTP = (np.uint64(p) for p in PORT_PROTOS)


# ---- reference ---------------------------------------------------------------------------------
def _get(cls, name):
    return cls[name] if isinstance(cls, dict) else getattr(cls, name)


def _mask(plen: int) -> int:
    return (ALL32 << (32 - plen)) & ALL32


def lookup(cls, table: int, ip: int, proto: int, port: int) -> int:
    """Index of the first row matching the packet, or -1: a linear scan over the rows kept in
    ``cls_src_*`` (the build's inputs, validated). Plain Python: the reference semantics."""
    table, ip, proto, port = int(table), int(ip) & ALL32, int(proto) & 0xFF, int(port) & 0xFFFF
    tab, net, plen = _get(cls, "cls_src_table"), _get(cls, "cls_src_net"), _get(cls, "cls_src_plen")
    rp, lo, hi = _get(cls, "cls_src_proto"), _get(cls, "cls_src_port_lo"), _get(cls, "cls_src_port_hi")
    carries_ports = proto in PORT_PROTOS
    for k in range(tab.shape[0]):
        if int(tab[k]) != table:
            continue
        m = _mask(int(plen[k]))
        if ip & m != int(net[k]) & m:
            continue
        if int(rp[k]) not in (PROTO_ANY, proto):
            continue
        if carries_ports:
            if not int(lo[k]) <= port <= int(hi[k]):
                continue
        elif (int(lo[k]), int(hi[k])) != (0, 0xFFFF):
            continue
        return k
    return MISS


# ---- kernels -----------------------------------------------------------------------------------
@kernel(inline="always")
def classify(tab_start, bound, rules, table, ip, proto, port):
    """`lookup` in a kernel (inlined into the caller): the first matching row, or -1 (int64).
    Arguments: the `COLUMNS` arrays, then the packet's table id, remote ip, proto, port."""
    table = np.int64(table)
    if table < 0 or table >= tab_start.shape[0] - 1:
        return np.int64(MISS)
    a = np.int64(tab_start[table])
    n = np.int64(tab_start[table + 1]) - a
    i = _search(bound, a, n, np.uint64(ip) & _LO32)  # the interval holding ip
    return scan(rules, np.int64(bound[i] & _LO32), proto, port)


@kernel(inline="always")
def _search(words, a, n, key):
    """The last index i of words[a:a+n] with ``words[i] >> 32 <= key`` (words[a]'s is 0):
    halving while more than LINEAR_TAIL remain (a select, not a branch), then counting."""
    while n > LINEAR_TAIL:
        half = n >> 1
        a += half * np.int64((words[a + half] >> _U32) <= key)
        n -= half
    c = 0
    for k in range(1, n):
        c += np.int64((words[a + k] >> _U32) <= key)
    return a + c


@kernel(inline="always")
def scan(rules, k, proto, port):
    """The first row of the list at ``rules[k]`` that fits (proto, port), or -1.

    A plain list ends in a word that fits every packet (a catch-all row or `SENTINEL`), so the
    loop needs no bound. A row word with bit 63 set belongs to a nested prefix's own rows, which
    end in a jump to the enclosing prefix's list: a fit there is only a candidate, the smallest
    row wins. A long list is an index (a header word first, see `_index_list`)."""
    p = np.uint64(proto) & _LO8
    pt = np.uint64(port) & _LO16
    ports = p == _TCP or p == _UDP or p == _SCTP
    best = _NONE
    while True:
        w = rules[k]
        hi = w & _LO16
        if ((w >> _U16) & _LO16) > hi:  # port_lo > port_hi: a jump or an index header
            if hi == _U1:
                k = np.int64(w >> _U32)
                continue
            n_cls = np.int64((w >> _U41) & _ROW22)
            c = k + 2 * n_cls - 1  # the last class: protocols without rows of their own
            for x in range(n_cls - 1):
                if (rules[k + 1 + 2 * x] >> _U32) & _LO8 == p:
                    c = k + 1 + 2 * x
                    break
            if not ports:
                r = np.int64((rules[c] >> _U41) & _ROW22) - 1
            else:
                pw = rules[c + 1]
                i = _search(rules, k + np.int64(pw >> _U32), np.int64(pw & _LO32), pt)
                r = np.int64(rules[i] & _LO32) - 1
            if r >= 0 and r < best:
                best = r
            return best if best != _NONE else np.int64(MISS)
        rp = (w >> _U32) & _LO8
        if rp == _U0 or rp == p:
            if (ports and ((w >> _U16) & _LO16) <= pt <= hi) or (not ports and (w >> _U40) & _U1):
                r = np.int64((w >> _U41) & _ROW22) - 1
                if r >= 0 and r < best:
                    best = r
                if not (w >> _U63):
                    return best if best != _NONE else np.int64(MISS)
        k += 1


@kernel
def classify_bulk(tab_start, bound, rules, tables, ips, protos, ports, out):
    """``out[i] = classify(..., tables[i], ips[i], protos[i], ports[i])`` for every i."""
    for i in range(out.shape[0]):
        out[i] = classify(tab_start, bound, rules, tables[i], ips[i], protos[i], ports[i])


def lookup_bulk(cls, tables, ips, protos, ports, out: np.ndarray | None = None) -> np.ndarray:
    """`classify_bulk` over numpy columns (any integer dtypes); returns ``out`` (int64[n])."""
    cols = [np.ascontiguousarray(c, dtype=np.int64) for c in (tables, ips, protos, ports)]
    n = cols[0].shape[0]
    if any(c.ndim != 1 or c.shape[0] != n for c in cols):
        raise ValueError(f"tables, ips, protos, ports must be 1-d of one length, got {[c.shape for c in cols]}")
    if out is None:
        out = np.empty(n, np.int64)
    elif out.shape != (n,) or out.dtype != np.int64:
        raise ValueError(f"out must be int64[{n}], got {out.dtype}{list(out.shape)}")
    classify_bulk(*(_get(cls, c) for c in COLUMNS), *cols, out)
    return out


# ---- builder -----------------------------------------------------------------------------------
@jit(inline="always")
def _is_end(w):
    """A catch-all row or the sentinel: nothing after it in a merged list is ever read."""
    return ((w >> _U32) & _LO8) == _U0 and (w >> _U40) & _U1


@jit
def _sweep(p_table, p_start, p_end, n_tables, own_start, own_rows, row_word, jump_at):
    """Intervals and lists from the distinct prefixes sorted by (table, start, plen).

    p_*: per prefix node; own_start[j]:own_start[j+1] index own_rows (ascending) = the rows of
    node j. A node's list is either merged (its rows and all its ancestors', by row, cut after
    a catch-all, else ended by a sentinel) or, when it has at most `JUMP_OWN` rows and its
    parent's list is long (> jump_at words) or itself a jump list, its own rows (bit 63 set,
    cut after a catch-all) and a jump to the parent's list. Returns (tab_start, bound, rules,
    node_first, node_end, node_jump): node j's list is rules[node_first[j]:node_end[j]].
    rules[0] is the shared empty list (a lone sentinel)."""
    n_nodes = p_table.shape[0]
    cap_i = 2 * n_nodes + n_tables + 1
    bound = np.empty(cap_i, np.uint64)
    tab_start = np.zeros(n_tables + 1, np.int32)
    node_first = np.zeros(n_nodes, np.int64)
    node_end = np.zeros(n_nodes, np.int64)
    node_jump = np.zeros(n_nodes, np.bool_)
    node_parent = np.full(n_nodes, -1, np.int64)
    node_hops = np.zeros(n_nodes, np.int64)  # jumps a scan from node j's list follows
    lists = np.empty(max(16, 2 * own_rows.shape[0] + 1), np.uint64)
    lists[0] = SENTINEL
    n_l = 1
    stack = np.empty(34, np.int64)
    n_i = 0
    j = 0
    for t in range(n_tables):
        tab_start[t] = n_i
        bound[n_i] = 0  # starts at address 0, the empty list
        n_i += 1
        depth = 0
        while True:
            at_end = j >= n_nodes or p_table[j] != t
            s = np.int64(1) << 32 if at_end else p_start[j]
            # close the prefixes that end before s: the enclosing one resumes after each
            while depth > 0 and p_end[stack[depth - 1]] < s:
                e = p_end[stack[depth - 1]] + 1
                depth -= 1
                if e <= 0xFFFF_FFFF:
                    first = node_first[stack[depth - 1]] if depth > 0 else 0
                    if (bound[n_i - 1] >> _U32) != np.uint64(e):
                        n_i += 1
                    bound[n_i - 1] = (np.uint64(e) << _U32) | np.uint64(first)
            if at_end:
                break
            parent = stack[depth - 1] if depth > 0 else -1
            node_parent[j] = parent
            a = own_start[j]
            b = own_start[j + 1]
            jump = parent >= 0 and b - a <= JUMP_OWN and node_hops[parent] < MAX_JUMPS and (
                node_jump[parent] or node_end[parent] - node_first[parent] > jump_at)
            if jump:
                need = n_l + (b - a) + 1
            else:
                # the rows to merge into the nearest merged ancestor's list: own rows and those
                # of the jump-list ancestors in between
                q = parent
                n_extra = b - a
                while q >= 0 and node_jump[q]:
                    n_extra += own_start[q + 1] - own_start[q]
                    q = node_parent[q]
                extra = np.empty(n_extra, np.int64)
                extra[:b - a] = own_rows[a:b]
                x = b - a
                q = parent
                while q >= 0 and node_jump[q]:
                    m = own_start[q + 1] - own_start[q]
                    extra[x:x + m] = own_rows[own_start[q]:own_start[q + 1]]
                    x += m
                    q = node_parent[q]
                extra.sort()
                pa = node_first[q] if q >= 0 else 0
                pb = node_end[q] if q >= 0 else 0
                need = n_l + n_extra + (pb - pa) + 1
            if need > lists.shape[0]:
                grown = np.empty(max(need, 2 * lists.shape[0]), np.uint64)
                grown[:n_l] = lists[:n_l]
                lists = grown
            first = n_l
            if jump:
                for x in range(a, b):
                    w = row_word[own_rows[x]]
                    lists[n_l] = w | _CONT
                    n_l += 1
                    if _is_end(w):
                        break
                lists[n_l] = _JUMP | (np.uint64(node_first[parent]) << _U32)
                n_l += 1
                node_jump[j] = True
                node_hops[j] = node_hops[parent] + 1
            else:
                x = 0
                while True:
                    if x < n_extra and (pa >= pb or extra[x] + 1 < np.int64((lists[pa] >> _U41) & _ROW22)
                                        or lists[pa] == SENTINEL):
                        w = row_word[extra[x]]
                        x += 1
                    elif pa < pb:
                        w = lists[pa]
                        pa += 1
                    else:
                        w = SENTINEL
                    lists[n_l] = w
                    n_l += 1
                    if _is_end(w):
                        break
            node_first[j] = first
            node_end[j] = n_l
            # the prefix opens its interval
            if (bound[n_i - 1] >> _U32) != np.uint64(p_start[j]):
                n_i += 1
            bound[n_i - 1] = (np.uint64(p_start[j]) << _U32) | np.uint64(first)
            stack[depth] = j
            depth += 1
            j += 1
    tab_start[n_tables] = n_i
    return tab_start, bound[:n_i].copy(), lists[:n_l].copy(), node_first, node_end, node_jump


@jit
def _index_list(ws, out, o):
    """Write the index of the plain list ``ws`` (priority order, its terminator included) at
    out[o:]; returns the new end. Layout, offsets relative to the header h = o::

        h:              header: port_lo 0xFFFF > port_hi 0 (no row has that), row field = C
        h+1+2c, h+2+2c: class c (C of them; the last = every protocol without rows of its own):
                        word A: proto << 32 | (first row fitting a packet without ports) + 1 << 41
                        word B: port list offset from h << 32 | its length
        port lists:     per class, (first port << 32 | first fitting row + 1, 0 = none), ascending
                        from port 0: the class's rows cut into elementary port intervals

    A class's rows are those of its protocol and of protocol any, in priority order."""
    seen = np.zeros(256, np.bool_)
    for w in ws:
        seen[(w >> _U32) & _LO8] = True
    seen[0] = False
    protos = np.flatnonzero(seen)
    n_cls = protos.shape[0] + 1
    out[o] = (np.uint64(n_cls) << _U41) | np.uint64(0xFFFF_0000)
    e = o + 1 + 2 * n_cls
    marks = np.empty(2 * ws.shape[0] + 1, np.int64)
    for c in range(n_cls):
        q = np.uint64(protos[c]) if c < n_cls - 1 else _U0
        # the class's rows, their port boundaries, the first fitting row without ports
        nonport = _U0
        m = 1
        marks[0] = 0
        for w in ws:
            rp = (w >> _U32) & _LO8
            if rp == _U0 or rp == q:
                if nonport == _U0 and (w >> _U40) & _U1:
                    nonport = ((w >> _U41) & _ROW22) | _CONT  # row + 1 (0 = sentinel: none), marked found
                marks[m] = np.int64((w >> _U16) & _LO16)
                marks[m + 1] = np.int64(w & _LO16) + 1
                m += 2
        b = np.unique(marks[:m])
        b = b[b <= 0xFFFF]
        ans = np.zeros(b.shape[0], np.int64)
        nxt = np.arange(b.shape[0] + 1)  # next unpainted interval at or after i (path-halved)
        for w in ws:
            rp = (w >> _U32) & _LO8
            if rp != _U0 and rp != q:
                continue
            i = np.searchsorted(b, np.int64((w >> _U16) & _LO16))
            stop = np.searchsorted(b, np.int64(w & _LO16) + 1)
            while True:
                r = i
                while nxt[r] != r:
                    nxt[r] = nxt[nxt[r]]
                    r = nxt[r]
                if r >= stop:
                    break
                ans[r] = np.int64((w >> _U41) & _ROW22)  # row + 1 (the sentinel's 0 paints "none")
                nxt[r] = r + 1
                i = r + 1
        out[o + 1 + 2 * c] = (q << _U32) | ((nonport & _LO32) << _U41)
        start = e
        for i in range(b.shape[0]):
            if i > 0 and ans[i] == ans[i - 1]:
                continue
            out[e] = (np.uint64(b[i]) << _U32) | np.uint64(ans[i])
            e += 1
        out[o + 2 + 2 * c] = (np.uint64(start - o) << _U32) | np.uint64(e - start)
    return e


@jit
def _index_long_lists(rules, node_first, node_end, node_jump, index_at):
    """Rules with every merged list longer than ``index_at`` words replaced by its index; and
    the map old list start -> new (for the intervals' words). Jump lists are copied, their
    targets moved."""
    out = np.empty(rules.shape[0] + 1, np.uint64)
    remap = np.full(rules.shape[0] + 1, -1, np.int64)
    out[0] = rules[0]
    remap[0] = 0
    e = 1
    seen = np.zeros(256, np.bool_)
    for j in range(node_first.shape[0]):
        a = node_first[j]
        b = node_end[j]
        remap[a] = e
        n = b - a
        need = n
        long = n > index_at and not node_jump[j]
        if long:
            seen[:] = False
            for k in range(a, b):
                seen[(rules[k] >> _U32) & _LO8] = True
            n_cls = np.int64(seen[1:].sum()) + 1
            need = 1 + 2 * n_cls + n_cls * (2 * n + 1)  # <= 2 rows + 1 port intervals a class
        if e + need > out.shape[0]:
            grown = np.empty(max(e + need, 2 * out.shape[0]), np.uint64)
            grown[:e] = out[:e]
            out = grown
        if long:
            e = _index_list(rules[a:b], out, e)
        else:
            out[e:e + b - a] = rules[a:b]
            e += b - a
    for j in range(node_first.shape[0]):
        if node_jump[j]:
            k = remap[node_first[j]] + node_end[j] - node_first[j] - 1  # the jump, last word
            out[k] = _JUMP | (np.uint64(remap[np.int64(out[k] >> _U32)]) << _U32)
    return out[:e].copy(), remap


def _column(values, name: str, n: int | None, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise ValueError(f"{name}: must be 1-d of length {n}, got shape {a.shape}")
    if a.size == 0:
        return np.zeros(0, np.int64)
    if a.dtype.kind not in "ui" and a.dtype != bool:
        raise ValueError(f"{name}: must hold integers, got {a.dtype}")
    a = a.astype(np.int64) if a.dtype != np.uint64 else a
    bad = (a < lo) | (a > hi) if a.dtype != np.uint64 else a > np.uint64(hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"rules[{k}].{name}: {int(a[k])} is outside {lo}..{hi}")
    return a.astype(np.int64)


def build(table, net, plen, proto, port_lo, port_hi, n_tables: int, *, index_at: int = None) -> dict:
    """The ``cls_*`` arrays of a rule set (rows in priority order; see the module docstring).
    Host bits of ``net`` beyond ``plen`` are ignored. ValueError (one line, naming the row and
    field) on a value out of range or ``port_lo > port_hi``. Lists longer than ``index_at``
    words (default `INDEX_AT`) are indexed by protocol and port."""
    return _compile(table, net, plen, proto, port_lo, port_hi, n_tables, index_at)[0]


def _compile(table, net, plen, proto, port_lo, port_hi, n_tables, index_at=None):
    """`build`, plus the distinct prefixes (table, start, plen, first list word), for the benchmark's
    hash-per-length variant."""
    if isinstance(n_tables, bool) or not isinstance(n_tables, (int, np.integer)) or not 0 <= n_tables <= TABLE_LIMIT:
        raise ValueError(f"n_tables: {n_tables!r} must be an integer in 0..{TABLE_LIMIT}")
    n_tables = int(n_tables)
    tab = _column(table, "table", None, 0, max(n_tables - 1, 0))
    n = tab.shape[0]
    if n and n_tables == 0:
        raise ValueError(f"rules[0].table: {int(tab[0])} is outside 0..-1 (n_tables is 0)")
    if n >= ROW_LIMIT:
        raise ValueError(f"rules: {n} rows, at most {ROW_LIMIT - 1}")
    net_ = _column(net, "net", n, 0, ALL32)
    plen_ = _column(plen, "plen", n, 0, 32)
    proto_ = _column(proto, "proto", n, 0, 255)
    lo = _column(port_lo, "port_lo", n, 0, 0xFFFF)
    hi = _column(port_hi, "port_hi", n, 0, 0xFFFF)
    if (lo > hi).any():
        k = int(np.argmax(lo > hi))
        raise ValueError(f"rules[{k}].port_lo: {int(lo[k])} is above port_hi {int(hi[k])}")
    size = np.left_shift(np.int64(1), 32 - plen_)
    start = net_ & ~(size - 1) & ALL32
    # distinct prefixes, sorted by (table, start, plen): an enclosing prefix before its nested ones
    key = (tab << 38) | (start << 6) | plen_
    uniq, node = np.unique(key, return_inverse=True)
    p_table = uniq >> 38
    p_start = (uniq >> 6) & ALL32
    p_end = p_start + (np.int64(1) << (32 - (uniq & 63))) - 1
    order = np.argsort(node, kind="stable")  # rows grouped by node, ascending within
    own_start = np.searchsorted(node[order], np.arange(uniq.shape[0] + 1))
    full = (lo == 0) & (hi == 0xFFFF)
    rows = np.arange(n, dtype=np.int64)
    word = (((rows + 1).astype(np.uint64) << np.uint64(_ROW_SHIFT)) | (full.astype(np.uint64) << np.uint64(_FULL_BIT))
            | (proto_.astype(np.uint64) << np.uint64(32)) | (lo.astype(np.uint64) << np.uint64(16))
            | hi.astype(np.uint64))
    index_at = INDEX_AT if index_at is None else int(index_at)
    tab_start, bound, rules, node_first, node_end, node_jump = _sweep(
        p_table, p_start, p_end, n_tables, own_start.astype(np.int64), order.astype(np.int64), word, index_at)
    if n and int((node_end - node_first)[~node_jump].max()) > index_at:
        rules, remap = _index_long_lists(rules, node_first, node_end, node_jump, index_at)
        bound = (bound & ~_LO32) | remap[(bound & _LO32).astype(np.int64)].astype(np.uint64)
        node_first = remap[node_first]
    out = {"cls_tab_start": tab_start, "cls_bound": bound, "cls_rules": rules, "cls_rows": n,
           "cls_src_table": tab.astype(np.int32), "cls_src_net": net_.astype(np.uint32),
           "cls_src_plen": plen_.astype(np.uint8), "cls_src_proto": proto_.astype(np.uint8),
           "cls_src_port_lo": lo.astype(np.uint16), "cls_src_port_hi": hi.astype(np.uint16)}
    for v in out.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return out, (p_table, p_start, uniq & 63, node_first)


# ---- reports -----------------------------------------------------------------------------------
def nbytes(cls) -> int:
    """Bytes of the lookup structure (`COLUMNS`; the ``cls_src_*`` copies of the input that
    `lookup` scans are not counted: the data plane never reads them)."""
    return int(sum(_get(cls, c).nbytes for c in COLUMNS))


@jit
def _walk_lengths(bound, rules):
    """Per interval: the most words a scan may read (rows, jumps, an index counted as 1), and
    whether it meets an index."""
    words = np.zeros(bound.shape[0], np.int64)
    indexed = np.zeros(bound.shape[0], np.bool_)
    for i in range(bound.shape[0]):
        k = np.int64(bound[i] & _LO32)
        n = 0
        while True:
            w = rules[k]
            n += 1
            hi = w & _LO16
            if ((w >> _U16) & _LO16) > hi:
                if hi == _U1:
                    k = np.int64(w >> _U32)
                    continue
                indexed[i] = True
                break
            if _is_end(w) and not (w >> _U63):
                break
            k += 1
        words[i] = n
    return words, indexed


def stats(cls) -> dict:
    """Shape figures: intervals, list words, intervals whose scan meets an index, the most and
    mean words a scan may read (over intervals: rows, jumps, an index counted as one), the
    deepest address search (halvings + one counted line), bytes and bytes per row."""
    ts = _get(cls, "cls_tab_start").astype(np.int64)
    bound = _get(cls, "cls_bound")
    rules = _get(cls, "cls_rules")
    words, indexed = _walk_lengths(bound, rules)
    per_table = np.diff(ts)
    deepest = int(per_table.max()) if per_table.size else 1
    steps = 0
    while deepest > LINEAR_TAIL:
        deepest -= deepest >> 1
        steps += 1
    rows = int(_get(cls, "cls_rows"))
    b = nbytes(cls)
    return {"rows": rows, "tables": int(per_table.shape[0]), "intervals": int(bound.shape[0]),
            "list_words": int(rules.shape[0]), "indexed_intervals": int(indexed.sum()),
            "longest_scan": int(words.max()) if words.size else 0,
            "mean_scan": float(words.mean()) if words.size else 0.0, "search_steps": steps + 1,
            "bytes": b, "bytes_per_row": b / rows if rows else float("nan")}


# ---- NetworkPolicy helper ----------------------------------------------------------------------
def prefixes_minus(net: ipaddress.IPv4Network, excepts) -> list[ipaddress.IPv4Network]:
    """``net`` minus the ``excepts`` as the fewest prefixes, in address order (an ipBlock's
    cidr minus its ``except`` list). An except outside ``net`` removes nothing; one that covers
    ``net`` removes all of it."""
    net = ipaddress.IPv4Network(net)
    exc = sorted({ipaddress.IPv4Network(e) for e in excepts}, key=lambda e: (int(e.network_address), e.prefixlen))
    exc = [e for e in exc if e.overlaps(net)]
    out: list[ipaddress.IPv4Network] = []

    def cut(p: ipaddress.IPv4Network, inside: list) -> None:
        # inside: the excepts overlapping p (each nests in p or covers it)
        if not inside:
            out.append(p)
            return
        if any(e.prefixlen <= p.prefixlen for e in inside):
            return  # an except covers p
        lo, hi = p.subnets(1)
        cut(lo, [e for e in inside if e.subnet_of(lo)])
        cut(hi, [e for e in inside if e.subnet_of(hi)])

    cut(net, exc)
    return out


SOURCE = ("cls_src_table", "cls_src_net", "cls_src_plen", "cls_src_proto", "cls_src_port_lo", "cls_src_port_hi")
FIELDS = COLUMNS + SOURCE
"""Every array `build` returns, by `Tables` field name (the kernels read `COLUMNS`)."""


@kernel(inline="always")
def classify_view(dp, table, ip, proto, port):
    """`classify` over a kernel view's `COLUMNS` (the data plane's DFW stage)."""
    return classify(dp.cls_tab_start, dp.cls_bound, dp.cls_rules, table, ip, proto, port)
