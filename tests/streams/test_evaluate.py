"""Detection quality (`streams.evaluate`): per-account scores, loaders and the report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from models import ALERT_SCHEMA_VERSION, Alert, Reason, Severity, Typology
from streams.cli import main
from streams.evaluate import (
    Evaluation,
    Scores,
    TopCount,
    evaluate,
    load_account_ids,
    load_alerts,
    load_labels,
    load_scores,
    rank_anomalies,
    write_report,
)
from tests.factories import T0

S = Typology.STRUCTURING.value
M = Typology.MULE_ACCOUNT.value
A = Typology.ANOMALY.value
C = Typology.CARD_TESTING.value
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_alert(account: str, *typologies: Typology, alert_id: str | None = None) -> Alert:
    typos = list(typologies) or [Typology.STRUCTURING]
    return Alert(
        alert_id=alert_id or f"{account}-{'-'.join(t.value for t in typos)}",
        schema_version=ALERT_SCHEMA_VERSION,
        created_at=T0,
        account_id=account,
        typologies=typos,
        score=0.8,
        severity=Severity.HIGH,
        reasons=[
            Reason(
                detector="test",
                typology=t,
                code="TEST",
                score=0.8,
                summary="A test finding.",
                evidence={"count": 3},
            )
            for t in typos
        ],
        transaction_ids=["txn-1"],
        related_accounts=[],
        detector_versions={"rules": "test"},
    )


def counts(s: Scores) -> tuple[int, int, int]:
    return s.tp, s.fp, s.fn


def ratios(s: Scores) -> tuple[float, float, float]:
    return s.precision, s.recall, s.f1


# --- scores ------------------------------------------------------------------------------------


def test_perfect_predictions_score_one_everywhere() -> None:
    labels = {"A": {S}, "B": {S, M}, "C": {M}}
    alerts = [
        make_alert("A", Typology.STRUCTURING),
        make_alert("B", Typology.STRUCTURING),
        make_alert("B", Typology.MULE_ACCOUNT),
        make_alert("C", Typology.MULE_ACCOUNT),
    ]
    ev = evaluate(labels, alerts)
    assert sorted(ev.by_typology) == [M, S]
    for s in [*ev.by_typology.values(), ev.account_level]:
        assert ratios(s) == (1.0, 1.0, 1.0)
        assert s.fp == s.fn == 0
    assert counts(ev.by_typology[S]) == (2, 0, 0)
    assert ev.alerts == 4
    assert ev.accounts_evaluated is None


def test_false_positive_lowers_precision_only() -> None:
    ev = evaluate({"A": {S}}, [make_alert("A"), make_alert("X")])
    s = ev.by_typology[S]
    assert counts(s) == (1, 1, 0)
    assert s.precision == 0.5
    assert s.recall == 1.0
    assert s.f1 == pytest.approx(2 / 3)


def test_missed_account_lowers_recall_only() -> None:
    ev = evaluate({"A": {S}, "B": {S}}, [make_alert("A")])
    s = ev.by_typology[S]
    assert counts(s) == (1, 0, 1)
    assert s.precision == 1.0
    assert s.recall == 0.5
    assert s.support == 2


def test_same_account_and_typology_alerted_twice_counts_once() -> None:
    alerts = [
        make_alert("A", alert_id="a1"),
        make_alert("A", alert_id="a2"),
        make_alert("X", alert_id="x1"),
        make_alert("X", alert_id="x2"),
    ]
    ev = evaluate({"A": {S}}, alerts)
    assert counts(ev.by_typology[S]) == (1, 1, 0)
    assert counts(ev.account_level) == (1, 1, 0)
    assert ev.alerts == 4


def test_redelivered_alert_id_counts_as_one_alert() -> None:
    ev = evaluate({"A": {S}}, [make_alert("A"), make_alert("A")])
    assert ev.alerts == 1


def test_two_labels_one_alerted_gives_one_tp_and_one_fn() -> None:
    ev = evaluate({"A": {S, M}}, [make_alert("A", Typology.STRUCTURING)])
    assert counts(ev.by_typology[S]) == (1, 0, 0)
    assert counts(ev.by_typology[M]) == (0, 0, 1)
    assert ratios(ev.by_typology[M]) == (0.0, 0.0, 0.0)
    # the account itself was found
    assert counts(ev.account_level) == (1, 0, 0)


def test_typology_only_in_alerts_counts_false_positives_with_support_zero() -> None:
    ev = evaluate({"A": {S}}, [make_alert("A"), make_alert("B", Typology.ANOMALY)])
    anomaly = ev.by_typology[Typology.ANOMALY.value]
    assert counts(anomaly) == (0, 1, 0)
    assert anomaly.support == 0
    assert ratios(anomaly) == (0.0, 0.0, 0.0)
    assert counts(ev.by_typology[S]) == (1, 0, 0)


def test_account_level_ignores_which_typology_was_alerted() -> None:
    labels = {"A": {S}, "B": {M}, "C": {S}}
    # A: right typology; B: wrong typology but suspicious; C: missed; D: false alarm
    alerts = [make_alert("A"), make_alert("B", Typology.ANOMALY), make_alert("D")]
    ev = evaluate(labels, alerts)
    assert counts(ev.account_level) == (2, 1, 1)
    assert ev.account_level.precision == pytest.approx(2 / 3)
    assert ev.account_level.recall == pytest.approx(2 / 3)
    assert ev.account_level.support == 3
    assert counts(ev.by_typology[M]) == (0, 0, 1)


def test_multi_typology_alert_counts_for_each_typology() -> None:
    ev = evaluate({"A": {S, M}}, [make_alert("A", Typology.STRUCTURING, Typology.MULE_ACCOUNT)])
    assert counts(ev.by_typology[S]) == counts(ev.by_typology[M]) == (1, 0, 0)


def test_empty_evaluation_and_zero_division_conventions() -> None:
    ev = evaluate({}, [])
    assert ev.by_typology == {}
    assert ratios(ev.account_level) == (1.0, 1.0, 1.0)
    assert ratios(evaluate({"A": {S}}, []).account_level) == (0.0, 0.0, 0.0)
    assert ratios(evaluate({}, [make_alert("A")]).account_level) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        Scores.from_counts(-1, 0, 0)


def test_universe_counts_every_account_seen() -> None:
    ev = evaluate({"A": {S}, "N": set()}, [make_alert("X")], universe=["A", "B", "C"])
    assert ev.accounts_evaluated == 5  # A, B, C, N (unlabelled entry) and X (alerted)
    assert counts(ev.account_level) == (0, 1, 1)  # N's empty list is a negative


# --- loaders -----------------------------------------------------------------------------------


def test_load_alerts_round_trips_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    alerts = [make_alert("A"), make_alert("B", Typology.MULE_ACCOUNT)]
    path.write_text(
        alerts[0].model_dump_json() + "\n\n  \n" + alerts[1].model_dump_json() + "\n",
        encoding="utf-8",
    )
    assert load_alerts(path) == alerts


@pytest.mark.parametrize(
    "bad",
    [
        '{"alert_id": "broken", ',
        json.dumps({"alert_id": "x"}),
        "[1, 2]",
    ],
)
def test_load_alerts_rejects_a_bad_line_naming_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "alerts.jsonl"
    good = make_alert("A").model_dump_json()
    path.write_text(f"{good}\n\n{bad}\n{good}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3\b") as info:
        load_alerts(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_load_alerts_rejects_an_unknown_typology(tmp_path: Path) -> None:
    data = json.loads(make_alert("A").model_dump_json())
    data["typologies"] = ["smurfing"]
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: .*typologies"):
        load_alerts(path)


def test_load_alerts_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_alerts(tmp_path / "nope.jsonl")


def test_load_labels_reads_the_simulator_format(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"A": [S], "B": [S, M, S], "C": []}), encoding="utf-8")
    assert load_labels(path) == {"A": {S}, "B": {S, M}, "C": set()}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object .* not a JSON array"),
        ('"structuring"', "not a JSON string"),
        ("null", "not a JSON null"),
        ("{not json", "is not valid JSON"),
        ('{"A": "structuring"}', "account 'A' must be a list"),
        ('{"A": [1]}', "account 'A' must be a list"),
        ('{"A": ["smurfing"]}', "unknown typology code 'smurfing'"),
    ],
)
def test_load_labels_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_labels(path)
    assert "\n" not in str(info.value)


def test_load_account_ids_skips_invalid_lines(tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_bytes(
        b'{"account_id": "A", "kind": "opened"}\n'
        b"not json\n"
        b'{"account_id": "A", "kind": "login"}\n'
        b'{"account_id": 7}\n'
        b'{"account_id": "B"}\n'
        b"\xff\xfe\n"
    )
    assert load_account_ids(path) == {"A", "B"}


# --- report ------------------------------------------------------------------------------------


def sample_evaluation() -> Evaluation:
    labels = {"A": {S}, "B": {S}, "C": {M}}
    alerts = [
        make_alert("A"),
        make_alert("X"),
        make_alert("C", Typology.MULE_ACCOUNT),
        make_alert("Y", Typology.ANOMALY),
    ]
    return evaluate(labels, alerts, universe=[f"ACC-{i}" for i in range(10)])


def test_to_json_is_sorted_and_rounded() -> None:
    data = sample_evaluation().to_json()
    assert list(data) == sorted(data)
    assert list(data["by_typology"]) == ["anomaly", "mule_account", "structuring"]
    structuring = data["by_typology"]["structuring"]
    assert list(structuring) == ["f1", "fn", "fp", "precision", "recall", "support", "tp"]
    assert structuring["precision"] == 0.5
    assert data["account_level"]["precision"] == 0.5  # A, C of A, C, X, Y
    assert data["account_level"]["recall"] == pytest.approx(0.6667)
    assert data["account_level"]["f1"] == 0.5714
    assert data["alerts"] == 4
    assert data["accounts_evaluated"] == 15
    for scores in [data["account_level"], *data["by_typology"].values()]:
        for key in ("precision", "recall", "f1"):
            assert scores[key] == round(scores[key], 4)


def test_to_json_rounds_every_ratio_to_four_decimals() -> None:
    ev = evaluate(
        {"A": {S}, "B": {S}, "C": {S}}, [make_alert("A"), make_alert("X1"), make_alert("X2")]
    )
    scores = ev.to_json()["by_typology"][S]
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.3333, 0.3333, 0.3333)


def test_write_report_writes_json_and_a_png(tmp_path: Path) -> None:
    ev = sample_evaluation()
    out_json, out_png = tmp_path / "out" / "report.json", tmp_path / "out" / "report.png"
    write_report(ev, out_json, out_png, title="nightly")
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(data) == {"account_level", "accounts_evaluated", "alerts", "by_typology"}
    assert data == ev.to_json()
    png = out_png.read_bytes()
    assert png[:8] == PNG_SIGNATURE
    assert len(png) > 10_000


def test_write_report_png_is_deterministic_and_handles_no_typologies(tmp_path: Path) -> None:
    ev = evaluate({}, [])
    write_report(ev, tmp_path / "a.json", tmp_path / "a.png")
    write_report(ev, tmp_path / "b.json", tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_table_lists_each_typology_with_formatted_numbers() -> None:
    text = sample_evaluation().table()
    lines = text.splitlines()
    assert lines[0].split() == [
        "typology",
        "support",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "F1",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert rows["anomaly"] == ["0", "0", "1", "0", "0.0000", "0.0000", "0.0000"]
    assert rows["mule_account"] == ["1", "1", "0", "0", "1.0000", "1.0000", "1.0000"]
    assert rows["structuring"] == ["2", "1", "1", "1", "0.5000", "0.5000", "0.5000"]
    level = next(line for line in lines if line.startswith("account level"))
    assert level.split()[2:] == ["3", "2", "2", "1", "0.5000", "0.6667", "0.5714"]
    assert lines[-1] == "4 alerts, 3 labelled accounts, 15 accounts evaluated."


def test_table_without_typologies_still_has_the_account_level() -> None:
    text = evaluate({}, []).table()
    assert "(no typology labelled or alerted)" in text
    assert "account level" in text
    assert text.splitlines()[-1] == "0 alerts, 0 labelled accounts."


# --- anomaly scores ----------------------------------------------------------------------------


def anomaly_labels() -> dict[str, set[str]]:
    """P1, P2 anomalies; N1..N3 unlabelled; R1 a rule typology's account (left out of the AUC)."""
    return {"P1": {A}, "P2": {A}, "R1": {S}, "N1": set()}


def test_auc_is_one_for_a_perfect_separation_and_zero_reversed() -> None:
    labels = anomaly_labels()
    perfect = {"P1": 0.99, "P2": 0.98, "N1": 0.5, "N2": 0.4, "N3": 0.1, "R1": 1.0}
    ranking = rank_anomalies(labels, [], perfect)
    assert ranking.roc_auc == 1.0
    assert (ranking.positives, ranking.negatives, ranking.ranked) == (2, 3, 6)
    reversed_ = {"P1": 0.1, "P2": 0.2, "N1": 0.5, "N2": 0.9, "N3": 0.95, "R1": 0.0}
    assert rank_anomalies(labels, [], reversed_).roc_auc == 0.0


def test_auc_is_one_half_for_ties_and_counts_pairs() -> None:
    labels = anomaly_labels()
    ties = {"P1": 0.7, "P2": 0.7, "N1": 0.7, "N2": 0.7, "N3": 0.7}
    assert rank_anomalies(labels, [], ties).roc_auc == 0.5
    # P1 beats all three negatives, P2 beats one and ties one: (3 + 1 + 0.5) / 6
    mixed = {"P1": 0.9, "P2": 0.5, "N1": 0.5, "N2": 0.4, "N3": 0.8}
    assert rank_anomalies(labels, [], mixed).roc_auc == pytest.approx(4.5 / 6)


def test_auc_is_none_without_positives_or_negatives_and_unscored_labels_rank_last() -> None:
    assert rank_anomalies({"N1": set()}, [], {"N1": 0.3}).roc_auc is None
    assert rank_anomalies({"P1": {A}}, [], {"P1": 0.3}).roc_auc is None
    ranking = rank_anomalies({"P1": {A}}, [], {"N1": 0.3})  # P1 never scored: 0
    assert ranking.roc_auc == 0.0
    assert ranking.ranked == 2


def test_top_percentile_counts_each_rule_typology() -> None:
    # 300 accounts: the top 1 % is the 3 highest scores
    scores = {f"N{i:03d}": i / 1000 for i in range(290)}
    scores |= {"C1": 0.999, "C2": 0.998, "C3": 0.2, "S1": 0.997, "S2": 0.1}
    scores |= {f"P{i}": 0.5 for i in range(5)}
    labels: dict[str, set[str]] = {"C1": {C}, "C2": {C, S}, "C3": {C}, "S1": {S}, "S2": {S}}
    labels |= {f"P{i}": {A} for i in range(5)}
    ranking = rank_anomalies(labels, [], scores)
    assert ranking.ranked == 300
    assert ranking.top_cutoff == 0.997
    assert ranking.top_accounts == 3
    assert ranking.top_by_typology == {
        C: TopCount(labelled=3, in_top=2),
        S: TopCount(labelled=3, in_top=2),
    }
    assert ranking.top_by_typology[C].share == pytest.approx(2 / 3)
    assert A not in ranking.top_by_typology


def test_top_percentile_includes_ties_at_the_cutoff() -> None:
    scores = {f"N{i}": 0.1 for i in range(97)} | {"X": 1.0, "Y": 1.0, "Z": 1.0}
    ranking = rank_anomalies({"Y": {S}}, [], scores)
    assert ranking.top_cutoff == 1.0
    assert ranking.top_accounts == 3  # 1 % of 100 is one account; all three tie at the top
    assert ranking.top_by_typology == {S: TopCount(labelled=1, in_top=1)}


def test_anomaly_alerts_are_split_by_whom_they_fall_on() -> None:
    alerts = [
        make_alert("P1", Typology.ANOMALY),
        make_alert("N1", Typology.ANOMALY),
        make_alert("X9", Typology.ANOMALY),  # in no label: unlabelled too
        make_alert("R1", Typology.ANOMALY, Typology.STRUCTURING),
        make_alert("R1", Typology.STRUCTURING, alert_id="r1-s"),
        make_alert("P2", Typology.STRUCTURING),  # not an anomaly alert
    ]
    ranking = rank_anomalies(anomaly_labels(), alerts, {"P1": 0.9, "N1": 0.2})
    assert ranking.alerted == 4
    assert (
        ranking.alerted_labelled,
        ranking.alerted_unlabelled,
        ranking.alerted_rule_labelled,
    ) == (1, 2, 1)


def test_evaluate_with_scores_adds_the_anomaly_report() -> None:
    labels = anomaly_labels()
    alerts = [make_alert("P1", Typology.ANOMALY), make_alert("R1")]
    scores = {"P1": 0.99, "P2": 0.98, "N1": 0.5, "R1": 0.2}
    ev = evaluate(labels, alerts, scores=scores)
    assert ev.anomaly is not None and ev.anomaly.roc_auc == 1.0
    assert ev.by_typology[A].tp == 1 and ev.by_typology[A].fn == 1  # at the threshold
    data = ev.to_json()
    assert list(data) == sorted(data)
    anomaly = data["anomaly"]
    assert anomaly["roc_auc"] == 1.0
    assert anomaly["positives"] == 2 and anomaly["negatives"] == 1
    assert anomaly["top_percentile"]["share"] == 0.01
    assert anomaly["top_percentile"]["accounts"] == 1
    assert anomaly["top_percentile"]["by_typology"] == {
        S: {"in_top": 0, "labelled": 1, "share": 0.0}
    }
    assert anomaly["alerted_accounts"] == {
        "anomaly_labelled": 1,
        "rule_labelled_only": 0,
        "total": 1,
        "unlabelled": 0,
    }
    text = ev.table()
    assert "ROC-AUC 1.0000 (2 anomaly accounts vs 1 unlabelled accounts)" in text
    assert "top 1 %: 1 accounts scoring at least 0.990000" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(S)]
    assert rows[-1] == [S, "1", "0", "0.0000"]  # the top-percentile row, after the table's
    assert "anomaly" not in evaluate(labels, alerts).to_json()
    assert "ROC-AUC" not in evaluate(labels, alerts).table()


def test_write_report_with_scores_draws_a_roc_panel(tmp_path: Path) -> None:
    labels = anomaly_labels()
    scores = {"P1": 0.99, "P2": 0.6, "N1": 0.7, "N2": 0.2, "R1": 0.1}
    ev = evaluate(labels, [make_alert("P1", Typology.ANOMALY)], scores=scores)
    assert ev.anomaly is not None and ev.anomaly.curve[0]
    write_report(ev, tmp_path / "a.json", tmp_path / "a.png")
    write_report(ev, tmp_path / "b.json", tmp_path / "b.png")
    plain = evaluate(labels, [make_alert("P1", Typology.ANOMALY)])
    write_report(plain, tmp_path / "c.json", tmp_path / "c.png")
    png = (tmp_path / "a.png").read_bytes()
    assert png[:8] == PNG_SIGNATURE
    assert png == (tmp_path / "b.png").read_bytes()
    # the ROC panel makes the chart wider
    width = int.from_bytes(png[16:20], "big")
    assert width > int.from_bytes((tmp_path / "c.png").read_bytes()[16:20], "big")
    assert json.loads((tmp_path / "a.json").read_text())["anomaly"]["roc_auc"] == 0.75


def write_scores(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"account_id": a, "event_id": e, "score": s}) + "\n" for a, e, s in rows
        ),
        encoding="utf-8",
    )
    return path


def test_load_scores_keeps_each_accounts_highest_and_skips_derived_only_accounts(
    tmp_path: Path,
) -> None:
    path = write_scores(
        tmp_path / "scores.jsonl",
        [
            ("A", "tx-1", 0.2),
            ("A", "tx-2", 0.9),
            ("A", "tx-3~payee", 0.95),  # a leg derived for A counts towards A
            ("B", "tx-4", 0.4),
            ("EXT-MA-1", "tx-5~payee", 0.99),  # another bank's account, seen only as payee
        ],
    )
    assert load_scores(path) == {"A": 0.95, "B": 0.4}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"account_id": "A"}', "line 2: expected an object"),
        ('{"account_id": 7, "score": 0.5}', "line 2: expected an object"),
        ('{"account_id": "A", "score": 1.5}', "line 2: expected an object"),
        ('{"account_id": "A", "score": true}', "line 2: expected an object"),
        ("[0.5]", "line 2: expected an object"),
    ],
)
def test_load_scores_rejects_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "scores.jsonl"
    path.write_text(f'{{"account_id": "A", "event_id": "e", "score": 0.1}}\n{line}\n\n')
    with pytest.raises(ValueError, match=message):
        load_scores(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_scores(tmp_path / "missing.jsonl")


def test_cli_evaluate_with_scores(tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"P1": [A], "P2": [A], "R1": [S], "R2": [C]}))
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(
        make_alert("R1").model_dump_json()
        + "\n"
        + make_alert("R2", Typology.CARD_TESTING).model_dump_json()
        + "\n"
        + make_alert("P1", Typology.ANOMALY).model_dump_json()
        + "\n"
        + make_alert("N7", Typology.ANOMALY).model_dump_json()
        + "\n"
    )
    rows = [(f"N{i}", f"tx-n{i}", i / 200) for i in range(100)]
    rows += [("P1", "tx-p1", 0.999), ("P2", "tx-p2", 0.97), ("R1", "tx-r1", 0.1)]
    rows += [("R2", "tx-r2", 0.998), ("EXT-1", "tx-x~payee", 1.0)]
    scores = write_scores(tmp_path / "scores.jsonl", rows)
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--labels",
            str(labels),
            "--alerts",
            str(alerts),
            "--scores",
            str(scores),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ROC-AUC 1.0000 (2 anomaly accounts vs 100 unlabelled accounts)" in result.output
    assert "anomaly alerts on 2 accounts: 1 labelled anomaly, 1 unlabelled" in result.output
    report = json.loads((out / "report.json").read_text())
    top = report["anomaly"]["top_percentile"]
    assert report["anomaly"]["ranked_accounts"] == 104  # not EXT-1
    assert top["accounts"] == 2  # ceil(1.04): P1 and R2
    assert top["by_typology"] == {
        C: {"in_top": 1, "labelled": 1, "share": 1.0},
        S: {"in_top": 0, "labelled": 1, "share": 0.0},
    }
    assert report["by_typology"][A]["tp"] == 1
    assert (out / "report.png").read_bytes()[:8] == PNG_SIGNATURE

    plain = CliRunner().invoke(
        main, ["evaluate", "--labels", str(labels), "--alerts", str(alerts), "--out", str(out)]
    )
    assert plain.exit_code == 0, plain.output
    assert "ROC-AUC" not in plain.output
    assert "anomaly" not in json.loads((out / "report.json").read_text())

    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    failed = CliRunner().invoke(
        main,
        ["evaluate", "--labels", str(labels), "--alerts", str(alerts), "--scores", str(bad)],
    )
    assert failed.exit_code == 2
    assert "line 1: not valid JSON" in failed.output
