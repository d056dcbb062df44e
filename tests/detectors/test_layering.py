"""Layering: models <- detectors <- streams. The pure layers never pull in Faust or Kafka."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: package -> top-level modules its files must never import.
FORBIDDEN = {
    "models": {"detectors", "streams", "faust", "aiokafka", "mode"},
    "detectors": {"streams", "faust", "aiokafka", "mode"},
}


def imported_top_level_modules(path: Path, package: str) -> set[str]:
    """Top-level names of every module `path` imports (relative imports resolve to `package`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(package)
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def violations(package_dir: Path, package: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{path.relative_to(package_dir.parent)} imports {name}"
        for path in package_dir.rglob("*.py")
        for name in imported_top_level_modules(path, package) & forbidden
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_layers_do_not_import_upper_layers_or_faust(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files, f"no Python files found under {package}/"
    assert violations(ROOT / package, package, FORBIDDEN[package]) == []


def test_the_import_checker_catches_a_violation(tmp_path: Path) -> None:
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "ok.py").write_text("import json\nfrom . import sibling\n", encoding="utf-8")
    (pkg / "bad.py").write_text(
        "from detectors.policy import AlertPolicy\n"
        "def f():\n    import faust.types\n    from streams import app\n",
        encoding="utf-8",
    )
    assert violations(pkg, "models", FORBIDDEN["models"]) == [
        "models/bad.py imports detectors",
        "models/bad.py imports faust",
        "models/bad.py imports streams",
    ]


def test_importing_detectors_and_models_loads_no_streaming_library() -> None:
    code = (
        "import sys, detectors, models, models.schema, detectors.identifiers\n"
        "loaded = sorted(m for m in ('faust', 'aiokafka', 'mode', 'streams') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded by the pure layers: {result.stdout.strip()}"
