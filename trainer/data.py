"""Load a labelled table, split it reproducibly, and prepare labels and features.

The table is either scikit-learn's bundled breast-cancer data set (no download)
or a CSV file at a local path or ``gs://`` URI.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from carbon_aware import storage

BUNDLED_DATASET = "sklearn:breast_cancer"
BUNDLED_LABEL_COLUMN = "target"
MIN_ROWS = 20
TRAIN_FRACTION = 0.70
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15


def dataset_name(data_uri: str) -> str:
    """Return the name under which a data set is recorded.

    Args:
        data_uri: The ``data_uri`` given to :func:`load_table`.

    Returns:
        ``data_uri`` itself, or ``"sklearn:breast_cancer"`` when it is empty.
    """
    return data_uri or BUNDLED_DATASET


def load_table(data_uri: str, label_column: str) -> pd.DataFrame:
    """Load a labelled table and check that it can train a classifier.

    Args:
        data_uri: Empty for the bundled breast-cancer data (label column
            ``target``), else a CSV file as a local path or ``gs://`` URI.
        label_column: The column holding the class labels.

    Returns:
        The table, features and label column together.

    Raises:
        ValueError: If the file is missing or unreadable, the label column is
            absent or has missing values, there are fewer than ``MIN_ROWS``
            rows, or the label has a single class.
    """
    if not data_uri:
        frame = load_breast_cancer(as_frame=True).frame
        df = pd.DataFrame(frame)
    else:
        try:
            path = storage.fetch(data_uri)
        except FileNotFoundError as exc:
            raise ValueError(
                f"data_uri {data_uri!r} does not exist; give a CSV file as a local path or "
                "gs:// URI, or an empty data_uri for the bundled breast-cancer data"
            ) from exc
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"data_uri {data_uri!r} is not a readable CSV file: {exc}") from exc
    validate(df, dataset_name(data_uri), label_column)
    return df


def validate(df: pd.DataFrame, name: str, label_column: str) -> None:
    """Check that a table can train a classifier on ``label_column``.

    Args:
        df: The table.
        name: How to name the table in error messages.
        label_column: The label column.

    Raises:
        ValueError: If the label column is absent or has missing values, there
            are no feature columns or fewer than ``MIN_ROWS`` rows, or the label
            has a single class.
    """
    columns = [str(c) for c in df.columns]
    if label_column not in df.columns:
        raise ValueError(
            f"label_column {label_column!r} is not a column of {name}; columns are: {columns}"
        )
    if len(df.columns) < 2:
        raise ValueError(f"{name} has no feature columns besides label_column {label_column!r}")
    if len(df) < MIN_ROWS:
        raise ValueError(f"{name} has {len(df)} rows; at least {MIN_ROWS} rows are needed")
    missing = int(df[label_column].isna().sum())
    if missing:
        raise ValueError(
            f"label_column {label_column!r} of {name} has {missing} missing values; "
            "every row needs a label"
        )
    n_classes = int(df[label_column].nunique())
    if n_classes < 2:
        only = df[label_column].iloc[0]
        raise ValueError(
            f"label_column {label_column!r} of {name} has a single class ({only!r}); "
            "a classifier needs at least 2 classes"
        )


def split(
    df: pd.DataFrame, label_column: str, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split a table 70/15/15 into train, validation and test sets.

    The split is stratified on the label and depends only on ``df`` and
    ``seed``; rows keep their original index.

    Args:
        df: The table from :func:`load_table`.
        label_column: The label column to stratify on.
        seed: The random seed.

    Returns:
        The train, validation and test tables.

    Raises:
        ValueError: If some class has too few rows to appear in every split.
    """
    labels = df[label_column]
    try:
        train, rest = train_test_split(
            df, test_size=VAL_FRACTION + TEST_FRACTION, random_state=seed, stratify=labels
        )
        val, test = train_test_split(
            rest,
            test_size=TEST_FRACTION / (VAL_FRACTION + TEST_FRACTION),
            random_state=seed,
            stratify=rest[label_column],
        )
    except ValueError as exc:
        counts = {str(k): int(v) for k, v in labels.value_counts().items()}
        raise ValueError(
            f"label_column {label_column!r} cannot be split 70/15/15 with every class in "
            f"every split; rows per class: {counts} ({exc})"
        ) from exc
    return pd.DataFrame(train), pd.DataFrame(val), pd.DataFrame(test)


def class_labels(labels: pd.Series) -> list[str]:
    """Return the sorted distinct labels as strings (numeric order for numbers).

    Args:
        labels: The label column.

    Returns:
        The class names, in the order of the model's outputs.
    """
    values = list(pd.unique(labels))
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return [str(v) for v in values]


def encode_labels(labels: pd.Series, classes: list[str]) -> np.ndarray:
    """Map labels to their index in ``classes``.

    Args:
        labels: Label values.
        classes: Class names from :func:`class_labels`.

    Returns:
        An int array of class indices.

    Raises:
        ValueError: If a label is not one of ``classes``.
    """
    index = {name: i for i, name in enumerate(classes)}
    as_str = labels.astype(str)
    unknown = sorted(set(as_str) - set(index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the trained classes {classes}")
    return np.asarray(as_str.map(index), dtype=np.int64)


def build_preprocessor(features: pd.DataFrame) -> Any:
    """Make (unfitted) preprocessing: impute+scale numbers, impute+one-hot the rest.

    Args:
        features: The feature columns, used only for their names and dtypes.

    Returns:
        A scikit-learn ``ColumnTransformer`` producing a dense float matrix.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(features[c])]
    categorical = [c for c in features.columns if c not in numeric]
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if categorical:
        onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        imputer = SimpleImputer(strategy="most_frequent")
        parts.append(("categorical", make_pipeline(imputer, onehot), categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0)
