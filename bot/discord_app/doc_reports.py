"""Texts and embeds of /docs (add, remove, list) and /sources: the paged document list, the
names offered while typing, and the reports of what changed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import discord

from bot.discord_app import limits
from bot.discord_app.embeds import escape
from bot.discord_app.reports import COLOUR_ERROR, COLOUR_INFO, failure_reason, reindex_embed, when
from bot.shared.citation import shown_name
from index.models import BuildReport, DocumentInfo

PAGE_SIZE = 10  # documents per page of /docs list
MAX_CHOICES = 25  # Discord's limit of autocomplete choices
CHOICE_CHARS = 100  # Discord's limit of a choice's name and value
LINE_CHARS = 300

REFUSED = (
    "🔒 Only server managers (Manage Server) and configured admins can add or remove documents."
)
UPDATING = "🔄 Updating the index…"


def bad_name(name: str, reason: str) -> str:
    return f"❌ `{shown_name(name)}` can't be used as a document name: {reason}."


def too_large(name: str, size: int, limit: int) -> str:
    return (
        f"❌ `{shown_name(name)}` is too large ({size / 1e6:.1f} MB; the limit is "
        f"{limit / 1e6:g} MB, `ASKDOCS_MAX_DOC_MB`). Split it into smaller documents."
    )


def not_downloaded(name: str, reason: str) -> str:
    return f"❌ Couldn't download `{shown_name(name)}` from Discord ({reason}). Try again."


def not_a_document(name: str, reason: str) -> str:
    return f"❌ `{shown_name(name)}` was not saved: {reason}."


def not_saved(reason: str) -> str:
    return f"❌ Nothing was changed: {reason}."


def unknown_document(name: str) -> str:
    return (
        f"❌ There is no indexed document named `{shown_name(name)}`. "
        "Pick one from the list offered while typing, or see `/docs list`."
    )


def last_document(name: str) -> str:
    return (
        f"❌ `{shown_name(name)}` is the only indexed document; I need at least one. "
        "Add another one first."
    )


def change_embed(verb: str, name: str, report: BuildReport) -> discord.Embed:
    """What ``/docs add|remove`` did: the document, then the build report."""
    embed = reindex_embed(report)
    embed.title = f"✅ `{shown_name(name)}` {verb}; the index is updated"
    return limits.fit_embed(embed)


def not_indexed_embed(verb: str, name: str, error: Exception) -> discord.Embed:
    """The document was saved or removed, but the index could not be updated."""
    embed = discord.Embed(
        title=f"⚠️ `{shown_name(name)}` {verb}, but the index was not updated",
        description=(
            f"{escape(failure_reason(error))}\n"
            "The previous index keeps answering; run `/reindex` to try again."
        ),
        colour=COLOUR_ERROR,
    )
    return limits.fit_embed(embed)


def page_count(documents: Sequence[DocumentInfo]) -> int:
    return max(1, math.ceil(len(documents) / PAGE_SIZE))


def documents_page(documents: Sequence[DocumentInfo], page: int) -> tuple[discord.Embed, int]:
    """Page ``page`` (0-based, clamped to the pages there are) of the indexed documents,
    sorted by name: the embed and the page shown."""
    pages = page_count(documents)
    page = min(max(page, 0), pages - 1)
    embed = discord.Embed(title=f"📚 {len(documents)} indexed documents", colour=COLOUR_INFO)
    if not documents:
        embed.description = "No documents are indexed yet. An admin can add some with `/docs add`."
        return embed, page
    ordered = sorted(documents, key=lambda d: (d.source.lower(), d.source))
    shown = ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    embed.description = "\n".join(
        limits.truncate(
            f"• `{shown_name(d.source)}` — {d.chunks} chunks, indexed {when(d.indexed_at)}",
            LINE_CHARS,
        )
        for d in shown
    )
    if pages > 1:
        first = page * PAGE_SIZE + 1
        embed.set_footer(
            text=f"Page {page + 1} of {pages} · documents {first}–{first + len(shown) - 1}"
        )
    return limits.fit_embed(embed), page


def matching_names(documents: Sequence[DocumentInfo], typed: str) -> list[tuple[str, str]]:
    """``(label, source)`` of the documents whose name holds ``typed`` (case-insensitive),
    names that start with it first, at most ``MAX_CHOICES``. Names longer than Discord
    allows a choice's value to be are left out."""
    wanted = typed.strip().casefold()
    found = [
        d.source
        for d in documents
        if wanted in d.source.casefold() and len(d.source) <= CHOICE_CHARS
    ]
    found.sort(key=lambda s: (not s.casefold().startswith(wanted), s.casefold(), s))
    return [(limits.truncate(shown_name(s), CHOICE_CHARS), s) for s in found[:MAX_CHOICES]]
