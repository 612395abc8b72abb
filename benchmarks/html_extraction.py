"""How well HTML ingestion keeps the article and drops the boilerplate.

Runs searchidx's page extractor over ``../shared/data/html/`` (real news pages
with their true article text) and scores it with the article-extraction
benchmark's metric: per page, precision and recall of the extracted text's
4-word shingles against the true ``articleBody``; means over the pages; F1 from
the two means. Plain ``BeautifulSoup.get_text()`` is scored in the same run as
the floor (published F1 0.665).

    python benchmarks/html_extraction.py [--data PATH] [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from searchidx.inputs.documents import normalize_paragraphs
from searchidx.inputs.html import PARSER, extract_page

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "html"
WORD = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The text's word 4-grams with their counts (the whole text if shorter)."""
    words = WORD.findall(text)
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1)) if words)


def page_scores(true: str, predicted: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one page; None where the measure is undefined."""
    expected, got = shingles(true), shingles(predicted)
    hits = sum((expected & got).values())
    extra = sum((got - expected).values())
    missed = sum((expected - got).values())
    if extra == missed == 0:
        return 1.0, 1.0
    precision = hits / (hits + extra) if hits + extra else None
    recall = hits / (hits + missed) if hits + missed else None
    return precision, recall


def summarize(pairs: list[tuple[float | None, float | None]]) -> tuple[float, float, float]:
    """Mean precision, mean recall, and F1 of the two means."""
    precision = statistics.mean(p for p, _ in pairs if p is not None)
    recall = statistics.mean(r for _, r in pairs if r is not None)
    return precision, recall, 2 * precision * recall / (precision + recall)


def plain_text(markup: str) -> str:
    """The floor: every piece of text on the page."""
    return BeautifulSoup(markup, PARSER).get_text()


def searchidx_text(markup: str) -> str:
    """What searchidx indexes as the body of the page."""
    return normalize_paragraphs(extract_page(markup).body)


def main() -> int:
    """Score the extractors and print the table, the worst pages and the metadata coverage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worst", type=int, default=10)
    args = parser.parse_args()
    truth_file = args.data / "ground-truth.json"
    if not truth_file.exists():
        print(f"no benchmark data at {args.data} (expected ground-truth.json and html/)", file=sys.stderr)
        return 2
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    folder = args.data / "html"
    pages = {key: gzip.decompress((folder / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
             for key in sorted(truth)}  # fmt: skip

    extractors: dict[str, Callable[[str], str]] = {"searchidx": searchidx_text, "get_text()": plain_text}
    print(f"{len(pages)} pages from {args.data}")
    print(f"{'extractor':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'empty':>6} {'ms/page':>8}")
    results: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for name, extract in extractors.items():
        started = time.perf_counter()
        outputs = {key: extract(markup) for key, markup in pages.items()}
        elapsed = (time.perf_counter() - started) * 1000 / len(pages)
        results[name] = {key: page_scores(truth[key]["articleBody"], outputs[key]) for key in pages}
        empty = sum(1 for key in pages if not outputs[key].strip() and truth[key]["articleBody"].strip())
        precision, recall, f1 = summarize(list(results[name].values()))
        print(f"{name:<12} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f} {empty:>6} {elapsed:>8.1f}")

    print(f"\nworst {args.worst} pages for searchidx (by per-page F1):")
    ranked = sorted(results["searchidx"].items(), key=lambda item: _page_f1(*item[1]))
    for key, (precision, recall) in ranked[: args.worst]:
        print(f"  F1 {_page_f1(precision, recall):.3f}  P {precision or 0:.3f}  R {recall or 0:.3f}  "
              f"{key[:12]}  {truth[key]['url'][:80]}")  # fmt: skip

    extracted = [extract_page(markup) for markup in pages.values()]
    dated = sum(1 for page in extracted if page.date is not None)
    with_url = sum(1 for page in extracted if page.url)
    titled = sum(1 for page in extracted if page.title)
    print(f"\nmetadata: title {titled}/{len(pages)}, date {dated}/{len(pages)}, url {with_url}/{len(pages)}")
    return 0


def _page_f1(precision: float | None, recall: float | None) -> float:
    p, r = precision or 0.0, recall or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


if __name__ == "__main__":
    sys.exit(main())
