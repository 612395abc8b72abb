"""``searchidx serve``'s pages and JSON API, through Falcon's test client and a real server, on a real index."""

from __future__ import annotations

import csv
import io
import json
import os
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
from searchidx.outputs.web.app import CONTENT_SECURITY_POLICY, create_app
from searchidx.outputs.web.pages import PageState, hit_item, safe_link
from searchidx.outputs.web.serving import PublicPaths, ServeSettings, index_name
from searchidx.searching.index import Hit
from tests.conftest import CORPUS, REPO, write_article
from tests.servers import serving

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


# A cluster's first search can take longer than a server's default 2-second budget on a busy
# machine; these tests are of what the pages say, not of the budget (tests/test_serving.py).
UNHURRIED = ServeSettings(timeout=60)


@pytest.fixture(scope="module")
def client(web_index: Path) -> testing.TestClient:
    return testing.TestClient(create_app(web_index, UNHURRIED))


def cli_json(*args: str | Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "searchidx", *map(str, args), "--json"],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def without_timing(document: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in document.items() if key not in ("took_ms", "seconds")}


def served(document: dict[str, object], web_index: Path | str) -> dict[str, object]:
    """What the CLI prints as the server shows it to remote clients: no server folders (a source path
    relative to the folder holding every ingested file, or its name alone on a cluster)."""
    root = None if isinstance(web_index, str) else os.path.commonpath([CORPUS, web_index.parent / "hostile"])
    public = PublicPaths(root)
    shown = dict(document)
    for name in ("hits", "related", "found_by_meaning"):
        if name in shown:
            shown[name] = [hit | {"path": public(hit["path"])} for hit in shown[name]]  # type: ignore[attr-defined]
    if "path" in shown:
        shown["path"] = public(str(shown["path"]))
    if "index" in shown:
        shown["index"] = index_name(str(shown["index"]))
    return shown


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
    assert without_timing(answer.json) == without_timing(served(expected, web_index))
    assert answer.json["page"] == 2
    assert len(answer.json["hits"]) == 5


def test_related_articles_follow_few_matches_in_the_api_and_on_the_page(
    client: testing.TestClient, web_index: Path
) -> None:
    # Eastman Kodak's Australian dollar bond, then the one article like it: Unilever's.
    answer = client.simulate_get("/api/search", params={"q": "kodak"}).json
    assert without_timing(answer) == without_timing(
        served(cli_json("query", "kodak", "--index", web_index), web_index)
    )
    assert answer["total"] == len(answer["hits"]) == 1
    assert [hit["title"] for hit in answer["related"]] == ["UNILEVER UNIT ISSUES 40 MLN AUSTRALIAN DLR BOND"]
    assert all(hit["related"] for hit in answer["related"])
    assert [hit["rank"] for hit in answer["related"]] == [2]
    assert not client.simulate_get("/api/search", params={"q": "kodak", "related": "0"}).json["related"]
    page = client.simulate_get("/", params={"q": "kodak"}).text
    assert "showing 1-1 of 1 and 1 related article" in page
    assert page.index("AUSTRALIA DOLLAR BOND") < page.index('<h2 class="related">') < page.rfind("<li")
    assert '<ol class="hits" start="2">' in page


def test_api_document_similar_and_stats_match_the_cli(client: testing.TestClient, web_index: Path) -> None:
    first = client.simulate_get("/api/search", params={"q": "Putin parade"}).json["hits"][0]
    assert client.simulate_get(f"/api/doc/{first['id']}").json == served(
        cli_json("show", first["id"], "--index", web_index), web_index
    )
    similar = client.simulate_get(f"/api/similar/{first['id']}", params={"limit": "3"}).json
    assert without_timing(similar) == without_timing(
        served(cli_json("similar", first["id"], "-n", "3", "--index", web_index), web_index)
    )
    stats = client.simulate_get("/api/stats").json
    assert stats["documents"] == 334
    assert stats == served(cli_json("stats", "--index", web_index), web_index)


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


def test_a_rewrite_of_the_query_is_said_on_the_page_and_in_the_api(client: testing.TestClient) -> None:
    note = "The query has an unbalanced parenthesis or bracket, so its words were searched as plain words: oil prices"
    page = client.simulate_get("/", params={"q": "(oil AND prices"}).text
    assert f'<p class="note">{note}</p>' in page
    assert note in client.simulate_get("/api/search", params={"q": "(oil AND prices"}).json["notes"]
    assert client.simulate_get("/api/search", params={"q": "oil AND prices"}).json["notes"] == []


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
    with serving(web_index, "--timeout", "60") as running:
        yield running.url


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
                           "--host", "0.0.0.0", "--public"], cwd=REPO, stderr=subprocess.PIPE, text=True) as process:  # fmt: skip
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


def test_the_search_page_shows_the_chart_as_an_image_drawn_by_its_own_request(
    client: testing.TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_chart(*args: object, **kwargs: object) -> None:
        raise AssertionError("the search page drew a chart")

    with monkeypatch.context() as patched:
        patched.setattr(Index, "trend", no_chart)  # the page costs what its search costs
        page = client.simulate_get("/", params={"q": "oil", "vs": "coffee", "by": "month"})
    assert page.status_code == 200
    text = page.text
    image = re.search(r'<img class="chart" src="([^"]+)" width="720" height="(\d+)" alt="([^"]+)">', text)
    assert image
    assert image.group(1) == "/chart.svg?q=oil&amp;vs=coffee&amp;by=month"
    assert image.group(3) == (
        "Bar chart: the articles matching oil and coffee per month; its numbers are on the chart&#x27;s page."
    )
    assert '<a href="/chart?q=oil&amp;vs=coffee&amp;by=month">The chart\'s numbers' in text
    assert "<svg" not in text
    assert "<script" not in text
    assert 'value="coffee"' in text  # the compare box keeps what was compared
    several = client.simulate_get("/", params={"q": "oil", "vs": ["coffee", "gas"]}).text
    box = re.search(r'<form class="compare".*?</form>', several)
    assert box
    assert re.findall(r'name="vs"[^>]*value="([^"]*)"', box.group()) == ["coffee", "gas"]  # in order
    assert 'href="/export.csv?q=oil"' in text
    # A deeper page, or the undated matches alone, have no chart.
    assert '<img class="chart"' not in client.simulate_get("/", params={"q": "oil", "page": "2"}).text
    assert '<img class="chart"' not in client.simulate_get("/", params={"q": "oil", "undated": "1"}).text


def test_the_chart_image_draws_what_the_api_says(client: testing.TestClient) -> None:
    answer = client.simulate_get("/chart.svg", params={"q": "oil", "vs": "coffee", "by": "month"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    image = answer.text
    assert image.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="340" ')
    assert " class=" not in image  # an image cannot use the page's stylesheet: its colours are attributes
    assert " style=" not in image
    assert "<script" not in image
    trend = client.simulate_get(
        "/api/trend", params={"q": ["oil", "coffee"], "by": "month", "words": "8", "sources": "0"}
    ).json
    for series in trend["series"]:
        assert f">{series['query']}: {series['dated']:,} dated" in image
        line = re.search(rf">{series['query']}: [^<]*</text>.*?>top words: ([^<]*)</text>", image)
        assert line
        shown = line.group(1).removesuffix(", …").split(", ")
        assert shown == [word["word"] for word in series["top_words"]][: len(shown)]  # those that fit
        assert len(shown) >= 6
    bars = re.findall(r"<title>(oil|coffee), (\d{4}-\d{2}): ([\d,]+) \([^)]*\)</title>", image)
    counts = {(query, month): int(count.replace(",", "")) for query, month, count in bars}
    for number, series in enumerate(trend["series"]):
        assert [counts[(series["query"], period["label"])] for period in trend["periods"]] == series[
            "counts"
        ], number
    refused = client.simulate_get("/chart.svg", params={"q": "oil", "by": "hour"})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "image/svg+xml"  # an <img> shows what went wrong
    assert "day, week, month or year" in refused.text


def test_the_charts_page_has_its_numbers_in_a_table_that_says_what_the_bars_say(
    client: testing.TestClient,
) -> None:
    page = client.simulate_get("/chart", params={"q": "oil", "vs": "coffee", "by": "month"})
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
    assert "Words most used in <em>oil</em> matches: " in text
    assert '<form class="compare" action="/chart"' in text
    assert '<a href="/?q=oil&amp;vs=coffee&amp;by=month">Back to results</a>' in text
    assert 'href="/export.csv?q=oil"' in text
    assert client.simulate_get("/chart").status_code == 400


def test_a_month_without_any_dated_article_shows_no_share_on_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for name, title, when in [("a.txt", "Flood in the valley", "2020-01-10"), ("b.txt", "Budget vote", "2020-01-11"),
                              ("c.txt", "Flood warning", "2020-03-02")]:  # fmt: skip
        write_article(folder, name, title, f"{title}, as reported.", date=when)
    write_article(folder, "d.txt", "Storm warning", "A storm, as reported.")
    ingest(folder, index=tmp_path / "index")
    client = testing.TestClient(create_app(tmp_path / "index"))
    assert (
        '<img class="chart" src="/chart.svg?q=flood&amp;by=month"'
        in client.simulate_get("/", params={"q": "flood", "by": "month"}).text
    )
    page = client.simulate_get("/chart", params={"q": "flood", "by": "month"}).text
    table = re.search(r'<table class="trend-table">.*?</table>', page, re.S)
    assert table
    rows = dict(re.findall(r'<th scope="row">([\d-]+)</th>(.*?)</tr>', table.group()))
    assert re.findall(r"<td>([^<]*)</td>", rows["2020-02"]) == ["0", "–", "0"]  # no article: no share
    assert re.findall(r"<td>([^<]*)</td>", rows["2020-01"]) == ["1", "50.0%", "2"]
    assert "– : no dated article in the archive that month, so no share" in page
    assert "<title>flood, 2020-02: 0 (–)</title>" in page
    shares = client.simulate_get("/chart", params={"q": "flood", "by": "month", "share": "1"}).text
    assert "<title>flood, 2020-01: 1 (50.0%)</title></rect>" in shares
    assert "<title>flood, 2020-02" not in shares  # no bar, not a bar of 0
    assert "<title>2020-02: no dated article in the archive</title>" in shares
    api = client.simulate_get("/api/trend", params={"q": "flood", "by": "month"}).json
    assert api["series"][0]["shares"] == [0.5, None, 1.0]
    undated = client.simulate_get("/", params={"q": "storm"}).text
    assert "No dated matches to chart." in undated  # said without an image
    assert '<img class="chart"' not in undated
    image = client.simulate_get("/chart.svg", params={"q": "flood", "by": "month", "share": "1"}).text
    assert ">– : no dated article in the archive that month, so no share</text>" in image
    assert "<title>2020-02: no dated article in the archive</title>" in image


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
