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
    assert len(ours) == 8  # the five steps, collect-training, plan-start and defer-run
    for name, container in ours.items():
        assert container["image"] == compiled_image, name
        assert "pip install" not in " ".join(container["command"]), name
    text = yaml.safe_dump(spec)
    assert ":latest" not in text


def _root_feeder(spec, channel):
    """What feeds a pipeline channel of the Vertex branch, in the root DAG."""
    feeders = [
        task["inputs"]["parameters"][channel]
        for task in spec["root"]["dag"]["tasks"].values()
        if channel in task.get("inputs", {}).get("parameters", {})
    ]
    assert len(feeders) == 1, feeders
    return feeders[0]


def test_custom_job_location_pools_and_output_dir_are_choose_regions_outputs(spec):
    job = all_tasks(spec)["train-on-vertex"]
    params = job["inputs"]["parameters"]
    for name, output in (
        ("location", "region"),
        ("base_output_directory", "base_output_directory"),
        ("worker_pool_specs", "worker_pool_specs"),
    ):
        channel = f"pipelinechannel--choose-region-{output}"
        assert params[name]["componentInputParameter"] == channel, name
        assert _root_feeder(spec, channel) == {
            "taskOutputParameter": {"outputParameterKey": output, "producerTask": "choose-region"}
        }


def test_worker_pools_are_one_typed_value_with_no_nested_placeholder(spec):
    # GCPC b/353577594: the backend may substitute placeholders nested in worker_pool_specs as
    # text. The pools are one upstream output, so there is nothing nested to substitute.
    choose = spec["components"]["comp-choose-region"]["outputDefinitions"]["parameters"]
    assert choose["worker_pool_specs"]["parameterType"] == "LIST"
    params = all_tasks(spec)["train-on-vertex"]["inputs"]["parameters"]
    assert "runtimeValue" not in params["worker_pool_specs"]


def test_custom_job_runs_as_the_pipeline_service_account_on_demand(spec):
    params = all_tasks(spec)["train-on-vertex"]["inputs"]["parameters"]
    assert params["service_account"]["runtimeValue"]["constant"] == "{{$.pipeline_service_account}}"
    assert params["persistent_resource_id"]["runtimeValue"]["constant"] == ""


def test_collect_training_reads_the_job_it_follows(spec):
    collect = all_tasks(spec)["collect-training"]
    source = collect["inputs"]["parameters"]["gcp_resources"]["taskOutputParameter"]
    assert source == {"outputParameterKey": "gcp_resources", "producerTask": "train-on-vertex"}


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
