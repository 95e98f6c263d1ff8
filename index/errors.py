"""The engine's named exceptions. Front ends catch these (and only these) and show the message."""

from __future__ import annotations


class AskdocsError(Exception):
    """Base class of every error the engine raises on purpose; ``str(err)`` is for users."""


class ConfigError(AskdocsError):
    """A configuration value is out of range. ``field`` names the ``EngineConfig`` field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class DocumentError(AskdocsError):
    """One source document could not be read (empty, binary, undecodable, broken). It is skipped."""


class SourceDocsError(AskdocsError):
    """The documents folder is missing, unreadable or holds no usable document."""


class IndexNotFoundError(AskdocsError):
    """No built index exists at the configured location."""


class IndexCorruptError(AskdocsError):
    """The index on disk is damaged or incomplete; rebuilding fixes it."""


class IndexMismatchError(AskdocsError):
    """The index was built with another model or chunker settings than the ones configured."""


class IndexWriteError(AskdocsError):
    """The index could not be written (disk full, permissions); the previous one still serves."""


class ModelLoadError(AskdocsError):
    """The embedding model could not be loaded (bad name/path, offline without the files)."""


class QuestionError(AskdocsError):
    """The question is empty, whitespace only or over the length limit."""


class BuildInProgressError(AskdocsError):
    """Another index build is already running."""


class DatabaseError(AskdocsError):
    """The database (``ASKDOCS_DATABASE_URL``) cannot be used: bad URL, unreachable server,
    refused login, missing ``vector`` extension. ``str()`` is one line and holds no password."""
