"""A team's KFP component as the pipeline's training program (container or lightweight Python).

The component's container spec becomes the Vertex AI custom job's worker pools (as GCPC's
``create_custom_training_job_from_component`` does), in the region choose-region picks; locally
the train step runs the same command as kfp.local runs a lightweight component. Its inputs are
bound at run time by a ``bind-training-command`` step (see :mod:`carbon_aware.training.binding`).
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from carbon_aware.kfp.components.bind_training import bind_training_command
from google.protobuf import json_format
from kfp import dsl
from kfp.dsl.base_component import BaseComponent
from kfp.dsl.graph_component import GraphComponent
from kfp.dsl.pipeline_task import PipelineTask
from kfp.dsl.python_component import PythonComponent

from carbon_aware.training.binding import (
    EXECUTOR_INPUT_MARKER,
    MODEL_DIR_PLACEHOLDER,
    MODEL_PATH_PLACEHOLDER,
    OUTPUTS_OPTION,
    protect_python3,
)
from carbon_aware.training.contract import validate_training_image

BIND_TASK = "bind-training-command"
# KFP's parameter types (IR names) as the Python types a pipeline signature declares.
PYTHON_TYPES: dict[str, type] = {
    "NUMBER_INTEGER": int,
    "NUMBER_DOUBLE": float,
    "STRING": str,
    "BOOLEAN": bool,
    "LIST": list,
    "STRUCT": dict,
}
_OUTPUT = re.compile(
    r"\{\{\$\.outputs\.(artifacts|parameters)\['([^']+)'\]\.(path|uri|output_file)\}\}"
)
# The pipeline parameter the component replaces: its command is the component's.
REPLACED_PARAMETERS = ("training_command",)


@dataclass(frozen=True)
class ComponentInput:
    """One input of the component: its Python type and default (if any)."""

    name: str
    python_type: type
    default: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class TrainingStep:
    """A component made ready to be the pipeline's training program."""

    name: str
    image: str
    inputs: tuple[ComponentInput, ...]
    bind: BaseComponent

    def bind_task(self, values: Mapping[str, Any]) -> PipelineTask:
        """Adds the bind step to the pipeline being built, its inputs bound to ``values``."""
        task = self.bind(**values)
        task.set_display_name(BIND_TASK)
        return task


def _rewrite(part: str, name: str) -> str:
    """One command element: ``{{$}}`` and output placeholders become what bind fills in."""
    if part == "{{$}}":
        return EXECUTOR_INPUT_MARKER

    def output(match: re.Match[str]) -> str:
        kind, output_name, field = match.groups()
        if kind == "parameters":
            return f"{MODEL_PATH_PLACEHOLDER}/outputs/{output_name}"
        base = MODEL_DIR_PLACEHOLDER if field == "uri" else MODEL_PATH_PLACEHOLDER
        return f"{base}/{output_name}"

    rewritten = _OUTPUT.sub(output, part)
    if "{{$.outputs" in rewritten or "{{$.inputs.artifacts" in rewritten:
        raise ValueError(
            f"component {name!r} uses a placeholder only KFP's own executor fills in "
            f"({part[:80]!r}); write outputs to $AIP_MODEL_DIR or to an Output artifact's path"
        )
    return rewritten


def training_step(component: BaseComponent, project_image: str) -> TrainingStep:
    """Reads a component's container spec, inputs and outputs, and builds its bind step.

    Args:
        component: A ``@dsl.container_component`` or a lightweight ``@dsl.component``.
        project_image: The project's image, which the bind step runs on.

    Returns:
        The step, for :func:`carbon_aware.kfp.pipelines.carbon_aware_pipeline.build_pipeline`.

    Raises:
        ValueError: Not a one-container component, an input artifact, or an image without a
            registry host and an immutable tag.
    """
    if not isinstance(component, BaseComponent):
        raise ValueError(
            f"component must be a KFP component (@dsl.component or @dsl.container_component), "
            f"got {type(component).__name__}"
        )
    name = component.component_spec.name
    if isinstance(component, GraphComponent):
        raise ValueError(
            f"component {name!r} is a pipeline, not a component: give the "
            "@dsl.container_component or @dsl.component that trains"
        )
    spec = json_format.MessageToDict(component.pipeline_spec)
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    containers = [e["container"] for e in executors.values() if "container" in e]
    if len(executors) != 1 or len(containers) != 1:
        raise ValueError(
            f"component {name!r} must be one container or lightweight Python component; it has "
            f"{len(executors)} executors (a pipeline cannot be the training step)"
        )
    container = containers[0]
    definition = next(iter(spec["components"].values()))
    input_definitions = definition.get("inputDefinitions", {})
    if input_definitions.get("artifacts"):
        artifacts = ", ".join(sorted(input_definitions["artifacts"]))
        raise ValueError(
            f"component {name!r} takes input artifacts ({artifacts}); the training job reads "
            "data from Cloud Storage: take its URI as a string input instead"
        )
    inputs = tuple(
        ComponentInput(
            name=input_name,
            python_type=PYTHON_TYPES[item["parameterType"]],
            default=item.get("defaultValue", inspect.Parameter.empty),
        )
        for input_name, item in input_definitions.get("parameters", {}).items()
    )
    output_definitions = definition.get("outputDefinitions", {})
    outputs = {
        "artifacts": {
            output_name: item["artifactType"]["schemaTitle"]
            for output_name, item in output_definitions.get("artifacts", {}).items()
        },
        "parameters": sorted(output_definitions.get("parameters", {})),
    }
    program = [
        protect_python3(_rewrite(part, name))
        for part in [*container.get("command", []), *container.get("args", [])]
    ]
    image = validate_training_image(container["image"])
    generic = dsl.component(
        bind_training_command, base_image=project_image, install_kfp_package=False
    )
    # The bind step takes the component's inputs, and carries its command after "--" (which
    # KFP's executor_main leaves alone), so KFP resolves the component's placeholders there.
    bind_spec = copy.deepcopy(generic.component_spec)
    bind_spec.name = BIND_TASK
    bind_spec.inputs = copy.deepcopy(component.component_spec.inputs) or {}
    container_spec = bind_spec.implementation.container
    container_spec.args = [
        *(container_spec.args or []),
        OUTPUTS_OPTION,
        json.dumps(outputs, sort_keys=True),
        "--",
        *program,
    ]
    bind = PythonComponent(component_spec=bind_spec, python_func=generic.python_func)
    return TrainingStep(name=name, image=image, inputs=inputs, bind=bind)


def with_component_inputs(
    body: Callable[..., Any],
    step: TrainingStep,
    arguments: Mapping[str, Any],
    bound_inputs: dict[str, Any],
) -> Callable[..., Any]:
    """``body``'s pipeline signature, plus the component's inputs, with ``arguments`` as defaults.

    The carbon-aware parameters stay declared once, in ``body``'s signature; the component's
    inputs are added after them (keyword-only). An input named like a carbon-aware parameter of
    the same type shares that parameter (with the component's default, if it has one).
    ``bound_inputs`` receives the component's input channels before ``body`` runs, for
    :meth:`TrainingStep.bind_task`.

    Raises:
        ValueError: An argument that is no input, or an input whose type clashes with the
            carbon-aware parameter of the same name.
    """
    ours = {
        name: parameter
        for name, parameter in inspect.signature(body).parameters.items()
        if name not in REPLACED_PARAMETERS
    }
    theirs: dict[str, inspect.Parameter] = {}
    for item in step.inputs:
        if item.name in ours:
            declared = ours[item.name].annotation
            if declared is not item.python_type:
                raise ValueError(
                    f"input {item.name!r} of component {step.name!r} is "
                    f"{item.python_type.__name__}, but the carbon-aware parameter of that name is "
                    f"{getattr(declared, '__name__', declared)}; rename the input"
                )
            if item.default is not inspect.Parameter.empty:
                # The component's default wins: the bundled trainer's does not apply to it.
                ours[item.name] = ours[item.name].replace(default=item.default)
            continue
        theirs[item.name] = inspect.Parameter(
            item.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=item.default,
            annotation=item.python_type,
        )
    everything = {**ours, **theirs}
    for name, value in arguments.items():
        if name in REPLACED_PARAMETERS:
            raise ValueError(f"{name} comes from component {step.name!r}; leave it out")
        if name not in everything:
            raise ValueError(
                f"argument {name!r} is neither a carbon-aware parameter nor an input of "
                f"component {step.name!r} (its inputs: "
                f"{', '.join(i.name for i in step.inputs) or 'none'})"
            )
        everything[name] = everything[name].replace(default=value)
    names = list(everything)

    def pipeline_func(*channels: Any) -> Any:
        values = dict(zip(names, channels, strict=True))
        bound_inputs.clear()
        bound_inputs.update({item.name: values[item.name] for item in step.inputs})
        return body(**{name: values[name] for name in ours}, training_command=[])

    pipeline_func.__signature__ = inspect.signature(body).replace(  # type: ignore[attr-defined]
        parameters=list(everything.values())
    )
    pipeline_func.__doc__ = body.__doc__
    pipeline_func.__name__ = body.__name__
    return pipeline_func
