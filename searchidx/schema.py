"""The Whoosh schema of a searchidx index, and opening or creating one.

Title and body are analysed the same way (words, lower case, accents folded,
English stop words dropped, Porter stems) so a word means the same in both;
title matches weigh more than body matches.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, TEXT, Schema
from whoosh.support.charset import accent_map

from searchidx.errors import IndexNotFoundError, IndexWriteError

TITLE_BOOST = 2.0
# Bumped whenever the fields or their analysis change; recorded in the manifest.
SCHEMA_VERSION = 3
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    if index is not None:
        return Path(index)
    return Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


# Han, Hiragana, Katakana and Hangul: scripts written without spaces between words.
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


class CjkBigramFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """Split runs of CJK characters into overlapping pairs, as Lucene's CJK analyzer does.

    The tokenizer sees a whole Chinese sentence as one word; pairs of
    characters make its words findable without a dictionary.
    """

    def __call__(self, tokens: Any) -> Any:
        """The tokens, CJK ones split into pairs; positions renumbered in order."""
        position = 0
        for token in tokens:
            if not CJK.search(token.text):
                token.pos = position
                position += 1
                yield token
                continue
            start = token.startchar if hasattr(token, "startchar") else 0
            text = token.text
            for part, offset in _cjk_parts(text):
                token.text = part
                if hasattr(token, "startchar"):
                    token.startchar, token.endchar = start + offset, start + offset + len(part)
                token.pos = position
                position += 1
                yield token


def _cjk_parts(text: str) -> list[tuple[str, int]]:
    """The pieces of a token: CJK runs as character pairs, anything else as it is."""
    parts: list[tuple[str, int]] = []
    position = 0
    for run in CJK.finditer(text):
        if run.start() > position:
            parts.append((text[position : run.start()], position))
        chars = run.group()
        if len(chars) == 1:
            parts.append((chars, run.start()))
        parts += [(chars[i : i + 2], run.start() + i) for i in range(len(chars) - 1)]
        position = run.end()
    if position < len(text):
        parts.append((text[position:], position))
    return parts


def text_analyzer() -> Any:
    """The analyzer of the title and body fields (also used to mark snippets).

    Words (any script), lower case, accents folded (``café`` = ``cafe``),
    English stop words dropped, CJK runs as character pairs, Porter stems.
    """
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter()
        | CjkBigramFilter()  # after the stop filter, which would drop single characters
        | StemFilter()
    )


def url_analyzer() -> Any:
    """URLs are searchable by their parts (``url:moscowtimes``, ``url:2015``), unstemmed."""
    return RegexTokenizer(r"\w+") | LowercaseFilter()


def build_schema() -> Schema:
    """The fields every searchidx document has."""
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST),
        body=TEXT(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        url=TEXT(analyzer=url_analyzer(), stored=True),
        source=ID(stored=True, sortable=True),
        path=ID(stored=True),
    )


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none."""
    if not path.is_dir() or not whoosh_index.exists_in(str(path)):
        raise IndexNotFoundError(path)
    return whoosh_index.open_dir(str(path))


def open_or_create_index(path: Path) -> Any:
    """Open the index at ``path`` for writing, creating the directory and index if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(path)):
            return whoosh_index.open_dir(str(path))
        return whoosh_index.create_in(str(path), build_schema())
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error
