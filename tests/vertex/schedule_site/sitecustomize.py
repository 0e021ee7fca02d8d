"""Loaded only into the defer-run step of the emulated Vertex run (via PYTHONPATH).

It replaces exactly two things, which have no local stand-in otherwise: Google sign-in
(anonymous credentials instead of Application Default Credentials) and the RPC transport of
``PipelineServiceClient`` and ``ScheduleServiceClient`` (a plain gRPC channel to the loopback
stand-in instead of TLS to ``<location>-aiplatform.googleapis.com``). The endpoint each client was
given is written to a file so the test can assert it is the submission region's.
"""

import os

_target = os.environ.get("VERTEX_CONTROL_STANDIN")
if _target:
    import google.auth
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1
    from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
        PipelineServiceGrpcTransport,
    )
    from google.cloud.aiplatform_v1.services.schedule_service.transports import (
        ScheduleServiceGrpcTransport,
    )

    def _anonymous(*args, **kwargs):
        return AnonymousCredentials(), None

    google.auth.default = _anonymous

    def _loopback(real, transport_class):
        class _Client(real):
            def __init__(self, *args, client_options=None, **kwargs):
                with open(os.environ["VERTEX_CONTROL_ENDPOINTS"], "a", encoding="utf-8") as log:
                    log.write(f"{client_options['api_endpoint']}\n")
                transport = transport_class(channel=grpc.insecure_channel(_target))
                super().__init__(transport=transport)

        return _Client

    aiplatform_v1.PipelineServiceClient = _loopback(
        aiplatform_v1.PipelineServiceClient, PipelineServiceGrpcTransport
    )
    aiplatform_v1.ScheduleServiceClient = _loopback(
        aiplatform_v1.ScheduleServiceClient, ScheduleServiceGrpcTransport
    )
