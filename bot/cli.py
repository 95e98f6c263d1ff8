"""The ``askdocs`` command line: index, ask, run, sync, feedback.

Exit status: 0 ok, 2 usage error (bad options, invalid question), 1 any other error.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.render import answer_json_line, answer_text, report_text
from bot.settings import Settings

if TYPE_CHECKING:
    from index.engine import Engine

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line itself is wrong (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the command is not reset by the subparser's default.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--source-docs",
        type=Path,
        metavar="DIR",
        help="documents folder (default: $ASKDOCS_SOURCE_DOCS or source_docs)",
    )
    common.add_argument(
        "--index-dir",
        type=Path,
        metavar="DIR",
        help="index folder (default: $ASKDOCS_INDEX_DIR or .askdocs/index)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    common.add_argument("-q", "--quiet", action="store_true", help="only log warnings and errors")

    parser = argparse.ArgumentParser(
        prog="askdocs",
        description="Answer questions from your documents, with citations.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("index", parents=[common], help="build or update the index")
    p.add_argument("--full", action="store_true", help="re-embed every document")
    p = sub.add_parser("ask", parents=[common], help="answer questions (args, or stdin lines)")
    p.add_argument("questions", nargs="*", metavar="QUESTION")
    p.add_argument("--json", action="store_true", help="one JSON object per line (stable)")
    p.add_argument(
        "--top-k",
        type=_positive,
        default=None,
        metavar="N",
        help="passages per answer (default: $ASKDOCS_TOP_K or 3)",
    )
    sub.add_parser("run", parents=[common], help="start the Discord bot")
    p = sub.add_parser("sync", parents=[common], help="register slash commands with Discord")
    p.add_argument("--guild", type=int, metavar="ID", help="sync to one guild (instant)")
    p = sub.add_parser("feedback", parents=[common], help="summarise 👍/👎 votes")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also export all votes as CSV")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (
        ("source_docs", None),
        ("index_dir", None),
        ("verbose", False),
        ("quiet", False),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        settings = _settings(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ASKDOCS_" + str(first["loc"][0]).upper() if first["loc"] else "setting"
        _fail(f"invalid setting {name}: {first['msg']}")
        return EXIT_USAGE
    level = (
        settings.log_level
        if args.command == "run" or "ASKDOCS_LOG_LEVEL" in os.environ
        else ("WARNING")
    )
    _configure_logging(level, verbose=args.verbose, quiet=args.quiet)
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "index": cmd_index,
        "ask": cmd_ask,
        "run": cmd_run,
        "sync": cmd_sync,
        "feedback": cmd_feedback,
    }
    from index.errors import AskdocsError, QuestionError

    try:
        return commands[args.command](args, settings)
    except (UsageError, QuestionError) as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except AskdocsError as exc:
        _fail(str(exc))
        return EXIT_ERROR
    except OSError as exc:  # a path that is not what it should be, a full disk...
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        return EXIT_ERROR
    except sqlite3.Error as exc:
        _fail(f"feedback database {settings.feedback_path}: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings)
    report = engine.reindex(full=args.full, progress=_ProgressBar())
    _out(report_text(report))
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from index.retriever import check_question

    questions = list(args.questions)
    if not questions:
        if sys.stdin.isatty():
            raise UsageError('no question given: askdocs ask "your question" (or pipe lines)')
        questions = [line.strip() for line in sys.stdin if line.strip()]
        if not questions:
            raise UsageError("no question on standard input")
    for q in questions:
        check_question(q, settings.max_question_chars)
    engine = make_engine(settings)
    report = engine.open(progress=_ProgressBar())
    if report is not None:
        log.info("index built: %d chunks in %.2fs", report.chunks, report.seconds)
    top_k = args.top_k or settings.top_k
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for i, answer in enumerate(engine.answer_many(questions, top_k=top_k)):
        if args.json:
            _out(answer_json_line(answer))
        else:
            _out(("\n" if i else "") + answer_text(answer, color=color))
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot
    from bot.errors import BotError

    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        _fail("no Discord token: set ASKDOCS_DISCORD_TOKEN (environment or .env)")
        return EXIT_ERROR
    engine = make_engine(settings)
    engine.open(progress=_ProgressBar())
    try:
        asyncio.run(run_bot(settings, engine))
    except BotError as exc:
        _fail(str(exc))
        return EXIT_ERROR
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import sync_commands
    from bot.errors import BotError

    if args.guild is not None:
        settings = settings.model_copy(update={"dev_guild_id": args.guild})
    try:
        names = asyncio.run(sync_commands(settings))
    except BotError as exc:
        _fail(str(exc))
        return EXIT_ERROR
    where = f"guild {settings.dev_guild_id}" if settings.dev_guild_id else "all guilds (global)"
    _out(f"Synced {len(names)} commands to {where}: {', '.join('/' + n for n in names)}")
    return EXIT_OK


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback import FeedbackStore, format_summary

    store = FeedbackStore(settings.feedback_path)
    _out(format_summary(store.summary()))
    if args.csv is not None:
        try:
            with open(args.csv, "w", encoding="utf-8", newline="") as fh:
                rows = store.export_csv(fh)
        except OSError as exc:
            _fail(f"cannot write {args.csv}: {exc.strerror}")
            return EXIT_ERROR
        _out(f"Wrote {rows} votes to {args.csv}")
    return EXIT_OK


def make_engine(settings: Settings) -> Engine:
    """Build the engine (loads the embedding model) from settings."""
    from index.chunking import ChunkerSettings
    from index.errors import SourceDocsError

    if not settings.source_docs.is_dir() and not _has_index(settings.index_dir):
        # fail before the slow model load
        raise SourceDocsError(
            f"documents folder not found: {settings.source_docs} "
            "(set --source-docs or ASKDOCS_SOURCE_DOCS)"
        )
    from index.engine import Engine, EngineConfig
    from index.retriever import RetrievalSettings

    config = EngineConfig(
        docs_dir=settings.source_docs,
        index_dir=settings.index_dir,
        model=settings.model,
        chunker=ChunkerSettings(
            target_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap
        ),
        retrieval=RetrievalSettings(
            top_k=settings.top_k,
            abstain_below=settings.abstain_below,
            max_question_chars=settings.max_question_chars,
        ),
        hnsw_threshold=settings.hnsw_threshold,
        max_doc_bytes=int(settings.max_doc_mb * 1_000_000),
    )
    return Engine(config)


def _has_index(index_dir: Path) -> bool:
    from index.errors import AskdocsError
    from index.store import current_version

    try:
        return current_version(index_dir) is not None
    except AskdocsError:
        return False


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if args.source_docs is not None:
        overrides["source_docs"] = args.source_docs
    if args.index_dir is not None:
        overrides["index_dir"] = args.index_dir
    return Settings(**overrides)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _configure_logging(level: str, *, verbose: bool, quiet: bool) -> None:
    import bm25s  # noqa: F401  (it sets its own logger to DEBUG when imported)

    chosen = logging.DEBUG if verbose else logging.WARNING if quiet else level.upper()
    logging.basicConfig(
        level=chosen, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("sentence_transformers", "transformers", "faiss", "bm25s", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("discord").setLevel(
        logging.INFO if chosen != logging.DEBUG else logging.DEBUG
    )


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(message: str) -> None:
    sys.stderr.write(f"askdocs: error: {message}\n")


class _ProgressBar:
    """A tqdm bar on stderr per build stage (silent when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            if self._bar is not None:
                self._bar.close()
            self._stage = stage
            self._bar = tqdm(
                total=total, desc=stage, unit="item", file=sys.stderr, disable=None, leave=False
            )
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()


if __name__ == "__main__":
    sys.exit(main())
