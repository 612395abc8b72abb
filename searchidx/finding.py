"""Which files under the folders given to ``ingest`` are read, and how each is named.

Hidden files and folders (names starting with a dot) are not looked into, as
with ripgrep, and neither are those matched by a ``.searchidxignore`` file (one
glob a line, like ``.gitignore``: a name pattern matches at any depth below
the file's folder, a pattern with a slash matches the path relative to it, a
trailing slash matches folders only). Every file passed over is counted, and
so is every folder not looked into, so the ingest summary accounts for them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from searchidx.documents import is_supported, path_text

IGNORE_FILE = ".searchidxignore"


@dataclass
class FoundFiles:
    """The supported files in sorted order, each with its key; what was passed over."""

    supported: dict[Path, str] = field(default_factory=dict)
    ignored: int = 0
    ignored_folders: int = 0


def find_files(folders: list[Path], *, exclude: Path | None = None) -> FoundFiles:
    """Every supported file under ``folders`` once (a file reached twice, through a link, counts once).

    ``exclude`` (the index folder, when it lies inside one of them) is not
    looked into and not counted.
    """
    excluded = exclude.resolve() if exclude is not None else None
    seen: set[str] = set()
    found = FoundFiles()
    for folder in folders:
        for path, key, wanted in _walk(folder, excluded, found):
            if key in seen:
                continue
            seen.add(key)
            if wanted and is_supported(path):
                found.supported[path] = key
            else:
                found.ignored += 1
    return found


def file_key(path: Path) -> str:
    """How the manifest names a file: its absolute, resolved path (a link in a loop: its own path)."""
    try:
        return path_text(str(path.resolve()))
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop, later versions OSError
        return path_text(os.path.abspath(path))


def is_under(key: str, folders: list[Path]) -> bool:
    """Whether the file named ``key`` lies under one of ``folders``."""
    return any(key.startswith(file_key(folder) + os.sep) for folder in folders)


def _walk(folder: Path, excluded: Path | None, found: FoundFiles) -> Iterator[tuple[Path, str, bool]]:
    """Every file under ``folder``, its key, and whether it is to be read (not hidden, not ignored)."""
    rules: dict[Path, list[tuple[Path, str]]] = {}
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        resolved = base.resolve()  # once per folder; a file's own key costs a resolve only if it is a link
        inherited = rules.get(base.parent, []) if base != folder else []
        active = inherited + _ignore_rules(base)
        rules[base] = active
        kept = [name for name in dirs if (base / name).resolve() != excluded]
        dirs[:] = sorted(name for name in kept if not _passed_over(base / name, active, is_dir=True))
        found.ignored_folders += len(kept) - len(dirs)
        for name in sorted(files):
            if name == IGNORE_FILE:
                continue
            path = base / name
            key = file_key(path) if os.path.islink(path) else path_text(os.path.join(resolved, name))
            yield path, key, not _passed_over(path, active, is_dir=False)


def _passed_over(path: Path, rules: list[tuple[Path, str]], *, is_dir: bool) -> bool:
    return path.name.startswith(".") or _ignored(path, rules, is_dir)


def _ignore_rules(folder: Path) -> list[tuple[Path, str]]:
    """The patterns of ``folder/.searchidxignore``, each with the folder it is relative to."""
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [(folder, line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _ignored(path: Path, rules: list[tuple[Path, str]], is_dir: bool) -> bool:
    for base, pattern in rules:
        if pattern.endswith("/"):
            if not is_dir:
                continue
            pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(path.relative_to(base).as_posix(), pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(path.name, pattern):
            return True
    return False
