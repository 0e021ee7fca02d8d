"""Vertex AI's custom-training contract, as one description both backends use.

A training program gets ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR`` and ``AIP_TENSORBOARD_LOG_DIR``
(on Vertex AI set by the service from the job's ``base_output_directory``; locally directories of
the same names under the run's output directory), and for its data ``AIP_TRAINING_DATA_URI``. It
writes its model to ``AIP_MODEL_DIR`` and may write ``metrics.json`` there: a flat JSON object of
numbers, which the evaluate step publishes and gates on. Multi-replica jobs get ``CLUSTER_SPEC``
and ``TF_CONFIG`` from Vertex; a local run gets the one-machine form of both.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from carbon_aware.limits import MAX_DURATION_HOURS

METRICS_FILE = "metrics.json"
# Where each replica's energy and timing record goes, under the run's output directory.
RECORDS_FOLDER = "carbon-aware/replicas"
MAX_WORKER_REPLICAS = 1000
# An image reference with a registry host (a dot, a colon or localhost in the first part) and an
# explicit tag or digest: Vertex pulls exactly this, never an implicit ``:latest``.
_IMAGE = re.compile(
    r"(?P<host>[a-z0-9.-]+\.[a-z0-9.-]+(:\d+)?|localhost(:\d+)?)/"
    r"[a-z0-9._/-]+(?P<ref>:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
)
# Google's prebuilt containers for custom training, as Vertex AI publishes them: in the
# ``vertex-ai/training`` repository of the us, europe and asia Artifact Registry multi-regions, only
# under the mutable ``:latest`` tag ("Prebuilt containers for custom training",
# https://cloud.google.com/vertex-ai/docs/training/pre-built-containers, and its list in
# https://cloud.google.com/vertex-ai/docs/supported-frameworks-list, e.g.
# ``us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-14.py310:latest``; read 2026-12-06).
PREBUILT_TRAINING_IMAGE = re.compile(
    r"(?:us|europe|asia)-docker\.pkg\.dev/vertex-ai/training/[a-z0-9][a-z0-9._-]*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
)
_METRIC_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
# training_env: POSIX-style variable names, a bounded number of short values (they travel in the
# run's parameters and the custom job's container spec, both visible in the console).
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_TRAINING_ENV_VARIABLES = 100
MAX_TRAINING_ENV_VALUE_CHARS = 32 * 1024
# Names the contract sets itself, and credentials that must never reach the user's program (the
# intensity providers' keys, Google credentials): refused as training_env names.
_CONTRACT_ENV = re.compile(r"AIP_\w*|CLUSTER_SPEC|TF_CONFIG|CLOUD_ML_\w*")
_CREDENTIAL_ENV = re.compile(
    r"ELECTRICITY_MAPS_\w*|WATTTIME_\w*|GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_\w*CREDENTIALS\w*"
    r"|CLOUDSDK_\w*|GCE_METADATA_\w*|AWS_\w*|AZURE_\w*"
    r"|(?:\w*_)?(?:API_?KEY|PASSWORD|PASSWD|SECRET(?:_KEY)?|(?:ACCESS_|AUTH_)?TOKEN"
    r"|CREDENTIALS?|PRIVATE_KEY)",
    re.IGNORECASE,
)
# training_timeout_hours maps to the custom job's scheduling.timeout: at most Vertex AI's 14 days.
MAX_TRAINING_TIMEOUT_HOURS = MAX_DURATION_HOURS
DEFAULT_TRAINING_TIMEOUT_HOURS = 72


class ContractError(ValueError):
    """A training parameter or a program's output breaks the training contract."""


@dataclass(frozen=True)
class OutputLayout:
    """The directories of one training run, all under one root (the chosen region's bucket)."""

    root: str

    def _join(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    @property
    def model_dir(self) -> str:
        """``AIP_MODEL_DIR``: Vertex uses ``<base_output_directory>/model``."""
        return self._join("model")

    @property
    def checkpoint_dir(self) -> str:
        """``AIP_CHECKPOINT_DIR``: ``<base_output_directory>/checkpoints``."""
        return self._join("checkpoints")

    @property
    def tensorboard_log_dir(self) -> str:
        """``AIP_TENSORBOARD_LOG_DIR``: ``<base_output_directory>/logs``."""
        return self._join("logs")

    @property
    def records_dir(self) -> str:
        """Where each replica writes its energy and timing record."""
        return self._join(RECORDS_FOLDER)


def validate_training_command(command: Any) -> list[str]:
    """Checks ``training_command``: a list of non-empty strings (empty list = bundled trainer).

    Raises:
        ContractError: Not a list of strings, or holding an empty string.
    """
    if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
        raise ContractError(
            f"training_command must be a list of strings such as "
            f'["python", "train.py", "--epochs", "3"] (empty = the bundled trainer), '
            f"got {command!r}"
        )
    if any(not part.strip() for part in command):
        raise ContractError(
            f"training_command {command!r} holds an empty string; every element must be a "
            "program name or an argument"
        )
    if any("\x00" in part for part in command):
        raise ContractError(
            f"training_command {command!r} holds a NUL character; no program argument can"
        )
    return list(command)


def validate_training_env(env: Any) -> dict[str, str]:
    """Checks ``training_env``: a JSON object of ``NAME: value`` for the user's program.

    Values are strings (numbers and booleans are written as JSON writes them). Names the
    contract sets (``AIP_*``, ``CLUSTER_SPEC``, ...) and credential names (the intensity
    providers' keys, ``GOOGLE_APPLICATION_CREDENTIALS``, ``*_API_KEY``, ``*_TOKEN``, ...) are
    refused: the values are visible in the run's parameters, so secrets belong in Secret Manager.

    Raises:
        ContractError: Not an object, a bad or reserved name, or a value too long or with a NUL.
    """
    if not isinstance(env, dict):
        raise ContractError(
            f'training_env must be a JSON object of NAME: value, e.g. {{"LOG_LEVEL": "debug"}}, '
            f"got {env!r}"[:300]
        )
    if len(env) > MAX_TRAINING_ENV_VARIABLES:
        raise ContractError(
            f"training_env has {len(env)} variables; at most {MAX_TRAINING_ENV_VARIABLES} allowed"
        )
    checked: dict[str, str] = {}
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise ContractError(
                f"training_env name {name!r} is not a variable name (letters, digits and _, "
                "not starting with a digit, at most 128)"
            )
        if _CONTRACT_ENV.fullmatch(name):
            raise ContractError(
                f"training_env name {name!r} is set by the training contract itself; "
                "choose another name"
            )
        if _CREDENTIAL_ENV.fullmatch(name):
            raise ContractError(
                f"training_env name {name!r} looks like a credential; training_env is visible "
                "in the run's parameters: read secrets from Secret Manager in your program"
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float) and value == value and abs(value) != float("inf"):
            value = str(value)
        if not isinstance(value, str):
            raise ContractError(f"training_env {name!r} must be a string, got {value!r}"[:300])
        if "\x00" in value or len(value) > MAX_TRAINING_ENV_VALUE_CHARS:
            raise ContractError(
                f"training_env {name!r}: a value holds no NUL character and at most "
                f"{MAX_TRAINING_ENV_VALUE_CHARS} characters"
            )
        checked[name] = value
    return checked


def validate_training_timeout_hours(hours: Any) -> float:
    """Checks ``training_timeout_hours``: more than 0, at most 14 days (Vertex AI's maximum).

    Raises:
        ContractError: Not a finite number in that range.
    """
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not 0 < hours <= MAX_TRAINING_TIMEOUT_HOURS
    ):
        raise ContractError(
            f"training_timeout_hours must be a number of hours above 0 and at most "
            f"{MAX_TRAINING_TIMEOUT_HOURS} (14 days, Vertex AI's limit), got {hours!r}"
        )
    return float(hours)


def vertex_timeout(hours: float) -> str:
    """``training_timeout_hours`` as the custom job's ``scheduling.timeout``: ``"259200s"``."""
    return f"{round(validate_training_timeout_hours(hours) * 3600)}s"


def validate_training_image(image: Any) -> str:
    """Checks ``training_image``: empty (the project's image) or ``host/path:tag`` / ``@sha256:``.

    Raises:
        ContractError: Not a string, no registry host, no tag or digest, or tagged ``latest``.
    """
    if not isinstance(image, str):
        raise ContractError(f"training_image must be a string, got {image!r}")
    if not image:
        return image
    match = _IMAGE.fullmatch(image)
    if not match:
        raise ContractError(
            f"training_image {image!r} must be a full image reference with a registry host and "
            "an immutable tag or digest, e.g. europe-docker.pkg.dev/my-proj/train/model:3f2a1bc "
            "(empty = the project's image)"
        )
    if match.group("ref") == ":latest" and not is_prebuilt_training_image(image):
        raise ContractError(
            f"training_image {image!r} uses the mutable tag 'latest'; tag it with a version or "
            "a commit SHA, or give the digest (only Google's prebuilt training containers, "
            "{us,europe,asia}-docker.pkg.dev/vertex-ai/training/NAME:latest, are taken as "
            "published)"
        )
    return image


def is_prebuilt_training_image(image: str) -> bool:
    """Whether ``image`` is one of Google's prebuilt containers for custom training."""
    return PREBUILT_TRAINING_IMAGE.fullmatch(image) is not None


def image_tag_is_mutable(image: str) -> bool:
    """Whether ``image`` is tagged ``:latest``, a tag its publisher moves to new builds.

    Google's prebuilt training containers are published under ``:latest`` only, so a run on one
    may not be repeatable on the same image; the run record and the report say so.
    """
    return image.endswith(":latest") and "@" not in image


def validate_worker_replica_count(count: Any) -> int:
    """Checks ``worker_replica_count``: an integer from 0 (chief only) to 1000.

    Raises:
        ContractError: Not an integer in that range.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
        raise ContractError(
            f"worker_replica_count must be an integer from 0 (the chief alone) to "
            f"{MAX_WORKER_REPLICAS}, got {count!r}"
        )
    return count


def validate_quality_metric(name: Any) -> str:
    """Checks ``quality_metric``: a key such as ``accuracy`` or ``val_auc``.

    Raises:
        ContractError: Empty or not a plain key.
    """
    if not isinstance(name, str) or not _METRIC_KEY.fullmatch(name):
        raise ContractError(
            f"quality_metric must be a key of metrics.json (letters, digits, _ . -; e.g. "
            f"accuracy), got {name!r}"
        )
    return name


def validate_min_quality(value: Any) -> float:
    """Checks ``min_quality``: a finite number.

    Raises:
        ContractError: Not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ContractError(f"min_quality must be a number (the metric's floor), got {value!r}")
    return float(value)


def bundled_training_command(
    *,
    data_uri: str,
    label_column: str,
    epochs: int,
    seed: int,
    dedupe: str,
    keep_columns: str,
    mixed_precision: bool,
    export_compressed: bool,
) -> list[str]:
    """The bundled Keras trainer as a contract program (``python -m carbon_aware.trainer.task``).

    It writes to ``$AIP_MODEL_DIR`` by default, so no output flag is needed.
    """
    command = [
        "python",
        "-m",
        "carbon_aware.trainer.task",
        "--label-column",
        label_column,
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--dedupe",
        dedupe or "none",
    ]
    if data_uri:
        command += ["--data-uri", data_uri]
    if keep_columns:
        command += ["--keep-columns", keep_columns]
    if mixed_precision:
        command.append("--mixed-precision")
    if export_compressed:
        command.append("--export-compressed")
    return command


# The module a lightweight KFP component's command runs (kfp.dsl.component_factory.EXECUTOR_MODULE).
KFP_EXECUTOR_MODULE = "kfp.dsl.executor_main"
_BARE_PYTHON3 = re.compile(r"(?<![\w/.-])python3(?![\w.-])")


def local_command(command: Sequence[str], python: str = sys.executable) -> list[str]:
    """The command as a local run executes it: a leading ``python`` is this interpreter.

    So a script run by the local pipeline sees the same packages as the pipeline itself.
    """
    parts = list(command)
    if any(KFP_EXECUTOR_MODULE in part for part in parts):
        # A lightweight KFP component: `python3` in its shell lines is this interpreter, as
        # kfp.local's SubprocessRunner runs it (the embedded user code is left alone).
        code = next(
            (
                i + 1
                for i, part in enumerate(parts)
                if '"$program_path/ephemeral_component.py"' in part
            ),
            None,
        )
        return [
            part if i == code else _BARE_PYTHON3.sub(python, part) for i, part in enumerate(parts)
        ]
    if parts and parts[0] in ("python", "python3"):
        parts[0] = python
    return parts


def single_machine_cluster_env() -> dict[str, str]:
    """``CLUSTER_SPEC`` and ``TF_CONFIG`` as Vertex AI gives a one-replica job."""
    cluster_spec = {
        "cluster": {"workerpool0": ["localhost:2222"]},
        "environment": "cloud",
        "task": {"type": "workerpool0", "index": 0},
    }
    tf_config = {
        "cluster": {"chief": ["localhost:2222"]},
        "environment": "cloud",
        "task": {"type": "chief", "index": 0},
    }
    return {"CLUSTER_SPEC": json.dumps(cluster_spec), "TF_CONFIG": json.dumps(tf_config)}


def replica_identity(environ: Mapping[str, str]) -> str:
    """``workerpool0-0``, ``workerpool1-3``, …: which replica this is, from ``CLUSTER_SPEC``."""
    try:
        task = json.loads(environ.get("CLUSTER_SPEC", ""))["task"]
        return f"{task['type']}-{int(task['index'])}"
    except (ValueError, KeyError, TypeError):
        return "workerpool0-0"


def contract_env(layout: OutputLayout, data_uri: str) -> dict[str, str]:
    """The ``AIP_*`` variables a program gets for ``layout`` (as Vertex sets them)."""
    env = {
        "AIP_MODEL_DIR": layout.model_dir,
        "AIP_CHECKPOINT_DIR": layout.checkpoint_dir,
        "AIP_TENSORBOARD_LOG_DIR": layout.tensorboard_log_dir,
    }
    if data_uri:
        env["AIP_TRAINING_DATA_URI"] = data_uri
    return env


def parse_metrics(text: str, source: str) -> dict[str, float]:
    """Reads ``metrics.json``: a flat JSON object of finite numbers.

    Raises:
        ContractError: Not JSON, not an object, or a value that is not a finite number
            (``NaN``, ``Infinity``, ``1e999`` and integers beyond a double's range are refused,
            naming the metric and ``source``).
    """

    def refuse_constant(name: str) -> Any:
        raise ContractError(
            f"{source} holds {name}; metrics.json holds finite numbers only (a broken model "
            "must not pass the quality gate)"
        )

    try:
        data = json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as err:
        raise ContractError(f"{source} is not JSON: {err}") from None
    except ValueError as err:  # an integer beyond Python's digit limit
        raise ContractError(f"{source} holds a number that cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{source} must be a JSON object of numbers, got {type(data).__name__}")
    metrics: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(
                f"{source}: metric {key!r} is {value!r}; metrics.json holds numbers only"[:400]
            )
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not math.isfinite(number):
            shown = (
                str(value)
                if isinstance(value, float)
                else f"an integer of {len(str(value))} digits"
            )
            raise ContractError(
                f"{source}: metric {key!r} is {shown}, not a finite number; metrics.json holds "
                "finite numbers only"
            )
        metrics[str(key)] = number
    return metrics
