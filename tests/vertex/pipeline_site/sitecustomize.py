"""Loaded only into the report-footprint step of the emulated Vertex run (via PYTHONPATH).

It replaces exactly two things, which have no local stand-in otherwise: Google sign-in
(anonymous credentials instead of Application Default Credentials) and the RPC transport of
``PipelineServiceClient`` (a plain gRPC channel to the loopback PipelineService stand-in instead of
TLS to ``<location>-aiplatform.googleapis.com``). The endpoint the client was given is written to
a file so the test can assert it is the pipeline job's region.
"""

import os

_target = os.environ.get("PIPELINE_SERVICE_STANDIN")
if _target:
    import google.auth
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1
    from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
        PipelineServiceGrpcTransport,
    )

    def _anonymous(*args, **kwargs):
        return AnonymousCredentials(), None

    google.auth.default = _anonymous
    _real = aiplatform_v1.PipelineServiceClient

    class _Loopback(_real):
        def __init__(self, *args, client_options=None, **kwargs):
            with open(os.environ["PIPELINE_SERVICE_ENDPOINTS"], "a", encoding="utf-8") as log:
                log.write(f"{client_options['api_endpoint']}\n")
            super().__init__(
                transport=PipelineServiceGrpcTransport(channel=grpc.insecure_channel(_target))
            )

    aiplatform_v1.PipelineServiceClient = _Loopback
