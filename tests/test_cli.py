from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchidx import IngestReport
from searchidx.outputs.cli import cli
from searchidx.query.fields import SCHEMA_VERSION
from searchidx.results import MarkedText
from searchidx.searching.snippets import join_fragments
from tests.conftest import CORPUS, REPO, write_article

ANSI = "\x1b["


def run(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_then_query_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Volcano erupts", "Ash covered the villages near the volcano.",
                  date="March 3, 2016", url="https://news.example/volcano")  # fmt: skip
    write_article(folder, "b.txt", "Harbour closes", "The harbour closed.")
    index = tmp_path / "index"

    code, out, err = run("ingest", folder, "--index", index)
    assert code == 0
    assert (
        out.splitlines()[0]
        == "2 added, 0 updated, 0 unchanged, 0 removed, 0 duplicates, 0 skipped (2 records in 2 files)"
    )
    assert out.splitlines()[1].startswith(f"{index} holds 2 documents, 1 without a date (")
    assert err == ""

    code, out, err = run("query", "volcanoes", "--index", index)
    assert code == 0
    assert out.splitlines()[:3] == [
        "1. Volcano erupts",
        "   2016-03-03 · news.example · https://news.example/volcano",
        "   Ash covered the villages near the volcano.",
    ]
    assert ANSI not in out
    assert err.startswith("showing 1-1 of 1 in ")


def test_the_demo_query_prints_the_seed_article_first(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    code, out, _ = run("query", "Putin", "parade", "--index", index, "--color", "always")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1. President \x1b[1;31mPutin\x1b[0m to Visit China for World War II March"
    assert lines[1].startswith("   2015-03-20 · themoscowtimes.com · https://www.themoscowtimes.com/")
    assert "\x1b[1;31mparade\x1b[0m" in lines[2]
    assert "\x1b[1;31mPutin\x1b[0m" in lines[2]


def test_json_output_parses_and_has_no_ansi(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    code, out, _ = run("query", "oil prices", "--index", index, "--json", "--limit", "3", "--color", "always")
    assert code == 0
    assert ANSI not in out
    document = json.loads(out)
    assert document["query"] == "oil prices"
    assert document["total"] > 3
    assert len(document["hits"]) == 3
    hit = document["hits"][0]
    assert set(hit) == {"rank", "id", "title", "title_highlights", "date", "url", "source", "path", "record", "crawled",
                        "story", "versions", "score", "by_meaning", "related", "snippet", "highlights",
                        "snippets"}  # fmt: skip
    assert hit["by_meaning"] is False  # an index without vectors is searched by its words
    for start, end in hit["highlights"]:
        assert hit["snippet"][start:end].lower().startswith(("oil", "price"))


def test_no_matches_exits_1_and_json_is_still_valid(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    for output in ([], ["--jsonl"], ["--urls-only"]):
        code, out, err = run("query", "xylophonist", "--index", index, *output)
        assert (code, out, err) == (1, "", "no matches\n"), output
    code, out, _ = run("query", "xylophonist", "--index", index, "--count")
    assert (code, out) == (1, "0\n")
    code, out, _ = run("query", "xylophonist", "--index", index, "--json")
    assert code == 1
    document = json.loads(out)
    assert (document["query"], document["total"], document["hits"]) == ("xylophonist", 0, [])


def test_the_limit_option(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    _, out, _ = run("query", "oil", "--index", index, "-n", "2")
    assert [line for line in out.splitlines() if line[:1].isdigit()][-1].startswith("2. ")


def test_the_index_comes_from_the_environment(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    code, out, _ = run("query", "Putin parade", env={"SEARCHIDX_INDEX": str(index)})
    assert code == 0
    assert out.startswith("1. President Putin")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("query", "x", "--index", "{tmp}/none"), "No index at {tmp}/none. Run `searchidx ingest DIR` first"),
        (("ingest", "{tmp}/nowhere", "--index", "{tmp}/i"), "The folder {tmp}/nowhere does not exist."),
        (("query", "", "--index", "{index}"), "The query is empty."),
        (("query", "--index", "{index}"), "The query is empty."),
        (("query", "the of", "--index", "{index}"), "has no searchable words"),
        (("query", "oil", "--limit", "0", "--index", "{index}"), "Invalid value for '-n' / '--limit'"),
        (
            ("query", "oil", "--since", "someday", "--index", "{index}"),
            "'someday' is not a date this tool understands; use 2015-03-20, 2015-03, 2015, March 2015",
        ),
        (
            ("query", "oil", "--facets", "colour", "--index", "{index}"),
            "Unknown facet 'colour'; use year, month or source.",
        ),
        (
            ("query", "oil", "--json", "--count", "--index", "{index}"),
            "--json and --count cannot be used together",
        ),
        (
            ("query", "oil", "--urls-only", "--count", "--index", "{index}"),
            "--urls-only and --count cannot be used together",
        ),
        (
            ("query", "oil", "--page", "2", "--offset", "3", "--index", "{index}"),
            "--page and --offset cannot",
        ),
        (
            ("similar", "x", "--page", "2", "--offset", "3", "--index", "{index}"),
            "--page and --offset cannot",
        ),
        (("query", "oil", "--undated", "--since", "2015", "--index", "{index}"), "--undated cannot be used"),
        (("similar", "x", "-n", "1001", "--index", "{index}"), "1<=x<=1000"),
        (("show", "0000000000000000", "--index", "{index}"), "No document '0000000000000000' in the index"),
        (("frobnicate",), "No such command 'frobnicate'"),
    ],
)
def test_user_errors_are_one_sentence_and_exit_2(
    tmp_path: Path, corpus_index: tuple[Path, IngestReport], args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "pdfs").mkdir()
    (tmp_path / "pdfs" / "a.pdf").write_bytes(b"%PDF")
    index, _ = corpus_index
    filled = [arg.format(tmp=tmp_path, index=index) for arg in args]
    code, out, err = run(*filled)
    assert code == 2
    assert out == ""
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", [None, b"%PDF"])
def test_a_folder_with_nothing_to_index_exits_1_as_the_readme_says(
    tmp_path: Path, content: bytes | None
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    if content is not None:
        (folder / "a.pdf").write_bytes(content)
    code, out, err = run("ingest", folder, "--index", tmp_path / "index")
    assert (code, out) == (1, "")
    ignored = "0 other files" if content is None else "1 other file"
    assert err == (
        f"searchidx: No supported files (.txt, .md, .html, .htm, .jsonl, .ndjson, .rss, .atom, .xml, .warc, .arc, .wacz) in {folder} "
        f"({ignored} ignored). Point ingest at the folder that holds your articles.\n"
    )


def test_a_page_past_the_last_says_so_and_exits_1(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    total = int(run("query", "oil", "--index", index, "--count")[1])
    pages = -(-total // 10)
    code, out, err = run("query", "oil", "--index", index, "--page", "99999")
    assert (code, out) == (1, "")
    assert err == f"page 99,999 is past the last page: {total} matches fill {pages} pages\n"
    code, out, err = run("query", "oil", "--index", index, "--page", "99999", "--jsonl")
    assert (code, out, err) == (
        1,
        "",
        f"page 99,999 is past the last page: {total} matches fill {pages} pages\n",
    )
    assert run("query", "oil", "--index", index, "--page", str(pages))[0] == 0


def test_similar_pages_and_prints_the_formats_query_prints(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    seed = str(CORPUS / "000_4e7d869d1a4b2b3a.txt")
    _, first, _ = run("similar", seed, "--index", index, "-n", "4", "--json")
    _, second, _ = run("similar", seed, "--index", index, "-n", "2", "--page", "2", "--jsonl")
    ranked = json.loads(first)["hits"]
    assert [json.loads(line)["id"] for line in second.splitlines()] == [hit["id"] for hit in ranked[2:4]]
    assert [json.loads(line)["rank"] for line in second.splitlines()] == [3, 4]
    _, urls, _ = run("similar", seed, "--index", index, "-n", "2", "--offset", "1", "--urls-only")
    assert urls.splitlines() == [hit["url"] or hit["path"] for hit in ranked[1:3]]
    code, count, _ = run("similar", seed, "--index", index, "--count")
    assert (code, int(count)) == (0, json.loads(first)["total"])
    _, _, footer = run("similar", seed, "--index", index, "-n", "2")
    assert footer.rstrip().endswith("(use --page/--limit)")


def test_bad_files_are_reported_and_the_rest_is_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "good.txt", "Good", "A fine article.")
    (folder / "bad.txt").write_bytes(b"\x00\x00binary")
    code, out, err = run("ingest", folder, "--index", tmp_path / "index")
    assert code == 0
    assert err == f"skipped {folder / 'bad.txt'}: binary file (not text)\n"
    assert out.startswith(
        "1 added, 0 updated, 0 unchanged, 0 removed, 0 duplicates, 1 skipped (2 records in 2 files)"
    )
    code, out, err = run("ingest", folder, "--index", tmp_path / "index", "--quiet")
    assert (code, out) == (0, "")
    assert err == f"skipped {folder / 'bad.txt'}: binary file (not text)\n"


def test_a_folder_of_only_bad_files_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "bad.txt").write_bytes(b"\x00\x00binary")
    code, out, _ = run("ingest", folder, "--index", tmp_path / "index")
    assert code == 1
    assert out.startswith("0 added, 0 updated, 0 unchanged, 0 removed, 0 duplicates, 1 skipped")


def test_verbose_lists_every_action_and_json_summarises(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Harbour closes", "The harbour closed.")
    write_article(folder, "b.txt", "Harbour closes", "The harbour closed.")
    write_article(folder, "c.txt", "Ferry returns", "The ferry is back.")
    index = tmp_path / "index"
    code, _, err = run("ingest", folder, "--index", index, "--verbose")
    assert code == 0
    assert err.splitlines() == [
        f"added {folder / 'a.txt'}",
        f"duplicate {folder / 'b.txt'} (of {folder / 'a.txt'})",
        f"added {folder / 'c.txt'}",
    ]
    (folder / "c.txt").unlink()
    code, out, err = run("ingest", folder, "--index", index, "--verbose", "--json")
    # The duplicate found in an earlier run is listed again: the summary counts it.
    assert err.splitlines() == [
        f"duplicate {folder / 'b.txt'} (of {folder / 'a.txt'})",
        f"removed {folder / 'c.txt'}",
    ]
    summary = json.loads(out)
    assert {key: summary[key] for key in ("files", "records", "added", "unchanged", "removed", "duplicates", "total")} == {
        "files": 2, "records": 2, "added": 0, "unchanged": 1, "removed": 1, "duplicates": 1, "total": 1,
    }  # fmt: skip
    assert summary["duplicate_items"] == [{"location": str(folder / "b.txt"), "of": str(folder / "a.txt")}]


def test_a_progress_bar_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for number in range(5):
        write_article(folder, f"{number}.txt", f"Story {number}", "Some text.")
    command = [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(tmp_path / "index")]
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait() == 0
    os.close(leader)
    assert b"ingesting" in shown
    assert b"5/5" in shown
    assert b"files/s" in shown
    piped = subprocess.run(command, capture_output=True, text=True, check=False)
    assert piped.stderr == ""


def test_escape_sequences_in_documents_never_reach_the_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "evil\x1b[2J.txt").write_text(
        "# Evil \x1b[31mtitle\n\nThe evil \x1b]0;x\x07 body.", encoding="utf-8"
    )
    index = tmp_path / "index"
    code, _, err = run("ingest", folder, "--index", index)
    assert code == 0
    assert "\x1b" not in err
    code, out, _ = run("query", "evil", "--index", index, "--color", "never")
    assert code == 0
    assert "\x1b" not in out
    assert out.splitlines()[0] == "1. Evil title"


def test_the_console_script_and_python_m_work_end_to_end(tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = {**os.environ, "NO_COLOR": "1"}
    ingest_run = subprocess.run(
        [sys.executable, "-m", "searchidx", "ingest", str(CORPUS), "--index", str(index)],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    assert ingest_run.returncode == 0, ingest_run.stderr
    query_run = subprocess.run(
        [sys.executable, "-m", "searchidx", "query", "Putin parade", "--index", str(index)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert query_run.returncode == 0
    assert query_run.stdout.startswith("1. President Putin to Visit China for World War II March\n")
    missing = subprocess.run(
        [sys.executable, "-m", "searchidx", "query", "x", "--index", str(tmp_path / "none")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.startswith("searchidx: No index at")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert (code, out) == (0, "searchidx, version 0.1.0\n")
    code, out, _ = run("query", "--help")
    assert code == 0
    assert "--json" in out


def test_json_schema_types_and_offsets(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    code, out, _ = run(
        "query", '"military parade" Putin', "--index", index, "--json", "--facets", "year,source"
    )
    assert code == 0
    document = json.loads(out)
    expected_types = {
        "query": str, "parsed_query": str, "plain_words": bool, "total": int, "total_is_exact": bool,
        "took_ms": float, "page": int, "limit": int, "offset": int, "pages": int, "suggestion": type(None),
        "corrected": bool, "approximate": bool, "undated_left_out": int, "mode": str, "facets": dict,
        "notes": list, "hits": list, "related": list, "found_by_meaning": list, "stories": int, "grouped": bool,
    }  # fmt: skip
    assert {key: type(value) for key, value in document.items()} == expected_types
    assert document["facets"]["year"]["2015"] == 1
    hit = document["hits"][0]
    assert hit["title"] == "President Putin to Visit China for World War II March"
    assert [hit["title"][a:b] for a, b in hit["title_highlights"]] == ["Putin"]
    assert {hit["snippet"][a:b] for a, b in hit["highlights"]} >= {"military parade", "Putin"}
    # The snippet is its fragments joined by " … " (which stands for a fragment's own cut marks there).
    fragments = tuple(MarkedText(fragment["text"], tuple(map(tuple, fragment["highlights"])))
                      for fragment in hit["snippets"])  # fmt: skip
    assert join_fragments(fragments) == MarkedText(hit["snippet"], tuple(map(tuple, hit["highlights"])))
    for fragment in hit["snippets"]:
        assert {fragment["text"][a:b] for a, b in fragment["highlights"]} <= {"military parade", "Putin"}
    assert (hit["source"], hit["date"]) == ("themoscowtimes.com", "2015-03-20T00:00:00+00:00")


def test_jsonl_count_and_urls_only(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    _, out, _ = run("query", "oil", "--index", index, "--jsonl", "-n", "3")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["rank"] for line in lines] == [1, 2, 3]
    _, count, _ = run("query", "oil", "--index", index, "--count")
    _, full, _ = run("query", "oil", "--index", index, "--json", "-n", "1")
    assert int(count) == json.loads(full)["total"]
    _, urls, _ = run("query", "europa water", "--index", index, "--urls-only", "-n", "1")
    assert urls == "https://www.space.com/jupiter-moon-europa-water-vapor-confirmed.html\n"


def test_paging_footer_suggestion_and_show_query(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    code, out, err = run("query", "oil", "--index", index, "-n", "2", "--page", "2")
    assert code == 0
    assert out.startswith("3. ")
    assert err.startswith("showing 3-4 of ")
    assert err.rstrip().endswith("(use --page/--limit)")
    code, _, err = run("query", "Putn", "parad", "--index", index, "--show-query")
    assert err.splitlines()[:2] == [
        "searched: (title:putin^0.25 OR body:putin OR title:parad^0.25 OR body:parad)",
        "showing results for: putin parade (to search the words as typed, add --exact)",
    ]
    code, _, err = run("query", "Putn", "parad", "--index", index, "--show-query", "--exact")
    assert err.splitlines()[:2] == [
        "searched: (title:putn^0.25 OR body:putn OR title:parad^0.25 OR body:parad)",
        "did you mean: putin parade",
    ]
    _, _, err = run("query", "(oil", "--index", index, "--show-query")
    assert err.splitlines()[:2] == [
        "searched: (title:oil^0.25 OR body:oil)",
        "The query has an unbalanced parenthesis or bracket, so its words were searched as plain words: oil",
    ]


@pytest.mark.parametrize(
    ("typed", "note"),
    [
        ("(oil AND prices", "The query has an unbalanced parenthesis or bracket, so its words were searched "
                            "as plain words: oil prices"),
        ('"Tony Blair', "The query has an unbalanced quote, so its words were searched as plain words: Tony Blair"),
        ("oil AND", "The query has an operator (AND, OR, NOT) with nothing to join, so its words were "
                    "searched as plain words: oil"),
        ("OIL AND PRICES", "The query is all in capitals, so AND, OR and NOT in it were searched as words."),
        ("Putn parad", "showing results for: putin parade (to search the words as typed, add --exact)"),
    ],
)  # fmt: skip
def test_every_rewrite_of_the_query_is_said_on_every_output(
    corpus_index: tuple[Path, IngestReport], typed: str, note: str
) -> None:
    index, _ = corpus_index
    for output in ([], ["--json"], ["--count"], ["--csv"], ["--csv", "--all"], ["--urls-only"]):
        _, out, err = run("query", typed, "--index", index, *output)
        assert note in err.splitlines(), output
    _, out, _ = run("query", typed, "--index", index, "--json")
    assert note.replace("add --exact", "search with exact") in json.loads(out)["notes"]


def test_similar_show_and_stats_commands(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    seed_url = "https://www.themoscowtimes.com/2015/03/20/president-putin-to-visit-china-for-world-war-ii-march-a44971"
    code, out, _ = run("show", seed_url, "--index", index)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "President Putin to Visit China for World War II March"
    assert lines[1] == f"2015-03-20 · themoscowtimes.com · {seed_url}"
    assert lines[4].startswith("The Russian delegation led by President Vladimir Putin")
    code, out, _ = run("similar", seed_url, "--index", index, "--json", "-n", "3")
    similar = json.loads(out)
    assert code == 0
    assert len(similar["hits"]) == 3
    assert seed_url not in {hit["url"] for hit in similar["hits"]}
    code, out, _ = run("stats", "--index", index, "--json")
    stats = json.loads(out)
    assert (code, stats["documents"], stats["schema_version"]) == (0, 331, str(SCHEMA_VERSION))
    assert stats["per_year"]["1987"] == 318
    code, out, _ = run("stats", "--index", index)
    assert code == 0
    assert "documents       331" in out


def test_a_closed_pipe_ends_quietly(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    command = [sys.executable, "-m", "searchidx", "query", "oil", "--index", str(index), "-n", "100"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        stderr = process.stderr.read()
        assert process.wait() == 0
    assert b"Traceback" not in stderr
    assert b"Broken pipe" not in stderr


def test_dates_sorting_facets_and_approximate_results_on_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Tanks on parade", "Tanks crossed the square.", date="2015-05-09")
    write_article(folder, "b.txt", "Parade season", "Three parades this summer.", date="2015-03-01")
    write_article(folder, "c.txt", "Parade notes", "Undated parade notes.")
    index = tmp_path / "index"
    run("ingest", folder, "--index", index)
    _, out, _ = run("query", "parade", "--index", index, "--sort", "date", "--urls-only")
    assert [Path(line).name for line in out.splitlines()] == ["b.txt", "a.txt", "c.txt"]
    _, out, _ = run(
        "query", "parade", "--index", index, "--since", "2015-04", "--until", "2015", "--urls-only"
    )
    assert [Path(line).name for line in out.splitlines()] == ["a.txt"]
    _, out, _ = run("query", "parade", "--index", index, "--facets", "year,month")
    assert out.splitlines()[-2:] == [
        "year: 2015 (2), (no date) (1)",
        "month: 2015-05 (1), 2015-03 (1), (no date) (1)",
    ]
    code, out, err = run("query", "tankz", "--index", index)
    assert code == 0
    assert out.startswith("1. Tanks on parade")
    assert "showing results for: tanks" in err
    code, out, err = run("query", "tankz", "--index", index, "--exact")
    assert (code, out.splitlines()[0]) == (0, "1. Tanks on parade")
    assert "did you mean: tanks" in err
    assert "no exact matches; showing approximate (fuzzy) matches" in err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from('ab oil"()[]:*~-^ AND OR NOT\x1b\n中'), max_size=30))
def test_any_query_on_the_command_line_exits_cleanly(
    corpus_index: tuple[Path, IngestReport], query: str
) -> None:
    index, _ = corpus_index
    result = CliRunner().invoke(cli, ["query", "--index", str(index), "--", query])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr


ANY_VALUE = st.one_of(
    st.integers(-5, 100_000).map(str),
    st.sampled_from(["", "x", "2015", "2015-03", "last week", "7d", "2016 to 2015", "year,source", "nope",
                     "relevance", "-date", "always", "1e9", "-0", "\x1b[2J", "中", "NaN"]),
    st.text(max_size=12),
)  # fmt: skip
VALUE_OPTIONS = ["--limit", "--page", "--offset", "--since", "--until", "--source", "--sort", "--facets", "--snippets",
                 "--snippet-chars", "--color", "--index"]  # fmt: skip
FLAGS = ["--json", "--jsonl", "--urls-only", "--count", "--show-query"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.text(max_size=15), max_size=3),
    options=st.lists(st.tuples(st.sampled_from(VALUE_OPTIONS), ANY_VALUE), max_size=4),
    flags=st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
)
def test_any_query_with_any_option_values_answers_or_says_why(
    corpus_index: tuple[Path, IngestReport],
    words: list[str],
    options: list[tuple[str, str]],
    flags: list[str],
) -> None:
    index, _ = corpus_index
    arguments = ["query", "--index", str(index), *flags]
    for name, value in options:
        arguments += [name, value]
    result = CliRunner().invoke(cli, [*arguments, "--", *words])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    if result.exit_code == 2 or (result.exit_code == 1 and not result.stdout):
        assert result.stderr.strip(), "a failure says why"


QUERY_AND_LIST_IMPORTS = """
import sys
from searchidx.outputs.cli import main
sys.argv = ["searchidx", "query", "Putin parade", "--index", sys.argv[1]]
try:
    main()
except SystemExit as done:
    assert done.code == 0, done.code
heavy = ("bs4", "lxml", "asyncio", "urllib.request", "email.utils", "searchidx.ingesting.ingest", "searchidx.inputs.documents")
print(" ".join(name for name in heavy if name in sys.modules) or "none")
"""


def test_query_imports_nothing_it_does_not_use(corpus_index: tuple[Path, IngestReport]) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", QUERY_AND_LIST_IMPORTS, str(corpus_index[0])],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert "Putin" in completed.stdout
    assert completed.stdout.splitlines()[-1] == "none"


def test_whooshs_unused_imports_are_real_modules_after_searchidx_loads() -> None:
    code = (
        "import searchidx, urllib.request, cached_property, whoosh.compat\n"
        "print(urllib.request.urlopen.__name__, cached_property.threaded_cached_property.__name__,"
        " whoosh.compat.urlretrieve.__name__)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert completed.stdout.split() == ["urlopen", "threaded_cached_property", "_urlretrieve"]


def test_records_of_a_json_lines_file_are_told_apart_by_their_own_ids(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    records = [
        {"id": "time-1963-017", "title": "Profumo resigns", "date": "1963-06-05", "body": "The war minister Profumo resigned."},
        {"id": "time-1963-042", "title": "Profumo inquiry", "date": "1963-09-26", "body": "Lord Denning's report on Profumo."},
        {"id": "time-1963-099", "title": "Vostok 6", "date": "1963-06-16", "body": "Tereshkova orbited the Earth."},
    ]  # fmt: skip
    (folder / "time.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    index = tmp_path / "index"
    assert run("ingest", folder, "--index", index)[0] == 0
    code, out, _ = run("query", "Profumo", "--index", index)
    assert code == 0
    assert f"{folder / 'time.jsonl'} (id time-1963-042)" in out
    _, out, _ = run("query", "Profumo", "--index", index, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [
        (row["record"], row["url"], row["path"]) for row in sorted(rows, key=lambda row: row["record"])
    ] == [
        ("time-1963-017", "", str(folder / "time.jsonl")),
        ("time-1963-042", "", str(folder / "time.jsonl")),
    ]
    assert all(len(row["id"]) == 16 for row in rows)  # searchidx's own id, as `show` takes it too
    _, out, _ = run("query", "Profumo", "--index", index, "--json")
    assert sorted(hit["record"] for hit in json.loads(out)["hits"]) == ["time-1963-017", "time-1963-042"]
    code, out, _ = run("show", "time-1963-099", "--index", index)
    assert (code, out.splitlines()[0]) == (0, "Vostok 6")
    code, out, _ = run("similar", "time-1963-017", "--index", index, "--json")
    assert code == 0
    assert [hit["record"] for hit in json.loads(out)["hits"]][:1] == ["time-1963-042"]
    code, _, err = run("show", str(folder / "time.jsonl"), "--index", index)
    assert code == 2
    assert "names 3 documents; name one by its id (time-1963-" in err
