"""`assess`: the one code path from a validated event to alerts, for the stream and for replay.

The Faust agents call it with a table-backed mapping as `states`; replay, tests and evaluation
call it with a plain dict. It reads the subject's state once, runs every detector that accepts
the event, applies the alert policy and writes the state back once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from detectors.anomaly import BehaviourContext
from detectors.base import AccountState, Detector, Event, InboundLeg
from detectors.behaviour import features as behaviour_features
from detectors.behaviour import learn as behaviour_learn
from detectors.identity import IdentifierLink, IdentityParams, RoutedFinding, links_of
from detectors.policy import DERIVED_LEG_SUFFIX, AlertPolicy
from models import Alert, Direction, Finding, Transaction, TransactionKind
from models.events import Counterparty

__all__ = [
    "Assessment",
    "Outcome",
    "account_legs",
    "assess",
    "assess_finding",
    "decide_finding",
    "event_fingerprint",
    "payee_leg",
]

#: How far apart the payer's and the payee's reports of one transfer may be in event time.
LEG_MATCH_TOLERANCE = timedelta(minutes=10)
#: How many recent credit transfers an account remembers to recognise a doubly reported one,
#: and for how long in event time (the two reports travel different paths and can arrive apart).
INBOUND_LEGS_KEPT = 32
INBOUND_LEGS_HORIZON = timedelta(days=1)

DetectorTimer = Callable[[str, float], None]


class Outcome(StrEnum):
    """What happened to one event at the account stage (bounded: used as a metric label)."""

    ASSESSED = "assessed"
    DUPLICATE = "duplicate"  # same event_id seen before (redelivery)
    DUPLICATE_LEG = "duplicate_leg"  # the other bank's report of a transfer already seen


@dataclass(slots=True)
class Assessment:
    outcome: Outcome
    alerts: list[Alert] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    links: list[IdentifierLink] = field(default_factory=list)  # for the identity stage
    features: list[float] | None = None  # the anomaly detector's row, before learning


def event_fingerprint(event_id: str) -> str:
    """A short stable digest of an event id, for the per-account dedupe ring."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def payee_leg(txn: Transaction) -> Transaction:
    """The credit side of a payer's `out` transfer, booked on the beneficiary's account."""
    cp = txn.counterparty
    assert cp is not None and cp.account_id is not None  # noqa: S101 - checked by account_legs
    return txn.model_copy(
        update={
            "event_id": txn.event_id + DERIVED_LEG_SUFFIX,
            "account_id": cp.account_id,
            "direction": Direction.IN,
            "institution": cp.bank,
            "counterparty": Counterparty(
                account_id=txn.account_id,
                bank=txn.institution,
                country=txn.location.country if txn.location else None,
            ),
            "card": None,
            "merchant": None,
            "device_id": None,
            "ip": None,
            "location": None,
        }
    )


def account_legs(txn: Transaction) -> list[Transaction]:
    """The per-account events of a transaction: itself, plus the payee leg of a transfer out."""
    cp = txn.counterparty
    if (
        txn.kind is TransactionKind.TRANSFER
        and txn.direction is Direction.OUT
        and cp is not None
        and cp.account_id
        and cp.account_id != txn.account_id
    ):
        return [txn, payee_leg(txn)]
    return [txn]


def _inbound_leg(event: Event) -> InboundLeg | None:
    if not (
        isinstance(event, Transaction)
        and event.kind is TransactionKind.TRANSFER
        and event.direction is Direction.IN
        and event.counterparty is not None
        and event.counterparty.account_id
    ):
        return None
    return InboundLeg(
        payer=event.counterparty.account_id,
        amount=str(Decimal(event.amount).normalize()),
        currency=event.currency,
        occurred_at=event.occurred_at,
        derived=event.event_id.endswith(DERIVED_LEG_SUFFIX),
    )


def _same_transfer(a: InboundLeg, b: InboundLeg) -> bool:
    return (
        a.derived != b.derived
        and a.payer == b.payer
        and a.amount == b.amount
        and a.currency == b.currency
        and abs(a.occurred_at - b.occurred_at) <= LEG_MATCH_TOLERANCE
    )


def _first_time(
    states: MutableMapping[str, AccountState], key: str, item_id: str, policy: AlertPolicy
) -> AccountState | None:
    """The account's state with `item_id` remembered, or None when it was seen before."""
    state = states.get(key)
    if state is None:
        state = AccountState()
    fingerprint = event_fingerprint(item_id)
    if fingerprint in state.seen_events:
        return None
    recent = state.seen_events
    recent.append(fingerprint)
    if len(recent) > policy.params.dedupe_capacity:
        del recent[: len(recent) - policy.params.dedupe_capacity]
    return state


def assess(
    event: Event,
    detectors: Sequence[Detector[Any]],
    states: MutableMapping[str, AccountState],
    policy: AlertPolicy,
    *,
    timer: DetectorTimer | None = None,
    identity: IdentityParams | None = None,
    behaviour: BehaviourContext | None = None,
) -> Assessment:
    """Score one event against its account's state; return the alerts to publish.

    A repeated `event_id` (redelivery) changes nothing and yields nothing. A credit transfer
    that both banks reported (the payee's `in` and the leg derived from the payer's `out`) is
    counted once. `timer(detector_name, seconds)` is called per detector run when given. With
    `identity`, the identifiers the event shows for the first time are returned as `links`
    for the identity stage. With `behaviour`, a transaction's anomaly feature row is computed
    from the account's behaviour profile and returned as `features`, then the profile learns
    the event (score, then learn); scoring the rows is the caller's, in batches.
    """
    key = event.account_id
    state = _first_time(states, key, event.event_id, policy)
    if state is None:
        return Assessment(Outcome.DUPLICATE)

    leg = _inbound_leg(event)
    if leg is not None:
        if any(_same_transfer(leg, seen) for seen in state.inbound_legs):
            states[key] = state
            return Assessment(Outcome.DUPLICATE_LEG)
        newest = max([leg.occurred_at, *(seen.occurred_at for seen in state.inbound_legs)])
        kept = [seen for seen in state.inbound_legs
                if seen.occurred_at >= newest - INBOUND_LEGS_HORIZON]
        kept.append(leg)
        state.inbound_legs = kept[-INBOUND_LEGS_KEPT:]

    findings: list[Finding] = []
    for detector in detectors:
        if not detector.accepts(event):
            continue
        started = time.perf_counter() if timer is not None else 0.0
        raw = state.detectors.get(detector.name)
        if raw is None:
            det_state = detector.State()
        elif isinstance(raw, detector.State):
            det_state = raw  # kept in memory since the last event (replay, a batch)
        else:
            det_state = detector.State.model_validate(raw)
        det_state, found = detector.score(event, det_state)
        state.detectors[detector.name] = det_state  # serialised with the record, if ever
        findings.extend(found)
        if timer is not None:
            timer(detector.name, time.perf_counter() - started)

    row: list[float] | None = None
    if behaviour is not None:
        if isinstance(event, Transaction):
            row = behaviour_features(
                event, state.behaviour, home_country=behaviour.home_country, tz=behaviour.tz
            )
        state.behaviour = behaviour_learn(event, state.behaviour)
    links = links_of(event, state, identity) if identity is not None else []
    episodes, alerts, suppressed = policy.decide(key, findings, state.episodes)
    state.episodes = episodes
    states[key] = state
    return Assessment(Outcome.ASSESSED, alerts, findings, suppressed, links, row)


def decide_finding(
    account_id: str,
    finding: Finding,
    states: MutableMapping[str, AccountState],
    policy: AlertPolicy,
) -> Assessment:
    """Apply the alert policy to a finding about an event already assessed (the anomaly
    detector's, scored after its batch); the event's own dedupe already happened."""
    state = states.get(account_id)
    if state is None:
        state = AccountState()
    episodes, alerts, suppressed = policy.decide(account_id, [finding], state.episodes)
    state.episodes = episodes
    states[account_id] = state
    return Assessment(Outcome.ASSESSED, alerts, [finding], suppressed)


def assess_finding(
    routed: RoutedFinding,
    states: MutableMapping[str, AccountState],
    policy: AlertPolicy,
) -> Assessment:
    """Apply the alert policy to a finding the identity stage addressed to an account.

    The finding id goes into the account's dedupe ring like an event id, so a finding sent
    again (a redelivered link or indicator) changes nothing.
    """
    state = _first_time(states, routed.account_id, routed.finding_id, policy)
    if state is None:
        return Assessment(Outcome.DUPLICATE)
    states[routed.account_id] = state  # callers pass a staged dict: no table write here
    return decide_finding(routed.account_id, routed.finding, states, policy)
