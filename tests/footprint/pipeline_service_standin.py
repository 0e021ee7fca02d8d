"""A loopback gRPC stand-in for Vertex AI's PipelineService (GetPipelineJob only).

It speaks the real protocol: ``google.cloud.aiplatform.v1.PipelineService/GetPipelineJob`` over
gRPC with the request and response messages of ``google-cloud-aiplatform`` (de)serialised as on
the wire, so the shipped client code (``PipelineServiceClient.get_pipeline_job``) runs unchanged.
What it stands in for: Vertex AI's control plane, answering with a job's task details, or
refusing with a gRPC status as the API does (e.g. PERMISSION_DENIED).
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
    PipelineServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.types import pipeline_job, pipeline_service

SERVICE = "google.cloud.aiplatform.v1.PipelineService"


class PipelineServiceStandIn:
    """Serves GetPipelineJob on 127.0.0.1 from a dict of jobs; unknown names: NOT_FOUND."""

    def __init__(self, jobs: dict[str, pipeline_job.PipelineJob], refuse: grpc.StatusCode | None):
        self.jobs = jobs
        self.refuse = refuse
        self.requests: list[str] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handlers = {
            "GetPipelineJob": grpc.unary_unary_rpc_method_handler(
                self._get,
                request_deserializer=pipeline_service.GetPipelineJobRequest.deserialize,
                response_serializer=pipeline_job.PipelineJob.serialize,
            )
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> PipelineServiceStandIn:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def client(self) -> PipelineServiceClient:
        """The real client, over an insecure loopback channel (no credentials needed)."""
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))

    def _get(self, request: Any, context: Any) -> Any:
        self.requests.append(request.name)
        if self.refuse is not None:
            context.abort(
                self.refuse, f"Permission 'aiplatform.pipelineJobs.get' denied on {request.name}"
            )
        if request.name not in self.jobs:
            context.abort(grpc.StatusCode.NOT_FOUND, f"PipelineJob {request.name} not found")
        return self.jobs[request.name]
