"""carbon_aware.trainer.evaluate: test-set metrics of trained models, ROC thinning."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from carbon_aware.trainer.evaluate import downsample_roc, evaluate_model
from carbon_aware.trainer.train import TrainConfig, train


def write_three_class_csv(path: Path, rows: int = 120) -> Path:
    """Write a small CSV with numeric and categorical features and 3 classes."""
    rng = np.random.default_rng(2)
    offset = np.arange(rows) % 3
    pd.DataFrame(
        {
            "size": offset * 2.0 + rng.normal(0, 0.3, rows),
            "noise": rng.normal(0, 1, rows),
            "shade": np.array(["light", "mid", "dark"])[offset],
            "kind": np.array(["a", "b", "c"])[offset],
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def binary_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained for 5 epochs on the bundled breast-cancer data."""
    out = tmp_path_factory.mktemp("binary")
    train(TrainConfig(data_uri="", label_column="target", output_dir=str(out), epochs=5))
    return out


def test_binary_evaluation(binary_dir: Path) -> None:
    result = evaluate_model(str(binary_dir))
    assert result.n_test == 86
    assert result.classes == ["0", "1"]
    assert 0.8 < result.accuracy <= 1.0
    assert 0.8 < result.auc <= 1.0
    assert 0.0 < result.log_loss < 1.0
    matrix = np.array(result.confusion_matrix)
    assert matrix.shape == (2, 2)
    assert matrix.sum() == 86
    assert np.trace(matrix) / 86 == pytest.approx(result.accuracy)
    test = pd.read_csv(binary_dir / "test.csv")
    assert matrix.sum(axis=1).tolist() == [
        int((test["target"] == 0).sum()),
        int((test["target"] == 1).sum()),
    ]


def test_binary_roc_curve_is_short_and_finite(binary_dir: Path) -> None:
    roc = evaluate_model(str(binary_dir)).roc_curve
    assert roc is not None
    assert set(roc) == {"fpr", "tpr", "thresholds"}
    assert 2 <= len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"]) <= 50
    assert all(math.isfinite(t) for t in roc["thresholds"])
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0 and roc["tpr"][-1] == 1.0
    assert json.loads(json.dumps(roc)) == roc  # plain floats only


def test_multiclass_evaluation(tmp_path: Path) -> None:
    csv = write_three_class_csv(tmp_path / "three.csv")
    out = tmp_path / "model"
    train(TrainConfig(data_uri=str(csv), label_column="kind", output_dir=str(out), epochs=3))
    result = evaluate_model(str(out))
    assert result.classes == ["a", "b", "c"]
    assert result.n_test == 18
    assert result.roc_curve is None
    assert 0.0 <= result.auc <= 1.0 and result.log_loss > 0.0
    matrix = np.array(result.confusion_matrix)
    assert matrix.shape == (3, 3) and matrix.sum() == 18
    assert matrix.sum(axis=1).tolist() == [6, 6, 6]


def test_missing_artefact_is_a_file_not_found_error(binary_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(binary_dir, partial)
    (partial / "model.keras").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.keras"):
        evaluate_model(str(partial))


def test_downsample_keeps_ends_and_replaces_infinity() -> None:
    fpr = np.linspace(0.0, 1.0, 200)
    tpr = np.sqrt(fpr)
    thresholds = np.concatenate([[np.inf], np.linspace(0.99, 0.0, 199)])
    roc = downsample_roc(fpr, tpr, thresholds)
    assert len(roc["fpr"]) == 50
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0
    assert roc["thresholds"][0] > 0.99 and math.isfinite(roc["thresholds"][0])
    assert roc["thresholds"] == sorted(roc["thresholds"], reverse=True)
    short = downsample_roc(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([np.inf, 0.5]))
    assert short["thresholds"][1] == 0.5 and math.isfinite(short["thresholds"][0])
