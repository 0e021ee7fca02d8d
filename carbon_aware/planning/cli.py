"""The ``plan`` and ``backtest`` subcommands of ``carbon-aware``.

Wire them in with ``register(sub)`` on the ``add_subparsers`` object. Handlers return an exit
code; ``ValueError`` propagates so the main CLI prints it and exits with status 2.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import pandas as pd

from carbon_aware.inputs import existing_file, utc_time
from carbon_aware.limits import MAX_DELAY_HOURS, MAX_DURATION_HOURS, check_hours
from carbon_aware.planning.backtest import BacktestResult, run_backtest
from carbon_aware.planning.constraints import Constraints
from carbon_aware.planning.planner import FORECASTS, Plan, plan_job
from carbon_aware.timeseries import load_intensity_csv

PLAN_PROVIDERS = ("csv", "electricitymaps", "static", "watttime")


def _names(text: str | None) -> list[str] | None:
    """Split ``a,b,c`` into names (None when not given)."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError(f"no names in {text!r}; give a comma-separated list")
    return names


def _prices(text: str | None) -> dict[str, float]:
    """Parse ``region=price,region=price``."""
    prices: dict[str, float] = {}
    for item in _names(text) or []:
        name, sep, value = item.partition("=")
        try:
            prices[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"bad price {item!r}; write REGION=PRICE_PER_HOUR")
    return prices


def _source(path: str) -> str:
    return f"intensity CSV {Path(path).name}"


def _common(parser: argparse.ArgumentParser, csv_required: bool = True) -> None:
    parser.add_argument(
        "--intensity-csv",
        required=csv_required,
        metavar="FILE",
        help="long-format CSV (datetime,region,carbon_intensity; .gz ok); with --provider csv "
        "the provider's file",
    )
    parser.add_argument("--duration-hours", type=float, required=True, help="job length")
    parser.add_argument(
        "--max-delay-hours", type=float, required=True, help="how long the start may wait (0: now)"
    )
    parser.add_argument(
        "--forecast",
        choices=FORECASTS,
        default="oracle",
        help="without --provider: oracle: the file is the forecast; day-ahead or ridge: our "
        "forecast from the file's history",
    )
    parser.add_argument("--baseline-region", help="run-now comparison (default: first region)")
    parser.add_argument(
        "--min-gain-pct",
        type=float,
        help="wait only for an expected gain of at least this many percent (default with our "
        "forecast: 0.8 x its back-tested saving error; 0: any gain)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _load(path: str) -> pd.DataFrame:
    """Loads ``--intensity-csv``, refusing a missing file or a directory in one line."""
    return load_intensity_csv(existing_file(path, "--intensity-csv"))


def _check_hours(args: argparse.Namespace) -> None:
    """The duration and the delay within their documented limits, before anything is built."""
    check_hours(args.duration_hours, "--duration-hours", maximum=MAX_DURATION_HOURS)
    check_hours(
        args.max_delay_hours, "--max-delay-hours", maximum=MAX_DELAY_HOURS, zero_allowed=True
    )


def _plan(args: argparse.Namespace) -> int:
    _check_hours(args)
    constraints = Constraints(
        residency=args.residency,
        accelerator_type=args.accelerator_type,
        accelerator_count=args.accelerator_count,
        max_carbon_intensity=args.max_carbon_intensity,
        price_weight=args.price_weight,
        prices=_prices(args.prices),
    )
    if args.provider:
        plan = _provider_plan(args, constraints)
    elif not args.intensity_csv:
        raise ValueError("plan needs --provider, or --intensity-csv for a plan from a CSV file")
    else:
        plan = plan_job(
            _load(args.intensity_csv),
            _names(args.regions) or [],
            args.duration_hours,
            args.max_delay_hours,
            constraints=constraints,
            baseline_region=args.baseline_region,
            forecast=args.forecast,
            now=args.now,
            data_source=_source(args.intensity_csv),
            min_gain_pct=args.min_gain_pct,
            backtested_min_gain=True,
        )
    print(plan.to_json() if args.json else "\n".join(plan_lines(plan)))
    return 0


def _provider_plan(args: argparse.Namespace, constraints: Constraints) -> Plan:
    from carbon_aware.intensity.registry import get_provider
    from carbon_aware.planning.when import plan_from_provider

    if args.provider == "csv" and not args.intensity_csv:
        raise ValueError("--provider csv needs --intensity-csv FILE (the provider's series)")
    live = args.provider in ("electricitymaps", "watttime")
    return plan_from_provider(
        args.provider,
        _names(args.regions) or [],
        args.duration_hours,
        args.max_delay_hours,
        constraints=constraints,
        baseline_region=args.baseline_region,
        now=_utc(args.now) if args.now else None,
        csv_uri=args.intensity_csv or "",
        history_csv=args.history_csv or "",
        min_gain_pct=args.min_gain_pct,
        provider=get_provider(args.provider, api_key_secret=args.api_key_secret) if live else None,
    )


def _utc(text: str) -> datetime:
    return utc_time(text, "--now")


def plan_lines(plan: Plan) -> list[str]:
    """Summarise a plan for the terminal."""
    methods = ", ".join(f"{k}: {v}" for k, v in plan.forecast_methods.items())
    skill = [
        f"  {region}: {model}"
        + (
            f", back-tested saving error {err['saving_error_pct']:g} points, MAPE 1-24 h "
            f"{err['mape_1_24h_pct']:g}%"
            if (err := plan.forecast_error.get(region))
            else ""
        )
        for region, model in plan.forecast_model.items()
        if model != "given series"
    ]
    lines = [
        f"run in {plan.region} from {plan.start_utc} to {plan.end_utc} "
        f"(delay {plan.delay_hours:g} h): expected {plan.expected_gco2e_per_kwh:.1f} gCO2e/kWh",
        f"run now in {plan.baseline_region}: {plan.run_now_gco2e_per_kwh:.1f} gCO2e/kWh; "
        f"expected saving {plan.expected_saving_pct:.1f}%",
        f"forecast: {plan.forecast} ({methods})",
        *(["model per region:", *skill] if skill else []),
        "ranking:",
    ]
    lines += [
        f"  {o.rank}. {o.region} start {o.start_utc} mean {o.mean_gco2e_per_kwh:.1f}"
        for o in plan.ranking
    ]
    lines += [f"excluded {e.region} ({e.constraint}): {e.reason}" for e in plan.exclusions]
    lines += [f"note: {note}" for note in plan.notes]
    return lines


def _backtest(args: argparse.Namespace) -> int:
    _check_hours(args)
    frame = _load(args.intensity_csv)
    result = run_backtest(
        frame,
        args.duration_hours,
        args.max_delay_hours,
        regions=_names(args.regions),
        baseline_region=args.baseline_region,
        forecast=args.forecast,
        data_source=_source(args.intensity_csv),
        min_gain_pct=args.min_gain_pct,
    )
    print(result.to_json() if args.json else "\n".join(backtest_lines(result)))
    return 0


def backtest_lines(result: BacktestResult) -> list[str]:
    """Summarise a back-test for the terminal."""
    lines = [
        f"{result.jobs} jobs of {result.duration_hours:g} h, max delay "
        f"{result.max_delay_hours:g} h, forecast {result.forecast}, arrivals "
        f"{result.first_arrival_utc} .. {result.last_arrival_utc}",
        f"wait rule: {result.min_gain_rule}",
        f"temporal savings (each region against starting at once in it): median "
        f"{result.temporal_median_pct:.2f}% over {len(result.per_region)} region(s)",
        "  region: saved (oracle; share of the oracle kept; jobs ending dirtier than now)",
    ]
    lines += [
        f"  {name}: {pct:.2f}% ({result.per_region_oracle[name]:.2f}%; "
        f"{result.per_region_kept_pct[name]:.1f}%; "
        f"{result.per_region_losing_starts_pct[name]:.1f}%)"
        for name, pct in result.per_region.items()
    ]
    if len(result.regions) > 1:
        lines.append(
            f"choosing the region too: {result.savings_pct:.2f}% against running at once in "
            f"{result.baseline_region} ({result.run_now_mean_gco2e_per_kwh:.1f} -> "
            f"{result.planned_mean_gco2e_per_kwh:.1f} gCO2e/kWh); baseline: {result.baseline_rule}"
        )
    return lines


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` and ``backtest`` subcommands.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers``.
    """
    plan = subparsers.add_parser("plan", help="choose where and when to run a job")
    _common(plan, csv_required=False)
    plan.add_argument(
        "--provider",
        choices=PLAN_PROVIDERS,
        help="plan from this provider's forecast (ours where it has none, annual figures last)",
    )
    plan.add_argument(
        "--history-csv",
        metavar="FILE",
        help="intensity history (long CSV) for our forecast where a live provider has none",
    )
    plan.add_argument(
        "--api-key-secret",
        default="",
        help="Secret Manager version of the live provider's key (default: the environment)",
    )
    plan.add_argument("--regions", required=True, help="candidates, comma-separated")
    plan.add_argument("--residency", help="residency group the region must be in (eu, us, ...)")
    plan.add_argument("--accelerator-type", help="Vertex AcceleratorType the region must offer")
    plan.add_argument("--accelerator-count", type=int, default=1, help="accelerators per replica")
    plan.add_argument("--max-carbon-intensity", type=float, help="gCO2e/kWh cap on the mean")
    plan.add_argument(
        "--price-weight", type=float, default=0.0, help="gCO2e/kWh worth one price unit per hour"
    )
    plan.add_argument("--prices", help="price per hour by region: REGION=PRICE,...")
    plan.add_argument("--now", help="planning time, ISO 8601 UTC (default: see --forecast)")
    plan.set_defaults(func=_plan)

    backtest = subparsers.add_parser("backtest", help="measure what planning would have saved")
    _common(backtest)
    backtest.add_argument("--regions", help="candidates, comma-separated (default: every series)")
    backtest.set_defaults(func=_backtest)
