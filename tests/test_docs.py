"""Docs are tested: every CLI subcommand and option, magic subcommand and option, config
trait, environment variable and REST route appears in the README (or docs/)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _docs() -> str:
    parts = [(ROOT / "README.md").read_text()]
    parts += [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))] if (ROOT / "docs").is_dir() else []
    return "\n".join(parts)


def _cli_commands():
    from dataask_jupyter.cli import build_parser

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*prefix, name])
            elif action.option_strings and prefix:
                yield " ".join(prefix), max(action.option_strings, key=len)
        if prefix:
            yield " ".join(prefix), None

    return sorted(set(walk(build_parser(), [])), key=str)


@pytest.mark.parametrize("command, option", _cli_commands())
def test_cli_documented(command, option):
    docs = _docs()
    assert f"dataask {command}" in docs, f"`dataask {command}` is not in the README"
    if option and option != "--help":
        assert option in docs, f"option {option} of `dataask {command}` is not documented"


def test_magics_and_traits_documented():
    from dataask_magics.magic import SUBCOMMANDS, DataAskMagics

    docs = _docs()
    for sub in SUBCOMMANDS:
        assert f"%dataask {sub}" in docs, f"%dataask {sub} is not documented"
    for trait in DataAskMagics.class_trait_names(config=True):
        assert f"`{trait}`" in docs, f"config trait {trait} is not documented"
    for magic in DataAskMagics.magics["cell"]:
        assert f"%%{magic}" in docs


def test_federate_options_documented():
    from dataask_magics.federate import parser

    docs = _docs()
    for action in parser()._actions:
        if action.option_strings:
            assert any(opt in docs for opt in action.option_strings), action.option_strings


def test_environment_documented():
    source = "\n".join(p.read_text() for p in (ROOT / "dataask_jupyter").rglob("*.py"))
    docs = _docs()
    for var in sorted(set(re.findall(r"\bDATAASK_[A-Z_]+\b", source))):
        if var.startswith("DATAASK_TEST_"):
            continue
        assert var in docs, f"{var} is read by the code but not documented"


def test_rest_routes_documented():
    from dataask_server.app import ROUTES

    docs = _docs()
    for pattern, _handler in ROUTES:
        readable = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        assert readable in docs, f"route {readable} is not documented"
