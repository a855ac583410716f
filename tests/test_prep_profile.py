"""Profiling (against pandas/numpy truth) and suggestions (join keys, cleaning, outliers)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.prep import api
from dataask_jupyter.prep.suggest import iqr_bounds, name_score, outliers, zscore_bounds
from tests.test_prep_steps import fill, frames


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    import duckdb

    root = tmp_path_factory.mktemp("prep_profile")
    lite, duck = root / "p.sqlite", root / "p.duckdb"
    con = sqlite3.connect(lite)
    fill(con, "sqlite")
    con.close()
    con = duckdb.connect(str(duck))
    fill(con, "duckdb")
    con.close()
    out = {}
    for family, url in (("sqlite", f"sqlite:///{lite}"), ("duckdb", f"duckdb:///{duck}")):
        da = DataAsk(Settings(home=Path(root / f"home_{family}")))
        da.connect("db", url)
        out[family] = da
    yield out
    for da in out.values():
        da.close()


SALES = {"steps": [{"type": "source", "connection": "db", "table": "sales"}]}


def _col(profile: dict, name: str) -> dict:
    return next(c for c in profile["columns"] if c["name"] == name)


@pytest.mark.parametrize("family", ["sqlite", "duckdb"])
def test_profile_matches_pandas(apps, family):
    prof = api.profile_flow(apps[family], SALES).to_dict()
    json.dumps(prof)
    df = frames()["sales"]
    assert prof["rows"] == 40 and prof["total_rows"] == 40 and not prof["sampled"] and prof["sample_size"] is None
    qty = _col(prof, "qty")
    assert qty["kind"] == "number" and qty["nulls"] == 4 and qty["null_pct"] == 10.0
    assert qty["distinct"] == df.qty.nunique() and qty["min"] == df.qty.min() and qty["max"] == df.qty.max()
    assert qty["mean"] == pytest.approx(df.qty.mean()) and qty["std"] == pytest.approx(df.qty.std())
    values = df.qty.dropna().to_numpy()
    method = "linear" if family == "duckdb" else "lower"  # SQLite: nearest-rank from a ROW_NUMBER window
    for name, q in (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)):
        assert qty["quantiles"][name] == pytest.approx(np.quantile(values, q, method=method)), name
    hist = qty["histogram"]
    assert len(hist) == 20 and sum(b["count"] for b in hist) == 36
    assert hist[0]["low"] == df.qty.min() and hist[-1]["high"] == df.qty.max()
    note = _col(prof, "note")
    assert note["kind"] == "text" and note["nulls"] == df.note.isna().sum() and note["top_values"] is not None
    want = df.note.value_counts()
    assert {t["value"]: t["count"] for t in note["top_values"]} == want.to_dict()
    sold = _col(prof, "sold_on")
    assert str(sold["min"])[:10] == df.sold_on.min().isoformat() and str(sold["max"])[:10] == df.sold_on.max().isoformat()
    assert sold["histogram"] is None and sold["top_values"] is None


@pytest.mark.parametrize(("family", "method"), [("duckdb", "bernoulli"), ("sqlite", "first rows")])
def test_profile_samples_big_outputs(apps, family, method):
    prof = api.profile_flow(apps[family], SALES, sample_threshold=10, sample_rows=20).to_dict()
    assert prof["sampled"] and prof["sample_method"] == method and prof["total_rows"] == 40
    assert prof["sample_size"] == prof["rows"]
    if method == "first rows":
        assert prof["rows"] == 20
    else:
        assert 0 < prof["rows"] < 40
    assert _col(prof, "qty")["nulls"] <= 4


def test_profile_of_a_later_step_and_column_cap(apps):
    flow = {"steps": [*SALES["steps"], {"type": "aggregate", "group_by": ["region"],
                                        "measures": [{"column": "qty", "function": "sum", "as": "q"}]}]}
    prof = api.profile_flow(apps["sqlite"], flow, max_columns=1).to_dict()
    assert prof["rows"] == 4 and [c["name"] for c in prof["columns"]] == ["region", "q"]
    assert prof["columns"][1]["distinct"] is None and "first 1 of 2 columns" in prof["notes"][0]


# -- join suggestions ------------------------------------------------------------------------------
def test_join_suggestions_find_keys_by_name_type_and_overlap(apps):
    da = apps["duckdb"]
    found = api.suggest_flow_joins(da, SALES, right=[{"connection": "db", "table": "regions"},
                                                     {"connection": "db", "table": "targets"}])
    best = found[0].to_dict()
    assert (best["left"], best["right"]["table"], best["right"]["column"]) == ("region", "regions", "name")
    assert best["overlap"] == 0.75 and best["confidence"] > 0.7  # West has no row in regions
    pairs = {(s.left, s.right_table, s.right) for s in found}
    assert ("product", "targets", "product") in pairs and ("region", "targets", "region") in pairs
    assert all(s.left != "price" or s.confidence < 0.5 for s in found)
    step = found[0].step()
    flow = {"steps": [*SALES["steps"], step]}
    assert api.run_flow(da, flow).table.num_rows == 30  # accepting it gives a working join


def test_join_suggestions_across_databases(tmp_path):
    from dataask_jupyter.demo import build_demo

    with DataAsk(Settings(home=tmp_path / "home")) as da:
        for name, url in build_demo(tmp_path / "demo", include_vega=False).items():
            da.connect(name, url)
        flow = {"steps": [{"type": "source", "connection": "shop_sales", "table": "orders"}]}
        found = api.suggest_flow_joins(da, flow)  # every table of every connection
        best = found[0].to_dict()
        assert best["left"] == "customer_id" and best["right"] == {"connection": "shop_crm", "table": "customers",
                                                                   "column": "id"}
        assert best["overlap"] == 1.0 and best["confidence"] > 0.9


@pytest.mark.parametrize(("left", "right", "table", "at_least", "at_most"), [
    ("customer_id", "id", "customers", 0.95, 1.0), ("id", "id", "customers", 0.0, 0.35),
    ("region", "name", "regions", 0.8, 0.9), ("order_code", "order_code", "x", 0.85, 1.0),
    ("price", "zzz", "x", 0.0, 0.25),
])
def test_name_score(left, right, table, at_least, at_most):
    score, why = name_score(left, right, table)
    assert at_least <= score <= at_most and why


# -- cleaning and outliers ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["sqlite", "duckdb"])
def test_cleaning_suggestions(apps, family):
    found = api.suggest_flow_cleaning(apps[family], SALES)
    by = {(s.column, s.kind): s.to_dict() for s in found}
    df = frames()["sales"]
    assert by[("note", "trim")]["affected"] == (df.note == " padded ").sum()
    assert by[("note", "trim")]["step"] == {"type": "calculate", "name": "note", "expression": "trim(note)"}
    assert by[("note", "case")]["affected"] == 1  # Mixed / mixed
    assert by[("note", "empty")]["affected"] == (df.note == "").sum()
    assert by[("note", "nulls")]["affected"] == df.note.isna().sum()
    assert by[("code", "type")]["step"] == {"type": "change_type", "columns": {"code": "int"}}
    assert by[("amount_text", "type")]["step"]["columns"] == {"amount_text": "float"}
    nulls = by[("qty", "nulls")]
    assert nulls["step"]["type"] == "fill_nulls" and nulls["alternatives"][0]["conditions"][0]["op"] == "is not null"
    assert not any(s.column == "id" and s.kind == "outliers" for s in found)
    json.dumps([s.to_dict() for s in found])


def test_cleaning_steps_apply(apps):
    da = apps["sqlite"]
    found = api.suggest_flow_cleaning(da, SALES, columns=["note"])
    flow = {"steps": [*SALES["steps"], *[s.step for s in found if s.kind in ("trim", "case", "empty")]]}
    notes = set(api.run_flow(da, flow).to_pandas()["note"].dropna())
    assert notes == {"padded", "mixed", "plain"}


@pytest.mark.parametrize("family", ["sqlite", "duckdb"])
def test_outliers_found_with_iqr_and_zscore(apps, family):
    flow = {"steps": [*SALES["steps"], {"type": "calculate", "name": "v", "expression": "if(id = 40, 1000.0, price)"}]}
    found = [s for s in api.suggest_flow_cleaning(apps[family], flow, columns=["v"]) if s.kind == "outliers"]
    assert len(found) == 2 and all(s.affected == 1 for s in found)
    low, high = found[0].step["conditions"][0]["value"]
    assert low < 1 and 12 < high < 1000
    cleaned = api.run_flow(apps[family], {"steps": [*flow["steps"], found[0].step]}).to_pandas()
    assert len(cleaned) == 39 and cleaned["v"].max() < 1000


def test_outlier_helpers():
    assert iqr_bounds(10, 20) == (-5, 35) and zscore_bounds(5, 2, 3) == (-1, 11)
    values = [10, 11, 12, 13, 12, 11, 10, 95, None, float("nan")]
    assert outliers(values, "iqr") == [95.0]
    assert outliers(list(range(100)) + [10_000], "zscore") == [10_000.0]
    assert outliers([1, 2, 3]) == []
    with pytest.raises(ValueError):
        outliers(values, "magic")


def test_profile_dates_are_json_ready(apps):
    prof = api.profile_flow(apps["duckdb"], SALES).to_dict()
    assert _col(prof, "sold_on")["min"] == (dt.date(2023, 1, 1) + dt.timedelta(days=min(
        (i * 29) % 700 for i in range(1, 41)))).isoformat()
