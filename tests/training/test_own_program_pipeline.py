"""kfp.local runs of the compiled YAML with the user's own training program.

The program is the test's own, standard library only: it follows the contract (writes a model
file and metrics.json into AIP_MODEL_DIR) and records the environment it was given.
"""

import json
import sys
import textwrap
from pathlib import Path

import pytest
from carbon_aware.kfp.pipelines.own_component import compile_around
from kfp import dsl

from carbon_aware.delivery.local_run import PipelineRunError, run_local

PROGRAM = textwrap.dedent(
    """
    import json, os, sys
    accuracy = float(sys.argv[1])
    model_dir = os.environ["AIP_MODEL_DIR"]
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.txt"), "w") as f:
        f.write("weights")
    with open(os.path.join(model_dir, "metrics.json"), "w") as f:
        json.dump({"accuracy": accuracy, "loss": 0.25}, f)
    names = ["AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR",
             "CLUSTER_SPEC", "TF_CONFIG", "CLOUD_ML_JOB_ID"]
    with open(os.path.join(model_dir, "env.json"), "w") as f:
        json.dump({name: os.environ.get(name) for name in names} | {"python": sys.executable}, f)
    print("trained", accuracy)
    sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    """
)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    path = tmp_path_factory.mktemp("prog") / "train.py"
    path.write_text(PROGRAM)
    return path


def run(template, out, program, *args, **params):
    command = json.dumps(["python", str(program), *args])
    overrides = {
        "candidate_regions": "europe-west1,europe-north1",
        "training_command": command,
        "training_image": "europe-docker.pkg.dev/team/train/prog:v3",
        **params,
    }
    return run_local(template, out, overrides)


@pytest.mark.slow
def test_the_users_program_runs_under_the_contract_and_is_reported(
    compiled_template, tmp_path, program
):
    result = run(compiled_template, tmp_path / "out", program, "0.97")
    fp = result.footprint
    run_record = fp["run"]
    assert run_record["backend"] == "local"
    assert run_record["training"]["command"][-2:] == [str(program), "0.97"]
    assert run_record["training"]["image"] == "europe-docker.pkg.dev/team/train/prog:v3"
    assert run_record["replicas"]["count"] == 1
    assert run_record["metrics"] == {"accuracy": 0.97, "loss": 0.25}
    assert fp["energy_kwh"] > 0
    model_dir = run_record["training"]["model_dir"]
    env = json.loads(Path(model_dir, "env.json").read_text())
    assert env["python"] == sys.executable, "a leading python is the pipeline's interpreter"
    assert env["AIP_MODEL_DIR"] == model_dir
    assert env["AIP_CHECKPOINT_DIR"].endswith("/checkpoints")
    assert json.loads(env["CLUSTER_SPEC"])["task"] == {"type": "workerpool0", "index": 0}
    assert json.loads(env["TF_CONFIG"])["task"]["type"] == "chief"
    # evaluate published every number of metrics.json as KFP Metrics.
    (evaluate_output,) = (result.output_dir / "pipeline_root").glob(
        "*/evaluate/executor_output.json"
    )
    artifacts = json.loads(evaluate_output.read_text())["artifacts"]
    assert artifacts["metrics"]["artifacts"][0]["metadata"] == {"accuracy": 0.97, "loss": 0.25}
    report = result.report_md.read_text()
    assert "| accuracy | 0.97 |" in report and "prog:v3" in report


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "params", "expected"),
    [
        (
            ("0.5",),
            {},
            "step evaluate failed: ModelQualityError: accuracy 0.5 is below min_quality",
        ),
        (("0.99",), {"quality_metric": "f1"}, "quality_metric 'f1' is not in the run's metrics"),
        (("0.99", "3"), {}, "train.py 0.99 … exited with code 3; its last lines: | trained 0.99"),
    ],
    ids=["below-floor", "missing-metric", "program-fails"],
)
def test_the_gate_and_a_failing_program_fail_the_run_plainly(
    compiled_template, tmp_path, program, args, params, expected
):
    with pytest.raises(PipelineRunError) as caught:
        run(compiled_template, tmp_path / "out", program, *args, **params)
    assert expected in str(caught.value)
    assert not (tmp_path / "out" / "report.md").exists()


def test_bad_training_parameters_are_refused_before_anything_runs(compiled_template, tmp_path):
    cases = [
        ({"training_command": {"run": "train.py"}}, "parameter training_command expects list"),
        ({"training_command": '["python", ""]'}, "holds an empty string"),
        ({"training_image": "prog:v1"}, "training_image 'prog:v1' must be a full image"),
        ({"worker_replica_count": "-1"}, "worker_replica_count must be an integer from 0"),
        ({"worker_replica_count": "2"}, "a local run is one machine"),
        ({"min_quality": "high"}, "parameter min_quality expects number"),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=message):
            run_local(compiled_template, tmp_path / "out", params)
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_pipeline_compiled_around_their_component_runs_it(tmp_path, program, compiled_image):
    @dsl.container_component
    def stdlib_training(accuracy: float):
        return dsl.ContainerSpec(
            image="europe-docker.pkg.dev/team/train/prog:v5",
            command=["python", str(program)],
            args=[accuracy],
        )

    template = compile_around(
        stdlib_training,
        image=compiled_image,
        output=tmp_path / "p.yaml",
        arguments={"accuracy": 0.96},
    )
    result = run_local(template, tmp_path / "out", {"candidate_regions": "europe-west1"})
    training = result.footprint["run"]["training"]
    assert training["image"] == "europe-docker.pkg.dev/team/train/prog:v5"
    assert training["command"] == ["python", str(program), "0.96"]
    assert result.footprint["run"]["metrics"]["accuracy"] == 0.96
