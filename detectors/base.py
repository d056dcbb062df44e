"""The detector protocol and the per-account state record every detector's state lives in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from detectors.behaviour import BehaviourProfile
from models import AccountEvent, Finding, Transaction, Typology

__all__ = [
    "AccountProfile",
    "AccountState",
    "Detector",
    "DetectorState",
    "Event",
    "InboundLeg",
    "OpenEpisode",
]

Event = Transaction | AccountEvent


class DetectorState(BaseModel):
    """Base of every detector's state: frozen, JSON round-trippable, bounded by the detector."""

    model_config = ConfigDict(frozen=True, extra="forbid")


S = TypeVar("S", bound=DetectorState)


@runtime_checkable
class Detector(Protocol[S]):
    """A pure function of (event, state) -> (state, findings), plus what it needs to be run.

    `score` must not do I/O, read the wall clock (use the event's `occurred_at`) or import Faust;
    the state it returns must stay bounded however many events it sees.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    typology: ClassVar[Typology]
    State: type[S]

    def accepts(self, event: Event, /) -> bool:
        """Whether `score` wants this event (cheap; the state is not read otherwise)."""
        ...

    def score(self, event: Event, state: S, /) -> tuple[S, list[Finding]]: ...


class OpenEpisode(BaseModel):
    """An alert already raised for one subject and typology, suppressing repeats until `until`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    until: datetime


class InboundLeg(BaseModel):
    """A credit transfer already seen, to recognise the same transfer reported by both banks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payer: str
    amount: str
    currency: str
    occurred_at: datetime
    derived: bool


class AccountProfile(BaseModel):
    """What the identity stage needs to know about the holder: digests, never the text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name_key: str | None = None
    address_key: str | None = None
    business: bool | None = None


class AccountState(BaseModel):
    """Everything the monitor keeps about one account: one table value, written once per event.

    `detectors` holds each detector's own state under the detector's name, so adding a
    detector never changes this record's shape: JSON data when read from the table, the
    detector's state model while the record stays in memory (serialised the same way).
    `seen_events` keeps 16-hex-digit fingerprints of the most recent event ids (not the ids),
    which keeps the record, written to the changelog on every event, small.
    """

    model_config = ConfigDict(extra="forbid")

    seen_events: list[str] = Field(default_factory=list)  # event_id fingerprints, newest last
    inbound_legs: list[InboundLeg] = Field(default_factory=list)
    detectors: dict[str, Any] = Field(default_factory=dict)
    episodes: dict[str, OpenEpisode] = Field(default_factory=dict)
    profile: AccountProfile | None = None
    behaviour: BehaviourProfile | None = None  # kept while the anomaly detector is on
    linked: list[str] = Field(default_factory=list)  # fingerprints of identifiers already sent
