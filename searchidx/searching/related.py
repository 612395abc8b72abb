"""Related articles: what fills a page that the query's words do not.

When the words of a plain query match fewer articles than a page holds, the
rest of the page shows the articles most like the best matches, after every
match and marked as related. "Most like" is pseudo-relevance feedback: the
words that stand out in the best matches (Amati's Bo1 weight: often there,
rare in the archive) are searched at their weight, leaving out every article
the query already matched: an article about the subject in other words (the
flight of Vostok 6 after the one report that names Tereshkova). The matches
themselves, their order and their count are never changed.

Only the articles measurably like the best matches are shown, and none when
none is: an article's :func:`likeness` (the cosine of its words and theirs,
weighted by rarity) must reach :data:`MIN_LIKENESS`, the lowest value at which
related articles were judged relevant as often as the matches they stand in for
(``benchmarks/related.py``, ``docs/relevance.md``). Without it, a query whose
one match has no like in the archive was followed by whatever shared two of its
words (`Putin parade` by wire stories on China's debt and cocoa talks).

Engine-free: the words come from the stored text and the archive's document
frequencies, and the query is a Whoosh query, which the OpenSearch backend
translates as it translates the user's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from whoosh import query as wq

from searchidx.query.parsing import SEARCH_FIELDS, decoded
from searchidx.query.ranking import lucene_idf

# The best matches the words are taken from, and how many words are searched. Wider than a
# ranking's feedback (Terrier's 3 documents, 10 terms): related articles only follow the matches,
# where finding more of the subject is all they are for.
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 20
# A word the best matches use once says little about what they share.
MIN_OCCURRENCES = 2
# A related article holds at least this many of the words: one word in common is chance.
MIN_SHARED = 2
# Candidates read per related article wanted, as some fall short of MIN_SHARED or MIN_LIKENESS.
OVERFETCH = 3
# A related article's likeness to the best matches is at least this. Measured on the five judged
# collections (``benchmarks/related.py``, ``docs/relevance.md``): a query's first 1-9 hits taken as
# all its matches, the related articles filling the rest of its page of 10 are judged relevant at
# least as often as the query's own hits at those ranks, for every number of matches, from 0.4 up
# (one match, the common case, is the last to get there); over all of them 0.166 against 0.125.
MIN_LIKENESS = 0.4


def feedback_terms(
    texts: Sequence[str],
    analyzer: Any,
    document_frequencies: Callable[[Iterable[str]], Mapping[str, int]],
    documents: int,
    searched: Collection[str],
) -> list[tuple[str, float]]:
    """The ``FEEDBACK_TERMS`` indexed words (stems) most telling of ``texts``, with weights up to 1.

    ``document_frequencies`` gives how many of the archive's ``documents``
    hold each stem in the body; stems in ``searched`` (the query's) and those
    no other article holds are left out.
    """
    occurrences: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    for text in texts:
        stems = [token.text for token in analyzer(text)]
        occurrences.update(stems)
        holders.update(set(stems))
    candidates = sorted(
        stem for stem, count in occurrences.items() if count >= MIN_OCCURRENCES and stem not in searched
    )
    if not candidates or documents <= 0:
        return []
    frequencies = document_frequencies(candidates)
    weights = {
        stem: bo1(occurrences[stem], frequencies[stem] / documents)
        for stem in candidates
        if frequencies.get(stem, 0) > holders[stem]
    }
    best = sorted(weights, key=lambda stem: (-weights[stem], stem))[:FEEDBACK_TERMS]
    return [(stem, weights[stem] / weights[best[0]]) for stem in best]


def bo1(occurrences: int, share: float) -> float:
    """Bo1 (Bose-Einstein) weight of a word seen ``occurrences`` times in the feedback articles
    and held by the ``share`` (0 to 1, not 0) of the archive's articles."""
    return occurrences * math.log2((1 + share) / share) + math.log2(1 + share)


def shares_enough(text: str, analyzer: Any, terms: Sequence[tuple[str, float]]) -> bool:
    """Whether ``text`` holds at least ``MIN_SHARED`` of the feedback ``terms`` (all, if fewer)."""
    wanted = {stem for stem, _ in terms}
    needed, held = min(MIN_SHARED, len(wanted)), set()
    for token in analyzer(text):  # most related articles show their words early: stop there
        if token.text in wanted:
            held.add(token.text)
            if len(held) >= needed:
                return True
    return False


def likeness(
    best: Sequence[str],
    texts: Sequence[str],
    analyzer: Any,
    document_frequencies: Callable[[Iterable[str]], Mapping[str, int]],
    documents: int,
    searched: Collection[str],
) -> list[float]:
    """How like the ``best`` matches' texts each of ``texts`` is, from 0 (no word in common) to 1.

    The cosine of the two bags of indexed words (stems), each counted as often
    as it occurs times its IDF in the archive's ``documents`` (Lucene's, from
    ``document_frequencies``, called once for all the words); the best matches
    count as one text. The query's stems (``searched``) are left out: no
    related article holds them.
    """
    matched = _bag(best, analyzer, searched)
    bags = [_bag([text], analyzer, searched) for text in texts]
    stems = set(matched).union(*bags)
    if not matched or documents <= 0:
        return [0.0] * len(texts)
    frequencies = document_frequencies(sorted(stems))
    idf = {stem: lucene_idf(documents, frequencies.get(stem, 0)) for stem in stems}
    target = {stem: count * idf[stem] for stem, count in matched.items()}
    target_norm = math.sqrt(sum(weight * weight for weight in target.values()))
    found = []
    for bag in bags:
        weights = {stem: count * idf[stem] for stem, count in bag.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values()))
        dot = sum(weight * target.get(stem, 0.0) for stem, weight in weights.items())
        found.append(dot / (norm * target_norm) if norm and target_norm else 0.0)
    return found


def _bag(texts: Iterable[str], analyzer: Any, searched: Collection[str]) -> Counter[str]:
    """How often each stem occurs in ``texts``, the ``searched`` ones left out."""
    return Counter(token.text for text in texts for token in analyzer(text) if token.text not in searched)


def related_query(terms: Sequence[tuple[str, float]], matched: Any) -> Any:
    """The articles holding any of the weighted ``terms`` in the body, but not matching ``matched``."""
    like = wq.Or([wq.Term("body", stem, boost=weight) for stem, weight in terms])
    return wq.AndNot(like, matched)


def plain_words(query: Any) -> bool:
    """Whether ``query`` is words OR-ed in the body (and title) only: no phrase, operator, prefix,
    fuzzy word or other field, the only queries whose related articles are what the user asked for."""
    fields = _plain_fields(query)
    return fields is not None and "body" in fields


def _plain_fields(query: Any) -> set[str] | None:
    """The fields of a query of OR-ed title and body words; None for any other query."""
    if isinstance(query, wq.Or):
        found: set[str] = set()
        for child in query.subqueries:
            fields = _plain_fields(child)
            if fields is None:
                return None
            found |= fields
        return found
    if type(query) is wq.Term and query.fieldname in SEARCH_FIELDS:
        return {query.fieldname}
    return None


def searched_stems(query: Any) -> set[str]:
    """The stems of a plain query's words."""
    return {decoded(text) for _, text in query.iter_all_terms()}
