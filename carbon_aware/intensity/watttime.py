"""WattTime API v3: login, region from location, forecast, historical and signal index.

``GET /login`` with HTTP basic auth returns a bearer token that lasts 30 minutes; the provider
logs in again before it expires (and once more if a data call answers 401). Emission rates come
in lbs/MWh and are converted to gCO2e/kWh (1 lb/MWh = 0.45359237 g/kWh); each reading keeps the
signal type (``co2_moer`` marginal, ``co2_aoer`` average). The signal index is a 0-100 percentile,
not an intensity, so it is returned as :class:`SignalIndex` rather than as a reading.

Limits from WattTime's API documentation (https://docs.watttime.org): at most 3,000 requests in
any 5-minute window and 100 logins in 5 minutes (both enforced here before sending); forecast and
historical data are for subscribers, and free accounts get ``CAISO_NORTH`` only. ``co2_aoer`` is
historical only (transition guide: "co2_aoer (historical only, for accounting purposes)"), so it
has no forecast and its current figure is the newest historical point. ``GET /v3/my-access`` is
read once per provider to refuse, before sending, a region or signal the account does not have.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon_aware.intensity import checks
from carbon_aware.intensity.base import AVERAGE, MARGINAL, IntensityKind, IntensityReading
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.fallback import (
    RegionFetchError,
    UnsupportedRegionError,
    ZoneMismatchError,
    fetch_regions,
)
from carbon_aware.intensity.http import (
    DEFAULT_MAX_IN_FLIGHT,
    AuthError,
    BadResponseError,
    IntensityFetchError,
    JsonHttpClient,
    RateLimit,
    base_url,
    map_concurrently,
    require_field,
    require_intensity,
    utc_timestamp,
)
from carbon_aware.intensity.secrets import WattTimeCredentials, watttime_credentials
from carbon_aware.regions import get_region

LOGGER = logging.getLogger(__name__)
BASE_URL_ENV = "WATTTIME_API_URL"
DEFAULT_BASE_URL = "https://api.watttime.org"
GCO2E_PER_KWH_PER_LBS_PER_MWH = 0.45359237
TOKEN_LIFETIME_S = 30 * 60.0
SIGNAL_TYPES = {"co2_moer": MARGINAL, "co2_aoer": AVERAGE}
FORECAST_SIGNALS = ("co2_moer",)
MAX_FORECAST_HORIZON_H = 72
FREE_REGION = "CAISO_NORTH"
REQUESTS_PER_WINDOW = 3000
LOGINS_PER_WINDOW = 100
RATE_WINDOW_S = 300.0
MAX_FORECAST_HOURS = MAX_FORECAST_HORIZON_H


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
        data_limit: Rate limit on data requests (default 3,000 per 5 minutes, WattTime's own).
        login_limit: Rate limit on logins (default 100 per 5 minutes, WattTime's own).
        check_access: Read ``/v3/my-access`` once and refuse, before sending, a region or signal
            the account does not have.
        max_age: Oldest current figure accepted; None reads ``$CARBON_AWARE_MAX_READING_AGE_H``.
        now: Wall clock (timezone-aware UTC; tests pass a fixed one).
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
        data_limit: RateLimit | None = None,
        login_limit: RateLimit | None = None,
        check_access: bool = True,
        max_age: timedelta | None = None,
        now: Callable[[], datetime] = checks.utc_now,
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
        self.data_limit = data_limit or RateLimit(REQUESTS_PER_WINDOW, RATE_WINDOW_S)
        self.login_limit = login_limit or RateLimit(LOGINS_PER_WINDOW, RATE_WINDOW_S)
        self.check_access = check_access
        self.max_age = max_age
        self._now = now
        self._access_lock = threading.Lock()
        self._access: dict[str, dict[str, set[str]]] | None = None
        self._access_read = False

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
                limit=self.login_limit,
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
                    limit=self.data_limit,
                )
            except AuthError as err:
                if err.status == 401 and attempt == 1:
                    token = self._bearer(stale=token)
                    continue
                raise AuthError(
                    f"WattTime refused {path} (HTTP {err.status}: {err.message or 'no message'}); "
                    "check WATTTIME_USERNAME/WATTTIME_PASSWORD, and GET /v3/my-access for the "
                    f"regions and signals your plan covers (free accounts: {FREE_REGION} only)",
                    err.status,
                    err.message,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- access ---------------------------------------------------------------------------

    def my_access(self) -> dict[str, dict[str, set[str]]] | None:
        """Signal type -> WattTime region -> endpoints, from ``/v3/my-access`` (read once).

        Returns None when the listing cannot be read; access is then left to the data calls.
        """
        with self._access_lock:
            if self._access_read:
                return self._access
            self._access_read = True
            try:
                body = self._get("/v3/my-access", {}, cacheable=False)  # per account
            except IntensityFetchError as err:
                LOGGER.info("WattTime /v3/my-access unavailable, access not checked: %s", err)
                return None
            access: dict[str, dict[str, set[str]]] = {}
            for signal in body.get("signal_types", []) if isinstance(body, dict) else []:
                regions = access.setdefault(str(signal.get("signal_type")), {})
                for entry in signal.get("regions", []):
                    regions[str(entry.get("region"))] = {
                        str(e.get("endpoint", "")).strip("/") for e in entry.get("endpoints", [])
                    }
            self._access = access
            return access

    def _require_access(self, wt_region: str, path: str) -> None:
        access = self.my_access() if self.check_access else None
        if access is None:
            return
        regions = access.get(self.signal_type, {})
        if path.strip("/") in regions.get(wt_region, set()):
            return
        free = set(regions) <= {FREE_REGION}
        hint = (
            f"this looks like a free WattTime account, which gets data for {FREE_REGION} only; "
            "a subscription covers other regions"
            if free
            else f"the account has {self.signal_type} for: {', '.join(sorted(regions)) or 'none'}"
        )
        raise AuthError(
            f"WattTime: your account has no access to {path} {self.signal_type} for {wt_region} "
            f"(GET /v3/my-access); not requested: {hint}",
            403,
            "",
        )

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
        """Returns the current rate per region.

        For ``co2_moer`` that is the first point of ``/v3/forecast`` (horizon 0), labelled
        ``kind=forecast``: WattTime publishes no measured real-time MOER. For ``co2_aoer``
        (historical only) it is the newest point of ``/v3/historical``, ``kind=latest``. Either
        way a point older than the staleness limit is not used.
        """
        max_age = self.max_age or checks.max_reading_age()
        if self.signal_type in FORECAST_SIGNALS:
            return self._fetch_all(
                regions, "/v3/forecast", IntensityKind.FORECAST, {"horizon_hours": "0"}, max_age
            )
        end = self._now().astimezone(UTC).replace(microsecond=0)
        window = {"start": (end - max_age).isoformat(), "end": end.isoformat()}
        return self._fetch_all(regions, "/v3/historical", IntensityKind.LATEST, window, max_age)

    def forecast(
        self, regions: list[str], horizon_hours: int | None = None
    ) -> list[IntensityReading]:
        """Returns the forecast series per region (``kind=forecast``; ``co2_moer`` only).

        Args:
            regions: GCP region ids.
            horizon_hours: Hours ahead (``horizon_hours``, 0-72); None leaves WattTime's default.

        Raises:
            ValueError: The signal has no forecast (``co2_aoer``) or the horizon is out of range.
        """
        if self.signal_type not in FORECAST_SIGNALS:
            raise ValueError(
                f"WattTime publishes {self.signal_type} as historical data only, with no "
                "forecast; use signal_type='co2_moer' for a forecast, or history() for "
                f"{self.signal_type}"
            )
        extra: dict[str, str] = {}
        if horizon_hours is not None:
            if (
                isinstance(horizon_hours, bool)
                or not isinstance(horizon_hours, int)
                or not 0 <= horizon_hours <= MAX_FORECAST_HORIZON_H
            ):
                raise ValueError(
                    f"horizon_hours must be a whole number of hours from 0 to "
                    f"{MAX_FORECAST_HORIZON_H}, got {horizon_hours!r}"
                )
            extra["horizon_hours"] = str(horizon_hours)
        return self._fetch_all(regions, "/v3/forecast", IntensityKind.FORECAST, extra)

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
        return self.forecast(regions, horizon_hours)

    def history(self, regions: list[str]) -> list[IntensityReading]:
        """Returns the last 24 hours per region from ``/v3/historical`` (``kind=history``)."""
        end = self._now().astimezone(UTC).replace(microsecond=0)
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
        self,
        regions: list[str],
        path: str,
        kind: IntensityKind,
        extra: Mapping[str, str],
        max_age: timedelta | None = None,
    ) -> list[IntensityReading]:
        self._creds()  # fail fast, before fan-out, when nothing is configured

        def one(region: str) -> list[IntensityReading]:
            return self._fetch_one(region, path, kind, extra, max_age)

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
        self,
        region: str,
        path: str,
        kind: IntensityKind,
        extra: Mapping[str, str],
        max_age: timedelta | None,
    ) -> list[IntensityReading]:
        wt_region = self.watttime_region(region)
        self._require_access(wt_region, path)
        body = self._get(path, {"region": wt_region, "signal_type": self.signal_type, **extra})
        where = f"WattTime {path} for {region}"
        meta = require_field(body, "meta", where)
        units = str(require_field(meta, "units", where))
        if units != "lbs_co2_per_mwh":
            raise BadResponseError(f"{where}: expected units lbs_co2_per_mwh, got {units!r}")
        answered = meta.get("region")
        if answered is not None and str(answered) != wt_region:
            raise ZoneMismatchError(
                f"{where}: asked for WattTime region {wt_region} but the answer is for "
                f"{answered}; not used"
            )
        signal = str(meta.get("signal_type") or self.signal_type)
        if signal != self.signal_type:
            raise BadResponseError(f"{where}: asked for {self.signal_type}, answer is {signal}")
        points = self._points(body, where)
        current = max_age is not None
        if current:  # horizon 0 of a forecast starts now; a historical window ends now
            points = points[:1] if path == "/v3/forecast" else points[-1:]
        facts = [
            f"signal_type={signal} ({SIGNAL_TYPES[signal]} emissions rate)",
            f"converted from {units}",
        ]
        if kind is IntensityKind.FORECAST and current:
            facts.append("first point of the forecast (horizon 0), not a measurement")
        for name in ("generated_at", "data_point_period_seconds"):
            if meta.get(name) is not None:
                facts.append(f"{name}={meta[name]}")
        model = meta.get("model")
        if isinstance(model, dict) and model.get("date"):
            facts.append(f"model={model['date']}")
        now = self._now()
        readings = []
        for point in points:
            lbs_per_mwh = require_intensity(require_field(point, "value", where), "value", where)
            moment = utc_timestamp(require_field(point, "point_time", where), where)
            if current and max_age is not None:
                checks.current(moment, now, max_age, where)
            elif kind is IntensityKind.HISTORY:
                checks.not_in_future(moment, now, where)
            readings.append(
                IntensityReading(
                    region=region,
                    zone=wt_region,
                    gco2e_per_kwh=checks.plausible(
                        lbs_per_mwh_to_gco2e_per_kwh(lbs_per_mwh), where
                    ),
                    datetime_utc=moment,
                    source=f"WattTime API v3 {path} ({signal})",
                    kind=kind,
                    is_estimated=False,
                    detail="; ".join(facts),
                    signal=SIGNAL_TYPES[signal],
                )
            )
        return readings
