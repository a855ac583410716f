"""Workspace events for live updates (dashboard saved, widget results refreshed, member
changed, ...), published after the change committed.

:class:`EventBus` is in-process: the server extension's WebSocket subscribes per
workspace. With ``DATAASK_REDIS_URL`` set, :class:`~.redis_events.RedisEventBus` bridges it
over Redis pub/sub between processes, with the same publish/subscribe surface.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone

log = logging.getLogger(__name__)
Listener = Callable[[dict], None]


def make_event(kind: str, workspace_id: int, actor: str, **fields) -> dict:
    """An event as sent to clients: ``type``, ``workspace_id``, ``actor``, ``at`` and ids.

    Events carry ids and versions only, never rows or SQL: clients refetch what they may see.
    """
    return {"type": kind, "workspace_id": workspace_id, "actor": actor,
            "at": datetime.now(timezone.utc).isoformat(), **fields}


class EventBus:
    """Thread-safe publish/subscribe keyed by workspace id."""

    def __init__(self) -> None:
        self._listeners: dict[int, dict[int, Listener]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def subscribe(self, workspace_id: int, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event of ``workspace_id``; returns an unsubscribe function.

        Listeners are called on the publishing thread and must not block (the WebSocket
        handler hands events to its IOLoop).
        """
        with self._lock:
            self._next += 1
            token = self._next
            self._listeners.setdefault(workspace_id, {})[token] = listener

        def unsubscribe() -> None:
            with self._lock:
                subs = self._listeners.get(workspace_id, {})
                subs.pop(token, None)
                if not subs:
                    self._listeners.pop(workspace_id, None)

        return unsubscribe

    def publish(self, event: dict) -> None:
        with self._lock:
            listeners = list(self._listeners.get(event["workspace_id"], {}).values())
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # one broken subscriber must not break the others or the save
                log.exception("DataAsk event listener failed")

    def subscribers(self, workspace_id: int) -> int:
        with self._lock:
            return len(self._listeners.get(workspace_id, {}))

    def close(self) -> None:
        """Release what the bus holds (nothing in-process; see :class:`~.redis_events.RedisEventBus`)."""
