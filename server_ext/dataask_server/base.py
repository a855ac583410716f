"""One base handler: authentication, JSON bodies with size limits, one error shape.

Every error leaves as ``{"error": {"code": ..., "message": ...}}`` with the status taken
from the domain error (400/403/404/409/413/503); bad input is never a 500. Bodies are
parsed here, not with ``get_json_body`` (which logs the raw body on bad JSON: it could
hold a password, SECURITY.md case 7).

Body limits hold before the body is read: the handler streams its body
(``@stream_request_body``), so ``prepare()`` (authentication, XSRF, origin: jupyter_server's,
then the route's limit against ``Content-Length``) runs as soon as the headers are in, and
``data_received`` counts the bytes of chunked bodies. An oversized request gets the 413
error at once and tornado closes the connection instead of reading the rest. Handlers read
the body with :meth:`DataAskHandler.json_body` (``self.request.body`` stays empty while
streaming until that assembles it).
"""

from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from pydantic import ValidationError
from tornado import web

from dataask_jupyter.dashboards import Principal, Scope
from dataask_jupyter.dashboards.models import validation_message
from dataask_jupyter.errors import DataAskError, TooLarge, UsageError
from dataask_jupyter.store import DEFAULT_WORKSPACE

from .endpoint import ATTR as ENDPOINT_ATTR

DEFAULT_BODY_LIMIT = 1 << 20  # 1 MiB
DASHBOARD_BODY_LIMIT = 10 << 20  # 10 MiB
MAX_JSON_DEPTH = 64


def _depth(value, limit: int) -> int:
    """Depth of nested JSON containers, iteratively (no recursion on hostile input).

    Also refuses NUL characters in any key or string (PostgreSQL cannot store them, and
    no name or query needs one): :class:`UsageError`.
    """
    stack, deepest = [(value, 1)], 0
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            if isinstance(node, dict):
                stack.extend((k, d + 1) for k in node)
            stack.extend((child, d + 1) for child in (node.values() if isinstance(node, dict) else node))
        elif isinstance(node, str) and "\x00" in node:
            raise UsageError("The request body contains a NUL character.")
    return deepest


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"The request body is larger than {limit // 1024} KiB.")


@web.stream_request_body
class DataAskHandler(APIHandler):
    """Base for every DataAsk route."""

    body_limit = DEFAULT_BODY_LIMIT
    _chunks: list[bytes] | None = None  # per request, set in prepare(); None: refuse body data
    _received = 0

    def initialize(self, dataask, api=None, owner_policy=None) -> None:
        self.dataask = dataask
        self.api = api
        self.owner_policy = owner_policy

    def route_body_limit(self) -> int:
        """The body limit of this request's method: its ``@endpoint(body_limit=...)`` or the class's."""
        method = getattr(self, (self.request.method or "").lower(), None)
        spec = getattr(method, ENDPOINT_ATTR, None)
        return (spec.body_limit if spec is not None else None) or self.body_limit

    async def prepare(self) -> None:
        """jupyter_server's checks (authentication, XSRF, origin), then the body limit
        against ``Content-Length``: all before a byte of the body is read."""
        await super().prepare()
        if self._finished:
            return
        self._limit = self.route_body_limit()
        self._chunks, self._received = [], 0
        declared = self.request.headers.get("Content-Length", "").split(",")[0].strip()
        if declared.isdigit() and int(declared) > self._limit:
            raise _too_large(self._limit)

    def data_received(self, chunk: bytes) -> None:
        """Collect the streamed body; past the limit answer 413 now (tornado then closes the
        connection rather than reading the rest)."""
        if self._finished or self._chunks is None:
            return
        self._received += len(chunk)
        if self._received > self._limit:
            self._chunks = None
            self._handle_request_exception(_too_large(self._limit))
            return
        self._chunks.append(chunk)

    def request_body(self) -> bytes:
        """The whole streamed body (joined once, then also in ``self.request.body``)."""
        if self._chunks:
            self.request.body = b"".join(self._chunks)
            self._chunks = []
        return self.request.body or b""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'none'")
        self.set_header("Cache-Control", "no-store")

    def compute_etag(self) -> None:
        """No ETag: answers are ``no-store``, so hashing every body would be wasted work."""
        return None

    @property
    def principal(self) -> Principal:
        """The caller as a DataAsk principal (``current_user``; see :mod:`.identity`)."""
        if self.owner_policy is None:
            user = self.current_user
            return Principal(getattr(user, "username", None) or str(user))
        return self.owner_policy.principal(self.current_user)

    @property
    def actor(self) -> str:
        """Who audit records name: ``current_user`` (the Hub user under JupyterHub)."""
        return self.principal.name

    def _endpoint_key(self, spec, path: dict, raw_body: dict | None):
        """The id or name the route's role check is about (see :mod:`.endpoint`)."""
        if spec.scope is Scope.workspace_name:
            name = self.get_query_argument("workspace", None)
            if name is None and raw_body is not None and isinstance(raw_body.get("workspace"), str):
                name = raw_body["workspace"]
            return name or DEFAULT_WORKSPACE
        return path.get(spec.key) if spec.key else None

    def json_body(self, limit: int | None = None) -> dict:
        """Parse the body as a JSON object; never logs the body."""
        limit = limit or self.body_limit
        raw = self.request_body()
        if len(raw) > limit:
            raise _too_large(limit)
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise UsageError("The request body is not valid UTF-8 JSON.") from None
        except RecursionError:
            raise UsageError("The request body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise UsageError("The request body must be a JSON object.")
        if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise UsageError("The request body is nested too deeply.")
        return data

    def send_json(self, obj, status: int = 200) -> None:
        """Send ``obj`` as JSON; bytes (a core call's :class:`JSONText`) are already JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(obj if isinstance(obj, bytes) else json.dumps(obj, default=str))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, DataAskError):
            body = exc.to_dict()
        elif isinstance(exc, web.HTTPError):
            body = {"code": {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(status_code, "error"),
                    "message": exc.log_message or self._reason}
        else:
            body = {"code": "internal_error", "message": "Something went wrong on the server."}
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": body}))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ValidationError):  # a model built from input inside a core call: still bad input
            e = UsageError(validation_message(e))
        if isinstance(e, DataAskError):
            if self._finished:
                return
            self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, DataAskError):
            self.log.info("DataAsk %s: %s %s", value.code, self.request.method, self.request.path)
            return
        super().log_exception(typ, value, tb)
