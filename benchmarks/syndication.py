"""A labelled check of story grouping, made from real articles: versions as syndication makes them.

Positives: from each chosen article (three paragraphs and 80 words or more),
versions changed the way syndication and updates change a story: headline
rewritten, a byline added, the dateline added or removed, last paragraphs
cut, a paragraph inserted, a few words changed (each version gets two or more
of these, chosen at random with a fixed seed). Every pair among an article
and its versions is one story.

Negatives: Reuters-21578's templated reports (quarterly results, dividend
notices, the Fed's daily market operations, commodity prices: different
stories in nearly the same words) and same-topic stories of different days.
Reuters' own re-sends (the same report filed twice) are left out of them:
they are one story, not a negative.

Each article is written as a text file in the seed's format; ``label`` maps
its file name to its story. Used by ``benchmarks/stories.py`` and
``tests/test_stories.py``.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REUTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "news" / "reuters21578.jsonl"
BYLINES = ("By Jane Doe", "By Paul Okafor, Staff Writer", "By Ana Lima and Tom Berg", "By a staff reporter")
DATELINES = ("LONDON (Reuters) -", "NEW YORK, (AP) -", "WASHINGTON -", "TOKYO (Kyodo) -")
INSERTS = (
    "This story has been updated with comment from the company.",
    "Reporting by the business desk; editing by the night team. Our standards: the trust principles.",
    "Read more: what the announcement means for investors, and what analysts expect next.",
)
REPLACEMENTS = {
    "said": "stated", "says": "states", "company": "firm", "percent": "pct", "pct": "percent",
    "rose": "increased", "fell": "declined", "expected": "forecast", "also": "additionally",
    "government": "administration", "market": "markets", "shares": "stock", "about": "around",
}  # fmt: skip
TEMPLATES = {
    "results": re.compile(r"^\s*Shr\b"),
    "dividends": re.compile(r"^\s*(Qtly|Semi-annual|Annual|Monthly|Quarterly) div", re.IGNORECASE),
    "fed": re.compile(r"^The Federal Reserve (entered|is expected|said)"),
    "prices": re.compile(r"\b(raised|lowered|cut|increased|reduced) its (posted|contract|list|spot)", re.I),
}


@dataclass(frozen=True)
class Article:
    """One article of the labelled set: its file name, text and story label."""

    name: str
    title: str
    date: datetime | None
    paragraphs: tuple[str, ...]
    label: str

    def text(self) -> str:
        """The article in the seed's format."""
        date = f"{self.date:%B %-d, %Y}\n\n" if self.date else ""
        return f"# {self.title}\n\n{date}" + "\n\n".join(self.paragraphs) + "\n"


def reuters_records() -> list[dict[str, str]]:
    """Every Reuters-21578 record (the JSON Lines file of ``../shared``)."""
    return [json.loads(line) for line in REUTERS.read_text(encoding="utf-8").splitlines()]


def paragraphs_of(body: str) -> list[str]:
    """A Reuters body's paragraphs (each indented line starts one), the "Reuter" sign-off dropped."""
    body = re.sub(r"\s*\bReuter\s*$", "", body)
    return [" ".join(part.split()) for part in re.split(r"\n(?=\s)", body) if part.strip()]


def versions(article: Article, count: int, rng: random.Random) -> list[Article]:
    """``count`` syndicated versions of ``article``, each changed in two or more ways."""
    made = []
    for number in range(1, count + 1):
        changes = rng.sample(range(6), rng.randint(2, 4))
        title, paragraphs = article.title, list(article.paragraphs)
        if 0 in changes:
            title = _rewritten_headline(title, rng)
        if 1 in changes:
            paragraphs.insert(0, rng.choice(BYLINES))
        if 2 in changes:
            paragraphs[0] = _with_other_dateline(paragraphs[0], rng)
        if 3 in changes and len(paragraphs) >= 4:
            paragraphs = paragraphs[: len(paragraphs) - rng.randint(1, max(1, len(paragraphs) // 4))]
        if 4 in changes:
            paragraphs.insert(rng.randint(1, len(paragraphs)), rng.choice(INSERTS))
        if 5 in changes or len(changes) == 2:
            paragraphs = _words_changed(paragraphs, rng.randint(1, 4), rng)
        name = f"{article.name.removesuffix('.txt')}-v{number}.txt"
        made.append(Article(name, title, article.date, tuple(paragraphs), article.label))
    return made


def _rewritten_headline(title: str, rng: random.Random) -> str:
    words = title.title().split()
    kept = [word for word in words if rng.random() < 0.7] or words[:2]
    return (
        rng.choice(("UPDATE 2-", "", "Analysis: ", ""))
        + " ".join(kept)
        + rng.choice((", sources say", "", " - report"))
    )


def _with_other_dateline(first: str, rng: random.Random) -> str:
    undated = re.sub(r"^[A-Z][A-Z .,'()]+(?:, [A-Z][a-z]+ \d+)? -\s*", "", first)
    return undated if undated != first and rng.random() < 0.5 else f"{rng.choice(DATELINES)} {undated}"


def _words_changed(paragraphs: list[str], count: int, rng: random.Random) -> list[str]:
    words = [paragraph.split() for paragraph in paragraphs]
    places = [(p, w) for p, line in enumerate(words) for w, word in enumerate(line)]
    for p, w in rng.sample(places, min(count, len(places))):
        word = words[p][w]
        words[p][w] = REPLACEMENTS.get(word.lower(), rng.choice(("new", "major", "the", "key", "recent")))
    return [" ".join(line) for line in words]


def labelled_set(records: list[dict[str, str]], stories: int, seed: int = 7) -> list[Article]:
    """``stories`` articles with two versions each, and the templated and same-topic negatives."""
    rng = random.Random(seed)
    articles = [_article(record) for record in records if record.get("body")]
    eligible = [a for a in articles if len(a.paragraphs) >= 3 and len(" ".join(a.paragraphs).split()) >= 80]
    chosen = rng.sample(eligible, stories)
    chosen_names = {article.name for article in chosen}
    made = [*chosen]
    for article in chosen:
        made += versions(article, 2, rng)
    negatives = _templated(articles) + _same_topic(articles, rng)
    seen_bodies: set[str] = set()
    for article in negatives:
        key = " ".join(article.paragraphs).casefold()
        if article.name in chosen_names or key in seen_bodies:
            continue
        seen_bodies.add(key)
        made.append(article)
    return _without_resends(made)


def _article(record: dict[str, str]) -> Article:
    date = datetime.fromisoformat(record["date"]) if record.get("date") else None
    paragraphs = paragraphs_of(record["body"])
    if record.get("dateline"):
        paragraphs[0] = f"{record['dateline'].strip()} {paragraphs[0]}"
    return Article(f"{record['id']}.txt", record["title"].strip() or "Untitled", date, tuple(paragraphs),
                   record["id"])  # fmt: skip


def _templated(articles: list[Article]) -> list[Article]:
    found = []
    for article in articles:
        body = " ".join(article.paragraphs)
        body = re.sub(r"^[A-Z][A-Za-z .,'()]+(?:, [A-Z][a-z]+ \d+)? -\s*", "", body)
        if any(pattern.search(body) for pattern in TEMPLATES.values()):
            found.append(article)
    return found


def _same_topic(articles: list[Article], rng: random.Random, per_title: int = 6) -> list[Article]:
    """Stories under one recurring headline on different days ("BAHIA COCOA REVIEW", "FED ADDS RESERVES")."""
    by_title: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        by_title[article.title.upper()].append(article)
    found = []
    for group in by_title.values():
        days = {a.date.date() for a in group if a.date}
        if len(days) >= 2:
            found += rng.sample(group, min(per_title, len(group)))
    return found


def _without_resends(articles: list[Article]) -> list[Article]:
    """Drops a negative that is a re-send of one kept before it: Reuters filed some reports twice or
    more (a corrected figure, a new headline, the next day's correction). A re-send is of the same or
    the next day and has nearly the same figures, or the same headline and half its figures (all of
    them in a text of few numbers), as far as the text states them in words or digits ("1.5
    billion" against "two billion" is another day's report). A long text whose words repeat
    another's is a re-send too."""
    kept: list[Article] = []
    seen_words: dict[tuple[str, ...], str] = {}
    of_day: dict[object, list[tuple[str, str, frozenset[str]]]] = defaultdict(list)
    for article in articles:
        body = re.sub(r"^.*? - ", "", " ".join(article.paragraphs), count=1)
        words = body.casefold().split()
        numbers = frozenset(re.findall(r"\d+(?:[.,/]\d+)*", body)) | (frozenset(words) & NUMBER_WORDS)
        title = " ".join(re.sub(r"^CORRECTED\W+|<[^>]*>|\W+", " ", article.title.upper()).split()[:3])
        key = tuple(words[len(words) // 4 : len(words) // 4 + 12]) if len(words) >= 60 else None
        opening = (title, *words[:20]) if len(words) >= 60 else None
        if any(seen_words.get(k, article.label) != article.label for k in (key, opening) if k):
            continue
        days = [article.date.toordinal() + step for step in (-1, 0, 1)] if article.date else []
        if any(
            label != article.label
            and (
                _overlap(figures, numbers) >= 0.7
                or (other == title and (figures == numbers or _overlap(figures, numbers) >= 0.5))
            )
            for day in days
            for label, other, figures in of_day[day]
        ):
            continue
        for known in (key, opening):
            if known is not None:
                seen_words.setdefault(known, article.label)
        if days:
            of_day[days[1]].append((article.label, title, numbers))
        kept.append(article)
    return kept


NUMBER_WORDS = frozenset(
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "half", "quarter"]
)


def _overlap(first: frozenset[str], second: frozenset[str]) -> float:
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller >= 3 else 0.0


def pairwise(labels: dict[str, str], stories: dict[str, str]) -> tuple[float, float, int, int]:
    """Pairwise recall and precision of ``stories`` (file -> story) against ``labels`` (file -> label),
    with the numbers of labelled and predicted pairs."""

    def pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
        members: dict[str, list[str]] = defaultdict(list)
        for name, group in groups.items():
            members[group].append(name)
        return {(a, b) for names in members.values() for a in names for b in names if a < b}

    truth, found = pairs(labels), pairs({name: stories[name] for name in labels if name in stories})
    hit = len(truth & found)
    return (hit / len(truth) if truth else 1.0), (hit / len(found) if found else 1.0), len(truth), len(found)
