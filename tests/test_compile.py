"""Compile tests: inspect the YAML that compile.py writes (the file Vertex AI and kfp.local run)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["fetch-intensity", "choose-region", "train", "evaluate", "report-footprint"]


def all_tasks(spec):
    """Every task in the pipeline and its sub-DAGs, by task name."""
    tasks = dict(spec["root"]["dag"]["tasks"])
    for component in spec["components"].values():
        tasks.update(component.get("dag", {}).get("tasks", {}))
    return tasks


@pytest.fixture(scope="module")
def spec(compiled_template):
    return yaml.safe_load(compiled_template.read_text())


def test_five_steps_are_tasks(spec):
    tasks = all_tasks(spec)
    for step in STEPS:
        assert step in tasks, f"{step} missing from {sorted(tasks)}"
    assert "train-on-vertex" in tasks


def test_every_component_runs_on_the_given_image_with_no_runtime_install(spec, compiled_image):
    executors = dict(spec["deploymentSpec"]["executors"])
    launcher = executors.pop("exec-train-on-vertex")["container"]
    # The custom-job step runs Google's launcher, pinned to the GCPC release we depend on.
    assert launcher["image"].endswith("google-cloud-pipeline-components:2.22.0")
    ours = {name: ex["container"] for name, ex in executors.items()}
    assert len(ours) == 5
    for name, container in ours.items():
        assert container["image"] == compiled_image, name
        assert "pip install" not in " ".join(container["command"]), name
    text = yaml.safe_dump(spec)
    assert ":latest" not in text


def test_custom_job_location_is_choose_regions_output(spec, compiled_image):
    job = all_tasks(spec)["train-on-vertex"]
    params = job["inputs"]["parameters"]
    assert params["location"]["componentInputParameter"] == "pipelinechannel--choose-region-region"
    assert (
        params["base_output_directory"]["componentInputParameter"]
        == "pipelinechannel--choose-region-base_output_directory"
    )
    pool = params["worker_pool_specs"]["runtimeValue"]["constant"][0]
    assert pool["container_spec"]["image_uri"] == compiled_image
    assert "choose-region-accelerator_type" in pool["machine_spec"]["accelerator_type"]
    assert "pipelinechannel--machine_type" in pool["machine_spec"]["machine_type"]
    # Follow the channel up to the root DAG: it is choose-region's `region` output.
    root_tasks = spec["root"]["dag"]["tasks"]
    feeders = [
        task["inputs"]["parameters"]["pipelinechannel--choose-region-region"]
        for task in root_tasks.values()
        if "pipelinechannel--choose-region-region" in task.get("inputs", {}).get("parameters", {})
    ]
    assert feeders == [
        {"taskOutputParameter": {"outputParameterKey": "region", "producerTask": "choose-region"}}
    ]


def test_the_vertex_branch_runs_only_for_the_vertex_backend(spec):
    conditions = [
        t["triggerPolicy"]["condition"] for t in all_tasks(spec).values() if "triggerPolicy" in t
    ]
    assert any("== 'vertex'" in c for c in conditions)
    assert any("!(" in c and "'vertex'" in c for c in conditions)


def test_fetch_intensity_is_never_cached(spec):
    assert all_tasks(spec)["fetch-intensity"]["cachingOptions"].get("enableCache") is not True


def test_component_descriptions_come_from_docstrings(spec):
    comp = spec["components"]["comp-choose-region"]
    described = comp["inputDefinitions"]["parameters"]["baseline_region"]["description"]
    assert described == "The region savings are measured against."
    epochs = spec["root"]["inputDefinitions"]["parameters"]["epochs"]
    assert epochs["description"] == "Maximum training epochs."


def test_compile_is_deterministic_and_reads_no_environment(tmp_path, compiled_image):
    env = {"PATH": "/usr/bin:/bin", "CLOUD_ML_PROJECT_ID": "should-not-matter"}
    outputs = []
    for name, extra in (("a.yaml", {}), ("b.yaml", {"IMAGE": "x:1", "PROJECT_ID": "zzz"})):
        target = tmp_path / name
        subprocess.run(
            [sys.executable, "compile.py", "--image", compiled_image, "--output", str(target)],
            cwd=ROOT,
            env={**env, **extra},
            check=True,
            capture_output=True,
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("europe-docker.pkg.dev/p/r/img:latest", "mutable tag 'latest'"),
        ("europe-docker.pkg.dev/p/r/img", "immutable tag or digest"),
    ],
)
def test_compile_refuses_mutable_images(tmp_path, image, message):
    result = subprocess.run(
        [sys.executable, "compile.py", "--image", image, "--output", str(tmp_path / "p.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "p.yaml").exists()
