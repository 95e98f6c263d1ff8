"""Turning a Discord message into a question, and deciding which messages are questions."""

from __future__ import annotations

import re

# Discord markup that carries no meaning for retrieval: user (<@id>, <@!id>) and role (<@&id>)
# mentions, channel mentions (<#id>), slash-command mentions (</name sub:id>), custom emoji
# (<:name:id>, <a:name:id>) and @everyone / @here (not inside e-mail addresses).
_MARKUP = re.compile(
    r"<@[!&]?\d+>|<#\d+>|</[^<>:\n]+:\d+>|<a?:\w+:\d+>|(?<!\w)@(?:everyone|here)(?!\w)"
)
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[?!.,;:？](?:\s|$))")
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_ENDS_WITH_QUESTION_MARK = re.compile(r"[?？][\W_]*$")
QUESTION_WORDS = frozenset(
    {"how", "what", "why", "when", "where", "who", "whom", "whose", "which", "can", "could",
     "does", "do", "did", "is", "are", "was", "were", "should", "would", "will", "has", "have",
     "explain", "describe"}
)  # fmt: skip
NO_WORDS = "it has no words, only mentions, emoji or symbols; type your question in words"


def mentions_user(content: str, user_id: int) -> bool:
    """Whether ``content`` mentions ``user_id`` explicitly (``<@id>`` or ``<@!id>``)."""
    return re.search(rf"<@!?{user_id}>", content) is not None


def clean_question(text: str) -> str:
    """``text`` without mentions (users, roles, channels, slash commands, @everyone/@here)
    and custom emoji, whitespace tidied; ``""`` when no letter or digit is left.

    Mentions inside a real question are dropped too: they mean nothing to retrieval, and
    the question is echoed in the answer without them.
    """
    without = _MARKUP.sub(" ", text)
    lines = [_SPACE_BEFORE_PUNCT.sub("", " ".join(line.split())) for line in without.splitlines()]
    cleaned = "\n".join(line for line in lines if line).strip()
    return cleaned if any(ch.isalnum() for ch in cleaned) else ""


def looks_like_question(text: str) -> bool:
    """Whether ``text`` (already :func:`clean_question`-ed) reads like a question: it ends
    with a question mark or starts with a question word (how, what, why, can, does, is,
    explain, …). "thanks!", "ok", "👍" and "going to grab a coffee now brb" do not."""
    if not text:
        return False
    if _ENDS_WITH_QUESTION_MARK.search(text):
        return True
    words = _WORD.findall(text.lower())
    return bool(words and words[0] in QUESTION_WORDS)


def replies_to_someone_else(
    author_id: int, bot_id: int, replied_author_id: int | None, *, is_reply: bool
) -> bool:
    """Whether a message replies to another person's message (``replied_author_id`` is None
    when the replied-to message is unknown or deleted: counted as someone else's)."""
    if not is_reply:
        return False
    return replied_author_id not in (author_id, bot_id)


def answer_unprompted(question: str, *, replies_to_other: bool) -> bool:
    """Whether to answer a message in an answer channel that does not mention the bot.

    The rule for answer channels (``ASKDOCS_ANSWER_CHANNEL_IDS``):

    * mentions of the bot, ``/ask`` and new forum posts are always answered (not decided here);
    * other messages are answered only when they :func:`looks_like_question` and are not a
      reply to another person's message (that is people talking to each other);
    * such a message that cannot be asked (too long) or that the documents do not cover
      gets **silence**: no notice and no question counted against the member's rate limit
      (a member over the limit is not answered, also silently).
    * when the engine abstains on such an unprompted message, the bot stays **silent**.
      Chat that merely looks like a question ("anyone up for a game tonight?") is far more
      common in a busy channel than real questions the documents miss, and a public "not
      covered" embed under it is the noise this rule exists to avoid. Nobody is left
      guessing: /help says so, and a mention or ``/ask`` always gets a reply, "not covered"
      included. Forum posts are explicit questions, so they get the abstention too.
    """
    return not replies_to_other and looks_like_question(question)


def short(text: str, limit: int = 60) -> str:
    """A one-line, truncated form of a question for INFO logs."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
