"""Packet sizes of a traffic profile: a histogram of IPv4 total lengths, drawn per packet.

A size is always the *IP total length* of the inner packet (the `PacketBatch.length` field),
never a frame size: the data plane adds the Geneve overhead itself, and a load report that
wants bits on a wire adds its own framing (Ethernet 14 + FCS 4, preamble and gap 20).

Three forms, one class (`Sizes`: lengths and weights):

- ``fixed(n)`` — every packet n bytes.
- ``imix()`` — simple IMIX: 7:4:1 of 64-, 594- and 1518-byte Ethernet frames (FCS included),
  that is IP lengths **46, 576 and 1500** (frame − 14 header − 4 FCS); mean 343.8 bytes.
  (46 is above the model's floor of 28 bytes, so the frame sizes map without clamping.)
- ``histogram([(ip_length, weight), ...])`` — any mix; weights are normalised.

Every length lies in `MIN_IP_LENGTH`..65535. Lengths above a host's MTU less the Geneve
overhead are still generated and end ``mtu-exceeded`` where they cross a tunnel: a profile
says what is offered, not what fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.cluster import MIN_IP_LENGTH
from .words import unit_floats

IMIX_FRAMES = ((64, 7), (594, 4), (1518, 1))
"""Simple IMIX: Ethernet frame bytes (FCS included) and their weights."""

ETHERNET_HEADER_AND_FCS = 18
IMIX_IP_LENGTHS = tuple((frame - ETHERNET_HEADER_AND_FCS, w) for frame, w in IMIX_FRAMES)  # 46, 576, 1500


@dataclass(frozen=True)
class Sizes:
    """A histogram of IP total lengths. ``kind`` says how it was made: "fixed", "imix" or
    "histogram" (so it writes back into a spec as it was given)."""

    lengths: tuple[int, ...]
    weights: tuple[float, ...]
    kind: str = "histogram"

    def __post_init__(self):
        if not self.lengths or len(self.lengths) != len(self.weights):
            raise ValueError("sizes: need one weight per length, at least one length")
        for n in self.lengths:
            if isinstance(n, bool) or int(n) != n or not MIN_IP_LENGTH <= n <= 65535:
                raise ValueError(f"sizes: IP length {n!r} must be an integer in {MIN_IP_LENGTH}..65535")
        if any(not np.isfinite(w) or w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("sizes: weights must be finite, >= 0, and not all 0")

    @property
    def shares(self) -> np.ndarray:
        w = np.asarray(self.weights, np.float64)
        return w / w.sum()

    @property
    def mean_length(self) -> float:
        """Mean IP total length, bytes (offered Gb/s = pps x this x 8)."""
        return float(np.dot(self.shares, self.lengths))

    def draw(self, words: np.ndarray) -> np.ndarray:
        """uint16 lengths, one per 64-bit random word (elementwise: packet i's length depends
        on word i only)."""
        lengths = np.asarray(self.lengths, np.uint16)
        if len(lengths) == 1:
            return np.full(words.shape[0], lengths[0], np.uint16)
        cum = np.cumsum(self.shares)
        k = np.searchsorted(cum, unit_floats(words), side="right")
        return lengths[np.minimum(k, len(lengths) - 1)]

    def to_spec(self):
        """The spec form: an int, "imix", or [[length, weight], ...]."""
        if self.kind == "fixed":
            return int(self.lengths[0])
        if self.kind == "imix":
            return "imix"
        return [[int(n), w] for n, w in zip(self.lengths, self.weights)]

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"{self.lengths[0]} B"
        name = "imix" if self.kind == "imix" else "histogram " + ",".join(f"{n}:{w:g}" for n, w in
                                                                          zip(self.lengths, self.weights))
        return f"{name} (mean {self.mean_length:.1f} B)"


def fixed(length: int) -> Sizes:
    """Every packet ``length`` bytes of IP."""
    return Sizes((int(length),), (1.0,), "fixed")


def imix() -> Sizes:
    """Simple IMIX 7:4:1 as IP lengths 46, 576, 1500 (see the module docstring)."""
    return Sizes(tuple(n for n, _ in IMIX_IP_LENGTHS), tuple(float(w) for _, w in IMIX_IP_LENGTHS), "imix")


def histogram(pairs) -> Sizes:
    """From ``[(ip_length, weight), ...]``."""
    pairs = list(pairs)
    if not pairs or any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in pairs):
        raise ValueError("sizes: a histogram is a non-empty list of (ip_length, weight) pairs")
    return Sizes(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), "histogram")


def sizes_from_spec(value) -> Sizes:
    """An int (fixed), "imix", a list of pairs (histogram), or a `Sizes` as it is."""
    if isinstance(value, Sizes):
        return value
    if value == "imix":
        return imix()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return fixed(int(value))
    if isinstance(value, (list, tuple)):
        return histogram(value)
    raise ValueError(f"sizes: {value!r} is not an IP length, 'imix' or a list of (ip_length, weight) pairs")

