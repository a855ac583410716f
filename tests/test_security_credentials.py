"""SECURITY.md credential cases 1-5 and 8 against a real PostgreSQL, the CLI and the store file.

Each test creates its own PostgreSQL role whose password is a unique canary, so that "the
canary is absent" is meaningful everywhere we look.
"""

from __future__ import annotations

import base64
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg import sql as pgsql

from dataask_jupyter.connections.url import MASK
from dataask_jupyter.crypto import CredentialCipher, load_keys
from dataask_jupyter.errors import ConfigError, CredentialError, SourceError, UsageError
from dataask_jupyter.store import open_store
from tests.foundation_fixtures import (
    dataask_env,
    files_containing,
    make_app,
    new_key,
    one_json,
    pg_connect,
    pg_parts,
    run_cli,
    sqlite_file,
    with_credentials,
    without_password,
)

pytestmark = pytest.mark.integration


@dataclass
class Role:
    name: str
    password: str
    url: str  # with the password, percent-encoded


def _create_role(admin_url: str, password: str) -> Role:
    name = "r_" + uuid.uuid4().hex[:10]
    with pg_connect(admin_url) as c:
        c.execute(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(pgsql.Identifier(name), pgsql.Literal(password)))
        c.execute(pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(pgsql.Identifier(name)))
    return Role(name, password, with_credentials(admin_url, name, password))


def _drop_role(admin_url: str, role: Role) -> None:
    with pg_connect(admin_url) as c:
        c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role.name,))
        c.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(role.name)))
        c.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(role.name)))


@pytest.fixture
def db(fresh_pg_db):
    with pg_connect(fresh_pg_db) as c:
        c.execute("CREATE TABLE items (id int, name text)")
        c.execute("INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    return fresh_pg_db


@pytest.fixture
def roles(db):
    made: list[Role] = []

    def make(password: str | None = None) -> Role:
        role = _create_role(db, password or f"CanaryPw-{uuid.uuid4().hex}")
        made.append(role)
        return role

    yield make
    for role in made:
        _drop_role(db, role)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def _store_files(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if p.name.startswith("dataask.db"))


# -- case 1: the canary never leaves the encrypted column -------------------------------------------
def test_sec_01_canary_absent_everywhere(home, db, roles, caplog):
    caplog.set_level(logging.DEBUG)  # SQLAlchemy logs statements and parameters at this level
    role = roles()
    canary = role.password
    with make_app(home) as app:
        info = app.connect("pg", role.url)
        app.connect("pg2", without_password(role.url), password=canary)
        assert app.sql("pg", "SELECT count(*) FROM items").to_dict()["rows"] == [[3]]
        assert info.url == f"postgresql://{role.name}:{MASK}@{pg_parts(db)['host']}:{pg_parts(db)['port']}/" \
                           f"{pg_parts(db)['dbname']}"
        outputs = [repr(info), json.dumps(info.to_dict()), repr(app.list_connections()),
                   json.dumps(app.list_connections().to_dict()), repr(app.list_connections()._repr_mimebundle_()),
                   repr(info._repr_mimebundle_()), repr(app.connections.test("pg")),
                   repr(app.repo.list_audit()), repr(app.repo.list_connections(1))]
        for out in outputs:
            assert canary not in out
        # failed connects with the canary: wrong database, wrong port
        for bad in (role.url.rsplit("/", 1)[0] + "/no_such_db", role.url.replace(f":{pg_parts(db)['port']}/", ":1/")):
            with pytest.raises(SourceError) as err:
                app.connect("bad", bad)
            assert canary not in str(err.value) and "postgresql://" not in str(err.value)
        tokens = [c.secret for c in app.repo.list_connections(1)]
        assert len(tokens) == 2 and tokens[0] != tokens[1]  # same password, different ciphertexts
        assert all(CredentialCipher(load_keys(app.settings)).decrypt(t) == canary for t in tokens)
        # grep the live store files (the WAL holds the recent writes) before and after a checkpoint
        assert any(p.name == "dataask.db-wal" for p in _store_files(home))
        assert files_containing(home, canary) == []
        with app.repo.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert files_containing(home, canary) == []
    for record in caplog.records:
        assert canary not in record.getMessage() and canary not in repr(record.args)
    # the CLI's JSON list, in another process, over the same store
    out = run_cli(home, "connection", "list", "--json")
    assert out.returncode == 0 and canary not in out.stdout + out.stderr
    listed = {c["name"]: c for c in one_json(out.stdout)["connections"]}
    assert set(listed) == {"pg", "pg2"} and MASK in listed["pg"]["url"] and MASK in listed["pg2"]["url"]
    assert files_containing(home, canary) == []


# -- case 2: the mask keeps the stored secret ---------------------------------------------------
def test_sec_02_mask_or_no_password_keeps_secret(home, db, roles):
    role = roles()
    with make_app(home) as app:
        info = app.connect("pg", role.url)
        token = app.repo.get_connection(1, "pg").secret
        # the masked URL from the list, pasted back
        app.connect("pg", info.url, replace=True)
        assert app.repo.get_connection(1, "pg").secret == token
        app.connect("pg", without_password(role.url), replace=True)
        assert app.repo.get_connection(1, "pg").secret == token
        app.connect("pg", without_password(role.url), password=MASK, replace=True)
        assert app.repo.get_connection(1, "pg").secret == token
        assert app.sql("pg", "SELECT count(*) FROM items").to_dict()["rows"] == [[3]]
        # another database on the same host and user may keep it too
        with pytest.raises(SourceError):
            app.connect("pg", info.url.rsplit("/", 1)[0] + "/postgres_not_there", replace=True)
        assert app.repo.get_connection(1, "pg").secret == token


@pytest.mark.parametrize("change", ["host", "port", "user"])
def test_sec_02_mask_never_follows_a_new_endpoint(home, db, roles, change):
    role = roles()
    with make_app(home) as app:
        info = app.connect("pg", role.url)
        token = app.repo.get_connection(1, "pg").secret
        p = pg_parts(db)
        moved = {"host": info.url.replace(f"@{p['host']}:", "@localhost:"),
                 "port": info.url.replace(f":{p['port']}/", ":5999/"),
                 "user": info.url.replace(f"{role.name}:", "dataask:")}[change]
        with pytest.raises(UsageError, match="enter the password again"):
            app.connect("pg", moved, replace=True)
        with pytest.raises(UsageError):
            app.connect("pg", without_password(moved), replace=True)
        assert app.repo.get_connection(1, "pg").secret == token
        assert app.connections.info("pg").url == info.url


def test_sec_02_mask_is_not_a_password(home, db, roles):
    role = roles()
    with make_app(home) as app:
        with pytest.raises(UsageError, match="not the mask"):
            app.connect("pg", with_credentials(role.url, role.name, MASK))
        assert app.list_connections() == []


def test_sec_02_special_characters_round_trip(home, db, roles):
    role = roles(f"p@ss:w/o%rd#{uuid.uuid4().hex[:6]}?&=+ é")
    with make_app(home) as app:
        app.connect("by_url", role.url)  # percent-encoded in the URL
        app.connect("by_arg", without_password(role.url), password=role.password)
        for name in ("by_url", "by_arg"):
            assert app.sql(name, "SELECT current_user AS u").to_dict()["rows"] == [[role.name]]
    res = run_cli(home, "connection", "add", "by_stdin", without_password(role.url), "--password-stdin", "--json",
                  input=role.password + "\n")
    assert res.returncode == 0, res.stderr
    assert role.password not in res.stdout + res.stderr
    with make_app(home) as app:
        assert app.sql("by_stdin", "SELECT current_user AS u").to_dict()["rows"] == [[role.name]]
    assert files_containing(home, role.password) == []


# -- case 3: no key, weak key: refuse, never plaintext -----------------------------------------------
WEAK = {"short": base64.urlsafe_b64encode(os.urandom(16)).decode(),
        "zeros": base64.urlsafe_b64encode(b"\x00" * 32).decode(),
        "garbage": "not-a-key"}


@pytest.mark.parametrize("case", ["team-no-key", *WEAK])
def test_sec_03_no_or_weak_key_stores_nothing(home, db, roles, case):
    role = roles()
    if case == "team-no-key":
        overrides = {"mode": "team", "allowed_hosts": ("127.0.0.1",)}
    else:
        overrides = {"secret_keys": (WEAK[case],)}
    with make_app(home, **overrides) as app:
        with pytest.raises(ConfigError) as info:
            app.connect("pg", role.url)
        msg = str(info.value)
        assert role.password not in msg and "DATAASK_SECRET_KEY" in msg
        assert case != "team-no-key" or "never stored unencrypted" in msg
        assert app.list_connections() == []
    assert files_containing(home, role.password) == []


def test_sec_03_cli_team_mode_without_key(home, db, roles):
    role = roles()
    env = dataask_env(home, DATAASK_MODE="team", DATAASK_ALLOWED_HOSTS="127.0.0.1")
    res = run_cli(home, "connection", "add", "pg", role.url, env=env)
    assert res.returncode == 1 and res.stdout == ""
    assert "DATAASK_SECRET_KEY" in res.stderr and "Traceback" not in res.stderr and role.password not in res.stderr
    with make_app(home, mode="team", secret_keys=(new_key(),)) as app:
        assert app.list_connections() == []
    assert files_containing(home, role.password) == []
    assert not (home / "secret.key").exists()


def test_sec_03_world_readable_key_file_refused(home, db, roles):
    role = roles()
    with make_app(home) as app:
        app.connections.cipher  # noqa: B018  (creates the key file)
    os.chmod(home / "secret.key", 0o644)
    with make_app(home) as app:
        with pytest.raises(ConfigError, match="readable by other users"):
            app.connect("pg", role.url)
        assert app.list_connections() == []


# -- case 4: wrong key or a flipped byte: only that connection, never sent to the DB --------------
def _flip_stored_secret(home: Path, name: str) -> None:
    con = sqlite3.connect(home / "dataask.db")
    try:
        (token,) = con.execute("SELECT secret FROM connections WHERE name = ?", (name,)).fetchone()
        raw = bytearray(base64.urlsafe_b64decode(token))
        raw[len(raw) // 2] ^= 0x40
        con.execute("UPDATE connections SET secret = ? WHERE name = ?",
                    (base64.urlsafe_b64encode(bytes(raw)).decode(), name))
        con.commit()
    finally:
        con.close()


def test_sec_04_flipped_byte_only_breaks_that_connection(home, db, roles, pg_log, tmp_path):
    victim, other = roles(), roles()
    with make_app(home) as app:
        app.connect("victim", victim.url)
        app.connect("other", other.url)
        app.connect("local", f"sqlite:///{sqlite_file(tmp_path / 'l.sqlite')}")
    _flip_stored_secret(home, "victim")
    with make_app(home) as app:  # a fresh process: nothing pooled
        with pytest.raises(CredentialError) as info:
            app.sql("victim", "SELECT 1")
        assert "Re-enter the credentials" in str(info.value) and "'victim'" in str(info.value)
        assert app.sql("other", "SELECT count(*) FROM items").to_dict()["rows"] == [[3]]
        assert app.sql("local", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]
        assert app.connections.test("victim").ok is False
        health = {c.name: c.health for c in app.list_connections()}
        assert health["victim"].status == "down" and "cannot be decrypted" in health["victim"].last_error
        assert health["victim"].error_count == 2  # one per failed call (query, test), not two each
        assert health["other"].status == "active"
        with pytest.raises(CredentialError):
            app.connections.tables("victim")
        # a positive control: a wrong password for another role *is* logged by the server
        with pytest.raises(SourceError):
            app.connect("control", with_credentials(other.url, other.name, "wrong-password"))
    log = pg_log.wait_for(f'password authentication failed for user "{other.name}"')
    assert f'authentication failed for user "{victim.name}"' not in log  # garbage never reached the DB


def test_sec_04_wrong_key_breaks_secrets_but_not_local_files(home, db, roles, tmp_path, pg_log):
    role = roles()
    key = new_key()
    with make_app(home, secret_keys=(key,)) as app:
        app.connect("pg", role.url)
        app.connect("local", f"sqlite:///{sqlite_file(tmp_path / 'l.sqlite')}")
    with make_app(home, secret_keys=(new_key(),)) as app:
        with pytest.raises(CredentialError, match="cannot be decrypted"):
            app.sql("pg", "SELECT 1")
        assert app.sql("local", "SELECT count(*) FROM items").to_dict()["rows"] == [[5]]
    with make_app(home, secret_keys=(key,)) as app:  # the right key again: it works
        assert app.sql("pg", "SELECT count(*) FROM items").to_dict()["rows"] == [[3]]
    assert f'authentication failed for user "{role.name}"' not in pg_log.text()


# -- case 5: rotation ---------------------------------------------------------------------------------
def _seed_tokens(store_url: str, cipher: CredentialCipher, n: int, url: str) -> None:
    """Insert ``n`` connections in one transaction, each with a valid token."""
    from sqlalchemy import insert

    from dataask_jupyter.store import models

    repo = open_store(store_url)
    ws = repo.get_workspace("default").id
    rows = [{"workspace_id": ws, "name": f"c{i:05d}", "family": "postgres", "url": url,
             "secret": cipher.encrypt(f"pw-{i}"), "options": {}, "created_by": "seed"} for i in range(n)]
    with repo.engine.begin() as conn:
        conn.execute(insert(models.Connection), rows)
    repo.engine.dispose()


def _all_tokens(home: Path) -> dict[str, str]:
    con = sqlite3.connect(home / "dataask.db")
    try:
        return dict(con.execute("SELECT name, secret FROM connections WHERE secret IS NOT NULL"))
    finally:
        con.close()


def test_sec_05_cli_rotation_rerun_and_use(home, db, roles):
    role = roles()
    old, new = new_key(), new_key()
    with make_app(home, secret_keys=(old,)) as app:
        app.connect("pg", role.url)
    _seed_tokens(f"sqlite:///{home / 'dataask.db'}", CredentialCipher([old]), 9, "postgresql://u@127.0.0.1/x")
    env = dataask_env(home, DATAASK_SECRET_KEY=f"{new};{old}")
    res = run_cli(home, "rotate-key", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert one_json(res.stdout) == {"changed": 10, "key_source": "environment"}
    res = run_cli(home, "rotate-key", "--json", env=env)
    assert one_json(res.stdout)["changed"] == 0
    with make_app(home, secret_keys=(new,)) as app:  # the old key can go now
        assert app.sql("pg", "SELECT count(*) AS n FROM items").to_dict()["rows"] == [[3]]


def test_sec_05_cli_rotation_with_corrupt_row_commits_nothing(home):
    old, new = new_key(), new_key()
    store = f"sqlite:///{home / 'dataask.db'}"
    _seed_tokens(store, CredentialCipher([old]), 20, "postgresql://u@127.0.0.1/x")
    repo = open_store(store)
    repo.save_connection(1, "c00010x", "postgres", "postgresql://u@h/d", CredentialCipher([new_key()]).encrypt("x"),
                         {}, "t")
    repo.engine.dispose()
    before = _all_tokens(home)
    res = run_cli(home, "rotate-key", env=dataask_env(home, DATAASK_SECRET_KEY=f"{new};{old}"))
    assert res.returncode == 1
    assert "'c00010x'" in res.stderr and "nothing was changed" in res.stderr and "Traceback" not in res.stderr
    assert _all_tokens(home) == before


def _wait_for_write_lock(db_path: Path, proc, timeout: float = 60) -> bool:
    """Poll until another process holds the store's write lock (the rotation's transaction)."""
    con = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.is_alive():
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            time.sleep(0.0005)
        return False
    finally:
        con.close()


def _rotate_in_child(home: Path, env: dict[str, str]) -> multiprocessing.Process:
    """`dataask rotate-key` in a forked process (the real command, minus interpreter start-up)."""

    def child():
        os.environ.update(env)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        from dataask_jupyter import cli

        os._exit(cli.main(["rotate-key", "--json"]))

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    return proc


def _kill(proc: multiprocessing.Process) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)


@pytest.mark.slow
def test_sec_05_kill_9_during_env_rotation(home):
    old, new = new_key(), new_key()
    n = 2000
    _seed_tokens(f"sqlite:///{home / 'dataask.db'}", CredentialCipher([old]), n, "postgresql://u@127.0.0.1/x")
    env = {"DATAASK_HOME": str(home), "DATAASK_SECRET_KEY": f"{new};{old}"}
    proc = _rotate_in_child(home, env)
    in_transaction = _wait_for_write_lock(home / "dataask.db", proc)
    _kill(proc)
    assert proc.exitcode == -signal.SIGKILL, "the rotation finished before it could be killed"
    assert in_transaction  # killed while it held the store's write lock: inside the one transaction
    tokens = _all_tokens(home)
    both, only_new = CredentialCipher([new, old]), CredentialCipher([new])
    assert len(tokens) == n
    assert all(both.decrypt(t) == f"pw-{int(name[1:])}" for name, t in tokens.items())
    state = {only_new.is_current(t) for t in tokens.values()}
    assert state in ({True}, {False})  # all-old or all-new, never a mix
    res = run_cli(home, "rotate-key", "--json", env=dataask_env(home, DATAASK_SECRET_KEY=f"{new};{old}"))
    assert res.returncode == 0, res.stderr
    assert one_json(res.stdout)["changed"] == (0 if state == {True} else n)
    assert all(only_new.is_current(t) for t in _all_tokens(home).values())


@pytest.mark.slow
def test_sec_05_kill_9_during_key_file_rotation_then_rerun(home):
    with make_app(home) as app:
        (old,) = load_keys(app.settings)
    n = 2000
    _seed_tokens(f"sqlite:///{home / 'dataask.db'}", CredentialCipher([old]), n, "postgresql://u@127.0.0.1/x")
    key_file = home / "secret.key"
    proc = _rotate_in_child(home, {"DATAASK_HOME": str(home)})
    deadline = time.monotonic() + 60
    while proc.is_alive() and time.monotonic() < deadline:  # the run has published "new, old"
        if len(key_file.read_text().split()) == 2:
            break
        time.sleep(0.0005)
    _kill(proc)
    assert proc.exitcode == -signal.SIGKILL
    keys = key_file.read_text().split()
    assert len(keys) == 2 and keys[1] == old
    both = CredentialCipher(keys)
    tokens = _all_tokens(home)
    assert all(both.decrypt(t) == f"pw-{int(name[1:])}" for name, t in tokens.items())
    assert len({CredentialCipher(keys[:1]).is_current(t) for t in tokens.values()}) == 1
    with make_app(home) as app:  # the rerun (same code as `dataask rotate-key`)
        report = app.rotate_key()
    assert report.key_source == "key file" and report.changed in (0, n)
    assert key_file.read_text().split() == [keys[0]]  # finished the interrupted run, no third key
    assert all(CredentialCipher([keys[0]]).decrypt(t) == f"pw-{int(name[1:])}" for name, t in
               _all_tokens(home).items())


# -- case 8: database down before connecting and mid-query ------------------------------------------
def test_sec_08_database_down_before_connect_and_mid_query(home, db, roles, pg_server):
    role = roles()
    with make_app(home, connect_timeout=2.0, query_timeout=10.0) as app:
        pg_server.stop()
        with pytest.raises(SourceError) as info:
            app.connect("pg", role.url)
        msg = str(info.value)
        assert role.password not in msg and "postgresql://" not in msg and role.url not in msg
        assert app.list_connections() == []
        pg_server.start()

        app.connect("pg", role.url)
        errors: list[BaseException] = []

        def long_query():
            try:
                app.sql("pg", "SELECT pg_sleep(8)", check=False)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        t = threading.Thread(target=long_query)
        t.start()
        time.sleep(0.7)
        pg_server.stop()
        t.join(30)
        assert len(errors) == 1 and isinstance(errors[0], SourceError)
        msg = str(errors[0])
        assert role.password not in msg and "postgresql://" not in msg and "Traceback" not in msg
        health = app.connections.info("pg").health
        assert health.status == "down" and role.password not in (health.last_error or "")
        pg_server.start()
        assert app.sql("pg", "SELECT count(*) FROM items").to_dict()["rows"] == [[3]]
