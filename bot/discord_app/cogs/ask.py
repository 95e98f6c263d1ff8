"""/ask, mentions, answer channels and forum posts."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import limits
from bot.discord_app.asked import Asked, question_entry
from bot.discord_app.conversations import Turn
from bot.discord_app.embeds import EmbedCache, is_answer_embed
from bot.discord_app.followups import Resolved, expired_note, resolve
from bot.discord_app.questions import (
    NO_WORDS,
    answer_unprompted,
    clean_question,
    looks_like_question,
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


@dataclass(frozen=True, slots=True)
class Composed:
    """A reply ready to send, the engine's answer (None when there is none) and the turn to
    remember once it is sent (None unless it answers the question)."""

    reply: dict[str, Any]
    answer: Answer | None = None
    turn: Turn | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a message stands in a conversation: the earlier turns it can build on, the
    keys its answer will be remembered under, and whether it replies to the bot."""

    earlier: tuple[Turn, ...] = ()
    reply_to: int | None = None  # the bot's message it replies to
    thread: int | None = None  # the thread it is in
    expired: bool = False  # it replies to an answer whose conversation was forgotten


class AskCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot
        self.answer_channels = frozenset(bot.settings.answer_channel_ids)
        self.embeds = EmbedCache()  # a repeated question's answer is rendered once
        self._buttons: FeedbackView | None = None

    def buttons(self) -> FeedbackView:
        """The 👍/👎 buttons sent under answers: one view, stopped, so that discord.py
        keeps no per-message copy (the persistent view registered in ``setup_hook`` handles
        every click) and none is built per answer."""
        if self._buttons is None:
            self._buttons = FeedbackView()
            self._buttons.stop()
        return self._buttons

    async def compose(
        self,
        question: str,
        *,
        asked: Asked | None = None,
        earlier: Sequence[Turn] = (),
        expired: bool = False,
    ) -> Composed:
        """The message (embed + feedback buttons, or an apology) answering ``question`` —
        as a follow-up of the ``earlier`` turns when it is one (see
        :mod:`bot.discord_app.followups`). With ``asked``, an engine failure is recorded in
        the question log (answers are recorded by :meth:`log_question` once sent, with their
        message id). ``expired``: it replies to an answer whose conversation is forgotten."""
        started = time.perf_counter()
        max_chars = self.bot.settings.max_question_chars
        server = asked.guild_id if asked is not None else None
        try:
            if earlier:
                ask = functools.partial(self.bot.ask, server=server)
                resolved = await resolve(ask, question, earlier, max_chars)
            else:  # the common case: no conversation to build on
                resolved = Resolved(await self.bot.ask(question, server), None, question)
        except QuestionError as exc:
            return Composed({"content": question_error_message(str(exc))})
        except AskdocsError as exc:
            log.warning("could not answer %r: %s", short(question), exc)
            if asked is not None:
                self.bot.questions.record(question_entry(asked, question, None))
            return Composed({"content": f"⚠️ Sorry, I can't answer right now: {exc}"})
        answer, built_on = resolved.answer, resolved.built_on
        log.info(
            "answered %r in %.0f ms (%s, confidence %.2f%s)",
            short(question),
            (time.perf_counter() - started) * 1000,
            "abstained" if answer.abstained else answer.passages[0].source,
            answer.confidence,
            f", follow-up to {short(built_on.question)!r}" if built_on else "",
        )
        note = expired_note(self.bot.settings.followup_minutes) if expired else None
        embed = self.embeds.answer_embed(
            answer,
            self.bot.titles(server),
            follow_up_to=built_on.question if built_on else None,
            note=note,
        )
        turn = None if answer.abstained else resolved.turn
        return Composed({"embed": embed, "view": self.buttons()}, answer, turn)

    def remember(
        self, composed: Composed, sent: object, *, thread: int | None, keys: Sequence[int | None]
    ) -> None:
        """Remember an answered question under the message that answered it (and ``keys``:
        the bot message it replied to), in ``thread`` if it was answered in one."""
        message_id = getattr(sent, "id", None)
        if composed.turn is not None and isinstance(message_id, int):
            self.bot.conversations.record(composed.turn, keys=[*keys, message_id], thread=thread)

    def log_question(self, asked: Asked, answer: Answer | None, sent: object) -> None:
        """Queue the question-log entry of a delivered answer (never blocks; a no-op when the
        log is off), linked to its message so that later 👍/👎 votes count."""
        if answer is not None and self.bot.questions.enabled:
            message_id = getattr(sent, "id", None)
            titles = self.bot.titles(asked.guild_id)
            entry = question_entry(asked, answer.question, answer, titles, message_id)
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
        retry_after = await self.bot.cooldown_hit(interaction.user.id)
        if retry_after:
            await interaction.response.send_message(retry_message(retry_after), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        asked = Asked.from_interaction(interaction, "slash")
        thread = interaction.channel_id if isinstance(interaction.channel, discord.Thread) else None
        earlier = self.bot.conversations.recall(thread)
        composed = await self.compose(cleaned, asked=asked, earlier=earlier)
        sent = await deliver(interaction.edit_original_response, composed.reply)
        self.log_question(asked, composed.answer, sent)
        self.remember(composed, sent, thread=thread, keys=())

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

    def _conversation(self, message: discord.Message, bot_id: int) -> Conversation:
        """The conversation ``message`` continues: a reply to one of the bot's messages, or a
        message in a thread the bot answered in (see :mod:`bot.discord_app.conversations`)."""
        memory = self.bot.conversations
        thread = message.channel.id if isinstance(message.channel, discord.Thread) else None
        reference = message.reference
        replied = reference.resolved if reference is not None else None
        to_bot = (
            reference is not None
            and reference.type is not discord.MessageReferenceType.forward
            and isinstance(replied, discord.Message)
            and replied.author.id == bot_id
        )
        reply_to = reference.message_id if to_bot and reference is not None else None
        earlier = memory.recall(reply_to, thread)
        expired = (
            memory.enabled
            and reply_to is not None
            and not memory.knows(reply_to)
            and isinstance(replied, discord.Message)
            and any(is_answer_embed(e) for e in replied.embeds)
        )
        return Conversation(earlier, reply_to, thread, expired)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Mentions and forum posts are always answered, and so are replies to the bot that
        read as questions (follow-ups); other messages in answer channels and in threads the
        bot answered in only when they look like questions (see
        :func:`bot.discord_app.questions.answer_unprompted`)."""
        me = self.bot.user
        if me is None or message.author.bot or message.guild is None:
            return
        mentioned = mentions_user(message.content, me.id)
        forum_post = not mentioned and self._is_forum_post(message)
        conversation = self._conversation(message, me.id)
        reply = not mentioned and not forum_post and conversation.reply_to is not None
        unprompted = not mentioned and not forum_post and not reply
        in_thread = conversation.thread is not None and self.bot.conversations.knows(
            conversation.thread
        )
        if unprompted and message.channel.id not in self.answer_channels and not in_thread:
            return
        question = clean_question(message.content)
        if not question and forum_post:
            question = clean_question(message.channel.name)  # a post with only a title
        if reply and not looks_like_question(question):
            return  # "thanks!" under an answer
        if unprompted and not answer_unprompted(
            question, replies_to_other=self._replies_to_other(message, me.id)
        ):
            return
        if mentioned or forum_post or reply:
            via = "mention" if mentioned else "forum post" if forum_post else "reply"
        else:
            via = "answer channel" if message.channel.id in self.answer_channels else "thread"
        try:
            await self._answer_message(message, question, via, conversation, unprompted=unprompted)
        except discord.HTTPException as exc:
            log.warning(
                "could not answer message %s in %s: %s", message.id, message.channel.id, exc
            )

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        if self.bot.conversations.forget(payload.thread_id):
            log.info("thread %s was deleted: its conversation is forgotten", payload.thread_id)

    async def _answer_message(
        self,
        message: discord.Message,
        question: str,
        via: str,
        conversation: Conversation,
        *,
        unprompted: bool,
    ) -> None:
        """Mentions, replies and forum posts get notices (bad question, rate limit, not
        covered); unprompted messages in answer channels and conversation threads get an
        answer or silence, and spend the member's rate limit only when they are answered."""
        if not question:
            if via == "mention":
                await message.reply(MENTION_HINT.format(mention=self.bot.user.mention))
            return
        try:
            cleaned = check_question(question, self.bot.settings.max_question_chars)
        except QuestionError as exc:
            if not unprompted:
                await message.reply(question_error_message(str(exc)))
            return
        asked = Asked.from_message(message, via)
        if unprompted:
            if await self.bot.cooldown_retry_after(message.author.id):
                return
            composed = await self.compose(
                cleaned, asked=asked, earlier=conversation.earlier, expired=conversation.expired
            )
            if composed.answer is None or composed.answer.abstained:
                log.info("not answering unprompted message %s (not covered)", message.id)
                return
            if await self.bot.cooldown_hit(message.author.id):  # another of theirs won the race
                return
        else:
            retry_after = await self.bot.cooldown_hit(message.author.id)
            if retry_after:
                await message.reply(
                    retry_message(retry_after), delete_after=self.bot.notice_seconds
                )
                return
            composed = await self.compose(
                cleaned, asked=asked, earlier=conversation.earlier, expired=conversation.expired
            )
        thread = conversation.thread
        if self.bot.settings.answer_in_thread and thread is None:
            created = await message.create_thread(name=limits.truncate(cleaned, limits.THREAD_NAME))
            thread = created.id
            sent = await deliver(created.send, composed.reply)
        else:
            sent = await deliver(message.reply, composed.reply)
        self.log_question(asked, composed.answer, sent)
        self.remember(composed, sent, thread=thread, keys=[conversation.reply_to])


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
