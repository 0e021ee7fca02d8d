"""Checks on the pipeline's run parameters, made before anything touches the cloud.

The pipeline function in ``pipelines/`` declares the parameters and their defaults; this module
checks the values a run is given: the CLI calls it before starting a run and choose-region calls
it again at run time, before any training job is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carbon_aware.intensity.registry import PROVIDER_NAMES
from carbon_aware.regions import RESIDENCY_GROUPS, validate_regions
from carbon_aware.vertex import (
    check_machine_accelerator,
    normalise_accelerator,
    validate_bucket_template,
    validate_machine_type,
)

BACKENDS: tuple[str, ...] = ("local", "vertex")
EPOCHS_RANGE = (1, 1000)


class ParameterError(ValueError):
    """A run parameter has a value the pipeline cannot use."""


def integral(value: Any) -> Any:
    """An integer parameter as the step must use it: ``20.0`` becomes ``20``.

    A pipeline's parameter values travel as protobuf numbers (doubles), so an integer the backend
    fills in from the template's default can reach a step as ``20.0``; KFP's executor does not
    convert it back. Anything else is returned unchanged, for the checks to refuse.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ParameterError(message)


def validate_run_parameters(values: Mapping[str, Any]) -> None:
    """Validates the semantic constraints between run parameters.

    Only the parameters present in ``values`` are checked, so callers may pass a partial set.

    Args:
        values: Parameter name to value, as the pipeline will receive them.

    Raises:
        ParameterError: The first bad value, named, with what is allowed.
    """
    try:
        _validate(values)
        _validate_before_any_fetch(values)
    except ParameterError:
        raise
    except ValueError as err:
        raise ParameterError(str(err)) from err


def _validate_training(values: Mapping[str, Any]) -> None:
    """The user's-own-training parameters (see :mod:`carbon_aware.training.contract`)."""
    from carbon_aware.training import contract, package

    checks = {
        "training_command": contract.validate_training_command,
        "training_image": contract.validate_training_image,
        "training_env": contract.validate_training_env,
        "training_timeout_hours": contract.validate_training_timeout_hours,
        "training_package_uris": package.validate_package_uris,
        "training_python_module": package.validate_python_module,
        "worker_replica_count": contract.validate_worker_replica_count,
        "quality_metric": contract.validate_quality_metric,
        "min_quality": contract.validate_min_quality,
    }
    for name, check in checks.items():
        if name in values:
            check(values[name])
    if "training_package_uris" in values or "training_python_module" in values:
        package.check_combination(
            package_uris=list(values.get("training_package_uris") or []),
            python_module=str(values.get("training_python_module", "")),
            training_command=list(values.get("training_command") or []),
            training_image=str(values.get("training_image", "")),
            backend=str(values.get("backend", "vertex")),
        )
    if values.get("backend") == "local" and values.get("worker_replica_count", 0):
        raise ParameterError(
            f"worker_replica_count is {values['worker_replica_count']} but backend is 'local': "
            "a local run is one machine; use 0 locally and set it for backend 'vertex'"
        )


def _validate(values: Mapping[str, Any]) -> None:
    if "candidate_regions" in values:
        regions = values["candidate_regions"]
        _require(
            isinstance(regions, list) and all(isinstance(r, str) for r in regions),
            f"candidate_regions must be a list of GCP region names, got {regions!r}",
        )
        _check_regions("candidate_regions", regions)
    if "baseline_region" in values:
        _check_baseline(values["baseline_region"])
    if values.get("residency"):
        _require(
            values["residency"] in RESIDENCY_GROUPS,
            f"residency {values['residency']!r} is not allowed; allowed: empty (any) or "
            f"{', '.join(RESIDENCY_GROUPS)}",
        )
    if "max_carbon_intensity" in values:
        cap = values["max_carbon_intensity"]
        _require(
            isinstance(cap, int | float) and 0 <= cap < 10_000,
            f"max_carbon_intensity must be 0 (no cap) or a positive gCO2e/kWh, got {cap!r}",
        )
    backend = values.get("backend")
    if backend is not None:
        _require(
            backend in BACKENDS,
            f"backend {backend!r} is not allowed; allowed: {', '.join(BACKENDS)}",
        )
    if "intensity_provider" in values:
        provider = values["intensity_provider"]
        _require(
            provider in PROVIDER_NAMES,
            f"intensity_provider {provider!r} is not allowed; allowed: {', '.join(PROVIDER_NAMES)}",
        )
    if values.get("intensity_provider") == "csv":
        _require(
            bool(str(values.get("intensity_csv", "")).strip()),
            "intensity_provider 'csv' needs intensity_csv: a path or gs:// URI of a CSV with "
            "columns datetime, region, carbon_intensity",
        )
    if values.get("planned_start_utc"):
        from carbon_aware.footprint.intensity_window import parse_utc

        text = str(values["planned_start_utc"])
        try:
            parse_utc(text)
        except ValueError:
            raise ParameterError(
                f"planned_start_utc {text!r} must be empty or ISO 8601 with a UTC offset"
            ) from None
    if "planned_carbon_intensity" in values:
        planned = values["planned_carbon_intensity"]
        _require(
            isinstance(planned, int | float) and 0 <= planned < 10_000,
            f"planned_carbon_intensity must be 0 (no plan) or a positive gCO2e/kWh, "
            f"got {planned!r}",
        )
    if "epochs" in values:
        epochs = values["epochs"]
        low, high = EPOCHS_RANGE
        _require(
            isinstance(epochs, int) and low <= epochs <= high,
            f"epochs must be an integer from {low} to {high}, got {epochs!r}",
        )
    _validate_training(values)
    if "pue" in values:
        pue = values["pue"]
        _require(
            isinstance(pue, int | float) and (pue == 0 or 1.0 <= pue <= 3.0),
            f"pue must be 0 (use Google's published PUE) or from 1.0 to 3.0, got {pue!r}",
        )
    if "label_column" in values:
        _require(
            bool(str(values["label_column"]).strip()),
            "label_column must name the CSV column holding the class label",
        )
    if values.get("api_key_secret"):
        from carbon_aware.intensity.secrets import validate_secret_name

        validate_secret_name(str(values["api_key_secret"]))
    if "dedupe" in values:
        dedupe = str(values["dedupe"])
        _require(
            dedupe in ("", "none", "exact")
            or (dedupe.startswith("key:") and bool(dedupe[4:].strip())),
            f"dedupe {dedupe!r} is not allowed; allowed: none, exact, key:COLUMN",
        )
    if "functional_unit" in values:
        from carbon_aware.footprint.calculation import FUNCTIONAL_UNITS

        _require(
            values["functional_unit"] in FUNCTIONAL_UNITS,
            f"functional_unit {values['functional_unit']!r} is not allowed; allowed: "
            f"{', '.join(FUNCTIONAL_UNITS)}",
        )
    if "predictions_served" in values:
        served = values["predictions_served"]
        _require(
            isinstance(served, int) and served > 0,
            f"predictions_served must be a positive integer, got {served!r}",
        )
    if values.get("carbon_footprint_table"):
        from carbon_aware.history.queries import validate_table

        validate_table(str(values["carbon_footprint_table"]))
    if "machine_type" in values:
        validate_machine_type(values["machine_type"])
    if "accelerator_type" in values or "accelerator_count" in values:
        normalise_accelerator(
            values.get("accelerator_type", ""), int(values.get("accelerator_count", 0))
        )
        if "machine_type" in values:
            check_machine_accelerator(
                str(values["machine_type"]),
                str(values.get("accelerator_type", "")),
                int(values.get("accelerator_count", 0)),
            )
    if "start_within_hours" in values or "expected_duration_hours" in values:
        from carbon_aware.planning.deferral import check_start_window

        check_start_window(
            float(values.get("start_within_hours", 0.0)),
            float(values.get("expected_duration_hours", 0.0)),
        )
    if backend == "vertex":
        _require(
            bool(values.get("project")),
            "project is empty: backend 'vertex' needs the Google Cloud project id to run the "
            "training job in",
        )
        validate_bucket_template(str(values.get("regional_bucket_template", "")))
    elif values.get("regional_bucket_template"):
        validate_bucket_template(str(values["regional_bucket_template"]))


# Checks that refuse, before fetch-intensity makes a request, what would otherwise fail only in
# a later step (or never be refused): errors name the parameter they came from.
SEED_RANGE = (0, 2**32 - 1)  # what NumPy and TensorFlow accept as a seed


def _check_regions(name: str, regions: list[str]) -> None:
    try:
        validate_regions(regions)
    except ValueError as err:
        raise ParameterError(f"{name}: {err}") from None


def _check_baseline(region: Any) -> None:
    _require(
        isinstance(region, str) and bool(region.strip()),
        f"baseline_region must be one GCP region id, got {region!r}",
    )
    _check_regions("baseline_region", [region])


def _validate_before_any_fetch(values: Mapping[str, Any]) -> None:
    if "seed" in values:
        seed = values["seed"]
        low, high = SEED_RANGE
        _require(
            isinstance(seed, int) and not isinstance(seed, bool) and low <= seed <= high,
            f"seed must be an integer from {low} to {high}, got {seed!r}",
        )
    if "machine_type" in values:
        from carbon_aware.measurement.energy import machine_shape

        # The energy estimate and the embodied share need the machine's shape: a type without
        # one would fail the train step after the fetch and the custom job had started.
        machine_shape(str(values["machine_type"]))
    if "candidate_regions" in values:
        from carbon_aware.preflight import check_region_constraints

        check_region_constraints(
            values["candidate_regions"],
            str(values.get("residency", "")),
            str(values.get("accelerator_type", "")),
            int(values.get("accelerator_count", 0)),
            machine_type=str(values.get("machine_type", "")),
        )
