"""Watches: saved searches that report what each ingest brought, exactly (real ingests of real files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import searchidx.ingesting.ingest as ingesting
import searchidx.searching.watches as watching
from searchidx import Index, IngestObserver, WatchNotFoundError, ingest
from searchidx.errors import QueryError
from tests.conftest import CORPUS, REPO, stored_documents, write_article

# (name, query, options): plain words, a phrase, a filter by date and one by site.
WATCHES: list[tuple[str, str, dict[str, Any]]] = [
    ("oil", "oil", {}),
    ("prices", '"oil prices" OR wheat', {}),
    ("recent-trade", "trade", {"since": "1987-03-15"}),
    ("example-site", "harbour OR minister", {"source": "news.example"}),
]


def searchidx(*args: object, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def texts(index: Path) -> dict[str, tuple[str, str]]:
    """Every indexed article's title and text, by id."""
    return {
        doc: (str(fields["title"]), str(fields["body"])) for doc, fields in stored_documents(index).items()
    }


def brute_force(
    index: Path, before: dict[str, tuple[str, str]], options: dict[str, Any], query: str
) -> set[str]:
    """The articles added or changed since ``before`` that the query (as typed) matches: every match in
    the whole index, then those whose text is new."""
    after = texts(index)
    brought = {doc for doc, text in after.items() if before.get(doc) != text}
    with Index(index) as ix:
        matches = {hit.id for hit in ix.every_hit(query, exact=True, snippets=0, **options)}
    return matches & brought


def reported(index: Path, name: str) -> list[str]:
    with Index(index) as ix:
        (news,) = ix.watch_news(name)
    return [hit.id for hit in news.hits]


def quiet_day(tmp_path: Path) -> tuple[Path, Path]:
    """An archive of one article (a quiet day at the harbour) and its index: what a watch starts from."""
    archive, index = tmp_path / "archive", tmp_path / "index"
    write_article(archive, "0.txt", "Harbour", "A quiet day.", date="March 1, 1987")
    ingest(archive, index=index)
    return archive, index


class _StopAfter(IngestObserver):
    """Stops an ingest (as Ctrl-C does) once it added ``documents`` documents."""

    def __init__(self, documents: int) -> None:
        self.documents = documents

    def action(self, kind: str, location: str, detail: str = "") -> None:
        self.documents -= kind == "added"
        if self.documents == 0:
            raise KeyboardInterrupt


def test_watches_report_exactly_what_each_ingest_brought(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, index = tmp_path / "archive", tmp_path / "index"
    reuters = sorted((CORPUS / "reuters").glob("*.txt"))
    (archive / "wire").mkdir(parents=True)
    for path in reuters[:150]:
        shutil.copy(path, archive / "wire" / path.name)
    mine = archive / "mine"

    def article(number: int, body: str, *, date: str = "March 20, 1987") -> None:
        write_article(mine, f"a{number}.txt", f"Report {number} on the harbour", body, date=date,
                      url=f"https://news.example/{number}")  # fmt: skip

    for number in range(6):
        article(number, f"The minister spoke of oil prices and trade, report {number}.")
    ingest(archive, index=index)
    with Index(index) as ix:
        for name, query, options in WATCHES:
            ix.watch(name, query, **options)
        assert [watch.name for watch in ix.watches()] == sorted(name for name, _, _ in WATCHES)
        assert all(news.total == 0 for news in ix.watch_news(peek=True))  # what was there is not news

    seen: dict[str, dict[str, tuple[str, str]]] = {name: {} for name, _, _ in WATCHES}
    windows = 0

    def check_window(before: dict[str, tuple[str, str]]) -> None:
        nonlocal windows
        windows += 1
        now = texts(index)
        for name, query, options in WATCHES:
            got = reported(index, name)
            assert len(got) == len(set(got))  # never twice in one report
            assert set(got) == brute_force(index, before, options, query), (windows, name)
            for doc in got:  # never twice across reports, unless the text changed
                assert seen[name].get(doc) != now[doc]
                seen[name][doc] = now[doc]

    # 1. New files: the rest of the wire and two new articles.
    before = texts(index)
    for path in reuters[150:]:
        shutil.copy(path, archive / "wire" / path.name)
    article(6, "Wheat and oil prices rose, the minister said.")
    article(7, "Nothing to see at the harbour today.")
    ingest(archive, index=index)
    with Index(index) as ix:  # every watch's news at once (articles read once) as each feed gives it alone
        together = {news.watch.name: news.hits for news in ix.watch_news(peek=True)}
        # One ingest since the watches were made: the feeds' order (by arrival) is the news' (newest first).
        assert together == {name: ix.watch_feed(name, limit=10_000).hits for name, _, _ in WATCHES}
        with monkeypatch.context() as short:  # a listing that cannot keep what it read reads it again
            short.setattr(watching, "LISTING_CHARS", 1_000)
            assert {news.watch.name: news.hits for news in ix.watch_news(peek=True)} == together
        assert all(together.values())
        assert all(hit.snippet for hits in together.values() for hit in hits)
        counts = ix.watch_counts()  # each watch's, and the different articles of them all
        assert counts == {name: len(hits) for name, hits in together.items()}
        assert counts.articles == len({hit.id for hits in together.values() for hit in hits})
        assert counts.articles < sum(counts.values())  # some articles are news to several watches
    check_window(before)
    # 2. Changed files: a new text is news again; the same text under a new date line is not; a removed
    #    article is not reported.
    before = texts(index)
    article(0, "The minister spoke of oil prices again, and of a strike.")
    article(1, "The minister spoke of oil prices and trade, report 1.", date="March 21, 1987")
    (mine / "a2.txt").unlink()
    ingest(archive, index=index)
    check_window(before)
    assert reported(index, "oil") == []  # reported: nothing new until the next ingest
    # 3. Duplicates: a copy of an article is not indexed, so it is not news; a new article is.
    before = texts(index)
    shutil.copy(mine / "a3.txt", mine / "copy-of-a3.txt")
    shutil.copy(reuters[0], archive / "wire" / "again.txt")
    article(8, "A tanker carrying oil reached the harbour; the minister was there.")
    report = ingest(archive, index=index)
    assert len(report.duplicates) == 2
    check_window(before)
    # 4. An interrupted ingest: what it committed is reported once, when it is run again and finishes.
    before = texts(index)
    for number in range(9, 30):
        article(number, f"Oil prices and wheat at the harbour, said the minister, day {number}.")
    monkeypatch.setattr(ingesting, "BATCH_DOCUMENTS", 4)  # commits every 4 articles
    with pytest.raises(KeyboardInterrupt):
        ingest(archive, index=index, observer=_StopAfter(10))
    committed = set(texts(index)) - set(before)
    assert committed  # some of the new articles are in the index, searchable...
    with Index(index) as ix:
        assert all(news.total == 0 for news in ix.watch_news(peek=True))  # ... but not news yet
    monkeypatch.undo()
    ingest(archive, index=index)
    check_window(before)
    assert set(seen["oil"]) >= committed
    # 5. A rebuild reads everything again: nothing is news but what changed.
    before = texts(index)
    article(30, "Oil at the harbour, said the minister, once more.")
    ingest(archive, index=index, full=True)
    check_window(before)
    assert windows == 5
    assert seen["oil"]
    assert seen["prices"]
    assert seen["recent-trade"]
    assert seen["example-site"]


def test_peek_leaves_the_news_and_a_feed_keeps_every_ingest_since_the_watch_was_made(tmp_path: Path) -> None:
    archive, index = quiet_day(tmp_path)
    with Index(index) as ix:
        ix.watch("storm", "storm")
    for number in (1, 2):
        write_article(archive, f"{number}.txt", f"Storm {number}", "A storm hit the harbour.",
                      date=f"March {number + 1}, 1987")  # fmt: skip
        ingest(archive, index=index)
        with Index(index) as ix:
            assert ix.watch_counts() == {"storm": 1}
            (peeked,) = ix.watch_news("storm", peek=True)
            (news,) = ix.watch_news("storm")
            assert (
                [hit.title for hit in peeked.hits] == [hit.title for hit in news.hits] == [f"Storm {number}"]
            )
            assert ix.watch_counts() == {"storm": 0}
            # Its score is the query's, as a search gives it.
            assert news.hits[0].score == pytest.approx(ix.search("storm", limit=1, exact=True)[0].score)
    with Index(index) as ix:
        feed = ix.watch_feed("storm")
        assert [hit.title for hit in feed.hits] == ["Storm 2", "Storm 1"]  # newest first
    write_article(archive, "3.txt", "Storm of 1950", "A storm hit the harbour.", date="March 1, 1950")
    ingest(archive, index=index)  # an old article, brought last
    with Index(index) as ix:  # a feed shows what arrived last first; a listing, the newest first
        assert [hit.title for hit in ix.watch_feed("storm", limit=2).hits] == ["Storm of 1950", "Storm 2"]
        assert [hit.title for hit in ix.watch_news("storm", peek=True)[0].hits] == ["Storm of 1950"]
        assert [hit.title for hit in ix.every_hit("storm", sort="-date")] == [
            "Storm 2",
            "Storm 1",
            "Storm of 1950",
        ]
        assert ix.unwatch("storm").name == "storm"
        assert ix.watches() == []
        with pytest.raises(WatchNotFoundError, match="has no watch named 'storm'"):
            ix.watch_news("storm")


@pytest.mark.parametrize(
    ("name", "query", "options", "said"),
    [
        ("has space", "oil", {}, "A watch's name is 1-64 letters"),
        ("oil", "", {}, "The query is empty"),
        ("oil", "oil", {"mode": "semantic"}, "takes --mode keyword only"),
        ("oil", "oil", {"since": "not a date"}, "is not a date this tool understands"),
    ],
)
def test_a_watch_that_cannot_work_is_refused_when_it_is_added(
    corpus_index: tuple[Path, Any], name: str, query: str, options: dict[str, Any], said: str
) -> None:
    index, _ = corpus_index
    with Index(index) as ix, pytest.raises(QueryError, match=said):
        ix.watch(name, query, **options)


def test_the_watch_commands_and_what_ingest_says_of_them(tmp_path: Path) -> None:
    archive, index = tmp_path / "archive", tmp_path / "index"
    write_article(archive, "0.txt", "Harbour", "A quiet day.", date="March 1, 1987")
    assert searchidx("ingest", archive, "--index", index).returncode == 0
    added = searchidx("watch", "add", "storms", "storm", "OR", "gale", "--since", "1987", "--index", index)
    assert added.returncode == 0, added.stderr
    again = searchidx("watch", "add", "storms", "storm", "--index", index)
    assert again.returncode == 2
    assert again.stderr.startswith("searchidx: The index at ")
    assert "has a watch named 'storms' already" in again.stderr
    quiet = searchidx("ingest", archive, "--index", index)
    assert "new article" not in quiet.stdout  # nothing new: nothing said
    for number in (1, 2):
        write_article(archive, f"{number}.txt", f"Storm {number}", "A gale hit the harbour.",
                      date=f"March {number + 1}, 1987")  # fmt: skip
    ingested = searchidx("ingest", archive, "--index", index)
    assert ingested.stdout.splitlines()[-1] == "1 watch has 2 new articles: searchidx watch news"
    listed = searchidx("watch", "list", "--index", index)
    assert listed.stdout == "storms: 'storm OR gale' [--since 1987]: 2 new articles\n"
    as_json = json.loads(searchidx("watch", "list", "--json", "--index", index).stdout)
    assert as_json == {"watches": [{"name": "storms", "query": "storm OR gale", "options": {"since": "1987"},
                                    "command": None, "made": as_json["watches"][0]["made"], "new": 2}]}  # fmt: skip
    lines = searchidx("watch", "news", "--jsonl", "--peek", "--index", index).stdout.splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["Storm 2", "Storm 1"]
    assert all(json.loads(line)["watch"] == "storms" for line in lines)
    table = searchidx("watch", "news", "storms", "--csv", "--peek", "--index", index).stdout.splitlines()
    assert table[0] == "watch,rank,id,date,source,title,url,path,record,score,snippet"
    assert [row.split(",")[0] for row in table[1:]] == ["storms", "storms"]
    shown = searchidx("watch", "news", "--index", index)
    assert shown.returncode == 0
    assert shown.stdout.startswith("== storms: 2 new articles ('storm OR gale')\n")
    assert "Storm 2" in shown.stdout
    assert "gale" in shown.stdout
    nothing = searchidx("watch", "news", "--json", "--index", index)
    assert nothing.returncode == 1
    assert json.loads(nothing.stdout)["watches"][0]["total"] == 0
    assert nothing.stderr == "no new articles for 1 watch\n"
    summary = json.loads(searchidx("ingest", archive, "--index", index, "--json").stdout)
    assert summary["watches"] == {"new": {"storms": 0}, "articles": 0, "commands": []}
    assert searchidx("watch", "rm", "storms", "--index", index).stdout == "removed the watch storms\n"
    gone = searchidx("watch", "news", "storms", "--index", index)
    assert (gone.returncode, gone.stderr) == (2, f"searchidx: The index at {index} has no watch named 'storms'; "
                                                 "`searchidx watch list` lists its watches.\n")  # fmt: skip


def test_an_article_new_to_several_watches_is_counted_once_and_a_rewritten_query_is_said(
    tmp_path: Path,
) -> None:
    archive, index = quiet_day(tmp_path)
    assert searchidx("watch", "add", "storms", "storm", "--index", index).returncode == 0
    broken = searchidx("watch", "add", "gales", "gale", "OR", "(", "--index", index)
    assert broken.returncode == 0
    assert "unbalanced parenthesis" in broken.stderr  # said, as `query` says it
    blank = searchidx("watch", "add", "hooked", "storm", "--exec", " ", "--index", index)
    assert (blank.returncode, blank.stderr.splitlines()[-1]) == (
        2, "Error: --exec needs a command to run, e.g. --exec 'cat >> news.jsonl'.")  # fmt: skip
    write_article(archive, "1.txt", "Storm", "A storm hit the harbour.", date="March 2, 1987")
    write_article(archive, "2.txt", "Storm and gale", "A storm and a gale.", date="March 3, 1987")
    write_article(archive, "3.txt", "Gale", "A gale hit the harbour.", date="March 4, 1987")
    ingested = searchidx("ingest", archive, "--index", index)
    assert ingested.stdout.splitlines()[-1] == "2 watches have 3 new articles: searchidx watch news"
    shown = searchidx("watch", "news", "--index", index)
    assert (
        shown.stderr
        == "3 new articles for 2 watches of 2 (4 listed: an article once for each watch it matches)\n"
    )
    summary = json.loads(searchidx("ingest", archive, "--index", index, "--json").stdout)
    assert summary["watches"] == {"new": {"gales": 0, "storms": 0}, "articles": 0, "commands": []}
    nothing = searchidx("watch", "news", "storms", "--index", index)
    assert (nothing.returncode, nothing.stderr) == (1, "no new articles for the watch storms\n")
    semantic = searchidx("watch", "add", "meaning", "storm", "--mode", "semantic", "--index", index)
    assert semantic.returncode == 2
    assert semantic.stderr.startswith("searchidx: A watch reports the articles that match its words")


def test_news_cut_short_by_the_reader_stays_new(tmp_path: Path) -> None:
    """`watch news | head` shows a few lines and closes the pipe: what was not printed is not reported."""
    archive, index = quiet_day(tmp_path)
    with Index(index) as ix:
        ix.watch("storms", "storm")
    body = "A storm hit the harbour and the boats stayed in. " * 6
    for number in range(1, 1201):  # far more than a pipe holds (64 KiB): the listing waits for its reader
        write_article(archive, f"{number}.txt", f"Storm {number}", body, date="March 2, 1987")
    ingest(archive, index=index)
    command = [sys.executable, "-m", "searchidx", "watch", "news", "--index", str(index)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as reading:
        assert reading.stdout is not None
        assert reading.stderr is not None
        assert reading.stdout.readline().startswith("== storms: 1,200 new articles")
        reading.stdout.close()  # as `head -1` does
        assert reading.wait(timeout=300) == 0
        assert reading.stderr.read() == ""  # no traceback
    with Index(index) as ix:
        assert ix.watch_counts() == {"storms": 1200}
    assert searchidx("watch", "news", "--index", index).returncode == 0  # read whole: reported
    with Index(index) as ix:
        assert ix.watch_counts() == {"storms": 0}


def test_a_watch_command_gets_the_new_articles_and_its_failure_never_fails_the_ingest(tmp_path: Path) -> None:
    (archive, index), received = quiet_day(tmp_path), tmp_path / "received.jsonl"
    with Index(index) as ix:
        ix.watch("storms", "storm", hook=f"cat >> {received}; echo $SEARCHIDX_WATCH $SEARCHIDX_NEW >&2")
        ix.watch("failing", "storm", hook="cat > /dev/null; exit 3")
    write_article(archive, "1.txt", "Storm at sea", "A storm hit the harbour.", date="March 2, 1987")
    first = searchidx("ingest", archive, "--index", index)
    assert first.returncode == 0
    assert [json.loads(line)["title"] for line in received.read_text().splitlines()] == ["Storm at sea"]
    assert "storms 1" in first.stderr.splitlines()  # what the command printed, and its environment
    assert ("searchidx: watch failing: its command failed (it exited with 3); it is given its 1 new article "
            "again after the next ingest") in first.stderr  # fmt: skip
    second = searchidx("ingest", archive, "--index", index)  # nothing new: the failed one is tried again
    assert second.returncode == 0
    assert "watch failing: its command failed" in second.stderr
    assert len(received.read_text().splitlines()) == 1  # the one that succeeded is never given them again


def test_a_watch_feed_is_atom_a_feed_reader_parses_with_a_link_to_each_article(tmp_path: Path) -> None:
    import base64
    import xml.etree.ElementTree as ElementTree

    import feedparser

    from tests.servers import serving, without_token

    archive, index = quiet_day(tmp_path)
    with Index(index) as ix:
        ix.watch("storms", "storm", source="news.example")
    write_article(archive, "1.txt", "Storm & <gale>", "A storm hit the harbour.", date="March 2, 1987",
                  url="https://news.example/storm")  # fmt: skip
    write_article(archive, "2.txt", "Storm elsewhere", "A storm, far away.", url="https://other.example/s")
    ingest(archive, index=index)
    secret = "a-secret-of-twenty-characters"
    with serving(index, env=without_token(SEARCHIDX_TOKEN=secret)) as server:
        assert server.request("/watch/storms.atom").status == 401
        basic = base64.b64encode(f"reader:{secret}".encode()).decode()
        answer = server.request("/watch/storms.atom", headers={"Authorization": f"Basic {basic}"})
        assert answer.status == 200
        assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
        missing = server.request("/watch/nothing.atom", headers={"Authorization": f"Bearer {secret}"})
        assert missing.status == 404
    feed = feedparser.parse(answer.body)
    assert (feed.bozo, feed.version) == (0, "atom10")
    (entry,) = feed.entries  # the other site's article is not the watch's
    assert entry.title == "Storm & <gale>"
    links = {link.rel: link.href for link in entry.links}
    assert links["related"] == "https://news.example/storm"
    assert links["alternate"] == f"{server.url}doc/{entry.id.rsplit(':', 1)[1]}"
    assert entry.published.startswith("1987-03-02")
    assert "storm" in entry.summary.lower()
    root = ElementTree.fromstring(answer.body)  # what RFC 4287 requires of a feed and each entry
    atom = "{http://www.w3.org/2005/Atom}"
    assert all(root.find(atom + part) is not None for part in ("id", "title", "updated", "author"))
    for item in root.iter(atom + "entry"):
        assert all(item.find(atom + part) is not None for part in ("id", "title", "updated"))
