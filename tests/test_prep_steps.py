"""Every prep step type, run through DataAsk on SQLite and DuckDB, against pandas truth.

The same cases run on PostgreSQL and MariaDB in ``test_prep_servers.py`` (integration).
Data: ``sales`` (nulls, padded text, mixed case), ``targets`` (two-column keys, partial
coverage) and ``regions`` (one missing, one extra), identical in every database.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.prep import api

REGIONS = ["North", "South", "East", "West"]
PRODUCTS = ["apple", "banana", "cherry", "date"]
NOTES = [" padded ", "", None, "Mixed", "mixed", "plain"]


def sales_rows() -> list[tuple]:
    rows = []
    for i in range(1, 41):
        rows.append((
            i, REGIONS[i % 4], PRODUCTS[(i * 3 + i // 5) % 4], None if i % 9 == 0 else (i * 37) % 23,
            round(((i * 13) % 50) / 4 + 0.25, 2), dt.date(2023, 1, 1) + dt.timedelta(days=(i * 29) % 700),
            NOTES[i % 6], f"{(i * 7) % 12:03d}", f"{(i * 3) % 17}.5",
        ))
    return rows


SALES_COLS = ["id", "region", "product", "qty", "price", "sold_on", "note", "code", "amount_text"]
TARGETS = [(r, p, 10 * (i + 1) + j) for i, r in enumerate(REGIONS[:3]) for j, p in enumerate(PRODUCTS[:3])]
TARGETS.append(("Central", "apple", 99))
REGION_ROWS = [("North", "Ann"), ("South", "Bob"), ("East", "Cy"), ("Central", "Dee")]

# DDL per family: (sales, targets, regions)
DDL = {
    "sqlite": ("CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, product TEXT, qty INTEGER, price REAL, "
               "sold_on DATE, note TEXT, code TEXT, amount_text TEXT)",
               "CREATE TABLE targets (region TEXT, product TEXT, goal INTEGER)",
               "CREATE TABLE regions (name TEXT, manager TEXT)"),
    "duckdb": ("CREATE TABLE sales (id INTEGER PRIMARY KEY, region VARCHAR, product VARCHAR, qty INTEGER, "
               "price DOUBLE, sold_on DATE, note VARCHAR, code VARCHAR, amount_text VARCHAR)",
               "CREATE TABLE targets (region VARCHAR, product VARCHAR, goal INTEGER)",
               "CREATE TABLE regions (name VARCHAR, manager VARCHAR)"),
    "postgres": ("CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, product TEXT, qty INTEGER, "
                 "price DOUBLE PRECISION, sold_on DATE, note TEXT, code TEXT, amount_text TEXT)",
                 "CREATE TABLE targets (region TEXT, product TEXT, goal INTEGER)",
                 "CREATE TABLE regions (name TEXT, manager TEXT)"),
    "mysql": ("CREATE TABLE sales (id INT PRIMARY KEY, region VARCHAR(40), product VARCHAR(40), qty INT, "
              "price DOUBLE, sold_on DATE, note VARCHAR(40), code VARCHAR(10), amount_text VARCHAR(20))",
              "CREATE TABLE targets (region VARCHAR(40), product VARCHAR(40), goal INT)",
              "CREATE TABLE regions (name VARCHAR(40), manager VARCHAR(40))"),
}


def fill(con, family: str, placeholder: str = "?") -> None:
    """Create and fill the three tables through a DB-API connection."""
    cur = con.cursor()
    for ddl in DDL[family]:
        cur.execute(ddl)
    for table, rows in (("sales", sales_rows()), ("targets", TARGETS), ("regions", REGION_ROWS)):
        marks = ", ".join([placeholder] * len(rows[0]))
        cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    con.commit()


def frames() -> dict[str, pd.DataFrame]:
    return {
        "sales": pd.DataFrame(sales_rows(), columns=SALES_COLS),
        "targets": pd.DataFrame(TARGETS, columns=["region", "product", "goal"]),
        "regions": pd.DataFrame(REGION_ROWS, columns=["name", "manager"]),
    }


# -- comparing results --------------------------------------------------------------------------
def norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float | decimal.Decimal | int):
        f = float(v)
        return None if math.isnan(f) else round(f, 6)
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str) and len(v) >= 10 and v[4:5] == "-" and v[7:8] == "-" and v[:4].isdigit():
        return v[:10] if v[10:].strip(" 0:T") == "" else v
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def rows_of(df: pd.DataFrame) -> list[tuple]:
    return [tuple(norm(v) for v in row) for row in df.astype(object).itertuples(index=False, name=None)]


def _key(row: tuple):
    return tuple((v is None, "" if v is None else str(type(v).__name__ == "str"), v if v is not None else 0) for v in row)


def assert_same(got: pd.DataFrame, want: pd.DataFrame, ordered: bool) -> None:
    assert list(got.columns) == list(want.columns)
    g, w = rows_of(got), rows_of(want)
    if not ordered:
        g, w = sorted(g, key=_key), sorted(w, key=_key)
    assert len(g) == len(w), f"{len(g)} rows, expected {len(w)}"
    for a, b in zip(g, w, strict=True):
        assert a == b


# -- the cases ------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    steps: list[dict]
    truth: Callable[[dict[str, pd.DataFrame]], pd.DataFrame]
    ordered: bool = False
    source: str = "sales"


def _right(df: pd.DataFrame, left_cols, suffix="_right") -> pd.DataFrame:
    return df.rename(columns={c: c + suffix for c in df.columns if c in left_cols})


def _join(f, how):
    s, t = f["sales"], _right(f["targets"], SALES_COLS)
    return s.merge(t, left_on=["region", "product"], right_on=["region_right", "product_right"], how=how)


def _sql_ne(s: pd.Series, v):
    return s.notna() & (s != v)


def _pivot_sum(f):
    s = f["sales"]
    out = []
    for r in sorted(s.region.unique()):
        row = {"region": r}
        for p in PRODUCTS:
            vals = s[(s.region == r) & (s["product"] == p)].qty.dropna()
            row[p] = vals.sum() if len(vals) else None
        out.append(row)
    return pd.DataFrame(out)


def _median(values: pd.Series):
    v = values.dropna()
    return v.median() if len(v) else None


CASES = [
    Case("source", [], lambda f: f["sales"]),
    Case("join_inner", [{"type": "join", "right": {"connection": "db", "table": "regions"},
                         "on": [["region", "name"]], "how": "inner"}],
         lambda f: f["sales"].merge(f["regions"], left_on="region", right_on="name", how="inner")),
    Case("join_left_two_keys", [{"type": "join", "right": {"connection": "db", "table": "targets"},
                                 "on": [["region", "region"], ["product", "product"]], "how": "left"}],
         lambda f: _join(f, "left")),
    Case("join_right", [{"type": "join", "right": {"connection": "db", "table": "targets"},
                         "on": [["region", "region"], ["product", "product"]], "how": "right"}],
         lambda f: _join(f, "right")),
    Case("join_full", [{"type": "join", "right": {"connection": "db", "table": "targets"},
                        "on": [["region", "region"], ["product", "product"]], "how": "full"}],
         lambda f: _join(f, "outer")),
    Case("filter_compare_and", [{"type": "filter", "combine": "and", "conditions": [
        {"column": "qty", "op": ">=", "value": 5}, {"column": "qty", "op": "<", "value": 20},
        {"column": "price", "op": "<=", "value": 10}, {"column": "region", "op": "!=", "value": "West"},
        {"column": "product", "op": "=", "value": "apple"}]}],
         lambda f: (s := f["sales"])[(s.qty >= 5) & (s.qty < 20) & (s.price <= 10) & _sql_ne(s.region, "West")
                                     & (s["product"] == "apple")]),
    Case("filter_gt_date", [{"type": "filter", "conditions": [{"column": "sold_on", "op": ">", "value": "2024-01-15"}]}],
         lambda f: (s := f["sales"])[s.sold_on > dt.date(2024, 1, 15)]),
    Case("filter_in_not_in", [{"type": "filter", "conditions": [
        {"column": "product", "op": "in", "value": ["apple", "cherry"]},
        {"column": "region", "op": "not in", "value": ["North"]}]}],
         lambda f: (s := f["sales"])[s["product"].isin(["apple", "cherry"]) & ~s.region.isin(["North"])]),
    Case("filter_between_or_group", [{"type": "filter", "combine": "or", "conditions": [
        {"column": "qty", "op": "between", "value": [3, 6]},
        {"combine": "and", "conditions": [{"column": "region", "op": "=", "value": "East"},
                                          {"column": "qty", "op": "is null"}]}]}],
         lambda f: (s := f["sales"])[s.qty.between(3, 6) | ((s.region == "East") & s.qty.isna())]),
    Case("filter_text_ops", [{"type": "filter", "combine": "or", "conditions": [
        {"column": "product", "op": "contains", "value": "err"}, {"column": "product", "op": "starts with", "value": "ban"},
        {"column": "product", "op": "ends with", "value": "ate"}]}],
         lambda f: (s := f["sales"])[s["product"].str.contains("err") | s["product"].str.startswith("ban")
                                     | s["product"].str.endswith("ate")]),
    Case("filter_case_insensitive_and_nulls", [{"type": "filter", "conditions": [
        {"column": "note", "op": "=", "value": "MIXED", "case_sensitive": False},
        {"column": "qty", "op": "is not null"}]}],
         lambda f: (s := f["sales"])[(s.note.str.lower() == "mixed") & s.qty.notna()]),
    Case("filter_column_vs_column", [{"type": "filter", "conditions": [
        {"column": "qty", "op": ">", "value": {"column": "price"}}]}],
         lambda f: (s := f["sales"])[s.qty > s.price]),
    Case("select", [{"type": "select", "columns": ["price", "id", "region"]}],
         lambda f: f["sales"][["price", "id", "region"]]),
    Case("hide", [{"type": "hide", "columns": ["note", "code", "amount_text"]}],
         lambda f: f["sales"].drop(columns=["note", "code", "amount_text"])),
    Case("rename", [{"type": "rename", "columns": {"qty": "quantity", "region": "area"}}],
         lambda f: f["sales"].rename(columns={"qty": "quantity", "region": "area"})),
    Case("calculate_arithmetic", [{"type": "calculate", "name": "total", "expression": "qty * price + 1"},
                                  {"type": "select", "columns": ["id", "total"]}],
         lambda f: f["sales"].assign(total=f["sales"].qty * f["sales"].price + 1)[["id", "total"]]),
    Case("calculate_text", [{"type": "calculate", "name": "label",
                             "expression": "upper(substring(product, 1, 3)) || '-' || lower(trim(region)) || text(length(code))"},
                            {"type": "calculate", "name": "fixed", "expression": "replace(product, 'a', 'A')"},
                            {"type": "calculate", "name": "has_an", "expression": "contains(product, 'an')"},
                            {"type": "select", "columns": ["id", "label", "fixed", "has_an"]}],
         lambda f: (s := f["sales"]).assign(
             label=s["product"].str[:3].str.upper() + "-" + s.region.str.strip().str.lower() + s.code.str.len().astype(str),
             fixed=s["product"].str.replace("a", "A"), has_an=s["product"].str.contains("an"),
         )[["id", "label", "fixed", "has_an"]]),
    Case("calculate_dates", [{"type": "calculate", "name": "y", "expression": "year(sold_on)"},
                             {"type": "calculate", "name": "m", "expression": "month(sold_on)"},
                             {"type": "calculate", "name": "d", "expression": "day(sold_on)"},
                             {"type": "calculate", "name": "month_start", "expression": "date_trunc('month', sold_on)"},
                             {"type": "calculate", "name": "age_days",
                              "expression": "date_diff('day', sold_on, date('2025-01-01'))"},
                             {"type": "calculate", "name": "age_months",
                              "expression": "date_diff('month', sold_on, date('2025-01-01'))"},
                             {"type": "select", "columns": ["id", "y", "m", "d", "month_start", "age_days", "age_months"]}],
         lambda f: (s := f["sales"]).assign(
             y=[d.year for d in s.sold_on], m=[d.month for d in s.sold_on], d=[d.day for d in s.sold_on],
             month_start=[d.replace(day=1) for d in s.sold_on],
             age_days=[(dt.date(2025, 1, 1) - d).days for d in s.sold_on],
             age_months=[(2025 - d.year) * 12 + (1 - d.month) for d in s.sold_on],
         )[["id", "y", "m", "d", "month_start", "age_days", "age_months"]]),
    Case("calculate_conditionals", [
        {"type": "calculate", "name": "size", "expression": "if(coalesce(qty, 0) > 10, 'big', 'small')"},
        {"type": "calculate", "name": "band", "expression":
         "case when price < 5 then 'low' when price < 10 then 'mid' else 'high' end"},
        {"type": "calculate", "name": "q0", "expression": "coalesce(qty, -1)"},
        {"type": "calculate", "name": "num", "expression": "float(amount_text) + int(code)"},
        {"type": "select", "columns": ["id", "size", "band", "q0", "num"]}],
         lambda f: (s := f["sales"]).assign(
             size=["big" if (0 if pd.isna(q) else q) > 10 else "small" for q in s.qty],
             band=["low" if p < 5 else "mid" if p < 10 else "high" for p in s.price],
             q0=s.qty.fillna(-1), num=s.amount_text.astype(float) + s.code.astype(int),
         )[["id", "size", "band", "q0", "num"]]),
    Case("aggregate_grouped", [{"type": "aggregate", "group_by": ["region"], "measures": [
        {"function": "count", "as": "n"}, {"column": "qty", "function": "count", "as": "n_qty"},
        {"column": "product", "function": "count_distinct", "as": "products"},
        {"column": "qty", "function": "sum", "as": "qty_sum"}, {"column": "price", "function": "avg", "as": "price_avg"},
        {"column": "price", "function": "min", "as": "price_min"}, {"column": "sold_on", "function": "max", "as": "last"},
        {"column": "qty", "function": "median", "as": "qty_median"}]}],
         lambda f: pd.DataFrame([
             {"region": r, "n": len(g), "n_qty": g.qty.count(), "products": g["product"].nunique(),
              "qty_sum": g.qty.sum(), "price_avg": g.price.mean(), "price_min": g.price.min(), "last": g.sold_on.max(),
              "qty_median": _median(g.qty)} for r, g in f["sales"].groupby("region")])),
    Case("aggregate_total_median_only", [{"type": "aggregate", "measures": [
        {"column": "price", "function": "median", "as": "med"}]}],
         lambda f: pd.DataFrame([{"med": f["sales"].price.median()}])),
    Case("aggregate_distinct_groups", [{"type": "aggregate", "group_by": ["region", "product"]}],
         lambda f: f["sales"][["region", "product"]].drop_duplicates()),
    Case("pivot", [{"type": "pivot", "index": ["region"], "columns": "product", "values": "qty", "function": "sum"}],
         _pivot_sum),
    Case("pivot_count_given_values", [{"type": "pivot", "index": ["region"], "columns": "product", "function": "count",
                                       "column_values": ["apple", "banana"]}],
         lambda f: pd.DataFrame([{"region": r, "apple": int((g["product"] == "apple").sum()),
                                  "banana": int((g["product"] == "banana").sum())}
                                 for r, g in f["sales"].groupby("region")])),
    Case("unpivot", [{"type": "select", "columns": ["id", "qty", "price"]},
                     {"type": "unpivot", "columns": ["qty", "price"], "names_to": "measure", "values_to": "v"}],
         lambda f: f["sales"][["id", "qty", "price"]].melt(id_vars=["id"], var_name="measure", value_name="v")),
    Case("sort", [{"type": "sort", "by": [{"column": "region"}, {"column": "price", "descending": True},
                                          {"column": "id"}]}],
         lambda f: f["sales"].sort_values(["region", "price", "id"], ascending=[True, False, True]), ordered=True),
    Case("deduplicate_first", [{"type": "deduplicate", "columns": ["product"], "keep": "first",
                                "order_by": [{"column": "id"}]}],
         lambda f: f["sales"].sort_values("id").drop_duplicates("product", keep="first")),
    Case("deduplicate_last", [{"type": "deduplicate", "columns": ["region", "product"], "keep": "last",
                               "order_by": ["id"]}],
         lambda f: f["sales"].sort_values("id").drop_duplicates(["region", "product"], keep="last")),
    Case("deduplicate_none", [{"type": "deduplicate", "columns": ["code"], "keep": "none"}],
         lambda f: f["sales"].drop_duplicates("code", keep=False)),
    Case("deduplicate_rows", [{"type": "select", "columns": ["region", "product"]}, {"type": "deduplicate"}],
         lambda f: f["sales"][["region", "product"]].drop_duplicates()),
    Case("fill_nulls", [{"type": "fill_nulls", "values": {"qty": 0, "note": "n/a"}}],
         lambda f: f["sales"].fillna({"qty": 0, "note": "n/a"})),
    Case("change_type", [{"type": "change_type", "columns": {"code": "int", "amount_text": "float", "id": "text"}},
                         {"type": "select", "columns": ["id", "code", "amount_text"]}],
         lambda f: f["sales"].assign(code=f["sales"].code.astype(int), amount_text=f["sales"].amount_text.astype(float),
                                     id=f["sales"].id.astype(str))[["id", "code", "amount_text"]]),
    Case("limit", [{"type": "sort", "by": ["id"]}, {"type": "limit", "n": 7}],
         lambda f: f["sales"].sort_values("id").head(7), ordered=True),
]


def flow_for(case: Case) -> dict:
    return {"steps": [{"type": "source", "connection": "db", "table": case.source}, *case.steps]}


def check_case(da: DataAsk, case: Case) -> None:
    result = api.run_flow(da, flow_for(case))
    assert not result.truncated
    assert_same(result.to_pandas(), case.truth(frames()), case.ordered)


# -- SQLite and DuckDB ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> dict[str, DataAsk]:
    root = tmp_path_factory.mktemp("prep_steps")
    out = {}
    lite = root / "data.sqlite"
    con = sqlite3.connect(lite)
    fill(con, "sqlite")
    con.close()
    import duckdb

    duck = root / "data.duckdb"
    con = duckdb.connect(str(duck))
    fill(con, "duckdb")
    con.close()
    for family, url in (("sqlite", f"sqlite:///{lite}"), ("duckdb", f"duckdb:///{duck}")):
        da = DataAsk(Settings(home=Path(root / f"home_{family}"), query_timeout=30.0))
        da.connect("db", url)
        out[family] = da
    yield out
    for da in out.values():
        da.close()


@pytest.mark.parametrize("family", ["sqlite", "duckdb"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_step_matches_pandas(apps, family, case):
    check_case(apps[family], case)


def test_every_step_type_is_covered():
    from dataask_jupyter.prep.steps import STEP_TYPES

    used = {"source"} | {s["type"] for c in CASES for s in c.steps}
    assert used == set(STEP_TYPES)


def test_filter_ops_are_covered():
    from dataask_jupyter.prep.steps import FILTER_OPS

    def ops(conds):
        for c in conds:
            yield from ops(c["conditions"]) if "conditions" in c else [c["op"]]

    used = {op for c in CASES for s in c.steps if s["type"] == "filter" for op in ops(s["conditions"])}
    assert used == set(FILTER_OPS)


def test_agg_functions_are_covered():
    from dataask_jupyter.prep.steps import AGG_FUNCTIONS

    used = {m["function"] for c in CASES for s in c.steps if s["type"] == "aggregate" for m in s.get("measures", [])}
    assert used == set(AGG_FUNCTIONS)


def test_duckdb_change_type_null_on_error(apps):
    flow = {"steps": [{"type": "source", "connection": "db", "table": "sales"},
                      {"type": "change_type", "columns": {"note": "int"}},
                      {"type": "select", "columns": ["note"]}]}
    values = api.run_flow(apps["duckdb"], flow).to_pandas()["note"].tolist()
    assert all(pd.isna(v) for v in values)  # no note is a number: null instead of an error
