"""The ``dataask`` command: argparse front door; each subcommand calls one core function.

JSON output is one object on stdout. Errors go to stderr with exit code 1 (2 for usage
errors), as one short line a user can act on: never a traceback for DataAsk errors.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .errors import DataAskError, UsageError

HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {}


class CliUsageError(UsageError):
    """Wrong use of the command line itself (exit code 2, like argparse)."""


def handler(name: str):
    def register(fn):
        HANDLERS[name] = fn
        return fn

    return register


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False) + "\n")


def _app():
    from .core import DataAsk

    return DataAsk()


def _read_password(args) -> str | None:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise CliUsageError("--password-stdin was given but standard input is empty.")
        return line.rstrip("\r\n")
    if getattr(args, "password_prompt", False):
        return getpass.getpass("Password: ")
    return None


# -- connections -------------------------------------------------------------------------------
@handler("connection add")
def _connection_add(args) -> int:
    with _app() as app:
        info = app.connect(args.name, args.url, workspace=args.workspace, password=_read_password(args),
                           replace=args.replace, allow_views=args.allow_views)
    if args.json:
        emit(info.to_dict())
    else:
        print(f"Saved connection '{info.name}' ({info.family}) after a successful test: {info.url}")
    return 0


@handler("connection list")
def _connection_list(args) -> int:
    with _app() as app:
        conns = app.list_connections(args.workspace)
    if args.json:
        emit({"workspace": args.workspace, "connections": conns.to_dict()})
    else:
        print(conns._repr_mimebundle_()["text/plain"])
    return 0


@handler("connection test")
def _connection_test(args) -> int:
    with _app() as app:
        result = app.connections.test(args.name, args.workspace)
    if args.json:
        emit({"name": args.name, **result.to_dict()})
    else:
        print(f"'{args.name}' OK in {result.latency_ms} ms" if result.ok else f"'{args.name}' failed: {result.message}",
              file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


@handler("connection remove")
def _connection_remove(args) -> int:
    with _app() as app:
        app.connections.remove(args.name, args.workspace)
    print(f"Removed connection '{args.name}'.")
    return 0


@handler("tables")
def _tables(args) -> int:
    with _app() as app:
        tables = app.connections.tables(args.name, args.workspace, fresh=True)
    if args.json:
        emit({"connection": args.name, "tables": tables})
    else:
        print("\n".join(tables) if tables else f"'{args.name}' has no tables.")
    return 0


@handler("sql")
def _sql(args) -> int:
    with _app() as app:
        result = app.sql(args.name, args.query, workspace=args.workspace, max_rows=args.limit, timeout=args.timeout)
    if args.json:
        emit(result.to_dict())
    else:
        print(result._repr_mimebundle_()["text/plain"])
    return 0


# -- keys, guard, demo --------------------------------------------------------------------------
@handler("rotate-key")
def _rotate_key(args) -> int:
    with _app() as app:
        report = app.rotate_key()
    if args.json:
        emit(report.to_dict())
    else:
        print(f"Re-encrypted {report.changed} secret(s) with the newest key ({report.key_source}).")
    return 0


@handler("guard")
def _guard(args) -> int:
    from .safety import check_sql, guard_jsonl

    if args.jsonl:
        source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")
        with source:
            for verdict in guard_jsonl(source):
                emit(verdict)
        return 0
    if args.sql is None:
        raise CliUsageError("Give a SQL statement or --jsonl FILE.")
    verdict = check_sql(args.sql, args.dialect)
    if args.json:
        emit(verdict.to_dict())
    else:
        print("allowed" if verdict.allowed else f"refused: {verdict.reason}")
    return 0 if verdict.allowed else 1


@handler("federate")
def _federate(args) -> int:
    with _app() as app:
        out = app.federate(args.sql, workspace=args.workspace, explain=args.explain, use_cache=not args.no_cache,
                           timeout=args.timeout, max_rows=args.limit)
    if args.explain:
        emit(out.to_dict()) if args.json else print(out.explain())
    elif args.json:
        emit(out.to_dict())
    else:
        print(out.to_pandas().to_string(max_rows=50))
        print(f"{out.row_count} row(s){' (truncated)' if out.truncated else ''}; cache {out.cache}; "
              f"{out.seconds['total']:.3f} s")
    return 0


@handler("ask")
def _ask(args) -> int:
    with _app() as app:
        result = app.ask(args.question, workspace=args.workspace, model=args.model,
                         connections=args.connection or None, run=not args.no_run, explain=args.explain,
                         allow_samples=args.allow_samples)
    if args.json:
        emit(result.to_dict(explain=args.explain or None))
    else:
        print(result.sql)
        if result.rows is not None:
            print(result.to_dataframe().to_string(max_rows=50))
        for line in result.insights:
            print(f"- {line}")
    return 0


@handler("history")
def _history(args) -> int:
    if args.export is not None:
        with _app() as app:
            receipt = app.export_conversation(args.export, workspace=args.workspace)
        if args.json:
            emit(receipt.to_dict())
        else:
            print(receipt)
        return 0
    with _app() as app:
        found = app.conversations.history(args.workspace, args.n, everyone=args.all)
    if args.json:
        emit({"workspace": args.workspace, "history": found.to_dict()})
    else:
        print(found._text())
    return 0


@handler("teach")
def _teach(args) -> int:
    with _app() as app:
        pair = app.asker(args.workspace).teach(args.question, args.sql, connection=args.connection)
    if args.json:
        emit({"ref": f"p{pair.id}", **pair.to_dict()})
    else:
        print(f"Taught p{pair.id}: '{pair.question}' ({'on ' + pair.connection if pair.connection else 'federated'}).")
    return 0


@handler("instruct")
def _instruct(args) -> int:
    with _app() as app:
        app.asker(args.workspace).instruct(args.text)
    print(f"Instruction saved for workspace '{args.workspace}'.")
    return 0


@handler("knowledge")
@handler("knowledge list")
def _knowledge_list(args) -> int:
    from .nl2sql.history import KnowledgeList

    with _app() as app:
        found = KnowledgeList(args.workspace, app.asker(args.workspace).knowledge_entries())
    if getattr(args, "json", False):
        emit({"workspace": args.workspace, "knowledge": found.to_dict()})
    else:
        print(found._text())
    return 0


@handler("knowledge remove")
def _knowledge_remove(args) -> int:
    from .nl2sql.knowledge import parse_ref

    kind, entry_id = parse_ref(args.ref)
    with _app() as app:
        app.asker(args.workspace).forget(kind, entry_id)
    print(f"Removed {args.ref}.")
    return 0


@handler("eval")
def _eval(args) -> int:
    from .nl2sql import evaluate

    with _app() as app, open(args.file, encoding="utf-8") as fh:
        report = evaluate(app.asker(args.workspace, model=args.model), fh, connection=args.connection)
    if args.json:
        emit(report.to_dict())
    else:
        print(report.summary())
    return 0


@handler("cache clear")
def _cache_clear(args) -> int:
    with _app() as app:
        removed = app.federator.clear_cache()
    print(f"Removed {removed} cached result(s).")
    return 0


@handler("demo")
def _demo(args) -> int:
    from .demo_setup import launch_lab, prepare_demo

    with _app() as app:
        report = prepare_demo(app, Path(args.dir) if args.dir else None)
    for line in report.lines():
        print(line)
    if args.no_lab:
        return 0
    return launch_lab(report.notebook, port=args.port)


def _register_prep() -> None:
    from .prep.cli import PREP_SUBCOMMANDS, run_prep_command

    for name in PREP_SUBCOMMANDS:
        HANDLERS[f"prep {name}"] = lambda a: run_prep_command(a, _app, emit)


_register_prep()


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dataask", description="DataAsk for Jupyter: connections, SQL, demo.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def ws(sp):
        sp.add_argument("--workspace", "-w", default="default", help="workspace (default: default)")

    def js(sp):
        sp.add_argument("--json", action="store_true", help="print one JSON object")

    conn = sub.add_parser("connection", help="add, list, test or remove connections")
    csub = conn.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    csub.required = True
    add = csub.add_parser("add", help="test a connection URL and save it only if it works")
    add.add_argument("name")
    add.add_argument("url", help="e.g. postgresql://user@host:5432/db (leave the password out)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--password-prompt", "-W", action="store_true", help="prompt for the password")
    add.add_argument("--replace", action="store_true", help="replace an existing connection of that name")
    add.add_argument("--allow-views", action="store_true", help="let `dataask prep view` create views there")
    ws(add)
    js(add)
    lst = csub.add_parser("list", help="connections with their health")
    ws(lst)
    js(lst)
    for name, text in (("test", "ping a connection and record its latency"), ("remove", "forget a connection")):
        sp = csub.add_parser(name, help=text)
        sp.add_argument("name")
        ws(sp)
        if name == "test":
            js(sp)

    tables = sub.add_parser("tables", help="list the tables of a connection")
    tables.add_argument("name")
    ws(tables)
    js(tables)

    sql = sub.add_parser("sql", help="run one read-only query on a connection")
    sql.add_argument("name")
    sql.add_argument("query")
    sql.add_argument("--limit", type=int, default=None, help="row cap (default: DATAASK_MAX_ROWS)")
    sql.add_argument("--timeout", type=float, default=None, help="seconds (default: DATAASK_QUERY_TIMEOUT)")
    ws(sql)
    js(sql)

    rk = sub.add_parser("rotate-key", help="re-encrypt all stored secrets with the newest key")
    js(rk)

    guard = sub.add_parser("guard", help="check SQL with the read-only guard only")
    guard.add_argument("sql", nargs="?")
    guard.add_argument("--dialect", default="duckdb", help="any sqlglot dialect (default: duckdb)")
    guard.add_argument("--jsonl", metavar="FILE", help='lines {"sql": ..., "dialect": ...}; "-" for stdin')
    js(guard)

    fed = sub.add_parser("federate", help="run one SQL statement across several connections")
    fed.add_argument("sql", help="tables named connection.table, e.g. shop_sales.orders")
    fed.add_argument("--explain", action="store_true", help="show the plan without running it")
    fed.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    fed.add_argument("--timeout", type=float, default=None, help="seconds (default: DATAASK_QUERY_TIMEOUT)")
    fed.add_argument("--limit", type=int, default=None, help="row cap (default: DATAASK_MAX_ROWS)")
    ws(fed)
    js(fed)

    ask = sub.add_parser("ask", help="answer a question in plain language (SQL, rows, chart, insights)")
    ask.add_argument("question")
    ask.add_argument("--connection", "-c", action="append", help="limit to this connection (repeatable)")
    ask.add_argument("--model", default=None, help="litellm model (default: DATAASK_LLM_MODEL or offline)")
    ask.add_argument("--explain", action="store_true", help="include every stage, attempt and timing")
    ask.add_argument("--no-run", action="store_true", help="only generate and validate the SQL")
    ask.add_argument("--allow-samples", action="store_true", help="let an LLM see low-cardinality column values")
    ws(ask)
    js(ask)

    hist = sub.add_parser("history", help="recent questions with their SQL")
    hist.add_argument("n", nargs="?", type=int, default=10, help="how many (default 10)")
    hist.add_argument("--all", action="store_true", help="everyone's questions, not only yours")
    hist.add_argument("--export", metavar="DASHBOARD", default=None,
                      help="add your latest conversation's questions to this dashboard, one widget each")
    ws(hist)
    js(hist)

    teach = sub.add_parser("teach", help="store a question with the SQL that answers it")
    teach.add_argument("question")
    teach.add_argument("sql", help="one read-only SELECT over the workspace's tables")
    teach.add_argument("--connection", "-c", default=None, help="the connection the SQL runs on (default: inferred)")
    ws(teach)
    js(teach)

    instruct = sub.add_parser("instruct", help="store an instruction for the question engines")
    instruct.add_argument("text", help='e.g. "revenue means sum(quantity*unit_price)"')
    ws(instruct)

    know = sub.add_parser("knowledge", help="list or remove taught instructions and SQL pairs")
    ws(know)
    js(know)
    know_sub = know.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    know_list = know_sub.add_parser("list", help="instructions and SQL pairs with their ids")
    know_rm = know_sub.add_parser("remove", help="remove one by id (i<N> or p<N>)")
    know_rm.add_argument("ref", help="i<N> (instruction) or p<N> (SQL pair), as listed")
    for sp in (know_list, know_rm):  # SUPPRESS: an absent option keeps the value given before the subcommand
        sp.add_argument("--workspace", "-w", default=argparse.SUPPRESS, help="workspace (default: default)")
    know_list.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")

    ev = sub.add_parser("eval", help="execution accuracy of the question engine on a JSONL set")
    ev.add_argument("file", help='lines {"question", "gold_sql", "connection"}')
    ev.add_argument("--connection", default=None, help="default connection for lines without one")
    ev.add_argument("--model", default=None, help="litellm model (default: offline engine)")
    ws(ev)
    js(ev)

    cache = sub.add_parser("cache", help="the federation result cache")
    cache_sub = cache.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    cache_sub.required = True
    cache_sub.add_parser("clear", help="empty the memory, disk and Redis caches")

    from .prep.cli import add_prep_parser

    add_prep_parser(sub)

    demo = sub.add_parser("demo", help="build the demo databases, connect them and open JupyterLab")
    demo.add_argument("--no-lab", action="store_true", help="only prepare data and connections")
    demo.add_argument("--dir", help="where to put the demo databases (default: $DATAASK_HOME/demo)")
    demo.add_argument("--port", type=int, default=None, help="JupyterLab port")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    key = f"{args.command} {args.subcommand}" if getattr(args, "subcommand", None) else args.command
    try:
        return HANDLERS[key](args)
    except DataAskError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        else:
            print(f"dataask: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CliUsageError) else 1
    except KeyboardInterrupt:
        print("dataask: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
