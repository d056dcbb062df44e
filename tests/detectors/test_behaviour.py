"""Behaviour profile and anomaly features: the card of `detectors/behaviour.py`, feature by feature.

Every scenario is scored then learned, in that order, as the stream does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.assess import payee_leg
from detectors.behaviour import (
    FEATURE_NAMES,
    FEATURES,
    MAX_COUNTERPARTIES,
    MAX_DEVICES,
    MAX_MERCHANTS,
    BehaviourProfile,
    explain,
    features,
    learn,
    learn_account_event,
)
from models import AccountEvent, Transaction
from tests.factories import T0, event_sequences, make_account_event, make_txn

HOME = "MA"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PROFILE_JSON_BUDGET = 1500  # bytes, for the busiest account

SEQUENCES = settings(max_examples=80, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

Event = Transaction | AccountEvent


def row(event: Transaction, profile: BehaviourProfile | None, **kw: Any) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, features(event, profile, home_country=HOME, **kw),
                    strict=True))


def replay(events: Iterable[Event], profile: BehaviourProfile | None = None,
           ) -> tuple[BehaviourProfile | None, list[list[float]]]:
    """Score then learn each event; the final profile and every transaction's feature row."""
    rows: list[list[float]] = []
    for event in events:
        if isinstance(event, Transaction):
            rows.append(features(event, profile, home_country=HOME))
        profile = learn(event, profile)
    return profile, rows


def history(events: Iterable[Event]) -> BehaviourProfile:
    profile, _ = replay(events)
    assert profile is not None
    return profile


def pay(at: timedelta, amount: str = "250.00", **overrides: Any) -> Transaction:
    """A holder's card payment at T0 + at (09:00 UTC Monday plus the offset)."""
    return make_txn(kind="card_payment", direction="out", amount=Decimal(amount),
                    occurred_at=T0 + at, **overrides)


def transfer(at: timedelta, to: str, amount: str = "1000.00", direction: str = "out",
             **overrides: Any) -> Transaction:
    counterparty = overrides.pop("counterparty", {"account_id": to})
    return make_txn(kind="transfer", direction=direction, amount=Decimal(amount),
                    counterparty=counterparty, occurred_at=T0 + at, **overrides)


def daytime_history(days: int = 30, per_day: int = 3, seed: int = 7) -> list[Transaction]:
    """An ordinary account: a few card payments of 100 to 400 MAD between 09:00 and 17:00."""
    rng = random.Random(seed)
    events = []
    for d in range(days):
        for k in range(per_day):
            at = d * DAY + timedelta(minutes=rng.randrange(0, 8 * 60)) + k * timedelta(seconds=1)
            events.append(pay(at, f"{rng.randrange(100, 400)}.00",
                              merchant={"merchant_id": f"M-{rng.randrange(5)}", "country": "MA"}))
    return sorted(events, key=lambda e: e.occurred_at)


def random_events(n: int, seed: int = 3, *, spread: int = 600) -> list[Event]:
    """A very busy account: every field that the profile remembers varies, ids never repeat."""
    rng = random.Random(seed)
    events: list[Event] = []
    t = T0
    for i in range(n):
        t += timedelta(seconds=rng.randrange(1, spread))
        if rng.random() < 0.05:
            events.append(make_account_event(
                event_id=f"r-{i}", kind=rng.choice(["opened", "login", "credentials_reset",
                                                    "updated", "closed"]),
                occurred_at=t, device_id=f"dev-{rng.randrange(10**6)}",
                location={"country": rng.choice(["MA", "FR", "ES", "US"])}))
            continue
        kind = rng.choice(["cash_deposit", "cash_withdrawal", "transfer", "card_payment"])
        extra: dict[str, Any] = {}
        if kind == "transfer":
            extra["direction"] = rng.choice(["in", "out"])
            extra["counterparty"] = {"account_id": f"CP-{rng.randrange(10**9)}",
                                     "country": rng.choice(["MA", "FR", "AE"])}
        if kind == "card_payment":
            extra["merchant"] = {"merchant_id": f"M-{rng.randrange(10**9)}",
                                 "country": rng.choice(["MA", "FR"])}
            extra["channel"] = rng.choice(["pos", "ecommerce", "mobile"])
        events.append(make_txn(
            event_id=f"r-{i}", kind=kind, occurred_at=t,
            amount=Decimal(rng.randrange(1, 10**12)) / 100,
            device_id=f"dev-{rng.randrange(10**6)}",
            location={"country": rng.choice(["MA", "FR", "ES", "US"]), "city": "Somewhere"},
            status=rng.choice(["approved"] * 9 + ["declined"]), **extra))
    return events


def all_finite(values: Sequence[float]) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


# --- the feature list ------------------------------------------------------------------------


def test_feature_names_are_unique_and_described() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURES) == len(FEATURE_NAMES)
    for spec in FEATURES:
        assert spec.description.startswith(f"{spec.name}: ")
        assert spec.description.endswith(".")


def test_the_row_follows_the_order_of_features() -> None:
    """Each intrinsic feature lands at its own name's position (distinct values, no aliasing)."""
    event = make_txn(kind="card_payment", direction="out", amount=Decimal("1000.00"),
                     status="declined", channel="ecommerce",
                     merchant={"merchant_id": "M-9", "country": "FR"},
                     occurred_at=T0.replace(hour=6, minute=0))  # 06:00 UTC: sin 1, cos 0
    values = features(event, None, home_country=HOME)
    assert len(values) == len(FEATURES)
    got = dict(zip(FEATURE_NAMES, values, strict=True))
    assert got["log_amount"] == pytest.approx(math.log1p(1000.0))
    assert got["hour_sin"] == pytest.approx(1.0)
    assert got["hour_cos"] == pytest.approx(0.0, abs=1e-12)
    expected_flags = {"is_declined": 1.0, "is_cash": 0.0, "is_transfer": 0.0, "is_card": 1.0,
                      "is_inbound": 0.0, "foreign_counterparty": 1.0, "foreign_location": 0.0}
    assert {k: got[k] for k in expected_flags} == expected_flags
    cash_in = dict(zip(FEATURE_NAMES, features(make_txn(kind="cash_deposit"), None,
                                               home_country=HOME), strict=True))
    assert (cash_in["is_cash"], cash_in["is_inbound"], cash_in["is_card"]) == (1.0, 1.0, 0.0)


# --- purity: determinism, score before learn, JSON ---------------------------------------------


def test_same_sequence_same_rows_and_profile() -> None:
    events = random_events(500, seed=11)
    first, rows_a = replay(events)
    second, rows_b = replay(events)
    assert rows_a == rows_b
    assert first == second
    assert first is not None and second is not None
    assert first.model_dump_json() == second.model_dump_json()


@pytest.mark.parametrize(
    "event",
    [
        make_txn(kind="cash_deposit", amount=Decimal("95000")),
        make_txn(kind="cash_withdrawal", amount=Decimal("300"), location={"country": "FR"}),
        make_txn(kind="transfer", direction="out", counterparty={"account_id": "X"},
                 device_id="dev-9"),
        make_txn(kind="transfer", direction="in", counterparty={"account_id": "X"}),
        make_txn(kind="card_payment", status="declined", occurred_at=T0.replace(hour=3)),
    ],
    ids=["cash-in", "cash-out-abroad", "transfer-out-device", "transfer-in", "declined-card-3am"],
)
def test_first_event_of_an_account_gives_the_neutral_values(event: Transaction) -> None:
    got = row(event, None)
    for spec in FEATURES:
        if spec.neutral is not None:
            assert got[spec.name] == spec.neutral, spec.name
    assert got == row(event, BehaviourProfile())


def test_features_are_computed_before_learning_the_event() -> None:
    before = history(daytime_history(days=5))
    event = pay(6 * DAY, "5000.00")
    scored = features(event, before, home_country=HOME)
    after = learn(event, before)
    assert features(event, before, home_country=HOME) == scored  # the profile was not changed
    assert after != before and after.txns == before.txns + 1
    assert features(event, after, home_country=HOME) != scored  # learning it would change them


def test_json_round_trip_gives_identical_features_at_every_step() -> None:
    events = random_events(2000, seed=5)
    straight, rows = replay(events)
    profile: BehaviourProfile | None = None
    stored_rows: list[list[float]] = []
    for event in events:
        if profile is not None:
            profile = BehaviourProfile.model_validate_json(profile.model_dump_json())
        if isinstance(event, Transaction):
            stored_rows.append(features(event, profile, home_country=HOME))
        profile = learn(event, profile)
    assert stored_rows == rows
    assert profile == straight
    assert straight is not None
    assert BehaviourProfile.model_validate(straight.model_dump(mode="json")) == straight


# --- bounded and small -------------------------------------------------------------------------


def test_ten_thousand_events_keep_the_profile_under_budget() -> None:
    profile = history(random_events(10_000, seed=3))
    size = len(profile.model_dump_json())
    assert size < PROFILE_JSON_BUDGET, size
    assert len(profile.devices) == MAX_DEVICES
    assert len(profile.counterparties) == MAX_COUNTERPARTIES
    assert len(profile.merchants) == MAX_MERCHANTS


def test_fingerprints_evict_the_least_recently_seen() -> None:
    events = [transfer(i * MINUTE, f"P-{i}") for i in range(MAX_COUNTERPARTIES)]
    events.append(transfer(40 * MINUTE, "P-0"))  # P-0 seen again: now the most recent
    events.append(transfer(41 * MINUTE, "P-new"))  # evicts P-1, the least recent
    profile = history(events)
    assert len(profile.counterparties) == MAX_COUNTERPARTIES
    assert row(transfer(DAY, "P-0"), profile)["new_counterparty"] == 0.0
    assert row(transfer(DAY, "P-2"), profile)["new_counterparty"] == 0.0
    assert row(transfer(DAY, "P-1"), profile)["new_counterparty"] == 1.0


# --- each feature moves the right way -----------------------------------------------------------


def test_a_fifty_fold_amount_gives_a_large_amount_z() -> None:
    base = daytime_history()
    profile = history(base)
    usual = row(pay(30 * DAY + 3 * HOUR, "250.00"), profile)
    huge = row(pay(30 * DAY + 3 * HOUR, "12500.00"), profile)
    tiny = row(pay(30 * DAY + 3 * HOUR, "5.00"), profile)
    assert abs(usual["amount_z"]) < 1.5
    assert huge["amount_z"] > 5.0
    assert tiny["amount_z"] < -5.0
    assert huge["log_amount"] > usual["log_amount"]


def test_amount_z_compares_within_one_direction() -> None:
    profile = history(daytime_history())  # only debits so far
    salary = row(transfer(30 * DAY, "EMPLOYER", "25000.00", direction="in"), profile)
    assert salary["amount_z"] == 0.0  # no credit history yet: neutral, not "100x the coffees"


def test_a_burst_of_twenty_events_in_ten_minutes_raises_the_hourly_velocity() -> None:
    profile = history(daytime_history())
    start = 30 * DAY + 2 * HOUR
    quiet = row(pay(start), profile)
    burst_rows = []
    for i in range(20):
        event = pay(start + i * timedelta(seconds=30), "20.00")
        burst_rows.append(row(event, profile))
        profile = learn(event, profile)
    last = burst_rows[-1]
    velocities = [r["velocity_1h"] for r in burst_rows]
    assert velocities == sorted(velocities)
    assert last["velocity_1h"] > math.log1p(15) > quiet["velocity_1h"]
    assert last["burst_1h"] > 2.0 > quiet["burst_1h"]
    assert last["burst_24h"] > quiet["burst_24h"]
    assert last["gap_log"] == pytest.approx(math.log1p(30))
    assert last["velocity_24h"] > quiet["velocity_24h"]


def test_velocity_decays_with_event_time() -> None:
    profile = history([pay(i * MINUTE) for i in range(10)])
    soon = row(pay(10 * MINUTE), profile)
    later = row(pay(10 * MINUTE + 5 * HOUR), profile)
    assert later["velocity_1h"] < soon["velocity_1h"] / 5
    assert later["velocity_7d"] == pytest.approx(soon["velocity_7d"], rel=0.05)
    assert later["gap_log"] > soon["gap_log"]


def test_a_new_counterparty_and_a_new_merchant_are_flagged() -> None:
    profile = history([transfer(i * HOUR, payee) for i, payee in enumerate(["A", "B", "A"])]
                      + [pay(5 * HOUR, merchant={"merchant_id": "M-1"})])
    assert row(transfer(DAY, "C"), profile)["new_counterparty"] == 1.0
    assert row(transfer(DAY, "B"), profile)["new_counterparty"] == 0.0
    assert row(transfer(DAY, "A", direction="in"), profile)["new_counterparty"] == 0.0
    assert row(pay(DAY, merchant={"merchant_id": "M-2"}), profile)["new_merchant"] == 1.0
    assert row(pay(DAY, merchant={"merchant_id": "M-1"}), profile)["new_merchant"] == 0.0
    assert row(make_txn(kind="cash_deposit", occurred_at=T0 + DAY), profile)[
        "new_counterparty"] == 0.0  # no counterparty: nothing to be new


def test_counterparties_without_account_id_are_known_by_name_and_bank() -> None:
    profile = history([make_txn(kind="transfer", direction="out", occurred_at=T0,
                                counterparty={"name": "Landlord SARL", "bank": "BNK"})])
    same = make_txn(kind="transfer", direction="out", occurred_at=T0 + DAY,
                    counterparty={"name": "LANDLORD sarl", "bank": "bnk"})
    other = make_txn(kind="transfer", direction="out", occurred_at=T0 + DAY,
                     counterparty={"name": "Someone Else", "bank": "BNK"})
    assert row(same, profile)["new_counterparty"] == 0.0
    assert row(other, profile)["new_counterparty"] == 1.0


def test_a_three_am_event_deviates_from_a_daytime_habit() -> None:
    profile = history(daytime_history())
    night = row(pay(31 * DAY - 6 * HOUR), profile)  # 03:00 UTC
    noon = row(pay(30 * DAY + 4 * HOUR), profile)  # 13:00 UTC
    assert night["hour_deviation"] > 6.0
    assert noon["hour_deviation"] < 2.0


def test_hour_habit_ignores_times_the_holder_did_not_choose() -> None:
    profile = history(daytime_history())
    salary_at_night = transfer(31 * DAY - 6 * HOUR, "EMPLOYER", direction="in")
    assert row(salary_at_night, profile)["hour_deviation"] == 0.0
    learned = learn(salary_at_night, profile)
    assert profile.last_seen is not None
    elapsed = (salary_at_night.occurred_at - profile.last_seen).total_seconds()
    decay = 0.5 ** (elapsed / (30 * 86400))  # only decayed, nothing added
    assert (learned.hour_s, learned.hour_c, learned.hour_w) == pytest.approx(
        (profile.hour_s * decay, profile.hour_c * decay, profile.hour_w * decay), rel=1e-6)


def test_hour_of_day_uses_the_time_zone_but_the_deviation_does_not() -> None:
    profile = history(daytime_history())
    event = pay(31 * DAY - 6 * HOUR)  # 03:00 UTC is 04:00 in Casablanca in November (UTC+1)
    utc = row(event, profile)
    local = row(event, profile, tz=ZoneInfo("Africa/Casablanca"))
    assert local["hour_sin"] == pytest.approx(math.sin(2 * math.pi * 4 / 24))
    assert utc["hour_sin"] == pytest.approx(math.sin(2 * math.pi * 3 / 24))
    assert local["hour_deviation"] == utc["hour_deviation"]


def test_channel_and_country_changes_and_foreign_flags() -> None:
    profile = history([pay(i * HOUR, channel="pos", location={"country": "MA"})
                       for i in range(5)])
    same = row(pay(DAY, channel="pos", location={"country": "MA"}), profile)
    online_abroad = row(pay(DAY, channel="ecommerce", location={"country": "FR"}), profile)
    assert (same["channel_change"], same["country_change"], same["foreign_location"]) == (0, 0, 0)
    assert online_abroad["channel_change"] == 1.0
    assert online_abroad["country_change"] == 1.0
    assert online_abroad["foreign_location"] == 1.0
    card_present_abroad = pay(DAY, channel="pos", merchant={"merchant_id": "M-7",
                                                            "country": "ES"})
    got = row(card_present_abroad, profile)
    assert (got["country_change"], got["foreign_location"], got["foreign_counterparty"]) == (
        1.0, 1.0, 1.0)
    cross_border = row(transfer(DAY, "X", counterparty={"account_id": "X", "country": "AE"}),
                       profile)
    assert cross_border["foreign_counterparty"] == 1.0


def test_a_login_teaches_devices_and_country() -> None:
    profile = learn_account_event(
        make_account_event(kind="login", device_id="phone-1", location={"country": "MA"}), None)
    mine = transfer(HOUR, "A", device_id="phone-1", location={"country": "MA"})
    theirs = transfer(HOUR, "A", device_id="laptop-x", location={"country": "RU"})
    assert row(mine, profile)["new_device"] == 0.0
    assert (row(theirs, profile)["new_device"], row(theirs, profile)["country_change"]) == (
        1.0, 1.0)
    assert row(theirs, None)["new_device"] == 0.0  # no known device yet: cold start
    # `learn` routes account events too, and credentials resets teach like logins
    reset = make_account_event(kind="credentials_reset", device_id="laptop-x",
                               occurred_at=T0 + MINUTE)
    assert row(theirs, learn(reset, profile))["new_device"] == 0.0


def test_opened_sets_the_account_age_and_other_account_events_change_nothing() -> None:
    opened = make_account_event(kind="opened", occurred_at=T0 - 400 * DAY)
    profile = learn(opened, None)
    assert row(pay(timedelta(0)), profile)["account_age_log"] == pytest.approx(math.log1p(400))
    later_opened = make_account_event(kind="opened", occurred_at=T0 - 10 * DAY)
    assert learn(later_opened, profile).opened_at == T0 - 400 * DAY  # the earliest stays
    for kind in ("updated", "closed"):
        assert learn(make_account_event(kind=kind), profile) == profile
    # without an opening event the age counts from the first transaction
    first = history([pay(timedelta(0))])
    assert row(pay(9 * DAY), first)["account_age_log"] == pytest.approx(math.log1p(9))


def test_cash_share_and_flow_balance() -> None:
    deposits = [make_txn(kind="cash_deposit", amount=Decimal("9000"), occurred_at=T0 + i * HOUR)
                for i in range(3)]
    profile = history(deposits)
    got = row(transfer(4 * HOUR, "MULE-2", "26000.00"), profile)
    assert got["cash_share_7d"] == pytest.approx(1.0)
    assert got["flow_balance_7d"] == pytest.approx(1.0)
    profile = learn(transfer(4 * HOUR, "MULE-2", "27000.00"), profile)
    got = row(transfer(5 * HOUR, "MULE-3", "100.00"), profile)
    assert got["cash_share_7d"] == pytest.approx(0.5, abs=0.01)
    assert got["flow_balance_7d"] == pytest.approx(0.0, abs=0.01)


def test_declined_events_count_in_velocity_but_teach_nothing_else() -> None:
    profile = history([pay(timedelta(0))])
    declined = transfer(MINUTE, "NEW", "90000.00", status="declined", device_id="dev-z")
    learned = learn(declined, profile)
    assert learned.n_1h > profile.n_1h
    assert learned.out_7d == pytest.approx(profile.out_7d * 0.5 ** (1 / (7 * 1440)))
    assert learned.in_w == profile.in_w == 0.0
    assert (learned.counterparties, learned.devices) == ((), ())
    assert row(transfer(2 * MINUTE, "NEW"), learned)["new_counterparty"] == 0.0  # none known
    assert row(declined, profile)["is_declined"] == 1.0


def test_a_derived_payee_leg_is_an_ordinary_inbound_transfer() -> None:
    payer_side = transfer(HOUR, "ACC-1", "5000.00", account_id="ACC-9", channel="mobile",
                          device_id="dev-payer", location={"country": "FR"})
    leg = payee_leg(payer_side)
    assert leg.event_id.endswith("~payee") and leg.account_id == "ACC-1"
    reported = transfer(HOUR, "ACC-9", "5000.00", direction="in", event_id="bank-report",
                        channel=None, counterparty={"account_id": "ACC-9", "country": "FR"})
    profile = history(daytime_history(days=3))
    assert row(leg, profile) == row(reported, profile)
    assert learn(leg, profile) == learn(reported, profile)
    assert row(leg, profile)["is_inbound"] == 1.0
    assert learn(leg, profile).channel == profile.channel  # the payer's channel is not learned


def test_out_of_order_events_are_learned_without_moving_last_seen() -> None:
    profile = history([pay(10 * HOUR), pay(11 * HOUR)])
    late = pay(HOUR, "300.00", merchant={"merchant_id": "M-late"})
    got = row(late, profile)
    assert got["gap_log"] == 0.0 and all_finite(list(got.values()))
    learned = learn(late, profile)
    assert learned.last_seen == profile.last_seen
    assert learned.first_seen == T0 + HOUR
    assert profile.n_1h < learned.n_1h < profile.n_1h + 0.01  # ten hours old at last_seen


# --- explain -------------------------------------------------------------------------------------


def test_explain_picks_the_largest_standardised_deviations() -> None:
    n = len(FEATURES)
    baseline = [0.0] * n
    scale = [1.0] * n
    values = [0.0] * n
    index = {name: i for i, name in enumerate(FEATURE_NAMES)}
    values[index["amount_z"]] = 9.0
    values[index["burst_1h"]] = -4.0
    values[index["log_amount"]] = 12.0
    scale[index["log_amount"]] = 6.0  # deviation 2
    values[index["new_counterparty"]] = 1.0
    scale[index["new_counterparty"]] = 0.0  # IQR 0 counts as 1: deviation 1
    got = explain(values, baseline, scale, top=3)
    assert [g["feature"] for g in got] == ["amount_z", "burst_1h", "log_amount"]
    assert [g["deviation"] for g in got] == [9.0, -4.0, 2.0]
    assert got[0]["value"] == 9.0 and got[0]["typical"] == 0.0
    assert got[0]["description"] == FEATURES[index["amount_z"]].description
    assert [g["feature"] for g in explain(values, baseline, scale, top=10)] == [
        "amount_z", "burst_1h", "log_amount", "new_counterparty"]  # zero deviations left out
    assert explain(values, baseline, scale, top=0) == []
    with pytest.raises(ValueError, match="needs"):
        explain(values[:-1], baseline, scale)


def test_explain_on_a_real_row_names_the_big_amount() -> None:
    base = daytime_history()
    profile, rows = replay(base)
    assert profile is not None
    columns = list(zip(*rows[10:], strict=True))
    medians = [sorted(c)[len(c) // 2] for c in columns]
    iqrs = [sorted(c)[3 * len(c) // 4] - sorted(c)[len(c) // 4] for c in columns]
    odd = features(pay(30 * DAY + 3 * HOUR, "12500.00"), profile, home_country=HOME)
    top = explain(odd, medians, iqrs, top=2)
    assert {t["feature"] for t in top} == {"amount_z", "log_amount"}


# --- never NaN, never infinite -------------------------------------------------------------


@SEQUENCES
@given(event_sequences(max_size=40))
def test_random_sequences_give_finite_rows_and_round_trip(events: list[Event]) -> None:
    profiles: dict[str, BehaviourProfile | None] = {}
    for event in events:
        profile = profiles.get(event.account_id)
        if isinstance(event, Transaction):
            values = features(event, profile, home_country=HOME)
            assert len(values) == len(FEATURES)
            assert all_finite(values), dict(zip(FEATURE_NAMES, values, strict=True))
        profile = learn(event, profile)
        assert BehaviourProfile.model_validate_json(profile.model_dump_json()) == profile
        profiles[event.account_id] = profile


_extreme_amounts = st.one_of(
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("0.01"), places=6),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("1e17"), places=2),
)
_extreme_times = st.integers(min_value=-50 * 365 * 86400, max_value=50 * 365 * 86400).map(
    lambda s: T0 + timedelta(seconds=s))


@st.composite
def _extreme_events(draw: st.DrawFn) -> Event:
    at: datetime = draw(_extreme_times)
    if draw(st.integers(0, 5)) == 0:
        return make_account_event(kind=draw(st.sampled_from(["opened", "login"])),
                                  occurred_at=at, device_id=draw(st.sampled_from(["d1", "d2"])))
    kind = draw(st.sampled_from(["cash_deposit", "cash_withdrawal", "transfer",
                                 "card_payment"]))
    extra: dict[str, Any] = {}
    if kind == "transfer":
        extra = {"direction": draw(st.sampled_from(["in", "out"])),
                 "counterparty": {"account_id": draw(st.sampled_from(["A", "B", "C"]))}}
    return make_txn(kind=kind, occurred_at=at, amount=draw(_extreme_amounts),
                    status=draw(st.sampled_from(["approved", "declined"])),
                    device_id=draw(st.sampled_from([None, "d1", "d3"])),
                    location=draw(st.sampled_from([None, {"country": "MA"}, {"country": "US"}])),
                    **extra)


@SEQUENCES
@given(st.lists(_extreme_events(), max_size=30), st.booleans())
def test_extreme_amounts_and_times_stay_finite(events: list[Event], bursts: bool) -> None:
    if bursts:  # the same instant over and over: zero gaps, zero spans
        events = [e.model_copy(update={"occurred_at": T0}) for e in events]
    profile: BehaviourProfile | None = None
    for event in events:
        if isinstance(event, Transaction):
            assert all_finite(features(event, profile, home_country=HOME))
        profile = learn(event, profile)
    if profile is not None:
        assert len(profile.model_dump_json()) < PROFILE_JSON_BUDGET
