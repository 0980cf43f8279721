"""Packets ``start .. start+n-1`` of a seeded stream, in chunks: the one chunker of every generator.

A generator says how it makes packets with a `Maker`: ``block(j, m)`` gives the columns
(numpy arrays) of the first m packets of block j (`words.BLOCK` packet indices; row r does
not depend on m, see `words`), ``batch(columns)`` turns a chunk's columns into a
`PacketBatch`. `Maker.columns` cuts any range into chunks from its first packet, making each
block it touches once, so a run that starts at packet 10**9 costs the blocks it needs, not
the packets before it: what lets the Dask spans (`fastpath.scaleout`) make their own packets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from ..packets import INPUT_FIELDS, PacketBatch
from .words import BLOCK


def check_run(packets: int, seed: int, chunk: int, start: int = 0) -> None:
    """One-line errors for a run's arguments."""
    if packets < 0 or chunk <= 0:
        raise ValueError("packets must be >= 0 and chunk > 0")
    if seed < 0:
        raise ValueError(f"seed {seed} must be >= 0")
    if start < 0:
        raise ValueError(f"start {start} must be >= 0")


def traffic_pool(workers: int):
    """The pool `Maker.batches` makes a run's chunks with, beside the calling thread: a context
    holding ``workers - 1`` threads (None for one worker)."""
    return ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="fastpath-traffic") if workers > 1 \
        else nullcontext()


class Maker(NamedTuple):
    """How a generator makes packets, block by block (see the module docstring)."""

    block: Callable[[int, int], dict]
    batch: Callable[[dict], PacketBatch]

    def columns(self, start: int, packets: int, chunk: int) -> Iterator[dict]:
        """The columns of packets ``start .. start+packets-1``, cut every ``chunk`` from start."""
        hi = start + packets
        have, cached = -1, None
        lo = start
        while lo < hi:
            end = min(lo + chunk, hi)
            parts, i = [], lo
            while i < end:
                j = i // BLOCK
                if j != have:  # a block that straddles chunks is made once
                    have, cached = j, self.block(j, min(BLOCK, hi - j * BLOCK))
                off = i - j * BLOCK
                take = min(BLOCK - off, end - i)
                parts.append({k: v[off:off + take] for k, v in cached.items()})
                i += take
            yield parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            lo = end

    def batches(self, start: int, packets: int, chunk: int, pool: Executor | None = None,
                workers: int = 1) -> Iterator[PacketBatch]:
        """The batches of packets ``start .. start+packets-1``, cut every ``chunk``. With a
        ``pool`` and ``workers`` > 1, each chunk is made in up to ``workers`` parts at once (the
        calling thread and ``pool``'s), cut on block boundaries and written side by side into
        the chunk's columns: the same packets, sooner (numpy's generators, gathers and copies
        run without the GIL)."""
        if pool is None or workers < 2:
            for cols in self.columns(start, packets, chunk):
                yield self.batch(cols)
            return
        lo, hi = start, start + packets
        while lo < hi:
            end = min(lo + chunk, hi)
            yield self._chunk_in_parts(lo, end, pool, workers)
            lo = end

    def _chunk_in_parts(self, lo: int, hi: int, pool: Executor, workers: int) -> PacketBatch:
        cuts = sorted({lo, hi} | {c for c in (round((lo + (hi - lo) * k / workers) / BLOCK) * BLOCK
                                              for k in range(1, workers)) if lo < c < hi})
        if len(cuts) == 2:
            return self.batch(next(self.columns(lo, hi - lo, hi - lo)))
        out = PacketBatch(*(np.empty(hi - lo, dtype) for _, dtype, _ in INPUT_FIELDS))

        def part(a: int, b: int) -> None:
            made = self.batch(next(self.columns(a, b - a, b - a)))
            for dst, src in zip(out, made):
                dst[a - lo:b - lo] = src

        jobs = [pool.submit(part, a, b) for a, b in zip(cuts[1:-1], cuts[2:])]
        try:
            part(cuts[0], cuts[1])
        finally:
            for job in jobs:
                job.result()
        return out
