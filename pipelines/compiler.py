"""Compile the pipeline to the YAML that Vertex AI runs and kfp.local executes."""

from __future__ import annotations

import re
from pathlib import Path

from kfp import compiler

from .carbon_aware_pipeline import build_pipeline

_IMAGE = re.compile(r"^[a-z0-9][a-z0-9.\-_/:]*[a-z0-9](@sha256:[0-9a-f]{64})?$")


def validate_image(image: str) -> str:
    """Refuses mutable or malformed image references.

    Raises:
        ValueError: The image has no tag or digest, or is tagged ``latest``.
    """
    last = image.rsplit("/", 1)[-1]
    if not _IMAGE.fullmatch(image) or ("@sha256:" not in image and ":" not in last):
        raise ValueError(
            f"image {image!r} must be a full image reference with an immutable tag or digest, "
            "e.g. europe-docker.pkg.dev/my-proj/carbon/trainer:3f2a1bc"
        )
    if "@sha256:" not in image and last.rsplit(":", 1)[1] == "latest":
        raise ValueError(
            f"image {image!r} uses the mutable tag 'latest'; tag it with the commit SHA instead"
        )
    return image


def compile_pipeline(image: str, output: str | Path, steps_image: str = "") -> Path:
    """Compiles the pipeline for ``image`` into ``output`` (deterministic for the same inputs).

    Args:
        image: The project's container image (immutable tag or digest).
        output: Where to write the pipeline YAML.
        steps_image: The same image built without TensorFlow (``--target steps``), for the steps
            that never import it; empty runs every step on ``image``.

    Returns:
        The path written.
    """
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = validate_image(steps_image) if steps_image else ""
    compiler.Compiler().compile(build_pipeline(validate_image(image), steps_image=steps), str(path))
    return path
