"""Jurisdiction profile: the currency and cash reporting threshold the rules are calibrated to."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Jurisdiction"]


class Jurisdiction(BaseModel):
    """Defaults are Morocco: amounts in MAD, cash transactions of 100,000 MAD or more reported.

    Override with `TXMON_JURISDICTION__COUNTRY`, `__CURRENCY`, `__CASH_REPORTING_THRESHOLD`.
    """

    model_config = ConfigDict(frozen=True)

    country: str = "MA"
    currency: str = "MAD"
    cash_reporting_threshold: Decimal = Field(default=Decimal("100000"), gt=0)

    @field_validator("country", "currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()
