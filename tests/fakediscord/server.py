"""``FakeDiscord``: a wire-level fake of Discord (REST v10 + gateway) on 127.0.0.1.

Usage::

    async with FakeDiscord() as fake:
        bot = MyBot(...)
        await fake.start_client(bot)              # login + connect + wait until ready
        iid = await fake.slash_command("ask", {"question": "hi"}, user=fake.regular_user)
        final = await fake.wait_interaction_final(iid)   # the answer message object
        assert final["embeds"][0]["title"] == ...
    # leaving the block stops started clients, the server, and restores discord.py's URLs

Public state: ``world`` (guild, users, roles, channels, messages, commands - see
:class:`~fakediscord.world.World`; the cast is also exposed as attributes of the fake),
``requests`` (every REST request), ``violations`` (OpenAPI/route violations),
``response_violations`` (the fake's own answers that do not match the spec - fake bugs),
``error_logs`` (ERROR records of ``discord*``/``bot*``/``index*`` loggers),
``interactions`` (id -> :class:`~fakediscord.interactions.InteractionRecord`), ``gateway``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import discord
import yarl
from aiohttp import web

from . import rest_core, rest_interactions, rest_messages
from .actions import UserActions
from .gateway import RESUME_PATH, Gateway
from .interactions import InteractionEvent, InteractionRecord
from .logwatch import DEFAULT_PREFIXES, ErrorLogWatcher
from .openapi import DEFAULT_SPEC_PATH, OpenAPIValidator
from .payloads import MessageFlag
from .rest import API_PREFIX, RecordedRequest, RestFrontend, Router
from .world import World

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0
_active: FakeDiscord | None = None


class FakeDiscordTimeout(AssertionError):
    """A ``wait_*`` helper gave up; the message says what was awaited and what happened."""


class FakeDiscord(UserActions):
    """One fake Discord server; only one may run at a time (discord.py's URLs are global).

    Clients started with :meth:`start_client` are closed by :meth:`stop`; close clients you
    connected yourself before leaving, or they will try to reconnect to a dead server. One
    bot connection at a time per shard: a new IDENTIFY replaces the shard's previous session.
    """

    def __init__(
        self,
        *,
        spec_path: str | Path = DEFAULT_SPEC_PATH,
        callback_deadline: float | None = 3.0,
        heartbeat_interval_ms: int = 41250,
        log_prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
        fail_fast_on_error_logs: bool = True,
        recommended_shards: int = 1,
    ) -> None:
        """``callback_deadline``: seconds after which an interaction callback is refused with
        404 "Unknown interaction" (10062), like Discord's 3 s rule (None disables it).
        ``recommended_shards``: the shard count ``GET /gateway/bot`` recommends (what an
        ``AutoShardedClient`` without ``shard_count`` runs)."""
        self.token = "FAKE." + secrets.token_urlsafe(24)
        self.world = World()
        self.callback_deadline = callback_deadline
        self.recommended_shards = recommended_shards
        self.validator = OpenAPIValidator(spec_path)
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.response_violations: list[str] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.command_syncs: list[tuple[int | None, list[str]]] = []
        self.cdn_requests: list[str] = []  # paths of attachment downloads, in order
        self.fail_fast_on_error_logs = fail_fast_on_error_logs
        self._log_watch = ErrorLogWatcher(log_prefixes, on_record=lambda _: self.notify())
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._saved: tuple[str, yarl.URL] | None = None
        self._clients: list[tuple[discord.Client, asyncio.Task[None]]] = []
        self._drop_marker = 0
        self.port = 0
        self.gateway = Gateway(
            self.world,
            token=self.token,
            base_url=lambda: self.base_ws_url,
            notify=self.notify,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        router = Router()
        rest_core.register(router, self)
        rest_messages.register(router, self)
        rest_interactions.register(router, self)
        self._rest = RestFrontend(self, self.validator, router)
        # the cast (see World); tests may tweak these objects (e.g. role permissions)
        world = self.world
        self.guild = world.guild
        self.bot_user = world.bot_user
        self.application_id = world.application_id
        self.owner_user = world.owner_user
        self.admin_user = world.admin_user
        self.helper_user = world.helper_user
        self.regular_user = world.regular_user
        self.everyone_role = world.everyone_role
        self.admin_role = world.admin_role
        self.helper_role = world.helper_role
        self.bot_role = world.bot_role
        self.text_channel = world.text_channel
        self.other_channel = world.other_channel
        self.forum_channel = world.forum_channel
        self.channel_id = world.text_channel.id

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def error_logs(self) -> list[logging.LogRecord]:
        return self._log_watch.records

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        global _active  # noqa: PLW0603
        if _active is not None:
            raise RuntimeError("another FakeDiscord is running (discord.py's URLs are global)")
        self._loop = asyncio.get_running_loop()
        app = web.Application()
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get(RESUME_PATH, self.gateway.handle)
        app.router.add_get(RESUME_PATH.rstrip("/"), self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest.handle)
        app.router.add_route("*", "/{tail:.*}", self._not_api)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.base_url + API_PREFIX
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.base_ws_url + "/")
        self._log_watch.install()
        _active = self

    async def stop(self) -> None:
        global _active  # noqa: PLW0603
        try:
            for client, _ in list(self._clients):
                await self.stop_client(client)
            await self.gateway.close_all()
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            self._log_watch.uninstall()
            if self._saved is not None:
                discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                    self._saved
                )
                self._saved = None
            _active = None

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.cdn_requests.append(request.path)
        self.notify()
        key = (int(request.match_info["attachment_id"]), request.match_info["filename"])
        if key not in self.world.cdn:
            return web.Response(status=404)
        data, content_type = self.world.cdn[key]
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _not_api(self, request: web.Request) -> web.StreamResponse:
        self.violations.append(f"{request.method} {request.path}: not under {API_PREFIX}")
        self.notify()
        return web.Response(
            status=404,
            body=b'{"message": "Unknown route", "code": 0}',
            headers={"Content-Type": "application/json"},
        )

    # -- clients ------------------------------------------------------------------------------
    async def start_client(
        self, client: discord.Client, *, timeout: float = DEFAULT_TIMEOUT, fast_ready: bool = True
    ) -> asyncio.Task[None]:
        """``login`` + ``connect(reconnect=True)`` in a task, then wait until the client is
        ready. ``fast_ready`` shortens discord.py's ``guild_ready_timeout`` (2 s of waiting
        for more GUILD_CREATEs) to 0.05 s. The client is closed on ``stop()``."""
        self._check_loop()
        if fast_ready:
            client._connection.guild_ready_timeout = 0.05
        try:
            await asyncio.wait_for(client.login(self.token), timeout)
        except BaseException:
            await client.close()  # login opened an HTTP session
            raise
        task = asyncio.create_task(client.connect(reconnect=True), name="fakediscord-client")
        self._clients.append((client, task))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
            if task in done:
                await self.stop_client(client)
                task.result()  # raises the connect error
            raise FakeDiscordTimeout(f"client not ready after {timeout}s{self._context()}")
        return task

    async def stop_client(
        self, client: discord.Client, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Close a client started with :meth:`start_client` and wait for its task."""
        for entry in list(self._clients):
            if entry[0] is client:
                self._clients.remove(entry)
                await asyncio.wait_for(client.close(), timeout)
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(entry[1], timeout)
                return
        await client.close()

    # -- waiting ------------------------------------------------------------------------------
    def notify(self) -> None:
        self._changed.set()

    def _context(self) -> str:
        recent = [f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
        parts = []
        if recent:
            parts.append("last requests:\n" + "\n".join(recent))
        if self.violations:
            parts.append("violations:\n  " + "\n  ".join(self.violations[-5:]))
        if self.error_logs:
            parts.append("error logs:\n" + self._log_watch.formatted())
        return ("\n" + "\n".join(parts)) if parts else ""

    async def wait_for(
        self, check: Callable[[], T | None], what: str, timeout: float = DEFAULT_TIMEOUT
    ) -> T:
        """Wait until ``check()`` returns something other than None (re-checked on every
        request/event the fake sees, and every 20 ms for client-side state). Fails early if
        the bot logs an ERROR (``fail_fast_on_error_logs``)."""
        self._check_loop()
        deadline = time.monotonic() + timeout
        while True:
            self._changed.clear()
            result = check()
            if result is not None:
                return result
            if self.fail_fast_on_error_logs and self.error_logs:
                raise AssertionError(
                    f"the bot logged an error while waiting for {what}{self._context()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FakeDiscordTimeout(
                    f"timed out after {timeout}s waiting for {what}{self._context()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.02))

    async def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until a session got READY + GUILD_CREATE and is connected."""
        gw = self.gateway
        await self.wait_for(
            lambda: (
                True
                if gw.connection is not None
                and gw.current is not None
                and gw.current.valid
                and gw.ready_count
                else None
            ),
            "gateway READY",
            timeout,
        )

    async def wait_shards_ready(self, shard_count: int, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until every shard of ``shard_count`` has a connected, READY session (from any
        number of clients or processes)."""
        wanted = {(shard_id, shard_count) for shard_id in range(shard_count)}
        await self.wait_for(
            lambda: True if wanted <= self.gateway.live_shards() else None,
            f"shards 0-{shard_count - 1} of {shard_count} READY",
            timeout,
        )

    # -- gateway control ----------------------------------------------------------------------
    async def drop_gateway(self, code: int = 4000, *, abrupt: bool = False) -> None:
        """Close the bot's websocket (close frame with ``code``, or a TCP abort); discord.py
        reconnects to ``resume_gateway_url`` and RESUMEs."""
        self._drop_marker = self.gateway.resumed_count
        await self.gateway.close_connection(code, abrupt=abrupt)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; the client closes and RESUMEs."""
        self._drop_marker = self.gateway.resumed_count
        await self.gateway.send_op(7, None)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the client re-IDENTIFYs."""
        if not resumable and self.gateway.current is not None:
            self.gateway.current.valid = False
        self._drop_marker = self.gateway.resumed_count
        await self.gateway.send_op(9, resumable)

    async def wait_resumed(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for a RESUMED after the last drop/reconnect request."""
        await self.wait_for(
            lambda: (
                True
                if self.gateway.resumed_count > self._drop_marker
                and self.gateway.connection is not None
                else None
            ),
            "RESUMED",
            timeout,
        )

    # -- observing the bot --------------------------------------------------------------------
    def interaction_log(self, interaction_id: int) -> list[InteractionEvent]:
        """Ordered events of an interaction (``created``, ``callback``, ``followup``, ...)."""
        return list(self.interactions[interaction_id].events)

    async def wait_interaction_ack(
        self, interaction_id: int, timeout: float = DEFAULT_TIMEOUT
    ) -> InteractionEvent:
        """Wait for the (first successful) callback; ``event.time - log[0].time`` is the
        time-to-ack (e.g. time-to-defer)."""
        rec = self.interactions[interaction_id]
        return await self.wait_for(
            lambda: next((e for e in rec.events if e.kind == "callback" and e.status == 200), None),
            f"the callback of interaction {interaction_id}",
            timeout,
        )

    async def wait_interaction_final(
        self,
        interaction_id: int,
        timeout: float = DEFAULT_TIMEOUT,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The first message the interaction produced that carries an answer, as Discord
        stores it (``content``, ``embeds``, ``components``, ``flags`` - 64 if ephemeral,
        inherited from an ephemeral defer). Candidates in order: type-4/7 callback, followup,
        @original edit, followup edit; ``predicate`` (default: has content, embeds,
        attachments or components and is not a loading placeholder) picks the one you want."""
        rec = self.interactions[interaction_id]

        def default(message: dict[str, Any]) -> bool:
            return (
                bool(
                    message["content"]
                    or message["embeds"]
                    or message["attachments"]
                    or message["components"]
                )
                and not message["flags"] & MessageFlag.LOADING
            )

        accept = predicate or default

        def check() -> dict[str, Any] | None:
            for event in rec.events:
                if (
                    event.message is not None
                    and event.status == 200
                    and event.kind in ("callback", "followup", "edit_original", "edit_followup")
                    and accept(event.message)
                ):
                    return event.message
            return None

        return await self.wait_for(
            check, f"the final answer to interaction {interaction_id}", timeout
        )

    def bot_messages(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Non-ephemeral messages authored by the bot (channel sends and interaction
        responses), oldest first."""
        bot_id = str(self.world.bot_user.id)
        return [
            m
            for m in self.world.messages.values()
            if m["author"]["id"] == bot_id
            and not m["flags"] & MessageFlag.EPHEMERAL
            and not m["flags"] & MessageFlag.LOADING
            and (channel_id is None or m["channel_id"] == str(channel_id))
        ]

    async def wait_message(
        self,
        *,
        channel_id: int | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        after: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        """Wait for a bot message (see :meth:`bot_messages`) in ``channel_id`` with id >
        ``after`` (e.g. the id returned by :meth:`message`) matching ``predicate``."""

        def check() -> dict[str, Any] | None:
            for m in self.bot_messages(channel_id):
                if (after is None or int(m["id"]) > after) and (predicate is None or predicate(m)):
                    return m
            return None

        return await self.wait_for(check, f"a bot message in channel {channel_id}", timeout)

    def requests_for(
        self, method: str | None = None, template: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method and OpenAPI path template."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (template is None or r.template == template)
        ]

    def assert_no_violations(self) -> None:
        if self.violations:
            raise AssertionError(
                f"{len(self.violations)} Discord API violation(s):\n" + "\n".join(self.violations)
            )

    def assert_clean(self) -> None:
        """No API violations, no replies of the fake's that break the spec (a fake bug that
        could hide a bot bug) and no ERROR logs from the watched loggers."""
        self.assert_no_violations()
        if self.response_violations:
            raise AssertionError(
                f"{len(self.response_violations)} fake response(s) break the spec:\n"
                + "\n".join(self.response_violations)
            )
        self._log_watch.assert_none()
