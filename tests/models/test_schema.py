"""The published JSON Schemas (`models/schemas/`) must be exactly what the models say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import Field

from models import schema as schema_module
from models.events import Transaction
from models.schema import CONTRACTS, SCHEMA_DIR, render_schemas
from streams.cli import main

CONTRACT_TOPICS = ["transactions", "accounts", "osint.indicators", "fiu.alerts", "monitor.dlq"]


def stale_schemas(directory: Path) -> list[str]:
    """Names of schema files in `directory` that are missing or differ from the models."""
    return [name for name, text in render_schemas().items()
            if not (directory / name).is_file()
            or (directory / name).read_text(encoding="utf-8") != text]


def test_committed_schemas_match_the_models() -> None:
    stale = stale_schemas(SCHEMA_DIR)
    assert not stale, (
        f"models/schemas/ is out of date for {', '.join(stale)}: the models changed. "
        "Run `txmon schema` (or `make schema`), review the diff and commit it; a renamed or "
        "retyped field also needs a new schema_version (see spec/contracts.md)."
    )


def test_no_stray_files_in_the_schema_directory() -> None:
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == set(render_schemas())


def test_every_contract_topic_has_a_schema() -> None:
    assert list(CONTRACTS) == CONTRACT_TOPICS
    assert set(render_schemas()) == {f"{t}.schema.json" for t in CONTRACT_TOPICS}


def test_rendering_is_deterministic_and_newline_terminated() -> None:
    first, second = render_schemas(), render_schemas()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert json.loads(text)["$id"].startswith("urn:txmon:contract:")


def test_a_changed_model_would_be_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    class TransactionWithNewField(Transaction):
        merchant_risk: str | None = Field(default=None)

    contracts = dict(CONTRACTS)
    contracts["transactions"] = (TransactionWithNewField, "validation")
    monkeypatch.setattr(schema_module, "CONTRACTS", contracts)
    assert stale_schemas(SCHEMA_DIR) == ["transactions.schema.json"]


@pytest.mark.parametrize(
    ("topic", "required"),
    [
        ("transactions", ["event_id", "occurred_at", "account_id", "kind", "direction", "amount",
                          "currency"]),
        ("accounts", ["event_id", "occurred_at", "account_id", "kind"]),
        ("osint.indicators", ["indicator_id", "observed_at", "type", "value", "typology",
                              "source"]),
    ],
)
def test_published_required_fields_match_the_contract_table(topic: str,
                                                            required: list[str]) -> None:
    schema = json.loads(render_schemas()[f"{topic}.schema.json"])
    assert sorted(schema["required"]) == sorted(required)


def test_published_amount_accepts_number_or_string() -> None:
    amount = json.loads(render_schemas()["transactions.schema.json"])["properties"]["amount"]
    assert {variant["type"] for variant in amount["anyOf"]} == {"number", "string"}


# --- `txmon schema --check` ---------------------------------------------------------------


def test_cli_check_passes_on_a_fresh_write_and_fails_after_an_edit(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(main, ["schema", "--out", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert {p.name for p in tmp_path.iterdir()} == set(render_schemas())

    fresh = runner.invoke(main, ["schema", "--check", "--out", str(tmp_path)])
    assert fresh.exit_code == 0, fresh.output
    assert "up to date" in fresh.output

    edited = tmp_path / "fiu.alerts.schema.json"
    schema = json.loads(edited.read_text(encoding="utf-8"))
    schema["properties"].pop("severity")
    edited.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    stale = runner.invoke(main, ["schema", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1
    assert "fiu.alerts.schema.json" in stale.stderr
    assert "txmon schema" in stale.stderr
    assert "transactions.schema.json" not in stale.stderr


def test_cli_check_fails_when_a_schema_file_is_missing(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["schema", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "monitor.dlq.schema.json").unlink()
    result = runner.invoke(main, ["schema", "--check", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "monitor.dlq.schema.json" in result.stderr


def test_cli_check_against_the_committed_directory_passes() -> None:
    result = CliRunner().invoke(main, ["schema", "--check"])
    assert result.exit_code == 0, result.stderr
