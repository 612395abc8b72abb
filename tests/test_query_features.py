"""The query experience through the Python API, on small real indexes."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.support.levenshtein import damerau_levenshtein

from searchidx import Index, IngestReport, ingest, search
from searchidx.engines.whoosh.storage import open_index
from searchidx.errors import DocumentNotFoundError, QueryError
from searchidx.query.fields import SCHEMA_VERSION
from searchidx.query.spelling import words_within
from tests.conftest import write_article

NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("news") / "articles"
    articles = [
        ("a.txt", "Military parade in Moscow", "A military parade crossed Red Square. Tanks followed.", "2015-05-09", "https://www.rt.example/parade"),
        ("b.txt", "Parade season", "The city plans three parades this summer, none of them military.", "2015-03-01", "https://news.example/season"),
        ("c.txt", "Café culture in São Paulo", "The café scene of São Paulo is growing fast.", "2026-03-30", "https://www.food.example/cafe"),
        ("d.txt", "Cafe prices rise in Sao Paulo", "Coffee at a cafe costs more this year.", "2026-03-24", "https://food.example/prices"),
        ("e.txt", "Undated notes on parades", "Notes about a parade with no date at all.", "", ""),
        ("f.txt", "Москва готовится к параду", "Москва готовится к параду Победы.", "2025-06-01", ""),
        ("g.txt", "北京大学的学生", "北京大学的学生参观了博物馆。", "2025-09-10", ""),
        ("h.txt", "Budget talks in Washington", "The government budget talks continued with no deal.", "2026-01-15", "https://news.example/budget"),
    ]  # fmt: skip
    for name, title, body, when, url in articles:
        write_article(folder, name, title, body, date=when, url=url)
    index = folder.parent / "index"
    ingest(folder, index=index)
    return index


def titles(index: Path, query: str, **options: object) -> list[str]:
    with Index(index) as ix:
        return [hit.title for hit in ix.search(query, now=NOW, **options)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2015-03-01", None, {"Military parade in Moscow", "Parade season"}),
        ("2015-03-02", None, {"Military parade in Moscow"}),
        ("2015-03", "2015-03", {"Parade season"}),
        ("2015", "2015", {"Military parade in Moscow", "Parade season"}),
        ("May 2015", "may 2015", {"Military parade in Moscow"}),
        (None, "2015-04", {"Parade season"}),
    ],
)
def test_calendar_date_filters(news: Path, since: str | None, until: str | None, expected: set[str]) -> None:
    assert set(titles(news, "parade", since=since, until=until)) == expected


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("yesterday", {"Café culture in São Paulo"}),
        ("last week", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}),
        ("7d", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}),
        ("2w", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}),
        ("last month", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}),
        ("6m", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo", "Budget talks in Washington"}),
        ("1y", {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo", "Budget talks in Washington"}),
        (
            "last year",
            {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo", "Budget talks in Washington"},
        ),
    ],
)
def test_relative_date_filters(news: Path, since: str, expected: set[str]) -> None:
    assert set(titles(news, "cafe OR budget", since=since)) == expected


def test_dates_and_datetimes_work_as_filters_and_undated_documents_are_left_out(news: Path) -> None:
    everything = set(titles(news, "parade OR parades"))
    assert "Undated notes on parades" in everything
    filtered = set(titles(news, "parade", since=date(2000, 1, 1), until=datetime(2030, 1, 1, tzinfo=UTC)))
    assert "Undated notes on parades" not in filtered
    assert filtered == everything - {"Undated notes on parades"}


def test_a_bad_date_is_a_clear_error_listing_the_forms(news: Path) -> None:
    with pytest.raises(
        QueryError, match=r"'soon' is not a date .* 2015-03-20, 2015-03, 2015, March 2015, .* 7d"
    ):
        search("parade", index=news, since="soon")
    with pytest.raises(QueryError, match="--since is after --until"):
        search("parade", index=news, since="2016", until="2015")


def test_sorting_by_date(news: Path) -> None:
    assert titles(news, "parade", sort="date") == [
        "Parade season", "Military parade in Moscow", "Undated notes on parades",
    ]  # fmt: skip
    assert titles(news, "parade", sort="-date") == [
        "Military parade in Moscow", "Parade season", "Undated notes on parades",
    ]  # fmt: skip


def test_phrases_are_marked_as_phrases_and_titles_are_marked(news: Path) -> None:
    with Index(news) as ix:
        hit = ix.search('"military parade"', now=NOW)[0]
        assert hit.title == "Military parade in Moscow"
        assert hit.marked_title() == "[[Military parade]] in Moscow"
        assert hit.marked_snippet() == "A [[military parade]] crossed Red Square."
        other = ix.search("parade", now=NOW)
        season = next(h for h in other if h.title == "Parade season")
        assert season.marked_title() == "[[Parade]] season"
        assert "[[parades]]" in season.marked_snippet()


def test_accents_and_case_fold_both_ways(news: Path) -> None:
    both = {"Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}
    assert set(titles(news, "cafe")) == both
    assert set(titles(news, "café")) == both
    assert set(titles(news, "SAO PAULO")) == both
    assert set(titles(news, "São Paulo")) == both
    assert titles(news, "MOSCOW") == ["Military parade in Moscow"]


def test_non_latin_scripts_are_tokenised(news: Path) -> None:
    assert titles(news, "москва") == ["Москва готовится к параду"]
    assert titles(news, "北京") == ["北京大学的学生"]
    assert titles(news, "博物馆") == ["北京大学的学生"]


def test_did_you_mean_uses_real_words(news: Path) -> None:
    with Index(news) as ix:
        results = ix.search("goverment budjet", now=NOW)
    assert results.suggestion == "government budget"


def test_did_you_mean_on_the_demo_corpus(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    results = search("Putn parad", index=index)
    assert results.suggestion == "putin parade"
    assert search("Putin parade", index=index).suggestion is None


def test_nothing_exact_retries_with_fuzzy_terms(news: Path) -> None:
    with Index(news) as ix:
        results = ix.search("tankz", now=NOW, exact=True)
    assert (results.approximate, results.corrected) == (True, False)
    assert [hit.title for hit in results] == ["Military parade in Moscow"]
    assert search("zzzzqqq", index=news).approximate is False


def test_a_word_the_index_lacks_is_searched_as_its_correction(news: Path) -> None:
    with Index(news) as ix:
        exact = [(hit.title, hit.score) for hit in ix.search("budget", now=NOW)]
        near = ix.search("budgte", now=NOW)
        typed = ix.search("budgte", now=NOW, exact=True)
        mixed = ix.search("military budgte", now=NOW)
        known = ix.search("military budget", now=NOW)
    assert near.parsed_query == "(title:budget^0.25 OR body:budget)"
    assert (near.corrected, near.suggestion, near.approximate) == (True, "budget", False)
    assert [(hit.title, hit.score) for hit in near] == exact
    # Searched as typed, the word matches nothing, so its fuzzy form is tried and said to be approximate.
    assert (typed.corrected, typed.suggestion, typed.approximate) == (False, "budget", True)
    assert "budgte~" in typed.parsed_query
    # Beside a known word, the correction is searched with it, ranked as if typed so.
    assert (mixed.corrected, mixed.suggestion) == (True, "military budget")
    assert [(hit.title, hit.score) for hit in mixed] == [(hit.title, hit.score) for hit in known]
    assert "~" not in known.parsed_query
    assert known.suggestion is None


def test_a_typed_fuzzy_word_weighs_what_the_word_it_finds_weighs(news: Path) -> None:
    # Whoosh itself drops a fuzzy term's field weight when it expands to a single word.
    with Index(news) as ix:
        exact = [(hit.title, hit.score) for hit in ix.search("budget", now=NOW)]
        typed = [(hit.title, pytest.approx(hit.score)) for hit in ix.search("budgat~", now=NOW)]
    assert typed == exact


@pytest.mark.parametrize(
    ("word", "edits"), [("prics", 1), ("guvern", 2), ("moscw", 1), ("oil", 2), ("x", 1), ("pirces", 1)]
)
def test_words_within_finds_the_words_whooshs_damerau_distance_finds(
    corpus_index: tuple[Path, IngestReport], word: str, edits: int
) -> None:
    with open_index(corpus_index[0]).searcher() as searcher:
        reader = searcher.reader()
        lexicon = [term.decode("utf-8") for term in reader.expand_prefix("spelling", word[:1])]
        expected = {known for known in lexicon if damerau_levenshtein(known, word) <= edits}
        assert set(words_within(reader, word, edits)) == expected
    assert expected or word == "x"


def test_an_excluded_word_the_index_lacks_excludes_only_itself(news: Path) -> None:
    assert titles(news, "parade -tankz") == titles(news, "parade")
    assert "Military parade in Moscow" not in titles(news, "parade -tanks")


def test_facet_counts_match_a_hand_count(news: Path) -> None:
    with Index(news) as ix:
        results = ix.search("parade OR cafe OR budget", now=NOW, facets=("year", "month", "source"), limit=1)
        everything = ix.search("parade OR cafe OR budget", now=NOW, limit=100)
    assert results.total == len(everything) == 6
    years = Counter(hit.date.strftime("%Y") if hit.date else "(no date)" for hit in everything)
    assert results.facets["year"] == {"2026": 3, "2015": 2, "(no date)": 1} == dict(years)
    assert list(results.facets["month"]) == ["2026-03", "2026-01", "2015-05", "2015-03", "(no date)"]
    assert list(results.facets["source"].items()) == [
        ("food.example", 2), ("news.example", 2), ("rt.example", 1), ("(no source)", 1),
    ]  # fmt: skip


def test_paging_and_offsets(news: Path) -> None:
    with Index(news) as ix:
        everything = [hit.id for hit in ix.search("parade OR cafe OR budget", now=NOW, limit=100)]
        page_two = ix.search("parade OR cafe OR budget", now=NOW, limit=2, page=2)
        offset = ix.search("parade OR cafe OR budget", now=NOW, limit=2, offset=3)
    assert [hit.id for hit in page_two] == everything[2:4]
    assert [hit.rank for hit in page_two] == [3, 4]
    assert [hit.id for hit in offset] == everything[3:5]
    assert (page_two.total, page_two.page, page_two.offset) == (6, 2, 2)


def test_similar_articles_exclude_the_article_itself(news: Path) -> None:
    with Index(news) as ix:
        seed = ix.search('"military parade"')[0]
        similar = ix.similar(seed.id, limit=5)
        by_url = ix.similar(seed.url, limit=5)
    assert seed.id not in {hit.id for hit in similar}
    assert similar[0].title in {"Parade season", "Undated notes on parades"}
    assert [hit.id for hit in similar] == [hit.id for hit in by_url]


def test_get_by_id_url_or_path(news: Path) -> None:
    with Index(news) as ix:
        hit = ix.search('"military parade"')[0]
        by_id, by_url, by_path = ix.get(hit.id), ix.get("HTTPS://WWW.RT.EXAMPLE/parade#top"), ix.get(hit.path)
        assert by_id == by_url == by_path
        assert by_id.body == "A military parade crossed Red Square. Tanks followed."
        with pytest.raises(DocumentNotFoundError, match="No document 'nope'"):
            ix.get("nope")


def test_stats(news: Path) -> None:
    with Index(news) as ix:
        stats = ix.stats()
    assert stats.documents == 8
    assert stats.first_date == datetime(2015, 3, 1, tzinfo=UTC)
    assert stats.last_date == datetime(2026, 3, 30, tzinfo=UTC)
    assert stats.per_year == {"2026": 3, "2025": 2, "2015": 2, "(no date)": 1}
    assert stats.top_sources["news.example"] == 2
    assert stats.size_bytes > 0
    assert stats.last_ingest is not None
    assert stats.schema_version == str(SCHEMA_VERSION)


def test_an_index_serves_many_threads(news: Path) -> None:
    queries = ["parade", "cafe", "budget", '"military parade"', "москва"] * 8
    with Index(news) as ix:
        expected = {query: [hit.id for hit in ix.search(query)] for query in set(queries)}
        answers: list[tuple[str, list[str]]] = []
        errors: list[BaseException] = []

        def work(query: str) -> None:
            try:
                answers.append((query, [hit.id for hit in ix.search(query)]))
            except BaseException as error:  # collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(query,)) for query in queries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(answers) == len(queries)
    assert all(ids == expected[query] for query, ids in answers)


def test_an_index_sees_a_later_ingest(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "First story", "About a harbour.")
    index = tmp_path / "index"
    ingest(folder, index=index)
    with Index(index) as ix:
        assert ix.search("harbour").total == 1
        write_article(folder, "b.txt", "Second story", "Another harbour.")
        ingest(folder, index=index)
        assert ix.search("harbour").total == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"unclosed parade', {"Military parade in Moscow", "Parade season", "Undated notes on parades"}),
        ("(parade OR cafe", {"Military parade in Moscow", "Parade season", "Undated notes on parades",
                             "Café culture in São Paulo", "Cafe prices rise in Sao Paulo"}),
        ("budget AND", {"Budget talks in Washington"}),
        ("OR budget", {"Budget talks in Washington"}),
        ("budget NOT", {"Budget talks in Washington"}),
        ("title: budget", {"Budget talks in Washington"}),
    ],
)  # fmt: skip
def test_broken_syntax_falls_back_to_plain_words(news: Path, query: str, expected: set[str]) -> None:
    with Index(news) as ix:
        results = ix.search(query, limit=20)
    assert results.plain_words
    assert {hit.title for hit in results} == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("parade -military", {"Undated notes on parades"}),  # "none of them military" excludes the season
        ('parade -"military parade"', {"Parade season", "Undated notes on parades"}),
        ("budg*", {"Budget talks in Washington"}),
        ("parad*", {"Military parade in Moscow", "Parade season", "Undated notes on parades"}),
        ("budgte~", {"Budget talks in Washington"}),
        ("(cafe OR budget) AND title:prices", {"Cafe prices rise in Sao Paulo"}),
        ("url:rt", {"Military parade in Moscow"}),
    ],
)
def test_the_query_language(news: Path, query: str, expected: set[str]) -> None:
    with Index(news) as ix:
        results = ix.search(query, limit=20)
    assert not results.plain_words
    assert {hit.title for hit in results} == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(alphabet=st.sampled_from('ab parade"()[]{}:*~-+^!? AND OR NOT\x00\x1b\n\té中'), max_size=40)
    | st.text(max_size=30)
)
def test_any_string_gives_results_or_a_clear_error(news: Path, query: str) -> None:
    try:
        results = search(query, index=news)
    except QueryError as error:
        message = error.message
    else:
        message = "."
        assert results.total >= len(results)
    assert message.endswith(".")


def test_an_article_without_a_url_has_none_for_url_and_source(news: Path) -> None:
    with Index(news) as ix:
        (hit,) = ix.search("notes", now=NOW)
        article = ix.get(hit.id)
    assert (hit.url, hit.source, article.url, article.source) == (None, None, None, None)
    assert hit.path.endswith("e.txt")


def test_facets_may_be_one_comma_separated_string(news: Path) -> None:
    with Index(news) as ix:
        assert ix.search("parade", facets="year").facets == ix.search("parade", facets=("year",)).facets
        assert set(ix.search("parade", facets="year, source").facets) == {"year", "source"}
        with pytest.raises(QueryError, match="Unknown facet 'colour'"):
            ix.search("parade", facets="year,colour")


def test_undated_keeps_only_the_articles_without_a_date(news: Path) -> None:
    assert titles(news, "parade", undated=True) == ["Undated notes on parades"]
    with pytest.raises(QueryError, match="either the undated filter or a date range"):
        titles(news, "parade", undated=True, since="2015")
    with Index(news) as ix:
        left_out = ix.search("notes", since="2015", now=NOW)
        found = ix.search("parade", since="2015", now=NOW)
    assert (left_out.total, left_out.undated_left_out) == (0, 1)
    assert found.undated_left_out == 0  # counted only when nothing else matched


def test_facets_and_the_parsed_query_describe_the_query_that_answered(news: Path) -> None:
    with Index(news) as ix:
        for results in (ix.search("tankz", facets="year"), ix.search("tankz", facets="year", exact=True)):
            assert results.total == sum(results.facets["year"].values()) == 1
            assert "tank" in results.parsed_query


def test_a_url_query_matches_its_parts_in_order(news: Path) -> None:
    assert set(titles(news, "url:food.example")) == {
        "Cafe prices rise in Sao Paulo",
        "Café culture in São Paulo",
    }
    assert titles(news, "url:food.example/prices") == ["Cafe prices rise in Sao Paulo"]
    assert set(titles(news, "url:news.example")) == {"Parade season", "Budget talks in Washington"}
    assert titles(news, "url:example.food") == []


def test_an_index_says_where_it_is(news: Path) -> None:
    with Index(news) as ix:
        assert repr(ix) == f"Index({str(news)!r})"


def test_every_error_a_user_can_cause_is_exported_by_the_package() -> None:
    import inspect

    import searchidx
    from searchidx import errors

    defined = {name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, errors.SearchidxError)}  # fmt: skip
    assert defined <= set(searchidx.__all__)
    assert all(getattr(searchidx, name) is getattr(errors, name) for name in defined)


def test_in_a_long_request_a_corrected_word_counts_half(news: Path) -> None:
    with Index(news) as ix:
        alone = {hit.title: hit.score for hit in ix.search("budget", now=NOW)}
        request = ix.search("cafe prices parade season budgte", now=NOW)
    assert request.corrected
    assert "body:budget^0.5" in request.parsed_query
    scores = {hit.title: hit.score for hit in request}
    assert scores["Budget talks in Washington"] == pytest.approx(alone["Budget talks in Washington"] / 2)


def test_a_typed_fuzzy_word_scores_its_near_spellings_as_the_most_common_one(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for number, name in enumerate(["one", "two", "three", "four", "five"]):
        write_article(folder, f"{number}.txt", f"Story {name}", "The government said no.")
    write_article(folder, "typo.txt", "Story six", "The goverment said no.")
    ingest(folder, index=tmp_path / "index")
    with Index(tmp_path / "index") as ix:
        results = ix.search("goverment~", snippets=0)
    assert results.total == 6
    scores = {hit.path.rsplit("/", 1)[-1]: hit.score for hit in results}
    # Without blending, the typo's rarity (1 article) would put it far ahead of the word meant.
    assert scores["typo.txt"] == pytest.approx(scores["0.txt"])


def test_in_a_query_typed_in_capitals_and_or_not_are_words(news: Path) -> None:
    with Index(news) as ix:
        capitals = ix.search("MILITARY AND BUDGET", limit=20)
        operators = ix.search("military AND budget", limit=20)
        excluded = ix.search("PARADE NOT MILITARY", limit=20)
    either = {"Military parade in Moscow", "Parade season", "Budget talks in Washington"}
    assert {hit.title for hit in capitals} == either
    assert not operators.hits  # written in lower case around it, AND is the operator
    assert "Military parade in Moscow" in {hit.title for hit in excluded}


def test_a_word_typed_again_counts_more(news: Path) -> None:
    def scores(query: str) -> dict[str, float]:
        with Index(news) as ix:
            return {hit.title: hit.score for hit in ix.search(query, limit=20)}

    once, twice = scores("budget parade"), scores("budget parade budget")
    thrice = scores("budget budget BUDGET parade")
    budget = "Budget talks in Washington"
    assert twice[budget] == pytest.approx(once[budget] * 2**0.75)
    assert thrice[budget] == pytest.approx(once[budget] * 3**0.75)
    assert twice["Parade season"] == pytest.approx(once["Parade season"])


def test_the_spellers_lookups_equal_the_index_s_own_counts(corpus_index: tuple[Path, IngestReport]) -> None:
    from whoosh.reading import TermNotFound

    from searchidx.engines.whoosh.backend import WhooshBackend

    backend = WhooshBackend(corpus_index[0])
    reader = backend._searcher().reader()
    lexicon = backend.lexicon()
    for word in ("putin", "oil", "moscow", "zzzyzx"):
        try:
            info = reader.term_info("spelling", word)
            expected = (info.doc_frequency(), (info.weight() - info.doc_frequency()) / info.doc_frequency())
        except TermNotFound:
            expected = (0, 0.0)
        for _ in range(2):  # the second answer comes from what the first looked up
            assert (lexicon.frequency(word), lexicon.name_share(word)) == pytest.approx(expected)
    assert lexicon.frequency("putin") > 0
    backend.close()
