"""Packets [start, start+n) of a seeded stream are the slice of the whole stream: what lets a
Dask span (or any caller) make its own packets without the ones before."""

import numpy as np
import pytest

from fastpath.model import default_scenario, generate
from fastpath.scaleout import _uniform_profile
from fastpath.traffic import BUILTIN_PROFILES, HotService, Locality, Uniform, imix, uniform_pod_to_pod
from fastpath.traffic.words import BLOCK

RANGES = [(0, 300_000, 1 << 20), (100_000, 250_001, 30_000), (BLOCK - 1, BLOCK + 1, 1), (2 * BLOCK, 3 * BLOCK, BLOCK)]
PROFILES = list(BUILTIN_PROFILES.values()) + [
    Uniform(sizes=imix()), Uniform(flows=50), Locality(flows=1000, flow_zipf=1.2), HotService(flows=77)]


def _concat(batches):
    batches = list(batches)
    return [np.concatenate([b[k] for b in batches]) for k in range(len(batches[0]))]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.name}-{p.flows}-{p.sizes.kind}")
def test_a_range_is_the_slice_of_the_stream(profile):
    c = default_scenario()  # has kube-dns, for hot_dns
    whole, labels = next(profile.labelled_batches(c, 300_000, seed=3, chunk=300_000))
    for lo, hi, chunk in RANGES:
        got = list(profile.labelled_batches(c, hi - lo, seed=3, chunk=chunk, start=lo))
        assert [b.size for b, _ in got] == [min(chunk, hi - s) for s in range(lo, hi, chunk)]
        for name, a, b in zip(whole._fields, _concat(b for b, _ in got), whole):
            assert a.dtype == b.dtype and np.array_equal(a, b[lo:hi]), (lo, hi, name)
        assert np.array_equal(np.concatenate([cls for _, cls in got]), labels[lo:hi])
        plain = _concat(profile.batches(c, hi - lo, seed=3, chunk=chunk, start=lo))
        assert all(np.array_equal(a, b) for a, b in zip(plain, _concat(b for b, _ in got)))


def test_uniform_ranges_are_run_uniforms_packets():
    c = generate(4, 2, 4, 20)
    whole = next(uniform_pod_to_pod(c, 200_000, seed=5, length=300))
    for got in (_concat(_uniform_profile(300).batches(c, 130_000, seed=5, chunk=50_000, start=70_000)),
                _concat(uniform_pod_to_pod(c, 130_000, seed=5, length=300, chunk=50_000, start=70_000))):
        for name, a, b in zip(whole._fields, got, whole):
            assert a.dtype == b.dtype and np.array_equal(a, b[70_000:]), name


def test_bad_run_arguments_are_one_line_errors():
    c = default_scenario()
    for kw, msg in [({"start": -1}, "start -1"), ({"seed": -2}, "seed -2"), ({"chunk": 0}, "chunk > 0")]:
        with pytest.raises(ValueError, match=msg):
            next(Uniform().batches(c, 10, **kw))
        with pytest.raises(ValueError, match=msg):
            next(uniform_pod_to_pod(c, 10, **kw))
