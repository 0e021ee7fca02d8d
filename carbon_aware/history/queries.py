"""Queries over the Cloud Carbon Footprint BigQuery export, written once in BigQuery SQL.

The export's schema (Google Cloud docs, "Carbon Footprint export data schema"): ``usage_month``
DATE, ``billing_account_id``, ``project`` {``number``, ``id``}, ``service`` {``id``,
``description``}, ``location`` {``location``, ``region``}, ``carbon_footprint_kgCO2e``
{``scope1``, ``scope2`` {``location_based``, ``market_based``}, ``scope3``},
``carbon_footprint_total_kgCO2e`` {``location_based``, ``market_based``},
``carbon_model_version``. Totals are kgCO2e.

Values only ever travel as query parameters (``@start_month``, ``@end_month``, ``@project_id``);
the one identifier, the table, is checked against :data:`TABLE_RE` before it is placed, in
backticks, in the FROM clause.
"""

from __future__ import annotations

import re
from datetime import date

# project (optionally domain-scoped) . dataset . table
TABLE_RE = re.compile(
    r"^(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"
    r"\.[A-Za-z_][A-Za-z0-9_]{0,1023}\.[A-Za-z_][A-Za-z0-9_-]{0,1023}"
)
DEFAULT_MONTHS = 12
_FILTER = """WHERE usage_month BETWEEN @start_month AND @end_month
  AND (@project_id = '' OR project.id = @project_id)"""
_TOTALS = """SUM(carbon_footprint_total_kgCO2e.location_based) AS location_based_kgco2e,
  SUM(carbon_footprint_total_kgCO2e.market_based) AS market_based_kgco2e"""


_SCOPES = """SUM(carbon_footprint_kgCO2e.scope1) AS scope1_kgco2e,
  SUM(carbon_footprint_kgCO2e.scope2.location_based) AS scope2_location_based_kgco2e,
  SUM(carbon_footprint_kgCO2e.scope2.market_based) AS scope2_market_based_kgco2e,
  SUM(carbon_footprint_kgCO2e.scope3) AS scope3_kgco2e"""


_SCOPE2 = """SUM(carbon_footprint_kgCO2e.scope2.location_based) AS scope2_location_based_kgco2e,
  SUM(carbon_footprint_kgCO2e.scope2.market_based) AS scope2_market_based_kgco2e"""


def _grouped(key_expr: str, key: str, order: str, totals: str = _TOTALS) -> str:
    return (
        f"SELECT\n  {key_expr} AS {key},\n  {totals}\nFROM `{{table}}`\n{_FILTER}\n"
        f"GROUP BY 1\nORDER BY {order}"
    )


QUERIES: dict[str, str] = {
    "by_month": _grouped("FORMAT_DATE('%Y-%m', usage_month)", "month", "1"),
    "by_service": _grouped(
        "COALESCE(service.description, '(no service)')",
        "service",
        "2 DESC, 1",
    ),
    "by_region": _grouped(
        "COALESCE(location.region, location.location, '(no region)')",
        "region",
        "2 DESC, 1",
    ),
    "by_project": _grouped(
        "COALESCE(project.id, '(no project)')",
        "project_id",
        "2 DESC, 1",
    ),
    "by_scope": _grouped(
        "FORMAT_DATE('%Y-%m', usage_month)",
        "month",
        "1",
        totals=_SCOPES + ",\n  " + _TOTALS,
    ),
    # Google's market/location ratio of Scope 2 per region: the footprint's market-based view.
    "scope2_by_region": _grouped(
        "COALESCE(location.region, location.location, '(no region)')",
        "region",
        "1",
        totals=_SCOPE2,
    ),
}
TITLES = {
    "by_month": "Totals by month",
    "by_service": "Totals by service",
    "by_region": "Totals by region",
    "by_project": "Totals by project",
    "by_scope": "Scopes 1, 2 and 3 by month",
    "scope2_by_region": "Scope 2 by region (market-based view)",
}


def validate_table(table: str) -> str:
    """Returns ``table`` if it is a ``project.dataset.table`` name, else raises ValueError."""
    if not TABLE_RE.fullmatch(table):
        raise ValueError(
            f"carbon footprint table {table!r} is not a BigQuery table name of the form "
            "project.dataset.table (e.g. my-project.carbon.carbon_footprint)"
        )
    return table


def sql_for(name: str, table: str) -> str:
    """The BigQuery SQL of query ``name`` over ``table`` (validated first).

    Raises:
        ValueError: Unknown query name or bad table name.
    """
    if name not in QUERIES:
        raise ValueError(f"unknown history query {name!r}; known: {', '.join(QUERIES)}")
    return QUERIES[name].replace("{table}", validate_table(table))


def _shift_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_window(months: int, today: date) -> tuple[date, date]:
    """The last ``months`` complete months before ``today``: (first month, last month), day 1.

    Raises:
        ValueError: ``months`` is not from 1 to 120.
    """
    if not 1 <= months <= 120:
        raise ValueError(f"months must be from 1 to 120, got {months!r}")
    last = _shift_months(today.replace(day=1), -1)
    return _shift_months(last, -(months - 1)), last


def parameters(start_month: date, end_month: date, project_id: str = "") -> dict[str, date | str]:
    """The named query parameters every history query takes."""
    return {"start_month": start_month, "end_month": end_month, "project_id": project_id}
