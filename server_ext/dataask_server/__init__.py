"""Jupyter Server extension: DataAsk's REST API under ``/dataask/api/`` (handlers only).

Enabled automatically on install through ``jupyter-config/jupyter_server_config.d``.
"""

from __future__ import annotations

from .app import load_extension


def _jupyter_server_extension_points():
    return [{"module": "dataask_server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    load_extension(serverapp)
