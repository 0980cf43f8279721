"""Lookup tables, one module per kind: layout essay, frozen view, builder, scalar lookup, bulk kernel.

- `exact`: exact match of a two-word key ``(k0, k1)`` -> int (bucketized cuckoo hash).
- `lpm`: longest-prefix match for many router instances in one exact table.
"""

from . import exact, lpm
from .exact import ExactTable
from .lpm import LpmTable

__all__ = ["ExactTable", "LpmTable", "exact", "lpm"]
