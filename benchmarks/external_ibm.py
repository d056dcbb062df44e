"""External-data benchmark: IBM AMLworld HI-Small laundering patterns through txmon's rules.

    .venv/bin/python benchmarks/external_ibm.py [--as-currency native|MAD|both]
        [--no-background] [--payee-reports] [--out PATH]

Data: the answer key of IBM's AMLworld HI-Small set (`HI-Small_Patterns.txt`, 370 laundering
attempts, 3,209 transactions, 8 typologies), plus the first 1,000 rows of its transaction file
(`HI-Small_Trans_first1000_processed.csv`, label 0) as a little unlabelled background. Both are
copied into benchmarks/data/ibm_amlworld/ (see ORIGIN.md there); nothing reads ../shared.

Conversion (one AMLworld row -> contract `transactions` messages; see `to_messages`):

- Accounts are (bank, account) pairs: account_id `IBM-<bank>-<account>`, the bank number
  without leading zeros (the raw file writes bank 12 as `012` and as `0012`; the processed
  background files write `12`); institution `IBM-BANK-<bank>`.
- ACH, Wire, Cheque (and Bitcoin, when it can be valued): ONE `transfer` `out` on the payer
  (amount paid, payment currency), counterparty = the payee's account_id and bank. txmon
  derives the payee's `in` leg itself; `--payee-reports` also sends the payee bank's own `in`
  report (amount received), which txmon must then count once.
- Cash: a `cash_withdrawal` on the payer and a `cash_deposit` on the payee, same minute.
- Credit Card: a `card_payment` `out` on the payer, card token `IBM-CARD-<bank>-<account>`
  (AMLworld has no card numbers), merchant_id = the payee's account_id; no channel (AMLworld
  does not say whether the card was present).
- Skipped, and counted: Reinvestment (always an account paying itself: an own-account
  booking), cash and card rows from an account to itself, and, in native currency, rows in
  Bitcoin (no ISO 4217 code; XBT is not ISO).
- Timestamps `YYYY/MM/DD HH:MM` are UTC; rows are replayed in event-time order, ties in file
  order (patterns first, then background). No channel, location or country is invented.
- Currency: `native` keeps the IBM currency as its ISO 4217 code, so the Morocco profile's
  rules (which only count MAD) see no amount at all; `MAD` converts every amount with the fixed
  table `USD_PER_UNIT` x `MAD_PER_USD` (mid-September 2022, the month of the data).

Scoring, per IBM typology: an attempt is *found* when any of its accounts has any alert
(and per txmon typology: an alert of that typology); *found by evidence* when some alert's
`transaction_ids` include one of the attempt's own events (or a payee leg derived from one), so
an alert earned elsewhere on a shared hub account does not count. The background is label 0
but is NOT a negative set: 1,000 rows of one half hour say nothing about precision.

Replays with `streams.replay.replay` and the default settings (every detector the registry
enables by default, Morocco profile). Prints a table per currency setting and writes JSON to
--out (default bench-output/external-ibm-<UTC timestamp>.json). Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import secrets
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors import DetectorParams, Jurisdiction  # noqa: E402
from detectors.mule_account import MuleAccountParams  # noqa: E402
from detectors.policy import DERIVED_LEG_SUFFIX  # noqa: E402
from models import Alert, Transaction  # noqa: E402
from streams.replay import ReplayReport, replay  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "ibm_amlworld"
PATTERNS = DATA / "HI-Small_Patterns.txt"
BACKGROUND = DATA / "HI-Small_Trans_first1000_processed.csv"
TIME_FORMAT = "%Y/%m/%d %H:%M"
CENT = Decimal("0.01")
MODES = ("native", "MAD")

#: IBM AMLworld currency names -> ISO 4217. Bitcoin has no ISO 4217 code (XBT is a market
#: convention, not in the standard): such rows are skipped in native currency.
ISO_4217: dict[str, str | None] = {
    "US Dollar": "USD",
    "Euro": "EUR",
    "Yuan": "CNY",
    "Rupee": "INR",
    "Yen": "JPY",
    "Mexican Peso": "MXN",
    "Saudi Riyal": "SAR",
    "UK Pound": "GBP",
    "Ruble": "RUB",
    "Swiss Franc": "CHF",
    "Brazil Real": "BRL",
    "Canadian Dollar": "CAD",
    "Australian Dollar": "AUD",
    "Shekel": "ILS",
    "Bitcoin": None,
}

#: US dollars per unit, fixed, for mid-September 2022 (the data runs 2022-09-01..18), 6
#: significant digits. Source: the IMF's daily SDR valuations ("SDRs per currency unit") of
#: 14 Sep 2022, divided by that day's SDR per US dollar (0.770764); RUB from 16 Sep 2022
#: (0.012872 / 0.772696), not quoted on the 14th; SAR is pegged at 3.75 per USD (the IMF's
#: 16 Sep figure agrees to 5 digits); CHF from the Federal Reserve H.10 release of 26 Sep 2022
#: (0.9663 CHF per USD on 19 Sep); Bitcoin from CoinDesk's 5 p.m. ET price of 14 Sep 2022
#: (19,947.65 USD, via Dow Jones Market Data). Approximate by design: a rule threshold is not
#: sensitive to the third digit of a rate.
USD_PER_UNIT: dict[str, Decimal] = {
    "US Dollar": Decimal("1"),
    "Euro": Decimal("0.999000"),
    "Yuan": Decimal("0.143577"),
    "Rupee": Decimal("0.0125655"),
    "Yen": Decimal("0.00692287"),
    "Mexican Peso": Decimal("0.0500581"),
    "Saudi Riyal": Decimal("0.266667"),
    "UK Pound": Decimal("1.15635"),
    "Ruble": Decimal("0.0166586"),
    "Swiss Franc": Decimal("1.03488"),
    "Brazil Real": Decimal("0.193169"),
    "Canadian Dollar": Decimal("0.759532"),
    "Australian Dollar": Decimal("0.672400"),
    "Shekel": Decimal("0.291036"),
    "Bitcoin": Decimal("19947.65"),
}
#: Moroccan dirhams per US dollar, approximate for mid-September 2022. Bank Al-Maghrib's
#: reference rate was 10.34 MAD/USD and 10.55 MAD/EUR in early August 2022 (reported by
#: Morocco World News, 8 Aug 2022); the dirham is managed against a basket of 60 % EUR and 40 %
#: USD, and with EUR/USD at ~1.00 in mid-September both rates sat near 10.5. Good to ~2 %.
MAD_PER_USD = Decimal("10.5")

TRANSFER_FORMATS = frozenset({"ACH", "Wire", "Cheque", "Bitcoin"})
PAYMENT_FORMATS = TRANSFER_FORMATS | {"Cash", "Credit Card", "Reinvestment"}

#: Why a row produced no message (counted in the report, never silent).
SKIP_REINVESTMENT = "reinvestment (own-account booking)"
SKIP_NO_ISO = "Bitcoin amount in native currency (no ISO 4217 code)"
SKIP_OWN_CASH = "cash from an account to itself"
SKIP_OWN_CARD = "card payment from an account to itself"
SKIP_ZERO = "amount rounds to 0.00 MAD"

_BEGIN = re.compile(r"^BEGIN LAUNDERING ATTEMPT - ([A-Z-]+)(?::\s*(.*?))?\s*$")
_END = re.compile(r"^END LAUNDERING ATTEMPT - ([A-Z-]+)\s*$")


# --- parsing ---------------------------------------------------------------------------------


def bank_code(raw: str) -> str:
    """A bank number as AMLworld's processed files write it: digits, no leading zeros."""
    text = raw.strip()
    if not text.isdigit():
        raise ValueError(f"bank {raw!r} is not a number")
    return str(int(text))


def account_id(bank: str, account: str) -> str:
    """The stable txmon account_id of an AMLworld (bank, account) pair."""
    account = account.strip()
    if not account or not account.isalnum():
        raise ValueError(f"account {account!r} is not an AMLworld account number")
    return f"IBM-{bank_code(bank)}-{account}"


def institution(bank: str) -> str:
    return f"IBM-BANK-{bank_code(bank)}"


@dataclass(frozen=True, slots=True)
class IbmTxn:
    """One AMLworld transaction row, as in the raw Kaggle layout."""

    ref: str  # stem of the event ids: "p<attempt>-<k>" or "bg<row>"
    at: datetime
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    amount_received: Decimal
    receiving_currency: str
    amount_paid: Decimal
    payment_currency: str
    payment_format: str
    is_laundering: bool

    @property
    def payer(self) -> str:
        return account_id(self.from_bank, self.from_account)

    @property
    def payee(self) -> str:
        return account_id(self.to_bank, self.to_account)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One `BEGIN LAUNDERING ATTEMPT` block of the patterns file."""

    attempt_id: int  # 0-based, in file order (the flat CSV's attempt_id)
    typology: str
    qualifier: str
    rows: tuple[IbmTxn, ...]

    @property
    def accounts(self) -> set[str]:
        return {a for r in self.rows for a in (r.payer, r.payee)}


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"amount {raw!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"amount {raw!r} is not positive")
    return value


def _currency(raw: str) -> str:
    name = raw.strip()
    if name not in ISO_4217:
        raise ValueError(f"unknown currency {raw!r}")
    return name


def parse_row(fields: list[str], ref: str) -> IbmTxn:
    """A row in the raw layout: Timestamp, From Bank, Account, To Bank, Account, Amount
    Received, Receiving Currency, Amount Paid, Payment Currency, Payment Format, Is Laundering."""
    if len(fields) != 11:
        raise ValueError(f"expected 11 fields, got {len(fields)}")
    stamp, fbank, facct, tbank, tacct, received, rcur, paid, pcur, fmt, label = fields
    try:
        at = datetime.strptime(stamp.strip(), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"timestamp {stamp!r} is not YYYY/MM/DD HH:MM") from None
    if fmt.strip() not in PAYMENT_FORMATS:
        raise ValueError(f"unknown payment format {fmt!r}")
    if label.strip() not in ("0", "1"):
        raise ValueError(f"Is Laundering {label!r} is not 0 or 1")
    txn = IbmTxn(
        ref=ref,
        at=at,
        from_bank=bank_code(fbank),
        from_account=facct.strip(),
        to_bank=bank_code(tbank),
        to_account=tacct.strip(),
        amount_received=_amount(received),
        receiving_currency=_currency(rcur),
        amount_paid=_amount(paid),
        payment_currency=_currency(pcur),
        payment_format=fmt.strip(),
        is_laundering=label.strip() == "1",
    )
    account_id(txn.from_bank, txn.from_account)  # both account numbers checked here, once
    account_id(txn.to_bank, txn.to_account)
    return txn


def parse_patterns(lines: Iterable[str], source: str = PATTERNS.name) -> list[Attempt]:
    """The attempts of a patterns file in AMLworld's block format, in file order."""
    attempts: list[Attempt] = []
    current: tuple[str, str, list[IbmTxn]] | None = None
    number = 0
    for number, line in enumerate(lines, start=1):  # noqa: B007 - used after the loop
        text = line.strip()
        if not text:
            continue
        try:
            if begin := _BEGIN.match(text):
                if current is not None:
                    raise ValueError("BEGIN inside an open attempt")
                current = (begin.group(1), begin.group(2) or "", [])
            elif end := _END.match(text):
                if current is None or end.group(1) != current[0]:
                    raise ValueError("END without a matching BEGIN")
                typology, qualifier, rows = current
                if not rows:
                    raise ValueError("attempt without transactions")
                attempts.append(Attempt(len(attempts), typology, qualifier, tuple(rows)))
                current = None
            elif current is None:
                raise ValueError("transaction outside an attempt")
            else:
                ref = f"p{len(attempts)}-{len(current[2])}"
                row = parse_row(text.split(","), ref)
                if not row.is_laundering:
                    raise ValueError("a pattern transaction labelled 0")
                current[2].append(row)
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
    if current is not None:
        raise ValueError(f"{source}:{number}: the last attempt has no END line")
    return attempts


def read_patterns(path: Path = PATTERNS) -> list[Attempt]:
    with path.open(encoding="ascii") as handle:
        return parse_patterns(handle, path.name)


_PROCESSED = ("timestamp", "from_bank_id", "from_account_id", "to_bank_id", "to_account_id",
              "amount_received", "receiving_currency", "amount_paid", "payment_currency",
              "payment_format", "is_laundering")


def parse_processed(rows: Iterable[dict[str, str]], source: str = BACKGROUND.name) -> list[IbmTxn]:
    """Rows of a `*_processed.csv` sample (named columns, banks without zeros)."""
    out = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            missing = [c for c in _PROCESSED if row.get(c) is None]
            if missing:
                raise ValueError(f"missing column(s) {missing}")
            out.append(parse_row([row[c] for c in _PROCESSED], f"bg{number - 1}"))
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
    return out


def read_background(path: Path = BACKGROUND) -> list[IbmTxn]:
    with path.open(newline="", encoding="ascii") as handle:
        return parse_processed(csv.DictReader(handle), path.name)


# --- conversion ------------------------------------------------------------------------------


def money(amount: Decimal, ibm_currency: str, mode: str) -> tuple[Decimal, str] | None:
    """(amount, ISO currency) of an IBM amount in `mode`; None when it cannot be expressed."""
    if mode == "native":
        iso = ISO_4217[ibm_currency]
        return None if iso is None else (amount, iso)
    if mode != "MAD":
        raise ValueError(f"unknown currency mode {mode!r}")
    mad = (amount * USD_PER_UNIT[ibm_currency] * MAD_PER_USD).quantize(
        CENT, rounding=ROUND_HALF_EVEN)
    return (mad, "MAD") if mad > 0 else None


def _text(amount: Decimal) -> str:
    return format(amount, "f")


@dataclass(frozen=True, slots=True)
class Conversion:
    messages: list[dict[str, Any]]  # contract JSON objects, in the order a bank would send them
    skipped: str | None = None


def to_messages(txn: IbmTxn, mode: str, *, payee_reports: bool = False) -> Conversion:
    """The `transactions` messages of one AMLworld row (see the module doc for the mapping)."""
    fmt, stem = txn.payment_format, f"ibm-hi-small-{txn.ref}"
    if fmt == "Reinvestment":
        return Conversion([], SKIP_REINVESTMENT)
    self_paid = txn.payer == txn.payee
    if fmt == "Cash" and self_paid:
        return Conversion([], SKIP_OWN_CASH)
    if fmt == "Credit Card" and self_paid:
        return Conversion([], SKIP_OWN_CARD)
    paid = money(txn.amount_paid, txn.payment_currency, mode)
    received = money(txn.amount_received, txn.receiving_currency, mode)
    if paid is None or received is None:
        native = mode == "native"
        return Conversion([], SKIP_NO_ISO if native else SKIP_ZERO)
    at = txn.at.isoformat()
    payer_bank, payee_bank = institution(txn.from_bank), institution(txn.to_bank)

    if fmt == "Cash":
        return Conversion([
            {"event_id": f"{stem}-cash-out", "occurred_at": at, "account_id": txn.payer,
             "institution": payer_bank, "kind": "cash_withdrawal", "direction": "out",
             "amount": _text(paid[0]), "currency": paid[1]},
            {"event_id": f"{stem}-cash-in", "occurred_at": at, "account_id": txn.payee,
             "institution": payee_bank, "kind": "cash_deposit", "direction": "in",
             "amount": _text(received[0]), "currency": received[1]},
        ])
    if fmt == "Credit Card":
        return Conversion([
            {"event_id": stem, "occurred_at": at, "account_id": txn.payer,
             "institution": payer_bank, "kind": "card_payment", "direction": "out",
             "amount": _text(paid[0]), "currency": paid[1],
             "card": {"card_id": f"IBM-CARD-{txn.from_bank}-{txn.from_account}"},
             "merchant": {"merchant_id": txn.payee}},
        ])
    messages = [
        {"event_id": stem, "occurred_at": at, "account_id": txn.payer,
         "institution": payer_bank, "kind": "transfer", "direction": "out",
         "amount": _text(paid[0]), "currency": paid[1],
         "counterparty": {"account_id": txn.payee, "bank": payee_bank}},
    ]
    if payee_reports and not self_paid:
        messages.append(
            {"event_id": f"{stem}-in", "occurred_at": at, "account_id": txn.payee,
             "institution": payee_bank, "kind": "transfer", "direction": "in",
             "amount": _text(received[0]), "currency": received[1],
             "counterparty": {"account_id": txn.payer, "bank": payer_bank}})
    return Conversion(messages)


@dataclass
class Converted:
    """All rows of one run, converted and validated, in replay order."""

    events: list[Transaction]
    event_ids: dict[str, list[str]]  # row ref -> its event ids
    skipped: Counter[str]
    skipped_by_ref: dict[str, str]


def convert(rows: Iterable[IbmTxn], mode: str, *, payee_reports: bool = False) -> Converted:
    """Convert rows (given in file order) and sort them by event time, ties in that order."""
    ordered = sorted(enumerate(rows), key=lambda pair: (pair[1].at, pair[0]))
    events: list[Transaction] = []
    event_ids: dict[str, list[str]] = {}
    skipped: Counter[str] = Counter()
    skipped_by_ref: dict[str, str] = {}
    for _, txn in ordered:
        result = to_messages(txn, mode, payee_reports=payee_reports)
        if result.skipped:
            skipped[result.skipped] += 1
            skipped_by_ref[txn.ref] = result.skipped
        validated = [Transaction.model_validate(m) for m in result.messages]
        events.extend(validated)
        event_ids[txn.ref] = [e.event_id for e in validated]
    return Converted(events, event_ids, skipped, skipped_by_ref)


# --- scoring ---------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@dataclass(frozen=True, slots=True)
class Shape:
    """What one attempt offers the mule rule, from the attempt's own rows only."""

    span_days: float  # first to last transaction
    hub_senders: int  # most distinct senders into one account within the rule's window
    hub_paid_on: float | None  # the hub's outflows / its inflows, in MAD (None: pays nothing)


def shape(attempt: Attempt, params: MuleAccountParams) -> Shape:
    """The attempt's *hub* (most distinct senders within `params.window`) and what it pays on.

    Amounts are compared in MAD (the fixed table) whatever the currency setting of the run.
    """
    inflows: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    received: dict[str, Decimal] = defaultdict(Decimal)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for r in attempt.rows:
        if r.payer != r.payee:
            inflows[r.payee].append((r.at, r.payer))
            received[r.payee] += r.amount_received * USD_PER_UNIT[r.receiving_currency]
            paid[r.payer] += r.amount_paid * USD_PER_UNIT[r.payment_currency]
    best, hub = 0, ""
    for account in sorted(inflows):
        legs = sorted(inflows[account])
        for end, _ in legs:
            senders = len({s for at, s in legs if end - params.window <= at <= end})
            if senders > best:
                best, hub = senders, account
    times = [r.at for r in attempt.rows]
    ratio = float(paid[hub] / received[hub]) if hub in paid and received.get(hub) else None
    return Shape(
        span_days=round((max(times) - min(times)).total_seconds() / 86400, 2),
        hub_senders=best,
        hub_paid_on=ratio,
    )


def by_typology(attempts: list[Attempt]) -> dict[str, list[Attempt]]:
    """Attempts per IBM typology (sorted by name), then all of them as "ALL"."""
    groups: dict[str, list[Attempt]] = defaultdict(list)
    for a in attempts:
        groups[a.typology].append(a)
    return {**dict(sorted(groups.items())), "ALL": attempts}


def shapes(attempts: list[Attempt]) -> dict[str, dict[str, Any]]:
    """Per IBM typology: what its attempts offer the mule rule (independent of the run)."""
    mule = DetectorParams().mule_account
    out = {}
    for name, members in by_typology(attempts).items():
        found = [shape(a, mule) for a in members]
        fan_in = [x for x in found if x.hub_senders >= mule.min_distinct_senders]
        ratios = [x.hub_paid_on for x in fan_in if x.hub_paid_on is not None]
        out[name] = {
            "span_days_median": round(float(statistics.median(x.span_days for x in found)), 1),
            "hub_senders_median": round(float(statistics.median(x.hub_senders for x in found)), 1),
            "hub_with_min_senders": len(fan_in),
            "of_them_pay_on": len(ratios),
            "of_them_pay_on_min_share": sum(1 for r in ratios if r >= mule.min_outflow_share),
            "paid_on_over_received_median": (
                round(statistics.median(ratios), 2) if ratios else None),
            "paid_on_over_received_range": (
                [round(min(ratios), 2), round(max(ratios), 2)] if ratios else None),
        }
    return out


def score(
    attempts: list[Attempt],
    background: list[IbmTxn],
    converted: Converted,
    alerts: list[Alert],
) -> dict[str, Any]:
    """Per IBM typology: attempts, accounts, alerted accounts, recall (see the module doc)."""
    alert_typologies: dict[str, set[str]] = defaultdict(set)  # account -> txmon typologies
    reason_codes: dict[str, set[str]] = defaultdict(set)  # account -> reason codes
    evidence: set[str] = set()  # every event id an alert cites
    for alert in alerts:
        alert_typologies[alert.account_id].update(t.value for t in alert.typologies)
        reason_codes[alert.account_id].update(r.code for r in alert.reasons)
        evidence.update(alert.transaction_ids)
    fired = sorted({t for ts in alert_typologies.values() for t in ts})

    def attempt_ids(attempt: Attempt) -> set[str]:
        ids = set()
        for r in attempt.rows:
            for e in converted.event_ids.get(r.ref, []):
                ids.update((e, e + DERIVED_LEG_SUFFIX))
        return ids

    table: dict[str, Any] = {}
    for name, members in by_typology(attempts).items():
        accounts = set().union(*(a.accounts for a in members))
        alerted = {acct for acct in accounts if acct in alert_typologies}
        found = [a for a in members if a.accounts & alert_typologies.keys()]
        by_evidence = [a for a in members if attempt_ids(a) & evidence]
        per_typology = {
            t: sum(1 for a in members
                   if any(t in alert_typologies.get(acct, ()) for acct in a.accounts))
            for t in fired
        }
        reasons = Counter(code for acct in alerted for code in reason_codes[acct])
        rows = [r for a in members for r in a.rows]
        table[name] = {
            "attempts": len(members),
            "transactions": len(rows),
            "events": sum(len(converted.event_ids.get(r.ref, [])) for r in rows),
            "rows_skipped": sum(1 for r in rows if r.ref in converted.skipped_by_ref),
            "accounts": len(accounts),
            "accounts_alerted": len(alerted),
            "found": len(found),
            "recall": _ratio(len(found), len(members)),
            "found_by_evidence": len(by_evidence),
            "recall_by_evidence": _ratio(len(by_evidence), len(members)),
            "found_by_txmon_typology": {
                t: {"found": n, "recall": _ratio(n, len(members))}
                for t, n in per_typology.items() if n
            },
            "alerted_accounts_by_txmon_typology": dict(sorted(Counter(
                t for acct in alerted for t in alert_typologies[acct]).items())),
            "top_reasons": dict(reasons.most_common(3)),
        }

    pattern_accounts = set().union(*(a.accounts for a in attempts))
    shared = Counter(acct for a in attempts for acct in a.accounts)
    bg_accounts = {acct for r in background for acct in (r.payer, r.payee)} - pattern_accounts
    return {
        "by_ibm_typology": table,
        "txmon_typologies_fired": fired,
        "pattern_accounts_in_more_than_one_attempt": sum(1 for n in shared.values() if n > 1),
        "background": {
            "rows": len(background),
            "accounts_not_in_any_attempt": len(bg_accounts),
            "of_them_alerted": len(bg_accounts & alert_typologies.keys()),
            "note": "label 0 but not a negative set: 1,000 rows of one half hour measure "
                    "nothing about precision",
        },
    }


# --- running and printing --------------------------------------------------------------------


def run(mode: str, attempts: list[Attempt], background: list[IbmTxn],
        payee_reports: bool) -> dict[str, Any]:
    started = time.perf_counter()
    rows = [r for a in attempts for r in a.rows] + background
    converted = convert(rows, mode, payee_reports=payee_reports)
    converted_s = time.perf_counter() - started
    report = ReplayReport()
    replay_start = time.perf_counter()
    alerts = replay(converted.events, report=report)
    replay_s = time.perf_counter() - replay_start
    scores = score(attempts, background, converted, alerts)
    amounts = sorted(e.amount for e in converted.events
                     if e.event_id.startswith("ibm-hi-small-p") and e.direction.value == "out")
    return {
        "currency": mode,
        "events": len(converted.events),
        "events_by_kind": dict(sorted(Counter(
            f"{e.kind.value} {e.direction.value}" for e in converted.events).items())),
        "events_by_currency": dict(sorted(Counter(e.currency for e in converted.events).items())),
        "rows_skipped": dict(sorted(converted.skipped.items())),
        "legs_assessed": sum(report.outcomes.values()),
        "outcomes": dict(sorted(report.outcomes.items())),
        "alerts": len(alerts),
        "alerts_by_typology": dict(sorted(report.alerts.items())),
        "alerted_accounts": len({a.account_id for a in alerts}),
        "pattern_debit_amount": ({
            "median": str(statistics.median(amounts)),
            "share_at_least_10000_mad": _ratio(sum(1 for x in amounts if x >= 10_000),
                                               len(amounts)),
        } if mode == "MAD" and amounts else None),
        **scores,
        "runtime_s": {"convert_validate": round(converted_s, 2), "replay": round(replay_s, 2)},
    }


def table(result: dict[str, Any]) -> str:
    header = ("IBM typology", "attempts", "txns", "accounts", "alerted", "found", "recall",
              "by evidence", "recall", "txmon typologies: attempts (recall)",
              "top reasons (accounts)")
    lines = []
    for name, row in result["by_ibm_typology"].items():
        fired = ", ".join(f"{t} {v['found']} ({v['recall']:.2f})"
                          for t, v in row["found_by_txmon_typology"].items()) or "-"
        reasons = ", ".join(f"{k} {v}" for k, v in row["top_reasons"].items()) or "-"
        lines.append((name, str(row["attempts"]), str(row["transactions"]), str(row["accounts"]),
                      str(row["accounts_alerted"]), str(row["found"]), f"{row['recall']:.2f}",
                      str(row["found_by_evidence"]), f"{row['recall_by_evidence']:.2f}",
                      fired, reasons))
    widths = [max(len(r[i]) for r in (header, *lines)) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:9], widths[1:9], strict=True)]
        out += [c.ljust(w) for c, w in zip(cells[9:], widths[9:], strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [fmt(r) for r in lines]
    return "\n".join([fmt(header), rule, *body[:-1], rule, body[-1]])


def shape_table(found: dict[str, dict[str, Any]]) -> str:
    mule = DetectorParams().mule_account
    header = ("IBM typology", "span days", "hub senders",
              f"hub >= {mule.min_distinct_senders} senders", "... pays on",
              f"... >= {mule.min_outflow_share:.0%} of it", "paid on / received (range)")
    rows = []
    for name, x in found.items():
        ratio = "-"
        if x["paid_on_over_received_median"] is not None:
            low, high = x["paid_on_over_received_range"]
            ratio = f"{x['paid_on_over_received_median']} ({low}-{high})"
        rows.append((name, str(x["span_days_median"]), str(x["hub_senders_median"]),
                     str(x["hub_with_min_senders"]), str(x["of_them_pay_on"]),
                     str(x["of_them_pay_on_min_share"]), ratio))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((cells[0].ljust(widths[0]), *rest))

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--as-currency", choices=(*MODES, "both"), default="both",
                    help="native: ISO code of the IBM currency (the MAD rules see nothing); "
                         "MAD: fixed Sept-2022 conversion; both (default): one run each")
    ap.add_argument("--no-background", action="store_true",
                    help="replay the 3,209 pattern transactions only")
    ap.add_argument("--payee-reports", action="store_true",
                    help="also send the payee bank's own `in` report of each transfer")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON report (default bench-output/external-ibm-<UTC timestamp>.json)")
    args = ap.parse_args()
    modes = MODES if args.as_currency == "both" else (args.as_currency,)

    started = time.perf_counter()
    attempts = read_patterns()
    background = [] if args.no_background else read_background()
    enabled = DetectorParams().enabled
    profile = Jurisdiction()
    print("External data: IBM AMLworld HI-Small laundering patterns (CDLA-Sharing-1.0), "
          "benchmarks/data/ibm_amlworld/")
    print(f"{len(attempts)} attempts, {sum(len(a.rows) for a in attempts):,} transactions; "
          f"background: {len(background):,} unlabelled rows"
          + (" (label 0; says nothing about precision)" if background else ""))
    print(f"detectors: {', '.join(enabled)}; profile {profile.country}/{profile.currency}; "
          f"transfers sent as the payer's `out`"
          + (" plus the payee's own `in` report" if args.payee_reports else
             " only (txmon derives the payee leg)"))
    attempt_shapes = shapes(attempts)
    print(f"\nWhat the attempts offer the mule rule (their own rows only; medians; hub = the "
          f"account with most distinct senders within "
          f"{DetectorParams().mule_account.window.days} days; money compared in MAD, any time, "
          f"any destination; the same in every currency setting):")
    print(shape_table(attempt_shapes))
    results = {}
    for mode in modes:
        result = run(mode, attempts, background, args.payee_reports)
        results[mode] = result
        print(f"\n=== currency: {mode}"
              + (f" (fixed rates, {MAD_PER_USD} MAD per USD)" if mode == "MAD" else
                 " (ISO code of the IBM currency)"))
        print(f"events: {result['events']:,} "
              f"({', '.join(f'{k} {v:,}' for k, v in result['events_by_kind'].items())}); "
              f"{result['legs_assessed']:,} account-stage legs "
              f"({', '.join(f'{k} {v:,}' for k, v in result['outcomes'].items())})")
        print("rows skipped: " + (", ".join(
            f"{k}: {v}" for k, v in result["rows_skipped"].items()) or "none"))
        if result["pattern_debit_amount"]:
            amt = result["pattern_debit_amount"]
            print(f"pattern debits: median {Decimal(amt['median']):,.2f} MAD, "
                  f"{amt['share_at_least_10000_mad']:.0%} at least 10,000 MAD")
        print(f"alerts: {result['alerts']} on {result['alerted_accounts']} accounts"
              + ("; by typology: " + ", ".join(
                  f"{k} {v}" for k, v in result["alerts_by_typology"].items())
                 if result["alerts_by_typology"] else ""))
        print(table(result))
        bg = result["background"]
        print(f"pattern accounts in more than one attempt: "
              f"{result['pattern_accounts_in_more_than_one_attempt']}"
              + (f"; background accounts in no attempt: {bg['accounts_not_in_any_attempt']}, "
                 f"alerted {bg['of_them_alerted']} ({bg['note']})" if background else ""))
        print(f"runtime: convert+validate {result['runtime_s']['convert_validate']:.1f} s, "
              f"replay {result['runtime_s']['replay']:.1f} s")

    out: Path = args.out or ROOT / "bench-output" / (
        "external-ibm-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-"
        + secrets.token_hex(2) + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "dataset": "IBM AMLworld HI-Small (Altman et al., NeurIPS 2023; Kaggle "
                   "ealtman2019/ibm-transactions-for-anti-money-laundering-aml), "
                   "CDLA-Sharing-1.0",
        "files": {p.name: _sha256(p) for p in (PATTERNS, *([] if args.no_background
                                                            else [BACKGROUND]))},
        "detectors_enabled": list(enabled),
        "jurisdiction": profile.model_dump(mode="json"),
        "payee_reports": args.payee_reports,
        "background": not args.no_background,
        "rates": {"mad_per_usd": str(MAD_PER_USD),
                  "usd_per_unit": {k: str(v) for k, v in USD_PER_UNIT.items()},
                  "iso_4217": ISO_4217},
        "shape_by_ibm_typology": attempt_shapes,
        "runs": results,
        "runtime_s": round(time.perf_counter() - started, 2),
    }, indent=2, sort_keys=True) + "\n")
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"\nwrote {shown}")


if __name__ == "__main__":
    main()
