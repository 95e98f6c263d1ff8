"""Texts and embeds for /reindex and /help, and short user-facing messages."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import discord

from bot.discord_app import limits
from bot.discord_app.embeds import escape
from bot.shared.citation import shown_name
from index.models import BuildReport

COLOUR_OK = discord.Colour(0x2ECC71)
COLOUR_INFO = discord.Colour(0x3498DB)
COLOUR_ERROR = discord.Colour(0xE74C3C)
LIST_SHOWN = 10  # names listed per category of a build report


def retry_message(retry_after: float) -> str:
    seconds = max(1, math.ceil(retry_after))
    return f"⏳ You're asking a lot at once — try again in {seconds} s."


def question_error_message(reason: str) -> str:
    return f"⚠️ I can't look that up: {reason}."


def _names(items: Sequence[str], shown: int = LIST_SHOWN) -> str:
    listed = ", ".join(f"`{shown_name(name)}`" for name in items[:shown])
    more = len(items) - shown
    return listed + (f" …and {more} more" if more > 0 else "")


def reindex_embed(report: BuildReport) -> discord.Embed:
    """What a build did: documents added/changed/removed/skipped (with reasons), chunks, time."""
    title = "✅ Index rebuilt" if report.changed_anything else "✅ Index is up to date"
    embed = discord.Embed(title=title, colour=COLOUR_OK)
    counts = (
        f"**{len(report.added)}** added · **{len(report.changed)}** changed · "
        f"**{len(report.removed)}** removed · **{len(report.unchanged)}** unchanged · "
        f"**{len(report.skipped)}** skipped"
    )
    embed.description = (
        f"{counts}\n{report.chunks} chunks ({report.embedded_chunks} embedded) "
        f"in {report.seconds:.1f} s{' (full rebuild)' if report.full_rebuild else ''}"
    )
    for label, items in (
        ("Added", report.added),
        ("Changed", report.changed),
        ("Removed", report.removed),
    ):
        if items:
            embed.add_field(name=label, value=_names(items), inline=False)
    if report.skipped:
        lines = [f"`{shown_name(s.source)}` — {s.reason}" for s in report.skipped[:LIST_SHOWN]]
        more = len(report.skipped) - LIST_SHOWN
        if more > 0:
            lines.append(f"…and {more} more")
        embed.add_field(name="Skipped", value="\n".join(lines), inline=False)
    if report.notes:
        embed.add_field(name="Notes", value="\n".join(report.notes), inline=False)
    return limits.fit_embed(embed)


def failure_reason(error: Exception) -> str:
    """What went wrong, for users: an engine error's own message; for a raw OSError (a disk
    or permission failure the engine did not wrap) its reason and file, without the errno."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"cannot read or write the index files: {error.strerror}{where}"
    return str(error) or type(error).__name__


def reindex_failed_embed(error: Exception) -> discord.Embed:
    embed = discord.Embed(
        title="❌ Reindex failed — the previous index is still answering",
        description=escape(failure_reason(error)),
        colour=COLOUR_ERROR,
    )
    return limits.fit_embed(embed)


def when(indexed_at: str) -> str:
    """An ISO time as Discord's relative timestamp ("3 days ago")."""
    try:
        moment = dt.datetime.fromisoformat(indexed_at)
    except ValueError:
        return escape(indexed_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return discord.utils.format_dt(moment, "R")


def help_embed(mention: str, answer_channels: Sequence[int]) -> discord.Embed:
    embed = discord.Embed(title="❔ How to ask askdocs", colour=COLOUR_INFO)
    embed.description = (
        "I answer questions with **quotes from this community's documents** and always say "
        "where the quote comes from. I don't make things up: when the documents don't cover "
        "a question, I say so and show the closest topics.\n\n"
        f"• `/ask question:` — ask publicly.\n"
        f"• Mention me: {mention} how do I …?\n"
        '• Follow up with a short question ("and China?", "why?") in reply to my answer '
        "or in its thread: I read it together with the question before.\n"
        "• `/sources` — the documents I know.\n"
        "• 👍 / 👎 under an answer tells the maintainers whether it helped.\n\n"
        "Tips: ask one thing at a time, and use the words the documents would use."
    )
    if answer_channels:
        channels = " ".join(f"<#{cid}>" for cid in answer_channels)
        embed.description += (
            f"\n\nIn {channels} I answer messages that look like questions, no mention "
            "needed — and stay quiet when the documents don't cover them (mention me or use "
            "`/ask` to always get a reply)."
        )
    return limits.fit_embed(embed)
