"""The DataAsk Hub service's REST API as a team-mode kernel sees it.

In team mode a kernel never opens the shared store or the key: pins, conversation exports,
saved prep flows, conversations, knowledge and queries go through the Hub service
(``DATAASK_API_URL``, ending in ``/dataask/api``) with the user's token, so the service
checks the user's role. Errors come back as the same exception tree as local calls.
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
    ConnectionNotFound,
    CredentialError,
    DataAskError,
    Forbidden,
    NotFound,
    PolicyViolation,
    QueryTimeout,
    SourceError,
    StoreUnavailable,
    TableNotFound,
    TooLarge,
    UnsafeSQL,
    UsageError,
    WorkspaceNotFound,
)

__all__ = ["REMOTE_ENV", "REMOTE_TIMEOUT", "TOKEN_ENVS", "HubClient", "hub_client", "team_client"]

REMOTE_ENV = "DATAASK_API_URL"
TOKEN_ENVS = ("DATAASK_API_TOKEN", "JUPYTERHUB_API_TOKEN")
REMOTE_TIMEOUT = 30.0
#: domain errors the service reports by ``code`` that come back as the same class (message as sent)
_BY_CODE = {cls.code: cls for cls in (UnsafeSQL, SourceError, QueryTimeout, ConnectionNotFound, WorkspaceNotFound,
                                      TableNotFound, TooLarge, CredentialError, PolicyViolation)}


class HubClient:
    """JSON calls to the Hub service; ``action`` ("pin", ...) names what failed in messages."""

    def __init__(self, base: str, token: str, *, action: str = "request") -> None:
        self.base, self.token, self.action = base.rstrip("/"), token, action

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None):
        """One JSON request; the decoded JSON answer (``None`` for 204)."""
        raw, _ = self.request(method, path, body, params)
        return json.loads(raw) if raw else None

    def request(self, method: str, path: str, body: dict | None = None, params: dict | None = None, *,
                accept: str = "application/json", timeout: float | None = None):
        """One request with a JSON body; ``(raw answer bytes, response headers)``.

        Parameters
        ----------
        accept
            The media type asked for (``application/vnd.apache.arrow.stream`` for query results).
        timeout
            Seconds to wait for the answer (default ``REMOTE_TIMEOUT``); past it, :class:`QueryTimeout`.
        """
        url = f"{self.base}/{path.lstrip('/')}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        wait = timeout or REMOTE_TIMEOUT
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json", "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=wait) as resp:  # noqa: S310 (configured URL)
                return resp.read(), resp.headers
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except TimeoutError:
            raise QueryTimeout(f"The DataAsk Hub service did not answer the {self.action} within {wait:.0f} s.",
                               hint="The service stops the statement at its own time limit.") from None
        except (urllib.error.URLError, OSError):
            raise StoreUnavailable(f"The DataAsk Hub service ({REMOTE_ENV}) is unreachable; the {self.action} "
                                   "did not happen.", hint="Check the URL, or try again shortly.") from None

    def _error(self, exc: urllib.error.HTTPError) -> DataAskError:
        try:
            error = json.loads(exc.read() or b"{}").get("error", {})
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
        except (ValueError, AttributeError):
            code, message = "", ""
        if code in _BY_CODE and message:  # a data-source or guard answer: the same error as a local run
            return _BY_CODE[code](message)
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


def team_client(settings) -> HubClient | None:
    """The Hub service client a team-mode process without a store of its own goes through.

    ``None`` in personal mode, and in team mode when ``DATAASK_STORE_URL`` is set and
    ``DATAASK_API_URL`` is not: that process holds the shared store (the Hub service, or its
    admin's ``dataask rotate-key``). Anything else in team mode needs ``DATAASK_API_URL`` and a
    token (:class:`ConfigError` saying what to set).
    """
    if not settings.team or (settings.store_url and not os.environ.get(REMOTE_ENV, "").strip()):
        return None
    return hub_client("Team mode: a kernel never opens the shared store or the key; it goes through the DataAsk "
                      "Hub service (which itself runs with DATAASK_STORE_URL and DATAASK_SECRET_KEY).",
                      action="request")
