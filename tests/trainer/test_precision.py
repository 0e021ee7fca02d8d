"""trainer.precision: mixed precision (honest on CPU) and the compressed TFLite copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from carbon_aware.trainer import precision
from carbon_aware.trainer.evaluate import EvaluationResult, evaluate_model
from carbon_aware.trainer.train import TrainConfig, TrainResult, load_keras, train


@pytest.fixture(scope="module")
def compressed_run(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A 10-epoch run on the bundled data with the compressed export."""
    out = tmp_path_factory.mktemp("compressed")
    config = TrainConfig(
        data_uri="", label_column="target", output_dir=str(out), epochs=10, export_compressed=True
    )
    return train(config)


@pytest.fixture(scope="module")
def evaluation(compressed_run: TrainResult) -> EvaluationResult:
    return evaluate_model(compressed_run.model_dir)


def test_export_writes_three_tflite_files_next_to_the_model(compressed_run: TrainResult) -> None:
    out = Path(compressed_run.model_dir)
    block = compressed_run.run_record["compressed_export"]
    assert set(block["files"]) == {"float32", "float16", "int8"}
    for name, info in block["files"].items():
        assert info["file"] == precision.TFLITE_FILES[name]
        assert (out / info["file"]).stat().st_size == info["size_bytes"]
        assert 0 < info["convert_s"] <= block["seconds"]
    assert block["calibration_rows"] == precision.CALIBRATION_ROWS
    assert "TFLiteConverter" in block["converter"]
    assert block["energy"]["total_kwh"] >= 0.0
    assert block["energy"]["duration_s"] >= block["seconds"] - 0.01
    assert json.loads((out / "run_record.json").read_text())["compressed_export"] == block


def test_int8_is_smaller_than_float16_is_smaller_than_float32(evaluation: EvaluationResult) -> None:
    sizes = {(v["precision"], v["format"]): v["size_bytes"] for v in evaluation.precision_variants}
    assert sizes[("int8", "tflite")] < sizes[("float16", "tflite")]
    assert sizes[("float16", "tflite")] < sizes[("float32", "tflite")]
    assert sizes[("float32", "tflite")] < sizes[("float32", "keras")]


def test_variants_are_measured_on_the_same_test_set(evaluation: EvaluationResult) -> None:
    variants = evaluation.precision_variants
    assert [(v["precision"], v["format"]) for v in variants] == [
        ("float32", "keras"),
        ("float32", "tflite"),
        ("float16", "tflite"),
        ("int8", "tflite"),
    ]
    keras_row = variants[0]
    assert keras_row["accuracy"] == pytest.approx(evaluation.accuracy)
    assert keras_row["accuracy_delta"] == 0.0 and keras_row["agreement"] == 1.0
    for variant in variants[1:]:
        assert abs(variant["accuracy"] - evaluation.accuracy) <= 0.03
        delta = variant["accuracy"] - evaluation.accuracy
        assert variant["accuracy_delta"] == pytest.approx(delta, abs=1e-6)
        assert variant["agreement"] >= 0.95
        assert "tf.lite.Interpreter" in variant["runtime"] or "litert" in variant["runtime"]
    for variant in variants:
        assert variant["inference_us_per_example"] > 0
        assert variant["note"]
    assert variants[1]["size_ratio"] == 1.0 and variants[3]["size_ratio"] < 1.0
    assert json.loads(json.dumps(evaluation.to_dict()))["precision_variants"] == variants


def test_without_the_export_there_are_no_variants(tmp_path: Path) -> None:
    out = tmp_path / "plain"
    run = train(TrainConfig(data_uri="", label_column="target", output_dir=str(out), epochs=1))
    assert run.run_record["compressed_export"] is None
    assert not list(out.glob("*.tflite"))
    assert evaluate_model(str(out)).precision_variants == []
    assert run.run_record["precision"] == {
        "mixed_precision_requested": False,
        "gpu_count": 0,
        "policy": "float32",
        "compute_dtype": "float32",
        "variable_dtype": "float32",
        "note": "",
    }


def test_mixed_precision_on_cpu_trains_in_float32_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(precision, "gpu_count", lambda: 0)
    keras = load_keras()
    with precision.precision_policy(keras, mixed_precision=True) as record:
        assert keras.mixed_precision.global_policy().name == "float32"
    assert record["note"] == "mixed precision requested but no GPU; trained in float32"
    assert record["compute_dtype"] == "float32" and record["mixed_precision_requested"]


def test_mixed_precision_with_a_gpu_sets_and_restores_the_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Pretend a GPU is there: Keras runs mixed_float16 on a CPU too, only slowly.
    monkeypatch.setattr(precision, "gpu_count", lambda: 1)
    out = tmp_path / "mixed"
    run = train(
        TrainConfig(
            data_uri="", label_column="target", output_dir=str(out), epochs=1, mixed_precision=True
        )
    )
    block = run.run_record["precision"]
    assert (block["policy"], block["compute_dtype"], block["variable_dtype"]) == (
        "mixed_float16",
        "float16",
        "float32",
    )
    assert "1 GPU(s)" in block["note"]
    keras = load_keras()
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    model = keras.models.load_model(out / "model.keras", compile=False)
    assert model.layers[0].compute_dtype == "float16"
    assert model.layers[-1].compute_dtype == "float32"  # a float32 output for a stable loss
