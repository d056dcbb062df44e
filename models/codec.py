"""Bytes on the wire to validated events, or a rejection with a reason an operator can read.

One function per input topic, shared by the stream and by offline replay, so that a message the
worker dead-letters is exactly a line replay counts as invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.alerts import DeadLetterReason
from models.events import Indicator

__all__ = ["Rejection", "decode", "describe_validation_error"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an input message cannot be accepted."""

    reason: DeadLetterReason
    error: str


def describe_validation_error(exc: ValidationError) -> str:
    """`field.path: message; ...`, short enough for a log line and a DLQ record."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{path}: {err['msg']}")
    return "; ".join(parts)


def _key_field(model: type[BaseModel]) -> str:
    return "value" if model is Indicator else "account_id"


def decode(
    model: type[M],
    value: bytes | str | None,
    key: bytes | str | None = None,
    *,
    check_key: bool = True,
) -> M | Rejection:
    """Validate one message of `model`'s topic; with `check_key`, the key must match the contract.

    The key of `transactions` and `accounts` must equal `account_id`; the key of
    `osint.indicators` must equal `value`.
    """
    if value is None or value == b"" or value == "":
        return Rejection(DeadLetterReason.BAD_JSON, "the message has no value (tombstone)")
    try:
        event = model.model_validate_json(value)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            msg = exc.errors()[0]["msg"]
            return Rejection(DeadLetterReason.BAD_JSON, f"the value is not valid JSON ({msg})")
        return Rejection(DeadLetterReason.SCHEMA, describe_validation_error(exc))
    if check_key:
        field = _key_field(model)
        expected = getattr(event, field)
        if key is None:
            return Rejection(
                DeadLetterReason.KEY_MISMATCH,
                f"the message has no key; the contract requires key = {field}",
            )
        key_text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if key_text.strip() != expected:
            return Rejection(
                DeadLetterReason.KEY_MISMATCH,
                f"the message key differs from {field} (key must equal {field})",
            )
    return event
