"""The README runs as written.

- Its ```python blocks, in order, are one script, run in a fresh interpreter in an empty
  directory, at the README's own sizes (about 20 s warm: nothing is scaled down). A whole-line
  comment right after a ``print(...)`` line is the output the README promises: it must be a
  line of what the script printed.
- Its ```sh commands run as child processes (``python -m fastpath``) on the seed scenario and
  on the README's example spec. Each README command is a key of `COMMANDS` (the invocations
  that stand for it: placeholders such as SRC, FILE, N filled in, and ``--packets`` lowered
  where the README's run is bigger than a test needs — each says why) or of `SKIPPED` (with the
  reason). A command added to the README, or one of these keys no longer in it, fails
  `test_every_readme_command_is_run_or_skipped_with_a_reason`.
  The Dask options (``--workers 2``, ``--scheduler tcp://host:8786``) appear in prose only,
  not in a command block: tests/test_scaleout.py runs them.
- The blocks that show output (the demo's traceroute, the error line of ``fastpath check
  bad.yaml``) are held to what the commands print.

The markdown is parsed with markdown-it-py (rich's own markdown parser).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from fastpath.model import default_scenario
from fastpath.model.addressing import ip_to_str, mac_to_str

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 600
ENV = {**os.environ, "PYTHONSAFEPATH": "1", "COLUMNS": "120"}  # rich wraps at 80 columns off a terminal
DOTTED = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"


def _fences(lang: str) -> list[str]:
    """The contents of the README's fenced blocks of info string ``lang`` ('' = unlabeled), in order."""
    tokens = MarkdownIt().parse(README.read_text())
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == lang]


def readme_commands() -> list[str]:
    """Every distinct command of the ```sh blocks, in order: comment cut, an indented line
    continuing the one above, ``a && b`` as two commands, whitespace collapsed."""
    lines: list[str] = []
    for block in _fences("sh"):
        for line in block.splitlines():
            text = re.split(r"\s#", line, maxsplit=1)[0].strip()
            if not text:
                continue
            if line[:1].isspace() and lines:
                lines[-1] += " " + text
            else:
                lines.append(text)
    cmds = [" ".join(c.split()) for line in lines for c in line.split("&&")]
    return list(dict.fromkeys(cmds))


# ---- the README's commands, and what runs for each ----------------------------------------------
_SEED = default_scenario()
_DNS = _SEED.pods[_SEED.pod_index["kube-system/kube-dns"]]

SKIPPED = {
    "pip install .": "installs the package: the suite runs the one installed (or PYTHONPATH's tree)",
    "pip install '.[test]'": "installs the package with the test extras",
    "pytest -n auto": "runs this very suite",
}
"""README command -> why it is not run here."""

COMMANDS = {
    "fastpath demo": [["demo", "--packets", "200000"]],  # 4M packets by default: 200k print the same report
    "fastpath trace SRC DST [--cluster FILE] [--ttl N] [--proto udp|tcp|icmp|N] [--sport P] [--dport P] "
    "[--size BYTES] [--src-ip IP] [--src-mac MAC] [--reply] [--json] [--pcap FILE]": [
        ["trace", "kube-system/kube-dns", "worker-2"],
        ["trace", "kube-system/kube-dns", "worker-2", "--ttl", "64", "--proto", "udp", "--sport", "33434",
         "--dport", "53", "--size", "100", "--src-ip", ip_to_str(_DNS.ip), "--src-mac", mac_to_str(_DNS.mac),
         "--json", "--pcap", "walk.pcap"],
        ["trace", "kube-system/kube-dns", "worker-2", "--reply"],
        ["trace", "web/frontend-1", "worker-2", "--cluster", "spec.yaml"],  # the README's example spec
        ["trace", "default/nginx-1", "10.96.0.10", "--dport", "53"],  # DNS through kube-dns's Service
        ["trace", "payments/checkout-1", "10.96.0.100", "--proto", "tcp", "--dport", "80", "--cluster",
         "spec-with-services.yaml"],
    ],
    "fastpath trace default/nginx-1 10.96.0.10 --dport 53 --pcap dns.pcap --svg dns.svg --html dns.html": [
        ["trace", "default/nginx-1", "10.96.0.10", "--dport", "53", "--pcap", "dns.pcap", "--svg", "dns.svg",
         "--html", "dns.html"],
    ],
    "fastpath reach [--cluster FILE] [--proto tcp|udp|sctp] [--port N] [--from NS[/POD]] [--to NS[/POD]] [--json]": [
        ["reach"],
        ["reach", "--cluster", "spec-with-policy.yaml", "--proto", "tcp", "--port", "443", "--from", "payments",
         "--to", "web/frontend-1", "--json"],
    ],
    "fastpath run [--cluster FILE | --generate 1000x4x250x200] [--packets N] [--threads T] [--json]": [
        ["run", "--packets", "200000", "--threads", "2", "--json"],
        ["run", "--cluster", "spec.yaml", "--packets", "100000"],
        ["run", "--generate", "1000x4x250x200", "--packets", "100000", "--json"],  # the 1M-pod cluster, 100k packets
    ],
    "fastpath run --profile locality --report --offered-mpps 2.5": [
        ["run", "--profile", "locality", "--report", "--offered-mpps", "2.5"],
    ],
    "fastpath run --no-flow-cache --engine staged --json": [
        ["run", "--no-flow-cache", "--engine", "staged", "--json", "--packets", "100000"],
    ],
    "fastpath study pods-per-node --values 10,30,110,250,500,1000,4000 --out DIR": [
        # 1M packets a point by default: 100k still measure every point
        ["study", "pods-per-node", "--values", "10,30,110,250,500,1000,4000", "--out", "study", "--packets", "100000"],
    ],
    "fastpath study pods-per-node --per-pod-pps 2000 --out DIR": [
        ["study", "pods-per-node", "--per-pod-pps", "2000", "--out", "load", "--packets", "100000"],
    ],
    "fastpath study pods-per-node --cluster FILE --values 30,110,250 --per-pod-pps 2000 --out DIR": [
        ["study", "pods-per-node", "--cluster", "spec.yaml", "--values", "30,110,250", "--per-pod-pps", "2000",
         "--out", "ours", "--packets", "50000"],  # the README's example spec; 1M packets a point by default
    ],
    "fastpath show fdb|vif NODE [--json]": [["show", "fdb", "worker-1"], ["show", "vif", "worker-1", "--json"]],
    "fastpath show routes|arp ROUTER [--json]": [["show", "routes", "t0-sr"], ["show", "arp", "t1-kube-system", "--json"]],
    "fastpath show costs [--cluster FILE] [--json]": [["show", "costs"], ["show", "costs", "--cluster", "spec.yaml", "--json"]],
    "fastpath report RESULT... --html DIR": [
        ["study", "pods-per-node", "--values", "10,110", "--packets", "20000", "--out", "s"],  # a RESULT to draw
        ["report", "s", "--html", "page"],
    ],
    "fastpath capture --at pod|uplink|underlay|edge --out F.pcap [--packets N] [--profile P] [--nanosecond]": [
        ["capture", "--at", "pod", "--out", "pod.pcap"],
        ["capture", "--at", "uplink", "--out", "uplink.pcap", "--packets", "20000", "--nanosecond"],
        ["capture", "--at", "underlay", "--out", "underlay.pcap", "--profile", "locality"],
        ["capture", "--at", "edge", "--out", "edge.pcap", "--profile", "north_south"],
    ],
    "fastpath replay F.pcap [--cluster FILE] [--json] [--ignore-checksums]": [
        ["capture", "--at", "underlay", "--out", "F.pcap", "--packets", "20000"],  # the F.pcap it replays
        ["replay", "F.pcap"],
        ["replay", "F.pcap", "--json"],
        ["replay", "F.pcap", "--ignore-checksums"],
    ],
    "fastpath check FILE": [["check", "spec.yaml"], ["check", "spec-with-traffic.yaml"]],
    "fastpath generate --hosts 10 --nodes-per-host 4 --pods-per-node 250 --namespaces 20 --out big.json": [
        ["generate", "--hosts", "10", "--nodes-per-host", "4", "--pods-per-node", "250", "--namespaces", "20",
         "--out", "big.json"],
    ],
}
"""README command -> the ``fastpath`` invocations that run it, in order, in one directory."""


def fastpath(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastpath", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A directory holding the README's example spec (its first ```yaml block) as spec.yaml,
    with its NetworkPolicy (the second block) as spec-with-policy.yaml, with its Service (the
    third) as spec-with-services.yaml, and with the capacities and profiles of its fourth block
    as spec-with-traffic.yaml."""
    d = tmp_path_factory.mktemp("readme")
    spec, policy, services, traffic = _fences("yaml")
    (d / "spec.yaml").write_text(spec)
    (d / "spec-with-policy.yaml").write_text(spec + policy)
    (d / "spec-with-services.yaml").write_text(spec + services)
    (d / "spec-with-traffic.yaml").write_text(spec + traffic)
    return d


def test_every_readme_command_is_run_or_skipped_with_a_reason():
    cmds = readme_commands()
    missing = [c for c in cmds if c not in COMMANDS and c not in SKIPPED]
    stale = [c for c in [*COMMANDS, *SKIPPED] if c not in cmds]
    assert not missing, f"README commands the test neither runs nor skips: {missing}"
    assert not stale, f"commands the test runs or skips that the README no longer has: {stale}"
    for cmd in COMMANDS:  # each invocation runs the command it stands for
        name = shlex.split(cmd)[1]
        assert any(inv[0] == name for inv in COMMANDS[cmd]), cmd


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_readme_command_runs(workdir, cmd):
    for args in COMMANDS[cmd]:
        proc = fastpath(workdir, *args)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, \
            f"fastpath {' '.join(args)}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
        _check_output(args, proc.stdout)


def _check_output(args: list[str], out: str) -> None:
    """What a person reads in the answer: addresses dotted, JSON parseable, the shown blocks true."""
    if "--json" in args:
        doc = json.loads(out)
        if args[0] == "reach":  # the README's policy: payments reaches web on TCP 443
            assert doc["pairs"] and all(p["allowed"] and p["by"] == "policy web/payments-only" for p in doc["pairs"])
        if args[0] == "trace":
            assert doc["traceroute"] and all(re.fullmatch(DOTTED, ip) for ip in doc["traceroute"]), doc["traceroute"]
            assert doc["verdict"] == "delivered" and doc["traceroute"][-1] == "172.15.0.4"
    elif args[0] in ("trace", "demo"):
        hops = re.findall(rf"^\s+\d+\s+({DOTTED})\s+\S+$", out, re.M)
        assert hops, f"no traceroute hop with a dotted address in:\n{out[:2000]}"
        for ip in hops:
            ipaddress.IPv4Address(ip)
    if args[0] == "demo":
        shown = next(b for b in _fences("") if b.startswith("traceroute "))
        lines = [line.rstrip() for line in out.splitlines()]
        for line in shown.splitlines():
            assert line.rstrip() in lines, f"the README's demo line {line!r} is not in the demo's output"


def test_the_readme_error_example_is_what_check_prints(workdir):
    """```` $ fastpath check bad.yaml ````: the README's example spec with pods[0] on VLAN 5000
    (the pod its error line names) gets exactly the line the README shows, exit 2."""
    (block,) = [b for b in _fences("") if b.startswith("$ fastpath check bad.yaml")]
    command, shown = block.strip().splitlines()
    spec = yaml.safe_load(_fences("yaml")[0])
    spec["pods"][0]["vlan"] = 5000
    (workdir / "bad.yaml").write_text(yaml.safe_dump(spec))
    proc = fastpath(workdir, *shlex.split(command)[2:])
    assert proc.returncode == 2 and proc.stderr.strip() == shown, proc.stderr


def test_the_python_blocks_run_as_one_script_and_print_what_they_say(tmp_path):
    blocks = _fences("python")
    assert len(blocks) >= 4
    script = "\n".join(blocks)
    (tmp_path / "readme.py").write_text(script)
    proc = subprocess.run([sys.executable, "readme.py"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout.splitlines()
    # the README's promised outputs: a whole-line comment right after a print(...) line
    lines = script.splitlines()
    promised = [nxt.strip()[2:] for line, nxt in zip(lines, lines[1:])
                if line.startswith("print(") and nxt.strip().startswith("# ")]
    assert promised, "the README promises no printed line"
    for want in promised:
        assert want in printed, f"the README says a print shows {want!r}; it printed:\n{proc.stdout[:3000]}"
    # the traceroute prints dotted addresses, no bare integers
    (tr,) = [line for line in printed if line.startswith("delivered worker-2 ")]
    assert re.fullmatch(rf"delivered worker-2 61 \[{DOTTED}(, {DOTTED})*\]", tr), tr
    # the capture and replay reports, and the bottleneck, print as sentences, not reprs
    assert any(re.match(r"[\d,]+ frames \([\d,]+ bytes\) seen at pod from 100,000 packets", x) for x in printed)
    assert any(re.match(r"[\d,]+ frames replayed .*malformed: none$", x) for x in printed)
    (line,) = [x for x in printed if x.startswith("bottleneck: ")]
    assert line.removeprefix("bottleneck: ") in printed  # print(report.bottleneck): the report's own line
    assert not any("CaptureReport(" in x or "ReplayReport(" in x or "{'device'" in x for x in printed)
    for name in ("underlay.pcap", "pods.pcap", "out/summary.md", "out/pods-per-node.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
