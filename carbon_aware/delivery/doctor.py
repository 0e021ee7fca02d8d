"""``carbon-aware doctor``: checks each candidate region through the Google APIs before a run.

For every region it checks the regional bucket (exists, is in the region, the run's service account
may write to it), the training image (in Artifact Registry), the Vertex AI API (enabled) and the
custom-training quota (covers the machine's vCPUs and the accelerators), whether a run may defer
itself (:mod:`.deferral_access`), and gives for each problem
the command that fixes it. It only reads: nothing is created or changed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import quote

import requests
from google.api_core import exceptions as google_exceptions

from carbon_aware.delivery.deferral_access import CHECK, check_deferral
from carbon_aware.delivery.deploy import validate_targets
from carbon_aware.hardware import catalogue
from carbon_aware.measurement.energy import machine_shape
from carbon_aware.regions import get_region
from carbon_aware.run_defaults import convention_bucket_template
from carbon_aware.vertex import (
    AcceleratorSpec,
    check_machine_accelerator,
    normalise_accelerator,
    regional_bucket,
    validate_machine_type,
)

VERTEX_SERVICE = "aiplatform.googleapis.com"
_QUOTAS_API = "cloudquotas.googleapis.com"
_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
OBJECT_PERMISSIONS = ("storage.objects.create", "storage.objects.get", "storage.objects.list")
# Which of OBJECT_PERMISSIONS each predefined Cloud Storage role grants (cloud.google.com/storage/
# docs/access-control/iam-roles). Custom roles are not resolved: they count as granting nothing.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    f"roles/storage.{role}": frozenset(f"storage.objects.{verb}" for verb in verbs.split())
    for role, verbs in {
        "admin": "create get list",
        "objectAdmin": "create get list",
        "objectUser": "create get list",
        "objectCreator": "create",
        "objectViewer": "get list",
        "legacyBucketOwner": "create list",
        "legacyBucketWriter": "create list",
        "legacyBucketReader": "list",
        "legacyObjectReader": "get",
        "legacyObjectOwner": "get",
    }.items()
}
_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9-]+\.(iam\.)?gserviceaccount\.com$")
_IMAGE = re.compile(r"^[a-z0-9.-]+(:\d+)?/\S+$")
_AR_IMAGE = re.compile(
    r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/"
    r"(?P<image>[^:@]+)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the REST APIs; tests point them at loopback stand-ins."""

    service_usage: str = "https://serviceusage.googleapis.com"
    artifact_registry: str = "https://artifactregistry.googleapis.com"
    cloud_quotas: str = "https://cloudquotas.googleapis.com"
    resource_manager: str = "https://cloudresourcemanager.googleapis.com"
    iam: str = "https://iam.googleapis.com"


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
    image: str
    machine_type: str
    accelerator: AcceleratorSpec
    service_account: str


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
    names = validate_targets(project, regions, bucket_template)
    if image and not _IMAGE.fullmatch(image):
        raise ValueError(f"--image {image!r} is not an image reference (HOST/PATH[:TAG|@DIGEST])")
    validate_machine_type(machine_type)
    machine_shape(machine_type)  # the vCPUs the quota must cover
    accelerator = normalise_accelerator(accelerator_type, accelerator_count)
    check_machine_accelerator(machine_type, accelerator_type, accelerator_count)
    if service_account and not _ACCOUNT.fullmatch(service_account):
        raise ValueError(
            f"--service-account {service_account!r} is not a service account email "
            "(NAME@PROJECT.iam.gserviceaccount.com)"
        )
    return DoctorRequest(
        project, names, bucket_template, image, machine_type, accelerator, service_account
    )


def _get_json(
    session: requests.Session, url: str, *, params: Any = None, body: Any = None
) -> dict[str, Any]:
    """GETs ``url`` (POSTs ``body`` when given); a non-2xx answer raises GoogleApiError."""
    try:
        if body is None:
            response = session.get(url, params=params, timeout=30)
        else:
            response = session.post(url, json=body, timeout=30)
    except requests.RequestException as err:
        raise GoogleApiError(0, "UNREACHABLE", f"{url}: {err}") from err
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        answer = {"error": {"message": f"not JSON: {response.text[:200]!r}"}}
    if response.ok and "error" not in answer:
        return answer
    error = answer.get("error", {})
    raise GoogleApiError(response.status_code, error.get("status", ""), error.get("message", ""))


def _cmd(*parts: str) -> str:
    return shlex.join(parts)


def check_vertex_api(session: requests.Session, base: str, project: str) -> Row:
    """The Vertex AI API is on, for the whole project (so the row's region is empty).

    Service Usage ``services.get`` answers ``state``: ENABLED, DISABLED or STATE_UNSPECIFIED
    (cloud.google.com/service-usage/docs/reference/rest/v1/services/get).
    """
    fix = _cmd("gcloud", "services", "enable", VERTEX_SERVICE, "--project", project)
    try:
        service = _get_json(session, f"{base}/v1/projects/{project}/services/{VERTEX_SERVICE}")
    except GoogleApiError as err:
        return Row("", "vertex-api", False, f"cannot read the Vertex AI API state: {err}", fix)
    state = service.get("state", "STATE_UNSPECIFIED")
    if state != "ENABLED":
        return Row("", "vertex-api", False, f"{VERTEX_SERVICE} is {state} in {project}", fix)
    return Row("", "vertex-api", True)


def check_bucket(
    client: Any, request: DoctorRequest, region: str, on_project: tuple[set[str], str]
) -> list[Row]:
    """The region's bucket exists, is in the region, and the run's account may write to it."""
    name = regional_bucket(request.bucket_template, region).removeprefix("gs://").split("/")[0]
    create = _cmd(
        "gcloud", "storage", "buckets", "create", f"gs://{name}", f"--location={region}",
        "--uniform-bucket-level-access", f"--project={request.project}",
    )  # fmt: skip
    try:
        bucket = client.lookup_bucket(name)
    except (google_exceptions.GoogleAPIError, requests.RequestException) as err:
        return [Row(region, "bucket", False, f"cannot read gs://{name}: {err}")]
    if bucket is None:
        account = request.service_account
        fix = f"{create} && {_grant(name, account)}" if account else create
        return [Row(region, "bucket", False, f"gs://{name} does not exist", fix)]
    location = str(bucket.location or "")
    where = Row(region, "bucket", True)
    if location.lower() != region:
        problem = (
            f"gs://{name} is in {location}, not {region}: Vertex AI needs the job's output "
            "bucket in the job's region"
        )
        fix = f"a bucket cannot move: name a new one in --bucket-template, then {create}"
        where = Row(region, "bucket", False, problem, fix)
    return [where, _check_access(bucket, name, region, request, on_project)]


def granted(bindings: Iterable[Any], member: str) -> set[str]:
    """Which of OBJECT_PERMISSIONS ``member`` holds through IAM policy bindings.

    Conditional bindings (policy version 3) count as granted.
    """
    held: set[str] = set()
    for binding in bindings:
        if member in binding.get("members", ()):
            held |= ROLE_PERMISSIONS.get(binding.get("role", ""), frozenset())
    return held


def project_grants(
    session: requests.Session, base: str, request: DoctorRequest
) -> tuple[set[str], str]:
    """What the run's service account holds of OBJECT_PERMISSIONS through roles on the project.

    Resource Manager ``projects.getIamPolicy``
    (cloud.google.com/resource-manager/reference/rest/v1/projects/getIamPolicy).

    Returns:
        The permissions, and why they could not be read ("" when they could).
    """
    if not request.service_account:
        return set(), ""
    url = f"{base}/v1/projects/{request.project}:getIamPolicy"
    try:
        policy = _get_json(session, url, body={"options": {"requestedPolicyVersion": 3}})
    except GoogleApiError as err:
        return set(), f"; the project's roles could not be read: {err}"
    return granted(policy.get("bindings", []), f"serviceAccount:{request.service_account}"), ""


def _check_access(
    bucket: Any, name: str, region: str, request: DoctorRequest, on_project: tuple[set[str], str]
) -> Row:
    account = request.service_account
    try:
        if account:
            # Buckets' testIamPermissions answers for the caller only (Cloud Storage JSON API,
            # buckets/testIamPermissions), so the account's roles are read from the IAM policies
            # of the bucket and of the project.
            member, note = f"serviceAccount:{account}", ""
            policy = bucket.get_iam_policy(requested_policy_version=3)
            held = granted(policy.bindings, member) | on_project[0]
        else:
            member = "your credentials"
            note = "checked for you: without --service-account the job runs as the Vertex AI "
            note += "Custom Code Service Agent"
            held = set(bucket.test_iam_permissions(list(OBJECT_PERMISSIONS)))
    except (google_exceptions.GoogleAPIError, requests.RequestException) as err:
        return Row(region, "bucket-access", False, f"cannot read gs://{name}'s IAM: {err}")
    missing = [perm for perm in OBJECT_PERMISSIONS if perm not in held]
    if not missing:
        return Row(region, "bucket-access", True, note)
    unseen = f" (custom roles are not resolved{on_project[1]})" if account else ""
    problem = f"{member} lacks {', '.join(missing)} on gs://{name}{unseen}"
    return Row(region, "bucket-access", False, problem, _grant(name, account))


def _grant(name: str, account: str) -> str:
    member = f"serviceAccount:{account}" if account else "MEMBER"
    return _cmd(
        "gcloud", "storage", "buckets", "add-iam-policy-binding", f"gs://{name}",
        f"--member={member}", "--role=roles/storage.objectAdmin",
    )  # fmt: skip


def check_image(session: requests.Session, base: str, request: DoctorRequest) -> list[Row]:
    """Artifact Registry holds the image, by tag or digest; one row per region.

    Read with ``packages.tags.get`` for a tag, ``dockerImages.get`` for a digest
    (cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.*).
    A registry in another location than the region is a note: the pull crosses regions.
    """
    image, match = request.image, _AR_IMAGE.fullmatch(request.image)
    ok, notes, fix, location = True, [], "", ""
    if not match:
        notes.append("cannot be checked: not a LOCATION-docker.pkg.dev image" if image else
                     "not checked: no --image given")  # fmt: skip
    else:
        location, owner, repo, path, tag, digest = match.groups()
        parent = f"{base}/v1/projects/{owner}/locations/{location}/repositories/{repo}"
        # The image path is one resource-name segment, its slashes escaped as %2F.
        name = f"dockerImages/{quote(path, safe='')}@{digest}" if digest else (
            f"packages/{quote(path, safe='')}/tags/{tag or 'latest'}")  # fmt: skip
        try:
            _get_json(session, f"{parent}/{name}")
        except GoogleApiError as err:
            ok = False
            if err.http_status == 404:
                notes.append(f"{image} is not in the registry: {err}")
                fix = _cmd("docker", "push", image)
            else:
                notes.append(f"cannot read {image}: {err}")
        if not (tag or digest):
            notes.append("no tag: Vertex AI pulls :latest, which moves")
        if owner != request.project:
            notes.append(f"in project {owner}: grant the Vertex AI Service Agent of "
                         f"{request.project} roles/artifactregistry.reader there")  # fmt: skip
    rows = []
    for region in request.regions:
        pull = ok and location not in ("", region)
        note = [f"registry in {location}, job in {region}: cross-region pull"] if pull else []
        rows.append(Row(region, "image", ok, "; ".join(notes + note), fix))
    return rows


def quota_needs(request: DoctorRequest) -> list[tuple[str, str, int]]:
    """The (check, quota metric, amount) one job needs in a region.

    Metric names are those Vertex AI reports when a job exceeds them (for example in
    GoogleCloudPlatform/vertex-ai-samples#700 and training-data-analyst#2457):
    ``aiplatform.googleapis.com/custom_model_training_cpus`` for N1 and E2 machines,
    ``…_c2_cpus`` for C2 and so on, and ``…/custom_model_training_nvidia_t4_gpus`` per GPU model.
    """
    kind, count = request.accelerator.accelerator_type, request.accelerator.accelerator_count
    if kind.startswith("TPU"):
        return []  # TPU hosts: see check_quota's note
    family = catalogue.machine(request.machine_type).family
    cpus = "cpus" if family in ("n1", "e2") else f"{family}_cpus"
    vcpus = machine_shape(request.machine_type).vcpus
    needs = [("quota-cpus", f"{VERTEX_SERVICE}/custom_model_training_{cpus}", vcpus)]
    if count and kind.startswith("NVIDIA_"):
        card = kind.lower().replace("nvidia_tesla_", "nvidia_")
        needs.append(
            ("quota-accelerators", f"{VERTEX_SERVICE}/custom_model_training_{card}_gpus", count)
        )
    return needs


def list_quota_infos(session: requests.Session, base: str, project: str) -> list[dict[str, Any]]:
    """Every page of Cloud Quotas' ``quotaInfos.list`` for Vertex AI.

    cloud.google.com/docs/quotas/reference/rest/v1/projects.locations.services.quotaInfos/list;
    quota ids are read from the answer, not assumed.
    """
    url = f"{base}/v1/projects/{project}/locations/global/services/{VERTEX_SERVICE}/quotaInfos"
    infos: list[dict[str, Any]] = []
    token = ""
    while True:
        page = _get_json(session, url, params={"pageToken": token} if token else None)
        infos.extend(page.get("quotaInfos", []))
        token = page.get("nextPageToken", "")
        if not token:
            return infos


def quota_value(info: dict[str, Any], region: str) -> int | None:
    """The quota in effect in ``region``, or None when the quota has no value there.

    QuotaInfo's ``dimensionsInfos`` go from specific to general: the region's own entry wins, else
    the entry without a region dimension applies to every region not listed.
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
    """Each quota the job needs is at least what one job takes (the limit, not what is free)."""
    console = f"https://console.cloud.google.com/iam-admin/quotas?project={request.project}"
    rows = []
    if request.accelerator.accelerator_type.startswith("TPU"):
        rows.append(
            Row(
                region,
                "quota-accelerators",
                True,
                "TPU and TPU host quota not checked: see " + console,
            )
        )
    for check, metric, need in quota_needs(request):
        if isinstance(infos, GoogleApiError):
            fix = _cmd("gcloud", "services", "enable", _QUOTAS_API, "--project", request.project)
            rows.append(Row(region, check, False, f"cannot list Vertex AI quotas: {infos}", fix))
            continue
        info = next((i for i in infos if i.get("metric") == metric), None)
        value = None if info is None else quota_value(info, region)
        if info is None or value is None:
            rows.append(Row(region, check, False, f"no quota {metric} in {region}", console))
        elif 0 <= value < need:
            # gcloud quotas preferences create (cloud.google.com/sdk/gcloud/reference/quotas/
            # preferences/create) asks for the new value.
            fix = _cmd(
                "gcloud", "quotas", "preferences", "create", f"--service={VERTEX_SERVICE}",
                f"--project={request.project}", f"--quota-id={info.get('quotaId', '')}",
                f"--preferred-value={need}", f"--dimensions=region={region}",
            )  # fmt: skip
            problem = f"{info.get('quotaId', metric)} is {value} in {region}, the job needs {need}"
            rows.append(Row(region, check, False, problem, fix))
        else:  # a negative value is unlimited, as -1 is in QuotaPreference's preferredValue
            rows.append(Row(region, check, True))
    return rows


def check_machine(request: DoctorRequest, region: str) -> Row:
    """Whether the region offers the machine type for Vertex AI training (catalogue; no call)."""
    why = catalogue.unavailable_reason(
        request.machine_type, region, get_region(region).accelerators
    )
    if why is not None:
        return Row(region, "machine", False, why, "choose another region or machine_type")
    if not catalogue.regions_checked(request.machine_type):
        return Row(region, "machine", True, "not listed per region in the catalogue: not checked")
    return Row(region, "machine", True)


def run_checks(
    request: DoctorRequest,
    session: requests.Session,
    storage_client: Any,
    endpoints: Endpoints | None = None,
) -> list[Row]:
    """Runs every check for every region; project-wide answers are fetched once."""
    endpoints = endpoints or Endpoints()
    api = check_vertex_api(session, endpoints.service_usage, request.project)
    images = check_image(session, endpoints.artifact_registry, request)
    on_project = project_grants(session, endpoints.resource_manager, request)
    deferral = Row("", CHECK, *check_deferral(
        session, endpoints.resource_manager, endpoints.iam, request.project,
        request.service_account, _get_json,
    ))  # fmt: skip
    infos: list[dict[str, Any]] | GoogleApiError
    try:
        infos = list_quota_infos(session, endpoints.cloud_quotas, request.project)
    except GoogleApiError as err:
        infos = err
    rows: list[Row] = []
    for region, image in zip(request.regions, images, strict=True):
        rows += check_bucket(storage_client, request, region, on_project)
        rows += [image, replace(api, region=region), *check_quota(infos, request, region)]
        rows.append(check_machine(request, region))
        rows.append(replace(deferral, region=region))
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
        args.project, args.regions,
        args.bucket_template or convention_bucket_template(args.project), image=args.image or "",
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
