"""``carbon-aware intensity``: print grid carbon intensity per region from any provider."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from carbon_aware.inputs import existing_file
from carbon_aware.intensity.base import IntensityKind, IntensityReading
from carbon_aware.intensity.cache import CACHE_DIR_ENV, DiskCache
from carbon_aware.intensity.http import IntensityFetchError, JsonHttpClient
from carbon_aware.intensity.registry import PROVIDER_NAMES, get_provider
from carbon_aware.regions import validate_regions

_COLUMNS = ("region", "zone", "gCO2e/kWh", "datetime (UTC)", "kind", "estimated", "source")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``intensity`` subcommand to the ``carbon-aware`` parser."""
    cmd = subparsers.add_parser(
        "intensity",
        help="print grid carbon intensity for regions (latest, last 24 h or forecast)",
        description="Fetch grid carbon intensity per GCP region and print a table or JSON.",
    )
    cmd.add_argument(
        "--regions",
        required=True,
        help="comma-separated GCP regions, e.g. europe-west1,us-central1",
    )
    cmd.add_argument("--provider", choices=PROVIDER_NAMES, default="static", help="data source")
    when = cmd.add_mutually_exclusive_group()
    when.add_argument("--history", action="store_true", help="the last 24 hours instead of now")
    when.add_argument("--forecast", action="store_true", help="the forecast instead of now")
    cmd.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    cmd.add_argument(
        "--no-fallback",
        action="store_true",
        help="fail instead of falling back to the static annual figure for a region",
    )
    cmd.add_argument(
        "--api-key-secret",
        default="",
        metavar="NAME",
        help="Secret Manager version holding the key (default: environment variables)",
    )
    cmd.add_argument(
        "--intensity-csv",
        default="",
        metavar="FILE",
        help="--provider csv: CSV with columns datetime, region, carbon_intensity",
    )
    cmd.add_argument(
        "--cache-dir", default="", help=f"cache responses here (default: ${CACHE_DIR_ENV}; off)"
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handles ``carbon-aware intensity``.

    Returns:
        0 on success, 1 when a region could not be fetched (the cause goes to stderr).

    Raises:
        ValueError: Bad regions, a provider without the requested series, or no key configured.
    """
    regions = validate_regions([item for item in args.regions.split(",") if item.strip()])
    mode = "history" if args.history else "forecast" if args.forecast else "latest"
    if args.provider == "csv" and args.intensity_csv and not args.intensity_csv.startswith("gs://"):
        existing_file(args.intensity_csv, "--intensity-csv")
    client = JsonHttpClient(cache=DiskCache.from_env(args.cache_dir or None))
    provider = get_provider(
        args.provider,
        allow_fallback=not args.no_fallback,
        api_key_secret=args.api_key_secret,
        client=client,
        csv_uri=args.intensity_csv,
    )
    fetch: Callable[[list[str]], list[IntensityReading]] | None = getattr(provider, mode, None)
    if fetch is None:
        raise ValueError(
            f"provider {args.provider!r} has no {mode} series; "
            "use --provider electricitymaps, watttime or csv"
        )
    try:
        readings = fetch(regions)
    except IntensityFetchError as err:
        print(f"carbon-aware: intensity: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([reading.to_dict() for reading in readings], indent=2))
    else:
        print(format_table(readings))
    return 0


def format_table(readings: Sequence[IntensityReading]) -> str:
    """Renders readings as an aligned text table, with fallback causes listed underneath."""
    rows = [
        (
            r.region,
            r.zone,
            f"{r.gco2e_per_kwh:.1f}",
            r.datetime_utc,
            str(r.kind),
            "yes" if r.is_estimated else "no",
            r.source if len(r.source) <= 48 else r.source[:45] + "...",
        )
        for r in readings
    ]
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(_COLUMNS, *rows, strict=False)
    ]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_COLUMNS, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"{r.region}: {r.detail}" for r in readings if r.kind is IntensityKind.FALLBACK]
    if notes:
        lines += ["", "fallbacks:", *notes]
    return "\n".join(lines)
