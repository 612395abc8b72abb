"""Which files given to ``ingest``, or found under the folders given, are read, and how each is named.

A file given by name is read whatever its name (when searchidx reads its type).
Under a folder, a folder's own documents (``README.txt``, ``LICENSE.md``,
``COPYING.html``...: see :func:`is_folder_document`) are not articles and are
passed over unless asked for, and counted apart. Hidden files and folders
(names starting with a dot) are not looked into, as with ripgrep, and neither
are those matched by a ``.searchidxignore`` file (one glob a line, like
``.gitignore``: a name pattern matches at any depth below the file's folder, a
pattern with a slash matches the path relative to it, a trailing slash matches
folders only). Every file passed over is counted, and so is every folder not
looked into, so the ingest summary accounts for them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from searchidx.inputs.documents import is_supported, path_text

IGNORE_FILE = ".searchidxignore"
# Names (before the first dot, any case) of the files that document a folder rather than hold an article.
FOLDER_DOCUMENTS = frozenset({
    "authors", "changelog", "changes", "code_of_conduct", "contributing", "contributors", "copying",
    "copyright", "licence", "license", "notice", "readme",
})  # fmt: skip


@dataclass
class FoundFiles:
    """The supported files in sorted order, each with its key; what was passed over.

    Each file is named by its path's text (a ``Path`` each cost about 500 bytes more at a million
    files); its key is the same text object when the path is already resolved.

    ``folder_documents`` are the supported files passed over as a folder's own
    documents, ``ignored`` the other files passed over.
    """

    supported: dict[str, str] = field(default_factory=dict)
    ignored: int = 0
    ignored_folders: int = 0
    folder_documents: list[Path] = field(default_factory=list)


def find_files(
    roots: list[Path], *, exclude: Path | None = None, include_folder_docs: bool = False
) -> FoundFiles:
    """Every supported file among or under ``roots`` (folders and files) once.

    A file reached twice (through a link, or named and found in a folder)
    counts once; a file named in ``roots`` is read whatever its name.
    ``exclude`` (the index folder, when it lies inside one of them) is not
    looked into and not counted. ``include_folder_docs`` reads a folder's own
    documents (README, LICENSE...) as articles too.
    """
    excluded = exclude.resolve() if exclude is not None else None
    named = {file_key(root) for root in roots if not root.is_dir()}
    seen: set[str] = set()
    found = FoundFiles()
    for root in roots:
        files = _walk(root, excluded, found) if root.is_dir() else iter([(str(root), file_key(root), True)])
        for text, key, wanted in files:
            if key in seen:
                continue
            seen.add(key)
            if key in named:  # given by name: read as asked
                wanted = True
            elif wanted and not include_folder_docs and is_folder_document(text) and is_supported(text):
                found.folder_documents.append(Path(text))
                continue
            if wanted and is_supported(text):
                found.supported[text] = key if key != text else text
            else:
                found.ignored += 1
    return found


def is_folder_document(path: os.PathLike[str] | str) -> bool:
    """Whether the file documents its folder rather than holding an article: README.txt, readme.md, LICENSE...

    Known by its name before the first dot, in any case (``README.en.md`` too).
    """
    return os.path.basename(path).split(".", 1)[0].casefold() in FOLDER_DOCUMENTS


def file_key(path: Path) -> str:
    """How the manifest names a file: its absolute, resolved path (a link in a loop: its own path)."""
    try:
        return path_text(str(path.resolve()))
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop, later versions OSError
        return path_text(os.path.abspath(path))


def is_under(key: str, roots: list[Path]) -> bool:
    """Whether the file named ``key`` is one of ``roots`` or lies under one of them (a folder).

    What an ingest of ``roots`` may remove when the file is no longer found.
    """
    keys = [file_key(root) for root in roots]
    return any(key == root or key.startswith(root + os.sep) for root in keys)


def _walk(folder: Path, excluded: Path | None, found: FoundFiles) -> Iterator[tuple[str, str, bool]]:
    """Every file under ``folder``: its path's text, its key, and whether it is to be read (not hidden,
    not ignored). Its own files first (by name), then its folders' (by name; a link to a folder is not
    followed), as ``os.walk`` goes; a folder that cannot be listed is passed by."""
    yield from _walk_folder(os.fspath(folder), [], excluded, found)


def _walk_folder(
    base: str, inherited: list[tuple[Path, str]], excluded: Path | None, found: FoundFiles
) -> Iterator[tuple[str, str, bool]]:
    try:
        with os.scandir(base) as listing:
            entries = sorted(listing, key=_name)
    except OSError:
        return
    active = inherited + _ignore_rules(Path(base))
    folders = [entry for entry in entries if _is_folder(entry)]
    kept = [entry for entry in folders if Path(entry.path).resolve() != excluded]
    walked = [
        entry
        for entry in kept
        if not _passed_over(entry.name, _joined(base, entry.name), active, is_dir=True)
    ]
    found.ignored_folders += len(kept) - len(walked)
    resolved = Path(base).resolve()  # once per folder: a file's own key costs a resolve only if it is a link
    for entry in entries:
        if entry.name == IGNORE_FILE or _is_folder(entry):
            continue
        path = _joined(base, entry.name)
        key = file_key(Path(path)) if entry.is_symlink() else path_text(os.path.join(resolved, entry.name))
        yield path, key, not _passed_over(entry.name, path, active, is_dir=False)
    for entry in walked:
        if not entry.is_symlink():
            yield from _walk_folder(_joined(base, entry.name), active, excluded, found)


def _joined(folder: str, name: str) -> str:
    """``folder/name`` as a ``Path`` writes it (``name`` alone in ``.``)."""
    return name if folder == "." else os.path.join(folder, name)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is a folder, or a link to one (the type is known from the listing, mostly)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _passed_over(name: str, path: str, rules: list[tuple[Path, str]], *, is_dir: bool) -> bool:
    return name.startswith(".") or _ignored(name, path, rules, is_dir)


def _ignore_rules(folder: Path) -> list[tuple[Path, str]]:
    """The patterns of ``folder/.searchidxignore``, each with the folder it is relative to."""
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [(folder, line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _ignored(name: str, path: str, rules: list[tuple[Path, str]], is_dir: bool) -> bool:
    for base, pattern in rules:
        if pattern.endswith("/"):
            if not is_dir:
                continue
            pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(Path(path).relative_to(base).as_posix(), pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False
