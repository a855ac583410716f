"""IPython side of DataAsk: ``%dataask``, ``%%federate``, ``%%ask`` and the prep canvas widget.

``%load_ext dataask_jupyter`` (or ``%load_ext dataask_magics``) registers the magics.
``dataask_magics.PrepCanvas`` (or ``%dataask prep [NAME]``) opens the visual data-prep canvas.
"""

from __future__ import annotations

from . import prep_magic  # noqa: F401  (registers %dataask prep)
from .magic import DataAskMagics


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(DataAskMagics(shell=ipython))


def __getattr__(name: str):
    if name == "PrepCanvas":  # imported on first use: anywidget and the prep engine are not light
        from .prep_canvas import PrepCanvas

        return PrepCanvas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DataAskMagics", "PrepCanvas", "load_ipython_extension"]
