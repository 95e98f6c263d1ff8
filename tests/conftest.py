"""Shared fixtures: the real embedding model (loaded once), document folders, log guards."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub in tests

import shutil
from pathlib import Path

import pytest

from index.embedding import Embedder

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    return Embedder()


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped source_docs/ that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(SOURCE_DOCS, target)
    return target
