"""All configuration, from ``ASKDOCS_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.engine import EngineConfig
from index.errors import ConfigError
from index.pg import is_database_url

IdList = Annotated[list[int], NoDecode]
ENGINE = EngineConfig()  # the engine's defaults (and, through it, its limits)
ENGINE_FIELDS = {
    "source_docs": "docs_dir",
    "index_dir": "index_dir",
    "model": "model",
    "chunk_tokens": "chunk_tokens",
    "chunk_overlap": "chunk_overlap",
    "top_k": "top_k",
    "min_confidence": "min_confidence",
    "max_question_chars": "max_question_chars",
    "hnsw_threshold": "hnsw_threshold",
    "max_doc_mb": "max_doc_mb",
    "server_docs": "server_docs_dir",
    "server_docs_mode": "server_docs_mode",
}
"""Settings field -> EngineConfig field; the engine owns their defaults and limits."""


def env_name(field: str) -> str:
    """The environment variable of a Settings field (or of the engine field it maps to)."""
    setting = next((k for k, v in ENGINE_FIELDS.items() if v == field), field)
    return "ASKDOCS_" + setting.upper()


class Settings(BaseSettings):
    """Every setting askdocs reads. Built once in ``main()`` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="ASKDOCS_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        hide_input_in_errors=True,  # a rejected value may be a secret (token, database URL)
    )

    # documents, index and answering: defaults and limits are the engine's (EngineConfig)
    source_docs: Path = ENGINE.docs_dir
    index_dir: Path = ENGINE.index_dir
    model: str = ENGINE.model
    chunk_tokens: int = ENGINE.chunk_tokens
    chunk_overlap: int = ENGINE.chunk_overlap
    hnsw_threshold: int = ENGINE.hnsw_threshold
    max_doc_mb: float = ENGINE.max_doc_mb
    top_k: int = ENGINE.top_k
    min_confidence: float = ENGINE.min_confidence
    max_question_chars: int = ENGINE.max_question_chars
    # per-server knowledge bases: <server_docs>/<server id>/ holds a server's own documents
    server_docs: Path | None = ENGINE.server_docs_dir
    server_docs_mode: str = ENGINE.server_docs_mode

    # Discord
    discord_token: SecretStr | None = None
    dev_guild_id: int | None = None
    answer_channel_ids: IdList = Field(default_factory=list)
    answer_in_thread: bool = False
    cooldown_questions: int = Field(3, ge=1)
    cooldown_seconds: float = Field(30.0, ge=0.0)
    admin_user_ids: IdList = Field(default_factory=list)
    admin_role_ids: IdList = Field(default_factory=list)
    feedback_db: Path | None = None
    # follow-ups in threads and replies: conversations are kept in memory only
    followup_turns: int = Field(3, ge=0, le=20)
    followup_minutes: float = Field(30.0, gt=0.0, le=7 * 24 * 60)
    followup_conversations: int = Field(1000, ge=1, le=100_000)
    # sharding: several processes share the guilds (None = the shards Discord recommends)
    shard_count: int | None = Field(None, ge=1)
    shard_ids: Annotated[list[int] | None, NoDecode] = None

    # question log (askdocs report, /insights): off by default
    question_log: bool = False
    question_log_days: int = Field(90, ge=1, le=3650)

    # PostgreSQL + pgvector for votes, the question log, global cooldowns (and the index);
    # unset = the embedded default (SQLite files and FAISS files in the index folder)
    database_url: SecretStr | None = None

    log_level: str = "INFO"

    @field_validator(
        "answer_channel_ids", "admin_user_ids", "admin_role_ids", "shard_ids", mode="before"
    )
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1, 2 3"`` (commas and/or spaces) as well as a list."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("database_url")
    @classmethod
    def _postgresql_only(cls, value: SecretStr | None) -> SecretStr | None:
        """Only ``postgresql://`` (or ``postgres://``) URLs; the message never holds the URL."""
        if value is not None and not is_database_url(value.get_secret_value()):
            raise ValueError("must be a postgresql:// URL (or be unset)")
        return value

    @model_validator(mode="after")
    def _engine_accepts(self) -> Settings:
        """Validate the engine's settings by the engine's own rules, once."""
        try:
            self.engine_config()
        except ConfigError as exc:
            raise ValueError(f"{env_name(exc.field)} {exc.reason}") from exc
        return self

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        """Shard ids need the shard count and lie in 0..count-1, each once."""
        ids, count = self.shard_ids, self.shard_count
        if ids is None:
            return self
        if count is None:
            raise ValueError(
                "ASKDOCS_SHARD_IDS needs ASKDOCS_SHARD_COUNT (the total number of shards)"
            )
        if not ids:
            raise ValueError("ASKDOCS_SHARD_IDS lists no shard (leave it unset to run them all)")
        if bad := [i for i in ids if not 0 <= i < count]:
            raise ValueError(
                f"ASKDOCS_SHARD_IDS must be between 0 and {count - 1} "
                f"(ASKDOCS_SHARD_COUNT is {count}), not {bad[0]}"
            )
        if len(set(ids)) != len(ids):
            repeated = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"ASKDOCS_SHARD_IDS lists shard {repeated} twice")
        return self

    def engine_config(self) -> EngineConfig:
        url = self.database_url.get_secret_value() if self.database_url else ""
        return EngineConfig(
            **{eng: getattr(self, name) for name, eng in ENGINE_FIELDS.items()},
            database_url=url,
        )

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.index_dir / "feedback.sqlite3"

    @property
    def question_log_path(self) -> Path:
        """The question log's SQLite file, beside the feedback database."""
        return self.feedback_path.parent / "questions.sqlite3"
