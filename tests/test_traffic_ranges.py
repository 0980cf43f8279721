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


PART_RANGES = RANGES + [(77, 77 + 3 * BLOCK + 5, 3 * BLOCK + 5), (5, 5 + 4 * BLOCK, 2 * BLOCK - 3)]


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.name}-{p.flows}-{p.sizes.kind}")
def test_a_batch_made_in_parts_at_once_is_the_same_batch(profile, workers):
    """`Maker.batches` with a pool: each chunk cut on block boundaries, made by several threads
    at once and written side by side: the same batches, chunk for chunk and field for field
    (chunks smaller than two blocks are made whole)."""
    from concurrent.futures import ThreadPoolExecutor

    c = default_scenario()
    with ThreadPoolExecutor(max_workers=workers - 1) as pool:
        for lo, hi, chunk in PART_RANGES:
            plain = list(profile.batches(c, hi - lo, seed=4, chunk=chunk, start=lo))
            parted = list(profile.batches(c, hi - lo, seed=4, chunk=chunk, start=lo, pool=pool, workers=workers))
            assert [b.size for b in parted] == [b.size for b in plain]
            for p, q in zip(plain, parted):
                for name, a, b in zip(p._fields, p, q):
                    assert a.dtype == b.dtype and a.flags.c_contiguous == b.flags.c_contiguous, name
                    assert np.array_equal(a, b), (lo, hi, chunk, name)


def test_a_run_on_two_threads_makes_its_traffic_on_both_and_forwards_the_same_packets(monkeypatch):
    """`run_uniform` with 2 threads hands the generator its pool (the chunks made in parts) and
    counts exactly what 1 thread counts."""
    from fastpath.dataplane.api import Dataplane
    from fastpath.dataplane.runner import run_uniform
    from fastpath.traffic import chunks

    c = generate(4, 2, 4, 20)
    dp = Dataplane(c)
    made = []
    real = chunks.Maker._chunk_in_parts

    def spy(self, lo, hi, pool, workers):
        made.append((hi - lo, workers))
        return real(self, lo, hi, pool, workers)

    monkeypatch.setattr(chunks.Maker, "_chunk_in_parts", spy)
    one = run_uniform(c, 3 * BLOCK + 11, threads=1, seed=9, chunk=2 * BLOCK, dataplane=dp)
    assert not made
    two = run_uniform(c, 3 * BLOCK + 11, threads=2, seed=9, chunk=2 * BLOCK, dataplane=dp)
    assert made == [(2 * BLOCK, 2), (BLOCK + 11, 2)]
    assert (one.verdicts, one.reasons, one.stages, one.tunnels, one.underlay_bytes) == \
        (two.verdicts, two.reasons, two.stages, two.tunnels, two.underlay_bytes)
