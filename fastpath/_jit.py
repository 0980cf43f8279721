"""The one place that decides numba flags. Kernels import `jit` / `jit_parallel` from here.

Flags and why:

- ``cache=True``: compiled code is kept on disk beside the module (``__pycache__``); a cold
  compile of a handful of kernels costs seconds, loading them from the cache a fraction of one.
- ``nogil=True``: kernels release the GIL, so callers may run them from several threads.
- ``error_model="numpy"``: integer division by zero does not raise (no check on the fast path);
  kernels validate their inputs instead.
- no ``fastmath``: the kernels are integer code; fastmath only loosens float semantics.
- ``boundscheck`` stays off (numba's default). Kernels mask or range-check every index that
  comes from data before using it.
- no wraparound: an index into an array is never negative in fastpath's own functions, so they
  are compiled without numba's negative-index fix-up (below).

`prefetch_row` is here too: the one low-level helper kernels share (a software prefetch, which
numba does not expose). Staged bulk kernels hash a group of keys, prefetch their rows, then
probe: a probe loop alone keeps too few cache misses in flight (measured 3x on 1M entries).

Indexing without wraparound
---------------------------
Numba follows Python: ``a[i]`` with a signed ``i`` is ``a[i + len(a)]`` when ``i < 0``, a compare
and a select before every access whose index the compiler cannot prove non-negative — every
index a kernel loads from a table or a slot list. Cython turns that off with
``wraparound=False``; numba has no such flag, so `install_no_wraparound` swaps numba's helper
that emits the fix-up (``numba.np.arrayobj.fix_integer_index``) for one that skips it when the
function being compiled is fastpath's own (its LLVM name mangles the ``fastpath`` package),
and keeps it everywhere else (numba's library code, user code). The contract is the one
``boundscheck`` already asks of kernels: every index is checked or masked into ``[0, n)``
before use; a negative one would read before the array. Measured: the staged walk of a 1M-pod
cluster 96-98 -> 72-74 ns a packet (bench/RESULTS.md, "Update (Dec 7, afternoon)").
The swap is installed on import of this module; numba versions that lack the helper keep the
fix-up (`NO_WRAPAROUND` is then False) and lose only the speed.

Caveat of ``cache=True``: numba invalidates a cached kernel when *its own* source file changes,
not when a jitted function it calls in another module does. After editing a kernel that others
call across modules (e.g. `fastpath.tables.exact.get`), clear the caches
(``find fastpath -name '*.nbi' -delete -o -name '*.nbc' -delete``) or set
``NUMBA_CACHE_DIR`` to a fresh directory.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_OWN = "_ZN8fastpath"
"""How the LLVM name of a function of the ``fastpath`` package begins (numba's Itanium-style
mangling of its qualified name: the component's length, then the component)."""


def install_no_wraparound() -> bool:
    """Compile fastpath's functions without numba's negative-index fix-up (module docstring).
    Idempotent; returns whether it is in place."""
    try:
        from numba.np import arrayobj
    except ImportError:  # pragma: no cover - a numba without the module
        return False
    fix = getattr(arrayobj, "fix_integer_index", None)
    if fix is None:  # pragma: no cover - a numba that emits the fix-up elsewhere
        return False
    if getattr(fix, "_fastpath", False):
        return True

    def fix_integer_index(context, builder, idxty, idx, size):
        if idxty.signed and builder.function.name.startswith(_OWN):
            return context.cast(builder, idx, idxty, types.intp)
        return fix(context, builder, idxty, idx, size)

    fix_integer_index._fastpath = True
    arrayobj.fix_integer_index = fix_integer_index
    return True


NO_WRAPAROUND = install_no_wraparound()
"""Whether fastpath's functions compile without the negative-index fix-up."""

JIT_FLAGS: dict = {"cache": True, "nogil": True, "error_model": "numpy"}
"""Flags of every serial kernel."""

KERNEL_FLAGS: dict = {**JIT_FLAGS, "_nrt": False}
"""Flags of hot loops that allocate nothing: numba's runtime (NRT) off. With it on, every
array handed to a jitted callee, or read out of a NamedTuple of arrays, is reference-counted
with atomic increments; in the pipeline that cost more than the table lookups (a one-rule DFW
call: ~130 ns a packet). Off, the pipeline ran 3.5x faster. A kernel compiled this way cannot
allocate (np.empty and friends fail to compile), which is the point."""

JIT_PARALLEL_FLAGS: dict = {**JIT_FLAGS, "parallel": True}
"""Flags of kernels with ``prange`` loops. Hand each worker a slice that starts at index 0:
a chunk that starts elsewhere keeps negative-index checks and ran 4-5x slower per thread."""


def jit(fn=None, **overrides):
    """``@jit``, ``@jit(inline="always")`` or ``@jit(signature)``: `numba.njit` with
    `JIT_FLAGS` (overridable). A signature compiles one version, eagerly (cached on disk)."""
    flags = {**JIT_FLAGS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**flags)(f)
    if not callable(fn) or isinstance(fn, numba.core.typing.templates.Signature):
        return lambda f: numba.njit(fn, **flags)(f)
    return numba.njit(**flags)(fn)


def kernel(fn=None, **overrides):
    """``@kernel``: `jit` with `KERNEL_FLAGS` (no NRT: no allocation, no reference counting)."""
    return jit(fn, **{"_nrt": False, **overrides})


def jit_parallel(fn=None, **overrides):
    """``@jit_parallel``: like `jit` with ``parallel=True``."""
    flags = {**JIT_PARALLEL_FLAGS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**flags)(f)
    return numba.njit(**flags)(fn)


@intrinsic
def prefetch_row(typingctx, arr, row):
    """``prefetch_row(arr, i)``: hint the CPU to load the cache line at ``&arr[i, 0, ...]``
    (C-contiguous array, any number of dimensions). No bounds check: a prefetch never faults,
    but pass a valid row anyway."""
    if not isinstance(arr, types.Array) or not isinstance(row, types.Integer):
        return None
    sig = types.void(arr, row)

    def codegen(context, builder, signature, args):
        aty, rty = signature.args
        a, i = args
        ary = context.make_array(aty)(context, builder, a)
        i = context.cast(builder, i, rty, types.intp)
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, [i] + [zero] * (aty.ndim - 1),
                                       wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read (0), high temporal locality (3), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
