"""The Faust wiring, without a broker: each agent driven through `agent.test_context()`.

Outgoing sends are captured instead of produced, and table writes are recorded instead of
sent to their changelog, in one list (so the order of effects can be checked too). These check
routing, dead-lettering and the account stage in milliseconds; the same claims are checked
against the real broker in test_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import patch

import pytest
from aiokafka.partitioner import murmur2
from faust.tables.table import Table
from faust.topics import Topic

from models import Alert, DeadLetter, DeadLetterReason, Transaction
from streams.app import AccountEnvelope, Topology, create_app
from streams.replay import replay
from streams.settings import TxmonSettings

Sent = list[tuple[str, bytes | None, bytes]]


@pytest.fixture
async def topology() -> AsyncIterator[tuple[Topology, Sent]]:
    async for built in _topology(reorder_hold=0):
        yield built


@pytest.fixture
async def held_topology() -> AsyncIterator[tuple[Topology, Sent]]:
    """The account stage behind a reorder hold too long to end by itself in a test."""
    async for built in _topology(reorder_hold=60):
        yield built


async def _topology(reorder_hold: float) -> AsyncIterator[tuple[Topology, Sent]]:
    topo = create_app(
        TxmonSettings(
            app_id="txmon-unit", store="memory://", metrics_port=0, reorder_hold=reorder_hold
        )
    )
    app = topo.app
    app.loop = asyncio.get_running_loop()
    app.finalize()
    app.flow_control.resume()
    sent: Sent = []

    async def capture(self: Topic, *, key: Any = None, value: Any = None,
                      **_: Any) -> asyncio.Future[None]:
        sent.append((self.get_topic_name(), key, value))
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered

    def changelog(self: Table, key: Any, value: Any) -> None:
        sent.append(("changelog", key, value))

    with (
        patch.object(Topic, "send", capture),
        patch.object(Table, "on_key_set", changelog),
    ):
        for table in topo.tables.values():
            table.data.clear()
        yield topo, sent


def deposit(event_id: str, day: int, amount: str = "95000.00", account: str = "A1") -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "occurred_at": f"2026-11-{day:02d}T10:00:00Z",
            "account_id": account,
            "kind": "cash_deposit",
            "direction": "in",
            "amount": amount,
            "currency": "MAD",
        }
    ).encode()


def to(sent: Sent, topic: str) -> list[tuple[bytes | None, bytes]]:
    return [(k, v) for t, k, v in sent if t == topic]


async def test_valid_transaction_is_forwarded_keyed_by_account(topology):
    topo, sent = topology
    async with topo.agents["validate_transactions"].test_context() as agent:
        await agent.put(deposit("e1", 1), key=b"A1")
    forwarded = to(sent, "txmon-unit-by-account")
    assert [k for k, _ in forwarded] == [b"A1"]
    env = AccountEnvelope.model_validate_json(forwarded[0][1])
    assert env.event.event_id == "e1"
    assert to(sent, "monitor.dlq") == []


async def test_transfer_out_is_also_forwarded_to_the_beneficiary(topology):
    topo, sent = topology
    transfer = json.dumps(
        {
            "event_id": "t1",
            "occurred_at": "2026-11-01T10:00:00Z",
            "account_id": "PAYER",
            "kind": "transfer",
            "direction": "out",
            "amount": 500,
            "currency": "MAD",
            "counterparty": {"account_id": "PAYEE", "bank": "BANK2"},
        }
    ).encode()
    async with topo.agents["validate_transactions"].test_context() as agent:
        await agent.put(transfer, key=b"PAYER")
    forwarded = to(sent, "txmon-unit-by-account")
    assert [k for k, _ in forwarded] == [b"PAYER", b"PAYEE"]
    payee = AccountEnvelope.model_validate_json(forwarded[1][1]).event
    assert payee.account_id == "PAYEE"
    assert payee.direction.value == "in"


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        (b"{not json", b"A1", DeadLetterReason.BAD_JSON),
        (b"\xff\xfe\x00", b"A1", DeadLetterReason.BAD_JSON),
        (deposit("e1", 1, amount="-5"), b"A1", DeadLetterReason.SCHEMA),
        (deposit("e1", 1), b"SOMEONE-ELSE", DeadLetterReason.KEY_MISMATCH),
        (deposit("e1", 1), None, DeadLetterReason.KEY_MISMATCH),
    ],
    ids=["bad-json", "not-utf8", "negative-amount", "key-differs", "no-key"],
)
async def test_unacceptable_transactions_go_to_the_dlq_untouched(topology, value, key, reason):
    topo, sent = topology
    async with topo.agents["validate_transactions"].test_context() as agent:
        await agent.put(value, key=key)
    assert to(sent, "txmon-unit-by-account") == []
    ((dlq_key, dlq_value),) = to(sent, "monitor.dlq")
    record = DeadLetter.model_validate_json(dlq_value)
    assert record.reason is reason
    raw, encoding = DeadLetter.encode_raw(value)
    assert (record.raw, record.raw_encoding) == (raw, encoding)
    assert record.error


async def test_invalid_account_and_indicator_messages_are_dead_lettered(topology):
    topo, sent = topology
    async with topo.agents["validate_accounts"].test_context() as agent:
        await agent.put(
            b'{"event_id": "a1", "account_id": "A1", "kind": "opened", '
            b'"occurred_at": "2026-11-01T10:00:00Z"}',
            key=b"A1",
        )
    async with topo.agents["validate_indicators"].test_context() as agent:
        await agent.put(b'{"indicator_id": "i1"}', key=b"x")
    reasons = [DeadLetter.model_validate_json(v).error for _, v in to(sent, "monitor.dlq")]
    assert len(reasons) == 2
    assert "customer is required" in reasons[0]


async def test_indicator_is_rekeyed_by_normalised_value(topology):
    topo, sent = topology
    indicator = json.dumps(
        {
            "indicator_id": "i1",
            "observed_at": "2026-11-01T10:00:00Z",
            "type": "email",
            "value": "Pimp@Example.ORG",
            "typology": "human_trafficking",
            "source": "escort-ad",
        }
    ).encode()
    async with topo.agents["validate_indicators"].test_context() as agent:
        await agent.put(indicator, key=b"Pimp@Example.ORG")
    assert [k for k, _ in to(sent, "txmon-unit-by-identifier")] == [b"email:pimp@example.org"]


async def test_account_stage_alerts_once_and_ignores_redelivery(topology):
    topo, sent = topology

    def envelope(raw: bytes) -> bytes:
        return json.dumps(
            {"kind": "transaction", "ingested_at": 0.0, "transaction": json.loads(raw)}
        ).encode()

    async with topo.agents["account_monitor"].test_context() as agent:
        for event_id, day in [("d1", 1), ("d2", 2), ("d3", 3), ("d3", 3), ("d4", 4)]:
            await agent.put(envelope(deposit(event_id, day)), key=b"A1")
    alerts = [Alert.model_validate_json(v) for _, v in to(sent, "fiu.alerts")]
    assert len(alerts) == 1
    assert alerts[0].transaction_ids == ["d1", "d2", "d3"]
    metrics = topo.metrics.registry
    assert metrics.get_sample_value("txmon_account_events_total", {"outcome": "duplicate"}) == 1
    assert (
        metrics.get_sample_value("txmon_findings_suppressed_total", {"typology": "structuring"})
        == 1
    )


async def test_account_stage_dead_letters_an_envelope_it_cannot_read(topology):
    topo, sent = topology
    async with topo.agents["account_monitor"].test_context() as agent:
        await agent.put(b'{"kind": "transaction"}', key=b"A1")
    ((_, value),) = to(sent, "monitor.dlq")
    assert DeadLetter.model_validate_json(value).reason is DeadLetterReason.PROCESSING


async def test_state_is_written_only_after_the_alert_is_acknowledged(topology):
    """A crash between the two must redeliver the event (and re-raise the alert), not lose it."""
    topo, sent = topology

    def envelope(event_id: str, day: int) -> bytes:
        return json.dumps({"kind": "transaction", "ingested_at": 0.0,
                           "transaction": json.loads(deposit(event_id, day))}).encode()

    async with topo.agents["account_monitor"].test_context() as agent:
        for event_id, day in [("d1", 1), ("d2", 2), ("d3", 3)]:
            await agent.put(envelope(event_id, day), key=b"A1")
    order = [topic for topic, _, _ in sent]
    assert order == ["changelog", "changelog", "fiu.alerts", "changelog"]


def home_partition(account: str, partitions: int = 4) -> int:
    """Where Kafka's default partitioner (and txmon's re-keying) puts this account."""
    return (murmur2(account.encode()) & 0x7FFFFFFF) % partitions


@pytest.fixture
def copartitioned_inputs(topology):
    """The input topics have as many partitions as txmon's by-account topic."""
    topo, _ = topology
    with patch.object(type(topo.app.consumer), "topic_partitions", lambda self, topic: 4):
        yield


async def test_copartitioned_input_is_assessed_where_it_arrives(topology, copartitioned_inputs):
    topo, sent = topology
    home = home_partition("A1")
    async with topo.agents["validate_transactions"].test_context() as agent:
        for event_id, day in [("d1", 1), ("d2", 2), ("d3", 3)]:
            await agent.put(deposit(event_id, day), key=b"A1", partition=home)
    assert to(sent, "txmon-unit-by-account") == []  # no re-keying hop
    assert [topic for topic, _, _ in sent] == ["changelog", "changelog", "fiu.alerts",
                                               "changelog"]
    (_, value), = to(sent, "fiu.alerts")
    assert Alert.model_validate_json(value).transaction_ids == ["d1", "d2", "d3"]


async def test_input_in_another_partition_still_takes_the_rekeying_hop(
        topology, copartitioned_inputs):
    """A producer with another partitioner must not split an account's state."""
    topo, sent = topology
    elsewhere = (home_partition("A1") + 1) % 4
    async with topo.agents["validate_transactions"].test_context() as agent:
        await agent.put(deposit("d1", 1), key=b"A1", partition=elsewhere)
    assert [k for k, _ in to(sent, "txmon-unit-by-account")] == [b"A1"]
    assert to(sent, "changelog") == []


async def test_inputs_with_another_partition_count_take_the_hop(topology):
    topo, sent = topology
    with patch.object(type(topo.app.consumer), "topic_partitions", lambda self, topic: 12):
        async with topo.agents["validate_transactions"].test_context() as agent:
            await agent.put(deposit("d1", 1), key=b"A1", partition=home_partition("A1"))
    assert [k for k, _ in to(sent, "txmon-unit-by-account")] == [b"A1"]


async def test_account_stage_does_not_interleave_while_an_alert_awaits_its_ack(
        topology, copartitioned_inputs):
    """An event for the same account arriving through another agent waits for the first one,
    so neither state update is lost."""
    topo, sent = topology
    loop = asyncio.get_running_loop()
    ack: asyncio.Future[None] = loop.create_future()

    async def slow_alert_ack(self: Topic, *, key: Any = None, value: Any = None,
                             **_: Any) -> asyncio.Future[None]:
        sent.append((self.get_topic_name(), key, value))
        if self.get_topic_name() == "fiu.alerts":
            return ack
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        return done

    def envelope(event_id: str, day: int) -> bytes:
        return json.dumps({"kind": "transaction", "ingested_at": 0.0,
                           "transaction": json.loads(deposit(event_id, day))}).encode()

    home = home_partition("A1")
    with patch.object(Topic, "send", slow_alert_ack):
        async with topo.agents["account_monitor"].test_context() as monitor, \
                topo.agents["validate_transactions"].test_context() as validate:
            await monitor.put(envelope("d1", 1), key=b"A1")
            await monitor.put(envelope("d2", 2), key=b"A1")
            third = asyncio.create_task(monitor.put(envelope("d3", 3), key=b"A1"))
            while not to(sent, "fiu.alerts"):
                await asyncio.sleep(0.01)  # the third deposit's alert is awaiting its ack
            await validate.put(deposit("d4", 4), key=b"A1", partition=home)
            await asyncio.sleep(0.05)
            writes = [v for t, _, v in sent if t == "changelog"]
            assert len(writes) == 2  # d1, d2: neither d3 (awaiting its ack) nor d4 (waiting)
            ack.set_result(None)
            await third
            for _ in range(100):
                if len([1 for t, _, _ in sent if t == "changelog"]) == 4:
                    break
                await asyncio.sleep(0.01)
    writes = [json.loads(v)["seen_events"] for t, _, v in sent if t == "changelog"]
    assert [len(w) for w in writes] == [1, 2, 3, 4]  # each write builds on the previous one


async def test_held_events_are_assessed_in_event_time_order(held_topology):
    """Deposits arriving in reverse event-time order within the hold are assessed as replay
    assesses them (by event time), and the input messages are acknowledged only then."""
    topo, sent = held_topology

    def envelope(raw: bytes) -> bytes:
        return json.dumps(
            {"kind": "transaction", "ingested_at": 0.0, "transaction": json.loads(raw)}
        ).encode()

    raws = [deposit(f"d{day}", day) for day in (1, 2, 3, 4)]
    async with topo.agents["account_monitor"].test_context() as agent:
        for raw in reversed(raws):
            await agent.put(envelope(raw), key=b"A1")
        assert topo.reorder is not None and len(topo.reorder) == 4
        assert to(sent, "fiu.alerts") == []  # nothing assessed while held
        assert await topo.reorder.release_all() == 4
    alerts = [Alert.model_validate_json(v) for _, v in to(sent, "fiu.alerts")]
    expected = replay([Transaction.model_validate_json(raw) for raw in raws])
    assert [a.model_dump_json() for a in alerts] == [a.model_dump_json() for a in expected]
    assert alerts[0].transaction_ids == ["d1", "d2", "d3"]


def opened(account: str, name: str, document: str) -> bytes:
    return json.dumps(
        {
            "kind": "account",
            "ingested_at": 0.0,
            "account": {
                "event_id": f"open-{account}",
                "occurred_at": "2026-11-01T10:00:00Z",
                "account_id": account,
                "kind": "opened",
                "customer": {"name": name, "id_document": document},
            },
        }
    ).encode()


async def test_identifiers_travel_to_the_identity_stage_and_findings_back(topology):
    """Account stage -> by-identifier (links) -> identity stage -> by-account (findings) ->
    account stage -> fiu.alerts: one document under two names alerts both accounts once."""
    topo, sent = topology
    async with topo.agents["account_monitor"].test_context() as agent:
        await agent.put(opened("A1", "Amina Tazi", "doc-77"), key=b"A1")
        await agent.put(opened("A2", "Karim Idrissi", "doc-77"), key=b"A2")
    links = to(sent, "txmon-unit-by-identifier")
    assert {k for k, _ in links} >= {b"document:doc-77", b"name:amina tazi"}
    async with topo.agents["identity_stage"].test_context() as agent:
        for key, value in links:
            await agent.put(value, key=key)
            await agent.put(value, key=key)  # a redelivered link changes nothing
    findings = [
        (k, AccountEnvelope.model_validate_json(v))
        for k, v in to(sent, "txmon-unit-by-account")
    ]
    assert sorted(k for k, _ in findings) == [b"A1", b"A2"]
    async with topo.agents["account_monitor"].test_context() as agent:
        for key, env in findings * 2:  # and a redelivered finding neither
            await agent.put(env.model_dump_json().encode(), key=key)
    alerts = [Alert.model_validate_json(v) for _, v in to(sent, "fiu.alerts")]
    assert sorted((a.account_id, a.typologies[0].value) for a in alerts) == [
        ("A1", "shared_identity"),
        ("A2", "shared_identity"),
    ]
    assert {tuple(a.related_accounts) for a in alerts} == {("A1",), ("A2",)}


async def test_unacknowledged_alerts_stop_the_worker_without_writing_state(held_topology):
    """If the broker does not acknowledge a batch's alerts, the account states are not written
    and the input is not acknowledged: the worker stops, and a restart redelivers the input."""
    from unittest.mock import AsyncMock

    topo, sent = held_topology
    original = Topic.send

    async def failing(self: Topic, *, key: Any = None, value: Any = None, **kw: Any) -> Any:
        if self.get_topic_name() == "fiu.alerts":
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(ConnectionError("broker gone"))
            return failed
        return await original(self, key=key, value=value, **kw)

    def envelope(raw: bytes) -> bytes:
        return json.dumps(
            {"kind": "transaction", "ingested_at": 0.0, "transaction": json.loads(raw)}
        ).encode()

    crash = AsyncMock()
    with patch.object(Topic, "send", failing), patch.object(topo.app, "crash", crash):
        async with topo.agents["account_monitor"].test_context() as agent:
            for day in (1, 2, 3):
                await agent.put(envelope(deposit(f"d{day}", day)), key=b"A1")
            assert topo.reorder is not None
            await topo.reorder.release_all()
    crash.assert_awaited_once()
    assert [k for k, _ in to(sent, "changelog")] == []  # no state written
