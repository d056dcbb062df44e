"""Mule account: money from many different senders, passed straight on within hours.

Rule card
---------
Signal
    A *window* of inflows: the approved credit transfers that arrived within ``window`` of
    the newest of them (both ends inclusive). It qualifies when they come from at least
    ``min_distinct_senders`` different senders, total at least ``min_inflow``, and at least
    ``min_outflow_share`` of that total leaves again within ``pass_through_window`` of arriving
    (inclusive) to the account's ``max_destinations`` largest destinations.

    Inflow
        An approved ``transfer`` ``in`` in the profile's currency whose counterparty names the
        sender: ``counterparty.account_id``, else ``counterparty.name`` (case and spacing
        ignored). The payee leg the monitor derives from a payer's ``out`` (event id
        ``...~payee``) is one, its sender the payer's account: the rule sees the same inflow
        whether the payee's bank, the payer's bank or both report it.
    Outflow
        An approved ``transfer`` ``out`` in the profile's currency (destination: the
        counterparty's account id, else its name, else its country; *abroad* when
        ``counterparty.country`` is not the profile's country) or an approved
        ``cash_withdrawal`` (all cash is one destination; abroad when ``location.country`` is
        not the profile's). Card payments are spending, not pass-through. Transfers between the
        account and itself are neither inflow nor outflow.
    Passed on
        First in, first out, within the window: outflows by event time each pay out the
        earliest of the window's inflows that arrived at or before them, at most
        ``pass_through_window`` before them, and still have money left. (Greedy in this order
        passes the largest possible amount.) Only money paid to the ``max_destinations``
        destinations that got the most counts: a small fourth payment does not hide a mule,
        money spread over many payees (a business paying its suppliers) does not make one.
    When it fires
        On every event that belongs to a qualifying window: one of its inflows, or an outflow
        that passed some of its money on to one of its largest destinations. The windows tried
        end at an inflow and hold the event (for an outflow: end at or after an inflow it could
        pay out); the latest qualifying one is reported. Event time throughout, so an event
        reported late completes a pattern as an in-order one would. The alert policy folds the
        repeats into one episode.
    Complete windows only
        A window is judged only while all of it is kept: none of its inflows, and none of the
        outflows from its first inflow on, evicted by ``max_kept`` (or reported so late that
        they were older than what is kept). An account with more than ``max_kept`` credit
        transfers in ``window + pass_through_window`` is thus flagged while its first
        ``max_kept`` arrive, not later; collection accounts with hundreds of payers are the
        ``funnel_account`` typology's business.
Typology
    ``mule_account``: an account that receives the proceeds of fraud from victims or other
    mules and forwards them for someone else (FATF, "Illicit Financial Flows from
    Cyber-Enabled Fraud", 2023; Europol's European Money Mule Action (EMMA) reports; FinCEN
    advisory FIN-2020-A003 on imposter scams and money mule schemes, July 2020; UK Finance
    money-mule guidance). Their red flags: transfers from several unrelated people, quickly
    transferred on or withdrawn in cash, often abroad, in a new or previously quiet account.
Why these defaults
    Five senders in seven days: more than the one or two payers of an ordinary household
    (salary, family). 70 % within 48 hours: "most of it within a day or two" in the sources;
    the rest is usually the mule's cut. ``min_inflow`` defaults to 10 % of the jurisdiction's
    cash reporting threshold (10,000 MAD in Morocco), so the default follows the profile's
    currency and small gifts are not flagged. At most three destinations, cash counting as
    one: the money is forwarded to a herder, abroad or taken out as cash, not spent.
Not a mule (hard negatives)
    A business paying its payroll (few senders, many payees); a student supported by several
    relatives who spends by card over weeks; a landlord collecting rent and keeping it; a
    business receiving many customer payments and paying a supplier two weeks later; a salary
    in and the rent out (one sender); many senders below ``min_inflow``; money sent out before
    the inflows (paid for a group, reimbursed later). A mature account with regular
    salary-like inflows is neither new nor quiet: if it ever qualifies, it scores lower.
Known false positives (for the analyst)
    The collector of a rotating savings circle (tontine, *daret*) paying the pot to the month's
    member; a small business sweeping its takings to a parent account or its suppliers within
    two days; and, on the monitor's first days, any such business, whose earlier inflows were
    never seen. They score low (mature, not known to be quiet, domestic). Legs in another
    currency than the profile's are not counted (no FX here); a sender reported once by
    account id and once by name only counts twice.
State kept (bounded)
    Inflows (time, sender, amount, event id) and outflows (time, destination, abroad, amount,
    event id) within ``window + pass_through_window`` of the newest event time seen, at most
    ``max_kept`` of each, sorted by event time; older ones are evicted on arrival. Four times:
    the opening (from an ``opened`` account event, in any order), the earliest event seen, and
    the newest evicted inflow and outflow.
Reason codes
    ``MULE_FAN_IN_PASS_THROUGH``: the rule fired; evidence gives senders, inflow total, the
    amount passed on and its share, median and maximum hours to pass through, the
    destinations (abroad, cash), account age and whether it was new or quiet, the thresholds
    and windows; event ids are the window's inflows and the outflows that passed it on.
Score
    0.5 when the rule is just met, plus 0.1 times each of: extra senders (min(senders -
    minimum, 5) / 5); share above the minimum ((share - minimum) / (1 - minimum)); speed (1 -
    the money-weighted median pass-through time / ``pass_through_window``); newness (1 when
    opened at most ``new_account_age`` before the first inflow; 0.5 when quiet: watched that
    long before it without an inflow or outflow; else 0); and the part of the money passed on
    that went abroad or out in cash. At most 1.
Parameters (``TXMON_DETECTORS__MULE_ACCOUNT__*``)
    ``window`` = 7 days, ``pass_through_window`` = 48 hours, ``min_distinct_senders`` = 5,
    ``min_inflow`` = None (10 % of the cash reporting threshold, in the profile's currency),
    ``min_outflow_share`` = 0.7, ``max_destinations`` = 3, ``new_account_age`` = 90 days,
    ``max_kept`` = 64 inflows and 64 outflows.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from itertools import accumulate
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from models import (
    AccountEvent,
    AccountEventKind,
    Direction,
    Finding,
    Transaction,
    TransactionKind,
    TransactionStatus,
    Typology,
)

__all__ = ["Inflow", "MuleAccount", "MuleAccountParams", "MuleWindow", "Outflow"]

CODE = "MULE_FAN_IN_PASS_THROUGH"
#: Counterparty names are compared case-insensitively on their first characters (state bound).
NAME_KEPT = 64
_ZERO = Decimal(0)
_AT, _AMOUNT = attrgetter("at"), attrgetter("amount")

SenderKind = Literal["account", "name"]
DestinationKind = Literal["account", "name", "country", "unidentified", "cash"]
Destination = tuple[str, str]  # (kind, id): what counts as one destination


class MuleAccountParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    pass_through_window: timedelta = Field(default=timedelta(hours=48), gt=timedelta(0))
    min_distinct_senders: int = Field(default=5, ge=2)
    #: In the jurisdiction's currency; None = 10 % of its cash reporting threshold.
    min_inflow: Annotated[Decimal, Field(gt=0)] | None = None
    min_outflow_share: float = Field(default=0.7, gt=0.0, le=1.0)
    max_destinations: int = Field(default=3, ge=1)
    new_account_age: timedelta = Field(default=timedelta(days=90), gt=timedelta(0))
    max_kept: int = Field(default=64, ge=2)

    @model_validator(mode="after")
    def _room_for_the_senders(self) -> MuleAccountParams:
        if self.max_kept < self.min_distinct_senders:
            raise ValueError("max_kept must be at least min_distinct_senders")
        return self


class Inflow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    sender: str
    by: SenderKind = "account"
    amount: Decimal
    event_id: str


class Outflow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    to: str
    via: DestinationKind = "account"
    abroad: bool = False
    amount: Decimal
    event_id: str

    @property
    def destination(self) -> Destination:
        return self.via, self.to


class MuleWindow(DetectorState):
    inflows: tuple[Inflow, ...] = ()
    outflows: tuple[Outflow, ...] = ()
    opened_at: datetime | None = None  # from an `opened` account event
    first_seen_at: datetime | None = None  # the earliest event time of any event accepted
    #: Event time of the newest inflow / outflow no longer kept (too old, or beyond max_kept).
    inflow_evicted_at: datetime | None = None
    outflow_evicted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _PassThrough:
    """How one window's money was passed on to its largest destinations."""

    outflows: list[Outflow]  # the outflows that passed it on, by event time
    destinations: list[tuple[Destination, Decimal]]  # largest first, at most max_destinations
    passed: Decimal  # to those destinations
    elsewhere: Decimal  # passed on in time, but to smaller destinations
    others: int  # how many smaller destinations
    shares: list[tuple[float, Decimal, Outflow]]  # (seconds since the inflow, amount, outflow)


def _name(name: str) -> str:
    """A counterparty name as compared: case and spacing ignored, first NAME_KEPT characters."""
    return " ".join(name.split()).casefold()[:NAME_KEPT]


def _by_time(leg: Inflow | Outflow) -> tuple[datetime, str]:
    return leg.at, leg.event_id


def _add(counts: dict[Any, Any], key: Any, change: Any) -> None:
    """Add `change` to `counts[key]`, dropping the key when it comes back to zero."""
    value = counts.get(key, 0) + change
    if value:
        counts[key] = value
    else:
        del counts[key]


class _Tally:
    """Sums per key over `keys[lo:hi]`; moving the range updates them by the difference."""

    def __init__(self, keys: list[Any], weights: list[Any]) -> None:
        self.keys, self.weights = keys, weights
        self.lo = self.hi = 0
        self.sums: dict[Any, Any] = {}

    def over(self, lo: int, hi: int) -> dict[Any, Any]:
        if hi <= self.lo or lo >= self.hi:  # no overlap with the last range: start again
            self.sums, self.lo, self.hi = {}, lo, lo
        for n in (*range(hi, self.hi), *range(self.lo, lo)):  # left the range
            _add(self.sums, self.keys[n], -self.weights[n])
        for n in (*range(self.hi, hi), *range(lo, self.lo)):  # entered it
            _add(self.sums, self.keys[n], self.weights[n])
        self.lo, self.hi = lo, hi
        return self.sums


def _largest_sum(sums: dict[Any, Decimal], count: int) -> Decimal:
    """The sum of the `count` largest values."""
    values = sorted(sums.values(), reverse=True)
    return sum(values[:count], _ZERO)


def _newest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _oldest(known: datetime | None, at: datetime) -> datetime:
    return at if known is None or at < known else known


def _trim(legs: Sequence[Any], horizon: datetime,
          max_kept: int) -> tuple[tuple[Any, ...], datetime | None]:
    """The legs at or after `horizon`, at most `max_kept` (the newest); and the newest dropped."""
    start = max(bisect_left(legs, horizon, key=lambda leg: leg.at), len(legs) - max_kept)
    return tuple(legs[start:]), (legs[start - 1].at if start else None)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _span(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    if days < 1:
        hours = max(1, round(span.total_seconds() / 3600))
        return f"{hours} hour{'s' if hours != 1 else ''}"
    text = f"{round(days, 1):g}"
    return f"{text} day{'s' if text != '1' else ''}"


def _within(seconds: float) -> str:
    """An upper bound in whole hours (minutes under one hour)."""
    if seconds < 3600:
        minutes = max(1, math.ceil(seconds / 60))
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(seconds / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _weighted_median(shares: list[tuple[float, Decimal, Outflow]]) -> float:
    """The time within which half the passed-on money had left."""
    ordered = sorted((seconds, amount) for seconds, amount, _ in shares)
    half = sum((amount for _, amount in ordered), _ZERO) / 2
    running = _ZERO
    for seconds, amount in ordered:
        running += amount
        if running >= half:
            return seconds
    return ordered[-1][0]


class MuleAccount:
    """Money from many senders passed straight on (see the module rule card)."""

    name: ClassVar[str] = "mule_account"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.MULE_ACCOUNT
    State = MuleWindow

    def __init__(self, params: MuleAccountParams, profile: Jurisdiction) -> None:
        self.params = params
        self.profile = profile
        self._min_inflow = (
            params.min_inflow
            if params.min_inflow is not None
            else (profile.cash_reporting_threshold / 10).quantize(Decimal("0.01"))
        )
        self._share = Decimal(str(params.min_outflow_share))

    # --- what the detector looks at ----------------------------------------------------------

    def accepts(self, event: Event, /) -> bool:
        if isinstance(event, AccountEvent):
            return event.kind is AccountEventKind.OPENED
        if event.status is not TransactionStatus.APPROVED:
            return False
        if event.currency != self.profile.currency:
            return False
        if event.kind is TransactionKind.CASH_WITHDRAWAL:
            return True
        cp = event.counterparty
        if event.kind is not TransactionKind.TRANSFER or cp is None:
            return False
        if cp.account_id is not None and cp.account_id == event.account_id:
            return False  # between the account and itself
        return event.direction is Direction.OUT or bool(cp.account_id or cp.name)

    def _inflow(self, txn: Transaction) -> Inflow:
        cp = txn.counterparty
        assert cp is not None  # noqa: S101 - checked by accepts()
        if cp.account_id:
            return Inflow(at=txn.occurred_at, sender=cp.account_id, by="account",
                          amount=txn.amount, event_id=txn.event_id)
        return Inflow(at=txn.occurred_at, sender=_name(cp.name or ""), by="name",
                      amount=txn.amount, event_id=txn.event_id)

    def _outflow(self, txn: Transaction) -> Outflow:
        home = self.profile.country
        if txn.kind is TransactionKind.CASH_WITHDRAWAL:
            country = txn.location.country if txn.location else None
            return Outflow(at=txn.occurred_at, to="cash", via="cash",
                           abroad=country is not None and country != home,
                           amount=txn.amount, event_id=txn.event_id)
        cp = txn.counterparty
        assert cp is not None  # noqa: S101 - checked by accepts()
        to: str
        via: DestinationKind
        if cp.account_id:
            to, via = cp.account_id, "account"
        elif cp.name:
            to, via = _name(cp.name), "name"
        elif cp.country:
            to, via = cp.country, "country"
        else:
            to, via = "", "unidentified"
        return Outflow(at=txn.occurred_at, to=to, via=via,
                       abroad=cp.country is not None and cp.country != home,
                       amount=txn.amount, event_id=txn.event_id)

    # --- scoring -------------------------------------------------------------------------------

    def score(self, event: Event, state: MuleWindow, /) -> tuple[MuleWindow, list[Finding]]:
        if not self.accepts(event):
            return state, []
        first_seen = _oldest(state.first_seen_at, event.occurred_at)
        if isinstance(event, AccountEvent):
            opened = _oldest(state.opened_at, event.occurred_at)
            if (opened, first_seen) == (state.opened_at, state.first_seen_at):
                return state, []
            return state.model_copy(update={"opened_at": opened, "first_seen_at": first_seen}), []

        p = self.params
        leg: Inflow | Outflow
        leg = self._inflow(event) if event.direction is Direction.IN else self._outflow(event)
        inflows, outflows = list(state.inflows), list(state.outflows)
        legs: list[Any] = inflows if isinstance(leg, Inflow) else outflows
        at = bisect_left(legs, _by_time(leg), key=_by_time)
        if at == len(legs) or legs[at].event_id != leg.event_id:  # else: a redelivery
            legs.insert(at, leg)

        newest = max(leg.at, *(kept[-1].at for kept in (inflows, outflows) if kept))
        horizon = newest - p.window - p.pass_through_window
        kept_in, evicted_in = _trim(inflows, horizon, p.max_kept)
        kept_out, evicted_out = _trim(outflows, horizon, p.max_kept)
        new_state = MuleWindow.model_construct(  # from parts validated already
            inflows=kept_in,
            outflows=kept_out,
            opened_at=state.opened_at,
            first_seen_at=first_seen,
            inflow_evicted_at=_newest(state.inflow_evicted_at, evicted_in),
            outflow_evicted_at=_newest(state.outflow_evicted_at, evicted_out),
        )
        kept = kept_in if isinstance(leg, Inflow) else kept_out
        if not kept or _by_time(leg) < _by_time(kept[0]):
            return new_state, []  # older than what is kept: evicted on arrival
        finding = self._search(event, leg, new_state)
        return new_state, [finding] if finding is not None else []

    def _search(self, event: Transaction, leg: Inflow | Outflow,
                state: MuleWindow) -> Finding | None:
        """The latest qualifying window that holds this event, as a finding (None if none)."""
        p = self.params
        inflows, outflows = state.inflows, state.outflows
        if not outflows or len({(i.by, i.sender) for i in inflows}) < p.min_distinct_senders:
            return None  # no window can qualify
        in_times = list(map(_AT, inflows))
        out_times = list(map(_AT, outflows))
        # Windows end at an inflow, span `window` and hold the event: an inflow itself, or for
        # an outflow, an inflow it could pay out (one at most `pass_through_window` before it).
        first = bisect_left(in_times, leg.at - (p.pass_through_window
                                                if isinstance(leg, Outflow) else timedelta(0)))
        idx = bisect_right(in_times, leg.at + p.window) - 1
        if idx < first:
            return None
        in_sums = list(accumulate(map(_AMOUNT, inflows), initial=_ZERO))
        out_sums = list(accumulate(map(_AMOUNT, outflows), initial=_ZERO))
        senders: _Tally | None = None  # built for the first window that passes the sums
        paid_to: _Tally | None = None
        reachable = out_sums[-1]  # what the largest destinations got in the windows left

        # Latest window first: inflows[lo:hi], and outflows[o_lo:o_hi] that could pay it out.
        # Cheap bounds first; the first-in first-out match only for windows that pass them.
        while idx >= first:
            end = in_times[idx]
            lo, hi = bisect_left(in_times, end - p.window), idx + 1
            idx = bisect_left(in_times, end) - 1  # the next window ends at an earlier inflow
            total = in_sums[hi] - in_sums[lo]
            needed = total * self._share
            if total < self._min_inflow or reachable < needed:
                continue
            o_lo = bisect_left(out_times, in_times[lo])
            o_hi = bisect_right(out_times, end + p.pass_through_window)
            if out_sums[o_hi] - out_sums[o_lo] < needed or not self._complete(
                state, end - p.window, in_times[lo]
            ):
                continue
            if paid_to is None or senders is None:
                paid_to = _Tally([o.destination for o in outflows], [o.amount for o in outflows])
                senders = _Tally([(i.by, i.sender) for i in inflows], [1] * len(inflows))
                # What the largest destinations got from the first inflow of the earliest window
                # left to try to the end of this one's pass-through: a bound for all of them.
                oldest = in_times[bisect_left(in_times, in_times[first] - p.window)]
                reach = paid_to.over(bisect_left(out_times, oldest), o_hi)
                reachable = _largest_sum(reach, p.max_destinations)
            if reachable < needed:
                continue
            if (
                len(senders.over(lo, hi)) < p.min_distinct_senders
                or _largest_sum(paid_to.over(o_lo, o_hi), p.max_destinations) < needed
            ):
                continue
            window = inflows[lo:hi]
            passed = self._pass_through(window, outflows[o_lo:o_hi], needed)
            if passed is None:
                continue
            if isinstance(leg, Outflow) and all(o.event_id != leg.event_id
                                                for o in passed.outflows):
                continue  # the pattern is there, but this outflow did not pass its money on
            return self._finding(event, state, window, total, len(senders.over(lo, hi)), passed)
        return None

    @staticmethod
    def _complete(state: MuleWindow, start: datetime, first_inflow: datetime) -> bool:
        """Whether every inflow of a window from `start`, and every outflow that could pay it
        out, is still kept (none evicted by max_kept, or late and already too old)."""
        return (state.inflow_evicted_at is None or state.inflow_evicted_at < start) and (
            state.outflow_evicted_at is None or state.outflow_evicted_at < first_inflow
        )

    def _pass_through(self, inflows: Sequence[Inflow], outflows: Sequence[Outflow],
                      needed: Decimal) -> _PassThrough | None:
        """First-in first-out match of the outflows to the window's inflows.

        Each outflow pays out the earliest inflow that arrived at or before it, at most
        `pass_through_window` before it, and still has money left; for one outflow after
        another, by event time. None unless `needed` went to the largest destinations.
        """
        limit = self.params.pass_through_window
        left = [i.amount for i in inflows]
        shares: list[tuple[float, Decimal, Outflow]] = []
        per_destination: dict[Destination, Decimal] = {}
        first, count = 0, len(inflows)
        for out in outflows:
            while first < count and (not left[first] or out.at - inflows[first].at > limit):
                first += 1  # spent, or arrived too long before this (and every later) outflow
            need, j = out.amount, first
            while need and j < count and inflows[j].at <= out.at:
                take = min(need, left[j])
                left[j] -= take
                need -= take
                shares.append(((out.at - inflows[j].at).total_seconds(), take, out))
                _add(per_destination, out.destination, take)
                j += 1
        ranked = sorted(per_destination.items(), key=lambda kv: (-kv[1], kv[0]))
        top = ranked[: self.params.max_destinations]
        passed = sum((amount for _, amount in top), _ZERO)
        if passed < needed:
            return None
        chosen = {to for to, _ in top}
        shares = [share for share in shares if share[2].destination in chosen]
        return _PassThrough(
            outflows=list({id(o): o for _, _, o in shares}.values()),
            destinations=top,
            passed=passed,
            elsewhere=sum((amount for _, amount in ranked[len(top):]), _ZERO),
            others=len(ranked) - len(top),
            shares=shares,
        )

    def _quiet_before(self, state: MuleWindow, first_in: datetime) -> bool:
        """Seen for `new_account_age` before `first_in`, and no inflow or outflow in that time."""
        since = first_in - self.params.new_account_age
        if state.first_seen_at is None or state.first_seen_at > since:
            return False  # not watched for long enough to say
        evicted = _newest(state.inflow_evicted_at, state.outflow_evicted_at)
        if evicted is not None and since <= evicted < first_in:
            return False
        return not any(since <= i.at < first_in for i in state.inflows) and not any(
            since <= o.at < first_in for o in state.outflows
        )

    # --- the finding an analyst reads ------------------------------------------------------------

    def _finding(self, event: Transaction, state: MuleWindow, inflows: Sequence[Inflow],
                 total: Decimal, senders: int, passed: _PassThrough) -> Finding:
        p = self.params
        cur = self.profile.currency
        first_in = inflows[0].at
        share = passed.passed / total
        median = _weighted_median(passed.shares)
        slowest = max(seconds for seconds, _, _ in passed.shares)
        abroad_to = {o.destination for o in passed.outflows if o.abroad}
        abroad_amount = sum((a for _, a, o in passed.shares if o.abroad), _ZERO)
        cash_amount = sum((a for _, a, o in passed.shares if o.via == "cash"), _ZERO)
        away_amount = sum((a for _, a, o in passed.shares if o.abroad or o.via == "cash"), _ZERO)

        age = None if state.opened_at is None else max(first_in - state.opened_at, timedelta(0))
        new = age is not None and age <= p.new_account_age
        quiet = not new and self._quiet_before(state, first_in)

        room = 1.0 - p.min_outflow_share
        parts = (
            min(senders - p.min_distinct_senders, 5) / 5,
            min(1.0, float(share - self._share) / room) if room > 0 else 1.0,
            max(0.0, 1.0 - median / p.pass_through_window.total_seconds()),
            1.0 if new else 0.5 if quiet else 0.0,
            float(away_amount / passed.passed),
        )
        score = min(1.0, 0.5 + 0.1 * sum(parts))

        percent = (share * 100).to_integral_value(rounding=ROUND_FLOOR)
        count = len(passed.destinations)
        route = [f"{len(abroad_to)} abroad"] if abroad_to else []
        if cash_amount:
            route.append(f"{_money(cash_amount, cur)} withdrawn in cash")
        summary = (
            f"Received {_money(total, cur)} from {senders} different senders within "
            f"{_span(inflows[-1].at - first_in)} and sent {percent} % of it on within "
            f"{_within(slowest)} to {count} destination{'s' if count != 1 else ''}"
            + (f" ({', '.join(route)})" if route else "")
        )
        if new and age is not None:
            summary += f", into an account opened {_span(age)} before"
        elif quiet:
            quiet_for = _span(p.new_account_age)
            summary += f", into an account quiet (no transfers or withdrawals) for {quiet_for}"
        summary += "."

        outs = passed.outflows
        related = {i.sender for i in inflows if i.by == "account"}
        related |= {to for (via, to), _ in passed.destinations if via == "account"}
        related.discard(event.account_id)
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=CODE,
            score=round(score, 4),
            summary=summary,
            evidence={
                "senders": senders,
                "inflow_count": len(inflows),
                "inflow_total": str(total),
                "outflow_total": str(passed.passed),
                "outflow_share": round(float(share), 4),
                "currency": cur,
                "median_hours": round(median / 3600, 2),
                "max_hours": round(slowest / 3600, 2),
                "destinations": [
                    {"to": to, "kind": via, "amount": str(amount),
                     "abroad": (via, to) in abroad_to}
                    for (via, to), amount in passed.destinations
                ],
                "other_destinations": passed.others,
                "passed_elsewhere": str(passed.elsewhere),
                "abroad_count": len(abroad_to),
                "abroad_amount": str(abroad_amount),
                "cash_amount": str(cash_amount),
                "account_age_days": None if age is None else round(age.total_seconds() / 86400, 1),
                "new_account": new,
                "quiet_before": quiet,
                "min_distinct_senders": p.min_distinct_senders,
                "min_inflow": str(self._min_inflow),
                "min_outflow_share": p.min_outflow_share,
                "max_destinations": p.max_destinations,
                "window_days": p.window.total_seconds() / 86400,
                "pass_through_hours": p.pass_through_window.total_seconds() / 3600,
                "first_inflow_at": first_in.isoformat(),
                "last_inflow_at": inflows[-1].at.isoformat(),
                "last_outflow_at": outs[-1].at.isoformat(),
            },
            event_ids=tuple(i.event_id for i in inflows) + tuple(o.event_id for o in outs),
            related_accounts=tuple(sorted(related)),
            window_start=first_in,
            window_end=max(inflows[-1].at, outs[-1].at),
        )
