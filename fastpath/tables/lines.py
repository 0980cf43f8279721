"""Cache-line alignment of the tables the kernels read at random.

Why
---
A port record is 32 bytes, a flow-cache entry 256, an exact-match bucket 64: each is read at a
random row, and should cost one line (four for a cache entry) and one prefetch. numpy starts a
big array where ``malloc`` puts it, 16 bytes into a line, so every other port record straddled
two lines: its prefetch fetched the first, and the read of its node/host word (the second half)
missed anyway. On the 1M-pod cluster, the walk ran 8-10 ns a packet faster with the records on
line boundaries (measured A/B in one process: 87-88 ns against 95-97).

So a builder of such a table allocates it here (`empty_on_lines`), and the kernel view puts
every array on a line boundary (`on_lines`), copying only one that is not (an array unpickled,
or built by other code).
"""

from __future__ import annotations

import numpy as np

CACHE_LINE = 64


def is_on_lines(a: np.ndarray) -> bool:
    """Whether ``a`` is C-contiguous and starts on a cache-line boundary."""
    return a.flags.c_contiguous and a.ctypes.data % CACHE_LINE == 0


def _on_lines(shape, dtype, alloc) -> np.ndarray:
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = alloc(nbytes + CACHE_LINE, np.uint8)
    off = -raw.ctypes.data % CACHE_LINE
    return raw[off:off + nbytes].view(dtype).reshape(shape)


def empty_on_lines(shape, dtype) -> np.ndarray:
    """`numpy.empty` starting on a cache-line boundary."""
    return _on_lines(shape, dtype, np.empty)


def zeros_on_lines(shape, dtype) -> np.ndarray:
    """`numpy.zeros` starting on a cache-line boundary (calloc'd, as numpy's: pages nobody
    writes are never mapped, so a big counter matrix costs nothing until it is used)."""
    return _on_lines(shape, dtype, np.zeros)


def on_lines(a: np.ndarray) -> np.ndarray:
    """``a`` itself when it is on a line boundary, else a copy that is (read-only if ``a`` is:
    the kernels' types say which)."""
    if a.size == 0 or is_on_lines(a):
        return a
    out = empty_on_lines(a.shape, a.dtype)
    out[...] = a
    if not a.flags.writeable:
        out.setflags(write=False)
    return out


def zeros_own_lines(shape, dtype) -> np.ndarray:
    """`numpy.zeros` on cache lines of its own: starting on a boundary and padded to the next,
    so no other array shares a line with it (what one worker writes while another writes its
    own: see `rows_on_lines`)."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(x) for x in shape)
    n = int(np.prod(shape, dtype=np.int64))
    padded = -(-n * dtype.itemsize // CACHE_LINE) * CACHE_LINE
    raw = zeros_on_lines(max(padded, CACHE_LINE), np.uint8)
    return raw[:n * dtype.itemsize].view(dtype).reshape(shape)


def rows_on_lines(workers: int, shape, dtype) -> np.ndarray:
    """Zeros of shape ``(workers, *shape)`` whose rows each start on a cache-line boundary and
    share no line: one row per worker, written by that worker alone. Rows packed end to end
    share the line where one ends and the next begins (a verdict row is 32 bytes: two workers'
    in one line), and two cores writing one line take it from each other on every write: on
    the seed scenario, a 2-thread call walking every packet ran 1.25-1.3x one thread, ~1.9x
    with rows apart (bench/RESULTS.md). A row ``a[w:w + 1]`` is C-contiguous; the whole array
    is when its rows fill whole lines (or there is one)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(x) for x in shape)
    per = int(np.prod(shape, dtype=np.int64))
    if CACHE_LINE % dtype.itemsize:  # (an item that does not divide a line: rows packed)
        return zeros_own_lines((workers, *shape), dtype)
    stride = -(-per * dtype.itemsize // CACHE_LINE) * CACHE_LINE // dtype.itemsize
    # (a view: the reshape only splits each row's contiguous run)
    return zeros_own_lines((workers, max(stride, 1)), dtype)[:, :per].reshape((workers, *shape))
