"""Project history from the Cloud Carbon Footprint BigQuery export."""

from carbon_aware.history.bigquery import FootprintHistory, fetch_history
from carbon_aware.history.queries import QUERIES, TITLES, month_window, sql_for, validate_table

__all__ = [
    "QUERIES",
    "TITLES",
    "FootprintHistory",
    "fetch_history",
    "month_window",
    "sql_for",
    "validate_table",
]
