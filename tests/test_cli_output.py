"""Text output into a pipe or a file: no line wrapped (issue 13: a field cut over two lines breaks
every grep and awk downstream). On a terminal rich fits the output to its width as before."""

import subprocess
import sys

from fastpath.model import default_scenario
from fastpath.reference.endpoints import trace


def test_a_piped_trace_keeps_each_hop_on_one_line():
    c = default_scenario()
    res = trace(c, "default/nginx-1", "web/frontend-2")
    out = subprocess.run([sys.executable, "-m", "fastpath", "trace", "default/nginx-1", "web/frontend-2"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    hops = [line for line in out if line[:6].strip().isdigit() and "ttl" in line]
    assert len(hops) == len(res.hops)
    assert max(len(line) for line in hops) > 100  # lines a terminal of 80 columns would have wrapped
    for line, h in zip(hops, res.hops):  # each hop whole on its line: device, result and TTL
        assert h.device in line and line.rstrip().endswith(f"ttl {h.ttl}")
        assert h.result in line
