"""Google's prebuilt training containers, and Python-package training (python_package_spec)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from carbon_aware.parameters import ParameterError, validate_run_parameters
from carbon_aware.training import contract, package
from carbon_aware.training.contract import ContractError, OutputLayout
from carbon_aware.training.job_spec import worker_pool_specs
from carbon_aware.training.local import train_locally
from carbon_aware.training.runner import MachineSpec

PREBUILT = "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest"
PACKAGE = "gs://b-carbon-europe-west1/pkgs/trainer-0.1.tar.gz"


@pytest.mark.parametrize(
    "image",
    [
        PREBUILT,
        "europe-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest",
        "asia-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest",
    ],
)
def test_googles_prebuilt_training_containers_are_taken_as_published(image):
    assert contract.validate_training_image(image) == image
    assert contract.image_tag_is_mutable(image)


@pytest.mark.parametrize(
    "image",
    [
        "europe-docker.pkg.dev/p/r/trainer:latest",
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest",  # serving, not training
        "eu-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest",
        "us-docker.pkg.dev/vertex-ai-evil/training/tf-cpu.2-17.py310:latest",
    ],
)
def test_other_latest_tags_stay_refused(image):
    with pytest.raises(ContractError, match=r"mutable tag 'latest'.*prebuilt training containers"):
        contract.validate_training_image(image)


def test_a_versioned_or_digest_image_is_not_called_mutable():
    assert not contract.image_tag_is_mutable("europe-docker.pkg.dev/p/r/t:v3")
    assert not contract.image_tag_is_mutable("gcr.io/p/t@sha256:" + "a" * 64)


VERTEX = {
    "backend": "vertex",
    "project": "carbon-proj-123",
    "regional_bucket_template": "gs://b-carbon-{region}",
}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"training_package_uris": [PACKAGE]},
            r"training_package_uris .* needs training_python_module",
        ),
        (
            {"training_python_module": "trainer.task", "training_image": PREBUILT},
            r"training_python_module 'trainer.task' needs training_package_uris on backend "
            r"'vertex'",
        ),
        (
            {
                "training_package_uris": [PACKAGE],
                "training_python_module": "trainer.task",
                "training_image": PREBUILT,
                "training_command": ["python", "train.py"],
            },
            r"training_command .* starts with the program 'python'.*training_python_module",
        ),
        (
            {
                "training_package_uris": [PACKAGE],
                "training_python_module": "trainer.task",
                "training_image": "europe-docker.pkg.dev/p/r/t:v3",
            },
            r"training_image .* is not one of Google's prebuilt training containers",
        ),
        (
            {
                "training_package_uris": ["dist/trainer-0.1.tar.gz"],
                "training_python_module": "trainer.task",
                "training_image": PREBUILT,
            },
            r"training_package_uris: 'dist/trainer-0.1.tar.gz' is not a gs:// URI",
        ),
        (
            {"training_package_uris": ["gs://b/x.egg"]},
            r"'gs://b/x.egg' is not a Python package file",
        ),
        ({"training_package_uris": "gs://b/x.tar.gz"}, r"training_package_uris must be a list"),
        (
            {"training_python_module": "trainer/task.py"},
            r"training_python_module must be empty or a dotted",
        ),
    ],
)
def test_bad_package_combinations_are_refused_naming_the_parameters(values, message):
    with pytest.raises(ParameterError, match=message):
        validate_run_parameters({**VERTEX, **values})


def test_a_module_without_a_package_is_fine_locally():
    validate_run_parameters({"backend": "local", "training_python_module": "json.tool"})


def _pools(package_uris):
    return worker_pool_specs(
        image=PREBUILT,
        command=["--epochs", "3"],
        region="europe-west1",
        machine_type="n1-standard-4",
        accelerator_type="",
        accelerator_count=0,
        worker_replica_count=1,
        layout=OutputLayout("gs://b-carbon-europe-west1/runs/r1"),
        data_uri="gs://b-carbon-europe-west1/data.csv",
        package_uris=package_uris,
        python_module="trainer.task",
    )


def test_the_pools_run_the_module_as_vertex_does():
    chief, workers = _pools([PACKAGE])
    assert "container_spec" not in chief
    assert chief["python_package_spec"] == {
        "executor_image_uri": PREBUILT,
        "package_uris": [PACKAGE],
        "python_module": "trainer.task",
        "args": ["--epochs", "3"],
        "env": [{"name": "AIP_TRAINING_DATA_URI", "value": "gs://b-carbon-europe-west1/data.csv"}],
    }
    assert workers["python_package_spec"] == chief["python_package_spec"]
    assert (chief["replica_count"], workers["replica_count"]) == (1, 1)


def test_with_this_project_among_the_packages_the_module_runs_measured():
    own = "gs://b-carbon-europe-west1/pkgs/carbon_aware_vertex-0.4.0.tar.gz"
    [chief, _] = _pools([PACKAGE, own])
    spec = chief["python_package_spec"]
    assert spec["python_module"] == "carbon_aware.training.job"
    args = spec["args"]
    assert (
        args[args.index("--records-dir") + 1]
        == "gs://b-carbon-europe-west1/runs/r1/carbon-aware/replicas"
    )
    assert args[args.index("--") :] == ["--", "python", "-m", "trainer.task", "--epochs", "3"]
    assert "env" not in spec  # the entrypoint sets AIP_TRAINING_DATA_URI itself


def _sdist(path: Path) -> Path:
    task = (
        "import json, os, pathlib, sys\n"
        "d = pathlib.Path(os.environ['AIP_MODEL_DIR']); d.mkdir(parents=True, exist_ok=True)\n"
        "(d / 'metrics.json').write_text(json.dumps({'accuracy': float(sys.argv[2])}))\n"
    )
    files = {"pyproject.toml": "[project]\nname = 'localtoy'\nversion = '0.1'\n"}
    files |= {"src/localtoy/__init__.py": "", "src/localtoy/task.py": task}
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(f"localtoy-0.1/{name}")
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


def test_a_local_sdist_runs_as_a_subprocess_without_installing(tmp_path):
    sdist = _sdist(tmp_path / "localtoy-0.1.tar.gz")
    record = train_locally(
        str(tmp_path / "out"),
        training_command=package.module_command("localtoy.task", ["--accuracy", "0.97"]),
        training_image=PREBUILT,
        package_uris=[str(sdist)],
        data_uri="",
        region="europe-west1",
        machine=MachineSpec("n1-standard-4"),
    )
    assert record["metrics"] == {"accuracy": 0.97}
    assert record["training"]["package_uris"] == [str(sdist)]
    assert record["training"]["image_tag_mutable"] is True
    # Nothing was installed: this interpreter still cannot import it.
    probe = [sys.executable, "-c", "import localtoy"]
    assert subprocess.run(probe, capture_output=True, check=False).returncode != 0


def test_a_module_that_is_not_importable_and_has_no_local_package_is_refused():
    from carbon_aware.preflight import check_local_inputs

    values = {"training_python_module": "no_such_trainer.task", "training_package_uris": [PACKAGE]}
    with pytest.raises(ContractError, match=r"'no_such_trainer.task' is not importable here"):
        check_local_inputs(values, {})
    check_local_inputs({"training_python_module": "json.tool"}, {})


def test_the_job_window_is_read_from_the_resource_gcpc_records():
    from carbon_aware.training.job_window import parse_job_resource

    uri = "https://europe-west1-aiplatform.googleapis.com/v1/projects/p/locations/europe-west1/customJobs/42"
    assert parse_job_resource(uri) == (
        "europe-west1-aiplatform.googleapis.com",
        "projects/p/locations/europe-west1/customJobs/42",
    )
    with pytest.raises(ValueError, match="names no Vertex AI custom job"):
        parse_job_resource("https://evil.example/v1/projects/p/locations/x/customJobs/1")


def test_the_report_says_the_tag_is_mutable():
    from carbon_aware.report.markdown import training_lines

    run = {"training": {"command": ["python"], "image": PREBUILT, "image_tag_mutable": True}}
    assert any("image tag is mutable" in line for line in training_lines(run, {}))
    run["training"]["image_tag_mutable"] = False
    assert not any("mutable" in line for line in training_lines(run, {}))
