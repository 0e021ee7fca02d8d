"""``carbon_aware_training(component, **arguments)``: carbon-aware training as one KFP step.

The result is a KFP pipeline (a graph component). Compile it alone, or call it inside your own
``@dsl.pipeline`` like any component: its inputs are the carbon-aware parameters and your
component's inputs (bind them to your pipeline's values); its outputs are ``report``,
``report_html``, ``footprint`` and ``model``. Your component (a container component or a
lightweight Python component with its own ``base_image`` and ``packages_to_install``) runs as a
Vertex AI custom job in the chosen region, and locally as kfp.local runs it.
"""

from __future__ import annotations

import os
from typing import Any

from kfp.dsl.base_component import BaseComponent
from kfp.dsl.graph_component import GraphComponent

from .carbon_aware_pipeline import build_pipeline
from .compiler import validate_image
from .training_step import training_step

IMAGE_VARIABLE = "CARBON_AWARE_IMAGE"


def carbon_aware_training(
    component: BaseComponent, *, project_image: str = "", **arguments: Any
) -> GraphComponent:
    """The carbon-aware pipeline around ``component``, as a pipeline you can use as one step.

    Args:
        component: Your training step: ``@dsl.container_component`` or ``@dsl.component``. It
            writes its model (and ``metrics.json``, optionally ``classification_metrics.json``)
            to ``$AIP_MODEL_DIR``; an ``Output[Model]`` lands there too.
        project_image: This project's image, which runs the carbon-aware steps (immutable tag);
            empty reads ``$CARBON_AWARE_IMAGE``.
        **arguments: Defaults for the pipeline's inputs: your component's inputs and the
            carbon-aware parameters (``candidate_regions``, ``min_quality``, ...). Each stays an
            input, so a run or your outer pipeline can still set it.

    Returns:
        The pipeline (a KFP graph component).

    Raises:
        ValueError: A bad image, component or argument, naming it and what is allowed.
    """
    image = project_image or os.environ.get(IMAGE_VARIABLE, "")
    if not image:
        raise ValueError(
            f"project_image is empty and ${IMAGE_VARIABLE} is not set: give this project's image "
            "with an immutable tag, e.g. europe-docker.pkg.dev/my-proj/carbon/carbon-aware:3f2a1bc"
        )
    image = validate_image(image)
    # KFP would write a Python None as the text 'None' into a string input: refuse it instead.
    unset = sorted(key for key, value in arguments.items() if value is None)
    if unset:
        raise ValueError(
            f"argument {unset[0]}=None: give {unset[0]} a value (as KFP would pass it: a string, "
            "number, bool, list or dict) or leave it out to keep the component's default"
        )
    return build_pipeline(image, training=training_step(component, image), arguments=arguments)
