from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from searchidx.documents import Document, document_id, load_document
from searchidx.errors import DocumentError
from tests.conftest import SEED, need, write_article

SEED_URL = (
    "https://www.themoscowtimes.com/2015/03/20/president-putin-to-visit-china-for-world-war-ii-march-a44971"
)


def test_the_seed_article_parses_to_its_exact_fields() -> None:
    document = load_document(need(SEED))
    assert document.title == "President Putin to Visit China for World War II March"
    assert document.date == datetime(2015, 3, 20, tzinfo=UTC)
    assert document.url == SEED_URL
    paragraphs = document.body.split("\n\n")
    assert paragraphs[0].startswith("The Russian delegation led by President Vladimir Putin (4th R)")
    assert paragraphs[-1].endswith("sovereignty and territorial integrity.")
    assert "Original url" not in document.body
    assert "themoscowtimes" not in document.body
    assert "March 20, 2015" not in document.body


def test_the_id_is_stable_and_derived_from_the_absolute_path(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "Title", "Body.")
    assert (
        load_document(path).id == load_document(path).id == document_id(path) == document_id(path.resolve())
    )
    assert len(document_id(path)) == 16
    other = write_article(tmp_path, "b.txt", "Title", "Body.")
    assert document_id(other) != document_id(path)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("# T\n\nBody.\n\nOriginal url: <https://example.com/a>\n", "https://example.com/a"),
        ("# T\n\nBody.\n\nOriginal url: https://example.com/a\n", "https://example.com/a"),
        ("# T\n\nBody.\n\nOriginal url:\nhttps://example.com/a\n", "https://example.com/a"),
        ("# T\n\nBody.\n\noriginal URL:\n\n  < https://example.com/a >  \n", "https://example.com/a"),
    ],
)
def test_the_url_is_taken_from_the_label_in_every_layout(tmp_path: Path, text: str, url: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(text, encoding="utf-8")
    document = load_document(path)
    assert document.url == url
    assert document.body == "Body."


def test_missing_title_marker_date_and_url_leave_fields_empty(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("\n\nQuarterly results beat forecasts\nSales rose.\n\nProfits too.\n", encoding="utf-8")
    document = load_document(path)
    assert document == Document(
        path=path,
        title="Quarterly results beat forecasts",
        body="Sales rose.\n\nProfits too.",
        date=None,
        url="",
    )


def test_no_file_time_poses_as_a_publication_date(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "Headline", "A first paragraph.\n\nA second one.")
    assert load_document(path).date is None


def test_a_body_sentence_that_starts_with_a_date_stays_in_the_body(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "Headline", "March 20, 2015 was a cold day in Moscow.")
    document = load_document(path)
    assert document.date is None
    assert document.body == "March 20, 2015 was a cold day in Moscow."


def test_text_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "messy.txt"
    raw = "#   Cafe\u0301   news \x07\n\n2015-03-20\n\nOne   line\nwrapped\there.\x1b[2J\x1b]0;pwned\x07\n\n\n\nNext\u200b paragraph.\r\n"
    path.write_bytes(raw.encode("utf-8"))
    document = load_document(path)
    assert document.title == "Café news"  # NFC: one code point for é
    assert len(document.title) == 9
    assert document.body == "One line wrapped here.\n\nNext paragraph."


def test_a_windows_1252_file_decodes_without_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("# Prices in £ rise\n\nThe café’s prices rose.\n".encode("cp1252"))
    document = load_document(path)
    assert document.title == "Prices in £ rise"
    assert document.body == "The café’s prices rose."


def test_a_binary_file_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DocumentError, match="binary file"):
        load_document(path)


def test_an_empty_file_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="no article text"):
        load_document(path)


def test_an_unsupported_extension_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(DocumentError, match="unsupported file type"):
        load_document(path)


def test_an_unreadable_file_is_rejected_with_the_os_reason(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read the file"):
        load_document(tmp_path / "gone.txt")
