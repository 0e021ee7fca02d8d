"""When a Vertex AI custom job ran, read from Vertex AI itself.

A package run on a prebuilt container without this project has nothing inside the job that
could record its replicas (see :mod:`carbon_aware.training.package`); its energy is then
estimated over the job's own running time: CustomJob ``start_time`` ("Time when the CustomJob for
the first time entered the JOB_STATE_RUNNING state") to ``end_time``, from JobService.GetCustomJob
(https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.customJobs).
"""

from __future__ import annotations

import re

# GCPC's gcp_resources resourceUri: https://<location>-aiplatform.googleapis.com/v1/<job name>.
_RESOURCE_URI = re.compile(
    r"https://(?P<endpoint>(?P<location>[a-z0-9-]+)-aiplatform\.googleapis\.com)/v1/"
    r"(?P<name>projects/[^/]+/locations/(?P=location)/customJobs/[0-9]+)"
)


def parse_job_resource(resource_uri: str) -> tuple[str, str]:
    """The regional API endpoint and the job's resource name of a GCPC ``resourceUri``.

    Raises:
        ValueError: Not a custom job's resource URI.
    """
    match = _RESOURCE_URI.fullmatch(resource_uri)
    if not match:
        raise ValueError(
            f"gcp_resources names no Vertex AI custom job ({resource_uri!r}); the job's running "
            "time cannot be read"
        )
    return match.group("endpoint"), match.group("name")


def custom_job_window(resource_uri: str) -> tuple[float, float]:
    """The custom job's start and end, in epoch seconds, from JobService.GetCustomJob.

    Raises:
        ValueError: Not a custom job's URI, or the job has no start or end time.
    """
    from google.api_core.client_options import ClientOptions
    from google.cloud import aiplatform

    endpoint, name = parse_job_resource(resource_uri)
    client = aiplatform.gapic.JobServiceClient(client_options=ClientOptions(api_endpoint=endpoint))
    job = client.get_custom_job(name=name)
    if not job.start_time or not job.end_time:
        raise ValueError(f"custom job {name} has no start or end time; its state is {job.state}")
    return job.start_time.timestamp(), job.end_time.timestamp()
