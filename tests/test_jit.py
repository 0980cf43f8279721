"""The numba flags decided in fastpath._jit do what the kernels rely on."""

import numpy as np

from fastpath._jit import jit, kernel


def _make(decorator):
    @decorator(cache=False)
    def head(a):
        return a[0]

    @decorator(cache=False)
    def loop(a):
        s = 0
        for _ in range(a.shape[0]):
            s += head(a)
        return s

    return loop


def test_kernel_flag_turns_reference_counting_off():
    """`_nrt=False` is a private numba option: if an upgrade ignores it, array arguments are
    reference-counted again (atomics on every call: the pipeline ran 3.5x slower), and this
    test says so."""
    with_nrt, without = _make(jit), _make(kernel)
    a = np.arange(4.0)
    assert with_nrt(a) == without(a) == 0.0
    ir_with = with_nrt.inspect_llvm(with_nrt.signatures[0])
    ir_without = without.inspect_llvm(without.signatures[0])
    assert "NRT_incref" in ir_with or "NRT_decref" in ir_with  # the control: numba counts by default
    assert "NRT_incref" not in ir_without and "NRT_decref" not in ir_without


def test_fastpath_functions_index_without_wraparound():
    """`install_no_wraparound`: a negative index into an array is not counted from its end in
    fastpath's own functions (the kernels range-check every index, so numba's fix-up before each
    access was dead weight: ~25 ns a packet at 1M pods), and still is in anyone else's. The
    fastpath side reads the row before a view, which exists in its base array."""
    from fastpath._jit import NO_WRAPAROUND
    from fastpath.tables import route_lines

    assert NO_WRAPAROUND
    # router 0: five prefixes, so the trie's (`TRIE` in its line); router 1: one prefix
    lines = route_lines.build([0, 0, 0, 0, 0, 1], [0x0A000000, 0x0A010000, 0x0A020000, 0x0A030000, 0x0A040000, 0],
                              [16, 16, 16, 16, 16, 0], 2)
    routers = lines[1:]  # router 1 alone, router 0's line just before it
    assert route_lines.get(routers, 0, 0x0B000001) == 5
    assert route_lines.get(routers, -1, 0x0B000001) == route_lines.TRIE  # the line before, not the last

    @kernel(cache=False)
    def element(a, i):
        return a[i]

    assert element(np.arange(5), -1) == 4  # outside fastpath: Python's semantics kept
