"""Message contracts of txmon (the bottom layer: imports nothing of detectors or streams)."""

from models.alerts import (
    ALERT_SCHEMA_VERSION,
    Alert,
    DeadLetter,
    DeadLetterReason,
    Finding,
    Reason,
    Severity,
    Typology,
)
from models.codec import Rejection, decode
from models.events import (
    AccountEvent,
    AccountEventKind,
    Channel,
    Direction,
    Indicator,
    Transaction,
    TransactionKind,
    TransactionStatus,
)

__all__ = [
    "ALERT_SCHEMA_VERSION",
    "AccountEvent",
    "AccountEventKind",
    "Alert",
    "Channel",
    "DeadLetter",
    "DeadLetterReason",
    "Direction",
    "Finding",
    "Indicator",
    "Reason",
    "Rejection",
    "Severity",
    "Transaction",
    "TransactionKind",
    "TransactionStatus",
    "Typology",
    "decode",
]
