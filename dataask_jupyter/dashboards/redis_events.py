"""Workspace events across processes: :class:`RedisEventBus` bridges :class:`EventBus` over
Redis pub/sub, so an event published in one server process (or the Hub service, or a
kernel) reaches the live subscribers of every process that shares the store.

* Same surface as :class:`EventBus` (``subscribe``/``publish``). ``publish`` delivers to this
  process's listeners at once, then publishes on the deployment's channel; each process's
  one background listener thread (redis-py pub/sub, started by the first ``subscribe``)
  delivers the events of *other* processes to its listeners. A process ignores its own
  messages (each bus has an origin id), so every local listener gets every event once.
* Redis down never fails a save: the error is logged once, events keep reaching this
  process's listeners, and the bridge resumes by itself when Redis is back (the listener
  reconnects with capped, jittered backoff; ``publish`` tries again after ``retry_s``).
  Messages published while a process was cut off are not replayed (pub/sub is
  at-most-once); clients refetch on the next event or reload.
* Messages carry the event only: ids, versions, the actor's name and time, never rows, SQL
  or secrets. Received messages are checked against that shape and size; anything else
  is dropped (whoever can publish on the Redis can only make clients refetch).
* The channel is ``<prefix>:events``. The prefix is ``DATAASK_REDIS_PREFIX``, else
  ``dataask:<hash of the store's location>``, so processes on one store share events and two
  deployments on one Redis do not mix. Set the same ``DATAASK_REDIS_PREFIX`` everywhere
  when the processes of one deployment name the store differently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .events import EventBus

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # bytes; events are a few hundred
_KIND = re.compile(r"[a-z][a-z_]{0,40}\.[a-z][a-z_]{0,40}")
_NAME_MAX = 400


def default_prefix(settings) -> str:
    """``DATAASK_REDIS_PREFIX``, else ``dataask:`` and a hash of where the store lives (the
    SQLite file, or the database URL without its password)."""
    if getattr(settings, "redis_prefix", None):
        return settings.redis_prefix
    url = settings.effective_store_url
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            where = f"sqlite:{Path(parsed.database or '').expanduser().resolve()}"
        else:
            where = (f"{parsed.get_backend_name()}://{parsed.username or ''}@{parsed.host or ''}:"
                     f"{parsed.port or ''}/{parsed.database or ''}")
    except Exception:  # an invalid store URL fails elsewhere; still never hash a password in
        where = url.split("@")[-1]
    return "dataask:" + hashlib.sha256(where.encode()).hexdigest()[:16]


_TEXT_KEYS = frozenset({"type", "actor", "at"})


def _field_ok(key: str, value: Any) -> bool:
    """Ids, versions, flags and names only: text only in ``type``/``actor``/``at`` and ``*_id``
    keys, one small ``member`` object; no lists, no other text (no SQL, rows or secrets)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**53
    if isinstance(value, str):
        return (key in _TEXT_KEYS or key.endswith("_id")) and len(value) <= _NAME_MAX
    if isinstance(value, dict) and key == "member":
        return len(value) <= 3 and all(k in ("kind", "name", "role") and (v is None or isinstance(v, str) and
                                                                           len(v) <= _NAME_MAX)
                                       for k, v in value.items())
    return False


def clean_event(event: Any) -> dict | None:
    """``event`` if it has the shape of a workspace event (ids, versions, names), else ``None``."""
    if not isinstance(event, dict) or len(event) > 16:
        return None
    kind, ws = event.get("type"), event.get("workspace_id")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        return None
    if not isinstance(ws, int) or isinstance(ws, bool) or not 0 < ws < 2**53:
        return None
    if not all(isinstance(k, str) and len(k) <= 40 and _field_ok(k, v) for k, v in event.items()):
        return None
    return event


class RedisEventBus(EventBus):
    """:class:`EventBus` shared by every process on ``channel`` of one Redis.

    Parameters
    ----------
    url
        ``redis://`` URL (``DATAASK_REDIS_URL``); or pass ``client``.
    prefix
        Namespace of the channel (``<prefix>:events``); see :func:`default_prefix`.
    client
        A ``redis.Redis`` (tests); by default one built from ``url`` with short timeouts and
        no retries of its own.
    retry_s
        After a failed publish, publishes only locally for this long before trying Redis again.
    backoff
        ``(first, cap)`` seconds between the listener's reconnection attempts (doubling, jittered).
    """

    def __init__(self, url: str | None = None, *, prefix: str = "dataask", client=None, retry_s: float = 2.0,
                 backoff: tuple[float, float] = (0.2, 5.0), timeout: float = 1.0) -> None:
        super().__init__()
        if client is None:
            if not url:
                raise ValueError("RedisEventBus needs a url or a client")
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                          health_check_interval=30, retry=Retry(NoBackoff(), 0))
        self.client = client
        self.channel = f"{prefix}:events"
        self.origin = uuid.uuid4().hex
        self.retry_s, self.backoff = retry_s, backoff
        self.listening = threading.Event()  # set while the listener is subscribed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = threading.Lock()
        self._down = False
        self._retry_at = 0.0

    # -- the EventBus surface ---------------------------------------------------------------
    def subscribe(self, workspace_id: int, listener):
        unsubscribe = super().subscribe(workspace_id, listener)
        self._start()
        return unsubscribe

    def publish(self, event: dict) -> None:
        """Deliver to this process's listeners, then to the other processes through Redis."""
        super().publish(event)
        if self._stop.is_set() or time.monotonic() < self._retry_at:
            return  # closed, or Redis was down a moment ago: local delivery only for now
        if clean_event(event) is None:  # only ids, versions and names leave the process
            log.warning("DataAsk event %r is not ids and names only; delivered in this process only",
                        str(event.get("type"))[:80])
            return
        message = json.dumps({"origin": self.origin, "event": event})
        try:
            self.client.publish(self.channel, message)
        except Exception as exc:  # redis.RedisError, OSError: never fail the save that published
            self._went_down(exc)
        else:
            self._came_back()

    def close(self) -> None:
        """Stop the listener thread and drop the connections (server shutdown)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        try:
            self.client.close()
        except Exception:  # noqa: S110 - closing a client whose server is gone
            pass

    # -- health -----------------------------------------------------------------------------
    def _went_down(self, exc: BaseException) -> None:
        with self._state:
            self._retry_at = time.monotonic() + self.retry_s
            if self._down:
                return
            self._down = True
        log.warning("DataAsk events: Redis is unreachable (%s); events reach this process's subscribers only "
                    "until it is back", type(exc).__name__)

    def _came_back(self) -> None:
        with self._state:
            self._retry_at = 0.0
            if not self._down:
                return
            self._down = False
        log.warning("DataAsk events: Redis is reachable again; events are shared between processes")

    # -- the listener thread ------------------------------------------------------------------
    def _start(self) -> None:
        with self._state:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._listen, name="dataask-events-redis", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.client.pubsub()
                pubsub.subscribe(self.channel)
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.5)
                    if msg is None:
                        continue
                    if msg["type"] == "subscribe":
                        self.listening.set()
                        self._came_back()
                        delay = self.backoff[0]
                    elif msg["type"] == "message":
                        self._receive(msg["data"])
            except Exception as exc:  # Redis gone (or a bug): keep local delivery, reconnect
                if not self._stop.is_set():
                    self._went_down(exc)
            finally:
                self.listening.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: S110 - its connection is already broken
                        pass
            self._stop.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.backoff[1])

    def _receive(self, data) -> None:
        if not isinstance(data, bytes | str) or len(data) > MAX_MESSAGE:
            return
        try:
            msg = json.loads(data)
        except ValueError:
            return
        if not isinstance(msg, dict) or msg.get("origin") == self.origin:
            return  # this process's own event: its listeners already have it
        event = clean_event(msg.get("event"))
        if event is not None:
            EventBus.publish(self, event)


def event_bus(settings) -> EventBus:
    """The bus for one process: :class:`RedisEventBus` when ``settings.redis_url`` is set
    (``DATAASK_REDIS_URL``), else the in-process :class:`EventBus`."""
    if getattr(settings, "redis_url", None):
        return RedisEventBus(settings.redis_url, prefix=default_prefix(settings))
    return EventBus()
