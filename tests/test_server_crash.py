"""SECURITY 31: ``SIGKILL`` during dashboard saves leaves the last committed state.

A subprocess saves a dashboard in a loop (each save: the document, a version row, tags
and an audit row in one transaction) and prints each committed version; we ``kill -9``
it at varying moments, then check the store: the dashboard is at a committed version
(the last printed one, or the one whose commit raced the kill), versions are contiguous,
the document equals its version's snapshot, and the store still takes saves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataask_jupyter.store import SQLWorkspaceRepository, open_store
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    fixture_dataask_home,
    fixture_store_backend,
)

REPO = Path(__file__).resolve().parents[1]
SAVER = r"""
import sys
from dataask_jupyter.store import SQLWorkspaceRepository, open_store
repo = SQLWorkspaceRepository.from_store(open_store(sys.argv[1]))
dash_id = int(sys.argv[2])
version = repo.dashboard(dash_id).version
blob = "x" * 200_000
while True:
    doc = {"name": f"v{version + 1}", "description": blob, "tags": [f"t{version % 7}"], "folder_id": None,
           "private": False, "layout": {"columns": 12, "row_height": 80},
           "widgets": [{"id": f"w{i}", "kind": "text", "title": f"{version}", "query": None, "spec": None,
                        "options": {"text": blob[:5000]}, "position": {"x": 0, "y": i, "w": 4, "h": 1}}
                       for i in range(12)]}
    version = repo.save_dashboard(dash_id, version, doc, "saver", f"save {version + 1}").version
    print(version, flush=True)
"""


def _store_url(dataask_home) -> str:
    return os.environ.get("DATAASK_STORE_URL") or f"sqlite:///{dataask_home / 'dataask.db'}"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037])
def test_sec_31_sigkill_during_saves_keeps_last_commit(store_backend, dataask_home, delay):
    url = _store_url(dataask_home)
    base = open_store(url)
    repo = SQLWorkspaceRepository.from_store(base)
    ws = repo.create_workspace("Crash", {}, "alice")
    doc = {"name": "v1", "description": "", "tags": [], "folder_id": None, "private": False,
           "layout": {"columns": 12, "row_height": 80}, "widgets": []}
    dash = repo.create_dashboard(ws.id, doc, "alice", "blank", "alice")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SAVER, url, str(dash.id)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    printed = 0
    try:
        deadline = time.monotonic() + 60
        while printed < 8 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            printed = int(line)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for line in proc.stdout.read().split():
            printed = int(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    base.engine.dispose()

    after = SQLWorkspaceRepository.from_store(open_store(url))
    try:
        final = after.dashboard(dash.id)
        assert final.version in (printed, printed + 1), (final.version, printed)
        numbers = [v.version for v in after.versions(dash.id, limit=1000)]
        assert numbers == list(range(final.version, 0, -1))
        snapshot = after.version(dash.id, final.version).document
        assert final.document == snapshot and final.name == f"v{final.version}"
        assert len(final.document["widgets"]) == (12 if final.version > 1 else 0)
        if url.startswith("sqlite"):
            with after.engine.connect() as conn:
                from sqlalchemy import text

                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        again = after.save_dashboard(dash.id, final.version, doc, "alice", "after the crash")
        assert again.version == final.version + 1
    finally:
        after.engine.dispose()
