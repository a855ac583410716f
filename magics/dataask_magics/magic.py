"""``%dataask <subcommand>``: a thin front door; each subcommand is one call into the core.

User errors are shown as one short message with the fix, never a traceback.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, Float, Int, Unicode

from dataask_jupyter.core import DataAsk as DataAskCore
from dataask_jupyter.errors import DataAskError, UsageError

from .args import MagicArgumentParser, split

SUBCOMMANDS: dict[str, Callable] = {}
RAW_SUBCOMMANDS: set[str] = set()  # get the rest of the line unsplit (SQL keeps its quotes)


def subcommand(name: str, *, raw: bool = False):
    def register(fn):
        SUBCOMMANDS[name] = fn
        if raw:
            RAW_SUBCOMMANDS.add(name)
        return fn

    return register


def show_error(exc: DataAskError) -> None:
    print(f"DataAsk: {exc}", file=sys.stderr)


@magics_class
class DataAskMagics(Magics):
    """Configure with ``%config DataAsk.<trait> = value``."""

    # the configurable's name users type in %config
    workspace = Unicode("default", help="Workspace the magics work in.").tag(config=True)
    max_rows = Int(0, help="Row cap for results (0: DATAASK_MAX_ROWS).").tag(config=True)
    timeout = Float(0.0, help="Query timeout in seconds (0: DATAASK_QUERY_TIMEOUT).").tag(config=True)
    model = Unicode("", help="LLM for %%ask through litellm (empty: offline engine or DATAASK_LLM_MODEL).").tag(config=True)
    allow_samples = Bool(False, help="Let %%ask send low-cardinality column values to an LLM.").tag(config=True)

    def __init__(self, shell=None, app: DataAskCore | None = None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._app = app
        self.conversations: dict = {}  # workspace -> Conversation, for %%ask follow-ups

    @property
    def app(self) -> DataAskCore:
        if self._app is None:
            self._app = DataAskCore()
        return self._app

    @line_magic("dataask")
    def dataask(self, line: str):
        """%dataask connect NAME URL | connections | tables NAME | test NAME | remove NAME | sql NAME QUERY"""
        try:
            head, _, rest = line.strip().partition(" ")
            if head in RAW_SUBCOMMANDS:
                return SUBCOMMANDS[head](self, rest)
            words = split(line)
            if not words or words[0] not in SUBCOMMANDS:
                raise UsageError(
                    f"Unknown %dataask subcommand {words[0]!r}." if words else "%dataask needs a subcommand.",
                    hint=f"Use one of: {', '.join(sorted(SUBCOMMANDS))}.",
                )
            return SUBCOMMANDS[words[0]](self, words[1:])
        except DataAskError as exc:
            show_error(exc)
            return None

    @line_magic("ask")
    def ask_line(self, line: str):
        """%ask QUESTION: answer a question in plain language (follow-ups keep context)."""
        return self._ask("", line)

    @cell_magic("ask")
    def ask(self, line: str, cell: str):
        """%%ask [--connection NAME ...] [--model M] [--explain] [--no-run] [--no-chart] [--new] [-o VAR]"""
        return self._ask(line, cell)

    def _ask(self, options: str, question: str):
        from . import ask

        try:
            return ask.run(self, options, question)
        except DataAskError as exc:
            show_error(exc)
            return None

    @cell_magic("federate")
    def federate(self, line: str, cell: str):
        """%%federate [--explain] [--no-cache] [--timeout S] [--limit N] [-o VAR]: SQL across connections."""
        from . import federate

        try:
            return federate.run(self, line, cell)
        except DataAskError as exc:
            show_error(exc)
            return None


from . import ask as _ask  # noqa: E402,F401  (registers history, teach, instruct, knowledge)

DataAskMagics.__name__ = "DataAsk"  # so %config DataAsk.workspace works
DataAskMagics.__qualname__ = "DataAsk"


@subcommand("connect")
def _connect(magics: DataAskMagics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask connect")
    p.add_argument("name")
    p.add_argument("url")
    p.add_argument("--password-prompt", "-W", action="store_true")
    p.add_argument("--replace", action="store_true")
    p.add_argument("--allow-views", action="store_true")
    a = p.parse_args(argv)
    password = getpass.getpass(f"Password for {a.name}: ") if a.password_prompt else None
    info = magics.app.connect(a.name, a.url, workspace=magics.workspace, password=password, replace=a.replace,
                              allow_views=a.allow_views)
    print(f"Connected '{info.name}' ({info.family}).")
    return magics.app.list_connections(magics.workspace)


@subcommand("connections")
def _connections(magics: DataAskMagics, argv: list[str]):
    MagicArgumentParser(prog="%dataask connections").parse_args(argv)
    return magics.app.list_connections(magics.workspace)


@subcommand("tables")
def _tables(magics: DataAskMagics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask tables")
    p.add_argument("name")
    a = p.parse_args(argv)
    return TableList(a.name, magics.app.connections.tables(a.name, magics.workspace, fresh=True))


@subcommand("test")
def _test(magics: DataAskMagics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask test")
    p.add_argument("name")
    a = p.parse_args(argv)
    result = magics.app.connections.test(a.name, magics.workspace)
    if not result.ok:
        raise UsageError(f"'{a.name}' is not reachable: {result.message}")
    return magics.app.connections.info(a.name, magics.workspace)


@subcommand("remove")
def _remove(magics: DataAskMagics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask remove")
    p.add_argument("name")
    a = p.parse_args(argv)
    magics.app.connections.remove(a.name, magics.workspace)
    print(f"Removed '{a.name}'.")


@subcommand("sql")
def _sql(magics: DataAskMagics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask sql")
    p.add_argument("name")
    p.add_argument("query", nargs="+")
    a = p.parse_args(argv)
    return magics.app.sql(a.name, " ".join(a.query), workspace=magics.workspace,
                          max_rows=magics.max_rows or None, timeout=magics.timeout or None)


class TableList(list):
    def __init__(self, connection: str, tables: list[str]):
        super().__init__(tables)
        self.connection = connection

    def _repr_mimebundle_(self, include=None, exclude=None):
        from dataask_jupyter.display.html import html_table

        return {
            "text/plain": "\n".join(self) or f"'{self.connection}' has no tables.",
            "text/html": html_table([f"tables in {self.connection}"], [[t] for t in self]),
        }
