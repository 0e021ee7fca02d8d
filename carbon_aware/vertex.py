"""What the Vertex custom job needs from the decision: the regional bucket and the machine spec."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from carbon_aware.hardware import catalogue

# Vertex AI MachineSpec.acceleratorType values some training machine takes (the catalogue's).
ACCELERATOR_TYPES: tuple[str, ...] = catalogue.accelerator_types()
NO_ACCELERATOR = catalogue.NO_ACCELERATOR
ACCELERATOR_COUNTS: tuple[int, ...] = (0, 1, 2, 4, 8, 16)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_MACHINE_TYPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)+")


@dataclass(frozen=True)
class AcceleratorSpec:
    """The accelerator part of a Vertex MachineSpec, normalised so the job spec is always valid."""

    accelerator_type: str
    accelerator_count: int


def normalise_accelerator(accelerator_type: str, accelerator_count: int) -> AcceleratorSpec:
    """Validates the accelerator request and maps "none" to Vertex's unspecified value.

    Args:
        accelerator_type: A Vertex accelerator enum name, or empty for CPU-only training.
        accelerator_count: How many accelerators; 0 with an empty type.

    Returns:
        The spec to put in the job's MachineSpec.

    Raises:
        ValueError: Unknown type, a count Vertex does not offer, or a type without a count.
    """
    kind = accelerator_type.strip()
    if kind in ("", NO_ACCELERATOR):
        if accelerator_count != 0:
            raise ValueError(
                f"accelerator_count is {accelerator_count} but accelerator_type is empty; "
                f"set accelerator_type to one of {', '.join(ACCELERATOR_TYPES)} or the count to 0"
            )
        return AcceleratorSpec(NO_ACCELERATOR, 0)
    if kind not in ACCELERATOR_TYPES:
        raise ValueError(
            f"unknown accelerator_type {accelerator_type!r}; allowed: empty (no accelerator) or "
            f"{', '.join(ACCELERATOR_TYPES)}"
        )
    if accelerator_count not in ACCELERATOR_COUNTS or accelerator_count == 0:
        raise ValueError(
            f"accelerator_count {accelerator_count} is not valid with {kind}; allowed: "
            f"{', '.join(str(c) for c in ACCELERATOR_COUNTS if c)}"
        )
    return AcceleratorSpec(kind, accelerator_count)


def validate_machine_type(machine_type: str) -> str:
    """Checks a machine type against the catalogue, e.g. ``n1-standard-4``.

    Raises:
        ValueError: Not a name, or not a machine type Vertex AI custom training takes (the
            message names the families).
    """
    if not isinstance(machine_type, str) or not _MACHINE_TYPE.fullmatch(machine_type):
        raise ValueError(
            f"machine_type {machine_type!r} is not a Compute Engine machine type name "
            "(for example n1-standard-4, e2-standard-8, a2-highgpu-1g)"
        )
    catalogue.machine(machine_type)
    return machine_type


def check_machine_accelerator(
    machine_type: str, accelerator_type: str, accelerator_count: int
) -> None:
    """Refuses a machine/accelerator pair Vertex AI would reject (see the catalogue).

    Raises:
        ValueError: Naming the machine, the accelerator and what the accelerator needs.
    """
    validate_machine_type(machine_type)
    catalogue.check_accelerator(machine_type, accelerator_type, accelerator_count)


def validate_bucket_template(template: str) -> str:
    """Checks a ``regional_bucket_template`` such as ``gs://my-proj-carbon-{region}``.

    Raises:
        ValueError: Not a gs:// URI, no ``{region}`` placeholder, or other placeholders.
    """
    if not template.startswith("gs://"):
        raise ValueError(
            f"regional_bucket_template {template!r} must start with gs:// "
            "(for example gs://my-proj-carbon-{region})"
        )
    segments = template.removeprefix("gs://").split("/")
    if (
        any(segment in (".", "..") for segment in segments)
        or "" in segments[:-1]
        or any(char == "\\" or not char.isprintable() or char.isspace() for char in template)
    ):
        raise ValueError(
            f"regional_bucket_template {template!r} must be gs://BUCKET[/FOLDER...] without "
            "'.', '..' or empty path segments, backslashes, whitespace or control characters"
        )
    # Only the bare field: str.format would evaluate {region.__class__} or {region[0]}.
    only_region = (
        f"regional_bucket_template {template!r} may only contain the {{region}} placeholder, "
        "without attributes, indexes, conversions or format specs"
    )
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as err:
        raise ValueError(only_region) from err
    if any(field != ("region", "", None) for field in fields):
        raise ValueError(only_region)
    if not fields:
        raise ValueError(
            f"regional_bucket_template {template!r} has no {{region}} placeholder: Vertex refuses "
            "a custom job whose output bucket is in another region, so each region needs its own"
        )
    return template


def regional_bucket(template: str, region: str) -> str:
    """Returns the bucket URI (``gs://name``) for ``region`` from the template."""
    uri = validate_bucket_template(template).format(region=region).rstrip("/")
    bucket = uri.removeprefix("gs://").split("/", 1)[0]
    if not _BUCKET_NAME.fullmatch(bucket):
        raise ValueError(
            f"regional_bucket_template {template!r} gives bucket {bucket!r} for {region}, which "
            "is not a valid Cloud Storage bucket name (lowercase letters, digits, - _ .)"
        )
    return uri


def base_output_directory(template: str, region: str, run_id: str) -> str:
    """Returns the custom job's output directory in the region's bucket, unique per run."""
    safe_run = re.sub(r"[^A-Za-z0-9._-]", "-", run_id) or "run"
    return f"{regional_bucket(template, region)}/carbon-aware-runs/{safe_run}"
