"""Isolation forest scoring: scikit-learn's `score_samples` vs `detectors.forest.ForestScorer`.

    .venv/bin/python benchmarks/bench_forest.py [--trees 100] [--features 18] [--repeat 5]

Fits an IsolationForest (max_samples 256, random_state 0) on 20,000 synthetic profile-like
rows, then scores batches of 1, 10, 100, 500, 1,000 and 10,000 rows with both, printing
microseconds per row (the best of `--repeat` timed runs of at least 0.2 s and 3 calls each:
other load on the machine only ever makes a run slower) and checking that the two give
bit-identical scores (`np.array_equal`). Exits 1 if they ever differ; asserts nothing about
timing (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sklearn  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402

from detectors.forest import ForestScorer  # noqa: E402

BATCHES = (1, 10, 100, 500, 1000, 10_000)
BUDGET_S = 0.2


def rows(n: int, features: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    third = features // 3
    amounts = rng.lognormal(7.0, 1.5, size=(n, third))
    counts = rng.poisson(3.0, size=(n, third)).astype(np.float64)
    ratios = rng.beta(2.0, 5.0, size=(n, features - 2 * third))
    return np.hstack([amounts, counts, ratios])


def per_row_us(fn: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, repeat: int) -> float:
    """Best of `repeat` timed runs; a run repeats the call for at least BUDGET_S seconds."""
    fn(batch)  # warm up
    best = float("inf")
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while True:
            fn(batch)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= BUDGET_S and calls >= 3:
                break
        best = min(best, elapsed / calls)
    return best / len(batch) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--features", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    train = rows(20_000, args.features, seed=1)
    forest = IsolationForest(n_estimators=args.trees, max_samples=256, random_state=0).fit(train)
    scorer = ForestScorer(forest)
    probe = rows(max(BATCHES), args.features, seed=2)
    probe[:500] *= np.random.default_rng(3).uniform(0.0, 20.0, size=(500, args.features))

    print(f"{args.trees} trees ({scorer.n_nodes} nodes, {scorer.levels} levels), "
          f"{args.features} features; python {platform.python_version()}, "
          f"numpy {np.__version__}, scikit-learn {sklearn.__version__}")
    print(f"| {'rows per call':>13} | {'sklearn us/row':>14} | {'ForestScorer us/row':>19} "
          f"| {'speed-up':>8} | identical |")
    print(f"|{'-' * 15}|{'-' * 16}|{'-' * 21}|{'-' * 10}|-----------|")
    all_equal = True
    for n in BATCHES:
        batch = probe[:n]
        equal = bool(np.array_equal(scorer.score_samples(batch), forest.score_samples(batch)))
        all_equal &= equal
        theirs = per_row_us(forest.score_samples, batch, args.repeat)
        ours = per_row_us(scorer.score_samples, batch, args.repeat)
        print(f"| {n:>13,} | {theirs:>14.2f} | {ours:>19.2f} | {theirs / ours:>7.1f}x "
              f"| {'yes' if equal else 'NO':>9} |")
    print("scores bit-identical at every batch size" if all_equal else "SCORES DIFFER")
    return 0 if all_equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
