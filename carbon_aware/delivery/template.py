"""Read a compiled pipeline template's declared inputs, and check run parameters against them.

The compiled YAML is the contract: ``run-local`` and ``submit`` both read its inputs, coerce
``--param name=value`` strings to the declared types and refuse unknown names, before anything runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbon_aware.inputs import read_yaml

# KFP IR parameter types and the Python types a value must have.
_TYPE_NAMES = {
    "STRING": "string",
    "NUMBER_INTEGER": "integer",
    "NUMBER_DOUBLE": "number",
    "BOOLEAN": "boolean",
    "LIST": "list",
    "STRUCT": "object",
}


@dataclass(frozen=True)
class TemplateInput:
    """One pipeline parameter as the compiled template declares it."""

    name: str
    parameter_type: str
    default: Any
    has_default: bool
    description: str

    @property
    def type_name(self) -> str:
        """A readable name of the declared type."""
        return _TYPE_NAMES.get(self.parameter_type, self.parameter_type.lower())


def load_template(path: str | Path, option: str = "--template") -> dict[str, Any]:
    """Loads a compiled pipeline YAML (the file itself, not a re-compilation).

    Raises:
        ValueError: Missing, a directory, not YAML, or not a compiled KFP pipeline (one line,
            naming ``option`` and the path).
    """
    spec = read_yaml(path, option)
    if not isinstance(spec, dict) or "root" not in spec:
        raise ValueError(f"{path} is not a compiled KFP pipeline (no 'root' section)")
    return spec


def step_images(spec: Mapping[str, Any]) -> list[str]:
    """Every container image a compiled template runs: its steps' and its custom jobs'.

    A custom job's image sits in the job's worker pool specs (``image_uri``), not in an executor.
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("image", "image_uri", "imageUri") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return list(dict.fromkeys(found))


def _registry_host(image: str) -> str | None:
    """The registry host of an image reference, as Docker reads it, or None."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def require_registry_images(spec: Mapping[str, Any], template: str) -> None:
    """Refuses a template whose steps use an image Vertex AI cannot pull.

    ``run-local`` compiles with a local tag (``carbon-aware-vertex:local``) that exists nowhere:
    such a template runs under kfp.local but every Vertex step would fail pulling its image.

    Raises:
        ValueError: Naming the first image without a registry host.
    """
    for image in step_images(spec):
        if _registry_host(image) is None:
            raise ValueError(
                f"--template {template}: step image {image!r} has no registry host, so Vertex AI "
                "cannot pull it; compile against a pushed image: python compile.py --image "
                "REGION-docker.pkg.dev/PROJECT/REPO/carbon-aware:TAG --output FILE"
            )


def template_inputs(spec: Mapping[str, Any]) -> dict[str, TemplateInput]:
    """Returns the pipeline's declared parameters, by name."""
    parameters = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return {
        name: TemplateInput(
            name=name,
            parameter_type=str(item["parameterType"]),
            default=item.get("defaultValue"),
            has_default="defaultValue" in item or bool(item.get("isOptional")),
            description=str(item.get("description", "")),
        )
        for name, item in parameters.items()
    }


def parse_param_assignments(assignments: list[str]) -> dict[str, str]:
    """Splits ``name=value`` strings; refuses malformed or repeated names."""
    parsed: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--param {item!r} must look like name=value")
        if name in parsed:
            raise ValueError(f"--param {name} is given twice")
        parsed[name] = value
    return parsed


def coerce_value(declared: TemplateInput, value: Any) -> Any:
    """Converts a value (a CLI string, or YAML/JSON data) to the declared type.

    Raises:
        ValueError: The value does not fit the type; the message names the parameter and type.
    """
    kind = declared.parameter_type
    problem = f"parameter {declared.name} expects {declared.type_name}, got {value!r}"
    if isinstance(value, str) and kind != "STRING":
        value = _parse_text(value, kind, problem)
    if kind == "STRING":
        if not isinstance(value, str):
            raise ValueError(problem)
        return value
    if kind == "NUMBER_INTEGER":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(problem)
        return value
    if kind == "NUMBER_DOUBLE":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(problem)
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"{problem[:200]}: beyond a double's range") from None
        if not math.isfinite(number):
            raise ValueError(f"{problem[:200]}: not a finite number")
        return number
    if kind == "BOOLEAN":
        if not isinstance(value, bool):
            raise ValueError(problem)
        return value
    if kind == "LIST":
        if not isinstance(value, list):
            raise ValueError(problem)
        return value
    if kind == "STRUCT":
        if not isinstance(value, dict):
            raise ValueError(problem)
        return value
    raise ValueError(f"parameter {declared.name} has unsupported type {kind}")


def _parse_text(text: str, kind: str, problem: str) -> Any:
    stripped = text.strip()
    if kind == "LIST" and stripped.startswith(("{", '"')):
        # JSON, but not a list: never split an object into "names"
        raise ValueError(f"{problem}; give a JSON list or a,b,c")
    if kind == "LIST" and not stripped.startswith("["):
        # a,b,c is the friendly form for lists of names
        return [part.strip() for part in stripped.split(",") if part.strip()]
    if kind == "BOOLEAN":
        lowered = stripped.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError(problem)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        raise ValueError(problem) from None


def resolve_parameters(
    inputs: Mapping[str, TemplateInput], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Checks overrides against the template and returns them coerced to the declared types.

    Raises:
        ValueError: An unknown name (with the known names), or a value of the wrong type.
    """
    unknown = sorted(set(overrides) - set(inputs))
    if unknown:
        raise ValueError(
            f"unknown pipeline parameter(s) {', '.join(unknown)}; "
            f"the template declares: {', '.join(sorted(inputs))}"
        )
    return {name: coerce_value(inputs[name], value) for name, value in overrides.items()}


def effective_parameters(
    inputs: Mapping[str, TemplateInput], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Returns every parameter's value for a run: the template defaults updated by overrides."""
    values = {name: item.default for name, item in inputs.items() if item.has_default}
    values.update(resolve_parameters(inputs, overrides))
    for name, item in inputs.items():
        if name in values and item.parameter_type == "NUMBER_INTEGER":
            values[name] = coerce_value(item, values[name])
    return values
