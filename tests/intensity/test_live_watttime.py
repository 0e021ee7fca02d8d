"""WattTime v3 provider against a loopback server shaped like the v3 OpenAPI spec."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from carbon_aware.intensity import IntensityKind
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.http import RateLimit
from carbon_aware.intensity.watttime import (
    GCO2E_PER_KWH_PER_LBS_PER_MWH,
    WattTimeProvider,
    lbs_per_mwh_to_gco2e_per_kwh,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FIXED_NOW = datetime(2026, 5, 1, 10, 2, tzinfo=UTC)


def data(region="BPA", values=(1000.0,), units="lbs_co2_per_mwh", signal="co2_moer", start=None):
    """A /v3/forecast or /v3/historical body as WattTime's v3 OpenAPI spec shows it.

    Shape: docs.watttime.org, GET /v3/forecast response sample: ``data`` is a list of
    ``{point_time, value}``; ``meta`` has ``data_point_period_seconds``, ``region``,
    ``signal_type``, ``units``, ``warnings``, ``model`` and (forecasts) ``generated_at``. Points
    start at the current 5-minute step unless ``start`` is given.
    """
    if start is None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        start = now - timedelta(minutes=now.minute % 5)
    return {
        "data": [
            {"point_time": (start + timedelta(minutes=5 * i)).isoformat(), "value": v}
            for i, v in enumerate(values)
        ],
        "meta": {
            "data_point_period_seconds": 300,
            "region": region,
            "signal_type": signal,
            "units": units,
            "warnings": [],
            "model": {"date": "2023-03-01"},
            "generated_at_period_seconds": 300,
            "generated_at": start.isoformat(),
        },
    }


@pytest.fixture
def wt(loopback, keys):
    """Login answers with the test token; returns the server."""
    loopback.route("/login", loopback.Reply(200, {"token": keys.wt_token}))
    return loopback


def test_conversion_factor():
    assert GCO2E_PER_KWH_PER_LBS_PER_MWH == 0.45359237
    assert lbs_per_mwh_to_gco2e_per_kwh(1000) == pytest.approx(453.59237)


def test_latest_logs_in_and_converts_lbs_per_mwh(wt, client, keys):
    start = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    wt.route("/v3/forecast", wt.Reply(200, data("BPA", (1000.0, 900.0), start=start)))
    [reading] = WattTimeProvider(client=client, now=lambda: FIXED_NOW).latest(["us-west1"])
    # The first point of a forecast, so labelled forecast, not measured.
    assert reading.zone == "BPA" and reading.kind is IntensityKind.FORECAST
    assert reading.signal == "marginal" and "horizon 0" in reading.detail
    assert reading.gco2e_per_kwh == pytest.approx(453.59237)
    assert reading.datetime_utc == "2026-05-01T10:00:00Z"
    assert "signal_type=co2_moer (marginal" in reading.detail and "co2_moer" in reading.source
    basic = base64.b64encode(f"{keys.wt_user}:{keys.wt_password}".encode()).decode()
    assert wt.hits("/login")[0].headers["Authorization"] == f"Basic {basic}"
    request = wt.hits("/v3/forecast")[0]
    assert request.headers["Authorization"] == f"Bearer {keys.wt_token}"
    assert request.query == {"region": "BPA", "signal_type": "co2_moer", "horizon_hours": "0"}


def test_forecast_and_history_series(wt, client):
    start = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    wt.route("/v3/forecast", wt.Reply(200, data("SC", (800.0, 700.0, 600.0), start=start)))
    wt.route(
        "/v3/historical", wt.Reply(200, data("SC", (500.0, 400.0), signal="co2_aoer", start=start))
    )
    ahead = WattTimeProvider(client=client).forecast(["us-east1"])  # co2_aoer has no forecast
    p = WattTimeProvider(client=client, signal_type="co2_aoer")
    assert [r.kind for r in ahead] == [IntensityKind.FORECAST] * 3
    assert ahead[2].datetime_utc == "2026-05-01T10:10:00Z"
    past = p.history(["us-east1"])
    assert len(past) == 2 and past[0].kind is IntensityKind.HISTORY
    assert "co2_aoer (average" in past[0].detail
    query = wt.hits("/v3/historical")[0].query
    assert {"start", "end", "region", "signal_type"} <= set(query) and query[
        "signal_type"
    ] == "co2_aoer"


def test_token_is_reused_then_refreshed_before_it_expires(wt, client):
    wt.route("/v3/forecast", wt.Reply(200, data()))
    clock = FakeClock()
    p = WattTimeProvider(client=client, clock=clock)
    p.latest(["us-west1", "us-west3", "us-west4"])
    assert p.logins == 1
    clock.now += 24 * 60  # inside 30 min minus the 5 min margin
    p.latest(["us-west1"])
    assert p.logins == 1
    clock.now += 2 * 60  # 26 min: within the margin, so log in again
    p.latest(["us-west1"])
    assert p.logins == 2 and len(wt.hits("/login")) == 2


def test_expired_token_401_triggers_one_fresh_login(wt, client, keys):
    wt.route(
        "/login", wt.Reply(200, {"token": "old-token-1"}), wt.Reply(200, {"token": keys.wt_token})
    )

    def forecast(request):
        ok = request.headers.get("Authorization") == f"Bearer {keys.wt_token}"
        return wt.Reply(200, data()) if ok else wt.Reply(401, {"error": "token expired"})

    wt.route("/v3/forecast", forecast)
    [reading] = WattTimeProvider(client=client, allow_fallback=False).latest(["us-west1"])
    assert reading.kind is IntensityKind.FORECAST and len(wt.hits("/login")) == 2


def test_403_region_not_in_plan_is_clear_and_not_retried(wt, client):
    wt.route("/v3/forecast", wt.Reply(403, {"error": "region not in your plan"}))
    with pytest.raises(
        RegionFetchError, match=r"us-west1: WattTime refused /v3/forecast.*my-access"
    ):
        WattTimeProvider(client=client, allow_fallback=False).latest(["us-west1"])
    assert len(wt.hits("/v3/forecast")) == 1
    [reading] = WattTimeProvider(client=client).latest(["us-west1"])
    assert reading.kind is IntensityKind.FALLBACK and "HTTP 403" in reading.detail


def test_bad_login_is_reported(loopback, client):
    loopback.route("/login", loopback.Reply(401, {"error": "bad credentials"}))
    with pytest.raises(RegionFetchError, match=r"us-west1: GET .*/login: HTTP 401"):
        WattTimeProvider(client=client, allow_fallback=False).latest(["us-west1"])


def test_region_from_location_for_regions_without_a_catalogue_entry(wt, client):
    wt.route(
        "/v3/region-from-loc",
        wt.Reply(
            200, {"region": "MISO_INDIANAPOLIS", "region_full_name": "x", "signal_type": "co2_moer"}
        ),
    )
    wt.route("/v3/forecast", wt.Reply(200, data("MISO_INDIANAPOLIS", (1100.0,))))
    p = WattTimeProvider(client=client, locations={"us-central1": (41.22, -95.86)})
    [reading] = p.latest(["us-central1"])
    assert reading.zone == "MISO_INDIANAPOLIS" and reading.kind is IntensityKind.FORECAST
    assert wt.hits("/v3/region-from-loc")[0].query == {
        "latitude": "41.220000",
        "longitude": "-95.860000",
        "signal_type": "co2_moer",
    }


def test_region_without_watttime_coverage_falls_back(wt, client):
    [reading] = WattTimeProvider(client=client).latest(["europe-west1"])
    assert reading.kind is IntensityKind.FALLBACK and "no WattTime region" in reading.detail
    assert wt.hits("/v3/forecast") == []


def test_signal_index_is_a_percentile(wt, client):
    wt.route("/v3/signal-index", wt.Reply(200, data("NEVP", (58.0,), units="percentile")))
    [index] = WattTimeProvider(client=client).signal_index(["us-west4"])
    assert index.percentile == 58.0 and index.watttime_region == "NEVP"
    assert index.signal_type == "co2_moer"
    with pytest.raises(RegionFetchError, match="europe-west1"):
        WattTimeProvider(client=client).signal_index(["europe-west1"])


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (data(units="percentile"), "expected units lbs_co2_per_mwh"),
        (data(values=(-1.0,)), "finite number >= 0"),
        ({"meta": {"units": "lbs_co2_per_mwh"}, "data": []}, "non-empty list"),
        ({"data": [{"value": 1}]}, "'meta' is missing"),
    ],
)
def test_bad_payloads_fall_back(wt, client, body, cause):
    wt.route("/v3/forecast", wt.Reply(200, body))
    [reading] = WattTimeProvider(client=client).latest(["us-west1"])
    assert reading.kind is IntensityKind.FALLBACK and cause in reading.detail


def test_signal_type_is_validated():
    with pytest.raises(ValueError, match="signal_type"):
        WattTimeProvider(signal_type="health_damage")


# --- Findings of issue 14 ---


def my_access(*regions, signal="co2_moer", endpoints=("v3/forecast", "v3/historical")):
    """A /v3/my-access body: signal_types[].regions[].endpoints[].models[].

    Shape: WattTime/watttime-python-client watttime/api.py, WattTimeMyAccess.get_access_pandas,
    which walks exactly these keys (signal_type, region, region_full_name, endpoint, model).
    """
    return {
        "signal_types": [
            {
                "signal_type": signal,
                "regions": [
                    {
                        "region": region,
                        "region_full_name": region,
                        "parent": region.split("_")[0],
                        "data_point_period_seconds": 300,
                        "endpoints": [
                            {"endpoint": e, "models": [{"model": "2023-03-01"}]} for e in endpoints
                        ],
                    }
                    for region in regions
                ],
            }
        ]
    }


def test_co2_aoer_has_no_forecast_so_none_is_asked_for(wt, client):
    # Transition guide (WattTime/aer-test-docs transition.md): "co2_aoer (historical only, for
    # accounting purposes)".
    with pytest.raises(ValueError, match="co2_aoer as historical data only"):
        WattTimeProvider(client=client, signal_type="co2_aoer").forecast(["us-west1"])
    assert wt.requests == []


def test_co2_aoer_latest_is_the_newest_historical_point(wt, client):
    start = datetime(2026, 5, 1, 9, 50, tzinfo=UTC)
    wt.route("/v3/historical", wt.Reply(200, data("BPA", (500.0, 400.0, 300.0), "lbs_co2_per_mwh",
                                                    "co2_aoer", start=start)))  # fmt: skip
    p = WattTimeProvider(client=client, signal_type="co2_aoer", now=lambda: FIXED_NOW)
    [reading] = p.latest(["us-west1"])
    assert reading.kind is IntensityKind.LATEST and reading.signal == "average"
    assert reading.datetime_utc == "2026-05-01T10:00:00Z"
    assert reading.gco2e_per_kwh == pytest.approx(lbs_per_mwh_to_gco2e_per_kwh(300.0))
    assert wt.hits("/v3/forecast") == []


def test_forecast_horizon_is_sent_and_its_metadata_kept(wt, client):
    wt.route("/v3/forecast", wt.Reply(200, data("BPA", (900.0, 800.0))))
    ahead = WattTimeProvider(client=client).forecast(["us-west1"], horizon_hours=24)
    assert wt.hits("/v3/forecast")[0].query["horizon_hours"] == "24"
    assert "data_point_period_seconds=300" in ahead[0].detail
    assert "generated_at=" in ahead[0].detail and "model=2023-03-01" in ahead[0].detail
    with pytest.raises(ValueError, match="horizon_hours must be a whole number"):
        WattTimeProvider(client=client).forecast(["us-west1"], horizon_hours=96)


def test_an_answer_for_another_region_is_not_used(wt, client):
    wt.route("/v3/forecast", wt.Reply(200, data("CAISO_NORTH", (100.0,))))
    [reading] = WattTimeProvider(client=client).latest(["us-west1"])
    assert reading.kind is IntensityKind.FALLBACK and "answer is for CAISO_NORTH" in reading.detail


def test_stale_or_implausible_current_rates_are_not_used(wt, client):
    old = datetime(2016, 5, 1, tzinfo=UTC)
    wt.route(
        "/v3/forecast",
        lambda r: wt.Reply(
            200, data("BPA", (1000.0,), start=old) if r.query["region"] == "BPA" else
            data(r.query["region"], (9000.0,))  # 4,082 g/kWh
        ),
    )  # fmt: skip
    bpa, pace = WattTimeProvider(client=client).latest(["us-west1", "us-west3"])
    assert bpa.kind is IntensityKind.FALLBACK and "older than the 3.0 h limit" in bpa.detail
    assert pace.kind is IntensityKind.FALLBACK and "more than any real grid" in pace.detail


def test_free_account_is_detected_from_my_access(wt, client):
    wt.route("/v3/my-access", wt.Reply(200, my_access("CAISO_NORTH")))
    wt.route("/v3/forecast", wt.Reply(200, data("BPA")))
    [reading] = WattTimeProvider(client=client).latest(["us-west1"])
    assert reading.kind is IntensityKind.FALLBACK
    assert "no access to /v3/forecast co2_moer for BPA" in reading.detail
    assert "free WattTime account, which gets data for CAISO_NORTH only" in reading.detail
    assert wt.hits("/v3/forecast") == []  # refused before asking


def test_paid_account_regions_from_my_access_are_fetched(wt, client):
    wt.route("/v3/my-access", wt.Reply(200, my_access("BPA", "PACE")))
    wt.route("/v3/forecast", lambda r: wt.Reply(200, data(r.query["region"])))
    bpa, pace, nevp = WattTimeProvider(client=client).latest(["us-west1", "us-west3", "us-west4"])
    assert [r.kind for r in (bpa, pace)] == [IntensityKind.FORECAST] * 2
    assert nevp.kind is IntensityKind.FALLBACK and "has co2_moer for: BPA, PACE" in nevp.detail
    assert len(wt.hits("/v3/my-access")) == 1


class SteppingClock:
    """A fake monotonic clock that waits advance; records every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_rate_limits_are_wattimes_own_and_respected(wt, client):
    # docs.watttime.org: "a maximum of 3,000 requests in any 5-minute rolling window ... 100
    # requests in 5 minutes" for /login; beyond that WattTime answers 429.
    p = WattTimeProvider(client=client)
    assert (p.data_limit.max_requests, p.data_limit.window_s) == (3000, 300.0)
    assert (p.login_limit.max_requests, p.login_limit.window_s) == (100, 300.0)
    wt.route("/v3/forecast", lambda r: wt.Reply(200, data(r.query["region"])))
    clock = SteppingClock()
    limited = WattTimeProvider(
        client=client,
        data_limit=RateLimit(3, 300.0, clock=clock, sleep=clock.sleep),
        login_limit=RateLimit(1, 300.0, clock=clock, sleep=clock.sleep),
        max_in_flight=1,
    )
    regions = ["us-east1", "us-west1", "us-west3", "us-west4", "us-south1"]
    assert all(r.kind is IntensityKind.FORECAST for r in limited.latest(regions))
    # my-access + 5 forecasts = 6 data requests at 3 per 300 s: one full-window wait.
    assert len(wt.hits("/v3/forecast")) == 5 and clock.waits == [300.0]


def test_a_burst_of_logins_stays_inside_the_login_limit(wt, client, keys):
    wt.route(
        "/login", wt.Reply(200, {"token": "old-token-1"}), wt.Reply(200, {"token": keys.wt_token})
    )

    def forecast(request):  # the first token is refused as expired: a second login at once
        ok = request.headers.get("Authorization") == f"Bearer {keys.wt_token}"
        return wt.Reply(200, data()) if ok else wt.Reply(401, {"error": "token expired"})

    wt.route("/v3/forecast", forecast)
    clock = SteppingClock()
    p = WattTimeProvider(
        client=client, login_limit=RateLimit(1, 300.0, clock=clock, sleep=clock.sleep)
    )
    [reading] = p.latest(["us-west1"])
    assert reading.kind is IntensityKind.FORECAST
    assert len(wt.hits("/login")) == 2 and clock.waits == [300.0]
