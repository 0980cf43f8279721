"""Seeded traffic that fills packet batches, chunk by chunk: the uniform generator, named
profiles (`profiles`), packet sizes (`sizes`), and the per-packet randomness they share
(`words`)."""

from .profiles import (BUILTIN_PROFILES, KINDS, MIX_CLASSES, HotService, Locality, Mix, Profile, ServiceShare, Uniform,
                       profile_by_name, profile_from_def, profile_from_params, profile_names)
from .sizes import Sizes, fixed, histogram, imix, sizes_from_spec
from .uniform import uniform_pod_to_pod

__all__ = [
    "BUILTIN_PROFILES", "KINDS", "MIX_CLASSES", "HotService", "Locality", "Mix", "Profile", "ServiceShare", "Sizes",
    "Uniform", "fixed", "histogram", "imix", "profile_by_name", "profile_from_def", "profile_from_params",
    "profile_names", "sizes_from_spec", "uniform_pod_to_pod",
]
