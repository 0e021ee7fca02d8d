"""Loaded only into the GCPC launcher subprocess of the emulated Vertex run (via PYTHONPATH).

It replaces exactly two things, which have no local stand-in otherwise: Google sign-in
(anonymous credentials instead of Application Default Credentials) and the RPC transport of
``JobServiceClient`` (a plain gRPC channel to the loopback JobService stand-in instead of TLS to
``<location>-aiplatform.googleapis.com``). The endpoint the launcher asked for is written to a
file so the test can assert it is the chosen region's.
"""

import os

_target = os.environ.get("JOB_SERVICE_STANDIN")
if _target:
    import google.auth
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    def _anonymous(*args, **kwargs):
        return AnonymousCredentials(), os.environ.get("JOB_SERVICE_STANDIN_PROJECT")

    google.auth.default = _anonymous
    _Real = aiplatform.gapic.JobServiceClient

    class _LoopbackJobServiceClient(_Real):
        def __init__(self, *args, client_options=None, client_info=None, **kwargs):
            with open(os.environ["JOB_SERVICE_STANDIN_ENDPOINTS"], "a", encoding="utf-8") as log:
                log.write(f"{client_options.api_endpoint}\n")
            transport = JobServiceGrpcTransport(channel=grpc.insecure_channel(_target))
            super().__init__(transport=transport, client_info=client_info)

    aiplatform.gapic.JobServiceClient = _LoopbackJobServiceClient
