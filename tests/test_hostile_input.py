"""Hostile and broken input: a corpus of bad files, built here, ingested by the real CLI in a child process."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchidx import ingest, search
from searchidx.errors import CorpusError, DocumentError, UnusableIndexPathError
from searchidx.inputs.documents import Document, load_documents
from searchidx.outputs.cli import cli
from tests.conftest import REPO, without_root_file_access, write_article

# Run the CLI in a child process and print its exit code and peak memory (KiB) on the last line.
MEASURED_CLI = """
import resource, sys
from searchidx.outputs.cli import main
sys.argv = ["searchidx", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    code = done.code or 0
print(f"\\n{code} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""
UNSAFE_OUTPUT = [chr(c) for c in range(32) if chr(c) != "\n"] + ["\x7f", "\u202e", "\u2066"]


def png_bytes() -> bytes:
    """A real 8x8 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def write_hostile_corpus(folder: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """The bad files; returns {file name: reason it is skipped}, the files indexed whole, those indexed in part."""
    write_article(
        folder, "good.txt", "Harbour reopens", "The harbour reopened after the storm.", date="March 3, 2016"
    )
    (folder / "empty.txt").write_bytes(b"")
    (folder / "nul.txt").write_bytes(b"\x00" * 4096)
    (folder / "image.txt").write_bytes(png_bytes())
    (folder / "latin1.txt").write_bytes(
        "# Café crème\n\nLe café était fermé près du harbour.\n".encode("latin-1")
    )
    (folder / "utf16.txt").write_bytes(
        "# Flood warning\n\nThe harbour flooded overnight.\n".encode("utf-16-le")
    )
    line = "The committee reviewed the budget and the harbour accounts again.\n"
    (folder / "big.txt").write_text(
        "# A very long report\n\n" + line * (50 * 2**20 // len(line)), encoding="utf-8"
    )
    (folder / "longline.txt").write_text(
        "# One long line\n\n" + "harbour " * (10 * 2**20 // 8), encoding="utf-8"
    )
    deep = "<div>" * 10_000 + "<p>Buried text about the harbour.</p>" + "</div>" * 10_000
    (folder / "deep.html").write_text(
        f"<html><head><title>Deep page</title></head><body>{deep}</body></html>"
    )
    (folder / "script.html").write_text("<html><body><script>var only = 'text';</script></body></html>")
    records = [json.dumps({"title": "Valid line", "text": "A record about the harbour."}), "{broken json",
               json.dumps({"title": "Second valid", "text": "Another record."}), "[1, 2]"]  # fmt: skip
    (folder / "mixed.jsonl").write_text("\n".join(records) + "\n")
    secret = folder / "secret.txt"
    secret.write_text("# Secret\n\nHidden harbour words.\n")
    secret.chmod(0)
    os.symlink("loop_b.txt", folder / "loop_a.txt")
    os.symlink("loop_a.txt", folder / "loop_b.txt")
    os.symlink(".", folder / "self")
    os.mkfifo(folder / "pipe.txt")
    with open(os.fsencode(folder) + b"/odd\nname\xff.txt", "wb") as odd:
        odd.write(b"# Odd name\n\nA file whose name holds a newline, about the harbour.\n")
    escapes = "# \x1b[31mRed\x1b[0m title \u202egnirts\n\nBody \x1b]0;pwned\x07 with \u202eescapes about the harbour.\n"
    (folder / "escapes.txt").write_text(escapes, encoding="utf-8")
    skipped = {
        "empty.txt": "no article text found",
        "nul.txt": "binary file",
        "image.txt": "binary file",
        "script.html": "no article text found",
        "mixed.jsonl:line 2": "invalid JSON",
        "mixed.jsonl:line 4": "not a JSON object",
        "secret.txt": "Permission denied",
        "loop_a.txt": "Too many levels of symbolic links",
        "loop_b.txt": "Too many levels of symbolic links",
        "pipe.txt": "not a regular file",
    }
    whole = {
        "good.txt",
        "latin1.txt",
        "utf16.txt",
        "deep.html",
        "mixed.jsonl",
        "odd\nname\\xff.txt",
        "escapes.txt",
    }
    return skipped, whole, {"big.txt", "longline.txt"}


def run_measured(*args: str | Path, drop_root: bool = True) -> tuple[int, int, str, str]:
    """Exit code, peak RSS in MB, stdout and stderr of ``searchidx ARGS`` in a child process."""
    completed = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, *map(str, args)],
        capture_output=True, text=True, errors="surrogateescape", cwd=REPO,
        preexec_fn=without_root_file_access if drop_root else None,
    )  # fmt: skip
    assert "Traceback" not in completed.stderr, completed.stderr
    *output, last = completed.stdout.rstrip("\n").split("\n")
    code, peak_kib = map(int, last.split())
    return code, peak_kib // 1024, "\n".join(output), completed.stderr


@pytest.mark.slow
def test_a_hostile_corpus_is_ingested_with_every_bad_file_reported(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    skipped, whole, partial = write_hostile_corpus(folder)
    index = tmp_path / "index"

    code, peak_mb, out, err = run_measured("ingest", folder, "--index", index, "--json")

    assert code == 0, err
    report = json.loads(out)
    reasons = {Path(item["location"]).name: item["reason"] for item in report["skipped_items"]}
    assert set(reasons) == set(skipped)
    for name, reason in skipped.items():
        assert reason in reasons[name], (name, reasons[name])
    assert {Path(item["location"]).name for item in report["truncated_items"]} == partial
    assert report["added"] == len(whole) + len(partial) + 1  # mixed.jsonl holds two valid records
    assert report["records"] == report["added"] + report["skipped"] == report["total"] + report["skipped"]
    assert report["files"] == 17  # every supported name, the links and the pipe too
    assert report["ignored"] == 0
    print(f"hostile corpus: {report['files']} files, peak RSS {peak_mb} MB")
    assert peak_mb < 600, "indexing at most a million characters per article keeps memory bounded"

    code, _, out, err = run_measured("query", "harbour", "--index", index, "--limit", "20")
    assert code == 0, err
    assert "Red title" in out
    assert "odd" in out
    assert not [c for c in UNSAFE_OUTPUT if c in out + err]


SUFFIXES = st.sampled_from([".txt", ".md", ".html", ".jsonl"])
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def documents_of(path: Path, data: bytes) -> list[Document]:
    """The documents ``data`` makes as ``path``; none when it is refused with a reason, as it must be."""
    path.write_bytes(data)
    try:
        items = load_documents(path)
    except DocumentError as error:
        assert error.reason  # noqa: PT017  (the property: refused files say why)
        return []
    assert all(isinstance(item, Document) or item.reason for item in items)
    return [item for item in items if isinstance(item, Document)]


def test_any_bytes_make_a_document_or_a_document_error(tmp_path: Path) -> None:
    @PROPERTY_SETTINGS
    @given(data=st.binary(max_size=600), suffix=SUFFIXES)
    def check(data: bytes, suffix: str) -> None:
        documents_of(tmp_path / f"article{suffix}", data)

    check()


def test_text_shaped_bytes_make_clean_documents_or_a_document_error(tmp_path: Path) -> None:
    pieces = st.sampled_from(["# ", "Title", "\n", "\n\n", "<p>", "</p>", "<title>", "{", '"title": "x"}',
                              "Original url:", "<https://a.example/x>", "March 3, 2016", "\x1b[2J", "\u202e",
                              "\x00", "\ufeff", "é", "---\n", "title: ", "<script>", "&amp;"])  # fmt: skip

    @PROPERTY_SETTINGS
    @given(parts=st.lists(pieces, max_size=30), suffix=SUFFIXES)
    def check(parts: list[str], suffix: str) -> None:
        for document in documents_of(tmp_path / f"article{suffix}", "".join(parts).encode("utf-8")):
            assert "\x1b" not in document.title + document.body
            assert "\u202e" not in document.title + document.body

    check()


@pytest.mark.parametrize(
    "arguments",
    [
        ["ingest", "a\0b"],
        ["ingest", "corpus", "--index", "\0"],
        ["query", "x", "--index", "ix\0"],
        ["check", "--index", "\0"],
    ],
)
def test_a_nul_in_a_path_is_a_usage_error(arguments: list[str]) -> None:
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 2
    assert "contains a NUL character" in result.stderr
    assert "Traceback" not in result.output


def test_the_library_refuses_a_nul_in_a_path(tmp_path: Path) -> None:
    with pytest.raises(UnusableIndexPathError, match="NUL character"):
        search("x", index=tmp_path / "a\0b")
    with pytest.raises(UnusableIndexPathError, match="NUL character"):
        ingest(tmp_path, index="\0")
    with pytest.raises(CorpusError, match="NUL character"):
        ingest("\0", index=tmp_path / "index")
    assert not (tmp_path / "index").exists()


# Bytes that are not UTF-8 on a command line: Python hands them to the program as lone surrogates.
NOT_UTF8 = os.fsdecode(b"\xff\xfe")


@pytest.fixture(scope="module")
def odd_names_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two articles, one in a file whose name is not UTF-8 (Latin-1 ``café``), ingested by the CLI."""
    root = tmp_path_factory.mktemp("odd-names")
    folder = root / "notes"
    write_article(folder, "plain.txt", "Harbour strike ends", "Dockers went back to work at the harbour.")
    write_article(folder, os.fsdecode(b"caf\xe9.txt"), "Cafe owners protest", "The harbour cafes closed.")
    done = subprocess.run([sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(root / "index")],
                          capture_output=True, text=True, errors="surrogateescape", cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root / "index"


def searchidx_bytes(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``searchidx ARGS --index INDEX`` in a child process, its arguments' lone surrogates passed as bytes."""
    return subprocess.run([sys.executable, "-m", "searchidx", *args, "--index", str(index)],
                          capture_output=True, text=True, errors="surrogateescape", cwd=REPO)  # fmt: skip


@pytest.mark.parametrize(
    "arguments",
    [
        ["show", NOT_UTF8],
        ["similar", NOT_UTF8],
        ["show", f"https://news.example/{NOT_UTF8}"],
        ["query", NOT_UTF8],
        ["query", f"harbour{NOT_UTF8}"],
        ["query", f"title:harb{NOT_UTF8}*"],
        ["query", f"harbour{NOT_UTF8}~"],
        ["query", f"path:{NOT_UTF8}"],
        ["query", "harbour", "--source", NOT_UTF8],
        ["query", "harbour", "--since", NOT_UTF8],
        ["trend", NOT_UTF8],
        ["trend", "harbour", "--source", NOT_UTF8],
    ],
)
def test_bytes_that_are_not_utf8_in_an_argument_get_one_sentence(
    odd_names_index: Path, arguments: list[str]
) -> None:
    done = searchidx_bytes(odd_names_index, *arguments)
    # Searched (the bytes as \xff escapes: "harbour" still matches), or refused in one sentence.
    assert done.returncode in (0, 1, 2), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # one sentence (or the footer), no traceback
    assert "internal error" not in done.stderr


def test_a_file_whose_name_is_not_utf8_is_shown_from_its_path(odd_names_index: Path) -> None:
    path = odd_names_index.parent / "notes" / os.fsdecode(b"caf\xe9.txt")
    for command in ("show", "similar"):
        done = searchidx_bytes(odd_names_index, command, str(path))
        assert done.returncode == 0, done.stderr
        assert ("Cafe owners protest" if command == "show" else "Harbour strike ends") in done.stdout
