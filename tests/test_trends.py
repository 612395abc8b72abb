"""Attention over time: periods, counts and shares, comparison, top words, and the CSV exports."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx import Index, IngestReport, ingest
from searchidx.errors import QueryError
from searchidx.outputs.charts import BLOCKS
from searchidx.outputs.cli import cli
from searchidx.outputs.exports import csv_text, hit_rows, spreadsheet_safe
from searchidx.results import Hit, Unit
from searchidx.searching.trends import _period_count, choose_unit, log_likelihood, periods_between
from tests.conftest import write_article

# (file, title, body, date, url): the dates the tests count by hand.
ARTICLES = [
    ("a1.txt", "Flood closes the harbour", "The flood closed the harbour and the river port.", "2020-01-03", "https://a.example/1"),
    ("a2.txt", "Harbour reopens after flood", "Boats returned to the harbour as the flood receded.", "2020-01-20", "https://a.example/2"),
    ("a3.txt", "Budget vote delayed", "The council delayed the budget vote again.", "2020-01-21", "https://b.example/3"),
    ("a4.txt", "Flood warning for the valley", "A flood warning was issued for the valley farms.", "2020-03-02", "https://b.example/4"),
    ("a5.txt", "Budget passes", "The budget passed after a long night of debate.", "2020-03-15", "https://a.example/5"),
    ("a6.txt", "Festival in the valley", "The valley festival drew large crowds this year.", "2020-03-16", "https://a.example/6"),
    ("a7.txt", "Undated flood memories", "Old farmers remember the great flood of the valley.", "", ""),
    ("a8.txt", "Harbour tax debate", "The harbour tax debate continued in the council.", "2020-05-05", "https://b.example/8"),
]  # fmt: skip


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trends") / "articles"
    for name, title, body, when, url in ARTICLES:
        write_article(folder, name, title, body, date=when, url=url)
    index = folder.parent / "index"
    ingest(folder, index=index)
    return index


def by_hand(word: str, source: str | None = None) -> tuple[Counter[str], int]:
    """Matches of one word per month, and undated matches, counted from ARTICLES."""
    months: Counter[str] = Counter()
    undated = 0
    for _, title, body, when, url in ARTICLES:
        if source and source not in url:
            continue
        if word in f"{title} {body}".lower():
            if when:
                months[when[:7]] += 1
            else:
                undated += 1
    return months, undated


def test_periods_cover_the_span_without_gaps() -> None:
    months = periods_between(date(2019, 11, 20), date(2020, 2, 3), "month")
    assert [period.label for period in months] == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert months[0].start == date(2019, 11, 1)
    assert months[-1].end == date(2020, 2, 29)
    weeks = periods_between(date(2020, 12, 30), date(2021, 1, 12), "week")
    assert [period.start for period in weeks] == [date(2020, 12, 28), date(2021, 1, 4), date(2021, 1, 11)]
    assert [period.label for period in weeks] == ["2020-W53", "2021-W01", "2021-W02"]
    for earlier, later in itertools.pairwise(weeks):
        assert (later.start - earlier.end).days == 1


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_periods_are_counted_as_they_are_listed(unit: Unit) -> None:
    spans = [(date(2020, 1, 1), date(2020, 1, 1)), (date(2019, 12, 30), date(2021, 1, 4)),
             (date(2016, 2, 29), date(2020, 3, 1)), (date(1999, 7, 4), date(2000, 1, 2))]  # fmt: skip
    for first, last in spans:
        assert _period_count(first, last, unit) == len(periods_between(first, last, unit))


def test_the_unit_is_the_finest_that_keeps_the_chart_readable() -> None:
    assert choose_unit(date(2020, 1, 1), date(2020, 1, 31)) == "day"
    assert choose_unit(date(2020, 1, 1), date(2020, 6, 30)) == "week"
    assert choose_unit(date(2020, 1, 1), date(2022, 12, 31)) == "month"
    assert choose_unit(date(1990, 1, 1), date(2020, 12, 31)) == "year"


def test_log_likelihood_matches_dunnings_formula_by_hand() -> None:
    # A word in 10 of 20 sampled articles and in 90 of 980 others.
    expected = 2 * (
        10 * math.log(10 / (20 * 100 / 1000))
        + 10 * math.log(10 / (20 * 900 / 1000))
        + 90 * math.log(90 / (980 * 100 / 1000))
        + 890 * math.log(890 / (980 * 900 / 1000))
    )
    assert log_likelihood(10, 20, 90, 980) == pytest.approx(expected)
    assert log_likelihood(2, 20, 98, 980) == pytest.approx(0.0)  # the same rate inside and out


def test_series_add_up_to_the_exact_total_and_shares_use_the_period_s_articles(archive: Path) -> None:
    with Index(archive) as ix:
        trend = ix.trend("flood", by="month")
        total = ix.search("flood", exact_total=True).total
    (series,) = trend.series
    months, undated = by_hand("flood")
    assert series.total == total == sum(months.values()) + undated
    assert series.undated == undated == 1
    assert [period.label for period in trend.periods] == ["2020-01", "2020-02", "2020-03"]
    assert list(series.counts) == [
        months["2020-01"],
        0,
        months["2020-03"],
    ]  # an empty month is 0, not missing
    all_dated = Counter(when[:7] for *_, when, _ in ARTICLES if when)
    assert list(trend.articles) == [all_dated["2020-01"], 0, all_dated["2020-03"]]
    assert list(series.shares) == pytest.approx([2 / 3, None, 1 / 3])  # no article in February


def test_compared_queries_share_the_periods_and_each_counts_its_own(archive: Path) -> None:
    with Index(archive) as ix:
        trend = ix.trend(["harbour", "budget"], by="month")
    assert [period.label for period in trend.periods] == [
        "2020-01",
        "2020-02",
        "2020-03",
        "2020-04",
        "2020-05",
    ]
    harbour, budget = trend.series
    assert len(harbour.counts) == len(budget.counts) == len(trend.periods)
    assert list(harbour.counts) == [2, 0, 0, 0, 1]
    assert list(budget.counts) == [1, 0, 1, 0, 0]


def test_a_source_filter_counts_shares_against_that_source_s_articles(archive: Path) -> None:
    with Index(archive) as ix:
        trend = ix.trend("flood", by="month", source="a.example")
    months, _ = by_hand("flood", source="a.example")
    assert list(trend.series[0].counts) == [months["2020-01"]]
    assert trend.articles == (2,)  # a1 and a2 are a.example's January articles; b3 is not
    assert trend.series[0].shares == (1.0,)


def test_since_and_until_set_the_span_and_the_automatic_unit(archive: Path) -> None:
    with Index(archive) as ix:
        trend = ix.trend("valley", since="2020-03-01", until="2020-03-31")
    assert trend.unit == "day"
    assert trend.periods[0].start == date(2020, 3, 1)
    assert trend.periods[-1].end == date(2020, 3, 31)
    assert sum(trend.series[0].counts) == 2  # a4, a6; the undated a7 is outside any date filter
    assert trend.series[0].undated == 0


def test_top_words_of_the_matches_come_first_by_significance(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for number in range(12):
        write_article(folder, f"v{number}.txt", f"Volcano report {number}",
                      "The volcano erupted; lava and ash covered the island.",
                      date=f"2021-02-{number + 1:02d}")  # fmt: skip
    for number in range(40):
        write_article(folder, f"o{number}.txt", f"Market report {number}",
                      "Shares rose on the island exchange as the report covered trade.",
                      date=f"2021-02-{number % 28 + 1:02d}")  # fmt: skip
    ingest(folder, index=tmp_path / "index")
    with Index(tmp_path / "index") as ix:
        (series,) = ix.trend("volcano", words=4).series
    words = [word.word for word in series.top_words]
    assert words == ["ash", "erupted", "lava", "volcano"]  # in every match, in nothing else: ties by name
    assert "island" not in words
    assert "report" not in words
    assert all(word.matching == 12 and word.archive == 12 for word in series.top_words)


def test_top_sources_are_the_facet_counts(archive: Path) -> None:
    with Index(archive) as ix:
        (series,) = ix.trend("harbour", sources=5).series
    assert series.top_sources == (("a.example", 2), ("b.example", 1))


def test_a_chart_of_too_many_periods_is_refused_with_what_to_do(archive: Path) -> None:
    with Index(archive) as ix, pytest.raises(QueryError, match="choose a longer period"):
        ix.trend("flood", by="day", since="1900", until="2020")
    with Index(archive) as ix:
        assert len(ix.trend("flood", by="year", since="1900", until="2020").periods) == 121


def test_bad_trend_options_are_one_clear_error(archive: Path) -> None:
    with Index(archive) as ix, pytest.raises(QueryError, match="day, week, month or year"):
        ix.trend("flood", by="hour")  # type: ignore[arg-type]
    with Index(archive) as ix, pytest.raises(QueryError, match="one or more queries"):
        ix.trend([])


def test_the_cli_chart_is_plain_text_when_piped_and_json_and_csv_say_the_same(archive: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(cli, ["trend", "flood", "budget", "--by", "month", "--index", str(archive)])
    assert text.exit_code == 0, text.output
    assert "\x1b[" not in text.output
    rows = [line for line in text.output.splitlines() if line.startswith("2020-")]
    assert [row.split()[0] for row in rows] == ["2020-01", "2020-02", "2020-03"]
    assert "█" in rows[0]
    assert "66.7%" in rows[0]
    assert "1 without a date (not charted)" in text.output
    shown = json.loads(
        runner.invoke(cli, ["trend", "flood", "--by", "month", "--json", "--index", str(archive)]).output
    )
    assert shown["series"][0]["counts"] == [2, 0, 1]
    assert shown["series"][0]["total"] == 4
    assert [period["dated_articles"] for period in shown["periods"]] == [3, 0, 3]
    table = runner.invoke(cli, ["trend", "flood", "--by", "month", "--csv", "--index", str(archive)]).output
    parsed = list(csv.reader(io.StringIO(table)))
    assert parsed[0] == ["query", "period", "start", "end", "matches", "share", "dated_articles"]
    assert [row[4] for row in parsed[1:]] == ["2", "0", "1", "1"]  # the last row: the undated match
    assert parsed[-1][1] == "(no date)"


NO_ARTICLES_LEGEND = "– : no dated article in the archive that month, so no share"


def test_a_month_without_any_dated_article_has_no_share_not_a_share_of_0(archive: Path) -> None:
    with Index(archive) as ix:  # the archive holds no dated article in February
        trend = ix.trend(["flood", "harbour"], by="month")
    assert [period.label for period in trend.periods] == [f"2020-0{month}" for month in range(1, 6)]
    assert list(trend.articles) == [3, 0, 3, 0, 1]
    flood, harbour = trend.series
    assert list(flood.counts) == [2, 0, 1, 0, 0]  # a count over no articles is still 0
    assert list(flood.shares) == pytest.approx([2 / 3, None, 1 / 3, None, 0.0])
    assert list(harbour.shares) == pytest.approx([2 / 3, None, 0.0, None, 1.0])


def test_the_cli_shows_an_undefined_share_as_a_dash_blank_and_null(archive: Path) -> None:
    runner = CliRunner()
    where = ["--by", "month", "--index", str(archive)]
    for share in ([], ["--share"]):
        text = runner.invoke(cli, ["trend", "flood", "budget", *where, *share])
        assert text.exit_code == 0, text.output
        lines = [line.split() for line in text.output.splitlines() if line.startswith("2020-")]
        rows = {label: [cell for cell in cells if not set(cell) <= set(BLOCKS)] for label, *cells in lines}
        assert rows["2020-02"] == ["0", "–", "0", "–"]  # the count, and no share
        assert rows["2020-01"] == ["2", "66.7%", "1", "33.3%"]
        assert NO_ARTICLES_LEGEND in text.output.splitlines()
    every_month_dated = runner.invoke(cli, ["trend", "flood", *where, "--source", "a.example"]).output
    assert "–" not in every_month_dated  # the legend says it only when a period has no article
    table = runner.invoke(cli, ["trend", "flood", *where, "--csv"]).output
    february = next(row for row in csv.reader(io.StringIO(table)) if row[1] == "2020-02")
    assert february == ["flood", "2020-02", "2020-02-01", "2020-02-29", "0", "", "0"]
    shown = json.loads(runner.invoke(cli, ["trend", "flood", *where, "--json"]).output)
    assert shown["series"][0]["shares"] == [0.666667, None, 0.333333]
    assert shown["series"][0]["counts"] == [2, 0, 1]


def test_a_query_with_no_matches_charts_nothing_and_exits_1(archive: Path) -> None:
    result = CliRunner().invoke(cli, ["trend", "zeppelin", "--index", str(archive)])
    assert result.exit_code == 1
    assert "no dated matches to chart" in result.output


HOSTILE_TITLE = '=HYPERLINK("x"), "quoted", and a comma'


def test_a_csv_cell_with_commas_quotes_newlines_and_a_formula_round_trips_as_text() -> None:
    title = '=cmd|"/c calc"!A1, "quoted"\nand a second line'
    hit = Hit(rank=1, id="x", title=title, date=datetime(2020, 1, 2, tzinfo=UTC), url="https://a.example/x",
              source="a.example", path="x.txt", score=1.5, snippet="@risk +1 -2", highlights=())  # fmt: skip
    rows = list(csv.reader(io.StringIO(csv_text(hit_rows([hit])))))
    assert rows == [
        ["rank", "id", "date", "source", "title", "url", "path", "record", "score", "snippet"],
        ["1", "x", "2020-01-02", "a.example", "'" + title, "https://a.example/x", "x.txt", "", "1.5000",
         "'@risk +1 -2"],
    ]  # fmt: skip
    assert [spreadsheet_safe(text) for text in ("+1", "-1", "@a", "\tx", "plain", "")] == [
        "'+1", "'-1", "'@a", "'\tx", "plain", ""
    ]  # fmt: skip


def test_csv_of_hits_round_trips_and_defuses_formulas(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "h.txt", HOSTILE_TITLE, "A harbour story with +cells and -dashes.", date="2020-01-02",
                  url="https://a.example/h")  # fmt: skip
    write_article(folder, "i.txt", "Plain harbour", "Another harbour story.", date="2020-01-03")
    report: IngestReport = ingest(folder, index=tmp_path / "index")
    assert report.added == 2
    runner = CliRunner()
    for extra in ([], ["--all"]):
        output = runner.invoke(cli, ["query", "harbour", "--csv", *extra, "--index", str(tmp_path / "index")])
        assert output.exit_code == 0, output.output
        rows = list(csv.reader(io.StringIO(output.output)))
        assert rows[0] == [
            "rank",
            "id",
            "date",
            "source",
            "title",
            "url",
            "path",
            "record",
            "score",
            "snippet",
        ]
        by_title = {row[4]: row for row in rows[1:]}
        assert set(by_title) == {spreadsheet_safe(HOSTILE_TITLE), "Plain harbour"}
        assert spreadsheet_safe(HOSTILE_TITLE).startswith("'=")
        hostile = by_title[spreadsheet_safe(HOSTILE_TITLE)]
        assert hostile[2:4] == ["2020-01-02", "a.example"]
        assert hostile[5] == "https://a.example/h"
        plain = by_title["Plain harbour"]
        assert (plain[5], plain[6]) == (
            "",
            str((folder / "i.txt").resolve()),
        )  # no URL: the path has its column
        assert [row[0] for row in rows[1:]] == ["1", "2"]


def test_every_hit_exports_more_than_one_page(archive: Path) -> None:
    with Index(archive) as ix:
        every = list(ix.every_hit("flood OR harbour OR budget OR valley"))
        total = ix.search("flood OR harbour OR budget OR valley", exact_total=True).total
        first_page = ix.search("flood OR harbour OR budget OR valley", limit=3)
    assert len(every) == total == 8
    assert [hit.rank for hit in every] == list(range(1, 9))
    assert [hit.id for hit in every[:3]] == [hit.id for hit in first_page]


def test_all_without_csv_is_a_usage_error(archive: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "flood", "--all", "--index", str(archive)])
    assert result.exit_code == 2
    assert "--all goes with --csv" in result.output
