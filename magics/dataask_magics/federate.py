"""``%%federate``: parse the options, make one core call, display the result."""

from __future__ import annotations

from dataask_jupyter.display.html import esc

from .args import MagicArgumentParser, split


def parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%%federate")
    p.add_argument("--explain", action="store_true", help="show the plan without running it")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    p.add_argument("--timeout", type=float, default=None, help="seconds")
    p.add_argument("--limit", type=int, default=None, help="row cap")
    p.add_argument("--pin", metavar="DASHBOARD", default=None, help="add the result to this dashboard")
    p.add_argument("-o", "--output", default=None, help="also store the DataFrame in this variable")
    return p


class FederatedDisplay:
    """Notebook rendering of a federated result: the table, row count, truncation, timings."""

    def __init__(self, result) -> None:
        self.result = result

    def _repr_mimebundle_(self, include=None, exclude=None):
        r = self.result
        per_source = "; ".join(f"{s.source}: {s.rows} rows in {s.seconds:.3f} s" for s in r.plan)
        text = f"{r.row_count} row(s){' (truncated)' if r.truncated else ''}, cache {r.cache}, {r.seconds['total']:.3f} s"
        return {
            "text/plain": f"{text}\n{per_source}\n{r.to_pandas().head(20).to_string()}",
            "text/html": r.to_html() + f"<div style='font-size:85%;color:#57606a'>{esc(per_source)}</div>",
        }


class PlanDisplay:
    def __init__(self, plan) -> None:
        self.plan = plan

    def _repr_mimebundle_(self, include=None, exclude=None):
        text = self.plan.explain()
        return {"text/plain": text, "text/html": f"<pre class='dataask-plan'>{esc(text)}</pre>"}


def run(magics, line: str, cell: str):
    """Run the cell; returns what to display. Sets ``_`` (and ``-o VAR``) to the DataFrame."""
    args = parser().parse_args(split(line))
    app = magics.app
    if args.explain and args.pin is not None:
        from dataask_jupyter.errors import UsageError

        raise UsageError("--pin needs a result: leave out --explain.")
    if args.explain:
        return PlanDisplay(app.federate(cell, workspace=magics.workspace, explain=True))
    result = app.federate(
        cell, workspace=magics.workspace, use_cache=not args.no_cache,
        timeout=args.timeout or magics.timeout or None, max_rows=args.limit or magics.max_rows or None,
        progress=True,
    )
    frame = result.to_pandas()
    if magics.shell is not None:
        magics.shell.user_ns["_"] = frame
        if args.output:
            magics.shell.user_ns[args.output] = frame
    from IPython.display import display

    display(FederatedDisplay(result))
    if args.pin is not None:
        title = " ".join(cell.split())
        print(app.pin(args.pin, workspace=magics.workspace, title=title[:80] + ("..." if len(title) > 80 else ""),
                      sql=cell.strip().rstrip(";"), federated=True, row_count=result.row_count))
