"""Connecting to PostgreSQL (``ASKDOCS_DATABASE_URL``) with one-line, password-free errors.

Pure helpers, no settings and no front end: the engine's PostgreSQL stores and the bot's
stores both open their connections here.

- :func:`connect` opens a psycopg 3 connection or raises :class:`DatabaseError`;
- :func:`require_vector` checks that the database has the ``vector`` extension;
- :func:`check_database` does both and closes the connection;
- :func:`redact` / :func:`describe` name a database without its password, for messages.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from index.errors import DatabaseError

if TYPE_CHECKING:  # imported when first used: settings validation needs none of it
    import psycopg

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT = 5  # seconds; libpq's connect_timeout (whole seconds, at least 2)
_PASSWORD = re.compile(r"(://[^:/?#@\s]*:)[^@/?#\s]*@")
_PASSWORD_PARAM = re.compile(r"(password=)(\S+)", re.IGNORECASE)


def is_database_url(url: str) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL."""
    return url.split("://", 1)[0].lower() in SCHEMES and "://" in url


def redact(text: str) -> str:
    """``text`` with any URL password (``user:secret@``, ``password=secret``) replaced by ***."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***@", text))


def describe(url: str) -> str:
    """A database named without its secret: ``postgresql://user@host:port/name``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"
    except ValueError:
        return redact(url.split("?", 1)[0])


def one_line(exc: BaseException, url: str) -> str:
    """A psycopg error as one line, without the URL's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    return redact(text)


def connect(
    url: str, *, autocommit: bool = True, connect_timeout: int = CONNECT_TIMEOUT, **kwargs: Any
) -> psycopg.Connection[Any]:
    """A new connection to ``url``; :class:`DatabaseError` (one line, no password) for a URL
    that is not PostgreSQL's, a bad URL, an unreachable server or a refused login."""
    if not is_database_url(url):
        raise DatabaseError(
            f"database URL {describe(url)!r} is not a postgresql:// URL"
            if "://" in url
            else "database URL is not a postgresql:// URL"
        )
    import psycopg

    try:
        return psycopg.connect(
            url, autocommit=autocommit, connect_timeout=connect_timeout, **kwargs
        )
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {describe(url)}: {one_line(exc, url)}") from None


def require_vector(conn: psycopg.Connection[Any]) -> None:
    """:class:`DatabaseError` unless the connected database has the ``vector`` extension
    (pgvector); says whether the server has it to install or lacks it altogether."""
    import psycopg

    try:
        installed = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        if installed is not None:
            return
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot check the vector extension: {one_line(exc, '')}") from None
    info = conn.info
    where = f"{info.host}:{info.port}/{info.dbname}"
    if available is not None:
        raise DatabaseError(
            f"database {where} lacks the vector extension: run CREATE EXTENSION vector; in it "
            "(as a user allowed to)"
        )
    raise DatabaseError(
        f"database {where} lacks the vector extension and the server does not have pgvector "
        "installed"
    )


def check_database(url: str) -> None:
    """Connect, check the ``vector`` extension, disconnect; :class:`DatabaseError` if not."""
    with connect(url) as conn:
        require_vector(conn)
