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

Anomaly ranking (with the isolation forest's scores, `txmon replay --model M --scores S`)
    The table above already scores the ``anomaly`` alerts at the model's threshold against the
    ``anomaly`` labels (behaviour no rule targets). The scores add what a threshold hides:

    - an *account score*, the highest calibrated score of the account's transactions (the
      payee legs the monitor derives included). Every account that reported a transaction of
      its own is ranked (not the other banks' accounts seen only as payees); a labelled account
      with none scores 0;
    - ROC-AUC of the account score for ``anomaly``: positives are the accounts labelled
      ``anomaly``, negatives the accounts with no label at all (other typologies' accounts are
      left out); ``sklearn.metrics.roc_auc_score`` (ties count one half). None when either
      side is empty;
    - the top percentile: the accounts whose score is at least the ``ceil(1 % of the ranked
      accounts)``-th highest (ties at the cutoff included, so there may be a few more), and for
      each rule typology how many of its labelled accounts are among them, and their share;
    - who the ``anomaly`` alerts fall on: accounts labelled ``anomaly``, unlabelled accounts
      (false positives of the forest), and accounts labelled with a rule typology only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from models import Alert, Typology

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "AnomalyRanking",
    "Evaluation",
    "Scores",
    "TopCount",
    "evaluate",
    "load_account_ids",
    "load_alerts",
    "load_labels",
    "load_scores",
    "rank_anomalies",
    "write_report",
]

_CODES = frozenset(t.value for t in Typology)
_DIGITS = 4  # decimals of the ratios in the JSON report and the table
_ANOMALY = Typology.ANOMALY.value
#: The share of ranked accounts at the top of the anomaly scores ("the top percentile").
TOP_SHARE = 0.01


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


@dataclass(frozen=True)
class TopCount:
    """How many accounts of one rule typology rank in the anomaly scores' top percentile."""

    labelled: int
    in_top: int

    @property
    def share(self) -> float:
        return self.in_top / self.labelled if self.labelled else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "in_top": self.in_top,
            "labelled": self.labelled,
            "share": round(self.share, _DIGITS),
        }


@dataclass(frozen=True)
class AnomalyRanking:
    """The forest's account scores against the labels (see the module doc)."""

    roc_auc: float | None  # None when there are no positives or no negatives
    positives: int  # accounts labelled anomaly
    negatives: int  # accounts with no label at all
    ranked: int  # accounts with an account score
    top_share: float
    top_cutoff: float | None  # the lowest account score in the top percentile
    top_accounts: int  # accounts at or above the cutoff (ties included)
    top_by_typology: dict[str, TopCount]  # each rule typology in the labels
    alerted: int  # accounts with an anomaly alert
    alerted_labelled: int  # ... labelled anomaly
    alerted_unlabelled: int  # ... with no label at all
    alerted_rule_labelled: int  # ... labelled with rule typologies only
    curve: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())  # ROC: (fpr, tpr)

    def to_json(self) -> dict[str, Any]:
        return {
            "alerted_accounts": {
                "anomaly_labelled": self.alerted_labelled,
                "rule_labelled_only": self.alerted_rule_labelled,
                "total": self.alerted,
                "unlabelled": self.alerted_unlabelled,
            },
            "negatives": self.negatives,
            "positives": self.positives,
            "ranked_accounts": self.ranked,
            "roc_auc": None if self.roc_auc is None else round(self.roc_auc, _DIGITS),
            "top_percentile": {
                "accounts": self.top_accounts,
                "by_typology": {
                    k: self.top_by_typology[k].to_json() for k in sorted(self.top_by_typology)
                },
                "cutoff": None if self.top_cutoff is None else round(self.top_cutoff, 6),
                "share": self.top_share,
            },
        }

    def lines(self) -> list[str]:
        """The plain-text summary printed under the table."""
        auc = "n/a" if self.roc_auc is None else f"{self.roc_auc:.{_DIGITS}f}"
        percent = f"{self.top_share * 100:g} %"
        out = [
            f"anomaly scores: {self.ranked} accounts ranked by their highest transaction score",
            f"  ROC-AUC {auc} ({self.positives} anomaly accounts vs {self.negatives} "
            "unlabelled accounts)",
            f"  anomaly alerts on {self.alerted} accounts: {self.alerted_labelled} labelled "
            f"anomaly, {self.alerted_unlabelled} unlabelled, {self.alerted_rule_labelled} "
            "labelled with rule typologies only",
        ]
        if self.top_cutoff is None:
            out.append(f"  top {percent}: no account ranked")
            return out
        out.append(
            f"  top {percent}: {self.top_accounts} accounts scoring at least "
            f"{self.top_cutoff:.6f}; rule-typology accounts among them:"
        )
        header = ("typology", "labelled", f"in top {percent}", "share")
        rows = [
            (code, str(c.labelled), str(c.in_top), f"{c.share:.{_DIGITS}f}")
            for code, c in sorted(self.top_by_typology.items())
        ] or [("(no rule typology labelled)", "", "", "")]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        for cells in (header, *rows):
            first = cells[0].ljust(widths[0])
            rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
            out.append(("    " + "  ".join((first, *rest))).rstrip())
        return out


@dataclass
class Evaluation:
    """The result of `evaluate`: scores per typology (sorted by code) and at account level."""

    by_typology: dict[str, Scores]  # every typology present in the labels or the alerts
    account_level: Scores
    accounts_evaluated: int | None  # all accounts, when the universe is known
    alerts: int  # distinct alert ids
    anomaly: AnomalyRanking | None = None  # with the forest's scores only

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict with sorted keys and ratios rounded to 4 decimals (the ``anomaly``
        key only with scores)."""
        data: dict[str, Any] = {
            "account_level": self.account_level.to_json(),
            "accounts_evaluated": self.accounts_evaluated,
            "alerts": self.alerts,
            "by_typology": {k: self.by_typology[k].to_json() for k in sorted(self.by_typology)},
        }
        if self.anomaly is not None:
            data["anomaly"] = self.anomaly.to_json()
        return dict(sorted(data.items()))

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
        if self.anomaly is not None:
            lines += ["", *self.anomaly.lines()]
        return "\n".join(lines)


def _row(name: str, s: Scores) -> tuple[str, ...]:
    ratios = (f"{v:.{_DIGITS}f}" for v in (s.precision, s.recall, s.f1))
    return (name, str(s.support), str(s.tp), str(s.fp), str(s.fn), *ratios)


def evaluate(
    labels: Mapping[str, Iterable[str]],
    alerts: Iterable[Alert],
    *,
    universe: Iterable[str] | None = None,
    scores: Mapping[str, float] | None = None,
    top_share: float = TOP_SHARE,
) -> Evaluation:
    """Score `alerts` against `labels` (account id -> typology codes), counting accounts.

    `universe`, when given, is every account id that was monitored; `accounts_evaluated` is then
    the number of distinct accounts in it, the labels and the alerts (otherwise None).
    `scores` (account id -> account score, see `load_scores`) adds the anomaly ranking.
    """
    alerts = list(alerts)
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
        anomaly=(
            None if scores is None else rank_anomalies(labels, alerts, scores, top_share=top_share)
        ),
    )


def rank_anomalies(
    labels: Mapping[str, Iterable[str]],
    alerts: Iterable[Alert],
    scores: Mapping[str, float],
    *,
    top_share: float = TOP_SHARE,
) -> AnomalyRanking:
    """ROC-AUC of the account scores for ``anomaly``, the rule typologies' accounts in the top
    percentile, and who the ``anomaly`` alerts fall on (see the module doc)."""
    if not 0.0 < top_share <= 1.0:
        raise ValueError("top_share must be in (0, 1]")
    codes = {account: {str(c) for c in cs} for account, cs in labels.items()}
    ranked = {account: float(score) for account, score in scores.items()}
    for account, cs in codes.items():
        if cs:
            ranked.setdefault(account, 0.0)  # labelled, never scored: ranks last
    positives = sorted(a for a in ranked if _ANOMALY in codes.get(a, ()))
    negatives = sorted(a for a in ranked if not codes.get(a))
    roc_auc: float | None = None
    curve: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    if positives and negatives:
        from sklearn.metrics import roc_auc_score, roc_curve  # type: ignore[import-untyped]

        truth = [1] * len(positives) + [0] * len(negatives)
        values = [ranked[a] for a in positives] + [ranked[a] for a in negatives]
        roc_auc = float(roc_auc_score(truth, values))
        fpr, tpr, _ = roc_curve(truth, values)
        curve = (tuple(float(x) for x in fpr), tuple(float(x) for x in tpr))

    cutoff: float | None = None
    top: set[str] = set()
    if ranked:
        ordered = sorted(ranked.values(), reverse=True)
        k = max(1, math.ceil(top_share * len(ordered) - 1e-9))
        cutoff = ordered[k - 1]
        top = {a for a, score in ranked.items() if score >= cutoff}
    members: dict[str, set[str]] = {}
    for account, cs in codes.items():
        for code in cs - {_ANOMALY}:
            members.setdefault(code, set()).add(account)
    by_typology = {
        code: TopCount(labelled=len(accounts), in_top=len(accounts & top))
        for code, accounts in sorted(members.items())
    }

    flagged = {a.account_id for a in alerts if Typology.ANOMALY in a.typologies}
    return AnomalyRanking(
        roc_auc=roc_auc,
        positives=len(positives),
        negatives=len(negatives),
        ranked=len(ranked),
        top_share=top_share,
        top_cutoff=cutoff,
        top_accounts=len(top),
        top_by_typology=by_typology,
        alerted=len(flagged),
        alerted_labelled=sum(_ANOMALY in codes.get(a, ()) for a in flagged),
        alerted_unlabelled=sum(not codes.get(a) for a in flagged),
        alerted_rule_labelled=sum(bool(codes.get(a)) and _ANOMALY not in codes[a] for a in flagged),
        curve=curve,
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


def load_scores(path: Path) -> dict[str, float]:
    """Account scores from `txmon replay --scores` (JSONL of ``account_id``, ``event_id`` and
    ``score``, a transaction's calibrated anomaly score in [0, 1]): the highest per account.

    Only accounts that reported a transaction of their own are scored: an account seen only as
    the payee of legs the monitor derived from payers' transfers (``event_id`` ending in
    ``~payee``: a landlord, a utility or a person at another bank) is not one the bank holds.
    Blank lines are skipped; any other line that is not such an object is an error."""
    from detectors.policy import DERIVED_LEG_SUFFIX  # the detectors package loads scikit-learn

    best: dict[str, float] = {}
    own: set[str] = set()
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise ValueError(f"{path}, line {number}: not valid JSON.") from None
                account = obj.get("account_id") if isinstance(obj, dict) else None
                score = obj.get("score") if isinstance(obj, dict) else None
                if (
                    not isinstance(account, str)
                    or isinstance(score, bool)
                    or not isinstance(score, int | float)
                    or not 0.0 <= float(score) <= 1.0
                ):
                    raise ValueError(
                        f"{path}, line {number}: expected an object with a string account_id "
                        "and a score between 0 and 1."
                    )
                if float(score) > best.get(account, -1.0):
                    best[account] = float(score)
                if not str(obj.get("event_id", "")).endswith(DERIVED_LEG_SUFFIX):
                    own.add(account)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return {account: score for account, score in best.items() if account in own}


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
    bars_width = max(6.0, 1.5 * len(groups) + 2.0)
    roc = ev.anomaly is not None and bool(ev.anomaly.curve[0])
    fig = Figure(figsize=(bars_width + (5.0 if roc else 0.0), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    if roc:
        grid = fig.add_gridspec(1, 2, width_ratios=(bars_width, 4.6))
        ax = fig.add_subplot(grid[0, 0])
        _roc_panel(fig.add_subplot(grid[0, 1]), ev.anomaly)
    else:
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


def _roc_panel(ax: Any, ranking: AnomalyRanking | None) -> None:
    """The ROC curve of the account scores for ``anomaly`` (unlabelled accounts as negatives)."""
    if ranking is None:
        return
    fpr, tpr = ranking.curve
    auc = "n/a" if ranking.roc_auc is None else f"{ranking.roc_auc:.3f}"
    ax.plot(fpr, tpr, color="#C44E52", linewidth=1.8, label=f"isolation forest (AUC {auc})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("false positive rate (unlabelled accounts)")
    ax.set_ylabel("true positive rate (anomaly accounts)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(
        f"anomaly: account score = max transaction score\n"
        f"{ranking.positives} anomaly vs {ranking.negatives} unlabelled accounts",
        fontsize=11,
    )


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
