"""Dashboard templates. A template is data (``templates/<name>.json``), never code.

Widget queries in a template name connections through placeholders (``"$sales"``); the
template's ``connections`` map gives their defaults (the demo connections) and callers
may point them elsewhere with ``template_connections``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from ..errors import NotFound, UsageError, did_you_mean
from .api_models import TemplateOut
from .models import DashboardFields, WidgetIn

_PACKAGE = "dataask_jupyter.dashboards"


@lru_cache(maxsize=1)
def _load_all() -> dict[str, dict]:
    folder = resources.files(_PACKAGE) / "templates"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            found[entry.name[:-5]] = json.loads(entry.read_text(encoding="utf-8"))
    return found


def template_names() -> list[str]:
    return sorted(_load_all())


def list_templates() -> list[TemplateOut]:
    """Every template with its title, description and default connections."""
    return [
        TemplateOut(name=name, title=t["title"], description=t["description"], widget_count=len(t["widgets"]),
                    connections=dict(t.get("connections", {})))
        for name, t in sorted(_load_all().items())
    ]


def template(name: str) -> dict:
    templates = _load_all()
    if name not in templates:
        raise NotFound(f"No dashboard template named '{name}'.{did_you_mean(name, templates)}",
                       hint=f"Templates: {', '.join(sorted(templates))}.")
    return templates[name]


def instantiate(name: str, connections: dict[str, str] | None = None) -> tuple[list[WidgetIn], dict, list[str]]:
    """Widgets, layout and tags of template ``name`` with connection placeholders filled in.

    Parameters
    ----------
    connections
        Placeholder -> connection name; unknown placeholders are a :class:`UsageError`.
    """
    data = template(name)
    mapping = dict(data.get("connections", {}))
    unknown = set(connections or {}) - set(mapping)
    if unknown:
        raise UsageError(f"Template '{name}' has no connection placeholder {sorted(unknown)[0]!r}.",
                         hint=f"Placeholders: {', '.join(sorted(mapping)) or 'none'}.")
    mapping.update(connections or {})
    widgets = []
    for raw in data["widgets"]:
        raw = json.loads(json.dumps(raw))
        query = raw.get("query") or {}
        conn = query.get("connection")
        if isinstance(conn, str) and conn.startswith("$"):
            query["connection"] = mapping[conn[1:]]
        widgets.append(WidgetIn.model_validate(raw))
    return widgets, dict(data.get("layout", {})), list(data.get("tags", []))


def validate_templates() -> None:
    """Check every template builds a valid dashboard (used by tests)."""
    for name in template_names():
        widgets, layout, tags = instantiate(name)
        DashboardFields(name=name, tags=tags, layout=layout, widgets=widgets)
