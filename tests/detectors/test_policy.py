"""Alert policy: one alert per subject, typology and episode; deterministic ids; severity bands."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from detectors import (
    RULESET_VERSION,
    AccountState,
    AlertPolicy,
    DetectorParams,
    Jurisdiction,
    PolicyParams,
    assess,
    build_detectors,
    build_policy,
)
from detectors.policy import SeverityBand, original_event_id
from models import Alert, Finding, Severity, Transaction, Typology
from tests.factories import T0, near_deposits

DAY = timedelta(days=1)


def run(events: Iterable[Transaction], policy_params: PolicyParams | None = None,
        states: dict[str, AccountState] | None = None) -> list[Alert]:
    """Assess events with the default detectors and the given policy; return every alert."""
    detectors = build_detectors(DetectorParams(), Jurisdiction())
    policy = build_policy(policy_params or PolicyParams(), detectors)
    states = {} if states is None else states
    alerts: list[Alert] = []
    for event in events:
        alerts.extend(assess(event, detectors, states, policy).alerts)
    return alerts


def finding(score: float = 0.7, *, typology: Typology = Typology.STRUCTURING,
            start: datetime = T0, end: datetime | None = None,
            event_ids: tuple[str, ...] = ("t1",), related: tuple[str, ...] = (),
            detector: str = "structuring") -> Finding:
    return Finding(detector=detector, typology=typology, code="TEST", score=score,
                   summary="test finding.", evidence={"n": 1}, event_ids=event_ids,
                   related_accounts=related, window_start=start, window_end=end or start)


def policy(**params: object) -> AlertPolicy:
    return AlertPolicy(PolicyParams.model_validate(params), {"ruleset": "test"})


# --- episodes -----------------------------------------------------------------------------


def test_five_qualifying_deposits_in_a_week_give_exactly_one_alert() -> None:
    alerts = run(near_deposits(5, account_id="ACC-S"))
    assert len(alerts) == 1
    assert alerts[0].account_id == "ACC-S"
    assert alerts[0].typologies == [Typology.STRUCTURING]


def test_daily_structuring_for_three_weeks_gives_one_alert_per_episode() -> None:
    alerts = run(near_deposits(21, account_id="ACC-S"))
    # first alert on day 2 (episode until day 9); next on day 10 (until 17); then day 18
    assert [a.created_at for a in alerts] == [T0 + 2 * DAY, T0 + 10 * DAY, T0 + 18 * DAY]
    assert len({a.alert_id for a in alerts}) == 3


def test_new_burst_after_the_episode_gives_a_second_alert_with_another_id() -> None:
    first = near_deposits(3, account_id="ACC-S")
    second = near_deposits(3, account_id="ACC-S", start=20 * DAY)
    alerts = run(first + second)
    assert len(alerts) == 2
    assert alerts[0].alert_id != alerts[1].alert_id
    assert alerts[1].transaction_ids == [e.event_id for e in second]


def test_burst_inside_the_episode_is_suppressed() -> None:
    first = near_deposits(3, account_id="ACC-S")  # alert on day 2, episode until day 9
    inside = near_deposits(2, account_id="ACC-S", start=8 * DAY)  # days 8 and 9 qualify again
    alerts = run(first + inside)
    assert len(alerts) == 1


def test_episode_end_is_inclusive() -> None:
    p = policy(episode_length=timedelta(days=7))
    episodes, alerts, _ = p.decide("A", [finding(start=T0)], {})
    assert len(alerts) == 1
    until = T0 + 7 * DAY
    assert episodes["structuring"].until == until
    _, at_end, suppressed = p.decide("A", [finding(start=T0 + DAY, end=until)], episodes)
    assert at_end == [] and len(suppressed) == 1
    _, after, _ = p.decide("A", [finding(start=T0 + DAY, end=until + timedelta(seconds=1))],
                           episodes)
    assert len(after) == 1


def test_episodes_are_per_typology() -> None:
    p = policy()
    episodes, _, _ = p.decide("A", [finding(typology=Typology.STRUCTURING)], {})
    _, alerts, _ = p.decide("A", [finding(typology=Typology.CARD_TESTING, end=T0 + DAY)],
                            episodes)
    assert [a.typologies for a in alerts] == [[Typology.CARD_TESTING]]


def test_episodes_are_per_account() -> None:
    alerts = run(near_deposits(3, account_id="ACC-A") + near_deposits(3, account_id="ACC-B"))
    assert sorted(a.account_id for a in alerts) == ["ACC-A", "ACC-B"]


def test_no_findings_change_nothing() -> None:
    episodes = {"structuring": policy().decide("A", [finding()], {})[0]["structuring"]}
    assert policy().decide("A", [], episodes) == (episodes, [], [])


# --- alert ids ----------------------------------------------------------------------------


def test_alert_ids_are_deterministic_for_the_same_events() -> None:
    events = near_deposits(3, account_id="ACC-S") + near_deposits(3, account_id="ACC-S",
                                                                  start=20 * DAY)
    assert [a.alert_id for a in run(events)] == [a.alert_id for a in run(events)]


def test_replaying_into_fresh_state_gives_identical_alerts() -> None:
    events = near_deposits(4, account_id="ACC-S")
    assert run(events) == run(events)


def test_alert_id_depends_on_the_account() -> None:
    a = run(near_deposits(3, account_id="ACC-A"))
    b = run(near_deposits(3, account_id="ACC-B"))
    assert a[0].alert_id != b[0].alert_id


def test_alert_id_depends_on_the_typology_and_the_oldest_evidence() -> None:
    p = policy()
    base = p.decide("A", [finding()], {})[1][0].alert_id
    other_typology = p.decide("A", [finding(typology=Typology.MULE_ACCOUNT)], {})[1][0].alert_id
    later_start = p.decide("A", [finding(start=T0 + DAY)], {})[1][0].alert_id
    assert len({base, other_typology, later_start}) == 3


def test_alert_id_is_keyed_by_the_span_of_the_evidence() -> None:
    p = policy()
    ids = {end: p.decide("A", [finding(start=T0, end=T0 + end * DAY)], {})[1][0].alert_id
           for end in (0, 2, 5)}
    assert len(set(ids.values())) == 3
    again = p.decide("A", [finding(start=T0, end=T0 + 5 * DAY)], {})[1][0]
    assert again.alert_id == ids[5]
    later_start = p.decide("A", [finding(start=T0 + DAY, end=T0 + 5 * DAY)], {})[1][0]
    assert later_start.alert_id != ids[5]


def test_two_episodes_sharing_their_oldest_evidence_get_different_ids() -> None:
    """A short episode_length lets a second alert reuse the first one's oldest deposit."""
    p = policy(episode_length=timedelta(days=1))
    episodes, first, _ = p.decide("A", [finding(start=T0, end=T0 + DAY / 12)], {})
    _, second, _ = p.decide("A", [finding(start=T0, end=T0 + 3 * DAY)], episodes)
    assert len(first) == len(second) == 1
    assert first[0].alert_id != second[0].alert_id


def test_alert_id_does_not_depend_on_score_or_event_ids() -> None:
    p = policy()
    a = p.decide("A", [finding(0.6, event_ids=("x",))], {})[1][0]
    b = p.decide("A", [finding(0.9, event_ids=("y",))], {})[1][0]
    assert a.alert_id == b.alert_id


# --- score, severity and suppression -------------------------------------------------------


def test_findings_of_one_typology_combine_by_noisy_or_into_one_alert() -> None:
    _, alerts, _ = policy().decide("A", [finding(0.5, detector="d1"), finding(0.5, detector="d2")],
                                   {})
    assert len(alerts) == 1
    assert alerts[0].score == pytest.approx(0.75)
    assert [r.detector for r in alerts[0].reasons] == ["d1", "d2"]


CUSTOM_BANDS = (  # deliberately unsorted: the policy sorts them
    SeverityBand(min_score=0.3, severity=Severity.MEDIUM),
    SeverityBand(min_score=0.8, severity=Severity.CRITICAL),
    SeverityBand(min_score=0.0, severity=Severity.LOW),
    SeverityBand(min_score=0.6, severity=Severity.HIGH),
)


@pytest.mark.parametrize(
    ("score", "severity"),
    [(1.0, Severity.CRITICAL), (0.8, Severity.CRITICAL), (0.7999, Severity.HIGH),
     (0.6, Severity.HIGH), (0.5999, Severity.MEDIUM), (0.3, Severity.MEDIUM),
     (0.2999, Severity.LOW), (0.0, Severity.LOW)],
)
def test_custom_severity_bands_map_at_their_edges(score: float, severity: Severity) -> None:
    p = policy(severity_bands=CUSTOM_BANDS)
    assert p.severity(score) is severity
    _, alerts, _ = p.decide("A", [finding(score)], {})
    assert alerts[0].severity is severity


@pytest.mark.parametrize(
    ("score", "severity"),
    [(0.95, Severity.CRITICAL), (0.9, Severity.CRITICAL), (0.8, Severity.HIGH),
     (0.75, Severity.HIGH), (0.6, Severity.MEDIUM), (0.5, Severity.MEDIUM),
     (0.49, Severity.LOW)],
)
def test_default_severity_bands(score: float, severity: Severity) -> None:
    assert policy().severity(score) is severity


def test_severity_bands_must_not_be_empty() -> None:
    with pytest.raises(ValidationError):
        PolicyParams(severity_bands=())


@pytest.mark.parametrize(("score", "alerted"), [(0.69, False), (0.7, True), (0.71, True)])
def test_min_alert_score_suppresses_weak_findings(score: float, alerted: bool) -> None:
    episodes, alerts, suppressed = policy(min_alert_score=0.7).decide("A", [finding(score)], {})
    assert bool(alerts) is alerted
    assert bool(suppressed) is not alerted
    assert ("structuring" in episodes) is alerted  # a suppressed finding opens no episode


def test_min_alert_score_applies_end_to_end() -> None:
    events = near_deposits(3, amount="80000.00", account_id="ACC-S")  # score 0.6
    assert run(events, PolicyParams(min_alert_score=0.61)) == []
    assert len(run(events, PolicyParams(min_alert_score=0.6))) == 1


# --- alert content ------------------------------------------------------------------------


def test_created_at_is_the_event_time_of_the_last_evidence() -> None:
    events = near_deposits(3, every=timedelta(hours=30), account_id="ACC-S")
    (alert,) = run(events)
    assert alert.created_at == events[-1].occurred_at == T0 + timedelta(hours=60)


def test_created_at_is_the_latest_window_end_among_combined_findings() -> None:
    _, alerts, _ = policy().decide(
        "A", [finding(end=T0 + DAY, detector="d1"), finding(end=T0 + 2 * DAY, detector="d2")], {})
    assert alerts[0].created_at == T0 + 2 * DAY


def test_transaction_ids_map_derived_payee_legs_back_to_the_reported_id() -> None:
    _, alerts, _ = policy().decide(
        "A", [finding(event_ids=("t1~payee", "t2")), finding(event_ids=("t1", "t3~payee"))], {})
    assert alerts[0].transaction_ids == ["t1", "t2", "t3"]


def test_original_event_id_strips_only_the_payee_suffix() -> None:
    assert original_event_id("t1~payee") == "t1"
    assert original_event_id("t1") == "t1"
    assert original_event_id("payee~t1") == "payee~t1"


def test_related_accounts_are_sorted_unique_and_exclude_the_subject() -> None:
    _, alerts, _ = policy().decide(
        "A", [finding(related=("C", "A", "B")), finding(related=("B",))], {})
    assert alerts[0].related_accounts == ["B", "C"]


def test_detector_versions_name_the_ruleset_and_each_detector() -> None:
    (alert,) = run(near_deposits(3))
    assert alert.detector_versions == {
        "ruleset": RULESET_VERSION, "structuring": "1", "funnel_account": "1",
        "mule_account": "1", "card_testing": "1", "account_takeover": "1",
        "trafficking_indicators": "1", "sanctions_screening": "1"}


def test_model_version_is_reported_when_given() -> None:
    detectors = build_detectors(DetectorParams(), Jurisdiction())
    p = build_policy(PolicyParams(), detectors, model_version="iforest-7")
    assert p.detector_versions["model"] == "iforest-7"


def test_alert_reasons_carry_the_detector_summary_and_evidence() -> None:
    (alert,) = run(near_deposits(3))
    (reason,) = alert.reasons
    assert reason.detector == "structuring"
    assert reason.code == "STRUCT_NEAR_THRESHOLD_REPEAT"
    assert reason.summary.startswith("3 cash deposits")
    assert reason.evidence["count"] == 3
    assert alert.score == reason.score


def test_alert_serialises_to_the_contract() -> None:
    (alert,) = run(near_deposits(3))
    assert Alert.model_validate_json(alert.model_dump_json()) == alert
