from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls

from searchidx.inputs.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://www.example.com/a", "https://www.example.com/a"),
        ("HTTPS://WWW.EXAMPLE.COM/News", "https://www.example.com/News"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=tw&utm_medium=social&id=3&fbclid=x&gclid=y",
            "https://example.com/a?id=3",
        ),
        ("https://example.com/news/index.html", "https://example.com/news/"),
        ("https://example.com/index.htm", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("  <https://example.com/a>  ".strip("<> "), "https://example.com/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
    ],
)
def test_canonical_forms(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url", ["", "not a url", "mailto:a@b.c", "javascript:alert(1)", "ftp://x/y", "http://", "http://x:99999/"]
)
def test_what_is_not_a_web_url_has_no_canonical_form(url: str) -> None:
    assert canonical_url(url) is None


@given(st.one_of(urls(), st.text(max_size=80), st.builds(lambda s: "http://" + s, st.text(max_size=40))))
def test_canonicalisation_never_raises_and_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    if once is not None:
        assert canonical_url(once) == once
