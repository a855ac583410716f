"""Previews, bad-step reporting, cross-database flows and the CLI handlers, on the demo data."""

from __future__ import annotations

import argparse
import json

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.demo import build_demo
from dataask_jupyter.errors import UsageError
from dataask_jupyter.prep import FlowError, api
from dataask_jupyter.prep.cli import add_prep_parser, run_prep_command


@pytest.fixture(scope="module")
def da(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep_preview")
    app = DataAsk(Settings(home=root / "home"))
    for name, url in build_demo(root / "demo", include_vega=False).items():
        app.connect(name, url)
    yield app
    app.close()


ORDERS = {"type": "source", "connection": "shop_sales", "table": "orders"}
REGIONAL = {
    "steps": [ORDERS,
              {"type": "join", "right": {"connection": "shop_crm", "table": "customers"}, "on": [["customer_id", "id"]]},
              {"type": "filter", "conditions": [{"column": "order_date", "op": ">=", "value": "2024-01-01"}]},
              {"type": "aggregate", "group_by": ["region"],
               "measures": [{"column": "amount", "function": "sum", "as": "revenue"}]},
              {"type": "sort", "by": [{"column": "revenue", "descending": True}]}],
    "output_name": "regional_revenue", "save_as": "dataset",
}


def test_preview_shape_is_json_ready(da):
    p = api.preview_flow(da, {"steps": [ORDERS]}, limit=10)
    d = p.to_dict()
    json.dumps(d)  # everything JSON-ready: dates as ISO text, decimals as numbers
    assert d["columns"] == ["id", "customer_id", "order_date", "status", "channel", "amount"]
    assert d["types"]["amount"].startswith("decimal") and len(d["rows"]) == 10
    assert isinstance(d["rows"][0][2], str) and isinstance(d["rows"][0][5], float)
    assert d["row_count"] == 6014 and d["row_count_capped"] is False
    assert d["seconds"] > 0 and d["dialect"] == "duckdb" and d["connections"] == ["shop_sales"]
    assert "LIMIT 10" in d["sql"]
    bundle = p._repr_mimebundle_()
    assert "6,014 rows" in bundle["text/plain"] and "<table" in bundle["text/html"]


def test_small_result_is_counted_without_a_count_query(da):
    flow = {"steps": [ORDERS, {"type": "aggregate", "group_by": ["status"]}]}
    p = api.preview_flow(da, flow)
    assert p.row_count == 4 and "count" not in p.timings


def test_count_cap_and_no_count(da):
    p = api.preview_flow(da, {"steps": [ORDERS]}, limit=5)
    assert p.row_count == 6014
    from dataask_jupyter.prep.compiler import compile_flow
    from dataask_jupyter.prep.preview import preview_step

    steps, catalog = api.compile_steps(da, {"steps": [ORDERS]})
    capped = preview_step(steps[-1], catalog, limit=5, count_cap=1000)
    assert capped.row_count == 1000 and capped.row_count_capped and capped.count_text() == "1,000+ rows"
    skipped = api.preview_flow(da, {"steps": [ORDERS]}, limit=5, count=False)
    assert skipped.row_count is None and "not requested" in skipped.notes[0]
    assert compile_flow  # imported for the API surface


def test_bad_step_is_reported_on_that_step_and_earlier_steps_preview(da):
    flow = {"steps": [ORDERS,
                      {"type": "filter", "conditions": [{"column": "status", "op": "=", "value": "completed"}]},
                      {"type": "calculate", "name": "net", "expression": "amout * 0.8"},
                      {"type": "sort", "by": ["net"]}]}
    with pytest.raises(FlowError) as err:
        api.preview_flow(da, flow)
    assert err.value.step_id == "s3" and err.value.field == "expression"
    assert "Step 3 ('s3', calculate)" in str(err.value) and "Did you mean 'amount'?" in str(err.value)
    ok = api.preview_flow(da, flow, "s2")  # the steps before it still preview
    assert ok.row_count == 5301 and ok.step_id == "s2"
    statuses = [s.to_dict() for s in api.check_flow(da, flow)]
    assert [s["ok"] for s in statuses] == [True, True, False, False]
    assert statuses[2]["error"]["step_id"] == "s3" and statuses[3]["error"]["code"] == "blocked"
    assert statuses[1]["columns"]["amount"].startswith("decimal")


@pytest.mark.parametrize(("step", "step_id", "message"), [
    ({"type": "aggregate", "group_by": ["status"], "measures": [{"column": "channel", "function": "sum"}]},
     "s2", "sum needs a number column; 'channel' is text"),
    ({"type": "filter", "conditions": [{"column": "amount", "op": "contains", "value": "1"}]},
     "s2", "'contains' works on text; 'amount' is number"),
    ({"type": "filter", "conditions": [{"column": "order_date", "op": ">", "value": "last tuesday"}]},
     "s2", "is not a date"),
    ({"type": "filter", "conditions": [{"column": "amount", "op": ">", "value": "lots"}]}, "s2", "is not a number"),
    ({"type": "join", "right": {"connection": "shop_crm", "table": "customers"}, "on": [["status", "id"]]},
     "s2", "cannot join 'status' (text) with 'id' (number)"),
    ({"type": "select", "columns": ["id", "stauts"]}, "s2", "unknown column 'stauts'. Did you mean 'status'?"),
    ({"type": "rename", "columns": {"status": "amount"}}, "s2", "a column named 'amount' already exists"),
    ({"type": "change_type", "columns": {"order_date": "int"}}, "s2", "a date cannot become int"),
    ({"type": "fill_nulls", "values": {"amount": "zero"}}, "s2", "is not a number"),
    ({"type": "join", "right": {"connection": "shop_crm", "table": "customer"}, "on": [["customer_id", "id"]]},
     "s2", "has no table 'customer'. Did you mean 'customers'?"),
    ({"type": "join", "right": {"connection": "shop_crn", "table": "customers"}, "on": [["customer_id", "id"]]},
     "s2", "No connection named 'shop_crn'. Did you mean 'shop_crm'?"),
    ({"type": "unpivot", "columns": ["amount", "status"], "names_to": "id"}, "s2", "'id' is already a column"),
])
def test_step_errors_are_actionable(da, step, step_id, message):
    with pytest.raises(FlowError) as err:
        api.preview_flow(da, {"steps": [ORDERS, step]})
    assert err.value.step_id == step_id and message in str(err.value), str(err.value)
    assert api.preview_flow(da, {"steps": [ORDERS, step]}, 1).row_count == 6014


def test_unknown_source_table_does_not_mark_the_connection_unhealthy(da):
    with pytest.raises(FlowError, match="Did you mean 'orders'"):
        api.preview_flow(da, {"steps": [{"type": "source", "connection": "shop_sales", "table": "order"}]})
    assert da.connections.info("shop_sales").health.error_count == 0


def test_cross_database_flow_runs_through_federation(da):
    result = api.run_flow(da, REGIONAL)
    df = result.to_pandas()
    assert result.connection == "shop_sales+shop_crm" and list(df.columns) == ["region", "revenue"]
    assert len(df) == 6 and df["revenue"].is_monotonic_decreasing
    sql = api.flow_sql(da, REGIONAL)
    assert '"shop_sales"."orders"' in sql and '"shop_crm"."customers"' in sql
    p = api.preview_flow(da, REGIONAL, 3, limit=20)
    assert p.connections == ("shop_sales", "shop_crm") and p.table.num_rows == 20 and p.row_count == 3095
    first = api.preview_flow(da, REGIONAL, 1, limit=5)  # before the join: runs natively on DuckDB
    assert first.connections == ("shop_sales",) and first.dialect == "duckdb"


def test_cross_database_flow_can_be_refused(da):
    with pytest.raises(FlowError, match="cross-database flows need %%federate") as err:
        api.run_flow(da, REGIONAL, federate=False)
    assert "dataask prep sql" in str(err.value)


def test_cross_database_flow_with_an_injected_runner(da):
    seen = []

    def fake(sql, *, connections, max_rows, timeout=None):
        import pyarrow as pa

        from dataask_jupyter.prep.compiler import RunResult

        seen.append((tuple(connections), max_rows))
        return RunResult(pa.table({"region": ["x"], "revenue": [1.0]}))

    result = api.run_flow(da, REGIONAL, federate=fake, max_rows=50)
    assert result.to_pandas().to_dict("records") == [{"region": "x", "revenue": 1.0}]
    assert seen == [(("shop_sales", "shop_crm"), 50)]


def test_complete_expression_uses_the_input_columns(da):
    flow = {"steps": [ORDERS, {"type": "calculate", "name": "x", "expression": "1"}]}
    assert api.complete_expression(da, flow, "s2", "cust") == ["customer_id"]
    assert "amount" in api.complete_expression(da, flow, 2, "")
    assert any(f["name"] == "date_diff" for f in api.expression_functions())


# -- CLI handlers ----------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dataask")
    sub = p.add_subparsers(dest="command")
    add_prep_parser(sub)
    return p


class _Borrowed:
    def __init__(self, app):
        self.app = app

    def __enter__(self):
        return self.app

    def __exit__(self, *exc):
        return None


def _cli(da, argv, capsys):
    args = _parser().parse_args(argv)
    emitted = []
    code = run_prep_command(args, lambda: _Borrowed(da), emitted.append)
    return code, emitted, capsys.readouterr().out


def test_cli_subcommands(da, tmp_path, capsys):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(REGIONAL))
    code, out, _ = _cli(da, ["prep", "preview", str(path), "--step", "4", "--json"], capsys)
    assert code == 0 and set(out[0]) >= {"rows", "columns", "row_count", "seconds"} and out[0]["row_count"] == 6
    code, out, _ = _cli(da, ["prep", "run", str(path), "--json"], capsys)
    assert code == 0 and out[0]["row_count"] == 6 and out[0]["columns"] == ["region", "revenue"]
    code, _, text = _cli(da, ["prep", "sql", str(path), "--step", "s1", "--dialect", "postgres"], capsys)
    assert code == 0 and text.strip().startswith("SELECT")
    code, out, _ = _cli(da, ["prep", "profile", str(path), "--step", "1", "--json"], capsys)
    assert code == 0 and out[0]["rows"] == 6014 and out[0]["columns"][0]["name"] == "id"
    code, _, text = _cli(da, ["prep", "profile", str(path), "--step", "1"], capsys)
    assert "6,014 rows profiled" in text
    code, _, text = _cli(da, ["prep", "code", str(path), "--step", "2"], capsys)
    assert "import ibis" in text and "t.join(" in text
    code, _, text = _cli(da, ["prep", "preview", str(path)], capsys)
    assert "Step 5 (s5, sort): 6 rows" in text and "North America" in text


def test_cli_check_exit_code_and_missing_file(da, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": [ORDERS, {"type": "select", "columns": ["nope"]}]}))
    code, out, _ = _cli(da, ["prep", "check", str(bad), "--json"], capsys)
    assert code == 1 and out[0]["ok"] is False and out[0]["steps"][1]["error"]["step_id"] == "s2"
    with pytest.raises(UsageError, match="No flow file"):
        _cli(da, ["prep", "run", str(tmp_path / "missing.json")], capsys)


# -- sessions, sampling and counting ---------------------------------------------------------------
HEAVY = {"steps": [ORDERS, {"type": "aggregate", "group_by": ["status"], "measures": [{"function": "count", "as": "n"}]}]}


def test_heavy_steps_of_big_sources_preview_on_a_sample(da):
    session = api.PrepSession(da)
    p = session.preview(HEAVY, source_limit=1000)
    d = p.to_dict()
    assert d["sampled"] and d["sample"] == {"method": "block", "rows": 1000, "source_rows": 6014, "table": "orders"}
    assert "TABLESAMPLE" in d["sql"].upper() and d["row_count"] is None and "sample of about 1,000" in d["notes"][0]
    assert sum(r[1] for r in d["rows"]) < 6014
    exact = session.preview(HEAVY, source_limit=None)
    assert not exact.sampled and sum(r[1] for r in exact.to_dict()["rows"]) == 6014
    streaming = session.preview({"steps": [ORDERS, {"type": "filter", "conditions": [
        {"column": "status", "op": "=", "value": "completed"}]}]}, source_limit=1000)
    assert not streaming.sampled  # row-by-row steps only read what LIMIT needs
    assert not session.preview(HEAVY).sampled  # 6014 rows is below the default limit


def test_sqlite_sources_sample_the_first_rows(da):
    flow = {"steps": [{"type": "source", "connection": "shop_crm", "table": "customers"},
                      {"type": "sort", "by": ["name"]}]}
    p = api.preview_flow(da, flow, source_limit=100, limit=500)
    assert p.sample["method"] == "first rows" and p.table.num_rows == 100 and "LIMIT 100" in p.sql


def test_session_caches_compiles_and_schemas(da, monkeypatch):
    session = api.PrepSession(da)
    calls = {"columns": 0}
    real = da.connections.columns

    def counting(*args, **kwargs):
        calls["columns"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(da.connections, "columns", counting)
    first = session.compile(REGIONAL, 3)
    assert session.compile(REGIONAL, 3) is first
    relabelled = {**REGIONAL, "steps": [{**REGIONAL["steps"][0], "ui": {"x": 1}}, *REGIONAL["steps"][1:]]}
    assert session.compile(relabelled, 3) is first  # canvas-only changes do not recompile
    for step in range(1, 6):
        session.compile(REGIONAL, step)
    assert calls["columns"] == 2  # orders and customers, once each
    changed = {**REGIONAL, "steps": [*REGIONAL["steps"][:2], {"type": "limit", "n": 3}]}
    assert session.compile(changed)[-1].type == "limit"


def test_count_after_rows(da):
    session = api.PrepSession(da)
    rows = session.preview({"steps": [ORDERS]}, count=False, limit=5)
    assert rows.row_count is None
    counted = session.count({"steps": [ORDERS]}).to_dict()
    assert counted["row_count"] == 6014 and not counted["row_count_capped"] and counted["step_id"] == "s1"
    capped = session.count({"steps": [ORDERS]}, cap=100).to_dict()
    assert capped["row_count"] == 100 and capped["row_count_capped"]
