"""Detection quality: alerts (the `fiu.alerts` contract) scored against the simulator's labels.

Counting is per account. For a typology T, the predicted positives are the accounts with at
least one alert whose `typologies` contains T, and the actual positives are the accounts that
`labels.json` labels with T; an account alerted twice for T counts once. Accounts absent from the
labels are negatives. The account level asks "is this account suspicious at all": predicted are
the accounts with any alert, actual the accounts with any label.

Scores, with support = tp + fn (the actual positives):

- precision = tp / (tp + fp); when nothing was predicted it is 1.0 if there was nothing to find
  either (tp + fn == 0), else 0.0;
- recall = tp / (tp + fn); when there was nothing to find it is 1.0 if nothing was predicted
  either (tp + fp == 0), else 0.0;
- F1 = the harmonic mean of precision and recall, 0.0 when both are 0.

So a typology that only appears in alerts (support 0, fp > 0) scores 0 everywhere, and an empty
evaluation (no labels, no alerts) scores 1.0 everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from models import Alert, Typology

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Evaluation",
    "Scores",
    "evaluate",
    "load_account_ids",
    "load_alerts",
    "load_labels",
    "write_report",
]

_CODES = frozenset(t.value for t in Typology)
_DIGITS = 4  # decimals of the ratios in the JSON report and the table


@dataclass(frozen=True)
class Scores:
    """Counts and ratios of one binary question, over accounts (see the module doc)."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float

    @property
    def support(self) -> int:
        """The actual positives: accounts labelled with the typology (or with any label)."""
        return self.tp + self.fn

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> Scores:
        if min(tp, fp, fn) < 0:
            raise ValueError("counts must not be negative")
        if tp + fp:
            precision = tp / (tp + fp)
        else:
            precision = 1.0 if tp + fn == 0 else 0.0
        if tp + fn:
            recall = tp / (tp + fn)
        else:
            recall = 1.0 if tp + fp == 0 else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)

    @classmethod
    def from_sets(cls, predicted: set[str], actual: set[str]) -> Scores:
        return cls.from_counts(
            tp=len(predicted & actual), fp=len(predicted - actual), fn=len(actual - predicted)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "f1": round(self.f1, _DIGITS),
            "fn": self.fn,
            "fp": self.fp,
            "precision": round(self.precision, _DIGITS),
            "recall": round(self.recall, _DIGITS),
            "support": self.support,
            "tp": self.tp,
        }


@dataclass
class Evaluation:
    """The result of `evaluate`: scores per typology (sorted by code) and at account level."""

    by_typology: dict[str, Scores]  # every typology present in the labels or the alerts
    account_level: Scores
    accounts_evaluated: int | None  # all accounts, when the universe is known
    alerts: int  # distinct alert ids

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict with sorted keys and ratios rounded to 4 decimals."""
        return {
            "account_level": self.account_level.to_json(),
            "accounts_evaluated": self.accounts_evaluated,
            "alerts": self.alerts,
            "by_typology": {k: self.by_typology[k].to_json() for k in sorted(self.by_typology)},
        }

    def table(self) -> str:
        """A plain-text table: one row per typology, then the account level, then totals."""
        header = ("typology", "support", "tp", "fp", "fn", "precision", "recall", "F1")
        rows = [_row(code, s) for code, s in sorted(self.by_typology.items())]
        if not rows:
            rows.append(("(no typology labelled or alerted)", "", "", "", "", "", "", ""))
        level = _row("account level", self.account_level)
        widths = [max(len(r[i]) for r in (header, *rows, level)) for i in range(len(header))]

        def fmt(cells: tuple[str, ...]) -> str:
            first = cells[0].ljust(widths[0])
            rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
            return "  ".join((first, *rest)).rstrip()

        rule = "  ".join("-" * w for w in widths)
        lines = [fmt(header), rule, *(fmt(r) for r in rows), rule, fmt(level)]
        footer = f"{self.alerts} alerts, {self.account_level.support} labelled accounts"
        if self.accounts_evaluated is not None:
            footer += f", {self.accounts_evaluated} accounts evaluated"
        lines.append(footer + ".")
        return "\n".join(lines)


def _row(name: str, s: Scores) -> tuple[str, ...]:
    ratios = (f"{v:.{_DIGITS}f}" for v in (s.precision, s.recall, s.f1))
    return (name, str(s.support), str(s.tp), str(s.fp), str(s.fn), *ratios)


def evaluate(
    labels: Mapping[str, Iterable[str]],
    alerts: Iterable[Alert],
    *,
    universe: Iterable[str] | None = None,
) -> Evaluation:
    """Score `alerts` against `labels` (account id -> typology codes), counting accounts.

    `universe`, when given, is every account id that was monitored; `accounts_evaluated` is then
    the number of distinct accounts in it, the labels and the alerts (otherwise None).
    """
    actual: dict[str, set[str]] = {}
    labelled: set[str] = set()
    for account, codes in labels.items():
        for code in codes:
            actual.setdefault(str(code), set()).add(account)
            labelled.add(account)
    predicted: dict[str, set[str]] = {}
    alerted: set[str] = set()
    alert_ids: set[str] = set()
    for alert in alerts:
        alert_ids.add(alert.alert_id)
        alerted.add(alert.account_id)
        for typology in alert.typologies:
            predicted.setdefault(typology.value, set()).add(alert.account_id)
    by_typology = {
        code: Scores.from_sets(predicted.get(code, set()), actual.get(code, set()))
        for code in sorted(actual.keys() | predicted.keys())
    }
    evaluated = None
    if universe is not None:
        evaluated = len(set(universe) | set(labels) | alerted)
    return Evaluation(
        by_typology=by_typology,
        account_level=Scores.from_sets(alerted, labelled),
        accounts_evaluated=evaluated,
        alerts=len(alert_ids),
    )


def load_labels(path: Path) -> dict[str, set[str]]:
    """Read `labels.json`: a JSON object of account id -> list of contract typology codes."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise ValueError(
            f"{path} must be a JSON object of account id to typology codes, "
            f"not a JSON {_json_type(data)}."
        )
    labels: dict[str, set[str]] = {}
    for account, codes in data.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ValueError(
                f"{path}: the labels of account {account!r} must be a list of typology codes."
            )
        unknown = sorted(set(codes) - _CODES)
        if unknown:
            raise ValueError(
                f"{path}: account {account!r} has unknown typology code {unknown[0]!r} "
                f"(expected one of {', '.join(sorted(_CODES))})."
            )
        labels[account] = set(codes)
    return labels


def load_alerts(path: Path) -> list[Alert]:
    """Read alerts, one `fiu.alerts` JSON object per line (blank lines are skipped)."""
    alerts = []
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    alerts.append(Alert.model_validate_json(line))
                except ValidationError as exc:
                    raise ValueError(
                        f"{path}, line {number}: not a valid fiu.alerts message "
                        f"({_first_error(exc)})."
                    ) from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return alerts


def load_account_ids(path: Path) -> set[str]:
    """The `account_id`s of a JSONL file (e.g. accounts.jsonl), for `evaluate(universe=...)`.

    Lines that are not JSON objects with a string `account_id` are skipped, as the simulator's
    files may carry deliberately invalid messages.
    """
    ids: set[str] = set()
    try:
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:  # bad JSON or bad UTF-8
                    continue
                if isinstance(obj, dict) and isinstance(obj.get("account_id"), str):
                    ids.add(obj["account_id"])
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return ids


def write_report(
    ev: Evaluation,
    out_json: Path,
    out_png: Path,
    title: str = "txmon detection quality",
) -> None:
    """Write the JSON report and a bar chart of precision, recall and F1 (PNG, no display)."""
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(ev.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    _chart(ev, title).savefig(out_png, format="png", dpi=100, metadata={"Software": None})


def _chart(ev: Evaluation, title: str) -> Figure:
    # The object API with an explicit Agg canvas: no pyplot, no global backend switch, no window.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = [(code, s) for code, s in sorted(ev.by_typology.items())]
    groups.append(("account level", ev.account_level))
    metrics = (("precision", "#4C72B0"), ("recall", "#DD8452"), ("F1", "#55A868"))
    width = 0.26
    fig = Figure(figsize=(max(6.0, 1.5 * len(groups) + 2.0), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = range(len(groups))
    for i, (name, color) in enumerate(metrics):
        values = [(s.precision, s.recall, s.f1)[i] for _, s in groups]
        bars = ax.bar([x + (i - 1) * width for x in xs], values, width, label=name, color=color)
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    if len(groups) > 1:
        ax.axvline(len(groups) - 1.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(list(xs), [f"{name}\n(support {s.support})" for name, s in groups], fontsize=9)
    ax.set_ylim(0.0, 1.12)  # headroom for the value labels of bars at 1.0
    ax.set_yticks([i / 5 for i in range(6)])
    ax.set_ylabel("score")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    subtitle = f"{ev.alerts} alerts, {ev.account_level.support} labelled accounts"
    if ev.accounts_evaluated is not None:
        subtitle += f", {ev.accounts_evaluated} accounts evaluated"
    ax.set_title(f"{title}\n{subtitle}", fontsize=11)
    return fig


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path} is not valid JSON ({exc}).") from None


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])
