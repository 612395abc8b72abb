"""How results, documents, statistics and ingest reports look: as terminal text and as JSON.

The JSON forms are what ``--json`` prints; they hold plain text only (offsets
mark the matches), never terminal escape codes. The terminal forms remove any
control character a document may contain before adding marks of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from searchidx import IngestReport
from searchidx.errors import plural, terminal_safe
from searchidx.results import Article, Hit, MarkedText, Results, Series, Stats, Trend, Version

if TYPE_CHECKING:
    from searchidx.results import CheckReport

NO_MARKS = ("", "")
NO_SITE = "no site"  # versions without a URL, beside others with one
# How the matches were ranked, after the count of them, when not by their words alone.
RANKED = {
    "keyword": "",
    "hybrid": ", ranked by words and meaning",
    "semantic": ", best matches ranked by meaning",
}


def safe_marked(text: MarkedText, marks: tuple[str, str]) -> str:
    """The text with its highlights marked, its own control characters removed first."""
    return text.marked(*marks, escape=terminal_safe)


def hit_text(hit: Hit, marks: tuple[str, str]) -> str:
    """One hit for people: rank and title; date, source and URL (or path); snippet."""
    title = safe_marked(MarkedText(hit.title, hit.title_highlights), marks) or "(untitled)"
    details = [date_text(hit.date, hit.crawled)]
    details += [hit.source] if hit.source else []
    details.append(hit.url or location(hit.path, hit.record))
    details += ["found by meaning (none of the words)"] if hit.by_meaning else []
    details += ["related: like the best matches (none of the words)"] if hit.related else []
    lines = [f"{hit.rank}. {title}", "   " + terminal_safe(" · ".join(details))]
    if hit.snippet:
        lines.append("   " + safe_marked(MarkedText(hit.snippet, hit.highlights), marks))
    if hit.versions:
        lines.append("   " + terminal_safe(versions_text(hit)))
    return "\n".join(lines) + "\n"


def versions_text(hit: Hit) -> str:
    """'and 3 other versions: bbc.co.uk, reuters.com (2)' (their sites), or 'and 2 other versions'."""
    sites: dict[str, int] = {}
    for version in hit.versions:
        sites[version.source or NO_SITE] = sites.get(version.source or NO_SITE, 0) + 1
    said = f"and {plural(len(hit.versions), 'other version')}"
    if list(sites) == [NO_SITE]:
        return said
    return f"{said}: " + ", ".join(
        site if count == 1 else f"{site} ({count})" for site, count in sites.items()
    )


def location(path: str, record: str) -> str:
    """Where an article without a URL is: its file, and its record's id in a file of several."""
    return f"{path} (id {record})" if record else path


def facets_text(facets: dict[str, dict[str, int]]) -> str:
    """Facet counts for people, one line per facet."""
    return "\n".join(
        f"{name}: " + ", ".join(f"{terminal_safe(value)} ({count:,})" for value, count in counts.items())
        for name, counts in facets.items()
    )


def total_text(results: Results) -> str:
    """'243', or 'about 12,300' when the total is an estimate (three significant digits)."""
    if results.total_is_exact:
        return f"{results.total:,}"
    digits = max(0, len(str(results.total)) - 3)
    return f"about {round(results.total, -digits):,}"


def footer_text(results: Results) -> str:
    """'showing 1-10 of 243 in 0.012 s (use --page/--limit)', or '... of 3 and 7 related articles ...'."""
    more = " (use --page/--limit)" if results.offset + len(results) < results.total else ""
    return f"{showing_text(results)} in {results.took:.3f} s{more}"


def showing_text(results: Results) -> str:
    """'showing 1-10 of 243', 'showing 1-3 of 3 and 7 related articles', '... and 7 found by meaning'
    (a page with hits), with how the matches were ranked when not by their words alone."""
    first, last = results.offset + 1, results.offset + len(results)
    return (
        f"showing {first}-{last} of {counted_text(results)}{_following_text(results)}{RANKED[results.mode]}"
    )


def counted_text(results: Results) -> str:
    """'243', or '77 articles, 61 stories' when some articles are versions of one story; 'about 12,300'."""
    if results.stories is None or results.stories == results.total:
        return total_text(results)
    return f"{plural(results.total, 'article')}, {plural(results.stories, 'story', 'stories')}"


def no_match_text(results: Results) -> str:
    """What to say when nothing matches: no article holds the words (and what follows, by meaning)."""
    if results.found_by_meaning:
        nearest = plural(len(results.found_by_meaning), "article")
        return f"no article holds these words; {nearest} nearest in meaning shown (none of the words)"
    return "no article holds these words" if results.mode != "keyword" else "no matches"


def _following_text(results: Results) -> str:
    """' and 7 related articles', ' and 7 found by meaning', or nothing."""
    if results.related:
        return f" and {plural(len(results.related), 'related article')}"
    if results.found_by_meaning:
        return f" and {len(results.found_by_meaning):,} found by meaning"
    return ""


def rewrite_notes(results: Results, exact_hint: str = "search with exact") -> list[str]:
    """Each way the query searched differs from the one typed, a sentence each (stderr, JSON, the page)."""
    notes = list(results.notes)
    if results.corrected and results.suggestion:
        notes.append(
            f"showing results for: {results.suggestion} (to search the words as typed, {exact_hint})"
        )
    if results.approximate:
        notes.append("no exact matches; showing approximate (fuzzy) matches")
    return notes


def past_last_page_text(results: Results) -> str:
    """What to say when the page asked for lies past the last hit."""
    matches = f"{results.total:,} match{'es' * (results.total != 1)}"
    return f"page {results.page:,} is past the last page: {matches} fill {plural(results.pages, 'page')}"


def results_json(results: Results) -> dict[str, Any]:
    """The ``--json`` document of a query."""
    return {
        "query": results.query,
        "parsed_query": results.parsed_query,
        "plain_words": results.plain_words,
        "total": results.total,
        "total_is_exact": results.total_is_exact,
        "stories": results.stories,
        "grouped": results.grouped,
        "took_ms": round(results.took * 1000, 3),
        "page": results.page,
        "limit": results.limit,
        "offset": results.offset,
        "pages": results.pages,
        "suggestion": results.suggestion,
        "corrected": results.corrected,
        "approximate": results.approximate,
        "undated_left_out": results.undated_left_out,
        "mode": results.mode,
        "facets": results.facets,
        "notes": rewrite_notes(results),
        "hits": [hit_json(hit) for hit in results],
        "related": [hit_json(hit) for hit in results.related],
        "found_by_meaning": [hit_json(hit) for hit in results.found_by_meaning],
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    """One hit as JSON (also one line of ``--jsonl``)."""
    return {
        "rank": hit.rank,
        "id": hit.id,
        "title": hit.title,
        "title_highlights": [list(span) for span in hit.title_highlights],
        "date": hit.date.isoformat() if hit.date else None,
        "url": hit.url,
        "source": hit.source,
        "path": hit.path,
        "record": hit.record or None,
        "crawled": hit.crawled.isoformat() if hit.crawled else None,
        "story": hit.story,
        "versions": [version_json(version) for version in hit.versions],
        "score": round(hit.score, 6),
        "by_meaning": hit.by_meaning,
        "related": hit.related,
        "snippet": hit.snippet,
        "highlights": [list(span) for span in hit.highlights],
        "snippets": [
            {"text": fragment.text, "highlights": [list(span) for span in fragment.highlights]}
            for fragment in hit.snippets
        ],
    }


def version_json(version: Version | Article) -> dict[str, Any]:
    """Another version of a hit's story (or the same of an article), as JSON."""
    return {
        "id": version.id,
        "title": version.title,
        "date": version.date.isoformat() if version.date else None,
        "url": version.url,
        "source": version.source,
        "path": version.path,
    }


def trend_json(trend: Trend) -> dict[str, Any]:
    """The ``trend --json`` document (and ``/api/trend``): the periods, then each query's series."""
    return {
        "by": trend.unit,
        "counted": trend.counted,
        "periods": [
            {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
             f"dated_{trend.counted}": articles}
            for period, articles in zip(trend.periods, trend.articles, strict=True)
        ],
        "series": [series_json(series) for series in trend.series],
    }  # fmt: skip


def series_json(series: Series) -> dict[str, Any]:
    """One query's series: counts and shares per period, undated matches, total, top words and sources.

    The share of a period without any dated article is ``null``: a share of nothing is undefined.
    """
    return {
        "query": series.query,
        "searched": series.searched,
        "total": series.total,
        "dated": series.dated,
        "undated": series.undated,
        "counts": list(series.counts),
        "shares": [None if share is None else round(share, 6) for share in series.shares],
        "top_words": [
            {"word": word.word, "matching": word.matching, "sampled": word.sampled, "archive": word.archive,
             "log_likelihood": round(word.score, 3)}
            for word in series.top_words
        ],
        "top_sources": [{"source": source, "matches": count} for source, count in series.top_sources],
    }  # fmt: skip


def date_text(date: datetime | None, crawled: datetime | None) -> str:
    """'2024-03-01', or 'no date' ('no date, crawled 2024-03-02' for a page from a web archive)."""
    if date is not None:
        return date.strftime("%Y-%m-%d")
    return f"no date, crawled {crawled:%Y-%m-%d}" if crawled is not None else "no date"


def article_text(article: Article) -> str:
    """A stored document in full, for people (and ``| less``)."""
    details = [date_text(article.date, article.crawled)]
    details += [item for item in (article.source, article.url) if item]
    head = [
        article.title or "(untitled)",
        " · ".join(details),
        f"id {article.id} · {location(article.path, article.record)}",
    ]
    paragraphs = "\n\n".join(terminal_safe(part) for part in article.body.split("\n\n"))
    return "\n".join(terminal_safe(line) for line in head) + "\n\n" + paragraphs + "\n"


def article_json(article: Article) -> dict[str, Any]:
    """A stored document as JSON."""
    return {
        **version_json(article),
        "record": article.record or None,
        "crawled": article.crawled.isoformat() if article.crawled else None,
        "body": article.body,
    }


def stats_text(stats: Stats) -> str:
    """Index statistics for people."""
    span = (
        f"{stats.first_date:%Y-%m-%d} to {stats.last_date:%Y-%m-%d}"
        if stats.first_date and stats.last_date
        else "no dates"
    )
    lines = [
        f"index           {stats.path}",
        f"documents       {stats.documents:,}",
        f"stories         {stats.stories:,}",
        f"dates           {span}",
        "per year        " + ", ".join(f"{year} ({count:,})" for year, count in stats.per_year.items()),
        "top sources     "
        + ", ".join(f"{terminal_safe(name)} ({count:,})" for name, count in stats.top_sources.items()),
        f"size on disk    {stats.size_bytes / 1_000_000:,.1f} MB"
        if stats.cluster is None
        else f"size            {stats.size_bytes / 1_000_000:,.1f} MB (primaries)",
        f"last ingest     {time_text(stats.last_ingest)}",
        f"schema version  {stats.schema_version or 'unknown'}",
    ]
    if stats.cluster:
        info = stats.cluster
        lines[1:1] = [
            f"backend         OpenSearch cluster {terminal_safe(info['name'])}: {info['health']}, "
            f"{plural(int(info['nodes']), 'node')}",
            f"layout          {plural(int(info['shards']), 'shard')} x {info['replicas']} "
            f"{'replica' if info['replicas'] == '1' else 'replicas'}",
        ]
    return "\n".join(lines)


def time_text(stamp: str | None) -> str:
    """An ISO 8601 time as people read it, to the second, in UTC: '2026-12-06 07:12:03 UTC' (or 'unknown')."""
    if not stamp:
        return "unknown"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return terminal_safe(stamp)
    if moment.tzinfo is None:  # searchidx writes UTC times
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def stats_json(stats: Stats) -> dict[str, Any]:
    """Index statistics as JSON."""
    return {
        "index": str(stats.path),
        "documents": stats.documents,
        "stories": stats.stories,
        "first_date": stats.first_date.isoformat() if stats.first_date else None,
        "last_date": stats.last_date.isoformat() if stats.last_date else None,
        "per_year": stats.per_year,
        "top_sources": stats.top_sources,
        "size_bytes": stats.size_bytes,
        "last_ingest": stats.last_ingest,
        "schema_version": stats.schema_version,
        "backend": stats.backend,
        "cluster": stats.cluster,
    }


def check_text(report: CheckReport) -> str:
    """What ``searchidx check`` found, in plain words."""
    segments = plural(report.segments, report.part)
    read = f"{plural(report.documents, 'document')} in {segments}"
    if report.healthy:
        return (f"{report.path}: healthy. {read} read in full; the ingest records agree "
                f"({report.seconds:.1f} s).")  # fmt: skip
    problems = "\n".join(f"  - {problem}" for problem in report.problems)
    found = plural(len(report.problems), "problem")
    return f"{report.path}: {found} ({read} read).\n{problems}\n{report.advice}"


def check_json(report: CheckReport) -> dict[str, Any]:
    """The ``check --json`` report."""
    return {
        "index": str(report.path),
        "healthy": report.healthy,
        "segments": report.segments,
        "documents": report.documents,
        "recorded": report.recorded,
        "problems": list(report.problems),
        "advice": report.advice,
        "seconds": round(report.seconds, 3),
    }


def ingest_text(report: IngestReport) -> str:
    """The two summary lines of an ingest."""
    files = plural(report.files, "file")
    passed_over = report.passed_over
    ignored = f"; {passed_over} ignored" if passed_over else ""
    if report.truncated:
        ignored += f"; {len(report.truncated):,} too long, indexed in part"
    if report.passed_records:
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in report.passed_records)
        passed = sum(count for _, count in report.passed_records)
        ignored += f"; {plural(passed, 'archive record')} without an article passed over: {kinds}"
    embedded = f"; {plural(report.embedded, 'vector')} made " if report.embedded else " "
    return (
        f"{report.added:,} added, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.removed:,} removed, {len(report.duplicates):,} duplicates, {len(report.skipped):,} skipped "
        f"({plural(report.records, 'record')} in {files}{ignored})\n"
        f"{report.index} holds {plural(report.total, 'document')}{_stories_of(report)}, "
        f"{report.undated:,} without a date"
        f"{embedded}({report.seconds:,.1f} s)"
    )


def _stories_of(report: IngestReport) -> str:
    """' (2,480 stories)' when some documents are versions of one story, else nothing."""
    if report.stories is None or report.stories == report.total:
        return ""
    return f" ({plural(report.stories, 'story', 'stories')})"


def ingest_json(report: IngestReport) -> dict[str, Any]:
    """The ``ingest --json`` summary."""
    return {
        "index": str(report.index),
        "files": report.files,
        "ignored": report.ignored,
        "ignored_folders": report.ignored_folders,
        "folder_documents": len(report.folder_documents),
        "archive_records_passed_over": dict(report.passed_records),
        "records": report.records,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "duplicates": len(report.duplicates),
        "skipped": len(report.skipped),
        "embedded": report.embedded,
        "total": report.total,
        "stories": report.stories,
        "undated": report.undated,
        "seconds": round(report.seconds, 3),
        "skipped_items": [{"location": item.location, "reason": item.reason} for item in report.skipped],
        "folder_document_items": list(report.folder_documents),
        "duplicate_items": [{"location": item.location, "of": item.of} for item in report.duplicates],
        "truncated_items": [
            {"location": item.location, "characters": item.characters, "indexed": item.kept}
            for item in report.truncated
        ],
    }
