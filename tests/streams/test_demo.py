"""The demo's model: trained on simulated history, reused while it loads, else retrained."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from streams import demo


@pytest.fixture
def small_history(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "HISTORY_ACCOUNTS", 60)
    monkeypatch.setattr(demo, "HISTORY_DAYS", 10)


def test_ensure_model_trains_then_reuses_then_retrains(
    tmp_path: Path, small_history: None
) -> None:
    console = Console(record=True, width=200)
    path, version, sha = demo.ensure_model(tmp_path, console)
    assert path == tmp_path / "model.skops"
    assert version.startswith("iforest-")
    assert sha == (tmp_path / "model.skops.sha256").read_text().split()[0]
    assert (tmp_path / "history" / "transactions.jsonl").is_file()
    assert f"trained anomaly model {version}" in console.export_text()

    assert demo.ensure_model(tmp_path, console) == (path, version, sha)
    assert f"anomaly model {version}: reusing" in console.export_text()

    (tmp_path / "model.skops.sha256").write_text("0" * 64 + "  model.skops\n")
    again = demo.ensure_model(tmp_path, console)
    assert "cannot be used" in console.export_text()
    assert again[1] == version  # the same history and seed give the same model


def test_anomaly_scores_reads_the_histogram() -> None:
    values = {
        "txmon_anomaly_score_count": 200.0,
        'txmon_anomaly_score_bucket{le="0.995"}': 197.0,
    }
    assert demo.anomaly_scores(values) == (200.0, 3.0)
    assert demo.anomaly_scores({}) == (0.0, 0.0)
