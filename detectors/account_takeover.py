"""Account takeover: access from a new device or country, then the account is drained.

Rule card
---------
Signal
    A *suspicious access* (an ``accounts`` event of kind ``login`` or ``credentials_reset`` from
    a new device or from a new country for this account) followed, within ``drain_window`` of
    event time (both ends inclusive: from the access to ``access + drain_window``), by
    *draining*, which is any of:

    - a transfer out to a *new payee* of at least ``min_new_payee_amount``;
    - at least ``min_resellable_purchases`` *resellable purchases*: approved card-not-present
      card payments (channel ``ecommerce``, ``online`` or ``mobile``) at a merchant whose MCC is
      in ``resellable_mccs``, each of at least ``min_purchase_amount``;
    - drain events (new-payee transfers of any amount plus resellable purchases) totalling at
      least ``min_drained_total``.

    A *new payee* is a counterparty ``account_id`` this account had not paid by transfer
    before the access (its first payment is at or after the access). Transfers made at a branch
    or an ATM (the holder is there in person) do not drain; neither do amounts in another
    currency than the profile's, declined events, or transfers whose counterparty has no
    ``account_id`` (newness cannot be told).
Typology
    ``account_takeover``: credentials phished or stolen, the criminal logs in (or resets the
    credentials, which also locks the holder out) from their own device, often abroad, and
    empties the account by transfers to mules or by buying goods that resell easily, as in the
    Moroccan cases below.
Sources
    FFIEC, *Supplement to Authentication in an Internet Banking Environment* (2011) and
    *Authentication and Access to Financial Institution Services and Systems* (2021): layered
    security should detect and respond to suspicious activity at login and at the initiation of
    transfers to other parties; device identification and geolocation as risk signals.
    FinCEN Advisory FIN-2011-A016 *Account Takeover Activity* (2011): irregularities such as
    sudden wire transfers, clustered transactions in different geographic areas and changes to
    customer and account profiles; SARs note "account takeover fraud". Europol IOCTA (Internet
    Organised Crime Threat Assessment): phishing and credential theft feeding account takeover,
    card-not-present fraud on electronics and gift cards, goods resold. Moroccan context (press
    reports, not calibration): the Fez judicial police (DGSN) took apart a network in 2020 that
    used hackers to take over customers' bank balances and move the money; in a Casablanca case
    a hacked account paid for smartphones that were to be resold; Bank Al-Maghrib and the DGSN
    warned in 2019 of mobile-banking account hacking.
Reads
    Account events ``opened``, ``login`` and ``credentials_reset``; approved transactions that
    are transfers out or card payments or that carry a device or a location.
New device, new country (with the cold-start and learning rules)
    Devices are the ``device_id`` of account events and of online/mobile transactions (kept as
    a 64-bit digest, never in clear); countries are ``location.country`` of account events and
    digital transactions, plus the country of card-present activity (``pos``, ``atm``,
    ``branch``: ``location.country``, else the merchant's country). At an access at time *t*:

    - a device is *new* if it was not seen before *t* **and** the account had at least one other
      device before *t* (cold start: an account with no device history, such as a brand-new
      account, never has its first login flagged);
    - a country is *new* likewise (not seen before *t*, and some other country was), and it
      stays new only if the account's card was not used in person in that country before the
      last drain event either (travel: the holder abroad logs in from there and pays at shops);
    - a device or country a kept suspicious access introduced stays new for ``drain_window``
      after that access, so the criminal's credentials reset that follows their first login
      from the same device is suspicious too (and scored as a reset);
    - no access is flagged during the *learning period*: until the account has shown
      ``learning_events`` events to this detector **and** ``learning_period`` has passed since
      its first one, everything seen is learned as known (the monitor starting on an existing
      account must first learn the holder's phone and laptop).

    An IP address is never a newness signal (mobile networks and DHCP change it); it is shown
    masked in the evidence only. IPs and device ids are never printed in clear.
Not account takeover (hard negatives)
    A new phone without draining (new-device login, then small card payments); travel (a login
    from a new country, then card-present payments there; no new payee); rent to a landlord
    already paid before, after a new-device login; a large transfer to a new payee with no
    suspicious access in the preceding ``drain_window`` (ordinary life); draining more than
    ``drain_window`` after the access, or before it; the account's first-ever login; a
    credentials reset from the usual device in the usual country; large card-present purchases
    abroad.
State kept (bounded)
    The known devices (digests), digital countries, card-present countries and payees, each as
    (key, first seen, last seen) and capped at ``max_known_devices`` / ``max_known_countries``
    / ``max_known_payees`` (the most recently seen are kept); the suspicious accesses of the
    last ``2 * drain_window`` (at most ``max_accesses``, the newest) and the drain candidates
    (possibly-new-payee transfers and resellable purchases) of the last ``drain_window`` behind
    the newest event time (at most ``max_kept``, the newest); the first event time and a count
    of events capped at ``learning_events``.
Out-of-order events
    Everything is event time. "Seen before *t*" compares first-seen times, so a mobile transfer
    from the criminal's device that arrives before their login (the two topics interleave
    freely) does not make that login's device known. A late access pairs with the drain
    candidates already kept and fires on arrival; a late drain pairs with the kept accesses.
    Late knowledge can only clear a flag: an earlier login from the same device arriving late
    makes the device known and the access no longer suspicious for later drains. A drain event
    more than ``drain_window`` behind the newest event time (an access more than twice that)
    still teaches devices, countries and payees but is evicted on arrival and neither fires nor
    pairs later; a late access inside that horizon pairs with the drain candidates still kept.
    A redelivered event (same ``event_id``) replaces itself: it is never counted twice as an
    access or a drain.
Reason codes
    ``ATO_NEW_ACCESS_THEN_NEW_PAYEE``: new-payee transfers alone meet an amount threshold.
    ``ATO_NEW_ACCESS_THEN_RESELLABLE_PURCHASES``: resellable purchases alone meet the count.
    ``ATO_NEW_ACCESS_THEN_DRAIN``: neither alone, but together they meet ``min_drained_total``.
    The finding fires on every drain event of a qualifying pattern (and on a late access that
    completes one); the alert policy folds the repeats into one episode. When several kept
    accesses qualify, the strongest is reported (a credentials reset over a login, then new
    device and new country over one of them), then the earliest.
Score
    0.5 after a login, 0.65 after a credentials reset; +0.1 if both the device and the country
    are new; +0.1 times the speed (1 for a drain at the access, 0 at ``drain_window``); +0.1
    times the size (drained total over five times ``min_drained_total``, capped at 1); +0.03
    per resellable purchase (up to 5); capped at 1.
Parameters (``TXMON_DETECTORS__ACCOUNT_TAKEOVER__*``; amounts in the profile's currency)
    ``drain_window`` = 48 hours (judgement: a taken-over account is emptied within hours, the
    "sudden" transfers of FinCEN's advisory; two days also covers a login on Saturday drained
    on Monday), ``min_new_payee_amount`` = 5,000 MAD (more than a month's minimum wage in
    Morocco: a significant transfer for an individual), ``min_drained_total`` = 10,000 MAD,
    ``min_resellable_purchases`` = 2,
    ``min_purchase_amount`` = 2,000 MAD (a smartphone, a laptop, a gift-card batch),
    ``resellable_mccs`` = 5732 electronics stores, 5734 computer software, 5045 computers and
    peripherals, 5946 camera and photo supply, 5944 jewellery and watches, 5094 precious stones
    and jewellery, 5722 household appliances, 6540 stored value and gift cards (department
    stores 5310/5311 may be added; they are left out by default as they also sell groceries),
    ``learning_period`` = 14 days, ``learning_events`` = 5, ``max_known_devices`` = 16,
    ``max_known_countries`` = 16, ``max_known_payees`` = 64, ``max_accesses`` = 8,
    ``max_kept`` = 32 (bounds, not calibration: a real takeover has one or two suspicious
    accesses and a handful of drain events; the caps bound the state and the work per event
    on a flooded account, about 12 KiB and a few hundred microseconds at worst). The amount
    defaults suit MAD: set them when the profile's currency is another.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from models import (
    AccountEvent,
    AccountEventKind,
    Channel,
    Direction,
    Finding,
    Transaction,
    TransactionKind,
    TransactionStatus,
    Typology,
)

__all__ = [
    "RESELLABLE_MCCS",
    "AccountTakeover",
    "AccountTakeoverParams",
    "DrainEvent",
    "Sighting",
    "SuspiciousAccess",
    "TakeoverState",
    "mask_device",
    "mask_ip",
]

#: Merchant categories of goods that are easy to resell (ISO 18245), with the word a summary uses.
RESELLABLE_MCCS: dict[str, str] = {
    "5732": "electronics",
    "5734": "computer software",
    "5045": "computers",
    "5946": "cameras",
    "5944": "jewellery and watches",
    "5094": "precious stones and jewellery",
    "5722": "household appliances",
    "6540": "gift cards",
}

_ACCESS_KINDS = frozenset({AccountEventKind.LOGIN, AccountEventKind.CREDENTIALS_RESET})
_ACCEPTED_ACCOUNT_KINDS = _ACCESS_KINDS | {AccountEventKind.OPENED}
_PHYSICAL = frozenset({Channel.POS, Channel.ATM, Channel.BRANCH})
_IN_PERSON_TRANSFER = frozenset({Channel.BRANCH, Channel.ATM})
_CARD_NOT_PRESENT = frozenset({Channel.ECOMMERCE, Channel.ONLINE, Channel.MOBILE})

Mcc = Annotated[str, Field(pattern=r"^\d{4}$")]


class AccountTakeoverParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    drain_window: timedelta = Field(default=timedelta(hours=48), gt=timedelta(0))
    min_new_payee_amount: Decimal = Field(default=Decimal("5000"), gt=0)
    min_drained_total: Decimal = Field(default=Decimal("10000"), gt=0)
    min_resellable_purchases: int = Field(default=2, ge=1)
    min_purchase_amount: Decimal = Field(default=Decimal("2000"), gt=0)
    resellable_mccs: tuple[Mcc, ...] = tuple(RESELLABLE_MCCS)
    learning_period: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    learning_events: int = Field(default=5, ge=0)
    max_known_devices: int = Field(default=16, ge=1)
    max_known_countries: int = Field(default=16, ge=1)
    max_known_payees: int = Field(default=64, ge=1)
    max_accesses: int = Field(default=8, ge=1)
    max_kept: int = Field(default=32, ge=2)


class Sighting(BaseModel):
    """A device digest, country or payee, and when this account first and last used it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    first_at: datetime
    last_at: datetime


class SuspiciousAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event_id: str
    kind: AccountEventKind
    device: str | None  # digest, to re-check newness against late knowledge
    device_masked: str | None
    ip_masked: str | None
    country: str | None
    device_new_since: datetime | None  # None: the device is not new
    country_new_since: datetime | None  # None: the country is not new


class DrainEvent(BaseModel):
    """A transfer to a possibly new payee, or a resellable purchase (profile currency)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event_id: str
    kind: Literal["transfer", "purchase"]
    amount: Decimal
    payee: str | None = None
    mcc: str | None = None


class TakeoverState(DetectorState):
    first_at: datetime | None = None
    latest_at: datetime | None = None
    events_seen: int = 0  # capped at learning_events
    devices: tuple[Sighting, ...] = ()
    countries: tuple[Sighting, ...] = ()  # digital: logins, online and mobile events
    present: tuple[Sighting, ...] = ()  # card-present: pos, atm, branch
    payees: tuple[Sighting, ...] = ()
    accesses: tuple[SuspiciousAccess, ...] = ()
    drains: tuple[DrainEvent, ...] = ()


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


def mask_device(device_id: str) -> str:
    """The last few characters of a device id, enough for an analyst to match, no more."""
    keep = 4 if len(device_id) >= 8 else 2
    return "…" + device_id[-keep:]


def mask_ip(ip: str) -> str:
    """An IPv4 address to its /16 (``192.0.x.x``), an IPv6 address to its /32."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "x"
    if address.version == 4:
        head = str(address).split(".")[:2]
        return ".".join([*head, "x", "x"])
    return ":".join(address.exploded.split(":")[:2]) + "::/32"


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _span(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    if minutes < 60:
        whole = max(1, round(minutes))
        return f"{whole} minute{'s' if whole != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _sighted(
    seen: tuple[Sighting, ...], key: str | None, at: datetime, cap: int
) -> tuple[Sighting, ...]:
    """`seen` with `key` sighted at `at`; the `cap` most recently seen kept, oldest first."""
    if key is None:
        return seen
    old = next((s for s in seen if s.key == key), None)
    if old is None:
        new, rest = Sighting(key=key, first_at=at, last_at=at), seen
    elif old.first_at <= at <= old.last_at:
        return seen
    else:
        new = Sighting(key=key, first_at=min(old.first_at, at), last_at=max(old.last_at, at))
        rest = tuple(s for s in seen if s.key != key)
    if not rest or (rest[-1].last_at, rest[-1].key) <= (new.last_at, new.key):
        return (*rest, new)[-cap:]  # in order: the common case, no sort
    return tuple(sorted((*rest, new), key=lambda s: (s.last_at, s.key))[-cap:])


def _first_seen(seen: Iterable[Sighting], key: str) -> datetime | None:
    return next((s.first_at for s in seen if s.key == key), None)


def _seen_before(seen: Iterable[Sighting], key: str, at: datetime) -> bool:
    first = _first_seen(seen, key)
    return first is not None and first < at


def _other_before(seen: Iterable[Sighting], key: str, at: datetime) -> bool:
    return any(s.key != key and s.first_at < at for s in seen)


class _Known:
    """First-seen times of one state's devices, countries and payees, for lookups by key."""

    __slots__ = ("_countries", "_devices", "_payees", "_present")

    def __init__(self, state: TakeoverState) -> None:
        self._devices = {s.key: s.first_at for s in state.devices}
        self._countries = {s.key: s.first_at for s in state.countries}
        self._present = {s.key: s.first_at for s in state.present}
        self._payees = {s.key: s.first_at for s in state.payees}

    @staticmethod
    def _before(seen: dict[str, datetime], key: str, at: datetime) -> bool:
        first = seen.get(key)
        return first is not None and first < at

    def device_before(self, key: str, at: datetime) -> bool:
        return self._before(self._devices, key, at)

    def country_before(self, key: str, at: datetime) -> bool:
        return self._before(self._countries, key, at)

    def present_by(self, key: str, at: datetime) -> bool:
        first = self._present.get(key)
        return first is not None and first <= at

    def payee_before(self, key: str, at: datetime) -> bool:
        return self._before(self._payees, key, at)


@dataclass(frozen=True, slots=True)
class _Match:
    """A suspicious access and the drain events that follow it, before it becomes a Finding."""

    access: SuspiciousAccess
    hits: list[DrainEvent]
    new_device: bool
    new_country: bool
    code: str
    strength: int  # 2 for a credentials reset, +1 if both the device and the country are new


class AccountTakeover:
    """New-device or new-country access, then draining (see the module rule card)."""

    name: ClassVar[str] = "account_takeover"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.ACCOUNT_TAKEOVER
    State = TakeoverState

    def __init__(self, params: AccountTakeoverParams, profile: Jurisdiction) -> None:
        self.params = params
        self.profile = profile

    # --- what the detector reads ------------------------------------------------------------

    def accepts(self, event: Event, /) -> bool:
        if isinstance(event, AccountEvent):
            return event.kind in _ACCEPTED_ACCOUNT_KINDS
        return event.status is TransactionStatus.APPROVED and (
            event.device_id is not None
            or (event.location is not None and event.location.country is not None)
            or event.kind is TransactionKind.CARD_PAYMENT
            or (event.kind is TransactionKind.TRANSFER and event.direction is Direction.OUT)
        )

    @staticmethod
    def _countries(event: Event) -> tuple[str | None, str | None]:
        """(digital country, card-present country) the event shows the account in."""
        located = event.location.country if event.location is not None else None
        if isinstance(event, AccountEvent):
            return located, None
        if event.channel in _PHYSICAL:
            if located is None and event.merchant is not None:
                located = event.merchant.country
            return None, located
        return located, None

    @staticmethod
    def _payee(event: Event) -> str | None:
        """The counterparty account of an approved transfer out, if it names one."""
        if (
            isinstance(event, Transaction)
            and event.kind is TransactionKind.TRANSFER
            and event.direction is Direction.OUT
            and event.counterparty is not None
            and event.counterparty.account_id
            and event.counterparty.account_id != event.account_id
        ):
            return event.counterparty.account_id
        return None

    def _drain(self, event: Event, payees: tuple[Sighting, ...]) -> DrainEvent | None:
        if not isinstance(event, Transaction) or event.currency != self.profile.currency:
            return None
        p = self.params
        payee = self._payee(event)
        if payee is not None:
            if event.channel in _IN_PERSON_TRANSFER:
                return None
            first = _first_seen(payees, payee)
            if first is not None and first < event.occurred_at - p.drain_window:
                return None  # paid before any access this transfer could pair with
            return DrainEvent(at=event.occurred_at, event_id=event.event_id, kind="transfer",
                              amount=event.amount, payee=payee)
        if (
            event.kind is TransactionKind.CARD_PAYMENT
            and event.direction is Direction.OUT
            and event.channel in _CARD_NOT_PRESENT
            and event.merchant is not None
            and event.merchant.mcc in p.resellable_mccs
            and event.amount >= p.min_purchase_amount
        ):
            return DrainEvent(at=event.occurred_at, event_id=event.event_id, kind="purchase",
                              amount=event.amount, mcc=event.merchant.mcc)
        return None

    # --- the rule -----------------------------------------------------------------------------

    def score(self, event: Event, state: TakeoverState, /) -> tuple[TakeoverState, list[Finding]]:
        if not self.accepts(event):
            return state, []
        p = self.params
        now = event.occurred_at
        window = p.drain_window
        latest = now if state.latest_at is None else max(state.latest_at, now)
        first_at = now if state.first_at is None else min(state.first_at, now)
        learning_over = (
            state.events_seen >= p.learning_events and now >= first_at + p.learning_period
        )

        device = _digest(event.device_id) if event.device_id else None
        digital, physical = self._countries(event)
        devices = _sighted(state.devices, device, now, p.max_known_devices)
        countries = _sighted(state.countries, digital, now, p.max_known_countries)
        present = _sighted(state.present, physical, now, p.max_known_countries)
        payees = _sighted(state.payees, self._payee(event), now, p.max_known_payees)

        access: SuspiciousAccess | None = None
        if isinstance(event, AccountEvent) and event.kind in _ACCESS_KINDS and learning_over:
            access = self._suspicious(event, device, devices, countries, present,
                                      state.accesses)
        drain = self._drain(event, payees)

        accesses = state.accesses
        if access is not None or (accesses and accesses[0].at < latest - 2 * window):
            kept_accesses = [a for a in accesses if a.event_id != event.event_id]
            if access is not None:
                kept_accesses.append(access)
            accesses = tuple(sorted((a for a in kept_accesses if a.at >= latest - 2 * window),
                                    key=lambda a: (a.at, a.event_id))[-p.max_accesses:])
        drains = state.drains
        if drain is not None or (drains and drains[0].at < latest - window):
            kept_drains = [d for d in drains if d.event_id != event.event_id]
            if drain is not None:
                kept_drains.append(drain)
            drains = tuple(sorted((d for d in kept_drains if d.at >= latest - window),
                                  key=lambda d: (d.at, d.event_id))[-p.max_kept:])

        new_state = TakeoverState(
            first_at=first_at,
            latest_at=latest,
            events_seen=min(state.events_seen + 1, p.learning_events),
            devices=devices,
            countries=countries,
            present=present,
            payees=payees,
            accesses=accesses,
            drains=drains,
        )

        if drain is not None and any(d.event_id == event.event_id for d in drains):
            candidates = [a for a in accesses if a.at <= now <= a.at + window]
        elif access is not None and any(a.event_id == event.event_id for a in accesses):
            candidates = [access]
        else:
            return new_state, []
        known = _Known(new_state)
        found = [m for m in (self._match(c, new_state.drains, known, drain) for c in candidates)
                 if m is not None]
        if not found:
            return new_state, []
        # The strongest access (reset over login, then new device and country), then the earliest.
        best = min(found, key=lambda m: (-m.strength, m.access.at, m.access.event_id))
        return new_state, [self._finding(best)]

    def _suspicious(
        self,
        event: AccountEvent,
        device: str | None,
        devices: tuple[Sighting, ...],
        countries: tuple[Sighting, ...],
        present: tuple[Sighting, ...],
        kept: tuple[SuspiciousAccess, ...],
    ) -> SuspiciousAccess | None:
        """The access if its device or country is new: unseen before it, or introduced by a
        kept suspicious access less than ``drain_window`` earlier (so a reset that follows the
        criminal's first login from the same device is suspicious too)."""
        now = event.occurred_at
        since = now - self.params.drain_window
        country = event.location.country if event.location is not None else None
        device_new_since: datetime | None = None
        if device is not None and _other_before(devices, device, now):
            if not _seen_before(devices, device, now):
                device_new_since = now
            else:
                device_new_since = min(
                    (a.device_new_since for a in kept if a.device == device and a.at <= now
                     and a.device_new_since is not None and a.device_new_since >= since),
                    default=None,
                )
        country_new_since: datetime | None = None
        if country is not None and (
            _other_before(countries, country, now) or _other_before(present, country, now)
        ):
            if not (_seen_before(countries, country, now) or _seen_before(present, country, now)):
                country_new_since = now
            else:
                country_new_since = min(
                    (a.country_new_since for a in kept if a.country == country and a.at <= now
                     and a.country_new_since is not None and a.country_new_since >= since),
                    default=None,
                )
        if device_new_since is None and country_new_since is None:
            return None
        return SuspiciousAccess(
            at=now,
            event_id=event.event_id,
            kind=event.kind,
            device=device,
            device_masked=mask_device(event.device_id) if event.device_id else None,
            ip_masked=mask_ip(event.ip) if event.ip else None,
            country=country,
            device_new_since=device_new_since,
            country_new_since=country_new_since,
        )

    def _match(
        self, access: SuspiciousAccess, drains: tuple[DrainEvent, ...], known: _Known,
        trigger: DrainEvent | None,
    ) -> _Match | None:
        """The drain events that follow `access`, if they drain the account and the event being
        scored (`trigger`, a kept drain; None when it is `access` itself) is one of them."""
        p = self.params
        start, end = access.at, access.at + p.drain_window
        if trigger is not None and (
            not start <= trigger.at <= end
            or (trigger.payee is not None and known.payee_before(trigger.payee, start))
        ):
            return None
        hits = [
            d for d in drains
            if start <= d.at <= end and (d.payee is None or not known.payee_before(d.payee, start))
        ]
        if not hits:
            return None
        last_at = hits[-1].at
        # Re-checked against what arrived since: late knowledge can only clear a flag.
        new_device = (
            access.device is not None
            and access.device_new_since is not None
            and not known.device_before(access.device, access.device_new_since)
        )
        country = access.country
        new_country = (
            country is not None
            and access.country_new_since is not None
            and not known.country_before(country, access.country_new_since)
            and not known.present_by(country, last_at)  # travel: the card was used there
        )
        if not (new_device or new_country):
            return None

        transfers = [d for d in hits if d.kind == "transfer"]
        purchases = [d for d in hits if d.kind == "purchase"]
        transfer_total = sum((d.amount for d in transfers), Decimal(0))
        total = sum((d.amount for d in hits), Decimal(0))
        if (
            any(d.amount >= p.min_new_payee_amount for d in transfers)
            or transfer_total >= p.min_drained_total
        ):
            code = "ATO_NEW_ACCESS_THEN_NEW_PAYEE"
        elif len(purchases) >= p.min_resellable_purchases:
            code = "ATO_NEW_ACCESS_THEN_RESELLABLE_PURCHASES"
        elif total >= p.min_drained_total:
            code = "ATO_NEW_ACCESS_THEN_DRAIN"
        else:
            return None
        reset = access.kind is AccountEventKind.CREDENTIALS_RESET
        return _Match(access=access, hits=hits, new_device=new_device, new_country=new_country,
                      code=code, strength=2 * reset + (new_device and new_country))

    def _finding(self, match: _Match) -> Finding:
        p = self.params
        access, hits = match.access, match.hits
        new_device, new_country, country = match.new_device, match.new_country, access.country
        start, last_at = access.at, hits[-1].at
        transfers = [d for d in hits if d.kind == "transfer"]
        purchases = [d for d in hits if d.kind == "purchase"]
        transfer_total = sum((d.amount for d in transfers), Decimal(0))
        purchase_total = sum((d.amount for d in purchases), Decimal(0))
        total = transfer_total + purchase_total
        reset = access.kind is AccountEventKind.CREDENTIALS_RESET
        to_first = hits[0].at - start
        speed = max(0.0, 1.0 - to_first / p.drain_window)
        size = min(1.0, float(total / (5 * p.min_drained_total)))
        score = (
            (0.65 if reset else 0.5)
            + (0.1 if new_device and new_country else 0.0)
            + 0.1 * speed
            + 0.1 * size
            + 0.03 * min(len(purchases), 5)
        )
        payees = list(dict.fromkeys(d.payee for d in transfers if d.payee is not None))
        mccs = [d.mcc for d in purchases if d.mcc is not None]
        cur = self.profile.currency
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=match.code,
            score=round(min(1.0, score), 4),
            summary=self._summary(access, new_device, new_country, transfers, payees, mccs,
                                  total, last_at - start),
            evidence={
                "access_kind": access.kind.value,
                "access_event_id": access.event_id,
                "access_at": start.isoformat(),
                "new_device": new_device,
                "new_country": new_country,
                "device": access.device_masked,
                "ip": access.ip_masked,
                "country": country,
                "hours_to_drain": round(to_first.total_seconds() / 3600, 2),
                "hours_to_last_drain": round((last_at - start).total_seconds() / 3600, 2),
                "drained_total": str(total),
                "currency": cur,
                "new_payee_transfers": len(transfers),
                "new_payees": payees,
                "new_payee_total": str(transfer_total),
                "purchases": len(purchases),
                "purchase_mccs": mccs,
                "purchase_total": str(purchase_total),
                "drain_window_hours": p.drain_window.total_seconds() / 3600,
                "min_new_payee_amount": str(p.min_new_payee_amount),
                "min_drained_total": str(p.min_drained_total),
                "min_resellable_purchases": p.min_resellable_purchases,
                "min_purchase_amount": str(p.min_purchase_amount),
            },
            event_ids=(access.event_id, *(d.event_id for d in hits)),
            related_accounts=tuple(payees),
            window_start=start,
            window_end=last_at,
        )

    def _summary(
        self,
        access: SuspiciousAccess,
        new_device: bool,
        new_country: bool,
        transfers: list[DrainEvent],
        payees: list[str],
        mccs: list[str],
        total: Decimal,
        span: timedelta,
    ) -> str:
        what = "Credentials reset" if access.kind is AccountEventKind.CREDENTIALS_RESET else "Login"
        country = access.country
        if new_device and new_country:
            where = f"a new device in a new country ({country})"
        elif new_device:
            where = "a new device" + (f" in {country}" if country else "")
        else:
            where = f"a new country ({country})"
        parts: list[str] = []
        if transfers:
            parts.append(
                "a transfer to a new payee" if len(transfers) == 1
                else f"{len(transfers)} transfers to {_plural(len(payees), 'new payee')}"
            )
        if mccs:
            labels = list(dict.fromkeys(RESELLABLE_MCCS.get(m, f"MCC {m}") for m in mccs))
            parts.append(f"{_plural(len(mccs), 'e-commerce purchase')} of {_join(labels)}")
        return (
            f"{what} from {where}, then {' and '.join(parts)} totalling "
            f"{_money(total, self.profile.currency)} within {_span(span)}."
        )
