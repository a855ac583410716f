"""HTML rendering helpers for result objects (pure Python; every value is escaped)."""

from __future__ import annotations

from .html import badge, html_table

__all__ = ["badge", "html_table"]
