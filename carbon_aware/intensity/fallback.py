"""Per-region fan-out shared by the live providers, with the static annual figure as fallback."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.http import DEFAULT_MAX_IN_FLIGHT, IntensityFetchError, map_concurrently
from carbon_aware.intensity.static import MissingAnnualDataError, StaticAnnualProvider

LOGGER = logging.getLogger(__name__)


class UnsupportedRegionError(IntensityFetchError):
    """The provider has no grid region for this GCP region."""


class ZoneMismatchError(IntensityFetchError):
    """The provider answered for another grid zone than the one asked for."""


class RegionFetchError(IntensityFetchError):
    """One or more regions could not be fetched and no fallback was allowed (or possible).

    Attributes:
        failures: Region id -> the cause, in request order.
    """

    def __init__(self, provider: str, failures: dict[str, Exception]) -> None:
        self.failures = failures
        lines = "; ".join(f"{region}: {cause}" for region, cause in failures.items())
        noun = "region" if len(failures) == 1 else "regions"
        super().__init__(
            f"{provider}: could not fetch carbon intensity for {len(failures)} {noun} "
            f"({', '.join(failures)}): {lines}"
        )


def fallback_reading(region: str, cause: str) -> IntensityReading:
    """Returns the static annual figure for ``region``, labelled ``kind=fallback`` with the cause.

    Raises:
        MissingAnnualDataError: Google publishes no annual figure for the region.
    """
    annual = StaticAnnualProvider().annual(region)
    return dataclasses.replace(
        annual,
        kind=IntensityKind.FALLBACK,
        detail=f"fallback to {annual.datetime_utc} annual average; live fetch failed: {cause}",
    )


def fetch_regions(
    provider: str,
    regions: Sequence[str],
    fetch_one: Callable[[str], list[IntensityReading]],
    *,
    allow_fallback: bool,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> list[IntensityReading]:
    """Fetches every region concurrently and flattens the series, in region order.

    Args:
        provider: Provider name, for messages.
        regions: GCP region ids.
        fetch_one: Fetches one region's readings; raises :class:`IntensityFetchError` on failure.
        allow_fallback: Whether a failed region gets its static annual figure (``kind=fallback``).
        max_in_flight: Most requests in flight at once.

    Returns:
        The readings of every region (one fallback reading for a region that failed).

    Raises:
        RegionFetchError: Naming each region that failed and why, when fallback is off or the
            region has no annual figure either.
    """
    outcomes = map_concurrently(list(regions), fetch_one, max_in_flight=max_in_flight)
    readings: list[IntensityReading] = []
    failures: dict[str, Exception] = {}
    for region, outcome in zip(regions, outcomes, strict=True):
        if not isinstance(outcome, IntensityFetchError):
            readings.extend(outcome)
            continue
        if not allow_fallback:
            failures[region] = outcome
            continue
        try:
            readings.append(fallback_reading(region, str(outcome)))
        except MissingAnnualDataError as err:
            failures[region] = IntensityFetchError(f"{outcome}; and no fallback: {err}")
            continue
        LOGGER.warning("%s: %s falls back to the annual average: %s", provider, region, outcome)
    if failures:
        raise RegionFetchError(provider, failures)
    return readings
