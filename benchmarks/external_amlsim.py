"""External-data benchmark: IBM AMLSim's official 20K fan-in sample through txmon's rules.

    .venv/bin/python benchmarks/external_amlsim.py [--amount-scale X]

Each row of `transactions.csv` (sourceNodeId, targetNodeId, value, time step) becomes ONE
contract `transfer` event: the payer's `out`, with the payee as counterparty. txmon derives the
payee's `in` leg itself. A step is one day from 2026-01-01T00:00:00Z; the rows of a step are
spread evenly over that day in file order, so every timestamp is distinct and the run is
deterministic. Amounts are `value * amount_scale` MAD (AMLSim's unit is unnamed). The events are
replayed in event-time order through `streams.replay.replay` with the default detectors and
scored with `streams.evaluate` against AMLSim's account labels, in two views:

(a) all fraud nodes (AMLSim labels both the collecting account and its senders of a fan-in
    group) as `mule_account`;
(b) collectors only: fraud nodes that receive from >= 5 distinct fraud senders.

Reads only benchmarks/data/amlsim/ (a copy of the sample, see benchmarks/data/README.md).
Writes the figures to bench-output/external-amlsim-<UTC timestamp>.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import secrets
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import Transaction  # noqa: E402
from streams.evaluate import evaluate  # noqa: E402
from streams.replay import ReplayReport, replay  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "amlsim" / "20K_fanin200"
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
# A fixed, round unit conversion: AMLSim's median transaction (~254 units) becomes ~1,270 MAD,
# an ordinary retail transfer. Chosen once from the amount distribution, never per detector.
DEFAULT_SCALE = Decimal("5.0")
MIN_COLLECTOR_SENDERS = 5
CENT = Decimal("0.01")


def account(node: str) -> str:
    return f"AMLSIM-{node}"


def load() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with (DATA / "nodes.csv").open(newline="") as handle:
        nodes = list(csv.DictReader(handle))
    with (DATA / "transactions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return nodes, rows


def timestamps(rows: list[dict[str, str]]) -> list[datetime]:
    """Step s -> day s-1 from ORIGIN; the n rows of a step spread evenly over it, in file order."""
    per_step = Counter(int(r["time"]) for r in rows)
    seen: Counter[int] = Counter()
    out = []
    for r in rows:
        step = int(r["time"])
        offset_us = seen[step] * DAY_US // per_step[step]
        seen[step] += 1
        out.append(ORIGIN + timedelta(days=step - 1, microseconds=offset_us))
    return out


def to_events(rows: list[dict[str, str]], at: list[datetime], scale: Decimal) -> list[Transaction]:
    events = []
    for index, (r, when) in enumerate(zip(rows, at, strict=True)):
        amount = (Decimal(r["value"]) * scale).quantize(CENT, rounding=ROUND_HALF_EVEN)
        events.append(
            Transaction.model_validate(
                {
                    "event_id": f"amlsim-20K_fanin200-{index}",
                    "occurred_at": when.isoformat(),
                    "account_id": account(r["sourceNodeId"]),
                    "kind": "transfer",
                    "direction": "out",
                    "amount": f"{amount:.2f}",
                    "currency": "MAD",
                    "counterparty": {"account_id": account(r["targetNodeId"])},
                }
            )
        )
    return events


def fan_in_profile(
    rows: list[dict[str, str]], at: list[datetime], fraud: set[str], scale: Decimal
) -> tuple[set[str], dict[str, Any]]:
    """Collectors, and what their fan-in looks like against the mule rule's thresholds."""
    senders: dict[str, set[str]] = defaultdict(set)
    inflows: dict[str, list[tuple[datetime, Decimal, str]]] = defaultdict(list)
    outflows: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for r, when in zip(rows, at, strict=True):
        src, dst, value = r["sourceNodeId"], r["targetNodeId"], Decimal(r["value"]) * scale
        if src in fraud and dst in fraud:
            senders[dst].add(src)
            inflows[dst].append((when, value, src))
        outflows[src].append((when, value))
    collectors = {n for n, s in senders.items() if len(s) >= MIN_COLLECTOR_SENDERS}

    # Best 7-day window of fraud inflows per collector (the rule's `window`), and what left the
    # collector (to anyone) within 48 h after that window's last inflow.
    best_totals, best_senders, passed_48h, gaps_days, no_outflow_after = [], [], [], [], 0
    for c in sorted(collectors):
        ins = sorted(inflows[c])
        best = (Decimal(0), 0, ins[0][0])
        for i, (end, _, _) in enumerate(ins):
            window = [x for x in ins[: i + 1] if end - x[0] <= timedelta(days=7)]
            total = sum((x[1] for x in window), Decimal(0))
            if (len({x[2] for x in window}), total) > (best[1], best[0]):
                best = (total, len({x[2] for x in window}), end)
        total, count, end = best
        best_totals.append(float(total))
        best_senders.append(count)
        outs = sorted(outflows[c])
        out_48 = sum((v for t, v in outs if end <= t <= end + timedelta(hours=48)), Decimal(0))
        passed_48h.append(float(out_48 / total) if total else 0.0)
        later = [t for t, _ in outs if t >= end]
        if later:
            gaps_days.append((later[0] - end).total_seconds() / 86400)
        else:
            no_outflow_after += 1
    all_values = sorted(Decimal(r["value"]) * scale for r in rows)
    fraud_values = sorted(v for ins in inflows.values() for _, v, _ in ins)
    profile = {
        "median_amount_mad": float(statistics.median(all_values)),
        "median_fraud_to_fraud_amount_mad": float(statistics.median(fraud_values)),
        "fraud_to_fraud_transfers": len(fraud_values),
        "collectors": len(collectors),
        "collector_best_7d_window": {
            "distinct_fraud_senders_median": statistics.median(best_senders),
            "inflow_total_mad_median": round(statistics.median(best_totals), 2),
            "inflow_total_mad_max": round(max(best_totals), 2),
            "with_5_senders_in_7d": sum(s >= 5 for s in best_senders),
            "reaching_10000_mad": sum(t >= 10_000 for t in best_totals),
            "with_5_senders_and_10000_mad": sum(
                t >= 10_000 and s >= 5 for t, s in zip(best_totals, best_senders, strict=True)
            ),
            "share_sent_on_within_48h_median": round(statistics.median(passed_48h), 4),
            "with_70pct_sent_on_within_48h": sum(p >= 0.7 for p in passed_48h),
            "no_outflow_after_window": no_outflow_after,
            "days_to_next_outflow_median": (
                round(statistics.median(gaps_days), 2) if gaps_days else None
            ),
        },
    }
    return collectors, profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amount-scale", type=Decimal, default=DEFAULT_SCALE,
                    help="MAD per AMLSim amount unit (default %(default)s)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench-output")
    args = ap.parse_args()
    scale: Decimal = args.amount_scale

    started = time.perf_counter()
    nodes, rows = load()
    fraud = {n["nodeid"] for n in nodes if n["isFraud"] == "1"}
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i]["time"]), i))
    rows = [rows[i] for i in order]  # event-time order (file order within a step)
    at = timestamps(rows)
    events = to_events(rows, at, scale)
    converted = time.perf_counter()
    collectors, profile = fan_in_profile(rows, at, fraud, scale)

    report = ReplayReport()
    replay_start = time.perf_counter()
    alerts = replay(events, report=report)
    replay_s = time.perf_counter() - replay_start

    universe = [account(n["nodeid"]) for n in nodes]
    views = {
        "all_fraud_nodes": {account(n): ["mule_account"] for n in sorted(fraud)},
        "collectors_only": {account(n): ["mule_account"] for n in sorted(collectors)},
    }
    evaluations = {name: evaluate(labels, alerts, universe=universe)
                   for name, labels in views.items()}
    alerted_by_typology: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        for typology in alert.typologies:
            alerted_by_typology[typology.value].add(alert.account_id)
    total_s = time.perf_counter() - started

    accounts_seen = {e.account_id for e in events} | {
        e.counterparty.account_id for e in events if e.counterparty and e.counterparty.account_id
    }
    print("External data: IBM AMLSim 20K_fanin200 (Apache-2.0), benchmarks/data/amlsim/")
    print(f"amount scale: {scale} MAD per AMLSim unit (fixed, not tuned: the median transaction "
          f"becomes {profile['median_amount_mad']:,.2f} MAD, an ordinary retail transfer)")
    print(f"events: {len(events):,} transfer out (payer side only; txmon derives the payee leg)"
          f", {sum(report.outcomes.values()):,} account-stage legs assessed")
    print(f"accounts: {len(universe):,} nodes ({len(accounts_seen):,} in a transaction), "
          f"fraud nodes {len(fraud)}, collectors (>= {MIN_COLLECTOR_SENDERS} distinct fraud "
          f"senders) {len(collectors)}")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.outcomes.items())))
    print("alerts by typology: " + (", ".join(
        f"{k} {v} ({len(alerted_by_typology[k])} accounts)" for k, v in sorted(
            report.alerts.items())) or "none") + f"; {len(alerts)} alerts in all")
    print("fan-in profile: " + json.dumps(profile, indent=2))
    for name, ev in evaluations.items():
        print(f"\n({'a' if name == 'all_fraud_nodes' else 'b'}) labels = {name}")
        print(ev.table())
    print(f"\nruntime: convert+validate {converted - started:.1f} s, replay {replay_s:.1f} s "
          f"({len(events) / replay_s:,.0f} events/s), total {total_s:.1f} s")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / f"external-amlsim-{stamp}.json"
    path.write_text(json.dumps({
        "dataset": "IBM AMLSim sample 20K_fanin200 (github IBM/AMLSim, Apache-2.0)",
        "amount_scale_mad_per_unit": str(scale),
        "origin": ORIGIN.isoformat(),
        "events": len(events),
        "legs_assessed": sum(report.outcomes.values()),
        "accounts": len(universe),
        "fraud_nodes": len(fraud),
        "collectors": len(collectors),
        "outcomes": dict(sorted(report.outcomes.items())),
        "alerts": len(alerts),
        "alerts_by_typology": dict(sorted(report.alerts.items())),
        "alerted_accounts_by_typology": {
            k: len(v) for k, v in sorted(alerted_by_typology.items())},
        "fan_in_profile": profile,
        "evaluation": {name: ev.to_json() for name, ev in evaluations.items()},
        "runtime_s": {"convert_validate": round(converted - started, 2),
                      "replay": round(replay_s, 2), "total": round(total_s, 2)},
    }, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
