"""The Prometheus rules and scrape config in deploy/ are checked by the real promtool.

promtool comes from Debian's `prometheus` package; `.ci/run` installs it and sets
TXMON_REQUIRE_PROMTOOL=1 so that CI cannot skip these checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("TXMON_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required here (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=PROMETHEUS_DIR, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_rules_are_valid() -> None:
    result = run("check", "rules", "txmon-rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_fire_as_their_unit_tests_expect() -> None:
    result = run("test", "rules", "txmon-rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_is_valid() -> None:
    result = run("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_rule_is_rejected(tmp_path: Path) -> None:
    """The check above can fail: promtool rejects a rule with a bad expression."""
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(\n")
    result = run("check", "rules", str(bad))
    assert result.returncode != 0


def check_metrics_text(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` over an exposition (used by the end-to-end test too)."""
    return run("check", "metrics", stdin=text)
