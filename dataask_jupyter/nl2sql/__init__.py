"""Questions in plain language to SQL over one or several databases (the core of ``%%ask``).

Wiring (what ``%%ask``, ``dataask ask`` and ``dataask eval`` call)::

    asker = Asker.from_dataask(da, workspace="default",
                               run_federated=lambda sql: federator.run(sql, sources=...),
                               knowledge=StoreKnowledge(da.repo, actor))  # a KnowledgeStore
    conversation = ConversationStore(da.repo, actor).open("default")  # latest, from the store
    result = asker.ask("Which 5 regions had the highest revenue in 2024?",
                       connections=None, engine=None, explain=False, run=True,
                       conversation=conversation)                     # -> AskResult
    result.to_dict()            # the CLI --json shape
    conversation.to_records()   # what the store keeps (turns are saved as they are answered)
    asker.teach("question", "SELECT ...")  # guard + schema check, then stored
    report = evaluate(asker, open("questions.jsonl"), connection=None)
    print(report.summary())

``NotUnderstood`` / ``NeedsClarification`` (both ``UsageError``) mean nothing ran: print
``str(err)`` (``err.to_dict()`` carries ``unmapped_words`` / ``candidates``) and exit 1.

Entry points
------------
:class:`Asker`
    ``Asker(connections, run_federated=..., knowledge=...).ask(question, ...) -> AskResult``.
:func:`evaluate`
    Execution accuracy and stage latency of an asker on a JSONL eval file.
:class:`SchemaCatalog`, :class:`OfflineEngine`, :class:`LLMEngine`, :class:`Conversation`,
:class:`InMemoryKnowledge` (the :class:`KnowledgeStore` protocol), :func:`choose_chart`,
:func:`insights`.
"""

from __future__ import annotations

from .base import Engine, Generation, GenerationRequest
from .charts import chart_kind, choose_chart
from .errors import (
    FederationUnavailable,
    GenerationFailed,
    NeedsClarification,
    NotUnderstood,
    SchemaCheckFailed,
)
from .evaluate import EvalReport, evaluate, load_cases, results_match
from .history import ConversationStore
from .insights import insights
from .knowledge import InMemoryKnowledge, KnowledgeEntry, KnowledgeStore, SqlPair
from .knowledge_store import StoreKnowledge
from .llm import LLMEngine
from .offline import OfflineEngine
from .pipeline import Asker
from .result import AskResult, Conversation
from .schema import SchemaCatalog
from .validate import validate_sql

__all__ = [
    "AskResult", "Asker", "Conversation", "ConversationStore", "Engine", "EvalReport", "FederationUnavailable", "Generation",
    "GenerationFailed", "GenerationRequest", "InMemoryKnowledge", "KnowledgeEntry", "KnowledgeStore", "LLMEngine",
    "NeedsClarification", "NotUnderstood", "OfflineEngine", "SchemaCatalog", "SchemaCheckFailed", "SqlPair", "StoreKnowledge",
    "chart_kind", "choose_chart", "evaluate", "insights", "load_cases", "results_match", "validate_sql",
]
