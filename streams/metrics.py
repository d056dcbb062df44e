"""Prometheus metrics of the worker (prometheus-client, its own HTTP thread).

Label values are bounded: topics come from configuration, outcomes, reasons, typologies and
detector names from enums and the registry. Children are cached (`.labels()` costs ~2 us).
"""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DETECTOR_BUCKETS = (1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 5e-3, 0.025)


class Metrics:
    """All txmon metrics on one registry (a fresh registry per instance keeps tests isolated)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "txmon_events_consumed_total",
            "Input messages consumed, by topic and outcome (accepted or dead_lettered).",
            ["topic", "outcome"],
            registry=r,
        )
        self.account_events = Counter(
            "txmon_account_events_total",
            "Events at the account stage, by outcome (assessed, duplicate, duplicate_leg).",
            ["outcome"],
            registry=r,
        )
        self.routes = Counter(
            "txmon_account_stage_routes_total",
            "Validated events by how they reach the account stage: local (co-partitioned "
            "input, assessed where it arrives) or rekeyed (through the by-account topic).",
            ["route"],
            registry=r,
        )
        self.dlq = Counter(
            "txmon_dlq_messages_total",
            "Messages written to the dead-letter topic, by reason class.",
            ["reason"],
            registry=r,
        )
        self.findings = Counter(
            "txmon_findings_total", "Detector findings, by typology.", ["typology"], registry=r
        )
        self.suppressed = Counter(
            "txmon_findings_suppressed_total",
            "Findings folded into an already open alert episode, by typology.",
            ["typology"],
            registry=r,
        )
        self.alerts = Counter(
            "txmon_alerts_total",
            "Alerts published to the FIU topic, by typology.",
            ["typology"],
            registry=r,
        )
        self.latency = Histogram(
            "txmon_event_to_alert_latency_seconds",
            "From the triggering input message's Kafka timestamp to the alert being handed to "
            "the producer.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.detector_time = Histogram(
            "txmon_detector_seconds",
            "Time spent in one detector's score() call, by detector.",
            ["detector"],
            buckets=DETECTOR_BUCKETS,
            registry=r,
        )
        self.identity = Counter(
            "txmon_identity_observations_total",
            "Identifier links (an account's first use of an identifier) and OSINT indicators "
            "joined by the identity stage, by kind.",
            ["kind"],
            registry=r,
        )
        self.anomaly_score = Histogram(
            "txmon_anomaly_score",
            "Calibrated isolation-forest score of each scored transaction (its training "
            "percentile): a shift of this distribution is drift.",
            buckets=(0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1.0),
            registry=r,
        )
        self.anomaly_batch = Histogram(
            "txmon_anomaly_batch_seconds",
            "Time to score one micro-batch with the isolation forest.",
            buckets=DETECTOR_BUCKETS,
            registry=r,
        )
        self.held = Gauge(
            "txmon_reorder_held_events",
            "Events the account stage holds to assess them in event-time order.",
            registry=r,
        )
        self.reference_lists = Gauge(
            "txmon_reference_list_entries",
            "Entries of each reference list loaded at start-up, with the list's date.",
            ["list", "as_of"],
            registry=r,
        )
        self.reference_as_of = Gauge(
            "txmon_reference_list_as_of_timestamp_seconds",
            "Date of each reference list loaded at start-up (Unix time), to alert on stale lists.",
            ["list"],
            registry=r,
        )
        self.reference_date = Gauge(
            "txmon_info",
            "Static facts about the running worker.",
            ["ruleset", "jurisdiction", "currency"],
            registry=r,
        )

    @lru_cache(maxsize=256)  # noqa: B019 - bounded label sets, instance lives as long as the app
    def event_counter(self, topic: str, outcome: str) -> Counter:
        return self.events.labels(topic, outcome)

    @lru_cache(maxsize=64)  # noqa: B019
    def detector_timer(self, detector: str) -> Histogram:
        return self.detector_time.labels(detector)

    def observe_detector(self, detector: str, seconds: float) -> None:
        self.detector_timer(detector).observe(seconds)

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped by Prometheus
        """Expose /metrics on `port` in a daemon thread (answers while the event loop is busy)."""
        start_http_server(port, addr=addr, registry=self.registry)
