"""A real smoke test on Google Cloud: compile, submit a tiny run, check where training ran.

Off by default (marker ``gcp``, deselected in pyproject's addopts). It needs a project set up as
the README's "Deploy to Vertex AI" says (``carbon-aware setup``, then ``carbon-aware doctor``),
the project's image pushed, and Application Default Credentials:

    CARBON_AWARE_GCP_PROJECT=my-proj CARBON_AWARE_GCP_LOCATION=europe-west4 \
    CARBON_AWARE_GCP_IMAGE=europe-docker.pkg.dev/my-proj/carbon/carbon-aware:SHA \
    CARBON_AWARE_GCP_BUCKET_TEMPLATE='gs://my-proj-carbon-{region}' \
    CARBON_AWARE_GCP_SERVICE_ACCOUNT=pipeline-runner@my-proj.iam.gserviceaccount.com \
    .venv/bin/pytest -m gcp tests/gcp

It runs the bundled trainer for 2 epochs on n1-standard-4 in two candidate regions: about
10-15 minutes of pipeline time, a few cents of Vertex AI Pipelines and custom training.
"""

import json
import os

import pytest

pytestmark = pytest.mark.gcp
NEEDED = (
    "CARBON_AWARE_GCP_PROJECT",
    "CARBON_AWARE_GCP_LOCATION",
    "CARBON_AWARE_GCP_IMAGE",
    "CARBON_AWARE_GCP_BUCKET_TEMPLATE",
    "CARBON_AWARE_GCP_SERVICE_ACCOUNT",
)


@pytest.fixture(scope="module")
def settings():
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} to run the real smoke test")
    return {name: os.environ[name] for name in NEEDED}


def test_a_tiny_run_trains_in_the_chosen_region(settings, tmp_path):
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline
    from google.cloud import aiplatform

    from carbon_aware.vertex import regional_bucket

    project = settings["CARBON_AWARE_GCP_PROJECT"]
    location = settings["CARBON_AWARE_GCP_LOCATION"]
    template = compile_pipeline(settings["CARBON_AWARE_GCP_IMAGE"], tmp_path / "pipeline.yaml")
    candidates = ["europe-north1", "europe-west4"]
    bucket_template = settings["CARBON_AWARE_GCP_BUCKET_TEMPLATE"]
    aiplatform.init(project=project, location=location)
    job = aiplatform.PipelineJob(
        display_name="carbon-aware-smoke",
        template_path=str(template),
        pipeline_root=f"{regional_bucket(bucket_template, location)}/pipeline-root",
        parameter_values={
            "backend": "vertex",
            "project": project,
            "regional_bucket_template": bucket_template,
            "candidate_regions": candidates,
            "epochs": 2,
            "min_quality": 0.5,
        },
        enable_caching=False,
    )
    job.run(service_account=settings["CARBON_AWARE_GCP_SERVICE_ACCOUNT"], sync=True)
    tasks = {task.task_name: task for task in job.task_details}
    region = tasks["choose-region"].execution.metadata["output:region"]
    resources = json.loads(tasks["train-on-vertex"].execution.metadata["output:gcp_resources"])
    job_uri = resources["resources"][0]["resourceUri"]
    assert f"/locations/{region}/customJobs/" in job_uri
    assert region in candidates
