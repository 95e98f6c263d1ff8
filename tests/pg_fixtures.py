"""PostgreSQL fixtures (registered in conftest.py): one server for the whole run, started on
first use and stopped at the end of the session, even after failures.

- ``pg_server``: the :class:`pg.PostgresServer` (``create_database()``, ``restart()``, ...)
- ``pg_url``: the URL of a database with the ``vector`` extension, shared by the session
- ``pg_database``: the URL of a fresh database with ``vector``, one per test (dropped after)
- ``pg_own_server``: a server for one test module alone, which its tests may stop and restart

Without the ``pgserver`` wheel the tests that use them skip with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg import PostgresFailed, PostgresServer, PostgresUnavailable


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        server.start()
    except PostgresFailed:
        server.cleanup()
        raise
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def pg_url(pg_server: PostgresServer) -> str:
    """A database with the ``vector`` extension, shared by every test of the session."""
    return pg_server.create_database("askdocs_test")


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh database with the ``vector`` extension for one test; dropped afterwards."""
    url = pg_server.create_database()
    yield url
    if pg_server.running:
        pg_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def pg_own_server() -> Iterator[PostgresServer]:
    """A server of the test module's own (its tests may ``stop()``/``restart()`` it without
    disturbing other modules); stopped and deleted after the module."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        yield server
