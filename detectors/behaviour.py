"""Behaviour profile and features of the isolation-forest anomaly detector.

Card
----
What this module is
    The per-account *behaviour profile* the stream keeps (``BehaviourProfile``), the feature
    vector computed from it for one transaction (``features``), the profile's update
    (``learn``, ``learn_account_event``) and the explanation of an unusual row (``explain``).
    The same functions run when the training code replays history and when the worker scores
    live events, so train/serve skew has nowhere to come from. The order is always *score, then
    learn*: ``features(event, profile)`` sees the profile as it was before the event, then
    ``learn(event, profile)`` returns the profile after it.
Pure
    No I/O, no wall clock (every time is the event's ``occurred_at``), no Faust, no NaN or
    infinity ever (scikit-learn's ``IsolationForest`` rejects NaN: where a value is unknown the
    feature takes the *neutral* value documented on its ``FeatureSpec``).
Event time, decayed
    Velocities, volumes and habits are exponentially decayed sums in event time (half-lives
    1 hour, 1 day, 7 days, 30 days): an event ``dt`` seconds old weighs ``2 ** (-dt / h)``.
    Every decayed sum is kept as of ``last_seen``, the newest transaction time learned. An
    event older than ``last_seen`` (out of order) is added with its decayed weight; features of
    such an event read the sums as of ``last_seen`` (they are never grown backwards) and see a
    gap of 0 seconds.
Who chose the time, the place and the channel
    Hour of day, channel, country and device describe the holder's own actions, so they are
    taken from *holder-initiated* events only: debits (``direction = out``) and cash deposits.
    For inbound transfers and card refunds the payer or the merchant chose them; there these
    features take their neutral value and the profile does not learn them.
Derived payee legs
    The credit leg the monitor derives from a payer's ``out`` transfer (``event_id`` ending in
    ``~payee``, ``detectors.policy.DERIVED_LEG_SUFFIX``) is an ordinary inbound transfer for the
    payee: counted in the velocities and the inflow, its payer learned as a counterparty. It
    carries the payer's channel, which the rule above already ignores.
Declined events
    Counted in the velocities (bursts of declines are a signal); nothing else is learned from
    them (no money moved, no counterparty, device or habit became familiar).
Account events (``learn_account_event``)
    ``opened``: the account's open time (the earliest one seen), from which the account age is
    counted (otherwise from the first transaction). ``login`` and ``credentials_reset``: their
    ``device_id`` becomes a known device (so a later transaction from it is not "new") and their
    ``location.country`` the last known country (unless a newer transaction was learned).
    ``updated`` and ``closed`` change nothing here (identity changes are the identity stage's).
Bounded and small
    A fixed set of numbers plus at most 8 device, 32 counterparty and 32 merchant fingerprints
    (32-bit blake2b digests, 8 hex digits, never the identifiers; the least recently seen is
    evicted). Stored floats are rounded to 7 significant digits. A busy account's profile is
    about 1.3 kB of JSON, an ordinary one about 0.5 kB (see the tests).
Redelivery
    ``learn`` is not idempotent; the per-account dedupe ring in ``detectors.assess`` keeps an
    event from being learned twice.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict

from models import (
    AccountEvent,
    AccountEventKind,
    Channel,
    Direction,
    Transaction,
    TransactionKind,
    TransactionStatus,
)

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "BehaviourProfile",
    "FeatureSpec",
    "explain",
    "features",
    "learn",
    "learn_account_event",
]

HOUR = 3600.0
DAY = 86400.0
_LN2 = math.log(2.0)
_L1H = _LN2 / HOUR
_L1D = _LN2 / DAY
_L7D = _LN2 / (7 * DAY)
_L30D = _LN2 / (30 * DAY)
_TAU = 2.0 * math.pi

MAX_DEVICES = 8
MAX_COUNTERPARTIES = 32
MAX_MERCHANTS = 32

#: Gap assumed before an account's first transaction (one day: an ordinary personal rhythm).
NEUTRAL_GAP_SECONDS = DAY
#: Shrinkage of the log-amount variance towards a prior of 1.0 (a factor of e), with the weight
#: of one event, so that an account with two similar amounts does not make a third one extreme.
_PRIOR_VAR = 1.0
_PRIOR_WEIGHT = 1.0
#: Standard deviation floor of log amounts (an account paying exactly the same amount every
#: time still sees a 25 % change as one standard deviation).
_MIN_SD = 0.25
_Z_CAP = 50.0
#: Rates are estimated over at least one day of account life (no 0/0 on a first burst).
_MIN_RATE_SPAN = DAY
#: Decayed sums below this are flushed to zero (keeps the JSON free of 1e-300 values).
_TINY = 1e-9

_CARD_PRESENT = frozenset({Channel.POS, Channel.ATM, Channel.BRANCH})


class FeatureSpec(BaseModel):
    """One feature: its name, a sentence an analyst can read, and its value without history."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    #: The value when the account has no history for it (None: the event itself decides).
    neutral: float | None = None


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(name="log_amount",
                description="log_amount: the amount on a log scale, ln(1 + amount), "
                            "in the event's currency."),
    FeatureSpec(name="amount_z",
                description="amount_z: how many standard deviations this amount is from the "
                            "account's own amounts in the same direction (log scale, 30-day "
                            "memory); 0 without history in that direction.",
                neutral=0.0),
    FeatureSpec(name="velocity_1h",
                description="velocity_1h: events in about the last hour before this one "
                            "(decayed count, half-life 1 hour), as ln(1 + count).",
                neutral=0.0),
    FeatureSpec(name="velocity_24h",
                description="velocity_24h: events in about the last day before this one "
                            "(decayed count, half-life 1 day), as ln(1 + count).",
                neutral=0.0),
    FeatureSpec(name="velocity_7d",
                description="velocity_7d: events in about the last week before this one "
                            "(decayed count, half-life 7 days), as ln(1 + count).",
                neutral=0.0),
    FeatureSpec(name="burst_1h",
                description="burst_1h: the last hour's activity against what the account's "
                            "usual (30-day) rate predicts, ln((count + 1) / (expected + 1)); "
                            "above 0 is busier than usual.",
                neutral=0.0),
    FeatureSpec(name="burst_24h",
                description="burst_24h: the last day's activity against what the account's "
                            "usual (30-day) rate predicts, ln((count + 1) / (expected + 1)); "
                            "above 0 is busier than usual.",
                neutral=0.0),
    FeatureSpec(name="gap_log",
                description="gap_log: time since the account's previous transaction, "
                            "ln(1 + seconds); one day is assumed before the first.",
                neutral=math.log1p(NEUTRAL_GAP_SECONDS)),
    FeatureSpec(name="new_counterparty",
                description="new_counterparty: 1 if the transfer's counterparty is not among the "
                            "account's 32 most recent counterparties (0 for an account with "
                            "none yet, or no counterparty).",
                neutral=0.0),
    FeatureSpec(name="new_merchant",
                description="new_merchant: 1 if the card payment's merchant is not among the "
                            "account's 32 most recent merchants (0 for an account with none "
                            "yet, or no merchant).",
                neutral=0.0),
    FeatureSpec(name="new_device",
                description="new_device: 1 if the holder used a device not among the account's "
                            "8 most recent devices, logins included (0 for an account with no "
                            "known device, or no device).",
                neutral=0.0),
    FeatureSpec(name="hour_sin",
                description="hour_sin: sine of the local hour of day (with hour_cos, the hour "
                            "on a circle, so 23:00 is next to 01:00)."),
    FeatureSpec(name="hour_cos",
                description="hour_cos: cosine of the local hour of day (with hour_sin, the "
                            "hour on a circle)."),
    FeatureSpec(name="hour_deviation",
                description="hour_deviation: hours between this event's time of day and the "
                            "holder's usual time of day, times how regular the holder's hours "
                            "are (0 to 12; 0 without a habit or for inbound transfers).",
                neutral=0.0),
    FeatureSpec(name="channel_change",
                description="channel_change: 1 if the holder used another channel (branch, ATM, "
                            "online, ...) than on the previous event.",
                neutral=0.0),
    FeatureSpec(name="country_change",
                description="country_change: 1 if the holder acted from another country than "
                            "the last one known (transactions and logins).",
                neutral=0.0),
    FeatureSpec(name="foreign_location",
                description="foreign_location: 1 if the holder acted from outside the "
                            "jurisdiction's country (where known)."),
    FeatureSpec(name="foreign_counterparty",
                description="foreign_counterparty: 1 if the counterparty's or merchant's "
                            "country is outside the jurisdiction's country (where known)."),
    FeatureSpec(name="cash_share_7d",
                description="cash_share_7d: share of cash in the account's recent money "
                            "volume (approved, decayed over 7 days), 0 to 1.",
                neutral=0.0),
    FeatureSpec(name="flow_balance_7d",
                description="flow_balance_7d: recent inflow against outflow, (in - out) / "
                            "(in + out) over 7 days decayed: +1 only money in, -1 only out.",
                neutral=0.0),
    FeatureSpec(name="account_age_log",
                description="account_age_log: account age, ln(1 + days) since it was opened "
                            "(or first seen); 0 for an account seen for the first time.",
                neutral=0.0),
    FeatureSpec(name="is_declined",
                description="is_declined: 1 if the transaction was declined."),
    FeatureSpec(name="is_cash",
                description="is_cash: 1 for a cash deposit or withdrawal."),
    FeatureSpec(name="is_transfer",
                description="is_transfer: 1 for a transfer."),
    FeatureSpec(name="is_card",
                description="is_card: 1 for a card payment."),
    FeatureSpec(name="is_inbound",
                description="is_inbound: 1 if money comes into the account, 0 if it goes out."),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


class BehaviourProfile(BaseModel):
    """What the anomaly features know about one account: O(1) decayed summaries, bounded.

    Every decayed sum (``n_*``, ``*_7d``, the amount and hour statistics) is as of
    ``last_seen``. Amount statistics are per direction: decayed weight ``*_w``, weighted mean
    ``*_mean`` and weighted sum of squared deviations ``*_m2`` of ln(1 + amount), half-life
    30 days. The hour habit is the decayed resultant (``hour_s``, ``hour_c``, weight
    ``hour_w``) of UTC hours of day on the unit circle, half-life 30 days. Fingerprint tuples
    are newest last.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    opened_at: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    txns: int = 0
    n_1h: float = 0.0
    n_1d: float = 0.0
    n_7d: float = 0.0
    n_30d: float = 0.0
    in_7d: float = 0.0
    out_7d: float = 0.0
    cash_7d: float = 0.0
    in_w: float = 0.0
    in_mean: float = 0.0
    in_m2: float = 0.0
    out_w: float = 0.0
    out_mean: float = 0.0
    out_m2: float = 0.0
    hour_s: float = 0.0
    hour_c: float = 0.0
    hour_w: float = 0.0
    channel: str | None = None
    country: str | None = None
    devices: tuple[str, ...] = ()
    counterparties: tuple[str, ...] = ()
    merchants: tuple[str, ...] = ()


_EMPTY = BehaviourProfile()


# --- helpers ---------------------------------------------------------------------------------


def _fp(prefix: str, value: str) -> str:
    return hashlib.blake2b((prefix + value).encode(), digest_size=4).hexdigest()


def _keep(value: float) -> float:
    """A stored float: 7 significant digits, tiny values flushed to zero."""
    if abs(value) < _TINY:
        return 0.0
    return float(f"{value:.7g}")


def _remember(seen: tuple[str, ...], fp: str, cap: int) -> tuple[str, ...]:
    if seen and seen[-1] == fp:
        return seen
    return (*(s for s in seen if s != fp), fp)[-cap:]


def _initiated(txn: Transaction) -> bool:
    """Whether the holder chose the time, place and channel (a debit or a cash deposit)."""
    return txn.direction is Direction.OUT or txn.kind is TransactionKind.CASH_DEPOSIT


def _country(txn: Transaction) -> str | None:
    """Where the holder acted: the reported location, else a card-present merchant's country."""
    if txn.location is not None and txn.location.country:
        return txn.location.country
    if txn.merchant is not None and txn.merchant.country and txn.channel in _CARD_PRESENT:
        return txn.merchant.country
    return None


def _counterparty_fp(txn: Transaction) -> str | None:
    cp = txn.counterparty
    if cp is None:
        return None
    if cp.account_id:
        return _fp("a:", cp.account_id)
    if cp.name:
        return _fp("n:", f"{cp.name.casefold()}|{(cp.bank or '').casefold()}")
    return None


def _merchant_fp(txn: Transaction) -> str | None:
    m = txn.merchant
    if m is None:
        return None
    if m.merchant_id:
        return _fp("m:", m.merchant_id)
    if m.name:
        return _fp("n:", m.name.casefold())
    return None


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _utc_angle(at: datetime) -> float:
    at = at.astimezone(UTC)
    return _TAU * (at.hour * HOUR + at.minute * 60 + at.second) / DAY


# --- features --------------------------------------------------------------------------------


def features(
    event: Transaction,
    profile: BehaviourProfile | None,
    *,
    home_country: str,
    tz: tzinfo = UTC,
) -> list[float]:
    """The feature row of `event` given the profile *before* it (``len == len(FEATURES)``).

    ``home_country`` is the jurisdiction's ISO country code; ``tz`` the jurisdiction's time
    zone, used for ``hour_sin``/``hour_cos`` only (the hour habit is kept in UTC, and the
    distance between two hours does not depend on the zone). Training and serving must pass the
    same values.
    """
    p = profile if profile is not None else _EMPTY
    t = event.occurred_at
    amount = float(event.amount)
    x = math.log1p(amount)
    inbound = event.direction is Direction.IN
    initiated = _initiated(event)
    kind = event.kind

    # Decay factors from the profile's reference time to the event (never grown backwards).
    if p.last_seen is not None:
        since = _seconds(t, p.last_seen)
        ahead = since if since > 0.0 else 0.0
        gap = math.log1p(ahead)
        f1h, f1d = math.exp(-_L1H * ahead), math.exp(-_L1D * ahead)
        f7d, f30d = math.exp(-_L7D * ahead), math.exp(-_L30D * ahead)
    else:
        gap = math.log1p(NEUTRAL_GAP_SECONDS)
        f1h = f1d = f7d = f30d = 1.0

    # Amount against the account's own amounts in the same direction.
    if inbound:
        w, mean, m2 = p.in_w * f30d, p.in_mean, p.in_m2 * f30d
    else:
        w, mean, m2 = p.out_w * f30d, p.out_mean, p.out_m2 * f30d
    if w > _TINY:
        var = (m2 + _PRIOR_VAR * _PRIOR_WEIGHT) / (w + _PRIOR_WEIGHT)
        sd = math.sqrt(var) if var > _MIN_SD * _MIN_SD else _MIN_SD
        amount_z = max(-_Z_CAP, min(_Z_CAP, (x - mean) / sd))
    else:
        amount_z = 0.0

    # Velocities and their ratio to the usual (30-day) rate.
    c1h, c1d, c7d, c30d = p.n_1h * f1h, p.n_1d * f1d, p.n_7d * f7d, p.n_30d * f30d
    if p.first_seen is not None and c30d > 0.0:
        span = max(_seconds(t, p.first_seen), _MIN_RATE_SPAN)
        rate = c30d * _L30D / -math.expm1(-_L30D * span)  # events per second
        expect_1h = rate * -math.expm1(-_L1H * span) / _L1H
        expect_1d = rate * -math.expm1(-_L1D * span) / _L1D
        burst_1h = math.log((c1h + 1.0) / (expect_1h + 1.0))
        burst_1d = math.log((c1d + 1.0) / (expect_1d + 1.0))
    else:
        burst_1h = burst_1d = 0.0

    # Novelty.
    cp = _counterparty_fp(event)
    new_cp = 1.0 if cp is not None and p.counterparties and cp not in p.counterparties else 0.0
    mc = _merchant_fp(event)
    new_merchant = 1.0 if mc is not None and p.merchants and mc not in p.merchants else 0.0
    device = event.device_id if initiated else None
    new_device = (
        1.0 if device is not None and p.devices and _fp("d:", device) not in p.devices else 0.0
    )

    # Time of day.
    local = t.astimezone(tz)
    angle = _TAU * (local.hour * HOUR + local.minute * 60 + local.second) / DAY
    hour_sin, hour_cos = math.sin(angle), math.cos(angle)
    if initiated and p.hour_w > 0.0:
        s, c, hw = p.hour_s * f30d, p.hour_c * f30d, p.hour_w * f30d
        regularity = math.hypot(s, c) / (hw + 1.0)
        distance = abs(math.remainder(_utc_angle(t) - math.atan2(s, c), _TAU)) * 24.0 / _TAU
        hour_deviation = regularity * distance
    else:
        hour_deviation = 0.0

    # Place and channel.
    channel = event.channel.value if initiated and event.channel is not None else None
    channel_change = 1.0 if channel and p.channel and channel != p.channel else 0.0
    country = _country(event) if initiated else None
    country_change = 1.0 if country and p.country and country != p.country else 0.0
    home = home_country.upper()
    foreign_location = 1.0 if country and country != home else 0.0
    other = (event.counterparty.country if event.counterparty is not None else None) or (
        event.merchant.country if event.merchant is not None else None
    )
    foreign_counterparty = 1.0 if other and other != home else 0.0

    # Recent money: ratios of sums decayed alike need no decay.
    volume = p.in_7d + p.out_7d
    cash_share = min(1.0, p.cash_7d / volume) if volume > 0.0 else 0.0
    balance = (p.in_7d - p.out_7d) / volume if volume > 0.0 else 0.0

    start = p.opened_at if p.opened_at is not None else p.first_seen
    age_days = max(0.0, _seconds(t, start) / DAY) if start is not None else 0.0

    return [
        x,
        amount_z,
        math.log1p(c1h),
        math.log1p(c1d),
        math.log1p(c7d),
        burst_1h,
        burst_1d,
        gap,
        new_cp,
        new_merchant,
        new_device,
        hour_sin,
        hour_cos,
        hour_deviation,
        channel_change,
        country_change,
        foreign_location,
        foreign_counterparty,
        cash_share,
        balance,
        math.log1p(age_days),
        1.0 if event.status is TransactionStatus.DECLINED else 0.0,
        1.0 if kind in (TransactionKind.CASH_DEPOSIT, TransactionKind.CASH_WITHDRAWAL) else 0.0,
        1.0 if kind is TransactionKind.TRANSFER else 0.0,
        1.0 if kind is TransactionKind.CARD_PAYMENT else 0.0,
        1.0 if inbound else 0.0,
    ]


# --- learning --------------------------------------------------------------------------------


def _stats(
    w: float, mean: float, m2: float, decay: float, weight: float, x: float
) -> tuple[float, float, float]:
    """Decayed, weighted incremental mean and squared deviations (West's update).

    A side whose weight has decayed to nothing starts afresh (mean and deviations 0).
    """
    w0, m20 = w * decay, m2 * decay
    if weight > 0.0:
        w1 = w0 + weight
        delta = x - mean
        mean1 = mean + weight * delta / w1
        w0, mean, m20 = w1, mean1, m20 + weight * delta * (x - mean1)
    if w0 < _TINY:
        return 0.0, 0.0, 0.0
    return w0, mean, max(0.0, m20)


def learn(
    event: Transaction | AccountEvent, profile: BehaviourProfile | None
) -> BehaviourProfile:
    """The profile after `event` (account events go to `learn_account_event`)."""
    if isinstance(event, AccountEvent):
        return learn_account_event(event, profile)
    p = profile if profile is not None else _EMPTY
    t = event.occurred_at
    approved = event.status is TransactionStatus.APPROVED
    initiated = _initiated(event)
    inbound = event.direction is Direction.IN
    amount = float(event.amount)

    newest = p.last_seen is None or t >= p.last_seen
    if p.last_seen is None:
        dt = 0.0
    else:
        dt = _seconds(t, p.last_seen)
    if dt >= 0.0:  # old sums decay to the event; the event weighs 1
        d1h, d1d = math.exp(-_L1H * dt), math.exp(-_L1D * dt)
        d7d, d30d = math.exp(-_L7D * dt), math.exp(-_L30D * dt)
        w1h = w1d = w7d = w30d = 1.0
    else:  # an older event joins the sums with the weight it has at last_seen
        d1h = d1d = d7d = d30d = 1.0
        w1h, w1d = math.exp(_L1H * dt), math.exp(_L1D * dt)
        w7d, w30d = math.exp(_L7D * dt), math.exp(_L30D * dt)

    update: dict[str, Any] = {
        "first_seen": t if p.first_seen is None or t < p.first_seen else p.first_seen,
        "last_seen": t if newest else p.last_seen,
        "txns": p.txns + 1,
        "n_1h": _keep(p.n_1h * d1h + w1h),
        "n_1d": _keep(p.n_1d * d1d + w1d),
        "n_7d": _keep(p.n_7d * d7d + w7d),
        "n_30d": _keep(p.n_30d * d30d + w30d),
    }

    money = w7d * amount if approved else 0.0
    cash = event.kind in (TransactionKind.CASH_DEPOSIT, TransactionKind.CASH_WITHDRAWAL)
    update["in_7d"] = _keep(p.in_7d * d7d + (money if inbound else 0.0))
    update["out_7d"] = _keep(p.out_7d * d7d + (0.0 if inbound else money))
    update["cash_7d"] = _keep(p.cash_7d * d7d + (money if cash else 0.0))

    x = math.log1p(amount)
    weight = w30d if approved else 0.0
    in_w, in_mean, in_m2 = _stats(p.in_w, p.in_mean, p.in_m2, d30d,
                                  weight if inbound else 0.0, x)
    out_w, out_mean, out_m2 = _stats(p.out_w, p.out_mean, p.out_m2, d30d,
                                     0.0 if inbound else weight, x)
    update.update(in_w=_keep(in_w), in_mean=_keep(in_mean), in_m2=_keep(in_m2),
                  out_w=_keep(out_w), out_mean=_keep(out_mean), out_m2=_keep(out_m2))

    habit = approved and initiated
    hw = w30d if habit else 0.0
    angle = _utc_angle(t)
    update["hour_s"] = _keep(p.hour_s * d30d + hw * math.sin(angle))
    update["hour_c"] = _keep(p.hour_c * d30d + hw * math.cos(angle))
    update["hour_w"] = _keep(p.hour_w * d30d + hw)

    if approved:
        cp = _counterparty_fp(event)
        if cp is not None:
            update["counterparties"] = _remember(p.counterparties, cp, MAX_COUNTERPARTIES)
        mc = _merchant_fp(event)
        if mc is not None:
            update["merchants"] = _remember(p.merchants, mc, MAX_MERCHANTS)
        if initiated:
            if event.device_id:
                update["devices"] = _remember(p.devices, _fp("d:", event.device_id), MAX_DEVICES)
            if newest:
                if event.channel is not None:
                    update["channel"] = event.channel.value
                country = _country(event)
                if country:
                    update["country"] = country
    return p.model_copy(update=update)


def learn_account_event(event: AccountEvent, profile: BehaviourProfile | None) -> BehaviourProfile:
    """The profile after an account event (see the module card for what each kind teaches)."""
    p = profile if profile is not None else _EMPTY
    t = event.occurred_at
    if event.kind is AccountEventKind.OPENED:
        if p.opened_at is None or t < p.opened_at:
            return p.model_copy(update={"opened_at": t})
        return p
    if event.kind in (AccountEventKind.LOGIN, AccountEventKind.CREDENTIALS_RESET):
        update: dict[str, Any] = {}
        if event.device_id:
            update["devices"] = _remember(p.devices, _fp("d:", event.device_id), MAX_DEVICES)
        country = event.location.country if event.location is not None else None
        if country and (p.last_seen is None or t >= p.last_seen):
            update["country"] = country
        return p.model_copy(update=update) if update else p
    return p


# --- explanation -----------------------------------------------------------------------------


def explain(
    values: Sequence[float],
    baseline: Sequence[float],
    scale: Sequence[float],
    top: int = 3,
) -> list[dict[str, Any]]:
    """The features that made a row unusual: the `top` largest standardised deviations.

    ``deviation = (value - baseline) / scale`` per feature, with ``baseline`` and ``scale``
    typically the training medians and interquartile ranges. A scale that is zero, negative or
    not finite (a binary flag almost always 0 has an IQR of 0) counts as 1, so the deviation is
    in the feature's own units. Features that do not deviate, or whose numbers are not finite,
    are left out; ties keep the order of ``FEATURES``. Values are rounded to 4 decimals.
    """
    n = len(FEATURES)
    if not len(values) == len(baseline) == len(scale) == n:
        raise ValueError(
            f"explain() needs {n} values, baselines and scales "
            f"(got {len(values)}, {len(baseline)}, {len(scale)})"
        )
    ranked: list[tuple[float, int, float]] = []
    for i, (value, typical, spread) in enumerate(zip(values, baseline, scale, strict=True)):
        value, typical, spread = float(value), float(typical), float(spread)
        if not (math.isfinite(value) and math.isfinite(typical)):
            continue
        unit = spread if math.isfinite(spread) and spread > 0.0 else 1.0
        deviation = (value - typical) / unit
        if deviation != 0.0 and math.isfinite(deviation):
            ranked.append((-abs(deviation), i, deviation))
    ranked.sort()
    return [
        {
            "feature": FEATURES[i].name,
            "value": round(float(values[i]), 4),
            "typical": round(float(baseline[i]), 4),
            "deviation": round(deviation, 4),
            "description": FEATURES[i].description,
        }
        for _, i, deviation in ranked[: max(0, top)]
    ]
