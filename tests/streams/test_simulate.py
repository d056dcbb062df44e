"""The traffic simulator: determinism, valid messages, labels, and the shape of each typology.

Each typology has a checker written from its definition. Every labelled account must show the
injected shape (strict figures); no account outside a typology's labels (ordinary accounts,
hard negatives, other typologies) may show even a looser shape, near the detectors' defaults.
That is how the ordinary population is kept free of accidental patterns.

The typologies added last are checked on a 3,000-account, 30-day run (the size `txmon
evaluate` is run at) against the rules their detectors are meant to apply: four trafficking
red flags with a strong one within 28 days; identity rings (a document behind two names, a
phone, e-mail or device behind three names at three addresses); OSINT indicators matched after
normalisation before they expire, and payees named as on the SDN list in any spelling. Their
labels must be exactly the accounts these reference checks find.

The ``anomaly`` accounts (behaviour unusual for the account that no rule targets, for the
isolation forest) must show their behaviour after an ordinary history, and the rule detectors,
replayed over the traffic, must raise nothing on them nor on their hard negatives.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from detectors import (
    DetectorParams,
    Jurisdiction,
    PolicyParams,
    account_legs,
    assess,
    build_detectors,
    build_policy,
)
from detectors.country_risk import CountryRisk
from detectors.watchlist import Watchlist
from models import AccountEvent, Indicator, Transaction
from models.codec import Rejection, decode
from streams import simulate as simulator
from streams.replay import replay
from streams.simulate import (
    ANOMALY_KINDS,
    HARD_NEGATIVE_KINDS,
    HARD_NEGATIVES_BY_TYPOLOGY,
    TYPOLOGIES,
    Simulation,
    SimulationConfig,
    simulate,
)

MODELS: dict[str, type[Transaction] | type[AccountEvent] | type[Indicator]] = {
    "transactions": Transaction,
    "accounts": AccountEvent,
    "osint.indicators": Indicator,
}
NO_NEW_TYPOLOGIES: dict[str, Any] = {
    "funnel_account_share": 0.0,
    "funnel_account_negative_share": 0.0,
    "mule_account_share": 0.0,
    "mule_account_negative_share": 0.0,
    "card_testing_share": 0.0,
    "card_testing_negative_share": 0.0,
    "account_takeover_share": 0.0,
    "account_takeover_negative_share": 0.0,
    **{
        f"{typology}_{kind}": 0.0
        for typology in ("trafficking_indicators", "shared_identity", "osint_match", "anomaly")
        for kind in ("share", "negative_share")
    },
}
NO_ANOMALIES: dict[str, Any] = {"anomaly_share": 0.0, "anomaly_negative_share": 0.0}
MINUTE, HOUR, DAY = 60, 3_600, 86_400
PROBE_MCCS = {"5815", "5816", "5817", "5818", "8398", "4816"}
RESALE_MCCS = {"5732", "5045", "5944", "6540", "5946"}
# what the account-takeover detector counts as resellable (a superset)
RESELLABLE_MCCS = RESALE_MCCS | {"5734", "5094", "5722"}
CONFIG = SimulationConfig(accounts=800, seed=5, invalid_messages=30)
BIG = SimulationConfig(accounts=3000, days=30, seed=2)  # the size the evaluation runs at
ADDED = ("trafficking_indicators", "shared_identity", "osint_match")
ADDED_NEGATIVES = {t: HARD_NEGATIVES_BY_TYPOLOGY[t] for t in ADDED}


def digest(sim: Simulation) -> str:
    h = hashlib.sha256()
    for m in sim.messages:
        h.update(m.topic.encode() + b"\0" + (m.key or b"") + b"\0" + m.value + b"\n")
    h.update(repr((sim.labels, sim.hard_negatives)).encode())
    return h.hexdigest()


# --- the simulated traffic, parsed once ----------------------------------------------------


@dataclass(slots=True)
class Inflow:
    at: int
    sender: str
    cents: int
    reported_by: str  # "payer" (only the payer's `out`), "payee" (only the `in`), "both"


@dataclass
class Book:
    """Valid messages by account, in event-time order; times in seconds since the epoch."""

    txns: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    access: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    opened: dict[str, int] = field(default_factory=dict)
    inflows: dict[str, list[Inflow]] = field(default_factory=lambda: defaultdict(list))
    start: int = 0
    accounts: set[str] = field(default_factory=set)


def seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def cents(amount: Any) -> int:
    return int(Decimal(str(amount)) * 100)


def parse(sim: Simulation, config: SimulationConfig) -> Book:
    book = Book(start=int(config.start.timestamp()))
    for m in sim.messages:
        if m.topic == "osint.indicators":
            continue
        try:
            o = orjson.loads(m.value)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(o, dict) or str(o.get("event_id", "")).startswith("bad-"):
            continue
        o["t"] = seconds(o["occurred_at"])
        account = o["account_id"]
        book.accounts.add(account)
        if m.topic == "accounts":
            if o["kind"] == "opened":
                book.opened[account] = o["t"]
            book.access[account].append(o)
        else:
            o["cents"] = cents(o["amount"])
            book.txns[account].append(o)
    # credit transfers as the monitor sees them: the payee's `in`, or the leg derived from the
    # payer's `out` to a simulated account, a transfer reported by both banks counted once
    for account, events in book.txns.items():
        for o in events:
            cp = o.get("counterparty") or {}
            if o["kind"] != "transfer" or not cp.get("account_id"):
                continue
            if o["direction"] == "in":
                book.inflows[account].append(Inflow(o["t"], cp["account_id"], o["cents"], "payee"))
            elif cp["account_id"] in book.accounts:
                book.inflows[cp["account_id"]].append(Inflow(o["t"], account, o["cents"], "payer"))
    for account, legs in book.inflows.items():
        legs.sort(key=lambda leg: leg.at)
        merged: list[Inflow] = []
        for leg in legs:
            twin = next(
                (
                    seen
                    for seen in merged
                    if seen.reported_by != leg.reported_by
                    and seen.reported_by != "both"
                    and seen.sender == leg.sender
                    and seen.cents == leg.cents
                    and abs(seen.at - leg.at) <= 10 * MINUTE
                ),
                None,
            )
            if twin is None:
                merged.append(leg)
            else:
                twin.reported_by = "both"
        book.inflows[account] = merged
    return book


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(CONFIG)


@pytest.fixture(scope="module")
def book(sim: Simulation) -> Book:
    return parse(sim, CONFIG)


def labelled(sim: Simulation, typology: str) -> set[str]:
    return {account for account, codes in sim.labels.items() if typology in codes}


# --- shape checkers --------------------------------------------------------------------------


def approved(o: dict[str, Any]) -> bool:
    return o.get("status", "approved") == "approved"


def funnel_shape(
    txns: list[dict[str, Any]],
    *,
    window: int,
    min_share: float,
    band: tuple[int, int] = (1, 10**12),
    exits_after_last: bool = True,
) -> bool:
    """>= 4 cash deposits (each in `band`) in >= 3 cities within `window`, >= 20,000 MAD, and
    `min_share` of it out within 72 h of the last one: cash withdrawn in another city or
    abroad, transfers abroad."""
    deposits = [
        o
        for o in txns
        if o["kind"] == "cash_deposit" and approved(o) and band[0] <= o["cents"] <= band[1]
    ]
    for i, first in enumerate(deposits):
        run: list[dict[str, Any]] = []
        for o in deposits[i:]:
            if o["t"] - first["t"] > window:
                break
            run.append(o)
            cities = {(d.get("location") or {}).get("city") for d in run} - {None}
            total = sum(d["cents"] for d in run)
            if len(run) < 4 or len(cities) < 3 or total < 20_000_00:
                continue
            lo = o["t"] if exits_after_last else first["t"]
            out = 0
            for x in txns:
                if not (lo < x["t"] <= o["t"] + 72 * HOUR) or not approved(x):
                    continue
                where = x.get("location") or {}
                if x["kind"] == "cash_withdrawal" and (
                    where.get("city") not in cities or where.get("country", "MA") != "MA"
                ):
                    out += x["cents"]
                elif x["kind"] == "transfer" and x["direction"] == "out":
                    if (x.get("counterparty") or {}).get("country", "MA") != "MA":
                        out += x["cents"]
            if out >= min_share * total:
                return True
    return False


def mule_shape(
    inflows: list[Inflow],
    txns: list[dict[str, Any]],
    *,
    window: int,
    min_senders: int,
    min_total: int,
    min_share: float,
    band: tuple[int, int] = (1, 10**12),
) -> bool:
    """Credit transfers from >= `min_senders` senders within `window` (each in `band`), of which
    `min_share` is passed on within 48 h of arriving, to at most 3 destinations (cash is one).
    Outflows pass on the money first in, first out, and only money that arrived before them."""
    legs = [leg for leg in inflows if band[0] <= leg.cents <= band[1]]
    outflows = [
        x
        for x in txns
        if approved(x)
        and (
            x["kind"] == "cash_withdrawal" or (x["kind"] == "transfer" and x["direction"] == "out")
        )
    ]
    for i, first in enumerate(legs):
        run = [leg for leg in legs[i:] if leg.at - first.at <= window]
        for j in range(len(run)):
            part = run[: j + 1]
            total = sum(leg.cents for leg in part)
            if len({leg.sender for leg in part}) < min_senders or total < min_total:
                continue
            left = [leg.cents for leg in part]
            passed: dict[str, int] = defaultdict(int)
            for x in outflows:
                if not (first.at <= x["t"] <= part[-1].at + 48 * HOUR):
                    continue
                cp = x.get("counterparty") or {}
                destination = (
                    "cash" if x["kind"] == "cash_withdrawal" else cp.get("account_id", "?")
                )
                amount = x["cents"]
                for k, leg in enumerate(part):
                    if leg.at > x["t"] or amount == 0:
                        break
                    if x["t"] - leg.at <= 48 * HOUR and left[k]:
                        take = min(amount, left[k])
                        left[k] -= take
                        amount -= take
                        passed[destination] += take
            if sum(sorted(passed.values())[-3:]) >= min_share * total:
                return True
    return False


def card_testing_shape(
    txns: list[dict[str, Any]], *, window: int, max_cents: int, min_count: int, min_declined: float
) -> bool:
    """>= `min_count` small card-not-present payments within `window`, mostly declined."""
    small = [
        o
        for o in txns
        if o["kind"] == "card_payment"
        and o.get("channel") in ("ecommerce", "online")
        and o["cents"] <= max_cents
    ]
    for i, first in enumerate(small):
        burst = [o for o in small[i:] if o["t"] - first["t"] <= window]
        declined = sum(o.get("status") == "declined" for o in burst)
        if len(burst) >= min_count and declined >= min_declined * len(burst):
            return True
    return False


@dataclass(slots=True)
class Access:
    at: int
    prior_logins: int
    new_device: bool
    new_country: bool
    learnt: bool  # >= 5 earlier events and >= 14 days since the first (the detector's learning)


def accesses(events: list[dict[str, Any]], opened: int | None) -> list[Access]:
    """Logins and resets, with what was known of the account's devices and countries before."""
    devices: set[str] = set()
    countries: set[str] = set()
    seen, logins, first = 0, 0, opened
    found: list[Access] = []
    for o in sorted(events, key=lambda o: (o["t"], o["kind"] != "opened")):
        first = o["t"] if first is None else min(first, o["t"])
        device = o.get("device_id")
        country = (o.get("location") or {}).get("country")
        digital = o.get("kind") in ("login", "credentials_reset") or o.get("channel") in (
            "online",
            "mobile",
            "ecommerce",
        )
        if o.get("kind") in ("login", "credentials_reset"):
            found.append(
                Access(
                    at=o["t"],
                    prior_logins=logins,
                    new_device=bool(devices) and device is not None and device not in devices,
                    new_country=bool(countries)
                    and country is not None
                    and country not in countries,
                    learnt=seen >= 5 and o["t"] >= first + 14 * DAY,
                )
            )
            logins += 1
        if device:
            devices.add(device)
        if country and digital:
            countries.add(country)
        seen += 1
    return found


def drains(
    txns: list[dict[str, Any]],
    at: int,
    horizon: int,
    *,
    payee_band: tuple[int, int],
    purchase_band: tuple[int, int],
    mccs: set[str],
    total: int | None = None,
) -> bool:
    """Within `horizon` after `at`: a transfer (amount in band) to a payee not paid before `at`,
    or >= 2 approved online purchases (amount in band) at the `mccs`, or (with `total`) new-payee
    transfers and such purchases of any amount adding up to `total`."""
    paid = {
        (o.get("counterparty") or {}).get("account_id")
        for o in txns
        if o["kind"] == "transfer" and o["direction"] == "out" and o["t"] < at
    }
    purchases, drained = 0, 0
    for o in txns:
        if not (at <= o["t"] <= at + horizon) or not approved(o) or o["direction"] != "out":
            continue
        if o["kind"] == "transfer" and o.get("channel") not in ("branch", "atm"):
            if (o.get("counterparty") or {}).get("account_id") not in paid:
                if payee_band[0] <= o["cents"] <= payee_band[1]:
                    return True
                drained += o["cents"]
        elif o["kind"] == "card_payment" and o.get("channel") in ("ecommerce", "online", "mobile"):
            if (o.get("merchant") or {}).get("mcc") in mccs:
                drained += o["cents"]
                if purchase_band[0] <= o["cents"] <= purchase_band[1]:
                    purchases += 1
                    if purchases >= 2:
                        return True
    return total is not None and drained >= total


def takeover_shape_strict(book: Book, account: str) -> bool:
    """An established account, then access from a new device or country, then within 24 h a
    transfer of 8,000-40,000 MAD to a new payee or 2+ resellable purchases of 2,500-12,000."""
    txns = book.txns.get(account, [])
    events = book.access.get(account, []) + txns
    for access in accesses(events, book.opened.get(account)):
        if (access.new_device or access.new_country) and access.prior_logins >= 3:
            if drains(
                txns,
                access.at,
                24 * HOUR,
                payee_band=(8_000_00, 40_000_00),
                purchase_band=(2_500_00, 12_000_00),
                mccs=RESALE_MCCS,
            ):
                return True
    return False


def takeover_shape_loose(book: Book, account: str) -> bool:
    """Access from a new device or country after learning, draining within 48 h (near the
    detector's defaults: 5,000 to a new payee, 2 resellable purchases of 2,000, 10,000 in all).
    """
    txns = book.txns.get(account, [])
    events = book.access.get(account, []) + txns
    for access in accesses(events, book.opened.get(account)):
        if (access.new_device or access.new_country) and access.learnt:
            if drains(
                txns,
                access.at,
                48 * HOUR,
                payee_band=(5_000_00, 10**12),
                purchase_band=(2_000_00, 10**12),
                mccs=RESELLABLE_MCCS,
                total=10_000_00,
            ):
                return True
    return False


def strict_funnel(book: Book, account: str) -> bool:
    return funnel_shape(
        book.txns.get(account, []), window=4 * DAY, min_share=0.7, band=(5_000_00, 30_000_00)
    )


def loose_funnel(book: Book, account: str) -> bool:
    return funnel_shape(
        book.txns.get(account, []), window=5 * DAY, min_share=0.6, exits_after_last=False
    )


def strict_mule(book: Book, account: str) -> bool:
    return mule_shape(
        book.inflows.get(account, []),
        book.txns.get(account, []),
        window=5 * DAY,
        min_senders=6,
        min_total=15_000_00,
        min_share=0.8,
        band=(2_000_00, 15_000_00),
    )


def loose_mule(book: Book, account: str) -> bool:
    return mule_shape(
        book.inflows.get(account, []),
        book.txns.get(account, []),
        window=7 * DAY,
        min_senders=5,
        min_total=10_000_00,
        min_share=0.7,
    )


def strict_card_testing(book: Book, account: str) -> bool:
    return card_testing_shape(
        book.txns.get(account, []),
        window=8 * MINUTE,
        max_cents=40_00,
        min_count=6,
        min_declined=0.6,
    )


def loose_card_testing(book: Book, account: str) -> bool:
    return card_testing_shape(
        book.txns.get(account, []),
        window=10 * MINUTE,
        max_cents=50_00,
        min_count=5,
        min_declined=0.5,
    )


SHAPES: dict[str, tuple[Callable[[Book, str], bool], Callable[[Book, str], bool]]] = {
    "funnel_account": (strict_funnel, loose_funnel),
    "mule_account": (strict_mule, loose_mule),
    "card_testing": (strict_card_testing, loose_card_testing),
    "account_takeover": (takeover_shape_strict, takeover_shape_loose),
}


# --- determinism and validity --------------------------------------------------------------


def test_same_config_gives_byte_identical_traffic() -> None:
    config = SimulationConfig(accounts=400, seed=3)
    first, second = simulate(config), simulate(config)
    assert first.messages == second.messages
    assert first.labels == second.labels
    assert first.hard_negatives == second.hard_negatives
    other = simulate(replace(config, accounts=100, seed=4))
    assert [m.value for m in other.messages] != [m.value for m in first.messages[:100]]


def test_without_the_added_typologies_the_traffic_is_what_it_was_before_them() -> None:
    """With the trafficking, shared-identity and OSINT shares at 0 the simulator writes exactly
    what it wrote before those three existed (digest of that version's output)."""
    zero = {f"{t}_{kind}": 0.0 for t in ADDED for kind in ("share", "negative_share")}
    config = SimulationConfig(accounts=300, seed=3, invalid_messages=20, **zero, **NO_ANOMALIES)
    sim = simulate(config)
    assert digest(sim) == "9991e5c8e679de79e3c2e7d93916c2a5fba64b63cf86996c0eb8dc40104cc16a"
    assert not set(ADDED) & {code for codes in sim.labels.values() for code in codes}


def test_without_the_new_typologies_the_traffic_is_the_structuring_only_traffic() -> None:
    """With the new shares at 0 the simulator writes exactly what it wrote before they existed
    (digest of that version's output for this configuration)."""
    config = SimulationConfig(accounts=300, seed=3, invalid_messages=20, **NO_NEW_TYPOLOGIES)
    sim = simulate(config)
    assert digest(sim) == "1c0c7a67cdaa61042b073a359f1313716b24aefbd34e41a5dae506c2cc3bc6c0"
    assert set(sim.hard_negatives.values()) <= set(HARD_NEGATIVES_BY_TYPOLOGY["structuring"])


def test_valid_traffic_does_not_depend_on_the_invalid_messages() -> None:
    config = SimulationConfig(accounts=400, seed=8)
    clean = simulate(config)
    noisy = simulate(replace(config, invalid_messages=12))
    valid = [
        m for m in noisy.messages if b"bad-" not in m.value and not m.value.startswith(b"login")
    ]
    assert len(noisy.messages) - len(valid) == 12
    assert valid == clean.messages
    assert noisy.labels == clean.labels


def test_every_valid_message_validates_and_only_the_injected_ones_do_not(sim: Simulation) -> None:
    rejected = []
    for m in sim.messages:
        result = decode(MODELS[m.topic], m.value, m.key)
        if isinstance(result, Rejection):
            rejected.append(m)
    assert len(rejected) == CONFIG.invalid_messages
    for m in rejected:
        assert b"bad-" in m.value or m.value.startswith(b"login ")
    times = [m.occurred_at for m in sim.messages]
    assert times == sorted(times)


# --- labels ----------------------------------------------------------------------------------


def test_every_typology_is_labelled_at_the_default_shares(sim: Simulation) -> None:
    counts = {t: len(labelled(sim, t)) for t in TYPOLOGIES}
    assert set(counts) == {
        "structuring",
        "funnel_account",
        "mule_account",
        "card_testing",
        "account_takeover",
        "trafficking_indicators",
        "shared_identity",
        "osint_match",
        "anomaly",
    }
    assert counts["structuring"] == 16  # 2 % of 800
    assert counts["anomaly"] == 8  # 1 % of 800
    for typology in set(counts) - {"structuring", "anomaly"}:
        assert counts[typology] == 12, typology  # 1.5 % of 800
    assert set(sim.hard_negatives.values()) == set(HARD_NEGATIVE_KINDS)


def test_hard_negatives_are_never_labelled(sim: Simulation) -> None:
    assert sim.hard_negatives
    assert not set(sim.hard_negatives) & set(sim.labels)


def test_an_account_may_carry_several_labels(sim: Simulation) -> None:
    assert any(len(codes) > 1 for codes in sim.labels.values())
    assert all(codes == sorted(set(codes)) for codes in sim.labels.values())


def test_shares_are_validated() -> None:
    with pytest.raises(ValueError, match="mule_account_share"):
        SimulationConfig(mule_account_share=1.5)


# --- structuring through the real detector pipeline -----------------------------------------


def test_structuring_is_caught_on_labelled_accounts_and_nowhere_else(sim: Simulation) -> None:
    detectors = build_detectors(DetectorParams(enabled=("structuring",)), Jurisdiction())
    policy = build_policy(PolicyParams(), detectors)
    states: dict[str, Any] = {}
    alerted: set[str] = set()
    for m in sim.messages:
        if m.topic != "transactions":
            continue
        txn = decode(Transaction, m.value, m.key)
        if isinstance(txn, Rejection):
            continue
        for leg in account_legs(txn):
            for alert in assess(leg, detectors, states, policy).alerts:
                if "structuring" in alert.typologies:
                    alerted.add(alert.account_id)
    assert alerted == labelled(sim, "structuring")
    assert not alerted & set(sim.hard_negatives)


# --- the shapes of the new typologies --------------------------------------------------------


@pytest.mark.parametrize("typology", sorted(SHAPES))
def test_labelled_accounts_show_the_injected_shape(
    sim: Simulation, book: Book, typology: str
) -> None:
    strict, _loose = SHAPES[typology]
    accounts = labelled(sim, typology)
    assert accounts
    assert [a for a in sorted(accounts) if not strict(book, a)] == []


@pytest.mark.parametrize("typology", sorted(SHAPES))
def test_no_other_account_comes_near_the_shape(sim: Simulation, book: Book, typology: str) -> None:
    """Ordinary accounts, hard negatives and other typologies never show even a looser shape."""
    _strict, loose = SHAPES[typology]
    others = sorted(book.accounts - labelled(sim, typology))
    matches = [(a, sim.hard_negatives.get(a, sim.labels.get(a))) for a in others if loose(book, a)]
    assert matches == []


@pytest.mark.parametrize("typology", sorted(SHAPES))
def test_each_kind_of_hard_negative_is_present(sim: Simulation, typology: str) -> None:
    kinds = set(sim.hard_negatives.values())
    assert set(HARD_NEGATIVES_BY_TYPOLOGY[typology]) <= kinds


def test_mule_inflows_include_transfers_reported_only_by_the_payer(
    sim: Simulation, book: Book
) -> None:
    """About half of a mule's inflows exist only as `out` events on the senders' accounts."""
    styles: dict[str, int] = defaultdict(int)
    for account in labelled(sim, "mule_account"):
        own_credits = {
            (o["counterparty"]["account_id"], o["cents"])
            for o in book.txns[account]
            if o["kind"] == "transfer" and o["direction"] == "in"
        }
        for leg in book.inflows[account]:
            styles[leg.reported_by] += 1
            if leg.reported_by == "payer":
                assert (leg.sender, leg.cents) not in own_credits
                assert leg.sender in book.accounts  # a simulated account's `out`
    total = sum(styles.values())
    assert 0.35 <= styles["payer"] / total <= 0.65
    assert styles["both"] > 0 and styles["payee"] > 0


def test_mules_are_new_or_quiet_and_pass_the_money_on_to_few_destinations(
    sim: Simulation, book: Book
) -> None:
    start = book.start
    for account in labelled(sim, "mule_account"):
        first_inflow = book.inflows[account][0].at
        opened = book.opened[account]
        before = [o for o in book.txns[account] if o["t"] < first_inflow]
        assert opened >= start - 10 * DAY or len(before) <= 2, account
        destinations = {
            o["counterparty"]["account_id"]
            for o in book.txns[account]
            if o["kind"] == "transfer" and o["direction"] == "out"
        }
        assert 1 <= len(destinations) <= 2
        assert all(o["t"] >= opened for o in book.txns[account])
        senders = {leg.sender for leg in book.inflows[account]}
        assert len(senders) >= 6


def test_funnel_deposits_span_three_cities_within_four_days(sim: Simulation, book: Book) -> None:
    for account in labelled(sim, "funnel_account"):
        deposits = [
            o
            for o in book.txns[account]
            if o["kind"] == "cash_deposit" and 5_000_00 <= o["cents"] <= 30_000_00
        ]
        assert any(
            len({d["location"]["city"] for d in deposits if 0 <= d["t"] - o["t"] <= 4 * DAY}) >= 3
            for o in deposits
        ), account


def test_card_testing_bursts_last_minutes_and_are_mostly_declined(
    sim: Simulation, book: Book
) -> None:
    for account in labelled(sim, "card_testing"):
        probes = [
            o
            for o in book.txns[account]
            if o["kind"] == "card_payment"
            and o["merchant"]["mcc"] in PROBE_MCCS
            and o["channel"] == "ecommerce"
        ]
        assert 6 <= len(probes) <= 20
        assert probes[-1]["t"] - probes[0]["t"] <= 8 * MINUTE
        assert sum(o["status"] == "declined" for o in probes) >= 0.6 * len(probes)
        assert all(100 <= o["cents"] <= 40_00 for o in probes)
        cards = {o["card"]["card_id"] for o in probes}
        merchants = {o["merchant"]["merchant_id"] for o in probes}
        assert (len(cards) == 1 and len(merchants) <= 3) or (
            4 <= len(cards) <= 8 and len(merchants) == 1
        )


def test_takeover_access_precedes_the_draining_within_a_day(sim: Simulation, book: Book) -> None:
    for account in labelled(sim, "account_takeover"):
        logins = [o for o in book.access[account] if o["kind"] != "opened"]
        known = {o["device_id"] for o in logins if o["t"] < book.start}
        suspicious = [
            o
            for o in logins
            if o["kind"] in ("login", "credentials_reset")
            and (o["device_id"] not in known or o["location"]["country"] != "MA")
        ]
        assert suspicious, account
        access, ip = suspicious[0]["t"], suspicious[0]["ip"]
        drained = [o for o in book.txns[account] if o.get("ip") == ip and o["direction"] == "out"]
        assert drained, account
        assert all(access < o["t"] <= access + 24 * HOUR for o in drained)
        assert len([o for o in logins if o["t"] < access and o["kind"] == "login"]) >= 3


def test_ordinary_accounts_log_in_a_few_times_a_week_from_their_own_devices(
    sim: Simulation, book: Book
) -> None:
    ordinary = sorted(book.accounts - set(sim.labels) - set(sim.hard_negatives))
    weeks = CONFIG.days / 7
    rates = []
    for account in ordinary:
        logins = [o for o in book.access[account] if o["kind"] in ("login", "credentials_reset")]
        assert {o["location"]["country"] for o in logins} <= {"MA"}
        assert len({o["device_id"] for o in logins}) <= 2
        rates.append(sum(o["t"] >= book.start for o in logins) / weeks)
    rates.sort()
    assert 1.5 <= rates[len(rates) // 2] <= 6.0  # the median customer


# --- trafficking indicators, shared identities, OSINT matches (a 3,000-account run) ----------

ADS_MCCS = {"7273", "5967", "7311"}
TRANSPORT_MCCS = {"4111", "4112", "4131", "4121", "4511"}
TOPUP_MCCS = {"4814", "4812"}
STRONG = {"ads", "wire", "many"}
# FATF call for action and increased monitoring (October 2024), and conflict zones
HIGH_RISK = set(
    "KP IR MM DZ AO BG BF CM CI HR CD HT KE LB ML MC MZ NA NG PH ZA SS SY TZ VE VN YE LY SD".split()
)
# The ten OFAC SDN entries (list of 2024-05-03) the simulator's payers pay: listed name and
# the aliases of the entry's Remarks.
SDN_NAMES = (
    "GHERMAY, Ermias",
    "FITWI, Abd al-Razzak",
    "MILAD, Abd al-Rahman",
    "al-Bija",
    "DABBASHI, Ahmed",
    "Amu",
    "ZHAO WEI TCO",
    "KINGS ROMANS INTERNATIONAL (HK) CO., LIMITED",
    "SU, Guiqin",
    "SU, Madame",
    "KINAHAN ORGANIZED CRIME GROUP",
    "KOCG",
    "UZUH, Richard Izuchukwu",
    "JAMMEH, Zineb Souma Yahya",
)
# names of the pools that a fuzzy SDN screen confuses with a listed one (never used)
LOOKALIKES = {"Ahmed El Khatib", "Mehdi El Mansouri", "Salma Jabri", "Said Saidi", "Imane Hajji"}


def name_key(name: str) -> str:
    """Accents, case, punctuation and word order folded away."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return " ".join(sorted(re.sub(r"[^a-z0-9]+", " ", text).split()))


SDN_KEYS = {name_key(name) for name in SDN_NAMES}


def canonical(kind: str, value: str) -> str:
    """The matching rules the detectors apply."""
    text = value.strip()
    if kind == "phone":
        digits = re.sub(r"[\s().\-/]", "", text)
        return "+" + digits[2:] if digits.startswith("00") else digits
    if kind in ("email", "device", "merchant"):
        return text.lower()
    if kind == "name":
        return " ".join(text.casefold().split())
    return text


@pytest.fixture(scope="module")
def big() -> Simulation:
    return simulate(BIG)


@pytest.fixture(scope="module")
def big_book(big: Simulation) -> Book:
    return parse(big, BIG)


def night(t: int) -> bool:
    """22:00 to 05:00 Morocco time (UTC+1)."""
    return not 4 * HOUR <= t % DAY < 21 * HOUR


def trafficking_flags(txns: list[dict[str, Any]], lo: int, hi: int, rooms_days: int) -> set[str]:
    """The red flags of FinCEN's and FATF's guidance that the events in [lo, hi) show."""
    window = [o for o in txns if lo <= o["t"] < hi and approved(o)]
    cards = [o for o in window if o["kind"] == "card_payment"]

    def mcc(o: dict[str, Any]) -> str | None:
        return (o.get("merchant") or {}).get("mcc")

    flags = set()
    if any(mcc(o) in ADS_MCCS for o in cards):
        flags.add("ads")
    if len({o["location"]["city"] for o in cards if mcc(o) == "7011"}) >= 3:
        flags.add("hotels")
    if sum(mcc(o) in TRANSPORT_MCCS for o in cards) >= 4:
        flags.add("transport")
    if sum(mcc(o) in TOPUP_MCCS for o in cards) >= 3:
        flags.add("topups")
    late = sum(night(o["t"]) for o in window)
    if late >= 8 and late >= 0.4 * len(window):
        flags.add("night")
    if any(
        o["kind"] == "transfer"
        and o["direction"] == "out"
        and (o.get("counterparty") or {}).get("country") in HIGH_RISK
        and o["cents"] % 500_00 == 0
        for o in window
    ):
        flags.add("wire")
    # paying for others: >= 3 tickets at one seller within 30 minutes on >= 2 days, or >= 2
    # rooms at one hotel within an hour (on `rooms_days` days)
    bought: dict[str, list[int]] = defaultdict(list)
    for o in cards:
        if mcc(o) in TRANSPORT_MCCS | {"7011"}:
            bought[o["merchant"]["merchant_id"] + "|" + str(mcc(o))].append(o["t"])
    ticket_days, room_days = set(), set()
    for key, times in bought.items():
        times.sort()
        for i, t in enumerate(times):
            if key.endswith("7011"):
                if i + 1 < len(times) and times[i + 1] - t <= HOUR:
                    room_days.add(t // DAY)
            elif i + 2 < len(times) and times[i + 2] - t <= 30 * MINUTE:
                ticket_days.add(t // DAY)
    if len(ticket_days) >= 2 or len(room_days) >= rooms_days:
        flags.add("many")
    return flags


def trafficking_shape(book: Book, account: str, *, strict: bool) -> bool:
    """Four or more flags, a strong one among them, within some 28 days. Strict (labelled
    accounts): rooms for others on two nights; loose (everyone else): on one."""
    txns = book.txns.get(account, [])
    if not trafficking_flags(txns, -(10**12), 10**12, 1) & STRONG:
        return False
    for day in range(BIG.days):
        lo = book.start + day * DAY
        flags = trafficking_flags(txns, lo, lo + 28 * DAY, 2 if strict else 1)
        if len(flags) >= 4 and flags & STRONG:
            return True
    return False


def opened_customers(book: Book) -> dict[str, dict[str, Any]]:
    return {
        account: o["customer"]
        for account, events in book.access.items()
        for o in events
        if o["kind"] == "opened"
    }


def identity_groups(book: Book) -> dict[tuple[str, str], set[str]]:
    """Accounts by identity document, phone, e-mail and device (normalised)."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for account, customer in opened_customers(book).items():
        groups[("document", customer["id_document"])].add(account)
        groups[("phone", canonical("phone", customer["phone"]))].add(account)
        groups[("email", canonical("email", customer["email"]))].add(account)
    for account in book.accounts:
        for o in book.access.get(account, []) + book.txns.get(account, []):
            if o.get("device_id"):
                groups[("device", o["device_id"].lower())].add(account)
    return groups


def rings(book: Book) -> set[str]:
    """A document behind 2+ names; a phone, e-mail or device behind 3+ accounts with 3+ names
    and 3+ addresses."""
    customers = opened_customers(book)
    found: set[str] = set()
    for (kind, _value), accounts in identity_groups(book).items():
        names = {customers[a]["name"].casefold() for a in accounts}
        addresses = {customers[a]["address"] for a in accounts}
        if kind == "document" and len(names) >= 2:
            found |= accounts
        elif kind != "document" and len(accounts) >= 3 and min(len(names), len(addresses)) >= 3:
            found |= accounts
    return found


def identifier_uses(book: Book) -> dict[tuple[str, str], dict[str, list[int]]]:
    """(type, canonical value) -> account -> times it used that identifier."""
    uses: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for account in book.accounts:
        for o in book.access.get(account, []) + book.txns.get(account, []):
            if o.get("device_id"):
                uses[("device", canonical("device", o["device_id"]))][account].append(o["t"])
            customer = o.get("customer")
            if customer:
                for kind in ("phone", "email", "name"):
                    uses[(kind, canonical(kind, customer[kind]))][account].append(o["t"])
            cp = o.get("counterparty") or {}
            if o.get("kind") == "transfer":
                for kind, field_name in (("account", "account_id"), ("name", "name")):
                    if cp.get(field_name):
                        uses[(kind, canonical(kind, cp[field_name]))][account].append(o["t"])
            merchant_id = (o.get("merchant") or {}).get("merchant_id")
            if merchant_id:
                uses[("merchant", canonical("merchant", merchant_id))][account].append(o["t"])
    return uses


def indicators(sim: Simulation) -> list[dict[str, Any]]:
    return [orjson.loads(m.value) for m in sim.messages if m.topic == "osint.indicators"]


def indicator_matches(sim: Simulation, book: Book) -> dict[str, list[dict[str, Any]]]:
    """Account -> the indicators that match one of its uses (before their `expires_at`)."""
    uses = identifier_uses(book)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ind in indicators(sim):
        expires = seconds(ind["expires_at"]) if ind.get("expires_at") else None
        for account, times in uses.get(
            (ind["type"], canonical(ind["type"], ind["value"])), {}
        ).items():
            if expires is None or min(times) < expires:
                found[account].append(ind)
    return found


def sdn_payers(book: Book) -> set[str]:
    return {
        account
        for account in book.accounts
        for o in book.txns.get(account, [])
        if o["kind"] == "transfer"
        and name_key((o.get("counterparty") or {}).get("name") or "") in SDN_KEYS
    }


def test_the_added_typologies_are_labelled_at_3000_accounts(big: Simulation) -> None:
    counts = {t: len(labelled(big, t)) for t in TYPOLOGIES}
    assert counts["structuring"] == 60
    assert counts["anomaly"] == 30
    rules = {t: count for t, count in counts.items() if t not in ("structuring", "anomaly")}
    assert set(rules.values()) == {45}, counts
    assert len(big.anomalies) == 30
    kinds = set(big.hard_negatives.values())
    for typology, negatives in ADDED_NEGATIVES.items():
        assert set(negatives) <= kinds, typology
    assert set(HARD_NEGATIVE_KINDS) == kinds
    assert not set(big.hard_negatives) & set(big.labels)
    # a fifth of the OSINT matches fall on trafficking accounts (the phone of an escort ad)
    both = labelled(big, "osint_match") & labelled(big, "trafficking_indicators")
    assert 3 <= len(both) <= 20


def test_every_message_of_the_3000_account_run_is_valid(big: Simulation) -> None:
    for m in big.messages:
        assert not isinstance(decode(MODELS[m.topic], m.value, m.key), Rejection), m.value


def test_the_added_typologies_are_deterministic() -> None:
    config = SimulationConfig(accounts=300, seed=9)
    first, second = simulate(config), simulate(config)
    assert digest(first) == digest(second)
    assert set(ADDED) <= {code for codes in first.labels.values() for code in codes}


def test_no_event_precedes_its_account_opening(big_book: Book) -> None:
    for account in big_book.accounts:
        events = big_book.txns.get(account, []) + big_book.access.get(account, [])
        assert min(o["t"] for o in events) >= big_book.opened[account], account


@pytest.mark.parametrize("typology", sorted(SHAPES))
def test_at_3000_accounts_only_the_labelled_show_the_older_typologies(
    big: Simulation, big_book: Book, typology: str
) -> None:
    strict, loose = SHAPES[typology]
    accounts = labelled(big, typology)
    assert [a for a in sorted(accounts) if not strict(big_book, a)] == []
    others = sorted(big_book.accounts - accounts)
    assert [
        (a, big.labels.get(a), big.hard_negatives.get(a)) for a in others if loose(big_book, a)
    ] == []


def test_trafficking_accounts_show_four_red_flags_and_nobody_else_does(
    big: Simulation, big_book: Book
) -> None:
    accounts = labelled(big, "trafficking_indicators")
    assert [a for a in sorted(accounts) if not trafficking_shape(big_book, a, strict=True)] == []
    others = sorted(big_book.accounts - accounts)
    matches = [
        (a, big.hard_negatives.get(a, big.labels.get(a)))
        for a in others
        if trafficking_shape(big_book, a, strict=False)
    ]
    assert matches == []


def test_trafficking_flags_vary_and_negatives_show_some_of_them(
    big: Simulation, big_book: Book
) -> None:
    """Each flag is on some trafficking accounts (and off on others); each negative shows the
    flags it is meant to confuse with, never four with a strong one."""
    seen: dict[str, int] = defaultdict(int)
    for account in labelled(big, "trafficking_indicators"):
        for flag in trafficking_flags(big_book.txns[account], -(10**12), 10**12, 2):
            seen[flag] += 1
    assert set(seen) == {"ads", "wire", "many", "hotels", "transport", "topups", "night"}
    assert all(count < 45 for count in seen.values()), seen
    expected = {
        "business_traveller_many_cities": {"hotels", "transport"},
        "night_shift_worker": {"night", "transport"},
        "family_holiday_tickets_for_four": {"transport"},
        "phone_top_ups_and_bus": {"topups", "transport"},
        "remittance_to_family_high_risk_country": {"wire"},
    }
    for account, kind in big.hard_negatives.items():
        if kind in expected:
            period = BIG.days * DAY
            start = big_book.start
            flags = trafficking_flags(big_book.txns[account], start, start + period, 1)
            assert expected[kind] <= flags or kind == "business_traveller_many_cities", (
                account,
                kind,
                flags,
            )
    travellers = [a for a, k in big.hard_negatives.items() if k == "business_traveller_many_cities"]
    hotels = [
        len(
            {
                o["location"]["city"]
                for o in big_book.txns[a]
                if (o.get("merchant") or {}).get("mcc") == "7011"
            }
        )
        for a in travellers
    ]
    assert max(hotels) >= 3


def test_shared_identity_labels_are_exactly_the_rings(big: Simulation, big_book: Book) -> None:
    assert rings(big_book) == labelled(big, "shared_identity")
    customers = opened_customers(big_book)
    kinds = set()
    for (kind, _value), accounts in identity_groups(big_book).items():
        if accounts <= labelled(big, "shared_identity") and len(accounts) >= 2:
            kinds.add(kind)
    assert kinds == {"document", "phone", "email", "device"}
    # a ring's accounts were opened within three weeks of each other
    for (kind, _value), accounts in identity_groups(big_book).items():
        if len(accounts) >= 2 and accounts <= labelled(big, "shared_identity") and kind != "device":
            opened = [big_book.opened[a] for a in accounts]
            assert max(opened) - min(opened) <= 21 * DAY
            assert len({customers[a]["name"] for a in accounts}) == len(accounts)


def test_shared_identity_negatives_share_identifiers_innocently(
    big: Simulation, big_book: Book
) -> None:
    customers = opened_customers(big_book)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for account, kind in big.hard_negatives.items():
        by_kind[kind].add(account)
    groups = identity_groups(big_book)
    # families: one address and landline for 3-4 people with their own documents and a tablet
    families: dict[str, set[str]] = defaultdict(set)
    for account in by_kind["family_at_one_address"]:
        families[customers[account]["address"]].add(account)
    assert families and all(3 <= len(members) <= 4 for members in families.values())
    for members in families.values():
        assert len({customers[a]["phone"] for a in members}) == 1
        assert next(iter({customers[a]["phone"] for a in members})).startswith("+2125")
        assert len({customers[a]["id_document"] for a in members}) == len(members)
        assert len({customers[a]["name"] for a in members}) == len(members)
        assert any(accounts == members for (k, _v), accounts in groups.items() if k == "device")
    # one person, two banks: same name and document, the second account at TXC-MA
    pairs = [
        accounts
        for (kind, _value), accounts in groups.items()
        if kind == "document" and accounts <= by_kind["same_person_two_banks"]
    ]
    assert pairs and all(len(p) == 2 and len({customers[a]["name"] for a in p}) == 1 for p in pairs)
    for pair in pairs:
        institutions = {o["institution"] for a in pair for o in big_book.txns.get(a, [])}
        assert institutions == {"TXB-MA", "TXC-MA"}
    # couples: two names behind one laptop, one address
    couples = [
        accounts
        for (kind, _value), accounts in groups.items()
        if kind == "device" and len(accounts) > 1 and accounts <= by_kind["couple_sharing_a_device"]
    ]
    assert couples and all(len(c) == 2 for c in couples)
    assert all(len({customers[a]["address"] for a in c}) == 1 for c in couples)
    assert all(len({customers[a]["name"] for a in c}) == 2 for c in couples)
    # a public IP behind many unrelated customers
    ips: dict[str, set[str]] = defaultdict(set)
    for account in big_book.accounts:
        for o in big_book.access.get(account, []):
            if o.get("ip"):
                ips[o["ip"]].add(account)
    crowded = [
        accounts
        for accounts in ips.values()
        if len(accounts) >= 5 and accounts <= by_kind["customers_sharing_a_public_ip"]
    ]
    assert crowded and sum(map(len, crowded)) == len(by_kind["customers_sharing_a_public_ip"])
    assert not rings(big_book) & set(big.hard_negatives)


def test_osint_labels_are_exactly_the_indicator_and_sanctions_matches(
    big: Simulation, big_book: Book
) -> None:
    matches = indicator_matches(big, big_book)
    payers = sdn_payers(big_book)
    assert set(matches) | payers == labelled(big, "osint_match")
    assert len(payers) >= 10
    assert not set(matches) & set(big.hard_negatives)
    # every kind of identifier is matched, and always in another spelling than the account's
    # (account ids excepted: they are compared as they are)
    kinds = {ind["type"] for found in matches.values() for ind in found}
    assert kinds == {"phone", "email", "device", "account", "merchant", "name"}
    uses = identifier_uses(big_book)
    raw = {
        (o.get("customer") or {}).get(k)
        for events in big_book.access.values()
        for o in events
        for k in ("phone", "email")
    } | {o.get("device_id") for events in big_book.access.values() for o in events}
    raw |= {(o.get("merchant") or {}).get("merchant_id") for t in big_book.txns.values() for o in t}
    raw |= {(o.get("counterparty") or {}).get("name") for t in big_book.txns.values() for o in t}
    before = after = 0
    for account, found in matches.items():
        for ind in found:
            if ind["type"] != "account":
                assert ind["value"] not in raw, ind
            times = uses[(ind["type"], canonical(ind["type"], ind["value"]))][account]
            observed = seconds(ind["observed_at"])
            before += observed < min(times)
            after += observed > max(times)
    assert before and after


def test_sanctions_payees_are_spelled_in_many_ways(big_book: Book) -> None:
    names = {
        o["counterparty"]["name"]
        for account in sdn_payers(big_book)
        for o in big_book.txns[account]
        if o["kind"] == "transfer" and name_key(o["counterparty"]["name"]) in SDN_KEYS
    }
    listed = {n.casefold() for n in SDN_NAMES}
    assert len({name_key(n) for n in names}) >= 9  # nine of the ten entries or more
    assert any(n.casefold() not in listed and "," not in n for n in names)  # First Last
    assert any(n != n.encode("ascii", "ignore").decode() for n in names)  # accents
    assert any(n.islower() for n in names)
    assert any(n.casefold() in {"al-bija", "madame su"} for n in names)  # an alias


def test_osint_negatives_come_close_and_do_not_match(big: Simulation, big_book: Book) -> None:
    by_kind: dict[str, set[str]] = defaultdict(set)
    for account, kind in big.hard_negatives.items():
        by_kind[kind].add(account)
    uses = identifier_uses(big_book)
    inds = indicators(big)
    # expired: the identifier is in an indicator, every use came after it expired
    expired = set()
    for ind in inds:
        users = uses.get((ind["type"], canonical(ind["type"], ind["value"])), {})
        for account, times in users.items():
            if account in by_kind["indicator_expired_before_use"]:
                assert min(times) > seconds(ind["expires_at"])
                expired.add(account)
    assert expired == by_kind["indicator_expired_before_use"]
    # a phone one digit off a customer's, which nobody has
    customers = opened_customers(big_book)
    phones = {c["phone"] for c in customers.values()}
    near = {canonical("phone", ind["value"]) for ind in inds if ind["type"] == "phone"} - phones
    for account in by_kind["indicator_phone_no_customer_has"]:
        own = customers[account]["phone"]
        assert any(p[:-1] == own[:-1] for p in near), account
    # common names paid, none of them on the list, none of the pools' look-alikes anywhere
    for account in by_kind["common_names_not_sanctioned"]:
        names = [
            o["counterparty"]["name"] for o in big_book.txns[account] if o["kind"] == "transfer"
        ]
        assert names and not {name_key(n) for n in names} & SDN_KEYS
    everyone = {c["name"] for c in customers.values()} | {
        (o.get("counterparty") or {}).get("name") for t in big_book.txns.values() for o in t
    }
    assert not everyone & LOOKALIKES
    assert not {n for n in everyone if n and n.split(" ")[0] in ("Rif", "Argan")}
    assert not sdn_payers(big_book) & set(big.hard_negatives)


# --- anomalies no rule targets (for the isolation forest) -----------------------------------

ANOMALY_NEGATIVES = HARD_NEGATIVES_BY_TYPOLOGY["anomaly"]
WEEK = 7 * DAY


def local_hours(t: int) -> float:
    """Hours after midnight in Morocco (UTC+1, Ramadan ignored as in the simulator)."""
    return ((t + HOUR) % DAY) / HOUR


def median(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def country_of(o: dict[str, Any]) -> str:
    return str((o.get("location") or {}).get("country", "MA"))


def cp_country(o: dict[str, Any]) -> str:
    return str((o.get("counterparty") or {}).get("country", "MA"))


def has_history(book: Book, account: str, t: int) -> bool:
    """An ordinary life of at least a week before `t`, on an account opened a month before."""
    earlier = [o for o in book.txns[account] if o["t"] < t]
    return (
        len(earlier) >= 5
        and earlier[0]["t"] <= t - WEEK
        and book.opened[account] <= book.start - 30 * DAY
    )


def anomaly_shape(book: Book, account: str, kind: str) -> bool:
    """Whether the account shows the injected unusual behaviour, after an ordinary history."""
    txns = book.txns[account]
    if kind == "large_night_transfer_abroad":
        abroad = [o for o in txns if o["kind"] == "transfer" and cp_country(o) != "MA"]
        if len(abroad) != 1:
            return False
        big = abroad[0]
        before = [
            o
            for o in txns
            if o["t"] < big["t"] and o["kind"] == "transfer" and o["direction"] == "out"
        ]
        paid = {(o.get("counterparty") or {}).get("account_id") for o in before}
        return (
            big["direction"] == "out"
            and 2.0 <= local_hours(big["t"]) < 4.0
            and big["cents"] >= max(15_000_00, 29 * median([o["cents"] for o in before]))
            and big["counterparty"]["account_id"] not in paid
            and has_history(book, account, big["t"])
        )
    if kind == "card_spree_in_a_new_country":
        spree = [o for o in txns if o["kind"] == "card_payment" and country_of(o) != "MA"]
        if not 3 <= len(spree) <= 5 or len({country_of(o) for o in spree}) != 1:
            return False
        first = spree[0]["t"]
        usual = median([o["cents"] for o in txns if o["t"] < first and o["kind"] == "card_payment"])
        return (
            spree[-1]["t"] - first <= HOUR
            and all(
                o["channel"] == "pos" and o["cents"] >= max(3_000_00, 19 * usual) for o in spree
            )
            and has_history(book, account, first)
        )
    if kind == "night_cash_in_a_new_city":
        towns: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for o in txns:
            if o["kind"] == "cash_withdrawal":
                towns[o["location"]["city"]].append(o)
        for town, cash in towns.items():
            first = cash[0]["t"]
            seen = {
                (o.get("location") or {}).get("city")
                for o in txns + book.access[account]
                if o["t"] < first
            }
            if (
                town not in seen
                and 5 <= len(cash) <= 10
                and all(0.5 <= local_hours(o["t"]) < 5.0 for o in cash)
                and cash[-1]["t"] - first <= 2 * DAY
                and has_history(book, account, first)
            ):
                return True
        return False
    # business_windfall_paid_straight_out
    inflows = [o for o in txns if o["kind"] == "transfer" and o["direction"] == "in"]
    for windfall in inflows:
        before = [o["cents"] for o in txns if o["direction"] == "in" and o["t"] < windfall["t"]]
        if not before or windfall["cents"] < max(100_000_00, 39 * median(before)):
            continue
        out = [
            o
            for o in txns
            if o["kind"] == "transfer"
            and o["direction"] == "out"
            and windfall["t"] < o["t"] <= windfall["t"] + 5 * HOUR + 20 * MINUTE
        ]
        passed = [
            o for o in out if 0.89 * windfall["cents"] <= o["cents"] <= 0.99 * windfall["cents"]
        ]
        return len(passed) == 1 and has_history(book, account, windfall["t"])
    return False


def test_anomalies_are_labelled_alone_at_the_default_shares(sim: Simulation) -> None:
    accounts = labelled(sim, "anomaly")
    assert len(accounts) == 8
    assert all(sim.labels[a] == ["anomaly"] for a in accounts)
    assert set(sim.anomalies) == accounts
    assert sorted(set(sim.anomalies.values())) == sorted(ANOMALY_KINDS)
    negatives = [a for a, kind in sim.hard_negatives.items() if kind in ANOMALY_NEGATIVES]
    assert len(negatives) == 8
    assert set(ANOMALY_NEGATIVES) <= set(sim.hard_negatives.values())


def test_anomalies_are_deterministic_and_drawn_after_everything_else() -> None:
    config = SimulationConfig(accounts=300, seed=4)
    first, second = simulate(config), simulate(config)
    assert digest(first) == digest(second)
    assert first.anomalies == second.anomalies
    assert first.anomalies
    without = simulate(replace(config, **NO_ANOMALIES))
    assert not without.anomalies
    assert "anomaly" not in {code for codes in without.labels.values() for code in codes}
    # the other typologies' labels do not depend on the anomalies
    rules = {a: c for a, c in first.labels.items() if c != ["anomaly"]}
    assert rules == without.labels


def test_without_the_anomalies_the_traffic_is_what_it_was_before_them() -> None:
    """With the two anomaly shares at 0 the simulator writes exactly what it wrote before the
    anomalies existed (digest of that version's output for this configuration)."""
    sim = simulate(SimulationConfig(accounts=300, seed=3, invalid_messages=20, **NO_ANOMALIES))
    assert digest(sim) == "15b7a327413f0d01476f83f3a55ccd7a240af08960fa22a58e48d862eae0bc82"


def test_anomalies_need_ten_days() -> None:
    short = simulate(SimulationConfig(accounts=200, days=9, seed=1))
    assert not short.anomalies
    assert not {k for k in short.hard_negatives.values() if k in ANOMALY_NEGATIVES}


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_each_anomaly_follows_an_ordinary_history(
    big: Simulation, big_book: Book, kind: str
) -> None:
    accounts = sorted(a for a, k in big.anomalies.items() if k == kind)
    assert len(accounts) >= 7
    assert [a for a in accounts if not anomaly_shape(big_book, a, kind)] == []


def test_no_other_account_shows_an_anomaly(big: Simulation, big_book: Book) -> None:
    """No unlabelled account (ordinary, or a hard negative of any typology) shows one."""
    quiet = sorted(big_book.accounts - set(big.labels))
    for kind in ANOMALY_KINDS:
        assert [a for a in quiet if anomaly_shape(big_book, a, kind)] == [], kind


def test_anomaly_negatives_show_large_but_ordinary_payments(
    big: Simulation, big_book: Book
) -> None:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for account, kind in big.hard_negatives.items():
        by_kind[kind].append(account)
    for kind in ANOMALY_NEGATIVES:
        assert len(by_kind[kind]) == 10, kind
    for kind in ("yearly_payment_by_a_big_spender", "car_bought_by_a_big_spender"):
        low, high = (
            (40_000_00, 150_000_00) if kind.startswith("yearly") else (120_000_00, 350_000_00)
        )
        for account in by_kind[kind]:
            txns = big_book.txns[account]
            (large,) = [o for o in txns if o["kind"] == "transfer" and o["cents"] >= low]
            assert large["cents"] <= high and cp_country(large) == "MA"
            assert 9.0 <= local_hours(large["t"]) <= 18.0
            assert (large["channel"] == "branch") == kind.startswith("car")
            history = [
                o
                for o in txns
                if o["kind"] == "transfer"
                and 8_000_00 <= o["cents"] <= 30_000_00
                and o["t"] <= large["t"]
            ]
            assert 3 <= len(history) <= 5
    for account in by_kind["salary_a_day_early"]:
        salaries = [
            o
            for o in big_book.txns[account]
            if o["direction"] == "in"
            and str((o.get("counterparty") or {}).get("account_id", "")).startswith("EMP-")
        ]
        assert salaries


def test_anomaly_counterparties_are_in_no_risk_list_and_named_like_no_sdn_entry() -> None:
    risk = CountryRisk.default()
    countries = set(simulator._FAR_PAYEES) | set(simulator._SPREE_SHOPS)
    assert {c: risk.risk(c) for c in countries if risk.risk(c) is not None} == {}
    names = [n for _banks, people, firms in simulator._FAR_PAYEES.values() for n in people + firms]
    names += [*simulator._SCHOOLS, *simulator._SECOND_HOMES]
    names += [f"{d} {c}" for d in simulator._CAR_DEALERS for c in simulator._CITY_NAMES]
    screen = Watchlist.default()
    assert [n for n in names if screen.screen(n, threshold=80)] == []


def test_no_rule_fires_on_the_anomalies_or_their_negatives(sim: Simulation) -> None:
    """The default detectors (no model) replayed over the traffic: not one alert on an account
    labelled only `anomaly`, nor on an anomaly hard negative; the rule typologies are found."""
    events = []
    for m in sim.messages:
        event = decode(MODELS[m.topic], m.value, m.key)
        if not isinstance(event, Rejection):
            events.append(event)
    alerts = replay(events)
    alerted = {a.account_id for a in alerts}
    only_anomaly = {a for a, codes in sim.labels.items() if codes == ["anomaly"]}
    negatives = {a for a, kind in sim.hard_negatives.items() if kind in ANOMALY_NEGATIVES}
    assert only_anomaly and negatives
    assert sorted(alerted & only_anomaly) == []
    assert sorted(alerted & negatives) == []
    assert "anomaly" not in {t.value for a in alerts for t in a.typologies}
    assert alerted == set(sim.labels) - only_anomaly
