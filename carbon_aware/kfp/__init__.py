"""The KFP side of the project: the pipeline's components, the pipeline, and the building block.

``carbon_aware.kfp.components`` and ``carbon_aware.kfp.pipelines`` are installed from the
repository's top-level ``components/`` and ``pipelines/`` folders (setuptools ``package-dir``), so
installing the project adds one import package, ``carbon_aware``, and never clashes with a team's
own ``components`` or ``pipelines`` packages.

``carbon_aware.kfp.carbon_aware_training(component, **arguments)`` returns carbon-aware training
around your component as a KFP pipeline you can compile alone or call inside your own pipeline
(see :mod:`carbon_aware.kfp.pipelines.building_block`). It is imported on first use, so the
pipeline's steps do not import the pipeline.
"""

from typing import Any

__all__ = ["carbon_aware_training"]


def __getattr__(name: str) -> Any:
    if name == "carbon_aware_training":
        from carbon_aware.kfp.pipelines.building_block import carbon_aware_training

        return carbon_aware_training
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
