"""`txmon demo`: the embedded broker, a worker and the simulator, with alerts shown as they arrive.

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
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console

from models import Alert, DeadLetter
from streams.broker import EmbeddedBroker, ensure_topics_async, free_port, stop_process_group
from streams.settings import TopicSettings

__all__ = ["WorkerProcess", "run_demo", "scrape"]

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
    alerted_accounts: set[str] = set()
    dlq: Counter[str] = Counter()
    last_status = 0.0
    last_line = ""
    done_said = False
    try:
        while deadline is None or time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                for m in messages:
                    if tp.topic == topics.alerts:
                        alert = Alert.model_validate_json(m.value or b"{}")
                        for t in alert.typologies:
                            alerted[t.value] += 1
                        alerted_accounts.add(alert.account_id)
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
                line = (
                    f"[dim]metrics: consumed {consumed:.0f}/{expected}, account stage "
                    f"{assessed:.0f}/{expected_assessed}, dead-lettered "
                    f"{metric_sum(values, 'txmon_dlq_messages_total'):.0f}, alerts "
                    f"{metric_sum(values, 'txmon_alerts_total'):.0f}, mean event-to-alert "
                    f"latency {mean} (http://127.0.0.1:{metrics_port}/metrics)[/]"
                )
                if line != last_line:
                    console.print(line, soft_wrap=True)
                    last_line = line
                if consumed >= expected and assessed >= expected_assessed and not done_said:
                    done_said = True
                    hit = len(set(labels) & alerted_accounts)
                    false = len(alerted_accounts - set(labels))
                    by_typology = ", ".join(f"{k} {v}" for k, v in sorted(alerted.items()))
                    console.print(
                        f"[green]all {expected} messages processed: {hit} of {len(labels)} "
                        f"accounts with injected typologies alerted ({by_typology}), {false} "
                        f"other accounts alerted, {sum(dlq.values())} messages dead-lettered. "
                        f"Ctrl-C stops the demo.[/]",
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
        broker.start()
        console.print(f"[bold]txmon demo[/]: Tansu broker on {broker.bootstrap}")
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
        worker = WorkerProcess(
            broker.bootstrap,
            "txmon-demo",
            data_dir,
            log_path,
            extra_env={
                "TXMON_KAFKA__TANSU_COMPAT": "false",
                "TXMON_KAFKA__CONSUMER_FETCH_MAX_WAIT": "0.05",
                "TXMON_KAFKA__SESSION_TIMEOUT": "10",
                "TXMON_KAFKA__HEARTBEAT_INTERVAL": "1",
            },
        ).start()
        console.print(
            f"worker starting (log: {log_path}, metrics: "
            f"http://127.0.0.1:{worker.metrics_port}/metrics) ..."
        )
        worker.wait_ready()
        sim = simulate(SimulationConfig(accounts=accounts, seed=seed, invalid_messages=8))
        console.print(
            f"worker ready after {time.monotonic() - started:.0f} s; streaming "
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
