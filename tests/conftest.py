"""Shared fixtures: the event-time origin and the message factories of `tests.factories`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from models import AccountEvent, Indicator, Transaction
from tests import factories


@pytest.fixture
def t0() -> datetime:
    """The fixed event-time origin (2026-11-02 09:00 UTC)."""
    return factories.T0


@pytest.fixture
def make_txn() -> Callable[..., Transaction]:
    return factories.make_txn


@pytest.fixture
def make_account_event() -> Callable[..., AccountEvent]:
    return factories.make_account_event


@pytest.fixture
def make_indicator() -> Callable[..., Indicator]:
    return factories.make_indicator
