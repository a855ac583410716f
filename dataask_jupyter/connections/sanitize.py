"""Make driver error messages safe to show: no passwords, no full URIs, no DSN keywords."""

from __future__ import annotations

import re
from collections.abc import Iterable

_URI = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"[^\s/@:'\"]+:[^\s/@'\"]*@")  # user:pass@ outside a URI
_KV_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)\s*[=:]\s*"
    r"('[^']*'|\"[^\"]*\"|[^\s;,&)]+)"
)
_MAX_LEN = 400


def sanitize_error(message: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``message`` with secrets, URIs and ``password=...`` pairs removed.

    Parameters
    ----------
    message
        A driver's error text.
    secrets
        Literal strings that must never appear (the password, the full URL ...).
    """
    text = str(message)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    text = _URI.sub("<url>", text)
    text = _USERINFO.sub("***@", text)
    text = _KV_SECRET.sub(lambda m: f"{m.group(1)}=***", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # drivers put the useful part first; LINE/HINT context after it may quote SQL
    text = " ".join(lines[:2])
    if len(text) > _MAX_LEN:
        text = text[: _MAX_LEN - 1] + "…"
    return text or "unknown error"


GENERIC_SOURCE_ERROR = "The data source could not answer this query."
