"""Turning a Discord message into a question."""

from __future__ import annotations

import re


def mentions_user(content: str, user_id: int) -> bool:
    """Whether ``content`` mentions ``user_id`` explicitly (``<@id>`` or ``<@!id>``)."""
    return re.search(rf"<@!?{user_id}>", content) is not None


def strip_mentions(content: str, user_id: int) -> str:
    """``content`` without the mention(s) of ``user_id``, whitespace tidied."""
    without = re.sub(rf"<@!?{user_id}>", " ", content)
    lines = [" ".join(line.split()) for line in without.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def short(text: str, limit: int = 60) -> str:
    """A one-line, truncated form of a question for INFO logs."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
