"""Runs the history queries on BigQuery with google-cloud-bigquery and query parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from carbon_aware.history.queries import (
    DEFAULT_MONTHS,
    QUERIES,
    month_window,
    parameters,
    sql_for,
    validate_table,
)

_TYPES = {date: "DATE", str: "STRING"}


@dataclass(frozen=True)
class FootprintHistory:
    """The project's Carbon Footprint export, summarised (kgCO2e).

    Attributes:
        table: The export table queried.
        start_month: First month included (``YYYY-MM-DD``).
        end_month: Last month included (``YYYY-MM-DD``).
        project_id: Project filter, empty for every project in the export.
        results: Query name -> rows (column -> value).
    """

    table: str
    start_month: str
    end_month: str
    project_id: str
    results: dict[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def make_client(project: str | None) -> Any:
    """A BigQuery client running jobs in ``project`` (None: the environment's default)."""
    from google.cloud import bigquery

    return bigquery.Client(project=project)


def job_config(values: dict[str, date | str]) -> Any:
    """A ``QueryJobConfig`` carrying ``values`` as named scalar query parameters."""
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(name, _TYPES[type(value)], value)
            for name, value in values.items()
        ]
    )


def fetch_history(
    table: str,
    months: int = DEFAULT_MONTHS,
    project_id: str = "",
    *,
    client: Any | None = None,
    job_project: str | None = None,
    today: date | None = None,
) -> FootprintHistory:
    """Runs every history query over the last ``months`` complete months.

    Args:
        table: The export table, ``project.dataset.table``.
        months: How many complete months to include.
        project_id: Only this project's rows; empty for all.
        client: BigQuery client (default: one for ``job_project``).
        job_project: Project to run the query jobs in (default: the table's project).
        today: Reference day (default: today, UTC).

    Returns:
        The summaries.
    """
    validate_table(table)
    start, end = month_window(months, today or datetime.now(UTC).date())
    values = parameters(start, end, project_id)
    if client is None:
        client = make_client(job_project or table.rsplit(".", 2)[0])
    results = {}
    for name in QUERIES:
        job = client.query(sql_for(name, table), job_config=job_config(values))
        results[name] = [dict(row.items()) for row in job.result()]
    return FootprintHistory(table, start.isoformat(), end.isoformat(), project_id, results)
