"""Ranking without scoring every match (searchidx.engines.whoosh.topk): the same top k as Whoosh scoring every match.

On 3,000 real Reuters articles ingested three ways (one segment; three
segments; three segments after a re-ingest left deleted documents behind),
the pruned top 10 (and top 50) of benchmark queries and of every kind of
query the language has must equal, document for document and score for
score, what Whoosh's own collector gives when it scores every match with no
block skipping. Totals past 1,000 matches are estimates, said so in the
text, the JSON and the web page; ``--count`` stays exact. The id-only rows a
hybrid search ranks come from the id column (or, in an index made before it
had one, the stored fields) with the same ids and scores.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from falcon import testing
from whoosh import index as whoosh_index
from whoosh.collectors import TopCollector
from whoosh.fields import ID

from searchidx import Index, ingest, search
from searchidx.engines.factory import check
from searchidx.engines.protocol import Filters
from searchidx.engines.whoosh import blocks
from searchidx.engines.whoosh.backend import WhooshBackend
from searchidx.engines.whoosh.facets import story_groups
from searchidx.engines.whoosh.storage import open_index
from searchidx.engines.whoosh.topk import matches_among, matching_documents, scored_among, top_documents
from searchidx.outputs.web.app import create_app
from searchidx.query.fields import build_schema
from searchidx.query.parsing import parse_query, preloaded
from searchidx.query.ranking import weighting
from tests.conftest import REPO, SHARED, assert_id_rows_match_full_rows, need
from tests.test_cli import run

REUTERS = SHARED / "data" / "news" / "reuters21578.jsonl"
ARTICLES = 3_000
PARTS = 3
BENCHMARK_QUERIES = (REPO / "benchmarks" / "queries.txt").read_text(encoding="utf-8").splitlines()[:100]
EVERY_KIND = [
    '"money supply" rates',
    "oil AND gas",
    "opec*",
    "canada -wilson seeks",
    'prices -"crude oil"',
    "title:oil price",
    "coffe~ prices",
    "coffee OR (cocoa AND brazil)",
    "(oil OR gas) AND prices",
    "date:[19870301 TO 19870315] oil",
    "url:reuters oil",
    "the bank said it would",
]
# More than 1,000 of the 3,000 articles say "said"; few say "cocoa".
COMMON_QUERY = "cocoa said"


def write_records(folder: Path, lines: list[str], name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same articles as one segment, as three, and as three with deleted documents left in them."""
    lines = need(REUTERS).read_text(encoding="utf-8").splitlines()[:ARTICLES]
    root = tmp_path_factory.mktemp("topk")
    one = root / "one"
    ingest(write_records(root / "all", lines, "all.jsonl"), index=one, workers=1)
    size = ARTICLES // PARTS
    many, deleted = root / "many", root / "deleted"
    for part in range(PARTS):
        records = lines[part * size : (part + 1) * size]
        folder = write_records(root / f"part{part}", records[: size // 2], "first.jsonl")
        write_records(folder, records[size // 2 :], "second.jsonl")
        ingest(folder, index=many, workers=1)
        ingest(folder, index=deleted, workers=1)
    # The first part's first file again without its first 200 records: its documents are deleted from
    # the first segment (which keeps the second file's), not merged away.
    ingest(write_records(root / "part0", lines[200 : size // 2], "first.jsonl"), index=deleted, workers=1)
    return {"one": one, "many": many, "deleted": deleted}


def segments(index: Path) -> int:
    return len(open_index(index).reader().leaf_readers())


def exhaustive(searcher: Any, query: Any, k: int) -> tuple[list[tuple[int, float]], int]:
    """Whoosh scoring every match, no block skipping, no early termination: the reference."""
    collector = TopCollector(k, usequality=False, replace=0)
    searcher.search_with_collector(preloaded(query), collector)
    results = collector.results()
    return [(hit.docnum, hit.score) for hit in results], len(results)


def test_the_layouts_are_what_they_claim(layouts: dict[str, Path]) -> None:
    assert segments(layouts["one"]) == 1
    assert segments(layouts["many"]) == PARTS
    reader = open_index(layouts["deleted"]).reader()
    assert len(reader.leaf_readers()) >= PARTS
    assert reader.has_deletions()


@pytest.mark.parametrize("layout", ["one", "many", "deleted"])
def test_pruned_top_k_equals_scoring_every_match(layouts: dict[str, Path], layout: str) -> None:
    ix = open_index(layouts[layout])
    with ix.searcher(weighting=weighting()) as searcher:
        pruned_somewhere = False
        for text in BENCHMARK_QUERIES + EVERY_KIND:
            query = parse_query(text, ix.schema).query
            for k in (10, 50):
                expected, matches = exhaustive(searcher, query, k)
                got = top_documents(searcher, query, k)
                assert list(zip(got.docnums, got.scores, strict=True)) == expected, (text, k)
                if got.exact:
                    assert got.total == matches, text
                else:  # an estimate only past 1,000 matches
                    assert min(matches, got.total) > 1_000, text
                    pruned_somewhere = True
                every = top_documents(searcher, query, k, count_all=True)
                assert (every.total, every.exact, every.docnums) == (matches, True, got.docnums)
        assert pruned_somewhere


def test_one_segment_and_three_rank_the_same_documents_the_same(layouts: dict[str, Path]) -> None:
    """Same scores in the same order; the same articles where no other hit ties (duplicates may swap).

    The files differ between the layouts, so do the ids: articles are compared by title and date.
    """
    with Index(layouts["one"]) as one, Index(layouts["many"]) as many:
        for text in BENCHMARK_QUERIES[:40] + EVERY_KIND:
            ranked = [
                [(hit.score, hit.title, hit.date) for hit in ix.search(text, snippets=0)]
                for ix in (one, many)
            ]
            scores = [hit[0] for hit in ranked[0]]
            assert scores == [hit[0] for hit in ranked[1]], text
            alone = [{hit for hit in hits if scores.count(hit[0]) == 1} for hits in ranked]
            assert alone[0] == alone[1], text


def test_a_total_past_a_thousand_is_an_estimate_said_as_such(layouts: dict[str, Path]) -> None:
    index = layouts["many"]
    estimated = search(COMMON_QUERY, index=index)
    exact = search(COMMON_QUERY, index=index, exact_total=True)
    assert (estimated.total_is_exact, exact.total_is_exact) == (False, True)
    assert exact.total > 1_000
    assert 0.5 * exact.total <= estimated.total <= 2 * exact.total
    assert [hit.id for hit in estimated] == [hit.id for hit in exact]
    ix = open_index(index)
    with ix.searcher(weighting=weighting()) as searcher:
        assert exhaustive(searcher, parse_query(COMMON_QUERY, ix.schema).query, 10)[1] == exact.total

    code, out, err = run("query", COMMON_QUERY, "--index", index)
    assert code == 0
    assert " of about " in err
    code, out, _ = run("query", COMMON_QUERY, "--index", index, "--json")
    assert (json.loads(out)["total_is_exact"], json.loads(out)["total"]) == (False, estimated.total)
    code, out, _ = run("query", COMMON_QUERY, "--index", index, "--count")
    assert (code, int(out)) == (0, exact.total)

    client = testing.TestClient(create_app(index))
    page = client.simulate_get("/", params={"q": COMMON_QUERY})
    assert "showing 1-10 of about " in page.text
    answer = client.simulate_get("/api/search", params={"q": COMMON_QUERY}).json
    assert (answer["total"], answer["total_is_exact"]) == (estimated.total, False)


def test_a_page_past_the_last_says_the_exact_total(layouts: dict[str, Path]) -> None:
    exact = search(COMMON_QUERY, index=layouts["many"], exact_total=True)
    past = search(COMMON_QUERY, index=layouts["many"], page=exact.total // 10 + 2)
    assert (len(past), past.total, past.total_is_exact) == (0, exact.total, True)


def test_few_matches_are_counted_exactly_even_when_words_are_common(layouts: dict[str, Path]) -> None:
    ix = open_index(layouts["many"])
    with ix.searcher(weighting=weighting()) as searcher:
        for text in BENCHMARK_QUERIES:
            got = search(text, index=layouts["many"], snippets=0, exact=True)  # as typed, not corrected
            matches = exhaustive(searcher, parse_query(text, ix.schema).query, 10)[1]
            if 0 < matches <= 1_000:
                assert (got.total, got.total_is_exact) == (matches, True), text


@pytest.mark.parametrize("layout", ["one", "deleted"])
def test_matching_documents_are_whooshs_matches(layouts: dict[str, Path], layout: str) -> None:
    ix = open_index(layouts[layout])
    with ix.searcher(weighting=weighting()) as searcher:
        for text in [*EVERY_KIND, COMMON_QUERY, *BENCHMARK_QUERIES[:30]]:
            query = parse_query(text, ix.schema).query
            expected = sorted(searcher.docs_for_query(preloaded(query)))
            assert matching_documents(searcher, query).tolist() == expected, text
        site = parse_query("oil", ix.schema).query
        allowed = set(searcher.docs_for_query(parse_query("prices", ix.schema).query))
        both = matching_documents(searcher, site, allowed).tolist()
        assert both == sorted(set(searcher.docs_for_query(site)) & allowed)


@pytest.mark.parametrize("layout", ["one", "deleted"])
def test_matches_among_some_documents_are_those_of_the_matching_documents_with_the_scores_of_a_ranking(
    layouts: dict[str, Path], layout: str
) -> None:
    ix = open_index(layouts[layout])
    with ix.searcher(weighting=weighting()) as searcher:
        candidates = np.arange(0, searcher.doc_count_all(), 7, dtype=np.int64)
        site = parse_query("prices", ix.schema).query
        for text in [*EVERY_KIND, COMMON_QUERY, *BENCHMARK_QUERIES[:30]]:
            query = parse_query(text, ix.schema).query
            expected = np.isin(candidates, matching_documents(searcher, query))
            assert matches_among(searcher, query, candidates).tolist() == expected.tolist(), text
            allowed = np.isin(candidates, matching_documents(searcher, query, site))
            assert matches_among(searcher, query, candidates, site).tolist() == allowed.tolist(), text
            matched, scores = scored_among(searcher, query, candidates)
            assert matched.tolist() == expected.tolist(), text
            ranked = top_documents(searcher, query, len(candidates), set(candidates.tolist()))
            assert dict(zip(candidates[matched].tolist(), scores[matched].tolist(), strict=True)) == dict(
                zip(ranked.docnums, ranked.scores, strict=True)
            ), text


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(source="reuters.com"),
        Filters(start=datetime(1987, 3, 5), ranged=True),
        Filters(undated=True),
    ],
)
def test_the_versions_of_the_stories_shown_are_read_where_they_are(
    layouts: dict[str, Path], filters: Filters
) -> None:
    """Without a count, the matching versions of a page's stories are read from their blocks alone;
    they are those the mask over every match gives."""
    backend = WhooshBackend(layouts["deleted"])
    reader = backend._searcher().reader()
    shown = [f"{code:016x}" for code in story_groups(reader)]
    assert len(shown) > 10
    some = 0
    for text in [COMMON_QUERY, "oil", "said", *BENCHMARK_QUERIES[:20]]:
        query = parse_query(text, backend.schema).query
        alone = backend.stories(query, filters, shown, count=False)
        counted = backend.stories(query, filters, shown, count=True)
        assert (alone.count, alone.versions) == (None, counted.versions), text
        some += sum(1 for ids in alone.versions.values() if ids)
    # The Reuters articles all have a date and none a source.
    assert some > 10 if not (filters.source or filters.undated) else some == 0


def test_postings_kept_from_earlier_searches_rank_as_the_files_do(
    layouts: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every search below but the first of each query reads kept tables; some are dropped on the way."""
    monkeypatch.setattr(blocks._KEPT, "budget", 2**20)
    blocks.forget_kept()
    ix = open_index(layouts["deleted"])
    with ix.searcher(weighting=weighting()) as searcher:
        for text in BENCHMARK_QUERIES[:40] + EVERY_KIND:
            query = parse_query(text, ix.schema).query
            expected, matches = exhaustive(searcher, query, 10)
            for _ in range(2):
                got = top_documents(searcher, query, 10, count_all=True)
                assert (list(zip(got.docnums, got.scores, strict=True)), got.total) == (expected, matches)
            assert blocks._KEPT._held <= 2**20
        assert len(blocks._KEPT._tables) > 1


def test_kept_postings_are_scored_with_the_statistics_of_the_index_as_it_is_now(tmp_path: Path) -> None:
    """A segment's kept postings outlive a searcher; the word's weight changes as articles are added."""
    lines = need(REUTERS).read_text(encoding="utf-8").splitlines()[:600]
    index = tmp_path / "index"
    for part in range(3):
        ingest(write_records(tmp_path / f"part{part}", lines[part * 200 : (part + 1) * 200], "a.jsonl"),
               index=index, workers=1)  # fmt: skip
        ix = open_index(index)
        with ix.searcher(weighting=weighting()) as searcher:
            for text in ("oil prices", "bank said", COMMON_QUERY):
                query = parse_query(text, ix.schema).query
                expected, _ = exhaustive(searcher, query, 10)
                got = top_documents(searcher, query, 10)
                assert list(zip(got.docnums, got.scores, strict=True)) == expected, (part, text)


@pytest.mark.parametrize("layout", ["one", "deleted"])
def test_id_only_rows_come_from_the_id_column(layouts: dict[str, Path], layout: str) -> None:
    backend = WhooshBackend(layouts[layout])
    assert all(leaf.has_column("id") for leaf, _ in backend._searcher().reader().leaf_readers())
    assert_id_rows_match_full_rows(backend, BENCHMARK_QUERIES[:30], 100)


def test_an_index_made_before_the_id_column_reads_ids_from_stored_fields(tmp_path: Path) -> None:
    lines = need(REUTERS).read_text(encoding="utf-8").splitlines()[:500]
    schema = build_schema()
    schema.remove("id")
    schema.add("id", ID(stored=True, unique=True))  # as every index was made before
    index = tmp_path / "index"
    index.mkdir()
    whoosh_index.create_in(str(index), schema)
    ingest(write_records(tmp_path / "records", lines, "some.jsonl"), index=index, workers=1)
    backend = WhooshBackend(index)
    assert not any(leaf.has_column("id") for leaf, _ in backend._searcher().reader().leaf_readers())
    assert_id_rows_match_full_rows(backend, BENCHMARK_QUERIES[:30], 100)
    assert check(index).healthy  # which reads the id column only where there is one


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize("size", [3, 128])
def test_a_blocks_ids_and_weights_are_read_whoever_pickled_it(protocol: int, size: int) -> None:
    import pickle
    import zlib

    from searchidx.engines.whoosh.blocks import ids_and_weights

    # Whoosh pickles a block with protocol 2 (each value a call of _codecs.encode), searchidx with 5.
    deltas = tuple(range(1, size + 1))
    weights = tuple(float(1 + number % 3) for number in range(size))
    values = tuple(bytes([0, 0, 0, 1]) + number.to_bytes(4, "little") for number in range(size))
    data = pickle.dumps((deltas, weights, values), protocol)
    for compressed, stored in ((0, data), (3, zlib.compress(data, 3))):
        assert ids_and_weights(stored, size, compressed) == (deltas, weights)
