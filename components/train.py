"""train: run the training program under Vertex AI's contract, measured; and gather a Vertex run.

``train`` is the local backend's step: the program runs as a subprocess of this step. On Vertex AI
the program runs as a custom job in the chosen region (GCPC's CustomTrainingJobOp, one or two
worker pools), and ``collect_training`` then gathers what its replicas wrote there. Both end in
the same run record, from the same functions.
"""

from typing import NamedTuple

from kfp.dsl import Model, Output


def train(
    training_command: list,
    training_image: str,
    training_package_uris: list,
    data_uri: str,
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    training_env: dict,
    training_timeout_hours: float,
    model: Output[Model],
) -> NamedTuple("TrainOutputs", model_uri=str, run_record_json=str):
    """Runs the training program on this machine while measuring the machine's energy.

    The program gets ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR``, ``AIP_TENSORBOARD_LOG_DIR``,
    ``AIP_TRAINING_DATA_URI``, ``CLUSTER_SPEC`` and ``TF_CONFIG`` as a one-replica Vertex AI job
    would, ``training_env`` and the host's allow-listed variables (PATH, HOME, LANG, ...) but
    never the pipeline's credentials; a leading ``python`` is the interpreter running this step.

    Args:
        training_command: The program and its arguments (choose-region resolved the default).
        training_image: The image Vertex AI would run it in (recorded, not pulled).
        training_package_uris: Python packages; local ones are unpacked onto ``PYTHONPATH``
            (nothing is installed), ``gs://`` ones recorded.
        data_uri: The training data, passed on as ``AIP_TRAINING_DATA_URI``.
        region: The chosen region (recorded with the energy).
        machine_type: Machine type, for the energy estimate when it cannot be measured.
        accelerator_type: Accelerator type (Vertex enum name), for the record and estimate.
        accelerator_count: Accelerators, for the record and the estimate.
        training_env: ``NAME: value`` variables the user passes to the program.
        training_timeout_hours: The program is stopped (its process group) after this long.
        model: The run's output directory; the model is in its ``model/`` folder.

    Returns:
        model_uri: ``AIP_MODEL_DIR``, where the program wrote its model and metrics.json.
        run_record_json: The run record: times, machine, energy per replica and summed, metrics.
    """
    import json

    from carbon_aware.parameters import integral
    from carbon_aware.training.local import train_locally
    from carbon_aware.training.runner import MachineSpec

    record = train_locally(
        model.path,
        training_command=list(training_command),
        training_image=training_image,
        package_uris=list(training_package_uris),
        data_uri=data_uri,
        region=region,
        machine=MachineSpec(machine_type, accelerator_type, integral(accelerator_count)),
        training_env=dict(training_env),
        training_timeout_hours=training_timeout_hours,
    )
    model.metadata["energy_kwh"] = record["energy"]["total_kwh"]
    return (record["training"]["model_dir"], json.dumps(record, sort_keys=True))


def collect_training(
    gcp_resources: str,
    base_output_directory: str,
    training_command: list,
    training_image: str,
    training_package_uris: list,
    data_uri: str,
    region: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    worker_replica_count: int,
    model: Output[Model],
) -> NamedTuple("TrainOutputs", model_uri=str, run_record_json=str):
    """Gathers the Vertex AI custom job's replicas from the chosen region's bucket.

    Args:
        gcp_resources: The custom job's resource (GCPC's ``gcp_resources`` JSON).
        base_output_directory: The job's output directory in the chosen region's bucket.
        training_command: The program the job ran.
        training_image: The image the job ran.
        training_package_uris: The Python packages Vertex installed for it (recorded).
        data_uri: The training data (its bucket's location is recorded).
        region: The region the job ran in.
        machine_type: Machine type of every replica.
        accelerator_type: Accelerator type of every replica.
        accelerator_count: Accelerators per replica.
        worker_replica_count: Replicas of the second worker pool.
        model: Points at the model in the chosen region's bucket (it is not copied).

    Returns:
        model_uri: ``AIP_MODEL_DIR`` of the job.
        run_record_json: The run record, every replica counted.
    """
    import json

    from carbon_aware.parameters import integral
    from carbon_aware.training.collect import collect_run
    from carbon_aware.training.contract import OutputLayout
    from carbon_aware.training.job_window import custom_job_window
    from carbon_aware.training.runner import MachineSpec

    resources = json.loads(gcp_resources or "{}").get("resources") or [{}]
    layout = OutputLayout(base_output_directory)
    job_resource = str(resources[0].get("resourceUri", ""))
    record = collect_run(
        layout,
        region=region,
        machine=MachineSpec(machine_type, accelerator_type, integral(accelerator_count)),
        worker_replica_count=integral(worker_replica_count),
        training_command=list(training_command),
        training_image=training_image,
        package_uris=list(training_package_uris),
        data_uri=data_uri,
        backend="vertex",
        job_resource=job_resource,
        job_window=lambda: custom_job_window(job_resource),
    )
    model.uri = layout.model_dir
    model.metadata["energy_kwh"] = record["energy"]["total_kwh"]
    return (layout.model_dir, json.dumps(record, sort_keys=True))
