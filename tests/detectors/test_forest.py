"""The isolation forest: numpy scoring bit-identical to scikit-learn, calibration, artifacts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from detectors.forest import (
    ALLOWED_TYPES,
    ArtifactError,
    Calibration,
    ForestArtifact,
    ForestScorer,
    average_path_length,
    fit_forest,
)

CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
N_FEATURES = 18
NAMES = tuple(f"f{i:02d}" for i in range(N_FEATURES))
DESCRIPTIONS = tuple(f"feature number {i}" for i in range(N_FEATURES))
ROOT = Path(__file__).resolve().parents[2]

# The probe rows hold 1e300, which scikit-learn (and ForestScorer) cast to float32 +inf.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")


def transaction_like(n: int, seed: int) -> np.ndarray:
    """Rows shaped like account-profile features: amounts, counts (many ties), ratios."""
    rng = np.random.default_rng(seed)
    amounts = rng.lognormal(7.0, 1.5, size=(n, 6))
    counts = rng.poisson(3.0, size=(n, 6)).astype(np.float64)
    ratios = rng.beta(2.0, 5.0, size=(n, 4))
    flags = (rng.random((n, 2)) < 0.1).astype(np.float64)
    return np.hstack([amounts, counts, ratios, flags])


def probe_rows(n: int, seed: int, *, nan: bool) -> np.ndarray:
    """Typical rows, outliers, exact duplicates of training values, infinities, NaN."""
    rng = np.random.default_rng(seed)
    rows = transaction_like(n, seed + 1000)
    rows[: n // 10] *= rng.uniform(0.0, 50.0, size=(n // 10, N_FEATURES))
    rows[n // 10 : n // 5] = transaction_like(n // 10, 1)  # values seen in training
    rows[-3:, 0] = [np.inf, -np.inf, 1e300]
    if nan:
        rows[rng.random(rows.shape) < 0.02] = np.nan
    return rows


TRAIN = transaction_like(3000, 1)


@pytest.fixture(scope="module")
def train() -> np.ndarray:
    return TRAIN


FOREST_PARAMS: dict[str, dict[str, Any]] = {
    "default-100": {"n_estimators": 100, "random_state": 0},
    "max-features-0.5": {"n_estimators": 60, "max_features": 0.5, "random_state": 1},
    "max-features-7": {"n_estimators": 40, "max_features": 7, "max_samples": 512,
                       "random_state": 2},
    "small-contaminated": {"n_estimators": 25, "max_samples": 16, "contamination": 0.05,
                           "random_state": 3},
    "max-samples-0.1": {"n_estimators": 30, "max_samples": 0.1, "random_state": 4},
}


@pytest.fixture(scope="module", params=sorted(FOREST_PARAMS))
def fitted(request: pytest.FixtureRequest, train: np.ndarray) -> tuple[Any, ForestScorer]:
    forest = IsolationForest(**FOREST_PARAMS[request.param]).fit(train)
    return forest, ForestScorer(forest)


@pytest.fixture(scope="module")
def artifact(train: np.ndarray) -> ForestArtifact:
    return fit_forest(train, NAMES, DESCRIPTIONS, created_at=CREATED, n_estimators=50)


# Scoring: bit-identical to scikit-learn.


def test_average_path_length_matches_sklearn() -> None:
    from sklearn.ensemble._iforest import _average_path_length

    n = np.arange(0, 5000)
    assert np.array_equal(average_path_length(n), _average_path_length(n))


@pytest.mark.parametrize("nan", [False, True])
def test_scores_bit_identical_on_20k_rows(fitted: tuple[Any, ForestScorer], nan: bool) -> None:
    forest, scorer = fitted
    rows = probe_rows(20_000, 7, nan=nan)
    assert np.array_equal(scorer.score_samples(rows), forest.score_samples(rows))


@pytest.mark.parametrize("batch", [1, 7, 500, 20_000])
def test_batch_sizes_bit_identical(fitted: tuple[Any, ForestScorer], batch: int) -> None:
    forest, scorer = fitted
    rows = probe_rows(20_000, 11, nan=False)[:batch]
    assert np.array_equal(scorer.score_samples(rows), forest.score_samples(rows))


def test_training_rows_bit_identical(fitted: tuple[Any, ForestScorer], train: np.ndarray) -> None:
    forest, scorer = fitted
    assert np.array_equal(scorer.score_samples(train), forest.score_samples(train))


def test_batch_scores_equal_single_row_scores(fitted: tuple[Any, ForestScorer]) -> None:
    _, scorer = fitted
    rows = probe_rows(300, 13, nan=True)
    batch = scorer.score_samples(rows)
    singles = np.concatenate([scorer.score_samples(rows[i : i + 1]) for i in range(len(rows))])
    assert np.array_equal(batch, singles)


def test_values_at_thresholds_split_like_sklearn(fitted: tuple[Any, ForestScorer]) -> None:
    """Values equal to a threshold rounded to float32, and their float32 neighbours."""
    forest, scorer = fitted
    rng = np.random.default_rng(5)
    cuts: list[np.ndarray] = []
    for tree, columns in zip(forest.estimators_, forest.estimators_features_, strict=True):
        t = tree.tree_
        internal = t.children_left >= 0
        feature = np.asarray(columns)[t.feature[internal]]
        if tree.n_features_in_ == forest.n_features_in_:
            feature = t.feature[internal]
        cuts.append(np.stack([feature, t.threshold[internal]], axis=1))
    table = np.concatenate(cuts)
    rows = np.tile(np.median(TRAIN, axis=0), (6000, 1))
    for i in range(len(rows)):
        for f, thr in table[rng.integers(0, len(table), size=6)]:
            near = np.float32(thr)
            rows[i, int(f)] = [near, np.nextafter(near, np.float32(np.inf)),
                               np.nextafter(near, np.float32(-np.inf))][i % 3]
    assert np.array_equal(scorer.score_samples(rows), forest.score_samples(rows))


def test_forest_fitted_with_missing_values(train: np.ndarray) -> None:
    """Trees that saw NaN at training send NaN where `missing_go_to_left` says."""
    rng = np.random.default_rng(3)
    holed = train.copy()
    holed[rng.random(holed.shape) < 0.1] = np.nan
    forest = IsolationForest(n_estimators=50, random_state=0).fit(holed)
    assert any(e.tree_.missing_go_to_left.any() for e in forest.estimators_)
    rows = probe_rows(5000, 17, nan=True)
    assert np.array_equal(ForestScorer(forest).score_samples(rows), forest.score_samples(rows))


def test_input_shape_checked(fitted: tuple[Any, ForestScorer]) -> None:
    _, scorer = fitted
    with pytest.raises(ValueError, match="18 features"):
        scorer.score_samples(np.zeros((3, 17)))
    with pytest.raises(ValueError, match="18 features"):
        scorer.score_samples(np.zeros(18))
    assert scorer.score_samples(np.zeros((0, 18))).shape == (0,)


# Calibration.


def test_calibration_in_unit_interval_and_monotonic(artifact: ForestArtifact) -> None:
    raw = artifact.anomaly_scores(probe_rows(20_000, 19, nan=False))
    grid = np.sort(np.concatenate([raw, np.linspace(-1.0, 2.0, 1001),
                                   artifact.calibration.quantiles]))
    calibrated = artifact.calibration.calibrate(grid)
    assert calibrated.min() >= 0.0 and calibrated.max() <= 1.0
    assert np.all(np.diff(calibrated) >= 0.0)
    assert calibrated[0] == 0.0 and calibrated[-1] == 1.0
    assert np.array_equal(artifact.calibration.calibrate(grid), calibrated)  # deterministic


def test_training_rows_calibrate_roughly_uniform(artifact: ForestArtifact,
                                                 train: np.ndarray) -> None:
    calibrated = artifact.score(train)
    deciles = np.histogram(calibrated, bins=10, range=(0.0, 1.0))[0] / len(train)
    assert np.all(np.abs(deciles - 0.1) < 0.02), deciles
    assert abs(float(np.median(calibrated)) - 0.5) < 0.02


def test_outliers_calibrate_high(artifact: ForestArtifact, train: np.ndarray) -> None:
    outliers = np.median(train, axis=0) + 100 * (train.max(axis=0) - train.min(axis=0))
    assert artifact.score(outliers[None, :])[0] == 1.0


def test_calibration_ties_and_validation() -> None:
    quantiles = np.array([0.1, 0.2, 0.2, 0.2, 0.5])  # levels 0, .25, .5, .75, 1
    cal = Calibration(quantiles=quantiles, medians=np.zeros(2), scales=np.ones(2))
    got = cal.calibrate([0.0, 0.1, 0.15, 0.2, 0.35, 0.5, 0.9])
    assert np.allclose(got, [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    with pytest.raises(ValueError, match="ascending"):
        Calibration(quantiles=np.array([0.3, 0.2]), medians=np.zeros(1), scales=np.ones(1))
    with pytest.raises(ValueError, match="scales"):
        Calibration(quantiles=np.array([0.1, 0.2]), medians=np.zeros(1), scales=np.zeros(1))


def test_medians_and_scales_for_explanations(artifact: ForestArtifact,
                                             train: np.ndarray) -> None:
    cal = artifact.calibration
    assert np.array_equal(cal.medians, np.median(train, axis=0))
    assert np.all(cal.scales > 0)  # the 0/1 flag columns have IQR 0: standard deviation
    dev = cal.deviations(cal.medians[None, :])
    assert np.array_equal(dev, np.zeros((1, N_FEATURES)))


# fit_forest and the artifact in memory.


def test_fit_forest_is_deterministic_and_versioned(train: np.ndarray,
                                                   artifact: ForestArtifact) -> None:
    again = fit_forest(train, NAMES, dict(zip(NAMES, DESCRIPTIONS, strict=True)),
                       created_at=datetime(2030, 1, 1, tzinfo=UTC), n_estimators=50)
    assert again.model_version == artifact.model_version
    assert again.model_version.startswith("iforest-") and len(again.model_version) == 20
    assert np.array_equal(again.score_samples(train), artifact.score_samples(train))
    other = fit_forest(train, NAMES, DESCRIPTIONS, created_at=CREATED, n_estimators=50,
                       random_state=1)
    assert other.model_version != artifact.model_version
    assert np.array_equal(artifact.score_samples(train), artifact.forest.score_samples(train))


def test_fit_forest_refuses_bad_input(train: np.ndarray) -> None:
    with pytest.raises(ValueError, match="finite"):
        bad = train.copy()
        bad[0, 0] = np.nan
        fit_forest(bad, NAMES, DESCRIPTIONS, created_at=CREATED, n_estimators=5)
    with pytest.raises(ValueError, match="timezone"):
        fit_forest(train, NAMES, DESCRIPTIONS, created_at=datetime(2026, 1, 1),  # noqa: DTZ001
                   n_estimators=5)
    with pytest.raises(ValueError, match="shape"):
        fit_forest(train[:, :5], NAMES, DESCRIPTIONS, created_at=CREATED, n_estimators=5)
    with pytest.raises(ValueError, match="description"):
        fit_forest(train, NAMES, DESCRIPTIONS[:3], created_at=CREATED, n_estimators=5)


def test_report_is_small_json(artifact: ForestArtifact, tmp_path: Path) -> None:
    report = artifact.report()
    text = json.dumps(report)
    assert len(text) < 10_000
    assert report["training_rows"] == len(TRAIN)
    assert [f["name"] for f in report["features"]] == list(NAMES)
    assert report["model_version"] == artifact.model_version
    assert report["file_sha256"] is None
    quantiles = list(report["anomaly_score_quantiles"].values())
    assert quantiles == sorted(quantiles)
    assert report["versions"]["sklearn"]


# Saved artifacts.


def saved(artifact: ForestArtifact, tmp_path: Path) -> Path:
    path = tmp_path / "m.skops"
    artifact.save(path)
    return path


def test_save_load_round_trip(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    digest = artifact.save(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "m.skops.sha256").read_text() == f"{digest}  m.skops\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skops", "m.skops.sha256"]
    loaded = ForestArtifact.load(path, NAMES)
    rows = probe_rows(5000, 23, nan=True)
    assert np.array_equal(loaded.score_samples(rows), artifact.score_samples(rows))
    assert np.array_equal(loaded.score(rows), artifact.score(rows))
    assert np.array_equal(loaded.score_samples(rows), loaded.forest.score_samples(rows))
    assert loaded.model_version == artifact.model_version
    assert loaded.created_at == CREATED
    assert loaded.feature_descriptions == DESCRIPTIONS
    assert loaded.params == artifact.params
    assert loaded.file_sha256 == digest == loaded.report()["file_sha256"]
    assert ForestArtifact.load(path, list(NAMES), expected_sha256=digest.upper()).file_sha256


def test_file_holds_only_allowed_types(artifact: ForestArtifact, tmp_path: Path) -> None:
    data = saved(artifact, tmp_path).read_bytes()
    assert set(sio.get_untrusted_types(data=data)) <= ALLOWED_TYPES
    assert b"pickle" not in data.lower()


def test_one_changed_byte_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = saved(artifact, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"^model file m\.skops does not match its recorded "
                       r"sha256; it was modified or truncated$"):
        ForestArtifact.load(path, NAMES)


def test_truncated_file_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = saved(artifact, tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ArtifactError, match="modified or truncated"):
        ForestArtifact.load(path, NAMES)


def test_missing_sidecar_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = saved(artifact, tmp_path)
    (tmp_path / "m.skops.sha256").unlink()
    with pytest.raises(ArtifactError, match="no readable sha256 sidecar m.skops.sha256"):
        ForestArtifact.load(path, NAMES)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot be read"):
        ForestArtifact.load(tmp_path / "absent.skops", NAMES)


def test_unexpected_hash_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = saved(artifact, tmp_path)
    with pytest.raises(ArtifactError, match="not the expected"):
        ForestArtifact.load(path, NAMES, expected_sha256="0" * 64)


def test_feature_mismatch_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = saved(artifact, tmp_path)
    renamed = (*NAMES[:-1], "velocity_24h")
    with pytest.raises(ArtifactError, match=r"trained on features \[.*'f17'\] but this version "
                       r"computes \[.*'velocity_24h'\]; retrain it with `txmon train`"):
        ForestArtifact.load(path, renamed)
    with pytest.raises(ArtifactError, match="retrain"):
        ForestArtifact.load(path, NAMES[:-1])
    with pytest.raises(ArtifactError, match="retrain"):
        ForestArtifact.load(path, tuple(reversed(NAMES)))


class Payload:
    """A type of this test module: skops does not trust it."""

    def __init__(self) -> None:
        self.command = "echo owned"


def write_skops(path: Path, obj: Any) -> None:
    """A skops file with a valid sidecar, so only what it holds decides."""
    data = sio.dumps(obj)
    path.write_bytes(data)
    Path(f"{path}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


@pytest.mark.parametrize("extra", [Payload(), StandardScaler(), np.add])
def test_non_allowed_type_is_refused(artifact: ForestArtifact, tmp_path: Path,
                                     extra: Any) -> None:
    """Refused before loading, whether skops trusts the type by default or not."""
    path = tmp_path / "evil.skops"
    meta = json.dumps(artifact.metadata())
    write_skops(path, {"forest": artifact.forest, "metadata_json": meta, "extra": extra})
    with pytest.raises(ArtifactError, match=r"contains types an isolation forest does not need"):
        ForestArtifact.load(path, NAMES)


def test_other_content_is_refused(artifact: ForestArtifact, tmp_path: Path) -> None:
    path = tmp_path / "other.skops"
    write_skops(path, {"forest": [1, 2, 3], "metadata_json": "{}"})
    with pytest.raises(ArtifactError, match="does not hold a txmon isolation forest"):
        ForestArtifact.load(path, NAMES)
    path.write_bytes(b"not a zip file")
    Path(f"{path}.sha256").write_text(hashlib.sha256(b"not a zip file").hexdigest())
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        ForestArtifact.load(path, NAMES)


def test_metadata_inconsistent_with_model_is_refused(artifact: ForestArtifact,
                                                     tmp_path: Path) -> None:
    meta = artifact.metadata()
    meta["calibration"]["quantiles"][500] += 1e-9  # changed, sidecar rewritten to match
    path = tmp_path / "m.skops"
    write_skops(path, {"forest": artifact.forest, "metadata_json": json.dumps(meta)})
    with pytest.raises(ArtifactError, match="records version iforest-"):
        ForestArtifact.load(path, NAMES)


def test_save_requires_skops_suffix(artifact: ForestArtifact, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.skops"):
        artifact.save(tmp_path / "m.pkl")


def test_import_pulls_in_neither_faust_nor_skops() -> None:
    code = ("import sys, detectors.forest\n"
            "print(sorted(m for m in ('faust', 'skops', 'streams') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
