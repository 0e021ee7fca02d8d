"""Electricity Maps v3 provider against a loopback server shaped like the v3 docs."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from carbon_aware.intensity import IntensityKind
from carbon_aware.intensity.electricitymaps import DATA_CENTER_ZONES, ElectricityMapsProvider
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.secrets import MissingCredentialsError, Secret
from carbon_aware.regions import get_region

from .conftest import this_hour

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


# --- Findings of issue 14: answers read against the published API, not our own assumptions ---


def test_an_answer_for_another_zone_is_not_used(loopback, client, em_point):
    # A latest for europe-north1 (FI) answered as NO-NO1 at 5 g must not become Finland's figure.
    loopback.route(LATEST, loopback.Reply(200, em_point("NO-NO1", 5)))
    [reading] = provider(client).latest(["europe-north1"])
    assert reading.kind is IntensityKind.FALLBACK and reading.zone == "FI"
    assert "answer is for zone NO-NO1" in reading.detail and reading.gco2e_per_kwh != 5
    with pytest.raises(RegionFetchError, match=r"europe-north1: .*answer is for zone NO-NO1"):
        provider(client, allow_fallback=False).latest(["europe-north1"])


def test_stale_future_and_implausible_latest_figures_are_not_used(
    loopback, client, em_point, monkeypatch
):
    replies = {
        "BE": em_point("BE", 100, datetime="2016-05-01T10:00:00.000Z"),  # ten years old
        "FI": em_point("FI", 40, datetime="2027-05-01T10:00:00.000Z"),  # next year
        "FR": em_point("FR", 5000),  # above any real grid
        "NL": em_point("NL", 300),
    }
    loopback.route(LATEST, lambda r: loopback.Reply(200, replies[r.query["zone"]]))
    regions = ["europe-west1", "europe-north1", "europe-west9", "europe-west4"]
    be, fi, fr, nl = provider(client).latest(regions)
    assert "older than the 3.0 h limit (CARBON_AWARE_MAX_READING_AGE_H)" in be.detail
    assert "in the future" in fi.detail
    assert "more than any real grid" in fr.detail
    assert [r.kind for r in (be, fi, fr)] == [IntensityKind.FALLBACK] * 3
    assert nl.kind is IntensityKind.LATEST and nl.gco2e_per_kwh == 300
    # The limit is documented and overridable: eleven years makes the old reading acceptable.
    monkeypatch.setenv("CARBON_AWARE_MAX_READING_AGE_H", str(11 * 366 * 24))
    [old] = provider(client).latest(["europe-west1"])
    assert old.kind is IntensityKind.LATEST and old.gco2e_per_kwh == 100
    monkeypatch.setenv("CARBON_AWARE_MAX_READING_AGE_H", "soon")
    with pytest.raises(ValueError, match="CARBON_AWARE_MAX_READING_AGE_H must be a positive"):
        provider(client).latest(["europe-west1"])


def test_null_hours_in_a_history_are_skipped_and_counted(loopback, client, em_point):
    # The Carbon Aware SDK models history carbonIntensity as nullable (int?,
    # HistoryCarbonIntensityData.cs): a gap in the 24 h must not discard the other 23 hours.
    hours = [em_point("FI", 30 + h, datetime=f"2026-05-01T{h:02d}:00:00.000Z") for h in range(24)]
    hours[3]["carbonIntensity"] = None
    hours[17]["carbonIntensity"] = None
    loopback.route(
        "/v3/carbon-intensity/history", loopback.Reply(200, {"zone": "FI", "history": hours})
    )
    history = provider(client, allow_fallback=False).history(["europe-north1"])
    assert len(history) == 22 and {r.kind for r in history} == {IntensityKind.HISTORY}
    assert "2026-05-01T03:00:00Z" not in {r.datetime_utc for r in history}
    assert all("missing=2 of 24 points (null carbonIntensity)" in r.detail for r in history)
    for h in hours:
        h["carbonIntensity"] = None
    with pytest.raises(RegionFetchError, match="every carbonIntensity in 'history' is null"):
        provider(client, allow_fallback=False).history(["europe-north1"])


def data_centre_api(loopback, em_point):
    """Answers data-centre queries as the API reference describes, IP fallback included.

    Reference, Geolocation: "If no zone is detected ... the API will attempt to use your current
    location based on IP of the caller", unless disabled. This fake knows two GCP data centres
    (zones from electricitymaps-contrib data_centers.json); for any other region it answers the
    caller's zone (DE here) unless ``disableCallerLookup=true``, then 404 as for an unknown zone.
    """
    known = {"us-central1": "US-CENT-SWPP", "europe-west1": "BE"}

    def answer(request):
        zone = known.get(request.query.get("dataCenterRegion", ""))
        if zone is None and request.query.get("disableCallerLookup") != "true":
            zone = "DE"
        if zone is None:
            return loopback.Reply(404, {"error": "No data center found for gcp europe-north1"})
        return loopback.Reply(200, em_point(zone, 400 if zone == "US-CENT-SWPP" else 55))

    return answer


def test_data_centre_mode_disables_the_caller_lookup_and_checks_the_zone(
    loopback, client, em_point
):
    loopback.route(LATEST, data_centre_api(loopback, em_point))
    p = provider(client, query_by="datacenter")
    central, north = p.latest(["us-central1", "europe-north1"])
    # Electricity Maps' own mapping for us-central1 differs from the catalogue: kept, and said so.
    assert central.kind is IntensityKind.LATEST and central.zone == "US-CENT-SWPP"
    assert "catalogueZone=US-MIDW-MISO" in central.detail
    # An unknown data centre never becomes the caller's zone.
    assert north.kind is IntensityKind.FALLBACK and north.zone == "FI"
    assert {r.query["disableCallerLookup"] for r in loopback.hits(LATEST)} == {"true"}


def test_data_centre_answer_for_an_unrelated_zone_is_not_used(loopback, client, em_point):
    loopback.route(LATEST, loopback.Reply(200, em_point("DE", 300)))
    [reading] = provider(client, query_by="datacenter").latest(["us-west1"])
    assert reading.kind is IntensityKind.FALLBACK
    assert "zone US-NW-BPAT or US-NW-PACW" in reading.detail
    assert "answer is for zone DE" in reading.detail


def test_forecast_rows_are_not_labelled_with_the_configured_emission_factor(loopback, client):
    # Forecast rows are {carbonIntensity, datetime} only (Carbon Aware SDK
    # ForecastedCarbonIntensityData.cs; API reference, /v3/carbon-intensity/forecast).
    body = {
        "zone": "FI",
        "forecast": [{"carbonIntensity": 25, "datetime": "2026-05-02T00:00:00.000Z"}],
        "updatedAt": "2026-05-01T23:00:00.000Z",
    }
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(200, body))
    [ahead] = provider(client, emission_factor_type="direct").forecast(["europe-north1"])
    assert "emissionFactorType=direct" not in ahead.detail
    assert "requestedEmissionFactorType=direct" in ahead.detail


# The plan refusal exactly as the API sends it (issue 14, from the API's own answers).
PLAN_REFUSAL_401 = {
    "error": "Request unauthorized for zoneKey=BE,requestType=forecast",
    "message": "You do not have access to this specific endpoint for this specific zone. "
    "Please upgrade your plan or contact us.",
}


def test_plan_refusal_401_names_the_missing_access_and_what_to_do(loopback, client):
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(401, PLAN_REFUSAL_401))
    with pytest.raises(RegionFetchError) as err:
        provider(client, allow_fallback=False).forecast(["europe-west1"])
    text = str(err.value)
    assert "Your plan has no forecast access for zone BE" in text
    assert "rejected the API key" not in text and "GET /v3/zones" in text
    assert "--provider static" in text and "portal.electricitymaps.com" in text
    assert len(loopback.hits("/v3/carbon-intensity/forecast")) == 1


def test_zone_access_listed_by_v3_zones_is_checked_before_asking(loopback, client, keys):
    # GET /v3/zones with the key: zone -> {zoneName, access: ["signal/temporality", ...] or
    # ["*"]} (getting-started guide: "calling /v3/zones with your auth-token ... details about
    # the zones you have access to").
    zones = {
        "BE": {
            "zoneName": "Belgium",
            "access": ["carbon-intensity/latest", "carbon-intensity/history"],
        },
        "FI": {"zoneName": "Finland", "access": ["*"]},
    }
    loopback.route("/v3/zones", loopback.Reply(200, zones))
    forecast = {"zone": "FI", "forecast": [{"carbonIntensity": 25, "datetime": this_hour()}]}
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(200, forecast))
    be, fi = provider(client).forecast(["europe-west1", "europe-north1"])
    assert fi.kind is IntensityKind.FORECAST
    assert be.kind is IntensityKind.FALLBACK
    assert "no access to carbon-intensity/forecast for zone BE" in be.detail
    assert "carbon-intensity/latest, carbon-intensity/history" in be.detail
    assert [r.query["zone"] for r in loopback.hits("/v3/carbon-intensity/forecast")] == ["FI"]
    [listing] = loopback.hits("/v3/zones")
    assert listing.headers["auth-token"] == keys.em


def test_past_range_longer_than_ten_days_is_fetched_in_chunks(loopback, client, em_point):
    # API reference, past-range: "limited to 10 days (240 hours) for an hourly granularity".
    # The refusal's body is not documented; this fake answers 400 with an error message.
    def past_range(request):
        start = datetime.fromisoformat(request.query["start"])
        end = datetime.fromisoformat(request.query["end"])
        if end - start > timedelta(hours=240):
            return loopback.Reply(400, {"error": "Time range exceeds the limit of 10 days"})
        hours = int((end - start).total_seconds() // 3600)
        points = [
            em_point("BE", 100 + h % 7, datetime=(start + timedelta(hours=h)).isoformat())
            for h in range(hours + 1)  # inclusive of the end, as a range query may be
        ]
        return loopback.Reply(200, {"zone": "BE", "data": points})

    loopback.route("/v3/carbon-intensity/past-range", past_range)
    start, end = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 26, tzinfo=UTC)
    readings = provider(client, allow_fallback=False).past_range(["europe-west1"], start, end)
    windows = [
        (r.query["start"], r.query["end"]) for r in loopback.hits("/v3/carbon-intensity/past-range")
    ]
    assert windows == [
        ("2026-04-01T00:00:00Z", "2026-04-11T00:00:00Z"),
        ("2026-04-11T00:00:00Z", "2026-04-21T00:00:00Z"),
        ("2026-04-21T00:00:00Z", "2026-04-26T00:00:00Z"),
    ]
    stamps = [r.datetime_utc for r in readings]
    assert len(stamps) == len(set(stamps)) == 25 * 24 + 1 and stamps == sorted(stamps)


def test_forecast_horizon_and_granularity_are_sent_and_kept(loopback, client):
    body = {
        "zone": "FI",
        "forecast": [{"carbonIntensity": 25, "datetime": "2026-05-02T00:00:00.000Z"}],
        "temporalGranularity": "15_minutes",
    }
    loopback.route("/v3/carbon-intensity/forecast", loopback.Reply(200, body))
    p = provider(client, temporal_granularity="15_minutes")
    [ahead] = p.forecast(["europe-north1"], horizon_hours=48)
    query = loopback.hits("/v3/carbon-intensity/forecast")[0].query
    assert query["horizonHours"] == "48" and query["temporalGranularity"] == "15_minutes"
    assert "temporalGranularity=15_minutes" in ahead.detail
    with pytest.raises(ValueError, match="horizon_hours must be a whole number of hours"):
        p.forecast(["europe-north1"], horizon_hours=100)
    with pytest.raises(ValueError, match="temporal_granularity"):
        provider(client, temporal_granularity="daily")
    assert len(loopback.hits("/v3/carbon-intensity/forecast")) == 1


def test_data_centre_zones_list_only_where_electricity_maps_disagrees_with_the_catalogue():
    # REGIONS.md: EM's data_centers.json (b354f28a) differs for exactly these three regions.
    assert sorted(DATA_CENTER_ZONES) == ["us-central1", "us-east1", "us-west1"]
    for region, zone in DATA_CENTER_ZONES.items():
        catalogue = get_region(region).electricity_maps_zone
        assert zone != catalogue and zone.split("-")[0] == catalogue.split("-")[0] == "US"
