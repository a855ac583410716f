"""Export a %%ask conversation as a dashboard: one widget per question, one dashboard version per
export, the widgets run to the answers' rows, no row data stored (real SQLite store + demo data)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from dataask_jupyter.dashboards import DashboardsAPI, Principal, Scope
from dataask_jupyter.dashboards.api_models import RunIn
from dataask_jupyter.dashboards.runner import json_value
from dataask_jupyter.errors import ConfigError, UsageError
from dataask_jupyter.nl2sql.export import ExportReceipt
from tests import test_ask_memory as _memory
from tests.foundation_fixtures import make_app
from tests.test_ask_memory import kernel, store_rows

FIRST = "total revenue by year"
SECOND = "how many customers per segment"

demo_home = _memory.demo_home  # the same module-scoped demo workspace fixture




def grant(app, dashboard_id: int, level: str = "viewer"):
    api = DashboardsAPI.from_dataask(app)
    return api, api.authorize(Principal("tester", superuser=True), Scope.dashboard, dashboard_id, level)


def as_json(rows) -> list[list]:
    return [[json_value(v) for v in row] for row in rows]


def test_export_two_questions_runs_to_the_same_rows_and_re_export_appends(demo_home, capsys):
    app, magics = kernel(demo_home)
    with app:
        assert magics.ask("--new", SECOND) is not None  # an earlier conversation: not exported
        first = magics.ask("--new", FIRST)
        assert first is not None, capsys.readouterr().err
        follow = magics.ask_line("only for Europe")
        assert follow is not None and follow.federated, capsys.readouterr().err
        answers = [first, follow]

        receipt = magics.dataask('history --export "Conversation board"')
        assert isinstance(receipt, ExportReceipt), capsys.readouterr().err
        assert receipt.created_dashboard and len(receipt.widget_ids) == 2 and receipt.version == 1
        assert "Exported 2 question(s)" in str(receipt) and "(new dashboard)" in str(receipt)

        api, g = grant(app, receipt.dashboard_id)
        widgets = api.dashboards.widgets(g)
        assert [w.id for w in widgets] == receipt.widget_ids
        assert [w.title for w in widgets] == [FIRST, "only for Europe"]
        for w, answer in zip(widgets, answers, strict=True):
            assert w.query.sql == answer.sql.strip().rstrip(";").strip()
            assert (w.query.kind == "federated") == answer.federated
            if not answer.federated:
                assert w.query.connection == answer.connections[0]
            if w.kind != "table":
                assert w.spec["data"] == {"name": "result"} and "values" not in json.dumps(w.spec)
            ran = api.runner.run(g, w.id, RunIn(use_cache=False))
            assert ran.columns == list(answer.columns)
            assert ran.rows == as_json(answer.rows) and ran.row_count == answer.row_count
        assert len(api.dashboards.versions(g)) == 1  # one version for the whole export
        # laid out in a grid, no two widgets overlap
        cells = {(w.position.x + dx, w.position.y + dy) for w in widgets
                 for dx in range(w.position.w) for dy in range(w.position.h)}
        assert len(cells) == sum(w.position.w * w.position.h for w in widgets)

        again = magics.dataask('history --export "Conversation board"')
        assert isinstance(again, ExportReceipt) and not again.created_dashboard
        assert again.dashboard_id == receipt.dashboard_id and again.version == receipt.version + 1
        api, g = grant(app, receipt.dashboard_id)
        widgets = api.dashboards.widgets(g)
        assert [w.id for w in widgets] == receipt.widget_ids + again.widget_ids  # appended, old ones kept
        old_bottom = max(w.position.y + w.position.h for w in widgets[:2])
        assert all(w.position.y >= old_bottom for w in widgets[2:])
        assert len(api.dashboards.versions(g)) == 2
        audit = store_rows(app, "SELECT action FROM audit_log WHERE target_type = 'dashboard' "
                                f"AND target = '{receipt.dashboard_id}'")
        assert [a for (a,) in audit] == ["dashboard.create", "dashboard.save"]

        # no row data in the dashboard or its versions
        stored = json.dumps([list(map(str, r)) for r in store_rows(
            app, f"SELECT * FROM dashboard_versions WHERE dashboard_id = {receipt.dashboard_id}")])
        stored += json.dumps([list(map(str, r)) for r in store_rows(
            app, f"SELECT * FROM dashboards WHERE id = {receipt.dashboard_id}")])
        revenues = [str(v) for answer in answers for _year, v in answer.rows]
        assert len(revenues) >= 5 and all(len(v) > 4 for v in revenues)
        assert not [v for v in revenues if v in stored]
        assert '"values"' not in stored


def test_exporting_an_empty_conversation_is_a_clear_error(demo_home, capsys):
    app, magics = kernel(demo_home)
    with app:
        ws = app.repo.get_workspace("default").id
        empty = app.repo.start_conversation(ws, "tester", "nothing yet")
        before = store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0]
        with pytest.raises(UsageError, match="no answered question"):
            app.export_conversation("Empty board", workspace="default", conversation_id=empty.id)
        magics.dataask('history --export "Empty board"')  # the latest conversation is the empty one
        err = capsys.readouterr().err
        assert "no answered question with SQL to export" in err and "Traceback" not in err
        with pytest.raises(UsageError, match="No conversation to export"):
            app.export_conversation("Empty board", workspace="default", actor="nobody")
        with pytest.raises(UsageError, match="Name the dashboard"):
            app.export_conversation("  ", workspace="default")
        assert store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0] == before


def test_cli_history_export(demo_home):
    env = {**os.environ, "DATAASK_HOME": str(demo_home), "USER": "tester"}
    env.pop("DATAASK_LLM_MODEL", None)
    env.pop("DATAASK_MODE", None)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    app, magics = kernel(demo_home)
    with app:
        assert magics.ask("--new", FIRST) is not None
    out = cli("history", "--export", "CLI board", "--json")
    assert out.returncode == 0, out.stderr
    receipt = json.loads(out.stdout)
    assert receipt["dashboard"] == "CLI board" and receipt["created_dashboard"] and len(receipt["widget_ids"]) == 1
    with make_app(demo_home) as app:
        api, g = grant(app, receipt["dashboard_id"])
        (w,) = api.dashboards.widgets(g)
        assert w.title == FIRST and w.options.get("pinned_rows")
    again = cli("history", "--export", "CLI board")
    assert again.returncode == 0 and "Exported 1 question(s)" in again.stdout, again.stderr
    missing = cli("history", "--export", "CLI board", "--workspace", "no-such-ws")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_team_mode_without_the_service_refuses_and_writes_nothing(demo_home, capsys, monkeypatch):
    monkeypatch.delenv("DATAASK_API_URL", raising=False)
    app, magics = kernel(demo_home)
    with app:
        assert magics.ask("--new", SECOND) is not None
        before = store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0]
        app.settings = dataclasses.replace(app.settings, mode="team")
        with pytest.raises(ConfigError, match="DATAASK_API_URL"):
            app.export_conversation("Team board", workspace="default")
        magics.dataask('history --export "Team board"')
        err = capsys.readouterr().err
        assert "team mode" in err and "nothing was exported" in err
        assert store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0] == before
