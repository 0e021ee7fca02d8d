"""The registry: names, options, and fetch_snapshot with the live providers."""

import pytest

from carbon_aware.intensity import PROVIDER_NAMES, fetch_snapshot, get_provider
from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.watttime import WattTimeProvider


def test_provider_names():
    assert PROVIDER_NAMES == ("csv", "electricitymaps", "static", "watttime")
    assert isinstance(get_provider("electricitymaps"), ElectricityMapsProvider)
    assert isinstance(get_provider("watttime", allow_fallback=False), WattTimeProvider)
    assert get_provider("watttime", allow_fallback=False).allow_fallback is False


def test_constructing_live_providers_needs_no_key(monkeypatch):
    monkeypatch.delenv("ELECTRICITY_MAPS_API_KEY", raising=False)
    get_provider("electricitymaps", api_key_secret="projects/my-project/secrets/k/versions/latest")


def test_fetch_snapshot_with_electricity_maps(loopback, client, em_point):
    loopback.route(
        "/v3/carbon-intensity/latest",
        lambda r: (
            loopback.Reply(200, em_point(r.query["zone"], 50))
            if r.query["zone"] == "BE"
            else loopback.Reply(502, b"")
        ),
    )
    snapshot = fetch_snapshot("electricitymaps", ["europe-west1", "europe-north1"], client=client)
    readings = snapshot.by_region()
    assert snapshot.provider == "electricitymaps"
    assert (
        readings["europe-west1"].kind == "latest" and readings["europe-north1"].kind == "fallback"
    )
    with pytest.raises(RegionFetchError, match="europe-north1"):
        fetch_snapshot(
            "electricitymaps",
            ["europe-west1", "europe-north1"],
            client=client,
            allow_fallback=False,
        )
