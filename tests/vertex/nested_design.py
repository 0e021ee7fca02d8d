"""The worker-pool design this project avoids, for the stand-in to show why (KFP reads these
annotations at definition time, so this module has no ``from __future__ import annotations``)."""

from google_cloud_pipeline_components.v1.custom_job import CustomTrainingJobOp
from kfp import dsl


@dsl.pipeline(name="nested-pools")
def nested_pools(accelerator_count: int = 1, region: str = "europe-west1"):
    """A custom job whose accelerator count is a channel nested inside worker_pool_specs."""
    CustomTrainingJobOp(
        project="carbon-proj-123",
        location=region,
        display_name="nested",
        worker_pool_specs=[
            {
                "machine_spec": {
                    "machine_type": "n1-standard-4",
                    "accelerator_type": "NVIDIA_TESLA_T4",
                    "accelerator_count": accelerator_count,
                },
                "replica_count": 1,
                "container_spec": {"image_uri": "europe-docker.pkg.dev/p/r/i:1"},
            }
        ],
    )
