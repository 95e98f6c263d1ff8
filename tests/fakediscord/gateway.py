"""The gateway websocket: HELLO/IDENTIFY/READY, heartbeats, dispatch with sequence numbers,
RESUME with replay, RECONNECT/INVALID_SESSION, zlib-stream transport compression, and shards.

Sharding: an IDENTIFY with ``shard: [shard_id, shard_count]`` opens a session for that shard
alone; its READY lists only the guilds with ``(guild_id >> 22) % shard_count == shard_id`` and
each guild's events go to the session of its shard. Without ``shard`` (or ``[0, 1]``) one
session gets everything, as before. A new IDENTIFY ends the earlier sessions of the same shard
and those with another shard count."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import Intent
from .world import World

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, RECONNECT = 0, 1, 2, 3, 4, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11
RESUME_PATH = "/resume-gateway/"


@dataclass
class Session:
    session_id: str
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for replay
    valid: bool = True
    shard: tuple[int, int] = (0, 1)  # (shard_id, shard_count) from IDENTIFY

    def covers(self, guild_id: int) -> bool:
        """Whether Discord sends this guild's events to this session's shard."""
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id


@dataclass
class ConnectionInfo:
    """One websocket connection, for assertions (``fake.gateway.connections``)."""

    path: str
    query: dict[str, str]
    opened: float
    op: str | None = None  # "identify" | "resume"
    closed: float | None = None
    close_code: int | None = None  # set when the *client* closed it
    server_close_code: int | None = None


class _Connection:
    def __init__(
        self, ws: web.WebSocketResponse, info: ConnectionInfo, transport: asyncio.Transport | None
    ) -> None:
        self.ws = ws
        self.info = info
        self.transport = transport
        self.session: Session | None = None
        compress = info.query.get("compress")
        # discord.py asks for zlib-stream (or zstd-stream if zstandard is installed); we
        # implement zlib-stream and answer anything else with plain text frames, which
        # discord.py accepts too (it only decompresses binary frames).
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except ConnectionError:
                pass


class Gateway:
    def __init__(
        self,
        world: World,
        *,
        token: str,
        base_url: Callable[[], str],
        notify: Callable[[], None],
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        self.world = world
        self.token = token
        self._base_url = base_url
        self._notify = notify
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None  # the most recently identified/resumed session
        self.connection: _Connection | None = None  # the most recently opened session's
        self._live: dict[str, _Connection] = {}  # session id -> its open connection
        self.connections: list[ConnectionInfo] = []
        self.received: list[dict[str, Any]] = []  # every client payload (token redacted)
        self.ready_count = 0
        self.resumed_count = 0
        self.heartbeats = 0
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- dispatch -----------------------------------------------------------------------------
    def intents(self) -> int:
        return self.current.intents if self.current is not None else 0

    def session_for(self, guild_id: int | str | None) -> Session | None:
        """The valid session that gets the events of ``guild_id`` (its shard's), or of no
        guild (the current session); None if there is none."""
        current = self.current
        if guild_id is None or (
            current is not None and current.valid and current.covers(int(guild_id))
        ):
            return current if current is not None and current.valid else None
        return next(
            (s for s in reversed(self.sessions.values()) if s.valid and s.covers(int(guild_id))),
            None,
        )

    def live_shards(self) -> set[tuple[int, int]]:
        """``(shard_id, shard_count)`` of the valid sessions that are connected and READY."""
        return {s.shard for sid, s in self.sessions.items() if s.valid and sid in self._live}

    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        intent: int = 0,
        session: Session | None = None,
    ) -> int | None:
        """Send a DISPATCH (buffered for RESUME while disconnected) on ``session``, by
        default the session of the shard of ``data["guild_id"]`` (the current session for
        events of no guild).

        Returns the sequence number, or None if the session's intents exclude the event.
        """
        session = session or self.session_for(data.get("guild_id"))
        if session is None or not session.valid:
            raise RuntimeError(f"cannot dispatch {event}: no identified gateway session")
        if intent and not session.intents & intent:
            return None
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        conn = self._live.get(session.session_id)
        if conn is not None:
            await conn.send(payload)
        self._notify()
        return session.seq

    # -- control ------------------------------------------------------------------------------
    async def close_connection(self, code: int = 4000, *, abrupt: bool = False) -> None:
        conn = self.connection
        if conn is None:
            raise RuntimeError("no gateway connection to drop")
        self.connection = None
        self._forget(conn)
        conn.info.server_close_code = code
        if abrupt:
            if conn.transport is not None:
                conn.transport.abort()
        else:
            await conn.ws.close(code=code, message=b"fakediscord: dropped by test")
        self._notify()

    async def send_op(self, op: int, data: Any) -> None:
        if self.connection is None:
            raise RuntimeError("no gateway connection")
        await self.connection.send({"op": op, "d": data, "s": None, "t": None})

    async def close_all(self) -> None:
        for conn_task in list(self._handlers):
            conn_task.cancel()
        for conn in {*self._live.values(), *filter(None, [self.connection])}:
            await conn.ws.close(code=1001)
        self._live.clear()
        self.connection = None

    def _forget(self, conn: _Connection) -> None:
        if conn.session is not None and self._live.get(conn.session.session_id) is conn:
            del self._live[conn.session.session_id]

    # -- websocket handler ----------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        info = ConnectionInfo(request.path, dict(request.query), time.monotonic())
        self.connections.append(info)
        conn = _Connection(ws, info, request.transport)  # type: ignore[arg-type]
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(conn)
        finally:
            if task is not None:
                self._handlers.discard(task)
            info.closed = time.monotonic()
            info.close_code = ws.close_code if info.server_close_code is None else None
            if self.connection is conn:
                self.connection = None
            self._forget(conn)
            # Closing with 1000/1001 ends the session; anything else keeps it resumable.
            if (
                conn.session is not None
                and ws.close_code in (1000, 1001)
                and info.server_close_code is None
            ):
                conn.session.valid = False
            self._notify()
        return ws

    async def _serve(self, conn: _Connection) -> None:
        query = conn.info.query
        if query.get("encoding", "json") != "json":
            await conn.ws.close(code=4002, message=b"only encoding=json is supported")
            return
        if query.get("v") != "10":
            await conn.ws.close(code=4012, message=b"Invalid API version")
            return
        await conn.send(
            {
                "op": HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                "s": None,
                "t": None,
            }
        )
        async for msg in conn.ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await conn.ws.close(code=4002, message=b"send JSON text frames")
                break
            try:
                payload = json.loads(msg.data)
            except ValueError:
                await conn.ws.close(code=4002, message=b"Error while decoding payload")
                break
            await self._on_payload(conn, payload)

    async def _on_payload(self, conn: _Connection, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        recorded = json.loads(json.dumps(payload))
        if isinstance(recorded.get("d"), dict) and "token" in recorded["d"]:
            recorded["d"]["token"] = "<redacted>"
        self.received.append(recorded)
        if op == HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            await self._resume(conn, data)
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated")
        elif op == REQUEST_MEMBERS:
            await self._request_members(conn.session, data)
        elif op in (PRESENCE, VOICE):
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode")

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated")
            return
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await conn.ws.close(code=4013, message=b"Invalid intent(s)")
            return
        if intents & Intent.PRIVILEGED & ~self.world.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s)")
            return
        shard = data.get("shard", [0, 1])
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(type(n) is int for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            await conn.ws.close(code=4010, message=b"Invalid shard")
            return
        conn.info.op = "identify"
        identify = {k: v for k, v in data.items() if k != "token"}
        session = Session(secrets.token_hex(16), intents, identify, shard=(shard[0], shard[1]))
        for old in self.sessions.values():  # one session per shard, one shard count
            if old.shard == session.shard or old.shard[1] != session.shard[1]:
                old.valid = False
        self.sessions[session.session_id] = session
        self.current = session
        conn.session = session
        self.connection = conn
        self._live[session.session_id] = conn
        world = self.world
        guilds = [g for g in world.guilds.values() if session.covers(g.id)]
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": {
                    **world.bot_user.to_json(),
                    "verified": True,
                    "mfa_enabled": False,
                    "email": None,
                    "locale": "en-US",
                },
                "user_settings": {},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "presences": [],
                "private_channels": [],
                "relationships": [],
                "guild_join_requests": [],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self._base_url() + RESUME_PATH.rstrip("/"),
                "shard": shard,
                "application": {"id": str(world.application_id), "flags": world.application_flags},
                "geo_ordered_rtc_regions": ["us-east"],
                "auth_session_id_hash": secrets.token_hex(8),
                "_trace": ['["fakediscord",{"micros":0}]'],
            },
            session=session,
        )
        for guild in guilds:
            await self.dispatch(
                "GUILD_CREATE",
                guild.gateway_json(
                    include_all_members=bool(intents & Intent.GUILD_MEMBERS),
                    bot_id=world.bot_user.id,
                ),
                session=session,
            )
        self.ready_count += 1
        self._notify()

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed")
            return
        seq = data.get("seq")
        if session is None or not session.valid or not isinstance(seq, int) or seq > session.seq:
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        conn.info.op = "resume"
        conn.session = session
        self.current = session
        self.connection = conn
        self._live[session.session_id] = conn
        for event in session.events:
            if event["s"] > seq:
                await conn.send(event)
        await self.dispatch(
            "RESUMED", {"_trace": ['["fakediscord",{"micros":0}]']}, session=session
        )
        self.resumed_count += 1
        self._notify()

    async def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or not session.covers(guild.id):
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
        elif data.get("query"):
            members = [m for m in members if m.username.startswith(data["query"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.member_json(guild=guild) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, session=session)
