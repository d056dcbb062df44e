"""The production settings example is valid: every variable in it is read by the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.settings import TxmonSettings

EXAMPLE = Path(__file__).parents[2] / "deploy" / "txmon.env.example"


def test_the_env_example_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    names = []
    for line in EXAMPLE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        names.append(name)
        if "FILE" in name:  # TLS files: point at an existing file
            value = str(tmp_path / "x.pem")
            Path(value).write_text("")
        monkeypatch.setenv(name, value)
    assert "TXMON_REORDER_HOLD" in names and "TXMON_ANOMALY__THRESHOLD" in names
    settings = TxmonSettings()
    assert settings.reorder_hold == 0.5
    assert settings.jurisdiction.timezone == "Africa/Casablanca"
