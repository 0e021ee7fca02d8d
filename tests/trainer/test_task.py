"""carbon_aware.trainer.task: the command line, as a subprocess and in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from carbon_aware.trainer import task

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_task(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m carbon_aware.trainer.task`` from the repository root."""
    full_env = {k: v for k, v in os.environ.items() if k != "AIP_MODEL_DIR"}
    full_env.update({"PYTHONPATH": str(REPO_ROOT)}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "carbon_aware.trainer.task", *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_module_trains_and_prints_a_one_line_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "model"
    proc = run_task("--epochs", "2", "--seed", "3", env={"AIP_MODEL_DIR": str(out)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["model_dir"] == str(out)
    assert summary["epochs_run"] == 2
    assert summary["energy_method"] in {"codecarbon", "estimate"}
    assert summary["energy_kwh"] >= 0.0
    record = json.loads((out / "run_record.json").read_text())
    assert record["hyperparameters"]["seed"] == 3
    assert (out / "model.keras").is_file()


def test_bad_value_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = task.main(["--output-dir", str(tmp_path), "--epochs", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "epochs must be an integer in [1, 1000], got 0" in err


def test_bad_data_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.csv"
    code = task.main(["--output-dir", str(tmp_path / "o"), "--data-uri", str(missing)])
    assert code == 2
    assert "missing.csv' does not exist" in capsys.readouterr().err


def test_output_dir_is_required_without_aip_model_dir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        task.main([])
    assert exit_info.value.code == 2
    assert "--output-dir" in capsys.readouterr().err


def test_output_dir_defaults_to_aip_model_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIP_MODEL_DIR", "gs://bucket/aip/model/")
    args = task.build_parser().parse_args([])
    assert args.output_dir == "gs://bucket/aip/model/"
    assert (args.label_column, args.epochs, args.region) == ("target", 20, "local")


def test_lever_flags_default_off_and_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIP_MODEL_DIR", raising=False)
    args = task.build_parser().parse_args(["--output-dir", "o"])
    assert (args.dedupe, args.keep_columns) == ("none", "")
    assert (args.mixed_precision, args.export_compressed) == (False, False)
    args = task.build_parser().parse_args(
        [
            "--output-dir",
            "o",
            "--dedupe",
            "key:id",
            "--keep-columns",
            "a,b",
            "--mixed-precision",
            "--export-compressed",
        ]
    )
    assert (args.dedupe, args.keep_columns) == ("key:id", "a,b")
    assert (args.mixed_precision, args.export_compressed) == (True, True)
    args = task.build_parser().parse_args(["--output-dir", "o", "--no-export-compressed"])
    assert args.export_compressed is False


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dedupe", "rows"], "dedupe 'rows' is not understood"),
        (["--keep-columns", "mean radius,nope"], "do not exist: ['nope']; available feature"),
    ],
)
def test_bad_lever_values_exit_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    code = task.main(["--output-dir", str(tmp_path / "o"), *flags])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_lever_flags_reach_the_run_record_and_stdout_stays_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    flags = ["--dedupe", "exact", "--keep-columns", "mean radius,worst area,mean texture"]
    flags += ["--mixed-precision", "--export-compressed", "--epochs", "1"]
    code = task.main(["--output-dir", str(out), *flags])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1  # converter and export chatter stays off stdout
    summary = json.loads(lines[0])
    assert summary["rows"] == 569 and summary["rows_removed"] == 0
    assert summary["compressed_export_s"] > 0
    record = json.loads((out / "run_record.json").read_text())
    assert record["levers"] == {
        "dedupe": "exact",
        "keep_columns": "mean radius,worst area,mean texture",
        "mixed_precision": True,
        "export_compressed": True,
    }
    assert record["data_efficiency"]["after"]["columns"] == 4
    assert record["dataset"]["feature_count"] == 3
    assert sorted(p.name for p in out.glob("*.tflite")) == [
        "model_float16.tflite",
        "model_float32.tflite",
        "model_int8.tflite",
    ]
    if not record["precision"]["gpu_count"]:
        assert summary["precision_note"].startswith("mixed precision requested but no GPU")
