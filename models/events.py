"""Input contracts: the messages financial institutions and OSINT feeds write.

These mirror `spec/contracts.md` (copied from the shared contracts) field for field. They are
frozen and ignore unknown fields, so a bank adding a field never breaks the monitor, while every
rule the contract states (positive decimal amounts given as number or string, RFC 3339 timestamps
with a zone, ISO 4217 / ISO 3166-1 codes, fields required for a kind) is enforced here, once, at
the edge.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

__all__ = [
    "AccountEvent",
    "AccountEventKind",
    "Card",
    "Channel",
    "Counterparty",
    "Customer",
    "CustomerType",
    "Direction",
    "Indicator",
    "IndicatorType",
    "IndicatorTypology",
    "Location",
    "Merchant",
    "Transaction",
    "TransactionKind",
    "TransactionStatus",
]


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in _currency_codes():
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return code


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in _country_codes():
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 or IPv6 address") from None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _e164(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if not _E164.match(compact):
        raise ValueError(f"'{value}' is not an E.164 phone number (+ and 7 to 15 digits)")
    return compact


CurrencyCode = Annotated[str, AfterValidator(_currency)]
CountryCode = Annotated[str, AfterValidator(_country)]
IpAddress = Annotated[str, AfterValidator(_ip)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=24, decimal_places=6)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
OptionalText = Annotated[str, Field(max_length=500)]


class _Inbound(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class TransactionKind(StrEnum):
    CASH_DEPOSIT = "cash_deposit"
    CASH_WITHDRAWAL = "cash_withdrawal"
    TRANSFER = "transfer"
    CARD_PAYMENT = "card_payment"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class TransactionStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


class Channel(StrEnum):
    BRANCH = "branch"
    ATM = "atm"
    ONLINE = "online"
    MOBILE = "mobile"
    POS = "pos"
    ECOMMERCE = "ecommerce"


class Counterparty(_Inbound):
    """The other side of a transfer, as far as the reporting institution knows it."""

    account_id: Identifier | None = None
    name: OptionalText | None = None
    bank: OptionalText | None = None
    country: CountryCode | None = None


class Card(_Inbound):
    card_id: Identifier
    bin: Annotated[str, Field(pattern=r"^\d{6,8}$")] | None = None


class Merchant(_Inbound):
    merchant_id: Identifier | None = None
    name: OptionalText | None = None
    mcc: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None
    country: CountryCode | None = None


class Location(_Inbound):
    country: CountryCode | None = None
    city: OptionalText | None = None


class Transaction(_Inbound):
    """One money movement booked on `account_id` (topic `transactions`, key = `account_id`)."""

    event_id: Identifier
    occurred_at: Timestamp
    account_id: Identifier
    institution: OptionalText | None = None
    kind: TransactionKind
    direction: Direction
    amount: Amount
    currency: CurrencyCode
    status: TransactionStatus = TransactionStatus.APPROVED
    channel: Channel | None = None
    counterparty: Counterparty | None = None
    card: Card | None = None
    merchant: Merchant | None = None
    location: Location | None = None
    device_id: Identifier | None = None
    ip: IpAddress | None = None

    @model_validator(mode="after")
    def _required_for_kind(self) -> Transaction:
        if self.kind is TransactionKind.TRANSFER and self.counterparty is None:
            raise ValueError("counterparty is required when kind is 'transfer'")
        if self.kind is TransactionKind.CARD_PAYMENT:
            if self.card is None:
                raise ValueError("card is required when kind is 'card_payment'")
            if self.merchant is None:
                raise ValueError("merchant is required when kind is 'card_payment'")
        if self.kind is TransactionKind.CASH_DEPOSIT and self.direction is not Direction.IN:
            raise ValueError("a cash_deposit must have direction 'in'")
        if self.kind is TransactionKind.CASH_WITHDRAWAL and self.direction is not Direction.OUT:
            raise ValueError("a cash_withdrawal must have direction 'out'")
        return self


class AccountEventKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    LOGIN = "login"
    CREDENTIALS_RESET = "credentials_reset"
    CLOSED = "closed"


class CustomerType(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


class Customer(_Inbound):
    """What KYC knows about the account holder. `id_document` is a hash, never the number."""

    customer_id: Identifier | None = None
    type: CustomerType | None = None
    name: OptionalText | None = None
    id_document: Identifier | None = None
    phone: Annotated[str, AfterValidator(_e164)] | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    address: OptionalText | None = None
    declared_monthly_income: (
        Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=24, decimal_places=6)] | None
    ) = None
    business_activity: OptionalText | None = None


class AccountEvent(_Inbound):
    """Customer and session events (topic `accounts`, key = `account_id`)."""

    event_id: Identifier
    occurred_at: Timestamp
    account_id: Identifier
    kind: AccountEventKind
    customer: Customer | None = None
    device_id: Identifier | None = None
    ip: IpAddress | None = None
    location: Location | None = None

    @model_validator(mode="after")
    def _customer_required(self) -> AccountEvent:
        if (
            self.kind in (AccountEventKind.OPENED, AccountEventKind.UPDATED)
            and self.customer is None
        ):
            raise ValueError(f"customer is required when kind is '{self.kind.value}'")
        return self


class IndicatorType(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    IP = "ip"
    DEVICE = "device"
    ACCOUNT = "account"
    NAME = "name"
    WALLET = "wallet"
    MERCHANT = "merchant"


class IndicatorTypology(StrEnum):
    HUMAN_TRAFFICKING = "human_trafficking"
    CYBERCRIME = "cybercrime"
    OTHER = "other"


class Indicator(_Inbound):
    """An OSINT indicator (topic `osint.indicators`, key = `value`)."""

    indicator_id: Identifier
    observed_at: Timestamp
    type: IndicatorType
    value: Annotated[str, Field(min_length=1, max_length=500)]
    typology: IndicatorTypology
    source: Annotated[str, Field(min_length=1, max_length=500)]
    confidence: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.5
    expires_at: Timestamp | None = None
