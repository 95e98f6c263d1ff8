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


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        (None, None, (None, None)),
        ("2", None, (2, None)),
        ("2", "0,1", (2, [0, 1])),
        ("4", "3", (4, [3])),
        ("4", " 2 , 0 ", (4, [2, 0])),
        ("1", "0", (1, [0])),
    ],
)
def test_shard_settings(
    count: str | None,
    ids: str | None,
    expected: tuple[int | None, list[int] | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("ASKDOCS_SHARD_COUNT", count), ("ASKDOCS_SHARD_IDS", ids)):
        if value is not None:
            monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert (settings.shard_count, settings.shard_ids) == expected


OUT_OF_RANGE = (
    "invalid setting ASKDOCS_SHARD_IDS must be between 0 and 1 (ASKDOCS_SHARD_COUNT is 2)"
)


@pytest.mark.parametrize(
    ("count", "ids", "message"),
    [
        (None, "0", "invalid setting ASKDOCS_SHARD_IDS needs ASKDOCS_SHARD_COUNT"),
        ("2", "2", f"{OUT_OF_RANGE}, not 2"),
        ("2", "0,-1", f"{OUT_OF_RANGE}, not -1"),
        ("3", "1,1", "invalid setting ASKDOCS_SHARD_IDS lists shard 1 twice"),
        ("2", ",", "invalid setting ASKDOCS_SHARD_IDS lists no shard"),
        ("2", "one", "invalid setting ASKDOCS_SHARD_IDS: Input should be a valid integer"),
        (
            "0",
            None,
            "invalid setting ASKDOCS_SHARD_COUNT: Input should be greater than or equal to 1",
        ),
        ("two", None, "invalid setting ASKDOCS_SHARD_COUNT: Input should be a valid integer"),
    ],
)
def test_bad_shard_settings_are_one_line_errors(
    count: str | None,
    ids: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.terminal.cli import main

    for name, value in (("ASKDOCS_SHARD_COUNT", count), ("ASKDOCS_SHARD_IDS", ids)):
        if value is not None:
            monkeypatch.setenv(name, value)
    with pytest.raises(ValueError):
        Settings(_env_file=None)
    assert main(["index"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"askdocs: error: {message}") and err.count("\n") == 1
