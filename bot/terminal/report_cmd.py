"""``askdocs report [--days N] [--guild ID] [--json] [--html FILE]``: what people asked, what
the documents did not cover, and which documents are (never) cited — from the question log."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.shared.insights import MAX_DAYS, REPORT_DAYS, gather_insights, insights_json
from bot.shared.question_log import QuestionLogError
from bot.shared.settings import Settings
from bot.shared.stores import open_feedback, open_question_log
from bot.terminal.report_html import write_html
from bot.terminal.report_text import report_text

log = logging.getLogger(__name__)

NO_LOG = (
    "no question log at {path}: set ASKDOCS_QUESTION_LOG=true and restart the bot to start "
    "recording questions"
)


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_DAYS}")
    return days


def add_report_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "report", parents=[common], help="questions asked, coverage gaps, cited documents"
    )
    p.add_argument(
        "--days",
        type=_days,
        default=REPORT_DAYS,
        metavar="N",
        help=f"the last N days, today included (UTC; default {REPORT_DAYS})",
    )
    p.add_argument("--guild", type=int, metavar="ID", help="only this server's questions")
    p.add_argument("--json", action="store_true", help="one JSON object (stable, see README)")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained page")


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.terminal.cli import EXIT_ERROR, EXIT_OK, make_engine

    store = open_question_log(settings)
    if not store.exists():
        raise QuestionLogError(NO_LOG.format(path=store.where))
    feedback = open_feedback(settings)
    try:
        store.open()  # fails fast (corrupt, newer schema) before the model loads
        engine = make_engine(settings)
        engine.open(refresh=False)
        insights = gather_insights(
            store,
            feedback,
            [d.source for d in engine.documents],
            engine.embedder.encode,
            days=args.days,
            guild_id=args.guild,
        )
    finally:
        store.close()
        feedback.close()
    if args.html is not None:
        try:
            write_html(args.html, insights)
        except OSError as exc:
            sys.stderr.write(f"askdocs: error: cannot write {args.html}: {exc.strerror}\n")
            return EXIT_ERROR
    if args.json:
        sys.stdout.write(json.dumps(insights_json(insights), ensure_ascii=False) + "\n")
    elif args.html is not None:
        sys.stdout.write(f"Wrote the report for {insights.questions} questions to {args.html}\n")
    else:
        sys.stdout.write(report_text(insights) + "\n")
    return EXIT_OK
