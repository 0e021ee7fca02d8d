"""The KFP author API writes inputs as KFP does: JSON for lists and dicts, never 'None'."""

import json

import pytest
from carbon_aware.kfp.pipelines.own_component import training_program
from kfp import dsl


@dsl.container_component
def configured_training(layers: list, options: dict, verbose: bool, name: str = "x"):
    """A step taking structured inputs."""
    return dsl.ContainerSpec(
        image="europe-docker.pkg.dev/team/train/prog:v4",
        command=["python", "train.py"],
        args=["--layers", layers, "--options", options, "--verbose", verbose, "--name", name],
    )


def test_lists_and_dicts_are_json_and_booleans_lowercase():
    program = training_program(
        configured_training,
        {"layers": [64, 32], "options": {"lr": 0.1, "tag": "a b"}, "verbose": True},
    )
    args = program.command
    assert json.loads(args[args.index("--layers") + 1]) == [64, 32]
    assert json.loads(args[args.index("--options") + 1]) == {"lr": 0.1, "tag": "a b"}
    assert args[args.index("--verbose") + 1] == "true"


def test_none_is_refused_not_passed_as_the_text_none():
    with pytest.raises(ValueError, match=r"input 'name' of component .* is None"):
        training_program(
            configured_training, {"layers": [], "options": {}, "verbose": False, "name": None}
        )


def test_a_pipeline_is_refused_as_a_pipeline():
    @dsl.pipeline(name="theirs")
    def their_pipeline():
        configured_training(layers=[1], options={}, verbose=False)

    with pytest.raises(ValueError, match="is a pipeline, not a component"):
        training_program(their_pipeline)
