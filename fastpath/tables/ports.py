"""Logical ports: one packed 32-byte record per port, and the only code that knows its bits.

What?
-----
A port is a pod (ids ``0..P-1``) or a node (ids ``P..P+N-1``). The data plane reads a port's
MAC, IP, segment, node and host on almost every hop: on the 1M-pod cluster the source and the
destination record are most of a packet's cache misses. So the columns are packed into one
record of four ``uint64`` words (two records to a 64-byte line) and a packet pays one miss a
port instead of one a column.

Layout (``port_rec: uint64[P+N, 4]``)
-------------------------------------
::

    word 0:  63   60 59      48 47                                  0
            +-------+----------+-------------------------------------+
            | 0     | vlan     | mac                                 |
            +-------+----------+-------------------------------------+
    word 1:  63                 32 31                                0
            +---------------------+-----------------------------------+
            | segment             | ip                                |
            +---------------------+-----------------------------------+
    word 2:  63                 32 31                                0
            +---------------------+-----------------------------------+
            | host                | node                              |
            +---------------------+-----------------------------------+
    word 3:  63    56 55             32 31              8 7      0
            +--------+-----------------+-----------------+--------+
            | 0      | dfw_ingress     | dfw_egress      | kind   |
            +--------+-----------------+-----------------+--------+

``vlan`` is 0 for node ports (untagged), ``segment`` 0 for node ports (the node segment).
``kind`` is `PORT_POD` / `PORT_NODE`. ``dfw_egress`` / ``dfw_ingress``: the DFW classifier
table the port evaluates a connection in when it is the connection's source / destination
(`fastpath.compile.dfw`; < 2**24), read from the line the port's other fields come on.

Why the builder is here and the columns in `compile`
-----------------------------------------------------
`tables/` sits below `compile/` and never reads the model: `fastpath.compile.ports` maps the
cluster onto plain columns (which pod runs where, its namespace's segment) and this module
packs them. So the bits are written and read in one file, and a test can pack any columns it
likes (the extreme values, say) without building a cluster.

API
---
- `pack` — port columns -> records (the builder; `fastpath.compile.ports` makes the columns);
- `mac_of`, `vlan_of`, `ip_of`, `segment_of`, `node_of`, `host_of`, `kind_of` — the word
  decoders: jitted, and through ``.py_func`` the same expressions over whole numpy columns
  (`fastpath.compile.bundle.Tables`' decoded properties use them);
- `decode` — one record as a `Port` (the scalar lookup, plain Python);
- `port_mac`, `port_ip`, `port_segment`, `port_node`, `port_host` — the numba accessors
  ``(rec, p)`` the kernels inline (segment, node and host as int64 indices).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import kernel
from ..verdicts import DeviceKind
from .lines import zeros_on_lines

PORT_POD = int(DeviceKind.POD)
PORT_NODE = int(DeviceKind.NODE)
PORT_WORDS = 4
"""uint64 words a record: 32 bytes."""
assert PORT_WORDS * 8 == 32

W_MAC_VLAN, W_IP_SEGMENT, W_NODE_HOST, W_KIND = range(PORT_WORDS)
MAC_BITS = 48
VLAN_SHIFT = MAC_BITS
HIGH_SHIFT = 32
"""segment and host sit in the high half of their words, ip and node in the low half."""

_MAC48 = np.uint64((1 << MAC_BITS) - 1)
_LO32 = np.uint64(0xFFFF_FFFF)
_VLAN_SHIFT = np.uint64(VLAN_SHIFT)
_HIGH = np.uint64(HIGH_SHIFT)
_BYTE = np.uint64(0xFF)
_TABLE24 = np.uint64((1 << 24) - 1)
DFW_TABLE_LIMIT = 1 << 24
_EGRESS_SHIFT, _INGRESS_SHIFT = np.uint64(8), np.uint64(32)


class Port(NamedTuple):
    """One decoded port record."""

    mac: int
    vlan: int
    ip: int
    segment: int
    node: int
    host: int
    kind: int
    dfw_egress: int
    dfw_ingress: int


# ---- builder -----------------------------------------------------------------------------------------
def pack(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Port columns (``port_mac``, ``port_vlan``, ``port_ip``, ``port_segment``, ``port_node``,
    ``port_host``, ``port_kind``, and optionally ``port_dfw_egress``, ``port_dfw_ingress``: 0
    when absent) -> ``uint64[P+N, 4]`` records."""
    n = cols["port_kind"].shape[0]
    rec = zeros_on_lines((n, PORT_WORDS), np.uint64)  # (a record never straddles two lines: `lines`)
    u = np.uint64
    rec[:, W_MAC_VLAN] = (cols["port_mac"].astype(u) & _MAC48) | (cols["port_vlan"].astype(u) << _VLAN_SHIFT)
    rec[:, W_IP_SEGMENT] = (cols["port_ip"].astype(u) & _LO32) | (cols["port_segment"].astype(u) << _HIGH)
    rec[:, W_NODE_HOST] = (cols["port_node"].astype(u) & _LO32) | (cols["port_host"].astype(u) << _HIGH)
    rec[:, W_KIND] = cols["port_kind"].astype(u)
    for name, shift in (("port_dfw_egress", _EGRESS_SHIFT), ("port_dfw_ingress", _INGRESS_SHIFT)):
        if name in cols:
            t = np.asarray(cols[name])
            if t.size and (t.min() < 0 or t.max() >= DFW_TABLE_LIMIT):
                raise ValueError(f"{name}: a DFW table id outside 0..{DFW_TABLE_LIMIT - 1}")
            rec[:, W_KIND] |= t.astype(u) << shift
    return rec


# ---- word decoders (jitted; ``.py_func`` runs the same expression on numpy columns) -------------------
@kernel(inline="always")
def mac_of(w0):
    return w0 & _MAC48


@kernel(inline="always")
def vlan_of(w0):
    return w0 >> _VLAN_SHIFT


@kernel(inline="always")
def ip_of(w1):
    return w1 & _LO32


@kernel(inline="always")
def segment_of(w1):
    return w1 >> _HIGH


@kernel(inline="always")
def node_of(w2):
    return w2 & _LO32


@kernel(inline="always")
def host_of(w2):
    return w2 >> _HIGH


@kernel(inline="always")
def kind_of(w3):
    return w3 & _BYTE


@kernel(inline="always")
def dfw_egress_of(w3):
    return (w3 >> _EGRESS_SHIFT) & _TABLE24


@kernel(inline="always")
def dfw_ingress_of(w3):
    return (w3 >> _INGRESS_SHIFT) & _TABLE24


def column(rec: np.ndarray, field: str) -> np.ndarray:
    """One decoded column of every record, as a new uint64 array (``field``: a `Port` field)."""
    word, fn = _DECODERS[field]
    return fn.py_func(rec[:, word])


_DECODERS = {"mac": (W_MAC_VLAN, mac_of), "vlan": (W_MAC_VLAN, vlan_of), "ip": (W_IP_SEGMENT, ip_of),
             "segment": (W_IP_SEGMENT, segment_of), "node": (W_NODE_HOST, node_of),
             "host": (W_NODE_HOST, host_of), "kind": (W_KIND, kind_of), "dfw_egress": (W_KIND, dfw_egress_of),
             "dfw_ingress": (W_KIND, dfw_ingress_of)}
assert tuple(_DECODERS) == Port._fields


def decode(rec: np.ndarray, p: int) -> Port:
    """Port ``p``'s record, decoded (plain Python ints; IndexError outside ``0..P+N-1``)."""
    p = int(p)
    if not 0 <= p < rec.shape[0]:
        raise IndexError(f"port {p} outside 0..{rec.shape[0] - 1}")
    row = rec[p]
    return Port(*(int(fn.py_func(row[word])) for word, fn in _DECODERS.values()))


# ---- numba accessors (the kernels' view; inlined) --------------------------------------------------------
@kernel(inline="always")
def port_mac(rec, p):
    return mac_of(rec[p, W_MAC_VLAN])


@kernel(inline="always")
def port_ip(rec, p):
    return np.uint32(ip_of(rec[p, W_IP_SEGMENT]))


@kernel(inline="always")
def port_segment(rec, p):
    return np.int64(segment_of(rec[p, W_IP_SEGMENT]))


@kernel(inline="always")
def port_node(rec, p):
    return np.int64(node_of(rec[p, W_NODE_HOST]))


@kernel(inline="always")
def port_host(rec, p):
    return np.int64(host_of(rec[p, W_NODE_HOST]))


@kernel(inline="always")
def port_dfw_table(rec, p, ingress):
    """The DFW table of port ``p`` for a connection it is the source (``ingress`` False) or the
    destination (True) of."""
    w3 = rec[p, W_KIND]
    return np.int64(dfw_ingress_of(w3)) if ingress else np.int64(dfw_egress_of(w3))
