"""Structuring: cash deposits kept just under the reporting threshold, repeatedly.

Rule card
---------
Signal
    At least ``min_count`` approved cash deposits into one account, each at least
    ``near_fraction`` of the jurisdiction's cash reporting threshold but below it, within
    ``window`` of event time (the span from the oldest to the newest counted deposit is at most
    ``window``; both ends inclusive).
Typology
    ``structuring`` (FATF: "smurfing"/structuring to evade cash transaction reporting;
    FinCEN 31 U.S.C. 5324 defines the offence; Morocco's declaration threshold is the default).
Why these defaults
    Jurisdiction profile Morocco: currency MAD, reporting threshold 100,000 MAD. "Just under"
    means at least 80 % of the threshold (80,000 to 99,999.99 MAD), the band FinCEN and FATF
    guidance describe for deposits sized to stay below the report. Three such deposits in seven
    days is the pattern, one alone is not (a single large deposit is ordinary).
Not structuring (hard negatives)
    A single near-threshold deposit; deposits at or above the threshold (they are reported, so
    nothing is being evaded: a business depositing large cash openly); small deposits; deposits
    in another currency than the profile's; declined deposits; near-threshold deposits spread
    over more than the window.
State kept (bounded)
    The near-threshold deposits of the last ``window`` of event time (at most ``max_kept``),
    as (event time, amount, event id), sorted by event time; older ones are evicted on arrival.
Reason codes
    ``STRUCT_NEAR_THRESHOLD_REPEAT``: the rule fired; evidence lists count, total, threshold,
    floor, window, first and last deposit time and the deposits' event ids.
Score
    0.6 at ``min_count`` deposits, +0.1 per extra deposit (up to +0.3), +0.1 times how close the
    deposits sit to the threshold on average (0 at the floor, 1 just under it); capped at 1.
Parameters (``TXMON_DETECTORS__STRUCTURING__*``)
    ``window`` = 7 days, ``near_fraction`` = 0.8, ``min_count`` = 3, ``max_kept`` = 64.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from models import Direction, Finding, Transaction, TransactionKind, TransactionStatus, Typology

__all__ = ["CashWindow", "NearDeposit", "Structuring", "StructuringParams"]


class StructuringParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    near_fraction: float = Field(default=0.8, gt=0.0, lt=1.0)
    min_count: int = Field(default=3, ge=2)
    max_kept: int = Field(default=64, ge=2)


class NearDeposit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    amount: Decimal
    event_id: str


class CashWindow(DetectorState):
    deposits: tuple[NearDeposit, ...] = ()


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    if days < 1:
        hours = max(1, round(span.total_seconds() / 3600))
        return f"{hours} hour{'s' if hours != 1 else ''}"
    whole = round(days, 1)
    text = f"{whole:g}"
    return f"{text} day{'s' if text != '1' else ''}"


class Structuring:
    """Repeated cash deposits just under the cash reporting threshold (see the module rule card)."""

    name: ClassVar[str] = "structuring"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.STRUCTURING
    State = CashWindow

    def __init__(self, params: StructuringParams, profile: Jurisdiction) -> None:
        self.params = params
        self.profile = profile
        self._threshold = profile.cash_reporting_threshold
        self._floor = (
            profile.cash_reporting_threshold * Decimal(str(params.near_fraction))
        ).quantize(Decimal("0.01"))

    def accepts(self, event: Event, /) -> bool:
        return (
            isinstance(event, Transaction)
            and event.kind is TransactionKind.CASH_DEPOSIT
            and event.direction is Direction.IN
            and event.status is TransactionStatus.APPROVED
            and event.currency == self.profile.currency
            and self._floor <= event.amount < self._threshold
        )

    def score(self, event: Event, state: CashWindow, /) -> tuple[CashWindow, list[Finding]]:
        if not self.accepts(event):
            return state, []
        assert isinstance(event, Transaction)  # noqa: S101 - narrowed by accepts()
        window = self.params.window
        now = event.occurred_at
        kept = [d for d in state.deposits if d.event_id != event.event_id]
        kept.append(NearDeposit(at=now, amount=event.amount, event_id=event.event_id))
        kept.sort(key=lambda d: (d.at, d.event_id))
        newest = kept[-1].at
        kept = [d for d in kept if d.at >= newest - window][-self.params.max_kept :]
        new_state = CashWindow(deposits=tuple(kept))

        in_window = self._densest_window(event, kept)
        if len(in_window) < self.params.min_count:
            return new_state, []
        return new_state, [self._finding(event, in_window)]

    def _densest_window(self, event: Transaction, kept: list[NearDeposit]) -> list[NearDeposit]:
        """The most kept deposits within one ``window`` span that contains this deposit.

        Event time, not arrival order: a deposit reported late can complete a pattern with
        deposits after it. For in-order arrivals this is the window ending at the event.
        """
        now, window = event.occurred_at, self.params.window
        if not any(d.event_id == event.event_id for d in kept):
            return []  # older than the window of the newest deposit: evicted on arrival
        best: list[NearDeposit] = []
        for start in [d.at for d in kept if now - window <= d.at <= now]:
            group = [d for d in kept if start <= d.at <= start + window]
            if len(group) > len(best):
                best = group
        return best

    def _finding(self, event: Transaction, deposits: list[NearDeposit]) -> Finding:
        p = self.params
        count = len(deposits)
        total = sum((d.amount for d in deposits), Decimal(0))
        span = deposits[-1].at - deposits[0].at
        band = float(self._threshold - self._floor)
        closeness = sum(float(d.amount - self._floor) / band for d in deposits) / count
        score = min(1.0, 0.6 + 0.1 * min(count - p.min_count, 3) + 0.1 * closeness)
        cur = self.profile.currency
        summary = (
            f"{count} cash deposits of {_money(self._floor, cur)} to just under "
            f"{_money(self._threshold, cur)} within {_days(span)} (total {_money(total, cur)}), "
            f"each kept below the {_money(self._threshold, cur)} reporting threshold."
        )
        return Finding(
            detector=self.name,
            typology=self.typology,
            code="STRUCT_NEAR_THRESHOLD_REPEAT",
            score=round(score, 4),
            summary=summary,
            evidence={
                "count": count,
                "total": str(total),
                "currency": cur,
                "reporting_threshold": str(self._threshold),
                "near_floor": str(self._floor),
                "window_days": p.window.total_seconds() / 86400,
                "min_count": p.min_count,
                "first_at": deposits[0].at.isoformat(),
                "last_at": deposits[-1].at.isoformat(),
                "amounts": [str(d.amount) for d in deposits],
            },
            event_ids=tuple(d.event_id for d in deposits),
            window_start=deposits[0].at,
            window_end=deposits[-1].at,
        )
