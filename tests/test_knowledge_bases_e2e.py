"""End-to-end per-server knowledge bases: each Discord server is answered from the shared
documents and its own, lists its own, and /docs add in one server never reaches another."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from bot_fixtures import DOC, TIMEOUT, BotFactory
from fakediscord import FakeDiscord

from index.engine import Engine

pytestmark = pytest.mark.e2e

SECRET_DOC = "alpha-vault.md"
SECRET_TEXT = (
    "# Alpha guild handbook\n\nThe Alpha guild's vault code is 4417 and the vault sits under "
    "the old lighthouse on Marrow Point, opened only on Sundays.\n"
)
SECRET_QUESTION = "What is the vault code of the Alpha guild?"
NEW_DOC = "beta-inn.md"
NEW_TEXT = (
    b"# Beta guild handbook\n\nThe Beta guild keeps its treasure chest in the cellar of the "
    b"Copperkettle inn in Dunmore, guarded by a parrot named Biscuit.\n"
)
NEW_QUESTION = "Where does the Beta guild keep its treasure chest?"
SHARED_QUESTION = "When did the Hanoi summit break down?"


async def ask(fake: FakeDiscord, question: str, channel: Any) -> dict[str, Any]:
    iid = await fake.slash_command("ask", {"question": question}, channel=channel)
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT)


def quoted(reply: dict[str, Any]) -> str:
    return " ".join(
        [e.get("description", "") for e in reply["embeds"]]
        + [f["value"] for e in reply["embeds"] for f in e.get("fields", [])]
    )


async def test_each_server_sees_the_shared_documents_and_only_its_own(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    alpha_channel = fake.text_channel
    beta = fake.world.add_guild("Beta Guild")
    beta_channel = beta.channel_named("general")
    servers = tmp_path / "servers"
    (servers / str(fake.guild.id)).mkdir(parents=True)
    (servers / str(fake.guild.id) / SECRET_DOC).write_text(SECRET_TEXT, encoding="utf-8")
    engine.config = dataclasses.replace(engine.config, server_docs_dir=servers)
    engine.open(refresh=False)  # builds the Alpha guild's own index
    await start_bot(server_docs=servers, admin_user_ids=[fake.owner_user.id])

    answer = quoted(await ask(fake, SECRET_QUESTION, alpha_channel))
    assert "4417" in answer and SECRET_DOC in answer
    for question in (SECRET_QUESTION, "vault lighthouse Marrow Point Sundays"):
        assert "4417" not in quoted(await ask(fake, question, beta_channel))
    assert "Hanoi" in quoted(await ask(fake, SHARED_QUESTION, beta_channel))  # shared: both

    iid = await fake.slash_command(
        "docs",
        {"file": (NEW_DOC, NEW_TEXT, "text/markdown")},
        subcommand="add",
        user=fake.owner_user,
        channel=beta_channel,
    )
    report = await fake.wait_interaction_final(
        iid, timeout=TIMEOUT, predicate=lambda m: bool(m["embeds"])
    )
    assert "added" in report["embeds"][0]["title"]
    assert (servers / str(beta.id) / NEW_DOC).read_bytes() == NEW_TEXT
    assert not (engine.config.docs_dir / NEW_DOC).exists()  # not in the shared documents
    assert "Copperkettle" in quoted(await ask(fake, NEW_QUESTION, beta_channel))
    assert "Copperkettle" not in quoted(await ask(fake, NEW_QUESTION, alpha_channel))

    iid = await fake.slash_command("sources", channel=beta_channel)
    listed = quoted(await fake.wait_interaction_final(iid, timeout=TIMEOUT))
    assert NEW_DOC in listed and DOC in listed and SECRET_DOC not in listed
    fake.assert_no_violations()
