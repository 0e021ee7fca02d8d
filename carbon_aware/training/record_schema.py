"""Schemas of the records a training program (or its replicas) leave behind, checked before use.

``run_record.json`` in the model directory is written by the user's program, and replica records
sit in a folder the program can write to: both are untrusted. Each is checked against a small
schema here, so a wrong type fails with one line naming the file and the field instead of an
``AttributeError`` after training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from carbon_aware.training.contract import ContractError

# A field's allowed JSON types: "object", "array", "string", "integer", "number", "boolean".
Schema = Mapping[str, Any]

_NUMBER: Schema = {"type": "number"}
_COUNT: Schema = {"type": "integer", "minimum": 0}
_SIZE_BLOCK: Schema = {
    "type": "object",
    "properties": {
        "rows": _COUNT,
        "columns": _COUNT,
        "csv_bytes": {"type": "number", "minimum": 0},
        "memory_bytes": {"type": "number", "minimum": 0},
    },
}

# What a program may add about itself to run_record.json (collect.PROGRAM_KEYS); fields not
# listed are free, fields listed must have these types (or be null).
PROGRAM_RECORD_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "dataset": {"type": "object", "properties": {"train_rows": _COUNT}},
        "hyperparameters": {"type": "object"},
        "levers": {"type": "object"},
        "data_efficiency": {
            "type": "object",
            "properties": {
                "applied": {"type": "array", "items": {"type": "string"}},
                "before": _SIZE_BLOCK,
                "after": _SIZE_BLOCK,
            },
        },
        "precision": {
            "type": "object",
            "properties": {
                "mixed_precision_requested": {"type": "boolean"},
                "note": {"type": "string"},
                "policy": {"type": "string"},
            },
        },
        "compressed_export": {
            "type": "object",
            "properties": {
                "energy": {"type": "object", "properties": {"total_kwh": _NUMBER}},
                "seconds": {"type": "number", "minimum": 0},
            },
        },
        "epochs_run": _COUNT,
    },
}

_ENERGY: Schema = {
    "type": "object",
    "required": ["cpu_kwh", "gpu_kwh", "ram_kwh", "total_kwh", "method", "duration_s"],
    "properties": {
        "cpu_kwh": {"type": "number", "minimum": 0},
        "gpu_kwh": {"type": "number", "minimum": 0},
        "ram_kwh": {"type": "number", "minimum": 0},
        "total_kwh": {"type": "number", "minimum": 0},
        "duration_s": {"type": "number", "minimum": 0},
        "method": {"type": "string"},
        "method_detail": {"type": "string"},
    },
}
# A replica measured by carbon_aware.training.runner.
WRAPPED_REPLICA_SCHEMA: Schema = {
    "type": "object",
    "required": [
        "replica",
        "start_utc",
        "end_utc",
        "duration_s",
        "exit_code",
        "energy",
        "energy_basis",
    ],
    "properties": {
        "replica": {"type": "string"},
        "start_utc": {"type": "string"},
        "end_utc": {"type": "string"},
        "duration_s": {"type": "number", "minimum": 0},
        "exit_code": {"type": "integer"},
        "energy": _ENERGY,
        "energy_basis": {"type": "string", "enum": ["measured", "estimated"]},
    },
}
# A replica of an image without this package (the job's sh entrypoint).
UNWRAPPED_REPLICA_SCHEMA: Schema = {
    "type": "object",
    "required": ["replica", "start_epoch_s", "end_epoch_s", "exit_code"],
    "properties": {
        "replica": {"type": "string"},
        "start_epoch_s": {"type": "number", "minimum": 0},
        "end_epoch_s": {"type": "number", "minimum": 0},
        "exit_code": {"type": "integer"},
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _check(value: Any, schema: Schema, where: str, source: str) -> None:
    kind = schema["type"]
    ok = isinstance(value, _TYPES[kind]) and (kind == "boolean" or not isinstance(value, bool))
    if ok and kind == "number":
        try:
            ok = math.isfinite(float(value))
        except OverflowError:
            ok = False
    if not ok:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:60] + "…"
        what = (
            "a finite number"
            if kind == "number"
            else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        )
        raise ContractError(f"{source}: field {where} must be {what}, got {shown}")
    if "minimum" in schema and value < schema["minimum"]:
        raise ContractError(f"{source}: field {where} must be at least {schema['minimum']}")
    if "enum" in schema and value not in schema["enum"]:
        raise ContractError(
            f"{source}: field {where} must be one of {', '.join(schema['enum'])}, got {value!r}"
        )
    if kind == "object":
        for name in schema.get("required", ()):
            if name not in value:
                raise ContractError(f"{source}: field {where}.{name} is missing")
        required = schema.get("required", ())
        for name, sub in schema.get("properties", {}).items():
            # An optional field may be null: the same as leaving it out.
            if name in value and (value[name] is not None or name in required):
                _check(value[name], sub, f"{where}.{name}", source)
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{index}]", source)


def validate(data: Any, schema: Schema, source: str) -> dict[str, Any]:
    """Returns ``data`` when it fits ``schema``.

    Args:
        data: The parsed JSON.
        schema: One of this module's schemas.
        source: The file it came from, for the message.

    Raises:
        ContractError: One line naming ``source``, the field (``$.dataset.train_rows``) and
            what it must be.
    """
    _check(data, schema, "$", source)
    result: dict[str, Any] = data
    return result
