"""Compile the carbon-aware pipeline: ``python compile.py --image IMAGE --output PATH``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parses flags and writes the pipeline YAML."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True, help="project image, immutable tag or digest")
    parser.add_argument("--output", default="build/pipeline.yaml", help="YAML file to write")
    args = parser.parse_args(argv)
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    try:
        path = compile_pipeline(args.image, args.output)
    except ValueError as err:
        parser.error(str(err))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
