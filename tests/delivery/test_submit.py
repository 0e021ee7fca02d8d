"""carbon-aware submit / upload: validation before any network, and offline dry runs.

Nothing here reaches Google Cloud. Dry runs build a real ``aiplatform.PipelineJob`` from a template
compiled in a temporary directory, with ``AnonymousCredentials``. Mocked, because they have no
local stand-in: ``PipelineJob.get`` (reads a past run) and Application Default Credentials.
"""

import json
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from carbon_aware.delivery import submit

BASE = ["submit", "--project", "test-proj-123", "--location", "europe-west4"]
ROOT = ["--pipeline-root", "gs://test-proj-123-root/runs"]
BUCKETS = "regional_bucket_template=gs://test-proj-123-carbon-{region}"


def cli_main(argv, monkeypatch):
    """The ``carbon-aware`` console script's entry point."""
    from carbon_aware import cli

    return cli.main(argv)


class FailingCredentials(AnonymousCredentials):
    """Credentials that fail the test if anything tries to use them."""

    def refresh(self, request):
        raise AssertionError("credentials used: a network call was attempted")

    def apply(self, headers, token=None):
        raise AssertionError("credentials used: a network call was attempted")

    def before_request(self, request, method, url, headers):
        raise AssertionError("credentials used: a network call was attempted")


@pytest.fixture
def no_cloud(monkeypatch):
    """Any PipelineJob construction or fetch fails the test; credentials must not be used."""
    built = []

    def refuse(*args, **kwargs):
        built.append((args, kwargs))
        raise AssertionError("a PipelineJob was constructed or fetched")

    monkeypatch.setattr(submit, "_credentials", lambda offline: FailingCredentials())
    monkeypatch.setattr(aiplatform, "PipelineJob", refuse)
    return built


def all_tasks(pipeline_spec):
    dags = [pipeline_spec["root"]["dag"]]
    dags += [c["dag"] for c in pipeline_spec["components"].values() if "dag" in c]
    return [task for dag in dags for task in dag["tasks"].values()]


def dry_run(argv, monkeypatch, capsys):
    code = cli_main([*argv, "--dry-run"], monkeypatch)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("nonsense=1", "unknown pipeline parameter(s) nonsense"),
        ("epochs=many", "parameter epochs expects integer"),
        ("min_quality=high", "parameter min_quality expects number"),
        ("candidate_regions=[europe-west1", "parameter candidate_regions expects list"),
        ("candidate_regions=europe-west1,europe-west99", "europe-west99"),
        ("baseline_region=mars-central1", "mars-central1"),
        ("accelerator_count=2", "accelerator_count"),
        ("novalue", "must look like name=value"),
    ],
)
def test_bad_params_fail_before_any_network(
    compiled_template, monkeypatch, capsys, no_cloud, param, expected
):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    code = cli_main([*argv, "--param", param], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert no_cloud == []


def test_bad_region_lists_the_valid_ones(compiled_template, monkeypatch, capsys, no_cloud):
    argv = [*BASE, *ROOT, "--template", str(compiled_template)]
    code = cli_main([*argv, "--param", "candidate_regions=europe-west99"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "valid regions" in err and "us-central1" in err


def test_params_file_values_are_checked_too(
    compiled_template, tmp_path, monkeypatch, capsys, no_cloud
):
    params = tmp_path / "run.yaml"
    params.write_text("epochs: ten\n")
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--params-file", str(params)]
    assert cli_main(argv, monkeypatch) == 2
    assert "parameter epochs expects integer" in capsys.readouterr().err
    assert no_cloud == []


def test_vertex_backend_needs_a_bucket_template(compiled_template, monkeypatch, capsys, no_cloud):
    assert cli_main([*BASE, *ROOT, "--template", str(compiled_template)], monkeypatch) == 2
    assert "regional_bucket_template" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--label", "Team=x"], "--label"),
        (["--location", "europe-west99"], "europe-west99"),
        (["--pipeline-root", "/tmp/root"], "gs://"),
        (["--start-at", "2020-01-01T00:00Z"], "not in the future"),
        (["--start-at", "2099-01-01T00:00"], "UTC offset"),
        (["--from-run", "not a run"], "--from-run"),
        (["--service-account", "carbon-pipelines"], "--service-account"),
    ],
)
def test_bad_options_fail_before_any_network(
    compiled_template, monkeypatch, capsys, no_cloud, extra, expected
):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS, *extra]
    assert cli_main(argv, monkeypatch) == 2
    assert expected in capsys.readouterr().err
    assert no_cloud == []


def test_dry_run_prints_the_request_offline(compiled_template, monkeypatch, capsys):
    argv = [
        *BASE,
        *ROOT,
        "--template",
        str(compiled_template),
        "--service-account",
        "carbon-pipelines@test-proj-123.iam.gserviceaccount.com",
        "--param",
        BUCKETS,
        "--param",
        "epochs=3",
        "--param",
        "candidate_regions=europe-west1,europe-north1",
        "--param",
        "min_quality=0.95",
        "--label",
        "team=green",
        "--no-cache",
    ]
    request = dry_run(argv, monkeypatch, capsys)
    assert request["method"] == "POST"
    assert request["url"].startswith(
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/test-proj-123/"
        "locations/europe-west4/pipelineJobs?pipelineJobId=carbon-aware-training-"
    )
    body = request["body"]
    assert body["serviceAccount"] == "carbon-pipelines@test-proj-123.iam.gserviceaccount.com"
    assert body["labels"] == {"team": "green"}
    runtime = body["runtimeConfig"]
    assert runtime["gcsOutputDirectory"] == "gs://test-proj-123-root/runs"
    values = runtime["parameterValues"]
    assert values["epochs"] == 3 and not isinstance(values["epochs"], str)
    assert values["min_quality"] == 0.95
    assert values["candidate_regions"] == ["europe-west1", "europe-north1"]
    assert values["project"] == "test-proj-123"  # from --project
    assert "seed" not in values  # template defaults stay in the template
    caching = [task["cachingOptions"] for task in all_tasks(body["pipelineSpec"])]
    assert len(caching) >= 5 and all(c == {"enableCache": False} for c in caching)


def test_without_no_cache_the_templates_caching_stays(compiled_template, monkeypatch, capsys):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    body = dry_run(argv, monkeypatch, capsys)["body"]
    tasks = body["pipelineSpec"]["root"]["dag"]["tasks"]
    assert tasks["evaluate"]["cachingOptions"] == {"enableCache": True}
    # Live intensity is compiled uncached; the template's choice survives.
    assert tasks["fetch-intensity"]["cachingOptions"].get("enableCache", False) is False
    assert "serviceAccount" not in body and "labels" not in body


def test_params_file_then_param_override(compiled_template, tmp_path, monkeypatch, capsys):
    params = tmp_path / "run.yaml"
    params.write_text(
        "epochs: 5\nseed: 7\nbackend: vertex\n"
        "regional_bucket_template: gs://test-proj-123-carbon-{region}\n"
    )
    argv = [*BASE, "--template", str(compiled_template), "--params-file", str(params)]
    body = dry_run([*argv, "--param", "epochs=9"], monkeypatch, capsys)["body"]
    values = body["runtimeConfig"]["parameterValues"]
    assert values["epochs"] == 9  # --param beats the file
    assert values["seed"] == 7  # the file beats the template default
    # No --pipeline-root: the bucket of --location from regional_bucket_template.
    root = body["runtimeConfig"]["gcsOutputDirectory"]
    assert root == "gs://test-proj-123-carbon-europe-west4/pipeline-root"


def test_repository_params_file_is_valid(compiled_template, monkeypatch, capsys):
    argv = [*BASE, "--template", str(compiled_template)]
    params = Path(__file__).resolve().parents[2] / "pipelines" / "configs" / "dev.yaml"
    body = dry_run([*argv, "--params-file", str(params)], monkeypatch, capsys)
    assert body["body"]["runtimeConfig"]["parameterValues"]["backend"] == "vertex"


def test_from_run_copies_parameters_with_overrides(compiled_template, monkeypatch, capsys):
    class PastRun:
        def to_dict(self):
            values = {"epochs": 4.0, "seed": 11.0, "backend": "vertex", "gone_parameter": "x"}
            values["regional_bucket_template"] = "gs://test-proj-123-carbon-{region}"
            values["project"] = "test-proj-123"
            return {"runtimeConfig": {"parameterValues": values}}

    fetched = []

    def get(resource_name, project=None, location=None, credentials=None):
        fetched.append(resource_name)
        return PastRun()

    monkeypatch.setattr(aiplatform.PipelineJob, "get", get)  # reads Vertex AI: no local stand-in
    monkeypatch.setattr(submit, "_credentials", lambda offline: AnonymousCredentials())  # no ADC
    run = "projects/test-proj-123/locations/europe-west4/pipelineJobs/carbon-aware-training-1"
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--from-run", run]
    request = dry_run([*argv, "--param", "epochs=6"], monkeypatch, capsys)
    values = request["body"]["runtimeConfig"]["parameterValues"]
    assert fetched == [run]
    assert values["epochs"] == 6 and values["seed"] == 11
    assert "gone_parameter" not in values
    assert request["body"]["labels"] == {"rerun-of": "carbon-aware-training-1"}


def test_start_at_prints_a_one_off_schedule(compiled_template, monkeypatch, capsys):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    request = dry_run([*argv, "--start-at", "2099-03-04T05:06:30+01:00"], monkeypatch, capsys)
    assert request["url"].endswith("/locations/europe-west4/schedules")
    body = request["body"]
    assert body["cron"] == "TZ=UTC 6 4 4 3 *"
    assert body["maxRunCount"] == "1"
    assert body["startTime"] == "2099-03-04T04:05:00Z"
    assert body["endTime"] == "2099-03-04T05:06:00Z"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["runtimeConfig"]["parameterValues"]["project"] == "test-proj-123"


def test_submit_can_be_switched_off_for_ci(monkeypatch, capsys, no_cloud):
    argv = [*BASE, "--template", "missing.yaml", "--enabled", "false"]
    assert cli_main(argv, monkeypatch) == 0
    assert "skipped" in capsys.readouterr().out


def test_registry_urls_must_name_a_version(monkeypatch, capsys, no_cloud):
    argv = [*BASE, "--template", "https://example.com/pipeline.yaml", "--dry-run"]
    assert cli_main(argv, monkeypatch) == 2
    assert "Artifact Registry" in capsys.readouterr().err


def test_upload_dry_run(compiled_template, monkeypatch, capsys):
    host = "https://europe-west4-kfp.pkg.dev/test-proj-123/carbon-aware-pipelines"
    argv = ["upload", "--template", str(compiled_template), "--host", host, "--tag", "0123abc"]
    code = cli_main([*argv, "--package-version-tag", "--dry-run"], monkeypatch)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["url"] == host and out["package"] == "carbon-aware-training"
    assert out["tags"][0] == "0123abc" and out["tags"][1].startswith("v")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--host", "https://example.com/repo"], "--host"),
        (["--host", "https://europe-west4-kfp.pkg.dev/p/r", "--tag", "bad tag"], "--tag"),
    ],
)
def test_upload_refuses_bad_host_or_tag(compiled_template, monkeypatch, capsys, extra, expected):
    code = cli_main(["upload", "--template", str(compiled_template), *extra], monkeypatch)
    assert code == 2 and expected in capsys.readouterr().err


@pytest.fixture
def fake_vertex(monkeypatch):
    """Stands in for the two Vertex AI create calls and for Application Default Credentials."""
    calls = []

    def fake_submit(self, service_account=None, **kwargs):
        calls.append(("submit", service_account, self.to_dict()))
        self._gca_resource.name = f"projects/p/locations/l/pipelineJobs/{self.job_id}"

    def fake_schedule(self, **kwargs):
        calls.append(("schedule", kwargs, self.to_dict()))
        return type("Schedule", (), {"resource_name": "projects/p/locations/l/schedules/1"})()

    monkeypatch.setattr(aiplatform.PipelineJob, "submit", fake_submit)
    monkeypatch.setattr(aiplatform.PipelineJob, "create_schedule", fake_schedule)
    monkeypatch.setattr(submit, "_credentials", lambda offline: AnonymousCredentials())
    return calls


def test_submit_sends_the_job_with_its_service_account(
    compiled_template, monkeypatch, capsys, fake_vertex
):
    account = "carbon-pipelines@test-proj-123.iam.gserviceaccount.com"
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    assert cli_main([*argv, "--service-account", account], monkeypatch) == 0
    assert "submitted projects/p/locations/l/pipelineJobs/" in capsys.readouterr().out
    [(kind, service_account, body)] = fake_vertex
    assert (kind, service_account) == ("submit", account)
    assert body["runtimeConfig"]["parameterValues"]["project"] == "test-proj-123"


def test_start_at_creates_a_schedule_that_runs_once(
    compiled_template, monkeypatch, capsys, fake_vertex
):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    assert cli_main([*argv, "--start-at", "2099-03-04T05:06Z"], monkeypatch) == 0
    assert "scheduled projects/p/locations/l/schedules/1" in capsys.readouterr().out
    [(kind, kwargs, _)] = fake_vertex
    assert kind == "schedule"
    assert kwargs["cron"] == "TZ=UTC 6 5 4 3 *" and kwargs["max_run_count"] == 1
    assert kwargs["start_time"] == "2099-03-04T05:05:00Z"


# Issue 15: careless input is refused in one line, exit code 2, before any network call.
@pytest.fixture(scope="module")
def local_image_template(tmp_path_factory):
    """The template run-local compiles: its image tag exists on no registry."""
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    from carbon_aware.cli import LOCAL_IMAGE

    return compile_pipeline(LOCAL_IMAGE, tmp_path_factory.mktemp("local") / "pipeline.yaml")


@pytest.mark.parametrize(
    "argv",
    [
        [*BASE, *ROOT, "--param", BUCKETS, "--dry-run"],
        ["upload", "--host", "https://europe-west4-kfp.pkg.dev/p/r", "--tag", "t", "--dry-run"],
    ],
    ids=["submit", "upload"],
)
def test_template_whose_images_have_no_registry_host_is_refused(
    local_image_template, monkeypatch, capsys, no_cloud, argv
):
    code = cli_main([*argv, "--template", str(local_image_template)], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert "step image 'carbon-aware-vertex:local' has no registry host" in err
    assert no_cloud == []


@pytest.fixture
def careless_files(tmp_path):
    (tmp_path / "broken.yaml").write_text("epochs: [1, 2\nseed: 3\n")
    (tmp_path / "folder").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--template", "{tmp}/missing.yaml"], "--template '{tmp}/missing.yaml': no such file"),
        (["--template", "{tmp}/folder"], "--template '{tmp}/folder' is a directory, not a file"),
        (["--template", "{tmp}/broken.yaml"], "--template '{tmp}/broken.yaml' is not valid YAML"),
        (["--params-file", "{tmp}/missing.yaml"], "--params-file '{tmp}/missing.yaml': no such"),
        (["--params-file", "{tmp}/broken.yaml"], "'{tmp}/broken.yaml' is not valid YAML at line"),
        (["--start-at", "9999-12-31T23:59Z"], "--start-at '9999-12-31T23:59Z' is too far"),
        (["--from-run", ""], "--from-run '' must be"),
        (["--params-file", ""], "--params-file is empty"),
        (["--service-account", ""], "--service-account '' must be"),
        (["--location", "europe-west44"], "--location: unknown region 'europe-west44'"),
    ],
    ids=[
        "missing-template",
        "dir-template",
        "yaml-template",
        "missing-params",
        "yaml-params",
        "year-9999",
        "empty-from-run",
        "empty-params-file",
        "empty-service-account",
        "location",
    ],
)
def test_careless_submit_options_get_one_line_and_exit_2(
    compiled_template, careless_files, monkeypatch, capsys, no_cloud, extra, expected
):
    extra = [item.format(tmp=careless_files) for item in extra]
    argv = [*BASE, *ROOT, "--param", BUCKETS, "--dry-run"]
    if "--template" not in extra:
        argv += ["--template", str(compiled_template)]
    code = cli_main([*argv, *extra], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert expected.format(tmp=careless_files) in err
    assert err.count("\n") == 1, err
    assert no_cloud == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (["intensity_provider=electricitymaps"], "needs api_key_secret on Vertex AI"),
        (["intensity_provider=watttime"], "needs api_key_secret on Vertex AI"),
        (["data_uri=data/train.csv"], "data_uri 'data/train.csv' is a local path"),
        (
            ["intensity_provider=csv", "intensity_csv=forecast.csv"],
            "intensity_csv 'forecast.csv' is a local path",
        ),
    ],
)
def test_submit_refuses_inputs_a_vertex_step_cannot_see(
    compiled_template, monkeypatch, capsys, no_cloud, params, expected
):
    # The key is in this machine's environment, which the pipeline's steps never see.
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", "local-only-key")
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    for item in params:
        argv += ["--param", item]
    assert cli_main([*argv, "--dry-run"], monkeypatch) == 2
    assert expected in capsys.readouterr().err
    assert no_cloud == []
