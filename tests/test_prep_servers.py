"""The step cases of ``test_prep_steps.py`` on real PostgreSQL and MariaDB (integration).

Tables are created with psycopg / pymysql as the test superuser in a fresh database per
module, then the database is connected through DataAsk (read-only sessions) like any user
connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.prep import api
from tests.services import fresh_mysql_database, fresh_postgres_database, mysql_connect_args
from tests.test_prep_steps import CASES, check_case, fill

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_app(pg_url, tmp_path_factory):
    import psycopg

    with fresh_postgres_database(pg_url) as url:
        with psycopg.connect(url, connect_timeout=10) as con:
            fill(con, "postgres", "%s")
        da = DataAsk(Settings(home=Path(tmp_path_factory.mktemp("pg_home")), query_timeout=30.0))
        da.connect("db", url)
        try:
            yield da
        finally:
            da.close()


@pytest.fixture(scope="module")
def mysql_app(mysql_url, tmp_path_factory):
    import pymysql

    with fresh_mysql_database(mysql_url) as url:
        con = pymysql.connect(**mysql_connect_args(url))
        try:
            fill(con, "mysql", "%s")
        finally:
            con.close()
        da = DataAsk(Settings(home=Path(tmp_path_factory.mktemp("my_home")), query_timeout=30.0))
        da.connect("db", url)
        try:
            yield da
        finally:
            da.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_postgres_step_matches_pandas(pg_app, case):
    check_case(pg_app, case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mariadb_step_matches_pandas(mysql_app, case):
    check_case(mysql_app, case)


@pytest.mark.parametrize("fixture", ["pg_app", "mysql_app"])
def test_server_preview_and_profile(request, fixture):
    da = request.getfixturevalue(fixture)
    flow = {"steps": [{"type": "source", "connection": "db", "table": "sales"},
                      {"type": "filter", "conditions": [{"column": "qty", "op": "is not null"}]},
                      {"type": "sort", "by": ["id"]}]}
    p = api.preview_flow(da, flow, limit=5).to_dict()
    assert p["row_count"] == 36 and len(p["rows"]) == 5 and "LIMIT 5" in p["sql"].upper()
    prof = api.profile_flow(da, flow).to_dict()
    qty = next(c for c in prof["columns"] if c["name"] == "qty")
    assert qty["nulls"] == 0 and qty["quantiles"]["p50"] is not None
    assert sum(b["count"] for b in qty["histogram"]) == 36
