"""`fastpath.tables.dfw`: first-match rule columns — the scalar lookup and the numba kernel
against the reference walk's reading of the rules, on generated policies and edge cases."""

from __future__ import annotations

import ipaddress
import itertools

import numpy as np
import pytest

from fastpath.compile import compile_cluster
from fastpath.model import generate
from fastpath.model.cluster import DfwRule
from fastpath.tables import dfw
from fastpath.tables.dfw import DFW_ACTIONS, DFW_ALLOW, DFW_DENY


class Cols:
    """Rule columns as attributes (what `dfw.lookup` reads)."""

    def __init__(self, rules, default):
        self.__dict__.update(dfw.build(rules, default))


def oracle(rules, default, src, dst, proto, dport):
    """The slow, obvious answer (the reference walk's rule): (action name, rule index or -1)."""
    s, d = ipaddress.IPv4Address(src), ipaddress.IPv4Address(dst)
    for k, r in enumerate(rules):
        ports_ok = r.dport_lo <= dport <= r.dport_hi if proto in (6, 17) else (r.dport_lo, r.dport_hi) == (0, 65535)
        if s in r.src and d in r.dst and r.proto in (0, proto) and ports_ok:
            return r.action, k
    return default, -1


def kernel(t, src, dst, proto, dport):
    return dfw.first_match(*(getattr(t, c) for c in dfw.COLUMNS), np.int64(t.dfw_default), np.uint32(src),
                           np.uint32(dst), np.int64(proto), np.int64(dport))


def check(rules, default, packets) -> list[int]:
    """Scalar lookup and kernel against the oracle on every packet; the matching rules."""
    t = Cols(rules, default)
    hits = []
    for src, dst, proto, dport in packets:
        action, k = oracle(rules, default, src, dst, proto, dport)
        code = DFW_ACTIONS.index(action)
        assert dfw.lookup(t, src, dst, proto, dport) == (code, k), (src, dst, proto, dport)
        deny, matched = kernel(t, src, dst, proto, dport)
        assert (bool(deny), bool(matched)) == (code == DFW_DENY, k >= 0), (src, dst, proto, dport)
        hits.append(k)
    return hits


def net(s):
    return ipaddress.IPv4Network(s)


ANY = net("0.0.0.0/0")
A, B = int(ipaddress.IPv4Address("10.1.0.5")), int(ipaddress.IPv4Address("10.2.0.9"))


def test_first_rule_wins_over_a_later_one():
    rules = [DfwRule("allow-web", "allow", net("10.1.0.0/16"), net("10.2.0.0/16"), 6, 80, 80),
             DfwRule("deny-all", "deny", ANY, ANY)]
    check(rules, "allow", [(A, B, 6, 80), (A, B, 6, 81), (B, A, 6, 80), (A, B, 17, 80)])
    assert dfw.lookup(Cols(rules, "allow"), A, B, 6, 80) == (DFW_ALLOW, 0)
    assert dfw.lookup(Cols(rules, "allow"), A, B, 6, 81) == (DFW_DENY, 1)


@pytest.mark.parametrize("lo, hi", [(0, 0), (0, 65535), (65535, 65535), (1, 65534), (0, 65534), (1, 65535)])
def test_port_ranges_at_the_edges(lo, hi):
    rules = [DfwRule("r", "deny", ANY, ANY, 0, lo, hi)]
    packets = [(A, B, proto, port) for proto, port in itertools.product((0, 1, 6, 17, 47, 255), (0, 1, 65534, 65535))]
    check(rules, "allow", packets)


@pytest.mark.parametrize("rule_proto", [0, 1, 6, 17])
def test_proto_zero_is_any_and_other_protocols_match_only_port_less_rules(rule_proto):
    rules = [DfwRule("ranged", "deny", ANY, ANY, rule_proto, 1000, 2000),
             DfwRule("port-less", "allow", ANY, ANY, rule_proto),
             DfwRule("rest", "deny", ANY, ANY)]
    packets = [(A, B, proto, port) for proto, port in itertools.product((0, 1, 6, 17, 132), (0, 999, 1000, 2000, 2001))]
    check(rules, "allow", packets)


def test_no_rule_and_no_match_give_the_default():
    for default in DFW_ACTIONS:
        check([], default, [(A, B, 6, 80), (0, 0xFFFF_FFFF, 0, 0)])
        check([DfwRule("other", "allow", net("192.168.0.0/16"), ANY)], default, [(A, B, 17, 53)])


def test_host_routes_and_the_whole_space():
    rules = [DfwRule("one", "deny", net("10.1.0.5/32"), net("10.2.0.9/32")),
             DfwRule("all", "allow", ANY, net("255.255.255.255/32"))]
    check(rules, "deny", [(A, B, 6, 1), (A + 1, B, 6, 1), (A, B - 1, 6, 1), (0, 0xFFFF_FFFF, 1, 0), (A, 0xFFFF_FFFE, 1, 0)])


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_generated_policies_on_random_packets(seed):
    c = generate(3, 2, 5, 8, dfw_rules=12, seed=seed)
    rng = np.random.default_rng(seed)
    ips = np.concatenate([c.pods.ip, rng.integers(0, 1 << 32, 40)])
    packets = [(int(rng.choice(ips)), int(rng.choice(ips)), int(rng.choice([0, 1, 6, 17, 47])),
                int(rng.choice([0, 53, 80, 443, 8080, 65535, rng.integers(0, 65536)]))) for _ in range(400)]
    hits = check(c.dfw_rules, c.dfw_default, packets)
    assert len(set(hits) - {-1}) >= 3 and -1 in hits  # several rules matched, and the default
    t = compile_cluster(c)  # the bundle's columns are the builder's
    for k in dfw.COLUMNS:
        assert np.array_equal(getattr(t, k), getattr(Cols(c.dfw_rules, c.dfw_default), k))
    assert t.dfw_default == DFW_ACTIONS.index(c.dfw_default)
