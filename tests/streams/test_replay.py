"""Offline replay (`txmon replay`, `streams.replay.replay_files`) over small JSONL files."""

from __future__ import annotations

import io
import json
import os
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import streams.replay as replay_module
from detectors import DetectorParams, PolicyParams
from detectors.structuring import StructuringParams
from models import Alert, Typology
from streams.cli import main
from streams.replay import replay_files
from tests.factories import (
    T0,
    account_event_payload,
    indicator_payload,
    jsonl,
    txn_payload,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

BAD_JSON_LINE = '{"event_id": "broken", "amount": \n'
SCHEMA_INVALID = txn_payload(event_id="neg-1", account_id="ACC-O", amount="-5",
                             occurred_at=T0 + 4 * HOUR)


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """`txmon replay` reads TXMON_* settings: make sure the developer's shell does not leak in."""
    for name in list(os.environ):
        if name.startswith("TXMON_"):
            monkeypatch.delenv(name)


def structuring_deposits(account: str = "ACC-S", start: timedelta = timedelta(0),
                         prefix: str = "s") -> list[dict[str, Any]]:
    return [txn_payload(event_id=f"{prefix}-{i}", account_id=account, kind="cash_deposit",
                        amount=amount, occurred_at=T0 + start + i * DAY)
            for i, amount in enumerate(["95000.00", "97000.00", "99000.00"])]


def transaction_lines() -> list[str]:
    """One structuring account, an ordinary account, a transfer reported by both banks and
    two lines the worker would dead-letter; every valid event at a distinct event time."""
    payloads = structuring_deposits() + [
        txn_payload(event_id="o-card", account_id="ACC-O", kind="card_payment",
                    amount="350.00", occurred_at=T0 + HOUR),
        txn_payload(event_id="o-atm", account_id="ACC-O", kind="cash_withdrawal",
                    amount="2000.00", occurred_at=T0 + 3 * HOUR),
        txn_payload(event_id="x-out", account_id="ACC-O", kind="transfer", direction="out",
                    amount="12000.00", occurred_at=T0 + 5 * HOUR,
                    counterparty={"account_id": "ACC-P", "bank": "BNK-P"}),
        txn_payload(event_id="p-in", account_id="ACC-P", kind="transfer", direction="in",
                    amount="12000", occurred_at=T0 + 5 * HOUR + timedelta(minutes=2),
                    counterparty={"account_id": "ACC-O"}),
    ]
    lines = jsonl(payloads).splitlines(keepends=True)
    lines.insert(4, BAD_JSON_LINE)
    lines.insert(6, jsonl([SCHEMA_INVALID]))
    return lines


def account_lines() -> list[str]:
    return jsonl([
        account_event_payload(event_id="a-open", account_id="ACC-S", kind="opened",
                              occurred_at=T0 - DAY),
        account_event_payload(event_id="a-login", account_id="ACC-O", kind="login",
                              occurred_at=T0 + 2 * HOUR),
    ]).splitlines(keepends=True)


def indicator_lines() -> list[str]:
    return jsonl([indicator_payload(indicator_id="i-1", value="+212600000099",
                                    observed_at=T0 + HOUR / 2)]).splitlines(keepends=True)


@dataclass
class Inputs:
    transactions: Path
    accounts: Path
    indicators: Path

    def cli_args(self, out: Path | str) -> list[str]:
        return ["replay", "--transactions", str(self.transactions), "--accounts",
                str(self.accounts), "--indicators", str(self.indicators), "--out", str(out),
                "--no-progress"]


def write_inputs(directory: Path, shuffle_seed: int | None = None) -> Inputs:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"transactions": transaction_lines(), "accounts": account_lines(),
             "indicators": indicator_lines()}
    paths = {}
    for name, lines in files.items():
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(lines)
        paths[name] = directory / f"{name}.jsonl"
        paths[name].write_text("".join(lines), encoding="utf-8")
    return Inputs(**paths)


def run_cli(inputs: Inputs, out: Path) -> tuple[bytes, str]:
    result = CliRunner().invoke(main, inputs.cli_args(out))
    assert result.exit_code == 0, result.output
    return out.read_bytes(), result.stderr


# --- through the CLI ----------------------------------------------------------------------


def test_cli_replay_writes_one_structuring_alert(tmp_path: Path) -> None:
    output, _ = run_cli(write_inputs(tmp_path / "in"), tmp_path / "alerts.jsonl")
    lines = output.decode().splitlines()
    assert len(lines) == 1
    alert = Alert.model_validate_json(lines[0])
    assert alert.account_id == "ACC-S"
    assert alert.typologies == [Typology.STRUCTURING]
    assert alert.transaction_ids == ["s-0", "s-1", "s-2"]
    assert alert.created_at == T0 + 2 * DAY


def test_cli_replay_counts_invalid_lines_without_failing(tmp_path: Path) -> None:
    _, stderr = run_cli(write_inputs(tmp_path / "in"), tmp_path / "alerts.jsonl")
    assert "12 lines read, 10 accepted, 2 invalid" in stderr
    assert "1 alerts" in stderr
    assert "By typology: structuring 1." in stderr
    assert "transactions.jsonl:5: the value is not valid JSON" in stderr
    assert "transactions.jsonl:7: amount: " in stderr


def test_cli_replay_output_is_byte_identical_on_two_runs(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in")
    first, _ = run_cli(inputs, tmp_path / "first.jsonl")
    second, _ = run_cli(inputs, tmp_path / "second.jsonl")
    assert first and first == second


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cli_replay_output_does_not_depend_on_line_order(tmp_path: Path, seed: int) -> None:
    ordered_inputs = write_inputs(tmp_path / "ordered")
    shuffled_inputs = write_inputs(tmp_path / "shuffled", shuffle_seed=seed)
    assert shuffled_inputs.transactions.read_text() != ordered_inputs.transactions.read_text()
    ordered, _ = run_cli(ordered_inputs, tmp_path / "ordered.jsonl")
    shuffled, _ = run_cli(shuffled_inputs, tmp_path / "shuffled.jsonl")
    assert shuffled == ordered


def test_cli_replay_to_stdout(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in")
    to_file, _ = run_cli(inputs, tmp_path / "alerts.jsonl")
    result = CliRunner().invoke(main, inputs.cli_args("-"))
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == to_file


def test_cli_replay_honours_detector_settings(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXMON_DETECTORS__STRUCTURING__MIN_COUNT", "4")
    output, stderr = run_cli(write_inputs(tmp_path / "in"), tmp_path / "alerts.jsonl")
    assert output == b""
    assert "0 alerts" in stderr


# --- through replay_files -----------------------------------------------------------------


def test_replay_files_report(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in")
    out = io.BytesIO()
    alerts, report = replay_files(inputs.transactions, inputs.accounts, inputs.indicators, out)
    assert len(alerts) == 1
    assert out.getvalue() == alerts[0].model_dump_json().encode() + b"\n"
    assert report.lines == 12
    assert dict(report.accepted) == {"transactions": 7, "accounts": 2, "indicators": 1}
    assert dict(report.invalid) == {"transactions/bad_json": 1, "transactions/schema": 1}
    # 7 transactions + the payee leg of x-out + 2 account events, minus p-in counted once
    assert dict(report.outcomes) == {"assessed": 9, "duplicate_leg": 1}
    assert dict(report.alerts) == {"structuring": 1}


def test_payee_leg_of_a_transfer_out_is_assessed_on_the_beneficiary(tmp_path: Path) -> None:
    path = tmp_path / "transactions.jsonl"
    path.write_text(jsonl([txn_payload(event_id="x-out", account_id="ACC-O", kind="transfer",
                                       direction="out", amount="12000.00",
                                       counterparty={"account_id": "ACC-P"})]))
    _, report = replay_files(path)
    assert dict(report.outcomes) == {"assessed": 2}  # the payer's event and the payee leg


def test_structuring_of_a_beneficiary_is_not_seen_through_transfers(tmp_path: Path) -> None:
    """Payee legs are transfers, not cash: three near-threshold transfers in are no structuring."""
    path = tmp_path / "transactions.jsonl"
    path.write_text(jsonl([
        txn_payload(event_id=f"x-{i}", account_id=f"ACC-{i}", kind="transfer", direction="out",
                    amount="95000.00", occurred_at=T0 + i * HOUR,
                    counterparty={"account_id": "ACC-P"}) for i in range(3)]))
    alerts, report = replay_files(path)
    assert alerts == []
    assert report.outcomes["assessed"] == 6


def test_redelivered_lines_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "transactions.jsonl"
    deposits = structuring_deposits()
    path.write_text(jsonl(deposits + deposits))
    alerts, report = replay_files(path)
    assert len(alerts) == 1
    assert report.outcomes["duplicate"] == 3
    assert "3 duplicate event ids ignored" in report.summary()


def test_blank_lines_are_skipped_and_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "transactions.jsonl"
    path.write_text("\n" + jsonl(structuring_deposits()) + "\n   \n")
    alerts, report = replay_files(path)
    assert report.lines == 3
    assert len(alerts) == 1


def test_replay_files_accepts_detector_and_policy_params(tmp_path: Path) -> None:
    path = tmp_path / "transactions.jsonl"
    path.write_text(jsonl(structuring_deposits()))
    strict = DetectorParams(structuring=StructuringParams(min_count=4))
    assert replay_files(path, detectors_params=strict)[0] == []
    assert replay_files(path, policy_params=PolicyParams(min_alert_score=0.99))[0] == []
    assert len(replay_files(path)[0]) == 1


# --- merge order --------------------------------------------------------------------------


def spy_on_replay(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the events `replay_files` hands to `replay`, in the order it hands them."""
    seen: list[Any] = []
    original = replay_module.replay

    def spy(items: Any, **kwargs: Any) -> list[Alert]:
        items = list(items)
        seen.extend(items)
        return original(items, **kwargs)

    monkeypatch.setattr(replay_module, "replay", spy)
    return seen


def event_id(event: Any) -> str:
    return getattr(event, "event_id", None) or event.indicator_id


def test_events_are_merged_across_files_in_event_time_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy_on_replay(monkeypatch)
    inputs = write_inputs(tmp_path / "in", shuffle_seed=5)
    replay_files(inputs.transactions, inputs.accounts, inputs.indicators)
    assert [event_id(e) for e in seen] == [
        "a-open",   # T0 - 1 day   (accounts)
        "s-0",      # T0           (transactions)
        "i-1",      # T0 + 30 min  (indicators)
        "o-card",   # T0 + 1 h
        "a-login",  # T0 + 2 h     (accounts)
        "o-atm",    # T0 + 3 h
        "x-out",    # T0 + 5 h
        "p-in",     # T0 + 5 h 2 min
        "s-1",      # T0 + 1 day
        "s-2",      # T0 + 2 days
    ]


def test_ties_in_event_time_keep_file_order_then_line_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spy_on_replay(monkeypatch)
    txns, accounts, indicators = (tmp_path / "t.jsonl", tmp_path / "a.jsonl",
                                  tmp_path / "i.jsonl")
    indicators.write_text(jsonl([indicator_payload(indicator_id="i-1", observed_at=T0)]))
    accounts.write_text(jsonl([account_event_payload(event_id="a-1", occurred_at=T0)]))
    txns.write_text(jsonl([txn_payload(event_id="t-2", occurred_at=T0),
                           txn_payload(event_id="t-1", occurred_at=T0)]))
    replay_files(txns, accounts, indicators)
    assert [event_id(e) for e in seen] == ["t-2", "t-1", "a-1", "i-1"]


def test_alerts_are_written_in_event_time_order_not_file_order(tmp_path: Path) -> None:
    path = tmp_path / "transactions.jsonl"
    late = structuring_deposits("ACC-LATE", start=10 * DAY, prefix="late")
    early = structuring_deposits("ACC-EARLY", start=timedelta(0), prefix="early")
    path.write_text(jsonl(late + early))
    out = io.BytesIO()
    replay_files(path, out=out)
    accounts = [json.loads(line)["account_id"] for line in out.getvalue().splitlines()]
    assert accounts == ["ACC-EARLY", "ACC-LATE"]
