"""compile.py --steps-image: one template, the light steps on the image without TensorFlow."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "europe-docker.pkg.dev/p/r/carbon-aware:0123abc"
STEPS_IMAGE = "europe-docker.pkg.dev/p/r/carbon-aware-steps:0123abc"
LIGHT = {"exec-fetch-intensity", "exec-choose-region", "exec-collect-training"}
LIGHT |= {"exec-report-footprint", "exec-plan-start", "exec-defer-run"}
HEAVY = {"exec-train", "exec-evaluate"}  # the bundled trainer and its evaluation import TensorFlow


def compile_template(tmp_path, *extra):
    target = tmp_path / "p.yaml"
    result = subprocess.run(
        [sys.executable, "compile.py", "--image", IMAGE, *extra, "--output", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, target


def test_the_light_steps_run_on_the_steps_image_and_the_rest_on_the_image(tmp_path):
    result, target = compile_template(tmp_path, "--steps-image", STEPS_IMAGE)
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(target.read_text())
    images = {
        name: e["container"]["image"] for name, e in spec["deploymentSpec"]["executors"].items()
    }
    assert {name for name, image in images.items() if image == STEPS_IMAGE} == LIGHT
    assert {name for name, image in images.items() if image == IMAGE} == HEAVY
    assert images["exec-train-on-vertex"].endswith("google-cloud-pipeline-components:2.22.0")
    # The custom job (and so its replicas) still defaults to the image with TensorFlow.
    choose = spec["root"]["dag"]["tasks"]["choose-region"]["inputs"]["parameters"]
    assert choose["project_image"] == {"runtimeValue": {"constant": IMAGE}}


def test_without_steps_image_every_step_runs_on_the_image(tmp_path):
    result, target = compile_template(tmp_path)
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(target.read_text())
    images = {
        name: e["container"]["image"] for name, e in spec["deploymentSpec"]["executors"].items()
    }
    assert {images[name] for name in LIGHT | HEAVY} == {IMAGE}


def test_a_mutable_steps_image_is_refused_before_anything_is_written(tmp_path):
    result, target = compile_template(
        tmp_path, "--steps-image", STEPS_IMAGE.replace("0123abc", "latest")
    )
    assert result.returncode == 2
    assert "mutable tag 'latest'" in result.stderr.splitlines()[-1]
    assert not target.exists()
