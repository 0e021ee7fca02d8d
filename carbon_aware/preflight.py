"""Checks made before a run starts that look past single values: constraints, files, keys, data.

:mod:`carbon_aware.parameters` checks each value on its own. These checks need more: the region
catalogue (constraints that leave no region whatever the intensity), this machine's files and
environment (``run-local``), or what a Vertex AI step will and will not see (``submit``). All of
them run before fetch-intensity makes a request, so a run that cannot succeed costs no fetch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carbon_aware.inputs import existing_file
from carbon_aware.intensity.secrets import (
    ELECTRICITY_MAPS_KEY_ENV,
    WATTTIME_PASSWORD_ENV,
    WATTTIME_USERNAME_ENV,
)
from carbon_aware.planning.constraints import Constraints, no_region_left, static_exclusions

# What each live provider reads from the environment when api_key_secret is empty.
PROVIDER_ENV: dict[str, tuple[str, ...]] = {
    "electricitymaps": (ELECTRICITY_MAPS_KEY_ENV,),
    "watttime": (WATTTIME_USERNAME_ENV, WATTTIME_PASSWORD_ENV),
}
# Paths a Vertex AI step can read besides gs:// URIs: the Cloud Storage FUSE mount.
_VERTEX_READABLE_PREFIXES = ("gs://", "/gcs/")


def check_region_constraints(
    candidate_regions: Sequence[str],
    residency: str,
    accelerator_type: str,
    accelerator_count: int,
    machine_type: str = "",
) -> None:
    """Refuses constraints that leave no candidate region, whatever the intensities.

    Residency, accelerator and machine-family availability come from the region and machine
    catalogues, so they can be checked before any intensity is fetched; the intensity cap cannot.

    Args:
        candidate_regions: The ``candidate_regions`` parameter.
        residency: The ``residency`` parameter (empty: any).
        accelerator_type: The ``accelerator_type`` parameter (empty: none).
        accelerator_count: The ``accelerator_count`` parameter.
        machine_type: The ``machine_type`` parameter (empty: not checked).

    Raises:
        ValueError: Naming each constraint and the regions it excluded.
    """
    constraints = Constraints(
        residency=residency or None,
        accelerator_type=accelerator_type or None,
        accelerator_count=max(accelerator_count, 1),
        machine_type=machine_type or None,
    )
    if (
        constraints.residency is None
        and constraints.accelerator_type is None
        and constraints.machine_type is None
    ):
        return
    constraints.validate()
    kept, excluded, _ = static_exclusions(list(candidate_regions), constraints)
    if not kept:
        raise no_region_left(excluded, constraints)


def check_provider_credentials(
    provider: str, api_key_secret: str, environ: Mapping[str, str], *, on_vertex: bool
) -> None:
    """Refuses a live provider with no key to call it with.

    Args:
        provider: The ``intensity_provider`` parameter.
        api_key_secret: The ``api_key_secret`` parameter (a Secret Manager name, or empty).
        environ: The environment the fetch-intensity step will see.
        on_vertex: The step runs on Vertex AI, where this machine's environment is not passed.

    Raises:
        ValueError: Naming the provider, ``api_key_secret`` and the variables looked for.
    """
    names = PROVIDER_ENV.get(provider)
    if names is None or api_key_secret.strip():
        return
    if on_vertex:
        raise ValueError(
            f"intensity_provider {provider!r} needs api_key_secret on Vertex AI: the name of a "
            "Secret Manager version holding the key (projects/P/secrets/S/versions/latest); "
            f"the pipeline's steps do not see {', '.join(names)} from this machine"
        )
    missing = [name for name in names if not environ.get(name, "").strip()]
    if missing:
        raise ValueError(
            f"intensity_provider {provider!r} needs a key: set {', '.join(missing)} or "
            "api_key_secret (projects/P/secrets/S/versions/latest); or use intensity_provider "
            "'static'"
        )


def check_training_data(data_uri: str, label_column: str, dedupe: str, keep_columns: str) -> None:
    """Runs the bundled trainer's own data checks (``--check-only``), before any run starts.

    The bundled trainer is a program like any other, so its checks stay in it: this runs
    ``python -m carbon_aware.trainer.task --check-only`` with the run's arguments (the file
    exists and parses, the label column is there, there are enough rows and classes,
    ``dedupe=key:`` and ``keep_columns`` name real columns) and reports its one-line error.

    Args:
        data_uri: The ``data_uri`` parameter (local path, ``gs://`` URI, or empty: bundled).
        label_column: The ``label_column`` parameter.
        dedupe: The ``dedupe`` parameter.
        keep_columns: The ``keep_columns`` parameter.

    Raises:
        ValueError: Naming the parameter and what is wrong with the data.
    """
    import subprocess

    from carbon_aware.training.contract import bundled_training_command, local_command

    command = bundled_training_command(
        data_uri=data_uri,
        label_column=label_column,
        epochs=1,
        seed=0,
        dedupe=dedupe,
        keep_columns=keep_columns,
        mixed_precision=False,
        export_compressed=False,
    )
    done = subprocess.run(
        [*local_command(command), "--check-only"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        message = lines[-1] if lines else f"exit status {done.returncode}"
        message = message.removeprefix("error: ")
        raise ValueError(f"the bundled trainer's data checks failed: {message}")


def check_local_inputs(values: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """The checks ``run-local`` makes on top of the parameter checks: files, keys, data.

    Args:
        values: Every parameter of the run (template defaults included).
        environ: This machine's environment (the local steps inherit it).

    Raises:
        ValueError: A missing intensity CSV, a live provider without a key, or unusable data.
    """
    provider = str(values.get("intensity_provider", ""))
    csv_uri = str(values.get("intensity_csv", ""))
    if provider == "csv" and not csv_uri.startswith("gs://"):
        existing_file(csv_uri, "intensity_csv")
    check_provider_credentials(
        provider, str(values.get("api_key_secret", "")), environ, on_vertex=False
    )
    from carbon_aware.training.data_location import check_data_residency

    check_data_residency(str(values.get("data_uri", "")), str(values.get("residency", "")))
    if values.get("training_command"):
        check_training_program(list(values["training_command"]), environ)
    # Only the bundled trainer reads a labelled CSV; a user's program reads its data its own way.
    if values.get("training_python_module"):
        from carbon_aware.training.package import check_module_importable

        check_module_importable(
            str(values["training_python_module"]), list(values.get("training_package_uris") or [])
        )
    if (
        "label_column" in values
        and not values.get("training_command")
        and not values.get("training_python_module")
    ):
        check_training_data(
            str(values.get("data_uri", "")),
            str(values["label_column"]),
            str(values.get("dedupe", "none")),
            str(values.get("keep_columns", "")),
        )


def check_training_program(command: Sequence[str], environ: Mapping[str, str]) -> None:
    """Refuses a local ``training_command`` whose program (or Python script) does not exist.

    A leading ``python`` is the interpreter running the pipeline; its script, when the next
    argument is a ``.py`` path, must be a file. Any other program must be an executable file
    (a path) or found on ``PATH``. On Vertex AI the program lives in the training image, which
    this machine cannot see: ``submit`` does not check it.

    Raises:
        ValueError: Naming the program and where it was looked for.
    """
    import os
    import shutil

    program = command[0]
    if program in ("python", "python3"):
        script = command[1] if len(command) > 1 else ""
        if script.endswith(".py") and not os.path.isfile(script):
            raise ValueError(
                f"training_command runs the script {script!r}, which is not a file here "
                f"(relative to {os.getcwd()!r})"
            )
        return
    if "/" in program:
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise ValueError(f"training_command program {program!r} is not an executable file here")
        return
    if shutil.which(program, path=environ.get("PATH", "")) is None:
        raise ValueError(
            f"training_command program {program!r} is not on PATH; give its path, or "
            '["python", "script.py", ...] for a Python script'
        )


def check_vertex_inputs(values: Mapping[str, Any]) -> None:
    """The checks ``submit`` makes on top of the parameter checks, without reading any data.

    A Vertex AI step sees neither this machine's files nor its environment: data and intensity
    files must be in Cloud Storage, and a live provider's key in Secret Manager.

    Args:
        values: Every parameter of the run (template defaults included).

    Raises:
        ValueError: A local path for ``data_uri`` or ``intensity_csv``, or a live provider
            without ``api_key_secret``.
    """
    provider = str(values.get("intensity_provider", ""))
    files = {"data_uri": str(values.get("data_uri", ""))}
    if provider == "csv":
        files["intensity_csv"] = str(values.get("intensity_csv", ""))
    for name, uri in files.items():
        if uri and not uri.startswith(_VERTEX_READABLE_PREFIXES):
            raise ValueError(
                f"{name} {uri!r} is a local path, which a Vertex AI step cannot read; upload "
                "the file and give its gs:// URI"
            )
    check_provider_credentials(provider, str(values.get("api_key_secret", "")), {}, on_vertex=True)
