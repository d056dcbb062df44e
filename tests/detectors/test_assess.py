"""`assess`: redelivery, payee legs of transfers, doubly reported transfers, persisted state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from detectors import (
    AccountState,
    DetectorParams,
    Jurisdiction,
    Outcome,
    PolicyParams,
    account_legs,
    assess,
    build_detectors,
    build_policy,
)
from detectors.assess import (
    INBOUND_LEGS_HORIZON,
    INBOUND_LEGS_KEPT,
    LEG_MATCH_TOLERANCE,
    Assessment,
    event_fingerprint,
)
from models import Direction, Transaction, TransactionKind
from tests.factories import T0, make_account_event, make_txn, near_deposits

MINUTE = timedelta(minutes=1)


class Monitor:
    """The account stage as replay runs it: default detectors, a policy, a dict of states."""

    def __init__(self, policy_params: PolicyParams | None = None,
                 round_trip_state: bool = False) -> None:
        self.detectors = build_detectors(DetectorParams(), Jurisdiction())
        self.policy = build_policy(policy_params or PolicyParams(), self.detectors)
        self.states: dict[str, AccountState] = {}
        self.round_trip_state = round_trip_state

    def assess(self, event: Any, **kwargs: Any) -> Assessment:
        result = assess(event, self.detectors, self.states, self.policy, **kwargs)
        if self.round_trip_state:  # what a table with a JSON serializer does between events
            self.states[event.account_id] = AccountState.model_validate_json(
                self.states[event.account_id].model_dump_json())
        return result

    def feed(self, events: Iterable[Transaction]) -> list[Assessment]:
        """Each event and, for a transfer out, its payee leg (like the stream and replay)."""
        return [self.assess(leg) for event in events for leg in account_legs(event)]

    def snapshot(self, account_id: str) -> str:
        return self.states[account_id].model_dump_json()


def transfer_out(amount: str = "5000.00", at: timedelta = timedelta(0), payer: str = "ACC-A",
                 payee: str | None = "ACC-B", **overrides: Any) -> Transaction:
    counterparty = {"account_id": payee, "name": "Beneficiary", "bank": "BNK-B"}
    return make_txn(kind="transfer", direction="out", account_id=payer, amount=Decimal(amount),
                    occurred_at=T0 + at, counterparty=counterparty, institution="BNK-A",
                    **overrides)


def transfer_in(amount: str = "5000.00", at: timedelta = timedelta(0), payee: str = "ACC-B",
                payer: str = "ACC-A", **overrides: Any) -> Transaction:
    """The payee bank's own report of a credit transfer (its own event id)."""
    return make_txn(kind="transfer", direction="in", account_id=payee, amount=Decimal(amount),
                    occurred_at=T0 + at, counterparty={"account_id": payer}, **overrides)


# --- redelivery ---------------------------------------------------------------------------


def test_first_delivery_is_assessed_and_remembered() -> None:
    monitor = Monitor()
    deposit = near_deposits(1)[0]
    assert monitor.assess(deposit).outcome is Outcome.ASSESSED
    assert monitor.states["ACC-1"].seen_events == [event_fingerprint(deposit.event_id)]


def test_redelivered_event_is_a_duplicate_with_no_alerts_and_no_state_change() -> None:
    monitor = Monitor()
    events = near_deposits(3, account_id="ACC-S")
    results = monitor.feed(events)
    assert len(results[-1].alerts) == 1
    before = monitor.snapshot("ACC-S")

    again = monitor.assess(events[-1])
    assert again.outcome is Outcome.DUPLICATE
    assert again.alerts == [] and again.findings == []
    assert monitor.snapshot("ACC-S") == before


def test_redelivered_transfer_is_a_duplicate_on_both_accounts() -> None:
    monitor = Monitor()
    out = transfer_out()
    assert [r.outcome for r in monitor.feed([out])] == [Outcome.ASSESSED, Outcome.ASSESSED]
    assert [r.outcome for r in monitor.feed([out])] == [Outcome.DUPLICATE, Outcome.DUPLICATE]


def test_same_event_id_on_another_account_is_not_a_duplicate() -> None:
    monitor = Monitor()
    a = make_txn(event_id="shared-id", account_id="ACC-A")
    b = make_txn(event_id="shared-id", account_id="ACC-B")
    assert monitor.assess(a).outcome is Outcome.ASSESSED
    assert monitor.assess(b).outcome is Outcome.ASSESSED


def test_dedupe_ring_is_bounded_by_dedupe_capacity_and_keeps_the_newest() -> None:
    monitor = Monitor(PolicyParams(dedupe_capacity=16))
    events = [make_txn(occurred_at=T0 + i * MINUTE) for i in range(40)]
    monitor.feed(events)
    recent = monitor.states["ACC-1"].seen_events
    assert recent == [event_fingerprint(e.event_id) for e in events[-16:]]
    assert monitor.assess(events[-1]).outcome is Outcome.DUPLICATE


def test_default_dedupe_capacity_bounds_the_ring() -> None:
    monitor = Monitor()
    monitor.feed(make_txn(occurred_at=T0 + i * MINUTE) for i in range(600))
    assert len(monitor.states["ACC-1"].seen_events) == PolicyParams().dedupe_capacity == 256


def test_account_events_are_assessed_and_deduplicated_too() -> None:
    monitor = Monitor()
    opened = make_account_event(account_id="ACC-1")
    assert monitor.assess(opened).outcome is Outcome.ASSESSED
    assert monitor.assess(opened).outcome is Outcome.DUPLICATE


# --- payee legs ---------------------------------------------------------------------------


def test_transfer_out_yields_the_payer_event_and_a_payee_leg() -> None:
    out = transfer_out(location={"country": "MA", "city": "Rabat"}, device_id="dev-9",
                       ip="192.0.2.1")
    legs = account_legs(out)
    assert len(legs) == 2
    assert legs[0] is out
    leg = legs[1]
    assert leg.event_id == out.event_id + "~payee"
    assert leg.account_id == "ACC-B"
    assert leg.direction is Direction.IN
    assert leg.kind is TransactionKind.TRANSFER
    assert (leg.amount, leg.currency, leg.occurred_at) == (out.amount, out.currency,
                                                          out.occurred_at)
    assert leg.counterparty is not None
    assert leg.counterparty.account_id == "ACC-A"
    assert leg.counterparty.bank == "BNK-A"
    assert leg.counterparty.country == "MA"
    assert leg.institution == "BNK-B"
    # the payer's device, IP and location say nothing about the payee
    assert (leg.device_id, leg.ip, leg.location) == (None, None, None)


@pytest.mark.parametrize(
    "txn",
    [
        transfer_out(payee=None),
        transfer_out(payee="ACC-A"),
        transfer_in(),
        make_txn(kind="cash_deposit"),
        make_txn(kind="cash_withdrawal"),
        make_txn(kind="card_payment"),
    ],
    ids=["transfer-without-counterparty-account", "transfer-to-self", "transfer-in",
         "cash-deposit", "cash-withdrawal", "card-payment"],
)
def test_no_payee_leg(txn: Transaction) -> None:
    assert account_legs(txn) == [txn]


def test_payee_leg_is_assessed_on_the_beneficiary_account() -> None:
    monitor = Monitor()
    out = transfer_out()
    monitor.feed([out])
    assert monitor.states["ACC-B"].seen_events == [event_fingerprint(out.event_id + "~payee")]
    assert monitor.states["ACC-A"].seen_events == [event_fingerprint(out.event_id)]


# --- a transfer reported by both banks ------------------------------------------------------


@pytest.mark.parametrize(
    ("payee_report", "outcome"),
    [
        (transfer_in(at=3 * MINUTE), Outcome.DUPLICATE_LEG),
        (transfer_in(at=-3 * MINUTE), Outcome.DUPLICATE_LEG),
        (transfer_in(at=LEG_MATCH_TOLERANCE), Outcome.DUPLICATE_LEG),
        (transfer_in(at=LEG_MATCH_TOLERANCE + timedelta(seconds=1)), Outcome.ASSESSED),
        (transfer_in(amount="5000"), Outcome.DUPLICATE_LEG),
        (transfer_in(at=timedelta(hours=1)), Outcome.ASSESSED),
        (transfer_in(amount="5000.01"), Outcome.ASSESSED),
        (transfer_in(currency="EUR"), Outcome.ASSESSED),
        (transfer_in(payer="ACC-C"), Outcome.ASSESSED),
    ],
    ids=["3-min-later", "3-min-earlier", "at-tolerance", "beyond-tolerance",
         "same-amount-other-scale", "1-hour-later-another-transfer", "other-amount",
         "other-currency", "other-payer"],
)
def test_payee_bank_report_of_a_transfer_already_seen_is_counted_once(
        payee_report: Transaction, outcome: Outcome) -> None:
    monitor = Monitor()
    monitor.feed([transfer_out()])
    assert monitor.assess(payee_report).outcome is outcome


def test_payee_report_first_then_payer_report_is_counted_once() -> None:
    monitor = Monitor()
    assert monitor.assess(transfer_in(at=2 * MINUTE)).outcome is Outcome.ASSESSED
    outcomes = [r.outcome for r in monitor.feed([transfer_out()])]
    assert outcomes == [Outcome.ASSESSED, Outcome.DUPLICATE_LEG]


def test_two_genuine_transfers_of_the_same_amount_one_hour_apart_are_both_assessed() -> None:
    monitor = Monitor()
    outcomes = [r.outcome for r in monitor.feed([transfer_out(), transfer_out(at=60 * MINUTE)])]
    assert outcomes == [Outcome.ASSESSED] * 4


def test_two_payer_reports_of_the_same_amount_within_minutes_are_both_assessed() -> None:
    monitor = Monitor()
    outcomes = [r.outcome for r in monitor.feed([transfer_out(), transfer_out(at=MINUTE)])]
    assert outcomes == [Outcome.ASSESSED] * 4


def test_duplicate_leg_is_remembered_as_a_seen_event_id() -> None:
    monitor = Monitor()
    monitor.feed([transfer_out()])
    payee_report = transfer_in(at=MINUTE)
    assert monitor.assess(payee_report).outcome is Outcome.DUPLICATE_LEG
    assert monitor.assess(payee_report).outcome is Outcome.DUPLICATE


def test_remembered_inbound_legs_are_bounded() -> None:
    monitor = Monitor()
    monitor.feed(transfer_out(at=i * MINUTE) for i in range(INBOUND_LEGS_KEPT + 20))
    assert len(monitor.states["ACC-B"].inbound_legs) == INBOUND_LEGS_KEPT


def test_inbound_legs_older_than_the_horizon_are_forgotten() -> None:
    monitor = Monitor()
    monitor.feed(transfer_out(at=i * MINUTE * 30) for i in range(4))
    monitor.feed([transfer_out(at=INBOUND_LEGS_HORIZON + 2 * MINUTE * 30)])
    legs = monitor.states["ACC-B"].inbound_legs
    assert [leg.occurred_at - T0 for leg in legs] == [
        2 * MINUTE * 30, 3 * MINUTE * 30, INBOUND_LEGS_HORIZON + 2 * MINUTE * 30]


# --- state persistence --------------------------------------------------------------------


def scenario() -> list[Transaction]:
    """Structuring on two accounts, transfers reported once and twice, ordinary traffic."""
    events: list[Transaction] = []
    events += near_deposits(5, every=timedelta(hours=20), account_id="ACC-S")
    events += near_deposits(3, every=timedelta(hours=30), account_id="ACC-T", amount="99999.99")
    events += [transfer_out(at=i * timedelta(hours=5), payee="ACC-S") for i in range(4)]
    events += [transfer_in(at=timedelta(hours=5) + MINUTE, payee="ACC-S")]
    events += near_deposits(4, account_id="ACC-S", start=timedelta(days=15))
    events += [make_txn(kind="card_payment", account_id="ACC-T", occurred_at=T0 + i * MINUTE)
               for i in range(5)]
    return sorted(events, key=lambda e: e.occurred_at)


def test_state_round_tripped_through_json_gives_the_same_results() -> None:
    events = scenario()
    plain, persisted = Monitor(), Monitor(round_trip_state=True)
    expected = plain.feed(events)
    actual = persisted.feed(events)
    assert [r.outcome for r in actual] == [r.outcome for r in expected]
    assert [r.findings for r in actual] == [r.findings for r in expected]
    assert [r.alerts for r in actual] == [r.alerts for r in expected]
    # the scenario exercises every part of the state: alerts on ACC-S (two episodes) and
    # ACC-T, and the remembered inbound legs (one transfer reported by both banks)
    assert sorted(a.account_id for r in expected for a in r.alerts) == ["ACC-S", "ACC-S", "ACC-T"]
    assert [r.outcome for r in expected].count(Outcome.DUPLICATE_LEG) == 1
    assert {a: persisted.snapshot(a) for a in persisted.states} == {
        a: plain.snapshot(a) for a in plain.states}


def test_account_state_json_round_trip_is_lossless() -> None:
    monitor = Monitor()
    monitor.feed(scenario())
    for state in monitor.states.values():
        restored = AccountState.model_validate_json(state.model_dump_json())
        assert restored.model_dump_json() == state.model_dump_json()


def test_detector_state_is_stored_as_json_data_under_the_detector_name() -> None:
    monitor = Monitor()
    monitor.feed(near_deposits(2, account_id="ACC-S"))
    stored = monitor.states["ACC-S"].model_dump(mode="json")["detectors"]["structuring"]
    assert [d["amount"] for d in stored["deposits"]] == ["95000.00", "95000.00"]


def test_detectors_that_do_not_accept_an_event_do_not_touch_its_state() -> None:
    monitor = Monitor()
    monitor.detectors = build_detectors(DetectorParams(enabled=("structuring",)), Jurisdiction())
    monitor.feed([make_txn(kind="card_payment")])
    assert monitor.states["ACC-1"].detectors == {}


def test_timer_is_called_once_per_detector_run() -> None:
    monitor = Monitor()
    monitor.detectors = build_detectors(DetectorParams(enabled=("structuring",)), Jurisdiction())
    calls: list[tuple[str, float]] = []
    monitor.assess(near_deposits(1)[0], timer=lambda name, secs: calls.append((name, secs)))
    monitor.assess(make_txn(kind="card_payment"), timer=lambda n, s: calls.append((n, s)))
    assert [name for name, _ in calls] == ["structuring"]
    assert calls[0][1] >= 0.0
