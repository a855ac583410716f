"""Pytest plugin: real PostgreSQL, MariaDB and Redis servers for integration tests.

Loaded from ``tests/conftest.py`` (``pytest_plugins = ["tests.services"]``).

Where the servers come from
---------------------------
* If ``DATAASK_TEST_PG_URL`` / ``DATAASK_TEST_MYSQL_URL`` / ``DATAASK_TEST_REDIS_URL`` are set
  (``.ci/run`` sets them with ``eval "$(scripts/services.sh env)"``), those servers are used.
* Otherwise the first fixture that needs a server runs ``scripts/services.sh start <svc>``
  (once per session) and reads the URLs from ``scripts/services.sh env``. Servers this session
  started are stopped when the last pytest session using them ends (lease files in
  ``<state dir>/leases``); servers started otherwise (``.ci/run``, by hand) are left alone.
* Server binaries missing: with ``CI`` set the test FAILS (CI never skips silently); locally it
  is skipped with the Debian package to install.

Fixtures
--------
Session scope: ``pg_url``, ``mysql_url``, ``redis_url`` (str), ``pg_log_path``,
``mysql_log_path`` (pathlib.Path: the server's statement log), ``pg_server`` (``.url``,
``.stop()``, ``.start()``, ``.is_running()``; a test that leaves it stopped gets it restarted
after the test), ``dataask_services`` (the manager itself).
Function scope: ``fresh_pg_db`` / ``fresh_mysql_db`` (URL of a new empty database, dropped after
the test), ``pg_log`` / ``mysql_log`` (:class:`ServerLog` positioned at the end of the log when
the test starts).

Every test that uses one of these fixtures (directly or through another fixture) is marked
``integration`` automatically, so ``pytest -m "not integration"`` runs without servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_SCRIPT = REPO_ROOT / "scripts" / "services.sh"
EXIT_BINARIES_MISSING = 69  # services.sh: server binaries not installed
SCRIPT_TIMEOUT_S = 300
FRESH_DB_PREFIX = "dataask_test_"  # MariaDB grants `dataask`@ all privileges on dataask\_test\_%


@dataclass(frozen=True)
class ServiceSpec:
    """How one server is named, found and installed."""

    name: str
    url_var: str
    log_var: str | None
    apt_packages: str


SERVICES = MappingProxyType(
    {
        "postgres": ServiceSpec(
            "postgres", "DATAASK_TEST_PG_URL", "DATAASK_TEST_PG_LOG", "postgresql"
        ),
        "mariadb": ServiceSpec(
            "mariadb",
            "DATAASK_TEST_MYSQL_URL",
            "DATAASK_TEST_MYSQL_LOG",
            "mariadb-server mariadb-client",
        ),
        "redis": ServiceSpec("redis", "DATAASK_TEST_REDIS_URL", None, "redis-server"),
    }
)

INTEGRATION_FIXTURES = frozenset(
    {
        "dataask_services",
        "pg_url",
        "mysql_url",
        "redis_url",
        "pg_log_path",
        "mysql_log_path",
        "pg_server",
        "fresh_pg_db",
        "fresh_mysql_db",
        "pg_log",
        "mysql_log",
    }
)

_MANAGER_KEY = pytest.StashKey["ServiceManager"]()


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when running under CI (the ``CI`` variable is set and not false)."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def unavailable(message: str, *, ci: bool | None = None) -> None:
    """Fail (in CI) or skip (locally) because a test server cannot be had.

    Parameters
    ----------
    message : str
        What is missing and how to install it.
    ci : bool, optional
        Override CI detection (tests of this function).
    """
    if in_ci() if ci is None else ci:
        pytest.fail(f"{message} (CI is set: integration tests must not be skipped)", pytrace=False)
    pytest.skip(message)


def with_database(url: str, database: str) -> str:
    """Return ``url`` with its path replaced by ``/database``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def unique_database_name() -> str:
    """A new database name that the test user may create on every server."""
    return FRESH_DB_PREFIX + uuid.uuid4().hex[:12]


def mysql_connect_args(url: str) -> dict[str, object]:
    """Translate ``mysql://user:pw@host:port/db`` into ``pymysql.connect`` keyword arguments."""
    parts = urlsplit(url)
    args: dict[str, object] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "connect_timeout": 10,
        "autocommit": True,
    }
    database = parts.path.lstrip("/")
    if database:
        args["database"] = database
    return args


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it on exit."""
    import psycopg
    from psycopg import sql

    name = unique_database_name()
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def fresh_mysql_database(admin_url: str) -> Iterator[str]:
    """Create an empty MariaDB/MySQL database, yield its URL, drop it on exit."""
    import pymysql

    name = unique_database_name()
    args = mysql_connect_args(admin_url)
    args.pop("database", None)
    conn = pymysql.connect(**args)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield with_database(admin_url, name)
    finally:
        conn = pymysql.connect(**args)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


class ServerLog:
    """A server's statement log, read from a fixed offset (where the test began).

    To show that a statement never reached the server: run it (expecting it to be refused),
    then run a harmless sentinel statement on the same server, ``wait_for`` the sentinel, and
    assert the forbidden text is not in ``text()``.
    """

    def __init__(self, path: Path, offset: int | None = None) -> None:
        self.path = path
        self.offset = path.stat().st_size if offset is None and path.exists() else (offset or 0)

    def text(self) -> str:
        """Everything logged since the offset."""
        if not self.path.exists():
            return ""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            return fh.read().decode("utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        """Wait until ``needle`` appears in the log; return the text since the offset."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} did not appear in {self.path} within {timeout}s")
            time.sleep(0.05)


class PostgresServer:
    """The PostgreSQL test server under ``scripts/services.sh`` control (outage tests)."""

    def __init__(self, manager: ServiceManager, url: str) -> None:
        self._manager = manager
        self.url = url
        self.stopped = False
        self._started_by_pytest = False

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are cut)."""
        self.stopped = True
        self._started_by_pytest = self._manager.started_by_pytest("postgres")
        self._manager.run_checked("stop", "postgres")

    def start(self) -> None:
        """Start the server again and wait until it accepts connections."""
        self._manager.run_checked("start", "postgres")
        self.stopped = False
        if self._started_by_pytest:  # services.sh forgot it; pytest still owns this server
            self._manager.mark_started_by_pytest("postgres")

    def is_running(self) -> bool:
        """True when ``services.sh status postgres`` reports it accepting connections."""
        return self._manager.run("status", "postgres").returncode == 0


class ServiceManager:
    """Starts servers on demand through ``scripts/services.sh``; stops what it started."""

    def __init__(self, *, may_stop: bool = True) -> None:
        self.started: list[str] = []
        self._leases: list[Path] = []
        self._ready: set[str] = set()
        self._script_env: dict[str, str] | None = None
        self._may_stop = may_stop
        self.pg_server: PostgresServer | None = None

    # -- running the script -------------------------------------------------------------
    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``bash scripts/services.sh ARGS`` and return the finished process."""
        return subprocess.run(
            ["bash", str(SERVICES_SCRIPT), *args],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def run_checked(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the script; fail the test with its output when it fails."""
        proc = self.run(*args)
        if proc.returncode != 0:
            pytest.fail(
                f"scripts/services.sh {' '.join(args)} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}",
                pytrace=False,
            )
        return proc

    def script_env(self) -> dict[str, str]:
        """The variables ``scripts/services.sh env`` prints (parsed, not exported)."""
        if self._script_env is None:
            env: dict[str, str] = {}
            for line in self.run_checked("env").stdout.splitlines():
                words = shlex.split(line)
                if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                    key, _, value = words[1].partition("=")
                    env[key] = value
            self._script_env = env
        return self._script_env

    # -- servers ------------------------------------------------------------------------
    def ensure(self, name: str) -> None:
        """Make sure the server ``name`` runs (starting it once per session if needed)."""
        spec = SERVICES[name]
        if name in self._ready or os.environ.get(spec.url_var):
            return
        with self._lease_lock():
            self._take_lease(name)  # before the status check: a finishing session sees it
            if self.run("status", name).returncode != 0:
                proc = self.run("start", name)
                if proc.returncode == EXIT_BINARIES_MISSING:
                    detail = proc.stderr.strip().replace("services: ERROR: ", "")
                    if "apt-get install" not in detail:
                        detail += f" (apt-get install {spec.apt_packages})"
                    unavailable(f"{name} test server not available: {detail}")
                if proc.returncode != 0:
                    pytest.fail(
                        f"scripts/services.sh start {name} failed (exit {proc.returncode}):\n"
                        f"{proc.stdout}{proc.stderr}",
                        pytrace=False,
                    )
                self.started.append(name)
                self.mark_started_by_pytest(name)
        self._ready.add(name)

    # -- leases: concurrent pytest sessions on one machine share the servers -------------
    # <state dir>/leases/<svc>.<pid> says "session <pid> uses <svc>"; <svc>.started says
    # "a pytest session started <svc>". The last session out stops what pytest started;
    # servers started otherwise (.ci/run, by hand) are never stopped here.
    def _lease_dir(self) -> Path:
        return Path(self.script_env()["DATAASK_SERVICES_DIR"]) / "leases"

    def _started_marker(self, name: str) -> Path:
        return self._lease_dir() / f"{name}.started"

    def started_by_pytest(self, name: str) -> bool:
        """True when the running server ``name`` was started by a pytest session."""
        return self._started_marker(name).exists()

    def mark_started_by_pytest(self, name: str) -> None:
        """Record that the running server ``name`` belongs to pytest sessions."""
        with contextlib.suppress(OSError):
            self._started_marker(name).touch()

    @contextmanager
    def _lease_lock(self) -> Iterator[None]:
        """Serialise lease checks with start/stop decisions of other sessions."""
        try:
            self._lease_dir().mkdir(parents=True, exist_ok=True)
            handle = (self._lease_dir() / ".lock").open("a")
        except OSError:  # unwritable state dir: the script reports it on start
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _take_lease(self, name: str) -> None:
        lease = self._lease_dir() / f"{name}.{os.getpid()}"
        try:
            lease.touch()
        except OSError:
            return
        self._leases.append(lease)

    def _other_sessions_using(self, name: str) -> list[int]:
        """PIDs of other live pytest sessions that use the server ``name``."""
        pids = []
        for lease in self._lease_dir().glob(f"{name}.*"):
            pid_text = lease.suffix.lstrip(".")
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            if _pid_alive(int(pid_text)):
                pids.append(int(pid_text))
            else:
                lease.unlink(missing_ok=True)
        return pids

    def url(self, name: str) -> str:
        """The server's URL: from the environment, else from the server this plugin runs."""
        spec = SERVICES[name]
        self.ensure(name)
        return os.environ.get(spec.url_var) or self.script_env()[spec.url_var]

    def log_path(self, name: str) -> Path:
        """Path of the server's statement log (exists once the server has run)."""
        spec = SERVICES[name]
        assert spec.log_var is not None, f"{name} has no statement log"
        self.ensure(name)
        path = Path(os.environ.get(spec.log_var) or self.script_env()[spec.log_var])
        if not path.is_file():
            unavailable(
                f"{name} statement log {path} does not exist; set {spec.log_var} "
                f"to the log of the server at {spec.url_var}"
            )
        return path

    def postgres_server(self) -> PostgresServer:
        """The controllable PostgreSQL server (must be the one services.sh manages)."""
        if self.pg_server is None:
            url = self.url("postgres")
            managed_port = self.script_env().get("DATAASK_PG_PORT", "")
            if (
                str(urlsplit(url).port) != managed_port
                or self.run("status", "postgres").returncode != 0
            ):
                unavailable(
                    f"pg_server needs the PostgreSQL that scripts/services.sh runs (port "
                    f"{managed_port}); DATAASK_TEST_PG_URL points elsewhere: {url}"
                )
            self.pg_server = PostgresServer(self, url)
        return self.pg_server

    def restore_postgres(self) -> None:
        """Restart PostgreSQL if a test stopped it and did not start it again."""
        if self.pg_server is not None and self.pg_server.stopped:
            self.pg_server.start()

    def stop_started(self) -> None:
        """Stop servers a pytest session started once no other live session uses them."""
        if not self._ready:
            return
        with self._lease_lock():
            for lease in self._leases:
                lease.unlink(missing_ok=True)
            self._leases.clear()
            if not self._may_stop:
                return
            for name in reversed(list(SERVICES)):
                marker = self._started_marker(name)
                if name not in self._ready or not marker.exists():
                    continue
                if self._other_sessions_using(name):
                    continue
                self.run("stop", name)
                marker.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------------------ hooks
def pytest_configure(config: pytest.Config) -> None:
    if not any(line.startswith("integration") for line in config.getini("markers")):
        config.addinivalue_line(
            "markers",
            "integration: needs real PostgreSQL / MariaDB / Redis servers (tests/services.py)",
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture (even indirectly) as ``integration``.

    ``tryfirst`` so that ``-m "not integration"`` sees the marks.
    """
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & INTEGRATION_FIXTURES and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def dataask_services(pytestconfig: pytest.Config) -> Iterator[ServiceManager]:
    """The session's :class:`ServiceManager`; stops the servers it started at session end."""
    # An xdist worker must not stop servers that other workers still use.
    manager = ServiceManager(may_stop=not hasattr(pytestconfig, "workerinput"))
    pytestconfig.stash[_MANAGER_KEY] = manager
    try:
        yield manager
    finally:
        try:
            manager.restore_postgres()
        finally:
            manager.stop_started()
            del pytestconfig.stash[_MANAGER_KEY]


@pytest.fixture(autouse=True)
def _dataask_restore_postgres(pytestconfig: pytest.Config) -> Iterator[None]:
    """After each test: restart PostgreSQL if the test left it stopped via ``pg_server``."""
    yield
    manager = pytestconfig.stash.get(_MANAGER_KEY, None)
    if manager is not None:
        manager.restore_postgres()


@pytest.fixture(scope="session")
def pg_url(dataask_services: ServiceManager) -> str:
    """URL of the PostgreSQL test database (superuser ``dataask``)."""
    return dataask_services.url("postgres")


@pytest.fixture(scope="session")
def mysql_url(dataask_services: ServiceManager) -> str:
    """URL of the MariaDB test database (``mysql://dataask:...@127.0.0.1:53306/dataask_test``)."""
    return dataask_services.url("mariadb")


@pytest.fixture(scope="session")
def redis_url(dataask_services: ServiceManager) -> str:
    """URL of the Redis test server (database 0)."""
    return dataask_services.url("redis")


@pytest.fixture(scope="session")
def pg_log_path(dataask_services: ServiceManager) -> Path:
    """PostgreSQL's log file; ``log_statement = 'all'`` records every statement."""
    return dataask_services.log_path("postgres")


@pytest.fixture(scope="session")
def mysql_log_path(dataask_services: ServiceManager) -> Path:
    """MariaDB's general query log file (every statement)."""
    return dataask_services.log_path("mariadb")


@pytest.fixture(scope="session")
def pg_server(dataask_services: ServiceManager) -> PostgresServer:
    """Control of the PostgreSQL test server for outage / reconnect tests."""
    return dataask_services.postgres_server()


@pytest.fixture
def pg_log(pg_log_path: Path) -> ServerLog:
    """PostgreSQL's log from the start of this test on."""
    return ServerLog(pg_log_path)


@pytest.fixture
def mysql_log(mysql_log_path: Path) -> ServerLog:
    """MariaDB's general log from the start of this test on."""
    return ServerLog(mysql_log_path)


@pytest.fixture
def fresh_pg_db(pg_url: str, dataask_services: ServiceManager) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database(pg_url) as url:
        yield url
        dataask_services.restore_postgres()  # the test may have stopped the server


@pytest.fixture
def fresh_mysql_db(mysql_url: str) -> Iterator[str]:
    """URL of a new, empty MariaDB database, dropped after the test."""
    with fresh_mysql_database(mysql_url) as url:
        yield url
