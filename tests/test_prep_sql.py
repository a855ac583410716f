"""Compiled SQL per dialect (snapshots), LIMIT pushdown on a 2M-row DuckDB table, code export.

Snapshots are inline: a change in ibis/sqlglot output shows up as a readable diff here.
They are compiled from a static catalog (no database), exactly as the canvas would.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import ibis
import pytest
import sqlglot

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.prep import FlowError, api, compile_flow, flow_sql


class StaticCatalog:
    """Schemas only: any attempt to run SQL fails the test."""

    def __init__(self, dialect: str, schemas: dict) -> None:
        self._dialect, self.schemas = dialect, schemas

    def dialect(self, connection):
        return self._dialect

    def schema(self, connection, table):
        return ibis.schema(self.schemas[table])

    def tables(self, connection):
        return list(self.schemas)

    def run(self, *args, **kwargs):
        raise AssertionError("compiling must not run queries")


SCHEMAS = {
    "orders": {"id": "int64", "customer_id": "int64", "order_date": "date", "status": "string",
               "amount": "decimal(12, 2)"},
    "customers": {"id": "int64", "region": "string"},
}


MONTHLY = {"steps": [
    {"type": "source", "connection": "sales", "table": "orders"},
    {"type": "filter", "conditions": [{"column": "order_date", "op": ">=", "value": "2024-01-01"},
                                      {"column": "status", "op": "!=", "value": "cancelled"}]},
    {"type": "calculate", "name": "month", "expression": "date_trunc('month', order_date)"},
    {"type": "aggregate", "group_by": ["month"], "measures": [{"column": "amount", "function": "sum", "as": "revenue"},
                                                              {"function": "count", "as": "orders"}]},
    {"type": "sort", "by": [{"column": "month", "descending": True}]},
    {"type": "limit", "n": 12}]}
LATEST_MEDIAN = {"steps": [
    {"type": "source", "connection": "sales", "table": "orders"},
    {"type": "deduplicate", "columns": ["customer_id"], "keep": "last", "order_by": ["order_date"]},
    {"type": "aggregate", "group_by": ["status"], "measures": [{"column": "amount", "function": "median",
                                                               "as": "median_amount"}]}]}
PIVOT = {"steps": [
    {"type": "source", "connection": "sales", "table": "orders"},
    {"type": "pivot", "index": ["customer_id"], "columns": "status", "values": "amount", "function": "sum",
     "column_values": ["completed", "returned"]}]}
CROSS_DB = {"steps": [
    {"type": "source", "connection": "sales", "table": "orders"},
    {"type": "join", "right": {"connection": "crm", "table": "customers"}, "on": [["customer_id", "id"]], "how": "left"},
    {"type": "aggregate", "group_by": ["region"], "measures": [{"column": "amount", "function": "sum", "as": "revenue"}]}]}


EXPECTED = {
    ("MONTHLY", "duckdb"): """
    SELECT
      *
    FROM (
      SELECT
        "t1"."month",
        SUM("t1"."amount") AS "revenue",
        COUNT(*) AS "orders"
      FROM (
        SELECT
          "t0"."id",
          "t0"."customer_id",
          "t0"."order_date",
          "t0"."status",
          "t0"."amount",
          DATE_TRUNC('MONTH', "t0"."order_date") AS "month"
        FROM "orders" AS "t0"
        WHERE
          "t0"."order_date" >= MAKE_DATE(2024, 1, 1) AND "t0"."status" <> 'cancelled'
      ) AS "t1"
      GROUP BY
        1
    ) AS "t2"
    ORDER BY
      "t2"."month" DESC
    LIMIT 12
""",
    ("MONTHLY", "sqlite"): """
    SELECT
      *
    FROM (
      SELECT
        "t1"."month",
        SUM("t1"."amount") AS "revenue",
        COUNT(*) AS "orders"
      FROM (
        SELECT
          "t0"."id",
          "t0"."customer_id",
          "t0"."order_date",
          "t0"."status",
          "t0"."amount",
          DATE("t0"."order_date", 'start of month') AS "month"
        FROM "orders" AS "t0"
        WHERE
          "t0"."order_date" >= '2024-01-01' AND "t0"."status" <> 'cancelled'
      ) AS "t1"
      GROUP BY
        1
    ) AS "t2"
    ORDER BY
      "t2"."month" DESC
    LIMIT 12
""",
    ("MONTHLY", "postgres"): """
    SELECT
      *
    FROM (
      SELECT
        "t1"."month",
        SUM("t1"."amount") AS "revenue",
        COUNT(*) AS "orders"
      FROM (
        SELECT
          "t0"."id",
          "t0"."customer_id",
          "t0"."order_date",
          "t0"."status",
          "t0"."amount",
          DATE_TRUNC('MONTH', "t0"."order_date") AS "month"
        FROM "orders" AS "t0"
        WHERE
          "t0"."order_date" >= MAKE_DATE(2024, 1, 1) AND "t0"."status" <> 'cancelled'
      ) AS "t1"
      GROUP BY
        1
    ) AS "t2"
    ORDER BY
      "t2"."month" DESC NULLS LAST
    LIMIT 12
""",
    ("MONTHLY", "mysql"): """
    SELECT
      *
    FROM (
      SELECT
        `t1`.`month`,
        SUM(`t1`.`amount`) AS `revenue`,
        COUNT(*) AS `orders`
      FROM (
        SELECT
          `t0`.`id`,
          `t0`.`customer_id`,
          `t0`.`order_date`,
          `t0`.`status`,
          `t0`.`amount`,
          DATE_FORMAT(`t0`.`order_date`, '%Y-%m-01') AS `month`
        FROM `orders` AS `t0`
        WHERE
          `t0`.`order_date` >= DATE('2024-01-01') AND `t0`.`status` <> 'cancelled'
      ) AS `t1`
      GROUP BY
        1
    ) AS `t2`
    ORDER BY
      `t2`.`month` DESC
    LIMIT 12
""",
    ("LATEST_MEDIAN", "mysql"): """
    SELECT
      `t6`.`status`,
      AVG(`t6`.`__dataask_v`) AS `median_amount`
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `t4`.`status`,
          `t4`.`amount` AS `__dataask_v`,
          ROW_NUMBER() OVER (
            PARTITION BY `t4`.`status`
            ORDER BY CASE WHEN `t4`.`amount` IS NULL THEN 1 ELSE 0 END, `t4`.`amount` ASC
          ) - 1 AS `__dataask_rn`,
          COUNT(`t4`.`amount`) OVER (
            PARTITION BY `t4`.`status`
            ORDER BY CASE WHEN NULL IS NULL THEN 1 ELSE 0 END, NULL ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS `__dataask_n`
        FROM (
          SELECT
            *
          FROM (
            SELECT
              `t2`.`id`,
              `t2`.`customer_id`,
              `t2`.`order_date`,
              `t2`.`status`,
              `t2`.`amount`
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  `t0`.`id`,
                  `t0`.`customer_id`,
                  `t0`.`order_date`,
                  `t0`.`status`,
                  `t0`.`amount`,
                  ROW_NUMBER() OVER (PARTITION BY `t0`.`customer_id` ORDER BY `t0`.`order_date` DESC) - 1 AS `__dataask_rn`
                FROM `orders` AS `t0`
              ) AS `t1`
              WHERE
                `t1`.`__dataask_rn` = 0
            ) AS `t2`
          ) AS `t3`
          WHERE
            `t3`.`amount` IS NOT NULL
        ) AS `t4`
      ) AS `t5`
      WHERE
        `t5`.`__dataask_rn` >= CAST(FLOOR((
          `t5`.`__dataask_n` - 1
        ) / (
          2
        )) AS SIGNED)
        AND `t5`.`__dataask_rn` <= CAST(FLOOR((
          `t5`.`__dataask_n`
        ) / (
          2
        )) AS SIGNED)
    ) AS `t6`
    GROUP BY
      1
""",
    ("LATEST_MEDIAN", "duckdb"): """
    SELECT
      "t3"."status",
      QUANTILE_CONT("t3"."amount", 0.5) AS "median_amount"
    FROM (
      SELECT
        "t2".*
        EXCLUDE ("__dataask_rn")
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t0"."id",
            "t0"."customer_id",
            "t0"."order_date",
            "t0"."status",
            "t0"."amount",
            ROW_NUMBER() OVER (
              PARTITION BY "t0"."customer_id"
              ORDER BY "t0"."order_date" DESC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1 AS "__dataask_rn"
          FROM "orders" AS "t0"
        ) AS "t1"
        WHERE
          "t1"."__dataask_rn" = 0
      ) AS "t2"
    ) AS "t3"
    GROUP BY
      1
""",
    ("PIVOT", "sqlite"): """
    SELECT
      "t0"."customer_id",
      SUM("t0"."amount") FILTER(WHERE
        "t0"."status" = 'completed') AS "completed",
      SUM("t0"."amount") FILTER(WHERE
        "t0"."status" = 'returned') AS "returned"
    FROM "orders" AS "t0"
    GROUP BY
      1
""",
    ("CROSS_DB", "duckdb"): """
    SELECT
      "t4"."region",
      SUM("t4"."amount") AS "revenue"
    FROM (
      SELECT
        "t2"."id",
        "t2"."customer_id",
        "t2"."order_date",
        "t2"."status",
        "t2"."amount",
        "t3"."id" AS "id_right",
        "t3"."region"
      FROM "sales"."orders" AS "t2"
      LEFT OUTER JOIN "crm"."customers" AS "t3"
        ON "t2"."customer_id" = "t3"."id"
    ) AS "t4"
    GROUP BY
      1
""",
}


FLOWS = {"MONTHLY": MONTHLY, "LATEST_MEDIAN": LATEST_MEDIAN, "PIVOT": PIVOT, "CROSS_DB": CROSS_DB}


@pytest.mark.parametrize(("flow", "dialect"), list(EXPECTED), ids=[f"{f}-{d}" for f, d in EXPECTED])
def test_sql_snapshot(flow, dialect):
    got = compile_flow(FLOWS[flow], StaticCatalog(dialect, SCHEMAS))[-1].sql()
    assert got == textwrap.dedent(EXPECTED[(flow, dialect)]).strip("\n")


@pytest.mark.parametrize(("flow", "dialect"), list(EXPECTED), ids=[f"{f}-{d}" for f, d in EXPECTED])
def test_snapshots_parse_in_their_dialect(flow, dialect):
    sqlglot.parse_one(textwrap.dedent(EXPECTED[(flow, dialect)]), read=dialect)


def test_export_to_another_dialect_recompiles():
    """MEDIAN has no MySQL compile rule: exporting a DuckDB flow as MySQL uses the window form."""
    sql = flow_sql(LATEST_MEDIAN, StaticCatalog("duckdb", SCHEMAS), dialect="mysql")
    assert "ROW_NUMBER()" in sql and "QUANTILE" not in sql.upper()


def test_compiling_a_pivot_without_values_queries_only_distinct_values():
    seen = []

    class Recording(StaticCatalog):
        def run(self, sql, *, connections, max_rows, timeout=None):
            import pyarrow as pa

            from dataask_jupyter.prep.compiler import RunResult

            seen.append((sql, tuple(connections), max_rows))
            return RunResult(pa.table({"status": ["completed", "returned", None]}))

    flow = {"steps": [PIVOT["steps"][0], {**PIVOT["steps"][1], "column_values": None}]}
    step = compile_flow(flow, Recording("duckdb", SCHEMAS))[-1]
    assert list(step.expr.columns) == ["customer_id", "completed", "returned", "null"]
    (sql, conns, cap), = seen
    assert "DISTINCT" in sql.upper() and conns == ("sales",) and cap == 201
    assert "(3): completed, returned, None" in step.notes[0]


# -- LIMIT pushdown on a big table ---------------------------------------------------------------
@pytest.fixture(scope="module")
def big(tmp_path_factory):
    import duckdb

    root = tmp_path_factory.mktemp("prep_big")
    path = root / "big.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE events AS SELECT range AS id, range % 97 AS k, (range * 7919) % 10007 / 10.0 AS x, "
                "'c' || (range % 13) AS cat FROM range(2000000)")
    con.execute("CREATE TABLE cats AS SELECT 'c' || range AS cat, 'group ' || (range % 3) AS grp FROM range(13)")
    con.close()
    da = DataAsk(Settings(home=Path(root / "home")))
    da.connect("big", f"duckdb:///{path}")
    yield da
    da.close()


BIG_FLOW = {"steps": [
    {"type": "source", "connection": "big", "table": "events"},
    {"type": "join", "right": {"connection": "big", "table": "cats"}, "on": [["cat", "cat"]]},
    {"type": "filter", "conditions": [{"column": "k", "op": "<", "value": 50}]},
    {"type": "calculate", "name": "y", "expression": "x * 2 + k"},
    {"type": "sort", "by": [{"column": "y", "descending": True}, "id"]},
]}


def _outer_limit(sql: str, dialect: str = "duckdb") -> int | None:
    tree = sqlglot.parse_one(sql, read=dialect)
    limit = tree.args.get("limit")
    return int(limit.expression.name) if limit is not None else None


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5])
def test_preview_pushes_limit_to_the_source(big, step):
    p = api.preview_flow(big, BIG_FLOW, step, count=False)
    assert _outer_limit(p.sql) == 100  # the LIMIT is part of the SQL the source runs
    assert p.table.num_rows == 100 and p.row_count is None
    assert p.seconds < 30  # sanity only; the benchmark measures speed


def test_preview_counts_with_a_bounded_count(big):
    p = api.preview_flow(big, BIG_FLOW, 3)
    assert p.row_count == 1_000_000 and p.row_count_capped  # 2M * 50/97 rows > the 1M cap
    full = api.preview_flow(big, {"steps": BIG_FLOW["steps"][:1] + [
        {"type": "filter", "conditions": [{"column": "k", "op": "=", "value": 5}]}]})
    assert full.row_count == sum(1 for i in range(2_000_000) if i % 97 == 5) and not full.row_count_capped


def test_run_flow_caps_rows(big):
    result = api.run_flow(big, BIG_FLOW, max_rows=1000)
    assert result.truncated and result.table.num_rows == 1000
    assert result.columns[-1] == "y" and result.to_pandas()["y"].is_monotonic_decreasing


# -- code export ---------------------------------------------------------------------------------
def test_exported_code_runs_and_matches(big):
    code = api.flow_code(big, BIG_FLOW)
    assert "import ibis" in code and "# s4: calculate" in code
    env = {"big": big.connections.backend("big")}
    exec(compile(code, "<flow>", "exec"), env)  # the test runs the generated code; the engine never does
    got = env["t"].limit(5).to_pandas()
    want = api.run_flow(big, BIG_FLOW, max_rows=5).to_pandas()
    assert got.reset_index(drop=True).equals(want.reset_index(drop=True))


def test_unknown_dialect_is_a_flow_error():
    with pytest.raises(FlowError, match="Cannot write this flow as"):
        flow_sql(MONTHLY, StaticCatalog("duckdb", SCHEMAS), dialect="klingon")
