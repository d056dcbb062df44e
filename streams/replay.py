"""Offline replay: the same `assess` as the worker, over JSONL files, with in-memory state.

Inputs are merged in event-time order (ties keep file order: transactions, accounts,
indicators, then line number), so the same files always give byte-identical alerts. Lines that
the worker would dead-letter are counted and reported, never fatal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel

from detectors import (
    AccountState,
    DetectorParams,
    Jurisdiction,
    Outcome,
    PolicyParams,
    account_legs,
    assess,
    assess_finding,
    build_detectors,
    build_identity,
    build_policy,
)
from detectors.anomaly import AnomalyDetector, BehaviourContext
from detectors.assess import decide_finding
from detectors.identity import (
    IdentityRecord,
    RoutedFinding,
    indicator_key,
    observe_indicator,
    observe_link,
)
from detectors.reference import ReferenceData
from models import AccountEvent, Alert, Indicator, Rejection, Transaction, decode

__all__ = ["EventScore", "ReplayReport", "read_events", "replay", "replay_files"]


@dataclass
class ReplayReport:
    lines: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)  # "<source>/<reason>" -> count
    invalid_examples: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)  # typology -> count

    def summary(self) -> str:
        total_invalid = sum(self.invalid.values())
        parts = [
            f"{self.lines} lines read",
            f"{sum(self.accepted.values())} accepted",
            f"{total_invalid} invalid",
        ]
        dupes = self.outcomes.get(Outcome.DUPLICATE.value, 0)
        if dupes:
            parts.append(f"{dupes} duplicate event ids ignored")
        legs = self.outcomes.get(Outcome.DUPLICATE_LEG.value, 0)
        if legs:
            parts.append(f"{legs} transfers reported by both banks counted once")
        parts.append(f"{sum(self.alerts.values())} alerts")
        text = ", ".join(parts) + "."
        if self.alerts:
            text += " By typology: " + ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items()))
            text += "."
        return text


@dataclass(frozen=True, slots=True)
class EventScore:
    """One transaction's calibrated anomaly score (for `txmon evaluate --scores`)."""

    account_id: str
    event_id: str
    score: float


@dataclass(frozen=True, slots=True)
class _Item:
    at: datetime
    source: int
    line: int
    event: BaseModel


def _read(
    path: Path, model: type[BaseModel], source: int, name: str, report: ReplayReport
) -> list[_Item]:
    items = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            report.lines += 1
            result = decode(model, line, check_key=False)
            if isinstance(result, Rejection):
                report.invalid[f"{name}/{result.reason.value}"] += 1
                if len(report.invalid_examples) < 5:
                    report.invalid_examples.append(f"{path.name}:{number}: {result.error}")
                continue
            report.accepted[name] += 1
            at = result.observed_at if isinstance(result, Indicator) else result.occurred_at  # type: ignore[attr-defined]
            items.append(_Item(at, source, number, result))
    return items


def replay(
    items: Iterable[BaseModel],
    *,
    detectors_params: DetectorParams | None = None,
    jurisdiction: Jurisdiction | None = None,
    policy_params: PolicyParams | None = None,
    reference: ReferenceData | None = None,
    anomaly: AnomalyDetector | None = None,
    batch: int = 500,
    scores: list[EventScore] | None = None,
    report: ReplayReport | None = None,
    on_event: Callable[[], None] | None = None,
) -> list[Alert]:
    """Assess validated events (already in the order to process them); return the alerts.

    With `anomaly`, transactions' feature rows are scored in batches of `batch` (a row's score
    does not depend on its batch) and each row's calibrated score is appended to `scores`.
    """
    report = report or ReplayReport()
    params = detectors_params or DetectorParams()
    profile = jurisdiction or Jurisdiction()
    detectors = build_detectors(params, profile, reference)
    identity = build_identity(params, profile)
    policy = build_policy(
        policy_params or PolicyParams(),
        detectors,
        model_version=anomaly.version if anomaly is not None else None,
        identity=identity,
    )
    behaviour = BehaviourContext.of(profile) if anomaly is not None else None
    pending: list[tuple[Transaction, list[float]]] = []
    states: dict[str, AccountState] = {}
    identities: dict[str, IdentityRecord] = {}
    alerts: list[Alert] = []

    def collect(found: list[Alert]) -> None:
        for alert in found:
            alerts.append(alert)
            for typology in alert.typologies:
                report.alerts[typology.value] += 1

    def route(routed: list[RoutedFinding]) -> None:
        # What the worker sends back to the account stage through `<app>-by-account`.
        for item in routed:
            collect(assess_finding(item, states, policy).alerts)

    def score_pending() -> None:
        if anomaly is None or not pending:
            return
        calibrated = anomaly.score([row for _, row in pending])
        for (txn, row), value in zip(pending, calibrated, strict=True):
            if scores is not None:
                scores.append(EventScore(txn.account_id, txn.event_id, float(value)))
            finding = anomaly.finding(txn, row, float(value))
            if finding is not None:
                collect(decide_finding(txn.account_id, finding, states, policy).alerts)
        pending.clear()

    for event in items:
        if isinstance(event, Indicator):
            if identity is not None:
                key = indicator_key(event, identity.region)
                record, routed = observe_indicator(
                    event, identities.get(key) or IdentityRecord(), identity
                )
                identities[key] = record
                route(routed)
        elif isinstance(event, Transaction | AccountEvent):
            legs = account_legs(event) if isinstance(event, Transaction) else [event]
            for leg in legs:
                result = assess(
                    leg, detectors, states, policy, identity=identity, behaviour=behaviour
                )
                report.outcomes[result.outcome.value] += 1
                collect(result.alerts)
                if result.features is not None and isinstance(leg, Transaction):
                    pending.append((leg, result.features))
                    if len(pending) >= batch:
                        score_pending()
                for link in result.links:
                    assert identity is not None  # noqa: S101 - links need the identity stage
                    record, routed = observe_link(
                        link, identities.get(link.key) or IdentityRecord(), identity
                    )
                    identities[link.key] = record
                    route(routed)
        if on_event is not None:
            on_event()
    score_pending()
    return alerts


T = TypeVar("T")


def with_progress(
    description: str, total: int, show: bool, run: Callable[[Callable[[], None] | None], T]
) -> T:
    """`run(tick)` with a transient progress bar over `total` items when `show`."""
    if not show:
        return run(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        return run(lambda: bar.advance(task))


def read_events(
    transactions: Path,
    accounts: Path | None,
    indicators: Path | None,
    report: ReplayReport,
) -> list[BaseModel]:
    """The valid events of the files merged in event-time order (ties: file, then line)."""
    items = _read(transactions, Transaction, 0, "transactions", report)
    if accounts is not None:
        items += _read(accounts, AccountEvent, 1, "accounts", report)
    if indicators is not None:
        items += _read(indicators, Indicator, 2, "indicators", report)
    items.sort(key=lambda i: (i.at, i.source, i.line))
    return [i.event for i in items]


def replay_files(
    transactions: Path,
    accounts: Path | None = None,
    indicators: Path | None = None,
    out: IO[bytes] | None = None,
    *,
    progress: bool = False,
    **params: Any,
) -> tuple[list[Alert], ReplayReport]:
    """Read, merge by event time, assess, and write one alert per line to `out`."""
    report = ReplayReport()
    events = read_events(transactions, accounts, indicators, report)
    alerts = with_progress(
        "replaying",
        len(events),
        progress,
        lambda tick: replay(events, report=report, on_event=tick, **params),
    )
    if out is not None:
        for alert in alerts:
            out.write(alert.model_dump_json().encode() + b"\n")
    return alerts, report
