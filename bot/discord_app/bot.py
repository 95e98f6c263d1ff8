"""``AskdocsBot``: the ``commands.AutoShardedBot`` given the settings and an opened engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.batching import MicroBatcher
from bot.discord_app.conversations import ConversationMemory
from bot.discord_app.cooldown import Cooldown
from bot.discord_app.errors import BotConfigError, database_unavailable
from bot.discord_app.indexing import IndexJobs
from bot.discord_app.views import FeedbackView
from bot.shared.feedback import Votes
from bot.shared.question_recorder import QuestionRecorder
from bot.shared.settings import Settings
from bot.shared.stores import open_feedback, open_global_cooldown
from index.errors import DatabaseError
from index.models import Answer, DocumentInfo

if TYPE_CHECKING:
    from index.engine import Engine

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.info",
    "bot.discord_app.cogs.docs",
    "bot.discord_app.cogs.insights",
)
NOTICE_SECONDS = 10.0  # cooldown notices under mentions delete themselves after this


class AskdocsBot(commands.AutoShardedBot):
    """Slash commands, mentions and answer channels over an opened :class:`Engine`.

    ``engine`` may be None only to sync commands (nothing is answered then). Always an
    ``AutoShardedBot``: with ``ASKDOCS_SHARD_COUNT`` (and ``ASKDOCS_SHARD_IDS``) it runs the
    given shards, so several processes can share the guilds; without them it runs the number
    of shards Discord recommends (one for all but very large bots) in this process.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None,
        *,
        feedback: Votes | None = None,
        cooldown: Cooldown | None = None,
        questions: QuestionRecorder | None = None,
    ) -> None:
        intents = discord.Intents.default()
        # privileged: only needed to read messages that do not mention the bot
        intents.message_content = bool(settings.answer_channel_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,
        )
        self.settings = settings
        self._engine = engine
        # votes, the question log and the global cooldown live in PostgreSQL when
        # ASKDOCS_DATABASE_URL is set (bot.shared.stores), else in SQLite / in memory
        self.feedback = feedback if feedback is not None else open_feedback(settings)
        # (not ``cooldown or ...``: a Cooldown tracking nobody is falsy)
        self.cooldown = (
            cooldown
            if cooldown is not None
            else Cooldown(settings.cooldown_questions, settings.cooldown_seconds)
        )
        # shared by every process (None without a database); while the database is down it
        # falls back to this process's own cooldown
        self.global_cooldown = open_global_cooldown(settings, fallback=self.cooldown)
        # the question log (off unless ASKDOCS_QUESTION_LOG): written off the event loop
        self.questions = (
            questions if questions is not None else QuestionRecorder.from_settings(settings)
        )
        self.notice_seconds = NOTICE_SECONDS
        self.index_jobs = IndexJobs()  # /reindex and /docs change the index one at a time
        self.conversations = ConversationMemory(  # for follow-ups; in memory only
            max_conversations=settings.followup_conversations,
            max_turns=settings.followup_turns,
            max_age=settings.followup_minutes * 60,
        )
        self.batcher: MicroBatcher | None = None
        self._database_failing = False  # the engine's database failed the last question
        self._titles: dict[int | None, tuple[tuple[DocumentInfo, ...], dict[str, str]]] = {}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise BotConfigError("the bot was started without an engine")
        return self._engine

    async def setup_hook(self) -> None:
        if self._engine is not None:
            self.batcher = MicroBatcher(
                self._engine,
                max_question_chars=self.settings.max_question_chars,
                top_k=self.settings.top_k,
            )
            self.questions.start()  # retention now and daily
        self.add_view(FeedbackView())  # persistent: buttons of earlier answers keep working
        self.tree.error(self.on_app_command_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (id %s) to %d guild(s) on %s; message content intent %s",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
            self.shards_text(),
            "on" if self.intents.message_content else "off",
        )

    async def on_shard_ready(self, shard_id: int) -> None:
        log.debug("shard %d of %s ready", shard_id, self.shard_count)

    def shards_text(self) -> str:
        """The shards this process runs, e.g. ``shard 1 of 2`` or ``shards 0, 1 of 4``."""
        ids = list(self.shard_ids or range(self.shard_count or 1))
        label = "shard" if len(ids) == 1 else "shards"
        return f"{label} {', '.join(map(str, ids))} of {self.shard_count or 1}"

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the cogs listen to messages themselves."""

    async def ask(self, question: str, server: int | None = None) -> Answer:
        """Answer one question from the documents ``server`` sees (batched with concurrent
        ones, off the event loop)."""
        if self.batcher is None:
            raise BotConfigError("the bot was started without an engine")
        try:
            answer = await self.batcher.answer(question, server)
        except DatabaseError as exc:
            # which database and why is for the logs (once per outage), not for the asker
            if not self._database_failing:
                self._database_failing = True
                log.warning("%s; askers are told to try again until it answers", exc)
            else:
                log.debug("%s", exc)
            raise database_unavailable() from None
        if self._database_failing:
            self._database_failing = False
            log.info("the database answers again")
        return answer

    def titles(self, server: int | None = None) -> Mapping[str, str]:
        """Titles of the documents ``server`` sees, by source, cached until they change."""
        documents = self.engine.documents_for(server)
        cached = self._titles.get(server)
        if cached is None or cached[0] is not documents:
            cached = self._titles[server] = (documents, {d.source: d.title for d in documents})
        return cached[1]

    def documents(self, server: int | None) -> tuple[DocumentInfo, ...]:
        """The documents answering questions in ``server``."""
        return self.engine.documents_for(server)

    def knowledge_base(self, guild_id: int | None) -> tuple[Path, int | None]:
        """The documents folder /docs and /reindex change in ``guild_id``, and the server
        whose knowledge base to rebuild: with ``ASKDOCS_SERVER_DOCS`` each server changes
        its own (the shared documents are the host's, changed with ``askdocs index``);
        without it, every server changes the shared documents (None)."""
        engine = self.engine
        if engine.config.server_docs_dir is None or guild_id is None:
            return engine.config.docs_dir, None
        return engine.server_docs(guild_id), guild_id

    def own_documents(self, server: int | None) -> tuple[DocumentInfo, ...]:
        """The documents of one knowledge base: the server's own, or the shared ones."""
        return self.engine.own_documents(server)

    async def cooldown_hit(self, user_id: int) -> float:
        """Count a question against ``user_id``'s rate limit (global across processes with
        a database); seconds to wait if over it, else 0."""
        if self.global_cooldown is not None:
            return await self.global_cooldown.ahit(user_id)
        return self.cooldown.hit(user_id)

    async def cooldown_retry_after(self, user_id: int) -> float:
        if self.global_cooldown is not None:
            return await self.global_cooldown.aretry_after(user_id)
        return self.cooldown.retry_after(user_id)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = "You can't use this command here."
        else:
            log.error(
                "command %s failed",
                interaction.command and interaction.command.name,
                exc_info=error,
            )
            text = "Sorry, something went wrong on my side. The maintainers have been told."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        await super().close()
        await self.questions.aclose()
        await asyncio.to_thread(self.feedback.close)
        if self.global_cooldown is not None:
            await asyncio.to_thread(self.global_cooldown.close)
