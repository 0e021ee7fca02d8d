"""report-footprint: the run's emissions, the same energy elsewhere, and the saving."""

from kfp.dsl import HTML, Artifact, Input, Markdown, Metrics, Output


def report_footprint(
    decision: Input[Artifact],
    run_record_json: str,
    evaluation_json: str,
    pue: float,
    report: Output[Markdown],
    report_html: Output[HTML],
    footprint_metrics: Output[Metrics],
    footprint: Output[Artifact],
):
    """Computes energy x PUE x grid intensity for the run and every alternative region.

    Args:
        decision: choose-region's decision.
        run_record_json: train's run record with the measured energy.
        evaluation_json: evaluate's test metrics.
        pue: Power usage effectiveness; 0 uses Google's published fleet PUE.
        report: The report as Markdown (renders in the Vertex console).
        report_html: The report as a standalone HTML page with the emissions chart.
        footprint_metrics: energy_kwh, co2e_g, savings_pct_vs_baseline.
        footprint: ``footprint.json``, the versioned footprint record.
    """
    import json

    from carbon_aware.decision import RegionDecision
    from carbon_aware.footprint import compute_footprint
    from carbon_aware.report import render_html, render_markdown

    with open(decision.path, encoding="utf-8") as handle:
        chosen = RegionDecision.from_json(handle.read())
    record = compute_footprint(chosen, json.loads(run_record_json), pue)
    markdown_text = render_markdown(record, chosen, json.loads(evaluation_json))
    with open(report.path, "w", encoding="utf-8") as handle:
        handle.write(markdown_text)
    with open(report_html.path, "w", encoding="utf-8") as handle:
        handle.write(render_html(record, chosen, markdown_text))
    with open(footprint.path, "w", encoding="utf-8") as handle:
        handle.write(record.to_json())
    footprint_metrics.log_metric("energy_kwh", record.energy_kwh)
    footprint_metrics.log_metric("co2e_g", record.co2e_g)
    footprint_metrics.log_metric("savings_pct_vs_baseline", record.savings_pct_vs_baseline)
    footprint.metadata["schema_version"] = record.schema_version
