"""The DataAsk Hub service's REST API as a team-mode kernel sees it.

In team mode a kernel never writes the shared store; pins, conversation exports and saved
prep flows go through the Hub service (``DATAASK_API_URL``, ending in ``/dataask/api``)
with the user's token, so the service checks the user's role. Errors come back as the
same exception tree as local calls.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from .errors import (
    ConfigError,
    Conflict,
    DataAskError,
    Forbidden,
    NotFound,
    StoreUnavailable,
    UsageError,
)

__all__ = ["REMOTE_ENV", "REMOTE_TIMEOUT", "TOKEN_ENVS", "HubClient", "hub_client"]

REMOTE_ENV = "DATAASK_API_URL"
TOKEN_ENVS = ("DATAASK_API_TOKEN", "JUPYTERHUB_API_TOKEN")
REMOTE_TIMEOUT = 30.0


class HubClient:
    """JSON calls to the Hub service; ``action`` ("pin", ...) names what failed in messages."""

    def __init__(self, base: str, token: str, *, action: str = "request") -> None:
        self.base, self.token, self.action = base.rstrip("/"), token, action

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None):
        url = f"{self.base}/{path.lstrip('/')}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=REMOTE_TIMEOUT) as resp:  # noqa: S310 (configured URL)
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except (urllib.error.URLError, OSError):
            raise StoreUnavailable(f"The DataAsk Hub service ({REMOTE_ENV}) is unreachable; the {self.action} "
                                   "did not happen.", hint="Check the URL, or try again shortly.") from None
        return json.loads(raw) if raw else None

    def _error(self, exc: urllib.error.HTTPError) -> DataAskError:
        try:
            message = json.loads(exc.read() or b"{}").get("error", {}).get("message") or ""
        except (ValueError, AttributeError):
            message = ""
        message = f"The DataAsk Hub service refused the {self.action} ({exc.code}): {message or exc.reason}"
        if exc.code == 401:
            return ConfigError(message, hint=f"Set {TOKEN_ENVS[0]} (or {TOKEN_ENVS[1]}) to a valid token.")
        cls = {403: Forbidden, 404: NotFound, 409: Conflict}.get(exc.code)
        if cls is not None:
            return cls(message)
        return UsageError(message) if 400 <= exc.code < 500 else StoreUnavailable(message)


def hub_client(why: str, *, action: str) -> HubClient:
    """A client from ``DATAASK_API_URL`` and the user's token, or a :class:`ConfigError` saying what to set.

    ``why`` completes the refusal: "<why>; set ..." (e.g. "--pin in team mode goes through ...").
    """
    url = os.environ.get(REMOTE_ENV, "").strip()
    token = next((os.environ[k].strip() for k in TOKEN_ENVS if os.environ.get(k, "").strip()), "")
    if not url or not token:
        missing = REMOTE_ENV if not url else f"{TOKEN_ENVS[0]} (or {TOKEN_ENVS[1]})"
        raise ConfigError(why, hint=f"Set {missing}: {REMOTE_ENV} is the service's API URL ending in /dataask/api.")
    if urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise ConfigError(f"{REMOTE_ENV} must be an http(s) URL.")
    return HubClient(url, token, action=action)
