"""End-to-end tests of the fake Discord with the real discord.py client and a throwaway bot."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import discord
import external
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands
from fakediscord import FakeDiscord, MessageFlag, OpenAPIValidator, RequestCheck

TIMEOUT = 10.0

pytestmark = pytest.mark.e2e

# the reusable fixtures, as tests/conftest.py would import them


# -- a tiny throwaway bot -------------------------------------------------------------------------
class HelpfulView(discord.ui.View):
    """Persistent: no timeout, fixed custom_ids."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Helpful", custom_id="feedback:helpful", style=discord.ButtonStyle.success
    )
    async def helpful(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message(f"thanks {interaction.user.name}", ephemeral=True)

    @discord.ui.button(label="Later", custom_id="feedback:later")
    async def later(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()  # type 6: deferred update of the panel
        await interaction.edit_original_response(content="ask me later")

    @discord.ui.button(label="Dismiss", custom_id="feedback:dismiss")
    async def dismiss(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="dismissed", view=None)  # type 7


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    comment: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Comment", custom_id="c")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got: {self.comment.value}", ephemeral=True)


class TinyBot(commands.Bot):
    def __init__(
        self,
        *,
        message_content: bool = False,
        persistent: bool = False,
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=allowed_mentions,
        )
        self.persistent = persistent
        self.seen: list[discord.Message] = []
        self.add_tree_commands()

    async def setup_hook(self) -> None:
        if self.persistent:
            self.add_view(HelpfulView())

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; not in tests."""

    def add_tree_commands(self) -> None:
        tree = self.tree

        @tree.command(name="ask", description="Ask the docs")
        @app_commands.describe(question="What do you want to know?")
        async def ask(interaction: discord.Interaction, question: str, top_k: int = 3) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)  # "retrieval"
            embed = discord.Embed(
                title="Answer", description=f"You asked: {question}", colour=0x2ECC71
            )
            embed.add_field(name="top_k", value=str(top_k)).set_footer(text="fakediscord")
            await interaction.followup.send(embed=embed)

        @tree.command(name="secret", description="Ephemeral answer")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("only you can see this", ephemeral=True)

        @tree.command(name="private_ask", description="Ephemeral deferred answer")
        async def private_ask(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="quiet answer")

        @tree.command(name="panel", description="Post a feedback panel")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Was this helpful?", view=HelpfulView())

        @tree.command(name="export", description="Answer with a file")
        async def export(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send(
                "see attached", file=discord.File(io.BytesIO(b"answer text"), "answer.txt")
            )
            original = await interaction.original_response()  # GET @original
            data = await original.attachments[0].read()  # from the fake CDN
            await interaction.followup.send(f"read {len(data)} bytes", ephemeral=True)

        @tree.command(name="ingest", description="Upload a document")
        async def ingest(interaction: discord.Interaction, document: discord.Attachment) -> None:
            data = await document.read()
            await interaction.response.send_message(f"{document.filename}: {len(data)} bytes")

        @tree.command(name="temp", description="Say something, then delete it")
        async def temp(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("temporary")
            await interaction.delete_original_response()

        docs = app_commands.Group(name="docs", description="Docs admin")

        @docs.command(name="whois", description="Describe a member")
        async def whois(interaction: discord.Interaction, member: discord.Member) -> None:
            roles = ",".join(r.name for r in member.roles if not r.is_default())
            await interaction.response.send_message(f"{member.display_name} roles={roles}")

        @docs.command(name="reindex", description="Admins only")
        @app_commands.checks.has_permissions(manage_guild=True)
        async def reindex(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("reindexing")

        @reindex.error
        async def reindex_error(
            interaction: discord.Interaction, error: app_commands.AppCommandError
        ) -> None:
            if isinstance(error, app_commands.MissingPermissions):
                await interaction.response.send_message("You need Manage Server", ephemeral=True)

        tree.add_command(docs)

        @tree.command(name="feedback", description="Open a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(name="slow", description="Too slow to acknowledge")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.4)
            await interaction.response.send_message("late")

        @tree.command(name="post", description="Create a forum post")
        async def post(interaction: discord.Interaction) -> None:
            assert interaction.guild is not None
            forum = next(
                c for c in interaction.guild.channels if isinstance(c, discord.ForumChannel)
            )
            tag = discord.utils.get(forum.available_tags, name="question")
            await forum.create_thread(
                name="Bot post", content="hello forum", applied_tags=[tag] if tag else []
            )
            await interaction.response.send_message("posted", ephemeral=True)

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            return
        self.seen.append(message)
        if self.user is not None and self.user in message.mentions:
            async with message.channel.typing():
                await message.add_reaction("👍")
                if "thread" in message.content:
                    thread = await message.create_thread(name="Discussion")
                    await thread.send("Let's talk here")
                else:
                    await message.reply(f"Hello {message.author.display_name}!")

    async def on_thread_create(self, thread: discord.Thread) -> None:
        if isinstance(thread.parent, discord.ForumChannel) and thread.owner_id != self.user.id:  # type: ignore[union-attr]
            await thread.send("Thanks for posting!")


# -- fixtures -------------------------------------------------------------------------------------
@pytest_asyncio.fixture(loop_scope="function", autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    """Set up before (so torn down after) fake_discord: no task or keep-alive thread survives."""
    yield
    for _ in range(20):
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not others:
            break
        await asyncio.sleep(0.01)
    assert not others, f"leaked tasks: {others}"
    for thread in threading.enumerate():
        if isinstance(thread, discord.gateway.KeepAliveHandler):
            thread.join(timeout=2)
            assert not thread.is_alive(), "leaked keep-alive thread"


@pytest_asyncio.fixture(loop_scope="function")
async def fake(fake_discord: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    """fake_discord, plus: the fake's own answers must match the spec's response schemas."""
    yield fake_discord
    assert not fake_discord.response_violations, "\n".join(fake_discord.response_violations)


async def started(fake: FakeDiscord, **kwargs: Any) -> TinyBot:
    bot = TinyBot(**kwargs)
    await fake.start_client(bot)
    return bot


# -- the OpenAPI validator on its own -------------------------------------------------------------
def test_vendored_spec_is_the_pinned_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy used without ../shared/ is intact (and the same as ../shared/'s when present);
    an altered copy fails loudly instead of validating against something else."""
    data = external.read_openapi_spec(external.VENDORED_SPEC)
    assert json.loads(data)["openapi"].startswith("3.1")
    shared = external.SHARED / "discord-api-spec" / "openapi.json"
    if shared.is_file():
        assert data == shared.read_bytes()
    monkeypatch.setattr(external, "SPEC_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="pinned sha256"):
        external.read_openapi_spec(external.VENDORED_SPEC)


def test_validator_reports_bad_bodies_and_unknown_routes() -> None:
    v = OpenAPIValidator()
    auth = {"Authorization": "Bot x"}

    def check(method: str, path: str, body: Any = None, **kw: Any) -> list[str]:
        present = body is not None
        return v.check_request(
            RequestCheck(
                method=method,
                path=path,
                headers=kw.pop("headers", auth),
                body=body,
                body_present=present,
                content_type=kw.pop("ct", "application/json" if present else None),
                **kw,
            )
        ).problems

    ok_body = {
        "content": None,
        "embeds": [{"title": "t", "fields": [{"name": "a", "value": "b"}]}],
        "allowed_mentions": {"parse": []},
        "message_reference": {"message_id": 123, "channel_id": "456"},  # int snowflake
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "y"}]}
        ],
    }
    assert check("POST", "/channels/1/messages", ok_body) == []
    assert (
        check(
            "POST",
            "/interactions/1/tok/callback",
            {"type": 5},
            query={"with_response": "1"},
            headers={},
        )
        == []
    )

    assert any("content" in p for p in check("POST", "/channels/1/messages", {"content": 5}))
    assert any(
        "too long" in p
        for p in check("POST", "/channels/1/messages", {"embeds": [{"title": "x" * 300}]})
    )
    assert check("POST", "/interactions/1/tok/callback", {"type": 42}, headers={})
    assert any("no such route" in p for p in check("GET", "/nope/1"))
    assert any("method not allowed" in p for p in check("DELETE", "/gateway/bot"))
    assert any("path parameter" in p for p in check("GET", "/users/not-a-snowflake"))
    assert any("Authorization" in p for p in check("GET", "/users/@me", headers={}))
    assert any("undeclared query" in p for p in check("GET", "/users/@me", query={"x": "1"}))
    assert any(
        "missing required request body" in p for p in check("PUT", "/applications/1/commands")
    )
    assert any("takes no request body" in p for p in check("POST", "/channels/1/typing", {}))
    assert any(
        "not accepted" in p
        for p in check(
            "POST", "/channels/1/messages/2/threads", {"name": "t"}, ct="multipart/form-data"
        )
    )
    assert v.match_path("/users/@me").template == "/users/@me"  # type: ignore[union-attr]
    assert v.match_path("/webhooks/1/t/messages/@original").template.endswith("@original")  # type: ignore[union-attr]


# -- slash commands -------------------------------------------------------------------------------
async def test_slash_command_defer_then_followup_embed(fake: FakeDiscord) -> None:
    await started(fake)
    iid = await fake.slash_command(
        "ask", {"question": "What is RAG?", "top_k": 5}, user=fake.admin_user
    )
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["embeds"][0]["title"] == "Answer"
    assert final["embeds"][0]["description"] == "You asked: What is RAG?"
    assert final["embeds"][0]["fields"][0]["value"] == "5"
    assert final["type"] == 20 and not final["flags"] & MessageFlag.EPHEMERAL
    log = fake.interaction_log(iid)
    assert [e.kind for e in log] == ["created", "callback", "followup"]
    assert log[1].payload["type"] == 5
    assert log[1].time - log[0].time < 1.0  # time-to-defer
    assert log[2].time >= log[1].time
    event = fake.interactions[iid].payload
    assert event["data"]["options"] == [
        {"name": "question", "type": 3, "value": "What is RAG?"},
        {"name": "top_k", "type": 4, "value": 5},
    ]
    assert event["member"]["permissions"] != "0"
    # the followup replaced the "thinking..." placeholder: one message, not two
    assert len(fake.bot_messages(fake.channel_id)) == 1


async def test_subcommands_member_options_and_permissions(fake: FakeDiscord) -> None:
    await started(fake)
    iid = await fake.slash_command("docs", {"member": fake.admin_user}, subcommand="whois")
    assert (await fake.wait_interaction_final(iid))["content"] == "Alice roles=Admin"
    options = fake.interactions[iid].payload["data"]["options"]
    assert options[0]["type"] == 1 and options[0]["options"][0]["type"] == 6
    denied = await fake.slash_command("docs", subcommand="reindex", user=fake.regular_user)
    assert (await fake.wait_interaction_final(denied))["content"] == "You need Manage Server"
    allowed = await fake.slash_command("docs", subcommand="reindex", user=fake.admin_user)
    assert (await fake.wait_interaction_final(allowed))["content"] == "reindexing"


async def test_slash_command_ephemeral(fake: FakeDiscord) -> None:
    await started(fake)
    iid = await fake.slash_command("secret")
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["content"] == "only you can see this"
    assert final["flags"] & MessageFlag.EPHEMERAL
    callback = fake.interaction_log(iid)[1].payload
    assert callback["type"] == 4 and callback["data"]["flags"] & MessageFlag.EPHEMERAL

    iid = await fake.slash_command("private_ask")
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["content"] == "quiet answer"
    assert final["flags"] & MessageFlag.EPHEMERAL  # inherited from the ephemeral defer
    assert [e.kind for e in fake.interaction_log(iid)] == ["created", "callback", "edit_original"]
    assert fake.bot_messages() == []  # ephemeral messages are not in the channel


async def test_multipart_followup_original_and_delete(fake: FakeDiscord) -> None:
    await started(fake)
    iid = await fake.slash_command("export")
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["content"] == "see attached"
    assert final["attachments"][0]["filename"] == "answer.txt"
    assert final["attachments"][0]["size"] == len(b"answer text")
    receipt = await fake.wait_interaction_final(
        iid, predicate=lambda m: m["content"].startswith("read"), timeout=TIMEOUT
    )
    assert receipt["content"] == "read 11 bytes" and receipt["flags"] & MessageFlag.EPHEMERAL
    upload = fake.requests_for("POST", "/webhooks/{webhook_id}/{webhook_token}")[0]
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert upload.json["content"] == "see attached"  # the validated payload_json
    assert upload.files == ["files[0]=answer.txt (11 bytes)"]
    kinds = [e.kind for e in fake.interaction_log(iid)]
    assert kinds == ["created", "callback", "followup", "get_original", "followup"]

    document = ("guide.md", b"# Guide", "text/markdown")
    iid = await fake.slash_command("ingest", {"document": document})
    ingested = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert ingested["content"] == "guide.md: 7 bytes"
    assert fake.interactions[iid].payload["data"]["options"][0]["type"] == 11

    iid = await fake.slash_command("temp")
    await fake.wait_for(
        lambda: (
            True if any(e.kind == "delete_original" for e in fake.interaction_log(iid)) else None
        ),
        "delete",
    )
    assert fake.bot_messages() == [final, ingested]  # "temporary" is gone


async def test_slow_ack_hits_the_3s_rule_and_error_logs_fail_fast(fake: FakeDiscord) -> None:
    fake.callback_deadline = 0.2
    await started(fake)
    iid = await fake.slash_command("slow")
    with pytest.raises(AssertionError, match="logged an error"):
        await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert fake.interaction_log(iid)[-1].status == 404
    assert "Unknown interaction" in fake.error_logs[0].getMessage() + str(
        fake.error_logs[0].exc_info
    )
    fake.error_logs.clear()  # expected in this test


async def test_modal_roundtrip(fake: FakeDiscord) -> None:
    await started(fake)
    iid = await fake.slash_command("feedback")
    submit = await fake.submit_modal(iid, {"c": "great docs"})
    final = await fake.wait_interaction_final(submit, timeout=TIMEOUT)
    assert final["content"] == "got: great docs"


# -- messages, intents, threads -------------------------------------------------------------------
async def test_mention_reply_and_content_intent(fake: FakeDiscord) -> None:
    bot = await started(fake, message_content=False)
    plain = await fake.message("no mention here")
    mid = await fake.message(f"{fake.bot_user.mention} hi there", author=fake.regular_user)
    reply = await fake.wait_message(channel_id=fake.channel_id, after=mid, timeout=TIMEOUT)
    assert reply["content"] == "Hello Rita!"
    assert reply["type"] == 19 and reply["message_reference"]["message_id"] == str(mid)
    assert [int(m["id"]) for m in reply["mentions"]] == [fake.regular_user.id]
    seen = {m.id: m.content for m in bot.seen}
    assert seen[plain] == ""  # no MESSAGE_CONTENT intent: content withheld...
    assert seen[mid] == f"<@{fake.bot_user.id}> hi there"  # ...unless the bot is mentioned
    kinds = [(r.method, r.template) for r in fake.requests]
    assert ("POST", "/channels/{channel_id}/typing") in kinds
    assert (
        "PUT",
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
    ) in kinds
    assert fake.world.messages[mid]["reactions"][0]["emoji"]["name"] == "👍"


async def test_content_intent_delivers_content(fake: FakeDiscord) -> None:
    bot = await started(fake, message_content=True)
    mid = await fake.message("plain text", channel=fake.other_channel)
    await fake.wait_for(lambda: True if bot.seen else None, "on_message")
    assert bot.seen[0].id == mid and bot.seen[0].content == "plain text"
    assert bot.seen[0].channel.id == fake.other_channel.id


async def test_threads_and_forum_posts(fake: FakeDiscord) -> None:
    await started(fake)
    mid = await fake.message(f"{fake.bot_user.mention} open a thread please")
    in_thread = await fake.wait_message(channel_id=mid, timeout=TIMEOUT)  # thread id == mid
    assert in_thread["content"] == "Let's talk here"
    assert fake.world.channel(mid).parent_id == fake.channel_id  # type: ignore[union-attr]

    thread_id = await fake.forum_post("How do I install?", "pip fails", tags=["question"])
    welcome = await fake.wait_message(channel_id=thread_id, timeout=TIMEOUT)
    assert welcome["content"] == "Thanks for posting!"

    iid = await fake.slash_command("post")
    await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    post = next(c for c in fake.guild.threads() if c.name == "Bot post")
    assert post.parent_id == fake.forum_channel.id and post.applied_tags
    assert fake.world.messages[post.id]["content"] == "hello forum"


async def test_allowed_mentions_none_reaches_the_wire(fake: FakeDiscord) -> None:
    await started(fake, allowed_mentions=discord.AllowedMentions.none())
    mid = await fake.message(f"{fake.bot_user.mention} hello")
    reply = await fake.wait_message(after=mid, timeout=TIMEOUT)
    sent = fake.requests_for("POST", "/channels/{channel_id}/messages")
    assert sent[0].json["allowed_mentions"] == {"parse": []}
    assert reply["mentions"] == []  # nobody pinged, not even the replied-to user
    iid = await fake.slash_command("secret")
    await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    callback = fake.interaction_log(iid)[1].payload
    assert callback["data"]["allowed_mentions"] == {"parse": []}


# -- components -----------------------------------------------------------------------------------
async def test_persistent_view_survives_a_restart(fake: FakeDiscord) -> None:
    first = await started(fake)
    iid = await fake.slash_command("panel")
    panel = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert panel["components"][0]["components"][0]["custom_id"] == "feedback:helpful"
    await fake.stop_client(first)

    await started(fake, persistent=True)  # a fresh process: only add_view in setup_hook
    click = await fake.click_button(int(panel["id"]), "feedback:helpful", user=fake.helper_user)
    final = await fake.wait_interaction_final(click, timeout=TIMEOUT)
    assert final["content"] == "thanks helper_hank"
    assert final["flags"] & MessageFlag.EPHEMERAL
    assert fake.interactions[click].payload["message"]["id"] == panel["id"]


async def test_component_deferred_update_and_update_message(fake: FakeDiscord) -> None:
    await started(fake)
    panel = await fake.wait_interaction_final(await fake.slash_command("panel"))
    later = await fake.click_button(int(panel["id"]), "feedback:later")
    edited = await fake.wait_interaction_final(later, timeout=TIMEOUT)
    assert edited["id"] == panel["id"] and edited["content"] == "ask me later"
    log = fake.interaction_log(later)
    assert [e.kind for e in log] == ["created", "callback", "edit_original"]
    assert log[1].payload == {"type": 6} and log[2].payload["content"] == "ask me later"
    dismiss = await fake.click_button(int(panel["id"]), "feedback:dismiss")
    final = await fake.wait_interaction_final(dismiss, timeout=TIMEOUT)
    assert final["id"] == panel["id"] and final["content"] == "dismissed"
    assert final["components"] == []
    assert fake.interaction_log(dismiss)[1].payload["type"] == 7
    with pytest.raises(ValueError, match="no component"):
        await fake.click_button(int(panel["id"]), "feedback:dismiss")


# -- command sync ---------------------------------------------------------------------------------
async def test_tree_sync_guild_and_global(fake: FakeDiscord) -> None:
    bot = await started(fake)
    guild = discord.Object(fake.guild.id)
    bot.tree.copy_global_to(guild=guild)
    guild_synced = await bot.tree.sync(guild=guild)
    global_synced = await bot.tree.sync()
    names = sorted(c.name for c in global_synced)
    assert (
        names
        == sorted(c.name for c in guild_synced)
        == sorted(c.name for c in bot.tree.get_commands())
    )
    assert {guild_id for guild_id, _ in fake.command_syncs} == {fake.guild.id, None}
    again = await bot.tree.sync()  # ids are stable across bulk overwrites
    assert {c.id for c in again} == {c.id for c in global_synced}
    fetched = await bot.tree.fetch_commands(guild=guild)
    assert {c.name for c in fetched} == set(names)

    iid = await fake.slash_command("ask", {"question": "synced?"})
    data = fake.interactions[iid].payload["data"]
    assert data["guild_id"] == str(fake.guild.id)  # registered as a guild command
    assert data["id"] == str(next(c.id for c in guild_synced if c.name == "ask"))
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["embeds"][0]["description"] == "You asked: synced?"
    puts = fake.requests_for("PUT")
    assert [r.template for r in puts] == [
        "/applications/{application_id}/guilds/{guild_id}/commands",
        "/applications/{application_id}/commands",
        "/applications/{application_id}/commands",
    ]
    assert all(not r.violations for r in puts)


# -- gateway --------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["close-4000", "tcp-abort", "op7-reconnect"])
async def test_gateway_drop_resume_and_replay(fake: FakeDiscord, how: str) -> None:
    bot = await started(fake, message_content=True)
    session = fake.gateway.current
    assert session is not None
    if how == "op7-reconnect":
        await fake.request_reconnect()
    else:
        await fake.drop_gateway(4000, abrupt=how == "tcp-abort")
    missed = await fake.message("sent while the bot was disconnected")  # buffered
    await fake.wait_resumed(timeout=TIMEOUT)
    resume = [p for p in fake.gateway.received if p["op"] == 6][-1]["d"]
    assert resume["session_id"] == session.session_id and resume["seq"] >= 2
    assert fake.gateway.connections[-1].path.startswith("/resume-gateway")
    assert fake.gateway.connections[-1].op == "resume"
    await fake.wait_for(
        lambda: True if any(m.id == missed for m in bot.seen) else None,
        "the replayed MESSAGE_CREATE",
    )
    iid = await fake.slash_command("ask", {"question": "still there?"})
    final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
    assert final["embeds"][0]["description"] == "You asked: still there?"
    assert fake.gateway.ready_count == 1  # resumed, never re-identified


async def test_invalid_session_reidentifies(fake: FakeDiscord) -> None:
    await started(fake)
    await fake.invalidate_session(resumable=False)
    await fake.wait_for(lambda: True if fake.gateway.ready_count == 2 else None, "new READY")
    await fake.wait_ready()
    iid = await fake.slash_command("secret")
    assert (await fake.wait_interaction_final(iid, timeout=TIMEOUT))["content"]


async def test_zlib_stream_is_used(fake: FakeDiscord) -> None:
    bot = await started(fake)
    assert fake.gateway.connections[0].query == {
        "v": "10",
        "encoding": "json",
        "compress": "zlib-stream",
    }
    identify = next(p for p in fake.gateway.received if p["op"] == 2)["d"]
    assert identify["intents"] == discord.Intents.default().value
    assert identify["token"] == "<redacted>"
    assert fake.gateway.heartbeats >= 1  # discord.py beats right after HELLO; we ACK
    _, url, _ = await bot.http.get_bot_gateway()
    assert url == fake.base_ws_url
    assert all(fake.token not in str(r.headers) for r in fake.requests)


# -- auth and validation --------------------------------------------------------------------------
async def test_bad_token_raises_login_failure(fake: FakeDiscord) -> None:
    bot = TinyBot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()
    assert fake.requests[-1].status == 401
    assert fake.requests[-1].headers["Authorization"] == "<invalid token>"


async def test_disallowed_privileged_intent(fake: FakeDiscord) -> None:
    fake.world.privileged_intents = 0  # "message content intent" off in the portal
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await fake.start_client(TinyBot(message_content=True))


async def test_spec_violations_are_detected(fake: FakeDiscord) -> None:
    bot = await started(fake)
    route = discord.http.Route(
        "POST", "/channels/{channel_id}/messages", channel_id=fake.channel_id
    )
    with pytest.raises(discord.HTTPException) as bad_body:
        await bot.http.request(route, json={"content": 123, "embeds": "nope"})
    assert bad_body.value.status == 400 and bad_body.value.code == 50035
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/definitely/not/discord"))
    with pytest.raises(AssertionError, match="request body"):
        fake.assert_no_violations()
    assert any("no such route" in v for v in fake.violations)
    fake.violations.clear()  # expected in this test
