"""The one configuration root, read from `TXMON_*` environment variables (nested with `__`).

Examples: `TXMON_KAFKA__BROKER=kafka://b1:9093,b2:9093`, `TXMON_KAFKA__SECURITY_PROTOCOL=SASL_SSL`,
`TXMON_TOPICS__PARTITIONS=12`, `TXMON_DETECTORS__STRUCTURING__MIN_COUNT=4`,
`TXMON_JURISDICTION__CASH_REPORTING_THRESHOLD=10000`, `TXMON_JURISDICTION__CURRENCY=EUR`.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from detectors import DetectorParams, Jurisdiction, PolicyParams
from detectors.anomaly import AnomalyDetector, AnomalyParams
from detectors.behaviour import FEATURE_NAMES
from detectors.forest import ArtifactError, ForestArtifact
from detectors.reference import ReferenceData, load_reference

__all__ = ["KafkaSettings", "TopicSettings", "TxmonSettings"]


class KafkaSettings(BaseModel):
    """How to reach the cluster: any Kafka (Apache Kafka, Redpanda, MSK, Confluent) or Tansu."""

    model_config = ConfigDict(frozen=True)

    broker: str = Field(
        default="kafka://127.0.0.1:9092",
        description="Comma-separated bootstrap servers, each `kafka://host:port` or `host:port`.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    session_timeout: float = Field(default=30.0, gt=0)
    heartbeat_interval: float = Field(default=3.0, gt=0)
    producer_linger: float = Field(default=0.01, ge=0)
    producer_max_batch_size: int = Field(default=16384, ge=1)
    consumer_fetch_max_wait: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Seconds a consumer fetch may wait for data. None keeps Faust's 1.5 s, right for "
            "Kafka, which answers as soon as data arrives; Tansu answers only when the wait "
            "runs out, so tansu_compat lowers it to 0.05 s."
        ),
    )
    tansu_compat: bool = Field(
        default=False,
        description=(
            "Workarounds for the embedded Tansu broker: one record per batch (its ListOffsets "
            "answer is wrong otherwise and table recovery stops early), short group joins and "
            "short fetch waits."
        ),
    )

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs kafka.sasl_username and "
                "kafka.sasl_password"
            )
        return self

    @property
    def bootstrap_servers(self) -> str:
        """`host:port,host:port` for aiokafka clients."""
        return ",".join(s.strip().removeprefix("kafka://") for s in self.broker.split(","))

    @property
    def faust_broker(self) -> str:
        return ";".join(
            s if s.startswith("kafka://") else f"kafka://{s}"
            for s in (x.strip() for x in self.broker.split(","))
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        if "SSL" not in self.security_protocol:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile:
            context.load_cert_chain(
                str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None
            )
        return context

    def aiokafka_security(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer/Consumer/AdminClient."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            assert self.sasl_password is not None  # noqa: S101 - checked by the validator
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options


class TopicSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    transactions: str = "transactions"
    accounts: str = "accounts"
    indicators: str = "osint.indicators"
    alerts: str = "fiu.alerts"
    dlq: str = "monitor.dlq"
    partitions: int = Field(default=4, ge=1, description="Partitions of txmon's own topics.")
    replication: int = Field(default=1, ge=1)
    local_account_stage: bool = Field(
        default=True,
        description=(
            "Run the account stage in the validating agent for input messages that already sit "
            "in the partition re-keying would choose (input topic with `partitions` partitions, "
            "Kafka's default murmur2 partitioner); others still take the by-account hop."
        ),
    )


class ReferenceSettings(BaseModel):
    """Files that replace the packaged reference lists (`detectors/data/`), e.g. the FATF
    lists after a plenary: `TXMON_REFERENCE__FATF_LISTS=/etc/txmon/fatf_lists_2025-02.csv`."""

    model_config = ConfigDict(frozen=True)

    mcc_groups: Path | None = None
    fatf_lists: Path | None = None
    conflict_countries: Path | None = None
    watchlist: Path | None = None  # OFAC SDN in the official headerless CSV layout
    watchlist_addresses: Path | None = None  # OFAC's address list (add.csv), for countries

    def load(self) -> ReferenceData:
        """The lists, read once; ValueError (one sentence) when a file is missing or bad."""
        for name, path in self.model_dump().items():
            if path is not None and not Path(path).is_file():
                raise ValueError(
                    f"reference file TXMON_REFERENCE__{name.upper()}={path} does not exist"
                )
        return load_reference(
            mcc_groups=self.mcc_groups,
            fatf_lists=self.fatf_lists,
            conflict_countries=self.conflict_countries,
            watchlist=self.watchlist,
            watchlist_addresses=self.watchlist_addresses,
        )


class AnomalySettings(BaseModel):
    """The isolation-forest detector: on when `model` names an artifact from `txmon train`."""

    model_config = ConfigDict(frozen=True)

    model: Path | None = None
    sha256: str | None = Field(
        default=None, description="Expected sha256 of the model file (refused when it differs)."
    )
    threshold: float = Field(default=0.995, gt=0.0, lt=1.0)
    explain_top: int = Field(default=3, ge=1, le=10)

    def load(self, model: Path | None = None) -> AnomalyDetector | None:
        """The detector, or None without a model; ValueError (one sentence) when refused."""
        path = model or self.model
        if path is None:
            return None
        if not Path(path).is_file():
            raise ValueError(f"model file {path} does not exist; train one with `txmon train`")
        try:
            artifact = ForestArtifact.load(path, FEATURE_NAMES, expected_sha256=self.sha256)
        except ArtifactError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
        return AnomalyDetector(
            artifact, AnomalyParams(threshold=self.threshold, explain_top=self.explain_top)
        )


class TxmonSettings(BaseSettings):
    """Every setting of the worker, replay and demo; defaults suit the embedded broker."""

    model_config = SettingsConfigDict(
        env_prefix="TXMON_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    app_id: str = "txmon"
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    store: str = Field(
        default="memory://",
        description="Faust table store: memory:// (recovered from changelogs) or rocksdb://.",
    )
    data_dir: Path = Path(".txmon")
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="0 disables /metrics.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    jurisdiction: Jurisdiction = Jurisdiction()
    detectors: DetectorParams = DetectorParams()
    policy: PolicyParams = PolicyParams()
    reference: ReferenceSettings = ReferenceSettings()
    anomaly: AnomalySettings = AnomalySettings()
    reorder_hold: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description=(
            "Seconds the account stage holds each event so that events arriving within that "
            "time by different topics and routes are assessed in event-time order, as "
            "`txmon replay` assesses them; 0 assesses each event on arrival."
        ),
    )
    reorder_max_held: int = Field(
        default=5000,
        ge=1,
        description="Events the hold may keep at once; the worker stops reading while full.",
    )
