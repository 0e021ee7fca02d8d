"""trainer.efficiency: de-duplication, column pruning, their measurements, and the run record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from carbon_aware.trainer import efficiency
from carbon_aware.trainer.train import TrainConfig, train


def frame() -> pd.DataFrame:
    """Six rows: rows 0 and 1 identical; ids 7 repeat in rows 2-3; a junk column."""
    return pd.DataFrame(
        {
            "id": [1, 1, 7, 7, 8, 9],
            "size": [1.0, 1.0, 2.0, 2.5, 3.0, 3.0],
            "colour": ["red", "red", "blue", "blue", "green", "green"],
            "junk": [0.1, 0.1, 0.2, 0.3, 0.4, 0.5],
            "label": ["a", "a", "b", "b", "a", "a"],
        }
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("none", efficiency.DedupeSpec("none")),
        ("", efficiency.DedupeSpec("none")),
        (" exact ", efficiency.DedupeSpec("exact")),
        ("key:id", efficiency.DedupeSpec("key", "id")),
        ("key: patient id ", efficiency.DedupeSpec("key", "patient id")),
    ],
)
def test_parse_dedupe(value: str, expected: efficiency.DedupeSpec) -> None:
    assert efficiency.parse_dedupe(value) == expected


@pytest.mark.parametrize("value", ["Exact", "key:", "key: ", "rows", "all"])
def test_bad_dedupe_names_the_value_and_the_forms(value: str) -> None:
    with pytest.raises(ValueError, match=rf"dedupe '{value}' is not understood; use 'none'"):
        efficiency.parse_dedupe(value)


def test_parse_keep_columns() -> None:
    assert efficiency.parse_keep_columns("") == []
    assert efficiency.parse_keep_columns(" a, b ,,a,c ") == ["a", "b", "c"]


def test_levers_off_leave_the_table_alone_but_measure_it() -> None:
    df = frame()
    out, record = efficiency.apply_levers(df, "label")
    assert out.equals(df)
    assert record["applied"] == [] and record["dedupe"] == "none"
    assert record["before"] == record["after"]
    assert record["before"]["rows"] == 6 and record["before"]["columns"] == 5
    assert record["before"]["memory_bytes"] == int(df.memory_usage(deep=True).sum())
    assert record["before"]["csv_bytes"] == len(df.to_csv(index=False).encode("utf-8"))
    assert record["rows_removed"] == 0 and record["csv_saved_pct"] == 0.0


def test_exact_dedupe_drops_identical_rows_only() -> None:
    out, record = efficiency.apply_levers(frame(), "label", dedupe="exact")
    assert list(out.index) == [0, 2, 3, 4, 5]  # the first copy stays, with its index
    assert record["rows_removed"] == 1
    assert record["applied"] == ["dedupe exact: removed 1 rows"]
    assert record["after"]["rows"] == 5
    assert record["after"]["csv_bytes"] < record["before"]["csv_bytes"]
    assert record["after"]["memory_bytes"] < record["before"]["memory_bytes"]


def test_key_dedupe_keeps_the_first_row_per_key() -> None:
    out, record = efficiency.apply_levers(frame(), "label", dedupe="key:id")
    assert list(out.index) == [0, 2, 4, 5]
    assert out.loc[2, "size"] == 2.0
    assert record["dedupe"] == "key:id"
    assert record["applied"] == ["dedupe key:id: removed 2 rows"]


def test_pruning_keeps_the_named_columns_and_the_label() -> None:
    out, record = efficiency.apply_levers(frame(), "label", keep_columns="colour,size")
    assert list(out.columns) == ["size", "colour", "label"]  # table order, label kept
    assert record["keep_columns"] == ["colour", "size"]
    assert record["dropped_columns"] == ["id", "junk"]
    assert (record["before"]["columns"], record["after"]["columns"]) == (5, 3)
    assert record["rows_removed"] == 0
    assert 0.0 < record["csv_saved_pct"] < 100.0


def test_exact_dedupe_compares_only_the_kept_columns() -> None:
    # Rows 4 and 5 differ only in id and junk; once those are pruned they are the same example.
    out, record = efficiency.apply_levers(
        frame(), "label", dedupe="exact", keep_columns="size,colour"
    )
    assert list(out.index) == [0, 2, 3, 4]
    assert record["applied"] == ["keep_columns: kept 2, dropped 2", "dedupe exact: removed 2 rows"]


def test_key_dedupe_may_use_a_column_that_pruning_drops() -> None:
    out, _ = efficiency.apply_levers(frame(), "label", dedupe="key:id", keep_columns="size")
    assert list(out.columns) == ["size", "label"]
    assert list(out.index) == [0, 2, 4, 5]


def test_unknown_keep_columns_list_the_available_ones() -> None:
    expected = (
        r"keep_columns names columns that do not exist: \['weight', 'Size'\]; "
        r"available feature columns are: \['id', 'size', 'colour', 'junk'\]"
    )
    with pytest.raises(ValueError, match=expected):
        efficiency.apply_levers(frame(), "label", keep_columns="size,weight,Size")


def test_unknown_dedupe_key_lists_the_columns() -> None:
    with pytest.raises(ValueError, match=r"dedupe key column 'patient' is not a column.*'junk'"):
        efficiency.apply_levers(frame(), "label", dedupe="key:patient")


def write_duplicated_csv(path: Path) -> Path:
    """60 distinct rows written twice, with a junk column: 120 rows, 3 classes."""
    rng = np.random.default_rng(3)
    offset = np.arange(60) % 3
    base = pd.DataFrame(
        {
            "size": offset * 2.0 + rng.normal(0, 0.3, 60),
            "junk": rng.normal(0, 1, 60),
            "kind": np.array(["a", "b", "c"])[offset],
        }
    )
    pd.concat([base, base]).to_csv(path, index=False)
    return path


def config(tmp_path: Path, csv: Path, **levers: Any) -> TrainConfig:
    return TrainConfig(
        data_uri=str(csv), label_column="kind", output_dir=str(tmp_path / "out"), epochs=2, **levers
    )


def test_run_record_has_the_data_efficiency_block(tmp_path: Path) -> None:
    csv = write_duplicated_csv(tmp_path / "dup.csv")
    result = train(config(tmp_path, csv, dedupe="exact", keep_columns="size"))
    record = json.loads((tmp_path / "out" / "run_record.json").read_text())
    assert record == result.run_record
    block = record["data_efficiency"]
    assert block["dedupe"] == "exact" and block["keep_columns"] == ["size"]
    assert block["before"]["rows"] == 120 and block["after"]["rows"] == 60
    assert (block["before"]["columns"], block["after"]["columns"]) == (3, 2)
    assert block["dropped_columns"] == ["junk"]
    assert block["after"]["csv_bytes"] < block["before"]["csv_bytes"] / 2
    assert record["levers"] == {
        "dedupe": "exact",
        "keep_columns": "size",
        "mixed_precision": False,
        "export_compressed": False,
    }
    dataset = record["dataset"]
    assert dataset["rows"] == 60 and dataset["feature_count"] == 1
    assert dataset["train_rows"] + dataset["val_rows"] + dataset["test_rows"] == 60
    test = pd.read_csv(tmp_path / "out" / "test.csv")
    assert list(test.columns) == ["size", "kind"]
    assert record["energy"]["duration_s"] > 0 and record["energy"]["total_kwh"] >= 0


def test_levers_that_leave_too_few_rows_say_so(tmp_path: Path) -> None:
    csv = write_duplicated_csv(tmp_path / "dup.csv")
    with pytest.raises(ValueError, match=r"after dedupe='key:kind'.* has 3 rows; at least 20"):
        train(config(tmp_path, csv, dedupe="key:kind"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("levers", "message"),
    [
        ({"dedupe": "first"}, r"dedupe 'first' is not understood"),
        ({"keep_columns": 3}, r"keep_columns must be a comma-separated string, got 3"),
        ({"mixed_precision": "yes"}, r"mixed_precision must be true or false, got 'yes'"),
        ({"export_compressed": 1}, r"export_compressed must be true or false, got 1"),
    ],
)
def test_config_rejects_bad_lever_values(levers: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(data_uri="", label_column="target", output_dir="out", **levers)


def test_config_levers_are_off_by_default() -> None:
    config = TrainConfig(data_uri="", label_column="target", output_dir="out")
    assert (config.dedupe, config.keep_columns) == ("none", "")
    assert (config.mixed_precision, config.export_compressed) == (False, False)
