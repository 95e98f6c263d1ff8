"""REST routes: channel messages, typing, reactions, threads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .messages import create_bot_message, edit_message
from .payloads import ChannelType, FakeChannel, Intent, MessageFlag, Perm
from .rest import MISSING_PERMISSIONS, ApiError, ApiRequest, Router, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

Reply = tuple[int, Any]


def register(router: Router, fake: FakeDiscord) -> None:
    world = fake.world

    def channel_of(req: ApiRequest) -> FakeChannel:
        channel = world.channel(req.int_param("channel_id"))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def message_of(req: ApiRequest, channel: FakeChannel) -> dict[str, Any]:
        message = world.messages.get(req.int_param("message_id"))
        if (
            message is None
            or message["channel_id"] != str(channel.id)
            or message["flags"] & MessageFlag.EPHEMERAL
        ):
            raise unknown("Message", 10008)
        return message

    def require(channel: FakeChannel, permission: int) -> None:
        if not world.bot_can(channel, permission):
            raise MISSING_PERMISSIONS

    # -- messages ----------------------------------------------------------------------------
    async def create_message(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        if channel.type == ChannelType.GUILD_FORUM:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        require(
            channel,
            Perm.VIEW_CHANNEL
            | (Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES),
        )
        message = create_bot_message(fake, channel, req.json or {}, req.files)
        await fake.dispatch_message("MESSAGE_CREATE", message)
        return 200, message

    async def list_messages(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        limit = int(req.query.get("limit", 50))
        msgs = [
            m
            for m in world.messages.values()
            if m["channel_id"] == str(channel.id) and not m["flags"] & MessageFlag.EPHEMERAL
        ]
        if "before" in req.query:
            msgs = [m for m in msgs if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if int(m["id"]) > int(req.query["after"])]
            return 200, list(reversed(msgs[:limit]))
        return 200, list(reversed(msgs))[:limit]

    async def get_message(req: ApiRequest) -> Reply:
        return 200, message_of(req, channel_of(req))

    async def patch_message(req: ApiRequest) -> Reply:
        message = message_of(req, channel_of(req))
        if message["author"]["id"] != str(world.bot_user.id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        edit_message(fake, message, req.json or {}, req.files)
        await fake.dispatch_message("MESSAGE_UPDATE", message)
        return 200, message

    async def delete_message(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        message = message_of(req, channel)
        if message["author"]["id"] != str(world.bot_user.id):
            require(channel, Perm.MANAGE_MESSAGES)
        del world.messages[int(message["id"])]
        await fake.dispatch_if_connected(
            "MESSAGE_DELETE",
            {
                "id": message["id"],
                "channel_id": message["channel_id"],
                "guild_id": str(channel.guild_id),
            },
            intent=Intent.GUILD_MESSAGES,
        )
        return 204, None

    async def typing(req: ApiRequest) -> Reply:
        channel_of(req)
        return 204, None

    router.add("POST", "/channels/{channel_id}/messages", create_message)
    router.add("GET", "/channels/{channel_id}/messages", list_messages)
    router.add("GET", "/channels/{channel_id}/messages/{message_id}", get_message)
    router.add("PATCH", "/channels/{channel_id}/messages/{message_id}", patch_message)
    router.add("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message)
    router.add("POST", "/channels/{channel_id}/typing", typing)

    # -- reactions ---------------------------------------------------------------------------
    async def react(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        message = message_of(req, channel)
        require(channel, Perm.ADD_REACTIONS | Perm.READ_MESSAGE_HISTORY)
        emoji = unquote(req.params["emoji"])
        name, _, emoji_id = emoji.partition(":")
        emoji_json = {"id": emoji_id or None, "name": name}
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["emoji"] == emoji_json), None)
        adding = req.method == "PUT"
        if adding and (entry is None or not entry["me"]):
            if entry is None:
                entry = {
                    "emoji": emoji_json,
                    "count": 0,
                    "me": False,
                    "burst_colors": [],
                    "count_details": {"burst": 0, "normal": 0},
                    "burst_count": 0,
                    "me_burst": False,
                }
                reactions.append(entry)
            entry["count"] += 1
            entry["count_details"]["normal"] += 1
            entry["me"] = True
        elif not adding and entry is not None and entry["me"]:
            entry["count"] -= 1
            entry["count_details"]["normal"] -= 1
            entry["me"] = False
            if entry["count"] == 0:
                reactions.remove(entry)
        else:
            return 204, None
        event = {
            "user_id": str(world.bot_user.id),
            "channel_id": str(channel.id),
            "message_id": message["id"],
            "guild_id": str(channel.guild_id),
            "emoji": emoji_json,
            "burst": False,
            "type": 0,
        }
        if adding:
            event["member"] = world.bot_user.member_json(guild=world.guild_of(channel))
            event["message_author_id"] = message["author"]["id"]
        name = "MESSAGE_REACTION_ADD" if adding else "MESSAGE_REACTION_REMOVE"
        await fake.dispatch_if_connected(name, event, intent=Intent.GUILD_MESSAGE_REACTIONS)
        return 204, None

    reaction_path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
    router.add("PUT", reaction_path, react)
    router.add("DELETE", reaction_path, react)

    # -- threads -----------------------------------------------------------------------------
    async def thread_from_message(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        message = message_of(req, channel)
        if channel.type != ChannelType.GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if "thread" in message:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        require(channel, Perm.CREATE_PUBLIC_THREADS)
        body = req.json or {}
        thread = world.add_thread(
            thread_id=int(message["id"]), parent=channel, name=body["name"], owner=world.bot_user
        )
        message["thread"] = thread.to_json()
        await fake.dispatch_thread_create(thread)
        return 201, thread.to_json()

    async def thread_without_message(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        body = req.json or {}
        if channel.type == ChannelType.GUILD_FORUM:
            require(channel, Perm.SEND_MESSAGES)
            if not isinstance(body.get("message"), dict):
                raise ApiError(400, 50035, "Invalid Form Body (message: required)")
            thread = world.add_thread(
                thread_id=world.ids(),
                parent=channel,
                name=body["name"],
                owner=world.bot_user,
                applied_tags=[int(t) for t in body.get("applied_tags") or []],
            )
            # the starter message shares the thread's id
            starter = create_bot_message(
                fake, thread, body["message"], req.files, message_id=thread.id
            )
            await fake.dispatch_thread_create(thread)
            await fake.dispatch_message("MESSAGE_CREATE", starter)
            return 201, {**thread.to_json(), "message": starter}
        if channel.type != ChannelType.GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        thread_type = body.get("type") or ChannelType.PRIVATE_THREAD
        require(
            channel,
            Perm.CREATE_PUBLIC_THREADS
            if thread_type == ChannelType.PUBLIC_THREAD
            else Perm.CREATE_PRIVATE_THREADS,
        )
        thread = world.add_thread(
            thread_id=world.ids(),
            parent=channel,
            name=body["name"],
            owner=world.bot_user,
            thread_type=thread_type,
        )
        await fake.dispatch_thread_create(thread)
        return 201, thread.to_json()

    async def join_leave_thread(req: ApiRequest) -> Reply:
        channel = channel_of(req)
        if not channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return 204, None

    router.add("POST", "/channels/{channel_id}/messages/{message_id}/threads", thread_from_message)
    router.add("POST", "/channels/{channel_id}/threads", thread_without_message)
    router.add("PUT", "/channels/{channel_id}/thread-members/@me", join_leave_thread)
    router.add("DELETE", "/channels/{channel_id}/thread-members/@me", join_leave_thread)
