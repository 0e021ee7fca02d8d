"""``carbon-aware footprint-history``: the project's Carbon Footprint export, summarised."""

from __future__ import annotations

import argparse
import json

from carbon_aware.history.queries import DEFAULT_MONTHS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``footprint-history`` subcommand to the ``carbon-aware`` parser."""
    cmd = subparsers.add_parser(
        "footprint-history",
        help="summarise the Cloud Carbon Footprint BigQuery export (by month, service, ...)",
        description=(
            "Query the Carbon Footprint export table with parameterised BigQuery SQL and print "
            "totals by month, service, region, project and scope (kgCO2e, location- and "
            "market-based)."
        ),
    )
    cmd.add_argument(
        "--table", required=True, help="export table, project.dataset.table (e.g. p.ds.carbon)"
    )
    cmd.add_argument(
        "--months",
        type=int,
        default=DEFAULT_MONTHS,
        help=f"complete months to include, 1-120 (default {DEFAULT_MONTHS})",
    )
    cmd.add_argument("--project", default="", help="only this project id (default: all)")
    cmd.add_argument(
        "--job-project", default=None, help="project to run the query jobs in (default: table's)"
    )
    cmd.add_argument("--json", action="store_true", help="print JSON instead of tables")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handles ``carbon-aware footprint-history``.

    Raises:
        ValueError: Bad table name or month count.
    """
    from carbon_aware.history.bigquery import fetch_history
    from carbon_aware.history.format import format_history

    history = fetch_history(args.table, args.months, args.project, job_project=args.job_project)
    if args.json:
        print(json.dumps(history.to_dict(), indent=2, default=str))
    else:
        print(format_history(history))
    return 0
