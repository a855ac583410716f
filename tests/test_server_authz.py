"""The authorization matrix, generated from the route table (SECURITY 21-23).

Every route x method x {anonymous, blocked (refused by jupyter_server's Authorizer),
other user, viewer, editor, admin} gets an exact expected status derived from the
route's ``@endpoint`` declaration and the user's role:

* anonymous and blocked: 403 (``@web.authenticated`` / ``@authorized``),
* a user who cannot see the object: 404 (never 403: no existence leak),
* a member below the declared minimum: 403,
* a permitted user: 200 for reads, 204 for deletes, and 400 for writes (they send a
  body with an unknown field, proving the role check ran *before* validation).

After every refused request the store's content is unchanged. A handler method without
a declaration fails :func:`test_every_route_method_is_declared`.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3

import pytest
from dataask_server.app import ROUTES
from dataask_server.endpoint import endpoints_of, implemented_methods

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.roles import rank
from tests.server_fixtures import (  # noqa: F401  (fixtures)
    build_world,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

USERS = ("anonymous", "blocked", "mallory", "vic", "ed", "alice")
ROLE = {"mallory": None, "vic": Role.viewer, "ed": Role.editor, "alice": Role.admin}
BOGUS = {"__not_a_field__": 1}
CONTENT_TABLES = ("workspaces", "workspace_members", "folders", "dashboards", "dashboard_tags", "dashboard_versions",
                  "dashboard_permissions", "datasets", "connections")
POLICY = {  # the reviewed policy: changing a route's role check must change this table
    "GET /connections": "workspace_name:viewer",
    "POST /connections": "workspace_name:admin",
    "GET /connections/{name}": "workspace_name:viewer",
    "DELETE /connections/{name}": "workspace_name:admin",
    "POST /connections/{name}/test": "workspace_name:editor",
    "POST /connections/{name}/query": "workspace_name:viewer",
    "GET /connections/{name}/tables": "workspace_name:viewer",
    "GET /connections/{name}/tables/{table}": "workspace_name:viewer",
    "GET /workspaces": "user:viewer",
    "POST /workspaces": "user:viewer",
    "GET /workspaces/{ws}": "workspace:viewer",
    "PATCH /workspaces/{ws}": "workspace:admin",
    "DELETE /workspaces/{ws}": "workspace:admin",
    "GET /workspaces/{ws}/members": "workspace:viewer",
    "POST /workspaces/{ws}/members": "workspace:admin",
    "PUT /workspaces/{ws}/members/{kind}/{member}": "workspace:admin",
    "DELETE /workspaces/{ws}/members/{kind}/{member}": "workspace:admin",
    "GET /workspaces/{ws}/folders": "workspace:viewer",
    "POST /workspaces/{ws}/folders": "workspace:editor",
    "PATCH /workspaces/{ws}/folders/{folder}": "workspace:editor",
    "DELETE /workspaces/{ws}/folders/{folder}": "workspace:editor",
    "GET /workspaces/{ws}/dashboards": "workspace:viewer",
    "POST /workspaces/{ws}/dashboards": "workspace:editor",
    "GET /workspaces/{ws}/datasets": "workspace:viewer",
    "POST /workspaces/{ws}/datasets": "workspace:editor",
    "GET /workspaces/{ws}/audit": "workspace:admin",
    "GET /workspaces/{ws}/conversations": "workspace:viewer",
    "POST /workspaces/{ws}/conversations": "workspace:viewer",
    "GET /workspaces/{ws}/conversations/{conversation}/turns": "workspace:viewer",
    "POST /workspaces/{ws}/conversations/{conversation}/turns": "workspace:viewer",
    "GET /workspaces/{ws}/history": "workspace:viewer",
    "GET /workspaces/{ws}/knowledge": "workspace:viewer",
    "POST /workspaces/{ws}/knowledge/instructions": "workspace:editor",
    "POST /workspaces/{ws}/knowledge/sql_pairs": "workspace:editor",
    "DELETE /workspaces/{ws}/knowledge/{ref}": "workspace:editor",
    "GET /dashboards/{dashboard}": "dashboard:viewer",
    "PUT /dashboards/{dashboard}": "dashboard:editor",
    "PATCH /dashboards/{dashboard}": "dashboard:editor",
    "DELETE /dashboards/{dashboard}": "dashboard:admin",
    "POST /dashboards/{dashboard}/clone": "dashboard:viewer",
    "GET /dashboards/{dashboard}/versions": "dashboard:viewer",
    "GET /dashboards/{dashboard}/versions/{number}": "dashboard:viewer",
    "POST /dashboards/{dashboard}/versions/{number}/restore": "dashboard:editor",
    "GET /dashboards/{dashboard}/diff": "dashboard:viewer",
    "GET /dashboards/{dashboard}/permissions": "dashboard:editor",
    "POST /dashboards/{dashboard}/permissions": "dashboard:editor",
    "DELETE /dashboards/{dashboard}/permissions/{kind}/{member}": "dashboard:editor",
    "GET /dashboards/{dashboard}/widgets": "dashboard:viewer",
    "POST /dashboards/{dashboard}/widgets": "dashboard:editor",
    "GET /dashboards/{dashboard}/widgets/{widget}": "dashboard:viewer",
    "PUT /dashboards/{dashboard}/widgets/{widget}": "dashboard:editor",
    "DELETE /dashboards/{dashboard}/widgets/{widget}": "dashboard:editor",
    "POST /dashboards/{dashboard}/widgets/{widget}/run": "dashboard:viewer",
    "GET /datasets/{dataset}": "dataset:viewer",
    "PUT /datasets/{dataset}": "dataset:editor",
    "DELETE /datasets/{dataset}": "dataset:editor",
    "GET /recents": "user:viewer",
    "GET /search": "user:viewer",
    "GET /templates": "user:viewer",
    "POST /ask": "workspace_name:viewer",
    "GET /openapi.json": "user:viewer",
}
CASES = [pytest.param(pattern, method, id=f"{method} {pattern.removeprefix('/dataask/api')}")
         for pattern, handler in ROUTES for method in implemented_methods(handler)]


def test_every_route_method_is_declared():
    for pattern, handler in ROUTES:
        methods = implemented_methods(handler)
        assert methods, pattern
        declared = endpoints_of(handler)
        assert set(declared) == set(methods), f"{pattern}: methods without @endpoint: {set(methods) - set(declared)}"
        for method, spec in declared.items():
            if method in ("POST", "PUT", "PATCH"):
                assert spec.body is not None, f"{method} {pattern} must declare its body model"
            if spec.scope in (Scope.workspace, Scope.dashboard, Scope.dataset):
                assert spec.key and f"(?P<{spec.key}>" in pattern, f"{method} {pattern}: role check key missing"


def test_policy_is_the_reviewed_one():
    from dataask_server.openapi import template_path

    actual = {f"{m} {template_path(p)[0].removeprefix('/dataask/api')}": f"{s.scope.value}:{s.minimum.value}"
              for p, h in ROUTES for m, s in endpoints_of(h).items()}
    assert actual == POLICY


def expected(spec, method: str, user: str) -> int:
    if user in ("anonymous", "blocked"):
        return 403
    if spec.scope is not Scope.user:
        role = ROLE[user]
        if role is None:
            return 404
        if rank(role) < rank(spec.minimum):
            return 403
    return {"GET": 200, "DELETE": 204}.get(method, 400)


def fingerprint(home) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(home / "dataask.db") as con:
        for table in CONTENT_TABLES:
            for row in con.execute(f"SELECT * FROM {table} ORDER BY 1"):  # noqa: S608 (fixed names)
                digest.update(repr(row).encode())
    return digest.hexdigest()


def fill(pattern: str, world: dict) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(world[m.group(1)]), pattern).removeprefix("/dataask/api/")


def request_for(spec, method: str, world: dict) -> dict:
    params = {}
    if spec.scope is Scope.workspace_name:
        params["workspace"] = world["ws_name"]
    if spec.query is not None:
        schema = spec.query.model_json_schema(by_alias=True)
        params.update({name: str(world["version"]) for name in schema.get("required", [])})
    kwargs = {"params": params} if params else {}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["body"] = BOGUS
    return kwargs


async def _world(as_user, tmp_path):
    import sqlite3 as sq

    path = tmp_path / "data.sqlite"
    if not path.exists():
        with sq.connect(path) as con:
            con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    world = await build_world(as_user, with_connection=True, sqlite_path=path)
    await as_user("alice").ok("POST", f"dashboards/{world['dashboard']}/permissions",
                              {"name": "vic", "level": "view"}, expect=201)
    return world


@pytest.mark.parametrize("pattern, method", CASES)
async def test_authorization_matrix(pattern, method, as_user, dataask_home, sqlite_only, tmp_path):
    handler = dict(ROUTES)[pattern]
    spec = endpoints_of(handler)[method]
    world, used = await _world(as_user, tmp_path), False
    for user in USERS:
        want = expected(spec, method, user)
        if used:  # the previous user deleted the target: a fresh one for the next
            world, used = await _world(as_user, tmp_path), False
        before = fingerprint(dataask_home)
        code, body = await as_user(None if user == "anonymous" else user).call(
            method, fill(pattern, world), **request_for(spec, method, world))
        assert code == want, f"{method} {pattern} as {user}: got {code}, expected {want}: {body}"
        if code >= 400:
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
            assert fingerprint(dataask_home) == before, f"{method} {pattern} as {user} changed the store"
        used = code == 204
