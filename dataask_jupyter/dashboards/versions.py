"""Versions of a dashboard: structural diff between two saved documents.

Widgets are matched by id, so moving a widget shows as a change of its ``position``
rather than a removal plus an addition.
"""

from __future__ import annotations

from typing import Any

from .models import Change

DOC_FIELDS = ("name", "description", "tags", "folder_id", "private", "layout")


def _walk(path: str, before: Any, after: Any, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}/{key}"
            if key not in before:
                out.append(Change(path=sub, op="added", after=after[key]))
            elif key not in after:
                out.append(Change(path=sub, op="removed", before=before[key]))
            else:
                _walk(sub, before[key], after[key], out)
    elif before != after:
        out.append(Change(path=path, op="changed", before=before, after=after))


def diff_documents(before: dict, after: dict) -> list[Change]:
    """Changes turning document ``before`` into ``after`` (JSON-pointer-like paths).

    Parameters
    ----------
    before, after
        Dashboard documents as dicts (``DashboardDoc.model_dump(mode="json")``).

    Returns
    -------
    list of Change
        ``/name``-style paths for fields; ``/widgets/<id>`` for a whole widget added or
        removed; ``/widgets/<id>/<field>/...`` for a change inside one widget; and
        ``/widgets`` (order) when the same widgets were reordered.
    """
    out: list[Change] = []
    for field in DOC_FIELDS:
        _walk(f"/{field}", before.get(field), after.get(field), out)
    old = {w["id"]: w for w in before.get("widgets", [])}
    new = {w["id"]: w for w in after.get("widgets", [])}
    for wid in old.keys() - new.keys():
        out.append(Change(path=f"/widgets/{wid}", op="removed", before=old[wid]))
    for wid in new.keys() - old.keys():
        out.append(Change(path=f"/widgets/{wid}", op="added", after=new[wid]))
    for wid in old.keys() & new.keys():
        _walk(f"/widgets/{wid}", old[wid], new[wid], out)
    common_old = [w for w in old if w in new]
    common_new = [w for w in new if w in old]
    if common_old != common_new:
        out.append(Change(path="/widgets", op="changed", before=common_old, after=common_new))
    return sorted(out, key=lambda c: c.path)
