"""``searchidx serve`` in real headless Chromium (Debian's /usr/bin/chromium), driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from searchidx import ingest
from tests.conftest import CORPUS, REPO
from tests.servers import serving
from tests.test_web_api import XSS_TITLE, write_hostile_article

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOT = REPO / "docs" / "screenshot.png"
CHART_SCREENSHOT = REPO / "docs" / "trend.png"

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is installed by pip install -e '.[test]'"
)
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``searchidx serve`` over the demo corpus and a hostile article, on a free port."""
    root = tmp_path_factory.mktemp("browser")
    write_hostile_article(root / "hostile")
    index = root / "index"
    ingest([CORPUS, root / "hostile"], index=index)
    with serving(index) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium with a new, empty profile (Playwright makes one for each launch)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, address: str) -> Iterator[Any]:
    """A fresh page that records dialogs, console errors and requests to other hosts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs, tab.errors, tab.elsewhere = [], [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on(
        "request",
        lambda request: None if request.url.startswith(address) else tab.elsewhere.append(request.url),
    )
    yield tab
    assert tab.dialogs == []
    assert tab.errors == []
    assert tab.elsewhere == []  # no CDN, no font service: everything comes from the server
    context.close()


def search(page: Any, address: str, words: str) -> None:
    page.goto(address)
    page.get_by_label("Search the archive").fill(words)
    page.get_by_label("Search the archive").press("Enter")
    page.wait_for_load_state()


def test_type_a_query_and_see_marked_hits(page: Any, address: str) -> None:
    search(page, address, "Putin parade")
    assert page.url == f"{address}?q=Putin+parade"
    first = page.locator("li.hit").first
    assert "Putin" in first.locator("h2").inner_text()
    assert first.locator("mark").all_inner_texts()[:1] == ["Putin"]
    assert "parade" in [text.lower() for text in page.locator("p.snippet mark").all_inner_texts()]
    # One match, and nothing in the archive like it: no related articles after it.
    summary = page.locator("p.summary").inner_text()
    assert re.fullmatch(r"showing 1-1 of 1 in \d+ ms", summary)
    assert page.locator("h2.related").count() == 0
    SCREENSHOT.parent.mkdir(exist_ok=True)
    search(page, address, "oil prices")
    page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_click_a_facet_then_page_forward_then_back(page: Any, address: str) -> None:
    search(page, address, "oil")
    total = int(re.search(r"of (\d+)", page.locator("p.summary").inner_text()).group(1))  # type: ignore[union-attr]
    page.get_by_role("navigation", name="Year").get_by_role("link", name=re.compile(r"^1987 ")).click()
    assert "since=1987" in page.url
    assert "until=1987" in page.url
    assert all(date.startswith("1987") for date in page.locator("li.hit time").all_inner_texts())
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    assert "page=2" in page.url
    assert page.locator("p.summary").inner_text().startswith("showing 11-20 of")
    assert page.locator("ol.hits").get_attribute("start") == "11"
    page.go_back()
    assert "page=2" not in page.url
    assert page.locator("p.summary").inner_text().startswith("showing 1-10 of")
    assert total >= 20


def test_open_a_document_with_the_query_marked(page: Any, address: str) -> None:
    search(page, address, "Putin parade")
    page.locator("li.hit").first.get_by_role("link", name="stored copy").click()
    assert "/doc/" in page.url
    assert page.locator("article h1").inner_text().startswith("President Putin")
    assert "Putin" in page.locator("article mark").all_inner_texts()
    page.get_by_role("link", name="Back to results").click()
    assert page.url == f"{address}?q=Putin+parade"


def test_an_article_with_script_in_its_title_shows_the_text_and_runs_nothing(page: Any, address: str) -> None:
    search(page, address, "harbour plot")
    assert page.locator("li.hit h2").first.inner_text() == XSS_TITLE
    assert page.locator("li.hit img").count() == 0
    page.locator("li.hit").first.get_by_role("link", name="stored copy").click()
    assert page.locator("article h1").inner_text() == XSS_TITLE
    assert page.locator("article img, article b, article script").count() == 0
    hrefs = page.locator("a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert not [href for href in hrefs if href.lower().startswith("javascript:")]


def test_a_phone_width_window_needs_no_sideways_scrolling(browser: Any, address: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{address}?q=oil+prices")
    widths = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1]
    assert phone.locator("li.hit").count() == 10
    context.close()


def test_keyboard_focus_starts_at_the_search_box_and_every_field_has_a_label(page: Any, address: str) -> None:
    page.goto(f"{address}?q=oil")
    assert page.evaluate("document.activeElement.id") == "q"
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(field => !field.labels || field.labels.length === 0).map(field => field.name)"
    )
    assert unlabelled == []


def test_the_chart_over_time_draws_compares_and_fits_a_phone(page: Any, browser: Any, address: str) -> None:
    search(page, address, "oil")
    page.get_by_label("Compare with").fill("coffee")
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Chart").click()
    page.wait_for_load_state()
    assert "vs=coffee" in page.url
    assert "by=week" in page.url
    # On the search page the chart is an image drawn by its own request (no script), with its alternative text.
    image = page.get_by_role(
        "img", name=re.compile(r"^Bar chart: the articles matching oil and coffee per week")
    )
    assert image.is_visible()
    assert image.evaluate("image => image.complete && image.naturalWidth") == 720  # drawn, not broken
    page.locator("section.trend").screenshot(path=str(CHART_SCREENSHOT))
    # Its numbers and top words are one link away, on the chart's page: the same chart inline, and a table.
    page.get_by_role("link", name=re.compile("^The chart's numbers")).click()
    page.wait_for_load_state()
    assert "/chart?" in page.url
    chart = page.locator("svg.chart")
    assert chart.is_visible()
    assert chart.locator("rect.s0").count() == chart.locator("rect.s1").count() > 3  # a bar per week for each
    assert page.locator(".legend li").all_inner_texts()[1].startswith("coffee: ")
    assert page.locator(".trend-table tbody tr").count() == chart.locator("rect.s0").count()
    assert page.locator(".trend-table").is_visible()
    page.get_by_role("link", name="Back to results").click()
    assert "vs=coffee" in page.url
    assert page.locator("li.hit").count() == 10
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    phone = context.new_page()
    for path in ("?q=oil&vs=coffee&by=week", "chart?q=oil&vs=coffee&by=week"):
        phone.goto(f"{address}{path}")
        widths = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], path
        box = phone.locator(".chart").bounding_box()
        assert box is not None
        assert box["width"] <= 390
    context.close()


def test_watch_a_search_then_open_its_feed(page: Any, address: str) -> None:
    search(page, address, "oil prices")
    page.get_by_label("Watch this search as").fill("oil-prices")
    page.get_by_role("button", name="Watch this search").click()
    page.wait_for_load_state()
    assert page.url == f"{address}watches"
    item = page.locator("ul.watches li", has_text="oil-prices")
    assert item.locator("a").first.inner_text() == "oil prices"
    assert "0 new articles not reported yet" in item.inner_text()
    with page.expect_response(re.compile(r"/watch/oil-prices\.atom$")) as answer:
        item.get_by_role("link", name="Feed").click()
    assert answer.value.status == 200
    assert answer.value.headers["content-type"].startswith("application/atom+xml")
    assert "searchidx watch oil-prices" in answer.value.text()
    page.goto(f"{address}watches")
    page.locator("ul.watches li", has_text="oil-prices").get_by_role("button", name="Remove").click()
    page.wait_for_load_state()
    assert page.locator("ul.watches li", has_text="oil-prices").count() == 0
