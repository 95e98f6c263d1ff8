"""The /insights embed: the question log's summary for admins, coverage gaps first, within
Discord's embed limits (lists are cut with "…and N more", never rejected)."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.discord_app import limits
from bot.discord_app.embeds import escape
from bot.shared.citation import shown_name
from bot.shared.insights import Insights, QuestionCluster

COLOUR = discord.Colour(0x9B59B6)
LINE_CHARS = 180  # one question (or example) shown at most this long
GAPS_FIELD = "🕳️ Coverage gaps — refused or 👎, largest first"
TOP_FIELD = "🔥 Top questions"
CITED_FIELD = "📚 Most cited documents"
NEVER_FIELD = "💤 Never cited"
FOOTER = "Full report with charts: askdocs report --html FILE"
LOG_OFF = (
    "📴 The question log is off, so there is nothing to report. The bot's operator can turn "
    "it on with `ASKDOCS_QUESTION_LOG=true` (see the README)."
)
REFUSED = "🔒 Only server managers (Manage Server) and configured admins can see insights."
UNREADABLE = "⚠️ I can't read the question log right now: {reason}"


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "–"


def _q(text: str) -> str:
    return escape(limits.truncate(" ".join(text.split()), LINE_CHARS))


def fit_lines(lines: Sequence[str], limit: int = limits.FIELD_VALUE) -> str:
    """As many whole lines as fit in ``limit`` characters, then "…and N more"."""
    if not lines:
        return "—"
    whole = "\n".join(lines)
    if len(whole) <= limit:
        return whole
    kept: list[str] = []
    used = 0
    for n, line in enumerate(lines):
        more = f"…and {len(lines) - n} more"
        cost = len(line) + (1 if kept else 0)
        if used + cost + 1 + len(f"…and {len(lines) - n - 1} more") > limit:
            kept.append(more)
            break
        kept.append(line)
        used += cost
    return limits.truncate("\n".join(kept), limit)


def _gap_lines(clusters: Sequence[QuestionCluster]) -> list[str]:
    lines = []
    for c in clusters:
        what = ", ".join(
            part
            for part in (
                f"refused {c.refused}" if c.refused else "",
                f"👎 {c.down}" if c.down else "",
            )
            if part
        )
        text = f"**{c.count}×** {_q(c.question)} ({what})"
        if c.examples:
            text += "\n" + "\n".join(f"  ~ {_q(e)}" for e in c.examples)
        lines.append(text)
    return lines


def _top_lines(clusters: Sequence[QuestionCluster]) -> list[str]:
    lines = []
    for c in clusters:
        source = f"`{shown_name(c.source)}`" if c.source else "never answered"
        lines.append(f"**{c.count}×** {_q(c.question)} → {source}")
    return lines


def insights_embed(insights: Insights) -> discord.Embed:
    ins = insights
    embed = discord.Embed(
        title=f"📊 Questions {ins.first_day} – {ins.last_day} ({ins.days} days, UTC)",
        colour=COLOUR,
    )
    if not ins.questions:
        embed.description = "No questions were logged in this period."
    else:
        embed.description = (
            f"**{ins.questions}** questions from **{ins.askers}** people · "
            f"**{ins.answered}** answered ({_pct(ins.answered, ins.questions)}) · "
            f"**{ins.refused}** refused ({_pct(ins.refused, ins.questions)})"
            + (f" · {ins.errors} error{'s' if ins.errors > 1 else ''}" if ins.errors else "")
            + f"\nVotes on answers: 👍 {ins.up} · 👎 {ins.down}"
        )
    embed.add_field(name=GAPS_FIELD, value=fit_lines(_gap_lines(ins.gaps)), inline=False)
    embed.add_field(name=TOP_FIELD, value=fit_lines(_top_lines(ins.top_questions)), inline=False)
    cited = [f"`{shown_name(c.source)}` — {c.citations}" for c in ins.cited]
    embed.add_field(name=CITED_FIELD, value=fit_lines(cited), inline=False)
    never = [f"`{shown_name(s)}`" for s in ins.never_cited]
    embed.add_field(name=f"{NEVER_FIELD} ({len(never)})", value=fit_lines(never), inline=False)
    embed.set_footer(text=FOOTER)
    return limits.fit_embed(embed)
