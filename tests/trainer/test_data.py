"""trainer.data and storage: loading, validation, splitting, preprocessing, paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from carbon_aware.trainer import data

from carbon_aware import storage


def three_class_frame(rows: int = 90, seed: int = 0) -> pd.DataFrame:
    """A small table with numeric and categorical features and 3 learnable classes."""
    rng = np.random.default_rng(seed)
    label = np.array(["setosa", "versicolor", "virginica"])[np.arange(rows) % 3]
    offset = np.arange(rows) % 3
    return pd.DataFrame(
        {
            "length": offset * 2.0 + rng.normal(0, 0.3, rows),
            "width": rng.normal(0, 1, rows),
            "colour": np.array(["red", "green", "blue"])[offset],
            "species": label,
        }
    )


def test_bundled_dataset_needs_no_file() -> None:
    df = data.load_table("", "target")
    assert df.shape == (569, 31)
    assert set(df["target"].unique()) == {0, 1}
    assert data.dataset_name("") == "sklearn:breast_cancer"


def test_csv_with_categorical_column_loads(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    three_class_frame().to_csv(csv, index=False)
    df = data.load_table(str(csv), "species")
    assert list(df.columns) == ["length", "width", "colour", "species"]
    assert pd.api.types.is_string_dtype(df["colour"])
    assert data.dataset_name(str(csv)) == str(csv)


def test_missing_file_names_the_uri(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match=r"nope\.csv.*does not exist"):
        data.load_table(missing, "y")


def test_unknown_label_column_lists_columns() -> None:
    with pytest.raises(ValueError, match=r"label_column 'label'.*'mean radius'"):
        data.load_table("", "label")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": range(10), "y": [0, 1] * 5}), r"10 rows; at least 20"),
        (pd.DataFrame({"x": range(30), "y": ["a"] * 30}), r"single class \('a'\)"),
        (pd.DataFrame({"x": range(30), "y": [0, 1, None] * 10}), r"10 missing values"),
        (pd.DataFrame({"y": [0, 1] * 15}), r"no feature columns"),
    ],
)
def test_unusable_tables_are_rejected(tmp_path: Path, frame: pd.DataFrame, message: str) -> None:
    csv = tmp_path / "bad.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(ValueError, match=message):
        data.load_table(str(csv), "y")


def test_empty_file_is_not_a_csv(tmp_path: Path) -> None:
    csv = tmp_path / "empty.csv"
    csv.write_text("")
    with pytest.raises(ValueError, match="not a readable CSV"):
        data.load_table(str(csv), "y")


def test_split_is_stratified_disjoint_and_70_15_15() -> None:
    df = data.load_table("", "target")
    train, val, test = data.split(df, "target", seed=42)
    assert (len(train), len(val), len(test)) == (398, 85, 86)
    indexes = [set(part.index) for part in (train, val, test)]
    assert not (indexes[0] & indexes[1]) and not (indexes[0] & indexes[2])
    assert not (indexes[1] & indexes[2])
    assert indexes[0] | indexes[1] | indexes[2] == set(df.index)
    overall = df["target"].mean()
    for part in (train, val, test):
        assert part["target"].mean() == pytest.approx(overall, abs=0.02)


def test_split_is_reproducible_per_seed() -> None:
    df = data.load_table("", "target")
    first = data.split(df, "target", seed=7)
    again = data.split(df, "target", seed=7)
    other = data.split(df, "target", seed=8)
    for a, b in zip(first, again, strict=True):
        assert list(a.index) == list(b.index)
    assert list(first[2].index) != list(other[2].index)


def test_split_rejects_a_class_too_small_for_every_split() -> None:
    df = pd.DataFrame({"x": range(40), "y": ["a"] * 38 + ["b"] * 2})
    with pytest.raises(ValueError, match=r"cannot be split 70/15/15.*'b': 2"):
        data.split(df, "y", seed=0)


def test_class_labels_sort_numbers_numerically() -> None:
    assert data.class_labels(pd.Series([10, 2, 1, 2])) == ["1", "2", "10"]
    assert data.class_labels(pd.Series(["b", "a"])) == ["a", "b"]


def test_encode_labels_maps_to_indices_and_rejects_unknown() -> None:
    classes = ["1", "2", "10"]
    assert data.encode_labels(pd.Series([10, 1, 2]), classes).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match=r"\['3'\] are not among the trained classes"):
        data.encode_labels(pd.Series([3]), classes)


def test_preprocessor_scales_numbers_and_one_hot_encodes_categories() -> None:
    df = three_class_frame()
    features = df.drop(columns=["species"])
    pre = data.build_preprocessor(features)
    out = pre.fit_transform(features)
    assert out.shape == (90, 2 + 3)
    assert np.allclose(out[:, :2].mean(axis=0), 0.0, atol=1e-9)
    unseen = pd.DataFrame({"length": [np.nan], "width": [0.0], "colour": ["purple"]})
    row = pre.transform(unseen)
    assert np.isfinite(row).all()
    assert row[0, 2:].tolist() == [0.0, 0.0, 0.0]  # unknown category: all zeros


def test_local_paths_are_unchanged_and_gcs_uris_map_to_the_fuse_mount() -> None:
    assert storage.local_path_for("/data/x.csv") == Path("/data/x.csv")
    assert storage.local_path_for("rel/x.csv") == Path("rel/x.csv")
    assert storage.local_path_for("gs://bkt/a/b.csv") == Path("/gcs/bkt/a/b.csv")
    assert storage.local_path_for("gs://bkt") == Path("/gcs/bkt")
    assert storage.join_uri("gs://bkt/run/", "model.keras") == "gs://bkt/run/model.keras"
    with pytest.raises(ValueError, match="no bucket"):
        storage.local_path_for("gs:///x")


def test_gcs_read_without_fuse_or_credentials_names_the_uri(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(*args: object, **kwargs: object) -> None:
        raise DefaultCredentialsError("no credentials here")

    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path / "no-fuse")
    monkeypatch.setattr(google.auth, "default", no_credentials)
    with pytest.raises(storage.StorageError, match=r"cannot read gs://bkt/d\.csv: no Google"):
        storage.fetch("gs://bkt/d.csv")


def test_gcs_output_dir_without_fuse_is_staged_then_uploaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from storage_emulator import make_bucket, storage_emulator

    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path / "no-fuse")
    with storage_emulator():
        make_bucket("bkt", "europe-north1")
        staged = storage.prepare_output_dir("gs://bkt/out")
        assert not str(staged).startswith("/gcs")
        (staged / "model").mkdir()
        (staged / "model" / "metrics.json").write_text('{"accuracy": 1}')
        storage.publish_output_dir("gs://bkt/out", staged)
        assert storage.list_files("gs://bkt/out") == ["gs://bkt/out/model/metrics.json"]
        assert storage.read_text("gs://bkt/out/model/metrics.json") == '{"accuracy": 1}'


def test_gcs_uris_read_through_the_fuse_mount_when_present(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(storage, "GCS_FUSE_ROOT", tmp_path)
    (tmp_path / "bkt").mkdir()
    three_class_frame().to_csv(tmp_path / "bkt" / "d.csv", index=False)
    assert len(data.load_table("gs://bkt/d.csv", "species")) == 90
    assert storage.prepare_output_dir("gs://bkt/out") == tmp_path / "bkt" / "out"
