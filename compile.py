"""Compile the carbon-aware pipeline: ``python compile.py --image IMAGE --output PATH``.

``--steps-image IMAGE2`` (the Dockerfile's ``steps`` target) runs the light steps on it.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parses flags and writes the pipeline YAML."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True, help="project image, immutable tag or digest")
    parser.add_argument(
        "--steps-image",
        default="",
        help="the image's `steps` target (no TensorFlow) for the light steps; default: --image",
    )
    parser.add_argument("--output", default="build/pipeline.yaml", help="YAML file to write")
    args = parser.parse_args(argv)
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    try:
        path = compile_pipeline(args.image, args.output, steps_image=args.steps_image)
    except ValueError as err:
        parser.error(str(err))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
