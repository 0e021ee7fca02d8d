"""carbon-aware setup: the printed gcloud script, checked offline (it never runs anything)."""

import json
import re
import subprocess

import pytest

from carbon_aware.delivery import deploy
from carbon_aware.vertex import base_output_directory

REGIONS = ["europe-north1", "europe-west1", "us-central1"]
ARGS = [
    "setup",
    "--project",
    "test-proj-123",
    "--regions",
    ",".join(REGIONS),
    "--bucket-template",
    "gs://test-proj-123-carbon-{region}",
]


def cli_main(argv, monkeypatch):
    """The ``carbon-aware`` console script's entry point."""
    from carbon_aware import cli

    return cli.main(argv)


@pytest.fixture
def no_processes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("setup ran a process")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def setup_output(argv, monkeypatch, capsys):
    code = cli_main(argv, monkeypatch)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_every_region_gets_a_bucket_with_lifecycle(monkeypatch, capsys, no_processes):
    out = setup_output([*ARGS, "--lifecycle-delete-days", "14", "--dry-run"], monkeypatch, capsys)
    for region in REGIONS:
        bucket = f"gs://test-proj-123-carbon-{region}"
        assert (
            f"gcloud storage buckets create {bucket} --project=test-proj-123 "
            f"--location={region} --uniform-bucket-level-access"
        ) in out
        assert f"gcloud storage buckets update {bucket} --lifecycle-file=" in out
        assert re.search(
            rf"add-iam-policy-binding {bucket} .*--role=roles/storage.objectAdmin", out
        )
    policy = json.loads(out.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    rule = policy["rule"][0]
    assert rule["action"] == {"type": "Delete"}
    assert rule["condition"]["age"] == 14


def test_lifecycle_only_touches_custom_job_staging():
    staging = base_output_directory("gs://p-carbon-{region}", "europe-west1", "run-1")
    assert staging.startswith(f"gs://p-carbon-europe-west1/{deploy.STAGING_PREFIX}")
    condition = deploy.lifecycle_policy(30)["rule"][0]["condition"]
    assert condition == {"age": 30, "matchesPrefix": [deploy.STAGING_PREFIX]}


def test_service_account_roles_and_apis(monkeypatch, capsys):
    out = setup_output(ARGS, monkeypatch, capsys)
    account = "serviceAccount:carbon-pipelines@test-proj-123.iam.gserviceaccount.com"
    for role in (
        "roles/aiplatform.user",
        "roles/artifactregistry.reader",
        "roles/iam.serviceAccountUser",
        "roles/secretmanager.secretAccessor",
    ):
        assert re.search(rf"--member={account} --role={role}", out), role
    for api in ("aiplatform.googleapis.com", "secretmanager.googleapis.com"):
        assert api in out
    assert "--repository-format=docker" in out and "--repository-format=kfp" in out


def test_secret_value_is_read_from_stdin_only(monkeypatch, capsys):
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", "sk-very-secret-value")
    out = setup_output([*ARGS, "--secret-name", "em-key"], monkeypatch, capsys)
    assert "gcloud secrets create em-key --project=test-proj-123" in out
    assert "--data-file=-" in out
    assert "sk-very-secret-value" not in out
    assert not re.search(r"--data-file=(?!-)", out)


def test_dry_run_changes_nothing(monkeypatch, capsys, no_processes):
    assert setup_output(ARGS, monkeypatch, capsys) == setup_output(
        [*ARGS, "--dry-run"], monkeypatch, capsys
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("--regions", "europe-west1,europe-west99"), "valid regions"),
        (("--regions", "europe-west1,,us-central1"), "separated by commas"),
        (("--regions", "europe-west1,europe-west1"), "twice"),
        (("--bucket-template", "gs://fixed-bucket"), "{region}"),
        (("--bucket-template", "gs://UPPER-{region}"), "valid Cloud Storage bucket name"),
        (("--project", "X"), "project id"),
        (("--lifecycle-delete-days", "0"), "1 or more"),
    ],
)
def test_bad_setup_options(monkeypatch, capsys, change, expected):
    argv = list(ARGS)
    if change[0] in argv:
        argv[argv.index(change[0]) + 1] = change[1]
    else:
        argv += list(change)
    assert cli_main(argv, monkeypatch) == 2
    assert expected in capsys.readouterr().err


def test_without_a_bucket_template_setup_creates_the_buckets_a_console_run_uses(
    monkeypatch, capsys
):
    argv = ["setup", "--project", "test-proj-123", "--regions", "europe-west1,us-central1"]
    out = setup_output(argv, monkeypatch, capsys)
    for region in ("europe-west1", "us-central1"):
        assert f"buckets create gs://test-proj-123-carbon-{region} " in out
    assert "defers itself as this account" in out
