"""Output contracts: findings, the `fiu.alerts` message and the `monitor.dlq` record."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ALERT_SCHEMA_VERSION",
    "Alert",
    "DeadLetter",
    "DeadLetterReason",
    "Finding",
    "Reason",
    "Severity",
    "Typology",
]

ALERT_SCHEMA_VERSION = "1.0"

Score = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Evidence = dict[str, Any]


class Typology(StrEnum):
    """Typology codes of the contract."""

    STRUCTURING = "structuring"
    FUNNEL_ACCOUNT = "funnel_account"
    MULE_ACCOUNT = "mule_account"
    CARD_TESTING = "card_testing"
    ACCOUNT_TAKEOVER = "account_takeover"
    TRAFFICKING_INDICATORS = "trafficking_indicators"
    SHARED_IDENTITY = "shared_identity"
    OSINT_MATCH = "osint_match"
    ANOMALY = "anomaly"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class _Outbound(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Outbound):
    """One detector's scored, coded conclusion about one subject at one event.

    `window_start` is the event time of the oldest evidence: together with the subject and the
    typology it identifies the episode an alert is about.
    """

    detector: str
    typology: Typology
    code: str
    score: Score
    summary: str
    evidence: Evidence = Field(default_factory=dict)
    event_ids: tuple[str, ...] = ()
    related_accounts: tuple[str, ...] = ()
    window_start: AwareDatetime
    window_end: AwareDatetime


class Reason(_Outbound):
    """One detector's contribution to an alert, as the FIU reads it."""

    detector: str
    typology: Typology
    code: str
    score: Score
    summary: str
    evidence: Evidence


class Alert(_Outbound):
    """The `fiu.alerts` message (key = `account_id`)."""

    alert_id: str
    schema_version: str
    created_at: AwareDatetime
    account_id: str
    typologies: list[Typology]
    score: Score
    severity: Severity
    reasons: list[Reason]
    transaction_ids: list[str]
    related_accounts: list[str]
    detector_versions: dict[str, str]


class DeadLetterReason(StrEnum):
    """Reason classes for `monitor.dlq` (bounded: used as a metric label)."""

    BAD_JSON = "bad_json"
    SCHEMA = "schema"
    KEY_MISMATCH = "key_mismatch"
    PROCESSING = "processing"


class DeadLetter(_Outbound):
    """A `monitor.dlq` record: the untouched input and why it was not accepted."""

    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    raw: str
    raw_encoding: str  # "utf-8" or "base64"
    reason: DeadLetterReason
    error: str
    received_at: AwareDatetime

    @staticmethod
    def encode_raw(data: bytes | None) -> tuple[str, str]:
        """The original bytes as text when they are UTF-8, base64 otherwise."""
        if data is None:
            return "", "utf-8"
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii"), "base64"
