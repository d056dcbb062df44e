"""The Faust topology, top to bottom.

```
transactions ─> validate ─┬─ co-partitioned input: account stage in place ───────────┬─> fiu.alerts
                          └─> <app>-by-account (key account_id; the payee leg of a     │
                              transfer out keyed by the beneficiary) ─> account stage ─┘
accounts ─────> validate ─── the same two routes
osint.indicators ─> validate ─> <app>-by-identifier (key normalised value) ─> identity stage
anything invalid ─> monitor.dlq (untouched, with the reason)
```

The validate agents accept input topics of any partition count and producer partitioner; the
stateful stages read txmon's own re-keyed topics, which are co-partitioned with their tables.
An input message that already sits in the partition the re-keying would choose is assessed in
place (see `local_partition`). Delivery is at least once: Faust flushes the producer (alerts,
dead letters, changelog) before it commits an input offset, and redelivered events are
recognised by `event_id` in the account state, so a restart neither loses nor repeats an alert.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import faust
from aiokafka.partitioner import murmur2
from faust.streams import _current_event
from faust.types import EventT, StreamT
from pydantic import BaseModel, ConfigDict, model_validator

from detectors import (
    AccountState,
    Assessment,
    Outcome,
    account_legs,
    assess,
    assess_finding,
    build_detectors,
    build_identity,
    build_policy,
)
from detectors.anomaly import AnomalyDetector, BehaviourContext
from detectors.assess import decide_finding
from detectors.identity import (
    IdentifierLink,
    IdentityRecord,
    RoutedFinding,
    indicator_key,
    observe_indicator,
    observe_link,
)
from detectors.reference import ReferenceData
from models import (
    AccountEvent,
    DeadLetter,
    DeadLetterReason,
    Indicator,
    Rejection,
    Transaction,
    decode,
)
from streams.metrics import Metrics
from streams.reorder import Countdown, ReorderBuffer
from streams.settings import TxmonSettings

__all__ = ["AccountEnvelope", "IdentityEnvelope", "TableStates", "Topology", "create_app"]

log = logging.getLogger("txmon.worker")


class AccountEnvelope(BaseModel):
    """A validated event on its way to the account stage (txmon's internal by-account topic)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["transaction", "account", "finding"]
    ingested_at: float  # Kafka timestamp of the input message (s), for the latency metric
    transaction: Transaction | None = None
    account: AccountEvent | None = None
    finding: RoutedFinding | None = None  # from the identity stage

    @model_validator(mode="after")
    def _one_event(self) -> AccountEnvelope:
        carried = {
            "transaction": self.transaction,
            "account": self.account,
            "finding": self.finding,
        }
        present = [name for name, value in carried.items() if value is not None]
        if present != [self.kind]:
            raise ValueError(f"an envelope of kind {self.kind!r} must carry exactly that item")
        return self

    @property
    def event(self) -> Transaction | AccountEvent:
        event = self.transaction if self.kind == "transaction" else self.account
        assert event is not None  # noqa: S101 - guaranteed by construction
        return event


class IdentityEnvelope(BaseModel):
    """A link or an indicator on its way to the identity stage (`<app>-by-identifier`)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["link", "indicator"]
    ingested_at: float
    link: IdentifierLink | None = None
    indicator: Indicator | None = None

    @model_validator(mode="after")
    def _one_item(self) -> IdentityEnvelope:
        if (self.link is None) == (self.indicator is None) or (
            (self.kind == "link") != (self.link is not None)
        ):
            raise ValueError(f"an envelope of kind {self.kind!r} must carry exactly that item")
        return self


class TableStates(MutableMapping[str, AccountState]):
    """A Faust table of JSON bytes seen as `account_id -> AccountState` by `assess`.

    The records most recently written by this worker are kept parsed (`cache_size` of them):
    this worker is the only writer of its partitions' keys, so the cache is the table's
    content until the partitions move (`clear_cache` on every rebalance) or an assessment
    fails half-way (`forget`).
    """

    def __init__(self, table: Any, cache_size: int = 10_000) -> None:
        self.table = table
        self.cache_size = cache_size
        self._cache: OrderedDict[str, AccountState] = OrderedDict()

    def _parse(self, key: str) -> AccountState | None:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        raw = self.table.get(key.encode())
        return None if raw is None else AccountState.model_validate_json(raw)

    def __getitem__(self, key: str) -> AccountState:
        state = self._parse(key)
        if state is None:
            raise KeyError(key)
        return state

    def get(self, key: str, default: Any = None) -> Any:
        state = self._parse(key)
        return default if state is None else state

    def __setitem__(self, key: str, value: AccountState) -> None:
        self.table[key.encode()] = value.model_dump_json().encode()
        self._cache[key] = value
        self._cache.move_to_end(key)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        self._cache.pop(key, None)
        del self.table[key.encode()]

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)

    def clear_cache(self) -> None:
        self._cache.clear()

    def __iter__(self) -> Iterator[str]:
        return (k.decode() for k in self.table)

    def __len__(self) -> int:
        return len(self.table)


#: How many parsed identity records the identity stage keeps in memory.
IDENTITY_RECORDS_CACHED = 20_000


def mask(identifier: str) -> str:
    """Log-safe form of an account id: never the whole number."""
    return "…" + identifier[-4:] if len(identifier) > 4 else "…"


@dataclass
class Topology:
    """The app and the handles tests and the CLI need."""

    app: faust.App
    settings: TxmonSettings
    metrics: Metrics
    agents: dict[str, Any]
    topics: dict[str, Any]
    tables: dict[str, Any]
    reorder: ReorderBuffer | None = None  # the account stage's hold, when configured


def _faust_options(settings: TxmonSettings) -> dict[str, Any]:
    k = settings.kafka
    options: dict[str, Any] = {
        "broker": k.faust_broker,
        "store": settings.store,
        "datadir": str(settings.data_dir / "faust"),
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": settings.topics.replication,
        "topic_disable_leader": True,
        "web_enabled": False,
        "producer_linger": k.producer_linger,
        "producer_max_batch_size": k.producer_max_batch_size,
        "broker_session_timeout": k.session_timeout,
        "broker_heartbeat_interval": k.heartbeat_interval,
        "consumer_auto_offset_reset": "earliest",
        "processing_guarantee": "at_least_once",
    }
    if k.tansu_compat:
        options.update(
            producer_max_batch_size=1,
            broker_session_timeout=min(k.session_timeout, 10.0),
            broker_heartbeat_interval=min(k.heartbeat_interval, 1.0),
        )
    context = k.ssl_context()
    if k.security_protocol.startswith("SASL"):
        assert k.sasl_password is not None  # noqa: S101 - validated by KafkaSettings
        options["broker_credentials"] = faust.SASLCredentials(
            username=k.sasl_username,
            password=k.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=k.sasl_mechanism,
        )
    elif context is not None:
        options["broker_credentials"] = faust.SSLCredentials(context)
    return options


def _fetch_max_wait_ms(settings: TxmonSettings) -> int | None:
    k = settings.kafka
    if k.consumer_fetch_max_wait is not None:
        return int(k.consumer_fetch_max_wait * 1000)
    return 50 if k.tansu_compat else None


def _install_fetch_wait_override() -> None:
    """Let an app choose its consumer's fetch wait (faust-streaming 0.15 hard-codes 1,500 ms).

    Tansu answers a long-poll fetch only when the wait runs out, so every hop of the topology
    would hold an event for up to 1.5 s on the embedded broker.
    """
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread, "_txmon_fetch_wait_installed", False):
        return
    original = thread._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        wait = getattr(self.app, "txmon_fetch_max_wait_ms", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = wait
        return consumer

    setattr(thread, "_create_worker_consumer", create_worker_consumer)  # noqa: B010
    setattr(thread, "_txmon_fetch_wait_installed", True)  # noqa: B010


def create_app(
    settings: TxmonSettings,
    metrics: Metrics | None = None,
    reference: ReferenceData | None = None,
    anomaly: AnomalyDetector | None = None,
) -> Topology:
    """Build the Faust app for `settings`; nothing connects until a worker starts it.

    `reference` (the lists `settings.reference` names) and `anomaly` (the model
    `settings.anomaly` names, if any) are loaded here unless given.
    """
    metrics = metrics or Metrics()
    app = faust.App(settings.app_id, **_faust_options(settings))
    fetch_wait = _fetch_max_wait_ms(settings)
    if fetch_wait is not None:
        _install_fetch_wait_override()
        app.txmon_fetch_max_wait_ms = fetch_wait  # type: ignore[attr-defined]
    reference = reference if reference is not None else settings.reference.load()
    detectors = build_detectors(settings.detectors, settings.jurisdiction, reference)
    identity = build_identity(settings.detectors, settings.jurisdiction)
    if anomaly is None:
        anomaly = settings.anomaly.load()
    behaviour = BehaviourContext.of(settings.jurisdiction) if anomaly is not None else None
    policy = build_policy(
        settings.policy,
        detectors,
        model_version=anomaly.version if anomaly is not None else None,
        identity=identity,
    )
    t = settings.topics
    parts = t.partitions
    hold = settings.reorder_hold

    def raw_topic(name: str, **kw: Any) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            **kw,
        )

    transactions_topic = raw_topic(t.transactions)
    accounts_topic = raw_topic(t.accounts)
    indicators_topic = raw_topic(t.indicators)
    alerts_topic = raw_topic(t.alerts)
    dlq_topic = raw_topic(t.dlq)
    by_account_topic = raw_topic(f"{settings.app_id}-by-account", partitions=parts, internal=True)
    by_identifier_topic = raw_topic(
        f"{settings.app_id}-by-identifier", partitions=parts, internal=True
    )
    account_table = app.Table("account-state", key_type=bytes, value_type=bytes, partitions=parts)
    identity_table = app.Table("identity", key_type=bytes, value_type=bytes, partitions=parts)
    states = TableStates(account_table)

    accepted = {
        name: metrics.event_counter(name, "accepted")
        for name in (t.transactions, t.accounts, t.indicators)
    }
    dead = {
        name: metrics.event_counter(name, "dead_lettered")
        for name in (t.transactions, t.accounts, t.indicators)
    }

    # With a reorder hold, input messages are acknowledged by hand once everything they caused
    # is done (see streams/reorder.py); without one, Faust acknowledges each on the next read.
    def events_of(stream: StreamT[bytes]) -> AsyncIterable[EventT]:
        return stream.noack().events() if hold > 0 else stream.events()  # type: ignore[attr-defined]

    def ack(event: EventT) -> None:
        if hold > 0:
            event.ack()

    async def dead_letter(event: EventT, reason: DeadLetterReason, error: str) -> None:
        msg = event.message
        raw, encoding = DeadLetter.encode_raw(msg.value)
        key = None if msg.key is None else DeadLetter.encode_raw(msg.key)[0]
        record = DeadLetter(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=key,
            raw=raw,
            raw_encoding=encoding,
            reason=reason,
            error=error,
            received_at=datetime.now(UTC),
        )
        await dlq_topic.send(key=msg.key, value=record.model_dump_json().encode())
        metrics.dlq.labels(reason.value).inc()
        if msg.topic in dead:
            dead[msg.topic].inc()
        log.warning(
            "dead-lettered topic=%s partition=%s offset=%s reason=%s error=%s",
            msg.topic,
            msg.partition,
            msg.offset,
            reason.value,
            error[:300],
        )

    async def forward(event: EventT, model: type[BaseModel]) -> BaseModel | None:
        """Decode one input message; dead-letter it and return None when it is unacceptable."""
        result = decode(model, event.message.value, event.message.key)
        if isinstance(result, Rejection):
            await dead_letter(event, result.reason, result.error)
            return None
        return result

    route_local = metrics.routes.labels("local")
    route_rekeyed = metrics.routes.labels("rekeyed")

    def local_partition(message: Any, account_id: str) -> bool:
        """Whether this input message already sits where re-keying would put `account_id`.

        True when the input topic has as many partitions as the by-account topic (Faust then
        assigns both topics' partition p, and the state table's, to the same worker) and the
        producer chose the partition with Kafka's default partitioner (murmur2 of the key):
        the account stage can then run here, saving a produce and a consume. Any other
        producer falls back to the re-keying hop, so state is never split.
        """
        if not t.local_account_stage:
            return False
        try:
            count = app.consumer.topic_partitions(message.topic)
        except Exception:
            return False
        if count != parts:
            return False
        return bool(message.partition == (murmur2(account_id.encode()) & 0x7FFFFFFF) % parts)

    # ---- the account stage, behind the reorder hold ------------------------------------------

    @dataclass(slots=True)
    class Held:
        item: Transaction | AccountEvent
        ingested_at: float
        source: EventT  # the message to dead-letter if assessing fails
        done: Callable[[], None]  # acknowledges the message once every part is done

    async def release(batch: list[Held]) -> None:
        await monitor_batch(batch)
        metrics.held.set(len(reorder) if reorder is not None else 0)

    reorder = ReorderBuffer(hold, release, max_held=settings.reorder_max_held) if hold > 0 else None

    async def account_stage(held: Held) -> None:
        if reorder is None:
            await monitor_batch([held])
            return
        await reorder.wait_for_room()  # backpressure: stop reading while the hold is full
        reorder.push(held.item.occurred_at, held)
        metrics.held.set(len(reorder))

    async def to_account_stage(event: EventT, item: Transaction | AccountEvent,
                               done: Callable[[], None]) -> None:
        ingested = event.message.timestamp
        if local_partition(event.message, item.account_id):
            route_local.inc()
            await account_stage(Held(item, ingested, event, done))
            return
        route_rekeyed.inc()
        if isinstance(item, Transaction):
            env = AccountEnvelope(kind="transaction", ingested_at=ingested, transaction=item)
        else:
            env = AccountEnvelope(kind="account", ingested_at=ingested, account=item)
        await by_account_topic.send(
            key=item.account_id.encode(), value=env.model_dump_json(exclude_none=True).encode()
        )
        done()

    @app.agent(transactions_topic, name="validate-transactions")
    async def validate_transactions(stream: StreamT[bytes]) -> None:
        async for event in events_of(stream):
            try:
                txn = await forward(event, Transaction)
                if txn is None:
                    ack(event)
                    continue
                assert isinstance(txn, Transaction)  # noqa: S101
                legs = account_legs(txn)
                parts_done = Countdown(len(legs), functools.partial(ack, event))
                for leg in legs:
                    await to_account_stage(event, leg, parts_done.part_done)
                accepted[t.transactions].inc()
            except Exception as exc:  # a worker never dies on one message
                log.exception("failed to process a transaction message")
                await dead_letter(event, DeadLetterReason.PROCESSING, _one_line(exc))
                ack(event)

    @app.agent(accounts_topic, name="validate-accounts")
    async def validate_accounts(stream: StreamT[bytes]) -> None:
        async for event in events_of(stream):
            try:
                acct = await forward(event, AccountEvent)
                if acct is None:
                    ack(event)
                    continue
                assert isinstance(acct, AccountEvent)  # noqa: S101
                await to_account_stage(event, acct, functools.partial(ack, event))
                accepted[t.accounts].inc()
            except Exception as exc:
                log.exception("failed to process an account message")
                await dead_letter(event, DeadLetterReason.PROCESSING, _one_line(exc))
                ack(event)

    @app.agent(indicators_topic, name="validate-indicators")
    async def validate_indicators(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                ind = await forward(event, Indicator)
                if ind is None:
                    continue
                assert isinstance(ind, Indicator)  # noqa: S101
                if identity is not None:
                    env = IdentityEnvelope(
                        kind="indicator", ingested_at=event.message.timestamp, indicator=ind
                    )
                    await by_identifier_topic.send(
                        key=indicator_key(ind, identity.region).encode(),
                        value=env.model_dump_json(exclude_none=True).encode(),
                    )
                accepted[t.indicators].inc()
            except Exception as exc:
                log.exception("failed to process an indicator message")
                await dead_letter(event, DeadLetterReason.PROCESSING, _one_line(exc))

    identity_observed = {k: metrics.identity.labels(k) for k in ("link", "indicator")}
    # parsed records of the identifiers this worker owns (cleared when partitions move)
    identity_records: OrderedDict[bytes, IdentityRecord] = OrderedDict()

    @app.agent(by_identifier_topic, name="identity-stage")
    async def identity_stage(stream: StreamT[bytes]) -> None:
        """The joins on one normalised identifier: shared identities and OSINT matches."""
        async for event in stream.events():
            try:
                key = event.message.key
                env = IdentityEnvelope.model_validate_json(event.message.value)
                if identity is None or key is None:
                    continue
                before = identity_records.get(key)
                if before is None:
                    raw = identity_table.get(key)
                    before = (
                        IdentityRecord()
                        if raw is None
                        else IdentityRecord.model_validate_json(raw)
                    )
                if env.link is not None:
                    record, routed = observe_link(env.link, before, identity)
                else:
                    assert env.indicator is not None  # noqa: S101 - by construction
                    record, routed = observe_indicator(env.indicator, before, identity)
                identity_observed[env.kind].inc()
                pending = [
                    await by_account_topic.send(
                        key=r.account_id.encode(),
                        value=AccountEnvelope(
                            kind="finding", ingested_at=env.ingested_at, finding=r
                        ).model_dump_json(exclude_none=True).encode(),
                    )
                    for r in routed
                ]
                for sent in pending:
                    await sent  # acknowledged before the record remembers the link
                if record is not before:  # a link already known, or a full record: no write
                    identity_table[key] = record.model_dump_json().encode()
                identity_records[key] = record  # records are never changed in place
                identity_records.move_to_end(key)
                if len(identity_records) > IDENTITY_RECORDS_CACHED:
                    identity_records.popitem(last=False)
            except Exception as exc:
                log.exception("failed to join an identifier")
                await dead_letter(event, DeadLetterReason.PROCESSING, _one_line(exc))

    outcome_counters = {
        o: metrics.account_events.labels(o) for o in ("assessed", "duplicate", "duplicate_leg")
    }

    @app.agent(by_account_topic, name="account-monitor")
    async def account_monitor(stream: StreamT[bytes]) -> None:
        async for event in events_of(stream):
            try:
                env = AccountEnvelope.model_validate_json(event.message.value or b"")
                if env.finding is not None:
                    await monitor_finding(env.finding, env.ingested_at)
                    ack(event)
                else:
                    await account_stage(
                        Held(env.event, env.ingested_at, event, functools.partial(ack, event))
                    )
            except Exception as exc:
                log.exception("failed to assess an event")
                await dead_letter(event, DeadLetterReason.PROCESSING, _one_line(exc))
                ack(event)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def before_revoke(app: Any, revoked: Any, **kwargs: Any) -> None:
        # Assess what is held now, while this worker still owns its partitions' state; then
        # forget the parsed records: partitions may move, and the table is the truth again.
        if reorder is not None:
            await reorder.release_all()
        states.clear_cache()
        identity_records.clear()

    if reorder is not None:
        held_buffer = reorder

        @app.task
        async def release_held_events() -> None:
            await held_buffer.run()

    # Three agents and the release task reach the account stage; one lock keeps each
    # read-assess-publish-write of the state from interleaving with another at the await on
    # the alert's acknowledgement (a lost update otherwise).
    account_stage_lock = asyncio.Lock()

    async def monitor_batch(batch: list[Held]) -> None:
        """The account stage for the events released together, in their (event-time) order.

        Each event is assessed against a staged copy of its account's state (shared by the
        batch's events of one account); alerts and identifier links are sent for the whole
        batch, and only once the broker has acknowledged all of them are the states written
        (they mark the events as seen) and the input messages acknowledged. A crash in between
        redelivers the events and re-raises the same alerts instead of losing them; waiting
        once per batch, not once per event, keeps the broker's round trip off each event.
        """
        async with account_stage_lock:
            staged: dict[str, AccountState] = {}
            written: dict[str, EventT] = {}  # account -> a message of its partition
            results: list[tuple[Assessment, float]] = []
            pending: list[Any] = []
            rows: list[tuple[Transaction, list[float], float]] = []
            for held in batch:
                key = held.item.account_id
                try:
                    if key not in staged:
                        current = states.get(key)
                        if current is not None:
                            staged[key] = current
                    result = assess(
                        held.item,
                        detectors,
                        staged,
                        policy,
                        timer=metrics.observe_detector,
                        identity=identity,
                        behaviour=behaviour,
                    )
                    if result.features is not None and isinstance(held.item, Transaction):
                        rows.append((held.item, result.features, held.ingested_at))
                    pending.extend(await send_alerts(result))
                    pending.extend(await send_links(result.links, held.ingested_at))
                    results.append((result, held.ingested_at))
                    if result.outcome is not Outcome.DUPLICATE:
                        written[key] = held.source
                except Exception as exc:  # a worker never dies on one message
                    log.exception("failed to assess an event")
                    states.forget(key)  # its parsed record may be half-updated
                    await dead_letter(held.source, DeadLetterReason.PROCESSING, _one_line(exc))
            if anomaly is not None and rows:
                # one vectorised call for the batch; a row's score does not depend on it
                started = time.perf_counter()
                calibrated = anomaly.score([row for _, row, _ in rows])
                metrics.anomaly_batch.observe(time.perf_counter() - started)
                for (txn, row, ingested_at), value in zip(rows, calibrated, strict=True):
                    metrics.anomaly_score.observe(float(value))
                    finding = anomaly.finding(txn, row, float(value))
                    if finding is None:
                        continue
                    decided = decide_finding(txn.account_id, finding, staged, policy)
                    pending.extend(await send_alerts(decided))
                    results.append((decided, ingested_at))
            try:
                for sent in pending:
                    await sent  # broker acknowledgements, before the states are written
            except Exception as exc:
                # Alerts or links not acknowledged: neither write the states nor acknowledge
                # the input; stop the worker so that the input is redelivered on restart.
                log.critical("the broker did not acknowledge this batch's alerts; stopping")
                states.clear_cache()
                await app.crash(exc)
                return
            for key, source in written.items():
                # a table write goes to the changelog partition of the current event
                _current_event.set(weakref.ref(source))
                states[key] = staged[key]
            for held in batch:
                held.done()
            for result, ingested_at in results:
                observe(result, ingested_at)

    async def monitor_finding(routed: RoutedFinding, ingested_at: float) -> None:
        """The account stage for a finding the identity stage addressed to this account."""
        key = routed.account_id
        async with account_stage_lock:
            staged: dict[str, AccountState] = {}
            current = states.get(key)
            if current is not None:
                staged[key] = current
            result = assess_finding(routed, staged, policy)
            for sent in await send_alerts(result):
                await sent
            if result.outcome is not Outcome.DUPLICATE:
                states[key] = staged[key]
            observe(result, ingested_at)

    async def send_links(links: list[IdentifierLink], ingested_at: float) -> list[Any]:
        return [
            await by_identifier_topic.send(
                key=link.key.encode(),
                value=IdentityEnvelope(kind="link", ingested_at=ingested_at, link=link)
                .model_dump_json(exclude_none=True)
                .encode(),
            )
            for link in links
        ]

    async def send_alerts(result: Assessment) -> list[Any]:
        """Hand the alerts to the producer; the caller awaits their acknowledgements."""
        return [
            await alerts_topic.send(
                key=alert.account_id.encode(), value=alert.model_dump_json().encode()
            )
            for alert in result.alerts
        ]

    def observe(result: Assessment, ingested_at: float) -> None:
        """Metrics and the log line of alerts already acknowledged by the broker."""
        outcome_counters[result.outcome.value].inc()
        for finding in result.findings:
            metrics.findings.labels(finding.typology.value).inc()
        for finding in result.suppressed:
            metrics.suppressed.labels(finding.typology.value).inc()
        for alert in result.alerts:
            for typology in alert.typologies:
                metrics.alerts.labels(typology.value).inc()
            metrics.latency.observe(max(0.0, time.time() - ingested_at))
            log.info(
                "alert alert_id=%s account=%s typologies=%s score=%.2f severity=%s",
                alert.alert_id,
                mask(alert.account_id),
                ",".join(x.value for x in alert.typologies),
                alert.score,
                alert.severity.value,
            )

    @app.task
    async def announce() -> None:
        j = settings.jurisdiction
        metrics.reference_date.labels(
            policy.detector_versions["ruleset"], j.country, j.currency
        ).set(1)
        for source in reference.sources():
            metrics.reference_lists.labels(source.name, source.as_of).set(source.entries)
            as_of = _date_timestamp(source.as_of)
            if as_of is not None:
                metrics.reference_as_of.labels(source.name).set(as_of)
            log.info(
                "reference list %s as_of=%s entries=%d source=%s",
                source.name,
                source.as_of,
                source.entries,
                source.source,
            )
        log.info(
            "txmon worker ready: app_id=%s broker=%s detectors=%s ruleset=%s jurisdiction=%s "
            "currency=%s cash_threshold=%s model=%s inputs=%s,%s,%s alerts=%s dlq=%s",
            settings.app_id,
            settings.kafka.bootstrap_servers,
            ",".join(d.name for d in detectors),
            policy.detector_versions["ruleset"],
            j.country,
            j.currency,
            j.cash_reporting_threshold,
            f"{anomaly.version}@{anomaly.params.threshold}" if anomaly is not None else "none",
            t.transactions,
            t.accounts,
            t.indicators,
            t.alerts,
            t.dlq,
        )

    return Topology(
        app=app,
        settings=settings,
        metrics=metrics,
        agents={
            "validate_transactions": validate_transactions,
            "validate_accounts": validate_accounts,
            "validate_indicators": validate_indicators,
            "identity_stage": identity_stage,
            "account_monitor": account_monitor,
        },
        topics={
            "transactions": transactions_topic,
            "accounts": accounts_topic,
            "indicators": indicators_topic,
            "alerts": alerts_topic,
            "dlq": dlq_topic,
            "by_account": by_account_topic,
            "by_identifier": by_identifier_topic,
        },
        tables={"account_state": account_table, "identity": identity_table},
        reorder=reorder,
    )


def _date_timestamp(text: str) -> float | None:
    """Unix time of a list's `YYYY-MM-DD` (or `YYYY-MM`) date, None when it has none."""
    for layout in ("%Y-%m-%d", "%Y-%m"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]
