"""Questions in plain language to SQL over one or several databases (the core of ``%%ask``).

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
from .insights import insights
from .knowledge import InMemoryKnowledge, KnowledgeStore, SqlPair
from .llm import LLMEngine
from .offline import OfflineEngine
from .pipeline import Asker
from .result import AskResult, Conversation
from .schema import SchemaCatalog
from .validate import validate_sql

__all__ = [
    "AskResult", "Asker", "Conversation", "Engine", "EvalReport", "FederationUnavailable", "Generation",
    "GenerationFailed", "GenerationRequest", "InMemoryKnowledge", "KnowledgeStore", "LLMEngine",
    "NeedsClarification", "NotUnderstood", "OfflineEngine", "SchemaCatalog", "SchemaCheckFailed", "SqlPair",
    "chart_kind", "choose_chart", "evaluate", "insights", "load_cases", "results_match", "validate_sql",
]
