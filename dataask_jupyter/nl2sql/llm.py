"""The LLM engine: ``litellm.completion`` with the relevant schema, knowledge and the question.

Any litellm provider works (``openai/...``, ``anthropic/...``, ``ollama/...``); extra keyword
arguments (``api_base`` for a local server, ``api_key``, ``mock_response`` in tests) pass
through. The reply is only ever *parsed* for one SQL statement, which the pipeline then
validates (read-only guard + schema check) before anything runs; code in any other form is
ignored. On an error the pipeline calls :meth:`LLMEngine.generate` again with the failed
attempts in ``request.feedback`` (at most :attr:`LLMEngine.max_attempts` times).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot.errors import SqlglotError

from ..errors import DataAskError
from .base import Generation, GenerationRequest
from .errors import GenerationFailed
from .prompt import build_messages
from .schema import SchemaCatalog
from .validate import referenced_tables

__all__ = ["BadReply", "LLMEngine", "LLMUnavailable", "extract_sql", "locate"]

_FENCED = re.compile(r"```[ \t]*(?:sql|SQL|duckdb|sqlite|postgres|postgresql|mysql)?[ \t]*\n(.*?)```", re.S)
_BARE = re.compile(r"^\s*(WITH|SELECT|VALUES)\b", re.I)


class BadReply(GenerationFailed):
    """The model's reply held no SQL statement (the pipeline asks again)."""

    code = "bad_reply"


class LLMUnavailable(GenerationFailed):
    """The model could not be called (network, key, provider error); not retried."""

    code = "llm_unavailable"
    http_status = 502


def extract_sql(reply: str) -> str:
    """The SQL of a reply: the first ```sql block, else a reply that starts with SELECT/WITH.

    Raises
    ------
    BadReply
        When the reply holds no SQL.
    """
    text = reply or ""
    m = _FENCED.search(text)
    if m:
        sql = m.group(1)
    elif _BARE.match(text):
        sql = text
    else:
        raise BadReply("The model's reply held no SQL code block.")
    sql = sql.strip().rstrip(";").strip()
    if not sql:
        raise BadReply("The model's reply held an empty SQL block.")
    return sql


def locate(sql: str, catalog: SchemaCatalog, preferred: list[str] | None = None) -> tuple[list[str], bool, str]:
    """Where ``sql`` runs: ``(connections, federated, dialect)``.

    Tables written ``connection.table`` mean federated DuckDB SQL. Bare names run on the
    connection that has all of them (preferring ``preferred``).
    """
    tree = None
    for dialect in ("duckdb", "postgres", "mysql", "sqlite"):
        try:
            tree = sqlglot.parse_one(sql, read=dialect)
            break
        except SqlglotError:
            continue
    if tree is None:
        conn = (preferred or catalog.connections or ["?"])[0]
        return [conn], False, catalog.dialect(conn)
    tables = referenced_tables(tree)
    conns = {c.lower(): c for c in catalog.connections}
    qualified = sorted({conns[db.lower()] for db, _ in tables if db and db.lower() in conns})
    if qualified:
        return qualified, True, "duckdb"
    names = {n.lower() for _, n in tables}
    order = list(dict.fromkeys((preferred or []) + catalog.connections))
    for conn in order:
        have = {k[1].lower() for k in catalog.tables if k[0] == conn}
        if names and names <= have:
            return [conn], False, catalog.dialect(conn)
    conn = order[0] if order else "?"
    return [conn], False, catalog.dialect(conn)


class LLMEngine:
    """Question -> SQL through ``litellm.completion``.

    Parameters
    ----------
    model
        litellm model name, e.g. ``openai/gpt-4o-mini`` or ``ollama/llama3``.
    completion
        Callable with ``litellm.completion``'s signature (tests may wrap it); default
        ``litellm.completion``.
    max_tables
        Tables described in the prompt.
    **options
        Passed to ``completion`` (``api_base``, ``api_key``, ``temperature``, ``timeout``,
        ``mock_response``...).
    """

    max_attempts = 3

    def __init__(self, model: str, *, completion: Callable[..., Any] | None = None, max_tables: int = 10,
                 **options: Any) -> None:
        self.model = model
        self.name = model
        self.max_tables = max_tables
        self.options = {"temperature": 0.0, "timeout": 60.0, **options}
        self._completion = completion
        self.calls: list[list[dict]] = []  # messages of every call, for --explain and tests

    def _complete(self, messages: list[dict]) -> str:
        fn = self._completion
        if fn is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
            import litellm

            fn = litellm.completion
        self.calls.append(messages)
        try:
            response = fn(model=self.model, messages=messages, **self.options)
        except DataAskError:
            raise
        except Exception as exc:  # provider, network or auth error: say which, never the key
            text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            key = self.options.get("api_key")
            if key:
                text = text.replace(str(key), "***")
            raise LLMUnavailable(f"The model {self.model} could not answer: {text}") from None
        try:
            return response.choices[0].message.content or ""
        except (AttributeError, IndexError, KeyError, TypeError):
            return str(response)

    def generate(self, request: GenerationRequest) -> Generation:
        """One attempt: prompt, call, parse the SQL and locate its connection(s)."""
        messages = build_messages(request, max_tables=self.max_tables)
        reply = self._complete(messages)
        sql = extract_sql(reply)
        ranked = getattr(request.retrieval, "tables", None) or []
        preferred = list(dict.fromkeys(k[0] for k, _ in ranked))
        conns, federated, dialect = locate(sql, request.catalog, preferred)
        tables = sorted({".".join(k) for k, _ in ranked})
        notes = [f"prompt described {len(tables)} table(s): {', '.join(tables[:10])}",
                 "row data sent: " + ("low-cardinality values" if request.allow_samples else "none")]
        if request.feedback:
            notes.append(f"attempt {len(request.feedback) + 1} after: {request.feedback[-1].get('error')}")
        return Generation(sql, dialect, conns, federated, notes,
                          state={"question": request.question, "sql": sql},
                          intent="follow_up" if isinstance(request.context, dict) else "data",
                          retrieved=tables, prompt=messages)
