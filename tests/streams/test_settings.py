"""Configuration: one pydantic-settings root read from TXMON_* variables; any Kafka, TLS/SASL."""

from __future__ import annotations

import ssl
from datetime import timedelta
from decimal import Decimal

import faust
import pytest
from pydantic import ValidationError

from streams.app import _faust_options, _fetch_max_wait_ms
from streams.settings import KafkaSettings, TxmonSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TXMON_"):
            monkeypatch.delenv(name)


def test_nested_variables_reach_detector_jurisdiction_and_topic_settings(monkeypatch) -> None:
    monkeypatch.setenv("TXMON_DETECTORS__STRUCTURING__MIN_COUNT", "4")
    monkeypatch.setenv("TXMON_DETECTORS__STRUCTURING__WINDOW", "P5D")
    monkeypatch.setenv("TXMON_JURISDICTION__CURRENCY", "eur")
    monkeypatch.setenv("TXMON_JURISDICTION__CASH_REPORTING_THRESHOLD", "10000")
    monkeypatch.setenv("TXMON_TOPICS__ALERTS", "fiu.alerts.v1")
    monkeypatch.setenv("TXMON_TOPICS__PARTITIONS", "12")
    s = TxmonSettings()
    assert s.detectors.structuring.min_count == 4
    assert s.detectors.structuring.window == timedelta(days=5)
    assert s.jurisdiction.currency == "EUR"
    assert s.jurisdiction.cash_reporting_threshold == Decimal("10000")
    assert s.topics.alerts == "fiu.alerts.v1"
    assert s.topics.partitions == 12


def test_an_unknown_detector_is_rejected(monkeypatch) -> None:
    monkeypatch.setenv("TXMON_DETECTORS__ENABLED", '["structuring", "telepathy"]')
    with pytest.raises(ValidationError, match="unknown detector"):
        TxmonSettings()


def test_broker_list_is_accepted_with_or_without_scheme() -> None:
    k = KafkaSettings(broker="kafka://b1:9092, b2:9093")
    assert k.bootstrap_servers == "b1:9092,b2:9093"
    assert k.faust_broker == "kafka://b1:9092;kafka://b2:9093"


def test_sasl_needs_credentials() -> None:
    with pytest.raises(ValidationError, match="sasl_username"):
        KafkaSettings(security_protocol="SASL_SSL")


def test_sasl_ssl_settings_reach_aiokafka_and_faust() -> None:
    k = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                      sasl_username="txmon", sasl_password="s3cret")
    options = k.aiokafka_security()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "txmon"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    credentials = _faust_options(TxmonSettings(kafka=k))["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "txmon"
    assert credentials.ssl_context is not None
    assert "s3cret" not in repr(k)


def test_plain_tls_uses_ssl_credentials() -> None:
    k = KafkaSettings(security_protocol="SSL")
    assert isinstance(_faust_options(TxmonSettings(kafka=k))["broker_credentials"],
                      faust.SSLCredentials)
    assert "broker_credentials" not in _faust_options(TxmonSettings())


def test_tansu_compat_sets_one_record_per_batch_and_short_waits() -> None:
    plain = TxmonSettings()
    compat = TxmonSettings(kafka=KafkaSettings(tansu_compat=True))
    assert _faust_options(plain)["producer_max_batch_size"] == 16384
    assert _faust_options(compat)["producer_max_batch_size"] == 1
    assert _faust_options(compat)["broker_session_timeout"] == 10.0
    assert _fetch_max_wait_ms(plain) is None
    assert _fetch_max_wait_ms(compat) == 50
    explicit = TxmonSettings(kafka=KafkaSettings(consumer_fetch_max_wait=0.2))
    assert _fetch_max_wait_ms(explicit) == 200
