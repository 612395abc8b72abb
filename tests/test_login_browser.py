"""The login form of a shared ``searchidx serve`` in real headless Chromium with JavaScript turned off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from searchidx import IngestReport
from searchidx.outputs.web.serving import SESSION_COOKIE, session_value
from tests.test_serving import TOKEN, Server, without_token
from tests.test_web_browser import CHROMIUM_FLAGS

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is installed by pip install -e '.[test]'"
)
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def locked(corpus_index: tuple[Path, IngestReport]) -> Iterator[Server]:
    server = Server(corpus_index[0], env=without_token(SEARCHIDX_TOKEN=TOKEN))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(locked: Server) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        context = browser.new_context(java_script_enabled=False)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_a_browser_without_javascript_logs_in_once_and_comes_back_to_its_search(
    page: Any, locked: Server
) -> None:
    first = page.goto(f"{locked.url}?q=oil")
    assert first.status == 401
    page.get_by_label("Secret").fill("not-the-secret-at-all")
    page.get_by_role("button", name="Open").click()
    page.wait_for_load_state()
    assert "That is not the archive" in page.content()
    page.get_by_label("Secret").fill(TOKEN)
    page.get_by_role("button", name="Open").click()
    page.wait_for_load_state()
    assert page.url == f"{locked.url}?q=oil"
    assert page.locator("li.hit").count() > 0
    (cookie,) = page.context.cookies()
    assert cookie["name"] == SESSION_COOKIE
    assert cookie["value"] == session_value(TOKEN) != TOKEN
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    again = page.goto(f"{locked.url}?q=coffee")
    assert again.status == 200
