"""`txmon demo`: the embedded broker, a worker and the simulator, with alerts shown as they arrive.

Before the worker starts, the demo makes sure an isolation-forest model exists at
`demo-output/model.skops`: one trained before is reused if it still loads (same features, intact
sha256), otherwise one is trained on a simulated history that is not the demo's traffic (another
seed, an earlier month). The worker runs with it, so `anomaly` alerts appear beside the rules'.

Everything it starts is a child process in its own process group and is stopped on Ctrl-C,
SIGTERM, after `--seconds`/`DEMO_SECONDS`, or on error: nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from models import Alert, DeadLetter
from streams.broker import EmbeddedBroker, ensure_topics_async, free_port, stop_process_group
from streams.settings import AnomalySettings, TopicSettings, TxmonSettings

__all__ = ["WorkerProcess", "ensure_model", "run_demo", "scrape"]

# The history the demo's model learns what is normal from: another seed and the month before
# the demo's traffic (which starts on 2026-10-01), so the model has not seen the demo's events.
# 600 accounts x 30 days: ~27,900 messages, ~17,100 training rows, 4-8 s on 2 cores.
HISTORY_ACCOUNTS = 600
HISTORY_DAYS = 30
HISTORY_SEED = 1007
HISTORY_START = datetime(2026, 9, 1, tzinfo=UTC)

SEVERITY_STYLE = {
    "low": "cyan",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


def scrape(port: int) -> dict[str, float]:
    """The worker's /metrics as `name{labels} -> value` (empty when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:  # noqa: S310
            text = resp.read().decode()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        if line.startswith("txmon_") and " " in line:
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def metric_sum(values: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in values.items() if k == prefix or k.startswith(prefix + "{"))


def anomaly_scores(values: dict[str, float], above: float = 0.995) -> tuple[float, float]:
    """From `txmon_anomaly_score`: how many transactions were scored, and how many above `above`
    (a bucket bound of the histogram)."""
    count = values.get("txmon_anomaly_score_count", 0.0)
    below = values.get(f'txmon_anomaly_score_bucket{{le="{above}"}}', count)
    return count, count - below


def ensure_model(
    out_dir: Path, console: Console, settings: TxmonSettings | None = None
) -> tuple[Path, str, str]:
    """The demo's model: reused when it loads, else trained on simulated history.

    Returns the model's path, its version and the sha256 of its file.
    """
    if settings is None:
        try:
            settings = TxmonSettings()
        except ValidationError as exc:  # the worker would refuse it too: say so in one line
            err = exc.errors()[0]
            where = "__".join(str(p) for p in err["loc"]).upper()
            raise RuntimeError(f"configuration TXMON_{where} is invalid: {err['msg']}") from None
    path = out_dir / "model.skops"
    check = AnomalySettings(model=path, threshold=settings.anomaly.threshold)
    if path.is_file() and path.with_name(path.name + ".sha256").is_file():
        try:
            detector = check.load()
        except ValueError as exc:
            console.print(f"anomaly model {path} cannot be used ({exc}); training a new one ...")
        else:
            assert detector is not None  # noqa: S101 - a model path was given
            console.print(f"anomaly model {detector.version}: reusing {path}")
            return path, detector.version, detector.artifact.file_sha256 or ""
    from streams.simulate import SimulationConfig, simulate, write_files
    from streams.train import train_files

    console.print(
        f"training the anomaly model on simulated history ({HISTORY_ACCOUNTS} accounts x "
        f"{HISTORY_DAYS} days, seed {HISTORY_SEED}; not the demo's traffic) ..."
    )
    started = time.perf_counter()
    history = simulate(
        SimulationConfig(
            accounts=HISTORY_ACCOUNTS, days=HISTORY_DAYS, seed=HISTORY_SEED, start=HISTORY_START
        )
    )
    files = write_files(history, out_dir / "history")
    _, report = train_files(
        files["transactions"], files["accounts"], path, jurisdiction=settings.jurisdiction
    )
    detector = check.load()  # as the worker will load it: sidecar, types and features checked
    assert detector is not None  # noqa: S101 - a model path was given
    console.print(
        f"trained anomaly model {detector.version} on {report.rows} transactions "
        f"({report.events} events) in {time.perf_counter() - started:.1f} s: {path}"
    )
    return path, detector.version, detector.artifact.file_sha256 or ""


class WorkerProcess:
    """`txmon worker` as a child process with its own environment, log file and metrics port."""

    def __init__(
        self,
        bootstrap: str,
        app_id: str,
        data_dir: Path,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        env = dict(os.environ)
        env.update(
            {
                "TXMON_KAFKA__BROKER": bootstrap,
                "TXMON_KAFKA__TANSU_COMPAT": "true",
                "TXMON_APP_ID": app_id,
                "TXMON_METRICS_PORT": str(self.metrics_port),
                "TXMON_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "streams.cli", "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the worker exited during start-up; see {self.log_path}")
            if "txmon worker ready" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the worker was not ready after {timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the worker's process group: a crash, with no flush and no commit."""
        proc, self.process = self.process, None
        stop_process_group(proc, kill=True)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM: Faust flushes its producer and commits before it exits."""
        proc, self.process = self.process, None
        stop_process_group(proc, timeout)


def _alert_line(alert: Alert) -> str:
    sev = alert.severity.value
    style = SEVERITY_STYLE.get(sev, "")
    summary = alert.reasons[0].summary if alert.reasons else ""
    return (
        f"[{style}]{sev.upper():8}[/] {','.join(t.value for t in alert.typologies):14} "
        f"account [bold]{alert.account_id}[/] score {alert.score:.2f}  {summary}"
    )


async def _watch(
    console: Console,
    bootstrap: str,
    topics: TopicSettings,
    metrics_port: int,
    deadline: float | None,
    expected: int,
    expected_assessed: int,
    labels: dict[str, list[str]],
) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topics.alerts,
        topics.dlq,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    alerted: Counter[str] = Counter()
    typologies_by_account: defaultdict[str, set[str]] = defaultdict(set)
    unlabelled_anomaly_alerts = 0
    dlq: Counter[str] = Counter()
    last_status = 0.0
    last_line = ""
    done_said = False

    def summary() -> str:
        hit = [a for a in typologies_by_account if a in labels]
        only_anomaly = sum(typologies_by_account[a] == {"anomaly"} for a in hit)
        unlabelled = [k for a, k in typologies_by_account.items() if a not in labels]
        # anomaly alerts on unlabelled accounts are not rule false positives: counted apart
        by_rules = sum(bool(kinds - {"anomaly"}) for kinds in unlabelled)
        by_anomaly = sum("anomaly" in kinds for kinds in unlabelled)
        by_typology = ", ".join(f"{k} {v}" for k, v in sorted(alerted.items()))
        return (
            f"  accounts with injected typologies alerted: {len(hit)} of {len(labels)} "
            f"({only_anomaly} by the anomaly detector alone)\n"
            f"  alerts by typology: {by_typology or 'none'}\n"
            f"  other accounts alerted by rules: {by_rules}\n"
            f"  anomaly alerts on unlabelled accounts: {unlabelled_anomaly_alerts} "
            f"(on {by_anomaly} accounts)\n"
            f"  messages dead-lettered: {sum(dlq.values())}"
        )

    try:
        while deadline is None or time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                for m in messages:
                    if tp.topic == topics.alerts:
                        alert = Alert.model_validate_json(m.value or b"{}")
                        kinds = {t.value for t in alert.typologies}
                        for t in kinds:
                            alerted[t] += 1
                        typologies_by_account[alert.account_id] |= kinds
                        if "anomaly" in kinds and alert.account_id not in labels:
                            unlabelled_anomaly_alerts += 1
                        console.print(_alert_line(alert), highlight=False, soft_wrap=True)
                    else:
                        record = DeadLetter.model_validate_json(m.value or b"{}")
                        dlq[record.reason.value] += 1
                        console.print(
                            f"[magenta]DLQ     [/] {record.reason.value:14} "
                            f"{record.topic}[{record.partition}]@{record.offset}: "
                            f"{record.error[:110]}",
                            highlight=False,
                            soft_wrap=True,
                        )
            now = time.monotonic()
            if now - last_status >= 5:
                last_status = now
                values = scrape(metrics_port)
                consumed = metric_sum(values, "txmon_events_consumed_total")
                lat_n = values.get("txmon_event_to_alert_latency_seconds_count", 0.0)
                lat_s = values.get("txmon_event_to_alert_latency_seconds_sum", 0.0)
                assessed = metric_sum(values, "txmon_account_events_total")
                mean = f"{lat_s / lat_n * 1000:.0f} ms" if lat_n else "n/a"
                scored, high = anomaly_scores(values)
                anomaly = (
                    f"anomaly-scored {scored:.0f} ({high / scored:.1%} above 0.995), "
                    if scored
                    else ""
                )
                line = (
                    f"[dim]metrics: consumed {consumed:.0f}/{expected}, account stage "
                    f"{assessed:.0f}/{expected_assessed}, dead-lettered "
                    f"{metric_sum(values, 'txmon_dlq_messages_total'):.0f}, {anomaly}alerts "
                    f"{metric_sum(values, 'txmon_alerts_total'):.0f}, mean event-to-alert "
                    f"latency {mean} (http://127.0.0.1:{metrics_port}/metrics)[/]"
                )
                if line != last_line:
                    console.print(line, soft_wrap=True)
                    last_line = line
                if consumed >= expected and assessed >= expected_assessed and not done_said:
                    done_said = True
                    console.print(
                        f"[green]all {expected} messages processed:\n{summary()}\n"
                        "Ctrl-C stops the demo.[/]",
                        soft_wrap=True,
                    )
        if not done_said:  # time is up first: say what was seen so far
            consumed = metric_sum(scrape(metrics_port), "txmon_events_consumed_total")
            console.print(
                f"[yellow]time is up with {consumed:.0f} of {expected} messages consumed; "
                f"so far:\n{summary()}[/]",
                soft_wrap=True,
            )
    finally:
        await consumer.stop()


def _account_stage_events(messages: list[Any]) -> int:
    """How many events the account stage will see: valid messages plus derived payee legs."""
    from detectors import account_legs
    from models import AccountEvent, Transaction, decode

    count = 0
    for m in messages:
        if m.topic == "transactions":
            txn = decode(Transaction, m.value, m.key)
            count += len(account_legs(txn)) if isinstance(txn, Transaction) else 0
        elif m.topic == "accounts":
            count += isinstance(decode(AccountEvent, m.value, m.key), AccountEvent)
    return count


def run_demo(
    seconds: float | None = None,
    accounts: int = 400,
    rate: float = 400.0,
    seed: int = 7,
    out_dir: Path = Path("demo-output"),
) -> None:
    """Run the whole pipeline; return when time is up or on Ctrl-C, having stopped everything."""
    from streams.simulate import SimulationConfig, produce, simulate

    if seconds is None and os.environ.get("DEMO_SECONDS"):
        seconds = float(os.environ["DEMO_SECONDS"])
    console = Console(highlight=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    topics = TopicSettings()
    broker = EmbeddedBroker(log_path=out_dir / "broker.log")
    worker: WorkerProcess | None = None

    def _terminate(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    try:
        model, model_version, model_sha256 = ensure_model(out_dir, console)
        broker.start()
        console.print(
            f"[bold]txmon demo[/]: Tansu broker on {broker.bootstrap}, anomaly model "
            f"{model_version}"
        )
        asyncio.run(
            ensure_topics_async(
                broker.bootstrap,
                [
                    topics.transactions,
                    topics.accounts,
                    topics.indicators,
                    topics.alerts,
                    topics.dlq,
                ],
                topics.partitions,
            )
        )
        data_dir = Path(tempfile.mkdtemp(prefix="txmon-demo-"))
        log_path = out_dir / "worker.log"
        log_path.write_bytes(b"")
        # One worker that never restarts needs no table recovery, so the demo keeps producer
        # batching (Tansu's one-record-per-batch workaround halves throughput) and only takes
        # Tansu's short group joins and fetch waits.
        worker_env = {
            "TXMON_KAFKA__TANSU_COMPAT": "false",
            "TXMON_KAFKA__CONSUMER_FETCH_MAX_WAIT": "0.05",
            "TXMON_KAFKA__SESSION_TIMEOUT": "10",
            "TXMON_KAFKA__HEARTBEAT_INTERVAL": "1",
            "TXMON_ANOMALY__MODEL": str(model.resolve()),
        }
        if model_sha256:  # the file the demo just checked or wrote, whatever the env pins
            worker_env["TXMON_ANOMALY__SHA256"] = model_sha256
        worker_started = time.monotonic()
        worker = WorkerProcess(
            broker.bootstrap, "txmon-demo", data_dir, log_path, extra_env=worker_env
        ).start()
        console.print(
            f"worker starting (log: {log_path}, metrics: "
            f"http://127.0.0.1:{worker.metrics_port}/metrics) ..."
        )
        worker.wait_ready()
        sim = simulate(SimulationConfig(accounts=accounts, seed=seed, invalid_messages=8))
        console.print(
            f"worker ready after {time.monotonic() - worker_started:.0f} s; streaming "
            f"{len(sim.messages)} simulated messages ({len(sim.labels)} accounts with "
            f"injected typologies, 8 invalid messages) at {rate:.0f} messages/s ..."
        )
        deadline = None if seconds is None else started + seconds
        names = {
            "transactions": topics.transactions,
            "accounts": topics.accounts,
            "osint.indicators": topics.indicators,
        }

        async def _run() -> None:
            producer: asyncio.Task[Any] = asyncio.create_task(
                produce(sim, broker.bootstrap, names, rate=rate)
            )
            try:
                await _watch(
                    console,
                    broker.bootstrap,
                    topics,
                    worker.metrics_port,
                    deadline,
                    len(sim.messages),
                    _account_stage_events(sim.messages),
                    sim.labels,
                )
            finally:
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await producer

        asyncio.run(_run())
    except KeyboardInterrupt:
        console.print("\nstopping ...")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if worker is not None:
            worker.stop()
        broker.stop()
        console.print("demo stopped: worker and broker are down.")
