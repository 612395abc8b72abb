"""Related articles after the matches of a plain query that matches fewer than a page, on the demo corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx import Index, IngestReport
from searchidx.cli import cli
from searchidx.feedback import FEEDBACK_TERMS, bo1, feedback_terms, plain_words
from searchidx.querying import parse_query
from searchidx.results import Hit, Results

# The demo corpus holds one article with "coffee": the Coffee, Sugar and Cocoa Exchange's cocoa contract.
FEW = "coffee"


def stems_of(ix: Index, hit: Hit) -> set[str]:
    article = ix.get(hit.id)
    return {token.text for token in ix._analyzer(f"{article.title}\n{article.body}")}


def test_a_plain_query_matching_fewer_than_a_page_is_followed_by_related_articles(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        results = ix.search(FEW)
        alone = ix.search(FEW, related=False)
        assert results.total == len(results.hits) == 1
        assert results.hits == alone.hits
        assert results.total == alone.total
        assert not alone.related
        assert len(results.related) == 9
        assert [hit.rank for hit in results.related] == list(range(2, 11))
        assert all(hit.related for hit in results.related)
        assert not results.hits[0].related
        assert results.hits[0].id not in {hit.id for hit in results.related}
        for hit in results.related:  # none holds the query's word; each is about cocoa, as the match is
            assert "coffe" not in stems_of(ix, hit)
        assert sum("cocoa" in stems_of(ix, hit) for hit in results.related[:4]) == 4


def test_related_articles_fill_the_page_on_which_the_matches_end(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        first = ix.search("sugar quota")
        second = ix.search("sugar quota", page=2)
        third = ix.search("sugar quota", page=3)
    assert first.total == 11
    assert len(first.hits) == 10
    assert not first.related
    assert len(second.hits) == 1
    assert len(second.related) == 9
    assert [hit.rank for hit in second.related] == list(range(12, 21))
    assert not {hit.id for hit in second.related} & {hit.id for hit in (*first.hits, *second.hits)}
    assert not third.hits
    assert not third.related


@pytest.mark.parametrize(
    "query",
    ['"coffee sugar"', "coffee -cocoa", "title:coffee", "coffe*", "coffee AND sugar", "coffe~"],
)
def test_only_plain_words_get_related_articles(corpus_index: tuple[Path, IngestReport], query: str) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        assert not plain_words(parse_query(query, ix._backend.schema).query)
        assert not ix.search(query).related


def test_no_related_articles_by_date_when_enough_match_or_when_none_does(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        assert not ix.search(FEW, sort="-date").related
        assert not ix.search("oil", limit=5).related
        nothing = ix.search("zzyzx")
        assert nothing.total == 0
        assert not nothing.hits
        assert not nothing.related


def test_related_articles_keep_to_the_filters(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        results = ix.search(FEW, until="1987-03-31")
    assert results.total == 1
    assert results.related
    assert all(
        hit.date is not None and hit.date.date().isoformat() <= "1987-03-31" for hit in results.related
    )


def test_bo1_weights_and_the_words_chosen() -> None:
    # Bo1: tf * log2((1 + Pn) / Pn) + log2(1 + Pn), Pn the share of the archive holding the word.
    assert bo1(3, 0.01) == pytest.approx(3 * math.log2(101) + math.log2(1.01))

    def analyzer(text: str) -> list[object]:
        return [type("Token", (), {"text": word})() for word in text.split()]

    held = {"cocoa": 5, "bean": 40, "said": 90, "only": 2, "coffe": 3}
    terms = feedback_terms(
        ["cocoa cocoa bean said only only", "cocoa bean said coffe coffe only"],
        analyzer,
        lambda stems: {stem: held[stem] for stem in stems},
        100,
        {"coffe"},
    )
    # "coffe" was searched; "only" is in no article but these two; the rest by Bo1 weight, best 1.
    assert [stem for stem, _ in terms] == ["cocoa", "bean", "said"]
    assert terms[0][1] == 1.0
    assert terms[1][1] == pytest.approx(bo1(2, 0.4) / bo1(3, 0.05))
    assert len(terms) <= FEEDBACK_TERMS


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_lists_related_articles_after_the_matches_and_says_so(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    code, out, err = run("query", FEW, "--index", index, "--snippets", "0")
    assert code == 0
    assert out.count("related: like the best matches (none of the words)") == 9
    assert out.index("1. CSCE TO PUT ADDITIONAL MARGIN") < out.index("2. ")
    assert "showing 1-1 of 1 and 9 related articles" in err
    code, out, err = run("query", FEW, "--index", index, "--no-related")
    assert code == 0
    assert "related" not in out
    assert "showing 1-1 of 1 in" in err
    code, out, _ = run("query", FEW, "--index", index, "--urls-only")
    assert code == 0
    assert len(out.splitlines()) == 1
    code, out, _ = run("query", FEW, "--index", index, "--json")
    document = json.loads(out)
    assert document["total"] == len(document["hits"]) == 1
    assert len(document["related"]) == 9
    assert all(hit["related"] for hit in document["related"])
    assert not document["hits"][0]["related"]
    code, out, _ = run("query", FEW, "--index", index, "--jsonl")
    assert [json.loads(line)["related"] for line in out.splitlines()] == [False] + [True] * 9


def test_results_without_related_articles_by_default_have_none() -> None:
    assert Results(query="q", parsed_query="q", total=0, hits=()).related == ()
