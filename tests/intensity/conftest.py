"""Fixtures for the live-provider tests: a loopback server, test credentials, a fast client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from carbon_aware.intensity.http import JsonHttpClient, RetryPolicy

from .loopback import LoopbackServer, refused_url

EM_KEY = "em-test-key-5f3c9a1b7d2e"
WT_USER = "carbon-tester"
WT_PASSWORD = "wt-pass-9e8d7c6b5a4f"
WT_TOKEN = "wt-token-abc123xyz789"
FAST_POLICY = RetryPolicy(
    max_attempts=3,
    timeout_s=0.25,
    backoff_base_s=0.01,
    backoff_max_s=0.02,
    retry_after_cap_s=0.2,
    deadline_s=3.0,
)


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A started loopback server; both providers' base URLs and credentials point at it."""
    server = LoopbackServer().start()
    monkeypatch.setenv("ELECTRICITY_MAPS_API_URL", f"{server.url}/v3")
    monkeypatch.setenv("WATTTIME_API_URL", server.url)
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", EM_KEY)
    monkeypatch.setenv("WATTTIME_USERNAME", WT_USER)
    monkeypatch.setenv("WATTTIME_PASSWORD", WT_PASSWORD)
    monkeypatch.delenv("CARBON_AWARE_CACHE_DIR", raising=False)
    yield server
    server.stop()


@pytest.fixture
def refused() -> str:
    """A loopback base URL that refuses connections."""
    return refused_url()


class RecordingSleep:
    """Stands in for time.sleep: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(sleeps: RecordingSleep) -> JsonHttpClient:
    """A client with short timeouts whose backoff waits are recorded, not slept."""
    return JsonHttpClient(FAST_POLICY, sleep=sleeps)


def this_hour() -> str:
    """The start of the current UTC hour, as Electricity Maps stamps its latest figure."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:00:00.000Z")


@pytest.fixture
def em_point():
    """Builds an Electricity Maps carbon-intensity object as the v3 docs show it.

    Shape: API reference, GET /v3/carbon-intensity/latest, response example (zone,
    carbonIntensity, datetime, updatedAt, createdAt, emissionFactorType, isEstimated,
    estimationMethod; https://portal.electricitymaps.com/developer-hub/api/reference). The
    datetime defaults to the current hour, as a live answer would carry.
    """

    def build(zone: str = "BE", value: object = 123.0, **extra: object) -> dict:
        point = {
            "zone": zone,
            "carbonIntensity": value,
            "datetime": this_hour(),
            "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "createdAt": "2026-04-28T06:20:31.772Z",
            "emissionFactorType": "lifecycle",
            "isEstimated": True,
            "estimationMethod": "TIME_SLICER_AVERAGE",
        }
        point.update(extra)
        return point

    return build


@pytest.fixture
def keys():
    """The credential values the loopback fixture puts in the environment."""
    from types import SimpleNamespace

    return SimpleNamespace(em=EM_KEY, wt_user=WT_USER, wt_password=WT_PASSWORD, wt_token=WT_TOKEN)
