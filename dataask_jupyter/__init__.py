"""DataAsk for Jupyter: the core engine (pure Python; no kernel or server imports).

``%load_ext dataask_jupyter`` loads the magics from :mod:`dataask_magics`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .config import Settings
from .errors import DataAskError

if TYPE_CHECKING:  # imported lazily: `import dataask_jupyter.config` must not pull in ibis
    from .connections import ConnectionInfo, ConnectionList, QueryResult
    from .core import DataAsk

_LAZY = {
    "DataAsk": ".core",
    "ConnectionInfo": ".connections",
    "ConnectionList": ".connections",
    "QueryResult": ".connections",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'dataask_jupyter' has no attribute {name!r}")

__version__ = "0.1.0"
__all__ = [
    "ConnectionInfo", "ConnectionList", "DataAsk", "DataAskError", "QueryResult", "Settings", "__version__",
    "connect", "connections", "get_default", "sql",
]

_default: DataAsk | None = None
_default_lock = threading.Lock()


def get_default() -> DataAsk:
    """The process-wide :class:`DataAsk` built from the environment (created on first use).

    Library code and tests should build their own ``DataAsk(settings)`` instead.
    """
    global _default
    with _default_lock:
        if _default is None:
            from .core import DataAsk

            _default = DataAsk()
        return _default


def connect(name: str, url: str, **kwargs) -> ConnectionInfo:
    """Test and save a named connection; see :meth:`DataAsk.connect`."""
    return get_default().connect(name, url, **kwargs)


def connections(workspace: str = "default") -> ConnectionList:
    """All connections of ``workspace`` with their live health."""
    return get_default().list_connections(workspace)


def sql(name: str, query: str, **kwargs) -> QueryResult:
    """Run one read-only query on connection ``name``."""
    return get_default().sql(name, query, **kwargs)


def load_ipython_extension(ipython) -> None:
    """``%load_ext dataask_jupyter``: delegate to the IPython side, imported only here."""
    from dataask_magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points():
    return [{"module": "dataask_server"}]


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (built from ``labextension/`` into ``labextension``)."""
    return [{"src": "labextension", "dest": "dataask-jupyter"}]
