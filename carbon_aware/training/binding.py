"""A KFP component's command line with its inputs bound, as KFP itself passes them.

``carbon_aware.kfp.carbon_aware_training`` runs a team's component (container or lightweight
Python) as the training program. Its command and arguments still hold KFP placeholders; a small
``bind-training-command`` step declares the component's inputs as its own and carries the
component's command after ``--`` in its arguments, so KFP resolves every input placeholder (JSON
for lists and dicts, exactly as for the component) when that step runs. This module turns the
resolved arguments into the program's command:

- ``{{$}}`` (a lightweight component's executor input) was replaced at compile time by
  :data:`EXECUTOR_INPUT_MARKER`; here it becomes an executor input holding the bound inputs, and
  outputs that live in the run's ``AIP_MODEL_DIR``.
- Output placeholders were replaced at compile time by :data:`MODEL_DIR_PLACEHOLDER` /
  :data:`MODEL_PATH_PLACEHOLDER`; :func:`fill_model_dir` fills them in once the model directory is
  known (choose-region on Vertex AI, the train step locally).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# The run's AIP_MODEL_DIR as a URI (gs://... on Vertex AI) and as a file path (/gcs/... there).
MODEL_DIR_PLACEHOLDER = "{{carbon_aware.model_dir}}"
MODEL_PATH_PLACEHOLDER = "{{carbon_aware.model_path}}"
EXECUTOR_INPUT_MARKER = "carbon-aware:executor-input"
OUTPUTS_OPTION = "--carbon-aware-outputs"
# kfp.local's SubprocessRunner rewrites "python3" in every argument of a step, parameter values
# in the executor input included; the component's command carries this stand-in instead until
# fill_model_dir restores it where the command runs.
PYTHON3_STAND_IN = "{{carbon_aware.py3}}"
# Cloud Storage FUSE mount of Vertex AI training containers (KFP's executor uses it too).
GCS_FUSE_PREFIX = "/gcs/"


def protect_python3(part: str) -> str:
    """``part`` with "python3" replaced by :data:`PYTHON3_STAND_IN` (see there why)."""
    return part.replace("python3", PYTHON3_STAND_IN)


class BindingError(ValueError):
    """The bind step's arguments are not what the compiled pipeline gives it."""


def executor_input_for(
    own_executor_input: Mapping[str, Any], outputs: Mapping[str, Any]
) -> dict[str, Any]:
    """The executor input the component gets: its bound inputs, outputs in ``AIP_MODEL_DIR``.

    Args:
        own_executor_input: The bind step's executor input; its inputs are the component's.
        outputs: ``{"artifacts": {name: schema_title}, "parameters": [name, ...]}``, the
            component's outputs as the compiled pipeline recorded them.

    Returns:
        An executor input as KFP's ``kfp.dsl.executor_main`` reads it.
    """
    artifacts = {
        name: {
            "artifacts": [
                {
                    "name": name,
                    "type": {"schemaTitle": title},
                    "uri": f"{MODEL_DIR_PLACEHOLDER}/{name}",
                    "metadata": {},
                }
            ]
        }
        for name, title in sorted(dict(outputs.get("artifacts", {})).items())
    }
    parameters = {
        name: {"outputFile": f"{MODEL_PATH_PLACEHOLDER}/outputs/{name}"}
        for name in sorted(outputs.get("parameters", []))
    }
    return {
        "inputs": dict(own_executor_input.get("inputs", {})),
        "outputs": {
            "artifacts": artifacts,
            "parameters": parameters,
            "outputFile": f"{MODEL_PATH_PLACEHOLDER}/executor_output.json",
        },
    }


def bind_command(argv: Sequence[str]) -> list[str]:
    """The component's command from the bind step's resolved arguments.

    Args:
        argv: The bind step's ``sys.argv``: KFP's ``--executor_input`` (its own),
            ``--carbon-aware-outputs JSON``, ``--``, then the component's command and arguments
            with KFP's placeholders already resolved.

    Returns:
        The command, with the executor input (when the component is a lightweight Python one)
        holding the bound inputs.

    Raises:
        BindingError: The arguments do not have that shape.
    """
    args = list(argv)
    try:
        own = json.loads(args[args.index("--executor_input") + 1])
        at = args.index(OUTPUTS_OPTION)
        outputs = json.loads(args[at + 1])
    except (ValueError, IndexError) as err:
        raise BindingError(f"bind-training-command got unexpected arguments: {err}") from None
    if args[at + 2 : at + 3] != ["--"] or len(args) <= at + 3:
        raise BindingError("bind-training-command: no component command after '--'")
    program = args[at + 3 :]
    executor_input = json.dumps(executor_input_for(own, outputs), sort_keys=True)
    return [executor_input if part == EXECUTOR_INPUT_MARKER else part for part in program]


def model_path(model_dir: str) -> str:
    """``model_dir`` as a file path: gs://b/p is /gcs/b/p inside a Vertex AI container."""
    if model_dir.startswith("gs://"):
        return GCS_FUSE_PREFIX + model_dir.removeprefix("gs://")
    return model_dir


def fill_model_dir(command: Sequence[str], model_dir: str) -> list[str]:
    """The command as it runs: model-directory placeholders filled, ``python3`` restored.

    The directory is JSON-escaped, so an executor input holding it stays valid JSON.
    """
    uri = json.dumps(model_dir)[1:-1]
    path = json.dumps(model_path(model_dir))[1:-1]
    return [
        str(part)
        .replace(MODEL_DIR_PLACEHOLDER, uri)
        .replace(MODEL_PATH_PLACEHOLDER, path)
        .replace(PYTHON3_STAND_IN, "python3")
        for part in command
    ]
