"""Stories: syndicated and updated versions of one article found at ingest, grouped in results, counted.

The texts are written by the tests (wire-style copies of one report, Reuters-style templated
reports that are different stories); the labelled check runs on real Reuters-21578 articles
when ``../shared`` is beside the repo (``benchmarks/syndication.py`` makes it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from falcon import testing

from searchidx import Index, ingest
from searchidx.ingesting.stories import Sketch, same_story, sketch
from searchidx.outputs.web.app import create_app
from searchidx.outputs.web.serving import ServeSettings
from tests.conftest import REPO, need, write_article

sys.path.insert(0, str(REPO / "benchmarks"))
from syndication import REUTERS, labelled_set, pairwise, reuters_records

PARAGRAPHS = [
    "The harbour authority of Porto Vela said on Tuesday it would close the northern breakwater for "
    "eight weeks of repairs after storms in January cracked the concrete in three places.",
    "Ships of more than 40,000 tonnes will be sent to the southern quay, where the authority expects "
    "waiting times of up to two days during the busiest weeks of the spring season.",
    "The repairs will cost about 12 million euros, shared between the port and the regional "
    "government, the authority's director Marta Ines Soares told reporters at the port.",
    "Fishing boats and ferries are not affected, she said, and the marina will stay open throughout, "
    "although the walkway along the breakwater will be closed to visitors.",
    "Shipping agents said the closure came at a difficult time for exporters of cork and wine, who "
    "load most of their containers in the spring before the summer rise in freight rates.",
]
WIRE_DATE = "March 3, 2026"


def write_story(folder: Path) -> None:
    """The report as the wire ran it, a site's copy and an updated version, and two other stories."""
    write_article(folder, "wire.txt", "Porto Vela to close breakwater for repairs", "\n\n".join(PARAGRAPHS),
                  date=WIRE_DATE, url="https://wire.example/porto-vela")  # fmt: skip
    copy = ["By Jane Doe", *PARAGRAPHS[:4]]  # byline added, last paragraph cut
    copy[2] = copy[2].replace("said on Tuesday", "announced on Tuesday")
    write_article(folder, "site-copy.txt", "Storm-hit breakwater to shut for two months",
                  "\n\n".join(copy), date=WIRE_DATE, url="https://www.daily.example/news/breakwater")  # fmt: skip
    update = [*PARAGRAPHS[:3], "Dock workers' unions said they would meet the authority on Friday.",
              *PARAGRAPHS[3:]]  # fmt: skip
    write_article(folder, "update.txt", "UPDATE 1-Porto Vela breakwater closure to cost 12 mln euros",
                  "\n\n".join(update), date="March 4, 2026", url="https://news.other.example/a/1")  # fmt: skip
    write_article(folder, "other.txt", "Porto Vela ferry strike ends", "Ferry crews at Porto Vela ended "
                  "a three-day strike over pay on Monday after the operator agreed to a 4 percent rise, "
                  "the harbour authority said.", date=WIRE_DATE)  # fmt: skip


def test_a_syndicated_copy_and_an_update_are_one_story() -> None:
    wire = sketch("Porto Vela to close breakwater", "\n\n".join(PARAGRAPHS), datetime(2026, 3, 3))
    copy = sketch("Storm-hit breakwater to shut", "By Jane Doe\n\n" + "\n\n".join(PARAGRAPHS[:4]),
                  datetime(2026, 3, 3))  # fmt: skip
    assert same_story(wire, copy) is not None
    excerpt = sketch(
        "Breakwater to close", "\n\n".join(PARAGRAPHS[:2]), datetime(2026, 3, 4)
    )  # a site's first two
    assert same_story(wire, excerpt) is not None
    assert Sketch.from_bytes(copy.to_bytes()).to_bytes() == copy.to_bytes()  # kept as it was made
    two_weeks_later = sketch("Porto Vela to close breakwater", "\n\n".join(PARAGRAPHS), datetime(2026, 3, 17))
    assert same_story(wire, two_weeks_later) is None  # the same words on another day: another story


TEMPLATED = [  # Reuters-21578's own kinds: same words, other figures or another company
    ("ACME CORP <ACM> SETS QUARTERLY", "Qtly div 10 cts vs 10 cts prior Pay April 30 Record April 21"),
    ("ZURN INDUSTRIES <ZRN> SETS QUARTERLY", "Qtly div 10 cts vs 10 cts prior Pay April 30 Record April 21"),
    ("MAGNA GROUP <MAGI> SETS PAYOUT", "Qtly div 17 cts vs 17 cts prior Pay Dec 10 Record Nov 15"),
    ("FED ADDS RESERVES VIA CUSTOMER REPURCHASES",
     "The Federal Reserve entered the U.S. Government securities market to arrange 1.5 billion dlrs of "
     "customer repurchase agreements, a Fed spokesman said. Dealers said Federal funds were trading at "
     "6-1/8 pct when the Fed began its temporary and indirect supply of reserves to the banking system."),
    ("FED ADDS RESERVES VIA CUSTOMER REPURCHASES",
     "The Federal Reserve entered the U.S. Government securities market to arrange two billion dlrs of "
     "customer repurchase agreements, a Fed spokesman said. Dealers said Federal funds were trading at "
     "6-3/16 pct when the Fed began its temporary and indirect supply of reserves to the banking system."),
]  # fmt: skip


def test_templated_reports_are_never_one_story() -> None:
    day = datetime(1987, 3, 2)
    sketches = [sketch(title, body, day) for title, body in TEMPLATED]
    for number, first in enumerate(sketches):
        for second in sketches[number + 1 :]:
            assert same_story(first, second) is None


@pytest.fixture(scope="module", params=["whoosh", "opensearch"])
def story_index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    folder = tmp_path_factory.mktemp("stories") / "articles"
    write_story(folder)
    for number, (title, body) in enumerate(TEMPLATED):
        write_article(folder, f"templated-{number}.txt", title, body, date=WIRE_DATE)
    index: Path | str = folder.parent / "index"
    if request.param == "opensearch":
        index = f"{request.getfixturevalue('opensearch_cluster').url}/stories"
    ingest(folder, index=index, full=True)
    return index


def test_a_story_shows_once_with_its_other_versions_and_counts_stay_articles(story_index: Path | str) -> None:
    with Index(story_index) as ix:
        grouped = ix.search("breakwater", facets="source")
        every = ix.search("breakwater", all_versions=True)
    assert grouped.total == every.total == 3  # counts are of articles
    assert grouped.stories == every.stories == 1
    assert grouped.grouped
    assert len(grouped.hits) == 1
    (hit,) = grouped.hits
    assert {version.source for version in hit.versions} | {hit.source} == {
        "wire.example", "daily.example", "other.example"
    }  # fmt: skip
    assert len(every.hits) == 3
    assert not any(hit.versions for hit in every.hits)
    assert {found.story for found in every.hits} == {hit.story}
    assert sum(grouped.facets["source"].values()) == 3  # facets count articles
    with Index(story_index) as ix:
        stats = ix.stats()
    assert (stats.documents, stats.stories) == (9, 7)  # the three versions are one story


def test_the_cli_says_articles_and_stories_and_names_the_other_versions(story_index: Path | str) -> None:
    done = run_cli("query", "breakwater OR harbour", "--index", story_index)
    assert done.returncode == 0
    assert "and 2 other versions: " in done.stdout
    assert "of 4 articles, 2 stories in" in done.stderr
    document = json.loads(run_cli("query", "breakwater", "--index", story_index, "--json").stdout)
    assert (document["total"], document["stories"]) == (3, 1)
    (hit,) = document["hits"]
    assert len(hit["versions"]) == 2
    assert hit["story"]
    every = json.loads(
        run_cli("query", "breakwater", "--index", story_index, "--json", "--all-versions").stdout
    )
    assert [found["story"] for found in every["hits"]] == [hit["story"]] * 3


def test_the_page_and_the_api_group_versions_and_count_stories(story_index: Path | str) -> None:
    client = testing.TestClient(create_app(story_index, ServeSettings(timeout=60)))
    page = client.simulate_get("/", params={"q": "breakwater"}).text
    assert "of 3 articles, 1 story in" in page
    assert page.count('class="versions"') == 1
    assert "and 2 other versions: " in page
    assert "all_versions=1" in page  # the link to every version
    every_page = client.simulate_get("/", params={"q": "breakwater", "all_versions": "1"}).text
    assert every_page.count('<li class="hit">') == 3
    grouped = client.simulate_get("/api/search", params={"q": "breakwater"}).json
    assert (grouped["total"], grouped["stories"], len(grouped["hits"])) == (3, 1, 1)
    every = client.simulate_get("/api/search", params={"q": "breakwater", "all_versions": "1"}).json
    assert len({hit["story"] for hit in every["hits"]}) == 1
    assert len(every["hits"]) == 3
    trend = client.simulate_get("/api/trend", params={"q": "breakwater", "stories": "1", "by": "day"}).json
    assert trend["counted"] == "stories"
    assert [period["dated_stories"] for period in trend["periods"]] == [7]  # every story first ran that day


def test_trend_counts_a_story_once_on_the_day_it_first_ran(story_index: Path | str) -> None:
    with Index(story_index) as ix:
        articles = ix.trend("breakwater", by="day", words=0, sources=0)
        stories = ix.trend("breakwater", by="day", words=0, sources=0, stories=True)
    assert (articles.series[0].counts, articles.counted) == ((2, 1), "articles")
    assert (stories.series[0].counts, stories.counted) == ((1,), "stories")  # nothing first ran on the 4th


def test_a_reingest_keeps_the_stories_of_unchanged_articles(tmp_path: Path) -> None:
    folder, index = tmp_path / "articles", tmp_path / "index"
    write_story(folder)
    first = ingest(folder, index=index)
    assert (first.total, first.stories) == (4, 2)
    with Index(index) as ix:
        before = {hit.path: hit.story for hit in ix.search("breakwater", all_versions=True)}
    (folder / "wire.txt").unlink()  # the first version, whose id the story bears, is gone
    copy = folder / "site-copy.txt"
    copy.write_text(copy.read_text(encoding="utf-8").replace("two months", "eight weeks"), encoding="utf-8")
    report = ingest(folder, index=index)
    assert (report.updated, report.removed) == (1, 1)
    with Index(index) as ix:
        after = {hit.path: hit.story for hit in ix.search("breakwater", all_versions=True)}
    assert set(after.values()) == set(before.values())  # the changed copy rejoined the same story
    assert after[str(folder / "update.txt")] == before[str(folder / "update.txt")]


def test_the_labelled_check_holds_its_bars_on_reuters(tmp_path: Path) -> None:
    """Versions of 300 real articles among Reuters' templated and same-topic reports:
    pairwise recall >= 0.95 and precision >= 0.99 (benchmarks/stories.py prints the same figures)."""
    need(REUTERS)
    articles = labelled_set(reuters_records(), 300)
    folder = tmp_path / "labelled"
    folder.mkdir()
    for article in articles:
        (folder / article.name).write_text(article.text(), encoding="utf-8")
    ingest(folder, index=tmp_path / "index")
    with Index(tmp_path / "index") as ix:
        hits = ix.search("*", all_versions=True, limit=len(articles), snippets=0)
    stories = {Path(hit.path).name: hit.story for hit in hits}
    recall, precision, _, _ = pairwise({article.name: article.label for article in articles}, stories)
    assert recall >= 0.95
    assert precision >= 0.99


def test_sketches_made_together_are_those_made_one_by_one() -> None:
    from searchidx.ingesting.stories import sketch_all

    need(REUTERS)
    records = reuters_records()[:3000]
    articles = [(record.get("title", ""), record.get("body", ""), None) for record in records]
    articles += [("Short", "", None), ("Two words", "Oil rose.", None), ("Café", "Le café à Zürich a fermé 3 fois "
                 "en 2024, dit-il; the café reopened.", datetime(2024, 5, 1))]  # fmt: skip
    together = sketch_all(articles)
    assert sum(article[1].count(" ") >= 2 for article in articles) > 2900
    assert [each.to_bytes() for each in together] == [sketch(*article).to_bytes() for article in articles]


def test_a_sketch_is_the_one_earlier_versions_stored() -> None:
    """The ingest records keep each article's sketch, and a later ingest compares new articles with
    them: a sketch must stay the same bytes across versions (these were made by the version of
    2026-12-06, before ASCII texts were read as bytes)."""
    import zlib

    wire = ("Fed adds reserves", "The Federal Reserve entered the U.S. government securities market to arrange "
            "1.5 billion dlrs of repurchase agreements, a spokesman said. Fed funds were trading at 6-1/4 pct, "
            "three quarters of a point higher. Dealers said 10,000 was the figure on 12/3.", datetime(1987, 3, 2))  # fmt: skip
    accented = ("Café résumé", "Le café Straße naïve: “quoted” words — 3,5 millions d'euros, deux fois; TWO "
                "thirds in 2015/16.", None)  # fmt: skip
    assert [zlib.crc32(sketch(*article).to_bytes()) for article in (wire, accented)] == [111209305, 78028972]


def test_room_made_ahead_gives_the_stories_growing_gives() -> None:
    """An ingest makes room for the articles it is about to read at once (``StoryFinder.expect``); the
    stories are those the tables growing a step at a time give, past several of their steps."""
    from searchidx.ingesting.stories import StoryFinder

    need(REUTERS)
    articles = labelled_set(reuters_records(), 300)
    sketches = [(article.name, sketch(article.title, "\n\n".join(article.paragraphs), article.date))
                for article in articles * 4]  # fmt: skip
    assert len(sketches) > 4 * 1024  # the rows start at 1,024, the bands' table at 65,536 slots
    growing, ahead = StoryFinder(lambda: ()), StoryFinder(lambda: ())
    ahead.expect(len(sketches))
    told = [(growing.story_of(name, article), ahead.story_of(name, article)) for name, article in sketches]
    assert all(first == second for first, second in told)
    assert len({first for first, _ in told}) < len(articles)  # versions were found


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True)  # fmt: skip
