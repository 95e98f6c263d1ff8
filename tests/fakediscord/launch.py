"""Run the real ``askdocs`` command in its own process against a running FakeDiscord.

    python -m fakediscord.launch http://127.0.0.1:PORT run

points discord.py at the fake (the same two URLs :class:`~fakediscord.server.FakeDiscord`
patches in-process: ``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``),
then calls ``askdocs``'s own ``main()`` with the remaining arguments; settings come from the
environment as usual. For tests that need bot *processes* (e.g. one per shard) without a
test-only setting in the product. ``tests/`` must be on ``PYTHONPATH``.
"""

from __future__ import annotations

import sys

import discord
import yarl

from bot.terminal.cli import main

from .rest import API_PREFIX


def point_at(base_url: str) -> None:
    """Send discord.py's REST calls and gateway connections to the fake at ``base_url``."""
    base_url = base_url.rstrip("/")
    if not base_url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"fakediscord.launch: not a local fake: {base_url}")
    discord.http.Route.BASE = base_url + API_PREFIX
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        "ws://" + base_url.removeprefix("http://") + "/"
    )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m fakediscord.launch FAKE_URL ASKDOCS_ARGS...")
    point_at(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
