"""askdocs front ends: ``terminal`` (the command line), ``discord_app`` (the Discord bot) and
``shared`` (what both use: settings, feedback votes, citations)."""
