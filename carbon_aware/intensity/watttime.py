"""WattTime API v3: login, region from location, forecast, historical and signal index.

``GET /login`` with HTTP basic auth returns a bearer token that lasts 30 minutes; the provider
logs in again before it expires (and once more if a data call answers 401). Emission rates come
in lbs/MWh and are converted to gCO2e/kWh (1 lb/MWh = 0.45359237 g/kWh); each reading keeps the
signal type (``co2_moer`` marginal, ``co2_aoer`` average). The signal index is a 0-100 percentile,
not an intensity, so it is returned as :class:`SignalIndex` rather than as a reading.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.fallback import RegionFetchError, UnsupportedRegionError, fetch_regions
from carbon_aware.intensity.http import (
    DEFAULT_MAX_IN_FLIGHT,
    AuthError,
    BadResponseError,
    IntensityFetchError,
    JsonHttpClient,
    base_url,
    map_concurrently,
    require_field,
    require_intensity,
    utc_timestamp,
)
from carbon_aware.intensity.secrets import WattTimeCredentials, watttime_credentials
from carbon_aware.regions import get_region

BASE_URL_ENV = "WATTTIME_API_URL"
DEFAULT_BASE_URL = "https://api.watttime.org"
GCO2E_PER_KWH_PER_LBS_PER_MWH = 0.45359237
TOKEN_LIFETIME_S = 30 * 60.0
SIGNAL_TYPES = {"co2_moer": "marginal", "co2_aoer": "average"}
MAX_FORECAST_HOURS = 72
"""``/v3/forecast`` serves ``horizon_hours`` up to 72."""


def lbs_per_mwh_to_gco2e_per_kwh(lbs_per_mwh: float) -> float:
    """Converts an emission rate from lbs/MWh to g/kWh."""
    return lbs_per_mwh * GCO2E_PER_KWH_PER_LBS_PER_MWH


@dataclass(frozen=True)
class SignalIndex:
    """WattTime's signal index: where the current rate sits in the upcoming forecast (0-100 %)."""

    region: str
    watttime_region: str
    percentile: float
    datetime_utc: str
    signal_type: str


class WattTimeProvider:
    """Live marginal (or average) emission rates from WattTime.

    Args:
        credentials: Username and password; when None they are read on first use from
            ``credentials_secret`` (Secret Manager) or ``$WATTTIME_USERNAME`` and
            ``$WATTTIME_PASSWORD``.
        credentials_secret: Secret Manager version name holding the credentials.
        signal_type: ``co2_moer`` (marginal, default) or ``co2_aoer`` (average).
        locations: Optional GCP region -> (latitude, longitude), resolved with
            ``/v3/region-from-loc`` for regions the catalogue has no WattTime region for.
        allow_fallback: Whether a region that cannot be fetched gets the static annual figure.
        client: HTTP client (timeouts, retries, cache); a default one when None.
        max_in_flight: Most requests in flight at once.
        token_refresh_margin_s: Log in again this long before the token's 30 minutes are up.
        clock: Monotonic clock in seconds (tests pass a fake).
        secret_client: Secret Manager client to use instead of creating one.
    """

    name = "watttime"

    def __init__(
        self,
        *,
        credentials: WattTimeCredentials | None = None,
        credentials_secret: str = "",
        signal_type: str = "co2_moer",
        locations: Mapping[str, tuple[float, float]] | None = None,
        allow_fallback: bool = True,
        client: JsonHttpClient | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        token_refresh_margin_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        secret_client: Any | None = None,
    ) -> None:
        if signal_type not in SIGNAL_TYPES:
            raise ValueError(
                f"signal_type must be one of {sorted(SIGNAL_TYPES)}, got {signal_type!r}"
            )
        self._credentials = credentials
        self._credentials_secret = credentials_secret
        self._secret_client = secret_client
        self.signal_type = signal_type
        self.locations = dict(locations or {})
        self.allow_fallback = allow_fallback
        self.client = client or JsonHttpClient(cache=DiskCache.from_env())
        self.max_in_flight = max_in_flight
        self.token_refresh_margin_s = token_refresh_margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_obtained_at = 0.0
        self.logins = 0

    def __repr__(self) -> str:
        return (
            f"WattTimeProvider(signal_type={self.signal_type!r}, "
            f"allow_fallback={self.allow_fallback})"
        )

    # --- authentication -------------------------------------------------------------------

    def _creds(self) -> WattTimeCredentials:
        if self._credentials is None:
            self._credentials = watttime_credentials(self._credentials_secret, self._secret_client)
        return self._credentials

    def _secrets(self) -> tuple[str, ...]:
        creds = self._creds()
        basic = base64.b64encode(f"{creds.username}:{creds.password.reveal()}".encode()).decode()
        return (creds.password.reveal(), basic, self._token or "")

    def _bearer(self, stale: str | None = None) -> str:
        """Returns a valid token, logging in when there is none, it is near expiry or ``stale``."""
        with self._lock:
            age = self._clock() - self._token_obtained_at
            fresh = age < TOKEN_LIFETIME_S - self.token_refresh_margin_s
            if self._token is not None and fresh and self._token != stale:
                return self._token
            creds = self._creds()
            basic = base64.b64encode(
                f"{creds.username}:{creds.password.reveal()}".encode()
            ).decode()
            body = self.client.get_json(
                f"{base_url(BASE_URL_ENV, DEFAULT_BASE_URL)}/login",
                headers={"Authorization": f"Basic {basic}"},
                secrets=(creds.password.reveal(), basic),
                cacheable=False,  # never store tokens
            )
            token = body.get("token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise BadResponseError("WattTime /login: no token in the response")
            self._token, self._token_obtained_at = token, self._clock()
            self.logins += 1
            return token

    def _get(self, path: str, params: Mapping[str, str], cacheable: bool = True) -> Any:
        """GETs a data endpoint with the bearer token; on 401 logs in again once and retries."""
        url = f"{base_url(BASE_URL_ENV, DEFAULT_BASE_URL)}{path}"
        token = self._bearer()
        for attempt in (1, 2):
            try:
                return self.client.get_json(
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    secrets=self._secrets(),
                    cacheable=cacheable,
                )
            except AuthError as err:
                if err.status == 401 and attempt == 1:
                    token = self._bearer(stale=token)
                    continue
                raise AuthError(
                    f"WattTime refused {path} (HTTP {err.status}: {err.message or 'no message'}); "
                    "check WATTTIME_USERNAME/WATTTIME_PASSWORD, and GET /v3/my-access for the "
                    "regions and signals your plan covers (free accounts: CAISO_NORTH only)",
                    err.status,
                    err.message,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- regions --------------------------------------------------------------------------

    def region_from_location(self, latitude: float, longitude: float) -> str:
        """Returns the WattTime region abbreviation for a point (``/v3/region-from-loc``)."""
        params = {
            "latitude": f"{latitude:.6f}",
            "longitude": f"{longitude:.6f}",
            "signal_type": self.signal_type,
        }
        body = self._get("/v3/region-from-loc", params)
        return str(require_field(body, "region", "WattTime /v3/region-from-loc"))

    def watttime_region(self, region: str) -> str:
        """Returns the WattTime region for a GCP region (catalogue, else ``locations``)."""
        known = get_region(region).watttime_region
        if known:
            return known
        if region in self.locations:
            latitude, longitude = self.locations[region]
            return self.region_from_location(latitude, longitude)
        raise UnsupportedRegionError(
            f"no WattTime region for {region}: the catalogue has none; pass its coordinates in "
            "locations= to look it up with /v3/region-from-loc"
        )

    # --- data -----------------------------------------------------------------------------

    def latest(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the current rate per region: the first point of ``/v3/forecast`` (horizon 0)."""
        return self._fetch_all(
            regions, "/v3/forecast", IntensityKind.LATEST, {"horizon_hours": "0"}
        )

    def forecast(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the forecast series per region (``kind=forecast``)."""
        return self._fetch_all(regions, "/v3/forecast", IntensityKind.FORECAST, {})

    def forecast_hours(self, regions: list[str], horizon_hours: int) -> list[IntensityReading]:
        """Returns the forecast per region for the next ``horizon_hours`` (``horizon_hours``).

        Args:
            regions: GCP region ids.
            horizon_hours: Hours ahead, 1 to :data:`MAX_FORECAST_HOURS` (the API's limit).

        Raises:
            ValueError: ``horizon_hours`` outside what ``/v3/forecast`` serves.
        """
        if not 1 <= horizon_hours <= MAX_FORECAST_HOURS:
            raise ValueError(
                f"WattTime /v3/forecast reaches 1 to {MAX_FORECAST_HOURS} hours ahead "
                f"(horizon_hours); asked for {horizon_hours}"
            )
        extra = {"horizon_hours": str(horizon_hours)}
        return self._fetch_all(regions, "/v3/forecast", IntensityKind.FORECAST, extra)

    def history(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the last 24 hours per region from ``/v3/historical`` (``kind=history``)."""
        end = datetime.now(UTC).replace(microsecond=0)
        window = {"start": (end - timedelta(hours=24)).isoformat(), "end": end.isoformat()}
        return self._fetch_all(regions, "/v3/historical", IntensityKind.HISTORY, window)

    def signal_index(self, regions: list[str]) -> list[SignalIndex]:
        """Returns the signal index (percentile) per region; no fallback applies.

        Raises:
            RegionFetchError: Naming every region that failed.
        """
        self._creds()
        outcomes = map_concurrently(regions, self._index_one, max_in_flight=self.max_in_flight)
        failures: dict[str, Exception] = {
            r: o
            for r, o in zip(regions, outcomes, strict=True)
            if isinstance(o, IntensityFetchError)
        }
        if failures:
            raise RegionFetchError(self.name, failures)
        return [o for o in outcomes if isinstance(o, SignalIndex)]

    def _index_one(self, region: str) -> SignalIndex:
        wt_region = self.watttime_region(region)
        params = {"region": wt_region, "signal_type": self.signal_type}
        body = self._get("/v3/signal-index", params, cacheable=False)
        where = f"WattTime /v3/signal-index for {region}"
        point = self._points(body, where)[0]
        value = require_intensity(require_field(point, "value", where), "value", where)
        if value > 100:
            raise BadResponseError(f"{where}: percentile above 100 ({value})")
        return SignalIndex(
            region=region,
            watttime_region=wt_region,
            percentile=value,
            datetime_utc=utc_timestamp(require_field(point, "point_time", where), where),
            signal_type=self.signal_type,
        )

    def _fetch_all(
        self, regions: list[str], path: str, kind: IntensityKind, extra: Mapping[str, str]
    ) -> list[IntensityReading]:
        self._creds()  # fail fast, before fan-out, when nothing is configured

        def one(region: str) -> list[IntensityReading]:
            return self._fetch_one(region, path, kind, extra)

        return fetch_regions(
            self.name,
            regions,
            one,
            allow_fallback=self.allow_fallback,
            max_in_flight=self.max_in_flight,
        )

    @staticmethod
    def _points(body: Any, where: str) -> list[Any]:
        data = require_field(body, "data", where)
        if not isinstance(data, list) or not data:
            raise BadResponseError(f"{where}: 'data' is not a non-empty list")
        return data

    def _fetch_one(
        self, region: str, path: str, kind: IntensityKind, extra: Mapping[str, str]
    ) -> list[IntensityReading]:
        wt_region = self.watttime_region(region)
        body = self._get(path, {"region": wt_region, "signal_type": self.signal_type, **extra})
        where = f"WattTime {path} for {region}"
        meta = require_field(body, "meta", where)
        units = str(require_field(meta, "units", where))
        if units != "lbs_co2_per_mwh":
            raise BadResponseError(f"{where}: expected units lbs_co2_per_mwh, got {units!r}")
        signal = str(meta.get("signal_type") or self.signal_type)
        points = self._points(body, where)
        if kind is IntensityKind.LATEST:
            points = points[:1]
        detail = (
            f"signal_type={signal} ({SIGNAL_TYPES.get(signal, 'unknown')} emissions rate); "
            f"converted from {units}"
        )
        if meta.get("generated_at"):
            detail += f"; generated_at={meta['generated_at']}"
        readings = []
        for point in points:
            lbs_per_mwh = require_intensity(require_field(point, "value", where), "value", where)
            readings.append(
                IntensityReading(
                    region=region,
                    zone=wt_region,
                    gco2e_per_kwh=lbs_per_mwh_to_gco2e_per_kwh(lbs_per_mwh),
                    datetime_utc=utc_timestamp(require_field(point, "point_time", where), where),
                    source=f"WattTime API v3 {path} ({signal})",
                    kind=kind,
                    is_estimated=False,
                    detail=detail,
                )
            )
        return readings
