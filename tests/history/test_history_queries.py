"""The BigQuery SQL the CLI and the report run, executed in DuckDB over a nested sample export."""

import datetime as dt
import random

import duckdb
import pandas as pd
import pytest
import sqlglot

from carbon_aware.history.queries import QUERIES, month_window, parameters, sql_for, validate_table

TABLE = "my-proj-1.carbon_ds.carbon_footprint"
START, END = dt.date(2025, 3, 1), dt.date(2025, 12, 1)


def sample_frame(seed=7, rows=400):
    rng = random.Random(seed)
    projects = [("111", "proj-a"), ("222", "proj-b"), ("", None)]
    services = [
        ("F17B", "Cloud Run"),
        ("6F81", "Compute Engine"),
        ("AA2A", "Vertex AI"),
        ("X", None),
    ]
    locations = [
        ("us-central1-a", "us-central1"),
        ("europe-west1", "europe-west1"),
        ("europe-north1-b", "europe-north1"),
        ("us", None),
    ]
    out = []
    for _ in range(rows):
        month = dt.date(2025, rng.randint(1, 12), 1) if rng.random() < 0.9 else dt.date(2024, 12, 1)
        number, pid = rng.choice(projects)
        sid, sdesc = rng.choice(services)
        loc, region = rng.choice(locations)
        s1, s2l, s2m, s3 = (round(rng.uniform(0, 50), 3) for _ in range(4))
        out.append(
            {
                "usage_month": month,
                "billing_account_id": "007GD7-15C0E6-BDE6B3",
                "project_number": number,
                "project_id": pid,
                "service_id": sid,
                "service_description": sdesc,
                "location_location": loc,
                "location_region": region,
                "scope1": s1,
                "scope2_location": s2l,
                "scope2_market": s2m,
                "scope3": s3,
                "total_location": s1 + s2l + s3,
                "total_market": s1 + s2m + s3,
                "carbon_model_version": 7,
            }
        )
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def sample():
    return sample_frame()


@pytest.fixture(scope="module")
def con(sample):
    """The export's real nested schema, as DuckDB STRUCTs, under the table's three-part name."""
    connection = duckdb.connect()
    connection.execute("ATTACH ':memory:' AS \"my-proj-1\"")
    connection.execute('CREATE SCHEMA "my-proj-1".carbon_ds')
    connection.register("flat", sample)
    connection.execute(
        """CREATE TABLE "my-proj-1".carbon_ds.carbon_footprint AS SELECT
          CAST(usage_month AS DATE) AS usage_month,
          billing_account_id,
          struct_pack(number := project_number, id := project_id) AS project,
          struct_pack(id := service_id, description := service_description) AS service,
          struct_pack(location := location_location, region := location_region) AS location,
          struct_pack(
            scope1 := scope1,
            scope2 := struct_pack(location_based := scope2_location, market_based := scope2_market),
            scope3 := scope3
          ) AS carbon_footprint_kgCO2e,
          struct_pack(location_based := total_location, market_based := total_market)
            AS carbon_footprint_total_kgCO2e,
          carbon_model_version
        FROM flat"""
    )
    return connection


def run(con, name, project_id=""):
    sql = sqlglot.transpile(sql_for(name, TABLE), read="bigquery", write="duckdb")[0]
    return con.execute(sql, parameters(START, END, project_id)).fetchdf()


def window(sample, project_id=""):
    dates = pd.to_datetime(sample["usage_month"])
    keep = (dates >= pd.Timestamp(START)) & (dates <= pd.Timestamp(END))
    if project_id:
        keep &= sample["project_id"] == project_id
    return sample[keep].assign(month=dates[keep].dt.strftime("%Y-%m"))


def expected(frame, key, columns):
    grouped = frame.groupby(key, dropna=False)[list(columns)].sum().reset_index()
    return grouped.rename(columns=columns)


TOTALS = {"total_location": "location_based_kgco2e", "total_market": "market_based_kgco2e"}


def assert_same(actual, wanted, key):
    actual = actual.sort_values(key).reset_index(drop=True)
    wanted = wanted.sort_values(key).reset_index(drop=True)
    assert list(actual[key]) == list(wanted[key])
    for column in wanted.columns.drop(key):
        assert actual[column].tolist() == pytest.approx(wanted[column].tolist()), column


@pytest.mark.parametrize("project_id", ["", "proj-b"])
def test_by_month_matches_pandas(con, sample, project_id):
    got = run(con, "by_month", project_id)
    assert list(got["month"]) == sorted(got["month"])
    assert_same(got, expected(window(sample, project_id), "month", TOTALS), "month")


def test_by_service_matches_pandas_and_orders_by_location_based(con, sample):
    frame = window(sample).assign(service=lambda f: f["service_description"].fillna("(no service)"))
    got = run(con, "by_service")
    assert_same(got, expected(frame, "service", TOTALS), "service")
    assert list(got["location_based_kgco2e"]) == sorted(got["location_based_kgco2e"], reverse=True)


def test_by_region_falls_back_to_the_location(con, sample):
    frame = window(sample).assign(
        region=lambda f: f["location_region"].fillna(f["location_location"])
    )
    got = run(con, "by_region")
    assert "us" in set(got["region"])
    assert_same(got, expected(frame, "region", TOTALS), "region")


def test_by_project_names_rows_without_a_project(con, sample):
    frame = window(sample).assign(project_id=lambda f: f["project_id"].fillna("(no project)"))
    got = run(con, "by_project")
    assert "(no project)" in set(got["project_id"])
    assert_same(got, expected(frame, "project_id", TOTALS), "project_id")


def test_by_scope_splits_scope_2_location_and_market(con, sample):
    columns = {
        "scope1": "scope1_kgco2e",
        "scope2_location": "scope2_location_based_kgco2e",
        "scope2_market": "scope2_market_based_kgco2e",
        "scope3": "scope3_kgco2e",
        **TOTALS,
    }
    got = run(con, "by_scope")
    assert_same(got, expected(window(sample), "month", columns), "month")
    scopes = got["scope1_kgco2e"] + got["scope2_location_based_kgco2e"] + got["scope3_kgco2e"]
    assert scopes.tolist() == pytest.approx(got["location_based_kgco2e"].tolist())


def test_values_travel_as_parameters_never_in_the_sql():
    for name in QUERIES:
        sql = sql_for(name, TABLE)
        assert "@start_month" in sql and "@end_month" in sql and "@project_id" in sql
        assert f"FROM `{TABLE}`" in sql
        assert "2025" not in sql


def test_a_hostile_project_filter_is_just_a_value(con):
    got = run(con, "by_month", project_id="x' OR '1'='1")
    assert got.empty


@pytest.mark.parametrize(
    "table",
    [
        "proj.ds",
        "my-proj.ds.t`; DROP TABLE x; --",
        "my-proj.ds.t WHERE 1=1",
        "My-Proj.ds.t",
        "my-proj.ds.t\n",
        "my-proj.d s.t",
        "",
    ],
)
def test_table_names_are_validated_before_use(table):
    with pytest.raises(ValueError, match="not a BigQuery table name"):
        validate_table(table)
    with pytest.raises(ValueError):
        sql_for("by_month", table)


def test_valid_table_names_pass():
    for table in (TABLE, "example.com:my-project.ds.carbon_footprint", "abcdef.d_1.t-2"):
        assert validate_table(table) == table


def test_month_window_is_the_last_complete_months():
    assert month_window(12, dt.date(2026, 1, 15)) == (dt.date(2025, 1, 1), dt.date(2025, 12, 1))
    assert month_window(1, dt.date(2026, 3, 1)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 1))
    with pytest.raises(ValueError, match="months must be from 1 to 120"):
        month_window(0, dt.date(2026, 1, 1))


def test_scope2_by_region_gives_googles_market_location_ratio_per_region(con, sample):
    from carbon_aware.footprint.market import export_ratios

    frame = window(sample).assign(
        region=lambda f: f["location_region"].fillna(f["location_location"])
    )
    columns = {
        "scope2_location": "scope2_location_based_kgco2e",
        "scope2_market": "scope2_market_based_kgco2e",
    }
    got = run(con, "scope2_by_region")
    assert_same(got, expected(frame, "region", columns), "region")
    ratios = export_ratios(got.to_dict("records"))
    wanted = expected(frame, "region", columns).set_index("region")
    for region, ratio in ratios.items():
        row = wanted.loc[region]
        assert ratio == pytest.approx(
            row["scope2_market_based_kgco2e"] / row["scope2_location_based_kgco2e"]
        )
    assert set(ratios) == set(wanted.index)
