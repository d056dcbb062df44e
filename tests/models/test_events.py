"""Input contracts (spec/contracts.md): what the monitor accepts at the edge and what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from models import AccountEvent, Indicator, Transaction
from models.events import Direction, TransactionKind, TransactionStatus
from tests.factories import (
    T0,
    account_event_payload,
    indicator_payload,
    make_account_event,
    make_indicator,
    make_txn,
    txn_payload,
)


def txn_from_json(**overrides: Any) -> Transaction:
    """Validate the way the stream does: from JSON text, not from Python objects."""
    return Transaction.model_validate_json(json.dumps(txn_payload(**overrides)))


def rejected_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


# --- Transaction: amounts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (9500, Decimal("9500")),
        (9500.5, Decimal("9500.5")),
        (0.1, Decimal("0.1")),
        ("9500.00", Decimal("9500.00")),
        ("0.01", Decimal("0.01")),
    ],
    ids=["json-integer", "json-float", "json-float-no-binary-noise", "decimal-string",
         "smallest-cent"],
)
def test_amount_is_accepted_as_json_number_or_decimal_string(raw: Any, expected: Decimal) -> None:
    txn = txn_from_json(amount=raw)
    assert txn.amount == expected
    assert isinstance(txn.amount, Decimal)


@pytest.mark.parametrize(
    "raw",
    [0, -1, "0", "-0.01", "NaN", "Infinity", "abc", "", "1e-7", True],
    ids=["zero", "negative", "zero-string", "negative-string", "nan", "infinity", "abc",
         "empty", "sub-micro", "boolean"],
)
def test_amount_that_is_not_a_positive_finite_decimal_is_rejected(raw: Any) -> None:
    with pytest.raises(ValidationError) as info:
        txn_from_json(amount=raw)
    assert rejected_fields(info.value) == {"amount"}


# --- Transaction: timestamps ----------------------------------------------------------------


def test_timestamp_without_zone_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        txn_from_json(occurred_at="2026-11-02T09:00:00")
    assert rejected_fields(info.value) == {"occurred_at"}


@pytest.mark.parametrize(
    "raw",
    ["2026-11-02T10:00:00+01:00", "2026-11-02T04:00:00-05:00", "2026-11-02T09:00:00Z"],
    ids=["plus-one", "minus-five", "zulu"],
)
def test_timestamp_with_offset_is_normalised_to_utc(raw: str) -> None:
    txn = txn_from_json(occurred_at=raw)
    assert txn.occurred_at == T0
    assert txn.occurred_at.utcoffset() is not None
    assert txn.occurred_at.tzinfo == UTC


# --- Transaction: ISO codes -----------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [("mad", "MAD"), (" eur ", "EUR"), ("USD", "USD")])
def test_currency_is_upper_cased(raw: str, code: str) -> None:
    assert txn_from_json(currency=raw).currency == code


@pytest.mark.parametrize("raw", ["XYZ", "DIRHAM", "", "MA"], ids=["unknown", "name", "empty",
                                                                  "country-not-currency"])
def test_unknown_currency_is_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        txn_from_json(currency=raw)
    assert rejected_fields(info.value) == {"currency"}


def test_country_codes_are_upper_cased_wherever_they_appear() -> None:
    txn = txn_from_json(kind="transfer", direction="out",
                        counterparty={"account_id": "ACC-9", "country": "fr"},
                        location={"country": "ma", "city": "Rabat"})
    assert txn.counterparty is not None and txn.counterparty.country == "FR"
    assert txn.location is not None and txn.location.country == "MA"


@pytest.mark.parametrize("raw", ["XX", "FRA", "Morocco"], ids=["unknown", "alpha-3", "name"])
def test_unknown_country_is_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        txn_from_json(location={"country": raw})
    assert rejected_fields(info.value) == {"location.country"}


# --- Transaction: fields required for a kind ------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "transfer", "direction": "out", "counterparty": None},
        {"kind": "card_payment", "card": None},
        {"kind": "card_payment", "merchant": None},
        {"kind": "cash_deposit", "direction": "out"},
        {"kind": "cash_withdrawal", "direction": "in"},
    ],
    ids=["transfer-without-counterparty", "card-payment-without-card",
         "card-payment-without-merchant", "cash-deposit-going-out", "cash-withdrawal-coming-in"],
)
def test_kind_specific_rules_are_enforced(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=overrides["kind"]):
        txn_from_json(**overrides)


@pytest.mark.parametrize("kind", ["cash_deposit", "cash_withdrawal", "transfer", "card_payment"])
def test_each_kind_is_accepted_with_its_required_fields(kind: str) -> None:
    assert txn_from_json(kind=kind).kind is TransactionKind(kind)


def test_status_defaults_to_approved() -> None:
    payload = txn_payload()
    payload.pop("status", None)
    assert Transaction.model_validate(payload).status is TransactionStatus.APPROVED


def test_unknown_extra_fields_are_ignored_not_rejected() -> None:
    payload = {**txn_payload(), "core_banking_ref": "X-1", "risk": {"nested": [1, 2]}}
    txn = Transaction.model_validate_json(json.dumps(payload))
    assert txn.event_id == payload["event_id"]
    assert "core_banking_ref" not in txn.model_dump()


def test_ip_is_validated_and_normalised() -> None:
    assert txn_from_json(ip="2001:DB8::0001").ip == "2001:db8::1"
    with pytest.raises(ValidationError):
        txn_from_json(ip="999.1.1.1")


@pytest.mark.parametrize("field", ["event_id", "occurred_at", "account_id", "kind", "direction",
                                   "amount", "currency"])
def test_every_required_field_is_required(field: str) -> None:
    payload = txn_payload()
    del payload[field]
    with pytest.raises(ValidationError) as info:
        Transaction.model_validate(payload)
    assert field in rejected_fields(info.value)


@pytest.mark.parametrize(
    ("model", "obj"),
    [(Transaction, make_txn()), (AccountEvent, make_account_event()),
     (Indicator, make_indicator())],
    ids=["transaction", "account-event", "indicator"],
)
def test_models_are_frozen(model: type, obj: Any) -> None:
    field = "event_id" if model is not Indicator else "value"
    with pytest.raises(ValidationError):
        setattr(obj, field, "changed")


def test_nested_objects_are_frozen_too() -> None:
    txn = make_txn(kind="transfer", direction="out")
    assert txn.counterparty is not None
    with pytest.raises(ValidationError):
        txn.counterparty.account_id = "ACC-EVIL"  # type: ignore[misc]


def test_direction_enum_values_match_the_contract() -> None:
    assert {d.value for d in Direction} == {"in", "out"}


# --- AccountEvent -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["opened", "updated"])
def test_opened_or_updated_account_without_customer_is_rejected(kind: str) -> None:
    with pytest.raises(ValidationError, match="customer is required"):
        AccountEvent.model_validate(account_event_payload(kind=kind, customer=None))


@pytest.mark.parametrize("kind", ["login", "credentials_reset", "closed"])
def test_session_events_need_no_customer(kind: str) -> None:
    assert make_account_event(kind=kind).customer is None


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("+212612345678", "+212612345678"), ("+212 6 12-34-56-78", "+212612345678"),
     ("+1 (202) 555-0100", "+12025550100")],
    ids=["compact", "spaces-and-dashes", "parentheses"],
)
def test_e164_phone_is_accepted_and_compacted(raw: str, stored: str) -> None:
    event = make_account_event(customer={"phone": raw})
    assert event.customer is not None and event.customer.phone == stored


@pytest.mark.parametrize(
    "raw",
    ["0612345678", "212612345678", "+0612345678", "+12345", "+1234567890123456",
     "+2126abc45678"],
    ids=["national-format", "no-plus", "leading-zero-country", "too-short", "too-long",
         "letters"],
)
def test_phone_that_is_not_e164_is_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_account_event(customer={"phone": raw})
    assert rejected_fields(info.value) == {"customer.phone"}


def test_declared_income_cannot_be_negative() -> None:
    with pytest.raises(ValidationError):
        make_account_event(customer={"declared_monthly_income": "-1"})


# --- Indicator ----------------------------------------------------------------------------


def test_indicator_confidence_defaults_to_one_half() -> None:
    payload = indicator_payload()
    assert "confidence" not in payload
    assert Indicator.model_validate(payload).confidence == 0.5


@pytest.mark.parametrize("confidence", [0, 0.0, 0.73, 1, 1.0])
def test_indicator_confidence_within_zero_and_one_is_accepted(confidence: float) -> None:
    assert make_indicator(confidence=confidence).confidence == confidence


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 2, "NaN"])
def test_indicator_confidence_outside_zero_and_one_is_rejected(confidence: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Indicator.model_validate_json(json.dumps(indicator_payload(confidence=confidence)))
    assert rejected_fields(info.value) == {"confidence"}


def test_indicator_timestamps_need_a_zone_and_are_utc() -> None:
    ind = make_indicator(observed_at="2026-11-02T10:00:00+01:00",
                         expires_at="2026-12-02T09:00:00Z")
    assert ind.observed_at == T0
    assert ind.expires_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        make_indicator(observed_at="2026-11-02T09:00:00")


def test_indicator_type_and_typology_are_closed_enums() -> None:
    with pytest.raises(ValidationError):
        make_indicator(type="telegram")
    with pytest.raises(ValidationError):
        make_indicator(typology="fraud")
