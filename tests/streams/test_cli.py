"""What a person sees from the `txmon` command when something is wrong: one sentence, exit 2."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from streams.cli import main


def test_invalid_setting_is_one_sentence_naming_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("TXMON_TOPICS__PARTITIONS", "zero")
    result = CliRunner().invoke(main, ["topics"])
    assert result.exit_code == 2
    assert "TXMON_TOPICS__PARTITIONS" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_broker_on_a_busy_port_is_one_sentence() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["broker", "--port", str(port)])
    assert result.exit_code == 2
    assert f"Port {port}" in result.output and "already in use" in result.output
    assert "Traceback" not in result.output


def test_simulate_without_a_destination_says_where_to_send_it() -> None:
    result = CliRunner().invoke(main, ["simulate", "--accounts", "10"])
    assert result.exit_code == 2
    assert "--out DIR" in result.output


def test_simulate_writes_the_three_inputs_and_labels(tmp_path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--accounts", "60", "--days", "20",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("transactions.jsonl", "accounts.jsonl", "indicators.jsonl", "labels.json"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_a_missing_reference_file_is_one_sentence(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TXMON_REFERENCE__FATF_LISTS", str(tmp_path / "fatf_2025-02.csv"))
    txns = tmp_path / "t.jsonl"
    txns.write_text("")
    result = CliRunner().invoke(main, ["replay", "--transactions", str(txns), "--out", "-"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "TXMON_REFERENCE__FATF_LISTS" in result.output and "does not exist" in result.output


def test_a_malformed_reference_file_is_one_sentence(monkeypatch, tmp_path) -> None:
    bad = tmp_path / "mcc.csv"
    bad.write_text("this,is\nnot,a,list\n")
    monkeypatch.setenv("TXMON_REFERENCE__MCC_GROUPS", str(bad))
    txns = tmp_path / "t.jsonl"
    txns.write_text("")
    result = CliRunner().invoke(main, ["replay", "--transactions", str(txns), "--out", "-"])
    assert result.exit_code == 2
    assert result.output.startswith("txmon: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output
