"""Fixtures and helpers for the server extension's workspace/dashboard API tests.

Users are simulated with a jupyter_server ``IdentityProvider`` that maps tokens to user
names (``Authorization: token tok-<name>``), plus a plain cookie login
(``dataask-test-user=<name>``) that is *not* token-authenticated, so jupyter_server's
XSRF check applies to it. ``blocked`` is authenticated but refused by the jupyter_server
``Authorizer`` (proves every route has ``@authorized``). The default jp_fetch token is
``alice``'s.

Import the fixtures a test module needs under their ``fixture_`` names
(``from tests.server_fixtures import fixture_as_user``); pytest knows them by the plain name.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from types import MappingProxyType

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

USERS = MappingProxyType({f"tok-{n}": n for n in ("alice", "ed", "vic", "mallory", "blocked", "gina")})
GROUPS = MappingProxyType({"gina": ("analysts",)})
COOKIE = "dataask-test-user"


@dataclass
class GroupUser(User):
    groups: tuple = field(default_factory=tuple)


def _user(name: str) -> GroupUser:
    return GroupUser(username=name, name=name, display_name=name, groups=GROUPS.get(name, ()))


class TokenUsers(IdentityProvider):
    """Test identity provider: one token per user name."""

    def get_user(self, handler):
        auth = handler.request.headers.get("Authorization", "")
        if auth.startswith("token "):
            name = USERS.get(auth[len("token "):].strip())
            if name is None:
                return None
            handler._token_authenticated = True
            return _user(name)
        cookie = handler.get_cookie(COOKIE)
        return _user(cookie) if cookie in USERS.values() else None


class BlockingAuthorizer(Authorizer):
    """jupyter_server authorizer that refuses user ``blocked`` everything."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return getattr(user, "username", None) != "blocked"


def auth(name: str | None) -> dict:
    """Headers authenticating as ``name`` (``None``: anonymous)."""
    return {"Authorization": f"token tok-{name}"} if name else {"Authorization": ""}


@pytest.fixture(name="dataask_home")
def fixture_dataask_home(tmp_path, monkeypatch):
    home = tmp_path / "dataask-home"
    monkeypatch.setenv("DATAASK_HOME", str(home))
    for var in ("DATAASK_SECRET_KEY", "DATAASK_STORE_URL", "DATAASK_OWNER", "JUPYTERHUB_USER", "DATAASK_ADMINS",
                "DATAASK_MODE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)], name="store_backend")
def fixture_store_backend(request, monkeypatch, dataask_home):
    """Runs a test on the SQLite store and on a fresh real PostgreSQL database."""
    if request.param == "postgresql":
        monkeypatch.setenv("DATAASK_STORE_URL", request.getfixturevalue("fresh_pg_db"))
    return request.param


@pytest.fixture(name="sqlite_only")
def fixture_sqlite_only(dataask_home):
    return "sqlite"


@pytest.fixture(name="jp_server_config")
def fixture_jp_server_config(dataask_home):
    return {
        "ServerApp": {
            "jpserver_extensions": {"dataask_server": True},
            "identity_provider_class": TokenUsers,
            "authorizer_class": BlockingAuthorizer,
        },
        "IdentityProvider": {"token": "tok-alice"},
    }


class Client:
    """JSON calls through ``jp_fetch`` as one user; returns ``(status, body)``, never raises."""

    def __init__(self, jp_fetch, name: str | None) -> None:
        self.jp_fetch, self.name = jp_fetch, name

    async def call(self, method: str, path: str, body=None, *, raw: bytes | None = None, params=None,
                   headers=None):
        parts = [p for p in path.strip("/").split("/") if p]
        kwargs = {"method": method, "headers": {**auth(self.name), **(headers or {})}}
        if params:
            kwargs["params"] = params
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = raw if raw is not None else json.dumps(body if body is not None else {})
        elif body is not None:
            kwargs["allow_nonstandard_methods"] = True
            kwargs["body"] = json.dumps(body)
        try:
            r = await self.jp_fetch("dataask", "api", *parts, **kwargs)
        except HTTPClientError as exc:
            if exc.response is None:
                raise
            r = exc.response
        data = json.loads(r.body) if r.body else None
        return r.code, data

    async def get(self, path, **kw):
        return await self.call("GET", path, **kw)

    async def post(self, path, body=None, **kw):
        return await self.call("POST", path, body, **kw)

    async def put(self, path, body=None, **kw):
        return await self.call("PUT", path, body, **kw)

    async def patch(self, path, body=None, **kw):
        return await self.call("PATCH", path, body, **kw)

    async def delete(self, path, **kw):
        return await self.call("DELETE", path, **kw)

    async def ok(self, method: str, path: str, body=None, expect: int | None = None, **kw):
        """Call and assert a 2xx (or ``expect``); returns the body."""
        code, data = await self.call(method, path, body, **kw)
        assert (code == expect) if expect else (200 <= code < 300), (method, path, code, data)
        return data


@pytest.fixture(name="as_user")
def fixture_as_user(jp_fetch):
    """``as_user("vic")`` -> a :class:`Client` for that user (``None``: anonymous)."""
    return lambda name: Client(jp_fetch, name)


SQL_WIDGET = {"kind": "table", "title": "Items", "position": {"x": 0, "y": 0, "w": 6, "h": 3},
              "query": {"kind": "sql", "connection": "local", "sql": "SELECT id, name FROM t ORDER BY id"}}


async def build_world(as_user, *, with_connection: bool = False, sqlite_path=None) -> dict:
    """A workspace owned by alice with ed (editor), vic (viewer) and group analysts (viewer);
    one folder, one dashboard with a text widget, one dataset. mallory is no member."""
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": f"W-{uuid.uuid4().hex[:10]}"}, expect=201)
    base = f"workspaces/{ws['id']}"
    for name, role in (("ed", "editor"), ("vic", "viewer")):
        await alice.ok("POST", f"{base}/members", {"name": name, "role": role}, expect=201)
    await alice.ok("POST", f"{base}/members", {"kind": "group", "name": "analysts", "role": "viewer"}, expect=201)
    folder = await alice.ok("POST", f"{base}/folders", {"name": "Team"}, expect=201)
    widgets = [{"kind": "text", "title": "Note", "options": {"text": "hello"}}]
    if with_connection:
        await alice.ok("POST", "connections", {"name": "local", "url": f"sqlite:///{sqlite_path}",
                                               "workspace": ws["name"]}, expect=201)
        widgets.append(SQL_WIDGET)
    dash = await alice.ok("POST", f"{base}/dashboards",
                          {"name": "Revenue", "tags": ["sales"], "folder_id": folder["id"], "widgets": widgets},
                          expect=201)
    dataset = await alice.ok("POST", f"{base}/datasets", {
        "name": "items", "query": {"kind": "federated", "sql": "SELECT 1 AS x"}}, expect=201)
    conversation = await alice.ok("POST", f"{base}/conversations", {"title": "first"}, expect=201)
    instruction = await alice.ok("POST", f"{base}/knowledge/instructions", {"text": "revenue means sum(x)"},
                                 expect=201)
    return {"ws": ws["id"], "ws_name": ws["name"], "folder": folder["id"], "dashboard": dash["id"],
            "widget": dash["widgets"][0]["id"], "dataset": dataset["id"], "version": dash["version"],
            "number": 1, "kind": "user", "member": "vic", "name": "local", "table": "t",
            "conversation": conversation["id"], "ref": f"i{instruction['id']}"}
