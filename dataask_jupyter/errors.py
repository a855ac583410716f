"""One exception tree for DataAsk.

Every error a user can cause is a :class:`DataAskError` with a short message that says
how to fix it. Errors also subclass the matching builtin (``KeyError``, ``ValueError``,
``PermissionError``, ...) so ordinary ``except`` clauses keep working. Front doors (CLI,
magics, HTTP handlers) print ``str(err)`` and never a traceback for these.

``http_status`` is the single mapping from domain error to HTTP status used by the server
extension; ``code`` is the stable machine-readable name in ``{"error": {"code": ...}}``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DataAskError(Exception):
    """Base class for every error DataAsk raises on purpose."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def to_dict(self) -> dict[str, str]:
        """The wire shape: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": str(self)}


class UsageError(DataAskError, ValueError):
    """Bad arguments to a command, magic or API call."""

    code = "bad_request"


class FlowError(UsageError):
    """A prep flow (or one step of it) is invalid: unknown column, type mismatch, bad option.

    Parameters
    ----------
    message
        One sentence a user can act on (with "did you mean" where it helps).
    step_id
        Id of the step at fault; ``None`` for problems of the flow as a whole.
    field
        The option of the step at fault, e.g. ``"conditions[0].column"``.
    hint
        Optional second line: how to fix it.
    """

    code = "flow_error"

    def __init__(self, message: str, *, step_id: str | None = None, field: str | None = None,
                 hint: str | None = None) -> None:
        self.step_id = step_id
        self.field = field
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict:
        """The wire shape, plus ``step_id`` and ``field`` so the prep canvas can mark the step."""
        out: dict = super().to_dict()
        out["step_id"] = self.step_id
        out["field"] = self.field
        return out


class ConfigError(DataAskError, RuntimeError):
    """The installation is misconfigured (environment, key file, store URL)."""

    code = "config_error"
    http_status = 500


class NotFound(DataAskError, KeyError):
    """A named object does not exist (or the caller may not know it exists)."""

    code = "not_found"
    http_status = 404


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"


class TableNotFound(NotFound):
    code = "table_not_found"


class AlreadyExists(DataAskError, ValueError):
    code = "conflict"
    http_status = 409


class Conflict(DataAskError, RuntimeError):
    """Optimistic-concurrency conflict: the object changed since it was read."""

    code = "conflict"
    http_status = 409


class Forbidden(DataAskError, PermissionError):
    code = "forbidden"
    http_status = 403


class PolicyViolation(Forbidden):
    """A connection URL, host or parameter the policy does not allow."""

    code = "policy_violation"
    http_status = 400


class UnsafeSQL(DataAskError, ValueError):
    """The read-only guard refused a statement."""

    code = "unsafe_sql"
    http_status = 400


class CredentialError(DataAskError, RuntimeError):
    """Stored credentials cannot be used (missing/weak key, failed authenticated decrypt)."""

    code = "credential_error"
    http_status = 400


class SourceError(DataAskError, RuntimeError):
    """A data source failed: unreachable, refused the query, or errored. Message is sanitized."""

    code = "source_error"
    http_status = 502


class QueryTimeout(SourceError, TimeoutError):
    code = "timeout"
    http_status = 504


class QueryCancelled(DataAskError, RuntimeError):
    code = "cancelled"
    http_status = 499


class TooLarge(DataAskError, ValueError):
    code = "too_large"
    http_status = 413


class StoreUnavailable(DataAskError, RuntimeError):
    """The metadata store cannot be reached (503, never 500)."""

    code = "store_unavailable"
    http_status = 503


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``' Did you mean 'x'?'`` for the closest candidate, or ``''``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
