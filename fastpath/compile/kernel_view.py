"""The kernel view: `Tables` flattened into the one NamedTuple the numba kernels take, by name.

What?
-----
numba takes a NamedTuple whole (a dataclass it cannot), and an `ExactTable` or `Mtrie` inside
one would make every kernel generic over their Python fields. So the kernels read
`KernelView`: arrays and numpy scalars only. Each of its fields is filled from the `Tables`
field of the same name; nothing restates the bundle's fields in order, so a field added to
both is picked up, and a field renamed in one fails when this module is imported (`check`),
not deep inside a kernel at run time.

Where a field comes from (`source_of`), in order:
1. the `Tables` field of that name (``port_rec``, ``seg_mask``, ``router_mac``, ...);
2. ``<table>_<part>`` for a table view field: an `ExactTable` gives ``<table>_buckets`` and
   ``<table>_seed`` (``ovs_mac_buckets``, ``neighbor_seed``), an `Mtrie` ``<table>_nodes``
   (``route_trie_nodes``) — the parts the kernels' lookups take (`VIEW_PARTS`);
3. a derived scalar, computed here and only here (`DERIVED`): ``deep_prefetch``.
Scalars are cast to the annotated numpy type, so every view of every cluster has one numba
type and the kernels compile once. Arrays start on a cache-line boundary (`tables.lines`: an
array that does not, say one unpickled, is copied), so a row of a line or less is one line.
"""

from __future__ import annotations

import typing
from typing import NamedTuple

import numpy as np

from ..tables.exact import ExactTable
from ..tables.lines import on_lines
from ..tables.mtrie import Mtrie
from .bundle import Tables

DEEP_PREFETCH_BYTES = 512 << 10
"""Ports + ARP arrays above this size turn the data plane's prefetch pipeline on: measured, it
pays from ~25k pods (0.9 MB) and costs where everything fits L1/L2 (the seed, 4k pods)."""

VIEW_PARTS: dict[type, tuple[str, ...]] = {ExactTable: ("buckets", "seed"), Mtrie: ("nodes",)}
"""A table view field contributes these attributes, as ``<field>_<attribute>``."""


class KernelView(NamedTuple):
    """What the kernels read (see the module docstring for where each field comes from)."""

    port_rec: np.ndarray
    host_mtu: np.ndarray
    geneve_overhead: np.int64
    ovs_mac_buckets: np.ndarray
    ovs_mac_seed: np.uint64
    vif_buckets: np.ndarray
    vif_seed: np.uint64
    segment_l2_buckets: np.ndarray
    segment_l2_seed: np.uint64
    neighbor_buckets: np.ndarray
    neighbor_seed: np.uint64
    neighbor_dense: np.ndarray
    seg_nb_off: np.ndarray
    router_mac: np.uint64
    seg_vni: np.ndarray
    seg_router: np.ndarray
    seg_gateway: np.ndarray
    seg_net: np.ndarray
    seg_mask: np.ndarray
    rtr_is_sr: np.ndarray
    rtr_host: np.ndarray
    rtr_transit_vni: np.ndarray
    rtr_kind: np.ndarray
    uplink_ip: np.ndarray
    uplink_router: np.ndarray  # router instance a packet from each uplink enters
    uplink_host: np.ndarray  # the host it enters on
    route_trie_nodes: np.ndarray
    route_lines: np.ndarray
    n_routers: np.int64
    route_router: np.ndarray  # the router instance holding each route (whose seed its ECMP hash takes)
    rtr_ecmp_seed: np.ndarray
    route_kind: np.ndarray
    route_arg: np.ndarray
    route_arrive_ip: np.ndarray
    cls_tab_start: np.ndarray
    cls_bound: np.ndarray
    cls_rules: np.ndarray
    dfw_row_decision: np.ndarray
    dfw_decision_allow: np.ndarray
    dfw_table_policy: np.ndarray
    dfw_table_twin: np.ndarray
    dfw_table_const: np.ndarray
    dfw_admin_src_net: np.ndarray
    dfw_admin_src_mask: np.ndarray
    dfw_admin_dst_net: np.ndarray
    dfw_admin_dst_mask: np.ndarray
    dfw_admin_proto: np.ndarray
    dfw_admin_lo: np.ndarray
    dfw_admin_hi: np.ndarray
    dfw_n_admin: np.int64
    dfw_local: np.int64
    n_pods: np.int64
    n_nodes: np.int64
    n_hosts: np.int64
    deep_prefetch: bool  # run the prefetch pipeline (tables bigger than the caches)


def _deep_prefetch(t: Tables) -> bool:
    return t.port_rec.nbytes + t.neighbor_dense.nbytes > DEEP_PREFETCH_BYTES


DERIVED: dict[str, typing.Callable[[Tables], object]] = {"deep_prefetch": _deep_prefetch}
"""Kernel fields that are no `Tables` field: name -> how to compute it from the tables."""


def source_of(name: str, table_types: dict[str, object], derived=DERIVED) -> tuple[str, str | None] | None:
    """Where kernel field ``name`` comes from: (Tables field, attribute of it or None), or
    ("", None) for a derived scalar; None if nothing provides it. ``table_types``: Tables'
    field name -> its type."""
    if name in table_types:
        return name, None
    for field, ty in table_types.items():
        for part in VIEW_PARTS.get(ty, ()):
            if name == f"{field}_{part}":
                return field, part
    if name in derived:
        return "", None
    return None


def check(view_fields, table_types: dict[str, object], derived=DERIVED) -> None:
    """Raise TypeError naming every kernel field that no Tables field or derived scalar
    provides (run at import on `KernelView`; tests call it with made-up fields)."""
    missing = [f for f in view_fields if source_of(f, table_types, derived) is None]
    if missing:
        raise TypeError(f"kernel view fields with no source in Tables: {', '.join(missing)}")


_TABLE_TYPES = typing.get_type_hints(Tables)
_VIEW_TYPES = typing.get_type_hints(KernelView)
check(KernelView._fields, _TABLE_TYPES)
_SOURCES = {f: source_of(f, _TABLE_TYPES) for f in KernelView._fields}


def kernel_view(tables: Tables, **override) -> KernelView:
    """The kernel view of ``tables``; ``override`` replaces fields by name (e.g. deep_prefetch)."""
    values = {}
    for name, (field, part) in _SOURCES.items():
        if name in override:
            v = override[name]
        elif not field:
            v = DERIVED[name](tables)
        else:
            v = getattr(tables, field)
            if part is not None:
                v = getattr(v, part)
        ty = _VIEW_TYPES[name]
        values[name] = on_lines(v) if ty is np.ndarray else ty(v)
    return KernelView(**values)
