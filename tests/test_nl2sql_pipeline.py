"""Asker results: the CLI JSON shape, display, stage timings, charts per result shape, insights."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.nl2sql import Asker, AskResult, chart_kind, choose_chart, insights
from tests.test_nl2sql_support import demo_setup

CLI_KEYS = {"question", "sql", "federated", "engine", "columns", "rows", "row_count", "chart", "insights",
            "timings", "attempts"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    da, urls, asker = demo_setup(tmp_path_factory.getbasetemp(), "pipeline")
    yield da, asker
    da.close()


def test_to_dict_is_the_cli_json_shape(env):
    r = env[1].ask("Revenue by region in 2024")
    out = r.to_dict()
    assert set(out) == CLI_KEYS
    assert set(out["timings"]) == {"retrieve", "generate", "execute", "total"}
    assert out["engine"] == "offline" and out["federated"] is True and out["attempts"] == 1
    assert out["columns"] == ["region", "revenue"] and out["row_count"] == 6
    assert all(isinstance(v, float) for _, v in out["rows"])  # Decimal -> float
    json.dumps(out)  # serializable as is
    assert out["timings"]["total"] >= out["timings"]["execute"] > 0
    assert out["chart"]["mark"]["type"] == "bar"
    assert len(out["insights"]) >= 2
    detailed = r.to_dict(explain=True)
    stages = detailed["stage_timings"]
    assert {"intent", "retrieve", "generate", "validate", "execute", "chart", "total"} <= set(stages)
    assert any(n.startswith("validate:") for n in detailed["explanation"])
    assert any("federated over shop_crm, shop_sales" in n for n in detailed["explanation"])


def test_no_run_generates_and_validates_only(env):
    r = env[1].ask("Monthly revenue in 2024", run=False)
    assert r.table is None and r.row_count == 0 and r.chart is None and r.sql.startswith("SELECT")


def test_mimebundle_escapes_and_carries_the_chart(tmp_path):
    db = tmp_path / "notes.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE notes (id INTEGER, topic VARCHAR, score DOUBLE)")
        con.execute("INSERT INTO notes VALUES (1, '<img src=x onerror=alert(1)>', 2.5), (2, 'plain', 1.0)")
    with DataAsk(Settings(home=tmp_path / "home")) as da:
        da.connect("notes_db", f"duckdb:///{db}")
        r = Asker.from_dataask(da).ask("average score by topic")
        bundle = r._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<details>" in html and "<summary>SQL" in html
    assert bundle["application/vnd.vegalite.v5+json"]["$schema"].endswith("vega-lite/v5.json")
    assert "text/plain" in bundle


def test_conversation_record_shape(env):
    from dataask_jupyter.nl2sql import Conversation

    conv = Conversation(workspace="default", asker="bo")
    env[1].ask("How many orders were placed in 2024?", conversation=conv)
    (rec,) = conv.to_records()
    assert {"question", "sql", "engine", "timings", "chart", "asker", "federated", "connections", "insights",
            "row_count", "created_at"} <= set(rec)
    assert rec["chart"]["usermeta"]["dataask"]["chart"] == "metric"
    json.dumps(rec)


def test_default_engine_follows_the_configured_model(env):
    da, asker = env
    assert asker.engine().name == "offline"
    other = Asker(da.connections, settings=da.settings, model="openai/gpt-4o-mini", catalog=asker.catalog())
    assert other.engine().name == "openai/gpt-4o-mini"
    assert other.engine("offline").name == "offline"


# -- charts per result shape ----------------------------------------------------------------------
@pytest.mark.parametrize("table,kind", [
    (pa.table({"revenue": [12.5]}), "metric"),
    (pa.table({"a": [1.0], "b": [2.0], "c": [3.0]}), "metric"),
    (pa.table({"month": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "revenue": [1.0, 2.0]}), "line"),
    (pa.table({"year": [2022, 2023], "orders": [10, 12]}), "line"),
    (pa.table({"month": [dt.date(2024, 1, 1)] * 2, "region": ["a", "b"], "revenue": [1.0, 2.0]}), "line"),
    (pa.table({"region": ["a", "b"], "revenue": [1.0, 2.0]}), "bar"),
    (pa.table({"channel": ["a", "b"], "revenue": [1.0, 3.0], "revenue_share_pct": [25.0, 75.0]}), "stacked_bar"),
    (pa.table({"region": ["a", "a"], "status": ["x", "y"], "n": [1, 2]}), "stacked_bar"),
    (pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 1.0, 4.0]}), "scatter"),
    (pa.table({"name": ["a"], "email": ["b"]}), None),
    (pa.table({"revenue": pa.array([], pa.float64())}), None),
])
def test_chart_choice_per_shape(table, kind):
    assert chart_kind(table) == kind
    spec = choose_chart(table, title="q")
    if kind is None:
        assert spec is None
    else:
        assert spec["usermeta"]["dataask"]["chart"] == kind
        assert spec["data"]["values"]
        json.dumps(spec)


def test_chart_specs_are_valid_vega_lite():
    import altair as alt

    for table in (pa.table({"region": ["a", "b"], "revenue": [1.0, 2.0]}),
                  pa.table({"month": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "revenue": [1.0, 2.0]}),
                  pa.table({"revenue": [12.5]})):
        spec = choose_chart(table)
        alt.Chart.from_dict({k: v for k, v in spec.items() if k != "$schema"})  # validates against the schema


# -- insights -------------------------------------------------------------------------------------------
def test_insights_from_rows():
    cat = insights(pa.table({"region": ["a", "b", "c"], "revenue": [10.0, 30.0, 60.0]}))
    assert cat[0] == "c has the highest revenue (60, 60% of the total)."
    assert cat[1] == "a has the lowest (10)."
    series = insights(pa.table({"month": ["2024-01-01", "2024-02-01", "2024-03-01"], "revenue": [10.0, 20.0, 40.0]}))
    assert series[0].startswith("Revenue went from 10 (2024-01-01) to 40 (2024-03-01), +300.0%")
    assert "upward" in series[-1]
    change = insights(pa.table({"region": ["a", "b"], "r_2024": [5.0, 1.0], "r_2023": [4.0, 2.0],
                                "r_change_pct": [25.0, -50.0]}))
    assert any("Largest change: a (+25.0%); smallest: b (-50.0%)." == s for s in change)
    assert insights(pa.table({"total": [1234567.891]})) == ["Total: 1,234,567.89."]
    assert len(insights(pa.table({"region": ["a"] * 3, "x": [1.0, 2.0, 3.0], "y": [1, 2, 3]}))) <= 3


def test_result_without_table_is_displayable():
    r = AskResult(question="q", sql="SELECT 1", federated=False, engine="offline")
    assert r.to_dict()["rows"] == [] and "application/vnd.vegalite.v5+json" not in r._repr_mimebundle_()
