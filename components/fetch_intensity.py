"""fetch-intensity: grid carbon intensity for every candidate region and the baseline."""

from kfp.dsl import Artifact, Output


def fetch_intensity(
    candidate_regions: list,
    baseline_region: str,
    intensity_provider: str,
    allow_fallback: bool,
    api_key_secret: str,
    intensity_csv: str,
    residency: str,
    accelerator_type: str,
    accelerator_count: int,
    intensity: Output[Artifact],
):
    """Fetches the grid carbon intensity of each candidate region and of the baseline region.

    Args:
        candidate_regions: GCP regions the training job may run in.
        baseline_region: The region savings are measured against.
        intensity_provider: Which provider to ask (``static``: Google's bundled annual averages).
        allow_fallback: Give a region the live provider cannot serve its static annual figure,
            labelled ``fallback``; when false the step fails naming the region and the cause.
        api_key_secret: Secret Manager version name holding the provider's key (never the key);
            empty reads the key from the environment.
        intensity_csv: ``csv`` provider: the intensity CSV (local path or gs:// URI).
        residency: Residency group the region must be in; checked here, before any request.
        accelerator_type: Accelerator the region must offer; checked here, before any request.
        accelerator_count: Number of accelerators (0 with none).
        intensity: JSON snapshot, one labelled reading (value, unit, time, source, kind) per region.
    """
    from carbon_aware.intensity import fetch_snapshot
    from carbon_aware.preflight import check_region_constraints

    # Constraints that leave no region whatever the intensity fail the run before any request.
    check_region_constraints(candidate_regions, residency, accelerator_type, accelerator_count)
    regions = list(dict.fromkeys([*candidate_regions, baseline_region]))
    snapshot = fetch_snapshot(
        intensity_provider,
        regions,
        allow_fallback=allow_fallback,
        api_key_secret=api_key_secret,
        csv_uri=intensity_csv,
    )
    with open(intensity.path, "w", encoding="utf-8") as handle:
        handle.write(snapshot.to_json())
    intensity.metadata["provider"] = snapshot.provider
    intensity.metadata["fetched_at_utc"] = snapshot.fetched_at_utc
    intensity.metadata["fallback_regions"] = [
        reading.region for reading in snapshot.readings if reading.kind == "fallback"
    ]
