"""``Asker``: one question in, one :class:`AskResult` out, every stage timed.

Stages: intent (new question or follow-up of the conversation) -> retrieve (schema
catalog, relevant tables) -> generate (offline engine or LLM) -> validate (read-only
guard + schema check) -> execute (one connection, or the federation runner for
``connection.table`` SQL; row cap and timeout) -> self-correct (an LLM gets the error back,
at most ``max_attempts`` tries) -> chart and insights.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from ..errors import DataAskError, NotFound, SourceError, UnsafeSQL, UsageError
from ..safety import assert_read_only
from .base import Engine, Generation, GenerationRequest
from .charts import choose_chart
from .errors import FederationUnavailable, GenerationFailed, SchemaCheckFailed
from .insights import insights as compute_insights
from .knowledge import KnowledgeStore, SqlPair
from .offline import OfflineEngine
from .result import AskResult, Conversation
from .retrieval import retrieve
from .schema import SchemaCatalog
from .validate import validate_sql

__all__ = ["Asker", "RunFederated", "as_arrow"]

RunFederated = Callable[[str], Any]  # federated SQL -> pyarrow.Table, DataFrame or an object with .table


def as_arrow(obj: Any) -> tuple[pa.Table, bool]:
    """Normalize what a runner returns (pyarrow table, pandas frame, ``.table`` holder) plus its truncated flag."""
    truncated = bool(getattr(obj, "truncated", False))
    table = getattr(obj, "table", obj)
    if isinstance(table, pa.Table):
        return table, truncated
    if isinstance(table, pa.RecordBatchReader):
        return table.read_all(), truncated
    if hasattr(table, "to_arrow"):
        return table.to_arrow(), truncated
    if hasattr(table, "columns") and hasattr(table, "to_dict"):
        return pa.Table.from_pandas(table, preserve_index=False), truncated
    raise TypeError(f"run_federated returned {type(obj).__name__}; expected a pyarrow Table or DataFrame")


class Asker:
    """Answers questions over the connections of one workspace.

    Parameters
    ----------
    connections
        A ``ConnectionManager`` (``DataAsk.connections``).
    workspace
        Workspace whose connections and knowledge are used.
    settings
        ``Settings``; gives the default LLM model, row cap and timeout.
    run_federated
        ``run_federated(sql)`` runs DuckDB SQL over ``connection.table`` names (the
        federation engine). Without it, questions spanning databases raise
        :class:`FederationUnavailable`.
    knowledge
        SQL pairs and instructions (:class:`KnowledgeStore`).
    model
        LLM model for the LLM engine (default ``settings.llm_model``); None means offline.
    llm_options
        Extra keyword arguments for ``litellm.completion`` (``api_base``, ``api_key``,
        ``mock_response``, ``timeout``...).
    allow_samples
        Send low-cardinality values to the LLM (never row data otherwise).
    catalog
        A prebuilt catalog (otherwise read from the connections on first use and cached).
    """

    def __init__(self, connections, *, workspace: str = "default", settings=None,
                 run_federated: RunFederated | None = None, knowledge: KnowledgeStore | None = None,
                 model: str | None = None, llm_options: dict | None = None, allow_samples: bool = False,
                 max_rows: int | None = None, timeout: float | None = None,
                 catalog: SchemaCatalog | None = None) -> None:
        self.manager = connections
        self.workspace = workspace
        self.settings = settings if settings is not None else getattr(connections, "settings", None)
        self.run_federated = run_federated
        self.knowledge = knowledge
        self.model = model or (self.settings.llm_model if self.settings is not None else None)
        self.llm_options = dict(llm_options or {})
        self.allow_samples = allow_samples
        self.max_rows = max_rows or (self.settings.max_rows if self.settings is not None else 100_000)
        self.timeout = timeout or (self.settings.query_timeout if self.settings is not None else 30.0)
        self._catalog = catalog
        self._lock = threading.RLock()
        self.offline = OfflineEngine()

    @classmethod
    def from_dataask(cls, da, **kwargs) -> Asker:
        """An asker over a :class:`dataask_jupyter.core.DataAsk`."""
        return cls(da.connections, settings=da.settings, **kwargs)

    # -- schema ----------------------------------------------------------------------------------
    def catalog(self, connections: Sequence[str] | None = None) -> SchemaCatalog:
        """The workspace catalog (built once, with guarded queries), or its subset for ``connections``.

        Raises
        ------
        ConnectionNotFound
            A name in ``connections`` is not a connection of the workspace.
        SourceError
            A connection's schema could not be read (or it has no tables).
        """
        with self._lock:
            if self._catalog is None:
                self._catalog = SchemaCatalog.from_manager(self.manager, self.workspace, timeout=self.timeout)
            if not connections:
                return self._catalog
            missing = [c for c in connections if c not in self._catalog.connections]
            if missing:
                for name in missing:
                    self.manager.record(name, self.workspace)  # unknown name -> ConnectionNotFound
                self._catalog = SchemaCatalog.from_manager(self.manager, self.workspace, timeout=self.timeout)
                still = [c for c in connections if c not in self._catalog.connections]
                if still:
                    why = "; ".join(n for n in self._catalog.notes if n.split(":")[0] in still)
                    raise SourceError(f"No tables could be read from {', '.join(still)}."
                                      + (f" ({why})" if why else ""))
            return self._catalog.subset(connections)

    def prepare(self) -> None:
        """Do the one-time work ahead of the first question: read the schema and load Altair.

        The first question otherwise pays for both (about a second for the demo schema,
        several seconds for importing Altair). Safe to call from a background thread.
        """
        self.catalog()
        import altair  # noqa: F401

    def refresh_schema(self) -> None:
        """Forget the cached catalog (after connections or tables changed)."""
        with self._lock:
            self._catalog = None

    # -- engines -----------------------------------------------------------------------------------
    def engine(self, engine: str | Engine | None = None) -> Engine:
        """``None``: the configured model, else offline; ``"offline"``; a model name; or an engine object."""
        if engine is not None and not isinstance(engine, str):
            return engine
        name = engine or self.model
        if not name or name == "offline":
            return self.offline
        from .llm import LLMEngine

        return LLMEngine(name, **self.llm_options)

    # -- asking -------------------------------------------------------------------------------------
    def ask(self, question: str, *, connections: Sequence[str] | None = None, engine: str | Engine | None = None,
            explain: bool = False, run: bool = True, conversation: Conversation | None = None,
            chart: bool = True, allow_samples: bool | None = None) -> AskResult:
        """Answer ``question``.

        Parameters
        ----------
        question
            Plain-language question.
        connections
            Restrict to these connections (default: all of the workspace).
        engine
            See :meth:`engine`.
        explain
            Show the stage notes (always recorded in ``explanation``) in the HTML display and
            include them in :meth:`AskResult.to_dict`.
        run
            False: generate and validate only.
        conversation
            Context for follow-ups; the answered turn is appended to it.
        chart
            Choose a chart.
        allow_samples
            Override the asker's ``allow_samples`` for this question.

        Raises
        ------
        NotUnderstood, NeedsClarification
            The question could not be mapped (nothing ran).
        GenerationFailed
            No valid, runnable SQL after the engine's attempts.
        """
        started = time.perf_counter()
        stages: dict[str, float] = {}
        eng = self.engine(engine)
        notes: list[str] = []

        t = time.perf_counter()
        context = conversation.context(eng.name) if conversation is not None else None
        stages["intent"] = time.perf_counter() - t

        t = time.perf_counter()
        catalog = self.catalog(connections)
        ranked = retrieve(catalog, self.offline.index(catalog), question)
        stages["retrieve"] = time.perf_counter() - t
        notes.append(f"retrieve: {ranked.describe() or 'no table matched by name'}")

        request = GenerationRequest(question, catalog, self.workspace, self.knowledge, context,
                                    allow_samples=self.allow_samples if allow_samples is None else allow_samples,
                                    retrieval=ranked)
        log: list[dict] = []
        stages["generate"] = stages["validate"] = stages["execute"] = 0.0
        table, truncated, gen = None, False, None
        max_attempts = max(1, int(getattr(eng, "max_attempts", 1)))
        for attempt in range(1, max_attempts + 1):
            t = time.perf_counter()
            try:
                gen = eng.generate(request)
            except GenerationFailed as exc:  # a reply without SQL: ask again; an unreachable model: stop
                stages["generate"] += time.perf_counter() - t
                log.append({"sql": None, "error": str(exc)})
                if getattr(exc, "code", "") != "bad_reply" or attempt == max_attempts:
                    if attempt > 1:
                        raise GenerationFailed(f"No valid SQL after {attempt} attempt(s); last error: {exc}",
                                               attempts=log) from exc
                    raise
                request.feedback = list(log)
                continue
            stages["generate"] += time.perf_counter() - t
            try:
                t = time.perf_counter()
                try:
                    self._validate(gen, catalog)
                finally:
                    stages["validate"] += time.perf_counter() - t
                if run:
                    t = time.perf_counter()
                    try:
                        table, truncated = self._execute(gen)
                    finally:
                        stages["execute"] += time.perf_counter() - t
                    if table.num_rows == 0 and attempt < max_attempts and eng is not self.offline:
                        log.append({"sql": gen.sql, "error": "The query ran but returned no rows; check filters "
                                                             "and values against the schema."})
                        request.feedback = list(log)
                        continue
                log.append({"sql": gen.sql, "error": None})
                break
            except FederationUnavailable:
                raise
            except (UnsafeSQL, SchemaCheckFailed, DataAskError) as exc:
                log.append({"sql": gen.sql, "error": str(exc)})
                if eng is self.offline or attempt == max_attempts:
                    if eng is self.offline:
                        raise
                    raise GenerationFailed(
                        f"No valid SQL after {attempt} attempt(s); last error: {str(exc).splitlines()[0]}",
                        attempts=log) from exc
                request.feedback = list(log)
        assert gen is not None
        notes += [f"generate ({eng.name}): {n}" for n in gen.notes]
        notes.append("validate: read-only guard passed; every table and column exists")
        if run and table is not None:
            where = f"federated over {', '.join(gen.connections)}" if gen.federated else f"on {gen.connections[0]}"
            notes.append(f"execute: {where}, {table.num_rows} rows{' (capped)' if truncated else ''}")
        if len(log) > 1:
            notes.append(f"self-correct: {len(log)} attempts")

        t = time.perf_counter()
        spec = choose_chart(table, title=question) if (chart and table is not None) else None
        found = compute_insights(table) if table is not None else []
        stages["chart"] = time.perf_counter() - t
        stages["total"] = time.perf_counter() - started
        result = AskResult(
            question=question, sql=gen.sql, federated=gen.federated, engine=eng.name if eng is self.offline
            else getattr(eng, "model", eng.name), connections=list(gen.connections), table=table, truncated=truncated,
            chart=spec, insights=found,
            timings={"retrieve": stages["retrieve"], "generate": stages["generate"] + stages["validate"],
                     "execute": stages["execute"], "total": stages["total"]},
            attempts=len(log), explanation=[f"intent: {gen.intent}"] + notes, attempt_log=log,
            stage_timings=stages, intent=gen.intent, dialect=gen.dialect, explain=explain,
        )
        if conversation is not None:
            conversation.add(result, gen.state)
        return result

    # -- knowledge -----------------------------------------------------------------------------------
    def _require_knowledge(self) -> KnowledgeStore:
        if self.knowledge is None:
            raise UsageError("This asker has no knowledge store to teach.")
        return self.knowledge

    def teach(self, question: str, sql: str, *, connection: str | None = None) -> SqlPair:
        """Store a question with the SQL that answers it, after the same checks generated SQL gets.

        The SQL must pass the read-only guard and name only tables and columns of the
        workspace (``connection.table`` names across connections make it federated).

        Raises
        ------
        UnsafeSQL
            The read-only guard refused the SQL (nothing stored).
        SchemaCheckFailed
            A table or column is unknown (nothing stored).
        """
        from .llm import locate

        store = self._require_knowledge()
        question, sql = question.strip(), sql.strip().rstrip(";").strip()
        if not question or not sql:
            raise UsageError('Teach a question and its SQL, e.g. %dataask teach "top customers" SELECT ...')
        catalog = self.catalog([connection] if connection else None)
        try:
            assert_read_only(sql, dialect=catalog.dialect(connection) if connection else "duckdb")
            conns, federated, dialect = locate(sql, catalog, [connection] if connection else None)
            if connection and (federated or conns != [connection]):
                raise SchemaCheckFailed(f"The SQL does not run on connection '{connection}' alone.")
            validate_sql(sql, dialect=dialect, catalog=catalog, connection=None if federated else conns[0],
                         federated=federated)
        except (UnsafeSQL, SchemaCheckFailed) as exc:
            raise type(exc)(f"Not taught: {exc.message}", hint=exc.hint or
                            "Teach a single read-only SELECT over tables of this workspace "
                            "(connection.table names for several connections).") from None
        return store.add_sql_pair(self.workspace, question, sql, None if federated else conns[0])

    def instruct(self, text: str) -> None:
        """Store an instruction for the engines ("revenue means sum(quantity*unit_price)")."""
        if not text.strip():
            raise UsageError('Give the instruction, e.g. %dataask instruct "revenue means sum(amount)"')
        self._require_knowledge().add_instruction(self.workspace, text)

    def knowledge_entries(self) -> list:
        """Instructions and SQL pairs of the workspace (:class:`~.knowledge.KnowledgeEntry`)."""
        return self._require_knowledge().entries(self.workspace)

    def forget(self, kind: str, entry_id: int) -> None:
        """Remove an instruction (``kind="instruction"``) or a SQL pair (``kind="sql_pair"``).

        Raises
        ------
        NotFound
            The workspace has no such entry.
        """
        if kind not in ("instruction", "sql_pair"):
            raise UsageError(f"Unknown kind {kind!r}: use instruction or sql_pair.")
        if not self._require_knowledge().remove(self.workspace, kind, int(entry_id)):
            raise NotFound(f"Workspace '{self.workspace}' has no {kind.replace('_', ' ')} {entry_id}.",
                           hint="List them with %dataask knowledge (or dataask knowledge).")

    # -- stages --------------------------------------------------------------------------------------
    def _validate(self, gen: Generation, catalog: SchemaCatalog) -> None:
        validate_sql(gen.sql, dialect=gen.dialect, catalog=catalog,
                     connection=None if gen.federated else gen.connections[0], federated=gen.federated)

    def _execute(self, gen: Generation) -> tuple[pa.Table, bool]:
        if gen.federated:
            if self.run_federated is None:
                raise FederationUnavailable(
                    f"This question needs {', '.join(gen.connections)} together, but no federation engine is set up.",
                    hint="Use %%federate, or ask about one connection with --connection NAME.")
            table, truncated = as_arrow(self.run_federated(gen.sql))
            if table.num_rows > self.max_rows:
                table, truncated = table.slice(0, self.max_rows), True
            return table, truncated
        res = self.manager.execute(gen.connections[0], gen.sql, workspace=self.workspace, max_rows=self.max_rows,
                                   timeout=self.timeout)
        return res.table, bool(res.truncated)
