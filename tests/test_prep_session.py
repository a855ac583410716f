"""The prep canvas's controller (FlowEditor) and its typed commands, on the demo data.

Real DuckDB (shop_sales) and SQLite (shop_crm) connections and a real SQLite metadata store;
no widget and no browser.
"""

from __future__ import annotations

import json

import pytest

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.demo import build_demo
from dataask_jupyter.errors import (
    AlreadyExists,
    Conflict,
    DataAskError,
    FlowError,
    NotFound,
    UsageError,
)
from dataask_jupyter.prep import datasets
from dataask_jupyter.prep.commands import COMMAND_NAMES, dispatch
from dataask_jupyter.prep.session import MAX_HISTORY, FlowEditor, step_template
from dataask_jupyter.prep.steps import STEP_TYPES

ORDERS = {"type": "source", "connection": "shop_sales", "table": "orders"}
COMPLETED = {"type": "filter", "conditions": [{"column": "status", "op": "=", "value": "completed"}]}


@pytest.fixture(scope="module")
def da(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep_session")
    app = DataAsk(Settings(home=root / "home"))
    for name, url in build_demo(root / "demo", include_vega=False).items():
        app.connect(name, url)
    yield app
    app.close()


def ask(editor, command, **args):
    response, _ = dispatch(editor, {"type": "request", "id": 1, "command": command, **args})
    json.dumps(response)  # every response is JSON-ready
    return response


def test_undo_redo_walk_the_history(da):
    ed = FlowEditor(da)
    assert not ed.can_undo and not ed.can_redo and ed.state()["statuses"] == []
    ed.add_step(ORDERS)
    ed.add_step(COMPLETED)
    ed.add_step({"type": "limit", "n": 10})
    ed.update_step("s3", {"n": 5})
    ed.move_step("s3", 1)
    assert ed.ids == ["s1", "s3", "s2"] and ed.steps[1]["n"] == 5
    history = []
    while ed.can_undo:
        history.append((list(ed.ids), ed.steps[-1].get("n")))
        assert ed.undo()
    assert ed.steps == [] and ed.selected is None and not ed.undo()
    assert history[0] == (["s1", "s3", "s2"], None) and history[1] == (["s1", "s2", "s3"], 5)
    assert history[2] == (["s1", "s2", "s3"], 10) and history[3] == (["s1", "s2"], None)
    for _ in range(len(history)):
        assert ed.redo()
    assert ed.ids == ["s1", "s3", "s2"] and not ed.redo()
    ed.undo()
    ed.remove_step("s2")  # a new edit forgets what could be redone
    assert not ed.can_redo and ed.ids == ["s1", "s2"][:1] + ["s3"]
    before = len(ed._undo)
    ed.update_step("s3", {"n": 5})  # no change: no history entry
    ed.select("s1")  # selecting is not an edit
    assert len(ed._undo) == before and ed.selected == "s1"


def test_history_is_bounded(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, {"type": "limit", "n": 1}]})
    for n in range(2, MAX_HISTORY + 30):
        ed.update_step("s2", {"n": n})
    assert len(ed._undo) == MAX_HISTORY


def test_structure_rules_are_errors_not_broken_flows(da):
    ed = FlowEditor(da)
    with pytest.raises(FlowError, match="Start the flow with a source"):
        ed.add_step(COMPLETED)
    ed.add_step(ORDERS)
    ed.add_step(COMPLETED)
    with pytest.raises(FlowError, match="already has a source"):
        ed.add_step(ORDERS)
    with pytest.raises(FlowError, match="cannot be removed"):
        ed.remove_step("s1")
    with pytest.raises(FlowError, match="stays first"):
        ed.move_step("s1", 1)
    with pytest.raises(FlowError, match="type cannot change"):
        ed.update_step("s2", {"type": "sort"})
    with pytest.raises(FlowError, match="Steps: s1, s2"):
        ed.update_step("s3", {"combine": "or"})
    with pytest.raises(FlowError, match="Unknown step type"):
        ed.add_step({"type": "teleport"})
    ed.move_step("s2", 0)  # clamped behind the source
    assert ed.ids == ["s1", "s2"]
    assert ed.add_step({**COMPLETED, "id": "s2"}) == "s3"  # a taken id gets a fresh one
    assert ed.add_step({"type": "limit", "n": 3}, index=0) == "s4" and ed.ids[1] == "s4"  # never before the source


def test_bad_step_is_reported_on_the_step_and_earlier_steps_still_preview(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, COMPLETED,
                                        {"type": "calculate", "name": "net", "expression": "amout * 0.8"},
                                        {"type": "sort", "by": ["net"]}]})
    statuses = ed.statuses()
    assert [s["ok"] for s in statuses] == [True, True, False, False]
    assert statuses[2]["error"]["step_id"] == "s3" and statuses[2]["error"]["field"] == "expression"
    assert "Did you mean 'amount'?" in statuses[2]["error"]["message"]
    assert statuses[3]["error"]["code"] == "blocked" and "s3" in statuses[3]["error"]["message"]
    bad = ed.preview("s4")
    assert bad["ok"] is False and bad["error"]["step_id"] == "s3"
    good = ed.preview("s2")
    assert good["ok"] and good["row_count"] == 5301 and len(good["rows"]) == 100 and good["step_id"] == "s2"
    assert good["columns"] == ["id", "customer_id", "order_date", "status", "channel", "amount"]
    assert all(row[3] == "completed" for row in good["rows"])
    ed.update_step("s3", {"expression": "amount * 0.8"})  # fixing it unblocks the rest
    assert all(s["ok"] for s in ed.statuses())
    fixed = ed.preview("s4")
    assert fixed["ok"] and fixed["columns"][-1] == "net" and fixed["rows"][0][-1] <= fixed["rows"][-1][-1]


def test_a_step_that_fails_validation_is_reported_with_its_field(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, {"type": "limit", "n": 50}, COMPLETED]})
    ed.update_step("s2", {"n": -1})
    statuses = ed.statuses()
    assert [s["ok"] for s in statuses] == [True, False, False]
    assert statuses[1]["error"]["field"] == "n" and statuses[1]["error"]["step_id"] == "s2"
    assert statuses[2]["error"]["code"] == "blocked"
    assert statuses[0]["columns"]["status"] == "string"
    assert ed.preview("s1")["row_count"] == 6014
    new = ed.new_step("join")  # an incomplete new step is reported, not refused
    status = next(s for s in ed.statuses() if s["step_id"] == new)
    assert status["ok"] is False


def test_expression_autocomplete_uses_the_input_columns_of_the_step(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, {"type": "calculate", "name": "net", "expression": "amout"},
                                        {"type": "calculate", "name": "gross", "expression": "net * 2"}]})
    assert ed.complete("s2", "amo")[0] == "amount"  # works while the step itself is bad
    assert "upper(" in ed.complete("s2", "round(amount) + upp")
    assert ed.complete("s2", "[cust")[0] == "[customer_id]"
    assert "net" not in ed.complete("s2", "ne")  # a step only sees its input
    ed.update_step("s2", {"expression": "amount * 0.8"})
    assert ed.complete("s3", "ne")[0] == "net"


def test_step_templates_are_valid_for_their_input(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS]})
    columns = ed.statuses()[0]["columns"]
    for kind in STEP_TYPES:
        if kind in ("source", "join"):
            continue
        step = {"id": "t", **step_template(kind, columns)}
        probe = FlowEditor(da, flow={"steps": [ORDERS, step]})
        assert probe.statuses()[1]["ok"], (kind, probe.statuses()[1]["error"])


def test_dropping_tables_adds_a_source_then_a_join_on_the_suggested_key(da):
    ed = FlowEditor(da)
    with pytest.raises(DataAskError, match="Did you mean 'orders'"):
        ed.add_table("shop_sales", "order")
    assert ed.steps == []
    assert ed.add_table("shop_sales", "orders") == "s1" and ed.steps[0]["type"] == "source"
    sid = ed.add_table("shop_crm", "customers")
    join = ed.steps[1]
    assert sid == "s2" and join["type"] == "join" and join["on"] == [["customer_id", "id"]]
    preview = ed.preview()
    assert preview["ok"] and "region" in preview["columns"] and preview["connections"] == ["shop_sales", "shop_crm"]
    rel = ed.relationships()
    assert [t["key"] for t in rel["tables"]] == ["shop_sales.orders", "shop_crm.customers"]
    assert rel["joins"] == [{"from": "shop_sales.orders", "from_column": "customer_id", "to": "shop_crm.customers",
                             "to_column": "id", "how": "left", "step_id": "s2", "suggested": False}]
    assert "customer_id" in rel["tables"][0]["keys"] and rel["tables"][1]["keys"] == ["id"]


def test_suggested_joins_are_dashed_until_accepted(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS]})
    found = ed.suggest_joins()
    assert found[0]["left"] == "customer_id"
    assert found[0]["right"] == {"connection": "shop_crm", "table": "customers", "column": "id"}
    assert {"connection": "shop_sales", "table": "order_items", "column": "order_id"} in [s["right"] for s in found]
    assert all(s["right"]["table"] != "orders" for s in found)  # never the flow's own tables
    suggested = [j for j in ed.relationships()["joins"] if j["suggested"]]
    assert suggested[0] == {"from": "shop_sales.orders", "from_column": "customer_id", "to": "shop_crm.customers",
                            "to_column": "id", "how": "inner", "step_id": None, "suggested": True, "suggestion": 0,
                            "confidence": found[0]["confidence"]}
    sid = ed.accept_join(0)
    assert ed.steps[-1]["on"] == [["customer_id", "id"]] and sid == "s2" and ed.statuses()[-1]["ok"]
    joins = ed.relationships()["joins"]
    assert [j["suggested"] for j in joins if j["to"] == "shop_crm.customers"] == [False]
    assert all(s["right"]["table"] != "customers" for s in ed.suggested_joins)
    with pytest.raises(UsageError, match="No suggested join"):
        ed.accept_join(len(ed.suggested_joins))


def test_profile_and_cleaning_suggestions(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, COMPLETED]})
    profile = ed.profile("s2", bins=5)
    amount = next(c for c in profile["columns"] if c["name"] == "amount")
    assert profile["rows"] == 5301 and amount["nulls"] == 0 and len(amount["histogram"]) == 5
    status = next(c for c in profile["columns"] if c["name"] == "status")
    assert status["top_values"][0]["value"] == "completed"
    proposals = ed.suggest_cleaning("s1", ["amount"])
    assert proposals and proposals[0]["step"]["type"] == "filter"
    ed.add_step(proposals[0]["step"])
    assert ed.statuses()[-1]["ok"]


def test_save_and_load_through_the_store(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, COMPLETED], "output_name": "completed_orders"})
    saved = ed.save(description="completed orders only")
    assert saved["name"] == "completed_orders" and saved["version"] == 1
    found = datasets.find_flow(da, "completed_orders")
    assert found.query.kind == "flow" and found.query.flow["steps"][1]["conditions"][0]["value"] == "completed"
    opened = FlowEditor.open(da, "completed_orders")
    assert opened.dataset["id"] == saved["id"] and opened.ids == ["s1", "s2"]
    assert opened.flow().to_dict() == ed.flow().to_dict()
    opened.add_step({"type": "limit", "n": 7})
    assert opened.save()["version"] == 2  # saving a loaded flow updates its dataset
    assert datasets.load_flow(da, "completed_orders")[0]["steps"][-1] == {"id": "s3", "type": "limit", "n": 7}
    with pytest.raises(Conflict):  # the first editor still holds version 1
        ed.save()
    stranger = FlowEditor(da, flow={"steps": [ORDERS]})
    with pytest.raises(AlreadyExists):
        stranger.save("completed_orders")
    assert stranger.save("completed_orders", overwrite=True)["version"] == 3
    with pytest.raises(NotFound, match="Did you mean 'completed_orders'"):
        FlowEditor.open(da, "completed_order")
    bad = FlowEditor(da, flow={"steps": [ORDERS, {"type": "limit", "n": -5}]})
    with pytest.raises(FlowError) as err:
        bad.save("broken")
    assert err.value.step_id == "s2" and datasets.find_flow(da, "broken") is None
    with pytest.raises(UsageError, match="name"):
        FlowEditor(da, flow={"steps": [ORDERS]}).save()


def test_a_saved_flow_runs_as_a_dashboard_dataset(da):
    from dataask_jupyter.dashboards.api import DashboardsAPI
    from dataask_jupyter.dashboards.api_models import RunIn
    from dataask_jupyter.dashboards.models import DashboardCreate
    from dataask_jupyter.dashboards.roles import Principal

    ed = FlowEditor(da, flow={"steps": [ORDERS, {"type": "aggregate", "group_by": ["status"],
                                                 "measures": [{"function": "count", "as": "orders"}]},
                                        {"type": "sort", "by": [{"column": "orders", "descending": True}]}]})
    ds = ed.save("orders_by_status")
    api = DashboardsAPI.from_dataask(da)
    g = api.authorize(Principal(da.settings.actor, superuser=True), "workspace_name", "default")
    board = api.dashboards.create(g, DashboardCreate(name="Flows", widgets=[
        {"id": "w1", "kind": "table", "query": {"kind": "dataset", "dataset_id": ds["id"]}}]))
    bg = api.authorize(g.principal, "dashboard", board.id)
    out = api.runner.run(bg, "w1", RunIn(max_rows=10))
    assert out.columns == ["status", "orders"] and out.rows[0] == ["completed", 5301] and out.row_count == 4
    listed = api.workspaces.datasets(g)
    assert {d.name: d.query.kind for d in listed}["orders_by_status"] == "flow"


def test_exports(da):
    ed = FlowEditor(da, flow={"steps": [ORDERS, COMPLETED], "output_name": "done"})
    sql = ed.export("sql")
    assert "WHERE" in sql and "'completed'" in sql
    assert "SELECT" in ed.export("sql", dialect="postgres")
    assert "ibis" in ed.export("code")
    view = ed.export("view")
    assert view.startswith("CREATE VIEW done AS\n") and "'completed'" in view
    ed.add_table("shop_crm", "customers")
    with pytest.raises(FlowError, match="one database"):
        ed.export("view")
    with pytest.raises(UsageError, match="Unknown export"):
        ed.export("pdf")


def test_commands_are_typed_and_never_raise(da):
    ed = FlowEditor(da)
    assert ask(ed, "schema")["result"][0]["name"] == "shop_crm"
    assert ask(ed, "add_table", connection="shop_sales", table="orders")["result"] == {"step_id": "s1"}
    assert ask(ed, "columns", connection="shop_sales", table="orders")["result"]["amount"].startswith("decimal")
    assert ask(ed, "new_step", step_type="filter")["ok"]
    assert ask(ed, "update_step", step_id="s2", changes={"conditions": COMPLETED["conditions"]})["ok"]
    assert ask(ed, "add_step", step={"type": "limit", "n": 3})["result"] == {"step_id": "s3"}
    assert ask(ed, "move_step", step_id="s3", index=1)["ok"] and ed.ids == ["s1", "s3", "s2"]
    assert ask(ed, "select", step_id="s1")["ok"] and ed.selected == "s1"
    assert ask(ed, "preview", step_id="s3")["result"]["rows"].__len__() == 3
    assert ask(ed, "profile", step_id="s1", bins=3)["result"]["rows"] == 6014
    assert ask(ed, "suggest_joins", step_id="s1")["ok"]
    assert ask(ed, "relationships")["result"]["tables"][0]["key"] == "shop_sales.orders"
    assert ask(ed, "accept_join", index=0)["ok"]
    assert ask(ed, "suggest_cleaning", step_id="s1", columns=["amount"])["ok"]
    assert ask(ed, "complete", step_id="s2", prefix="stat")["result"][0] == "status"
    assert ask(ed, "remove_step", step_id="s3")["ok"]
    assert ask(ed, "undo")["result"] == {"changed": True} and ask(ed, "redo")["result"] == {"changed": True}
    assert ask(ed, "export", kind="sql")["result"]["kind"] == "sql"
    assert ask(ed, "save", name="typed_commands")["result"]["version"] == 1
    # this flow joins two databases: a view cannot hold it (answered, never raised)
    refused = ask(ed, "save_view", view_name="typed_view")
    assert refused["ok"] is False and "one database" in refused["error"]["message"]
    covered = {"schema", "add_table", "columns", "new_step", "update_step", "add_step", "move_step", "select",
               "preview", "profile", "suggest_joins", "relationships", "accept_join", "suggest_cleaning",
               "remove_step", "undo", "redo", "export", "save", "complete", "save_view"}
    assert covered == set(COMMAND_NAMES)
    # errors are answered per request, with the request's id
    assert dispatch(ed, ["not", "a", "dict"])[0]["error"]["code"] == "bad_request"
    unknown, cmd = dispatch(ed, {"type": "request", "id": 9, "command": "drop_database"})
    assert cmd is None and unknown["id"] == 9 and "Unknown command" in unknown["error"]["message"]
    wrong = ask(ed, "move_step", step_id="s2", index="first")
    assert wrong["ok"] is False and "index" in wrong["error"]["message"]
    extra = ask(ed, "undo", force=True)
    assert extra["ok"] is False and extra["error"]["code"] == "bad_request"
    missing = ask(ed, "remove_step", step_id="nope")
    assert missing["error"]["code"] == "flow_error"
    source = ask(ed, "remove_step", step_id="s1")
    assert source["error"]["step_id"] == "s1"
    assert ask(ed, "add_table", connection="nowhere", table="x")["error"]["code"] == "connection_not_found"


def test_team_mode_kernels_do_not_write_the_shared_store(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from dataask_jupyter.errors import ConfigError

    monkeypatch.delenv("DATAASK_API_URL", raising=False)
    settings = Settings(home=tmp_path / "team", mode="team", secret_keys=(Fernet.generate_key().decode(),))
    with DataAsk.local(settings) as team:  # a kernel's DataAsk(settings) would already refuse without the URL
        ed = FlowEditor(team, flow={"steps": [ORDERS]})
        with pytest.raises(ConfigError, match="Hub service") as err:
            ed.save("orders")
        assert "DATAASK_API_URL" in str(err.value) and ed.dataset is None


def test_a_flow_file_with_a_bad_step_opens_for_fixing(da, tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"steps": [ORDERS, {"type": "limit", "n": "many"}]}))
    ed = FlowEditor(da, flow=path)
    assert ed.ids == ["s1", "s2"] and ed.statuses()[1]["error"]["field"] == "n"
    assert ed.suggest_joins()[0]["right"]["table"] == "customers"  # from the last good step
    ed.update_step("s2", {"n": 3})
    assert ed.preview()["row_count"] == 3
    with pytest.raises(FlowError, match="not valid JSON"):
        FlowEditor(da, flow="{steps")
    with pytest.raises(FlowError, match="Cannot read"):
        FlowEditor(da, flow=tmp_path / "missing.json")


def test_an_interrupted_or_crashing_command_is_answered_not_raised(da, monkeypatch):
    ed = FlowEditor(da, flow={"steps": [ORDERS]})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ed.engine, "profile", interrupted)
    assert ask(ed, "profile")["error"] == {"code": "cancelled", "message": "Interrupted."}
    monkeypatch.setattr(ed.engine, "profile", lambda *a, **k: 1 / 0)
    crashed = ask(ed, "profile")
    assert crashed["error"]["code"] == "internal_error" and "ZeroDivisionError" in crashed["error"]["message"]
    assert ask(ed, "preview")["result"]["row_count"] == 6014  # the editor still works


def test_a_flow_reading_a_connection_outside_the_workspace_is_not_saved(da):
    ed = FlowEditor(da, flow={"steps": [{"type": "source", "connection": "shop_salez", "table": "orders"}]})
    assert ed.statuses()[0]["error"]["code"] == "connection_not_found"
    with pytest.raises(UsageError, match="not in workspace 'default'. Did you mean 'shop_sales'"):
        ed.save("elsewhere")
    assert datasets.find_flow(da, "elsewhere") is None
