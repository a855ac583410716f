"""The prep error, re-exported: :class:`~dataask_jupyter.errors.FlowError` lives in the one
exception tree of :mod:`dataask_jupyter.errors` (a ``UsageError``, code ``flow_error``)."""

from __future__ import annotations

from ..errors import FlowError

__all__ = ["FlowError"]
