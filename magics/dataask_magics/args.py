"""Argument parsing for magics: argparse that raises instead of exiting the kernel."""

from __future__ import annotations

import argparse
import shlex

from dataask_jupyter.errors import UsageError


class MagicArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors become :class:`UsageError` (no ``SystemExit`` in a kernel)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("exit_on_error", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # noqa: D401 - argparse hook
        raise UsageError(f"{self.prog}: {message}", hint=self.format_usage().strip())

    def exit(self, status=0, message=None):
        raise UsageError(message or self.format_usage().strip())


def split(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"Could not parse the magic's arguments: {exc}.") from None
