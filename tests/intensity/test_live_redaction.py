"""Keys set in the environment never reach logs, error text, fallback details, reprs or the cache.

The loopback server is deliberately hostile: its error bodies echo the key, password or token back,
as a misbehaving proxy might.
"""

import argparse
import base64
import json
import logging

import pytest

from carbon_aware.intensity import fetch_snapshot
from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.cli import register
from carbon_aware.intensity.electricitymaps import ElectricityMapsProvider
from carbon_aware.intensity.fallback import RegionFetchError
from carbon_aware.intensity.http import JsonHttpClient
from carbon_aware.intensity.watttime import WattTimeProvider

from .conftest import this_hour

REGIONS = [
    "europe-west1",
    "europe-north1",
    "europe-west9",
    "europe-west4",
    "europe-west3",
    "europe-west2",
]


def em_faults(server, key):
    """One fault per zone, several of them quoting the key."""
    R = server.Reply
    ok = {"zone": "GB", "carbonIntensity": 99, "datetime": this_hour(), "note": "fine"}
    replies = {
        "BE": R(401, {"error": "Invalid auth-token", "message": f"token {key} is invalid"}),
        "FI": R(500, {"error": f"upstream failed for auth-token={key}"}),
        "FR": R(403, {"error": f"Request unauthorized for zoneKey=FR, token {key}"}),
        "NL": R(200, f'{{"carbonIntensity": {key}'),
        "DE": R(429, {"error": f"rate limited {key}"}, {"Retry-After": "0"}),
        "GB": R(200, ok),
    }
    return lambda request: replies[request.query["zone"]]


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="carbon-aware")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["intensity", *argv])
    return args.func(args)


def scrub_check(secret_values, *texts):
    for text in texts:
        for value in secret_values:
            assert value not in text


@pytest.mark.parametrize("allow_fallback", [True, False])
def test_electricity_maps_key_never_leaks(loopback, keys, sleeps, tmp_path, caplog, allow_fallback):
    caplog.set_level(logging.DEBUG)
    loopback.route("/v3/carbon-intensity/latest", em_faults(loopback, keys.em))
    client = JsonHttpClient(cache=DiskCache(tmp_path), sleep=sleeps)
    provider = ElectricityMapsProvider(client=client, allow_fallback=allow_fallback)
    if allow_fallback:
        readings = provider.latest(REGIONS)
        texts = [r.detail for r in readings] + [repr(r) for r in readings]
        assert sum(r.kind == "fallback" for r in readings) == 5
    else:
        with pytest.raises(RegionFetchError) as err:
            provider.latest(REGIONS)
        texts = [str(err.value), repr(err.value)] + [str(c) for c in err.value.failures.values()]
        assert len(err.value.failures) == 5
    assert loopback.hits("/v3/carbon-intensity/latest")[0].headers["auth-token"] == keys.em
    cache_text = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "99" in cache_text  # the good body was cached
    scrub_check([keys.em], caplog.text, *texts, cache_text, repr(provider), repr(client))
    assert "***" in "".join(texts)  # the echoed key was redacted, not dropped silently


def test_electricity_maps_key_never_leaks_on_network_faults(
    loopback, refused, keys, client, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    loopback.route("/v3/carbon-intensity/latest", loopback.Reply(200, {}, delay_s=0.7))
    texts = [ElectricityMapsProvider(client=client).latest(["europe-west1"])[0].detail]
    monkeypatch.setenv("ELECTRICITY_MAPS_API_URL", f"{refused}/v3")
    with pytest.raises(RegionFetchError) as err:
        ElectricityMapsProvider(client=client, allow_fallback=False).latest(["europe-west1"])
    scrub_check([keys.em], caplog.text, str(err.value), *texts)


def test_watttime_password_and_token_never_leak(loopback, keys, sleeps, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{keys.wt_user}:{keys.wt_password}".encode()).decode()
    R = loopback.Reply
    loopback.route("/login", R(200, {"token": keys.wt_token}))

    def forecast(request):
        region = request.query["region"]
        if region == "BPA":
            return R(403, {"error": f"no access with {keys.wt_token} / {basic}"})
        if region == "PACE":
            return R(503, {"error": f"down; password was {keys.wt_password}"})
        return R(200, f'{{"data": [{keys.wt_token}')

    loopback.route("/v3/forecast", forecast)
    client = JsonHttpClient(cache=DiskCache(tmp_path), sleep=sleeps)
    provider = WattTimeProvider(client=client, allow_fallback=False)
    with pytest.raises(RegionFetchError) as err:
        provider.latest(["us-west1", "us-west3", "us-west4"])
    secret_values = [keys.wt_password, keys.wt_token, basic]
    cache_text = "".join(p.read_text() for p in tmp_path.iterdir()) if tmp_path.exists() else ""
    scrub_check(secret_values, caplog.text, str(err.value), cache_text, repr(provider))
    assert len(err.value.failures) == 3


def test_bad_login_does_not_echo_the_password(loopback, keys, client, caplog):
    caplog.set_level(logging.DEBUG)
    loopback.route("/login", loopback.Reply(401, {"error": f"bad password {keys.wt_password}"}))
    with pytest.raises(RegionFetchError) as err:
        WattTimeProvider(client=client, allow_fallback=False).latest(["us-west1"])
    scrub_check([keys.wt_password], caplog.text, str(err.value))


def test_a_key_echoed_in_a_200_body_reaches_no_output_artifact_or_cache(
    loopback, keys, em_point, tmp_path, capsys, monkeypatch
):
    # A careless server quotes the key inside an otherwise valid answer (here in estimationMethod,
    # which the reading's detail keeps). It must not reach stdout, the snapshot or the cache.
    point = em_point("BE", 120, estimationMethod=f"TIME_SLICER_AVERAGE for {keys.em}")
    point["echo"] = {"auth-token": keys.em}
    loopback.route("/v3/carbon-intensity/latest", loopback.Reply(200, point))
    cache = tmp_path / "cache"
    assert run_cli(["--regions", "europe-west1", "--provider", "electricitymaps", "--json",
                    "--cache-dir", str(cache)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    [row] = json.loads(printed)
    assert row["kind"] == "latest" and "TIME_SLICER_AVERAGE for ***" in row["detail"]
    monkeypatch.setenv("CARBON_AWARE_CACHE_DIR", str(cache))
    snapshot = fetch_snapshot("electricitymaps", ["europe-west1"]).to_json()
    cached = "".join(p.read_text() for p in cache.iterdir())
    scrub_check([keys.em], printed, snapshot, cached)
    assert '"kind": "latest"' in snapshot and "***" in cached
