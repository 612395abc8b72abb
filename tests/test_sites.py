"""Sites as filters and facets: the registered domain of each article's URL, from the bundled public suffix list."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchidx import Index, ingest
from searchidx.engines.whoosh.facets import source_values
from searchidx.engines.whoosh.storage import open_index
from searchidx.inputs.urls import canonical_url, site_of
from tests.conftest import write_article

# A host, and the site it belongs to (its registered domain).
HOSTS = [
    ("news.bbc.co.uk", "bbc.co.uk"),
    ("www.bbc.co.uk", "bbc.co.uk"),
    ("bbc.co.uk", "bbc.co.uk"),
    ("notbbc.co.uk", "notbbc.co.uk"),
    ("bbc.co.uk.evil.com", "evil.com"),
    ("www.theguardian.com", "theguardian.com"),
    ("edition.cnn.com", "cnn.com"),
    ("www.lemonde.fr", "lemonde.fr"),
    ("abc.net.au", "abc.net.au"),
    ("www.abc.net.au", "abc.net.au"),
    ("mainichi.jp", "mainichi.jp"),
    ("www.asahi.co.jp", "asahi.co.jp"),
    ("reporter.blogspot.com", "reporter.blogspot.com"),  # a private suffix: each blog is a site
    ("WWW.Reuters.COM.", "reuters.com"),
    ("https://www.bbc.co.uk/news/world-123", "bbc.co.uk"),
    ("127.0.0.1", "127.0.0.1"),
    ("localhost", "localhost"),
]


@pytest.mark.parametrize(("host", "site"), HOSTS)
def test_a_host_belongs_to_its_registered_domain(host: str, site: str) -> None:
    assert site_of(host) == site


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("https://www.bbc.co.uk/news/amp/world-123", "https://www.bbc.co.uk/news/world-123"),
        ("https://example.com/2024/story.amp.html", "https://example.com/2024/story.html"),
        ("https://example.com/amp/2024/story?utm_source=twitter&fbclid=x", "https://example.com/2024/story"),
        ("https://example.com/2024/story?outputType=amp&gclid=1", "https://example.com/2024/story"),
        ("https://example.com/amplifier", "https://example.com/amplifier"),  # a word that starts with amp
    ],
)
def test_amp_and_tracking_variants_collapse_to_one_url(variant: str, canonical: str) -> None:
    assert canonical_url(variant) == canonical


@pytest.fixture
def sites_index(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    for number, host in enumerate(["news.bbc.co.uk", "www.bbc.co.uk", "notbbc.co.uk", "bbc.co.uk.evil.com",
                                   "www.theguardian.com"]):  # fmt: skip
        write_article(folder, f"{number}.txt", f"Harbour story {number}", f"The harbour story number {number}.",
                      url=f"https://{host}/2024/harbour-{number}")  # fmt: skip
    write_article(folder, "amp.txt", "Harbour story 0", "The harbour story number 0.",
                  url="https://news.bbc.co.uk/amp/2024/harbour-0?utm_source=feed")  # fmt: skip
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, len(report.duplicates)) == (5, 1)  # the AMP copy is the same article
    return tmp_path / "index"


@pytest.mark.parametrize("source", ["bbc.co.uk", "news.bbc.co.uk", "WWW.BBC.CO.UK", "https://bbc.co.uk/news"])
def test_a_site_filter_matches_every_host_of_the_site_and_no_other(sites_index: Path, source: str) -> None:
    with Index(sites_index) as ix:
        results = ix.search("harbour", source=source, limit=10)
        assert sorted(hit.url for hit in results) == [
            "https://news.bbc.co.uk/2024/harbour-0", "https://www.bbc.co.uk/2024/harbour-1",
        ]  # fmt: skip
        assert {hit.source for hit in results} == {"bbc.co.uk"}


def test_the_source_field_and_facet_count_sites(sites_index: Path) -> None:
    with Index(sites_index) as ix:
        assert ix.search("source:news.bbc.co.uk", limit=10).total == 2
        facets = ix.search("harbour", facets=["source"]).facets["source"]
        assert facets == {"bbc.co.uk": 2, "evil.com": 1, "notbbc.co.uk": 1, "theguardian.com": 1}
        assert ix.search("harbour", source="evil.com").total == 1


def test_the_source_column_read_in_one_piece_holds_what_whoosh_reads(
    sites_index: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "more"
    write_article(folder, "plain.txt", "Harbour story without a link", "The harbour story with no URL.")
    ingest(folder, index=sites_index)  # a second segment, with a document without a source
    reader = open_index(sites_index).reader()
    expected = [value or "" for leaf, _ in reader.leaf_readers() for value in leaf.column_reader("source")]
    assert source_values(reader).tolist() == expected
    assert len(reader.leaf_readers()) == 2
    assert "" in expected
    assert "bbc.co.uk" in expected
