"""``%%ask`` / ``%ask``: parse the options, make one core call, return the answer to display."""

from __future__ import annotations

from .args import MagicArgumentParser, split


def parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%%ask")
    p.add_argument("--connection", "-c", action="append", default=None, help="limit to this connection")
    p.add_argument("--model", default=None, help="litellm model (default: %config DataAsk.model, then offline)")
    p.add_argument("--explain", action="store_true", help="show every stage, attempt and timing")
    p.add_argument("--no-run", action="store_true", help="only generate and validate the SQL")
    p.add_argument("--chart", dest="chart", action="store_true", default=True, help="draw a chart (default)")
    p.add_argument("--no-chart", dest="chart", action="store_false", help="no chart")
    p.add_argument("--new", action="store_true", help="start a new conversation (no follow-up context)")
    p.add_argument("-o", "--output", default=None, help="also store the answer in this variable")
    return p


def run(magics, options: str, question: str):
    """Answer ``question``; follow-ups reuse the magics' conversation for the workspace."""
    from dataask_jupyter.errors import UsageError
    from dataask_jupyter.nl2sql import Conversation

    args = parser().parse_args(split(options))
    question = question.strip()
    if not question:
        raise UsageError("Ask a question, e.g. %ask how many orders per month in 2024?")
    key = magics.workspace
    if args.new or key not in magics.conversations:
        magics.conversations[key] = Conversation(workspace=key)
    result = magics.app.ask(
        question, workspace=magics.workspace, model=args.model or magics.model or None,
        connections=args.connection, explain=args.explain, run=not args.no_run, chart=args.chart,
        conversation=magics.conversations[key],
    )
    if magics.shell is not None and args.output:
        magics.shell.user_ns[args.output] = result
    return result
