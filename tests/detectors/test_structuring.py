"""Structuring behaviour tables: the rule card of `detectors/structuring.py`, edge by edge."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from detectors import Jurisdiction
from detectors.structuring import CashWindow, Structuring, StructuringParams
from models import Finding, Transaction, Typology
from tests.factories import T0, cash_deposit, feed, make_txn, near_deposits

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def detector(profile: Jurisdiction | None = None, **params: object) -> Structuring:
    return Structuring(StructuringParams.model_validate(params), profile or Jurisdiction())


def last_finding(det: Structuring, events: list[Transaction]) -> Finding | None:
    state = det.State()
    found: list[Finding] = []
    for event in events:
        state, found = det.score(event, state)
    return found[0] if found else None


# --- threshold edges (default profile: Morocco, 100,000 MAD, near = 80 %) --------------------


@pytest.mark.parametrize(
    ("amount", "near"),
    [
        ("79999.99", False),
        ("80000.00", True),
        ("80000.01", True),
        ("95000", True),
        ("99999.99", True),
        ("100000.00", False),
        ("100000.01", False),
    ],
    ids=["one-cent-below-floor", "at-floor", "above-floor", "mid-band", "one-cent-below-threshold",
         "at-threshold-reported", "above-threshold-reported"],
)
def test_threshold_edges(amount: str, near: bool) -> None:
    det = detector()
    assert det.accepts(cash_deposit(amount)) is near
    _, findings = feed(det, near_deposits(3, amount=amount))
    assert bool(findings) is near


# --- window edges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_at", "fires"),
    [
        (7 * DAY - SECOND, True),
        (7 * DAY, True),
        (7 * DAY + SECOND, False),
    ],
    ids=["span-just-under-7-days", "span-exactly-7-days", "span-7-days-plus-1-second"],
)
def test_window_edges(last_at: timedelta, fires: bool) -> None:
    events = [cash_deposit(at=timedelta(0)), cash_deposit(at=3 * DAY), cash_deposit(at=last_at)]
    _, findings = feed(detector(), events)
    assert bool(findings) is fires


# --- count edges ----------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "fires"), [(1, False), (2, False), (3, True), (4, True)],
                         ids=["one", "two", "three-min-count", "four"])
def test_count_edges(count: int, fires: bool) -> None:
    _, findings = feed(detector(), near_deposits(count))
    assert bool(findings) is fires


def test_fires_on_the_event_that_completes_the_pattern_and_on_each_later_one() -> None:
    det = detector()
    state = det.State()
    fired = []
    for event in near_deposits(5):
        state, found = det.score(event, state)
        fired.append(len(found))
    assert fired == [0, 0, 1, 1, 1]


# --- hard negatives -------------------------------------------------------------------------


HARD_NEGATIVES: dict[str, list[Transaction]] = {
    "single-near-deposit": [cash_deposit("99000")],
    "business-depositing-large-cash-openly": near_deposits(
        12, every=timedelta(hours=12), amount="150000.00", account_id="ACC-SHOP"),
    "deposits-at-exactly-the-threshold": near_deposits(5, amount="100000.00"),
    "small-deposits": near_deposits(20, every=timedelta(hours=6), amount="9500.00"),
    "other-currency": near_deposits(5, currency="EUR"),
    "declined-deposits": near_deposits(5, status="declined"),
    "spread-beyond-the-window": near_deposits(6, every=4 * DAY),
    "cash-withdrawals-of-near-amounts": [
        make_txn(kind="cash_withdrawal", direction="out", amount=Decimal("95000"),
                 occurred_at=T0 + i * DAY) for i in range(5)],
    "incoming-transfers-of-near-amounts": [
        make_txn(kind="transfer", direction="in", amount=Decimal("95000"),
                 occurred_at=T0 + i * DAY) for i in range(5)],
}


@pytest.mark.parametrize("events", list(HARD_NEGATIVES.values()), ids=list(HARD_NEGATIVES))
def test_hard_negatives_do_not_fire(events: list[Transaction]) -> None:
    _, findings = feed(detector(), events)
    assert findings == []


def test_non_near_events_leave_the_state_untouched() -> None:
    det = detector()
    state, _ = feed(det, near_deposits(2))
    after, findings = feed(det, HARD_NEGATIVES["small-deposits"], state)
    assert after == state
    assert findings == []


# --- parameters and jurisdiction ------------------------------------------------------------


@pytest.mark.parametrize(("count", "fires"), [(3, False), (4, True)])
def test_min_count_is_configurable(count: int, fires: bool) -> None:
    _, findings = feed(detector(min_count=4), near_deposits(count))
    assert bool(findings) is fires


@pytest.mark.parametrize(
    ("near_fraction", "amount", "fires"),
    [(0.8, "85000", True), (0.9, "85000", False), (0.9, "89999.99", False),
     (0.9, "90000.00", True)],
    ids=["default-fraction-85k", "ninety-percent-85k", "ninety-percent-below-floor",
         "ninety-percent-at-floor"],
)
def test_near_fraction_is_configurable(near_fraction: float, amount: str, fires: bool) -> None:
    _, findings = feed(detector(near_fraction=near_fraction), near_deposits(3, amount=amount))
    assert bool(findings) is fires


def test_window_is_configurable() -> None:
    events = near_deposits(3, every=2 * DAY)  # spans 4 days
    assert feed(detector(window=timedelta(days=3)), events)[1] == []
    assert feed(detector(window=timedelta(days=4)), events)[1] != []


EURO_ZONE = Jurisdiction(country="FR", currency="EUR",
                         cash_reporting_threshold=Decimal("10000"))


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [("9500", "EUR", True), ("8000.00", "EUR", True), ("7999.99", "EUR", False),
     ("10000", "EUR", False), ("95000", "EUR", False), ("9500", "MAD", False)],
    ids=["just-under-10k-eur", "at-8k-floor", "below-floor", "at-threshold", "far-above",
         "profile-currency-only"],
)
def test_another_jurisdiction_changes_threshold_and_currency(amount: str, currency: str,
                                                             fires: bool) -> None:
    events = near_deposits(3, amount=amount, currency=currency)
    _, findings = feed(detector(EURO_ZONE), events)
    assert bool(findings) is fires
    if fires:
        assert "10,000.00 EUR" in findings[-1].summary


def test_lower_case_currency_in_profile_still_matches() -> None:
    profile = Jurisdiction(currency="eur", cash_reporting_threshold=Decimal("10000"))
    _, findings = feed(detector(profile), near_deposits(3, amount="9500", currency="EUR"))
    assert findings


# --- arrival order, redelivery and bounded state --------------------------------------------


def test_late_deposit_inside_the_window_is_kept_and_counts_for_later_deposits() -> None:
    det = detector()
    arrival = [cash_deposit(at=0 * DAY), cash_deposit(at=2 * DAY), cash_deposit(at=1 * DAY)]
    state, _ = feed(det, arrival)
    assert [d.at for d in state.deposits] == [T0, T0 + DAY, T0 + 2 * DAY]  # sorted by event time
    late = arrival[2]
    _, findings = feed(det, [cash_deposit(at=3 * DAY)], state)
    assert len(findings) == 1
    assert findings[0].evidence["count"] == 4
    assert late.event_id in findings[0].event_ids


def test_late_deposit_completing_the_pattern_fires() -> None:
    arrival = [cash_deposit(at=0 * DAY), cash_deposit(at=2 * DAY), cash_deposit(at=1 * DAY)]
    _, findings = feed(detector(), arrival)
    assert len(findings) == 1
    assert findings[0].window_end == T0 + 2 * DAY  # the newest evidence, not the late arrival


def test_deposit_older_than_the_window_of_the_newest_is_dropped_on_arrival() -> None:
    det = detector()
    state, _ = feed(det, near_deposits(2, start=10 * DAY))
    state, findings = feed(det, [cash_deposit(at=timedelta(0))], state)
    assert findings == []
    assert [d.at for d in state.deposits] == [T0 + 10 * DAY, T0 + 11 * DAY]


def test_the_same_event_id_is_never_counted_twice() -> None:
    det = detector()
    deposit = cash_deposit()
    state, findings = feed(det, [deposit, deposit, deposit])
    assert findings == []
    assert len(state.deposits) == 1


def test_state_keeps_only_deposits_within_the_window_of_the_newest() -> None:
    det = detector()
    state, _ = feed(det, near_deposits(1000, every=DAY))
    newest = T0 + 999 * DAY
    assert len(state.deposits) == 8  # days 992..999: the window is inclusive at both ends
    assert all(d.at >= newest - timedelta(days=7) for d in state.deposits)


def test_state_keeps_at_most_max_kept_deposits_the_newest_ones() -> None:
    det = detector()
    events = near_deposits(1000, every=timedelta(minutes=1))
    state, _ = feed(det, events)
    assert len(state.deposits) == det.params.max_kept == 64
    assert [d.event_id for d in state.deposits] == [e.event_id for e in events[-64:]]


def test_state_round_trips_through_json() -> None:
    det = detector()
    state, _ = feed(det, near_deposits(4, amount="99999.99"))
    restored = CashWindow.model_validate_json(state.model_dump_json())
    assert restored == state
    assert CashWindow.model_validate(json.loads(state.model_dump_json())) == state


# --- the finding an analyst reads -----------------------------------------------------------


def test_finding_is_coded_and_typed() -> None:
    finding = last_finding(detector(), near_deposits(3))
    assert finding is not None
    assert finding.detector == "structuring"
    assert finding.typology is Typology.STRUCTURING
    assert finding.code == "STRUCT_NEAR_THRESHOLD_REPEAT"


def test_summary_mentions_count_and_threshold() -> None:
    finding = last_finding(detector(), near_deposits(4, amount="90000.00"))
    assert finding is not None
    assert finding.summary.startswith("4 cash deposits")
    assert "100,000.00 MAD" in finding.summary
    assert "80,000.00 MAD" in finding.summary
    assert "total 360,000.00 MAD" in finding.summary
    assert "3 days" in finding.summary


def test_evidence_holds_the_figures_and_the_deposits_event_ids() -> None:
    events = near_deposits(3, amount="85000.50")
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.event_ids == tuple(e.event_id for e in events)
    ev = finding.evidence
    assert ev["count"] == 3
    assert Decimal(ev["total"]) == Decimal("255001.50")
    assert ev["reporting_threshold"] == "100000"
    assert ev["near_floor"] == "80000.00"
    assert ev["window_days"] == 7
    assert ev["amounts"] == ["85000.50"] * 3
    assert finding.window_start == events[0].occurred_at
    assert finding.window_end == events[-1].occurred_at


def test_evidence_leaves_out_deposits_that_left_the_window() -> None:
    events = near_deposits(5, every=3 * DAY)  # days 0, 3, 6, 9, 12
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.event_ids == tuple(e.event_id for e in events[2:])  # days 6, 9, 12


def test_evidence_is_json_serialisable() -> None:
    finding = last_finding(detector(), near_deposits(3))
    assert finding is not None
    json.dumps(finding.evidence)


# --- score --------------------------------------------------------------------------------


def test_score_increases_with_count_up_to_the_cap() -> None:
    det = detector()
    scores = []
    state = det.State()
    for event in near_deposits(8, every=timedelta(hours=12)):
        state, found = det.score(event, state)
        if found:
            scores.append(found[0].score)
    assert len(scores) == 6  # counts 3..8
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] < scores[1] < scores[2] < scores[3]  # counts 3, 4, 5, 6
    assert scores[3] == scores[4] == scores[5]  # +0.3 at most


@pytest.mark.parametrize(
    ("amount", "count", "score"),
    [("80000.00", 3, 0.6), ("90000.00", 3, 0.65), ("99999.99", 3, 0.7), ("80000.00", 6, 0.9),
     ("99999.99", 9, 1.0)],
    ids=["floor-min-count", "mid-band", "just-under", "floor-plus-three", "capped-at-one"],
)
def test_score_formula(amount: str, count: int, score: float) -> None:
    finding = last_finding(detector(), near_deposits(count, every=timedelta(hours=12),
                                                     amount=amount))
    assert finding is not None
    assert finding.score == pytest.approx(score, abs=1e-4)
