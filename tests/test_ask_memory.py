"""%%ask memory in the metadata store: follow-ups after a kernel restart, history, taught knowledge,
--allow-samples, and --pin on %%ask / %%federate (demo data, offline engine; the LLM is a fake server)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import text

from dataask_jupyter.demo_setup import prepare_demo
from tests.foundation_fixtures import make_app


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("askmem") / "home"
    with make_app(home) as app:
        prepare_demo(app)
    return home


def kernel(home, **overrides):
    """A fresh 'kernel': a new DataAsk and new magics over the same store (nothing kept in memory)."""
    from dataask_magics import DataAskMagics

    app = make_app(home, **overrides)
    return app, DataAskMagics(shell=InteractiveShell.instance(), app=app)


def store_rows(app, sql: str):
    with app.repo.engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_follow_up_survives_a_kernel_restart_and_history_lists_it(demo_home, capsys):
    app, magics = kernel(demo_home)
    with app:
        first = magics.ask("--new", "total revenue by year")
        assert first is not None and first.row_count >= 4
    # "restart": a new process state; only the store remembers the conversation
    app2, magics2 = kernel(demo_home)
    with app2:
        follow = magics2.ask_line("only for Europe")
        assert follow is not None, capsys.readouterr().err
        assert follow.intent == "follow_up" and follow.federated and "Europe" in follow.sql
        everyone = {r[0]: r[1] for r in first.rows}
        europe = {r[0]: r[1] for r in follow.rows}
        assert europe and all(europe[y] < everyone[y] for y in europe)
        hist = magics2.dataask("history 2")
        assert [t.question for t in hist] == ["only for Europe", "total revenue by year"]
        assert hist[0].sql == follow.sql and hist[0].federated and hist[1].row_count == first.row_count
        bundle = hist._repr_mimebundle_()
        assert "only for Europe" in bundle["text/plain"] and "<code" in bundle["text/html"]
        fresh = magics2.ask("--new", "only for Europe")  # no context: not a follow-up any more
        assert fresh is None or fresh.intent != "follow_up"
    # the turns hold SQL and a chart template, never the rows
    turns = store_rows(app2, "SELECT question, sql, chart, row_count FROM ask_turns")
    assert len(turns) >= 2
    for _q, _sql, chart, _n in turns:
        if chart:
            chart = json.loads(chart) if isinstance(chart, str) else chart
            assert chart["data"] == {"name": "result"} and "values" not in json.dumps(chart)
    dump = json.dumps([list(map(str, t)) for t in turns])
    for _year, revenue in first.rows:
        assert f"{revenue}" not in dump


def test_teach_instruct_knowledge_and_remove(demo_home, capsys):
    app, magics = kernel(demo_home)
    with app:
        sql = "SELECT name, city FROM customers WHERE segment = 'Enterprise' ORDER BY name"
        magics.dataask(f'teach "who are our key accounts" {sql}')
        out = capsys.readouterr()
        assert "Taught p" in out.out, out.err
        r = magics.ask("--new", "Who are our key accounts?")
        assert r.intent == "pair" and r.sql == sql and r.connections == ["shop_crm"]
        assert r.row_count > 0 and r.columns == ["name", "city"]
        # the quotes of the SQL survived the magic's parsing
        assert "'Enterprise'" in store_rows(app, "SELECT sql FROM knowledge_sql_pairs")[0][0]
        magics.dataask('teach "revenue in 2023" "SELECT SUM(quantity * unit_price) FROM order_items"')
        capsys.readouterr()
        r2024 = magics.ask("--new", "revenue in 2024")
        assert r2024 is None or r2024.intent != "pair"  # another year: the 2023 pair is not reused
        capsys.readouterr()

        magics.dataask("teach \"drop it\" DELETE FROM customers")
        err = capsys.readouterr().err
        assert "Not taught" in err and "Traceback" not in err
        magics.dataask('teach "ghosts" SELECT * FROM ghosts')
        err = capsys.readouterr().err
        assert "Not taught" in err and "ghosts" in err
        magics.dataask('teach --connection shop_sales "customers" SELECT * FROM customers')
        assert "Not taught" in capsys.readouterr().err  # customers is not a table of shop_sales
        magics.dataask('instruct "revenue means sum(quantity*unit_price)"')
        listing = magics.dataask("knowledge")
        kinds = [(e.kind, e.text) for e in listing]
        assert ("instruction", "revenue means sum(quantity*unit_price)") in kinds
        assert ("sql_pair", "who are our key accounts") in kinds
        assert not any("ghosts" in t or "drop it" in t for _, t in kinds)
        pair = next(e for e in listing if e.text == "who are our key accounts")
        assert pair.ref in listing._repr_mimebundle_()["text/plain"]
        magics.dataask(f"knowledge remove {pair.ref}")
        assert f"Removed {pair.ref}" in capsys.readouterr().out
        magics.dataask(f"knowledge remove {pair.ref}")
        assert "no sql pair" in capsys.readouterr().err
        assert all(e.ref != pair.ref for e in magics.dataask("knowledge"))
        gone = magics.ask("--new", "Who are our key accounts?")
        assert gone is None or gone.intent != "pair"
        capsys.readouterr()


def test_cli_history_teach_knowledge(demo_home):
    env = {**os.environ, "DATAASK_HOME": str(demo_home), "USER": "tester"}
    env.pop("DATAASK_LLM_MODEL", None)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    taught = cli("teach", "how many segments", "SELECT COUNT(DISTINCT segment) AS n FROM customers", "--json")
    assert taught.returncode == 0, taught.stderr
    ref = json.loads(taught.stdout)["ref"]
    bad = cli("teach", "wipe", "DROP TABLE customers")
    assert bad.returncode == 1 and "Not taught" in bad.stderr and "Traceback" not in bad.stderr
    assert cli("instruct", "segments are customer tiers").returncode == 0
    listed = json.loads(cli("knowledge", "--json").stdout)["knowledge"]
    assert {"ref": ref, "text": "how many segments"}.items() <= next(e for e in listed if e["ref"] == ref).items()
    assert any(e["kind"] == "instruction" and e["text"] == "segments are customer tiers" for e in listed)
    hist = json.loads(cli("history", "50", "--json").stdout)["history"]
    assert any(h["question"] == "total revenue by year" for h in hist)
    removed = cli("knowledge", "remove", ref)
    assert removed.returncode == 0 and ref in removed.stdout
    assert cli("knowledge", "remove", ref).returncode == 1
    assert cli("knowledge", "remove", "x9").returncode == 1


def test_pin_from_ask_and_federate_creates_and_reuses_the_dashboard(demo_home, capsys):
    from dataask_jupyter.dashboards import DashboardsAPI, Principal, Scope

    app, magics = kernel(demo_home)
    with app:
        r = magics.ask("--new --pin 'Sales overview'", "total revenue by year")
        out = capsys.readouterr()
        assert r is not None and "Pinned to dashboard 'Sales overview' (new dashboard)" in out.out, out.err
        magics.federate("--pin 'Sales overview'",
                        "SELECT c.segment, COUNT(*) AS orders FROM shop_sales.orders o "
                        "JOIN shop_crm.customers c ON o.customer_id = c.id GROUP BY c.segment")
        out = capsys.readouterr()
        assert "Pinned to dashboard 'Sales overview' in workspace 'default'" in out.out, out.err
        api = DashboardsAPI.from_dataask(app)
        me = Principal("tester", superuser=True)
        found = [d for d in api.workspaces.search(me, _search("Sales overview")) if d.name == "Sales overview"]
        assert len(found) == 1  # created once, reused by the second pin
        widgets = api.dashboards.widgets(api.authorize(me, Scope.dashboard, found[0].id, "viewer"))
        assert len(widgets) == 2
        asked, federated = widgets
        assert asked.title == "total revenue by year" and asked.query.sql == r.sql
        assert asked.kind == "line" and asked.spec["data"] == {"name": "result"}
        assert (asked.query.kind == "federated") == r.federated
        assert federated.query.kind == "federated" and "shop_sales.orders" in federated.query.sql
        assert federated.position.y >= asked.position.y + asked.position.h  # placed below
        assert "values" not in json.dumps(asked.spec)
        magics.ask("--no-run --pin X", "total revenue by year")
        assert "--pin needs a result" in capsys.readouterr().err


def _search(name):
    from dataask_jupyter.dashboards.api_models import SearchFilter

    return SearchFilter(q=name)


def test_pin_in_team_mode_refuses_and_writes_nothing(demo_home, capsys, monkeypatch):
    monkeypatch.delenv("DATAASK_API_URL", raising=False)
    app, magics = kernel(demo_home)
    with app:
        before = store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0]
        app.settings = dataclasses.replace(app.settings, mode="team")
        magics.ask("--new --pin 'Team board'", "how many customers per segment")
        err = capsys.readouterr().err
        assert "team mode" in err and "DATAASK_API_URL" in err
        assert store_rows(app, "SELECT COUNT(*) FROM dashboards")[0][0] == before


@pytest.fixture(scope="module")
def fake_llm():
    from tests.test_nl2sql_llm import FakeLLM

    server = FakeLLM()
    yield server
    server.close()


def test_allow_samples_flag_and_trait_and_stored_knowledge_reach_the_prompt(demo_home, fake_llm, capsys):
    from tests.test_nl2sql_llm import MODEL, sql_block

    app, magics = kernel(demo_home)
    with app:
        app.asker("default", model=MODEL).llm_options.update(api_base=fake_llm.api_base, api_key="sk-test",
                                                             num_retries=0)
        magics.dataask('instruct "a key account is a customer in the Enterprise segment"')
        magics.dataask('teach "number of customers in each segment" '
                       'SELECT segment, COUNT(*) AS customers FROM customers GROUP BY segment')
        capsys.readouterr()

        def ask(options: str) -> str:
            fake_llm.requests.clear()
            fake_llm.replies[:] = [sql_block("SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment")]
            r = magics.ask(f"--new --model {MODEL} {options}", "how many customers are there per segment")
            assert r is not None and r.engine == MODEL, capsys.readouterr().err
            return fake_llm.user_text()

        default = ask("")
        assert "table customers" in default and "segment" in default
        assert '"Enterprise"' not in default and '"SMB"' not in default  # no values by default
        assert "a key account is a customer in the Enterprise segment" in default  # stored instruction
        assert "Q: number of customers in each segment" in default  # nearest stored pair
        flagged = ask("--allow-samples")
        assert '"Enterprise"' in flagged and "values (data)" in flagged
        magics.allow_samples = True
        try:
            assert '"Enterprise"' in ask("")
        finally:
            magics.allow_samples = False
        assert '"Enterprise"' not in ask("")
        for e in magics.dataask("knowledge"):
            magics.dataask(f"knowledge remove {e.ref}")
        capsys.readouterr()


def test_restored_turns_give_each_engine_its_follow_up_context():
    from dataask_jupyter.nl2sql import AskResult, Conversation
    from dataask_jupyter.nl2sql.result import Replay

    conv = Conversation("default")
    for q, intent, engine in (("total revenue by year", "data", "offline"), ("only for Europe", "follow_up", "offline"),
                              ("now by month", "follow_up", "offline")):
        conv.restore(AskResult(question=q, sql=f"-- {q}", federated=False, engine=engine, intent=intent))
    replay = conv.context("offline")
    assert isinstance(replay, Replay) and [q for q, _ in replay.questions] == [
        "total revenue by year", "only for Europe", "now by month"]
    assert conv.context("openai/x") is None  # no LLM turn yet
    conv.restore(AskResult(question="top products", sql="SELECT 1", federated=False, engine="openai/x"))
    assert conv.context("openai/y") == {"question": "top products", "sql": "SELECT 1"}
    conv.restore(AskResult(question="key accounts", sql="SELECT 2", federated=False, engine="offline", intent="pair"))
    assert conv.context("offline") is None  # a reused pair has no state to build on
