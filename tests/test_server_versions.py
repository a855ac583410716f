"""Dashboard versions: every save is a version; list, diff, restore; optimistic
concurrency (stale saves get 409 and change nothing; 50 parallel stale saves: one wins),
through the server and, with real threads, against the store itself. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select

from dataask_jupyter.errors import Conflict
from dataask_jupyter.store import SQLWorkspaceRepository, open_store
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_store_backend,
)

pytestmark = pytest.mark.usefixtures("store_backend")
DOC_KEYS = ("name", "description", "tags", "folder_id", "private", "layout", "widgets")


def _doc(dash: dict, **changes) -> dict:
    return {**{k: dash[k] for k in DOC_KEYS}, **changes}


async def test_versions_list_diff_restore(as_user):
    alice, ed = as_user("alice"), as_user("ed")
    world = await build_world(as_user)
    d = f"dashboards/{world['dashboard']}"
    v1 = await alice.ok("GET", d)
    v2 = await ed.ok("PUT", d, {**_doc(v1, name="Revenue 2025", tags=["sales", "2025"]), "version": 1,
                                "message": "rename"})
    moved = [{**v2["widgets"][0], "position": {"x": 2, "y": 1, "w": 4, "h": 2}}]
    v3 = await alice.ok("PUT", d, {**_doc(v2, widgets=moved), "version": 2, "message": "move note"})
    assert v3["version"] == 3
    history = (await ed.ok("GET", f"{d}/versions"))["items"]
    assert [(h["version"], h["author"], h["message"]) for h in history] == [
        (3, "alice", "move note"), (2, "ed", "rename"), (1, "alice", "Created from the blank template")]
    assert all(h["created_at"] for h in history)
    one = await ed.ok("GET", f"{d}/versions/1")
    assert one["document"]["name"] == "Revenue" and one["version"] == 1
    diff = await ed.ok("GET", f"{d}/diff", params={"from": "1", "to": "3"})
    paths = {c["path"]: c for c in diff["changes"]}
    assert paths["/name"]["before"] == "Revenue" and paths["/name"]["after"] == "Revenue 2025"
    assert any(p.startswith("/tags") for p in paths)
    wid = v1["widgets"][0]["id"]
    assert paths[f"/widgets/{wid}/position/x"]["after"] == 2
    assert (await ed.get(f"{d}/diff", params={"from": "1", "to": "99"}))[0] == 404
    restored = await ed.ok("POST", f"{d}/versions/1/restore", {"version": 3})
    assert restored["version"] == 4 and restored["name"] == "Revenue" and restored["widgets"] == v1["widgets"]
    latest = (await ed.ok("GET", f"{d}/versions", params={"limit": "1"}))["items"][0]
    assert latest["restored_from"] == 1 and latest["message"] == "Restored version 1"
    assert (await ed.ok("GET", f"{d}/diff", params={"from": "1", "to": "4"}))["changes"] == []
    code, err = await ed.post(f"{d}/versions/2/restore", {"version": 3})  # stale restore
    assert code == 409 and err["error"]["code"] == "conflict"


async def test_stale_update_is_409_and_changes_nothing(as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    d = f"dashboards/{world['dashboard']}"
    v1 = await alice.ok("GET", d)
    await alice.ok("PATCH", d, {"version": 1, "description": "first"})
    code, err = await alice.put(d, {**_doc(v1, name="Lost edit"), "version": 1})
    assert code == 409 and set(err) == {"error"} and "version 2" in err["error"]["message"]
    code, _ = await alice.patch(d, {"version": 1, "name": "Lost too"})
    assert code == 409
    now = await alice.ok("GET", d)
    assert now["version"] == 2 and now["name"] == "Revenue" and now["description"] == "first"
    assert len((await alice.ok("GET", f"{d}/versions"))["items"]) == 2


async def test_50_parallel_stale_puts_one_wins(as_user):
    alice = as_user("alice")
    world = await build_world(as_user)
    d = f"dashboards/{world['dashboard']}"
    v1 = await alice.ok("GET", d)
    results = await asyncio.gather(*(
        alice.put(d, {**_doc(v1, name=f"Edit {i}"), "version": 1}) for i in range(50)))
    codes = sorted(code for code, _ in results)
    assert codes.count(200) == 1 and codes.count(409) == 49, codes
    winner = next(body for code, body in results if code == 200)
    now = await alice.ok("GET", d)
    assert now["version"] == 2 and now["name"] == winner["name"]
    assert len((await alice.ok("GET", f"{d}/versions"))["items"]) == 2


def test_store_cas_with_50_threads(store_backend, dataask_home):
    """Real concurrency on the store: 50 threads save on the same base version."""
    import os

    url = os.environ.get("DATAASK_STORE_URL") or f"sqlite:///{dataask_home / 'cas.db'}"
    base = open_store(url)
    repo = SQLWorkspaceRepository.from_store(base)
    try:
        ws = repo.create_workspace("CAS", {}, "alice")
        doc = {"name": "D", "description": "", "tags": [], "folder_id": None, "private": False,
               "layout": {"columns": 12, "row_height": 80}, "widgets": []}
        dash = repo.create_dashboard(ws.id, doc, "alice", "blank", "alice")
        barrier, outcomes = threading.Barrier(50), []

        def save(i: int) -> None:
            barrier.wait()
            try:
                repo.save_dashboard(dash.id, 1, {**doc, "name": f"T{i}"}, f"user{i}")
                outcomes.append("won")
            except Conflict:
                outcomes.append("conflict")
            except Exception as exc:  # pragma: no cover - shows up in the assertion
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=save, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(set(outcomes)) == ["conflict", "won"] and outcomes.count("won") == 1, outcomes
        final = repo.dashboard(dash.id)
        assert final.version == 2
        versions = repo.versions(dash.id)
        assert [v.version for v in versions] == [2, 1]
        assert repo.version(dash.id, 2).document["name"] == final.name
        from dataask_jupyter.store import workspace_models as wm

        with repo.engine.connect() as conn:
            audits = conn.execute(select(func.count()).select_from(wm.Base.metadata.tables["audit_log"]).where(
                wm.Base.metadata.tables["audit_log"].c.action == "dashboard.save")).scalar()
        assert audits == 1  # losers wrote nothing, not even an audit row of a save
    finally:
        base.engine.dispose()
