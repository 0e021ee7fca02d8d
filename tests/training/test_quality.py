"""The quality gate on any program's metrics."""

import pytest

from carbon_aware.training.quality import ModelQualityError, check_quality


def test_the_gate_passes_at_or_above_the_floor():
    assert check_quality({"accuracy": 0.95}, "accuracy", 0.9) == 0.95
    assert check_quality({"r2": 0.5}, "r2", 0.5) == 0.5


def test_the_gate_fails_below_naming_metric_value_and_floor():
    with pytest.raises(ModelQualityError, match=r"^auc 0\.8123 is below min_quality 0\.9; "):
        check_quality({"auc": 0.8123}, "auc", 0.9)


def test_a_missing_metric_is_named_with_what_the_run_has():
    with pytest.raises(ModelQualityError, match=r"'f1' is not in .*the run has: accuracy, loss"):
        check_quality({"accuracy": 1.0, "loss": 0.1}, "f1", 0.5)
