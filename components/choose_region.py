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
    label_column: str,
    min_accuracy: float,
    intensity_provider: str,
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
):
    """Checks the run's parameters, then picks the lowest-intensity region meeting the constraints.

    Constraints: the residency group, the accelerator being offered for Vertex AI training in the
    region, and the intensity cap. Every region left out is listed in the decision with its reason.

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
        epochs: Training epochs (checked here, used by train).
        label_column: Label column (checked here, used by train).
        min_accuracy: Accuracy floor (checked here, used by evaluate).
        intensity_provider: Provider name (already resolved by fetch-intensity, whose
            registry names the allowed ones; with ``csv`` its file is checked there too).
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
    """
    from carbon_aware.decision import choose_region as decide
    from carbon_aware.intensity import IntensitySnapshot
    from carbon_aware.parameters import validate_run_parameters
    from carbon_aware.planning.constraints import Constraints
    from carbon_aware.vertex import base_output_directory, normalise_accelerator

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
            "label_column": label_column,
            "min_accuracy": min_accuracy,
            "pue": pue,
            "functional_unit": functional_unit,
            "predictions_served": predictions_served,
            "carbon_footprint_table": carbon_footprint_table,
        }
    )
    with open(intensity.path, encoding="utf-8") as handle:
        snapshot = IntensitySnapshot.from_json(handle.read())
    constraints = Constraints(
        residency=residency or None,
        accelerator_type=accelerator_type or None,
        accelerator_count=max(accelerator_count, 1),
        max_carbon_intensity=max_carbon_intensity or None,
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
    return (
        chosen.region,
        chosen.gco2e_per_kwh,
        f"{chosen.source} ({chosen.kind})",
        output_dir,
        accelerator.accelerator_type,
        accelerator.accelerator_count,
    )
