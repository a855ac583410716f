"""Read-only SQL guard shared by ``%%ask``, ``%%federate``, the server and ``dataask guard``.

One layer of several (SECURITY.md 9-16): connections also use a SELECT-only role in
read-only transactions and the federation DuckDB runs with external access off. Order:
cheap text checks; token checks with the dialect's own sqlglot tokenizer (so string and
comment boundaries match the database); parse to exactly one statement whose root is a
read query; then a walk over every node refusing mutating/DDL/command classes, denied
functions, variables, and files, URLs or stages used as tables.

Decisions: ``EXPLAIN`` is refused entirely (sqlglot parses it as a ``Command``);
``current_setting`` is refused (it reads server settings, in DuckDB possibly secrets).
Reasons name the statement kind or function but never echo string arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects
from sqlglot.errors import ParseError, SqlglotError

from dataask_jupyter.errors import UnsafeSQL, did_you_mean

# ----------------------------------------------------------------------------- data tables
# fmt: off

MAX_SQL_CHARS = 100_000
DEFAULT_DIALECT = "duckdb"
VALID_DIALECTS = tuple(sorted(d.value for d in Dialects if d.value))

#: Statement roots that are read queries. ``Subquery`` roots are unwrapped first.
READ_ROOTS = (exp.Select, exp.SetOperation, exp.Values, exp.Pivot)

#: sqlglot node classes refused anywhere in the tree -> the kind reported.
DENIED_NODES = {
    "Insert": "insert", "MultitableInserts": "insert", "ConditionalInsert": "insert",
    "OnConflict": "insert", "Returning": "returning", "Update": "update", "Delete": "delete",
    "Merge": "merge", "Create": "create", "Drop": "drop", "Undrop": "undrop", "Alter": "alter",
    "AlterSession": "alter", "SwapTable": "alter", "TruncateTable": "truncate",
    "Comment": "comment", "Grant": "grant", "Revoke": "revoke", "Set": "set", "SetItem": "set",
    "Use": "use", "Pragma": "pragma", "Attach": "attach", "Detach": "detach",
    "Install": "install", "Copy": "copy", "LoadData": "load_data", "Export": "export",
    "Get": "get", "Put": "put", "Transaction": "transaction", "Commit": "commit",
    "Rollback": "rollback", "LockingStatement": "lock", "Command": "command",
    "Execute": "execute", "ExecuteSql": "execute", "Declare": "declare", "Block": "block",
    "IfBlock": "block", "WhileBlock": "block", "LoopBlock": "block", "RepeatBlock": "block",
    "ForIn": "block", "Return": "return", "Analyze": "analyze", "Cache": "cache",
    "Uncache": "uncache", "Refresh": "refresh", "Kill": "kill", "Describe": "describe",
    "Show": "show", "Summarize": "summarize", "ConnectTo": "connect",
    "Disconnect": "disconnect", "Into": "select_into", "Lock": "locking_read",
    "QueryTransform": "transform_script",
}

#: Functions (lower-case) refused in every dialect: file, network, sleep, sequence,
#: session/config, locks, admin, shell and "run this SQL string" functions.
DENIED_FUNCTIONS = frozenset({
    # PostgreSQL
    "pg_stat_file", "loread", "lowrite", "nextval", "setval", "next_value_for",
    "nextvaluefor", "set_config", "current_setting", "pg_terminate_backend",
    "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "txid_current",
    "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
    "pg_switch_wal", "pg_promote", "pg_notify", "pg_logdir_ls", "pg_import_system_collations",
    "pg_log_backend_memory_contexts", "pg_backup_start", "pg_backup_stop",
    "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause", "pg_wal_replay_resume",
    "ts_stat", "ts_rewrite",  # both run a query given as a string
    # MySQL / MariaDB
    "load_file", "sleep", "benchmark", "get_lock", "release_lock", "release_all_locks",
    "master_pos_wait", "source_pos_wait", "wait_for_executed_gtid_set",
    "wait_until_sql_thread_after_gtids", "sys_exec", "sys_eval",
    # SQLite (and its CLI extensions)
    "load_extension", "readfile", "writefile", "edit", "fsdir", "zipfile", "fts3_tokenizer",
    # DuckDB
    "glob", "sniff_csv", "csv_scan", "json_scan", "sqlite_scan", "sqlite_attach", "query",
    "query_table", "getenv", "duckdb_secrets", "duckdb_settings", "which_secret",
    "checkpoint", "force_checkpoint", "load_aws_credentials", "arrow_scan", "arrow_scan_dumb",
    "st_read", "st_readosm", "st_read_meta",
    # T-SQL
    "openrowset", "openquery", "opendatasource", "openxml", "fn_get_audit_file",
    "fn_xe_file_target_read_file", "fn_trace_gettable",
    # Snowflake, BigQuery, Spark/Databricks/Hive, Oracle
    "get_presigned_url", "build_scoped_file_url", "build_stage_file_url", "to_file",
    "tofile", "infer_schema", "external_query", "reflect", "try_reflect", "java_method",
    "secret", "httpuritype",
    # ClickHouse table functions
    "url", "urlcluster", "file", "filecluster", "s3", "s3cluster", "gcs", "hdfs",
    "hdfscluster", "azureblobstorage", "remote", "remotesecure", "cluster",
    "clusterallreplicas", "mysql", "postgresql", "sqlite", "mongodb", "redis", "jdbc",
    "odbc", "executable", "iceberg", "deltalake", "hudi",
    # generic shell-like
    "system", "shell", "exec", "execute", "eval", "xp_cmdshell", "waitfor",
})

#: Function-name prefixes refused in every dialect.
DENIED_FUNCTION_PREFIXES = (
    "pg_read_", "pg_ls_", "pg_file_", "pg_sleep", "pg_advisory", "pg_try_advisory",
    "pg_stat_reset", "pg_create_", "pg_drop_", "pg_replication_", "pg_logical_", "lo_",
    "dblink", "query_to_xml", "table_to_xml", "cursor_to_xml", "schema_to_xml",
    "database_to_xml", "read_", "parquet_", "postgres_", "mysql_", "iceberg_", "delta_",
    "ducklake_", "pragma_", "http_", "xp_", "sp_", "system$", "dbms_", "utl_",
)

#: Oracle packages (``dbms_lock.sleep``, ``utl_http.request``) refused by qualifier.
DENIED_PACKAGE_PREFIXES = ("dbms_", "utl_")

#: DuckDB reads ``FROM x.csv`` (unquoted) as a file through a replacement scan.
FILE_EXTENSIONS = frozenset({
    "csv", "tsv", "txt", "json", "jsonl", "ndjson", "parquet", "arrow", "feather", "ipc",
    "xlsx", "xls", "avro", "orc", "gz", "zst", "bz2", "lz4", "db", "duckdb", "sqlite",
    "sqlite3",
})

#: Reserved T-SQL statement keywords: T-SQL needs no semicolon, so ``SELECT 1 SHUTDOWN``
#: is two statements to SQL Server while sqlglot reads ``SHUTDOWN`` as an alias.
TSQL_STATEMENT_WORDS = frozenset({
    "SHUTDOWN", "KILL", "RECONFIGURE", "CHECKPOINT", "DBCC", "BACKUP", "RESTORE", "WAITFOR",
    "EXEC", "EXECUTE", "DENY", "REVERT", "SETUSER", "DUMP", "LOAD", "PRINT", "RAISERROR",
    "BULK", "WRITETEXT", "UPDATETEXT", "READTEXT", "GOTO", "DEALLOCATE", "DECLARE", "GO",
})

#: Reasons by kind; kinds not listed get a generic "X is not allowed" reason.
_READ_ONLY = "only read queries (SELECT, WITH ... SELECT, VALUES) are allowed"
REASONS = {
    "empty": "no SQL statement found",
    "multiple_statements": "only one statement is allowed",
    "invalid_input": "SQL must be text",
    "too_long": f"SQL is longer than {MAX_SQL_CHARS} characters",
    "control_character": "SQL contains control characters (such as NUL)",
    "invalid_text": "SQL contains text that is not valid Unicode",
    "executable_comment": "MySQL/MariaDB executable comments (/*! ... */) are not allowed",
    "nested_comment": "nested block comments are not allowed (databases disagree on them)",
    "ambiguous_string": "a backslash before a quote inside a string is not allowed (its "
                        "meaning depends on server settings); double the quote instead",
    "unicode_escape": "U&-escaped identifiers are not allowed",
    "into_outfile": "SELECT ... INTO OUTFILE/DUMPFILE writes files; not allowed",
    "load_data": "LOAD DATA reads files into tables; not allowed",
    "select_into": "SELECT ... INTO creates a table; not allowed",
    "locking_read": "locking reads (FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE) are not allowed",
    "returning": "RETURNING belongs to a data-changing statement; not allowed",
    "transform_script": "TRANSFORM ... USING runs a script; not allowed",
    "system_variable": "system variables (@@...) are not allowed",
    "variable": "session/user variables (@...) are not allowed",
    "file_table": "reading files, URLs or stages as tables is not allowed",
    "function": "function {}() is not allowed (file, network, session, sleep or side effects)",
    "package": "{}* packages are not allowed",
    "tsql_keyword": "{1} is a T-SQL statement keyword (it would run as a second statement)",
    "table_function": "a table function call that cannot be checked is not allowed",
}

# fmt: on
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!", re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")
_FILE_CHARS = ("/", "\\", ":", "*", "?", "~")
_DENIED_KINDS = {getattr(exp, n): k for n, k in DENIED_NODES.items() if hasattr(exp, n)}
_DENIED_CLASSES = tuple(_DENIED_KINDS)

# ----------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Verdict:
    """The guard's answer for one SQL text.

    Attributes
    ----------
    allowed : bool
        True when the text is exactly one read-only query.
    reason : str or None
        Short human reason for a refusal; names the kind or function, never its arguments.
    kind : str or None
        Machine-readable kind, e.g. ``"select"``, ``"delete"``, ``"multiple_statements"``,
        ``"function:pg_read_file"``, ``"executable_comment"``, ``"empty"``, ``"parse_error"``.
    """

    allowed: bool
    reason: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict:
        """Return ``{"allowed": true}`` or ``{"allowed": false, "reason": ..., "kind": ...}``."""
        if self.allowed:
            return {"allowed": True}
        return {"allowed": False, "reason": self.reason, "kind": self.kind}


def check_sql(sql: str, dialect: str = DEFAULT_DIALECT) -> Verdict:
    """Classify ``sql`` as one read-only query or not, without raising.

    Parameters
    ----------
    sql : str
        The SQL text, exactly as it would be sent to the database.
    dialect : str
        A sqlglot dialect name (``duckdb``, ``postgres``, ``mysql``, ``sqlite``, ``tsql``...).

    Returns
    -------
    Verdict
        ``allowed=False`` with a reason for anything unsafe, unparseable or unknown.
    """
    return _check(sql, dialect)[0]


def assert_read_only(sql: str, dialect: str = DEFAULT_DIALECT) -> exp.Expression:
    """Return the single parsed read statement, or raise.

    Parameters
    ----------
    sql : str
        The SQL text.
    dialect : str
        A sqlglot dialect name; an unknown name is refused with the list of valid ones.

    Returns
    -------
    sqlglot.exp.Expression
        The parsed statement (Select, set operation, Values, Pivot or Subquery).

    Raises
    ------
    UnsafeSQL
        Not exactly one read-only query; the message names the statement kind or function.
    """
    verdict, tree = _check(sql, dialect)
    if not verdict.allowed or tree is None:
        raise UnsafeSQL(verdict.reason or "refused")
    return tree


_CACHED_SQL_CHARS = 20_000  # longer statements are checked every time (bounds the cache's memory)


@lru_cache(maxsize=1024)
def _allowed(sql: str, dialect: str) -> bool:
    assert_read_only(sql, dialect)  # raises UnsafeSQL: a refusal is never cached
    return True


def ensure_read_only(sql: str, dialect: str = DEFAULT_DIALECT) -> None:
    """:func:`assert_read_only` for callers that only need the verdict.

    A statement allowed once is allowed again without parsing it again (a dashboard refresh,
    and the federation engine's per-source SQL, check the same text every time); refusals
    are never remembered.
    """
    if len(sql) > _CACHED_SQL_CHARS:
        assert_read_only(sql, dialect)
    else:
        _allowed(sql, dialect)


def guard_jsonl(lines: Iterable[str]) -> Iterator[dict]:
    """Check SQL given as JSON lines (the ``dataask guard`` command).

    Parameters
    ----------
    lines : iterable of str
        Each line is ``{"sql": ..., "dialect": ...}``; ``dialect`` defaults to duckdb.
        Blank lines are skipped; every other line yields exactly one verdict.

    Yields
    ------
    dict
        ``Verdict.to_dict()`` per line, in order. A malformed line yields
        ``{"allowed": false, "reason": "line N: invalid JSON ...", "kind": "invalid_json"}``.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as err:
            # JSONDecodeError.msg never quotes the input; other errors might.
            detail = err.msg if isinstance(err, json.JSONDecodeError) else "unreadable"
            yield Verdict(
                False, f"line {number}: invalid JSON ({detail})", "invalid_json"
            ).to_dict()
            continue
        dialect = (item.get("dialect") or DEFAULT_DIALECT) if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("sql"), str):
            reason = f'line {number}: expected an object with a string "sql"'
            yield Verdict(False, reason, "invalid_input").to_dict()
        else:
            yield check_sql(item["sql"], dialect).to_dict()


# ----------------------------------------------------------------------------- internals


def _no(kind: str, reason: str | None = None) -> tuple[Verdict, None]:
    if reason is None:
        prefix, _, name = kind.partition(":")
        template = REASONS.get(prefix if name else kind)
        if template is None:
            reason = f"{kind.upper()} is not allowed; {_READ_ONLY}"
        else:
            reason = template.format(name, name.upper()) if name else template
    return Verdict(False, reason, kind), None


def _check(sql: object, dialect: object) -> tuple[Verdict, exp.Expression | None]:
    name = dialect.strip().lower() if isinstance(dialect, str) else ""
    if name not in VALID_DIALECTS:
        hint = did_you_mean(name, VALID_DIALECTS) if _SAFE_NAME.match(name) else ""
        return _no(
            "unknown_dialect",
            f"unknown SQL dialect.{hint} Use one of: " + ", ".join(VALID_DIALECTS),
        )
    if not isinstance(sql, str):
        return _no("invalid_input")
    if len(sql) > MAX_SQL_CHARS:
        return _no("too_long")
    if _CONTROL_CHARS.search(sql):
        return _no("control_character")
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return _no("invalid_text")
    try:
        tokens = _dialect(name).tokenize(sql)
        refused = _check_tokens(sql, tokens, name)
        if refused:
            return _no(refused)
        # Parse fresh tokens: the parser may attach comments to the ones it is given.
        parsed = _quiet_parser(name).parse(_dialect(name).tokenize(sql), sql)
    except RecursionError:
        return _no("parse_error", "SQL is too deeply nested to check")
    except ParseError as err:
        return _no("parse_error", _parse_error_reason(err, name))
    except SqlglotError:  # TokenError and friends quote the SQL: keep the reason generic
        return _no("parse_error", f"could not read the SQL as {name}")
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        return _no("multiple_statements" if statements else "empty")
    tree = statements[0]
    root = tree.unnest() if isinstance(tree, exp.Subquery) else tree
    if not isinstance(root, READ_ROOTS):
        return _no(_statement_kind(root, tokens))
    refused = _check_tree(tree, tokens, name)
    if refused:
        return _no(refused)
    return Verdict(True, None, type(root).__name__.lower()), tree


@cache
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


@cache
def _quiet_parser_class(name: str) -> type:
    # sqlglot logs the offending SQL when it falls back to a Command; that would put
    # paths or DSNs into server logs, so this subclass stays silent (we refuse Commands).
    base = _dialect(name).parser_class
    return type(f"Quiet{base.__name__}", (base,), {"_warn_unsupported": lambda self: None})


def _quiet_parser(name: str):
    return _quiet_parser_class(name)(dialect=_dialect(name))


def _parse_error_reason(err: ParseError, name: str) -> str:
    first = err.errors[0] if err.errors else {}
    # Descriptions can quote token text (a path); keep only the words before any quote.
    description = re.split(r"[<'\"`]", str(first.get("description") or ""), maxsplit=1)[0]
    description = description.strip(" :.") or "invalid syntax"
    if description.endswith("but got"):
        description += " an unexpected token"
    where = f" at line {first.get('line')}, column {first.get('col')}" if first.get("line") else ""
    return f"could not parse the SQL as {name}{where}: {description}"


def _check_tokens(sql: str, tokens: list, name: str) -> str | None:
    # Blank out every token: what is left is whitespace and comments only.
    masked, last = [], 0
    for tok in tokens:
        masked.append(sql[last : tok.start])
        last = tok.end + 1
    masked.append(sql[last:])
    if _EXECUTABLE_COMMENT.search("".join(masked)):
        return "executable_comment"
    if any("/*" in comment for tok in tokens for comment in tok.comments or ()):
        return "nested_comment"
    words = [tok.text.upper() for tok in tokens] + [""]
    for i, tok in enumerate(tokens):
        kind, nxt = tok.token_type.name, words[i + 1]
        if kind.endswith("STRING") and re.search(r"\\['\"]", sql[tok.start : tok.end + 1]):
            return "ambiguous_string"
        if words[i] == "INTO" and nxt in ("OUTFILE", "DUMPFILE"):
            return "into_outfile"
        if words[i] == "LOAD" and nxt in ("DATA", "XML"):
            return "load_data"
        if kind == "AMP" and 0 < i < len(tokens) - 1 and words[i - 1] == "U":
            after = tokens[i + 1]
            # Postgres U&"pg\005fread\005ffile" spells a denied name the walk cannot see.
            if after.token_type.name == "IDENTIFIER" and tok.start == tokens[i - 1].end + 1:
                return "unicode_escape"
        plain = kind not in ("IDENTIFIER", "STRING") and not kind.endswith("_STRING")
        if name in ("tsql", "fabric") and plain and i and words[i] in TSQL_STATEMENT_WORDS:
            return f"tsql_keyword:{words[i].lower()}"
    return None


def _statement_kind(root: exp.Expression, tokens: list) -> str:
    for cls in type(root).__mro__:
        kind = _DENIED_KINDS.get(cls)
        if kind == "command":  # the Command fallback keeps its first keyword in ``this``
            return _safe(str(root.this), "command")
        if kind:
            return kind
    # e.g. "START TRANSACTION" parses as an Alias, "CHECKPOINT" as a Column.
    return _safe(tokens[0].text if tokens else "", type(root).__name__.lower())


def _safe(name: str, fallback: str) -> str:
    name = name.lower()
    return name if _SAFE_NAME.match(name) else fallback


def _check_tree(tree: exp.Expression, tokens: list, name: str) -> str | None:
    string_starts = {t.start for t in tokens if t.token_type.name.endswith("STRING")}
    for node in tree.walk():
        if isinstance(node, _DENIED_CLASSES):
            return _statement_kind(node, [])
        if isinstance(node, exp.Func):
            fn = _denied_function(node)
            if fn:
                return f"function:{fn}"
        elif isinstance(node, exp.Column) and node.name.lower() == "nextval" and node.table:
            return "function:nextval"  # Snowflake seq.NEXTVAL
        elif isinstance(node, (exp.SessionParameter, exp.Parameter)):
            if isinstance(node, exp.SessionParameter) or isinstance(node.this, exp.Parameter):
                return "system_variable"
            if node.sql(dialect=name).startswith("@"):
                return "variable"
        elif isinstance(node, exp.Table):
            alias = node.args.get("alias")
            if alias and any(c.meta.get("start") in string_starts for c in alias.columns):
                # sqlglot reads FROM file('x') as table "file" with column alias 'x'.
                fn = _denied_name([node.name])
                return f"function:{fn}" if fn else "table_function"
            if _is_file_table(node, string_starts, name):
                return "file_table"
        elif name == "oracle" and isinstance(node, exp.Identifier):
            if node.name.lower().startswith(DENIED_PACKAGE_PREFIXES):
                return "package:" + node.name.lower().split("_")[0] + "_"
    return None


def _denied_function(node: exp.Func) -> str | None:
    if type(node).__name__.startswith("Anonymous"):
        # An anonymous call keeps its name in ``this``. ``node.name`` of a typed function
        # can be its first argument (a path), so typed classes use their class names.
        this = node.this
        names = [this if isinstance(this, str) else getattr(this, "name", "")]
    else:
        names = [type(node).key, *type(node).sql_names()]
    return _denied_name(names)


def _denied_name(names: list[str]) -> str | None:
    for fn in (n.lower() for n in names):
        if fn in DENIED_FUNCTIONS or fn.startswith(DENIED_FUNCTION_PREFIXES):
            return _safe(fn, "denied")
    return None


def _is_file_table(node: exp.Table, string_starts: set[int], name: str) -> bool:
    if isinstance(node.this, exp.Var) and node.this.name.startswith("@"):
        return True  # Snowflake stage: FROM @stage/path
    for part in node.parts:
        if not isinstance(part, exp.Identifier):
            continue
        if part.meta.get("start") in string_starts:
            return True  # a string literal in table position: DuckDB reads it as a file/URL
        quoted_path = any(c in part.name for c in _FILE_CHARS) or (
            name == "duckdb" and "." in part.name
        )
        if part.quoted and quoted_path:
            return True
    # DuckDB's replacement scan also reads unquoted ``FROM data.csv`` as a file.
    last = node.this
    return (
        name == "duckdb"
        and isinstance(last, exp.Identifier)
        and not last.quoted
        and bool(node.args.get("db"))
        and last.name.lower() in FILE_EXTENSIONS
    )
