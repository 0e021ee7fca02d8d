"""Provider lookup by name, and the fetch used by the fetch-intensity step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from carbon_aware.intensity.base import CarbonIntensityProvider, IntensitySnapshot
from carbon_aware.intensity.static import StaticAnnualProvider
from carbon_aware.regions import validate_regions

_FACTORIES: dict[str, Callable[[], CarbonIntensityProvider]] = {
    "static": StaticAnnualProvider,
}
PROVIDER_NAMES: tuple[str, ...] = tuple(sorted(_FACTORIES))


def get_provider(name: str) -> CarbonIntensityProvider:
    """Returns the provider called ``name``.

    Raises:
        ValueError: ``name`` is not a known provider; the message lists the known ones.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown intensity_provider {name!r}; allowed: {', '.join(PROVIDER_NAMES)}"
        ) from None
    return factory()


def fetch_snapshot(
    provider_name: str, regions: list[str], now: datetime | None = None
) -> IntensitySnapshot:
    """Fetches one reading per region from the named provider.

    Args:
        provider_name: A name from :data:`PROVIDER_NAMES`.
        regions: GCP region ids (validated against the catalogue first).
        now: The fetch time to record (defaults to the current UTC time).

    Returns:
        The snapshot handed to choose-region.
    """
    checked = validate_regions(regions)
    provider = get_provider(provider_name)
    readings = tuple(provider.latest(checked))
    fetched_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return IntensitySnapshot(provider=provider.name, fetched_at_utc=fetched_at, readings=readings)
