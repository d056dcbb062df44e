"""Trafficking-indicators behaviour tables: the rule card of `detectors/trafficking_indicators.py`.

Each flag's threshold edge is tested through the public `score`: the events under test are
added to a *base* of other flags that is one flag (or one strong flag) short of an alert, so
the alert fires exactly when the flag under test is up. Times are local (Africa/Casablanca,
UTC+1 in November) unless a test says otherwise.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from detectors import Detector, Jurisdiction
from detectors.country_risk import CountryRisk
from detectors.merchant_groups import MerchantGroups
from detectors.trafficking_indicators import (
    CODE,
    RedFlag,
    TraffickingIndicators,
    TraffickingIndicatorsParams,
    TraffickingWindow,
)
from models import Finding, Transaction, Typology
from tests.factories import feed, make_account_event, make_txn

CASA = ZoneInfo("Africa/Casablanca")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

#: Midnight local time on Monday 2 November 2026 (23:00 UTC the day before).
DAY0 = datetime(2026, 11, 2, tzinfo=CASA)


def detector(profile: Jurisdiction | None = None, **params: object) -> TraffickingIndicators:
    return TraffickingIndicators(TraffickingIndicatorsParams.model_validate(params),
                                 profile or Jurisdiction(), MerchantGroups.default(),
                                 CountryRisk.default())


def local(day: float, hour: int = 12, minute: int = 0) -> datetime:
    """`day` days after DAY0 at hh:mm local time."""
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def pay(day: float, mcc: str, *, hour: int = 12, minute: int = 0, merchant: str | None = None,
        amount: str = "300.00", currency: str = "MAD", city: str | None = None,
        country: str = "MA", **overrides: Any) -> Transaction:
    """An approved card payment at a merchant with `mcc`, at local day/hour."""
    fields: dict[str, Any] = {
        "kind": "card_payment",
        "direction": "out",
        "channel": "pos",
        "amount": Decimal(amount),
        "currency": currency,
        "occurred_at": local(day, hour, minute),
        "merchant": {"merchant_id": merchant or f"M-{mcc}", "name": f"Merchant {mcc}",
                     "mcc": mcc, "country": country},
    }
    if city is not None:
        fields["location"] = {"city": city, "country": country}
    return make_txn(**(fields | overrides))


def wire(day: float, amount: str = "5000.00", country: str | None = "SY", *,
         account: str | None = "ACC-ABROAD", currency: str = "MAD", hour: int = 12,
         **overrides: Any) -> Transaction:
    counterparty = {"account_id": account, "name": "Beneficiary", "country": country}
    fields: dict[str, Any] = {
        "kind": "transfer",
        "direction": "out",
        "channel": "online",
        "amount": Decimal(amount),
        "currency": currency,
        "occurred_at": local(day, hour),
        "counterparty": {k: v for k, v in counterparty.items() if v is not None},
    }
    return make_txn(**(fields | overrides))


def withdrawal(day: float, *, hour: int = 12, minute: int = 0, **overrides: Any) -> Transaction:
    return make_txn(kind="cash_withdrawal", direction="out", channel="atm",
                    amount=Decimal("400.00"), occurred_at=local(day, hour, minute), **overrides)


# --- building blocks: one flag each (defaults exactly at the threshold) ----------------------


def escort(day: float = 1, **kw: Any) -> list[Transaction]:
    return [pay(day, "7273", merchant="M-ESCORT", amount="200.00", **kw)]


def ads(n: int = 2, start: float = 1, **kw: Any) -> list[Transaction]:
    return [pay(start + i, "7311", merchant="M-ADS", amount="80.00", **kw) for i in range(n)]


def hotels(cities: Sequence[str] = ("Tangier", "Fes", "Agadir"), start: float = 2,
           **kw: Any) -> list[Transaction]:
    return [pay(start + i, "7011", merchant=f"M-HOTEL-{i}", city=city, amount="650.00", **kw)
            for i, city in enumerate(cities)]


def trips(n: int = 4, start: float = 3, mcc: str = "4112", **kw: Any) -> list[Transaction]:
    """One rail ticket a day: transport, never a group purchase."""
    return [pay(start + i, mcc, merchant="M-RAIL", amount="180.00", **kw) for i in range(n)]


def topups(n: int = 3, start: float = 4, **kw: Any) -> list[Transaction]:
    return [pay(start + i, "4814", merchant="M-TELCO", amount="50.00", **kw) for i in range(n)]


def nights(n: int, start: float = 5, hour: int = 23, **kw: Any) -> list[Transaction]:
    return [pay(start + i, "5411", hour=hour, merchant="M-SHOP", amount="90.00", **kw)
            for i in range(n)]


def night_burst(n: int, start: float = 5, **kw: Any) -> list[Transaction]:
    """`n` night payments, six a night from 22:00 to 02:10 local."""
    return [pay(0, "5411", merchant="M-NIGHTSHOP", amount="60.00",
                occurred_at=local(start + i // 6, 22) + (i % 6) * 50 * MINUTE, **kw)
            for i in range(n)]


def daytime(n: int, start: float = 5, **kw: Any) -> list[Transaction]:
    return [pay(start + i, "5411", hour=11, merchant="M-SHOP", amount="90.00", **kw)
            for i in range(n)]


def tickets(day: float, n: int = 3, *, merchant: str = "M-CTM", mcc: str = "4131",
            amounts: Sequence[str] = ("120.00",), **kw: Any) -> list[Transaction]:
    """`n` tickets bought at one merchant within minutes on one day."""
    return [pay(day, mcc, merchant=merchant, minute=i, amount=amounts[i % len(amounts)], **kw)
            for i in range(n)]


def rooms(day: float, n: int = 2, *, merchant: str = "M-RIAD", city: str = "Marrakech",
          amounts: Sequence[str] = ("600.00",), **kw: Any) -> list[Transaction]:
    return [pay(day, "7011", merchant=merchant, city=city, minute=i,
                amount=amounts[i % len(amounts)], **kw) for i in range(n)]


def in_order(events: list[Transaction]) -> list[Transaction]:
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def run(events: list[Transaction], det: TraffickingIndicators | None = None,
        ) -> tuple[TraffickingWindow, list[Finding]]:
    return feed(det or detector(), in_order(events))


def fires(events: list[Transaction], det: TraffickingIndicators | None = None) -> bool:
    return bool(run(events, det)[1])


def last_finding(events: list[Transaction], det: TraffickingIndicators | None = None) -> Finding:
    _, findings = run(events, det)
    assert findings, "expected a finding"
    return findings[-1]


def flags_of(finding: Finding) -> set[str]:
    return set(finding.evidence["flags"])


# --- the protocol -------------------------------------------------------------------------


def test_is_a_detector_of_the_trafficking_typology() -> None:
    det = detector()
    assert isinstance(det, Detector)
    assert det.name == "trafficking_indicators"
    assert det.version == "1"
    assert det.typology is Typology.TRAFFICKING_INDICATORS
    assert det.State is TraffickingWindow


def test_constructor_only_stores_its_arguments() -> None:
    params, profile = TraffickingIndicatorsParams(), Jurisdiction()
    groups, risk = MerchantGroups.default(), CountryRisk.default()
    det = TraffickingIndicators(params, profile, groups, risk)
    assert det.params is params and det.profile is profile
    assert det.merchant_groups is groups and det.country_risk is risk


def test_defaults_are_the_rule_card_defaults() -> None:
    p = TraffickingIndicatorsParams()
    assert p.window == timedelta(days=28)
    assert (p.min_flags, p.min_strong) == (3, 1)
    assert p.strong_flags == {RedFlag.ADULT_ADS, RedFlag.HIGH_RISK_WIRE, RedFlag.PAYS_FOR_MANY}
    assert p.score_bands == (0.6, 0.75, 0.85, 0.9, 0.95)
    assert (p.adult_services_min, p.classified_ads_min) == (1, 2)
    assert (p.min_cities, p.transport_min, p.topups_min) == (3, 4, 3)
    assert (p.night_min_payments, p.night_min_share) == (5, 0.5)
    assert (p.night_start.hour, p.night_end.hour) == (22, 5)
    assert p.round_multiple == Decimal("500")
    assert p.wire_risks == {"call_for_action", "increased_monitoring", "conflict"}
    assert (p.group_tickets_min, p.group_rooms_min, p.group_min_days) == (3, 2, 2)
    assert p.group_amount_ratio == 0.6
    assert p.group_excluded_mccs == {"4111", "4121"}
    assert (p.max_kept, p.max_kept_payments) == (12, 32)
    assert Jurisdiction().timezone == "Africa/Casablanca"


# --- what is looked at (accepts) -----------------------------------------------------------


ACCEPTS: dict[str, tuple[Any, bool]] = {
    "card-payment-any-mcc": (pay(0, "5411"), True),
    "card-payment-escort": (escort()[0], True),
    "card-payment-foreign-currency": (pay(0, "7011", currency="EUR", country="FR"), True),
    "card-payment-unknown-mcc": (pay(0, "9999"), True),
    "cash-withdrawal": (withdrawal(0), True),
    "declined-card-payment": (pay(0, "7273", status="declined"), False),
    "declined-withdrawal": (withdrawal(0, status="declined"), False),
    "card-refund-direction-in": (pay(0, "7273", direction="in"), False),
    "round-wire-to-listed-country": (wire(0), True),
    "wire-not-round": (wire(0, "5000.01"), False),
    "wire-to-unlisted-country": (wire(0, country="FR"), False),
    "wire-without-country": (wire(0, country=None), False),
    "wire-in-foreign-currency": (wire(0, currency="EUR"), False),
    "wire-inbound": (wire(0, direction="in"), False),
    "declined-wire": (wire(0, status="declined"), False),
    "cash-deposit": (make_txn(kind="cash_deposit", amount=Decimal("5000")), False),
    "account-event": (make_account_event(kind="login"), False),
}


@pytest.mark.parametrize(("event", "accepted"), list(ACCEPTS.values()), ids=list(ACCEPTS))
def test_accepts_approved_payments_withdrawals_and_risky_round_wires(event: Any,
                                                                     accepted: bool) -> None:
    assert detector().accepts(event) is accepted


# --- adult_ads (strong); base: hotels in 3 cities + 4 trips, two weak flags ------------------


def adult_base() -> list[Transaction]:
    return hotels() + trips()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], False),
        (escort(), True),
        ([pay(1, "5967", merchant="M-ADULT-LINE", amount="99.00")], True),
        (ads(1), False),
        (ads(2), True),
        (ads(3), True),
        (escort(status="declined"), False),
        (escort(direction="in"), False),
        (ads(1) + ads(1, start=2, status="declined"), False),
        (escort(currency="EUR", country="ES"), True),
    ],
    ids=["no-adult-payment", "one-escort-payment", "one-adult-teleservice-5967",
         "one-classified-ad-below-two", "two-classified-ads", "three-classified-ads",
         "declined-escort-payment", "escort-refund", "second-ad-declined",
         "escort-abroad-in-euros"],
)
def test_adult_ads_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(adult_base() + events) is expected
    if expected:
        assert RedFlag.ADULT_ADS in flags_of(last_finding(adult_base() + events))


def test_the_same_ad_payment_redelivered_counts_once() -> None:
    one = ads(1)[0]
    assert not fires(adult_base() + [one, one])


# --- high_risk_wire (strong); base: hotels + trips -------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (wire(8, "5000.00", "SY"), True),
        (wire(8, "500.00", "IR"), True),
        (wire(8, "500", "KP"), True),
        (wire(8, "5500.00", "NG"), True),
        (wire(8, "10000.00", "SD"), True),
        (wire(8, "4999.99", "SY"), False),
        (wire(8, "5250.00", "SY"), False),
        (wire(8, "250.00", "SY"), False),
        (wire(8, "5000.00", "SN"), False),
        (wire(8, "5000.00", "FR"), False),
        (wire(8, "5000.00", "MA"), False),
        (wire(8, "5000.00", None), False),
        (wire(8, "5000.00", "SY", currency="EUR"), False),
        (wire(8, "5000.00", "SY", direction="in"), False),
        (wire(8, "5000.00", "SY", status="declined"), False),
    ],
    ids=["round-5000-to-syria-increased-monitoring", "exactly-500-to-iran-call-for-action",
         "500-to-north-korea", "5500-to-nigeria", "10000-to-sudan-conflict-only",
         "one-centime-under-round", "5250-not-a-multiple-of-500", "250-below-the-multiple",
         "senegal-removed-from-fatf-list", "france-unlisted", "domestic", "no-country",
         "euros-not-the-jurisdiction-currency", "inbound-transfer", "declined"],
)
def test_high_risk_wire_edge(event: Transaction, expected: bool) -> None:
    finding_events = adult_base() + [event]
    assert fires(finding_events) is expected
    if expected:
        finding = last_finding(finding_events)
        assert RedFlag.HIGH_RISK_WIRE in flags_of(finding)
        assert finding.related_accounts == ("ACC-ABROAD",)


def test_high_risk_wire_reports_the_most_severe_list() -> None:
    finding = last_finding([wire(0, country="MM"), wire(1, country="ML")] + adult_base())
    ev = finding.evidence["flags"]["high_risk_wire"]
    assert ev["risks"] == {"MM": "call_for_action", "ML": "increased_monitoring"}
    assert ev["count"] == 2 and ev["total"] == "10000.00"
    assert ("2 round transfers totalling 10,000.00 MAD to Myanmar (FATF call for action) and "
            "Mali (FATF increased monitoring)") in finding.summary


@pytest.mark.parametrize(
    ("params", "event", "expected"),
    [
        ({"round_multiple": "1000"}, wire(8, "5500.00"), False),
        ({"round_multiple": "1000"}, wire(8, "6000.00"), True),
        ({"round_multiple": "100"}, wire(8, "5300.00"), True),
        ({"wire_risks": ["call_for_action"]}, wire(8, country="SY"), False),
        ({"wire_risks": ["call_for_action"]}, wire(8, country="IR"), True),
        ({"wire_risks": ["conflict"]}, wire(8, country="SD"), True),
    ],
    ids=["multiple-1000-rejects-5500", "multiple-1000-takes-6000", "multiple-100-takes-5300",
         "call-for-action-only-rejects-syria", "call-for-action-only-takes-iran",
         "conflict-only-takes-sudan"],
)
def test_high_risk_wire_params(params: dict[str, Any], event: Transaction,
                               expected: bool) -> None:
    assert fires(adult_base() + [event], detector(**params)) is expected


def test_high_risk_wire_follows_the_jurisdiction_currency_and_country() -> None:
    euro = Jurisdiction(country="FR", currency="EUR", timezone="Europe/Paris")
    det = detector(euro)
    assert fires(adult_base() + [wire(8, "1500.00", "SY", currency="EUR")], det)
    assert not fires(adult_base() + [wire(8, "1500.00", "SY")], det)  # MAD is foreign here


# --- pays_for_many (strong); base: 3 top-ups + hotels in 3 cities, two weak flags ------------


def many_base() -> list[Transaction]:
    return topups(start=15) + hotels(start=16)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (tickets(1), False),
        (tickets(1) + tickets(3), True),
        (tickets(1, 2) + tickets(3, 2), False),
        (tickets(1) + tickets(3, merchant="M-SUPRATOURS"), True),
        (tickets(1) + tickets(1, merchant="M-OTHER"), False),
        (tickets(1, 6), False),
        ([pay(1, "4131", merchant=m, minute=i) for i, m in enumerate(("B1", "B2", "B3"))]
         + [pay(3, "4131", merchant=m, minute=i) for i, m in enumerate(("B1", "B2", "B3"))],
         False),
        (tickets(1, mcc="4511", merchant="M-RAM") + tickets(9, mcc="3008", merchant="M-RAM"),
         True),
        (tickets(1, mcc="4121", merchant="M-TAXI") + tickets(3, mcc="4121", merchant="M-TAXI"),
         False),
        (tickets(1, mcc="4111", merchant="M-TRAM") + tickets(3, mcc="4111", merchant="M-TRAM"),
         False),
        (tickets(1, amounts=("120.00", "120.00", "50.00"))
         + tickets(3, amounts=("120.00", "120.00", "50.00")), False),
        (tickets(1, amounts=("100.00", "100.00", "60.00"))
         + tickets(3, amounts=("100.00", "100.00", "60.00")), True),
        (tickets(1, amounts=("100.00", "100.00", "59.99"))
         + tickets(3, amounts=("100.00", "100.00", "59.99")), False),
        (tickets(1, currency="EUR", amounts=("25.00",))
         + tickets(3, currency="EUR", amounts=("25.00",)), True),
        (tickets(1, 2) + [pay(1, "4131", merchant="M-CTM", minute=9, amount="12.00",
                              currency="EUR")] + tickets(3), False),
        (tickets(1)[:2] + [pay(1, "4131", merchant="M-CTM", minute=5, amount="120.00",
                               status="declined")] + tickets(3), False),
        (rooms(8) + rooms(11, merchant="M-HOTEL-CASA", city="Casablanca"), True),
        (rooms(8), False),
        (rooms(8, 1) + rooms(11, 1, merchant="M-HOTEL-CASA", city="Casablanca"), False),
        (rooms(8, amounts=("650.00", "120.00"))
         + rooms(11, amounts=("650.00", "120.00"), merchant="M-HOTEL-CASA",
                 city="Casablanca"), False),
        (tickets(1) + rooms(8), False),
    ],
    ids=["one-group-day-is-a-family-holiday", "group-tickets-on-two-days",
         "two-tickets-a-day-below-three", "two-days-at-two-bus-companies",
         "one-day-at-two-merchants-is-one-day", "six-tickets-one-day",
         "three-merchants-a-day-no-group", "airline-and-airline-range-3008",
         "taxis-never-a-group", "commuter-transit-never-a-group",
         "dissimilar-amounts-below-ratio", "amounts-exactly-at-ratio",
         "amounts-just-below-ratio", "foreign-currency-tickets-count",
         "currencies-are-not-compared", "declined-ticket-does-not-count",
         "two-rooms-on-two-days", "two-rooms-once", "one-room-a-day",
         "room-and-bar-charge-dissimilar", "tickets-once-and-rooms-once"],
)
def test_pays_for_many_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(many_base() + events) is expected
    if expected:
        assert RedFlag.PAYS_FOR_MANY in flags_of(last_finding(many_base() + events))


def test_pays_for_many_days_are_local_calendar_days() -> None:
    """00:30 local on day 2 is 23:30 UTC on day 1: the six tickets are one local day."""
    late = [pay(2, "4131", merchant="M-CTM", hour=0, minute=30 + i, amount="120.00")
            for i in range(3)]
    same_local_day = tickets(2) + late
    assert len({e.occurred_at.date() for e in same_local_day}) == 2  # two UTC days
    assert not fires(many_base() + same_local_day)
    utc = Jurisdiction(timezone="UTC")
    assert fires(many_base() + same_local_day, detector(utc))


@pytest.mark.parametrize(
    ("params", "events", "expected"),
    [
        ({"group_min_days": 1}, tickets(1), True),
        ({"group_tickets_min": 4}, tickets(1) + tickets(3), False),
        ({"group_tickets_min": 4}, tickets(1, 4) + tickets(3, 4), True),
        ({"group_amount_ratio": 0.0}, tickets(1, amounts=("120.00", "10.00", "120.00"))
         + tickets(3, amounts=("120.00", "10.00", "120.00")), True),
        ({"group_excluded_mccs": []}, tickets(1, mcc="4121") + tickets(3, mcc="4121"), True),
    ],
    ids=["one-day-enough", "four-tickets-needed-three-given", "four-tickets-needed-given",
         "any-amounts", "taxis-allowed"],
)
def test_pays_for_many_params(params: dict[str, Any], events: list[Transaction],
                              expected: bool) -> None:
    assert fires(many_base() + events, detector(**params)) is expected


# --- hotels_multi_city (weak); base: escort + 4 trips ---------------------------------------


def hotel_base() -> list[Transaction]:
    return escort() + trips()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (hotels(("Tangier", "Fes")), False),
        (hotels(("Tangier", "Fes", "Agadir")), True),
        (hotels(("Tangier", "Tangier", "Tangier")), False),
        (hotels(("Fès", "fes", " FES ")), False),
        (hotels(("Rabat", "Casablanca")) + hotels(("Paris",), start=5, country="FR",
                                                   currency="EUR"), True),
        (hotels(("Rabat", "Casablanca")) + [pay(6, "7011", merchant="M-H", country="MA")],
         False),
        (hotels(("Rabat", "Casablanca")) + [pay(6, "7011", merchant="M-H", country="ES")],
         True),
        (hotels(("Rabat", "Casablanca")) + hotels(("Marrakech",), start=6, status="declined"),
         False),
        (hotels(("Rabat", "Casablanca")) + [pay(6, "3600", merchant="M-CHAIN",
                                                city="Marrakech")], True),
        (hotels(("Rabat", "Casablanca")) + [pay(6, "5812", merchant="M-RESTO",
                                                city="Marrakech")], False),
        (hotels(("Rabat", "Casablanca")) + [pay(6, "7011", merchant="M-H",
                                                country="ES", city="Rabat")], True),
    ],
    ids=["two-cities", "three-cities", "one-city-three-times", "one-city-spelt-three-ways",
         "two-cities-and-paris", "city-unknown-in-a-country-with-known-cities",
         "city-unknown-in-another-country", "third-city-declined", "hotel-chain-range-3600",
         "restaurant-not-lodging", "same-city-name-other-country"],
)
def test_hotels_multi_city_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(hotel_base() + events) is expected
    if expected:
        assert RedFlag.HOTELS_MULTI_CITY in flags_of(last_finding(hotel_base() + events))


# --- transport (weak); base: escort + hotels ------------------------------------------------


def transport_base() -> list[Transaction]:
    return escort() + hotels()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (trips(3), False),
        (trips(4), True),
        (trips(2) + trips(1, start=6, mcc="4511") + trips(1, start=7, mcc="3100"), True),
        (trips(2) + trips(1, start=6, mcc="4121") + trips(1, start=7, mcc="4722"), True),
        (trips(3) + trips(1, start=7, status="declined"), False),
        (trips(3) + trips(1, start=7, currency="EUR", country="ES"), True),
        (trips(3) + trips(1, start=7, mcc="7512"), False),
    ],
    ids=["three-purchases", "four-purchases", "rail-airline-and-range-3100",
         "taxi-and-travel-agency-count", "fourth-declined", "fourth-in-euros-abroad",
         "car-rental-is-not-transport"],
)
def test_transport_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(transport_base() + events) is expected


# --- prepaid_topups (weak); base: escort + hotels -------------------------------------------


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (topups(2), False),
        (topups(3), True),
        (topups(2) + [pay(9, "4812", merchant="M-PHONES", amount="150.00")], True),
        (topups(2) + topups(1, start=9, status="declined"), False),
        (topups(2) + [pay(9, "4816", merchant="M-ISP")], False),
    ],
    ids=["two-top-ups", "three-top-ups", "two-top-ups-and-a-phone-4812",
         "third-declined", "internet-4816-is-not-prepaid-telecom"],
)
def test_prepaid_topups_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(transport_base() + events) is expected


# --- night_activity (weak); base: escort + hotels = 4 daytime payments -----------------------


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (nights(3), False),
        (nights(4), True),
        (nights(4) + daytime(1, start=0), False),
        (nights(5) + daytime(1, start=0), True),
        (nights(3) + [withdrawal(9, hour=2)], True),
        (nights(3) + [withdrawal(9, hour=2, status="declined")], False),
        (nights(3) + nights(1, start=9, hour=22), True),
        (nights(3) + [pay(9, "5411", hour=21, minute=59)], False),
        (nights(3) + [pay(9, "5411", hour=4, minute=59)], True),
        (nights(3) + nights(1, start=9, hour=5), False),
        (nights(4, currency="EUR", country="ES"), True),
    ],
    ids=["three-of-seven-at-night", "four-of-eight-exactly-half", "four-of-nine",
         "five-of-ten", "night-cash-withdrawal-counts", "declined-withdrawal-does-not",
         "at-22-00-is-night", "at-21-59-is-not", "at-04-59-is-night", "at-05-00-is-not",
         "foreign-night-payments-count"],
)
def test_night_activity_edge(events: list[Transaction], expected: bool) -> None:
    assert fires(transport_base() + events) is expected
    if expected:
        assert RedFlag.NIGHT_ACTIVITY in flags_of(last_finding(transport_base() + events))


@pytest.mark.parametrize(("count", "expected"), [(4, False), (5, True)],
                         ids=["four-payments-all-at-night", "five-payments-all-at-night"])
def test_night_activity_needs_five_payments(count: int, expected: bool) -> None:
    det = detector(min_flags=2)  # the wire (strong, not a payment) and the night flag
    assert fires([wire(1)] + nights(count), det) is expected


def test_night_is_the_jurisdictions_local_time() -> None:
    """21:30 UTC is 22:30 in Casablanca (night) but not night in a UTC jurisdiction."""
    at_2130_utc = [pay(5 + i, "5411", hour=22, minute=30) for i in range(4)]
    assert all(e.occurred_at.hour == 21 for e in at_2130_utc)
    assert fires(transport_base() + at_2130_utc)
    assert not fires(transport_base() + at_2130_utc, detector(Jurisdiction(timezone="UTC")))


@pytest.mark.parametrize(
    ("params", "expected"),
    [({}, True), ({"night_min_share": 0.6}, False), ({"night_start": "23:30"}, False),
     ({"night_start": "21:00", "night_end": "23:59"}, True)],
    ids=["defaults", "sixty-percent-needed", "night-from-23-30", "evening-window"],
)
def test_night_params(params: dict[str, Any], expected: bool) -> None:
    assert fires(transport_base() + nights(4), detector(**params)) is expected


# --- combinations --------------------------------------------------------------------------


ALL_SEVEN = {
    RedFlag.ADULT_ADS: escort(1),
    RedFlag.HIGH_RISK_WIRE: [wire(2)],
    RedFlag.PAYS_FOR_MANY: tickets(3) + tickets(5),  # also 6 transport purchases
    RedFlag.HOTELS_MULTI_CITY: hotels(start=7),
    RedFlag.TRANSPORT: trips(4, start=10),
    RedFlag.PREPAID_TOPUPS: topups(start=14),
    RedFlag.NIGHT_ACTIVITY: night_burst(18, start=17),
}


def with_flags(*flags: RedFlag) -> list[Transaction]:
    events: list[Transaction] = []
    for flag in flags:
        events += ALL_SEVEN[flag]
    return events


F = RedFlag


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((F.ADULT_ADS,), None),
        ((F.ADULT_ADS, F.HIGH_RISK_WIRE), None),
        ((F.HOTELS_MULTI_CITY, F.TRANSPORT, F.PREPAID_TOPUPS), None),
        ((F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS, F.NIGHT_ACTIVITY), None),
        ((F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS), 0.6),
        ((F.HIGH_RISK_WIRE, F.PREPAID_TOPUPS, F.NIGHT_ACTIVITY), 0.6),
        ((F.PAYS_FOR_MANY, F.PREPAID_TOPUPS), 0.6),  # pays_for_many brings transport along
        ((F.ADULT_ADS, F.HIGH_RISK_WIRE, F.HOTELS_MULTI_CITY), 0.6),
        ((F.ADULT_ADS, F.HIGH_RISK_WIRE, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS), 0.75),
        ((F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.TRANSPORT, F.PREPAID_TOPUPS,
          F.NIGHT_ACTIVITY), 0.85),
        ((F.ADULT_ADS, F.HIGH_RISK_WIRE, F.HOTELS_MULTI_CITY, F.TRANSPORT, F.PREPAID_TOPUPS,
          F.NIGHT_ACTIVITY), 0.9),
        (tuple(RedFlag), 0.95),
    ],
    ids=["one-strong", "two-strong", "three-weak", "three-other-weak",
         "three-with-adult-ads", "three-with-wire", "pays-for-many-transport-topups",
         "two-strong-one-weak", "four-flags", "five-flags", "six-flags", "all-seven"],
)
def test_combination_edges_and_score_bands(flags: tuple[RedFlag, ...],
                                           expected: float | None) -> None:
    _, findings = run(with_flags(*flags))
    if expected is None:
        assert findings == []
        return
    final = findings[-1]
    assert final.score == expected
    assert final.evidence["flag_count"] == len(flags_of(final))
    assert {F(f) for f in flags_of(final)} >= set(flags)


@pytest.mark.parametrize(
    ("params", "flags", "expected"),
    [
        ({"min_strong": 2}, (F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS), False),
        ({"min_strong": 2}, (F.ADULT_ADS, F.HIGH_RISK_WIRE, F.PREPAID_TOPUPS), True),
        ({"min_flags": 4}, (F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS), False),
        ({"min_strong": 0}, (F.HOTELS_MULTI_CITY, F.TRANSPORT, F.PREPAID_TOPUPS), True),
        ({"strong_flags": ["night_activity"]},
         (F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS, F.NIGHT_ACTIVITY), True),
        ({"strong_flags": ["night_activity"]},
         (F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS), False),
    ],
    ids=["two-strong-needed-one-given", "two-strong-needed-given", "four-flags-needed",
         "no-strong-needed", "night-made-strong", "adult-ads-made-weak"],
)
def test_combination_params(params: dict[str, Any], flags: tuple[RedFlag, ...],
                            expected: bool) -> None:
    assert fires(with_flags(*flags), detector(**params)) is expected


def test_score_bands_are_configurable_and_the_last_band_holds() -> None:
    det = detector(score_bands=[0.5, 0.7])
    scores = [last_finding(with_flags(*flags), det).score
              for flags in [(F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS),
                            (F.ADULT_ADS, F.HOTELS_MULTI_CITY, F.PREPAID_TOPUPS, F.TRANSPORT),
                            tuple(RedFlag)]]
    assert scores == [0.5, 0.7, 0.7]


# --- when it fires ------------------------------------------------------------------------


def test_fires_when_the_set_first_qualifies_and_again_only_when_a_flag_is_added() -> None:
    events = escort(1) + hotels(start=2) + trips(4, start=5) + daytime(3, start=9) + topups(
        start=12) + daytime(2, start=15) + [wire(17)]
    det = detector()
    state = det.State()
    fired: list[tuple[str, list[str]]] = []
    for event in in_order(events):
        state, found = det.score(event, state)
        fired.extend((event.event_id, f.evidence["new_flags"]) for f in found)
    trip_4, topup_3, the_wire = events[7].event_id, events[13].event_id, events[-1].event_id
    assert fired == [
        (trip_4, ["adult_ads", "hotels_multi_city", "transport"]),
        (topup_3, ["prepaid_topups"]),
        (the_wire, ["high_risk_wire"]),
    ]
    assert state.reported == (F.ADULT_ADS, F.HIGH_RISK_WIRE, F.HOTELS_MULTI_CITY, F.TRANSPORT,
                              F.PREPAID_TOPUPS)


def test_a_flag_that_leaves_the_window_and_returns_is_reported_again() -> None:
    first = escort(0) + hotels(start=10) + trips(4, start=13)
    again = escort(30)  # the first escort payment (day 0) left the 28-day window on day 29
    det = detector()
    state, findings = feed(det, in_order(first))
    assert len(findings) == 1
    state, findings = feed(det, daytime(1, start=29), state)
    assert findings == [] and F.ADULT_ADS not in state.reported
    state, findings = feed(det, again, state)
    assert [f.evidence["new_flags"] for f in findings] == [["adult_ads"]]


def test_late_event_inside_the_window_completes_the_set() -> None:
    events = in_order(escort(1) + hotels(start=2) + trips(4, start=5))
    late = events.pop(0)  # the escort payment is reported last
    det = detector()
    state, findings = feed(det, events)
    assert findings == []
    state, findings = feed(det, [late], state)
    assert len(findings) == 1
    assert findings[0].window_start == late.occurred_at
    assert state.adult[0].event_id == late.event_id


# --- hard negatives ------------------------------------------------------------------------


def _business_traveller() -> list[Transaction]:
    events: list[Transaction] = []
    for trip, (start, cities) in enumerate([(0, ("Paris", "Lyon")), (9, ("Madrid",)),
                                            (18, ("Tangier", "Fes"))]):
        country = {"Paris": "FR", "Lyon": "FR", "Madrid": "ES"}.get(cities[0], "MA")
        currency = {"FR": "EUR", "ES": "EUR"}.get(country, "MAD")
        events.append(pay(start, "4511", merchant=f"M-AIR-{trip}", amount="2400.00"))
        for i, city in enumerate(cities):
            events.append(pay(start + 1 + 2 * i, "7011", merchant=f"M-H-{city}", city=city,
                              country=country, currency=currency, amount="180.00"))
            events.append(pay(start + 1 + 2 * i, "4112", merchant="M-RAIL-" + country,
                              country=country, currency=currency, amount="60.00", hour=9))
            events.append(pay(start + 1 + 2 * i, "5812", merchant=f"M-DINNER-{city}",
                              country=country, currency=currency, hour=22, minute=15))
            events += daytime(2, start=start + 1 + 2 * i, country=country, currency=currency)
        events.append(withdrawal(start + 2, hour=19))
        events.append(pay(start + 4, "4121", merchant="M-TAXI", hour=23, minute=40))
    return events


def _multi_leg_traveller() -> list[Transaction]:
    """Books outbound, connection and return on three airlines the same day, twice."""
    events: list[Transaction] = []
    for start in (0, 14):
        events += [pay(start, "4511", merchant=f"M-AIR-{i}", minute=i, amount=amount)
                   for i, amount in enumerate(("1800.00", "900.00", "1750.00"))]
        events += hotels(("Dakar", "Abidjan", "Accra"), start=start + 2, country="SN")
        events += [pay(start + 2, "7011", merchant="M-HOTEL-0", city="Dakar", country="SN",
                       amount="95.00", hour=21)]  # the bar bill at checkout
    return events


def _night_shift_worker() -> list[Transaction]:
    events: list[Transaction] = []
    for d in range(20):
        events.append(pay(d, "4121", merchant="M-TAXI", hour=21, minute=30, amount="45.00"))
        events.append(pay(d, "5411", merchant="M-NIGHTSHOP", hour=2, minute=10,
                          amount="35.00"))
        events.append(pay(d + 1, "4121", merchant="M-TAXI", hour=6, minute=20,
                          amount="45.00"))
        events.append(pay(d + 1, "4121", merchant="M-TAXI", hour=6, minute=50,
                          amount="40.00"))
        events += [pay(d, "4111", merchant="M-TRAM", hour=22, minute=40 + i, amount="6.00")
                   for i in range(3)]
    events += [withdrawal(d, hour=3) for d in range(0, 20, 4)]
    return events


def _family_holiday(train: bool = False) -> list[Transaction]:
    """Four plane tickets bought at once, a rented car, taxis, three hotels, late dinners."""
    events = [pay(0, "4511", merchant="M-RAM", minute=i, amount="2600.00") for i in range(4)]
    events += [pay(20, "7011", merchant="M-H-Marrakech", city="Marrakech", amount="1400.00"),
               pay(22, "7011", merchant="M-H-Essaouira", city="Essaouira", amount="1100.00"),
               pay(24, "7011", merchant="M-H-Agadir", city="Agadir", amount="1300.00")]
    events += [pay(20, "7512", merchant="M-CARS", amount="2100.00")]
    events += [pay(23, "4121", merchant="M-TAXI", minute=i * 30, amount="60.00")
               for i in range(3)]
    events += [pay(d, "5812", merchant="M-RESTO", hour=22, amount="400.00")
               for d in range(20, 25)]
    events += daytime(6, start=20)
    if train:  # and, one day, four train tickets at once: a second group-purchase day
        events += [pay(21, "4112", merchant="M-ONCF", minute=i, amount="110.00")
                   for i in range(4)]
    return events


def _phone_and_bus() -> list[Transaction]:
    return topups(3, start=1) + [pay(d, "4131", merchant="M-BUS", amount="8.00", hour=8)
                                 for d in range(20)]


def _advertiser() -> list[Transaction]:
    return (ads(2, start=1) + ads(2, start=15) + trips(6, start=3)
            + daytime(15, start=1))


def _remitter() -> list[Transaction]:
    return [wire(1, "2000.00", "SN"), wire(15, "2500.00", "SN"), wire(20, "3000.00", "SY")] + (
        daytime(20, start=0) + topups(2, start=3))


def _declined_pattern() -> list[Transaction]:
    no = {"status": "declined"}
    return (escort(1, **no) + ads(2, **no) + hotels(**no) + trips(4, **no) + topups(**no)
            + tickets(8, **no) + tickets(10, **no) + [wire(12, **no)])


def _refunds() -> list[Transaction]:
    back = {"direction": "in"}
    return (escort(1, **back) + ads(3, **back) + tickets(8, **back) + tickets(10, **back)
            + [wire(12, direction="in")] + hotels() + trips(4))


def _spread_over_two_months() -> list[Transaction]:
    return escort(0) + hotels(start=30) + trips(4, start=60)


HARD_NEGATIVES: dict[str, list[Transaction]] = {
    "business-traveller-abroad-and-at-home": _business_traveller(),
    "business-traveller-multi-leg-bookings-and-hotel-bar": _multi_leg_traveller(),
    "night-shift-worker-taxis-and-tram": _night_shift_worker(),
    "family-buys-four-plane-tickets-once": _family_holiday(),
    "three-phone-top-ups-and-the-bus": _phone_and_bus(),
    "small-business-buying-advertising": _advertiser(),
    "remittances-to-senegal-and-one-to-syria": _remitter(),
    "whole-pattern-declined": _declined_pattern(),
    "whole-pattern-refunded": _refunds(),
    "flags-spread-over-two-months": _spread_over_two_months(),
}


@pytest.mark.parametrize("events", list(HARD_NEGATIVES.values()), ids=list(HARD_NEGATIVES))
def test_hard_negatives_do_not_fire(events: list[Transaction]) -> None:
    _, findings = run(events)
    assert findings == []


def test_the_family_and_the_traveller_do_raise_weak_flags_only() -> None:
    """The hard negatives are not vacuous: each holds flags, just no strong one (or too few)."""
    det = detector(min_strong=0, min_flags=2)
    assert fires(_business_traveller(), det)
    assert fires(_family_holiday(), det)
    assert fires(_night_shift_worker(), detector(min_strong=0, min_flags=2))
    # three similar taxi fares a day: only the taxi exclusion keeps it from pays_for_many
    assert fires(_night_shift_worker(), detector(group_excluded_mccs=[]))


# --- positive scenarios --------------------------------------------------------------------


def _trafficker() -> list[Transaction]:
    events = escort(1) + ads(2, start=2)
    events += hotels(("Tangier", "Tetouan", "Nador", "Oujda"), start=3)
    events += tickets(3) + tickets(7, merchant="M-SUPRATOURS", amounts=("95.00",))
    events += rooms(8, merchant="M-HOTEL-2", city="Nador") + topups(3, start=4)
    events += night_burst(24, start=5) + [withdrawal(9, hour=1)]
    events += [wire(10, "10000.00", "NG", account="NG-ACC-7")]
    return events


def test_known_false_positive_a_family_buying_group_tickets_twice() -> None:
    """The rule card's known false positive: the same pattern as the red flag, lowest band."""
    finding = last_finding(_family_holiday(train=True))
    assert flags_of(finding) == {"pays_for_many", "hotels_multi_city", "transport"}
    assert finding.score == 0.6


def test_a_trafficking_pattern_raises_all_its_flags() -> None:
    finding = last_finding(_trafficker())
    assert flags_of(finding) == {f.value for f in RedFlag}
    assert finding.score == 0.95
    assert finding.code == CODE
    assert finding.detector == "trafficking_indicators"
    assert finding.typology is Typology.TRAFFICKING_INDICATORS
    assert finding.related_accounts == ("NG-ACC-7",)


def test_summary_reads_as_one_sentence() -> None:
    events = escort(1) + hotels(start=2) + trips(4, start=5)
    assert last_finding(events).summary == (
        "3 human-trafficking red flags within 7 days: 1 payment to escort or adult services; "
        "hotel charges in 3 cities (Agadir, Fes and Tangier); 4 transport purchases."
    )


def test_summary_names_every_flag_in_words() -> None:
    summary = last_finding(_trafficker()).summary
    assert summary.startswith("7 human-trafficking red flags within 9 days: ")
    for words in ["1 payment to escort or adult services and 2 payments to classified-ad sites",
                  "a round transfer of 10,000.00 MAD to Nigeria (FATF increased monitoring)",
                  "tickets for several people bought at once on 2 days",
                  "hotel charges in 4 cities (Nador, Oujda, Tangier and Tetouan)",
                  "3 prepaid phone payments", "6 transport purchases",
                  "25 of 32 card payments and cash withdrawals between 22:00 and 05:00 local "
                  "time"]:
        assert words in summary
    assert summary.endswith(".") and "\n" not in summary


def test_foreign_hotels_are_named_with_their_country() -> None:
    events = escort(1) + trips(4) + hotels(("Rabat",)) + hotels(
        ("Paris",), start=6, country="FR") + [pay(7, "7011", merchant="M-X", country="ES")]
    assert "hotel charges in 3 places (Paris FR, Rabat and a city in ES)" in last_finding(
        events).summary


def test_evidence_holds_each_flag_its_counts_and_the_window() -> None:
    the_escort, the_hotels, the_trips = escort(1), hotels(start=2), trips(4, start=5)
    noise = daytime(3, start=0)  # ordinary groceries: not evidence
    the_wire = wire(9, account="ACC-SY-1")
    finding = last_finding(noise + the_escort + the_hotels + the_trips + [the_wire])
    evidence_events = the_escort + the_hotels + the_trips + [the_wire]
    assert finding.event_ids == tuple(e.event_id for e in in_order(evidence_events))
    assert finding.window_start == local(1)
    assert finding.window_end == local(9)
    assert finding.related_accounts == ("ACC-SY-1",)
    ev = finding.evidence
    assert list(ev["flags"]) == ["adult_ads", "high_risk_wire", "hotels_multi_city",
                                 "transport"]
    assert ev["flags"]["adult_ads"] == {
        "strength": "strong", "adult_services": 1, "classified_ads": 0,
        "adult_services_min": 1, "classified_ads_min": 2,
        "event_ids": [the_escort[0].event_id]}
    assert ev["flags"]["hotels_multi_city"]["places"] == 3
    assert ev["flags"]["hotels_multi_city"]["strength"] == "weak"
    assert ev["flags"]["transport"]["count"] == 4
    assert ev["flags"]["high_risk_wire"]["risks"] == {"SY": "increased_monitoring"}
    assert (ev["flag_count"], ev["strong_count"]) == (4, 2)
    assert ev["new_flags"] == ["high_risk_wire"]
    assert (ev["min_flags"], ev["min_strong"], ev["window_days"]) == (3, 1, 28)
    assert ev["first_at"] == local(1).astimezone(UTC).isoformat()
    assert ev["timezone"] == "Africa/Casablanca"
    json.dumps(ev)


def test_night_evidence_is_the_night_payments() -> None:
    night = nights(4)
    finding = last_finding(transport_base() + night)
    ev = finding.evidence["flags"]["night_activity"]
    assert ev["event_ids"] == [e.event_id for e in night]
    assert (ev["payments"], ev["at_night"], ev["share"]) == (8, 4, 0.5)


# --- window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_at", "expected"),
    [(local(1) + 28 * DAY - SECOND, True), (local(1) + 28 * DAY, True),
     (local(1) + 28 * DAY + SECOND, False)],
    ids=["just-inside-28-days", "exactly-28-days", "28-days-and-a-second"],
)
def test_window_edge(last_at: datetime, expected: bool) -> None:
    events = escort(1) + hotels(start=8) + trips(3, start=12)
    events.append(pay(0, "4112", merchant="M-RAIL", occurred_at=last_at))
    assert fires(events) is expected


def test_event_older_than_the_window_of_the_newest_is_dropped_on_arrival() -> None:
    det = detector()
    state, _ = feed(det, in_order(hotels(start=40) + trips(4, start=41)))
    after, findings = feed(det, escort(40 - 28 - 1), state)
    assert findings == []
    assert after is state


def test_eviction_keeps_only_the_window_of_the_newest_event() -> None:
    det = detector()
    state, _ = feed(det, in_order(escort(0) + hotels(start=1) + topups(start=2)))
    state, _ = feed(det, daytime(1, start=40), state)
    assert state.adult == state.lodging == state.topups == ()
    assert len(state.payments) == 1


def test_the_same_event_id_is_never_counted_twice() -> None:
    det = detector()
    one = trips(1)[0]
    state, findings = feed(det, [one] * 6)
    assert findings == []
    assert len(state.transport) == len(state.payments) == 1


# --- state: bounded, JSON, pure --------------------------------------------------------------


def test_state_round_trips_through_json_and_gives_the_same_findings() -> None:
    det = detector()
    events = in_order(_trafficker())
    state, _ = feed(det, events[:15])
    restored = TraffickingWindow.model_validate(json.loads(json.dumps(
        state.model_dump(mode="json"))))
    assert restored == state
    assert TraffickingWindow.model_validate_json(state.model_dump_json()) == state
    direct = feed(det, events[15:], state)
    via_json = feed(det, events[15:], restored)
    assert direct == via_json
    assert direct[1]


def test_same_sequence_gives_the_same_findings_with_a_fresh_detector() -> None:
    events = in_order(_trafficker() + _business_traveller())
    assert run(events) == run(events)
    assert run(events)[1] == run(events, detector())[1]


def test_arrival_order_does_not_change_the_kept_events() -> None:
    events = in_order(_trafficker())
    shuffled = list(events)
    random.Random(5).shuffle(shuffled)
    det = detector()
    a, b = feed(det, events)[0], feed(det, shuffled)[0]
    assert a.model_copy(update={"reported": ()}) == b.model_copy(update={"reported": ()})
    assert set(a.reported) == set(b.reported) == set(RedFlag)


def test_score_does_not_mutate_the_given_state() -> None:
    det = detector()
    state, _ = feed(det, in_order(escort(1) + hotels(start=2) + trips(3, start=5)))
    before = state.model_dump_json()
    _, findings = det.score(trips(1, start=9)[0], state)
    assert findings
    assert state.model_dump_json() == before


def test_state_stays_small_and_capped_under_a_flood() -> None:
    """Everything at once, every few minutes for four weeks: each list stops at its cap."""
    rng = random.Random(3)
    det = detector()
    state = det.State()
    mccs = ["7273", "7311", "7011", "3600", "4112", "4131", "4814", "5411", "4121"]
    largest = 0
    for i in range(4000):
        at = DAY0 + timedelta(minutes=10 * i)
        mcc = rng.choice(mccs)
        event = make_txn(kind="card_payment", direction="out", amount=Decimal("120"),
                         occurred_at=at, merchant={"merchant_id": f"M-{rng.randrange(5)}",
                                                   "mcc": mcc, "country": "MA"},
                         location={"city": f"City {rng.randrange(40)}", "country": "MA"})
        if i % 7 == 0:
            event = wire(i / 144, rng.choice(["500", "1000", "5000"]),
                         rng.choice(["SY", "IR", "SD"]), account=f"ACC-{i}")
        state, _ = det.score(event, state)
        largest = max(largest, len(state.model_dump_json()))
    p = det.params
    for records in (state.adult, state.lodging, state.transport, state.topups,
                    state.group_charges, state.wires):
        assert len(records) <= p.max_kept
    assert len(state.payments) == p.max_kept_payments
    assert largest < 16 * 1024, largest


# --- parameters -----------------------------------------------------------------------------


def test_params_validate() -> None:
    with pytest.raises(ValidationError, match="min_strong"):
        TraffickingIndicatorsParams(min_flags=2, min_strong=3)
    with pytest.raises(ValidationError, match="min_strong"):
        TraffickingIndicatorsParams.model_validate({"strong_flags": ["adult_ads"],
                                                    "min_strong": 2})
    with pytest.raises(ValidationError, match="max_kept"):
        TraffickingIndicatorsParams(max_kept=5)
    with pytest.raises(ValidationError, match="max_kept_payments"):
        TraffickingIndicatorsParams(night_min_payments=40)
    with pytest.raises(ValidationError, match="score_bands"):
        TraffickingIndicatorsParams(score_bands=(0.8, 0.6))
    with pytest.raises(ValidationError):
        TraffickingIndicatorsParams(score_bands=())
    with pytest.raises(ValidationError):
        TraffickingIndicatorsParams.model_validate({"strong_flags": ["unknown_flag"]})
    with pytest.raises(ValidationError):
        TraffickingIndicatorsParams.model_validate({"wire_risks": ["grey_list"]})
    with pytest.raises(ValidationError):
        TraffickingIndicatorsParams.model_validate({"group_excluded_mccs": ["41"]})
    with pytest.raises(ValidationError, match="min_flags"):
        TraffickingIndicatorsParams(min_flags=1)  # one flag alone is never an alert
    with pytest.raises(ValidationError, match="night_start"):
        TraffickingIndicatorsParams.model_validate({"night_start": "05:00"})
    assert TraffickingIndicatorsParams.model_validate(
        {"window": "P14D", "night_start": "23:00"}).window == timedelta(days=14)


def test_jurisdiction_timezone_is_validated() -> None:
    assert Jurisdiction(timezone=" Europe/Paris ").timezone == "Europe/Paris"
    with pytest.raises(ValidationError, match="IANA time zone"):
        Jurisdiction(timezone="Mars/Olympus")


def test_shorter_window_param() -> None:
    events = escort(1) + hotels(start=8) + trips(4, start=13)
    assert fires(events)
    assert not fires(events, detector(window=timedelta(days=14)))


def test_replacement_reference_lists_change_the_outcome(tmp_path: Any) -> None:
    """An operator moves 7311 out of classified_ads and lists France; the rule follows."""
    groups_file = tmp_path / "groups.csv"
    groups_file.write_text("# as_of: 2027-01-10\nmcc,group\n7273,adult_services\n"
                           "7011,lodging\n4112,transport\n4814,prepaid_telecom\n")
    fatf_file = tmp_path / "fatf.csv"
    fatf_file.write_text("list,jurisdiction,iso2,fatf_statement_date\n"
                         "increased_monitoring,France,FR,2027-02\n")
    det = TraffickingIndicators(TraffickingIndicatorsParams(), Jurisdiction(),
                                MerchantGroups.from_csv(groups_file),
                                CountryRisk.from_csv(fatf_file))
    base = hotels() + trips()
    assert not fires(base + ads(2), det)
    assert fires(base + ads(2))
    assert fires(base + [wire(8, country="FR")], det)
    assert not fires(base + [wire(8, country="SY")], det)
