"""Checks before a run: the training data is read and checked where it can be, before training.

``gs://`` data is served by gcp-storage-emulator on 127.0.0.1 (STORAGE_EMULATOR_HOST), which the
trainer's own google-cloud-storage download talks to as it would to Cloud Storage.
"""

import socket

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from carbon_aware.delivery.local_run import local_parameters

BUCKET = "carbon-aware-test-data"


def table(rows=40, classes=2, duplicate=False):
    lines = ["id,f1,f2,label"]
    for i in range(rows):
        key = 0 if duplicate else i
        lines.append(f"{key},{i % 7},{(i * 3) % 11},{i % classes}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="train.csv"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


@pytest.mark.parametrize(
    ("text", "params", "message"),
    [
        (None, {}, r"data_uri '.*/absent.csv' does not exist"),
        (table(), {"label_column": "target"}, r"label_column 'target' is not a column"),
        (table(rows=5), {}, r"has 5 rows; at least 20 rows are needed"),
        (table(classes=1), {}, r"label_column 'label' .* has a single class"),
        (table(), {"dedupe": "key:user"}, r"dedupe key column 'user' is not a column"),
        (table(), {"keep_columns": "f1,f9"}, r"keep_columns names columns that do not exist"),
        (table(duplicate=True), {"dedupe": "key:id"}, r"after dedupe='key:id'.* has 1 rows"),
    ],
    ids=[
        "missing",
        "label",
        "rows",
        "classes",
        "dedupe-key",
        "keep-columns",
        "rows-after-dedupe",
    ],
)
def test_run_local_refuses_unusable_data_before_the_run(
    compiled_template, csv_file, tmp_path, text, params, message
):
    uri = csv_file(text) if text is not None else str(tmp_path / "absent.csv")
    overrides = {"data_uri": uri, "label_column": "label", **params}
    with pytest.raises(ValueError, match=message):
        local_parameters(compiled_template, overrides)


def test_usable_data_passes(compiled_template, csv_file):
    overrides = {"data_uri": csv_file(table()), "label_column": "label", "keep_columns": "f1"}
    assert local_parameters(compiled_template, overrides)["data_uri"].endswith("train.csv")


def test_the_bundled_data_is_checked_too(compiled_template):
    with pytest.raises(ValueError, match="keep_columns names columns that do not exist"):
        local_parameters(compiled_template, {"keep_columns": "mean radius,mean radiu"})


@pytest.fixture
def gcs(monkeypatch):
    """A storage emulator on loopback with one bucket; the Cloud Storage client points at it."""
    from gcp_storage_emulator.server import create_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    client = storage.Client(project="test", credentials=AnonymousCredentials())
    yield client.bucket(BUCKET)
    server.stop()


def test_gcs_data_is_read_and_checked_before_the_run(compiled_template, gcs):
    from carbon_aware.preflight import check_training_data

    gcs.blob("no-label.csv").upload_from_string(table().replace("label", "class"))
    gcs.blob("good.csv").upload_from_string(table())
    overrides = {"data_uri": f"gs://{BUCKET}/no-label.csv", "label_column": "label"}
    with pytest.raises(ValueError, match="label_column 'label' is not a column"):
        local_parameters(compiled_template, overrides)
    with pytest.raises(ValueError, match="does not exist"):
        check_training_data(f"gs://{BUCKET}/absent.csv", "label", "none", "")
    check_training_data(f"gs://{BUCKET}/good.csv", "label", "key:id", "f1,f2")
