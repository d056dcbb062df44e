"""The detector registry: an explicit dict from name to constructor, and their settings.

Adding a detector is one module, one entry in `REGISTRY` and one field in `DetectorParams`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.account_takeover import AccountTakeover, AccountTakeoverParams
from detectors.base import Detector
from detectors.card_testing import CardTesting, CardTestingParams
from detectors.funnel_account import FunnelAccount, FunnelAccountParams
from detectors.identity import OSINT_DETECTOR, SHARED_DETECTOR, VERSION, IdentityParams
from detectors.jurisdiction import Jurisdiction
from detectors.mule_account import MuleAccount, MuleAccountParams
from detectors.policy import AlertPolicy, PolicyParams
from detectors.reference import ReferenceData, default_reference
from detectors.sanctions_screening import SanctionsScreening, SanctionsScreeningParams
from detectors.structuring import Structuring, StructuringParams
from detectors.trafficking_indicators import TraffickingIndicators, TraffickingIndicatorsParams

__all__ = [
    "IDENTITY_DETECTORS",
    "REGISTRY",
    "RULESET_VERSION",
    "DetectorParams",
    "build_detectors",
    "build_identity",
    "build_policy",
]

#: The joins of the identity stage (`detectors.identity`), enabled like detectors.
IDENTITY_DETECTORS = (SHARED_DETECTOR, OSINT_DETECTOR)

#: Version of the rule set as a whole; bumped whenever a rule's behaviour changes.
RULESET_VERSION = "2026.11.2"


class DetectorParams(BaseModel):
    """Parameters of every detector (`TXMON_DETECTORS__<NAME>__<PARAM>`) and which are enabled."""

    model_config = ConfigDict(frozen=True)

    enabled: tuple[str, ...] = Field(
        default=(
            "structuring",
            "funnel_account",
            "mule_account",
            "card_testing",
            "account_takeover",
            "trafficking_indicators",
            "sanctions_screening",
            SHARED_DETECTOR,
            OSINT_DETECTOR,
        )
    )
    structuring: StructuringParams = StructuringParams()
    account_takeover: AccountTakeoverParams = AccountTakeoverParams()
    card_testing: CardTestingParams = CardTestingParams()
    funnel_account: FunnelAccountParams = FunnelAccountParams()
    mule_account: MuleAccountParams = MuleAccountParams()
    trafficking_indicators: TraffickingIndicatorsParams = TraffickingIndicatorsParams()
    sanctions_screening: SanctionsScreeningParams = SanctionsScreeningParams()
    identity: IdentityParams = IdentityParams()

    @field_validator("enabled")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        known = [*REGISTRY, *IDENTITY_DETECTORS]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; known: {sorted(known)}")
        return tuple(dict.fromkeys(names))


Maker = Callable[[DetectorParams, Jurisdiction, ReferenceData], Detector[Any]]

REGISTRY: dict[str, Maker] = {
    "structuring": lambda p, j, r: Structuring(p.structuring, j),
    "card_testing": lambda p, j, r: CardTesting(p.card_testing, j),
    "account_takeover": lambda p, j, r: AccountTakeover(p.account_takeover, j),
    "funnel_account": lambda p, j, r: FunnelAccount(p.funnel_account, j),
    "mule_account": lambda p, j, r: MuleAccount(p.mule_account, j),
    "trafficking_indicators": lambda p, j, r: TraffickingIndicators(
        p.trafficking_indicators, j, r.merchant_groups, r.country_risk
    ),
    "sanctions_screening": lambda p, j, r: SanctionsScreening(
        p.sanctions_screening, j, r.watchlist
    ),
}


def build_detectors(
    params: DetectorParams, profile: Jurisdiction, reference: ReferenceData | None = None
) -> list[Detector[Any]]:
    """The enabled detectors, in registry order (the order findings are reported in).

    `reference` defaults to the packaged lists (`detectors/data/`).
    """
    ref = reference if reference is not None else default_reference()
    return [make(params, profile, ref) for name, make in REGISTRY.items() if name in params.enabled]


def build_identity(params: DetectorParams, profile: Jurisdiction) -> IdentityParams | None:
    """The identity stage's parameters, or None when neither of its joins is enabled."""
    shared = SHARED_DETECTOR in params.enabled
    osint = OSINT_DETECTOR in params.enabled
    if not (shared or osint):
        return None
    return params.identity.model_copy(
        update={"region": profile.country, "shared_identity": shared, "osint_match": osint}
    )


def build_policy(
    params: PolicyParams,
    detectors: list[Detector[Any]],
    model_version: str | None = None,
    identity: IdentityParams | None = None,
) -> AlertPolicy:
    versions = {"ruleset": RULESET_VERSION}
    versions.update({d.name: d.version for d in detectors})
    if identity is not None:
        if identity.shared_identity:
            versions[SHARED_DETECTOR] = VERSION
        if identity.osint_match:
            versions[OSINT_DETECTOR] = VERSION
    if model_version:
        versions["model"] = model_version
    return AlertPolicy(params, versions)
