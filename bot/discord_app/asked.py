"""Where and how a question was asked on Discord, and the question-log entry for what the bot
did with it (the log itself: :mod:`bot.shared.question_log`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import discord

from bot.shared.citation import citation
from bot.shared.question_log import Cited, QuestionEntry
from index.models import Answer

_KINDS = {
    discord.ChannelType.text: "text",
    discord.ChannelType.news: "announcement",
    discord.ChannelType.public_thread: "thread",
    discord.ChannelType.private_thread: "thread",
    discord.ChannelType.news_thread: "thread",
    discord.ChannelType.voice: "voice",
    discord.ChannelType.stage_voice: "stage",
    discord.ChannelType.forum: "forum",
    discord.ChannelType.private: "dm",
    discord.ChannelType.group: "dm",
}
_FORUMS = (discord.ChannelType.forum, discord.ChannelType.media)


def channel_kind(channel: object) -> str:
    """A short name for the kind of channel: text, announcement, thread, forum post, voice,
    stage, dm, or other."""
    kind = getattr(channel, "type", None)
    parent = channel.parent if isinstance(channel, discord.Thread) else None
    if parent is not None and parent.type in _FORUMS:
        return "forum post"
    return _KINDS.get(kind, "other") if isinstance(kind, discord.ChannelType) else "other"


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked, where, and how ("slash", "mention", "forum post", "answer channel")."""

    guild_id: int | None
    channel_kind: str
    via: str
    user_id: int

    @classmethod
    def from_interaction(cls, interaction: discord.Interaction, via: str) -> Asked:
        channel = channel_kind(interaction.channel)
        return cls(interaction.guild_id, channel, via, interaction.user.id)

    @classmethod
    def from_message(cls, message: discord.Message, via: str) -> Asked:
        guild_id = message.guild.id if message.guild is not None else None
        return cls(guild_id, channel_kind(message.channel), via, message.author.id)


def question_entry(
    asked: Asked,
    question: str,
    answer: Answer | None,
    titles: Mapping[str, str] | None = None,
    message_id: int | None = None,
) -> QuestionEntry:
    """The log entry: answered (with the passages the answer cited), refused, or — without an
    answer — an error."""
    base = QuestionEntry(
        question,
        "error",
        guild_id=asked.guild_id,
        channel_kind=asked.channel_kind,
        via=asked.via,
        user_id=asked.user_id,
        message_id=message_id,
    )
    if answer is None:
        return base
    if answer.abstained:
        return replace(base, question=answer.question, outcome="refused",
                       confidence=answer.confidence)  # fmt: skip
    cited = tuple(Cited(p.source, citation(p, titles)) for p in answer.passages)
    return replace(base, question=answer.question, outcome="answered",
                   confidence=answer.confidence, cited=cited)  # fmt: skip
