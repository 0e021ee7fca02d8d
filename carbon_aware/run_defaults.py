"""Defaults a console run fills in itself: the project it runs in, and the buckets setup made.

A run created in the Vertex console (or re-run) gets the pipeline's defaults for every field left
alone. ``project`` defaults to empty and is taken from the run itself: the backend resolves GCPC's
``{{$.pipeline_google_cloud_project_id}}`` placeholder passed to the plan-start step. The bucket
template defaults to empty and becomes :data:`BUCKET_CONVENTION`, the buckets
``carbon-aware setup`` creates when given no ``--bucket-template``.
"""

from __future__ import annotations

BUCKET_CONVENTION = "gs://{project}-carbon-{region}"
"""One bucket per region, named after the project (``carbon-aware setup``'s default)."""
RUN_PROJECT_PLACEHOLDER = "{{$.pipeline_google_cloud_project_id}}"
"""GCPC's placeholder for the project the pipeline job runs in (resolved by Vertex AI)."""


def convention_bucket_template(project: str) -> str:
    """The bucket template ``setup`` uses by default for ``project``."""
    return BUCKET_CONVENTION.replace("{project}", project)


def run_defaults(project: str, run_project: str, regional_bucket_template: str) -> tuple[str, str]:
    """The project and bucket template a run uses when the form left them empty.

    Args:
        project: The ``project`` parameter (empty: the run's own).
        run_project: The run's own project as the backend resolved the placeholder; still the
            placeholder (kfp.local) or empty when it has none.
        regional_bucket_template: The parameter (empty: the convention, when a project is known).

    Returns:
        The project and the bucket template (both may stay empty, e.g. for a local run).
    """
    own = "" if not run_project or "{{" in run_project else run_project
    chosen = project or own
    template = regional_bucket_template or (convention_bucket_template(chosen) if chosen else "")
    return chosen, template
