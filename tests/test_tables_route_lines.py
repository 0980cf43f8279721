"""`fastpath.tables.route_lines`: a small router's table as one line, against the trie and the
control plane's own lookup (`fastpath.model.routing.lookup`), on every router of the seed and
of generated clusters: random addresses and every route's first, last and outside neighbours."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from fastpath.compile import compile_cluster
from fastpath.model import default_scenario, generate, routing
from fastpath.tables import mtrie, route_lines

CLUSTERS = {
    "seed": default_scenario,
    "generated": lambda: generate(6, 2, 4, 5, service_t1_fraction=0.5, edges=1, seed=3),
}


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_lines_answer_as_the_trie_and_the_rib(name):
    c = CLUSTERS[name]()
    t = compile_cluster(c)
    rib = list(routing.rib(c).values())
    rng = np.random.default_rng(1)
    small = 0
    first_route = np.searchsorted(t.route_router, np.arange(len(rib)))
    for r, inst in enumerate(rib):
        probes = set(rng.integers(0, 1 << 32, 200).tolist())
        for rt in inst.routes:
            lo, hi = int(rt.prefix.network_address), int(rt.prefix.broadcast_address)
            probes |= {lo, hi, max(lo - 1, 0), min(hi + 1, (1 << 32) - 1)}
        got_lines = [route_lines.lookup(t.route_lines, r, ip) for ip in sorted(probes)]
        if got_lines[0] == route_lines.TRIE:
            assert len({rt.prefix for rt in inst.routes}) > route_lines.SLOTS
            continue
        small += 1
        for ip, got in zip(sorted(probes), got_lines):
            want = mtrie.lookup(t.route_trie, r, ip)
            assert got == want, (inst.name, ipaddress.IPv4Address(ip))
            assert int(route_lines.get(t.route_lines, r, ip)) == got
            ref = routing.lookup(inst, ip)
            assert (got == -1) == (ref is None)
            if ref is not None:
                assert inst.routes[got - first_route[r]] is ref
    assert small >= len(c.namespaces)  # every namespace T1 DR is a line
