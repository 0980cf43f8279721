"""Lookup tables, one module per kind: layout essay, frozen view, builder, scalar lookup, bulk kernel.

- `exact`: exact match of a two-word key ``(k0, k1)`` -> int (bucketized cuckoo hash).
- `mtrie`: longest-prefix match for many router instances, a multibit trie (the data plane's).
- `lpm`: longest-prefix match for many router instances in one exact table (the alternative).
- `bulk`: argument checks the route tables' bulk lookups share.
"""

from . import exact, lpm
from .exact import ExactTable
from .lpm import LpmTable

__all__ = ["ExactTable", "LpmTable", "exact", "lpm"]
