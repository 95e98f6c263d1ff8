"""Per-server knowledge bases: a server is answered from the shared documents and its own
("add") or its own only ("only"), never from another server's -- embedded and in PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embedding import Embedder
from index.engine import Engine, EngineConfig

ALPHA, BETA = 111_111_111_111_111_111, 222_222_222_222_222_222
PRIVATE = {
    ALPHA: (
        "alpha-secrets.md",
        "# Alpha guild handbook\n\nThe Alpha guild's vault code is 4417 and the vault sits under "
        "the old lighthouse on Marrow Point, opened only on Sundays.\n",
    ),
    BETA: (
        "beta-secrets.md",
        "# Beta guild handbook\n\nThe Beta guild keeps its treasure chest in the cellar of the "
        "Copperkettle inn in Dunmore, guarded by a parrot named Biscuit.\n",
    ),
}
ALPHA_QUESTION = "What is the vault code and where is the vault?"
BETA_QUESTION = "Where does the Beta guild keep its treasure chest?"
SHARED_QUESTION = "Where is the meeting between Kim and Putin held?"
SHARED_DOC = "kim-jong-un-putin-meeting.txt"


def private_docs(root: Path) -> Path:
    for server, (name, text) in PRIVATE.items():
        (root / str(server)).mkdir(parents=True)
        (root / str(server) / name).write_text(text, encoding="utf-8")
    return root


def quoted_sources(engine: Engine, server: int | None, question: str) -> set[str]:
    return {p.source for p in engine.answer(question, top_k=10, server=server).passages}


@pytest.fixture(params=["embedded", "postgresql"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "embedded":
        return ""
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.mark.parametrize("mode", ["add", "only"])
def test_a_server_never_gets_a_quote_from_another_servers_documents(
    mode: str, storage: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    config = EngineConfig(
        docs_dir,
        tmp_path / "index",
        server_docs_dir=private_docs(tmp_path / "servers"),
        server_docs_mode=mode,
        database_url=storage,
    )
    engine = Engine(config, embedder)
    try:
        engine.open()
        alpha = engine.answer(ALPHA_QUESTION, server=ALPHA)
        assert not alpha.abstained and "4417" in alpha.text
        assert alpha.passages[0].source == PRIVATE[ALPHA][0]
        for question in (ALPHA_QUESTION, BETA_QUESTION, SHARED_QUESTION):
            assert PRIVATE[BETA][0] not in quoted_sources(engine, ALPHA, question)
            assert PRIVATE[ALPHA][0] not in quoted_sources(engine, BETA, question)
            for outsider in (None, 333):  # a direct message, a server without documents
                assert quoted_sources(engine, outsider, question) <= {SHARED_DOC}
        beta_shared = engine.answer(SHARED_QUESTION, server=BETA)
        if mode == "add":
            assert not beta_shared.abstained and beta_shared.passages[0].source == SHARED_DOC
        else:
            assert SHARED_DOC not in quoted_sources(engine, BETA, SHARED_QUESTION)
        assert {d.source for d in engine.documents_for(ALPHA)} == (
            {SHARED_DOC, PRIVATE[ALPHA][0]} if mode == "add" else {PRIVATE[ALPHA][0]}
        )
    finally:
        engine.close()


def test_a_new_servers_documents_are_built_on_demand(
    embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    engine = Engine(
        EngineConfig(docs_dir, tmp_path / "index", server_docs_dir=tmp_path / "servers"),
        embedder,
    )
    engine.open()
    assert engine.answer(BETA_QUESTION, server=BETA).abstained
    folder = engine.server_docs(BETA)
    folder.mkdir(parents=True)
    (folder / PRIVATE[BETA][0]).write_text(PRIVATE[BETA][1], encoding="utf-8")
    report = engine.reindex(server=BETA)
    assert report.added == (PRIVATE[BETA][0],)
    answer = engine.answer(BETA_QUESTION, server=BETA)
    assert not answer.abstained and "Copperkettle" in answer.text
    assert engine.answer(BETA_QUESTION, server=ALPHA).abstained  # not created for Alpha


def test_a_servers_retriever_is_kept_while_its_indexes_serve(
    embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    """The bot's answer cache is keyed by what ``documents_for`` returns: the same object
    until one of the indexes a server reads is replaced."""
    engine = Engine(
        EngineConfig(docs_dir, tmp_path / "index", server_docs_dir=private_docs(tmp_path / "s")),
        embedder,
    )
    engine.open()
    alpha = engine.documents_for(ALPHA)
    assert engine.documents_for(ALPHA) is alpha and engine.retriever is engine.retriever
    assert engine.documents_for(333) is engine.documents_for(None)  # no documents of its own
    engine.reindex(server=ALPHA)
    assert engine.documents_for(ALPHA) is not alpha
    beta = engine.documents_for(BETA)
    engine.reindex()  # the shared index: every server's view changes
    assert engine.documents_for(BETA) is not beta
