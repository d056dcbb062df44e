"""Mule account behaviour tables: the rule card of `detectors/mule_account.py`, edge by edge."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from detectors import AccountState, AlertPolicy, Event, Jurisdiction, PolicyParams, assess
from detectors.assess import account_legs
from detectors.mule_account import MuleAccount, MuleAccountParams, MuleWindow
from models import Finding, Transaction, Typology
from tests.factories import T0, feed, make_account_event, make_txn

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MULE = "ACC-MULE"
HERDER = "ACC-HERDER"


def detector(profile: Jurisdiction | None = None, **params: Any) -> MuleAccount:
    return MuleAccount(MuleAccountParams.model_validate(params), profile or Jurisdiction())


def fired_per_event(det: MuleAccount, events: Iterable[Event]) -> list[int]:
    state, fired = det.State(), []
    for event in events:
        state, found = det.score(event, state)
        fired.append(len(found))
    return fired


def last_finding(det: MuleAccount, events: Iterable[Event]) -> Finding | None:
    """What the last event raised."""
    state, found = det.State(), []
    for event in events:
        state, found = det.score(event, state)
    return found[0] if found else None


def final_finding(det: MuleAccount, events: Iterable[Event]) -> Finding | None:
    """The last finding raised by any event."""
    findings = feed(det, events)[1]
    return findings[-1] if findings else None


# --- scenario builders (amounts in MAD, times as offsets from T0) ----------------------------


def received(sender: str, amount: str = "2000.00", at: timedelta = timedelta(0),
             account: str = MULE, **overrides: Any) -> Transaction:
    """The payee bank's report of a credit transfer from `sender`."""
    counterparty = overrides.pop("counterparty", {"account_id": sender, "name": f"Name {sender}",
                                                  "bank": "BNK-S"})
    return make_txn(kind="transfer", direction="in", account_id=account, amount=Decimal(amount),
                    occurred_at=T0 + at, counterparty=counterparty, **overrides)


def sent(amount: str, at: timedelta, to: str = HERDER, country: str | None = None,
         account: str = MULE, **overrides: Any) -> Transaction:
    return make_txn(kind="transfer", direction="out", account_id=account, amount=Decimal(amount),
                    occurred_at=T0 + at, counterparty={"account_id": to, "country": country},
                    **overrides)


def withdrawn(amount: str, at: timedelta, country: str | None = None,
              account: str = MULE) -> Transaction:
    return make_txn(kind="cash_withdrawal", direction="out", channel="atm", account_id=account,
                    amount=Decimal(amount), occurred_at=T0 + at,
                    location={"country": country} if country else None)


def card(amount: str, at: timedelta, account: str = MULE) -> Transaction:
    return make_txn(kind="card_payment", account_id=account, amount=Decimal(amount),
                    occurred_at=T0 + at)


def fan_in(senders: int, amount: str = "2000.00", start: timedelta = timedelta(0),
           every: timedelta = HOUR, account: str = MULE,
           prefix: str = "ACC-S") -> list[Transaction]:
    """One transfer from each of `senders` different accounts, `every` apart from `start`."""
    return [received(f"{prefix}{n}", amount, start + n * every, account) for n in range(senders)]


def mule(senders: int = 6, out: str = "11000.00", out_at: timedelta = 20 * HOUR,
         **out_kw: Any) -> list[Event]:
    """The reference pattern: `senders` x 2,000 MAD within hours, `out` sent on at `out_at`."""
    return [*fan_in(senders), sent(out, out_at, **out_kw)]


def opened(at: timedelta, account: str = MULE) -> Event:
    return make_account_event(kind="opened", account_id=account, occurred_at=T0 + at)


def fires(events: Sequence[Event], **params: Any) -> bool:
    return bool(feed(detector(**params), events)[1])


# --- the pattern ---------------------------------------------------------------------------


def test_fires_on_the_outflow_that_passes_the_money_on_not_before() -> None:
    assert fired_per_event(detector(), mule()) == [0, 0, 0, 0, 0, 0, 1]


def test_fires_on_every_later_event_of_the_pattern() -> None:
    events = [*mule(out="9000.00"), sent("1000.00", 21 * HOUR),
              received("ACC-S9", "500", 22 * HOUR)]
    assert fired_per_event(detector(), events) == [0, 0, 0, 0, 0, 0, 1, 1, 1]


def test_finding_is_coded_and_typed() -> None:
    finding = last_finding(detector(), mule())
    assert finding is not None
    assert finding.detector == "mule_account"
    assert finding.typology is Typology.MULE_ACCOUNT
    assert finding.code == "MULE_FAN_IN_PASS_THROUGH"
    assert MuleAccount.version == "1"


# --- parameter edges (defaults: 5 senders, 10,000 MAD, 70 % within 48 h, 3 destinations) -----


@pytest.mark.parametrize(("senders", "fired"), [(3, False), (4, False), (5, True), (6, True)],
                         ids=["three", "four-one-short", "five-min-senders", "six"])
def test_distinct_sender_edges(senders: int, fired: bool) -> None:
    events = [*fan_in(senders, "3000.00"), sent(str(3000 * senders), 10 * HOUR)]
    assert fires(events) is fired


def test_one_sender_paying_many_times_is_one_sender() -> None:
    events = [received("ACC-S1", "3000.00", n * HOUR) for n in range(8)]
    assert not fires([*events, sent("24000.00", 10 * HOUR)])


@pytest.mark.parametrize(
    ("last", "fired"),
    [("1999.99", False), ("2000.00", True), ("2000.01", True)],
    ids=["total-one-cent-below-min-inflow", "total-at-min-inflow", "total-above-min-inflow"],
)
def test_min_inflow_edges(last: str, fired: bool) -> None:
    events = [*fan_in(4), received("ACC-S9", last, 4 * HOUR)]
    total = str(8000 + Decimal(last))
    assert fires([*events, sent(total, 10 * HOUR)]) is fired


@pytest.mark.parametrize(
    ("out", "fired"),
    [("6999.99", False), ("7000.00", True), ("7000.01", True)],
    ids=["share-one-cent-below-70-percent", "share-exactly-70-percent", "share-above"],
)
def test_outflow_share_edges(out: str, fired: bool) -> None:
    assert fires([*fan_in(5, every=timedelta(0)), sent(out, 10 * HOUR)]) is fired


@pytest.mark.parametrize(
    ("lag", "fired"),
    [(48 * HOUR - SECOND, True), (48 * HOUR, True), (48 * HOUR + SECOND, False)],
    ids=["48h-minus-1s", "exactly-48h", "48h-plus-1s"],
)
def test_pass_through_window_edges(lag: timedelta, fired: bool) -> None:
    assert fires([*fan_in(5, every=timedelta(0)), sent("10000.00", lag)]) is fired


@pytest.mark.parametrize(
    ("payments", "fired"),
    [
        ([("ACC-D1", "10000.00")], True),
        ([("ACC-D1", "2666.67"), ("ACC-D2", "2666.67"), ("ACC-D3", "2666.66")], True),
        ([("ACC-D1", "2000"), ("ACC-D2", "2000"), ("ACC-D3", "2000"), ("ACC-D4", "2000")], False),
        ([("ACC-D1", "2500"), ("ACC-D2", "2500"), ("ACC-D3", "2500"), ("ACC-D4", "2500")], True),
        ([("ACC-D1", "2400"), ("ACC-D2", "2400"), ("ACC-D3", "2400"), ("ACC-D4", "500")], True),
        ([(f"ACC-D{n}", "1100") for n in range(9)], False),
    ],
    ids=["one-destination", "three-destinations-80-percent", "four-destinations-80-percent",
         "four-destinations-all-of-it-top-three-75-percent",
         "small-fourth-payment-does-not-hide-it", "nine-payees-like-a-business"],
)
def test_destination_edges(payments: list[tuple[str, str]], fired: bool) -> None:
    """Only money to the three destinations that got the most counts towards the 70 %."""
    outs = [sent(amount, (10 + n) * HOUR, to=to) for n, (to, amount) in enumerate(payments)]
    assert fires([*fan_in(5, every=timedelta(0)), *outs]) is fired


def test_cash_is_one_destination_however_many_withdrawals() -> None:
    outs = [withdrawn("2000.00", (10 + n) * HOUR) for n in range(3)]
    outs += [sent("2000.00", 20 * HOUR, to="ACC-D1"), sent("2000.00", 21 * HOUR, to="ACC-D2")]
    finding = last_finding(detector(), [*fan_in(5, every=timedelta(0)), *outs])
    assert finding is not None
    assert [d["to"] for d in finding.evidence["destinations"]] == ["cash", "ACC-D1", "ACC-D2"]
    assert finding.evidence["cash_amount"] == "6000.00"
    assert finding.evidence["outflow_share"] == 1.0


@pytest.mark.parametrize(
    ("last", "fired"),
    [(7 * DAY - SECOND, True), (7 * DAY, True), (7 * DAY + SECOND, False)],
    ids=["inflows-span-7-days-minus-1s", "span-exactly-7-days", "span-7-days-plus-1s"],
)
def test_window_edges(last: timedelta, fired: bool) -> None:
    """Sender 0 on day 0, three more on day 6, a fifth at `last`: five senders only within 7
    days (the last four alone bring 12,000, so only the sender count decides)."""
    events = [received("ACC-S0", at=timedelta(0)), sent("2000.00", HOUR),
              *fan_in(3, "3000.00", start=6 * DAY, prefix="ACC-T"),
              received("ACC-S4", "3000.00", at=last), sent("12000.00", last + HOUR)]
    assert fires(events) is fired


# --- what counts as passing money on ---------------------------------------------------------


def test_money_sent_before_it_arrived_does_not_count() -> None:
    """Paid a group trip first, reimbursed by six friends the next day."""
    events = [sent("12000.00", timedelta(0), to="ACC-TRAVEL"), *fan_in(6, start=DAY)]
    assert not fires(events)


def test_outflows_pay_out_the_earliest_inflows_first() -> None:
    events = [*fan_in(5, "2000.00", every=10 * HOUR), sent("2000.00", 45 * HOUR),
              sent("8000.00", 46 * HOUR)]
    finding = last_finding(detector(), events)
    assert finding is not None
    # 45 h pays the 0 h inflow; 46 h pays those of 10, 20, 30 and 40 h (36, 26, 16, 6 h).
    assert finding.evidence["max_hours"] == 45.0
    assert finding.evidence["median_hours"] == 26.0


def test_an_inflow_passed_on_too_late_does_not_count_but_the_others_do() -> None:
    """At 50 h the 0 h inflow is past 48 h: only the other four (9,000 of 11,000) count."""
    events = [received("ACC-S0", "2000.00"), *fan_in(4, "2250.00", start=30 * HOUR, prefix="X"),
              sent("11000.00", 50 * HOUR)]
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.evidence["outflow_total"] == "9000.00"
    assert finding.evidence["outflow_share"] == pytest.approx(0.8182, abs=1e-4)


def test_a_salary_arriving_between_fan_in_and_pass_through_does_not_hide_the_pattern() -> None:
    """The window of the five senders is judged on its own, not only the latest one."""
    events = [*fan_in(5), received("ACC-EMPLOYER", "20000.00", 10 * HOUR),
              sent("9500.00", 20 * HOUR)]
    finding = last_finding(detector(), events)
    assert finding is not None
    assert (finding.evidence["senders"], finding.evidence["inflow_total"]) == (5, "10000.00")


def test_a_late_reported_outflow_is_judged_in_the_window_it_belongs_to() -> None:
    """Reported after a salary that came an hour later: the latest window (30,000 MAD, a third
    passed on) fails, the one ending at the fifth sender (10,000, all of it) qualifies."""
    events = [*fan_in(5), received("ACC-EMPLOYER", "20000.00", 10 * HOUR),
              sent("21000.00", 9 * HOUR)]
    assert fired_per_event(detector(), events) == [0, 0, 0, 0, 0, 0, 1]
    finding = last_finding(detector(), events)
    assert finding is not None and finding.evidence["last_inflow_at"] == (
        T0 + 4 * HOUR).isoformat()


def test_a_late_outflow_of_an_earlier_pattern_is_judged_in_that_pattern() -> None:
    """A week later a second pattern qualifies, but the late outflow paid the first one."""
    first = fan_in(5)
    second = fan_in(5, start=7 * DAY + 5 * HOUR, prefix="ACC-T")
    late = sent("10000.00", 10 * HOUR)
    events = [*first, *second, sent("10000.00", 7 * DAY + 20 * HOUR, to="ACC-OTHER"), late]
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.event_ids == (*(e.event_id for e in first), late.event_id)


def test_card_spending_is_not_passing_money_on() -> None:
    events = [*fan_in(6), *(card("1000.00", (6 + n) * HOUR) for n in range(12))]
    assert not fires(events)


def test_an_outflow_to_a_smaller_destination_is_not_part_of_the_pattern() -> None:
    events = [*fan_in(5, every=timedelta(0)), sent("9000.00", HOUR), sent("300.00", 2 * HOUR,
                                                                         to="ACC-PHONE")]
    assert fired_per_event(detector(max_destinations=1), events) == [0] * 5 + [1, 0]


def test_names_identify_senders_without_an_account_id_ignoring_case_and_spacing() -> None:
    def by_name(name: str, at: timedelta) -> Transaction:
        return received("", at=at, counterparty={"name": name})

    same = [by_name(n, i * HOUR) for i, n in enumerate(["Ali Ben", "ali  ben", " ALI BEN"])]
    others = [by_name(n, (3 + i) * HOUR)
              for i, n in enumerate(["Sara K", "Omar Z", "Nadia Y", "Karim B"])]
    four = feed(detector(), [*same, *others[:3], sent("12000.00", 10 * HOUR)])[1]
    five = feed(detector(), [*same, *others, sent("14000.00", 10 * HOUR)])[1]
    assert four == []  # six transfers, but Ali Ben is one sender
    assert five and five[-1].evidence["senders"] == 5
    assert five[-1].related_accounts == (HERDER,)  # the senders' names are not accounts


# --- hard negatives ------------------------------------------------------------------------


def _student_allowances() -> list[Transaction]:
    return [received(f"ACC-FAMILY{n}", "2000.00", n * DAY + 10 * HOUR) for n in range(6)]


def _student() -> list[Event]:
    """Six relatives send 2,000 each in a week; spent by card over three weeks, a little cash."""
    events: list[Event] = [*_student_allowances()]
    events += [card("350.00", d * DAY + 13 * HOUR) for d in range(21)]
    events += [withdrawn("400.00", d * DAY + 18 * HOUR) for d in range(0, 21, 7)]
    return events


def _landlord() -> list[Event]:
    """Six tenants pay rent in the first days of the month; property tax paid on day 10."""
    return [*(received(f"ACC-TENANT{n}", "3500.00", (n // 2) * DAY + n * HOUR) for n in range(6)),
            sent("2000.00", 10 * DAY, to="ACC-TAX")]


def _shop_takings() -> list[Transaction]:
    return fan_in(30, "1000.00", every=4 * HOUR, prefix="ACC-CUSTOMER")


def _shop_paying_a_supplier_two_weeks_later() -> list[Event]:
    return [*_shop_takings(), sent("25000.00", 19 * DAY, to="ACC-SUPPLIER")]


def _payroll() -> list[Event]:
    """Two clients pay a firm, which pays twenty employees the next day."""
    return [received("ACC-CLIENT1", "60000.00"), received("ACC-CLIENT2", "40000.00", HOUR),
            *(sent("4500.00", DAY + n * MINUTE, to=f"ACC-EMPLOYEE{n}") for n in range(20))]


def _salary_and_rent() -> list[Event]:
    return [event for month in range(3)
            for event in (received("ACC-EMPLOYER", "15000.00", month * 30 * DAY),
                          sent("5000.00", month * 30 * DAY + DAY, to="ACC-LANDLORD"))]


def _business_paying_many_suppliers() -> list[Event]:
    return [*fan_in(10, "2000.00", prefix="ACC-CUSTOMER"),
            *(sent("2250.00", 20 * HOUR + n * MINUTE, to=f"ACC-SUPPLIER{n}") for n in range(8))]


HARD_NEGATIVES: dict[str, list[Event]] = {
    "payroll-fan-out": _payroll(),
    "student-supported-by-relatives": _student(),
    "landlord-keeps-the-rent": _landlord(),
    "shop-pays-supplier-two-weeks-later": _shop_paying_a_supplier_two_weeks_later(),
    "salary-in-rent-out": _salary_and_rent(),
    "many-senders-below-min-inflow": [*fan_in(8, "1000.00"), sent("8000.00", 10 * HOUR)],
    "one-sender-many-transfers": [*(received("ACC-S1", "5000.00", n * HOUR) for n in range(10)),
                                  sent("50000.00", 12 * HOUR)],
    "group-trip-paid-then-reimbursed": [sent("12000.00", timedelta(0), to="ACC-TRAVEL"),
                                        *fan_in(6, start=DAY)],
    "business-paying-many-suppliers": _business_paying_many_suppliers(),
    "declined-outflows": [*fan_in(6), sent("11000.00", 20 * HOUR, status="declined")],
    "inflows-in-another-currency": [
        *(received(f"ACC-S{n}", "2000.00", n * HOUR, currency="EUR") for n in range(6)),
        sent("11000.00", 20 * HOUR)],
    "outflows-in-another-currency": [*fan_in(6), sent("11000.00", 20 * HOUR, currency="EUR")],
    "spent-by-card": [*fan_in(6), *(card("1800.00", (7 + n) * HOUR) for n in range(6))],
}


@pytest.mark.parametrize("events", list(HARD_NEGATIVES.values()), ids=list(HARD_NEGATIVES))
def test_hard_negatives_do_not_fire(events: list[Event]) -> None:
    assert feed(detector(), events)[1] == []


def in_time_order(*events: Event) -> list[Event]:
    return sorted(events, key=lambda e: e.occurred_at)


NEAR_MISSES: dict[str, list[Event]] = {
    "landlord-forwarding-each-rent": in_time_order(
        *_landlord(), *(sent("3500.00", (n // 2) * DAY + (n + 1) * HOUR) for n in range(6))),
    "student-forwarding-each-allowance": in_time_order(
        *_student(), *(sent("2000.00", n * DAY + 11 * HOUR) for n in range(6))),
    "shop-sweeping-its-takings-daily": [
        *_shop_takings(), *(sent("6000.00", (d + 1) * DAY, to="ACC-SUPPLIER") for d in range(5))],
    "firm-paid-by-five-clients-paying-one-account": [
        *fan_in(5, "20000.00", prefix="ACC-CLIENT"), sent("90000.00", DAY)],
    "many-senders-at-min-inflow": [*fan_in(8, "1250.00"), sent("10000.00", 10 * HOUR)],
}


@pytest.mark.parametrize("events", list(NEAR_MISSES.values()), ids=list(NEAR_MISSES))
def test_hard_negatives_fire_once_their_decisive_trait_is_changed(events: list[Event]) -> None:
    """So the hard negatives are near misses: each test above can fail."""
    assert feed(detector(), events)[1]


def test_events_the_detector_ignores_leave_the_state_untouched() -> None:
    det = detector()
    state, _ = feed(det, fan_in(3))
    ignored = [card("100.00", HOUR), make_txn(kind="cash_deposit", account_id=MULE),
               make_account_event(kind="login", account_id=MULE), sent("1.00", HOUR,
                                                                      status="declined")]
    after, findings = feed(det, ignored, state)
    assert after is state
    assert findings == []


# --- what the detector accepts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "accepted"),
    [
        (received("ACC-S1"), True),
        (received("", counterparty={"name": "Someone"}), True),
        (received("", counterparty={"bank": "BNK"}), False),
        (received(MULE), False),
        (sent("10.00", timedelta(0)), True),
        (sent("10.00", timedelta(0), to=MULE), False),
        (make_txn(kind="transfer", direction="out", account_id=MULE, counterparty={}), True),
        (withdrawn("100.00", timedelta(0)), True),
        (make_txn(kind="cash_deposit", account_id=MULE), False),
        (card("10.00", timedelta(0)), False),
        (received("ACC-S1", status="declined"), False),
        (received("ACC-S1", currency="EUR"), False),
        (opened(timedelta(0)), True),
        (make_account_event(kind="login", account_id=MULE), False),
        (make_account_event(kind="updated", account_id=MULE), False),
    ],
    ids=["transfer-in-from-account", "transfer-in-from-name", "transfer-in-from-nobody",
         "transfer-in-from-itself", "transfer-out", "transfer-out-to-itself",
         "transfer-out-to-unidentified", "cash-withdrawal", "cash-deposit", "card-payment",
         "declined", "other-currency", "account-opened", "login", "customer-updated"],
)
def test_accepts(event: Event, accepted: bool) -> None:
    assert detector().accepts(event) is accepted


# --- only the payer's bank reports ----------------------------------------------------------


def _paid_by(sender: str, amount: str, at: timedelta) -> Transaction:
    """The payer bank's report of a transfer to the mule: an `out` on the sender's account."""
    return make_txn(kind="transfer", direction="out", account_id=sender, amount=Decimal(amount),
                    occurred_at=T0 + at, institution="BNK-S",
                    counterparty={"account_id": MULE, "name": "Mule", "bank": "BNK-M"})


def _mule_legs(events: Iterable[Transaction]) -> list[Transaction]:
    """The legs booked on the mule, as the monitor derives them (`account_legs`)."""
    return [leg for event in events for leg in account_legs(event) if leg.account_id == MULE]


def _same_finding(a: Finding, b: Finding) -> None:
    assert (a.score, a.summary, a.evidence, a.related_accounts) == (
        b.score, b.summary, b.evidence, b.related_accounts)
    assert (a.window_start, a.window_end) == (b.window_start, b.window_end)


AMOUNTS = ["2500.00", "1800.00", "3000.00", "2200.00", "2750.00", "1900.00"]


@pytest.mark.parametrize("reported_by_payer", [set(), {0, 1, 2, 3, 4, 5}, {1, 3, 5}],
                         ids=["payee-bank-only", "payer-banks-only", "half-and-half"])
def test_fires_the_same_whoever_reports_the_inflows(reported_by_payer: set[int]) -> None:
    outs = [sent("10000.00", 20 * HOUR, country="TR"), withdrawn("4000.00", 22 * HOUR)]
    direct = [received(f"ACC-S{n}", a, n * HOUR) for n, a in enumerate(AMOUNTS)]
    mixed = _mule_legs(
        _paid_by(f"ACC-S{n}", a, n * HOUR) if n in reported_by_payer else direct[n]
        for n, a in enumerate(AMOUNTS))
    assert [leg.event_id.endswith("~payee") for leg in mixed] == [
        n in reported_by_payer for n in range(6)]
    expected = feed(detector(), [*direct, *outs])[1]
    found = feed(detector(), [*mixed, *outs])[1]
    assert len(found) == len(expected) == 2
    for got, want in zip(found, expected, strict=True):
        _same_finding(got, want)
    assert found[-1].event_ids == tuple(leg.event_id for leg in mixed) + tuple(
        o.event_id for o in outs)


def test_payer_reported_pattern_through_assess_raises_one_alert_with_the_network() -> None:
    """The full path: payer `out`s -> payee legs -> the detector -> the alert policy."""
    det = detector()
    policy = AlertPolicy(PolicyParams(), {det.name: det.version})
    states: dict[str, AccountState] = {}
    reports = [*(_paid_by(f"ACC-S{n}", a, n * HOUR) for n, a in enumerate(AMOUNTS)),
               sent("10000.00", 20 * HOUR, country="TR"), sent("4000.00", 21 * HOUR)]
    alerts = [alert for report in reports for leg in account_legs(report)
              for alert in assess(leg, [det], states, policy).alerts]
    assert len(alerts) == 1  # both outflows fire; the episode folds the second
    alert = alerts[0]
    assert alert.account_id == MULE
    assert alert.typologies == [Typology.MULE_ACCOUNT]
    assert alert.related_accounts == [HERDER, *(f"ACC-S{n}" for n in range(6))]
    assert all(not t.endswith("~payee") for t in alert.transaction_ids)  # original ids


# --- new, quiet and mature accounts --------------------------------------------------------


def _history(kind: str) -> list[Event]:
    return {
        "unknown": [],
        "opened-10-days-before": [opened(-10 * DAY)],
        "opened-exactly-90-days-before": [opened(-90 * DAY)],
        "opened-90-days-and-1s-before-quiet": [opened(-90 * DAY - SECOND)],
        "opened-2-years-before-quiet": [opened(-730 * DAY)],
        "opened-2-years-before-salary-30-days-before": [
            opened(-730 * DAY), received("ACC-EMPLOYER", "9000.00", -30 * DAY)],
        "seen-100-days-before-quiet-since": [sent("100.00", -100 * DAY, to="ACC-SHOP")],
        "seen-100-days-before-active-60-days-before": [
            sent("100.00", -100 * DAY, to="ACC-SHOP"), sent("100.00", -60 * DAY, to="ACC-SHOP")],
    }[kind]


@pytest.mark.parametrize(
    ("history", "bonus", "new", "quiet"),
    [
        ("unknown", 0.0, False, False),
        ("opened-10-days-before", 0.1, True, False),
        ("opened-exactly-90-days-before", 0.1, True, False),
        ("opened-90-days-and-1s-before-quiet", 0.05, False, True),
        ("opened-2-years-before-quiet", 0.05, False, True),
        ("opened-2-years-before-salary-30-days-before", 0.0, False, False),
        ("seen-100-days-before-quiet-since", 0.05, False, True),
        ("seen-100-days-before-active-60-days-before", 0.0, False, False),
    ],
)
def test_new_or_quiet_accounts_score_higher(history: str, bonus: float, new: bool,
                                            quiet: bool) -> None:
    baseline = last_finding(detector(), mule())
    finding = last_finding(detector(), [*_history(history), *mule()])
    assert baseline is not None and finding is not None
    assert finding.score == pytest.approx(baseline.score + bonus, abs=1e-4)
    assert (finding.evidence["new_account"], finding.evidence["quiet_before"]) == (new, quiet)


def test_account_age_is_reported_in_days() -> None:
    known = last_finding(detector(), [opened(-12 * DAY - 12 * HOUR), *mule()])
    unknown = last_finding(detector(), mule())
    assert known is not None and unknown is not None
    assert known.evidence["account_age_days"] == 12.5
    assert unknown.evidence["account_age_days"] is None


def test_opening_reported_after_the_transactions_still_counts() -> None:
    det = detector()
    state, _ = feed(det, mule(out="8000.00"))
    state, on_opening = det.score(opened(-5 * DAY), state)
    assert on_opening == []  # an account event never fires by itself
    _, found = det.score(sent("3000.00", 21 * HOUR), state)
    assert found and found[0].evidence["new_account"] is True


def test_the_earliest_opening_wins() -> None:
    state, _ = feed(detector(), [opened(-5 * DAY), opened(-400 * DAY), opened(-3 * DAY)])
    assert state.opened_at == T0 - 400 * DAY


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fired"),
    [
        ({}, True),
        ({"min_distinct_senders": 6}, True),
        ({"min_distinct_senders": 7}, False),
        ({"min_inflow": "12000.00"}, True),
        ({"min_inflow": "12000.01"}, False),
        ({"min_inflow": "12000", "min_outflow_share": 0.91}, True),  # all six: 91.7 %
        ({"min_inflow": "12000", "min_outflow_share": 0.92}, False),
        ({"pass_through_window": timedelta(hours=19)}, True),  # pays the 1..5 h inflows: 83 %
        ({"pass_through_window": timedelta(hours=19) - SECOND}, False),  # 2..5 h: 67 %
        ({"window": timedelta(hours=4)}, True),  # 1..5 h: five senders, all of it passed on
        ({"window": timedelta(hours=4) - SECOND}, False),
        ({"max_destinations": 1}, False),
        ({"max_destinations": 2}, True),
    ],
    ids=lambda v: json.dumps(v, default=str) if isinstance(v, dict) else str(v),
)
def test_parameters_change_the_outcome(params: dict[str, Any], fired: bool) -> None:
    """Six senders x 2,000 over 5 h; 6,000 and 5,000 to two destinations 20 h after the first.

    The first five inflows (10,000) are a window of their own, passed on in full.
    """
    events = [*fan_in(6), sent("6000.00", 20 * HOUR, to="ACC-D1"),
              sent("5000.00", 20 * HOUR, to="ACC-D2")]
    assert fires(events, **params) is fired


def test_new_account_age_is_configurable() -> None:
    events = [opened(-30 * DAY), *mule()]
    default = last_finding(detector(), events)
    short = last_finding(detector(new_account_age=timedelta(days=29)), events)
    assert default is not None and short is not None
    assert (default.evidence["new_account"], short.evidence["new_account"]) == (True, False)


@pytest.mark.parametrize(
    "params",
    [{"max_kept": 4}, {"min_outflow_share": 1.01}, {"min_outflow_share": 0},
     {"min_distinct_senders": 1}, {"max_destinations": 0}, {"min_inflow": "0"},
     {"window": timedelta(0)}],
    ids=["max-kept-below-min-senders", "share-above-one", "share-zero", "one-sender",
         "no-destination", "zero-min-inflow", "empty-window"],
)
def test_invalid_parameters_are_rejected(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MuleAccountParams.model_validate(params)


EURO_ZONE = Jurisdiction(country="FR", currency="EUR", cash_reporting_threshold=Decimal("10000"))


def test_another_jurisdiction_changes_currency_min_inflow_and_abroad() -> None:
    det = detector(EURO_ZONE)  # min_inflow defaults to 10 % of 10,000 EUR
    inflows = [received(f"ACC-S{n}", "250.00", n * HOUR, currency="EUR") for n in range(5)]
    finding = last_finding(det, [*inflows, sent("1000.00", 9 * HOUR, country="MA",
                                                 currency="EUR")])
    assert finding is not None
    assert finding.evidence["min_inflow"] == "1000.00"
    assert finding.evidence["abroad_count"] == 1  # Morocco is abroad from France
    assert "1,250.00 EUR" in finding.summary
    assert not fires([*fan_in(5, "250.00"), sent("1250.00", 9 * HOUR)])  # MAD, below 10,000
    assert not feed(det, [*fan_in(6), sent("11000.00", 20 * HOUR)])[1]  # MAD legs ignored


@pytest.mark.parametrize(("params", "shown"), [({}, "10000.00"), ({"min_inflow": "500"}, "500")],
                         ids=["ten-percent-of-the-reporting-threshold", "configured"])
def test_min_inflow_in_evidence(params: dict[str, Any], shown: str) -> None:
    finding = last_finding(detector(**params), mule())
    assert finding is not None and finding.evidence["min_inflow"] == shown


# --- event time: arrival order, redelivery ---------------------------------------------------


def _reference() -> list[Event]:
    """Opened 20 days before; 7 senders x 3,000 over 18 h; 19,000 sent on, abroad and cash."""
    return [opened(-20 * DAY), *fan_in(7, "3000.00", every=3 * HOUR),
            sent("9000.00", 10 * HOUR, country="TR"), withdrawn("6000.00", 24 * HOUR),
            sent("4000.00", 30 * HOUR)]


def test_reversed_arrival_ends_with_the_same_finding() -> None:
    events = _reference()
    in_order = final_finding(detector(), events)
    reversed_ = final_finding(detector(), [events[0], *events[:0:-1]])
    assert in_order is not None
    assert reversed_ == in_order


@pytest.mark.parametrize("seed", range(6))
def test_any_arrival_order_ends_with_the_same_finding(seed: int) -> None:
    events = _reference()
    shuffled = [events[0], *random.Random(seed).sample(events[1:], len(events) - 1)]
    assert final_finding(detector(), shuffled) == final_finding(detector(), events)


def test_outflows_reported_before_the_inflows_fire_on_the_inflow_completing_the_pattern() -> None:
    inflows = fan_in(5)
    events = [sent("10000.00", 20 * HOUR), *(inflows[n] for n in (1, 3, 4, 2, 0))]
    assert fired_per_event(detector(), events) == [0, 0, 0, 0, 0, 1]


def test_an_event_older_than_what_is_kept_is_dropped_on_arrival() -> None:
    det = detector()
    state, _ = feed(det, [received("ACC-X", at=20 * DAY), sent("10.00", 20 * DAY)])
    after, findings = feed(det, [*fan_in(6), sent("11000.00", 20 * HOUR)], state)
    assert findings == []
    assert [i.sender for i in after.inflows] == ["ACC-X"]
    assert after.inflow_evicted_at == T0 + 5 * HOUR  # remembered as seen, not kept


def test_the_same_event_is_never_counted_twice() -> None:
    det = detector()
    inflow = received("ACC-S1", "5000.00")
    events = [inflow, inflow, inflow, *fan_in(4, start=HOUR, prefix="ACC-T"),
              sent("9100.00", 10 * HOUR)]  # 70 % of 13,000; 40 % of 23,000
    state, findings = feed(det, events)
    assert len(state.inflows) == 5
    assert findings and findings[-1].evidence["inflow_total"] == "13000.00"


# --- bounded state -------------------------------------------------------------------------


def test_state_keeps_only_the_window_plus_pass_through_of_the_newest_event() -> None:
    det = detector()
    events = [e for d in range(200) for e in (received(f"ACC-S{d % 9}", at=d * DAY),
                                                  sent("100.00", d * DAY + HOUR))]
    state, _ = feed(det, events)
    newest = T0 + 199 * DAY + HOUR
    assert len(state.inflows) == 9  # days 191..199
    assert len(state.outflows) == 10  # days 190..199, an hour after the inflows
    assert all(leg.at >= newest - 9 * DAY for leg in (*state.inflows, *state.outflows))


def test_state_keeps_at_most_max_kept_of_each_the_newest() -> None:
    det = detector()
    inflows = fan_in(500, "10.00", every=MINUTE)
    outflows = [sent("1.00", n * MINUTE) for n in range(500)]
    state, _ = feed(det, [e for pair in zip(inflows, outflows, strict=True) for e in pair])
    assert len(state.inflows) == len(state.outflows) == det.params.max_kept == 64
    assert [i.event_id for i in state.inflows] == [e.event_id for e in inflows[-64:]]
    assert state.inflow_evicted_at == inflows[-65].occurred_at
    assert len(state.model_dump_json()) < 32 * 1024


@pytest.mark.parametrize(("max_kept", "fired"), [(8, False), (10, True)],
                         ids=["window-lost-inflows-to-max-kept", "window-complete"])
def test_windows_that_lost_inflows_to_max_kept_are_not_judged(max_kept: int,
                                                              fired: bool) -> None:
    """Ten senders in the window: with room for 8 the window is incomplete, so silent."""
    events = [*fan_in(10), sent("20000.00", 20 * HOUR)]
    assert fires(events, max_kept=max_kept) is fired


@pytest.mark.parametrize(("max_kept", "fired"), [(8, False), (10, True)],
                         ids=["outflows-lost-to-max-kept", "outflows-complete"])
def test_windows_that_lost_outflows_to_max_kept_are_not_judged(max_kept: int,
                                                               fired: bool) -> None:
    """Ten outflows of 1,000 after the inflows; at the last, the 8 newest alone make 80 %."""
    events = [*fan_in(5, every=timedelta(0)), *(sent("1000.00", n * HOUR) for n in range(1, 11))]
    assert bool(last_finding(detector(max_kept=max_kept), events)) is fired


def test_score_does_not_change_the_state_it_is_given() -> None:
    det = detector()
    state, _ = feed(det, _reference()[:5])
    before = state.model_dump_json()
    for event in _reference()[5:]:
        det.score(event, state)
    assert state.model_dump_json() == before


def test_state_json_round_trip_at_any_point_gives_the_same_findings() -> None:
    det = detector()
    events = [*_reference(), *_student(), *fan_in(5, start=9 * DAY, prefix="ACC-U"),
              withdrawn("9500.00", 9 * DAY + 6 * HOUR, country="ES")]
    _, expected = feed(det, events)
    assert expected
    for cut in range(len(events) + 1):
        state, first = feed(det, events[:cut])
        restored = MuleWindow.model_validate(state.model_dump(mode="json"))
        assert restored == state
        assert MuleWindow.model_validate_json(state.model_dump_json()) == state
        _, rest = feed(det, events[cut:], restored)
        assert first + rest == expected


# --- the finding an analyst reads ----------------------------------------------------------


def _brief_example() -> list[Event]:
    """9 senders, 48,500 MAD in 3 days; each inflow sent on 20 h later (the last one in part),
    odd ones to an account in France: 44,135 MAD, 91 %."""
    events: list[Event] = []
    for n in range(9):
        amount, passed = ("8500.00", "4135.00") if n == 8 else ("5000.00", "5000.00")
        events.append(received(f"ACC-S{n}", amount, n * 9 * HOUR))
        events.append(sent(passed, n * 9 * HOUR + 20 * HOUR,
                           to="ACC-FR1" if n % 2 else HERDER, country="FR" if n % 2 else None))
    return sorted(events, key=lambda e: e.occurred_at)


def test_summary_sentence() -> None:
    finding = last_finding(detector(), _brief_example())
    assert finding is not None
    assert finding.summary == (
        "Received 48,500.00 MAD from 9 different senders within 3 days and sent 91 % of it on "
        "within 20 hours to 2 destinations (1 abroad).")


@pytest.mark.parametrize(
    ("extra", "ending"),
    [
        ([opened(-12 * DAY)], ", into an account opened 12 days before."),
        ([sent("50.00", -200 * DAY, to="ACC-SHOP")],
         ", into an account quiet (no transfers or withdrawals) for 90 days."),
        ([received("ACC-EMPLOYER", "9000.00", -20 * DAY)], " to 1 destination."),
    ],
    ids=["new", "quiet", "mature-and-active"],
)
def test_summary_says_whether_the_account_was_new_or_quiet(extra: list[Event],
                                                           ending: str) -> None:
    finding = last_finding(detector(), [*extra, *mule()])
    assert finding is not None
    assert finding.summary.startswith(
        "Received 12,000.00 MAD from 6 different senders within 5 hours and sent 91 % of it on "
        "within 20 hours")  # 91.7 %: never rounded up past what was sent
    assert finding.summary.endswith(ending)
    assert ". " not in finding.summary  # one sentence


@pytest.mark.parametrize(
    ("lag", "words"),
    [(40 * MINUTE, "40 minutes"), (HOUR - SECOND, "60 minutes"), (HOUR, "1 hour"),
     (20 * HOUR + 30 * MINUTE, "21 hours"), (48 * HOUR, "48 hours")],
    ids=["minutes", "just-under-an-hour", "one-hour", "rounded-up", "the-limit"],
)
def test_summary_gives_an_upper_bound_on_the_time_to_pass_through(lag: timedelta,
                                                                 words: str) -> None:
    finding = last_finding(detector(), [*fan_in(5, every=timedelta(0)), sent("10000.00", lag)])
    assert finding is not None
    assert f"within {words} to 1 destination." in finding.summary


def test_summary_mentions_cash_and_short_lags_in_minutes() -> None:
    events = [*fan_in(5, every=timedelta(0)), withdrawn("4000.00", 25 * MINUTE, country="ES"),
              sent("6000.00", 40 * MINUTE)]
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.summary == (
        "Received 10,000.00 MAD from 5 different senders within 1 hour and sent 100 % of it on "
        "within 40 minutes to 2 destinations (1 abroad, 4,000.00 MAD withdrawn in cash).")


def test_evidence_holds_the_figures_the_thresholds_and_the_event_ids() -> None:
    events = _reference()
    finding = last_finding(detector(), events)
    assert finding is not None
    inflows, outflows = events[1:8], events[8:]
    assert finding.event_ids == tuple(e.event_id for e in (*inflows, *outflows))
    assert finding.window_start == T0
    assert finding.window_end == T0 + 30 * HOUR
    ev = finding.evidence
    assert (ev["senders"], ev["inflow_count"], ev["inflow_total"]) == (7, 7, "21000.00")
    assert (ev["outflow_total"], ev["outflow_share"]) == ("19000.00", 0.9048)
    assert ev["destinations"] == [
        {"to": HERDER, "kind": "account", "amount": "13000.00", "abroad": True},
        {"to": "cash", "kind": "cash", "amount": "6000.00", "abroad": False},
    ]
    assert (ev["other_destinations"], ev["passed_elsewhere"]) == (0, "0")
    assert (ev["abroad_count"], ev["abroad_amount"], ev["cash_amount"]) == (1, "9000.00",
                                                                            "6000.00")
    assert (ev["account_age_days"], ev["new_account"], ev["quiet_before"]) == (20.0, True, False)
    assert (ev["min_distinct_senders"], ev["min_inflow"], ev["min_outflow_share"]) == (
        5, "10000.00", 0.7)
    assert (ev["max_destinations"], ev["window_days"], ev["pass_through_hours"]) == (3, 7, 48)
    assert ev["first_inflow_at"] == T0.isoformat()
    assert ev["last_outflow_at"] == (T0 + 30 * HOUR).isoformat()
    assert (ev["median_hours"], ev["max_hours"]) == (12.0, 15.0)
    json.dumps(ev)


def test_related_accounts_are_the_senders_and_destinations_not_names_or_cash() -> None:
    events = [*fan_in(4), received("", at=4 * HOUR, counterparty={"name": "Cash Courier"}),
              sent("5000.00", 10 * HOUR, to="ACC-D1"), withdrawn("3000.00", 11 * HOUR),
              make_txn(kind="transfer", direction="out", account_id=MULE, amount=Decimal(2000),
                       occurred_at=T0 + 12 * HOUR, counterparty={"name": "Western Shop"})]
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.related_accounts == ("ACC-D1", "ACC-S0", "ACC-S1", "ACC-S2", "ACC-S3")
    assert [d["kind"] for d in finding.evidence["destinations"]] == ["account", "cash", "name"]


# --- score ---------------------------------------------------------------------------------


def _minimal() -> list[Event]:
    """Just met: 5 senders, exactly 70 %, sent at the 48 h limit, unknown account, domestic."""
    return [*fan_in(5, every=timedelta(0)), sent("7000.00", 48 * HOUR)]


def _maximal() -> list[Event]:
    """10 senders, all of it, at once, abroad, from an account opened a week before."""
    return [opened(-7 * DAY), *fan_in(10, every=timedelta(0)),
            sent("20000.00", timedelta(0), country="TR")]


def _middling() -> list[Event]:
    """7 senders (0.4), 85 % (0.5), after 24 h (0.5), quiet (0.5), half in cash (0.5)."""
    return [sent("50.00", -100 * DAY, to="ACC-SHOP"), *fan_in(7, every=timedelta(0)),
            withdrawn("5950.00", 24 * HOUR), sent("5950.00", 24 * HOUR)]


@pytest.mark.parametrize(
    ("events", "score"),
    [(_minimal(), 0.5), (_maximal(), 1.0), (_middling(), 0.74)],
    ids=["rule-just-met", "every-aggravating-factor", "halfway"],
)
def test_score_formula(events: list[Event], score: float) -> None:
    finding = last_finding(detector(), events)
    assert finding is not None
    assert finding.score == pytest.approx(score, abs=1e-4)


def test_score_grows_with_senders_up_to_five_extra() -> None:
    scores = []
    for senders in range(5, 13):
        finding = last_finding(detector(), [*fan_in(senders, every=timedelta(0)),
                                            sent(str(2000 * senders), 24 * HOUR)])
        assert finding is not None
        scores.append(finding.score)
    assert scores[:6] == sorted(set(scores[:6]))  # strictly increasing from 5 to 10 senders
    assert scores[5] == scores[6] == scores[7]


def test_scores_stay_in_the_unit_interval_on_random_streams() -> None:
    rng = random.Random(5)
    det = detector()
    state, count = det.State(), 0
    for n in range(1500):
        at = timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        amount = str(rng.randrange(100, 900_000) / 100)
        roll = rng.random()
        if roll < 0.5:
            event = received(f"ACC-S{rng.randrange(12)}", amount, at)
        elif roll < 0.85:
            event = sent(amount, at, to=f"ACC-D{rng.randrange(4)}",
                         country=rng.choice([None, "FR"]))
        else:
            event = withdrawn(amount, at)
        state, found = det.score(event, state)
        count += len(found)
        assert all(0.0 <= f.score <= 1.0 for f in found)
        assert len(state.inflows) <= 64 and len(state.outflows) <= 64, n
    assert count > 0
