"""The ``searchidx`` command: parse the arguments, call the library, print.

Exit codes: 0 success (hits found, documents indexed), 1 nothing found (the
grep convention) or nothing indexed, 2 an error the user can fix, 130 when
interrupted. Errors are one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from searchidx import __version__
from searchidx.errors import SearchidxError
from searchidx.indexing import IngestObserver, IngestReport, ingest
from searchidx.searching import Hit, Results, search

F = TypeVar("F", bound=Callable[..., Any])
BOLD_RED = ("\x1b[1;31m", "\x1b[0m")
DEBUG_ENV = "SEARCHIDX_DEBUG"
# C0/C1 controls (ESC starts terminal escape sequences) and bidi overrides.
UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class SearchidxGroup(click.Group):
    """A click group that turns library errors into one sentence and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; report a :class:`SearchidxError` without a traceback."""
        try:
            return super().invoke(ctx)
        except SearchidxError as error:
            _fail(error.message, error.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            _fail(
                f"unexpected internal error ({type(error).__name__}: {error}). "
                f"Please report it; run with {DEBUG_ENV}=1 to see the traceback.",
                70,
            )


def index_option(function: F) -> F:
    """The ``--index PATH`` option shared by every command."""
    return click.option(
        "--index",
        "index",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SEARCHIDX_INDEX",
        default="index",
        show_default=True,
        help="Index directory (env SEARCHIDX_INDEX).",
    )(function)


@click.group(cls=SearchidxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchidx")
def cli() -> None:
    """Local full-text search for folders of news articles."""


@cli.command("ingest")
@click.argument("directories", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option("--full", is_flag=True, help="Rebuild the index from these folders only, from scratch.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and skipped files.")
@click.option(
    "-v", "--verbose", is_flag=True, help="List every document added, updated, removed or duplicated."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def ingest_command(
    directories: tuple[Path, ...], index: Path, full: bool, quiet: bool, verbose: bool, as_json: bool
) -> None:
    """Index the articles under DIRECTORIES (.txt, .md, .html, .htm, .jsonl, .ndjson).

    Only new and changed files are read again; documents of files that are
    gone from the folders are removed. Each skipped file or record is printed
    on stderr with the reason.
    """
    show_progress = not (quiet or verbose or as_json) and sys.stderr.isatty()
    with _IngestPrinter(verbose=verbose, progress=show_progress) as printer:
        report = ingest(directories, index=index, full=full, observer=printer)
    if as_json:
        click.echo(json.dumps(_report_json(report), ensure_ascii=False, indent=2))
    elif not quiet:
        click.echo(_ingest_summary(report))
    if report.records == len(report.skipped):
        sys.exit(1)


class _IngestPrinter(IngestObserver):
    """Skipped files as they come, a progress bar on a terminal, every action with --verbose."""

    def __init__(self, *, verbose: bool, progress: bool) -> None:
        self._verbose = verbose
        self._progress = progress
        self._bar: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> _IngestPrinter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def started(self, files: int) -> None:
        if self._progress:
            self._bar = click.progressbar(
                length=files, label="ingesting", file=sys.stderr, show_pos=True, item_show_func=self._rate
            )
            self._bar.__enter__()

    def file_done(self, path: Path) -> None:
        if self._bar is not None:
            self._bar.update(1, path)

    def action(self, kind: str, location: str, detail: str = "") -> None:
        if kind == "skipped":
            click.echo(f"skipped {terminal_safe(location)}: {detail}", err=True)
        elif self._verbose:
            suffix = f" (of {terminal_safe(detail)})" if kind == "duplicate" else ""
            click.echo(f"{kind} {terminal_safe(location)}{suffix}", err=True)

    def _rate(self, _: object) -> str:
        done = self._bar.pos if self._bar is not None else 0
        return f"{done / max(time.perf_counter() - self._started, 1e-9):.0f} files/s"


def _ingest_summary(report: IngestReport) -> str:
    files = f"{report.files} file{'s' * (report.files != 1)}"
    ignored = f"; {report.ignored} other files ignored" if report.ignored else ""
    return (
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.duplicates)} duplicates, {len(report.skipped)} skipped "
        f"({report.records} records in {files}{ignored})\n"
        f"{report.index} holds {report.total} documents, {report.undated} without a date "
        f"({report.seconds:.1f} s)"
    )


def _report_json(report: IngestReport) -> dict[str, Any]:
    return {
        "index": str(report.index),
        "files": report.files,
        "ignored": report.ignored,
        "records": report.records,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "duplicates": len(report.duplicates),
        "skipped": len(report.skipped),
        "total": report.total,
        "undated": report.undated,
        "seconds": round(report.seconds, 3),
        "skipped_items": [{"location": item.location, "reason": item.reason} for item in report.skipped],
        "duplicate_items": [{"location": item.location, "of": item.of} for item in report.duplicates],
    }


@cli.command("query")
@click.argument("words", nargs=-1)
@index_option
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Hits to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (query, total, hits).")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Mark matches in bold red: auto = when stdout is a terminal and NO_COLOR is unset.",
)
def query_command(words: tuple[str, ...], index: Path, limit: int, as_json: bool, color: str) -> None:
    """Search the index for WORDS (Whoosh query syntax: "phrases", AND/OR/NOT, title:...)."""
    started = time.perf_counter()
    results = search(" ".join(words), index=index, limit=limit)
    took = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps(_results_json(results), ensure_ascii=False, indent=2))
    else:
        colored = _use_color(color)
        marks = BOLD_RED if colored else ("", "")
        for hit in results:
            # color=True: click would strip the marks when stdout is not a TTY.
            click.echo(_format_hit(hit, marks), color=colored)
        if results.total:
            click.echo(f"showing 1-{len(results)} of {results.total} matches in {took:.3f} s", err=True)
    if not results.total:
        if not as_json:
            click.echo("no matches", err=True)
        sys.exit(1)


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _format_hit(hit: Hit, marks: tuple[str, str]) -> str:
    date = hit.date.strftime("%Y-%m-%d") if hit.date else "no date"
    location = hit.url or hit.path
    snippet = _safe_marked(hit, *marks)
    return (
        f"{hit.rank}. {terminal_safe(hit.title) or '(untitled)'}\n"
        f"   {date}  {terminal_safe(location)}\n"
        f"   {snippet}\n"
    )


def _safe_marked(hit: Hit, before: str, after: str) -> str:
    """The snippet with marks, control characters of the document removed first."""
    pieces: list[str] = []
    position = 0
    for start, end in hit.highlights:
        pieces += [
            terminal_safe(hit.snippet[position:start]),
            before,
            terminal_safe(hit.snippet[start:end]),
            after,
        ]
        position = end
    pieces.append(terminal_safe(hit.snippet[position:]))
    return "".join(pieces)


def _results_json(results: Results) -> dict[str, Any]:
    return {
        "query": results.query,
        "total": results.total,
        "hits": [
            {
                "rank": hit.rank,
                "id": hit.id,
                "title": hit.title,
                "date": hit.date.isoformat() if hit.date else None,
                "url": hit.url or None,
                "path": hit.path,
                "score": round(hit.score, 6),
                "snippet": hit.snippet,
                "highlights": [list(span) for span in hit.highlights],
            }
            for hit in results
        ],
    }


def main() -> None:
    """Entry point of the ``searchidx`` console script and ``python -m searchidx``."""
    cli(prog_name="searchidx")


def terminal_safe(text: str) -> str:
    """``text`` without control characters, so a document cannot drive the terminal."""
    return UNSAFE_FOR_TERMINAL.sub("", text)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"searchidx: {message}", err=True)
    sys.exit(code)
