"""The ``askdocs`` command line: index, ask, run, sync, feedback, report.

Exit status: 0 ok, 2 usage error (bad options, invalid question), 1 any other error.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.shared.feedback import FeedbackError
from bot.shared.question_log import QuestionLogError
from bot.shared.settings import Settings
from bot.terminal.render import answer_json_line, answer_text, report_text
from bot.terminal.report_cmd import add_report_parser, cmd_report

if TYPE_CHECKING:
    from index.engine import Engine
    from index.models import Answer

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
    p.add_argument(
        "--server",
        type=int,
        metavar="ID",
        help="build one Discord server's own documents ($ASKDOCS_SERVER_DOCS/ID)",
    )
    sub.add_parser(
        "migrate",
        parents=[common],
        help="copy the built index (and servers' indexes) into $ASKDOCS_DATABASE_URL",
    )
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
    add_report_parser(sub, common)
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
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["loc"]:
            message = f"ASKDOCS_{str(first['loc'][0]).upper()}: {message}"
        _fail(f"invalid setting {message}")
        return EXIT_USAGE
    level = (
        settings.log_level
        if args.command == "run" or "ASKDOCS_LOG_LEVEL" in os.environ
        else ("WARNING")
    )
    _configure_logging(level, verbose=args.verbose, quiet=args.quiet)
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
        "index": cmd_index,
        "migrate": cmd_migrate,
        "ask": cmd_ask,
        "run": cmd_run,
        "sync": cmd_sync,
        "feedback": cmd_feedback,
        "report": cmd_report,
    }
    from index.errors import AskdocsError, QuestionError

    try:
        return commands[args.command](args, settings)
    except (UsageError, QuestionError) as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except AskdocsError as exc:
        _fail(str(exc) + cli_hint(exc))
        return EXIT_ERROR
    except OSError as exc:  # a path that is not what it should be, a full disk...
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        return EXIT_ERROR
    except (QuestionLogError, FeedbackError) as exc:
        _fail(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


def cli_hint(exc: Exception) -> str:
    """What the terminal user can do about an engine error (the engine names no flags)."""
    from index import errors

    hints: tuple[tuple[type[Exception], str], ...] = (
        (errors.IndexNotFoundError, " (run `askdocs index` to build it)"),
        (errors.IndexCorruptError, " (run `askdocs index --full` to rebuild it)"),
        (errors.IndexMismatchError, " (run `askdocs index --full` to rebuild it)"),
        (errors.SourceDocsError, " (set --source-docs or ASKDOCS_SOURCE_DOCS)"),
        (
            errors.ModelLoadError,
            ". Set ASKDOCS_MODEL to a sentence-transformers model name or a local folder "
            "(downloads are off unless HF_HUB_OFFLINE=0)",
        ),
    )
    return next((hint for kind, hint in hints if isinstance(exc, kind)), "")


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        report = engine.reindex(full=args.full, progress=_ProgressBar(), server=args.server)
    finally:
        engine.close()
    _out(report_text(report))
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the embedded index(es) to the database as they are (nothing re-embedded)."""
    if settings.database_url is None:
        raise UsageError("set ASKDOCS_DATABASE_URL to the PostgreSQL database to migrate to")
    engine = make_engine(settings)
    try:
        done = engine.migrate()
    finally:
        engine.close()
    for name, version, passages in done:
        _out(f"{name}: {passages} passages copied as version {version} (now current)")
    return EXIT_OK


ASK_BATCH = 64
"""Questions answered per engine call when reading standard input (bounds memory)."""


def _stdin_questions(skipped: list[int]) -> Iterator[str]:
    """Non-empty lines of standard input; a line that is not UTF-8 is reported, its number
    added to ``skipped``, and passed over."""
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            _fail(f"line {number} of standard input is not valid UTF-8 text: skipped")
            skipped.append(number)
            continue
        if line:
            yield line


def _batches(questions: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for question in questions:
        batch.append(question)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer questions from the arguments or, in bounded batches, from standard input;
    a bad stdin line is reported and skipped (exit status 2) and the rest answered."""
    from index.errors import QuestionError

    config = settings.engine_config()
    for number, q in enumerate(args.questions, start=1):
        if not _is_text(q):
            raise UsageError(f"question {number} is not valid UTF-8 text")
        config.check_question(q)
    if not args.questions and sys.stdin.isatty():
        raise UsageError('no question given: askdocs ask "your question" (or pipe lines)')
    engine = make_engine(settings)
    report = engine.open(progress=_ProgressBar())
    if report is not None:
        log.info("index built: %d chunks in %.2fs", report.chunks, report.seconds)
    top_k = args.top_k or settings.top_k
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    skipped: list[int] = []
    titles = {doc.source: doc.title for doc in engine.documents}
    questions = args.questions or _stdin_questions(skipped)
    answered = bad = 0
    for batch in _batches(questions, ASK_BATCH):
        good = []
        for q in batch:
            try:
                good.append(config.check_question(q))
            except QuestionError as exc:  # one bad stdin line must not cost the others
                _fail(f"{exc}: {q[:60]!r} skipped")
                bad += 1
        for answer in engine.answer_many(good, top_k=top_k):
            _explain(answer)
            text = (
                answer_json_line(answer)
                if args.json
                else answer_text(answer, color=color, titles=titles)
            )
            _out(text if args.json or not answered else "\n" + text)
            answered += 1
    if not answered and not bad and not skipped:
        raise UsageError("no question on standard input")
    return EXIT_USAGE if bad or skipped else EXIT_OK


def _explain(answer: Answer) -> None:
    """Why the engine answered or refused (shown with -v)."""
    if answer.evidence is not None:
        verdict = "refused" if answer.abstained else "answered"
        log.info(
            "%s %r with confidence %.2f: %s",
            verdict,
            answer.question,
            answer.confidence,
            answer.evidence.explain(),
        )


def _is_text(arg: str) -> bool:
    """Whether a command-line argument decoded as UTF-8 (undecodable bytes arrive as
    lone surrogates)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_app.errors import BotError
    from bot.discord_app.run import run_bot

    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        _fail("no Discord token: set ASKDOCS_DISCORD_TOKEN (environment or .env)")
        return EXIT_ERROR
    from bot.shared.stores import check_database_setting

    check_database_setting(settings)  # a bad or unreachable database fails before the model loads
    engine = make_engine(settings)
    try:
        open_waiting(engine)
        engine.follow()  # with a database: serve what any process publishes
        asyncio.run(run_bot(settings, engine))
    except BotError as exc:
        _fail(str(exc))
        return EXIT_ERROR
    finally:
        engine.close()
    return EXIT_OK


OPEN_RETRY_SECONDS = 2.0


def open_waiting(engine: Engine, retry: float = OPEN_RETRY_SECONDS) -> None:
    """``engine.open()``, waiting while another process builds the index this one needs:
    bot processes started together on an empty database all find no index, one builds it
    and the others serve what it publishes (or build it themselves if that process dies,
    since its build lock dies with it)."""
    from index.errors import BuildInProgressError

    waited = 0
    while True:
        try:
            engine.open(progress=_ProgressBar())
        except BuildInProgressError:
            if not waited:
                log.info("another process is building the index: waiting for it to finish")
            waited += 1
            time.sleep(retry)
            continue
        if waited:
            log.info("the index is ready, after waiting %.0f s", waited * retry)
        return


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_app.errors import BotError
    from bot.discord_app.run import sync_commands

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
    from bot.shared.feedback import format_summary
    from bot.shared.stores import open_feedback

    store = open_feedback(settings)
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
    """Build the engine (loads the embedding model) from settings; fails first, before the
    slow model load, when there are neither documents nor an index."""
    from index.engine import Engine, check_docs_dir

    config = settings.engine_config()
    if not config.database_url:  # with a database, the index may live only there
        check_docs_dir(config.docs_dir, config.index_dir)
    return Engine(config)


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
    chosen = logging.DEBUG if verbose else logging.WARNING if quiet else level.upper()
    logging.basicConfig(
        level=chosen, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("sentence_transformers", "transformers", "faiss", "urllib3", "filelock"):
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
