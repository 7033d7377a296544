"""Fixtures for driving the app like a person: a demo-loaded app, and a helper to let workers settle."""

from __future__ import annotations

import os
import time

import pytest

from orchtui.demo import demo_spans
from orchtui.live import TraceIndex
from tui.app import OrchApp

DEMO_START_NS = 1_764_000_000_000_000_000  # fixed, so times and snapshots are stable

os.environ["TZ"] = "UTC"
time.tzset()


def demo_index() -> TraceIndex:
    index = TraceIndex()
    index.add(demo_spans(start_ns=DEMO_START_NS))
    return index


@pytest.fixture
def demo_app(tmp_path) -> OrchApp:
    return OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")


async def settle(pilot) -> None:
    """Let timers fire and row workers finish, then let their results paint."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
