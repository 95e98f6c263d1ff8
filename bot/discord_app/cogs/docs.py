"""/docs add, /docs remove, /docs list and /sources: the documents, managed from Discord."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import doc_reports as texts
from bot.discord_app.doc_pages import PageButton, send_documents
from bot.discord_app.indexing import IndexBusyError
from bot.discord_app.permissions import may_reindex
from bot.shared.documents import DocumentsError, check_name, remove_document, save_document
from index.engine import DOCUMENT_SUFFIXES
from index.errors import AskdocsError, DocumentError

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)


class DocsCog(commands.Cog):
    docs = app_commands.Group(
        name="docs",
        description="Add, remove and list the documents I answer from.",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot

    def _allowed(self, interaction: discord.Interaction, command: str) -> bool:
        user = interaction.user
        role_ids = [role.id for role in getattr(user, "roles", ())]
        allowed = may_reindex(
            user.id, role_ids, interaction.permissions.manage_guild, self.bot.settings
        )
        if not allowed:
            log.warning(
                "refused /docs %s by %s (id %s) in guild %s: not an admin",
                command,
                user,
                user.id,
                interaction.guild_id,
            )
        return allowed

    # -- /docs add ------------------------------------------------------------------------------
    @docs.command(name="add", description="Add a document (or replace one) and update the index.")
    @app_commands.describe(
        file="The document: .txt, .md, .rst, .html or .pdf",
        name="Save it under this name instead of the file's own",
        replace="Overwrite a document of the same name (default: no)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        name: str | None = None,
        replace: bool = False,
    ) -> None:
        send = interaction.response.send_message
        if not self._allowed(interaction, "add"):
            await send(texts.REFUSED, ephemeral=True)
            return
        chosen = file.filename if name is None else name
        try:
            check_name(chosen, DOCUMENT_SUFFIXES)
        except DocumentsError as exc:
            await send(texts.bad_name(chosen, str(exc)), ephemeral=True)
            return
        limit = self.bot.engine.config.max_doc_bytes
        if file.size > limit:
            await send(texts.too_large(chosen, file.size, limit), ephemeral=True)
            return
        jobs, engine = self.bot.index_jobs, self.bot.engine
        try:
            with jobs.claim(engine.building):
                started = time.monotonic()
                await interaction.response.defer(thinking=True, ephemeral=True)
                await self._add(interaction, started, file, chosen, replace=replace)
        except IndexBusyError as exc:
            await send(str(exc), ephemeral=True)

    async def _add(
        self,
        interaction: discord.Interaction,
        started: float,
        file: discord.Attachment,
        name: str,
        *,
        replace: bool,
    ) -> None:
        jobs, engine = self.bot.index_jobs, self.bot.engine
        limit = engine.config.max_doc_bytes
        try:
            data = await file.read()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("cannot download %s for /docs add: %s", file.url, exc)
            await jobs.report(
                interaction, started, "docs add", content=texts.not_downloaded(name, str(exc))
            )
            return
        if len(data) > limit:
            await jobs.report(
                interaction, started, "docs add", content=texts.too_large(name, len(data), limit)
            )
            return
        try:
            await asyncio.to_thread(engine.check_document, name, data)
            folder, server = self.bot.knowledge_base(interaction.guild_id)
            if server is not None:  # a server's first document: its folder is new
                await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            replaced = await asyncio.to_thread(save_document, folder, name, data, replace=replace)
            # with a database, every process's next build takes the document too
            await asyncio.to_thread(engine.record_document, name, data, server)
        except DocumentError as exc:
            await jobs.report(
                interaction, started, "docs add", content=texts.not_a_document(name, str(exc))
            )
            return
        except (DocumentsError, AskdocsError) as exc:  # AskdocsError: the database failed
            await jobs.report(interaction, started, "docs add", content=texts.not_saved(str(exc)))
            return
        verb = "replaced" if replaced else "added"
        log.info("/docs add by %s: %s %s (%d bytes)", interaction.user.id, verb, name, len(data))
        await self._rebuild(interaction, started, "docs add", verb, name)

    # -- /docs remove ---------------------------------------------------------------------------
    @docs.command(name="remove", description="Remove a document and update the index.")
    @app_commands.describe(name="The document to remove (start typing its name)")
    async def remove(self, interaction: discord.Interaction, name: str) -> None:
        send = interaction.response.send_message
        if not self._allowed(interaction, "remove"):
            await send(texts.REFUSED, ephemeral=True)
            return
        engine = self.bot.engine
        folder, server = self.bot.knowledge_base(interaction.guild_id)
        sources = {d.source for d in self.bot.own_documents(server)}
        if name not in sources:
            await send(texts.unknown_document(name), ephemeral=True)
            return
        if len(sources) == 1:
            await send(texts.last_document(name), ephemeral=True)
            return
        try:
            with self.bot.index_jobs.claim(engine.building):
                started = time.monotonic()
                await interaction.response.defer(thinking=True, ephemeral=True)
                try:
                    await asyncio.to_thread(remove_document, folder, name)
                    await asyncio.to_thread(engine.record_document, name, None, server)
                except (DocumentsError, AskdocsError) as exc:
                    await self.bot.index_jobs.report(
                        interaction, started, "docs remove", content=texts.not_saved(str(exc))
                    )
                    return
                log.info("/docs remove by %s: %s", interaction.user.id, name)
                await self._rebuild(interaction, started, "docs remove", "removed", name)
        except IndexBusyError as exc:
            await send(str(exc), ephemeral=True)

    @remove.autocomplete("name")
    async def _document_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        _, server = self.bot.knowledge_base(interaction.guild_id)
        names = texts.matching_names(self.bot.own_documents(server), current)
        return [app_commands.Choice(name=label, value=source) for label, source in names]

    async def _rebuild(
        self, interaction: discord.Interaction, started: float, command: str, verb: str, name: str
    ) -> None:
        """Update the index incrementally after a change, with live progress, and report."""
        jobs, engine = self.bot.index_jobs, self.bot.engine
        reply = jobs.live_reply(interaction, started)
        message: dict[str, Any]
        _, server = self.bot.knowledge_base(interaction.guild_id)
        try:
            report = await jobs.build(
                lambda progress: engine.reindex(progress=progress, server=server),
                reply,
                texts.UPDATING,
            )
        except (AskdocsError, OSError) as exc:  # OSError: a write failure the engine did not wrap
            log.warning("index not updated after /%s %s: %s", command, name, exc)
            message = {"embed": texts.not_indexed_embed(verb, name, exc)}
        else:
            message = {"embed": texts.change_embed(verb, name, report)}
        await jobs.report(interaction, started, command, **message)

    # -- /docs list and /sources ----------------------------------------------------------------
    @docs.command(name="list", description="List the documents I answer from.")
    async def list_documents(self, interaction: discord.Interaction) -> None:
        await send_documents(interaction, self.bot.documents(interaction.guild_id))


async def setup(bot: AskdocsBot) -> None:
    bot.add_dynamic_items(PageButton)
    await bot.add_cog(DocsCog(bot))
