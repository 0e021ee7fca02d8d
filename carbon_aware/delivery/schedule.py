"""A run defers itself: a one-off Vertex AI schedule of the same pipeline at the planned start.

The running job is read through its own resource name (``PipelineService.GetPipelineJob``); the
schedule (``ScheduleService.CreateSchedule``, in the submission region, as the run's service
account) creates a copy of it: the same pipeline spec and runtime parameters, with
``start_within_hours`` 0 and the plan in ``planned_start_utc`` / ``planned_carbon_intensity``, so
the scheduled run chooses its region again, trains and compares planned with actual. The
schedule fires once, at the planned minute (:func:`carbon_aware.delivery.submit.one_off_schedule`,
as ``submit --start-at`` does).

Creating it needs ``aiplatform.pipelineJobs.get`` (reading the job), ``aiplatform.schedules.create``
and ``aiplatform.pipelineJobs.create`` on ``projects/P/locations/L`` (Vertex AI REST reference,
projects.locations.schedules.create, "IAM Permissions"), all in ``roles/aiplatform.user``, and
``iam.serviceAccounts.actAs`` on the run's service account (``roles/iam.serviceAccountUser``).
A refusal is raised as :class:`MissingPermission` naming the one permission refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carbon_aware.delivery.start_within import plan_labels, plan_parameters
from carbon_aware.planning.planner import Plan

JOB_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[a-z0-9-]+)/pipelineJobs/(?P<id>[^/]+)$"
)
_REFUSED = re.compile(r"[Pp]ermission '?([a-zA-Z]+(?:\.[a-zA-Z]+){2})'? denied")
ACT_AS = "iam.serviceAccounts.actAs"
ROLE_FOR = {
    "aiplatform.pipelineJobs.get": "roles/aiplatform.user",
    "aiplatform.pipelineJobs.create": "roles/aiplatform.user",
    "aiplatform.schedules.create": "roles/aiplatform.user",
    ACT_AS: "roles/iam.serviceAccountUser",
}
"""The predefined role ``carbon-aware setup`` grants for each permission the deferral needs."""
# Fields of the running job the scheduled copy keeps (REST names); the rest is the job's state.
COPIED_FIELDS = (
    "displayName",
    "pipelineSpec",
    "runtimeConfig",
    "labels",
    "network",
    "reservedIpRanges",
    "encryptionSpec",
    "templateUri",
)


class MissingPermission(RuntimeError):
    """The run's service account was refused one permission the deferral needs."""

    def __init__(self, permission: str, account: str, resource: str) -> None:
        self.permission = permission
        role = ROLE_FOR.get(permission, "a role that grants it")
        where = f"on {account}" if permission == ACT_AS else f"on {resource}"
        super().__init__(
            f"the run's service account {account or '(default)'} lacks {permission} {where}, "
            f"which deferring the run needs; grant it {role} (the commands of "
            "'carbon-aware setup'; 'carbon-aware doctor' checks it); nothing was trained"
        )


def deferred_parameters(values: Mapping[str, Any], plan: Plan) -> dict[str, Any]:
    """The scheduled run's parameters: the run's own, starting at once, with the plan."""
    return {**values, "start_within_hours": 0.0, **plan_parameters(plan)}


def schedule_body(
    job: Mapping[str, Any],
    plan: Plan,
    parent: str,
    service_account: str,
    *,
    now: datetime | None = None,
    deferred_from: str = "",
) -> dict[str, Any]:
    """The CreateSchedule body (REST JSON names) that runs ``job`` once at the plan's start.

    Args:
        job: The running PipelineJob as REST JSON (``pipelineSpec``, ``runtimeConfig``, ...).
        plan: The plan; its ``start_utc`` is the minute the schedule fires.
        parent: ``projects/P/locations/L``: the submission region.
        service_account: The account the scheduled run uses (the running job's).
        now: The current time (the start must be after it).
        deferred_from: The running job's id, recorded as a label.

    Returns:
        The Schedule as REST JSON.

    Raises:
        ValueError: The planned start is not in the future.
    """
    from carbon_aware.delivery.submit import one_off_schedule

    timing = one_off_schedule(plan.start_utc, now)
    pipeline_job = {key: job[key] for key in COPIED_FIELDS if job.get(key)}
    runtime = dict(pipeline_job.get("runtimeConfig", {}))
    runtime["parameterValues"] = deferred_parameters(runtime.get("parameterValues", {}), plan)
    pipeline_job["runtimeConfig"] = runtime
    labels = {**pipeline_job.get("labels", {}), **plan_labels(plan)}
    if deferred_from:
        labels["deferred-from"] = re.sub(r"[^a-z0-9_-]", "-", deferred_from.lower())[-63:]
    pipeline_job["labels"] = labels
    if service_account:
        pipeline_job["serviceAccount"] = service_account
    name = str(pipeline_job.get("displayName") or "carbon-aware-training")
    return {
        "displayName": f"{name}-at-{timing['planned']}"[:128],
        "cron": timing["cron"],
        "startTime": timing["start_time"],
        "endTime": timing["end_time"],
        "maxRunCount": "1",
        "maxConcurrentRunCount": "1",
        "createPipelineJobRequest": {"parent": parent, "pipelineJob": pipeline_job},
    }


def local_request(
    spec: Mapping[str, Any], values: Mapping[str, Any], plan: Plan, *, now: datetime | None = None
) -> dict[str, Any]:
    """The request a deferred run would send on Vertex AI, from a local run's template and values.

    Project, location and service account are not known locally: they stay as placeholders.
    """
    job = {
        "displayName": str(spec.get("pipelineInfo", {}).get("name", "carbon-aware-training")),
        "pipelineSpec": dict(spec),
        "runtimeConfig": {"parameterValues": {**values, "backend": "vertex"}},
    }
    parent = "projects/PROJECT/locations/SUBMISSION_REGION"
    body = schedule_body(job, plan, parent, "RUN_SERVICE_ACCOUNT", now=now)
    url = f"https://SUBMISSION_REGION-aiplatform.googleapis.com/v1/{parent}/schedules"
    return {"method": "POST", "url": url, "body": body}


def _refused_permission(err: Exception, default: str) -> str:
    """The permission a PermissionDenied names (Vertex says ``Permission 'x.y.z' denied``)."""
    text = str(err)
    if "act as" in text.lower() or ACT_AS in text:
        return ACT_AS
    found = _REFUSED.search(text)
    return found.group(1) if found else default


def defer_on_vertex(
    job_name: str,
    plan: Plan,
    location: str,
    service_account: str,
    *,
    now: datetime | None = None,
    pipeline_client: Any = None,
    schedule_client: Any = None,
) -> tuple[str, dict[str, Any]]:
    """Reads the running job and creates the one-off schedule of its copy.

    Args:
        job_name: The running job's resource name (``{{$.pipeline_job_resource_name}}``).
        plan: The plan to defer to.
        location: The submission region (``{{$.pipeline_google_cloud_location}}``).
        service_account: The run's account (``{{$.pipeline_service_account}}``).
        now: The current time.
        pipeline_client: A ``PipelineServiceClient`` (default: the region's endpoint).
        schedule_client: A ``ScheduleServiceClient`` (default: the region's endpoint).

    Returns:
        The schedule's resource name and the body that was sent.

    Raises:
        ValueError: A job name or location that is not one.
        MissingPermission: The account was refused a permission (named).
    """
    from google.api_core import exceptions
    from google.cloud import aiplatform_v1

    found = JOB_NAME.fullmatch(job_name)
    if not found:
        raise ValueError(
            f"pipeline job name {job_name!r} is not projects/P/locations/L/pipelineJobs/ID: "
            "the run can defer itself only on Vertex AI Pipelines"
        )
    if not re.fullmatch(r"[a-z]+-[a-z]+[0-9]+", location):
        raise ValueError(f"submission region {location!r} is not a Google Cloud region")
    parent = f"projects/{found['project']}/locations/{location}"
    options = {"api_endpoint": f"{location}-aiplatform.googleapis.com"}
    pipelines = pipeline_client or aiplatform_v1.PipelineServiceClient(client_options=options)
    schedules = schedule_client or aiplatform_v1.ScheduleServiceClient(client_options=options)
    try:
        running = pipelines.get_pipeline_job(name=job_name)
    except exceptions.PermissionDenied as err:
        raise MissingPermission(
            _refused_permission(err, "aiplatform.pipelineJobs.get"), service_account, job_name
        ) from None
    job = json.loads(aiplatform_v1.PipelineJob.to_json(running))
    body = schedule_body(
        job, plan, parent, service_account or job.get("serviceAccount", ""), now=now,
        deferred_from=found["id"],
    )  # fmt: skip
    schedule = aiplatform_v1.Schedule.from_json(json.dumps(body))
    try:
        created = schedules.create_schedule(parent=parent, schedule=schedule)
    except exceptions.PermissionDenied as err:
        raise MissingPermission(
            _refused_permission(err, "aiplatform.schedules.create"), service_account, parent
        ) from None
    return str(created.name), body
