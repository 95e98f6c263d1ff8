"""reST inline markup rendered as a reader of the built pages sees it.

In the source, "See :ref:`the guide <install>` or `Docutils <https://docutils.sf.net>`__"
reads "See the guide or Docutils" on the page. The model should read the page's words, not
the markup's (backquotes, role names and URLs are noise to it), and a quote shown in Discord
should read as the page does. ``render_inline`` keeps:

- a literal's text as it is (````*args````  -> ``*args``: nothing inside it is markup);
- a role's or interpreted text's words (``:func:`os.path.join``` -> ``os.path.join``),
  without the target of ``title <target>`` and without the ``~`` / ``!`` prefixes; a PEP
  or RFC reference as the page shows it (``:PEP:`287``` -> ``PEP 287``);
- a hyperlink reference's words (```Docutils <url>`__``, ```the FAQ`_``, ``Emacs_``,
  an inline target ``_`colon-separated```), or the URL when it is all there is;
- the words of ``**strong**``, ``*emphasis*`` and ``|substitution|`` references;

and drops footnote and citation references (``[#]_``, ``[1]_``, ``[*]_``). Outside
literals a backslash escapes the character after it (``\\*`` is a star, ``\\<x>`` no
target) and an escaped space is nothing. Like docutils, markup starts only after a space
or punctuation and ends before one, so ``2*3*4``, ``snake_case_name`` and ``__init__``
stay as they are.
"""

from __future__ import annotations

import re

# One pass, the alternatives in this order: a literal's content is never read as markup.
# Every span is bounded (``_SPAN`` characters) so that unclosed markup costs linear time.
_SPAN = 400
_INLINE = re.compile(
    rf"``(?P<literal>\S(?:.{{0,{_SPAN}}}?\S)??)``"
    r"|(?::(?P<role>[\w.+:-]+):|_)?`(?P<interpreted>(?:\\.|[^`\\])+?)`"
    r"(?::(?P<role_after>[\w.+:-]+):|__?)?"
    r"|[ \t]?\[(?:#[\w-]*|\*|\d+)\]_"
    r"|\|(?P<substitution>[^|\s](?:[^|]*?[^|\s])?)\|(?:__?)?"
    rf"|(?<![\w*\\])\*\*(?P<strong>[^\s*](?:[^*]{{0,{_SPAN}}}?[^\s*])??)\*\*(?![\w*])"
    rf"|(?<![\w*\\])\*(?P<emphasis>[^\s*](?:[^*]{{0,{_SPAN}}}?[^\s*])??)\*(?![\w*])"
    r"|(?<![\w`])(?P<name>[A-Za-z0-9][\w.+-]*?)__?(?=[\s.,;:!?)\]}'\"]|$)"
    r"|\\(?P<escaped>.)",
    re.DOTALL,
)
_TARGET = re.compile(r"(.*?(?<!\\))\s*<([^<>]+)>", re.DOTALL)  # "title <target>", not "\<x>"
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)  # "\*" is a star; "\ " (escaped space) is nothing
_NUMBERED = {"pep": "PEP", "rfc": "RFC"}  # roles whose page shows the kind with the number
_WORDS = ("substitution", "strong", "emphasis", "name")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda found: "" if found[1].isspace() else found[1], text)


def _render(found: re.Match[str]) -> str:
    if found["literal"] is not None:
        return found["literal"]
    if (text := found["interpreted"]) is not None:
        if (titled := _TARGET.fullmatch(text)) is not None:
            return _unescape(titled[1] or titled[2])
        role = (found["role"] or found["role_after"] or "").lower()
        if (standard := _NUMBERED.get(role.removesuffix("-reference"))) is not None:
            return f"{standard} {text.split('#')[0].strip()}"  # :PEP:`287` reads "PEP 287"
        return _unescape(text.lstrip("~!"))
    for group in _WORDS:
        if found[group] is not None:
            return str(found[group])
    if found["escaped"] is not None:
        return _unescape(found[0])
    return ""  # a footnote or citation reference


def render_inline(text: str) -> str:
    """``text`` (one paragraph or title of reST prose) with its inline markup rendered (see
    the module docstring). A paragraph ending in ``::`` introduces a literal block and ends
    in ``:``, even where docutils shows no colon (``::`` standing apart): it announces
    what follows, and an answer quoting it must quote the block too (``index.retriever``)."""
    rendered = _INLINE.sub(_render, text).rstrip()
    if text.rstrip().endswith("::") and rendered.endswith("::"):
        head = rendered[:-2].rstrip()
        rendered = head + ":" if head else ""
    return rendered
