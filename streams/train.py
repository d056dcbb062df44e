"""`txmon train`: fit the isolation forest on history replayed through the behaviour profile.

The rows are computed by `detectors.assess` with the behaviour context on and no rule
detectors, exactly as the worker computes them (score, then learn), so there is no
train/serve skew: the same events in the same (event-time) order give the same rows.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from detectors import AccountState, Jurisdiction, PolicyParams, account_legs, assess, build_policy
from detectors.anomaly import BehaviourContext
from detectors.behaviour import FEATURE_NAMES, FEATURES
from detectors.forest import ForestArtifact, fit_forest
from models import AccountEvent, Transaction
from streams.replay import ReplayReport, read_events, with_progress

__all__ = ["TrainingReport", "train_files", "training_rows"]


@dataclass
class TrainingReport:
    events: int = 0
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    replay: ReplayReport = field(default_factory=ReplayReport)


def training_rows(
    items: Iterable[BaseModel],
    jurisdiction: Jurisdiction,
    *,
    report: TrainingReport | None = None,
    on_event: Callable[[], None] | None = None,
) -> list[list[float]]:
    """The feature row of every transaction leg, in order, as the worker computes them."""
    report = report or TrainingReport()
    context = BehaviourContext.of(jurisdiction)
    policy = build_policy(PolicyParams(), [])
    states: dict[str, AccountState] = {}
    rows: list[list[float]] = []
    for event in items:
        if isinstance(event, Transaction | AccountEvent):
            legs = account_legs(event) if isinstance(event, Transaction) else [event]
            for leg in legs:
                result = assess(leg, [], states, policy, behaviour=context)
                report.outcomes[result.outcome.value] += 1
                if result.features is not None:
                    rows.append(result.features)
            report.events += 1
        if on_event is not None:
            on_event()
    report.rows = len(rows)
    return rows


def train_files(
    transactions: Path,
    accounts: Path | None,
    out: Path,
    *,
    jurisdiction: Jurisdiction,
    n_estimators: int = 100,
    max_samples: int = 256,
    random_state: int = 0,
    progress: bool = False,
) -> tuple[ForestArtifact, TrainingReport]:
    """Replay the history, fit and calibrate the forest, write `out` (+ .sha256, + report)."""
    if out.suffix != ".skops":
        raise ValueError(f"the model file name must end in .skops (got {out.name})")
    started = time.perf_counter()
    report = TrainingReport()
    events = read_events(transactions, accounts, None, report.replay)
    rows = with_progress(
        "profiling",
        len(events),
        progress,
        lambda tick: training_rows(events, jurisdiction, report=report, on_event=tick),
    )
    if len(rows) < 2:
        raise ValueError(
            f"{transactions.name} holds {len(rows)} usable transaction(s); training needs "
            "at least 2 (in practice thousands)"
        )
    artifact = fit_forest(
        rows,
        FEATURE_NAMES,
        [f.description for f in FEATURES],
        created_at=datetime.now(UTC),
        n_estimators=n_estimators,
        max_samples=max_samples,
        random_state=random_state,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    artifact.save(out)
    report.seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "model": out.name,
        "inputs": {"transactions": str(transactions), "accounts": str(accounts or "")},
        "events_read": report.events,
        "invalid_lines": sum(report.replay.invalid.values()),
        "training_rows": report.rows,
        "seconds": round(report.seconds, 1),
        **artifact.report(),
    }
    report_path = out.with_name(out.name + ".report.json")
    report_path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return artifact, report
