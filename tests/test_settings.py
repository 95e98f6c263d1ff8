"""Settings: every field documented in .env.example, which itself loads; secrets stay secret."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.shared.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^ASKDOCS_(\w+)=", EXAMPLE.read_text(), re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_env_example_loads_as_a_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(EXAMPLE, tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.discord_token is None and settings.answer_channel_ids == []
    assert settings.top_k == 3


@pytest.mark.parametrize(
    ("raw", "ids"),
    [("1,2,3", [1, 2, 3]), ("1 2", [1, 2]), (" 7 , 8 ", [7, 8]), ("4,", [4])],
)
def test_id_lists(raw: str, ids: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_ADMIN_ROLE_IDS", raw)
    assert Settings(_env_file=None).admin_role_ids == ids


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_DISCORD_TOKEN", "super-secret-token")
    settings = Settings(_env_file=None)
    assert "super-secret-token" not in repr(settings) and "super-secret-token" not in str(settings)
    assert settings.discord_token.get_secret_value() == "super-secret-token"


def test_overlap_must_be_below_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_CHUNK_TOKENS", "64")
    monkeypatch.setenv("ASKDOCS_CHUNK_OVERLAP", "64")
    with pytest.raises(ValueError, match="CHUNK_OVERLAP"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CHUNK_TOKENS", "300", "ASKDOCS_CHUNK_TOKENS must be between 16 and 254"),
        ("CHUNK_TOKENS", "4", "ASKDOCS_CHUNK_TOKENS must be between 16 and 254"),
        ("TOP_K", "0", "ASKDOCS_TOP_K must be between 1 and 10"),
        ("MIN_CONFIDENCE", "1.5", "ASKDOCS_MIN_CONFIDENCE must be between"),
        ("MAX_DOC_MB", "0", "ASKDOCS_MAX_DOC_MB must be more than 0"),
    ],
)
def test_engine_limits_are_checked_once_by_the_engine(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine owns defaults and limits; Settings reports them under the env name."""
    monkeypatch.setenv(f"ASKDOCS_{name}", value)
    with pytest.raises(ValueError, match=message):
        Settings(_env_file=None)


def test_cli_reports_a_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.terminal.cli import main

    monkeypatch.setenv("ASKDOCS_CHUNK_TOKENS", "300")
    assert main(["index"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "askdocs: error: invalid setting ASKDOCS_CHUNK_TOKENS must be between 16 and 254\n"
    )


def test_settings_defaults_are_the_engines() -> None:
    from index.engine import EngineConfig

    engine, settings = EngineConfig(), Settings(_env_file=None)
    assert settings.engine_config() == engine
