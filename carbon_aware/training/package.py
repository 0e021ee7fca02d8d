"""Python-package training: a source distribution run as a module, as Vertex AI runs it.

On Vertex AI a worker pool with ``python_package_spec`` {``executor_image_uri``, ``package_uris``,
``python_module``, ``args``} runs on one of Google's prebuilt training containers (the API
requires one: "You must use an image from this list", PythonPackageSpec.executor_image_uri,
https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec#pythonpackagespec). The
service pip-installs every package URI into the container, then runs
``python -m <python_module> <args…>``; no ``command`` can be given, so nothing can wrap the module
in a shell. Hence two forms of the pool:

- measured: when one of the package URIs is this project's own distribution
  (``carbon_aware_vertex-<version>…``), Vertex installs it with the user's package and the pool
  runs ``python -m carbon_aware.training.job [options] -- python -m <module> <args…>``: the same
  entrypoint as the container path, which measures the replica and writes its record;
- estimated: otherwise the module runs as given and nothing inside the job records it;
  ``collect-training`` then estimates each replica's energy from the machine spec and the custom
  job's own start and end times (read from Vertex AI), and the record says so.

Locally nothing is installed: a local ``.tar.gz``/``.zip`` source distribution is unpacked under
the run's output directory and its root (and ``src/``) put on ``PYTHONPATH``, a local ``.whl`` is
put there as it is (zipimport); a ``gs://`` package is not fetched, so the module must then be
importable here. The module runs as a subprocess, ``python -m <module> <args…>``.
"""

from __future__ import annotations

import importlib.util
import re
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carbon_aware.training.contract import ContractError, is_prebuilt_training_image

# The entrypoint module the measured form runs (the same one the container path uses).
JOB_MODULE = "carbon_aware.training.job"
# PythonPackageSpec.package_uris: "The maximum number of package URIs is 100".
MAX_PACKAGE_URIS = 100
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_GCS_PACKAGE = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]/[^\s]+")
_PACKAGE_SUFFIXES = (".tar.gz", ".zip", ".whl")
# This project's own distribution, as setuptools names its sdist and wheel files.
_OWN_DISTRIBUTION = re.compile(r"carbon[_-]aware[_-]vertex-[^/]+")
# A first element that is a program, not an argument of the module.
_PROGRAM = re.compile(r"(?:python(?:3(?:\.\d+)?)?|sh|bash|[^\s]*\.py)")


def validate_package_uris(uris: Any) -> list[str]:
    """Checks ``training_package_uris``: a list of package files (``.tar.gz``, ``.zip``, ``.whl``).

    Raises:
        ContractError: Not a list of strings, too many, or a file that is not a package.
    """
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        raise ContractError(
            "training_package_uris must be a list of source distributions such as "
            f'["gs://my-bucket/trainer-0.1.tar.gz"] (empty = none), got {uris!r}'
        )
    if len(uris) > MAX_PACKAGE_URIS:
        raise ContractError(
            f"training_package_uris holds {len(uris)} packages; Vertex AI takes at most "
            f"{MAX_PACKAGE_URIS}"
        )
    for uri in uris:
        if not uri.endswith(_PACKAGE_SUFFIXES) or not uri.strip() == uri:
            raise ContractError(
                f"training_package_uris: {uri!r} is not a Python package file; allowed: "
                f"{', '.join(_PACKAGE_SUFFIXES)} (a source distribution from `python -m build "
                "--sdist`, or a wheel)"
            )
    return list(uris)


def validate_python_module(name: Any) -> str:
    """Checks ``training_python_module``: empty or a dotted module name such as ``trainer.task``.

    Raises:
        ContractError: Not a dotted Python module name.
    """
    if not isinstance(name, str) or (name and not _MODULE.fullmatch(name)):
        raise ContractError(
            "training_python_module must be empty or a dotted Python module name such as "
            f"trainer.task, got {name!r}"
        )
    return name


def check_combination(
    *,
    package_uris: Sequence[str],
    python_module: str,
    training_command: Sequence[str],
    training_image: str,
    backend: str,
) -> None:
    """Refuses the combinations Vertex AI (or a local run) cannot run, naming the parameters.

    Raises:
        ContractError: A package without a module; on ``vertex`` a module without a package, a
            package outside Cloud Storage, or an image that is not a prebuilt training
            container; a ``training_command`` that starts with a program when a module is given.
    """
    if package_uris and not python_module:
        raise ContractError(
            f"training_package_uris {list(package_uris)!r} needs training_python_module: the "
            "module to run after installing them, e.g. trainer.task"
        )
    if not python_module:
        return
    if training_command and _PROGRAM.fullmatch(training_command[0]):
        raise ContractError(
            f"training_command {list(training_command)!r} starts with the program "
            f"{training_command[0]!r}, but with training_python_module {python_module!r} its "
            'elements are the module\'s arguments only (e.g. ["--epochs", "3"])'
        )
    if backend != "vertex":
        return
    if not package_uris:
        raise ContractError(
            f"training_python_module {python_module!r} needs training_package_uris on backend "
            "'vertex': Vertex AI installs the module from them (python_package_spec)"
        )
    for uri in package_uris:
        if not _GCS_PACKAGE.fullmatch(uri):
            raise ContractError(
                f"training_package_uris: {uri!r} is not a gs:// URI; a Vertex AI job installs "
                "packages from Cloud Storage only (upload it with `gcloud storage cp`)"
            )
    if not is_prebuilt_training_image(training_image):
        raise ContractError(
            f"training_image {training_image!r} is not one of Google's prebuilt training "
            "containers, which Vertex AI requires to run training_package_uris; use e.g. "
            "us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest "
            "(europe-docker.pkg.dev or asia-docker.pkg.dev for the same image nearer)"
        )


def module_command(python_module: str, arguments: Sequence[str]) -> list[str]:
    """What runs: ``python -m <module> <arguments…>`` (as Vertex AI runs the package)."""
    return ["python", "-m", python_module, *arguments]


def ships_this_project(package_uris: Sequence[str]) -> bool:
    """Whether one of the packages is carbon-aware-vertex itself (so the replica can measure)."""
    return any(_OWN_DISTRIBUTION.fullmatch(uri.rsplit("/", 1)[-1]) for uri in package_uris)


def python_package_spec(
    *,
    executor_image_uri: str,
    package_uris: Sequence[str],
    python_module: str,
    arguments: Sequence[str],
    entrypoint_options: Sequence[str],
    data_uri: str = "",
) -> dict[str, Any]:
    """The worker pool's ``python_package_spec``, measured where this project is installed.

    Args:
        executor_image_uri: A prebuilt training container.
        package_uris: The ``gs://`` packages Vertex installs.
        python_module: The user's module.
        arguments: Its arguments.
        entrypoint_options: ``carbon_aware.training.job``'s options, for the measured form.
        data_uri: The training data: the entrypoint sets ``AIP_TRAINING_DATA_URI`` in the
            measured form; in the other, the spec's ``env`` does.
    """
    spec: dict[str, Any] = {
        "executor_image_uri": executor_image_uri,
        "package_uris": list(package_uris),
    }
    if ships_this_project(package_uris):
        spec["python_module"] = JOB_MODULE
        spec["args"] = [*entrypoint_options, "--", *module_command(python_module, arguments)]
    else:
        spec["python_module"] = python_module
        spec["args"] = list(arguments)
        if data_uri:
            spec["env"] = [{"name": "AIP_TRAINING_DATA_URI", "value": data_uri}]
    return spec


def local_pythonpath(package_uris: Sequence[str], unpack_dir: Path) -> list[str]:
    """The ``PYTHONPATH`` entries that make the local packages importable, installing nothing.

    ``gs://`` packages are skipped (a local run fetches nothing); the module must then be
    importable here.

    Raises:
        ContractError: A local package file that does not exist or cannot be unpacked.
    """
    entries: list[str] = []
    for uri in package_uris:
        if uri.startswith("gs://"):
            continue
        path = Path(uri)
        if not path.is_file():
            raise ContractError(f"training_package_uris: {uri!r} is not a file here")
        if uri.endswith(".whl"):
            entries.append(str(path.resolve()))
            continue
        target = unpack_dir / path.name.removesuffix(".tar.gz").removesuffix(".zip")
        try:
            if uri.endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    # zipfile drops absolute paths and ".." from member names.
                    archive.extractall(target)  # noqa: S202
            else:
                with tarfile.open(path, "r:gz") as archive:
                    archive.extractall(target, filter="data")
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as err:
            raise ContractError(
                f"training_package_uris: {uri!r} cannot be unpacked: {err}"
            ) from None
        # An sdist holds one top folder, <name>-<version>/, with the package at its root or in src/.
        for root in sorted(p for p in target.iterdir() if p.is_dir()) or [target]:
            entries += [str(root / "src"), str(root)] if (root / "src").is_dir() else [str(root)]
    return entries


def check_module_importable(python_module: str, package_uris: Sequence[str]) -> None:
    """For a local run: the module must be importable here unless a local package provides it.

    Raises:
        ContractError: No local package and the module is not importable by this interpreter.
    """
    if any(not uri.startswith("gs://") for uri in package_uris):
        return
    try:
        found = importlib.util.find_spec(python_module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ContractError(
            f"training_python_module {python_module!r} is not importable here and "
            "training_package_uris has no local package providing it; a local run installs "
            "nothing (give a local .tar.gz path, or `pip install` it first)"
        )
