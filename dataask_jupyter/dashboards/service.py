"""Dashboards: create (from a template), read, save (every save is a version), clone,
versions (list, diff, restore), per-dashboard permissions and widgets.

A save names the version it edits; the store's compare-and-swap turns a stale save into
a 409 :class:`~dataask_jupyter.errors.Conflict` with nothing written.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import NamedTuple

from ..errors import Forbidden, NotFound, UsageError
from ..store.workspace_records import DashboardQuery, DashboardRec
from .access import Authorizer, Grant, Scope
from .api_models import DashboardFilter, JSONText, SearchFilter
from .events import EventBus, make_event
from .models import (
    CloneIn,
    DashboardCreate,
    DashboardDoc,
    DashboardFields,
    DashboardOut,
    DashboardPatch,
    DashboardSummary,
    DashboardUpdate,
    DiffOut,
    PermissionIn,
    PermissionOut,
    VersionDetail,
    VersionOut,
    VersionRef,
    Widget,
    WidgetCreate,
    WidgetIn,
    WidgetOut,
    WidgetUpdate,
    new_widget_id,
    validated,
)
from .queries import QueryChecker
from .roles import Level, PrincipalKind, Role, can_grant, rank
from .templates import instantiate
from .versions import diff_documents

LIST_CACHE_ENTRIES = 256
DOC_CACHE_ENTRIES = 512
DOC_CACHE_MAX_BYTES = 64 * 1024
_WIDGET_FIELDS = ("kind", "title", "query", "spec", "options", "position")


class _Listing(NamedTuple):
    """A cached dashboard listing: the store's stamp it is valid for, ``(id, private, owner)``
    per row (what each caller may see is decided per call) and each row serialized."""

    stamp: tuple
    keys: list[tuple[int, bool, str]]
    items: list[bytes]
    body: JSONText  # ``{"items": [...]}`` of all rows


def _items_json(items: list[bytes]) -> JSONText:
    """``json.dumps({"items": [...]})`` from rows serialized one by one (same bytes)."""
    return JSONText(b'{"items": [' + b", ".join(items) + b"]}")


def _dumps(data) -> bytes:
    return json.dumps(data, default=str).encode()


def dashboard_out(rec: DashboardRec, level: Level) -> DashboardOut:
    doc = rec.document or {}
    return DashboardOut.model_validate({**{k: getattr(rec, k) for k in DashboardSummary.model_fields},
                                        "layout": doc.get("layout", {}), "widgets": doc.get("widgets", []),
                                        "access": level, "created_at": rec.created_at})


def _with_ids(widgets: list[WidgetIn]) -> list[Widget]:
    taken = {w.id for w in widgets if w.id}
    out = []
    for w in widgets:
        wid = w.id
        while wid is None or (wid in taken and w.id is None):
            wid = new_widget_id()
        taken.add(wid)
        out.append(Widget(**{**w.model_dump(), "id": wid}))
    return out


def _doc(fields: DashboardFields, widgets: list[WidgetIn] | None = None) -> DashboardDoc:
    data = fields.model_dump(include=set(DashboardFields.model_fields) - {"widgets"})
    return validated(DashboardDoc, {**data, "widgets": _with_ids(fields.widgets if widgets is None else widgets)})


class Dashboards:
    """Dashboard operations of the API; each takes a :class:`Grant` for the dashboard
    (or, for listing and creating, for its workspace)."""

    def __init__(self, repo, authz: Authorizer, events: EventBus, queries: QueryChecker, workspaces) -> None:
        self.repo, self.authz, self.events, self.queries = repo, authz, events, queries
        self.workspaces = workspaces
        self._list_cache: OrderedDict[DashboardQuery, _Listing] = OrderedDict()
        self._list_lock = threading.Lock()
        self._doc_cache: OrderedDict[tuple[int, int, int | None], bytes] = OrderedDict()

    def _publish(self, kind: str, g: Grant, rec: DashboardRec | None = None, **fields) -> None:
        dash = rec or g.dashboard
        self.events.publish(make_event(kind, dash.workspace_id, g.actor, dashboard_id=dash.id,
                                       version=dash.version, private=dash.private, **fields))

    def _current(self, g: Grant) -> DashboardDoc:
        return validated(DashboardDoc, g.dashboard.document)

    def _save(self, g: Grant, doc: DashboardDoc, base_version: int, message: str, action: str,
              restored_from: int | None = None, detail: dict | None = None) -> DashboardOut:
        if doc.private != g.dashboard.private:
            g.need(Level.admin)
        self.workspaces.check_folder(g.workspace.id, doc.folder_id)
        rec = self.repo.save_dashboard(g.dashboard.id, base_version, doc.model_dump(mode="json"), g.actor,
                                       message, action=action, restored_from=restored_from, detail=detail)
        self._publish("dashboard.saved", g, rec)
        return dashboard_out(rec, g.level)

    # -- listing, creating, reading -----------------------------------------------------------
    def list(self, g: Grant, f: DashboardFilter) -> list[dict]:
        """Dashboards of the grant's workspace that the caller can see, as JSON-ready dicts."""
        return json.loads(self.list_json(g, f))["items"]

    def list_json(self, g: Grant, f: DashboardFilter) -> JSONText:
        """:meth:`list` as the serialized answer ``{"items": [...]}``.

        The unfiltered listing is cached per workspace and filter, serialized, keyed by the
        store's change stamp (read on every call, so saves from other processes are seen at
        once); what each caller may see is decided per call, from the grant and the
        caller's dashboard grants.
        """
        query = DashboardQuery(workspace_ids=(g.workspace.id,), q=f.q, tag=f.tag, folder_id=f.folder_id,
                               owner=f.owner, limit=f.limit, offset=f.offset)
        stamp = self.repo.dashboards_stamp(g.workspace.id)
        with self._list_lock:
            hit = self._list_cache.get(query)
        if hit is None or hit.stamp != stamp:
            recs = self.repo.dashboards(query)
            items = [_dumps(DashboardSummary.model_validate(d).model_dump(mode="json")) for d in recs]
            hit = _Listing(stamp, [(d.id, d.private, d.owner) for d in recs], items, _items_json(items))
            with self._list_lock:
                self._list_cache[query] = hit
                self._list_cache.move_to_end(query)
                while len(self._list_cache) > LIST_CACHE_ENTRIES:
                    self._list_cache.popitem(last=False)
        who = g.principal
        hidden = [did for did, private, owner in hit.keys if private and owner != who.name]
        if not hidden or g.role == Role.admin:
            return hit.body
        granted = self.repo.matching_grants(who.name, sorted(who.groups), hidden)
        gone = set(hidden) - set(granted)
        return _items_json([item for (did, _, _), item in zip(hit.keys, hit.items, strict=True) if did not in gone])

    def create(self, g: Grant, body: DashboardCreate) -> DashboardOut:
        """A new dashboard owned by the caller, from ``body.template`` plus ``body.widgets``."""
        g.need(Role.editor)
        self.workspaces.check_folder(g.workspace.id, body.folder_id)
        base, layout, tags = instantiate(body.template, body.template_connections)
        self.queries.check_widgets(g.workspace, body.widgets)
        fields = body.model_dump(include=set(DashboardFields.model_fields) - {"widgets"})
        if "layout" not in body.model_fields_set and layout:
            fields["layout"] = layout
        fields["tags"] = list(dict.fromkeys([*tags, *body.tags]))
        doc = _doc(validated(DashboardFields, fields), [*base, *body.widgets])
        rec = self.repo.create_dashboard(g.workspace.id, doc.model_dump(mode="json"), g.actor, body.template,
                                         g.actor, body.message or f"Created from the {body.template} template",
                                         detail={"template": body.template})
        self.events.publish(make_event("dashboard.created", rec.workspace_id, g.actor, dashboard_id=rec.id,
                                       version=rec.version, private=rec.private))
        return dashboard_out(rec, Level.admin)

    def get(self, g: Grant) -> dict:
        """The dashboard as JSON-ready data; also records it as recently viewed by the caller."""
        return json.loads(self.get_json(g))

    def get_json(self, g: Grant) -> JSONText:
        """:meth:`get` serialized.

        A version never changes once saved, so its serialized form (without the caller's
        ``access``) is cached by ``(id, version, folder_id)`` (deleting a folder moves its
        dashboards up without a new version); the caller's ``access`` is added per call.
        """
        self.repo.touch_recent(g.actor, g.dashboard.id, g.dashboard.workspace_id)
        key = (g.dashboard.id, g.dashboard.version, g.dashboard.folder_id)  # deleting a folder moves it up
        with self._list_lock:
            head = self._doc_cache.get(key)
        if head is None:
            dumped = dashboard_out(g.dashboard, g.level).model_dump(mode="json", exclude={"access"})
            head = _dumps(dumped)[:-1]  # without the closing brace: ``"access"`` goes last
            if len(head) <= DOC_CACHE_MAX_BYTES:  # big documents are not worth the memory
                with self._list_lock:
                    self._doc_cache[key] = head
                    while len(self._doc_cache) > DOC_CACHE_ENTRIES:
                        self._doc_cache.popitem(last=False)
        return JSONText(head + b', "access": "' + g.level.value.encode() + b'"}')

    # -- saving --------------------------------------------------------------------------
    def update(self, g: Grant, body: DashboardUpdate) -> DashboardOut:
        """Replace the document; ``body.version`` must be the current version."""
        g.need(Level.edit)
        old = self._current(g)
        doc = _doc(body)
        self.queries.check_widgets(g.workspace, doc.widgets, old.widgets)
        return self._save(g, doc, body.version, body.message, "dashboard.save")

    def patch(self, g: Grant, body: DashboardPatch) -> DashboardOut:
        """Change some fields (name, description, tags, folder, private, layout)."""
        g.need(Level.edit)
        changes = body.model_dump(exclude_unset=True, exclude={"version", "message", "move_to_root"})
        if body.move_to_root:
            changes["folder_id"] = None
        data = self._current(g).model_dump()
        data.update({k: v for k, v in changes.items() if v is not None or k == "folder_id"})
        return self._save(g, validated(DashboardDoc, data), body.version, body.message, "dashboard.save",
                          detail={"fields": sorted(changes)})

    def delete(self, g: Grant) -> None:
        g.need(Level.admin)
        self.repo.delete_dashboard(g.dashboard.id, g.actor)
        self._publish("dashboard.deleted", g)

    def clone(self, g: Grant, body: CloneIn) -> DashboardOut:
        """Copy the dashboard (current version) into a workspace where the caller is an
        editor; the copy is owned by the caller and starts a new history."""
        target = g.workspace
        if body.workspace_id is not None and body.workspace_id != g.workspace.id:
            target = self.authz.authorize(g.principal, Scope.workspace, body.workspace_id, Role.editor).workspace
        else:
            self.authz.authorize(g.principal, Scope.workspace, target.id, Role.editor)
        data = self._current(g).model_dump()
        data["name"] = body.name or f"Copy of {g.dashboard.name}"[:200]
        data["folder_id"] = body.folder_id if body.folder_id is not None else (
            data["folder_id"] if target.id == g.workspace.id else None)
        self.workspaces.check_folder(target.id, data["folder_id"])
        doc = validated(DashboardDoc, data)
        rec = self.repo.create_dashboard(target.id, doc.model_dump(mode="json"), g.actor, g.dashboard.template,
                                         g.actor, f"Copied from dashboard {g.dashboard.id}", action="dashboard.clone",
                                         detail={"source": g.dashboard.id})
        self.events.publish(make_event("dashboard.created", rec.workspace_id, g.actor, dashboard_id=rec.id,
                                       version=rec.version, private=rec.private))
        return dashboard_out(rec, Level.admin)

    # -- versions ------------------------------------------------------------------------
    def versions(self, g: Grant, limit: int = 100, offset: int = 0) -> list[VersionOut]:
        return [VersionOut.model_validate(v) for v in self.repo.versions(g.dashboard.id, limit, offset)]

    def _version(self, g: Grant, number: int):
        rec = self.repo.version(g.dashboard.id, number)
        if rec is None:
            raise NotFound(f"Dashboard {g.dashboard.id} has no version {number}.",
                           hint=f"Its versions go from 1 to {g.dashboard.version}.")
        return rec

    def version(self, g: Grant, number: int) -> VersionDetail:
        rec = self._version(g, number)
        return VersionDetail.model_validate({**vars(rec), "document": rec.document})

    def diff(self, g: Grant, a: int, b: int) -> DiffOut:
        before, after = self._version(g, a), self._version(g, b)
        return DiffOut(dashboard_id=g.dashboard.id, from_version=a, to_version=b,
                       changes=diff_documents(before.document, after.document))

    def restore(self, g: Grant, number: int, body: VersionRef) -> DashboardOut:
        """Save version ``number``'s document as a new version (history is never rewritten).

        The dashboard's current ``private`` setting is kept (it is an access setting, not
        content); a folder deleted since then becomes no folder.
        """
        g.need(Level.edit)
        data = dict(self._version(g, number).document)
        data["private"] = g.dashboard.private
        folder = data.get("folder_id")
        if folder is not None:
            rec = self.repo.folder(folder)
            if rec is None or rec.workspace_id != g.workspace.id:
                data["folder_id"] = None
        return self._save(g, validated(DashboardDoc, data), body.version,
                          body.message or f"Restored version {number}", "dashboard.restore", restored_from=number,
                          detail={"restored_from": number})

    # -- permissions ---------------------------------------------------------------------
    def permissions(self, g: Grant) -> list[PermissionOut]:
        g.need(Level.edit)
        return [PermissionOut.model_validate(p) for p in self.repo.grants(g.dashboard.id)]

    def _existing_level(self, g: Grant, kind: str, name: str) -> str | None:
        return next((p.level for p in self.repo.grants(g.dashboard.id) if (p.kind, p.name) == (kind, name)), None)

    def grant(self, g: Grant, body: PermissionIn) -> PermissionOut:
        """Give a user or group a level on this dashboard (never above the caller's own)."""
        g.need(Level.edit)
        existing = self._existing_level(g, body.kind.value, body.name)
        if not can_grant(g.level, body.level) or rank(existing) > rank(g.level):
            raise Forbidden(f"You cannot grant '{body.level.value}': it is higher than your own access "
                            f"({g.level.value}) to this dashboard.")
        rec = self.repo.set_grant(g.dashboard.id, body.kind.value, body.name, body.level.value, g.actor)
        self._publish("permission.changed", g)
        return PermissionOut.model_validate(rec)

    def revoke(self, g: Grant, kind: str, name: str) -> None:
        g.need(Level.edit)
        kind = PrincipalKind(kind).value
        if rank(self._existing_level(g, kind, name)) > rank(g.level):
            raise Forbidden("You cannot remove a grant higher than your own access to this dashboard.")
        self.repo.remove_grant(g.dashboard.id, kind, name, g.actor)
        self._publish("permission.changed", g)

    # -- widgets -------------------------------------------------------------------------
    def widgets(self, g: Grant) -> list[WidgetOut]:
        return [self._widget_out(g.dashboard, w) for w in self._current(g).widgets]

    @staticmethod
    def _widget_out(rec: DashboardRec, w: Widget) -> WidgetOut:
        return WidgetOut(**w.model_dump(), dashboard_id=rec.id, dashboard_version=rec.version)

    def _find(self, doc: DashboardDoc, widget_id: str) -> int:
        for i, w in enumerate(doc.widgets):
            if w.id == widget_id:
                return i
        raise NotFound(f"Dashboard has no widget '{widget_id}'.")

    def widget(self, g: Grant, widget_id: str) -> WidgetOut:
        doc = self._current(g)
        return self._widget_out(g.dashboard, doc.widgets[self._find(doc, widget_id)])

    def _save_widgets(self, g: Grant, doc: DashboardDoc, widgets: list, base: int, message: str, action: str,
                      widget_id: str) -> DashboardOut:
        data = doc.model_dump()
        data["widgets"] = [w.model_dump() if hasattr(w, "model_dump") else w for w in widgets]
        new = validated(DashboardDoc, data)
        return self._save(g, new, base, message, action, detail={"widget": widget_id})

    def add_widget(self, g: Grant, body: WidgetCreate) -> WidgetOut:
        """Append a widget (``version`` optional: adding never overwrites someone's edit)."""
        g.need(Level.edit)
        doc = self._current(g)
        widget = _with_ids([WidgetIn(**body.model_dump(include=set(WidgetIn.model_fields)))])[0]
        if widget.id in {w.id for w in doc.widgets}:
            raise UsageError(f"The dashboard already has a widget '{widget.id}'.")
        self.queries.check_widgets(g.workspace, [widget])
        out = self._save_widgets(g, doc, [*doc.widgets, widget], body.version or g.dashboard.version,
                                 body.message or f"Added widget {widget.title or widget.id}", "widget.add", widget.id)
        return WidgetOut(**widget.model_dump(), dashboard_id=out.id, dashboard_version=out.version)

    def update_widget(self, g: Grant, widget_id: str, body: WidgetUpdate) -> WidgetOut:
        g.need(Level.edit)
        doc = self._current(g)
        i = self._find(doc, widget_id)
        widget = Widget(**{**body.model_dump(include=set(_WIDGET_FIELDS)), "id": widget_id})
        self.queries.check_widgets(g.workspace, [widget], [doc.widgets[i]])
        widgets = list(doc.widgets)
        widgets[i] = widget
        out = self._save_widgets(g, doc, widgets, body.version, body.message or f"Edited widget {widget_id}",
                                 "widget.update", widget_id)
        return WidgetOut(**widget.model_dump(), dashboard_id=out.id, dashboard_version=out.version)

    def pin(self, who, dashboard: str | int, widget: WidgetIn, *, workspace_id: int | None = None,
            message: str = "") -> WidgetOut:
        """Add ``widget`` to the dashboard named (or numbered) ``dashboard`` that ``who`` can edit.

        For the kernel side (``%%ask --pin "Dashboard name"``). A name must match exactly one
        dashboard ``who`` can see (narrow it with ``workspace_id``, or pass the id).
        """
        if isinstance(dashboard, int) or str(dashboard).isdigit():
            dashboard_id = int(dashboard)
        else:
            found = self.workspaces.search(who, SearchFilter(q=str(dashboard), workspace_id=workspace_id, limit=1000))
            hits = [d.id for d in found if d.name == dashboard]
            if not hits:
                raise NotFound(f"No dashboard named '{dashboard}' that you can see.",
                               hint="Create it first, or check the name (exact match) and the workspace.")
            if len(hits) > 1:
                raise UsageError(f"Several dashboards are named '{dashboard}' (ids {', '.join(map(str, hits))}).",
                                 hint="Pin by id, or name the workspace.")
            dashboard_id = hits[0]
        g = self.authz.authorize(who, Scope.dashboard, dashboard_id, Role.editor)
        return self.add_widget(g, WidgetCreate(**widget.model_dump(), message=message or "Pinned from a notebook"))

    def delete_widget(self, g: Grant, widget_id: str, ref: VersionRef) -> None:
        g.need(Level.edit)
        doc = self._current(g)
        i = self._find(doc, widget_id)
        widgets = [w for j, w in enumerate(doc.widgets) if j != i]
        self._save_widgets(g, doc, widgets, ref.version, ref.message or f"Removed widget {widget_id}",
                           "widget.remove", widget_id)
