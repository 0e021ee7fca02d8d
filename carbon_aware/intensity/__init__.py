"""Grid carbon-intensity providers behind one interface."""

from carbon_aware.intensity.base import (
    CarbonIntensityProvider,
    IntensityKind,
    IntensityReading,
    IntensitySnapshot,
)
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.http import IntensityFetchError
from carbon_aware.intensity.registry import PROVIDER_NAMES, fetch_snapshot, get_provider

__all__ = [
    "PROVIDER_NAMES",
    "CarbonIntensityProvider",
    "IntensityFetchError",
    "IntensityKind",
    "IntensityReading",
    "IntensitySnapshot",
    "RegionFetchError",
    "fetch_snapshot",
    "get_provider",
]
