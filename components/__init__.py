"""The pipeline's five components, built on the project's own image.

Each module holds one plain function whose signature and docstring are the component's interface;
its body only parses inputs, calls the project's typed functions and writes outputs. The image is
a compile argument, so components are created by :func:`build_components`, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from .choose_region import choose_region
from .evaluate import evaluate
from .fetch_intensity import fetch_intensity
from .report_footprint import report_footprint
from .train import collect_training, train


@dataclass(frozen=True)
class Components:
    """The five components, bound to one image."""

    fetch_intensity: PythonComponent
    choose_region: PythonComponent
    train: PythonComponent
    collect_training: PythonComponent
    evaluate: PythonComponent
    report_footprint: PythonComponent


def build_components(image: str, steps_image: str = "") -> Components:
    """Creates the components on ``image`` (the project's image, installed with this package).

    No package is installed when a step starts: ``install_kfp_package=False`` keeps KFP's
    run-time ``pip install`` out of the command, since the image already has kfp and this project.
    With ``steps_image`` (the Dockerfile's ``steps`` target: the same, without TensorFlow) the
    steps that never import TensorFlow run on it; ``train`` and ``evaluate`` stay on ``image``.
    """

    def make(func: object, base_image: str = image) -> PythonComponent:
        return dsl.component(func, base_image=base_image, install_kfp_package=False)  # type: ignore[arg-type]

    light = steps_image or image
    return Components(
        fetch_intensity=make(fetch_intensity, light),
        choose_region=make(choose_region, light),
        train=make(train),
        collect_training=make(collect_training, light),
        evaluate=make(evaluate),
        report_footprint=make(report_footprint, light),
    )
