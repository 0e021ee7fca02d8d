"""carbon_aware.kfp.carbon_aware_training: a team's component as carbon-aware training, one step.

Compiled alone, called inside an outer @dsl.pipeline with inputs bound at run time, and a
lightweight Python component run end to end by kfp.local. Container components cannot run in
kfp.local's SubprocessRunner: tests/vertex/test_building_block_vertex.py drives one through the
compiled YAML up to the Vertex AI CreateCustomJob request instead.
"""

import json

import pytest
import yaml
from kfp import compiler, dsl

from carbon_aware.delivery.local_run import run_local
from carbon_aware.kfp import carbon_aware_training
from carbon_aware.training.binding import (
    MODEL_DIR_PLACEHOLDER,
    bind_command,
    fill_model_dir,
)

IMAGE = "europe-docker.pkg.dev/test-proj/carbon/carbon-aware:0123abc"


@dsl.container_component
def their_container(learning_rate: float, layers: list, note: str = ""):
    """A team's container training step."""
    return dsl.ContainerSpec(
        image="europe-docker.pkg.dev/team/train/prog:v4",
        command=["python", "train.py"],
        args=["--lr", learning_rate, "--layers", layers, dsl.ConcatPlaceholder(["--note=", note])],
    )


@dsl.component(
    base_image="europe-docker.pkg.dev/team/py/python:3.11-slim",
    packages_to_install=["scikit-learn"],
)
def their_python(
    n_estimators: int, layers: list, accuracy: float = 0.97, model: dsl.Output[dsl.Model] = None
):
    """A team's lightweight Python training step: metrics.json and a model in AIP_MODEL_DIR."""
    import json
    import os

    model_dir = os.environ["AIP_MODEL_DIR"]
    with open(os.path.join(model_dir, "metrics.json"), "w") as handle:
        json.dump(
            {"accuracy": accuracy, "n_estimators": n_estimators, "depth": len(layers)}, handle
        )
    with open(model.path, "w") as handle:
        handle.write(json.dumps({"layers": layers}))


def compiled(pipeline, tmp_path, name="p.yaml"):
    path = tmp_path / name
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text()), path


def bind_executor(spec):
    [executor] = [
        e for key, e in spec["deploymentSpec"]["executors"].items() if "bind-training" in key
    ]
    return executor["container"]


def test_compiled_alone_the_inputs_are_the_carbon_aware_parameters_and_the_components(tmp_path):
    block = carbon_aware_training(their_container, project_image=IMAGE, learning_rate=0.01)
    spec, _ = compiled(block, tmp_path)
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    for name in ("candidate_regions", "baseline_region", "min_quality", "backend"):
        assert name in inputs
    assert inputs["learning_rate"] == {
        "defaultValue": 0.01,
        "isOptional": True,
        "parameterType": "NUMBER_DOUBLE",
    }
    assert "defaultValue" not in inputs["layers"]  # required: given per run or by the caller
    assert "training_command" not in inputs  # the component is the command
    assert inputs["training_image"]["defaultValue"] == "europe-docker.pkg.dev/team/train/prog:v4"
    outputs = spec["root"]["outputDefinitions"]["artifacts"]
    assert set(outputs) == {"report", "report_html", "footprint", "model"}
    # The bind step carries the component's command with KFP's own placeholders, after "--".
    container = bind_executor(spec)
    assert container["image"] == IMAGE
    program = container["args"][container["args"].index("--") + 1 :]
    assert program[:4] == ["python", "train.py", "--lr", "{{$.inputs.parameters['learning_rate']}}"]
    assert program[5] == "{{$.inputs.parameters['layers']}}"


def test_called_inside_an_outer_pipeline_its_inputs_bind_to_the_callers_values(tmp_path):
    block = carbon_aware_training(their_container, project_image=IMAGE)

    @dsl.component(base_image="python:3.11")
    def tuned_rate() -> float:
        return 0.003

    @dsl.pipeline(name="team-pipeline")
    def team_pipeline(layers: list = [64, 32], regions: list = ["europe-west1"]):  # noqa: B006
        rate = tuned_rate()
        training = block(
            learning_rate=rate.output,
            layers=layers,
            candidate_regions=regions,
            backend="local",
            min_quality=0.5,
        )
        training.set_display_name("carbon-aware-training")

    spec, _ = compiled(team_pipeline, tmp_path)
    task = spec["root"]["dag"]["tasks"]["carbon-aware-training"]
    parameters = task["inputs"]["parameters"]
    assert parameters["learning_rate"]["taskOutputParameter"] == {
        "outputParameterKey": "Output",
        "producerTask": "tuned-rate",
    }
    assert parameters["layers"]["componentInputParameter"] == "layers"
    assert parameters["candidate_regions"]["componentInputParameter"] == "regions"
    # The block is a sub-DAG, whose bind step reads the block's own inputs.
    block_dag = spec["components"][task["componentRef"]["name"]]["dag"]
    bind = block_dag["tasks"]["bind-training-command"]["inputs"]["parameters"]
    assert bind["learning_rate"] == {"componentInputParameter": "learning_rate"}


def test_bad_components_and_arguments_are_refused_plainly():
    @dsl.container_component
    def reads_artifact(data: dsl.Input[dsl.Dataset]):
        return dsl.ContainerSpec(image="europe-docker.pkg.dev/t/r/i:1", command=["true"])

    @dsl.container_component
    def typed_clash(epochs: str):
        return dsl.ContainerSpec(image="europe-docker.pkg.dev/t/r/i:1", command=["echo", epochs])

    @dsl.pipeline
    def outer(learning_rate: float = 0.1):
        their_container(learning_rate=learning_rate, layers=[1])

    cases = [
        (
            lambda: carbon_aware_training(their_container, project_image=IMAGE, lr=1),
            "argument 'lr' is neither a carbon-aware parameter nor an input",
        ),
        (
            lambda: carbon_aware_training(their_container, project_image="carbon:latest"),
            "uses the mutable tag .latest.",
        ),
        (
            lambda: carbon_aware_training(reads_artifact, project_image=IMAGE),
            "takes input artifacts \\(data\\)",
        ),
        (
            lambda: carbon_aware_training(typed_clash, project_image=IMAGE),
            "input 'epochs' of component 'typed-clash' is str, but the carbon-aware parameter",
        ),
        (
            lambda: carbon_aware_training("train.py", project_image=IMAGE),
            "component must be a KFP component",
        ),
        (
            lambda: carbon_aware_training(
                their_container, project_image=IMAGE, training_command=["x"]
            ),
            "training_command comes from component",
        ),
        (
            lambda: carbon_aware_training(outer, project_image=IMAGE),
            "component 'outer' is a pipeline, not a component: give the",
        ),
        (
            lambda: carbon_aware_training(their_container, project_image=IMAGE, layers=None),
            "argument layers=None: give layers a value",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_bind_fills_the_executor_input_as_kfp_passes_it():
    own = {
        "inputs": {"parameterValues": {"n_estimators": 7, "layers": [1, 2]}},
        "outputs": {"parameters": {"Output": {"outputFile": "/tmp/out"}}},
    }
    outputs = {"artifacts": {"model": "system.Model"}, "parameters": []}
    argv = [
        "executor_main",
        "--executor_input",
        json.dumps(own),
        "--function_to_execute",
        "bind_training_command",
        "--carbon-aware-outputs",
        json.dumps(outputs),
        "--",
        "sh",
        "-c",
        "run",
        "--executor_input",
        "carbon-aware:executor-input",
        "--layers",
        "[1, 2]",
    ]
    command = bind_command(argv)
    assert command[:3] == ["sh", "-c", "run"]
    assert command[-2:] == ["--layers", "[1, 2]"]
    executor_input = json.loads(command[4])
    assert executor_input["inputs"] == own["inputs"]
    [model] = executor_input["outputs"]["artifacts"]["model"]["artifacts"]
    assert model["uri"] == f"{MODEL_DIR_PLACEHOLDER}/model"
    filled = fill_model_dir(command, "gs://bucket-europe-west1/run/model")
    model = json.loads(filled[4])["outputs"]["artifacts"]["model"]["artifacts"][0]
    assert model["uri"] == "gs://bucket-europe-west1/run/model/model"
    # The executor's own output file is a path: the Cloud Storage FUSE mount on Vertex AI.
    assert json.loads(filled[4])["outputs"]["outputFile"] == (
        "/gcs/bucket-europe-west1/run/model/executor_output.json"
    )


@pytest.mark.slow
def test_a_lightweight_python_component_runs_through_kfp_local(tmp_path):
    block = carbon_aware_training(their_python, project_image=IMAGE, layers=[8, 4, 2])
    _, template = compiled(block, tmp_path)
    result = run_local(
        template,
        tmp_path / "out",
        {"n_estimators": "7", "candidate_regions": "europe-west1,us-central1"},
    )
    run = result.footprint["run"]
    assert run["metrics"] == {"accuracy": 0.97, "n_estimators": 7.0, "depth": 3.0}
    model_dir = run["training"]["model_dir"]
    # The list input reached the function as KFP passes it (JSON), the model in AIP_MODEL_DIR.
    with open(f"{model_dir}/model", encoding="utf-8") as handle:
        assert json.loads(handle.read()) == {"layers": [8, 4, 2]}
    assert run["training"]["image"] == "europe-docker.pkg.dev/team/py/python:3.11-slim"
