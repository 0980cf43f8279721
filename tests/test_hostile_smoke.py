"""Smoke entries of the catalogue: the harness itself refuses what it should."""

import pytest


@pytest.mark.parametrize("args, expect", [
    (("check", "/nonexistent/spec.yaml"), "/nonexistent/spec.yaml"),
    (("check", "/dev/null"), "/dev/null"),
], ids=["missing-file", "empty-file"])
def test_refused(reject, args, expect):
    reject(*args, expect=expect)
