"""Shared test set-up: the real tshark, installed when missing (the tests never skip it), and
child processes that import the installed fastpath."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile

import pytest

# `python -m fastpath` in a child would import the source tree when run from the checkout (the
# current directory goes first on sys.path), whose cython modules a plain `pip install .` does
# not build in place: PYTHONSAFEPATH (Python 3.11) keeps the directory off the path, so
# children run the installed package, as the in-process tests do (--import-mode=importlib).
os.environ["PYTHONSAFEPATH"] = "1"


# ---- test tiers ----------------------------------------------------------------------------------
# `pytest` on a developer's machine runs the default tier (a few minutes); the ``slow`` tests —
# the million-packet differential and fuzz volumes — join it when CI=true, so CI runs the
# README's very command. An explicit ``-m`` expression is the user's choice and is left alone.
def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def pytest_collection_modifyitems(config, items):
    if _ci() or config.getoption("markexpr", ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def pytest_report_header(config):
    return ("tiers: all (CI=true)" if _ci() else
            "tiers: default (slow tests deselected; CI=true or -m slow runs them)")


# ---- workers -------------------------------------------------------------------------------------
# `Dataplane.forward` runs fewer workers than threads asked when a batch is too small to pay for
# them (`api.workers_for`). The tests' batches are small, and they are there to check what many
# workers give: each share is one packet at least here. tests/test_dataplane_batching.py checks
# the rule itself, with its real shares (`real_shares`).
REAL_SHARES = {}


@pytest.fixture(autouse=True)
def _every_worker_gets_a_share(monkeypatch):
    from fastpath.dataplane import api

    if not REAL_SHARES:
        REAL_SHARES.update(MIN_SHARE_WALKED=api.MIN_SHARE_WALKED, MIN_SHARE_CACHED=api.MIN_SHARE_CACHED)
    for name in REAL_SHARES:
        monkeypatch.setattr(api, name, 1)


@pytest.fixture
def real_shares(monkeypatch):
    """`Dataplane.forward` splits batches by its own rule again (`api.workers_for`)."""
    from fastpath.dataplane import api

    for name, value in REAL_SHARES.items():
        monkeypatch.setattr(api, name, value)
    return dict(REAL_SHARES)


def install_debian_package(package: str) -> str:
    """``apt-get install`` a Debian package (as root, else with sudo -n); '' on success, else a
    one-line reason. The tests use the real tools (tshark, Open vSwitch) and never skip them.
    The suite's workers (`pytest -n auto`) take turns: dpkg allows one install at a time."""
    with open(os.path.join(tempfile.gettempdir(), "fastpath-tests-apt.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _apt_install(package)


def _apt_install(package: str) -> str:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
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
def debian_package():
    """``debian_package(name) -> reason``: `install_debian_package` for test modules."""
    return install_debian_package


@pytest.fixture(scope="session")
def tshark() -> str:
    """The tshark executable; installed from the distribution when missing. Never skips."""
    path = shutil.which("tshark")
    if path is None:
        why = install_debian_package("tshark")
        path = shutil.which("tshark") or shutil.which("tshark", path="/usr/bin:/usr/sbin:/bin")
        if path is None:
            pytest.fail(f"tshark is not installed and installing it failed: {why or 'not on PATH afterwards'}",
                        pytrace=False)
    return path


# ---- the hostile-input catalogue (tests/hostile/README.md) -----------------------------------
HANG_SECONDS = 60  # a child still running then is a hang, whatever the machine's load
MEMORY_BUDGET = 1 << 30  # bytes of peak RSS a rejected input may cost


class Rejection:
    """What one child process did with a hostile input."""

    def __init__(self, args, returncode, stdout, stderr, seconds, max_rss):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr
        self.seconds, self.max_rss = seconds, max_rss

    def __repr__(self):
        return (f"fastpath {' '.join(map(str, self.args))}: exit {self.returncode}, {self.seconds:.1f} s, "
                f"{self.max_rss / 2**20:.0f} MiB\nstderr: {self.stderr[-2000:]!r}\nstdout: {self.stdout[-500:]!r}")


# A child's peak memory, as the child itself saw it. wait4's ru_maxrss is no good here: Linux
# carries the high-water mark of the memory a process had *before* exec into it, and a child
# forked from this pytest process starts as a copy of it (hundreds of MiB after the big tests).
# VmHWM in /proc/self/status belongs to the memory map exec made, so it counts only the child's
# own. A sitecustomize module, put on the child's path, writes it to a file at exit.
_HWM_SITE = """
import atexit, os

def _fastpath_report_hwm(path=os.environ.get("FASTPATH_HWM_FILE")):
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(str(kib * 1024))

if os.environ.get("FASTPATH_HWM_FILE"):
    atexit.register(_fastpath_report_hwm)
"""


def run_fastpath(*args, cwd=None, stdin=subprocess.DEVNULL, env=None) -> Rejection:
    """Run ``python -m fastpath ARGS`` as a user would; measure its wall time and peak RSS (the
    child's own VmHWM at exit; wait4's ru_maxrss, an upper bound, when it died before reporting)."""
    import sys
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with open(os.path.join(tmp, "sitecustomize.py"), "w") as f:
            f.write(_HWM_SITE)
        hwm = os.path.join(tmp, "hwm")
        child_env = dict(os.environ if env is None else env, FASTPATH_HWM_FILE=hwm)
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (tmp, child_env.get("PYTHONPATH")) if p)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "fastpath", *map(str, args)], stdout=out, stderr=err,
                                stdin=stdin, cwd=cwd, env=child_env)
        pid, status, usage = 0, 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > HANG_SECONDS:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        try:
            with open(hwm) as f:
                peak = int(f.read())
        except (OSError, ValueError):
            peak = usage.ru_maxrss * 1024
        out.seek(0), err.seek(0)
        res = Rejection(args, code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        seconds, peak)
    log = os.environ.get("FASTPATH_HOSTILE_LOG")  # bench/hostile.py collects every child's figures
    if log:
        import json

        with open(log, "a") as f:
            f.write(json.dumps({"args": [str(a) for a in args], "exit": code, "seconds": seconds,
                                "max_rss": res.max_rss, "stderr": res.stderr.strip()[-300:]}) + "\n")
    return res


def assert_rejected(res: Rejection, *expect: str) -> None:
    """One line on stderr naming the problem (each of ``expect`` in it), exit 2, no traceback,
    nothing on stdout, within the memory budget and not a hang."""
    lines = res.stderr.strip().splitlines()
    assert res.seconds < HANG_SECONDS, f"hung: {res!r}"
    assert res.returncode == 2, res
    assert "Traceback" not in res.stderr, res
    assert len(lines) == 1, res
    assert lines[0].startswith("fastpath: error: "), res
    for piece in expect:
        assert piece in lines[0], f"{piece!r} not in the error line: {res!r}"
    assert res.max_rss < MEMORY_BUDGET, res


@pytest.fixture
def fastpath_cli():
    """``fastpath_cli(*args) -> Rejection``: a real child process, timed and measured."""
    return run_fastpath


@pytest.fixture
def reject():
    """``reject(*args, expect=(pieces...), cwd=None) -> Rejection``: run the child and assert it
    was turned away as `assert_rejected` says (one line naming each piece, exit 2, ...)."""
    def check(*args, expect=(), cwd=None, stdin=subprocess.DEVNULL):
        res = run_fastpath(*args, cwd=cwd, stdin=stdin)
        assert_rejected(res, *((expect,) if isinstance(expect, str) else expect))
        return res

    return check


# ---- a real browser: Debian's chromium, headless, driven by chromedriver (selenium) --------------
class BrowserPage:
    """One page opened in the session's headless chromium. ``console_errors``: the browser
    log's SEVERE entries (console.error, uncaught exceptions, failed loads) since it opened;
    ``requests``: every URL the page asked for (from the DevTools network log)."""

    def __init__(self, driver, path):
        from selenium.webdriver.common.by import By

        self.driver, self.path, self._by = driver, str(path), By.CSS_SELECTOR
        self._errors: list[str] = []
        self._requests: list[str] = []

    def _drain(self) -> None:
        import json

        self._errors += [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        for e in self.driver.get_log("performance"):
            msg = json.loads(e["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                self._requests.append(msg["params"]["request"]["url"])

    @property
    def console_errors(self) -> list[str]:
        self._drain()
        return list(self._errors)

    @property
    def requests(self) -> list[str]:
        self._drain()
        return list(self._requests)

    def count(self, css: str) -> int:
        return len(self.driver.find_elements(self._by, css))

    def text(self, css: str) -> str:
        """The visible text of the first element ``css`` matches (AssertionError when none does)."""
        found = self.driver.find_elements(self._by, css)
        assert found, f"no element matches {css!r} in {self.path}"
        return found[0].text

    def texts(self, css: str) -> list[str]:
        return [e.text for e in self.driver.find_elements(self._by, css)]

    def attrs(self, css: str, name: str) -> list[str | None]:
        return [e.get_attribute(name) for e in self.driver.find_elements(self._by, css)]

    def click(self, css: str) -> None:
        found = self.driver.find_elements(self._by, css)
        assert found, f"no element matches {css!r} in {self.path}"
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", found[0])
        found[0].click()

    def screenshot(self, path) -> int:
        """The whole page (beyond the window) as a PNG at ``path``; the bytes written."""
        import base64

        w, h = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": w, "height": min(h, 16000), "scale": 1}})
        data = base64.b64decode(shot["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


def _browser_missing(why: str):
    """CI must have the browser (.ci/run installs it): fail there; elsewhere skip, saying why."""
    if _ci():
        pytest.fail(f"CI=true and {why}: .ci/run installs chromium, chromium-driver and selenium", pytrace=False)
    pytest.skip(f"{why} (apt-get install chromium chromium-driver; pip install selenium)")


@pytest.fixture(scope="session")
def browser():
    """``browser(path) -> BrowserPage``: open a local file in one headless chromium per session
    (Debian's ``chromium`` and ``chromium-driver``, driven by selenium). The page has
    ``console_errors``, ``count(css)``, ``text(css)``, ``screenshot(path) -> bytes`` (and
    ``requests``, ``texts``, ``attrs``, ``click``, ``driver``). Fails when CI=true and the
    browser is missing; skips otherwise, saying what to install."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _browser_missing("selenium is not installed")
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver_path = shutil.which("chromedriver") or shutil.which("chromedriver", path="/usr/lib/chromium:/usr/bin")
    if chromium is None or driver_path is None:
        _browser_missing("chromium is not installed" if chromium is None else "chromedriver (chromium-driver) is not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium  # both paths given: selenium never looks a driver up on the network
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000",
                "--disable-extensions", "--no-first-run", "--disable-background-networking"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    except WebDriverException as exc:
        _browser_missing(f"headless chromium did not start: {str(exc.msg or exc).splitlines()[0]}")
    driver.set_page_load_timeout(60)

    def open_page(path) -> BrowserPage:
        from pathlib import Path

        driver.get("about:blank")
        driver.get_log("browser"), driver.get_log("performance")  # drop what came before this page
        page = BrowserPage(driver, path)
        driver.get(Path(path).resolve().as_uri())
        return page

    try:
        yield open_page
    finally:
        driver.quit()
