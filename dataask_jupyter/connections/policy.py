"""Which connection URLs may be used as data sources (SECURITY.md cases 17-19).

Personal mode: local files and localhost are legitimate, but never the metadata store or
the key file. Team mode: local files, loopback, link-local and private ranges are refused
unless an admin allowlisted them (``DATAASK_ALLOWED_HOSTS``: names, IPs, CIDRs, or path
prefixes starting with ``/``). Query parameters are allowlisted per driver, so that
``?host=``, ``?hostaddr=``, ``?options=``, ``?service=``, ``?passfile=``, ``?unix_socket=``,
``?read_default_file=`` or ``?local_infile=`` cannot redirect or widen a connection.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import PolicyViolation
from .url import ParsedURL

ALLOWED_QUERY_PARAMS: dict[str, frozenset[str]] = {
    "postgres": frozenset({"sslmode", "connect_timeout", "application_name", "target_session_attrs"}),
    "mysql": frozenset({"charset", "ssl_mode", "connect_timeout"}),
    "sqlite": frozenset(),
    "duckdb": frozenset(),
    "bigquery": frozenset({"location"}),
    "snowflake": frozenset({"warehouse", "role"}),
}
ALLOWED_DRIVERS: dict[str, frozenset[str]] = {
    "postgres": frozenset({"", "psycopg", "psycopg2"}),
    "mysql": frozenset({"", "mysqldb", "pymysql"}),
    "sqlite": frozenset({"", "pysqlite"}),
    "duckdb": frozenset({""}),
    "bigquery": frozenset({""}),
    "snowflake": frozenset({""}),
}
FILE_FAMILIES = frozenset({"sqlite", "duckdb"})
NETWORK_FAMILIES = frozenset({"postgres", "mysql"})


@dataclass(frozen=True)
class ResolvedTarget:
    """Where a network connection will really go: the checked IP is the one connected to."""

    host: str
    ip: str | None


def _refuse(message: str, hint: str | None = None) -> PolicyViolation:
    return PolicyViolation(message, hint=hint)


def check_query_params(parsed: ParsedURL) -> None:
    allowed = ALLOWED_QUERY_PARAMS[parsed.family]
    bad = sorted(set(parsed.query) - allowed)
    if bad:
        raise _refuse(
            f"The URL parameter(s) {', '.join(bad)} are not allowed for {parsed.family} connections.",
            hint=f"Allowed: {', '.join(sorted(allowed)) or 'none'}.",
        )
    if parsed.driver not in ALLOWED_DRIVERS[parsed.family]:
        raise _refuse(f"'{parsed.url.drivername}' cannot be used as a data source.")


def file_path(parsed: ParsedURL) -> Path | None:
    """The database file a file-based URL points at (``None`` for in-memory)."""
    db = parsed.database
    if not db or db == ":memory:":
        return None
    return Path(db).expanduser()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _path_allowlisted(path: Path, settings: Settings) -> bool:
    real = os.path.realpath(path)
    return any(
        entry.startswith("/") and (real == os.path.realpath(entry) or real.startswith(os.path.realpath(entry).rstrip("/") + "/"))
        for entry in settings.allowed_hosts
    )


def check_file(parsed: ParsedURL, settings: Settings) -> None:
    path = file_path(parsed)
    if path is None:
        if settings.team:  # SECURITY 17: `sqlite:` / in-memory engines are refused on a shared server too
            raise _refuse(
                f"'{parsed.url.drivername}' cannot be used as a data source on a shared server.",
                hint="Ask an admin to allowlist a folder of database files in DATAASK_ALLOWED_HOSTS.",
            )
        return
    for protected in settings.protected_paths():
        if _same_file(path, protected) or os.path.realpath(path).startswith(os.path.realpath(protected) + "-"):
            raise _refuse("DataAsk's own metadata store and key file cannot be used as a data source.")
    if settings.team and not _path_allowlisted(path, settings):
        raise _refuse(
            "Local database files cannot be used as a data source on a shared server.",
            hint="Ask an admin to allowlist the folder in DATAASK_ALLOWED_HOSTS.",
        )


def _host_allowlisted(host: str, ips: list[ipaddress._BaseAddress], settings: Settings) -> bool:
    for entry in settings.allowed_hosts:
        if entry.startswith("/"):
            continue
        if entry.lower() == host.lower():
            return True
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if ips and all(ip in net for ip in ips):
            return True
    return False


def _normalize(ip: ipaddress._BaseAddress) -> ipaddress._BaseAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def resolve(host: str, port: int | None) -> list[ipaddress._BaseAddress]:
    """All addresses ``host`` resolves to (numeric forms such as ``2130706433`` included)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port or 0, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise _refuse("The database host name cannot be resolved.") from None
    return [_normalize(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos]


def is_public(ip: ipaddress._BaseAddress) -> bool:
    return bool(ip.is_global) and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def check_host(parsed: ParsedURL, settings: Settings, default_port: int | None) -> ResolvedTarget:
    """Check the host of a network URL and return the address to connect to.

    In team mode the host is resolved once, every address must be public (or allowlisted),
    and the connection is pinned to the checked address, which defeats DNS rebinding.
    """
    host = parsed.host or ""
    if not host:
        if settings.team:
            raise _refuse("A host is required (local sockets cannot be used on a shared server).")
        return ResolvedTarget(host="localhost", ip=None)
    if not settings.team:
        return ResolvedTarget(host=host, ip=None)
    ips = resolve(host, parsed.url.port or default_port)
    if _host_allowlisted(host, ips, settings):
        return ResolvedTarget(host=host, ip=str(ips[0]) if ips else None)
    if not ips or not all(is_public(ip) for ip in ips):
        raise _refuse(
            "That host is on a local or private network and cannot be used on a shared server.",
            hint="Ask an admin to allowlist it in DATAASK_ALLOWED_HOSTS.",
        )
    return ResolvedTarget(host=host, ip=str(ips[0]))


def check_url(parsed: ParsedURL, settings: Settings, default_port: int | None = None) -> ResolvedTarget | None:
    """Apply the whole policy to ``parsed``. Returns the pinned target for network URLs."""
    check_query_params(parsed)
    if parsed.family in FILE_FAMILIES:
        check_file(parsed, settings)
        return None
    if parsed.family in NETWORK_FAMILIES:
        return check_host(parsed, settings, default_port)
    return None
