"""Account takeover behaviour tables: the rule card of `detectors/account_takeover.py`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from detectors import AccountState, AlertPolicy, Detector, Event, Jurisdiction, PolicyParams, assess
from detectors.account_takeover import (
    AccountTakeover,
    AccountTakeoverParams,
    TakeoverState,
    mask_device,
    mask_ip,
)
from models import AccountEvent, Finding, Transaction, Typology
from tests.factories import T0, make_account_event, make_txn

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WINDOW = 48 * HOUR

HOME = "dev-home-phone-0001"
LAPTOP = "dev-home-laptop-0002"
ATTACKER = "dev-attacker-7f3a"
ATTACKER_IP = "203.0.113.77"
LANDLORD = "ACC-LANDLORD"
MULE = "ACC-MULE-1"
MULE_2 = "ACC-MULE-2"


def detector(profile: Jurisdiction | None = None, **params: object) -> AccountTakeover:
    return AccountTakeover(AccountTakeoverParams.model_validate(params),
                           profile or Jurisdiction())


# --- events ---------------------------------------------------------------------------------


def access(at: timedelta = timedelta(0), *, kind: str = "login", device: str | None = ATTACKER,
           country: str | None = "MA", ip: str | None = ATTACKER_IP,
           **overrides: Any) -> AccountEvent:
    """A login (or credentials reset) at `T0 + at`."""
    return make_account_event(kind=kind, occurred_at=T0 + at, device_id=device, ip=ip,
                              location={"country": country} if country else None, **overrides)


def transfer(amount: str = "6000.00", at: timedelta = HOUR, payee: str = MULE,
             channel: str = "online", **overrides: Any) -> Transaction:
    """An online transfer out of `amount` MAD to `payee` at `T0 + at`."""
    return make_txn(kind="transfer", direction="out", amount=Decimal(amount),
                    occurred_at=T0 + at, counterparty={"account_id": payee, "name": "Payee"},
                    channel=channel, **overrides)


def purchase(amount: str = "4000.00", at: timedelta = HOUR, mcc: str = "5732",
             channel: str = "ecommerce", **overrides: Any) -> Transaction:
    """A card payment of `amount` MAD at a merchant of `mcc` at `T0 + at` (e-commerce)."""
    return make_txn(kind="card_payment", amount=Decimal(amount), occurred_at=T0 + at,
                    channel=channel,
                    merchant={"merchant_id": f"M-{mcc}", "name": "Shop", "mcc": mcc,
                              "country": overrides.pop("merchant_country", "MA")},
                    **overrides)


def pos(amount: str = "150.00", at: timedelta = HOUR, country: str = "MA",
        mcc: str = "5411") -> Transaction:
    """A card-present payment at a shop in `country`."""
    return make_txn(kind="card_payment", channel="pos", amount=Decimal(amount),
                    occurred_at=T0 + at, location={"country": country},
                    merchant={"merchant_id": "M-pos", "name": "Shop", "mcc": mcc,
                              "country": country})


def history() -> list[Event]:
    """Thirty days of ordinary life before T0: six events, the home phone and laptop in MA,
    rent to the landlord, groceries. Learning is over by T0."""
    return [
        access(-30 * DAY, device=HOME, ip="192.0.2.10"),
        transfer("4500.00", -29 * DAY, LANDLORD, device_id=HOME),
        pos("300.00", -20 * DAY),
        access(-12 * DAY, device=LAPTOP, ip="192.0.2.10"),
        transfer("4500.00", -5 * DAY, LANDLORD, device_id=HOME),
        access(-1 * DAY, device=HOME, ip="192.0.2.10"),
    ]


def feed(det: AccountTakeover, events: Iterable[Event],
         state: TakeoverState | None = None) -> tuple[TakeoverState, list[Finding]]:
    """Score events in arrival order, as `assess` does; the final state and every finding."""
    state = state if state is not None else det.State()
    findings: list[Finding] = []
    for event in events:
        if det.accepts(event):
            state, found = det.score(event, state)
            findings.extend(found)
    return state, findings


def findings_of(events: list[Event], det: AccountTakeover | None = None) -> list[Finding]:
    return feed(det or detector(), [*history(), *events])[1]


def last_finding(events: list[Event], det: AccountTakeover | None = None) -> Finding:
    found = findings_of(events, det)
    assert found, "expected the rule to fire"
    return found[-1]


def fires(events: list[Event], det: AccountTakeover | None = None) -> bool:
    return bool(findings_of(events, det))


# --- the pattern ----------------------------------------------------------------------------


def test_history_alone_is_quiet_and_learns_the_home_devices() -> None:
    det = detector()
    state, found = feed(det, history())
    assert found == []
    assert len(state.devices) == 2
    assert {s.key for s in state.countries} == {"MA"}
    assert {s.key for s in state.payees} == {LANDLORD}
    assert state.accesses == ()


@pytest.mark.parametrize(
    ("events", "code"),
    [
        ([access(), transfer("6000.00")], "ATO_NEW_ACCESS_THEN_NEW_PAYEE"),
        ([access(), purchase("2500.00"), purchase("2500.00", 2 * HOUR, "6540")],
         "ATO_NEW_ACCESS_THEN_RESELLABLE_PURCHASES"),
        ([access(), transfer("4000.00"), purchase("6000.00", 2 * HOUR)],
         "ATO_NEW_ACCESS_THEN_DRAIN"),
        ([access(), transfer("6000.00"), purchase("2500.00"), purchase("2500.00")],
         "ATO_NEW_ACCESS_THEN_NEW_PAYEE"),
    ],
    ids=["new-payee-transfer", "resellable-purchases", "mixed-total", "payee-code-wins"],
)
def test_reason_codes(events: list[Event], code: str) -> None:
    finding = last_finding(events)
    assert finding.code == code
    assert finding.detector == "account_takeover"
    assert finding.typology is Typology.ACCOUNT_TAKEOVER


@pytest.mark.parametrize(
    ("device", "country", "fires_", "new_device", "new_country"),
    [
        (ATTACKER, "MA", True, True, False),
        (HOME, "FR", True, False, True),
        (ATTACKER, "FR", True, True, True),
        (None, "FR", True, False, True),
        (ATTACKER, None, True, True, False),
        (HOME, "MA", False, None, None),
        (LAPTOP, "MA", False, None, None),
        (None, None, False, None, None),
    ],
    ids=["new-device", "new-country-known-device", "new-device-and-country",
         "new-country-no-device", "new-device-no-country", "home-phone-at-home",
         "home-laptop-at-home", "no-device-no-country"],
)
def test_what_makes_an_access_suspicious(device: str | None, country: str | None, fires_: bool,
                                         new_device: bool | None,
                                         new_country: bool | None) -> None:
    found = findings_of([access(device=device, country=country), transfer("6000.00")])
    assert bool(found) is fires_
    if fires_:
        assert found[-1].evidence["new_device"] is new_device
        assert found[-1].evidence["new_country"] is new_country


# --- window edges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drain_at", "fires_"),
    [
        (-SECOND, False),
        (timedelta(0), True),
        (SECOND, True),
        (WINDOW - SECOND, True),
        (WINDOW, True),
        (WINDOW + SECOND, False),
    ],
    ids=["one-second-before-access", "at-the-access", "one-second-after", "48h-minus-1s",
         "exactly-48h", "48h-plus-1s"],
)
def test_drain_window_edges(drain_at: timedelta, fires_: bool) -> None:
    assert fires([access(), transfer("6000.00", drain_at)]) is fires_


def test_drain_window_is_configurable() -> None:
    events: list[Event] = [access(), transfer("6000.00", 3 * HOUR)]
    assert not fires(events, detector(drain_window=2 * HOUR))
    assert fires(events, detector(drain_window=3 * HOUR))


def test_purchases_count_only_inside_the_window() -> None:
    events: list[Event] = [access(), purchase("3000.00", HOUR),
                           purchase("3000.00", WINDOW + SECOND)]
    assert not fires(events)
    assert fires([access(), purchase("3000.00", HOUR), purchase("3000.00", WINDOW)])


# --- amount and count edges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fires_"),
    [("4999.99", False), ("5000.00", True), ("5000.01", True), ("250000", True)],
    ids=["one-cent-below", "at-min", "one-cent-above", "large"],
)
def test_min_new_payee_amount_edges(amount: str, fires_: bool) -> None:
    assert fires([access(), transfer(amount)]) is fires_


@pytest.mark.parametrize(
    ("amounts", "fires_"),
    [
        (("3333.33", "3333.33", "3333.33"), False),
        (("3333.33", "3333.33", "3333.34"), True),
        (("4999.99", "4999.99"), False),
        (("4999.99", "4999.99", "0.02"), True),
    ],
    ids=["three-transfers-one-cent-below-total", "three-transfers-at-total",
         "two-just-under-single-min", "two-just-under-plus-two-cents"],
)
def test_min_drained_total_edges_across_new_payee_transfers(amounts: tuple[str, ...],
                                                            fires_: bool) -> None:
    payees = [MULE, MULE_2, "ACC-MULE-3"]
    drains = [transfer(a, (i + 1) * HOUR, payees[i]) for i, a in enumerate(amounts)]
    assert fires([access(), *drains]) is fires_


@pytest.mark.parametrize(
    ("purchase_amount", "fires_"),
    [("5999.99", False), ("6000.00", True)],
    ids=["mixed-one-cent-below-total", "mixed-at-total"],
)
def test_min_drained_total_edges_across_transfers_and_purchases(purchase_amount: str,
                                                                fires_: bool) -> None:
    events: list[Event] = [access(), transfer("4000.00"), purchase(purchase_amount, 2 * HOUR)]
    assert fires(events) is fires_


@pytest.mark.parametrize(
    ("count", "fires_"),
    [(1, False), (2, True), (3, True)],
    ids=["one-purchase", "two-purchases-min", "three-purchases"],
)
def test_min_resellable_purchases_edges(count: int, fires_: bool) -> None:
    drains = [purchase("2000.00", (i + 1) * HOUR) for i in range(count)]
    assert fires([access(), *drains]) is fires_


@pytest.mark.parametrize(
    ("amount", "fires_"),
    [("1999.99", False), ("2000.00", True)],
    ids=["one-cent-below-min-purchase", "at-min-purchase"],
)
def test_min_purchase_amount_edges(amount: str, fires_: bool) -> None:
    drains = [purchase(amount, (i + 1) * HOUR) for i in range(4)]  # 4 x 1,999.99 < 10,000
    assert fires([access(), *drains]) is fires_


def test_a_single_large_resellable_purchase_drains_by_the_total() -> None:
    assert not fires([access(), purchase("9999.99")])
    finding = last_finding([access(), purchase("10000.00")])
    assert finding.code == "ATO_NEW_ACCESS_THEN_DRAIN"


@pytest.mark.parametrize(
    ("mcc", "resellable"),
    [("5732", True), ("5734", True), ("5045", True), ("5946", True), ("5944", True),
     ("5094", True), ("5722", True), ("6540", True),
     ("5411", False), ("5311", False), ("5999", False), ("4111", False), ("5812", False)],
    ids=["electronics", "software", "computers", "cameras", "jewellery", "precious-stones",
         "appliances", "gift-cards", "groceries", "department-store", "misc-retail",
         "transport", "restaurants"],
)
def test_resellable_mcc_list(mcc: str, resellable: bool) -> None:
    drains = [purchase("3000.00", HOUR, mcc), purchase("3000.00", 2 * HOUR, mcc)]
    assert fires([access(), *drains]) is resellable


def test_resellable_mccs_are_configurable() -> None:
    drains: list[Event] = [purchase("3000.00", HOUR, "5311"), purchase("3000.00", 2 * HOUR, "5311")]
    with_department_stores = detector(resellable_mccs=(*AccountTakeoverParams().resellable_mccs,
                                                       "5311"))
    assert fires([access(), *drains], with_department_stores)
    assert "MCC 5311" in last_finding([access(), *drains], with_department_stores).summary


@pytest.mark.parametrize(
    ("channel", "counts"),
    [("ecommerce", True), ("online", True), ("mobile", True), ("pos", False)],
    ids=["ecommerce", "online", "mobile", "card-present-pos"],
)
def test_only_card_not_present_purchases_drain(channel: str, counts: bool) -> None:
    drains = [purchase("3000.00", HOUR, channel=channel),
              purchase("3000.00", 2 * HOUR, channel=channel)]
    assert fires([access(), *drains]) is counts


@pytest.mark.parametrize("count", [2, 3, 4])
def test_min_resellable_purchases_is_configurable(count: int) -> None:
    det = detector(min_resellable_purchases=3)
    drains = [purchase("2000.00", (i + 1) * HOUR) for i in range(count)]
    assert fires([access(), *drains], det) is (count >= 3)


# --- known and new payees -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "fires_"),
    [
        ([access(), transfer("6000.00", HOUR, LANDLORD)], False),
        ([transfer("100.00", -2 * DAY, MULE), access(), transfer("6000.00", HOUR, MULE)], False),
        ([transfer("100.00", -SECOND, MULE), access(), transfer("6000.00", HOUR, MULE)], False),
        ([access(), transfer("100.00", timedelta(0), MULE), transfer("6000.00", HOUR, MULE)],
         True),
        ([access(), transfer("3000.00", HOUR, MULE), transfer("3000.00", 2 * HOUR, MULE),
          transfer("4000.00", 3 * HOUR, MULE)], True),
        ([access(), transfer("6000.00", HOUR, LANDLORD), transfer("4000.00", HOUR, MULE)],
         False),
        ([transfer("100.00", -DAY, MULE_2), access(), transfer("6000.00", HOUR, MULE_2),
          purchase("2500.00", 2 * HOUR)], False),
    ],
    ids=["landlord-paid-before", "paid-two-days-before-access", "paid-one-second-before-access",
         "first-paid-at-the-access", "repeated-transfers-to-one-new-payee-add-up",
         "known-payee-amount-does-not-count",
         "payee-paid-the-day-before-does-not-add-to-a-later-purchase"],
)
def test_known_payee_versus_new_payee(events: list[Event], fires_: bool) -> None:
    assert fires(events) is fires_


def test_a_late_report_of_an_old_payment_makes_the_payee_known() -> None:
    """The payee map is event-time: a late report of an old payment makes the payee known."""
    det = detector()
    late_rent = transfer("4500.00", -60 * DAY, MULE)
    assert fires([access(), transfer("6000.00", HOUR, MULE)], det)
    assert not fires([access(), late_rent, transfer("6000.00", HOUR, MULE)], det)


def test_transfers_without_a_counterparty_account_do_not_drain() -> None:
    anonymous = make_txn(kind="transfer", direction="out", amount=Decimal("9000"),
                         occurred_at=T0 + HOUR, counterparty={"name": "Somebody", "bank": "X"})
    assert not fires([access(), anonymous])


# --- hard negatives -------------------------------------------------------------------------


HARD_NEGATIVES: dict[str, list[Event]] = {
    "new-phone-then-small-card-payments": [
        access(device="dev-new-phone-0003"),
        *[pos("120.00", i * HOUR) for i in range(1, 6)],
        purchase("150.00", 7 * HOUR, "5411"),
    ],
    "travel-abroad-new-country-then-card-present-payments": [
        access(device=HOME, country="ES"),
        pos("400.00", 2 * HOUR, "ES"),
        pos("3500.00", 5 * HOUR, "ES", mcc="5732"),
        pos("6000.00", 8 * HOUR, "ES", mcc="5944"),
    ],
    "rent-to-the-landlord-after-a-new-device-login": [
        access(device="dev-new-phone-0003"),
        transfer("4500.00", 2 * HOUR, LANDLORD),
        transfer("7000.00", 3 * HOUR, LANDLORD),
    ],
    "big-transfer-to-a-new-payee-without-a-new-access": [
        access(device=HOME),
        transfer("80000.00", 2 * HOUR, "ACC-CAR-DEALER"),
    ],
    "new-payee-transfer-with-no-access-at-all": [transfer("25000.00", 2 * HOUR, MULE)],
    "draining-more-than-48-hours-after-the-new-access": [
        access(),
        transfer("9000.00", WINDOW + MINUTE),
        purchase("4000.00", WINDOW + 2 * MINUTE),
        purchase("4000.00", WINDOW + 3 * MINUTE),
    ],
    "draining-before-the-new-access": [
        transfer("9000.00", -HOUR),
        access(),
    ],
    "resellable-purchases-just-before-the-new-access": [
        purchase("4000.00", -30 * MINUTE),
        purchase("4000.00", -SECOND),
        access(),
        pos("20.00", HOUR),
    ],
    "credentials-reset-on-the-usual-phone-at-home": [
        access(kind="credentials_reset", device=HOME),
        transfer("9000.00", HOUR),
    ],
    "transfer-made-in-person-at-a-branch": [
        access(),
        transfer("9000.00", HOUR, channel="branch"),
    ],
    "drain-in-another-currency": [
        access(),
        transfer("9000.00", HOUR, currency="EUR"),
    ],
    "declined-drain-attempts": [
        access(),
        transfer("9000.00", HOUR, status="declined"),
        purchase("4000.00", 2 * HOUR, status="declined"),
        purchase("4000.00", 3 * HOUR, status="declined"),
    ],
    "incoming-transfer-from-a-new-counterparty": [
        access(),
        make_txn(kind="transfer", direction="in", amount=Decimal("9000"), occurred_at=T0 + HOUR,
                 counterparty={"account_id": MULE}),
    ],
}


@pytest.mark.parametrize("events", list(HARD_NEGATIVES.values()), ids=list(HARD_NEGATIVES))
def test_hard_negatives_do_not_fire(events: list[Event]) -> None:
    assert findings_of(events) == []


def test_travel_then_a_new_payee_is_still_not_flagged_when_the_card_was_there() -> None:
    """Abroad, the holder logs in from the new country and pays at a shop there, then pays
    someone new: the card-present payment corroborates the country."""
    abroad: list[Event] = [access(device=HOME, country="ES"), pos("80.00", HOUR, "ES"),
              transfer("6000.00", 3 * HOUR)]
    assert not fires(abroad)
    unseen: list[Event] = [access(device=HOME, country="ES"), transfer("6000.00", 3 * HOUR),
              pos("80.00", 4 * HOUR, "ES")]
    assert fires(unseen)  # the shop abroad came after the drain: nothing corroborated it yet
    on_a_new_device: list[Event] = [access(country="ES"), pos("80.00", HOUR, "ES"),
                       transfer("6000.00", 3 * HOUR)]
    finding = last_finding(on_a_new_device)
    assert finding.evidence["new_device"] is True
    assert finding.evidence["new_country"] is False


def test_a_country_used_in_person_before_is_known() -> None:
    assert not fires([pos("80.00", -3 * DAY, "ES"), access(device=HOME, country="ES"),
                      transfer("6000.00", HOUR)])


# --- cold start and the learning period ------------------------------------------------------


def test_the_accounts_first_ever_login_is_never_new() -> None:
    det = detector()
    opening = make_account_event(kind="opened", occurred_at=T0 - 40 * DAY)
    first_login = access(device=HOME)
    drain = transfer("20000.00", HOUR)
    assert feed(det, [opening, first_login, drain])[1] == []


def test_cold_start_no_device_history_means_no_new_device() -> None:
    """Thirty days of branch and card-present activity: learning is over, but the account has
    never been seen on a device, so its first device is not "new"; a second one is."""
    branch_life: list[Event] = [pos("200.00", -30 * DAY + i * DAY) for i in range(6)]
    first: list[Event] = [access(device=HOME), transfer("9000.00", HOUR)]
    assert feed(detector(), [*branch_life, *first])[1] == []
    second: list[Event] = [access(3 * DAY, device=ATTACKER),
                           transfer("9000.00", 3 * DAY + HOUR, MULE_2)]
    found = feed(detector(), [*branch_life, *first, *second])[1]
    assert len(found) == 1
    assert found[0].evidence["new_device"] is True


def test_cold_start_no_country_history_means_no_new_country() -> None:
    det = detector()
    no_country: list[Event] = [
        make_account_event(kind="login", occurred_at=T0 - 30 * DAY + i * DAY, device_id=HOME)
        for i in range(6)
    ]
    assert feed(det, [*no_country, access(device=HOME, country="FR"),
                      transfer("9000.00", HOUR)])[1] == []


@pytest.mark.parametrize(
    ("access_at", "fires_"),
    [(14 * DAY - SECOND, False), (14 * DAY, True), (20 * DAY, True)],
    ids=["learning-period-minus-1s", "exactly-14-days", "after-learning"],
)
def test_learning_period_edges(access_at: timedelta, fires_: bool) -> None:
    start = T0 - access_at
    learning: list[Event] = [
        make_account_event(kind="login", occurred_at=start + i * HOUR, device_id=HOME,
                           location={"country": "MA"}) for i in range(5)
    ]
    events = [*learning, access(), transfer("9000.00", HOUR)]
    assert bool(feed(detector(), events)[1]) is fires_


@pytest.mark.parametrize(
    ("seen", "fires_"),
    [(4, False), (5, True)],
    ids=["one-event-short-of-learning-events", "at-learning-events"],
)
def test_learning_events_edges(seen: int, fires_: bool) -> None:
    learning: list[Event] = [
        make_account_event(kind="login", occurred_at=T0 - 30 * DAY + i * DAY, device_id=HOME,
                           location={"country": "MA"}) for i in range(seen)
    ]
    events = [*learning, access(), transfer("9000.00", HOUR)]
    assert bool(feed(detector(), events)[1]) is fires_


def test_devices_seen_during_learning_are_known_afterwards() -> None:
    learning: list[Event] = [
        make_account_event(kind="login", occurred_at=T0 - 20 * DAY + i * DAY, device_id=dev,
                           location={"country": "MA"})
        for i, dev in enumerate([HOME, LAPTOP, HOME, "dev-tablet-0004", HOME])
    ]
    during: list[Event] = [access(-10 * DAY, device="dev-work-pc-0005"),
                           transfer("9000.00", -10 * DAY + HOUR)]
    after: list[Event] = [access(device="dev-work-pc-0005"), transfer("9000.00", HOUR, MULE_2)]
    assert feed(detector(), [*learning, *during, *after])[1] == []
    assert feed(detector(), [*learning, access(device="dev-tablet-0004"),
                             transfer("9000.00", HOUR)])[1] == []
    assert feed(detector(), [*learning, access(), transfer("9000.00", HOUR)])[1]


# --- score ----------------------------------------------------------------------------------


def _score(events: list[Event]) -> float:
    return last_finding(events).score


def test_credentials_reset_scores_above_login() -> None:
    login = _score([access(kind="login"), transfer("6000.00")])
    reset = _score([access(kind="credentials_reset"), transfer("6000.00")])
    assert reset > login
    assert reset - login == pytest.approx(0.15, abs=1e-4)


@pytest.mark.parametrize(
    ("weaker", "stronger"),
    [
        ([access(country="MA"), transfer("6000.00")], [access(country="FR"), transfer("6000.00")]),
        ([access(), transfer("6000.00", 40 * HOUR)], [access(), transfer("6000.00", 10 * MINUTE)]),
        ([access(), transfer("6000.00")], [access(), transfer("40000.00")]),
        ([access(), purchase("3000.00", HOUR), purchase("3000.00", 2 * HOUR)],
         [access(), purchase("2000.00", HOUR), purchase("2000.00", 2 * HOUR),
          purchase("2000.00", 3 * HOUR)]),
    ],
    ids=["new-device-and-country-over-device-only", "faster-drain", "larger-drain",
         "more-resellable-purchases"],
)
def test_score_grows_with_the_strength_of_the_pattern(weaker: list[Event],
                                                      stronger: list[Event]) -> None:
    assert _score(stronger) > _score(weaker)


@pytest.mark.parametrize(
    ("events", "score"),
    [
        ([access(), transfer("5000.00", WINDOW)], 0.51),
        ([access(), transfer("50000.00", timedelta(0))], 0.7),
        ([access(kind="credentials_reset", country="FR"), transfer("50000.00", timedelta(0)),
          *[purchase("3000.00", timedelta(0)) for _ in range(5)]], 1.0),
        ([access(kind="credentials_reset"), purchase("2500.00", 12 * HOUR),
          purchase("2500.00", 12 * HOUR)], 0.65 + 0.075 + 0.01 + 0.06),
    ],
    ids=["weakest-login", "login-instant-large", "capped-at-one", "reset-two-purchases"],
)
def test_score_formula(events: list[Event], score: float) -> None:
    assert _score(events) == pytest.approx(score, abs=1e-4)


# --- the finding an analyst reads -----------------------------------------------------------


def test_summary_reads_as_one_sentence() -> None:
    events: list[Event] = [
        access(kind="credentials_reset", country="FR"),
        purchase("8000.00", 2 * HOUR, "5732"),
        purchase("6400.00", 4 * HOUR, "6540"),
        purchase("4000.00", 5 * HOUR, "5732"),
    ]
    finding = last_finding(events)
    assert finding.summary == (
        "Credentials reset from a new device in a new country (FR), then 3 e-commerce "
        "purchases of electronics and gift cards totalling 18,400.00 MAD within 5 hours."
    )


@pytest.mark.parametrize(
    ("events", "summary"),
    [
        ([access(), transfer("6000.00", 30 * MINUTE)],
         "Login from a new device in MA, then a transfer to a new payee totalling "
         "6,000.00 MAD within 30 minutes."),
        ([access(device=HOME, country="TR"), transfer("3000.00", HOUR),
          transfer("3000.00", 2 * HOUR, MULE_2), purchase("5000.00", 3 * HOUR, "5944")],
         "Login from a new country (TR), then 2 transfers to 2 new payees and 1 e-commerce "
         "purchase of jewellery and watches totalling 11,000.00 MAD within 3 hours."),
        ([access(country=None), transfer("6000.00", HOUR)],
         "Login from a new device, then a transfer to a new payee totalling 6,000.00 MAD "
         "within 1 hour."),
    ],
    ids=["new-device", "new-country-mixed", "new-device-no-country"],
)
def test_summary_wording(events: list[Event], summary: str) -> None:
    assert last_finding(events).summary == summary


def test_summary_and_evidence_mask_device_ids_and_ips() -> None:
    finding = last_finding([access(kind="credentials_reset"), transfer("6000.00")])
    text = finding.summary + json.dumps(finding.evidence)
    for secret in (ATTACKER, ATTACKER_IP, "dev-attacker"):
        assert secret not in text
    assert finding.evidence["device"] == "…7f3a"
    assert finding.evidence["ip"] == "203.0.x.x"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("dev-attacker-7f3a", "…7f3a"), ("dev-1", "…-1"), ("abcdefgh", "…efgh")],
)
def test_mask_device(value: str, masked: str) -> None:
    assert mask_device(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("192.0.2.10", "192.0.x.x"), ("2001:db8::1", "2001:0db8::/32"), ("not-an-ip", "x")],
)
def test_mask_ip(value: str, masked: str) -> None:
    assert mask_ip(value) == masked


def test_evidence_ids_accounts_and_window() -> None:
    login = access(kind="credentials_reset", country="FR")
    drains = [transfer("3000.00", HOUR, MULE), purchase("2500.00", 2 * HOUR, "5946"),
              transfer("4000.00", 5 * HOUR, MULE_2), transfer("500.00", 6 * HOUR, MULE)]
    finding = last_finding([login, pos("60.00", 90 * MINUTE), *drains])
    assert finding.event_ids == (login.event_id, *(d.event_id for d in drains))
    assert finding.related_accounts == (MULE, MULE_2)
    assert finding.window_start == T0
    assert finding.window_end == T0 + 6 * HOUR
    ev = finding.evidence
    assert ev["access_kind"] == "credentials_reset"
    assert ev["access_event_id"] == login.event_id
    assert ev["access_at"] == T0.isoformat()
    assert (ev["new_device"], ev["new_country"], ev["country"]) == (True, True, "FR")
    assert ev["hours_to_drain"] == 1.0
    assert ev["hours_to_last_drain"] == 6.0
    assert Decimal(ev["drained_total"]) == Decimal("10000.00")
    assert Decimal(ev["new_payee_total"]) == Decimal("7500.00")
    assert Decimal(ev["purchase_total"]) == Decimal("2500.00")
    assert ev["new_payees"] == [MULE, MULE_2]
    assert (ev["new_payee_transfers"], ev["purchases"], ev["purchase_mccs"]) == (3, 1, ["5946"])
    assert ev["currency"] == "MAD"
    assert ev["drain_window_hours"] == 48
    json.dumps(ev)


def test_fires_on_every_drain_event_of_the_pattern_and_not_on_others() -> None:
    det = detector()
    state, _ = feed(det, history())
    fired = []
    events: list[Event] = [access(), purchase("2500.00", HOUR), pos("40.00", 90 * MINUTE),
                           purchase("2500.00", 2 * HOUR), transfer("100.00", 3 * HOUR, LANDLORD),
                           transfer("300.00", 4 * HOUR)]
    for event in events:
        state, found = det.score(event, state)
        fired.append(len(found))
    assert fired == [0, 0, 0, 1, 0, 1]


@pytest.mark.parametrize(
    ("second_at", "reported_kind", "reported_at"),
    [(HOUR, "credentials_reset", HOUR), (WINDOW - SECOND, "credentials_reset", WINDOW - SECOND),
     (WINDOW + SECOND, None, None)],
    ids=["reset-an-hour-later", "reset-just-inside-the-window",
         "reset-after-the-device-stopped-being-new"],
)
def test_a_reset_from_the_device_a_suspicious_login_introduced_is_suspicious_too(
        second_at: timedelta, reported_kind: str | None,
        reported_at: timedelta | None) -> None:
    events: list[Event] = [access(kind="login"), access(second_at, kind="credentials_reset"),
                           transfer("6000.00", second_at + MINUTE)]
    if reported_kind is None or reported_at is None:  # known device now, login's window over
        assert findings_of(events) == []
        return
    finding = last_finding(events)
    assert finding.evidence["access_kind"] == reported_kind
    assert finding.window_start == T0 + reported_at
    assert finding.evidence["new_device"] is True


def test_the_earliest_of_equally_strong_accesses_is_reported() -> None:
    events: list[Event] = [access(), access(3 * HOUR), transfer("6000.00", 4 * HOUR)]
    finding = last_finding(events)
    assert finding.window_start == T0
    assert finding.evidence["hours_to_drain"] == 4.0


def test_a_new_device_and_new_country_access_is_stronger_than_a_new_device_one() -> None:
    events: list[Event] = [access(device="dev-other-0009"), access(HOUR, country="FR"),
                           transfer("6000.00", 2 * HOUR)]
    finding = last_finding(events)
    assert finding.window_start == T0 + HOUR
    assert finding.evidence["new_country"] is True


# --- jurisdiction ---------------------------------------------------------------------------


EURO_ZONE = Jurisdiction(country="FR", currency="EUR", cash_reporting_threshold=Decimal("10000"))


def test_amounts_are_in_the_profiles_currency() -> None:
    det = detector(EURO_ZONE, min_new_payee_amount=Decimal("500"))
    base = [*history()]
    assert feed(det, [*base, access(), transfer("600.00", HOUR, currency="EUR")])[1]
    assert not feed(det, [*base, access(), transfer("600.00", HOUR, currency="MAD")])[1]
    finding = feed(det, [*base, access(), transfer("600.00", HOUR, currency="EUR")])[1][-1]
    assert "600.00 EUR" in finding.summary


# --- arrival order, redelivery, bounded state, JSON ------------------------------------------


def test_a_late_access_completes_the_pattern_on_arrival() -> None:
    login = access(kind="credentials_reset")
    found = findings_of([transfer("6000.00", HOUR), login])
    assert len(found) == 1
    assert found[0].window_start == T0
    assert found[0].event_ids[0] == login.event_id


def test_a_transaction_from_the_attackers_device_arriving_first_does_not_hide_the_access() -> None:
    mobile = transfer("6000.00", HOUR, channel="mobile", device_id=ATTACKER)
    found = findings_of([mobile, access()])
    assert len(found) == 1
    assert found[0].evidence["new_device"] is True


def test_a_late_earlier_login_from_the_same_device_clears_the_access() -> None:
    earlier = access(-3 * DAY)  # the holder's new phone, first used three days ago
    assert fires([access(), transfer("6000.00", HOUR)])
    assert not fires([access(), earlier, transfer("6000.00", HOUR)])


def test_events_older_than_the_window_behind_the_newest_are_not_paired() -> None:
    det = detector()
    state, _ = feed(det, [*history(), pos("20.00", 5 * DAY)])
    state, found = feed(det, [access(), transfer("6000.00", HOUR)], state)
    assert found == []
    assert state.accesses == () and state.drains == ()


def test_a_redelivered_drain_is_counted_once() -> None:
    det = detector()
    one = purchase("3000.00", HOUR)
    state, found = feed(det, [*history(), access(), one, one, one])
    assert found == []
    assert len(state.drains) == 1


def test_score_does_not_mutate_the_given_state() -> None:
    det = detector()
    state, _ = feed(det, history())
    before = state.model_dump_json()
    det.score(access(), state)
    det.score(transfer("9000.00"), state)
    assert state.model_dump_json() == before


def _busy_account(n: int) -> list[Event]:
    """History, then n events a minute apart: new devices, countries and payees throughout."""
    countries = ["MA", "FR", "ES", "TR", "DE", "IT", "BE", "NL", "GB", "US", "CA", "SN",
                 "TN", "DZ", "EG", "AE", "SA", "QA", "PT", "CH"]
    events: list[Event] = history()
    for i in range(n):
        at = i * MINUTE
        roll = i % 4
        if roll == 0:
            events.append(access(at, kind="credentials_reset" if i % 8 == 0 else "login",
                                 device=f"dev-{i:05d}", country=countries[i % len(countries)]))
        elif roll == 1:
            events.append(transfer("7000.00", at, f"ACC-P{i:05d}"))
        elif roll == 2:
            events.append(purchase("2500.00", at, "5732"))
        else:
            events.append(pos("30.00", at, countries[(i * 7) % len(countries)]))
    return events


def test_state_stays_bounded_after_many_devices_countries_and_payees() -> None:
    det = detector()
    p = det.params
    events = _busy_account(600)
    state, found = feed(det, events)
    assert found  # the busy account does look taken over; the point is the state size
    assert all(0.0 <= f.score <= 1.0 for f in found)
    assert len(state.devices) == p.max_known_devices
    assert len(state.countries) <= p.max_known_countries
    assert len(state.present) <= p.max_known_countries
    assert len(state.payees) == p.max_known_payees
    assert len(state.accesses) == p.max_accesses
    assert len(state.drains) <= p.max_kept
    assert len(state.model_dump_json()) < 32 * 1024
    newest_payees = [e.counterparty.account_id for e in events
                     if isinstance(e, Transaction) and e.counterparty is not None
                     and e.counterparty.account_id]
    assert [s.key for s in state.payees] == newest_payees[-p.max_known_payees:]


def test_caps_are_configurable() -> None:
    det = detector(max_known_devices=3, max_known_countries=2, max_known_payees=5,
                   max_accesses=2, max_kept=4)
    state, _ = feed(det, _busy_account(400))
    assert len(state.devices) == 3
    assert len(state.countries) == len(state.present) == 2
    assert len(state.payees) == 5
    assert len(state.accesses) == 2
    assert len(state.drains) == 4


def test_state_round_trips_through_json() -> None:
    det = detector()
    state, _ = feed(det, [*history(), access(kind="credentials_reset", country="FR"),
                          transfer("3000.00"), purchase("2500.00")])
    restored = TakeoverState.model_validate_json(state.model_dump_json())
    assert restored == state
    assert TakeoverState.model_validate(json.loads(state.model_dump_json())) == state


@pytest.mark.parametrize("cut", [3, 6, 7, 9, 11])
def test_a_json_round_trip_mid_stream_gives_identical_findings(cut: int) -> None:
    det = detector()
    events: list[Event] = [
        *history(), access(kind="credentials_reset", country="FR"), purchase("2500.00", HOUR),
        transfer("3000.00", 2 * HOUR), purchase("2500.00", 3 * HOUR, "6540"),
        transfer("9000.00", 4 * HOUR, MULE_2), pos("20.00", 5 * HOUR),
    ]
    _, straight = feed(det, events)
    state, first = feed(det, events[:cut])
    restored = TakeoverState.model_validate_json(state.model_dump_json())
    _, second = feed(det, events[cut:], restored)
    assert straight
    assert first + second == straight


# --- the detector's interface ------------------------------------------------------------------


def test_satisfies_the_detector_protocol() -> None:
    det = detector()
    assert isinstance(det, Detector)
    assert det.name == "account_takeover"
    assert det.version == "1"
    assert det.State is TakeoverState


@pytest.mark.parametrize(
    ("event", "accepted"),
    [
        (access(), True),
        (access(kind="credentials_reset"), True),
        (make_account_event(kind="opened"), True),
        (make_account_event(kind="updated"), False),
        (make_account_event(kind="closed"), False),
        (transfer(), True),
        (purchase(), True),
        (pos(), True),
        (transfer(status="declined"), False),
        (make_txn(kind="cash_deposit"), False),
        (make_txn(kind="cash_deposit", location={"country": "MA"}), True),
        (make_txn(kind="transfer", direction="in"), False),
        (make_txn(kind="transfer", direction="in", channel="mobile", device_id=HOME), True),
    ],
    ids=["login", "credentials-reset", "opened", "updated", "closed", "transfer-out",
         "ecommerce-purchase", "pos-payment", "declined", "cash-deposit-no-location",
         "cash-deposit-at-a-branch-in-MA", "transfer-in", "transfer-in-from-a-device"],
)
def test_accepts(event: Event, accepted: bool) -> None:
    assert detector().accepts(event) is accepted


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="pattern"):
        AccountTakeoverParams.model_validate({"resellable_mccs": ["57321"]})
    with pytest.raises(ValueError, match="greater than 0"):
        AccountTakeoverParams.model_validate({"drain_window": 0})


def test_no_wall_clock_same_events_same_findings() -> None:
    events = [*history(), access(country="FR"), transfer("6000.00"), purchase("2500.00")]
    assert feed(detector(), events) == feed(detector(), events)
    first: datetime = feed(detector(), events)[1][-1].window_start
    assert first == T0


def test_through_assess_one_alert_per_episode_with_the_payees_related() -> None:
    """The one code path: state kept as JSON in `AccountState`, findings folded by the policy."""
    det = detector()
    policy = AlertPolicy(PolicyParams(), {det.name: det.version})
    states: dict[str, AccountState] = {}
    alerts = []
    for event in [*history(), access(kind="credentials_reset", country="FR"),
                  transfer("6000.00", HOUR), purchase("2500.00", 2 * HOUR),
                  transfer("3000.00", 3 * HOUR, MULE_2)]:
        alerts.extend(assess(event, [det], states, policy).alerts)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.typologies == [Typology.ACCOUNT_TAKEOVER]
    assert alert.related_accounts == [MULE]
    assert alert.reasons[0].code == "ATO_NEW_ACCESS_THEN_NEW_PAYEE"
    assert alert.severity.value == "high"
