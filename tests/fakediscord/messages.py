"""Creating, editing and dispatching messages (shared by the REST routes and the helpers)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .payloads import (
    FakeChannel,
    FakeUser,
    Intent,
    MessageFlag,
    iso_now,
    mentioned_role_ids,
    mentioned_user_ids,
    message_json,
)
from .rest import ApiError, UploadedFile

if TYPE_CHECKING:
    from .server import FakeDiscord

EMBED_TOTAL_LIMIT = 6000
INVALID_FORM_BODY = 50035


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def check_limits(body: dict[str, Any]) -> None:
    """Limits Discord enforces beyond the JSON schema (answered with 400 Invalid Form Body)."""
    if len(body.get("content") or "") > 2000:
        raise ApiError(
            400, INVALID_FORM_BODY, "Invalid Form Body (content: Must be 2000 or fewer in length.)"
        )
    if sum(_embed_chars(e) for e in body.get("embeds") or []) > EMBED_TOTAL_LIMIT:
        raise ApiError(
            400,
            INVALID_FORM_BODY,
            "Invalid Form Body (embeds: Embed size exceeds maximum size of 6000)",
        )


def build_attachments(
    fake: FakeDiscord,
    channel: FakeChannel,
    body: dict[str, Any],
    files: list[UploadedFile],
    existing: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Attachment objects for uploaded ``files[n]`` parts (and kept existing attachments)."""
    by_field = {f.field: f for f in files}
    kept = {a["id"]: a for a in existing or []}
    result: list[dict[str, Any]] = []
    used: set[str] = set()
    for spec in body.get("attachments") or []:
        sid = str(spec.get("id"))
        if sid in kept:
            result.append(kept[sid])
        elif f"files[{sid}]" in by_field:
            used.add(f"files[{sid}]")
            result.append(
                fake.store_attachment(
                    channel,
                    by_field[f"files[{sid}]"].filename,
                    by_field[f"files[{sid}]"].data,
                    by_field[f"files[{sid}]"].content_type,
                    spec.get("description"),
                )
            )
    for f in files:
        if f.field not in used:
            result.append(fake.store_attachment(channel, f.filename, f.data, f.content_type))
    return result


def _mentions(
    fake: FakeDiscord,
    content: str,
    allowed: dict[str, Any] | None,
    replied_to: dict[str, Any] | None,
) -> tuple[list[FakeUser], list[int], bool]:
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    explicit_users = {int(u) for u in (allowed or {}).get("users") or []}
    explicit_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    users = [
        u
        for uid in mentioned_user_ids(content)
        if (u := fake.world.user(uid)) is not None and ("users" in parse or uid in explicit_users)
    ]
    if replied_to is not None and (allowed is None or allowed.get("replied_user")):
        author = fake.world.user(int(replied_to["author"]["id"]))
        if author is not None and author not in users:
            users.append(author)
    roles = [r for r in mentioned_role_ids(content) if "roles" in parse or r in explicit_roles]
    everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
    return users, roles, everyone


def create_bot_message(
    fake: FakeDiscord,
    channel: FakeChannel,
    body: dict[str, Any],
    files: list[UploadedFile],
    *,
    msg_type: int | None = None,
    extra_flags: int = 0,
    webhook_id: int | None = None,
    interaction_metadata: dict[str, Any] | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """Store and return a message the bot sent (REST shape)."""
    check_limits(body)
    if not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or files
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")
    world = fake.world
    extra: dict[str, Any] = {}
    replied_to: dict[str, Any] | None = None
    ref = body.get("message_reference")
    if ref:
        replied_to = world.messages.get(int(ref.get("message_id") or 0))
        if replied_to is None and ref.get("fail_if_not_exists", True):
            raise ApiError(
                400, INVALID_FORM_BODY, "Invalid Form Body (message_reference: Unknown message)"
            )
        extra["message_reference"] = {
            "type": 0,
            "message_id": str(ref.get("message_id")),
            "channel_id": str(ref.get("channel_id") or channel.id),
            "guild_id": str(ref.get("guild_id") or channel.guild_id),
        }
        extra["referenced_message"] = copy.deepcopy(replied_to)
    if interaction_metadata is not None:
        extra["interaction_metadata"] = interaction_metadata
    content = body.get("content") or ""
    users, roles, everyone = _mentions(fake, content, body.get("allowed_mentions"), replied_to)
    message_id = message_id or world.ids()
    if msg_type is None:
        msg_type = 19 if ref else 0
    message = message_json(
        message_id=message_id,
        channel=channel,
        author=world.bot_user,
        content=content,
        embeds=body.get("embeds"),
        components=body.get("components"),
        attachments=build_attachments(fake, channel, body, files),
        mentions=users,
        mention_roles=roles,
        mention_everyone=everyone,
        flags=((body.get("flags") or 0) & MessageFlag.SETTABLE) | extra_flags,
        msg_type=msg_type,
        webhook_id=webhook_id,
        application_id=world.application_id if webhook_id is not None else None,
        extra=extra,
    )
    if body.get("tts"):
        message["tts"] = True
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    world.messages[message_id] = message
    if not message["flags"] & MessageFlag.EPHEMERAL:
        channel.last_message_id = message_id
        channel.message_count += 1
    return message


def edit_message(
    fake: FakeDiscord,
    message: dict[str, Any],
    body: dict[str, Any],
    files: list[UploadedFile],
) -> dict[str, Any]:
    """Apply a PATCH body to a stored message, in place; returns it."""
    check_limits(
        {
            "content": body.get("content", message["content"]),
            "embeds": body.get("embeds", message["embeds"]),
        }
    )
    channel = fake.world.channel(int(message["channel_id"]))
    assert channel is not None
    if "content" in body:
        message["content"] = body["content"] or ""
        users, roles, everyone = _mentions(
            fake, message["content"], body.get("allowed_mentions"), None
        )
        message["mentions"] = [u.to_json() for u in users]
        message["mention_roles"] = [str(r) for r in roles]
        message["mention_everyone"] = everyone
    if "embeds" in body:
        probe = message_json(
            message_id=int(message["id"]),
            channel=channel,
            author=fake.world.bot_user,
            embeds=body["embeds"] or [],
        )
        message["embeds"] = probe["embeds"]
    if "components" in body:
        probe = message_json(
            message_id=int(message["id"]),
            channel=channel,
            author=fake.world.bot_user,
            components=body["components"] or [],
        )
        message["components"] = probe["components"]
    if "attachments" in body or files:
        message["attachments"] = build_attachments(
            fake, channel, body, files, existing=message["attachments"]
        )
    if body.get("flags") is not None:
        keep = message["flags"] & ~(MessageFlag.SUPPRESS_EMBEDS | MessageFlag.IS_COMPONENTS_V2)
        message["flags"] = keep | (
            body["flags"] & (MessageFlag.SUPPRESS_EMBEDS | MessageFlag.IS_COMPONENTS_V2)
        )
    if message["flags"] & MessageFlag.LOADING:
        message["flags"] &= ~MessageFlag.LOADING
    else:
        message["edited_timestamp"] = iso_now()
    return message


def gateway_view(fake: FakeDiscord, message: dict[str, Any]) -> dict[str, Any]:
    """The message as a MESSAGE_CREATE/UPDATE event carries it to the bot.

    Adds ``guild_id``/``member``; without the MESSAGE_CONTENT intent, content, embeds,
    attachments and components are emptied unless the bot wrote or is mentioned in the message.
    """
    world = fake.world
    data = copy.deepcopy(message)
    channel = world.channel(int(message["channel_id"]))
    guild = world.guild if channel is None else world.guild_of(channel)
    data["guild_id"] = str(guild.id)
    author = world.user(int(message["author"]["id"]))
    if author is not None and "webhook_id" not in message:
        data["member"] = author.member_json(with_user=False, guild=guild)
    for mention in data["mentions"]:
        user = world.user(int(mention["id"]))
        if user is not None:
            mention["member"] = user.member_json(with_user=False, guild=guild)
    bot_id = str(world.bot_user.id)
    visible = (
        fake.gateway.intents() & Intent.MESSAGE_CONTENT
        or message["author"]["id"] == bot_id
        or any(m["id"] == bot_id for m in message["mentions"])
    )
    if not visible:
        data.update(content="", embeds=[], attachments=[], components=[])
        data.pop("poll", None)
    return data
