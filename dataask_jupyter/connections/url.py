"""Parsing connection URLs into their parts, with the password kept apart.

SQLAlchemy's URL parser does the work (percent-decoding included); DataAsk never stores a
URL that contains a password, and never shows one: the password is replaced by a mask.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

from ..errors import UsageError

MASK = "********"

# scheme (backend name) -> connector family
FAMILY_BY_SCHEME = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "bigquery": "bigquery",
    "snowflake": "snowflake",
}

EXAMPLES = (
    "postgresql://user@host:5432/db, mysql://user@host:3306/db, sqlite:///path/to/file.sqlite, "
    "duckdb:///path/to/file.duckdb, bigquery://project/dataset, snowflake://user@account/db/schema"
)


@dataclass(frozen=True)
class ParsedURL:
    """A connection URL split into a password-free URL and the password."""

    family: str
    url: URL  # password removed
    password: str | None

    @property
    def driver(self) -> str:
        name = self.url.drivername
        return name.split("+", 1)[1] if "+" in name else ""

    @property
    def host(self) -> str | None:
        return self.url.host

    @property
    def database(self) -> str | None:
        return self.url.database

    @property
    def query(self) -> dict[str, str]:
        return {k: (v if isinstance(v, str) else ",".join(v)) for k, v in self.url.query.items()}

    def public(self) -> str:
        """The URL with no password at all (what the store keeps)."""
        return self.url.render_as_string(hide_password=False)

    def masked(self, has_secret: bool | None = None) -> str:
        """The URL with the password replaced by :data:`MASK` when there is one."""
        if has_secret if has_secret is not None else self.password:
            # SQLAlchemy percent-encodes the password ('%2A' * 8); show the mask itself
            return self.url.set(password="MASKEDPASSWORD").render_as_string(hide_password=False).replace(
                ":MASKEDPASSWORD@", f":{MASK}@", 1)
        return self.public()

    def with_password(self, password: str | None) -> ParsedURL:
        return ParsedURL(self.family, self.url, password)


def parse_connection_url(raw: str) -> ParsedURL:
    """Parse ``raw`` into a :class:`ParsedURL`.

    Raises
    ------
    UsageError
        If the text is not a URL of a supported database. The message never repeats the
        URL, which may hold a password.
    """
    if not isinstance(raw, str) or "://" not in raw:
        raise UsageError("That is not a connection URL.", hint=f"Examples: {EXAMPLES}")
    if "\x00" in raw:
        raise UsageError("A connection URL cannot contain NUL bytes.")
    try:
        url = make_url(raw.strip())
    except Exception:
        raise UsageError(
            "That connection URL cannot be parsed.",
            hint="Percent-encode special characters in the password (or leave it out and use "
            "--password-stdin). " + f"Examples: {EXAMPLES}",
        ) from None
    scheme = url.get_backend_name()
    family = FAMILY_BY_SCHEME.get(scheme)
    if family is None:
        raise UsageError(
            f"'{scheme}' cannot be used as a data source.",
            hint=f"Supported: {', '.join(sorted(set(FAMILY_BY_SCHEME)))}. Examples: {EXAMPLES}",
        )
    password = url.password if url.password not in (None, "") else None
    # NB: ``URL.set(password=None)`` is a no-op in SQLAlchemy (None means "unchanged")
    return ParsedURL(family=family, url=url._replace(password=None), password=password)


def parse_stored_url(public_url: str) -> ParsedURL:
    """Parse a password-free URL read back from the store."""
    return parse_connection_url(public_url)
