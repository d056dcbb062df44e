"""The IBM AMLworld converter of `benchmarks/external_ibm.py`: parsing, mapping, account ids."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pycountry
import pytest

from models import Rejection, Transaction, decode

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "external_ibm", ROOT / "benchmarks" / "external_ibm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("external_ibm", module)
    spec.loader.exec_module(module)
    return module


ibm = _load()

BLOCKS = """\
BEGIN LAUNDERING ATTEMPT - FAN-OUT:  Max 2-degree Fan-Out
2022/09/01 00:06,021174,800737690,012,80011F990,2848.96,Euro,2848.96,Euro,ACH,1
2022/09/01 04:33,021174,800737690,0012,80020C5B0,8630.40,US Dollar,8630.40,US Dollar,ACH,1
END LAUNDERING ATTEMPT - FAN-OUT

BEGIN LAUNDERING ATTEMPT - STACK
2022/09/09 12:00,001024,800963A91,0225,8000E43B1,0.37,Bitcoin,0.37,Bitcoin,Bitcoin,1
2022/09/09 12:00,0225,8000E43B1,0225,8000E43B1,100.00,Yen,100.00,Yen,ACH,1
END LAUNDERING ATTEMPT - STACK
"""


def _validates(message: dict[str, Any]) -> Transaction:
    """As the worker would: JSON bytes on the `transactions` topic, keyed by account_id."""
    result = decode(Transaction, json.dumps(message).encode(), message["account_id"])
    assert not isinstance(result, Rejection), result
    return result


def test_blocks_parse_into_attempts_with_stable_account_ids() -> None:
    attempts = ibm.parse_patterns(BLOCKS.splitlines())
    assert [(a.attempt_id, a.typology, a.qualifier, len(a.rows)) for a in attempts] == [
        (0, "FAN-OUT", "Max 2-degree Fan-Out", 2),
        (1, "STACK", "", 2),
    ]
    first = attempts[0].rows[0]
    assert first.at == datetime(2022, 9, 1, 0, 6, tzinfo=UTC)
    assert (first.payer, first.payee) == ("IBM-21174-800737690", "IBM-12-80011F990")
    # "012" and "0012" are one bank number, written with different zero padding
    assert attempts[0].rows[1].payee == "IBM-12-80020C5B0"
    assert attempts[0].accounts == {"IBM-21174-800737690", "IBM-12-80011F990",
                                    "IBM-12-80020C5B0"}
    assert first.amount_paid == Decimal("2848.96") and first.payment_currency == "Euro"
    assert [r.ref for a in attempts for r in a.rows] == ["p0-0", "p0-1", "p1-0", "p1-1"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("2022/09/01 00:06,01,8A,02,8B,1.00,Euro,1.00,Euro,ACH,1", "outside an attempt"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\nEND LAUNDERING ATTEMPT - FAN-IN", "matching BEGIN"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\n"
         "2022/09/01 00:06,01,8A,02,8B,1.00,Euro,1.00,Euro,ACH,1", "no END"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\n"
         "2022/09/01 00:06,01,8A,02,8B,1.00,Dinar,1.00,Dinar,ACH,1", "unknown currency"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\n"
         "2022/09/01 00:06,01,8A,02,8B,0.00,Euro,0.00,Euro,ACH,1", "not positive"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\n"
         "01/09/2022 00:06,01,8A,02,8B,1.00,Euro,1.00,Euro,ACH,1", "timestamp"),
        ("BEGIN LAUNDERING ATTEMPT - CYCLE\n"
         "2022/09/01 00:06,01,8A,02,8B,1.00,Euro,1.00,Euro,ACH,0", "labelled 0"),
    ],
)
def test_malformed_blocks_are_rejected_with_the_line(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as info:
        ibm.parse_patterns(text.splitlines(), "x.txt")
    assert str(info.value).startswith("x.txt:")


def test_transfer_is_the_payers_out_with_the_payee_as_counterparty() -> None:
    row = ibm.parse_patterns(BLOCKS.splitlines())[0].rows[0]
    native = ibm.to_messages(row, "native")
    assert native.skipped is None and len(native.messages) == 1
    out = _validates(native.messages[0])
    assert (out.kind.value, out.direction.value, out.account_id) == (
        "transfer", "out", "IBM-21174-800737690")
    assert (out.amount, out.currency, out.institution) == (
        Decimal("2848.96"), "EUR", "IBM-BANK-21174")
    assert out.counterparty is not None
    assert (out.counterparty.account_id, out.counterparty.bank) == (
        "IBM-12-80011F990", "IBM-BANK-12")
    assert out.occurred_at == datetime(2022, 9, 1, 0, 6, tzinfo=UTC)

    both = ibm.to_messages(row, "MAD", payee_reports=True).messages
    assert [m["event_id"] for m in both] == ["ibm-hi-small-p0-0", "ibm-hi-small-p0-0-in"]
    out, payee = (_validates(m) for m in both)
    # 2848.96 EUR x 0.999 USD/EUR x 10.5 MAD/USD
    assert out.amount == payee.amount == Decimal("29884.17") and out.currency == "MAD"
    assert (payee.account_id, payee.direction.value) == ("IBM-12-80011F990", "in")
    assert payee.counterparty is not None
    assert payee.counterparty.account_id == "IBM-21174-800737690"


def test_bitcoin_has_no_iso_code_and_is_valued_only_in_mad() -> None:
    stack = ibm.parse_patterns(BLOCKS.splitlines())[1]
    bitcoin, own = stack.rows
    assert ibm.to_messages(bitcoin, "native") == ibm.Conversion([], ibm.SKIP_NO_ISO)
    (message,) = ibm.to_messages(bitcoin, "MAD").messages
    assert _validates(message).amount == Decimal("77496.62")  # 0.37 x 19,947.65 x 10.5
    # an ACH payment to the account itself stays a transfer (txmon derives no payee leg)
    (message,) = ibm.to_messages(own, "native", payee_reports=True).messages
    txn = _validates(message)
    assert txn.counterparty is not None and txn.counterparty.account_id == txn.account_id
    assert txn.currency == "JPY"


def _row(fmt: str, to: str = "8B", currency: str = "US Dollar") -> Any:
    fields = f"2022/09/01 00:20,010,8A,011,{to},950.00,{currency},950.00,{currency},{fmt},0"
    if to == "8A":
        fields = fields.replace(",011,", ",010,")
    return ibm.parse_row(fields.split(","), "bg7")


def test_cash_card_and_reinvestment_mapping() -> None:
    withdrawal, deposit = (_validates(m) for m in ibm.to_messages(_row("Cash"), "MAD").messages)
    assert (withdrawal.kind.value, withdrawal.direction.value, withdrawal.account_id) == (
        "cash_withdrawal", "out", "IBM-10-8A")
    assert (deposit.kind.value, deposit.direction.value, deposit.account_id) == (
        "cash_deposit", "in", "IBM-11-8B")
    assert withdrawal.amount == deposit.amount == Decimal("9975.00")

    (card,) = (_validates(m) for m in ibm.to_messages(_row("Credit Card"), "native").messages)
    assert (card.kind.value, card.direction.value, card.currency) == ("card_payment", "out", "USD")
    assert card.card is not None and card.card.card_id == "IBM-CARD-10-8A"
    assert card.merchant is not None and card.merchant.merchant_id == "IBM-11-8B"

    for fmt in ("Wire", "Cheque"):
        (wire,) = ibm.to_messages(_row(fmt), "native").messages
        assert _validates(wire).kind.value == "transfer"

    assert ibm.to_messages(_row("Reinvestment", to="8A"), "MAD").skipped == ibm.SKIP_REINVESTMENT
    assert ibm.to_messages(_row("Cash", to="8A"), "MAD").skipped == ibm.SKIP_OWN_CASH
    assert ibm.to_messages(_row("Credit Card", to="8A"), "MAD").skipped == ibm.SKIP_OWN_CARD


def test_currency_tables_cover_every_ibm_currency() -> None:
    assert set(ibm.USD_PER_UNIT) == set(ibm.ISO_4217)
    codes = {c for c in ibm.ISO_4217.values() if c is not None}
    assert len(codes) == 14 and codes <= {c.alpha_3 for c in pycountry.currencies}
    assert ibm.ISO_4217["Bitcoin"] is None
    assert ibm.money(Decimal("100"), "US Dollar", "MAD") == (Decimal("1050.00"), "MAD")
    assert ibm.money(Decimal("100"), "Yen", "native") == (Decimal("100"), "JPY")


def test_convert_orders_by_event_time_then_file_order() -> None:
    attempts = ibm.parse_patterns(BLOCKS.splitlines())
    late, early = attempts[0].rows[1], attempts[1].rows[0]
    converted = ibm.convert([late, early, *attempts[1].rows[1:]], "native")
    assert [e.event_id for e in converted.events] == ["ibm-hi-small-p0-1", "ibm-hi-small-p1-1"]
    assert converted.skipped == Counter({ibm.SKIP_NO_ISO: 1})
    assert converted.event_ids["p1-0"] == []


def test_the_copied_answer_key_matches_its_flat_csv_and_the_readme() -> None:
    attempts = ibm.read_patterns()
    counts = Counter(a.typology for a in attempts)
    txns: Counter[str] = Counter()
    for a in attempts:
        txns[a.typology] += len(a.rows)
    assert len(attempts) == 370 and sum(txns.values()) == 3209
    assert counts == {"GATHER-SCATTER": 51, "SCATTER-GATHER": 44, "STACK": 43, "FAN-OUT": 48,
                      "FAN-IN": 40, "CYCLE": 54, "BIPARTITE": 49, "RANDOM": 41}
    assert txns == {"GATHER-SCATTER": 716, "SCATTER-GATHER": 626, "STACK": 466, "FAN-OUT": 342,
                    "FAN-IN": 318, "CYCLE": 287, "BIPARTITE": 263, "RANDOM": 191}
    with (ibm.DATA / "HI-Small_Patterns_flat.csv").open(newline="") as handle:
        flat = list(csv.reader(handle))[1:]
    parsed = [(a.attempt_id, a.typology, a.qualifier, r) for a in attempts for r in a.rows]
    assert len(flat) == len(parsed)
    for line, (attempt_id, typology, qualifier, row) in zip(flat, parsed, strict=True):
        assert (int(line[0]), line[1], line[2]) == (attempt_id, typology, qualifier)
        assert (row.payer, row.payee) == (ibm.account_id(line[4], line[5]),
                                          ibm.account_id(line[6], line[7]))
        assert (row.amount_paid, row.payment_currency) == (Decimal(line[10]), line[11])
        assert row.at.strftime(ibm.TIME_FORMAT) == line[3]


def test_every_converted_message_validates() -> None:
    rows = [r for a in ibm.read_patterns() for r in a.rows] + ibm.read_background()
    for mode in ibm.MODES:
        ids = set()
        for row in rows:
            for message in ibm.to_messages(row, mode, payee_reports=True).messages:
                assert message["event_id"] not in ids
                ids.add(message["event_id"])
                Transaction.model_validate(message)
        assert len(ids) > 6000
