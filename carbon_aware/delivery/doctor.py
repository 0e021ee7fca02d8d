"""``carbon-aware doctor``: checks each candidate region through the Google APIs before a run.

For every region it checks the regional bucket (exists, is in the region, the run's service account
may write to it), the training image (in Artifact Registry), the Vertex AI API (enabled) and the
custom-training quota (covers the machine's vCPUs and the accelerators), and gives for each problem
the command that fixes it. It only reads: nothing is created or changed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import requests
from google.api_core import exceptions as google_exceptions

from carbon_aware.delivery.deploy import parse_region_list, validate_project
from carbon_aware.vertex import (
    NO_ACCELERATOR,
    AcceleratorSpec,
    normalise_accelerator,
    regional_bucket,
    validate_bucket_template,
    validate_machine_type,
)
from trainer.energy import machine_shape

VERTEX_SERVICE = "aiplatform.googleapis.com"
_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
OBJECT_PERMISSIONS = ("storage.objects.create", "storage.objects.get", "storage.objects.list")
# Predefined Cloud Storage roles and which of OBJECT_PERMISSIONS each grants (IAM roles reference
# for Cloud Storage). Custom roles are not resolved: they count as granting nothing.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "roles/storage.admin": frozenset(OBJECT_PERMISSIONS),
    "roles/storage.objectAdmin": frozenset(OBJECT_PERMISSIONS),
    "roles/storage.objectUser": frozenset(OBJECT_PERMISSIONS),
    "roles/storage.objectCreator": frozenset({"storage.objects.create"}),
    "roles/storage.objectViewer": frozenset({"storage.objects.get", "storage.objects.list"}),
    "roles/storage.legacyBucketOwner": frozenset(
        {"storage.objects.create", "storage.objects.list"}
    ),
    "roles/storage.legacyBucketWriter": frozenset(
        {"storage.objects.create", "storage.objects.list"}
    ),
    "roles/storage.legacyBucketReader": frozenset({"storage.objects.list"}),
    "roles/storage.legacyObjectReader": frozenset({"storage.objects.get"}),
}
_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9-]+\.(iam\.)?gserviceaccount\.com$")
_IMAGE = re.compile(r"^[a-z0-9.-]+(:\d+)?/\S+$")
_AR_IMAGE = re.compile(
    r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/"
    r"(?P<image>[^:@]+)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


_NO_ACCELERATOR = AcceleratorSpec(NO_ACCELERATOR, 0)


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the REST APIs; tests point them at loopback stand-ins."""

    service_usage: str = "https://serviceusage.googleapis.com"
    artifact_registry: str = "https://artifactregistry.googleapis.com"
    cloud_quotas: str = "https://cloudquotas.googleapis.com"


@dataclass(frozen=True)
class Row:
    """One check of one region. ``problem`` is what is wrong, or a note on a passing check."""

    region: str
    check: str
    ok: bool
    problem: str = ""
    fix: str = ""


@dataclass(frozen=True)
class DoctorRequest:
    """What ``doctor`` checks, validated."""

    project: str
    regions: list[str]
    bucket_template: str
    image: str = ""
    machine_type: str = "n1-standard-4"
    accelerator: AcceleratorSpec = _NO_ACCELERATOR
    service_account: str = ""


class GoogleApiError(Exception):
    """A non-2xx answer in Google's ``{"error": {"code", "message", "status"}}`` form."""

    def __init__(self, http_status: int, status: str, message: str) -> None:
        self.http_status, self.status = http_status, status
        super().__init__(f"HTTP {http_status} {status}: {message}".strip())


def make_request(
    project: str,
    regions: str,
    bucket_template: str,
    *,
    image: str = "",
    machine_type: str = "n1-standard-4",
    accelerator_type: str = "",
    accelerator_count: int = 0,
    service_account: str = "",
) -> DoctorRequest:
    """Validates every argument before any network call.

    Raises:
        ValueError: Naming the bad argument, its value and what is allowed.
    """
    validate_project(project)
    names = parse_region_list(regions)
    validate_bucket_template(bucket_template)
    for region in names:
        regional_bucket(bucket_template, region)  # checks each bucket name
    if image and not _IMAGE.match(image):
        raise ValueError(f"--image {image!r} is not an image reference (HOST/PATH[:TAG|@DIGEST])")
    validate_machine_type(machine_type)
    machine_shape(machine_type)  # the vCPUs the quota must cover
    accelerator = normalise_accelerator(accelerator_type, accelerator_count)
    if service_account and not _ACCOUNT.match(service_account):
        raise ValueError(
            f"--service-account {service_account!r} is not a service account email "
            "(NAME@PROJECT.iam.gserviceaccount.com)"
        )
    return DoctorRequest(
        project, names, bucket_template, image, machine_type, accelerator, service_account
    )


def _get_json(session: requests.Session, url: str, **params: str) -> dict[str, Any]:
    try:
        response = session.get(url, params=params or None, timeout=30)
    except requests.RequestException as err:
        raise GoogleApiError(0, "UNREACHABLE", f"{url}: {err}") from err
    if response.ok:
        body: dict[str, Any] = response.json()
        return body
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    raise GoogleApiError(
        response.status_code, str(error.get("status", "")), str(error.get("message", ""))
    )


def _cmd(*parts: str) -> str:
    return shlex.join(parts)


def check_vertex_api(session: requests.Session, base: str, project: str) -> tuple[bool, str, str]:
    """Service Usage ``services.get``: the answer's ``state`` is ENABLED, DISABLED or unspecified.

    Returns:
        (ok, problem, fix) for the whole project.
    """
    fix = _cmd("gcloud", "services", "enable", VERTEX_SERVICE, "--project", project)
    try:
        service = _get_json(session, f"{base}/v1/projects/{project}/services/{VERTEX_SERVICE}")
    except GoogleApiError as err:
        return False, f"cannot read the Vertex AI API state: {err}", fix
    state = service.get("state", "STATE_UNSPECIFIED")
    if state != "ENABLED":
        return False, f"{VERTEX_SERVICE} is {state} in {project}", fix
    return True, "", ""


def check_bucket(client: Any, request: DoctorRequest, region: str) -> list[Row]:
    """The region's bucket exists, is in the region, and the run's account may write to it."""
    name = regional_bucket(request.bucket_template, region).removeprefix("gs://").split("/")[0]
    create = _cmd(
        "gcloud", "storage", "buckets", "create", f"gs://{name}", f"--location={region}",
        "--uniform-bucket-level-access", f"--project={request.project}",
    )  # fmt: skip
    grant = _cmd(
        "gcloud", "storage", "buckets", "add-iam-policy-binding", f"gs://{name}",
        f"--member=serviceAccount:{request.service_account or 'SA'}",
        "--role=roles/storage.objectAdmin",
    )  # fmt: skip
    try:
        bucket = client.lookup_bucket(name)
    except google_exceptions.GoogleAPICallError as err:
        return [Row(region, "bucket", False, f"cannot read gs://{name}: {err.message}")]
    if bucket is None:
        fix = f"{create} && {grant}" if request.service_account else create
        return [Row(region, "bucket", False, f"gs://{name} does not exist", fix)]
    location = str(bucket.location or "")
    rows = [Row(region, "bucket", True)]
    if location.lower() != region:
        rows = [
            Row(
                region, "bucket", False,
                f"gs://{name} is in {location}, not {region}: Vertex AI needs the job's output "
                "bucket in the job's region",
                "a bucket cannot move: change --bucket-template to a new name, then " + create,
            )
        ]  # fmt: skip
    return [*rows, _check_access(bucket, name, region, request.service_account, grant)]


def _check_access(bucket: Any, name: str, region: str, account: str, grant: str) -> Row:
    try:
        if not account:
            # testIamPermissions answers for the caller only, so it checks the credentials doctor
            # runs with; it is the right check only when no service account is named.
            held = set(bucket.test_iam_permissions(list(OBJECT_PERMISSIONS)))
            who, note = (
                "your credentials",
                (
                    "checked for your credentials: without --service-account the job runs as the "
                    "Vertex AI Custom Code Service Agent"
                ),
            )
        else:
            # The service account's grants are read from the bucket's IAM policy (version 3 also
            # returns conditional bindings, counted here as granted).
            policy = bucket.get_iam_policy(requested_policy_version=3)
            member = f"serviceAccount:{account}"
            held = set()
            for binding in policy.bindings:
                if member in binding.get("members", ()):
                    held |= ROLE_PERMISSIONS.get(binding["role"], frozenset())
            who, note = member, ""
    except google_exceptions.GoogleAPICallError as err:
        return Row(region, "bucket-access", False, f"cannot read gs://{name}'s IAM: {err.message}")
    missing = [perm for perm in OBJECT_PERMISSIONS if perm not in held]
    if missing:
        scope = " (grants on the project and custom roles are not read)" if account else ""
        problem = f"{who} lacks {', '.join(missing)} on gs://{name}{scope}"
        return Row(region, "bucket-access", False, problem, grant)
    return Row(region, "bucket-access", True, note)


def check_image(session: requests.Session, base: str, image: str, region: str) -> Row:
    """Artifact Registry holds the image (by tag or digest); a registry elsewhere is a note."""
    if not image:
        return Row(region, "image", True, "not checked: no --image given")
    match = _AR_IMAGE.match(image)
    if not match:
        return Row(region, "image", True, "cannot be checked: not a LOCATION-docker.pkg.dev image")
    loc, project, repo, path = match.group("location", "project", "repo", "image")
    parent = f"{base}/v1/projects/{project}/locations/{loc}/repositories/{repo}"
    if match.group("digest"):
        # dockerImages.get: the name ends in IMAGE@sha256:DIGEST, slashes in IMAGE escaped.
        url = f"{parent}/dockerImages/{quote(path, safe='')}@{match.group('digest')}"
    else:
        # packages.tags.get: the package is the image path, slashes escaped as %2F.
        url = f"{parent}/packages/{quote(path, safe='')}/tags/{match.group('tag') or 'latest'}"
    push = _cmd("docker", "push", image)
    try:
        _get_json(session, url)
    except GoogleApiError as err:
        if err.http_status == 404:
            return Row(region, "image", False, f"{image} is not in the registry: {err}", push)
        return Row(region, "image", False, f"cannot read {image}: {err}")
    notes = []
    if loc != region:
        notes.append(f"registry in {loc}, job in {region}: cross-region pull")
    return Row(region, "image", True, "; ".join(notes))


def quota_needs(request: DoctorRequest) -> list[tuple[str, str, int]]:
    """The (check, quota metric, amount) one job needs in a region.

    Metric names are those Vertex AI reports when a job exceeds them, e.g.
    ``aiplatform.googleapis.com/custom_model_training_cpus`` (N1 and E2 machines),
    ``…/custom_model_training_c2_cpus`` and ``…/custom_model_training_nvidia_t4_gpus``.
    """
    family = request.machine_type.split("-")[0]
    cpus = (
        "custom_model_training_cpus"
        if family in ("n1", "e2")
        else f"custom_model_training_{family}_cpus"
    )
    needs = [("quota-cpus", f"{VERTEX_SERVICE}/{cpus}", machine_shape(request.machine_type).vcpus)]
    kind, count = request.accelerator.accelerator_type, request.accelerator.accelerator_count
    if count:
        card = kind.lower().replace("nvidia_tesla_", "nvidia_")
        needs.append(
            ("quota-accelerators", f"{VERTEX_SERVICE}/custom_model_training_{card}_gpus", count)
        )
    return needs


def list_quota_infos(session: requests.Session, base: str, project: str) -> list[dict[str, Any]]:
    """Cloud Quotas ``quotaInfos.list`` for Vertex AI, every page (``nextPageToken``)."""
    url = f"{base}/v1/projects/{project}/locations/global/services/{VERTEX_SERVICE}/quotaInfos"
    infos: list[dict[str, Any]] = []
    token = ""
    while True:
        page = _get_json(session, url, **({"pageToken": token} if token else {}))
        infos.extend(page.get("quotaInfos", []))
        token = page.get("nextPageToken", "")
        if not token:
            return infos


def quota_value(info: dict[str, Any], region: str) -> int | None:
    """The quota in effect in ``region``, or None when the quota has no value there.

    That is the region's own ``dimensionsInfos`` entry, else the entry without a region dimension,
    which applies to every region not listed.
    """
    entries = info.get("dimensionsInfos", [])
    exact = [e for e in entries if e.get("dimensions", {}).get("region") == region]
    default = [e for e in entries if "region" not in e.get("dimensions", {})]
    for entry in exact or default:
        # int64 travels as a JSON string; proto3 JSON leaves out a zero value.
        return int(entry.get("details", {}).get("value", 0))
    return None


def check_quota(
    infos: list[dict[str, Any]] | GoogleApiError, request: DoctorRequest, region: str
) -> list[Row]:
    """Each quota the job needs is at least what one job takes (not a measure of free capacity)."""
    console = f"https://console.cloud.google.com/iam-admin/quotas?project={request.project}"
    rows = []
    for check, metric, need in quota_needs(request):
        if isinstance(infos, GoogleApiError):
            fix = _cmd(
                "gcloud",
                "services",
                "enable",
                "cloudquotas.googleapis.com",
                "--project",
                request.project,
            )
            rows.append(Row(region, check, False, f"cannot list Vertex AI quotas: {infos}", fix))
            continue
        info = next((i for i in infos if i.get("metric") == metric), None)
        value = None if info is None else quota_value(info, region)
        if info is None or value is None:
            rows.append(
                Row(region, check, False, f"no Vertex AI quota {metric} for {region}", console)
            )
        elif 0 <= value < need:
            fix = _cmd(
                "gcloud", "quotas", "preferences", "create", f"--service={VERTEX_SERVICE}",
                f"--project={request.project}", f"--quota-id={info.get('quotaId', '')}",
                f"--preferred-value={need}", f"--dimensions=region={region}",
            )  # fmt: skip
            problem = f"{info.get('quotaId', metric)} is {value} in {region}, the job needs {need}"
            rows.append(Row(region, check, False, problem, fix))
        else:  # a negative value is unlimited, as in QuotaPreference's preferredValue
            rows.append(Row(region, check, True))
    return rows


def run_checks(
    request: DoctorRequest,
    session: requests.Session,
    storage_client: Any,
    endpoints: Endpoints | None = None,
) -> list[Row]:
    """Runs every check for every region; project-wide answers are fetched once."""
    endpoints = endpoints or Endpoints()
    api_ok, api_problem, api_fix = check_vertex_api(
        session, endpoints.service_usage, request.project
    )
    infos: list[dict[str, Any]] | GoogleApiError
    try:
        infos = list_quota_infos(session, endpoints.cloud_quotas, request.project)
    except GoogleApiError as err:
        infos = err
    rows: list[Row] = []
    for region in request.regions:
        rows += check_bucket(storage_client, request, region)
        rows.append(check_image(session, endpoints.artifact_registry, request.image, region))
        rows.append(Row(region, "vertex-api", api_ok, api_problem, api_fix))
        rows += check_quota(infos, request, region)
    return rows


def format_rows(rows: Iterable[Row]) -> str:
    """One line per region (how many checks fail), then each check with its problem and fix."""
    by_region: dict[str, list[Row]] = {}
    for row in rows:
        by_region.setdefault(row.region, []).append(row)
    lines = []
    for region, checks in by_region.items():
        failing = sum(not row.ok for row in checks)
        lines.append(
            f"{region}: " + (f"{failing} of {len(checks)} checks fail" if failing else "ready")
        )
        for row in checks:
            status = "FAIL" if not row.ok else ("note" if row.problem else "ok")
            lines.append(f"  {status:<4} {row.check:<18} {row.problem}".rstrip())
            if row.fix:
                lines.append(f"       fix: {row.fix}")
    return "\n".join(lines)


def run_doctor(
    args: argparse.Namespace, *, credentials: Any = None, endpoints: Endpoints | None = None
) -> int:
    """The ``doctor`` subcommand: 0 when every check passes, 1 when any fails.

    Args:
        args: The parsed command line.
        credentials: Google credentials; default: Application Default Credentials.
        endpoints: REST API base URLs; default: Google's. (Cloud Storage's host is the client
            library's, which honours ``STORAGE_EMULATOR_HOST``.)
    """
    request = make_request(
        args.project, args.regions, args.bucket_template, image=args.image or "",
        machine_type=args.machine_type, accelerator_type=args.accelerator_type,
        accelerator_count=args.accelerator_count, service_account=args.service_account or "",
    )  # fmt: skip
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud import storage

    if credentials is None:
        try:
            credentials, _ = google.auth.default(scopes=[_SCOPE])
        except DefaultCredentialsError as err:
            raise ValueError(f"no Google credentials: {err}") from err
    client = storage.Client(project=request.project, credentials=credentials)
    session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    rows = run_checks(request, session, client, endpoints)
    ok = all(row.ok for row in rows)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(row) for row in rows]}, indent=2))
    else:
        print(format_rows(rows))
    return 0 if ok else 1
