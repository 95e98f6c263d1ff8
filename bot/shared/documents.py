"""The documents folder as admins change it from Discord: safe names, atomic saves, removal.

The file-name rule (:func:`check_name`), for names given to uploaded documents:

* 1 to ``MAX_NAME_CHARS`` characters (at most 255 bytes in UTF-8), a plain file name: no
  ``/`` or ``\\`` (so no path and no absolute name), no ``..`` anywhere, starting with a
  letter or digit (so never hidden);
* only ASCII letters, digits, space, ``.``, ``_`` and ``-``, plus non-ASCII *letters*; no
  control, invisible or formatting characters, no other symbols;
* unchanged by Unicode NFKC normalisation: full-width letters, ligatures, separate combining
  accents and other compatibility look-alikes are refused;
* the letters before the suffix in one script (Latin, Cyrillic, Greek, ...), or in one of the
  combinations Unicode's "highly restrictive" profile (UTS #39) allows: Latin with Han,
  Hiragana and Katakana; Latin with Han and Bopomofo; Latin with Han and Hangul. So
  ``pаypal.txt`` with a Cyrillic ``а`` is refused, ``Привет.txt`` and ``日本語 guide.md`` are not;
* a suffix the engine reads (``.txt``, ``.md``, ...).

Plain functions, no Discord; blocking (call them off the event loop).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import string
import unicodedata
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from bot.shared.citation import shown_name

MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 255  # what file systems allow per name, in UTF-8
_ASCII_ALLOWED = frozenset(string.ascii_letters + string.digits + " ._-")
_SCRIPT_ALIASES = {"CJK": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}
_MIXABLE_SCRIPTS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_PART = ".part"  # temporary files: hidden (leading dot) so builds never read them


class DocumentsError(Exception):
    """A change to the documents folder was refused or failed; ``str(err)`` is user-facing."""


class DocumentNameError(DocumentsError):
    """The name breaks the file-name rule."""


class DocumentExistsError(DocumentsError):
    """A document with that name (or one differing only in case) is already there."""


class DocumentNotFoundError(DocumentsError):
    """No such document in the documents folder."""


class DocumentStoreError(DocumentsError):
    """The documents folder could not be read or written (missing, permissions, disk full)."""


def _char(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def script_of(ch: str) -> str:
    """The script a letter belongs to, from its Unicode name ("LATIN", "CYRILLIC", "HAN"...)."""
    first = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(first, first)


def check_name(name: str, suffixes: Collection[str]) -> str:
    """``name`` if it follows the file-name rule (module docstring), else DocumentNameError
    with the reason. ``suffixes`` are the accepted types, lowercase with the dot."""
    if not name:
        raise DocumentNameError("the name is empty")
    if len(name) > MAX_NAME_CHARS or len(name.encode()) > MAX_NAME_BYTES:
        raise DocumentNameError(f"the name is longer than {MAX_NAME_CHARS} characters")
    if bad := next((ch for ch in name if unicodedata.category(ch).startswith("C")), None):
        raise DocumentNameError(f"the name has a control or invisible character ({_char(bad)})")
    if "/" in name or "\\" in name:
        raise DocumentNameError("the name has a path in it (/ or \\): give a plain file name")
    if ".." in name:
        raise DocumentNameError("the name has '..' in it")
    if unicodedata.normalize("NFKC", name) != name:
        raise DocumentNameError(
            "the name has look-alike characters that Unicode normalisation (NFKC) changes, "
            "e.g. full-width letters, ligatures or separate accents"
        )
    if bad := next(
        (ch for ch in name if ch not in _ASCII_ALLOWED and (ch.isascii() or not ch.isalpha())),
        None,
    ):
        raise DocumentNameError(
            f"the name has a character that is not allowed ({_char(bad)}): use letters, "
            "digits, spaces, '.', '_' and '-'"
        )
    if not name[0].isalnum():
        raise DocumentNameError("the name must start with a letter or a digit")
    path = PurePosixPath(name)
    scripts = {script_of(ch) for ch in path.stem if ch.isalpha()}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _MIXABLE_SCRIPTS):
        mixed = " and ".join(sorted(s.title() for s in scripts))
        raise DocumentNameError(
            f"the name mixes writing systems ({mixed}), which lets one name pass for another"
        )
    if path.suffix.lower() not in suffixes:
        kinds = " ".join(sorted(suffixes))
        found = path.suffix or "no extension"
        raise DocumentNameError(f"unsupported file type ({found}); use one of {kinds}")
    return name


def _same_name(docs_dir: Path, name: str) -> str | None:
    """The entry of ``docs_dir`` named ``name``, or differing from it only in case."""
    wanted = name.casefold()
    try:
        entries = [entry.name for entry in docs_dir.iterdir()]
    except OSError as exc:
        raise DocumentStoreError(f"cannot read the documents folder: {_reason(exc)}") from exc
    if name in entries:
        return name
    return next((e for e in entries if e.casefold() == wanted), None)


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def save_document(docs_dir: Path, name: str, data: bytes, *, replace: bool) -> bool:
    """Write ``data`` as ``docs_dir/name`` atomically (a hidden temporary file, fsynced, then
    renamed over); returns whether an existing document was replaced. Without ``replace``
    an existing document is never overwritten (the final link fails if one appeared in the
    meantime), and a name differing from an existing one only in case is refused either
    way. ``name`` must already have passed :func:`check_name`."""
    if not docs_dir.is_dir():
        raise DocumentStoreError(f"the documents folder {docs_dir} does not exist")
    existing = _same_name(docs_dir, name)
    if existing is not None and existing != name:
        raise DocumentExistsError(
            f"`{shown_name(name)}` differs from the existing `{shown_name(existing)}` only in "
            "case: use that name (with replace) or another one"
        )
    target = docs_dir / name
    if existing is not None and not replace:
        raise DocumentExistsError(
            f"`{shown_name(name)}` already exists: add it with `replace: True` to overwrite it"
        )
    if existing is not None and (target.is_dir() and not target.is_symlink()):
        raise DocumentExistsError(f"`{shown_name(name)}` is a folder, not a document")
    part = docs_dir / f".upload-{secrets.token_hex(8)}{_PART}"
    try:
        with open(part, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(part, target)
        else:
            _link_new(part, target, name)
        _sync_dir(docs_dir)
    except OSError as exc:
        raise DocumentStoreError(f"cannot save `{shown_name(name)}`: {_reason(exc)}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return existing is not None


def _link_new(part: Path, target: Path, name: str) -> None:
    """Make ``part`` appear as ``target`` only if nothing is there (a hard link cannot
    replace a file); on file systems without hard links, check then rename."""
    try:
        os.link(part, target)
    except FileExistsError as exc:
        raise DocumentExistsError(f"`{shown_name(name)}` already exists") from exc
    except OSError:
        if target.exists() or target.is_symlink():
            raise DocumentExistsError(f"`{shown_name(name)}` already exists") from None
        os.replace(part, target)


def _sync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: some file systems cannot fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_document(docs_dir: Path, source: str) -> None:
    """Delete the document ``source`` (a ``/``-separated path relative to ``docs_dir``, as
    the index names it). A symlink is removed, never what it points to; nothing outside
    ``docs_dir`` is touched."""
    parts = PurePosixPath(source).parts
    if not parts or source.startswith("/") or "\\" in source or ".." in parts:
        raise DocumentNotFoundError(f"`{shown_name(source)}` is not a document name")
    path = docs_dir.joinpath(*parts)
    try:
        inside = path.parent.resolve().is_relative_to(docs_dir.resolve())
        if not inside or not (path.is_symlink() or path.is_file()):
            raise DocumentNotFoundError(
                f"`{shown_name(source)}` is not in the documents folder (any more)"
            )
        path.unlink()
        _sync_dir(path.parent)
    except FileNotFoundError as exc:
        raise DocumentNotFoundError(
            f"`{shown_name(source)}` is not in the documents folder (any more)"
        ) from exc
    except OSError as exc:
        raise DocumentStoreError(f"cannot remove `{shown_name(source)}`: {_reason(exc)}") from exc
