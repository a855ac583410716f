"""Errors of the question-to-SQL pipeline (all part of :mod:`dataask_jupyter.errors`' tree)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DataAskError, UsageError

__all__ = ["FederationUnavailable", "GenerationFailed", "NeedsClarification", "NotUnderstood", "SchemaCheckFailed"]


class NotUnderstood(UsageError):
    """The question could not be mapped to the schema; nothing was run.

    Attributes
    ----------
    unmapped_words
        Words of the question that matched no table, column, value or known term.
    """

    code = "not_understood"

    def __init__(self, message: str, *, unmapped_words: Sequence[str] = (), hint: str | None = None) -> None:
        self.unmapped_words = list(unmapped_words)
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["unmapped_words"] = list(self.unmapped_words)
        return out


class NeedsClarification(NotUnderstood):
    """A word fits several columns (or tables) equally well: ask back instead of guessing.

    Attributes
    ----------
    term
        The ambiguous word or phrase of the question.
    candidates
        Qualified names (``connection.table.column``) the user can choose from.
    """

    code = "needs_clarification"

    def __init__(self, term: str, candidates: Sequence[str], *, hint: str | None = None) -> None:
        self.term = term
        self.candidates = list(candidates)
        listed = ", ".join(self.candidates)
        super().__init__(
            f"'{term}' could mean several things: {listed}. Which one do you mean?",
            hint=hint or "Rephrase with the column or table name, e.g. "
            f"'{self.candidates[0].split('.')[-1].replace('_', ' ')}'.",
        )

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["term"] = self.term
        out["candidates"] = list(self.candidates)
        return out


class FederationUnavailable(UsageError):
    """The question needs several databases but no federation runner was configured."""

    code = "federation_unavailable"


class GenerationFailed(DataAskError, RuntimeError):
    """The engine could not produce SQL that passed validation and ran (after retries).

    Attributes
    ----------
    attempts
        One dict per attempt: ``{"sql", "error"}``.
    """

    code = "generation_failed"
    http_status = 422

    def __init__(self, message: str, *, attempts: Sequence[dict] = (), hint: str | None = None) -> None:
        self.attempts = list(attempts)
        super().__init__(message, hint=hint)


class SchemaCheckFailed(UsageError):
    """Generated SQL names a table or column that does not exist in the schema."""

    code = "schema_check_failed"
