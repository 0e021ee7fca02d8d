"""kfp.local executes the compiled YAML file itself: the offline run, end to end."""

import contextlib
import io
import json
import re

import pytest

from carbon_aware.cli import main
from carbon_aware.delivery.local_run import local_parameters, run_local
from carbon_aware.delivery.progress import ConsoleRun

STEPS = ("fetch-intensity", "choose-region", "train", "evaluate", "report-footprint")


@pytest.fixture(scope="module")
def local_run_and_console(compiled_template, tmp_path_factory):
    """One run, shown as run-local shows it on a non-terminal; anything else on stdout is kept."""
    out = tmp_path_factory.mktemp("run")
    console_text = io.StringIO()
    console = ConsoleRun(console_text)
    stray = io.StringIO()
    with contextlib.redirect_stdout(stray):
        result = run_local(
            compiled_template,
            out,
            {
                "candidate_regions": "europe-west1,europe-north1,us-east4",
                "baseline_region": "us-central1",
                "epochs": "3",
                "min_quality": "0.5",
            },
            observer=console,
        )
        console.show_result(result)
    return result, console_text.getvalue(), stray.getvalue()


@pytest.fixture(scope="module")
def local_run(local_run_and_console):
    return local_run_and_console[0]


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
    # The savings come from the counterfactuals: the same energy in the baseline region.
    # (counterfactuals are rounded to 1e-6 g; regions hold the same figures unrounded)
    chosen, base = (fp["regions"][r]["co2e_g"] for r in (fp["region"], "us-central1"))
    assert fp["counterfactuals"][fp["region"]] == pytest.approx(chosen, abs=1e-6)
    assert base == pytest.approx(
        fp["regions"]["us-central1"]["energy_kwh"]
        * fp["regions"]["us-central1"]["pue"]
        * fp["regions"]["us-central1"]["intensity_gco2e_per_kwh"]
    )
    assert fp["savings_g_vs_baseline"] == pytest.approx(base - chosen)
    assert fp["savings_pct_vs_baseline"] == pytest.approx(100 * (1 - chosen / base), abs=1e-3)
    assert fp["energy_kwh"] == pytest.approx(sum(t["kwh"] for t in fp["energy"]["terms"].values()))
    # Ranges bracket the central figures.
    u = fp["uncertainty"]
    for key, central in (
        ("energy_kwh", fp["energy_kwh"]),
        ("co2e_g", fp["co2e_g"]),
        ("savings_pct_vs_baseline", fp["savings_pct_vs_baseline"]),
        ("total_co2e_g", fp["total_co2e_g"]),
        ("net_savings_g_vs_baseline", fp["net_savings_g_vs_baseline"]),
        ("sci", fp["sci"]["value"]),
    ):
        assert u[key][0] - 1e-9 <= central <= u[key][1] + 1e-9, key
    assert u["saving_holds"] is True
    # The other steps were timed by run-local and are in the total and the SCI.
    o = fp["orchestration"]
    assert o["status"] == "timed" and o["co2e_g"] > 0
    assert {s["step"] for s in o["steps"]} >= {"fetch-intensity", "choose-region", "evaluate"}
    one_total = fp["co2e_g"] + o["co2e_g"] + fp["embodied_g"] + o["embodied_g"]
    assert fp["total_co2e_g"] == pytest.approx(one_total)
    assert fp["sci"]["value"] == pytest.approx(fp["total_co2e_g"])  # R = one training run
    assert o["grid_tied_to"] == "baseline"  # locally the steps run on the baseline's grid
    assert fp["schema_version"] == "1.3"
    md = local_run.report_md.read_text()
    assert "## What being carbon-aware cost" in md and "## Ranges" in md
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
def test_each_step_logs_to_its_own_file_and_the_console_stays_short_and_plain(
    local_run_and_console,
):
    result, console, stray = local_run_and_console
    logs = result.output_dir / "logs"
    for step in STEPS:
        log = (logs / f"{step}.log").read_text()
        assert f"Executing task '{step}'" in log
        assert f"Task '{step}' finished with status SUCCESS" in log
        assert "[KFP Executor" in log, f"{step}.log lacks the step's own output"
    assert '"epochs": 3' in (logs / "train.log").read_text(), "the train step's own inputs"
    assert stray == "", "nothing but the display reaches stdout"
    lines = console.splitlines()
    assert len(lines) <= 30, console
    assert not re.search(r"\x1b\[", console), "no colour or cursor codes off a terminal"
    assert "offline" in lines[1] and str(result.output_dir) in console
    for step in STEPS:
        (line,) = [ln for ln in lines if ln.split()[:1] == [step]]
        assert line.split()[1] == "done" and float(line.split()[2]) > 0
    assert "europe-north1" in console and "saving" in console
    assert str(result.report_html) in console and "carbon-aware submit" in console
    assert "KFP Executor" not in console and "Traceback" not in console


@pytest.mark.slow
def test_a_failing_step_ends_with_the_step_its_message_and_its_log(
    compiled_template, tmp_path, capsys
):
    code = main(
        [
            "run-local",
            "--template",
            str(compiled_template),
            "--output-dir",
            str(tmp_path),
            "--param",
            "candidate_regions=europe-west1",
            "--param",
            "epochs=1",
            "--param",
            "min_quality=0.9999",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    last = captured.err.strip().splitlines()[-2:]
    log = tmp_path / "logs" / "evaluate.log"
    assert re.fullmatch(
        r"carbon-aware: step evaluate failed: ModelQualityError: accuracy [0-9.]+ "
        r"is below min_quality 0\.9999;.*",
        last[0],
    ), last
    assert last[1] == f"carbon-aware: its full log: {log}"
    assert "Traceback (most recent call last)" in log.read_text()
    assert "Traceback" not in captured.out + captured.err
    assert len(captured.out.splitlines()) <= 15
    assert "evaluate" in captured.out and "FAILED" in captured.out
    assert not (tmp_path / "report.md").exists()
    assert not (tmp_path / "logs" / "report-footprint.log").exists()


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
