"""plan-start: when the run starts (now, or deferred to a planned hour), and the run's defaults."""

from typing import NamedTuple


def plan_start(
    start_within_hours: float,
    expected_duration_hours: float,
    candidate_regions: list,
    baseline_region: str,
    residency: str,
    max_carbon_intensity: float,
    intensity_provider: str,
    intensity_csv: str,
    api_key_secret: str,
    project: str,
    run_project: str,
    regional_bucket_template: str,
) -> NamedTuple("StartPlan", start=str, plan_json=str, project=str, regional_bucket_template=str):
    """Plans the start as ``submit --start-within`` does; fills in the console defaults.

    Args:
        start_within_hours: How long the start may wait; 0 starts now without planning.
        expected_duration_hours: How long the run takes (needed when it may wait).
        candidate_regions: GCP regions the training job may run in.
        baseline_region: The region savings are measured against.
        residency: Residency group the region must be in; empty = any.
        max_carbon_intensity: Intensity cap in gCO2e/kWh; 0 = none.
        intensity_provider: The provider whose forecast (or our forecast of its history) plans.
        intensity_csv: ``csv`` provider: the intensity CSV.
        api_key_secret: Secret Manager version of the live provider's key.
        project: The ``project`` parameter; empty = the run's own.
        run_project: The run's own project (GCPC's project id placeholder).
        regional_bucket_template: The parameter; empty = the buckets ``setup`` creates.

    Returns:
        start: ``now`` or ``later`` (the run defers itself).
        plan_json: The decision and its plan (JSON).
        project: The project the run uses.
        regional_bucket_template: The bucket template the run uses.
    """
    from carbon_aware.planning.deferral import decide_start, planning_time
    from carbon_aware.run_defaults import run_defaults

    project, template = run_defaults(project, run_project, regional_bucket_template)
    values = {
        "candidate_regions": list(candidate_regions),
        "baseline_region": baseline_region,
        "residency": residency,
        "max_carbon_intensity": max_carbon_intensity,
        "intensity_provider": intensity_provider,
        "intensity_csv": intensity_csv,
        "api_key_secret": api_key_secret,
    }
    decision = decide_start(
        values, float(start_within_hours), float(expected_duration_hours), now=planning_time()
    )
    print(f"plan-start: {decision.start}: {decision.reason}")
    return (decision.start, decision.to_json(), project, template)
