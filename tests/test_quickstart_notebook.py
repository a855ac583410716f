"""README command 1 end to end: `dataask demo --no-lab`, then the quickstart notebook runs clean."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
def test_demo_then_quickstart_runs(tmp_path, monkeypatch):
    home = tmp_path / "home"
    env = {**os.environ, "DATAASK_HOME": str(home)}
    env.pop("DATAASK_SECRET_KEY", None)
    done = subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", "demo", "--no-lab"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "shop_sales" in done.stdout and "quickstart.ipynb" in done.stdout

    monkeypatch.setenv("DATAASK_HOME", str(home))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    errors = [o for outs in outputs.values() for o in outs if o.get("output_type") == "error"]
    assert not errors, errors
    text = html.unescape("\n".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("text", ""))
        for outs in outputs.values() for o in outs
    ))
    assert "dataask-badge" in text  # the connections table with status badges
    assert "North America" in text  # the federated revenue by region
    assert "DELETE is not allowed" in text  # the guard refused the write, without a traceback
    assert "-- DuckDB" in text  # the --explain plan
    assert "revenue_change_pct" in text  # %%ask answered the comparison question
    assert "WHERE c.region = 'Europe'" in text  # the follow-up kept the context
