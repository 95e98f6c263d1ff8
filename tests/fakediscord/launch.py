"""Run the real ``askdocs`` command in its own process against a running FakeDiscord.

    python -m fakediscord.launch http://127.0.0.1:PORT run

points discord.py at the fake (the same two URLs :class:`~fakediscord.server.FakeDiscord`
patches in-process: ``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``),
then calls ``askdocs``'s own ``main()`` with the remaining arguments; settings come from the
environment as usual. For tests that need bot *processes* (e.g. one per shard) without a
test-only setting in the product. ``tests/`` must be on ``PYTHONPATH``.

Test hook, kept out of the product: with ``FAKEDISCORD_STALL_BUILD=PATH`` in the environment,
a build that publishes to PostgreSQL stalls while ``PATH`` exists, right after writing the
new version's passages and vocabulary (``index.pg_versions._write_terms``), before anything
is made current; it first prints ``STALL_MARK`` on stderr, so a test can kill the process
at exactly that point.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import discord
import yarl

from bot.terminal.cli import main

from .rest import API_PREFIX

STALL_ENV = "FAKEDISCORD_STALL_BUILD"
STALL_MARK = "fakediscord.launch: build stalled after writing its passages"
STALL_SECONDS = 600.0


def point_at(base_url: str) -> None:
    """Send discord.py's REST calls and gateway connections to the fake at ``base_url``."""
    base_url = base_url.rstrip("/")
    if not base_url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"fakediscord.launch: not a local fake: {base_url}")
    discord.http.Route.BASE = base_url + API_PREFIX
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        "ws://" + base_url.removeprefix("http://") + "/"
    )


def stall_builds_while(flag: Path) -> None:
    """Make every database build stall (see the module's docstring) while ``flag`` exists."""
    import index.pg_versions as versions

    real = versions._write_terms

    def write_terms(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        if flag.exists():
            print(STALL_MARK, file=sys.stderr, flush=True)
            deadline = time.monotonic() + STALL_SECONDS
            while flag.exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    versions._write_terms = write_terms  # type: ignore[assignment]


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m fakediscord.launch FAKE_URL ASKDOCS_ARGS...")
    point_at(sys.argv[1])
    if os.environ.get(STALL_ENV):
        stall_builds_while(Path(os.environ[STALL_ENV]))
    sys.exit(main(sys.argv[2:]))
