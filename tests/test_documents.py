"""The documents folder from Discord: the file-name rule, atomic saves, removal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.shared.documents import (
    DocumentExistsError,
    DocumentNameError,
    DocumentNotFoundError,
    DocumentStoreError,
    check_name,
    remove_document,
    save_document,
)
from index.engine import DOCUMENT_SUFFIXES


@pytest.mark.parametrize(
    "name",
    [
        "guide.md",
        "Release notes 2024.TXT",
        "getting_started-v2.rst",
        "café menu.html",  # composed é: NFKC-stable, Latin
        "Привет мир.txt",  # Cyrillic alone
        "Ελληνικά.pdf",  # Greek alone (the suffix is not counted)
        "日本語 guide.md",  # Han + Latin: an allowed combination
        "ひらがな カタカナ 漢字.txt",  # Hiragana + Katakana + Han
        "한국어 문서.md",  # Hangul
        "x" * 97 + ".md",
    ],
)
def test_good_names_pass(name: str) -> None:
    assert check_name(name, DOCUMENT_SUFFIXES) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("x" * 98 + ".md", "longer than 100"),
        ("日" * 90 + ".md", "longer than 100"),  # 270 bytes in UTF-8
        ("../etc/passwd.txt", r"path in it"),
        ("docs/guide.md", r"path in it"),
        ("/abs/guide.md", r"path in it"),
        ("C:\\guide.md", r"path in it"),
        ("guide..md", r"'\.\.'"),
        ("..", r"'\.\.'"),
        (".hidden.md", "start with a letter or a digit"),
        ("-rf.md", "start with a letter or a digit"),
        (" guide.md", "start with a letter or a digit"),
        ("line\nbreak.md", r"control or invisible character \(U\+000A"),
        ("tab\there.md", r"control or invisible character \(U\+0009"),
        ("zero\u200bwidth.md", r"control or invisible character \(U\+200B ZERO WIDTH SPACE"),
        ("evil\u202etxt.md", r"control or invisible character \(U\+202E"),
        ("ｆｕｌｌ.md", "look-alike"),  # full-width letters
        ("ﬁle.md", "look-alike"),  # a ligature
        ("cafe\u0301.md", "look-alike"),  # a separate combining accent
        ("nbsp\u00a0here.md", "look-alike"),  # no-break space
        ("pаypal.txt", r"mixes writing systems \(Cyrillic and Latin\)"),  # Cyrillic а
        ("Αpple.md", r"mixes writing systems \(Greek and Latin\)"),  # Greek capital alpha
        ("what?.md", r"not allowed \(U\+003F QUESTION MARK"),
        ("a:b.md", r"not allowed \(U\+003A COLON"),
        ("smile☺.md", r"not allowed \(U\+263A"),
        ("notes.docx", r"unsupported file type \(\.docx\); use one of \.htm"),
        ("notes", r"unsupported file type \(no extension\)"),
    ],
)
def test_bad_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(DocumentNameError, match=reason):
        check_name(name, DOCUMENT_SUFFIXES)


def test_save_is_atomic_and_never_overwrites_without_replace(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    assert save_document(docs, "guide.md", b"# One\n\nfirst", replace=False) is False
    assert (docs / "guide.md").read_bytes() == b"# One\n\nfirst"
    with pytest.raises(DocumentExistsError, match="already exists: add it with `replace: True`"):
        save_document(docs, "guide.md", b"second", replace=False)
    with pytest.raises(DocumentExistsError, match=r"differs from the existing `guide\.md` only in"):
        save_document(docs, "Guide.md", b"second", replace=True)
    assert (docs / "guide.md").read_bytes() == b"# One\n\nfirst"
    assert save_document(docs, "guide.md", b"# Two\n\nsecond", replace=True) is True
    assert (docs / "guide.md").read_bytes() == b"# Two\n\nsecond"
    assert sorted(p.name for p in docs.iterdir()) == ["guide.md"]  # no temporary files left


def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(DocumentStoreError, match=r"cannot save `guide\.md`: no space left"):
        save_document(docs, "guide.md", b"new", replace=True)
    assert sorted(p.name for p in docs.iterdir()) == ["guide.md"]
    assert (docs / "guide.md").read_bytes() == b"old"


def test_save_refuses_a_missing_folder_and_a_folder_name(tmp_path: Path) -> None:
    with pytest.raises(DocumentStoreError, match="does not exist"):
        save_document(tmp_path / "nope", "guide.md", b"x", replace=False)
    (tmp_path / "guide.md").mkdir()
    with pytest.raises(DocumentExistsError, match="is a folder"):
        save_document(tmp_path, "guide.md", b"x", replace=True)


def test_remove_deletes_documents_and_links_but_nothing_outside(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "deep.md").write_text("x")
    outside = tmp_path / "outside.md"
    outside.write_text("keep me")
    (docs / "link.md").symlink_to(outside)
    remove_document(docs, "sub/deep.md")
    remove_document(docs, "link.md")
    assert not (docs / "sub" / "deep.md").exists() and not (docs / "link.md").is_symlink()
    assert outside.read_text() == "keep me"
    for source in ("sub/deep.md", "../outside.md", "/etc/passwd", "sub", "", "a\\b.md"):
        with pytest.raises(DocumentNotFoundError):
            remove_document(docs, source)
    assert outside.exists()
