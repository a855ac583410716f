"""The flow format: the issue's example, ids, aliases, and validation messages naming the step."""

from __future__ import annotations

import json

import pytest

from dataask_jupyter.errors import UsageError
from dataask_jupyter.prep import Flow, FlowError

ISSUE_EXAMPLE = {
    "steps": [
        {"type": "source", "connection": "shop_sales", "table": "orders"},
        {"type": "join", "right": {"connection": "shop_crm", "table": "customers"}, "on": [["customer_id", "id"]],
         "how": "inner"},
        {"type": "filter", "conditions": [{"column": "order_date", "op": ">=", "value": "2024-01-01"}],
         "combine": "and"},
        {"type": "aggregate", "group_by": ["region"],
         "measures": [{"column": "amount", "function": "sum", "as": "revenue"}]},
    ],
    "output_name": "regional_revenue", "save_as": "dataset",
}


def test_issue_example_parses_and_round_trips():
    flow = Flow.parse(ISSUE_EXAMPLE)
    assert [s.id for s in flow.steps] == ["s1", "s2", "s3", "s4"]
    assert flow.connections() == ["shop_sales", "shop_crm"]
    assert flow.steps[3].measures[0].output_name == "revenue"
    again = Flow.parse(json.dumps(flow.to_dict()))
    assert again == flow
    assert again.to_dict()["steps"][3]["measures"][0]["as"] == "revenue"


def test_parse_accepts_text_bytes_path_and_model(tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(ISSUE_EXAMPLE))
    for data in (ISSUE_EXAMPLE, json.dumps(ISSUE_EXAMPLE), json.dumps(ISSUE_EXAMPLE).encode(), path):
        assert Flow.parse(data).output_name == "regional_revenue"
    flow = Flow.parse(path)
    assert Flow.parse(flow) is flow


def test_ids_are_kept_and_filled_without_clashes():
    flow = Flow.parse({"steps": [{"type": "source", "connection": "c", "table": "t"},
                                 {"id": "s3", "type": "limit", "n": 1}, {"type": "limit", "n": 2}]})
    assert [s.id for s in flow.steps] == ["s1", "s3", "s4"]


@pytest.mark.parametrize(("given", "canonical"), [
    ("Calculated field", "calculate"), ("calculated_field", "calculate"), ("group by", "aggregate"),
    ("drop", "hide"), ("fill-nulls", "fill_nulls"), ("cast", "change_type"), ("distinct", "deduplicate"),
])
def test_step_type_aliases(given, canonical):
    body = {"calculate": {"name": "x", "expression": "1"}, "aggregate": {"group_by": ["a"]}, "hide": {"columns": ["a"]},
            "fill_nulls": {"values": {"a": 0}}, "change_type": {"columns": {"a": "int"}}, "deduplicate": {}}[canonical]
    flow = Flow.parse({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": given, **body}]})
    assert flow.steps[1].type == canonical


def test_operator_function_and_how_aliases():
    flow = Flow.parse({"steps": [
        {"type": "source", "connection": "c", "table": "t"},
        {"type": "filter", "conditions": [{"column": "a", "op": "==", "value": 1}, {"column": "b", "op": "<>", "value": 2},
                                          {"column": "c", "op": "starts_with", "value": "x"},
                                          {"column": "d", "op": "IS  NULL"}, {"column": "e", "op": "in", "value": 3}]},
        {"type": "aggregate", "measures": [{"column": "a", "function": "count distinct"}, {"column": "a", "function": "mean"}]},
        {"type": "join", "right": {"connection": "c", "table": "u"}, "on": "k", "how": "outer"},
    ]})
    ops = [c.op for c in flow.steps[1].conditions]
    assert ops == ["=", "!=", "starts with", "is null", "in"]
    assert flow.steps[1].conditions[4].value == [3]
    assert [m.function for m in flow.steps[2].measures] == ["count_distinct", "avg"]
    assert flow.steps[3].how == "full" and flow.steps[3].on == [("k", "k")]


@pytest.mark.parametrize(("flow", "step_id", "field", "message"), [
    ({"steps": [{"type": "filter", "conditions": [{"column": "a", "op": "=", "value": 1}]}]},
     "s1", None, "the first step must be a 'source' step"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "source", "connection": "c", "table": "u"}]},
     "s2", None, "only the first step can be a source"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t", "id": "x"}, {"id": "x", "type": "limit", "n": 1}]},
     "x", None, "step id 'x' is used twice"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "frobnicate"}]},
     "s2", None, "unknown step type"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"},
                {"id": "f", "type": "filter", "conditions": [{"column": "a", "op": "like", "value": "x"}]}]},
     "f", "conditions[0].op", "unknown operator 'like'"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"},
                {"type": "filter", "conditions": [{"conditions": [{"column": "a", "op": "between", "value": 1}]}]}]},
     "s2", "conditions[0].conditions[0]", "'between' needs a list of two values"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"},
                {"type": "filter", "conditions": [{"column": "a", "op": "=", "value": None}]}]},
     "s2", "conditions[0]", "use 'is null'"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "aggregate", "measures": [{"function": "sum"}]}]},
     "s2", "measures[0]", "'sum' needs a column"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"},
                {"type": "aggregate", "group_by": ["n"], "measures": [{"function": "count", "as": "n"}]}]},
     "s2", None, "appear twice"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "change_type", "columns": {"a": "blob"}}]},
     "s2", "columns", "unknown type 'blob'"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "limit", "n": -1}]},
     "s2", "n", "greater than or equal to 0"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "select", "columns": ["a"], "bogus": 1}]},
     "s2", "bogus", "Extra inputs are not permitted"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"},
                {"type": "pivot", "columns": "a", "values": "b", "function": "median"}]},
     "s2", None, "pivot supports"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}, {"type": "rename", "columns": {"a": "x", "b": "x"}}]},
     "s2", "columns", "same new name"),
    ({"steps": [{"type": "source", "connection": "bad name", "table": "t"}]}, "s1", "connection", "not a connection name"),
    ({"steps": []}, None, "steps", "at least 1 item"),
    ({"steps": [{"type": "source", "connection": "c", "table": "t"}], "output_name": "1bad"}, None, "output_name",
     "starting with a letter"),
])
def test_validation_errors_name_step_and_field(flow, step_id, field, message):
    with pytest.raises(FlowError) as err:
        Flow.parse(flow)
    e = err.value
    assert isinstance(e, UsageError) and isinstance(e, ValueError)
    assert e.step_id == step_id and e.field == field and message in str(e), str(e)
    wire = e.to_dict()
    assert wire["code"] == "flow_error" and wire["step_id"] == step_id and wire["field"] == field


def test_not_json_and_not_an_object():
    with pytest.raises(FlowError, match="not valid JSON"):
        Flow.parse("{bad")
    with pytest.raises(FlowError, match="JSON object"):
        Flow.parse("[1, 2]")


def test_index_of_and_upto():
    flow = Flow.parse(ISSUE_EXAMPLE)
    assert flow.index_of("s3") == 2 and flow.index_of(3) == 2 and flow.index_of("3") == 2 and flow.index_of(None) == 3
    assert [s.id for s in flow.upto(2).steps] == ["s1", "s2"]
    with pytest.raises(FlowError, match="Step 9 does not exist"):
        flow.index_of(9)
    with pytest.raises(FlowError, match="Did you mean 's3'"):
        flow.index_of("s33")


def test_ui_state_is_kept_and_ignored():
    data = {"steps": [{"type": "source", "connection": "c", "table": "t", "ui": {"x": 10, "y": 20}}],
            "ui": {"zoom": 1.5}}
    flow = Flow.parse(data)
    assert flow.to_dict()["steps"][0]["ui"] == {"x": 10, "y": 20} and flow.ui == {"zoom": 1.5}
