"""Funnel account: cash paid in across several cities within days, then moved out quickly.

Rule card
---------
Signal
    At least ``min_deposits`` approved cash deposits into one account, made in at least
    ``min_cities`` distinct cities and totalling at least ``min_deposited``, within
    ``deposit_window`` of event time (span from the first to the last counted deposit, both ends
    inclusive); and, of that deposited cash, at least ``min_exit_share`` leaves again through
    *exits*: outflows after the first counted deposit (strictly) and at most ``exit_window``
    after the last one (inclusive). An exit is either
    - a cash withdrawal in a city that is not one of the counted deposit cities
      (``cash_elsewhere``), or anywhere in another country than the jurisdiction's
      (``cash_abroad``: the border crossing), or
    - a transfer out to a counterparty in another country than the jurisdiction's
      (``wire_abroad``).
    Both kinds add up towards ``min_exit_share`` (the typology uses either, often both).
    The share is exit total / deposited total and may exceed 1 (money from elsewhere leaves
    too); it is reported as such.
Typology
    ``funnel_account``. FinCEN advisory FIN-2014-A005 ("Update on U.S. Currency Restrictions in
    Mexico: Funnel Accounts and TBML", May 2014) describes an account that receives many cash
    deposits, often by third parties at branches far from where it is held and often below the
    reporting threshold, and whose funds are withdrawn in another geographic area shortly
    afterwards, or wired on to pay for goods shipped abroad (trade-based laundering; FATF,
    "Trade Based Money Laundering", 2006, and FATF-Egmont "Trade-Based Money Laundering:
    Trends and Developments", 2020).
Why these defaults
    The advisory names no figures; these are calibration defaults for the Morocco profile (MAD),
    chosen to be read and tuned: 4 deposits in 3 cities within 5 days is more than a salesperson
    passing through two branches; 20,000 MAD total keeps pocket money out; 60 % leaving within
    72 hours is "little time elapsing" with room for a weekend.
Cities
    Compared trimmed, with inner whitespace collapsed and case-folded (" fez" == "FEZ" == "Fez").
    A deposit without a city counts as a deposit (count and total) but not as a city. A cash
    withdrawal without a city counts only if its country is foreign; a withdrawal with neither is
    never an exit (where it happened is unknown).
Not a funnel account (hard negatives)
    Many deposits in one city (a business banking its daily takings); deposits in several cities
    with no money moved out (a travelling salesperson); deposits spread over more than the
    window; domestic transfers out (rent to a landlord, a supplier), also transfers whose
    counterparty country is unknown; a total below ``min_deposited``; cash withdrawn in one of
    the deposit cities (spending at home); declined events and other currencies than the
    profile's (no FX conversion).
State kept (bounded)
    Approved cash deposits (time, amount, city, event id) and candidate outflows (cash
    withdrawals with a city or abroad, transfers abroad: time, amount, kind, city, country,
    counterparty account, event id) of the last ``deposit_window + exit_window`` of event time
    before the newest kept event, at most ``max_kept`` of each, sorted by event time. An event
    older than that horizon when it arrives is dropped and cannot fire.
Evaluation
    On every accepted event, every contiguous run of kept deposits that fits the window and
    contains the event (a deposit), or whose exits include the event (an outflow), is tested;
    the run that satisfies the rule with the highest score fires (ties: earliest start, then
    the longest run). A late event therefore completes a pattern in event time, not arrival
    order.
Reason codes
    ``FUNNEL_MULTI_CITY_CASH_THEN_EXIT``: evidence lists deposit count, deposits without a
    city, cities, deposited total, exit total and share, exit kinds with their cities or
    countries, hours from the last deposit to the last exit, the thresholds, and the event ids
    of the deposits (then of the exits, each in event-time order); related accounts are the
    counterparty accounts of the transfers abroad.
Score
    0.5 at the minimum pattern; +0.05 per city beyond ``min_cities`` (up to +0.15); +0.025 per
    deposit beyond ``min_deposits`` (up to +0.1); +0.1 times how far the exit share lies from
    ``min_exit_share`` to 100 %; +0.1 times speed (1 if the last exit is at or before the last
    deposit, 0 at ``exit_window``); +0.1 if any exit goes abroad; capped at 1.
Parameters (``TXMON_DETECTORS__FUNNEL_ACCOUNT__*``)
    ``deposit_window`` = 5 days, ``min_cities`` = 3, ``min_deposits`` = 4, ``min_deposited`` =
    20,000 (profile currency), ``exit_window`` = 72 hours, ``min_exit_share`` = 0.6,
    ``max_kept`` = 64 (deposits, and separately outflows).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from models import Direction, Finding, Transaction, TransactionKind, TransactionStatus, Typology

__all__ = ["CashIn", "FunnelAccount", "FunnelAccountParams", "FunnelWindow", "Outflow"]

CODE = "FUNNEL_MULTI_CITY_CASH_THEN_EXIT"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: Amounts are compared as integers of millionths (the contract allows 6 decimal places).
_UNITS = 6


class FunnelAccountParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    deposit_window: timedelta = Field(default=timedelta(days=5), gt=timedelta(0))
    min_cities: int = Field(default=3, ge=2)
    min_deposits: int = Field(default=4, ge=2)
    min_deposited: Decimal = Field(default=Decimal("20000"), gt=0)
    exit_window: timedelta = Field(default=timedelta(hours=72), gt=timedelta(0))
    min_exit_share: float = Field(default=0.6, gt=0.0, le=1.0)
    max_kept: int = Field(default=64, ge=2)

    @model_validator(mode="after")
    def _can_fire(self) -> FunnelAccountParams:
        if self.max_kept < max(self.min_deposits, self.min_cities):
            raise ValueError("max_kept must be at least min_deposits and min_cities")
        return self


class CashIn(BaseModel):
    """A kept cash deposit; ``city`` is the trimmed label as reported (None if not given)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    amount: Decimal
    city: str | None = None
    event_id: str


class Outflow(BaseModel):
    """A kept cash withdrawal (``cash``) or transfer abroad (``wire``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    amount: Decimal
    kind: Literal["cash", "wire"]
    city: str | None = None
    country: str | None = None
    counterparty: str | None = None
    event_id: str


class FunnelWindow(DetectorState):
    deposits: tuple[CashIn, ...] = ()
    outflows: tuple[Outflow, ...] = ()


def _label(city: str | None) -> str | None:
    if city is None:
        return None
    text = " ".join(city.split())
    return text or None


def _key(label: str | None) -> str | None:
    return label.casefold() if label is not None else None


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _units(amount: Decimal) -> int:
    return int(amount.scaleb(_UNITS))


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _within(span: timedelta) -> str:
    """A span rounded up, so that "within 3 days" is true."""
    micros = span // _MICROSECOND
    if span <= timedelta(days=1):
        hours = max(1, -(-micros // (timedelta(hours=1) // _MICROSECOND)))
        return f"{hours} hour{'s' if hours != 1 else ''}"
    tenths = -(-micros // (timedelta(days=0.1) // _MICROSECOND))
    days = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"
    return f"{days} day{'s' if days != '1' else ''}"


class _Run:
    """A run of deposits that satisfies the rule: indices [first, last] and its score."""

    __slots__ = ("first", "last", "rank", "score")

    def __init__(self, first: int, last: int, score: float) -> None:
        self.first, self.last, self.score = first, last, score
        self.rank = (score, -first, last)


class FunnelAccount:
    """Multi-city cash deposits then a quick exit elsewhere or abroad (see the module rule card)."""

    name: ClassVar[str] = "funnel_account"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.FUNNEL_ACCOUNT
    State = FunnelWindow

    def __init__(self, params: FunnelAccountParams, profile: Jurisdiction) -> None:
        self.params = params
        self.profile = profile
        share = Fraction(str(params.min_exit_share))
        self._share_num, self._share_den = share.numerator, share.denominator
        self._min_units = params.min_deposited.scaleb(_UNITS)
        self._horizon = params.deposit_window + params.exit_window
        self._window_us = params.deposit_window // _MICROSECOND
        self._exit_us = params.exit_window // _MICROSECOND
        self._spare = 1.0 - params.min_exit_share

    # --- intake ---------------------------------------------------------------------------

    def _abroad(self, country: str | None) -> bool:
        return country is not None and country != self.profile.country

    def _countable(self, outflow: Outflow) -> bool:
        """Whether an outflow can be an exit at all (abroad, or a cash withdrawal in a city)."""
        if self._abroad(outflow.country):
            return True
        return outflow.kind == "cash" and outflow.city is not None

    def accepts(self, event: Event, /) -> bool:
        if not (
            isinstance(event, Transaction)
            and event.status is TransactionStatus.APPROVED
            and event.currency == self.profile.currency
        ):
            return False
        kind = event.kind
        if kind is TransactionKind.CASH_DEPOSIT:
            return event.direction is Direction.IN
        if kind is TransactionKind.CASH_WITHDRAWAL:
            loc = event.location
            return loc is not None and (
                _label(loc.city) is not None or self._abroad(loc.country)
            )
        if kind is TransactionKind.TRANSFER and event.direction is Direction.OUT:
            cp = event.counterparty
            return cp is not None and self._abroad(cp.country)
        return False

    def score(self, event: Event, state: FunnelWindow, /) -> tuple[FunnelWindow, list[Finding]]:
        if not self.accepts(event):
            return state, []
        assert isinstance(event, Transaction)  # noqa: S101 - narrowed by accepts()
        eid, now = event.event_id, event.occurred_at
        deposits = [d for d in state.deposits if d.event_id != eid]
        outflows = [o for o in state.outflows if o.event_id != eid]
        loc = event.location
        if event.kind is TransactionKind.CASH_DEPOSIT:
            deposits.append(CashIn(at=now, amount=event.amount, event_id=eid,
                                   city=_label(loc.city) if loc else None))
        elif event.kind is TransactionKind.CASH_WITHDRAWAL:
            assert loc is not None  # noqa: S101 - checked by accepts()
            outflows.append(Outflow(at=now, amount=event.amount, kind="cash", event_id=eid,
                                    city=_label(loc.city), country=loc.country))
        else:
            cp = event.counterparty
            assert cp is not None  # noqa: S101 - checked by accepts()
            outflows.append(Outflow(at=now, amount=event.amount, kind="wire", event_id=eid,
                                    country=cp.country, counterparty=cp.account_id))
        deposits.sort(key=lambda d: (d.at, d.event_id))
        outflows.sort(key=lambda o: (o.at, o.event_id))
        newest = max(x[-1].at for x in (deposits, outflows) if x)
        cutoff = newest - self._horizon
        deposits = [d for d in deposits if d.at >= cutoff][-self.params.max_kept :]
        outflows = [o for o in outflows if o.at >= cutoff][-self.params.max_kept :]
        new_state = FunnelWindow(deposits=tuple(deposits), outflows=tuple(outflows))

        kept: list[CashIn] | list[Outflow] = (
            deposits if event.kind is TransactionKind.CASH_DEPOSIT else outflows
        )
        if not any(x.event_id == eid for x in kept):
            return new_state, []  # older than the horizon of the newest event, or over max_kept
        outflows = [o for o in outflows if self._countable(o)]
        best = self._best_run(event, deposits, outflows)
        if best is None:
            return new_state, []
        return new_state, [self._finding(best, deposits, outflows)]

    # --- search ---------------------------------------------------------------------------

    def _best_run(self, event: Transaction, deposits: list[CashIn],
                  outflows: list[Outflow]) -> _Run | None:
        """The highest-scoring run of deposits that satisfies the rule with this event in it.

        Runs are contiguous in event time; for each start, the run grows one deposit at a time
        while sums, cities and exits are kept incrementally. Times are integer microseconds.
        """
        p = self.params
        keys = [_key(d.city) for d in deposits]
        if not outflows or len({k for k in keys if k is not None}) < p.min_cities:
            return None  # cheap exit: nothing left, or not enough cities kept at all
        window, exit_window = self._window_us, self._exit_us
        dep_at = [_micros(d.at) for d in deposits]
        dep_units = [_units(d.amount) for d in deposits]
        out_at = [_micros(o.at) for o in outflows]
        out_units = [_units(o.amount) for o in outflows]
        out_cum = [0, *itertools.accumulate(out_units)]
        # None: counts wherever it goes (abroad); otherwise the city key it must avoid.
        out_city = [None if self._abroad(o.country) else _key(o.city) for o in outflows]
        min_deposits, min_cities, min_units = p.min_deposits, p.min_cities, self._min_units
        share_num, share_den = self._share_num, self._share_den

        eid = event.event_id
        is_deposit = event.kind is TransactionKind.CASH_DEPOSIT
        k = q = -1
        if is_deposit:
            k = next(i for i, d in enumerate(deposits) if d.event_id == eid)
            t = dep_at[k]
        else:
            q = next(i for i, o in enumerate(outflows) if o.event_id == eid)
            t = out_at[q]

        best: _Run | None = None
        n, m = len(deposits), len(outflows)
        for i in range(n):
            start = dep_at[i]
            if is_deposit:
                if i > k:
                    break
                if t - start > window:
                    continue
            else:
                if start >= t:
                    break  # an exit comes strictly after the first deposit
                if t - start > window + exit_window:
                    continue
            if best is not None and best.score >= 1.0:
                break  # capped: a later start can only lose the tie-break
            limit = start + window
            first_out = bisect_right(out_at, start)  # exits come strictly after the first
            # at most this much can leave for any run from this start (no city excluded)
            bound = (out_cum[bisect_right(out_at, limit + exit_window)] - out_cum[first_out])
            bound *= share_den
            count = total = abroad = domestic = excluded = 0
            last_exit = -1  # time of the newest counted exit; -1: unknown, scan if needed
            cities: set[str] = set()
            by_city: dict[str, int] = {}
            ptr = first_out
            for j in range(i, n):
                at = dep_at[j]
                if at > limit:
                    break
                count += 1
                total += dep_units[j]
                if bound < share_num * total:
                    break  # too little can leave for this run and every longer one
                city = keys[j]
                if city is not None and city not in cities:
                    cities.add(city)
                    if city in by_city:
                        excluded += by_city[city]
                        last_exit = -1
                end = at + exit_window
                while ptr < m and out_at[ptr] <= end:
                    where, amount = out_city[ptr], out_units[ptr]
                    if where is None:
                        abroad += amount
                    else:
                        domestic += amount
                        by_city[where] = by_city.get(where, 0) + amount
                        if where in cities:
                            excluded += amount
                            ptr += 1
                            continue
                    last_exit = out_at[ptr]  # added in time order: the newest counted one
                    ptr += 1
                if j < k:
                    continue
                if count < min_deposits or len(cities) < min_cities or total < min_units:
                    continue
                if q >= 0 and (not first_out <= q < ptr or out_city[q] in cities):
                    continue  # the event (an outflow) is not one of this run's exits
                exit_units = abroad + domestic - excluded
                if exit_units * share_den < share_num * total:
                    continue
                if last_exit == -1:
                    last_exit = next(
                        out_at[x] for x in range(ptr - 1, first_out - 1, -1)
                        if out_city[x] is None or out_city[x] not in cities
                    )
                score = self._score(len(cities), count, exit_units / total,
                                    (last_exit - at) / exit_window, abroad > 0)
                if best is None or (score, -i, j) > best.rank:
                    best = _Run(i, j, score)
        return best

    def _score(self, cities: int, count: int, share: float, to_exit: float,
               abroad: bool) -> float:
        """``to_exit``: time from the last deposit to the last exit, in exit windows."""
        p = self.params
        share_part = (
            1.0 if self._spare <= 0
            else min(1.0, max(0.0, (share - p.min_exit_share) / self._spare))
        )
        speed = 1.0 - min(1.0, max(0.0, to_exit))
        score = (
            0.5
            + 0.05 * min(cities - p.min_cities, 3)
            + 0.025 * min(count - p.min_deposits, 4)
            + 0.1 * share_part
            + 0.1 * speed
            + (0.1 if abroad else 0.0)
        )
        return round(min(1.0, score), 4)

    # --- the finding ----------------------------------------------------------------------

    def _finding(self, run: _Run, deposits: list[CashIn], outflows: list[Outflow]) -> Finding:
        p = self.params
        cur = self.profile.currency
        group = deposits[run.first : run.last + 1]
        first_at, last_at = group[0].at, group[-1].at
        labels: dict[str, str] = {}
        for d in group:
            key = _key(d.city)
            if key is not None:
                labels.setdefault(key, d.city or key)
        end = last_at + p.exit_window
        exits = [
            o for o in outflows
            if first_at < o.at <= end
            and (self._abroad(o.country) or _key(o.city) not in labels)
        ]
        total = sum((d.amount for d in group), Decimal(0))
        exit_total = sum((o.amount for o in exits), Decimal(0))
        share = float(exit_total / total)
        percent = int(exit_total * 100 / total)  # rounded down: "60 %" is never 59.99 %
        to_exit = max(timedelta(0), max(o.at for o in exits) - last_at)

        kinds: dict[str, list[Outflow]] = {}
        for o in exits:
            if o.kind == "wire":
                kind = "wire_abroad"
            elif self._abroad(o.country):
                kind = "cash_abroad"
            else:
                kind = "cash_elsewhere"
            kinds.setdefault(kind, []).append(o)
        detail: dict[str, dict[str, object]] = {}
        phrases: list[str] = []
        for kind in ("cash_elsewhere", "cash_abroad", "wire_abroad"):
            if kind not in kinds:
                continue
            items = kinds[kind]
            if kind == "cash_elsewhere":
                names = {_key(o.city): o.city or "" for o in reversed(items)}  # first spelling
                places = sorted(names.values(), key=str.casefold)
                phrases.append(f"withdrawn in cash in {', '.join(places)}")
            else:
                places = sorted({o.country or "" for o in items})
                phrases.append(
                    f"withdrawn in cash abroad ({', '.join(places)})" if kind == "cash_abroad"
                    else f"wired to {', '.join(places)}"
                )
            detail[kind] = {
                "count": len(items),
                "total": str(sum((o.amount for o in items), Decimal(0))),
                "places": places,
            }

        city_names = sorted(labels.values(), key=str.casefold)
        summary = (
            f"{len(group)} cash deposits totalling {_money(total, cur)} in {len(labels)} cities "
            f"({', '.join(city_names)}) within {_within(last_at - first_at)}, then "
            f"{percent} % moved out within {_within(to_exit)} "
            f"({' and '.join(phrases)})."
        )
        related = sorted({o.counterparty for o in exits if o.kind == "wire" and o.counterparty})
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=CODE,
            score=run.score,
            summary=summary,
            evidence={
                "deposits": len(group),
                "deposits_without_city": sum(1 for d in group if d.city is None),
                "cities": city_names,
                "city_count": len(labels),
                "deposited_total": str(total),
                "currency": cur,
                "first_deposit_at": first_at.isoformat(),
                "last_deposit_at": last_at.isoformat(),
                "deposit_span_hours": round((last_at - first_at).total_seconds() / 3600, 1),
                "exit_total": str(exit_total),
                "exit_share": round(share, 4),
                "exit_kinds": sorted(detail),
                "exits": detail,
                "hours_to_exit": round(to_exit.total_seconds() / 3600, 1),
                "min_cities": p.min_cities,
                "min_deposits": p.min_deposits,
                "min_deposited": str(p.min_deposited),
                "deposit_window_days": p.deposit_window.total_seconds() / 86400,
                "exit_window_hours": p.exit_window.total_seconds() / 3600,
                "min_exit_share": p.min_exit_share,
            },
            event_ids=tuple(d.event_id for d in group) + tuple(o.event_id for o in exits),
            related_accounts=tuple(related),
            window_start=first_at,
            window_end=max(last_at, exits[-1].at),
        )
