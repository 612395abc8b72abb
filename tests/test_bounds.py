"""What one query may cost: expansions bounded by frequency, ``*`` as every article, and deadlines."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import product
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from whoosh import query as wq

from searchidx import Index, SearchTimeoutError
from searchidx.errors import QueryError
from searchidx.query.bounds import (
    MAX_EXPANSIONS,
    MAX_FUZZY_EXPANSIONS,
    MAX_FUZZY_WORDS,
    MAX_PHRASE_WORDS,
    MAX_QUERY_WORDS,
    Expansion,
)
from searchidx.query.deadlines import within
from searchidx.query.fields import SCHEMA_VERSION, build_schema
from searchidx.query.parsing import bounded, fuzzy, parse_query
from tests.conftest import write_article

# 121 words of one prefix ("qx"), none changed by the stemmer: the first 21 in term order are in one
# article each, the other 100 in three articles each, so the 100 most frequent are not the first 100.
WORDS = ["qx" + first + second + "k" for first, second in product("bcdfgklmnpr", repeat=2)]
RARE, FREQUENT = WORDS[:21], WORDS[21:]
DATES = ["March 3, 2016", "May 9, 2015", "", "January 2, 2017", "July 4, 2016"]
SOURCES = ["https://www.harbour.example/a", "https://news.example/b", "https://news.example/c", "", ""]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bounds") / "articles"
    for number in range(3):
        write_article(folder, f"common-{number}.txt", f"Quarterly figures {number}",
                      "The figures name " + " ".join(FREQUENT) + ".", date="June 1, 2016")  # fmt: skip
    for number, word in enumerate(RARE):
        write_article(folder, f"rare-{number:02d}.txt", f"Rare note {number}", f"A rare {word} was seen.")
    for number, (when, url) in enumerate(zip(DATES, SOURCES, strict=True)):
        write_article(folder, f"plain-{number}.txt", f"Harbour storm {number}",
                      "The storm closed the harbour and the oil tanker waited.", date=when, url=url)  # fmt: skip
    from searchidx import ingest

    index = folder.parent / "index"
    ingest(folder, index=index)
    return index


def expansion_words(index: Path, query: str) -> dict[str, tuple[str, ...]]:
    """The words each field's expansion of ``query`` searches, after the index's bounds."""
    with Index(index) as ix:
        parsed = bounded(parse_query(query, ix._backend.schema), ix._backend.lexicon())
    found: dict[str, tuple[str, ...]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Expansion):
            found[node.fieldname] = node.words
        for child in [] if isinstance(node, Expansion) else node.children():
            walk(child)

    walk(parsed.query)
    return found


# ------------------------------------------------------------ prefixes and wildcards


def test_a_prefix_past_its_bound_searches_its_most_frequent_words_and_says_so(archive: Path) -> None:
    assert len(WORDS) > MAX_EXPANSIONS == len(FREQUENT)
    assert expansion_words(archive, "qx*")["body"] == tuple(FREQUENT)  # not the first 100 in term order
    with Index(archive) as ix:
        results = ix.search("qx*", limit=50, all_versions=True)  # three versions of one story
    assert results.notes == (
        f"qx* stands for {len(WORDS)} words; the {MAX_EXPANSIONS} most frequent were searched.",
    )
    assert results.total == 3  # the articles holding the frequent words; the rare ones were not searched
    assert {hit.title for hit in results.hits} == {f"Quarterly figures {number}" for number in range(3)}
    assert results.parsed_query == "(title:qx* OR body:qx*)"
    marked = [results.hits[0].snippet[start:end].lower() for start, end in results.hits[0].highlights]
    assert marked
    assert set(marked) <= set(FREQUENT)


def test_a_wildcard_is_bounded_the_same_way(archive: Path) -> None:
    assert expansion_words(archive, "qx*k")["body"] == tuple(FREQUENT)
    with Index(archive) as ix:
        assert ix.search("qx*k").notes == (
            f"qx*k stands for {len(WORDS)} words; the {MAX_EXPANSIONS} most frequent were searched.",
        )


def test_a_prefix_within_its_bound_is_searched_whole_and_ranked_as_whoosh_ranks_its_words(
    archive: Path,
) -> None:
    words = [word for word in WORDS if word.startswith("qxc")]  # 10 rare words and a frequent one
    assert expansion_words(archive, "qxc*")["body"] == tuple(words)
    with Index(archive) as ix:
        results = ix.search("qxc*", limit=50, snippets=0)
        plain = ix.search(" ".join(words), limit=50, snippets=0, exact=True, related=False)
    assert results.notes == ()
    assert results.total == plain.total == 3 + sum(word in RARE for word in words)
    # The words OR-ed as plain words: the same documents, in the same order, with the same scores.
    assert [hit.id for hit in results.hits] == [hit.id for hit in plain.hits]
    assert [hit.score for hit in results.hits] == pytest.approx([hit.score for hit in plain.hits])


def test_a_range_of_words_is_bounded_the_same_way(archive: Path) -> None:
    assert expansion_words(archive, "body:[qxa TO qxz]")["body"] == tuple(FREQUENT)
    with Index(archive) as ix:
        results = ix.search("body:[qxa TO qxz]")
        assert results.notes == (
            f"[qxa TO qxz] stands for {len(WORDS)} words; the {MAX_EXPANSIONS} most frequent were searched.",
        )
        assert results.total == 3
        assert ix.search("body:{qxbbk TO qxbdk]").total == 2  # qxbck and qxbdk, in one rare article each


def test_a_query_of_many_patterns_shares_one_bound(archive: Path) -> None:
    with Index(archive) as ix:
        parsed = bounded(
            parse_query("qx* qxb* qxc* qxd* qxf* qxg*", ix._backend.schema), ix._backend.lexicon()
        )
    assert parsed.notes == (f"qx* stands for {len(WORDS)} words; the 41 most frequent were searched.",)


def test_a_leading_wildcard_is_refused_with_a_sentence(archive: Path) -> None:
    with Index(archive) as ix, pytest.raises(QueryError, match="starts with a wildcard") as refused:
        ix.search("*bbk")
    assert "'*bbk'" in refused.value.message
    assert "first letter" in refused.value.message
    with pytest.raises(QueryError, match="starts with a wildcard"):
        parse_query("storm title:*orm", build_schema())


def test_url_star_is_an_empty_prefix_bounded_as_any_other(archive: Path) -> None:
    assert parse_query("url:*", build_schema()).query == wq.Prefix("url", "")
    with Index(archive) as ix:
        results = ix.search("url:*", limit=50)
    assert results.total == 3  # the articles with a URL


# ------------------------------------------------------------ every article


@pytest.mark.parametrize("query", ["*", "title:*", "body:*"])
def test_star_is_every_article_read_as_such(archive: Path, query: str) -> None:
    parsed = parse_query(query, build_schema())
    assert str(parsed.query) == "*"
    assert parsed.notes == ()
    with Index(archive) as ix:
        everything = ix.document_count()
        results = ix.search(query, limit=100, snippets=0, related=False, all_versions=True)
    assert results.total == everything == 29
    assert results.total_is_exact
    assert len({hit.id for hit in results.hits}) == everything
    assert {hit.score for hit in results.hits} == {1.0}  # no ranking: index order


def test_star_sorted_by_date_and_filtered(archive: Path) -> None:
    with Index(archive) as ix:
        newest = ix.search("*", sort="-date", limit=100, all_versions=True)
        oldest = ix.search("*", sort="date", limit=100, all_versions=True)
        dated_2016 = ix.search("*", since="2016-01-01", until="2016-12-31", limit=100, all_versions=True)
        harbour = ix.search("*", source="harbour.example", all_versions=True)
        first_page = ix.search("*", limit=5, all_versions=True)
    dates = [hit.date for hit in newest.hits if hit.date is not None]
    assert dates == sorted(dates, reverse=True)
    assert newest.hits[0].date == datetime.fromisoformat("2017-01-02T00:00:00+00:00")
    assert all(hit.date is None for hit in newest.hits[len(dates) :])  # no date last
    assert [hit.date for hit in oldest.hits if hit.date is not None] == sorted(dates)
    assert newest.total == oldest.total == 29
    assert dated_2016.total == 5
    assert {hit.date.year for hit in dated_2016.hits if hit.date} == {2016}
    assert harbour.total == 1
    assert harbour.hits[0].source == "harbour.example"
    assert len(first_page.hits) == 5
    assert first_page.total == 29


# ------------------------------------------------------------ fuzzy words, phrases, many words


def test_a_fuzzy_word_past_its_bound_searches_its_most_frequent_near_spellings(archive: Path) -> None:
    with Index(archive) as ix:
        parsed = bounded(parse_query("qxbbk~2", ix._backend.schema), ix._backend.lexicon())
        results = ix.search("qxbbk~2", limit=50)
    body = next(node for node in parsed.query.children() if node.fieldname == "body")
    assert len(body._stems) == MAX_FUZZY_EXPANSIONS
    assert set(body._stems) == set(FREQUENT[:MAX_FUZZY_EXPANSIONS])  # all equally frequent: term order
    assert parsed.notes == (
        f"qxbbk~2 stands for {len(WORDS)} words; the {MAX_FUZZY_EXPANSIONS} most frequent were searched.",
    )
    assert results.notes == parsed.notes
    assert results.total == 3


def test_at_most_five_words_of_a_query_are_fuzzy(archive: Path) -> None:
    words = ["harbour", "storm", "tanker", "figures", "quarterly", "waited", "closed"]
    parsed = parse_query(" ".join(f"{word}~" for word in words), build_schema())
    fuzzy_words = {node.typed for node in _nodes(parsed.query) if isinstance(node, wq.FuzzyTerm)}
    assert MAX_FUZZY_WORDS == 5
    assert fuzzy_words == set(words[:MAX_FUZZY_WORDS])
    assert parsed.notes == (
        "The query has 7 fuzzy words (word~); the first 5 were searched with their near spellings, "
        "the others as typed: waited, closed.",
    )
    with Index(archive) as ix:
        results = ix.search(" ".join(f"{word}~" for word in words))
    assert results.notes == parsed.notes
    assert results.total > 0
    # The fallback that makes every word fuzzy when nothing matches keeps the same bound.
    plain = parse_query("harbr strom tankr figurs quartrly waitd closd", build_schema())
    loosened = {node.typed for node in _nodes(fuzzy(plain)) if isinstance(node, wq.FuzzyTerm)}
    assert len(loosened) == MAX_FUZZY_WORDS


def test_a_long_phrase_is_searched_on_its_first_words(archive: Path) -> None:
    words = ["harbour", "storm", "tanker", "figures", "quarterly", "waited"] * 5
    parsed = parse_query('"' + " ".join(words) + '"', build_schema())
    phrases = [node for node in _nodes(parsed.query) if isinstance(node, wq.Phrase)]
    assert phrases
    assert all(len(node.words) == MAX_PHRASE_WORDS for node in phrases)
    assert parsed.notes == (
        f"A phrase of 30 words (stop words aside) was searched on its first {MAX_PHRASE_WORDS}.",
    )
    with Index(archive) as ix:
        assert ix.search('"storm closed the harbour"').total == 5


def test_at_most_a_hundred_different_words_are_searched() -> None:
    words = ["zq" + first + second + "k" for first, second in product("bcdfghklmnprt", repeat=2)][:150]
    parsed = parse_query(" ".join(words), build_schema())
    searched = {node.text for node in _nodes(parsed.query) if type(node) is wq.Term}
    assert len(searched) == MAX_QUERY_WORDS == 100
    assert parsed.notes == ("The query has 150 different words; the first 100 were searched.",)
    assert len(parsed.words) == MAX_QUERY_WORDS  # nor are the others spell-checked


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children():
        yield from _nodes(child)


# ------------------------------------------------------------ deadlines


def test_a_search_past_its_deadline_raises_the_timeout_error(archive: Path) -> None:
    with Index(archive) as ix:
        document = ix.search("harbour").hits[0].id
        for search in (
            lambda: ix.search("qx* harbour~", deadline=time.monotonic()),
            lambda: ix.search("*", sort="-date", deadline=0.0),
            lambda: ix.search('"storm closed"', sort="date", deadline=time.monotonic()),
            lambda: ix.trend("storm", deadline=time.monotonic()),
            lambda: ix.similar(document, deadline=time.monotonic()),
            lambda: list(ix.every_hit("qx*", deadline=time.monotonic())),
        ):
            with pytest.raises(SearchTimeoutError, match="budget") as stopped:
                search()
            assert stopped.value.exit_code == 2
        # A deadline still ahead changes nothing.
        given = ix.search("qx* storm~", deadline=time.monotonic() + 600)
        free = ix.search("qx* storm~")
        assert [(hit.id, hit.score) for hit in given.hits] == [(hit.id, hit.score) for hit in free.hits]
        assert (given.total, given.notes) == (free.total, free.notes)


def test_whoosh_own_posting_reader_checks_the_deadline(archive: Path) -> None:
    with Index(archive) as ix:
        searcher = ix._backend._searcher()
        with within(time.monotonic()), pytest.raises(SearchTimeoutError):
            list(searcher.search(wq.Phrase("body", ["storm", "close"]), limit=None))
        assert len(searcher.search(wq.Phrase("body", ["storm", "close"]), limit=None)) == 5


def test_the_ranking_checks_the_deadline_as_it_goes(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a clock that moves a second at each look, a search given 4 seconds stops inside the ranking."""
    import searchidx.query.deadlines

    class Clock:
        now = 1000.0
        looks = 0

        def monotonic(self) -> float:
            self.looks += 1
            self.now += 1
            return self.now

    clock = Clock()
    with Index(archive) as ix:
        ix.search("qx* storm")  # the index read once
        monkeypatch.setattr(searchidx.query.deadlines, "time", clock)
        with pytest.raises(SearchTimeoutError, match="4-second budget"):
            ix.search("qx* storm", deadline=clock.now + 5)
    assert clock.looks == 5  # the budget, then one look per check until the fourth second had passed


# ------------------------------------------------------------ a cluster


class _TimedOut(BaseHTTPRequestHandler):
    """An index on a cluster whose every search runs out of time (``timed_out``); requests recorded."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        if "/_mapping" in self.path:
            answer: Any = {"news": {"mappings": {"_meta": {"searchidx_schema_version": SCHEMA_VERSION}}}}
        else:
            shards = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
            answer = {"timed_out": True, "_shards": shards, "hits": {"total": {"value": 0}, "hits": []}}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def timing_out_cluster() -> Iterator[str]:
    pytest.importorskip("opensearchpy")
    server = HTTPServer(("127.0.0.1", 0), _TimedOut)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/news"
    finally:
        server.shutdown()
        server.server_close()


def test_a_cluster_is_given_the_deadline_and_its_timed_out_answer_is_the_timeout_error(
    timing_out_cluster: str,
) -> None:
    _TimedOut.asked.clear()
    with Index(timing_out_cluster) as ix:
        with pytest.raises(SearchTimeoutError, match="budget"):
            ix.search("harbour storm", deadline=time.monotonic() + 30)
        searches = [urlparse(path) for path in _TimedOut.asked if "/_search" in path]
        assert searches
        limits = parse_qs(searches[-1].query)
        assert 0 < int(limits["timeout"][0].removesuffix("ms")) <= 30_000
        assert "cancel_after_time_interval" in limits
        asked = len(_TimedOut.asked)
        with pytest.raises(SearchTimeoutError):  # past the deadline: not even asked
            ix.search("harbour storm", deadline=time.monotonic())
        assert len(_TimedOut.asked) == asked
