"""What a sentence-transformers model folder says about how it embeds, and its cache key.

Read from the folder's own files (``modules.json``, ``sentence_bert_config.json``, the pooling
module's ``config.json``, ``config_sentence_transformers.json``) without importing torch. Only
the pipelines the ONNX backend reproduces exactly are accepted: a Transformer, a Pooling
(cls, max, mean or mean_sqrt_len_tokens) and optionally a Normalize module, with no default
prompt. Anything else raises ModelLoadError and the model runs on sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import ModelLoadError

log = logging.getLogger(__name__)

EXPORT_FORMAT = 3  # bump when the export or its metadata changes: every cache key changes
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")
_LEGACY_POOLING = {  # ST's legacy boolean keys, in its concatenation order
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_MODULES = ("Transformer", "Pooling", "Normalize")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How the model turns token states into a sentence vector."""

    max_seq_length: int  # tokens per text, special tokens included (longer texts are cut)
    pooling: tuple[str, ...]  # modes, concatenated in this order
    dimension: int  # of the sentence vector
    normalize: bool  # a Normalize module ends the pipeline (askdocs normalises anyway)


def read_spec(folder: Path) -> ModelSpec:
    """The model's pipeline, or ModelLoadError saying why ONNX cannot reproduce it."""
    modules = _json(folder / "modules.json", "no modules.json")
    if not isinstance(modules, list):
        raise ModelLoadError("modules.json is not a list")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ModelLoadError(f"pipeline {kinds} is not Transformer, Pooling[, Normalize]")
    base = folder / str(modules[0].get("path", ""))
    sbert = _json(base / "sentence_bert_config.json", "no sentence_bert_config.json")
    max_len = sbert.get("max_seq_length")
    if not isinstance(max_len, int) or max_len < 3:
        raise ModelLoadError(f"max_seq_length {max_len!r} in sentence_bert_config.json")
    st_config = folder / "config_sentence_transformers.json"
    if st_config.is_file() and _json(st_config, "").get("default_prompt_name"):
        raise ModelLoadError("the model prepends a default prompt")
    pool = _json(folder / str(modules[1].get("path", "")) / "config.json", "no pooling config")
    modes = _pooling_modes(pool)
    width = pool.get("embedding_dimension", pool.get("word_embedding_dimension"))
    if not isinstance(width, int) or width < 1:
        raise ModelLoadError(f"pooling config has no embedding dimension ({width!r})")
    return ModelSpec(max_len, modes, width * len(modes), len(kinds) == 3)


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if mode is None:
        found = tuple(name for key, name in _LEGACY_POOLING.items() if config.get(key))
        modes = found or ("mean",)
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown or not modes:
        raise ModelLoadError(f"pooling mode {unknown or modes} is not supported by the export")
    return modes


def _json(path: Path, missing: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(missing or f"no {path.name}") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path.name}: {exc}") from exc


def model_folder(target: str) -> Path | None:
    """The local folder holding ``target`` (a path, or a hub name already downloaded), or None.
    Never downloads."""
    path = Path(target).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.is_absolute() or target.startswith("."):
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in (target,) if "/" in target else (target, f"sentence-transformers/{target}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True)).resolve()
        except Exception:  # not in the local cache, or not a valid repository name
            continue
    return None


def model_key(folder: Path, digests: FileDigests | None = None) -> str:
    """A digest of every file of the model folder (names and contents) and the export format."""
    digests = digests or FileDigests(None)
    digest = hashlib.sha256(f"askdocs-onnx-format-{EXPORT_FORMAT}\0".encode())
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        digest.update(f"{rel.as_posix()}\0{digests.sha256(path)}\n".encode())
    digests.save()
    return digest.hexdigest()[:32]


class FileDigests:
    """sha256 of files, remembered in ``memo_file`` by path, size, mtime and inode, so that a
    start does not read 90 MB of weights again (≈0.1 s each time) to check them."""

    def __init__(self, memo_file: Path | None) -> None:
        self._file = memo_file
        self._memo: dict[str, list[Any]] = {}
        self._changed = False
        if memo_file is not None:
            try:
                memo = json.loads(memo_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                memo = {}
            self._memo = memo if isinstance(memo, dict) else {}

    def sha256(self, path: Path) -> str:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        known = self._memo.get(str(path))
        if isinstance(known, list) and known[:3] == stamp:
            return str(known[3])
        with open(path, "rb") as fh:
            content = hashlib.file_digest(fh, "sha256").hexdigest()
        self._memo[str(path)] = [*stamp, content]
        self._changed = True
        return content

    def save(self) -> None:
        """Best effort: a memo that cannot be written only costs the next start a re-read."""
        if self._file is None or not self._changed:
            return
        self._memo = {k: v for k, v in self._memo.items() if os.path.exists(k)}
        try:
            write_json_atomic(self._file, self._memo)
            self._changed = False
        except OSError as exc:
            log.debug("cannot remember file digests in %s: %s", self._file, exc)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
