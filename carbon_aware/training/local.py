"""The train step of a local run: the program as a subprocess, under Vertex AI's contract."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carbon_aware.training.binding import fill_model_dir
from carbon_aware.training.collect import collect_run
from carbon_aware.training.contract import (
    DEFAULT_TRAINING_TIMEOUT_HOURS,
    OutputLayout,
    contract_env,
    local_command,
    single_machine_cluster_env,
    validate_training_env,
    validate_training_timeout_hours,
)
from carbon_aware.training.package import local_pythonpath
from carbon_aware.training.runner import MachineSpec, run_replica

LOCAL_JOB_ID = "local"


def train_locally(
    output_root: str,
    *,
    training_command: list[str],
    training_image: str,
    data_uri: str,
    package_uris: list[str] | None = None,
    region: str,
    machine: MachineSpec,
    training_env: Mapping[str, str] | None = None,
    training_timeout_hours: float = DEFAULT_TRAINING_TIMEOUT_HOURS,
) -> dict[str, Any]:
    """Runs the training program once on this machine, as one Vertex replica would run.

    The program gets ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR`` and ``AIP_TENSORBOARD_LOG_DIR``
    under ``output_root``, the one-machine ``CLUSTER_SPEC``/``TF_CONFIG``, and
    ``CLOUD_ML_JOB_ID=local``; a leading ``python`` is this interpreter (in a lightweight KFP
    component's command, ``python3`` is, as kfp.local's SubprocessRunner runs it).
    Local ``package_uris`` are unpacked under ``output_root`` and put on ``PYTHONPATH``,
    installing nothing (see :mod:`carbon_aware.training.package`).
    The user's ``training_env`` and the host variables on
    :data:`~carbon_aware.training.runner.HOST_ENV_ALLOWLIST` (PATH, HOME, LANG, ...): nothing
    else of this environment, so the intensity providers' keys never reach it. It is stopped
    after ``training_timeout_hours``. A leading ``python`` is this interpreter.
    ``training_image`` is recorded, not pulled (there is no container runtime in a local run).

    Raises:
        carbon_aware.training.contract.ContractError: A bad ``training_env`` or timeout.

    Returns:
        The run record (see :func:`carbon_aware.training.collect.collect_run`).
    """
    user_env = validate_training_env(dict(training_env or {}))
    timeout_s = validate_training_timeout_hours(training_timeout_hours) * 3600
    layout = OutputLayout(output_root)
    for folder in (layout.model_dir, layout.checkpoint_dir, layout.tensorboard_log_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
    env = {
        **user_env,
        **contract_env(layout, data_uri),
        **single_machine_cluster_env(),
        "CLOUD_ML_JOB_ID": LOCAL_JOB_ID,
    }
    # A component's command names its outputs in AIP_MODEL_DIR, known only now.
    training_command = fill_model_dir(training_command, layout.model_dir)
    pythonpath = local_pythonpath(package_uris or [], Path(output_root) / "packages")
    if pythonpath:
        inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([*pythonpath, *inherited])
    run_replica(
        local_command(training_command),
        env=env,
        records_dir=layout.records_dir,
        replica="workerpool0-0",
        region=region,
        machine=machine,
        timeout_s=timeout_s,
    )
    return collect_run(
        layout,
        region=region,
        machine=machine,
        worker_replica_count=0,
        training_command=training_command,
        training_image=training_image,
        package_uris=package_uris or [],
        data_uri=data_uri,
        backend="local",
    )
