"""The prep error: a :class:`~dataask_jupyter.errors.UsageError` that names the step at fault.

It belongs in :mod:`dataask_jupyter.errors` next to the other domain errors; it lives here
until that module can take it (it is re-exported from :mod:`dataask_jupyter.prep`).
"""

from __future__ import annotations

from ..errors import UsageError


class FlowError(UsageError):
    """A flow (or one step of it) is invalid: unknown column, type mismatch, bad option.

    Parameters
    ----------
    message
        One sentence a user can act on (with "did you mean" where it helps).
    step_id
        Id of the step at fault; ``None`` for problems of the flow as a whole.
    field
        The option of the step at fault, e.g. ``"conditions[0].column"``.
    hint
        Optional second line: how to fix it.
    """

    code = "flow_error"

    def __init__(self, message: str, *, step_id: str | None = None, field: str | None = None,
                 hint: str | None = None) -> None:
        self.step_id = step_id
        self.field = field
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict:
        """The wire shape, plus ``step_id`` and ``field`` so the canvas can mark the step."""
        out = super().to_dict()
        out["step_id"] = self.step_id
        out["field"] = self.field
        return out
