"""Test data: a fixed event-time origin, message factories and hypothesis strategies.

Plain functions, importable from any test (`from tests.factories import make_txn, T0`); the
conftest exposes the same factories as fixtures.

Every `*_payload` function returns the JSON-able dict a bank would send (so rejection tests can
break one field); `make_*` validates that dict into the model. An override of `None` removes
the field, e.g. `txn_payload(kind="transfer", counterparty=None)`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st

from models import AccountEvent, Finding, Indicator, Transaction

__all__ = [
    "T0",
    "account_event_payload",
    "account_events",
    "cash_deposit",
    "event_sequences",
    "feed",
    "indicator_payload",
    "jsonl",
    "make_account_event",
    "make_indicator",
    "make_txn",
    "near_cash_deposits",
    "near_deposits",
    "transactions",
    "txn_payload",
]

#: Event-time origin of every test scenario (a Monday morning).
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = {**defaults, **overrides}
    return {k: _jsonable(v) for k, v in data.items() if v is not None}


def txn_payload(**overrides: Any) -> dict[str, Any]:
    """A valid `transactions` message; fields a kind requires are filled in unless overridden."""
    kind = overrides.get("kind", "cash_deposit")
    defaults: dict[str, Any] = {
        "event_id": _next_id("txn"),
        "occurred_at": T0,
        "account_id": "ACC-1",
        "kind": kind,
        "direction": "out" if kind in ("cash_withdrawal", "card_payment") else "in",
        "amount": Decimal("1000.00"),
        "currency": "MAD",
        "channel": "branch",
    }
    if kind == "transfer":
        defaults["channel"] = "online"
        defaults["counterparty"] = {"account_id": "ACC-2", "name": "Counterparty", "bank": "BNK2"}
    if kind == "card_payment":
        defaults["channel"] = "pos"
        defaults["card"] = {"card_id": "card-tok-1", "bin": "412345"}
        defaults["merchant"] = {"merchant_id": "M-1", "name": "Shop", "mcc": "5411",
                                "country": "MA"}
    return _merge(defaults, overrides)


def make_txn(**overrides: Any) -> Transaction:
    return Transaction.model_validate(txn_payload(**overrides))


def account_event_payload(**overrides: Any) -> dict[str, Any]:
    kind = overrides.get("kind", "opened")
    defaults: dict[str, Any] = {
        "event_id": _next_id("acc"),
        "occurred_at": T0,
        "account_id": "ACC-1",
        "kind": kind,
    }
    if kind in ("opened", "updated"):
        defaults["customer"] = {
            "customer_id": "C-1",
            "type": "individual",
            "name": "Amina Test",
            "id_document": "sha256:0f1e2d",
            "phone": "+212612345678",
            "email": "amina@example.org",
            "declared_monthly_income": "8000.00",
        }
    if kind in ("login", "credentials_reset"):
        defaults["device_id"] = "dev-1"
        defaults["ip"] = "192.0.2.10"
    return _merge(defaults, overrides)


def make_account_event(**overrides: Any) -> AccountEvent:
    return AccountEvent.model_validate(account_event_payload(**overrides))


def indicator_payload(**overrides: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "indicator_id": _next_id("ind"),
        "observed_at": T0,
        "type": "phone",
        "value": "+212600000001",
        "typology": "human_trafficking",
        "source": "escort-ad-scraper",
    }
    return _merge(defaults, overrides)


def make_indicator(**overrides: Any) -> Indicator:
    return Indicator.model_validate(indicator_payload(**overrides))


def cash_deposit(amount: str | Decimal = "95000.00", at: timedelta = timedelta(0),
                 **overrides: Any) -> Transaction:
    """An approved cash deposit of `amount` MAD at `T0 + at`."""
    return make_txn(kind="cash_deposit", direction="in", amount=Decimal(amount),
                    occurred_at=T0 + at, **overrides)


def near_deposits(count: int, *, every: timedelta = timedelta(days=1),
                  amount: str = "95000.00", start: timedelta = timedelta(0),
                  **overrides: Any) -> list[Transaction]:
    """`count` near-threshold cash deposits, `every` apart from `T0 + start`."""
    return [cash_deposit(amount, start + i * every, **overrides) for i in range(count)]


def jsonl(payloads: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(p, sort_keys=True) + "\n" for p in payloads)


# --- hypothesis strategies ----------------------------------------------------------------

_ACCOUNTS = ("ACC-1", "ACC-2", "ACC-3")

#: Amounts around the default (Morocco) cash reporting threshold as well as ordinary ones.
_near_band = st.decimals(min_value=Decimal("79990.00"), max_value=Decimal("100010.00"), places=2)
amounts = st.one_of(
    _near_band,
    st.sampled_from([Decimal("79999.99"), Decimal("80000.00"), Decimal("99999.99"),
                     Decimal("100000.00")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
    st.decimals(min_value=Decimal("100000"), max_value=Decimal("2000000"), places=2),
)

#: Event-time offsets from T0 within two weeks, to the second (any arrival order).
offsets = st.integers(min_value=0, max_value=14 * 86400).map(lambda s: timedelta(seconds=s))


@st.composite
def transactions(draw: st.DrawFn, event_id: str = "h") -> Transaction:
    kind = draw(st.sampled_from(["cash_deposit", "cash_deposit", "cash_withdrawal", "transfer",
                                 "card_payment"]))
    if kind == "transfer":
        direction = draw(st.sampled_from(["in", "out"]))
        counterparty: dict[str, Any] | None = {"account_id": draw(st.sampled_from(_ACCOUNTS))}
    else:
        direction = "in" if kind == "cash_deposit" else "out"
        counterparty = None
    return make_txn(
        event_id=event_id,
        account_id=draw(st.sampled_from(_ACCOUNTS)),
        kind=kind,
        direction=direction,
        counterparty=counterparty,
        amount=draw(amounts),
        currency=draw(st.sampled_from(["MAD", "MAD", "MAD", "EUR"])),
        status=draw(st.sampled_from(["approved", "approved", "approved", "declined"])),
        occurred_at=T0 + draw(offsets),
    )


@st.composite
def near_cash_deposits(draw: st.DrawFn, event_id: str = "h") -> Transaction:
    """Approved MAD cash deposits around the default threshold: what structuring looks at."""
    return make_txn(event_id=event_id, account_id=draw(st.sampled_from(_ACCOUNTS[:2])),
                    kind="cash_deposit", direction="in", amount=draw(_near_band),
                    currency="MAD", occurred_at=T0 + draw(offsets))


@st.composite
def account_events(draw: st.DrawFn, event_id: str = "h") -> AccountEvent:
    kind = draw(st.sampled_from(["opened", "updated", "login", "credentials_reset", "closed"]))
    return make_account_event(event_id=event_id, kind=kind,
                              account_id=draw(st.sampled_from(_ACCOUNTS)),
                              occurred_at=T0 + draw(offsets))


@st.composite
def event_sequences(draw: st.DrawFn, max_size: int = 40) -> list[Transaction | AccountEvent]:
    """Mixed transactions and account events with unique event ids, in arbitrary time order."""
    n = draw(st.integers(min_value=0, max_value=max_size))
    events: list[Transaction | AccountEvent] = []
    for i in range(n):
        event_id = f"h-{i}"
        events.append(draw(st.one_of(near_cash_deposits(event_id), transactions(event_id),
                                     account_events(event_id))))
    return events


S = TypeVar("S")


def feed(det: Any, events: Iterable[Any], state: S | None = None) -> tuple[S, list[Finding]]:
    """Score events with one detector in arrival order; the final state and every finding."""
    current = state if state is not None else det.State()
    findings: list[Finding] = []
    for event in events:
        current, found = det.score(event, current)
        findings.extend(found)
    return current, findings
