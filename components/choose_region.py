"""choose-region: the lowest-carbon candidate, and the Vertex job settings for it."""

from typing import NamedTuple

from kfp.dsl import Artifact, Input, Output


def choose_region(
    intensity: Input[Artifact],
    candidate_regions: list,
    baseline_region: str,
    residency: str,
    max_carbon_intensity: float,
    backend: str,
    project: str,
    regional_bucket_template: str,
    machine_type: str,
    accelerator_type: str,
    accelerator_count: int,
    epochs: int,
    seed: int,
    data_uri: str,
    label_column: str,
    dedupe: str,
    keep_columns: str,
    mixed_precision: bool,
    export_compressed: bool,
    training_command: list,
    training_image: str,
    training_package_uris: list,
    training_python_module: str,
    training_env: dict,
    training_timeout_hours: float,
    project_image: str,
    worker_replica_count: int,
    quality_metric: str,
    min_quality: float,
    pue: float,
    functional_unit: str,
    predictions_served: int,
    carbon_footprint_table: str,
    run_id: str,
    decision: Output[Artifact],
) -> NamedTuple(
    "RegionChoice",
    region=str,
    carbon_intensity_gco2e_per_kwh=float,
    intensity_source=str,
    base_output_directory=str,
    accelerator_type=str,
    accelerator_count=int,
    training_command=list,
    training_image=str,
    worker_pool_specs=list,
    job_timeout=str,
):
    """Checks the run's parameters, then picks the lowest-intensity region meeting the constraints.

    Constraints: the residency group (of the region, and of ``gs://`` training data), the
    accelerator being offered for Vertex AI training in the region (every worker pool uses the
    chief's machine), and the intensity cap. Every region left out is listed in the decision with
    its reason. For ``vertex`` it also builds the custom job's worker pools as one typed value.

    Args:
        intensity: fetch-intensity's snapshot.
        candidate_regions: GCP regions the training job may run in.
        baseline_region: The region savings are measured against.
        residency: Residency group the region must be in (``eu``, ``us``, ...); empty = any.
        max_carbon_intensity: Intensity cap in gCO2e/kWh; 0 = none.
        backend: ``vertex`` (custom job in the chosen region) or ``local`` (in-process).
        project: Google Cloud project for the Vertex custom job.
        regional_bucket_template: ``gs://`` bucket with a ``{region}`` placeholder.
        machine_type: Compute Engine machine type for training.
        accelerator_type: Vertex accelerator enum name, or empty for none.
        accelerator_count: Number of accelerators (0 with none).
        epochs: Bundled trainer: training epochs.
        seed: Bundled trainer: random seed.
        data_uri: Training data (gs:// data must be inside ``residency``).
        label_column: Bundled trainer: label column.
        dedupe: Bundled trainer: duplicate-row lever.
        keep_columns: Bundled trainer: feature-column lever.
        mixed_precision: Bundled trainer: mixed-precision lever.
        export_compressed: Bundled trainer: TFLite export lever.
        training_command: The user's program and arguments; empty = the bundled trainer.
        training_image: The user's image; empty = ``project_image``.
        training_package_uris: ``gs://`` Python packages Vertex installs (with the module).
        training_python_module: The module to run from them, ``training_command`` its args.
        training_env: ``NAME: value`` variables for the program (checked; set in the pools).
        training_timeout_hours: How long the program may run (the job's scheduling.timeout).
        project_image: The project's own image (fixed when the pipeline is compiled).
        worker_replica_count: Replicas of the second worker pool (0 = the chief alone).
        quality_metric: The metrics key evaluate gates on (checked here).
        min_quality: The gate's floor (checked here).
        pue: Power usage effectiveness override (checked here, used by report-footprint).
        functional_unit: SCI functional unit (checked here, used by report-footprint).
        predictions_served: Predictions for the per-prediction SCI (checked here).
        carbon_footprint_table: BigQuery Carbon Footprint export table (checked here).
        run_id: The pipeline job id, to keep each run's outputs apart.
        decision: JSON decision: chosen region, baseline, full ranking, sources, fallbacks.

    Returns:
        region: The chosen GCP region (the custom job's location).
        carbon_intensity_gco2e_per_kwh: The chosen region's intensity.
        intensity_source: Where that figure came from.
        base_output_directory: The job's output directory in the chosen region's bucket.
        accelerator_type: Accelerator for the job's MachineSpec.
        accelerator_count: Accelerator count for the job's MachineSpec.
        training_command: The command that will run (the bundled trainer's when none is given).
        training_image: The image it runs in.
        worker_pool_specs: The custom job's worker pools (empty for ``local``).
        job_timeout: ``training_timeout_hours`` as the job's ``scheduling.timeout`` (``"259200s"``).
    """
    from carbon_aware.decision import choose_region as decide
    from carbon_aware.intensity import IntensitySnapshot
    from carbon_aware.parameters import integral, validate_run_parameters
    from carbon_aware.planning.constraints import Constraints
    from carbon_aware.training.binding import fill_model_dir
    from carbon_aware.training.contract import (
        OutputLayout,
        bundled_training_command,
        validate_training_env,
        vertex_timeout,
    )
    from carbon_aware.training.data_location import check_data_residency
    from carbon_aware.training.job_spec import worker_pool_specs as build_pools
    from carbon_aware.training.package import module_command
    from carbon_aware.vertex import base_output_directory, normalise_accelerator

    accelerator_count, epochs, seed, worker_replica_count, predictions_served = (
        integral(value)
        for value in (accelerator_count, epochs, seed, worker_replica_count, predictions_served)
    )
    validate_run_parameters(
        {
            "candidate_regions": candidate_regions,
            "baseline_region": baseline_region,
            "residency": residency,
            "max_carbon_intensity": max_carbon_intensity,
            "backend": backend,
            "project": project,
            "regional_bucket_template": regional_bucket_template,
            "machine_type": machine_type,
            "accelerator_type": accelerator_type,
            "accelerator_count": accelerator_count,
            "epochs": epochs,
            "seed": seed,
            "label_column": label_column,
            "dedupe": dedupe,
            "training_command": training_command,
            "training_image": training_image,
            "training_package_uris": training_package_uris,
            "training_python_module": training_python_module,
            "training_env": training_env,
            "training_timeout_hours": training_timeout_hours,
            "worker_replica_count": worker_replica_count,
            "quality_metric": quality_metric,
            "min_quality": min_quality,
            "pue": pue,
            "functional_unit": functional_unit,
            "predictions_served": predictions_served,
            "carbon_footprint_table": carbon_footprint_table,
        }
    )
    check_data_residency(data_uri, residency)
    with open(intensity.path, encoding="utf-8") as handle:
        snapshot = IntensitySnapshot.from_json(handle.read())
    constraints = Constraints(
        residency=residency or None,
        accelerator_type=accelerator_type or None,
        accelerator_count=max(accelerator_count, 1),
        max_carbon_intensity=max_carbon_intensity or None,
        machine_type=machine_type or None,
    )
    chosen = decide(snapshot, candidate_regions, baseline_region, constraints)
    with open(decision.path, "w", encoding="utf-8") as handle:
        handle.write(chosen.to_json())
    decision.metadata["region"] = chosen.region
    decision.metadata["fallback_regions"] = list(chosen.fallback_regions)
    output_dir = (
        base_output_directory(regional_bucket_template, chosen.region, run_id)
        if backend == "vertex"
        else ""
    )
    accelerator = normalise_accelerator(accelerator_type, accelerator_count)
    command = (
        module_command(training_python_module, training_command)
        if training_python_module
        else list(training_command)
        or bundled_training_command(
            data_uri=data_uri,
            label_column=label_column,
            epochs=epochs,
            seed=seed,
            dedupe=dedupe,
            keep_columns=keep_columns,
            mixed_precision=mixed_precision,
            export_compressed=export_compressed,
        )
    )
    image = training_image or project_image
    # A component's command names its outputs in AIP_MODEL_DIR: the job's, in the chosen region.
    command = fill_model_dir(command, OutputLayout(output_dir).model_dir) if output_dir else command
    pools = (
        build_pools(
            image=image,
            command=list(training_command) if training_python_module else command,
            region=chosen.region,
            machine_type=machine_type,
            accelerator_type=accelerator.accelerator_type,
            accelerator_count=accelerator.accelerator_count,
            worker_replica_count=worker_replica_count,
            layout=OutputLayout(output_dir),
            data_uri=data_uri,
            package_uris=list(training_package_uris),
            python_module=training_python_module,
            env=validate_training_env(training_env),
        )
        if backend == "vertex"
        else []
    )
    return (
        chosen.region,
        chosen.gco2e_per_kwh,
        f"{chosen.source} ({chosen.kind})",
        output_dir,
        accelerator.accelerator_type,
        accelerator.accelerator_count,
        command,
        image,
        pools,
        vertex_timeout(training_timeout_hours),
    )
