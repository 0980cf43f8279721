"""Shared test set-up: the real tshark, installed when missing (the tests never skip it), and
child processes that import the installed fastpath."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# `python -m fastpath` in a child would import the source tree when run from the checkout (the
# current directory goes first on sys.path), whose cython modules a plain `pip install .` does
# not build in place: PYTHONSAFEPATH (Python 3.11) keeps the directory off the path, so
# children run the installed package, as the in-process tests do (--import-mode=importlib).
os.environ["PYTHONSAFEPATH"] = "1"


def _install_tshark() -> str:
    """Install Debian's tshark; '' on success, else a one-line reason."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "tshark"]):
        try:
            r = subprocess.run(sudo + ["env", "DEBIAN_FRONTEND=noninteractive"] + cmd, check=False,
                               capture_output=True, text=True, timeout=1200)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(cmd)}: {exc}"
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            return f"{' '.join(sudo + cmd)} exited {r.returncode}: {last}"
    return ""


@pytest.fixture(scope="session")
def tshark() -> str:
    """The tshark executable; installed from the distribution when missing. Never skips."""
    path = shutil.which("tshark")
    if path is None:
        why = _install_tshark()
        path = shutil.which("tshark") or shutil.which("tshark", path="/usr/bin:/usr/sbin:/bin")
        if path is None:
            pytest.fail(f"tshark is not installed and installing it failed: {why or 'not on PATH afterwards'}",
                        pytrace=False)
    return path
