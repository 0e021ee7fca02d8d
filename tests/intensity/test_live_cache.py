"""The disk cache: off unless configured, TTL, tolerant of junk, never stores logins."""

import json

from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.http import JsonHttpClient
from carbon_aware.intensity.watttime import WattTimeProvider


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_unless_a_directory_is_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("CARBON_AWARE_CACHE_DIR", raising=False)
    assert DiskCache.from_env() is None
    monkeypatch.setenv("CARBON_AWARE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CARBON_AWARE_CACHE_TTL_S", "60")
    cache = DiskCache.from_env()
    assert cache is not None and cache.directory == tmp_path and cache.ttl_s == 60


def test_entries_expire_after_the_ttl(tmp_path):
    clock = Clock()
    cache = DiskCache(tmp_path, ttl_s=10, clock=clock)
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    clock.now += 11
    assert cache.get("k") is None
    assert cache.get("other") is None


def test_unreadable_entries_are_ignored(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put("k", [1])
    next(tmp_path.glob("*.json")).write_text("{not json")
    assert cache.get("k") is None


def test_client_serves_repeat_requests_from_the_cache(loopback, tmp_path):
    loopback.route("/x", loopback.Reply(200, {"v": 1}))
    client = JsonHttpClient(cache=DiskCache(tmp_path))
    assert client.get_json(f"{loopback.url}/x", params={"zone": "BE"}) == {"v": 1}
    assert client.get_json(f"{loopback.url}/x", params={"zone": "BE"}) == {"v": 1}
    assert len(loopback.hits("/x")) == 1
    client.get_json(f"{loopback.url}/x", params={"zone": "FI"})
    assert len(loopback.hits("/x")) == 2
    [entry, *_] = tmp_path.glob("*.json")
    assert json.loads(entry.read_text())["body"] == {"v": 1}


def test_login_tokens_are_never_cached(loopback, tmp_path, keys):
    loopback.route("/login", loopback.Reply(200, {"token": keys.wt_token}))
    loopback.route(
        "/v3/forecast",
        loopback.Reply(
            200,
            {
                "data": [{"point_time": "2026-05-01T00:00:00Z", "value": 1.0}],
                "meta": {"units": "lbs_co2_per_mwh"},
            },
        ),
    )
    WattTimeProvider(client=JsonHttpClient(cache=DiskCache(tmp_path))).latest(["us-west1"])
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    assert keys.wt_token not in text and "lbs_co2_per_mwh" in text
