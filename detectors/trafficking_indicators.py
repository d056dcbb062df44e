"""Trafficking indicators: several human-trafficking red flags on one account within four weeks.

Rule card
---------
Signal
    Seven financial red flags from FinCEN's and FATF's human-trafficking guidance, each judged
    over one account's approved events of the last ``window`` (28 days) of event time: the
    events within ``window`` of the newest one seen, both ends inclusive. One flag alone is
    never an alert (each has ordinary explanations); the combination is. The rule fires when
    at least ``min_flags`` (3) distinct flags are up at once, at least ``min_strong`` (1) of
    them strong. Card payments are ``card_payment`` ``out`` (refunds do not count); the
    merchant's group comes from its MCC through the operator-replaceable `MerchantGroups`
    list, the counterparty country's risk from the `CountryRisk` lists. Declined events
    never count. Payments in another currency than the jurisdiction's count like any other
    (the flags count events, they do not add amounts); only the round-amount test of a wire
    needs the jurisdiction's currency.

    ``adult_ads`` (strong)
        at least ``adult_services_min`` (1) card payment at an ``adult_services`` merchant
        (7273 dating and escort services, 5967 adult teleservices), or at least
        ``classified_ads_min`` (2) at ``classified_ads`` merchants (7311 advertising services,
        which escort-ad sites bill under).
    ``high_risk_wire`` (strong)
        an approved transfer ``out``, in the jurisdiction's currency, of a round amount (a
        multiple of ``round_multiple``, 500), to a counterparty country (not the jurisdiction's
        own) that `CountryRisk` puts on one of ``wire_risks``: FATF call for action, FATF
        increased monitoring, armed conflict.
    ``pays_for_many`` (strong)
        paying for several people's travel or lodging, *more than once*: a *group purchase*
        is at least ``group_tickets_min`` (3) transport tickets at one merchant on one local
        calendar day, or at least ``group_rooms_min`` (2) lodging charges at one merchant on
        one day, of similar amounts (the smallest at least ``group_amount_ratio``, 0.6, of the
        largest; only amounts in the same currency are compared). The flag needs group
        purchases of one kind (tickets, or rooms) on at least ``group_min_days`` (2) different
        days. Local commuter transit (4111) and taxis/ride-hailing (4121) are never tickets
        for this flag (``group_excluded_mccs``): one person takes several a day, and one fare
        carries everyone in the car.
    ``hotels_multi_city`` (weak)
        lodging charges in at least ``min_cities`` (3) distinct places. A place is the event's
        ``location`` city with its country (``location.country``, else the merchant's);
        city names are compared without case, accents or extra spaces. A charge whose city is
        unknown counts its country as one place, unless a charge in that country with a known
        city is in the window (it may be the same city).
    ``transport`` (weak)
        at least ``transport_min`` (4) card payments at ``transport`` merchants (commuter
        transit, rail, taxis and ride-hailing, buses, ferries, airlines, travel agencies).
    ``prepaid_topups`` (weak)
        at least ``topups_min`` (3) card payments at ``prepaid_telecom`` merchants (4812
        phones, 4814 telecom services and prepaid top-ups).
    ``night_activity`` (weak)
        at least ``night_min_payments`` (5) card payments and cash withdrawals, and at least
        ``night_min_share`` (50 %) of them between ``night_start`` (22:00, inclusive) and
        ``night_end`` (05:00, exclusive) local time of the jurisdiction (its ``timezone``).

    When it fires
        When the set of flags first qualifies, and again only when a flag is added to the set
        reported last (a flag that left the window and comes back with new evidence is
        added again). The alert policy folds repeats within an episode anyway. The finding is
        raised on the event that completes the set, which may be an ordinary payment that
        tips the night share, or an event reported late into the window.
Typology
    ``trafficking_indicators`` (human trafficking for sexual or labour exploitation, and the
    smuggling that feeds it).
Why these defaults
    FinCEN advisory FIN-2014-A008 (2014-09-11, "Guidance on Recognizing Activity that May be
    Associated with Human Smuggling and Human Trafficking - Financial Red Flags") and its
    supplement FIN-2020-A008 (2020-10-15, "Supplemental Advisory on Identifying and Reporting
    Human Trafficking and Related Activity", 20 further indicators) list as red flags: payments
    to escort services and online classified-ad sites; frequent movement through different
    cities, seen in lodging and transport purchases; payments for several people's travel and
    lodging (several tickets, several rooms); frequent prepaid phone and prepaid card purchases;
    activity at unusual hours (late at night); and funds sent to high-risk jurisdictions.
    FATF/APG "Financial Flows from Human Trafficking" (2018) finds the same indicators worldwide
    and stresses that no single one is conclusive: combinations are. Polaris Project (US
    National Human Trafficking Hotline; "The Typology of Modern Slavery", 2017) describes the
    pattern behind them: victims moved between cities, advertised online, lodged and transported
    by the trafficker, who pays for everything. The counts (4 transport purchases, 3 top-ups, 3
    cities, 5 payments) are the smallest that read as "frequent" or "several" over four weeks:
    long enough to see several moves between cities, short enough that unrelated months of
    spending are not combined. Strong flags are those with few innocent explanations in one
    month's banking: escort payments, round wires to high-risk countries, and paying for other
    people's travel repeatedly.
Not trafficking (hard negatives)
    A traveller or business traveller: hotels in several cities, trains and flights, late
    dinners, abroad or at home (weak flags only). A night-shift worker: most payments at night,
    taxis and transit to work (weak flags only; taxis and transit never make a group purchase).
    A family buying four plane tickets once for a holiday, renting a car and staying in three
    cities (one group-purchase day is not "more than once"). Someone who tops up a prepaid phone
    three times and takes the bus. A small business buying advertising (7311) twice, with no
    other flag. A round transfer to a listed country with otherwise ordinary spending.
Known false positives (for the analyst)
    A family touring three cities that buys tickets for everyone twice (the flight, then a
    train), or takes two rooms at every stop; a tour organiser booking for a group twice a
    month: the same pattern as the red flag (3 flags, lowest band 0.6), cleared by what KYC
    knows about the household or business. A business that advertises (7311) and travels.
Limits
    Local time and calendar days are the jurisdiction's, also for payments abroad. Counts are
    of the events kept (at most ``max_kept`` per flag, the newest); evidence counts stop there.
    The night share is over at most the newest ``max_kept_payments`` card payments and cash
    withdrawals in the window (a busy account is judged on its recent ones). Merchants are
    known by ``merchant_id``, else name; a payment with neither never counts towards a group
    purchase. A wire in a foreign currency is never round (no FX rates here). Victims'
    own accounts, often controlled by the trafficker, show the same flags as the trafficker's.
State kept (bounded, JSON)
    Per flag, the newest events that count towards it within ``window`` of the newest event
    seen, as (event time, event id, detail), at most ``max_kept`` each (lodging: the newest per
    place); the newest ``max_kept_payments`` card payments and withdrawals (night or not);
    group-purchase candidates (time, id, tickets/rooms, merchant, amount, currency; at the cap,
    the oldest charge that is not part of a group purchase goes first) and high-risk wires
    (time, id, amount, country, level, counterparty account), at most ``max_kept`` each; and the
    flags reported last. About 2 kB for an account that pays by card every day (its last 32
    payments), under 12 kB at the caps. An event older than the window of the newest is dropped
    on arrival; a repeated event id replaces the earlier copy. Scoring costs about 0.1 ms per
    event (0.2 ms with every list at its cap); when the list sizes alone show that fewer than
    ``min_flags`` flags could be up, the flags are not evaluated.
Reason codes
    ``HT_RED_FLAG_COMBINATION``: evidence lists each flag that is up (strength, counts,
    thresholds, its event ids), the flag and strong-flag counts, the flags new in this finding,
    the window and the time zone; ``event_ids`` are every flag's evidence, ``window_start`` and
    ``window_end`` the oldest and newest of them, ``related_accounts`` the counterparty
    accounts of high-risk wires.
Score
    By the number of flags up, from ``score_bands``: 0.6 at 3 flags, 0.75 at 4, 0.85 at 5,
    0.9 at 6, 0.95 at all 7 (the policy's default bands make that medium, high, high,
    critical, critical).
Parameters (``TXMON_DETECTORS__TRAFFICKING_INDICATORS__*``)
    ``window`` = 28 days, ``min_flags`` = 3, ``min_strong`` = 1, ``strong_flags`` =
    {adult_ads, high_risk_wire, pays_for_many}, ``score_bands`` = (0.6, 0.75, 0.85, 0.9,
    0.95), ``adult_services_min`` = 1, ``classified_ads_min`` = 2, ``min_cities`` = 3,
    ``transport_min`` = 4, ``topups_min`` = 3, ``night_min_payments`` = 5,
    ``night_min_share`` = 0.5, ``night_start`` = 22:00, ``night_end`` = 05:00,
    ``round_multiple`` = 500 (jurisdiction currency), ``wire_risks`` = {call_for_action,
    increased_monitoring, conflict}, ``group_tickets_min`` = 3, ``group_rooms_min`` = 2,
    ``group_amount_ratio`` = 0.6, ``group_min_days`` = 2, ``group_excluded_mccs`` = {4111,
    4121}, ``max_kept`` = 12, ``max_kept_payments`` = 32. The MCC groups and country lists are
    files (`detectors.merchant_groups`, `detectors.country_risk`), replaced without a code
    change.
"""

from __future__ import annotations

import bisect
import functools
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detectors.base import DetectorState, Event
from detectors.country_risk import RISK_WORDS, CountryRisk, RiskLevel
from detectors.jurisdiction import Jurisdiction
from detectors.merchant_groups import MerchantGroups
from models import (
    Direction,
    Finding,
    Transaction,
    TransactionKind,
    TransactionStatus,
    Typology,
)

__all__ = [
    "CODE",
    "GroupCharge",
    "Mark",
    "RedFlag",
    "RiskyWire",
    "TraffickingIndicators",
    "TraffickingIndicatorsParams",
    "TraffickingWindow",
]

CODE = "HT_RED_FLAG_COMBINATION"

ADULT_SERVICES = "adult_services"
CLASSIFIED_ADS = "classified_ads"
LODGING = "lodging"
TRANSPORT = "transport"
PREPAID_TELECOM = "prepaid_telecom"
NIGHT = "night"


class RedFlag(StrEnum):
    """The red flags, strong ones first (the order a summary names them in)."""

    ADULT_ADS = "adult_ads"
    HIGH_RISK_WIRE = "high_risk_wire"
    PAYS_FOR_MANY = "pays_for_many"
    HOTELS_MULTI_CITY = "hotels_multi_city"
    TRANSPORT = "transport"
    PREPAID_TOPUPS = "prepaid_topups"
    NIGHT_ACTIVITY = "night_activity"


_ORDER = {flag: i for i, flag in enumerate(RedFlag)}

Mcc = Annotated[str, Field(pattern=r"^\d{4}$")]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class TraffickingIndicatorsParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: timedelta = Field(default=timedelta(days=28), gt=timedelta(0))
    min_flags: int = Field(default=3, ge=2, le=len(RedFlag))  # one flag alone never alerts
    min_strong: int = Field(default=1, ge=0, le=len(RedFlag))
    strong_flags: frozenset[RedFlag] = frozenset(
        {RedFlag.ADULT_ADS, RedFlag.HIGH_RISK_WIRE, RedFlag.PAYS_FOR_MANY})
    score_bands: tuple[Share, ...] = (0.6, 0.75, 0.85, 0.9, 0.95)
    adult_services_min: int = Field(default=1, ge=1)
    classified_ads_min: int = Field(default=2, ge=1)
    min_cities: int = Field(default=3, ge=2)
    transport_min: int = Field(default=4, ge=1)
    topups_min: int = Field(default=3, ge=1)
    night_min_payments: int = Field(default=5, ge=1)
    night_min_share: Share = 0.5
    night_start: time = time(22, 0)
    night_end: time = time(5, 0)
    round_multiple: Decimal = Field(default=Decimal("500"), gt=0, allow_inf_nan=False)
    wire_risks: frozenset[RiskLevel] = frozenset(
        {"call_for_action", "increased_monitoring", "conflict"})
    group_tickets_min: int = Field(default=3, ge=2)
    group_rooms_min: int = Field(default=2, ge=2)
    group_amount_ratio: Share = 0.6
    group_min_days: int = Field(default=2, ge=1)
    group_excluded_mccs: frozenset[Mcc] = frozenset({"4111", "4121"})
    max_kept: int = Field(default=12, ge=2)
    max_kept_payments: int = Field(default=32, ge=2)

    @field_validator("score_bands")
    @classmethod
    def _rising(cls, bands: tuple[float, ...]) -> tuple[float, ...]:
        if not bands:
            raise ValueError("score_bands needs at least one score (the score at min_flags)")
        if any(later < earlier for earlier, later in zip(bands, bands[1:], strict=False)):
            raise ValueError("score_bands must not decrease: more flags never score lower")
        return bands

    @model_validator(mode="after")
    def _can_fire(self) -> TraffickingIndicatorsParams:
        if self.min_strong > min(self.min_flags, len(self.strong_flags)):
            raise ValueError(f"min_strong ({self.min_strong}) must be at most min_flags "
                             f"({self.min_flags}) and the number of strong_flags "
                             f"({len(self.strong_flags)}), or the rule could never fire")
        needed = max(self.adult_services_min, self.classified_ads_min, self.min_cities,
                     self.transport_min, self.topups_min,
                     self.group_min_days * max(self.group_tickets_min, self.group_rooms_min))
        if self.max_kept < needed:
            raise ValueError(f"max_kept ({self.max_kept}) must be at least {needed} (the largest "
                             f"count a flag needs), or that flag could never be seen")
        if self.max_kept_payments < self.night_min_payments:
            raise ValueError(f"max_kept_payments ({self.max_kept_payments}) must be at least "
                             f"night_min_payments ({self.night_min_payments})")
        if self.night_start == self.night_end:
            raise ValueError("night_start and night_end must differ")
        return self


# --- state --------------------------------------------------------------------------------


class Mark(BaseModel):
    """One event that counts towards a flag: when, which, and a detail (MCC group, place,
    or "night")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event_id: str
    detail: str = ""


class GroupCharge(BaseModel):
    """A ticket or lodging charge that may be one of several bought at once for a group."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event_id: str
    kind: Literal["tickets", "rooms"]
    merchant: str
    amount: Decimal
    currency: str


class RiskyWire(BaseModel):
    """A round transfer out to a country on one of the risk lists."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event_id: str
    amount: Decimal
    country: str
    risk: RiskLevel
    counterparty: str | None = None


class TraffickingWindow(DetectorState):
    adult: tuple[Mark, ...] = ()  # detail: adult_services or classified_ads
    lodging: tuple[Mark, ...] = ()  # detail: place "CC/city" ("CC/" when the city is unknown)
    transport: tuple[Mark, ...] = ()
    topups: tuple[Mark, ...] = ()
    payments: tuple[Mark, ...] = ()  # card payments and cash withdrawals; detail "night"
    group_charges: tuple[GroupCharge, ...] = ()
    wires: tuple[RiskyWire, ...] = ()
    reported: tuple[RedFlag, ...] = ()  # the flags of the last finding still up


R = TypeVar("R", Mark, GroupCharge, RiskyWire)


def _order(record: Mark | GroupCharge | RiskyWire) -> tuple[datetime, str]:
    return record.at, record.event_id


def _kept(records: tuple[R, ...], new: R | None, floor: datetime, cap: int) -> tuple[R, ...]:
    """`records` (sorted by event time) plus `new` (replacing a copy with its event id), none
    older than `floor`, at most the `cap` newest. `new` is never older than `floor`."""
    if new is None:
        if not records or records[0].at >= floor:
            return records
        return tuple(r for r in records if r.at >= floor)[-cap:]
    kept = [r for r in records if r.at >= floor and r.event_id != new.event_id]
    if not kept or _order(kept[-1]) <= _order(new):
        kept.append(new)  # the usual case: events arrive in time order
    else:
        bisect.insort(kept, new, key=_order)
    return tuple(kept[-cap:])


@functools.lru_cache(maxsize=4096)
def _local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def _newest(state: TraffickingWindow) -> datetime | None:
    lasts = [seq[-1].at for seq in (state.adult, state.lodging, state.transport, state.topups,
                                    state.payments, state.group_charges, state.wires) if seq]
    return max(lasts) if lasts else None


# --- words --------------------------------------------------------------------------------


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _span(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours < 24:
        whole = max(1, math.ceil(hours))
        return _plural(whole, "hour")
    return _plural(math.ceil(hours / 24), "day")


def _city_key(city: str) -> str:
    """A city name compared without case, accents or extra spaces."""
    folded = unicodedata.normalize("NFKD", city.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --- one flag's verdict -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Flag:
    """A flag that is up: its evidence, and (only when a finding is written) its words."""

    flag: RedFlag
    records: Sequence[Mark | GroupCharge | RiskyWire]
    describe: Callable[[], tuple[dict[str, Any], str]]  # -> (figures, phrase)

    @property
    def evidence(self) -> tuple[tuple[datetime, str], ...]:
        """(event time, event id) of the evidence, by time."""
        return _evidence(self.records)


def _evidence(records: Iterable[Mark | GroupCharge | RiskyWire]) -> tuple[tuple[datetime, str],
                                                                         ...]:
    return tuple(sorted({(r.at, r.event_id) for r in records}))


class TraffickingIndicators:
    """Several FinCEN/FATF human-trafficking red flags on one account in 28 days (rule card)."""

    name: ClassVar[str] = "trafficking_indicators"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.TRAFFICKING_INDICATORS
    State = TraffickingWindow

    def __init__(self, params: TraffickingIndicatorsParams, profile: Jurisdiction,
                 merchant_groups: MerchantGroups, country_risk: CountryRisk) -> None:
        self.params = params
        self.profile = profile
        self.merchant_groups = merchant_groups
        self.country_risk = country_risk
        self._tz = ZoneInfo(profile.timezone)

    # --- what counts ---------------------------------------------------------------------

    def accepts(self, event: Event, /) -> bool:
        if not isinstance(event, Transaction) or event.status is not TransactionStatus.APPROVED:
            return False
        if event.kind is TransactionKind.CARD_PAYMENT:
            return event.direction is Direction.OUT
        if event.kind is TransactionKind.CASH_WITHDRAWAL:
            return True
        if event.kind is TransactionKind.TRANSFER:
            return self._wire_risk(event) is not None
        return False

    def _wire_risk(self, txn: Transaction) -> RiskLevel | None:
        country = txn.counterparty.country if txn.counterparty is not None else None
        if (txn.direction is not Direction.OUT or txn.currency != self.profile.currency
                or country is None or country == self.profile.country
                or txn.amount % self.params.round_multiple != 0):
            return None
        risk = self.country_risk.risk(country)
        return risk if risk in self.params.wire_risks else None

    def _is_night(self, at: datetime) -> bool:
        local = at.astimezone(self._tz).time()
        start, end = self.params.night_start, self.params.night_end
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def _day(self, at: datetime) -> date:
        return _local_day(at, self._tz)

    # --- score ---------------------------------------------------------------------------

    def score(self, event: Event, state: TraffickingWindow, /,
              ) -> tuple[TraffickingWindow, list[Finding]]:
        if not self.accepts(event):
            return state, []
        assert isinstance(event, Transaction)  # noqa: S101 - narrowed by accepts()
        p = self.params
        at, event_id = event.occurred_at, event.event_id
        newest = _newest(state)
        newest = at if newest is None or at > newest else newest
        floor = newest - p.window
        if at < floor:
            return state, []  # older than the window of the newest event: dropped on arrival

        adult: Mark | None = None
        lodging: Mark | None = None
        transport: Mark | None = None
        topups: Mark | None = None
        payment: Mark | None = None
        group_charge: GroupCharge | None = None
        wire: RiskyWire | None = None
        if event.kind is TransactionKind.TRANSFER:
            risk = self._wire_risk(event)
            assert risk is not None and event.counterparty is not None  # noqa: S101 - accepts()
            wire = RiskyWire(at=at, event_id=event_id, amount=event.amount,
                             country=event.counterparty.country or "", risk=risk,
                             counterparty=event.counterparty.account_id)
        else:
            payment = Mark(at=at, event_id=event_id, detail=NIGHT if self._is_night(at) else "")
            merchant = event.merchant if event.kind is TransactionKind.CARD_PAYMENT else None
            mcc = merchant.mcc if merchant is not None else None
            group = self.merchant_groups.group(mcc)
            if group in (ADULT_SERVICES, CLASSIFIED_ADS):
                adult = Mark(at=at, event_id=event_id, detail=group)
            elif group == LODGING:
                place = self._place(event)
                if place is not None:
                    lodging = Mark(at=at, event_id=event_id, detail=place)
            elif group == TRANSPORT:
                transport = Mark(at=at, event_id=event_id)
            elif group == PREPAID_TELECOM:
                topups = Mark(at=at, event_id=event_id)
            if group in (LODGING, TRANSPORT) and mcc not in p.group_excluded_mccs:
                group_charge = self._group_charge(event, "rooms" if group == LODGING else "tickets")

        cap = p.max_kept
        new_state = TraffickingWindow(
            adult=_kept(state.adult, adult, floor, cap),
            lodging=_newest_per_place(_kept(state.lodging, lodging, floor, cap + 1), cap),
            transport=_kept(state.transport, transport, floor, cap),
            topups=_kept(state.topups, topups, floor, cap),
            payments=_kept(state.payments, payment, floor, p.max_kept_payments),
            group_charges=self._trim_charges(
                _kept(state.group_charges, group_charge, floor, cap + 1), cap),
            wires=_kept(state.wires, wire, floor, cap),
            reported=state.reported,
        )
        if not new_state.reported and self._at_most(new_state) < p.min_flags:
            return new_state, []  # too few flags could be up: skip the evaluation
        flags = self._flags(new_state)
        up = set(flags)
        already = {f for f in new_state.reported if f in up}
        strong = up & p.strong_flags
        if len(up) >= p.min_flags and len(strong) >= p.min_strong and up - already:
            finding = self._finding(flags, new=up - already)
            return new_state.model_copy(update={"reported": _ordered(up)}), [finding]
        return new_state.model_copy(update={"reported": _ordered(already)}), []

    def _place(self, txn: Transaction) -> str | None:
        location, merchant = txn.location, txn.merchant
        country = (location.country if location is not None and location.country else None) or (
            merchant.country if merchant is not None else None)
        city = location.city if location is not None and location.city else None
        if city:
            return f"{country or '??'}/{_city_key(city)}"
        return f"{country}/" if country else None

    def _group_charge(self, txn: Transaction, kind: Literal["tickets", "rooms"],
                      ) -> GroupCharge | None:
        merchant = txn.merchant
        if merchant is None:
            return None
        key = merchant.merchant_id or (f"name:{merchant.name}" if merchant.name else None)
        if key is None:
            return None
        return GroupCharge(at=txn.occurred_at, event_id=txn.event_id, kind=kind, merchant=key,
                           amount=txn.amount, currency=txn.currency)

    # --- the flags -----------------------------------------------------------------------

    def _at_most(self, state: TraffickingWindow) -> int:
        """An upper bound of the flags up, from the sizes of the lists alone (cheap)."""
        p = self.params
        group_min = p.group_min_days * min(p.group_tickets_min, p.group_rooms_min)
        return sum((
            len(state.adult) >= min(p.adult_services_min, p.classified_ads_min),
            bool(state.wires),
            len(state.group_charges) >= group_min,
            len(state.lodging) >= p.min_cities,
            len(state.transport) >= p.transport_min,
            len(state.topups) >= p.topups_min,
            len(state.payments) >= p.night_min_payments,
        ))

    def _flags(self, state: TraffickingWindow) -> dict[RedFlag, _Flag]:
        checks: list[Callable[[TraffickingWindow], _Flag | None]] = [
            self._adult_ads, self._high_risk_wire, self._pays_for_many, self._hotels_multi_city,
            self._transport, self._prepaid_topups, self._night_activity,
        ]
        verdicts = (check(state) for check in checks)
        return {v.flag: v for v in verdicts if v is not None}

    def _adult_ads(self, state: TraffickingWindow) -> _Flag | None:
        p = self.params
        adult = [m for m in state.adult if m.detail == ADULT_SERVICES]
        ads = [m for m in state.adult if m.detail == CLASSIFIED_ADS]
        if len(adult) < p.adult_services_min and len(ads) < p.classified_ads_min:
            return None

        def describe() -> tuple[dict[str, Any], str]:
            words = []
            if adult:
                words.append(_plural(len(adult), "payment") + " to escort or adult services")
            if ads:
                words.append(_plural(len(ads), "payment") + " to classified-ad sites")
            return ({"adult_services": len(adult), "classified_ads": len(ads),
                     "adult_services_min": p.adult_services_min,
                     "classified_ads_min": p.classified_ads_min}, _join(words))

        return _Flag(RedFlag.ADULT_ADS, state.adult, describe)

    def _high_risk_wire(self, state: TraffickingWindow) -> _Flag | None:
        if not state.wires:
            return None
        wires = state.wires

        def describe() -> tuple[dict[str, Any], str]:
            cur = self.profile.currency
            total = sum((w.amount for w in wires), Decimal(0))
            countries = list(dict.fromkeys(w.country for w in wires))
            risks = {w.country: w.risk for w in wires}
            where = _join([f"{self.country_risk.name(c)} ({RISK_WORDS[risks[c]]})"
                           for c in countries])
            if len(wires) == 1:
                phrase = f"a round transfer of {_money(total, cur)} to {where}"
            else:
                phrase = (f"{len(wires)} round transfers totalling {_money(total, cur)} "
                          f"to {where}")
            return ({"count": len(wires), "total": str(total), "currency": cur,
                     "amounts": [str(w.amount) for w in wires], "countries": countries,
                     "risks": {c: risks[c] for c in countries},
                     "round_multiple": str(self.params.round_multiple),
                     "counterparties": _counterparties(wires)}, phrase)

        return _Flag(RedFlag.HIGH_RISK_WIRE, wires, describe)

    def _group_purchases(self, charges: Iterable[GroupCharge],
                         ) -> dict[str, list[tuple[date, str, list[GroupCharge]]]]:
        """By kind, the group purchases: (local day, merchant, the similar charges)."""
        p = self.params
        buckets: dict[tuple[str, str, date, str], list[GroupCharge]] = {}
        for charge in charges:
            key = (charge.kind, charge.merchant, self._day(charge.at), charge.currency)
            buckets.setdefault(key, []).append(charge)
        groups: dict[str, list[tuple[date, str, list[GroupCharge]]]] = {"tickets": [],
                                                                          "rooms": []}
        for (kind, merchant, day, _cur), found in sorted(buckets.items()):
            needed = p.group_tickets_min if kind == "tickets" else p.group_rooms_min
            if len(found) < needed:
                continue
            similar = _similar(found, p.group_amount_ratio)
            if len(similar) >= needed:
                groups[kind].append((day, merchant, similar))
        return groups

    def _trim_charges(self, charges: tuple[GroupCharge, ...], cap: int,
                      ) -> tuple[GroupCharge, ...]:
        """At most `cap` charges: the oldest one that is not part of a group purchase goes
        first (single tickets must not push out the groups), else the oldest."""
        if len(charges) <= cap:
            return charges
        grouped = {c.event_id for found in self._group_purchases(charges).values()
                   for _, _, similar in found for c in similar}
        drop = next((c for c in charges if c.event_id not in grouped), charges[0])
        return tuple(c for c in charges if c is not drop)[-cap:]

    def _pays_for_many(self, state: TraffickingWindow) -> _Flag | None:
        p = self.params
        groups = self._group_purchases(state.group_charges)
        qualifying = {kind: found for kind, found in groups.items()
                      if len({day for day, _, _ in found}) >= p.group_min_days}
        if not qualifying:
            return None
        charges_used = [c for found in qualifying.values() for _, _, similar in found
                        for c in similar]

        def describe() -> tuple[dict[str, Any], str]:
            words: list[str] = []
            details: list[dict[str, Any]] = []
            for kind, found in qualifying.items():
                days = len({day for day, _, _ in found})
                what = ("tickets for several people bought at once" if kind == "tickets"
                        else "several rooms at one hotel")
                words.append(f"{what} on {_plural(days, 'day')}")
                details.extend({"kind": kind, "day": day.isoformat(), "merchant": merchant,
                                "count": len(similar),
                                "amounts": [f"{c.amount} {c.currency}" for c in similar]}
                               for day, merchant, similar in found)
            return ({"groups": details, "group_tickets_min": p.group_tickets_min,
                     "group_rooms_min": p.group_rooms_min, "group_min_days": p.group_min_days,
                     "group_amount_ratio": p.group_amount_ratio}, _join(words))

        return _Flag(RedFlag.PAYS_FOR_MANY, charges_used, describe)

    def _hotels_multi_city(self, state: TraffickingWindow) -> _Flag | None:
        cities = {m.detail for m in state.lodging if not m.detail.endswith("/")}
        with_city = {place.split("/", 1)[0] for place in cities}
        countries_only = {m.detail for m in state.lodging
                          if m.detail.endswith("/") and m.detail[:-1] not in with_city}
        places = sorted(cities | countries_only, key=lambda place: (place.endswith("/"), place))
        if len(places) < self.params.min_cities:
            return None
        counted = [m for m in state.lodging if m.detail in places]

        def describe() -> tuple[dict[str, Any], str]:
            shown = [self._place_words(place) for place in places]
            noun = "places" if countries_only else "cities"
            return ({"places": len(places), "place_names": shown,
                     "min_cities": self.params.min_cities},
                    f"hotel charges in {len(places)} {noun} ({_join(shown)})")

        return _Flag(RedFlag.HOTELS_MULTI_CITY, counted, describe)

    def _place_words(self, place: str) -> str:
        country, city = place.split("/", 1)
        if not city:
            return f"a city in {country}"
        name = city.title()
        return name if country == self.profile.country else f"{name} {country}"

    def _transport(self, state: TraffickingWindow) -> _Flag | None:
        count = len(state.transport)
        if count < self.params.transport_min:
            return None
        return _Flag(RedFlag.TRANSPORT, state.transport, lambda: (
            {"count": count, "transport_min": self.params.transport_min},
            _plural(count, "transport purchase")))

    def _prepaid_topups(self, state: TraffickingWindow) -> _Flag | None:
        count = len(state.topups)
        if count < self.params.topups_min:
            return None
        return _Flag(RedFlag.PREPAID_TOPUPS, state.topups, lambda: (
            {"count": count, "topups_min": self.params.topups_min},
            _plural(count, "prepaid phone payment")))

    def _night_activity(self, state: TraffickingWindow) -> _Flag | None:
        p = self.params
        total = len(state.payments)
        night = [m for m in state.payments if m.detail == NIGHT]
        if total < p.night_min_payments or len(night) < p.night_min_share * total:
            return None

        def describe() -> tuple[dict[str, Any], str]:
            hours = f"{p.night_start:%H:%M} and {p.night_end:%H:%M}"
            payments = _plural(total, "card payment or cash withdrawal",
                               "card payments and cash withdrawals")
            return ({"payments": total, "at_night": len(night),
                     "share": round(len(night) / total, 4),
                     "night_min_payments": p.night_min_payments,
                     "night_min_share": p.night_min_share,
                     "night_start": f"{p.night_start:%H:%M}",
                     "night_end": f"{p.night_end:%H:%M}", "timezone": self.profile.timezone},
                    f"{len(night)} of {payments} between {hours} local time")

        return _Flag(RedFlag.NIGHT_ACTIVITY, night, describe)

    # --- the finding an analyst reads ----------------------------------------------------

    def _finding(self, flags: dict[RedFlag, _Flag], new: set[RedFlag]) -> Finding:
        p = self.params
        ordered = [flags[f] for f in sorted(flags, key=_ORDER.__getitem__)]
        described = {v.flag: v.describe() for v in ordered}
        evidence_ids = sorted({mark for verdict in ordered for mark in verdict.evidence})
        first, last = evidence_ids[0][0], evidence_ids[-1][0]
        count = len(ordered)
        strong = [v.flag for v in ordered if v.flag in p.strong_flags]
        score = p.score_bands[min(count - p.min_flags, len(p.score_bands) - 1)]
        summary = (f"{count} human-trafficking red flags within {_span(last - first)}: "
                   + "; ".join(described[v.flag][1] for v in ordered) + ".")
        related: tuple[str, ...] = ()
        if RedFlag.HIGH_RISK_WIRE in flags:
            related = tuple(_counterparties(flags[RedFlag.HIGH_RISK_WIRE].records))
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=CODE,
            score=score,
            summary=summary,
            evidence={
                "flags": {
                    v.flag.value: {"strength": "strong" if v.flag in p.strong_flags else "weak",
                                   **described[v.flag][0],
                                   "event_ids": [event_id for _, event_id in v.evidence]}
                    for v in ordered
                },
                "flag_count": count,
                "strong_count": len(strong),
                "new_flags": [f.value for f in _ordered(new)],
                "min_flags": p.min_flags,
                "min_strong": p.min_strong,
                "window_days": p.window.total_seconds() / 86400,
                "first_at": first.isoformat(),
                "last_at": last.isoformat(),
                "timezone": self.profile.timezone,
            },
            event_ids=tuple(dict.fromkeys(event_id for _, event_id in evidence_ids)),
            related_accounts=related,
            window_start=first,
            window_end=last,
        )


def _counterparties(wires: Iterable[Mark | GroupCharge | RiskyWire]) -> list[str]:
    return sorted({w.counterparty for w in wires if isinstance(w, RiskyWire) and w.counterparty})


def _ordered(flags: Iterable[RedFlag]) -> tuple[RedFlag, ...]:
    return tuple(sorted(flags, key=_ORDER.__getitem__))


def _newest_per_place(marks: tuple[Mark, ...], cap: int) -> tuple[Mark, ...]:
    """The newest lodging charge of each place (sorted by time), at most `cap` places."""
    latest: dict[str, Mark] = {}
    for mark in marks:  # sorted by time: later ones replace earlier ones
        latest[mark.detail] = mark
    return tuple(sorted(latest.values(), key=lambda m: (m.at, m.event_id)))[-cap:]


def _similar(charges: list[GroupCharge], ratio: float) -> list[GroupCharge]:
    """The largest set of `charges` whose smallest amount is at least `ratio` of the largest
    (charges of one merchant, day and currency), by event time."""
    by_amount = sorted(charges, key=lambda c: (c.amount, c.at, c.event_id))
    best: tuple[int, int] = (0, 0)
    low = 0
    for high, charge in enumerate(by_amount):
        while by_amount[low].amount < Decimal(str(ratio)) * charge.amount:
            low += 1
        if high + 1 - low > best[1] - best[0]:
            best = (low, high + 1)
    return sorted(by_amount[best[0]:best[1]], key=lambda c: (c.at, c.event_id))
