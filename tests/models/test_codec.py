"""`models.codec.decode`: wire bytes to an event, or a dead-letter reason an operator can act on."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from models import AccountEvent, DeadLetter, DeadLetterReason, Indicator, Rejection, Transaction
from models.codec import decode
from tests.factories import account_event_payload, indicator_payload, txn_payload


def wire(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def rejection(result: object) -> Rejection:
    assert isinstance(result, Rejection), f"expected a rejection, got {result!r}"
    return result


def test_valid_transaction_with_matching_key_is_decoded() -> None:
    payload = txn_payload(account_id="ACC-7")
    event = decode(Transaction, wire(payload), b"ACC-7")
    assert isinstance(event, Transaction)
    assert event.event_id == payload["event_id"]


def test_value_and_key_may_be_text_instead_of_bytes() -> None:
    event = decode(Transaction, json.dumps(txn_payload(account_id="ACC-7")), "ACC-7")
    assert isinstance(event, Transaction)


@pytest.mark.parametrize(
    "value",
    [b"{not json", b'{"event_id": "e1",', b"   ", b"\xff\xfe\x00{}", "\u00e9 {"],
    ids=["garbage", "truncated", "whitespace", "non-utf8-bytes", "text-not-json"],
)
def test_unparseable_value_is_bad_json(value: bytes | str) -> None:
    result = rejection(decode(Transaction, value, b"ACC-1"))
    assert result.reason is DeadLetterReason.BAD_JSON
    assert "not valid JSON" in result.error


def test_non_utf8_bytes_inside_a_string_field_are_bad_json() -> None:
    raw = wire(txn_payload(account_id="ACC-1")).replace(b'"ACC-1"', b'"ACC-\xe9"')
    assert rejection(decode(Transaction, raw, check_key=False)).reason is DeadLetterReason.BAD_JSON


@pytest.mark.parametrize("value", [None, b"", ""], ids=["none", "empty-bytes", "empty-text"])
def test_missing_value_is_bad_json(value: bytes | str | None) -> None:
    result = rejection(decode(Transaction, value, b"ACC-1"))
    assert result.reason is DeadLetterReason.BAD_JSON
    assert "no value" in result.error


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"occurred_at": "2026-11-02T09:00:00"}, "occurred_at"),
        ({"kind": "wire"}, "kind"),
        ({"location": {"country": "XX"}}, "location.country"),
    ],
    ids=["negative-amount", "text-amount", "unknown-currency", "naive-timestamp", "unknown-kind",
         "nested-country"],
)
def test_schema_violation_names_the_field_path(overrides: dict[str, Any], field: str) -> None:
    result = rejection(decode(Transaction, wire(txn_payload(**overrides)), b"ACC-1"))
    assert result.reason is DeadLetterReason.SCHEMA
    assert result.error.startswith(f"{field}: ")


def test_missing_required_field_is_a_schema_rejection_naming_it() -> None:
    payload = txn_payload()
    del payload["currency"]
    result = rejection(decode(Transaction, wire(payload), b"ACC-1"))
    assert result.reason is DeadLetterReason.SCHEMA
    assert "currency: Field required" in result.error


def test_cross_field_rule_violation_is_a_schema_rejection() -> None:
    payload = txn_payload(kind="transfer", direction="out", counterparty=None)
    result = rejection(decode(Transaction, wire(payload), b"ACC-1"))
    assert result.reason is DeadLetterReason.SCHEMA
    assert "counterparty is required" in result.error


def test_json_that_is_not_an_object_is_a_schema_rejection() -> None:
    result = rejection(decode(Transaction, b"[1, 2]", b"ACC-1"))
    assert result.reason is DeadLetterReason.SCHEMA


def test_several_violations_are_all_reported() -> None:
    result = rejection(decode(Transaction, wire(txn_payload(amount=0, currency="XYZ")), b"ACC-1"))
    assert "amount: " in result.error and "currency: " in result.error


@pytest.mark.parametrize(
    ("model", "payload", "good_key", "bad_key"),
    [
        (Transaction, txn_payload(account_id="ACC-1"), b"ACC-1", b"ACC-2"),
        (AccountEvent, account_event_payload(account_id="ACC-1"), b"ACC-1", b"ACC-2"),
        (Indicator, indicator_payload(value="+212600000001"), b"+212600000001", b"ind-1"),
    ],
    ids=["transactions-key-is-account", "accounts-key-is-account", "indicators-key-is-value"],
)
def test_key_must_equal_the_contract_field(model: type, payload: dict[str, Any], good_key: bytes,
                                           bad_key: bytes) -> None:
    assert isinstance(decode(model, wire(payload), good_key), model)
    mismatch = rejection(decode(model, wire(payload), bad_key))
    assert mismatch.reason is DeadLetterReason.KEY_MISMATCH
    missing = rejection(decode(model, wire(payload), None))
    assert missing.reason is DeadLetterReason.KEY_MISMATCH
    assert "no key" in missing.error


def test_indicator_keyed_by_its_id_instead_of_value_is_a_key_mismatch() -> None:
    payload = indicator_payload(indicator_id="ind-42", value="bad@example.org")
    result = rejection(decode(Indicator, wire(payload), b"ind-42"))
    assert result.reason is DeadLetterReason.KEY_MISMATCH
    assert "value" in result.error


def test_check_key_false_accepts_any_or_no_key() -> None:
    payload = wire(txn_payload(account_id="ACC-1"))
    assert isinstance(decode(Transaction, payload, b"ACC-OTHER", check_key=False), Transaction)
    assert isinstance(decode(Transaction, payload, None, check_key=False), Transaction)


def test_schema_is_checked_before_the_key() -> None:
    result = rejection(decode(Transaction, wire(txn_payload(amount=-1)), b"WRONG"))
    assert result.reason is DeadLetterReason.SCHEMA


def test_non_utf8_key_is_a_mismatch_not_a_crash() -> None:
    result = rejection(decode(Transaction, wire(txn_payload(account_id="ACC-1")), b"\xffACC-1"))
    assert result.reason is DeadLetterReason.KEY_MISMATCH


# --- DeadLetter.encode_raw ----------------------------------------------------------------


def test_encode_raw_keeps_utf8_bytes_as_text() -> None:
    assert DeadLetter.encode_raw('{"city": "Fès"}'.encode()) == ('{"city": "Fès"}', "utf-8")


def test_encode_raw_base64_encodes_bytes_that_are_not_utf8() -> None:
    data = b"\xff\xfe\x00binary"
    text, encoding = DeadLetter.encode_raw(data)
    assert encoding == "base64"
    assert base64.b64decode(text) == data


def test_encode_raw_of_no_value_is_empty_text() -> None:
    assert DeadLetter.encode_raw(None) == ("", "utf-8")
