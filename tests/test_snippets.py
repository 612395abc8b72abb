from __future__ import annotations

import json
from pathlib import Path

from _pytest.monkeypatch import MonkeyPatch
from hypothesis import given
from hypothesis import strategies as st

from searchidx import snippets
from searchidx.analysis import text_analyzer
from searchidx.snippets import MarkedText, join_fragments, make_snippet
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
        for fragment in text.split(" … "):
            assert fragment == fragment.strip()
            assert fragment.split()[0] in BODY.split() or fragment.split()[0].rstrip(".,") in BODY


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


REUTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "news" / "reuters21578.jsonl"
LONG_QUERIES = [
    ({"parad", "putin"}, ()),
    ({"die", "sky"}, ()),  # "dying" and "skies": stems that are not the start of their word
    ({"u.s", "dollar"}, ()),
    ({"cocoa"}, (("cocoa", "export"),)),
    ({"mln", "profit"}, ()),
]


def long_article() -> str:
    """Over 40,000 chars of real wire text with the words of LONG_QUERIES here and there."""
    if REUTERS.exists():
        lines = REUTERS.read_text(encoding="utf-8").splitlines()[:60]
        bodies = [json.loads(line)["body"] for line in lines]
    else:  # the shared data is absent: the demo corpus's own text is real news too
        bodies = [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.txt"))[:60]]
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
