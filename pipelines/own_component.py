"""The carbon-aware pipeline built around a KFP component you already have for training.

Your container component's image and command become the pipeline's default ``training_image``
and ``training_command``: the pipeline then runs it as its train step, in the region and at the
time it chooses, under Vertex AI's custom-training contract, measured and reported. Inputs of the
component are bound at compile time from ``arguments`` (or their defaults); the program writes its
model to ``$AIP_MODEL_DIR`` instead of a KFP output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp import compiler
from kfp.dsl import placeholders
from kfp.dsl.base_component import BaseComponent
from kfp.dsl.graph_component import GraphComponent

from carbon_aware.training.contract import validate_training_image

from .carbon_aware_pipeline import build_pipeline
from .compiler import validate_image


@dataclass(frozen=True)
class TrainingProgram:
    """A training program: the image it runs in and its command line."""

    image: str
    command: list[str]


def _text(value: Any, where: str) -> str:
    """An input's value as KFP writes it on a command line: JSON for lists, dicts and booleans.

    Raises:
        ValueError: ``None``: there is no text for it (KFP would leave the argument out only
            inside ``dsl.IfPresentPlaceholder``).
    """
    if value is None:
        raise ValueError(f"{where} is None; give it a value in arguments")
    if isinstance(value, str):
        return value
    if isinstance(value, bool | list | dict | tuple):
        return json.dumps(value)
    return str(value)


def training_program(
    component: BaseComponent, arguments: Mapping[str, Any] | None = None
) -> TrainingProgram:
    """Reads the image and command of a KFP container component, with its inputs bound.

    Args:
        component: A ``@dsl.container_component`` whose ContainerSpec runs your training.
        arguments: Values for its inputs (compile-time constants); inputs left out take their
            defaults.

    Returns:
        The program, for :func:`build_pipeline_around`.

    Raises:
        ValueError: Not a container component, an input without a value, an unknown argument,
            an output or artifact placeholder (write to ``$AIP_MODEL_DIR`` instead), or an image
            without a registry host and tag.
    """
    name = component.component_spec.name
    if isinstance(component, GraphComponent) or getattr(
        component.component_spec.implementation, "graph", None
    ):
        raise ValueError(
            f"{name!r} is a pipeline, not a component: give the @dsl.container_component that "
            "trains (the carbon-aware pipeline is built around it)"
        )
    container = getattr(component.component_spec.implementation, "container", None)
    if container is None or any("kfp.dsl.executor_main" in str(p) for p in container.command or []):
        raise ValueError(
            f"component {name!r} is not a container component: a lightweight Python component "
            "needs KFP's executor; wrap your training as @dsl.container_component, or pass "
            "training_command and training_image as pipeline parameters"
        )
    inputs = component.component_spec.inputs or {}
    given = dict(arguments or {})
    unknown = sorted(set(given) - set(inputs))
    if unknown:
        raise ValueError(
            f"arguments {', '.join(unknown)} are not inputs of component {name!r}; it has: "
            f"{', '.join(sorted(inputs)) or 'none'}"
        )

    def value_of(input_name: str) -> str:
        where = f"input {input_name!r} of component {name!r}"
        if input_name in given:
            return _text(given[input_name], where)
        spec = inputs[input_name]
        if spec.default is None:
            raise ValueError(f"{where} has no default; give it in arguments")
        return _text(spec.default, where)

    def resolve(part: Any) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, placeholders.InputValuePlaceholder):
            return value_of(part.input_name)
        if isinstance(part, placeholders.ConcatPlaceholder):
            return "".join(resolve(item) for item in part.items)
        raise ValueError(
            f"component {name!r} uses {type(part).__name__}, which only KFP can fill in; the "
            "training contract gives the program $AIP_MODEL_DIR for its outputs instead"
        )

    image = validate_training_image(container.image)
    command = [resolve(part) for part in [*(container.command or []), *(container.args or [])]]
    if not command:
        raise ValueError(f"component {name!r} has no command")
    return TrainingProgram(image=image, command=command)


def build_pipeline_around(
    component: BaseComponent, *, image: str, arguments: Mapping[str, Any] | None = None
) -> GraphComponent:
    """The carbon-aware pipeline whose train step runs ``component``'s program.

    Args:
        component: Your training step, as a KFP container component.
        image: The project's image for the other steps (immutable tag), as for compile.py.
        arguments: Compile-time values for the component's inputs.

    Returns:
        The pipeline; ``training_command`` and ``training_image`` still override it per run.
    """
    return build_pipeline(validate_image(image), training=training_program(component, arguments))


def compile_around(
    component: BaseComponent,
    *,
    image: str,
    output: str | Path,
    arguments: Mapping[str, Any] | None = None,
) -> Path:
    """Compiles :func:`build_pipeline_around` into ``output``, as compile.py does for the default.

    Returns:
        The path written.
    """
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    pipeline = build_pipeline_around(component, image=image, arguments=arguments)
    compiler.Compiler().compile(pipeline, str(path))
    return path
