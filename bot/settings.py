"""All configuration, from ``ASKDOCS_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IdList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Every setting askdocs reads. Built once in ``main()`` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="ASKDOCS_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    # documents and index
    source_docs: Path = Path("source_docs")
    index_dir: Path = Path(".askdocs/index")
    model: str = "all-MiniLM-L6-v2"
    chunk_tokens: int = Field(128, ge=16, le=512)
    chunk_overlap: int = Field(24, ge=0, le=256)
    hnsw_threshold: int = Field(50_000, ge=1)
    max_doc_mb: float = Field(10.0, gt=0)

    # answering
    top_k: int = Field(3, ge=1, le=10)
    abstain_below: float = Field(0.38, ge=0.0, le=1.0)
    max_question_chars: int = Field(1000, ge=10, le=4000)

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

    log_level: str = "INFO"

    @field_validator("answer_channel_ids", "admin_user_ids", "admin_role_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1, 2 3"`` (commas and/or spaces) as well as a list."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info: object) -> int:
        size = getattr(info, "data", {}).get("chunk_tokens", 128)
        if value >= size:
            raise ValueError("ASKDOCS_CHUNK_OVERLAP must be smaller than ASKDOCS_CHUNK_TOKENS")
        return value

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.index_dir / "feedback.sqlite3"
