"""Identity stage: shared identities and OSINT matches, as joins on normalised identifiers.

Rule card
---------
**Signals.**

- ``shared_identity`` (typology ``shared_identity``): counterfeit or synthetic identities. One
  identity-document hash behind accounts with different customer names (``SHARED_DOCUMENT``),
  or one phone, e-mail address or device behind several accounts with several different names
  (``SHARED_PHONE``, ``SHARED_EMAIL``, ``SHARED_DEVICE``). A household is not this: when every
  account on a shared phone, e-mail or device gives the same address, nothing is raised (a family
  sharing a landline and a tablet). IP addresses are never identity links (carrier NAT, cafés).
- ``osint_match`` (typology ``osint_match``): an account's own phone, e-mail, device, IP or
  name, or a counterparty it deals with (account or wallet, merchant, name), equals an
  indicator on ``osint.indicators`` after normalisation (``detectors.identifiers``). The
  indicator may arrive before or after the account used the identifier; it matches when the
  use (event time) is before the indicator's ``expires_at``. Reason codes
  ``OSINT_<TYPE>_<INDICATOR TYPOLOGY>``, e.g. ``OSINT_PHONE_HUMAN_TRAFFICKING``.

**How it runs.** The account stage sends an :class:`IdentifierLink` the first time an account
uses an identifier (`links_of`); links and indicators are keyed by the normalised identifier
(`<app>-by-identifier`), so each join is a lookup in one :class:`IdentityRecord`, never a scan.
The stage returns :class:`RoutedFinding` s addressed to accounts; the account stage applies the
alert policy to them like to any other finding (one alert per account, typology and episode).

**Order independence.** An OSINT finding's window is the account's first use of the
identifier, and a shared-identity finding is computed from the whole record (the earliest ring
in event time, plus every account linked within ``window`` of it), so the same links and
indicators give the same findings whatever order they arrive in, with two limits: a ring that
formed from links arriving early and is then superseded by an earlier ring has already been
reported (its findings carry the ring in their id, so an id never changes meaning), and an
account's *first use to arrive* is the use that is linked. The account stage's reorder hold
makes both rare. Finding ids are deterministic, so a redelivered link or indicator re-sends
findings the account stage already recognises.

**State.** Per identifier: at most ``max_links`` links (the earliest in event time) and
``max_indicators`` indicators (the newest). Per account (in `AccountState`): the profile digest
(name and address as short hashes, never the text) and fingerprints of identifiers already sent.

**Parameters** (``TXMON_DETECTORS__IDENTITY__*``), defaults and sources:

- ``document_min_names`` = 2: one identity document with two names is already a forgery
  (FATF 2014 "Risk of terrorist abuse in non-profit organisations" / FATF Guidance on Digital
  Identity 2020, §identity proofing; the Fez gang's counterfeit ID cards).
- ``contact_min_names`` = 3 (phone, e-mail) and ``device_min_names`` = 3: two names on one
  phone or device is a couple; three unrelated names is a ring (FinCEN FIN-2019-A003 synthetic
  identity; Europol IOCTA 2023 on money-mule recruitment).
- ``window`` = 365 days: links further apart than this do not form one ring.
- ``osint_self_base``/``osint_self_weight``: 0.5 + 0.45 × confidence for the account's own
  identifiers (its name included); ``osint_counterparty_base``/``osint_counterparty_weight``:
  0.4 + 0.4 × confidence for counterparties (accounts, wallets, merchants, names).

**Limits.** Exact matches after normalisation only (no fuzzy names here; counterparty names are
screened against the OFAC SDN list by ``sanctions_screening``). An identifier used by more than
``max_links`` accounts keeps only the earliest. Name changes after the first link are not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from detectors.base import AccountProfile, AccountState, Event
from detectors.identifiers import DOCUMENT, identifier_type, name_key, normalise_identifier
from detectors.policy import DERIVED_LEG_SUFFIX
from models import (
    AccountEvent,
    AccountEventKind,
    Finding,
    Indicator,
    Transaction,
    TransactionKind,
    Typology,
)

__all__ = [
    "IdentifierLink",
    "IdentityParams",
    "IdentityRecord",
    "IndicatorRef",
    "RoutedFinding",
    "indicator_key",
    "links_of",
    "observe_indicator",
    "observe_link",
]

SHARED_DETECTOR = "shared_identity"
OSINT_DETECTOR = "osint_match"
VERSION = "1"

#: Identifier types that can tie accounts to one person (never IPs or counterparties).
_PERSONAL = {DOCUMENT: "document", "phone": "phone", "email": "e-mail", "device": "device"}
#: How many identifier fingerprints an account remembers having sent (32-bit digests: the
#: record is written to the changelog on every event, so it stays small; a collision, about
#: one account in a million, only means one identifier is not linked).
LINKS_REMEMBERED = 64


class IdentityParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_min_names: int = Field(default=2, ge=2)
    contact_min_names: int = Field(default=3, ge=2)
    device_min_names: int = Field(default=3, ge=2)
    window: timedelta = Field(default=timedelta(days=365), gt=timedelta(0))
    max_links: int = Field(default=32, ge=4)
    max_indicators: int = Field(default=8, ge=1)
    osint_self_base: float = Field(default=0.5, ge=0, le=1)
    osint_self_weight: float = Field(default=0.45, ge=0, le=1)
    osint_counterparty_base: float = Field(default=0.4, ge=0, le=1)
    osint_counterparty_weight: float = Field(default=0.4, ge=0, le=1)
    region: str = "MA"  # phones without a country prefix are read in this region
    shared_identity: bool = True  # set from `DetectorParams.enabled` by `build_identity`
    osint_match: bool = True

    def min_names(self, kind: str) -> int:
        if kind == DOCUMENT:
            return self.document_min_names
        if kind == "device":
            return self.device_min_names
        return self.contact_min_names


class IdentifierLink(BaseModel):
    """An account's first use of an identifier, sent by the account stage to the identity stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # normalised identifier, e.g. "phone:+212612345678"
    account_id: str
    role: Literal["self", "counterparty"]
    name_key: str | None = None  # digest of the account holder's name (self links)
    address_key: str | None = None
    occurred_at: datetime
    event_id: str


class IndicatorRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator_id: str
    type: str
    typology: str
    source: str
    confidence: float
    observed_at: datetime
    expires_at: datetime | None = None

    def active_for(self, link: IdentifierLink) -> bool:
        return self.expires_at is None or link.occurred_at < self.expires_at


class IdentityRecord(BaseModel):
    """Everything the identity stage keeps about one normalised identifier."""

    model_config = ConfigDict(extra="forbid")

    links: list[IdentifierLink] = Field(default_factory=list)  # earliest first
    indicators: list[IndicatorRef] = Field(default_factory=list)


class RoutedFinding(BaseModel):
    """A finding of the identity stage addressed to one account (its subject)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding_id: str
    account_id: str
    finding: Finding


def _finding_id(*parts: str) -> str:
    return "idf-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _link_fingerprint(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def indicator_key(indicator: Indicator, region: str = "MA") -> str:
    return normalise_identifier(indicator.type, indicator.value, region)


def mask_identifier(key: str) -> str:
    """An identifier as an analyst's sentence shows it: type and the last four characters."""
    kind, _, value = key.partition(":")
    label = _PERSONAL.get(kind, kind)
    return f"{label} …{value[-4:]}" if len(value) > 4 else f"{label} {value}"


# ---------------------------------------------------------------------------------------------
# Account side: which identifiers an event shows, sent once per account.


def links_of(event: Event, state: AccountState, params: IdentityParams) -> list[IdentifierLink]:
    """The identifiers `event` shows that this account has not sent before (updates `state`).

    Account events update the profile (name and address digests) that self links carry.
    """
    candidates: list[tuple[str, Literal["self", "counterparty"]]] = []
    region = params.region
    if isinstance(event, AccountEvent):
        customer = event.customer
        if customer is not None and event.kind in (
            AccountEventKind.OPENED,
            AccountEventKind.UPDATED,
        ):
            state.profile = AccountProfile(
                name_key=name_key(customer.name) or (state.profile and state.profile.name_key),
                address_key=name_key(customer.address)
                or (state.profile and state.profile.address_key),
                business=(customer.type.value == "business") if customer.type
                else (state.profile and state.profile.business),
            )
            if customer.id_document:
                candidates.append((normalise_identifier(DOCUMENT, customer.id_document), "self"))
            if customer.phone:
                candidates.append((normalise_identifier("phone", customer.phone, region), "self"))
            if customer.email:
                candidates.append((normalise_identifier("email", customer.email), "self"))
            if customer.name:
                candidates.append((normalise_identifier("name", customer.name), "self"))
        if event.device_id:
            candidates.append((normalise_identifier("device", event.device_id), "self"))
        if event.ip:
            candidates.append((normalise_identifier("ip", event.ip), "self"))
    elif isinstance(event, Transaction):
        derived = event.event_id.endswith(DERIVED_LEG_SUFFIX)
        if not derived:
            if event.device_id:
                candidates.append((normalise_identifier("device", event.device_id), "self"))
            if event.ip:
                candidates.append((normalise_identifier("ip", event.ip), "self"))
        cp = event.counterparty
        if cp is not None and event.kind is TransactionKind.TRANSFER:
            if cp.account_id:
                candidates.append((normalise_identifier("account", cp.account_id), "counterparty"))
            if cp.name:
                candidates.append((normalise_identifier("name", cp.name), "counterparty"))
        if event.merchant is not None and event.merchant.merchant_id:
            candidates.append(
                (normalise_identifier("merchant", event.merchant.merchant_id), "counterparty")
            )
    if not candidates:
        return []
    profile = state.profile
    links: list[IdentifierLink] = []
    for key, role in dict.fromkeys(candidates):
        if key.endswith(":"):
            continue  # nothing left after normalisation (a name of punctuation only)
        fingerprint = _link_fingerprint(f"{role}\x1f{key}")
        if fingerprint in state.linked:
            continue
        state.linked.append(fingerprint)
        personal = role == "self"
        links.append(
            IdentifierLink(
                key=key,
                account_id=event.account_id,
                role=role,
                name_key=profile.name_key if personal and profile else None,
                address_key=profile.address_key if personal and profile else None,
                occurred_at=event.occurred_at,
                event_id=event.event_id,
            )
        )
    if len(state.linked) > LINKS_REMEMBERED:
        del state.linked[: len(state.linked) - LINKS_REMEMBERED]
    return links


# ---------------------------------------------------------------------------------------------
# Identifier side: the joins.


def _order(link: IdentifierLink) -> tuple[datetime, str, str]:
    return (link.occurred_at, link.account_id, link.role)


def observe_link(
    link: IdentifierLink, record: IdentityRecord, params: IdentityParams
) -> tuple[IdentityRecord, list[RoutedFinding]]:
    """Join an account's identifier with the record's indicators and other accounts."""
    if any(x.account_id == link.account_id and x.role == link.role for x in record.links):
        return record, []  # already linked (a redelivery, or the other bank's leg)
    links = sorted([*record.links, link], key=_order)
    if len(links) > params.max_links:
        links = links[: params.max_links]
        if not any(x is link for x in links):
            return record, []  # an identifier this widely used keeps its earliest users only
    record = IdentityRecord(links=links, indicators=record.indicators)
    findings = [
        _osint_finding(link, indicator, params)
        for indicator in record.indicators
        if params.osint_match and indicator.active_for(link)
    ]
    if params.shared_identity and link.role == "self" and identifier_type(link.key) in _PERSONAL:
        findings.extend(_shared_findings(record, link, params))
    return record, findings


def observe_indicator(
    indicator: Indicator, record: IdentityRecord, params: IdentityParams
) -> tuple[IdentityRecord, list[RoutedFinding]]:
    """Store an OSINT indicator and match it against every account already linked."""
    ref = IndicatorRef(
        indicator_id=indicator.indicator_id,
        type=indicator.type.value,
        typology=indicator.typology.value,
        source=indicator.source,
        confidence=indicator.confidence,
        observed_at=indicator.observed_at,
        expires_at=indicator.expires_at,
    )
    known = [i for i in record.indicators if i.indicator_id == ref.indicator_id]
    if any(i.observed_at > ref.observed_at for i in known):
        return record, []  # an older version of an indicator already updated
    kept = [i for i in record.indicators if i.indicator_id != ref.indicator_id]
    kept.append(ref)
    kept.sort(key=lambda i: (i.observed_at, i.indicator_id))
    record = IdentityRecord(links=record.links, indicators=kept[-params.max_indicators :])
    if not any(i is ref for i in record.indicators) or not params.osint_match:
        return record, []
    findings = [_osint_finding(link, ref, params) for link in record.links if ref.active_for(link)]
    return record, findings


def _osint_finding(
    link: IdentifierLink, indicator: IndicatorRef, params: IdentityParams
) -> RoutedFinding:
    kind = identifier_type(link.key)
    own = link.role == "self"
    if own:
        score = params.osint_self_base + params.osint_self_weight * indicator.confidence
        whose = f"The account's {mask_identifier(link.key)}"
    else:
        score = params.osint_counterparty_base + params.osint_counterparty_weight * (
            indicator.confidence
        )
        whose = f"A counterparty of the account ({mask_identifier(link.key)})"
    score = round(min(1.0, score), 4)
    summary = (
        f"{whose} matches OSINT indicator {indicator.indicator_id} "
        f"({indicator.typology.replace('_', ' ')}, source {indicator.source}, "
        f"observed {indicator.observed_at.date().isoformat()}, "
        f"confidence {indicator.confidence:.2f})."
    )
    related: tuple[str, ...] = ()
    if kind == "account" and not own:
        related = (link.key.partition(":")[2],)
    finding = Finding(
        detector=OSINT_DETECTOR,
        typology=Typology.OSINT_MATCH,
        code=f"OSINT_{kind}_{indicator.typology}".upper(),
        score=score,
        summary=summary,
        evidence={
            "identifier": link.key,
            "identifier_type": kind,
            "role": link.role,
            "indicator_id": indicator.indicator_id,
            "indicator_type": indicator.type,
            "indicator_typology": indicator.typology,
            "source": indicator.source,
            "confidence": indicator.confidence,
            "observed_at": indicator.observed_at.isoformat(),
            "expires_at": indicator.expires_at.isoformat() if indicator.expires_at else None,
            "first_used_at": link.occurred_at.isoformat(),
        },
        event_ids=(link.event_id,),
        related_accounts=related,
        window_start=link.occurred_at,
        window_end=link.occurred_at,
    )
    return RoutedFinding(
        finding_id=_finding_id("osint", link.key, link.account_id, link.role,
                               indicator.indicator_id),
        account_id=link.account_id,
        finding=finding,
    )


def _qualifying(
    links: Iterable[IdentifierLink], kind: str, params: IdentityParams
) -> list[IdentifierLink] | None:
    """The earliest run of self links (one per account, within `window`) that forms a ring."""
    own: list[IdentifierLink] = []
    seen: set[str] = set()
    for link in links:
        if link.role == "self" and link.account_id not in seen:
            seen.add(link.account_id)
            own.append(link)
    need = params.min_names(kind)
    for end in range(len(own)):
        start = own[end].occurred_at - params.window
        group = [x for x in own[: end + 1] if x.occurred_at >= start]
        names = {x.name_key for x in group if x.name_key}
        if len(group) < need or len(names) < need:
            continue
        if kind != DOCUMENT:
            addresses = {x.address_key for x in group}
            if len(addresses) == 1 and None not in addresses:
                continue  # one household
        return group
    return None


def _shared_findings(
    record: IdentityRecord, link: IdentifierLink, params: IdentityParams
) -> list[RoutedFinding]:
    """Findings for every account on a ring, computed from the whole record.

    The ring is the earliest qualifying run of links in event time; every account linked within
    `window` of it is a member. All members' findings are returned each time (the account
    stage drops the ids it has seen), so an account whose link arrived before the ring formed
    is flagged too. A finding's id includes the ring, so an id always means the same content.
    """
    kind = identifier_type(link.key)
    ring = _qualifying(record.links, kind, params)
    if ring is None:
        return []
    first, last = ring[0].occurred_at, ring[-1].occurred_at
    in_ring = {x.account_id for x in ring}
    joiners: list[IdentifierLink] = []
    for x in record.links:
        if (
            x.role == "self"
            and x.account_id not in in_ring
            and x.occurred_at - first <= params.window
            and last - x.occurred_at <= params.window
            and all(x.account_id != j.account_id for j in joiners)
        ):
            joiners.append(x)
    signature = ",".join(f"{x.account_id}@{x.occurred_at.isoformat()}" for x in ring)
    need = params.min_names(kind)
    label = _PERSONAL[kind]
    out: list[RoutedFinding] = []
    for subject in [*ring, *joiners]:
        members = ring if subject.account_id in in_ring else [*ring, subject]
        names = len({x.name_key for x in members if x.name_key})
        addresses = len({x.address_key for x in members if x.address_key})
        extra = names - need
        if kind == DOCUMENT:
            score = min(0.95, 0.85 + 0.05 * extra)
        elif kind == "device":
            score = min(0.9, 0.55 + 0.1 * extra)
        else:
            score = min(0.9, 0.6 + 0.1 * extra)
        others = tuple(sorted({x.account_id for x in members} - {subject.account_id}))
        start = min(x.occurred_at for x in members)
        end = max(x.occurred_at for x in members)
        summary = (
            f"The account's {label} is shared with {len(others)} other account(s) under "
            f"{names} different names"
            + ("" if kind == DOCUMENT else f" at {addresses} different addresses")
            + f" between {start.date().isoformat()} and {end.date().isoformat()}."
        )
        finding = Finding(
            detector=SHARED_DETECTOR,
            typology=Typology.SHARED_IDENTITY,
            code=f"SHARED_{kind}".upper(),
            score=round(score, 4),
            summary=summary,
            evidence={
                "identifier": link.key,
                "identifier_type": kind,
                "accounts": len(others) + 1,
                "distinct_names": names,
                "distinct_addresses": addresses,
                "min_names": need,
                "first_seen": start.isoformat(),
                "last_seen": end.isoformat(),
            },
            event_ids=tuple(dict.fromkeys(x.event_id for x in members)),
            related_accounts=others,
            window_start=start,
            window_end=end,
        )
        out.append(
            RoutedFinding(
                finding_id=_finding_id("shared", link.key, subject.account_id, signature),
                account_id=subject.account_id,
                finding=finding,
            )
        )
    return out
