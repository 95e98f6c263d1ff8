"""Answer embeds: the quoted passage with the answer in bold, citation, confidence, and the
way back from a posted embed to its question and source (for feedback after a restart)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping

import discord

from bot.discord_app import limits
from bot.shared.citation import citation
from bot.shared.feedback import NO_SOURCE
from index.models import Answer, Passage

QUESTION_PREFIX = "❓ "
FOLLOW_UP_PREFIX = "↪ Follow-up to: "
SOURCE_FIELD = "Source"
CONFIDENCE_FIELD = "Confidence"
SUPPORT_FIELD = "Also relevant"
CLOSEST_FIELD = "Closest topic — not an answer"
FOOTER = "askdocs · quotes from your documents, no AI writing · was this helpful?"
MAX_SUPPORTING = 2
MAX_CLOSEST = 3
SNIPPET_CHARS = 300

HIGH, MEDIUM = 0.8, 0.5
COLOUR_HIGH = discord.Colour(0x2ECC71)
COLOUR_MEDIUM = discord.Colour(0xF1C40F)
COLOUR_LOW = discord.Colour(0xE67E22)
COLOUR_NONE = discord.Colour(0x95A5A6)

_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def escape(text: str) -> str:
    """Neutralise markdown and mentions in user or document text shown by the bot."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def unescape(text: str) -> str:
    """Undo :func:`escape` (good enough to recover questions and sources from embeds)."""
    return _UNESCAPE.sub(r"\1", text.replace("@\u200b", "@"))


def confidence_label(confidence: float) -> tuple[str, discord.Colour]:
    if confidence >= HIGH:
        return f"🟢 High confidence ({confidence:.2f})", COLOUR_HIGH
    if confidence >= MEDIUM:
        return f"🟡 Medium confidence ({confidence:.2f})", COLOUR_MEDIUM
    return f"🟠 Low confidence ({confidence:.2f})", COLOUR_LOW


def quote_passage(text: str, highlights: tuple[tuple[int, int], ...], limit: int) -> str:
    """The passage as a markdown block quote with the highlighted spans in bold, at most
    ``limit`` characters. A long passage is cut to a window around the first highlight."""
    budget = limit
    while True:
        rendered = _quote(text, sorted(highlights), budget)
        if len(rendered) <= limit:
            return rendered
        if budget <= 16:
            return limits.truncate(rendered, limit)
        budget = max(16, int(budget * min(0.9, limit / len(rendered))))


def _quote(text: str, highlights: list[tuple[int, int]], budget: int) -> str:
    start = 0
    if len(text) > budget and highlights:
        first = highlights[0][0]
        start = max(0, first - budget // 4)
        if start > 0:
            gap = re.search(r"\s", text[start:first])
            start = start + gap.end() if gap else first
    body = text[start:]
    prefix = limits.ELLIPSIS if start else ""
    window = limits.truncate(body, max(budget - len(prefix), 1))
    cut = window != body
    end = len(window) - len(limits.ELLIPSIS) if cut else len(body)
    parts = [prefix]
    pos = 0
    for hs, he in highlights:
        s, e = max(hs - start, pos), min(he - start, end)
        if s >= e:
            continue
        inner = body[s:e]
        stripped = inner.strip()
        if not stripped:
            continue
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()) :]
        parts += [escape(body[pos:s] + lead), "**", escape(stripped), "**", trail]
        pos = e
    parts.append(escape(body[pos:end]))
    if cut:
        parts.append(limits.ELLIPSIS)
    rendered = "".join(parts).strip()
    return "\n".join(f"> {line}" if line.strip() else ">" for line in rendered.split("\n"))


def _snippet(passage: Passage, chars: int = SNIPPET_CHARS) -> str:
    return escape(limits.truncate(" ".join(passage.text.split()), chars))


def _base(question: str, colour: discord.Colour) -> discord.Embed:
    embed = discord.Embed(title=QUESTION_PREFIX + escape(question), colour=colour)
    embed.set_footer(text=FOOTER)
    return embed


def answer_embed(
    answer: Answer,
    titles: Mapping[str, str] | None = None,
    *,
    follow_up_to: str | None = None,
    note: str | None = None,
) -> discord.Embed:
    """The embed for an answer or, when the engine abstained, for a polite "not covered".
    ``follow_up_to`` is the earlier question a follow-up was answered with (shown above the
    question); ``note`` is added under a "not covered"."""
    if answer.abstained or answer.best is None:
        return abstain_embed(answer, titles, note=note)
    best = answer.best
    label, colour = confidence_label(answer.confidence)
    embed = _base(answer.question, colour)
    if follow_up_to:
        embed.set_author(name=FOLLOW_UP_PREFIX + " ".join(follow_up_to.split()))
    embed.description = quote_passage(best.text, best.highlights, limits.EMBED_DESCRIPTION)
    embed.add_field(name=SOURCE_FIELD, value=escape(citation(best, titles)), inline=True)
    embed.add_field(name=CONFIDENCE_FIELD, value=label, inline=True)
    for passage in answer.passages[1 : 1 + MAX_SUPPORTING]:
        embed.add_field(
            name=f"{SUPPORT_FIELD} · {escape(citation(passage, titles))}",
            value=_snippet(passage),
            inline=False,
        )
    return limits.fit_embed(embed)


def abstain_embed(
    answer: Answer, titles: Mapping[str, str] | None = None, *, note: str | None = None
) -> discord.Embed:
    embed = _base(answer.question, COLOUR_NONE)
    embed.description = (
        "🤷 **The documents don't cover this question.**\n"
        "Try rephrasing it with the words the documents would use, or ask a moderator."
    )
    if answer.passages:
        embed.description += "\nThe closest topics are listed below — they are **not an answer**."
    if note:
        embed.description += "\n\n" + note
    embed.add_field(
        name=CONFIDENCE_FIELD, value=f"⚪ No answer ({answer.confidence:.2f})", inline=False
    )
    for passage in answer.passages[:MAX_CLOSEST]:
        embed.add_field(
            name=f"{CLOSEST_FIELD} · {escape(citation(passage, titles))}",
            value=_snippet(passage, 200),
            inline=False,
        )
    return limits.fit_embed(embed)


def is_answer_embed(embed: discord.Embed) -> bool:
    """Whether ``embed`` is one of the bot's answer (or "not covered") embeds."""
    return (embed.title or "").startswith(QUESTION_PREFIX)


def parse_answer_embed(embed: discord.Embed) -> tuple[str, str]:
    """``(question, cited source)`` of an answer embed the bot posted (source is
    ``NO_SOURCE`` for non-answers). The only state feedback buttons need after a restart."""
    title = embed.title or ""
    question = unescape(title.removeprefix(QUESTION_PREFIX))
    source = next((f.value for f in embed.fields if f.name == SOURCE_FIELD and f.value), None)
    return question, unescape(source) if source else NO_SOURCE


class EmbedCache:
    """Answer embeds already rendered, reused when the very same answer (the same object,
    e.g. from the batcher's answer cache) is shown again with the same titles, follow-up
    and note. The embeds are shared: treat them as read-only."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[
            tuple[int, int, str | None, str | None],
            tuple[Answer, Mapping[str, str] | None, discord.Embed],
        ] = OrderedDict()

    def answer_embed(
        self,
        answer: Answer,
        titles: Mapping[str, str] | None = None,
        *,
        follow_up_to: str | None = None,
        note: str | None = None,
    ) -> discord.Embed:
        """:func:`answer_embed`, rendered once per answer object."""
        key = (id(answer), id(titles), follow_up_to, note)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is answer and entry[1] is titles:
            self._entries.move_to_end(key)
            return entry[2]
        embed = answer_embed(answer, titles, follow_up_to=follow_up_to, note=note)
        if self.size:
            self._entries[key] = (answer, titles, embed)  # holds them: ids stay theirs
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return embed
