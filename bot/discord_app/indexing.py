"""Index changes started from Discord (/reindex, /docs add, /docs remove): one at a time, built
off the event loop with live progress in the command's reply, and a final report that is
never lost (past the interaction token's life it goes to the channel)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import discord

from bot.discord_app.embeds import escape
from bot.discord_app.progress import (
    EDIT_EVERY,
    BuildStatus,
    LiveReply,
    Progress,
    thread_progress,
)
from index.models import BuildReport

log = logging.getLogger(__name__)

# Interaction tokens expire 15 minutes after the command; past this, the report goes to the
# channel instead of the (private) command response, and progress is no longer shown.
REPLY_DEADLINE = 14 * 60.0
CHANNEL_REPORT = (
    "📋 Report of the `/{command}` started by {name} (too late to answer it privately):"
)
BUSY = (
    "⏳ An index update (/reindex or /docs) is already running — I keep answering from the "
    "current index meanwhile. Try again when it has finished."
)


class IndexBusyError(Exception):
    """Another index change is running (from Discord, or a build the engine is doing)."""


class IndexJobs:
    """Lets one index change run at a time; ``reply_deadline`` and ``progress_every`` are
    attributes so tests can shorten them."""

    def __init__(self) -> None:
        self._running = False
        self.reply_deadline = REPLY_DEADLINE
        self.progress_every = EDIT_EVERY

    @property
    def running(self) -> bool:
        return self._running

    @contextlib.contextmanager
    def claim(self, engine_building: bool) -> Iterator[None]:
        """Hold the right to change the index; IndexBusyError when taken (or the engine is
        building anyway)."""
        if self._running or engine_building:
            raise IndexBusyError(BUSY)
        self._running = True
        try:
            yield
        finally:
            self._running = False

    def live_reply(self, interaction: discord.Interaction, started: float) -> LiveReply:
        return LiveReply(
            interaction.edit_original_response,
            started=started,
            interval=self.progress_every,
            until=started + self.reply_deadline,
        )

    async def build(
        self, work: Callable[[Progress], BuildReport], reply: LiveReply, title: str
    ) -> BuildReport:
        """Run ``work(progress)`` (an engine build) in a worker thread, showing its progress
        in ``reply``; when it ends, wait until ``reply`` may be edited again."""
        status = BuildStatus(title)
        began = time.monotonic()

        def on_progress(stage: str, done: int, total: int) -> None:
            status.update(stage, done, total)
            reply.show(content=status.text(time.monotonic() - began))

        progress = thread_progress(asyncio.get_running_loop(), on_progress)
        try:
            return await asyncio.to_thread(work, progress)
        finally:
            await reply.settle()

    async def report(
        self,
        interaction: discord.Interaction,
        started: float,
        command: str,
        **message: Any,
    ) -> None:
        """Put the outcome in the deferred (private) response, or — when its token has
        expired or is about to (long builds), or editing it fails — in the channel."""
        content: str | None = message.get("content")
        embed: discord.Embed | None = message.get("embed")
        if time.monotonic() - started < self.reply_deadline:
            try:  # content None clears a progress text
                await interaction.edit_original_response(content=content, embed=embed)
                return
            except discord.HTTPException as exc:
                log.warning(
                    "cannot edit the /%s response (%s): posting it in the channel", command, exc
                )
        else:
            log.info("/%s outlived its response token: posting the report in the channel", command)
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("no channel to post the /%s report in; it is lost", command)
            return
        name = escape(interaction.user.display_name)
        text = CHANNEL_REPORT.format(command=command, name=name)
        if content:
            text += "\n" + content
        try:
            if embed is None:
                await channel.send(content=text)
            else:
                await channel.send(content=text, embed=embed)
        except discord.HTTPException as exc:
            log.warning("cannot post the /%s report in channel %s: %s", command, channel.id, exc)
