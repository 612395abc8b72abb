from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from searchidx.errors import DocumentError
from searchidx.inputs.documents import BadRecord, Document, load_documents
from tests.conftest import SEED, load_one, need, write_article

SEED_URL = (
    "https://www.themoscowtimes.com/2015/03/20/president-putin-to-visit-china-for-world-war-ii-march-a44971"
)


def test_the_seed_article_parses_to_its_exact_fields() -> None:
    document = load_one(need(SEED))
    assert document.title == "President Putin to Visit China for World War II March"
    assert document.date == datetime(2015, 3, 20, tzinfo=UTC)
    assert document.url == SEED_URL
    paragraphs = document.body.split("\n\n")
    assert paragraphs[0].startswith("The Russian delegation led by President Vladimir Putin (4th R)")
    assert paragraphs[-1].endswith("sovereignty and territorial integrity.")
    assert "Original url" not in document.body
    assert "themoscowtimes" not in document.body
    assert "March 20, 2015" not in document.body


def test_identity_is_the_canonical_url_else_the_absolute_path(tmp_path: Path) -> None:
    with_url = load_one(
        write_article(tmp_path, "a.txt", "T", "Body.", url="HTTPS://Example.com/a?utm_source=x#c")
    )
    assert with_url.identity == "https://example.com/a"
    assert with_url.url == "HTTPS://Example.com/a?utm_source=x#c"  # stored as the article gives it
    without_url = load_one(write_article(tmp_path, "sub/../b.txt", "T", "Body."))
    assert without_url.identity == str((tmp_path / "b.txt").resolve())
    assert len(with_url.id) == 16
    assert with_url.id == load_one(tmp_path / "a.txt").id != without_url.id


def test_the_content_key_ignores_case_and_spacing(tmp_path: Path) -> None:
    first = load_one(write_article(tmp_path, "a.txt", "Bridge Opens", "The new  bridge\nopened."))
    second = load_one(write_article(tmp_path, "b.txt", "BRIDGE OPENS", "The new bridge opened."))
    third = load_one(write_article(tmp_path, "c.txt", "Bridge Opens", "The new bridge closed."))
    assert first.content_key == second.content_key != third.content_key


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
    document = load_one(path)
    assert document.url == url
    assert document.body == "Body."


def test_missing_title_marker_date_and_url_leave_fields_empty(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("\n\nQuarterly results beat forecasts\nSales rose.\n\nProfits too.\n", encoding="utf-8")
    document = load_one(path)
    assert document == Document(
        path=path,
        title="Quarterly results beat forecasts",
        body="Sales rose.\n\nProfits too.",
        date=None,
        url="",
    )


def test_no_file_time_poses_as_a_publication_date(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "Headline", "A first paragraph.\n\nA second one.")
    assert load_one(path).date is None


def test_a_body_sentence_that_starts_with_a_date_stays_in_the_body(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "Headline", "March 20, 2015 was a cold day in Moscow.")
    document = load_one(path)
    assert document.date is None
    assert document.body == "March 20, 2015 was a cold day in Moscow."


def test_text_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "messy.txt"
    raw = "#   Cafe\u0301   news \x07\n\n2015-03-20\n\nOne   line\nwrapped\there.\x1b[2J\x1b]0;pwned\x07\n\n\n\nNext\u200b paragraph.\r\n"
    path.write_bytes(raw.encode("utf-8"))
    document = load_one(path)
    assert document.title == "Café news"  # NFC: one code point for é
    assert len(document.title) == 9
    assert document.body == "One line wrapped here.\n\nNext paragraph."


def test_a_windows_1252_file_decodes_without_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("# Prices in £ rise\n\nThe café’s prices rose.\n".encode("cp1252"))
    document = load_one(path)
    assert document.title == "Prices in £ rise"
    assert document.body == "The café’s prices rose."


def test_a_binary_file_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DocumentError, match="binary file"):
        load_documents(path)


def test_an_empty_file_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="no article text"):
        load_documents(path)


def test_an_unsupported_extension_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(DocumentError, match="unsupported file type"):
        load_documents(path)


def test_an_unreadable_file_is_rejected_with_the_os_reason(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read the file"):
        load_documents(tmp_path / "gone.txt")


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("latin-1", b""),
        ("cp1252", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "article.txt"
    text = "# Café prices\n\n20 March 2015\n\nA coffee costs £3 in Zürich.\n"
    if encoding == "cp1252":
        text = text.replace("A coffee", "“A coffee”")
    path.write_bytes(prefix + text.encode(encoding))
    document = load_one(path)
    assert document.title == "Café prices"
    assert document.date == datetime(2015, 3, 20, tzinfo=UTC)
    assert document.body.endswith("costs £3 in Zürich.")
    assert "Â" not in document.body


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text(
        '---\ntitle: "Bridge opens"\ndate: 2019-11-19T08:00:00Z\nurl: https://example.com/bridge\ntags: [a, b]\n---\n'
        "# A heading in the body\n\nThe **new** bridge opened, see [the map](https://example.com/map).\n\n"
        "![photo](bridge.jpg)\n\n- first point\n- second_point with snake_case\n",
        encoding="utf-8",
    )
    document = load_one(path)
    assert (document.title, document.date, document.url) == (
        "Bridge opens", datetime(2019, 11, 19, 8, tzinfo=UTC), "https://example.com/bridge",
    )  # fmt: skip
    assert document.body == (
        "A heading in the body\n\nThe new bridge opened, see the map.\n\nfirst point\n\nsecond_point with snake_case"
    )


def test_markdown_without_front_matter_takes_the_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "Intro line.\n\n# Harbour closes\n\nMarch 3, 2016\n\nThe *old* harbour closed.\n", encoding="utf-8"
    )
    document = load_one(path)
    assert (document.title, document.date) == ("Harbour closes", datetime(2016, 3, 3, tzinfo=UTC))
    assert document.body == "Intro line.\n\nThe old harbour closed."


def test_json_lines_field_names_and_record_identity(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    lines = [
        {"id": "r1", "title": "One", "date": "2015-03-20", "body": "First."},
        {"title": "Two", "published_at": "March 21, 2015", "content": "Second.", "link": "https://ex.com/2"},
        {"headline": "Three", "published": 1426982400, "text": "Third."},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    documents = load_documents(path)
    assert [(d.title, d.record) for d in documents if isinstance(d, Document)] == [
        ("One", "r1"), ("Two", "line 2"), ("Three", "line 3"),
    ]  # fmt: skip
    one, two, three = (d for d in documents if isinstance(d, Document))
    assert one.identity == f"{path.resolve()}#r1"
    assert two.identity == "https://ex.com/2"
    assert one.location == f"{path}:r1"
    assert [d.date for d in (one, two, three)] == [
        datetime(2015, 3, 20, tzinfo=UTC), datetime(2015, 3, 21, tzinfo=UTC), datetime(2015, 3, 22, tzinfo=UTC),
    ]  # fmt: skip


def test_a_bad_json_line_is_reported_with_its_line_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"title": "One", "body": "x"}\n[1, 2]\n{"title": \n{"title": "Four", "body": "y"}\n')
    results = load_documents(path)
    assert [type(r).__name__ for r in results] == ["Document", "BadRecord", "BadRecord", "Document"]
    assert [(r.record, r.reason) for r in results if isinstance(r, BadRecord)] == [
        ("line 2", "not a JSON object"),
        ("line 3", "invalid JSON (Expecting value, column 11)"),
    ]


def test_markdown_list_items_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "figures.md"
    path.write_text("# Figures\n\nKey figures:\n\n- Unemployment fell 2%\n- Work could resume\n"
                    "1. First\n2) Second\n", encoding="utf-8")  # fmt: skip
    assert (
        load_one(path).body
        == "Key figures:\n\nUnemployment fell 2%\n\nWork could resume\n\n1. First\n\n2) Second"
    )
