""" "Did you mean": a corrected query built from the index's own words.

The index holds stems ("parad"), not words, so a suggestion is made in two
steps: find the stem a typed word most likely meant (the word's own stem when
the index has it, else the closest indexed stems, preferring one that occurs
with the query's other words), then show the word form the documents use most
for that stem ("parade"). ``Putn parad`` becomes ``putin parade``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from whoosh import query as wq
from whoosh.support.levenshtein import distance

from searchidx.querying import OPERATORS, SEARCH_FIELDS, words_within

WORD = re.compile(r"\w+")
MAX_EDITS = 2
SAMPLE_DOCUMENTS = 10
MAX_CANDIDATES = 10


def suggest(searcher: Any, text: str, analyzer: Any) -> str | None:
    """A corrected version of the query's words, or None when there is nothing to correct."""
    words = [word for word in WORD.findall(text) if word not in OPERATORS]
    stems = [_stem(word, analyzer) for word in words]
    anchors = {stem for stem in stems if stem and _frequency(searcher, stem)}
    corrected: list[str] = []
    for word, stem in zip(words, stems, strict=True):
        if stem is None:  # a stop word: keep it as typed
            corrected.append(word.lower())
            continue
        if stem in anchors and stem != word.lower():  # a real inflection ("volcanoes"): keep it
            corrected.append(word.lower())
        elif stem in anchors:  # a bare stem ("parad"): the word documents use for it
            corrected.append(_usual_form(searcher, stem, word, analyzer))
        else:
            corrected.append(_closest(searcher, word, stem, anchors, analyzer) or word.lower())
    suggestion = " ".join(corrected)
    return suggestion if suggestion != " ".join(word.lower() for word in words) else None


def _stem(word: str, analyzer: Any) -> str | None:
    tokens = [token.text for token in analyzer(word)]
    return tokens[0] if tokens else None


def _frequency(searcher: Any, stem: str) -> int:
    reader = searcher.reader()
    return sum(int(reader.doc_frequency(field, stem)) for field in SEARCH_FIELDS)


def _closest(searcher: Any, word: str, stem: str, anchors: set[str], analyzer: Any) -> str | None:
    """The indexed word nearest to ``word``: fewest edits between the words as written, then
    most documents shared with the query's correct words, then most documents.

    Candidates come from the stems within two edits of the word's stem; each is
    compared in the form documents use most ("coffee", not the stem "coffe").
    """
    # The body field holds the headline's words too, so its stems are every indexed stem.
    stems = set(words_within(searcher.reader(), "body", stem, MAX_EDITS))
    stems.discard(stem)
    if not stems:
        return None
    nearest = sorted(stems, key=lambda term: (distance(term, stem), term))[:MAX_CANDIDATES]
    context = _documents(searcher, anchors)
    typed = word.lower()
    forms = {term: _usual_form(searcher, term, typed, analyzer) for term in nearest}

    def rank(term: str) -> tuple[int, int, int]:
        shared = len(_documents(searcher, {term}) & context)
        return distance(forms[term], typed), -shared, -_frequency(searcher, term)

    best = min(nearest, key=rank)
    return forms[best] if distance(forms[best], typed) <= MAX_EDITS else None


def _documents(searcher: Any, stems: set[str]) -> set[int]:
    if not stems:
        return set()
    terms = [wq.Term(field, stem) for stem in stems for field in SEARCH_FIELDS]
    return set(searcher.docs_for_query(wq.Or(terms)))


def _usual_form(searcher: Any, stem: str, typed: str, analyzer: Any) -> str:
    """The word form documents use most for ``stem``; the typed word if it is one of them."""
    forms: Counter[str] = Counter()
    query = wq.Or([wq.Term(field, stem) for field in SEARCH_FIELDS])
    for docnum in list(searcher.docs_for_query(query))[:SAMPLE_DOCUMENTS]:
        stored = searcher.stored_fields(docnum)
        for field in SEARCH_FIELDS:
            text = stored.get(field) or ""
            forms.update(text[start:end].lower() for start, end, term in analyzer.spans(text) if term == stem)
    if not forms or typed.lower() in forms:
        return typed.lower()
    return forms.most_common(1)[0][0]
