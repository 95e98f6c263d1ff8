"""How a passage is cited, in the terminal and on Discord alike."""

from __future__ import annotations

from collections.abc import Mapping

from index.models import Passage

HEADING_SEPARATOR = " › "


def shown_name(source: str) -> str:
    """A document name safe to show on one line: control characters (a newline in a file
    name, an escape sequence) written as ``\\n``-style escapes, backticks as quotes."""
    if source.isprintable() and "`" not in source:
        return source
    escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in source)
    return escaped.replace("`", "'")


def citation(passage: Passage, titles: Mapping[str, str] | None = None) -> str:
    """``file.txt › Section › Subsection``: the document's title heading is left out (the
    file name says it). ``titles`` maps sources to titles; without it, the first heading
    of a deeper path is taken to be the title."""
    heading = list(passage.heading)
    title = (titles or {}).get(passage.source)
    if heading and (heading[0] == title or (title is None and len(heading) > 1)):
        heading = heading[1:]
    return HEADING_SEPARATOR.join([shown_name(passage.source), *heading])
