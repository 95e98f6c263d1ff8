"""/ask, mentions, answer channels and forum posts."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import limits
from bot.discord_app.asked import Asked, question_entry
from bot.discord_app.embeds import answer_embed
from bot.discord_app.questions import (
    NO_WORDS,
    answer_unprompted,
    clean_question,
    mentions_user,
    replies_to_someone_else,
    short,
)
from bot.discord_app.reports import question_error_message, retry_message
from bot.discord_app.views import FeedbackView
from index.engine import check_question
from index.errors import AskdocsError, QuestionError
from index.models import Answer

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)

MENTION_HINT = "👋 Ask me a question after the mention, e.g. {mention} when was the summit?"


class AskCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot
        self.answer_channels = frozenset(bot.settings.answer_channel_ids)

    async def compose(
        self, question: str, *, asked: Asked | None = None
    ) -> tuple[dict[str, Any], Answer | None]:
        """The message (embed + feedback buttons, or an apology) answering ``question``, and
        the engine's answer (None when there is none). With ``asked``, an engine failure is
        recorded in the question log (answers are recorded by :meth:`log_question` once sent,
        with their message id)."""
        started = time.perf_counter()
        try:
            answer = await self.bot.ask(question)
        except QuestionError as exc:
            return {"content": question_error_message(str(exc))}, None
        except AskdocsError as exc:
            log.warning("could not answer %r: %s", short(question), exc)
            if asked is not None:
                self.bot.questions.record(question_entry(asked, question, None))
            return {"content": f"⚠️ Sorry, I can't answer right now: {exc}"}, None
        log.info(
            "answered %r in %.0f ms (%s, confidence %.2f)",
            short(question),
            (time.perf_counter() - started) * 1000,
            "abstained" if answer.abstained else answer.passages[0].source,
            answer.confidence,
        )
        return {"embed": answer_embed(answer, self.bot.titles()), "view": FeedbackView()}, answer

    def log_question(self, asked: Asked, answer: Answer | None, sent: object) -> None:
        """Queue the question-log entry of a delivered answer (never blocks; a no-op when the
        log is off), linked to its message so that later 👍/👎 votes count."""
        if answer is not None and self.bot.questions.enabled:
            message_id = getattr(sent, "id", None)
            entry = question_entry(asked, answer.question, answer, self.bot.titles(), message_id)
            self.bot.questions.record(entry)

    # -- /ask ----------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question; I answer with cited quotes.")
    @app_commands.describe(question="Your question, in plain words")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        words = clean_question(question)
        try:
            if question.strip() and not words:
                raise QuestionError(NO_WORDS)
            cleaned = check_question(words, self.bot.settings.max_question_chars)
        except QuestionError as exc:
            await interaction.response.send_message(
                question_error_message(str(exc)), ephemeral=True
            )
            return
        retry_after = self.bot.cooldown.hit(interaction.user.id)
        if retry_after:
            await interaction.response.send_message(retry_message(retry_after), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        asked = Asked.from_interaction(interaction, "slash")
        reply, answer = await self.compose(cleaned, asked=asked)
        sent = await deliver(interaction.edit_original_response, reply)
        self.log_question(asked, answer, sent)

    # -- mentions, answer channels, forum posts ------------------------------------------------
    def _is_forum_post(self, message: discord.Message) -> bool:
        """The starter message of a new post in a forum answer channel (it has the thread's id)."""
        channel = message.channel
        return (
            isinstance(channel, discord.Thread)
            and channel.parent_id in self.answer_channels
            and message.id == channel.id
        )

    def _replies_to_other(self, message: discord.Message, bot_id: int) -> bool:
        reference = message.reference
        # discord.py's MessageReferenceType.reply is an alias of .default; forwards are not replies
        is_reply = (
            reference is not None and reference.type is not discord.MessageReferenceType.forward
        )
        replied = reference.resolved if reference is not None else None
        return replies_to_someone_else(
            message.author.id,
            bot_id,
            replied.author.id if isinstance(replied, discord.Message) else None,
            is_reply=is_reply,
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Mentions and forum posts are always answered; other messages in answer channels
        only when they look like questions (see
        :func:`bot.discord_app.questions.answer_unprompted`)."""
        me = self.bot.user
        if me is None or message.author.bot or message.guild is None:
            return
        mentioned = mentions_user(message.content, me.id)
        forum_post = not mentioned and self._is_forum_post(message)
        unprompted = not mentioned and not forum_post
        if unprompted and message.channel.id not in self.answer_channels:
            return
        question = clean_question(message.content)
        if not question and forum_post:
            question = clean_question(message.channel.name)  # a post with only a title
        if unprompted and not answer_unprompted(
            question, replies_to_other=self._replies_to_other(message, me.id)
        ):
            return
        try:
            await self._answer_message(message, question, mentioned, unprompted=unprompted)
        except discord.HTTPException as exc:
            log.warning(
                "could not answer message %s in %s: %s", message.id, message.channel.id, exc
            )

    async def _answer_message(
        self, message: discord.Message, question: str, mentioned: bool, *, unprompted: bool
    ) -> None:
        """Mentions and forum posts get notices (bad question, rate limit, not covered);
        unprompted messages in answer channels get an answer or silence, and spend the
        member's rate limit only when they are answered."""
        if not question:
            if mentioned:
                await message.reply(MENTION_HINT.format(mention=self.bot.user.mention))
            return
        try:
            cleaned = check_question(question, self.bot.settings.max_question_chars)
        except QuestionError as exc:
            if not unprompted:
                await message.reply(question_error_message(str(exc)))
            return
        cooldown = self.bot.cooldown
        via = "answer channel" if unprompted else "mention" if mentioned else "forum post"
        asked = Asked.from_message(message, via)
        if unprompted:
            if cooldown.retry_after(message.author.id):
                return
            reply, answer = await self.compose(cleaned, asked=asked)
            if answer is None or answer.abstained:
                log.info("not answering unprompted message %s (not covered)", message.id)
                return
            if cooldown.hit(message.author.id):  # another question of theirs won the race
                return
        else:
            retry_after = cooldown.hit(message.author.id)
            if retry_after:
                await message.reply(
                    retry_message(retry_after), delete_after=self.bot.notice_seconds
                )
                return
            reply, answer = await self.compose(cleaned, asked=asked)
        if self.bot.settings.answer_in_thread and not isinstance(message.channel, discord.Thread):
            thread = await message.create_thread(name=limits.truncate(cleaned, limits.THREAD_NAME))
            sent = await deliver(thread.send, reply)
        else:
            sent = await deliver(message.reply, reply)
        self.log_question(asked, answer, sent)


async def deliver(send: Callable[..., Awaitable[object]], reply: dict[str, Any]) -> object:
    """Send ``reply`` and return what ``send`` returned (the message), then drop discord.py's
    per-message copy of its feedback view: the persistent view registered in ``setup_hook``
    handles every click, and per-message copies would otherwise be kept forever."""
    try:
        return await send(**reply)
    finally:
        view = reply.get("view")
        if view is not None:
            view.stop()


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(AskCog(bot))
