"""Electricity Maps API v3: latest, last-24-hour history, past range and forecast per GCP region.

Requests carry the key in the ``auth-token`` header. Regions are asked for by the catalogue's zone
key (``zone=BE``) or, with ``query_by="datacenter"``, by data centre
(``dataCenterProvider=gcp&dataCenterRegion=europe-west1``). Each reading keeps ``isEstimated``,
and its ``detail`` records ``estimationMethod``, ``updatedAt`` and the emission factor type.

The free tier serves one zone and only the ``latest`` and ``history`` endpoints; the API answers
other requests with 401/403. Those refusals become :class:`ElectricityMapsPlanError`, whose text
says so and what to do.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.fallback import fetch_regions
from carbon_aware.intensity.http import (
    DEFAULT_MAX_IN_FLIGHT,
    AuthError,
    BadResponseError,
    JsonHttpClient,
    base_url,
    require_field,
    require_intensity,
    utc_timestamp,
)
from carbon_aware.intensity.secrets import Secret, electricity_maps_key
from carbon_aware.regions import get_region

BASE_URL_ENV = "ELECTRICITY_MAPS_API_URL"
DEFAULT_BASE_URL = "https://api.electricitymaps.com/v3"
EMISSION_FACTOR_TYPES = ("lifecycle", "direct")
QUERY_MODES = ("zone", "datacenter")
PLAN_HELP = (
    "The Electricity Maps free tier serves one zone and only the latest and history endpoints "
    "(no forecast, no past-range). Ask only for the zone your key was set up for, use "
    "--provider static, or upgrade the plan at https://portal.electricitymaps.com"
)


MAX_FORECAST_HOURS = 72
"""The forecast endpoint's longest ``horizonHours``."""


def check_forecast_hours(horizon_hours: int) -> int:
    """Returns ``horizon_hours`` if the forecast endpoint serves it, else raises ValueError."""
    if not 1 <= horizon_hours <= MAX_FORECAST_HOURS:
        raise ValueError(
            f"Electricity Maps forecasts reach 1 to {MAX_FORECAST_HOURS} hours ahead "
            f"(horizonHours); asked for {horizon_hours}"
        )
    return horizon_hours


class ElectricityMapsPlanError(AuthError):
    """The key is valid but its plan does not cover this zone or endpoint (e.g. the free tier)."""


class ElectricityMapsProvider:
    """Live grid carbon intensity from Electricity Maps.

    Args:
        api_key: The key; when None it is read on first use from ``api_key_secret`` (Secret
            Manager) or ``$ELECTRICITY_MAPS_API_KEY``.
        api_key_secret: Secret Manager version name holding the key.
        emission_factor_type: ``lifecycle`` (default) or ``direct``.
        query_by: ``zone`` (catalogue zone key) or ``datacenter`` (``gcp`` + region id).
        allow_fallback: Whether a region that cannot be fetched gets the static annual figure.
        client: HTTP client (timeouts, retries, cache); a default one when None.
        max_in_flight: Most requests in flight at once.
        secret_client: Secret Manager client to use instead of creating one.
    """

    name = "electricitymaps"

    def __init__(
        self,
        *,
        api_key: Secret | None = None,
        api_key_secret: str = "",
        emission_factor_type: str = "lifecycle",
        query_by: str = "zone",
        allow_fallback: bool = True,
        client: JsonHttpClient | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        secret_client: Any | None = None,
    ) -> None:
        if emission_factor_type not in EMISSION_FACTOR_TYPES:
            raise ValueError(
                f"emission_factor_type must be one of {EMISSION_FACTOR_TYPES}, "
                f"got {emission_factor_type!r}"
            )
        if query_by not in QUERY_MODES:
            raise ValueError(f"query_by must be one of {QUERY_MODES}, got {query_by!r}")
        self._api_key = api_key
        self._api_key_secret = api_key_secret
        self._secret_client = secret_client
        self._key_lock = threading.Lock()
        self.emission_factor_type = emission_factor_type
        self.query_by = query_by
        self.allow_fallback = allow_fallback
        self.client = client or JsonHttpClient(cache=DiskCache.from_env())
        self.max_in_flight = max_in_flight

    def __repr__(self) -> str:
        return (
            f"ElectricityMapsProvider(emission_factor_type={self.emission_factor_type!r}, "
            f"query_by={self.query_by!r}, allow_fallback={self.allow_fallback})"
        )

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the latest figure per region (``kind=latest``), in the order given."""
        return self._fetch_all(regions, "carbon-intensity/latest", IntensityKind.LATEST, None, {})

    def history(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the last 24 hours per region (``kind=history``), region by region."""
        return self._fetch_all(
            regions, "carbon-intensity/history", IntensityKind.HISTORY, "history", {}
        )

    def past_range(
        self, regions: list[str], start: datetime, end: datetime
    ) -> list[IntensityReading]:
        """Returns hourly figures from ``start`` to ``end`` (paid plans; at most 10 days)."""
        if start.tzinfo is None or end.tzinfo is None or not start < end:
            raise ValueError("past_range needs timezone-aware start < end")
        window = {"start": _iso(start), "end": _iso(end)}
        return self._fetch_all(
            regions, "carbon-intensity/past-range", IntensityKind.HISTORY, "data", window
        )

    def forecast(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the forecast per region (``kind=forecast``; not on the free tier)."""
        return self._fetch_all(
            regions, "carbon-intensity/forecast", IntensityKind.FORECAST, "forecast", {}
        )

    def forecast_hours(self, regions: list[str], horizon_hours: int) -> list[IntensityReading]:
        """Returns the forecast per region for the next ``horizon_hours`` (``horizonHours``).

        Args:
            regions: GCP region ids.
            horizon_hours: Hours ahead, 1 to :data:`MAX_FORECAST_HOURS` (the API's limit).

        Raises:
            ValueError: ``horizon_hours`` outside what the API serves.
        """
        return self._fetch_all(
            regions,
            "carbon-intensity/forecast",
            IntensityKind.FORECAST,
            "forecast",
            {"horizonHours": str(check_forecast_hours(horizon_hours))},
        )

    def _key(self) -> Secret:
        with self._key_lock:
            if self._api_key is None:
                self._api_key = electricity_maps_key(self._api_key_secret, self._secret_client)
            return self._api_key

    def _fetch_all(
        self,
        regions: list[str],
        endpoint: str,
        kind: IntensityKind,
        list_field: str | None,
        extra: Mapping[str, str],
    ) -> list[IntensityReading]:
        key = self._key()  # fail fast, before fan-out, when no key is configured

        def one(region: str) -> list[IntensityReading]:
            return self._fetch_one(key, region, endpoint, kind, list_field, extra)

        return fetch_regions(
            self.name,
            regions,
            one,
            allow_fallback=self.allow_fallback,
            max_in_flight=self.max_in_flight,
        )

    def _params(self, region: str) -> dict[str, str]:
        if self.query_by == "datacenter":
            target = {"dataCenterProvider": "gcp", "dataCenterRegion": region}
        else:
            target = {"zone": get_region(region).electricity_maps_zone}
        return {**target, "emissionFactorType": self.emission_factor_type}

    def _fetch_one(
        self,
        key: Secret,
        region: str,
        endpoint: str,
        kind: IntensityKind,
        list_field: str | None,
        extra: Mapping[str, str],
    ) -> list[IntensityReading]:
        params = {**self._params(region), **extra}
        url = f"{base_url(BASE_URL_ENV, DEFAULT_BASE_URL)}/{endpoint}"
        try:
            body = self.client.get_json(
                url, params=params, headers={"auth-token": key.reveal()}, secrets=(key.reveal(),)
            )
        except AuthError as err:
            if "invalid auth-token" in err.message.lower() or "token is invalid" in err.message:
                raise AuthError(
                    f"Electricity Maps rejected the API key (HTTP {err.status}: {err.message}); "
                    "check ELECTRICITY_MAPS_API_KEY or the secret's latest version",
                    err.status,
                    err.message,
                ) from None
            target = params.get("zone") or f"gcp {region}"
            raise ElectricityMapsPlanError(
                f"Electricity Maps refused /{endpoint} for {target} "
                f"(HTTP {err.status}: {err.message or 'no message'}). {PLAN_HELP}",
                err.status,
                err.message,
            ) from None
        where = f"Electricity Maps /{endpoint} for {region}"
        if not isinstance(body, dict):
            raise BadResponseError(f"{where}: expected a JSON object, got {type(body).__name__}")
        if list_field is None:
            points: list[Any] = [body]
        else:
            series = require_field(body, list_field, where)
            if not isinstance(series, list) or not series:
                raise BadResponseError(f"{where}: {list_field!r} is not a non-empty list")
            points = series
        zone = str(
            body.get("zone") or params.get("zone") or get_region(region).electricity_maps_zone
        )
        return [self._reading(region, zone, point, body, kind, endpoint, where) for point in points]

    def _reading(
        self,
        region: str,
        zone: str,
        point: Any,
        body: Mapping[str, Any],
        kind: IntensityKind,
        endpoint: str,
        where: str,
    ) -> IntensityReading:
        value = require_intensity(
            require_field(point, "carbonIntensity", where), "carbonIntensity", where
        )
        is_estimated = point.get("isEstimated", False)
        if not isinstance(is_estimated, bool):
            raise BadResponseError(f"{where}: isEstimated is not true/false ({is_estimated!r})")
        facts = {
            "emissionFactorType": point.get("emissionFactorType")
            or body.get("emissionFactorType")
            or self.emission_factor_type,
            "estimationMethod": point.get("estimationMethod"),
            "updatedAt": point.get("updatedAt") or body.get("updatedAt"),
            "query": self.query_by,
        }
        return IntensityReading(
            region=region,
            zone=zone,
            gco2e_per_kwh=value,
            datetime_utc=utc_timestamp(require_field(point, "datetime", where), where),
            source=f"Electricity Maps API v3 /{endpoint}",
            kind=kind,
            is_estimated=is_estimated,
            detail="; ".join(f"{k}={v}" for k, v in facts.items() if v is not None),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
