from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from searchidx.schema import text_analyzer
from searchidx.snippets import make_snippet

ANALYZER = text_analyzer()
BODY = (
    "Troops rehearsed in the square on Monday. Officials gave no details of the route.\n\n"
    "China will hold a military parade in September, the ministry said, and foreign leaders are invited "
    "to watch it from the stands beside the old palace gate in the centre of the capital city.\n\n"
    "President Putin is expected to attend. Several parades were held in past years."
)


def marked(terms: set[str], **options: int) -> str:
    return make_snippet(BODY, terms, ANALYZER, **options).marked("[", "]")


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
        snippet = make_snippet(BODY, {"parad", "putin", "troop"}, ANALYZER, max_chars=budget)
        assert len(snippet.text) <= budget
        for fragment in snippet.text.split(" … "):
            assert fragment == fragment.strip()
            assert fragment.split()[0] in BODY.split() or fragment.split()[0].rstrip(".,") in BODY


def test_the_same_query_always_gives_the_same_snippet() -> None:
    results = {make_snippet(BODY, {"parad", "china", "putin"}, ANALYZER) for _ in range(20)}
    assert len(results) == 1


def test_a_body_without_a_match_gives_its_opening() -> None:
    snippet = make_snippet(BODY, {"zebra"}, ANALYZER, max_chars=60)
    assert snippet.highlights == ()
    assert snippet.text.startswith("Troops rehearsed in the square on Monday.")
    assert snippet.text.endswith(" …")
    assert len(snippet.text) <= 60


def test_abbreviations_do_not_end_a_sentence() -> None:
    body = "The parade starts on Sept. 3 in the capital. Mr. Xi will speak. Other news follows here."
    assert make_snippet(body, {"parad"}, ANALYZER).text == "The parade starts on Sept. 3 in the capital."


@given(
    st.text(alphabet=st.sampled_from("ab parade.\n!?É"), max_size=400),
    st.integers(min_value=1, max_value=300),
)
def test_highlights_always_point_at_matched_words(body: str, budget: int) -> None:
    snippet = make_snippet(body, {"parad", "ab"}, ANALYZER, max_chars=budget)
    for start, end in snippet.highlights:
        assert 0 <= start < end <= len(snippet.text)
        assert snippet.text[start:end].lower() in {"parade", "ab"}
