"""The answer to one question (:class:`AskResult`) and a conversation of them (:class:`Conversation`)."""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..errors import DataAskError
from .values import rows as _rows

__all__ = ["AskResult", "Conversation", "Replay", "Turn"]

HTML_ROWS = 50
TIMING_KEYS = ("retrieve", "generate", "execute", "total")


@dataclass
class AskResult:
    """Everything about one answered question.

    ``to_dict()`` is the ``dataask ask --json`` shape: ``question, sql, federated, engine,
    columns, rows, row_count, chart, insights, timings {retrieve, generate, execute, total},
    attempts``.

    Attributes
    ----------
    table
        The result as a pyarrow table (None with ``run=False``).
    explanation
        One note per stage (intent, retrieval, linking, time ranges, validation...).
    attempt_log
        ``[{"sql", "error"}]`` per attempt, the last one successful unless it failed.
    stage_timings
        Seconds per stage: intent, retrieve, generate, validate, execute, chart, total.
    """

    question: str
    sql: str
    federated: bool
    engine: str
    connections: list[str] = field(default_factory=list)
    table: pa.Table | None = None
    truncated: bool = False
    chart: dict | None = None
    insights: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TIMING_KEYS, 0.0))
    attempts: int = 1
    explanation: list[str] = field(default_factory=list)
    attempt_log: list[dict] = field(default_factory=list)
    stage_timings: dict[str, float] = field(default_factory=dict)
    intent: str = "data"
    dialect: str = "duckdb"
    explain: bool = False

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names) if self.table is not None else []

    @property
    def rows(self) -> list[list]:
        """Rows as lists of JSON-friendly values (Decimal -> float, dates -> ISO text)."""
        return _rows(self.table)

    @property
    def row_count(self) -> int:
        return self.table.num_rows if self.table is not None else 0

    def to_dataframe(self):
        """The result as a pandas DataFrame."""
        return self.table.to_pandas() if self.table is not None else None

    def to_dict(self, *, explain: bool | None = None) -> dict[str, Any]:
        """The CLI JSON shape; with ``explain`` (default: as asked) also ``explanation``, ``attempt_log``,
        ``stage_timings``, ``connections`` and ``truncated``."""
        explain = self.explain if explain is None else explain
        out = {
            "question": self.question, "sql": self.sql, "federated": self.federated, "engine": self.engine,
            "columns": self.columns, "rows": self.rows, "row_count": self.row_count, "chart": self.chart,
            "insights": list(self.insights),
            "timings": {k: round(float(self.timings.get(k, 0.0)), 6) for k in TIMING_KEYS},
            "attempts": self.attempts,
        }
        if explain:
            out["explanation"] = list(self.explanation)
            out["attempt_log"] = list(self.attempt_log)
            out["stage_timings"] = {k: round(v, 6) for k, v in self.stage_timings.items()}
            out["connections"] = list(self.connections)
            out["truncated"] = self.truncated
        return out

    def to_record(self, asker: str | None = None) -> dict[str, Any]:
        """A conversation record for the metadata store (see :meth:`Conversation.to_records`)."""
        return {
            "question": self.question, "sql": self.sql, "engine": self.engine, "federated": self.federated,
            "connections": list(self.connections), "timings": dict(self.timings), "chart": self.chart,
            "insights": list(self.insights), "row_count": self.row_count, "intent": self.intent,
            "asker": asker, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        }

    # -- display ---------------------------------------------------------------------------------
    def _html(self) -> str:
        e = html.escape
        parts = ['<div class="dataask-answer">']
        where = " + ".join(self.connections) + (" (federated)" if self.federated else "")
        parts.append(f"<details><summary>SQL · {e(where)} · {e(self.engine)} · "
                     f"{self.timings.get('total', 0.0) * 1000:.0f} ms</summary>"
                     f"<pre><code class=\"language-sql\">{e(self.sql)}</code></pre></details>")
        if self.explanation and self.explain:
            parts.append("<details open><summary>How this was answered</summary><ul>"
                         + "".join(f"<li>{e(n)}</li>" for n in self.explanation) + "</ul></details>")
        if self.table is not None:
            head = "".join(f"<th>{e(str(c))}</th>" for c in self.columns)
            body = "".join("<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in r) + "</tr>"
                           for r in _rows(self.table, HTML_ROWS))
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            more = self.row_count - min(self.row_count, HTML_ROWS)
            if more > 0 or self.truncated:
                parts.append(f"<p>{self.row_count:,} rows{' (capped)' if self.truncated else ''}; "
                             f"showing {min(self.row_count, HTML_ROWS)}.</p>")
        if self.insights:
            parts.append("<ul>" + "".join(f"<li>{e(s)}</li>" for s in self.insights) + "</ul>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle: dict[str, Any] = {"text/plain": self._text(), "text/html": self._html()}
        if self.chart is not None:
            bundle["application/vnd.vegalite.v5+json"] = self.chart
        return bundle

    def _text(self) -> str:
        lines = [self.sql, f"{self.row_count} rows"] + [f"- {s}" for s in self.insights]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"AskResult(question={self.question!r}, engine={self.engine!r}, rows={self.row_count})"

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)


@dataclass
class Turn:
    """One answered question of a conversation and the engine state for follow-ups.

    ``restored`` turns were read back from the metadata store (after a kernel restart): they
    have no engine state, so :meth:`Conversation.context` rebuilds one from their text.
    """

    result: AskResult
    state: Any = None
    asker: str | None = None
    restored: bool = False


@dataclass(frozen=True)
class Replay:
    """Follow-up context of a restored conversation for the offline engine: the questions,
    oldest first, from the last new question to the latest follow-up, as ``(question, intent)``."""

    questions: tuple[tuple[str, str], ...]


class Conversation:
    """Context kept across questions so follow-ups ("now by month", "only for Europe") work.

    Parameters
    ----------
    workspace
        Workspace the conversation belongs to.
    asker
        Who asks (stored with each record).
    """

    def __init__(self, workspace: str = "default", asker: str | None = None, *,
                 sink: Any = None, conversation_id: int | None = None) -> None:
        self.workspace = workspace
        self.asker = asker
        self.turns: list[Turn] = []
        self.id = conversation_id
        self._sink = sink  # sink(conversation, result): persists each answered turn
        self._lock = threading.Lock()

    def context(self, engine: str) -> Any:
        """Engine state of the latest turn answered by ``engine`` (None when there is none).

        For a turn restored from the store: a :class:`Replay` for the offline engine, and
        ``{"question", "sql"}`` (what the LLM engine keeps) for a model.
        """
        with self._lock:
            for i in range(len(self.turns) - 1, -1, -1):
                turn = self.turns[i]
                if turn.result.engine == engine or (engine != "offline" and turn.result.engine != "offline"):
                    if not turn.restored:
                        return turn.state
                    if engine != "offline":
                        return {"question": turn.result.question, "sql": turn.result.sql}
                    return self._replay(i)
        return None

    def _replay(self, last: int) -> Replay | None:
        chain: list[tuple[str, str]] = []
        for turn in reversed(self.turns[: last + 1]):
            if turn.result.engine != "offline" or turn.result.intent == "pair":
                break
            chain.append((turn.result.question, turn.result.intent))
            if turn.result.intent != "follow_up":
                break
        return Replay(tuple(reversed(chain))) if chain else None

    def restore(self, result: AskResult) -> None:
        """Append a turn read back from the store (no rows, no engine state)."""
        with self._lock:
            self.turns.append(Turn(result, None, self.asker, restored=True))

    @property
    def last(self) -> AskResult | None:
        return self.turns[-1].result if self.turns else None

    def add(self, result: AskResult, state: Any = None) -> None:
        """Append an answered turn (and persist it when the conversation has a store sink)."""
        with self._lock:
            self.turns.append(Turn(result, state, self.asker))
        if self._sink is not None:
            try:
                self._sink(self, result)
            except DataAskError as exc:  # the answer stands; say that history did not keep it
                result.explanation.append(f"history: not saved ({str(exc).splitlines()[0]})")

    def clear(self) -> None:
        with self._lock:
            self.turns.clear()

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per turn: question, sql, engine, federated, connections, timings, chart (Vega-Lite),
        insights, row_count, intent, asker, created_at."""
        return [t.result.to_record(t.asker) for t in self.turns]

    def __len__(self) -> int:
        return len(self.turns)
