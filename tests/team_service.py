"""A DataAsk Hub service for team-mode kernel tests, and the kernel's side of it.

:func:`hub_service` starts a real ``jupyter lab`` (the server extension's code, as the Hub
runs it) with the e2e tests' launcher (``lab_env`` / ``running_lab``), in team mode, on its
own SQLite store and key, with the demo shop (SQLite + DuckDB) connected in workspace
``Team`` (alice admin, ed editor, vic viewer; mallory is no member). Users are the server
tests' token users (``Authorization: token tok-<name>``, :class:`HubUsers`).

:func:`team_kernel_env` makes the test process look like a team-mode kernel: no store URL,
no key, its own ``DATAASK_HOME``, and ``DATAASK_API_URL`` + a token.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_server.auth.identity import IdentityProvider

from dataask_jupyter.demo import build_demo
from tests.foundation_fixtures import new_key
from tests.server_fixtures import TokenUsers

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = "Team"
MEMBERS = {"ed": "editor", "vic": "viewer"}


class HubUsers(TokenUsers):
    """``tok-<name>`` users, and the server's own token (the launcher's readiness probe)."""

    def get_user(self, handler):
        return super().get_user(handler) or IdentityProvider.get_user(self, handler)


@dataclass
class HubService:
    """A running Hub service: where it is, what it holds, and a JSON client per user."""

    base: str
    home: Path
    key: str
    data_dir: Path
    urls: dict[str, str]
    ws_id: int = 0
    pid: int = 0  # the service's process
    bodies: list[bytes] = field(default_factory=list)  # every answer the tests' own calls got

    @property
    def api(self) -> str:
        return f"{self.base}/dataask/api"

    @property
    def store_path(self) -> Path:
        return self.home / "dataask.db"

    def call(self, user: str, method: str, path: str, body: dict | None = None, params: dict | None = None):
        """``(status, JSON or raw bytes)`` as ``user``; never raises on an HTTP error."""
        from urllib.parse import urlencode

        url = f"{self.api}/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"token tok-{user}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 (127.0.0.1 only)
                status, raw, kind = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, raw, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        self.bodies.append(raw)
        return status, (json.loads(raw) if raw and "json" in kind else raw)

    def ok(self, user: str, method: str, path: str, body: dict | None = None, params: dict | None = None,
           expect: int | None = None):
        status, out = self.call(user, method, path, body, params)
        assert (status == expect) if expect else 200 <= status < 300, (method, path, status, out)
        return out


def _service_env(tmp: Path, key: str, data_dir: Path) -> dict[str, str]:
    from tests.test_labextension_e2e import lab_env

    env = lab_env(tmp)
    env.update(DATAASK_MODE="team", DATAASK_SECRET_KEY=key, DATAASK_ALLOWED_HOSTS=f"{data_dir},127.0.0.1",
               DATAASK_QUERY_TIMEOUT="20",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    config = Path(env["JUPYTER_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"identity_provider_class": "tests.team_service.HubUsers"}}))
    return env


@contextlib.contextmanager
def hub_service(tmp: Path):
    """Start the Hub service in ``tmp``, seed workspace ``Team`` with the demo shop, stop it afterwards."""
    from tests.test_labextension_e2e import running_lab

    key, data_dir = new_key(), tmp / "data"
    urls = build_demo(data_dir, include_vega=False)
    env = _service_env(tmp, key, data_dir)
    with running_lab(tmp, env) as lab:
        svc = HubService(base=lab["base"], home=Path(env["DATAASK_HOME"]), key=key, data_dir=data_dir, urls=urls,
                         pid=lab["pid"])
        svc.ws_id = svc.ok("alice", "POST", "workspaces", {"name": WORKSPACE}, expect=201)["id"]
        for name, role in MEMBERS.items():
            svc.ok("alice", "POST", f"workspaces/{svc.ws_id}/members", {"name": name, "role": role}, expect=201)
        for name, url in urls.items():
            svc.ok("alice", "POST", "connections", {"name": name, "url": url, "workspace": WORKSPACE}, expect=201)
        yield svc


def team_kernel_env(monkeypatch, svc: HubService, user: str, home: Path) -> None:
    """The test process as user ``user``'s team-mode kernel: nothing but the API URL and a token."""
    for var in list(os.environ):
        if var.startswith(("DATAASK_", "JUPYTERHUB_")) and not var.startswith("DATAASK_TEST_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("DATAASK_MODE", "team")
    monkeypatch.setenv("DATAASK_HOME", str(home))
    monkeypatch.setenv("DATAASK_API_URL", svc.api)
    monkeypatch.setenv("DATAASK_API_TOKEN", f"tok-{user}")


class ResponseLog:
    """Every body the kernel's Hub client received (answers and errors), for canary checks."""

    def __init__(self, monkeypatch) -> None:
        import io

        from dataask_jupyter import hub_client

        self.bodies: list[bytes] = []
        real = urllib.request.urlopen

        def urlopen(req, *args, **kwargs):
            try:
                with real(req, *args, **kwargs) as resp:
                    raw = resp.read()
                    headers, status = resp.headers, resp.status
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                self.bodies.append(raw)
                raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.headers, io.BytesIO(raw)) from None
            self.bodies.append(raw)
            return _Answer(raw, headers, status)

        monkeypatch.setattr(hub_client.urllib.request, "urlopen", urlopen)

    def containing(self, needle: str) -> list[bytes]:
        return [b for b in self.bodies if needle.encode() in b]


class _Answer:
    def __init__(self, raw: bytes, headers, status: int) -> None:
        self._raw, self.headers, self.status = raw, headers, status

    def read(self) -> bytes:
        return self._raw

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None
