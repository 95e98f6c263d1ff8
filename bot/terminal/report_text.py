"""``askdocs report`` as plain text for the terminal (the JSON and HTML forms have their own
modules: :func:`bot.shared.insights.insights_json`, :mod:`bot.terminal.report_html`)."""

from __future__ import annotations

from bot.shared.citation import shown_name
from bot.shared.insights import Insights, QuestionCluster

LINE = 78
SHOWN_DOCUMENTS = 10
SHOWN_NEVER_CITED = 50  # the JSON and HTML reports list them all


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "-"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _cluster_lines(cluster: QuestionCluster, *, gap: bool) -> list[str]:
    if gap:
        what = f"refused {cluster.refused}, 👎 {cluster.down}"
    else:
        source = shown_name(cluster.source) if cluster.source else "never answered"
        what = f"answered {cluster.answered}, refused {cluster.refused} · {source}"
    lines = [f"  {cluster.count:>4} × {_one_line(cluster.question, LINE - 9)}", f"         {what}"]
    lines += [f"         ~ {_one_line(e, LINE - 11)}" for e in cluster.examples]
    return lines


def report_text(insights: Insights) -> str:
    """The whole report: summary, gaps first, top questions, documents."""
    ins = insights
    where = f" in guild {ins.guild_id}" if ins.guild_id is not None else ""
    lines = [
        f"Questions {ins.first_day} – {ins.last_day} ({ins.days} days, UTC){where}",
        f"  {ins.questions} questions from {ins.askers} people: "
        f"{ins.answered} answered ({_share(ins.answered, ins.questions)}), "
        f"{ins.refused} refused ({_share(ins.refused, ins.questions)}), "
        f"{ins.errors} error{'' if ins.errors == 1 else 's'}",
        f"  votes on answers: 👍 {ins.up} / 👎 {ins.down}",
    ]
    if not ins.questions:
        lines.append("  (no questions in this period)")
    lines += ["", "Coverage gaps (refused or 👎, largest first):"]
    lines += [line for c in ins.gaps for line in _cluster_lines(c, gap=True)] or ["  none"]
    lines += ["", "Top questions:"]
    lines += [line for c in ins.top_questions for line in _cluster_lines(c, gap=False)] or [
        "  none"
    ]
    lines += ["", "Most cited documents (answers quoting it / answers citing it):"]
    lines += [
        f"  {c.answers:>4} / {c.citations:>4}  {shown_name(c.source)}"
        for c in ins.cited[:SHOWN_DOCUMENTS]
    ] or ["  none"]
    if len(ins.cited) > SHOWN_DOCUMENTS:
        lines.append(f"  …and {len(ins.cited) - SHOWN_DOCUMENTS} more")
    lines += ["", f"Never cited ({len(ins.never_cited)} indexed documents):"]
    lines += [f"  {shown_name(s)}" for s in ins.never_cited[:SHOWN_NEVER_CITED]] or ["  none"]
    if len(ins.never_cited) > SHOWN_NEVER_CITED:
        lines.append(f"  …and {len(ins.never_cited) - SHOWN_NEVER_CITED} more")
    return "\n".join(lines)
