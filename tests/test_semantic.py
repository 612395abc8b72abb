"""Searching by meaning: the verified model, vectors kept in step with the index, hybrid and semantic modes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from falcon import testing

from searchidx import Index, IngestObserver, ingest
from searchidx.errors import NoVectorsError, QueryError, SemanticUnavailableError
from searchidx.meaning.vectors import FOLDER, open_store
from searchidx.outputs.cli import cli
from searchidx.searching.fusion import CANDIDATES, rerank
from tests.conftest import write_article

semantic = pytest.importorskip("searchidx.meaning.model")
if not semantic.available():
    pytest.skip(
        "the semantic extra is not installed (pip install -e '.[test]' brings it)", allow_module_level=True
    )

# The paraphrase: no word of the query "sanctions against Moscow" is in it.
PARAPHRASE = (
    "Punitive measures imposed on Russia",
    "Western governments froze the assets of Russian banks and barred exports to the Kremlin's suppliers.",
)
ARTICLES = [
    ("a1.txt", "Harbour reopens after the flood", "Boats returned to the harbour as the water receded."),
    ("a2.txt", "Council delays the budget vote", "The city council put off the budget vote for a week."),
    ("a3.txt", "Festival draws crowds to the valley", "Thousands came to hear music in the valley."),
    (
        "a4.txt",
        "Moscow theatre opens its season",
        "The Bolshoi opened its season in Moscow with a new ballet.",
    ),
    ("a5.txt", *PARAPHRASE),
    ("a6.txt", "Wheat harvest breaks a record", "Farmers brought in the largest wheat harvest on record."),
]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    for name, title, body in ARTICLES:
        write_article(folder, name, title, body, date="2020-01-02")
    return folder


def test_the_model_files_are_the_published_ones_and_a_changed_copy_is_refused(tmp_path: Path) -> None:
    model = semantic.package_file(semantic.MODEL_PACKAGE, semantic.MODEL_FILE)
    tokenizer = semantic.package_file(semantic.TOKENIZER_PACKAGE, semantic.TOKENIZER_FILE)
    assert semantic.verified(model, semantic.MODEL_SHA256) == model
    # The tokenizer is byte for byte sentence-transformers/all-MiniLM-L6-v2's published tokenizer.json.
    assert semantic.verified(tokenizer, semantic.TOKENIZER_SHA256) == tokenizer
    changed = tmp_path / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    with pytest.raises(SemanticUnavailableError, match="not the one searchidx was tested with"):
        semantic.verified(changed, semantic.MODEL_SHA256)


@pytest.mark.slow  # derives the model twice
def test_the_int8_model_is_derived_once_cached_with_its_hash_and_a_damaged_copy_is_derived_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx.meaning.quantizing import cache_folder, quantized_model

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    upstream, _ = semantic.verified_files()
    first = quantized_model(upstream, semantic.MODEL_SHA256)
    (cached,) = cache_folder().glob("*.onnx")
    assert cached.read_bytes() == first
    assert hashlib.sha256(first).hexdigest() == cached.with_suffix(".sha256").read_text().strip()
    # Its products are int8 ones (the packaged model's run in float32).
    assert b"MatMulInteger" in first
    assert b"MatMulInteger" not in upstream.read_bytes()
    damaged = bytearray(first)
    damaged[len(damaged) // 2] ^= 1
    cached.write_bytes(bytes(damaged))
    assert quantized_model(upstream, semantic.MODEL_SHA256) == first  # derived again: the same bytes
    assert cached.read_bytes() == first


def test_the_int8_vectors_are_within_a_cosine_of_0_98_of_the_packaged_models() -> None:
    import onnxruntime

    texts = [" ".join(PARAPHRASE), *(" ".join(article[1:]) for article in ARTICLES)]
    fast = semantic.embedder().documents(texts)
    upstream, _ = semantic.verified_files()
    packaged = semantic.Embedder()  # the same tokenizer and pooling, run on the packaged float32 model
    packaged._session = onnxruntime.InferenceSession(str(upstream), providers=["CPUExecutionProvider"])
    slow = packaged.documents(texts)
    assert np.all(np.sum(fast * slow, axis=1) > 0.98)


def test_vectors_are_unit_length_and_a_paraphrase_is_closer_than_an_unrelated_text() -> None:
    model = semantic.embedder()
    vectors = model.documents([" ".join(PARAPHRASE), " ".join(ARTICLES[2][1:])])
    query = model.query("sanctions against Moscow")
    assert vectors.shape == (2, semantic.DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ query > vectors[1] @ query + 0.1


def test_hybrid_finds_the_paraphrase_that_keyword_search_misses(archive: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    report = ingest(archive, index=index, semantic=True)
    assert report.embedded == len(ARTICLES)
    with Index(index) as ix:
        keyword = ix.search("sanctions against Moscow", mode="keyword")
        hybrid = ix.search("sanctions against Moscow")  # hybrid: the default on an index with vectors
    assert PARAPHRASE[0] not in [hit.title for hit in keyword]
    assert hybrid.mode == "hybrid"
    # The matches are the keyword matches; the paraphrase follows them, found by meaning, not counted.
    assert (hybrid.total, {hit.id for hit in hybrid}) == (keyword.total, {hit.id for hit in keyword})
    assert not any(hit.by_meaning for hit in hybrid)
    assert hybrid[0].title == "Moscow theatre opens its season"
    assert hybrid[0].highlights  # the words are marked
    found = {hit.title: hit for hit in hybrid.found_by_meaning}
    assert found[PARAPHRASE[0]].by_meaning
    assert [hit.rank for hit in hybrid.following] == list(range(hybrid.total + 1, len(ARTICLES) + 1))
    assert not hybrid.related  # meaning fills the page: no related articles in a hybrid search


def test_semantic_mode_ranks_by_closeness_and_tells_hits_without_the_words(
    archive: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    ingest(archive, index=index, semantic=True)
    with Index(index) as ix:
        results = ix.search("sanctions against Moscow", mode="semantic", limit=3)
        dated = ix.search("harvest", mode="semantic", since="2021")
        with pytest.raises(QueryError, match="ranked by closeness"):
            ix.search("harvest", mode="semantic", sort="date")
    # Ranked by meaning alone, the matches (the one article holding "Moscow") come first, then the
    # paraphrase, found by meaning, labelled and not counted.
    assert [hit.title for hit in results] == ["Moscow theatre opens its season"]
    assert results.total == 1
    assert results.found_by_meaning[0].title == PARAPHRASE[0]
    assert results.found_by_meaning[0].by_meaning
    closeness = [hit.score for hit in results.found_by_meaning]
    assert closeness == sorted(closeness, reverse=True)
    assert (dated.total, dated.hits, dated.found_by_meaning) == (0, (), ())  # the filter applies to vectors


class EmbeddingProgress(IngestObserver):
    def __init__(self) -> None:
        self.told: list[tuple[int, int]] = []

    def embedding(self, done: int, total: int) -> None:
        self.told.append((done, total))


def test_re_ingest_embeds_only_what_changed_and_drops_what_is_gone(archive: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    progress = EmbeddingProgress()
    assert ingest(archive, index=index, semantic=True, observer=progress).embedded == len(ARTICLES)
    assert progress.told[-1] == (len(ARTICLES), len(ARTICLES))
    assert ingest(archive, index=index).embedded == 0  # remembered by the index, nothing changed
    write_article(archive, "a2.txt", "Council passes the budget", "The budget passed after a long night.")
    write_article(archive, "a7.txt", "Ferry service resumes", "The ferry to the island runs again.")
    (archive / "a6.txt").unlink()
    report = ingest(archive, index=index)
    assert (report.embedded, report.added, report.updated, report.removed) == (2, 1, 1, 1)
    store = open_store(index)
    assert store is not None
    with Index(index) as ix:
        assert sorted(store.entries()) == sorted(
            hit.id for hit in ix.search("zqxjv", mode="semantic", limit=50).following
        )
        assert len(store) == ix.document_count() == len(ARTICLES)
        assert ix.search("budget passed", mode="semantic")[0].title == "Council passes the budget"
        assert ix.search("quorum agreed", mode="semantic").following[0].title == "Council passes the budget"


def test_an_ingest_killed_before_the_vectors_were_written_is_completed_by_the_next(
    archive: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    ingest(archive, index=index, semantic=True)
    kept = tmp_path / "old-vectors"
    shutil.copytree(index / FOLDER, kept)
    (archive / "a1.txt").unlink()
    write_article(archive, "a8.txt", "Ferry service resumes", "The ferry to the island runs again.")
    ingest(archive, index=index)
    # As if the process died after the index's commit, before the new vectors replaced the old ones:
    shutil.rmtree(index / FOLDER)
    shutil.copytree(kept, index / FOLDER)
    with Index(index) as ix:  # a vector of a removed document is passed over, not an error
        titles = [hit.title for hit in ix.search("harbour flood", mode="semantic", limit=20).following]
    assert "Harbour reopens after the flood" not in titles
    assert "Ferry service resumes" not in titles  # it has no vector yet
    assert ingest(archive, index=index).embedded == 1
    with Index(index) as ix:
        found = ix.search("boat to the island", mode="semantic")
        assert "Ferry service resumes" in [hit.title for hit in (*found, *found.following)]


class StopWhileEmbedding(IngestObserver):
    def embedding(self, done: int, total: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the index's commit, while the vectors are made


def test_an_ingest_stopped_while_embedding_keeps_its_commit_and_the_next_one_embeds(
    archive: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        ingest(archive, index=index, semantic=True, observer=StopWhileEmbedding())
    assert open_store(index) is None
    with Index(index) as ix:
        assert ix.document_count() == len(ARTICLES)
    report = ingest(archive, index=index)  # --semantic was remembered with the first commit
    assert (report.unchanged, report.embedded) == (len(ARTICLES), len(ARTICLES))


def test_no_semantic_drops_the_vectors_and_keyword_becomes_the_default(archive: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    ingest(archive, index=index, semantic=True)
    ingest(archive, index=index, semantic=False)
    assert open_store(index) is None
    with Index(index) as ix:
        assert ix.search("harvest").mode == "keyword"
        assert ix.modes() == ("keyword",)
        with pytest.raises(NoVectorsError):
            ix.search("harvest", mode="hybrid")


def test_an_index_without_vectors_answers_semantic_mode_with_one_sentence(
    archive: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    ingest(archive, index=index)
    result = CliRunner().invoke(cli, ["query", "--index", str(index), "--mode", "semantic", "harvest"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "searchidx: This index has no vectors to search by meaning. Build them with "
        "`searchidx ingest DIR --semantic`, or search with --mode keyword."
    )
    assert "Traceback" not in result.output


def test_the_cli_ingests_with_vectors_and_shows_hits_found_by_meaning(archive: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    ingested = CliRunner().invoke(cli, ["ingest", str(archive), "--index", str(index), "--semantic"])
    assert ingested.exit_code == 0, ingested.output
    assert "6 vectors made" in ingested.output
    result = CliRunner().invoke(cli, ["query", "--index", str(index), "sanctions", "against", "Moscow"])
    assert result.exit_code == 0, result.output
    assert "found by meaning (none of the words)" in result.output
    as_json = CliRunner().invoke(
        cli, ["query", "--index", str(index), "--json", "--mode", "hybrid", "Moscow"]
    )
    assert '"mode": "hybrid"' in as_json.output
    assert '"by_meaning": true' in as_json.output
    assert '"total": 1,' in as_json.output


def test_the_web_page_switches_mode_and_labels_hits_found_by_meaning(archive: Path, tmp_path: Path) -> None:
    from searchidx.outputs.web.app import create_app

    index = tmp_path / "index"
    ingest(archive, index=index, semantic=True)
    client = testing.TestClient(create_app(index))
    page = client.simulate_get("/", params={"q": "sanctions against Moscow"})
    assert page.status_code == 200
    assert 'aria-current="true">Words and meaning</a>' in page.text
    assert "mode=semantic" in page.text
    assert "found by meaning" in page.text
    words_only = client.simulate_get("/", params={"q": "sanctions against Moscow", "mode": "keyword"})
    assert "found by meaning" not in words_only.text
    # The filters form and the search box keep the mode chosen.
    assert words_only.text.count('<input type="hidden" name="mode" value="keyword">') >= 2
    api = client.simulate_get("/api/search", params={"q": "sanctions against Moscow", "mode": "semantic"})
    assert api.json["mode"] == "semantic"
    assert api.json["hits"][0]["title"] == "Moscow theatre opens its season"
    assert api.json["found_by_meaning"][0]["title"] == PARAPHRASE[0]
    assert client.simulate_get("/api/search", params={"q": "x", "mode": "vibes"}).status_code == 400


def test_hybrid_re_ranks_the_best_matches_and_keeps_every_match_in_its_place() -> None:
    keyword = [(f"k{rank}", 100.0 - rank) for rank in range(3 * CANDIDATES)]
    nearest = [0.9 - rank / 1000 for rank in range(CANDIDATES)]
    closeness = {doc: 0.5 for doc, _ in keyword} | {"k99": 0.95}
    shallow = rerank(keyword[:CANDIDATES], closeness, nearest)
    deep = rerank(keyword, closeness, nearest)
    assert deep[:CANDIDATES] == shallow  # a page never depends on how deep the search went
    assert [item.doc_id for item in deep[CANDIDATES:]] == [doc for doc, _ in keyword[CANDIDATES:]]
    assert [item.doc_id for item in shallow].index("k99") < CANDIDATES - 1  # its meaning lifts it
    by_meaning = rerank(keyword[:CANDIDATES], closeness, nearest, weight=0.0)
    assert by_meaning[0].doc_id == "k99"
