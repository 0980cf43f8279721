"""The reference walk on generated clusters: expectations derived from model facts alone."""

import numpy as np
import pytest

from fastpath.model import generate
from fastpath.reference import trace
from fastpath.verdicts import Verdict


@pytest.mark.parametrize("kw", [
    dict(hosts=4, nodes_per_host=2, namespaces=6, pods_per_node=12, seed=1),
    dict(hosts=3, nodes_per_host=3, namespaces=5, pods_per_node=8, placement="packed", seed=2),
    dict(hosts=5, nodes_per_host=1, namespaces=8, pods_per_node=20, service_t1_fraction=0.5, edges=2, seed=3),
])
def test_random_endpoint_pairs_follow_the_model(kw):
    c = generate(**kw)
    rng = np.random.default_rng(7)
    names = list(c.pod_index) + [n.name for n in c.nodes]
    sr = {r.name for r in c.t1s if r.edge}
    for _ in range(300):
        a, b = (names[i] for i in rng.integers(0, len(names), 2))
        if a == b:
            continue
        res = trace(c, a, b)
        assert res.verdict is Verdict.DELIVERED, (a, b, res.reason)
        info = []
        for x in (a, b):
            if "/" in x:
                p = c.pod(x)
                info.append((c.segment_of_namespace(p.namespace), c.node(p.node).host, p.ip))
            else:
                n = c.node(x)
                info.append((c.node_segment, n.host, n.ip))
        (sa, ha, _), (sb, hb, ipb) = info
        assert int(res.traceroute[-1]) == ipb
        if sa.name == sb.name:
            assert res.ttl_out == 64 and len(res.traceroute) == 1
            assert [t.vni for t in res.tunnels] == ([sb.vni] if ha != hb else [])
        else:
            # T1, T0, T1, plus DR->SR hops for each T1 with a service router
            extra = (sa.t1 in sr) + (sb.t1 in sr)
            assert res.ttl_out == 61 - extra
            assert res.via_edge is (extra > 0)
            # hosts visited: source, the SR edge of each T1 that has one, destination
            routers = {r.name: r for r in c.t1s}
            stops = [(ha, None)]
            for seg in (sa, sb):
                r = routers[seg.t1]
                if r.edge:
                    stops.append((r.edge, r.transit_vni))
            stops.append((hb, sb.vni))
            want = [(x[0], y[0], y[1]) for x, y in zip(stops, stops[1:])]
            want = [w for w in _collapse(want)]
            assert [(t.src_host, t.dst_host, t.vni) for t in res.tunnels] == want


def _collapse(legs):
    """Drop legs that stay on one host (no tunnel); the packet's host carries over."""
    out, here = [], legs[0][0] if legs else None
    for _src, dst, vni in legs:
        if dst != here:
            out.append((here, dst, vni))
            here = dst
    return out
