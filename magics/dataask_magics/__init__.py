"""IPython side of DataAsk: ``%dataask`` (and, as they land, ``%%federate`` and ``%%ask``).

``%load_ext dataask_jupyter`` (or ``%load_ext dataask_magics``) registers the magics.
"""

from __future__ import annotations

from .magic import DataAskMagics


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(DataAskMagics(shell=ipython))


__all__ = ["DataAskMagics", "load_ipython_extension"]
