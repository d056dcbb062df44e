"""Sanctions screening: a transfer's counterparty is named on the OFAC SDN list.

Rule card
---------
Signal
    A ``transfer`` in either direction whose ``counterparty.name`` matches an entry of the US
    Treasury OFAC Specially Designated Nationals (SDN) list with a similarity of at least
    ``threshold`` (0..100; `detectors.watchlist`: names normalised across scripts, accents,
    word order, legal forms and honorifics, then compared fuzzily). ``out``: the account pays a
    listed party; ``in``: a listed party pays the account. One finding per transfer, about the
    best-scoring entry after the country check below (the next ``max_other_matches`` are
    listed in the evidence).
Country check (secondary identifier)
    A name is the primary identifier; the countries an entry is tied to are a secondary one.
    The Wolfsberg Group's Guidance on Sanctions Screening (2019) describes using secondary
    identifiers (date of birth, nationality, address, country) to discount false positives
    that a name alone raises; OFAC FAQ 5 likewise asks to compare a hit's other identifiers.
    The counterparty's country (``counterparty.country``, the country of the payee's or
    payer's account) is compared with the entry's (`SdnEntry.countries`: OFAC's address list,
    nationality, citizenship, place of birth and identifiers' issuers in Remarks, and a
    country-specific program's country; see `detectors.watchlist`). China, Hong Kong and
    Macao; Sudan and South Sudan; the United Kingdom, the Isle of Man and the Channel
    Islands count as one country here (a listed Chinese national banks in Hong Kong). When
    both are known and the counterparty's country is not among the entry's, nothing but the
    name corroborates the hit:

    - an individual matched below similarity 100 raises nothing (``Said Saidi`` of an
      account in Morocco is not ``SA'ID, Sa'id``, nationality Syria);
    - an individual matched exactly (100) raises nothing either, unless
      ``report_country_mismatch``: then ``SDN_NAME_MATCH_COUNTRY_DIFFERS`` at
      ``country_differs_score`` (a queue for a namesakes review, not for sanctions alerts);
    - an entity's finding stays, ``entity_country_differs_delta`` lower (companies trade
      through branches and fronts abroad: a listed company's name is rarer than a person's).

    A country unknown on either side (no ``counterparty.country``; an entry with no country,
    or designated after the packaged address list) changes nothing. The evidence says which
    (``country_check``: ``match``, ``differs``, ``unknown``) and lists the entry's countries.
Declined transfers count
    An attempted payment to or from a sanctioned party is reportable even when it did not go
    through: OFAC requires reports of rejected transactions (31 CFR 501.604), the
    Interpretive Notes to FATF R.6 and R.7 ask that actions taken, attempted transactions
    included, be reported, and the bank's own sanctions filter may be what declined it. The
    summary says "Declined transfer".
Typology
    ``osint_match``: a match against a public list. Targeted financial sanctions: FATF
    Recommendation 6 (terrorism and terrorist financing) and 7 (proliferation financing);
    R.16 applies them to the originators and beneficiaries of wire transfers.
Which entries
    Individuals and entities (``sdn_types``). Vessels and aircraft are identified by IMO
    number or registration mark, and their names are ordinary words (``OLYMPIA``,
    ``GRACEFUL``): a payment's counterparty is a person or a company.
Not a match (hard negatives)
    Common names that are not listed (``Mohamed Alami``, ``Fatima Zahra Bennani``); names of
    generic words only (``Trading Company``, ``Bank``) unless that very name is listed; a lone
    token shorter than four letters (``BNC``); a lone common given name (``Mohamed``); a
    transfer with no counterparty name (the payee leg the monitor derives from a payer's
    ``out`` has none, so a transfer is screened once, on the account that reported it).
State kept (bounded)
    The counterparties already reported: a 16-hex-digit digest of the normalised name (never
    the name) and the event time of the report, at most ``max_kept``, none older than
    ``repeat_window`` before the newest.
Repeats
    A counterparty is reported once per account per ``repeat_window`` of event time: a
    transfer with a name (in any spelling the normalisation folds) reported less than
    ``repeat_window`` before or after it raises nothing; from ``repeat_window`` on it is
    reported again, a reminder that the payments continue. The alert policy folds repeats of
    one episode in any case.
Reason codes
    ``SDN_NAME_MATCH``; ``SDN_NAME_MATCH_COUNTRY_DIFFERS`` (only with
    ``report_country_mismatch``: an exact person name, another country); evidence: ent_num,
    listed_name, matched_name (the listed name in either word order, or the alias), via_alias,
    weak_alias, method (``full``, ``partial``, ``script``), program, sdn_type, similarity,
    threshold, list ("OFAC SDN"), list_as_of, counterparty_name, counterparty_country,
    listed_countries (the entry's, ISO 3166-1 alpha-2), country_check, counterparty_account,
    amount, currency, direction, status, other_matches (each with its country_check).
    ``event_ids`` is the transfer, ``related_accounts`` the counterparty's account id if given,
    the window is the transfer's event time; a summary with ``differs`` says so.
Score
    ``min_score`` at ``threshold``, rising linearly to ``max_score`` at similarity 100 (0.7 to
    0.95 by default: the list is authoritative, but a name alone never proves identity).
    Matches through a weak alias (OFAC FAQ 122/123: nicknames, common acronyms; they count
    only when exact) score ``weak_alias_discount`` lower. Country differs: an entity
    ``entity_country_differs_delta`` (-0.2) lower, an exact person name (if reported)
    ``country_differs_score`` (0.35, less a weak alias's discount).
Parameters (``TXMON_DETECTORS__SANCTIONS_SCREENING__*``)
    ``threshold`` = 90 (at least 80), ``min_score`` = 0.7, ``max_score`` = 0.95,
    ``weak_alias_discount`` = 0.15, ``report_country_mismatch`` = false,
    ``country_differs_score`` = 0.35, ``entity_country_differs_delta`` = -0.2 (-1 to 0),
    ``sdn_types`` = individual, entity, ``repeat_window`` = 30 days, ``max_kept`` = 32,
    ``max_other_matches`` = 3.
Why these defaults
    The Wolfsberg Group's Guidance on Sanctions Screening (2019) asks for fuzzy matching
    calibrated to the institution's risk and tested against known variants; 85 to 90 on a
    0-100 similarity is a common starting point. At 90, `detectors.watchlist` catches
    transliterated (``Владимир Путин``, ``حسن نصر الله``), reordered, accented and misspelt
    listed names, and of 2,000 common Moroccan personal and company names
    (benchmarks/bench_watchlist.py, names only) one matched: ``Ahmed Tahiri``, a namesake of
    ``TAHERI, Ahmad`` (Iran) in another spelling, which the country check clears for a
    Moroccan account. Replayed ordinary traffic raised ``Ahmed El Khatib`` (``AL-KHATIB,
    Ahmad``, Egypt, Lebanon, Brazil), ``Ahmed Jabri`` (``JABRIL, Ahmad``, born in Israel) and
    ``Said Saidi`` (``SA'ID, Sa'id``, Syria) on Moroccan payees: hence the country check;
    exact person names with another country raise nothing by default, a namesakes queue at
    0.35 being for those who want one. Thirty days: one alert per counterparty and month
    keeps the analyst's queue readable without losing a relationship that goes on.
Limits (for the analyst)
    Names and countries only: no date of birth is compared, so where a country is unknown a
    common listed name (``ALI, Muhammad``) matches everyone who bears it; the analyst
    confirms against the listing (OFAC FAQ 5: compare the other identifiers). The
    counterparty's country is where the account is, not a nationality: a listed person
    banking in a country the list does not name for them is cleared by this rule if the name
    is not exact, and reported only on request if it is. The packaged address list (2023-01)
    is older than the SDN file: addresses added since are unknown; a replacement SDN file
    (``TXMON_REFERENCE__WATCHLIST``) is loaded without one, with the countries its Remarks
    give. The list is as of ``list_as_of``: later designations and delistings are unknown
    until the file is replaced. The packaged CSV holds OFAC's weak aliases only; strong
    aliases come with OFAC's ``alt.csv`` (`Watchlist.from_csv(..., alt_path=...)`). This is
    post-event monitoring, not the real-time filter that must stop a payment before it is
    executed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from detectors.watchlist import (
    DEFAULT_THRESHOLD,
    LIST_NAME,
    MIN_THRESHOLD,
    Watchlist,
    WatchlistMatch,
    name_key,
)
from models import Direction, Finding, Transaction, TransactionKind, TransactionStatus, Typology

__all__ = [
    "ReportedCounterparty",
    "SanctionsScreening",
    "SanctionsScreeningParams",
    "ScreenedCounterparties",
]

SdnType = Literal["individual", "entity", "vessel", "aircraft"]
CountryCheck = Literal["match", "differs", "unknown"]


class SanctionsScreeningParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=MIN_THRESHOLD, le=100.0)
    min_score: float = Field(default=0.7, ge=0.0, le=1.0)
    max_score: float = Field(default=0.95, ge=0.0, le=1.0)
    weak_alias_discount: float = Field(default=0.15, ge=0.0, le=1.0)
    report_country_mismatch: bool = False
    country_differs_score: float = Field(default=0.35, ge=0.0, le=1.0)
    entity_country_differs_delta: float = Field(default=-0.2, ge=-1.0, le=0.0)
    sdn_types: tuple[SdnType, ...] = ("individual", "entity")
    repeat_window: timedelta = Field(default=timedelta(days=30), gt=timedelta(0))
    max_kept: int = Field(default=32, ge=1, le=1024)
    max_other_matches: int = Field(default=3, ge=0, le=20)

    @model_validator(mode="after")
    def _ordered(self) -> SanctionsScreeningParams:
        if self.max_score < self.min_score:
            raise ValueError("max_score must be at least min_score")
        return self


class ReportedCounterparty(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # 16 hex digits of the normalised name's digest, never the name
    at: datetime


class ScreenedCounterparties(DetectorState):
    reported: tuple[ReportedCounterparty, ...] = ()


def _digest(name: str) -> str:
    return hashlib.blake2b(name_key(name).encode(), digest_size=8).hexdigest()


def _amount(amount: Decimal, currency: str) -> str:
    if amount == amount.to_integral_value():
        return f"{amount:,.0f} {currency}"
    return f"{amount:,.2f} {currency}"


@dataclass(frozen=True, slots=True)
class _Hit:
    """A match as the rule weighs it: the countries compared, the score, the reason code."""

    match: WatchlistMatch
    countries: tuple[str, ...]  # the listed entry's (`SdnEntry.countries`)
    check: CountryCheck
    score: float
    code: str


#: Jurisdictions tied closely enough that a party of one commonly banks in another: compared
#: as one country (a listed Chinese national with an account in Hong Kong is a ``match``).
_TIED = (frozenset({"CN", "HK", "MO"}), frozenset({"SD", "SS"}),
         frozenset({"GB", "IM", "JE", "GG"}))
_TIED_TO = {code: group for group in _TIED for code in group}


def _country_check(country: str | None, listed: tuple[str, ...]) -> CountryCheck:
    if not country or not listed:
        return "unknown"
    code = country.upper()
    same = _TIED_TO.get(code, frozenset({code}))
    return "match" if not same.isdisjoint(listed) else "differs"


def _programs(match: WatchlistMatch) -> str:
    if not match.programs:
        return ""
    plural = "s" if len(match.programs) > 1 else ""
    return f" ({match.program} program{plural})"


class SanctionsScreening:
    """Transfers to or from a party named on the OFAC SDN list (see the module rule card)."""

    name: ClassVar[str] = "sanctions_screening"
    version: ClassVar[str] = "1"
    typology: ClassVar[Typology] = Typology.OSINT_MATCH
    State = ScreenedCounterparties

    def __init__(self, params: SanctionsScreeningParams, profile: Jurisdiction,
                 watchlist: Watchlist) -> None:
        self.params = params
        self.profile = profile
        self.watchlist = watchlist

    def accepts(self, event: Event, /) -> bool:
        return (
            isinstance(event, Transaction)
            and event.kind is TransactionKind.TRANSFER
            and event.counterparty is not None
            and bool(event.counterparty.name and event.counterparty.name.strip())
        )

    def score(self, event: Event, state: ScreenedCounterparties, /
              ) -> tuple[ScreenedCounterparties, list[Finding]]:
        if not self.accepts(event):
            return state, []
        assert isinstance(event, Transaction) and event.counterparty is not None  # noqa: S101
        name = event.counterparty.name or ""
        p = self.params
        country = event.counterparty.country
        hits = [hit for m in self.watchlist.screen(name, threshold=p.threshold)
                if m.sdn_type in p.sdn_types and (hit := self._weigh(m, country)) is not None]
        if not hits:
            return state, []
        hits.sort(key=lambda h: -h.score)  # stable: similarity order among equal scores
        key, now = _digest(name), event.occurred_at
        if any(r.key == key and abs(now - r.at) < p.repeat_window for r in state.reported):
            return state, []
        kept = [*state.reported, ReportedCounterparty(key=key, at=now)]
        newest = max(r.at for r in kept)
        kept = sorted((r for r in kept if r.at > newest - p.repeat_window),
                      key=lambda r: (r.at, r.key))[-p.max_kept:]
        return ScreenedCounterparties(reported=tuple(kept)), [self._finding(event, hits)]

    def _weigh(self, match: WatchlistMatch, country: str | None) -> _Hit | None:
        """The match scored with the countries compared; None: corroborated by nothing."""
        p = self.params
        listed = self.watchlist.entry(match.ent_num).countries
        check = _country_check(country, listed)
        score, code = self._score(match), "SDN_NAME_MATCH"
        if check == "differs":
            if match.sdn_type == "individual":
                if match.similarity < 100.0 or not p.report_country_mismatch:
                    return None  # a namesake elsewhere: the name is all that matches
                score, code = p.country_differs_score, "SDN_NAME_MATCH_COUNTRY_DIFFERS"
                if match.weak_alias:
                    score -= p.weak_alias_discount
            else:
                score += p.entity_country_differs_delta
        return _Hit(match, listed, check, round(min(1.0, max(0.0, score)), 4), code)

    def _score(self, match: WatchlistMatch) -> float:
        p = self.params
        span = 100.0 - p.threshold
        closeness = 1.0 if span <= 0 else (match.similarity - p.threshold) / span
        score = p.min_score + (p.max_score - p.min_score) * min(1.0, max(0.0, closeness))
        if match.weak_alias:
            score -= p.weak_alias_discount
        return round(min(1.0, max(0.0, score)), 4)

    def _finding(self, event: Transaction, hits: list[_Hit]) -> Finding:
        hit = hits[0]
        best = hit.match
        cp = event.counterparty
        assert cp is not None  # noqa: S101 - accepted transfers have one
        name = (cp.name or "").strip()
        declined = event.status is TransactionStatus.DECLINED
        outgoing = event.direction is Direction.OUT
        via = ""
        if best.via_alias:
            via = f" via {'weak ' if best.weak_alias else ''}alias '{best.matched_name}'"
        summary = (
            f"{'Declined transfer' if declined else 'Transfer'} {'out' if outgoing else 'in'} "
            f"of {_amount(event.amount, event.currency)} {'to' if outgoing else 'from'} "
            f"'{name}' matches {LIST_NAME} entry {best.ent_num} {best.listed_name}{via}"
            f"{_programs(best)}, similarity {best.similarity:g}."
        )
        if hit.check == "differs":
            summary += (f" Counterparty country {cp.country} is not among the entry's "
                        f"({', '.join(hit.countries)}).")
        evidence: dict[str, Any] = {
            "ent_num": best.ent_num,
            "listed_name": best.listed_name,
            "matched_name": best.matched_name,
            "via_alias": best.via_alias,
            "weak_alias": best.weak_alias,
            "method": best.method,
            "program": best.program,
            "sdn_type": best.sdn_type,
            "similarity": best.similarity,
            "threshold": self.params.threshold,
            "list": LIST_NAME,
            "list_as_of": self.watchlist.as_of,
            "counterparty_name": name,
            "counterparty_country": cp.country,
            "listed_countries": list(hit.countries),
            "country_check": hit.check,
            "counterparty_account": cp.account_id,
            "amount": str(event.amount),
            "currency": event.currency,
            "direction": event.direction.value,
            "status": event.status.value,
            "other_matches": [
                {"ent_num": h.match.ent_num, "listed_name": h.match.listed_name,
                 "matched_name": h.match.matched_name, "similarity": h.match.similarity,
                 "country_check": h.check}
                for h in hits[1 : 1 + self.params.max_other_matches]
            ],
        }
        return Finding(
            detector=self.name,
            typology=self.typology,
            code=hit.code,
            score=hit.score,
            summary=summary,
            evidence=evidence,
            event_ids=(event.event_id,),
            related_accounts=(cp.account_id,) if cp.account_id else (),
            window_start=event.occurred_at,
            window_end=event.occurred_at,
        )
