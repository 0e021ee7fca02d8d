"""Planning from the live providers' forecasts, against loopback servers shaped like their docs.

Electricity Maps v3 ``GET /carbon-intensity/forecast?zone=…&horizonHours=…`` answers
``{"zone", "forecast": [{"carbonIntensity", "datetime"}, …], "updatedAt"}`` (hourly points);
WattTime v3 ``GET /v3/forecast?region=…&signal_type=…&horizon_hours=…`` answers
``{"data": [{"point_time", "value"}, …], "meta": {"units": "lbs_co2_per_mwh", …}}`` in
5-minute points. Each test plants the cleanest window and checks the plan finds it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.watttime import WattTimeProvider
from carbon_aware.planning.when import plan_from_provider

NOW = datetime(2030, 3, 10, 9, 20, tzinfo=UTC)
HOUR0 = datetime(2030, 3, 10, 10, 0, tzinfo=UTC)  # forecasts begin at the next full hour


def em_forecast(zone: str, hours: int, low_at: int | None, low: float) -> dict:
    points = [
        {
            "carbonIntensity": low if h == low_at else 250.0 + h,
            "datetime": (HOUR0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        for h in range(hours)
    ]
    return {
        "zone": zone,
        "forecast": points,
        "updatedAt": "2030-03-10T09:05:00.000Z",
        "emissionFactorType": "lifecycle",
    }


@pytest.fixture
def em(loopback):
    def route(lows: dict[str, tuple[int, float]], refused: tuple[str, ...] = ()) -> None:
        def handle(request):
            zone = request.query["zone"]
            if zone in refused:
                return loopback.Reply(403, {"message": "Your plan does not cover this zone"})
            hours = int(request.query["horizonHours"])
            at, low = lows.get(zone, (None, 0.0))
            return loopback.Reply(200, em_forecast(zone, hours, at, low))

        loopback.route("/v3/carbon-intensity/forecast", handle)

    return route


def test_electricitymaps_forecast_asks_for_the_horizon_the_plan_needs(em, loopback, client, keys):
    em({"BE": (6, 40.0), "NL": (2, 150.0)})
    plan = plan_from_provider(
        "electricitymaps",
        ["europe-west1", "europe-west4"],
        2,
        20,
        now=NOW,
        provider=ElectricityMapsProvider(client=client),
    )
    hits = loopback.hits("/v3/carbon-intensity/forecast")
    assert {h.query["horizonHours"] for h in hits} == {"22"}
    assert {h.query["zone"] for h in hits} == {"BE", "NL"}
    assert hits[0].headers["auth-token"] == keys.em
    # BE's planted hour is 16:00; a 2 h job from 15:00 averages it with 255, from 16:00 with 257.
    assert (plan.region, plan.start_utc) == ("europe-west1", "2030-03-10T15:00:00Z")
    assert plan.expected_gco2e_per_kwh == pytest.approx((255.0 + 40.0) / 2)
    assert plan.planned_at_utc == "2030-03-10T09:00:00Z"
    assert plan.forecast_methods["europe-west1"].startswith("electricitymaps forecast")


def test_electricitymaps_horizon_is_capped_at_72_hours(em, loopback, client):
    em({"BE": (30, 40.0)})
    provider = ElectricityMapsProvider(client=client)
    plan = plan_from_provider(
        "electricitymaps", ["europe-west1"], 1, 100, now=NOW, provider=provider
    )
    assert loopback.hits("/v3/carbon-intensity/forecast")[0].query["horizonHours"] == "72"
    assert any("electricitymaps forecasts reach 72 h" in n for n in plan.notes)
    assert plan.start_utc == "2030-03-11T16:00:00Z"  # hour 30 after 10:00


def test_a_refused_zone_falls_back_to_annual_and_is_labelled(em, client):
    em({"BE": (5, 40.0)}, refused=("NL",))
    plan = plan_from_provider(
        "electricitymaps",
        ["europe-west1", "europe-west4"],
        1,
        12,
        now=NOW,
        provider=ElectricityMapsProvider(client=client),
    )
    source = plan.forecast_methods["europe-west4"]
    assert "electricitymaps has no forecast for it" in source and "HTTP 403" in source
    assert "time cannot be chosen" in source
    assert plan.forecast_methods["europe-west1"].startswith("electricitymaps forecast")


def test_forecast_hours_outside_the_api_limit_are_refused():
    with pytest.raises(ValueError, match="1 to 72 hours ahead"):
        ElectricityMapsProvider(api_key=None).forecast_hours(["europe-west1"], 73)
    with pytest.raises(ValueError, match="1 to 72 hours ahead"):
        WattTimeProvider().forecast_hours(["us-west1"], 0)


def test_watttime_five_minute_forecast_becomes_hourly_and_the_planted_hour_wins(
    loopback, client, keys
):
    loopback.route("/login", loopback.Reply(200, {"token": keys.wt_token}))

    def handle(request):
        hours = int(request.query["horizon_hours"])
        points = []
        for k in range(hours * 12):
            moment = HOUR0 + timedelta(minutes=5 * k)
            value = 200.0 if k // 12 == 4 else 900.0  # lbs/MWh; hour 4 is the clean one
            points.append({"point_time": moment.isoformat(), "value": value})
        meta = {
            "region": request.query["region"],
            "signal_type": "co2_moer",
            "units": "lbs_co2_per_mwh",
            "generated_at": "2030-03-10T09:15:00+00:00",
            "data_point_period_seconds": 300,
        }
        return loopback.Reply(200, {"data": points, "meta": meta})

    loopback.route("/v3/forecast", handle)
    plan = plan_from_provider(
        "watttime", ["us-west1"], 1, 8, now=NOW, provider=WattTimeProvider(client=client)
    )
    request = loopback.hits("/v3/forecast")[0]
    assert request.query["horizon_hours"] == "9"
    assert request.headers["Authorization"] == f"Bearer {keys.wt_token}"
    assert plan.start_utc == "2030-03-10T14:00:00Z"
    assert plan.expected_gco2e_per_kwh == pytest.approx(200.0 * 0.45359237)


def test_a_job_longer_than_the_forecast_says_so_and_what_was_done(em, client):
    em({"BE": (5, 40.0)})
    provider = ElectricityMapsProvider(client=client)
    plan = plan_from_provider(
        "electricitymaps", ["europe-west1"], 80, 4, now=NOW, provider=provider
    )
    source = plan.forecast_methods["europe-west1"]
    assert (
        "the electricitymaps forecast covers 73 h" in source and "less than the 80 h job" in source
    )
    assert "no history for our forecast" in source and "time cannot be chosen" in source
    assert plan.delay_hours == 0
