"""The calculated-field language: safety (nothing is ever evaluated), types, errors, autocomplete."""

from __future__ import annotations

import builtins
import sys

import ibis
import pytest

from dataask_jupyter.prep import FlowError, compile_expression, complete, function_catalog
from dataask_jupyter.prep.expr_parse import MAX_CHARS, parse_expression

T = ibis.table({"amount": "decimal(12, 2)", "status": "string", "order_date": "date", "ts": "timestamp",
                "qty": "int32", "unit price": "float64", "ok": "boolean"}, name="t")

HOSTILE = [
    ("__import__('os').system('touch CANARY')", "'__'"),
    ("x.__class__", "Attribute access"),
    ("amount.__class__.__mro__", "Attribute access"),
    ("().__class__", "Attribute access"),
    ("lambda: 1", "'lambda' is not allowed"),
    ("lambda x: x", "'lambda' is not allowed"),
    ("status[0]", "Subscripts"),
    ("status[0:2]", "Subscripts"),
    ("open('/etc/passwd')", "Unknown function 'open'"),
    ("eval('1 + 1')", "'eval' is not allowed"),
    ("exec('import os')", "'exec' is not allowed"),
    ("import os", "'import' is not allowed"),
    ("getattr(status, 'upper')", "Unknown function 'getattr'"),
    ("globals()", "Unknown function 'globals'"),
    ("upper(status)(1)", "Only function names can be called"),
    ("{'a': 1}", "Unexpected character '{'"),
    ("status; select 1", "Unexpected character ';'"),
    ("amount if qty else 1", "Expected an operator"),
    ("qty := 1", "':' is not allowed"),
    ("f'{qty}'", "Expected an operator"),
    ("`status`.upper()", "Attribute access"),
    ("(" * 60 + "1" + ")" * 60, "nested too deeply"),
    ("-" * 60 + "1", "nested too deeply"),
    ("not " * 60 + "ok", "nested too deeply"),
    (" + ".join(["qty"] * 200), "nested too deeply"),
    ("1" * (MAX_CHARS + 1), "too long"),
    ("upper(" * 50 + "status" + ")" * 50, "nested too deeply"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=[h[0][:30] for h in HOSTILE])
def test_hostile_expressions_are_refused_without_running_anything(text, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    for name in ("eval", "exec", "compile", "__import__"):
        real = getattr(builtins, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            if _name != "__import__" or args[0] not in sys.modules:
                calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(builtins, name, spy)
    with pytest.raises(FlowError, match=None) as err:
        compile_expression(text, T)
    monkeypatch.undo()
    assert message in str(err.value), str(err.value)
    assert calls == []  # no eval/exec/compile and no new imports
    assert not (tmp_path / "CANARY").exists()


def test_valid_expressions_do_not_eval_either(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    compile_expression("if(amount > 100 and not ok, upper(trim(status)) || '!', concat(status, qty))", T)
    compile_expression("case when qty in (1, 2) then date_diff('day', order_date, today()) else 0 end", T)


def test_errors_name_the_column_with_did_you_mean():
    with pytest.raises(FlowError) as err:
        compile_expression("amout * 2", T)
    assert "Unknown column 'amout'. Did you mean 'amount'?" in str(err.value)
    assert "position 1" in str(err.value)
    with pytest.raises(FlowError, match=r"Did you mean 'unit price'") as err:
        compile_expression("[unit prise] * 2", T)


@pytest.mark.parametrize(("text", "message"), [
    ("upper(amount)", "upper() needs text; [amount] is number"),
    ("status + 1", "'+' needs numbers; [status] is text"),
    ("amount > 'abc'", "Cannot compare [amount] (number) with 'abc' (text)"),
    ("order_date > '2024-13-45'", "is not a date"),
    ("if(qty > 1, 'a', 2)", "The results must have one type"),
    ("qty = null", "write x is null"),
    ("qty and ok", "'and' needs boolean"),
    ("order_date - order_date", "date_diff"),
    ("round(amount, qty)", "whole number of digits"),
    ("date_trunc('fortnight', order_date)", "must be one of"),
    ("date_trunc('hour', order_date)", "A date has no hour"),
    ("date_diff('hour', order_date, order_date)", "Dates have no hours"),
    ("substring(status)", "takes 2 to 3 arguments"),
    ("uper(status)", "Did you mean 'upper'?"),
    ("cast(qty, 'blob')", "unknown type 'blob'"),
    ("year(status)", "year() needs date or timestamp"),
    ("sum(qty)", "Unknown function 'sum'"),
])
def test_type_and_usage_errors(text, message):
    with pytest.raises(FlowError) as err:
        compile_expression(text, T)
    assert message in str(err.value)


@pytest.mark.parametrize(("text", "dtype"), [
    ("amount * 2 - qty", "decimal"),
    ("[unit price] * qty / 2", "float64"),
    ("upper(status) || '-' || text(qty)", "string"),
    ("status + status", "string"),
    ("order_date >= '2024-01-01' and status in ('a', 'b')", "boolean"),
    ("date_diff('month', order_date, today())", "int"),
    ("date_trunc('month', ts)", "timestamp"),
    ("year(order_date) * 100 + month(order_date)", "int"),
    ("coalesce(qty, 0) % 3", "int"),
    ("case when qty > 5 then 'many' when qty > 1 then 'some' else 'few' end", "string"),
    ("qty is not null and not ok", "boolean"),
    ("cast(status, 'decimal(10, 2)')", "decimal(10, 2)"),
    ("date('2024-02-29')", "date"),
    ("-qty + +1", "int"),
    ("nullif(trim(status), '')", "string"),
    ("greatest(qty, 3)", "int"),
    ("1e3 + .5", "float64"),
    ("'it''s' || \"a \"\"quote\"\"\"", "string"),
])
def test_valid_expressions_compile(text, dtype):
    result = compile_expression(text, T)
    assert dtype in str(result.value.type())
    assert result.code  # equivalent ibis code is always produced


def test_generated_code_matches_the_expression():
    result = compile_expression("if(amount > 100, 'big', 'small')", T)
    code_value = eval(result.code, {"ibis": ibis, "t": T})  # the test checks the export; the engine never evals
    assert code_value.equals(result.value)


def test_parse_positions_and_empty():
    with pytest.raises(FlowError, match="empty"):
        parse_expression("   ")
    with pytest.raises(FlowError, match="position 7"):
        parse_expression("qty + ")
    with pytest.raises(FlowError, match="Unclosed"):
        parse_expression("'abc")


def test_complete_columns_and_functions():
    cols = ["amount", "unit price", "update_at", "status"]
    assert complete("up", cols) == ["update_at", "upper("]
    assert complete("[un", cols)[0] == "[unit price]"
    assert complete("round(am", cols)[0] == "amount"
    assert complete("", cols)[:4] == ["amount", "[unit price]", "update_at", "status"]
    assert "date_trunc(" in complete("date_", cols)
    assert complete("'up", cols) == []  # inside a text literal
    assert complete("STAT", cols) == ["status"]
    assert "coalesce(" in complete("oal", cols)  # contains-matches come after prefix matches


def test_function_catalog_lists_every_function_once():
    cat = function_catalog()
    names = [f["name"] for f in cat]
    assert len(names) == len(set(names))
    for required in ("upper", "lower", "trim", "length", "concat", "substring", "replace", "contains", "year",
                     "month", "day", "date_trunc", "date_diff", "if", "coalesce", "cast"):
        assert required in names or any(required in f["aliases"] for f in cat)
    assert all(f["signature"] and f["doc"] for f in cat)
