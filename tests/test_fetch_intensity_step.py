"""fetch-intensity refuses constraints no region can meet before it makes any request.

The component's function is called as the step calls it, with a local artifact; the live
provider's API is a loopback server that records every request.
"""

import json

import pytest
from carbon_aware.kfp.components.fetch_intensity import fetch_intensity
from intensity.loopback import LoopbackServer
from kfp import dsl


@pytest.fixture
def live_api(monkeypatch):
    server = LoopbackServer().start()
    monkeypatch.setenv("ELECTRICITY_MAPS_API_URL", f"{server.url}/v3")
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", "test-key")
    monkeypatch.delenv("CARBON_AWARE_CACHE_DIR", raising=False)
    yield server
    server.stop()


def call(tmp_path, regions=("us-central1", "us-east4"), provider="electricitymaps", **constraints):
    values = {"residency": "", "accelerator_type": "", "accelerator_count": 0, **constraints}
    artifact = dsl.Artifact(uri=str(tmp_path / "intensity.json"))
    fetch_intensity(
        candidate_regions=list(regions),
        baseline_region="us-central1",
        intensity_provider=provider,
        allow_fallback=True,
        api_key_secret="",
        intensity_csv="",
        intensity=artifact,
        **values,
    )
    return tmp_path / "intensity.json"


@pytest.mark.parametrize(
    ("regions", "constraints", "message"),
    [
        (
            ["us-central1", "us-east4"],
            {"residency": "eu"},
            r"residency='eu' excluded us-central1, us-east4",
        ),
        (
            ["europe-north1"],
            {"accelerator_type": "NVIDIA_H100_80GB", "accelerator_count": 1},
            r"accelerator='1 x NVIDIA_H100_80GB' excluded europe-north1",
        ),
    ],
    ids=["residency", "accelerator"],
)
def test_no_request_is_made_for_constraints_no_region_meets(
    tmp_path, live_api, regions, constraints, message
):
    with pytest.raises(ValueError, match=message):
        call(tmp_path, regions, **constraints)
    assert live_api.requests == []
    assert not (tmp_path / "intensity.json").exists()


def test_constraints_some_region_meets_go_on_to_the_fetch(tmp_path):
    written = call(tmp_path, provider="static", residency="us")
    regions = {r["region"] for r in json.loads(written.read_text())["readings"]}
    assert regions == {"us-central1", "us-east4"}
