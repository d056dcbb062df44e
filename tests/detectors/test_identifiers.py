"""Normalised identifiers: two spellings of one phone, e-mail, IP or name meet on one key."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.identifiers import (
    DOCUMENT,
    identifier_type,
    name_key,
    normalise_identifier,
    normalise_phone,
)
from models.events import IndicatorType

MA_MOBILE = "phone:+212612345678"

# --- phones ---------------------------------------------------------------------------------

PHONES: dict[str, tuple[str, str, str]] = {
    "e164": ("+212612345678", "MA", MA_MOBILE),
    "international-00-prefix-with-noise": ("00212 6-12 34 56 78", "MA", MA_MOBILE),
    "international-00-prefix-compact": ("00212612345678", "MA", MA_MOBILE),
    "e164-with-spaces": ("+212 6 12 34 56 78", "MA", MA_MOBILE),
    "e164-with-dots-and-dashes": ("+212.612-345-678", "MA", MA_MOBILE),
    "national-read-in-region-ma": ("0612345678", "MA", MA_MOBILE),
    "national-with-spaces-ma": ("06 12 34 56 78", "MA", MA_MOBILE),
    "national-trunk-zero-in-brackets": ("+212 (0) 6 12 34 56 78", "MA", MA_MOBILE),
    "national-trunk-zero-kept-after-country-code": ("+2120612345678", "MA", MA_MOBILE),
    "surrounding-whitespace": ("  +212612345678 \t", "MA", MA_MOBILE),
    "french-e164-with-spaces": ("+33 6 12 34 56 78", "MA", "phone:+33612345678"),
    "french-number-from-morocco-00": ("0033 6 12 34 56 78", "MA", "phone:+33612345678"),
    "same-national-digits-read-in-france": ("06 12 34 56 78", "FR", "phone:+33612345678"),
    "international-number-ignores-region": ("+212612345678", "FR", MA_MOBILE),
}


@pytest.mark.parametrize(("value", "region", "key"), list(PHONES.values()), ids=list(PHONES))
def test_phone_spellings_meet_on_e164(value: str, region: str, key: str) -> None:
    assert normalise_identifier("phone", value, region) == key
    assert normalise_identifier(IndicatorType.PHONE, value, region) == key


def test_the_region_defaults_to_morocco() -> None:
    assert normalise_identifier("phone", "0612345678") == MA_MOBILE
    assert normalise_phone("0612345678") == "+212612345678"


GARBAGE_PHONES: dict[str, tuple[str, str]] = {
    "letters": ("abc", "abc"),
    "too-short": ("12", "12"),
    "noise-removed": ("(12) 3-4", "1234"),
    "00-becomes-plus-even-when-unparseable": ("00 12 ab", "+12ab"),
    "empty": ("", ""),
}


@pytest.mark.parametrize(("value", "canonical"), list(GARBAGE_PHONES.values()),
                         ids=list(GARBAGE_PHONES))
def test_garbage_phones_stay_deterministic(value: str, canonical: str) -> None:
    first = normalise_identifier("phone", value)
    assert first == f"phone:{canonical}"
    normalise_phone.cache_clear()
    assert normalise_identifier("phone", value) == first  # not an artefact of the cache


@given(st.text(max_size=30), st.sampled_from(["MA", "FR", "US"]))
def test_any_phone_text_normalises_without_error_and_deterministically(text: str,
                                                                       region: str) -> None:
    key = normalise_identifier("phone", text, region)
    assert key.startswith("phone:")
    assert normalise_identifier("phone", text, region) == key
    assert normalise_phone(text.strip(), region) == key.removeprefix("phone:")


# --- e-mails, devices, merchants --------------------------------------------------------------

CASE_FOLDED: dict[str, tuple[str, str, str]] = {
    "email-upper-case": ("email", "Amina.Test@Example.ORG", "email:amina.test@example.org"),
    "email-whitespace": ("email", "  amina@example.org ", "email:amina@example.org"),
    "device-upper-case": ("device", "DEV-ABC-1", "device:dev-abc-1"),
    "merchant-upper-case": ("merchant", "M-Shop-1", "merchant:m-shop-1"),
}


@pytest.mark.parametrize(("kind", "value", "key"), list(CASE_FOLDED.values()),
                         ids=list(CASE_FOLDED))
def test_emails_devices_and_merchants_are_lower_cased(kind: str, value: str, key: str) -> None:
    assert normalise_identifier(kind, value) == key


# --- IPs ------------------------------------------------------------------------------------

IPS: dict[str, tuple[str, str]] = {
    "ipv4": ("192.0.2.10", "ip:192.0.2.10"),
    "ipv4-whitespace": (" 192.0.2.10\n", "ip:192.0.2.10"),
    "ipv6-upper-case-compressed": ("2001:DB8::1", "ip:2001:db8::1"),
    "ipv6-full-form": ("2001:0db8:0000:0000:0000:0000:0000:0001", "ip:2001:db8::1"),
    "ipv6-partly-compressed": ("2001:db8:0:0::1", "ip:2001:db8::1"),
    "ipv6-loopback": ("0:0:0:0:0:0:0:1", "ip:::1"),
    "not-an-ip-lower-cased": ("Not-An-IP", "ip:not-an-ip"),
}


@pytest.mark.parametrize(("value", "key"), list(IPS.values()), ids=list(IPS))
def test_ips_take_their_canonical_form(value: str, key: str) -> None:
    assert normalise_identifier("ip", value) == key


# --- counterparty accounts and wallets --------------------------------------------------------


@pytest.mark.parametrize("kind", ["account", "wallet", IndicatorType.ACCOUNT,
                                  IndicatorType.WALLET])
def test_wallets_and_accounts_share_the_account_namespace(kind: str) -> None:
    assert normalise_identifier(kind, " 0xAbC123 ") == "account:0xAbC123"  # case kept


def test_account_numbers_keep_their_case() -> None:
    assert normalise_identifier("account", "ma-001") != normalise_identifier("account", "MA-001")


# --- identity documents -----------------------------------------------------------------------


def test_documents_are_kept_as_given_apart_from_whitespace() -> None:
    assert normalise_identifier(DOCUMENT, " sha256:0F1e2d ") == "document:sha256:0F1e2d"


def test_unknown_kinds_are_rejected() -> None:
    with pytest.raises(ValueError):
        normalise_identifier("passport", "X1")


# --- names ------------------------------------------------------------------------------------

NAMES: dict[str, tuple[str, str]] = {
    "accent": ("Zoé", "name:zoe"),
    "upper-case": ("ZOE", "name:zoe"),
    "spaces-collapsed": ("  Amina \t  Test ", "name:amina test"),
    "punctuation-is-a-space": ("Amina-Test", "name:amina test"),
    "german-sharp-s": ("Straße", "name:strasse"),
    "umlaut": ("Müller", "name:muller"),
    "greek-script": ("Ζωή", "name:zoi"),
    "arabic-script": ("محمد", "name:mhmd"),
}


@pytest.mark.parametrize(("value", "key"), list(NAMES.values()), ids=list(NAMES))
def test_names_are_transliterated_and_case_folded(value: str, key: str) -> None:
    assert normalise_identifier("name", value) == key


def test_arabic_script_names_transliterate_to_something_stable() -> None:
    key = normalise_identifier("name", "أمينة بنعلي")
    assert key.startswith("name:")
    assert key.isascii()
    assert key != "name:"
    assert normalise_identifier("name", " أمينة   بنعلي ") == key
    assert name_key("أمينة بنعلي") == name_key("بنعلي أمينة")
    assert name_key("أمينة بنعلي") != name_key("محمد")


def test_name_identifiers_keep_word_order() -> None:
    """Only `name_key` (the profile digest) ignores word order; an OSINT name key does not."""
    assert normalise_identifier("name", "Amina Test") != normalise_identifier("name", "Test Amina")


# --- name_key (profile digests) ----------------------------------------------------------------

SAME_NAME_KEY: dict[str, tuple[str, str]] = {
    "word-order": ("Amina Benali", "Benali Amina"),
    "case": ("AMINA BENALI", "amina benali"),
    "accents": ("Zoé Alami", "Zoe Alami"),
    "accents-and-order-and-case": ("ZOÉ alami", "Alami Zoe"),
    "whitespace-and-punctuation": ("  Amina,  Benali ", "Amina Benali"),
    "address-word-order": ("12 Rue des Fleurs, Fès", "rue des fleurs 12 fes"),
}


@pytest.mark.parametrize(("a", "b"), list(SAME_NAME_KEY.values()), ids=list(SAME_NAME_KEY))
def test_name_key_ignores_word_order_case_and_accents(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)
    assert name_key(a) is not None


@pytest.mark.parametrize(("a", "b"), [("Amina Benali", "Amina Benani"),
                                      ("Zoe Alami", "Zoe Alami Idrissi")])
def test_name_key_tells_different_names_apart(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize("value", [None, "", "   ", "!!", "—", "-.-"])
def test_name_key_is_none_for_empty_names(value: str | None) -> None:
    assert name_key(value) is None


def test_name_key_is_a_short_digest_not_the_name() -> None:
    key = name_key("Amina Benali")
    assert key is not None
    assert len(key) == 12 and all(c in "0123456789abcdef" for c in key)
    assert "amina" not in key


@given(st.lists(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=8),
                min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_name_key_is_invariant_under_word_permutation(words: list[str],
                                                      rnd: random.Random) -> None:
    shuffled = list(words)
    rnd.shuffle(shuffled)
    assert name_key(" ".join(words)) == name_key("  ".join(shuffled))


# --- identifier_type --------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "kind"), [(MA_MOBILE, "phone"), ("email:a@b.c", "email"),
                                           ("ip:2001:db8::1", "ip"), ("account:X", "account"),
                                           ("document:sha256:ab", DOCUMENT), ("name:", "name")])
def test_identifier_type_is_the_prefix(key: str, kind: str) -> None:
    assert identifier_type(key) == kind


@pytest.mark.parametrize("kind", [k for k in IndicatorType])
def test_every_indicator_type_normalises_to_a_typed_key(kind: IndicatorType) -> None:
    expected = "account" if kind is IndicatorType.WALLET else kind.value
    assert identifier_type(normalise_identifier(kind, "Value-1")) == expected
