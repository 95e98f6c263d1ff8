"""The ``askdocs`` command line and its terminal/JSON renderings."""
