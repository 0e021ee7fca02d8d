"""carbon_aware.trainer.train: configuration checks and real (tiny) training runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from carbon_aware.trainer.train import TrainConfig, TrainResult, train

from carbon_aware import storage

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ARTEFACTS = {
    "model.keras",
    "preprocessor.joblib",
    "test.csv",
    "classes.json",
    "training_metrics.json",
    "run_record.json",
}


def write_three_class_csv(path: Path, rows: int = 120) -> Path:
    """Write a small CSV with numeric and categorical features and 3 classes."""
    rng = np.random.default_rng(1)
    offset = np.arange(rows) % 3
    pd.DataFrame(
        {
            "length": offset * 2.0 + rng.normal(0, 0.3, rows),
            "width": rng.normal(0, 1, rows),
            "colour": np.array(["red", "green", "blue"])[offset],
            "species": np.array(["setosa", "versicolor", "virginica"])[offset],
        }
    ).to_csv(path, index=False)
    return path


def bundled_config(output_dir: Path, **overrides: Any) -> TrainConfig:
    """A fast configuration on the bundled data."""
    return TrainConfig(
        data_uri="", label_column="target", output_dir=str(output_dir), epochs=3, **overrides
    )


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """One 3-epoch run on the bundled data, shared by the tests below."""
    return train(bundled_config(tmp_path_factory.mktemp("bundled")))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, r"epochs must be an integer in \[1, 1000\], got 0"),
        ({"epochs": 1001}, r"epochs must be an integer in \[1, 1000\], got 1001"),
        ({"epochs": 2.5}, r"epochs must be an integer"),
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, 65536\], got 0"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2147483647\], got -1"),
        ({"learning_rate": 0.0}, r"learning_rate must be a number in \(0, 1\], got 0.0"),
        ({"learning_rate": 2.0}, r"learning_rate must be a number in \(0, 1\], got 2.0"),
        ({"label_column": ""}, r"label_column must be a non-empty string"),
        ({"output_dir": ""}, r"output_dir must be a non-empty string"),
        ({"machine_type": "huge-1"}, r"machine_type 'huge-1' is not a machine type Vertex AI"),
        ({"accelerator_type": "TPU_V9", "accelerator_count": 1}, r"'TPU_V9' is not known"),
        ({"accelerator_type": "NVIDIA_TESLA_T4"}, r"disagree; give both"),
        ({"accelerator_count": 2}, r"disagree; give both"),
        ({"accelerator_count": 17}, r"accelerator_count must be an integer in \[0, 16\]"),
    ],
)
def test_config_rejects_bad_values(overrides: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"data_uri": "", "label_column": "target", "output_dir": "out"}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**fields, **overrides})


def test_config_defaults() -> None:
    config = TrainConfig(data_uri="", label_column="target", output_dir="out")
    assert (config.epochs, config.batch_size, config.seed) == (20, 32, 42)
    assert (config.region, config.machine_type) == ("local", "n1-standard-4")
    assert (config.dedupe, config.keep_columns) == ("none", "")
    assert (config.mixed_precision, config.export_compressed) == (False, False)


def test_bundled_run_writes_every_artefact(bundled_run: TrainResult) -> None:
    out = Path(bundled_run.model_dir)
    assert {p.name for p in out.iterdir()} >= ARTEFACTS
    assert json.loads((out / "classes.json").read_text()) == ["0", "1"]
    test = pd.read_csv(out / "test.csv")
    assert len(test) == 86 and "target" in test.columns
    metrics = json.loads((out / "training_metrics.json").read_text())
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "epochs_run"):
        assert key in metrics
    assert len(metrics["history"]["val_loss"]) == metrics["epochs_run"]
    assert 0.5 < bundled_run.metrics["val_accuracy"] <= 1.0


def test_run_record_has_the_documented_fields(bundled_run: TrainResult) -> None:
    record = json.loads((Path(bundled_run.model_dir) / "run_record.json").read_text())
    assert record == bundled_run.run_record
    assert record["schema_version"] == 1
    assert ISO_Z.match(record["start_utc"]) and ISO_Z.match(record["end_utc"])
    assert record["start_utc"] <= record["end_utc"]
    assert record["duration_s"] > 0
    assert record["region"] == "local"
    machine = record["machine"]
    assert machine["machine_type"] == "n1-standard-4"
    assert machine["accelerator_count"] == 0 and machine["host_cpu_count"] >= 1
    assert machine["platform"]
    measured = record["energy"]
    assert measured["method"] in {"codecarbon", "estimate"} and measured["method_detail"]
    assert measured["total_kwh"] >= 0.0
    assert measured["total_kwh"] == pytest.approx(
        measured["cpu_kwh"] + measured["gpu_kwh"] + measured["ram_kwh"]
    )
    assert record["dataset"] == {
        "uri": "sklearn:breast_cancer",
        "label_column": "target",
        "rows": 569,
        "feature_count": 30,
        "encoded_feature_count": 30,
        "classes": ["0", "1"],
        "train_rows": 398,
        "val_rows": 85,
        "test_rows": 86,
    }
    assert record["epochs_run"] == 3
    assert record["levers"] == {
        "dedupe": "none",
        "keep_columns": "",
        "mixed_precision": False,
        "export_compressed": False,
    }
    efficiency = record["data_efficiency"]
    assert efficiency["applied"] == [] and efficiency["rows_removed"] == 0
    assert efficiency["before"] == efficiency["after"]
    assert efficiency["before"]["rows"] == 569 and efficiency["before"]["columns"] == 31
    assert record["precision"]["policy"] == "float32" and record["precision"]["note"] == ""
    assert record["compressed_export"] is None


def test_same_seed_gives_same_split_and_metrics(bundled_run: TrainResult, tmp_path: Path) -> None:
    again = train(bundled_config(tmp_path))
    assert again.metrics == bundled_run.metrics
    first_test = (Path(bundled_run.model_dir) / "test.csv").read_text()
    assert (tmp_path / "test.csv").read_text() == first_test


def test_three_classes_with_a_categorical_column(tmp_path: Path) -> None:
    csv = write_three_class_csv(tmp_path / "three.csv")
    out = tmp_path / "out"
    result = train(
        TrainConfig(data_uri=str(csv), label_column="species", output_dir=str(out), epochs=2)
    )
    classes = json.loads((out / "classes.json").read_text())
    assert classes == ["setosa", "versicolor", "virginica"]
    dataset = result.run_record["dataset"]
    assert dataset["feature_count"] == 3
    assert dataset["encoded_feature_count"] == 2 + 3  # two scaled numbers + one-hot colour
    assert dataset["train_rows"] + dataset["val_rows"] + dataset["test_rows"] == 120

    import keras

    model = keras.models.load_model(out / "model.keras", compile=False)
    assert model.output_shape == (None, 3)


def test_bad_data_fails_before_creating_the_output_dir(tmp_path: Path) -> None:
    out = tmp_path / "never"
    config = TrainConfig(data_uri="", label_column="diagnosis", output_dir=str(out))
    with pytest.raises(ValueError, match=r"label_column 'diagnosis' is not a column"):
        train(config)
    assert not out.exists()


def test_gcs_output_dir_without_fuse_is_written_through_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage_emulator import make_bucket, storage_emulator

    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path / "no-fuse")
    with storage_emulator():
        make_bucket("b", "europe-north1")
        train(TrainConfig(data_uri="", label_column="target", output_dir="gs://b/run", epochs=1))
        files = storage.list_files("gs://b/run")
    for name in ("model.keras", "metrics.json", "run_record.json", "test.csv"):
        assert f"gs://b/run/{name}" in files
