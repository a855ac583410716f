"""The ``@endpoint`` decorator: one declaration per handler method that

1. runs the workspace/dashboard role check for the route (404 to callers who may not
   see the object, 403 to members whose role is too low) *before* the body is parsed,
2. parses query arguments and the JSON body into pydantic models (400 on bad input,
   413 over the route's body limit), and
3. serializes the returned model(s) as JSON (``None`` -> 204, lists -> ``{"items": [...]}``).

The declaration (:class:`Endpoint`) is also what the OpenAPI document and the generated
authorization-matrix test read, so a route without one fails the tests. Stack it under
``@web.authenticated`` and ``@authorized``::

    @web.authenticated
    @authorized
    @endpoint(Scope.dashboard, Role.editor, key="dashboard", body=DashboardUpdate, returns=DashboardOut)
    def put(self, grant, dashboard, body):
        return self.api.dashboards.update(grant, body)
"""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from dataask_jupyter.dashboards import Role, Scope
from dataask_jupyter.dashboards.models import validated
from dataask_jupyter.errors import UsageError

ID_PARAMS = frozenset({"ws", "dashboard", "folder", "dataset", "number", "conversation"})
ATTR = "__dataask_endpoint__"
IGNORED_QUERY = frozenset({"token", "_xsrf"})  # jupyter_server's own (auth in the URL, XSRF in forms)


@dataclass(frozen=True)
class Endpoint:
    """What a handler method declares about itself."""

    scope: Scope
    minimum: Role
    key: str | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    returns: typing.Any = None
    status: int = 200
    summary: str = ""
    body_limit: int | None = None
    key_in_body: bool = False
    media_type: str = "application/json"  # of the success answer (the OpenAPI document says so)


def parse_model(model: type[BaseModel], data) -> BaseModel:
    return validated(model, data)


def query_data(handler, model: type[BaseModel]) -> dict:
    """Query arguments as a dict (last value wins); unknown names are a 400 via the model."""
    data = {}
    for name, values in handler.request.query_arguments.items():
        if name in IGNORED_QUERY or name.isdigit():  # JupyterLab's cache-busting ?<timestamp>
            continue
        try:
            data[name] = values[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"Query argument '{name}' is not valid UTF-8.") from None
    return data


def to_json(result) -> typing.Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True)
    if isinstance(result, list):
        return {"items": [to_json(r) for r in result]}
    return result


def endpoint(scope: Scope | str, minimum: Role | str = Role.viewer, *, key: str | None = None,
             body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, returns=None,
             status: int = 200, summary: str = "", body_limit: int | None = None, key_in_body: bool = False,
             media_type: str = "application/json"):
    """Declare and enforce a handler method's role check, inputs and output (see module doc).

    A method answering something other than JSON writes and finishes the response itself
    and declares its ``media_type``.
    """
    spec = Endpoint(Scope(scope), Role(minimum), key, body, query, returns, status, summary, body_limit, key_in_body,
                    media_type)

    def decorate(fn):
        @functools.wraps(fn)
        async def wrapper(self, *args, **kwargs):
            path = {k: int(v) if k in ID_PARAMS else v for k, v in kwargs.items()}
            raw_body = self.json_body(spec.body_limit) if spec.key_in_body else None
            grant = self.api.authorize(self.principal, spec.scope, self._endpoint_key(spec, path, raw_body),
                                       spec.minimum)
            if spec.body is not None and raw_body is None:
                raw_body = self.json_body(spec.body_limit)
            extra = {}
            if spec.query is not None:
                extra["query"] = parse_model(spec.query, query_data(self, spec.query))
            if spec.body is not None:
                extra["body"] = parse_model(spec.body, raw_body)
            result = fn(self, grant, *args, **path, **extra)
            if inspect.isawaitable(result):
                result = await result
            if self._finished:
                return
            if result is None:
                self.set_status(204)
                self.finish()
            else:
                self.send_json(to_json(result), status=spec.status)

        setattr(wrapper, ATTR, spec)
        return wrapper

    return decorate


def endpoints_of(handler_cls) -> dict[str, Endpoint]:
    """HTTP method name (upper case) -> :class:`Endpoint` for a handler class."""
    out = {}
    for method in ("get", "post", "put", "patch", "delete"):
        fn = handler_cls.__dict__.get(method) or getattr(handler_cls, method, None)
        spec = getattr(fn, ATTR, None)
        if spec is not None:
            out[method.upper()] = spec
    return out


def implemented_methods(handler_cls) -> list[str]:
    """HTTP methods the class overrides (with or without a declaration)."""
    from tornado.web import RequestHandler

    return [m.upper() for m in ("get", "post", "put", "patch", "delete")
            if getattr(handler_cls, m, None) is not getattr(RequestHandler, m, None)]
