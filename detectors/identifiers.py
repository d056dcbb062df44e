"""Normalised identifiers: the keys of the identity stage (OSINT indicators, shared identities).

Two spellings of one phone number, e-mail address or IP must meet on one key, so matching is a
lookup on one partition rather than a scan. Phones become E.164 with `phonenumbers` (a number
without a country prefix is read in the jurisdiction's region), e-mails, devices and merchants
lower-case, IPs canonical, names transliterated to ASCII, case-folded and space-collapsed.
Crypto wallets and counterparty account numbers share the `account:` namespace, because a
transfer's counterparty `account_id` is where either appears.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache

import phonenumbers
from anyascii import anyascii

from models.events import IndicatorType

__all__ = ["DOCUMENT", "identifier_type", "name_key", "normalise_identifier", "normalise_phone"]

#: Identifier type of identity-document hashes (KYC), which OSINT indicators never carry.
DOCUMENT = "document"

_PHONE_NOISE = re.compile(r"[\s().\-/]")
_NAME_NOISE = re.compile(r"[^\w\s]")


@lru_cache(maxsize=65536)
def normalise_phone(value: str, region: str = "MA") -> str:
    """E.164 when `phonenumbers` can parse it, else the digits with a leading `+` kept."""
    text = value.strip()
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = _PHONE_NOISE.sub("", text)
    return "+" + digits[2:] if digits.startswith("00") else digits


def _normalise_name(value: str) -> str:
    return " ".join(_NAME_NOISE.sub(" ", anyascii(value).casefold()).split())


@lru_cache(maxsize=65536)
def normalise_identifier(kind: IndicatorType | str, value: str, region: str = "MA") -> str:
    """`type:canonical-value`, e.g. `phone:+212612345678`, `email:a.b@example.org`."""
    text = value.strip()
    if kind == DOCUMENT:
        return f"{DOCUMENT}:{text}"
    kind = IndicatorType(kind)
    if kind is IndicatorType.PHONE:
        canonical = normalise_phone(text, region)
    elif kind is IndicatorType.EMAIL:
        canonical = text.lower()
    elif kind is IndicatorType.IP:
        try:
            address = ipaddress.ip_address(text)
            mapped = getattr(address, "ipv4_mapped", None)
            canonical = str(mapped or address)
        except ValueError:
            canonical = text.lower()
    elif kind is IndicatorType.NAME:
        canonical = _normalise_name(text)
    elif kind in (IndicatorType.DEVICE, IndicatorType.MERCHANT):
        canonical = text.lower()
    else:  # account numbers and wallets can be case-sensitive; both are counterparty accounts
        return f"{IndicatorType.ACCOUNT.value}:{text}"
    return f"{kind.value}:{canonical}"


def identifier_type(key: str) -> str:
    """The type part of a normalised identifier key."""
    return key.partition(":")[0]


def name_key(value: str | None) -> str | None:
    """A short digest of a normalised person or address name, to count distinct names without
    keeping them (word order and spelling of accents do not matter)."""
    if not value:
        return None
    words = sorted(_normalise_name(value).split())
    if not words:
        return None
    return hashlib.blake2b(" ".join(words).encode(), digest_size=6).hexdigest()
