"""Shared fixtures: the repo's demo corpus, the shared data sets, article writers."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchidx import IngestReport, ingest
from searchidx.documents import Document, load_documents

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
SEED = SHARED / "seed" / "000_4e7d869d1a4b2b3a.txt"
SHARED_HTML = SHARED / "data" / "html"


def need(path: Path) -> Path:
    """Skip the test, saying why, when a shared data file is absent."""
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is missing (../shared is not beside the repo)")
    return path


def load_one(path: Path) -> Document:
    """The single document of a one-article file."""
    (document,) = load_documents(path)
    assert isinstance(document, Document)
    return document


def write_article(folder: Path, name: str, title: str, body: str, *, date: str = "", url: str = "") -> Path:
    """Write one article in the seed's text format."""
    lines = [f"# {title}", ""]
    if date:
        lines += [date, ""]
    lines.append(body)
    if url:
        lines += ["", "Original url:", "", f"<{url}>"]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestReport]:
    """The repo's demo corpus ingested once for the whole session."""
    index = tmp_path_factory.mktemp("corpus") / "index"
    return index, ingest(CORPUS, index=index)
