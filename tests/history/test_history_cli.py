"""footprint-history end to end: argparse, fetch_history, QueryJobConfig, DuckDB as BigQuery."""

import argparse
import datetime as dt
import json

import pytest
import sqlglot
from test_history_queries import TABLE, con, sample  # noqa: F401 - fixtures

from carbon_aware.history import bigquery as bq
from carbon_aware.history.cli import register


class DuckJob:
    def __init__(self, rows):
        self.rows = rows

    def result(self):
        return self.rows


class DuckClient:
    """Answers client.query(sql, job_config=...) by running the same SQL in DuckDB."""

    def __init__(self, connection):
        self.connection = connection
        self.seen = []

    def query(self, sql, job_config):
        params = {p.name: p.value for p in job_config.query_parameters}
        self.seen.append((sql, {p.name: p.type_ for p in job_config.query_parameters}))
        duck = sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]
        frame = self.connection.execute(duck, params).fetchdf()
        return DuckJob([{k: v for k, v in row.items()} for row in frame.to_dict("records")])


@pytest.fixture
def client(con, monkeypatch):  # noqa: F811 - fixture from the queries module
    fake = DuckClient(con)
    monkeypatch.setattr(bq, "make_client", lambda project: fake)
    return fake


def parse(argv):
    parser = argparse.ArgumentParser(prog="carbon-aware")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_prints_every_table(client, capsys):
    args = parse(["footprint-history", "--table", TABLE, "--months", "120"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    for title in ("Totals by month", "Totals by service", "Totals by region", "Totals by project"):
        assert title in out
    assert "scope2_market_based_kgco2e" in out and "Vertex AI" in out
    _sql, types = client.seen[0]
    assert types == {"start_month": "DATE", "end_month": "DATE", "project_id": "STRING"}


def test_cli_json_matches_fetch_history(client, capsys):
    args = parse(["footprint-history", "--table", TABLE, "--project", "proj-a", "--json"])
    args.func(args)
    printed = json.loads(capsys.readouterr().out)
    assert printed["project_id"] == "proj-a" and set(printed["results"]) >= {"by_month", "by_scope"}
    again = bq.fetch_history(TABLE, 12, "proj-a", today=dt.datetime.now(dt.UTC).date())
    assert json.loads(json.dumps(again.to_dict(), default=str)) == printed


def test_cli_refuses_a_bad_table_before_any_query(client):
    args = parse(["footprint-history", "--table", "x.y`; DROP"])
    with pytest.raises(ValueError, match="not a BigQuery table name"):
        args.func(args)
    assert client.seen == []
