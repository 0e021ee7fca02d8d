"""The ``carbon-aware`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_TEMPLATE = Path("build/pipeline.yaml")
# The image the local template is compiled with. kfp.local's subprocess runner ignores it; Vertex
# runs use the image Cloud Build tags with the commit (see cloudbuild.yaml).
LOCAL_IMAGE = "carbon-aware-vertex:local"


def _compile(args: argparse.Namespace) -> int:
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    print(compile_pipeline(args.image, args.output, steps_image=args.steps_image))
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from carbon_aware.delivery.local_run import default_output_dir, run_local
    from carbon_aware.delivery.progress import ConsoleRun
    from carbon_aware.delivery.template import parse_param_assignments

    overrides = parse_param_assignments(args.param)
    # An empty --output-dir is refused by run_local rather than taken as the current directory.
    output_dir = args.output_dir if args.output_dir is not None else default_output_dir()
    console = ConsoleRun(sys.stdout, verbose=args.verbose)
    options: dict[str, Any] = {
        "overwrite": args.overwrite,
        "observer": console,
        "echo": sys.stdout if args.verbose else None,
    }
    if args.now is not None:
        from carbon_aware.inputs import utc_time

        options["now"] = utc_time(args.now, "--now")
    if args.template is not None:
        result = run_local(args.template, output_dir, overrides, **options)
    else:
        from carbon_aware.kfp.pipelines.compiler import compile_pipeline

        # Compiled aside, never into build/pipeline.yaml (the Vertex template's path): run_local
        # copies it into the run's own output directory once the parameters have passed.
        with tempfile.TemporaryDirectory(prefix="carbon-aware-compile-") as staging:
            template = compile_pipeline(LOCAL_IMAGE, Path(staging) / "pipeline.yaml")
            result = run_local(template, output_dir, overrides, **options)
    if result.schedule_request is not None:
        import json

        saved = result.output_dir / "schedule_request.json"
        saved.write_text(json.dumps(result.schedule_request, indent=2), encoding="utf-8")
        shown = json.loads(json.dumps(result.schedule_request))
        job = shown["body"]["createPipelineJobRequest"]["pipelineJob"]
        job["pipelineSpec"] = f"<the template's pipeline spec: in full in {saved}>"
        print(f"deferred: nothing trained; report: {result.report_md}")
        print("schedule request the run would send on Vertex AI:")
        print(json.dumps(shown, indent=2))
        return 0
    console.show_result(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="carbon-aware", description="Carbon-aware training on Vertex AI Pipelines."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    compile_cmd = sub.add_parser("compile", help="compile the pipeline YAML (as compile.py)")
    compile_cmd.add_argument("--image", required=True, help="project image, immutable tag")
    compile_cmd.add_argument("--output", default=str(DEFAULT_TEMPLATE), help="YAML to write")
    compile_cmd.add_argument(
        "--steps-image",
        default="",
        help="the image without TensorFlow (Dockerfile target steps) for the four light steps",
    )
    compile_cmd.set_defaults(func=_compile)

    run = sub.add_parser("run-local", help="run the compiled pipeline here with kfp.local")
    run.add_argument("--output-dir", help="where to write report.md, report.html, footprint.json")
    run.add_argument(
        "--template",
        help="compiled YAML to run (default: compile one into the output directory first)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the report an existing --output-dir already holds (default: refuse)",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable); lists as a,b,c or JSON",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="stream every step's log as it runs (always written to DIR/logs/<step>.log)",
    )
    run.add_argument(
        "--now",
        metavar="ISO",
        help="plan-start's planning time, e.g. 2023-06-01T12:00Z (with start_within_hours > 0 "
        "and intensity_provider=csv: plan against the file's hours from then)",
    )
    run.set_defaults(func=_run_local)

    from carbon_aware.intensity.cli import register as register_intensity

    register_intensity(sub)

    from carbon_aware.delivery.cli import register as register_delivery

    register_delivery(sub)

    from carbon_aware.planning.cli import register as register_planning

    register_planning(sub)

    from carbon_aware.history.cli import register as register_history

    register_history(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``carbon-aware`` console script (exit codes: README, Command line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from carbon_aware.delivery.access import EXIT_NO_ACCESS, describe
    from carbon_aware.delivery.local_run import PipelineRunError, RunStopped

    try:
        code: int = args.func(args)
    except RunStopped as stopped:
        name = signal.Signals(stopped.signum).name
        print(
            f"carbon-aware: stopped by {name}; the steps and their programs were ended",
            file=sys.stderr,
        )
        return 128 + stopped.signum
    except Exception as err:
        # Missing credentials or a permission, wherever raised (even wrapped): one line, the fix.
        access = describe(err, str(args.command))
        if access is not None:
            print(f"carbon-aware: error: {access}", file=sys.stderr)
            return EXIT_NO_ACCESS
        if isinstance(err, ValueError):
            print(f"carbon-aware: error: {err}", file=sys.stderr)
            return 2
        if isinstance(err, PipelineRunError):
            from carbon_aware.delivery.progress import failure_lines

            for line in failure_lines(err):
                print(f"carbon-aware: {line}", file=sys.stderr)
            return 1
        raise
    return code


if __name__ == "__main__":
    sys.exit(main())
