"""Isolation-forest anomaly detector: behaviour unusual for the account, in ways no rule names.

Rule card
---------
**Signal.** A transaction whose feature row (``detectors.behaviour``: amount against the
account's own history, velocities, novelty of counterparty, merchant and device, hour, channel
and country changes, cash share, flow balance, account age, ...) is isolated unusually fast by
an ``IsolationForest`` trained offline on history (``txmon train``). The row is computed from
the account's behaviour profile *before* the profile learns the event (score, then learn), by
the same code at training and serving time.

**Typology** ``anomaly``; reason code ``ANOMALY_ISOLATION_FOREST``.

**Score.** ``-score_samples`` of the forest (higher is more abnormal), calibrated to [0, 1] as
the share of training rows less abnormal (the artifact stores 1,001 training-score
quantiles). A finding is raised when the calibrated score reaches ``threshold`` (default
0.995: rarer than 99.5 % of training events); its score runs from 0.5 at the threshold to 1.0
at the most abnormal, so severities follow the policy bands. The evidence lists the
``explain_top`` features furthest from their training medians (in interquartile ranges), so an
analyst reads *why* the row is unusual, and the model version.

**Batches.** Rows are scored in micro-batches by one vectorised call (`AnomalyDetector.score`,
a numpy walk over the fitted trees, bit-identical to scikit-learn's ``score_samples``); a row's
score does not depend on the batch it is in, so the stream (batches released by the reorder
hold) and replay (fixed batches) raise the same findings.

**State.** The behaviour profile in the account's record (about 0.5-1.3 kB); the model is
read-only and shared.

**Parameters** (``TXMON_ANOMALY__*``): ``threshold`` 0.995 (Liu, Ting and Zhou 2008; the
percentile is the operator's alert budget: 0.5 % of events reviewed at most), ``explain_top`` 3.

**Limits.** The forest knows what was normal in its training history; a behaviour common there
(even if criminal) is not unusual to it. Foreign-currency amounts enter as numbers in their own
currency. Retrain when the population changes; the score distribution is exported as a metric
so drift is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from detectors.behaviour import FEATURE_NAMES, explain
from detectors.forest import ForestArtifact
from detectors.jurisdiction import Jurisdiction
from models import Finding, Transaction, Typology

__all__ = ["AnomalyDetector", "AnomalyParams", "BehaviourContext", "CODE"]

CODE = "ANOMALY_ISOLATION_FOREST"


class AnomalyParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: float = Field(default=0.995, gt=0.0, lt=1.0)
    explain_top: int = Field(default=3, ge=1, le=10)


@dataclass(frozen=True, slots=True)
class BehaviourContext:
    """What the behaviour features need from the jurisdiction (the same at train and serve)."""

    home_country: str
    tz: tzinfo = UTC

    @classmethod
    def of(cls, profile: Jurisdiction) -> BehaviourContext:
        return cls(profile.country, ZoneInfo(profile.timezone))


class AnomalyDetector:
    """A loaded forest artifact, scoring feature rows in batches and explaining the outliers."""

    name = "anomaly"
    typology = Typology.ANOMALY

    def __init__(self, artifact: ForestArtifact, params: AnomalyParams) -> None:
        if tuple(artifact.feature_names) != FEATURE_NAMES:
            raise ValueError(
                "the model was trained on other features than this version computes; "
                "retrain it with `txmon train`"
            )
        self.artifact = artifact
        self.params = params
        self.version = artifact.model_version
        self._medians = [float(x) for x in artifact.calibration.medians]
        self._scales = [float(x) for x in artifact.calibration.scales]

    def score(self, rows: Sequence[Sequence[float]]) -> NDArray[np.float64]:
        """Calibrated scores in [0, 1], one per row, in one vectorised call."""
        if not rows:
            return np.zeros(0)
        return self.artifact.score(np.asarray(rows, dtype=np.float64))

    def finding(
        self, event: Transaction, row: Sequence[float], calibrated: float
    ) -> Finding | None:
        """The finding for a row at or above the threshold, with the features that made it."""
        threshold = self.params.threshold
        if calibrated < threshold:
            return None
        strength = (calibrated - threshold) / (1.0 - threshold)
        score = round(min(1.0, 0.5 + 0.5 * strength), 4)
        unusual = explain(row, self._medians, self._scales, top=self.params.explain_top)
        because = "; ".join(
            f"{u['feature']} {u['value']:g} (typical {u['typical']:g})" for u in unusual
        )
        share = max(0.0, 1.0 - calibrated) * 100
        summary = (
            f"Unusual for this account: {because}; rarer than {100 - share:.1f} % of the "
            f"training events (anomaly score {calibrated:.4f}, model {self.version})."
        )
        return Finding(
            detector=self.name,
            typology=Typology.ANOMALY,
            code=CODE,
            score=score,
            summary=summary,
            evidence={
                "calibrated_score": round(float(calibrated), 6),
                "threshold": threshold,
                "model_version": self.version,
                "unusual_features": unusual,
                "amount": str(event.amount),
                "currency": event.currency,
                "kind": event.kind.value,
                "direction": event.direction.value,
            },
            event_ids=(event.event_id,),
            related_accounts=(
                (event.counterparty.account_id,)
                if event.counterparty is not None and event.counterparty.account_id
                else ()
            ),
            window_start=event.occurred_at,
            window_end=event.occurred_at,
        )
