"""Choose the embedding backend: a verified ONNX export from the cache, made on first use.

Cache layout: ``<root>/<key>/`` with model.onnx, tokenizer.json, export.json and
verification.json, where ``key`` hashes the model folder's files (see ``onnx_spec.model_key``).
The default root is ``$XDG_CACHE_HOME/askdocs/onnx`` (``~/.cache/askdocs/onnx``).

A start with a verified export imports neither torch nor sentence-transformers. Otherwise
sentence-transformers is loaded once to export (into a temporary folder, moved in place with
``os.replace``) and to verify; an export whose verification fails, or a model that cannot be
exported, runs on sentence-transformers with a one-line warning. A damaged export (a file
missing or changed, ORT refusing it, its stored canary vectors not reproduced) is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.errors import ModelLoadError
from index.onnx_probes import PROBES_VERSION
from index.onnx_runtime import OnnxBackend, read_meta, runtime_versions
from index.onnx_spec import (
    EXPORT_FORMAT,
    FileDigests,
    ModelSpec,
    model_folder,
    model_key,
    read_spec,
    write_json_atomic,
)

if TYPE_CHECKING:
    from index.onnx_reference import SentenceTransformerBackend

    AnyBackend = OnnxBackend | SentenceTransformerBackend

log = logging.getLogger(__name__)

VERIFICATION_FILE = "verification.json"
CANARY_TOLERANCE = 1e-4  # largest difference of a canary vector's component at a later start
LEFTOVER_SECONDS = 3600  # a temporary export folder this old belongs to no running export


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "askdocs" / "onnx"


def open_backend(model_id: str, target: str, cache_dir: Path | None) -> AnyBackend:
    """The backend to embed with: ``OnnxBackend`` when an export is (or can be made)
    verified, else ``SentenceTransformerBackend``. Raises ModelLoadError when the model cannot
    be loaded at all."""
    root = cache_dir or default_cache_dir()
    folder = model_folder(target)
    if folder is None:  # e.g. a hub name not downloaded yet: sentence-transformers fetches it
        st_model = _load_reference(target, model_id)
        folder = model_folder(target)
        if folder is None:
            return _fallback(st_model, model_id, "its files are not in a local folder")
    else:
        st_model = None
    try:
        spec = read_spec(folder)
    except ModelLoadError as exc:
        return _fallback(st_model or _load_reference(target, model_id), model_id, str(exc))
    digests = FileDigests(root / "file-digests.json")
    where = root / model_key(folder, digests)
    onnx, record = _cached(where, digests)
    if onnx is not None and record is not None:
        if record["passed"]:
            log.info("embedding with the verified ONNX export in %s", where)
            return onnx
        return _fallback(st_model or _load_reference(target, model_id), model_id,
                         f"its ONNX export failed verification ({record['reason']})")  # fmt: skip
    st_model = st_model or _load_reference(target, model_id)
    return _export_and_verify(st_model, spec, where, onnx, model_id)


def _cached(
    where: Path, digests: FileDigests | None = None
) -> tuple[OnnxBackend | None, dict[str, Any] | None]:
    """The export in ``where`` and its verification record when it holds for this runtime;
    a damaged export is deleted (and so rebuilt)."""
    if not where.exists():
        return None, None
    digests = digests or FileDigests(None)
    try:
        onnx = OnnxBackend(where)
        for name, want in onnx.meta["files"].items():
            if digests.sha256(where / name) != want["sha256"]:
                raise ModelLoadError(f"{name} has changed since the export")
        digests.save()
        record = _record(where)
        if record is not None and record["passed"]:
            _check_canaries(onnx, record)
        return onnx, record
    except ModelLoadError as exc:
        log.warning("the cached ONNX export in %s is damaged (%s): rebuilding it", where, exc)
        _remove(where)
        return None, None


def _record(where: Path) -> dict[str, Any] | None:
    """The stored verification, or None when there is none or it is for another runtime or
    another probe set (then the export is verified again)."""
    try:
        record = json.loads((where / VERIFICATION_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {VERIFICATION_FILE}: {exc}") from exc
    if not isinstance(record, dict) or "passed" not in record:
        raise ModelLoadError(f"{VERIFICATION_FILE} is not a verification record")
    fresh = record.get("runtime") == runtime_versions()
    if not fresh or record.get("probes_version") != PROBES_VERSION:
        log.info("the ONNX export in %s was verified with another runtime: verifying again", where)
        return None
    return record


def _check_canaries(onnx: OnnxBackend, record: dict[str, Any]) -> None:
    try:
        want = np.asarray(record["canary_vectors"], dtype=np.float32)
        got = onnx.embed([str(t) for t in record["canary_texts"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"bad canaries in {VERIFICATION_FILE}: {exc}") from exc
    if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=CANARY_TOLERANCE):
        raise ModelLoadError("it no longer gives the vectors it was verified with")


def _export_and_verify(
    st_model: Any, spec: ModelSpec, where: Path, onnx: OnnxBackend | None, model_id: str
) -> AnyBackend:
    from index.onnx_export import export_model, verify
    from index.onnx_reference import SentenceTransformerBackend

    reference = SentenceTransformerBackend(st_model)
    tmp: Path | None = None
    try:
        if onnx is None:
            where.parent.mkdir(parents=True, exist_ok=True)
            _remove_leftovers(where.parent)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{where.name}-", dir=where.parent))
            log.warning("preparing embedding model %s for ONNX (first use only, ≈20 s)", model_id)
            export_model(st_model, spec, tmp, model_id)
            onnx = OnnxBackend(tmp)
        result = verify(reference, onnx)
        write_json_atomic((tmp or where) / VERIFICATION_FILE, result.record(onnx))
        if tmp is not None:
            _move_into_place(tmp, where)
            onnx.folder = where
    except Exception as exc:  # export or verification impossible: not a reason to stop
        log.debug("ONNX export of %s failed", model_id, exc_info=True)
        reason = f"cannot export it to ONNX ({exc.__class__.__name__}: {exc})"
        return _fallback(st_model, model_id, reason, reference)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if not result.passed:
        reason = f"its ONNX export failed verification ({result.reason})"
        return _fallback(st_model, model_id, reason, reference)
    log.info("ONNX export of %s verified (min cosine %.6f): %s", model_id, result.min_cosine, where)
    return onnx


def _move_into_place(tmp: Path, where: Path) -> None:
    try:
        os.replace(tmp, where)
    except OSError:
        if not where.is_dir():  # not "another process got there first"
            raise


def _remove_leftovers(root: Path) -> None:
    """Delete temporary folders of interrupted exports (an hour old or more) and exports in
    an older format (their keys can no longer be asked for)."""
    for path in root.iterdir():
        try:
            if path.name.startswith(".tmp-"):
                if time.time() - path.stat().st_mtime > LEFTOVER_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            elif path.is_dir() and read_meta(path).get("format", 0) < EXPORT_FORMAT:
                log.info("removing %s, an export in an older format", path)
                _remove(path)
        except (OSError, ModelLoadError):
            continue


def _remove(where: Path) -> None:
    """Delete a damaged export: renamed aside first, so no reader sees it half deleted."""
    aside = where.with_name(f".tmp-damaged-{where.name}-{os.getpid()}")
    try:
        os.replace(where, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def _load_reference(target: str, model_id: str) -> Any:
    from index.onnx_reference import load_sentence_transformer

    return load_sentence_transformer(target, model_id)


def _fallback(
    st_model: Any, model_id: str, reason: str, backend: SentenceTransformerBackend | None = None
) -> SentenceTransformerBackend:
    from index.onnx_reference import SentenceTransformerBackend

    reason = " ".join(reason.split())  # one line, whatever the library said
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    log.warning("embedding model %s runs on sentence-transformers (slower): %s", model_id, reason)
    return backend or SentenceTransformerBackend(st_model)
