"""Compile the carbon-aware pipeline around your KFP component into a YAML file.

A thin wrapper over :func:`carbon_aware.kfp.carbon_aware_training`, the building block: use the
block itself to call carbon-aware training as one step of your own pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kfp import compiler
from kfp.dsl.base_component import BaseComponent

from .building_block import carbon_aware_training


def compile_around(
    component: BaseComponent,
    *,
    image: str,
    output: str | Path,
    arguments: Mapping[str, Any] | None = None,
) -> Path:
    """Compiles carbon-aware training around ``component`` into ``output``.

    Args:
        component: Your training step (container or lightweight Python component).
        image: This project's image for the carbon-aware steps (immutable tag).
        output: Where to write the pipeline YAML.
        arguments: Defaults for the pipeline's inputs (your component's and the carbon-aware
            ones); each can still be set per run.

    Returns:
        The path written.
    """
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    pipeline = carbon_aware_training(component, project_image=image, **dict(arguments or {}))
    compiler.Compiler().compile(pipeline, str(path))
    return path
