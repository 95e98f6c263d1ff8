"""Collect ERROR log records: discord.py only *logs* exceptions raised in commands, events and
views, so a test must look at the logs to notice that the bot crashed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

DEFAULT_PREFIXES = ("discord", "bot", "index")


class ErrorLogWatcher(logging.Handler):
    """A handler on the root logger keeping ERROR+ records of loggers named ``prefix*``."""

    def __init__(
        self,
        prefixes: Iterable[str] = DEFAULT_PREFIXES,
        on_record: Callable[[logging.LogRecord], None] | None = None,
    ) -> None:
        super().__init__(level=logging.ERROR)
        self.prefixes = tuple(prefixes)
        self.records: list[logging.LogRecord] = []
        self._on_record = on_record

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.prefixes):
            self.records.append(record)
            if self._on_record is not None:
                self._on_record(record)

    def install(self) -> ErrorLogWatcher:
        logging.getLogger().addHandler(self)
        return self

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)

    def __enter__(self) -> ErrorLogWatcher:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def formatted(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s: %(message)s")
        out = []
        for record in self.records:
            text = formatter.format(record)
            out.append(text)
        return "\n".join(out)

    def assert_none(self) -> None:
        if self.records:
            raise AssertionError(
                f"{len(self.records)} ERROR log record(s) from {self.prefixes}:\n"
                + self.formatted()
            )
