"""Grid carbon-intensity providers behind one interface."""

from carbon_aware.intensity.base import (
    CarbonIntensityProvider,
    IntensityKind,
    IntensityReading,
    IntensitySnapshot,
)
from carbon_aware.intensity.registry import PROVIDER_NAMES, fetch_snapshot, get_provider

__all__ = [
    "PROVIDER_NAMES",
    "CarbonIntensityProvider",
    "IntensityKind",
    "IntensityReading",
    "IntensitySnapshot",
    "fetch_snapshot",
    "get_provider",
]
