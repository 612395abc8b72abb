from __future__ import annotations

import re

import pytest
from _pytest.monkeypatch import MonkeyPatch
from hypothesis import given
from hypothesis import strategies as st

from searchidx.query.analysis import text_analyzer
from searchidx.results import MarkedText
from searchidx.searching import snippets
from searchidx.searching.snippets import AnalysisMemo, join_fragments, make_snippet
from tests.conftest import CORPUS

ANALYZER = text_analyzer()
BODY = (
    "Troops rehearsed in the square on Monday. Officials gave no details of the route.\n\n"
    "China will hold a military parade in September, the ministry said, and foreign leaders are invited "
    "to watch it from the stands beside the old palace gate in the centre of the capital city.\n\n"
    "President Putin is expected to attend. Several parades were held in past years."
)


def snippet(text: str, terms: set[str], **options: int) -> MarkedText:
    return join_fragments(make_snippet(text, terms, ANALYZER, **options))  # type: ignore[arg-type]


def marked(terms: set[str], **options: int) -> str:
    return snippet(BODY, terms, **options).marked("[", "]")


def test_matched_words_are_marked_in_their_stemmed_forms() -> None:
    text = marked({"parad"}, max_chars=400)
    assert "[parade]" in text
    assert "[parades]" in text


def test_the_fragment_with_the_most_query_terms_leads() -> None:
    text = marked({"putin", "attend"})
    assert text.startswith("President [Putin] is expected to [attend].")


def test_fragments_cover_different_terms_before_repeating_one() -> None:
    text = marked({"parad", "putin"})
    assert "[Putin]" in text
    assert "[parade]" in text
    assert " … " in text


def test_the_snippet_respects_the_length_budget_and_cuts_at_word_boundaries() -> None:
    for budget in (80, 120, 240, 400):
        text = snippet(BODY, {"parad", "putin", "troop"}, max_chars=budget).text
        assert len(text) <= budget
        for fragment in text.removeprefix("… ").removesuffix(" …").split(" … "):
            assert fragment == fragment.strip()
            assert f" {fragment} " in f" {' '.join(BODY.split())} "  # whole words, as in the body


def test_the_same_query_always_gives_the_same_snippet() -> None:
    results = {snippet(BODY, {"parad", "china", "putin"}) for _ in range(20)}
    assert len(results) == 1


def test_a_body_without_a_match_gives_its_opening() -> None:
    opening = snippet(BODY, {"zebra"}, max_chars=60)
    assert opening.highlights == ()
    assert opening.text.startswith("Troops rehearsed in the square on Monday.")
    assert opening.text.endswith(" …")
    assert len(opening.text) <= 60


def test_abbreviations_do_not_end_a_sentence() -> None:
    body = "The parade starts on Sept. 3 in the capital. Mr. Xi will speak. Other news follows here."
    assert snippet(body, {"parad"}).text == "The parade starts on Sept. 3 in the capital."


KENNEDY = (
    "Voters were told on Monday that the party would not be drawn into a pact and Lib Dem leader "
    "Charles Kennedy has said. Other news follows here today."
)


def test_a_fragment_that_starts_inside_its_sentence_starts_with_an_ellipsis() -> None:
    for budget in (40, 60, 80, 100):
        result = snippet(KENNEDY, {"kennedi"}, max_chars=budget)
        assert result.text.startswith("… "), result.text
        assert result.text.endswith("Kennedy has said.")
        assert f" {result.text[2:]}" in f" {KENNEDY}"  # from a word's start: never "em leader"
        ((start, end),) = result.highlights
        assert result.text[start:end] == "Kennedy"
        assert len(result.text) <= budget
    assert snippet(KENNEDY, {"kennedi"}, max_chars=120).text == KENNEDY.split(". ")[0] + "."


def test_a_fragment_that_ends_inside_its_sentence_ends_after_a_whole_word_with_an_ellipsis() -> None:
    body = (
        "Kennedy's long-awaited speech on the economy, which aides had rewritten several times "
        "overnight, finally came at noon. It was short."
    )
    for budget in (40, 60, 80):
        result = snippet(body, {"kennedi"}, max_chars=budget)
        assert result.text.endswith(" …"), result.text
        assert f"{result.text[:-2]} " in body  # up to a word's end: never "rewrit"
        assert result.text[slice(*result.highlights[0])] == "Kennedy"
        assert len(result.text) <= budget


def test_a_long_word_holding_the_match_is_shown_whole_when_it_fits() -> None:
    body = "Officials said on Monday that the reforms of the Kennedy-administration-were-debated-at-length again."
    for budget in (50, 60, 80):
        result = snippet(body, {"kennedi"}, max_chars=budget)
        assert "Kennedy-administration-were-debated-at-length" in result.text  # was cut: "...-at-leng"
        assert f" {result.text.removeprefix('… ').removesuffix(' …')} " in f" {body} "
        assert result.text[slice(*result.highlights[0])] == "Kennedy"
        assert len(result.text) <= budget


def test_fragments_joined_show_one_ellipsis_between_them() -> None:
    fragments = make_snippet(BODY, {"parad", "putin"}, ANALYZER, max_chars=160)
    assert fragments[0].text.endswith(" …")  # each fragment marks its own cuts
    joined = join_fragments(fragments)
    assert "… …" not in joined.text
    assert [joined.text[start:end] for start, end in joined.highlights] == ["parade", "Putin"]


SENTENCE_WORDS = ["troops", "marched", "through", "parade", "square", "leader", "Kennedy", "said", "Lib", "Dem",
                  "yesterday", "Kennedy-era-reforms-were-debated", "beside", "ministry", "officials"]  # fmt: skip


@given(
    st.lists(
        st.tuples(st.sampled_from(["Troops", "Officials", "Kennedy", "Parades"]),
                  st.lists(st.sampled_from(SENTENCE_WORDS), max_size=40)),
        min_size=1, max_size=6,
    ),
    st.integers(min_value=40, max_value=300),
)  # fmt: skip
def test_fragments_hold_whole_words_and_mark_every_cut(
    sentences: list[tuple[str, list[str]]], budget: int
) -> None:
    body = " ".join(" ".join([first, *words]) + "." for first, words in sentences)
    sentence_starts = {0} | {match.end() for match in re.finditer(r"\. ", body)}
    fragments = make_snippet(body, {"parad", "kennedi"}, ANALYZER, max_chars=budget)
    assert len(join_fragments(fragments).text) <= budget
    for fragment in fragments:
        core = fragment.text.removeprefix("… ").removesuffix(" …")
        # Where the fragment's words are in the body as whole words (never part of one).
        places = {match.start() for match in re.finditer(rf"(?<!\S)(?={re.escape(core)}(?!\S))", body)}
        assert places, (fragment.text, body)
        if not fragment.text.startswith("… "):
            assert places & sentence_starts, (fragment.text, body)
        if not fragment.text.endswith(" …"):
            assert core.endswith("."), (fragment.text, body)
        for start, end in fragment.highlights:
            assert fragment.text[start:end].lower() in {"parade", "parades", "kennedy"}


@given(
    st.text(alphabet=st.sampled_from("ab parade.\n!?É"), max_size=400),
    st.integers(min_value=1, max_value=300),
)
def test_highlights_always_point_at_matched_words(body: str, budget: int) -> None:
    result = snippet(body, {"parad", "ab"}, max_chars=budget)
    for start, end in result.highlights:
        assert 0 <= start < end <= len(result.text)
        assert result.text[start:end].lower() in {"parade", "ab"}


def test_a_phrase_is_marked_where_it_occurs_not_its_words_elsewhere() -> None:
    fragments = make_snippet(BODY, set(), ANALYZER, phrases=[("militari", "parad")], max_chars=400)
    text = join_fragments(fragments).marked("[", "]")
    assert "[military parade]" in text
    assert "[parades]" not in text
    assert "[parade]" not in text


def test_each_fragment_carries_its_own_offsets() -> None:
    fragments = make_snippet(BODY, {"parad", "putin"}, ANALYZER, max_chars=400)
    assert len(fragments) >= 2
    for fragment in fragments:
        for start, end in fragment.highlights:
            assert fragment.text[start:end].lower() in {"parade", "parades", "putin"}


def test_html_escapes_the_text_before_marking_it() -> None:
    body = 'A <script>alert("parade")</script> & a parade "><img src=x onerror=alert(1)>.'
    html = snippet(body, {"parad"}, max_chars=400).html()
    assert html == (
        "A &lt;script&gt;alert(&quot;<mark>parade</mark>&quot;)&lt;/script&gt; &amp; a <mark>parade</mark> "
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;."
    )


LONG_QUERIES = [
    ({"parad", "putin"}, ()),
    ({"die", "sky"}, ()),  # "dying" and "skies": stems that are not the start of their word
    ({"u.s", "dollar"}, ()),
    ({"cocoa"}, (("cocoa", "export"),)),
    ({"mln", "profit"}, ()),
]


def long_article() -> str:
    """Over 40,000 chars of real wire text with the words of LONG_QUERIES here and there: the first 60
    Reuters articles of the repo's demo corpus (no shared data needed), one after the other."""
    bodies = [path.read_text(encoding="utf-8") for path in sorted((CORPUS / "reuters").glob("*.txt"))[:60]]
    bodies.insert(
        20, "Putin watched the parades. The U.S. dollar fell; skies cleared as the dying storm passed."
    )
    return "\n\n".join(bodies)


def test_a_long_article_gives_the_snippet_that_analysing_all_of_it_gives(monkeypatch: MonkeyPatch) -> None:
    """Long texts analyse only the sentences around their matches; the fragments are the same."""
    text = long_article()
    assert len(text) > 40_000
    quick = [make_snippet(text, words, ANALYZER, phrases=phrases) for words, phrases in LONG_QUERIES]
    monkeypatch.setattr(snippets, "SHORT_TEXT", len(text))  # analyse the whole text, as before
    whole = [make_snippet(text, words, ANALYZER, phrases=phrases) for words, phrases in LONG_QUERIES]
    assert quick == whole
    assert all(fragment.highlights for fragments in quick for fragment in fragments[:1])


@pytest.mark.parametrize("memo_chars", [snippets.MEMO_CHARS, 100])
def test_a_memo_over_many_queries_gives_the_snippets_each_query_alone_gets(
    monkeypatch: MonkeyPatch, memo_chars: int
) -> None:
    """A listing for several queries (every watch's news) analyses each text once; the fragments and
    marks are those of each query alone, asked in any order, and of every text, long or short, also
    when the memo holds too little to keep them (it forgets and finds them again)."""
    monkeypatch.setattr(snippets, "MEMO_CHARS", memo_chars)
    texts, memo = [long_article(), BODY, "Paradès à Paris. La parade."], AnalysisMemo(ANALYZER)
    queries = [*LONG_QUERIES, ({"parad", "putin"}, []), ({"pari"}, [("pari", "parad")])]
    for _ in range(2):
        for text in texts:
            for words, phrases in queries:
                alone = make_snippet(text, words, ANALYZER, phrases=phrases)
                assert make_snippet(text, words, memo, phrases=phrases) == alone, (text[:40], words)
