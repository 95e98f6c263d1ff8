"""The Discord bot: ``AskdocsBot``, its entry points, cogs, and the plain, tested logic they use.

Named ``discord_app`` so that it can never shadow the ``discord`` package."""
