"""`%%ask`, `%ask` and `dataask ask` over the demo data (offline engine, no API key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dataask_jupyter.demo_setup import prepare_demo
from tests.foundation_fixtures import make_app


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ask") / "home"
    with make_app(home) as app:
        prepare_demo(app)
    return home


def test_cli_ask_json_shape(demo_home):
    env = {**os.environ, "DATAASK_HOME": str(demo_home)}
    env.pop("DATAASK_LLM_MODEL", None)
    out = subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", "ask", "how many customers per segment",
                          "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {"question", "sql", "federated", "engine", "columns", "rows", "row_count", "chart", "insights",
            "timings", "attempts"} <= set(doc)
    assert doc["engine"] == "offline" and doc["federated"] is False
    assert sum(r[1] for r in doc["rows"]) == 800
    bad = subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", "ask", "flurb the wibble"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "wibble" in bad.stderr and "Traceback" not in bad.stderr


def test_ask_magics_follow_up(demo_home, monkeypatch, capsys):
    from dataask_magics import DataAskMagics
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    with make_app(demo_home) as app:
        magics = DataAskMagics(shell=shell, app=app)
        first = magics.ask("-o answer", "total revenue by year")
        assert shell.user_ns["answer"] is first and first.row_count >= 4
        follow = magics.ask_line("only for Europe")
        assert follow.federated and "Europe" in follow.sql
        europe = dict((r[0], r[1]) for r in follow.rows)
        everyone = dict((r[0], r[1]) for r in first.rows)
        assert all(europe[y] < everyone[y] for y in europe)
        bundle = follow._repr_mimebundle_()
        assert "application/vnd.vegalite.v5+json" in bundle and "<details" in bundle["text/html"]
        assert magics.ask("--new", "  ") is None
        assert "Ask a question" in capsys.readouterr().err
