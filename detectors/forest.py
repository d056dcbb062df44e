"""The isolation forest: vectorised scoring bit-identical to scikit-learn, calibration, artifacts.

Scoring
    `ForestScorer` flattens a fitted `sklearn.ensemble.IsolationForest` into numpy arrays (all
    trees' nodes end to end: children, feature, threshold, NaN direction, and at each leaf the
    path length ``depth + c(n_node_samples) - 1``) and walks every tree for a whole batch level
    by level: one numpy operation per level for all (tree, row) pairs, no Python loop per row
    or per node. ``score_samples(X)`` equals ``IsolationForest.score_samples(X)`` bit for bit
    (the tests assert ``np.array_equal``) because it repeats scikit-learn's arithmetic exactly:
    the input is cast to float32; a row goes left when ``x <= threshold`` (compared against the
    largest float32 not above the float64 threshold, which decides every float32 ``x`` the same
    way) and a NaN goes where the node's ``missing_go_to_left`` says; per-tree path lengths are
    added in tree order starting from 0.0; the score is ``-2 ** (-depths / (n_trees *
    c(max_samples_)))`` computed with numpy. Trees trained on a feature subsample
    (``max_features < 1.0``) index their columns through ``estimators_features_``.
    ``c(n) = 2 (ln(n - 1) + euler_gamma) - 2 (n - 1) / n`` (``c(1) = 0``, ``c(2) = 1``) is
    scikit-learn's ``_average_path_length``.
Calibration
    ``score_samples`` is "lower is more abnormal"; its negation is the *anomaly score*.
    `Calibration` keeps 1,001 quantiles of the training rows' anomaly scores and maps an anomaly
    score to the fraction of training rows less abnormal (linear interpolation between the
    quantiles; tied quantiles count half; 0 below the lowest, 1 above the highest): in [0, 1],
    monotonic, deterministic. It also keeps per-feature medians and robust scales (the IQR;
    the standard deviation where the IQR is 0; 1.0 where both are) so an explanation can say
    how far each feature of a row is from the typical training row.
Artifacts
    `ForestArtifact` is the fitted forest plus what serving needs (feature names and
    descriptions, calibration, parameters, versions). `save` writes ONE ``.skops`` file (skops'
    persistence format, never pickle) holding ``{"forest": IsolationForest, "metadata_json":
    str}`` and a sidecar ``<file>.sha256`` (``sha256sum`` layout). `ForestArtifact.load`
    checks the file against the sidecar (and an optional expected hash), refuses any type in the
    file other than those a fitted IsolationForest is made of, and refuses a model trained on
    other features, each with an `ArtifactError` of one sentence. ``model_version`` is
    ``"iforest-"`` + the first 12 hex digits of the sha256 of the model's content (trees, feature
    names, parameters, calibration), so it is known before the model is saved, does not change
    when it is saved again, and is recomputed and checked on load.

Nothing here reads the clock (``created_at`` is given by the caller) or does I/O while scoring;
only `ForestArtifact.save` and `ForestArtifact.load` touch files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import sklearn  # type: ignore[import-untyped]
from numpy.typing import ArrayLike, NDArray
from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]
from sklearn.tree import ExtraTreeRegressor  # type: ignore[import-untyped]

__all__ = [
    "ALLOWED_TYPES",
    "ArtifactError",
    "Calibration",
    "ForestArtifact",
    "ForestScorer",
    "average_path_length",
    "fit_forest",
]

FORMAT = "txmon.iforest/1"
N_QUANTILES = 1001
_CHUNK_ROWS = 256  # rows walked at once: (trees x rows) index arrays stay in cache

# Every type a skops file of a `ForestArtifact` may contain ("module.class"), whether or not
# skops trusts it by default; anything else is refused before the file is loaded.
ALLOWED_TYPES: frozenset[str] = frozenset({
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree",
})


class ArtifactError(Exception):
    """A model artifact that must not be used: modified, unverifiable, unsafe or mismatched."""


def average_path_length(n_samples: ArrayLike) -> NDArray[np.float64]:
    """c(n): the average path length of an unsuccessful search in a binary search tree of n
    items (scikit-learn's ``_average_path_length``, the same float operations)."""
    n = np.asarray(n_samples, dtype=np.float64)
    out = np.zeros(n.shape, dtype=np.float64)
    mask_1 = n <= 1
    mask_2 = n == 2
    rest = ~np.logical_or(mask_1, mask_2)
    out[mask_2] = 1.0
    out[rest] = 2.0 * (np.log(n[rest] - 1.0) + np.euler_gamma) - 2.0 * (n[rest] - 1.0) / n[rest]
    return out


def _float32_floor(values: NDArray[np.float64]) -> NDArray[np.float32]:
    """The largest float32 <= each value: for any float32 x, ``x <= t`` iff ``x <= floor(t)``."""
    with np.errstate(over="ignore"):
        as32 = values.astype(np.float32)
    above = as32.astype(np.float64) > values
    as32[above] = np.nextafter(as32[above], np.float32(-np.inf))
    return as32


def _node_depths(left: NDArray[np.intp], right: NDArray[np.intp]) -> NDArray[np.int64]:
    """Depth of every node (root 1), checking the arrays form one tree rooted at node 0."""
    n = left.shape[0]
    depth = np.zeros(n, dtype=np.int64)
    depth[0] = 1
    frontier = np.array([0], dtype=np.intp)
    level = 1
    seen = 1
    while frontier.size:
        internal = frontier[left[frontier] >= 0]
        children = np.concatenate([left[internal], right[internal]])
        if children.size and (children.min() < 0 or children.max() >= n
                              or np.any(depth[children] != 0)):
            raise ValueError("tree arrays do not form a tree")
        level += 1
        depth[children] = level
        seen += children.size
        frontier = children
    if seen != n:
        raise ValueError("tree arrays do not form a tree")
    return depth


class ForestScorer:
    """A fitted IsolationForest flattened into numpy arrays; `score_samples` for whole batches.

    ``score_samples(X)`` is bit-identical to ``forest.score_samples(X)`` for a 2-D numeric X
    with ``n_features`` columns (NaN and infinities included).
    """

    def __init__(self, forest: Any) -> None:
        trees = list(forest.estimators_)
        if not trees:
            raise ValueError("the isolation forest has no trees")
        n_features = int(forest.n_features_in_)
        # scikit-learn indexes columns through estimators_features_ only when each tree saw a
        # subsample of the features (its _max_features != n_features_in_); the trees then
        # number the features of that subsample.
        subsampled = [int(t.n_features_in_) != n_features for t in trees]
        offsets: list[int] = []
        lefts, rights, feats, thresholds, nan_left, leaf_values, sizes = [], [], [], [], [], [], []
        max_depth = 1
        start = 0
        for tree, columns, sub in zip(trees, forest.estimators_features_, subsampled,
                                      strict=True):
            t = tree.tree_
            left = np.asarray(t.children_left, dtype=np.intp)
            right = np.asarray(t.children_right, dtype=np.intp)
            feature = np.asarray(t.feature, dtype=np.intp)
            is_leaf = left < 0
            if np.any((right < 0) != is_leaf):
                raise ValueError("tree arrays do not form a tree")
            depth = _node_depths(left, right)
            max_depth = max(max_depth, int(depth.max()))
            if sub:
                columns = np.asarray(columns, dtype=np.intp)
                feature = np.where(is_leaf, 0, columns[np.where(is_leaf, 0, feature)])
            else:
                feature = np.where(is_leaf, 0, feature)
            if feature.size and (feature.min() < 0 or feature.max() >= n_features):
                raise ValueError("a tree splits on a feature the forest does not have")
            node = np.arange(left.shape[0], dtype=np.intp) + start
            # A leaf points at itself, so walking max_depth levels leaves every row on its leaf.
            lefts.append(np.where(is_leaf, node, left + start))
            rights.append(np.where(is_leaf, node, right + start))
            feats.append(feature)
            thresholds.append(np.asarray(t.threshold, dtype=np.float64))
            nan_left.append(np.asarray(t.missing_go_to_left, dtype=bool) & ~is_leaf)
            # scikit-learn: decision_path_lengths[leaf] + average_path_length[leaf] - 1.0
            leaf_values.append(depth + average_path_length(t.n_node_samples) - 1.0)
            sizes.append(np.asarray(t.n_node_samples, dtype=np.int64))
            offsets.append(start)
            start += left.shape[0]

        self.n_trees = len(trees)
        self.n_features = n_features
        self.n_nodes = start
        self.levels = max_depth - 1
        # The walk keeps "slots" s = 2 * node: a node's tables sit at its slot, its left child's
        # slot at children[s] and its right child's at children[s + 1], so one step is
        # s = children[s + (x > threshold)]. Odd positions of the per-node tables are unused.
        nodes2 = 2 * start
        self._roots = 2 * np.asarray(offsets, dtype=np.intp)
        children = np.empty(nodes2, dtype=np.intp)
        children[0::2] = 2 * np.concatenate(lefts)
        children[1::2] = 2 * np.concatenate(rights)
        self._children = children
        self._feature = np.zeros(nodes2, dtype=np.intp)
        self._feature[0::2] = np.concatenate(feats)
        self._threshold = np.zeros(nodes2, dtype=np.float32)
        self._threshold[0::2] = _float32_floor(np.concatenate(thresholds))
        self._nan_right = np.zeros(nodes2, dtype=bool)
        self._nan_right[0::2] = ~np.concatenate(nan_left)
        self._leaf_value = np.zeros(nodes2, dtype=np.float64)
        self._leaf_value[0::2] = np.concatenate(leaf_values)
        max_samples = int(forest.max_samples_)
        self.max_samples = max_samples
        self._denominator = self.n_trees * average_path_length([max_samples])
        # What the model is, without anything computed from it (np.log may differ in the last
        # bit between CPUs and numpy builds; the model's content hash must not).
        self._identity: tuple[tuple[str, NDArray[Any]], ...] = (
            ("roots", self._roots),
            ("children", self._children),
            ("feature", self._feature),
            ("threshold", np.concatenate(thresholds)),
            ("nan_right", self._nan_right),
            ("n_node_samples", np.concatenate(sizes)),
            ("max_samples", np.array([max_samples], dtype=np.int64)),
        )
        for a in (self._roots, self._children, self._feature, self._threshold,
                  self._nan_right, self._leaf_value, self._denominator,
                  *(a for _, a in self._identity)):
            a.setflags(write=False)

    def arrays(self) -> Iterator[tuple[str, NDArray[Any]]]:
        """The model's defining arrays, by name (what its content hash is computed over):
        tree structure, split features (as forest columns), float64 thresholds, NaN
        directions, node sizes and ``max_samples_``; nothing derived by floating point."""
        yield from self._identity

    def _as_input(self, X: ArrayLike) -> NDArray[np.float32]:
        with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as in sklearn
            X32 = np.ascontiguousarray(X, dtype=np.float32)
        if X32.ndim != 2 or X32.shape[1] != self.n_features:
            raise ValueError(
                f"expected rows of {self.n_features} features, got an array of shape {X32.shape}")
        return X32

    def path_lengths(self, X: ArrayLike) -> NDArray[np.float64]:
        """Sum over the trees (in tree order) of each row's path length."""
        X32 = self._as_input(X)
        n = X32.shape[0]
        depths = np.empty(n, dtype=np.float64)
        for lo in range(0, n, _CHUNK_ROWS):
            hi = min(n, lo + _CHUNK_ROWS)
            depths[lo:hi] = self._path_lengths(X32[lo:hi])
        return depths

    def _path_lengths(self, X: NDArray[np.float32]) -> NDArray[np.float64]:
        n = X.shape[0]
        flat = X.ravel()
        has_nan = bool(np.isnan(flat).any())
        # slot[t, i]: where row i stands in tree t; cell[t, i]: index in `flat` of the value
        # its node splits on. Every index is valid by construction, hence mode="clip" (which
        # also lets np.take write into `out` without an intermediate buffer).
        row_base = np.arange(n, dtype=np.intp) * self.n_features
        slot = np.repeat(self._roots[:, None], n, axis=1)
        step = np.empty_like(slot)
        cell = np.empty_like(slot)
        x = np.empty(slot.shape, dtype=np.float32)
        thr = np.empty(slot.shape, dtype=np.float32)
        right = np.empty(slot.shape, dtype=np.intp)
        for _ in range(self.levels):
            np.take(self._feature, slot, out=cell, mode="clip")
            cell += row_base
            np.take(flat, cell, out=x, mode="clip")
            np.take(self._threshold, slot, out=thr, mode="clip")
            np.greater(x, thr, out=right)
            if has_nan:
                missing = np.isnan(x)
                right[missing] = self._nan_right[slot[missing]]
            slot += right
            np.take(self._children, slot, out=step, mode="clip")
            slot, step = step, slot
        values = np.take(self._leaf_value, slot)
        # Added tree after tree, in tree order, as scikit-learn does (accumulate is sequential;
        # 0.0 + v == v for the non-negative path lengths, so starting at values[0] is the same).
        depths: NDArray[np.float64] = np.add.accumulate(values, axis=0)[-1]
        return depths

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """``IsolationForest.score_samples``: the lower, the more abnormal (in [-1, -0))."""
        depths = self.path_lengths(X)
        ratio = np.divide(depths, self._denominator, out=np.ones_like(depths),
                          where=self._denominator != 0)
        scores: NDArray[np.float64] = 2 ** (-ratio)
        return -scores

    def anomaly_scores(self, X: ArrayLike) -> NDArray[np.float64]:
        """``-score_samples(X)``: the higher, the more abnormal (in (0, 1])."""
        return -self.score_samples(X)


def _robust_scales(X: NDArray[np.float64]) -> NDArray[np.float64]:
    q25, q75 = np.quantile(X, [0.25, 0.75], axis=0)
    scales = q75 - q25
    std = X.std(axis=0)
    scales = np.where(np.isfinite(scales) & (scales > 0), scales, std)
    result: NDArray[np.float64] = np.where(np.isfinite(scales) & (scales > 0), scales, 1.0)
    return result


@dataclass(frozen=True, eq=False)
class Calibration:
    """Training-score quantiles (anomaly scores, ascending) and per-feature medians and scales."""

    quantiles: NDArray[np.float64]
    medians: NDArray[np.float64]
    scales: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in ("quantiles", "medians", "scales"):
            a = np.array(getattr(self, name), dtype=np.float64)
            if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
                raise ValueError(f"calibration {name} must be a non-empty 1-D finite array")
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if self.quantiles.size < 2 or np.any(np.diff(self.quantiles) < 0):
            raise ValueError("calibration quantiles must be at least 2 and ascending")
        if self.medians.shape != self.scales.shape or np.any(self.scales <= 0):
            raise ValueError("calibration medians and positive scales must match in length")

    @classmethod
    def from_training(cls, anomaly_scores: ArrayLike, X: ArrayLike,
                      n_quantiles: int = N_QUANTILES) -> Calibration:
        """From the training rows' anomaly scores (``-score_samples``) and the rows."""
        scores = np.asarray(anomaly_scores, dtype=np.float64)
        rows = np.asarray(X, dtype=np.float64)
        levels = np.linspace(0.0, 1.0, n_quantiles)
        return cls(quantiles=np.quantile(scores, levels), medians=np.median(rows, axis=0),
                   scales=_robust_scales(rows))

    @cached_property
    def _curve(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        q = self.quantiles
        levels = np.linspace(0.0, 1.0, q.size)
        xp, first, counts = np.unique(q, return_index=True, return_counts=True)
        last = first + counts - 1
        return xp, (levels[first] + levels[last]) / 2.0

    def calibrate(self, anomaly_scores: ArrayLike) -> NDArray[np.float64]:
        """Fraction of training rows less abnormal than each anomaly score, in [0, 1]."""
        xp, fp = self._curve
        a = np.asarray(anomaly_scores, dtype=np.float64)
        return np.asarray(np.interp(a, xp, fp, left=0.0, right=1.0), dtype=np.float64)

    def deviations(self, X: ArrayLike) -> NDArray[np.float64]:
        """``(x - median) / scale`` per feature: how far each value is from the typical row."""
        rows = np.asarray(X, dtype=np.float64)
        result: NDArray[np.float64] = (rows - self.medians) / self.scales
        return result

    def to_json(self) -> dict[str, list[float]]:
        return {"quantiles": self.quantiles.tolist(), "medians": self.medians.tolist(),
                "scales": self.scales.tolist()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, eq=False)
class ForestArtifact:
    """A fitted isolation forest with everything serving and reporting need.

    Build one with `fit_forest` or `ForestArtifact.load`. ``model_version`` is derived from the
    content; ``file_sha256`` is the sha256 of the file it was loaded from (None if not loaded).
    """

    forest: Any  # sklearn.ensemble.IsolationForest
    feature_names: tuple[str, ...]
    feature_descriptions: tuple[str, ...]
    created_at: datetime
    training_rows: int
    params: Mapping[str, Any]
    calibration: Calibration
    sklearn_version: str
    numpy_version: str
    file_sha256: str | None = None
    scorer: ForestScorer = field(init=False, repr=False)
    content_sha256: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if type(self.forest) is not IsolationForest:
            raise TypeError("forest must be a fitted sklearn.ensemble.IsolationForest")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "feature_descriptions", tuple(self.feature_descriptions))
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError("feature names must be unique")
        if len(self.feature_descriptions) != len(self.feature_names):
            raise ValueError("one description per feature")
        scorer = ForestScorer(self.forest)
        if scorer.n_features != len(self.feature_names):
            raise ValueError(f"the forest has {scorer.n_features} features, "
                             f"{len(self.feature_names)} names were given")
        if self.calibration.medians.size != scorer.n_features:
            raise ValueError("calibration medians and scales must have one value per feature")
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "scorer", scorer)
        object.__setattr__(self, "content_sha256", self._content_hash())

    @property
    def model_version(self) -> str:
        return "iforest-" + self.content_sha256[:12]

    def _content_hash(self) -> str:
        h = hashlib.sha256(FORMAT.encode())
        head = {"feature_names": list(self.feature_names), "params": self.params}
        h.update(json.dumps(head, sort_keys=True, separators=(",", ":")).encode())
        for name, a in self.scorer.arrays():
            h.update(name.encode())
            canonical = {"b": "|b1", "i": "<i8", "u": "<i8", "f": "<f8"}[a.dtype.kind]
            h.update(canonical.encode())
            h.update(np.ascontiguousarray(a, dtype=canonical).tobytes())
        for name, a in (("quantiles", self.calibration.quantiles),
                        ("medians", self.calibration.medians),
                        ("scales", self.calibration.scales)):
            h.update(name.encode())
            h.update(a.astype("<f8").tobytes())
        return h.hexdigest()

    # Scoring: no I/O, no clock.

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """``IsolationForest.score_samples`` (lower is more abnormal), bit-identical."""
        return self.scorer.score_samples(X)

    def anomaly_scores(self, X: ArrayLike) -> NDArray[np.float64]:
        """``-score_samples`` (higher is more abnormal)."""
        return self.scorer.anomaly_scores(X)

    def score(self, X: ArrayLike) -> NDArray[np.float64]:
        """Calibrated scores in [0, 1]: the fraction of training rows less abnormal."""
        return self.calibration.calibrate(self.scorer.anomaly_scores(X))

    # Persistence.

    def metadata(self) -> dict[str, Any]:
        """The JSON-able metadata stored next to the forest in the artifact file."""
        return {
            "format": FORMAT,
            "model_version": self.model_version,
            "created_at": self.created_at.isoformat(),
            "feature_names": list(self.feature_names),
            "feature_descriptions": list(self.feature_descriptions),
            "training_rows": self.training_rows,
            "params": self.params,
            "calibration": self.calibration.to_json(),
            "versions": {"sklearn": self.sklearn_version, "numpy": self.numpy_version},
        }

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the ``.skops`` file and its ``.sha256`` sidecar; return the file's sha256."""
        import skops.io as sio  # type: ignore[import-untyped]  # heavy: imported when used

        target = Path(path)
        if target.suffix != ".skops":
            raise ValueError(f"model file name must end in .skops: {target.name}")
        data = sio.dumps({"forest": self.forest,
                          "metadata_json": json.dumps(self.metadata(), sort_keys=True)})
        digest = _sha256(data)
        _write_atomically(target, data)
        _write_atomically(_sidecar(target), f"{digest}  {target.name}\n".encode())
        return digest

    @classmethod
    def load(cls, path: str | os.PathLike[str], expected_features: Sequence[str], *,
             expected_sha256: str | None = None) -> ForestArtifact:
        """Load and verify an artifact written by `save`; raise `ArtifactError` if unusable."""
        import skops.io as sio

        source = Path(path)
        name = source.name
        try:
            data = source.read_bytes()
        except OSError as e:
            raise ArtifactError(f"model file {source} cannot be read: {e.strerror or e}") from e
        try:
            recorded = _sidecar(source).read_text(encoding="ascii").split()[0].lower()
        except (OSError, UnicodeDecodeError, IndexError) as e:
            raise ArtifactError(
                f"model file {name} has no readable sha256 sidecar {_sidecar(source).name}; "
                "it cannot be verified") from e
        digest = _sha256(data)
        if digest != recorded:
            raise ArtifactError(f"model file {name} does not match its recorded sha256; "
                                "it was modified or truncated")
        if expected_sha256 is not None and digest != expected_sha256.strip().lower():
            raise ArtifactError(f"model file {name} has sha256 {digest}, not the expected "
                                f"{expected_sha256.strip().lower()}")
        found = _schema_types(data, name)
        try:
            untrusted = list(sio.get_untrusted_types(data=data))
        except Exception as e:
            raise ArtifactError(f"model file {name} is not a readable skops file: {e}") from e
        refused = sorted((found | set(untrusted)) - ALLOWED_TYPES)
        if refused:
            raise ArtifactError(f"model file {name} contains types an isolation forest does "
                                f"not need ({', '.join(refused)}); refusing to load it")
        try:
            obj = sio.loads(data, trusted=untrusted)
        except Exception as e:
            raise ArtifactError(f"model file {name} could not be loaded: {e}") from e
        artifact = _from_loaded(obj, name, digest)
        if artifact.feature_names != tuple(expected_features):
            raise ArtifactError(
                f"model {name} was trained on features {list(artifact.feature_names)} but this "
                f"version computes {list(expected_features)}; retrain it with `txmon train`")
        return artifact

    def report(self) -> dict[str, Any]:
        """A small JSON-able summary: rows, features, score quantiles, hashes, versions."""
        q = self.calibration.quantiles
        levels = np.linspace(0.0, 1.0, q.size)
        shown = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0)
        return {
            "model_version": self.model_version,
            "created_at": self.created_at.isoformat(),
            "training_rows": self.training_rows,
            "features": [{"name": n, "description": d, "median": float(m), "scale": float(s)}
                         for n, d, m, s in zip(self.feature_names, self.feature_descriptions,
                                               self.calibration.medians,
                                               self.calibration.scales, strict=True)],
            "params": dict(self.params),
            "anomaly_score_quantiles": {f"{p:g}": float(np.interp(p, levels, q)) for p in shown},
            "trees": self.scorer.n_trees,
            "nodes": self.scorer.n_nodes,
            "content_sha256": self.content_sha256,
            "file_sha256": self.file_sha256,
            "versions": {"sklearn": self.sklearn_version, "numpy": self.numpy_version},
        }


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _schema_types(data: bytes, name: str) -> set[str]:
    """Every "module.class" named in a skops file's schema (the file is not loaded)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ArtifactError(f"model file {name} is not a readable skops file: {e}") from e
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node or "__module__" in node:
                found.add(f"{node.get('__module__')}.{node.get('__class__')}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _from_loaded(obj: Any, name: str, digest: str) -> ForestArtifact:
    if not (isinstance(obj, dict) and set(obj) == {"forest", "metadata_json"}
            and type(obj["forest"]) is IsolationForest
            and isinstance(obj["metadata_json"], str)):
        raise ArtifactError(f"model file {name} does not hold a txmon isolation forest")
    forest = obj["forest"]
    if not all(type(t) is ExtraTreeRegressor for t in getattr(forest, "estimators_", [])):
        raise ArtifactError(f"model file {name} holds trees of an unexpected type")
    try:
        meta = json.loads(obj["metadata_json"])
        if meta.get("format") != FORMAT:
            raise ArtifactError(f"model file {name} has format {meta.get('format')!r}, "
                                f"not {FORMAT!r}")
        versions = meta["versions"]
        artifact = ForestArtifact(
            forest=forest,
            feature_names=tuple(str(n) for n in meta["feature_names"]),
            feature_descriptions=tuple(str(d) for d in meta["feature_descriptions"]),
            created_at=datetime.fromisoformat(meta["created_at"]),
            training_rows=int(meta["training_rows"]),
            params=dict(meta["params"]),
            calibration=Calibration(**meta["calibration"]),
            sklearn_version=str(versions["sklearn"]),
            numpy_version=str(versions["numpy"]),
            file_sha256=digest,
        )
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArtifactError(f"model file {name} has unusable metadata or trees: {e}") from e
    if artifact.model_version != meta.get("model_version"):
        raise ArtifactError(f"model file {name} records version {meta.get('model_version')} "
                            f"but its content is {artifact.model_version}")
    return artifact


def fit_forest(
    X: ArrayLike,
    feature_names: Sequence[str],
    descriptions: Sequence[str] | Mapping[str, str],
    *,
    created_at: datetime,
    n_estimators: int = 100,
    max_samples: int | float | str = 256,
    max_features: float = 1.0,
    contamination: float | str = "auto",
    random_state: int = 0,
) -> ForestArtifact:
    """Fit an IsolationForest on the rows of X (no NaN, no infinities) and calibrate it.

    ``descriptions`` is one sentence per feature, in order or by name. No file I/O.
    """
    rows = np.asarray(X, dtype=np.float64)
    names = tuple(feature_names)
    if rows.ndim != 2 or rows.shape[0] < 2 or rows.shape[1] != len(names):
        raise ValueError(f"expected at least 2 rows of {len(names)} features, "
                         f"got an array of shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError("training rows must be finite (no NaN or infinities)")
    if isinstance(descriptions, Mapping):
        missing = [n for n in names if n not in descriptions]
        if missing:
            raise ValueError(f"no description for features {missing}")
        described = tuple(descriptions[n] for n in names)
    else:
        described = tuple(descriptions)
    if isinstance(max_samples, float) and not math.isfinite(max_samples):
        raise ValueError("max_samples must be finite")
    forest = IsolationForest(n_estimators=n_estimators, max_samples=max_samples,
                             max_features=max_features, contamination=contamination,
                             random_state=random_state)
    forest.fit(rows)
    scorer = ForestScorer(forest)
    calibration = Calibration.from_training(scorer.anomaly_scores(rows), rows)
    params: dict[str, Any] = {
        "n_estimators": n_estimators, "max_samples": max_samples,
        "max_samples_": int(forest.max_samples_), "max_features": max_features,
        "contamination": contamination, "random_state": random_state,
    }
    return ForestArtifact(
        forest=forest, feature_names=names, feature_descriptions=described,
        created_at=created_at, training_rows=int(rows.shape[0]), params=params,
        calibration=calibration, sklearn_version=sklearn.__version__,
        numpy_version=np.__version__,
    )
