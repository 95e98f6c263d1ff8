"""pytest fixtures for end-to-end tests against :class:`FakeDiscord`.

Import them into ``tests/conftest.py``::

    from fakediscord.fixtures import fail_on_error_logs, fake_discord  # noqa: F401

``fake_discord`` runs on the *function* event loop, which is where pytest-asyncio runs tests
by default (``asyncio_default_test_loop_scope`` unset). Tests marked
``@pytest.mark.asyncio(loop_scope="session")`` must use ``async with FakeDiscord()`` instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from .logwatch import ErrorLogWatcher
from .server import FakeDiscord


@pytest_asyncio.fixture(loop_scope="function")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running FakeDiscord (discord.py pointed at it). At teardown every client started with
    ``fake.start_client`` is closed, then the test fails on any OpenAPI/route violation or
    ERROR log record from ``discord*``/``bot*``/``index*`` loggers."""
    async with FakeDiscord() as fake:
        yield fake
    fake.assert_clean()


@pytest.fixture
def fail_on_error_logs() -> Iterator[ErrorLogWatcher]:
    """Fail the test if a ``discord*``, ``bot*`` or ``index*`` logger emitted an ERROR record
    (discord.py only logs exceptions raised in commands, events and views)."""
    with ErrorLogWatcher() as watcher:
        yield watcher
    watcher.assert_none()
