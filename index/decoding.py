"""Bytes of a text file to text: UTF-8, UTF-16/32 with a byte-order mark, or Windows-1252.

Real documents come from editors that save in the old Windows encoding or as UTF-16; a
person opening them sees text, so the loader does too. Binary files are told apart by NUL
bytes (outside UTF-16/32) and by control characters in what decodes.
"""

from __future__ import annotations

import codecs

from index.errors import DocumentError

BINARY_SNIFF_BYTES = 8192
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
MAX_CONTROL_SHARE = 0.01


def bom_encoding(data: bytes) -> str | None:
    """The encoding named by ``data``'s byte-order mark, if it has one."""
    return next((name for bom, name in _BOMS if data.startswith(bom)), None)


def decode_text(data: bytes) -> str:
    """Decode a text file; raise DocumentError("binary file" / "empty file" / ...).

    A byte-order mark decides; otherwise UTF-8, and if that fails Windows-1252 (a superset
    of Latin-1's printable characters), falling back to Latin-1 for the five bytes
    Windows-1252 leaves undefined. Text with more than 1% control characters is binary.
    """
    encoding = bom_encoding(data)
    if encoding is None and b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise DocumentError("binary file")
    try:
        text = data.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        if encoding is not None:
            raise DocumentError(f"not valid {encoding.upper()} text") from exc
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    if encoding == "utf-8-sig" or text.startswith("\ufeff"):
        text = text.removeprefix("\ufeff")
    controls = sum(1 for c in text if c < " " and c not in _ALLOWED_CONTROLS)
    if controls > MAX_CONTROL_SHARE * max(1, len(text)):
        raise DocumentError("binary file")
    if not text.strip():
        raise DocumentError("empty file")
    return text
