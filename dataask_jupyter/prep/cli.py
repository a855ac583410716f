"""``dataask prep ...``: the argparse subtree and one handler per subcommand.

Wiring into :mod:`dataask_jupyter.cli` (two lines there)::

    from .prep.cli import add_prep_parser, run_prep_command
    add_prep_parser(sub)                       # in build_parser()
    HANDLERS.update({f"prep {n}": (lambda a: run_prep_command(a, _app, emit)) for n in PREP_SUBCOMMANDS})

Subcommands: ``run FLOW.json [--json] [--limit N]``, ``preview FLOW.json --step N [--json]``,
``sql FLOW.json [--dialect D] [--step N]``, ``profile FLOW.json --step N [--json]``,
``check FLOW.json [--json]``, ``code FLOW.json [--step N]``,
``view FLOW.json --connection NAME --name VIEW [--replace] [--json]`` (create a view in a
connection saved with ``--allow-views``). ``FLOW.json`` may be ``-`` (standard input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import api
from .errors import FlowError
from .flow import Flow

PREP_SUBCOMMANDS = ("run", "preview", "sql", "profile", "check", "code", "view")


def read_flow(path: str) -> Flow:
    """The flow in ``path`` (``-``: standard input)."""
    if path == "-":
        return Flow.parse(sys.stdin.read())
    p = Path(path)
    if not p.is_file():
        raise FlowError(f"No flow file at {path}.", hint="Give the path of a flow JSON file, or - for standard input.")
    return Flow.parse(p)


def _step(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def add_prep_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``prep`` and its subcommands to the ``dataask`` parser."""
    prep = sub.add_parser("prep", help="run, preview, profile or export data-prep flows (JSON)")
    psub = prep.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    psub.required = True

    def common(sp: argparse.ArgumentParser, *, json_out: bool = True, step: bool = False) -> None:
        sp.add_argument("flow", metavar="FLOW.json", help="flow file (- for standard input)")
        sp.add_argument("--workspace", "-w", default="default", help="workspace (default: default)")
        if json_out:
            sp.add_argument("--json", action="store_true", help="print one JSON object")
        if step:
            sp.add_argument("--step", default=None, help="step id or number (default: the last step)")

    run = psub.add_parser("run", help="run the whole flow where the data lives")
    common(run)
    run.add_argument("--limit", type=int, default=None, help="row cap (default: DATAASK_MAX_ROWS)")
    run.add_argument("--timeout", type=float, default=None, help="seconds (default: DATAASK_QUERY_TIMEOUT)")
    preview = psub.add_parser("preview", help="first rows after a step (LIMIT at the source), row count, seconds")
    common(preview, step=True)
    preview.add_argument("--rows", type=int, default=100, help="rows to show (default: 100)")
    preview.add_argument("--no-count", action="store_true", help="do not count rows")
    sql = psub.add_parser("sql", help="the flow as SQL for its source's dialect (or --dialect)")
    common(sql, json_out=False, step=True)
    sql.add_argument("--dialect", default=None, help="duckdb, sqlite, postgres, mysql, ... (default: the source's)")
    profile = psub.add_parser("profile", help="profile a step's output (sampled for big tables)")
    common(profile, step=True)
    check = psub.add_parser("check", help="validate every step (ok, or the error on the step at fault)")
    common(check)
    code = psub.add_parser("code", help="the flow as ibis Python code")
    common(code, json_out=False, step=True)
    view = psub.add_parser("view", help="create the flow's output as a view (connections saved with --allow-views)")
    common(view)
    view.add_argument("--connection", "-c", default=None, help="where to create it (default: the flow's connection)")
    view.add_argument("--name", "-n", required=True, help="view name: letters, digits, _ (optionally schema.name)")
    view.add_argument("--replace", action="store_true", help="replace an existing view of that name")
    return prep


def _text_table(columns: list[str], rows: list[list], max_rows: int = 20) -> str:
    import pandas as pd

    return pd.DataFrame(rows[:max_rows], columns=columns).to_string(index=False)


def handle(args: argparse.Namespace, app) -> tuple[object, str]:
    """Run one ``prep`` subcommand; returns (JSON object, human text)."""
    flow = read_flow(args.flow)
    ws = args.workspace
    sub = args.subcommand
    if sub == "run":
        result = api.run_flow(app, flow, workspace=ws, max_rows=args.limit, timeout=args.timeout)
        return result.to_dict(), result._repr_mimebundle_()["text/plain"]
    if sub == "preview":
        p = api.preview_flow(app, flow, _step(args.step), workspace=ws, limit=args.rows, count=not args.no_count)
        d = p.to_dict()
        text = (f"Step {p.index + 1} ({p.step_id}, {p.type}): {p.count_text()}, {p.seconds:.3f} s\n"
                + _text_table(d["columns"], d["rows"]))
        return d, text
    if sub == "sql":
        text = api.flow_sql(app, flow, args.dialect, step=_step(args.step), workspace=ws)
        return {"sql": text}, text
    if sub == "code":
        text = api.flow_code(app, flow, step=_step(args.step), workspace=ws)
        return {"code": text}, text
    if sub == "profile":
        prof = api.profile_flow(app, flow, _step(args.step), workspace=ws)
        d = prof.to_dict()
        lines = [f"{d['rows']:,} rows profiled{' (sample: ' + str(d['sample_method']) + ')' if d['sampled'] else ''}"]
        for c in d["columns"]:
            extra = f" min {c['min']} max {c['max']}" if c["min"] is not None else ""
            lines.append(f"{c['name']:<24} {c['type']:<16} nulls {c['nulls']} ({c['null_pct']}%) "
                         f"distinct {c['distinct']}{extra}")
        return d, "\n".join(lines)
    if sub == "check":
        statuses = [s.to_dict() for s in api.check_flow(app, flow, workspace=ws)]
        lines = [f"{s['step_id']:<8} {s['type']:<12} {'ok' if s['ok'] else s['error']['message']}" for s in statuses]
        return {"steps": statuses, "ok": all(s["ok"] for s in statuses)}, "\n".join(lines)
    if sub == "view":
        from .views import save_view

        saved = save_view(app, flow, args.connection, args.name, args.replace, workspace=ws)
        return saved.to_dict(), saved._repr_mimebundle_()["text/plain"]
    raise FlowError(f"Unknown prep subcommand '{sub}'.")  # pragma: no cover - argparse refuses first


def run_prep_command(args: argparse.Namespace, app_factory: Callable, emit: Callable[[object], None]) -> int:
    """The ``HANDLERS`` entry for ``prep <sub>``: build the app, handle, print."""
    with app_factory() as app:
        obj, text = handle(args, app)
    if getattr(args, "json", False):
        emit(obj)
    else:
        print(text)
    if args.subcommand == "check" and not obj["ok"]:  # type: ignore[index]
        return 1
    return 0


def emit_json(obj: object) -> None:
    """Default emitter: one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
