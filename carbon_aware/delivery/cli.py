"""The ``submit``, ``upload``, ``setup`` and ``doctor`` subcommands of ``carbon-aware``.

``carbon_aware.cli.build_parser`` adds them with ``register(sub)``. Handlers return an exit code;
a ``ValueError`` propagates to ``main``, which prints it and exits with 2.
"""

from __future__ import annotations

import argparse
from typing import Any


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return lowered == "true"


def _hours(text: str) -> float | None:
    """Hours as a number; empty means not given (Cloud Build passes empty substitutions)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of hours, got {text!r}") from None


def _submit(args: argparse.Namespace) -> int:
    from carbon_aware.delivery.submit import run_submit

    return run_submit(args)


def _upload(args: argparse.Namespace) -> int:
    from carbon_aware.delivery.submit import run_upload

    return run_upload(args)


def _setup(args: argparse.Namespace) -> int:
    from carbon_aware.delivery.deploy import run_setup

    return run_setup(args)


def _doctor(args: argparse.Namespace) -> int:
    from carbon_aware.delivery.doctor import run_doctor

    return run_doctor(args)


def register(subparsers: Any) -> None:
    """Adds ``submit``, ``upload``, ``setup`` and ``doctor`` to the CLI's subparsers.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.
    """
    _register_submit(subparsers)
    _register_upload(subparsers)
    _register_setup(subparsers)
    _register_doctor(subparsers)


def _register_submit(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "submit",
        help="submit (or re-run, or schedule) the pipeline on Vertex AI Pipelines",
        description="Checks every parameter against the template, then submits a PipelineJob. "
        "Precedence: template defaults < --from-run < --params-file < --param.",
    )
    cmd.add_argument(
        "--template",
        required=True,
        help="compiled YAML, or https://REGION-kfp.pkg.dev/PROJECT/REPO/PACKAGE/sha256:…",
    )
    cmd.add_argument("--project", required=True, help="Google Cloud project to run in")
    cmd.add_argument("--location", required=True, help="Vertex AI region of the pipeline run")
    cmd.add_argument(
        "--pipeline-root",
        help="gs:// root for the run's artifacts (default: the --location bucket of "
        "regional_bucket_template, /pipeline-root)",
    )
    cmd.add_argument("--service-account", help="service account the run acts as (email)")
    cmd.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="pipeline parameter (repeatable); lists as a,b,c or JSON",
    )
    cmd.add_argument("--params-file", help="YAML mapping of parameter name to value")
    cmd.add_argument(
        "--no-cache", action="store_true", help="disable caching for every step of this run"
    )
    cmd.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="run label (repeatable)"
    )
    cmd.add_argument(
        "--from-run",
        metavar="JOB",
        help="copy the parameters of a past run (projects/P/locations/L/pipelineJobs/ID)",
    )
    cmd.add_argument(
        "--start-at",
        metavar="ISO8601",
        help="start later: create a schedule that runs once at this time (with a UTC offset)",
    )
    cmd.add_argument(
        "--start-within",
        type=_hours,
        metavar="H",
        help="plan the start within H hours with the run's provider and candidate regions: "
        "submit now when now is best, else schedule the planned start",
    )
    cmd.add_argument(
        "--duration-hours",
        type=_hours,
        metavar="D",
        help="with --start-within: the run's expected length in hours",
    )
    cmd.add_argument(
        "--min-gain-pct",
        type=float,
        help="with --start-within: wait only for at least this gain (default: the forecast's "
        "back-tested error)",
    )
    cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="print the REST request as JSON instead of sending it (offline for a local file)",
    )
    cmd.add_argument(
        "--enabled",
        type=_flag,
        default=True,
        metavar="true|false",
        help="for CI: false skips the submission and exits 0 (default: true)",
    )
    cmd.set_defaults(func=_submit)


def _register_upload(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "upload", help="upload a compiled template to an Artifact Registry KFP repository"
    )
    cmd.add_argument("--template", required=True, help="compiled pipeline YAML")
    cmd.add_argument("--host", required=True, help="https://REGION-kfp.pkg.dev/PROJECT/REPO")
    cmd.add_argument("--tag", action="append", default=[], help="version tag (repeatable)")
    cmd.add_argument(
        "--package-version-tag",
        action="store_true",
        help="also tag with v<package version>, e.g. v0.1.0 (moves to the newest upload)",
    )
    cmd.add_argument("--dry-run", action="store_true", help="print the upload, do not send it")
    cmd.set_defaults(func=_upload)


def _add_project_targets(cmd: Any) -> None:
    """The project, its candidate regions and their buckets: what setup and doctor act on."""
    cmd.add_argument("--project", required=True, help="Google Cloud project id")
    cmd.add_argument("--regions", required=True, help="candidate regions, comma separated")
    cmd.add_argument(
        "--bucket-template",
        default="",
        help="regional buckets (default gs://PROJECT-carbon-{region}: what a console run "
        "uses when its bucket template is left empty)",
    )


def _register_setup(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "setup",
        help="print the gcloud commands of the one-time project setup (never runs them)",
        description="Prints the gcloud commands that set up a project: APIs, one bucket per "
        "region with a lifecycle rule, the service account and roles, Artifact Registry "
        "repositories, the API-key secret. It only prints, with or without --dry-run.",
    )
    _add_project_targets(cmd)
    cmd.add_argument("--service-account-name", default="carbon-pipelines")
    cmd.add_argument("--secret-name", default="electricity-maps-api-key")
    cmd.add_argument(
        "--lifecycle-delete-days",
        type=int,
        default=30,
        help="delete custom-job staging objects after this many days (default 30)",
    )
    cmd.add_argument(
        "--repository-location", help="Artifact Registry location (default: the first region)"
    )
    cmd.add_argument(
        "--dry-run", action="store_true", help="accepted for symmetry: setup only ever prints"
    )
    cmd.set_defaults(func=_setup)


def _register_doctor(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "doctor",
        help="check each candidate region through the Google APIs before a Vertex run",
        description="Reads (never changes) the regional buckets, the image in Artifact Registry, "
        "the Vertex AI API state and the custom-training quota, and prints per region what is "
        "wrong and the command that fixes it. Exit 0: all pass; 1: a check fails; 2: bad input.",
    )
    _add_project_targets(cmd)
    cmd.add_argument("--image", help="training image, e.g. REGION-docker.pkg.dev/P/REPO/IMG:TAG")
    cmd.add_argument(
        "--machine-type", default="n1-standard-4", help="training machine (default n1-standard-4)"
    )
    cmd.add_argument(
        "--accelerator-type", default="", help="Vertex accelerator, e.g. NVIDIA_TESLA_T4"
    )
    cmd.add_argument("--accelerator-count", type=int, default=0, help="accelerators per job")
    cmd.add_argument("--service-account", help="the run's service account (email)")
    cmd.add_argument("--json", action="store_true", help="print the checks as JSON")
    cmd.set_defaults(func=_doctor)
