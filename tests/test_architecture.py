"""The layout's rules: the import contracts hold, they catch a violation, and the architecture page matches the tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "searchidx"
ARCHITECTURE = REPO / "docs" / "architecture.md"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package and contracts in ``root`` (no cache: a copy must be read afresh)."""
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
               "--no-cache"]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(root)}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)


def test_every_import_contract_holds() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_engine_imported_by_the_query_language_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "searchidx", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    analysis = tmp_path / "searchidx" / "query" / "analysis.py"
    analysis.write_text(
        analysis.read_text() + "\nfrom searchidx.engines.whoosh.backend import WhooshBackend\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert broken, result.stdout
    assert "searchidx.query.analysis -> searchidx.engines.whoosh.backend" in result.stdout
    assert re.search(
        r"Contracts: \d+ kept, [2-9] broken", result.stdout
    )  # layers, engine-free, no circles...


def test_the_architecture_page_names_every_module_and_only_modules_that_exist() -> None:
    page = ARCHITECTURE.read_text(encoding="utf-8")
    modules = [path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts]
    for module in modules:
        if module.name == "__init__.py" and module.parent != Path():
            assert f"`{module.parent.name}/" in page, (
                f"docs/architecture.md does not name the package {module.parent}"
            )
        else:
            assert module.name in page, f"docs/architecture.md does not name {module}"
    for named in set(re.findall(r"([\w/]+\.py)\b", page)):  # a module by its path, or the end of it
        if named.startswith(("tests/", "benchmarks/")):
            assert (REPO / named).exists(), f"docs/architecture.md names {named}, which does not exist"
        else:
            assert any(f"/searchidx/{module}".endswith(f"/{named}") for module in modules), (
                f"docs/architecture.md names {named}, which does not exist"
            )
