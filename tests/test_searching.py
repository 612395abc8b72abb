from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from searchidx import Hit, IngestReport, Results, ingest, search
from searchidx.errors import IndexNotFoundError, QueryError
from tests.conftest import write_article

SEED_TITLE = "President Putin to Visit China for World War II March"


def test_the_demo_query_finds_the_seed_article_first(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    hits = search("Putin parade", index=index, limit=5)
    first = hits[0]
    assert first.title == SEED_TITLE
    assert first.date == datetime(2015, 3, 20, tzinfo=UTC)
    assert first.url.startswith("https://www.themoscowtimes.com/2015/03/20/")
    assert first.path.endswith("000_4e7d869d1a4b2b3a.txt")
    assert first.score > 0
    marked = first.marked_snippet()
    assert "[[parade]]" in marked
    assert "[[Putin]]" in marked
    assert 150 <= len(first.snippet) <= 300


def test_results_are_a_sequence_of_frozen_hits(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    results = search("oil prices", index=index, limit=3)
    assert isinstance(results, Results)
    assert len(results) == 3
    assert results.total > 3
    assert all(isinstance(hit, Hit) for hit in results)
    assert [hit.rank for hit in results] == [1, 2, 3]
    assert results[0].score >= results[1].score >= results[2].score
    with pytest.raises(dataclasses.FrozenInstanceError):
        results[0].title = "changed"  # type: ignore[misc]
    assert "whoosh" not in repr(results).lower()


@pytest.fixture
def small_index(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    write_article(folder, "title.txt", "Volcano erupts on island", "Ash covered the villages nearby.")
    write_article(
        folder,
        "body.txt",
        "Weekly travel roundup",
        "Flights were delayed across the region. Farther south, a volcano was quiet. Hotels reopened.",
    )
    write_article(folder, "both.txt", "Airport reopens", "The airport reopened after the storm; flights resumed.",
                  date="March 3, 2016")  # fmt: skip
    write_article(
        folder, "old.txt", "Airport history", "The airport first opened in 1950.", date="June 1, 1990"
    )
    index = tmp_path / "index"
    ingest(folder, index=index)
    return index


def test_a_title_match_ranks_above_a_single_body_mention(small_index: Path) -> None:
    titles = [hit.title for hit in search("volcano", index=small_index)]
    assert titles == ["Volcano erupts on island", "Weekly travel roundup"]


def test_plain_words_match_any_word_and_more_words_rank_higher(small_index: Path) -> None:
    results = search("airport flights", index=small_index)
    assert results[0].title == "Airport reopens"
    assert {hit.title for hit in results} == {"Airport reopens", "Airport history", "Weekly travel roundup"}


def test_stems_match(small_index: Path) -> None:
    assert search("erupting volcanoes", index=small_index)[0].title == "Volcano erupts on island"


def test_query_language_phrases_booleans_fields_and_dates(small_index: Path) -> None:
    def titles(query: str) -> list[str]:
        return sorted(hit.title for hit in search(query, index=small_index))

    assert titles('"airport reopened"') == ["Airport reopens"]
    assert titles("airport AND storm") == ["Airport reopens"]
    assert titles("airport NOT storm") == ["Airport history"]
    assert titles("airport OR volcano NOT storm") == [
        "Airport history",
        "Volcano erupts on island",
        "Weekly travel roundup",
    ]
    assert titles("NOT airport") == ["Volcano erupts on island", "Weekly travel roundup"]
    assert titles("title:airport") == ["Airport history", "Airport reopens"]
    assert titles("body:quiet") == ["Weekly travel roundup"]
    assert titles("body:volcano") == [
        "Volcano erupts on island",
        "Weekly travel roundup",
    ]  # headline included
    assert titles("airport AND date:[2015 to 2017]") == ["Airport reopens"]
    assert titles("date:[2015 to 2017]") == ["Airport reopens"]


def test_a_hit_without_a_body_match_gets_the_opening_as_snippet(small_index: Path) -> None:
    hit = search("title:history", index=small_index)[0]
    assert hit.snippet == "The airport first opened in 1950."
    assert hit.highlights == ()


@pytest.mark.parametrize("query", ["", "   ", "the", "!!! ...", "and the of"])
def test_a_query_without_searchable_words_is_an_error(small_index: Path, query: str) -> None:
    with pytest.raises(QueryError):
        search(query, index=small_index)


def test_a_query_without_matches_gives_empty_results(small_index: Path) -> None:
    results = search("zebra", index=small_index)
    assert (len(results), results.total, list(results)) == (0, 0, [])


def test_a_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="Run `searchidx ingest DIR` first"):
        search("x", index=tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError):
        search("x", index=tmp_path / "empty")


def test_the_limit_must_be_positive(small_index: Path) -> None:
    with pytest.raises(QueryError, match="limit"):
        search("airport", index=small_index, limit=0)


@pytest.mark.parametrize(
    "query", ["putin parade", "oil prices opec", "grain exports -wheat", '"trade deficit" japan']
)
def test_array_scoring_ranks_and_counts_like_whoosh_default(
    corpus_index: tuple[Path, IngestReport], query: str
) -> None:
    from whoosh import index as whoosh_index
    from whoosh.collectors import TopCollector

    from searchidx.query.parsing import parse_query
    from searchidx.query.ranking import weighting

    index, _ = corpus_index
    ix = whoosh_index.open_dir(str(index))
    with ix.searcher(weighting=weighting()) as searcher:
        collector = TopCollector(10, usequality=False, replace=0)  # Whoosh's union-matcher tree
        searcher.search_with_collector(parse_query(query, ix.schema).query, collector)
        expected = [
            (searcher.stored_fields(hit.docnum)["id"], round(hit.score, 6)) for hit in collector.results()
        ]
        total = len(collector.results())
    results = search(query, index=index, snippets=0)
    assert [(hit.id, round(hit.score, 6)) for hit in results] == expected
    assert results.total == total


def test_an_index_without_documents_answers_every_request(tmp_path: Path) -> None:
    from searchidx import Index
    from searchidx.engines.whoosh.storage import index_storage, open_or_create_index

    index = tmp_path / "index"
    index_storage(index)
    open_or_create_index(index)  # what an ingest interrupted before its first commit leaves
    with Index(index) as ix:
        assert ix.stats().documents == 0
        results = ix.search("oil", sort="date", facets=("year", "source"), since="2015")
        assert (results.total, results.facets) == (0, {"year": {}, "source": {}})
        write_article(tmp_path / "articles", "a.txt", "Oil output rises", "Oil output rose in March.")
        ingest(tmp_path / "articles", index=index)
        assert [hit.title for hit in ix.search("oil")] == ["Oil output rises"]  # the open Index sees it
