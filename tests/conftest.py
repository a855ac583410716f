"""Shared pytest setup: real test servers (tests/services.py) and Jupyter Server fixtures."""

from __future__ import annotations

import importlib.util

pytest_plugins = ["pytest_jupyter.jupyter_server"]
if importlib.util.find_spec("tests.services") is not None:
    pytest_plugins.append("tests.services")
