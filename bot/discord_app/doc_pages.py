"""The paged document list of /docs list and /sources, with ◀ ▶ buttons.

The page is in each button's custom_id (a dynamic item registered once), so the buttons need
no memory per message and keep working after a restart; each click shows that page of the
documents indexed *now*."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.doc_reports import documents_page, page_count
from index.models import DocumentInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.discord_app.bot import AskdocsBot

PAGE_ID = "askdocs:docs:page:{page}"


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"askdocs:docs:page:(?P<page>-?\d+)"
):
    """Shows page ``page`` (0-based) of the document list in the message it is on."""

    def __init__(self, page: int, label: str = "", *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or "·",
                style=discord.ButtonStyle.secondary,
                custom_id=PAGE_ID.format(page=page),
                disabled=disabled,
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        label = getattr(item, "label", None) or ""
        return cls(int(match["page"]), label, disabled=bool(getattr(item, "disabled", False)))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: AskdocsBot = interaction.client  # type: ignore[assignment]
        embed, view = documents_message(bot.documents(interaction.guild_id), self.page)
        await interaction.response.edit_message(embed=embed, view=view)
        if view is not None:
            view.stop()  # the dynamic item handles clicks; no per-message copy is kept


def documents_message(
    documents: Sequence[DocumentInfo], page: int
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The embed of page ``page`` and, when there is more than one page, its buttons."""
    embed, shown = documents_page(documents, page)
    pages = page_count(documents)
    if pages == 1:
        return embed, None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(shown - 1, "◀ Previous", disabled=shown == 0))
    view.add_item(PageButton(shown + 1, "Next ▶", disabled=shown >= pages - 1))
    return embed, view


async def send_documents(
    interaction: discord.Interaction, documents: Sequence[DocumentInfo]
) -> None:
    """Answer ``interaction`` privately with the first page of ``documents``."""
    embed, view = documents_message(documents, 0)
    if view is None:
        await interaction.response.send_message(embed=embed, ephemeral=True)
        return
    await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
    view.stop()  # the dynamic page buttons handle clicks; no per-message copy is kept
