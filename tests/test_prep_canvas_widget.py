"""The prep canvas widget without a browser: its traitlets, its request/response messages
(the message handler called directly with a fake ``send``) and ``%dataask prep``."""

from __future__ import annotations

import json

import pytest
from IPython.core.interactiveshell import InteractiveShell

from dataask_jupyter.config import Settings
from dataask_jupyter.core import DataAsk
from dataask_jupyter.demo import build_demo
from dataask_jupyter.prep.commands import COMMAND_NAMES
from dataask_jupyter.prep.session import FlowEditor

ORDERS = {"type": "source", "connection": "shop_sales", "table": "orders"}
FLOW = {"steps": [ORDERS,
                  {"type": "filter", "conditions": [{"column": "status", "op": "=", "value": "completed"}]},
                  {"type": "calculate", "name": "net", "expression": "amout * 0.8"}]}
SYNCED = {"workspace", "flow", "statuses", "selected", "can_undo", "can_redo", "dataset", "preview", "profile",
          "schema", "relationships", "cleaning", "step_types", "commands", "vocabulary"}


@pytest.fixture(scope="module")
def da(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep_widget")
    app = DataAsk(Settings(home=root / "home"))
    for name, url in build_demo(root / "demo", include_vega=False).items():
        app.connect(name, url)
    yield app
    app.close()


class Wire:
    """Stands in for the comm: records what the widget sends to the front end."""

    def __init__(self, widget):
        self.widget, self.sent, self.n = widget, [], 0
        widget.send = lambda content, buffers=None: self.sent.append(content)

    def __call__(self, command, **args) -> dict:
        self.n += 1
        before = len(self.sent)
        self.widget._on_msg(self.widget, {"type": "request", "id": self.n, "command": command, **args}, [])
        assert len(self.sent) == before + 1, "exactly one response per request"
        response = self.sent[-1]
        assert response["type"] == "response" and response["id"] == self.n
        json.dumps(response)
        return response


@pytest.fixture
def canvas(da):
    from dataask_magics import PrepCanvas

    widget = PrepCanvas(FLOW, dataask=da)
    yield widget, Wire(widget)
    widget.close()


def test_state_lives_in_synced_traitlets(canvas):
    w, _ = canvas
    assert SYNCED <= set(w.class_trait_names(sync=True))
    state = w.get_state()
    json.dumps({k: state[k] for k in SYNCED})  # everything the front end gets is JSON
    assert [s["id"] for s in w.flow["steps"]] == ["s1", "s2", "s3"]
    assert [s["ok"] for s in w.statuses] == [True, True, False]
    assert w.statuses[2]["error"]["field"] == "expression" and "amount" in w.statuses[2]["error"]["message"]
    assert w.selected == "s3" and not w.can_undo and not w.can_redo
    assert w.preview["ok"] is False and w.preview["error"]["step_id"] == "s3"  # the bad step, on the step
    assert [c["name"] for c in w.schema] == ["shop_crm", "shop_sales"]
    assert "orders" in w.schema[1]["tables"] and w.relationships["tables"][0]["key"] == "shop_sales.orders"
    assert set(w.commands) == set(COMMAND_NAMES) and "pivot" in w.step_types
    assert "starts with" in w.vocabulary["filter_ops"] and "median" in w.vocabulary["agg_functions"]


def test_front_end_files_ship_next_to_the_module(canvas):
    w, _ = canvas
    from dataask_magics import prep_canvas

    js = (prep_canvas.STATIC / "prep_canvas.js").read_text()
    assert "export default { render }" in js and 'type: "request"' in js
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # data is only ever set as text
    assert w._esm == js and ".da-prep-node" in w._css


def test_the_wheel_ships_the_front_end():
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    from tests.foundation_fixtures import REPO

    files = {f.distribution_path for f in hatchling.WheelBuilder(str(REPO)).recurse_included_files()}
    assert {"dataask_magics/static/prep_canvas.js", "dataask_magics/static/prep_canvas.css",
            "dataask_magics/prep_canvas.py", "dataask_jupyter/prep/session.py"} <= files


def test_messages_edit_the_flow_and_refresh_the_preview(canvas):
    w, wire = canvas
    r = wire("select", step_id="s2")
    assert r["ok"] and w.selected == "s2"
    assert w.preview["ok"] and w.preview["step_id"] == "s2" and len(w.preview["rows"]) == 100
    assert w.preview["row_count"] == 5301  # earlier steps preview although s3 is bad
    r = wire("update_step", step_id="s3", changes={"expression": "amount * 0.8"})
    assert r["ok"] and all(s["ok"] for s in w.statuses) and w.can_undo
    r = wire("select", step_id="s3")
    assert w.preview["columns"][-1] == "net"
    r = wire("add_table", connection="shop_crm", table="customers")
    assert r["result"] == {"step_id": "s4"} and w.flow["steps"][-1]["on"] == [["customer_id", "id"]]
    assert w.selected == "s4" and w.preview["ok"], w.preview  # a cross-database preview (federation)
    assert "region" in w.preview["columns"]
    assert [t["key"] for t in w.relationships["tables"]] == ["shop_sales.orders", "shop_crm.customers"]
    r = wire("undo")
    assert r["result"] == {"changed": True} and len(w.flow["steps"]) == 3 and w.can_redo
    assert len(w.relationships["tables"]) == 1
    wire("redo")
    assert len(w.flow["steps"]) == 4 and not w.can_redo
    r = wire("move_step", step_id="s4", index=1)
    assert [s["id"] for s in w.flow["steps"]] == ["s1", "s4", "s2", "s3"]
    r = wire("remove_step", step_id="s4")
    assert r["ok"] and len(w.flow["steps"]) == 3
    r = wire("profile", step_id="s1", bins=4)
    assert r["ok"] and w.profile["step_id"] == "s1" and w.profile["rows"] == 6014
    r = wire("suggest_cleaning", step_id="s1", columns=["amount"])
    assert r["ok"] and w.cleaning and w.cleaning[0]["column"] == "amount"
    r = wire("suggest_joins", step_id="s1")
    assert r["ok"] and any(j["suggested"] for j in w.relationships["joins"])
    r = wire("export", kind="code")
    assert "ibis" in r["result"]["text"]
    r = wire("save", name="widget_flow")
    assert r["ok"] and w.dataset["name"] == "widget_flow" and w.dataset["version"] == 1


def test_errors_go_back_to_the_request_and_change_nothing(canvas):
    w, wire = canvas
    flow_before, statuses_before = json.dumps(w.flow), json.dumps(w.statuses)
    for command, args, code in [
        ("explode", {}, "bad_request"),
        ("update_step", {"step_id": "s2"}, "bad_request"),  # missing 'changes'
        ("move_step", {"step_id": "s2", "index": -3}, "bad_request"),
        ("remove_step", {"step_id": "s1"}, "flow_error"),
        ("add_step", {"step": {"type": "source", "connection": "shop_sales", "table": "orders"}}, "flow_error"),
        ("add_table", {"connection": "shop_sales", "table": "ordres"}, "table_not_found"),
        ("accept_join", {"index": 3}, "bad_request"),
        ("save", {}, "bad_request"),
    ]:
        r = wire(command, **args)
        assert r["ok"] is False and r["error"]["code"] == code, (command, r)
        assert r["error"]["message"]
    assert json.dumps(w.flow) == flow_before and json.dumps(w.statuses) == statuses_before
    sent = len(wire.sent)
    w._on_msg(w, {"type": "something-else"}, [])  # not a request: ignored
    w._on_msg(w, "garbage", [])
    assert len(wire.sent) == sent


def test_a_shared_editor_and_notebook_helpers(da):
    from dataask_magics import PrepCanvas

    editor = FlowEditor(da, flow={"steps": [ORDERS, {"type": "limit", "n": 5}]})
    w = PrepCanvas(editor=editor)
    assert w.editor is editor and w.preview["row_count"] == 5
    assert "LIMIT" in w.sql().upper() and "ibis" in w.code()
    assert w.run().table.num_rows == 5
    w.close()


@pytest.fixture
def shell(da):
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dataask_jupyter")
    m = ip.magics_manager.registry["DataAsk"]
    previous = m._app
    m._app = da
    ip.run_line_magic("config", "DataAsk.workspace = 'default'")
    yield ip
    m._app = previous


def test_dataask_prep_magic_opens_new_and_saved_flows(shell, da, capfd):
    from dataask_magics import PrepCanvas

    fresh = shell.run_line_magic("dataask", "prep")
    assert isinstance(fresh, PrepCanvas) and fresh.flow == {"steps": []} and fresh.preview["ok"] is False
    FlowEditor(da, flow={"steps": [ORDERS, {"type": "limit", "n": 2}]}).save("two_orders")
    opened = shell.run_line_magic("dataask", "prep two_orders")
    assert isinstance(opened, PrepCanvas) and opened.dataset["name"] == "two_orders"
    assert opened.preview["row_count"] == 2
    capfd.readouterr()
    assert shell.run_line_magic("dataask", "prep two_order") is None
    err = capfd.readouterr().err
    assert "No saved flow named 'two_order'" in err and "Did you mean 'two_orders'" in err and "Traceback" not in err
    assert shell.run_line_magic("dataask", "prep a b") is None
    assert "unrecognized arguments" in capfd.readouterr().err
