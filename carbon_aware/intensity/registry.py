"""Provider lookup by name, and the fetch used by the fetch-intensity step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from carbon_aware.intensity.base import CarbonIntensityProvider, IntensitySnapshot
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.csv_series import CsvSeriesProvider
from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.http import JsonHttpClient
from carbon_aware.intensity.static import StaticAnnualProvider
from carbon_aware.intensity.watttime import WattTimeProvider
from carbon_aware.regions import validate_regions


@dataclass(frozen=True)
class ProviderOptions:
    """What a provider may need; each factory takes the part it uses."""

    allow_fallback: bool = True
    api_key_secret: str = ""
    client: JsonHttpClient | None = None
    csv_uri: str = ""


_FACTORIES: dict[str, Callable[[ProviderOptions], CarbonIntensityProvider]] = {
    "static": lambda _: StaticAnnualProvider(),
    "csv": lambda o: CsvSeriesProvider(o.csv_uri),
    "electricitymaps": lambda o: ElectricityMapsProvider(
        api_key_secret=o.api_key_secret, allow_fallback=o.allow_fallback, client=o.client
    ),
    "watttime": lambda o: WattTimeProvider(
        credentials_secret=o.api_key_secret, allow_fallback=o.allow_fallback, client=o.client
    ),
}
PROVIDER_NAMES: tuple[str, ...] = tuple(sorted(_FACTORIES))


def get_provider(
    name: str,
    *,
    allow_fallback: bool = True,
    api_key_secret: str = "",
    client: JsonHttpClient | None = None,
    csv_uri: str = "",
) -> CarbonIntensityProvider:
    """Returns the provider called ``name``.

    Args:
        name: A name from :data:`PROVIDER_NAMES`.
        allow_fallback: Live providers: give a region that cannot be fetched its static annual
            figure (``kind=fallback``) instead of failing.
        api_key_secret: Live providers: Secret Manager version name of the key (Electricity Maps)
            or credentials (WattTime); empty means the environment variables.
        client: Live providers: HTTP client to use (timeouts, retries, cache).
        csv_uri: ``csv`` provider: the intensity CSV (local path or gs:// URI).

    Raises:
        ValueError: ``name`` is not a known provider; the message lists the known ones.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown intensity_provider {name!r}; allowed: {', '.join(PROVIDER_NAMES)}"
        ) from None
    return factory(ProviderOptions(allow_fallback, api_key_secret, client, csv_uri))


def fetch_snapshot(
    provider_name: str,
    regions: list[str],
    now: datetime | None = None,
    *,
    allow_fallback: bool = True,
    api_key_secret: str = "",
    client: JsonHttpClient | None = None,
    csv_uri: str = "",
) -> IntensitySnapshot:
    """Fetches one reading per region from the named provider.

    Args:
        provider_name: A name from :data:`PROVIDER_NAMES`.
        regions: GCP region ids (validated against the catalogue first).
        now: The fetch time to record (defaults to the current UTC time).
        allow_fallback: See :func:`get_provider`.
        api_key_secret: See :func:`get_provider`.
        client: See :func:`get_provider`.
        csv_uri: See :func:`get_provider`.

    Returns:
        The snapshot handed to choose-region.

    Raises:
        ValueError: Unknown provider or region, or no key configured for a live provider.
        carbon_aware.intensity.fallback.RegionFetchError: A region failed and fallback is off.
    """
    checked = validate_regions(regions)
    provider = get_provider(
        provider_name,
        allow_fallback=allow_fallback,
        api_key_secret=api_key_secret,
        client=client,
        csv_uri=csv_uri,
    )
    readings = tuple(provider.latest(checked))
    fetched_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return IntensitySnapshot(provider=provider.name, fetched_at_utc=fetched_at, readings=readings)


__all__ = ["PROVIDER_NAMES", "DiskCache", "fetch_snapshot", "get_provider"]
