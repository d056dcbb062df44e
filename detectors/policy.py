"""Alert policy: findings about one subject become at most one alert per typology and episode.

- Findings of the same typology on one event combine (noisy-or of their scores).
- An episode opens with the first alert for (subject, typology) and stays open for
  ``episode_length`` of event time; findings of that typology inside it are suppressed, so a
  structurer depositing daily gets one alert per week, not one per deposit.
- ``alert_id`` is a hash of subject, typology and the event time of the oldest evidence, so a
  replay or a redelivery of the same events yields the same id.
- Severity comes from configurable score bands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.base import OpenEpisode
from models import ALERT_SCHEMA_VERSION, Alert, Finding, Reason, Severity, Typology

__all__ = ["AlertPolicy", "PolicyParams", "DERIVED_LEG_SUFFIX", "original_event_id"]

#: event_id suffix of the payee leg the monitor derives from a payer's `out` transfer.
DERIVED_LEG_SUFFIX = "~payee"


def original_event_id(event_id: str) -> str:
    """The reported event id behind a (possibly derived) leg."""
    return event_id.removesuffix(DERIVED_LEG_SUFFIX)


class SeverityBand(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_score: float = Field(ge=0.0, le=1.0)
    severity: Severity


class PolicyParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_length: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    min_alert_score: float = Field(default=0.0, ge=0.0, le=1.0)
    severity_bands: tuple[SeverityBand, ...] = (
        SeverityBand(min_score=0.9, severity=Severity.CRITICAL),
        SeverityBand(min_score=0.75, severity=Severity.HIGH),
        SeverityBand(min_score=0.5, severity=Severity.MEDIUM),
        SeverityBand(min_score=0.0, severity=Severity.LOW),
    )
    dedupe_capacity: int = Field(default=256, ge=16)

    @field_validator("severity_bands")
    @classmethod
    def _sorted_bands(cls, bands: tuple[SeverityBand, ...]) -> tuple[SeverityBand, ...]:
        if not bands:
            raise ValueError("at least one severity band is required")
        return tuple(sorted(bands, key=lambda b: b.min_score, reverse=True))


def alert_id_for(account_id: str, typology: Typology, first_at: datetime, last_at: datetime) -> str:
    """Hash of subject, typology and the event-time span of the alert's evidence."""
    text = f"{account_id}\x1f{typology.value}\x1f{first_at.isoformat()}\x1f{last_at.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class AlertPolicy:
    """Turns one event's findings for one subject into alerts (pure; episodes are state)."""

    def __init__(self, params: PolicyParams, detector_versions: dict[str, str]) -> None:
        self.params = params
        self.detector_versions = dict(sorted(detector_versions.items()))

    def severity(self, score: float) -> Severity:
        for band in self.params.severity_bands:
            if score >= band.min_score:
                return band.severity
        return self.params.severity_bands[-1].severity

    def decide(
        self,
        account_id: str,
        findings: Iterable[Finding],
        episodes: dict[str, OpenEpisode],
    ) -> tuple[dict[str, OpenEpisode], list[Alert], list[Finding]]:
        """Return (episodes, alerts, suppressed findings)."""
        by_typology: dict[Typology, list[Finding]] = {}
        for finding in findings:
            by_typology.setdefault(finding.typology, []).append(finding)
        if not by_typology:
            return episodes, [], []
        episodes = dict(episodes)
        alerts: list[Alert] = []
        suppressed: list[Finding] = []
        for typology in sorted(by_typology):
            group = by_typology[typology]
            last_at = max(f.window_end for f in group)
            open_episode = episodes.get(typology.value)
            if open_episode is not None and last_at <= open_episode.until:
                suppressed.extend(group)
                continue
            score = 1.0
            for f in group:
                score *= 1.0 - f.score
            score = round(1.0 - score, 4)
            if score < self.params.min_alert_score:
                suppressed.extend(group)
                continue
            window_start = min(f.window_start for f in group)
            alert_id = alert_id_for(account_id, typology, window_start, last_at)
            episodes[typology.value] = OpenEpisode(
                alert_id=alert_id, until=last_at + self.params.episode_length
            )
            event_ids = list(
                dict.fromkeys(original_event_id(e) for f in group for e in f.event_ids)
            )
            related = sorted({a for f in group for a in f.related_accounts} - {account_id})
            alerts.append(
                Alert(
                    alert_id=alert_id,
                    schema_version=ALERT_SCHEMA_VERSION,
                    created_at=last_at,
                    account_id=account_id,
                    typologies=[typology],
                    score=score,
                    severity=self.severity(score),
                    reasons=[
                        Reason(
                            detector=f.detector,
                            typology=f.typology,
                            code=f.code,
                            score=f.score,
                            summary=f.summary,
                            evidence=f.evidence,
                        )
                        for f in group
                    ],
                    transaction_ids=event_ids,
                    related_accounts=related,
                    detector_versions=self.detector_versions,
                )
            )
        return episodes, alerts, suppressed
