"""``searchidx serve``'s pages and JSON API, through Falcon's test client and a real server, on a real index."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from falcon import testing

from searchidx import Index, ingest
from searchidx.searching import Hit
from searchidx.web import CONTENT_SECURITY_POLICY, create_app
from searchidx.webpages import PageState, hit_item, safe_link
from tests.conftest import CORPUS, REPO, write_article

XSS_TITLE = "<script>alert(1)</script> Harbour plot"
XSS_BODY = 'The harbour "><img src=x onerror=alert(2)> story <b>bold</b>.'


def write_hostile_article(folder: Path) -> None:
    write_article(folder, "xss.txt", XSS_TITLE, XSS_BODY)
    traps = [
        {"title": "Link trap about the harbour", "text": "A harbour link.", "url": "javascript:alert(3)"},
        {"title": "Quote trap about the harbour", "text": "A harbour quote.",
         "url": 'https://trap.example/"><img src=x onerror=alert(4)>'},
    ]  # fmt: skip
    (folder / "links.jsonl").write_text("".join(json.dumps(trap) + "\n" for trap in traps))


@pytest.fixture(scope="module", params=["whoosh", "opensearch"])
def web_index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    """The demo corpus plus articles that try to inject HTML and script, in a folder or on a cluster:
    every test of the pages and the API runs on both backends."""
    root = tmp_path_factory.mktemp("web")
    write_hostile_article(root / "hostile")
    index: Path | str = root / "index"
    if request.param == "opensearch":
        index = f"{request.getfixturevalue('opensearch_cluster').url}/web"
    ingest([CORPUS, root / "hostile"], index=index, full=True)
    return index


@pytest.fixture(scope="module")
def client(web_index: Path) -> testing.TestClient:
    return testing.TestClient(create_app(web_index))


def cli_json(*args: str | Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "searchidx", *map(str, args), "--json"],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def without_timing(document: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in document.items() if key not in ("took_ms", "seconds")}


def test_api_search_returns_what_query_json_prints(client: testing.TestClient, web_index: Path) -> None:
    params = {
        "q": "oil prices",
        "limit": "5",
        "page": "2",
        "since": "1987",
        "sort": "-date",
        "facets": "year",
    }
    answer = client.simulate_get("/api/search", params=params)
    assert answer.status_code == 200
    expected = cli_json("query", "oil prices", "--index", web_index, "--limit", "5", "--page", "2",
                        "--since", "1987", "--sort", "-date", "--facets", "year")  # fmt: skip
    assert without_timing(answer.json) == without_timing(expected)
    assert answer.json["page"] == 2
    assert len(answer.json["hits"]) == 5


def test_related_articles_follow_few_matches_in_the_api_and_on_the_page(
    client: testing.TestClient, web_index: Path
) -> None:
    answer = client.simulate_get("/api/search", params={"q": "coffee"}).json
    assert without_timing(answer) == without_timing(cli_json("query", "coffee", "--index", web_index))
    assert answer["total"] == len(answer["hits"]) == 1
    assert len(answer["related"]) == 9
    assert all(hit["related"] for hit in answer["related"])
    assert [hit["rank"] for hit in answer["related"]] == list(range(2, 11))
    assert not client.simulate_get("/api/search", params={"q": "coffee", "related": "0"}).json["related"]
    page = client.simulate_get("/", params={"q": "coffee"}).text
    assert "showing 1-1 of 1 and 9 related articles" in page
    assert (
        page.index("CSCE TO PUT ADDITIONAL MARGIN") < page.index('<h2 class="related">') < page.rfind("<li")
    )
    assert '<ol class="hits" start="2">' in page


def test_api_document_similar_and_stats_match_the_cli(client: testing.TestClient, web_index: Path) -> None:
    first = client.simulate_get("/api/search", params={"q": "Putin parade"}).json["hits"][0]
    assert client.simulate_get(f"/api/doc/{first['id']}").json == cli_json(
        "show", first["id"], "--index", web_index
    )
    similar = client.simulate_get(f"/api/similar/{first['id']}", params={"limit": "3"}).json
    assert without_timing(similar) == without_timing(
        cli_json("similar", first["id"], "-n", "3", "--index", web_index)
    )
    stats = client.simulate_get("/api/stats").json
    assert stats["documents"] == 334
    assert stats == cli_json("stats", "--index", web_index)


def test_a_page_past_the_last_is_empty_and_says_how_many_pages_there_are(client: testing.TestClient) -> None:
    answer = client.simulate_get("/api/search", params={"q": "oil", "page": "9999"})
    assert answer.status_code == 200
    assert answer.json["hits"] == []
    total, pages = answer.json["total"], answer.json["pages"]
    assert pages == -(-total // 10) > 1
    page = client.simulate_get("/", params={"q": "oil", "page": "9999"}).text
    assert (
        f'Page 9999 is past the last page: {total:,} matches fill <a href="/?q=oil&amp;page={pages}">'
        f"{pages} pages</a>."
    ) in page


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/api/search", {"q": "oil", "since": "the day after"}, 400, "is not a date this tool understands"),
        (
            "/api/search",
            {"q": "oil", "limit": "1000"},
            400,
            "limit parameter must be a whole number from 1 to 100",
        ),
        ("/api/search", {"q": "oil", "limit": "ten"}, 400, "limit parameter must be a whole number"),
        (
            "/api/search",
            {"q": "oil", "page": "10001"},
            400,
            "page parameter must be a whole number from 1 to",
        ),
        ("/api/search", {"q": "oil", "sort": "random"}, 400, "sort parameter must be one of"),
        ("/api/search", {"q": "oil", "facets": "colour"}, 400, "Unknown facet 'colour'"),
        ("/api/search", {"q": "x" * 501}, 400, "q parameter is too long"),
        ("/api/search", {}, 400, "The query is empty"),
        ("/api/doc/0000000000000000", {}, 404, "No document '0000000000000000'"),
        ("/api/doc/not-an-id!", {}, 404, "No document 'not-an-id!'"),
        ("/api/similar/ffff", {}, 404, "No document 'ffff'"),
        ("/api/nothing", {}, 404, "There is no page at this address."),
    ],
)
def test_api_errors_are_json_with_a_status(
    client: testing.TestClient, path: str, params: dict[str, str], status: int, says: str
) -> None:
    answer = client.simulate_get(path, params=params)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json["error"]["status"] == status
    assert says in answer.json["error"]["message"]
    assert "Traceback" not in answer.text


def test_the_search_page_shows_marked_hits_facets_and_pages(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "oil", "page": "2"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    text = page.text
    assert re.search(r"showing 11-20 of \d+ in \d+ ms", text)
    assert '<ol class="hits" start="11">' in text
    assert "<mark>oil</mark>" in text.lower()
    assert 'href="/?q=oil&amp;page=3"' in text
    assert 'rel="prev" href="/?q=oil"' in text
    assert 'href="/?q=oil&amp;since=1987&amp;until=1987"' in text  # a year facet filters
    assert "<script" not in text


def test_a_suggestion_is_a_link_and_a_source_facet_filters(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "Putn parad"}).text
    assert (
        'Showing results for <a href="/?q=putin+parade">putin parade</a>. '
        'Search instead for <a href="/?q=Putn+parad&amp;exact=1">Putn parad</a>.'
    ) in page
    typed = client.simulate_get("/", params={"q": "Putn parad", "exact": "1"}).text
    assert 'Did you mean <a href="/?q=putin+parade">putin parade</a>?' in typed
    filtered = client.simulate_get("/", params={"q": "space", "source": "space.com"}).text
    assert "showing 1-1 of 1" in filtered
    assert 'aria-current="true">space.com (1)</a>' in filtered


def test_document_text_is_escaped_before_it_is_marked(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "harbour plot"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Harbour</mark> <mark>plot</mark>" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert 'href="javascript:' not in page
    traps = client.simulate_get("/", params={"q": "trap harbour"}).text
    assert "Quote <mark>trap</mark>" in traps
    assert "<img" not in traps
    assert 'href="javascript:' not in traps
    doc_id = client.simulate_get("/api/search", params={"q": "harbour plot"}).json["hits"][0]["id"]
    document = client.simulate_get(f"/doc/{doc_id}", params={"q": "harbour"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Harbour</mark> plot" in document
    assert "The <mark>harbour</mark> &quot;&gt;&lt;img src=x" in document
    assert "<script" not in document
    assert "<img" not in document


def test_a_stored_url_with_markup_stays_inside_its_attribute() -> None:
    trap = 'https://trap.example/"><img src=x onerror=alert(4)>'
    hit = Hit(rank=1, id="ab12", title="<b>Trap</b>", date=None, url=trap, source="trap.example", path="/a.txt",
              score=1.0, snippet="<i>x</i>", highlights=())  # fmt: skip
    item = hit_item(PageState(q="trap"), hit)
    assert 'href="https://trap.example/&quot;&gt;&lt;img src=x onerror=alert(4)&gt;"' in item
    assert "<img" not in item
    assert "&lt;b&gt;Trap&lt;/b&gt;" in item
    assert "&lt;i&gt;x&lt;/i&gt;" in item


def test_only_http_urls_become_links() -> None:
    assert safe_link("https://news.example/a") == "https://news.example/a"
    assert safe_link(" javascript:alert(1)") is None
    assert safe_link("JaVaScRiPt:alert(1)") is None
    assert safe_link("data:text/html,<script>") is None
    assert safe_link("//evil.example/x") is None


def test_an_empty_search_and_an_unknown_page_are_pages(client: testing.TestClient) -> None:
    home = client.simulate_get("/")
    assert home.status_code == 200
    assert "Search 334 articles." in home.text
    bad_date = client.simulate_get("/", params={"q": "oil", "since": "soonish"})
    assert bad_date.status_code == 400
    assert "is not a date this tool understands" in bad_date.text
    missing = client.simulate_get("/elsewhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert client.simulate_get("/static/searchidx.css").text.startswith("/* searchidx serve")


def test_a_new_ingest_is_seen_without_restarting(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Harbour reopens", "The harbour reopened.")
    index = tmp_path / "index"
    ingest(folder, index=index)
    client = testing.TestClient(create_app(index))
    assert client.simulate_get("/api/search", params={"q": "volcano"}).json["total"] == 0
    write_article(folder, "b.txt", "Volcano erupts", "Ash covered the villages near the volcano.")
    ingest(folder, index=index)
    assert client.simulate_get("/api/search", params={"q": "volcano"}).json["total"] == 1


@pytest.fixture(scope="module")
def server(web_index: Path) -> Iterator[str]:
    """``searchidx serve`` in a child process on a free port; its address."""
    with subprocess.Popen([sys.executable, "-m", "searchidx", "serve", "--index", str(web_index), "--port", "0"],
                          cwd=REPO, stderr=subprocess.PIPE, text=True) as process:  # fmt: skip
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        try:
            yield match.group(1)
        finally:
            process.terminate()
            process.communicate(timeout=10)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_real_server_answers_concurrent_queries(server: str) -> None:
    queries = ["oil", "wheat", "bank+rate", "Putin+parade", "coffee", "space", "election", "court"] * 5
    expected = {query: fetch(f"{server}api/search?q={query}")[1] for query in set(queries)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda query: fetch(f"{server}api/search?q={query}"), queries))
    assert all(status == 200 for status, _ in answers)
    for query, (_, body) in zip(queries, answers, strict=True):
        assert without_timing(json.loads(body)) == without_timing(json.loads(expected[query]))


def test_serve_warns_when_it_listens_beyond_this_machine(web_index: Path) -> None:
    with subprocess.Popen([sys.executable, "-m", "searchidx", "serve", "--index", str(web_index), "--port", "0",
                           "--host", "0.0.0.0"], cwd=REPO, stderr=subprocess.PIPE, text=True) as process:  # fmt: skip
        assert process.stderr is not None
        warning = process.stderr.readline()
        process.terminate()
        process.communicate(timeout=10)
    assert warning.startswith("warning: listening on 0.0.0.0 without authentication")


def test_the_stored_copy_of_a_corrected_search_marks_the_correction(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "Putn parad"}).text
    assert "/doc/" in page
    assert "?q=putin+parade" in page
    link = re.search(r'href="(/doc/[^"]+)">stored copy', page)
    assert link
    copy = client.simulate_get(link.group(1).replace("&amp;", "&")).text
    assert "<mark>Putin</mark>" in copy


def test_api_trend_returns_what_trend_json_prints_on_either_engine(
    client: testing.TestClient, web_index: Path, corpus_index: tuple[Path, object]
) -> None:
    params = {"q": ["oil", "coffee"], "by": "month", "words": "5", "sources": "3"}
    answer = client.simulate_get("/api/trend", params=params)
    assert answer.status_code == 200
    expected = cli_json("trend", "oil", "coffee", "--by", "month", "--words", "5", "--sources", "3",
                        "--index", web_index)  # fmt: skip
    assert answer.json == expected
    oil, coffee = answer.json["series"]
    with Index(corpus_index[0]) as ix:  # the same articles in a Whoosh folder, without the hostile one
        alone = ix.trend(["oil", "coffee"], by="month", words=5, sources=3)
    assert [series.counts for series in alone.series] == [tuple(oil["counts"]), tuple(coffee["counts"])]
    assert [word.word for word in alone.series[0].top_words] == [word["word"] for word in oil["top_words"]]
    with Index(web_index) as ix:
        assert oil["dated"] + oil["undated"] == oil["total"] == ix.search("oil", exact_total=True).total


def test_the_search_page_charts_the_query_and_its_table_says_the_same(client: testing.TestClient) -> None:
    page = client.simulate_get("/", params={"q": "oil", "vs": "coffee", "by": "month"})
    assert page.status_code == 200
    text = page.text
    assert '<svg class="chart"' in text
    assert 'role="img"' in text
    assert " style=" not in text
    assert "<script" not in text
    bars = re.findall(r"<title>(oil|coffee), (\d{4}-\d{2}): ([\d,]+) \(([\d.]+%)\)</title>", text)
    table = re.search(r'<table class="trend-table">.*?</table>', text, re.S)
    assert bars
    assert table
    for query, month, count, share in bars:
        row = re.search(rf'<th scope="row">{month}</th>(.*?)</tr>', table.group())
        assert row
        cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
        offset = 0 if query == "oil" else 2
        assert cells[offset : offset + 2] == [count, share]
    assert 'value="coffee"' in text  # the compare box keeps what was compared
    several = client.simulate_get("/", params={"q": "oil", "vs": ["coffee", "gas"]}).text
    box = re.search(r'<form class="compare".*?</form>', several)
    assert box
    assert re.findall(r'name="vs"[^>]*value="([^"]*)"', box.group()) == [
        "coffee",
        "gas",
    ]  # submitted in order
    assert 'href="/export.csv?q=oil"' in text


def test_export_csv_holds_every_hit_of_the_query(client: testing.TestClient) -> None:
    answer = client.simulate_get("/export.csv", params={"q": "oil", "since": "1987-03"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    total = client.simulate_get("/api/search", params={"q": "oil", "since": "1987-03"}).json["total"]
    assert len(rows) - 1 == total > 10
    assert [row[0] for row in rows[1:]] == [str(rank) for rank in range(1, total + 1)]


def test_bad_trend_parameters_are_json_errors(client: testing.TestClient) -> None:
    answer = client.simulate_get("/api/trend", params={"q": "oil", "by": "hour"})
    assert answer.status_code == 400
    assert "day, week, month or year" in answer.json["error"]["message"]
    assert client.simulate_get("/api/trend").status_code == 400
