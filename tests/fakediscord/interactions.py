"""INTERACTION_CREATE payloads and the per-interaction response log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .payloads import FakeChannel, FakeGuild, FakeRole, FakeUser
from .world import World

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5

# option types
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11


@dataclass
class InteractionEvent:
    """One step in an interaction's life.

    ``kind`` is one of ``created`` (the fake dispatched INTERACTION_CREATE; ``payload`` is the
    event), ``callback`` (``payload`` is the callback body ``{"type": .., "data": ..}``),
    ``followup``, ``edit_original``, ``get_original``, ``delete_original``, ``edit_followup``,
    ``get_followup``, ``delete_followup`` (``payload`` is the request body or None).
    ``message`` is the message object the step produced/returned, ``status`` the HTTP status
    the fake answered (0 for ``created``). ``time`` is ``time.monotonic()``.
    """

    kind: str
    time: float
    payload: Any
    message: dict[str, Any] | None = None
    status: int = 0


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user: FakeUser
    channel: FakeChannel
    created: float
    events: list[InteractionEvent] = field(default_factory=list)
    response_type: int | None = None  # the callback type, once acknowledged
    ephemeral: bool = False  # whether the original response is ephemeral
    original_message_id: int | None = None
    source_message_id: int | None = None  # the message a component lives on
    modal: dict[str, Any] | None = None  # data of a type-9 (MODAL) callback
    autocomplete_choices: list[dict[str, Any]] | None = None
    command_name: str | None = None
    followup_ids: list[int] = field(default_factory=list)
    parent_id: int | None = None  # for MODAL_SUBMIT: the interaction that opened the modal

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None


def infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser):
        return USER
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, dict) and "filename" in value:
        return ATTACHMENT  # an attachment object (see UserActions.slash_command)
    return STRING


def _registered_option_types(command: dict[str, Any] | None, path: list[str]) -> dict[str, int]:
    """Declared option types of a registered command (following sub-command ``path``)."""
    if command is None:
        return {}
    options = command.get("options") or []
    for name in path:
        nxt = next((o for o in options if o.get("name") == name), None)
        if nxt is None:
            return {}
        options = nxt.get("options") or []
    return {o["name"]: o["type"] for o in options if o.get("type", 0) > SUB_COMMAND_GROUP}


def build_command_data(
    world: World,
    name: str,
    options: dict[str, Any],
    *,
    option_types: dict[str, int] | None = None,
    subcommand: str | None = None,
    guild_command: bool | None = None,
    focused: str | None = None,
    command_type: int = 1,
    guild_id: int | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND (or AUTOCOMPLETE) interaction in ``guild_id``
    (default: the first guild)."""
    guild = world.guild if guild_id is None else world.guilds[guild_id]
    command, registered_guild = world.find_command(name, command_type, guild.id)
    path = subcommand.split() if subcommand else []
    types = {**_registered_option_types(command, path), **(option_types or {})}
    resolved: dict[str, dict[str, Any]] = {}
    leaf: list[dict[str, Any]] = []
    for opt_name, value in options.items():
        opt_type = types.get(opt_name) or infer_option_type(value)
        leaf.append(_option(world, guild, opt_name, opt_type, value, resolved, focused == opt_name))
    nested = leaf
    for depth, part in reversed(list(enumerate(path))):
        kind = SUB_COMMAND if depth == len(path) - 1 else SUB_COMMAND_GROUP
        nested = [{"type": kind, "name": part, "options": nested}]
    if command is not None:
        command_id = int(command["id"])
    else:  # not synced: a stable fake id per name
        command_id = world.unsynced_command_ids.setdefault(name, world.ids())
    data: dict[str, Any] = {"id": str(command_id), "name": name, "type": command_type}
    if nested:
        data["options"] = nested
    if resolved:
        data["resolved"] = resolved
    command_guild = (
        registered_guild if guild_command is None else (guild.id if guild_command else None)
    )
    if command_guild is not None:
        data["guild_id"] = str(command_guild)
    return data


def _option(
    world: World,
    guild: FakeGuild,
    name: str,
    opt_type: int,
    value: Any,
    resolved: dict[str, dict[str, Any]],
    focused: bool,
) -> dict[str, Any]:
    if isinstance(value, FakeUser | FakeChannel | FakeRole):
        value = value.id
    option: dict[str, Any] = {"name": name, "type": opt_type}
    if isinstance(value, dict) and "filename" in value:
        resolved.setdefault("attachments", {})[value["id"]] = value
        option["value"] = value["id"]
    elif opt_type in (USER, CHANNEL, ROLE, MENTIONABLE, ATTACHMENT):
        sid = int(value)
        option["value"] = str(sid)
        user, channel, role = world.user(sid), world.channel(sid), world.role(sid)
        if user is not None and opt_type in (USER, MENTIONABLE):
            resolved.setdefault("users", {})[str(sid)] = user.to_json()
            member = user.member_json(with_user=False, guild=guild)
            member["permissions"] = str(guild.permissions_for(user))
            resolved.setdefault("members", {})[str(sid)] = member
        elif channel is not None and opt_type == CHANNEL:
            ch = channel.to_json()
            ch["permissions"] = str(guild.permissions_for(world.bot_user))
            resolved.setdefault("channels", {})[str(sid)] = ch
        elif role is not None and opt_type in (ROLE, MENTIONABLE):
            resolved.setdefault("roles", {})[str(sid)] = role.to_json()
    elif opt_type == INTEGER:
        option["value"] = int(value)
    elif opt_type == NUMBER:
        option["value"] = float(value)
    elif opt_type == BOOLEAN:
        option["value"] = bool(value)
    else:
        option["value"] = str(value)
    if focused:
        option["focused"] = True
    return option


def build_interaction(
    world: World,
    *,
    itype: int,
    data: dict[str, Any],
    user: FakeUser,
    channel: FakeChannel,
    permissions: int | None = None,
    message: dict[str, Any] | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """A complete guild INTERACTION_CREATE ``d`` payload."""
    guild = world.guild_of(channel)
    member = user.member_json(guild=guild)
    member["permissions"] = str(guild.permissions_for(user) if permissions is None else permissions)
    payload: dict[str, Any] = {
        "id": str(world.ids()),
        "application_id": str(world.application_id),
        "type": itype,
        "data": data,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
        "channel_id": str(channel.id),
        "channel": channel.to_json(),
        "member": member,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "app_permissions": str(guild.permissions_for(world.bot_user)),
        "locale": locale or user.locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if message is not None:
        payload["message"] = message
    return payload


def modal_submit_data(modal: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``data`` of a MODAL_SUBMIT answering ``modal`` (the bot's type-9 callback data)."""
    components: list[dict[str, Any]] = []
    for top in modal.get("components", []):
        if top.get("type") == 1:  # action row of text inputs (legacy layout)
            inner = [
                {
                    "type": c["type"],
                    "id": c.get("id", 0),
                    "custom_id": c["custom_id"],
                    "value": values.get(c["custom_id"], c.get("value", "")),
                }
                for c in top.get("components", [])
                if c.get("type") == 4
            ]
            components.append({"type": 1, "id": top.get("id", 0), "components": inner})
        elif top.get("type") == 18 and top.get("component", {}).get("type") == 4:  # label
            c = top["component"]
            components.append(
                {
                    "type": 18,
                    "id": top.get("id", 0),
                    "component": {
                        "type": 4,
                        "id": c.get("id", 0),
                        "custom_id": c["custom_id"],
                        "value": values.get(c["custom_id"], c.get("value", "")),
                    },
                }
            )
    return {"custom_id": modal["custom_id"], "components": components}
