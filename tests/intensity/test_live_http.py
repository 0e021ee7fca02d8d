"""The shared HTTP layer against a real loopback server: retries, backoff, deadlines, faults."""

import time
from datetime import UTC, datetime

import pytest

from carbon_aware.intensity.cache import DiskCache
from carbon_aware.intensity.http import (
    AuthError,
    BadResponseError,
    IntensityFetchError,
    JsonHttpClient,
    NotFoundError,
    RateLimit,
    RateLimitedError,
    RedirectRefusedError,
    RetryPolicy,
    ServerError,
    TransportError,
    describe_url,
    map_concurrently,
    redact,
    retry_after_s,
)

from .loopback import LoopbackServer


def test_5xx_is_retried_then_succeeds(loopback, client, sleeps):
    R = loopback.Reply
    loopback.route("/x", R(503, {"error": "busy"}), R(200, {"ok": 1}))
    assert client.get_json(f"{loopback.url}/x") == {"ok": 1}
    assert len(loopback.hits("/x")) == 2
    assert len(sleeps.calls) == 1 and 0 <= sleeps.calls[0] <= 0.01  # jittered, below the base


def test_5xx_gives_up_after_max_attempts(loopback, client, sleeps):
    loopback.route("/x", loopback.Reply(500, {"error": "boom"}))
    with pytest.raises(ServerError, match=r"HTTP 500: boom.*gave up after 3 attempts") as err:
        client.get_json(f"{loopback.url}/x")
    assert err.value.status == 500
    assert len(loopback.hits("/x")) == 3
    assert len(sleeps.calls) == 2
    assert all(0 <= s <= 0.02 for s in sleeps.calls)  # capped at backoff_max_s


def test_429_honours_retry_after(loopback, client, sleeps):
    R = loopback.Reply
    loopback.route("/x", R(429, {"error": "slow down"}, {"Retry-After": "0.15"}), R(200, [1]))
    assert client.get_json(f"{loopback.url}/x") == [1]
    assert sleeps.calls == [0.15]


def test_429_retry_after_is_capped(loopback, client, sleeps):
    R = loopback.Reply
    loopback.route("/x", R(429, b"", {"Retry-After": "3600"}), R(200, [1]))
    assert client.get_json(f"{loopback.url}/x") == [1]
    assert sleeps.calls == [0.2]  # retry_after_cap_s


def test_429_without_retry_after_uses_backoff(loopback, client, sleeps):
    loopback.route("/x", loopback.Reply(429, {"message": "quota"}))
    with pytest.raises(RateLimitedError, match="HTTP 429: quota"):
        client.get_json(f"{loopback.url}/x")
    assert len(sleeps.calls) == 2 and all(0 <= s <= 0.02 for s in sleeps.calls)


def test_retry_after_beyond_the_deadline_stops_at_once(loopback, sleeps):
    policy = RetryPolicy(max_attempts=5, timeout_s=0.5, retry_after_cap_s=60, deadline_s=1.0)
    client = JsonHttpClient(policy, sleep=sleeps)
    loopback.route("/x", loopback.Reply(429, b"", {"Retry-After": "30"}))
    with pytest.raises(RateLimitedError, match="deadline exhausted"):
        client.get_json(f"{loopback.url}/x")
    assert sleeps.calls == [] and len(loopback.hits("/x")) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_not_retried(loopback, client, sleeps, status):
    loopback.route("/x", loopback.Reply(status, {"error": "Invalid auth-token"}))
    with pytest.raises(AuthError, match=f"HTTP {status}: Invalid auth-token"):
        client.get_json(f"{loopback.url}/x")
    assert len(loopback.hits("/x")) == 1 and sleeps.calls == []


def test_404_is_not_retried(loopback, client):
    loopback.route("/x", loopback.Reply(404, {"error": "Zone 'XX' does not exist"}))
    with pytest.raises(NotFoundError, match="does not exist"):
        client.get_json(f"{loopback.url}/x", params={"zone": "XX"})
    assert len(loopback.hits("/x")) == 1


def test_timeout_is_retried_then_reported(loopback, sleeps):
    client = JsonHttpClient(RetryPolicy(max_attempts=2, timeout_s=0.15, deadline_s=2), sleep=sleeps)
    loopback.route("/slow", loopback.Reply(200, [1], delay_s=0.6))
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"no response within 0.15 s.*2 attempts"):
        client.get_json(f"{loopback.url}/slow")
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_a_transport_error(refused, client):
    with pytest.raises(TransportError, match="connection failed"):
        client.get_json(f"{refused}/v3/anything")


def test_malformed_json_is_a_bad_response_and_not_retried(loopback, client):
    loopback.route("/x", loopback.Reply(200, '{"zone": "BE", "carbonIntensity": 1'))
    with pytest.raises(BadResponseError, match="not valid JSON"):
        client.get_json(f"{loopback.url}/x")
    assert len(loopback.hits("/x")) == 1


def test_truncated_body_is_a_transport_error(loopback, client):
    loopback.route("/x", loopback.Reply(200, '{"zone": "BE"', truncate=True))
    with pytest.raises(TransportError):
        client.get_json(f"{loopback.url}/x")


def test_concurrency_is_bounded(loopback):
    loopback.route("/x", loopback.Reply(200, [1], delay_s=0.05))
    client = JsonHttpClient(RetryPolicy(timeout_s=2))
    results = map_concurrently(
        list(range(12)), lambda i: client.get_json(f"{loopback.url}/x?i={i}"), max_in_flight=4
    )
    assert results == [[1]] * 12
    assert 1 < loopback.peak_in_flight <= 4


def test_map_concurrently_returns_errors_in_place():
    def fetch(i: int) -> int:
        if i == 1:
            raise IntensityFetchError("nope")
        return i * 10

    out = map_concurrently([0, 1, 2], fetch, max_in_flight=2)
    assert out[0] == 0 and out[2] == 20 and isinstance(out[1], IntensityFetchError)


def test_helpers():
    assert redact("a key=SECRET1 and SECRET1", ["SECRET1", ""]) == "a key=*** and ***"
    assert describe_url("http://u:p@h:8/p", {"b": "2", "a": "1"}) == "http://h:8/p?a=1&b=2"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_s("Thu, 01 Jan 2026 00:00:10 GMT", now) == 10
    assert retry_after_s("soon") is None and retry_after_s(None) is None
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_a_redirect_to_another_origin_is_not_followed_and_credentials_stay(loopback):
    # requests strips only Authorization on a cross-host redirect; custom headers such as
    # Electricity Maps' auth-token would travel on. The other origin must see no request at all.
    other = LoopbackServer().start()
    try:
        other.route("/collect", other.Reply(200, {"zone": "BE"}))
        loopback.route("/x", loopback.Reply(302, b"", {"Location": f"{other.url}/collect"}))
        client = JsonHttpClient(RetryPolicy(max_attempts=3, timeout_s=1))
        with pytest.raises(RedirectRefusedError, match="redirect to another origin") as err:
            client.get_json(
                f"{loopback.url}/x", headers={"auth-token": "k-123456"}, secrets=("k-123456",)
            )
        assert other.requests == [] and len(loopback.hits("/x")) == 1  # not retried
        assert "k-123456" not in str(err.value)
    finally:
        other.stop()


def test_a_same_origin_redirect_is_followed(loopback, client):
    loopback.route("/old", loopback.Reply(301, b"", {"Location": "/new?zone=BE"}))
    loopback.route("/new", loopback.Reply(200, {"ok": 1}))
    assert client.get_json(f"{loopback.url}/old", headers={"auth-token": "k"}) == {"ok": 1}
    [moved] = loopback.hits("/new")
    assert moved.query == {"zone": "BE"} and moved.headers["auth-token"] == "k"


def test_a_secret_echoed_in_a_200_body_is_scrubbed_before_cache_and_caller(loopback, tmp_path):
    secret = "k-echoed-0042"
    loopback.route("/x", loopback.Reply(200, {"note": f"your key {secret}", secret: [secret]}))
    client = JsonHttpClient(cache=DiskCache(tmp_path))
    body = client.get_json(f"{loopback.url}/x", secrets=(secret,))
    assert body == {"note": "your key ***", "***": ["***"]}
    assert secret not in "".join(p.read_text() for p in tmp_path.iterdir())
    assert client.get_json(f"{loopback.url}/x", secrets=(secret,)) == body  # from the cache


def test_rate_limit_spaces_calls_over_the_window():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limit = RateLimit(2, 10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limit.acquire()
    assert waits == [10.0, 10.0] and limit.waited_s == 20.0
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(0, 10.0)
