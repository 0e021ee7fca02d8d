"""Submit the compiled pipeline to Vertex AI Pipelines, re-run a past run, upload a template.

Every parameter is checked against the template's declared inputs and types, and by
:func:`carbon_aware.parameters.validate_run_parameters`, before Vertex AI is called. The only
call that can come earlier is fetching a template given as an Artifact Registry URL, since its
declared inputs are what the parameters are checked against. ``--dry-run`` builds the same
``aiplatform.PipelineJob`` and prints the request instead of sending it; with a local template it
needs no network and no credentials.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from carbon_aware.delivery.start_within import (
    PLAN_PARAMETERS,
    check_start_within,
    plan_labels,
    plan_parameters,
    plan_run,
)
from carbon_aware.delivery.template import (
    TemplateInput,
    effective_parameters,
    load_template,
    parse_param_assignments,
    require_registry_images,
    resolve_parameters,
    template_inputs,
)
from carbon_aware.inputs import read_yaml, utc_time
from carbon_aware.parameters import validate_run_parameters
from carbon_aware.planning.cli import plan_lines
from carbon_aware.preflight import check_vertex_inputs
from carbon_aware.regions import validate_regions
from carbon_aware.run_defaults import convention_bucket_template
from carbon_aware.vertex import regional_bucket

PACKAGE_NAME = "carbon-aware-vertex"
PIPELINE_ROOT_FOLDER = "pipeline-root"
REGISTRY_HOST = re.compile(r"^https://(?P<location>[a-z0-9-]+)-kfp\.pkg\.dev/[^/\s]+/[^/\s]+$")
REGISTRY_TEMPLATE = re.compile(
    r"^https://[a-z0-9-]+-kfp\.pkg\.dev/[^/\s]+/[^/\s]+/[^/\s]+/[^/\s]+$"
)
RUN_NAME = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/pipelineJobs/[a-z0-9-]+$|^[a-z0-9-]+$")
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ACCOUNT_EMAIL = re.compile(r"^[a-z0-9-]+@[a-z0-9.-]+\.gserviceaccount\.com$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """Parses ``key=value`` labels and checks them against Vertex AI's label rules.

    Raises:
        ValueError: A malformed, repeated or invalid label (named, with the rule).
    """
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key in labels:
            raise ValueError(f"--label {item!r} must look like key=value, each key once")
        if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise ValueError(
                f"--label {item!r}: keys start with a lowercase letter; keys and values use only "
                "lowercase letters, digits, - and _ (at most 63 characters)"
            )
        labels[key] = value
    return labels


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Reads a YAML file mapping pipeline parameter names to values (typed by YAML).

    Raises:
        ValueError: The file is not a mapping of parameter names.
    """
    data = read_yaml(path, "--params-file")
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValueError(f"params file {path} must be a YAML mapping of parameter name to value")
    return data


def load_spec(template: str, credentials: Any = None) -> dict[str, Any]:
    """Loads a compiled template from a local file or an Artifact Registry URL.

    Raises:
        ValueError: The file or URL is not a compiled KFP pipeline.
    """
    if not template.startswith("https://"):
        return load_template(template)
    if not REGISTRY_TEMPLATE.fullmatch(template):
        raise ValueError(
            f"--template {template!r}: a URL must be an Artifact Registry template, "
            "https://<region>-kfp.pkg.dev/<project id>/<repository>/<package>/<tag or sha256:…>, "
            "e.g. https://europe-west4-kfp.pkg.dev/my-proj/carbon-aware-pipelines/"
            "carbon-aware-training/v1"
        )
    from google.cloud.aiplatform.utils import yaml_utils

    spec = yaml_utils.load_yaml(template, credentials=credentials)
    if not isinstance(spec, dict) or "root" not in spec:
        raise ValueError(f"{template} is not a compiled KFP pipeline (no 'root' section)")
    return spec


def merge_parameters(
    inputs: Mapping[str, TemplateInput],
    *layers: Mapping[str, Any],
    project: str,
) -> dict[str, Any]:
    """Merges parameter layers (later wins), typed and checked against the template.

    The pipeline parameter ``project`` is set from ``project`` when no layer gives it, and
    ``regional_bucket_template`` to the buckets ``setup`` creates by default.

    Returns:
        The values to send, coerced to the declared types.

    Raises:
        ValueError: Unknown name, wrong type, or a value the pipeline cannot use.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    if "project" in inputs and not merged.get("project"):
        merged["project"] = project
    if "regional_bucket_template" in inputs and not merged.get("regional_bucket_template"):
        # The buckets `carbon-aware setup` creates by default, as a console run would use.
        merged["regional_bucket_template"] = convention_bucket_template(str(merged["project"]))
    resolved = resolve_parameters(inputs, merged)
    effective = effective_parameters(inputs, resolved)
    validate_run_parameters(effective)
    check_vertex_inputs(effective)
    return resolved


def default_pipeline_root(values: Mapping[str, Any], location: str) -> str:
    """Returns ``<regional bucket of location>/pipeline-root`` from the bucket template.

    Raises:
        ValueError: No ``regional_bucket_template`` to derive it from.
    """
    template = str(values.get("regional_bucket_template") or "")
    if not template:
        raise ValueError(
            "--pipeline-root is not given and regional_bucket_template is empty: give "
            "--pipeline-root gs://BUCKET/PATH (a bucket in --location)"
        )
    return f"{regional_bucket(template, location)}/{PIPELINE_ROOT_FOLDER}"


def one_off_schedule(start_at: str, now: datetime | None = None) -> dict[str, str]:
    """Turns an ISO 8601 start time into a schedule that fires once, at that minute (UTC).

    The cron names the planned minute; ``startTime`` is one minute earlier (the first run comes
    after it) and ``endTime`` an hour later, so a missed slot never fires a year later.

    Raises:
        ValueError: Not ISO 8601, no UTC offset, or not in the future.
    """
    planned = utc_time(start_at, "--start-at")
    try:
        planned = planned.astimezone(UTC).replace(second=0, microsecond=0)
        end = planned + timedelta(hours=1)
    except OverflowError:
        # The schedule's end is an hour after the start: year 9999 has no room for it.
        raise ValueError(
            f"--start-at {start_at!r} is too far in the future; give a time before "
            f"{datetime.max.year}"
        ) from None
    if planned <= (now or datetime.now(UTC)):
        raise ValueError(f"--start-at {start_at!r} is not in the future")
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "cron": f"TZ=UTC {planned.minute} {planned.hour} {planned.day} {planned.month} *",
        "start_time": (planned - timedelta(minutes=1)).strftime(stamp),
        "end_time": end.strftime(stamp),
        "planned": planned.strftime(stamp),
    }


def _credentials(offline: bool) -> Any:
    """Anonymous credentials for an offline dry run, else Application Default Credentials."""
    if offline:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    import google.auth

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return credentials


def _previous_parameters(
    run: str, project: str, location: str, inputs: Mapping[str, TemplateInput]
) -> tuple[dict[str, Any], str]:
    """Fetches a past run's parameter values (network) and its job id, for ``--from-run``.

    Raises:
        ValueError: The run is in another project or location, or there are no credentials to
            read it (one line each).
    """
    check_run_name(run, project, location)
    import google.auth.exceptions
    from google.cloud import aiplatform

    try:
        previous = aiplatform.PipelineJob.get(run, project=project, location=location)
    except google.auth.exceptions.GoogleAuthError as err:
        first = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise ValueError(
            f"--from-run {run!r}: cannot read the past run without Google Cloud credentials "
            f"({first}); run 'gcloud auth application-default login'"
        ) from None
    values = previous.to_dict().get("runtimeConfig", {}).get("parameterValues", {})
    dropped = sorted(set(values) - set(inputs))
    if dropped:
        print(f"--from-run: not in this template, left out: {', '.join(dropped)}", file=sys.stderr)
    return {k: v for k, v in values.items() if k in inputs}, run.rsplit("/", 1)[-1]


def check_run_name(run: str, project: str | None = None, location: str | None = None) -> str:
    """Checks a ``--from-run`` value (an empty one is refused, not taken as "no re-run").

    Raises:
        ValueError: Not ``projects/P/locations/L/pipelineJobs/ID`` or a job ID, or a full name
            in another project or location than ``--project``/``--location``.
    """
    if not RUN_NAME.fullmatch(run):
        raise ValueError(
            f"--from-run {run!r} must be projects/P/locations/L/pipelineJobs/ID or a job ID"
        )
    parts = run.split("/")
    if len(parts) == 6:
        if location is not None and parts[3] != location:
            raise ValueError(
                f"--from-run {run!r} is in location {parts[3]!r}, not --location {location!r}; "
                "re-run it from its own location (or give the job ID alone)"
            )
        if project is not None and parts[1] != project:
            raise ValueError(
                f"--from-run {run!r} is in project {parts[1]!r}, not --project {project!r}"
            )
    return run


def _check_target(
    project: str, location: str, pipeline_root: str | None, service_account: str | None
) -> None:
    if not PROJECT_ID.fullmatch(project):
        raise ValueError(
            f"--project {project!r} is not a Google Cloud project id: 6-30 lowercase letters, "
            "digits or hyphens, starting with a letter, e.g. my-proj-123"
        )
    if location != location.strip():
        raise ValueError(f"--location {location!r} has surrounding whitespace; give the region id")
    try:
        validate_regions([location])
    except ValueError as err:
        raise ValueError(f"--location: {err}") from None
    if pipeline_root is not None and not pipeline_root.startswith("gs://"):
        raise ValueError(f"--pipeline-root {pipeline_root!r} must be a gs:// URI")
    if service_account is not None and not _ACCOUNT_EMAIL.fullmatch(service_account):
        raise ValueError(f"--service-account {service_account!r} must be an account's email")


def run_submit(args: Any) -> int:
    """Handles ``carbon-aware submit`` (see :func:`carbon_aware.delivery.cli.register`)."""
    if args.enabled is False:
        print("submit: skipped (--enabled false)")
        return 0
    _check_target(args.project, args.location, args.pipeline_root, args.service_account)
    check_start_within(args.start_within, args.duration_hours, args.start_at)
    labels = parse_labels(args.label)
    schedule = one_off_schedule(args.start_at) if args.start_at is not None else None
    if args.from_run is not None:
        check_run_name(args.from_run, args.project, args.location)
    cli_values = parse_param_assignments(args.param)
    file_values = load_params_file(args.params_file) if args.params_file is not None else {}
    from_registry = args.template.startswith("https://")
    # A registry template is read first (with credentials): its inputs are the contract.
    credentials = _credentials(offline=False) if from_registry else None
    spec = load_spec(args.template, credentials)
    require_registry_images(spec, args.template)
    inputs = template_inputs(spec)
    # Every name, type and value given here is checked before any Vertex AI call; with
    # --from-run, the full set is checked again once the past run's values are known.
    if args.from_run is not None:
        validate_run_parameters(resolve_parameters(inputs, {**file_values, **cli_values}))
        previous, run_id = _previous_parameters(args.from_run, args.project, args.location, inputs)
        values = merge_parameters(inputs, previous, file_values, cli_values, project=args.project)
        labels.setdefault("rerun-of", run_id[-63:])
    else:
        values = merge_parameters(inputs, file_values, cli_values, project=args.project)
    if args.start_within is not None:
        values, schedule = _planned(args, inputs, values, labels)
    pipeline_root = args.pipeline_root or default_pipeline_root(
        effective_parameters(inputs, values), args.location
    )
    if credentials is None:
        credentials = _credentials(offline=args.dry_run and not args.from_run)
    display_name = str(spec.get("pipelineInfo", {}).get("name", "carbon-aware-training"))
    from google.cloud import aiplatform

    job = aiplatform.PipelineJob(
        display_name=display_name,
        template_path=args.template,
        pipeline_root=pipeline_root,
        parameter_values=values,
        enable_caching=False if args.no_cache else None,
        labels=labels or None,
        project=args.project,
        location=args.location,
        credentials=credentials,
    )
    service_account = args.service_account or None
    if args.dry_run:
        print(json.dumps(dry_run_request(job, args, service_account, schedule), indent=2))
        return 0
    if schedule:
        created = job.create_schedule(
            cron=schedule["cron"],
            display_name=f"{display_name}-at-{schedule['planned']}"[:128],
            start_time=schedule["start_time"],
            end_time=schedule["end_time"],
            max_run_count=1,
            service_account=service_account,
        )
        print(f"scheduled {created.resource_name} for {schedule['planned']}")
        return 0
    job.submit(service_account=service_account)
    print(f"submitted {job.resource_name}")
    return 0


def _planned(
    args: Any, inputs: Mapping[str, TemplateInput], values: dict[str, Any], labels: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """Plans the start (``--start-within``): the run's values with the plan, and the schedule.

    Adds the plan's labels to ``labels``; the schedule is None when the run should start now.
    """
    missing = [name for name in PLAN_PARAMETERS if name not in inputs]
    if missing:
        raise ValueError(
            f"--start-within: the template has no {', '.join(missing)} parameter; recompile it "
            "from this version (python compile.py)"
        )
    plan = plan_run(
        effective_parameters(inputs, values),
        args.start_within,
        args.duration_hours,
        args.min_gain_pct,
    )
    for line in plan_lines(plan):
        print(f"plan: {line}", file=sys.stderr)
    labels.update(plan_labels(plan))
    # Planned here: the run itself must not plan (and perhaps defer) again.
    once = {"start_within_hours": 0.0} if "start_within_hours" in inputs else {}
    planned = merge_parameters(inputs, values, plan_parameters(plan), once, project=args.project)
    return planned, one_off_schedule(plan.start_utc) if plan.delay_hours > 0 else None


def dry_run_request(
    job: Any, args: Any, service_account: str | None, schedule: Mapping[str, str] | None
) -> dict[str, Any]:
    """The REST request ``submit`` would send: a pipeline job, or a one-off schedule of one."""
    parent = f"projects/{args.project}/locations/{args.location}"
    api = f"https://{args.location}-aiplatform.googleapis.com/v1/{parent}"
    body: dict[str, Any] = job.to_dict()
    if service_account:
        body["serviceAccount"] = service_account
    if schedule is None:
        url = f"{api}/pipelineJobs?pipelineJobId={job.job_id}"
        return {"method": "POST", "url": url, "body": body}
    schedule_body = {
        "displayName": f"{body['displayName']}-at-{schedule['planned']}",
        "cron": schedule["cron"],
        "startTime": schedule["start_time"],
        "endTime": schedule["end_time"],
        "maxRunCount": "1",
        "maxConcurrentRunCount": "1",
        "createPipelineJobRequest": {"parent": parent, "pipelineJob": body},
    }
    return {"method": "POST", "url": f"{api}/schedules", "body": schedule_body}


def package_version_tag() -> str:
    """``v`` + the installed package version, e.g. ``v0.1.0``."""
    from importlib.metadata import version

    return f"v{version(PACKAGE_NAME)}"


def run_upload(args: Any) -> int:
    """Handles ``carbon-aware upload``: pushes a compiled template to an Artifact Registry repo."""
    host = args.host.rstrip("/")
    if not REGISTRY_HOST.fullmatch(host):
        raise ValueError(
            f"--host {args.host!r} must be an Artifact Registry repository of format KFP, "
            "https://<region>-kfp.pkg.dev/<project id>/<repository>, e.g. "
            "https://europe-west4-kfp.pkg.dev/my-proj/carbon-aware-pipelines"
        )
    spec = load_template(args.template)
    require_registry_images(spec, args.template)
    tags = list(args.tag) + ([package_version_tag()] if args.package_version_tag else [])
    for tag in tags:
        if not TAG.fullmatch(tag):
            raise ValueError(f"--tag {tag!r}: use letters, digits, '.', '_' and '-' only")
    if len(set(tags)) != len(tags):
        raise ValueError(f"tags repeat: {', '.join(tags)}")
    package = str(spec.get("pipelineInfo", {}).get("name", ""))
    if args.dry_run:
        request = {"method": "POST", "url": host, "file": args.template, "tags": tags}
        print(json.dumps({**request, "package": package}, indent=2))
        return 0
    from kfp.registry import RegistryClient

    name, version = RegistryClient(host=host).upload_pipeline(file_name=args.template, tags=tags)
    result = {"package": name, "version": version, "templateUri": f"{host}/{name}/{version}"}
    print(json.dumps(result, indent=2))
    return 0
