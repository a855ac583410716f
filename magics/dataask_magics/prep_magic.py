"""``%dataask prep [NAME]``: open the prep canvas on a new flow, or on the saved flow ``NAME``
of the current workspace (registered when :mod:`dataask_magics` is imported)."""

from __future__ import annotations

from .args import MagicArgumentParser
from .magic import subcommand


@subcommand("prep")
def handle_prep(magics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask prep")
    p.add_argument("name", nargs="?", help="a saved flow (dataset) of the workspace to open")
    a = p.parse_args(argv)
    from .prep_canvas import PrepCanvas  # anywidget and the prep engine load on first use

    return PrepCanvas(workspace=magics.workspace, name=a.name, dataask=magics.app)
