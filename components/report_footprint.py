"""report-footprint: the run's emissions, the same energy elsewhere, the saving and the SCI."""

from kfp.dsl import HTML, Artifact, Input, Markdown, Metrics, Output


def report_footprint(
    decision: Input[Artifact],
    run_record_json: str,
    evaluation_json: str,
    pue: float,
    functional_unit: str,
    predictions_served: int,
    carbon_footprint_table: str,
    project: str,
    api_key_secret: str,
    intensity_csv: str,
    planned_start_utc: str,
    planned_carbon_intensity: float,
    pipeline_job_resource_name: str,
    report: Output[Markdown],
    report_html: Output[HTML],
    footprint_metrics: Output[Metrics],
    footprint: Output[Artifact],
):
    """Computes energy x PUE x grid intensity for the run and every alternative, plus SCI.

    Args:
        decision: choose-region's decision.
        run_record_json: train's run record with the measured energy.
        evaluation_json: evaluate's test metrics.
        pue: Power usage effectiveness; 0 uses Google's published PUE per region.
        functional_unit: SCI's R: training_run, 1k_training_examples or 1k_predictions.
        predictions_served: Predictions counted for the 1k_predictions unit.
        carbon_footprint_table: Carbon Footprint export table for the project trend and the
            market-based view (Google's own figures); empty: off (residual-mix estimate).
        project: Google Cloud project whose export rows the trend shows (empty: all).
        api_key_secret: Secret Manager version of the live provider's key, for its history.
        intensity_csv: The csv provider's file, for its history.
        planned_start_utc: The start ``submit --start-within`` planned; empty: no plan.
        planned_carbon_intensity: The plan's expected gCO2e/kWh (planned against actual).
        pipeline_job_resource_name: This pipeline job's resource name
            (``{{$.pipeline_job_resource_name}}``); on Vertex AI its task details time the
            orchestration steps (locally, run-local times them); a failed lookup: not measured.
        report: The report as Markdown (renders in the Vertex console).
        report_html: The report as a standalone HTML page with the charts.
        footprint_metrics: energy_kwh, co2e_g, savings_pct_vs_baseline, sci, total_co2e_g and,
            when measured, orchestration_co2e_g and net_savings_g_vs_baseline.
        footprint: ``footprint.json``, the versioned footprint record.
    """
    import json

    from carbon_aware.decision import RegionDecision
    from carbon_aware.footprint.calculation import compute_footprint
    from carbon_aware.footprint.market import export_ratios
    from carbon_aware.footprint.orchestration import step_timings
    from carbon_aware.parameters import integral
    from carbon_aware.report import render_html, render_markdown
    from carbon_aware.report.inputs import (
        ReportInputs,
        fetch_intensity_series,
        fetch_project_history,
    )

    with open(decision.path, encoding="utf-8") as handle:
        chosen = RegionDecision.from_json(handle.read())
    regions = sorted({item.region for item in chosen.ranking} | {chosen.baseline_region})
    inputs = ReportInputs()
    fetch_intensity_series(chosen.provider, regions, api_key_secret, inputs, intensity_csv)
    fetch_project_history(carbon_footprint_table, project, 12, inputs)
    history = inputs.history
    ratios = export_ratios(history.results.get("scope2_by_region", [])) if history else {}
    label = (
        f"{history.table}, {history.start_month[:7]} to {history.end_month[:7]}" if history else ""
    )
    record = compute_footprint(
        chosen,
        json.loads(run_record_json),
        pue,
        intensity_series=inputs.intensity_series,
        functional_unit=functional_unit,
        predictions_served=integral(predictions_served),
        planned_start_utc=planned_start_utc,
        planned_gco2e_per_kwh=planned_carbon_intensity,
        step_timings=step_timings(pipeline_job_resource_name),
        market_ratios=ratios,
        market_export_label=label,
    )
    markdown_text = render_markdown(
        record, chosen, json.loads(evaluation_json), history=inputs.history, notes=inputs.notes
    )
    with open(report.path, "w", encoding="utf-8") as handle:
        handle.write(markdown_text)
    page = render_html(
        record,
        chosen,
        markdown_text,
        intensity_series=inputs.intensity_series,
        history=inputs.history,
    )
    with open(report_html.path, "w", encoding="utf-8") as handle:
        handle.write(page)
    with open(footprint.path, "w", encoding="utf-8") as handle:
        handle.write(record.to_json())
    footprint_metrics.log_metric("energy_kwh", record.energy_kwh)
    footprint_metrics.log_metric("co2e_g", record.co2e_g)
    footprint_metrics.log_metric("savings_pct_vs_baseline", record.savings_pct_vs_baseline)
    footprint_metrics.log_metric("sci", record.sci.value)
    footprint_metrics.log_metric("total_co2e_g", record.total_co2e_g)
    if record.orchestration.co2e_g is not None and record.net_savings_g_vs_baseline is not None:
        footprint_metrics.log_metric("orchestration_co2e_g", record.orchestration.co2e_g)
        footprint_metrics.log_metric("net_savings_g_vs_baseline", record.net_savings_g_vs_baseline)
    footprint.metadata["schema_version"] = record.schema_version
    footprint.metadata["sci_unit"] = record.sci.unit
