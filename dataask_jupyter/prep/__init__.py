"""Visual data preparation: JSON flows compiled to ibis expressions and SQL, run at the source.

Typical use::

    from dataask_jupyter.prep import api
    p = api.preview_flow(da, flow, step="s3")      # first 100 rows after step s3
    api.flow_sql(da, flow)                         # SQL in the source's dialect
    api.run_flow(da, flow).to_pandas()
    api.profile_flow(da, flow, step=2).to_dict()

Modules: :mod:`.flow` / :mod:`.steps` (the format), :mod:`.expressions` (calculated fields),
:mod:`.compiler` (flow -> ibis -> SQL/code), :mod:`.preview`, :mod:`.profile`,
:mod:`.suggest`, :mod:`.api` (front-door functions), :mod:`.cli` (``dataask prep``),
:mod:`.session` (the prep canvas's controller: a flow under edit with undo/redo),
:mod:`.commands` (the canvas's typed request/response protocol) and :mod:`.datasets`
(flows saved as datasets of a workspace).
"""

from __future__ import annotations

from .compiler import (
    BackendCatalog,
    Catalog,
    StepExpr,
    check_flow,
    compile_flow,
    flow_code,
    flow_sql,
)
from .errors import FlowError
from .expressions import compile_expression, complete, function_catalog
from .flow import Flow

__all__ = [
    "BackendCatalog", "Catalog", "Flow", "FlowError", "StepExpr", "check_flow", "compile_expression",
    "compile_flow", "complete", "flow_code", "flow_sql", "function_catalog",
]
