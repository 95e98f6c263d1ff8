"""Discord's size limits, and cutting text to fit them without ever rejecting it.

Pure functions, no network: long text is cut at the last sentence end that fits (or the last
word boundary, or as a last resort mid-word) and gets a trailing ellipsis.
"""

from __future__ import annotations

import re

import discord

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
THREAD_NAME = 100

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")
_MIN_SENTENCE_SHARE = 0.5  # prefer a word boundary over a sentence end that loses half the room


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else a prefix of it ending at a sentence
    or word boundary followed by "…" (total length <= ``limit``)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    window = text[: room + 1]  # one extra char: tells whether the cut lands on a boundary
    cut = _boundary(window, room)
    return text[:cut].rstrip() + ELLIPSIS


def _boundary(window: str, room: int) -> int:
    """Where to cut ``window`` so that at most ``room`` characters are kept."""
    if room <= 0:
        return 0
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= room]
    if sentence_ends and sentence_ends[-1] >= room * _MIN_SENTENCE_SHARE:
        return sentence_ends[-1]
    if len(window) > room and window[room].isspace():
        return room  # the cut falls exactly on a word boundary
    space = max((i for i, ch in enumerate(window[:room]) if ch.isspace()), default=-1)
    if space > 0 and window[:space].strip():
        return space
    return room  # one long word: cut it


def fit_content(text: str) -> str:
    return truncate(text, CONTENT)


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts towards the 6000 total of an embed."""
    total = len(embed.title or "") + len(embed.description or "")
    total += len(embed.footer.text or "") + len(embed.author.name or "")
    return total + sum(len(f.name or "") + len(f.value or "") for f in embed.fields)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Cut every part of ``embed`` to Discord's limits, in place, and return it.

    Over the 6000 total, the description is shortened first, then fields are dropped from
    the end (the first field is the citation and is dropped last).
    """
    if embed.title:
        embed.title = truncate(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = truncate(embed.description, EMBED_DESCRIPTION)
    if embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=truncate(embed.author.name, AUTHOR_NAME),
            url=embed.author.url,
            icon_url=embed.author.icon_url,
        )
    fields = [(f.name or "", f.value or "", bool(f.inline)) for f in embed.fields]
    embed.clear_fields()
    for name, value, inline in fields[:EMBED_FIELDS]:
        embed.add_field(
            name=truncate(name or "\u200b", FIELD_NAME),
            value=truncate(value or "\u200b", FIELD_VALUE),
            inline=inline,
        )
    excess = embed_size(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        keep = max(len(embed.description) - excess, 1)
        embed.description = truncate(embed.description, keep)
    while embed_size(embed) > EMBED_TOTAL and len(embed.fields) > 0:
        embed.remove_field(len(embed.fields) - 1)
    if embed_size(embed) > EMBED_TOTAL and embed.footer.text:
        embed.remove_footer()
    return embed
