"""Jurisdiction profile: the currency and cash reporting threshold the rules are calibrated to."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Jurisdiction"]


class Jurisdiction(BaseModel):
    """Defaults are Morocco: amounts in MAD, cash transactions of 100,000 MAD or more reported,
    local time Africa/Casablanca (IANA time zone; rules that speak of "night" or "one day" use it).

    Override with `TXMON_JURISDICTION__COUNTRY`, `__CURRENCY`, `__CASH_REPORTING_THRESHOLD`,
    `__TIMEZONE`.
    """

    model_config = ConfigDict(frozen=True)

    country: str = "MA"
    currency: str = "MAD"
    cash_reporting_threshold: Decimal = Field(default=Decimal("100000"), gt=0)
    timezone: str = "Africa/Casablanca"

    @field_validator("country", "currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        name = value.strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not an IANA time zone name such as Africa/Casablanca"
            ) from None
        return name
