"""Card testing: bursts of tiny card-not-present payments, mostly declined, within minutes.

Rule card
---------
Signal
    Small card-not-present (CNP) card payments booked on one account: ``card_payment``, direction
    ``out``, channel in ``channels`` (``ecommerce``, ``online``), in the jurisdiction's currency,
    amount at most ``max_amount``; approved and declined alike (each is an *attempt*). A *burst*
    is every such attempt on one card (or at one merchant) in a closed interval of event time
    that contains the scored event and spans at most ``window`` from its first to its last
    attempt (both ends inclusive). Two signals:

    ``CARD_TEST_BURST`` (one card)
        a burst on one card of at least ``min_attempts`` attempts, at least
        ``min_declined_share`` of them declined, at no more than ``max_merchants`` merchants.
    ``CARD_TEST_MULTI_CARD`` (one merchant, many cards of this account)
        a burst at one merchant on at least ``multi_card_min_cards`` distinct cards of this
        account, at least ``min_declined_share`` of the attempts declined: an account holding
        many card tokens (stolen or generated) and probing them at one checkout.

    Both may fire on one event (the policy combines them into one ``card_testing`` alert). A
    finding is raised on every event that lies in a qualifying burst; when several bursts
    qualify, the highest-scoring one is reported (ties: more attempts, then the latest start).
Typology
    ``card_testing`` (card testing, "account testing", enumeration: fraudsters validate stolen
    or generated card numbers with tiny CNP authorisations before using or selling them).
Why these defaults
    Visa's merchant guidance on enumeration and account testing (Visa Merchant Business News
    Digest; the enumeration ratio of the Visa Acquirer Monitoring Program, VAMP, 2025) and
    Mastercard's Excessive Authorization Attempts fee (US and Canada: charged on attempts after
    20 declines on one card within 24 hours) describe scripted CNP authorisations of small
    amounts, often a dollar or two, in rapid bursts with a high share of declines, at a few
    merchants whose checkout the tester uses (digital goods, donations, software). A ceiling of
    about 5 USD also covers testers who mimic ordinary digital purchases. The network rules count
    over a day or a month; this account-level rule looks at minutes: ``window`` 10 minutes,
    ``max_amount`` 50 MAD (about 5 USD in the default Morocco profile), ``min_attempts`` 5,
    ``min_declined_share`` 0.5, ``max_merchants`` 3 (a cardholder whose card is blocked gets
    declines at every shop they try; a tester hammers few checkouts), ``multi_card_min_cards``
    4 (a household has one or two cards; four distinct cards probed at one merchant in minutes
    is a wallet of card tokens).
Not card testing (hard negatives)
    Card-present payments (``pos``: coffees at a cafe all day, a commuter's transit taps);
    one or two declines of a normal online purchase; small approved subscriptions spread over a
    month; tiny CNP payments spread over hours; a handful of small approved in-app purchases
    at one digital-goods merchant; several family cards paying one merchant, all approved.
Currency
    ``max_amount`` is in the jurisdiction currency. Payments in another currency are ignored
    (neither counted nor kept): the monitor has no exchange rates, and counting a 40 USD
    payment as "40" would be wrong both ways. This misses testing in a foreign currency; set
    ``max_amount`` (``TXMON_DETECTORS__CARD_TESTING__MAX_AMOUNT``) when the jurisdiction's
    currency changes, it is not converted.
Merchant view (limitation)
    State is keyed per account, so this detector only sees one account's cards. The
    cross-account merchant view, many distinct cards *of different accounts and banks* probed
    at one merchant within minutes, needs a merchant-keyed stage that the stream does not have
    yet; here only the cards of one account at one merchant are counted
    (``CARD_TEST_MULTI_CARD``). A merchant is its ``merchant_id``, or its name when the bank
    sent no id; a payment with neither counts as one "unknown" merchant for the one-card burst
    and never towards the multi-card signal.
State kept (bounded)
    The small CNP attempts of the last ``window`` of event time before the newest kept attempt
    (at most ``max_kept``, the newest ones), as (event time, card id, BIN, merchant, MCC,
    declined, amount, event id), sorted by event time. Event time, not arrival order: a late
    attempt inside the window is inserted in place and can complete a burst; one older than
    the window of the newest attempt is dropped on arrival and raises nothing. A repeated
    event id replaces the earlier copy. Finding the best burst costs O(kept^2) per event at
    worst (about 0.5 ms with 64 attempts kept).
Reason codes
    ``CARD_TEST_BURST`` and ``CARD_TEST_MULTI_CARD``; evidence: attempts, declined,
    declined_share, merchants, cards (masked to the last 4 characters), BINs, smallest and
    largest amount, amount limit, window minutes, span, first and last attempt time, MCCs,
    merchant ids and the thresholds; ``event_ids`` are the burst's attempts, ``window_start``
    and ``window_end`` its first and last attempt. Sentences never show a full card id.
Score
    0.5 at the minimum, + 0.05 per attempt beyond ``min_attempts`` (one card) or per card
    beyond ``multi_card_min_cards`` (multi-card), up to + 0.25; + 0.2 times how far the
    declined share lies from ``min_declined_share`` towards 1 (0.2 when all declined); + 0.05
    when every attempt's MCC is in ``typical_mccs``; capped at 1.
Parameters (``TXMON_DETECTORS__CARD_TESTING__*``)
    ``window`` = 10 minutes, ``max_amount`` = 50 (jurisdiction currency), ``min_attempts`` = 5,
    ``min_declined_share`` = 0.5, ``max_merchants`` = 3, ``multi_card_min_cards`` = 4,
    ``channels`` = {ecommerce, online}, ``typical_mccs`` = {5815, 5816, 5817, 5818 digital
    goods, 8398 charitable organisations, 4816 computer network services, 5734 software,
    5999 miscellaneous retail}, ``max_kept`` = 64.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from models import (
    Channel,
    Direction,
    Finding,
    Transaction,
    TransactionKind,
    TransactionStatus,
    Typology,
)

__all__ = [
    "CARD_TESTING_MCCS",
    "CardAttempt",
    "CardAttempts",
    "CardTesting",
    "CardTestingParams",
    "mask_card",
]

#: MCCs card testers favour (ISO 18245), with the words a sentence uses for them.
CARD_TESTING_MCCS: dict[str, str] = {
    "5815": "digital goods",
    "5816": "digital goods",
    "5817": "digital goods",
    "5818": "digital goods",
    "8398": "donations",
    "4816": "computer network services",
    "5734": "software",
    "5999": "miscellaneous retail",
}

BURST = "CARD_TEST_BURST"
MULTI_CARD = "CARD_TEST_MULTI_CARD"

#: How many extra attempts (one card) or cards (multi-card) still raise the score.
_MAX_EXTRA = 5
_UNKNOWN_MERCHANT = "unknown"

Mcc = Annotated[str, Field(pattern=r"^\d{4}$")]


class CardTestingParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: timedelta = Field(default=timedelta(minutes=10), gt=timedelta(0))
    max_amount: Decimal = Field(default=Decimal("50"), gt=0, allow_inf_nan=False)
    min_attempts: int = Field(default=5, ge=2)
    min_declined_share: float = Field(default=0.5, ge=0.0, le=1.0)
    max_merchants: int = Field(default=3, ge=1)
    multi_card_min_cards: int = Field(default=4, ge=2)
    channels: frozenset[Channel] = frozenset({Channel.ECOMMERCE, Channel.ONLINE})
    typical_mccs: frozenset[Mcc] = frozenset(CARD_TESTING_MCCS)
    max_kept: int = Field(default=64, ge=2)

    @model_validator(mode="after")
    def _room_for_a_burst(self) -> CardTestingParams:
        needed = max(self.min_attempts, self.multi_card_min_cards)
        if self.max_kept < needed:
            raise ValueError(
                f"max_kept ({self.max_kept}) must be at least min_attempts and "
                f"multi_card_min_cards ({needed}), or no burst could ever be seen"
            )
        return self


class CardAttempt(BaseModel):
    """One small CNP card payment attempt (approved or declined), as kept in the state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    card_id: str
    bin: str | None = None
    merchant_id: str | None = None  # the merchant's id, else "name:<name>", else None
    mcc: str | None = None
    declined: bool
    amount: str
    event_id: str


class CardAttempts(DetectorState):
    attempts: tuple[CardAttempt, ...] = ()


def mask_card(card_id: str) -> str:
    """A card id as a sentence may show it: its last 4 characters, never the whole id (ids
    shorter than 8 characters show at most half of themselves)."""
    shown = min(4, len(card_id) // 2)
    return "\N{HORIZONTAL ELLIPSIS}" + (card_id[-shown:] if shown else "")


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _within(span: timedelta) -> str:
    seconds = span.total_seconds()
    if seconds <= 0:
        return "at the same second"
    if seconds < 60:
        whole = math.ceil(seconds)
        return f"within {whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"within {minutes} minute{'s' if minutes != 1 else ''}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


@dataclass(slots=True)
class _Run:
    """Counts of a run of attempts, grown one attempt at a time."""

    attempts: int = 0
    declined: int = 0
    merchants: set[str] = field(default_factory=set)
    cards: set[str] = field(default_factory=set)

    def add(self, attempt: CardAttempt) -> None:
        self.attempts += 1
        self.declined += attempt.declined
        self.merchants.add(attempt.merchant_id or _UNKNOWN_MERCHANT)
        self.cards.add(attempt.card_id)

    def copy(self) -> _Run:
        return _Run(self.attempts, self.declined, set(self.merchants), set(self.cards))

    @property
    def declined_share(self) -> float:
        return self.declined / self.attempts


class CardTesting:
    """Bursts of tiny CNP payments on one card, or on many cards at one merchant (rule card)."""

    name: ClassVar[str] = "card_testing"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.CARD_TESTING
    State = CardAttempts

    def __init__(self, params: CardTestingParams, profile: Jurisdiction) -> None:
        self.params = params
        self.profile = profile

    def accepts(self, event: Event, /) -> bool:
        return (
            isinstance(event, Transaction)
            and event.kind is TransactionKind.CARD_PAYMENT
            and event.direction is Direction.OUT
            and event.channel in self.params.channels
            and event.card is not None
            and event.currency == self.profile.currency
            and event.amount <= self.params.max_amount
        )

    def score(self, event: Event, state: CardAttempts, /) -> tuple[CardAttempts, list[Finding]]:
        if not self.accepts(event):
            return state, []
        assert isinstance(event, Transaction) and event.card is not None  # noqa: S101 - accepts()
        p = self.params
        attempt = _attempt(event)
        kept = [a for a in state.attempts if a.event_id != event.event_id]
        kept.append(attempt)
        kept.sort(key=lambda a: (a.at, a.event_id))
        newest = kept[-1].at
        kept = [a for a in kept if a.at >= newest - p.window][-p.max_kept :]
        new_state = CardAttempts(attempts=tuple(kept))
        if not any(a is attempt for a in kept):
            return new_state, []  # older than the window of the newest attempt, or capped out

        findings: list[Finding] = []
        on_card = [a for a in kept if a.card_id == attempt.card_id]
        if len(on_card) >= p.min_attempts:
            burst = self._best_run(on_card, attempt, self._burst_qualifies, self._burst_score)
            if burst is not None:
                findings.append(self._finding(BURST, *burst))
        if attempt.merchant_id is not None:
            at_merchant = [a for a in kept if a.merchant_id == attempt.merchant_id]
            if len({a.card_id for a in at_merchant}) >= p.multi_card_min_cards:
                multi = self._best_run(at_merchant, attempt, self._multi_qualifies,
                                       self._multi_score)
                if multi is not None:
                    findings.append(self._finding(MULTI_CARD, *multi))
        return new_state, findings

    # --- the two rules --------------------------------------------------------------------

    def _declined_ok(self, run: _Run) -> bool:
        return run.declined_share >= self.params.min_declined_share

    def _burst_qualifies(self, run: _Run) -> bool:
        p = self.params
        return (run.attempts >= p.min_attempts and len(run.merchants) <= p.max_merchants
                and self._declined_ok(run))

    def _multi_qualifies(self, run: _Run) -> bool:
        return len(run.cards) >= self.params.multi_card_min_cards and self._declined_ok(run)

    def _burst_score(self, run: _Run, typical: bool) -> float:
        return self._score(run.attempts - self.params.min_attempts, run, typical)

    def _multi_score(self, run: _Run, typical: bool) -> float:
        return self._score(len(run.cards) - self.params.multi_card_min_cards, run, typical)

    def _score(self, extra: int, run: _Run, typical: bool) -> float:
        floor = self.params.min_declined_share
        declined = 1.0 if floor >= 1.0 else (run.declined_share - floor) / (1.0 - floor)
        score = 0.5 + 0.05 * min(extra, _MAX_EXTRA) + 0.2 * declined + 0.05 * typical
        return round(min(1.0, max(0.0, score)), 4)

    def _best_run(
        self,
        seq: list[CardAttempt],
        attempt: CardAttempt,
        qualifies: Callable[[_Run], bool],
        score: Callable[[_Run, bool], float],
    ) -> tuple[float, list[CardAttempt]] | None:
        """The highest-scoring qualifying run of `seq` (sorted) that contains `attempt`.

        A run is seq[i..j] with i <= k <= j (k = the attempt's index) spanning at most
        ``window`` and holding every attempt at its first and last instant, i.e. all of `seq`
        in a closed interval of event time. Counts grow incrementally: O(len(seq)^2) per event,
        len(seq) <= max_kept.
        """
        window = self.params.window
        k = next(i for i, a in enumerate(seq) if a is attempt)
        atypical = [0]  # atypical[n]: attempts of seq[:n] whose MCC is not a typical one
        for a in seq:
            atypical.append(atypical[-1] + (a.mcc not in self.params.typical_mccs))
        best: tuple[float, int] | None = None
        found: tuple[int, int] = (k, k)
        core = _Run()  # the counts of seq[i..k]
        core.add(attempt)
        for i in range(k, -1, -1):
            if seq[k].at - seq[i].at > window:
                break
            if i < k:
                core.add(seq[i])
            if i > 0 and seq[i - 1].at == seq[i].at:
                continue  # a run starts with every attempt at its first instant
            run = core if k == len(seq) - 1 else core.copy()  # the counts of seq[i..j]
            for j in range(k, len(seq)):
                if seq[j].at - seq[i].at > window:
                    break
                if j > k:
                    run.add(seq[j])
                if j + 1 < len(seq) and seq[j + 1].at == seq[j].at:
                    continue  # and ends with the last attempt at its last instant
                if not qualifies(run):
                    continue
                typical = atypical[j + 1] == atypical[i]
                key = (score(run, typical), run.attempts)
                if best is None or key > best:
                    best, found = key, (i, j)
        if best is None:
            return None
        return best[0], seq[found[0] : found[1] + 1]

    # --- the finding an analyst reads ------------------------------------------------------

    def _finding(self, code: str, score: float, burst: list[CardAttempt]) -> Finding:
        p = self.params
        cur = self.profile.currency
        run = _Run()
        for a in burst:
            run.add(a)
        amounts = [Decimal(a.amount) for a in burst]
        span = burst[-1].at - burst[0].at
        cards = sorted({mask_card(a.card_id) for a in burst})
        merchant_ids = sorted({a.merchant_id for a in burst if a.merchant_id is not None})
        mccs = sorted({a.mcc for a in burst if a.mcc is not None})
        kinds = _mcc_words(a.mcc for a in burst)
        declined = f"{run.declined} of them declined"
        payments = (f"{_plural(run.attempts, 'card-not-present payment')} of at most "
                    f"{_money(max(amounts), cur)}")
        if code == BURST:
            merchants = _plural(len(run.merchants), "merchant")
            summary = (f"{payments} on card {mask_card(burst[0].card_id)} {_within(span)}, "
                       f"{declined}, at {merchants}{kinds}.")
        else:
            shown = ", ".join(cards[:4]) + (f" and {len(cards) - 4} more" if len(cards) > 4 else "")
            merchant = (burst[0].merchant_id or _UNKNOWN_MERCHANT).removeprefix("name:")
            summary = (f"{len(cards)} cards of this account ({shown}) made {payments} at "
                       f"merchant {merchant}{kinds} {_within(span)}, {declined}.")
        evidence: dict[str, Any] = {
            "attempts": run.attempts,
            "declined": run.declined,
            "declined_share": round(run.declined_share, 4),
            "merchants": len(run.merchants),
            "cards": len(run.cards),
            "card_ids_masked": cards,
            "bins": sorted({a.bin for a in burst if a.bin is not None}),
            "amount_min": str(min(amounts)),
            "amount_max": str(max(amounts)),
            "amount_limit": str(p.max_amount),
            "currency": cur,
            "window_minutes": p.window.total_seconds() / 60,
            "span_seconds": span.total_seconds(),
            "first_at": burst[0].at.isoformat(),
            "last_at": burst[-1].at.isoformat(),
            "mccs": mccs,
            "merchant_ids": merchant_ids,
            "min_declined_share": p.min_declined_share,
        }
        if code == BURST:
            evidence |= {"min_attempts": p.min_attempts, "max_merchants": p.max_merchants}
        else:
            evidence |= {"multi_card_min_cards": p.multi_card_min_cards}
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=code,
            score=score,
            summary=summary,
            evidence=evidence,
            event_ids=tuple(a.event_id for a in burst),
            window_start=burst[0].at,
            window_end=burst[-1].at,
        )


def _attempt(event: Transaction) -> CardAttempt:
    card, merchant = event.card, event.merchant
    assert card is not None  # noqa: S101 - checked by accepts()
    merchant_key: str | None = None
    if merchant is not None:
        if merchant.merchant_id:
            merchant_key = merchant.merchant_id
        elif merchant.name:
            merchant_key = f"name:{merchant.name}"
    return CardAttempt(
        at=event.occurred_at,
        card_id=card.card_id,
        bin=card.bin,
        merchant_id=merchant_key,
        mcc=merchant.mcc if merchant is not None else None,
        declined=event.status is TransactionStatus.DECLINED,
        amount=str(event.amount),
        event_id=event.event_id,
    )


def _mcc_words(mccs: Iterable[str | None]) -> str:
    """' (digital goods, donations)' for the burst's MCCs, in order of first appearance."""
    words = dict.fromkeys(
        CARD_TESTING_MCCS.get(mcc, f"MCC {mcc}") for mcc in mccs if mcc is not None
    )
    if not words:
        return ""
    shown = list(words)[:3]
    more = ", ..." if len(words) > 3 else ""
    return f" ({', '.join(shown)}{more})"
