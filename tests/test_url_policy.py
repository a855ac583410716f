"""SECURITY.md cases 17-19: which connection URLs may be used as data sources.

No test here connects anywhere but loopback: refusals must happen before connecting, and a
tripwire on the database drivers fails any test that tries. "Public host" positive cases
only look at ``check_url`` and the effective connect arguments.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

from dataask_jupyter.connections.mysql import MySQLConnector
from dataask_jupyter.connections.policy import ResolvedTarget, check_url
from dataask_jupyter.connections.postgres import PostgresConnector
from dataask_jupyter.connections.url import MASK, parse_connection_url
from dataask_jupyter.errors import PolicyViolation, UsageError
from tests.foundation_fixtures import duckdb_file, make_app, make_settings, new_key, sqlite_file

PUBLIC_IP = "93.184.216.34"  # a global address; never connected to
FAKE_PUBLIC = "warehouse.public-db.example"
FAKE_PRIVATE = "db.corp.internal.example"
FAKE_REBIND = "rebind.attacker.example"


@pytest.fixture(autouse=True)
def no_driver_connects(monkeypatch):
    """Tripwire: these tests must refuse before any database driver is asked to connect."""
    import MySQLdb
    import psycopg
    import pymysql

    def boom(*a, **kw):
        raise AssertionError(f"a database connection was attempted: {kw.get('host') or a}")

    monkeypatch.setattr(psycopg, "connect", boom)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(lambda cls, *a, **kw: boom(*a, **kw)))
    monkeypatch.setattr(MySQLdb, "connect", boom)
    monkeypatch.setattr(pymysql, "connect", boom)


@pytest.fixture
def fake_dns(monkeypatch):
    """Answer for a few invented names; numeric hosts go to the real resolver (no network)."""
    real = socket.getaddrinfo
    calls: list[str] = []
    answers = {
        FAKE_PUBLIC: [[PUBLIC_IP]],
        FAKE_PRIVATE: [["10.20.30.40"]],
        # DNS rebinding: public on the first lookup, private on every later one
        FAKE_REBIND: [[PUBLIC_IP], ["169.254.169.254"]],
        "mixed.attacker.example": [[PUBLIC_IP, "192.168.0.10"]],
    }

    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        if host in answers:
            seq = answers[host]
            ips = seq[min(calls.count(host), len(seq)) - 1]
            out = []
            for ip in ips:
                fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
                addr = (ip, port or 0, 0, 0) if fam == socket.AF_INET6 else (ip, port or 0)
                out.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr))
            return out
        try:
            ipaddress.ip_address(host.strip("[]"))
            numeric = True
        except ValueError:
            numeric = host in ("localhost",) or host.replace(".", "").replace("x", "").isalnum() and host[0].isdigit()
        if not numeric:
            raise AssertionError(f"unexpected real DNS lookup of {host!r}")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def team(tmp_path, **kw):
    kw.setdefault("secret_keys", (new_key(),))
    return make_settings(tmp_path / "home", mode="team", **kw)


def personal(tmp_path, **kw):
    return make_settings(tmp_path / "home", **kw)


def check(raw: str, settings, port: int | None = 5432):
    return check_url(parse_connection_url(raw), settings, port)


# -- case 17: file and embedded engines -----------------------------------------------------------
SCHEMES_17 = [
    "sqlite:///{d}/data.sqlite",
    "sqlite+pysqlite:///{d}/data.sqlite",
    "sqlite+aiosqlite:///{d}/data.sqlite",
    "sqlite+:///{d}/data.sqlite",
    "sqlite://",
    "sqlite:///:memory:",
    "duckdb:///{d}/data.duckdb",
    "duckdb://",
    "shillelagh://",
    "shillelagh+safe://",
]


@pytest.mark.parametrize("template", SCHEMES_17)
def test_sec_17_team_mode_refuses_local_engines(tmp_path, fake_dns, template):
    sqlite_file(tmp_path / "data.sqlite")
    duckdb_file(tmp_path / "data.duckdb")
    raw = template.format(d=tmp_path)
    with pytest.raises((PolicyViolation, UsageError)) as info:
        check(raw, team(tmp_path))
    assert "cannot be used as a data source" in str(info.value)
    assert info.value.http_status == 400
    assert str(tmp_path) not in str(info.value)  # no path echoed back


@pytest.mark.parametrize("template", SCHEMES_17)
def test_sec_17_team_mode_add_saves_nothing(tmp_path, template):
    sqlite_file(tmp_path / "data.sqlite")
    duckdb_file(tmp_path / "data.duckdb")
    with make_app(tmp_path / "home", mode="team", secret_keys=(new_key(),)) as app:
        with pytest.raises((PolicyViolation, UsageError)):
            app.connect("src", template.format(d=tmp_path))
        assert app.list_connections() == []


@pytest.mark.parametrize("scheme", ["sqlite+aiosqlite", "shillelagh", "shillelagh+apsw", "sqlite+pysqlcipher"])
def test_sec_17_unsupported_drivers_refused_in_personal_mode_too(tmp_path, scheme):
    sqlite_file(tmp_path / "data.sqlite")
    with pytest.raises((PolicyViolation, UsageError), match="cannot be used as a data source"):
        check(f"{scheme}:///{tmp_path}/data.sqlite", personal(tmp_path))


@pytest.mark.parametrize(
    "template",
    ["sqlite:///{d}/data.sqlite", "sqlite+pysqlite:///{d}/data.sqlite", "sqlite+:///{d}/data.sqlite",
     "duckdb:///{d}/data.duckdb", "sqlite://", "duckdb://"],
)
def test_sec_17_personal_mode_allows_ordinary_local_files(tmp_path, template):
    sqlite_file(tmp_path / "data.sqlite")
    duckdb_file(tmp_path / "data.duckdb")
    assert check(template.format(d=tmp_path), personal(tmp_path)) is None
    with make_app(tmp_path / "home") as app:
        info = app.connect("src", template.format(d=tmp_path))
        assert info.health.status == "active"


def _protected_targets(home: Path) -> dict[str, Path]:
    return {
        "store": home / "dataask.db",
        "wal": home / "dataask.db-wal",
        "shm": home / "dataask.db-shm",
        "journal": home / "dataask.db-journal",
        "key": home / "secret.key",
        "dotted": home / "sub" / ".." / "dataask.db",
    }


@pytest.mark.parametrize("mode", ["personal", "team"])
@pytest.mark.parametrize("which", ["store", "wal", "shm", "journal", "key", "dotted", "symlink", "hardlink"])
@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
def test_sec_17_own_store_and_key_never_a_source(tmp_path, mode, which, scheme):
    home = tmp_path / "home"
    with make_app(home) as app:  # creates the store and the key file
        app.connections.cipher  # noqa: B018
        app.repo.audit("t", "touch")  # make sure the WAL exists
        (home / "sub").mkdir()
        targets = _protected_targets(home)
        if which == "symlink":
            target = tmp_path / "innocent.db"
            target.symlink_to(home / "dataask.db")
        elif which == "hardlink":
            target = tmp_path / "hard.db"
            os.link(home / "dataask.db", target)
        else:
            target = targets[which]
        settings = personal(tmp_path) if mode == "personal" else team(tmp_path, allowed_hosts=(str(tmp_path),))
        with pytest.raises(PolicyViolation, match="metadata store and key file cannot be used"):
            check(f"{scheme}:///{target}", settings)
        if mode == "personal":
            with pytest.raises(PolicyViolation):
                app.connect("evil", f"{scheme}:///{target}")
            assert app.list_connections() == []


def test_sec_17_store_elsewhere_via_store_url_is_protected(tmp_path):
    elsewhere = tmp_path / "other" / "meta.db"
    settings = personal(tmp_path, store_url=f"sqlite:///{elsewhere}")
    from dataask_jupyter.core import DataAsk

    with DataAsk(settings) as app:
        assert elsewhere.exists()
        for suffix in ("", "-wal"):
            with pytest.raises(PolicyViolation, match="metadata store"):
                app.connect("evil", f"sqlite:///{elsewhere}{suffix}")


def test_sec_17_team_mode_allowlisted_folder(tmp_path, fake_dns):
    data = sqlite_file(tmp_path / "shared" / "data.sqlite")
    settings = team(tmp_path, allowed_hosts=(str(tmp_path / "shared"),))
    assert check(f"sqlite:///{data}", settings) is None
    # a sibling folder with a common prefix is not inside the allowlisted one
    other = sqlite_file(tmp_path / "shared-not" / "data.sqlite")
    with pytest.raises(PolicyViolation):
        check(f"sqlite:///{other}", settings)
    # a symlink inside the allowlisted folder that points outside does not count
    (tmp_path / "shared" / "link.sqlite").symlink_to(other)
    with pytest.raises(PolicyViolation):
        check(f"sqlite:///{tmp_path / 'shared' / 'link.sqlite'}", settings)


# -- case 18: hosts in team mode ------------------------------------------------------------------
PRIVATE_HOSTS = [
    "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f000001", "127.1", "0.0.0.0", "[::]",
    "localhost", "169.254.169.254", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254",
    "192.168.0.1", "192.168.255.254", "100.64.0.1", "100.127.255.254", "[fd00::1]", "[fe80::1]",
    "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]", FAKE_PRIVATE, "mixed.attacker.example",
]


@pytest.mark.parametrize("family", ["postgresql", "mysql"])
@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_sec_18_private_hosts_refused_in_team_mode(tmp_path, fake_dns, family, host):
    with pytest.raises(PolicyViolation) as info:
        check(f"{family}://u:pw@{host}:5432/db", team(tmp_path))
    assert "local or private network" in str(info.value)
    assert "pw" not in str(info.value).split()


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", FAKE_PRIVATE])
def test_sec_18_team_add_refused_before_connecting(tmp_path, fake_dns, host):
    with make_app(tmp_path / "home", mode="team", secret_keys=(new_key(),)) as app:
        with pytest.raises(PolicyViolation):
            app.connect("db", f"postgresql://u:secretpw@{host}:5432/db")
        assert app.list_connections() == []
        audit = app.repo.list_audit()
        assert audit and audit[0].outcome == "error" and audit[0].detail == {"reason": "policy_violation"}


def test_sec_18_team_requires_a_host(tmp_path):
    with pytest.raises(PolicyViolation, match="host is required"):
        check("postgresql://u@/db", team(tmp_path))


def test_sec_18_personal_mode_allows_localhost(tmp_path):
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert check(f"postgresql://u@{host}:5432/db", personal(tmp_path)).ip is None
    assert check("postgresql://u@/db", personal(tmp_path)).host == "localhost"


@pytest.mark.parametrize(
    ("entry", "host"),
    [("127.0.0.1", "127.0.0.1"), ("10.0.0.0/8", "10.1.2.3"), (FAKE_PRIVATE, FAKE_PRIVATE),
     ("10.20.30.0/24", FAKE_PRIVATE), ("::1", "[::1]")],
)
def test_sec_18_allowlisted_hosts(tmp_path, fake_dns, entry, host):
    target = check(f"postgresql://u@{host}:5432/db", team(tmp_path, allowed_hosts=(entry,)))
    assert target is not None and target.ip is not None
    # the allowlist is exact: another private address is still refused
    with pytest.raises(PolicyViolation):
        check("postgresql://u@192.168.77.77:5432/db", team(tmp_path, allowed_hosts=(entry,)))


def test_sec_18_public_host_is_pinned_to_checked_address(tmp_path, fake_dns):
    settings = team(tmp_path)
    parsed = parse_connection_url(f"postgresql://u@{FAKE_PUBLIC}:5432/db")
    target = check_url(parsed, settings, 5432)
    assert target == ResolvedTarget(host=FAKE_PUBLIC, ip=PUBLIC_IP)
    args = PostgresConnector().connect_args(parsed, target, settings, "pw")
    assert args["hostaddr"] == PUBLIC_IP and args["host"] == FAKE_PUBLIC  # TLS name, pinned address
    my = parse_connection_url(f"mysql://u@{FAKE_PUBLIC}:3306/db")
    my_target = check_url(my, settings, 3306)
    assert MySQLConnector().connect_args(my, my_target, settings, "pw")["host"] == PUBLIC_IP


def test_sec_18_dns_rebinding_connects_to_checked_address(tmp_path, fake_dns):
    settings = team(tmp_path)
    parsed = parse_connection_url(f"postgresql://u@{FAKE_REBIND}:5432/db")
    target = check_url(parsed, settings, 5432)
    assert target.ip == PUBLIC_IP
    assert fake_dns.count(FAKE_REBIND) == 1  # resolved once, by the policy
    # a second resolution would now give the metadata address; the effective args never do
    assert socket.getaddrinfo(FAKE_REBIND, 5432)[0][4][0] == "169.254.169.254"
    args = PostgresConnector().connect_args(parsed, target, settings, None)
    assert args["hostaddr"] == PUBLIC_IP
    assert "169.254.169.254" not in repr(args)
    my = parse_connection_url(f"mysql://u@{FAKE_REBIND}:3306/db")
    with pytest.raises(PolicyViolation):  # now resolves private: refused
        check_url(my, settings, 3306)


# -- case 19: query-parameter overrides -----------------------------------------------------------
PG_BAD_PARAMS = [
    "host=169.254.169.254", "hostaddr=10.0.0.1", "host=/var/run/postgresql", "service=prod", "passfile=/etc/passwd",
    "sslkey=/home/u/.ssh/id_rsa", "sslcert=/x", "sslrootcert=/x", "options=-c%20default_transaction_read_only%3Doff",
    "port=5433", "user=postgres", "password=x", "dbname=postgres", "HOST=10.0.0.1", "%68ost=10.0.0.1",
    "krbsrvname=x", "gssencmode=disable", "requirepeer=root",
]
MY_BAD_PARAMS = [
    "local_infile=1", "read_default_file=/etc/mysql/debian.cnf", "read_default_group=client", "unix_socket=/tmp/m.sock",
    "init_command=SET%20GLOBAL%20x%3D1", "host=10.0.0.1", "ssl_key=/x", "client_flag=128",
]


@pytest.mark.parametrize("param", PG_BAD_PARAMS)
@pytest.mark.parametrize("mode", ["personal", "team"])
def test_sec_19_postgres_params_refused(tmp_path, fake_dns, param, mode):
    settings = team(tmp_path) if mode == "team" else personal(tmp_path)
    with pytest.raises(PolicyViolation, match="not allowed for postgres"):
        check(f"postgresql://u:pw@{PUBLIC_IP}:5432/db?sslmode=require&{param}", settings)


@pytest.mark.parametrize("param", MY_BAD_PARAMS)
@pytest.mark.parametrize("mode", ["personal", "team"])
def test_sec_19_mysql_params_refused(tmp_path, fake_dns, param, mode):
    settings = team(tmp_path) if mode == "team" else personal(tmp_path)
    with pytest.raises(PolicyViolation, match="not allowed for mysql"):
        check(f"mysql://u:pw@{PUBLIC_IP}:3306/db?charset=utf8mb4&{param}", settings, 3306)


@pytest.mark.parametrize("param", ["mode=rw", "uri=true", "timeout=0", "check_same_thread=false"])
def test_sec_19_file_params_refused(tmp_path, param):
    data = sqlite_file(tmp_path / "data.sqlite")
    with pytest.raises(PolicyViolation):
        check(f"sqlite:///{data}?{param}", personal(tmp_path))


def test_sec_19_refused_params_never_reach_connect_args(tmp_path, fake_dns):
    """Even if a URL with every dangerous parameter got past the check, the connectors build
    their arguments only from the checked parts."""
    settings = team(tmp_path)
    pg = parse_connection_url(
        f"postgresql://u@{FAKE_PUBLIC}:5432/db?host=169.254.169.254&hostaddr=10.0.0.1&service=s&passfile=/p"
        "&sslkey=/k&options=-c%20default_transaction_read_only%3Doff&sslmode=require"
    )
    args = PostgresConnector().connect_args(pg, ResolvedTarget(FAKE_PUBLIC, PUBLIC_IP), settings, "pw")
    assert set(args) <= {"host", "hostaddr", "port", "user", "password", "dbname", "connect_timeout",
                         "application_name", "options", "autocommit", "sslmode", "target_session_attrs"}
    assert args["host"] == FAKE_PUBLIC and args["hostaddr"] == PUBLIC_IP
    assert "default_transaction_read_only=on" in args["options"] and "=off" not in args["options"]
    assert args["sslmode"] == "require"
    my = parse_connection_url(
        f"mysql://u@{FAKE_PUBLIC}:3306/db?local_infile=1&read_default_file=/etc/x&unix_socket=/s&init_command=x"
    )
    margs = MySQLConnector().connect_args(my, ResolvedTarget(FAKE_PUBLIC, PUBLIC_IP), settings, "pw")
    assert margs["local_infile"] is False
    assert margs["host"] == PUBLIC_IP
    assert not {"read_default_file", "unix_socket", "init_command", "read_default_group"} & set(margs)


def test_sec_19_team_add_with_override_param_saves_nothing(tmp_path, fake_dns):
    with make_app(tmp_path / "home", mode="team", secret_keys=(new_key(),), allowed_hosts=("127.0.0.1",)) as app:
        with pytest.raises(PolicyViolation):
            app.connect("db", "postgresql://u:pw@127.0.0.1:5432/db?host=169.254.169.254")
        assert app.list_connections() == []


def test_policy_driver_allowlist(tmp_path):
    for raw in ("postgresql+asyncpg://u@h/db", "postgresql+pg8000://u@h/db", "mysql+aiomysql://u@h/db",
                "mysql+mysqlconnector://u@h/db"):
        with pytest.raises(PolicyViolation, match="cannot be used as a data source"):
            check(raw, personal(tmp_path))
    for raw in ("postgresql+psycopg://u@h/db", "postgresql+psycopg2://u@h/db", "mysql+pymysql://u@h/db",
                "mariadb://u@h/db"):
        assert check(raw, personal(tmp_path)) is not None


def test_parse_url_never_echoes_url(tmp_path):
    for raw in ("not a url secretpw", "ftp://u:secretpw@h/x", "postgresql://u:secretpw@h:notaport/db"):
        with pytest.raises(UsageError) as info:
            parse_connection_url(raw)
        assert "secretpw" not in str(info.value)


def test_parsed_url_keeps_password_apart():
    parsed = parse_connection_url("postgresql://alice:p%40ss%3Aw%2Fo%25rd%23@db.example:5432/sales?sslmode=require")
    assert parsed.password == "p@ss:w/o%rd#"
    assert parsed.url.password is None
    assert "p%40ss" not in parsed.public() and "p@ss" not in parsed.public()
    assert parsed.public() == "postgresql://alice@db.example:5432/sales?sslmode=require"
    assert parsed.masked() == f"postgresql://alice:{MASK}@db.example:5432/sales?sslmode=require"
    # the masked URL parses back to the mask (so pasting it into --replace keeps the secret)
    assert parse_connection_url(parsed.masked()).password == MASK
