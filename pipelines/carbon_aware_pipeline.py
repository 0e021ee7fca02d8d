"""Carbon-aware training: fetch-intensity -> choose-region -> train -> evaluate -> report.

Training runs the user's program (or the bundled trainer) under Vertex AI's custom-training
contract. Backend ``vertex``: a Vertex AI custom job whose ``location`` is choose-region's output,
whose worker pools choose-region builds as one typed value, whose outputs stay in the chosen
region's bucket, and which runs as the pipeline's own service account; ``collect-training`` then
gathers its replicas. Backend ``local`` (kfp.local): the same program as a subprocess of the train
step. Both branches live in one compiled template; the untaken branch never runs.

With ``start_within_hours`` > 0, plan-start plans the start first; when a later start is better,
defer-run schedules a copy of this run at it and the training branches are skipped (the report
step then reports the deferral).
"""

import copy
from collections.abc import Mapping
from typing import Any, NamedTuple

from carbon_aware.kfp.components import build_components
from google_cloud_pipeline_components.v1.custom_job import CustomTrainingJobOp
from kfp import dsl
from kfp.dsl import HTML, Artifact, Markdown, Model
from kfp.dsl.graph_component import GraphComponent

from carbon_aware.footprint.orchestration import request_step_resources as small
from carbon_aware.planning.deferral import START_LATER
from carbon_aware.run_defaults import RUN_PROJECT_PLACEHOLDER

from .training_step import TrainingStep, with_component_inputs

PIPELINE_NAME = "carbon-aware-training"
DEFAULT_CANDIDATE_REGIONS = [
    "europe-north1",
    "europe-west1",
    "europe-west4",
    "us-central1",
    "us-east4",
    "us-west1",
]
# training_env's default: the program gets the contract's variables and nothing of the user's.
NO_TRAINING_ENV: dict[str, str] = {}
VERTEX_TRAIN_TASK = "train-on-vertex"
NO_PACKAGES: list[str] = []  # training_package_uris' default: no Python package
# GCPC's run-time placeholder for the service account the pipeline run itself uses.
PIPELINE_SERVICE_ACCOUNT = "{{$.pipeline_service_account}}"
# GCPC's run-time placeholders for the run's submission region and its own project.
PIPELINE_LOCATION = "{{$.pipeline_google_cloud_location}}"


class PipelineOutputs(NamedTuple):
    """The pipeline's outputs: the report in both forms, the footprint record and the model."""

    report: Markdown
    report_html: HTML
    footprint: Artifact
    model: Model


def build_pipeline(
    image: str,
    training: TrainingStep | None = None,
    arguments: Mapping[str, Any] | None = None,
    steps_image: str = "",
) -> GraphComponent:
    """Builds the pipeline with every component on ``image``.

    Args:
        image: The project's container image, tagged immutably (commit SHA or digest).
        training: A team's component as the training program (see
            :func:`carbon_aware.kfp.carbon_aware_training`): its inputs become pipeline inputs,
            its image the default ``training_image``, and ``training_command`` its bound command.
            None keeps the bundled trainer.
        arguments: Defaults for the pipeline's inputs (only with ``training``).
        steps_image: The project's image without TensorFlow for the steps that never import
            it (empty: ``image`` for every step).

    Returns:
        The pipeline, ready for ``kfp.compiler.Compiler().compile`` or to call as one step.
    """
    ops = build_components(image, steps_image)
    default_command: list[str] = []
    default_image: str = training.image if training else ""
    # The component's input channels, filled in by with_component_inputs before the body runs.
    component_inputs: dict[str, Any] = {}
    # GCPC's op under our task name, so the step reads as what it is in the Vertex console.
    vertex_job = copy.deepcopy(CustomTrainingJobOp)
    vertex_job.component_spec.name = VERTEX_TRAIN_TASK

    def carbon_aware_training(
        candidate_regions: list = DEFAULT_CANDIDATE_REGIONS,
        baseline_region: str = "us-central1",
        residency: str = "",
        max_carbon_intensity: float = 0.0,
        backend: str = "vertex",
        project: str = "",
        regional_bucket_template: str = "",
        machine_type: str = "n1-standard-4",
        accelerator_type: str = "",
        accelerator_count: int = 0,
        epochs: int = 20,
        seed: int = 42,
        data_uri: str = "",
        label_column: str = "target",
        dedupe: str = "none",
        keep_columns: str = "",
        mixed_precision: bool = False,
        export_compressed: bool = False,
        training_command: list = default_command,
        training_image: str = default_image,
        training_package_uris: list = NO_PACKAGES,
        training_python_module: str = "",
        worker_replica_count: int = 0,
        training_env: dict = NO_TRAINING_ENV,
        training_timeout_hours: float = 72.0,
        quality_metric: str = "accuracy",
        min_quality: float = 0.9,
        intensity_provider: str = "static",
        allow_fallback: bool = True,
        api_key_secret: str = "",
        intensity_csv: str = "",
        pue: float = 0.0,
        functional_unit: str = "training_run",
        predictions_served: int = 1000000,
        carbon_footprint_table: str = "",
        planned_start_utc: str = "",
        planned_carbon_intensity: float = 0.0,
        start_within_hours: float = 0.0,
        expected_duration_hours: float = 0.0,
    ) -> PipelineOutputs:
        """Carbon-aware training: fetch intensity, choose the region, train there, evaluate, report.

        Args:
            candidate_regions: GCP regions the training job may run in.
            baseline_region: The region savings are measured against.
            residency: Keep the job in one residency group (``eu``, ``us``, ...); empty = any.
            max_carbon_intensity: Leave out regions above this gCO2e/kWh; 0 = no cap.
            backend: ``vertex`` trains in a custom job in the chosen region; ``local`` in-process.
            project: Google Cloud project for the custom job (required for ``vertex``).
            regional_bucket_template: One bucket per region, e.g. ``gs://my-proj-carbon-{region}``.
            machine_type: Compute Engine machine type for training.
            accelerator_type: Vertex accelerator enum name, empty for none.
            accelerator_count: Number of accelerators (0 with none).
            epochs: Maximum training epochs.
            seed: Random seed for the data split and the weights.
            data_uri: CSV (local path or gs://); empty for the bundled scikit-learn dataset.
            label_column: Column holding the class label.
            dedupe: Drop duplicate rows before training: ``none``, ``exact`` or ``key:COLUMN``.
            keep_columns: Comma-separated feature columns to keep (the label is always kept);
                empty keeps all.
            mixed_precision: Train in ``mixed_float16`` when a GPU is present.
            export_compressed: Also export TFLite float16 and int8 copies, evaluated on the
                same test set.
            training_command: Your training program and its arguments, e.g.
                ``["python", "-m", "my_pkg.train"]``; empty runs the bundled trainer.
            training_image: The image the custom job runs it in (registry host and tag);
                empty = the project's image. Recorded, not pulled, by a local run.
            training_package_uris: ``gs://`` Python source distributions Vertex AI installs on
                ``training_image`` (a prebuilt training container) before running
                ``training_python_module``; locally, local package paths are unpacked, not
                installed.
            training_python_module: The module to run (``python -m``), with the elements of
                ``training_command`` as its arguments; empty = ``training_command`` is a program.
            worker_replica_count: Workers of a second pool beside the chief, on the same machine
                and accelerator (Vertex distributed training); 0 = the chief alone.
            training_env: ``NAME: value`` variables for your program (no credentials: they are
                visible in the run's parameters); on Vertex AI the worker pools' container env.
            training_timeout_hours: The program is stopped after this long (the custom job's
                scheduling.timeout; locally its process group); at most 336 (14 days).
            quality_metric: The key of metrics.json (in AIP_MODEL_DIR) the run is gated on.
            min_quality: Lowest acceptable value of quality_metric; the run fails below it.
            intensity_provider: Carbon-intensity provider (``static`` works offline).
            allow_fallback: Use the static annual figure, labelled fallback, for a region the
                live provider cannot serve; when false the run fails instead.
            api_key_secret: Secret Manager version name of the provider key (never the key).
            intensity_csv: For ``intensity_provider=csv``: the intensity CSV (path or gs://).
            pue: Power usage effectiveness; 0 uses Google's published PUE of each region's
                campus (the fleet-wide figure where none is published).
            functional_unit: SCI functional unit R: ``training_run``, ``1k_training_examples``
                or ``1k_predictions``.
            predictions_served: Predictions the model is expected to serve (``1k_predictions``).
            carbon_footprint_table: Carbon Footprint BigQuery export table
                (``project.dataset.table``) for the project's trend in the report; empty: off.
            planned_start_utc: Start the plan chose (set by ``submit --start-within``); empty: none.
            planned_carbon_intensity: The plan's expected gCO2e/kWh there; 0 with no plan.
            start_within_hours: The start may wait this long for a cleaner hour: a later start
                makes the run defer itself (a one-off schedule of itself, no training); 0 =
                start now.
            expected_duration_hours: How long the run takes (needed when it may wait).
        """
        if training is not None:
            training_command = training.bind_task(component_inputs).output
        start = ops.plan_start(
            start_within_hours=start_within_hours,
            expected_duration_hours=expected_duration_hours,
            candidate_regions=candidate_regions,
            baseline_region=baseline_region,
            residency=residency,
            max_carbon_intensity=max_carbon_intensity,
            intensity_provider=intensity_provider,
            intensity_csv=intensity_csv,
            api_key_secret=api_key_secret,
            project=project,
            run_project=RUN_PROJECT_PLACEHOLDER,
            regional_bucket_template=regional_bucket_template,
        ).set_display_name("plan-start")
        small(start, "plan-start")
        start.set_caching_options(False)  # "now" moves: a cached plan would be stale
        # The console's empty project and bucket template, filled in from the run itself.
        project = start.outputs["project"]
        regional_bucket_template = start.outputs["regional_bucket_template"]
        fetch = ops.fetch_intensity(
            candidate_regions=candidate_regions,
            baseline_region=baseline_region,
            intensity_provider=intensity_provider,
            allow_fallback=allow_fallback,
            api_key_secret=api_key_secret,
            intensity_csv=intensity_csv,
            residency=residency,
            accelerator_type=accelerator_type,
            accelerator_count=accelerator_count,
        ).set_display_name("fetch-intensity")
        small(fetch, "fetch-intensity")
        # Live intensity must never be served from the cache.
        fetch.set_caching_options(False)
        choose = ops.choose_region(
            intensity=fetch.outputs["intensity"],
            candidate_regions=candidate_regions,
            baseline_region=baseline_region,
            residency=residency,
            max_carbon_intensity=max_carbon_intensity,
            backend=backend,
            project=project,
            regional_bucket_template=regional_bucket_template,
            machine_type=machine_type,
            accelerator_type=accelerator_type,
            accelerator_count=accelerator_count,
            epochs=epochs,
            seed=seed,
            data_uri=data_uri,
            label_column=label_column,
            dedupe=dedupe,
            keep_columns=keep_columns,
            mixed_precision=mixed_precision,
            export_compressed=export_compressed,
            training_command=training_command,
            training_image=training_image,
            training_package_uris=training_package_uris,
            training_python_module=training_python_module,
            training_env=training_env,
            training_timeout_hours=training_timeout_hours,
            project_image=image,
            worker_replica_count=worker_replica_count,
            quality_metric=quality_metric,
            min_quality=min_quality,
            pue=pue,
            functional_unit=functional_unit,
            predictions_served=predictions_served,
            carbon_footprint_table=carbon_footprint_table,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ).set_display_name("choose-region")
        small(choose, "choose-region")
        region = choose.outputs["region"]
        program = {
            "training_command": choose.outputs["training_command"],
            "training_image": choose.outputs["training_image"],
            "training_package_uris": training_package_uris,
            "data_uri": data_uri,
            "region": region,
            "machine_type": machine_type,
            "accelerator_type": accelerator_type,
            "accelerator_count": accelerator_count,
        }
        with dsl.If(start.outputs["start"] == START_LATER, name="defer-to-planned-start"):
            deferral = (
                ops.defer_run(
                    plan_json=start.outputs["plan_json"],
                    backend=backend,
                    pipeline_job_resource_name=dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER,
                    location=PIPELINE_LOCATION,
                    service_account=PIPELINE_SERVICE_ACCOUNT,
                )
                .set_display_name("defer-run")
                .after(choose)  # every parameter is checked before the run is deferred
            )
            small(deferral, "defer-run")
            deferral.set_caching_options(False)  # a cached deferral would schedule nothing
        with dsl.Else(name="start-now"):
            with dsl.If(backend == "vertex", name="train-in-chosen-region"):
                job = vertex_job(
                    project=project,
                    location=region,
                    display_name="carbon-aware-train",
                    worker_pool_specs=choose.outputs["worker_pool_specs"],
                    base_output_directory=choose.outputs["base_output_directory"],
                    service_account=PIPELINE_SERVICE_ACCOUNT,
                    timeout=choose.outputs["job_timeout"],
                    # The pipeline's persistent resource is in the submission region, not the
                    # chosen one: run on demand there.
                    persistent_resource_id="",
                ).set_display_name(VERTEX_TRAIN_TASK)
                small(job, VERTEX_TRAIN_TASK)
                collected = ops.collect_training(
                    gcp_resources=job.outputs["gcp_resources"],
                    base_output_directory=choose.outputs["base_output_directory"],
                    worker_replica_count=worker_replica_count,
                    **program,
                ).set_display_name("collect-training")
                small(collected, "collect-training")
            with dsl.Else(name="train-in-process"):
                in_process = ops.train(
                    **program,
                    training_env=training_env,
                    training_timeout_hours=training_timeout_hours,
                ).set_display_name("train")
            model_uri = dsl.OneOf(collected.outputs["model_uri"], in_process.outputs["model_uri"])
            run_record = dsl.OneOf(
                collected.outputs["run_record_json"], in_process.outputs["run_record_json"]
            )
            evaluation = ops.evaluate(
                model_uri=model_uri,
                quality_metric=quality_metric,
                min_quality=min_quality,
                run_record_json=run_record,
            )
            evaluation.set_display_name("evaluate")
            small(evaluation, "evaluate")
        report = ops.report_footprint(
            decision=choose.outputs["decision"],
            # From the branch that ran: KFP cannot nest one dsl.OneOf in another, so the
            # training run's record comes through evaluate.
            run_record_json=dsl.OneOf(
                deferral.outputs["run_record_json"], evaluation.outputs["run_record_json"]
            ),
            evaluation_json=dsl.OneOf(
                deferral.outputs["evaluation_json"], evaluation.outputs["evaluation_json"]
            ),
            pue=pue,
            functional_unit=functional_unit,
            predictions_served=predictions_served,
            carbon_footprint_table=carbon_footprint_table,
            project=project,
            api_key_secret=api_key_secret,
            intensity_csv=intensity_csv,
            planned_start_utc=planned_start_utc,
            planned_carbon_intensity=planned_carbon_intensity,
            pipeline_job_resource_name=dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER,
            plan_json=start.outputs["plan_json"],
        ).set_display_name("report-footprint")
        small(report, "report-footprint")
        return PipelineOutputs(
            report=report.outputs["report"],
            report_html=report.outputs["report_html"],
            footprint=report.outputs["footprint"],
            # From report-footprint: evaluate sits in the start-now branch (a deferred run
            # has no model; its model artifact says so).
            model=report.outputs["model"],
        )

    body = carbon_aware_training
    if training is not None:
        body = with_component_inputs(body, training, arguments or {}, component_inputs)
    elif arguments:
        raise ValueError("arguments need a training component")
    describe = dsl.pipeline(
        name=PIPELINE_NAME, description="Train where the grid is cleanest; report it."
    )
    return describe(body)
