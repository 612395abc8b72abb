"""Related articles after the matches of a plain query that matches fewer than a page, on the demo corpus
and on a small archive written here."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx import Index, IngestReport, ingest
from searchidx.outputs.cli import cli
from searchidx.query.parsing import parse_query
from searchidx.results import Hit, Results
from searchidx.searching.related import (
    FEEDBACK_TERMS,
    MIN_LIKENESS,
    bo1,
    feedback_terms,
    likeness,
    plain_words,
)
from tests.conftest import write_article

# The demo corpus holds one article with "mlxx": MLX Corp's quarterly results, a table of figures
# like the other companies' results that follow it.
FEW = "mlxx"
RESULTS_LIKE_MLX = [
    "AMERICAN PACESETTER <AEC> 4TH QTR NET",
    "ADMAC INC <JPAC> 3RD QT JAN 31 LOSS",
    "SALEM CORP <SBS> 4TH QTR LOSS",
    "CTS CORP <CTS> 3RD QTR OPER NET",
    "MANGOOD CORP <MAB> YEAR OPER LOSS",
    "HOME FEDERAL OF THE ROCKIES <HROK> 4TH QTR LOSS",
    "GOLDEN VALLEY MICROWAVE <GVMF.O> 3RD QTR NET",
]
# (file, headline, date, text): the first woman in space, three more reports of her flight and the
# Vostok programme that do not name her, and ten articles on other things that share a few of her
# report's words (Soviet, Moscow, Tass, first, days, woman, flight, parachute...).
SPACE = [
    ("match.txt", "Soviet woman orbits the Earth", "June 16, 1963",
     "MOSCOW, June 16 - Valentina Tereshkova, a textile worker and amateur parachutist, became the first "
     "woman in space today when the Vostok 6 spacecraft lifted off from the Baikonur cosmodrome, Tass said. "
     "The Soviet news agency said the cosmonaut was in good health and that her Vostok capsule circled the "
     "Earth in orbit every 88 minutes.\n\nThe flight follows the launch of Vostok 5 with the cosmonaut "
     "Valery Bykovsky two days ago, and the two spacecraft passed within five kilometres of each other in "
     "orbit. Tereshkova will eject from the capsule and land by parachute after three days in orbit, Tass "
     "said. Moscow radio played music in her honour, and Soviet crowds gathered in Red Square in Moscow."),
    ("bykovsky.txt", "Bykovsky's Vostok 5 flight sets an endurance record", "June 19, 1963",
     "MOSCOW, June 19 - The cosmonaut Valery Bykovsky landed by parachute today after five days in orbit "
     "aboard the Vostok 5 spacecraft, the longest space flight yet, Tass said. His Vostok capsule came "
     "down in Kazakhstan.\n\nBykovsky shared the sky with the Vostok 6 spacecraft, launched from the "
     "Baikonur cosmodrome two days after him, and the two cosmonauts spoke by radio while in orbit around "
     "the Earth. The Soviet news agency said both cosmonauts were in good health."),
    ("landing.txt", "Vostok 6 capsule lands safely in Kazakhstan", "June 19, 1963",
     "KARAGANDA, June 19 - The Vostok 6 spacecraft returned to Earth today after three days and 48 orbits, "
     "Tass said. Its cosmonaut ejected from the capsule and landed by parachute near Karaganda, two hours "
     "after the cosmonaut Valery Bykovsky landed from Vostok 5. The first woman in space was in good "
     "health, the Soviet news agency said.\n\nThe two spacecraft had passed within five kilometres of each "
     "other in orbit. Both cosmonauts will be welcomed in Red Square in Moscow."),
    ("training.txt", "Cosmonauts train for longer orbits", "July 2, 1963",
     "BAIKONUR, July 2 - Soviet cosmonauts at the Baikonur cosmodrome are training for flights of a week "
     "or more in orbit around the Earth, Tass said. After the joint flight of Vostok 5 and Vostok 6, in "
     "which the two spacecraft passed within five kilometres of each other, the next capsule will carry "
     "three cosmonauts.\n\nThe cosmonauts of the Vostok flights ejected from the capsule and landed by "
     "parachute; the next spacecraft will land whole, the Soviet news agency said."),
    ("grain.txt", "Soviet grain imports rise", "June 12, 1963",
     "MOSCOW, June 12 - Soviet grain imports rose in May as the harvest fell short, Tass said. The Soviet "
     "Union bought wheat and maize from Canada, and traders said more purchases would follow within days."),
    ("textile.txt", "Textile workers strike in Lancashire", "June 14, 1963",
     "MANCHESTER, June 14 - Textile workers at four mills struck today over pay, the union said. A woman "
     "worker told reporters the strike would last three days. Mill owners said the stoppage would cut "
     "cloth output for the first time this year."),
    ("airline.txt", "Airline adds a Moscow flight", "June 10, 1963",
     "LONDON, June 10 - British European Airways said it would add a second weekly flight to Moscow from "
     "July, the first new route to the Soviet Union in five years. The airline said demand from business "
     "travellers had risen."),
    ("cocoa.txt", "Cocoa prices fall on a good harvest", "June 11, 1963",
     "LONDON, June 11 - Cocoa prices fell to their lowest in two years as the Ghana harvest came in ahead "
     "of forecasts, dealers said. Buyers held back, expecting further falls in the next days."),
    ("rates.txt", "Bundesbank raises its lombard rate", "June 13, 1963",
     "FRANKFURT, June 13 - The Bundesbank raised its lombard rate by half a point to curb the growth of "
     "the money supply, the first rise this year, dealers said."),
    ("flu.txt", "Soviet flu cases fall", "June 15, 1963",
     "MOSCOW, June 15 - The Soviet health ministry said flu cases fell in May, Tass reported. A ministry "
     "official said the first vaccine from a new plant would reach clinics within days."),
    ("steel.txt", "Steel output climbs", "June 9, 1963",
     "PITTSBURGH, June 9 - Steel output climbed two pct last week, the industry said, the first rise in a "
     "month. Mills ran at 80 pct of capacity."),
    ("parachutes.txt", "Parachute maker wins an army order", "June 8, 1963",
     "ELSINORE, Calif., June 8 - Pioneer Parachute said it won a 12 mln dlr order to make parachute "
     "harnesses for the army, its first order from the service. Deliveries start within 90 days."),
    ("women.txt", "Women join the labour force in record numbers", "June 7, 1963",
     "WASHINGTON, June 7 - A record number of women joined the labour force in May, the Labor "
     "Department said, the first time more than half of working-age women held jobs."),
    ("suez.txt", "A supertanker passes Suez", "June 6, 1963",
     "CAIRO, June 6 - The first supertanker in a year passed through the Suez Canal today, the canal "
     "authority said, two days after dredging ended."),
]  # fmt: skip


@pytest.fixture(scope="module")
def space_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("space")
    for name, title, date, body in SPACE:
        write_article(folder / "articles", name, title, body, date=date)
    ingest(folder / "articles", index=folder / "index")
    return folder / "index"


def stems_of(ix: Index, hit: Hit) -> set[str]:
    article = ix.get(hit.id)
    return {token.text for token in ix._analyzer(f"{article.title}\n{article.body}")}


def test_a_plain_query_matching_fewer_than_a_page_is_followed_by_related_articles(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        results = ix.search(FEW)
        alone = ix.search(FEW, related=False)
        assert results.total == len(results.hits) == 1
        assert results.hits == alone.hits
        assert results.total == alone.total
        assert not alone.related
        assert [hit.title for hit in results.related] == RESULTS_LIKE_MLX  # the 7 of 9 like enough
        assert [hit.rank for hit in results.related] == list(range(2, 9))
        assert all(hit.related for hit in results.related)
        assert not results.hits[0].related
        assert results.hits[0].id not in {hit.id for hit in results.related}
        for hit in results.related:  # none holds the query's word; each is a company's results, as the match
            assert "mlxx" not in stems_of(ix, hit)
            assert {"shr", "net"} <= stems_of(ix, hit)


def test_a_match_with_no_like_in_the_archive_is_followed_by_none(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    # The seed's one match; the Reuters articles of 1987 that share two of its words (China's foreign
    # debt, a Hong Kong loan, cocoa talks, a Soviet wheat subsidy) are not like it, and are not shown.
    index, _ = corpus_index
    with Index(index) as ix:
        results = ix.search("Putin parade")
    assert [hit.title for hit in results.hits] == ["President Putin to Visit China for World War II March"]
    assert [hit.title for hit in results.related] == []
    code, out, err = run("query", "Putin parade", "--index", index, "--snippets", "0")
    assert code == 0
    assert "related" not in out
    assert "CHINA FOREIGN DEBT" not in out
    assert "COCOA" not in out
    assert "showing 1-1 of 1 in" in err


def test_articles_on_the_subject_of_the_match_follow_it_and_no_others(space_index: Path) -> None:
    # Three reports of the same flight and programme follow the one report that names her; the ten
    # articles that share only "Soviet", "Moscow", "Tass", "first", "days" or "parachute" do not,
    # though each holds two of the words that stand out in the match.
    with Index(space_index) as ix:
        results = ix.search("Tereshkova")
    assert [hit.title for hit in results.hits] == ["Soviet woman orbits the Earth"]
    assert sorted(hit.title for hit in results.related) == [
        "Bykovsky's Vostok 5 flight sets an endurance record",
        "Cosmonauts train for longer orbits",
        "Vostok 6 capsule lands safely in Kazakhstan",
    ]
    assert [hit.rank for hit in results.related] == [2, 3, 4]


def test_likeness_is_the_cosine_of_rarity_weighted_words_without_the_query() -> None:
    def analyzer(text: str) -> list[object]:
        return [type("Token", (), {"text": word})() for word in text.split()]

    held = {"vostok": 2, "orbit": 3, "said": 90, "grain": 4, "tereshkova": 1}

    def frequencies(stems: Iterable[str]) -> dict[str, int]:
        return {stem: held[stem] for stem in stems}

    best = ["tereshkova vostok orbit said"]
    found = likeness(
        best,
        ["vostok orbit said", "grain said", "grain", "tereshkova grain", ""],
        analyzer,
        frequencies,
        100,
        {"tereshkova"},
    )
    assert found[0] == pytest.approx(1.0)  # the same words once the query's is left out
    idf = {stem: math.log(1 + (100 - held[stem] + 0.5) / (held[stem] + 0.5)) for stem in held}
    target = math.sqrt(idf["vostok"] ** 2 + idf["orbit"] ** 2 + idf["said"] ** 2)
    assert found[1] == pytest.approx(idf["said"] ** 2 / (target * math.hypot(idf["grain"], idf["said"])))
    assert found[1] < 0.01  # a word nine articles in ten hold says almost nothing
    assert found[2:] == [0.0, 0.0, 0.0]  # nothing in common but the query's word, or nothing at all
    assert 0 < MIN_LIKENESS < 1


def test_related_articles_fill_the_page_on_which_the_matches_end(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        first = ix.search("gains")
        second = ix.search("gains", page=2)
        third = ix.search("gains", page=3)
    assert first.total == 19
    assert len(first.hits) == 10
    assert not first.related
    assert len(second.hits) == 9
    assert [(hit.rank, hit.title) for hit in second.related] == [(20, "MLX CORP <MLXX> 4TH QTR LOSS")]
    assert not {hit.id for hit in second.related} & {hit.id for hit in (*first.hits, *second.hits)}
    assert not third.hits
    assert not third.related


@pytest.mark.parametrize(
    "query",
    ['"mlx corp"', "mlxx -loss", "title:mlxx", "mlx*", "mlxx AND loss", "mlxx~"],
)
def test_only_plain_words_get_related_articles(corpus_index: tuple[Path, IngestReport], query: str) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        assert not plain_words(parse_query(query, ix._backend.schema).query)
        assert not ix.search(query).related


def test_no_related_articles_by_date_when_enough_match_or_when_none_does(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        assert not ix.search(FEW, sort="-date").related
        assert not ix.search("oil", limit=5).related
        nothing = ix.search("zzyzx")
        assert nothing.total == 0
        assert not nothing.hits
        assert not nothing.related


def test_related_articles_keep_to_the_filters(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        results = ix.search(FEW, until="1987-03-31")
    assert results.total == 1
    assert len(results.related) == 4
    assert all(
        hit.date is not None and hit.date.date().isoformat() <= "1987-03-31" for hit in results.related
    )


def test_bo1_weights_and_the_words_chosen() -> None:
    # Bo1: tf * log2((1 + Pn) / Pn) + log2(1 + Pn), Pn the share of the archive holding the word.
    assert bo1(3, 0.01) == pytest.approx(3 * math.log2(101) + math.log2(1.01))

    def analyzer(text: str) -> list[object]:
        return [type("Token", (), {"text": word})() for word in text.split()]

    held = {"cocoa": 5, "bean": 40, "said": 90, "only": 2, "coffe": 3}
    terms = feedback_terms(
        ["cocoa cocoa bean said only only", "cocoa bean said coffe coffe only"],
        analyzer,
        lambda stems: {stem: held[stem] for stem in stems},
        100,
        {"coffe"},
    )
    # "coffe" was searched; "only" is in no article but these two; the rest by Bo1 weight, best 1.
    assert [stem for stem, _ in terms] == ["cocoa", "bean", "said"]
    assert terms[0][1] == 1.0
    assert terms[1][1] == pytest.approx(bo1(2, 0.4) / bo1(3, 0.05))
    assert len(terms) <= FEEDBACK_TERMS


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_lists_related_articles_after_the_matches_and_says_so(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    code, out, err = run("query", FEW, "--index", index, "--snippets", "0")
    assert code == 0
    assert out.count("related: like the best matches (none of the words)") == 7
    assert out.index("1. MLX CORP <MLXX> 4TH QTR LOSS") < out.index("2. ")
    assert "showing 1-1 of 1 and 7 related articles" in err
    code, out, err = run("query", FEW, "--index", index, "--no-related")
    assert code == 0
    assert "related" not in out
    assert "showing 1-1 of 1 in" in err
    code, out, _ = run("query", FEW, "--index", index, "--urls-only")
    assert code == 0
    assert len(out.splitlines()) == 1
    code, out, _ = run("query", FEW, "--index", index, "--json")
    document = json.loads(out)
    assert document["total"] == len(document["hits"]) == 1
    assert len(document["related"]) == 7
    assert all(hit["related"] for hit in document["related"])
    assert not document["hits"][0]["related"]
    code, out, _ = run("query", FEW, "--index", index, "--jsonl")
    assert [json.loads(line)["related"] for line in out.splitlines()] == [False] + [True] * 7


def test_results_without_related_articles_by_default_have_none() -> None:
    assert Results(query="q", parsed_query="q", total=0, hits=()).related == ()
