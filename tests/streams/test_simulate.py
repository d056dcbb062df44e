"""The traffic simulator: determinism, valid messages, labels, and the shape of each typology.

Each typology has a checker written from its definition. Every labelled account must show the
injected shape (strict figures); no account outside a typology's labels (ordinary accounts,
hard negatives, other typologies) may show even a looser shape, near the detectors' defaults.
That is how the ordinary population is kept free of accidental patterns.
"""

from __future__ import annotations

import hashlib
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
from models import AccountEvent, Indicator, Transaction
from models.codec import Rejection, decode
from streams.simulate import (
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
}
MINUTE, HOUR, DAY = 60, 3_600, 86_400
PROBE_MCCS = {"5815", "5816", "5817", "5818", "8398", "4816"}
RESALE_MCCS = {"5732", "5045", "5944", "6540", "5946"}
# what the account-takeover detector counts as resellable (a superset)
RESELLABLE_MCCS = RESALE_MCCS | {"5734", "5094", "5722"}
CONFIG = SimulationConfig(accounts=800, seed=5, invalid_messages=30)


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
    }
    assert counts["structuring"] == 16  # 2 % of 800
    for typology in ("funnel_account", "mule_account", "card_testing", "account_takeover"):
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
