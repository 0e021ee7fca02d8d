"""Concurrent vs sequential fetch of 40 regions from a loopback server that answers in 100 ms.

Run: .venv/bin/python benchmarks/fetch_concurrency.py
Both runs use the same code path (JsonHttpClient through map_concurrently); only the bound on
in-flight requests differs (1 = one after another). The last line is ``ratio: <seq/conc>``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from carbon_aware.intensity.http import DEFAULT_MAX_IN_FLIGHT, JsonHttpClient, map_concurrently

REGIONS = 40
DELAY_S = 0.1


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY_S)
        body = json.dumps({"carbonIntensity": 100, "datetime": "2026-05-01T00:00:00Z"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def timed(url: str, max_in_flight: int) -> float:
    client = JsonHttpClient()
    zones = [f"zone-{i:02d}" for i in range(REGIONS)]
    started = time.perf_counter()
    results = map_concurrently(
        zones, lambda z: client.get_json(url, params={"zone": z}), max_in_flight=max_in_flight
    )
    elapsed = time.perf_counter() - started
    failed = [r for r in results if not isinstance(r, dict)]
    if failed:
        raise SystemExit(f"{len(failed)} requests failed: {failed[0]}")
    return elapsed


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v3/carbon-intensity/latest"
    try:
        timed(url, DEFAULT_MAX_IN_FLIGHT)  # warm-up (imports, thread start)
        sequential_s = timed(url, 1)
        concurrent_s = timed(url, DEFAULT_MAX_IN_FLIGHT)
    finally:
        server.shutdown()
        server.server_close()
    print(f"regions: {REGIONS}, server delay per request: {DELAY_S * 1000:.0f} ms")
    print(f"sequential (1 in flight): {sequential_s:.3f} s")
    print(f"concurrent ({DEFAULT_MAX_IN_FLIGHT} in flight): {concurrent_s:.3f} s")
    print(f"ratio: {sequential_s / concurrent_s:.1f}")


if __name__ == "__main__":
    main()
