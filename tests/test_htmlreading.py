from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CORPUS, SHARED_HTML, load_one, need

ARTICLE = """\
<p>The city council voted on Tuesday to build a new bridge over the river, ending a debate that has
lasted for more than a decade and divided the town's two largest neighbourhoods.</p>
<p>Construction is expected to start next spring, the mayor said, and to cost about 40 million euros,
paid for by the regional government and a loan from the European Investment Bank.</p>
<p>Opponents, who wanted a tunnel instead, said they would take the decision to court.</p>
"""

BOILERPLATE = """
<nav class="site-nav"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<header class="masthead"><a href="/">The Daily Example</a></header>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet this story</a></div>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Old bridge closes for repairs</a></li>
<li><a href="/b">Mayor re-elected</a></li></ul></aside>
<div id="comments"><p>Reader comment: this is a scandal and a waste of money, says a reader from the north.</p></div>
<div class="cookie-banner"><p>We use cookies to improve your experience on our website, accept them all.</p></div>
<footer><p>Copyright 2019 The Daily Example. All rights reserved. Contact us at the newsroom.</p></footer>
<script>var tracking = "Reader comment: never indexed";</script>
<style>p { color: red; }</style>
"""


def page(head: str, article: str = ARTICLE, h1: str = "Council approves new bridge") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head><body>
{BOILERPLATE}
<main><article><h1>{h1}</h1><div class="article-body">{article}</div></article></main>
</body></html>"""


def load(tmp_path: Path, markup: str, name: str = "page.html") -> object:
    path = tmp_path / name
    path.write_text(markup, encoding="utf-8")
    return load_one(path)


def test_open_graph_metadata_and_article_text(tmp_path: Path) -> None:
    head = """<title>Council approves new bridge | The Daily Example</title>
    <meta property="og:title" content="Council approves new bridge">
    <meta property="article:published_time" content="2019-11-19T18:30:00-05:00">
    <link rel="canonical" href="https://example.com/news/bridge">"""
    document = load(tmp_path, page(head))
    assert document.title == "Council approves new bridge"
    assert document.date == datetime(2019, 11, 19, 23, 30, tzinfo=UTC)
    assert document.url == "https://example.com/news/bridge"
    paragraphs = document.body.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("The city council voted on Tuesday")
    assert (
        paragraphs[2] == "Opponents, who wanted a tunnel instead, said they would take the decision to court."
    )
    for junk in ("Share on Facebook", "Related stories", "Reader comment", "cookies", "Copyright", "Home",
                 "color: red", "Council approves new bridge"):  # fmt: skip
        assert junk not in document.body


def test_json_ld_date_and_og_url_and_h1_title(tmp_path: Path) -> None:
    head = """<meta property="og:url" content="https://example.com/news/bridge?ref=home">
    <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "WebPage", "name": "x"},
      {"@type": "NewsArticle", "headline": "Council approves new bridge", "datePublished": "2019-11-19T08:00:00Z"}
    ]}</script>"""
    document = load(tmp_path, page(head))
    assert document.title == "Council approves new bridge"
    assert document.date == datetime(2019, 11, 19, 8, 0, tzinfo=UTC)
    assert document.url == "https://example.com/news/bridge?ref=home"


def test_time_element_and_title_tag(tmp_path: Path) -> None:
    markup = f"""<html><head><title>Bridge vote</title></head><body>
    <div class="story"><time datetime="2019-11-19">Nov. 19</time>{ARTICLE}</div></body></html>"""
    document = load(tmp_path, markup)
    assert document.title == "Bridge vote"
    assert document.date == datetime(2019, 11, 19, tzinfo=UTC)
    assert document.url == ""
    assert document.body.startswith("The city council voted")


def test_a_relative_canonical_link_is_made_absolute(tmp_path: Path) -> None:
    head = """<meta property="og:url" content="https://example.com/x/y">
    <link rel="canonical" href="/news/bridge">"""
    assert load(tmp_path, page(head)).url == "https://example.com/news/bridge"


def test_an_impossible_metadata_date_falls_through_to_the_next_source(tmp_path: Path) -> None:
    head = """<script type="application/ld+json">{"datePublished": "0001-01-01T00:00:00Z"}</script>
    <meta name="date" content="2019-11-19">"""
    assert load(tmp_path, page(head)).date == datetime(2019, 11, 19, tzinfo=UTC)


def test_a_page_without_paragraphs_still_gives_its_text(tmp_path: Path) -> None:
    markup = "<html><body><div>Short notice: the office is closed on Friday.</div></body></html>"
    document = load(tmp_path, markup)
    assert document.body == "Short notice: the office is closed on Friday."


def test_a_legacy_encoded_page_decodes_from_its_meta_charset(tmp_path: Path) -> None:
    markup = page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
                  article=ARTICLE + "<p>The caf\u00e9 raised its prices to \u00a33 \u2014 a record.</p>")  # fmt: skip
    path = tmp_path / "legacy.htm"
    path.write_bytes(markup.encode("cp1252"))
    assert load_one(path).body.endswith("\n\nThe caf\u00e9 raised its prices to \u00a33 \u2014 a record.")


def test_the_demo_corpus_pages_have_title_url_and_body() -> None:
    pages = sorted((CORPUS / "html").glob("*.html"))
    assert len(pages) >= 10
    for path in pages:
        document = load_one(path)
        assert document.title, path
        assert document.url.startswith("http"), path
        assert len(document.body) > 250, path


@pytest.mark.slow  # 102 real pages
def test_every_shared_page_gives_a_title_and_a_body(tmp_path: Path) -> None:
    truth = json.loads(need(SHARED_HTML / "ground-truth.json").read_text(encoding="utf-8"))
    empty = []
    for key in truth:
        markup = gzip.decompress((SHARED_HTML / "html" / f"{key}.html.gz").read_bytes())
        path = tmp_path / f"{key}.html"
        path.write_bytes(markup)
        document = load_one(path)
        if not document.title or not document.body:
            empty.append(key)
    assert empty == []


@pytest.mark.parametrize(
    ("prefix", "title", "date", "url"),
    [
        ("686bb170effe", "The Weird Plumes of Jupiter's Moon Europa Are Spewing Water Vapor",
         datetime(2019, 11, 18, 20, 51, 19, tzinfo=UTC),
         "https://www.space.com/jupiter-moon-europa-water-vapor-confirmed.html"),
        ("70cb2d5bca75", "Taylor Swift's AMA row seems to be over", datetime(2019, 11, 19, 9, 44, 9, tzinfo=UTC),
         "https://www.bbc.com/news/newsbeat-50470672"),
    ],
)  # fmt: skip
def test_known_shared_pages_give_their_metadata(
    tmp_path: Path, prefix: str, title: str, date: datetime, url: str
) -> None:
    (source,) = need(SHARED_HTML / "html").glob(f"{prefix}*.html.gz")
    path = tmp_path / "page.html"
    path.write_bytes(gzip.decompress(source.read_bytes()))
    document = load_one(path)
    assert (document.title, document.date, document.url) == (title, date, url)


def test_text_in_divs_and_br_separated_runs_counts_as_paragraphs(tmp_path: Path) -> None:
    markup = """<html><head><title>Keyboard news</title></head><body>
    <div class="menu"><a href="/">Home</a> <a href="/mac">Mac</a> <a href="/iphone">iPhone</a></div>
    <div class="story">Apple plans to release a new laptop with a scissor switch keyboard in the first half
    of next year, according to industry sources.<br><br>The new keyboard would replace the butterfly design,
    which has suffered from sticky, repeating or nonfunctional keys since 2016.<br> <br>Repairs remain free
    for affected customers, the company said.<div class="linkback">Tag: <a href="/tags/kb">keyboards</a></div></div>
    <div class="story-body"><div class="para">A second block of the article is written as div text, with no
    paragraph tags at all, as some news sites do.</div></div>
    </body></html>"""
    document = load(tmp_path, markup)
    assert document.body.split("\n\n") == [
        "Apple plans to release a new laptop with a scissor switch keyboard in the first half of next year, "
        "according to industry sources.",
        "The new keyboard would replace the butterfly design, which has suffered from sticky, repeating or "
        "nonfunctional keys since 2016.",
        "Repairs remain free for affected customers, the company said.",
        "A second block of the article is written as div text, with no paragraph tags at all, as some news sites do.",
    ]


def test_a_page_rendered_by_javascript_falls_back_to_its_json_ld_article_body(tmp_path: Path) -> None:
    full_text = " ".join(
        f"Sentence number {n} of the article, with enough words to count." for n in range(40)
    )
    markup = f"""<html><head><title>Water on Europa</title>
    <script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Water on Europa",
      "articleBody": "{full_text}"}}</script></head>
    <body><div id="app"><p>Loading the article about water vapour on Europa, please wait a moment.</p></div>
    </body></html>"""
    assert load(tmp_path, markup).body == full_text


def test_a_share_bar_stays_out_of_a_short_article(tmp_path: Path) -> None:
    # Too short for the first pass, so the later ones (which keep blocks by their names) decide.
    short = (
        '<div class="share"><a href="#">Facebook</a> <a href="#">Twitter</a> Share this article</div>'
        "<p>A storm cut power to thousands of homes on Monday.</p><p>Repairs will take days.</p>"
    )
    path = tmp_path / "storm.html"
    path.write_text(page("<title>Storm</title>", article=short, h1="Storm hits coast"), encoding="utf-8")
    document = load_one(path)
    assert document.body == "A storm cut power to thousands of homes on Monday.\n\nRepairs will take days."


def test_a_page_whose_only_text_is_a_script_is_skipped_with_the_reason(tmp_path: Path) -> None:
    from searchidx.errors import DocumentError
    from searchidx.inputs.documents import load_documents

    path = tmp_path / "script.html"
    path.write_text("<html><head><title><script>alert(1)</script></title></head>"
                    "<body><script>alert(1)</script></body></html>", encoding="utf-8")  # fmt: skip
    with pytest.raises(DocumentError, match="no article text found"):
        load_documents(path)
