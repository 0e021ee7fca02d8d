"""The API key never leaks: a whole local run against a loopback Electricity Maps server.

The key is set in the environment (as a developer would), the provider really sends it in the
``auth-token`` header, and afterwards no log line, artifact, report or compiled YAML contains it.
"""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from intensity.loopback import LoopbackServer, Reply

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "em-live-key-7Hq2Zx9Kp4Lw"  # a realistic-looking key, unique enough to grep for


def electricity_maps(request):
    """Serves Finland, refuses Belgium's zone like the free tier does, 401s a wrong key."""
    if request.headers.get("auth-token") != API_KEY:
        return Reply(401, {"message": "Invalid auth-token"})
    zone = request.query.get("zone")
    if zone == "FI":
        return Reply(
            200,
            {
                "zone": "FI",
                "carbonIntensity": 41,
                # A live answer is for the current hour: older ones are refused as stale.
                "datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:00:00.000Z"),
                "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "isEstimated": True,
                "estimationMethod": "TIME_SLICER_AVERAGE",
            },
        )
    return Reply(403, {"message": f"Request unauthorized for zoneKey={zone}"})


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer()
    srv.route("/v3/carbon-intensity/latest", electricity_maps)
    srv.start()
    yield srv
    srv.stop()


def run_local(template, out, server, *params):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(out),
        "ELECTRICITY_MAPS_API_KEY": API_KEY,
        "ELECTRICITY_MAPS_API_URL": f"{server.url}/v3",
    }
    return subprocess.run(
        [
            sys.executable, "-m", "carbon_aware.cli", "run-local",
            "--template", str(template), "--output-dir", str(out),
            "--param", "intensity_provider=electricitymaps",
            "--param", "candidate_regions=europe-north1,europe-west1",
            "--param", "baseline_region=us-central1",
            "--param", "epochs=2",
            "--param", "min_quality=0.5",
            *params,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def assert_key_nowhere(result, out, template):
    assert API_KEY not in result.stdout
    assert API_KEY not in result.stderr
    assert API_KEY.encode() not in template.read_bytes()
    for path in (p for p in out.rglob("*") if p.is_file()):
        assert API_KEY.encode() not in path.read_bytes(), f"key leaked into {path}"


@pytest.mark.slow
def test_key_is_used_but_never_written_with_fallback_labelled(compiled_template, tmp_path, server):
    result = run_local(compiled_template, tmp_path, server)
    assert result.returncode == 0, result.stderr[-3000:]
    # The provider really authenticated with the key.
    assert any(r.headers.get("auth-token") == API_KEY for r in server.requests)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) > 10
    assert_key_nowhere(result, tmp_path, compiled_template)
    report = (tmp_path / "report.md").read_text()
    footprint = (tmp_path / "footprint.json").read_text()
    # Finland came from the live API; Belgium and the baseline fell back, visibly.
    assert '"region": "europe-north1"' in footprint
    assert '"fallback_regions": [\n    "europe-west1",\n    "us-central1"\n  ]' in footprint
    assert "**Fallback data:**" in report and "europe-west1" in report
    assert "| 1 | europe-north1 | FI | 41.0 | latest |" in report


@pytest.mark.slow
def test_refused_region_without_fallback_fails_naming_it_and_not_the_key(
    compiled_template, tmp_path, server
):
    result = run_local(compiled_template, tmp_path, server, "--param", "allow_fallback=false")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "europe-west1" in output
    assert "zoneKey=BE" in output or "free tier" in output.lower()
    assert not (tmp_path / "report.md").exists()
    assert_key_nowhere(result, tmp_path, compiled_template)
