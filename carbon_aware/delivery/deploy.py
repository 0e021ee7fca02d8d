"""The one-time Google Cloud setup, printed as the exact ``gcloud`` commands to run.

``carbon-aware setup`` never runs ``gcloud`` itself: it prints a reviewable script (APIs, one
bucket per candidate region with a lifecycle rule, the pipeline service account and its roles,
the Artifact Registry repositories, and the Secret Manager secret for the Electricity Maps key,
whose value is read from stdin and never appears on a command line).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from carbon_aware.regions import validate_regions
from carbon_aware.run_defaults import convention_bucket_template
from carbon_aware.vertex import regional_bucket, validate_bucket_template

APIS: tuple[str, ...] = (
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
)
PROJECT_ROLES: tuple[str, ...] = ("roles/aiplatform.user", "roles/artifactregistry.reader")
STAGING_PREFIX = "carbon-aware-runs/"
"""Where the custom jobs stage their output in each regional bucket (see ``vertex.py``)."""
LIFECYCLE_FILE = "carbon-aware-lifecycle.json"
IMAGE_REPOSITORY = "carbon-aware"
KFP_REPOSITORY = "carbon-aware-pipelines"
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
DEFAULT_SECRET = "electricity-maps-api-key"  # noqa: S105 - the secret's name, not a value


@dataclass(frozen=True)
class SetupPlan:
    """What ``setup`` prints commands for, validated."""

    project: str
    regions: list[str]
    bucket_template: str
    service_account_name: str = "carbon-pipelines"
    secret_name: str = DEFAULT_SECRET
    lifecycle_delete_days: int = 30
    repository_location: str = ""

    @property
    def service_account(self) -> str:
        """The service account's email."""
        return f"{self.service_account_name}@{self.project}.iam.gserviceaccount.com"


def validate_project(project: str) -> str:
    """Checks a Google Cloud project id (6-30 characters: lowercase letters, digits, hyphens).

    Raises:
        ValueError: Naming the bad value and the allowed form.
    """
    if not _PROJECT.fullmatch(project):
        raise ValueError(
            f"--project {project!r} is not a Google Cloud project id: 6-30 lowercase letters, "
            "digits or hyphens, starting with a letter and not ending with a hyphen, e.g. "
            "my-proj-123"
        )
    return project


def parse_region_list(text: str) -> list[str]:
    """Splits ``a,b,c`` and validates each region.

    Raises:
        ValueError: An empty item, a repeat, or an unknown region (with the valid list).
    """
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise ValueError(f"--regions {text!r} must be region names separated by commas")
    if len(set(parts)) != len(parts):
        raise ValueError(f"--regions {text!r} names a region twice")
    return validate_regions(parts)


def validate_targets(project: str, regions: str, bucket_template: str) -> list[str]:
    """Checks the project id, the ``a,b,c`` regions and each region's bucket name.

    Returns:
        The region names.

    Raises:
        ValueError: Naming the bad argument, its value and what is allowed.
    """
    validate_project(project)
    names = parse_region_list(regions)
    validate_bucket_template(bucket_template)
    for region in names:
        regional_bucket(bucket_template, region)  # checks each bucket name
    return names


def make_plan(
    project: str,
    regions: str,
    bucket_template: str,
    *,
    service_account_name: str = "carbon-pipelines",
    secret_name: str = DEFAULT_SECRET,
    lifecycle_delete_days: int = 30,
    repository_location: str | None = None,
) -> SetupPlan:
    """Validates the setup options.

    Raises:
        ValueError: A bad project id, region, bucket template, account or secret name, or days.
    """
    names = validate_targets(project, regions, bucket_template)
    if not _ACCOUNT.fullmatch(service_account_name):
        raise ValueError(
            f"--service-account-name {service_account_name!r}: 6-30 lowercase letters, digits, -"
        )
    if not _SECRET.fullmatch(secret_name):
        raise ValueError(f"--secret-name {secret_name!r}: letters, digits, - and _ only")
    if lifecycle_delete_days < 1:
        raise ValueError(f"--lifecycle-delete-days must be 1 or more, got {lifecycle_delete_days}")
    location = repository_location or names[0]
    validate_regions([location])
    return SetupPlan(
        project=project,
        regions=names,
        bucket_template=bucket_template,
        service_account_name=service_account_name,
        secret_name=secret_name,
        lifecycle_delete_days=lifecycle_delete_days,
        repository_location=location,
    )


def lifecycle_policy(days: int) -> dict[str, Any]:
    """The bucket lifecycle rule: delete custom-job staging objects ``days`` after creation."""
    return {
        "rule": [
            {
                "action": {"type": "Delete"},
                "condition": {"age": days, "matchesPrefix": [STAGING_PREFIX]},
            }
        ]
    }


def _cmd(*parts: str) -> str:
    return shlex.join(parts)


def setup_commands(plan: SetupPlan) -> list[str]:
    """Returns the setup script, one line per command (comments start with ``#``)."""
    p = f"--project={plan.project}"
    member = f"--member=serviceAccount:{plan.service_account}"
    lines = [
        f"# carbon-aware setup for {plan.project}: printed only, nothing was run. Review, run.",
        "# 1. APIs",
        _cmd("gcloud", "services", "enable", *APIS, p),
        "# 2. Service account for pipeline runs and its project roles",
        _cmd(
            "gcloud",
            "iam",
            "service-accounts",
            "create",
            plan.service_account_name,
            p,
            "--display-name=carbon-aware pipeline runs",
        ),
    ]
    for role in PROJECT_ROLES:
        lines.append(
            _cmd(
                "gcloud",
                "projects",
                "add-iam-policy-binding",
                plan.project,
                member,
                f"--role={role}",
            )
        )
    lines += [
        "# The runs act as this account: the submitter and the account itself need actAs on it.",
        "# A run that may wait (start_within_hours > 0) defers itself as this account: it reads",
        "# its own job and creates a schedule (aiplatform.pipelineJobs.get/create and",
        "# aiplatform.schedules.create, in roles/aiplatform.user) that runs as it (actAs, below).",
        _cmd(
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
            plan.service_account,
            p,
            member,
            "--role=roles/iam.serviceAccountUser",
        ),
        f"# 3. Lifecycle rule: delete custom-job staging objects ({STAGING_PREFIX}) after "
        f"{plan.lifecycle_delete_days} days",
        f"cat > {LIFECYCLE_FILE} <<'EOF'",
        json.dumps(lifecycle_policy(plan.lifecycle_delete_days), indent=2),
        "EOF",
        "# 4. One bucket per candidate region (Vertex refuses output buckets in other regions)",
    ]
    for region in plan.regions:
        bucket = regional_bucket(plan.bucket_template, region).split("/", 3)[2]
        uri = f"gs://{bucket}"
        lines += [
            f"# {region}",
            _cmd(
                "gcloud",
                "storage",
                "buckets",
                "create",
                uri,
                p,
                f"--location={region}",
                "--uniform-bucket-level-access",
                "--public-access-prevention",
            ),
            _cmd(
                "gcloud", "storage", "buckets", "update", uri, f"--lifecycle-file={LIFECYCLE_FILE}"
            ),
            _cmd(
                "gcloud",
                "storage",
                "buckets",
                "add-iam-policy-binding",
                uri,
                member,
                "--role=roles/storage.objectAdmin",
            ),
        ]
    loc = f"--location={plan.repository_location}"
    lines += [
        "# 5. Artifact Registry: the image (docker) and the compiled templates (kfp)",
        _cmd(
            "gcloud",
            "artifacts",
            "repositories",
            "create",
            IMAGE_REPOSITORY,
            p,
            loc,
            "--repository-format=docker",
        ),
        _cmd(
            "gcloud",
            "artifacts",
            "repositories",
            "create",
            KFP_REPOSITORY,
            p,
            loc,
            "--repository-format=kfp",
        ),
        "# Cloud Build's service account also needs roles/artifactregistry.writer,",
        "# roles/aiplatform.user and roles/iam.serviceAccountUser on the account above.",
        "# 6. Electricity Maps API key: paste it on stdin, then Ctrl-D (never on a command line)",
        _cmd(
            "gcloud",
            "secrets",
            "create",
            plan.secret_name,
            p,
            "--replication-policy=automatic",
            "--data-file=-",
        ),
        _cmd(
            "gcloud",
            "secrets",
            "add-iam-policy-binding",
            plan.secret_name,
            p,
            member,
            "--role=roles/secretmanager.secretAccessor",
        ),
    ]
    return lines


def run_setup(args: Any) -> int:
    """Handles ``carbon-aware setup``: prints the commands (with or without ``--dry-run``)."""
    plan = make_plan(
        args.project,
        args.regions,
        args.bucket_template or convention_bucket_template(args.project),
        service_account_name=args.service_account_name,
        secret_name=args.secret_name,
        lifecycle_delete_days=args.lifecycle_delete_days,
        repository_location=args.repository_location,
    )
    print("\n".join(setup_commands(plan)))
    return 0
