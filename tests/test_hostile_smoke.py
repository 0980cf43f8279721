"""Smoke entries of the catalogue: the harness itself refuses what it should."""

import pytest


@pytest.mark.parametrize("args, expect", [
    (("check", "/nonexistent/spec.yaml"), "/nonexistent/spec.yaml"),
    (("check", "/dev/null"), "/dev/null"),
], ids=["missing-file", "empty-file"])
def test_refused(reject, args, expect):
    reject(*args, expect=expect)


def test_a_childs_peak_memory_is_its_own(fastpath_cli, tmp_path):
    """The budget is the child's memory, not this test process's: a parent holding 600 MiB does
    not show in the child's peak (wait4's ru_maxrss would show it), and a child that does build
    something big shows more than the bare start-up."""
    import numpy as np

    ballast = np.ones(600 << 17)  # 600 MiB, touched
    bare = fastpath_cli("--version")
    assert bare.returncode == 0 and bare.max_rss < 300 << 20 and ballast[-1] == 1.0
    del ballast
    big = fastpath_cli("generate", "--hosts", "100", "--nodes-per-host", "4", "--pods-per-node", "250",
                       "--namespaces", "50", "--out", tmp_path / "big.json")
    assert big.returncode == 0, big
    assert big.max_rss > bare.max_rss + (20 << 20)
