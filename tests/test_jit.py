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
