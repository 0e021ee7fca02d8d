"""A container component through carbon_aware.kfp.carbon_aware_training, on emulated Vertex AI.

kfp.local cannot run container components, so the compiled YAML is driven as the Vertex AI
Pipelines backend does (see test_emulated_vertex_run.py for what is stood in for and why) up to
the CreateCustomJob request GCPC's launcher sends: the component's image and its command, its
inputs bound at run time exactly as KFP passes them, in the chosen region.
"""

import json

import pytest
from kfp import compiler, dsl
from test_emulated_vertex_run import PROJECT, emulator, run_on_emulated_vertex  # noqa: F401

from carbon_aware.kfp import carbon_aware_training


@dsl.container_component
def their_container(learning_rate: float, layers: list, note: str = "plain"):
    """A team's container training step."""
    return dsl.ContainerSpec(
        image="europe-docker.pkg.dev/team/train/prog:v4",
        command=["python", "train.py"],
        # No ConcatPlaceholder here: the backend stand-in does not evaluate those (kfp.local and
        # Vertex AI do); test_building_block.py checks one reaches the bind step's arguments.
        args=["--lr", learning_rate, "--layers", layers, "--note", note],
    )


@pytest.mark.parametrize("resolution", ["typed", "textual"])
def test_the_custom_job_runs_the_components_command_with_its_inputs_bound(
    emulator,  # noqa: F811
    compiled_image,
    tmp_path,
    resolution,
):
    template = tmp_path / "block.yaml"
    block = carbon_aware_training(their_container, project_image=compiled_image)
    compiler.Compiler().compile(block, str(template))
    params = {"learning_rate": 0.003, "layers": [64, 32], "machine_type": "n1-standard-8"}
    backend, standin, _, endpoints = run_on_emulated_vertex(
        template, tmp_path, params, resolution=resolution, stop_after="train-on-vertex"
    )
    assert backend.executed[:4] == [
        "bind-training-command",
        "fetch-intensity",
        "plan-start",
        "choose-region",
    ]
    [job] = standin.jobs
    assert job.parent == f"projects/{PROJECT}/locations/europe-north1"
    assert endpoints == ["europe-north1-aiplatform.googleapis.com"]
    [pool] = job.message.job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "n1-standard-8"
    assert pool.container_spec.image_uri == "europe-docker.pkg.dev/team/train/prog:v4"
    command = list(pool.container_spec.command)
    # The program after the entrypoint's "--": lists as JSON, as KFP passes them.
    program = command[command.index("--") + 1 :]
    assert program[:4] == ["python", "train.py", "--lr", "0.003"]
    assert program[4] == "--layers" and json.loads(program[5]) == [64, 32]
    assert program[6:] == ["--note", "plain"]
