"""The training contract: parameter checks, the bundled command, the environment a program gets."""

import json
import sys

import pytest

from carbon_aware.training import contract
from carbon_aware.training.contract import ContractError, OutputLayout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("python train.py", "training_command must be a list of strings"),
        (["python", 3], "training_command must be a list of strings"),
        (["python", " "], "holds an empty string"),
    ],
)
def test_bad_training_commands_are_refused_naming_the_parameter(value, message):
    with pytest.raises(ContractError, match=message):
        contract.validate_training_command(value)


def test_an_empty_command_means_the_bundled_trainer():
    assert contract.validate_training_command([]) == []


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("trainer:v1", "registry host"),
        ("europe-docker.pkg.dev/p/r/trainer", "registry host and an immutable tag"),
        ("europe-docker.pkg.dev/p/r/trainer:latest", "mutable tag 'latest'"),
        (42, "training_image must be a string"),
    ],
)
def test_images_need_a_registry_host_and_a_fixed_tag(image, message):
    with pytest.raises(ContractError, match=message):
        contract.validate_training_image(image)


@pytest.mark.parametrize(
    "image",
    [
        "",
        "europe-docker.pkg.dev/p/r/trainer:3f2a1bc",
        "localhost:5000/trainer:v1",
        "gcr.io/p/trainer@sha256:" + "a" * 64,
    ],
)
def test_good_images_pass(image):
    assert contract.validate_training_image(image) == image


@pytest.mark.parametrize("count", [-1, 1.5, True, "2", 1001])
def test_worker_replica_count_is_a_whole_number_from_0(count):
    with pytest.raises(ContractError, match="worker_replica_count must be an integer from 0"):
        contract.validate_worker_replica_count(count)


def test_quality_parameters_are_checked():
    with pytest.raises(ContractError, match=r"quality_metric must be a key of metrics\.json"):
        contract.validate_quality_metric("")
    with pytest.raises(ContractError, match="min_quality must be a number"):
        contract.validate_min_quality("0.9")
    assert contract.validate_min_quality(3) == 3.0


def test_the_bundled_trainer_is_a_program_of_the_contract():
    command = contract.bundled_training_command(
        data_uri="gs://b/d.csv",
        label_column="y",
        epochs=5,
        seed=1,
        dedupe="exact",
        keep_columns="a,b",
        mixed_precision=True,
        export_compressed=False,
    )
    assert command[:3] == ["python", "-m", "carbon_aware.trainer.task"]
    assert "--output-dir" not in command  # it writes to $AIP_MODEL_DIR
    for flag, value in (
        ("--data-uri", "gs://b/d.csv"),
        ("--epochs", "5"),
        ("--keep-columns", "a,b"),
    ):
        assert command[command.index(flag) + 1] == value
    assert "--mixed-precision" in command and "--export-compressed" not in command


def test_a_leading_python_is_the_interpreter_running_the_pipeline():
    assert contract.local_command(["python", "t.py"]) == [sys.executable, "t.py"]
    assert contract.local_command(["python3", "-m", "x"])[0] == sys.executable
    assert contract.local_command(["bash", "python"]) == ["bash", "python"]


def test_the_environment_is_vertex_s_one_machine_form():
    layout = OutputLayout("gs://b/run/")
    env = {**contract.contract_env(layout, "gs://b/d.csv"), **contract.single_machine_cluster_env()}
    assert env["AIP_MODEL_DIR"] == "gs://b/run/model"
    assert env["AIP_CHECKPOINT_DIR"] == "gs://b/run/checkpoints"
    assert env["AIP_TENSORBOARD_LOG_DIR"] == "gs://b/run/logs"
    assert env["AIP_TRAINING_DATA_URI"] == "gs://b/d.csv"
    cluster = json.loads(env["CLUSTER_SPEC"])
    assert cluster["task"] == {"type": "workerpool0", "index": 0}
    assert json.loads(env["TF_CONFIG"])["task"] == {"type": "chief", "index": 0}
    assert contract.replica_identity(env) == "workerpool0-0"
    assert contract.replica_identity({}) == "workerpool0-0"
    spec = {"CLUSTER_SPEC": json.dumps({"task": {"type": "workerpool1", "index": 3}})}
    assert contract.replica_identity(spec) == "workerpool1-3"


def test_metrics_json_is_a_flat_object_of_numbers():
    assert contract.parse_metrics('{"accuracy": 1, "loss": 0.5}', "m") == {
        "accuracy": 1.0,
        "loss": 0.5,
    }
    with pytest.raises(ContractError, match="metric 'name' is 'x'"):
        contract.parse_metrics('{"name": "x"}', "m")
    with pytest.raises(ContractError, match="must be a JSON object"):
        contract.parse_metrics("[1]", "m")
    with pytest.raises(ContractError, match="is not JSON"):
        contract.parse_metrics("{", "m")
