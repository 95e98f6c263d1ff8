"""Markdown inline markup rendered as a reader of the built page sees it.

In the source, "See [the guide](https://example.org/guide) or run `pip install -U x`" reads
"See the guide or run pip install -U x" on the page. The model should read the page's
words, not the markup's (brackets, URLs and backquotes are noise to it), and a quote shown
in Discord should read as the page does. ``render_inline`` keeps:

- a code span's text as it is (```*args*``` -> ``*args*``: nothing inside it is markup);
- a link's or image's words (``[the guide](url "title")``, ``[the guide][ref]``,
  ``[the guide][]``, ``![a diagram](x.png)``), or the address of an autolink
  (``<https://example.org>``);
- the words of ``**strong**``, ``*emphasis*``, ``~~struck~~`` text, and of ``__strong__``
  and ``_emphasis_`` of more than one word;
- the text inside HTML tags (``<kbd>Ctrl</kbd>`` -> ``Ctrl``; ``<br>``, ``<p>`` and other
  tags that end a line become a line break);

and drops footnote references (``[^1]``). A backslash escapes the punctuation after it
(``\\*`` is a star). Markup starts only after a space or punctuation and ends before one,
so ``2*3*4`` and ``snake_case_name`` stay as they are; so do a name between underscores
(``__init__``, ``_private_``: a page means the name), a bare ``[x]`` (no link after it) and
a ``<placeholder>`` that is no HTML tag.
"""

from __future__ import annotations

import re

# One pass, the alternatives in this order: a code span's content is never read as markup.
# Every span is bounded (``_SPAN`` characters) so that unclosed markup costs linear time.
_SPAN = 400
_HTML_TAGS = (  # the inline ones, and the block ones pages wrap text in
    "a|abbr|b|big|br|cite|code|del|dfn|em|i|ins|kbd|mark|q|s|samp|small|span|strike|strong|"
    "sub|sup|time|tt|u|var|wbr|details|summary|div|p|center|img|picture|source|figure|"
    "figcaption|table|thead|tbody|tr|td|th|ul|ol|li|dl|dt|dd|blockquote|section|h[1-6]|hr"
)
_INLINE = re.compile(
    rf"(?P<ticks>`+)(?P<code>(?:(?!(?P=ticks)).){{1,{_SPAN}}}?)(?P=ticks)(?!`)"
    rf"|!?\[(?P<label>(?:\\.|[^\[\]\\]|\[[^\[\]]{{0,80}}\]){{0,{_SPAN}}})\]"
    r"(?:\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
    r"|\[(?:\\.|[^\[\]\\]){0,200}\])"
    r"|<(?P<autolink>(?:https?|ftp|mailto):[^\s<>]{1,2000}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>"
    rf"|</?(?P<tag>(?i:{_HTML_TAGS}))(?:\s[^<>]{{0,{_SPAN}}})?/?>"
    r"|[ \t]?\[\^[^\]\s]{1,100}\]"
    rf"|(?<![\w*\\])\*\*(?P<strong>[^\s*](?:[^*]{{0,{_SPAN}}}?[^\s*])??)\*\*(?![\w*])"
    rf"|(?<![\w\\])__(?!\w+__)(?P<strong2>[^\s_](?:[^_]{{0,{_SPAN}}}?[^\s_])??)__(?!\w)"
    rf"|(?<![\w*\\])\*(?P<emphasis>[^\s*](?:[^*]{{0,{_SPAN}}}?[^\s*])??)\*(?![\w*])"
    rf"|(?<![\w\\])_(?!\w+_)(?P<emphasis2>[^\s_](?:[^_]{{0,{_SPAN}}}?[^\s_])??)_(?!\w)"
    rf"|(?<![\w~\\])~~(?P<struck>[^\s~](?:[^~]{{0,{_SPAN}}}?[^\s~])??)~~(?![\w~])"
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])",
    re.DOTALL,
)
_BREAKS = frozenset({"br", "p", "div", "li", "tr", "summary", "hr"})  # tags that end a line
_WORDS = ("strong", "strong2", "emphasis", "emphasis2", "struck", "autolink", "escaped")


def _render(found: re.Match[str]) -> str:
    if (code := found["code"]) is not None:
        # one space on each side is padding ("`` `x` ``"), as CommonMark strips it
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]
        return code
    if (label := found["label"]) is not None:
        return render_inline(label)
    for group in _WORDS:
        if found[group] is not None:
            text = str(found[group])
            return text if group in ("autolink", "escaped") else render_inline(text)
    if (tag := found["tag"]) is not None and tag.lower() in _BREAKS:
        return "\n"
    return ""  # an HTML tag or a footnote reference


def render_inline(text: str) -> str:
    """``text`` (one paragraph or heading of Markdown) with its inline markup rendered (see
    the module docstring)."""
    return _INLINE.sub(_render, text)
