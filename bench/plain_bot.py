"""The plain pipeline issue 7 measures askdocs against: a bare discord.py bot whose ``/ask``
defers and posts an answer-like embed (a quoted passage with a bold sentence, a source, a
confidence and two "also relevant" fields, plus 👍/👎 buttons) — no search, no engine, no
logging, no cooldown. Run on the same fake Discord as askdocs, it shows what discord.py and
the fake cost by themselves."""

from __future__ import annotations

import discord
from discord import app_commands

PASSAGE = (
    "> Kim Jong Un, the leader of North Korea, is set to meet Russian President Vladimir "
    "Putin. **The meeting follows the breakdown of the Hanoi summit in February 2019.** "
    "Both leaders are expected to discuss economic cooperation and regional security."
)
SNIPPET = (
    "Russia shares a border with North Korea, and the two countries have a complex history "
    "dating back to the Cold War era."
)


class _Buttons(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.add_item(discord.ui.Button(emoji="👍", custom_id="plain:up"))
        self.add_item(discord.ui.Button(emoji="👎", custom_id="plain:down"))


def plain_embed(question: str) -> discord.Embed:
    embed = discord.Embed(title=f"❓ {question}", colour=0x2ECC71, description=PASSAGE)
    embed.add_field(name="Source", value="article.txt › The Timing", inline=True)
    embed.add_field(name="Confidence", value="🟢 High confidence (0.93)", inline=True)
    for section in ("Regional Dynamics", "Background"):
        embed.add_field(name=f"Also relevant · article.txt › {section}", value=SNIPPET)
    embed.set_footer(text="quotes from your documents · was this helpful?")
    return embed


class PlainBot(discord.Client):
    """``/ask question:`` → defer, then edit the deferred response with the embed."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default())
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ask", description="Ask a question.")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            view = _Buttons()
            await interaction.edit_original_response(embed=plain_embed(question), view=view)
            view.stop()
