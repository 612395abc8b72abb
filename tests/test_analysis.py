"""The one-pass analyzer gives the same tokens as the documented Whoosh filter chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from searchidx.inputs.documents import load_documents
from searchidx.query.analysis import NewsAnalyzer, reference_analyzer
from searchidx.query.fields import ArticleText

ROOT = Path(__file__).resolve().parents[1]
TRICKY = [
    "Putin's parade: U.S. troops, 3.5% growth and the G-7 (IL-6) in 2015.",
    "Café RÉSUMÉ naïve Straße İstanbul",
    "Москва парад Победы",
    "东京 日本語のテキスト 한국어 mixed 中文text",
    "What did the minister say about the budget? a I x",
    "wild* card*s and_underscores __init__",
    "",
    "   \n\t ",
]


def _corpus_texts() -> list[str]:
    texts = list(TRICKY)
    for path in sorted((ROOT / "corpus").rglob("*")):
        if path.suffix in {".txt", ".html", ".md"} and path.name != "README.md":
            for document in load_documents(path):
                texts += [document.title, document.body]  # type: ignore[union-attr]
    return texts


def _tokens(analyzer: Any, text: str, **options: Any) -> list[tuple[Any, ...]]:
    return [
        (token.text, token.pos, token.startchar, token.endchar, token.stopped)
        for token in analyzer(text, positions=True, chars=True, **options)
    ]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _corpus_texts()


@pytest.mark.parametrize(
    "options",
    [{"mode": "index"}, {"mode": "query", "removestops": False}, {"tokenize": False, "removestops": False}],
)
def test_tokens_equal_the_reference_chain(texts: list[str], options: dict[str, Any]) -> None:
    fast, reference = NewsAnalyzer(), reference_analyzer()
    assert len(texts) > 600  # the demo corpus: 331 titles and bodies, and the tricky strings
    for text in texts:
        assert _tokens(fast, text, **options) == _tokens(reference, text, **options), text[:80]


def test_terms_are_the_token_texts(texts: list[str]) -> None:
    fast = NewsAnalyzer()
    for text in texts:
        assert fast.terms(text) == [token.text for token in reference_analyzer()(text)], text[:80]


def test_spans_are_the_token_offsets_and_texts(texts: list[str]) -> None:
    fast = NewsAnalyzer()
    for text in texts:
        expected = [
            (t.startchar, t.endchar, t.text) for t in reference_analyzer()(text, chars=True, mode="index")
        ]
        assert fast.spans(text) == expected, text[:80]


def test_headline_words_weigh_more_inside_the_body_field() -> None:
    field = ArticleText(analyzer=NewsAnalyzer())
    postings = {
        term.decode(): (freq, weight)
        for term, freq, weight, _ in field.index(("Parade", "The parade ended."))
    }
    assert postings == {"parad": (2, 3.0), "end": (1, 1.0)}  # headline word: weight 2, text word: 1
    plain = {term.decode(): (freq, weight) for term, freq, weight, _ in field.index("The parade ended.")}
    assert plain == {"parad": (1, 1.0), "end": (1, 1.0)}


def test_the_analyzer_survives_pickling_with_the_schema() -> None:
    import pickle

    analyzer = pickle.loads(pickle.dumps(NewsAnalyzer()))
    assert analyzer.terms("Parades were held") == ["parad", "held"]


def test_the_speller_keeps_words_as_written_with_how_often_they_are_capitalized() -> None:
    from searchidx.query.analysis import surface_words

    words = surface_words(
        "Putin Visits China", "Putin said the parade in Moscow. Moscow put it off; put 2 cafés. Café"
    )
    assert words == {"putin": 1.0, "said": 0.0, "parade": 0.0, "moscow": 1.0, "put": 0.0, "off": 0.0,
                     "cafes": 0.0, "cafe": 1.0, "visits": 0.5, "china": 0.5}  # fmt: skip


def test_ascii_text_gives_the_speller_the_same_words_as_any_other(texts: list[str]) -> None:
    from searchidx.query.analysis import surface_words

    words = surface_words(
        "Putin Visits China", "Putin said the parade in Moscow. Moscow put it off in 2015, a U.S. move."
    )
    assert words == {"putin": 1.0, "said": 0.0, "parade": 0.0, "moscow": 1.0, "put": 0.0, "off": 0.0,
                     "move": 0.0, "visits": 0.5, "china": 0.5}  # fmt: skip
    # A text that is not all ASCII takes the folding path: the same shares for the same words.
    for headline, text in zip(texts[::2], texts[1::2], strict=False):
        accented = surface_words(headline, f"{text} café")
        accented.pop("cafe", None)
        plain = surface_words(headline, text)
        assert accented == {word: share for word, share in plain.items() if word != "cafe"}, headline


def test_terms_stay_right_when_the_known_stems_are_forgotten(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx.query import analysis

    monkeypatch.setattr(analysis, "KNOWN_STEMS", 50)  # forgotten every few texts
    fast = NewsAnalyzer()
    for text in texts[:200] + texts[:200]:  # each text read twice, its tokens kept or not
        assert fast.terms(text) == [token.text for token in reference_analyzer()(text)], text[:80]
