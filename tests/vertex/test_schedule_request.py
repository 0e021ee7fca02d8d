"""The deferral's requests, sent by the real Vertex AI clients to the loopback stand-in in-process.

Stand-ins: Vertex AI's PipelineService and ScheduleService (:mod:`vertex_control_standin`, real
gRPC protocol on loopback); nothing else.
"""

from datetime import UTC, datetime

import grpc
import pandas as pd
import pytest
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
    PipelineServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.schedule_service.transports import (
    ScheduleServiceGrpcTransport,
)
from vertex_control_standin import VertexControlStandIn

from carbon_aware.delivery.schedule import (
    MissingPermission,
    defer_on_vertex,
    local_request,
    schedule_body,
)
from carbon_aware.planning.planner import plan_job

JOB = "projects/p-123456/locations/europe-west4/pipelineJobs/run-1"
ACCOUNT = "runner@p-123456.iam.gserviceaccount.com"
NOW = datetime(2024, 1, 1, 2, 30, tzinfo=UTC)


def plan():
    index = pd.date_range("2024-01-01T02:00Z", periods=24, freq="h", name="datetime")
    frame = pd.DataFrame({"europe-west1": 300.0, "us-central1": 400.0}, index=index)
    frame.loc[index[4], "europe-west1"] = 100.0
    return plan_job(frame, ["europe-west1", "us-central1"], 1, 12)


def clients(port):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return {
        "pipeline_client": aiplatform_v1.PipelineServiceClient(
            transport=PipelineServiceGrpcTransport(channel=channel)
        ),
        "schedule_client": aiplatform_v1.ScheduleServiceClient(
            transport=ScheduleServiceGrpcTransport(channel=channel)
        ),
    }


RUNNING = {
    "displayName": "console-run",
    "pipelineSpec": {"pipelineInfo": {"name": "carbon-aware-training"}, "root": {}},
    "runtimeConfig": {"parameterValues": {"epochs": 3, "start_within_hours": 12.0}},
    "serviceAccount": ACCOUNT,
    "state": "PIPELINE_STATE_RUNNING",
}


def test_the_schedule_fires_once_at_the_planned_minute_with_the_plan():
    body = schedule_body(RUNNING, plan(), "projects/p/locations/l", ACCOUNT, now=NOW)
    assert body["cron"] == "TZ=UTC 0 6 1 1 *"
    assert (body["startTime"], body["endTime"]) == ("2024-01-01T05:59:00Z", "2024-01-01T07:00:00Z")
    assert body["maxRunCount"] == "1"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert "state" not in job and job["pipelineSpec"] == RUNNING["pipelineSpec"]
    assert job["runtimeConfig"]["parameterValues"] == {
        "epochs": 3,
        "start_within_hours": 0.0,
        "planned_start_utc": "2024-01-01T06:00:00Z",
        "planned_carbon_intensity": 100.0,
    }


def test_a_planned_start_in_the_past_is_refused():
    with pytest.raises(ValueError, match="is not in the future"):
        schedule_body(RUNNING, plan(), "projects/p/locations/l", ACCOUNT, now=datetime.now(UTC))


def test_the_local_request_names_what_only_vertex_knows():
    request = local_request({"pipelineInfo": {"name": "x"}}, {"backend": "local"}, plan(), now=NOW)
    job = request["body"]["createPipelineJobRequest"]["pipelineJob"]
    assert job["runtimeConfig"]["parameterValues"]["backend"] == "vertex"
    assert "PROJECT" in request["url"] and job["serviceAccount"] == "RUN_SERVICE_ACCOUNT"


def test_defer_reads_the_job_and_creates_the_schedule_in_the_submission_region():
    with VertexControlStandIn() as standin:
        standin.add_job(JOB, RUNNING)
        name, _ = defer_on_vertex(
            JOB, plan(), "europe-west4", ACCOUNT, now=NOW, **clients(standin.port)
        )
    [created] = standin.schedules
    assert name == created.name == "projects/p-123456/locations/europe-west4/schedules/7000"
    job = created.schedule.create_pipeline_job_request.pipeline_job
    assert job.service_account == ACCOUNT and job.labels["deferred-from"] == "run-1"
    assert job.runtime_config.parameter_values["start_within_hours"] == 0.0


@pytest.mark.parametrize(
    ("refused", "named", "role"),
    [
        ("aiplatform.pipelineJobs.get", "aiplatform.pipelineJobs.get on " + JOB, "aiplatform.user"),
        (
            "aiplatform.schedules.create",
            "schedules.create on projects/p-123456/",
            "aiplatform.user",
        ),
        ("iam.serviceAccounts.actAs", f"actAs on {ACCOUNT}", "iam.serviceAccountUser"),
    ],
)
def test_a_refused_permission_is_named_with_the_role_that_grants_it(refused, named, role):
    with VertexControlStandIn(refuse=refused) as standin:
        standin.add_job(JOB, RUNNING)
        with pytest.raises(MissingPermission) as failure:
            defer_on_vertex(JOB, plan(), "europe-west4", ACCOUNT, now=NOW, **clients(standin.port))
    assert failure.value.permission == refused
    assert named in str(failure.value) and f"roles/{role}" in str(failure.value)
    assert standin.schedules == []


@pytest.mark.parametrize(
    ("job", "location", "message"),
    [
        ("{{$.pipeline_job_resource_name}}", "europe-west4", "only on Vertex AI Pipelines"),
        (JOB, "", "submission region '' is not a Google Cloud region"),
    ],
)
def test_unresolved_placeholders_are_refused_before_any_call(job, location, message):
    with pytest.raises(ValueError, match=message):
        defer_on_vertex(
            job, plan(), location, ACCOUNT, now=NOW, pipeline_client=1, schedule_client=1
        )
