"""The custom job's worker pools and its entrypoint, in images with and without this package."""

import json
import os
import subprocess
import sys

from carbon_aware import storage
from carbon_aware.training.collect import collect_run
from carbon_aware.training.contract import OutputLayout
from carbon_aware.training.job_spec import worker_pool_specs
from carbon_aware.training.runner import MachineSpec

LAYOUT = OutputLayout("gs://proj-carbon-europe-west1/carbon-aware-runs/run-1")


def pools(**overrides):
    args = {
        "image": "europe-docker.pkg.dev/p/r/train:v1",
        "command": ["python", "train.py"],
        "region": "europe-west1",
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 2,
        "worker_replica_count": 0,
        "layout": LAYOUT,
        "data_uri": "gs://proj-data/d.csv",
        **overrides,
    }
    return worker_pool_specs(**args)


def test_the_chief_alone_with_typed_numbers_and_the_wrapped_command():
    [chief] = pools()
    assert chief["replica_count"] == 1
    assert chief["machine_spec"] == {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 2,
    }
    command = chief["container_spec"]["command"]
    assert command[:2] == ["sh", "-c"] and command[-3:] == ["--", "python", "train.py"]
    assert command[command.index("--records-dir") + 1] == LAYOUT.records_dir
    assert command[command.index("--data-uri") + 1] == "gs://proj-data/d.csv"
    # No placeholder anywhere: the pools are one value, typed when the backend passes it on.
    assert "{{" not in json.dumps(chief)


def test_workers_get_a_second_pool_on_the_same_machine():
    chief, workers = pools(worker_replica_count=3)
    assert workers["replica_count"] == 3
    assert workers["machine_spec"] == chief["machine_spec"]
    assert workers["container_spec"] == chief["container_spec"]


def test_a_cpu_machine_has_no_accelerator_fields():
    [chief] = pools(accelerator_type="ACCELERATOR_TYPE_UNSPECIFIED", accelerator_count=0)
    assert chief["machine_spec"] == {"machine_type": "n1-standard-8"}


def run_entrypoint(tmp_path, path_dirs, user_command):
    [chief] = pools(accelerator_type="", accelerator_count=0, machine_type="n1-standard-4")
    command = chief["container_spec"]["command"][:-2] + user_command
    env = {
        **os.environ,
        "PATH": ":".join([*path_dirs, os.environ["PATH"]]),
        "CARBON_AWARE_GCS_FUSE_ROOT": str(tmp_path / "gcs"),
        "AIP_MODEL_DIR": f"{LAYOUT.model_dir}/",
    }
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_an_image_without_this_package_runs_the_command_and_records_its_times(
    tmp_path, monkeypatch
):
    # A python3 that cannot import carbon_aware: the user's own image.
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    (bare / "python3").write_text("#!/bin/sh\nexit 1\n")
    (bare / "python3").chmod(0o755)
    result = run_entrypoint(tmp_path, [str(bare)], ["sh", "-c", "echo trained; exit 3"])
    assert result.returncode == 3 and "trained" in result.stdout
    records = list((tmp_path / "gcs").rglob("unwrapped-*.json"))
    assert len(records) == 1
    raw = json.loads(records[0].read_text())
    assert raw["wrapped"] is False and raw["exit_code"] == 3
    assert raw["end_epoch_s"] >= raw["start_epoch_s"]
    # collect estimates that replica's energy from the machine spec and its duration.
    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path / "gcs")
    record = collect_run(
        LAYOUT,
        region="europe-west1",
        machine=MachineSpec("n1-standard-4"),
        worker_replica_count=0,
        training_command=["sh"],
        training_image="europe-docker.pkg.dev/p/r/train:v1",
        data_uri="",
        backend="vertex",
    )
    assert record["replicas"]["estimated"] == 1 and record["replicas"]["measured"] == 0
    assert record["energy"]["method"] == "estimate"


def test_an_image_with_this_package_hands_over_to_the_measuring_entrypoint(tmp_path):
    from storage_emulator import make_bucket, storage_emulator

    bin_dir = os.path.dirname(sys.executable)  # this venv's python3 has the package
    with storage_emulator():
        make_bucket("proj-carbon-europe-west1", "europe-west1")
        result = run_entrypoint(tmp_path, [bin_dir], ["python3", "-c", "print('hello')"])
        assert result.returncode == 0, result.stderr
        assert "hello" in result.stdout
        uri, log_uri = sorted(storage.list_files(LAYOUT.records_dir))
        record = json.loads(storage.read_text(uri))
        # The program's full output sits beside the record.
        assert "hello" in storage.read_text(log_uri)
    assert uri.endswith("/workerpool0-0.json") and log_uri.endswith("/workerpool0-0.log")
    assert record["wrapped"] is True and record["region"] == "europe-west1"
    assert record["machine"]["machine_type"] == "n1-standard-4"
    assert not (tmp_path / "gcs").exists(), "the measuring entrypoint writes through the API"


def test_an_image_without_this_package_gets_the_training_data_uri_too(tmp_path):
    """The plain-sh path hands AIP_TRAINING_DATA_URI to the program as the measuring one does."""
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    (bare / "python3").write_text("#!/bin/sh\nexit 1\n")
    (bare / "python3").chmod(0o755)
    result = run_entrypoint(
        tmp_path, [str(bare)], ["sh", "-c", 'echo "data=$AIP_TRAINING_DATA_URI"']
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["data=gs://proj-data/d.csv"]
