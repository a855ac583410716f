"""``%%ask`` / ``%ask`` and the ``%dataask`` subcommands about questions: parse the options,
make one core call, return what to display.

``%dataask history [N] [--export DASHBOARD]``, ``%dataask teach "question" SQL``, ``%dataask instruct "text"``,
``%dataask knowledge [remove REF]``. Conversations live in the metadata store, so a
follow-up after a kernel restart continues the latest conversation of the workspace.
"""

from __future__ import annotations

from dataask_jupyter.errors import UsageError

from .args import MagicArgumentParser, split
from .magic import subcommand


def parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%%ask")
    p.add_argument("--connection", "-c", action="append", default=None, help="limit to this connection")
    p.add_argument("--model", default=None, help="litellm model (default: %config DataAsk.model, then offline)")
    p.add_argument("--explain", action="store_true", help="show every stage, attempt and timing")
    p.add_argument("--no-run", action="store_true", help="only generate and validate the SQL")
    p.add_argument("--chart", dest="chart", action="store_true", default=True, help="draw a chart (default)")
    p.add_argument("--no-chart", dest="chart", action="store_false", help="no chart")
    p.add_argument("--new", action="store_true", help="start a new conversation (no follow-up context)")
    p.add_argument("--allow-samples", action="store_true", default=None,
                   help="let an LLM see low-cardinality column values (default: %config DataAsk.allow_samples)")
    p.add_argument("--pin", metavar="DASHBOARD", default=None, help="add the result to this dashboard")
    p.add_argument("-o", "--output", default=None, help="also store the answer in this variable")
    return p


def conversation(magics, new: bool = False):
    """The workspace's conversation: kept per kernel, loaded from the store after a restart."""
    key = magics.workspace
    if new or key not in magics.conversations:
        magics.conversations[key] = magics.app.conversations.open(key, new=new)
    return magics.conversations[key]


def run(magics, options: str, question: str):
    """Answer ``question``; follow-ups reuse the workspace's conversation."""
    args = parser().parse_args(split(options))
    question = question.strip()
    if not question:
        raise UsageError("Ask a question, e.g. %ask how many orders per month in 2024?")
    if args.pin is not None and args.no_run:
        raise UsageError("--pin needs a result: leave out --no-run.")
    allow = args.allow_samples if args.allow_samples is not None else bool(magics.allow_samples)
    result = magics.app.ask(
        question, workspace=magics.workspace, model=args.model or magics.model or None,
        connections=args.connection, explain=args.explain, run=not args.no_run, chart=args.chart,
        conversation=conversation(magics, args.new), allow_samples=allow,
    )
    if magics.shell is not None and args.output:
        magics.shell.user_ns[args.output] = result
    if args.pin is not None:
        receipt = magics.app.pin(args.pin, workspace=magics.workspace, title=question, sql=result.sql,
                                 connection=None if result.federated else result.connections[0],
                                 federated=result.federated, chart=result.chart, row_count=result.row_count)
        print(receipt)
    return result


@subcommand("history")
def history(magics, argv: list[str]):
    p = MagicArgumentParser(prog="%dataask history")
    p.add_argument("n", nargs="?", type=int, default=10, help="how many recent questions (default 10)")
    p.add_argument("--all", action="store_true", help="everyone's questions, not only yours")
    p.add_argument("--export", metavar="DASHBOARD", default=None,
                   help="add the current conversation's questions to this dashboard, one widget each")
    a = p.parse_args(argv)
    if a.n < 1:
        raise UsageError("%dataask history N needs N >= 1.")
    if a.export is not None:
        current = magics.conversations.get(magics.workspace)
        return magics.app.export_conversation(a.export, workspace=magics.workspace,
                                              conversation_id=getattr(current, "id", None))
    return magics.app.conversations.history(magics.workspace, a.n, everyone=a.all)


def parse_teach(text: str) -> tuple[str | None, str, str]:
    """``[--connection NAME] "question" SQL...`` -> ``(connection, question, sql)``; the SQL keeps its quotes."""
    rest, connection = text.strip(), None
    while rest.startswith("-"):
        flag, _, rest = rest.partition(" ")
        if flag not in ("--connection", "-c"):
            raise UsageError(f"%dataask teach: unknown option {flag}.", hint=TEACH_USAGE)
        connection, _, rest = rest.strip().partition(" ")
        rest = rest.strip()
        if not connection:
            raise UsageError("%dataask teach: --connection needs a name.", hint=TEACH_USAGE)
    if not rest or rest[0] not in "\"'":
        raise UsageError("%dataask teach: put the question in quotes.", hint=TEACH_USAGE)
    end = rest.find(rest[0], 1)
    if end < 0:
        raise UsageError("%dataask teach: the question's closing quote is missing.", hint=TEACH_USAGE)
    question, sql = rest[1:end].strip(), rest[end + 1:].strip()
    inner = sql[1:-1].strip()
    if len(sql) >= 2 and sql[0] == sql[-1] and sql[0] in "\"'" and inner.upper().startswith(("SELECT", "WITH")):
        sql = inner  # %dataask teach "question" "SELECT ..."
    if not question or not sql:
        raise UsageError("%dataask teach needs a question and its SQL.", hint=TEACH_USAGE)
    return connection, question, sql


TEACH_USAGE = 'usage: %dataask teach [--connection NAME] "question" SELECT ...'


@subcommand("teach", raw=True)
def teach(magics, text: str):
    connection, question, sql = parse_teach(text)
    pair = magics.app.asker(magics.workspace).teach(question, sql, connection=connection)
    where = f"on {pair.connection}" if pair.connection else "federated"
    print(f"Taught p{pair.id}: '{pair.question}' ({where}). Questions close to it now reuse this SQL.")


@subcommand("instruct")
def instruct(magics, argv: list[str]):
    text = " ".join(argv).strip()
    magics.app.asker(magics.workspace).instruct(text)
    print(f"Instruction saved for workspace '{magics.workspace}'.")


@subcommand("knowledge")
def knowledge(magics, argv: list[str]):
    from dataask_jupyter.nl2sql.history import KnowledgeList
    from dataask_jupyter.nl2sql.knowledge import parse_ref

    p = MagicArgumentParser(prog="%dataask knowledge")
    p.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    p.add_argument("ref", nargs="?", help="i<N> (instruction) or p<N> (SQL pair), as listed")
    a = p.parse_args(argv)
    asker = magics.app.asker(magics.workspace)
    if a.action == "remove":
        if not a.ref:
            raise UsageError("%dataask knowledge remove needs the id shown by %dataask knowledge (i3, p5).")
        kind, entry_id = parse_ref(a.ref)
        asker.forget(kind, entry_id)
        print(f"Removed {a.ref}.")
        return None
    return KnowledgeList(magics.workspace, asker.knowledge_entries())
