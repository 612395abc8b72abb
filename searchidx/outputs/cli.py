"""The ``searchidx`` command: parse the arguments, call the library, print.

Exit codes: 0 success (hits found, documents indexed), 1 nothing found (the
grep convention) or nothing indexable, 2 an error the user can fix, 130 when
interrupted. Errors are one sentence on stderr, never a traceback. Writing
into a closed pipe (``| head -1``) ends quietly.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from searchidx import Index, IngestObserver, __version__
from searchidx.errors import SearchidxError, plural, terminal_safe
from searchidx.outputs.options import FilePath, color_option, index_option, json_option
from searchidx.outputs.rendering import (
    article_json,
    article_text,
    check_json,
    check_text,
    facets_text,
    footer_text,
    hit_json,
    hit_text,
    ingest_json,
    ingest_text,
    no_match_text,
    past_last_page_text,
    results_json,
    rewrite_notes,
    stats_json,
    stats_text,
    trend_json,
)
from searchidx.outputs.watching import after_ingest, hook_failure_text, news_line, watch_group
from searchidx.results import (
    MAX_HITS,
    MAX_SIMILAR,
    MAX_SNIPPETS,
    MODES,
    SNIPPET_CHARS,
    UNITS,
    Results,
    WatchCounts,
)

F = TypeVar("F", bound=Callable[..., Any])
BOLD_RED = ("\x1b[1;31m", "\x1b[0m")
DEBUG_ENV = "SEARCHIDX_DEBUG"
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
OUTPUTS = ("json", "jsonl", "urls_only", "count")


class SearchidxGroup(click.Group):
    """A click group that turns library errors into one sentence and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; report a :class:`SearchidxError` without a traceback."""
        try:
            return super().invoke(ctx)
        except SearchidxError as error:
            _fail(error.message, error.exit_code)
        except BrokenPipeError:
            _stop_quietly()
        except KeyboardInterrupt:
            _fail("interrupted.", INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            _fail(
                f"unexpected internal error ({type(error).__name__}: {error}). "
                f"Please report it; run with {DEBUG_ENV}=1 to see the traceback.",
                70,
            )


@click.group(cls=SearchidxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchidx")
def cli() -> None:
    """Local full-text search for folders of news articles."""


@cli.command("ingest")
@click.argument("directories", metavar="DIR|FILE...", nargs=-1, required=True, type=FilePath(path_type=Path))
@index_option
@click.option(
    "--full", is_flag=True, help="Rebuild the index from these folders and files only, from scratch."
)
@click.option(
    "--include-folder-docs",
    is_flag=True,
    help="Index a folder's own documents too (README, LICENSE, COPYING, CHANGELOG..., any type), "
    "which are otherwise ignored.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing but errors, and skipped and truncated files."
)
@click.option(
    "-v", "--verbose", is_flag=True, help="List every document added, updated, removed or duplicated."
)
@click.option(
    "-j",
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes that index in parallel (default: one per core, up to 4, from 2,000 files or 8 MB).",
)
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(0),
    default=180,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another ingest into the same index to finish.",
)
@click.option(
    "--shards", type=click.IntRange(1, 1024), help="On a cluster: primary shards of a new index (default 1)."
)
@click.option(
    "--replicas", type=click.IntRange(0, 16), help="On a cluster: copies of each shard (default 1)."
)
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Give every article a vector to search by meaning (the semantic extra; remembered by the "
    "index), or drop the vectors.",
)
@json_option
def ingest_command(
    directories: tuple[Path, ...],
    index: Path | str,
    full: bool,
    quiet: bool,
    verbose: bool,
    workers: int | None,
    wait: float,
    shards: int | None,
    replicas: int | None,
    semantic: bool | None,
    as_json: bool,
    include_folder_docs: bool,
) -> None:
    """Index the articles in folders (recursively) and files (.txt, .md, .html, .htm, .jsonl, .ndjson).

    Only new and changed files are read again; documents of files that are
    gone from the folders are removed (a file given by name: only its own).
    A folder's README, LICENSE and the like are not articles: they are
    counted as ignored unless --include-folder-docs. Each skipped file or
    record is printed on stderr with the reason.
    """
    from searchidx import ingest  # the document readers load only when ingesting

    show_progress = not (quiet or verbose or as_json) and sys.stderr.isatty()
    try:
        with _IngestPrinter(verbose=verbose, progress=show_progress) as printer:
            report = ingest(directories, index=index, full=full, workers=workers, wait=wait, observer=printer,
                            shards=shards, replicas=replicas, semantic=semantic,
                            include_folder_docs=include_folder_docs)  # fmt: skip
    except KeyboardInterrupt:
        _fail(f"interrupted: {_what_was_kept(index)}; run the same ingest again to go on from there.",
              INTERRUPTED)  # fmt: skip
    counts, runs = after_ingest(report.index) if report.watches else (WatchCounts({}, 0), [])
    for run in runs:
        if run.failure:
            click.echo(f"searchidx: {hook_failure_text(run)}", err=True)
    if as_json:
        watches = {"new": counts, "articles": counts.articles, "commands": [run.__dict__ for run in runs]}
        _print_json({**ingest_json(report), "watches": watches})
    elif not quiet:
        click.echo(ingest_text(report))
        if (line := news_line(counts)) is not None:
            click.echo(line)
    if report.records == len(report.skipped):
        sys.exit(1)


def _what_was_kept(index: Path | str) -> str:
    """What an interrupted ingest left: the index as its last commit wrote it."""
    try:
        with Index(index) as ix:
            return f"the index at {index} keeps its last commit ({plural(ix.document_count(), 'document')})"
    except SearchidxError:
        return f"nothing was committed to {index} yet"


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

    def waiting(self, holder: int | None) -> None:
        who = f" held by PID {holder}" if holder else ""
        click.echo(f"waiting for the index lock{who} (another ingest is writing)...", err=True)

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
        elif kind == "truncated":
            click.echo(
                f"truncated {terminal_safe(location)}: indexed the first {detail} characters", err=True
            )
        elif kind == "ignored":
            if self._verbose:
                click.echo(f"ignored {terminal_safe(location)}: {detail} (--include-folder-docs indexes it)",
                           err=True)  # fmt: skip
        elif self._verbose:
            suffix = f" (of {terminal_safe(detail)})" if kind == "duplicate" else ""
            click.echo(f"{kind} {terminal_safe(location)}{suffix}", err=True)

    def embedding(self, done: int, total: int) -> None:
        if not self._progress:
            return
        if self._bar is not None and self._bar.label != "embedding":
            self._bar.__exit__(None, None, None)
            self._bar = None
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="embedding", file=sys.stderr, show_pos=True)
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def _rate(self, _: object) -> str:
        done = self._bar.pos if self._bar is not None else 0
        return f"{done / max(time.perf_counter() - self._started, 1e-9):,.0f} files/s"


def paging_options(deepest: int) -> Callable[[F], F]:
    """``-n/--limit`` (at most ``deepest``), ``--page`` and ``--offset``."""

    def decorate(function: F) -> F:
        function = click.option("--offset", type=click.IntRange(min=0),
                                help="Hits to skip (instead of --page).")(function)  # fmt: skip
        function = click.option("--page", type=click.IntRange(min=1),
                                help="Page of hits to show (default 1).")(function)  # fmt: skip
        return click.option("-n", "--limit", type=click.IntRange(1, deepest), default=10, show_default=True,
                            help=f"Hits per page (at most {deepest:,}).")(function)  # fmt: skip

    return decorate


def output_options(function: F) -> F:
    """``--json``, ``--jsonl``, ``--urls-only``, ``--count``, ``--csv`` and ``--color``."""
    for option in reversed([
        json_option,
        click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON hit per line."),
        click.option("--urls-only", is_flag=True, help="Print only each hit's URL (or path)."),
        click.option("--count", "count_only", is_flag=True, help="Print only the number of matches."),
        click.option("--csv", "as_csv", is_flag=True,
                     help="Print the hits as CSV: rank, id, date, source, title, url, path, record, score, "
                          "snippet."),
    ]):  # fmt: skip
        function = option(function)
    return color_option(function)


@cli.command("query")
@click.argument("words", nargs=-1)
@index_option
@paging_options(MAX_HITS)
@click.option(
    "--since", metavar="WHEN", help="Only articles dated on or after WHEN (2015-03, last week, 7d...)."
)
@click.option("--until", metavar="WHEN", help="Only articles dated on or before WHEN.")
@click.option("--undated", is_flag=True, help="Only articles without a date.")
@click.option("--source", metavar="SITE", help="Only articles from this site and its hosts (bbc.co.uk).")
@click.option(
    "--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance", show_default=True,
    help="date = oldest first, -date = newest first.",
)  # fmt: skip
@click.option(
    "--facets",
    metavar="NAMES",
    default="",
    help="Count the matches by year, month and/or source (comma-separated).",
)
@click.option("--snippets", type=click.IntRange(0, MAX_SNIPPETS), default=2, show_default=True,
              help="Fragments per snippet.")  # fmt: skip
@click.option("--snippet-chars", type=click.IntRange(*SNIPPET_CHARS), default=240, show_default=True,
              help="Snippet length.")  # fmt: skip
@click.option("--exact", is_flag=True, help="Search the words as typed, even those that look misspelt.")
@click.option(
    "--no-related",
    "no_related",
    is_flag=True,
    help="Only the matches: no related articles after them when the words match fewer than a page.",
)
@click.option("--show-query", is_flag=True, help="Print the query as searched (on stderr).")
@click.option(
    "--all-versions",
    is_flag=True,
    help="List every version of a story (syndicated copies, updates), not the best one alone.",
)
@click.option("--all", "every", is_flag=True, help="With --csv: every hit of the query, not one page.")
@click.option("--mode", type=click.Choice(MODES),
              help="keyword = the words, semantic = the meaning, hybrid = both "
                   "(the default on an index built with --semantic; else keyword).")  # fmt: skip
@output_options
def query_command(
    words: tuple[str, ...], index: Path | str, limit: int, page: int | None, offset: int | None,
    since: str | None, until: str | None, undated: bool, source: str | None, sort: str, facets: str,
    snippets: int, snippet_chars: int, exact: bool, no_related: bool, show_query: bool,
    all_versions: bool, every: bool, mode: str | None,
    as_json: bool, as_jsonl: bool, urls_only: bool, count_only: bool, as_csv: bool, color: str,
) -> None:  # fmt: skip
    """Search the index for WORDS.

    Plain words match any of them (more matches rank higher); also "quoted
    phrases", AND/OR/NOT and -word, title:/body:/url: fields, prefix*, word~
    (fuzzy), parentheses and date:[2015 to 2016]. A word the archive lacks is
    searched as its likeliest correction (say --exact to search it as typed).
    When plain words match fewer articles than a page holds, the articles most
    like the best matches follow them, marked related (--no-related: none).
    The versions of one story (a wire story run by several sites, an update)
    are listed once, at the best one's rank, with the others named after it
    (--all-versions: each listed); counts are of articles, and of stories.
    """
    output = _one_output(
        as_json=as_json, as_jsonl=as_jsonl, urls_only=urls_only, count_only=count_only, as_csv=as_csv
    )
    if undated and (since or until):
        raise click.UsageError("--undated cannot be used with --since or --until; choose one.")
    if every:
        if output != "as_csv":
            raise click.UsageError("--all goes with --csv (every hit as CSV); add --csv.")
        _export_every_hit(" ".join(words), index, since=since, until=until, undated=undated, source=source,
                          sort=sort, snippets=snippets, exact=exact)  # fmt: skip
        return
    with Index(index) as ix:
        results = ix.search(
            " ".join(words), limit=limit, page=_page(page, offset), offset=offset, since=since, until=until,
            undated=undated, source=source,
            sort=sort,  # type: ignore[arg-type]  # click.Choice checked it
            facets=facets, snippets=snippets, snippet_chars=snippet_chars, exact=exact,
            exact_total=output == "count_only",
            # A count is of the documents the words match: meaning ranks, it does not match.
            mode="keyword" if output == "count_only" and mode is None else mode,
            # Lines of URLs or CSV cannot say a hit is only related: they list the matches.
            related=not no_related and output in ("text", "as_json", "as_jsonl"),
            all_versions=all_versions,
        )  # fmt: skip
    _notes(results, show_query=show_query)
    _print_results(results, output, color)


def _export_every_hit(query: str, index: Path | str, **options: Any) -> None:
    """Every hit of the query as CSV on stdout, written as it is read; exit 1 when none matched."""
    from searchidx.outputs.exports import csv_text, hit_rows  # only exports pay for the csv module

    written = 0
    with Index(index) as ix:
        # The first match alone, for what the query became (said on stderr as for a page).
        filters = {name: value for name, value in options.items() if name != "snippets"}
        first = ix.search(query, limit=1, snippets=0, mode="keyword", related=False, **filters)
        _notes(first, show_query=False)
        rows = hit_rows(ix.every_hit(query, **options))
        click.echo(csv_text([next(rows)]), nl=False)
        for row in rows:
            click.echo(csv_text([row]), nl=False)
            written += 1
    if not written:
        click.echo("no matches", err=True)
        sys.exit(1)


def _page(page: int | None, offset: int | None) -> int:
    if page is not None and offset is not None:
        raise click.UsageError("--page and --offset cannot be used together; choose one.")
    return page or 1


OUTPUT_FLAGS = {
    "as_json": "--json",
    "as_jsonl": "--jsonl",
    "urls_only": "--urls-only",
    "count_only": "--count",
    "as_csv": "--csv",
}


def _one_output(**choices: bool) -> str:
    """The output format chosen (``text`` when none); a usage error when several are."""
    chosen = [name for name, on in choices.items() if on]
    if len(chosen) > 1:
        names = " and ".join(OUTPUT_FLAGS[name] for name in chosen)
        raise click.UsageError(f"{names} cannot be used together; choose one output format.")
    return chosen[0] if chosen else "text"


def _print_results(results: Results, output: str, color: str) -> None:
    """The results in the chosen format; exit 1 when nothing matched or the page is past the last."""
    if output == "as_json":
        _print_json(results_json(results))
    elif output == "as_jsonl":
        for hit in (*results, *results.following):
            click.echo(json.dumps(hit_json(hit), ensure_ascii=False))
    elif output == "count_only":
        click.echo(str(results.total))
    elif output == "urls_only":
        for hit in results:
            click.echo(terminal_safe(hit.url or hit.path))
    elif output == "as_csv":
        from searchidx.outputs.exports import csv_text, hit_rows  # only exports pay for the csv module

        click.echo(csv_text(hit_rows(results)), nl=False)
    else:
        _print_hits(results, color)
    if output in ("as_jsonl", "urls_only", "as_csv") and not results.total:
        click.echo(no_match_text(results), err=True)
    if not results.total:
        sys.exit(1)
    if not results.hits and output != "count_only":
        if output != "text":  # the text form said so in its footer
            click.echo(past_last_page_text(results), err=True)
        sys.exit(1)


def _notes(results: Results, *, show_query: bool) -> None:
    """What a person should know about the results, on stderr: every rewrite of the query, a line each."""
    if show_query:
        click.echo(f"searched: {results.parsed_query}", err=True)
    for note in rewrite_notes(results, "add --exact"):
        click.echo(note, err=True)
    if results.suggestion and not results.corrected:
        click.echo(f"did you mean: {results.suggestion}", err=True)
    if results.undated_left_out:
        click.echo(f"{plural(results.undated_left_out, 'matching article')} without a date "
                   "left out by --since/--until", err=True)  # fmt: skip


def _print_hits(results: Results, color: str) -> None:
    colored = _use_color(color)
    marks = BOLD_RED if colored else ("", "")
    for hit in (*results, *results.following):
        # color=True: click would strip the marks when stdout is not a TTY.
        click.echo(hit_text(hit, marks), color=colored)
    if results.facets:
        click.echo(facets_text(results.facets))
    if not results.total:
        click.echo(no_match_text(results), err=True)
    elif not results.hits:
        click.echo(past_last_page_text(results), err=True)
    else:
        click.echo(footer_text(results), err=True)


@cli.command("trend")
@click.argument("queries", nargs=-1, required=True)
@index_option
@click.option("--by", type=click.Choice(UNITS), help="One bar per day, week, month or year.")
@click.option("--since", metavar="WHEN", help="Chart from WHEN (2015-03, last year, 30d...).")
@click.option("--until", metavar="WHEN", help="Chart up to WHEN.")
@click.option("--source", metavar="SITE", help="Only articles from this site (shares are of its articles).")
@click.option("--share", "by_share", is_flag=True, help="Draw the bars as shares of all dated articles.")
@click.option(
    "--stories",
    is_flag=True,
    help="Count stories, not articles: a story run by several sites once, when it first ran.",
)
@click.option("--words", type=click.IntRange(0, 100), default=10, show_default=True,
              help="Top words of each query's matches (0: none).")  # fmt: skip
@click.option("--sources", type=click.IntRange(0, 100), default=5, show_default=True,
              help="Top sources of each query's matches (0: none).")  # fmt: skip
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: query, period, start, end, matches, share.")
@color_option
def trend_command(
    queries: tuple[str, ...], index: Path | str, by: str | None, since: str | None, until: str | None,
    source: str | None, by_share: bool, stories: bool, words: int, sources: int, as_json: bool, as_csv: bool,
    color: str,
) -> None:  # fmt: skip
    """Chart how many articles match each of QUERIES per day, week, month or year.

    Each argument is one query (quote a query of several words): searchidx
    trend "oil prices" coffee. Bars are counts (or, with --share, shares of
    all dated articles in the period), one row per period; matches without a
    date are counted and said. Then each query's most distinctive words
    (against the whole archive) and top sources.
    """
    from searchidx.outputs.charts import trend_text  # only charts pay for drawing them
    from searchidx.outputs.exports import csv_text, trend_rows

    output = _one_output(as_json=as_json, as_csv=as_csv)
    with Index(index) as ix:
        trend = ix.trend(
            list(queries), by=by, since=since, until=until, source=source,  # type: ignore[arg-type]
            words=0 if output == "as_csv" else words, sources=0 if output == "as_csv" else sources,
            stories=stories,
        )  # fmt: skip
    if output == "as_json":
        _print_json(trend_json(trend))
    elif output == "as_csv":
        click.echo(csv_text(trend_rows(trend)), nl=False)
    else:
        colored = _use_color(color)
        click.echo(trend_text(trend, by_share=by_share, colored=colored), color=colored)
    if not any(series.total for series in trend.series):
        click.echo("no matches", err=True)
        sys.exit(1)


@cli.command("similar")
@click.argument("reference")
@index_option
@paging_options(MAX_SIMILAR)
@output_options
def similar_command(
    reference: str, index: Path | str, limit: int, page: int | None, offset: int | None, as_json: bool,
    as_jsonl: bool, urls_only: bool, count_only: bool, as_csv: bool, color: str,
) -> None:  # fmt: skip
    """The articles most like the one REFERENCE names (its id, URL or file path)."""
    output = _one_output(
        as_json=as_json, as_jsonl=as_jsonl, urls_only=urls_only, count_only=count_only, as_csv=as_csv
    )
    with Index(index) as ix:
        results = ix.similar(
            reference,
            limit=limit,
            page=_page(page, offset),
            offset=offset,
            exact_total=output == "count_only",
        )
    _print_results(results, output, color)


@cli.command("show")
@click.argument("reference")
@index_option
@json_option
def show_command(reference: str, index: Path | str, as_json: bool) -> None:
    """Print the stored article REFERENCE names (its id, URL or file path) in full."""
    with Index(index) as ix:
        article = ix.get(reference)
    if as_json:
        _print_json(article_json(article))
    else:
        click.echo(article_text(article), nl=False)


@cli.command("stats")
@index_option
@json_option
def stats_command(index: Path | str, as_json: bool) -> None:
    """What the index holds: documents, dates, sources, size, last ingest."""
    with Index(index) as ix:
        stats = ix.stats()
    if as_json:
        _print_json(stats_json(stats))
    else:
        click.echo(stats_text(stats))


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0: any free port)."
)
@click.option(
    "--token-file",
    type=FilePath(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Require the secret on this file's first line (else from env SEARCHIDX_TOKEN, if set).",
)
@click.option("--public", is_flag=True, help="Allow listening beyond this machine without a secret.")
@click.option(
    "--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Requests answered at once."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Time budget of one request; past it the answer is 504 (0: no budget).",
)
@click.option(
    "--expensive",
    type=click.IntRange(1),
    metavar="N",
    help="Costly requests (wildcards, fuzzy words, charts, exports) at once; past it 503. "
    "[default: half the threads]",
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=20.0,
    show_default=True,
    metavar="N",
    help="Requests a second per client address, on average (0: no limit); past it 429.",
)
@click.option(
    "--burst",
    type=click.IntRange(1),
    default=40,
    show_default=True,
    metavar="N",
    help="Requests per client address at once, above the rate.",
)
@click.option(
    "--trusted-proxy",
    metavar="ADDRESS",
    help="The reverse proxy's address: its X-Forwarded-For/-Proto name the client and the scheme.",
)
@click.option("--access-log", is_flag=True, help="Write one line per request on stderr.")
def serve_command(index: Path | str, host: str, port: int, token_file: Path | None, public: bool,
                  **limits: Any) -> None:  # fmt: skip
    """Search the index in a browser, and over a JSON API (/api/search, /api/doc/ID, /api/stats).

    Serves until Ctrl-C. Binds to this machine only by default. To share it,
    set a secret (SEARCHIDX_TOKEN or --token-file; never on the command line):
    programs send `Authorization: Bearer TOKEN`, browsers log in once. Listening
    beyond this machine without one is refused unless --public says so.
    """
    from searchidx.outputs.web.app import serve  # the web server loads only when serving
    from searchidx.outputs.web.serving import ServeSettings, is_loopback, read_token

    settings = ServeSettings(token=read_token(token_file), **limits)
    if settings.token is None and public and not is_loopback(host):
        click.echo(
            f"warning: listening on {host} without authentication: "
            "anyone who can reach it can read the index.",
            err=True,
        )

    def ready(address: str) -> None:
        secret = "the secret required" if settings.token else "no secret"
        click.echo(f"serving {index} at {address} ({secret}; Ctrl-C to stop)", err=True)

    serve(index, host=host, port=port, settings=settings, public=public, ready=ready)


@cli.command("check")
@index_option
@json_option
def check_command(index: Path | str, as_json: bool) -> None:
    """Verify the index: read every segment and stored document, compare with the ingest records.

    Exits 0 when the index is healthy and 1 when a problem was found.
    """
    from searchidx import check

    report = check(index)
    if as_json:
        _print_json(check_json(report))
    else:
        click.echo(check_text(report))
    if not report.healthy:
        sys.exit(1)


cli.add_command(watch_group)


def main() -> None:
    """Entry point of the ``searchidx`` console script and ``python -m searchidx``."""
    cli(prog_name="searchidx")


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def _stop_quietly() -> NoReturn:
    """The reader went away (``| head``): stop with success, as ripgrep does.

    stdout is pointed at /dev/null so that Python's final flush does not
    complain about the closed pipe.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"searchidx: {message}", err=True)
    sys.exit(code)
