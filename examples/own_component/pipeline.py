"""Build the carbon-aware pipeline around a KFP component you already have.

``gradient_boosting`` is an ordinary KFP container component for the scikit-learn program in
``examples/sklearn_gbt``. ``compile_around`` makes it the pipeline's train step: the compiled
YAML runs it in the lowest-carbon region that meets the run's constraints, as a Vertex AI custom
job (and locally, with ``carbon-aware run-local --template``, as a subprocess).

    python examples/own_component/pipeline.py --image IMAGE:TAG --output build/gbt-pipeline.yaml
"""

import argparse

from carbon_aware.kfp.pipelines.own_component import compile_around
from kfp import dsl


@dsl.container_component
def gradient_boosting(n_estimators: int = 100, learning_rate: float = 0.1):
    """Gradient-boosted trees on a CSV; writes model.joblib and metrics.json to AIP_MODEL_DIR."""
    return dsl.ContainerSpec(
        image="europe-docker.pkg.dev/my-project/training/gbt:1.0.0",
        command=["python", "examples/sklearn_gbt/train.py"],
        args=["--n-estimators", n_estimators, "--learning-rate", learning_rate],
    )


def main() -> None:
    """Compiles the pipeline around ``gradient_boosting``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the project's image (immutable tag)")
    parser.add_argument("--output", default="build/gbt-pipeline.yaml")
    parser.add_argument("--n-estimators", type=int, default=100)
    args = parser.parse_args()
    path = compile_around(
        gradient_boosting,
        image=args.image,
        output=args.output,
        arguments={"n_estimators": args.n_estimators},
    )
    print(path)


if __name__ == "__main__":
    main()
