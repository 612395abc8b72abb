"""Shared fixtures: the repo's demo corpus, the shared data sets, article writers."""

from __future__ import annotations

import ctypes
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from searchidx import IngestReport, ingest
from searchidx.engines.protocol import Backend, Filters
from searchidx.inputs.documents import Document, load_documents
from searchidx.query.parsing import parse_query

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
SEED = SHARED / "seed" / "000_4e7d869d1a4b2b3a.txt"
SHARED_HTML = SHARED / "data" / "html"


# A test that uses one of these is slow (a data set ingested whole, a server, a browser, a cluster),
# and so is every test run against the cluster engine: `pytest -m "not slow"` leaves them out.
SLOW_FIXTURES = {"layouts", "reuters_index", "opensearch_cluster", "browser", "address", "proxy"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow the tests that use a slow fixture or run on the cluster engine."""
    for item in items:
        params = getattr(item, "callspec", None)
        on_cluster = params is not None and "opensearch" in params.params.values()
        if on_cluster or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def need(path: Path) -> Path:
    """Skip the test, saying why, when a shared data file is absent."""
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is missing (../shared is not beside the repo)")
    return path


# Linux capabilities that let root read and write whatever the permission bits say.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24


def without_root_file_access() -> None:
    """In a child process before it starts: obey file permissions even as root (a no-op for other users).

    Dropping the two capabilities from the bounding set takes them away at the
    next ``exec``; tests of unreadable files and read-only folders then behave
    the same under CI's root as on a user's machine.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop root's file access for this test")


SYNTHETIC_WORDS = ["harbour", "storm", "election", "parliament", "budget", "wheat", "grain", "oil", "tanker",
                   "strike", "union", "court", "ruling", "minister", "treaty", "border", "trade", "tariff",
                   "bank", "rate", "inflation", "flood", "drought", "vaccine", "trial"]  # fmt: skip


def write_synthetic_corpus(folder: Path, articles: int) -> None:
    """Synthetic articles from a small vocabulary, 500 to a folder, the same on every run."""
    rng = random.Random(7)
    for number in range(articles):
        title = " ".join(rng.choices(SYNTHETIC_WORDS, k=4)).capitalize()
        body = "\n\n".join(" ".join(rng.choices(SYNTHETIC_WORDS, k=40)) + "." for _ in range(3))
        write_article(folder / f"{number // 500:02d}", f"{number:05d}.txt", title, body,
                      date=f"March {1 + number % 28}, 2016", url=f"https://news.example/{number}")  # fmt: skip


def stored_documents(index: Path) -> dict[str, dict[str, object]]:
    """Every document's stored fields in the index, by id."""
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(str(index)).searcher() as searcher:
        return {fields["id"]: fields for fields in searcher.all_stored_fields()}


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


@pytest.fixture(scope="session")
def opensearch_cluster() -> Iterator[Any]:
    """Three OpenSearch 2.19.6 nodes on loopback, one JVM each, from Maven jars (``cluster/``).

    Skipped with the reason on a machine without Java and Maven, or without the
    ``opensearch`` extra; in CI (``CI=true``) that is a failure instead.
    """
    import importlib.util
    import sys

    if importlib.util.find_spec("opensearchpy") is None:
        _cluster_unavailable("the OpenSearch client is not installed (pip install -e '.[test]')")
    sys.path.insert(0, str(REPO / "cluster"))
    import nodes

    cluster = nodes.Cluster(3)
    try:
        cluster.start()
    except nodes.ClusterUnavailableError as error:
        _cluster_unavailable(str(error))
    try:
        yield cluster
    finally:
        cluster.stop()


def _cluster_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the cluster tests: {reason}")
    pytest.skip(f"no OpenSearch cluster here: {reason}")


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Derived models (searchidx.meaning.quantizing) go to a folder of the test run, not the user's cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


def assert_id_rows_match_full_rows(backend: Backend, queries: list[str], depth: int) -> None:
    """``ids_only`` rows are the full rows' ids and scores; ``documents`` reads those named, and no other."""
    for text in queries:
        query = parse_query(text, backend.schema).query
        full = backend.run(query, depth, Filters(), "relevance", 0)
        ids = backend.run(query, depth, Filters(), "relevance", 0, ids_only=True)
        assert (ids.total, ids.exact) == (full.total, full.exact), text
        assert [(row.fields, row.score) for row in ids.rows] == [
            ({"id": row.fields["id"]}, row.score) for row in full.rows
        ], text
        chosen = full.rows[::5]
        found = backend.documents([row.fields["id"] for row in chosen] + ["0000000000000000"])
        assert found == {row.fields["id"]: row.fields for row in chosen}, text
