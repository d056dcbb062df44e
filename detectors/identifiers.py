"""Normalised identifiers: the keys of the identity stage (OSINT indicators, shared identities).

Two spellings of one phone number, e-mail address or IP must meet on one key, so matching is a
lookup on one partition rather than a scan.
"""

from __future__ import annotations

import ipaddress
import re

from models.events import IndicatorType

__all__ = ["normalise_identifier"]

_PHONE_NOISE = re.compile(r"[\s().\-/]")


def normalise_identifier(kind: IndicatorType | str, value: str) -> str:
    """`type:canonical-value`, e.g. `phone:+212612345678`, `email:a.b@example.org`."""
    kind = IndicatorType(kind)
    text = value.strip()
    if kind is IndicatorType.PHONE:
        digits = _PHONE_NOISE.sub("", text)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        canonical = digits
    elif kind is IndicatorType.EMAIL:
        canonical = text.lower()
    elif kind is IndicatorType.IP:
        try:
            canonical = str(ipaddress.ip_address(text))
        except ValueError:
            canonical = text.lower()
    elif kind is IndicatorType.NAME:
        canonical = " ".join(text.casefold().split())
    elif kind in (IndicatorType.DEVICE, IndicatorType.MERCHANT):
        canonical = text.lower()
    else:  # account numbers and wallets can be case-sensitive
        canonical = text
    return f"{kind.value}:{canonical}"
