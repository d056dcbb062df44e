"""Detectors: pure functions of (event, state) -> (state, findings), and the alert policy.

Depends on `models` only; never imports Faust, reads the clock or does I/O.
"""

from detectors.assess import Assessment, Outcome, account_legs, assess, assess_finding, payee_leg
from detectors.base import AccountState, Detector, DetectorState, Event
from detectors.jurisdiction import Jurisdiction
from detectors.policy import AlertPolicy, PolicyParams
from detectors.registry import (
    REGISTRY,
    RULESET_VERSION,
    DetectorParams,
    build_detectors,
    build_identity,
    build_policy,
)

__all__ = [
    "REGISTRY",
    "RULESET_VERSION",
    "AccountState",
    "AlertPolicy",
    "Assessment",
    "Detector",
    "DetectorParams",
    "DetectorState",
    "Event",
    "Jurisdiction",
    "Outcome",
    "PolicyParams",
    "account_legs",
    "assess",
    "assess_finding",
    "build_detectors",
    "build_identity",
    "build_policy",
    "payee_leg",
]
