"""searchidx on a real three-node OpenSearch cluster (one JVM a node, started by ``cluster/nodes.py``).

The Reuters JSON Lines (19,043 records) go into a 2-shard x 1-replica index
through the CLI and into a 1-shard index through the API; the same folder
into a Whoosh index. Then: placement of shards, counts and duplicates as on
Whoosh, incremental runs, equal rankings across shard layouts, overlap with
Whoosh, errors in one sentence, credentials never printed, and a node killed
with -9 during an ingest and between queries.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from searchidx import (
    ClusterError,
    Index,
    IngestObserver,
    IngestReport,
    QueryError,
    SearchTimeoutError,
    ingest,
    search,
)
from searchidx.engines.factory import open_backend
from tests.conftest import REPO, SHARED, assert_id_rows_match_full_rows, need, write_article

pytestmark = pytest.mark.slow
REUTERS = SHARED / "data" / "news" / "reuters21578.jsonl"
QUERIES = [
    line.strip() for line in (REPO / "benchmarks" / "queries.txt").read_text().splitlines() if line.strip()
][:50]
# Prefixes (and a wildcard) standing for several words of the Reuters articles each.
PREFIX_QUERIES = ["mobil*", "comput*", "petro*", "tele*", "bank*", "export*", "wheat*", "electr*",
                  "financ*", "secur*", "invest*", "ex*ort"]  # fmt: skip
SECRET = "s3cret-Pa55word"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchidx", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def top10(index: str | Path, query: str) -> list[str]:
    with Index(index) as ix:
        return [hit.id for hit in ix.search(query, snippets=0)]


@pytest.fixture(scope="module")
def reuters_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reuters")
    shutil.copy(need(REUTERS), folder / "reuters.jsonl")
    return folder


@pytest.fixture(scope="module")
def whoosh_reuters(
    reuters_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, IngestReport]:
    index = tmp_path_factory.mktemp("whoosh") / "index"
    return index, ingest(reuters_folder, index=index)


@pytest.fixture(scope="module")
def two_shards(opensearch_cluster: Any, reuters_folder: Path) -> tuple[str, dict[str, Any]]:
    """The Reuters records ingested by ``searchidx ingest`` into 2 shards x 1 replica."""
    url = f"{opensearch_cluster.url}/reuters2"
    done = cli("ingest", reuters_folder, "--index", url, "--shards", "2", "--replicas", "1", "--json")
    assert done.returncode == 0, done.stderr
    return url, json.loads(done.stdout)


@pytest.fixture(scope="module")
def one_shard(opensearch_cluster: Any, reuters_folder: Path) -> str:
    url = f"{opensearch_cluster.url}/reuters1"
    ingest(reuters_folder, index=url, shards=1, replicas=0)
    return url


def test_two_shards_have_their_primary_and_replica_on_different_nodes(
    opensearch_cluster: Any, two_shards: tuple[str, dict[str, Any]]
) -> None:
    shards = get_json(f"{opensearch_cluster.url}/_cat/shards/reuters2?format=json")
    by_shard: dict[str, dict[str, str]] = {}
    for copy in shards:
        assert copy["state"] == "STARTED"
        by_shard.setdefault(copy["shard"], {})[copy["prirep"]] = copy["node"]
    assert sorted(by_shard) == ["0", "1"]
    for copies in by_shard.values():
        assert set(copies) == {"p", "r"}
        assert copies["p"] != copies["r"]


def test_the_cluster_holds_what_whoosh_holds_for_the_same_input(
    opensearch_cluster: Any, two_shards: tuple[str, dict[str, Any]], whoosh_reuters: tuple[Path, IngestReport]
) -> None:
    url, report = two_shards
    _, whoosh = whoosh_reuters
    assert report["records"] == 19_043
    assert report["added"] == whoosh.added == whoosh.total
    assert report["duplicate_items"] == [{"location": d.location, "of": d.of} for d in whoosh.duplicates]
    assert report["total"] == get_json(f"{opensearch_cluster.url}/reuters2/_count")["count"] == whoosh.total
    assert report["added"] + report["duplicates"] + report["skipped"] == report["records"]
    stats = json.loads(cli("stats", "--index", url, "--json").stdout)
    assert stats["backend"] == "opensearch"
    assert stats["documents"] == whoosh.total
    assert stats["cluster"] == {
        "name": "searchidx-test",
        "health": "green",
        "nodes": "3",
        "shards": "2",
        "replicas": "1",
    }
    with Index(whoosh_reuters[0]) as ix:
        assert stats["per_year"] == ix.stats().per_year
    assert "OpenSearch cluster searchidx-test: green, 3 nodes" in cli("stats", "--index", url).stdout


def test_an_unchanged_rerun_changes_nothing(
    two_shards: tuple[str, dict[str, Any]], reuters_folder: Path
) -> None:
    url, first = two_shards
    again = ingest(reuters_folder, index=url)
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == first["added"]
    assert again.total == first["total"]
    assert len(again.duplicates) == first["duplicates"]


def test_a_changed_file_updates_and_a_removed_file_deletes(opensearch_cluster: Any, tmp_path: Path) -> None:
    url = f"{opensearch_cluster.url}/small"
    for number, word in enumerate(["harbour", "glacier", "orchard"]):
        write_article(
            tmp_path,
            f"{number}.txt",
            f"The {word} story",
            f"A story about the {word}.",
            url=f"https://small.example/{number}",
        )
    assert ingest(tmp_path, index=url).added == 3
    write_article(
        tmp_path,
        "0.txt",
        "The lighthouse story",
        "A story about the lighthouse.",
        url="https://small.example/0",
    )
    (tmp_path / "2.txt").unlink()
    # A new ingest reads what earlier ones recorded from the cluster, as another machine would.
    report = ingest(tmp_path, index=url)
    assert (report.added, report.updated, report.unchanged, report.removed, report.total) == (0, 1, 1, 1, 2)
    assert [hit.title for hit in search("lighthouse", index=url)] == ["The lighthouse story"]
    assert [hit.title for hit in search("glacier", index=url)] == ["The glacier story"]
    assert search("harbour orchard", index=url, exact=True).total == 0
    assert cli("check", "--index", url).returncode == 0


def test_a_watch_on_the_cluster_reports_each_ingest_once_as_in_a_folder(
    opensearch_cluster: Any, tmp_path: Path
) -> None:
    url = f"{opensearch_cluster.url}/watched"
    write_article(tmp_path, "0.txt", "The harbour story", "A quiet harbour.", url="https://w.example/0")
    ingest(tmp_path, index=url)
    with Index(url) as ix:
        ix.watch("storms", "storm", hook="true")
    for number in (1, 2):
        write_article(tmp_path, f"{number}.txt", f"Storm {number}", "A storm at the harbour.",
                      url=f"https://w.example/{number}")  # fmt: skip
    write_article(tmp_path, "0.txt", "The harbour story", "A quiet harbour.", date="March 3, 1987",
                  url="https://w.example/0")  # fmt: skip
    ingest(tmp_path, index=url)
    with Index(url) as ix:  # as another machine would see them: the watches live on the cluster
        assert [watch.name for watch in ix.watches()] == ["storms"]
        assert ix.watch_counts() == {"storms": 2}
        assert ix.watch_counts().articles == 2
        (news,) = ix.watch_news("storms")
        assert sorted(hit.title for hit in news.hits) == ["Storm 1", "Storm 2"]
        assert ix.watch_counts() == {"storms": 0}
        (given,) = ix.hook_news()  # a command's progress is its own
        assert len(given.hits) == 2
        ix.hooked(given)
        assert [len(each.hits) for each in ix.hook_news()] == [0]
    write_article(
        tmp_path, "1.txt", "Storm 1", "A storm at the harbour, and a gale.", url="https://w.example/1"
    )
    ingest(tmp_path, index=url)
    with Index(url) as ix:
        (news,) = ix.watch_news("storms")
        assert [hit.title for hit in news.hits] == ["Storm 1"]  # its text changed: news again
        assert [hit.title for hit in ix.watch_feed("storms").hits] == [
            "Storm 1",
            "Storm 2",
        ]  # last to arrive first
        ix.unwatch("storms")
        assert ix.watches() == []


def test_a_web_archive_on_the_cluster_gives_what_it_gives_in_a_folder(
    opensearch_cluster: Any, tmp_path: Path
) -> None:
    from tests.test_archives import every_kind, write_warc

    folder = tmp_path / "crawl"
    folder.mkdir()
    write_warc(folder / "crawl.warc.gz", every_kind)
    on_cluster = ingest(folder, index=f"{opensearch_cluster.url}/archive")
    in_folder = ingest(folder, index=tmp_path / "index")
    assert (on_cluster.added, on_cluster.passed_records) == (in_folder.added, in_folder.passed_records)
    [hit] = search("ferry", index=f"{opensearch_cluster.url}/archive")
    [local] = search("ferry", index=tmp_path / "index")
    assert (hit.url, hit.date, hit.crawled, hit.record) == (
        local.url,
        local.date,
        local.crawled,
        local.record,
    )
    assert hit.crawled is not None


def test_the_latest_capture_wins_across_files_on_the_cluster(opensearch_cluster: Any, tmp_path: Path) -> None:
    from tests.test_archives import capture, write_warc

    folder, url = tmp_path / "crawls", f"{opensearch_cluster.url}/captures"
    folder.mkdir()
    write_warc(folder / "b.warc.gz", capture("An early version.", "2024-03-01T09:00:00Z"))
    write_warc(folder / "a.warc.gz", capture("The ferry is back in service.", "2024-03-02T09:00:00Z"))
    report = ingest(folder, index=url)
    assert (report.added, len(report.duplicates), report.total) == (1, 1, 1)
    assert "back in service" in search("ferry", index=url).hits[0].snippet
    (folder / "a.warc.gz").unlink()
    assert ingest(folder, index=url).total == 1
    assert "early version" in search("ferry", index=url).hits[0].snippet


def test_sites_filter_and_count_on_the_cluster_as_in_a_folder(
    opensearch_cluster: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "news"
    for number, host in enumerate(["news.bbc.co.uk", "www.bbc.co.uk", "notbbc.co.uk", "bbc.co.uk.evil.com"]):
        write_article(folder, f"{number}.txt", f"Harbour story {number}", f"The harbour story number {number}.",
                      url=f"https://{host}/2024/harbour-{number}")  # fmt: skip
    url = f"{opensearch_cluster.url}/sites"
    ingest(folder, index=url)
    ingest(folder, index=tmp_path / "index")
    for where in (url, tmp_path / "index"):
        assert search("harbour", index=where, source="news.bbc.co.uk", limit=10).total == 2
        assert search("source:bbc.co.uk", index=where, limit=10).total == 2
        facets = search("harbour", index=where, facets=["source"]).facets["source"]
        assert facets == {"bbc.co.uk": 2, "evil.com": 1, "notbbc.co.uk": 1}


def test_an_ingest_waits_for_another_holding_the_lock(opensearch_cluster: Any, tmp_path: Path) -> None:
    url = f"{opensearch_cluster.url}/locked"
    write_article(tmp_path, "a.txt", "Harbour story", "A story about the harbour.")
    ingest(tmp_path, index=url)
    lock = json.dumps(
        {"host": "newsroom-2", "pid": 4242, "since": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
    ).encode()
    request = urllib.request.Request(
        f"{opensearch_cluster.url}/locked-searchidx-files/_create/searchidx:lock?refresh=true",
        data=lock,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()
    refused = cli("ingest", tmp_path, "--index", url, "--wait", "1")
    assert refused.returncode == 2
    assert "Another ingest (newsroom-2, PID 4242) is still writing to" in refused.stderr
    remove = urllib.request.Request(
        f"{opensearch_cluster.url}/locked-searchidx-files/_doc/searchidx:lock?refresh=true", method="DELETE"
    )
    urllib.request.urlopen(remove, timeout=30).close()
    assert ingest(tmp_path, index=url).unchanged == 1


def test_a_document_the_cluster_rejects_is_reported_like_a_bad_file(
    opensearch_cluster: Any, tmp_path: Path
) -> None:
    url = f"{opensearch_cluster.url}/rejects"
    write_article(tmp_path, "fine.txt", "Harbour story", "A story about the harbour.")
    # A site name longer than the 32,766 bytes Lucene allows a term: the cluster refuses the document.
    write_article(
        tmp_path,
        "immense.txt",
        "Immense site",
        "A story from a site with an immense name.",
        url=f"https://{'x' * 40_000}.example/story",
    )
    first = ingest(tmp_path, index=url)
    assert (first.added, first.total) == (1, 1)
    (skipped,) = first.skipped
    assert skipped.location.endswith("immense.txt")
    assert skipped.reason.startswith("the cluster rejected the document (")
    assert first.records == 2
    again = ingest(tmp_path, index=url)  # still reported, still not lost from the counts
    assert (again.unchanged, [item.location for item in again.skipped]) == (1, [skipped.location])
    assert cli("check", "--index", url).returncode == 0


def test_two_shards_rank_as_one_shard_and_the_overlap_with_whoosh_is_measured(
    two_shards: tuple[str, dict[str, Any]],
    one_shard: str,
    whoosh_reuters: tuple[Path, IngestReport],
    record_property: Any,
) -> None:
    url, _ = two_shards
    overlaps = []
    for query in QUERIES:
        sharded = top10(url, query)
        assert sharded == top10(one_shard, query), query
        whoosh = top10(whoosh_reuters[0], query)
        overlaps.append(len(set(sharded) & set(whoosh)) / max(len(whoosh), 1))
    mean = sum(overlaps) / len(overlaps)
    record_property("overlap_at_10_with_whoosh", round(mean, 3))
    print(f"overlap@10 with Whoosh over {len(QUERIES)} queries: mean {mean:.3f}, min {min(overlaps):.2f}")
    assert mean > 0.8  # the same terms and the same BM25: what differs is length quantization and ties


def test_prefixes_and_wildcards_are_scored_word_by_word_as_on_whoosh(
    two_shards: tuple[str, dict[str, Any]],
    one_shard: str,
    whoosh_reuters: tuple[Path, IngestReport],
    record_property: Any,
) -> None:
    """Each word a prefix stands for adds its own BM25 score, as in Whoosh's OR of the words.

    Before, the cluster's constant-score rewrite gave every hit of ``mobil*``
    the score 1.25 (ties broken by id): overlap@10 with Whoosh 0.058 over
    these queries. Whoosh used to drop a field's weight when a prefix stood
    for a single word in it (``mobil`` alone in the titles), scoring those
    title matches 4 times higher; it keeps it now (searchidx.query.bounds).
    """
    url, _ = two_shards
    overlaps = []
    for query in PREFIX_QUERIES:
        with Index(url) as ix:
            scores = [hit.score for hit in ix.search(query, snippets=0).hits]
        assert len(set(scores)) > 1, (query, scores)
        sharded = top10(url, query)
        assert sharded == top10(one_shard, query), query
        whoosh = top10(whoosh_reuters[0], query)
        overlaps.append(len(set(sharded) & set(whoosh)) / max(len(whoosh), 1))
    mean = sum(overlaps) / len(overlaps)
    record_property("prefix_overlap_at_10_with_whoosh", round(mean, 3))
    shown = ", ".join(
        f"{query} {overlap:.1f}" for query, overlap in zip(PREFIX_QUERIES, overlaps, strict=True)
    )
    print(f"prefix overlap@10 with Whoosh: mean {mean:.3f} ({shown})")
    assert mean >= 0.8  # measured 0.858 and 0.867 (Whoosh's near ties vary with its segments)
    assert min(overlaps) >= 0.5
    # Within the bound (mobil*) both engines match the same articles. Past it (con*: over 100 words
    # in the body) the cluster still matches every word (its filter) and scores the first 100 in term
    # order, while Whoosh searches the 100 most frequent only, and says so (searchidx.query.bounds).
    mobile = search("mobil*", index=url, exact_total=True)
    assert mobile.total == search("mobil*", index=whoosh_reuters[0], exact_total=True).total
    assert mobile.total_is_exact
    on_cluster = search("con*", index=url, exact_total=True)
    on_whoosh = search("con*", index=whoosh_reuters[0], exact_total=True)
    assert on_whoosh.total <= on_cluster.total
    assert on_whoosh.notes[0].startswith("con* stands for ")
    # Many prefixes in one query stay under the cluster's limit of 1,024 clauses.
    assert search("a* b* c* d* e* f* g*", index=url).total > 18_000


def test_star_is_every_article_and_a_deadline_stops_a_search_on_a_cluster(
    two_shards: tuple[str, dict[str, Any]], whoosh_reuters: tuple[Path, IngestReport]
) -> None:
    url, _ = two_shards
    with Index(url) as ix:
        newest = ix.search("*", sort="-date", limit=20)
        assert newest.total == ix.document_count() == search("*", index=whoosh_reuters[0]).total
        assert newest.total_is_exact
        dates = [hit.date for hit in newest.hits if hit.date is not None]
        assert len(dates) == 20
        assert dates == sorted(dates, reverse=True)
        assert ix.search("title:*").total == newest.total
        with pytest.raises(QueryError, match="starts with a wildcard"):
            ix.search("*tion")
        with pytest.raises(SearchTimeoutError, match="budget"):
            ix.search("a* b* c* corn~2", deadline=time.monotonic())
        assert ix.search("gold", deadline=time.monotonic() + 120).total > 100


def test_search_from_python_hits_snippets_facets_and_similar(
    two_shards: tuple[str, dict[str, Any]], whoosh_reuters: tuple[Path, IngestReport]
) -> None:
    url, _ = two_shards
    found = search("cocoa prices", index=url, facets="year,source", since="1987-03-01")
    on_whoosh = search(
        "cocoa prices", index=whoosh_reuters[0], facets="year,source", since="1987-03-01", exact_total=True
    )
    assert found.total == on_whoosh.total > 10
    assert (found.total_is_exact, on_whoosh.total_is_exact) == (True, True)
    assert found.facets == on_whoosh.facets
    first = found.hits[0]
    assert "cocoa" in first.snippet.lower()
    assert first.highlights
    twin = next(hit for hit in on_whoosh.hits if hit.id == first.id)
    assert (first.snippet, first.highlights) == (twin.snippet, twin.highlights)
    corrected = search("cocao prices", index=url)
    assert corrected.corrected
    assert corrected.suggestion == "cocoa prices"
    with Index(url) as ix:
        assert ix.get(first.id).title == first.title
        similar = ix.similar(first.id, limit=5)
        assert len(similar.hits) == 5
        assert first.id not in {hit.id for hit in similar.hits}
        assert (
            search('"cocoa prices"', index=url).total
            == search('"cocoa prices"', index=whoosh_reuters[0]).total
        )


def test_id_only_rows_and_documents_by_id_are_the_full_rows_parts(
    two_shards: tuple[str, dict[str, Any]],
) -> None:
    assert_id_rows_match_full_rows(open_backend(two_shards[0]), QUERIES[:10], 30)


def test_credentials_are_never_printed(
    opensearch_cluster: Any, two_shards: tuple[str, dict[str, Any]]
) -> None:
    url, _ = two_shards
    env = {"SEARCHIDX_OPENSEARCH_USER": "reader", "SEARCHIDX_OPENSEARCH_PASSWORD": SECRET}
    closed = f"http://127.0.0.1:{_free_port()}/news"
    for args in (
        ("stats", "--index", url),
        ("stats", "--index", url, "--json"),
        ("query", "oil", "--index", url),
        ("query", "oil", "--index", closed),
        ("check", "--index", closed),
    ):
        done = cli(*args, env=env)
        assert SECRET not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    with_credentials = cli("query", "oil", "--index", f"http://reader:{SECRET}@127.0.0.1:9/news")
    assert with_credentials.returncode == 2
    assert SECRET not in with_credentials.stderr
    assert "SEARCHIDX_OPENSEARCH_PASSWORD" in with_credentials.stderr


def test_cluster_errors_are_one_sentence_and_exit_2(opensearch_cluster: Any) -> None:
    closed = cli("query", "oil", "--index", f"http://127.0.0.1:{_free_port()}/news")
    assert closed.returncode == 2
    assert closed.stderr.startswith("searchidx: Cannot reach the cluster at")
    plain = opensearch_cluster.url.removeprefix("http://")
    tls = cli("query", "oil", "--index", f"https://{plain}/news")  # certificates are checked: no TLS there
    assert tls.returncode == 2
    assert tls.stderr.startswith(f"searchidx: The TLS connection to https://{plain}/news failed")
    missing = cli("query", "oil", "--index", f"{opensearch_cluster.url}/no-such-index")
    assert missing.returncode == 2
    assert "No index 'no-such-index'" in missing.stderr
    with _refusing_server() as port:
        refused = cli("stats", "--index", f"http://127.0.0.1:{port}/news")
    assert refused.returncode == 2
    assert "refused the login" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_missing_index_is_said_at_once_by_every_command(opensearch_cluster: Any) -> None:
    """`check` waited 30 s for the health of an index that does not exist, then said HTTP 408."""
    url = f"{opensearch_cluster.url}/no-such-index"
    said = (
        f"searchidx: No index 'no-such-index' on the cluster at {opensearch_cluster.url}. "
        "Run `searchidx ingest DIR --index URL` first.\n"
    )
    for args in (["check"], ["stats"], ["query", "oil"], ["similar", "x1"], ["show", "x1"], ["trend", "oil"]):
        started = time.monotonic()
        done = cli(*args, "--index", url)
        took = time.monotonic() - started
        assert (done.returncode, done.stderr) == (2, said), args
        assert took < 10, (args, took)  # about 0.5 s: no request waits on the cluster


@pytest.fixture
def managerless(opensearch_cluster: Any, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """(an index URL naming every node, the nodes killed) on a 3-node cluster of the test's own:
    after an ingest, its elected manager and another node are killed with -9 (by PID), so the
    last node cannot elect one alone. The session's cluster is not touched."""
    import nodes  # cluster/nodes.py, which the opensearch_cluster fixture put on the path

    cluster = nodes.Cluster(3)
    cluster.start()
    try:
        url = f"http://{cluster.urls.removeprefix('http://')}/news"
        write_article(tmp_path, "a.txt", "Harbour story", "A story about the harbour.")
        ingest(tmp_path, index=url, replicas=1)
        manager = get_json(f"{cluster.url}/_cat/cluster_manager?format=json")[0]["node"]
        survivor = next(node for node in cluster.nodes if node.name != manager)
        killed = [node for node in cluster.nodes if node is not survivor]
        for node in killed:
            node.kill()
        deadline = time.monotonic() + 60
        while cluster.health(survivor, "?local=true").get("discovered_cluster_manager"):
            assert time.monotonic() < deadline, "the last node still knows a manager after 60 s"
            time.sleep(0.2)
        yield url, sorted(node.name for node in killed)
    finally:
        cluster.stop()


def test_a_cluster_without_a_manager_is_said_within_15_s(managerless: tuple[str, list[str]]) -> None:
    """Every command took about 2 minutes (4 tries of 30 s) to print a bare 503, and advised
    `searchidx stats`, which took as long."""
    url, killed = managerless

    def timed(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        done = cli(*args, "--index", url)
        return done, time.monotonic() - started

    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda args: timed(*args), [("query", "harbour"), ("stats",), ("check",)]))
    shown = ", ".join(f"{done.args[3]} {took:.1f} s" for done, took in runs)
    print(f"without a manager, failed after: {shown}")
    for done, took in runs:
        assert done.returncode == 2, done
        assert done.stderr.startswith("searchidx: The cluster at http://127.0.0.1:"), done.stderr
        assert f"has no elected cluster manager (2 of 3 nodes unreachable: {', '.join(killed)})" in (
            done.stderr
        )
        assert "Start the missing nodes, then try again." in done.stderr
        assert "`searchidx" not in done.stderr  # no advice to run a command that would wait as long
        assert took < 15, (done.args, took)  # measured 9-11 s: 8 s the cluster waits for a manager


def test_a_request_the_manager_cannot_answer_is_sent_once(tmp_path: Path) -> None:
    """The client sent each 503 again 3 times (each waiting 30 s on a real cluster); now each
    command sends one request, asks the node what is wrong (``local``), and says so."""
    pytest.importorskip("opensearchpy")
    write_article(tmp_path, "a.txt", "Harbour story", "A story about the harbour.")
    with _refusing_server(_Managerless) as port:
        for args in (("query", "oil"), ("stats",), ("check",), ("ingest", str(tmp_path))):
            _Managerless.asked.clear()
            done = cli(*args, "--index", f"http://127.0.0.1:{port}/news")
            assert done.returncode == 2, done
            assert "has no elected cluster manager (2 of 3 nodes unreachable: node-2, node-3)" in done.stderr
            requests = [line for line in _Managerless.asked if "local=true" not in line]
            assert len(requests) == 1, _Managerless.asked
            assert "cluster_manager_timeout=8s" in requests[0]


def test_a_red_index_is_reported(opensearch_cluster: Any) -> None:
    """An index whose only shard cannot be placed on any node: `check` says red, a query says what to do."""
    from searchidx.engines.opensearch.backend import index_body

    body = index_body(1, 0)
    body["settings"]["index.routing.allocation.require._name"] = "no-such-node"
    request = urllib.request.Request(
        f"{opensearch_cluster.url}/reddish?wait_for_active_shards=0",
        method="PUT",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()
    try:
        checked = cli("check", "--index", f"{opensearch_cluster.url}/reddish")
        queried = cli("query", "harbour", "--index", f"{opensearch_cluster.url}/reddish")
    finally:  # a red index keeps the whole cluster red
        deleted = urllib.request.Request(f"{opensearch_cluster.url}/reddish", method="DELETE")
        urllib.request.urlopen(deleted, timeout=30).close()
    assert checked.returncode == 1, checked
    assert "is red" in checked.stdout
    assert queried.returncode == 2
    assert "Traceback" not in queried.stderr
    assert queried.stderr.startswith("searchidx: "), queried.stderr
    assert queried.stderr.count("\n") == 1
    # Said at once (not after 20 s of searches tried again), with advice that answers at once: `check`.
    assert "is red: 1 of its 1 shards has no live copy" in queried.stderr
    assert "`searchidx check --index URL`" in queried.stderr


def test_a_node_killed_during_an_ingest_and_between_queries_loses_nothing(
    opensearch_cluster: Any, two_shards: tuple[str, dict[str, Any]], reuters_folder: Path
) -> None:
    """kill -9 of a node holding a primary: queries answer the same within 60 s; the ingest running
    then ends with every document indexed or reported."""
    every_node = f"http://{opensearch_cluster.urls.removeprefix('http://')}"
    url = f"{every_node}/reuters2"
    before = {query: top10(url, query) for query in QUERIES}
    shards = get_json(f"{opensearch_cluster.url}/_cat/shards/reuters2?format=json")
    victim_name = next(copy["node"] for copy in shards if copy["prirep"] == "p")
    victim = next(node for node in opensearch_cluster.nodes if node.name == victim_name)

    progress = _Progress()
    outcome: dict[str, Any] = {}

    def run_ingest() -> None:
        try:
            outcome["report"] = ingest(
                reuters_folder, index=f"{every_node}/during", shards=2, replicas=1, observer=progress
            )
        except Exception as error:  # the test reports it
            outcome["error"] = error

    worker = threading.Thread(target=run_ingest)
    worker.start()
    try:
        assert progress.documents.wait(300), "the ingest never started writing"
        victim.kill()
        killed = time.monotonic()
        while True:
            try:
                after = {query: top10(url, query) for query in QUERIES}
                break
            except ClusterError:
                assert time.monotonic() - killed < 60, "queries did not answer within 60 s of the kill"
                time.sleep(1)
        answered = time.monotonic() - killed
        assert after == before
        print(f"all {len(QUERIES)} queries answered, the same, {answered:.1f} s after the kill")
        assert answered < 60
        worker.join(600)
        assert "error" not in outcome, outcome.get("error")
        report: IngestReport = outcome["report"]
        survivors = [node for node in opensearch_cluster.nodes if node is not victim]
        # The indexes this test wrote (a 0-replica index on the killed node stays red until it is back).
        opensearch_cluster.wait_for("green", nodes=2, timeout=180, index="reuters2,during")
        count = get_json(f"{survivors[0].url}/during/_count")["count"]
        assert report.added + len(report.duplicates) + len(report.skipped) == report.records == 19_043
        assert count == report.total == report.added == two_shards[1]["added"]
    finally:
        worker.join(600)
        opensearch_cluster.restart(victim)


class _Progress(IngestObserver):
    """Sets ``documents`` once the ingest has placed a few thousand documents."""

    def __init__(self) -> None:
        self.placed = 0
        self.documents = threading.Event()

    def action(self, kind: str, location: str, detail: str = "") -> None:
        self.placed += 1
        if self.placed >= 3000:
            self.documents.set()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Refuse(BaseHTTPRequestHandler):
    """A server that answers every request as a cluster with security does to a wrong password."""

    def do_GET(self) -> None:
        body = json.dumps({"error": {"type": "security_exception", "reason": "Unauthorized"}, "status": 401})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_HEAD = do_POST = do_PUT = do_GET  # noqa: N815  # the names http.server calls

    def log_message(self, *args: Any) -> None:
        pass


class _Managerless(_Refuse):
    """A node of a cluster that lost 2 of its 3 nodes, as OpenSearch 2.19 answers (one request at a
    time, each recorded in ``asked``): 503 to what needs the manager, its own view to ``local``."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(f"{self.command} {self.path}")
        answer: Any
        if self.path.startswith("/_cluster/health") and "local=true" in self.path:
            status, answer = 200, {"status": "red", "discovered_cluster_manager": False}
        elif self.path.startswith("/_cat/nodes") and "local=true" in self.path:
            names = ["node-1", "node-2", "node-3"]
            status, answer = 200, [{"name": name, "heap.percent": "9" if name == "node-1" else None}
                                   for name in names]  # fmt: skip
        else:
            cause = {"type": "cluster_manager_not_discovered_exception", "reason": None}
            status, answer = 503, {"error": {"root_cause": [cause], **cause}, "status": 503}
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_POST = do_PUT = do_GET  # noqa: N815  # the names http.server calls


class _refusing_server:  # noqa: N801  # used as a context manager, like a function
    def __init__(self, handler: type[BaseHTTPRequestHandler] = _Refuse) -> None:
        self.handler = handler

    def __enter__(self) -> int:
        self.server = HTTPServer(("127.0.0.1", 0), self.handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return int(self.server.server_address[1])

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
