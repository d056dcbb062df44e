"""What every registered detector owes the monitor (the `Detector` protocol's contract).

Parametrised over `detectors.REGISTRY`, so a new detector is checked the moment it is registered.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from detectors import (
    REGISTRY,
    Detector,
    DetectorParams,
    DetectorState,
    Event,
    Jurisdiction,
    build_detectors,
)
from models import Finding, Typology
from tests.factories import T0, event_sequences, make_account_event, make_txn

STATE_BYTES_BOUND = 64 * 1024

SEQUENCES = settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _all_detectors() -> dict[str, Detector[Any]]:
    built = build_detectors(DetectorParams(enabled=tuple(REGISTRY)), Jurisdiction())
    return {d.name: d for d in built}


DETECTORS = _all_detectors()


@pytest.fixture(params=sorted(REGISTRY))
def detector(request: pytest.FixtureRequest) -> Detector[Any]:
    return DETECTORS[request.param]


def run(det: Detector[Any], events: list[Event]) -> tuple[dict[str, Any], list[Finding]]:
    """Thread each account's state through `score` for the events `accepts` lets in, as
    `assess` does; return the final states by account and every finding."""
    states: dict[str, Any] = {}
    findings: list[Finding] = []
    for event in events:
        if not det.accepts(event):
            continue
        state = states.get(event.account_id, det.State())
        states[event.account_id], found = det.score(event, state)
        findings.extend(found)
    return states, findings


def worst_case_events(n: int, seed: int = 11) -> list[Event]:
    """Many events packed in a short time, half of them near the reporting threshold."""
    rng = random.Random(seed)
    events: list[Event] = []
    for i in range(n):
        at = T0 + timedelta(seconds=rng.randrange(0, 14 * 86400))
        roll = rng.random()
        if roll < 0.5:
            amount = Decimal(rng.randrange(8_000_000, 10_000_000)) / 100
            events.append(make_txn(event_id=f"w-{i}", kind="cash_deposit", amount=amount,
                                   occurred_at=at))
        elif roll < 0.8:
            events.append(make_txn(event_id=f"w-{i}", kind=rng.choice(
                ["cash_withdrawal", "transfer", "card_payment"]),
                amount=Decimal(rng.randrange(1, 500_000)), occurred_at=at))
        else:
            events.append(make_account_event(event_id=f"w-{i}", kind="login", occurred_at=at))
    return events


def test_registry_builds_every_detector_by_name() -> None:
    assert set(DETECTORS) == set(REGISTRY)
    for name, det in DETECTORS.items():
        assert det.name == name


def test_detector_satisfies_the_protocol(detector: Detector[Any]) -> None:
    assert isinstance(detector, Detector)
    assert isinstance(detector.typology, Typology)
    assert isinstance(detector.version, str) and detector.version
    assert issubclass(detector.State, DetectorState)


def test_empty_state_works(detector: Detector[Any]) -> None:
    state = detector.State()
    for event in [make_txn(kind="cash_deposit", amount=Decimal("95000")),
                  make_txn(kind="card_payment"), make_account_event()]:
        if detector.accepts(event):
            new_state, findings = detector.score(event, state)
            assert isinstance(new_state, detector.State)
            assert isinstance(findings, list)


def test_score_does_not_mutate_the_given_state(detector: Detector[Any]) -> None:
    state = detector.State()
    before = state.model_dump_json()
    for event in worst_case_events(50):
        if detector.accepts(event):
            detector.score(event, state)
    assert state.model_dump_json() == before


BY_NAME = pytest.mark.parametrize("name", sorted(REGISTRY))


@BY_NAME
@SEQUENCES
@given(events=event_sequences())
def test_state_round_trips_through_json(name: str, events: list[Event]) -> None:
    det = DETECTORS[name]
    states, _ = run(det, events)
    for state in states.values():
        assert det.State.model_validate_json(state.model_dump_json()) == state
        assert det.State.model_validate(state.model_dump(mode="json")) == state


@BY_NAME
@SEQUENCES
@given(events=event_sequences())
def test_findings_are_well_formed_with_scores_in_unit_interval(name: str,
                                                               events: list[Event]) -> None:
    det = DETECTORS[name]
    ids = {e.event_id for e in events}
    for f in run(det, events)[1]:
        assert 0.0 <= f.score <= 1.0
        assert f.detector == det.name
        assert f.typology is det.typology
        assert f.summary.strip()
        assert f.window_start <= f.window_end
        assert f.event_ids and set(f.event_ids) <= ids


@BY_NAME
@SEQUENCES
@given(events=event_sequences())
def test_same_sequence_gives_the_same_findings(name: str, events: list[Event]) -> None:
    det = DETECTORS[name]
    assert run(det, events) == run(det, events)
    assert run(det, events)[1] == run(_all_detectors()[name], events)[1]  # no hidden state


def test_state_stays_bounded_after_5000_events(detector: Detector[Any]) -> None:
    """One account receiving 5,000 events in two weeks, half of them near the threshold."""
    state = detector.State()
    largest = 0
    for i, event in enumerate(worst_case_events(5000)):
        if detector.accepts(event):
            state, _ = detector.score(event, state)
        if i % 250 == 0:
            largest = max(largest, len(state.model_dump_json()))
    largest = max(largest, len(state.model_dump_json()))
    assert largest < STATE_BYTES_BOUND, f"{detector.name} state grew to {largest} bytes"
