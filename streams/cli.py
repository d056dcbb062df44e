"""The `txmon` command: worker, embedded broker, simulator, replay, schemas and the demo.

Errors a person sees are one sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

__all__ = ["main"]


def _fail(message: str) -> NoReturn:
    click.echo(f"txmon: {message}", err=True)
    sys.exit(2)


def _settings() -> Any:
    from streams.settings import TxmonSettings

    try:
        return TxmonSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "__".join(str(p) for p in err["loc"]).upper()
        _fail(f"configuration TXMON_{where} is invalid: {err['msg']}.")


def _reference(s: Any) -> Any:
    try:
        return s.reference.load()
    except ValueError as exc:
        _fail(f"{exc}.".replace("..", "."))


def _anomaly(s: Any, model: Path | None = None) -> Any:
    try:
        return s.anomaly.load(model)
    except ValueError as exc:
        _fail(f"{exc}.".replace("..", "."))


PROGRESS = click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: when stderr is a terminal).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """txmon: a streaming suspicious-transaction monitor (Kafka + Faust)."""


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the JSON Schemas to (default: the package's schemas/).",
)
@click.option(
    "--check", is_flag=True, help="Exit 1 if the committed schemas differ from the models."
)
def schema(out_dir: Path | None, check: bool) -> None:
    """Write the JSON Schema of every topic's contract."""
    from models.schema import SCHEMA_DIR, render_schemas, write_schemas

    directory = out_dir or SCHEMA_DIR
    if check:
        stale = [
            name
            for name, text in render_schemas().items()
            if not (directory / name).exists()
            or (directory / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            click.echo(
                f"txmon: schemas out of date: {', '.join(stale)}; run `txmon schema`.", err=True
            )
            sys.exit(1)
        click.echo("schemas are up to date")
        return
    for path in write_schemas(directory):
        click.echo(str(path))


@main.command()
@click.option("--port", default=9092, show_default=True, help="Loopback port to listen on.")
def broker(port: int) -> None:
    """Run the embedded Kafka-compatible broker (Tansu) until Ctrl-C."""
    from streams.broker import BrokerError, EmbeddedBroker

    try:
        b = EmbeddedBroker(port=port).start()
    except BrokerError as exc:
        _fail(str(exc))
    click.echo(
        f"Tansu broker listening on {b.bootstrap} (memory storage, pid "
        f"{b.process.pid if b.process else '?'}); Ctrl-C stops it."
    )
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop["now"] and b.process is not None and b.process.poll() is None:
            time.sleep(0.2)
    finally:
        b.stop()
    click.echo("broker stopped")


@main.command()
def topics() -> None:
    """Create the contract topics (inputs, alerts, DLQ) that do not exist yet."""
    from streams.broker import BrokerError, ensure_topics

    s = _settings()
    t = s.topics
    try:
        created = ensure_topics(
            s.kafka.bootstrap_servers,
            [t.transactions, t.accounts, t.indicators, t.alerts, t.dlq],
            t.partitions,
            t.replication,
            s.kafka.aiokafka_security(),
        )
    except BrokerError as exc:
        _fail(str(exc))
    click.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")


@main.command()
def worker() -> None:
    """Run a stream worker with the TXMON_* settings (Ctrl-C or SIGTERM stops it cleanly)."""
    from faust.worker import Worker

    from streams.app import create_app

    s = _settings()
    (s.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    reference = _reference(s)  # a bad list stops the worker here, with one sentence
    anomaly = _anomaly(s)  # and so does a model that fails its checks
    topo = create_app(s, reference=reference, anomaly=anomaly)
    if s.metrics_port:
        try:
            topo.metrics.serve(s.metrics_port)
        except OSError:
            _fail(
                f"metrics port {s.metrics_port} is already in use; set TXMON_METRICS_PORT "
                "to another port or 0 to disable metrics."
            )
    Worker(topo.app, loglevel=s.log_level, quiet=True).execute_from_commandline()


@main.command()
@click.option("--accounts", default=3000, show_default=True, help="Number of accounts.")
@click.option("--days", default=30, show_default=True, help="Days of history.")
@click.option("--seed", default=7, show_default=True)
@click.option("--invalid", default=0, show_default=True, help="Invalid messages to inject.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write transactions/accounts/indicators JSONL and labels.json here.",
)
@click.option("--to-broker", is_flag=True, help="Produce to the TXMON_KAFKA__BROKER topics.")
@click.option("--rate", type=float, default=None, help="Messages per second when producing.")
def simulate(
    accounts: int,
    days: int,
    seed: int,
    invalid: int,
    out_dir: Path | None,
    to_broker: bool,
    rate: float | None,
) -> None:
    """Generate synthetic traffic with injected typologies and a labels file."""
    from streams.simulate import SimulationConfig, produce, simulate, write_files

    if not out_dir and not to_broker:
        _fail("say where the traffic goes: --out DIR, --to-broker, or both.")
    sim = simulate(
        SimulationConfig(accounts=accounts, days=days, seed=seed, invalid_messages=invalid)
    )
    click.echo(
        f"simulated {len(sim.messages)} messages, {len(sim.labels)} labelled accounts", err=True
    )
    if out_dir:
        for name, path in write_files(sim, out_dir).items():
            click.echo(f"{name}: {path}", err=True)
    if to_broker:
        s = _settings()
        t = s.topics
        names = {
            "transactions": t.transactions,
            "accounts": t.accounts,
            "osint.indicators": t.indicators,
        }
        try:
            n = asyncio.run(
                produce(
                    sim,
                    s.kafka.bootstrap_servers,
                    names,
                    rate=rate,
                    security=s.kafka.aiokafka_security(),
                )
            )
        except Exception as exc:
            _fail(f"could not produce to {s.kafka.bootstrap_servers} ({exc}).")
        click.echo(f"produced {n} messages to {s.kafka.bootstrap_servers}", err=True)


@main.command()
@click.option(
    "--transactions",
    "transactions",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--accounts", "accounts", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--indicators", "indicators", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Alerts, one JSON object per line (the fiu.alerts contract); - for stdout.",
)
@click.option(
    "--model",
    "model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Isolation-forest model from `txmon train` (default: TXMON_ANOMALY__MODEL).",
)
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every transaction's calibrated anomaly score here (JSONL), for evaluate.",
)
@PROGRESS
def replay(
    transactions: Path,
    accounts: Path | None,
    indicators: Path | None,
    out: Path,
    model: Path | None,
    scores_path: Path | None,
    progress: bool | None,
) -> None:
    """Run the detectors offline over JSONL files, in event-time order."""
    from streams.replay import EventScore, replay_files

    s = _settings()
    show = sys.stderr.isatty() if progress is None else progress
    anomaly = _anomaly(s, model)
    if scores_path is not None and anomaly is None:
        _fail("--scores needs a model (--model or TXMON_ANOMALY__MODEL).")
    scores: list[EventScore] = []
    params = {
        "detectors_params": s.detectors,
        "jurisdiction": s.jurisdiction,
        "policy_params": s.policy,
        "reference": _reference(s),
        "anomaly": anomaly,
        "scores": scores,
    }
    if str(out) == "-":
        _, report = replay_files(
            transactions, accounts, indicators, sys.stdout.buffer, progress=show, **params
        )
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            _, report = replay_files(
                transactions, accounts, indicators, handle, progress=show, **params
            )
    click.echo(report.summary(), err=True)
    for example in report.invalid_examples:
        click.echo(f"  invalid: {example}", err=True)
    if scores_path is not None:
        import orjson

        scores_path.parent.mkdir(parents=True, exist_ok=True)
        with scores_path.open("wb") as handle:
            for item in scores:
                handle.write(
                    orjson.dumps(
                        {"account_id": item.account_id, "event_id": item.event_id,
                         "score": item.score}
                    )
                    + b"\n"
                )
        click.echo(f"{len(scores)} anomaly scores: {scores_path}", err=True)


@main.command()
@click.option(
    "--transactions",
    "transactions",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="History to learn what is normal from (JSONL, the transactions contract).",
)
@click.option(
    "--accounts", "accounts", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Model file to write (*.skops, with *.skops.sha256 and *.skops.report.json beside).",
)
@click.option("--trees", default=100, show_default=True, help="Trees in the forest.")
@click.option("--max-samples", default=256, show_default=True, help="Rows per tree.")
@click.option("--seed", default=0, show_default=True, help="Random state of the forest.")
@PROGRESS
def train(
    transactions: Path,
    accounts: Path | None,
    out: Path,
    trees: int,
    max_samples: int,
    seed: int,
    progress: bool | None,
) -> None:
    """Fit the isolation-forest anomaly model on history (features as the worker computes them)."""
    from streams.train import train_files

    s = _settings()
    show = sys.stderr.isatty() if progress is None else progress
    try:
        artifact, report = train_files(
            transactions,
            accounts,
            out,
            jurisdiction=s.jurisdiction,
            n_estimators=trees,
            max_samples=max_samples,
            random_state=seed,
            progress=show,
        )
    except ValueError as exc:
        _fail(f"{exc}.".replace("..", "."))
    click.echo(
        f"trained {artifact.model_version} on {report.rows} transactions "
        f"({report.events} events) in {report.seconds:.1f} s: {out} "
        f"(sha256 in {out.name}.sha256, report in {out.name}.report.json)",
        err=True,
    )


@main.command()
@click.option(
    "--labels",
    "labels_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="labels.json from `txmon simulate`: account_id -> [typology, ...].",
)
@click.option(
    "--alerts",
    "alerts_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Alerts, one JSON object per line (from `txmon replay` or fiu.alerts).",
)
@click.option(
    "--accounts",
    "accounts_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="accounts.jsonl: counts the monitored accounts (optional).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evaluation"),
    show_default=True,
    help="Directory for report.json and report.png.",
)
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Anomaly scores from `txmon replay --model M --scores S`: adds ROC-AUC for the "
    "anomaly label and the rule typologies' accounts in the top 1 % of account scores.",
)
def evaluate(
    labels_path: Path,
    alerts_path: Path,
    accounts_path: Path | None,
    out_dir: Path,
    scores_path: Path | None,
) -> None:
    """Precision, recall and F1 per typology and per account, with a JSON report and a chart."""
    from streams.evaluate import evaluate as run
    from streams.evaluate import (
        load_account_ids,
        load_alerts,
        load_labels,
        load_scores,
        write_report,
    )

    try:
        labels = load_labels(labels_path)
        alerts = load_alerts(alerts_path)
        universe = load_account_ids(accounts_path) if accounts_path else None
        scores = load_scores(scores_path) if scores_path else None
    except ValueError as exc:
        _fail(str(exc))
    result = run(labels, alerts, universe=universe, scores=scores)
    click.echo(result.table())
    write_report(result, out_dir / "report.json", out_dir / "report.png")
    click.echo(f"report: {out_dir / 'report.json'}, chart: {out_dir / 'report.png'}", err=True)


@main.command()
@click.option(
    "--seconds",
    type=float,
    default=None,
    help="Stop after this many seconds (default: DEMO_SECONDS or until Ctrl-C).",
)
@click.option("--accounts", default=400, show_default=True, help="Simulated accounts.")
@click.option("--rate", default=400.0, show_default=True, help="Messages per second produced.")
def demo(seconds: float | None, accounts: int, rate: float) -> None:
    """Broker + worker + simulator, showing alerts and metrics live (Ctrl-C stops everything)."""
    from streams.demo import run_demo

    try:
        run_demo(seconds=seconds, accounts=accounts, rate=rate)
    except RuntimeError as exc:
        _fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
