"""The ``searchidx watch`` commands, and what ``searchidx ingest`` does for the watches after an ingest:
the one line that says how many new articles they have, and each watch's command (``--exec``).

A watch's command is run through the shell after every ingest that brought the watch new articles,
with them on its standard input as JSON Lines (one ``watch news --jsonl`` line each), and
``SEARCHIDX_WATCH``, ``SEARCHIDX_INDEX`` and ``SEARCHIDX_NEW`` (their number) in its environment. What
it prints goes to the ingest's standard error. When it fails (a non-zero exit, or still running
after :data:`HOOK_SECONDS`), the ingest says so and succeeds anyway, and the same articles (with any
newer ones) go to the command after the next ingest; when it succeeds, they never go to it again.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from searchidx import Index
from searchidx.errors import plural, terminal_safe
from searchidx.outputs.options import index_option, json_option
from searchidx.outputs.rendering import hit_json, hit_text
from searchidx.results import MAX_SNIPPETS, MODES, Hit, HookRun, Watch, WatchCounts, WatchNews

# How long a watch's command may run before it is stopped (and counts as failed).
HOOK_SECONDS = 300


def news_line(counts: WatchCounts) -> str | None:
    """The ingest summary's line about the watches with new articles (an article new to several counted
    once), or None when none has any."""
    waiting = [name for name, count in counts.items() if count]
    if not waiting:
        return None
    return (f"{plural(len(waiting), 'watch', 'watches')} "
            f"{'has' if len(waiting) == 1 else 'have'} {plural(counts.articles, 'new article')}: "
            "searchidx watch news")  # fmt: skip


def after_ingest(index: Path | str) -> tuple[WatchCounts, list[HookRun]]:
    """What the watches of ``index`` have not reported yet (by name), after the commands of those with
    new articles were run."""
    with Index(index) as ix:
        runs = [run_hook(ix, news, index) for news in ix.hook_news()]
        return ix.watch_counts(), [run for run in runs if run is not None]


def run_hook(ix: Index, news: WatchNews, index: Path | str) -> HookRun | None:
    """Give the watch's command its new articles (none: nothing is run); what it did."""
    if not news.hits:
        ix.hooked(news)
        return None
    lines = "".join(
        json.dumps(news_hit_json(news.watch, hit), ensure_ascii=False) + "\n" for hit in news.hits
    )
    environment = {**os.environ, "SEARCHIDX_WATCH": news.watch.name, "SEARCHIDX_INDEX": str(index),
                   "SEARCHIDX_NEW": str(news.total)}  # fmt: skip
    import subprocess  # only an ingest whose watches have commands runs one

    failure = ""
    try:
        done = subprocess.run(news.watch.hook, shell=True, input=lines.encode("utf-8"), env=environment,
                              stdout=sys.stderr.fileno(), timeout=HOOK_SECONDS, check=False)  # fmt: skip
        if done.returncode != 0:
            failure = f"it exited with {done.returncode}"
    except subprocess.TimeoutExpired:
        failure = f"it was still running after {HOOK_SECONDS} s and was stopped"
    except OSError as error:
        failure = f"it could not be started ({error.strerror or error})"
    if not failure:
        ix.hooked(news)
    return HookRun(news.watch.name, news.total, failure)


def hook_failure_text(run: HookRun) -> str:
    """What the ingest says of a watch's command that failed."""
    return (f"watch {run.watch}: its command failed ({run.failure}); it is given its "
            f"{plural(run.articles, 'new article')} again after the next ingest")  # fmt: skip


def news_hit_json(watch: Watch, hit: Hit) -> dict[str, Any]:
    """One new article of a watch as JSON: the hit's fields, and the watch's name first."""
    return {"watch": watch.name, **hit_json(hit)}


def watch_json(watch: Watch, new: int | None = None) -> dict[str, Any]:
    """A watch as JSON (``new``: how many articles it has not reported, when known)."""
    shown: dict[str, Any] = {"name": watch.name, "query": watch.query, "options": dict(watch.options),
                             "command": watch.hook or None, "made": watch.made or None}  # fmt: skip
    if new is not None:
        shown["new"] = new
    return shown


def watch_text(watch: Watch, new: int) -> str:
    """A watch on one line: name, query, filters, new articles, command."""
    options = ", ".join(
        f"--{key} {value}" if key != "undated" else "--undated" for key, value in watch.options
    )
    filters = f" [{options}]" if options else ""
    command = f" (runs: {watch.hook})" if watch.hook else ""
    return terminal_safe(f"{watch.name}: {watch.query!r}{filters}: {plural(new, 'new article')}{command}")


@click.group("watch")
def watch_group() -> None:
    """Saved searches that report what each ingest brought (add, list, rm, news)."""


@watch_group.command("add")
@click.argument("name")
@click.argument("words", nargs=-1, required=True)
@index_option
@click.option("--since", metavar="WHEN", help="Only articles dated on or after WHEN (read when it reports).")
@click.option("--until", metavar="WHEN", help="Only articles dated on or before WHEN.")
@click.option("--undated", is_flag=True, help="Only articles without a date.")
@click.option("--source", metavar="SITE", help="Only articles from this site and its hosts.")
@click.option("--mode", type=click.Choice(list(MODES)),
              help="How it matches: keyword, by its words (the only way a watch can match).")  # fmt: skip
@click.option("--exec", "hook", metavar="COMMAND",
              help="Run COMMAND after each ingest that brings new articles, with them on its standard input "
              "as JSON Lines.")  # fmt: skip
def watch_add(name: str, words: tuple[str, ...], index: Path | str, since: str | None, until: str | None,
              undated: bool, source: str | None, mode: str | None, hook: str | None) -> None:  # fmt: skip
    """Save the search WORDS as the watch NAME: the articles the next ingests bring that match it are its
    news (`searchidx watch news NAME`)."""
    if undated and (since or until):
        raise click.UsageError("--undated cannot be used with --since or --until; choose one.")
    if hook is not None and not hook.strip():
        raise click.UsageError("--exec needs a command to run, e.g. --exec 'cat >> news.jsonl'.")
    query = " ".join(words)
    with Index(index) as ix:
        watch = ix.watch(name, query, since=since, until=until, undated=undated, source=source, mode=mode,
                         hook=hook or "")  # fmt: skip
        for note in ix.query_notes(query):  # what it will search differs from what was typed
            click.echo(note, err=True)
    click.echo(f"watching {watch.name}: the matching articles of the next ingests are its news "
               f"(`searchidx watch news {watch.name}`)")  # fmt: skip


@watch_group.command("list")
@index_option
@json_option
def watch_list(index: Path | str, as_json: bool) -> None:
    """List the watches, each with the number of new articles it has not reported yet."""
    with Index(index) as ix:
        watches, counts = ix.watches(), ix.watch_counts()
    if as_json:
        listed = [watch_json(watch, counts.get(watch.name, 0)) for watch in watches]
        click.echo(json.dumps({"watches": listed}, ensure_ascii=False, indent=2))
        return
    for watch in watches:
        click.echo(watch_text(watch, counts.get(watch.name, 0)))
    if not watches:
        click.echo("no watches: `searchidx watch add NAME WORDS` saves one", err=True)


@watch_group.command("rm")
@click.argument("name")
@index_option
def watch_rm(name: str, index: Path | str) -> None:
    """Forget the watch NAME."""
    with Index(index) as ix:
        ix.unwatch(name)
    click.echo(f"removed the watch {name}")


@watch_group.command("news")
@click.argument("name", required=False)
@index_option
@click.option("--peek", is_flag=True, help="Show the new articles without marking them reported.")
@click.option("--snippets", type=click.IntRange(0, MAX_SNIPPETS), default=2, show_default=True,
              help="Fragments of text shown per article (0: none).")  # fmt: skip
@json_option
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON article per line.")
@click.option("--csv", "as_csv", is_flag=True,
              help="Print CSV: watch, then the columns of query --csv.")  # fmt: skip
def watch_news(name: str | None, index: Path | str, peek: bool, snippets: int, as_json: bool, as_jsonl: bool,
               as_csv: bool) -> None:  # fmt: skip
    """List what each watch (or NAME) has not reported yet, newest first, and mark it reported (unless
    --peek): its matches among the articles the ingests since brought. Exit 1 when there are none."""
    if sum((as_json, as_jsonl, as_csv)) > 1:
        raise click.UsageError("--json, --jsonl and --csv cannot be used together; choose one output format.")
    with Index(index) as ix:
        news = ix.watch_news(name, peek=True, snippets=snippets)
        _print_listing(news, as_json, as_jsonl, as_csv)
        if not peek:  # only once all of it was printed (`watch news | head` leaves the rest new)
            ix.reported(*news)
    click.echo(_news_footer(news, name), err=True)
    if not any(each.hits for each in news):
        sys.exit(1)


def _print_listing(news: list[WatchNews], as_json: bool, as_jsonl: bool, as_csv: bool) -> None:
    if as_json:
        click.echo(json.dumps({"watches": [news_json(each) for each in news]}, ensure_ascii=False, indent=2))
    elif as_jsonl:
        for each in news:
            for hit in each.hits:
                click.echo(json.dumps(news_hit_json(each.watch, hit), ensure_ascii=False))
    elif as_csv:
        from searchidx.outputs.exports import HIT_COLUMNS, csv_text, hit_rows

        rows = [["watch", *HIT_COLUMNS]]
        for each in news:
            rows += [[each.watch.name, *row] for row in list(hit_rows(each.hits))[1:]]  # the names are safe
        click.echo(csv_text(rows), nl=False)
    else:
        _print_news(news)


def news_json(news: WatchNews) -> dict[str, Any]:
    """A watch's news as JSON: the watch, how many new articles, and each of them."""
    return {**watch_json(news.watch), "total": news.total, "hits": [hit_json(hit) for hit in news.hits]}


def _print_news(news: list[WatchNews]) -> None:
    for each in news:
        if not each.hits:
            continue
        click.echo(terminal_safe(f"== {each.watch.name}: {plural(each.total, 'new article')} "
                                 f"({each.watch.query!r})"))  # fmt: skip
        for hit in each.hits:
            click.echo(hit_text(hit, ("", "")))


def _news_footer(news: list[WatchNews], name: str | None) -> str:
    """What ``watch news`` says at the end, on stderr: how many new articles (each once), for which."""
    with_news = [each for each in news if each.hits]
    if not news:
        return "no watches: `searchidx watch add NAME WORDS` saves one"
    if name is not None:
        found = plural(news[0].total, "new article") if with_news else "no new articles"
        return f"{found} for the watch {name}"
    if not with_news:
        return f"no new articles for {plural(len(news), 'watch', 'watches')}"
    listed = sum(each.total for each in with_news)
    articles = len({hit.id for each in with_news for hit in each.hits})
    several = f" ({listed:,} listed: an article once for each watch it matches)" if listed != articles else ""
    return (f"{plural(articles, 'new article')} for {plural(len(with_news), 'watch', 'watches')} of "
            f"{len(news)}{several}")  # fmt: skip
