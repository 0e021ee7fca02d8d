"""``carbon-aware doctor`` against stand-ins of the Google APIs it reads.

Cloud Storage is a real emulator (gcp-storage-emulator) reached through google-cloud-storage; the
Service Usage, Artifact Registry, Cloud Quotas and Resource Manager REST APIs are one small HTTP
server on 127.0.0.1
answering with the documented JSON shapes (and Google's ``{"error": {...}}`` bodies). The only
thing mocked is sign-in: AnonymousCredentials are injected, since there is no local stand-in for
Google's token service.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from gcp_storage_emulator.server import create_server
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from carbon_aware.cli import build_parser, main
from carbon_aware.delivery.doctor import Endpoints, quota_value, run_doctor

PROJECT = "my-proj-1"
SA = f"carbon-pipelines@{PROJECT}.iam.gserviceaccount.com"
TEMPLATE = f"gs://{PROJECT}-carbon-{{region}}"
IMAGE = f"europe-west4-docker.pkg.dev/{PROJECT}/carbon-aware/team/trainer:abc123"
SERVICE = f"/v1/projects/{PROJECT}/services/aiplatform.googleapis.com"
POLICY = f"/v1/projects/{PROJECT}:getIamPolicy"
QUOTAS = f"/v1/projects/{PROJECT}/locations/global/services/aiplatform.googleapis.com/quotaInfos"
TAG = (
    f"/v1/projects/{PROJECT}/locations/europe-west4/repositories/carbon-aware"
    "/packages/team%2Ftrainer/tags/abc123"
)
CPUS = "aiplatform.googleapis.com/custom_model_training_cpus"
T4 = "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus"
Route = Callable[[dict[str, str]], tuple[int, Any]]


def google_error(code: int, status: str, message: str) -> tuple[int, Any]:
    return code, {"error": {"code": code, "message": message, "status": status}}


def quota_info(quota_id: str, metric: str, *dimensions_infos: dict[str, Any]) -> dict[str, Any]:
    """A QuotaInfo as Cloud Quotas v1 returns it (int64 values as strings)."""
    return {
        "name": f"projects/{PROJECT}/locations/global/services/aiplatform.googleapis.com"
        f"/quotaInfos/{quota_id}",
        "quotaId": quota_id,
        "metric": metric,
        "service": "aiplatform.googleapis.com",
        "containerType": "PROJECT",
        "dimensions": ["region"],
        "dimensionsInfos": list(dimensions_infos),
    }


def per_region(value: int, region: str | None = None) -> dict[str, Any]:
    dims = {"region": region} if region else {}
    return {
        "dimensions": dims,
        "details": {"value": str(value)},
        "applicableLocations": [region or "global"],
    }


class GoogleStandIn:
    """One loopback server for the REST APIs; records each request's path and query (or body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query: dict[str, Any] = dict(parse_qsl(parts.query))
                if self.command == "POST":
                    query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append((parts.path, query))
                route = outer.routes.get(parts.path)
                status, body = (
                    route(query) if route else google_error(404, "NOT_FOUND", "no such resource")
                )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, status: int, body: Any) -> None:
        self.routes[path] = lambda _query: (status, body)


@pytest.fixture
def google() -> Iterator[GoogleStandIn]:
    stand_in = GoogleStandIn()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs(emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[storage.Client]:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator_url)
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())
    yield client
    requests.get(f"{emulator_url}/wipe", timeout=5)


def make_bucket(client: storage.Client, region: str, location: str, member: str = "") -> None:
    name = f"{PROJECT}-carbon-{region}"
    client.create_bucket(name)
    # The emulator ignores `location` on insert (always "US") but honours a PATCH of it, so the
    # location is set the way the JSON API allows.
    host = client._connection.API_BASE_URL  # the emulator's URL, as the client library uses it
    requests.patch(f"{host}/storage/v1/b/{name}", json={"location": location}, timeout=5)
    if member:
        bucket = client.bucket(name)
        policy = bucket.get_iam_policy(requested_policy_version=3)
        policy.bindings.append({"role": "roles/storage.objectAdmin", "members": {member}})
        bucket.set_iam_policy(policy)


def loopback(google: GoogleStandIn) -> Endpoints:
    return Endpoints(google.url, google.url, google.url, google.url)


def policy(role: str, member: str) -> dict[str, Any]:
    """A project IAM policy as Resource Manager v1 returns it."""
    return {"version": 1, "etag": "BwXyz", "bindings": [{"role": role, "members": [member]}]}


def doctor(google: GoogleStandIn, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple:
    argv = ["doctor", "--project", PROJECT, "--bucket-template", TEMPLATE, "--json", *flags]
    args = build_parser().parse_args(argv)
    code = run_doctor(args, credentials=AnonymousCredentials(), endpoints=loopback(google))
    report = json.loads(capsys.readouterr().out)
    rows = {(row["region"], row["check"]): row for row in report["checks"]}
    return code, report, rows


def test_a_ready_project_passes_every_check(google, gcs, capsys):
    make_bucket(gcs, "europe-west4", "EUROPE-WEST4", f"serviceAccount:{SA}")
    make_bucket(gcs, "europe-west1", "EUROPE-WEST1")  # granted on the project instead
    google.answer(POLICY, 200, policy("roles/storage.objectAdmin", f"serviceAccount:{SA}"))
    google.answer(SERVICE, 200, {"name": "projects/123/services/aiplatform.googleapis.com",
                                 "state": "ENABLED", "parent": "projects/123"})  # fmt: skip
    google.answer(TAG, 200, {"name": TAG[4:], "version": "sha256:" + "a" * 64})
    cpus = quota_info("CustomModelTrainingCPUsPerProjectPerRegion", CPUS,
                      per_region(8, "europe-west4"), per_region(4))  # fmt: skip
    t4 = quota_info("CustomModelTrainingNvidiaT4GPUsPerProjectPerRegion", T4, per_region(1))
    pages = {"": {"quotaInfos": [cpus], "nextPageToken": "p2"}, "p2": {"quotaInfos": [t4]}}
    google.routes[QUOTAS] = lambda query: (200, pages[query.get("pageToken", "")])

    code, report, rows = doctor(
        google, capsys, "--regions", "europe-west4,europe-west1", "--image", IMAGE,
        "--accelerator-type", "NVIDIA_TESLA_T4", "--accelerator-count", "1",
        "--service-account", SA,
    )  # fmt: skip

    assert code == 0 and report["ok"] is True
    assert [row["ok"] for row in report["checks"]] == [True] * 14
    assert rows["europe-west4", "image"]["problem"] == ""
    assert "cross-region pull" in rows["europe-west1", "image"]["problem"]
    assert [query for path, query in google.seen if path == QUOTAS] == [{}, {"pageToken": "p2"}]
    assert (TAG, {}) in google.seen  # the nested image path travels escaped as one segment
    assert (POLICY, {"options": {"requestedPolicyVersion": 3}}) in google.seen


def test_each_problem_is_named_with_the_command_that_fixes_it(google, gcs, capsys):
    make_bucket(gcs, "europe-west4", "EUROPE-WEST4")  # no grant for the service account
    google.answer(POLICY, 200, policy("roles/storage.objectViewer", f"serviceAccount:{SA}"))
    make_bucket(gcs, "us-east4", "US")  # a multi-region bucket
    google.answer(SERVICE, 200, {"name": "projects/123/services/aiplatform.googleapis.com",
                                 "state": "DISABLED"})  # fmt: skip
    google.answer(TAG, *google_error(404, "NOT_FOUND", "Requested entity was not found."))
    google.answer(QUOTAS, 200, {"quotaInfos": [
        quota_info("CustomModelTrainingCPUsPerProjectPerRegion", CPUS, per_region(20)),
        quota_info("CustomModelTrainingNvidiaT4GPUsPerProjectPerRegion", T4,
                   {"dimensions": {"region": "europe-west4"}, "details": {}}, per_region(4)),
    ]})  # fmt: skip

    code, report, rows = doctor(
        google, capsys, "--regions", "europe-west4,europe-west1,us-east4", "--image", IMAGE,
        "--accelerator-type", "NVIDIA_TESLA_T4", "--accelerator-count", "2",
        "--service-account", SA,
    )  # fmt: skip

    assert code == 1 and report["ok"] is False
    access = rows["europe-west4", "bucket-access"]
    assert access["problem"] == (  # the project's objectViewer gives get and list, not create
        f"serviceAccount:{SA} lacks storage.objects.create on gs://{PROJECT}-carbon-europe-west4 "
        "(custom roles are not resolved)"
    )
    assert access["fix"] == (
        f"gcloud storage buckets add-iam-policy-binding gs://{PROJECT}-carbon-europe-west4 "
        f"--member=serviceAccount:{SA} --role=roles/storage.objectAdmin"
    )
    missing = rows["europe-west1", "bucket"]
    assert missing["problem"] == f"gs://{PROJECT}-carbon-europe-west1 does not exist"
    assert missing["fix"] == (
        f"gcloud storage buckets create gs://{PROJECT}-carbon-europe-west1 "
        f"--location=europe-west1 --uniform-bucket-level-access --project={PROJECT} && "
        f"gcloud storage buckets add-iam-policy-binding gs://{PROJECT}-carbon-europe-west1 "
        f"--member=serviceAccount:{SA} --role=roles/storage.objectAdmin"
    )
    assert "is in US, not us-east4" in rows["us-east4", "bucket"]["problem"]
    assert rows["europe-west4", "vertex-api"]["fix"] == (
        f"gcloud services enable aiplatform.googleapis.com --project {PROJECT}"
    )
    image = rows["europe-west4", "image"]
    assert "HTTP 404 NOT_FOUND: Requested entity was not found." in image["problem"]
    assert image["fix"] == f"docker push {IMAGE}"
    # A zero quota is left out of proto3 JSON; europe-west4's own entry wins over the default.
    t4 = rows["europe-west4", "quota-accelerators"]
    assert "is 0 in europe-west4, the job needs 2" in t4["problem"]
    assert t4["fix"] == (
        "gcloud quotas preferences create --service=aiplatform.googleapis.com "
        f"--project={PROJECT} --quota-id=CustomModelTrainingNvidiaT4GPUsPerProjectPerRegion "
        "--preferred-value=2 --dimensions=region=europe-west4"
    )
    assert rows["europe-west1", "quota-accelerators"]["ok"]
    assert rows["europe-west1", "quota-cpus"]["ok"]


def test_google_errors_are_reported_per_check_not_raised(google, gcs, capsys):
    make_bucket(gcs, "europe-west4", "EUROPE-WEST4")
    denied = google_error(403, "PERMISSION_DENIED", "Permission denied on resource project.")
    google.answer(SERVICE, *denied)
    unused = "Cloud Quotas API has not been used in project 123 before or it is disabled."
    google.answer(QUOTAS, *google_error(403, "PERMISSION_DENIED", unused))
    digest = "sha256:" + "b" * 64
    image = f"europe-west4-docker.pkg.dev/{PROJECT}/carbon-aware/trainer@{digest}"
    google.answer(
        f"/v1/projects/{PROJECT}/locations/europe-west4/repositories/carbon-aware"
        f"/dockerImages/trainer@{digest}",
        200, {"name": "…", "uri": image, "tags": ["abc123"]},
    )  # fmt: skip

    code, _, rows = doctor(google, capsys, "--regions", "europe-west4", "--image", image)

    assert code == 1
    assert rows["europe-west4", "vertex-api"]["problem"] == (
        "cannot read the Vertex AI API state: "
        "HTTP 403 PERMISSION_DENIED: Permission denied on resource project."
    )
    quota = rows["europe-west4", "quota-cpus"]
    assert "Cloud Quotas API has not been used" in quota["problem"]
    assert quota["fix"] == f"gcloud services enable cloudquotas.googleapis.com --project {PROJECT}"
    assert rows["europe-west4", "image"]["ok"]
    # No --service-account: testIamPermissions answers for the caller, and the row says so.
    access = rows["europe-west4", "bucket-access"]
    assert access["ok"] and "Custom Code Service Agent" in access["problem"]
    assert POLICY not in [path for path, _ in google.seen]


def test_what_cannot_be_read_or_checked_is_said(google, gcs, capsys):
    make_bucket(gcs, "europe-west4", "EUROPE-WEST4")
    google.answer(POLICY, *google_error(403, "PERMISSION_DENIED", "getIamPolicy denied."))
    google.answer(SERVICE, 200, {"state": "ENABLED"})
    google.answer(QUOTAS, 200, {"quotaInfos": [quota_info("Cpus", CPUS, per_region(8))]})
    latest = "/v1/projects/other-proj/locations/europe/repositories/base/packages/img/tags/latest"
    google.answer(latest, 200, {"name": latest[4:], "version": "…"})

    code, _, rows = doctor(
        google, capsys, "--regions", "europe-west4", "--service-account", SA,
        "--image", "europe-docker.pkg.dev/other-proj/base/img",
        "--machine-type", "cloud-tpu", "--accelerator-type", "TPU_V2", "--accelerator-count", "8",
    )  # fmt: skip

    assert code == 1
    assert rows["europe-west4", "bucket-access"]["problem"].endswith(
        "(custom roles are not resolved; the project's roles could not be read: "
        "HTTP 403 PERMISSION_DENIED: getIamPolicy denied.)"
    )
    image = rows["europe-west4", "image"]
    assert image["ok"] and image["problem"].split("; ") == [
        "no tag: Vertex AI pulls :latest, which moves",
        f"in project other-proj: grant the Vertex AI Service Agent of {PROJECT} "
        "roles/artifactregistry.reader there",
        "registry in europe, job in europe-west4: cross-region pull",
    ]
    tpu = rows["europe-west4", "quota-accelerators"]
    assert tpu["ok"] and tpu["problem"].startswith("TPU and TPU host quota not checked")
    assert ("europe-west4", "quota-cpus") not in rows  # a TPU host's vCPUs: TPU quota


def test_text_output_one_line_per_region_then_checks(google, gcs, capsys):
    make_bucket(gcs, "europe-west4", "EUROPE-WEST4", f"serviceAccount:{SA}")
    google.answer(SERVICE, 200, {"state": "ENABLED"})
    google.answer(QUOTAS, 200, {"quotaInfos": [quota_info("Cpus", CPUS, per_region(2))]})
    args = build_parser().parse_args([
        "doctor", "--project", PROJECT, "--regions", "europe-west4", "--bucket-template",
        TEMPLATE, "--image", "gcr.io/my-proj-1/trainer:abc", "--service-account", SA,
    ])  # fmt: skip
    code = run_doctor(args, credentials=AnonymousCredentials(), endpoints=loopback(google))
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == "europe-west4: 1 of 6 checks fail"
    assert lines[3].startswith("  note image") and "cannot be checked" in lines[3]
    assert lines[5] == "  FAIL quota-cpus         Cpus is 2 in europe-west4, the job needs 4"
    assert lines[6].startswith("       fix: gcloud quotas preferences create")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--project", "X"], "--project 'X' is not a Google Cloud project id"),
        (["--regions", "europe-west44"], "did you mean 'europe-west4'"),
        (["--bucket-template", "gs://fixed-bucket"], "no {region} placeholder"),
        (["--service-account", "me@example.com"], "--service-account 'me@example.com'"),
        (["--accelerator-type", "NVIDIA_TESLA_T4"], "accelerator_count 0 is not valid"),
        (["--machine-type", "n9-standard-4"], "machine_type 'n9-standard-4' is not a machine type"),
    ],
)
def test_bad_input_exits_2_before_any_call(flags, message, capsys, monkeypatch):
    def no_sign_in(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validation must come before any Google call")

    monkeypatch.setattr("google.auth.default", no_sign_in)  # a tripwire, not a stand-in
    argv = ["doctor", "--project", PROJECT, "--regions", "europe-west4",
            "--bucket-template", TEMPLATE, *flags]  # fmt: skip
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_quota_value_prefers_the_regions_own_entry_over_the_default():
    info = quota_info("q", CPUS, per_region(8, "europe-west4"), per_region(16))
    assert quota_value(info, "europe-west4") == 8
    assert quota_value(info, "us-east4") == 16
    assert quota_value(quota_info("q", CPUS, per_region(8, "europe-west4")), "us-east4") is None
