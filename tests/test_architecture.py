"""The dependency rules of the design are enforced: breaking one makes `make lint` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on a copy of the packages, with that copy first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in ("coop", "funding", "dashboards"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("coop/ledger/service.py", "import funding", "coop never imports funding"),
    ("coop/core/money.py", "import coop.ledger.models", "coop.core is the kernel"),
    ("coop/members/service.py", "import stripe", "SDKs are imported only in coop.payments.providers"),
    ("coop/shares/service.py", "import coop.payments.api", "never its api"),
    ("coop/ledger/models.py", "import coop.ledger.service", "imports go down only"),
])
def test_a_forbidden_import_breaks_the_lint(tree: Path, module: str, line: str, contract: str) -> None:
    assert lint_imports(tree).returncode == 0
    target = tree / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and contract in result.stdout
