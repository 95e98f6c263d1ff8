"""User actions the tests inject (slash commands, clicks, modals, messages, forum posts,
threads) and the helpers that store objects and dispatch gateway events for them. Mixed into
FakeDiscord."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionEvent,
    InteractionRecord,
    build_command_data,
    build_interaction,
    modal_submit_data,
)
from .messages import gateway_view
from .payloads import (
    ChannelType,
    FakeChannel,
    FakeUser,
    Intent,
    iter_components,
    mentioned_role_ids,
    mentioned_user_ids,
    message_json,
)
from .world import World

T = TypeVar("T")


class UserActions:
    world: World
    gateway: Gateway
    interactions: dict[int, InteractionRecord]
    interactions_by_token: dict[str, InteractionRecord]
    _loop: asyncio.AbstractEventLoop | None

    if TYPE_CHECKING:

        @property
        def base_url(self) -> str: ...

        async def wait_for(
            self, check: Callable[[], T | None], what: str, timeout: float = ...
        ) -> T: ...

    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                "FakeDiscord used from another event loop than the one it was started on: "
                "give the fixture and the test the same pytest-asyncio loop_scope"
            )

    # -- dispatching and storing ------------------------------------------------------------
    async def dispatch_if_connected(
        self, event: str, data: dict[str, Any], *, intent: int = 0
    ) -> int | None:
        self._check_loop()
        gw = self.gateway
        if gw.session_for(data.get("guild_id")) is None:
            return None  # no session, or none on the shard of the event's guild
        return await gw.dispatch(event, data, intent=intent)

    async def dispatch_message(self, event: str, message: dict[str, Any]) -> None:
        await self.dispatch_if_connected(
            event, gateway_view(self, message), intent=Intent.GUILD_MESSAGES
        )

    async def dispatch_thread_create(self, thread: FakeChannel) -> None:
        data = thread.to_json()
        data["newly_created"] = True
        data["member"] = {
            "id": str(thread.id),
            "user_id": str(self.world.bot_user.id),
            "join_timestamp": thread.created_at,
            "flags": 1,
        }
        await self.dispatch_if_connected("THREAD_CREATE", data, intent=Intent.GUILDS)

    def store_attachment(
        self,
        channel: FakeChannel,
        filename: str,
        data: bytes,
        content_type: str,
        description: str | None = None,
    ) -> dict[str, Any]:
        aid = self.world.ids()
        self.world.cdn[(aid, filename)] = (data, content_type)
        url = f"{self.base_url}/attachments/{channel.id}/{aid}/{filename}"
        attachment: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        if description:
            attachment["description"] = description
        return attachment

    # -- injecting user actions --------------------------------------------------------------
    def _channel(self, channel: FakeChannel | int | None) -> FakeChannel:
        if channel is None:
            return self.world.text_channel
        if isinstance(channel, FakeChannel):
            return channel
        found = self.world.channel(channel)
        if found is None:
            raise ValueError(f"unknown channel {channel}")
        return found

    async def _interact(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None,
        channel: FakeChannel,
        permissions: int | None,
        message: dict[str, Any] | None = None,
        locale: str | None = None,
        command_name: str | None = None,
        source_message_id: int | None = None,
        parent_id: int | None = None,
    ) -> InteractionRecord:
        self._check_loop()
        user = user or self.world.regular_user
        payload = build_interaction(
            self.world,
            itype=itype,
            data=data,
            user=user,
            channel=channel,
            permissions=permissions,
            message=message,
            locale=locale,
        )
        gw = self.gateway
        if gw.session_for(channel.guild_id) is None:
            raise RuntimeError(
                "no gateway session: start the client first"
                if gw.current is None or not gw.current.valid
                else f"no gateway session runs the shard of guild {channel.guild_id}"
            )
        rec = InteractionRecord(
            int(payload["id"]),
            payload["token"],
            itype,
            payload,
            user,
            channel,
            time.monotonic(),
            command_name=command_name,
            source_message_id=source_message_id,
            parent_id=parent_id,
        )
        rec.events.append(InteractionEvent("created", rec.created, payload))
        self.interactions[rec.id] = rec
        self.interactions_by_token[rec.token] = rec
        await gw.dispatch("INTERACTION_CREATE", payload)
        return rec

    async def slash_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
        option_types: dict[str, int] | None = None,
        subcommand: str | None = None,
        guild_command: bool | None = None,
        permissions: int | None = None,
        locale: str | None = None,
    ) -> int:
        """Inject an APPLICATION_COMMAND interaction; returns the interaction id.

        Option types come from the synced command if it was registered (PUT/POST
        .../commands), else ``option_types``, else are inferred (str 3, int 4, bool 5,
        float 10, FakeUser 6, FakeChannel 7, FakeRole 8). ``subcommand`` is "sub" or
        "group sub". ``guild_command`` None = as registered (global if unsynced).
        ``permissions`` overrides the member's computed permission bits. An attachment
        option is given as ``(filename, bytes, content_type)`` and served by the fake CDN.
        """
        target = self._channel(channel)
        options = {
            k: self.store_attachment(target, *v) if isinstance(v, tuple) else v
            for k, v in (options or {}).items()
        }
        data = build_command_data(
            self.world,
            name,
            options,
            option_types=option_types,
            subcommand=subcommand,
            guild_command=guild_command,
            guild_id=target.guild_id,
        )
        rec = await self._interact(
            APPLICATION_COMMAND,
            data,
            user=user,
            channel=target,
            permissions=permissions,
            locale=locale,
            command_name=name,
        )
        return rec.id

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
        subcommand: str | None = None,
    ) -> list[dict[str, Any]]:
        """Inject an AUTOCOMPLETE interaction and return the choices the bot answered."""
        target = self._channel(channel)
        data = build_command_data(
            self.world,
            name,
            options,
            subcommand=subcommand,
            focused=focused,
            guild_id=target.guild_id,
        )
        rec = await self._interact(
            AUTOCOMPLETE,
            data,
            user=user,
            channel=target,
            permissions=None,
            command_name=name,
        )
        return await self.wait_for(lambda: rec.autocomplete_choices, f"autocomplete of {name}")

    async def click_button(
        self,
        message_id: int,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        permissions: int | None = None,
    ) -> int:
        """Inject a MESSAGE_COMPONENT interaction (button) on a stored message."""
        return await self._component(message_id, custom_id, 2, None, user, permissions)

    async def select(
        self, message_id: int, custom_id: str, values: list[str], *, user: FakeUser | None = None
    ) -> int:
        """Inject a MESSAGE_COMPONENT interaction for a select menu with chosen ``values``."""
        return await self._component(message_id, custom_id, None, values, user, None)

    async def _component(
        self,
        message_id: int,
        custom_id: str,
        ctype: int | None,
        values: list[str] | None,
        user: FakeUser | None,
        permissions: int | None,
    ) -> int:
        message = self.world.messages.get(message_id)
        if message is None:
            raise ValueError(f"unknown message {message_id}")
        component = next(
            (c for c in iter_components(message["components"]) if c.get("custom_id") == custom_id),
            None,
        )
        if component is None:
            raise ValueError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": ctype or component["type"],
            "id": component.get("id", 0),
        }
        if values is not None:
            data["values"] = values
        channel = self._channel(int(message["channel_id"]))
        rec = await self._interact(
            MESSAGE_COMPONENT,
            data,
            user=user,
            channel=channel,
            permissions=permissions,
            message=gateway_view(self, message),
            source_message_id=message_id,
        )
        return rec.id

    async def submit_modal(
        self, interaction_id: int, values: dict[str, str], *, user: FakeUser | None = None
    ) -> int:
        """Answer the modal the bot opened (type-9 callback) on ``interaction_id``."""
        parent = self.interactions[interaction_id]
        modal = await self.wait_for(lambda: parent.modal, f"a modal on {interaction_id}")
        source = self.world.messages.get(parent.source_message_id or 0)
        rec = await self._interact(
            MODAL_SUBMIT,
            modal_submit_data(modal, values),
            user=user or parent.user,
            channel=parent.channel,
            permissions=None,
            message=gateway_view(self, source) if source else None,
            source_message_id=parent.source_message_id,
            parent_id=parent.id,
        )
        return rec.id

    async def message(
        self,
        content: str,
        *,
        author: FakeUser | None = None,
        channel: FakeChannel | int | None = None,
        mentions: list[FakeUser] | None = None,
        reply_to: int | None = None,
        attachments: list[tuple[str, bytes, str]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
    ) -> int:
        """Inject MESSAGE_CREATE from a user; returns the message id.

        ``<@id>`` mentions in ``content`` fill ``mentions`` automatically (pass ``mentions``
        to add more); ``attachments`` are ``(filename, bytes, content_type)`` served by the
        fake CDN. Without the MESSAGE_CONTENT intent the bot receives empty content unless
        it is mentioned. Returns the id even if the bot's intents filter the event out.
        """
        world = self.world
        author = author or world.regular_user
        target = self._channel(channel)
        users = [u for uid in mentioned_user_ids(content) if (u := world.user(uid))]
        users += [u for u in mentions or [] if u not in users]
        extra: dict[str, Any] = {}
        if reply_to is not None:
            ref = world.messages[reply_to]
            extra = {
                "message_reference": {
                    "type": 0,
                    "message_id": str(reply_to),
                    "channel_id": ref["channel_id"],
                    "guild_id": str(target.guild_id),
                },
                "referenced_message": ref,
            }
            replied = world.user(int(ref["author"]["id"]))
            if replied is not None and replied not in users:
                users.append(replied)
        message_id = world.ids()
        message = message_json(
            message_id=message_id,
            channel=target,
            author=author,
            content=content,
            embeds=embeds,
            mentions=users,
            mention_roles=mentioned_role_ids(content),
            mention_everyone="@everyone" in content,
            msg_type=19 if reply_to else 0,
            attachments=[self.store_attachment(target, n, d, t) for n, d, t in attachments or []],
            extra=extra,
        )
        message["nonce"] = str(message_id)
        world.messages[message_id] = message
        target.last_message_id = message_id
        if target.is_thread:
            target.message_count += 1
        await self.dispatch_message("MESSAGE_CREATE", message)
        return message_id

    async def create_thread(
        self,
        name: str,
        *,
        channel: FakeChannel | int | None = None,
        owner: FakeUser | None = None,
        from_message: int | None = None,
    ) -> int:
        """A member opens a public thread in a text channel, from the message ``from_message``
        (the thread takes its id) or standalone: THREAD_CREATE. Returns the thread id."""
        world = self.world
        parent = self._channel(channel)
        if parent.type != ChannelType.GUILD_TEXT:
            raise ValueError(f"{parent.name} is not a text channel")
        thread = world.add_thread(
            thread_id=from_message or world.ids(),
            parent=parent,
            name=name,
            owner=owner or world.regular_user,
        )
        if from_message is not None:
            world.messages[from_message]["thread"] = thread.to_json()
        data = thread.to_json()
        data["newly_created"] = True
        await self.dispatch_if_connected("THREAD_CREATE", data, intent=Intent.GUILDS)
        return thread.id

    async def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes a thread: it and its messages are gone (REST calls on them get
        404 Unknown Channel); THREAD_DELETE."""
        world = self.world
        thread = world.channel(thread_id)
        if thread is None or not thread.is_thread:
            raise ValueError(f"unknown thread {thread_id}")
        del world.guild_of(thread).channels[thread_id]
        for mid in [m for m, msg in world.messages.items() if msg["channel_id"] == str(thread_id)]:
            del world.messages[mid]
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "type": thread.type,
        }
        await self.dispatch_if_connected("THREAD_DELETE", data, intent=Intent.GUILDS)

    async def forum_post(
        self,
        title: str,
        content: str,
        *,
        author: FakeUser | None = None,
        forum: FakeChannel | int | None = None,
        tags: list[str] | None = None,
    ) -> int:
        """A user opens a forum post: THREAD_CREATE (type 11, parent = the forum) then the
        starter MESSAGE_CREATE in the thread (same id). Returns the thread id."""
        world = self.world
        author = author or world.regular_user
        parent = self._channel(forum or world.forum_channel)
        if parent.type != ChannelType.GUILD_FORUM:
            raise ValueError(f"{parent.name} is not a forum channel")
        by_name = {t["name"]: int(t["id"]) for t in parent.available_tags}
        thread = world.add_thread(
            thread_id=world.ids(),
            parent=parent,
            name=title,
            owner=author,
            applied_tags=[by_name[t] for t in tags or []],
        )
        parent.last_message_id = thread.id
        data = thread.to_json()
        data["newly_created"] = True
        await self.dispatch_if_connected("THREAD_CREATE", data, intent=Intent.GUILDS)
        message = message_json(
            message_id=thread.id,
            channel=thread,
            author=author,
            content=content,
            mentions=[u for i in mentioned_user_ids(content) if (u := world.user(i))],
        )
        world.messages[thread.id] = message
        thread.last_message_id = thread.id
        thread.message_count += 1
        await self.dispatch_message("MESSAGE_CREATE", message)
        return thread.id
