"""Electricity Maps v3 provider against a loopback server shaped like the v3 docs."""

import math
from datetime import UTC, datetime

import pytest

from carbon_aware.intensity import IntensityKind
from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.secrets import MissingCredentialsError, Secret
from carbon_aware.regions import get_region

LATEST = "/v3/carbon-intensity/latest"
FREE_TIER_REFUSAL = {
    "error": "Request unauthorized for zoneKey=BE,requestType=forecast,dataType=carbon-intensity."
}
FIXED_NOW = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def provider(client, **kwargs):
    return ElectricityMapsProvider(client=client, **kwargs)


def by_zone(replies):
    """A handler answering per requested zone (replies: zone -> Reply)."""
    return lambda request: replies[request.query.get("zone", "")]


def test_latest_keeps_estimation_metadata_and_sends_the_key_in_the_header(
    loopback, client, em_point, keys
):
    point = em_point(
        "BE", 123.5, datetime="2026-05-01T10:00:00.000Z", updatedAt="2026-05-01T10:05:12.002Z"
    )
    loopback.route(LATEST, loopback.Reply(200, point))
    [reading] = provider(client, now=lambda: FIXED_NOW).latest(["europe-west1"])
    assert reading.region == "europe-west1" and reading.zone == "BE"
    assert reading.gco2e_per_kwh == 123.5 and reading.unit == "gCO2e/kWh"
    assert reading.datetime_utc == "2026-05-01T10:00:00Z"
    assert reading.kind is IntensityKind.LATEST and reading.is_estimated is True
    assert "estimationMethod=TIME_SLICER_AVERAGE" in reading.detail
    assert "updatedAt=2026-05-01T10:05:12.002Z" in reading.detail
    assert "emissionFactorType=lifecycle" in reading.detail
    assert reading.source == "Electricity Maps API v3 /carbon-intensity/latest"
    [request] = loopback.hits(LATEST)
    assert request.headers["auth-token"] == keys.em
    assert request.query == {
        "zone": "BE",
        "emissionFactorType": "lifecycle",
        "disableCallerLookup": "true",
    }


def test_query_by_data_centre_with_direct_emission_factors(loopback, client, em_point):
    loopback.route(
        LATEST, loopback.Reply(200, em_point("US-MIDW-MISO", 400, emissionFactorType="direct"))
    )
    [reading] = provider(client, query_by="datacenter", emission_factor_type="direct").latest(
        ["us-central1"]
    )
    assert loopback.hits(LATEST)[0].query == {
        "dataCenterProvider": "gcp",
        "dataCenterRegion": "us-central1",
        "emissionFactorType": "direct",
        "disableCallerLookup": "true",
    }
    assert "emissionFactorType=direct" in reading.detail and "query=datacenter" in reading.detail


def test_history_and_forecast_return_series_per_region(loopback, client, em_point):
    hours = [em_point("FI", 30 + h, datetime=f"2026-05-01T{h:02d}:00:00.000Z") for h in range(24)]
    loopback.route(
        "/v3/carbon-intensity/history", loopback.Reply(200, {"zone": "FI", "history": hours})
    )
    forecast = {
        "zone": "FI",
        "forecast": [{"carbonIntensity": 25, "datetime": "2026-05-02T00:00:00.000Z"}],
        "updatedAt": "2026-05-01T23:00:00.000Z",
    }
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(200, forecast))
    p = provider(client)
    history = p.history(["europe-north1"])
    assert len(history) == 24 and {r.kind for r in history} == {IntensityKind.HISTORY}
    assert history[5].gco2e_per_kwh == 35 and history[5].datetime_utc == "2026-05-01T05:00:00Z"
    [ahead] = p.forecast(["europe-north1"])
    assert ahead.kind is IntensityKind.FORECAST and ahead.gco2e_per_kwh == 25
    assert "updatedAt=2026-05-01T23:00:00.000Z" in ahead.detail


def test_past_range_sends_the_window(loopback, client, em_point):
    loopback.route(
        "/v3/carbon-intensity/past-range", loopback.Reply(200, {"zone": "BE", "data": [em_point()]})
    )
    start, end = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
    [reading] = provider(client).past_range(["europe-west1"], start, end)
    query = loopback.hits("/v3/carbon-intensity/past-range")[0].query
    assert query["start"] == "2026-04-01T00:00:00Z" and query["end"] == "2026-04-02T00:00:00Z"
    assert reading.kind is IntensityKind.HISTORY


def test_free_tier_forecast_refusal_is_explained(loopback, client):
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(403, FREE_TIER_REFUSAL))
    with pytest.raises(RegionFetchError) as err:
        provider(client, allow_fallback=False).forecast(["europe-west1"])
    text = str(err.value)
    assert "europe-west1" in text and "refused /carbon-intensity/forecast for BE" in text
    assert "free tier serves one zone" in text and "--provider static" in text
    assert len(loopback.hits("/v3/carbon-intensity/forecast")) == 1  # not retried


def test_free_tier_refusal_falls_back_when_allowed(loopback, client, em_point):
    loopback.route(
        LATEST,
        by_zone(
            {
                "BE": loopback.Reply(200, em_point("BE")),
                "FI": loopback.Reply(403, FREE_TIER_REFUSAL),
            }
        ),
    )
    be, fi = provider(client).latest(["europe-west1", "europe-north1"])
    assert be.kind is IntensityKind.LATEST
    assert fi.kind is IntensityKind.FALLBACK
    assert fi.gco2e_per_kwh == get_region("europe-north1").annual_gco2e_per_kwh
    assert "free tier" in fi.detail and "HTTP 403" in fi.detail


def test_invalid_key_is_a_clear_error(loopback, client):
    body = {"error": "Invalid auth-token", "message": "The provided token is invalid."}
    loopback.route(LATEST, loopback.Reply(401, body))
    with pytest.raises(RegionFetchError, match=r"rejected the API key.*ELECTRICITY_MAPS_API_KEY"):
        provider(client, allow_fallback=False).latest(["europe-west1"])
    assert len(loopback.hits(LATEST)) == 1


def test_unknown_zone_404_falls_back_with_the_cause(loopback, client):
    loopback.route(LATEST, loopback.Reply(404, {"error": "Zone 'BE' does not exist."}))
    [reading] = provider(client).latest(["europe-west1"])
    assert reading.kind is IntensityKind.FALLBACK and "HTTP 404" in reading.detail
    assert "google_region_carbon" in reading.source


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"zone": "BE", "datetime": "2026-05-01T10:00:00Z"}, "carbonIntensity' is missing"),
        (
            {"zone": "BE", "carbonIntensity": None, "datetime": "2026-05-01T10:00:00Z"},
            "missing or null",
        ),
        (
            {"zone": "BE", "carbonIntensity": -5, "datetime": "2026-05-01T10:00:00Z"},
            "finite number >= 0",
        ),
        (
            '{"zone": "BE", "carbonIntensity": NaN, "datetime": "2026-05-01T10:00:00Z"}',
            "finite number",
        ),
        (
            {"zone": "BE", "carbonIntensity": "high", "datetime": "2026-05-01T10:00:00Z"},
            "not a number",
        ),
        ({"zone": "BE", "carbonIntensity": 100}, "'datetime' is missing"),
        ({"zone": "BE", "carbonIntensity": 100, "datetime": "yesterday"}, "unreadable timestamp"),
        ('{"zone": "BE", "carbonIntens', "not valid JSON"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_payloads_fall_back_or_fail_naming_the_region(loopback, client, body, cause):
    loopback.route(LATEST, loopback.Reply(200, body))
    [reading] = provider(client).latest(["europe-west1"])
    assert reading.kind is IntensityKind.FALLBACK and cause in reading.detail
    assert math.isfinite(reading.gco2e_per_kwh)
    with pytest.raises(RegionFetchError, match=f"europe-west1: .*{cause[:12]}"):
        provider(client, allow_fallback=False).latest(["europe-west1"])


def test_one_region_failing_while_others_succeed(loopback, client, em_point, refused):
    loopback.route(
        LATEST,
        by_zone(
            {
                "BE": loopback.Reply(200, em_point("BE", 100)),
                "FI": loopback.Reply(500, {"error": "upstream down"}),
                "FR": loopback.Reply(200, em_point("FR", 20)),
            }
        ),
    )
    regions = ["europe-west1", "europe-north1", "europe-west9"]
    readings = provider(client).latest(regions)
    assert [r.region for r in readings] == regions
    assert [r.kind for r in readings] == [
        IntensityKind.LATEST,
        IntensityKind.FALLBACK,
        IntensityKind.LATEST,
    ]
    assert "HTTP 500: upstream down" in readings[1].detail
    with pytest.raises(RegionFetchError) as err:
        provider(client, allow_fallback=False).latest(regions)
    assert list(err.value.failures) == ["europe-north1"]
    assert "1 region (europe-north1)" in str(err.value)


def test_timeout_and_refused_connection_fall_back(loopback, client, em_point, refused, monkeypatch):
    loopback.route(LATEST, loopback.Reply(200, em_point(), delay_s=0.7))
    [slow] = provider(client).latest(["europe-west1"])
    assert slow.kind is IntensityKind.FALLBACK and "no response within" in slow.detail
    monkeypatch.setenv("ELECTRICITY_MAPS_API_URL", f"{refused}/v3")
    [down] = provider(client).latest(["europe-west1"])
    assert down.kind is IntensityKind.FALLBACK and "connection failed" in down.detail


def test_base_url_is_read_at_call_time(loopback, client, em_point, monkeypatch):
    p = provider(client)
    monkeypatch.setenv("ELECTRICITY_MAPS_API_URL", f"{loopback.url}/other/v3")
    loopback.route("/other/v3/carbon-intensity/latest", loopback.Reply(200, em_point()))
    assert p.latest(["europe-west1"])[0].kind is IntensityKind.LATEST


def test_missing_key_is_a_value_error_before_any_request(loopback, client, monkeypatch):
    monkeypatch.delenv("ELECTRICITY_MAPS_API_KEY")
    with pytest.raises(MissingCredentialsError, match="ELECTRICITY_MAPS_API_KEY"):
        provider(client).latest(["europe-west1"])
    assert loopback.requests == []


def test_options_are_validated_and_repr_hides_the_key(keys):
    with pytest.raises(ValueError, match="emission_factor_type"):
        ElectricityMapsProvider(emission_factor_type="marginal")
    with pytest.raises(ValueError, match="query_by"):
        ElectricityMapsProvider(query_by="city")
    p = ElectricityMapsProvider(api_key=Secret(keys.em))
    assert keys.em not in repr(p) and keys.em not in repr(Secret(keys.em))
