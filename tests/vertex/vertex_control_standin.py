"""A loopback gRPC stand-in for Vertex AI's PipelineService and ScheduleService.

It speaks the real protocol, as :mod:`job_service_standin` does for the JobService:
``google.cloud.aiplatform.v1.PipelineService/GetPipelineJob`` answers with the running job the test
registered (its pipeline spec and runtime parameters, as Vertex AI keeps them), and
``google.cloud.aiplatform.v1.ScheduleService/CreateSchedule`` records the request and answers with
the schedule named, as Vertex does. A permission can be refused: the call then fails with
PERMISSION_DENIED and Vertex AI's wording, ``Permission 'P' denied on resource '//aiplatform...'``.
What it stands in for: the Vertex control plane and its IAM checks.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.cloud.aiplatform_v1.types import (
    pipeline_job,
    pipeline_service,
    schedule,
    schedule_service,
)

PIPELINES = "google.cloud.aiplatform.v1.PipelineService"
SCHEDULES = "google.cloud.aiplatform.v1.ScheduleService"


@dataclass
class CapturedSchedule:
    """One CreateSchedule call."""

    parent: str
    schedule: Any
    name: str
    metadata: dict[str, str]


class VertexControlStandIn:
    """Serves GetPipelineJob and CreateSchedule on 127.0.0.1."""

    def __init__(self, refuse: str = "") -> None:
        self.jobs: dict[str, Any] = {}
        self.job_reads: list[str] = []
        self.schedules: list[CapturedSchedule] = []
        self.refuse = refuse
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        pipelines = {
            "GetPipelineJob": grpc.unary_unary_rpc_method_handler(
                self._get_job,
                request_deserializer=pipeline_service.GetPipelineJobRequest.deserialize,
                response_serializer=pipeline_job.PipelineJob.serialize,
            )
        }
        schedules = {
            "CreateSchedule": grpc.unary_unary_rpc_method_handler(
                self._create_schedule,
                request_deserializer=schedule_service.CreateScheduleRequest.deserialize,
                response_serializer=schedule.Schedule.serialize,
            )
        }
        self._server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(PIPELINES, pipelines),
                grpc.method_handlers_generic_handler(SCHEDULES, schedules),
            )
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> VertexControlStandIn:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def add_job(self, name: str, job: dict[str, Any]) -> None:
        """Registers a running job (REST JSON: pipelineSpec, runtimeConfig, serviceAccount...)."""
        import json

        message = pipeline_job.PipelineJob.from_json(json.dumps(job), ignore_unknown_fields=True)
        message.name = name
        message.state = 3  # PIPELINE_STATE_RUNNING
        self.jobs[name] = message

    def _deny(self, context: Any, permission: str, resource: str) -> None:
        context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"Permission '{permission}' denied on resource "
            f"'//aiplatform.googleapis.com/{resource}' (or it may not exist).",
        )

    def _get_job(self, request: Any, context: Any) -> Any:
        self.job_reads.append(request.name)
        if self.refuse == "aiplatform.pipelineJobs.get":
            self._deny(context, self.refuse, request.name)
        if request.name not in self.jobs:
            context.abort(grpc.StatusCode.NOT_FOUND, f"PipelineJob {request.name} not found.")
        return self.jobs[request.name]

    def _create_schedule(self, request: Any, context: Any) -> Any:
        if self.refuse == "aiplatform.schedules.create":
            self._deny(context, self.refuse, request.parent)
        if self.refuse == "iam.serviceAccounts.actAs":
            account = request.schedule.create_pipeline_job_request.pipeline_job.service_account
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"You do not have permission to act as service_account: {account}. "
                "(or it may not exist).",
            )
        with self._lock:
            name = f"{request.parent}/schedules/{7000 + len(self.schedules)}"
            self.schedules.append(
                CapturedSchedule(
                    request.parent,
                    schedule.Schedule(request.schedule),
                    name,
                    dict(context.invocation_metadata()),
                )
            )
        response = schedule.Schedule(request.schedule)
        response.name = name
        response.state = schedule.Schedule.State.ACTIVE
        return response
