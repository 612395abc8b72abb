"""A saved news page in, its title, date, canonical URL and article text out.

Metadata comes from the page's own markup (Open Graph, ``article:`` and other
common meta tags, JSON-LD, ``<time>``, ``<link rel=canonical>``). The article
text is found the way readability finds it: drop what is never content
(scripts, navigation, footers, share bars, comment blocks...), score each block
by the paragraph text it holds and how little of that text is links, take the
best block with its like-scored siblings, then clean link-heavy leftovers out of
it. When that leaves almost nothing, looser passes follow, and at the last the
page's whole visible text, so a page with text never yields an empty body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString

from searchidx.inputs.dates import parse_date
from searchidx.inputs.formats import RawArticle

PARSER = "lxml"
NEVER_CONTENT = [
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "input", "select", "textarea", "label", "nav", "aside", "footer", "header", "menu",
    "dialog", "link", "meta", "head",
]  # fmt: skip
NOT_CONTENT_ROLES = {
    "navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "menu",
    "menubar", "search", "toolbar", "tablist",
}  # fmt: skip
UNLIKELY = re.compile(
    r"-ad-|^ad-|\bads?\b|advert|banner|breadcrumb|byline|combx|comment|community|cookie|consent|"
    r"cover-wrap|disqus|extra|foot|gdpr|header|legends|masthead|menu|modal|newsletter|outbrain|"
    r"pager|pagination|popup|promo|recirc|related|remark|replies|rss|share|sharing|"
    r"shoutbox|sidebar|signup|skyscraper|social|sponsor|subscri|supplemental|taboola|tags|"
    r"toolbar|trending|widget|yom-remote",
    re.IGNORECASE,
)
# Page furniture whatever pass is tried: a block named so that holds little text or mostly links.
FURNITURE = re.compile(
    r"share|sharing|social|newsletter|cookie|consent|gdpr|breadcrumb|subscri|related|recommend|"
    r"comment|advert|sponsor|promo",
    re.IGNORECASE,
)
FURNITURE_CHARS = 200
MAYBE_CONTENT = re.compile(r"and|article|body|column|content|main|shadow|story|entry|post", re.IGNORECASE)
POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|paragraph",
    re.IGNORECASE,
)
NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$|\bhid\b|banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|"
    r"masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|"
    r"sponsor|shopping|tags|tool|widget|caption|newsletter|subscribe|recommend",
    re.IGNORECASE,
)
BLOCKS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "td", "th", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "figure",
    "figcaption", "br", "hr", "address", "center",
}  # fmt: skip
SCORED = ["p", "pre", "td", "blockquote"]
CONTAINERS = ["div", "section", "article", "main", "td"]
PROSE = {"p", "li", "td", "blockquote", "em", "strong", "b", "i", "q", "span", "a"}
CONDITIONAL = ["div", "section", "ul", "ol", "table", "form", "fieldset", "figure", "dl"]
DATE_META = [
    "article:published_time", "og:article:published_time", "datepublished",
    "article:published", "published_time", "og:published_time", "pubdate", "publishdate",
    "publish-date", "publish_date", "date", "dc.date", "dc.date.issued", "dc.date.created",
    "dcterms.created", "dcterms.issued", "dcterms.date", "parsely-pub-date", "sailthru.date",
    "article.published", "article_date_original", "cxenseparse:recs:publishtime",
    "citation_publication_date", "originalpublicationdate", "displaydate", "date.available",
    "article:modified_time", "datemodified", "og:updated_time",
]  # fmt: skip
DATE_MARK = re.compile(r"date|time|publish|posted|dateline", re.IGNORECASE)
DATE_LABEL = re.compile(r"^\s*(?:published|posted|updated)\b", re.IGNORECASE)
MIN_BODY_CHARS = 250


def extract_page(markup: str) -> RawArticle:
    """Extract the title, publication date, canonical URL and article text of a page."""
    soup = BeautifulSoup(markup, PARSER)
    title = page_title(soup)
    date = page_date(soup)
    url = page_url(soup)
    declared = _json_ld_body(soup)  # before article_text, which prunes the soup
    body = article_text(markup, soup, title)
    # The page's structured data states the article body; prefer it when the
    # markup shows much less of it (pages rendered by JavaScript).
    if len(declared.split()) > 1.5 * len(body.split()):
        body = declared
    return RawArticle(title=title, date=date, url=url, body=body)


def page_title(soup: BeautifulSoup) -> str:
    """og:title, else the first ``<h1>``, else ``<title>``."""
    for candidate in (_meta(soup, "og:title"), _first_text(soup, "h1"), _first_text(soup, "title")):
        if candidate and candidate.strip():
            return candidate.strip()
    return ""


def page_date(soup: BeautifulSoup) -> datetime | None:
    """The publication date the page's metadata gives, if any parses."""
    for candidate in _date_candidates(soup):
        date = parse_date(candidate)
        if date is not None:
            return date
    return None


def page_url(soup: BeautifulSoup) -> str:
    """``<link rel=canonical>``, else og:url; made absolute against og:url."""
    og_url = _meta(soup, "og:url") or ""
    for link in soup.find_all("link", href=True):
        if "canonical" in [value.lower() for value in link.get_attribute_list("rel") if value]:
            href = str(link["href"]).strip()
            if href:
                return urljoin(og_url, href) if og_url else href
    return og_url.strip()


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    wanted = {name.lower() for name in names}
    for tag in soup.find_all("meta"):
        for attribute in ("property", "name", "itemprop"):
            key = tag.get(attribute)
            if isinstance(key, str) and key.strip().lower() in wanted:
                content = tag.get("content")
                if isinstance(content, str) and content.strip():
                    return content
    return None


def _first_text(soup: BeautifulSoup, name: str) -> str | None:
    tag = soup.find(name)
    return tag.get_text(" ", strip=True) if isinstance(tag, Tag) else None


def _date_candidates(soup: BeautifulSoup) -> Iterator[str]:
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        content = tag.get("content")
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = tag.get(attribute)
            if isinstance(key, str) and isinstance(content, str):
                meta.setdefault(key.strip().lower(), content)
    for name in DATE_META[:3]:
        if name in meta:
            yield meta[name]
    yield from _json_ld_dates(soup)
    for name in DATE_META[3:]:
        if name in meta:
            yield meta[name]
    for tag in soup.find_all(["time", "span", "div"], attrs={"itemprop": "datePublished"}):
        yield str(tag.get("datetime") or tag.get("content") or tag.get_text(" ", strip=True))
    for tag in soup.find_all("time"):
        value = tag.get("datetime")
        yield str(value) if value else tag.get_text(" ", strip=True)
    yield from _visible_dates(soup)


def _visible_dates(soup: BeautifulSoup) -> Iterator[str]:
    """Short texts the page shows as its date: "Published 7:07 PM EST Nov 19, 2019"."""
    tags = soup.find_all(class_=DATE_MARK, limit=20) + soup.find_all(id=DATE_MARK, limit=5)
    for tag in tags:
        text = tag.get_text(" ", strip=True)
        if 0 < len(text) <= 100:
            yield text
    for string in soup.find_all(string=DATE_LABEL, limit=10):
        if isinstance(string.parent, Tag):
            yield string.parent.get_text(" ", strip=True)[:100]


def _json_ld_dates(soup: BeautifulSoup) -> Iterator[str]:
    for data in _json_ld(soup):
        for key in ("datePublished", "dateCreated", "dateModified"):
            yield from _json_values(data, key)


def _json_ld_body(soup: BeautifulSoup) -> str:
    """The longest ``articleBody`` of the page's JSON-LD, as text with its paragraphs."""
    bodies = [body for data in _json_ld(soup) for body in _json_values(data, "articleBody")]
    if not bodies:
        return ""
    longest = max(bodies, key=len)
    if "<" in longest:  # some sites put markup in it
        return "\n\n".join(_paragraphs(BeautifulSoup(longest, PARSER)))
    return longest


def _json_ld(soup: BeautifulSoup) -> Iterator[object]:
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            yield json.loads(script.get_text(), strict=False)
        except ValueError:
            continue


def _json_values(data: object, key: str) -> Iterator[str]:
    if isinstance(data, dict):
        value = data.get(key)
        if isinstance(value, str):
            yield value
        for child in data.values():
            yield from _json_values(child, key)
    elif isinstance(data, list):
        for item in data:
            yield from _json_values(item, key)


# --- the article text -------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """One extraction attempt; later passes are looser."""

    strip_unlikely: bool
    weigh_classes: bool
    clean_conditionally: bool


PASSES = [
    Pass(True, True, True),
    Pass(False, True, True),
    Pass(False, False, True),
    Pass(False, False, False),
]


def fragment_text(markup: str, title: str = "") -> str:
    """The text of an HTML fragment (a feed item's content), found as a page's article text is."""
    return article_text(markup, BeautifulSoup(markup, PARSER), title)


def article_text(markup: str, soup: BeautifulSoup, title: str) -> str:
    """The page's article text: paragraphs separated by blank lines."""
    best = ""
    for number, attempt in enumerate(PASSES):
        page = soup if number == 0 else BeautifulSoup(markup, PARSER)
        text = _extract(page, attempt, title)
        if len(text) >= MIN_BODY_CHARS:
            return text
        if len(text) > len(best):
            best = text
    if best:
        return best
    whole = BeautifulSoup(markup, PARSER)
    _remove_never_content(whole)
    _remove_furniture(whole)
    root = whole.body or whole
    return _drop_title("\n\n".join(_paragraphs(root)), title)


def _extract(soup: BeautifulSoup, attempt: Pass, title: str) -> str:
    _remove_never_content(soup)
    _remove_furniture(soup)
    if attempt.strip_unlikely:
        _remove_unlikely(soup)
    root = soup.body or soup
    _paragraphize(soup, root)
    top = _best_block(root, attempt.weigh_classes)
    if top is None:
        return ""
    nodes = _with_siblings(top, attempt.weigh_classes)
    if attempt.clean_conditionally:
        for node in nodes:
            _clean_conditionally(node, attempt.weigh_classes)
    paragraphs = [paragraph for node in nodes for paragraph in _paragraphs(node)]
    return _drop_title("\n\n".join(paragraphs), title)


def _paragraphize(soup: BeautifulSoup, root: Tag) -> None:
    """Wrap loose text in containers into ``<p>`` so it is scored like paragraphs.

    Many sites write paragraphs as ``<div>`` text, or as text runs separated by
    ``<br><br>`` beside other blocks; readability does the same conversion.
    """
    for container in root.find_all(CONTAINERS):
        run: list[Any] = []
        for child in list(container.children):
            if _ends_paragraph(child):
                _wrap(soup, run)
                run = []
            else:
                run.append(child)
        _wrap(soup, run)


def _ends_paragraph(node: Any) -> bool:
    """A block element, or a ``<br>`` followed (blank text aside) by another ``<br>``."""
    if not isinstance(node, Tag) or node.name not in BLOCKS:
        return False
    if node.name != "br":
        return True
    following = node.next_sibling
    while isinstance(following, NavigableString) and not following.strip():
        following = following.next_sibling
    return isinstance(following, Tag) and following.name == "br"


def _wrap(soup: BeautifulSoup, run: list[Any]) -> None:
    text = "".join(node.get_text() if isinstance(node, Tag) else str(node) for node in run)
    if len(text.strip()) < 25 or all(isinstance(node, Tag) and node.name == "br" for node in run):
        return
    paragraph = soup.new_tag("p")
    run[0].insert_before(paragraph)
    for node in run:
        paragraph.append(node.extract())


def _remove_never_content(soup: BeautifulSoup) -> None:
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    for tag in soup.find_all(NEVER_CONTENT):
        tag.decompose()
    for tag in soup.find_all(_hidden_or_not_content):
        tag.decompose()
    for tag in soup.find_all("time"):
        # A date stamp on its own is page furniture; inside a sentence it is prose.
        if isinstance(tag.parent, Tag) and tag.parent.name not in PROSE:
            tag.decompose()


def _remove_furniture(soup: BeautifulSoup) -> None:
    """Share bars, newsletter boxes, cookie notices: named so, short or mostly links.

    The later passes keep the blocks the first one removes for their names
    (an article shorter than a page of text must not lose its paragraphs), but
    not these: no article is short enough to be one.
    """
    for tag in soup.find_all(True):
        if tag.attrs is None or tag.name in ("html", "body", "article", "main"):
            continue
        marks = _class_and_id(tag)
        if marks and FURNITURE.search(marks):
            text = tag.get_text(" ", strip=True)
            if len(text) < FURNITURE_CHARS or _link_density(tag) > 0.5:
                tag.decompose()


def _hidden_or_not_content(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    role = tag.get("role")
    if isinstance(role, str) and role.lower() in NOT_CONTENT_ROLES:
        return True
    style = tag.get("style")
    if isinstance(style, str) and re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", style):
        return True
    return tag.has_attr("hidden") or tag.get("aria-hidden") == "true"


def _remove_unlikely(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(True):
        if tag.attrs is None or tag.name in ("html", "body", "article", "main", "a"):
            continue
        marks = _class_and_id(tag)
        if marks and UNLIKELY.search(marks) and not MAYBE_CONTENT.search(marks):
            tag.decompose()


def _class_and_id(tag: Tag) -> str:
    classes = " ".join(tag.get_attribute_list("class") or [])
    return f"{classes} {tag.get('id') or ''}".strip()


def _class_weight(tag: Tag) -> int:
    marks = _class_and_id(tag)
    weight = 0
    if marks:
        if NEGATIVE.search(marks):
            weight -= 25
        if POSITIVE.search(marks):
            weight += 25
    if tag.get("itemprop") == "articleBody":
        weight += 50
    return weight


def _best_block(root: Tag, weigh_classes: bool) -> Tag | None:
    scores: dict[int, float] = {}
    tags: dict[int, Tag] = {}
    for element in root.find_all(SCORED):
        text = element.get_text(" ", strip=True)
        if len(text) < 25:
            continue
        points = 1 + text.count(",") + min(len(text) // 100, 3)
        for level, ancestor in enumerate(_ancestors(element, 3)):
            key = id(ancestor)
            if key not in scores:
                tags[key] = ancestor
                scores[key] = _base_score(ancestor) + (_class_weight(ancestor) if weigh_classes else 0)
            scores[key] += points / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return None
    final = {key: score * (1 - _link_density(tags[key])) for key, score in scores.items()}
    return tags[max(final, key=lambda key: final[key])]


def _ancestors(element: Tag, depth: int) -> Iterator[Tag]:
    parent = element.parent
    for _ in range(depth):
        if not isinstance(parent, Tag) or parent.name in ("html", "[document]"):
            return
        yield parent
        parent = parent.parent


def _base_score(tag: Tag) -> float:
    if tag.name in ("div", "article", "main", "section"):
        return 5
    if tag.name in ("pre", "td", "blockquote"):
        return 3
    if tag.name in ("address", "ol", "ul", "dl", "dd", "dt", "li", "form"):
        return -3
    if tag.name in ("h1", "h2", "h3", "h4", "h5", "h6", "th"):
        return -5
    return 0


def _link_density(tag: Tag) -> float:
    text_length = len(tag.get_text(" ", strip=True))
    if text_length == 0:
        return 0.0
    link_length = sum(len(link.get_text(" ", strip=True)) for link in tag.find_all("a"))
    return min(link_length / text_length, 1.0)


def _with_siblings(top: Tag, weigh_classes: bool) -> list[Tag]:
    """The top block and those siblings that look like more of the article."""
    parent = top.parent
    if not isinstance(parent, Tag):
        return [top]
    threshold = max(10.0, _block_score(top, weigh_classes) * 0.2)
    chosen: list[Tag] = []
    for sibling in parent.find_all(True, recursive=False):
        if sibling is top or _continues_article(sibling, threshold, weigh_classes):
            chosen.append(sibling)
    return chosen


def _continues_article(sibling: Tag, threshold: float, weigh_classes: bool) -> bool:
    """A sibling block that scores like the article, or a prose paragraph with few links."""
    density = _link_density(sibling)
    if density >= 0.25:
        return False
    if _block_score(sibling, weigh_classes) >= threshold:
        return True
    if sibling.name != "p":
        return False
    text = sibling.get_text(" ", strip=True)
    return len(text) > 80 or (len(text) > 0 and density == 0 and re.search(r"\.( |$)", text) is not None)


def _block_score(tag: Tag, weigh_classes: bool) -> float:
    score = _base_score(tag) + (_class_weight(tag) if weigh_classes else 0)
    for paragraph in tag.find_all(SCORED):
        text = paragraph.get_text(" ", strip=True)
        if len(text) >= 25:
            score += 1 + text.count(",") + min(len(text) // 100, 3)
    return score * (1 - _link_density(tag))


def _clean_conditionally(node: Tag, weigh_classes: bool) -> None:
    """Remove link lists, galleries and other non-prose blocks inside the article."""
    for tag in reversed(node.find_all(CONDITIONAL)):
        if tag.attrs is None:  # already removed with an ancestor
            continue
        if _looks_like_boilerplate(tag, weigh_classes):
            tag.decompose()


def _looks_like_boilerplate(tag: Tag, weigh_classes: bool) -> bool:
    weight = _class_weight(tag) if weigh_classes else 0
    if weight < 0:
        return True
    text = tag.get_text(" ", strip=True)
    if text.count(",") >= 10:
        return False
    paragraphs = len(tag.find_all("p"))
    images = len(tag.find_all("img"))
    items = len(tag.find_all("li")) - 100
    density = _link_density(tag)
    if images > 1 and paragraphs / images < 0.5:
        return True
    if tag.name not in ("ul", "ol") and items > paragraphs:
        return True
    if weight < 25 and density > 0.2:
        return True
    if weight >= 25 and density > 0.5:
        return True
    return paragraphs == 0 and len(text) < 25 and tag.name not in ("ul", "ol", "table")


def _paragraphs(node: Tag) -> list[str]:
    """The text of ``node`` as paragraphs: a break at every block element."""
    parts: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            parts.append(text)
        current.clear()

    def walk(tag: Tag) -> None:
        for child in tag.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, Comment):
                    current.append(str(child))
            elif isinstance(child, Tag):
                if child.name in ("h1",):
                    flush()
                    continue
                block = child.name in BLOCKS
                if block:
                    flush()
                walk(child)
                if block:
                    flush()

    walk(node)
    flush()
    return parts


def _drop_title(text: str, title: str) -> str:
    """Keep the headline out of the body."""
    if not title:
        return text
    paragraphs = text.split("\n\n")
    folded = " ".join(title.split()).casefold()
    return "\n\n".join(part for part in paragraphs if part.casefold() != folded)
