"""The OpenAPI 3.1 document of ``/dataask/api/``, generated from the route table and the
pydantic models each handler method declares with ``@endpoint``."""

from __future__ import annotations

import re
import typing
from functools import lru_cache

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .endpoint import ID_PARAMS, Endpoint, endpoints_of

_GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
}
_ERRORS = {"400": "Bad input", "403": "Not allowed (or not authenticated)", "404": "Unknown, or not visible to you",
           "409": "Conflict (stale version, duplicate name)", "413": "Request body too large"}


def _model_of(returns) -> tuple[type[BaseModel] | None, bool]:
    if typing.get_origin(returns) is list:
        return typing.get_args(returns)[0], True
    return (returns, False) if isinstance(returns, type) and issubclass(returns, BaseModel) else (None, False)


def template_path(pattern: str) -> tuple[str, list[dict]]:
    """``/x/(?P<id>\\d+)`` -> (``/x/{id}``, its OpenAPI path parameters)."""
    params = []
    for name, regex in _GROUP.findall(pattern):
        schema = {"type": "integer", "minimum": 0, "maximum": 10**15 - 1} if name in ID_PARAMS else {
            "type": "string", "pattern": f"^(?:{regex})$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern), params


def _query_params(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _operation(spec: Endpoint, refs: dict, path_params: list[dict]) -> dict:
    op: dict = {"summary": spec.summary or "", "parameters": list(path_params),
                "x-dataask-access": {"scope": spec.scope.value, "minimum": spec.minimum.value}}
    if spec.query is not None:
        op["parameters"] += _query_params(spec.query)
    if spec.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": refs[(spec.body, "validation")]}}}
    model, many = _model_of(spec.returns)
    if spec.status == 204:
        ok = {"description": "Done (no content)"}
    else:
        schema = {"type": "object"}
        if model is not None:
            ref = refs[(model, "serialization")]
            schema = {"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "items": ref}}} if many else ref
        if spec.media_type != "application/json":
            schema = {"type": "string", "format": "binary"}
        ok = {"description": "OK", "content": {spec.media_type: {"schema": schema}}}
    op["responses"] = {str(spec.status): ok, **{code: {"description": text, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in _ERRORS.items()}}
    return op


@lru_cache(maxsize=8)
def openapi_document(base_url: str = "/") -> dict:
    """The OpenAPI document (cached: the route table does not change at run time)."""
    from .app import ROUTES

    declared = [(pattern, endpoints_of(handler)) for pattern, handler in ROUTES]
    keys = set()
    for _, specs in declared:
        for spec in specs.values():
            for model in (spec.body, spec.query):
                if model is not None:
                    keys.add((model, "validation"))
            model, _ = _model_of(spec.returns)
            if model is not None:
                keys.add((model, "serialization"))
    ordered = sorted(keys, key=lambda k: (k[0].__name__, k[1]))
    refs, defs = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
    schemas = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    paths: dict = {}
    for pattern, specs in declared:
        if not specs:
            continue
        path, params = template_path(pattern)
        paths[path] = {method.lower(): _operation(spec, refs, params) for method, spec in specs.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "DataAsk for Jupyter API", "version": "1",
                 "description": "Workspaces, dashboards, versions, widgets, datasets, connections. "
                                "Live events: WebSocket at /dataask/api/events (see docs/api.md)."},
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                                                     "description": "'token <jupyter server token>'"}}},
        "security": [{"token": []}],
        "x-dataask-websocket": "/dataask/api/events",
    }
