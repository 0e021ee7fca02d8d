"""Carbon-aware training around a KFP component you already have, as one pipeline step.

``gradient_boosting`` is an ordinary KFP container component for the scikit-learn program in
``examples/sklearn_gbt``. ``carbon_aware_training`` turns it into a pipeline (a graph component)
that runs it in the lowest-carbon region meeting the run's constraints, as a Vertex AI custom job
(locally, with ``carbon-aware run-local --template``, as a subprocess). ``team_pipeline`` shows it
as one step of a team's own pipeline, its input bound to the team's value at run time.

    python examples/own_component/pipeline.py --image IMAGE:TAG --output build/gbt-pipeline.yaml
"""

import argparse
import sys
from pathlib import Path

from kfp import compiler, dsl

from carbon_aware.kfp import carbon_aware_training


@dsl.container_component
def gradient_boosting(n_estimators: int = 100, learning_rate: float = 0.1):
    """Gradient-boosted trees on a CSV; writes model.joblib and metrics.json to AIP_MODEL_DIR."""
    return dsl.ContainerSpec(
        image="europe-docker.pkg.dev/my-project/training/gbt:1.0.0",
        command=["python", "examples/sklearn_gbt/train.py"],
        args=["--n-estimators", n_estimators, "--learning-rate", learning_rate],
    )


def team_pipeline_around(training: dsl.base_component.BaseComponent) -> object:
    """A team's pipeline with carbon-aware training as one of its steps."""

    @dsl.pipeline(name="team-pipeline")
    def team_pipeline(n_estimators: int = 50, regions: list = ["europe-west1", "europe-west4"]):  # noqa: B006
        step = training(n_estimators=n_estimators, candidate_regions=regions)
        step.set_display_name("carbon-aware-training")

    return team_pipeline


def main() -> None:
    """Compiles carbon-aware training around ``gradient_boosting`` (alone, or in --team form)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the project's image (immutable tag)")
    parser.add_argument("--output", default="build/gbt-pipeline.yaml")
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--team", action="store_true", help="compile team_pipeline instead")
    args = parser.parse_args()
    try:
        block = carbon_aware_training(
            gradient_boosting, project_image=args.image, n_estimators=args.n_estimators
        )
    except ValueError as err:
        parser.error(str(err))
    pipeline = team_pipeline_around(block) if args.team else block
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline, args.output)
    print(args.output, file=sys.stdout)


if __name__ == "__main__":
    main()
