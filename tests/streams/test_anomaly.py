"""The isolation forest end to end offline: train, serve, batch == single, refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from detectors import Jurisdiction
from detectors.anomaly import AnomalyDetector, AnomalyParams
from detectors.behaviour import FEATURE_NAMES
from detectors.forest import ForestArtifact
from models import Transaction
from streams.cli import main
from streams.replay import EventScore, ReplayReport, read_events, replay
from streams.settings import AnomalySettings
from streams.simulate import SimulationConfig, simulate, write_files
from streams.train import train_files, training_rows


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("history")
    return write_files(simulate(SimulationConfig(accounts=150, days=20, seed=3)), out)


@pytest.fixture(scope="module")
def model(history: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.skops"
    train_files(history["transactions"], history["accounts"], path, jurisdiction=Jurisdiction())
    return path


def events_of(files: dict[str, Path]) -> list:
    return read_events(files["transactions"], files["accounts"], files["indicators"],
                       ReplayReport())


def detector(model: Path, threshold: float = 0.995) -> AnomalyDetector:
    loaded = AnomalySettings(model=model, threshold=threshold).load()
    assert loaded is not None
    return loaded


def test_training_writes_the_artifact_its_hash_and_a_report(model: Path) -> None:
    assert model.is_file()
    assert model.with_name("model.skops.sha256").is_file()
    report = model.with_name("model.skops.report.json").read_text()
    assert '"training_rows"' in report
    artifact = ForestArtifact.load(model, FEATURE_NAMES)
    assert artifact.model_version.startswith("iforest-")


def test_train_and_serve_compute_the_same_rows(history: dict[str, Path], model: Path) -> None:
    """Feature parity: the rows `txmon train` learns from are the rows replay scores."""
    events = events_of(history)
    trained = training_rows(events, Jurisdiction())
    scores: list[EventScore] = []
    replay(events, anomaly=detector(model), scores=scores)
    assert len(scores) == len(trained)
    served = detector(model).score(trained)
    assert [s.score for s in scores] == [float(x) for x in served]


def test_batch_scores_equal_single_scores_and_alerts_do_not_depend_on_the_batch(
    history: dict[str, Path], model: Path
) -> None:
    events = events_of(history)
    one: list[EventScore] = []
    many: list[EventScore] = []
    alerts_one = replay(events, anomaly=detector(model, 0.99), batch=1, scores=one)
    alerts_many = replay(events, anomaly=detector(model, 0.99), batch=500, scores=many)
    assert one == many
    assert sorted(a.model_dump_json() for a in alerts_one) == sorted(
        a.model_dump_json() for a in alerts_many
    )
    anomalies = [a for a in alerts_many if a.typologies[0].value == "anomaly"]
    assert anomalies, "a 0.99 threshold flags some of the history"
    assert all(a.detector_versions["model"].startswith("iforest-") for a in alerts_many)


def test_an_outlier_is_explained_by_the_features_that_made_it(model: Path) -> None:
    anomaly = detector(model)
    cal = anomaly.artifact.calibration
    typical = [float(x) for x in cal.medians]
    units = [float(x) if float(x) > 0 else 1.0 for x in cal.scales]
    # 6 spreads off in every feature, and 60 in the amount against the account's history
    odd = [m + 6 * u for m, u in zip(typical, units, strict=True)]
    z = FEATURE_NAMES.index("amount_z")
    odd[z] = typical[z] + 60 * units[z]
    (value,) = anomaly.score([odd])
    assert value >= anomaly.params.threshold
    txn = Transaction.model_validate(
        {"event_id": "e1", "occurred_at": "2026-10-05T03:00:00Z", "account_id": "A1",
         "kind": "transfer", "direction": "out", "amount": "900000", "currency": "MAD",
         "counterparty": {"account_id": "X9", "country": "AE"}}
    )
    finding = anomaly.finding(txn, odd, float(value))
    assert finding is not None and 0.5 <= finding.score <= 1.0
    named = [u["feature"] for u in finding.evidence["unusual_features"]]
    assert named[0] == "amount_z"
    assert "amount_z" in finding.summary
    assert anomaly.finding(txn, typical, float(anomaly.score([typical])[0])) is None


def events_of_small() -> list:
    sim = simulate(SimulationConfig(accounts=40, days=10, seed=9))
    from models import AccountEvent, decode

    models = {"transactions": Transaction, "accounts": AccountEvent}
    out = []
    for m in sim.messages:
        if m.topic in models:
            r = decode(models[m.topic], m.value, m.key)
            if not hasattr(r, "reason"):
                out.append(r)
    return out


def test_a_tampered_model_is_refused_with_one_sentence(model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "model.skops"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    (tmp_path / "model.skops.sha256").write_text(
        model.with_name("model.skops.sha256").read_text()
    )
    with pytest.raises(ValueError, match="sha256"):
        AnomalySettings(model=bad).load()


def test_a_model_with_other_features_is_refused(model: Path) -> None:
    artifact = ForestArtifact.load(model, FEATURE_NAMES)
    with pytest.raises(ValueError, match="features"):
        AnomalyDetector(_renamed(artifact), AnomalyParams())
    with pytest.raises(Exception, match="features"):  # ArtifactError at load time
        ForestArtifact.load(model, tuple(reversed(FEATURE_NAMES)))


def _renamed(artifact: ForestArtifact) -> ForestArtifact:
    from dataclasses import replace

    return replace(artifact, feature_names=tuple(reversed(artifact.feature_names)))


def test_without_a_model_nothing_changes(history: dict[str, Path]) -> None:
    events = events_of(history)
    assert AnomalySettings().load() is None
    plain = replay(events)
    assert all("model" not in a.detector_versions for a in plain)


def test_cli_train_replay_with_scores_and_refusal(history: dict[str, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "m.skops"
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--transactions", str(history["transactions"]),
                                  "--accounts", str(history["accounts"]), "--out", str(out),
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "trained iforest-" in result.output
    scores = tmp_path / "scores.jsonl"
    result = runner.invoke(main, ["replay", "--transactions", str(history["transactions"]),
                                  "--out", str(tmp_path / "alerts.jsonl"), "--model", str(out),
                                  "--scores", str(scores), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert scores.read_text().count("\n") > 100
    missing = runner.invoke(main, ["replay", "--transactions", str(history["transactions"]),
                                   "--out", "-", "--model", str(tmp_path / "nope.skops")])
    assert missing.exit_code == 2
    assert missing.output.startswith("txmon: ") and missing.output.count("\n") == 1
    bad_name = runner.invoke(main, ["train", "--transactions", str(history["transactions"]),
                                    "--out", str(tmp_path / "m.pickle")])
    assert bad_name.exit_code == 2 and ".skops" in bad_name.output


def test_amounts_far_above_the_account_history_score_high(model: Path) -> None:
    """Scores are monotone in how unusual the amount is, other features equal."""
    anomaly = detector(model)
    rows = np.asarray(training_rows(events_of_small(), Jurisdiction()))
    base = np.median(rows, axis=0)
    z = FEATURE_NAMES.index("amount_z")
    values = []
    for amount_z in (0.0, 5.0, 15.0):
        row = base.copy()
        row[z] = amount_z
        values.append(float(anomaly.score([list(row)])[0]))
    assert values[0] <= values[1] <= values[2]
