"""Electricity Maps API v3: latest, last-24-hour history, past range and forecast per GCP region.

Requests carry the key in the ``auth-token`` header. Regions are asked for by the catalogue's zone
key (``zone=BE``) or, with ``query_by="datacenter"``, by data centre
(``dataCenterProvider=gcp&dataCenterRegion=europe-west1``). Every request sends
``disableCallerLookup=true``: without it the API answers an unknown zone or data centre with the
zone of the caller's IP address. The ``zone`` of every answer is checked against the one asked
for; an answer for another zone is not used. Each reading keeps ``isEstimated``, and its
``detail`` records ``estimationMethod``, ``updatedAt``, the granularity and the emission factor
type the answer states (never the one configured, when the answer does not say).

The free tier serves one zone and only the ``latest`` and ``history`` endpoints; the API answers
other requests with HTTP 401 ``Request unauthorized for zoneKey=…,requestType=…``. Where the key's
access is listed (``GET /v3/zones`` with the key), a request the plan does not cover is refused
before it is sent. Both become :class:`ElectricityMapsPlanError`, whose text names the zone and
request type that are missing and what to do.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon_aware.intensity import checks
from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.fallback import ZoneMismatchError, fetch_regions
from carbon_aware.intensity.http import (
    DEFAULT_MAX_IN_FLIGHT,
    AuthError,
    BadResponseError,
    IntensityFetchError,
    JsonHttpClient,
    base_url,
    require_field,
    require_intensity,
    utc_timestamp,
)
from carbon_aware.intensity.secrets import Secret, electricity_maps_key
from carbon_aware.regions import get_region

LOGGER = logging.getLogger(__name__)
BASE_URL_ENV = "ELECTRICITY_MAPS_API_URL"
DEFAULT_BASE_URL = "https://api.electricitymaps.com/v3"
EMISSION_FACTOR_TYPES = ("lifecycle", "direct")
QUERY_MODES = ("zone", "datacenter")
# API reference, parameter temporalGranularity: '5_minutes', '15_minutes', 'hourly' (default).
TEMPORAL_GRANULARITIES = ("5_minutes", "15_minutes", "hourly")
# API reference, /v3/carbon-intensity/forecast: horizonHours, up to 72 hours ahead.
MAX_FORECAST_HORIZON_H = 72
# API reference, /v3/carbon-intensity/past-range: "limited to 10 days (240 hours) for an hourly
# granularity ... you can loop over time ranges".
PAST_RANGE_MAX = timedelta(hours=240)
# Where Electricity Maps' own data-centre file maps a GCP region to another zone than our catalogue
# (electricitymaps-contrib config/data_centers/data_centers.json at b354f28a, 2026-08-21; see
# data/REGIONS.md for why the catalogue differs). In data-centre mode the API answers with these.
DATA_CENTER_ZONES = {
    "us-central1": "US-CENT-SWPP",
    "us-east1": "US-CAR-SCEG",
    "us-west1": "US-NW-PACW",
}
PLAN_HELP = (
    "The Electricity Maps free tier serves one zone and only the latest and history endpoints "
    "(no forecast, no past-range). Ask only for the zone your key was set up for (GET /v3/zones "
    "with the key lists each zone's access), use --provider static, or upgrade the plan at "
    "https://portal.electricitymaps.com"
)
_REFUSAL = re.compile(r"zoneKey=(?P<zone>[A-Za-z0-9_-]+)|requestType=(?P<type>[A-Za-z0-9_/-]+)")


MAX_FORECAST_HOURS = MAX_FORECAST_HORIZON_H
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


def _now() -> datetime:
    return checks.utc_now()


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
        temporal_granularity: ``5_minutes``, ``15_minutes`` or ``hourly``; empty leaves the
            API's default (hourly).
        check_access: Read the key's per-zone access from ``/v3/zones`` once and refuse, before
            sending, a request the plan does not cover.
        max_age: Oldest ``latest`` figure accepted; None reads ``$CARBON_AWARE_MAX_READING_AGE_H``
            (default 3 hours).
        now: Wall clock (timezone-aware UTC; tests pass a fixed one).
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
        temporal_granularity: str = "",
        check_access: bool = True,
        max_age: timedelta | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        if emission_factor_type not in EMISSION_FACTOR_TYPES:
            raise ValueError(
                f"emission_factor_type must be one of {EMISSION_FACTOR_TYPES}, "
                f"got {emission_factor_type!r}"
            )
        if query_by not in QUERY_MODES:
            raise ValueError(f"query_by must be one of {QUERY_MODES}, got {query_by!r}")
        if temporal_granularity and temporal_granularity not in TEMPORAL_GRANULARITIES:
            raise ValueError(
                f"temporal_granularity must be one of {TEMPORAL_GRANULARITIES}, "
                f"got {temporal_granularity!r}"
            )
        self._api_key = api_key
        self._api_key_secret = api_key_secret
        self._secret_client = secret_client
        self._key_lock = threading.Lock()
        self._access_lock = threading.Lock()
        self._access: dict[str, tuple[str, ...]] | None = None
        self._access_read = False
        self.emission_factor_type = emission_factor_type
        self.query_by = query_by
        self.allow_fallback = allow_fallback
        self.client = client or JsonHttpClient(cache=DiskCache.from_env())
        self.max_in_flight = max_in_flight
        self.temporal_granularity = temporal_granularity
        self.check_access = check_access
        self.max_age = max_age
        self._now = now

    def __repr__(self) -> str:
        return (
            f"ElectricityMapsProvider(emission_factor_type={self.emission_factor_type!r}, "
            f"query_by={self.query_by!r}, allow_fallback={self.allow_fallback})"
        )

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the latest figure per region (``kind=latest``), in the order given."""
        max_age = self.max_age or checks.max_reading_age()
        return self._fetch_all(
            regions, "carbon-intensity/latest", IntensityKind.LATEST, None, {}, max_age
        )

    def history(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the last 24 hours per region (``kind=history``), region by region.

        Hours the API returns with a null ``carbonIntensity`` are left out; each kept reading's
        ``detail`` says how many were missing.
        """
        return self._fetch_all(
            regions, "carbon-intensity/history", IntensityKind.HISTORY, "history", {}
        )

    def past_range(
        self, regions: list[str], start: datetime, end: datetime
    ) -> list[IntensityReading]:
        """Returns hourly figures from ``start`` to ``end`` (paid plans).

        The API serves at most 10 days per request, so longer ranges are fetched in 10-day
        chunks, one after another, and joined.
        """
        if start.tzinfo is None or end.tzinfo is None or not start < end:
            raise ValueError("past_range needs timezone-aware start < end")
        windows = []
        cursor = start
        while cursor < end:
            upper = min(end, cursor + PAST_RANGE_MAX)
            windows.append({"start": _iso(cursor), "end": _iso(upper)})
            cursor = upper
        key = self._key()

        def one(region: str) -> list[IntensityReading]:
            seen: dict[str, IntensityReading] = {}
            for window in windows:  # the chunks share their edges: keep one reading per hour
                for reading in self._fetch_one(
                    key, region, "carbon-intensity/past-range", IntensityKind.HISTORY, "data",
                    window, None,
                ):  # fmt: skip
                    seen.setdefault(reading.datetime_utc, reading)
            return [seen[t] for t in sorted(seen)]

        return self._fan_out(regions, one)

    def forecast(
        self, regions: list[str], horizon_hours: int | None = None
    ) -> list[IntensityReading]:
        """Returns the forecast per region (``kind=forecast``; not on the free tier).

        Args:
            regions: GCP region ids.
            horizon_hours: Hours ahead to ask for (``horizonHours``, 1-72); None leaves the
                API's default.
        """
        extra: dict[str, str] = {}
        if horizon_hours is not None:
            if (
                isinstance(horizon_hours, bool)
                or not isinstance(horizon_hours, int)
                or not 1 <= horizon_hours <= MAX_FORECAST_HORIZON_H
            ):
                raise ValueError(
                    f"horizon_hours must be a whole number of hours from 1 to "
                    f"{MAX_FORECAST_HORIZON_H}, got {horizon_hours!r}"
                )
            extra["horizonHours"] = str(horizon_hours)
        return self._fetch_all(
            regions, "carbon-intensity/forecast", IntensityKind.FORECAST, "forecast", extra
        )

    def forecast_hours(self, regions: list[str], horizon_hours: int) -> list[IntensityReading]:
        """Returns the forecast per region for the next ``horizon_hours`` (``horizonHours``).

        Args:
            regions: GCP region ids.
            horizon_hours: Hours ahead, 1 to :data:`MAX_FORECAST_HOURS` (the API's limit).

        Raises:
            ValueError: ``horizon_hours`` outside what the API serves.
        """
        return self.forecast(regions, check_forecast_hours(horizon_hours))

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
        max_age: timedelta | None = None,
    ) -> list[IntensityReading]:
        key = self._key()  # fail fast, before fan-out, when no key is configured

        def one(region: str) -> list[IntensityReading]:
            return self._fetch_one(key, region, endpoint, kind, list_field, extra, max_age)

        return self._fan_out(regions, one)

    def _fan_out(
        self, regions: list[str], one: Callable[[str], list[IntensityReading]]
    ) -> list[IntensityReading]:
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
        params = {
            **target,
            "emissionFactorType": self.emission_factor_type,
            "disableCallerLookup": "true",
        }
        if self.temporal_granularity:
            params["temporalGranularity"] = self.temporal_granularity
        return params

    def _expected_zones(self, region: str) -> tuple[str, ...]:
        catalogue = get_region(region).electricity_maps_zone
        if self.query_by == "datacenter" and region in DATA_CENTER_ZONES:
            return (catalogue, DATA_CENTER_ZONES[region])
        return (catalogue,)

    def _zone_access(self, key: Secret) -> dict[str, tuple[str, ...]] | None:
        """The key's access per zone from ``GET /v3/zones``, read once; None if unavailable."""
        with self._access_lock:
            if self._access_read:
                return self._access
            self._access_read = True
            try:
                body = self.client.get_json(
                    f"{base_url(BASE_URL_ENV, DEFAULT_BASE_URL)}/zones",
                    headers={"auth-token": key.reveal()},
                    secrets=(key.reveal(),),
                    cacheable=False,  # the listing depends on the key, which the cache key omits
                )
            except IntensityFetchError as err:
                LOGGER.info("Electricity Maps /zones unavailable, access not checked: %s", err)
                return None
            if isinstance(body, dict):
                self._access = {
                    str(zone): tuple(str(a) for a in info.get("access", ()))
                    for zone, info in body.items()
                    if isinstance(info, dict) and isinstance(info.get("access"), list)
                }
            return self._access

    def _require_access(self, key: Secret, zone: str, endpoint: str) -> None:
        access = self._zone_access(key) if self.check_access else None
        if not access:
            return
        granted = access.get(zone, ())
        family = endpoint.split("/")[0]
        if "*" in granted or endpoint in granted or f"{family}/*" in granted:
            return
        listed = ", ".join(granted) if granted else "nothing"
        raise ElectricityMapsPlanError(
            f"Electricity Maps: your key has no access to {endpoint} for zone {zone} "
            f"(GET /v3/zones lists for {zone}: {listed}); not requested. {PLAN_HELP}",
            403,
            "",
        )

    def _refusal(self, err: AuthError, endpoint: str, target: str) -> AuthError:
        """Turns a 401/403 into an invalid-key error or a plan error naming what is missing."""
        if "invalid auth-token" in err.message.lower() or "token is invalid" in err.message:
            return AuthError(
                f"Electricity Maps rejected the API key (HTTP {err.status}: {err.message}); "
                "check ELECTRICITY_MAPS_API_KEY or the secret's latest version",
                err.status,
                err.message,
            )
        found = {
            k: v for m in _REFUSAL.finditer(err.message) for k, v in m.groupdict().items() if v
        }
        missing = (
            f" Your plan has no {found.get('type', endpoint)} access for zone "
            f"{found.get('zone', target)}."
        )
        return ElectricityMapsPlanError(
            f"Electricity Maps refused /{endpoint} for {target} "
            f"(HTTP {err.status}: {err.message or 'no message'}).{missing} {PLAN_HELP}",
            err.status,
            err.message,
        )

    def _fetch_one(
        self,
        key: Secret,
        region: str,
        endpoint: str,
        kind: IntensityKind,
        list_field: str | None,
        extra: Mapping[str, str],
        max_age: timedelta | None,
    ) -> list[IntensityReading]:
        params = {**self._params(region), **extra}
        target = params.get("zone") or f"gcp {region}"
        if "zone" in params:
            self._require_access(key, params["zone"], endpoint)
        url = f"{base_url(BASE_URL_ENV, DEFAULT_BASE_URL)}/{endpoint}"
        try:
            body = self.client.get_json(
                url, params=params, headers={"auth-token": key.reveal()}, secrets=(key.reveal(),)
            )
        except AuthError as err:
            raise self._refusal(err, endpoint, target) from None
        where = f"Electricity Maps /{endpoint} for {region}"
        if not isinstance(body, dict):
            raise BadResponseError(f"{where}: expected a JSON object, got {type(body).__name__}")
        zone = str(require_field(body, "zone", where))
        expected = self._expected_zones(region)
        if zone not in expected:
            raise ZoneMismatchError(
                f"{where}: asked for {target} (zone {' or '.join(expected)}) but the answer is "
                f"for zone {zone}; not used"
            )
        points = self._points(body, list_field, where)
        present = points
        if list_field is not None:  # a series may have gaps: the SDKs model the value nullable
            present = [p for p in points if not _is_null_point(p)]
            if not present:
                raise BadResponseError(f"{where}: every carbonIntensity in {list_field!r} is null")
        missing = len(points) - len(present)
        if missing:
            LOGGER.warning(
                "%s: %d of %d points have no carbonIntensity", where, missing, len(points)
            )
        now = self._now()
        readings = []
        for point in present:
            reading = self._reading(region, zone, point, body, kind, endpoint, where)
            if kind is IntensityKind.LATEST and max_age is not None:
                checks.current(reading.datetime_utc, now, max_age, where)
            elif kind is IntensityKind.HISTORY:
                checks.not_in_future(reading.datetime_utc, now, where)
            if missing:
                reading = _with_detail(
                    reading, f"missing={missing} of {len(points)} points (null carbonIntensity)"
                )
            readings.append(reading)
        return readings

    @staticmethod
    def _points(body: Mapping[str, Any], list_field: str | None, where: str) -> list[Any]:
        if list_field is None:
            return [body]
        series = require_field(body, list_field, where)
        if not isinstance(series, list) or not series:
            raise BadResponseError(f"{where}: {list_field!r} is not a non-empty list")
        return series

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
        stated = point.get("emissionFactorType") or body.get("emissionFactorType")
        facts = {
            # Only what the answer states: forecast rows carry no emission factor type.
            "emissionFactorType": stated,
            "requestedEmissionFactorType": None if stated else self.emission_factor_type,
            "estimationMethod": point.get("estimationMethod"),
            "temporalGranularity": point.get("temporalGranularity")
            or body.get("temporalGranularity"),
            "updatedAt": point.get("updatedAt") or body.get("updatedAt"),
            "query": self.query_by,
        }
        if zone != get_region(region).electricity_maps_zone:
            facts["catalogueZone"] = get_region(region).electricity_maps_zone
        return IntensityReading(
            region=region,
            zone=zone,
            gco2e_per_kwh=checks.plausible(value, where),
            datetime_utc=utc_timestamp(require_field(point, "datetime", where), where),
            source=f"Electricity Maps API v3 /{endpoint}",
            kind=kind,
            is_estimated=is_estimated,
            detail="; ".join(f"{k}={v}" for k, v in facts.items() if v is not None),
        )


def _is_null_point(point: Any) -> bool:
    return (
        isinstance(point, dict) and "carbonIntensity" in point and point["carbonIntensity"] is None
    )


def _with_detail(reading: IntensityReading, note: str) -> IntensityReading:
    return dataclasses.replace(
        reading, detail=f"{reading.detail}; {note}" if reading.detail else note
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
