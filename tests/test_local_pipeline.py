"""kfp.local executes the compiled YAML file itself: the offline run, end to end."""

import json

import pytest

from carbon_aware.delivery.local_run import PipelineRunError, local_parameters, run_local


@pytest.fixture(scope="module")
def local_run(compiled_template, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run_local(
        compiled_template,
        out,
        {
            "candidate_regions": "europe-west1,europe-north1,us-east4",
            "baseline_region": "us-central1",
            "epochs": "3",
            "min_quality": "0.5",
        },
    )


@pytest.mark.slow
def test_local_run_writes_the_report_and_footprint(local_run):
    fp = json.loads(local_run.footprint_json.read_text())
    assert local_run.footprint == fp
    # Google 2024 annual data: Finland is the cleanest of these three.
    assert fp["region"] == "europe-north1"
    assert fp["baseline_region"] == "us-central1"
    assert fp["energy_kwh"] > 0
    assert fp["co2e_g"] == pytest.approx(
        fp["energy_kwh"] * fp["pue"] * fp["intensity_gco2e_per_kwh"]
    )
    assert set(fp["counterfactuals"]) == {
        "europe-west1",
        "europe-north1",
        "us-east4",
        "us-central1",
    }
    assert fp["savings_pct_vs_baseline"] > 50
    md = local_run.report_md.read_text()
    assert "europe-north1" in md
    assert 'id="emissions-chart"' in local_run.report_html.read_text()


@pytest.mark.slow
def test_local_run_logs_kfp_metrics_and_the_energy_method(local_run):
    root = local_run.output_dir / "pipeline_root"
    (executor_output,) = root.glob("*/evaluate/executor_output.json")
    artifacts = json.loads(executor_output.read_text())["artifacts"]
    metrics = artifacts["metrics"]["artifacts"][0]["metadata"]
    assert 0.5 <= metrics["accuracy"] <= 1.0 and metrics["n_test"] > 0
    confusion = artifacts["classification_metrics"]["artifacts"][0]["metadata"]
    assert len(confusion["confusionMatrix"]["rows"]) == 2
    assert confusion["confidenceMetrics"], "binary task must log a ROC curve"
    (report_output,) = root.glob("*/report-footprint/executor_output.json")
    footprint_metrics = json.loads(report_output.read_text())["artifacts"]["footprint_metrics"]
    logged = footprint_metrics["artifacts"][0]["metadata"]
    assert logged["co2e_g"] == pytest.approx(local_run.footprint["co2e_g"])
    assert local_run.footprint["energy"]["method"] in ("codecarbon", "estimate")


def test_bad_parameters_fail_before_anything_runs(compiled_template):
    with pytest.raises(ValueError, match="europe-west99"):
        local_parameters(compiled_template, {"candidate_regions": "europe-west1,europe-west99"})
    with pytest.raises(ValueError, match="cannot run locally"):
        local_parameters(compiled_template, {"backend": "vertex"})
    with pytest.raises(ValueError, match="unknown pipeline parameter"):
        local_parameters(compiled_template, {"region": "x"})


@pytest.mark.slow
def test_accuracy_below_min_quality_fails_the_run_at_evaluate(compiled_template, tmp_path, capfd):
    with pytest.raises(PipelineRunError, match="evaluate"):
        run_local(
            compiled_template,
            tmp_path,
            {"candidate_regions": "europe-west1", "epochs": "1", "min_quality": "0.9999"},
        )
    assert "is below min_quality 0.9999" in capfd.readouterr().out
    assert not (tmp_path / "report.md").exists()


@pytest.mark.slow
def test_green_levers_switched_on_are_measured_in_the_report(compiled_template, tmp_path):
    result = run_local(
        compiled_template,
        tmp_path,
        {
            "candidate_regions": "europe-west1",
            "dedupe": "exact",
            "keep_columns": "mean radius,mean texture,worst radius,worst texture,worst area",
            "export_compressed": "true",
            "min_quality": "0.5",
        },
    )
    run = result.footprint["run"]
    assert run["data_efficiency"]["before"]["columns"] == 31
    assert run["data_efficiency"]["after"]["columns"] == 6
    assert set(run["compressed_export"]["files"]) == {"float32", "float16", "int8"}
    report = result.report_md.read_text()
    assert "## Green levers" in report and "| before | 569 | 31 |" in report
    assert "| int8 | tflite |" in report
