"""Card-testing behaviour tables: the rule card of `detectors/card_testing.py`, edge by edge."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from detectors import Detector, Jurisdiction
from detectors.card_testing import (
    CardAttempts,
    CardTesting,
    CardTestingParams,
    mask_card,
)
from models import Finding, Transaction, Typology
from tests.factories import T0, feed, make_account_event, make_txn

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

CARD = "tok-4111-0000-1234"
BURST = "CARD_TEST_BURST"
MULTI = "CARD_TEST_MULTI_CARD"


def detector(profile: Jurisdiction | None = None, **params: object) -> CardTesting:
    return CardTesting(CardTestingParams.model_validate(params), profile or Jurisdiction())


def attempt(at: timedelta = timedelta(0), *, declined: bool = True, amount: str = "9.99",
            card: str = CARD, merchant: str | None = "M-DIGI", mcc: str | None = "5816",
            merchant_name: str | None = "Pixel Gems", **overrides: Any) -> Transaction:
    """A card payment of `amount` MAD on `card` at `merchant`, at `T0 + at` (CNP by default)."""
    merchant_fields = {"merchant_id": merchant, "name": merchant_name, "mcc": mcc, "country": "MA"}
    fields: dict[str, Any] = {
        "kind": "card_payment",
        "direction": "out",
        "channel": "ecommerce",
        "status": "declined" if declined else "approved",
        "amount": Decimal(amount),
        "card": {"card_id": card, "bin": "411111"},
        "merchant": {k: v for k, v in merchant_fields.items() if v is not None},
        "occurred_at": T0 + at,
    }
    return make_txn(**(fields | overrides))


def burst(pattern: str, *, every: timedelta = MINUTE, start: timedelta = timedelta(0),
          merchants: Sequence[str | None] = ("M-DIGI",), cards: Sequence[str] = (CARD,),
          **overrides: Any) -> list[Transaction]:
    """One attempt per letter of `pattern` ('D' declined, 'A' approved), `every` apart from
    `T0 + start`; merchants and cards are taken in turn."""
    return [attempt(start + i * every, declined=letter == "D",
                    merchant=merchants[i % len(merchants)], card=cards[i % len(cards)],
                    **overrides)
            for i, letter in enumerate(pattern)]


def last_findings(det: CardTesting, events: list[Transaction]) -> list[Finding]:
    """The findings raised by the last event of the sequence."""
    state = det.State()
    found: list[Finding] = []
    for event in events:
        state, found = det.score(event, state)
    return found


def last(det: CardTesting, events: list[Transaction], code: str = BURST) -> Finding:
    found = [f for f in last_findings(det, events) if f.code == code]
    assert len(found) == 1, f"expected one {code} finding, got {found}"
    return found[0]


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code for f in findings}


# --- the protocol -------------------------------------------------------------------------


def test_is_a_detector_of_the_card_testing_typology() -> None:
    det = detector()
    assert isinstance(det, Detector)
    assert det.name == "card_testing"
    assert det.version == "1"
    assert det.typology is Typology.CARD_TESTING
    assert det.State is CardAttempts


def test_constructor_only_stores_its_arguments() -> None:
    params, profile = CardTestingParams(), Jurisdiction()
    det = CardTesting(params, profile)
    assert det.params is params and det.profile is profile


def test_defaults_are_the_rule_card_defaults() -> None:
    p = CardTestingParams()
    assert p.window == timedelta(minutes=10)
    assert p.max_amount == Decimal("50")
    assert (p.min_attempts, p.min_declined_share, p.max_merchants) == (5, 0.5, 3)
    assert p.multi_card_min_cards == 4
    assert {c.value for c in p.channels} == {"ecommerce", "online"}
    assert {"5815", "5816", "5817", "5818", "8398", "4816", "5734", "5999"} == p.typical_mccs


# --- what is an attempt (accepts) ---------------------------------------------------------


ACCEPTS: dict[str, tuple[Transaction | Any, bool]] = {
    "declined-ecommerce": (attempt(), True),
    "approved-ecommerce": (attempt(declined=False), True),
    "online-channel": (attempt(channel="online"), True),
    "at-max-amount": (attempt(amount="50.00"), True),
    "one-cent-above-max-amount": (attempt(amount="50.01"), False),
    "card-present-pos": (attempt(channel="pos"), False),
    "mobile-channel": (attempt(channel="mobile"), False),
    "no-channel": (make_txn(kind="card_payment", channel=None, amount=Decimal("5")), False),
    "refund-direction-in": (attempt(direction="in"), False),
    "other-currency": (attempt(currency="USD", amount="1.00"), False),
    "cash-deposit": (make_txn(kind="cash_deposit", amount=Decimal("10")), False),
    "small-transfer": (make_txn(kind="transfer", amount=Decimal("10")), False),
    "account-event": (make_account_event(kind="login"), False),
}


@pytest.mark.parametrize(("event", "accepted"), list(ACCEPTS.values()), ids=list(ACCEPTS))
def test_accepts_only_small_card_not_present_payments(event: Any, accepted: bool) -> None:
    assert detector().accepts(event) is accepted


# --- threshold edges (defaults: 5 attempts, half declined, <= 50 MAD, <= 3 merchants) --------


@pytest.mark.parametrize(("pattern", "fires"),
                         [("DDDD", False), ("DDDDD", True), ("DDDDDD", True)],
                         ids=["min-attempts-minus-one", "at-min-attempts", "above-min-attempts"])
def test_min_attempts_edge(pattern: str, fires: bool) -> None:
    _, findings = feed(detector(), burst(pattern))
    assert (BURST in codes(findings)) is fires


@pytest.mark.parametrize(
    ("pattern", "fires", "share"),
    [
        ("AAADD", False, None),
        ("ADADAA", False, None),
        ("DADADA", True, 0.5),
        ("AADDD", True, 0.6),
        ("DDDDD", True, 1.0),
    ],
    ids=["two-of-five-declined", "two-of-six-declined", "exactly-half-declined",
         "three-of-five-declined", "all-declined"],
)
def test_declined_share_edge(pattern: str, fires: bool, share: float | None) -> None:
    findings = [f for f in last_findings(detector(), burst(pattern)) if f.code == BURST]
    assert bool(findings) is fires
    if share is not None:
        assert findings[0].evidence["declined_share"] == share
        assert findings[0].evidence["attempts"] == len(pattern)  # the whole run, no subset


@pytest.mark.parametrize(("amount", "fires"),
                         [("0.01", True), ("49.99", True), ("50.00", True), ("50.01", False)],
                         ids=["one-centime", "just-under", "at-max-amount", "one-cent-over"])
def test_max_amount_edge(amount: str, fires: bool) -> None:
    _, findings = feed(detector(), burst("DDDDD", amount=amount))
    assert bool(findings) is fires


def test_one_attempt_above_max_amount_is_not_counted() -> None:
    events = burst("DDDDD")
    events[2] = attempt(2 * MINUTE, amount="50.01")
    _, findings = feed(detector(), events)
    assert findings == []


@pytest.mark.parametrize(
    ("last_at", "fires"),
    [(10 * MINUTE - SECOND, True), (10 * MINUTE, True), (10 * MINUTE + SECOND, False)],
    ids=["span-just-under-10-min", "span-exactly-10-min", "span-10-min-plus-1-second"],
)
def test_window_edge(last_at: timedelta, fires: bool) -> None:
    offsets = [timedelta(0), 2 * MINUTE, 5 * MINUTE, 7 * MINUTE, last_at]
    _, findings = feed(detector(), [attempt(at) for at in offsets])
    assert bool(findings) is fires


@pytest.mark.parametrize(
    ("merchants", "fires"),
    [(("M-1",), True), (("M-1", "M-2", "M-3"), True), (("M-1", "M-2", "M-3", "M-4"), False)],
    ids=["one-merchant", "three-merchants-max", "four-merchants"],
)
def test_max_merchants_edge(merchants: tuple[str, ...], fires: bool) -> None:
    findings = [f for f in last_findings(detector(), burst("DDDDD", merchants=merchants))
                if f.code == BURST]
    assert bool(findings) is fires
    if fires:
        assert findings[0].evidence["merchants"] == len(merchants)


@pytest.mark.parametrize(
    ("cards", "pattern", "fires"),
    [
        (("c-0001", "c-0002", "c-0003"), "DDDD", False),
        (("c-0001", "c-0002", "c-0003", "c-0004"), "DDDD", True),
        (("c-0001", "c-0002", "c-0003", "c-0004"), "ADAD", True),
        (("c-0001", "c-0002", "c-0003", "c-0004"), "AADA", False),
        (("c-0001", "c-0002", "c-0003", "c-0004", "c-0005"), "DDDDD", True),
    ],
    ids=["three-cards", "four-cards-min", "four-cards-half-declined",
         "four-cards-one-declined", "five-cards"],
)
def test_multi_card_edge(cards: tuple[str, ...], pattern: str, fires: bool) -> None:
    events = burst(pattern, cards=cards, every=20 * SECOND)
    findings = last_findings(detector(), events)
    assert (MULTI in codes(findings)) is fires
    assert BURST not in codes(findings)  # no card has five attempts
    if fires:
        assert last(detector(), events, MULTI).evidence["cards"] == len(set(cards))


def test_multi_card_needs_one_merchant() -> None:
    cards = ("c-0001", "c-0002", "c-0003", "c-0004")
    events = burst("DDDD", cards=cards, merchants=("M-1", "M-2"))  # two cards at each
    _, findings = feed(detector(), events)
    assert findings == []


def test_multi_card_window_edge() -> None:
    cards = ("c-0001", "c-0002", "c-0003", "c-0004")
    inside = burst("DDDD", cards=cards, every=10 * MINUTE / 3)
    outside = burst("DDDD", cards=cards, every=10 * MINUTE / 3 + SECOND)
    assert codes(feed(detector(), inside)[1]) == {MULTI}
    assert feed(detector(), outside)[1] == []


def test_both_signals_fire_on_one_event() -> None:
    cards = (CARD, "c-0002", CARD, "c-0003", CARD, "c-0004", CARD, CARD)  # CARD five times
    findings = last_findings(detector(), burst("DDDDDDDD", cards=cards, every=30 * SECOND))
    assert codes(findings) == {BURST, MULTI}


def test_fires_on_the_attempt_that_completes_the_burst_and_on_each_later_one() -> None:
    det = detector()
    state = det.State()
    fired = []
    for event in burst("DDDDDDD"):
        state, found = det.score(event, state)
        fired.append(len(found))
    assert fired == [0, 0, 0, 0, 1, 1, 1]


# --- hard negatives -------------------------------------------------------------------------


def _pos(at: timedelta, amount: str, mcc: str, merchant: str, card: str = CARD) -> Transaction:
    return attempt(at, declined=False, amount=amount, mcc=mcc, merchant=merchant,
                   channel="pos", card=card)


HARD_NEGATIVES: dict[str, list[Transaction]] = {
    "coffees-at-a-cafe-all-day": [
        _pos(i * 20 * MINUTE, "18.00", "5814", "M-CAFE") for i in range(36)
    ] + [_pos(3 * HOUR + i * MINUTE, "16.00", "5814", "M-CAFE") for i in range(6)],
    "commuter-transit-taps": [
        _pos(d * DAY + i * 2 * MINUTE, "6.00", "4111", "M-TRAM") for d in range(5)
        for i in range(8)
    ],
    "declined-normal-online-purchase-retried": [
        attempt(timedelta(0), amount="749.00", mcc="5732", merchant="M-ELEC"),
        attempt(MINUTE, amount="749.00", mcc="5732", merchant="M-ELEC"),
        attempt(3 * MINUTE, amount="749.00", mcc="5732", merchant="M-ELEC", declined=False),
    ],
    "two-declines-of-a-small-online-purchase": [
        attempt(timedelta(0), amount="35.00"), attempt(MINUTE, amount="35.00"),
        attempt(2 * MINUTE, amount="35.00", declined=False),
    ],
    "approved-subscriptions-over-a-month": [
        attempt(i * 4 * DAY, declined=False, amount="29.99", mcc=mcc, merchant=m)
        for i, (m, mcc) in enumerate([("M-FILM", "5815"), ("M-MUSIC", "5815"),
                                      ("M-CLOUD", "4816"), ("M-APP", "5734"),
                                      ("M-NEWS", "5815"), ("M-GAME", "5816"),
                                      ("M-VPN", "4816"), ("M-CHARITY", "8398")])
    ],
    "tiny-declined-cnp-spread-over-hours": burst("D" * 12, every=15 * MINUTE, amount="1.00"),
    "tiny-cnp-just-outside-the-window": burst("D" * 8, every=10 * MINUTE / 4 + SECOND,
                                              amount="1.00"),
    "approved-in-app-purchases-below-min-attempts": burst("AAAA", every=30 * SECOND),
    "approved-in-app-purchases-many": burst("A" * 12, every=30 * SECOND),
    "blocked-card-tried-at-six-shops": burst(
        "DDDDDD", merchants=("M-1", "M-2", "M-3", "M-4", "M-5", "M-6")),
    "family-cards-approved-at-one-merchant": burst(
        "AAAAAA", cards=("c-0001", "c-0002", "c-0003", "c-0004", "c-0005", "c-0006")),
    "declined-refunds": burst("DDDDDD", direction="in"),
    "declined-small-mobile-payments": burst("DDDDDD", channel="mobile"),
}


@pytest.mark.parametrize("events", list(HARD_NEGATIVES.values()), ids=list(HARD_NEGATIVES))
def test_hard_negatives_do_not_fire(events: list[Transaction]) -> None:
    _, findings = feed(detector(), events)
    assert findings == []


def test_approvals_after_a_burst_keep_it_alive_until_declines_fall_below_half() -> None:
    """The burst is judged by its own attempts: later approvals dilute it, one by one."""
    det = detector()
    state = det.State()
    fired = []
    for event in burst("DDDDD") + burst("AAAAAA", start=5 * MINUTE, every=10 * SECOND):
        state, found = det.score(event, state)
        fired.append([f.evidence["declined_share"] for f in found])
    assert fired == [[], [], [], [], [1.0], [0.8333], [0.7143], [0.625], [0.5556], [0.5], []]


def test_attempts_at_one_instant_are_never_split_between_in_and_out_of_a_burst() -> None:
    """A burst is every attempt in an interval of event time: the declined attempt at T0 does
    not count without the six approvals at the same instant (5 of 11 declined)."""
    same_instant = [attempt(declined=False, event_id=f"t0-a{i}") for i in range(6)]
    same_instant.append(attempt(event_id="t0-d"))  # sorts after the approvals at T0
    later = [attempt(i * MINUTE) for i in range(1, 5)]
    _, findings = feed(detector(), same_instant + later)
    assert findings == []
    fewer_approvals = same_instant[4:] + later  # 5 of 7 declined
    assert last(detector(), fewer_approvals).evidence["attempts"] == 7
    # the same at the end of a burst: the late declines do not stop half-way through 09:04
    newest = [attempt(4 * MINUTE, event_id="t4-0d")]  # sorts before the approvals at 09:04
    newest += [attempt(4 * MINUTE, declined=False, event_id=f"t4-a{i}") for i in range(6)]
    late = [attempt(i * MINUTE) for i in range(4)]
    _, findings = feed(detector(), newest + late)
    assert findings == []


def test_events_it_does_not_accept_leave_the_state_untouched() -> None:
    det = detector()
    state, _ = feed(det, burst("DDD"))
    after, findings = feed(det, HARD_NEGATIVES["coffees-at-a-cafe-all-day"], state)
    assert after is state
    assert findings == []


# --- parameters and jurisdiction ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "pattern", "fires"),
    [
        ({}, "DDDDD", True),
        ({"min_attempts": 6}, "DDDDD", False),
        ({"min_attempts": 6}, "DDDDDD", True),
        ({}, "DAADAD", True),
        ({"min_declined_share": 0.6}, "DAADAD", False),
        ({"min_declined_share": 0.6}, "AADDD", True),
        ({"min_declined_share": 0.0}, "AAAAA", True),
        ({"max_amount": "20"}, "DDDDD", True),
        ({"window": timedelta(minutes=3)}, "DDDDD", False),
        ({"window": "PT4M"}, "DDDDD", True),
    ],
    ids=["defaults", "six-attempts-needed-five", "six-attempts-needed-six",
         "half-declined-default", "sixty-percent-needed-half", "sixty-percent-needed-sixty",
         "declines-not-required",
         "lower-max-amount-still-above", "shorter-window-3-min", "window-4-min-iso"],
)
def test_params_change_outcomes(params: dict[str, Any], pattern: str, fires: bool) -> None:
    # attempts one minute apart; "DAADAD": no five in a row are half declined, all six are
    _, findings = feed(detector(**params), burst(pattern))
    assert (BURST in codes(findings)) is fires


@pytest.mark.parametrize(("amount", "fires"), [("20.00", True), ("20.01", False)])
def test_max_amount_is_configurable(amount: str, fires: bool) -> None:
    _, findings = feed(detector(max_amount="20"), burst("DDDDD", amount=amount))
    assert bool(findings) is fires


def test_max_merchants_is_configurable() -> None:
    events = burst("DDDDD", merchants=("M-1", "M-2", "M-3", "M-4"))
    assert feed(detector(), events)[1] == []
    assert codes(feed(detector(max_merchants=4), events)[1]) == {BURST}


def test_multi_card_min_cards_is_configurable() -> None:
    events = burst("DDDD", cards=("c-0001", "c-0002", "c-0003", "c-0004"))
    assert codes(feed(detector(), events)[1]) == {MULTI}
    assert feed(detector(multi_card_min_cards=5), events)[1] == []


def test_channels_are_configurable() -> None:
    events = burst("DDDDD", channel="mobile")
    assert feed(detector(), events)[1] == []
    assert feed(detector(channels=["ecommerce", "online", "mobile"]), events)[1]


def test_params_validate() -> None:
    with pytest.raises(ValidationError, match="max_kept"):
        CardTestingParams(min_attempts=10, max_kept=8)
    with pytest.raises(ValidationError):
        CardTestingParams(min_declined_share=1.5)
    with pytest.raises(ValidationError):
        CardTestingParams.model_validate({"typical_mccs": ["58150"]})
    with pytest.raises(ValidationError):
        CardTestingParams(window=timedelta(0))


EURO_ZONE = Jurisdiction(country="FR", currency="EUR", cash_reporting_threshold=Decimal("10000"))


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [("4.99", "EUR", True), ("5.00", "EUR", True), ("5.01", "EUR", False),
     ("1.00", "MAD", False)],
    ids=["under-5-eur", "at-5-eur", "over-5-eur", "profile-currency-only"],
)
def test_another_jurisdiction_uses_its_currency(amount: str, currency: str,
                                                fires: bool) -> None:
    det = detector(EURO_ZONE, max_amount="5")
    findings = last_findings(det, burst("DDDDD", amount=amount, currency=currency))
    assert bool(findings) is fires
    if fires:
        assert f"{Decimal(amount):.2f} EUR" in findings[0].summary


def test_other_currency_attempts_are_ignored_not_converted() -> None:
    det = detector()
    state, findings = feed(det, burst("DDDDDD", currency="USD", amount="1.00"))
    assert findings == []
    assert state.attempts == ()


# --- merchants without an id ----------------------------------------------------------------


def test_merchant_known_by_name_only_counts_for_multi_card() -> None:
    events = burst("DDDD", cards=("c-0001", "c-0002", "c-0003", "c-0004"), merchants=(None,),
                   merchant_name="Helping Hands", mcc="8398")
    finding = last(detector(), events, MULTI)
    assert "merchant Helping Hands (donations)" in finding.summary


def test_merchant_without_id_or_name_is_one_unknown_merchant_and_never_multi_card() -> None:
    one_card = burst("DDDDD", merchants=(None,), merchant_name=None)
    assert codes(feed(detector(), one_card)[1]) == {BURST}
    many_cards = burst("DDDD", cards=("c-0001", "c-0002", "c-0003", "c-0004"),
                       merchants=(None,), merchant_name=None)
    assert feed(detector(), many_cards)[1] == []


# --- arrival order, redelivery and bounded state --------------------------------------------


def test_late_attempt_inside_the_window_completes_the_burst() -> None:
    events = burst("DDDDD")
    arrival = [events[0], events[1], events[3], events[4], events[2]]  # minute 2 arrives last
    det = detector()
    state = det.State()
    fired = []
    for event in arrival:
        state, found = det.score(event, state)
        fired.append(len(found))
    assert fired == [0, 0, 0, 0, 1]
    assert [a.at for a in state.attempts] == [e.occurred_at for e in events]  # sorted
    finding = last(det, arrival)
    assert finding.event_ids == tuple(e.event_id for e in events)
    assert finding.window_start == T0
    assert finding.window_end == T0 + 4 * MINUTE  # the newest evidence, not the late arrival


def test_arrival_order_does_not_change_the_state() -> None:
    events = burst("DADDADDDA", every=40 * SECOND) + burst("DDDD", cards=("c-1", "c-2"))
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    det = detector()
    assert feed(det, shuffled)[0] == feed(det, events)[0]


def test_attempt_older_than_the_window_of_the_newest_is_dropped_on_arrival() -> None:
    det = detector()
    state, _ = feed(det, burst("DDDD", start=HOUR))
    after, findings = feed(det, [attempt(HOUR - 10 * MINUTE - SECOND)], state)
    assert findings == []
    assert after == state


def test_the_same_event_id_is_never_counted_twice() -> None:
    det = detector()
    one = attempt()
    state, findings = feed(det, [one] * 6)
    assert findings == []
    assert len(state.attempts) == 1


def test_state_keeps_only_attempts_within_the_window_of_the_newest() -> None:
    det = detector()
    state, _ = feed(det, burst("D" * 400, every=30 * SECOND))
    newest = T0 + 399 * 30 * SECOND
    assert len(state.attempts) == 21  # 10 minutes at one every 30 s, both ends inclusive
    assert all(a.at >= newest - 10 * MINUTE for a in state.attempts)


def test_state_keeps_at_most_max_kept_attempts_the_newest_ones() -> None:
    det = detector()
    events = burst("DA" * 200, every=SECOND, cards=("c-1", "c-2", "c-3"))
    state, findings = feed(det, events)
    assert len(state.attempts) == det.params.max_kept == 64
    assert [a.event_id for a in state.attempts] == [e.event_id for e in events[-64:]]
    assert findings  # still detects while capped


def test_state_round_trips_through_json_and_gives_the_same_findings() -> None:
    det = detector()
    events = burst("DADD", cards=(CARD, "c-0002")) + burst(
        "DDDDD", start=4 * MINUTE, cards=(CARD, "c-0003", CARD, "c-0004", CARD))
    state, _ = feed(det, events[:4])
    restored = CardAttempts.model_validate(json.loads(json.dumps(state.model_dump(mode="json"))))
    assert restored == state
    assert CardAttempts.model_validate_json(state.model_dump_json()) == state
    direct = feed(det, events[4:], state)
    via_json = feed(det, events[4:], restored)
    assert direct == via_json
    assert codes(direct[1]) == {BURST, MULTI}


def test_score_does_not_mutate_the_given_state() -> None:
    det = detector()
    state, _ = feed(det, burst("DDDD"))
    before = state.model_dump_json()
    det.score(attempt(4 * MINUTE), state)
    assert state.model_dump_json() == before


# --- score --------------------------------------------------------------------------------


def test_score_increases_with_attempts_up_to_the_cap() -> None:
    det = detector()
    state = det.State()
    scores: list[float] = []
    for event in burst("D" * 12, every=30 * SECOND):
        state, found = det.score(event, state)
        scores.extend(f.score for f in found if f.code == BURST)
    assert len(scores) == 8  # attempts 5..12
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[:6] == sorted(set(scores[:6]))  # strictly increasing for 5..10 attempts
    assert scores[5:] == [1.0, 1.0, 1.0]  # +0.25 at most


def test_score_increases_with_the_declined_share() -> None:
    scores = [last(detector(), burst(p)).score for p in ("AADDD", "ADDDD", "DDDDD")]
    assert scores[0] < scores[1] < scores[2]


def test_score_increases_with_cards() -> None:
    cards = tuple(f"c-{i:04d}" for i in range(8))
    scores = [last(detector(), burst("D" * n, cards=cards[:n], every=20 * SECOND), MULTI).score
              for n in (4, 5, 6, 7)]
    assert scores[0] < scores[1] < scores[2] < scores[3]


@pytest.mark.parametrize(
    ("pattern", "mcc", "score"),
    [("DDDDD", "5816", 0.75), ("DDDDD", "5411", 0.7), ("AADDD", "5411", 0.54),
     ("DADADA", "8398", 0.6), ("D" * 10, "5999", 1.0), ("D" * 10, "5411", 0.95)],
    ids=["min-all-declined-digital", "min-all-declined-grocery", "three-of-five-grocery",
         "exactly-half-donations", "ten-all-declined-capped", "ten-all-declined-grocery"],
)
def test_score_formula(pattern: str, mcc: str, score: float) -> None:
    assert last(detector(), burst(pattern, mcc=mcc)).score == pytest.approx(score, abs=1e-4)


# --- the finding an analyst reads -----------------------------------------------------------


def test_finding_is_coded_and_typed() -> None:
    finding = last(detector(), burst("DDDDD"))
    assert finding.detector == "card_testing"
    assert finding.typology is Typology.CARD_TESTING
    assert finding.code == BURST


def test_summary_reads_as_one_sentence() -> None:
    events = burst("DDADDAD", merchants=("M-1", "M-2"))
    events[3] = attempt(3 * MINUTE, amount="12.00", merchant="M-2")
    assert last(detector(), events).summary == (
        "7 card-not-present payments of at most 12.00 MAD on card \N{HORIZONTAL ELLIPSIS}1234 "
        "within 6 minutes, 5 of them declined, at 2 merchants (digital goods)."
    )


def test_multi_card_summary_reads_as_one_sentence() -> None:
    cards = ("tok-aaaa-0001", "tok-bbbb-0002", "tok-cccc-0003", "tok-dddd-0004", "tok-eeee-0005")
    events = burst("DDADD", cards=cards, every=20 * SECOND, amount="1.00", mcc="8398")
    assert last(detector(), events, MULTI).summary == (
        "5 cards of this account (\N{HORIZONTAL ELLIPSIS}0001, \N{HORIZONTAL ELLIPSIS}0002, "
        "\N{HORIZONTAL ELLIPSIS}0003, \N{HORIZONTAL ELLIPSIS}0004 and 1 more) made 5 "
        "card-not-present payments of at most 1.00 MAD at merchant M-DIGI (donations) "
        "within 2 minutes, 4 of them declined."
    )


@pytest.mark.parametrize("card", ["tok-4111-0000-9876", "card-with-9876", "98765", "9876"])
def test_summary_and_evidence_never_show_the_full_card_id(card: str) -> None:
    cards = (card, "c-9990001", "c-9990002", "c-9990003")
    events = burst("DDDDDDDD", cards=(card,)) + burst("DDDD", cards=cards, start=7 * MINUTE,
                                                      every=10 * SECOND)
    _, findings = feed(detector(), events)
    assert codes(findings) == {BURST, MULTI}
    for finding in findings:
        assert card not in finding.summary
        assert card not in json.dumps(finding.evidence)
        assert "c-9990001" not in finding.summary


@pytest.mark.parametrize(
    ("card", "masked"),
    [("tok-4111-0000-1234", "\N{HORIZONTAL ELLIPSIS}1234"),
     ("12345678", "\N{HORIZONTAL ELLIPSIS}5678"),
     ("1234", "\N{HORIZONTAL ELLIPSIS}34"), ("x", "\N{HORIZONTAL ELLIPSIS}")],
    ids=["token", "eight-chars", "four-chars-half-shown", "one-char-nothing-shown"],
)
def test_mask_card(card: str, masked: str) -> None:
    assert mask_card(card) == masked


@pytest.mark.parametrize(
    ("span", "words"),
    [(timedelta(0), "at the same second"), (SECOND, "within 1 second"),
     (45 * SECOND, "within 45 seconds"), (MINUTE, "within 1 minute"),
     (6 * MINUTE + 40 * SECOND, "within 7 minutes")],
    ids=["same-second", "one-second", "seconds", "one-minute", "rounded-up-minutes"],
)
def test_summary_states_the_span_without_understating_it(span: timedelta, words: str) -> None:
    events = [attempt(span * i / 4) for i in range(5)]
    assert words in last(detector(), events).summary


def test_evidence_holds_the_figures_and_the_bursts_event_ids() -> None:
    noise = [
        attempt(-30 * MINUTE),  # the same card half an hour before: outside the window
        attempt(MINUTE, card="tok-other-5555", declined=False),  # another card, approved
        _pos(2 * MINUTE, "18.00", "5814", "M-CAFE"),  # the same card in a cafe
    ]
    the_burst = [
        attempt(timedelta(0), amount="1.00", merchant="M-1", mcc="5816"),
        attempt(90 * SECOND, amount="2.50", merchant="M-2", mcc="8398", declined=False),
        attempt(3 * MINUTE, amount="1.00", merchant="M-1", mcc="5816"),
        attempt(4 * MINUTE, amount="12.00", merchant="M-1", mcc="5816"),
        attempt(6 * MINUTE, amount="0.50", merchant="M-2", mcc="8398"),
    ]
    events = sorted(noise + the_burst, key=lambda e: e.occurred_at)
    finding = last(detector(), events)
    assert finding.event_ids == tuple(e.event_id for e in the_burst)
    assert finding.window_start == T0
    assert finding.window_end == T0 + 6 * MINUTE
    ev = finding.evidence
    assert ev["attempts"] == 5
    assert ev["declined"] == 4
    assert ev["declined_share"] == 0.8
    assert ev["merchants"] == 2
    assert ev["cards"] == 1
    assert ev["card_ids_masked"] == ["\N{HORIZONTAL ELLIPSIS}1234"]
    assert ev["bins"] == ["411111"]
    assert (ev["amount_min"], ev["amount_max"], ev["amount_limit"]) == ("0.50", "12.00", "50")
    assert ev["currency"] == "MAD"
    assert ev["window_minutes"] == 10
    assert ev["span_seconds"] == 360
    assert ev["first_at"] == T0.isoformat()
    assert ev["last_at"] == (T0 + 6 * MINUTE).isoformat()
    assert ev["mccs"] == ["5816", "8398"]
    assert ev["merchant_ids"] == ["M-1", "M-2"]
    assert (ev["min_attempts"], ev["min_declined_share"], ev["max_merchants"]) == (5, 0.5, 3)
    json.dumps(ev)


def test_multi_card_evidence_event_ids_are_the_merchants_attempts() -> None:
    cards = ("c-0001", "c-0002", "c-0003", "c-0004")
    elsewhere = attempt(30 * SECOND, card="c-0001", merchant="M-OTHER")
    at_merchant = burst("DDDD", cards=cards, every=MINUTE)
    finding = last(detector(), [at_merchant[0], elsewhere, *at_merchant[1:]], MULTI)
    assert finding.event_ids == tuple(e.event_id for e in at_merchant)
    assert finding.evidence["cards"] == 4
    assert finding.evidence["merchant_ids"] == ["M-DIGI"]
    assert finding.evidence["multi_card_min_cards"] == 4
